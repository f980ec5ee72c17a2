/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), streamed: the fitter hashes each input file while it parses it,
 * so the report can name exactly which data a model came from. Uses the CPU's SHA
 * instructions where it has them (x86 SHA-NI: about 5 times faster), else portable C.
 */
#ifndef FITTER_SHA256_H
#define FITTER_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
	bool accel; /* the CPU's SHA instructions (x86 SHA-NI); tests may clear it */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST_LEN]);
/* Lower-case hex of a digest. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN], char hex[SHA256_HEX_LEN]);

#endif
