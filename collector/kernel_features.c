// SPDX-License-Identifier: MIT
#include "kernel_features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static int btf_id(const char *name, __u32 kind)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id;

	if (!vmlinux)
		return -ENOENT;
	id = btf__find_by_name_kind(vmlinux, name, kind);
	btf__free(vmlinux);
	return id;
}

static int function_btf_id(const char *name)
{
	return btf_id(name, BTF_KIND_FUNC);
}

bool kernel_has_tracepoint(const char *name)
{
	char type[256];

	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf_id(type, BTF_KIND_TYPEDEF) > 0;
}

bool kernel_has_function(const char *name)
{
	return function_btf_id(name) > 0;
}

const char *first_kernel_function(const char *const names[], int n)
{
	for (int i = 0; i < n; i++)
		if (kernel_has_function(names[i]))
			return names[i];
	return NULL;
}

int probe_fentry(const char *func, bool fexit)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = fexit ? BPF_TRACE_FEXIT : BPF_TRACE_FENTRY);
	int id = function_btf_id(func), fd;

	if (id <= 0)
		return -ENOENT;
	opts.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* 1 when the kernel config at path (gzip or plain) has name=y, 0 when not, -1 unreadable. */
static int config_has(const char *path, const char *name)
{
	gzFile f = gzopen(path, "rb");
	size_t len = strlen(name);
	char line[512];
	int found = 0;

	if (!f)
		return -1;
	while (!found && gzgets(f, line, sizeof(line)))
		found = strncmp(line, name, len) == 0 && strcmp(line + len, "=y\n") == 0;
	gzclose(f);
	return found;
}

/* The irq column (the 6th value) of /proc/stat's "cpu" line, in USER_HZ ticks. */
static unsigned long long proc_stat_irq(const char *root)
{
	unsigned long long v[7] = { 0 };
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/stat", root);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6]) != 7)
		v[5] = 0;
	fclose(f);
	return v[5];
}

bool kallsyms_has(const char *root, const char *name)
{
	char path[4096], line[256];
	size_t len = strlen(name);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/kallsyms", root);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sym = strrchr(line, ' ');

		found = sym && strncmp(sym + 1, name, len) == 0 && sym[1 + len] == '\n';
	}
	fclose(f);
	return found;
}

bool kernel_irq_time_accounting(const char *root, const char **why)
{
	static const char option[] = "CONFIG_IRQ_TIME_ACCOUNTING";
	char path[4096], release[128] = "";
	int has;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/config.gz", root);
	has = config_has(path, option);
	if (has < 0) {
		snprintf(path, sizeof(path), "%s/proc/sys/kernel/osrelease", root);
		f = fopen(path, "re");
		if (f) {
			if (!fgets(release, sizeof(release), f))
				release[0] = '\0';
			release[strcspn(release, "\n")] = '\0';
			fclose(f);
		}
		snprintf(path, sizeof(path), "%s/boot/config-%s", root, release);
		has = config_has(path, option);
	}
	if (has < 0) {
		*why = "the kernel config is not readable";
		return false;
	}
	if (!has) {
		*why = "no CONFIG_IRQ_TIME_ACCOUNTING";
		return false;
	}
	if (proc_stat_irq(root) == 0) {
		*why = "IRQ time accounting is off at run time (/proc/stat irq is 0)";
		return false;
	}
	if (!kallsyms_has(root, "kernel_cpustat")) {
		*why = "kernel_cpustat is not in kallsyms (no CONFIG_KALLSYMS_ALL)";
		return false;
	}
	return true;
}
