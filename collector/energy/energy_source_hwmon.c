// SPDX-License-Identifier: MIT
/*
 * hwmon: /sys/class/hwmon/hwmonN/energyM_input, cumulative microjoules (amd_energy and
 * others). amd_energy has per-core ("Ecore012") and per-socket ("Esocket0") channels whose
 * sum would count cores twice: where socket channels exist only they are used; otherwise
 * every energy channel is summed. Drivers keep these counters 64-bit, so one that goes
 * backwards is an error rather than a wrap.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "energy_source_impl.h"
#include "parse.h"

#define HWMON_DIR "sys/class/hwmon"
#define MAX_CHANNELS 4096

struct channel {
	char name[48]; /* "hwmon2/energy1_input" */
	char path[PATH_MAX];
	char label[32];
	uint64_t first_uj, last_uj;
};

struct hwmon_priv {
	size_t n, cap;
	struct channel *c;
};

/* "energyN_input" */
static bool is_energy_input(const char *name, uint64_t *index)
{
	size_t len = strlen(name);

	return len > 12 && !strncmp(name, "energy", 6) && !strcmp(name + len - 6, "_input") &&
	       !parse_u64_n(name + 6, len - 12, 0, 100000, index);
}

static int cmp_channel(const void *a, const void *b)
{
	return strcmp(((const struct channel *)a)->name, ((const struct channel *)b)->name);
}

static int scan_device(struct energy_source *src, struct hwmon_priv *pp, const char *dev)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int err = 0;

	if (es_path(src, dir, sizeof(dir), HWMON_DIR "/%s", dev))
		return es_fail(src, -ENAMETOOLONG, "%s: path too long", dev);
	d = opendir(dir);
	if (!d)
		return es_fail(src, -errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		struct channel *c;
		uint64_t idx;

		if (!is_energy_input(e->d_name, &idx))
			continue;
		if (pp->n == MAX_CHANNELS) {
			err = es_fail(src, -E2BIG, "%s: more than %d energy channels", dir,
				      MAX_CHANNELS);
			break;
		}
		if (pp->n == pp->cap) {
			size_t cap = pp->cap ? 2 * pp->cap : 16;
			struct channel *more = realloc(pp->c, cap * sizeof(*more));

			if (!more) {
				err = es_fail(src, -ENOMEM, "out of memory");
				break;
			}
			pp->c = more;
			pp->cap = cap;
		}
		c = &pp->c[pp->n];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%.20s/%.24s", dev, e->d_name);
		if (snprintf(c->path, sizeof(c->path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(c->path)) {
			err = es_fail(src, -ENAMETOOLONG, "%s: path too long", dir);
			break;
		}
		if (snprintf(path, sizeof(path), "%s/energy%llu_label", dir,
			     (unsigned long long)idx) >= (int)sizeof(path) ||
		    es_read_text(path, c->label, sizeof(c->label)))
			c->label[0] = '\0'; /* labels are optional */
		pp->n++;
	}
	closedir(d);
	return err;
}

static int hwmon_open(struct energy_source *src, const char *arg)
{
	char base[PATH_MAX];
	struct hwmon_priv *pp;
	struct dirent *e;
	bool sockets = false;
	size_t kept = 0;
	DIR *d;
	int err = 0;

	if (es_path(src, base, sizeof(base), HWMON_DIR))
		return es_fail(src, -ENAMETOOLONG, "root directory: path too long");
	d = opendir(base);
	if (!d)
		return es_fail(src, -errno, "%s: %s", base,
			       errno == ENOENT ? "not found" : strerror(errno));
	pp = calloc(1, sizeof(*pp));
	if (!pp) {
		closedir(d);
		return es_fail(src, -ENOMEM, "out of memory");
	}
	src->priv = pp;
	while ((e = readdir(d)) && !err)
		if (!strncmp(e->d_name, "hwmon", 5))
			err = scan_device(src, pp, e->d_name);
	closedir(d);
	if (err)
		return err;
	if (pp->n == 0)
		return es_fail(src, -ENOENT, "%s: no hwmonN/energyM_input files", base);

	for (size_t i = 0; i < pp->n; i++)
		sockets |= !strncmp(pp->c[i].label, "Esocket", 7);
	for (size_t i = 0; i < pp->n; i++)
		if (!sockets || !strncmp(pp->c[i].label, "Esocket", 7))
			pp->c[kept++] = pp->c[i];
	pp->n = kept;
	qsort(pp->c, pp->n, sizeof(pp->c[0]), cmp_channel);

	es_describe(src, "hwmon: %s, %s:", base,
		    sockets ? "socket channels (Esocket*)" : "sum of all energy channels");
	for (size_t i = 0; i < pp->n; i++) {
		struct channel *c = &pp->c[i];

		err = es_read_u64(src, c->path, &c->first_uj);
		if (err == -EACCES)
			return es_fail(src, err, "%s: Permission denied", c->path);
		if (err)
			return err;
		c->last_uj = c->first_uj;
		es_describe(src, "%s %s%s%s%s", i ? "," : "", c->name, c->label[0] ? " (" : "",
			    c->label, c->label[0] ? ")" : "");
	}
	return 0;
}

static int hwmon_read(struct energy_source *src, uint64_t now_ns, uint64_t *energy_uj)
{
	struct hwmon_priv *pp = src->priv;
	uint64_t total = 0;

	for (size_t i = 0; i < pp->n; i++) {
		struct channel *c = &pp->c[i];
		uint64_t raw;
		int err = es_read_u64(src, c->path, &raw);

		if (err)
			return err;
		if (raw < c->last_uj)
			return es_fail(src, -EIO, "%s: counter went backwards from %llu to %llu",
				       c->path, (unsigned long long)c->last_uj,
				       (unsigned long long)raw);
		c->last_uj = raw;
		total += raw - c->first_uj;
	}
	*energy_uj = total;
	return 0;
}

static void hwmon_close(struct energy_source *src)
{
	struct hwmon_priv *pp = src->priv;

	if (pp)
		free(pp->c);
	free(pp);
	src->priv = NULL;
}

const struct energy_backend es_hwmon_backend = {
	.name = "hwmon",
	.measured = true,
	.open = hwmon_open,
	.read = hwmon_read,
	.close = hwmon_close,
};
