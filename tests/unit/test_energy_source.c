// SPDX-License-Identifier: MIT
/*
 * Energy source backends against the fake sysfs trees in tests/fixtures/sysfs, a fake
 * perf_event_open and a fake clock. The synthetic source has its own file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"
#include "energy_source.h"
#include "es_fixture.h"

#define FIX "tests/fixtures/sysfs"
#define PMU "sys/bus/event_source/devices/power"
#define TWO_POW_32 4294967296ULL /* counts per joule at the usual RAPL scale of 2^-32 J */

/* Opens spec, capturing stderr into cap->text; returns open's result. */
static int open_captured(const char *spec, const struct energy_source_opts *o,
			 struct energy_source **src, struct capture *cap)
{
	int err;

	capture_begin(cap);
	err = energy_source__open(spec, o, src);
	capture_end(cap);
	return err;
}

static void assert_line(const char *got, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void assert_line(const char *got, const char *fmt, ...)
{
	char want[2048];
	int n = snprintf(want, sizeof(want), "%s: ", program_invocation_short_name);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want + n, sizeof(want) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(want, "\n");
	assert_string_equal(got, want);
}

static int read_captured(struct energy_source *src, uint64_t *uj, uint64_t *t, struct capture *cap)
{
	int err;

	capture_begin(cap);
	err = energy_source__read(src, uj, t);
	capture_end(cap);
	return err;
}

/* ---- psys and rapl: the perf power PMU ---- */

static void test_psys_opens_from_sysfs(void **state)
{
	struct fake f = { .now_ns = 1000, .initial_count = 5 * TWO_POW_32 };
	struct energy_source_opts o = fake_opts(&f, FIX "/perf_psys");
	struct energy_source *src;
	struct capture cap;
	uint64_t uj, t;

	assert_int_equal(open_captured("psys", &o, &src, &cap), 0);
	assert_string_equal(cap.text, "");
	assert_int_equal(f.nperf, 1);
	assert_int_equal(f.perf[0].type, 23);
	assert_int_equal(f.perf[0].config, 0x05);
	assert_int_equal(f.perf[0].cpu, 0);
	assert_string_equal(energy_source__name(src), "psys");
	assert_true(energy_source__is_measured(src));
	assert_string_equal(energy_source__describe(src),
			    "psys: perf PMU " FIX "/perf_psys/" PMU " type 23: power/energy-psys = "
			    "config 0x5, scale 0.0002328306437 uJ/count, cpu 0");

	/* 2^32 counts at 2^-32 J each: exactly one joule more than at open. */
	f.now_ns = 2000;
	fake_perf_push(&f, 0, 6 * TWO_POW_32);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 1000000);
	assert_int_equal(t, 2000);
	fake_perf_push(&f, 0, 6 * TWO_POW_32 + TWO_POW_32 / 4);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 1250000);
	/* Unchanged is fine (an idle meter between updates). */
	fake_perf_push(&f, 0, 6 * TWO_POW_32 + TWO_POW_32 / 4);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 1250000);
	energy_source__close(src);
	fake_done(&f);
}

static void test_psys_counter_backwards_is_an_error(void **state)
{
	struct fake f = { .initial_count = 1000 };
	struct energy_source_opts o = fake_opts(&f, FIX "/perf_psys");
	struct energy_source *src;
	struct capture cap;
	uint64_t uj, t;

	assert_int_equal(energy_source__open("psys", &o, &src), 0);
	fake_perf_push(&f, 0, 2000);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	fake_perf_push(&f, 0, 1999);
	assert_int_equal(read_captured(src, &uj, &t, &cap), -EIO);
	assert_line(cap.text, "energy source psys: power/energy-psys (cpu 0): counter went "
			      "backwards from 2000 to 1999");
	energy_source__close(src);
	fake_done(&f);
}

static void test_psys_permission_denied(void **state)
{
	struct fake f = { .fail_errno = EACCES };
	struct energy_source_opts o = fake_opts(&f, FIX "/perf_psys");
	struct energy_source *src = NULL;
	struct capture cap;

	assert_int_equal(open_captured("psys", &o, &src, &cap), -EACCES);
	assert_null(src);
	assert_line(cap.text, "energy source psys: perf_event_open(power/energy-psys, config 0x5, "
			      "cpu 0): Permission denied (needs root, CAP_PERFMON or "
			      "kernel.perf_event_paranoid <= 0)");
	f.fail_errno = ENOENT;
	assert_int_equal(open_captured("psys", &o, &src, &cap), -ENOENT);
	assert_line(cap.text, "energy source psys: perf_event_open(power/energy-psys, config 0x5, "
			      "cpu 0): No such file or directory");
}

static void test_psys_missing_pmu_or_event(void **state)
{
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, FIX "/hwmon_plain");
	struct energy_source *src = NULL;
	struct capture cap;

	assert_int_equal(open_captured("psys", &o, &src, &cap), -ENOENT);
	assert_line(cap.text, "energy source psys: " FIX "/hwmon_plain/" PMU ": not found");
	o = fake_opts(&f, FIX "/perf_rapl_2pkg");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -ENOENT);
	assert_line(cap.text,
		    "energy source psys: " FIX "/perf_rapl_2pkg/" PMU "/events/energy-psys: not "
		    "found (this CPU has no such RAPL domain)");
	assert_int_equal(f.nperf, 0);
}

static void test_psys_real_open_fails_cleanly_here(void **state)
{
	struct energy_source *src = NULL;
	struct capture cap;

	/* The real syscall path, on this host's real sysfs. */
	if (access("/sys/bus/event_source/devices/power/events/energy-psys", F_OK) == 0)
		skip(); /* a host with PSYS: opening may well work */
	assert_true(open_captured("psys", NULL, &src, &cap) < 0);
	assert_null(src);
	assert_int_equal(capture_lines(cap.text), 1);
	assert_non_null(
		strstr(cap.text, "energy source psys: /sys/bus/event_source/devices/power"));
}

static void test_perf_event_encodings(void **state)
{
	struct fake f = { 0 };
	char root[64];
	struct energy_source_opts o;
	struct energy_source *src = NULL;
	struct capture cap;

	scratch_tree("perf_psys", root, sizeof(root));
	o = fake_opts(&f, root);

	/* Several terms, placed through their format files. */
	put(root, PMU "/events/energy-psys", "event=0x05,umask=0x3\n");
	put(root, PMU "/format/umask", "config:8-15\n");
	assert_int_equal(energy_source__open("psys", &o, &src), 0);
	assert_int_equal(f.perf[0].config, 0x305);
	energy_source__close(src);
	fake_done(&f);

	/* Decimal values are fine too; a value too wide for its bits is not. */
	put(root, PMU "/events/energy-psys", "event=12\n");
	assert_int_equal(energy_source__open("psys", &o, &src), 0);
	assert_int_equal(f.perf[0].config, 12);
	energy_source__close(src);
	fake_done(&f);

	put(root, PMU "/events/energy-psys", "event=0x100\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -ERANGE);
	assert_line(cap.text,
		    "energy source psys: %s/" PMU "/events/energy-psys: event=256 does "
		    "not fit config:0-7",
		    root);

	put(root, PMU "/events/energy-psys", "event=0xzz\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text,
		    "energy source psys: %s/" PMU "/events/energy-psys: \"event=0xzz\" "
		    "is not an event encoding",
		    root);

	put(root, PMU "/events/energy-psys", "event=0x05,bogus=1\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -ENOENT);
	assert_line(cap.text,
		    "energy source psys: %s/" PMU "/format/bogus: No such file or "
		    "directory",
		    root);

	put(root, PMU "/events/energy-psys", "event=0x05\n");
	put(root, PMU "/format/event", "config1:0-7\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text,
		    "energy source psys: %s/" PMU "/format/event: \"config1:0-7\" is "
		    "not a config:LO-HI format",
		    root);

	/* Without a format file, "event" is the whole config. */
	char path[256];

	put(root, PMU "/events/energy-psys", "event=0x1234\n");
	snprintf(path, sizeof(path), "%s/" PMU "/format/event", root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(energy_source__open("psys", &o, &src), 0);
	assert_int_equal(f.perf[0].config, 0x1234);
	energy_source__close(src);
	fake_done(&f);
	assert_int_equal(f.nperf, 0);
	scratch_remove(root);
}

static void test_perf_scale_unit_type_cpumask(void **state)
{
	struct fake f = { 0 };
	char root[64];
	struct energy_source_opts o;
	struct energy_source *src = NULL;
	struct capture cap;

	scratch_tree("perf_psys", root, sizeof(root));
	o = fake_opts(&f, root);

	put(root, PMU "/events/energy-psys.scale", "abc\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text,
		    "energy source psys: %s/" PMU "/events/energy-psys.scale: \"abc\" is "
		    "not a scale in (0, 1] J",
		    root);
	put(root, PMU "/events/energy-psys.scale", "0\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	put(root, PMU "/events/energy-psys.scale", "2.3283064365386962890625e-10\n");

	put(root, PMU "/events/energy-psys.unit", "Watts\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text,
		    "energy source psys: %s/" PMU "/events/energy-psys.unit: \"Watts\" "
		    "is not Joules",
		    root);
	put(root, PMU "/events/energy-psys.unit", "Joules\n");

	put(root, PMU "/type", "twenty\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source psys: %s/" PMU "/type: \"twenty\" is not a number",
		    root);
	put(root, PMU "/type", "23\n");

	put(root, PMU "/cpumask", "\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source psys: %s/" PMU "/cpumask: empty", root);
	put(root, PMU "/cpumask", "x\n");
	assert_int_equal(open_captured("psys", &o, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source psys: %s/" PMU "/cpumask: \"x\" is not a CPU list",
		    root);

	/* psys is platform-wide: only the first CPU of the mask. */
	put(root, PMU "/cpumask", "4-5,9\n");
	assert_int_equal(energy_source__open("psys", &o, &src), 0);
	assert_int_equal(f.nperf, 1);
	assert_int_equal(f.perf[0].cpu, 4);
	energy_source__close(src);
	fake_done(&f);
	scratch_remove(root);
}

static void test_rapl_sums_packages_and_dram(void **state)
{
	struct fake f = { .initial_count = 0 };
	struct energy_source_opts o = fake_opts(&f, FIX "/perf_psys");
	struct energy_source *src;
	uint64_t uj, t;

	/* pkg (2^-32 J) and ram (2^-16 J = 15.2587890625 uJ per count) on cpu 0. */
	assert_int_equal(energy_source__open("rapl", &o, &src), 0);
	assert_int_equal(f.nperf, 2);
	assert_int_equal(f.perf[0].config, 0x02);
	assert_int_equal(f.perf[1].config, 0x03);
	assert_string_equal(energy_source__name(src), "rapl");
	fake_perf_push(&f, 0, 3 * TWO_POW_32);
	fake_perf_push(&f, 1, 65536); /* one joule */
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 4000000);
	energy_source__close(src);
	fake_done(&f);

	/* Two packages, no energy-ram: one counter per CPU of the cpumask, summed. */
	o = fake_opts(&f, FIX "/perf_rapl_2pkg");
	assert_int_equal(energy_source__open("rapl", &o, &src), 0);
	assert_int_equal(f.nperf, 2);
	assert_int_equal(f.perf[0].type, 9);
	assert_int_equal(f.perf[0].cpu, 0);
	assert_int_equal(f.perf[1].cpu, 18);
	assert_non_null(strstr(energy_source__describe(src), "cpu 18"));
	fake_perf_push(&f, 0, TWO_POW_32);
	fake_perf_push(&f, 1, 2 * TWO_POW_32);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 3000000);
	energy_source__close(src);
	fake_done(&f);
}

/* ---- powercap ---- */

#define PCAP "sys/class/powercap"

static void test_powercap_prefers_psys_zone(void **state)
{
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, FIX "/powercap_psys");
	struct energy_source *src;
	uint64_t uj, t;

	assert_int_equal(energy_source__open("powercap", &o, &src), 0);
	assert_string_equal(energy_source__describe(src),
			    "powercap: " FIX "/powercap_psys/" PCAP " psys zone intel-rapl:1 "
			    "(max_energy_range_uj 262143328850)");
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 0); /* nothing changed since open */
	energy_source__close(src);
}

static void test_powercap_sums_packages_and_wraps(void **state)
{
	struct fake f = { 0 };
	char root[64];
	struct energy_source_opts o;
	struct energy_source *src;
	struct capture cap;
	uint64_t uj, t;

	scratch_tree("powercap_packages", root, sizeof(root));
	o = fake_opts(&f, root);
	assert_int_equal(energy_source__open("powercap", &o, &src), 0);
	/* Packages only: not the dram subzone, not the mmio duplicate. */
	char want[512];

	snprintf(want, sizeof(want),
		 "powercap: %s/" PCAP " sum of packages intel-rapl:0 (max_energy_range_uj "
		 "1000000), intel-rapl:1 (max_energy_range_uj 1000000)",
		 root);
	assert_string_equal(energy_source__describe(src), want);

	put_u64(root, PCAP "/intel-rapl:0/energy_uj", 950000); /* +50000 */
	put_u64(root, PCAP "/intel-rapl:1/energy_uj", 300); /* +200 */
	put_u64(root, PCAP "/intel-rapl:0:0/energy_uj", 999999); /* ignored */
	assert_int_equal(read_captured(src, &uj, &t, &cap), 0);
	assert_string_equal(cap.text, "");
	assert_int_equal(uj, 50200);

	/* package-0 wraps: 950000 -> 1000000 (max) -> 0 -> 30000 = +80000. */
	put_u64(root, PCAP "/intel-rapl:0/energy_uj", 30000);
	assert_int_equal(read_captured(src, &uj, &t, &cap), 0);
	assert_int_equal(uj, 50200 + 80000);
	assert_line(cap.text, "energy source powercap: intel-rapl:0 wrapped at "
			      "max_energy_range_uj 1000000 (950000 -> 30000); wrap 1, counted");
	/* and again: counted */
	put_u64(root, PCAP "/intel-rapl:0/energy_uj", 10000);
	assert_int_equal(read_captured(src, &uj, &t, &cap), 0);
	assert_int_equal(uj, 50200 + 80000 + 980000);
	assert_non_null(strstr(cap.text, "wrap 2, counted"));

	/* A value above the range is nonsense, not a wrap. */
	put_u64(root, PCAP "/intel-rapl:1/energy_uj", 1000001);
	assert_int_equal(read_captured(src, &uj, &t, &cap), -ERANGE);
	assert_line(cap.text,
		    "energy source powercap: %s/" PCAP "/intel-rapl:1/energy_uj: "
		    "1000001 is above max_energy_range_uj 1000000",
		    root);
	put_u64(root, PCAP "/intel-rapl:1/energy_uj", 300);

	/* The file vanishing mid-run (zone gone, driver unloaded) is an error. */
	char path[256];

	snprintf(path, sizeof(path), "%s/" PCAP "/intel-rapl:1/energy_uj", root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(read_captured(src, &uj, &t, &cap), -ENOENT);
	assert_line(cap.text, "energy source powercap: %s: No such file or directory", path);
	/* and garbage in it */
	put(root, PCAP "/intel-rapl:1/energy_uj", "12a\n");
	assert_int_equal(read_captured(src, &uj, &t, &cap), -EINVAL);
	assert_line(cap.text, "energy source powercap: %s: \"12a\" is not a number", path);
	energy_source__close(src);
	scratch_remove(root);
}

static void test_powercap_no_zone(void **state)
{
	struct fake f = { 0 };
	char root[64];
	struct energy_source_opts o;
	struct energy_source *src = NULL;
	struct capture cap;

	scratch_tree("powercap_psys", root, sizeof(root));
	o = fake_opts(&f, root);
	put(root, PCAP "/intel-rapl:1/name", "dram\n");
	put(root, PCAP "/intel-rapl:0/name", "core\n");
	assert_int_equal(open_captured("powercap", &o, &src, &cap), -ENOENT);
	assert_line(cap.text,
		    "energy source powercap: %s/" PCAP ": no intel-rapl:N zone named "
		    "psys or package-N",
		    root);
	scratch_remove(root);

	o = fake_opts(&f, FIX "/perf_psys");
	assert_int_equal(open_captured("powercap", &o, &src, &cap), -ENOENT);
	assert_line(cap.text, "energy source powercap: " FIX "/perf_psys/" PCAP ": not found");
}

/*
 * Runs spec's open as an unprivileged user (nobody) in a child, so that a 0400 root file
 * is unreadable even when the tests run as root. Returns the child's captured stderr.
 */
static int open_as_nobody(const char *spec, const char *root, char *text, size_t size)
{
	int fds[2];
	pid_t pid;
	int status;
	ssize_t n;

	if (pipe(fds))
		abort();
	pid = fork();
	if (pid == 0) {
		struct energy_source *src;
		struct fake f = { 0 };
		struct energy_source_opts o = fake_opts(&f, root);

		dup2(fds[1], 2);
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(99);
		_exit(energy_source__open(spec, &o, &src) == -EACCES ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], text, size - 1);
	text[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_powercap_permission_denied(void **state)
{
	char root[64], path[256], text[1024];

	scratch_tree("powercap_psys", root, sizeof(root));
	snprintf(path, sizeof(path), "%s/" PCAP "/intel-rapl:1/energy_uj", root);
	/* Since Linux 5.10 energy_uj is 0400 root. */
	assert_int_equal(chmod(path, geteuid() == 0 ? 0400 : 0), 0);
	assert_int_equal(open_as_nobody("powercap", root, text, sizeof(text)), 0);
	char want[512];

	snprintf(want, sizeof(want),
		 "%s: energy source powercap: %s: Permission denied (root "
		 "only since Linux 5.10)\n",
		 program_invocation_short_name, path);
	assert_string_equal(text, want);
	scratch_remove(root);
}

/* ---- hwmon ---- */

#define HW "sys/class/hwmon"

static void test_hwmon_amd_energy_uses_sockets(void **state)
{
	struct fake f = { 0 };
	char root[64], want[512];
	struct energy_source_opts o;
	struct energy_source *src;
	struct capture cap;
	uint64_t uj, t;

	scratch_tree("hwmon_amd_energy", root, sizeof(root));
	o = fake_opts(&f, root);
	assert_int_equal(energy_source__open("hwmon", &o, &src), 0);
	snprintf(want, sizeof(want),
		 "hwmon: %s/" HW ", socket channels (Esocket*): hwmon0/energy3_input (Esocket0), "
		 "hwmon0/energy4_input (Esocket1)",
		 root);
	assert_string_equal(energy_source__describe(src), want);
	put_u64(root, HW "/hwmon0/energy3_input", 50500);
	put_u64(root, HW "/hwmon0/energy4_input", 60250);
	put_u64(root, HW "/hwmon0/energy1_input", 999999); /* a core: not counted twice */
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 750);

	put_u64(root, HW "/hwmon0/energy4_input", 60000);
	assert_int_equal(read_captured(src, &uj, &t, &cap), -EIO);
	assert_line(cap.text,
		    "energy source hwmon: %s/" HW "/hwmon0/energy4_input: counter went "
		    "backwards from 60250 to 60000",
		    root);
	put_u64(root, HW "/hwmon0/energy4_input", 60250);

	snprintf(want, sizeof(want), "%s/" HW "/hwmon0/energy3_input", root);
	unlink(want);
	assert_int_equal(read_captured(src, &uj, &t, &cap), -ENOENT);
	assert_line(cap.text, "energy source hwmon: %s: No such file or directory", want);
	energy_source__close(src);
	scratch_remove(root);
}

static void test_hwmon_plain_sums_all(void **state)
{
	struct fake f = { 0 };
	char root[64], path[256], text[1024];
	struct energy_source_opts o;
	struct energy_source *src;
	uint64_t uj, t;

	scratch_tree("hwmon_plain", root, sizeof(root));
	o = fake_opts(&f, root);
	assert_int_equal(energy_source__open("hwmon", &o, &src), 0);
	assert_non_null(strstr(energy_source__describe(src), "sum of all energy channels"));
	put_u64(root, HW "/hwmon3/energy1_input", 15);
	put_u64(root, HW "/hwmon3/energy2_input", 120);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 105);
	energy_source__close(src);

	snprintf(path, sizeof(path), "%s/" HW "/hwmon3/energy2_input", root);
	assert_int_equal(chmod(path, geteuid() == 0 ? 0400 : 0), 0);
	assert_int_equal(open_as_nobody("hwmon", root, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "Permission denied"));
	assert_int_equal(capture_lines(text), 1);
	scratch_remove(root);
}

/* ---- replay ---- */

static void write_trace(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_replay_interpolates_in_real_time(void **state)
{
	char dir[64], path[128], spec[160];
	struct fake f = { .now_ns = 777000000000ULL };
	struct energy_source_opts o;
	struct energy_source *src;
	struct capture cap;
	uint64_t uj, t;

	scratch_tree(NULL, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/trace.csv", dir);
	write_trace(path, "t_ns,energy_uj\r\n"
			  "1000000000,5000\r\n"
			  "2000000000,6000\n"
			  "\n"
			  "4000000000,6000\n"
			  "5000000000,9000000000000000000\n");
	snprintf(spec, sizeof(spec), "replay:%s", path);
	o = fake_opts(&f, "/nonexistent"); /* FILE is not below the root */
	assert_int_equal(energy_source__open(spec, &o, &src), 0);
	assert_string_equal(energy_source__name(src), "replay");
	assert_true(energy_source__is_measured(src));
	assert_non_null(strstr(energy_source__describe(src), "4 rows over 4.000 s"));

	struct {
		uint64_t tau_ns, uj;
	} cases[] = {
		{ 0, 5000 },
		{ 500000000, 5500 },
		{ 999999999, 5999 }, /* floor */
		{ 1000000000, 6000 },
		{ 2000000000, 6000 },
		{ 3000000000, 6000 },
		{ 3500000000, 4500000000000003000ULL }, /* no overflow in the product */
		{ 4000000000, 9000000000000000000ULL },
		{ 1000000000, 6000 }, /* reads need not be in order */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.now_ns = 777000000000ULL + cases[i].tau_ns;
		assert_int_equal(energy_source__read(src, &uj, &t), 0);
		assert_true(uj == cases[i].uj);
		assert_true(t == f.now_ns);
	}
	f.now_ns = 777000000000ULL + 4000000001ULL;
	assert_int_equal(read_captured(src, &uj, &t, &cap), -ERANGE);
	assert_line(cap.text,
		    "energy source replay: %s: read at +4.000 s is past the end of the "
		    "trace (4.000 s long)",
		    path);
	energy_source__close(src);
	unlink(path);
	scratch_remove(dir);
}

static void test_replay_rejects_bad_traces(void **state)
{
	static const struct {
		const char *text, *why; /* why follows "energy source replay: PATH" */
	} bad[] = {
		{ "", ":1: the header is \"\", not \"t_ns,energy_uj\"" },
		{ "t,e\n1,2\n", ":1: the header is \"t,e\", not \"t_ns,energy_uj\"" },
		{ "t_ns,energy_uj\n1,2\n", ": 1 data rows; a trace needs at least 2" },
		{ "t_ns,energy_uj\n1,2\n2 3\n", ":3: \"2 3\" is not \"t_ns,energy_uj\"" },
		{ "t_ns,energy_uj\n1,2\nx,3\n", ":3: t_ns: \"x\" is not a number" },
		{ "t_ns,energy_uj\n1,2\n2,-3\n", ":3: energy_uj: \"-3\" is not a number" },
		{ "t_ns,energy_uj\n1,2\n2,3,4\n", ":3: energy_uj: \"3,4\" is not a number" },
		{ "t_ns,energy_uj\n1,2\n2,99999999999999999999\n",
		  ":3: energy_uj: \"99999999999999999999\" is out of range" },
		{ "t_ns,energy_uj\n5,2\n5,3\n",
		  ":3: t_ns: \"5\" is not after the previous row's 5" },
		{ "t_ns,energy_uj\n5,2\n6,3\n7,1\n",
		  ":4: energy_uj: \"1\" is below the previous row's 3 (the trace must be "
		  "cumulative)" },
	};
	char dir[64], path[128], spec[160];
	struct energy_source *src = NULL;
	struct capture cap;
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, NULL);

	scratch_tree(NULL, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/bad.csv", dir);
	snprintf(spec, sizeof(spec), "replay:%s", path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_trace(path, bad[i].text);
		assert_int_equal(open_captured(spec, &o, &src, &cap) < 0, 1);
		assert_null(src);
		assert_line(cap.text, "energy source replay: %s%s", path, bad[i].why);
	}
	unlink(path);
	assert_int_equal(open_captured(spec, &o, &src, &cap), -ENOENT);
	assert_line(cap.text, "energy source replay: %s: No such file or directory", path);
	snprintf(spec, sizeof(spec), "replay:%s", dir);
	assert_int_equal(open_captured(spec, &o, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source replay: %s: not a regular file of at most 256 MiB",
		    dir);
	scratch_remove(dir);
}

/* ---- auto and the spec ---- */

static void test_auto_tries_in_order(void **state)
{
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, FIX "/powercap_psys");
	struct energy_source *src = NULL;
	struct capture cap;
	char want[1024];

	assert_int_equal(open_captured("auto", &o, &src, &cap), 0);
	assert_string_equal(energy_source__name(src), "powercap");
	snprintf(want, sizeof(want),
		 "%1$s: energy source psys: " FIX "/powercap_psys/" PMU ": not found\n"
		 "%1$s: energy source rapl: " FIX "/powercap_psys/" PMU ": not found\n",
		 program_invocation_short_name);
	assert_string_equal(cap.text, want);
	energy_source__close(src);

	/* psys first where it exists */
	o = fake_opts(&f, FIX "/perf_psys");
	assert_int_equal(open_captured("auto", &o, &src, &cap), 0);
	assert_string_equal(energy_source__name(src), "psys");
	assert_string_equal(cap.text, "");
	energy_source__close(src);
	fake_done(&f);

	/* nothing at all: one line per source, then the verdict */
	src = NULL;
	o = fake_opts(&f, FIX "/proc_stat");
	assert_int_equal(open_captured("auto", &o, &src, &cap), -ENODEV);
	snprintf(want, sizeof(want),
		 "%1$s: energy source psys: " FIX "/proc_stat/" PMU ": not found\n"
		 "%1$s: energy source rapl: " FIX "/proc_stat/" PMU ": not found\n"
		 "%1$s: energy source powercap: " FIX "/proc_stat/" PCAP ": not found\n"
		 "%1$s: energy source hwmon: " FIX "/proc_stat/" HW ": not found\n"
		 "%1$s: energy source auto: none of psys, rapl, powercap, hwmon works on this "
		 "host (use synthetic, which is a model, or replay:FILE)\n",
		 program_invocation_short_name);
	assert_string_equal(cap.text, want);
	assert_null(src);
}

static void test_bad_specs(void **state)
{
	struct energy_source *src = NULL;
	struct capture cap;

	assert_int_equal(open_captured("bogus", NULL, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source \"bogus\" is not one of psys, rapl, powercap, hwmon, "
			      "replay:FILE, synthetic[:CONF], auto");
	assert_int_equal(open_captured("replay", NULL, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source \"replay\" needs a trace: replay:FILE");
	assert_int_equal(open_captured("", NULL, &src, &cap), -EINVAL);
	assert_line(cap.text, "energy source \"\" is empty");
	assert_null(src);
}

/* The names are the collector's (the config parser checks the grammar only). */
static void test_check_knows_the_names(void **state)
{
	const char *ok[] = { "psys", "rapl", "powercap", "hwmon", "auto", "synthetic",
			     "synthetic:a.conf", "replay:a.csv", "replay:/x:y.csv" };
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(energy_source_check(ok[i], &why), 0);
	assert_int_equal(energy_source_check("bogus", &why), -EINVAL);
	assert_string_equal(why, "is not one of psys, rapl, powercap, hwmon, replay:FILE, "
				 "synthetic[:CONF], auto");
	assert_int_equal(energy_source_check("psys:x", &why), -EINVAL);
	assert_string_equal(why, "is not one of psys, rapl, powercap, hwmon, replay:FILE, "
				 "synthetic[:CONF], auto");
	assert_int_equal(energy_source_check("auto:x", &why), -EINVAL);
	assert_int_equal(energy_source_check("replay", &why), -EINVAL);
	assert_string_equal(why, "needs a trace: replay:FILE");
	assert_int_equal(energy_source_check("replay:", &why), -EINVAL);
	assert_string_equal(why, "names no file after ':'");
	assert_int_equal(energy_source_check("replay:a b", &why), -EINVAL);
	assert_string_equal(why, "contains a space, a control character or '#'");
}

static void test_feed_is_ignored_by_measuring_sources(void **state)
{
	struct fake f = { 0 };
	struct energy_source_opts o = fake_opts(&f, FIX "/hwmon_plain");
	struct energy_source *src;
	struct interval_signals sig = { .t_end_ns = 1000000000, .host.runtime_ns = 5000000000 };
	struct signals_available av = { 0 };
	uint64_t uj, t;

	assert_int_equal(energy_source__open("hwmon", &o, &src), 0);
	assert_int_equal(energy_source__feed_signals(src, &sig, &av), 0);
	assert_int_equal(energy_source__read(src, &uj, &t), 0);
	assert_int_equal(uj, 0);
	energy_source__close(src);
	energy_source__close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psys_opens_from_sysfs),
		cmocka_unit_test(test_psys_counter_backwards_is_an_error),
		cmocka_unit_test(test_psys_permission_denied),
		cmocka_unit_test(test_psys_missing_pmu_or_event),
		cmocka_unit_test(test_psys_real_open_fails_cleanly_here),
		cmocka_unit_test(test_perf_event_encodings),
		cmocka_unit_test(test_perf_scale_unit_type_cpumask),
		cmocka_unit_test(test_rapl_sums_packages_and_dram),
		cmocka_unit_test(test_powercap_prefers_psys_zone),
		cmocka_unit_test(test_powercap_sums_packages_and_wraps),
		cmocka_unit_test(test_powercap_no_zone),
		cmocka_unit_test(test_powercap_permission_denied),
		cmocka_unit_test(test_hwmon_amd_energy_uses_sockets),
		cmocka_unit_test(test_hwmon_plain_sums_all),
		cmocka_unit_test(test_replay_interpolates_in_real_time),
		cmocka_unit_test(test_replay_rejects_bad_traces),
		cmocka_unit_test(test_auto_tries_in_order),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_check_knows_the_names),
		cmocka_unit_test(test_feed_is_ignored_by_measuring_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
