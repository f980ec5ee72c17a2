// SPDX-License-Identifier: MIT
#include "kernel_features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <unistd.h>

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
