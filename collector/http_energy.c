// SPDX-License-Identifier: MIT
/*
 * http_energy: attaches to a cgroup, samples platform energy every psys_interval_ms, and
 * writes one CSV row of host-wide signals per interval (docs/http_energy.md).
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup2.h"
#include "config.h"
#include "energy/energy_source.h"
#include "gpu/gpu_csv.h"
#include "gpu/gpu_source.h"
#include "attribution.h"
#include "bpf_loader.h"
#include "header_ports.h"
#include "interval_csv.h"
#include "operators/metrics_http.h"
#include "operators/operators.h"
#include "operators/request_log.h"
#include "signals_api.h"
#include "log.h"
#include "options.h"
#include "parse.h"
#include "request_energy.h"
#include "requests_api.h"
#include "softirqs.h"
#include "version.h"

struct options {
	const char *cgroup_dir;
	const char *config_path;
	const char *csv_path;
	const char *label;
	const char *energy_source; /* overrides the config's */
	uint64_t duration_s;	   /* 0: until SIGINT/SIGTERM */
	uint64_t seed;
	uint32_t max_procs;
	uint32_t max_conns;
	bool verbose;
	bool no_realtime;
	bool no_requests;
	enum gpu_kind gpu;
	const char *gpu_csv_path;
	int ready_fd; /* --ready-fd: -1 for none */
	bool no_header;
	bool sk_msg_framing; /* records only: sk_msg frames, not cgroup_skb/egress */
	bool header_ports_set;
	uint32_t header_quantum_uj;
	uint64_t header_ports[HEADER_PORT_WORDS];
	const char *metrics_addr; /* issue 15 */
	const char *cgroup_csv;	  /* issue 15 */
	uint32_t metrics_max_cgroups;
	uint32_t metrics_max_processes;
	uint32_t metrics_max_routes;
	const char *request_log; /* issue 13: --request-log FILE */
	uint32_t request_ring_kb;
};

struct collector {
	struct options opt;
	struct energy_config cfg;
	struct cgroup2_info cgroup;
	struct energy_source *energy;
	struct bpf_loader *bpf; /* the BPF object: the one owner of every hook */
	struct signals *signals;
	struct interval_csv *csv;
	struct gpu_source *gpu;
	struct gpu_csv *gpu_csv;
	struct requests *requests;
	struct operators *operators; /* issue 15: --metrics-addr, --cgroup-csv */
	struct softirqs *softirqs;
	struct softirq_counts cut_softirqs; /* counted up to the last cut */
	struct request_log *records; /* issue 13: --request-log */
	uint64_t record_rows;
	bool stopping; /* the interval being finished is the last */
	/* records still waiting for their tail at stop: in the last interval, then the log */
	struct request_event *waiting;
	size_t num_waiting;
	struct request_totals last_totals;
	uint64_t *proc_uj;	/* per process entry, this interval */
	struct attribution_item *scratch;
	size_t proc_cap;
	uint64_t last_energy_uj;
	uint64_t cut_energy_uj; /* a measured source, read at the last cut */
	uint64_t intervals;
	uint64_t overruns;
};

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reopen_signal; /* SIGHUP: reopen the CSV files */

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void on_reopen_signal(int sig)
{
	reopen_signal = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log_is_verbose())
		return 0; /* failures are reported by us, once, with context */
	return vfprintf(stderr, fmt, ap);
}

static int opt_header_ports(const char *arg, void *target, const char **why)
{
	struct options *o = target;

	if (header_ports_parse(arg, o->header_ports, why))
		return -EINVAL;
	o->header_ports_set = true;
	return 0;
}

static int opt_energy_source(const char *arg, void *target, const char **why)
{
	if (energy_source_check(arg, why))
		return -EINVAL;
	*(const char **)target = arg;
	return 0;
}

static int opt_ready_fd(const char *arg, void *target, const char **why)
{
	uint64_t v;
	int err = parse_u64(arg, 0, INT32_MAX, &v);

	if (err) {
		*why = err == -ERANGE ? "is out of range 0..2147483647" : "is not a whole number";
		return err;
	}
	*(int *)target = (int)v;
	return 0;
}

static int opt_metrics_addr(const char *arg, void *target, const char **why)
{
	char host[256];
	uint16_t port;

	if (metrics_parse_addr(arg, host, sizeof(host), &port)) {
		*why = "is not HOST:PORT, [IPV6]:PORT or :PORT";
		return -EINVAL;
	}
	*(const char **)target = arg;
	return 0;
}

static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	const struct opt table[] = {
		OPT_STRING("collect-csv", "FILE",
			   "write one row per interval (appends to an existing file with the same "
			   "header)",
			   &o->csv_path),
		OPT_STRING("collect-label", "LABEL", "the label column (default: default)",
			   &o->label),
		OPT_CUSTOM("energy-source", "SRC",
			   "psys, rapl, powercap, hwmon, replay:FILE, synthetic[:CONF] or auto "
			   "(overrides CONFIG)",
			   &o->energy_source, opt_energy_source),
		OPT_UINT("duration", "SEC", "stop after SEC seconds (default 0: at SIGINT/SIGTERM)",
			 &o->duration_s, 0, 315360000),
		OPT_SEED("seed of the synthetic source's noise", &o->seed),
		OPT_UINT("max-processes", "N", "processes tracked per interval (default 8192)",
			 &o->max_procs, 16, 1 << 22),
		OPT_UINT("max-connections", "N", "connections tracked at once (default 65536)",
			 &o->max_conns, 16, 1 << 24),
		OPT_FLAG("no-requests", "host-wide signals only: no request tracking, no header",
			 &o->no_requests),
		OPT_CHOICE("gpu", "auto|nvml|dcgm|none",
			   "GPU energy and telemetry source (default auto)", &o->gpu, gpu_kind_names),
		OPT_STRING("gpu-csv", "FILE", "write one row per GPU per interval (docs/gpu.md)",
			   &o->gpu_csv_path),
		OPT_FLAG("no-header",
			 "track requests without rewriting any response (no sk_msg: per-response "
			 "counts and energy are unavailable)",
			 &o->no_header),
		OPT_FLAG("sk-msg-framing",
			 "with --no-header --request-log: frame responses with sk_msg on a sockhash "
			 "instead of cgroup_skb/egress (docs/attribution.md)",
			 &o->sk_msg_framing),
		OPT_CUSTOM("header-ports", "LIST",
			   "X-Energy-Score only on these local ports, e.g. 80,8000-8099 (others are "
			   "counted, not rewritten)",
			   o, opt_header_ports),
		OPT_UINT("header-quantum-uj", "N",
			 "round the header value to the nearest multiple of N uJ (default 1; "
			 "docs/attribution.md: what it reveals)",
			 &o->header_quantum_uj, 1, 1000000000),
		OPT_FLAG("no-realtime",
			 "keep the sampler at normal priority (default: SCHED_FIFO 1, so a loaded "
			 "host cannot delay boundaries)",
			 &o->no_realtime),
		OPT_CUSTOM("ready-fd", "N",
			   "write \"ready\\n\" to the open file descriptor N, then close it, once "
			   "everything is attached and collecting",
			   &o->ready_fd, opt_ready_fd),
		OPT_CUSTOM("metrics-addr", "HOST:PORT",
			   "serve Prometheus metrics on http://HOST:PORT/metrics", &o->metrics_addr,
			   opt_metrics_addr),
		OPT_STRING("cgroup-csv", "FILE", "one row per cgroup per interval (docs/csv-format.md)",
			   &o->cgroup_csv),
		OPT_UINT("metrics-max-cgroups", "N", "cgroups with series of their own (default 2048)",
			 &o->metrics_max_cgroups, 1, 1 << 20),
		OPT_UINT("metrics-max-processes", "N",
			 "processes with series of their own (default 64)", &o->metrics_max_processes,
			 1, 1 << 16),
		OPT_UINT("metrics-max-routes", "N",
			 "routes with series of their own, per cgroup (default 100; later ones: "
			 "route=\"_other\")",
			 &o->metrics_max_routes, 1, ROUTES_MAX_MAX_ROUTES),
		OPT_STRING("request-log", "FILE",
			   "one CSV row per completed response (docs/csv-format.md)", &o->request_log),
		OPT_UINT("request-ring-kb", "N",
			 "the records' ring buffer in KiB (default 1024); records that find it full "
			 "are counted (records_dropped)",
			 &o->request_ring_kb, 4, 1 << 20),
		OPT_FLAG("verbose", "libbpf's messages and per-interval lines", &o->verbose),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "http_energy",
		.synopsis = "[options] CGROUP_DIR [CONFIG]",
		.about = "Attaches to the cgroup2 directory CGROUP_DIR and samples platform energy "
			 "and\nhost-wide signals every psys_interval_ms (CONFIG, default: built-in "
			 "defaults).",
		.footer = "Exit status: 0 success, 1 runtime error, 2 usage error.",
		.opts = table,
		.args_name = "CGROUP_DIR",
		.min_args = 1,
		.max_args = 2,
	};
	enum opts_result r;
	int first;

	*o = (struct options){ .label = "default", .seed = OPTS_SEED_DEFAULT, .ready_fd = -1,
				.header_quantum_uj = 1, .request_ring_kb = 1024 };
	r = opts_parse(&spec, argc, argv, &first);
	if (r != OPTS_RUN)
		return r;
	if (o->ready_fd >= 0) {
		int fl = fcntl(o->ready_fd, F_GETFL);
		char num[16];

		snprintf(num, sizeof(num), "%d", o->ready_fd);
		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
			return opts_error("--ready-fd", num,
					  fl < 0 ? "is not an open file descriptor"
						 : "is not open for writing");
		fcntl(o->ready_fd, F_SETFD, FD_CLOEXEC);
	}
	if (o->request_log && o->no_requests) {
		log_error("--request-log: no requests are tracked with --no-requests (see --help)");
		return -EINVAL;
	}
	if (o->no_header && o->header_ports_set) {
		log_error("--header-ports: no header is written with --no-header (see --help)");
		return OPTS_USAGE;
	}
	if (o->sk_msg_framing && (!o->no_header || o->no_requests ||
				  (!o->request_log && !o->metrics_addr))) {
		log_error("--sk-msg-framing: only records without the header choose their framer "
			  "(--no-header with --request-log or --metrics-addr; see --help)");
		return OPTS_USAGE;
	}
	o->cgroup_dir = argv[first];
	if (first + 1 < argc)
		o->config_path = argv[first + 1];
	return OPTS_RUN;
}

/*
 * The BPF object: the signals side's buffers and PMU counters first (whether slices read
 * the PMU is set before load), then load, the signals side's maps, attach, and the first
 * interval. Request tracking attaches later (attach_requests).
 */
/* Request records feed --request-log and the per-route metrics of --metrics-addr. */
static bool records_wanted(const struct collector *c)
{
	return !c->opt.no_requests && (c->opt.request_log || c->opt.metrics_addr);
}

static int open_signals(struct collector *c, const struct signals_opts *so)
{
	struct bpf_loader_opts lo = { .cgroup_id = c->cgroup.id,
				      .cgroup_level = c->cgroup.level,
				      .max_procs = c->opt.max_procs,
				      .requests = { .enable = !c->opt.no_requests,
						    .max_conns = c->opt.max_conns,
						    .egress_framing = c->opt.no_header &&
								      !c->opt.sk_msg_framing,
						    .record_ring_kb = records_wanted(c)
									      ? c->opt.request_ring_kb
									      : 0 } };
	struct signals_available hooks;
	int err;

	err = signals__open(so, &c->signals);
	if (err)
		return err;
	lo.pmu = signals__available(c->signals)->pmu;
	return bpf_loader__open(&lo, &c->bpf) ?:
	       signals__bind(c->signals, bpf_loader__signals(c->bpf)) ?:
	       bpf_loader__attach_signals(c->bpf, &hooks) ?:
	       signals__begin(c->signals, &hooks);
}

/* The model and weights first: the request programs read them from their first run. */
static int attach_requests(struct collector *c)
{
	struct header_opts h = { .no_header = c->opt.no_header,
				 .port_bits = c->opt.header_ports_set ? c->opt.header_ports : NULL,
				 .quantum_uj = c->opt.header_quantum_uj,
				 .records = records_wanted(c) };
	struct routes *routes = operators__routes(c->operators);
	struct requests *rt;
	int err;

	err = requests__open(bpf_loader__requests(c->bpf), &c->cfg, &rt);
	if (err)
		return err;
	err = bpf_loader__attach_requests(c->bpf, c->cgroup.path, &h,
					  config_mode_name(c->cfg.attribution_mode));
	if (err) {
		requests__close(rt);
		return err;
	}
	c->requests = rt;
	if (!h.records)
		return 0;
	/* issue 13: records are read from here on, in a thread of their own; the per-route
	 * metrics (issue 15) are one of their consumers */
	err = request_log__open(requests__records_fd(rt), c->opt.request_log,
				config_mode_name(c->cfg.attribution_mode), &c->records);
	if (!err && routes)
		err = request_log__add_consumer(c->records, routes_record_consumer, routes);
	err = err ?: request_log__start(c->records);
	if (!err)
		log_info("requests: one record per completed response%s%s%s (ring buffer %u KiB)",
			 c->opt.request_log ? " into " : "",
			 c->opt.request_log ? c->opt.request_log : "",
			 routes ? ", per-route metrics from them" : "", c->opt.request_ring_kb);
	return err;
}

/* issue 13: the tracked cgroup's energy this interval (its processes' entries). */
static uint64_t cgroup_uj(const struct collector *c, const struct interval_signals *sig)
{
	uint64_t uj = 0;

	for (size_t i = 0; i < sig->num_procs; i++)
		if (sig->procs[i].cgroup_id == c->cgroup.id)
			uj += c->proc_uj[i];
	return uj;
}

/*
 * Splits the interval's energy among processes, publishes each one's share, and in psys
 * mode hands the kernel the new µJ-per-score factor (attaching request tracking once the
 * first factor exists). Returns the µJ attributed.
 */
static int attribute(struct collector *c, const struct interval_signals *sig, int64_t active_uj,
		     uint64_t *attributed_uj)
{
	const struct signals_available *av = signals__available(c->signals);
	struct attribution_result res;
	int err;

	if (sig->num_procs > c->proc_cap) {
		size_t cap = sig->num_procs * 2;
		uint64_t *uj = realloc(c->proc_uj, cap * sizeof(*uj));
		struct attribution_item *scratch;

		if (!uj)
			return -ENOMEM;
		c->proc_uj = uj;
		scratch = realloc(c->scratch, cap * sizeof(*scratch));
		if (!scratch)
			return -ENOMEM;
		c->scratch = scratch;
		c->proc_cap = cap;
	}
	attribution_split(&c->cfg, sig->procs, sig->num_procs, active_uj, av->pmu, c->proc_uj,
			  c->scratch, &res);
	*attributed_uj = res.attributed_uj;
	if (c->requests) {
		uint32_t ended[4096]; /* more wait for the next interval */
		int max = (int)(sizeof(ended) / sizeof(*ended)), n;

		for (size_t i = 0; i < sig->num_procs; i++)
			if (c->proc_uj[i])
				requests__add_process_energy(c->requests, sig->procs[i].tgid,
							     c->proc_uj[i]);
		n = signals__take_exited(c->signals, ended, max);
		requests__forget_processes(c->requests, ended, n);
	}
	if (c->opt.no_requests || c->cfg.attribution_mode != ATTRIBUTION_PSYS || !res.factor_valid)
		return 0;
	if (!c->requests) {
		err = attach_requests(c);
		if (err)
			return err;
		log_info("requests: first uJ/score factor %.6g: tracking new connections from now",
			 res.factor);
	}
	err = requests__set_factor(c->requests, res.factor);
	if (err)
		log_error("requests: factor %g cannot be encoded: %s", res.factor, strerror(-err));
	return err;
}

/* issue 15: every cgroup's and process's share, the cgroup CSV and the metrics. */
static int report_operators(struct collector *c, const struct interval_signals *sig,
			    uint64_t energy_uj, uint64_t attributed,
			    const struct request_totals *totals)
{
	struct operators_interval iv = {
		.interval = c->intervals,
		.energy_source = c->energy ? energy_source__name(c->energy) : "",
		.measured = c->energy && energy_source__is_measured(c->energy),
		.energy_uj = energy_uj,
		.idle_uj = c->energy ? interval_idle_uj(c->cfg.idle_power_uw,
							sig->t_end_ns - sig->t_start_ns) : 0,
		.sig = sig,
		.proc_uj = c->proc_uj,
		.attributed_uj = attributed,
		.requests = totals,
		.records_dropped = totals && c->records ? &totals->records_dropped : NULL,
		.overruns = c->overruns,
	};

	iv.num_gpus = gpu_source__samples(c->gpu, &iv.gpus);
	return operators__interval(c->operators, &iv);
}

/*
 * At each boundary, before the CPUs are flushed and the maps drained: a measured energy
 * source is read here, so that its reading belongs to the same instant as t_end_ns (the
 * flush and drain take a millisecond or more). The synthetic source is a model of the
 * interval's signals and is read once they are known.
 */
static int read_energy_at_cut(void *ctx, uint64_t t_ns)
{
	struct collector *c = ctx;
	uint64_t read_t_ns;
	int err = 0;

	/* The meter first, nearest the boundary: reading /proc/softirqs takes ~15 us. */
	if (c->energy && energy_source__is_measured(c->energy))
		err = energy_source__read(c->energy, &c->cut_energy_uj, &read_t_ns);
	/* A counter too: read at the boundary, like the meter. */
	softirqs__sample(c->softirqs, &c->cut_softirqs);
	return err;
}

/* A CPU's kHz re-read as changed at a cut: its request-model weight follows. */
static void cpu_khz_changed(void *ctx, uint32_t cpu, uint32_t khz)
{
	struct collector *c = ctx;

	if (c->requests)
		requests__set_cpu_khz(c->requests, &c->cfg, cpu, khz);
}

/* Ends the running interval now: cut the signals (reading a meter at the cut), take the
 * energy, write the row. */
/*
 * The last interval: the records whose response ended but whose tail never did (an idle
 * keep-alive connection) are taken from BPF now and count as completed in this interval's
 * request_uj, so that the interval CSV and the records written at stop agree.
 */
static void take_waiting(struct collector *c, struct request_totals *totals)
{
	int err;

	if (!c->records || c->waiting)
		return;
	err = requests__take_waiting(c->requests, &c->waiting, &c->num_waiting);
	if (err)
		log_error("requests: taking the records waiting at stop: %s; %zu taken are written, "
			  "the rest are not", strerror(-err), c->num_waiting);
	for (size_t i = 0; i < c->num_waiting; i++) {
		totals->completed++;
		totals->completed_uj_fx += c->waiting[i].energy_uj_fx;
	}
}

/* After the ring's last records: those taken at stop, marked tail_cut. */
static void put_waiting(struct collector *c)
{
	struct request_record *r;

	if (!c->records || !c->num_waiting)
		return;
	r = calloc(c->num_waiting, sizeof(*r));
	if (!r) {
		log_error("requests: the records waiting at stop: %s; not written",
			  strerror(ENOMEM));
		return;
	}
	for (size_t i = 0; i < c->num_waiting; i++) {
		request_record_from_event(&c->waiting[i], &r[i]);
		r[i].tail_cut = 1;
	}
	request_log__put_records(c->records, r, c->num_waiting);
	free(r);
}

static int finish_interval(struct collector *c)
{
	const struct signals_available *av = signals__available(c->signals);
	struct request_totals totals = { 0 };
	struct interval_signals sig;
	struct interval_row row;
	uint64_t energy_uj = 0, t_ns, attributed = 0, idle_uj;
	int64_t active = 0;
	int err;

	err = signals__cut(c->signals, &sig);
	if (err)
		return err;
	sig.softirqs = c->cut_softirqs;
	if (c->energy && energy_source__is_measured(c->energy)) {
		energy_uj = c->cut_energy_uj;
	} else if (c->energy) {
		energy_source__feed_signals(c->energy, &sig, av);
		err = energy_source__read(c->energy, &energy_uj, &t_ns);
		if (err)
			return err;
	}
	if (c->energy) {
		idle_uj = interval_idle_uj(c->cfg.idle_power_uw, sig.t_end_ns - sig.t_start_ns);
		active = (int64_t)(energy_uj - c->last_energy_uj) - (int64_t)idle_uj;
	}
	if (c->gpu) {
		err = gpu_source__sample(c->gpu, sig.t_start_ns, sig.t_end_ns);
		if (err)
			return err;
	}
	/* Requests counted before attribution: tracking may attach during it. */
	bool had_requests = c->requests != NULL;

	if (had_requests) {
		if (c->stopping && c->records)
			requests__stop_records(c->requests);
		err = requests__totals(c->requests, &totals);
		if (err)
			return err;
		if (c->stopping)
			take_waiting(c, &totals);
	}
	err = attribute(c, &sig, active, &attributed);
	if (err)
		return err;
	err = report_operators(c, &sig, energy_uj - c->last_energy_uj, attributed,
			       had_requests ? &totals : NULL);
	if (err)
		return err;

	row = (struct interval_row){
		.interval = c->intervals,
		.label = c->opt.label,
		.energy_source = c->energy ? energy_source__name(c->energy) : "",
		.interval_psys_uj = energy_uj - c->last_energy_uj,
		.idle_power_uw = c->cfg.idle_power_uw,
		.sig = &sig,
		.avail = av,
		.have_requests = !c->opt.no_requests,
		.no_responses = c->opt.no_header && !records_wanted(c), /* records frame them */
		.requests = totals.responses - c->last_totals.responses,
		.request_energy_uj = totals.energy_uj - c->last_totals.energy_uj,
		.attributed_uj = attributed,
	};
	if (had_requests) {
		/* issue 13: the request share and the rest of the cgroup's energy */
		row.request_uj = (totals.completed_uj_fx - c->last_totals.completed_uj_fx +
				  REQ_FRAC_ONE / 2) >> REQ_FRAC_BITS;
		row.not_a_request_uj = (int64_t)cgroup_uj(c, &sig) - (int64_t)row.request_uj;
		row.records_dropped = totals.records_dropped - c->last_totals.records_dropped;
	}
	row.have_gpu_energy = gpu_source__total_uj(c->gpu, &row.gpu_energy_uj);
	if (had_requests)
		c->last_totals = totals;
	c->last_energy_uj = energy_uj;
	if (sig.host.proc_overflows) {
		uint64_t overflow_uj = 0;

		for (size_t i = 0; i < sig.num_procs; i++)
			if (sig.procs[i].tgid == PROC_OVERFLOW_TGID)
				overflow_uj += c->proc_uj[i];
		log_info("interval %" PRIu64 ": process map full; %" PRIu64 " charges went to the "
			 "overflow bucket (process %u), %" PRIu64 " uJ attributed to it (raise "
			 "--max-processes)", c->intervals, (uint64_t)sig.host.proc_overflows,
			 PROC_OVERFLOW_TGID, overflow_uj);
	}
	if (sig.freqs_truncated)
		log_info("interval %" PRIu64 ": over %d CPU frequencies; the rest merged into "
			 "the lowest", c->intervals, SIGNALS_FREQ_SLOTS);
	log_debug("interval %" PRIu64 ": %.1f ms, energy %" PRIu64 " uJ, runtime %.1f ms, "
		  "idle %.1f ms, %zu process entries, %" PRIu64 " responses", c->intervals,
		  (double)(sig.t_end_ns - sig.t_start_ns) / 1e6, row.interval_psys_uj,
		  (double)sig.host.runtime_ns / 1e6, (double)sig.host.idle_ns / 1e6,
		  sig.num_procs, row.requests);
	if (c->csv) {
		err = interval_csv__append(c->csv, &row);
		if (err)
			return err;
	}
	if (c->gpu_csv) {
		const struct gpu_sample *gs;
		size_t n = gpu_source__samples(c->gpu, &gs);

		err = gpu_csv__append(c->gpu_csv, c->intervals, gs, n);
		if (err)
			return err;
	}
	c->intervals++;
	return 0;
}

/* "N name, N name" for the counters of one group. */
static void counts(char *buf, size_t size, const uint64_t *v, int n, const char *(*name)(int))
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu64 " %s", i ? ", " : "",
					v[i], name(i));
}

static const char *skip_name(int i)
{
	return skip_reason_name((enum skip_reason)i);
}

static const char *unframed_name(int i)
{
	return unframed_reason_name((enum unframed_reason)i);
}

static const char *end_name(int i)
{
	return http_end_name((enum http_end)i);
}

static void report_requests(struct collector *c)
{
	char skipped[256], unframed[512], ended[256];
	struct request_totals t;

	if (!c->requests || requests__totals(c->requests, &t))
		return;
	counts(skipped, sizeof(skipped), t.skipped, SKIP_REASONS, skip_name);
	counts(unframed, sizeof(unframed), t.unframed, UNFRAMED_REASONS, unframed_name);
	counts(ended, sizeof(ended), t.ended, END_REASONS, end_name);
	log_info("requests: %" PRIu64 " heads, %" PRIu64 " responses, %" PRIu64
		 " X-Energy-Score headers written; not rewritten: %s; connections left alone: "
		 "unframed: %s; HTTP ended: %s; %" PRIu64 " connections lost sync, %" PRIu64
		 " not HTTP/1.x, %" PRIu64 " over --max-connections, %" PRIu64
		 " pipelined too deep; %" PRIu64 " resynced, %" PRIu64 " heads on handshake",
		 t.heads, t.responses, t.injected, skipped, unframed, ended, t.desynced, t.not_http,
		 t.conn_overflows, t.too_deep, t.resynced, t.early_heads);
	if (c->opt.request_log)
		log_info("requests: %" PRIu64 " responses completed, %" PRIu64 " records written to "
			 "%s, %" PRIu64 " records dropped (ring buffer full: raise "
			 "--request-ring-kb); %zu of them written at stop, without their tail",
			 t.completed + c->num_waiting, c->record_rows, c->opt.request_log,
			 t.records_dropped, c->num_waiting);
	if (t.late_ends)
		log_info("requests: %" PRIu64 " responses ended after the send that wrote their last "
			 "byte returned (sent later from the queue): their records have no tail",
			 t.late_ends);
}

/*
 * --ready-fd: once everything this run measures is attached and an interval is open, i.e.
 * at "collecting", or with request tracking in psys mode once it attached (after the first
 * interval gave a uJ/score factor). Written once, then closed: a reader sees "ready\n", or
 * end of file if the collector exits first.
 */
static void maybe_ready(struct collector *c)
{
	static const char msg[] = "ready\n";

	if (c->opt.ready_fd < 0 || (!c->opt.no_requests && !c->requests))
		return;
	if (write(c->opt.ready_fd, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1)
		log_info("--ready-fd %d: %s", c->opt.ready_fd, strerror(errno));
	close(c->opt.ready_fd);
	c->opt.ready_fd = -1;
}

/*
 * The sampler sleeps almost all the time and works for well under a millisecond per
 * interval; at SCHED_FIFO 1 a host saturated by normal tasks cannot delay a boundary.
 */
static void raise_priority(const struct options *o)
{
	struct sched_param sp = { .sched_priority = 1 };

	if (o->no_realtime)
		return;
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		log_info("sampler at normal priority (SCHED_FIFO refused: %s); a saturated host "
			 "may delay boundaries", strerror(errno));
	else
		log_info("sampler at SCHED_FIFO priority 1 (--no-realtime to keep normal priority)");
}

/* SIGHUP (log rotation): the next rows go to files opened again at the same paths. */
static void reopen_outputs(struct collector *c)
{
	if (c->csv && interval_csv__reopen(c->csv) == 0)
		log_info("SIGHUP: reopened %s", c->opt.csv_path);
	if (c->operators && operators__reopen(c->operators) == 0 && c->opt.cgroup_csv)
		log_info("SIGHUP: reopened %s", c->opt.cgroup_csv);
}

/* Absolute CLOCK_MONOTONIC deadlines: sleeping late never shifts later boundaries. */
static int run_sampler(struct collector *c)
{
	uint64_t period = (uint64_t)c->cfg.psys_interval_ms * 1000000ULL;
	uint64_t start = now_ns(), deadline = start + period;
	uint64_t stop_at = c->opt.duration_s ? start + c->opt.duration_s * 1000000000ULL : 0;
	int err;

	for (;;) {
		struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000ULL),
				       .tv_nsec = (long)(deadline % 1000000000ULL) };
		int rc;

		if (stop_at && deadline > stop_at) {
			ts.tv_sec = (time_t)(stop_at / 1000000000ULL);
			ts.tv_nsec = (long)(stop_at % 1000000000ULL);
		}
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc && rc != EINTR) {
			log_error("clock_nanosleep: %s", strerror(rc));
			return -rc;
		}
		if (stop_signal) {
			log_info("%s: finishing the interval and stopping", strsignal(stop_signal));
			c->stopping = true;
			return finish_interval(c);
		}
		if (reopen_signal) {
			reopen_signal = 0;
			reopen_outputs(c);
		}
		if (rc == EINTR)
			continue;
		c->stopping = stop_at && now_ns() >= stop_at;
		err = finish_interval(c);
		if (err)
			return err;
		maybe_ready(c);
		if (stop_at && now_ns() >= stop_at)
			return 0;
		deadline += period;
		if (deadline <= now_ns()) {
			/* We were stalled past whole periods: the next row covers the gap. */
			uint64_t missed = (now_ns() - deadline) / period + 1;

			c->overruns += missed;
			deadline += missed * period;
			log_info("sampler fell behind by %" PRIu64 " interval(s); the next row is "
				 "longer", missed);
		}
	}
}

static int open_operators(struct collector *c)
{
	const struct signals_available *av = signals__available(c->signals);
	char signals[64];
	struct operators_opts oo = {
		.metrics_addr = c->opt.metrics_addr,
		.cgroup_csv = c->opt.cgroup_csv,
		.cgroup_mount = c->cgroup.mount,
		.max_cgroups = c->opt.metrics_max_cgroups,
		.max_processes = c->opt.metrics_max_processes,
		.max_routes = c->opt.metrics_max_routes,
		.label = c->opt.label,
		.version = HTTP_ENERGY_VERSION,
		.mode = config_mode_name(c->cfg.attribution_mode),
		.signals = signals,
	};

	snprintf(signals, sizeof(signals), "%s%s%s%s%s", av->pmu ? "pmu," : "",
		 av->irq ? "irq," : "", av->softirq ? "softirq," : "",
		 av->page_cache ? "page_cache," : "", av->writebacks ? "writebacks," : "");
	if (signals[0])
		signals[strlen(signals) - 1] = '\0';
	return operators__open(&oo, &c->operators);
}

static int open_energy(struct collector *c)
{
	const char *spec = c->opt.energy_source ? c->opt.energy_source : c->cfg.energy_source;
	struct energy_source_opts eo = { .seed = c->opt.seed };
	int err;

	err = energy_source__open(spec, &eo, &c->energy);
	if (err)
		return err;
	log_info("energy source %s: %s", energy_source__name(c->energy),
		 energy_source__describe(c->energy));
	if (!energy_source__is_measured(c->energy))
		log_info("energy source %s is a MODEL, not a measurement: every CSV row says so",
			 energy_source__name(c->energy));
	return 0;
}

int main(int argc, char **argv)
{
	struct collector c = { 0 };
	struct signals_opts so = { 0 };
	struct sigaction sa = { .sa_handler = on_stop_signal };
	uint64_t t_ns;
	int err;

	err = parse_options(argc, argv, &c.opt);
	if (err != OPTS_RUN)
		return opts_exit_status(err);
	log_set_verbose(c.opt.verbose);
	libbpf_set_print(libbpf_print);

	config_defaults(&c.cfg);
	if (c.opt.config_path && config_parse_file(c.opt.config_path, &c.cfg))
		return 1;
	if (cgroup2_resolve(c.opt.cgroup_dir, &c.cgroup))
		return 1;
	log_info("tracking cgroup %s (id %" PRIu64 ", level %u; cgroup2 at %s), %s mode, "
		 "interval %u ms", c.cgroup.path, c.cgroup.id, c.cgroup.level, c.cgroup.mount,
		 config_mode_name(c.cfg.attribution_mode), c.cfg.psys_interval_ms);
	if (c.cfg.attribution_mode == ATTRIBUTION_PSYS && c.cfg.idle_power_uw == 0)
		log_info("idle_power_uw is 0: the host's idle power is attributed too, so processes "
			 "and requests get far more than they cost (measure it with "
			 "measure_idle_power and set idle_power_uw in the config)");

	/* Handlers before anything is attached, so a signal never skips the clean-up. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_reopen_signal; /* issue 15 */
	sigaction(SIGHUP, &sa, NULL);

	if (c.cfg.attribution_mode == ATTRIBUTION_MODEL && !c.opt.csv_path &&
	    !c.opt.metrics_addr && !c.opt.cgroup_csv /* issue 15: they need the energy */) {
		log_info("model mode without --collect-csv: no energy source needed");
	} else {
		err = open_energy(&c);
		if (err)
			goto cleanup;
	}
	if (c.opt.csv_path) {
		err = interval_csv__open(c.opt.csv_path, &c.csv);
		if (err)
			goto cleanup;
	}
	err = gpu_source__open(c.opt.gpu, NULL, &c.gpu);
	if (err)
		goto cleanup;
	if (c.opt.gpu_csv_path) {
		if (!c.gpu)
			log_info("--gpu-csv %s: no GPU source: the file gets its header only",
				 c.opt.gpu_csv_path);
		err = gpu_csv__open(c.opt.gpu_csv_path, &c.gpu_csv);
		if (err)
			goto cleanup;
	}
	err = softirqs__open(NULL, &c.softirqs);
	if (err)
		goto cleanup;
	so.max_procs = c.opt.max_procs;
	so.at_cut = read_energy_at_cut;
	so.at_cut_ctx = &c;
	so.on_freq_change = cpu_khz_changed;
	so.on_freq_change_ctx = &c;
	err = open_signals(&c, &so);
	if (err)
		goto cleanup;
	err = open_operators(&c);
	if (err)
		goto cleanup;
	/* The first interval starts at the signals' start: a meter was read there (at the
	 * open's cut); the synthetic source starts here. */
	if (c.energy && energy_source__is_measured(c.energy)) {
		c.last_energy_uj = c.cut_energy_uj;
	} else if (c.energy) {
		err = energy_source__read(c.energy, &c.last_energy_uj, &t_ns);
		if (err)
			goto cleanup;
	}
	err = gpu_source__begin(c.gpu, now_ns());
	if (err)
		goto cleanup;
	if (!c.opt.no_requests && c.cfg.attribution_mode == ATTRIBUTION_MODEL) {
		err = attach_requests(&c);
		if (err)
			goto cleanup;
	} else if (!c.opt.no_requests) {
		log_info("requests: psys mode: tracking starts when the first interval gives a "
			 "uJ/score factor (connections opened before then are not tracked)");
	}
	if (stop_signal)
		goto cleanup;
	raise_priority(&c.opt);
	log_info("collecting%s%s", c.csv ? " into " : "", c.csv ? c.opt.csv_path : "");
	maybe_ready(&c);
	err = run_sampler(&c);
cleanup:
	/* the records' reader drains what is left before the summary counts it */
	request_log__stop(c.records);
	put_waiting(&c);
	c.record_rows = request_log__rows(c.records);
	request_log__close(c.records);
	c.records = NULL;
	report_requests(&c);
	requests__close(c.requests);
	free(c.waiting);
	if (c.operators && c.opt.cgroup_csv)
		log_info("wrote %" PRIu64 " cgroup rows to %s", operators__csv_rows(c.operators),
			 c.opt.cgroup_csv);
	operators__close(c.operators);
	signals__close(c.signals);
	softirqs__close(c.softirqs);
	bpf_loader__destroy(c.bpf); /* detaches everything, on every path */
	free(c.proc_uj);
	free(c.scratch);
	if (c.csv)
		log_info("wrote %" PRIu64 " interval rows to %s", interval_csv__rows(c.csv),
			 c.opt.csv_path);
	interval_csv__close(c.csv);
	energy_source__close(c.energy);
	gpu_csv__close(c.gpu_csv);
	gpu_source__close(c.gpu);
	return err ? 1 : 0;
}
