// SPDX-License-Identifier: MIT
/*
 * NVML backend of the GPU source: libnvidia-ml.so.1 through dlopen. Also used in DCGM mode
 * for MIG instances and per-process utilisation.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_source_impl.h"
#include "log.h"

#define NVML_SONAME "libnvidia-ml.so.1"

/* Missing from old drivers: the fields they give are then "not supported". */
static bool optional_symbol(const char *name)
{
	static const char *const optional[] = {
		"nvmlSystemGetDriverVersion",
		"nvmlDeviceGetTotalEnergyConsumption",
		"nvmlDeviceGetEncoderUtilization",
		"nvmlDeviceGetDecoderUtilization",
		"nvmlDeviceGetMigMode",
		"nvmlDeviceGetMaxMigDeviceCount",
		"nvmlDeviceGetMigDeviceHandleByIndex",
		"nvmlDeviceGetGpuInstanceId",
		"nvmlDeviceGetProcessUtilization",
	};

	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		if (!strcmp(name, optional[i]))
			return true;
	return false;
}

static const char *nvml_str(const struct nvml_lib *l, nvmlReturn_t rc)
{
	const char *s = l->nvmlErrorString ? l->nvmlErrorString(rc) : NULL;

	return s ? s : "unknown error";
}

int gpu_nvml_load(struct nvml_lib *l, char *why, size_t why_size)
{
	nvmlReturn_t rc;

	memset(l, 0, sizeof(*l));
	l->soname = NVML_SONAME;
	l->dl = dlopen(NVML_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!l->dl) {
		const char *e = dlerror();

		snprintf(why, why_size, "%s", e ? e : NVML_SONAME ": cannot be loaded");
		return -ENOENT;
	}
#define X(name, ret, args)                                                                        \
	*(void **)&l->name = dlsym(l->dl, #name);                                                 \
	if (!l->name && !optional_symbol(#name)) {                                                \
		snprintf(why, why_size, "%s: no symbol %s (driver too old)", NVML_SONAME, #name); \
		goto fail;                                                                        \
	}
	NVML_FUNCTIONS(X)
#undef X
	rc = l->nvmlInit_v2();
	if (rc != NVML_SUCCESS) {
		snprintf(why, why_size, "%s: nvmlInit: %s%s", NVML_SONAME, nvml_str(l, rc),
			 rc == NVML_ERROR_DRIVER_NOT_LOADED ? " (is the nvidia driver loaded?)" :
							      "");
		goto fail;
	}
	return 0;
fail:
	dlclose(l->dl);
	memset(l, 0, sizeof(*l));
	return -ENODEV;
}

void gpu_nvml_unload(struct nvml_lib *l)
{
	if (!l->dl)
		return;
	l->nvmlShutdown();
	dlclose(l->dl);
	memset(l, 0, sizeof(*l));
}

static bool is_lost(nvmlReturn_t rc)
{
	return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_GPU_NOT_FOUND;
}

int gpu_nvml_add_migs(struct gpu_source *g, size_t parent)
{
	struct nvml_lib *l = &g->nvml;
	struct gpu_dev *p = &g->dev[parent];
	unsigned int cur = 0, pending = 0, max = 0;

	if (!l->nvmlDeviceGetMigMode || !l->nvmlDeviceGetMaxMigDeviceCount ||
	    !l->nvmlDeviceGetMigDeviceHandleByIndex || !p->nvml)
		return 0;
	if (l->nvmlDeviceGetMigMode(p->nvml, &cur, &pending) != NVML_SUCCESS ||
	    cur != NVML_DEVICE_MIG_ENABLE)
		return 0;
	if (l->nvmlDeviceGetMaxMigDeviceCount(p->nvml, &max) != NVML_SUCCESS)
		return 0;
	for (unsigned int j = 0; j < max; j++) {
		struct gpu_dev *d;
		nvmlDevice_t h;
		unsigned int gi = j;

		if (l->nvmlDeviceGetMigDeviceHandleByIndex(p->nvml, j, &h) != NVML_SUCCESS)
			continue; /* NOT_FOUND: no instance in this slot */
		if (g->n == GPU_MAX_DEVICES) {
			log_info("gpu: over %d GPUs and MIG instances; the rest are left out",
				 GPU_MAX_DEVICES);
			return 0;
		}
		d = &g->dev[g->n];
		memset(d, 0, sizeof(*d));
		d->index = p->index;
		d->parent = (int)parent;
		d->nvml = h;
		if (l->nvmlDeviceGetGpuInstanceId &&
		    l->nvmlDeviceGetGpuInstanceId(h, &gi) != NVML_SUCCESS)
			gi = j;
		d->mig_instance = (int32_t)gi;
		if (l->nvmlDeviceGetUUID(h, d->uuid, sizeof(d->uuid)) != NVML_SUCCESS) {
			char parent_uuid[GPU_UUID_MAX];

			memcpy(parent_uuid, p->uuid, sizeof(parent_uuid));
			snprintf(d->uuid, sizeof(d->uuid), "%.80s/mig%u", parent_uuid, gi);
		}
		d->uuid[sizeof(d->uuid) - 1] = '\0';
		g->n++;
	}
	return 0;
}

int gpu_nvml_enumerate(struct gpu_source *g)
{
	struct nvml_lib *l = &g->nvml;
	unsigned int count = 0;
	nvmlReturn_t rc = l->nvmlDeviceGetCount_v2(&count);

	if (rc != NVML_SUCCESS) {
		log_error("gpu nvml: nvmlDeviceGetCount: %s", nvml_str(l, rc));
		return -ENODEV;
	}
	for (unsigned int i = 0; i < count && g->n < GPU_MAX_DEVICES; i++) {
		struct gpu_dev *d = &g->dev[g->n];
		nvmlDevice_t h;

		rc = l->nvmlDeviceGetHandleByIndex_v2(i, &h);
		if (rc != NVML_SUCCESS) {
			log_info("gpu nvml: GPU %u left out: %s", i, nvml_str(l, rc));
			continue;
		}
		memset(d, 0, sizeof(*d));
		d->index = i;
		d->mig_instance = -1;
		d->parent = -1;
		d->nvml = h;
		rc = l->nvmlDeviceGetUUID(h, d->uuid, sizeof(d->uuid));
		if (rc != NVML_SUCCESS) {
			log_info("gpu nvml: GPU %u left out: no UUID: %s", i, nvml_str(l, rc));
			continue;
		}
		d->uuid[sizeof(d->uuid) - 1] = '\0';
		g->n++;
		gpu_nvml_add_migs(g, g->n - 1);
	}
	return 0;
}

void gpu_nvml_attach(struct gpu_source *g, struct gpu_dev *d)
{
	struct nvml_lib *l = &g->nvml;
	unsigned int count = 0;

	if (!g->have_nvml || l->nvmlDeviceGetCount_v2(&count) != NVML_SUCCESS)
		return;
	for (unsigned int i = 0; i < count; i++) {
		char uuid[GPU_UUID_MAX];
		nvmlDevice_t h;

		if (l->nvmlDeviceGetHandleByIndex_v2(i, &h) != NVML_SUCCESS ||
		    l->nvmlDeviceGetUUID(h, uuid, sizeof(uuid)) != NVML_SUCCESS)
			continue;
		uuid[sizeof(uuid) - 1] = '\0';
		if (!strcmp(uuid, d->uuid)) {
			d->nvml = h;
			return;
		}
	}
}

/* Records one call's outcome for the fields it fills; true when it worked. */
static bool got(const struct nvml_lib *l, struct gpu_reading *r, nvmlReturn_t rc, const char *call,
		enum gpu_metric a, enum gpu_metric b)
{
	enum gpu_metric m[2] = { a, b };

	if (rc == NVML_SUCCESS) {
		for (int i = 0; i < 2; i++)
			r->valid |= 1u << m[i];
		return true;
	}
	if (is_lost(rc)) {
		r->lost = true;
		snprintf(r->lost_why, sizeof(r->lost_why), "%s: %s", call, nvml_str(l, rc));
	}
	for (int i = 0; i < 2; i++)
		snprintf(r->why[m[i]], sizeof(r->why[m[i]]), "%s: %s", call, nvml_str(l, rc));
	return false;
}

void gpu_nvml_read(struct gpu_source *g, struct gpu_dev *d, struct gpu_reading *r)
{
	struct nvml_lib *l = &g->nvml;
	nvmlDevice_t h = d->nvml;
	nvmlMemory_t mem;
	nvmlUtilization_t u;
	unsigned long long e;
	unsigned int x, period;
	nvmlReturn_t rc;

	memset(r, 0, sizeof(*r));
	if (d->mig_instance < 0) {
		rc = l->nvmlDeviceGetTotalEnergyConsumption ?
			     l->nvmlDeviceGetTotalEnergyConsumption(h, &e) :
			     NVML_ERROR_NOT_SUPPORTED;
		if (got(l, r, rc, "nvmlDeviceGetTotalEnergyConsumption", GPU_M_ENERGY_UJ,
			GPU_M_ENERGY_UJ))
			r->v[GPU_M_ENERGY_UJ] = e;
		if (r->lost)
			return;
		rc = l->nvmlDeviceGetPowerUsage(h, &x);
		if (got(l, r, rc, "nvmlDeviceGetPowerUsage", GPU_M_POWER_MW, GPU_M_POWER_MW))
			r->v[GPU_M_POWER_MW] = x;
		rc = l->nvmlDeviceGetUtilizationRates(h, &u);
		if (got(l, r, rc, "nvmlDeviceGetUtilizationRates", GPU_M_SM_UTIL, GPU_M_MEM_UTIL)) {
			r->v[GPU_M_SM_UTIL] = u.gpu;
			r->v[GPU_M_MEM_UTIL] = u.memory;
		}
		rc = l->nvmlDeviceGetEncoderUtilization ?
			     l->nvmlDeviceGetEncoderUtilization(h, &x, &period) :
			     NVML_ERROR_NOT_SUPPORTED;
		if (got(l, r, rc, "nvmlDeviceGetEncoderUtilization", GPU_M_ENC_UTIL,
			GPU_M_ENC_UTIL))
			r->v[GPU_M_ENC_UTIL] = x;
		rc = l->nvmlDeviceGetDecoderUtilization ?
			     l->nvmlDeviceGetDecoderUtilization(h, &x, &period) :
			     NVML_ERROR_NOT_SUPPORTED;
		if (got(l, r, rc, "nvmlDeviceGetDecoderUtilization", GPU_M_DEC_UTIL,
			GPU_M_DEC_UTIL))
			r->v[GPU_M_DEC_UTIL] = x;
		rc = l->nvmlDeviceGetTemperature(h, NVML_TEMPERATURE_GPU, &x);
		if (got(l, r, rc, "nvmlDeviceGetTemperature", GPU_M_TEMPERATURE_C,
			GPU_M_TEMPERATURE_C))
			r->v[GPU_M_TEMPERATURE_C] = x;
		rc = l->nvmlDeviceGetClockInfo(h, NVML_CLOCK_SM, &x);
		if (got(l, r, rc, "nvmlDeviceGetClockInfo(SM)", GPU_M_SM_CLOCK_MHZ,
			GPU_M_SM_CLOCK_MHZ))
			r->v[GPU_M_SM_CLOCK_MHZ] = x;
		rc = l->nvmlDeviceGetClockInfo(h, NVML_CLOCK_MEM, &x);
		if (got(l, r, rc, "nvmlDeviceGetClockInfo(MEM)", GPU_M_MEM_CLOCK_MHZ,
			GPU_M_MEM_CLOCK_MHZ))
			r->v[GPU_M_MEM_CLOCK_MHZ] = x;
	}
	/* A MIG instance has its own memory; the rest is its physical GPU's. */
	rc = l->nvmlDeviceGetMemoryInfo(h, &mem);
	if (got(l, r, rc, "nvmlDeviceGetMemoryInfo", GPU_M_MEMORY_USED_BYTES,
		GPU_M_MEMORY_TOTAL_BYTES)) {
		r->v[GPU_M_MEMORY_USED_BYTES] = mem.used;
		r->v[GPU_M_MEMORY_TOTAL_BYTES] = mem.total;
	}
}

int gpu_nvml_procs(struct gpu_source *g, struct gpu_dev *d, size_t *n, char *why, size_t why_size)
{
	struct nvml_lib *l = &g->nvml;
	nvmlProcessUtilizationSample_t *buf = NULL;
	unsigned int count = 0;
	nvmlReturn_t rc;
	int err = 0;

	*n = 0;
	if (!g->have_nvml || !d->nvml || !l->nvmlDeviceGetProcessUtilization) {
		snprintf(why, why_size, "%s",
			 g->have_nvml ? "nvmlDeviceGetProcessUtilization: "
					"not in this driver" :
					"NVML is not loaded");
		return -EOPNOTSUPP;
	}
	/* Asks for the size first; samples arriving in between make it grow: retry once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = l->nvmlDeviceGetProcessUtilization(d->nvml, NULL, &count, d->procs_seen_us);
		if (rc == NVML_SUCCESS || rc == NVML_ERROR_NOT_FOUND)
			return 0; /* nothing ran since the last boundary */
		if (rc != NVML_ERROR_INSUFFICIENT_SIZE)
			break;
		count += 8;
		free(buf);
		buf = calloc(count, sizeof(*buf));
		if (!buf) {
			snprintf(why, why_size, "out of memory");
			return -ENOMEM;
		}
		rc = l->nvmlDeviceGetProcessUtilization(d->nvml, buf, &count, d->procs_seen_us);
		if (rc != NVML_ERROR_INSUFFICIENT_SIZE)
			break;
	}
	if (rc == NVML_ERROR_NOT_FOUND) {
		err = 0;
		goto cleanup;
	}
	if (rc != NVML_SUCCESS) {
		snprintf(why, why_size, "nvmlDeviceGetProcessUtilization: %s", nvml_str(l, rc));
		err = rc == NVML_ERROR_NOT_SUPPORTED ? -EOPNOTSUPP : is_lost(rc) ? -ENODEV : -EIO;
		goto cleanup;
	}
	if (count > d->proc_cap) {
		struct gpu_proc_sample *s = realloc(d->proc_buf, count * sizeof(*s));
		struct gpu_proc_energy *e = realloc(d->shares, count * sizeof(*e));

		if (s)
			d->proc_buf = s;
		if (e)
			d->shares = e;
		if (!s || !e) {
			snprintf(why, why_size, "out of memory");
			err = -ENOMEM;
			goto cleanup;
		}
		d->proc_cap = count;
	}
	for (unsigned int i = 0; i < count; i++) {
		d->proc_buf[i] = (struct gpu_proc_sample){ .pid = buf[i].pid,
							   .sm_util = buf[i].smUtil,
							   .mem_util = buf[i].memUtil };
		if (buf[i].timeStamp > d->procs_seen_us)
			d->procs_seen_us = buf[i].timeStamp;
	}
	*n = count;
cleanup:
	free(buf);
	return err;
}
