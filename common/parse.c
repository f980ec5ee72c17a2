// SPDX-License-Identifier: MIT
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int parse_u64_n(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int overflow = 0;

	if (!s || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			v = v * 10 + d;
	}
	if (overflow || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s)
		return -EINVAL;
	return parse_u64_n(s, strlen(s), min, max, out);
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t mag;
	int neg, err;
	int64_t v;

	if (!s)
		return -EINVAL;
	neg = s[0] == '-';
	err = parse_u64(s + neg, 0, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
	if (err)
		return err;
	if (neg)
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		v = (int64_t)mag;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int finite_decimal_syntax(const char *s, size_t len)
{
	/* strtod also takes hex floats, "inf" and "nan"; we take plain decimals only. */
	int digits = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digits++;
		else if (!strchr("+-.eE", c))
			return 0;
	}
	return digits > 0;
}

int parse_double_n(const char *s, size_t len, double min, double max, double *out)
{
	char buf[64];
	char *end;
	double v;

	if (!s || len == 0 || len >= sizeof(buf) || !finite_decimal_syntax(s, len))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf + len)
		return -EINVAL;
	if (!isfinite(v))
		return -ERANGE;
	/* ERANGE on underflow gives a tiny or zero value, which is a fine reading. */
	if (errno == ERANGE && fabs(v) > 1.0)
		return -ERANGE;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	if (!s)
		return -EINVAL;
	return parse_double_n(s, strlen(s), min, max, out);
}

const char *parse_strerror(int err)
{
	return err == -ERANGE ? "is out of range" : "is not a number";
}
