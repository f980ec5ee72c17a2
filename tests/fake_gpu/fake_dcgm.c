// SPDX-License-Identifier: MIT
/*
 * A fake libdcgm.so.4 for the tests: the DCGM calls the GPU source makes, answering from
 * the script (fake_script.h) as nv-hostengine would. Built by tests/fake_gpu.mk.
 */
#include <string.h>

#include "fake_script.h"
#include "gpu_abi.h"

#define EXPORT __attribute__((visibility("default")))

/* Prototypes from gpu_abi.h: the definitions below must match what the collector calls. */
#define X(name, ret, args) EXPORT ret name args;
DCGM_FUNCTIONS(X)
#undef X

static bool initialised, connected, watched;
static unsigned steps[FAKE_MAX_GPUS]; /* value fetches so far per GPU */
static int64_t last_ts[FAKE_MAX_GPUS][FF_COUNT]; /* for STALE */
static uint64_t last_value[FAKE_MAX_GPUS][FF_COUNT];

EXPORT dcgmReturn_t dcgmInit(void)
{
	initialised = true;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmShutdown(void)
{
	initialised = false;
	return DCGM_ST_OK;
}

EXPORT const char *errorString(dcgmReturn_t rc)
{
	switch (rc) {
	case DCGM_ST_OK:
		return "Success";
	case DCGM_ST_NOT_SUPPORTED:
		return "This request is not supported";
	case DCGM_ST_NO_DATA:
		return "No data is available";
	case DCGM_ST_GPU_IS_LOST:
		return "GPU is lost";
	case DCGM_ST_CONNECTION_NOT_VALID:
		return "Host engine connection invalid/disconnected";
	default:
		return "Unknown error";
	}
}

EXPORT dcgmReturn_t dcgmConnect(const char *host, dcgmHandle_t *h)
{
	if (!initialised)
		return -10; /* DCGM_ST_UNINITIALIZED */
	if (fake_script()->dcgm_no_hostengine)
		return DCGM_ST_CONNECTION_NOT_VALID;
	connected = true;
	*h = 42;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmDisconnect(dcgmHandle_t h)
{
	connected = false;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmGetAllSupportedDevices(dcgmHandle_t h, unsigned int *ids, int *count)
{
	const struct fake_script *s = fake_script();

	if (!connected || h != 42)
		return DCGM_ST_CONNECTION_NOT_VALID;
	for (unsigned i = 0; i < s->num_gpus; i++)
		ids[i] = i;
	*count = (int)s->num_gpus;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmFieldGroupCreate(dcgmHandle_t h, int n, unsigned short *ids,
					 const char *name, dcgmFieldGrp_t *out)
{
	if (!connected || n <= 0)
		return DCGM_ST_CONNECTION_NOT_VALID;
	*out = 7;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmFieldGroupDestroy(dcgmHandle_t h, dcgmFieldGrp_t g)
{
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmWatchFields(dcgmHandle_t h, dcgmGpuGrp_t group, dcgmFieldGrp_t fg,
				    long long freq_us, double keep_s, int keep_samples)
{
	if (!connected || group != DCGM_GROUP_ALL_GPUS || fg != 7 || freq_us <= 0)
		return -1; /* DCGM_ST_BADPARAM */
	watched = true;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmUnwatchFields(dcgmHandle_t h, dcgmGpuGrp_t group, dcgmFieldGrp_t fg)
{
	watched = false;
	return DCGM_ST_OK;
}

EXPORT dcgmReturn_t dcgmUpdateAllFields(dcgmHandle_t h, int wait)
{
	return connected ? DCGM_ST_OK : DCGM_ST_CONNECTION_NOT_VALID;
}

static int field_of(unsigned short id)
{
	switch (id) {
	case DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION:
		return FF_ENERGY_MJ;
	case DCGM_FI_DEV_POWER_USAGE:
		return FF_POWER_MW;
	case DCGM_FI_DEV_GPU_UTIL:
		return FF_SM_UTIL;
	case DCGM_FI_DEV_MEM_COPY_UTIL:
		return FF_MEM_UTIL;
	case DCGM_FI_DEV_ENC_UTIL:
		return FF_ENC_UTIL;
	case DCGM_FI_DEV_DEC_UTIL:
		return FF_DEC_UTIL;
	case DCGM_FI_DEV_GPU_TEMP:
		return FF_TEMP_C;
	case DCGM_FI_DEV_FB_USED:
		return FF_MEM_USED;
	case DCGM_FI_DEV_FB_TOTAL:
		return FF_MEM_TOTAL;
	case DCGM_FI_DEV_SM_CLOCK:
		return FF_SM_CLOCK;
	case DCGM_FI_DEV_MEM_CLOCK:
		return FF_MEM_CLOCK;
	default:
		return -1;
	}
}

/* One value of a fetch: a UUID fetch does not use up a step, value fetches do. */
static void fill(unsigned gpu, unsigned step, unsigned short id, dcgmFieldValue_v1 *v)
{
	const struct fake_gpu *g = &fake_script()->gpu[gpu];
	int f = field_of(id);
	const struct fake_value *fv;
	bool dbl = id == DCGM_FI_DEV_POWER_USAGE;
	/* Scripted memory is in bytes; DCGM answers MiB. */
	uint64_t scale = (f == FF_MEM_USED || f == FF_MEM_TOTAL) ? 1 << 20 : 1;

	memset(v, 0, sizeof(*v));
	v->version = 0x01000000 | sizeof(*v);
	v->fieldId = id;
	if (id == DCGM_FI_DEV_UUID) {
		v->fieldType = DCGM_FT_STRING;
		strncpy(v->value.str, g->uuid, sizeof(v->value.str) - 1);
		v->ts = 1;
		return;
	}
	v->fieldType = dbl ? DCGM_FT_DOUBLE : DCGM_FT_INT64;
	if (f < 0 || step >= FAKE_MAX_STEPS) {
		v->status = -13; /* DCGM_ST_UNKNOWN_FIELD */
		return;
	}
	fv = &g->f[step][f];
	v->ts = 1000000 * (int64_t)(step + 1);
	switch (fv->kind) {
	case FV_VALUE:
		if (dbl)
			v->value.dbl = (double)fv->v / 1000.0; /* mW scripted, W answered */
		else
			v->value.i64 = (int64_t)(fv->v / scale);
		last_ts[gpu][f] = v->ts;
		last_value[gpu][f] = fv->v;
		break;
	case FV_NS:
		if (dbl)
			v->value.dbl = DCGM_FP64_NOT_SUPPORTED;
		else
			v->value.i64 = DCGM_INT64_NOT_SUPPORTED;
		break;
	case FV_LOST:
		v->status = DCGM_ST_GPU_IS_LOST;
		break;
	case FV_STALE:
		/* The previous value again, with its old timestamp. */
		v->ts = last_ts[gpu][f];
		if (dbl)
			v->value.dbl = (double)last_value[gpu][f] / 1000.0;
		else
			v->value.i64 = (int64_t)(last_value[gpu][f] / scale);
		break;
	default:
		v->status = DCGM_ST_NO_DATA;
		break;
	}
}

EXPORT dcgmReturn_t dcgmGetLatestValuesForFields(dcgmHandle_t h, int gpu, unsigned short *ids,
						 unsigned int n, dcgmFieldValue_v1 *values)
{
	bool uuid_only = n == 1 && ids[0] == DCGM_FI_DEV_UUID;
	unsigned step;

	if (!connected)
		return DCGM_ST_CONNECTION_NOT_VALID;
	if (!watched)
		return DCGM_ST_NOT_WATCHED;
	if (gpu < 0 || (unsigned)gpu >= fake_script()->num_gpus)
		return -1; /* DCGM_ST_BADPARAM */
	step = uuid_only ? 0 : steps[gpu]++;
	for (unsigned i = 0; i < n; i++)
		fill((unsigned)gpu, step, ids[i], &values[i]);
	return DCGM_ST_OK;
}
