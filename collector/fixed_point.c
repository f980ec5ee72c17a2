// SPDX-License-Identifier: MIT
#include "fixed_point.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

int fixed_weight_encode(double weight, struct fixed_weight *out)
{
	int exp2;
	double frac;
	int shift;
	uint64_t mantissa;

	if (!isfinite(weight) || weight < 0 || weight > FIXED_WEIGHT_MAX)
		return -ERANGE;
	if (weight == 0) {
		/* shift 1 keeps the rounding term of fixed_weight_apply() defined. */
		*out = (struct fixed_weight){ .mantissa = 0, .shift = 1 };
		return 0;
	}
	/* weight = frac * 2^exp2 with frac in [0.5, 1): the mantissa takes all 27 bits. */
	frac = frexp(weight, &exp2);
	shift = FIXED_MANTISSA_BITS - exp2;
	mantissa = (uint64_t)llround(ldexp(frac, FIXED_MANTISSA_BITS));
	if (mantissa == FIXED_MANTISSA_LIMIT) {
		/* frac rounded up to 1.0: renormalise. */
		mantissa >>= 1;
		shift--;
	}
	if (shift > FIXED_SHIFT_MAX) {
		/* Tiny weight: fewer mantissa bits at the largest shift (or 0). */
		shift = FIXED_SHIFT_MAX;
		mantissa = (uint64_t)llround(ldexp(weight, FIXED_SHIFT_MAX));
	}
	/* weight <= 1e6 < 2^20 gives shift >= 7, so shift < 1 cannot happen. */
	*out = (struct fixed_weight){ .mantissa = mantissa, .shift = (__u32)shift };
	return 0;
}

double fixed_weight_decode(const struct fixed_weight *w)
{
	return ldexp((double)w->mantissa, -(int)w->shift);
}
