/* SPDX-License-Identifier: MIT */
/*
 * Inside of gpu_source: what the NVML and DCGM backends (gpu_nvml.c, gpu_dcgm.c) share
 * with the accounting in gpu_source.c. Not for callers.
 */
#ifndef COLLECTOR_GPU_SOURCE_IMPL_H
#define COLLECTOR_GPU_SOURCE_IMPL_H

#include "gpu_abi.h"
#include "gpu_source.h"

#define GPU_WHY_MAX 256
#define GPU_MAX_DEVICES 64 /* physical GPUs and MIG instances together */

/* One boundary reading of one device. v[GPU_M_ENERGY_UJ] holds the counter in mJ. */
struct gpu_reading {
	uint32_t valid;
	uint64_t v[GPU_M_COUNT];
	char why[GPU_M_COUNT][GPU_WHY_MAX]; /* why a field is missing */
	bool lost;
	char lost_why[GPU_WHY_MAX];
};

struct nvml_lib {
	void *dl;
	const char *soname;
#define X(name, ret, args) ret(*name) args;
	NVML_FUNCTIONS(X)
#undef X
};

struct dcgm_lib {
	void *dl;
	const char *soname;
	dcgmHandle_t handle;
	dcgmFieldGrp_t field_group;
	bool connected, watching;
#define X(name, ret, args) ret(*name) args;
	DCGM_FUNCTIONS(X)
#undef X
};

struct gpu_dev {
	uint32_t index;
	int32_t mig_instance; /* -1: physical */
	int parent; /* MIG: the physical device's slot; -1 else */
	char uuid[GPU_UUID_MAX];
	nvmlDevice_t nvml; /* NULL where NVML is not loaded */
	unsigned int dcgm_id;
	bool has_counter, has_power; /* decided at the first reading */
	bool procs_ok; /* per-process utilisation works */
	bool lost;
	uint32_t said; /* 1 << metric: its absence has been said */
	bool said_procs;
	struct gpu_reading last;
	bool have_last;
	unsigned long long procs_seen_us; /* NVML's lastSeenTimeStamp */
	int64_t dcgm_ts[GPU_M_COUNT]; /* DCGM: the newest timestamp seen per field */
	struct gpu_proc_sample *proc_buf;
	size_t proc_cap;
	struct gpu_proc_energy *shares;
};

struct gpu_source {
	enum gpu_kind kind; /* NVML or DCGM */
	struct nvml_lib nvml; /* loaded in both modes when possible */
	bool have_nvml;
	struct dcgm_lib dcgm;
	size_t n;
	struct gpu_dev dev[GPU_MAX_DEVICES];
	struct gpu_sample rows[GPU_MAX_DEVICES];
	uint64_t t_last_ns;
	bool total_valid;
	uint64_t total_uj;
};

/* NVML: loads and initialises the library; why says what failed. */
int gpu_nvml_load(struct nvml_lib *l, char *why, size_t why_size);
void gpu_nvml_unload(struct nvml_lib *l);
/* Adds every NVML GPU (and its MIG instances) to g->dev. */
int gpu_nvml_enumerate(struct gpu_source *g);
/* The NVML device with this UUID (and its MIG instances), for DCGM mode. */
void gpu_nvml_attach(struct gpu_source *g, struct gpu_dev *d);
int gpu_nvml_add_migs(struct gpu_source *g, size_t parent);
void gpu_nvml_read(struct gpu_source *g, struct gpu_dev *d, struct gpu_reading *r);
/* Per-process samples since the last call: 0, -EOPNOTSUPP, -ENODEV (lost) or -EIO. */
int gpu_nvml_procs(struct gpu_source *g, struct gpu_dev *d, size_t *n, char *why, size_t why_size);

int gpu_dcgm_load(struct dcgm_lib *l, const char *host, char *why, size_t why_size);
void gpu_dcgm_unload(struct dcgm_lib *l);
int gpu_dcgm_enumerate(struct gpu_source *g);
void gpu_dcgm_read(struct gpu_source *g, struct gpu_dev *d, struct gpu_reading *r);

#endif
