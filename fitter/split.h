/* SPDX-License-Identifier: MIT */
/*
 * Train/test split of the used rows (state ROW_TRAIN on entry; some become ROW_TEST).
 *
 * time: in each run (csv_loader.h), the last round(fraction * rows) used rows are the
 * test set, so the model is tested on data from later than it was trained on.
 * random: round(fraction * used rows) rows drawn uniformly without replacement, with a
 * generator seeded by seed (splitmix64), the same on every host.
 */
#ifndef FITTER_SPLIT_H
#define FITTER_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

enum split_method { SPLIT_TIME, SPLIT_RANDOM };

/* By enum split_method, NULL-terminated (the --split choices). */
extern const char *const split_method_names[];
const char *split_method_name(enum split_method m);

/* 0 or -ENOMEM; *test is the number of rows now ROW_TEST. */
int split_rows(const struct dataset *ds, uint8_t *state, enum split_method m, double fraction,
	       uint64_t seed, size_t *test);

#endif
