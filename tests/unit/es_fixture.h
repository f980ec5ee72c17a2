/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the energy source tests: a fake clock and a fake perf_event_open (pipes the
 * test writes counts into, read by the real read path), and scratch copies of the fake
 * sysfs trees in tests/fixtures/ that a test may change (wrap, vanish, chmod).
 */
#ifndef HTTP_ENERGY_TEST_ES_FIXTURE_H
#define HTTP_ENERGY_TEST_ES_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "energy_source.h"

#define FAKE_MAX_PERF 16

struct fake {
	uint64_t now_ns;
	uint64_t initial_count; /* what a new perf counter reads first */
	int fail_errno; /* perf_open fails with this when non-zero */
	int nperf;
	struct {
		uint32_t type;
		uint64_t config;
		int cpu;
		int wfd;
	} perf[FAKE_MAX_PERF];
};

static inline uint64_t fake_clock(void *ctx)
{
	return ((struct fake *)ctx)->now_ns;
}

static inline int fake_perf_open(void *ctx, uint32_t type, uint64_t config, int cpu)
{
	struct fake *f = ctx;
	int fds[2];

	if (f->fail_errno)
		return -f->fail_errno;
	if (f->nperf == FAKE_MAX_PERF || pipe2(fds, O_CLOEXEC))
		return -EMFILE;
	f->perf[f->nperf].type = type;
	f->perf[f->nperf].config = config;
	f->perf[f->nperf].cpu = cpu;
	f->perf[f->nperf].wfd = fds[1];
	f->nperf++;
	if (write(fds[1], &f->initial_count, 8) != 8)
		abort();
	return fds[0];
}

/* The next value counter i reads. */
static inline void fake_perf_push(struct fake *f, int i, uint64_t count)
{
	if (write(f->perf[i].wfd, &count, 8) != 8)
		abort();
}

static inline void fake_done(struct fake *f)
{
	for (int i = 0; i < f->nperf; i++)
		close(f->perf[i].wfd);
	f->nperf = 0;
}

static inline struct energy_source_opts fake_opts(struct fake *f, const char *root)
{
	return (struct energy_source_opts){ .root_dir = root,
					    .seed = 1,
					    .clock_ns = fake_clock,
					    .perf_open = fake_perf_open,
					    .hook_ctx = f };
}

/* A scratch copy of tests/fixtures/sysfs/NAME (or an empty dir for NULL) in out. */
static inline void scratch_tree(const char *name, char *out, size_t size)
{
	char cmd[512];

	snprintf(out, size, "/tmp/test_es.XXXXXX");
	if (!mkdtemp(out))
		abort();
	if (chmod(out, 0755)) /* other users (the permission tests) must get in */
		abort();
	if (!name)
		return;
	snprintf(cmd, sizeof(cmd), "cp -a tests/fixtures/sysfs/%s/. %s/", name, out);
	if (system(cmd))
		abort();
}

static inline void scratch_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		abort();
}

/* Writes text to root/rel (which must exist below root's directories). */
static inline void put(const char *root, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

static inline void put_u64(const char *root, const char *rel, uint64_t v)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)v);
	put(root, rel, text);
}

#endif
