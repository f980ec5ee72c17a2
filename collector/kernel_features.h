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

/* True when ROOT/proc/kallsyms lists the symbol name (root "" for the running host). */
bool kallsyms_has(const char *root, const char *name);

/* The first of names[] that vmlinux BTF has, or NULL. */
const char *first_kernel_function(const char *const names[], int n);

/*
 * Whether the kernel keeps each CPU's IRQ and softirq time itself, in ns, where BPF can
 * read it (issue 14): CONFIG_IRQ_TIME_ACCOUNTING (ROOT/proc/config.gz, else
 * ROOT/boot/config-RELEASE), on at run time (the irq column of ROOT/proc/stat moves; tick
 * sampling leaves it at 0, and x86 turns the accounting off with an unstable TSC), and
 * kernel_cpustat in ROOT/proc/kallsyms (CONFIG_KALLSYMS_ALL: BPF resolves it there). When
 * false, *why says what is missing.
 */
bool kernel_irq_time_accounting(const char *root, const char **why);

#endif
