// SPDX-License-Identifier: MIT
#include "attribution.h"

#include <math.h>
#include <stdlib.h>

#include "feature_values.h"

double attribution_score(const struct energy_config *cfg, const struct proc_interval *p,
			 bool with_pmu)
{
	struct signals_available av = { .pmu = with_pmu };
	static const struct interval_signals none; /* only a host-wide feature looks at it */
	double s = config_freq_weight(cfg, p->khz) * (double)p->s.runtime_ns;
	uint64_t v;

	for (int i = 0; i < MF_COUNT; i++) {
		enum model_feature f = (enum model_feature)i;

		if (feature_proc_value(&p->s, f, &v) && feature_measured(&none, &av, f))
			s += cfg->feature_weight[f] * (double)v;
	}
	return s;
}

/* Larger fraction first; equal fractions by index, as the old selection loop took them. */
static int by_fraction_desc(const void *a, const void *b)
{
	const struct attribution_item *x = a, *y = b;

	if (x->frac != y->frac)
		return x->frac > y->frac ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void attribution_split(const struct energy_config *cfg, const struct proc_interval *procs,
		       size_t n, int64_t active_uj, bool with_pmu, uint64_t *uj_out,
		       struct attribution_item *scratch, struct attribution_result *out)
{
	uint64_t target, given = 0, left;

	out->total_score = 0;
	out->attributed_uj = 0;
	out->factor = 0;
	out->factor_valid = false;
	for (size_t i = 0; i < n; i++) {
		scratch[i].frac = attribution_score(cfg, &procs[i], with_pmu);
		scratch[i].index = i;
		out->total_score += scratch[i].frac;
	}
	if (cfg->attribution_mode == ATTRIBUTION_MODEL) {
		for (size_t i = 0; i < n; i++) {
			uj_out[i] = (uint64_t)llround(scratch[i].frac);
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
		double share = scratch[i].frac * out->factor;

		uj_out[i] = (uint64_t)floor(share);
		scratch[i].frac = share - floor(share);
		given += uj_out[i];
	}
	if (given >= target || n == 0) {
		out->attributed_uj = given;
		return;
	}
	left = target - given;
	qsort(scratch, n, sizeof(*scratch), by_fraction_desc);
	for (size_t k = 0; k < n && left > 0; k++, left--)
		uj_out[scratch[k].index]++;
	uj_out[0] += left; /* more than n left: only float rounding; as before, to entry 0 */
	out->attributed_uj = target;
}
