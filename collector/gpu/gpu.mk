# collector/gpu/: the GPU source (docs/gpu.md), linked into http_energy. NVML and DCGM are
# loaded at run time (dlopen): nothing NVIDIA is needed to build or run.
GPU_SOURCE_SRCS := collector/gpu/gpu_source.c collector/gpu/gpu_nvml.c collector/gpu/gpu_dcgm.c \
	collector/gpu/gpu_calc.c collector/gpu/gpu_csv.c
# (http_energy.mk adds them to http_energy, whatever order the .mk files are read in.)

UNIT_TESTS += test_gpu_calc
test_gpu_calc_SRCS := tests/unit/test_gpu_calc.c collector/gpu/gpu_calc.c
test_gpu_calc_CFLAGS := -I collector/gpu

UNIT_TESTS += test_gpu_csv
test_gpu_csv_SRCS := tests/unit/test_gpu_csv.c $(GPU_SOURCE_SRCS) collector/csv_file.c
test_gpu_csv_LIBS := -ldl
test_gpu_csv_CFLAGS := -I collector/gpu

# gpu_source itself, sanitized, over the fake NVML (tests/fake_gpu.mk), which dlopen finds
# through the test binary's DT_RPATH (not RUNPATH: ASan's dlopen interceptor makes
# libasan the caller, and only the executable's DT_RPATH applies to every caller).
UNIT_TESTS += test_gpu_source
test_gpu_source_SRCS := tests/unit/test_gpu_source.c $(GPU_SOURCE_SRCS) collector/csv_file.c
test_gpu_source_CFLAGS := -I collector/gpu
test_gpu_source_LIBS = -ldl -Wl,--disable-new-dtags,-rpath,$(abspath $(BUILD)/fake_gpu/nvml)
