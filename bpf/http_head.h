/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Where HTTP/1.x request heads end in a byte stream: a byte-at-a-time state machine in
 * plain C (no BPF helpers, no libc, no pointers kept), so that the very same code runs in
 * cgroup_skb/ingress (requests.bpf.c) and in host programs (unit tests, the differential
 * fuzzer against common/http_parser.c).
 *
 * It agrees with common/http_parser.c + http_framing_parse() + common/http_chunked.c, as a
 * server built on them reads a connection (workload_server), on two things: the offset at
 * which every request head ends, and whether the stream is rejected. It is exactly as
 * strict: lines end in CRLF (a bare LF or CR rejects), at most 4 empty lines before a
 * request line, method tchar+ SP target (0x21..0x7e)+ SP "HTTP/1.d" CRLF, header names
 * tchar+ directly followed by ':', no obs-fold, values of field-vchars only; a repeated or
 * malformed Content-Length (digits only, 1..18 of them, OWS around), or Content-Length
 * together with Transfer-Encoding, or a Transfer-Encoding whose last coding is not
 * chunked, rejects. Bodies are skipped: Content-Length bytes, or a chunked body
 * (same limits as http_chunked.c). After a CONNECT head the stream is a tunnel: nothing
 * more is parsed. It does not limit the head's size or field count (a server does; it
 * then closes the connection anyway).
 *
 * Use:
 *	hh_init(&p);
 *	for each byte b of the stream, in order:
 *		if (hh_skipping(&p)) { n = hh_skip(&p, bytes_left); advance n; continue; }
 *		switch (hh_step(&p, b)) {
 *		case HH_MORE: break;
 *		case HH_HEAD_END: a head ended with this byte; p.kind says its method; break;
 *		case HH_REJECT: not HTTP/1.x as we read it: stop (the state stays rejected);
 *		}
 * A byte hh_passes() accepts may be passed over without hh_step().
 * hh_step() also works in skipping states (one byte at a time).
 */
#ifndef HTTP_ENERGY_HTTP_HEAD_H
#define HTTP_ENERGY_HTTP_HEAD_H

#define HH_MAX_EMPTY_LINES 4 /* before a request line (RFC 9112 2.2; http_parser.c) */
#define HH_MAX_CL_DIGITS 18 /* http_framing_parse() */
#define HH_MAX_SIZE_DIGITS 32 /* http_chunked.c */
#define HH_MAX_CHUNK_LINE 4096 /* HTTP_CHUNKED_MAX_LINE */

enum hh_event {
	HH_MORE = 0,
	HH_HEAD_END = 1,
	HH_REJECT = 2,
};

enum hh_kind {
	HH_KIND_PLAIN = 0,
	HH_KIND_HEAD = 1,
	HH_KIND_CONNECT = 2,
};

enum hh_state {
	HH_START = 0, /* before a request line: empty lines allowed */
	HH_START_LF, /* CR of an empty line seen */
	HH_METHOD,
	HH_TARGET0, /* first byte of the request target */
	HH_TARGET,
	HH_VERSION, /* "HTTP/1.d" then CR; pos counts */
	HH_RLINE_LF,
	HH_LINE_START, /* a header line or the blank line */
	HH_BLANK_LF,
	HH_NAME,
	HH_VALUE,
	HH_VALUE_LF,
	HH_BODY, /* Content-Length bytes to skip */
	HH_CH_SIZE, /* chunked body: the states of http_chunked.c */
	HH_CH_SIZE_WS,
	HH_CH_EXT,
	HH_CH_SIZE_LF,
	HH_CH_DATA,
	HH_CH_DATA_CR,
	HH_CH_DATA_LF,
	HH_CH_TRAILER_BOL,
	HH_CH_TRAILER_NAME,
	HH_CH_TRAILER_VALUE,
	HH_CH_TRAILER_LF,
	HH_CH_END_LF,
	HH_TUNNEL, /* after CONNECT: not parsed any more */
	HH_REJECTED,
};

/* hh.flags: the head being read */
#define HH_F_HAS_CL (1u << 0)
#define HH_F_HAS_TE (1u << 1)
#define HH_F_CHUNKED (1u << 2) /* the last Transfer-Encoding's last coding */
#define HH_F_M_HEAD (1u << 3) /* the method so far is a prefix of "HEAD" */
#define HH_F_M_CONNECT (1u << 4)
#define HH_F_N_CL (1u << 5) /* the field name so far is a prefix of "content-length" */
#define HH_F_N_TE (1u << 6) /* ... of "transfer-encoding" */

/* hh.field: which value is being read */
enum { HH_FIELD_OTHER, HH_FIELD_CL, HH_FIELD_TE };

struct http_head_parser {
	unsigned long long value; /* Content-Length or chunk size being read */
	unsigned long long body_left; /* Content-Length body or chunk-data bytes to skip */
	unsigned int state; /* enum hh_state */
	unsigned int pos; /* bytes into the token or line */
	unsigned int flags; /* HH_F_* */
	unsigned int field; /* HH_FIELD_* */
	unsigned int match; /* value sub-state (see hh_value_byte) */
	unsigned int count; /* empty lines before a request line; size digits */
	unsigned int kind; /* enum hh_kind of the last head that ended */
	unsigned int pad;
};

static inline void hh_init(struct http_head_parser *p)
{
	p->value = 0;
	p->body_left = 0;
	p->state = HH_START;
	p->pos = 0;
	p->flags = 0;
	p->field = HH_FIELD_OTHER;
	p->match = 0;
	p->count = 0;
	p->kind = HH_KIND_PLAIN;
	p->pad = 0;
}

/* RFC 9110 5.6.2 tchar, without a table or strchr */
static inline int hh_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return 1;
	}
	return 0;
}

static inline int hh_is_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline int hh_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline unsigned char hh_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/*
 * The i-th byte of a short constant string, as arithmetic on immediates: no memory, so
 * the BPF verifier needs no bounds proof (and 0 past the end).
 */
static inline unsigned char hh_byte_of(unsigned long long hi, unsigned long long lo,
				       unsigned long long tail, unsigned int i)
{
	if (i < 8)
		return (unsigned char)(hi >> (8 * (7 - i)));
	if (i < 16)
		return (unsigned char)(lo >> (8 * (15 - i)));
	if (i < 17)
		return (unsigned char)tail;
	return 0;
}

/* "content-length" (14), "transfer-encoding" (17), "HEAD", "CONNECT", "HTTP/1.", "chunked" */
#define HH_CL_NAME(i) hh_byte_of(0x636f6e74656e742dULL, 0x6c656e6774680000ULL, 0, (i))
#define HH_TE_NAME(i) hh_byte_of(0x7472616e73666572ULL, 0x2d656e636f64696eULL, 'g', (i))
#define HH_M_HEAD(i) hh_byte_of(0x4845414400000000ULL, 0, 0, (i))
#define HH_M_CONNECT(i) hh_byte_of(0x434f4e4e45435400ULL, 0, 0, (i))
#define HH_VERSION_STR(i) hh_byte_of(0x485454502f312e00ULL, 0, 0, (i))
#define HH_CHUNKED_STR(i) hh_byte_of(0x6368756e6b656400ULL, 0, 0, (i))

static inline int hh_reject(struct http_head_parser *p)
{
	p->state = HH_REJECTED;
	return HH_REJECT;
}

/* Value sub-states (p->match) */
enum {
	HH_V_LEAD = 0, /* optional whitespace before the value */
	HH_V_IN, /* Content-Length: digits; Transfer-Encoding: a coding */
	HH_V_WS, /* whitespace after the digits or the coding */
	HH_V_SEP, /* Transfer-Encoding: after a ',' */
};

/*
 * One byte of a field value (not CR). Content-Length: OWS digits OWS. Transfer-Encoding:
 * remember whether the last coding, as http_parser.c's last_coding_is_chunked() finds it
 * (after the last ',', space or tab, trailing whitespace ignored), is "chunked": pos
 * counts its bytes while they still spell "chunked", else is 8.
 */
static inline int hh_value_byte(struct http_head_parser *p, unsigned char b)
{
	int ws = b == ' ' || b == '\t';

	if (!hh_is_vchar(b))
		return hh_reject(p);
	if (p->field == HH_FIELD_CL) {
		if (ws) {
			if (p->match == HH_V_IN)
				p->match = HH_V_WS;
			return HH_MORE;
		}
		if (b < '0' || b > '9' || p->match == HH_V_WS || ++p->pos > HH_MAX_CL_DIGITS)
			return hh_reject(p);
		p->match = HH_V_IN;
		p->value = p->value * 10 + (b - '0');
		return HH_MORE;
	}
	if (p->field == HH_FIELD_TE) {
		if (b == ',') {
			p->match = HH_V_SEP;
			p->pos = 0; /* an empty last coding is not chunked */
			return HH_MORE;
		}
		if (ws) {
			if (p->match == HH_V_IN)
				p->match = HH_V_WS;
			return HH_MORE;
		}
		if (p->match != HH_V_IN) {
			p->match = HH_V_IN; /* a new coding starts */
			p->pos = 0;
		}
		if (p->pos < 7 && hh_lower(b) == HH_CHUNKED_STR(p->pos))
			p->pos++;
		else
			p->pos = 8;
		return HH_MORE;
	}
	return HH_MORE;
}

/* The end of a field line (its CRLF seen). */
static inline int hh_value_end(struct http_head_parser *p)
{
	if (p->field == HH_FIELD_CL) {
		if (p->pos == 0) /* no digits */
			return hh_reject(p);
	} else if (p->field == HH_FIELD_TE) {
		/* the last Transfer-Encoding field decides, as in http_framing_parse() */
		if (p->pos == 7 && p->match != HH_V_SEP)
			p->flags |= HH_F_CHUNKED;
		else
			p->flags &= ~HH_F_CHUNKED;
	}
	p->state = HH_LINE_START;
	return HH_MORE;
}

/* The blank line that ends a head. */
static inline int hh_head_end(struct http_head_parser *p)
{
	unsigned int f = p->flags;

	if ((f & HH_F_HAS_CL) && (f & HH_F_HAS_TE))
		return hh_reject(p); /* a smuggling vector (RFC 9112 6.3) */
	p->pos = 0;
	p->count = 0;
	p->match = 0;
	if (p->kind == HH_KIND_CONNECT) {
		p->state = HH_TUNNEL;
	} else if (f & HH_F_HAS_TE) {
		if (!(f & HH_F_CHUNKED)) {
			/* a request body whose length cannot be known: 400 (RFC 9112 6.3) */
			p->state = HH_REJECTED;
			return HH_REJECT;
		}
		p->state = HH_CH_SIZE;
		p->value = 0;
	} else if ((f & HH_F_HAS_CL) && p->value) {
		p->state = HH_BODY;
		p->body_left = p->value;
	} else {
		p->state = HH_START;
	}
	p->value = 0;
	return HH_HEAD_END;
}

/* One byte of a chunked body (http_chunked.c's step(), except data skipped in bulk). */
static inline int hh_chunk_byte(struct http_head_parser *p, unsigned char b)
{
	int h;

	switch (p->state) {
	case HH_CH_SIZE:
		h = hh_hex(b);
		if (h >= 0) {
			if (++p->count > HH_MAX_SIZE_DIGITS || p->value > (~0ULL >> 4))
				return hh_reject(p);
			p->value = (p->value << 4) | (unsigned long long)h;
			return HH_MORE;
		}
		if (p->count == 0)
			return hh_reject(p);
		if (b == '\r') {
			p->state = HH_CH_SIZE_LF;
		} else if (b == ';') {
			p->pos = 0;
			p->state = HH_CH_EXT;
		} else if (b == ' ' || b == '\t') {
			p->state = HH_CH_SIZE_WS;
		} else {
			return hh_reject(p);
		}
		return HH_MORE;
	case HH_CH_SIZE_WS:
		if (b == ' ' || b == '\t')
			return HH_MORE;
		if (b != ';')
			return hh_reject(p);
		p->pos = 0;
		p->state = HH_CH_EXT;
		return HH_MORE;
	case HH_CH_EXT:
		if (b == '\r') {
			p->state = HH_CH_SIZE_LF;
			return HH_MORE;
		}
		if (!hh_is_vchar(b) || ++p->pos > HH_MAX_CHUNK_LINE)
			return hh_reject(p);
		return HH_MORE;
	case HH_CH_SIZE_LF:
		if (b != '\n')
			return hh_reject(p);
		if (p->value) {
			p->body_left = p->value;
			p->state = HH_CH_DATA;
		} else {
			p->state = HH_CH_TRAILER_BOL;
		}
		p->value = 0;
		return HH_MORE;
	case HH_CH_DATA_CR:
		if (b != '\r')
			return hh_reject(p);
		p->state = HH_CH_DATA_LF;
		return HH_MORE;
	case HH_CH_DATA_LF:
		if (b != '\n')
			return hh_reject(p);
		p->count = 0;
		p->state = HH_CH_SIZE;
		return HH_MORE;
	case HH_CH_TRAILER_BOL:
		if (b == '\r') {
			p->state = HH_CH_END_LF;
			return HH_MORE;
		}
		if (!hh_is_tchar(b))
			return hh_reject(p);
		p->pos = 1;
		p->state = HH_CH_TRAILER_NAME;
		return HH_MORE;
	case HH_CH_TRAILER_NAME:
		if (++p->pos > HH_MAX_CHUNK_LINE)
			return hh_reject(p);
		if (b == ':')
			p->state = HH_CH_TRAILER_VALUE;
		else if (!hh_is_tchar(b))
			return hh_reject(p);
		return HH_MORE;
	case HH_CH_TRAILER_VALUE:
		if (b == '\r') {
			p->state = HH_CH_TRAILER_LF;
			return HH_MORE;
		}
		if (!hh_is_vchar(b) || ++p->pos > HH_MAX_CHUNK_LINE)
			return hh_reject(p);
		return HH_MORE;
	case HH_CH_TRAILER_LF:
		if (b != '\n')
			return hh_reject(p);
		p->state = HH_CH_TRAILER_BOL;
		return HH_MORE;
	case HH_CH_END_LF:
		if (b != '\n')
			return hh_reject(p);
		p->state = HH_START; /* the next request */
		p->count = 0;
		return HH_MORE;
	}
	return hh_reject(p);
}

/* True while the parser is in a body's data bytes, which hh_skip() passes over in bulk. */
static inline int hh_skipping(const struct http_head_parser *p)
{
	return p->state == HH_BODY || p->state == HH_CH_DATA;
}

/* Skips up to n data bytes; returns how many it took (0 when not in body data). */
static inline unsigned long long hh_skip(struct http_head_parser *p, unsigned long long n)
{
	if (!hh_skipping(p))
		return 0;
	if (n > p->body_left)
		n = p->body_left;
	p->body_left -= n;
	if (!p->body_left) {
		if (p->state == HH_BODY) {
			p->state = HH_START;
			p->count = 0;
		} else {
			p->state = HH_CH_DATA_CR;
		}
	}
	return n;
}

/*
 * Would hh_step() take b with nothing to do but go on (HH_MORE, no state to keep)? Bytes of
 * the request target, of a value nobody reads, of a name that can no longer be
 * Content-Length or Transfer-Encoding (its length is then not needed: hh_step() still
 * counts it, up to 32, and reads it only for those two): a caller may pass over such a
 * byte without hh_step() (ingress: one global call a byte less, issue 14); the events
 * are the same either way (tests/fuzz/http_head_diff.h walks the stream as ingress does).
 */
static inline int hh_passes(const struct http_head_parser *p, unsigned char b)
{
	unsigned char l = b | 0x20;

	if (p->state == HH_TARGET)
		return b > 0x20 && b < 0x7f;
	if (p->state == HH_VALUE)
		return p->field == HH_FIELD_OTHER && (b >= 0x20 || b == '\t') && b != 0x7f;
	if (p->state == HH_NAME)
		return !(p->flags & (HH_F_N_CL | HH_F_N_TE)) &&
		       ((l >= 'a' && l <= 'z') || (b >= '0' && b <= '9') || b == '-');
	return 0;
}

/* One byte of the stream; returns enum hh_event. */
static inline int hh_step(struct http_head_parser *p, unsigned char b)
{
	switch (p->state) {
	case HH_START:
		if (b == '\r') {
			p->state = HH_START_LF;
			return HH_MORE;
		}
		if (!hh_is_tchar(b))
			return hh_reject(p); /* TLS, HTTP/2 frames, binary, a bare LF */
		p->state = HH_METHOD;
		p->pos = 1;
		p->flags = 0;
		if (b == 'H')
			p->flags |= HH_F_M_HEAD;
		if (b == 'C')
			p->flags |= HH_F_M_CONNECT;
		return HH_MORE;
	case HH_START_LF:
		if (b != '\n' || ++p->count > HH_MAX_EMPTY_LINES)
			return hh_reject(p);
		p->state = HH_START;
		return HH_MORE;
	case HH_METHOD:
		if (b == ' ') {
			if ((p->flags & HH_F_M_HEAD) && p->pos == 4)
				p->kind = HH_KIND_HEAD;
			else if ((p->flags & HH_F_M_CONNECT) && p->pos == 7)
				p->kind = HH_KIND_CONNECT;
			else
				p->kind = HH_KIND_PLAIN;
			p->flags &= ~(HH_F_M_HEAD | HH_F_M_CONNECT);
			p->state = HH_TARGET0;
			return HH_MORE;
		}
		if (!hh_is_tchar(b))
			return hh_reject(p);
		if (p->pos >= 4 || b != HH_M_HEAD(p->pos))
			p->flags &= ~HH_F_M_HEAD;
		if (p->pos >= 7 || b != HH_M_CONNECT(p->pos))
			p->flags &= ~HH_F_M_CONNECT;
		if (p->pos < 8)
			p->pos++;
		return HH_MORE;
	case HH_TARGET0:
	case HH_TARGET:
		if (b == ' ' && p->state == HH_TARGET) {
			p->state = HH_VERSION;
			p->pos = 0;
			return HH_MORE;
		}
		if (b <= 0x20 || b >= 0x7f)
			return hh_reject(p);
		p->state = HH_TARGET;
		return HH_MORE;
	case HH_VERSION:
		/* "HTTP/1." then a digit: the server answers any other major version 505 */
		if (p->pos < 7) {
			if (b != HH_VERSION_STR(p->pos))
				return hh_reject(p);
		} else if (p->pos == 7) {
			if (b < '0' || b > '9')
				return hh_reject(p);
		} else {
			if (b != '\r')
				return hh_reject(p);
			p->state = HH_RLINE_LF;
			return HH_MORE;
		}
		p->pos++;
		return HH_MORE;
	case HH_RLINE_LF:
	case HH_VALUE_LF:
		if (b != '\n')
			return hh_reject(p);
		if (p->state == HH_VALUE_LF)
			return hh_value_end(p);
		p->state = HH_LINE_START;
		return HH_MORE;
	case HH_LINE_START:
		if (b == '\r') {
			p->state = HH_BLANK_LF;
			return HH_MORE;
		}
		if (!hh_is_tchar(b))
			return hh_reject(p); /* obs-fold, an empty name, a bare LF */
		p->state = HH_NAME;
		p->pos = 1;
		p->flags |= HH_F_N_CL | HH_F_N_TE;
		if (hh_lower(b) != 'c')
			p->flags &= ~HH_F_N_CL;
		if (hh_lower(b) != 't')
			p->flags &= ~HH_F_N_TE;
		return HH_MORE;
	case HH_BLANK_LF:
		if (b != '\n')
			return hh_reject(p);
		return hh_head_end(p);
	case HH_NAME:
		if (b == ':') {
			unsigned int f = p->flags;

			p->field = HH_FIELD_OTHER;
			if ((f & HH_F_N_CL) && p->pos == 14) {
				if (f & HH_F_HAS_CL)
					return hh_reject(p); /* repeated, even if equal */
				p->flags |= HH_F_HAS_CL;
				p->field = HH_FIELD_CL;
				p->value = 0;
			} else if ((f & HH_F_N_TE) && p->pos == 17) {
				p->flags |= HH_F_HAS_TE;
				p->field = HH_FIELD_TE;
			}
			p->flags &= ~(HH_F_N_CL | HH_F_N_TE);
			p->state = HH_VALUE;
			p->match = HH_V_LEAD;
			p->pos = 0;
			return HH_MORE;
		}
		if (!hh_is_tchar(b))
			return hh_reject(p);
		if (p->pos >= 14 || hh_lower(b) != HH_CL_NAME(p->pos))
			p->flags &= ~HH_F_N_CL;
		if (p->pos >= 17 || hh_lower(b) != HH_TE_NAME(p->pos))
			p->flags &= ~HH_F_N_TE;
		if (p->pos < 32)
			p->pos++;
		return HH_MORE;
	case HH_VALUE:
		if (b == '\r') {
			p->state = HH_VALUE_LF;
			return HH_MORE;
		}
		return hh_value_byte(p, b);
	case HH_BODY:
	case HH_CH_DATA:
		hh_skip(p, 1);
		return HH_MORE;
	case HH_TUNNEL:
		return HH_MORE;
	case HH_REJECTED:
		return HH_REJECT;
	}
	return hh_chunk_byte(p, b);
}

#endif
