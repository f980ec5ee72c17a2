// SPDX-License-Identifier: MIT
#include "bpf_tool.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

int bpf_tool_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!log_is_verbose())
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void bpf_tool_wait_for_stop(const sigset_t *set, double duration_s)
{
	struct timespec end, now, left;
	int sig;

	if (duration_s <= 0) {
		while (sigwait(set, &sig) != 0)
			;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)duration_s;
	end.tv_nsec += (long)((duration_s - (double)(time_t)duration_s) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) { /* a stray EINTR waits for what is left */
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			return;
		if (sigtimedwait(set, NULL, &left) >= 0 || errno == EAGAIN)
			return;
	}
}
