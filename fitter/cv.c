// SPDX-License-Identifier: MIT
#include "cv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design.h"
#include "parse.h"

int cv_parse(const char *s, struct cv_spec *spec)
{
	uint64_t k;
	int err;

	if (!strcmp(s, "label")) {
		*spec = (struct cv_spec){ .scheme = CV_LABEL };
		return 0;
	}
	if (strncmp(s, "time:", 5))
		return -EINVAL;
	err = parse_u64(s + 5, 2, CV_MAX_FOLDS, &k);
	if (err)
		return err;
	*spec = (struct cv_spec){ .scheme = CV_TIME, .k = (uint32_t)k };
	return 0;
}

void cv_name(const struct cv_spec *spec, char *buf, size_t size)
{
	if (spec->scheme == CV_TIME)
		snprintf(buf, size, "time:%u", spec->k);
	else if (spec->scheme == CV_LABEL)
		snprintf(buf, size, "label");
	else
		snprintf(buf, size, "none");
}

int cv_assign(const struct dataset *ds, const uint8_t *state, const struct cv_spec *spec,
	      uint32_t *fold, size_t *num_folds)
{
	size_t *used, *seen, nruns = ds->num_runs ? ds->num_runs : 1;
	size_t *per_fold;
	int err = 0;

	*num_folds = spec->scheme == CV_TIME ? spec->k : ds->num_labels;
	if (spec->scheme == CV_LABEL) {
		if (ds->num_labels < 2)
			return -EINVAL;
		per_fold = calloc(ds->num_labels, sizeof(*per_fold));
		if (!per_fold)
			return -ENOMEM;
		for (size_t i = 0; i < ds->rows; i++) {
			fold[i] = state[i] == ROW_SKIPPED ? CV_NO_FOLD : ds->label[i];
			if (fold[i] != CV_NO_FOLD)
				per_fold[fold[i]]++;
		}
		for (size_t f = 0; f < ds->num_labels; f++)
			if (!per_fold[f])
				err = -EINVAL; /* a label all of whose rows were skipped */
		free(per_fold);
		return err;
	}
	used = calloc(nruns, sizeof(*used));
	seen = calloc(nruns, sizeof(*seen));
	per_fold = calloc(spec->k, sizeof(*per_fold));
	if (!used || !seen || !per_fold) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < ds->rows; i++)
		used[ds->run[i]] += state[i] != ROW_SKIPPED;
	for (size_t i = 0; i < ds->rows; i++) {
		size_t r = ds->run[i];

		if (state[i] == ROW_SKIPPED) {
			fold[i] = CV_NO_FOLD;
			continue;
		}
		/* Block b of a run of n rows: rows [b n / K, (b + 1) n / K). */
		fold[i] = (uint32_t)((uint64_t)seen[r]++ * spec->k / used[r]);
		per_fold[fold[i]]++;
	}
	for (size_t f = 0; f < spec->k; f++)
		if (!per_fold[f])
			err = -EINVAL;
cleanup:
	free(used);
	free(seen);
	free(per_fold);
	return err;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile of sorted v[0..n), linear between closest ranks. */
static double quantile(const double *v, size_t n, double p)
{
	double h = p * (double)(n - 1);
	size_t lo = (size_t)floor(h);

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

int cv_dynamic_range(const struct dataset *ds, const uint8_t *state, double *range)
{
	double *v = malloc((ds->rows ? ds->rows : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ds->rows; i++)
		if (state[i] != ROW_SKIPPED)
			v[n++] = ds->target[i];
	qsort(v, n, sizeof(*v), by_value);
	*range = n ? quantile(v, n, 0.99) - quantile(v, n, 0.01) : 0;
	free(v);
	return 0;
}

void cv_coef_stats(const double *fold_coef, const double *fold_se, size_t num_folds, size_t stride,
		   double all_coef, struct cv_coef *out)
{
	bool pos = false, neg = false;

	*out = (struct cv_coef){ .min = INFINITY, .max = -INFINITY };
	for (size_t f = 0; f < num_folds; f++) {
		double c = fold_coef[f * stride], se = fold_se[f * stride];

		out->min = fmin(out->min, c);
		out->max = fmax(out->max, c);
		pos |= c > 0;
		neg |= c < 0;
		if (isfinite(se) && fabs(c - all_coef) > se)
			out->moves = true;
	}
	out->sign_change = pos && neg;
}
