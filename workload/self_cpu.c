// SPDX-License-Identifier: MIT
#include "self_cpu.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct self_cpu_entry {
	char target[SELF_CPU_TARGET_MAX + 1];
	uint64_t requests;
	uint64_t ns;
};

struct self_cpu {
	pthread_mutex_t lock;
	unsigned n;
	struct self_cpu_entry e[SELF_CPU_TARGETS];
	struct self_cpu_entry other;
};

struct self_cpu *self_cpu__new(void)
{
	struct self_cpu *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	strcpy(s->other.target, SELF_CPU_OTHER);
	return s;
}

void self_cpu__free(struct self_cpu *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint64_t self_cpu__thread_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Bytes outside printable ASCII as %XX (as the request log writes targets): keys stay text. */
static size_t escape(const char *in, size_t len, char out[SELF_CPU_TARGET_MAX + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c > 0x20 && c < 0x7f) {
			if (n + 1 > SELF_CPU_TARGET_MAX)
				break;
			out[n++] = (char)c;
		} else {
			if (n + 3 > SELF_CPU_TARGET_MAX)
				break;
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return n;
}

void self_cpu__add(struct self_cpu *s, const char *raw, size_t raw_len, uint64_t ns)
{
	char target[SELF_CPU_TARGET_MAX + 1];
	size_t len = escape(raw, raw_len, target);
	struct self_cpu_entry *e = NULL;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		if (!strcmp(s->e[i].target, target)) {
			e = &s->e[i];
			break;
		}
	}
	if (!e && s->n < SELF_CPU_TARGETS) {
		e = &s->e[s->n++];
		memcpy(e->target, target, len + 1);
	}
	if (!e)
		e = &s->other;
	e->requests++;
	e->ns += ns;
	pthread_mutex_unlock(&s->lock);
}

static int put(json_t *root, const struct self_cpu_entry *e)
{
	json_t *v = json_pack("[I,f]", (json_int_t)e->requests, (double)e->ns / 1e3);

	return v ? json_object_set_new(root, e->target, v) : -1;
}

char *self_cpu__json(struct self_cpu *s)
{
	json_t *root = json_object();
	char *out = NULL;
	int err = !root;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; !err && i < s->n; i++)
		err = put(root, &s->e[i]);
	if (!err && s->other.requests)
		err = put(root, &s->other);
	pthread_mutex_unlock(&s->lock);
	if (!err)
		out = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	return out;
}
