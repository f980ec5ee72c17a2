// SPDX-License-Identifier: MIT
/*
 * http_energy: attaches to a cgroup, samples platform energy every psys_interval_ms, and
 * writes one CSV row of host-wide signals per interval (docs/http_energy.md).
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
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
#include "energy_source.h"
#include "attribution.h"
#include "interval_csv.h"
#include "kernel_signals.h"
#include "log.h"
#include "metrics_http.h"
#include "operators.h"
#include "parse.h"
#include "request_tracking.h"
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
	const char *metrics_addr; /* issue 15 */
	const char *cgroup_csv;	  /* issue 15 */
	uint32_t metrics_max_cgroups;
	uint32_t metrics_max_processes;
};

struct collector {
	struct options opt;
	struct energy_config cfg;
	struct cgroup2_info cgroup;
	struct energy_source *energy;
	struct kernel_signals *signals;
	struct interval_csv *csv;
	struct request_tracking *requests;
	struct operators *operators; /* issue 15: --metrics-addr, --cgroup-csv */
	struct request_totals last_totals;
	uint64_t *proc_uj;	/* per process entry, this interval */
	double *scratch;
	size_t proc_cap;
	uint64_t last_energy_uj;
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

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: http_energy [options] CGROUP_DIR [CONFIG]\n"
		"\n"
		"Attaches to the cgroup2 directory CGROUP_DIR and samples platform energy and\n"
		"host-wide signals every psys_interval_ms (CONFIG, default: built-in defaults).\n"
		"\n"
		"  --collect-csv FILE     write one row per interval (appends to an existing\n"
		"                         file with the same header)\n"
		"  --collect-label LABEL  the label column (default: default)\n"
		"  --energy-source SRC    psys, rapl, powercap, hwmon, replay:FILE,\n"
		"                         synthetic[:CONF] or auto (overrides CONFIG)\n"
		"  --duration SEC         stop after SEC seconds (default 0: at SIGINT/SIGTERM)\n"
		"  --seed N               seed of the synthetic source's noise (default 1)\n"
		"  --max-processes N      processes tracked per interval (default 8192)\n"
		"  --max-connections N    connections tracked at once (default 65536)\n"
		"  --no-requests          host-wide signals only: no request tracking, no header\n"
		"  --no-realtime          keep the sampler at normal priority (default:\n"
		"                         SCHED_FIFO 1, so a loaded host cannot delay boundaries)\n"
		"  --metrics-addr HOST:PORT  serve Prometheus metrics on http://HOST:PORT/metrics\n"
		"  --cgroup-csv FILE      one row per cgroup per interval (docs/csv-format.md)\n"
		"  --metrics-max-cgroups N    cgroups with series of their own (default 2048)\n"
		"  --metrics-max-processes N  processes with series of their own (default 64)\n"
		"  --verbose              libbpf's messages and per-interval lines\n"
		"  --help, --version\n");
}

/* issue 15: long options without a short letter */
enum {
	OPT_METRICS_ADDR = 1500,
	OPT_CGROUP_CSV,
	OPT_METRICS_MAX_CGROUPS,
	OPT_METRICS_MAX_PROCESSES,
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "collect-csv", required_argument, NULL, 'c' },
		{ "collect-label", required_argument, NULL, 'l' },
		{ "energy-source", required_argument, NULL, 'e' },
		{ "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-processes", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-realtime", no_argument, NULL, 'R' },
		{ "no-requests", no_argument, NULL, 'N' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR },
		{ "cgroup-csv", required_argument, NULL, OPT_CGROUP_CSV },
		{ "metrics-max-cgroups", required_argument, NULL, OPT_METRICS_MAX_CGROUPS },
		{ "metrics-max-processes", required_argument, NULL, OPT_METRICS_MAX_PROCESSES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	uint64_t v;
	char host[256];	/* issue 15: --metrics-addr */
	uint16_t port;
	int c;

	*o = (struct options){ .label = "default", .seed = 1 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->csv_path = optarg; break;
		case 'l': o->label = optarg; break;
		case 'e': o->energy_source = optarg; break;
		case 'v': o->verbose = true; break;
		case 'R': o->no_realtime = true; break;
		case 'N': o->no_requests = true; break;
		case 'C':
			if (parse_option_u64("--max-connections", optarg, 16, 1 << 24, &v))
				return -EINVAL;
			o->max_conns = (uint32_t)v;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("http_energy %s\n", HTTP_ENERGY_VERSION); exit(0);
		case 'd':
			if (parse_option_u64("--duration", optarg, 0, 315360000, &o->duration_s))
				return -EINVAL;
			break;
		case 's':
			if (parse_option_u64("--seed", optarg, 0, UINT64_MAX, &o->seed))
				return -EINVAL;
			break;
		case 'm':
			if (parse_option_u64("--max-processes", optarg, 16, 1 << 22, &v))
				return -EINVAL;
			o->max_procs = (uint32_t)v;
			break;
		case OPT_METRICS_ADDR:
			if (metrics_parse_addr(optarg, host, sizeof(host), &port)) {
				log_usage_error("--metrics-addr", optarg,
						"is not HOST:PORT, [IPV6]:PORT or :PORT");
				return -EINVAL;
			}
			o->metrics_addr = optarg;
			break;
		case OPT_CGROUP_CSV: o->cgroup_csv = optarg; break;
		case OPT_METRICS_MAX_CGROUPS:
			if (parse_option_u64("--metrics-max-cgroups", optarg, 1, 1 << 20, &v))
				return -EINVAL;
			o->metrics_max_cgroups = (uint32_t)v;
			break;
		case OPT_METRICS_MAX_PROCESSES:
			if (parse_option_u64("--metrics-max-processes", optarg, 1, 1 << 16, &v))
				return -EINVAL;
			o->metrics_max_processes = (uint32_t)v;
			break;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind >= argc) {
		log_error("CGROUP_DIR is required (see --help)");
		return -EINVAL;
	}
	o->cgroup_dir = argv[optind++];
	if (optind < argc)
		o->config_path = argv[optind++];
	if (optind < argc) {
		log_error("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static void to_host_signals(const struct interval_signals *sig,
			    const struct signals_available *av, struct host_signals *out)
{
	memset(out, 0, sizeof(*out));
	out->duration_ns = sig->t_end_ns - sig->t_start_ns;
	out->runtime_ns = sig->host.runtime_ns;
	out->wakeups = sig->host.wakeups;
	out->migrations = sig->host.migrations;
	out->cycles = sig->host.pmu[PMU_CYCLES];
	out->instructions = sig->host.pmu[PMU_INSTRUCTIONS];
	out->cache_misses = sig->host.pmu[PMU_CACHE_MISSES];
	out->cycles_measured = out->instructions_measured = out->cache_misses_measured = av->pmu;
	for (size_t i = 0; i < sig->num_freqs && i < HOST_SIGNALS_MAX_FREQS; i++) {
		out->freqs[i].khz = sig->freqs[i].khz;
		out->freqs[i].runtime_ns = sig->freqs[i].runtime_ns;
		out->num_freqs++;
	}
}

static int attach_requests(struct collector *c)
{
	return request_tracking__attach(kernel_signals__bpf(c->signals), c->cgroup.path, &c->cfg,
					&c->requests);
}

/*
 * Splits the interval's energy among processes, publishes each one's share, and in psys
 * mode hands the kernel the new µJ-per-score factor (attaching request tracking once the
 * first factor exists). Returns the µJ attributed.
 */
static int attribute(struct collector *c, const struct interval_signals *sig, int64_t active_uj,
		     uint64_t *attributed_uj)
{
	const struct signals_available *av = kernel_signals__available(c->signals);
	struct attribution_result res;
	int err;

	if (sig->num_procs > c->proc_cap) {
		size_t cap = sig->num_procs * 2;
		uint64_t *uj = realloc(c->proc_uj, cap * sizeof(*uj));
		double *scratch;

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
	if (c->requests)
		for (size_t i = 0; i < sig->num_procs; i++)
			if (c->proc_uj[i])
				request_tracking__add_process_energy(c->requests, sig->procs[i].tgid,
								     c->proc_uj[i]);
	if (c->opt.no_requests || c->cfg.attribution_mode != ATTRIBUTION_PSYS || !res.factor_valid)
		return 0;
	if (!c->requests) {
		err = attach_requests(c);
		if (err)
			return err;
		log_info("requests: first uJ/score factor %.6g: tracking new connections from now",
			 res.factor);
	}
	err = request_tracking__set_factor(c->requests, res.factor);
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
		.overruns = c->overruns,
	};

	return operators__interval(c->operators, &iv);
}

/* Ends the running interval now: cut the signals, read the energy, write the row. */
static int finish_interval(struct collector *c)
{
	const struct signals_available *av = kernel_signals__available(c->signals);
	struct request_totals totals = { 0 };
	struct interval_signals sig;
	struct host_signals host;
	struct interval_row row;
	uint64_t energy_uj = 0, t_ns, attributed = 0, idle_uj;
	int64_t active = 0;
	int err;

	err = kernel_signals__cut(c->signals, &sig);
	if (err)
		return err;
	if (c->energy) {
		to_host_signals(&sig, av, &host);
		energy_source__feed_signals(c->energy, &host);
		err = energy_source__read(c->energy, &energy_uj, &t_ns);
		if (err)
			return err;
		idle_uj = interval_idle_uj(c->cfg.idle_power_uw, sig.t_end_ns - sig.t_start_ns);
		active = (int64_t)(energy_uj - c->last_energy_uj) - (int64_t)idle_uj;
	}
	/* Requests counted before attribution: tracking may attach during it. */
	bool had_requests = c->requests != NULL;

	if (had_requests) {
		err = request_tracking__totals(c->requests, &totals);
		if (err)
			return err;
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
		.requests = totals.responses - c->last_totals.responses,
		.request_energy_uj = totals.energy_uj - c->last_totals.energy_uj,
		.attributed_uj = attributed,
	};
	if (had_requests)
		c->last_totals = totals;
	c->last_energy_uj = energy_uj;
	if (sig.host.proc_overflows)
		log_info("interval %" PRIu64 ": process map full; %" PRIu64 " charges kept "
			 "host-wide only (raise --max-processes)", c->intervals,
			 (uint64_t)sig.host.proc_overflows);
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
	c->intervals++;
	return 0;
}

static void report_requests(struct collector *c)
{
	struct request_totals t;

	if (!c->requests || request_tracking__totals(c->requests, &t))
		return;
	log_info("requests: %" PRIu64 " heads, %" PRIu64 " responses, %" PRIu64
		 " X-Energy-Score headers written; skipped: %" PRIu64 " status line split, %" PRIu64
		 " pull failed, %" PRIu64 " push failed; %" PRIu64 " connections lost sync, %" PRIu64
		 " not HTTP/1.x, %" PRIu64 " over --max-connections",
		 t.heads, t.responses, t.injected, t.skipped[SKIP_STATUS_SPLIT],
		 t.skipped[SKIP_PULL_FAILED], t.skipped[SKIP_PUSH_FAILED], t.desynced, t.not_http,
		 t.conn_overflows);
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
			return finish_interval(c);
		}
		if (reopen_signal) {
			reopen_signal = 0;
			reopen_outputs(c);
		}
		if (rc == EINTR)
			continue;
		err = finish_interval(c);
		if (err)
			return err;
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
	const struct signals_available *av = kernel_signals__available(c->signals);
	char signals[64];
	struct operators_opts oo = {
		.metrics_addr = c->opt.metrics_addr,
		.cgroup_csv = c->opt.cgroup_csv,
		.cgroup_mount = c->cgroup.mount,
		.max_cgroups = c->opt.metrics_max_cgroups,
		.max_processes = c->opt.metrics_max_processes,
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

	if (c->opt.energy_source) {
		const char *why;

		if (config_check_energy_source(spec, &why)) {
			log_error("--energy-source: \"%s\" %s", spec, why);
			return -EINVAL;
		}
	}
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

	if (parse_options(argc, argv, &c.opt))
		return 2;
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
	so.cgroup_id = c.cgroup.id;
	so.cgroup_level = c.cgroup.level;
	so.max_procs = c.opt.max_procs;
	so.track_requests = !c.opt.no_requests;
	so.max_conns = c.opt.max_conns;
	err = kernel_signals__open(&so, &c.signals);
	if (err)
		goto cleanup;
	err = open_operators(&c);
	if (err)
		goto cleanup;
	/* The first interval starts at the signals' start: read the energy there too. */
	if (c.energy) {
		err = energy_source__read(c.energy, &c.last_energy_uj, &t_ns);
		if (err)
			goto cleanup;
	}
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
	err = run_sampler(&c);
cleanup:
	report_requests(&c);
	request_tracking__detach(c.requests);
	if (c.operators && c.opt.cgroup_csv)
		log_info("wrote %" PRIu64 " cgroup rows to %s", operators__csv_rows(c.operators),
			 c.opt.cgroup_csv);
	operators__close(c.operators);
	kernel_signals__close(c.signals);
	free(c.proc_uj);
	free(c.scratch);
	if (c.csv)
		log_info("wrote %" PRIu64 " interval rows to %s", interval_csv__rows(c.csv),
			 c.opt.csv_path);
	interval_csv__close(c.csv);
	energy_source__close(c.energy);
	return err ? 1 : 0;
}
