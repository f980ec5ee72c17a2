// SPDX-License-Identifier: MIT
#include "k8s_meta.h"

#include <stddef.h>
#include <string.h>

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A pod UID of 36 characters: hex with sep ('-' or '_' in systemd unit names) at 8-13-18-23. */
static bool parse_uid(const char *s, size_t len, char sep, char out[K8S_POD_UID_LEN + 1])
{
	char uid[K8S_POD_UID_LEN + 1];

	if (len != K8S_POD_UID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != sep : !is_hex(s[i]))
			return false;
		uid[i] = dash ? '-' : s[i];
	}
	uid[len] = '\0';
	memcpy(out, uid, sizeof(uid));
	return true;
}

static bool parse_container_hex(const char *s, size_t len, char out[K8S_CONTAINER_ID_LEN + 1])
{
	if (len != K8S_CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_hex(s[i]))
			return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static bool starts(const char *s, size_t len, const char *prefix, size_t *plen)
{
	*plen = strlen(prefix);
	return len >= *plen && memcmp(s, prefix, *plen) == 0;
}

static bool ends(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static void set(char *dst, size_t size, const char *src)
{
	strncpy(dst, src, size - 1);
	dst[size - 1] = '\0';
}

/*
 * systemd driver: [kubelet-]kubepods[-QOS]-pod<uid with '_'>.slice
 * QoS is guaranteed when the slice has no QoS part.
 */
static bool pod_from_slice(const char *c, size_t len, struct k8s_meta *m)
{
	static const char *const qos[] = { "burstable", "besteffort" };
	const char *k = NULL, *pod, *q_found = "guaranteed";
	size_t n;

	if (!ends(c, len, ".slice"))
		return false;
	len -= strlen(".slice");
	for (size_t i = 0; i + 8 <= len; i++)
		if (memcmp(c + i, "kubepods", 8) == 0) {
			k = c + i + 8;
			break;
		}
	if (!k)
		return false;
	n = len - (size_t)(k - c);
	for (size_t q = 0; q < 2; q++) {
		size_t ql = strlen(qos[q]);

		if (n > ql + 1 && k[0] == '-' && memcmp(k + 1, qos[q], ql) == 0) {
			q_found = qos[q];
			k += ql + 1;
			n -= ql + 1;
		}
	}
	if (n < 4 || memcmp(k, "-pod", 4) != 0)
		return false;
	pod = k + 4;
	if (!parse_uid(pod, n - 4, '_', m->pod_uid))
		return false;
	set(m->qos, sizeof(m->qos), q_found);
	return true;
}

/* A container's cgroup: <prefix><64 hex>[.scope]. */
static bool container_from(const char *c, size_t len, bool after_pod, struct k8s_meta *m)
{
	static const struct {
		const char *prefix;
		const char *runtime;
	} forms[] = {
		{ "cri-containerd-", "containerd" },
		{ "crio-", "cri-o" },
		{ "docker-", "docker" },
		{ "containerd-", "containerd" },
	};
	size_t plen;

	if (ends(c, len, ".scope"))
		len -= strlen(".scope");
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (starts(c, len, forms[i].prefix, &plen) &&
		    parse_container_hex(c + plen, len - plen, m->container_id)) {
			set(m->runtime, sizeof(m->runtime), forms[i].runtime);
			return true;
		}
	}
	/* cgroupfs driver: the bare ID below the pod (the runtime is not in the name). */
	return after_pod && parse_container_hex(c, len, m->container_id);
}

bool k8s_meta_from_cgroup_path(const char *path, struct k8s_meta *out)
{
	const char *c = path, *prev = NULL;
	size_t prev_len = 0;
	bool kubepods = false, pod = false, after_pod = false;

	memset(out, 0, sizeof(*out));
	if (!path)
		return false;
	while (*c) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		size_t plen;

		if (len == 0)
			goto next;
		if (!pod && pod_from_slice(c, len, out)) {
			pod = after_pod = true;
			goto next;
		}
		if (len == 8 && memcmp(c, "kubepods", 8) == 0)
			kubepods = true;
		if (!pod && kubepods && starts(c, len, "pod", &plen) &&
		    parse_uid(c + plen, len - plen, '-', out->pod_uid)) {
			/* cgroupfs driver: kubepods/[QOS/]pod<uid> */
			if (prev && prev_len == 9 && memcmp(prev, "burstable", 9) == 0)
				set(out->qos, sizeof(out->qos), "burstable");
			else if (prev && prev_len == 10 && memcmp(prev, "besteffort", 10) == 0)
				set(out->qos, sizeof(out->qos), "besteffort");
			else
				set(out->qos, sizeof(out->qos), "guaranteed");
			pod = after_pod = true;
			goto next;
		}
		if (!out->container_id[0] &&
		    container_from(c, len,
				   after_pod || (prev_len == 6 && memcmp(prev, "docker", 6) == 0),
				   out)) {
			after_pod = false;
			goto next;
		}
		after_pod = false;
next:
		prev = c;
		prev_len = len;
		if (!slash)
			break;
		c = slash + 1;
	}
	return out->pod_uid[0] || out->container_id[0];
}
