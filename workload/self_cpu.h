/* SPDX-License-Identifier: MIT */
/*
 * workload_server --self-cpu: the server's own CPU time per request target, a truth for
 * benchmarks that needs no attribution (bench/attribution_accuracy.sh compares a request
 * class's cost inside a mix with its cost alone on this clock).
 *
 * A request's time is its serving thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) from just
 * before the read that brought its first byte (or, when it was already buffered, the end of
 * the request before it) to the return of its response's last write. Thread per
 * connection: nothing else runs on that thread in between. Softirq work the kernel does on
 * the thread's behalf is in it only where it runs on the thread's own time.
 *
 * Targets are kept as received, bytes outside printable ASCII as %XX, cut to
 * SELF_CPU_TARGET_MAX bytes; at most SELF_CPU_TARGETS of them, requests of any further
 * target summed under SELF_CPU_OTHER, a key no target can have. Thread-safe.
 */
#ifndef WORKLOAD_SELF_CPU_H
#define WORKLOAD_SELF_CPU_H

#include <stddef.h>
#include <stdint.h>

#define SELF_CPU_TARGETS 64
#define SELF_CPU_TARGET_MAX 128
/* a space: no target can be this key (escaping turns a target's spaces into %20) */
#define SELF_CPU_OTHER "(other targets)"

struct self_cpu;

struct self_cpu *self_cpu__new(void);
void self_cpu__free(struct self_cpu *s);

/* This thread's CPU time in ns. */
uint64_t self_cpu__thread_ns(void);

/* Counts one request of `target` (not NUL-terminated) that took `ns` of thread CPU. */
void self_cpu__add(struct self_cpu *s, const char *target, size_t len, uint64_t ns);

/*
 * {"TARGET": [requests, microseconds], ...}, as node_server.js's /self-cpu writes it.
 * Returns a malloc'ed string, or NULL when memory runs out.
 */
char *self_cpu__json(struct self_cpu *s);

#endif
