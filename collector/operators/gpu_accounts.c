// SPDX-License-Identifier: MIT
#include "gpu_accounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct gpu_accounts {
	struct gpu_accounts_opts opt;
	struct gpu_process_account *procs; /* max_processes */
	size_t num_procs;
	struct gpu_other_account others[GPU_ACCOUNTS_MAX_GPUS];
	size_t num_others;
	uint64_t interval;
	struct gpu_proc_energy *order; /* scratch: one GPU's shares, most energy first */
	size_t order_cap;
};

int gpu_accounts__new(const struct gpu_accounts_opts *opts, struct gpu_accounts **out)
{
	struct gpu_accounts *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->opt = *opts;
	if (!a->opt.max_processes)
		a->opt.max_processes = 64;
	a->procs = calloc(a->opt.max_processes, sizeof(*a->procs));
	if (!a->procs) {
		free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static struct gpu_other_account *other_of(struct gpu_accounts *a, uint32_t gpu)
{
	for (size_t i = 0; i < a->num_others; i++)
		if (a->others[i].gpu == gpu)
			return &a->others[i];
	if (a->num_others == GPU_ACCOUNTS_MAX_GPUS)
		return &a->others[GPU_ACCOUNTS_MAX_GPUS - 1];
	a->others[a->num_others] = (struct gpu_other_account){ .gpu = gpu };
	return &a->others[a->num_others++];
}

static int by_energy_desc(const void *x, const void *y)
{
	const struct gpu_proc_energy *a = x, *b = y;

	if (a->energy_uj != b->energy_uj)
		return a->energy_uj < b->energy_uj ? 1 : -1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

int gpu_accounts__add(struct gpu_accounts *a, uint32_t gpu, const struct gpu_proc_energy *procs,
		      size_t n)
{
	if (n > a->order_cap) {
		struct gpu_proc_energy *o = realloc(a->order, n * sizeof(*o));

		if (!o)
			return -ENOMEM;
		a->order = o;
		a->order_cap = n;
	}
	if (n)
		memcpy(a->order, procs, n * sizeof(*procs));
	qsort(a->order, n, sizeof(*a->order), by_energy_desc);
	for (size_t i = 0; i < n; i++) {
		const struct gpu_proc_energy *s = &a->order[i];
		char comm[ACCOUNTS_COMM_LEN] = "";
		struct gpu_process_account *p = NULL;
		uint64_t start = 0;

		if (!s->energy_uj)
			continue; /* no series for nothing */
		if (a->opt.identify(a->opt.ctx, s->pid, &start, comm)) {
			start = 0;
			comm[0] = '\0';
		}
		for (size_t k = 0; k < a->num_procs && !p; k++)
			if (a->procs[k].gpu == gpu && a->procs[k].pid == s->pid &&
			    a->procs[k].start == start)
				p = &a->procs[k];
		if (!p) {
			/* full: every account ran in the last ACCOUNTS_IDLE_INTERVALS */
			if (a->num_procs == a->opt.max_processes) {
				other_of(a, gpu)->energy_uj += s->energy_uj;
				continue;
			}
			p = &a->procs[a->num_procs++];
			*p = (struct gpu_process_account){ .gpu = gpu,
							   .pid = s->pid,
							   .start = start };
			memcpy(p->comm, comm, sizeof(p->comm));
		}
		p->energy_uj += s->energy_uj;
		p->last_seen = a->interval;
	}
	other_of(a, gpu); /* a GPU that splits has an "other" series from its first interval */
	return 0;
}

void gpu_accounts__end_interval(struct gpu_accounts *a)
{
	size_t kept = 0;

	for (size_t i = 0; i < a->num_procs; i++)
		if (a->interval - a->procs[i].last_seen < ACCOUNTS_IDLE_INTERVALS)
			a->procs[kept++] = a->procs[i];
	a->num_procs = kept;
	a->interval++;
}

size_t gpu_accounts__processes(const struct gpu_accounts *a, const struct gpu_process_account **out)
{
	*out = a->procs;
	return a->num_procs;
}

size_t gpu_accounts__others(const struct gpu_accounts *a, const struct gpu_other_account **out)
{
	*out = a->others;
	return a->num_others;
}

void gpu_accounts__free(struct gpu_accounts *a)
{
	if (!a)
		return;
	free(a->procs);
	free(a->order);
	free(a);
}
