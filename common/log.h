/* SPDX-License-Identifier: MIT */
/*
 * One-line messages to stderr in the project's format: "PROGRAM: WHAT".
 * PROGRAM is program_invocation_short_name, so every binary gets it for free.
 */
#ifndef HTTP_ENERGY_LOG_H
#define HTTP_ENERGY_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* Set once at start-up from --verbose; the only state this module keeps. */
void log_set_verbose(bool verbose);
bool log_is_verbose(void);

/* "PROGRAM: " + message + "\n", to stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with --verbose. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
