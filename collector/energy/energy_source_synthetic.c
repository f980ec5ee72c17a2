// SPDX-License-Identifier: MIT
/*
 * synthetic[:CONF]: energy made up from a reference model, for hosts with no power
 * telemetry. NOT a measurement, and it says so in its name and description.
 *
 * Each interval: idle_power_uw * duration + the model (energy_model.conf grammar, weights
 * in uJ) evaluated on the interval's host-wide signals, its runtime part scaled by
 * (1 + synthetic_util_gain * utilisation), + synthetic_page_cache_hit_uj per page-cache
 * hit + synthetic_writeback_uj per writeback (effects the fitted model does not have;
 * counted where measured) plus every measured feature of model_features.h times its weight
 * + Gaussian noise with standard deviation synthetic_noise_uw * duration, clamped so
 * that energy never decreases. Utilisation = runtime / (duration * online CPUs), at most 1.
 * The signals are what the collector feeds (energy_source__feed_signals); when nobody
 * feeds any, busy CPU time from /proc/stat (below the root) counts as runtime at kHz 0.
 * With the same seed and the same fed signals, the readings are the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "energy_source_impl.h"
#include "../feature_values.h"
#include "log.h"
#include "parse.h"
#include "rng.h"

struct synth_priv {
	struct energy_config model;
	struct xoshiro256 rng;
	double cum_uj;
	uint64_t last_ns;
	/* Fed signals since the last read. */
	bool pending;
	uint64_t pending_ns;
	double pending_uj;
	long cpus; /* online CPUs, for utilisation */
	/* /proc/stat busy time, for intervals nobody fed. */
	char stat_path[PATH_MAX];
	bool have_stat;
	bool stat_stale; /* fed intervals passed: take a fresh baseline before using it */
	uint64_t last_busy_ticks;
	long ticks_per_s;
};

void es_synthetic_reference_model(struct energy_config *cfg)
{
	/* Keep equal to configs/synthetic_host.conf (test_energy_source_synthetic checks). */
	config_defaults(cfg);
	cfg->attribution_mode = ATTRIBUTION_MODEL;
	strcpy(cfg->energy_source, "synthetic");
	cfg->idle_power_uw = 9500000;
	cfg->psys_interval_ms = 200;
	cfg->default_multiplier = 0.003;
	cfg->wakeup_penalty = 1.5;
	cfg->migration_penalty = 4;
	cfg->cycles_weight = 0.0001;
	cfg->instructions_weight = 0.00005;
	cfg->cache_miss_weight = 0.002;
	cfg->synthetic_noise_uw = 120000;
	cfg->synthetic_page_cache_hit_uj = 0.5;
	cfg->synthetic_writeback_uj = 2;
	cfg->synthetic_util_gain = 0.1;
	config_set_freq(cfg, 0, 0.0035);
	config_set_freq(cfg, 800000, 0.0011);
	config_set_freq(cfg, 1600000, 0.0021);
	config_set_freq(cfg, 2400000, 0.0036);
	config_set_freq(cfg, 3200000, 0.0058);
}

/* Standard normal deviate (Box-Muller; one of the pair, so each draw is independent). */
static double gaussian(struct xoshiro256 *r)
{
	double u1 = ((xoshiro256_next(r) >> 11) + 1) * 0x1p-53; /* (0, 1] */
	double u2 = xoshiro256_unit(r);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Busy ticks (user nice system irq softirq steal) from /proc/stat's "cpu" line. */
static int read_busy_ticks(struct energy_source *src, struct synth_priv *sp, uint64_t *ticks)
{
	static const int busy_field[] = { 1, 1, 1, 0, 0, 1, 1, 1 };
	char buf[512], *p;
	ssize_t n;
	int fd;

	fd = open(sp->stat_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es_fail(src, -errno, "%s: %s", sp->stat_path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1); /* the first line is all we need */
	close(fd);
	if (n < 0)
		return es_fail(src, -errno, "%s: %s", sp->stat_path, strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strncmp(buf, "cpu ", 4))
		return es_fail(src, -EINVAL, "%s: the first line is not the \"cpu\" total",
			       sp->stat_path);
	*ticks = 0;
	p = buf + 4;
	for (size_t i = 0; i < sizeof(busy_field) / sizeof(busy_field[0]); i++) {
		uint64_t v;
		size_t len;
		int err;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		err = parse_u64_n(p, len, 0, UINT64_MAX / 16, &v);
		if (err)
			return es_fail(src, -EINVAL, "%s: cpu field %zu: \"%.*s\" %s",
				       sp->stat_path, i + 1, (int)(len > 24 ? 24 : len), p,
				       len ? parse_strerror(err) : "is missing");
		if (busy_field[i])
			*ticks += v;
		p += len;
	}
	return 0;
}

static int synthetic_open(struct energy_source *src, const char *arg)
{
	struct synth_priv *sp = calloc(1, sizeof(*sp));
	uint64_t seed = src->opts.seed;

	if (!sp)
		return es_fail(src, -ENOMEM, "out of memory");
	src->priv = sp;
	if (arg) {
		if (config_parse_file(arg, &sp->model))
			return es_fail_reported(src, -EINVAL); /* the parser said where */
	} else {
		es_synthetic_reference_model(&sp->model);
	}
	xoshiro256_seed(&sp->rng, seed, 0);
	sp->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (sp->cpus < 1)
		sp->cpus = 1;
	sp->ticks_per_s = sysconf(_SC_CLK_TCK);
	if (sp->ticks_per_s <= 0)
		sp->ticks_per_s = 100;
	if (es_path(src, sp->stat_path, sizeof(sp->stat_path), "proc/stat"))
		return es_fail(src, -ENAMETOOLONG, "root directory: path too long");
	sp->have_stat = !read_busy_ticks(src, sp, &sp->last_busy_ticks);
	if (!sp->have_stat)
		log_info("energy source synthetic: %s; busy time counts as 0 unless the "
			 "collector feeds signals",
			 src->why);
	sp->last_ns = src->opts.clock_ns(src->opts.hook_ctx);

	es_describe(src,
		    "synthetic (a model, NOT a measurement): %s, idle %llu uW, noise %llu uW, "
		    "seed %llu; %s%s",
		    arg ? arg : "built-in reference model (configs/synthetic_host.conf)",
		    (unsigned long long)sp->model.idle_power_uw,
		    (unsigned long long)sp->model.synthetic_noise_uw,
		    (unsigned long long)src->opts.seed,
		    sp->have_stat ? "busy time from " : "no busy time",
		    sp->have_stat ? sp->stat_path : "");
	if (sp->have_stat)
		es_describe(src, " until the collector feeds signals");
	return 0;
}

static int synthetic_feed(struct energy_source *src, const struct interval_signals *sig,
			  const struct signals_available *av)
{
	struct synth_priv *sp = src->priv;
	const struct energy_config *m = &sp->model;
	const struct cpu_signals *h = &sig->host;
	uint64_t covered = 0, duration_ns = sig->t_end_ns - sig->t_start_ns;
	double e = 0, util;

	for (size_t i = 0; i < sig->num_freqs && i < SIGNALS_MAX_FREQS; i++) {
		e += config_freq_weight(m, sig->freqs[i].khz) * (double)sig->freqs[i].runtime_ns;
		covered += sig->freqs[i].runtime_ns;
	}
	if (h->runtime_ns > covered)
		e += config_freq_weight(m, 0) * (double)(h->runtime_ns - covered);
	/* A mild non-linearity: busier CPUs cost more per ns (heat, shared caches). */
	util = duration_ns ? (double)h->runtime_ns / ((double)duration_ns * (double)sp->cpus) : 0;
	e *= 1 + m->synthetic_util_gain * (util > 1 ? 1 : util);
	if (av->page_cache)
		e += m->synthetic_page_cache_hit_uj * (double)h->page_cache_hits;
	if (av->writebacks)
		e += m->synthetic_writeback_uj * (double)h->writebacks;
	for (int i = 0; i < MF_COUNT; i++) {
		enum model_feature f = (enum model_feature)i;

		if (feature_measured(sig, av, f))
			e += m->feature_weight[f] * (double)feature_host_value(sig, f);
	}
	sp->pending = true;
	sp->pending_ns += duration_ns;
	sp->pending_uj += e;
	return 0;
}

static int synthetic_read(struct energy_source *src, uint64_t now_ns, uint64_t *energy_uj)
{
	struct synth_priv *sp = src->priv;
	uint64_t duration_ns;
	double e, secs;

	if (sp->pending) {
		duration_ns = sp->pending_ns;
		e = sp->pending_uj;
		sp->pending = false;
		sp->pending_ns = 0;
		sp->pending_uj = 0;
		sp->stat_stale = true;
	} else {
		duration_ns = now_ns > sp->last_ns ? now_ns - sp->last_ns : 0;
		e = 0;
		if (sp->have_stat) {
			uint64_t ticks;
			int err = read_busy_ticks(src, sp, &ticks);

			if (err)
				return err;
			if (!sp->stat_stale && ticks >= sp->last_busy_ticks)
				e = config_freq_weight(&sp->model, 0) *
				    (double)(ticks - sp->last_busy_ticks) * 1e9 /
				    (double)sp->ticks_per_s;
			sp->last_busy_ticks = ticks;
			sp->stat_stale = false;
		}
	}
	sp->last_ns = now_ns;
	secs = (double)duration_ns / 1e9;
	e += (double)sp->model.idle_power_uw * secs;
	e += (double)sp->model.synthetic_noise_uw * secs * gaussian(&sp->rng);
	if (e > 0) /* a meter's cumulative count never goes down */
		sp->cum_uj += e;
	*energy_uj = (uint64_t)sp->cum_uj;
	return 0;
}

static void synthetic_close(struct energy_source *src)
{
	free(src->priv);
	src->priv = NULL;
}

const struct energy_backend es_synthetic_backend = {
	.name = "synthetic",
	.measured = false,
	.arg = "CONF",
	.open = synthetic_open,
	.read = synthetic_read,
	.feed = synthetic_feed,
	.close = synthetic_close,
};
