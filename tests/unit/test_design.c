// SPDX-License-Identifier: MIT
#include <errno.h>
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
#include "csv_loader.h"
#include "design.h"
#include "split.h"

#define H                                                                                \
	"interval,label,t_start_ns,t_end_ns,active_psys_uj,wakeups,cycles,instructions," \
	"cache_misses,migrations,freq_runtime_ns\n"

struct built {
	struct dataset ds;
	struct design d;
	uint8_t *state;
	size_t test;
};

static char *text_of(size_t rows, void (*row)(size_t i, char *buf, size_t size))
{
	size_t cap = 256 + rows * 4096, o;
	char *t = malloc(cap);

	assert_non_null(t);
	o = (size_t)snprintf(t, cap, H);
	for (size_t i = 0; i < rows; i++) {
		row(i, t + o, cap - o);
		o += strlen(t + o);
	}
	return t;
}

static int build(struct built *b, const char *text, bool fit_idle, double fraction)
{
	struct design_opts o = { .fit_idle = fit_idle, .min_freq_share = 0.01 };
	struct csv_loader *l;
	int err;

	design_default_features(&o);
	memset(b, 0, sizeof(*b));
	dataset__init(&b->ds);
	assert_int_equal(csv_loader__new(&b->ds, CSV_ACTIVE_PSYS_UJ, &l), 0);
	assert_int_equal(csv_loader__begin(l, "d.csv"), 0);
	assert_int_equal(csv_loader__feed(l, text, strlen(text)), 0);
	assert_int_equal(csv_loader__end(l), 0);
	csv_loader__free(l);
	b->state = malloc(b->ds.rows);
	err = design_prepare(&b->d, &b->ds, &o, "active_psys_uj", b->state);
	if (err)
		return err;
	assert_int_equal(split_rows(&b->ds, b->state, SPLIT_TIME, fraction, 1, &b->test), 0);
	return design_finish(&b->d, &b->ds, &o, b->state);
}

static void built_free(struct built *b)
{
	design_free(&b->d);
	dataset__free(&b->ds);
	free(b->state);
}

static int col(const struct built *b, const char *name)
{
	for (size_t j = 0; j < b->d.p; j++)
		if (!strcmp(b->d.feat[j].name, name))
			return (int)j;
	return -1;
}

static const char *why_dropped(const struct built *b, const char *name)
{
	for (size_t j = 0; j < b->d.num_dropped; j++)
		if (!strcmp(b->d.dropped[j].name, name))
			return b->d.dropped[j].why;
	return NULL;
}

/* Runtime shares 0.5%, 50%, 0.4%, 49.1% at 800, 1200, 1600, 2000 MHz. */
static void merge_row(size_t i, char *buf, size_t size)
{
	unsigned v = 100 + (unsigned)(i % 7);

	snprintf(buf, size,
		 "%zu,a,%zu,%zu,%u,%zu,1,1,1,%zu,800000:%u;1200000:%u;1600000:%u;2000000:%u\n", i,
		 i * 10, i * 10 + 10, v, i % 3, i % 5, 5 * v, 500 * v, 4 * v, 491 * v);
}

static void test_small_frequencies_merge_into_neighbours(void **state)
{
	char *t = text_of(50, merge_row);
	struct built b;
	double x[DESIGN_MAX_FEATURES];
	int c12, c20;

	assert_int_equal(build(&b, t, false, 0.2), 0);
	/* 1600000 (0.4%) goes down into 1200000; 800000 (0.5%), the lowest, goes up. */
	assert_int_equal(b.d.num_merges, 2);
	assert_int_equal(b.d.merges[0].from_khz, 1600000);
	assert_int_equal(b.d.merges[0].into_khz, 1200000);
	assert_int_equal(b.d.merges[1].from_khz, 800000);
	assert_int_equal(b.d.merges[1].into_khz, 1200000);
	c12 = col(&b, "freq_khz=1200000");
	c20 = col(&b, "freq_khz=2000000");
	assert_int_equal(c12, 0); /* frequencies first, by kHz */
	assert_int_equal(c20, 1);
	assert_int_equal(col(&b, "freq_khz=800000"), -1);
	assert_true(fabs(b.d.feat[c12].runtime_share - 0.509) < 1e-9);
	/* Merged runtime adds up in the surviving column. */
	design_row(&b.d, &b.ds, 3, x);
	assert_true(x[c12] == 509.0 * 103);
	assert_true(x[c20] == 491.0 * 103);
	assert_true(x[col(&b, "wakeups")] == 0); /* 3 % 3 */
	/* cycles etc. are 1 in every row: constant. */
	assert_non_null(strstr(why_dropped(&b, "cycles"), "constant (1 in every training row)"));
	built_free(&b);
	free(t);
}

static void many_row(size_t i, char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "%zu,a,%zu,%zu,5,%zu,,,,%zu,", i, i * 10,
				    i * 10 + 10, i % 3, i % 5);

	for (unsigned f = 0; f < 70; f++)
		o += (size_t)snprintf(buf + o, size - o, "%s%u:%zu", f ? ";" : "",
				      100000 + 10000 * f, 1000 + (i * (f + 1)) % 17);
	snprintf(buf + o, size - o, "\n");
}

static void test_at_most_64_frequencies(void **state)
{
	char *t = text_of(40, many_row);
	struct built b;
	size_t freqs = 0;

	assert_int_equal(build(&b, t, false, 0), 0);
	for (size_t j = 0; j < b.d.p; j++)
		freqs += b.d.feat[j].kind == FEATURE_FREQ;
	assert_int_equal(freqs, MODEL_MAX_FREQS);
	assert_int_equal(b.d.num_merges, 70 - MODEL_MAX_FREQS);
	/* Every dataset frequency maps to a column. */
	for (size_t f = 0; f < b.ds.num_freqs; f++)
		assert_true(b.d.freq_col[f] >= 0 && b.d.freq_col[f] < (int)freqs);
	built_free(&b);
	free(t);
}

/* wakeups all 0; migrations 5; cycles empty; instructions empty in row 3 only;
 * cache_misses empty in 6 of 10; the target empty in row 9. */
static void drop_row(size_t i, char *buf, size_t size)
{
	char ins[32] = "", cm[32] = "", target[32] = "";

	if (i != 3)
		snprintf(ins, sizeof(ins), "%zu", i * 7);
	if (i >= 6)
		snprintf(cm, sizeof(cm), "%zu", i);
	if (i != 9)
		snprintf(target, sizeof(target), "%zu", 100 + i);
	snprintf(buf, size, "%zu,a,%zu,%zu,%s,0,,%s,%s,5,1000:%zu\n", i, i * 10, i * 10 + 10,
		 target, ins, cm, 50 + i * i);
}

static void test_drops_and_skips(void **state)
{
	char *t = text_of(10, drop_row);
	struct built b;

	assert_int_equal(build(&b, t, true, 0), 0);
	assert_string_equal(why_dropped(&b, "cycles"), "unmeasured (every cell is empty)");
	assert_string_equal(why_dropped(&b, "cache_misses"), "unmeasured (empty in 6 of 9 rows)");
	assert_string_equal(why_dropped(&b, "wakeups"), "all zero in the 8 training rows");
	assert_non_null(strstr(why_dropped(&b, "migrations"), "constant (5 in every"));
	assert_null(why_dropped(&b, "instructions"));
	assert_int_equal(b.d.skipped_target, 1);
	assert_int_equal(b.d.skipped_count[MF_INSTRUCTIONS], 1);
	assert_int_equal(b.d.used, 8);
	assert_int_equal(b.state[3], ROW_SKIPPED);
	assert_int_equal(b.state[9], ROW_SKIPPED);
	/* Left: freq 1000, instructions, and the duration (constant, but the intercept). */
	assert_int_equal(b.d.p, 3);
	assert_int_equal(b.d.feat[2].kind, FEATURE_IDLE);
	assert_true(b.d.idle_col == 2);
	assert_true(fabs(b.d.feat[2].scale - 1e-8) < 1e-20); /* 10 ns in seconds */
	built_free(&b);
	free(t);
}

/* A frequency seen only in the test rows has no training runtime: merged. */
static void late_row(size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%zu,a,%zu,%zu,1,%zu,,,,%zu,1000:%zu%s\n", i, i * 10, i * 10 + 10,
		 i % 4, i % 3, 10 + i, i >= 8 ? ";3000:5" : "");
}

static void test_shares_come_from_training_rows(void **state)
{
	char *t = text_of(10, late_row);
	struct built b;

	assert_int_equal(build(&b, t, false, 0.2), 0);
	assert_int_equal(b.d.num_merges, 1);
	assert_int_equal(b.d.merges[0].from_khz, 3000);
	assert_int_equal(b.d.merges[0].into_khz, 1000);
	assert_true(b.d.merges[0].share == 0);
	built_free(&b);
	free(t);
}

static void empty_target_row(size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "%zu,a,%zu,%zu,,1,,,,1,\n", i, i * 10, i * 10 + 10);
}

static void test_no_usable_rows(void **state)
{
	char *t = text_of(3, empty_target_row), want[256];
	struct capture cap;
	struct built b;

	capture_begin(&cap);
	assert_int_equal(build(&b, t, false, 0.2), -EINVAL);
	snprintf(
		want, sizeof(want),
		"%s: skipped 3 of 3 rows: active_psys_uj is empty (unmeasured)\n"
		"%s: d.csv: no usable rows: all 3 have an empty active_psys_uj or an empty count\n",
		program_invocation_short_name, program_invocation_short_name);
	assert_string_equal(capture_end(&cap), want);
	built_free(&b);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_frequencies_merge_into_neighbours),
		cmocka_unit_test(test_at_most_64_frequencies),
		cmocka_unit_test(test_drops_and_skips),
		cmocka_unit_test(test_shares_come_from_training_rows),
		cmocka_unit_test(test_no_usable_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
