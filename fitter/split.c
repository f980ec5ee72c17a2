// SPDX-License-Identifier: MIT
#include "split.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "design.h"
#include "rng.h"

const char *const split_method_names[] = { [SPLIT_TIME] = "time", [SPLIT_RANDOM] = "random",
					     NULL };

const char *split_method_name(enum split_method m)
{
	return m == SPLIT_RANDOM ? "random" : "time";
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t below(uint64_t *s, uint64_t n)
{
	uint64_t threshold = -n % n, r;

	do
		r = splitmix64_next(s);
	while (r < threshold);
	return r % n;
}

static size_t share_of(double fraction, size_t n)
{
	return (size_t)floor(fraction * (double)n + 0.5);
}

static int split_time(const struct dataset *ds, uint8_t *state, double fraction, size_t *test)
{
	size_t *quota = calloc(ds->num_runs ? ds->num_runs : 1, sizeof(*quota));

	if (!quota)
		return -ENOMEM;
	for (size_t i = 0; i < ds->rows; i++)
		quota[ds->run[i]] += state[i] == ROW_TRAIN;
	for (size_t r = 0; r < ds->num_runs; r++)
		quota[r] = share_of(fraction, quota[r]);
	/* Runs are contiguous, so walking backwards meets each run's last rows first. */
	for (size_t i = ds->rows; i-- > 0;) {
		if (state[i] == ROW_TRAIN && quota[ds->run[i]]) {
			state[i] = ROW_TEST;
			quota[ds->run[i]]--;
			(*test)++;
		}
	}
	free(quota);
	return 0;
}

static int split_random(const struct dataset *ds, uint8_t *state, double fraction, uint64_t seed,
			size_t *test)
{
	size_t used = 0, k;
	size_t *idx;

	for (size_t i = 0; i < ds->rows; i++)
		used += state[i] == ROW_TRAIN;
	idx = malloc((used ? used : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	used = 0;
	for (size_t i = 0; i < ds->rows; i++)
		if (state[i] == ROW_TRAIN)
			idx[used++] = i;
	k = share_of(fraction, used);
	/* The first k places of a Fisher-Yates shuffle. */
	for (size_t j = 0; j < k; j++) {
		size_t r = j + (size_t)below(&seed, used - j), t = idx[j];

		idx[j] = idx[r];
		idx[r] = t;
		state[idx[j]] = ROW_TEST;
	}
	*test = k;
	free(idx);
	return 0;
}

int split_rows(const struct dataset *ds, uint8_t *state, enum split_method m, double fraction,
	       uint64_t seed, size_t *test)
{
	*test = 0;
	if (m == SPLIT_RANDOM)
		return split_random(ds, state, fraction, seed, test);
	return split_time(ds, state, fraction, test);
}
