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
#include <nettle/sha2.h>

#include "capture.h"
#include "csv_loader.h"
#include "guard.h"
#include "rng.h"
#include "split.h"

/* The required columns only, in an order of their own: fields 1..11. */
#define H                                                                                \
	"interval,label,t_start_ns,t_end_ns,active_psys_uj,wakeups,cycles,instructions," \
	"cache_misses,migrations,freq_runtime_ns\n"
#define ROW "0,a,0,200,100,1,,,,2,800000:50;1600000:20\n"

/* Lower-case hex SHA-256 of bytes, in one piece (the loader hashes them chunk by chunk). */
static void sha_hex(const void *data, size_t len, char hex[DS_SHA256_HEX_LEN])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static int load(struct dataset *ds, const char *text, size_t len, size_t chunk,
		enum csv_column target)
{
	struct csv_loader *l;
	int err;

	dataset__init(ds);
	assert_int_equal(csv_loader__new(ds, target, &l), 0);
	err = csv_loader__begin(l, "t.csv");
	for (size_t pos = 0; !err && pos < len; pos += chunk)
		err = csv_loader__feed(l, text + pos, len - pos < chunk ? len - pos : chunk);
	if (!err)
		err = csv_loader__end(l);
	csv_loader__free(l);
	return err;
}

/* Loading text fails with exactly this one line (after "PROGRAM: "). */
static void expect_error_target(const char *text, enum csv_column target, const char *want_line)
{
	struct dataset ds;
	struct capture cap;
	char want[1024];
	const char *got;
	int err;

	capture_begin(&cap);
	err = load(&ds, text, strlen(text), SIZE_MAX, target);
	got = capture_end(&cap);
	snprintf(want, sizeof(want), "%s: %s\n", program_invocation_short_name, want_line);
	if (err >= 0 || strcmp(got, want)) {
		print_error("input:\n%s\nwant: %sgot %d: %s", text, want, err, got);
		fail();
	}
	dataset__free(&ds);
}

static void expect_error(const char *text, const char *want_line)
{
	expect_error_target(text, CSV_ACTIVE_PSYS_UJ, want_line);
}

static void expect_ok(const char *text, struct dataset *ds)
{
	struct capture cap;

	capture_begin(&cap);
	assert_int_equal(load(ds, text, strlen(text), SIZE_MAX, CSV_ACTIVE_PSYS_UJ), 0);
	assert_string_equal(capture_end(&cap), "");
}

static void test_collector_header_and_values(void **state)
{
	char text[2048];
	struct dataset ds;

	snprintf(text, sizeof(text),
		 "%s\n"
		 "0,base,1000,201000,synthetic,500,100,-7,900,12,,,,3,0:10;800000:40;2400000:0,"
		 "5,6,7,8,9,10,11,,,,,,,,,,,,,,\n"
		 "1,base,201000,401000,psys,,100,,5,6,7,8,9,10,,1,1,1,1,1,1,1,1,1,1,7,1,1,1,"
		 "1,2,3,4,5,6,7\n",
		 csv_header());
	expect_ok(text, &ds);
	assert_int_equal(ds.rows, 2);
	assert_int_equal(ds.num_files, 1);
	assert_int_equal(ds.files[0].rows, 2);
	assert_int_equal(ds.files[0].synthetic_rows, 1);
	assert_true(ds.target[0] == -7); /* active_psys_uj is signed */
	assert_true(ds.idle_uj[0] == 100);
	assert_true(fabs(ds.duration_s[0] - 0.0002) < 1e-15);
	assert_true(ds.count[MF_WAKEUPS][0] == 12);
	assert_true(isnan(ds.count[MF_CYCLES][0])); /* empty = unmeasured */
	assert_true(isnan(ds.count[MF_INSTRUCTIONS][0]));
	assert_true(isnan(ds.count[MF_CACHE_MISSES][0]));
	assert_true(ds.count[MF_MIGRATIONS][0] == 3);
	/* 0 kHz (unknown) is a frequency; a zero runtime is not stored. */
	assert_int_equal(ds.pair_start[0], 0);
	assert_int_equal(ds.pair_start[1], 2);
	assert_int_equal(ds.freq_khz[ds.pair_freq[0]], 0);
	assert_true(ds.pair_ns[0] == 10);
	assert_int_equal(ds.freq_khz[ds.pair_freq[1]], 800000);
	assert_true(ds.pair_ns[1] == 40);
	assert_true(isnan(ds.target[1]));
	assert_true(ds.count[MF_WAKEUPS][1] == 6 && ds.count[MF_CYCLES][1] == 7);
	assert_int_equal(ds.pair_start[2], 2); /* an empty freq_runtime_ns: no runtime */
	assert_int_equal(ds.num_labels, 1);
	assert_string_equal(ds.labels[0], "base");
	assert_true(isnan(ds.count[MF_SOFTIRQ_NET_RX][0]));
	assert_true(ds.count[MF_SOFTIRQ_NET_RX][1] == 1 && ds.count[MF_SOFTIRQ_OTHER][1] == 7);
	dataset__free(&ds);

	/* A file from before the softirq columns: it loads, and they are unmeasured. */
	expect_ok("interval,label,t_start_ns,t_end_ns,energy_source,interval_psys_uj,idle_uj,"
		  "active_psys_uj,runtime_ns,wakeups,cycles,instructions,cache_misses,migrations,"
		  "freq_runtime_ns,idle_ns,irq_ns,softirq_ns,kthread_runtime_ns,page_cache_hits,"
		  "writebacks,cgroup_runtime_ns,requests,request_energy_uj,attributed_uj,"
		  "gpu_energy_uj\n"
		  "0,base,1000,201000,psys,500,100,7,900,12,,,,3,800000:40,5,6,7,8,9,10,11,,,,\n",
		  &ds);
	assert_int_equal(ds.rows, 1);
	assert_true(ds.count[MF_WAKEUPS][0] == 12 && isnan(ds.count[MF_SOFTIRQ_RCU][0]));
	dataset__free(&ds);
}

static void test_columns_by_name(void **state)
{
	struct dataset ds;

	/* Reordered, with extra columns before, between and after. */
	expect_ok("x,freq_runtime_ns,migrations,cache_misses,instructions,cycles,y,wakeups,"
		  "active_psys_uj,t_end_ns,t_start_ns,label,interval,z\n"
		  "q,100:5,1,2,3,4,r,5,6,20,10,lab,0,\n",
		  &ds);
	assert_int_equal(ds.rows, 1);
	assert_true(ds.count[MF_MIGRATIONS][0] == 1 && ds.count[MF_CACHE_MISSES][0] == 2 &&
		    ds.count[MF_INSTRUCTIONS][0] == 3 && ds.count[MF_CYCLES][0] == 4 &&
		    ds.count[MF_WAKEUPS][0] == 5 && ds.target[0] == 6);
	assert_true(isnan(ds.idle_uj[0])); /* no idle_uj column: optional */
	assert_string_equal(ds.labels[ds.label[0]], "lab");
	dataset__free(&ds);

	/* --target interval_psys_uj reads that column and needs no active_psys_uj. */
	assert_int_equal(load(&ds,
			      "interval,label,t_start_ns,t_end_ns,interval_psys_uj,wakeups,cycles,"
			      "instructions,cache_misses,migrations,freq_runtime_ns\n" ROW,
			      strlen(H ROW), SIZE_MAX, CSV_INTERVAL_PSYS_UJ),
			 0);
	assert_true(ds.target[0] == 100);
	dataset__free(&ds);
}

static void test_runs(void **state)
{
	struct dataset ds;

	expect_ok(H "0,a,0,200,1,1,,,,1,\n"
		    "1,a,200,400,1,1,,,,1,\n"
		    "2,b,400,600,1,1,,,,1,\n" /* the label changes */
		    "3,b,600,800,1,1,,,,1,\n"
		    "0,b,900,1000,1,1,,,,1,\n" /* the interval starts over: appended */
		    "1,b,1000,1100,1,1,,,,1,\n",
		  &ds);
	assert_int_equal(ds.num_runs, 3);
	assert_int_equal(ds.run[0], 0);
	assert_int_equal(ds.run[1], 0);
	assert_int_equal(ds.run[2], 1);
	assert_int_equal(ds.run[3], 1);
	assert_int_equal(ds.run[4], 2);
	assert_int_equal(ds.run[5], 2);
	assert_int_equal(ds.num_labels, 2);
	dataset__free(&ds);
}

static void test_line_endings_bom_and_blank_lines(void **state)
{
	struct dataset ds;

	expect_ok("\xef\xbb\xbf"
		  "interval,label,t_start_ns,t_end_ns,active_psys_uj,wakeups,cycles,"
		  "instructions,cache_misses,migrations,freq_runtime_ns\r\n"
		  "0,a,0,200,100,1,,,,2,800000:50\r\n"
		  "\r\n"
		  "1,a,200,400,100,1,,,,2,800000:50",
		  &ds);
	assert_int_equal(ds.rows, 2);
	dataset__free(&ds);
	/* Line numbers count CRLF, LF and blank lines. */
	expect_error(H "\r\n" ROW "\r\n\n1,a,200,400,1,x,,,,1,\n",
		     "t.csv:6:6: wakeups: \"x\" is not a whole number");
	expect_error(H "\r" ROW "1,a,200,400,1,x,,,,1,\n", /* a lone CR ends a line too */
		     "t.csv:4:6: wakeups: \"x\" is not a whole number");
}

static void test_header_errors(void **state)
{
	expect_error("", "t.csv:1:1: the file is empty (no header row)");
	expect_error("\n\n", "t.csv:1:1: the file is empty (no header row)");
	expect_error(H, "t.csv:2:1: no data rows after the header");
	expect_error("interval,label,t_start_ns,t_end_ns,active_psys_uj,cycles,instructions,"
		     "cache_misses,freq_runtime_ns\n" ROW,
		     "t.csv:1:1: the header lacks required column(s) wakeups, migrations (is this "
		     "an interval CSV from http_energy --collect-csv?)");
	expect_error("a,b,c\n1,2,3\n",
		     "t.csv:1:1: the header lacks required column(s) interval, label, t_start_ns, "
		     "t_end_ns, active_psys_uj, freq_runtime_ns, wakeups, cycles, instructions, "
		     "cache_misses, migrations (is this an interval CSV from http_energy "
		     "--collect-csv?)");
	expect_error("interval,label,t_start_ns,t_end_ns,active_psys_uj,wakeups,cycles,"
		     "instructions,cache_misses,migrations,freq_runtime_ns,wakeups\n" ROW,
		     "t.csv:1:12: column \"wakeups\" appears twice (columns 6 and 12)");
}

static void test_field_count_errors(void **state)
{
	expect_error(H ROW "1,a,200,400,1,1,,,,1\n",
		     "t.csv:3:11: 10 fields where the header has 11");
	expect_error(H "1,a,200,400,1,1,,,,1,,\n", "t.csv:2:12: more fields than the header's 11");
	expect_error(H "1\n", "t.csv:2:2: 1 fields where the header has 11");
}

static void test_number_errors(void **state)
{
	expect_error(H "0,a,0,200,100,abc,,,,2,\n",
		     "t.csv:2:6: wakeups: \"abc\" is not a whole number");
	expect_error(H "0,a,0,200,100,1.5,,,,2,\n",
		     "t.csv:2:6: wakeups: \"1.5\" is not a whole number");
	expect_error(H "0,a,0,200,100, 1,,,,2,\n",
		     "t.csv:2:6: wakeups: \" 1\" is not a whole number");
	expect_error(H "0,a,0,200,100,1,,,,-3,\n",
		     "t.csv:2:10: migrations: \"-3\" is negative (a count cannot be)");
	expect_error(H "0,a,0,200,100,1,-0.5,,,3,\n",
		     "t.csv:2:7: cycles: \"-0.5\" is negative (a count cannot be)");
	expect_error(H "0,a,0,200,100,1,,inf,,3,\n",
		     "t.csv:2:8: instructions: \"inf\" is not a finite number");
	expect_error(H "0,a,0,200,NaN,1,,,,3,\n",
		     "t.csv:2:5: active_psys_uj: \"NaN\" is not a finite number");
	expect_error(H "0,a,0,200,-Infinity,1,,,,3,\n",
		     "t.csv:2:5: active_psys_uj: \"-Infinity\" is not a finite number");
	expect_error(H "0,a,0,200,1e300,1,,,,3,\n",
		     "t.csv:2:5: active_psys_uj: \"1e300\" is out of range -1e18..1e18 uJ");
	expect_error(H "0,a,0,200,12uJ,1,,,,3,\n",
		     "t.csv:2:5: active_psys_uj: \"12uJ\" is not a number");
	expect_error(H "0,a,0,200,1,1,,,,99999999999999999999,\n",
		     "t.csv:2:10: migrations: \"99999999999999999999\" is out of range");
	expect_error(H ",a,0,200,1,1,,,,3,\n", "t.csv:2:1: interval: \"\" is empty");
	expect_error(H "0,a,300,200,1,1,,,,3,\n",
		     "t.csv:2:4: t_end_ns: \"200\" is not after t_start_ns");
	expect_error(H "0,a,200,200,1,1,,,,3,\n",
		     "t.csv:2:4: t_end_ns: \"200\" is not after t_start_ns");
	/* Measured energy is not negative; active energy may be. */
	expect_error_target("interval,label,t_start_ns,t_end_ns,interval_psys_uj,wakeups,cycles,"
			    "instructions,cache_misses,migrations,freq_runtime_ns\n"
			    "0,a,0,200,-5,1,,,,3,\n",
			    CSV_INTERVAL_PSYS_UJ,
			    "t.csv:2:5: interval_psys_uj: \"-5\" is negative (measured energy "
			    "cannot be)");
}

static void test_freq_errors(void **state)
{
	expect_error(H "0,a,0,200,1,1,,,,3,800000:5;\n",
		     "t.csv:2:11: freq_runtime_ns: \"800000:5;\" ends with ';'");
	expect_error(H "0,a,0,200,1,1,,,,3,800000:5;;900000:1\n",
		     "t.csv:2:11: freq_runtime_ns: \"800000:5;;900000:1\" has an empty entry 2");
	expect_error(H "0,a,0,200,1,1,,,,3,800000\n",
		     "t.csv:2:11: freq_runtime_ns: \"800000\" entry 1 is not \"khz:ns\"");
	expect_error(H "0,a,0,200,1,1,,,,3,x:5\n",
		     "t.csv:2:11: freq_runtime_ns: \"x:5\" entry 1: the kHz is not a whole number");
	expect_error(H "0,a,0,200,1,1,,,,3,5000000000:5\n",
		     "t.csv:2:11: freq_runtime_ns: \"5000000000:5\" entry 1: the kHz is out of "
		     "range 0..4294967295");
	expect_error(H "0,a,0,200,1,1,,,,3,800000:-5\n",
		     "t.csv:2:11: freq_runtime_ns: \"800000:-5\" entry 1: the runtime is not a "
		     "whole number of ns");
	expect_error(H "0,a,0,200,1,1,,,,3,1600000:5;800000:3\n",
		     "t.csv:2:11: freq_runtime_ns: \"1600000:5;800000:3\" entry 2: kHz 800000 does "
		     "not follow 1600000 (entries are sorted by kHz, each once)");
	expect_error(H "0,a,0,200,1,1,,,,3,800000:5;800000:3\n",
		     "t.csv:2:11: freq_runtime_ns: \"800000:5;800000:3\" entry 2: kHz 800000 does "
		     "not follow 800000 (entries are sorted by kHz, each once)");
}

static void test_quoting_errors(void **state)
{
	struct dataset ds;

	/* Quoted fields are fine, and a quoted comma is data. */
	expect_ok(H "\"0\",\"a,b\",0,200,1,1,,,,3,\"800000:5\"\n", &ds);
	assert_string_equal(ds.labels[0], "a,b");
	dataset__free(&ds);

	expect_error(H "0,\"a\nb\",0,200,1,1,,,,3,\n",
		     "t.csv:2:2: a quoted field holds a line break (interval CSVs have none)");
	expect_error(H "0,a,0,200,1,\"1\r\n2\",,,,3,\n",
		     "t.csv:2:6: a quoted field holds a line break (interval CSVs have none)");
	expect_error(H "0,\"a\"b,0,200,1,1,,,,3,\n",
		     "t.csv:2:2: malformed quoting (a quote inside an unquoted field, text after a "
		     "closing quote, or a quoted field that never ends)");
	expect_error(H "0,\"a,0,200,1,1,,,,3,",
		     "t.csv:2:2: malformed quoting (a quote inside an unquoted field, text after a "
		     "closing quote, or a quoted field that never ends)");
}

static void test_label_errors(void **state)
{
	char text[1024], label[300];
	struct dataset ds;

	expect_error(H "0,a\x01,0,200,1,1,,,,3,\n",
		     "t.csv:2:2: label: \"a\\x01\" contains a control character");
	expect_error(H "0,\xc3\x28,0,200,1,1,,,,3,\n",
		     "t.csv:2:2: label: \"\\xc3(\" is not valid UTF-8");
	expect_error(H "0,\xe2\x82,0,200,1,1,,,,3,\n",
		     "t.csv:2:2: label: \"\\xe2\\x82\" is not valid UTF-8");
	expect_error(H "0,\xed\xa0\x80,0,200,1,1,,,,3,\n", /* a UTF-16 surrogate */
		     "t.csv:2:2: label: \"\\xed\\xa0\\x80\" is not valid UTF-8");
	memset(label, 'x', 256);
	label[256] = '\0';
	snprintf(text, sizeof(text), H "0,%s,0,200,1,1,,,,3,\n", label);
	{
		struct capture cap;

		capture_begin(&cap);
		assert_true(load(&ds, text, strlen(text), SIZE_MAX, CSV_ACTIVE_PSYS_UJ) < 0);
		assert_non_null(strstr(capture_end(&cap), "is longer than 255 bytes"));
		dataset__free(&ds);
	}
	expect_ok(H "0,caf\xc3\xa9 \xe2\x82\xac,0,200,1,1,,,,3,\n", &ds); /* UTF-8 is fine */
	assert_string_equal(ds.labels[0], "caf\xc3\xa9 \xe2\x82\xac");
	dataset__free(&ds);
}

/* Any chunking of the input gives the same rows; the parser stays inside the input. */
static void test_chunked_and_guarded(void **state)
{
	static const char text[] = H "0,a,0,200,100,1,,,,2,800000:50;1600000:20\n"
				     "1,\"b\",200,400,-3,7,8,9,10,11,0:1\n"
				     "2,b,400,600,5,1,2,3,4,5,";
	size_t len = strlen(text);
	struct guarded g;
	struct dataset whole, part;
	char *placed = guarded_place(&g, text, len);

	assert_non_null(placed);
	assert_int_equal(load(&whole, placed, len, SIZE_MAX, CSV_ACTIVE_PSYS_UJ), 0);
	for (size_t chunk = 1; chunk < 16; chunk++) {
		assert_int_equal(load(&part, placed, len, chunk, CSV_ACTIVE_PSYS_UJ), 0);
		assert_int_equal(part.rows, whole.rows);
		assert_int_equal(part.pairs, whole.pairs);
		for (size_t i = 0; i < whole.rows; i++) {
			assert_memory_equal(&part.target[i], &whole.target[i], sizeof(double));
			for (int c = 0; c < MF_COUNT; c++)
				assert_memory_equal(&part.count[c][i], &whole.count[c][i],
						    sizeof(double));
			assert_int_equal(part.label[i], whole.label[i]);
			assert_int_equal(part.run[i], whole.run[i]);
		}
		for (size_t k = 0; k < whole.pairs; k++) {
			assert_int_equal(part.pair_freq[k], whole.pair_freq[k]);
			assert_true(part.pair_ns[k] == whole.pair_ns[k]);
		}
		dataset__free(&part);
	}
	assert_int_equal(whole.rows, 3);
	dataset__free(&whole);
	guarded_free(&g);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_csv_loader.XXXXXX", hex[DS_SHA256_HEX_LEN];
	static const char text[] = H ROW "1,a,200,400,100,1,,,,2,\n";
	struct csv_loader *l;
	struct dataset ds;
	struct capture cap;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	dataset__init(&ds);
	assert_int_equal(csv_loader__new(&ds, CSV_ACTIVE_PSYS_UJ, &l), 0);
	assert_int_equal(csv_loader__load_file(l, path), 0);
	assert_int_equal(csv_loader__load_file(l, path), 0); /* a second file */
	assert_int_equal(ds.num_files, 2);
	assert_int_equal(ds.rows, 4);
	assert_int_equal(ds.files[1].first_row, 2);
	assert_int_equal(ds.num_runs, 2); /* each file starts a run */
	sha_hex(text, strlen(text), hex);
	assert_string_equal(ds.files[0].sha256, hex);
	/* A known answer (sha256sum of these bytes), so the hashing itself is checked too. */
	assert_string_equal(ds.files[0].sha256,
			    "d89e63c86a0d382382337c85cfcd2dd1b09169f8c8f9af3105564668f9c98d76");
	assert_int_equal(ds.files[0].bytes, strlen(text));

	unlink(path);
	capture_begin(&cap);
	assert_int_equal(csv_loader__load_file(l, path), -ENOENT);
	{
		char want[256];

		snprintf(want, sizeof(want), "%s: %s: No such file or directory\n",
			 program_invocation_short_name, path);
		assert_string_equal(capture_end(&cap), want);
	}
	csv_loader__free(l);
	dataset__free(&ds);
}

/* A file of several megabytes (read in chunks, arrays sized from the first one) loads
 * exactly like the same bytes fed in one piece, and hashes like them. */
static void test_large_file(void **state)
{
	char path[] = "/tmp/test_csv_loader_big.XXXXXX", hex[DS_SHA256_HEX_LEN];
	size_t cap = 64 << 20, len;
	char *text = malloc(cap);
	struct dataset a, b;
	struct csv_loader *l;
	int fd;

	assert_non_null(text);
	len = (size_t)snprintf(text, cap, H);
	for (size_t i = 0; i < 60000; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"%zu,%s,%zu,%zu,%zu,%zu,,,,%zu,800000:%zu;1600000:%zu\n", i % 20000,
			i < 20000 ? "a" :
			i < 40000 ? "b" :
				    "a",
			i * 10, i * 10 + 10, i * 3, i % 97, i % 13, i * 7 + 1, i % 5);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	dataset__init(&a);
	assert_int_equal(csv_loader__new(&a, CSV_ACTIVE_PSYS_UJ, &l), 0);
	assert_int_equal(csv_loader__load_file(l, path), 0);
	csv_loader__free(l);
	assert_int_equal(load(&b, text, len, SIZE_MAX, CSV_ACTIVE_PSYS_UJ), 0);
	assert_int_equal(a.rows, 60000);
	assert_int_equal(a.rows, b.rows);
	assert_int_equal(a.pairs, b.pairs);
	assert_int_equal(a.num_runs, 3);
	assert_int_equal(a.num_runs, b.num_runs);
	assert_memory_equal(a.target, b.target, a.rows * sizeof(double));
	assert_memory_equal(a.run, b.run, a.rows * sizeof(uint32_t));
	assert_memory_equal(a.label, b.label, a.rows * sizeof(uint32_t));
	assert_memory_equal(a.pair_start, b.pair_start, (a.rows + 1) * sizeof(uint64_t));
	assert_memory_equal(a.pair_ns, b.pair_ns, a.pairs * sizeof(double));
	for (int c = 0; c < MF_COUNT; c++)
		assert_memory_equal(a.count[c], b.count[c], a.rows * sizeof(double));
	sha_hex(text, len, hex);
	assert_string_equal(a.files[0].sha256, hex);
	assert_int_equal(a.files[0].bytes, len);
	unlink(path);
	dataset__free(&a);
	dataset__free(&b);
	free(text);
}

/* The collector's columns (the softirq ones last); a good row and that row with one cell set. */
#define FULL_ROW_CELLS CSV_COLUMNS
static const char *const full_row[FULL_ROW_CELLS] = {
	"0", "a",	   "0", "200", "psys", "500", "100", "400", "900", "12", "",   "",    "",
	"3", "800000:900", "5", "",    "",     "7",   "8",   "",    "11",  "2",	 "30", "400", "",
	"25", "-5", "0", /* request_uj, not_a_request_uj, records_dropped */
	"6", "",	   "0", "1",   "",     "",    "2", /* softirq_net_rx .. softirq_other */
};

static void full_text(char *text, size_t size, int col, const char *value)
{
	size_t o = (size_t)snprintf(text, size, "%s\n", csv_header());

	for (int c = 0; c < FULL_ROW_CELLS; c++)
		o += (size_t)snprintf(text + o, size - o, "%s%s", c ? "," : "",
				      c == col ? value : full_row[c]);
	snprintf(text + o, size - o, "\n");
}

static void expect_full_error(int col, const char *value, const char *why)
{
	char text[4096], want[1400], vq[1100];
	const char *name = csv_column_name((enum csv_column)col);

	full_text(text, sizeof(text), col, value);
	snprintf(vq, sizeof(vq), "%s", value);
	snprintf(want, sizeof(want), "t.csv:2:%d: %s: \"%s\" %s", col + 1, name, vq, why);
	expect_error(text, want);
}

/* Issue 11: every cell of the documented schema is checked, used by the fit or not. */
static void test_every_schema_cell_checked(void **state)
{
	static const int counts[] = { CSV_RUNTIME_NS,
				      CSV_IDLE_NS,
				      CSV_IRQ_NS,
				      CSV_SOFTIRQ_NS,
				      CSV_KTHREAD_RUNTIME_NS,
				      CSV_PAGE_CACHE_HITS,
				      CSV_WRITEBACKS,
				      CSV_CGROUP_RUNTIME_NS,
				      CSV_REQUESTS,
				      CSV_SOFTIRQ_NET_RX,
				      CSV_SOFTIRQ_OTHER };
	static const int energies[] = { CSV_INTERVAL_PSYS_UJ, CSV_REQUEST_ENERGY_UJ,
					CSV_ATTRIBUTED_UJ, CSV_GPU_ENERGY_UJ };
	char text[4096], digits[401];
	struct dataset ds;

	full_text(text, sizeof(text), -1, NULL);
	expect_ok(text, &ds);
	assert_int_equal(ds.rows, 1);
	assert_true(ds.target[0] == 400); /* gpu_energy_uj is not in the default target */
	dataset__free(&ds);

	memset(digits, '9', 400);
	digits[400] = '\0';
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		expect_full_error(counts[k], "nan", "is not a finite number");
		expect_full_error(counts[k], "-1", "is negative (a count cannot be)");
		expect_full_error(counts[k], "1.5", "is not a whole number");
		expect_full_error(counts[k], "18446744073709551616", "is out of range");
	}
	/* A 400-digit number: too long to quote whole; the message quotes its start. */
	{
		char want[512];

		full_text(text, sizeof(text), CSV_RUNTIME_NS, digits);
		snprintf(want, sizeof(want), "t.csv:2:9: runtime_ns: \"%.*s...\" is out of range",
			 152, digits);
		expect_error(text, want);
	}
	for (size_t k = 0; k < sizeof(energies) / sizeof(energies[0]); k++) {
		expect_full_error(energies[k], "nan", "is not a finite number");
		expect_full_error(energies[k], "-5", "is negative (measured energy cannot be)");
		expect_full_error(energies[k], "1e300", "is out of range -1e18..1e18 uJ");
		expect_full_error(energies[k], "12uJ", "is not a number");
	}
	/* idle_uj was checked before; active_psys_uj, when not the target, is signed. */
	expect_full_error(CSV_IDLE_UJ, "inf", "is not a finite number");
	expect_error_target((full_text(text, sizeof(text), CSV_ACTIVE_PSYS_UJ, "-1e19"), text),
			    CSV_INTERVAL_PSYS_UJ,
			    "t.csv:2:8: active_psys_uj: \"-1e19\" is out of range -1e18..1e18 uJ");
	full_text(text, sizeof(text), CSV_ACTIVE_PSYS_UJ, "-7");
	assert_int_equal(load(&ds, text, strlen(text), SIZE_MAX, CSV_INTERVAL_PSYS_UJ), 0);
	assert_true(ds.target[0] == 500);
	dataset__free(&ds);
	expect_full_error(CSV_ENERGY_SOURCE, "gas meter",
			  "is not an energy source (psys, rapl, powercap, hwmon, replay, "
			  "synthetic, or empty)");
	full_text(text, sizeof(text), CSV_ENERGY_SOURCE, "");
	expect_ok(text, &ds); /* no source */
	dataset__free(&ds);
	/* Columns outside the schema are still not read. */
	expect_ok("x," H "nan,0,a,0,200,100,1,,,,2,\n", &ds);
	dataset__free(&ds);
}

static int load_gpu(struct dataset *ds, const char *text)
{
	struct csv_loader *l;
	int err;

	dataset__init(ds);
	assert_int_equal(csv_loader__new(ds, CSV_ACTIVE_PSYS_UJ, &l), 0);
	csv_loader__target_add_gpu(l);
	err = csv_loader__begin(l, "t.csv");
	if (!err)
		err = csv_loader__feed(l, text, strlen(text));
	if (!err)
		err = csv_loader__end(l);
	csv_loader__free(l);
	return err;
}

/* Issue 16: --target active_psys_uj+gpu_energy_uj adds the GPU column; empty = no target. */
static void test_gpu_target(void **state)
{
	char text[4096];
	struct dataset ds;
	struct capture cap;

	full_text(text, sizeof(text), CSV_GPU_ENERGY_UJ, "250");
	strcat(text, "1,a,200,400,psys,500,100,400,900,12,,,,3,800000:900,5,,,7,8,,11,2,30,400,"
		     ",25,-5,0,,,,,,,\n");
	capture_begin(&cap);
	assert_int_equal(load_gpu(&ds, text), 0);
	assert_string_equal(capture_end(&cap), "");
	assert_int_equal(ds.rows, 2);
	assert_true(ds.target[0] == 650);
	assert_true(isnan(ds.target[1])); /* no GPU reading: no target */
	dataset__free(&ds);

	capture_begin(&cap);
	assert_true(load_gpu(&ds, H ROW) < 0);
	assert_non_null(strstr(capture_end(&cap), "lacks required column(s) gpu_energy_uj"));
	dataset__free(&ds);
}

static bool same_double(double a, double b)
{
	return (a == b && signbit(a) == signbit(b)) || (isnan(a) && isnan(b));
}

static void assert_same_datasets(const struct dataset *a, const struct dataset *b)
{
	assert_int_equal(a->rows, b->rows);
	assert_int_equal(a->pairs, b->pairs);
	assert_int_equal(a->num_runs, b->num_runs);
	assert_int_equal(a->num_labels, b->num_labels);
	assert_int_equal(a->num_freqs, b->num_freqs);
	assert_int_equal(a->files[0].rows, b->files[0].rows);
	assert_int_equal(a->files[0].synthetic_rows, b->files[0].synthetic_rows);
	for (size_t i = 0; i < a->rows; i++) {
		assert_true(same_double(a->target[i], b->target[i]));
		assert_true(same_double(a->idle_uj[i], b->idle_uj[i]));
		assert_true(same_double(a->duration_s[i], b->duration_s[i]));
		for (int c = 0; c < MF_COUNT; c++)
			assert_true(same_double(a->count[c][i], b->count[c][i]));
		assert_int_equal(a->label[i], b->label[i]);
		assert_int_equal(a->run[i], b->run[i]);
		assert_int_equal(a->pair_start[i + 1], b->pair_start[i + 1]);
	}
	for (size_t k = 0; k < a->pairs; k++) {
		assert_int_equal(a->pair_freq[k], b->pair_freq[k]);
		assert_true(a->pair_ns[k] == b->pair_ns[k]);
	}
	for (size_t f = 0; f < a->num_freqs; f++)
		assert_int_equal(a->freq_khz[f], b->freq_khz[f]);
	for (size_t l = 0; l < a->num_labels; l++)
		assert_string_equal(a->labels[l], b->labels[l]);
}

/* text through the fast path (blocks of whole lines, read chunk bytes at a time). */
static int load_fast(struct dataset *ds, const char *text, size_t len, size_t chunk,
		     enum csv_column target, bool gpu)
{
	struct csv_loader *l;
	int err;

	dataset__init(ds);
	assert_int_equal(csv_loader__new(ds, target, &l), 0);
	if (gpu)
		csv_loader__target_add_gpu(l);
	err = csv_loader__load_mem(l, "t.csv", text, len, chunk);
	csv_loader__free(l);
	return err;
}

/* The fast path and the strict one agree on status, messages and data. */
static void expect_same(const char *text, size_t len, size_t chunk, enum csv_column target)
{
	struct dataset a, b;
	struct capture cap;
	char strict_msg[8192];
	int ea, eb;

	capture_begin(&cap);
	ea = load(&a, text, len, SIZE_MAX, target);
	snprintf(strict_msg, sizeof(strict_msg), "%s", capture_end(&cap));
	capture_begin(&cap);
	eb = load_fast(&b, text, len, chunk, target, false);
	if (ea != eb || strcmp(strict_msg, capture_end(&cap))) {
		print_error("input:\n%.*s\nstrict %d: %sfast %d: %s", (int)len, text, ea,
			    strict_msg, eb, capture_end(&cap));
		fail();
	}
	if (!ea)
		assert_same_datasets(&a, &b);
	dataset__free(&a);
	dataset__free(&b);
}

/*
 * The fast path accepts nothing the strict one rejects, and loads the same data: a good
 * file of many lines, and that file with one line spoilt in each of many ways (quotes,
 * CR, blank lines, bad numbers, more or fewer fields, a cut-off last line), read in
 * chunks small enough that block boundaries fall everywhere.
 */
static void test_fast_path_equals_strict(void **state)
{
	static const char *const spoil[] = {
		"\"5\"",
		"5\r",
		"",
		"nan",
		"1e300",
		"-1",
		"1.5",
		"1.",
		".5",
		"-0",
		"0.000001",
		"12345678901234567",
		"1e5",
		"+3",
		"x,y",
		"\"a\nb\"",
		"800000:5;",
		"a\"b",
		"99999999999999999999",
		"-0.0",
		"3.14159",
		"\xff",
		"synthetic",
		"gas",
		"800000:1;700000:2",
		"0:0",
		"\r\n",
	};
	size_t cap = 1 << 16, len;
	char *text = malloc(cap), *line;
	uint64_t seed = 7;

	assert_non_null(text);
	len = (size_t)snprintf(text, cap, "%s\n", csv_header());
	for (int i = 0; i < 120; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"%d,%s,%d,%d,%s,%d,%d,%d.%d,%d,%d,,,,%d,800000:%d;1600000:%d,0,,,0,%d,0,0,"
			"%d,%d,%d,%s,%s,,,,,,%d\n",
			i % 40, i < 60 ? "a" : "b b", i * 200, i * 200 + 200,
			i % 3 ? "psys" : "synthetic", 500 + i, 100, 400 + i, i % 10, 900 + i, i % 7,
			i % 5, i * 11, i % 4, i * 3, i, i % 2 ? 30 : 0, 400, i % 3 ? "" : "77",
			i % 2 ? "" : "12", i * 5);
	for (size_t chunk = 1; chunk < 4096; chunk = chunk * 5 + 2)
		expect_same(text, len, chunk, CSV_ACTIVE_PSYS_UJ);
	expect_same(text, len, 0, CSV_INTERVAL_PSYS_UJ);
	expect_same(text, len - 1, 64, CSV_ACTIVE_PSYS_UJ); /* no LF at the end */
	line = malloc(cap * 2);
	assert_non_null(line);
	for (int t = 0; t < 150; t++) {
		/* Replace field f of line n with a spoilt value. */
		size_t n = 1 + splitmix64_next(&seed) % 120, f = splitmix64_next(&seed) % 26, o = 0, k;
		const char *v = spoil[splitmix64_next(&seed) % (sizeof(spoil) / sizeof(spoil[0]))];
		size_t ln = 0, fld = 0;

		for (k = 0; k < len; k++) {
			if (ln == n && fld == f &&
			    (k == 0 || text[k - 1] == ',' || text[k - 1] == '\n')) {
				o += (size_t)snprintf(line + o, cap * 2 - o, "%s", v);
				while (k < len && text[k] != ',' && text[k] != '\n')
					k++;
				fld++; /* the value is written: skip the old one */
			}
			if (k >= len)
				break;
			line[o++] = text[k];
			if (text[k] == ',')
				fld++;
			if (text[k] == '\n') {
				ln++;
				fld = 0;
			}
		}
		expect_same(line, o, 1 + splitmix64_next(&seed) % 700, CSV_ACTIVE_PSYS_UJ);
	}
	free(line);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collector_header_and_values),
		cmocka_unit_test(test_columns_by_name),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_line_endings_bom_and_blank_lines),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_field_count_errors),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_freq_errors),
		cmocka_unit_test(test_quoting_errors),
		cmocka_unit_test(test_label_errors),
		cmocka_unit_test(test_chunked_and_guarded),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_every_schema_cell_checked),
		cmocka_unit_test(test_gpu_target),
		cmocka_unit_test(test_fast_path_equals_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
