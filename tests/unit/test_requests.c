// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"
#include "fixed_point.h"
#include "requests_api.h"

static double decoded(const struct model_weight *w)
{
	struct fixed_weight fw = { .mantissa = w->mantissa, .shift = w->shift };

	return fixed_weight_decode(&fw);
}

/* Each kernel feature weight lands at its enum model_feature index, from its config key. */
static void test_feature_weights_by_index(void **state)
{
	struct energy_config cfg;
	struct model_params m;

	(void)state;
	config_defaults(&cfg);
	cfg.attribution_mode = ATTRIBUTION_MODEL;
	for (int f = 0; f < MF_COUNT; f++)
		cfg.feature_weight[f] = 1.0 + f;
	cfg.wakeup_penalty = 7.5; /* by name too: the union's two views agree */
	assert_int_equal(model_params_from_config(&cfg, &m), 0);
	assert_int_equal(m.mode, ATTRIB_MODEL);
	for (int f = 0; f < MF_BPF_COUNT; f++) {
		double want = f == MF_WAKEUPS ? 7.5 : 1.0 + f;

		assert_true(fabs(decoded(&m.feature[f]) - want) <= want * 1e-8);
	}
	assert_true(fabs(decoded(&m.feature[MF_MIGRATIONS]) - (1.0 + MF_MIGRATIONS)) < 1e-6);
}

/* A weight the kernel's fixed point cannot hold: one line naming the key. */
static void test_weight_out_of_range(void **state)
{
	struct energy_config cfg;
	struct model_params m;
	struct capture c;

	(void)state;
	config_defaults(&cfg);
	cfg.cache_miss_weight = 2e6;
	capture_begin(&c);
	assert_int_equal(model_params_from_config(&cfg, &m), -ERANGE);
	assert_non_null(strstr(capture_end(&c), "cache_miss_weight: 2e+06 cannot be used"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_weights_by_index),
		cmocka_unit_test(test_weight_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
