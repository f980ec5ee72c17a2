// SPDX-License-Identifier: MIT
/*
 * GPU source: backend selection, and the accounting shared by NVML and DCGM (energy per
 * interval from the counter or from power, wraps and resets, missing fields said once,
 * lost GPUs, per-process split).
 */
#include "gpu_source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_source_impl.h"
#include "log.h"

static const char *const metric_names[GPU_M_COUNT] = {
	[GPU_M_ENERGY_UJ] = "energy_uj",
	[GPU_M_POWER_MW] = "power_mw",
	[GPU_M_SM_UTIL] = "sm_util_pct",
	[GPU_M_MEM_UTIL] = "mem_util_pct",
	[GPU_M_ENC_UTIL] = "enc_util_pct",
	[GPU_M_DEC_UTIL] = "dec_util_pct",
	[GPU_M_TEMPERATURE_C] = "temperature_c",
	[GPU_M_MEMORY_USED_BYTES] = "memory_used_bytes",
	[GPU_M_MEMORY_TOTAL_BYTES] = "memory_total_bytes",
	[GPU_M_SM_CLOCK_MHZ] = "sm_clock_mhz",
	[GPU_M_MEM_CLOCK_MHZ] = "mem_clock_mhz",
};

const char *const gpu_kind_names[] = {
	[GPU_KIND_AUTO] = "auto", [GPU_KIND_NVML] = "nvml", [GPU_KIND_DCGM] = "dcgm",
	[GPU_KIND_NONE] = "none", NULL,
};

/* What a MIG instance row measures itself; the rest belongs to its physical GPU. */
#define MIG_METRICS ((1u << GPU_M_MEMORY_USED_BYTES) | (1u << GPU_M_MEMORY_TOTAL_BYTES))

const char *gpu_kind_name(enum gpu_kind kind)
{
	return kind <= GPU_KIND_NONE ? gpu_kind_names[kind] : "?";
}

const char *gpu_metric_name(enum gpu_metric m)
{
	return m < GPU_M_COUNT ? metric_names[m] : NULL;
}

static void describe_devices(const struct gpu_source *g, char *buf, size_t size)
{
	size_t phys = 0, mig = 0;

	for (size_t i = 0; i < g->n; i++) {
		if (g->dev[i].mig_instance < 0)
			phys++;
		else
			mig++;
	}
	snprintf(buf, size, "%zu GPU%s", phys, phys == 1 ? "" : "s");
	if (mig)
		snprintf(buf + strlen(buf), size - strlen(buf), ", %zu MIG instance%s", mig,
			 mig == 1 ? "" : "s");
}

int gpu_source__open(enum gpu_kind kind, const struct gpu_source_opts *opts,
		     struct gpu_source **out)
{
	const char *host = opts && opts->dcgm_host ? opts->dcgm_host : "127.0.0.1";
	char dcgm_why[GPU_WHY_MAX] = "", nvml_why[GPU_WHY_MAX] = "", devs[96];
	struct gpu_source *g;
	int err = 0;

	*out = NULL;
	if (kind == GPU_KIND_NONE) {
		log_info("gpu: none (--gpu none)");
		return 0;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	if (kind == GPU_KIND_AUTO || kind == GPU_KIND_DCGM) {
		err = gpu_dcgm_load(&g->dcgm, host, dcgm_why, sizeof(dcgm_why));
		if (!err)
			g->kind = GPU_KIND_DCGM;
		else if (kind == GPU_KIND_DCGM)
			goto fail;
	}
	err = gpu_nvml_load(&g->nvml, nvml_why, sizeof(nvml_why));
	g->have_nvml = !err;
	if (!g->dcgm.dl) {
		if (err)
			goto fail;
		g->kind = GPU_KIND_NVML;
	}
	err = 0; /* NVML is optional beside DCGM */
	if (g->kind == GPU_KIND_DCGM && kind == GPU_KIND_AUTO && gpu_dcgm_enumerate(g)) {
		/* Said above; auto goes on with NVML. */
		snprintf(dcgm_why, sizeof(dcgm_why), "%s: enumerating or watching failed",
			 g->dcgm.soname);
		gpu_dcgm_unload(&g->dcgm);
		g->n = 0;
		if (!g->have_nvml)
			goto fail;
		g->kind = GPU_KIND_NVML;
	}
	if (g->kind == GPU_KIND_DCGM && kind == GPU_KIND_DCGM)
		err = gpu_dcgm_enumerate(g);
	else if (g->kind == GPU_KIND_NVML)
		err = gpu_nvml_enumerate(g);
	if (err)
		goto fail_said;
	describe_devices(g, devs, sizeof(devs));
	if (g->kind == GPU_KIND_DCGM)
		log_info("gpu: dcgm (%s, nv-hostengine at %s; %s%s%s)", g->dcgm.soname, host, devs,
			 g->have_nvml ? "; MIG instances and per-process utilisation from " : "",
			 g->have_nvml ? g->nvml.soname :
					"; no NVML: no MIG rows, no per-process split");
	else
		log_info("gpu: nvml (%s; %s%s%s)", g->nvml.soname, devs,
			 kind == GPU_KIND_AUTO ? "; DCGM not used: " : "",
			 kind == GPU_KIND_AUTO ? dcgm_why : "");
	*out = g;
	return 0;
fail:
	if (kind == GPU_KIND_AUTO) {
		log_info("gpu: none (DCGM: %s; NVML: %s)", dcgm_why, nvml_why);
		gpu_source__close(g);
		return 0;
	}
	log_error("gpu %s: %s", gpu_kind_name(kind), kind == GPU_KIND_DCGM ? dcgm_why : nvml_why);
	err = -ENODEV;
fail_said:
	gpu_source__close(g);
	return err;
}

static void read_dev(struct gpu_source *g, struct gpu_dev *d, struct gpu_reading *r)
{
	if (g->kind == GPU_KIND_DCGM)
		gpu_dcgm_read(g, d, r);
	else
		gpu_nvml_read(g, d, r);
	if (d->mig_instance >= 0)
		r->valid &= MIG_METRICS;
}

static const char *dev_name(const struct gpu_dev *d, char *buf, size_t size)
{
	if (d->mig_instance >= 0)
		snprintf(buf, size, "gpu %u MIG %d (%s)", d->index, d->mig_instance, d->uuid);
	else
		snprintf(buf, size, "gpu %u (%s)", d->index, d->uuid);
	return buf;
}

static void mark_lost(struct gpu_source *g, size_t i, const char *why)
{
	char name[160];

	g->dev[i].lost = true;
	log_info("%s: lost (%s): its rows are empty from now on%s",
		 dev_name(&g->dev[i], name, sizeof(name)), why,
		 g->dev[i].mig_instance < 0 ?
			 "; gpu_energy_uj covers the other GPUs after this interval" :
			 "");
	/* Its MIG instances go with it. */
	for (size_t j = 0; j < g->n; j++)
		if (g->dev[j].parent == (int)i && !g->dev[j].lost) {
			g->dev[j].lost = true;
			log_info("%s: lost with its GPU", dev_name(&g->dev[j], name, sizeof(name)));
		}
}

/*
 * Says once per device and field that a field is missing: fields missing for the same
 * reason (a whole call failing, a host engine gone) share one line.
 */
static void say_missing(struct gpu_dev *d, const struct gpu_reading *r)
{
	uint32_t expected = d->mig_instance >= 0 ? MIG_METRICS : ~0u, news = 0;
	char name[160], fields[256];

	for (int m = 0; m < GPU_M_COUNT; m++) {
		uint32_t bit = 1u << m;

		if (!(expected & bit) || (r->valid & bit) || (d->said & bit))
			continue;
		if (m == GPU_M_ENERGY_UJ && !d->has_counter)
			continue; /* said once as the energy method */
		if (m == GPU_M_POWER_MW && !d->has_counter && !d->has_power)
			continue;
		news |= bit;
	}
	for (int m = 0; m < GPU_M_COUNT; m++) {
		size_t len = 0;

		if (!(news & (1u << m)))
			continue;
		for (int k = m; k < GPU_M_COUNT; k++) {
			if (!(news & (1u << k)) || strcmp(r->why[k], r->why[m]))
				continue;
			news &= ~(1u << k);
			d->said |= 1u << k;
			len += (size_t)snprintf(fields + len, sizeof(fields) - len, "%s%s",
						len ? ", " : "", metric_names[k]);
			if (len >= sizeof(fields))
				len = sizeof(fields) - 1;
		}
		log_info("%s: %s missing (%s): an empty cell whenever it is",
			 dev_name(d, name, sizeof(name)), fields,
			 r->why[m][0] ? r->why[m] : "no value");
	}
}

/* The first reading decides how a physical GPU's energy is measured. */
static void choose_method(struct gpu_dev *d, const struct gpu_reading *r)
{
	char name[160];

	d->has_counter = r->valid & (1u << GPU_M_ENERGY_UJ);
	d->has_power = r->valid & (1u << GPU_M_POWER_MW);
	if (d->has_counter)
		return;
	if (d->has_power)
		log_info("%s: no energy counter (%s): energy integrated from power at the "
			 "boundaries",
			 dev_name(d, name, sizeof(name)), r->why[GPU_M_ENERGY_UJ]);
	else
		log_info("%s: no energy counter and no power reading (%s): no energy; left out of "
			 "gpu_energy_uj",
			 dev_name(d, name, sizeof(name)), r->why[GPU_M_POWER_MW]);
}

/* The process samples since the last boundary: false when there are none to split by. */
static bool take_procs(struct gpu_source *g, struct gpu_dev *d, size_t *n)
{
	char why[GPU_WHY_MAX] = "", name[160];
	int err;

	*n = 0;
	if (!d->procs_ok)
		return false;
	err = gpu_nvml_procs(g, d, n, why, sizeof(why));
	if (!err)
		return true;
	*n = 0;
	if (err == -EOPNOTSUPP)
		d->procs_ok = false;
	if (!d->said_procs) {
		d->said_procs = true;
		log_info(
			"%s: per-process utilisation %s (%s): its energy is not split per process%s",
			dev_name(d, name, sizeof(name)),
			err == -EOPNOTSUPP ? "unavailable" : "failed", why,
			err == -EOPNOTSUPP ? "" : " while it fails");
	}
	return false;
}

int gpu_source__begin(struct gpu_source *g, uint64_t t_ns)
{
	size_t n;

	if (!g)
		return 0;
	if (g->kind == GPU_KIND_DCGM)
		g->dcgm.dcgmUpdateAllFields(g->dcgm.handle, 1);
	for (size_t i = 0; i < g->n; i++) {
		struct gpu_dev *d = &g->dev[i];

		read_dev(g, d, &d->last);
		d->have_last = true;
		if (d->last.lost) {
			mark_lost(g, i, d->last.lost_why);
			continue;
		}
		if (d->mig_instance < 0) {
			choose_method(d, &d->last);
			d->procs_ok = true;
			take_procs(g, d, &n); /* sets the process samples' baseline */
		}
		say_missing(d, &d->last);
	}
	g->t_last_ns = t_ns;
	return 0;
}

/* The interval's energy of a physical GPU from its last and current readings. */
static bool interval_energy(const struct gpu_source *g, struct gpu_dev *d,
			    const struct gpu_reading *r, uint64_t dt_ns, uint64_t *uj,
			    enum gpu_energy_method *method)
{
	const uint32_t e = 1u << GPU_M_ENERGY_UJ, p = 1u << GPU_M_POWER_MW;
	uint64_t delta;
	char name[160];

	if (d->has_counter) {
		if (!(r->valid & e) || !(d->last.valid & e))
			return false;
		switch (gpu_counter_delta(d->last.v[GPU_M_ENERGY_UJ], r->v[GPU_M_ENERGY_UJ],
					  g->kind == GPU_KIND_DCGM ? 1ULL << 63 : 0, dt_ns,
					  &delta)) {
		case GPU_COUNTER_WRAP:
			log_info("%s: energy counter wrapped (%" PRIu64 " -> %" PRIu64
				 " mJ); counted",
				 dev_name(d, name, sizeof(name)), d->last.v[GPU_M_ENERGY_UJ],
				 r->v[GPU_M_ENERGY_UJ]);
			/* fallthrough */
		case GPU_COUNTER_OK:
			*uj = delta * 1000;
			*method = GPU_ENERGY_COUNTER;
			return true;
		case GPU_COUNTER_RESET:
			log_info("%s: energy counter went back (%" PRIu64 " -> %" PRIu64
				 " mJ; driver "
				 "reloaded?): this interval's energy integrated from power",
				 dev_name(d, name, sizeof(name)), d->last.v[GPU_M_ENERGY_UJ],
				 r->v[GPU_M_ENERGY_UJ]);
			break;
		}
	}
	if (!(r->valid & p) || !(d->last.valid & p))
		return false;
	*uj = gpu_integrate_uj(d->last.v[GPU_M_POWER_MW], r->v[GPU_M_POWER_MW], dt_ns);
	*method = GPU_ENERGY_INTEGRATED;
	return true;
}

int gpu_source__sample(struct gpu_source *g, uint64_t t_start_ns, uint64_t t_end_ns)
{
	uint64_t dt = t_end_ns - g->t_last_ns;
	bool any = false;

	if (g->kind == GPU_KIND_DCGM)
		g->dcgm.dcgmUpdateAllFields(g->dcgm.handle, 1);
	g->total_valid = true;
	g->total_uj = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct gpu_dev *d = &g->dev[i];
		struct gpu_sample *s = &g->rows[i];
		struct gpu_reading r;
		bool counts = d->mig_instance < 0 && !d->lost && (d->has_counter || d->has_power);
		size_t np = 0;

		*s = (struct gpu_sample){ .index = d->index,
					  .mig_instance = d->mig_instance,
					  .t_start_ns = t_start_ns,
					  .t_end_ns = t_end_ns,
					  .lost = d->lost };
		memcpy(s->uuid, d->uuid, sizeof(s->uuid));
		if (counts)
			any = true;
		if (d->lost)
			continue;
		read_dev(g, d, &r);
		if (r.lost) {
			mark_lost(g, i, r.lost_why);
			s->lost = true;
			if (counts)
				g->total_valid = false;
			continue;
		}
		say_missing(d, &r);
		s->valid = r.valid & ~(1u << GPU_M_ENERGY_UJ);
		memcpy(s->v, r.v, sizeof(s->v));
		s->v[GPU_M_ENERGY_UJ] = 0;
		if (d->mig_instance < 0) {
			if (interval_energy(g, d, &r, dt, &s->v[GPU_M_ENERGY_UJ], &s->method))
				s->valid |= 1u << GPU_M_ENERGY_UJ;
			if (take_procs(g, d, &np) && (s->valid & (1u << GPU_M_ENERGY_UJ))) {
				s->procs_valid = true;
				s->num_procs = gpu_split_energy(s->v[GPU_M_ENERGY_UJ], d->proc_buf,
								np, d->shares);
				s->procs = d->shares;
			}
			if (counts) {
				if (s->valid & (1u << GPU_M_ENERGY_UJ))
					g->total_uj += s->v[GPU_M_ENERGY_UJ];
				else
					g->total_valid = false;
			}
		}
		d->last = r;
	}
	if (!any)
		g->total_valid = false;
	g->t_last_ns = t_end_ns;
	return 0;
}

size_t gpu_source__samples(const struct gpu_source *g, const struct gpu_sample **out)
{
	*out = g ? g->rows : NULL;
	return g ? g->n : 0;
}

bool gpu_source__total_uj(const struct gpu_source *g, uint64_t *energy_uj)
{
	if (!g || !g->total_valid)
		return false;
	*energy_uj = g->total_uj;
	return true;
}

const char *gpu_source__name(const struct gpu_source *g)
{
	return gpu_kind_name(g->kind);
}

void gpu_source__close(struct gpu_source *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->dev[i].proc_buf);
		free(g->dev[i].shares);
	}
	gpu_dcgm_unload(&g->dcgm);
	gpu_nvml_unload(&g->nvml);
	free(g);
}
