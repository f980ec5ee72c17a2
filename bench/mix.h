/* SPDX-License-Identifier: MIT */
/*
 * The request mix: which requests bench_http sends and how often.
 *
 * A mix comes from a built-in profile, from --path options or from a JSON mix file, and
 * each connection draws its next request from it with its own seeded PRNG, so a run's
 * request sequence is reproducible. The constructors print their own errors (naming
 * the file, the entry and the field) and return a negative errno.
 */
#ifndef HTTP_ENERGY_BENCH_MIX_H
#define HTTP_ENERGY_BENCH_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define MIX_MAX_ENTRIES 64
#define MIX_MAX_BODY_KB (64 * 1024) /* 64 MiB */
#define MIX_MAX_TARGET 2048
#define MIX_MAX_NAME 64

struct mix_entry {
	char method[16];
	char target[MIX_MAX_TARGET]; /* origin-form path and query */
	uint64_t body_kb; /* request body of body_kb KiB (0: none) */
	double weight; /* > 0; relative to the other entries */
	char name[MIX_MAX_NAME + MIX_MAX_TARGET]; /* label in reports */
};

struct mix;

/* "mixed" or one of "cpu", "json", "compress", "file", "post"; -ENOENT if unknown. */
int mix__from_profile(const char *profile, struct mix **out);
/* Each path is "TARGET" (GET) or "METHOD TARGET"; methods other than GET and HEAD send a
 * body of body_kb KiB. */
int mix__from_paths(const char *const *paths, size_t n, uint64_t body_kb, struct mix **out);
/* A JSON array of {"path", "method"?, "body_kb"?, "weight"?, "name"?} objects. */
int mix__from_file(const char *file, struct mix **out);
void mix__free(struct mix *m);

size_t mix__size(const struct mix *m);
const struct mix_entry *mix__entry(const struct mix *m, size_t i);
/* Probability of entry i: its weight over the sum of weights. */
double mix__probability(const struct mix *m, size_t i);

/* The profile names, comma-separated, for --help and error messages. */
const char *mix_profile_names(void);

/* Index of the next request, drawn by weight. */
size_t mix__draw(const struct mix *m, struct xoshiro256 *r);

#endif
