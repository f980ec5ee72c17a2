// SPDX-License-Identifier: MIT
/*
 * DCGM backend of the GPU source: libdcgm through dlopen, connected to nv-hostengine, one
 * field group watched on all GPUs, values fetched after a forced update at each boundary.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpu_source_impl.h"
#include "log.h"

static const char *const dcgm_sonames[] = { "libdcgm.so.4", "libdcgm.so.3", "libdcgm.so" };

/* The watched fields: UUID first, then one per metric (in enum gpu_metric order). */
static unsigned short fields[] = {
	DCGM_FI_DEV_UUID,	   DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION,
	DCGM_FI_DEV_POWER_USAGE,   DCGM_FI_DEV_GPU_UTIL,
	DCGM_FI_DEV_MEM_COPY_UTIL, DCGM_FI_DEV_ENC_UTIL,
	DCGM_FI_DEV_DEC_UTIL,	   DCGM_FI_DEV_GPU_TEMP,
	DCGM_FI_DEV_FB_USED,	   DCGM_FI_DEV_FB_TOTAL,
	DCGM_FI_DEV_SM_CLOCK,	   DCGM_FI_DEV_MEM_CLOCK,
};
#define NUM_FIELDS (sizeof(fields) / sizeof(fields[0]))
_Static_assert(NUM_FIELDS == 1 + GPU_M_COUNT, "one field per metric");

static const char *dcgm_str(const struct dcgm_lib *l, dcgmReturn_t rc)
{
	const char *s = l->errorString ? l->errorString(rc) : NULL;

	return s ? s : "unknown error";
}

int gpu_dcgm_load(struct dcgm_lib *l, const char *host, char *why, size_t why_size)
{
	dcgmReturn_t rc;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < sizeof(dcgm_sonames) / sizeof(dcgm_sonames[0]) && !l->dl; i++) {
		l->dl = dlopen(dcgm_sonames[i], RTLD_NOW | RTLD_LOCAL);
		l->soname = dcgm_sonames[i];
		if (!l->dl && i == 0) {
			const char *e = dlerror(); /* the newest DCGM's reason is the one to say */

			snprintf(why, why_size, "%s", e ? e : "libdcgm.so.4: cannot be loaded");
		}
	}
	if (!l->dl)
		return -ENOENT;
#define X(name, ret, args)                                                                    \
	*(void **)&l->name = dlsym(l->dl, #name);                                             \
	if (!l->name) {                                                                       \
		snprintf(why, why_size, "%s: no symbol %s (DCGM too old)", l->soname, #name); \
		goto fail;                                                                    \
	}
	DCGM_FUNCTIONS(X)
#undef X
	rc = l->dcgmInit();
	if (rc != DCGM_ST_OK) {
		snprintf(why, why_size, "%s: dcgmInit: %s", l->soname, dcgm_str(l, rc));
		goto fail;
	}
	rc = l->dcgmConnect(host, &l->handle);
	if (rc != DCGM_ST_OK) {
		snprintf(why, why_size, "%s: no nv-hostengine at %s: %s", l->soname, host,
			 dcgm_str(l, rc));
		l->dcgmShutdown();
		goto fail;
	}
	l->connected = true;
	return 0;
fail:
	dlclose(l->dl);
	memset(l, 0, sizeof(*l));
	return -ENODEV;
}

void gpu_dcgm_unload(struct dcgm_lib *l)
{
	if (!l->dl)
		return;
	if (l->watching) {
		l->dcgmUnwatchFields(l->handle, DCGM_GROUP_ALL_GPUS, l->field_group);
		l->dcgmFieldGroupDestroy(l->handle, l->field_group);
	}
	if (l->connected)
		l->dcgmDisconnect(l->handle);
	l->dcgmShutdown();
	dlclose(l->dl);
	memset(l, 0, sizeof(*l));
}

int gpu_dcgm_enumerate(struct gpu_source *g)
{
	struct dcgm_lib *l = &g->dcgm;
	unsigned int ids[DCGM_MAX_NUM_DEVICES * 2] = { 0 };
	dcgmFieldValue_v1 v;
	int count = 0;
	dcgmReturn_t rc;

	rc = l->dcgmGetAllSupportedDevices(l->handle, ids, &count);
	if (rc != DCGM_ST_OK || count < 0 || count > DCGM_MAX_NUM_DEVICES) {
		log_error("gpu dcgm: dcgmGetAllSupportedDevices: %s",
			  rc != DCGM_ST_OK ? dcgm_str(l, rc) : "bad GPU count");
		return -ENODEV;
	}
	rc = l->dcgmFieldGroupCreate(l->handle, (int)NUM_FIELDS, fields, "http_energy",
				     &l->field_group);
	if (rc == DCGM_ST_OK) {
		/* Kept 10 s, 2 samples; each boundary forces an update anyway. */
		rc = l->dcgmWatchFields(l->handle, DCGM_GROUP_ALL_GPUS, l->field_group, 100000,
					10.0, 2);
		if (rc != DCGM_ST_OK)
			l->dcgmFieldGroupDestroy(l->handle, l->field_group);
	}
	if (rc != DCGM_ST_OK) {
		log_error("gpu dcgm: watching the fields: %s", dcgm_str(l, rc));
		return -ENODEV;
	}
	l->watching = true;
	l->dcgmUpdateAllFields(l->handle, 1);
	for (int i = 0; i < count && g->n < GPU_MAX_DEVICES; i++) {
		struct gpu_dev *d = &g->dev[g->n];

		memset(d, 0, sizeof(*d));
		memset(&v, 0, sizeof(v));
		d->index = ids[i];
		d->dcgm_id = ids[i];
		d->mig_instance = -1;
		d->parent = -1;
		rc = l->dcgmGetLatestValuesForFields(l->handle, (int)ids[i], fields, 1, &v);
		if (rc != DCGM_ST_OK || v.status != DCGM_ST_OK || v.fieldType != DCGM_FT_STRING) {
			log_info("gpu dcgm: GPU %u left out: no UUID: %s", ids[i],
				 dcgm_str(l, rc != DCGM_ST_OK ? rc : v.status));
			continue;
		}
		snprintf(d->uuid, sizeof(d->uuid), "%.*s", (int)sizeof(d->uuid) - 1, v.value.str);
		g->n++;
		gpu_nvml_attach(g, d);
		gpu_nvml_add_migs(g, g->n - 1);
	}
	return 0;
}

/* Converts one value into r->v[m]: false (with r->why[m]) when it is missing. */
static bool convert(const struct dcgm_lib *l, struct gpu_dev *d, const dcgmFieldValue_v1 *v,
		    enum gpu_metric m, struct gpu_reading *r)
{
	char *why = r->why[m];
	size_t wsz = sizeof(r->why[m]);
	uint64_t out;

	if (v->status != DCGM_ST_OK) {
		snprintf(why, wsz, "field %u: %s", v->fieldId, dcgm_str(l, v->status));
		if (v->status == DCGM_ST_GPU_IS_LOST && !r->lost) {
			r->lost = true;
			snprintf(r->lost_why, sizeof(r->lost_why), "%s", why);
		}
		return false;
	}
	if (v->fieldType == DCGM_FT_DOUBLE) {
		if (!(v->value.dbl < DCGM_FP64_BLANK) || v->value.dbl < 0) {
			snprintf(why, wsz, "field %u: %s", v->fieldId,
				 v->value.dbl == DCGM_FP64_NOT_SUPPORTED ? "Not Supported" :
									   "blank");
			return false;
		}
		/* W to mW (power is the only double field here). */
		out = (uint64_t)llround(v->value.dbl * 1000.0);
	} else if (v->fieldType == DCGM_FT_INT64) {
		if (v->value.i64 >= DCGM_INT64_BLANK || v->value.i64 < 0) {
			snprintf(why, wsz, "field %u: %s", v->fieldId,
				 v->value.i64 == DCGM_INT64_NOT_SUPPORTED ? "Not Supported" :
									    "blank");
			return false;
		}
		out = (uint64_t)v->value.i64;
		if (m == GPU_M_MEMORY_USED_BYTES || m == GPU_M_MEMORY_TOTAL_BYTES)
			out <<= 20; /* MiB */
	} else {
		snprintf(why, wsz, "field %u: unexpected type '%c'", v->fieldId, v->fieldType);
		return false;
	}
	/* A value no newer than the last boundary's would repeat it as if it were new. */
	if (d->dcgm_ts[m] && v->ts <= d->dcgm_ts[m]) {
		snprintf(why, wsz, "field %u: stale (no update since the last interval)",
			 v->fieldId);
		return false;
	}
	r->v[m] = out;
	d->dcgm_ts[m] = v->ts;
	r->valid |= 1u << m;
	return true;
}

void gpu_dcgm_read(struct gpu_source *g, struct gpu_dev *d, struct gpu_reading *r)
{
	struct dcgm_lib *l = &g->dcgm;
	dcgmFieldValue_v1 v[NUM_FIELDS - 1];
	dcgmReturn_t rc;

	memset(r, 0, sizeof(*r));
	if (d->mig_instance >= 0) {
		/* MIG instances: their memory from NVML; DCGM's values are per GPU here. */
		if (d->nvml)
			gpu_nvml_read(g, d, r);
		return;
	}
	memset(v, 0, sizeof(v));
	rc = l->dcgmGetLatestValuesForFields(l->handle, (int)d->dcgm_id, fields + 1, NUM_FIELDS - 1,
					     v);
	if (rc != DCGM_ST_OK) {
		for (int m = 0; m < GPU_M_COUNT; m++)
			snprintf(r->why[m], sizeof(r->why[m]), "dcgmGetLatestValuesForFields: %s",
				 dcgm_str(l, rc));
		if (rc == DCGM_ST_GPU_IS_LOST) {
			r->lost = true;
			snprintf(r->lost_why, sizeof(r->lost_why), "%s", r->why[0]);
		}
		return;
	}
	for (int m = 0; m < GPU_M_COUNT; m++)
		convert(l, d, &v[m], (enum gpu_metric)m, r);
}
