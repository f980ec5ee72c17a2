/* SPDX-License-Identifier: MIT */
/*
 * The GPU source (docs/gpu.md): per GPU, per interval, energy and telemetry from DCGM or
 * NVML, both loaded at run time with dlopen so the collector runs on hosts without them.
 *
 *   auto  DCGM when its library loads and nv-hostengine answers, else NVML, else none
 *   dcgm  DCGM for device telemetry (NVML, when it loads, for MIG instances and
 *         per-process utilisation, which DCGM only gives per watched pid)
 *   nvml  libnvidia-ml.so.1
 *   none  no GPU source
 *
 * gpu_source__sample() is called at each interval boundary (right after the CPU energy is
 * read); gpu_source__samples() then returns that interval's rows. A field the driver
 * cannot give is marked missing (an empty cell) and said once per GPU and field; a lost
 * GPU is said once and its later rows have only missing fields.
 */
#ifndef COLLECTOR_GPU_SOURCE_H
#define COLLECTOR_GPU_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_calc.h"

enum gpu_kind { GPU_KIND_AUTO, GPU_KIND_NVML, GPU_KIND_DCGM, GPU_KIND_NONE };

/* What a row holds; bit i of gpu_sample.valid says whether v[i] was measured. */
enum gpu_metric {
	GPU_M_ENERGY_UJ,
	GPU_M_POWER_MW,
	GPU_M_SM_UTIL,
	GPU_M_MEM_UTIL,
	GPU_M_ENC_UTIL,
	GPU_M_DEC_UTIL,
	GPU_M_TEMPERATURE_C,
	GPU_M_MEMORY_USED_BYTES,
	GPU_M_MEMORY_TOTAL_BYTES,
	GPU_M_SM_CLOCK_MHZ,
	GPU_M_MEM_CLOCK_MHZ,
	GPU_M_COUNT,
};

enum gpu_energy_method {
	GPU_ENERGY_COUNTER, /* the driver's cumulative energy counter */
	GPU_ENERGY_INTEGRATED, /* power at both boundaries, trapezoid */
};

#define GPU_UUID_MAX 96

/* One GPU (or MIG instance) over one interval. */
struct gpu_sample {
	uint32_t index; /* the physical GPU's NVML index (DCGM: its GPU id) */
	int32_t mig_instance; /* the MIG GPU-instance id; -1 for a physical GPU */
	char uuid[GPU_UUID_MAX];
	uint64_t t_start_ns, t_end_ns; /* CLOCK_MONOTONIC, the interval's */
	uint32_t valid; /* 1 << enum gpu_metric */
	uint64_t v[GPU_M_COUNT];
	enum gpu_energy_method method; /* when energy is valid */
	bool lost; /* the GPU is gone: nothing is measured any more */
	/* Per-process shares of energy_uj, sorted by pid; procs_valid is false when this
	 * GPU gives no per-process utilisation (or energy is missing). */
	bool procs_valid;
	size_t num_procs;
	const struct gpu_proc_energy *procs;
};

struct gpu_source_opts {
	const char *dcgm_host; /* NULL: "127.0.0.1" */
};

struct gpu_source;

/* "auto", "nvml", "dcgm", "none": 0 or -EINVAL. */
/* By enum gpu_kind, NULL-terminated (the --gpu choices). */
extern const char *const gpu_kind_names[];
const char *gpu_kind_name(enum gpu_kind kind);
/* The CSV column name of a metric ("energy_uj", "power_mw", ...). */
const char *gpu_metric_name(enum gpu_metric m);

/*
 * Opens the source of this kind and prints the one start-up line that says which backend
 * (and why the others were not taken). *out is NULL when there is no GPU source (none, or
 * auto found nothing): that is not an error. An explicit nvml or dcgm that cannot open is
 * an error (-ENODEV or -errno), said once.
 */
int gpu_source__open(enum gpu_kind kind, const struct gpu_source_opts *opts,
		     struct gpu_source **out);
/* The boundary reading before the first interval (at the collector's first energy read). */
int gpu_source__begin(struct gpu_source *g, uint64_t t_ns);
/* Ends an interval: reads every GPU at t_end_ns and computes the interval's rows. */
int gpu_source__sample(struct gpu_source *g, uint64_t t_start_ns, uint64_t t_end_ns);
/* The last interval's rows (valid until the next sample or close). Returns their count. */
size_t gpu_source__samples(const struct gpu_source *g, const struct gpu_sample **out);
/*
 * The sum of the last interval's physical GPU energies. false (unknown) when a GPU that
 * has an energy method missed it in that interval; GPUs without any (neither counter nor
 * power) and GPUs lost in an earlier interval are left out, as the start-up and loss
 * lines say.
 */
bool gpu_source__total_uj(const struct gpu_source *g, uint64_t *energy_uj);
/* "nvml" or "dcgm". */
const char *gpu_source__name(const struct gpu_source *g);
void gpu_source__close(struct gpu_source *g);

#endif
