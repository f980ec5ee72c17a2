// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpu_csv.h"

static int count_commas(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

static struct gpu_sample full_sample(void)
{
	struct gpu_sample s = { .index = 1,
				.mig_instance = -1,
				.uuid = "GPU-b",
				.t_start_ns = 100,
				.t_end_ns = 200,
				.method = GPU_ENERGY_COUNTER };

	for (int m = 0; m < GPU_M_COUNT; m++) {
		s.valid |= 1u << m;
		s.v[m] = 10 + (uint64_t)m;
	}
	return s;
}

static void test_header_names_every_metric(void **state)
{
	const char *h = gpu_csv_header();

	for (int m = 0; m < GPU_M_COUNT; m++)
		assert_non_null(strstr(h, gpu_metric_name((enum gpu_metric)m)));
	/* interval,t_start_ns,t_end_ns,gpu,uuid,mig_instance + metrics + method + processes */
	assert_int_equal(count_commas(h), 6 + GPU_M_COUNT + 1 + 1 - 1);
}

static void test_full_row(void **state)
{
	struct gpu_sample s = full_sample();
	const struct gpu_proc_energy shares[] = { { 42, 6 }, { 77, 4 } };
	struct buf b = BUF_INIT;

	s.procs_valid = true;
	s.procs = shares;
	s.num_procs = 2;
	assert_int_equal(gpu_csv_format_row(3, &s, &b), 0);
	assert_string_equal(
		b.data, "3,100,200,1,GPU-b,,10,counter,11,12,13,14,15,16,17,18,19,20,42:6;77:4\n");
	assert_int_equal(count_commas(b.data), count_commas(gpu_csv_header()));
	buf__free(&b);
}

static void test_missing_fields_mig_and_lost_rows_are_empty_cells(void **state)
{
	struct gpu_sample s = full_sample();
	struct buf b = BUF_INIT;

	s.valid &= ~(1u << GPU_M_TEMPERATURE_C);
	s.method = GPU_ENERGY_INTEGRATED;
	assert_int_equal(gpu_csv_format_row(0, &s, &b), 0);
	assert_string_equal(b.data,
			    "0,100,200,1,GPU-b,,10,integrated,11,12,13,14,15,,17,18,19,20,\n");
	buf__clear(&b);

	s = (struct gpu_sample){
		.index = 0, .mig_instance = 2, .uuid = "MIG-x,y", .t_start_ns = 1, .t_end_ns = 2
	};
	s.valid = (1u << GPU_M_MEMORY_USED_BYTES) | (1u << GPU_M_MEMORY_TOTAL_BYTES);
	s.v[GPU_M_MEMORY_USED_BYTES] = 1024;
	s.v[GPU_M_MEMORY_TOTAL_BYTES] = 4096;
	assert_int_equal(gpu_csv_format_row(5, &s, &b), 0);
	assert_string_equal(b.data, "5,1,2,0,\"MIG-x,y\",2,,,,,,,,,1024,4096,,,\n");
	buf__clear(&b);

	s = (struct gpu_sample){ .index = 1, .mig_instance = -1, .uuid = "GPU-b", .lost = true };
	assert_int_equal(gpu_csv_format_row(9, &s, &b), 0);
	assert_string_equal(b.data, "9,0,0,1,GPU-b,,,,,,,,,,,,,,\n");
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
	char path[] = "/tmp/test_gpu_csv.XXXXXX";
	struct gpu_sample s[2] = { full_sample(), full_sample() };
	struct gpu_csv *w;
	char *text;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	s[1].index = 2;
	assert_int_equal(gpu_csv__open(path, &w), 0);
	assert_int_equal(gpu_csv__append(w, 0, s, 2), 0);
	gpu_csv__close(w);
	assert_int_equal(gpu_csv__open(path, &w), 0);
	assert_int_equal(gpu_csv__append(w, 1, s, 1), 0);
	gpu_csv__close(w);
	text = slurp(path);
	assert_int_equal(strncmp(text, gpu_csv_header(), strlen(gpu_csv_header())), 0);
	assert_non_null(strstr(text, "\n0,100,200,1,"));
	assert_non_null(strstr(text, "\n0,100,200,2,"));
	assert_non_null(strstr(text, "\n1,100,200,1,"));
	assert_null(strstr(text + 1, "interval,"));
	free(text);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("interval,label\n1,x\n", f);
	fclose(f);
	assert_int_equal(gpu_csv__open(path, &w), -EINVAL);
	text = slurp(path);
	assert_string_equal(text, "interval,label\n1,x\n");
	free(text);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_names_every_metric),
		cmocka_unit_test(test_full_row),
		cmocka_unit_test(test_missing_fields_mig_and_lost_rows_are_empty_cells),
		cmocka_unit_test(test_writer_header_append_and_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
