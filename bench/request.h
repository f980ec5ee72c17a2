/* SPDX-License-Identifier: MIT */
/*
 * The bytes bench_http sends for each mix entry, built once before the run: a request
 * head per entry and one shared body buffer as large as the largest body.
 */
#ifndef HTTP_ENERGY_BENCH_REQUEST_H
#define HTTP_ENERGY_BENCH_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "mix.h"
#include "url.h"

struct request_wire {
	char *head;
	size_t head_len;
	size_t body_len; /* bytes of request_set.body sent after the head */
	bool head_request; /* HEAD: the response has no body */
};

struct request_set {
	size_t n;
	struct request_wire *wire; /* one per mix entry, same order */
	char *body;
};

/* Returns NULL (errno ENOMEM) when out of memory. */
struct request_set *request_set__new(const struct mix *m, const struct url *u);
void request_set__free(struct request_set *rs);

#endif
