/* SPDX-License-Identifier: MIT */
/* What this kernel lets us load, probed at start-up rather than assumed. */
#ifndef COLLECTOR_KERNEL_FEATURES_H
#define COLLECTOR_KERNEL_FEATURES_H

#include <stdbool.h>

/* True when vmlinux BTF has a function of this name (a possible fentry/kprobe target). */
bool kernel_has_function(const char *name);

/*
 * Loads (and at once unloads) an empty fentry or fexit program on func. Returns 0 when the
 * kernel accepts it, else the negative errno (EPERM on kernels that refuse tracing
 * programs, ENOENT when func is not in BTF).
 */
int probe_fentry(const char *func, bool fexit);

/* True when vmlinux BTF has the tracepoint (a btf_trace_NAME typedef), for tp_btf. */
bool kernel_has_tracepoint(const char *name);

/* The first of names[] that vmlinux BTF has, or NULL. */
const char *first_kernel_function(const char *const names[], int n);

#endif
