// SPDX-License-Identifier: MIT
#include "accounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One process's total in the interval (its entries summed over kHz and cgroups). */
struct proc_total {
	uint32_t tgid;
	uint64_t uj;
	uint64_t runtime_ns;
	uint64_t cgroup_id; /* of its entry with the most runtime */
	uint64_t cgroup_runtime_ns;
};

struct accounts {
	struct accounts_opts opt;
	uint64_t interval;
	struct cgroup_account *cgroups; /* dense, count_cgroups used */
	size_t count_cgroups;
	uint32_t *cg_index; /* open addressing: index + 1 into cgroups, 0 empty */
	size_t cg_index_cap;
	struct process_account *procs; /* dense */
	size_t count_procs;
	struct accounts_other other_cg, other_proc;
	uint64_t pruned_procs, pruned_cgroups;
	struct proc_total *totals; /* scratch */
	size_t totals_cap;
};

static size_t hash64(uint64_t v, size_t cap)
{
	return (size_t)((v * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

static struct cgroup_account *find_cgroup(struct accounts *a, uint64_t id)
{
	size_t i = hash64(id, a->cg_index_cap);

	while (a->cg_index[i]) {
		struct cgroup_account *c = &a->cgroups[a->cg_index[i] - 1];

		if (c->id == id)
			return c;
		i = (i + 1) & (a->cg_index_cap - 1);
	}
	return NULL;
}

static void index_cgroup(struct accounts *a, size_t idx)
{
	size_t i = hash64(a->cgroups[idx].id, a->cg_index_cap);

	while (a->cg_index[i])
		i = (i + 1) & (a->cg_index_cap - 1);
	a->cg_index[i] = (uint32_t)idx + 1;
}

static void reindex_cgroups(struct accounts *a)
{
	memset(a->cg_index, 0, a->cg_index_cap * sizeof(*a->cg_index));
	for (size_t i = 0; i < a->count_cgroups; i++)
		index_cgroup(a, i);
}

int accounts__new(const struct accounts_opts *opts, struct accounts **out)
{
	struct accounts *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->opt = *opts;
	for (a->cg_index_cap = 16; a->cg_index_cap <= 2 * (size_t)opts->max_cgroups;
	     a->cg_index_cap *= 2)
		;
	a->cgroups = calloc(opts->max_cgroups ? opts->max_cgroups : 1, sizeof(*a->cgroups));
	a->cg_index = calloc(a->cg_index_cap, sizeof(*a->cg_index));
	a->procs = calloc(opts->max_processes ? opts->max_processes : 1, sizeof(*a->procs));
	if (!a->cgroups || !a->cg_index || !a->procs) {
		accounts__free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static void name_cgroup(struct accounts *a, struct cgroup_account *c)
{
	const char *p = a->opt.cgroup_path ? a->opt.cgroup_path(a->opt.ctx, c->id) : NULL;

	if (!p)
		return;
	c->path = strdup(p);
	if (c->path)
		k8s_meta_from_cgroup_path(c->path, &c->k8s);
}

static void add_to_cgroup(struct accounts *a, const struct proc_interval *p, uint64_t uj)
{
	struct cgroup_account *c = find_cgroup(a, p->cgroup_id);

	if (!c && a->count_cgroups < a->opt.max_cgroups) {
		c = &a->cgroups[a->count_cgroups];
		*c = (struct cgroup_account){ .id = p->cgroup_id };
		index_cgroup(a, a->count_cgroups++);
		name_cgroup(a, c);
	}
	if (!c) {
		a->other_cg.interval_uj += uj;
		a->other_cg.interval_runtime_ns += p->s.runtime_ns;
		return;
	}
	if (!c->path)
		name_cgroup(a, c);
	c->interval_uj += uj;
	c->interval_runtime_ns += p->s.runtime_ns;
	c->last_seen = a->interval;
}

/* Cgroups idle for a while whose directory is gone. */
static void prune_cgroups(struct accounts *a)
{
	bool pruned = false;

	for (size_t i = 0; i < a->count_cgroups;) {
		struct cgroup_account *c = &a->cgroups[i];

		if (a->interval - c->last_seen < ACCOUNTS_IDLE_INTERVALS ||
		    (a->opt.cgroup_path && a->opt.cgroup_path(a->opt.ctx, c->id))) {
			i++;
			continue;
		}
		free(c->path);
		*c = a->cgroups[--a->count_cgroups];
		a->pruned_cgroups++;
		pruned = true;
	}
	if (pruned)
		reindex_cgroups(a);
}

static int by_tgid(const void *x, const void *y)
{
	const struct proc_total *a = x, *b = y;

	return (a->tgid > b->tgid) - (a->tgid < b->tgid);
}

static int by_uj_desc(const void *x, const void *y)
{
	const struct proc_total *a = x, *b = y;

	if (a->uj != b->uj)
		return (a->uj < b->uj) - (a->uj > b->uj);
	return (a->runtime_ns < b->runtime_ns) - (a->runtime_ns > b->runtime_ns);
}

static void remove_proc(struct accounts *a, size_t i)
{
	a->procs[i] = a->procs[--a->count_procs];
	a->pruned_procs++;
}

/* Drops the accounts of processes that exited or whose PID now names another process. */
static void validate_procs(struct accounts *a)
{
	for (size_t i = 0; i < a->count_procs;) {
		struct process_account *p = &a->procs[i];
		char comm[ACCOUNTS_COMM_LEN];
		uint64_t start;

		if (a->opt.identify(a->opt.ctx, p->tgid, &start, comm) || start != p->start)
			remove_proc(a, i);
		else
			i++;
	}
}

static struct process_account *find_proc(struct accounts *a, uint32_t tgid)
{
	for (size_t i = 0; i < a->count_procs; i++)
		if (a->procs[i].tgid == tgid)
			return &a->procs[i];
	return NULL;
}

/* Room for one more: a free slot, else the least recently seen account idle long enough. */
static struct process_account *free_proc_slot(struct accounts *a)
{
	size_t oldest = 0;

	if (a->count_procs < a->opt.max_processes)
		return &a->procs[a->count_procs++];
	if (a->count_procs == 0)
		return NULL;
	for (size_t i = 1; i < a->count_procs; i++)
		if (a->procs[i].last_seen < a->procs[oldest].last_seen)
			oldest = i;
	if (a->interval - a->procs[oldest].last_seen < ACCOUNTS_IDLE_INTERVALS)
		return NULL;
	a->pruned_procs++;
	return &a->procs[oldest];
}

static int add_processes(struct accounts *a, const struct proc_interval *procs,
			 const uint64_t *uj, size_t n)
{
	size_t m = 0;

	if (n > a->totals_cap) {
		struct proc_total *t = realloc(a->totals, n * 2 * sizeof(*t));

		if (!t)
			return -ENOMEM;
		a->totals = t;
		a->totals_cap = n * 2;
	}
	for (size_t i = 0; i < n; i++)
		a->totals[i] = (struct proc_total){ .tgid = procs[i].tgid, .uj = uj[i],
						    .runtime_ns = procs[i].s.runtime_ns,
						    .cgroup_id = procs[i].cgroup_id,
						    .cgroup_runtime_ns = procs[i].s.runtime_ns };
	qsort(a->totals, n, sizeof(*a->totals), by_tgid);
	for (size_t i = 0; i < n; i++) {
		struct proc_total *t = &a->totals[i];

		if (m && a->totals[m - 1].tgid == t->tgid) {
			struct proc_total *d = &a->totals[m - 1];

			d->uj += t->uj;
			d->runtime_ns += t->runtime_ns;
			if (t->cgroup_runtime_ns > d->cgroup_runtime_ns) {
				d->cgroup_id = t->cgroup_id;
				d->cgroup_runtime_ns = t->cgroup_runtime_ns;
			}
			continue;
		}
		a->totals[m++] = *t;
	}
	qsort(a->totals, m, sizeof(*a->totals), by_uj_desc);
	validate_procs(a);
	for (size_t i = 0; i < m; i++) {
		const struct proc_total *t = &a->totals[i];
		struct process_account *p = find_proc(a, t->tgid);
		char comm[ACCOUNTS_COMM_LEN];
		uint64_t start;

		if (!p && i < a->opt.max_processes &&
		    !a->opt.identify(a->opt.ctx, t->tgid, &start, comm)) {
			p = free_proc_slot(a);
			if (p) {
				*p = (struct process_account){ .tgid = t->tgid, .start = start,
							       .cgroup_id = t->cgroup_id };
				memcpy(p->comm, comm, sizeof(comm));
				p->comm[ACCOUNTS_COMM_LEN - 1] = '\0';
			}
		}
		if (!p) {
			a->other_proc.interval_uj += t->uj;
			a->other_proc.interval_runtime_ns += t->runtime_ns;
			continue;
		}
		p->energy_uj += t->uj;
		p->runtime_ns += t->runtime_ns;
		p->last_seen = a->interval;
	}
	return 0;
}

int accounts__add_interval(struct accounts *a, const struct proc_interval *procs,
			   const uint64_t *uj, size_t n)
{
	int err;

	a->interval++;
	for (size_t i = 0; i < a->count_cgroups; i++)
		a->cgroups[i].interval_uj = a->cgroups[i].interval_runtime_ns = 0;
	a->other_cg.interval_uj = a->other_cg.interval_runtime_ns = 0;
	a->other_proc.interval_uj = a->other_proc.interval_runtime_ns = 0;
	for (size_t i = 0; i < n; i++)
		add_to_cgroup(a, &procs[i], uj[i]);
	for (size_t i = 0; i < a->count_cgroups; i++) {
		a->cgroups[i].energy_uj += a->cgroups[i].interval_uj;
		a->cgroups[i].runtime_ns += a->cgroups[i].interval_runtime_ns;
	}
	a->other_cg.energy_uj += a->other_cg.interval_uj;
	a->other_cg.runtime_ns += a->other_cg.interval_runtime_ns;
	err = add_processes(a, procs, uj, n);
	a->other_proc.energy_uj += a->other_proc.interval_uj;
	a->other_proc.runtime_ns += a->other_proc.interval_runtime_ns;
	prune_cgroups(a);
	return err;
}

size_t accounts__cgroups(const struct accounts *a, const struct cgroup_account **out)
{
	*out = a->cgroups;
	return a->count_cgroups;
}

size_t accounts__processes(const struct accounts *a, const struct process_account **out)
{
	*out = a->procs;
	return a->count_procs;
}

const struct accounts_other *accounts__other_cgroups(const struct accounts *a)
{
	return &a->other_cg;
}

const struct accounts_other *accounts__other_processes(const struct accounts *a)
{
	return &a->other_proc;
}

uint64_t accounts__pruned_processes(const struct accounts *a)
{
	return a->pruned_procs;
}

uint64_t accounts__pruned_cgroups(const struct accounts *a)
{
	return a->pruned_cgroups;
}

void accounts__free(struct accounts *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->count_cgroups; i++)
		free(a->cgroups[i].path);
	free(a->cgroups);
	free(a->cg_index);
	free(a->procs);
	free(a->totals);
	free(a);
}
