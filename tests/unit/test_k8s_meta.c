// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "k8s_meta.h"

#define UID "0b8e1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
#define UIDU "0b8e1b2c_3d4e_4f50_8a6b_7c8d9e0f1a2b"
#define CID "4f1c2b3a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8"

static const struct {
	const char *path;
	const char *uid, *qos, *cid, *runtime;
} cases[] = {
	/* systemd driver */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	  ".slice/cri-containerd-" CID ".scope", UID, "burstable", CID, "containerd" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
	  ".slice/crio-" CID ".scope", UID, "besteffort", CID, "cri-o" },
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice/docker-" CID ".scope", UID, "guaranteed", CID,
	  "docker" },
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice", UID, "guaranteed", "", "" },
	/* kubelet in its own slice (cgroup v2, systemd) */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
	  "kubelet-kubepods-burstable-pod" UIDU ".slice/cri-containerd-" CID ".scope",
	  UID, "burstable", CID, "containerd" },
	/* CRI-O's monitor is not the container */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	  ".slice/crio-conmon-" CID ".scope", UID, "burstable", "", "" },
	/* cgroupfs driver */
	{ "/kubepods/burstable/pod" UID "/" CID, UID, "burstable", CID, "" },
	{ "/kubepods/besteffort/pod" UID "/" CID, UID, "besteffort", CID, "" },
	{ "/kubepods/pod" UID "/" CID, UID, "guaranteed", CID, "" },
	{ "/kubepods/burstable/pod" UID "/crio-" CID, UID, "burstable", CID, "cri-o" },
	/* a process nested below the container's cgroup */
	{ "/kubepods/pod" UID "/" CID "/init.scope", UID, "guaranteed", CID, "" },
	/* Docker without Kubernetes */
	{ "/system.slice/docker-" CID ".scope", "", "", CID, "docker" },
	{ "/docker/" CID, "", "", CID, "" },
	/* not Kubernetes, not a container */
	{ "/", "", "", "", "" },
	{ "/system.slice/nginx.service", "", "", "", "" },
	{ "/user.slice/user-0.slice/session-1.scope", "", "", "", "" },
	{ "/pod" UID, "", "", "", "" },			       /* no kubepods above it */
	{ "/kubepods/burstable/pod" UID "x", "", "", "", "" }, /* UID too long */
	{ "/kubepods/burstable/podZZe1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", "", "", "", "" },
	{ "/kubepods.slice/kubepods-pod" UID ".slice", "", "", "", "" }, /* '-' in a slice */
	{ "/kubepods/pod" UID "/" CID "0", UID, "guaranteed", "", "" },	 /* 65 hex */
	{ "", "", "", "", "" },
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k8s_meta m;
		bool found = k8s_meta_from_cgroup_path(cases[i].path, &m);

		printf("case %zu: %s\n", i, cases[i].path);
		assert_string_equal(m.pod_uid, cases[i].uid);
		assert_string_equal(m.qos, cases[i].qos);
		assert_string_equal(m.container_id, cases[i].cid);
		assert_string_equal(m.runtime, cases[i].runtime);
		assert_int_equal(found, cases[i].uid[0] || cases[i].cid[0]);
	}
}

static void test_null_path(void **state)
{
	struct k8s_meta m;

	assert_false(k8s_meta_from_cgroup_path(NULL, &m));
	assert_string_equal(m.pod_uid, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_null_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
