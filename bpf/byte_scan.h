/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Finding bytes eight at a time in a 64-bit word that holds 8 bytes of a stream, the byte at
 * the lowest address in the lowest bits (as a little-endian load gives them: BPF on x86 and
 * arm64). Plain C, no helpers, no memory: the same code runs in on_egress (requests.bpf.c)
 * and in the unit test (tests/unit/test_byte_scan.c), which checks it against a byte loop.
 *
 * A "lane mask" has bit 8i+7 set for each byte i that matched. The zero-byte trick
 * (v - 0x01..) & ~v & 0x80.. flags every zero byte of v but may also flag bytes above one
 * (a borrow): only its lowest flag is exact. So these return masks whose lowest set lane is
 * the first match among the bytes not ignored; bs_lowest() reads it. Ignored bytes (`ign`,
 * 0xff in their lanes: bytes already walked, bytes past the data) are made 0xff before the
 * subtraction: they neither match nor borrow.
 */
#ifndef HTTP_ENERGY_BYTE_SCAN_H
#define HTTP_ENERGY_BYTE_SCAN_H

/* the lane order above; a big-endian target would misframe silently */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "byte_scan.h: little-endian loads");

#define BS_ONES 0x0101010101010101ULL
#define BS_HIGHS 0x8080808080808080ULL

/* Lanes where w's byte equals c, ign's lanes aside (exact in the lowest set lane only). */
static inline unsigned long long bs_eq(unsigned long long w, unsigned char c,
				       unsigned long long ign)
{
	unsigned long long v = (w ^ (BS_ONES * c)) | ign;

	return (v - BS_ONES) & ~v & BS_HIGHS;
}

/* The rest of a line nobody reads: only its LF stops a scan. */
static inline unsigned long long bs_line_stops(unsigned long long w, unsigned long long ign)
{
	return bs_eq(w, '\n', ign);
}

/*
 * A header name known to be neither Content-Length nor Transfer-Encoding: what ends it
 * (':'), or makes its head unframed (a space, a tab, CR, LF before the ':'), stops a scan.
 */
static inline unsigned long long bs_name_stops(unsigned long long w, unsigned long long ign)
{
	return bs_eq(w, ':', ign) | bs_eq(w, ' ', ign) | bs_eq(w, '\t', ign) | bs_eq(w, '\r', ign) |
	       bs_eq(w, '\n', ign);
}

/* The byte index (0..7) of m's lowest set lane; m is not 0. */
static inline unsigned int bs_lowest(unsigned long long m)
{
	/* (m & -m) >> 7 is 256^i: the multiply puts byte 7 - i of the constant, i, on top */
	return (unsigned int)((((m & -m) >> 7) * 0x0001020304050607ULL) >> 56) & 7;
}

/* Bytes 0..i (i < 8) as ignored lanes: what a scan has walked up to byte i. */
static inline unsigned long long bs_through(unsigned int i)
{
	return ~0ULL >> (56 - 8 * (i & 7));
}

/* Lanes of v that are not zero: exact in every lane (no borrow crosses a lane). */
static inline unsigned long long bs_nonzero(unsigned long long v)
{
	return (((v & ~BS_HIGHS) + ~BS_HIGHS) | v) & BS_HIGHS;
}

/*
 * How many bytes of w, from byte `from` on and below byte n (from < n <= 8), go on matching a
 * header name from its byte m on, at most to its end. The name (len <= 24 bytes: lower-case
 * letters and '-') is given as three words n0, n1, n2, byte i of it in byte i % 8 of word
 * i / 8, zero past its end. A byte matches a letter in either case (as comparing the byte's
 * lower() with it does) and '-' only itself: a lane may differ from the name by 0x20 only
 * where the name has a letter (the lanes with 0x40 set; 0x20 would make '-' a CR).
 */
static inline unsigned int bs_name_run(unsigned long long w, unsigned int from, unsigned int n,
				       unsigned long long n0, unsigned long long n1,
				       unsigned long long n2, unsigned int len, unsigned int m)
{
	unsigned long long win, x, diff;
	unsigned int i = m / 8, sh = 8 * (m % 8), take;

	if (m >= len || from >= n || n > 8 || i > 2)
		return 0;
	take = n - from < len - m ? n - from : len - m;
	win = (i == 0 ? n0 : i == 1 ? n1 : n2) >> sh;
	if (sh && i < 2)
		win |= (i == 0 ? n1 : n2) << (64 - sh);
	x = w >> (8 * from);
	diff = (x ^ win) & ~((win & (BS_ONES * 0x40)) >> 1);
	if (take < 8)
		diff |= ~0ULL << (8 * take); /* the lanes past take stop the run */
	diff = bs_nonzero(diff);
	return diff ? bs_lowest(diff) : 8;
}

#endif
