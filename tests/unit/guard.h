/* SPDX-License-Identifier: MIT */
/*
 * Places test input so that its last byte is the last readable byte before a
 * PROT_NONE page: a parser that reads one byte too far faults at once.
 */
#ifndef HTTP_ENERGY_TEST_GUARD_H
#define HTTP_ENERGY_TEST_GUARD_H

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guarded {
	char *map;
	size_t map_len;
	char *data; /* data[len] is on the guard page */
};

static inline char *guarded_place(struct guarded *g, const void *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (len + page - 1) / page + 1;

	g->map_len = (data_pages + 1) * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (g->map == MAP_FAILED)
		return NULL;
	mprotect(g->map + data_pages * page, page, PROT_NONE);
	g->data = g->map + data_pages * page - len;
	memcpy(g->data, src, len);
	return g->data;
}

static inline void guarded_free(struct guarded *g)
{
	munmap(g->map, g->map_len);
}

#endif
