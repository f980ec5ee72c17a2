// SPDX-License-Identifier: MIT
#include "softirqs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

#define SOFTIRQS_FILE_MAX (1 << 20) /* bytes: 11 rows of 11 digits for 8192 CPUs fit */
#define PATH_LEN 4096
#define ERR_LEN (PATH_LEN + 256) /* a message naming the path */

struct softirqs {
	char path[PATH_LEN];
	char *buf;
	uint64_t last[SOFTIRQ_GROUPS];
	bool have_last;
	bool reported; /* a failure was printed */
};

static const struct {
	const char *name;
	enum softirq_group group;
} vectors[] = {
	{ "NET_RX", SOFTIRQ_NET_RX }, { "NET_TX", SOFTIRQ_NET_TX }, { "BLOCK", SOFTIRQ_BLOCK },
	{ "TIMER", SOFTIRQ_TIMER },   { "SCHED", SOFTIRQ_SCHED },   { "RCU", SOFTIRQ_RCU },
};

static enum softirq_group group_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		if (strlen(vectors[i].name) == len && !memcmp(vectors[i].name, name, len))
			return vectors[i].group;
	return SOFTIRQ_OTHER; /* HI, IRQ_POLL, TASKLET, HRTIMER and any newer vector */
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated token of [*p, end): its start and length; 0 at the end. */
static size_t next_token(const char **p, const char *end)
{
	const char *s = *p;
	size_t n = 0;

	while (s < end && is_space(*s))
		s++;
	while (s + n < end && !is_space(s[n]))
		n++;
	*p = s;
	return n;
}

int softirqs_parse(const char *name, const char *text, size_t len, uint64_t totals[SOFTIRQ_GROUPS],
		   char *err, size_t err_len)
{
	uint64_t sum[SOFTIRQ_GROUPS] = { 0 };
	size_t cpus = 0, pos = 0;
	unsigned line = 0;
	char q[96];

	while (pos < len) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		const char *end = nl ? nl : text + len;
		size_t n, values = 0;
		enum softirq_group g;

		pos = (size_t)(end - text) + 1;
		line++;
		if (line == 1) {
			/* "CPU0 CPU1 ...": the number of columns every row must have */
			while ((n = next_token(&p, end))) {
				if (n < 4 || memcmp(p, "CPU", 3)) {
					snprintf(err, err_len, "%s:%u: \"%s\" is not a CPU column",
						 name, line, log_quote(p, n, q, sizeof(q)));
					return -EINVAL;
				}
				cpus++;
				p += n;
			}
			if (!cpus) {
				snprintf(err, err_len, "%s:1: the header names no CPU", name);
				return -EINVAL;
			}
			continue;
		}
		n = next_token(&p, end);
		if (!n)
			continue; /* a blank line */
		if (n < 2 || p[n - 1] != ':') {
			snprintf(err, err_len, "%s:%u: \"%s\" is not a vector name (\"NAME:\")",
				 name, line, log_quote(p, n, q, sizeof(q)));
			return -EINVAL;
		}
		g = group_of(p, n - 1);
		p += n;
		while ((n = next_token(&p, end))) {
			uint64_t v;

			if (parse_u64_n(p, n, 0, UINT64_MAX, &v)) {
				snprintf(err, err_len, "%s:%u: \"%s\" is not a count", name, line,
					 log_quote(p, n, q, sizeof(q)));
				return -EINVAL;
			}
			sum[g] += v;
			values++;
			p += n;
		}
		if (values != cpus) {
			snprintf(err, err_len, "%s:%u: %zu values where the header has %zu CPUs",
				 name, line, values, cpus);
			return -EINVAL;
		}
	}
	if (!cpus) {
		snprintf(err, err_len, "%s: is empty", name);
		return -EINVAL;
	}
	memcpy(totals, sum, sizeof(sum));
	return 0;
}

/* The whole file into s->buf: its length, or a negative errno (err set). */
static ssize_t read_file(struct softirqs *s, char *err, size_t err_len)
{
	ssize_t n, len = 0;
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		n = -errno;
		snprintf(err, err_len, "%s: %s", s->path, strerror(errno));
		return n;
	}
	while (len < SOFTIRQS_FILE_MAX) {
		n = read(fd, s->buf + len, (size_t)(SOFTIRQS_FILE_MAX - len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			snprintf(err, err_len, "%s: %s", s->path, strerror(errno));
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (len == SOFTIRQS_FILE_MAX) {
		snprintf(err, err_len, "%s: larger than %d bytes", s->path, SOFTIRQS_FILE_MAX);
		return -E2BIG;
	}
	return len;
}

/* A sample into now[]: 0, or an error with its one line in err. */
static int take(struct softirqs *s, uint64_t now[SOFTIRQ_GROUPS], char *err, size_t err_len)
{
	ssize_t len = read_file(s, err, err_len);

	if (len < 0)
		return (int)len;
	return softirqs_parse(s->path, s->buf, (size_t)len, now, err, err_len);
}

static void report_once(struct softirqs *s, const char *err)
{
	if (s->reported)
		return;
	s->reported = true;
	log_info("%s; the softirq_* columns are empty while it lasts", err);
}

int softirqs__open(const char *root, struct softirqs **out)
{
	struct softirqs *s = calloc(1, sizeof(*s));
	char err[ERR_LEN];

	if (!s)
		return -ENOMEM;
	s->buf = malloc(SOFTIRQS_FILE_MAX);
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	if (!root)
		root = "/";
	snprintf(s->path, sizeof(s->path), "%s%sproc/softirqs", root,
		 root[0] && root[strlen(root) - 1] == '/' ? "" : "/");
	if (take(s, s->last, err, sizeof(err)))
		report_once(s, err);
	else
		s->have_last = true;
	*out = s;
	return 0;
}

void softirqs__sample(struct softirqs *s, struct softirq_counts *out)
{
	uint64_t now[SOFTIRQ_GROUPS];
	char err[ERR_LEN];
	bool have_now = !take(s, now, err, sizeof(err));

	memset(out, 0, sizeof(*out));
	if (!have_now)
		report_once(s, err);
	if (have_now && s->have_last) {
		out->valid = true;
		for (int g = 0; g < SOFTIRQ_GROUPS; g++) {
			if (now[g] < s->last[g])
				out->valid = false; /* a CPU's column went away */
			out->count[g] = now[g] - s->last[g];
		}
		if (!out->valid)
			memset(out->count, 0, sizeof(out->count));
	}
	if (have_now)
		memcpy(s->last, now, sizeof(now));
	s->have_last = have_now;
}

void softirqs__close(struct softirqs *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}
