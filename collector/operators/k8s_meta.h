/* SPDX-License-Identifier: MIT */
/*
 * Kubernetes metadata from a cgroup path alone (no API server): the pod UID, its QoS class
 * and the container ID, for the systemd and cgroupfs cgroup drivers and containerd, CRI-O
 * and Docker naming (docs/metrics.md lists the patterns). A pure function.
 */
#ifndef COLLECTOR_K8S_META_H
#define COLLECTOR_K8S_META_H

#include <stdbool.h>

#define K8S_POD_UID_LEN 36	 /* 8-4-4-4-12 */
#define K8S_CONTAINER_ID_LEN 64 /* hex */

struct k8s_meta {
	char pod_uid[K8S_POD_UID_LEN + 1];	     /* "" when not a pod's cgroup */
	char qos[16];				     /* guaranteed, burstable, besteffort or "" */
	char container_id[K8S_CONTAINER_ID_LEN + 1]; /* "" when not a container's */
	char runtime[16];			     /* containerd, cri-o, docker or "" */
};

/* Fills *out (all "" when nothing is found). Returns true when a pod or container is found. */
bool k8s_meta_from_cgroup_path(const char *path, struct k8s_meta *out);

#endif
