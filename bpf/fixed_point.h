/* SPDX-License-Identifier: MIT */
/*
 * Decimal weights in the form BPF programs multiply with: weight ~= mantissa * 2^-shift.
 *
 *   product = (signal * mantissa + 2^(shift - 1)) >> shift     (rounded to nearest)
 *
 * Two multiplications' worth of work, no division, no loop: cheap on a sched_switch path.
 *
 * Range and precision (docs/config-format.md has the derivation; tests/unit/
 * test_fixed_point.c checks the bounds):
 *   - weights 0 and [FIXED_WEIGHT_MIN_FULL, FIXED_WEIGHT_MAX] = [2^-37, 1e6] are encoded
 *     with relative error <= 2^-27 (~7.5e-9), well inside the 1e-4 the project asks for
 *     over [1e-7, 1e6]. Smaller weights keep shift = 63 and lose relative precision
 *     gradually; below 2^-64 they become 0.
 *   - mantissa < 2^27 and signal <= FIXED_SIGNAL_MAX (1e11: 10 s of runtime in ns is 1e10)
 *     keep signal * mantissa + 2^(shift-1) below 2^64 for every shift, so nothing overflows.
 *
 * The struct and fixed_weight_apply() are plain enough to include from BPF code
 * (clang -target bpf defines __bpf__ and vmlinux.h provides __u64/__u32).
 */
#ifndef HTTP_ENERGY_FIXED_POINT_H
#define HTTP_ENERGY_FIXED_POINT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define FIXED_MANTISSA_BITS 27
#define FIXED_MANTISSA_LIMIT (1ULL << FIXED_MANTISSA_BITS) /* mantissa < this */
#define FIXED_SHIFT_MAX 63
#define FIXED_SIGNAL_MAX 100000000000ULL /* 1e11 events, or ns of runtime */
#define FIXED_WEIGHT_MAX 1e6
#define FIXED_WEIGHT_MIN_FULL 7.275957614183426e-12 /* 2^-37: full precision from here */

struct fixed_weight {
	__u64 mantissa; /* < FIXED_MANTISSA_LIMIT */
	__u32 shift; /* 1..63 */
	__u32 pad; /* 0 */
};

/* signal * weight, rounded to nearest; exact-enough for signal <= FIXED_SIGNAL_MAX. */
static inline __u64 fixed_weight_apply(const struct fixed_weight *w, __u64 signal)
{
	/* The masks keep the shifts defined (and the BPF verifier calm) for any input. */
	__u32 s = w->shift & 63;

	if (!s)
		return signal * w->mantissa;
	return (signal * w->mantissa + (1ULL << ((s - 1) & 63))) >> s;
}

#ifndef __bpf__
/*
 * Encode weight (finite, 0 <= weight <= FIXED_WEIGHT_MAX). Returns 0, or -ERANGE for a
 * negative, too large, NaN or infinite weight (*out untouched).
 */
int fixed_weight_encode(double weight, struct fixed_weight *out);
/* The weight an encoding stands for. */
double fixed_weight_decode(const struct fixed_weight *w);
#endif

#endif
