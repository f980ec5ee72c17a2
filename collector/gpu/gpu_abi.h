/* SPDX-License-Identifier: MIT */
/*
 * The few NVML and DCGM types, constants and functions the GPU source calls, declared here
 * because Debian ships no NVIDIA development headers (libnvidia-ml-dev is in non-free and
 * not reachable from the build hosts). Both libraries are loaded at run time with dlopen,
 * so nothing here is linked.
 *
 * Provenance (docs/gpu.md has the table): NVIDIA's public API references, "NVML API
 * Reference Guide" (nvml.h, R450 and later) and the DCGM API reference (dcgm_agent.h,
 * dcgm_structs.h, dcgm_fields.h, DCGM 2.x to 4.x). Only calls whose structs are not
 * versioned are used, except dcgmFieldValue_v1, whose layout has been fixed since DCGM 1.x
 * (version word, field id and type, status, timestamp, then a 4096-byte union). The static
 * asserts below pin every size and offset on x86_64 and aarch64 (LP64).
 */
#ifndef COLLECTOR_GPU_ABI_H
#define COLLECTOR_GPU_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- NVML (libnvidia-ml.so.1) ---- */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef int nvmlReturn_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_RESET_REQUIRED 16
#define NVML_ERROR_NO_DATA 21
#define NVML_ERROR_NOT_READY 27
#define NVML_ERROR_GPU_NOT_FOUND 28
#define NVML_ERROR_UNKNOWN 999

#define NVML_TEMPERATURE_GPU 0
#define NVML_CLOCK_SM 1
#define NVML_CLOCK_MEM 2
#define NVML_DEVICE_MIG_ENABLE 1
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80

typedef struct nvmlUtilization_st {
	unsigned int gpu; /* % of time a kernel ran (SM) */
	unsigned int memory; /* % of time memory was read or written */
} nvmlUtilization_t;

typedef struct nvmlMemory_st {
	unsigned long long total; /* bytes */
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlProcessUtilizationSample_st {
	unsigned int pid;
	unsigned long long timeStamp; /* CPU time of the sample, µs */
	unsigned int smUtil;
	unsigned int memUtil;
	unsigned int encUtil;
	unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t");
_Static_assert(offsetof(nvmlProcessUtilizationSample_t, timeStamp) == 8, "timeStamp");
_Static_assert(offsetof(nvmlProcessUtilizationSample_t, smUtil) == 16, "smUtil");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "process sample");

/* The NVML functions, as pointer types of the same signature. */
#define NVML_FUNCTIONS(X)                                                                          \
	X(nvmlInit_v2, nvmlReturn_t, (void))                                                       \
	X(nvmlShutdown, nvmlReturn_t, (void))                                                      \
	X(nvmlErrorString, const char *, (nvmlReturn_t))                                           \
	X(nvmlSystemGetDriverVersion, nvmlReturn_t, (char *, unsigned int))                        \
	X(nvmlDeviceGetCount_v2, nvmlReturn_t, (unsigned int *))                                   \
	X(nvmlDeviceGetHandleByIndex_v2, nvmlReturn_t, (unsigned int, nvmlDevice_t *))             \
	X(nvmlDeviceGetUUID, nvmlReturn_t, (nvmlDevice_t, char *, unsigned int))                   \
	X(nvmlDeviceGetTotalEnergyConsumption, nvmlReturn_t, (nvmlDevice_t, unsigned long long *)) \
	X(nvmlDeviceGetPowerUsage, nvmlReturn_t, (nvmlDevice_t, unsigned int *))                   \
	X(nvmlDeviceGetUtilizationRates, nvmlReturn_t, (nvmlDevice_t, nvmlUtilization_t *))        \
	X(nvmlDeviceGetEncoderUtilization, nvmlReturn_t,                                           \
	  (nvmlDevice_t, unsigned int *, unsigned int *))                                          \
	X(nvmlDeviceGetDecoderUtilization, nvmlReturn_t,                                           \
	  (nvmlDevice_t, unsigned int *, unsigned int *))                                          \
	X(nvmlDeviceGetTemperature, nvmlReturn_t, (nvmlDevice_t, int, unsigned int *))             \
	X(nvmlDeviceGetMemoryInfo, nvmlReturn_t, (nvmlDevice_t, nvmlMemory_t *))                   \
	X(nvmlDeviceGetClockInfo, nvmlReturn_t, (nvmlDevice_t, int, unsigned int *))               \
	X(nvmlDeviceGetMigMode, nvmlReturn_t, (nvmlDevice_t, unsigned int *, unsigned int *))      \
	X(nvmlDeviceGetMaxMigDeviceCount, nvmlReturn_t, (nvmlDevice_t, unsigned int *))            \
	X(nvmlDeviceGetMigDeviceHandleByIndex, nvmlReturn_t,                                       \
	  (nvmlDevice_t, unsigned int, nvmlDevice_t *))                                            \
	X(nvmlDeviceGetGpuInstanceId, nvmlReturn_t, (nvmlDevice_t, unsigned int *))                \
	X(nvmlDeviceGetProcessUtilization, nvmlReturn_t,                                           \
	  (nvmlDevice_t, nvmlProcessUtilizationSample_t *, unsigned int *, unsigned long long))

/* ---- DCGM (libdcgm.so.4 / .3, talking to nv-hostengine) ---- */
typedef uintptr_t dcgmHandle_t;
typedef uintptr_t dcgmGpuGrp_t;
typedef uintptr_t dcgmFieldGrp_t;
typedef int dcgmReturn_t;

#define DCGM_ST_OK 0
#define DCGM_ST_NOT_SUPPORTED (-6)
#define DCGM_ST_NO_DATA (-14)
#define DCGM_ST_STALE_DATA (-15)
#define DCGM_ST_NOT_WATCHED (-16)
#define DCGM_ST_GPU_IS_LOST (-18)
#define DCGM_ST_CONNECTION_NOT_VALID (-21)

#define DCGM_GROUP_ALL_GPUS 0x7fffffff
#define DCGM_MAX_NUM_DEVICES 32 /* the library writes at most this many GPU ids */
#define DCGM_MAX_BLOB_LENGTH 4096

#define DCGM_FT_DOUBLE 'd'
#define DCGM_FT_INT64 'i'
#define DCGM_FT_STRING 's'

/* Field ids (dcgm_fields.h). */
#define DCGM_FI_DEV_UUID 54
#define DCGM_FI_DEV_SM_CLOCK 100
#define DCGM_FI_DEV_MEM_CLOCK 101
#define DCGM_FI_DEV_GPU_TEMP 150
#define DCGM_FI_DEV_POWER_USAGE 155 /* W, double */
#define DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION 156 /* mJ since the driver loaded, int64 */
#define DCGM_FI_DEV_GPU_UTIL 203
#define DCGM_FI_DEV_MEM_COPY_UTIL 204
#define DCGM_FI_DEV_ENC_UTIL 206
#define DCGM_FI_DEV_DEC_UTIL 207
#define DCGM_FI_DEV_FB_TOTAL 250 /* MiB */
#define DCGM_FI_DEV_FB_USED 252 /* MiB */

/* Values at or above these are "blank" sentinels (no data, not found, not supported, ...). */
#define DCGM_INT64_BLANK 0x7ffffffffffffff0LL
#define DCGM_INT64_NOT_SUPPORTED 0x7ffffffffffffff2LL
#define DCGM_FP64_BLANK 140737488355328.0
#define DCGM_FP64_NOT_SUPPORTED 140737488355330.0

typedef struct {
	unsigned int version; /* dcgmFieldValue_version1 */
	unsigned short fieldId;
	unsigned short fieldType; /* DCGM_FT_* */
	int status; /* dcgmReturn_t of this value */
	int64_t ts; /* µs since 1970 */
	union {
		int64_t i64;
		double dbl;
		char str[256];
		char blob[DCGM_MAX_BLOB_LENGTH];
	} value;
} dcgmFieldValue_v1;

_Static_assert(offsetof(dcgmFieldValue_v1, status) == 8, "dcgmFieldValue_v1.status");
_Static_assert(offsetof(dcgmFieldValue_v1, ts) == 16, "dcgmFieldValue_v1.ts");
_Static_assert(offsetof(dcgmFieldValue_v1, value) == 24, "dcgmFieldValue_v1.value");
_Static_assert(sizeof(dcgmFieldValue_v1) == 4120, "dcgmFieldValue_v1");

#define DCGM_FUNCTIONS(X)                                                                  \
	X(dcgmInit, dcgmReturn_t, (void))                                                  \
	X(dcgmShutdown, dcgmReturn_t, (void))                                              \
	X(errorString, const char *, (dcgmReturn_t))                                       \
	X(dcgmConnect, dcgmReturn_t, (const char *, dcgmHandle_t *))                       \
	X(dcgmDisconnect, dcgmReturn_t, (dcgmHandle_t))                                    \
	X(dcgmGetAllSupportedDevices, dcgmReturn_t, (dcgmHandle_t, unsigned int *, int *)) \
	X(dcgmFieldGroupCreate, dcgmReturn_t,                                              \
	  (dcgmHandle_t, int, unsigned short *, const char *, dcgmFieldGrp_t *))           \
	X(dcgmFieldGroupDestroy, dcgmReturn_t, (dcgmHandle_t, dcgmFieldGrp_t))             \
	X(dcgmWatchFields, dcgmReturn_t,                                                   \
	  (dcgmHandle_t, dcgmGpuGrp_t, dcgmFieldGrp_t, long long, double, int))            \
	X(dcgmUnwatchFields, dcgmReturn_t, (dcgmHandle_t, dcgmGpuGrp_t, dcgmFieldGrp_t))   \
	X(dcgmUpdateAllFields, dcgmReturn_t, (dcgmHandle_t, int))                          \
	X(dcgmGetLatestValuesForFields, dcgmReturn_t,                                      \
	  (dcgmHandle_t, int, unsigned short *, unsigned int, dcgmFieldValue_v1 *))

#endif
