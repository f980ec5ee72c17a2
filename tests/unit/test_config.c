// SPDX-License-Identifier: MIT
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "config.h"
#include "rng.h"

/* Parses text, expecting failure with exactly this one error line (after "PROGRAM: "). */
static void expect_error(const char *text, int want_err, const char *want_line)
{
	struct energy_config cfg, before;
	struct capture cap;
	char want[1200];
	const char *got;
	int err;

	config_defaults(&cfg);
	cfg.idle_power_uw = 4242; /* a marker: the struct must stay untouched on error */
	before = cfg;
	capture_begin(&cap);
	err = config_parse_string("t.conf", text, &cfg);
	got = capture_end(&cap);
	snprintf(want, sizeof(want), "%s: %s\n", program_invocation_short_name, want_line);
	if (err != want_err || strcmp(got, want)) {
		print_error("input:\n%s\nwant %d: %sgot  %d: %s", text, want_err, want, err, got);
		fail();
	}
	assert_true(config_equal(&cfg, &before));
}

static void expect_ok(const char *text, struct energy_config *cfg)
{
	struct capture cap;
	int err;

	capture_begin(&cap);
	err = config_parse_string("t.conf", text, cfg);
	assert_int_equal(err, 0);
	assert_string_equal(capture_end(&cap), ""); /* success is silent */
}

static void test_defaults(void **state)
{
	struct energy_config cfg;

	config_defaults(&cfg);
	assert_int_equal(cfg.attribution_mode, ATTRIBUTION_PSYS);
	assert_string_equal(cfg.energy_source, "auto");
	assert_true(cfg.default_multiplier == 1.0);
	assert_true(cfg.wakeup_penalty == 0 && cfg.cycles_weight == 0);
	assert_int_equal(cfg.psys_interval_ms, 200);
	assert_int_equal(cfg.idle_power_uw, 0);
	assert_int_equal(cfg.num_freqs, 0);
	assert_int_equal(config_validate(&cfg, "defaults"), 0);

	/* An empty or comment-only file is the defaults. */
	struct energy_config parsed, d;

	config_defaults(&d);
	expect_ok("", &parsed);
	assert_true(config_equal(&parsed, &d));
	expect_ok("# nothing\n\n   \t\n# more\n", &parsed);
	assert_true(config_equal(&parsed, &d));
}

static void test_full_file(void **state)
{
	struct energy_config cfg;

	expect_ok("# header\r\n"
		  "attribution_mode = model\r\n"
		  "  energy_source=replay:/tmp/trace.csv   # trailing comment\n"
		  "default_multiplier\t=\t0.5\n"
		  "wakeup_penalty = 2\n"
		  "cycles_weight = 1e-7\n"
		  "instructions_weight = 0.25\n"
		  "cache_miss_weight = 1000000\n"
		  "migration_penalty = 3.5\n"
		  "idle_power_uw = 12345678\n"
		  "psys_interval_ms = 10\n"
		  "synthetic_noise_uw = 5000\n"
		  "freq_khz = 2400000 0.003\n"
		  "freq_khz = 800000   0.001\n"
		  "freq_khz = 0 0.002\n"
		  "freq_khz = 1600000 0",
		  &cfg);
	assert_int_equal(cfg.attribution_mode, ATTRIBUTION_MODEL);
	assert_string_equal(cfg.energy_source, "replay:/tmp/trace.csv");
	assert_true(cfg.default_multiplier == 0.5);
	assert_true(cfg.wakeup_penalty == 2);
	assert_true(cfg.cycles_weight == 1e-7);
	assert_true(cfg.instructions_weight == 0.25);
	assert_true(cfg.cache_miss_weight == 1e6);
	assert_true(cfg.migration_penalty == 3.5);
	assert_int_equal(cfg.idle_power_uw, 12345678);
	assert_int_equal(cfg.psys_interval_ms, 10);
	assert_int_equal(cfg.synthetic_noise_uw, 5000);
	assert_int_equal(cfg.num_freqs, 4);
	/* sorted by kHz whatever the file order */
	assert_int_equal(cfg.freqs[0].freq_khz, 0);
	assert_int_equal(cfg.freqs[1].freq_khz, 800000);
	assert_int_equal(cfg.freqs[2].freq_khz, 1600000);
	assert_int_equal(cfg.freqs[3].freq_khz, 2400000);
	assert_true(cfg.freqs[0].weight == 0.002);
	assert_true(cfg.freqs[1].weight == 0.001);
	assert_true(cfg.freqs[2].weight == 0);
	assert_true(cfg.freqs[3].weight == 0.003);
}

/* The feature table's keys (model_features.h), in its order. */
#define FEATURE_KEYS                                                                             \
	"wakeup_penalty, cycles_weight, instructions_weight, cache_miss_weight, "               \
	"migration_penalty, softirq_net_rx_weight, softirq_net_tx_weight, softirq_block_weight, " \
	"softirq_timer_weight, softirq_sched_weight, softirq_rcu_weight, softirq_other_weight"

static void test_keys_and_lines(void **state)
{
	expect_error("cycle_weight = 1\n", -EINVAL,
		     "t.conf:1: cycle_weight: \"1\" has an unknown key (known keys: "
		     "attribution_mode, energy_source, idle_power_uw, psys_interval_ms, "
		     "default_multiplier, " FEATURE_KEYS ", synthetic_noise_uw, "
		     "synthetic_page_cache_hit_uj, synthetic_writeback_uj, synthetic_util_gain, "
		     "freq_khz)");
	expect_error("# ok\n\nCYCLES_WEIGHT = 1\n", -EINVAL,
		     "t.conf:3: CYCLES_WEIGHT: \"1\" has an unknown key (known keys: "
		     "attribution_mode, energy_source, idle_power_uw, psys_interval_ms, "
		     "default_multiplier, " FEATURE_KEYS ", synthetic_noise_uw, "
		     "synthetic_page_cache_hit_uj, synthetic_writeback_uj, synthetic_util_gain, "
		     "freq_khz)");
	expect_error("idle_power_uw = 5\n\nidle_power_uw = 6\n", -EINVAL,
		     "t.conf:3: idle_power_uw: \"6\" duplicates line 1");
	expect_error("attribution_mode = psys\nattribution_mode = psys\n", -EINVAL,
		     "t.conf:2: attribution_mode: \"psys\" duplicates line 1");
	expect_error("idle_power_uw 5\n", -EINVAL,
		     "t.conf:1: \"idle_power_uw 5\" is not \"key = value\"");
	expect_error("idle_power_uw =   # nothing\n", -EINVAL,
		     "t.conf:1: idle_power_uw: \"\" is empty");
	expect_error("= 5\n", -EINVAL,
		     "t.conf:1: : \"5\" has an unknown key (known keys: attribution_mode, "
		     "energy_source, idle_power_uw, psys_interval_ms, default_multiplier, "
		     FEATURE_KEYS ", synthetic_noise_uw, synthetic_page_cache_hit_uj, "
		     "synthetic_writeback_uj, synthetic_util_gain, freq_khz)");
	/* Control bytes are shown escaped, so the message stays one printable line. */
	expect_error("cycles_weight = 1\x1b[2J\n", -EINVAL,
		     "t.conf:1: cycles_weight: \"1\\x1b[2J\" is not a number");
	expect_error("cycles_weight = \"1\"\n", -EINVAL,
		     "t.conf:1: cycles_weight: \"\\x221\\x22\" is not a number");
}

static void test_long_lines(void **state)
{
	struct energy_config cfg;
	char *text = malloc(4 * CONFIG_LINE_MAX);
	char want[128];

	/* Exactly CONFIG_LINE_MAX bytes (a comment) is fine, one more is not. */
	memset(text, '#', CONFIG_LINE_MAX);
	strcpy(text + CONFIG_LINE_MAX, "\nidle_power_uw = 7\n");
	expect_ok(text, &cfg);
	assert_int_equal(cfg.idle_power_uw, 7);

	strcpy(text, "idle_power_uw = 1\n");
	memset(text + 18, ' ', CONFIG_LINE_MAX + 1);
	strcpy(text + 18 + CONFIG_LINE_MAX + 1, "\n");
	snprintf(want, sizeof(want), "t.conf:2: the line is %d bytes long; at most %d are allowed",
		 CONFIG_LINE_MAX + 1, CONFIG_LINE_MAX);
	expect_error(text, -E2BIG, want);
	/* A long last line without a newline too. */
	text[18 + CONFIG_LINE_MAX + 1] = '\0';
	expect_error(text, -E2BIG, want);
	free(text);
}

static void test_numbers(void **state)
{
	struct energy_config cfg;

	expect_error("cycles_weight = abc\n", -EINVAL,
		     "t.conf:1: cycles_weight: \"abc\" is not a number");
	expect_error("cycles_weight = nan\n", -EINVAL,
		     "t.conf:1: cycles_weight: \"nan\" is not a number");
	expect_error("cycles_weight = inf\n", -EINVAL,
		     "t.conf:1: cycles_weight: \"inf\" is not a number");
	expect_error("cycles_weight = -inf\n", -EINVAL,
		     "t.conf:1: cycles_weight: \"-inf\" is not a number");
	expect_error("cycles_weight = 1e999\n", -ERANGE,
		     "t.conf:1: cycles_weight: \"1e999\" is out of range 0..1000000");
	expect_error("cycles_weight = -1\n", -ERANGE,
		     "t.conf:1: cycles_weight: \"-1\" is out of range 0..1000000");
	expect_error("wakeup_penalty = -0.000001\n", -ERANGE,
		     "t.conf:1: wakeup_penalty: \"-0.000001\" is out of range 0..1000000");
	expect_error("default_multiplier = 1000000.5\n", -ERANGE,
		     "t.conf:1: default_multiplier: \"1000000.5\" is out of range 0..1000000");
	expect_error("migration_penalty = 0x10\n", -EINVAL,
		     "t.conf:1: migration_penalty: \"0x10\" is not a number");
	expect_error("migration_penalty = 1 2\n", -EINVAL,
		     "t.conf:1: migration_penalty: \"1 2\" is not a number");
	expect_ok("default_multiplier = 1000000\ncycles_weight = -0\n", &cfg);
	assert_true(cfg.default_multiplier == 1e6);
	assert_true(cfg.cycles_weight == 0 && !signbit(cfg.cycles_weight));

	expect_error("psys_interval_ms = 0\n", -ERANGE,
		     "t.conf:1: psys_interval_ms: \"0\" is out of range 10..60000");
	expect_error("psys_interval_ms = 9\n", -ERANGE,
		     "t.conf:1: psys_interval_ms: \"9\" is out of range 10..60000");
	expect_error("psys_interval_ms = 60001\n", -ERANGE,
		     "t.conf:1: psys_interval_ms: \"60001\" is out of range 10..60000");
	expect_error("psys_interval_ms = 99999999999999999999999\n", -ERANGE,
		     "t.conf:1: psys_interval_ms: \"99999999999999999999999\" is out of range "
		     "10..60000");
	expect_error("psys_interval_ms = 200ms\n", -EINVAL,
		     "t.conf:1: psys_interval_ms: \"200ms\" is not a whole number");
	expect_error("psys_interval_ms = 2.5e2\n", -EINVAL,
		     "t.conf:1: psys_interval_ms: \"2.5e2\" is not a whole number");
	expect_error("idle_power_uw = -5\n", -EINVAL,
		     "t.conf:1: idle_power_uw: \"-5\" is not a whole number");
	expect_error("idle_power_uw = 10000000001\n", -ERANGE,
		     "t.conf:1: idle_power_uw: \"10000000001\" is out of range 0..10000000000");
	expect_ok("psys_interval_ms = 10\nidle_power_uw = 10000000000\n", &cfg);
	assert_int_equal(cfg.psys_interval_ms, 10);
	assert_true(cfg.idle_power_uw == 10000000000ULL);
	expect_ok("psys_interval_ms = 60000\n", &cfg);
	assert_int_equal(cfg.psys_interval_ms, 60000);
}

static void test_mode_and_source(void **state)
{
	struct energy_config cfg;
	const char *ok[] = { "psys",
			     "rapl",
			     "powercap",
			     "hwmon",
			     "auto",
			     "synthetic",
			     "synthetic:configs/synthetic_host.conf",
			     "replay:a.csv",
			     "replay:/x:y.csv",
			     /* Names are the collector's to check (energy_source_check). */
			     "bogus",
			     "replay" };
	char text[256];

	expect_error("attribution_mode = Psys\n", -EINVAL,
		     "t.conf:1: attribution_mode: \"Psys\" is not one of psys, model");
	expect_error("attribution_mode = psys model\n", -EINVAL,
		     "t.conf:1: attribution_mode: \"psys model\" is not one of psys, model");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "energy_source = %s\n", ok[i]);
		expect_ok(text, &cfg);
		assert_string_equal(cfg.energy_source, ok[i]);
	}
	expect_error("energy_source = replay:\n", -EINVAL,
		     "t.conf:1: energy_source: \"replay:\" names no file after ':'");
	expect_error("energy_source = replay:my trace.csv\n", -EINVAL,
		     "t.conf:1: energy_source: \"replay:my trace.csv\" contains a space, a control "
		     "character or '#'");

	char *long_text = malloc(CONFIG_LINE_MAX + 1);

	strcpy(long_text, "energy_source = replay:");
	memset(long_text + strlen(long_text), 'a', 600);
	long_text[23 + 600] = '\0';
	struct capture cap;

	capture_begin(&cap);
	assert_int_equal(config_parse_string("t.conf", long_text, &cfg), -EINVAL);
	assert_non_null(strstr(capture_end(&cap), "is too long (at most 511 bytes)"));
	free(long_text);
}

static void test_freq_lines(void **state)
{
	char text[8192];
	size_t len = 0;

	expect_error("freq_khz = 800000\n", -EINVAL,
		     "t.conf:1: freq_khz: \"800000\" is not \"<khz> <weight>\"");
	expect_error("freq_khz = 800000 1 2\n", -EINVAL,
		     "t.conf:1: freq_khz: \"800000 1 2\" is not \"<khz> <weight>\"");
	expect_error("freq_khz = abc 1\n", -EINVAL,
		     "t.conf:1: freq_khz: \"abc\" is not a whole number");
	expect_error("freq_khz = 4294967296 1\n", -ERANGE,
		     "t.conf:1: freq_khz: \"4294967296\" is out of range 0..4294967295");
	expect_error("freq_khz = 800000 -1\n", -ERANGE,
		     "t.conf:1: freq_khz: \"-1\" is out of range 0..1000000");
	expect_error("freq_khz = 800000 nan\n", -EINVAL,
		     "t.conf:1: freq_khz: \"nan\" is not a number");
	expect_error("freq_khz = 800000 1\nfreq_khz = 900000 1\n\nfreq_khz = 800000 2\n", -EINVAL,
		     "t.conf:4: freq_khz: \"800000\" duplicates line 1");

	/* 64 entries fit; the 65th is an error naming its line. */
	for (int i = 0; i < MODEL_MAX_FREQS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "freq_khz = %d 0.5\n",
					(MODEL_MAX_FREQS - i) * 100000);
	struct energy_config cfg;

	expect_ok(text, &cfg);
	assert_int_equal(cfg.num_freqs, MODEL_MAX_FREQS);
	for (size_t i = 1; i < cfg.num_freqs; i++)
		assert_true(cfg.freqs[i - 1].freq_khz < cfg.freqs[i].freq_khz);
	snprintf(text + len, sizeof(text) - len, "freq_khz = 1 0.5\n");
	expect_error(text, -E2BIG, "t.conf:65: freq_khz: \"1\" is one entry too many (at most 64)");
}

static void test_freq_weight_rule(void **state)
{
	struct energy_config cfg;

	config_defaults(&cfg);
	cfg.default_multiplier = 0.7;
	assert_true(config_freq_weight(&cfg, 0) == 0.7);
	assert_true(config_freq_weight(&cfg, 3000000) == 0.7);

	assert_int_equal(config_set_freq(&cfg, 2000000, 2.0), 0);
	assert_int_equal(config_set_freq(&cfg, 1000000, 1.0), 0);
	assert_int_equal(config_set_freq(&cfg, 3000000, 3.0), 0);
	assert_true(config_freq_weight(&cfg, 0) == 0.7); /* below the lowest: default */
	assert_true(config_freq_weight(&cfg, 999999) == 0.7);
	assert_true(config_freq_weight(&cfg, 1000000) == 1.0); /* exact */
	assert_true(config_freq_weight(&cfg, 1999999) == 1.0); /* nearest below */
	assert_true(config_freq_weight(&cfg, 2000000) == 2.0);
	assert_true(config_freq_weight(&cfg, 2500000) == 2.0);
	assert_true(config_freq_weight(&cfg, 3000000) == 3.0);
	assert_true(config_freq_weight(&cfg, UINT64_MAX) == 3.0); /* above the highest */

	assert_int_equal(config_set_freq(&cfg, 0, 0.1), 0); /* kHz 0: frequency unknown */
	assert_true(config_freq_weight(&cfg, 0) == 0.1);
	assert_true(config_freq_weight(&cfg, 999999) == 0.1);

	/* Exhaustively against a linear scan for every kHz around the entries. */
	for (uint64_t khz = 0; khz < 3100000; khz += 997) {
		double want = cfg.default_multiplier;

		for (size_t i = 0; i < cfg.num_freqs; i++)
			if (cfg.freqs[i].freq_khz <= khz)
				want = cfg.freqs[i].weight;
		assert_true(config_freq_weight(&cfg, khz) == want);
	}
}

static void test_set_freq(void **state)
{
	struct energy_config cfg;

	config_defaults(&cfg);
	assert_int_equal(config_set_freq(&cfg, 5, -1), -ERANGE);
	assert_int_equal(config_set_freq(&cfg, 5, NAN), -ERANGE);
	assert_int_equal(config_set_freq(&cfg, 5, 2e6), -ERANGE);
	assert_int_equal(cfg.num_freqs, 0);
	for (uint32_t i = 0; i < MODEL_MAX_FREQS; i++)
		assert_int_equal(config_set_freq(&cfg, (i * 37) % MODEL_MAX_FREQS, i), 0);
	assert_int_equal(cfg.num_freqs, MODEL_MAX_FREQS);
	assert_int_equal(config_set_freq(&cfg, 1000, 1), -ENOSPC);
	assert_int_equal(config_set_freq(&cfg, 3, 9.5), 0); /* replacing still works */
	assert_true(config_freq_weight(&cfg, 3) == 9.5);
	assert_int_equal(config_validate(&cfg, "x"), 0);
}

/* Any double in [0, 1e6], drawn from raw bit patterns so every exponent shows up. */
static double random_weight(uint64_t *s)
{
	static const double special[] = {
		0,	1,	0.1,	   1.0 / 3, 1e6, 999999.99999999988, DBL_MIN, DBL_TRUE_MIN,
		1e-300, 5e-324, 123456.789
	};
	uint64_t r = splitmix64_next(s);
	double d;

	if (r % 8 == 0)
		return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	for (;;) {
		uint64_t bits = splitmix64_next(s) >> 1; /* sign bit clear */

		memcpy(&d, &bits, sizeof(d));
		if (isfinite(d) && d <= 1e6)
			return d;
	}
}

static void random_config(uint64_t *s, struct energy_config *cfg)
{
	static const char *sources[] = { "psys", "rapl", "auto", "synthetic:a.conf",
					 "replay:/data/x.csv" };

	config_defaults(cfg);
	cfg->attribution_mode = splitmix64_next(s) & 1 ? ATTRIBUTION_MODEL : ATTRIBUTION_PSYS;
	strcpy(cfg->energy_source, sources[splitmix64_next(s) % 5]);
	cfg->default_multiplier = random_weight(s);
	cfg->wakeup_penalty = random_weight(s);
	cfg->cycles_weight = random_weight(s);
	cfg->instructions_weight = random_weight(s);
	cfg->cache_miss_weight = random_weight(s);
	cfg->migration_penalty = random_weight(s);
	cfg->softirq_net_rx_weight = splitmix64_next(s) % 2 ? random_weight(s) : 0;
	cfg->softirq_other_weight = splitmix64_next(s) % 2 ? random_weight(s) : 0;
	cfg->idle_power_uw = splitmix64_next(s) % (CONFIG_POWER_UW_MAX + 1);
	cfg->psys_interval_ms = (uint32_t)(10 + splitmix64_next(s) % 59991);
	cfg->synthetic_noise_uw = splitmix64_next(s) & 1 ? splitmix64_next(s) % 1000000 : 0;
	for (size_t n = splitmix64_next(s) % (MODEL_MAX_FREQS + 1); n; n--)
		config_set_freq(cfg, (uint32_t)splitmix64_next(s), random_weight(s));
}

static char *write_to_string(const struct energy_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_write(f, cfg), 0);
	fclose(f);
	return buf;
}

static void test_round_trip(void **state)
{
	uint64_t seed = 20240601;

	for (int i = 0; i < 3000; i++) {
		struct energy_config cfg, back, again;
		char *text, *text2;

		random_config(&seed, &cfg);
		text = write_to_string(&cfg);
		expect_ok(text, &back);
		if (!config_equal(&cfg, &back)) {
			print_error("round trip %d changed the config:\n%s", i, text);
			fail();
		}
		/* Canonical: writing what was read gives the same bytes. */
		text2 = write_to_string(&back);
		assert_string_equal(text, text2);
		expect_ok(text2, &again);
		assert_true(config_equal(&again, &cfg));
		free(text);
		free(text2);
	}
}

static void test_canonical_form(void **state)
{
	struct energy_config cfg;
	char *text;

	config_defaults(&cfg);
	cfg.cycles_weight = 0.1;
	cfg.wakeup_penalty = 1.0 / 3;
	config_set_freq(&cfg, 800000, 0.0012);
	text = write_to_string(&cfg);
	assert_string_equal(text, "attribution_mode = psys\n"
				  "energy_source = auto\n"
				  "idle_power_uw = 0\n"
				  "psys_interval_ms = 200\n"
				  "default_multiplier = 1\n"
				  "wakeup_penalty = 0.3333333333333333\n"
				  "cycles_weight = 0.1\n"
				  "instructions_weight = 0\n"
				  "cache_miss_weight = 0\n"
				  "migration_penalty = 0\n"
				  "freq_khz = 800000 0.0012\n");
	free(text);
	/* A feature fitted only on request is written only when it has a weight. */
	cfg.softirq_rcu_weight = 2;
	text = write_to_string(&cfg);
	assert_non_null(strstr(text, "migration_penalty = 0\nsoftirq_rcu_weight = 2\nfreq_khz"));
	assert_null(strstr(text, "softirq_net_rx_weight"));
	free(text);
}

static void test_validate_and_write_refuse_bad_structs(void **state)
{
	struct energy_config cfg;
	struct capture cap;
	FILE *devnull = fopen("/dev/null", "w");

	config_defaults(&cfg);
	cfg.cycles_weight = -1;
	capture_begin(&cap);
	assert_int_equal(config_write(devnull, &cfg), -EINVAL);
	assert_string_equal(capture_end(&cap),
			    "test_config: config_write: cycles_weight: \"-1\" is out of range "
			    "0..1000000\n");

	config_defaults(&cfg);
	cfg.psys_interval_ms = 5;
	capture_begin(&cap);
	assert_int_equal(config_validate(&cfg, "w"), -EINVAL);
	assert_string_equal(capture_end(&cap),
			    "test_config: w: psys_interval_ms: \"5\" is out of range 10..60000\n");

	config_defaults(&cfg);
	cfg.num_freqs = 2;
	cfg.freqs[0] = (struct freq_weight){ 900, 1 };
	cfg.freqs[1] = (struct freq_weight){ 800, 1 };
	capture_begin(&cap);
	assert_int_equal(config_validate(&cfg, "w"), -EINVAL);
	assert_string_equal(capture_end(&cap),
			    "test_config: w: freq_khz: \"800\" is not sorted or is a duplicate\n");

	config_defaults(&cfg);
	cfg.default_multiplier = NAN;
	capture_begin(&cap);
	assert_int_equal(config_validate(&cfg, "w"), -EINVAL);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);

	config_defaults(&cfg);
	strcpy(cfg.energy_source, "replay:");
	capture_begin(&cap);
	assert_int_equal(config_validate(&cfg, "w"), -EINVAL);
	assert_string_equal(capture_end(&cap),
			    "test_config: w: energy_source: \"replay:\" names no file after ':'\n");
	fclose(devnull);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_write_file_atomic(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX";
	char path[256], bad[300];
	struct energy_config cfg, back;
	struct capture cap;
	struct stat st;
	FILE *f;
	char first[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/model.conf", dir);
	config_defaults(&cfg);
	cfg.attribution_mode = ATTRIBUTION_MODEL;
	cfg.idle_power_uw = 31337;
	config_set_freq(&cfg, 1200000, 0.004);
	assert_int_equal(config_write_file(path, &cfg, "fitted by test\nsecond line"), 0);
	/* Over an existing file too. */
	cfg.idle_power_uw = 31338;
	assert_int_equal(config_write_file(path, &cfg, "fitted by test\nsecond line"), 0);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	assert_non_null(fgets(first, sizeof(first), f));
	fclose(f);
	assert_string_equal(first, "# fitted by test\n");
	assert_int_equal(config_parse_file(path, &back), 0);
	assert_true(config_equal(&cfg, &back));

	/* A failing write reports once and leaves nothing behind. */
	snprintf(bad, sizeof(bad), "%s/missing/model.conf", dir);
	capture_begin(&cap);
	assert_true(config_write_file(bad, &cfg, NULL) < 0);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
	cfg.cycles_weight = -3; /* invalid: the old file must survive untouched */
	capture_begin(&cap);
	assert_int_equal(config_write_file(path, &cfg, NULL), -EINVAL);
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
	assert_int_equal(config_parse_file(path, &back), 0);
	assert_int_equal(back.idle_power_uw, 31338);
	assert_int_equal(count_entries(dir), 1);

	unlink(path);
	rmdir(dir);
}

static void test_parse_file_errors(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX";
	char path[256], want[400];
	struct energy_config cfg;
	struct capture cap;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	capture_begin(&cap);
	assert_int_equal(config_parse_file(path, &cfg), -ENOENT);
	snprintf(want, sizeof(want), "test_config: %s: No such file or directory\n", path);
	assert_string_equal(capture_end(&cap), want);

	snprintf(path, sizeof(path), "%s/nul.conf", dir);
	f = fopen(path, "w");
	fwrite("idle_power_uw = 1\ncycles_weight = 1\0\n", 1, 37, f);
	fclose(f);
	capture_begin(&cap);
	assert_int_equal(config_parse_file(path, &cfg), -EINVAL);
	snprintf(want, sizeof(want), "test_config: %s:2: the line contains a NUL byte\n", path);
	assert_string_equal(capture_end(&cap), want);
	unlink(path);

	/* A file without a trailing newline, then one over the size limit. */
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	f = fopen(path, "w");
	fputs("idle_power_uw = 99", f);
	fclose(f);
	assert_int_equal(config_parse_file(path, &cfg), 0);
	assert_int_equal(cfg.idle_power_uw, 99);
	f = fopen(path, "w");
	for (int i = 0; i <= CONFIG_FILE_MAX / 16; i++)
		fputs("# padding......\n", f);
	fclose(f);
	capture_begin(&cap);
	assert_int_equal(config_parse_file(path, &cfg), -E2BIG);
	snprintf(want, sizeof(want), "test_config: %s: the file is larger than %d bytes\n", path,
		 CONFIG_FILE_MAX);
	assert_string_equal(capture_end(&cap), want);
	unlink(path);

	capture_begin(&cap);
	assert_true(config_parse_file(dir, &cfg) < 0); /* a directory: EISDIR from read */
	assert_int_equal(capture_lines(capture_end(&cap)), 1);
	rmdir(dir);
}

static void test_committed_configs(void **state)
{
	static const char *keys[] = {
		"attribution_mode",    "energy_source",	    "idle_power_uw",	 "psys_interval_ms",
		"default_multiplier",  "wakeup_penalty",    "migration_penalty", "cycles_weight",
		"instructions_weight", "cache_miss_weight", "freq_khz"
	};
	struct energy_config cfg;
	char text[16384];
	size_t n;
	FILE *f;

	assert_int_equal(config_parse_file("configs/energy_model.conf", &cfg), 0);
	assert_int_equal(cfg.attribution_mode, ATTRIBUTION_PSYS);
	assert_int_equal(cfg.psys_interval_ms, 200);
	/* Every key is set (or shown) and explained: it appears in a comment too. */
	f = fopen("configs/energy_model.conf", "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char copy[sizeof(text)], *save = NULL;
		bool commented = false;

		/* some comment line names the key */
		strcpy(copy, text);
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			commented |= l[0] == '#' && strstr(l, keys[i]);
		if (!commented) {
			print_error("energy_model.conf does not comment on %s\n", keys[i]);
			fail();
		}
	}

	assert_int_equal(config_parse_file("configs/synthetic_host.conf", &cfg), 0);
	assert_int_equal(cfg.attribution_mode, ATTRIBUTION_MODEL);
	assert_true(cfg.idle_power_uw > 0);
	assert_true(cfg.synthetic_noise_uw > 0);
	assert_true(cfg.num_freqs > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_keys_and_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_mode_and_source),
		cmocka_unit_test(test_freq_lines),
		cmocka_unit_test(test_freq_weight_rule),
		cmocka_unit_test(test_set_freq),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_canonical_form),
		cmocka_unit_test(test_validate_and_write_refuse_bad_structs),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_parse_file_errors),
		cmocka_unit_test(test_committed_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
