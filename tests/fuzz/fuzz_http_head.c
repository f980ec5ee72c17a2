// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the kernel-side request-head state machine (bpf/http_head.h),
 * fed the input in fuzzer-chosen segments, against common/http_parser.c reading the
 * same bytes whole. Aborts when they disagree on where a head ends, on a head's method
 * kind, or on rejecting the stream.
 *
 * Input: byte 0 = number of cuts (low 4 bits), then 2 bytes per cut (a segment
 * boundary, modulo the stream's length), then the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "http_head_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hd_trace k, r, e;
	size_t cuts[16], ncuts, len;
	const uint8_t *stream;
	const char *why;

	if (size < 1)
		return 0;
	ncuts = data[0] & 15;
	if (size < 1 + 2 * ncuts)
		return 0;
	stream = data + 1 + 2 * ncuts;
	len = size - 1 - 2 * ncuts;
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = len ? (size_t)(data[1 + 2 * i] | data[2 + 2 * i] << 8) % len : 0;
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);

	hd_kernel_trace(stream, len, cuts, ncuts, &k);
	hd_reference_trace(stream, len, &r);
	why = hd_disagreement(&k, &r);
	if (why) {
		fprintf(stderr, "fuzz_http_head: disagreement: %s\n", why);
		hd_print(stderr, "state machine", &k);
		hd_print(stderr, "http_parser  ", &r);
		abort();
	}
	/* ingress passes hh_passes() bytes over: the same heads as hh_step() on each */
	hd_every_byte = true;
	hd_kernel_trace(stream, len, cuts, ncuts, &e);
	hd_every_byte = false;
	if (hd_disagreement(&k, &e) || k.end != e.end) {
		fprintf(stderr, "fuzz_http_head: passing bytes over (hh_passes) changes the heads\n");
		hd_print(stderr, "as ingress   ", &k);
		hd_print(stderr, "every byte   ", &e);
		abort();
	}
	return 0;
}
