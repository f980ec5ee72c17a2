// SPDX-License-Identifier: MIT
#include "model_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* The value as written: in range, or clamped (force), or an error. */
static int check_range(const struct feature *f, double v, double max, const struct model_opts *o,
		       double *out, struct model_clamp *clamps, size_t *num_clamps)
{
	double w = v < 0 ? 0 : v > max ? max : v;

	if (w == v && !isnan(v)) {
		*out = v + 0.0; /* -0 is written as 0 */
		return 0;
	}
	if (isnan(v)) {
		log_error("%s: the coefficient is not a number; the fit failed", f->name);
		return -ERANGE;
	}
	if (!o->force) {
		log_error("%s: coefficient %.6g %s is %s: a config cannot hold it (%s)", f->name, v,
			  f->unit, v < 0 ? "below 0" : "above the config's maximum",
			  v < 0 ? "energy cannot be negative: use --method nnls, or --force to "
				  "write 0" :
				  "--force writes the maximum");
		return -ERANGE;
	}
	log_info("%s: coefficient %.6g %s written as %.6g (--force)", f->name, v, f->unit, w);
	clamps[*num_clamps] = (struct model_clamp){ .value = v, .written = w };
	snprintf(clamps[*num_clamps].name, sizeof(clamps[0].name), "%s", f->name);
	(*num_clamps)++;
	*out = w;
	return 0;
}

int model_to_config(const struct design *d, const double *coef, const struct model_opts *o,
		    struct energy_config *cfg, double *written, struct model_clamp *clamps,
		    size_t *num_clamps)
{
	bool have_freq = false;
	int err = 0;

	config_defaults(cfg);
	cfg->attribution_mode = ATTRIBUTION_MODEL;
	if (o->energy_source)
		snprintf(cfg->energy_source, sizeof(cfg->energy_source), "%s", o->energy_source);
	cfg->psys_interval_ms = o->psys_interval_ms;
	cfg->idle_power_uw = o->idle_power_uw;
	cfg->default_multiplier = 0;
	*num_clamps = 0;

	for (size_t j = 0; j < d->p; j++) {
		const struct feature *f = &d->feat[j];
		double max =
			f->kind == FEATURE_IDLE ? (double)CONFIG_POWER_UW_MAX : CONFIG_WEIGHT_MAX;
		double v = coef[j];

		if (f->kind == FEATURE_IDLE)
			v = nearbyint(v); /* whole microwatts, as the config holds them */
		if (check_range(f, v, max, o, &written[j], clamps, num_clamps)) {
			err = -ERANGE;
			continue;
		}
		switch (f->kind) {
		case FEATURE_FREQ:
			/* Features are sorted by kHz, so the first is the lowest. */
			if (!have_freq)
				cfg->default_multiplier = written[j];
			have_freq = true;
			if (config_set_freq(cfg, f->freq_khz, written[j]))
				err = -ERANGE; /* cannot happen: at most 64, in range */
			break;
		case FEATURE_COUNT:
			cfg->feature_weight[f->count] = written[j];
			break;
		case FEATURE_IDLE:
			cfg->idle_power_uw = (uint64_t)written[j];
			break;
		}
	}
	return err;
}

int model_write_config(const char *path, const struct energy_config *cfg, const char *header)
{
	struct energy_config back;
	int err = config_write_file(path, cfg, header);

	if (err)
		return err;
	err = config_parse_file(path, &back);
	if (err) {
		log_error("%s: the config just written does not parse back", path);
		return -EIO;
	}
	if (!config_equal(cfg, &back)) {
		log_error("%s: the config just written reads back different", path);
		return -EIO;
	}
	return 0;
}
