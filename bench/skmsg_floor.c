// SPDX-License-Identifier: MIT
/*
 * skmsg_floor: attaches the socket-map floor of bench/skmsg_floor.bpf.c to a cgroup and
 * holds it until SIGINT/SIGTERM (or --duration). A benchmark tool for bench/overhead.sh:
 * it measures what the mechanism under request tracking's response rewriting costs by
 * itself (sockops putting sockets in a sockhash, sk_msg returning SK_PASS), so the
 * collector's cost can be read against it (docs/overhead.md). With --tp it attaches, instead,
 * tp_btf programs that do nothing: the floor of the scheduler and softirq hooks.
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
#include "log.h"
#include "options.h"
#include "skmsg_floor.skel.h"

#define DEFAULT_MAX_SOCKETS 65536

struct options {
	bool attach_msg;
	bool insert;
	bool tp; /* the empty tp_btf programs only */
	uint64_t max_sockets;
	double duration_s;
	const char *cgroup_dir;
};

static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	bool no_msg = false, no_insert = false, tp = false, verbose = false;
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
	o->tp = tp;
	o->insert = !no_insert && !tp;
	o->attach_msg = !no_msg && !no_insert && !tp;
	o->cgroup_dir = argv[first];
	return OPTS_RUN;
}

static int run(const struct options *o)
{
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
	err = bpf_map__set_max_entries(skel->maps.sock_hash, (uint32_t)o->max_sockets);
	if (!err && !o->attach_msg)
		err = bpf_program__set_autoload(skel->progs.floor_msg, false);
	if (!err)
		err = bpf_program__set_autoload(skel->progs.floor_sockops, !o->tp);
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
	else
		log_info("attached: sockops on %s (%s)%s", cg.path,
			 o->insert ? "sockets into the sockhash" : "sockhash unused",
			 o->attach_msg ? ", sk_msg returning SK_PASS on the sockhash" :
					 ", no sk_msg");
	bpf_tool_wait_for_stop(&set, o->duration_s);
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
