/* SPDX-License-Identifier: MIT */
/*
 * Where the collector keeps each model feature's value (common/model_features.h, its
 * "field" column), and whether this host measured it. Every user of the values goes
 * through here: the interval CSV, the synthetic source's model, attribution.
 */
#ifndef COLLECTOR_FEATURE_VALUES_H
#define COLLECTOR_FEATURE_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include "signals_api.h"
#include "model_features.h"

/* The "avail" column: what measures the feature. */
#define FEATURE_AVAIL_SCHED(sig, av) true
#define FEATURE_AVAIL_PMU(sig, av) ((av)->pmu)
#define FEATURE_AVAIL_SOFTIRQS(sig, av) ((sig)->softirqs.valid)

/* The interval's host-wide value (all CPUs, all tasks). */
static inline uint64_t feature_host_value(const struct interval_signals *sig, enum model_feature f)
{
	switch (f) {
#define HOST_BPF_(ID, name, weight, avail, fit, field) \
	case MF_##ID:                                  \
		return sig->host.field;
		MODEL_FEATURES_BPF(HOST_BPF_)
#undef HOST_BPF_
#define HOST_HOST_(ID, name, weight, avail, fit, field) \
	case MF_##ID:                                   \
		return sig->field;
		MODEL_FEATURES_HOST(HOST_HOST_)
#undef HOST_HOST_
	default:
		return 0;
	}
}

/* A process's value; false for a host-wide-only feature (MODEL_FEATURES_HOST). */
static inline bool feature_proc_value(const struct proc_signals *s, enum model_feature f,
				      uint64_t *out)
{
	switch (f) {
#define PROC_BPF_(ID, name, weight, avail, fit, field) \
	case MF_##ID:                                  \
		*out = s->field;                       \
		return true;
		MODEL_FEATURES_BPF(PROC_BPF_)
#undef PROC_BPF_
	default:
		*out = 0;
		return false;
	}
}

/* Measured in this interval on this host; else an empty CSV cell and no model term. */
static inline bool feature_measured(const struct interval_signals *sig,
				    const struct signals_available *av, enum model_feature f)
{
	switch (f) {
#define MEASURED_(ID, name, weight, avail, fit, field) \
	case MF_##ID:                                  \
		return FEATURE_AVAIL_##avail(sig, av);
		MODEL_FEATURES(MEASURED_)
#undef MEASURED_
	default:
		return false;
	}
}

#endif
