// SPDX-License-Identifier: MIT
/*
 * The fitter end to end, below the command line: CSV text with known coefficients ->
 * loader -> design -> split -> QR reduction -> each method -> unscaled coefficients.
 */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"
#include "design.h"
#include "lsq.h"
#include "model_config.h"
#include "solve.h"
#include "split.h"
#include "test_fit_gen.h"

struct fitted {
	struct dataset ds;
	struct design d;
	uint8_t *state;
	struct lsq *lsq;
	struct fit_result fit;
	size_t train, test;
};

static void robust(struct fitted *f)
{
	gsl_matrix *X = gsl_matrix_alloc(f->train, f->d.p);
	gsl_vector *y = gsl_vector_alloc(f->train);
	size_t k = 0;

	assert_non_null(X);
	assert_non_null(y);
	for (size_t i = 0; i < f->ds.rows; i++) {
		double *row = gsl_matrix_ptr(X, k, 0);

		if (f->state[i] != ROW_TRAIN)
			continue;
		design_row(&f->d, &f->ds, i, row);
		for (size_t j = 0; j < f->d.p; j++)
			row[j] /= f->d.feat[j].scale;
		gsl_vector_set(y, k++, f->ds.target[i]);
	}
	assert_int_equal(solve_robust(X, y, &f->fit), 0);
	gsl_matrix_free(X);
	gsl_vector_free(y);
}

/* features: as --features takes them; NULL: the default ones. */
static void fit_features(struct fitted *f, const char *csv, enum fit_method m,
			 enum csv_column target, const char *features)
{
	struct design_opts o = { .fit_idle = target == CSV_INTERVAL_PSYS_UJ,
				 .min_freq_share = 0.01 };
	double x[DESIGN_MAX_FEATURES];
	const char *bad;
	size_t bad_len;

	design_default_features(&o);
	if (features)
		assert_int_equal(design_parse_features(features, o.features, &bad, &bad_len), 0);
	memset(f, 0, sizeof(*f));
	dataset__init(&f->ds);
	assert_int_equal(gen_load(&f->ds, "gen.csv", csv, target), 0);
	f->state = malloc(f->ds.rows);
	assert_non_null(f->state);
	assert_int_equal(design_prepare(&f->d, &f->ds, &o, csv_column_name(target), f->state), 0);
	assert_int_equal(split_rows(&f->ds, f->state, SPLIT_TIME, 0.2, 1, &f->test), 0);
	f->train = f->d.used - f->test;
	assert_int_equal(design_finish(&f->d, &f->ds, &o, f->state), 0);
	f->lsq = lsq__new(f->d.p);
	assert_non_null(f->lsq);
	for (size_t i = 0; i < f->ds.rows; i++) {
		if (f->state[i] != ROW_TRAIN)
			continue;
		design_row(&f->d, &f->ds, i, x);
		for (size_t j = 0; j < f->d.p; j++)
			x[j] /= f->d.feat[j].scale;
		assert_int_equal(lsq__add(f->lsq, x, f->ds.target[i]), 0);
	}
	assert_int_equal(lsq__finish(f->lsq), 0);
	assert_int_equal(solve_diagnose(f->lsq, &f->fit), 0);
	switch (m) {
	case FIT_NNLS:
		assert_int_equal(solve_nnls(f->lsq, &f->fit), 0);
		break;
	case FIT_OLS:
		assert_int_equal(solve_ols(f->lsq, &f->fit), 0);
		break;
	case FIT_RIDGE:
		assert_int_equal(solve_ridge(f->lsq, &f->fit), 0);
		break;
	case FIT_ROBUST:
		robust(f);
		break;
	}
	solve_unscale(&f->fit, &f->d);
}

static void fit(struct fitted *f, const char *csv, enum fit_method m, enum csv_column target)
{
	fit_features(f, csv, m, target, NULL);
}

static void fitted_free(struct fitted *f)
{
	lsq__free(f->lsq);
	design_free(&f->d);
	dataset__free(&f->ds);
	free(f->state);
}

static int column(const struct fitted *f, const char *name)
{
	for (size_t j = 0; j < f->d.p; j++)
		if (!strcmp(f->d.feat[j].name, name))
			return (int)j;
	return -1;
}

static double coef(const struct fitted *f, const char *name)
{
	int j = column(f, name);

	if (j < 0) {
		print_error("no feature %s\n", name);
		fail();
	}
	return f->fit.coef[j];
}

static void expect_near(const char *what, double got, double want, double rel)
{
	print_message("  %-20s %.9g (want %.9g, off by %.3f%%)\n", what, got, want,
		      100 * fabs(got / want - 1));
	if (!(fabs(got - want) <= rel * fabs(want))) {
		print_error("%s: got %.9g, want %.9g within %g%%\n", what, got, want, 100 * rel);
		fail();
	}
}

/* Every coefficient of spec, from the fit, within rel. */
static void expect_recovered(const struct fitted *f, const struct gen_spec *g, double rel)
{
	char name[DESIGN_NAME_MAX];

	for (size_t k = 0; k < g->num_freqs; k++) {
		snprintf(name, sizeof(name), "freq_khz=%u", g->khz[k]);
		expect_near(name, coef(f, name), g->w_freq[k], rel);
	}
	for (int c = 0; c < GEN_COUNTS; c++)
		if (g->measured[c] && !g->zero[c] && g->collinear_with < 0)
			expect_near(model_feature_name(c), coef(f, model_feature_name(c)), g->w_count[c],
				    rel);
}

static void test_nnls_recovers_every_coefficient(void **state)
{
	struct gen_spec g;
	struct fitted f;
	char *csv;

	gen_defaults(&g);
	csv = gen_csv(&g, NULL);
	fit(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ);
	assert_int_equal(f.d.p, g.num_freqs + GEN_COUNTS);
	assert_int_equal(f.fit.rank, f.d.p);
	assert_true(isfinite(f.fit.cond) && f.fit.cond >= 1);
	expect_recovered(&f, &g, 0.02);
	for (size_t j = 0; j < f.d.p; j++) {
		assert_false(f.fit.at_bound[j]);
		/* The standard errors say the same thing: 2% is several of them. */
		assert_true(isfinite(f.fit.se[j]) && f.fit.se[j] > 0);
		assert_true(f.fit.se[j] < 0.005 * fabs(f.fit.coef[j]));
	}
	fitted_free(&f);
	free(csv);
}

static void test_every_method_recovers_clean_data(void **state)
{
	static const enum fit_method methods[] = { FIT_OLS, FIT_RIDGE, FIT_ROBUST };
	struct gen_spec g;
	char *csv;

	gen_defaults(&g);
	g.rows = 1500;
	csv = gen_csv(&g, NULL);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct fitted f;

		fit(&f, csv, methods[i], CSV_ACTIVE_PSYS_UJ);
		print_message("%s\n", fit_method_name(methods[i]));
		expect_recovered(&f, &g, 0.03);
		if (methods[i] == FIT_RIDGE)
			assert_true(f.fit.lambda > 0 && isfinite(f.fit.gcv));
		if (methods[i] == FIT_ROBUST)
			assert_true(f.fit.converged && f.fit.iterations > 0);
		fitted_free(&f);
	}
	free(csv);
}

/* Solves A x = b (n x n, row-major) by Gauss-Jordan with partial pivoting. */
static void gauss_solve(long double *a, long double *b, size_t n)
{
	for (size_t c = 0; c < n; c++) {
		size_t piv = c;

		for (size_t r = c + 1; r < n; r++)
			if (fabsl(a[r * n + c]) > fabsl(a[piv * n + c]))
				piv = r;
		for (size_t k = 0; k < n; k++) {
			long double t = a[c * n + k];

			a[c * n + k] = a[piv * n + k];
			a[piv * n + k] = t;
		}
		long double t = b[c];

		b[c] = b[piv];
		b[piv] = t;
		for (size_t r = 0; r < n; r++) {
			long double m;

			if (r == c)
				continue;
			m = a[r * n + c] / a[c * n + c];
			for (size_t k = c; k < n; k++)
				a[r * n + k] -= m * a[c * n + k];
			b[r] -= m * b[c];
		}
	}
	for (size_t c = 0; c < n; c++)
		b[c] /= a[c * n + c];
}

static void test_ols_equals_normal_equations(void **state)
{
	enum { P = 6 + GEN_COUNTS };
	long double ata[P * P] = { 0 }, atb[P] = { 0 }, scale[P] = { 0 };
	struct gen_rows rows;
	struct gen_spec g;
	struct fitted f;
	size_t train;
	char *csv;

	gen_defaults(&g);
	g.noise = 0.05;
	csv = gen_csv(&g, &rows);
	fit(&f, csv, FIT_OLS, CSV_ACTIVE_PSYS_UJ);
	/* One run: the training rows are the first 80%. */
	train = g.rows - (size_t)floor(0.2 * (double)g.rows + 0.5);
	assert_int_equal(f.train, train);

	/* The normal equations from the generated signals, columns scaled by their RMS. */
	for (size_t i = 0; i < train; i++) {
		long double x[P];

		for (size_t k = 0; k < 6; k++)
			x[k] = rows.freq_ns[i][k];
		for (int c = 0; c < GEN_COUNTS; c++)
			x[6 + c] = rows.count[i][c];
		for (size_t a = 0; a < P; a++)
			scale[a] += x[a] * x[a];
	}
	for (size_t a = 0; a < P; a++)
		scale[a] = sqrtl(scale[a] / train);
	for (size_t i = 0; i < train; i++) {
		long double x[P];

		for (size_t k = 0; k < 6; k++)
			x[k] = rows.freq_ns[i][k] / scale[k];
		for (int c = 0; c < GEN_COUNTS; c++)
			x[6 + c] = rows.count[i][c] / scale[6 + c];
		for (size_t a = 0; a < P; a++) {
			atb[a] += x[a] * rows.active[i];
			for (size_t b = 0; b < P; b++)
				ata[a * P + b] += x[a] * x[b];
		}
	}
	gauss_solve(ata, atb, P);
	for (size_t k = 0; k < 6; k++) {
		char name[DESIGN_NAME_MAX];

		snprintf(name, sizeof(name), "freq_khz=%u", g.khz[k]);
		expect_near(name, coef(&f, name), (double)(atb[k] / scale[k]), 1e-9);
	}
	for (int c = 0; c < GEN_COUNTS; c++)
		expect_near(model_feature_name(c), coef(&f, model_feature_name(c)),
			    (double)(atb[6 + c] / scale[6 + c]), 1e-9);
	gen_rows_free(&rows);
	fitted_free(&f);
	free(csv);
}

static void test_negative_true_coefficient(void **state)
{
	struct gen_spec g;
	struct fitted f;
	char *csv;
	int j;

	gen_defaults(&g);
	g.w_count[MF_MIGRATIONS] = -2;
	csv = gen_csv(&g, NULL);

	fit(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ);
	j = column(&f, "migrations");
	assert_true(j >= 0);
	assert_true(f.fit.coef[j] == 0); /* nnls holds it at 0 ... */
	assert_true(f.fit.at_bound[j]);
	assert_true(isnan(f.fit.se[j]));
	for (size_t k = 0; k < f.d.p; k++)
		assert_true(f.fit.coef[k] >= 0);
	fitted_free(&f);

	fit(&f, csv, FIT_OLS, CSV_ACTIVE_PSYS_UJ);
	expect_near("ols migrations", coef(&f, "migrations"), -2, 0.02); /* ... ols does not */
	expect_near("ols wakeups", coef(&f, "wakeups"), 1.5, 0.02);
	fitted_free(&f);
	free(csv);
}

static void test_collinear_and_zero_columns(void **state)
{
	static const enum fit_method methods[] = { FIT_NNLS, FIT_OLS };
	struct gen_spec g;
	char *csv;

	gen_defaults(&g);
	g.collinear_with = MF_WAKEUPS; /* migrations = wakeups / 10 */
	g.zero[MF_CACHE_MISSES] = true;
	csv = gen_csv(&g, NULL);
	for (size_t m = 0; m < 2; m++) {
		struct fitted f;
		double combined;
		int w, mi;
		bool dropped = false;

		fit(&f, csv, methods[m], CSV_ACTIVE_PSYS_UJ);
		for (size_t k = 0; k < f.d.num_dropped; k++)
			if (!strcmp(f.d.dropped[k].name, "cache_misses") &&
			    strstr(f.d.dropped[k].why, "all zero"))
				dropped = true;
		assert_true(dropped);
		assert_int_equal(column(&f, "cache_misses"), -1);
		assert_int_equal(f.d.p, g.num_freqs + GEN_COUNTS - 1);
		assert_int_equal(f.fit.rank, f.d.p - 1);
		assert_true(isinf(f.fit.cond));
		w = column(&f, "wakeups");
		mi = column(&f, "migrations");
		assert_true(f.fit.collinear[w] && f.fit.collinear[mi]);
		assert_true(isnan(f.fit.se[w]) && isnan(f.fit.se[mi]));
		for (size_t k = 0; k < f.d.p; k++)
			if ((int)k != w && (int)k != mi)
				assert_false(f.fit.collinear[k]);
		/* Only their sum is determined: 1.5 + 4 / 10 per wakeup. */
		combined = f.fit.coef[w] + f.fit.coef[mi] / 10;
		expect_near("wakeups + migrations / 10", combined, 1.9, 0.02);
		expect_near("freq_khz=800000", coef(&f, "freq_khz=800000"), g.w_freq[0], 0.02);
		expect_near("cycles", coef(&f, "cycles"), g.w_count[MF_CYCLES], 0.02);
		fitted_free(&f);
	}
	free(csv);
}

static void test_unmeasured_columns_are_dropped(void **state)
{
	struct gen_spec g;
	struct fitted f;
	char *csv;

	gen_defaults(&g);
	g.measured[MF_CYCLES] = g.measured[MF_INSTRUCTIONS] = g.measured[MF_CACHE_MISSES] = false;
	csv = gen_csv(&g, NULL);
	fit(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ);
	assert_int_equal(f.d.p, g.num_freqs + 2);
	assert_int_equal(f.d.num_dropped, 3);
	for (size_t k = 0; k < 3; k++)
		assert_string_equal(f.d.dropped[k].why, "unmeasured (every cell is empty)");
	assert_int_equal(f.d.used, g.rows); /* no row is skipped for them */
	expect_recovered(&f, &g, 0.02);
	fitted_free(&f);
	free(csv);
}

static void test_robust_resists_outliers(void **state)
{
	struct gen_spec g;
	struct fitted f;
	double ols_err, rob_err;
	char *csv;

	gen_defaults(&g);
	g.rows = 2000;
	g.outlier_every = 50; /* 2% of the rows at 5x the model */
	csv = gen_csv(&g, NULL);
	fit(&f, csv, FIT_OLS, CSV_ACTIVE_PSYS_UJ);
	ols_err = fabs(coef(&f, "wakeups") / 1.5 - 1);
	fitted_free(&f);
	fit(&f, csv, FIT_ROBUST, CSV_ACTIVE_PSYS_UJ);
	rob_err = fabs(coef(&f, "wakeups") / 1.5 - 1);
	expect_recovered(&f, &g, 0.03);
	print_message("wakeups error: ols %.4f, robust %.4f\n", ols_err, rob_err);
	assert_true(rob_err < ols_err);
	fitted_free(&f);
	free(csv);
}

static void test_interval_target_fits_idle_power(void **state)
{
	struct gen_spec g;
	struct fitted f;
	char *csv;
	int j;

	gen_defaults(&g);
	g.idle_uw = 9500000;
	csv = gen_csv(&g, NULL);
	fit(&f, csv, FIT_NNLS, CSV_INTERVAL_PSYS_UJ);
	j = column(&f, "idle_power");
	assert_true(j >= 0);
	assert_int_equal(f.d.feat[j].kind, FEATURE_IDLE);
	assert_string_equal(f.d.feat[j].unit, "uW");
	expect_near("idle_power", f.fit.coef[j], 9500000, 0.01);
	expect_recovered(&f, &g, 0.02);
	fitted_free(&f);
	free(csv);
}

static void test_written_config_round_trips(void **state)
{
	struct energy_config cfg, back;
	struct model_clamp clamps[DESIGN_MAX_FEATURES];
	double written[DESIGN_MAX_FEATURES];
	char dir[] = "/tmp/test_fit.XXXXXX", path[64];
	struct gen_spec g;
	struct fitted f;
	size_t nc;
	char *csv;

	gen_defaults(&g);
	g.measured[MF_CYCLES] = false;
	csv = gen_csv(&g, NULL);
	fit(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ);
	assert_int_equal(model_to_config(&f.d, f.fit.coef,
					 &(struct model_opts){ .psys_interval_ms = 200,
							       .idle_power_uw = 2000000 },
					 &cfg, written, clamps, &nc),
			 0);
	assert_int_equal(nc, 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fitted.conf", dir);
	assert_int_equal(model_write_config(path, &cfg, "fitted by test_fit"), 0);
	assert_int_equal(config_parse_file(path, &back), 0);
	assert_true(config_equal(&cfg, &back));
	assert_int_equal(back.attribution_mode, ATTRIBUTION_MODEL);
	assert_int_equal(back.num_freqs, g.num_freqs);
	assert_true(back.default_multiplier == back.freqs[0].weight);
	assert_true(back.cycles_weight == 0); /* dropped */
	assert_true(back.wakeup_penalty == coef(&f, "wakeups"));
	expect_near("config wakeup_penalty", back.wakeup_penalty, 1.5, 0.02);
	expect_near("config 2800000", config_freq_weight(&back, 2800000), g.w_freq[5], 0.02);
	unlink(path);
	rmdir(dir);
	fitted_free(&f);
	free(csv);
}

/* A feature of the table's host block: off by default, fitted when --features names it. */
static void test_softirq_feature_only_when_selected(void **state)
{
	struct gen_spec g;
	struct fitted f;
	const char *bad;
	size_t bad_len;
	bool sel[MF_COUNT];
	char *csv;

	gen_defaults(&g);
	g.w_softirq_net_rx = 0.5;
	csv = gen_csv(&g, NULL);
	fit(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ);
	assert_int_equal(column(&f, "softirq_net_rx"), -1);
	assert_int_equal(f.d.p, g.num_freqs + GEN_COUNTS);
	fitted_free(&f);

	fit_features(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ, "default,softirq_net_rx");
	assert_int_equal(f.d.p, g.num_freqs + GEN_COUNTS + 1);
	expect_recovered(&f, &g, 0.02);
	expect_near("softirq_net_rx", coef(&f, "softirq_net_rx"), 0.5, 0.02);
	fitted_free(&f);
	free(csv);

	/* Selected, but the column is empty in every row: dropped as unmeasured. */
	gen_defaults(&g);
	csv = gen_csv(&g, NULL);
	fit_features(&f, csv, FIT_NNLS, CSV_ACTIVE_PSYS_UJ, "default,softirq_rcu");
	assert_int_equal(column(&f, "softirq_rcu"), -1);
	assert_int_equal(f.d.num_dropped, 1);
	assert_string_equal(f.d.dropped[0].name, "softirq_rcu");
	fitted_free(&f);
	free(csv);

	/* --features: names of the table and "default" only. */
	assert_int_equal(design_parse_features("wakeups", sel, &bad, &bad_len), 0);
	assert_true(sel[MF_WAKEUPS] && !sel[MF_CYCLES] && !sel[MF_SOFTIRQ_NET_RX]);
	assert_int_equal(design_parse_features("default,softirq_bogus", sel, &bad, &bad_len),
			 -EINVAL);
	assert_int_equal(bad_len, strlen("softirq_bogus"));
	assert_memory_equal(bad, "softirq_bogus", bad_len);
	assert_int_equal(design_parse_features("wakeups,,cycles", sel, &bad, &bad_len), -EINVAL);
	assert_int_equal(bad_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nnls_recovers_every_coefficient),
		cmocka_unit_test(test_every_method_recovers_clean_data),
		cmocka_unit_test(test_ols_equals_normal_equations),
		cmocka_unit_test(test_negative_true_coefficient),
		cmocka_unit_test(test_collinear_and_zero_columns),
		cmocka_unit_test(test_unmeasured_columns_are_dropped),
		cmocka_unit_test(test_robust_resists_outliers),
		cmocka_unit_test(test_interval_target_fits_idle_power),
		cmocka_unit_test(test_written_config_round_trips),
		cmocka_unit_test(test_softirq_feature_only_when_selected),
	};

	gsl_set_error_handler_off();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
