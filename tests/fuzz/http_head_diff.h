/* SPDX-License-Identifier: MIT */
/*
 * The kernel-side request-head state machine (bpf/http_head.h) against a server built on
 * common/http_parser.c, http_framing_parse() and http_chunked.c (as workload_server reads
 * a connection): both read the same bytes, and must agree on where every request head
 * ends, on each head's method kind, and on rejecting the stream.
 *
 * Used by tests/fuzz/fuzz_http_head.c and tests/unit/test_http_head.c.
 */
#ifndef HTTP_ENERGY_HTTP_HEAD_DIFF_H
#define HTTP_ENERGY_HTTP_HEAD_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "http_head.h"
#include "http_parser.h"

#define HD_MAX_HEADS 512

enum hd_end {
	HD_CLEAN, /* the stream ends between messages */
	HD_INCOMPLETE, /* ends inside a head or a body */
	HD_REJECTED,
	HD_TUNNEL, /* a CONNECT head, then opaque bytes */
};

struct hd_trace {
	size_t ends[HD_MAX_HEADS]; /* offset just past each head's blank line */
	unsigned int kinds[HD_MAX_HEADS];
	size_t n;
	int end; /* enum hd_end */
};

static inline void hd_add(struct hd_trace *t, size_t end, unsigned int kind)
{
	if (t->n < HD_MAX_HEADS) {
		t->ends[t->n] = end;
		t->kinds[t->n] = kind;
	}
	t->n++;
}

/* hd_kernel_segment() as ingress walks (bytes hh_passes() takes passed over), or with
 * hh_step() on every byte (the tests compare both) */
static bool hd_every_byte;

/*
 * The kernel's way through a segment (requests.bpf.c parse_step): body bytes skipped in
 * bulk, the rest stepped byte by byte in chunks of up to 64.
 */
static inline void hd_kernel_segment(struct http_head_parser *p, const uint8_t *seg, size_t len,
				     size_t base, struct hd_trace *t)
{
	size_t off = 0;

	while (off < len && p->state != HH_REJECTED && p->state != HH_TUNNEL) {
		if (hh_skipping(p)) {
			off += (size_t)hh_skip(p, len - off);
			continue;
		}
		size_t n = len - off < 64 ? len - off : 64;

		for (size_t j = 0; j < n; j++) {
			if (!hd_every_byte && hh_passes(p, seg[off + j]))
				continue;
			int ev = hh_step(p, seg[off + j]);

			if (ev == HH_HEAD_END)
				hd_add(t, base + off + j + 1, p->kind);
			if (ev == HH_REJECT || hh_skipping(p) || p->state == HH_TUNNEL) {
				n = j + 1;
				break;
			}
		}
		off += n;
	}
}

/* The whole stream, cut into segments at cuts[0..ncuts) (ascending, each < len). */
static inline void hd_kernel_trace(const uint8_t *buf, size_t len, const size_t *cuts, size_t ncuts,
				   struct hd_trace *t)
{
	struct http_head_parser p;
	size_t start = 0;

	memset(t, 0, sizeof(*t));
	hh_init(&p);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t stop = i < ncuts ? cuts[i] : len;

		if (stop < start)
			stop = start;
		if (stop > len)
			stop = len;
		hd_kernel_segment(&p, buf + start, stop - start, start, t);
		start = stop;
	}
	if (p.state == HH_REJECTED)
		t->end = HD_REJECTED;
	else if (p.state == HH_TUNNEL)
		t->end = HD_TUNNEL;
	else if (p.state == HH_START && p.count == 0)
		t->end = HD_CLEAN;
	else
		t->end = HD_INCOMPLETE;
}

static inline unsigned int hd_method_kind(const struct http_request *req)
{
	if (req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0)
		return HH_KIND_HEAD;
	if (req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0)
		return HH_KIND_CONNECT;
	return HH_KIND_PLAIN;
}

/* A server's reading of the stream with the host parsers. */
static inline void hd_reference_trace(const uint8_t *buf, size_t len, struct hd_trace *t)
{
	size_t max_headers = len / 2 + 2, pos = 0;
	struct http_header *headers = malloc(max_headers * sizeof(*headers));
	const char *s = (const char *)buf;

	memset(t, 0, sizeof(*t));
	if (!headers)
		abort();
	for (;;) {
		struct http_request req;
		struct http_framing fr;
		int rc;

		if (pos == len) {
			t->end = HD_CLEAN;
			break;
		}
		rc = http_parse_request(s + pos, len - pos, &req, headers, max_headers);
		if (rc == HTTP_PARSE_INCOMPLETE) {
			t->end = HD_INCOMPLETE;
			break;
		}
		/* a server answers these 400/505 and closes: not a head to frame a response for */
		if (rc < 0 ||
		    http_framing_parse(headers, req.num_headers, req.version_minor, &fr) ||
		    req.version_major != 1 ||
		    (fr.has_transfer_encoding && !fr.chunked &&
		     hd_method_kind(&req) != HH_KIND_CONNECT)) {
			t->end = HD_REJECTED;
			break;
		}
		pos += (size_t)rc;
		hd_add(t, pos, hd_method_kind(&req));
		if (hd_method_kind(&req) == HH_KIND_CONNECT) {
			t->end = HD_TUNNEL;
			break;
		}
		if (fr.has_transfer_encoding) {
			struct http_chunked ch;
			bool bad = false;

			http_chunked_init(&ch);
			while (pos < len && !http_chunked_done(&ch)) {
				const char *data;
				size_t data_len;
				ssize_t n = http_chunked_decode(&ch, s + pos, len - pos, &data,
								&data_len);

				if (n < 0) {
					bad = true;
					break;
				}
				pos += (size_t)n;
			}
			if (bad || !http_chunked_done(&ch)) {
				t->end = bad ? HD_REJECTED : HD_INCOMPLETE;
				break;
			}
		} else if (fr.content_length > 0) {
			if ((uint64_t)fr.content_length > len - pos) {
				t->end = HD_INCOMPLETE;
				break;
			}
			pos += (size_t)fr.content_length;
		}
	}
	free(headers);
}

/*
 * NULL when they agree, else what differs. The reference can only reject a head once
 * its blank line is there, the state machine at the first bad byte: a stream the machine
 * rejects may be one the reference still waits on.
 */
static inline const char *hd_disagreement(const struct hd_trace *k, const struct hd_trace *r)
{
	if (k->n != r->n)
		return "number of heads";
	for (size_t i = 0; i < k->n && i < HD_MAX_HEADS; i++) {
		if (k->ends[i] != r->ends[i])
			return "where a head ends";
		if (k->kinds[i] != r->kinds[i])
			return "a head's method kind";
	}
	if (r->end == HD_REJECTED && k->end != HD_REJECTED)
		return "the reference rejects, the state machine does not";
	if (k->end == HD_REJECTED && r->end != HD_REJECTED && r->end != HD_INCOMPLETE)
		return "the state machine rejects, the reference does not";
	if ((k->end == HD_TUNNEL) != (r->end == HD_TUNNEL))
		return "CONNECT tunnel";
	if ((k->end == HD_CLEAN) != (r->end == HD_CLEAN))
		return "message boundary at the end";
	return NULL;
}

static inline void hd_print(FILE *f, const char *who, const struct hd_trace *t)
{
	static const char *const names[] = { "clean", "incomplete", "rejected", "tunnel" };

	fprintf(f, "%s: %zu heads, %s:", who, t->n, names[t->end & 3]);
	for (size_t i = 0; i < t->n && i < HD_MAX_HEADS; i++)
		fprintf(f, " %zu/%u", t->ends[i], t->kinds[i]);
	fprintf(f, "\n");
}

#endif
