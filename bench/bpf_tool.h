/* SPDX-License-Identifier: MIT */
/* What the bench-only BPF tools (skmsg_floor, nginx_clock) share: libbpf's messages and how
 * they wait for their stop. */
#ifndef HTTP_ENERGY_BENCH_BPF_TOOL_H
#define HTTP_ENERGY_BENCH_BPF_TOOL_H

#include <bpf/libbpf.h>
#include <signal.h>
#include <stdarg.h>

/* libbpf_set_print()'s callback: libbpf's own lines with --verbose only (a failure is
 * reported once, with context, by the tool). */
int bpf_tool_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

/* Waits for a signal of set (blocked by the caller), or duration_s when it is above 0. */
void bpf_tool_wait_for_stop(const sigset_t *set, double duration_s);

#endif
