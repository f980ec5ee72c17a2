// SPDX-License-Identifier: MIT
/*
 * spawn_load PARENT CGROUPS PER_INTERVAL INTERVAL_MS: bench/metrics_cost.sh's load. Makes
 * PARENT/c0 .. c<CGROUPS-1> and starts PER_INTERVAL short-lived processes per interval,
 * round robin over the cgroups, so every cgroup has processes that ran in every interval
 * once PER_INTERVAL >= CGROUPS.
 *
 * One process does it all with clone3(CLONE_INTO_CGROUP): the child is born in its cgroup
 * and exits at once (SIGCHLD ignored: the kernel reaps). A forker per cgroup would keep a
 * thousand runnable tasks queued on two CPUs and starve the collector and the scraper
 * being measured. It is evenly paced, skipping (never bursting) when late.
 * Prints "ready" once the cgroups exist; on SIGTERM prints "SPAWNED SECONDS" and exits 0.
 * Bench-only: not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h> /* RLIMIT_NOFILE */
#include <sys/stat.h>
#include <sys/syscall.h>
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

/* A child in the cgroup of cgroup_fd that exits at once. 0 or -errno. */
static int spawn_into(int cgroup_fd)
{
	struct clone_args args = { .flags = CLONE_INTO_CGROUP,
				   .exit_signal = SIGCHLD,
				   .cgroup = (uint64_t)cgroup_fd };
	long pid = syscall(SYS_clone3, &args, sizeof(args));

	if (pid == 0)
		syscall(SYS_exit_group, 0); /* raw clone: no libc exit handlers */
	return pid < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct rlimit nofile;
	long cgroups, per_interval, interval_ms;
	uint64_t spawned = 0, period_ns, t0, next;
	char dir[4096];
	int *fds, err;

	if (argc != 5 || (cgroups = atol(argv[2])) < 1 || (per_interval = atol(argv[3])) < 1 ||
	    (interval_ms = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: spawn_load PARENT CGROUPS PER_INTERVAL INTERVAL_MS\n");
		return 2;
	}
	period_ns = (uint64_t)interval_ms * 1000000ULL / (uint64_t)per_interval;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGCHLD, SIG_IGN);
	nofile.rlim_cur = nofile.rlim_max = (rlim_t)cgroups + 64;
	setrlimit(RLIMIT_NOFILE, &nofile); /* a cgroup fd each; failure shows at open */
	fds = calloc((size_t)cgroups, sizeof(*fds));
	if (!fds)
		return 1;
	for (long i = 0; i < cgroups; i++) {
		snprintf(dir, sizeof(dir), "%s/c%ld", argv[1], i);
		if (mkdir(dir, 0755) && errno != EEXIST) {
			fprintf(stderr, "spawn_load: %s: %s\n", dir, strerror(errno));
			return 1;
		}
		fds[i] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "spawn_load: %s: %s\n", dir, strerror(errno));
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	t0 = next = now_ns();
	while (!stop) {
		uint64_t now = now_ns();

		if (now < next) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000ULL),
					       .tv_nsec = (long)(next % 1000000000ULL) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		next += period_ns;
		if (next + 10 * period_ns < now)
			next = now; /* far behind: skip, do not burst */
		err = spawn_into(fds[spawned % (uint64_t)cgroups]);
		if (err && err != -EAGAIN) {
			fprintf(stderr, "spawn_load: clone3 into a cgroup: %s\n", strerror(-err));
			return 1;
		}
		spawned += !err;
	}
	printf("%llu %.3f\n", (unsigned long long)spawned, (double)(now_ns() - t0) / 1e9);
	for (long i = 0; i < cgroups; i++)
		close(fds[i]);
	free(fds);
	return 0;
}
