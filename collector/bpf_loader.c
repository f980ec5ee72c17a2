// SPDX-License-Identifier: MIT
#include "bpf_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_energy.skel.h"
#include "kernel_features.h"
#include "log.h"

#define DEFAULT_MAX_CONNS 65536
/* Fault injection for the partial-attach test (docs/http_energy.md, "Testing hooks"). */
#define FAIL_ATTACH_ENV "HTTP_ENERGY_TEST_FAIL_ATTACH_TP"
/* tests only: the kprobe receive binding (and its conn_index) where better hooks exist */
#define RECV_KPROBE_ENV "HTTP_ENERGY_TEST_RECV_KPROBE"
/* Send-buffer room a header also needs, for the header_fits test (same section). */
#define HEADER_ROOM_ENV "HTTP_ENERGY_TEST_HEADER_ROOM"

enum page_cache_hook { PAGE_HOOK_NONE, PAGE_HOOK_FENTRY, PAGE_HOOK_KPROBE, PAGE_HOOK_TRACEPOINT };

struct bpf_loader {
	struct http_energy_bpf *skel; /* every link in skel->links */
	bool sk_msg_attached;	      /* sk_msg is attached to the sockhash, not by a link */
	bool track_requests;
	bool records;	/* request records: the ring buffer and request slots are used */
	bool egress;	/* records only: on_egress frames, send_tp binds writes, no sk_msg */
	bool wakeup_pc; /* wakeup hooks read preempt_count (else our handler depths) */
	bool kernel_irq_time;	  /* IRQ and softirq time from kcpustat (flush_cpu_kirq) */
	const char *irq_time_why; /* else why not */
	struct bpf_program *flush; /* the flush program that loads */
	enum page_cache_hook page_hook;
	const char *page_func;
	struct signals_handles sh;
	struct request_handles rh;
};

/* Each pre-load setting is checked: libbpf refuses them once the object is loaded. */
static int set_autoload(struct bpf_program *prog, bool on)
{
	int err = bpf_program__set_autoload(prog, on);

	if (err)
		log_error("bpf: %s: setting autoload: %s", bpf_program__name(prog), strerror(-err));
	return err;
}

static int set_max_entries(struct bpf_map *map, uint32_t n)
{
	int err = bpf_map__set_max_entries(map, n);

	if (err)
		log_error("bpf: map %s: setting max_entries to %u: %s", bpf_map__name(map), n,
			  strerror(-err));
	return err;
}

/*
 * Wakeups in interrupt context are told from preempt_count where the kernel resolves the
 * per-CPU variable (it must be in kallsyms: CONFIG_KALLSYMS_ALL), else from the depths our
 * IRQ, softirq and hrtimer hooks keep. Chosen before load: only one pair loads.
 */
static bool kernel_has_preempt_count_symbol(const char *root)
{
	return kallsyms_has(root, "__preempt_count") || kallsyms_has(root, "pcpu_hot");
}

static int choose_wakeup_hooks(struct bpf_loader *l, const char *root)
{
	struct http_energy_bpf *skel = l->skel;
	bool pc = kernel_has_preempt_count_symbol(root);

	l->wakeup_pc = pc;
	return set_autoload(skel->progs.on_sched_wakeup, !pc) ?:
	       set_autoload(skel->progs.on_sched_wakeup_new, !pc) ?:
	       set_autoload(skel->progs.on_sched_wakeup_pc, pc) ?:
	       set_autoload(skel->progs.on_sched_wakeup_new_pc, pc);
}

/*
 * IRQ and softirq time (issue 14): read from the kernel's own accounting at each flush
 * where it keeps it (kernel_features.h) and preempt_count is readable (the IRQ and softirq
 * hooks are then not needed to tell interrupt context either); else traced by the entry
 * and exit hooks. allow: false after the first choice failed to load.
 */
static int choose_irq_time(struct bpf_loader *l, const char *root, bool allow)
{
	struct http_energy_bpf *skel = l->skel;
	bool k = false;

	if (!allow) {
		l->irq_time_why = "flush_cpu_kirq did not load";
	} else {
		k = kernel_irq_time_accounting(root, &l->irq_time_why);
		if (k && !l->wakeup_pc) {
			k = false;
			l->irq_time_why = "preempt_count is not readable";
		}
	}
	l->kernel_irq_time = k;
	l->flush = k ? skel->progs.flush_cpu_kirq : skel->progs.flush_cpu;
	return set_autoload(skel->progs.flush_cpu, !k) ?:
	       set_autoload(skel->progs.flush_cpu_kirq, k) ?:
	       set_autoload(skel->progs.on_irq_entry, !k) ?:
	       set_autoload(skel->progs.on_irq_exit, !k) ?:
	       set_autoload(skel->progs.on_softirq_entry, !k) ?:
	       set_autoload(skel->progs.on_softirq_exit, !k);
}

/*
 * Chooses how page-cache hits are counted, before load: fentry, else kprobe (tried at
 * attach), else tp_btf/mm_filemap_get_pages, else none. Only the chosen programs load.
 */
static int choose_page_cache_hook(struct bpf_loader *l)
{
	static const char *const funcs[] = { "folio_mark_accessed", "mark_page_accessed" };
	struct http_energy_bpf *skel = l->skel;
	enum page_cache_hook hook = PAGE_HOOK_NONE;
	const char *func = first_kernel_function(funcs, 2);
	int err;

	if (func) {
		err = probe_fentry(func, false);
		if (!err) {
			hook = PAGE_HOOK_FENTRY;
			err = bpf_program__set_attach_target(skel->progs.page_accessed_fentry, 0,
							     func);
			if (err) {
				log_error("bpf: page_accessed_fentry: setting the target %s: %s",
					  func, strerror(-err));
				return err;
			}
		} else {
			log_info("signals: fentry/%s refused by the kernel (%s); trying "
				 "kprobe/%s", func, strerror(-err), func);
			hook = PAGE_HOOK_KPROBE;
		}
	}
	l->page_hook = hook;
	l->page_func = func;
	/* The tracepoint loads as the kprobe's fallback too; attached only if it fails. */
	return set_autoload(skel->progs.page_accessed_fentry, hook == PAGE_HOOK_FENTRY) ?:
	       set_autoload(skel->progs.page_accessed_kprobe, hook == PAGE_HOOK_KPROBE) ?:
	       set_autoload(skel->progs.page_cache_get_pages,
			    hook != PAGE_HOOK_FENTRY &&
				    kernel_has_tracepoint("mm_filemap_get_pages"));
}

/* The records ring buffer's size: a power-of-two number of pages, at least one. */
static uint32_t ring_bytes(uint32_t kb)
{
	uint64_t want = (uint64_t)kb * 1024, page = (uint64_t)sysconf(_SC_PAGESIZE), sz = page;

	while (sz < want && sz < (1ULL << 30))
		sz <<= 1;
	return (uint32_t)sz;
}

/* Records a CPU sends between wakeups of their reader (requests.bpf.c, count_record()): a
 * quarter of a ring of rb bytes shared by the online CPUs (not the possible ones: a VM may
 * declare hundreds it never plugs in), at least 1. A record takes its size rounded to 8 and
 * the ring's 8-byte header. */
static uint32_t records_wake_every(uint32_t rb)
{
	uint64_t rec = (sizeof(struct request_event) + 7) / 8 * 8 + 8;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t n = rb / 4 / rec / (uint64_t)(cpus > 0 ? cpus : 1);

	return n ? (uint32_t)n : 1;
}

/* The request programs, or none of them; one receive hook: fexit, else the tracepoint,
 * else the kprobe. */
static int choose_request_programs(struct bpf_loader *l, const struct request_settings *rs)
{
	struct http_energy_bpf *skel = l->skel;
	uint32_t max_conns = rs->max_conns ? rs->max_conns : DEFAULT_MAX_CONNS, rb;
	bool fexit = false, tp = false;
	int err;

	skel->rodata->track_requests = rs->enable;
	skel->rodata->emit_records = rs->enable && rs->record_ring_kb > 0;
	l->records = skel->rodata->emit_records;
	l->egress = l->records && rs->egress_framing;
	/* on_egress notes the writer (pid, cgroup) of the response it frames: helpers that
	 * cgroup_skb programs have since Linux 6.10 */
	if (l->egress && (!kernel_has_tracepoint("sock_send_length") ||
			  libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB,
						  BPF_FUNC_get_current_pid_tgid, NULL) != 1 ||
			  libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB,
						  BPF_FUNC_get_current_cgroup_id, NULL) != 1)) {
		log_info("requests: this kernel lacks tp_btf/sock_send_length or the helpers "
			 "cgroup_skb/egress framing needs; records are framed by sk_msg on a "
			 "sockhash");
		l->egress = false;
	}
	skel->rodata->egress_framing = l->egress;
	/* One request awaiting its response per slot: up to CONN_KINDS per connection, but
	 * most connections hold one or none, and one more whose record waits for its tail
	 * (docs/attribution.md): a pair a connection in slot_ring, req_slots for the rest.
	 * Both preallocated: without records they hold one each. */
	skel->rodata->slot_pairs = l->records ? max_conns : 0;
	rb = ring_bytes(rs->enable ? rs->record_ring_kb : 0);
	skel->rodata->records_wake_every = records_wake_every(rb);
	err = set_max_entries(skel->maps.sock_hash, max_conns) ?:
	      set_max_entries(skel->maps.slot_ring, l->records ? 2 * max_conns : 1) ?:
	      set_max_entries(skel->maps.req_slots, l->records ? max_conns : 1) ?:
	      set_max_entries(skel->maps.records, rb);
	if (err)
		return err;
	if (rs->enable && getenv(RECV_KPROBE_ENV)) {
		log_info("requests: %s set: using kprobe/tcp_recvmsg", RECV_KPROBE_ENV);
	} else if (rs->enable) {
		err = probe_fentry("tcp_recvmsg", true);
		fexit = err == 0;
		if (err) {
			tp = kernel_has_tracepoint("sock_recv_length");
			log_info("requests: fexit/tcp_recvmsg refused by the kernel (%s); using %s",
				 strerror(-err), tp ? "tp_btf/sock_recv_length" : "kprobe/tcp_recvmsg");
		}
	}
	/* conns is socket storage (no max_entries): the BPF side counts against max_conns.
	 * The kprobe binding cannot reach it, so it gets a 4-tuple index of its own. */
	skel->rodata->max_conns = max_conns;
	skel->rodata->kprobe_index = rs->enable && !fexit && !tp;
	err = set_max_entries(skel->maps.conn_index, skel->rodata->kprobe_index ? max_conns : 1);
	if (err)
		return err;
	return set_autoload(skel->progs.on_sockops, rs->enable) ?:
	       set_autoload(skel->progs.on_ingress, rs->enable) ?:
	       set_autoload(skel->progs.on_msg, rs->enable && !l->egress) ?:
	       set_autoload(skel->progs.on_egress, l->egress) ?:
	       set_autoload(skel->progs.send_tp, l->egress) ?:
	       set_autoload(skel->progs.recv_fexit, rs->enable && fexit) ?:
	       set_autoload(skel->progs.recv_tp, rs->enable && !fexit && tp) ?:
	       set_autoload(skel->progs.recv_kprobe, rs->enable && !fexit && !tp) ?:
	       /* Prunes request tracking's per-process totals: only with requests. */
	       set_autoload(skel->progs.on_process_exit, rs->enable);
}

static void fill_handles(struct bpf_loader *l)
{
	struct http_energy_bpf *skel = l->skel;

	l->sh = (struct signals_handles){
		.cpu_bins_fd = bpf_map__fd(skel->maps.cpu_bins),
		.procs_fd = { bpf_map__fd(skel->maps.procs0), bpf_map__fd(skel->maps.procs1) },
		.cpu_khz_fd = bpf_map__fd(skel->maps.cpu_khz),
		.cpu_freq_events_fd = bpf_map__fd(skel->maps.cpu_freq_events),
		.pmu_fd = { [PMU_CYCLES] = bpf_map__fd(skel->maps.pmu_cycles),
			    [PMU_INSTRUCTIONS] = bpf_map__fd(skel->maps.pmu_instructions),
			    [PMU_CACHE_MISSES] = bpf_map__fd(skel->maps.pmu_cache_misses) },
		.exited_tgids_fd = bpf_map__fd(skel->maps.exited_tgids),
		.flush_prog_fd = bpf_program__fd(l->flush),
		.epoch = &skel->bss->epoch,
	};
	l->rh = (struct request_handles){
		.model_fd = bpf_map__fd(skel->maps.model),
		.cpu_freq_weight_fd = bpf_map__fd(skel->maps.cpu_freq_weight),
		.cpu_khz_fd = bpf_map__fd(skel->maps.cpu_khz),
		.req_counters_fd = bpf_map__fd(skel->maps.req_counters),
		.proc_energy_fd = bpf_map__fd(skel->maps.proc_energy_uj),
		.records_fd = l->records ? bpf_map__fd(skel->maps.records) : -1,
		.req_slots_fd = l->records ? bpf_map__fd(skel->maps.req_slots) : -1,
		.slot_ring_fd = l->records ? bpf_map__fd(skel->maps.slot_ring) : -1,
		/* __u64 is unsigned long long: the same 64 bits */
		.uj_per_score_word = (uint64_t *)&skel->bss->uj_per_score_word,
		.records_stopped = &skel->bss->records_stopped,
	};
}

/* Open, choose, set, load: one attempt. */
static int open_and_load(struct bpf_loader *l, const struct bpf_loader_opts *opts,
			 bool allow_kernel_irq_time)
{
	const char *root = opts->root ? opts->root : "";
	uint32_t max_procs = opts->max_procs ? opts->max_procs : SIGNALS_DEFAULT_MAX_PROCS;
	int err;

	l->skel = http_energy_bpf__open();
	if (!l->skel) {
		err = -errno;
		log_error("bpf: opening the BPF object: %s", strerror(errno));
		return err;
	}
	l->skel->rodata->tracked_cgroup_id = opts->cgroup_id;
	l->skel->rodata->tracked_cgroup_level = opts->cgroup_level;
	l->skel->rodata->has_pmu = opts->pmu;
	err = set_max_entries(l->skel->maps.procs0, max_procs) ?:
	      set_max_entries(l->skel->maps.procs1, max_procs) ?:
	      choose_page_cache_hook(l) ?: choose_wakeup_hooks(l, root) ?:
	      choose_irq_time(l, root, allow_kernel_irq_time) ?:
	      choose_request_programs(l, &opts->requests);
	if (err)
		return err;
	err = http_energy_bpf__load(l->skel);
	if (err && l->kernel_irq_time) {
		/* Chosen from the config and kallsyms, never loaded anywhere yet: keep a way back. */
		log_info("bpf: flush_cpu_kirq refused (%s); IRQ and softirq time from the hooks",
			 strerror(-err));
		http_energy_bpf__destroy(l->skel);
		l->skel = NULL;
		return open_and_load(l, opts, false);
	}
	if (err)
		log_error("bpf: loading the BPF programs: %s (--verbose shows the verifier log)",
			  strerror(-err));
	return err;
}

int bpf_loader__open(const struct bpf_loader_opts *opts, struct bpf_loader **out)
{
	struct bpf_loader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	l->track_requests = opts->requests.enable;
	err = open_and_load(l, opts, true);
	if (err) {
		bpf_loader__destroy(l);
		return err;
	}
	fill_handles(l);
	*out = l;
	return 0;
}

const struct signals_handles *bpf_loader__signals(const struct bpf_loader *l)
{
	return &l->sh;
}

const struct request_handles *bpf_loader__requests(const struct bpf_loader *l)
{
	return &l->rh;
}

/*
 * The fault injection: with HTTP_ENERGY_TEST_FAIL_ATTACH_TP=NAME set, the last attach step
 * also attaches flush_cpu to the raw tracepoint NAME, which the test names so that it does
 * not exist. Should NAME exist, the link is dropped at once and start-up fails anyway:
 * flush_cpu must never run from a tracepoint.
 */
static int injected_attach_failure(struct bpf_loader *l)
{
	const char *tp = getenv(FAIL_ATTACH_ENV);
	struct bpf_link *link;

	if (!tp || !*tp)
		return 0;
	link = bpf_program__attach_raw_tracepoint(l->flush, tp);
	if (!link) {
		int err = -errno;

		log_error("bpf: attaching raw_tp/%s (%s): %s", tp, FAIL_ATTACH_ENV,
			  strerror(errno));
		return err;
	}
	bpf_link__destroy(link);
	log_error("bpf: raw_tp/%s exists (%s must name a tracepoint that does not)", tp,
		  FAIL_ATTACH_ENV);
	return -EEXIST;
}

/* Attaches prog to its own section's hook into its skeleton slot. */
static int attach(struct bpf_program *prog, struct bpf_link **slot, const char *side)
{
	*slot = bpf_program__attach(prog);
	if (!*slot) {
		int err = -errno;

		log_error("%s: attaching %s: %s", side, bpf_program__section_name(prog),
			  strerror(errno));
		return err;
	}
	return 0;
}

/* An optional hook: on failure its signal is unavailable, which is said once. */
static bool attach_optional(struct bpf_program *prog, struct bpf_link **slot, const char *signal)
{
	*slot = bpf_program__attach(prog);
	if (!*slot) {
		log_info("signals: hook %s refused (%s); %s unavailable",
			 bpf_program__section_name(prog), strerror(errno), signal);
		return false;
	}
	log_debug("signals: hook %s attached", bpf_program__section_name(prog));
	return true;
}

static bool attach_page_cache(struct bpf_loader *l)
{
	struct http_energy_bpf *skel = l->skel;
	struct bpf_program *tp = skel->progs.page_cache_get_pages;

	if (l->page_hook == PAGE_HOOK_FENTRY)
		return attach_optional(skel->progs.page_accessed_fentry,
				       &skel->links.page_accessed_fentry, "page_cache_hits");
	if (l->page_hook == PAGE_HOOK_KPROBE) {
		skel->links.page_accessed_kprobe =
			bpf_program__attach_kprobe(skel->progs.page_accessed_kprobe, false,
						   l->page_func);
		if (skel->links.page_accessed_kprobe) {
			log_info("signals: page_cache_hits from kprobe/%s", l->page_func);
			return true;
		}
		log_info("signals: kprobe/%s refused (%s)%s", l->page_func, strerror(errno),
			 bpf_program__autoload(tp) ? "; trying tp_btf/mm_filemap_get_pages" : "");
	}
	if (bpf_program__autoload(tp) &&
	    (skel->links.page_cache_get_pages = bpf_program__attach(tp))) {
		log_info("signals: page_cache_hits from tp_btf/mm_filemap_get_pages "
			 "(pages each read takes from the page cache)");
		return true;
	}
	log_info("signals: no page-cache hook this kernel allows; page_cache_hits unavailable");
	return false;
}

int bpf_loader__attach_signals(struct bpf_loader *l, struct signals_available *hooks)
{
	struct http_energy_bpf *skel = l->skel;
	struct bpf_program *wakeup = l->wakeup_pc ? skel->progs.on_sched_wakeup_pc
						  : skel->progs.on_sched_wakeup;
	struct bpf_program *wakeup_new = l->wakeup_pc ? skel->progs.on_sched_wakeup_new_pc
						      : skel->progs.on_sched_wakeup_new;
	struct bpf_link **wakeup_slot = l->wakeup_pc ? &skel->links.on_sched_wakeup_pc
						     : &skel->links.on_sched_wakeup;
	struct bpf_link **wakeup_new_slot = l->wakeup_pc ? &skel->links.on_sched_wakeup_new_pc
							 : &skel->links.on_sched_wakeup_new;
	bool timer;
	int err;

	memset(hooks, 0, sizeof(*hooks));
	/* Required: without these there is no runtime to report. */
	err = attach(skel->progs.on_sched_switch, &skel->links.on_sched_switch, "signals") ?:
	      attach(wakeup, wakeup_slot, "signals") ?:
	      attach(wakeup_new, wakeup_new_slot, "signals") ?:
	      attach(skel->progs.on_sched_migrate_task, &skel->links.on_sched_migrate_task,
		     "signals");
	if (err)
		return err;
	log_info("signals: hooks tp_btf/sched_switch, sched_wakeup, sched_wakeup_new, "
		 "sched_migrate_task attached");

	hooks->cpu_frequency = attach_optional(skel->progs.on_cpu_frequency,
					       &skel->links.on_cpu_frequency, "frequency changes");
	/*
	 * Exits before entries: a handler running while the hooks attach then shows at most
	 * an exit without an entry, which is ignored; the other order left a CPU "inside an
	 * interrupt" for the whole run (and sched_switch now forgets such a depth anyway).
	 */
	if (l->kernel_irq_time) {
		hooks->irq = hooks->softirq = true;
		log_info("signals: IRQ and softirq time from the kernel's IRQ time accounting "
			 "(kcpustat, read at each boundary; softirqs in ksoftirqd count as its "
			 "runtime); no IRQ or softirq hooks");
	} else {
		hooks->irq = attach_optional(skel->progs.on_irq_exit, &skel->links.on_irq_exit,
					     "irq_ns") &&
			     attach_optional(skel->progs.on_irq_entry, &skel->links.on_irq_entry,
					     "irq_ns");
		hooks->softirq = attach_optional(skel->progs.on_softirq_exit,
						 &skel->links.on_softirq_exit, "softirq_ns") &&
				 attach_optional(skel->progs.on_softirq_entry,
						 &skel->links.on_softirq_entry, "softirq_ns");
		if (hooks->irq || hooks->softirq)
			log_info("signals: IRQ and softirq time traced by tp_btf/irq_handler_entry/"
				 "exit, softirq_entry/exit (kernel IRQ time not used: %s)",
				 l->irq_time_why);
	}
	timer = attach_optional(skel->progs.on_hrtimer_exit, &skel->links.on_hrtimer_exit,
				"timer-context wakeups") &&
		attach_optional(skel->progs.on_hrtimer_entry, &skel->links.on_hrtimer_entry,
				"timer-context wakeups");
	if (l->wakeup_pc)
		log_info("signals: wakeups from interrupt context (preempt_count) count host-wide "
			 "only");
	else
		log_info("signals: wakeups inside %s%s%s count host-wide only (preempt_count is "
			 "not readable: no CONFIG_KALLSYMS_ALL)",
			 hooks->irq ? "IRQ handlers, " : "", hooks->softirq ? "softirqs, " : "",
			 timer ? "hrtimer callbacks" : "(no timer hook)");
	if (bpf_program__autoload(skel->progs.on_process_exit))
		attach_optional(skel->progs.on_process_exit, &skel->links.on_process_exit,
				"pruning of exited processes from proc_energy_uj");
	hooks->writebacks = attach_optional(skel->progs.on_writeback_dirty_folio,
					    &skel->links.on_writeback_dirty_folio, "writebacks");
	hooks->page_cache = attach_page_cache(l);
	hooks->pmu = skel->rodata->has_pmu;
	log_info("signals: irq_ns %s, softirq_ns %s, writebacks %s, page_cache_hits %s, "
		 "PMU %s",
		 hooks->irq ? "on" : "off", hooks->softirq ? "on" : "off",
		 hooks->writebacks ? "on" : "off", hooks->page_cache ? "on" : "off",
		 hooks->pmu ? "on" : "off");
	return l->track_requests ? 0 : injected_attach_failure(l);
}

/* HTTP_ENERGY_TEST_HEADER_ROOM=N: N bytes (at most 2^30) more room asked of every header. */
static int test_header_room(uint32_t *out)
{
	const char *v = getenv(HEADER_ROOM_ENV);
	char *end;
	unsigned long n;

	*out = 0;
	if (!v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || errno || *end || n > (1UL << 30)) {
		log_error("%s: \"%s\" is not a number of bytes up to 1073741824", HEADER_ROOM_ENV,
			  v);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

/* Before anything is attached: nothing reads the .bss yet. */
static int set_header_opts(struct http_energy_bpf *skel, const struct header_opts *h,
			   bool egress)
{
	skel->bss->no_sk_msg = h->no_header && (!h->records || egress);
	skel->bss->header_none = h->no_header;
	skel->bss->header_quantum_uj = h->quantum_uj;
	skel->bss->header_ports_filter = h->port_bits != NULL;
	if (h->port_bits)
		memcpy(skel->bss->header_port_bits, h->port_bits,
		       sizeof(skel->bss->header_port_bits));
	return test_header_room(&skel->bss->header_room_test);
}

static int attach_receive_hook(struct http_energy_bpf *skel, const char **name)
{
	int err;

	if (bpf_program__autoload(skel->progs.recv_fexit)) {
		*name = "fexit/tcp_recvmsg";
		skel->links.recv_fexit = bpf_program__attach(skel->progs.recv_fexit);
	} else if (bpf_program__autoload(skel->progs.recv_tp)) {
		*name = "tp_btf/sock_recv_length";
		skel->links.recv_tp = bpf_program__attach(skel->progs.recv_tp);
	} else {
		*name = "kprobe/tcp_recvmsg";
		skel->links.recv_kprobe = bpf_program__attach_kprobe(skel->progs.recv_kprobe, false,
								     "tcp_recvmsg");
	}
	if (skel->links.recv_fexit || skel->links.recv_tp || skel->links.recv_kprobe)
		return 0;
	err = -errno;
	log_error("requests: attaching %s: %s; no receive hook is left, so threads cannot be "
		  "bound to requests", *name, strerror(-err));
	return err;
}

int bpf_loader__attach_requests(struct bpf_loader *l, const char *cgroup_path,
				const struct header_opts *hopts, const char *mode_name)
{
	struct http_energy_bpf *skel = l->skel;
	const char *recv_name;
	int cg_fd, err;

	err = set_header_opts(skel, hopts, l->egress);
	if (err)
		return err;
	cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		log_error("%s: %s", cgroup_path, strerror(errno));
		return err;
	}
	if (l->egress) {
		/* Before sockops: a connection it adopts has its first response framed. */
		skel->links.on_egress = bpf_program__attach_cgroup(skel->progs.on_egress, cg_fd);
		if (!skel->links.on_egress) {
			err = -errno;
			log_error("requests: attaching cgroup_skb/egress to %s: %s", cgroup_path,
				  strerror(errno));
			goto cleanup;
		}
		skel->links.send_tp = bpf_program__attach(skel->progs.send_tp);
		if (!skel->links.send_tp) {
			err = -errno;
			log_error("requests: attaching tp_btf/sock_send_length: %s", strerror(errno));
			goto cleanup;
		}
	}
	skel->links.on_sockops = bpf_program__attach_cgroup(skel->progs.on_sockops, cg_fd);
	if (!skel->links.on_sockops) {
		err = -errno;
		log_error("requests: attaching sockops to %s: %s", cgroup_path, strerror(errno));
		goto cleanup;
	}
	skel->links.on_ingress = bpf_program__attach_cgroup(skel->progs.on_ingress, cg_fd);
	if (!skel->links.on_ingress) {
		err = -errno;
		log_error("requests: attaching cgroup_skb/ingress to %s: %s", cgroup_path,
			  strerror(errno));
		goto cleanup;
	}
	if (!skel->bss->no_sk_msg) {
		/* A sockmap attachment, not a link (libbpf 1.1 has no sockmap links). */
		if (bpf_prog_attach(bpf_program__fd(skel->progs.on_msg),
				    bpf_map__fd(skel->maps.sock_hash), BPF_SK_MSG_VERDICT, 0)) {
			err = -errno;
			log_error("requests: attaching sk_msg to the sockhash: %s", strerror(errno));
			goto cleanup;
		}
		l->sk_msg_attached = true;
	}
	if (l->egress) {
		/* Records only (issue 14): no socket map at all. */
		err = attach_receive_hook(skel, &recv_name);
		if (err)
			goto cleanup;
		log_info("requests: sockops and cgroup_skb/ingress on %s, no sk_msg (--no-header "
			 "with --request-log: responses framed by cgroup_skb/egress, nothing "
			 "rewritten), work follows the connection of each socket operation (receive: "
			 "%s; send: tp_btf/sock_send_length); %s mode",
			 cgroup_path, recv_name, mode_name);
	} else if (skel->bss->no_sk_msg) {
		/* Without sk_msg no response is seen, so no header or record would ever take
		 * the work the receive binding moves to a connection: the hook stays detached,
		 * and no thread gets a pending accumulator for the scheduler hooks to charge
		 * (issue 14). */
		log_info("requests: sockops and cgroup_skb/ingress on %s, no sk_msg and no receive "
			 "hook (--no-header: responses are not rewritten or counted, so no "
			 "request takes a thread's work); %s mode",
			 cgroup_path, mode_name);
	} else {
		err = attach_receive_hook(skel, &recv_name);
		if (err)
			goto cleanup;
		log_info("requests: sockops and cgroup_skb/ingress on %s, %s, work follows the "
			 "connection of each socket operation (receive: %s; send: sk_msg); %s mode",
			 cgroup_path,
			 hopts->no_header ? "sk_msg on the sockhash, framing only (--no-header "
					    "with --request-log: nothing rewritten)"
					  : "sk_msg on the sockhash",
			 recv_name, mode_name);
	}
	if (!hopts->no_header && (hopts->port_bits || hopts->quantum_uj > 1))
		log_info("requests: X-Energy-Score on %s, rounded to a multiple of %u uJ",
			 hopts->port_bits ? "the --header-ports only" : "every port",
			 hopts->quantum_uj > 1 ? hopts->quantum_uj : 1);
	err = injected_attach_failure(l);
cleanup:
	close(cg_fd);
	return err;
}

void bpf_loader__destroy(struct bpf_loader *l)
{
	if (!l)
		return;
	if (l->sk_msg_attached &&
	    bpf_prog_detach2(bpf_program__fd(l->skel->progs.on_msg),
			     bpf_map__fd(l->skel->maps.sock_hash), BPF_SK_MSG_VERDICT))
		log_info("bpf: detaching sk_msg from the sockhash: %s (freed with the map)",
			 strerror(errno));
	/* Destroys every link in skel->links: the one place that detaches. */
	http_energy_bpf__destroy(l->skel);
	free(l);
}
