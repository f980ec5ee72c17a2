// SPDX-License-Identifier: MIT
/*
 * measure_idle_power: samples the host's power from an energy source while it is idle and
 * suggests idle_power_uw for energy_model.conf. docs/measure_idle_power.md is its manual.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "energy/energy_source.h"
#include "log.h"
#include "options.h"
#include "energy/power_stats.h"

#define DEFAULT_DURATION_S 5.0
#define DEFAULT_SAMPLES 7
#define DEFAULT_MAX_FLUCTUATION 0.05

struct options {
	double duration_s;
	uint64_t samples;
	bool strict;
	double max_fluctuation;
	const char *json_path;
	const char *energy_source;
	const char *root_dir;
	uint64_t seed;
	bool verbose;
};

struct sample {
	uint64_t t_start_ns, t_end_ns;
	uint64_t energy_uj;
	double power_uw;
};

static int check_energy_source(const char *arg, void *target, const char **why)
{
	if (energy_source_check(arg, why))
		return -EINVAL;
	*(const char **)target = arg;
	return 0;
}

static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	const struct opt table[] = {
		OPT_DOUBLE("duration", "SEC",
			   "length of each sample (default " OPT__XSTR(DEFAULT_DURATION_S) ")",
			   &o->duration_s, 0.01, 86400),
		OPT_UINT("samples", "N", "number of samples (default " OPT__XSTR(DEFAULT_SAMPLES) ")",
			 &o->samples, 1, 100000),
		OPT_CUSTOM("energy-source", "SRC",
			   "psys, rapl, powercap, hwmon, replay:FILE, synthetic[:CONF] or auto "
			   "(default auto)",
			   &o->energy_source, check_energy_source),
		OPT_DOUBLE("max-fluctuation", "F",
			   "limit for the fluctuation score, 1.4826 * MAD / median (default "
			   OPT__XSTR(DEFAULT_MAX_FLUCTUATION) ", i.e. 5%)",
			   &o->max_fluctuation, 0, 1e6),
		OPT_FLAG("strict", "exit 1 when the fluctuation exceeds the limit", &o->strict),
		OPT_STRING("json", "FILE", "write every sample and the statistics as JSON",
			   &o->json_path),
		OPT_STRING("root", "DIR", "read sysfs and /proc below DIR (tests; default /)",
			   &o->root_dir),
		OPT_SEED("seed of the synthetic source's noise", &o->seed),
		OPT_FLAG("verbose", "more detail on stderr", &o->verbose),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "measure_idle_power",
		.synopsis = "[OPTIONS]",
		.about = "Samples the host's power while it is idle and prints a suggested\n"
			 "idle_power_uw for energy_model.conf as the last line: "
			 "idle_power_uw=<integer>.",
		.footer = "Exit status: 0 ok, 1 measurement error or --strict limit exceeded, 2 "
			  "usage error.",
		.opts = table,
	};
	enum opts_result r;
	int first;

	*o = (struct options){ .duration_s = DEFAULT_DURATION_S,
			       .samples = DEFAULT_SAMPLES,
			       .max_fluctuation = DEFAULT_MAX_FLUCTUATION,
			       .energy_source = "auto",
			       .seed = OPTS_SEED_DEFAULT };
	r = opts_parse(&spec, argc, argv, &first);
	log_set_verbose(o->verbose);
	return r;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ULL),
			       .tv_nsec = (long)(t_ns % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static json_t *json_number_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static int write_json(const char *path, const struct options *o, const struct energy_source *src,
		      const struct sample *s, const struct power_stats *st, uint64_t idle_uw,
		      bool exceeded)
{
	json_t *root = json_object(), *arr = json_array();
	int err = 0;

	if (!root || !arr) {
		json_decref(root);
		json_decref(arr);
		log_error("%s: out of memory", path);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < o->samples; i++)
		json_array_append_new(
			arr, json_pack("{s:I, s:I, s:I, s:I, s:f}", "index", (json_int_t)(i + 1),
				       "t_start_ns", (json_int_t)s[i].t_start_ns, "t_end_ns",
				       (json_int_t)s[i].t_end_ns, "energy_uj",
				       (json_int_t)s[i].energy_uj, "power_uw", s[i].power_uw));
	json_object_set_new(root, "energy_source", json_string(energy_source__name(src)));
	json_object_set_new(root, "energy_source_description",
			    json_string(energy_source__describe(src)));
	json_object_set_new(root, "measured", json_boolean(energy_source__is_measured(src)));
	json_object_set_new(root, "duration_s", json_real(o->duration_s));
	json_object_set_new(root, "samples", arr);
	json_object_set_new(root, "median_uw", json_real(st->median_uw));
	json_object_set_new(root, "mean_uw", json_real(st->mean_uw));
	json_object_set_new(root, "mad_uw", json_real(st->mad_uw));
	json_object_set_new(root, "fluctuation", json_number_or_null(st->fluctuation));
	json_object_set_new(root, "max_fluctuation", json_real(o->max_fluctuation));
	json_object_set_new(root, "fluctuation_exceeded", json_boolean(exceeded));
	json_object_set_new(root, "strict", json_boolean(o->strict));
	json_object_set_new(root, "min_uw", json_real(st->min_uw));
	json_object_set_new(root, "max_uw", json_real(st->max_uw));
	json_object_set_new(root, "range_uw", json_real(st->max_uw - st->min_uw));
	json_object_set_new(root, "range_fraction", json_number_or_null(st->range_fraction));
	json_object_set_new(root, "idle_power_uw", json_integer((json_int_t)idle_uw));
	if (json_dump_file(root, path, JSON_INDENT(2) | JSON_ENSURE_ASCII)) {
		err = -EIO;
		log_error("%s: cannot write the JSON report: %s", path, strerror(errno));
	}
	json_decref(root);
	return err;
}

/* Takes the samples; 0 or the exit status. */
static int measure(const struct options *o, struct energy_source *src, struct sample *s)
{
	uint64_t e0, t0, e, t;
	uint64_t duration_ns = (uint64_t)llround(o->duration_s * 1e9);

	if (energy_source__read(src, &e0, &t0))
		return 1;
	for (uint64_t i = 0; i < o->samples; i++) {
		/* Absolute deadlines: samples stay back to back, no drift. */
		sleep_until(t0 + duration_ns);
		if (energy_source__read(src, &e, &t))
			return 1;
		if (e < e0 || t <= t0) {
			log_error("energy source %s: sample %llu: energy or time went backwards",
				  energy_source__name(src), (unsigned long long)(i + 1));
			return 1;
		}
		s[i] = (struct sample){ .t_start_ns = t0,
					.t_end_ns = t,
					.energy_uj = e - e0,
					.power_uw = (double)(e - e0) * 1e9 / (double)(t - t0) };
		printf("sample %llu/%llu: power_uw=%.0f duration_s=%.3f energy_uj=%llu\n",
		       (unsigned long long)(i + 1), (unsigned long long)o->samples, s[i].power_uw,
		       (double)(t - t0) / 1e9, (unsigned long long)(e - e0));
		fflush(stdout);
		e0 = e;
		t0 = t;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct energy_source_opts sopts = { 0 };
	struct energy_source *src = NULL;
	struct sample *samples = NULL;
	double *power = NULL;
	struct power_stats st;
	struct options o;
	uint64_t idle_uw;
	bool exceeded;
	enum opts_result r;
	int ret;

	r = parse_options(argc, argv, &o);
	if (r != OPTS_RUN)
		return opts_exit_status(r);

	sopts.root_dir = o.root_dir;
	sopts.seed = o.seed;
	if (energy_source__open(o.energy_source, &sopts, &src))
		return 1;
	log_info("energy source: %s", energy_source__describe(src));
	log_info("%llu samples of %.3f s; keep the host idle", (unsigned long long)o.samples,
		 o.duration_s);

	samples = calloc(o.samples, sizeof(*samples));
	power = calloc(o.samples, sizeof(*power));
	if (!samples || !power) {
		log_error("out of memory");
		ret = 1;
		goto cleanup;
	}
	ret = measure(&o, src, samples);
	if (ret)
		goto cleanup;
	for (uint64_t i = 0; i < o.samples; i++)
		power[i] = samples[i].power_uw;
	if (power_stats_compute(power, o.samples, &st)) {
		log_error("the samples give no statistics");
		ret = 1;
		goto cleanup;
	}
	idle_uw = (uint64_t)llround(st.median_uw);
	exceeded = !(st.fluctuation <= o.max_fluctuation);

	printf("median_uw=%.0f mean_uw=%.0f\n", st.median_uw, st.mean_uw);
	printf("mad_uw=%.0f fluctuation=%.6f max_fluctuation=%g (1.4826 * MAD / median)\n",
	       st.mad_uw, st.fluctuation, o.max_fluctuation);
	printf("min_uw=%.0f max_uw=%.0f range_uw=%.0f range_fraction=%.6f\n", st.min_uw, st.max_uw,
	       st.max_uw - st.min_uw, st.range_fraction);
	if (o.json_path && write_json(o.json_path, &o, src, samples, &st, idle_uw, exceeded)) {
		ret = 1;
		goto cleanup;
	}
	printf("idle_power_uw=%llu\n", (unsigned long long)idle_uw);
	fflush(stdout);
	if (!energy_source__is_measured(src))
		log_info("energy source %s is a model, not a measurement: this idle power is the "
			 "model's",
			 energy_source__name(src));
	if (exceeded && o.strict) {
		log_error("fluctuation %.4f exceeds --max-fluctuation %g: the host is not idle "
			  "enough (--strict)",
			  st.fluctuation, o.max_fluctuation);
		ret = 1;
	} else if (exceeded) {
		log_info("fluctuation %.4f exceeds --max-fluctuation %g: the host may not be idle; "
			 "--strict makes this an error",
			 st.fluctuation, o.max_fluctuation);
	}
cleanup:
	free(samples);
	free(power);
	energy_source__close(src);
	return ret;
}
