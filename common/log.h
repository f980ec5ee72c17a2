/* SPDX-License-Identifier: MIT */
/*
 * One-line messages to stderr in the project's format: "PROGRAM: WHAT".
 * PROGRAM is program_invocation_short_name, so every binary gets it for free.
 */
#ifndef HTTP_ENERGY_LOG_H
#define HTTP_ENERGY_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Set once at start-up from --verbose; the only state this module keeps. */
void log_set_verbose(bool verbose);
bool log_is_verbose(void);

/* "PROGRAM: " + message + "\n", to stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with --verbose. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A printable, bounded copy of untrusted text (a config value, a CSV cell) for a one-line
 * message: control characters, quotes and backslashes as \xNN, "..." where it is cut.
 * Returns buf.
 */
const char *log_quote(const char *s, size_t len, char *buf, size_t size);

void log_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
