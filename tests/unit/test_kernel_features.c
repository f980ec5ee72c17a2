// SPDX-License-Identifier: MIT
/* kernel_irq_time_accounting() on fake roots: config (gzip or /boot), /proc/stat, kallsyms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "kernel_features.h"

static char root[] = "/tmp/test_kernel_features.XXXXXX";

static void write_at(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void write_gz(const char *rel, const char *text)
{
	char path[512];
	gzFile f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = gzopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(gzputs(f, text), (int)strlen(text));
	gzclose(f);
}

static int setup(void **state)
{
	char path[512];

	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/sys", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/sys/kernel", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/boot", root);
	mkdir(path, 0755);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static const char stat_on[] = "cpu  10 0 20 300 4 17 9 0 0 0\ncpu0 10 0 20 300 4 17 9 0 0 0\n";
static const char stat_off[] = "cpu  10 0 20 300 4 0 9 0 0 0\ncpu0 10 0 20 300 4 0 9 0 0 0\n";
static const char syms_all[] = "0000000000000000 T _stext\n"
			       "0000000000000000 D kernel_cpustat\n";
static const char syms_text[] = "0000000000000000 T _stext\n"
				"0000000000000000 D kernel_cpustat_x\n";

static void test_all_present_from_config_gz(void **state)
{
	const char *why = NULL;

	write_gz("proc/config.gz", "CONFIG_IRQ_TIME_ACCOUNTING_X=y\nCONFIG_IRQ_TIME_ACCOUNTING=y\n");
	write_at("proc/stat", stat_on);
	write_at("proc/kallsyms", syms_all);
	assert_true(kernel_irq_time_accounting(root, &why));
}

static void test_each_missing_piece_says_why(void **state)
{
	const char *why = NULL;

	write_gz("proc/config.gz", "# CONFIG_IRQ_TIME_ACCOUNTING is not set\n");
	write_at("proc/stat", stat_on);
	write_at("proc/kallsyms", syms_all);
	assert_false(kernel_irq_time_accounting(root, &why));
	assert_string_equal(why, "no CONFIG_IRQ_TIME_ACCOUNTING");

	write_gz("proc/config.gz", "CONFIG_IRQ_TIME_ACCOUNTING=y\n");
	write_at("proc/stat", stat_off);
	assert_false(kernel_irq_time_accounting(root, &why));
	assert_non_null(strstr(why, "off at run time"));

	write_at("proc/stat", stat_on);
	write_at("proc/kallsyms", syms_text); /* a longer name is not the symbol */
	assert_false(kernel_irq_time_accounting(root, &why));
	assert_non_null(strstr(why, "kallsyms"));
}

static void test_boot_config_of_this_release(void **state)
{
	char path[512];
	const char *why = NULL;

	snprintf(path, sizeof(path), "%s/proc/config.gz", root);
	unlink(path);
	write_at("proc/sys/kernel/osrelease", "6.1.0-test\n");
	write_at("proc/stat", stat_on);
	write_at("proc/kallsyms", syms_all);
	assert_false(kernel_irq_time_accounting(root, &why));
	assert_string_equal(why, "the kernel config is not readable");
	write_at("boot/config-6.1.0-other", "CONFIG_IRQ_TIME_ACCOUNTING=y\n");
	assert_false(kernel_irq_time_accounting(root, &why));
	write_at("boot/config-6.1.0-test", "CONFIG_IRQ_TIME_ACCOUNTING=y\n");
	assert_true(kernel_irq_time_accounting(root, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_present_from_config_gz),
		cmocka_unit_test(test_each_missing_piece_says_why),
		cmocka_unit_test(test_boot_config_of_this_release),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
