// SPDX-License-Identifier: MIT
/*
 * powercap: /sys/class/powercap/intel-rapl:N, the top-level RAPL zones (the same driver
 * serves AMD). The zone whose name file says "psys" covers the platform; without one, the
 * sum of the "package-N" zones. energy_uj wraps to 0 after max_energy_range_uj: a reading
 * below the previous one is a wrap, added back, counted and logged. (Two wraps between
 * reads cannot be seen; at 1 kW a range of 2^38 uJ lasts over 4 minutes.)
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "energy_source_impl.h"
#include "log.h"
#include "parse.h"

#define POWERCAP_DIR "sys/class/powercap"
#define MAX_ZONES 32

struct zone {
	char dir[32]; /* "intel-rapl:0" */
	char energy_path[PATH_MAX];
	uint64_t max_range_uj;
	uint64_t last_uj;
	uint64_t total_uj; /* since open, wraps added back */
	unsigned wraps;
};

struct powercap_priv {
	size_t n;
	struct zone z[MAX_ZONES];
};

/* "intel-rapl:N" with N decimal: a top-level zone (subzones are "intel-rapl:N:M"). */
static bool is_top_zone(const char *name)
{
	uint64_t n;

	return !strncmp(name, "intel-rapl:", 11) && !parse_u64(name + 11, 0, 1023, &n);
}

static int cmp_zone(const void *a, const void *b)
{
	return strcmp(((const struct zone *)a)->dir, ((const struct zone *)b)->dir);
}

static int add_zone(struct energy_source *src, struct powercap_priv *pp, const char *dir)
{
	struct zone *z = &pp->z[pp->n];
	char path[PATH_MAX];
	int err;

	snprintf(z->dir, sizeof(z->dir), "%s", dir);
	if (es_path(src, path, sizeof(path), POWERCAP_DIR "/%s/max_energy_range_uj", dir) ||
	    es_path(src, z->energy_path, sizeof(z->energy_path), POWERCAP_DIR "/%s/energy_uj", dir))
		return es_fail(src, -ENAMETOOLONG, "%s: path too long", dir);
	err = es_read_u64(src, path, &z->max_range_uj);
	if (err)
		return err;
	if (z->max_range_uj == 0)
		return es_fail(src, -EINVAL, "%s: 0 is not a counter range", path);
	err = es_read_u64(src, z->energy_path, &z->last_uj);
	if (err == -EACCES)
		return es_fail(src, err, "%s: Permission denied (root only since Linux 5.10)",
			       z->energy_path);
	if (err)
		return err;
	if (z->last_uj > z->max_range_uj)
		return es_fail(src, -ERANGE, "%s: %llu is above max_energy_range_uj %llu",
			       z->energy_path, (unsigned long long)z->last_uj,
			       (unsigned long long)z->max_range_uj);
	pp->n++;
	return 0;
}

static int powercap_open(struct energy_source *src, const char *arg)
{
	char base[PATH_MAX], path[PATH_MAX], name[64];
	char psys[32] = "", packages[MAX_ZONES][32];
	size_t npackages = 0;
	struct powercap_priv *pp;
	struct dirent *e;
	DIR *d;
	int err = 0;

	if (es_path(src, base, sizeof(base), POWERCAP_DIR))
		return es_fail(src, -ENAMETOOLONG, "root directory: path too long");
	d = opendir(base);
	if (!d)
		return es_fail(src, -errno, "%s: %s", base,
			       errno == ENOENT ? "not found" : strerror(errno));
	while ((e = readdir(d))) {
		if (!is_top_zone(e->d_name))
			continue;
		if (es_path(src, path, sizeof(path), POWERCAP_DIR "/%s/name", e->d_name))
			continue;
		err = es_read_text(path, name, sizeof(name));
		if (err) {
			err = es_fail(src, err, "%s: %s", path, strerror(-err));
			break;
		}
		/* is_top_zone() names are at most 15 bytes long. */
		if (!strcmp(name, "psys"))
			memcpy(psys, e->d_name, strlen(e->d_name) + 1);
		else if (!strncmp(name, "package-", 8) && npackages < MAX_ZONES)
			memcpy(packages[npackages++], e->d_name, strlen(e->d_name) + 1);
	}
	closedir(d);
	if (err)
		return err;
	if (!psys[0] && !npackages)
		return es_fail(src, -ENOENT, "%s: no intel-rapl:N zone named psys or package-N",
			       base);

	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return es_fail(src, -ENOMEM, "out of memory");
	src->priv = pp;
	if (psys[0]) {
		err = add_zone(src, pp, psys);
	} else {
		for (size_t i = 0; i < npackages && !err; i++)
			err = add_zone(src, pp, packages[i]);
	}
	if (err)
		return err;
	qsort(pp->z, pp->n, sizeof(pp->z[0]), cmp_zone); /* stable descriptions */
	es_describe(src, "powercap: %s %s", base, psys[0] ? "psys zone" : "sum of packages");
	for (size_t i = 0; i < pp->n; i++)
		es_describe(src, "%s %s (max_energy_range_uj %llu)", i ? "," : "", pp->z[i].dir,
			    (unsigned long long)pp->z[i].max_range_uj);
	return 0;
}

static int powercap_read(struct energy_source *src, uint64_t now_ns, uint64_t *energy_uj)
{
	struct powercap_priv *pp = src->priv;
	uint64_t total = 0;

	for (size_t i = 0; i < pp->n; i++) {
		struct zone *z = &pp->z[i];
		uint64_t raw;
		int err = es_read_u64(src, z->energy_path, &raw);

		if (err)
			return err;
		if (raw > z->max_range_uj)
			return es_fail(src, -ERANGE, "%s: %llu is above max_energy_range_uj %llu",
				       z->energy_path, (unsigned long long)raw,
				       (unsigned long long)z->max_range_uj);
		if (raw < z->last_uj) {
			z->wraps++;
			z->total_uj += z->max_range_uj - z->last_uj + raw;
			log_info("energy source powercap: %s wrapped at max_energy_range_uj %llu "
				 "(%llu -> %llu); wrap %u, counted",
				 z->dir, (unsigned long long)z->max_range_uj,
				 (unsigned long long)z->last_uj, (unsigned long long)raw, z->wraps);
		} else {
			z->total_uj += raw - z->last_uj;
		}
		z->last_uj = raw;
		total += z->total_uj;
	}
	*energy_uj = total;
	return 0;
}

static void powercap_close(struct energy_source *src)
{
	free(src->priv);
	src->priv = NULL;
}

const struct energy_backend es_powercap_backend = {
	.name = "powercap",
	.measured = true,
	.open = powercap_open,
	.read = powercap_read,
	.close = powercap_close,
};
