// SPDX-License-Identifier: MIT
#include "routes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request_energy.h"

const uint64_t routes_bucket_uj[ROUTES_ENERGY_BUCKETS] = {
	1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
};

struct route_cgroup {
	uint64_t id;
	uint32_t num_routes; /* entries of its own, other route excluded */
	int32_t other; /* index of its "_other" route entry, -1 until needed */
};

struct routes {
	pthread_mutex_t lock;
	uint32_t max_routes, max_cgroups;
	struct route_cgroup *cgroups; /* max_cgroups + 1: the last is the "_other" cgroup */
	uint32_t num_cgroups;
	struct route_stats *entries;
	size_t num, cap, max_entries;
	uint32_t *slots; /* open addressing: entry index + 1, 0 empty */
	size_t slot_mask;
	uint64_t records;
};

size_t routes_normalise(const char *target, size_t len, char *out)
{
	size_t start = 0, end, n;

	/* absolute-form (RFC 9112 3.2.2): the path starts after the authority */
	if ((len >= 7 && !strncasecmp(target, "http://", 7)) ||
	    (len >= 8 && !strncasecmp(target, "https://", 8))) {
		start = target[4] == ':' ? 7 : 8;
		while (start < len && target[start] != '/' && target[start] != '?' &&
		       target[start] != '#')
			start++;
		if (start == len || target[start] != '/') {
			strcpy(out, "/");
			return 1;
		}
	}
	for (end = start; end < len && target[end] != '?' && target[end] != '#'; end++)
		;
	n = end - start;
	if (n > ROUTES_PATH_MAX) {
		n = ROUTES_PATH_MAX;
		/* do not cut a UTF-8 sequence: back off over its continuation bytes */
		while (n > 0 && ((unsigned char)target[start + n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)target[start + i];

		out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	out[n] = '\0';
	return n;
}

enum route_code_class route_code_class(uint16_t status)
{
	if (status >= 200 && status < 600)
		return (enum route_code_class)(ROUTE_2XX + status / 100 - 2);
	return ROUTE_CODE_OTHER;
}

const char *route_code_class_name(enum route_code_class c)
{
	static const char *const names[ROUTE_CODE_CLASSES] = { "2xx", "3xx", "4xx", "5xx",
							       "other" };

	return c < ROUTE_CODE_CLASSES ? names[c] : "other";
}

int routes__new(const struct routes_opts *opts, struct routes **out)
{
	struct routes *r;
	pthread_mutexattr_t attr;
	size_t slots = 16;
	int err = -ENOMEM;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->max_routes = opts && opts->max_routes ? opts->max_routes : ROUTES_DEFAULT_MAX_ROUTES;
	r->max_cgroups = opts && opts->max_cgroups ? opts->max_cgroups : ROUTES_DEFAULT_MAX_CGROUPS;
	r->max_entries = ((size_t)r->max_cgroups + 1) * ((size_t)r->max_routes + 1);
	while (slots < 2 * r->max_entries)
		slots *= 2;
	r->slot_mask = slots - 1;
	r->slots = calloc(slots, sizeof(*r->slots));
	r->cgroups = calloc((size_t)r->max_cgroups + 1, sizeof(*r->cgroups));
	if (!r->slots || !r->cgroups)
		goto cleanup;
	r->cgroups[r->max_cgroups].other = -1;
	if (pthread_mutexattr_init(&attr)) {
		err = -EINVAL;
		goto cleanup;
	}
	/* the sampler (SCHED_FIFO) must not wait behind a preempted record consumer */
	pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	err = -pthread_mutex_init(&r->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (err)
		goto cleanup;
	*out = r;
	return 0;
cleanup:
	free(r->slots);
	free(r->cgroups);
	free(r);
	return err;
}

static uint64_t hash_key(uint64_t cgroup_id, bool other_cgroup, const char *method,
			 const char *path)
{
	uint64_t h = 1469598103934665603ULL ^ cgroup_id ^ ((uint64_t)other_cgroup << 63);

	for (const char *p = method; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* between method and path: no byte of either */
	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static struct route_cgroup *find_cgroup(struct routes *r, uint64_t id)
{
	for (uint32_t i = 0; i < r->num_cgroups; i++)
		if (r->cgroups[i].id == id)
			return &r->cgroups[i];
	if (r->num_cgroups == r->max_cgroups)
		return &r->cgroups[r->max_cgroups];
	r->cgroups[r->num_cgroups] = (struct route_cgroup){ .id = id, .other = -1 };
	return &r->cgroups[r->num_cgroups++];
}

/* A new entry at the end of entries[]; NULL when growing fails. */
static struct route_stats *new_entry(struct routes *r)
{
	if (r->num == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct route_stats *e;

		if (cap > r->max_entries)
			cap = r->max_entries;
		e = realloc(r->entries, cap * sizeof(*e));
		if (!e)
			return NULL;
		r->entries = e;
		r->cap = cap;
	}
	memset(&r->entries[r->num], 0, sizeof(r->entries[0]));
	return &r->entries[r->num++];
}

/* The entry a record adds to: its own, else its cgroup's other route. NULL: no memory. */
static struct route_stats *lookup(struct routes *r, uint64_t cgroup_id, const char *method,
				  const char *path)
{
	struct route_cgroup *cg = find_cgroup(r, cgroup_id);
	bool other_cgroup = cg == &r->cgroups[r->max_cgroups];
	uint64_t id = other_cgroup ? 0 : cgroup_id;
	size_t slot = hash_key(id, other_cgroup, method, path) & r->slot_mask;
	struct route_stats *e;

	for (; r->slots[slot]; slot = (slot + 1) & r->slot_mask) {
		e = &r->entries[r->slots[slot] - 1];
		if (e->cgroup_id == id && e->other_cgroup == other_cgroup && !e->other_route &&
		    !strcmp(e->method, method) && !strcmp(e->path, path))
			return e;
	}
	if (cg->num_routes == r->max_routes) {
		if (cg->other >= 0)
			return &r->entries[cg->other];
		e = new_entry(r);
		if (!e)
			return NULL;
		cg->other = (int32_t)(e - r->entries);
		e->other_route = true;
	} else {
		e = new_entry(r);
		if (!e)
			return NULL;
		cg->num_routes++;
		strcpy(e->method, method);
		strcpy(e->path, path);
		r->slots[slot] = (uint32_t)(e - r->entries) + 1;
	}
	e->cgroup_id = id;
	e->other_cgroup = other_cgroup;
	return e;
}

int routes__add(struct routes *r, const struct request_record *rec)
{
	char method[REQUEST_METHOD_MAX + 1], path[ROUTES_PATH_MAX + 1];
	size_t mlen, tlen;
	struct route_stats *e;
	uint64_t frac;
	int b;

	if (!r || !rec)
		return -EINVAL;
	mlen = rec->method_len < REQUEST_METHOD_MAX ? rec->method_len : REQUEST_METHOD_MAX;
	for (size_t i = 0; i < mlen; i++) {
		unsigned char ch = (unsigned char)rec->method[i];

		method[i] = ch <= 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	method[mlen] = '\0';
	tlen = rec->target_len < REQUEST_TARGET_MAX ? rec->target_len : REQUEST_TARGET_MAX;
	routes_normalise(rec->target, tlen, path);
	for (b = 0; b < ROUTES_ENERGY_BUCKETS; b++)
		if (rec->energy_uj_fx <= routes_bucket_uj[b] << REQ_FRAC_BITS)
			break;

	pthread_mutex_lock(&r->lock);
	e = lookup(r, rec->cgroup_id, method, path);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	e->requests[route_code_class(rec->status)]++;
	frac = e->energy_frac + (rec->energy_uj_fx & (REQ_FRAC_ONE - 1));
	e->energy_uj += (rec->energy_uj_fx >> REQ_FRAC_BITS) + (frac >> REQ_FRAC_BITS);
	e->energy_frac = (uint32_t)(frac & (REQ_FRAC_ONE - 1));
	e->cpu_ns += rec->cpu_ns;
	if (b < ROUTES_ENERGY_BUCKETS)
		e->buckets[b]++;
	else
		e->over_buckets++;
	r->records++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void routes_record_consumer(const struct request_record *rec, void *ctx)
{
	routes__add(ctx, rec); /* -ENOMEM: this record is missing from the routes, no more */
}

int routes__snapshot(struct routes *r, struct routes_snapshot *snap)
{
	int err = 0;

	pthread_mutex_lock(&r->lock);
	if (snap->cap < r->num) {
		struct route_stats *s = realloc(snap->routes, r->cap * sizeof(*s));

		if (!s) {
			err = -ENOMEM;
			goto cleanup;
		}
		snap->routes = s;
		snap->cap = r->cap;
	}
	if (r->num)
		memcpy(snap->routes, r->entries, r->num * sizeof(*snap->routes));
	snap->num = r->num;
	snap->records = r->records;
cleanup:
	pthread_mutex_unlock(&r->lock);
	return err;
}

void routes_snapshot_free(struct routes_snapshot *snap)
{
	free(snap->routes);
	*snap = (struct routes_snapshot){ 0 };
}

void routes__free(struct routes *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->entries);
	free(r->slots);
	free(r->cgroups);
	free(r);
}
