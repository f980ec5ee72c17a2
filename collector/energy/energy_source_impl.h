/* SPDX-License-Identifier: MIT */
/*
 * Inside of energy_source: what the backends (energy_source_*.c) share. Not for callers.
 */
#ifndef HTTP_ENERGY_ENERGY_SOURCE_IMPL_H
#define HTTP_ENERGY_ENERGY_SOURCE_IMPL_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "energy_source.h"

#define ES_WHY_MAX 768
#define ES_DESC_MAX 1024

struct energy_backend {
	const char *name;
	bool measured;
	/* What may follow "name:" in a spec; NULL: nothing. Required when missing_arg is set. */
	const char *arg;
	const char *missing_arg; /* why a spec without the argument is refused */
	/* arg: text after "name:" or NULL. Fill src->why (es_fail) on failure. */
	int (*open)(struct energy_source *src, const char *arg);
	/* Cumulative µJ at now_ns (taken just before). Fill src->why on failure. */
	int (*read)(struct energy_source *src, uint64_t now_ns, uint64_t *energy_uj);
	int (*feed)(struct energy_source *src, const struct interval_signals *sig,
		    const struct signals_available *av); /* may be NULL */
	void (*close)(struct energy_source *src); /* frees priv; may be NULL */
};

struct energy_source {
	const struct energy_backend *backend;
	char root[PATH_MAX]; /* without a trailing '/'; "" for "/" */
	struct energy_source_opts opts;
	void *priv;
	char desc[ES_DESC_MAX];
	/* Why the last open or read failed; "" when the backend already printed it. */
	char why[ES_WHY_MAX];
};

extern const struct energy_backend es_psys_backend;
extern const struct energy_backend es_rapl_backend;
extern const struct energy_backend es_powercap_backend;
extern const struct energy_backend es_hwmon_backend;
extern const struct energy_backend es_replay_backend;
extern const struct energy_backend es_synthetic_backend;

/* Sets src->why from fmt and returns err (a negative errno). */
int es_fail(struct energy_source *src, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Backend already printed its error: marks src->why as said, returns err. */
int es_fail_reported(struct energy_source *src, int err);
/* buf = root + "/" + relative path from fmt; -ENAMETOOLONG if it does not fit. */
int es_path(const struct energy_source *src, char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A small text file, trailing whitespace removed: 0 or -errno (-EFBIG if it does not fit). */
int es_read_text(const char *path, char *buf, size_t size);
/*
 * An unsigned decimal file (sysfs counters): 0, -errno from reading, or -EINVAL/-ERANGE,
 * with src->why set to "PATH: WHY" in every failure case.
 */
int es_read_u64(struct energy_source *src, const char *path, uint64_t *out);
struct energy_config;
/* The built-in model of plain "synthetic": configs/synthetic_host.conf's values. */
void es_synthetic_reference_model(struct energy_config *cfg);

/* Appends to src->desc. */
void es_describe(struct energy_source *src, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
