// SPDX-License-Identifier: MIT
/*
 * psys and rapl: the perf "power" PMU. Its sysfs directory gives the PMU type, each
 * event's encoding (events/energy-psys = "event=0x05", placed into attr.config through
 * format/event = "config:0-7"), the joules per count (events/NAME.scale) and the CPUs to
 * open it on (cpumask: one per package). Counts are 64-bit and kept by the kernel, so
 * they do not wrap; one that goes backwards is an error.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "energy_source_impl.h"
#include "parse.h"

#define PMU_DIR "sys/bus/event_source/devices/power"
#define MAX_COUNTERS 64

struct counter {
	const char *event; /* "energy-psys", ... */
	int cpu;
	int fd;
	double uj_per_count;
	uint64_t first, last;
};

struct perf_priv {
	size_t n;
	struct counter c[MAX_COUNTERS];
};

static int perf_open_syscall(void *ctx, uint32_t type, uint64_t config, int cpu)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = type, .config = config };
	long fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : (int)fd;
}

/* "0x1f" or "31": the kernel writes event terms in hex. */
static int parse_term_value(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (len - 2 > 16)
			return -ERANGE;
		for (size_t i = 2; i < len; i++) {
			char c = s[i];
			unsigned d;

			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return -EINVAL;
			v = v << 4 | d;
		}
		*out = v;
		return 0;
	}
	return parse_u64_n(s, len, 0, UINT64_MAX, out);
}

/* format/TERM: "config:LO-HI" or "config:BIT". */
static int read_format(struct energy_source *src, const char *term, unsigned *lo, unsigned *hi)
{
	char path[PATH_MAX], text[64];
	uint64_t a, b;
	const char *dash;
	int err;

	if (es_path(src, path, sizeof(path), PMU_DIR "/format/%s", term))
		return es_fail(src, -ENAMETOOLONG, "format/%s: path too long", term);
	err = es_read_text(path, text, sizeof(text));
	if (err == -ENOENT && !strcmp(term, "event")) {
		*lo = 0; /* no format file: "event" is the whole config */
		*hi = 63;
		return 0;
	}
	if (err)
		return es_fail(src, err, "%s: %s", path, strerror(-err));
	if (strncmp(text, "config:", 7))
		return es_fail(src, -EINVAL, "%s: \"%s\" is not a config:LO-HI format", path, text);
	dash = strchr(text + 7, '-');
	err = parse_u64_n(text + 7, dash ? (size_t)(dash - text - 7) : strlen(text + 7), 0, 63, &a);
	b = a;
	if (!err && dash)
		err = parse_u64(dash + 1, a, 63, &b);
	if (err)
		return es_fail(src, -EINVAL, "%s: \"%s\" is not a config:LO-HI format", path, text);
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

/* events/NAME ("event=0x05,umask=0x1") into attr.config through the format files. */
static int read_event_config(struct energy_source *src, const char *event, uint64_t *config)
{
	char path[PATH_MAX], text[256];
	const char *p;
	int err;

	if (es_path(src, path, sizeof(path), PMU_DIR "/events/%s", event))
		return es_fail(src, -ENAMETOOLONG, "events/%s: path too long", event);
	err = es_read_text(path, text, sizeof(text));
	if (err == -ENOENT)
		return es_fail(src, err, "%s: not found (this CPU has no such RAPL domain)", path);
	if (err)
		return es_fail(src, err, "%s: %s", path, strerror(-err));
	*config = 0;
	for (p = text; *p;) {
		size_t len = strcspn(p, ","), name_len;
		const char *eq = memchr(p, '=', len);
		char term[32];
		uint64_t v = 1;
		unsigned lo = 0, hi = 63;

		name_len = eq ? (size_t)(eq - p) : len;
		if (name_len == 0 || name_len >= sizeof(term) ||
		    (eq && parse_term_value(eq + 1, len - name_len - 1, &v)))
			return es_fail(src, -EINVAL, "%s: \"%s\" is not an event encoding", path,
				       text);
		memcpy(term, p, name_len);
		term[name_len] = '\0';
		err = read_format(src, term, &lo, &hi);
		if (err)
			return err;
		if (hi - lo < 63 && v >> (hi - lo + 1))
			return es_fail(src, -ERANGE, "%s: %s=%llu does not fit config:%u-%u", path,
				       term, (unsigned long long)v, lo, hi);
		*config |= v << lo;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* events/NAME.scale (joules per count) and, where present, events/NAME.unit. */
static int read_scale(struct energy_source *src, const char *event, double *uj_per_count)
{
	char path[PATH_MAX], text[64];
	double j;
	int err;

	if (es_path(src, path, sizeof(path), PMU_DIR "/events/%s.unit", event))
		return es_fail(src, -ENAMETOOLONG, "events/%s: path too long", event);
	err = es_read_text(path, text, sizeof(text));
	if (!err && strcmp(text, "Joules"))
		return es_fail(src, -EINVAL, "%s: \"%s\" is not Joules", path, text);
	if (es_path(src, path, sizeof(path), PMU_DIR "/events/%s.scale", event))
		return es_fail(src, -ENAMETOOLONG, "events/%s: path too long", event);
	err = es_read_text(path, text, sizeof(text));
	if (err == -EFBIG)
		err = -EINVAL;
	if (err)
		return es_fail(src, err, "%s: %s", path, strerror(-err));
	err = parse_double(text, 0, 1, &j);
	if (err || j <= 0)
		return es_fail(src, -EINVAL, "%s: \"%s\" is not a scale in (0, 1] J", path, text);
	*uj_per_count = j * 1e6;
	return 0;
}

/* cpumask is a CPU list ("0", "0,36", "0-1"); one CPU per package. */
static int read_cpus(struct energy_source *src, int *cpus, size_t max, size_t *n)
{
	char path[PATH_MAX], text[512];
	const char *p;
	int err;

	if (es_path(src, path, sizeof(path), PMU_DIR "/cpumask"))
		return es_fail(src, -ENAMETOOLONG, "cpumask: path too long");
	err = es_read_text(path, text, sizeof(text));
	if (err)
		return es_fail(src, err, "%s: %s", path, strerror(-err));
	*n = 0;
	for (p = text; *p;) {
		size_t len = strcspn(p, ","), a_len;
		const char *dash = memchr(p, '-', len);
		uint64_t a, b;

		a_len = dash ? (size_t)(dash - p) : len;
		err = parse_u64_n(p, a_len, 0, 65535, &a);
		b = a;
		if (!err && dash)
			err = parse_u64_n(dash + 1, len - a_len - 1, a, 65535, &b);
		if (err)
			return es_fail(src, -EINVAL, "%s: \"%s\" is not a CPU list", path, text);
		for (uint64_t c = a; c <= b; c++) {
			if (*n == max)
				return es_fail(src, -E2BIG, "%s: more than %zu CPUs", path, max);
			cpus[(*n)++] = (int)c;
		}
		p += len + (p[len] == ',');
	}
	if (*n == 0)
		return es_fail(src, -EINVAL, "%s: empty", path);
	return 0;
}

static int read_count(struct energy_source *src, struct counter *c, uint64_t *count)
{
	ssize_t n = read(c->fd, count, sizeof(*count));

	if (n < 0)
		return es_fail(src, -errno, "power/%s (cpu %d): read: %s", c->event, c->cpu,
			       strerror(errno));
	if (n != sizeof(*count))
		return es_fail(src, -EIO, "power/%s (cpu %d): short read of %zd bytes", c->event,
			       c->cpu, n);
	return 0;
}

/* Opens event on each of cpus; an optional event that is absent is skipped. */
static int add_event(struct energy_source *src, struct perf_priv *pp, uint32_t type,
		     const char *event, const int *cpus, size_t ncpus, bool optional)
{
	uint64_t config = 0;
	double uj = 0;
	int err;

	err = read_event_config(src, event, &config);
	if (err == -ENOENT && optional)
		return 0;
	if (!err)
		err = read_scale(src, event, &uj);
	if (err)
		return err;
	for (size_t i = 0; i < ncpus; i++) {
		int (*open_fn)(void *, uint32_t, uint64_t, int) =
			src->opts.perf_open ? src->opts.perf_open : perf_open_syscall;
		struct counter *c;
		int fd;

		if (pp->n == MAX_COUNTERS)
			return es_fail(src, -E2BIG, "more than %d counters", MAX_COUNTERS);
		fd = open_fn(src->opts.hook_ctx, type, config, cpus[i]);
		if (fd < 0) {
			const char *hint = fd == -EACCES || fd == -EPERM ?
						   " (needs root, CAP_PERFMON or "
						   "kernel.perf_event_paranoid <= 0)" :
						   "";

			return es_fail(src, fd,
				       "perf_event_open(power/%s, config 0x%llx, cpu %d): "
				       "%s%s",
				       event, (unsigned long long)config, cpus[i], strerror(-fd),
				       hint);
		}
		c = &pp->c[pp->n++];
		*c = (struct counter){
			.event = event, .cpu = cpus[i], .fd = fd, .uj_per_count = uj
		};
		err = read_count(src, c, &c->first);
		if (err)
			return err;
		c->last = c->first;
		es_describe(src, "%s power/%s = config 0x%llx, scale %.10g uJ/count, cpu %d",
			    pp->n > 1 ? ";" : "", event, (unsigned long long)config, uj, cpus[i]);
	}
	return 0;
}

static int perf_open_events(struct energy_source *src, const char *const *events,
			    const bool *optional, size_t nevents)
{
	char path[PATH_MAX];
	struct perf_priv *pp;
	int cpus[256];
	size_t ncpus = 0;
	uint64_t type;
	int err;

	if (es_path(src, path, sizeof(path), PMU_DIR "/type"))
		return es_fail(src, -ENAMETOOLONG, "root directory: path too long");
	if (access(path, F_OK)) {
		es_path(src, path, sizeof(path), PMU_DIR);
		return es_fail(src, -ENOENT, "%s: not found", path);
	}
	err = es_read_u64(src, path, &type);
	if (err)
		return err;
	if (type > UINT32_MAX)
		return es_fail(src, -ERANGE, "%s: %llu is not a PMU type", path,
			       (unsigned long long)type);
	/* psys is platform-wide: one CPU is enough; packages need one CPU each. */
	err = read_cpus(src, cpus, src->backend == &es_psys_backend ? 1 : 256, &ncpus);
	if (err == -E2BIG && src->backend == &es_psys_backend)
		err = 0, ncpus = 1;
	if (err)
		return err;
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return es_fail(src, -ENOMEM, "out of memory");
	src->priv = pp;
	es_path(src, path, sizeof(path), PMU_DIR);
	es_describe(src, "%s: perf PMU %s type %llu:", src->backend->name, path,
		    (unsigned long long)type);
	for (size_t i = 0; i < nevents; i++) {
		err = add_event(src, pp, (uint32_t)type, events[i], cpus, ncpus, optional[i]);
		if (err)
			return err;
	}
	return 0;
}

static int psys_open(struct energy_source *src, const char *arg)
{
	static const char *const events[] = { "energy-psys" };
	static const bool optional[] = { false };

	return perf_open_events(src, events, optional, 1);
}

static int rapl_open(struct energy_source *src, const char *arg)
{
	static const char *const events[] = { "energy-pkg", "energy-ram" };
	static const bool optional[] = { false, true };

	return perf_open_events(src, events, optional, 2);
}

static int perf_read(struct energy_source *src, uint64_t now_ns, uint64_t *energy_uj)
{
	struct perf_priv *pp = src->priv;
	double total = 0;

	for (size_t i = 0; i < pp->n; i++) {
		struct counter *c = &pp->c[i];
		uint64_t count;
		int err = read_count(src, c, &count);

		if (err)
			return err;
		if (count < c->last)
			return es_fail(
				src, -EIO,
				"power/%s (cpu %d): counter went backwards from %llu to %llu",
				c->event, c->cpu, (unsigned long long)c->last,
				(unsigned long long)count);
		c->last = count;
		total += (double)(count - c->first) * c->uj_per_count;
	}
	*energy_uj = (uint64_t)floor(total);
	return 0;
}

static void perf_close(struct energy_source *src)
{
	struct perf_priv *pp = src->priv;

	if (!pp)
		return;
	for (size_t i = 0; i < pp->n; i++)
		close(pp->c[i].fd);
	free(pp);
	src->priv = NULL;
}

const struct energy_backend es_psys_backend = {
	.name = "psys",
	.measured = true,
	.open = psys_open,
	.read = perf_read,
	.close = perf_close,
};

const struct energy_backend es_rapl_backend = {
	.name = "rapl",
	.measured = true,
	.open = rapl_open,
	.read = perf_read,
	.close = perf_close,
};
