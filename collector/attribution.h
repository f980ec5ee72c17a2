/* SPDX-License-Identifier: MIT */
/*
 * Splitting an interval's energy among processes (pure functions).
 *
 * A process's score is the config's model evaluated on its signals: runtime at each kHz
 * times that frequency's weight, plus each per-process feature (model_features.h's
 * MODEL_FEATURES_BPF: wakeups, migrations, PMU counts when with_pmu) times its weight.
 * Host-wide-only features (softirq counts) have no per-process value and no share here. In
 * psys mode the scores split max(active, 0) µJ: factor = active / total score, and the
 * µJ handed out are rounded so that they add up to exactly max(active, 0). In model mode
 * a score is already µJ.
 */
#ifndef COLLECTOR_ATTRIBUTION_H
#define COLLECTOR_ATTRIBUTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "signals_api.h"

double attribution_score(const struct energy_config *cfg, const struct proc_interval *p,
			 bool with_pmu);

struct attribution_result {
	double total_score;
	double factor;	       /* µJ per score unit; valid when factor_valid */
	bool factor_valid;     /* psys: some process scored above 0 */
	uint64_t attributed_uj; /* sum of uj_out[] */
};

/* Working space of attribution_split(): one per entry. */
struct attribution_item {
	double frac; /* the score, then the fractional part of the share */
	size_t index;
};

/*
 * Fills uj_out[0 .. n) with each entry's µJ. active_uj is the interval's measured active
 * energy (psys mode; ignored in model mode). scratch must hold n items.
 *
 * psys mode: largest remainder, O(n log n): every share is floored, then the µJ left over
 * go one each to the largest fractional parts (ties: the lower index first), and anything
 * beyond n (rounding error only) to entry 0.
 */
void attribution_split(const struct energy_config *cfg, const struct proc_interval *procs,
		       size_t n, int64_t active_uj, bool with_pmu, uint64_t *uj_out,
		       struct attribution_item *scratch, struct attribution_result *out);

#endif
