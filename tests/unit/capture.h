/* SPDX-License-Identifier: MIT */
/*
 * Captures what the code under test writes to stderr (fd 2), so tests can check that an
 * error is printed exactly once and says what it should.
 */
#ifndef HTTP_ENERGY_TEST_CAPTURE_H
#define HTTP_ENERGY_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int saved_fd;
	FILE *tmp;
	char text[8192];
};

static inline void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	if (!c->tmp)
		abort();
	c->saved_fd = dup(2);
	dup2(fileno(c->tmp), 2);
}

/* Returns the captured text (NUL-terminated, truncated to fit). */
static inline const char *capture_end(struct capture *c)
{
	size_t n;

	fflush(stderr);
	dup2(c->saved_fd, 2);
	close(c->saved_fd);
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
	/* Show it in the test log too, for whoever reads a failure. */
	fputs(c->text, stderr);
	return c->text;
}

/* Number of '\n'-terminated lines in s. */
static inline int capture_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#endif
