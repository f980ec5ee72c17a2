/* SPDX-License-Identifier: MIT */
/*
 * The design: which features the fit uses, which rows, and how a row becomes a vector.
 *
 * Features: runtime at each kept frequency (ns), the counts of model_features.h that
 * design_opts.features selects (by default those with fit 1), and, when the idle power is
 * fitted, the interval's duration (s), whose coefficient is the idle power in uW.
 *
 * design_prepare() (all rows): a selected count column that is empty (unmeasured, or not
 * in the input) in at least half of the rows with a target is dropped; otherwise rows
 * with an empty target or an empty cell in a kept count are skipped. Used rows are marked
 * ROW_TRAIN for the split.
 *
 * design_finish() (after the split; shares and checks use the training rows):
 * frequencies with less than min_freq_share of the runtime are merged, smallest first,
 * into the next lower frequency (the lowest into the next higher one) until every share is
 * at least min_freq_share and at most MODEL_MAX_FREQS remain. This is the rule the config
 * applies at run time: a frequency with no entry uses the nearest entry below it, and one
 * below every entry uses default_multiplier, which the fitter sets to the lowest entry's
 * weight. Then columns that are all zero or constant are dropped (the duration column is
 * exempt: it is the intercept), and each column's scale is its root mean square.
 * Every decision is printed as one line.
 */
#ifndef FITTER_DESIGN_H
#define FITTER_DESIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dataset.h"

#define DESIGN_MAX_FEATURES (MODEL_MAX_FREQS + MF_COUNT + 1)
#define DESIGN_NAME_MAX 32

enum row_state { ROW_SKIPPED, ROW_TRAIN, ROW_TEST };

enum feature_kind { FEATURE_FREQ, FEATURE_COUNT, FEATURE_IDLE };

struct feature {
	enum feature_kind kind;
	enum model_feature count; /* FEATURE_COUNT */
	uint32_t freq_khz; /* FEATURE_FREQ */
	double runtime_share; /* FEATURE_FREQ, merged frequencies included */
	double scale; /* root mean square over the training rows */
	char name[DESIGN_NAME_MAX]; /* "freq_khz=2400000", "wakeups", "idle_power" */
	const char *unit; /* of the coefficient: "uJ/ns", "uJ", "uW" */
};

struct dropped_feature {
	char name[DESIGN_NAME_MAX];
	char why[120];
};

struct freq_merge {
	uint32_t from_khz, into_khz;
	double share; /* of the training runtime */
};

struct design_opts {
	bool fit_idle; /* --target interval_psys_uj */
	bool features[MF_COUNT]; /* the counts to fit (--features); see design_default_features() */
	double min_freq_share;
};

struct design {
	size_t p;
	struct feature feat[DESIGN_MAX_FEATURES];
	int32_t *freq_col; /* per dataset frequency: its column, or -1 */
	int count_col[MF_COUNT]; /* -1: dropped */
	int idle_col; /* -1: not fitted */
	bool count_kept[MF_COUNT]; /* selected and measured, after design_prepare */

	struct dropped_feature dropped[MF_COUNT + MODEL_MAX_FREQS + 1];
	size_t num_dropped;
	struct freq_merge *merges;
	size_t num_merges;

	size_t used; /* rows not skipped */
	size_t skipped_target; /* rows skipped for an empty target */
	size_t skipped_count[MF_COUNT]; /* rows skipped for an empty count (first one only) */
};

/* Selects the features fitted by default (model_features.h, fit 1). */
void design_default_features(struct design_opts *o);
/*
 * Parses --features: a comma-separated list of feature names (model_features.h) and
 * "default" (those fitted by default). 0, or -EINVAL with *bad pointing at the unknown
 * name (its length in *bad_len).
 */
int design_parse_features(const char *list, bool features[MF_COUNT], const char **bad,
			  size_t *bad_len);

int design_prepare(struct design *d, const struct dataset *ds, const struct design_opts *o,
		   const char *target_name, uint8_t *state);
int design_finish(struct design *d, const struct dataset *ds, const struct design_opts *o,
		  const uint8_t *state);
/* Row i's unscaled feature vector, d->p values. */
void design_row(const struct design *d, const struct dataset *ds, size_t i, double *x);
void design_free(struct design *d);

#endif
