/* SPDX-License-Identifier: MIT */
/*
 * The fitted model as an energy_model.conf in model mode (docs/config-format.md):
 *   freq_khz = <khz> <uJ per ns>   one per kept frequency
 *   default_multiplier             the lowest entry's weight: runtime below every entry
 *                                  costs what the lowest fitted frequency costs
 *   wakeup_penalty, cycles_weight, ... (each
 *   count's key, model_features.h) uJ per event; 0 for a dropped or unselected feature
 *   idle_power_uw                  fitted (the duration column) or given
 *   psys_interval_ms, energy_source as given
 * A coefficient outside the config's range (a weight below 0 or above 1e6, an idle power
 * outside 0..1e10 uW) cannot be written: each is an error naming the feature and value,
 * unless force, which clamps it into the range and says so.
 */
#ifndef FITTER_MODEL_CONFIG_H
#define FITTER_MODEL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "design.h"

struct model_opts {
	uint32_t psys_interval_ms;
	uint64_t idle_power_uw; /* when the design does not fit it */
	const char *energy_source; /* NULL: config_defaults()'s */
	bool force;
};

struct model_clamp {
	char name[DESIGN_NAME_MAX];
	double value, written;
};

/*
 * Fills cfg from the design's unscaled coefficients. written[] receives the coefficients
 * as written (clamped, the idle power rounded), clamps[] (DESIGN_MAX_FEATURES) what was
 * clamped. 0, or -ERANGE (errors printed) when a coefficient is out of range and !force.
 */
int model_to_config(const struct design *d, const double *coef, const struct model_opts *o,
		    struct energy_config *cfg, double *written, struct model_clamp *clamps,
		    size_t *num_clamps);

/* Writes atomically, then reads the file back: 0 only if it parses to the same config. */
int model_write_config(const char *path, const struct energy_config *cfg, const char *header);

#endif
