/* SPDX-License-Identifier: MIT */
/*
 * The energy model's per-event features, each named once (docs/architecture.md, "The
 * feature table"). Runtime x frequency weight is the one feature not here: its weights
 * are the freq_khz table, its column the freq_runtime_ns list.
 *
 * X(ID, name, weight, avail, fit, field), one row per feature:
 *   ID     MF_<ID> (enum model_feature) and CSV_<ID> (enum csv_column, csv_schema.h)
 *   name   the interval CSV column, and the fitter's feature name in reports
 *   weight the struct energy_config field, and the config key of the same name
 *          (µJ or score units per event, 0 .. CONFIG_WEIGHT_MAX)
 *   avail  what measures it (collector/model_features.h): SCHED the scheduler hooks,
 *          always; PMU the perf counters, where the host has them; SOFTIRQS /proc/softirqs
 *   fit    1: fit_energy fits it by default and needs its column; 0: only when
 *          --features names it, its column may be absent, its config key is written only
 *          when not 0 (so models and CSVs from before it existed stay as they were)
 *   field  where the collector keeps its value: in MODEL_FEATURES_BPF, the member of
 *          both struct proc_signals and struct cpu_signals (bpf/signals.h), so it is
 *          known per process (a PMU row's also of signals.bpf.c's struct slice, for the
 *          request charge); in MODEL_FEATURES_HOST, the member of struct
 *          interval_signals (host-wide only)
 *
 * The blocks differ only in where the values live, and so where the CSV columns sit:
 * MODEL_FEATURES_BPF's columns follow runtime_ns (their historical place), those of
 * MODEL_FEATURES_HOST come after every fixed column. A new signal is one row appended to
 * MODEL_FEATURES_HOST (with fit 0, so that existing fits do not change) plus the code that
 * collects it; a new per-process signal needs a new block appended at the CSV's end.
 *
 * Plain macros only: the BPF side includes this file for MODEL_MAX_FREQS.
 */
#ifndef HTTP_ENERGY_MODEL_FEATURES_H
#define HTTP_ENERGY_MODEL_FEATURES_H

/* freq_khz entries of a config, kHz values per interval, the kernel's model table. */
#define MODEL_MAX_FREQS 64

#define MODEL_FEATURES_BPF(X)                                                             \
	X(WAKEUPS, wakeups, wakeup_penalty, SCHED, 1, wakeups)                            \
	X(CYCLES, cycles, cycles_weight, PMU, 1, pmu[PMU_CYCLES])                         \
	X(INSTRUCTIONS, instructions, instructions_weight, PMU, 1, pmu[PMU_INSTRUCTIONS]) \
	X(CACHE_MISSES, cache_misses, cache_miss_weight, PMU, 1, pmu[PMU_CACHE_MISSES])   \
	X(MIGRATIONS, migrations, migration_penalty, SCHED, 1, migrations)

/* Softirqs raised and run per vector group (collector/softirqs.h), host-wide. */
#define MODEL_FEATURES_HOST(X)                                                                    \
	X(SOFTIRQ_NET_RX, softirq_net_rx, softirq_net_rx_weight, SOFTIRQS, 0,                     \
	  softirqs.count[SOFTIRQ_NET_RX])                                                         \
	X(SOFTIRQ_NET_TX, softirq_net_tx, softirq_net_tx_weight, SOFTIRQS, 0,                     \
	  softirqs.count[SOFTIRQ_NET_TX])                                                         \
	X(SOFTIRQ_BLOCK, softirq_block, softirq_block_weight, SOFTIRQS, 0,                        \
	  softirqs.count[SOFTIRQ_BLOCK])                                                          \
	X(SOFTIRQ_TIMER, softirq_timer, softirq_timer_weight, SOFTIRQS, 0,                        \
	  softirqs.count[SOFTIRQ_TIMER])                                                          \
	X(SOFTIRQ_SCHED, softirq_sched, softirq_sched_weight, SOFTIRQS, 0,                        \
	  softirqs.count[SOFTIRQ_SCHED])                                                          \
	X(SOFTIRQ_RCU, softirq_rcu, softirq_rcu_weight, SOFTIRQS, 0, softirqs.count[SOFTIRQ_RCU]) \
	X(SOFTIRQ_OTHER, softirq_other, softirq_other_weight, SOFTIRQS, 0,                        \
	  softirqs.count[SOFTIRQ_OTHER])

#define MODEL_FEATURES(X) MODEL_FEATURES_BPF(X) MODEL_FEATURES_HOST(X)

#define MF_ENUM_(ID, name, weight, avail, fit, field) MF_##ID,
enum model_feature { MODEL_FEATURES(MF_ENUM_) MF_COUNT };
#undef MF_ENUM_

/* MODEL_FEATURES_BPF's rows, which are enum model_feature's first values: the kernel's
 * weights (struct model_params, bpf/signals.h) are indexed by MF_<ID> below this. */
#define MF_BPF_ONE_(ID, name, weight, avail, fit, field) +1
#define MF_BPF_COUNT (0 MODEL_FEATURES_BPF(MF_BPF_ONE_))

#ifndef __bpf__
#include <stdbool.h>

const char *model_feature_name(enum model_feature f); /* NULL past MF_COUNT */
const char *model_feature_key(enum model_feature f);
bool model_feature_fit_default(enum model_feature f);
/* The feature with this CSV column name, or -1. */
int model_feature_find(const char *name);
#endif

#endif
