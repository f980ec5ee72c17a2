// SPDX-License-Identifier: MIT
#include "http_parser.h"

#include <string.h>
#include <strings.h>

#define MAX_LEADING_EMPTY_LINES 4

/* RFC 9110 5.6.2 tchar */
bool http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_field_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Finds the CRLF that ends the line starting at p; NULL if the line has a bare CR/LF. */
static const char *line_end(const char *p, const char *end)
{
	const char *cr = memchr(p, '\r', (size_t)(end - p));

	if (!cr || cr + 1 >= end || cr[1] != '\n')
		return NULL;
	if (memchr(p, '\n', (size_t)(cr - p)))
		return NULL;
	return cr;
}

/* "HTTP/d.d" */
static int parse_version(const char *p, const char *end, int *major, int *minor)
{
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) || p[6] != '.' ||
	    !is_digit(p[7]))
		return HTTP_PARSE_ERROR;
	*major = p[5] - '0';
	*minor = p[7] - '0';
	return 0;
}

/* Parses header lines from p up to and including the blank line that ends at head_end. */
static int parse_headers(const char *p, const char *head_end, struct http_header *headers,
			 size_t max_headers, size_t *num_headers)
{
	size_t n = 0;

	for (;;) {
		const char *eol = line_end(p, head_end);
		const char *colon, *v, *ve;

		if (!eol)
			return HTTP_PARSE_ERROR;
		if (eol == p)
			break; /* the blank line */
		if (n == max_headers)
			return HTTP_PARSE_TOO_MANY_HEADERS;
		colon = p;
		while (colon < eol && http_is_tchar((unsigned char)*colon))
			colon++;
		if (colon == p || colon == eol || *colon != ':')
			return HTTP_PARSE_ERROR; /* empty name, folding, or space before ':' */
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = v; c < ve; c++)
			if (!is_field_vchar((unsigned char)*c))
				return HTTP_PARSE_ERROR;
		headers[n].name = p;
		headers[n].name_len = (size_t)(colon - p);
		headers[n].value = v;
		headers[n].value_len = (size_t)(ve - v);
		n++;
		p = eol + 2;
	}
	*num_headers = n;
	return 0;
}

/* Returns the end of the head (just past CRLFCRLF) or NULL when it is not all there. */
static const char *find_head_end(const char *start, const char *end)
{
	const char *hit = memmem(start, (size_t)(end - start), "\r\n\r\n", 4);

	return hit ? hit + 4 : NULL;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req,
		       struct http_header *headers, size_t max_headers)
{
	const char *p = buf, *end = buf + len, *head_end, *eol, *sp1, *sp2;
	int skipped = 0, err;

	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
		if (++skipped > MAX_LEADING_EMPTY_LINES)
			return HTTP_PARSE_ERROR;
		p += 2;
	}
	if (p == end || (end - p == 1 && *p == '\r'))
		return HTTP_PARSE_INCOMPLETE;
	head_end = find_head_end(p, end);
	if (!head_end) {
		/* Fail early on bytes that can never start a request line (TLS, binary). */
		const char *c = p;

		while (c < end && http_is_tchar((unsigned char)*c))
			c++;
		if (c < end && *c != ' ')
			return HTTP_PARSE_ERROR;
		/* A bare LF can never become part of a valid head: say so now, not at timeout. */
		for (c = p; (c = memchr(c, '\n', (size_t)(end - c))) != NULL; c++)
			if (c == p || c[-1] != '\r')
				return HTTP_PARSE_ERROR;
		return HTTP_PARSE_INCOMPLETE;
	}
	eol = line_end(p, head_end);
	if (!eol)
		return HTTP_PARSE_ERROR;

	sp1 = p;
	while (sp1 < eol && http_is_tchar((unsigned char)*sp1))
		sp1++;
	if (sp1 == p || sp1 == eol || *sp1 != ' ')
		return HTTP_PARSE_ERROR;
	sp2 = sp1 + 1;
	while (sp2 < eol && (unsigned char)*sp2 > 0x20 && (unsigned char)*sp2 < 0x7f)
		sp2++;
	if (sp2 == sp1 + 1 || sp2 == eol || *sp2 != ' ')
		return HTTP_PARSE_ERROR;
	err = parse_version(sp2 + 1, eol, &req->version_major, &req->version_minor);
	if (err)
		return err;
	req->method = p;
	req->method_len = (size_t)(sp1 - p);
	req->target = sp1 + 1;
	req->target_len = (size_t)(sp2 - sp1 - 1);

	err = parse_headers(eol + 2, head_end, headers, max_headers, &req->num_headers);
	if (err)
		return err;
	return (int)(head_end - buf);
}

int http_parse_response(const char *buf, size_t len, struct http_response *resp,
			struct http_header *headers, size_t max_headers)
{
	const char *p = buf, *end = buf + len, *head_end, *eol, *r;
	int err;

	head_end = find_head_end(p, end);
	if (!head_end) {
		/* Fail early on bytes that can never become a status line. */
		size_t n = len < 5 ? len : 5;

		if (memcmp(p, "HTTP/", n) != 0)
			return HTTP_PARSE_ERROR;
		return HTTP_PARSE_INCOMPLETE;
	}
	eol = line_end(p, head_end);
	if (!eol || eol - p < 12)
		return HTTP_PARSE_ERROR;
	err = parse_version(p, p + 8, &resp->version_major, &resp->version_minor);
	if (err)
		return err;
	if (p[8] != ' ' || !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]))
		return HTTP_PARSE_ERROR;
	resp->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (resp->status < 100)
		return HTTP_PARSE_ERROR;
	r = p + 12;
	if (r < eol) {
		if (*r != ' ')
			return HTTP_PARSE_ERROR;
		r++;
		for (const char *c = r; c < eol; c++)
			if (!is_field_vchar((unsigned char)*c))
				return HTTP_PARSE_ERROR;
	}
	resp->reason = r;
	resp->reason_len = (size_t)(eol - r);

	err = parse_headers(eol + 2, head_end, headers, max_headers, &resp->num_headers);
	if (err)
		return err;
	return (int)(head_end - buf);
}

bool http_header_is(const struct http_header *h, const char *name)
{
	size_t n = strlen(name);

	return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* True when a comma-separated list value holds token (case-insensitive). */
static bool list_has_token(const char *v, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tlen && strncasecmp(v + s, token, tlen) == 0)
			return true;
	}
	return false;
}

/* True when the last coding of a Transfer-Encoding list is "chunked". */
static bool last_coding_is_chunked(const char *v, size_t len)
{
	size_t e = len, s;

	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	s = e;
	while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
		s--;
	return e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

int http_framing_parse(const struct http_header *headers, size_t num_headers,
		       int version_minor, struct http_framing *out)
{
	bool conn_close = false, conn_keep_alive = false;

	out->content_length = -1;
	out->chunked = false;
	out->has_transfer_encoding = false;
	out->expect_continue = false;

	for (size_t i = 0; i < num_headers; i++) {
		const struct http_header *h = &headers[i];

		if (http_header_is(h, "content-length")) {
			int64_t v = 0;

			if (out->content_length >= 0 || h->value_len == 0 || h->value_len > 18)
				return HTTP_PARSE_ERROR;
			for (size_t k = 0; k < h->value_len; k++) {
				if (!is_digit(h->value[k]))
					return HTTP_PARSE_ERROR;
				v = v * 10 + (h->value[k] - '0');
			}
			out->content_length = v;
		} else if (http_header_is(h, "transfer-encoding")) {
			out->has_transfer_encoding = true;
			out->chunked = last_coding_is_chunked(h->value, h->value_len);
		} else if (http_header_is(h, "connection")) {
			conn_close |= list_has_token(h->value, h->value_len, "close");
			conn_keep_alive |= list_has_token(h->value, h->value_len, "keep-alive");
		} else if (http_header_is(h, "expect")) {
			out->expect_continue = h->value_len == 12 &&
					       strncasecmp(h->value, "100-continue", 12) == 0;
		}
	}
	if (out->has_transfer_encoding && out->content_length >= 0)
		return HTTP_PARSE_ERROR;
	out->keep_alive = version_minor >= 1 ? !conn_close : (conn_keep_alive && !conn_close);
	return 0;
}

void http_target_split(const char *target, size_t target_len, const char **path,
		       size_t *path_len, const char **query, size_t *query_len)
{
	const char *q = memchr(target, '?', target_len);

	*path = target;
	if (!q) {
		*path_len = target_len;
		*query = NULL;
		*query_len = 0;
		return;
	}
	*path_len = (size_t)(q - target);
	*query = q + 1;
	*query_len = target_len - *path_len - 1;
}

int http_query_next(const char *query, size_t query_len, size_t *pos, const char **name,
		    size_t *name_len, const char **value, size_t *value_len)
{
	size_t i = *pos, s, eq;

	while (i < query_len && query[i] == '&')
		i++;
	if (i >= query_len)
		return 0;
	s = i;
	while (i < query_len && query[i] != '&')
		i++;
	eq = s;
	while (eq < i && query[eq] != '=')
		eq++;
	*name = query + s;
	*name_len = eq - s;
	*value = eq < i ? query + eq + 1 : query + i;
	*value_len = eq < i ? i - eq - 1 : 0;
	*pos = i;
	return 1;
}
