// SPDX-License-Identifier: MIT
/*
 * A fake libnvidia-ml.so.1 for the tests: the NVML calls the GPU source makes, answering
 * from the script (fake_script.h). Built by tests/fake_gpu.mk, never installed.
 */
#include <stdio.h>
#include <string.h>

#include "fake_script.h"
#include "gpu_abi.h"

#define EXPORT __attribute__((visibility("default")))

/* Prototypes from gpu_abi.h: the definitions below must match what the collector calls. */
#define X(name, ret, args) EXPORT ret name args;
NVML_FUNCTIONS(X)
#undef X

/* A handle: a physical GPU (slot -1) or a MIG slot of one. */
struct nvmlDevice_st {
	int gpu, slot;
};

static struct nvmlDevice_st handles[FAKE_MAX_GPUS];
static struct nvmlDevice_st mig_handles[FAKE_MAX_GPUS][FAKE_MAX_MIGS];
static bool initialised;

/* Calls so far per GPU and getter: the step the next call answers for. */
enum getter {
	G_ENERGY,
	G_POWER,
	G_UTIL,
	G_ENC,
	G_DEC,
	G_TEMP,
	G_MEM,
	G_SM_CLK,
	G_MEM_CLK,
	G_PROCS,
	G_COUNT
};
static unsigned calls[FAKE_MAX_GPUS][G_COUNT];
static unsigned mig_calls[FAKE_MAX_GPUS][FAKE_MAX_MIGS];

static const struct fake_gpu *gpu_of(nvmlDevice_t d)
{
	const struct fake_script *s = fake_script();

	if (!d || d->gpu < 0 || (unsigned)d->gpu >= s->num_gpus)
		return NULL;
	return &s->gpu[d->gpu];
}

static nvmlReturn_t rc_of(const struct fake_value *v)
{
	switch (v->kind) {
	case FV_VALUE:
		return NVML_SUCCESS;
	case FV_NS:
		return NVML_ERROR_NOT_SUPPORTED;
	case FV_LOST:
		return NVML_ERROR_GPU_IS_LOST;
	default:
		return NVML_ERROR_UNKNOWN; /* ERR, STALE, or not scripted */
	}
}

/* The values of fields a..b of this getter's next step. */
static nvmlReturn_t next(nvmlDevice_t d, enum getter g, enum fake_field a, enum fake_field b,
			 uint64_t *va, uint64_t *vb)
{
	const struct fake_gpu *gpu = gpu_of(d);
	unsigned step;
	nvmlReturn_t rc;

	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	if (!gpu || d->slot >= 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	step = calls[d->gpu][g]++;
	if (step >= FAKE_MAX_STEPS)
		return NVML_ERROR_UNKNOWN;
	rc = rc_of(&gpu->f[step][a]);
	if (rc == NVML_SUCCESS)
		rc = rc_of(&gpu->f[step][b]);
	if (rc == NVML_SUCCESS) {
		*va = gpu->f[step][a].v;
		*vb = gpu->f[step][b].v;
	}
	return rc;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	const struct fake_script *s = fake_script();

	if (s->nvml_init_fails)
		return NVML_ERROR_DRIVER_NOT_LOADED;
	for (int i = 0; i < FAKE_MAX_GPUS; i++) {
		handles[i] = (struct nvmlDevice_st){ i, -1 };
		for (int j = 0; j < FAKE_MAX_MIGS; j++)
			mig_handles[i][j] = (struct nvmlDevice_st){ i, j };
	}
	initialised = true;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	initialised = false;
	return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t rc)
{
	switch (rc) {
	case NVML_SUCCESS:
		return "Success";
	case NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case NVML_ERROR_GPU_IS_LOST:
		return "GPU is lost";
	case NVML_ERROR_NOT_FOUND:
		return "Not Found";
	case NVML_ERROR_DRIVER_NOT_LOADED:
		return "Driver Not Loaded";
	case NVML_ERROR_INSUFFICIENT_SIZE:
		return "Insufficient Size";
	default:
		return "Unknown Error";
	}
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int len)
{
	snprintf(v, len, "fake");
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n)
{
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	*n = fake_script()->num_gpus;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	if (i >= fake_script()->num_gpus)
		return NVML_ERROR_INVALID_ARGUMENT;
	*d = &handles[i];
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int len)
{
	const struct fake_gpu *gpu = gpu_of(d);
	const char *u;

	if (!gpu)
		return NVML_ERROR_INVALID_ARGUMENT;
	u = d->slot < 0 ? gpu->uuid : gpu->mig[d->slot].uuid;
	if (strlen(u) >= len)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	strcpy(uuid, u);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *e)
{
	uint64_t v = 0, unused;
	nvmlReturn_t rc = next(d, G_ENERGY, FF_ENERGY_MJ, FF_ENERGY_MJ, &v, &unused);

	*e = v;
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw)
{
	uint64_t v = 0, unused;
	nvmlReturn_t rc = next(d, G_POWER, FF_POWER_MW, FF_POWER_MW, &v, &unused);

	*mw = (unsigned int)v;
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u)
{
	uint64_t a = 0, b = 0;
	nvmlReturn_t rc = next(d, G_UTIL, FF_SM_UTIL, FF_MEM_UTIL, &a, &b);

	u->gpu = (unsigned int)a;
	u->memory = (unsigned int)b;
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t d, unsigned int *u,
						    unsigned int *period_us)
{
	uint64_t v = 0, unused;
	nvmlReturn_t rc = next(d, G_ENC, FF_ENC_UTIL, FF_ENC_UTIL, &v, &unused);

	*u = (unsigned int)v;
	*period_us = 1000000;
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t d, unsigned int *u,
						    unsigned int *period_us)
{
	uint64_t v = 0, unused;
	nvmlReturn_t rc = next(d, G_DEC, FF_DEC_UTIL, FF_DEC_UTIL, &v, &unused);

	*u = (unsigned int)v;
	*period_us = 1000000;
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *t)
{
	uint64_t v = 0, unused;
	nvmlReturn_t rc;

	if (sensor != NVML_TEMPERATURE_GPU)
		return NVML_ERROR_INVALID_ARGUMENT;
	rc = next(d, G_TEMP, FF_TEMP_C, FF_TEMP_C, &v, &unused);
	*t = (unsigned int)v;
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m)
{
	const struct fake_gpu *gpu = gpu_of(d);
	uint64_t used = 0, total = 0;
	nvmlReturn_t rc;

	if (gpu && d->slot >= 0) {
		unsigned step = mig_calls[d->gpu][d->slot]++;
		const struct fake_value *v = gpu->mig[d->slot].mem[step % FAKE_MAX_STEPS];

		rc = rc_of(&v[0]);
		if (rc == NVML_SUCCESS)
			rc = rc_of(&v[1]);
		used = v[0].v;
		total = v[1].v;
	} else {
		rc = next(d, G_MEM, FF_MEM_USED, FF_MEM_TOTAL, &used, &total);
	}
	if (rc == NVML_SUCCESS)
		*m = (nvmlMemory_t){ .total = total, .free = total - used, .used = used };
	return rc;
}

EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *mhz)
{
	uint64_t v = 0, unused;
	nvmlReturn_t rc;

	if (type == NVML_CLOCK_SM)
		rc = next(d, G_SM_CLK, FF_SM_CLOCK, FF_SM_CLOCK, &v, &unused);
	else if (type == NVML_CLOCK_MEM)
		rc = next(d, G_MEM_CLK, FF_MEM_CLOCK, FF_MEM_CLOCK, &v, &unused);
	else
		return NVML_ERROR_INVALID_ARGUMENT;
	*mhz = (unsigned int)v;
	return rc;
}

static bool mig_enabled(const struct fake_gpu *gpu)
{
	for (int j = 0; j < FAKE_MAX_MIGS; j++)
		if (gpu->mig[j].present)
			return true;
	return false;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *cur, unsigned int *pending)
{
	const struct fake_gpu *gpu = gpu_of(d);

	if (!gpu || d->slot >= 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	*cur = *pending = mig_enabled(gpu) ? NVML_DEVICE_MIG_ENABLE : 0;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t d, unsigned int *n)
{
	const struct fake_gpu *gpu = gpu_of(d);

	if (!gpu || d->slot >= 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	*n = mig_enabled(gpu) ? FAKE_MAX_MIGS : 0;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t d, unsigned int i,
							nvmlDevice_t *mig)
{
	const struct fake_gpu *gpu = gpu_of(d);

	if (!gpu || d->slot >= 0 || i >= FAKE_MAX_MIGS)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (!gpu->mig[i].present)
		return NVML_ERROR_NOT_FOUND;
	*mig = &mig_handles[d->gpu][i];
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t d, unsigned int *id)
{
	const struct fake_gpu *gpu = gpu_of(d);

	if (!gpu || d->slot < 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	*id = gpu->mig[d->slot].gi;
	return NVML_SUCCESS;
}

/* A size query (NULL buffer) does not use up a step; every other answer does. */
EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d,
						    nvmlProcessUtilizationSample_t *buf,
						    unsigned int *count,
						    unsigned long long last_seen)
{
	const struct fake_gpu *gpu = gpu_of(d);
	const struct fake_procs *p;
	unsigned step;

	if (!gpu || d->slot >= 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	step = calls[d->gpu][G_PROCS];
	if (step >= FAKE_MAX_STEPS)
		return NVML_ERROR_UNKNOWN;
	p = &gpu->procs[step];
	if (p->kind == FV_VALUE && p->n && (!buf || *count < p->n)) {
		*count = p->n;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	calls[d->gpu][G_PROCS]++;
	if (p->kind == FV_NS || p->kind == FV_NONE)
		return NVML_ERROR_NOT_SUPPORTED;
	if (p->kind != FV_VALUE)
		return NVML_ERROR_UNKNOWN;
	if (!p->n)
		return NVML_ERROR_NOT_FOUND;
	for (unsigned i = 0; i < p->n; i++) {
		/* Timestamps grow with the step, and are all newer than last_seen. */
		buf[i] = (nvmlProcessUtilizationSample_t){ .pid = p->p[i].pid,
							   .timeStamp = last_seen + 1 + i,
							   .smUtil = p->p[i].sm,
							   .memUtil = p->p[i].mem };
	}
	*count = p->n;
	return NVML_SUCCESS;
}
