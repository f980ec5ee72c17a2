/* SPDX-License-Identifier: MIT */
/*
 * energy_model.conf: parser, validator and canonical writer (docs/config-format.md).
 *
 * Grammar: one "key = value" per line; '#' starts a comment anywhere on a line; blank
 * lines are ignored; lines are at most CONFIG_LINE_MAX bytes. Scalar keys appear at most
 * once; "freq_khz = <khz> <weight>" repeats. Keys left out keep config_defaults().
 *
 * Parse errors are printed once, as "PROGRAM: FILE:LINE: KEY: "VALUE" WHY", and returned
 * as a negative errno; *cfg is written only on success. config_write() emits the canonical
 * form, and parsing it gives back a config_equal() struct (doubles are written with the
 * fewest digits that read back to the same bits).
 */
#ifndef HTTP_ENERGY_CONFIG_H
#define HTTP_ENERGY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model_features.h"

#define CONFIG_LINE_MAX 1024 /* bytes per line, newline excluded */
#define CONFIG_FILE_MAX (1 << 20) /* bytes per file */
#define CONFIG_SOURCE_MAX 512 /* energy_source, NUL included */
#define CONFIG_WEIGHT_MAX 1e6 /* every weight is in [0, 1e6] (fixed_point.h) */
#define CONFIG_INTERVAL_MS_MIN 10
#define CONFIG_INTERVAL_MS_MAX 60000
#define CONFIG_POWER_UW_MAX 10000000000ULL /* idle_power_uw, synthetic_noise_uw: 10 kW */
#define CONFIG_FREQ_KHZ_MAX UINT32_MAX /* kHz 0 is "frequency unknown" */

enum attribution_mode {
	ATTRIBUTION_PSYS, /* weights make score units; measured energy is split by score */
	ATTRIBUTION_MODEL, /* weights are microjoules */
};

struct freq_weight {
	uint32_t freq_khz;
	double weight; /* per ns of runtime at this frequency */
};

struct energy_config {
	enum attribution_mode attribution_mode;
	char energy_source[CONFIG_SOURCE_MAX]; /* see config_check_energy_source() */
	double default_multiplier; /* per ns at a frequency with no entry at or below it */
	/* Per event of each feature (model_features.h): by name or by enum model_feature. */
	union {
		struct {
#define CONFIG_WEIGHT_FIELD_(ID, name, weight, avail, fit, field) double weight;
			MODEL_FEATURES(CONFIG_WEIGHT_FIELD_)
#undef CONFIG_WEIGHT_FIELD_
		};
		double feature_weight[MF_COUNT];
	};
	uint64_t idle_power_uw;
	uint32_t psys_interval_ms;
	uint64_t synthetic_noise_uw; /* synthetic source only: noise std dev of mean power */
	/*
	 * Synthetic source only: effects the fitted model does not have, so that validating
	 * a fit on synthetic data measures something (docs/energy-sources.md).
	 */
	double synthetic_page_cache_hit_uj; /* per page-cache hit */
	double synthetic_writeback_uj; /* per folio dirtied for writeback */
	double synthetic_util_gain; /* runtime energy x (1 + gain x utilisation) */
	size_t num_freqs;
	struct freq_weight freqs[MODEL_MAX_FREQS]; /* sorted by freq_khz, no duplicates */
};

/* psys mode, energy_source auto, multiplier 1, other weights 0, idle 0, 200 ms. */
void config_defaults(struct energy_config *cfg);

int config_parse_file(const char *path, struct energy_config *cfg);
/* name is what error messages call the text (a file name, "--config", ...). */
int config_parse_string(const char *name, const char *text, struct energy_config *cfg);

/* Canonical form; -EINVAL (error printed, nothing written) if cfg is not valid. */
int config_write(FILE *f, const struct energy_config *cfg);
/*
 * Atomically replace path: temp file in the same directory, fsync, rename, fsync of the
 * directory. header (may be NULL) is written first, each of its lines as a "# " comment.
 */
int config_write_file(const char *path, const struct energy_config *cfg, const char *header);

/* Every range and ordering rule the parser enforces; prints "WHERE: KEY: ... WHY". */
int config_validate(const struct energy_config *cfg, const char *where);
bool config_equal(const struct energy_config *a, const struct energy_config *b);

/* Insert or replace a frequency's weight, keeping freqs sorted: 0, -ENOSPC, -ERANGE. */
int config_set_freq(struct energy_config *cfg, uint32_t freq_khz, double weight);
/* The weight of the nearest configured frequency <= khz, else default_multiplier. */
double config_freq_weight(const struct energy_config *cfg, uint64_t khz);

const char *config_mode_name(enum attribution_mode mode);
/*
 * Energy source spec grammar: NAME or NAME:ARG, at most CONFIG_SOURCE_MAX - 1 bytes, no
 * whitespace, control characters or '#'. Which names exist is the collector's business
 * (energy_source_check() in collector/energy/); the parser checks the grammar only.
 * Returns 0, or -EINVAL with *why set to a static reason.
 */
int config_check_energy_source(const char *spec, const char **why);

#endif
