// SPDX-License-Identifier: MIT
/*
 * nginx_clock: nginx's own per-request clock (bench/nginx_clock.bpf.c) on the worker
 * processes given, held until SIGINT/SIGTERM (or --duration); then the clock per request
 * class as JSON, in the shape of the other bench servers' GET /self-cpu:
 * {"/one": [requests timed, us, requests not timed, of which softirq us], ...}. A bench tool for
 * bench/attribution_accuracy.sh (issue 13); method and limits in docs/benchmarks.md.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_tool.h"
#include "log.h"
#include "nginx_clock.h"
#include "nginx_clock.skel.h"
#include "options.h"
#include "parse.h"

#define MAX_PIDS 16
#define EXE_MAX 512
#define N_PROBES 3

struct options {
	const char *root;
	const char *json;
	double duration_s;
	int pids[MAX_PIDS];
	size_t n_pids;
};

static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	bool verbose = false;
	const struct opt table[] = {
		OPT_STRING("root", "DIR",
			   "nginx's root: a class is the file's name below DIR (default: the "
			   "whole name)",
			   &o->root),
		OPT_STRING("json", "FILE", "write the JSON to FILE (default: standard output)",
			   &o->json),
		OPT_DOUBLE("duration", "SEC",
			   "stop after SEC seconds (default 0: at SIGINT/SIGTERM)", &o->duration_s,
			   0, 86400),
		OPT_FLAG("verbose", "libbpf's messages", &verbose),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "nginx_clock",
		.synopsis = "[options] PID...",
		.about =
			"nginx's own per-request clock (bench/attribution_accuracy.sh): uprobes on "
			"the nginx\nworker processes PID time each request on its thread from "
			"ngx_http_process_request\nto ngx_http_free_request, less the time the "
			"thread was preempted, and name its\nclass by the file it serves "
			"(ngx_open_cached_file; FILE.gz counts as FILE). A\nrequest whose thread "
			"waited, or that another request interleaved, is not timed.\nAt SIGINT/"
			"SIGTERM (or --duration) it prints, per class, {\"/CLASS\": [requests\n"
			"timed, us, requests not timed, of which softirq us], ...} and, on stderr, "
			"the\nreasons.",
		.footer =
			"Start-up prints 'nginx_clock: attached ...' once every probe is attached.\n"
			"Exit status: 0 ok, 1 BPF refused or other runtime error, 2 usage error.",
		.opts = table,
		.args_name = "PID",
		.min_args = 1,
		.max_args = MAX_PIDS,
	};
	enum opts_result r;
	uint64_t pid;
	int first, i;

	*o = (struct options){ 0 };
	r = opts_parse(&spec, argc, argv, &first);
	if (r != OPTS_RUN)
		return r;
	log_set_verbose(verbose);
	for (i = first; i < argc; i++) {
		if (parse_u64(argv[i], 1, INT_MAX, &pid))
			return opts_error("PID", argv[i], "is not a process id");
		o->pids[o->n_pids++] = (int)pid;
	}
	return OPTS_RUN;
}

/*
 * The class of a key: its name below root (when the name is under it), else the whole
 * name ("..." before a cut tail), without a ".gz" suffix (gzip_static serves FILE.gz for
 * FILE). Writes at most size bytes with the NUL.
 */
static void class_name(const struct nginx_clock_key *k, const char *root, char *out, size_t size)
{
	size_t len = k->len < NGINX_CLOCK_NAME_MAX ? k->len : NGINX_CLOCK_NAME_MAX - 1;
	size_t root_len = root ? strlen(root) : 0;
	const char *name = k->name;
	bool cut = k->full_len > len;

	while (root_len > 1 && root[root_len - 1] == '/')
		root_len--;
	/* the part below root is the name's last full_len - root_len bytes */
	if (root_len && k->full_len > root_len && k->full_len - root_len <= len &&
	    name[len - (k->full_len - root_len)] == '/' &&
	    (cut || strncmp(name, root, root_len) == 0)) {
		name += len - (k->full_len - root_len);
		len = k->full_len - root_len;
		cut = false;
	}
	if (len > 3 && memcmp(name + len - 3, ".gz", 3) == 0)
		len -= 3;
	snprintf(out, size, "%s%.*s", cut ? "..." : "", (int)len, name);
}

/* s as a JSON string body: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f) /* a byte >= 0x80 as its code point: the JSON
						   * stays valid UTF-8 whatever the name's bytes */
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The JSON to f and the reasons to stderr; 0 or a negative errno. */
static int report(struct nginx_clock_bpf *skel, const char *root, FILE *f)
{
	int fd = bpf_map__fd(skel->maps.classes);
	struct nginx_clock_key key, next;
	struct nginx_clock_class c;
	char name[NGINX_CLOCK_NAME_MAX + 8];
	unsigned long long timed = 0, untimed = 0;
	bool first = true;
	void *prev = NULL;
	int err;

	fputc('{', f);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &c))
			continue; /* nothing deletes: cannot happen, but never read garbage */
		class_name(&key, root, name, sizeof(name));
		fputs(first ? "" : ", ", f);
		first = false;
		json_string(f, name);
		fprintf(f, ": [%llu, %.3f, %llu, %.3f]", c.timed, (double)c.ns / 1e3,
			c.switched + c.interleaved + c.moved, (double)c.softirq_ns / 1e3);
		log_info("%s: %llu timed (mean %.2f us, of which softirq %.2f us; %llu preempted), "
			 "not timed: %llu switched, %llu interleaved, %llu moved",
			 name, c.timed, c.timed ? (double)c.ns / 1e3 / (double)c.timed : 0.0,
			 c.timed ? (double)c.softirq_ns / 1e3 / (double)c.timed : 0.0, c.preempted,
			 c.switched, c.interleaved, c.moved);
		timed += c.timed;
		untimed += c.switched + c.interleaved + c.moved;
	}
	fputs("}\n", f);
	log_info("%llu requests timed, %llu not timed; no class: %llu served no file, %llu "
		 "began before the attach or never reached ngx_http_process_request (a bad "
		 "head, a timeout), %llu lost to full maps",
		 timed, untimed, (unsigned long long)skel->bss->unnamed,
		 (unsigned long long)skel->bss->unopened, (unsigned long long)skel->bss->dropped);
	err = fflush(f) ? -errno : 0;
	if (err)
		log_error("writing the JSON failed: %s", strerror(-err));
	return err;
}

static int write_json(struct nginx_clock_bpf *skel, const struct options *o)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int err;

	if (!o->json)
		return report(skel, o->root, stdout);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", o->json) >= (int)sizeof(tmp)) {
		log_error("--json: %s: name too long", o->json);
		return -ENAMETOOLONG;
	}
	f = fopen(tmp, "w");
	if (!f) {
		err = -errno;
		log_error("%s: cannot create: %s", tmp, strerror(-err));
		goto cleanup;
	}
	err = report(skel, o->root, f);
	if (fclose(f) && !err) {
		err = -errno;
		log_error("%s: writing failed: %s", tmp, strerror(-err));
	}
	f = NULL;
	if (!err && rename(tmp, o->json)) {
		err = -errno;
		log_error("%s: cannot rename to %s: %s", tmp, o->json, strerror(-err));
	}
cleanup:
	if (err)
		unlink(tmp);
	return err;
}

/* set: SIGINT and SIGTERM, blocked since main()'s start (a stop sent during the load is
 * pending, not lost) */
static int run(const struct options *o, const sigset_t *set)
{
	struct bpf_link *links[MAX_PIDS * N_PROBES] = { 0 };
	struct nginx_clock_bpf *skel = NULL;
	char exe[MAX_PIDS][EXE_MAX];
	size_t n_links = 0, i, j;
	int err = 0;

	for (i = 0; i < o->n_pids; i++) {
		char proc[64];
		ssize_t n;

		snprintf(proc, sizeof(proc), "/proc/%d/exe", o->pids[i]);
		n = readlink(proc, exe[i], sizeof(exe[i]) - 1);
		if (n < 0) {
			err = -errno;
			log_error("%s: cannot read: %s", proc, strerror(-err));
			return err;
		}
		exe[i][n] = '\0';
	}

	skel = nginx_clock_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		log_error("loading the BPF programs failed: %s (--verbose shows the verifier log)",
			  strerror(-err));
		goto cleanup;
	}
	/* the scheduler and softirq accounting before any window can open */
	skel->links.sched_switch = bpf_program__attach(skel->progs.sched_switch);
	skel->links.softirq_entry =
		skel->links.sched_switch ? bpf_program__attach(skel->progs.softirq_entry) : NULL;
	skel->links.softirq_exit =
		skel->links.softirq_entry ? bpf_program__attach(skel->progs.softirq_exit) : NULL;
	if (!skel->links.softirq_exit) {
		err = -errno;
		log_error(
			"attaching tp_btf/sched_switch, softirq_entry and softirq_exit failed: %s",
			strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < o->n_pids; i++) {
		/* the close first: a window is never opened that cannot be closed */
		const struct {
			struct bpf_program *prog;
			const char *func;
		} probes[N_PROBES] = {
			{ skel->progs.free_request, "ngx_http_free_request" },
			{ skel->progs.open_cached_file, "ngx_open_cached_file" },
			{ skel->progs.process_request, "ngx_http_process_request" },
		};

		for (j = 0; j < N_PROBES; j++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = probes[j].func);

			links[n_links] = bpf_program__attach_uprobe_opts(probes[j].prog, o->pids[i],
									 exe[i], 0, &uo);
			if (!links[n_links]) {
				err = -errno;
				log_error("%s: pid %d: uprobe on %s failed: %s", exe[i], o->pids[i],
					  probes[j].func, strerror(-err));
				goto cleanup;
			}
			n_links++;
		}
	}

	log_info("attached: uprobes on ngx_http_process_request, ngx_open_cached_file and "
		 "ngx_http_free_request of %s in %zu process%s; tp_btf/sched_switch, "
		 "softirq_entry and softirq_exit",
		 exe[0], o->n_pids, o->n_pids == 1 ? "" : "es");
	bpf_tool_wait_for_stop(set, o->duration_s);
	/* detached first: the counts stop moving before they are written */
	for (i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	n_links = 0;
	err = write_json(skel, o);

cleanup:
	for (i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	nginx_clock_bpf__destroy(skel);
	return err;
}

int main(int argc, char **argv)
{
	struct options o;
	sigset_t set;
	int ret;

	/* first, so that a stop sent while the programs load waits for sigwait(); a shell
	 * starts background jobs with SIGINT ignored, and an ignored signal is never pending */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	ret = parse_options(argc, argv, &o);
	if (ret != OPTS_RUN)
		return opts_exit_status(ret);
	libbpf_set_print(bpf_tool_libbpf_print);
	return run(&o, &set) ? 1 : 0;
}
