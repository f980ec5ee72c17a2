/* SPDX-License-Identifier: MIT */
/*
 * The script both fake GPU libraries read (tests/fake_gpu/README.md): the file named by
 * HTTP_ENERGY_FAKE_GPU_SCRIPT. Each getter of the fakes keeps its own call count per
 * device; its n-th call returns the value scripted for boundary n, so the collector's
 * reading at boundary n (0 = before the first interval) sees line "b n ...".
 */
#ifndef TESTS_FAKE_GPU_SCRIPT_H
#define TESTS_FAKE_GPU_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_MAX_GPUS 4
#define FAKE_MAX_MIGS 7
#define FAKE_MAX_STEPS 512
#define FAKE_MAX_PROCS 8

/* Columns of a "b" line, in order. */
enum fake_field {
	FF_ENERGY_MJ,
	FF_POWER_MW,
	FF_SM_UTIL,
	FF_MEM_UTIL,
	FF_ENC_UTIL,
	FF_DEC_UTIL,
	FF_TEMP_C,
	FF_MEM_USED,
	FF_MEM_TOTAL,
	FF_SM_CLOCK,
	FF_MEM_CLOCK,
	FF_COUNT,
};

enum fake_kind { FV_NONE, FV_VALUE, FV_NS, FV_LOST, FV_ERR, FV_STALE };

struct fake_value {
	enum fake_kind kind; /* FV_NONE: not scripted */
	uint64_t v;
};

struct fake_proc {
	uint32_t pid, sm, mem;
};

struct fake_procs {
	enum fake_kind kind; /* FV_VALUE (possibly no processes), FV_NS, FV_ERR */
	unsigned n;
	struct fake_proc p[FAKE_MAX_PROCS];
};

struct fake_mig {
	bool present;
	unsigned gi;
	char uuid[96];
	struct fake_value mem[FAKE_MAX_STEPS][2]; /* used, total */
};

struct fake_gpu {
	bool present;
	char uuid[96];
	struct fake_value f[FAKE_MAX_STEPS][FF_COUNT];
	struct fake_procs procs[FAKE_MAX_STEPS];
	struct fake_mig mig[FAKE_MAX_MIGS];
};

struct fake_script {
	bool nvml_init_fails;
	bool dcgm_no_hostengine;
	unsigned num_gpus;
	struct fake_gpu gpu[FAKE_MAX_GPUS];
};

/* The script, parsed on first use; exits the process with a message if it is bad. */
const struct fake_script *fake_script(void);

#endif
