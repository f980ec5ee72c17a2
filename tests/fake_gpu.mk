# tests/: fake NVML and DCGM libraries (tests/fake_gpu/), for tests/integration/test_gpu.sh.
# They go into directories of their own, so a test chooses which the collector can find
# by LD_LIBRARY_PATH. Built with the unit tests; nothing installs them.
FAKE_GPU_CFLAGS := -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -O1 -g -fPIC -shared \
	-fvisibility=hidden -I collector/gpu -I tests/fake_gpu
FAKE_NVML := $(BUILD)/fake_gpu/nvml/libnvidia-ml.so.1
FAKE_DCGM := $(BUILD)/fake_gpu/dcgm/libdcgm.so.4

$(FAKE_NVML): tests/fake_gpu/fake_nvml.c tests/fake_gpu/fake_script.c \
		tests/fake_gpu/fake_script.h collector/gpu/gpu_abi.h
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC-SO,$@)
	$(Q)$(CC) $(FAKE_GPU_CFLAGS) -Wl,-soname,libnvidia-ml.so.1 -o $@ \
		tests/fake_gpu/fake_nvml.c tests/fake_gpu/fake_script.c

$(FAKE_DCGM): tests/fake_gpu/fake_dcgm.c tests/fake_gpu/fake_script.c \
		tests/fake_gpu/fake_script.h collector/gpu/gpu_abi.h
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC-SO,$@)
	$(Q)$(CC) $(FAKE_GPU_CFLAGS) -Wl,-soname,libdcgm.so.4 -o $@ \
		tests/fake_gpu/fake_dcgm.c tests/fake_gpu/fake_script.c

.PHONY: fake-gpu-libs
fake-gpu-libs: $(FAKE_NVML) $(FAKE_DCGM)
unit-tests: fake-gpu-libs
integration-test: fake-gpu-libs

INTEGRATION_TESTS += tests/integration/test_gpu.sh
