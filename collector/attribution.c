// SPDX-License-Identifier: MIT
#include "attribution.h"

#include <math.h>

double attribution_score(const struct energy_config *cfg, const struct proc_interval *p,
			 bool with_pmu)
{
	double s = config_freq_weight(cfg, p->khz) * (double)p->s.runtime_ns +
		   cfg->wakeup_penalty * (double)p->s.wakeups +
		   cfg->migration_penalty * (double)p->s.migrations;

	if (with_pmu)
		s += cfg->cycles_weight * (double)p->s.pmu[PMU_CYCLES] +
		     cfg->instructions_weight * (double)p->s.pmu[PMU_INSTRUCTIONS] +
		     cfg->cache_miss_weight * (double)p->s.pmu[PMU_CACHE_MISSES];
	return s;
}

void attribution_split(const struct energy_config *cfg, const struct proc_interval *procs,
		       size_t n, int64_t active_uj, bool with_pmu, uint64_t *uj_out,
		       double *scratch, struct attribution_result *out)
{
	uint64_t target, given = 0;

	out->total_score = 0;
	out->attributed_uj = 0;
	out->factor = 0;
	out->factor_valid = false;
	for (size_t i = 0; i < n; i++) {
		scratch[i] = attribution_score(cfg, &procs[i], with_pmu);
		out->total_score += scratch[i];
	}
	if (cfg->attribution_mode == ATTRIBUTION_MODEL) {
		for (size_t i = 0; i < n; i++) {
			uj_out[i] = (uint64_t)llround(scratch[i]);
			out->attributed_uj += uj_out[i];
		}
		return;
	}
	for (size_t i = 0; i < n; i++)
		uj_out[i] = 0;
	if (out->total_score <= 0)
		return; /* nothing ran: no factor this interval */
	target = active_uj > 0 ? (uint64_t)active_uj : 0;
	out->factor = (double)target / out->total_score;
	out->factor_valid = true;
	/* Largest remainder: floor every share, then hand the leftover µJ to the largest
	 * fractional parts, so the shares add up to target exactly. */
	for (size_t i = 0; i < n; i++) {
		double share = scratch[i] * out->factor;

		uj_out[i] = (uint64_t)floor(share);
		scratch[i] = share - floor(share);
		given += uj_out[i];
	}
	while (given < target && n > 0) {
		size_t best = 0;

		for (size_t i = 1; i < n; i++)
			if (scratch[i] > scratch[best])
				best = i;
		uj_out[best]++;
		scratch[best] = -1;
		given++;
	}
	out->attributed_uj = given;
}
