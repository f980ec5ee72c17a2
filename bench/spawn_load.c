// SPDX-License-Identifier: MIT
/*
 * spawn_load PARENT CGROUPS PER_INTERVAL INTERVAL_MS: bench/metrics_cost.sh's load. Makes
 * PARENT/c0 .. c<CGROUPS-1>, puts one worker in each, and every worker forks
 * PER_INTERVAL / CGROUPS short-lived children (fork, _exit) per interval, evenly spaced
 * and staggered between workers. A C worker costs a fork of a small process (the Python
 * one it replaces could not reach 10,000 a second on two CPUs). Prints "ready" once every
 * worker is in its cgroup; on SIGTERM prints "SPAWNED SECONDS" (the children forked, the
 * longest worker's run) and exits 0. Bench-only: not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct tally {
	uint64_t spawned, ns;
};

static void worker(const char *dir, uint64_t period_ns, uint64_t offset_ns, int out)
{
	char path[4096 + 32], pid[32]; /* dir is at most 4096 bytes */
	struct tally t = { 0 };
	uint64_t t0 = now_ns(), next = t0 + offset_ns;
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(pid, sizeof(pid), "%d", getpid());
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		fprintf(stderr, "spawn_load: %s: %s\n", path, strerror(errno));
		_exit(1);
	}
	close(fd);
	while (!stop) {
		uint64_t now = now_ns();
		pid_t c;

		if (now < next) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000ULL),
					       .tv_nsec = (long)(next % 1000000000ULL) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		next += period_ns;
		if (next < now)
			next = now + period_ns; /* behind: skip, do not burst */
		c = fork();
		if (c == 0)
			_exit(0);
		if (c > 0 && waitpid(c, NULL, 0) == c)
			t.spawned++;
	}
	t.ns = now_ns() - t0;
	if (write(out, &t, sizeof(t)) != sizeof(t))
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	uint64_t total = 0, longest = 0, each, period_ns;
	long cgroups, per_interval, interval_ms;
	char dir[4096];
	struct tally t;
	pid_t *kids;
	int fds[2];

	if (argc != 5 || (cgroups = atol(argv[2])) < 1 || (per_interval = atol(argv[3])) < 1 ||
	    (interval_ms = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: spawn_load PARENT CGROUPS PER_INTERVAL INTERVAL_MS\n");
		return 2;
	}
	each = per_interval / cgroups ? (uint64_t)(per_interval / cgroups) : 1;
	period_ns = (uint64_t)interval_ms * 1000000ULL / each;
	sigaction(SIGTERM, &sa, NULL);
	kids = calloc((size_t)cgroups, sizeof(*kids));
	if (!kids || pipe(fds))
		return 1;
	for (long i = 0; i < cgroups; i++) {
		snprintf(dir, sizeof(dir), "%s/c%ld", argv[1], i);
		if (mkdir(dir, 0755) && errno != EEXIST) {
			fprintf(stderr, "spawn_load: %s: %s\n", dir, strerror(errno));
			return 1;
		}
		kids[i] = fork();
		if (kids[i] == 0) {
			close(fds[0]);
			worker(dir, period_ns, period_ns * (uint64_t)(i % 97) / 97, fds[1]);
		}
	}
	close(fds[1]);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	for (long i = 0; i < cgroups; i++) /* not kill(0): the group is the caller's too */
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (read(fds[0], &t, sizeof(t)) == sizeof(t)) {
		total += t.spawned;
		longest = t.ns > longest ? t.ns : longest;
	}
	while (wait(NULL) > 0)
		;
	printf("%llu %.3f\n", (unsigned long long)total, (double)longest / 1e9);
	free(kids);
	return 0;
}
