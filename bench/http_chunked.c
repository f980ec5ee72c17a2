// SPDX-License-Identifier: MIT
#include "http_chunked.h"

#include <string.h>

#include "http_head.h" /* the byte classes and limits the kernel's framing uses */
#include "http_parser.h"

enum {
	CH_SIZE, /* chunk-size hex digits */
	CH_SIZE_WS, /* BWS after the size: only ';' may follow */
	CH_EXT, /* chunk extension, skipped up to CR */
	CH_SIZE_LF, /* LF ending the size line */
	CH_DATA, /* chunk data */
	CH_DATA_CR, /* CRLF after chunk data */
	CH_DATA_LF,
	CH_TRAILER_BOL, /* start of a trailer line, or CR of the final CRLF */
	CH_TRAILER_NAME, /* field name up to ':' */
	CH_TRAILER_VALUE, /* field value up to CR */
	CH_TRAILER_LF,
	CH_END_LF,
	CH_DONE,
	CH_ERROR,
};

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

bool http_chunked_done(const struct http_chunked *c)
{
	return c->state == CH_DONE;
}

/* One framing byte; returns the next state. */
static int step(struct http_chunked *c, unsigned char b)
{
	int h;

	switch (c->state) {
	case CH_SIZE:
		h = hh_hex(b);
		if (h >= 0) {
			if (++c->size_digits > HH_MAX_SIZE_DIGITS || c->chunk_left > (UINT64_MAX >> 4))
				return CH_ERROR;
			c->chunk_left = (c->chunk_left << 4) | (uint64_t)h;
			return CH_SIZE;
		}
		if (c->size_digits == 0)
			return CH_ERROR;
		if (b == '\r')
			return CH_SIZE_LF;
		if (b == ';') {
			c->line_len = 0;
			return CH_EXT;
		}
		return b == ' ' || b == '\t' ? CH_SIZE_WS : CH_ERROR;
	case CH_SIZE_WS:
		if (b == ' ' || b == '\t')
			return CH_SIZE_WS;
		c->line_len = 0;
		return b == ';' ? CH_EXT : CH_ERROR;
	case CH_EXT:
		if (b == '\r')
			return CH_SIZE_LF;
		if (!hh_is_vchar(b) || ++c->line_len > HTTP_CHUNKED_MAX_LINE)
			return CH_ERROR;
		return CH_EXT;
	case CH_SIZE_LF:
		if (b != '\n')
			return CH_ERROR;
		return c->chunk_left ? CH_DATA : CH_TRAILER_BOL;
	case CH_DATA_CR:
		return b == '\r' ? CH_DATA_LF : CH_ERROR;
	case CH_DATA_LF:
		if (b != '\n')
			return CH_ERROR;
		c->size_digits = 0;
		return CH_SIZE;
	case CH_TRAILER_BOL:
		if (b == '\r')
			return CH_END_LF;
		c->line_len = 1;
		return http_is_tchar(b) ? CH_TRAILER_NAME : CH_ERROR;
	case CH_TRAILER_NAME:
		if (++c->line_len > HTTP_CHUNKED_MAX_LINE)
			return CH_ERROR;
		if (b == ':')
			return CH_TRAILER_VALUE;
		return http_is_tchar(b) ? CH_TRAILER_NAME : CH_ERROR;
	case CH_TRAILER_VALUE:
		if (b == '\r')
			return CH_TRAILER_LF;
		if (!hh_is_vchar(b) || ++c->line_len > HTTP_CHUNKED_MAX_LINE)
			return CH_ERROR;
		return CH_TRAILER_VALUE;
	case CH_TRAILER_LF:
		return b == '\n' ? CH_TRAILER_BOL : CH_ERROR;
	case CH_END_LF:
		return b == '\n' ? CH_DONE : CH_ERROR;
	default:
		return CH_ERROR;
	}
}

ssize_t http_chunked_decode(struct http_chunked *c, const char *buf, size_t len, const char **data,
			    size_t *data_len)
{
	size_t i = 0;

	*data = NULL;
	*data_len = 0;
	while (i < len) {
		if (c->state == CH_DONE)
			break;
		if (c->state == CH_ERROR)
			return HTTP_PARSE_ERROR;
		if (c->state == CH_DATA) {
			size_t n = len - i;

			if (n > c->chunk_left)
				n = (size_t)c->chunk_left;
			*data = buf + i;
			*data_len = n;
			c->chunk_left -= n;
			c->data_bytes += n;
			if (c->chunk_left == 0)
				c->state = CH_DATA_CR;
			return (ssize_t)(i + n);
		}
		c->state = step(c, (unsigned char)buf[i]);
		i++;
	}
	if (c->state == CH_ERROR)
		return HTTP_PARSE_ERROR;
	return (ssize_t)i;
}
