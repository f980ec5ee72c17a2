// SPDX-License-Identifier: MIT
#include "resp_reader.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"
#include "parse.h"

enum {
	ST_HEAD,
	ST_BODY_LENGTH,
	ST_BODY_CHUNKED,
	ST_BODY_EOF,
	ST_DONE,
};

void resp_reader__init(struct resp_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->state = ST_DONE;
}

void resp_reader__free(struct resp_reader *r)
{
	free(r->head);
	r->head = NULL;
	r->head_cap = 0;
	r->head_len = 0;
}

void resp_reader__start(struct resp_reader *r, bool head_request)
{
	r->state = ST_HEAD;
	r->head_request = head_request;
	r->got_bytes = false;
	r->head_len = 0;
	r->body_left = 0;
	memset(&r->result, 0, sizeof(r->result));
}

bool resp_reader__started(const struct resp_reader *r)
{
	return r->got_bytes;
}

static void read_energy(struct resp_result *res, const struct http_header *h)
{
	uint64_t uj;
	double d;

	if (res->has_energy || res->energy_invalid)
		return; /* the first one counts */
	if (parse_u64_n(h->value, h->value_len, 0, UINT64_MAX, &uj) == 0) {
		res->energy_uj = uj;
		res->has_energy = true;
	} else if (parse_double_n(h->value, h->value_len, 0, 1e18, &d) == 0) {
		res->energy_uj = (uint64_t)llround(d);
		res->has_energy = true;
	} else {
		res->energy_invalid = true;
	}
}

/* Takes a complete head of head_len bytes and chooses how the body ends. */
static int take_head(struct resp_reader *r, const char *buf, size_t head_len)
{
	struct http_header headers[RESP_MAX_HEADERS];
	struct http_response resp;
	struct http_framing f;
	int rc = http_parse_response(buf, head_len, &resp, headers, RESP_MAX_HEADERS);

	if (rc != (int)head_len || resp.version_major != 1)
		return -EPROTO;
	if (http_framing_parse(headers, resp.num_headers, resp.version_minor, &f))
		return -EPROTO;
	if (resp.status < 200) {
		/* 100 Continue and friends precede the real response; 101 we never asked for. */
		if (resp.status == 101)
			return -EPROTO;
		r->state = ST_HEAD;
		return 0;
	}
	r->result.status = resp.status;
	r->result.keep_alive = f.keep_alive;
	for (size_t i = 0; i < resp.num_headers; i++)
		if (http_header_is(&headers[i], "x-energy-score"))
			read_energy(&r->result, &headers[i]);

	if (r->head_request || resp.status == 204 || resp.status == 304) {
		r->state = ST_DONE;
	} else if (f.chunked) {
		http_chunked_init(&r->chunked);
		r->state = ST_BODY_CHUNKED;
	} else if (!f.has_transfer_encoding && f.content_length >= 0) {
		r->body_left = (uint64_t)f.content_length;
		r->state = r->body_left ? ST_BODY_LENGTH : ST_DONE;
	} else {
		/* No length: the body ends when the server closes (RFC 9112 6.3). */
		r->result.keep_alive = false;
		r->state = ST_BODY_EOF;
	}
	return 0;
}

static int head_append(struct resp_reader *r, const char *buf, size_t len)
{
	if (r->head_len + len > r->head_cap) {
		size_t cap = r->head_cap ? r->head_cap : 2048;
		char *p;

		while (cap < r->head_len + len)
			cap *= 2;
		p = realloc(r->head, cap);
		if (!p)
			return -ENOMEM;
		r->head = p;
		r->head_cap = cap;
	}
	memcpy(r->head + r->head_len, buf, len);
	r->head_len += len;
	return 0;
}

/* Consumes head bytes from buf; *used is how many. */
static int feed_head(struct resp_reader *r, const char *buf, size_t len, size_t *used)
{
	struct http_header headers[RESP_MAX_HEADERS];
	struct http_response resp;
	size_t old = r->head_len, take;
	int rc, err;

	if (old == 0) {
		rc = http_parse_response(buf, len, &resp, headers, RESP_MAX_HEADERS);
		if (rc > 0) {
			*used = (size_t)rc;
			return take_head(r, buf, (size_t)rc);
		}
		if (rc != HTTP_PARSE_INCOMPLETE)
			return -EPROTO;
		if (len > RESP_MAX_HEAD)
			return -EMSGSIZE;
		*used = len;
		return head_append(r, buf, len);
	}

	/* Part of the head came earlier: parse it together with what is new. */
	take = len < RESP_MAX_HEAD - old ? len : RESP_MAX_HEAD - old;
	err = head_append(r, buf, take);
	if (err)
		return err;
	rc = http_parse_response(r->head, r->head_len, &resp, headers, RESP_MAX_HEADERS);
	if (rc > 0) {
		r->head_len = 0;
		*used = (size_t)rc - old;
		return take_head(r, r->head, (size_t)rc);
	}
	if (rc != HTTP_PARSE_INCOMPLETE)
		return -EPROTO;
	if (r->head_len == RESP_MAX_HEAD)
		return -EMSGSIZE;
	*used = take;
	return 0;
}

int resp_reader__feed(struct resp_reader *r, const char *buf, size_t len, size_t *consumed)
{
	size_t c = 0;
	int err;

	*consumed = 0;
	if (len)
		r->got_bytes = true;
	while (c < len && r->state != ST_DONE) {
		size_t n = len - c;

		switch (r->state) {
		case ST_HEAD:
			err = feed_head(r, buf + c, len - c, &n);
			if (err)
				return err;
			break;
		case ST_BODY_LENGTH:
			if (n > r->body_left)
				n = (size_t)r->body_left;
			r->body_left -= n;
			r->result.body_bytes += n;
			if (r->body_left == 0)
				r->state = ST_DONE;
			break;
		case ST_BODY_CHUNKED: {
			const char *data;
			size_t data_len;
			ssize_t rc = http_chunked_decode(&r->chunked, buf + c, n, &data, &data_len);

			if (rc < 0)
				return -EPROTO;
			n = (size_t)rc;
			r->result.body_bytes += data_len;
			if (http_chunked_done(&r->chunked))
				r->state = ST_DONE;
			break;
		}
		case ST_BODY_EOF:
			r->result.body_bytes += n;
			break;
		}
		c += n;
	}
	*consumed = c;
	return r->state == ST_DONE ? RESP_DONE : RESP_MORE;
}

int resp_reader__eof(struct resp_reader *r)
{
	if (r->state == ST_BODY_EOF) {
		r->state = ST_DONE;
		return RESP_DONE;
	}
	if (r->state == ST_DONE)
		return RESP_DONE;
	return r->got_bytes ? -EPROTO : -ENODATA;
}
