// SPDX-License-Identifier: MIT
#include "design.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_MERGE_LINES 8 /* more merges than this are summed up in one line */

static void drop(struct design *d, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void drop(struct design *d, const char *name, const char *fmt, ...)
{
	struct dropped_feature *f = &d->dropped[d->num_dropped++];
	va_list ap;

	snprintf(f->name, sizeof(f->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	log_info("feature %s dropped: %s", f->name, f->why);
}

void design_default_features(struct design_opts *o)
{
	for (int c = 0; c < MF_COUNT; c++)
		o->features[c] = model_feature_fit_default((enum model_feature)c);
}

int design_parse_features(const char *list, bool features[MF_COUNT], const char **bad,
			  size_t *bad_len)
{
	bool sel[MF_COUNT] = { false };

	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		char name[DESIGN_NAME_MAX];
		int f;

		if (len == 7 && !memcmp(p, "default", 7)) {
			for (int c = 0; c < MF_COUNT; c++)
				sel[c] |= model_feature_fit_default((enum model_feature)c);
		} else {
			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			f = len < sizeof(name) ? model_feature_find(name) : -1;
			if (f < 0) {
				*bad = p;
				*bad_len = len;
				return -EINVAL;
			}
			sel[f] = true;
		}
		p += len;
		if (!*p)
			break;
	}
	memcpy(features, sel, sizeof(sel));
	return 0;
}

int design_prepare(struct design *d, const struct dataset *ds, const struct design_opts *o,
		   const char *target_name, uint8_t *state)
{
	size_t with_target = 0, empty[MF_COUNT] = { 0 };

	memset(d, 0, sizeof(*d));
	d->idle_col = -1;
	for (int c = 0; c < MF_COUNT; c++)
		d->count_col[c] = -1;

	for (size_t i = 0; i < ds->rows; i++) {
		if (isnan(ds->target[i]))
			continue;
		with_target++;
		for (int c = 0; c < MF_COUNT; c++)
			empty[c] += isnan(ds->count[c][i]);
	}
	for (int c = 0; c < MF_COUNT; c++) {
		if (!o->features[c])
			continue; /* not selected: not a feature of this fit, nothing to say */
		d->count_kept[c] = !(with_target && empty[c] * 2 >= with_target);
		if (d->count_kept[c])
			continue;
		if (empty[c] == with_target)
			drop(d, model_feature_name(c), "unmeasured (every cell is empty)");
		else
			drop(d, model_feature_name(c), "unmeasured (empty in %zu of %zu rows)",
			     empty[c], with_target);
	}

	for (size_t i = 0; i < ds->rows; i++) {
		state[i] = ROW_SKIPPED;
		if (isnan(ds->target[i])) {
			d->skipped_target++;
			continue;
		}
		int c;

		for (c = 0; c < MF_COUNT; c++)
			if (d->count_kept[c] && isnan(ds->count[c][i]))
				break;
		if (c < MF_COUNT) {
			d->skipped_count[c]++;
			continue;
		}
		state[i] = ROW_TRAIN;
		d->used++;
	}
	if (d->skipped_target)
		log_info("skipped %zu of %zu rows: %s is empty (unmeasured)", d->skipped_target,
			 ds->rows, target_name);
	for (int c = 0; c < MF_COUNT; c++)
		if (d->skipped_count[c])
			log_info(
				"skipped %zu of %zu rows: %s is empty (unmeasured) where most rows "
				"have it",
				d->skipped_count[c], ds->rows, model_feature_name(c));
	if (!d->used) {
		log_error("%s%s: no usable rows: all %zu have an empty %s or an empty count",
			  ds->num_files ? ds->files[0].path : "input",
			  ds->num_files > 1 ? " and the other inputs" : "", ds->rows, target_name);
		return -EINVAL;
	}
	return 0;
}

struct group {
	uint32_t khz; /* the frequency whose entry the group becomes */
	size_t lo, hi; /* range in the kHz-sorted order of dataset frequencies */
	double share;
	bool alive;
};

static int by_khz(const void *a, const void *b, void *ctx)
{
	const struct dataset *ds = ctx;
	uint32_t x = ds->freq_khz[*(const uint32_t *)a];
	uint32_t y = ds->freq_khz[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

/* Merges small frequency groups (see design.h); fills group_of[sorted position]. */
static int merge_freqs(struct design *d, const struct dataset *ds, const uint8_t *state,
		       double min_share, uint32_t *order, struct group *g, size_t *num_groups)
{
	size_t nf = ds->num_freqs, alive = nf, printed = 0;
	double *runtime = calloc(nf ? nf : 1, sizeof(double)), total = 0;

	if (!runtime)
		return -ENOMEM;
	for (size_t i = 0; i < ds->rows; i++) {
		if (state[i] != ROW_TRAIN)
			continue;
		for (uint64_t k = ds->pair_start[i]; k < ds->pair_start[i + 1]; k++)
			runtime[ds->pair_freq[k]] += ds->pair_ns[k];
	}
	for (size_t f = 0; f < nf; f++) {
		order[f] = (uint32_t)f;
		total += runtime[f];
	}
	qsort_r(order, nf, sizeof(*order), by_khz, (void *)ds);
	for (size_t s = 0; s < nf; s++)
		g[s] = (struct group){ .khz = ds->freq_khz[order[s]],
				       .lo = s,
				       .hi = s,
				       .share = total > 0 ? runtime[order[s]] / total : 0,
				       .alive = true };
	free(runtime);

	d->merges = calloc(nf ? nf : 1, sizeof(*d->merges));
	if (!d->merges)
		return -ENOMEM;
	while (alive > 1) {
		size_t m = SIZE_MAX, into;

		for (size_t s = 0; s < nf; s++)
			if (g[s].alive && (m == SIZE_MAX || g[s].share < g[m].share))
				m = s;
		if (g[m].share >= min_share && alive <= MODEL_MAX_FREQS)
			break;
		/* Into the next lower group; the lowest goes into the next higher one. */
		if (g[m].lo > 0) {
			for (into = g[m].lo - 1; !g[into].alive; into--)
				;
		} else {
			for (into = g[m].hi + 1; !g[into].alive; into++)
				;
		}
		d->merges[d->num_merges++] = (struct freq_merge){ .from_khz = g[m].khz,
								  .into_khz = g[into].khz,
								  .share = g[m].share };
		if (printed++ < MAX_MERGE_LINES)
			log_info("frequency %u kHz (%.3g%% of the training runtime) merged into %u "
				 "kHz: %s",
				 g[m].khz, 100 * g[m].share, g[into].khz,
				 g[m].share < min_share ? "less than --min-freq-share" :
							  "more frequencies than a config holds");
		g[into].share += g[m].share;
		if (g[m].lo < g[into].lo)
			g[into].lo = g[m].lo;
		if (g[m].hi > g[into].hi)
			g[into].hi = g[m].hi;
		g[m].alive = false;
		alive--;
	}
	if (printed > MAX_MERGE_LINES)
		log_info("... and %zu more frequencies merged (the report lists them all)",
			 printed - MAX_MERGE_LINES);
	*num_groups = alive;
	return 0;
}

struct col_stats {
	double min, max, sumsq;
};

int design_finish(struct design *d, const struct dataset *ds, const struct design_opts *o,
		  const uint8_t *state)
{
	size_t nf = ds->num_freqs, n_train = 0, num_groups = 0, p = 0;
	uint32_t *order = calloc(nf ? nf : 1, sizeof(*order));
	struct group *g = calloc(nf ? nf : 1, sizeof(*g));
	struct col_stats st[DESIGN_MAX_FEATURES];
	int new_index[DESIGN_MAX_FEATURES];
	double x[DESIGN_MAX_FEATURES];
	int err = -ENOMEM;

	d->freq_col = malloc((nf ? nf : 1) * sizeof(*d->freq_col));
	if (!order || !g || !d->freq_col) {
		log_error("out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < ds->rows; i++)
		n_train += state[i] == ROW_TRAIN;
	if (!n_train) {
		log_error("no training rows");
		err = -EINVAL;
		goto cleanup;
	}
	err = merge_freqs(d, ds, state, o->min_freq_share, order, g, &num_groups);
	if (err) {
		log_error("out of memory");
		goto cleanup;
	}

	if (!num_groups)
		drop(d, "freq_runtime_ns",
		     "no runtime at any frequency in the %zu training rows: every freq_khz weight "
		     "and default_multiplier will be 0",
		     n_train);

	/* Candidate columns: groups by kHz, then kept counts, then the duration. */
	for (size_t s = 0; s < nf; s++) {
		struct feature *f;

		if (!g[s].alive)
			continue;
		f = &d->feat[p];
		*f = (struct feature){ .kind = FEATURE_FREQ,
				       .freq_khz = g[s].khz,
				       .runtime_share = g[s].share,
				       .unit = "uJ/ns" };
		snprintf(f->name, sizeof(f->name), "freq_khz=%u", g[s].khz);
		for (size_t k = g[s].lo; k <= g[s].hi; k++)
			d->freq_col[order[k]] = (int32_t)p;
		p++;
	}
	for (int c = 0; c < MF_COUNT; c++) {
		if (!d->count_kept[c])
			continue;
		d->feat[p] =
			(struct feature){ .kind = FEATURE_COUNT, .count = c, .unit = "uJ/event" };
		snprintf(d->feat[p].name, sizeof(d->feat[p].name), "%s", model_feature_name(c));
		d->count_col[c] = (int)p++;
	}
	if (o->fit_idle) {
		d->feat[p] = (struct feature){ .kind = FEATURE_IDLE, .unit = "uW" };
		snprintf(d->feat[p].name, sizeof(d->feat[p].name), "idle_power");
		d->idle_col = (int)p++;
	}
	d->p = p;

	for (size_t j = 0; j < p; j++)
		st[j] = (struct col_stats){ .min = INFINITY, .max = -INFINITY };
	for (size_t i = 0; i < ds->rows; i++) {
		if (state[i] != ROW_TRAIN)
			continue;
		design_row(d, ds, i, x);
		for (size_t j = 0; j < p; j++) {
			st[j].min = fmin(st[j].min, x[j]);
			st[j].max = fmax(st[j].max, x[j]);
			st[j].sumsq += x[j] * x[j];
		}
	}

	/* Drop all-zero and constant columns, keeping the order of the rest. */
	size_t kept = 0;

	for (size_t j = 0; j < p; j++) {
		struct feature *f = &d->feat[j];

		new_index[j] = -1;
		if (f->kind != FEATURE_IDLE && st[j].max == 0 && st[j].min == 0)
			drop(d, f->name, "all zero in the %zu training rows", n_train);
		else if (f->kind != FEATURE_IDLE && st[j].max == st[j].min)
			drop(d, f->name,
			     "constant (%.17g in every training row): it cannot be told apart "
			     "from an offset",
			     st[j].min);
		else
			new_index[j] = (int)kept++;
		if (new_index[j] < 0)
			continue;
		f->scale = sqrt(st[j].sumsq / (double)n_train);
		d->feat[new_index[j]] = *f;
	}
	for (size_t fi = 0; fi < nf; fi++)
		if (d->freq_col[fi] >= 0)
			d->freq_col[fi] = new_index[d->freq_col[fi]];
	for (int c = 0; c < MF_COUNT; c++)
		if (d->count_col[c] >= 0)
			d->count_col[c] = new_index[d->count_col[c]];
	if (d->idle_col >= 0)
		d->idle_col = new_index[d->idle_col];
	d->p = kept;
	err = 0;
cleanup:
	free(order);
	free(g);
	return err;
}

void design_row(const struct design *d, const struct dataset *ds, size_t i, double *x)
{
	for (size_t j = 0; j < d->p; j++)
		x[j] = 0;
	for (uint64_t k = ds->pair_start[i]; k < ds->pair_start[i + 1]; k++) {
		int32_t c = d->freq_col[ds->pair_freq[k]];

		if (c >= 0)
			x[c] += ds->pair_ns[k];
	}
	for (int c = 0; c < MF_COUNT; c++)
		if (d->count_col[c] >= 0)
			x[d->count_col[c]] = ds->count[c][i];
	if (d->idle_col >= 0)
		x[d->idle_col] = ds->duration_s[i];
}

void design_free(struct design *d)
{
	free(d->freq_col);
	free(d->merges);
	d->freq_col = NULL;
	d->merges = NULL;
}
