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

#endif
