// SPDX-License-Identifier: MIT
#include "child_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void child_setup_and_exec(char *const argv[], int log_fd, const char *cgroup_dir, int err_fd)
{
	char buf[32];
	int n, fd, err;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (cgroup_dir) {
		char path[4200];

		n = snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup_dir);
		if (n < 0 || (size_t)n >= sizeof(path))
			goto fail_einval;
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			goto fail;
		n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
		if (write(fd, buf, (size_t)n) != n)
			goto fail;
		close(fd);
	}
	if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
		goto fail;
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	execv(argv[0], argv);
fail:
	err = errno;
	goto out;
fail_einval:
	err = EINVAL;
out:
	/* Tell the parent why, through the close-on-exec pipe. */
	if (write(err_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int child_proc__start(struct child_proc *c, char *const argv[], const char *log_path,
		      const char *cgroup_dir)
{
	int log_fd = -1, pipe_fd[2] = { -1, -1 }, err = 0, child_err = 0;
	ssize_t n;
	pid_t pid;

	c->pid = 0;
	c->reaped = false;
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		err = -errno;
		log_error("%s: %s", log_path, strerror(-err));
		goto cleanup;
	}
	if (pipe2(pipe_fd, O_CLOEXEC) < 0) {
		err = -errno;
		log_error("pipe: %s", strerror(-err));
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		log_error("fork for %s: %s", c->name, strerror(-err));
		goto cleanup;
	}
	if (pid == 0)
		child_setup_and_exec(argv, log_fd, cgroup_dir, pipe_fd[1]);
	/* Both sides set the group so a signal to it cannot race the child's setpgid. */
	setpgid(pid, pid);
	c->pid = pid;
	close(pipe_fd[1]);
	pipe_fd[1] = -1;
	do {
		n = read(pipe_fd[0], &child_err, sizeof(child_err));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(child_err)) {
		err = -child_err;
		log_error("%s: cannot start %s%s%s: %s", c->name, argv[0],
			  cgroup_dir ? " in cgroup " : "", cgroup_dir ? cgroup_dir : "",
			  strerror(child_err));
		waitpid(pid, &c->status, 0);
		c->reaped = true;
		c->pid = 0;
	}
cleanup:
	if (log_fd >= 0)
		close(log_fd);
	if (pipe_fd[0] >= 0)
		close(pipe_fd[0]);
	if (pipe_fd[1] >= 0)
		close(pipe_fd[1]);
	return err;
}

bool child_proc__exited(struct child_proc *c)
{
	pid_t r;

	if (c->pid <= 0)
		return true;
	r = waitpid(c->pid, &c->status, WNOHANG);
	if (r == c->pid || (r < 0 && errno == ECHILD)) {
		c->reaped = r == c->pid;
		c->pid = 0;
		return true;
	}
	return false;
}

int child_proc__code(const struct child_proc *c)
{
	if (!c->reaped)
		return -1;
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return -1;
}

static bool wait_exit(struct child_proc *c, unsigned int timeout_ms)
{
	struct timespec step = { 0, 20 * 1000 * 1000 };
	unsigned int waited;

	for (waited = 0; waited <= timeout_ms; waited += 20) {
		if (child_proc__exited(c))
			return true;
		nanosleep(&step, NULL);
	}
	return child_proc__exited(c);
}

int child_proc__stop(struct child_proc *c, unsigned int timeout_ms)
{
	if (c->pid > 0 && !child_proc__exited(c)) {
		kill(c->pid, SIGTERM);
		if (!wait_exit(c, timeout_ms)) {
			log_error("%s: still running %u ms after SIGTERM; sending SIGKILL", c->name,
				  timeout_ms);
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &c->status, 0);
			c->reaped = true;
			c->pid = 0;
		}
	}
	return child_proc__code(c);
}
