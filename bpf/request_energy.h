/* SPDX-License-Identifier: MIT */
/*
 * A request's energy in fixed point, shared by the BPF request accounting (bpf/
 * requests.bpf.h and both .bpf.c files) and its unit test: the arithmetic lives here so the
 * test runs the code the kernel runs.
 *
 *   - A request accumulates µJ (and score units) in 1/2^REQ_FRAC_BITS units, so a weight
 *     under 0.5 µJ per event or per short slice still adds up (rounding each slice or event
 *     to a whole µJ made such a weight add 0). The response's header rounds once.
 *   - psys mode's µJ per score unit is one 64-bit word (mantissa << 8 | shift) that user
 *     space stores with one aligned 64-bit write and BPF reads with one load: a reader never
 *     sees half an old and half a new factor.
 *   - The header value is rounded to the nearest multiple of a quantum (--header-quantum-uj).
 *
 * Bounds: a signal <= FIXED_SIGNAL_MAX times a weight <= FIXED_WEIGHT_MAX never overflows
 * req_apply_fx's product (fixed_point.h); a result above 2^64 / 2^REQ_FRAC_BITS µJ (2.8e14 µJ,
 * far beyond a request) saturates instead of wrapping.
 */
#ifndef HTTP_ENERGY_REQUEST_ENERGY_H
#define HTTP_ENERGY_REQUEST_ENERGY_H

#include "fixed_point.h"

#define REQ_FRAC_BITS 16
#define REQ_FRAC_ONE (1ULL << REQ_FRAC_BITS)
#define REQ_FACTOR_SHIFT_BITS 8

/* weight × signal, in 1/2^REQ_FRAC_BITS units, rounded to nearest. */
static inline __u64 req_apply_fx(const struct fixed_weight *w, __u64 signal)
{
	__u32 s = w->shift & 63;
	__u64 p = signal * w->mantissa;

	if (s >= REQ_FRAC_BITS) {
		__u32 r = s - REQ_FRAC_BITS;

		if (!r)
			return p;
		return (p + (1ULL << ((r - 1) & 63))) >> (r & 63);
	}
	/* weights >= 2^(27 - REQ_FRAC_BITS): the product moves left */
	if (p > (~0ULL >> ((REQ_FRAC_BITS - s) & 63)))
		return ~0ULL;
	return p << ((REQ_FRAC_BITS - s) & 63);
}

/* weight × x where x itself is in 1/2^REQ_FRAC_BITS units (psys: score → µJ). */
static inline __u64 req_scale_fx(const struct fixed_weight *w, __u64 x_fx)
{
	__u64 whole = req_apply_fx(w, x_fx >> REQ_FRAC_BITS);
	__u64 part = fixed_weight_apply(w, x_fx & (REQ_FRAC_ONE - 1));

	return whole + part < whole ? ~0ULL : whole + part;
}

/* Whole µJ, rounded to nearest. */
static inline __u64 req_uj_of_fx(__u64 x_fx)
{
	if (x_fx > ~0ULL - REQ_FRAC_ONE / 2)
		return x_fx >> REQ_FRAC_BITS;
	return (x_fx + REQ_FRAC_ONE / 2) >> REQ_FRAC_BITS;
}

/* uj rounded to the nearest multiple of quantum (0 and 1: unchanged). */
static inline __u64 req_quantize(__u64 uj, __u32 quantum)
{
	if (quantum <= 1)
		return uj;
	return (uj / quantum + (uj % quantum >= (quantum + 1) / 2 ? 1 : 0)) * quantum;
}

/* The factor as one word; 0 means no factor yet (nothing is converted to µJ). */
static inline __u64 req_factor_pack(const struct fixed_weight *w)
{
	return (w->mantissa << REQ_FACTOR_SHIFT_BITS) | (w->shift & 63);
}

static inline struct fixed_weight req_factor_unpack(__u64 word)
{
	struct fixed_weight w = { .mantissa = word >> REQ_FACTOR_SHIFT_BITS,
				  .shift = (__u32)(word & 63),
				  .pad = 0 };

	return w;
}

#endif
