// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup2.h"

static void test_hybrid_layout(void **state)
{
	const char *text =
		"22 28 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
		"30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
		"31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n"
		"32 30 0:28 / /sys/fs/cgroup/cpu rw shared:11 - cgroup cgroup rw,cpu\n";
	char mount[256];

	assert_int_equal(cgroup2_mount_from_mountinfo(text, mount, sizeof(mount)), 0);
	assert_string_equal(mount, "/sys/fs/cgroup/unified");
}

static void test_unified_layout_and_optional_fields(void **state)
{
	const char *text = "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 master:1 - cgroup2 "
			   "cgroup2 rw,nsdelegate";
	char mount[256];

	assert_int_equal(cgroup2_mount_from_mountinfo(text, mount, sizeof(mount)), 0);
	assert_string_equal(mount, "/sys/fs/cgroup");
}

static void test_escaped_mount_point(void **state)
{
	const char *text = "40 1 0:40 / /mnt/my\\040cgroups rw - cgroup2 none rw\n";
	char mount[256];

	assert_int_equal(cgroup2_mount_from_mountinfo(text, mount, sizeof(mount)), 0);
	assert_string_equal(mount, "/mnt/my cgroups");
}

static void test_no_cgroup2(void **state)
{
	const char *text = "32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
			   "33 30 0:29 / /weird rw - cgroup2x x rw\n";
	char mount[256];
	char tiny[4];

	assert_int_equal(cgroup2_mount_from_mountinfo(text, mount, sizeof(mount)), -ENOENT);
	assert_int_equal(cgroup2_mount_from_mountinfo("", mount, sizeof(mount)), -ENOENT);
	assert_int_equal(cgroup2_mount_from_mountinfo("garbage line\n", mount, sizeof(mount)),
			 -ENOENT);
	assert_int_equal(cgroup2_mount_from_mountinfo("1 2 3 / /long/path rw - cgroup2 c rw",
						      tiny, sizeof(tiny)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid_layout),
		cmocka_unit_test(test_unified_layout_and_optional_fields),
		cmocka_unit_test(test_escaped_mount_point),
		cmocka_unit_test(test_no_cgroup2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
