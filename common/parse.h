/* SPDX-License-Identifier: MIT */
/*
 * The one place numbers from outside (CSV cells, config values, query strings, sysfs
 * files, command-line options) are turned into integers and doubles.
 *
 * All functions return 0 on success, -EINVAL when the text is not a number of that kind
 * (empty, sign where none is allowed, trailing characters, NaN or infinity), and -ERANGE
 * when it is a number outside [min, max] or beyond the type. *out is written only on
 * success.
 */
#ifndef HTTP_ENERGY_PARSE_H
#define HTTP_ENERGY_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits only: no sign, no spaces, no "0x". */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Same, for text that is not NUL-terminated (a query value, a header). */
int parse_u64_n(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);
/* Optional leading '-', then decimal digits. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* A finite decimal (strtod syntax without hex floats, NaN or infinity). */
int parse_double(const char *s, double min, double max, double *out);
int parse_double_n(const char *s, size_t len, double min, double max, double *out);

/* Text for a parse error: "is not a number" or "is out of range". */
const char *parse_strerror(int err);

#endif
