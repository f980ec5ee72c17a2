// SPDX-License-Identifier: MIT
#include "cpu_freq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int read_small_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int cpu_freq_from_cpuinfo(const char *text, uint32_t *khz, int ncpus)
{
	const char *line = text;
	int cpu = -1, found = 0;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *colon = memchr(line, ':', len);

		if (colon) {
			const char *v = colon + 1;
			size_t vlen = len - (size_t)(v - line);
			uint64_t n;
			double mhz;

			while (vlen && *v == ' ') {
				v++;
				vlen--;
			}
			if (strncmp(line, "processor", 9) == 0)
				cpu = parse_u64_n(v, vlen, 0, (uint64_t)ncpus - 1, &n) ? -1 : (int)n;
			else if (strncmp(line, "cpu MHz", 7) == 0 && cpu >= 0 &&
				 parse_double_n(v, vlen, 0, 1e6, &mhz) == 0) {
				khz[cpu] = (uint32_t)(mhz * 1000.0 + 0.5);
				found++;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return found;
}

int cpu_freq_read_cur(const char *root, int cpu, uint32_t *khz)
{
	char path[4096], buf[64];
	uint64_t v;
	int err;

	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq",
		 root, cpu);
	err = read_small_file(path, buf, sizeof(buf));
	if (err)
		return err;
	if (parse_u64(buf, 1, UINT32_MAX, &v))
		return -EINVAL;
	*khz = (uint32_t)v;
	return 0;
}

int cpu_freq_refresh(const char *root, int ncpus, const uint64_t *events, uint64_t *seen,
		     uint32_t *khz, bool *changed)
{
	int n = 0;

	for (int cpu = 0; cpu < ncpus; cpu++) {
		uint32_t now;

		changed[cpu] = false;
		if (events[cpu] != seen[cpu]) {
			seen[cpu] = events[cpu]; /* the tracepoint keeps this CPU current */
			continue;
		}
		if (cpu_freq_read_cur(root, cpu, &now) || now == khz[cpu])
			continue;
		khz[cpu] = now;
		changed[cpu] = true;
		n++;
	}
	return n;
}

enum cpu_freq_origin cpu_freq_seed(const char *root, uint32_t *khz, int ncpus)
{
	char path[4096];
	int from_cpufreq = 0;
	FILE *f;

	for (int cpu = 0; cpu < ncpus; cpu++) {
		khz[cpu] = 0;
		if (cpu_freq_read_cur(root, cpu, &khz[cpu]) == 0)
			from_cpufreq++;
	}
	if (from_cpufreq)
		return CPU_FREQ_CPUFREQ;

	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	f = fopen(path, "re");
	if (f) {
		char *text = NULL;
		size_t cap = 0;
		int found = 0;

		if (getdelim(&text, &cap, '\0', f) > 0)
			found = cpu_freq_from_cpuinfo(text, khz, ncpus);
		free(text);
		fclose(f);
		if (found)
			return CPU_FREQ_CPUINFO;
	}
	return CPU_FREQ_UNKNOWN;
}

const char *cpu_freq_origin_name(enum cpu_freq_origin origin)
{
	switch (origin) {
	case CPU_FREQ_CPUFREQ: return "cpufreq scaling_cur_freq";
	case CPU_FREQ_CPUINFO: return "/proc/cpuinfo cpu MHz (nominal; no cpufreq driver)";
	default: return "unknown (kHz 0)";
	}
}
