// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: bench_http's response reader (head, Content-Length, chunked and
 * read-to-close bodies). Differential: the first byte picks a piece size, and feeding the
 * rest in pieces must give the same outcome as feeding it all at once.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../bench/resp_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	int rc;
	size_t consumed;
	struct resp_result res;
};

static struct outcome run(struct resp_reader *r, const char *buf, size_t len, size_t piece)
{
	struct outcome o = { .rc = RESP_MORE };
	size_t off = 0;

	resp_reader__start(r, false);
	while (off < len) {
		size_t n = piece && len - off > piece ? piece : len - off, used;

		o.rc = resp_reader__feed(r, buf + off, n, &used);
		if (used > n)
			__builtin_trap();
		off += used;
		if (o.rc != RESP_MORE)
			break;
		if (used != n)
			__builtin_trap(); /* more is needed, so all must have been taken */
	}
	if (o.rc == RESP_MORE)
		o.rc = resp_reader__eof(r);
	o.consumed = off;
	o.res = r->result;
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_reader r;
	struct outcome whole, split;

	if (size < 1)
		return 0;
	resp_reader__init(&r);
	whole = run(&r, (const char *)data + 1, size - 1, 0);
	split = run(&r, (const char *)data + 1, size - 1, (size_t)data[0] % 17 + 1);
	if (whole.rc != split.rc)
		__builtin_trap();
	if (whole.rc == RESP_DONE &&
	    (whole.consumed != split.consumed || memcmp(&whole.res, &split.res, sizeof(whole.res))))
		__builtin_trap();
	resp_reader__free(&r);
	return 0;
}
