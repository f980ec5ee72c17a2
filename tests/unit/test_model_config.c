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
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "model_config.h"

/* Frequencies first, sorted by kHz, as design_finish() makes them. */
static void make_design(struct design *d, bool idle)
{
	memset(d, 0, sizeof(*d));
	d->feat[0] = (struct feature){ .kind = FEATURE_FREQ, .freq_khz = 0, .unit = "uJ/ns" };
	d->feat[1] = (struct feature){ .kind = FEATURE_FREQ, .freq_khz = 800000, .unit = "uJ/ns" };
	d->feat[2] = (struct feature){ .kind = FEATURE_FREQ, .freq_khz = 2400000, .unit = "uJ/ns" };
	d->feat[3] =
		(struct feature){ .kind = FEATURE_COUNT, .count = MF_WAKEUPS, .unit = "uJ/event" };
	d->feat[4] = (struct feature){ .kind = FEATURE_COUNT,
				       .count = MF_MIGRATIONS,
				       .unit = "uJ/event" };
	d->feat[5] = (struct feature){ .kind = FEATURE_IDLE, .unit = "uW" };
	snprintf(d->feat[0].name, DESIGN_NAME_MAX, "freq_khz=0");
	snprintf(d->feat[1].name, DESIGN_NAME_MAX, "freq_khz=800000");
	snprintf(d->feat[2].name, DESIGN_NAME_MAX, "freq_khz=2400000");
	snprintf(d->feat[3].name, DESIGN_NAME_MAX, "wakeups");
	snprintf(d->feat[4].name, DESIGN_NAME_MAX, "migrations");
	snprintf(d->feat[5].name, DESIGN_NAME_MAX, "idle_power");
	d->p = idle ? 6 : 5;
	d->idle_col = idle ? 5 : -1;
}

static const struct model_opts opts = { .psys_interval_ms = 100,
					.idle_power_uw = 1234,
					.energy_source = "rapl" };

static void test_fields(void **state)
{
	const double coef[] = { 0.004, 0.001, 0.0035, 1.5, 0, 9500000.4 };
	struct model_clamp clamps[DESIGN_MAX_FEATURES];
	double written[DESIGN_MAX_FEATURES];
	struct energy_config cfg;
	struct design d;
	size_t nc = 99;

	make_design(&d, false);
	assert_int_equal(model_to_config(&d, coef, &opts, &cfg, written, clamps, &nc), 0);
	assert_int_equal(nc, 0);
	assert_int_equal(cfg.attribution_mode, ATTRIBUTION_MODEL);
	assert_string_equal(cfg.energy_source, "rapl");
	assert_int_equal(cfg.psys_interval_ms, 100);
	assert_int_equal(cfg.idle_power_uw, 1234); /* given, not fitted */
	assert_int_equal(cfg.num_freqs, 3);
	assert_int_equal(cfg.freqs[0].freq_khz, 0);
	assert_true(cfg.freqs[0].weight == 0.004);
	assert_true(cfg.freqs[2].weight == 0.0035);
	assert_true(cfg.default_multiplier == 0.004); /* the lowest entry's */
	assert_true(cfg.wakeup_penalty == 1.5);
	assert_true(cfg.migration_penalty == 0 && !signbit(cfg.migration_penalty));
	assert_true(cfg.cycles_weight == 0 && cfg.instructions_weight == 0 &&
		    cfg.cache_miss_weight == 0); /* not in the design: 0 */
	assert_int_equal(config_validate(&cfg, "test"), 0);

	make_design(&d, true);
	assert_int_equal(model_to_config(&d, coef, &opts, &cfg, written, clamps, &nc), 0);
	assert_int_equal(cfg.idle_power_uw, 9500000); /* fitted, rounded */
	assert_true(written[5] == 9500000);
}

static void test_out_of_range(void **state)
{
	const double coef[] = { 0.004, -0.0002, 2e6, 1.5, -3, -5 };
	struct model_clamp clamps[DESIGN_MAX_FEATURES];
	double written[DESIGN_MAX_FEATURES];
	struct model_opts forced = opts;
	struct energy_config cfg;
	struct capture cap;
	struct design d;
	char want[1024];
	const char *p = program_invocation_short_name;
	size_t nc;

	make_design(&d, true);
	capture_begin(&cap);
	assert_int_equal(model_to_config(&d, coef, &opts, &cfg, written, clamps, &nc), -ERANGE);
	snprintf(want, sizeof(want),
		 "%s: freq_khz=800000: coefficient -0.0002 uJ/ns is below 0: a config cannot hold "
		 "it (energy cannot be negative: use --method nnls, or --force to write 0)\n"
		 "%s: freq_khz=2400000: coefficient 2e+06 uJ/ns is above the config's maximum: a "
		 "config cannot hold it (--force writes the maximum)\n"
		 "%s: migrations: coefficient -3 uJ/event is below 0: a config cannot hold it "
		 "(energy cannot be negative: use --method nnls, or --force to write 0)\n"
		 "%s: idle_power: coefficient -5 uW is below 0: a config cannot hold it (energy "
		 "cannot be negative: use --method nnls, or --force to write 0)\n",
		 p, p, p, p);
	assert_string_equal(capture_end(&cap), want);

	forced.force = true;
	capture_begin(&cap);
	assert_int_equal(model_to_config(&d, coef, &forced, &cfg, written, clamps, &nc), 0);
	assert_int_equal(capture_lines(capture_end(&cap)), 4);
	assert_int_equal(nc, 4);
	assert_string_equal(clamps[0].name, "freq_khz=800000");
	assert_true(clamps[0].value == -0.0002 && clamps[0].written == 0);
	assert_true(clamps[1].written == 1e6);
	assert_true(written[1] == 0 && written[2] == 1e6 && written[4] == 0 && written[5] == 0);
	assert_true(cfg.freqs[1].weight == 0 && cfg.freqs[2].weight == 1e6);
	assert_int_equal(cfg.idle_power_uw, 0);
	assert_int_equal(config_validate(&cfg, "test"), 0);
}

static void test_write_and_read_back(void **state)
{
	const double coef[] = { 0.1 + 0.2, 1.0 / 3, 1e-9, 123456.789, 4, 42 };
	struct model_clamp clamps[DESIGN_MAX_FEATURES];
	double written[DESIGN_MAX_FEATURES];
	struct energy_config cfg, back;
	char dir[] = "/tmp/test_model_config.XXXXXX", path[80], line[256];
	struct capture cap;
	struct design d;
	size_t nc;
	FILE *f;

	make_design(&d, true);
	assert_int_equal(model_to_config(&d, coef, &opts, &cfg, written, clamps, &nc), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.conf", dir);
	assert_int_equal(model_write_config(path, &cfg, "first line\nsecond line"), 0);
	assert_int_equal(config_parse_file(path, &back), 0);
	assert_true(config_equal(&cfg, &back)); /* every double exactly */
	assert_true(back.freqs[1].weight == 1.0 / 3);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "# first line\n");
	fclose(f);
	unlink(path);
	rmdir(dir);

	capture_begin(&cap);
	assert_true(model_write_config("/nonexistent/dir/m.conf", &cfg, NULL) < 0);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_write_and_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
