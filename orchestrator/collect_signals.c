// SPDX-License-Identifier: MIT
/*
 * collect_signals: one labelled data-collection run. Creates the cgroup, starts
 * workload_server inside it, starts http_energy collecting a CSV, waits until both are
 * ready, runs bench_http, then stops everything in order and removes the cgroup. On any
 * failure, SIGINT or SIGTERM every child is still stopped and the cgroup removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup2.h"
#include "child_proc.h"
#include "log.h"
#include "options.h"
#include "parse.h"
#include "version.h"

#define MAX_PATHS 64
#define READY_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 10000

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct options {
	const char *cgroup;
	const char *output_csv;
	const char *benchmark_json;
	const char *run_dir; /* logs and the server's data directory */
	const char *config;
	const char *label;
	const char *energy_source;
	const char *profile;
	const char *mix_file;
	const char *bin_dir;
	const char *status_json;
	const char *request_log; /* issue 13: passed to http_energy */
	const char *paths[MAX_PATHS];
	size_t num_paths;
	uint64_t workload_port;
	uint64_t duration_s;
	uint64_t concurrency;
	uint64_t warmup_s;
	uint64_t server_threads;
	bool use_workload_server;
	bool progress; /* force progress lines even without a terminal */
};

struct run {
	struct options opt;
	char bin_dir[PATH_MAX];
	char cgroup[PATH_MAX];
	bool made_cgroup;
	char server_log[PATH_MAX];
	char collector_log[PATH_MAX];
	char bench_log[PATH_MAX];
	char data_dir[PATH_MAX];
	unsigned int port;
	struct child_proc server, collector, bench;
	int server_code, collector_code, bench_code;
	char failure[512]; /* the one-line error, empty on success */
	char start_utc[32], end_utc[32];
	bool interrupted;
};

static enum opts_result parse_args(int argc, char **argv, struct options *o)
{
	const struct opt table[] = {
		OPT_STRING("cgroup", "DIR", "cgroup to run the server in (created; removed if created)",
			   &o->cgroup, .flags = OPT_REQUIRED),
		OPT_FLAG("use-workload-server",
			 "start build/bin/workload_server (the only server for now)",
			 &o->use_workload_server, .flags = OPT_REQUIRED),
		OPT_UINT("workload-port", "N", "its port; 0 picks a free one (default 0)",
			 &o->workload_port, 0, 65535),
		OPT_STRING("output-csv", "FILE", "http_energy's interval CSV", &o->output_csv,
			   .flags = OPT_REQUIRED),
		OPT_STRING("benchmark-json", "FILE", "bench_http's JSON report", &o->benchmark_json,
			   .flags = OPT_REQUIRED),
		OPT_UINT("duration", "SEC", "measured load duration", &o->duration_s, 1, 86400,
			 .flags = OPT_REQUIRED),
		OPT_UINT("concurrency", "N", "bench_http connections", &o->concurrency, 1, 10000,
			 .flags = OPT_REQUIRED),
		OPT_LIST("path", "P", "request P (repeatable); default: --profile", o->paths,
			 MAX_PATHS, &o->num_paths),
		OPT_STRING("profile", "NAME", "bench_http built-in mix (default mixed)",
			   &o->profile),
		OPT_STRING("mix-file", "FILE", "bench_http JSON mix", &o->mix_file),
		OPT_UINT("warmup", "SEC", "bench_http warm-up (default 0)", &o->warmup_s, 0, 3600),
		OPT_STRING("config", "FILE", "http_energy config (default: its built-in defaults)",
			   &o->config),
		OPT_STRING("energy-source", "SRC", "overrides the config's energy_source",
			   &o->energy_source),
		OPT_STRING("label", "L", "the CSV label column (default default)", &o->label),
		OPT_STRING("run-dir", "DIR",
			   "where server.log, collector.log, bench.log go (default: the CSV's "
			   "directory)",
			   &o->run_dir),
		OPT_UINT("server-threads", "N", "workload_server threads (default 64)",
			 &o->server_threads, 1, 4096),
		OPT_STRING("status-json", "FILE", "write options, times and exit statuses as JSON",
			   &o->status_json),
		OPT_STRING("request-log", "FILE",
			   "http_energy's request records (docs/csv-format.md)", &o->request_log),
		OPT_STRING("bin-dir", "DIR", "where the programs are (default: this program's dir)",
			   &o->bin_dir),
		OPT_FLAG("progress", "progress lines even when stdout is not a terminal",
			 &o->progress),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "collect_signals",
		.synopsis = "--cgroup DIR --use-workload-server --workload-port N\n"
			    "         --output-csv FILE --benchmark-json FILE --duration SEC "
			    "--concurrency N\n         [options]",
		.about = "One data-collection run: creates the cgroup (under the cgroup2 mount when "
			 "DIR is\nrelative), starts workload_server in it, http_energy collecting "
			 "FILE, waits until\nboth are ready, runs bench_http, stops everything and "
			 "removes the cgroup.",
		.footer = "Exit status: 0 success, 1 a step failed or the run was interrupted, 2 "
			  "usage.",
		.opts = table,
	};
	enum opts_result r;
	int first;

	o->server_threads = 64;
	o->label = "default";
	r = opts_parse(&spec, argc, argv, &first);
	if (r != OPTS_RUN)
		return r;
	if (o->label[0] == '\0' || strpbrk(o->label, ",\"\n\r"))
		return opts_error("--label", o->label,
				  "must be non-empty without commas, quotes or newlines");
	if ((o->profile != NULL) + (o->mix_file != NULL) + (o->num_paths > 0) > 1) {
		log_error("--profile, --mix-file and --path exclude each other (see --help)");
		return OPTS_USAGE;
	}
	return OPTS_RUN;
}

static void fail(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->failure, sizeof(r->failure), fmt, ap);
	va_end(ap);
}

static void utc_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* True when the file contains needle (files here are logs of a few KiB). */
static bool file_has(const char *path, const char *needle, char *line, size_t line_len)
{
	char buf[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (fgets(buf, sizeof(buf), f)) {
		if (strstr(buf, needle)) {
			found = true;
			if (line) {
				snprintf(line, line_len, "%s", buf);
				line[strcspn(line, "\n")] = '\0';
			}
			break;
		}
	}
	fclose(f);
	return found;
}

/* The last non-empty line of a log, for error messages. */
static void last_line(const char *path, char *out, size_t len)
{
	char buf[1024];
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0])
			snprintf(out, len, "%s", buf);
	}
	fclose(f);
}

/* Data rows (lines after the header) and the sum of the "requests" column. */
static void csv_progress(const char *path, uint64_t *rows, uint64_t *requests)
{
	char buf[4096];
	int req_col = -1;
	FILE *f = fopen(path, "r");

	*rows = 0;
	*requests = 0;
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		char *save = NULL, *tok;
		int col = 0;

		if (buf[strlen(buf) - 1] != '\n')
			break; /* a row still being written, or a longer line: stop here */
		buf[strcspn(buf, "\n")] = '\0';
		if (req_col < 0) {
			for (tok = strtok_r(buf, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save), col++)
				if (!strcmp(tok, "requests"))
					req_col = col;
			if (req_col < 0)
				break;
			continue;
		}
		(*rows)++;
		/* strsep keeps empty cells, which strtok would skip. */
		for (char *p = buf; (tok = strsep(&p, ",")); col++) {
			uint64_t v;

			if (col == req_col) {
				if (!parse_u64(tok, 0, UINT64_MAX, &v))
					*requests += v;
				break;
			}
		}
	}
	fclose(f);
}

/* GET /healthz on 127.0.0.1:port; true on a 200 status line. */
static bool health_ok(unsigned int port)
{
	static const char req[] =
		"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { 1, 0 };
	char buf[64];
	ssize_t n;
	size_t got = 0;
	bool ok = false;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto cleanup;
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		goto cleanup;
	while (got < 12 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	ok = got >= 12 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 8, " 200", 4);
cleanup:
	close(fd);
	return ok;
}

static int path_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		log_error("%s/%s: path too long", dir, name);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int setup_paths(struct run *r)
{
	const struct options *o = &r->opt;
	char mount[PATH_MAX], tmp[PATH_MAX];
	char *slash;
	int err;

	if (o->bin_dir) {
		snprintf(r->bin_dir, sizeof(r->bin_dir), "%s", o->bin_dir);
	} else {
		ssize_t n = readlink("/proc/self/exe", r->bin_dir, sizeof(r->bin_dir) - 1);

		if (n < 0) {
			log_error("/proc/self/exe: %s", strerror(errno));
			return -errno;
		}
		r->bin_dir[n] = '\0';
		slash = strrchr(r->bin_dir, '/');
		if (slash)
			*slash = '\0';
	}
	if (o->run_dir) {
		snprintf(tmp, sizeof(tmp), "%s", o->run_dir);
	} else {
		snprintf(tmp, sizeof(tmp), "%s", o->output_csv);
		slash = strrchr(tmp, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(tmp, sizeof(tmp), ".");
	}
	err = path_join(r->server_log, sizeof(r->server_log), tmp, "server.log");
	err = err ?: path_join(r->collector_log, sizeof(r->collector_log), tmp, "collector.log");
	err = err ?: path_join(r->bench_log, sizeof(r->bench_log), tmp, "bench.log");
	err = err ?: path_join(r->data_dir, sizeof(r->data_dir), tmp, "server-data");
	if (err)
		return err;
	if (o->cgroup[0] == '/') {
		snprintf(r->cgroup, sizeof(r->cgroup), "%s", o->cgroup);
		return 0;
	}
	err = cgroup2_find_mount(mount, sizeof(mount));
	if (err) {
		log_error("cgroup2: no cgroup2 mount in /proc/self/mountinfo");
		return err;
	}
	return path_join(r->cgroup, sizeof(r->cgroup), mount, o->cgroup);
}

static int make_cgroup(struct run *r)
{
	struct cgroup2_info info;

	if (mkdir(r->cgroup, 0755) == 0) {
		r->made_cgroup = true;
	} else if (errno != EEXIST) {
		log_error("cgroup %s: cannot create: %s", r->cgroup, strerror(errno));
		return -errno;
	}
	/* Refuses (with its own message) directories that are not on cgroup2. */
	return cgroup2_resolve(r->cgroup, &info);
}

/* Moves any process left in the cgroup to its parent, then removes the directory. */
static void remove_cgroup(struct run *r)
{
	char procs[PATH_MAX + 16], parent[PATH_MAX + 16], line[32];
	FILE *f;
	int tries;

	if (!r->made_cgroup)
		return;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", r->cgroup);
	snprintf(parent, sizeof(parent), "%s/../cgroup.procs", r->cgroup);
	for (tries = 0; tries < 50; tries++) {
		if (rmdir(r->cgroup) == 0 || errno == ENOENT)
			return;
		f = fopen(procs, "r");
		while (f && fgets(line, sizeof(line), f)) {
			FILE *p = fopen(parent, "w");

			if (p) {
				fputs(line, p);
				fclose(p);
			}
		}
		if (f)
			fclose(f);
		sleep_ms(20);
	}
	log_error("cgroup %s: cannot remove: %s", r->cgroup, strerror(errno));
	fail(r, "cgroup %s could not be removed", r->cgroup);
}

static int start_server(struct run *r)
{
	char bin[PATH_MAX + 32], port[16], threads[24];
	char *argv[] = {
		bin, "--port", port, "--threads", threads, "--data-dir", r->data_dir, NULL
	};
	char line[1024], *colon;
	uint64_t deadline = now_ms() + READY_TIMEOUT_MS, v;

	snprintf(bin, sizeof(bin), "%s/workload_server", r->bin_dir);
	snprintf(port, sizeof(port), "%u", (unsigned int)r->opt.workload_port);
	snprintf(threads, sizeof(threads), "%u", (unsigned int)r->opt.server_threads);
	r->server.name = "workload_server";
	if (child_proc__start(&r->server, argv, r->server_log, r->cgroup))
		return fail(r, "workload_server did not start"), -1;
	while (!file_has(r->server_log, "listening on", line, sizeof(line))) {
		if (stop_signal)
			return -EINTR;
		if (child_proc__exited(&r->server)) {
			last_line(r->server_log, line, sizeof(line));
			fail(r, "workload_server exited with status %d before listening: %s",
			     child_proc__code(&r->server), line);
			return -1;
		}
		if (now_ms() > deadline)
			return fail(r, "workload_server: not listening after %d s",
				    READY_TIMEOUT_MS / 1000),
			       -1;
		sleep_ms(20);
	}
	/* "... listening on ADDR:PORT (...)": the port is after the last colon before " (". */
	if (strstr(line, " ("))
		*strstr(line, " (") = '\0';
	colon = strrchr(line, ':');
	if (!colon || parse_u64(colon + 1, 1, 65535, &v))
		return fail(r, "workload_server: no port in \"%s\"", line), -1;
	r->port = (unsigned int)v;
	while (!health_ok(r->port)) {
		if (stop_signal)
			return -EINTR;
		if (child_proc__exited(&r->server) || now_ms() > deadline)
			return fail(r,
				    "workload_server: GET /healthz on port %u never answered 200",
				    r->port),
			       -1;
		sleep_ms(20);
	}
	log_info("workload_server: pid %d in cgroup %s, healthy on 127.0.0.1:%u",
		 (int)r->server.pid, r->cgroup, r->port);
	return 0;
}

/*
 * Reads http_energy's --ready-fd pipe without blocking: 1 when "ready" arrived, 0 for not
 * yet, -1 at end of file (the collector closed it without being ready: it is exiting).
 */
static int ready_from_pipe(int fd, char *buf, size_t *len, size_t cap)
{
	for (;;) {
		ssize_t got = read(fd, buf + *len, cap - 1 - *len);

		if (got > 0) {
			*len += (size_t)got;
			buf[*len] = '\0';
			if (strstr(buf, "ready\n"))
				return 1;
			if (*len >= cap - 1)
				return -1;
			continue;
		}
		if (got == 0)
			return -1;
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	}
}

static int start_collector(struct run *r)
{
	const struct options *o = &r->opt;
	char bin[PATH_MAX + 32], line[1024], fd_arg[16], ready_buf[64];
	char *argv[20];
	int n = 0, pipe_fd[2], ready = 0, err;
	size_t ready_len = 0;
	uint64_t deadline = now_ms() + READY_TIMEOUT_MS, rows, reqs;

	snprintf(bin, sizeof(bin), "%s/http_energy", r->bin_dir);
	argv[n++] = bin;
	argv[n++] = "--collect-csv";
	argv[n++] = (char *)o->output_csv;
	argv[n++] = "--collect-label";
	argv[n++] = (char *)o->label;
	if (o->energy_source) {
		argv[n++] = "--energy-source";
		argv[n++] = (char *)o->energy_source;
	}
	if (o->request_log) {
		argv[n++] = "--request-log";
		argv[n++] = (char *)o->request_log;
	}
	/*
	 * Ready: http_energy says so on --ready-fd (a pipe whose write end only it holds)
	 * once everything is attached, request tracking included. Its log wording is not
	 * relied on.
	 */
	if (pipe2(pipe_fd, O_CLOEXEC)) {
		err = errno;
		return fail(r, "pipe for http_energy --ready-fd: %s", strerror(err)), -1;
	}
	fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK);
	fcntl(pipe_fd[1], F_SETFD, 0); /* inherited by http_energy across exec */
	snprintf(fd_arg, sizeof(fd_arg), "%d", pipe_fd[1]);
	argv[n++] = "--ready-fd";
	argv[n++] = fd_arg;
	argv[n++] = r->cgroup;
	if (o->config)
		argv[n++] = (char *)o->config;
	argv[n] = NULL;
	r->collector.name = "http_energy";
	err = child_proc__start(&r->collector, argv, r->collector_log, NULL);
	close(pipe_fd[1]); /* now only http_energy holds it: its exit gives end of file */
	if (err) {
		close(pipe_fd[0]);
		return fail(r, "http_energy did not start"), -1;
	}
	log_info("http_energy: pid %d started; waiting until it is ready",
		 (int)r->collector.pid);
	for (;;) {
		ready = ready_from_pipe(pipe_fd[0], ready_buf, &ready_len, sizeof(ready_buf));
		if (ready == 1)
			break;
		if (stop_signal) {
			close(pipe_fd[0]);
			return -EINTR;
		}
		if (ready < 0 || child_proc__exited(&r->collector)) {
			/* end of file: it is exiting; give it a moment to be reaped */
			for (int i = 0; i < 100 && !child_proc__exited(&r->collector); i++)
				sleep_ms(20);
		}
		if (child_proc__exited(&r->collector)) {
			close(pipe_fd[0]);
			last_line(r->collector_log, line, sizeof(line));
			fail(r, "http_energy exited with status %d before it was ready: %s",
			     child_proc__code(&r->collector), line);
			return -1;
		}
		if (ready < 0 || now_ms() > deadline) {
			close(pipe_fd[0]);
			return fail(r, "http_energy: not ready after %d s (see %s)",
				    (int)((now_ms() + READY_TIMEOUT_MS - deadline) / 1000),
				    r->collector_log),
			       -1;
		}
		sleep_ms(20);
	}
	close(pipe_fd[0]);
	csv_progress(o->output_csv, &rows, &reqs);
	if (!file_has(r->collector_log, "energy source ", line, sizeof(line)))
		snprintf(line, sizeof(line), "energy source unknown");
	log_info("http_energy: pid %d ready (%" PRIu64 " interval rows so far); %s",
		 (int)r->collector.pid, rows, strstr(line, "energy source "));
	return 0;
}

static int start_bench(struct run *r)
{
	const struct options *o = &r->opt;
	char bin[PATH_MAX + 32], url[64], dur[24], conc[24], warm[24];
	char *argv[16 + 2 * MAX_PATHS];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/bench_http", r->bin_dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", r->port);
	snprintf(dur, sizeof(dur), "%u", (unsigned int)o->duration_s);
	snprintf(conc, sizeof(conc), "%u", (unsigned int)o->concurrency);
	snprintf(warm, sizeof(warm), "%u", (unsigned int)o->warmup_s);
	argv[n++] = bin;
	argv[n++] = "--url";
	argv[n++] = url;
	argv[n++] = "--duration";
	argv[n++] = dur;
	argv[n++] = "--concurrency";
	argv[n++] = conc;
	argv[n++] = "--warmup";
	argv[n++] = warm;
	argv[n++] = "--json";
	argv[n++] = (char *)o->benchmark_json;
	if (o->mix_file) {
		argv[n++] = "--mix-file";
		argv[n++] = (char *)o->mix_file;
	} else if (o->num_paths) {
		for (size_t i = 0; i < o->num_paths; i++) {
			argv[n++] = "--path";
			argv[n++] = (char *)o->paths[i];
		}
	} else {
		argv[n++] = "--profile";
		argv[n++] = (char *)(o->profile ? o->profile : "mixed");
	}
	argv[n] = NULL;
	r->bench.name = "bench_http";
	if (child_proc__start(&r->bench, argv, r->bench_log, NULL))
		return fail(r, "bench_http did not start"), -1;
	log_info("bench_http: pid %d: %us of load at %u connections (output in %s)",
		 (int)r->bench.pid, (unsigned int)o->duration_s, (unsigned int)o->concurrency,
		 r->bench_log);
	return 0;
}

/* Waits for bench_http, printing progress; stops early on a signal or a dead child. */
static int wait_bench(struct run *r)
{
	const struct options *o = &r->opt;
	bool tty = isatty(STDOUT_FILENO);
	uint64_t start = now_ms(), total_ms = (o->duration_s + o->warmup_s) * 1000, rows, reqs;
	uint64_t next_print = start + (tty ? 1000 : 5000);
	char line[1024];

	while (!child_proc__exited(&r->bench)) {
		if (stop_signal)
			return -EINTR;
		if (child_proc__exited(&r->collector)) {
			last_line(r->collector_log, line, sizeof(line));
			return fail(r, "http_energy exited with status %d during the run: %s",
				    child_proc__code(&r->collector), line),
			       -1;
		}
		if (child_proc__exited(&r->server)) {
			last_line(r->server_log, line, sizeof(line));
			return fail(r, "workload_server exited with status %d during the run: %s",
				    child_proc__code(&r->server), line),
			       -1;
		}
		if ((tty || o->progress) && now_ms() >= next_print) {
			uint64_t el = (now_ms() - start) / 1000;

			csv_progress(o->output_csv, &rows, &reqs);
			printf("%scollect_signals: %" PRIu64 "s elapsed, %" PRIu64
			       "s remaining, %" PRIu64 " intervals written, %" PRIu64
			       " requests tracked%s",
			       tty ? "\r" : "", el, el * 1000 < total_ms ? total_ms / 1000 - el : 0,
			       rows, reqs, tty ? "   " : "\n");
			fflush(stdout);
			next_print += tty ? 1000 : 5000;
		}
		sleep_ms(50);
	}
	if (tty)
		printf("\n");
	r->bench_code = child_proc__code(&r->bench);
	if (r->bench_code != 0) {
		last_line(r->bench_log, line, sizeof(line));
		return fail(r, "bench_http exited with status %d: %s", r->bench_code, line), -1;
	}
	return 0;
}

static int write_status(const struct run *r)
{
	const struct options *o = &r->opt;
	json_t *root = json_object(), *opts = json_object(), *codes = json_object();
	json_t *paths = json_array();
	int err = 0;

	for (size_t i = 0; i < o->num_paths; i++)
		json_array_append_new(paths, json_string(o->paths[i]));
	json_object_set_new(opts, "cgroup", json_string(r->cgroup));
	json_object_set_new(opts, "duration_s", json_integer((json_int_t)o->duration_s));
	json_object_set_new(opts, "warmup_s", json_integer((json_int_t)o->warmup_s));
	json_object_set_new(opts, "concurrency", json_integer((json_int_t)o->concurrency));
	json_object_set_new(opts, "profile", o->profile ? json_string(o->profile) : json_null());
	json_object_set_new(opts, "mix_file", o->mix_file ? json_string(o->mix_file) : json_null());
	json_object_set_new(opts, "paths", paths);
	json_object_set_new(opts, "config", o->config ? json_string(o->config) : json_null());
	json_object_set_new(opts, "request_log",
			    o->request_log ? json_string(o->request_log) : json_null());
	json_object_set_new(opts, "energy_source",
			    o->energy_source ? json_string(o->energy_source) : json_null());
	json_object_set_new(opts, "label", json_string(o->label));
	json_object_set_new(opts, "server_threads", json_integer((json_int_t)o->server_threads));
	json_object_set_new(root, "options", opts);
	json_object_set_new(root, "version", json_string(HTTP_ENERGY_VERSION));
	json_object_set_new(root, "start_utc", json_string(r->start_utc));
	json_object_set_new(root, "end_utc", json_string(r->end_utc));
	json_object_set_new(root, "workload_port", json_integer(r->port));
	json_object_set_new(codes, "workload_server", json_integer(r->server_code));
	json_object_set_new(codes, "http_energy", json_integer(r->collector_code));
	json_object_set_new(codes, "bench_http", json_integer(r->bench_code));
	json_object_set_new(root, "exit_status", codes);
	json_object_set_new(root, "interrupted", json_boolean(r->interrupted));
	json_object_set_new(root, "error", r->failure[0] ? json_string(r->failure) : json_null());
	if (json_dump_file(root, o->status_json, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		log_error("%s: cannot write: %s", o->status_json, strerror(errno));
		err = -EIO;
	}
	json_decref(root);
	return err;
}

int main(int argc, char **argv)
{
	struct run r = { .server_code = -1, .collector_code = -1, .bench_code = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	enum opts_result parsed;
	int ret;

	parsed = parse_args(argc, argv, &r.opt);
	if (parsed != OPTS_RUN)
		return opts_exit_status(parsed);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	utc_now(r.start_utc, sizeof(r.start_utc));
	if (setup_paths(&r) || make_cgroup(&r)) {
		fail(&r, "set-up failed");
		goto cleanup;
	}
	if (start_server(&r) || start_collector(&r) || start_bench(&r) || wait_bench(&r))
		goto cleanup;
cleanup:
	/* In order: the load, the collector (it writes its last row), the server. */
	if (r.bench.pid > 0)
		r.bench_code = child_proc__stop(&r.bench, STOP_TIMEOUT_MS);
	if (r.collector.pid > 0 || r.collector.reaped)
		r.collector_code = child_proc__stop(&r.collector, STOP_TIMEOUT_MS);
	if (r.server.pid > 0 || r.server.reaped)
		r.server_code = child_proc__stop(&r.server, STOP_TIMEOUT_MS);
	remove_cgroup(&r);
	if (stop_signal) {
		r.interrupted = true;
		fail(&r, "interrupted by %s; every child stopped", strsignal(stop_signal));
	}
	if (!r.failure[0] && r.collector_code != 0)
		fail(&r, "http_energy exited with status %d: see %s", r.collector_code,
		     r.collector_log);
	if (!r.failure[0] && r.server_code != 0)
		fail(&r, "workload_server exited with status %d: see %s", r.server_code,
		     r.server_log);
	utc_now(r.end_utc, sizeof(r.end_utc));
	ret = r.failure[0] ? 1 : 0;
	if (r.opt.status_json && write_status(&r))
		ret = 1;
	if (r.failure[0])
		log_error("%s", r.failure);
	else
		log_info("done: %s and %s written; exit statuses: bench_http %d, http_energy %d, "
			 "workload_server %d",
			 r.opt.output_csv, r.opt.benchmark_json, r.bench_code, r.collector_code,
			 r.server_code);
	return ret;
}
