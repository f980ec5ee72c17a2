// SPDX-License-Identifier: MIT
/*
 * bench_http: the experiment load generator (docs/bench_http.md).
 *
 * main() parses the options, builds the mix and the request bytes, checks that the
 * server answers a connect, starts one worker thread per event loop, waits for the end
 * of the run or a signal, merges what the threads measured and reports it.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mix.h"
#include "options.h"
#include "parse.h"
#include "report.h"
#include "request.h"
#include "stats.h"
#include "url.h"
#include "worker.h"

#define MAX_THREADS 256
#define MAX_CONCURRENCY 100000
#define MAX_DURATION_S 604800.0 /* a week */
#define MAX_TIMEOUT_S 3600.0
#define MAX_RATE 1e8
/* File descriptors besides the connections: stdio, epoll, eventfd, the JSON file... */
#define SPARE_FDS 64

struct options {
	const char *url;
	const char *paths[MIX_MAX_ENTRIES];
	size_t n_paths;
	const char *profile;
	const char *mix_file;
	uint64_t body_kb;
	bool body_kb_set;
	double duration_s; /* 0: not given */
	uint64_t concurrency; /* 0: not given */
	uint64_t threads; /* 0: one per CPU, at most one per connection */
	double rate; /* 0: closed loop */
	double warmup_s;
	uint64_t seed;
	double timeout_s;
	const char *json;
	bool verbose;
};

/* The usage names the built-in profiles, which mix.c owns: the help text is built here. */
static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	char profile_help[256];
	const struct opt table[] = {
		OPT_STRING("url", "URL", "http://HOST[:PORT][/BASE]; HOST a name, IPv4 or [IPv6]",
			   &o->url, .flags = OPT_REQUIRED),
		OPT_DOUBLE("duration", "SEC", "how long to measure (after the warm-up)",
			   &o->duration_s, 0.001, MAX_DURATION_S, .flags = OPT_REQUIRED),
		OPT_UINT("concurrency", "N", "keep-alive connections in total", &o->concurrency, 1,
			 MAX_CONCURRENCY, .flags = OPT_REQUIRED),
		OPT_UINT("threads", "N", "event-loop threads (default: CPUs, at most N conns)",
			 &o->threads, 1, MAX_THREADS),
		OPT_STRING("profile", "NAME", profile_help, &o->profile),
		OPT_LIST("path", "P",
			 "request P, repeatable, equal weights; P is TARGET (GET) or 'METHOD "
			 "TARGET', e.g. 'POST /post?kb=16'",
			 o->paths, MIX_MAX_ENTRIES, &o->n_paths),
		OPT_UINT("body-kb", "N", "body size in KiB of --path requests other than GET/HEAD",
			 &o->body_kb, 0, MIX_MAX_BODY_KB, .seen = &o->body_kb_set),
		OPT_STRING("mix-file", "FILE",
			   "JSON mix: [{\"path\":\"/cpu?iters=20000\",\"weight\":3}, "
			   "{\"method\":\"POST\",\"path\":\"/post?kb=64\",\"body_kb\":64}]",
			   &o->mix_file),
		OPT_DOUBLE("rate", "R",
			   "open loop: R requests/s in total, latency measured from each request's "
			   "scheduled time (default: closed loop)",
			   &o->rate, 0.001, MAX_RATE),
		OPT_DOUBLE("warmup", "SEC", "run this long first without counting (default 0)",
			   &o->warmup_s, 0, MAX_DURATION_S),
		OPT_SEED("seed of the per-connection request choice", &o->seed),
		OPT_DOUBLE("timeout", "SEC", "per connect and per request (default 10)",
			   &o->timeout_s, 0.001, MAX_TIMEOUT_S),
		OPT_STRING("json", "FILE",
			   "write options, totals, per-endpoint stats, errors, percentiles and "
			   "start/end times as JSON",
			   &o->json),
		OPT_FLAG("verbose", "more messages on stderr", &o->verbose),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "bench_http",
		.synopsis = "--url URL --duration SEC --concurrency N [options]",
		.about = "HTTP/1.1 load generator for energy experiments. Sends a weighted mix of\n"
			 "requests over keep-alive connections and reports throughput, latency\n"
			 "percentiles, errors by kind and the X-Energy-Score header, overall and\n"
			 "per endpoint.",
		.footer = "Exit status: 0 success, 1 server unreachable, every request failed or "
			  "another\nruntime error, 2 usage error. SIGINT/SIGTERM end the run early "
			  "and report what\nwas measured so far.",
		.opts = table,
	};
	enum opts_result r;
	int first;

	snprintf(profile_help, sizeof(profile_help), "built-in mix: %s (default mixed)",
		 mix_profile_names());
	memset(o, 0, sizeof(*o));
	o->seed = OPTS_SEED_DEFAULT;
	o->timeout_s = 10;
	r = opts_parse(&spec, argc, argv, &first);
	if (r != OPTS_RUN)
		return r;
	log_set_verbose(o->verbose);
	if ((o->n_paths > 0) + !!o->profile + !!o->mix_file > 1) {
		log_error("--path, --profile and --mix-file: choose one (see --help)");
		return OPTS_USAGE;
	}
	if (o->body_kb_set && o->n_paths == 0) {
		log_error("--body-kb: only for --path requests (see --help)");
		return OPTS_USAGE;
	}
	if (o->threads > o->concurrency) {
		log_error("--threads: %lu is more than --concurrency %lu (see --help)",
			  (unsigned long)o->threads, (unsigned long)o->concurrency);
		return OPTS_USAGE;
	}
	if (o->threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		o->threads = cpus > 0 ? (uint64_t)cpus : 1;
		if (o->threads > o->concurrency)
			o->threads = o->concurrency;
		if (o->threads > MAX_THREADS)
			o->threads = MAX_THREADS;
	}
	return OPTS_RUN;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void format_address(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Connects once to each address of the host until one answers; returns 0 or -errno. */
static int probe(const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int err = 0;

	pfd.fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pfd.fd < 0)
		return -errno;
	if (connect(pfd.fd, sa, len) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto cleanup;
		}
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			err = -ETIMEDOUT;
			goto cleanup;
		}
		if (getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		err = -err;
	}
cleanup:
	close(pfd.fd);
	return err;
}

static int find_server(const struct options *o, const struct url *u, struct sockaddr_storage *addr,
		       socklen_t *addrlen, char *text, size_t text_size)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	double t = o->timeout_s < 5 ? o->timeout_s : 5;
	int rc, err = -EHOSTUNREACH;

	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc) {
		log_error("%s: cannot resolve %s: %s", o->url, u->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		format_address(ai->ai_addr, ai->ai_addrlen, text, text_size);
		err = probe(ai->ai_addr, ai->ai_addrlen, (int)(t * 1000) + 1);
		if (err == 0) {
			memcpy(addr, ai->ai_addr, ai->ai_addrlen);
			*addrlen = ai->ai_addrlen;
			break;
		}
		log_debug("%s: connect to %s: %s", o->url, text, strerror(-err));
	}
	if (err)
		log_error("%s: cannot connect to %s: %s", o->url, text, strerror(-err));
	freeaddrinfo(res);
	return err;
}

/* Every connection is a file descriptor: raise the soft limit if it is too low. */
static int ensure_fd_limit(uint64_t concurrency)
{
	uint64_t need = concurrency + SPARE_FDS;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		log_error("--concurrency: %lu connections need %lu file descriptors; the limit is "
			  "%lu (ulimit -Hn)",
			  (unsigned long)concurrency, (unsigned long)need,
			  (unsigned long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_error("setrlimit(RLIMIT_NOFILE, %lu): %s", (unsigned long)need,
			  strerror(errno));
		return -errno;
	}
	log_info("raised the open-file limit to %lu for %lu connections", (unsigned long)need,
		 (unsigned long)concurrency);
	return 0;
}

/* Sleeps until end_ns or a signal in set; returns the signal or 0. */
static int wait_for_end(const sigset_t *set, uint64_t end_ns)
{
	for (;;) {
		uint64_t now = mono_ns(), left;
		struct timespec ts;
		int sig;

		if (now >= end_ns)
			return 0;
		left = end_ns - now;
		ts.tv_sec = (time_t)(left / 1000000000ull);
		ts.tv_nsec = (long)(left % 1000000000ull);
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0)
			return sig;
	}
}

/* Peak resident set of this process (VmHWM), in KiB; 0 when /proc does not say. */
static uint64_t peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + 6, *end;

		if (strncmp(line, "VmHWM:", 6) != 0)
			continue;
		v += strspn(v, " \t");
		end = v + strcspn(v, " \t\n");
		if (parse_u64_n(v, (size_t)(end - v), 0, UINT64_MAX, &kib))
			kib = 0;
		break;
	}
	fclose(f);
	return kib;
}

static void describe_failure(const struct bench_stats *s, double measured_s)
{
	char kinds[256] = "";
	size_t n = 0;

	for (int k = 0; k < BENCH_ERR__COUNT; k++) {
		uint64_t c = bench_stats__errors(s, (enum bench_error)k);

		if (c && n < sizeof(kinds))
			n += (size_t)snprintf(kinds + n, sizeof(kinds) - n, "%s%s %lu",
					      n ? ", " : "", bench_error_name((enum bench_error)k),
					      (unsigned long)c);
	}
	if (bench_stats__all_errors(s))
		log_error("every request failed: %s", kinds);
	else
		log_error("no response completed in the %.2f s measured", measured_s);
}

int main(int argc, char **argv)
{
	struct options o;
	struct url u;
	struct mix *mix = NULL;
	struct request_set *requests = NULL;
	struct worker **workers = NULL;
	struct bench_stats *total = NULL;
	struct bench_run run = { 0 };
	struct worker_config wc = { 0 };
	char address[NI_MAXHOST + NI_MAXSERV + 4], mix_source[PATH_MAX + 32];
	FILE *json = NULL;
	sigset_t sigs;
	int wake_fd = -1, rc = 1, err, sig;
	enum opts_result r;
	uint64_t conn_base = 0;
	unsigned started = 0;

	r = parse_options(argc, argv, &o);
	if (r != OPTS_RUN)
		return opts_exit_status(r);
	if (url_parse(o.url, &u))
		return 2;
	if (o.mix_file) {
		if (mix__from_file(o.mix_file, &mix))
			return 1;
		snprintf(mix_source, sizeof(mix_source), "mix file %s", o.mix_file);
	} else if (o.n_paths) {
		if (mix__from_paths(o.paths, o.n_paths, o.body_kb, &mix))
			return 2;
		snprintf(mix_source, sizeof(mix_source), "--path (%zu)", o.n_paths);
	} else {
		if (mix__from_profile(o.profile ? o.profile : "mixed", &mix))
			return 2;
		snprintf(mix_source, sizeof(mix_source), "profile %s",
			 o.profile ? o.profile : "mixed");
	}

	if (o.json) {
		json = fopen(o.json, "w");
		if (!json) {
			log_error("--json: %s: %s", o.json, strerror(errno));
			goto cleanup;
		}
	}
	if (ensure_fd_limit(o.concurrency))
		goto cleanup;
	if (find_server(&o, &u, &wc.addr, &wc.addrlen, address, sizeof(address)))
		goto cleanup;
	requests = request_set__new(mix, &u);
	total = bench_stats__new(mix__size(mix));
	workers = calloc(o.threads, sizeof(*workers));
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!requests || !total || !workers || wake_fd < 0) {
		log_error("start-up: %s", strerror(errno ? errno : ENOMEM));
		goto cleanup;
	}

	/* Signals go to this thread only, through sigtimedwait(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	clock_gettime(CLOCK_REALTIME, &run.start_real);
	run.start_ns = mono_ns();
	run.measure_ns = run.start_ns + (uint64_t)(o.warmup_s * 1e9);
	wc.threads = (unsigned)o.threads;
	wc.seed = o.seed;
	wc.rate = o.rate;
	wc.mix = mix;
	wc.requests = requests;
	wc.start_ns = run.start_ns;
	wc.measure_ns = run.measure_ns;
	wc.end_ns = run.measure_ns + (uint64_t)(o.duration_s * 1e9);
	wc.timeout_ns = (uint64_t)(o.timeout_s * 1e9);
	wc.wake_fd = wake_fd;
	for (unsigned i = 0; i < o.threads; i++) {
		wc.index = i;
		wc.nconns = (unsigned)(o.concurrency / o.threads + (i < o.concurrency % o.threads));
		wc.conn_base = conn_base;
		conn_base += wc.nconns;
		workers[i] = worker__new(&wc);
		if (!workers[i] || (err = worker__start(workers[i])) < 0) {
			log_error("thread %u: %s", i, strerror(workers[i] ? -err : errno));
			break;
		}
		started++;
		log_debug("thread %u: %u connections", i, wc.nconns);
	}

	sig = started == o.threads ? wait_for_end(&sigs, wc.end_ns) : SIGABRT;
	run.stop_ns = sig ? mono_ns() : wc.end_ns;
	if (eventfd_write(wake_fd, 1) < 0)
		log_error("eventfd: %s", strerror(errno));
	if (sig == SIGINT || sig == SIGTERM) {
		run.interrupted = true;
		log_info("%s: stopping; reporting what was measured so far", strsignal(sig));
		/* A second signal ends the program at once. */
		signal(sig, SIG_DFL);
		pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	}
	err = 0;
	for (unsigned i = 0; i < started; i++) {
		int werr = worker__join(workers[i]);

		if (werr)
			err = werr;
		if (bench_stats__merge(total, worker__stats(workers[i])) < 0)
			err = -ENOMEM;
	}
	if (started < o.threads || err)
		goto cleanup;
	if (run.stop_ns > wc.end_ns)
		run.stop_ns = wc.end_ns;

	run.url = o.url;
	run.address = address;
	run.mix_source = mix_source;
	run.mix = mix;
	run.threads = (unsigned)o.threads;
	run.concurrency = (unsigned)o.concurrency;
	run.rate = o.rate;
	run.duration_s = o.duration_s;
	run.warmup_s = o.warmup_s;
	run.timeout_s = o.timeout_s;
	run.seed = o.seed;
	run.stats = total;
	run.peak_rss_kib = peak_rss_kib();
	report_print(stdout, &run);
	fflush(stdout);
	if (json) {
		err = report_write_json(json, &run);
		if (fclose(json) == EOF && !err)
			err = -errno;
		json = NULL;
		if (err) {
			log_error("--json: %s: %s", o.json, strerror(-err));
			goto cleanup;
		}
	}
	if (report_measured_s(&run) == 0) {
		log_error("interrupted during the warm-up: nothing was measured");
		goto cleanup;
	}
	if (bench_stats__ok(total) == 0) {
		describe_failure(total, report_measured_s(&run));
		goto cleanup;
	}
	rc = 0;
cleanup:
	for (unsigned i = 0; workers && i < o.threads; i++)
		worker__free(workers[i]);
	free(workers);
	if (wake_fd >= 0)
		close(wake_fd);
	if (json) {
		/* Opened early to fail before the run, but nothing was written to it. */
		fclose(json);
		unlink(o.json);
	}
	bench_stats__free(total);
	request_set__free(requests);
	mix__free(mix);
	return rc;
}
