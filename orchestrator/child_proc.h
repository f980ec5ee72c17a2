/* SPDX-License-Identifier: MIT */
/*
 * Child processes for collect_signals: started with their output in a log file,
 * optionally placed in a cgroup before exec, and stopped with SIGTERM, then SIGKILL.
 */
#ifndef HTTP_ENERGY_CHILD_PROC_H
#define HTTP_ENERGY_CHILD_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct child_proc {
	const char *name; /* for messages: "workload_server" */
	pid_t pid; /* 0: not running (never started, or reaped) */
	int status; /* wait status once reaped */
	bool reaped;
};

/*
 * Forks and execs argv[0] with stdout and stderr in log_path (truncated). With cgroup_dir, the
 * child writes its pid to cgroup_dir/cgroup.procs before exec, so everything it creates
 * belongs to the cgroup. The child gets its own process group (a terminal's Ctrl-C reaches
 * only the parent, which stops children in order) and SIGTERM if the parent dies.
 * Returns 0 or a negative errno after one error line.
 */
int child_proc__start(struct child_proc *c, char *const argv[], const char *log_path,
		      const char *cgroup_dir);

/* Reaps the child if it has exited; returns true when it is no longer running. */
bool child_proc__exited(struct child_proc *c);

/*
 * Sends SIGTERM and waits up to timeout_ms, then SIGKILL and waits. Returns the exit code
 * (0..255), 128 + signal when killed by one, or -1 when never started.
 */
int child_proc__stop(struct child_proc *c, unsigned int timeout_ms);

/* Exit code of a reaped child as child_proc__stop() reports it; -1 when not reaped. */
int child_proc__code(const struct child_proc *c);

#endif
