// SPDX-License-Identifier: MIT
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct request_set *request_set__new(const struct mix *m, const struct url *u)
{
	struct request_set *rs = calloc(1, sizeof(*rs));
	size_t max_body = 0;

	if (!rs)
		goto fail;
	rs->n = mix__size(m);
	rs->wire = calloc(rs->n, sizeof(*rs->wire));
	if (!rs->wire)
		goto fail;
	for (size_t i = 0; i < rs->n; i++) {
		const struct mix_entry *e = mix__entry(m, i);
		struct request_wire *w = &rs->wire[i];
		bool bodyless = strcmp(e->method, "GET") == 0 || strcmp(e->method, "HEAD") == 0;
		char length[64] = "";
		int n;

		w->body_len = (size_t)e->body_kb * 1024;
		w->head_request = strcmp(e->method, "HEAD") == 0;
		if (!bodyless)
			snprintf(length, sizeof(length),
				 "Content-Type: application/octet-stream\r\n"
				 "Content-Length: %zu\r\n",
				 w->body_len);
		n = asprintf(&w->head,
			     "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench_http\r\n%s\r\n",
			     e->method, u->base, e->target, u->host_header, length);
		if (n < 0) {
			w->head = NULL;
			goto fail;
		}
		w->head_len = (size_t)n;
		if (w->body_len > max_body)
			max_body = w->body_len;
	}
	rs->body = malloc(max_body ? max_body : 1);
	if (!rs->body)
		goto fail;
	for (size_t i = 0; i < max_body; i++)
		rs->body[i] = "0123456789abcdef"[i % 16];
	return rs;
fail:
	request_set__free(rs);
	errno = ENOMEM;
	return NULL;
}

void request_set__free(struct request_set *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; rs->wire && i < rs->n; i++)
		free(rs->wire[i].head);
	free(rs->wire);
	free(rs->body);
	free(rs);
}
