// SPDX-License-Identifier: MIT
/*
 * skmsg_floor: attaches the socket-map floor of bench/skmsg_floor.bpf.c to a cgroup and
 * holds it until SIGINT/SIGTERM (or --duration). A benchmark tool for bench/overhead.sh:
 * it measures what the mechanism under request tracking's response rewriting costs by
 * itself (sockops putting sockets in a sockhash, sk_msg returning SK_PASS), so the
 * collector's cost can be read against it (docs/overhead.md). With --tp it attaches, instead,
 * tp_btf programs that do nothing: the floor of the scheduler and softirq hooks; with --hooks,
 * programs that do nothing (--clock: but read the clock where the collector needs a time) at
 * every hook the collector uses with request records: the floor of that design.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpf_tool.h"
#include "cgroup2.h"
#include "kernel_features.h"
#include "log.h"
#include "options.h"
#include "skmsg_floor.skel.h"

#define DEFAULT_MAX_SOCKETS 65536

struct options {
	bool attach_msg;
	bool insert;
	bool tp; /* the empty tp_btf programs only */
	bool hooks; /* the empty programs at every hook of request records */
	bool clock; /* with --hooks: a clock read where the collector reads one */
	uint64_t max_sockets;
	double duration_s;
	const char *cgroup_dir;
};

static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	bool no_msg = false, no_insert = false, tp = false, hooks = false, clock = false;
	bool verbose = false;
	const struct opt table[] = {
		OPT_FLAG("no-msg", "sockops and the sockhash only: no sk_msg program", &no_msg),
		OPT_FLAG(
			"no-insert",
			"sockops only: sockets are not put in the sockhash (and no sk_msg program)",
			&no_insert),
		OPT_FLAG("tp",
			 "instead: empty tp_btf/sched_switch and softirq_entry programs "
			 "(host-wide; nothing on the cgroup)",
			 &tp),
		OPT_FLAG("hooks",
			 "instead: programs that return at once at every hook http_energy uses "
			 "with request records (tp_btf, cgroup_skb ingress/egress, sockops)",
			 &hooks),
		OPT_FLAG("clock",
			 "with --hooks: each program at a hook where the collector reads the clock "
			 "reads it once",
			 &clock),
		OPT_UINT("max-sockets", "N",
			 "sockhash size (default " OPT__XSTR(DEFAULT_MAX_SOCKETS) ")",
			 &o->max_sockets, 1, 1 << 24),
		OPT_DOUBLE("duration", "SEC",
			   "stop after SEC seconds (default 0: at SIGINT/SIGTERM)", &o->duration_s,
			   0, 86400),
		OPT_FLAG("verbose", "libbpf's messages", &verbose),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "skmsg_floor",
		.synopsis = "[options] CGROUP_DIR",
		.about =
			"The floor of the socket-map mechanism (bench/overhead.sh): a sockops "
			"program on\nthe cgroup2 directory CGROUP_DIR puts every established TCP "
			"socket in a sockhash,\nand an sk_msg program on that sockhash returns "
			"SK_PASS. Runs until SIGINT or\nSIGTERM (or --duration), then detaches and "
			"prints how many sockets it saw.",
		.footer =
			"Start-up prints 'skmsg_floor: attached ...' once everything is attached.\n"
			"Exit status: 0 ok, 1 BPF refused or other runtime error, 2 usage error.",
		.opts = table,
		.args_name = "CGROUP_DIR",
		.min_args = 1,
		.max_args = 1,
	};
	enum opts_result r;
	int first;

	*o = (struct options){ .max_sockets = DEFAULT_MAX_SOCKETS };
	r = opts_parse(&spec, argc, argv, &first);
	if (r != OPTS_RUN)
		return r;
	log_set_verbose(verbose);
	if ((tp || hooks) && tp + hooks + no_msg + no_insert > 1) {
		log_error("--tp and --hooks exclude each other and --no-msg, --no-insert");
		return OPTS_USAGE;
	}
	if (clock && !hooks) {
		log_error("--clock goes with --hooks");
		return OPTS_USAGE;
	}
	o->tp = tp;
	o->hooks = hooks;
	o->clock = clock;
	o->insert = !no_insert && !tp && !hooks;
	o->attach_msg = !no_msg && !no_insert && !tp && !hooks;
	o->cgroup_dir = argv[first];
	return OPTS_RUN;
}

/* --hooks: the programs, each with the tracepoint its tp_btf section names (NULL: cgroup_skb) */
struct hook {
	struct bpf_program *prog;
	struct bpf_link **link;
	const char *tp;
};

#define HOOK_ROW(skel, name, tp)                                          \
	{                                                                 \
		(skel)->progs.hook_##name, &(skel)->links.hook_##name, tp \
	}

#define HOOKS_MAX 32

static size_t hook_table(struct skmsg_floor_bpf *skel, struct hook *h)
{
	const struct hook rows[] = {
		HOOK_ROW(skel, sched_switch, "sched_switch"),
		HOOK_ROW(skel, sched_wakeup, "sched_wakeup"),
		HOOK_ROW(skel, sched_wakeup_new, "sched_wakeup_new"),
		HOOK_ROW(skel, sched_migrate_task, "sched_migrate_task"),
		HOOK_ROW(skel, sched_process_exit, "sched_process_exit"),
		HOOK_ROW(skel, irq_entry, "irq_handler_entry"),
		HOOK_ROW(skel, irq_exit, "irq_handler_exit"),
		HOOK_ROW(skel, softirq_entry, "softirq_entry"),
		HOOK_ROW(skel, softirq_exit, "softirq_exit"),
		HOOK_ROW(skel, hrtimer_entry, "hrtimer_expire_entry"),
		HOOK_ROW(skel, hrtimer_exit, "hrtimer_expire_exit"),
		HOOK_ROW(skel, writeback, "writeback_dirty_folio"),
		HOOK_ROW(skel, page_cache, "mm_filemap_get_pages"),
		HOOK_ROW(skel, recv, "sock_recv_length"),
		HOOK_ROW(skel, send, "sock_send_length"),
		HOOK_ROW(skel, ingress, NULL),
		HOOK_ROW(skel, egress, NULL),
	};

	_Static_assert(sizeof(rows) <= HOOKS_MAX * sizeof(rows[0]), "HOOKS_MAX: too few");
	memcpy(h, rows, sizeof(rows));
	return sizeof(rows) / sizeof(rows[0]);
}

/*
 * Which hook programs load: all with --hooks, but a tracepoint this kernel lacks (the
 * collector falls back or goes without there too: mm_filemap_get_pages before 6.8). Their
 * names go to *absent for the start-up line. The set is the collector's on a kernel like
 * this VM's (no IRQ time accounting, fentry refused); elsewhere it picks other hooks, which
 * the start-up line says (hooks_differ).
 */
static int hooks_autoload(struct skmsg_floor_bpf *skel, const struct options *o, char *absent,
			  size_t size)
{
	struct hook h[HOOKS_MAX];
	size_t n = hook_table(skel, h);
	int err = 0;

	absent[0] = '\0';
	for (size_t i = 0; i < n && !err; i++) {
		bool load = o->hooks;

		if (load && h[i].tp) {
			if (!kernel_has_tracepoint(h[i].tp)) {
				load = false;
				snprintf(absent + strlen(absent), size - strlen(absent), " %s",
					 h[i].tp);
			}
		}
		err = bpf_program__set_autoload(h[i].prog, load);
	}
	return err;
}

/* Where the collector would take other hooks than these on this kernel, why (else ""). */
static const char *hooks_differ(void)
{
	const char *why;

	if (kernel_irq_time_accounting("", &why))
		return "; the collector may read the kernel's IRQ time here instead of the irq "
		       "and softirq hooks";
	if (probe_fentry("tcp_recvmsg", true) == 0)
		return "; the collector takes fexit/tcp_recvmsg here, not sock_recv_length";
	return "";
}

static int hooks_attach(struct skmsg_floor_bpf *skel, int cg_fd, const char *cg_path)
{
	struct hook h[HOOKS_MAX];
	size_t n = hook_table(skel, h);

	for (size_t i = 0; i < n; i++) {
		if (!bpf_program__autoload(h[i].prog))
			continue;
		*h[i].link = h[i].tp ? bpf_program__attach(h[i].prog) :
				       bpf_program__attach_cgroup(h[i].prog, cg_fd);
		if (!*h[i].link) {
			int err = -errno;

			log_error("attaching %s%s%s failed: %s",
				  bpf_program__section_name(h[i].prog), h[i].tp ? "" : " to ",
				  h[i].tp ? "" : cg_path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int run(const struct options *o)
{
	char absent[256];
	struct skmsg_floor_bpf *skel = NULL;
	struct cgroup2_info cg;
	bool msg_attached = false;
	sigset_t set;
	int cg_fd = -1, err;

	err = cgroup2_resolve(o->cgroup_dir, &cg);
	if (err)
		return err;
	cg_fd = open(cg.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		log_error("%s: cannot open: %s", cg.path, strerror(-err));
		goto cleanup;
	}

	skel = skmsg_floor_bpf__open();
	if (!skel) {
		err = -errno;
		log_error("opening the BPF object failed: %s", strerror(-err));
		goto cleanup;
	}
	skel->rodata->insert_sockets = o->insert;
	skel->rodata->read_clock = o->clock;
	skel->rodata->tracked_cgroup_id = cg.id;
	err = bpf_map__set_max_entries(skel->maps.sock_hash, (uint32_t)o->max_sockets);
	if (!err && !o->attach_msg)
		err = bpf_program__set_autoload(skel->progs.floor_msg, false);
	if (!err)
		err = bpf_program__set_autoload(skel->progs.floor_sockops, !o->tp);
	if (!err)
		err = hooks_autoload(skel, o, absent, sizeof(absent));
	if (!err)
		err = bpf_program__set_autoload(skel->progs.floor_sched_switch, o->tp);
	if (!err)
		err = bpf_program__set_autoload(skel->progs.floor_softirq_entry, o->tp);
	if (err) {
		log_error("configuring the BPF object failed: %s", strerror(-err));
		goto cleanup;
	}
	err = skmsg_floor_bpf__load(skel);
	if (err) {
		log_error("loading the BPF programs failed: %s (--verbose shows the verifier log)",
			  strerror(-err));
		goto cleanup;
	}

	if (o->tp) {
		skel->links.floor_sched_switch =
			bpf_program__attach(skel->progs.floor_sched_switch);
		if (!skel->links.floor_sched_switch) {
			err = -errno;
			log_error("attaching tp_btf/sched_switch failed: %s", strerror(-err));
			goto cleanup;
		}
		skel->links.floor_softirq_entry =
			bpf_program__attach(skel->progs.floor_softirq_entry);
		if (!skel->links.floor_softirq_entry) {
			err = -errno;
			log_error("attaching tp_btf/softirq_entry failed: %s", strerror(-err));
			goto cleanup;
		}
		goto attached;
	}
	if (o->hooks) {
		err = hooks_attach(skel, cg_fd, cg.path);
		if (err)
			goto cleanup;
	}
	/* sk_msg first: every socket sockops inserts then goes through it from the start. */
	if (o->attach_msg) {
		err = bpf_prog_attach(bpf_program__fd(skel->progs.floor_msg),
				      bpf_map__fd(skel->maps.sock_hash), BPF_SK_MSG_VERDICT, 0);
		if (err) {
			err = -errno;
			log_error("attaching sk_msg to the sockhash failed: %s", strerror(-err));
			goto cleanup;
		}
		msg_attached = true;
	}
	skel->links.floor_sockops = bpf_program__attach_cgroup(skel->progs.floor_sockops, cg_fd);
	if (!skel->links.floor_sockops) {
		err = -errno;
		log_error("%s: attaching sockops failed: %s", cg.path, strerror(-err));
		goto cleanup;
	}

attached:
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (o->tp)
		log_info(
			"attached: empty tp_btf/sched_switch and tp_btf/softirq_entry (host-wide)");
	else if (o->hooks)
		log_info("attached: programs that %s at request records' hooks: tp_btf "
			 "(host-wide), cgroup_skb ingress/egress and sockops on %s%s%s%s",
			 o->clock ? "read the clock where the collector does and return" :
				    "return at once",
			 cg.path, absent[0] ? "; absent from this kernel:" : "", absent,
			 hooks_differ());
	else
		log_info("attached: sockops on %s (%s)%s", cg.path,
			 o->insert ? "sockets into the sockhash" : "sockhash unused",
			 o->attach_msg ? ", sk_msg returning SK_PASS on the sockhash" :
					 ", no sk_msg");
	bpf_tool_wait_for_stop(&set, o->duration_s);
	if (o->insert)
		log_info("%llu sockets put in the sockhash, %llu refused",
			 (unsigned long long)skel->bss->inserted,
			 (unsigned long long)skel->bss->insert_failed);
	err = 0;

cleanup:
	if (msg_attached)
		bpf_prog_detach2(bpf_program__fd(skel->progs.floor_msg),
				 bpf_map__fd(skel->maps.sock_hash), BPF_SK_MSG_VERDICT);
	skmsg_floor_bpf__destroy(skel);
	if (cg_fd >= 0)
		close(cg_fd);
	return err;
}

int main(int argc, char **argv)
{
	struct options o;
	int ret;

	ret = parse_options(argc, argv, &o);
	if (ret != OPTS_RUN)
		return opts_exit_status(ret);
	libbpf_set_print(bpf_tool_libbpf_print);
	return run(&o) ? 1 : 0;
}
