// SPDX-License-Identifier: MIT
#include "energy_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "energy_source_impl.h"
#include "log.h"
#include "parse.h"

static const struct energy_backend *const backends[] = {
	&es_psys_backend,  &es_rapl_backend,   &es_powercap_backend,
	&es_hwmon_backend, &es_replay_backend, &es_synthetic_backend,
};

/* The one list of names users see; energy_source_check() accepts exactly these. */
#define SOURCE_NAMES "psys, rapl, powercap, hwmon, replay:FILE, synthetic[:CONF], auto"

/* auto's order: the most complete measurement first. */
static const struct energy_backend *const auto_order[] = {
	&es_psys_backend,
	&es_rapl_backend,
	&es_powercap_backend,
	&es_hwmon_backend,
};

int es_fail(struct energy_source *src, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(src->why, sizeof(src->why), fmt, ap);
	va_end(ap);
	return err;
}

int es_fail_reported(struct energy_source *src, int err)
{
	src->why[0] = '\0';
	return err;
}

int es_path(const struct energy_source *src, char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(src->root);
	va_list ap;
	int m;

	if (n + 1 >= size)
		return -ENAMETOOLONG;
	memcpy(buf, src->root, n);
	buf[n++] = '/';
	va_start(ap, fmt);
	m = vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= size - n)
		return -ENAMETOOLONG;
	return 0;
}

int es_read_text(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* sysfs hands out a whole attribute per read; loop anyway for regular files. */
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == size) {
		err = -EFBIG;
		goto cleanup;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
cleanup:
	close(fd);
	return err;
}

int es_read_u64(struct energy_source *src, const char *path, uint64_t *out)
{
	char text[64];
	int err = es_read_text(path, text, sizeof(text));

	if (err == -EFBIG)
		return es_fail(src, -EINVAL, "%s: not a number (too long)", path);
	if (err)
		return es_fail(src, err, "%s: %s", path, strerror(-err));
	err = parse_u64(text, 0, UINT64_MAX, out);
	if (err)
		return es_fail(src, err, "%s: \"%.40s\" %s", path, text, parse_strerror(err));
	return 0;
}

void es_describe(struct energy_source *src, const char *fmt, ...)
{
	size_t n = strlen(src->desc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(src->desc + n, sizeof(src->desc) - n, fmt, ap);
	va_end(ap);
}

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Opens one backend into a fresh source; on failure src->why says why (or "" if said). */
static int try_backend(const struct energy_backend *be, const char *arg,
		       const struct energy_source_opts *opts, struct energy_source **out, char *why,
		       size_t why_size)
{
	struct energy_source *src = calloc(1, sizeof(*src));
	const char *root = opts && opts->root_dir && opts->root_dir[0] ? opts->root_dir : "/";
	size_t root_len = strlen(root);
	int err;

	if (!src) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	if (opts)
		src->opts = *opts;
	if (!src->opts.clock_ns)
		src->opts.clock_ns = monotonic_ns;
	while (root_len > 0 && root[root_len - 1] == '/')
		root_len--;
	if (root_len >= sizeof(src->root)) {
		free(src);
		snprintf(why, why_size, "root directory %.64s...: path too long", root);
		return -ENAMETOOLONG;
	}
	memcpy(src->root, root, root_len);
	src->root[root_len] = '\0';
	src->opts.root_dir = NULL; /* callers' strings are not ours to keep */
	src->opts.synthetic_conf = NULL;
	if (opts && opts->synthetic_conf && !arg && be == &es_synthetic_backend)
		arg = opts->synthetic_conf;
	src->backend = be;
	err = be->open(src, arg);
	if (err) {
		snprintf(why, why_size, "%s", src->why);
		if (be->close)
			be->close(src);
		free(src);
		return err;
	}
	*out = src;
	return 0;
}

int energy_source_check(const char *spec, const char **why)
{
	const char *colon;
	size_t name_len;

	if (config_check_energy_source(spec, why)) /* the grammar: common/config.c */
		return -EINVAL;
	colon = strchr(spec, ':');
	name_len = colon ? (size_t)(colon - spec) : strlen(spec);
	if (!strcmp(spec, "auto"))
		return 0;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const struct energy_backend *b = backends[i];

		if (strlen(b->name) != name_len || strncmp(spec, b->name, name_len))
			continue;
		if (colon && !b->arg)
			break;
		if (!colon && b->missing_arg) {
			*why = b->missing_arg;
			return -EINVAL;
		}
		return 0;
	}
	*why = "is not one of " SOURCE_NAMES;
	return -EINVAL;
}

int energy_source__open(const char *spec, const struct energy_source_opts *opts,
			struct energy_source **out)
{
	char name[16], why[ES_WHY_MAX];
	const char *colon, *arg = NULL, *bad;
	size_t name_len;
	int err;

	if (!spec || energy_source_check(spec, &bad)) {
		log_error("energy source \"%.64s\" %s", spec ? spec : "",
			  spec ? bad : "is missing");
		return -EINVAL;
	}
	colon = strchr(spec, ':');
	name_len = colon ? (size_t)(colon - spec) : strlen(spec);
	snprintf(name, sizeof(name), "%.*s", (int)name_len, spec);
	if (colon)
		arg = colon + 1;

	if (!strcmp(name, "auto")) {
		for (size_t i = 0; i < sizeof(auto_order) / sizeof(auto_order[0]); i++) {
			err = try_backend(auto_order[i], NULL, opts, out, why, sizeof(why));
			if (!err)
				return 0;
			if (why[0])
				log_info("energy source %s: %s", auto_order[i]->name, why);
		}
		log_error("energy source auto: none of psys, rapl, powercap, hwmon works on this "
			  "host (use synthetic, which is a model, or replay:FILE)");
		return -ENODEV;
	}
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(name, backends[i]->name))
			continue;
		err = try_backend(backends[i], arg, opts, out, why, sizeof(why));
		if (err && why[0])
			log_error("energy source %s: %s", name, why);
		return err;
	}
	log_error("energy source \"%s\" is unknown", spec); /* energy_source_check knows */
	return -EINVAL;
}

int energy_source__read(struct energy_source *src, uint64_t *energy_uj, uint64_t *t_ns)
{
	uint64_t now = src->opts.clock_ns(src->opts.hook_ctx);
	uint64_t uj;
	int err;

	err = src->backend->read(src, now, &uj);
	if (err) {
		if (src->why[0])
			log_error("energy source %s: %s", src->backend->name, src->why);
		return err;
	}
	*energy_uj = uj;
	*t_ns = now;
	return 0;
}

int energy_source__feed_signals(struct energy_source *src, const struct interval_signals *sig,
				const struct signals_available *av)
{
	if (!src->backend->feed)
		return 0;
	return src->backend->feed(src, sig, av);
}

const char *energy_source__name(const struct energy_source *src)
{
	return src->backend->name;
}

const char *energy_source__describe(const struct energy_source *src)
{
	return src->desc;
}

bool energy_source__is_measured(const struct energy_source *src)
{
	return src->backend->measured;
}

void energy_source__close(struct energy_source *src)
{
	if (!src)
		return;
	if (src->backend->close)
		src->backend->close(src);
	free(src);
}
