// SPDX-License-Identifier: MIT
#include <gsl/gsl_errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lsq.h"

enum { P = 4 };

/* Pseudo-random, columns of different scales. */
static double value(size_t i, size_t j)
{
	uint64_t h = (i * 4 + j + 1) * 0x9e3779b97f4a7c15ULL;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return ((double)(h >> 11) * 0x1p-53 - 0.5) * pow(10, (double)j);
}

/*
 * R^T R = X^T X and R^T z = X^T y; rss0 is the least-squares residual. Rows from split on
 * go into a second accumulator that lsq__merge() then folds into the first.
 */
static void check_split(size_t n, size_t split)
{
	long double xtx[P][P] = { { 0 } }, xty[P] = { 0 }, yy = 0;
	struct lsq *l = lsq__new(P), *l2 = lsq__new(P);
	const gsl_matrix *r;
	const gsl_vector *z;
	double x[P], c[P], rss = 0;

	assert_non_null(l);
	assert_non_null(l2);
	for (size_t i = 0; i < n; i++) {
		double y = 0;

		for (size_t j = 0; j < P; j++) {
			x[j] = value(i, j);
			y += (double)(j + 1) * x[j];
		}
		y += cos((double)i); /* the part no coefficient explains */
		for (size_t a = 0; a < P; a++) {
			xty[a] += (long double)x[a] * y;
			for (size_t b = 0; b < P; b++)
				xtx[a][b] += (long double)x[a] * x[b];
		}
		yy += (long double)y * y;
		assert_int_equal(lsq__add(i < split ? l : l2, x, y), 0);
	}
	assert_int_equal(lsq__merge(l, l2), 0);
	lsq__free(l2);
	assert_int_equal(lsq__finish(l), 0);
	assert_int_equal(lsq__rows(l), n);
	r = lsq__r(l);
	z = lsq__z(l);
	for (size_t a = 0; a < P; a++) {
		long double s = 0;

		for (size_t b = 0; b < P; b++) {
			long double t = 0;

			if (b < a)
				assert_true(gsl_matrix_get(r, a, b) == 0); /* upper triangular */
			for (size_t k = 0; k < P; k++)
				t += (long double)gsl_matrix_get(r, k, a) * gsl_matrix_get(r, k, b);
			assert_true(fabsl(t - xtx[a][b]) <= 1e-10L * (1 + fabsl(xtx[a][a])));
		}
		for (size_t k = 0; k < P; k++)
			s += (long double)gsl_matrix_get(r, k, a) * gsl_vector_get(z, k);
		assert_true(fabsl(s - xty[a]) <= 1e-10L * (1 + fabsl(xty[a])));
	}
	/* Back-substitute R c = z; then rss0 = |y|^2 - |z|^2 = sum of squared residuals. */
	for (size_t a = P; a-- > 0;) {
		double s = gsl_vector_get(z, a);

		for (size_t b = a + 1; b < P; b++)
			s -= gsl_matrix_get(r, a, b) * c[b];
		c[a] = s / gsl_matrix_get(r, a, a);
	}
	for (size_t i = 0; i < n; i++) {
		double y = cos((double)i), e;

		for (size_t j = 0; j < P; j++)
			y += (double)(j + 1) * value(i, j);
		e = y;
		for (size_t j = 0; j < P; j++)
			e -= c[j] * value(i, j);
		rss += e * e;
	}
	print_message("n %zu rss0 %.17g rss %.17g\n", n, lsq__rss0(l), rss);
	assert_true(fabs(lsq__rss0(l) - rss) <= 1e-8 * (1 + rss));
	assert_true(n == P || rss > 0);
	lsq__free(l);
}

static void check(size_t n)
{
	check_split(n, SIZE_MAX);
}

static void test_reduction(void **state)
{
	check(P); /* square: no residual */
	check(LSQ_BLOCK - 1);
	check(LSQ_BLOCK);
	check(LSQ_BLOCK + 1);
	check(3 * LSQ_BLOCK + 17);
}

/* Two halves reduced apart and merged: the same R, z and rss0 (as fit_energy does). */
static void test_merge(void **state)
{
	check_split(3 * LSQ_BLOCK + 17, (3 * LSQ_BLOCK + 17) / 2);
	check_split(LSQ_BLOCK + 1, 0); /* everything in the second */
	check_split(2 * LSQ_BLOCK, 2 * LSQ_BLOCK - 2); /* 2 rows in the second: fewer than P */
	check_split(P, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reduction),
		cmocka_unit_test(test_merge),
	};

	gsl_set_error_handler_off();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
