// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "csv_schema.h"
#include "interval_csv.h"

static struct interval_signals sample_signals(void)
{
	struct interval_signals s = { 0 };

	s.t_start_ns = 1000000000;
	s.t_end_ns = 1200000000; /* 200 ms */
	s.host.runtime_ns = 150000000;
	s.host.idle_ns = 250000000;
	s.host.wakeups = 42;
	s.host.migrations = 3;
	s.host.irq_ns = 11;
	s.host.softirq_ns = 12;
	s.host.kthread_runtime_ns = 13;
	s.host.page_cache_hits = 14;
	s.host.writebacks = 15;
	s.host.cgroup_runtime_ns = 16;
	s.host.pmu[PMU_CYCLES] = 100;
	s.num_freqs = 2;
	s.freqs[0] = (struct freq_runtime){ 800000, 50000000 };
	s.freqs[1] = (struct freq_runtime){ 3400000, 100000000 };
	s.softirqs.valid = true;
	for (int g = 0; g < SOFTIRQ_GROUPS; g++)
		s.softirqs.count[g] = 21 + (uint64_t)g;
	return s;
}

static void test_idle_uj_rounding(void **state)
{
	assert_int_equal(interval_idle_uj(5000000, 200000000), 1000000); /* 5 W * 0.2 s */
	assert_int_equal(interval_idle_uj(1, 499999999), 0);
	assert_int_equal(interval_idle_uj(1, 500000000), 1);
	/* 10 kW for a day does not overflow */
	assert_true(interval_idle_uj(10000000000ULL, 86400ULL * 1000000000ULL) ==
		    864000000000000ULL);
}

static void test_row_with_every_signal(void **state)
{
	struct interval_signals sig = sample_signals();
	struct signals_available av = { .pmu = true, .irq = true, .softirq = true,
					.page_cache = true, .writebacks = true };
	struct interval_row row = { .interval = 7, .label = "base", .energy_source = "synthetic",
				    .interval_psys_uj = 900000, .idle_power_uw = 5000000,
				    .sig = &sig, .avail = &av };
	struct buf b = BUF_INIT;

	assert_int_equal(interval_csv_format_row(&row, &b), 0);
	assert_string_equal(b.data, "7,base,1000000000,1200000000,synthetic,900000,1000000,-100000,"
				    "150000000,42,100,0,0,3,800000:50000000;3400000:100000000,"
				    "250000000,11,12,13,14,15,16,,,,,,,,21,22,23,24,25,26,27\n");
	buf__free(&b);
}

static void test_unavailable_signals_are_empty_cells(void **state)
{
	struct interval_signals sig = sample_signals();
	struct signals_available av = { 0 };
	struct interval_row row = { .interval = 0, .label = "a,b", .energy_source = "replay:x",
				    .interval_psys_uj = 5, .sig = &sig, .avail = &av,
				    .have_requests = true, .requests = 9,
				    .request_energy_uj = 8, .attributed_uj = 4,
				    .request_uj = 7, .not_a_request_uj = -3, .records_dropped = 2 };
	struct buf b = BUF_INIT;
	int commas = 0;

	sig.num_freqs = 0;
	sig.softirqs.valid = false; /* /proc/softirqs unreadable this interval */
	assert_int_equal(interval_csv_format_row(&row, &b), 0);
	assert_string_equal(b.data, "0,\"a,b\",1000000000,1200000000,replay:x,5,0,5,150000000,42,,,,3,,"
				    "250000000,,,13,,,16,9,8,4,,7,-3,2,,,,,,,\n");
	for (char *p = b.data; *p; p++)
		commas += *p == ',';
	assert_int_equal(commas, CSV_COLUMNS - 1 + 1); /* one comma is inside the quoted label */
	buf__free(&b);
	/* --no-header: no response is seen, so those cells are unmeasured, not 0 */
	row.no_responses = true;
	assert_int_equal(interval_csv_format_row(&row, &b), 0);
	assert_string_equal(b.data, "0,\"a,b\",1000000000,1200000000,replay:x,5,0,5,150000000,42,,,,3,,"
				    "250000000,,,13,,,16,,,4,,,,,,,,,,,\n");
	buf__free(&b);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;

	assert_non_null(f);
	assert_true(getdelim(&text, &cap, '\0', f) >= 0);
	fclose(f);
	return text;
}

static void test_writer_header_append_and_refusal(void **state)
{
	char path[] = "/tmp/test_interval_csv.XXXXXX";
	struct interval_signals sig = sample_signals();
	struct signals_available av = { 0 };
	struct interval_row row = { .label = "x", .energy_source = "s", .sig = &sig, .avail = &av };
	struct interval_csv *w;
	char *text;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(interval_csv__open(path, &w), 0);
	assert_int_equal(interval_csv__append(w, &row), 0);
	interval_csv__close(w);
	/* reopening appends after the rows already there, without a second header */
	assert_int_equal(interval_csv__open(path, &w), 0);
	row.interval = 1;
	assert_int_equal(interval_csv__append(w, &row), 0);
	assert_int_equal(interval_csv__rows(w), 1);
	interval_csv__close(w);
	text = slurp(path);
	assert_int_equal(strncmp(text, csv_header(), strlen(csv_header())), 0);
	assert_non_null(strstr(text, "\n0,x,"));
	assert_non_null(strstr(text, "\n1,x,"));
	assert_null(strstr(text + 1, "interval,label"));
	free(text);

	/* a file that is not ours is refused and left alone */
	FILE *f = fopen(path, "w");
	fputs("precious,data\n1,2\n", f);
	fclose(f);
	assert_int_equal(interval_csv__open(path, &w), -EINVAL);
	text = slurp(path);
	assert_string_equal(text, "precious,data\n1,2\n");
	free(text);
	unlink(path);
}

/* With the file size limit hit mid-row, the file still ends on a whole row. */
static void test_no_half_rows_when_the_disk_fills(void **state)
{
	char path[] = "/tmp/test_interval_csv.XXXXXX";
	struct interval_signals sig = sample_signals();
	struct signals_available av = { 0 };
	struct interval_row row = { .label = "limit", .energy_source = "s", .sig = &sig,
				    .avail = &av };
	struct rlimit old, lim;
	struct interval_csv *w;
	int fd = mkstemp(path), err = 0, rows = 0;
	char *text;
	size_t len;

	assert_true(fd >= 0);
	close(fd);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 1000; /* the header (about 300 bytes) and a few rows */
	assert_int_equal(interval_csv__open(path, &w), 0);
	setrlimit(RLIMIT_FSIZE, &lim);
	for (int i = 0; i < 20 && !err; i++) {
		row.interval = (uint64_t)i;
		err = interval_csv__append(w, &row);
		rows += !err;
	}
	setrlimit(RLIMIT_FSIZE, &old);
	interval_csv__close(w);
	assert_int_equal(err, -EFBIG);
	assert_true(rows >= 1);
	text = slurp(path);
	len = strlen(text);
	assert_true(len <= 1000);
	assert_int_equal(text[len - 1], '\n');
	free(text);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_uj_rounding),
		cmocka_unit_test(test_row_with_every_signal),
		cmocka_unit_test(test_unavailable_signals_are_empty_cells),
		cmocka_unit_test(test_writer_header_append_and_refusal),
		cmocka_unit_test(test_no_half_rows_when_the_disk_fills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
