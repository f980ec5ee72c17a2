/* SPDX-License-Identifier: MIT */
/*
 * The project's one pseudo-random generator: splitmix64 (a mixing function, and a seeder)
 * and xoshiro256** (Blackman and Vigna's public-domain design). Deterministic for a given
 * seed on every host: runs, tests and benchmarks that name a seed repeat exactly.
 */
#ifndef HTTP_ENERGY_RNG_H
#define HTTP_ENERGY_RNG_H

#include <stdint.h>

/* A 64-bit value mixed into a well-spread one (a stateless hash of x). */
static inline uint64_t splitmix64_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The next value of the splitmix64 sequence whose state is *x. */
static inline uint64_t splitmix64_next(uint64_t *x)
{
	uint64_t z = splitmix64_mix(*x);

	*x += 0x9e3779b97f4a7c15ull;
	return z;
}

struct xoshiro256 {
	uint64_t s[4];
};

/* Seeds r from seed; stream separates generators that share a seed. */
static inline void xoshiro256_seed(struct xoshiro256 *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64_next(&x);
}

static inline uint64_t xoshiro256_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t xoshiro256_next(struct xoshiro256 *r)
{
	uint64_t *s = r->s, result = xoshiro256_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = xoshiro256_rotl(s[3], 45);
	return result;
}

/* A uniform double in [0, 1). */
static inline double xoshiro256_unit(struct xoshiro256 *r)
{
	return (double)(xoshiro256_next(r) >> 11) * 0x1p-53;
}

#endif
