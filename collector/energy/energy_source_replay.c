// SPDX-License-Identifier: MIT
/*
 * replay:FILE: a CSV trace "t_ns,energy_uj" (cumulative energy), read whole at open and
 * replayed in real time from its first row: a read tau after open returns the energy
 * linearly interpolated at first t_ns + tau. Reading past the last row is an error.
 * FILE is a path as given (not below the root directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "energy_source_impl.h"
#include "parse.h"

#define REPLAY_FILE_MAX (256u << 20)

struct row {
	uint64_t t_ns, energy_uj;
};

struct replay_priv {
	char path[PATH_MAX];
	size_t n;
	struct row *rows;
	uint64_t open_ns;
};

static int load_file(struct energy_source *src, const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es_fail(src, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		err = es_fail(src, -errno, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > REPLAY_FILE_MAX) {
		err = es_fail(src, -EINVAL, "%s: not a regular file of at most %u MiB", path,
			      REPLAY_FILE_MAX >> 20);
		goto cleanup;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		err = es_fail(src, -ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	*len = 0;
	while (*len < (size_t)st.st_size) {
		n = read(fd, *text + *len, (size_t)st.st_size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = es_fail(src, n ? -errno : -EIO, "%s: %s", path,
				      n ? strerror(errno) : "shorter than its size");
			goto cleanup;
		}
		*len += (size_t)n;
	}
	(*text)[*len] = '\0';
cleanup:
	close(fd);
	return err;
}

static int parse_rows(struct energy_source *src, struct replay_priv *rp, const char *text,
		      size_t len)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	size_t cap = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t raw_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t line_len = raw_len;
		int shown; /* bytes of the line an error message shows */
		const char *comma;
		struct row r;
		int err;

		line++;
		if (line_len && p[line_len - 1] == '\r')
			line_len--;
		shown = line_len > 40 ? 40 : (int)line_len;
		if (line == 1) {
			if (line_len != 14 || memcmp(p, "t_ns,energy_uj", 14))
				return es_fail(
					src, -EINVAL,
					"%s:1: the header is \"%.*s\", not \"t_ns,energy_uj\"",
					rp->path, shown, p);
			goto next;
		}
		if (line_len == 0)
			goto next;
		comma = memchr(p, ',', line_len);
		if (!comma)
			return es_fail(src, -EINVAL, "%s:%u: \"%.*s\" is not \"t_ns,energy_uj\"",
				       rp->path, line, shown, p);
		err = parse_u64_n(p, (size_t)(comma - p), 0, UINT64_MAX, &r.t_ns);
		if (err)
			return es_fail(src, err, "%s:%u: t_ns: \"%.*s\" %s", rp->path, line,
				       (int)(comma - p > 40 ? 40 : comma - p), p,
				       parse_strerror(err));
		size_t e_len = line_len - (size_t)(comma + 1 - p);

		err = parse_u64_n(comma + 1, e_len, 0, UINT64_MAX, &r.energy_uj);
		if (err)
			return es_fail(src, err, "%s:%u: energy_uj: \"%.*s\" %s", rp->path, line,
				       (int)(e_len > 40 ? 40 : e_len), comma + 1,
				       parse_strerror(err));
		if (rp->n && r.t_ns <= rp->rows[rp->n - 1].t_ns)
			return es_fail(src, -EINVAL,
				       "%s:%u: t_ns: \"%llu\" is not after the previous row's %llu",
				       rp->path, line, (unsigned long long)r.t_ns,
				       (unsigned long long)rp->rows[rp->n - 1].t_ns);
		if (rp->n && r.energy_uj < rp->rows[rp->n - 1].energy_uj)
			return es_fail(
				src, -EINVAL,
				"%s:%u: energy_uj: \"%llu\" is below the previous row's %llu "
				"(the trace must be cumulative)",
				rp->path, line, (unsigned long long)r.energy_uj,
				(unsigned long long)rp->rows[rp->n - 1].energy_uj);
		if (rp->n == cap) {
			size_t new_cap = cap ? cap * 2 : 1024;
			struct row *more = realloc(rp->rows, new_cap * sizeof(*more));

			if (!more)
				return es_fail(src, -ENOMEM, "%s: out of memory", rp->path);
			rp->rows = more;
			cap = new_cap;
		}
		rp->rows[rp->n++] = r;
next:
		p += raw_len + (nl != NULL);
	}
	if (line == 0)
		return es_fail(src, -EINVAL, "%s:1: the header is \"\", not \"t_ns,energy_uj\"",
			       rp->path);
	if (rp->n < 2)
		return es_fail(src, -EINVAL, "%s: %zu data rows; a trace needs at least 2",
			       rp->path, rp->n);
	return 0;
}

static int replay_open(struct energy_source *src, const char *arg)
{
	struct replay_priv *rp;
	char *text = NULL;
	size_t len = 0;
	int err;

	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return es_fail(src, -ENOMEM, "out of memory");
	src->priv = rp;
	if (snprintf(rp->path, sizeof(rp->path), "%s", arg) >= (int)sizeof(rp->path))
		return es_fail(src, -ENAMETOOLONG, "%.64s...: path too long", arg);
	err = load_file(src, rp->path, &text, &len);
	if (!err)
		err = parse_rows(src, rp, text, len);
	free(text);
	if (err)
		return err;

	const struct row *a = &rp->rows[0], *b = &rp->rows[rp->n - 1];
	double secs = (double)(b->t_ns - a->t_ns) / 1e9;

	es_describe(src, "replay: %s: %zu rows over %.3f s, mean %.6f W (replayed in real time)",
		    rp->path, rp->n, secs, (double)(b->energy_uj - a->energy_uj) / 1e6 / secs);
	rp->open_ns = src->opts.clock_ns(src->opts.hook_ctx);
	return 0;
}

static int replay_read(struct energy_source *src, uint64_t now_ns, uint64_t *energy_uj)
{
	struct replay_priv *rp = src->priv;
	uint64_t tau = now_ns > rp->open_ns ? now_ns - rp->open_ns : 0;
	uint64_t span = rp->rows[rp->n - 1].t_ns - rp->rows[0].t_ns;
	size_t lo = 0, hi = rp->n - 1;
	const struct row *a, *b;
	uint64_t target;

	if (tau > span)
		return es_fail(src, -ERANGE,
			       "%s: read at +%.3f s is past the end of the trace (%.3f s long)",
			       rp->path, (double)tau / 1e9, (double)span / 1e9);
	target = rp->rows[0].t_ns + tau;
	/* The segment [lo, lo + 1] holding target. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (rp->rows[mid].t_ns <= target)
			lo = mid;
		else
			hi = mid;
	}
	a = &rp->rows[lo];
	b = &rp->rows[lo + 1];
	if (target >= b->t_ns) {
		*energy_uj = b->energy_uj;
		return 0;
	}
	/* 128-bit so that large traces cannot overflow the product. */
	*energy_uj = a->energy_uj + (uint64_t)((unsigned __int128)(b->energy_uj - a->energy_uj) *
					       (target - a->t_ns) / (b->t_ns - a->t_ns));
	return 0;
}

static void replay_close(struct energy_source *src)
{
	struct replay_priv *rp = src->priv;

	if (rp)
		free(rp->rows);
	free(rp);
	src->priv = NULL;
}

const struct energy_backend es_replay_backend = {
	.name = "replay",
	.measured = true,
	.arg = "FILE",
	.missing_arg = "needs a trace: replay:FILE",
	.open = replay_open,
	.read = replay_read,
	.close = replay_close,
};
