/* SPDX-License-Identifier: MIT */
/*
 * Interval CSVs with known coefficients, for the fitter's unit tests: every row's energy
 * is sum(weight * signal) plus Gaussian noise whose standard deviation is noise * that
 * sum. The signals are drawn so that each feature carries a fair share of the energy.
 * Deterministic for a given seed (splitmix64 from split.h).
 */
#ifndef HTTP_ENERGY_TEST_FIT_GEN_H
#define HTTP_ENERGY_TEST_FIT_GEN_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_loader.h"
#include "csv_schema.h"
#include "dataset.h"
#include "rng.h"
#include "split.h"

#define GEN_MAX_FREQS 16
/* The counts fitted by default (model_features.h's BPF block); the rest stay empty. */
#define GEN_COUNTS (MF_MIGRATIONS + 1)

struct gen_spec {
	size_t rows;
	size_t num_freqs;
	uint32_t khz[GEN_MAX_FREQS];
	double w_freq[GEN_MAX_FREQS]; /* uJ/ns */
	double w_count[GEN_COUNTS]; /* uJ/event */
	bool measured[GEN_COUNTS]; /* else the cells are empty */
	bool zero[GEN_COUNTS]; /* measured, but always 0 */
	int collinear_with; /* >= 0: migrations = that count / 10, exactly */
	double w_softirq_net_rx; /* > 0: a softirq_net_rx column with this uJ/event, else empty */
	double noise; /* relative standard deviation */
	size_t outlier_every; /* > 0: every such row's energy is 5 times the model's */
	uint64_t idle_uw; /* idle_uj column; interval_psys_uj = active + idle */
	uint64_t seed;
	size_t num_labels; /* rows cycle through "a", "b", ... in blocks */
};

/* The generated signals, row-major, for independent checks. */
struct gen_rows {
	size_t rows;
	double (*freq_ns)[GEN_MAX_FREQS];
	double (*count)[GEN_COUNTS];
	double *active; /* with noise */
};

static inline double gen_uniform(uint64_t *s)
{
	return (double)(splitmix64_next(s) >> 11) * 0x1p-53;
}

static inline double gen_gauss(uint64_t *s)
{
	double u1 = gen_uniform(s) + 0x1p-60, u2 = gen_uniform(s);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static inline void gen_defaults(struct gen_spec *g)
{
	static const double w[] = { 0.0011, 0.0016, 0.0021, 0.0029, 0.0036, 0.0047 };

	memset(g, 0, sizeof(*g));
	g->rows = 4000;
	g->num_freqs = 6;
	for (size_t f = 0; f < g->num_freqs; f++) {
		g->khz[f] = 800000 + 400000 * (uint32_t)f;
		g->w_freq[f] = w[f];
	}
	g->w_count[MF_WAKEUPS] = 1.5;
	g->w_count[MF_CYCLES] = 0.0001;
	g->w_count[MF_INSTRUCTIONS] = 0.00005;
	g->w_count[MF_CACHE_MISSES] = 0.002;
	g->w_count[MF_MIGRATIONS] = 4;
	for (int c = 0; c < GEN_COUNTS; c++)
		g->measured[c] = true;
	g->collinear_with = -1;
	g->noise = 0.01;
	g->idle_uw = 2000000;
	g->seed = 42;
	g->num_labels = 1;
}

/* Upper bounds of the uniform draws: each count's term is ~9% of the energy. */
static inline double gen_count_max(int c)
{
	static const double max[GEN_COUNTS] = { 160000, 2.4e9, 4.8e9, 1.2e8, 60000 };

	return max[c];
}

/* The CSV text (malloc'd) and, if rows is not NULL, the signals. */
static inline char *gen_csv(const struct gen_spec *g, struct gen_rows *rows)
{
	size_t cap = 512 + g->rows * (340 + 24 * g->num_freqs), o = 0;
	char *buf = malloc(cap);
	uint64_t s = g->seed;

	if (!buf)
		abort();
	if (rows) {
		rows->rows = g->rows;
		rows->freq_ns = calloc(g->rows, sizeof(*rows->freq_ns));
		rows->count = calloc(g->rows, sizeof(*rows->count));
		rows->active = calloc(g->rows, sizeof(*rows->active));
		if (!rows->freq_ns || !rows->count || !rows->active)
			abort();
	}
	o += (size_t)snprintf(buf + o, cap - o, "%s\n", csv_header());
	for (size_t i = 0; i < g->rows; i++) {
		double ns[GEN_MAX_FREQS], cnt[GEN_COUNTS], e = 0, runtime = 0, active;
		const uint64_t t0 = 1000000000ULL + i * 200000000ULL, t1 = t0 + 200000000ULL;
		uint64_t idle_uj = g->idle_uw / 5; /* 200 ms */
		char freqs[GEN_MAX_FREQS * 32] = "", cells[GEN_COUNTS][32], net_rx[32] = "";
		size_t fo = 0;
		int label = (int)(g->num_labels ? i * g->num_labels / g->rows : 0);

		for (size_t f = 0; f < g->num_freqs; f++) {
			ns[f] = gen_uniform(&s) < 0.6 ? floor(gen_uniform(&s) * 1.5e8) : 0;
			e += g->w_freq[f] * ns[f];
			runtime += ns[f];
			if (ns[f] > 0)
				fo += (size_t)snprintf(freqs + fo, sizeof(freqs) - fo, "%s%u:%.0f",
						       fo ? ";" : "", g->khz[f], ns[f]);
		}
		for (int c = 0; c < GEN_COUNTS; c++) {
			cnt[c] = g->zero[c] ? 0 : floor(gen_uniform(&s) * gen_count_max(c));
			if (c == g->collinear_with)
				cnt[c] = 10 * floor(cnt[c] / 10); /* so that / 10 is exact */
			if (c == MF_MIGRATIONS && g->collinear_with >= 0)
				cnt[c] = cnt[g->collinear_with] / 10;
		}
		for (int c = 0; c < GEN_COUNTS; c++) {
			if (g->measured[c]) {
				e += g->w_count[c] * cnt[c];
				snprintf(cells[c], sizeof(cells[c]), "%.0f", cnt[c]);
			} else {
				cells[c][0] = '\0';
			}
		}
		if (g->w_softirq_net_rx > 0) {
			double n = floor(gen_uniform(&s) * 400000);

			e += g->w_softirq_net_rx * n;
			snprintf(net_rx, sizeof(net_rx), "%.0f", n);
		}
		active = round(e + g->noise * e * gen_gauss(&s));
		if (g->outlier_every && i % g->outlier_every == g->outlier_every - 1)
			active *= 5;
		if (rows) {
			memcpy(rows->freq_ns[i], ns, sizeof(ns));
			memcpy(rows->count[i], cnt, sizeof(cnt));
			rows->active[i] = active;
		}
		o += (size_t)snprintf(
			buf + o, cap - o,
			"%zu,%c,%llu,%llu,synthetic,%.0f,%llu,%.0f,%.0f,%s,%s,%s,%s,%s,%s,"
			"0,0,0,0,0,0,0,,,,",
			i, 'a' + label, (unsigned long long)t0, (unsigned long long)t1,
			active + (double)idle_uj, (unsigned long long)idle_uj, active, runtime,
			cells[MF_WAKEUPS], cells[MF_CYCLES], cells[MF_INSTRUCTIONS],
			cells[MF_CACHE_MISSES], cells[MF_MIGRATIONS], freqs);
		/* The columns after gpu_energy_uj (csv_schema.h): issue 13's, then the host block. */
		for (int c = CSV_GPU_ENERGY_UJ + 1; c < CSV_COLUMNS; c++)
			o += (size_t)snprintf(buf + o, cap - o, ",%s", c == CSV_SOFTIRQ_NET_RX ? net_rx : "");
		o += (size_t)snprintf(buf + o, cap - o, "\n");
		if (o + 400 + 24 * g->num_freqs > cap)
			abort();
	}
	return buf;
}

static inline void gen_rows_free(struct gen_rows *r)
{
	free(r->freq_ns);
	free(r->count);
	free(r->active);
}

/* Loads CSV text as one file named name into ds; the loader's return value. */
static inline int gen_load(struct dataset *ds, const char *name, const char *text,
			   enum csv_column target)
{
	struct csv_loader *l;
	int err = csv_loader__new(ds, target, &l);

	if (!err)
		err = csv_loader__begin(l, name);
	if (!err)
		err = csv_loader__feed(l, text, strlen(text));
	if (!err)
		err = csv_loader__end(l);
	csv_loader__free(l);
	return err;
}

#endif
