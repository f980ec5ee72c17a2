// SPDX-License-Identifier: MIT
/*
 * fit_energy: fits an energy model (uJ per ns of runtime at each CPU frequency, per
 * wakeup, migration, cycle, instruction and cache miss) to interval CSVs and writes it as
 * an energy_model.conf in model mode. docs/fit_energy.md is its manual.
 */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "csv_loader.h"
#include "csv_schema.h"
#include "cv.h"
#include "dataset.h"
#include "design.h"
#include "log.h"
#include "lsq.h"
#include "metrics.h"
#include "model_config.h"
#include "options.h"
#include "report.h"
#include "solve.h"
#include "split.h"
#include "version.h"

#define DEFAULT_TEST_FRACTION 0.2
#define DEFAULT_MIN_FREQ_SHARE 0.01
#define DEFAULT_MAPE_FLOOR_SHARE 0.05 /* of the training rows' mean |target| */

struct options {
	char **inputs;
	size_t num_inputs;
	const char *output, *report_json, *predictions_csv, *config_in, *cv_predictions_csv;
	struct cv_spec cv;
	enum csv_column target;
	bool target_gpu; /* + gpu_energy_uj */
	const char *target_name; /* as given: "active_psys_uj+gpu_energy_uj" */
	enum fit_method method;
	enum split_method split;
	double test_fraction, min_freq_share, mape_floor_uj;
	bool mape_floor_given;
	uint64_t seed;
	uint32_t psys_interval_ms;
	bool force;
	bool verbose;
	bool features[MF_COUNT]; /* --features */
};

/* An output that is also an input would be overwritten before (or while) it is read. */
static enum opts_result check_outputs(const struct options *o)
{
	const char *outs[] = { o->output, o->report_json, o->predictions_csv,
			       o->cv_predictions_csv };
	struct stat in, out;

	for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
		if (!outs[k] || stat(outs[k], &out))
			continue;
		for (size_t i = 0; i < o->num_inputs; i++) {
			if (!stat(o->inputs[i], &in) && in.st_dev == out.st_dev &&
			    in.st_ino == out.st_ino) {
				log_error("%s: is an input and an output; refusing to overwrite it "
					  "(see --help)",
					  outs[k]);
				return OPTS_USAGE;
			}
		}
	}
	return OPTS_RUN;
}

/* "active_psys_uj", "interval_psys_uj", either with "+gpu_energy_uj": 0 or -EINVAL. */
static int parse_target(const char *s, struct options *o)
{
	static const char gpu[] = "+gpu_energy_uj";
	size_t len = strlen(s), base = len;

	o->target_gpu = len > strlen(gpu) && !strcmp(s + len - strlen(gpu), gpu);
	if (o->target_gpu)
		base -= strlen(gpu);
	if (base == strlen("active_psys_uj") && !strncmp(s, "active_psys_uj", base))
		o->target = CSV_ACTIVE_PSYS_UJ;
	else if (base == strlen("interval_psys_uj") && !strncmp(s, "interval_psys_uj", base))
		o->target = CSV_INTERVAL_PSYS_UJ;
	else
		return -EINVAL;
	o->target_name = s;
	return 0;
}

static int opt_target(const char *arg, void *o, const char **why)
{
	*why = "is not active_psys_uj or interval_psys_uj, optionally followed by +gpu_energy_uj";
	return parse_target(arg, o);
}

static int opt_cv(const char *arg, void *spec, const char **why)
{
	*why = "is not time:K (K 2..1000) or label";
	return cv_parse(arg, spec);
}

static int opt_features(const char *arg, void *features, const char **why)
{
	static char msg[128]; /* options are parsed once, on one thread */
	const char *bad;
	size_t bad_len;

	if (!design_parse_features(arg, features, &bad, &bad_len))
		return 0;
	snprintf(msg, sizeof(msg), "names \"%.*s\": not default or a feature column "
		 "(docs/fit_energy.md)", (int)(bad_len < 40 ? bad_len : 40), bad);
	*why = msg;
	return -EINVAL;
}

static enum opts_result parse_options(int argc, char **argv, struct options *o)
{
	const struct opt table[] = {
		OPT_STRING("output", "FILE", "the fitted config (written atomically, read back)",
			   &o->output, .short_name = 'o'),
		OPT_STRING("report-json", "FILE",
			   "metrics, coefficients, rows, inputs (sha256), options",
			   &o->report_json),
		OPT_STRING("predictions-csv", "FILE",
			   "row,label,split,measured,predicted for every used row",
			   &o->predictions_csv),
		OPT_CUSTOM("target", "T",
			   "active_psys_uj (default; no intercept) or interval_psys_uj (fits the "
			   "idle power too); add +gpu_energy_uj to include GPU energy (left out by "
			   "default: it is a separate domain)",
			   o, opt_target),
		OPT_CHOICE("method", "M", "nnls (default), ols, ridge or robust", &o->method,
			   fit_method_names),
		OPT_CHOICE("split", "S",
			   "time (default: the last rows of each run are the test set) or random",
			   &o->split, split_method_names),
		OPT_DOUBLE("test-fraction", "F",
			   "share of rows for the test set (default " OPT__XSTR(
				   DEFAULT_TEST_FRACTION) ")",
			   &o->test_fraction, 0, 0.9),
		OPT_SEED("seed of --split random", &o->seed),
		OPT_CUSTOM("cv", "time:K|label",
			   "cross-validate instead of one split: K contiguous time blocks per run, "
			   "or leave one label out; the model is then fitted on all rows and the "
			   "quality gate uses the held-out predictions",
			   &o->cv, opt_cv),
		OPT_STRING("cv-predictions-csv", "FILE",
			   "row,label,fold,measured,predicted (held out)", &o->cv_predictions_csv),
		OPT_UINT("psys-interval-ms", "N", "psys_interval_ms of the config (default 200)",
			 &o->psys_interval_ms, CONFIG_INTERVAL_MS_MIN, CONFIG_INTERVAL_MS_MAX),
		OPT_STRING("config", "FILE", "carry idle_power_uw and energy_source over from FILE",
			   &o->config_in),
		OPT_DOUBLE("min-freq-share", "F",
			   "merge frequencies with less of the runtime (default " OPT__XSTR(
				   DEFAULT_MIN_FREQ_SHARE) ")",
			   &o->min_freq_share, 0, 0.5),
		OPT_CUSTOM("features", "LIST",
			   "the event counts to fit, comma-separated: default (wakeups, cycles, "
			   "instructions, cache_misses, migrations) and any column of "
			   "docs/csv-format.md's feature table, e.g. default,softirq_net_rx",
			   o->features, opt_features),
		OPT_DOUBLE(
			"mape-floor-uj", "UJ",
			"MAPE counts rows with |target| above UJ (default: " OPT__XSTR(
				DEFAULT_MAPE_FLOOR_SHARE) " of the training rows' mean |target|)",
			&o->mape_floor_uj, 0, 1e18, .seen = &o->mape_floor_given),
		OPT_FLAG("force",
			 "write the config even when the fit fails the quality gate (test R^2 < 0) "
			 "or a weight is out of range (clamped into range)",
			 &o->force),
		OPT_FLAG("verbose", "the time and memory of each step on stderr", &o->verbose),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "fit_energy",
		.synopsis = "[OPTIONS] SAMPLES.csv [MORE.csv ...] -o FITTED.conf",
		.about = "Fits an energy model to interval CSVs (http_energy --collect-csv) and "
			 "writes it\nas an energy_model.conf in model mode.",
		.footer =
			"Exit status: 0 written, 1 data or fit error (or refused), 2 usage error.",
		.opts = table,
		.args_name = "an input CSV",
		.min_args = 1,
		.max_args = UINT32_MAX,
	};
	enum opts_result r;
	int first;

	*o = (struct options){ .target = CSV_ACTIVE_PSYS_UJ,
			       .target_name = "active_psys_uj",
			       .method = FIT_NNLS,
			       .split = SPLIT_TIME,
			       .test_fraction = DEFAULT_TEST_FRACTION,
			       .min_freq_share = DEFAULT_MIN_FREQ_SHARE,
			       .seed = OPTS_SEED_DEFAULT,
			       .psys_interval_ms = 200 };
	for (int f = 0; f < MF_COUNT; f++)
		o->features[f] = model_feature_fit_default((enum model_feature)f);
	r = opts_parse(&spec, argc, argv, &first);
	if (r != OPTS_RUN)
		return r;
	log_set_verbose(o->verbose);
	o->inputs = argv + first;
	o->num_inputs = (size_t)(argc - first);
	if (!o->output) {
		log_error("no output config given: -o FITTED.conf (see --help)");
		return OPTS_USAGE;
	}
	if (o->cv_predictions_csv && o->cv.scheme == CV_NONE) {
		log_error("--cv-predictions-csv needs --cv (see --help)");
		return OPTS_USAGE;
	}
	return check_outputs(o);
}

/* Everything main() computes, released in one place. */
struct run {
	struct options o;
	struct dataset ds;
	struct design d;
	uint8_t *state;
	struct lsq *lsq;
	struct fit_result fit;
	struct metrics_acc *label_acc; /* 2 per label: train, test */
	struct metrics *label_train, *label_test;
	struct metrics train_m, test_m; /* of the fitted coefficients */
	size_t train, test;
	double mape_floor;
	/* --cv */
	uint32_t *fold; /* per row */
	struct cv_summary cv;
	double *cv_pred; /* per row: the held-out prediction; NaN for skipped rows */
	struct timespec t; /* --verbose timings */
};

/* --verbose: how long each step took, so a slow fit says where its time went. */
static void step_done(const char *step, struct timespec *since)
{
	struct timespec now;

	struct rusage ru = { 0 };

	clock_gettime(CLOCK_MONOTONIC, &now);
	getrusage(RUSAGE_SELF, &ru);
	log_debug("%s: %.3f s (peak RSS so far %ld MiB)", step,
		  (double)(now.tv_sec - since->tv_sec) +
			  (double)(now.tv_nsec - since->tv_nsec) / 1e9,
		  ru.ru_maxrss / 1024);
	*since = now;
}

static int load(struct run *r)
{
	struct csv_loader *l = NULL;
	int err = csv_loader__new(&r->ds, r->o.target, &l);

	if (err) {
		log_error("out of memory");
		return err;
	}
	if (r->o.target_gpu)
		csv_loader__target_add_gpu(l);
	for (size_t i = 0; i < r->o.num_inputs && !err; i++) {
		const struct ds_file *f;

		err = csv_loader__load_file(l, r->o.inputs[i]);
		if (err)
			break;
		f = &r->ds.files[r->ds.num_files - 1];
		log_info("%s: %zu rows, sha256 %.16s...", f->path, f->rows, f->sha256);
		if (f->synthetic_rows)
			log_info("%s: %zu of %zu rows come from the synthetic energy source (a "
				 "model, NOT a measurement)",
				 f->path, f->synthetic_rows, f->rows);
	}
	csv_loader__free(l);
	return err;
}

static const char *inputs_named(const struct options *o, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", o->inputs[0], o->num_inputs > 1 ? " and the other inputs" : "");
	return buf;
}

/* One half of the training rows into its own QR accumulator (reduce()). */
struct reduce_part {
	const struct run *r;
	size_t lo, hi;
	struct lsq *lsq;
	double sum_abs;
	int err;
};

static void *reduce_rows(void *arg)
{
	struct reduce_part *part = arg;
	const struct run *r = part->r;
	double x[DESIGN_MAX_FEATURES];

	for (size_t i = part->lo; i < part->hi && !part->err; i++) {
		if (r->state[i] != ROW_TRAIN)
			continue;
		design_row(&r->d, &r->ds, i, x);
		for (size_t j = 0; j < r->d.p; j++)
			x[j] /= r->d.feat[j].scale;
		part->err = lsq__add(part->lsq, x, r->ds.target[i]);
		part->sum_abs += fabs(r->ds.target[i]);
	}
	return NULL;
}

/*
 * Scaled rows into the QR accumulator; the mean |target| of the training rows. The rows
 * are reduced in two halves (the second by a thread) whose triangles are then stacked and
 * reduced again: the same least-squares problem, and always the same two halves, so the
 * result does not depend on the host's CPU count.
 */
static int reduce(struct run *r, double *mean_abs)
{
	struct reduce_part part[2] = {
		{ .r = r, .lo = 0, .hi = r->ds.rows / 2 },
		{ .r = r, .lo = r->ds.rows / 2, .hi = r->ds.rows },
	};
	pthread_t th;
	bool threaded;
	int err;

	r->lsq = part[0].lsq = lsq__new(r->d.p);
	part[1].lsq = lsq__new(r->d.p);
	if (!part[0].lsq || !part[1].lsq) {
		lsq__free(part[1].lsq);
		log_error("out of memory");
		return -ENOMEM;
	}
	threaded = !pthread_create(&th, NULL, reduce_rows, &part[1]);
	reduce_rows(&part[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		reduce_rows(&part[1]);
	err = part[0].err ? part[0].err : part[1].err;
	if (!err)
		err = lsq__merge(part[0].lsq, part[1].lsq);
	lsq__free(part[1].lsq);
	*mean_abs = r->train ? (part[0].sum_abs + part[1].sum_abs) / (double)r->train : 0;
	return err ? err : lsq__finish(r->lsq);
}

/* The robust fit of the rows state marks ROW_TRAIN (train of them) into *fit. */
static int fit_robust(struct run *r, const uint8_t *state, size_t train, struct fit_result *fit)
{
	gsl_matrix *X = gsl_matrix_alloc(train, r->d.p);
	gsl_vector *y = gsl_vector_alloc(train);
	size_t k = 0;
	int err;

	if (!X || !y) {
		log_error("robust: out of memory for the %zu x %zu training matrix", train, r->d.p);
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < r->ds.rows; i++) {
		double *row;

		if (state[i] != ROW_TRAIN)
			continue;
		row = gsl_matrix_ptr(X, k, 0);
		design_row(&r->d, &r->ds, i, row);
		for (size_t j = 0; j < r->d.p; j++)
			row[j] /= r->d.feat[j].scale;
		gsl_vector_set(y, k++, r->ds.target[i]);
	}
	err = solve_robust(X, y, fit);
cleanup:
	if (X)
		gsl_matrix_free(X);
	if (y)
		gsl_vector_free(y);
	return err;
}

/* Metrics of coef on the train and test rows, and per label when label_train is set. */
static void evaluate(struct run *r, const double *coef, struct metrics *train, struct metrics *test,
		     bool per_label)
{
	struct metrics_acc acc[2];
	double x[DESIGN_MAX_FEATURES];
	size_t nl = r->ds.num_labels;

	metrics_init(&acc[0], r->mape_floor);
	metrics_init(&acc[1], r->mape_floor);
	for (size_t l = 0; per_label && l < 2 * nl; l++)
		metrics_init(&r->label_acc[l], r->mape_floor);
	for (size_t i = 0; i < r->ds.rows; i++) {
		double yhat = 0;
		int s;

		if (r->state[i] == ROW_SKIPPED)
			continue;
		s = r->state[i] == ROW_TEST;
		design_row(&r->d, &r->ds, i, x);
		for (size_t j = 0; j < r->d.p; j++)
			yhat += coef[j] * x[j];
		metrics_add(&acc[s], r->ds.target[i], yhat);
		if (per_label)
			metrics_add(&r->label_acc[2 * r->ds.label[i] + (size_t)s], r->ds.target[i],
				    yhat);
	}
	metrics_result(&acc[0], train);
	metrics_result(&acc[1], test);
	for (size_t l = 0; per_label && l < nl; l++) {
		metrics_result(&r->label_acc[2 * l], &r->label_train[l]);
		metrics_result(&r->label_acc[2 * l + 1], &r->label_test[l]);
	}
}

/*
 * The idle power active_psys_uj was computed with: sum(idle_uj) / sum(duration) over the
 * used rows (each row's idle_uj is rounded to 1 uJ; summed, the rounding averages out),
 * and the lowest and highest single row's. Returns false when no row has idle_uj.
 */
static bool csv_idle_power(const struct run *r, double *mean, double *lo, double *hi)
{
	double uj = 0, s = 0;
	size_t n = 0;

	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < r->ds.rows; i++) {
		double p;

		if (r->state[i] == ROW_SKIPPED || isnan(r->ds.idle_uj[i]))
			continue;
		p = r->ds.idle_uj[i] / r->ds.duration_s[i];
		*lo = fmin(*lo, p);
		*hi = fmax(*hi, p);
		uj += r->ds.idle_uj[i];
		s += r->ds.duration_s[i];
		n++;
	}
	*mean = n ? uj / s : 0;
	return n > 0;
}

/* idle_power_uw for the config when it is not fitted, and where it came from. */
static void choose_idle(struct run *r, const struct energy_config *given, uint64_t *idle,
			const char **source)
{
	double mean = 0, lo = 0, hi = 0;
	bool have_csv = csv_idle_power(r, &mean, &lo, &hi);

	*idle = 0;
	if (r->d.idle_col >= 0) {
		*source = "fitted";
		if (given)
			log_info("idle_power_uw: the fitted value replaces %s's %llu uW",
				 r->o.config_in, (unsigned long long)given->idle_power_uw);
		return;
	}
	/* A row's idle_uj is rounded: 200 ms rows differ by up to 5 uW for that alone. */
	if (have_csv && hi - lo > 0.01 * mean + 10)
		log_info("idle_uj / duration varies from %.0f to %.0f uW across rows: the inputs "
			 "were collected with different idle_power_uw",
			 lo, hi);
	if (given) {
		*idle = given->idle_power_uw;
		*source = "--config";
		if (have_csv && fabs(mean - (double)*idle) > 0.01 * mean + 10)
			log_info("idle_power_uw: %s says %llu uW, but active_psys_uj was computed "
				 "with %.0f uW (idle_uj / duration); the config gets %llu uW",
				 r->o.config_in, (unsigned long long)*idle, mean,
				 (unsigned long long)*idle);
		return;
	}
	if (have_csv && mean > 0) {
		*idle = (uint64_t)llround(mean);
		*source = "idle_uj column";
		log_info("idle_power_uw: %llu uW, the idle power active_psys_uj was computed with "
			 "(idle_uj / duration)",
			 (unsigned long long)*idle);
		return;
	}
	*source = "none";
	log_info("warning: idle_power_uw is 0: no --config, no fitted idle power and no idle_uj "
		 "in the inputs; measure it with measure_idle_power");
}

static void print_metrics(const char *name, const struct metrics *m)
{
	if (!m->rows) {
		printf("%-6s no rows\n", name);
		return;
	}
	printf("%-6s rows %zu  MAE %.6g uJ  RMSE %.6g uJ  MAPE %.4g%% (%zu rows above %.6g uJ)  "
	       "R^2 %.6g\n",
	       name, m->rows, m->mae, m->rmse, m->mape, m->mape_rows, m->mape_floor, m->r2);
}

static void print_summary(const struct run *r, const struct metrics *train,
			  const struct metrics *test)
{
	const struct fit_result *f = &r->fit;

	char cv[32];

	cv_name(&r->o.cv, cv, sizeof(cv));
	if (r->o.cv.scheme != CV_NONE)
		printf("method %s, target %s, cross-validation %s (the model: all rows)\n",
		       fit_method_name(r->o.method), r->o.target_name, cv);
	else
		printf("method %s, target %s, split %s (test fraction %g)\n",
		       fit_method_name(r->o.method), r->o.target_name,
		       split_method_name(r->o.split), r->o.test_fraction);
	printf("rows: %zu read, %zu used (%zu train, %zu test), %zu skipped; %zu runs, %zu "
	       "labels\n",
	       r->ds.rows, r->d.used, r->train, r->test, r->ds.rows - r->d.used, r->ds.num_runs,
	       r->ds.num_labels);
	printf("design: %zu features, rank %zu, condition number %.4g\n", r->d.p, f->rank, f->cond);
	if (r->o.method == FIT_RIDGE)
		printf("ridge: lambda %.6g (GCV %.6g), on columns scaled to unit RMS\n", f->lambda,
		       f->gcv);
	printf("%-24s %15s %12s  %s\n", "feature", "coefficient", "std_error", "unit");
	for (size_t j = 0; j < r->d.p; j++)
		printf("%-24s %15.8g %12.4g  %s%s%s%s\n", r->d.feat[j].name, f->coef[j], f->se[j],
		       r->d.feat[j].unit, f->at_bound[j] ? "  (held at 0)" : "",
		       f->collinear[j] ? "  (collinear)" : "",
		       solve_uncertain(f, j) ? "  (uncertain)" : "");
	print_metrics("train:", train);
	print_metrics("test:", test);
	for (size_t l = 0; r->ds.num_labels > 1 && l < r->ds.num_labels; l++) {
		const struct metrics *tr = &r->label_train[l], *te = &r->label_test[l];

		printf("label %s: train R^2 %.6g MAPE %.4g%% (%zu rows), ", r->ds.labels[l], tr->r2,
		       tr->mape, tr->rows);
		if (te->rows)
			printf("test R^2 %.6g MAPE %.4g%% (%zu rows)\n", te->r2, te->mape,
			       te->rows);
		else
			printf("no test rows\n");
	}
}

static void make_header(const struct run *r, const struct metrics *test, char *buf, size_t size)
{
	size_t o = 0;

#define ADD(...)                                                                  \
	do {                                                                      \
		int n_ = snprintf(buf + o, o < size ? size - o : 0, __VA_ARGS__); \
		o += n_ > 0 ? (size_t)n_ : 0;                                     \
	} while (0)
	ADD("Fitted by fit_energy %s: %s fit of %s on %zu training rows (%zu test rows)\n",
	    HTTP_ENERGY_VERSION, fit_method_name(r->o.method), r->o.target_name, r->train, r->test);
	for (size_t i = 0; i < r->ds.num_files; i++)
		ADD("input %s (sha256 %s)\n", r->ds.files[i].path, r->ds.files[i].sha256);
	ADD("test R^2 %.6g, MAPE %.4g%%, RMSE %.6g uJ\n", test->r2, test->mape, test->rmse);
	ADD("Runtime below the lowest freq_khz entry costs default_multiplier, the lowest "
	    "entry's weight.");
#undef ADD
	if (o >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

/* Load, choose rows and columns, split: 0 or -1 (reported). */
static int prepare(struct run *r, const struct design_opts *dopts)
{
	const struct options *o = &r->o;
	char names[512];

	clock_gettime(CLOCK_MONOTONIC, &r->t);
	if (load(r))
		return -1;
	step_done("load", &r->t);
	r->state = malloc(r->ds.rows);
	if (!r->state) {
		log_error("out of memory");
		return -1;
	}
	if (design_prepare(&r->d, &r->ds, dopts, o->target_name, r->state))
		return -1;
	if (o->cv.scheme == CV_NONE &&
	    split_rows(&r->ds, r->state, o->split, o->test_fraction, o->seed, &r->test)) {
		log_error("out of memory");
		return -1;
	}
	r->train = r->d.used - r->test;
	if (design_finish(&r->d, &r->ds, dopts, r->state))
		return -1;
	if (!r->d.p) {
		log_error("%s: no feature is left to fit (every one was dropped: see above)",
			  inputs_named(o, names, sizeof(names)));
		return -1;
	}
	if (r->train < r->d.p) {
		log_error("%s: %zu training rows for %zu features: a fit needs at least as many "
			  "rows as features",
			  inputs_named(o, names, sizeof(names)), r->train, r->d.p);
		return -1;
	}
	if (!r->test && o->cv.scheme == CV_NONE)
		log_info("warning: no test rows (--test-fraction %g): the quality gate uses the "
			 "training rows, which overstate the model's quality",
			 o->test_fraction);
	step_done("design and split", &r->t);
	return 0;
}

/* Reduce, diagnose, solve, unscale, evaluate, print: 0 or -1 (reported). */
static int fit(struct run *r)
{
	const struct options *o = &r->o;
	double mean_abs;
	char names[512];
	int err;

	if (reduce(r, &mean_abs))
		return -1;
	step_done("QR reduction", &r->t);
	r->mape_floor =
		o->mape_floor_given ? o->mape_floor_uj : DEFAULT_MAPE_FLOOR_SHARE * mean_abs;
	if (solve_diagnose(r->lsq, &r->fit))
		return -1;
	if (r->fit.rank < r->d.p) {
		size_t n = 0;

		names[0] = '\0';
		for (size_t j = 0; j < r->d.p; j++)
			if (r->fit.collinear[j])
				n += (size_t)snprintf(names + n,
						      n < sizeof(names) ? sizeof(names) - n : 0,
						      "%s%s", n ? ", " : "", r->d.feat[j].name);
		log_info("warning: the design has rank %zu of %zu: collinear features (%s) "
			 "cannot be told apart; their split of the weight is arbitrary",
			 r->fit.rank, r->d.p, names);
	} else if (r->fit.cond > 1e8) {
		log_info("warning: condition number %.3g: the coefficients are ill-determined",
			 r->fit.cond);
	}
	switch (o->method) {
	case FIT_NNLS:
		err = solve_nnls(r->lsq, &r->fit);
		break;
	case FIT_OLS:
		err = solve_ols(r->lsq, &r->fit);
		break;
	case FIT_RIDGE:
		err = solve_ridge(r->lsq, &r->fit);
		break;
	default:
		err = fit_robust(r, r->state, r->train, &r->fit);
		break;
	}
	if (err)
		return -1;
	log_debug("%s: %zu iterations, training RSS %.6g", fit_method_name(o->method),
		  r->fit.iterations, r->fit.rss);
	solve_unscale(&r->fit, &r->d);
	for (size_t j = 0; j < r->d.p; j++)
		if (solve_uncertain(&r->fit, j))
			log_info(
				"warning: %s: standard error %.3g %s exceeds the coefficient %.6g: "
				"the data hardly determine it (more varied load helps)",
				r->d.feat[j].name, r->fit.se[j], r->d.feat[j].unit, r->fit.coef[j]);
	step_done(fit_method_name(o->method), &r->t);

	r->label_acc = calloc(2 * r->ds.num_labels, sizeof(*r->label_acc));
	r->label_train = calloc(r->ds.num_labels, sizeof(*r->label_train));
	r->label_test = calloc(r->ds.num_labels, sizeof(*r->label_test));
	if (!r->label_acc || !r->label_train || !r->label_test) {
		log_error("out of memory");
		return -1;
	}
	evaluate(r, r->fit.coef, &r->train_m, &r->test_m, true);
	step_done("metrics", &r->t);
	print_summary(r, &r->train_m, &r->test_m);
	return 0;
}

/* One fold: the rows state marks ROW_TRAIN fitted the way the whole fit was, unscaled. */
static int fit_fold(struct run *r, const uint8_t *state, size_t train, struct fit_result *fit)
{
	double x[DESIGN_MAX_FEATURES];
	struct lsq *l = lsq__new(r->d.p);
	int err = 0;

	memset(fit, 0, sizeof(*fit));
	if (!l) {
		log_error("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->ds.rows && !err; i++) {
		if (state[i] != ROW_TRAIN)
			continue;
		design_row(&r->d, &r->ds, i, x);
		for (size_t j = 0; j < r->d.p; j++)
			x[j] /= r->d.feat[j].scale;
		err = lsq__add(l, x, r->ds.target[i]);
	}
	if (!err)
		err = lsq__finish(l);
	if (!err)
		err = solve_diagnose(l, fit);
	if (!err) {
		switch (r->o.method) {
		case FIT_NNLS:
			err = solve_nnls(l, fit);
			break;
		case FIT_OLS:
			err = solve_ols(l, fit);
			break;
		case FIT_RIDGE:
			err = solve_ridge(l, fit);
			break;
		default:
			err = fit_robust(r, state, train, fit);
			break;
		}
	}
	if (!err)
		solve_unscale(fit, &r->d);
	lsq__free(l);
	return err;
}

static void print_cv_metrics(const char *name, const struct metrics *m, double dr)
{
	printf("%s rows %zu  MAE %.6g uJ  RMSE %.6g uJ  MAPE %.4g%%  R^2 %.6g  DRE %.4g%%\n", name,
	       m->rows, m->mae, m->rmse, m->mape, m->r2, dr);
}

/*
 * --cv: each fold fitted on the other folds' rows and tested on its own; the overall
 * figures pool every held-out prediction. 0 or -1 (reported).
 */
static int cross_validate(struct run *r)
{
	struct cv_summary *cv = &r->cv;
	double x[DESIGN_MAX_FEATURES], *coef = NULL, *se = NULL;
	struct metrics_acc all, *acc = NULL;
	uint8_t *state = NULL;
	char name[32];
	int ret = -1, err;

	cv->spec = r->o.cv;
	cv_name(&cv->spec, name, sizeof(name));
	r->fold = malloc((r->ds.rows ? r->ds.rows : 1) * sizeof(*r->fold));
	r->cv_pred = malloc((r->ds.rows ? r->ds.rows : 1) * sizeof(*r->cv_pred));
	state = malloc(r->ds.rows ? r->ds.rows : 1);
	if (!r->fold || !r->cv_pred || !state) {
		log_error("out of memory");
		goto cleanup;
	}
	err = cv_assign(&r->ds, r->state, &cv->spec, r->fold, &cv->num_folds);
	if (err == -EINVAL && cv->spec.scheme == CV_LABEL) {
		log_error("--cv label: the inputs have %zu label(s) with usable rows; leaving one "
			  "label out needs at least two",
			  r->ds.num_labels);
		goto cleanup;
	} else if (err == -EINVAL) {
		log_error("--cv %s: some block has no rows (%zu used rows); use a smaller K", name,
			  r->d.used);
		goto cleanup;
	} else if (err) {
		log_error("out of memory");
		goto cleanup;
	}
	if (cv_dynamic_range(&r->ds, r->state, &cv->range)) {
		log_error("out of memory");
		goto cleanup;
	}
	cv->folds = calloc(cv->num_folds, sizeof(*cv->folds));
	acc = calloc(cv->num_folds, sizeof(*acc));
	coef = calloc(cv->num_folds * r->d.p + 1, sizeof(*coef));
	se = calloc(cv->num_folds * r->d.p + 1, sizeof(*se));
	if (!cv->folds || !acc || !coef || !se) {
		log_error("out of memory");
		goto cleanup;
	}
	metrics_init(&all, r->mape_floor);
	for (size_t i = 0; i < r->ds.rows; i++)
		r->cv_pred[i] = NAN;
	for (size_t f = 0; f < cv->num_folds; f++) {
		struct cv_fold *fo = &cv->folds[f];

		if (cv->spec.scheme == CV_LABEL)
			snprintf(fo->held_out, sizeof(fo->held_out), "%s", r->ds.labels[f]);
		else
			snprintf(fo->held_out, sizeof(fo->held_out), "block %zu of %zu", f + 1,
				 cv->num_folds);
		for (size_t i = 0; i < r->ds.rows; i++) {
			state[i] = r->fold[i] == CV_NO_FOLD ? ROW_SKIPPED :
				   r->fold[i] == f	    ? ROW_TEST :
							      ROW_TRAIN;
			fo->train_rows += state[i] == ROW_TRAIN;
			fo->test_rows += state[i] == ROW_TEST;
		}
		if (fo->train_rows < r->d.p) {
			log_error("--cv %s: fold %zu (%s held out) has %zu training rows for %zu "
				  "features",
				  name, f + 1, fo->held_out, fo->train_rows, r->d.p);
			goto cleanup;
		}
		if (fit_fold(r, state, fo->train_rows, &fo->fit))
			goto cleanup;
		metrics_init(&acc[f], r->mape_floor);
		for (size_t i = 0; i < r->ds.rows; i++) {
			double yhat = 0;

			if (state[i] != ROW_TEST)
				continue;
			design_row(&r->d, &r->ds, i, x);
			for (size_t j = 0; j < r->d.p; j++)
				yhat += fo->fit.coef[j] * x[j];
			r->cv_pred[i] = yhat;
			metrics_add(&acc[f], r->ds.target[i], yhat);
			metrics_add(&all, r->ds.target[i], yhat);
		}
		metrics_result(&acc[f], &fo->m);
		fo->dr_error = cv->range > 0 ? 100 * fo->m.mae / cv->range : NAN;
		for (size_t j = 0; j < r->d.p; j++) {
			coef[f * r->d.p + j] = fo->fit.coef[j];
			se[f * r->d.p + j] = fo->fit.se[j];
		}
	}
	metrics_result(&all, &cv->overall);
	cv->overall_dr_error = cv->range > 0 ? 100 * cv->overall.mae / cv->range : NAN;
	for (size_t j = 0; j < r->d.p; j++) {
		cv_coef_stats(coef + j, se + j, cv->num_folds, r->d.p, r->fit.coef[j],
			      &cv->coef[j]);
		cv->unstable += cv->coef[j].sign_change || cv->coef[j].moves;
	}

	printf("cross-validation %s: %zu folds; dynamic range of %s (P99 - P1) %.6g uJ\n", name,
	       cv->num_folds, r->o.target_name, cv->range);
	for (size_t f = 0; f < cv->num_folds; f++) {
		char fname[360];

		snprintf(fname, sizeof(fname), "fold %zu (%s held out, %zu train):", f + 1,
			 cv->folds[f].held_out, cv->folds[f].train_rows);
		print_cv_metrics(fname, &cv->folds[f].m, cv->folds[f].dr_error);
	}
	print_cv_metrics("cv overall (held-out predictions):", &cv->overall, cv->overall_dr_error);
	for (size_t j = 0; j < r->d.p; j++) {
		const struct cv_coef *c = &cv->coef[j];

		if (!c->sign_change && !c->moves)
			continue;
		printf("unstable across folds: %s from %.6g to %.6g %s (all rows: %.6g)%s%s\n",
		       r->d.feat[j].name, c->min, c->max, r->d.feat[j].unit, r->fit.coef[j],
		       c->sign_change ? "  (changes sign)" : "",
		       c->moves ? "  (moves more than its standard error)" : "");
	}
	if (!cv->unstable)
		printf("stable across folds: every coefficient within its standard error, no sign "
		       "change\n");
	ret = 0;
cleanup:
	free(state);
	free(acc);
	free(coef);
	free(se);
	return ret;
}

/* --cv-predictions-csv: row,label,fold,measured,predicted for every used row. */
static int write_cv_predictions(const struct run *r, const char *path)
{
	char tmp[4096], q[1024];
	FILE *f;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path), fd;

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_error("%s: the name is too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		log_error("%s: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -EIO;
	}
	fprintf(f, "row,label,fold,measured,predicted\n");
	for (size_t i = 0; i < r->ds.rows; i++) {
		if (r->fold[i] == CV_NO_FOLD)
			continue;
		if (csv_quote(r->ds.labels[r->ds.label[i]], q, sizeof(q)) < 0)
			snprintf(q, sizeof(q), "?");
		fprintf(f, "%zu,%s,%u,%.17g,%.17g\n", i + 1, q, r->fold[i] + 1, r->ds.target[i],
			r->cv_pred[i]);
	}
	if (fflush(f) || ferror(f) | fsync(fileno(f))) {
		log_error("%s: %s", path, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	fclose(f);
	if (rename(tmp, path)) {
		log_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/*
 * The quality gate: no worse than predicting the test set's own mean. Returns whether it
 * passed; why says what it found, rep->gate_set on which rows.
 */
static bool quality_gate(const struct run *r, struct fit_report *rep, char *why, size_t size)
{
	const struct metrics *g = r->test ? &r->test_m : &r->train_m;
	const char *set = r->test ? "test" : "training";

	if (r->o.cv.scheme != CV_NONE) {
		g = &r->cv.overall;
		set = "cross-validated";
	}
	rep->gate_set = set;
	if (isnan(g->r2))
		snprintf(why, size, "%s R^2 is undefined (the %s target is constant)", set, set);
	else
		snprintf(why, size,
			 "%s R^2 is %.4g < 0: the model predicts the %s rows worse than their mean",
			 set, g->r2, set);
	return g->r2 >= 0;
}

static void fill_report(const struct run *r, struct fit_report *rep)
{
	const struct options *o = &r->o;

	rep->version = HTTP_ENERGY_VERSION;
	rep->method = fit_method_name(o->method);
	rep->target = o->target_name;
	rep->split = o->cv.scheme != CV_NONE ? "none (--cv)" : split_method_name(o->split);
	rep->config_in = o->config_in;
	rep->output = o->output;
	rep->test_fraction = o->test_fraction;
	rep->min_freq_share = o->min_freq_share;
	rep->features = o->features;
	rep->seed = o->seed;
	rep->psys_interval_ms = o->psys_interval_ms;
	rep->force = o->force;
	rep->ds = &r->ds;
	rep->d = &r->d;
	rep->fit = &r->fit;
	rep->train_rows = r->train;
	rep->test_rows = r->test;
	rep->train = r->train_m;
	rep->test = r->test_m;
	rep->label_train = r->label_train;
	rep->label_test = r->label_test;
	rep->cv = o->cv.scheme != CV_NONE ? &r->cv : NULL;
}

/* The config (unless refused), predictions and report: the exit status. */
static int conclude(struct run *r, const struct energy_config *given)
{
	const struct options *o = &r->o;
	struct model_clamp clamps[DESIGN_MAX_FEATURES];
	double written[DESIGN_MAX_FEATURES];
	struct fit_report rep = { 0 };
	struct energy_config cfg;
	const char *idle_source = "none", *refusal = NULL;
	char why[256], header[4096];
	size_t num_clamps = 0;
	uint64_t idle = 0;
	bool range_ok, gate_ok;
	int status = 0;

	choose_idle(r, given, &idle, &idle_source);
	range_ok = !model_to_config(
		&r->d, r->fit.coef,
		&(struct model_opts){ .psys_interval_ms = o->psys_interval_ms,
				      .idle_power_uw = idle,
				      .energy_source = given ? given->energy_source : NULL,
				      .force = o->force },
		&cfg, written, clamps, &num_clamps);
	if (!range_ok) {
		refusal = "a coefficient is out of the config's range";
		status = 1; /* each coefficient was named */
	}
	if (num_clamps) {
		evaluate(r, written, &rep.written_train, &rep.written_test, false);
		rep.clamped = true;
		printf("as written (clamped): train R^2 %.6g, test R^2 %.6g\n",
		       rep.written_train.r2, rep.written_test.r2);
	}
	if (!r->fit.converged && o->force) {
		log_info("warning: robust: no convergence in the iteration limit; writing the last "
			 "iterate (--force)");
	} else if (!r->fit.converged) {
		log_error("robust: no convergence in the iteration limit; not writing %s (--force "
			  "writes the last iterate)",
			  o->output);
		refusal = refusal ? refusal : "robust regression did not converge";
		status = 1;
	}
	gate_ok = quality_gate(r, &rep, why, sizeof(why));
	if (!gate_ok && o->force) {
		log_info("warning: %s; writing %s anyway (--force)", why, o->output);
	} else if (!gate_ok) {
		log_error("not writing %s: %s (--force writes it anyway)", o->output, why);
		refusal = refusal ? refusal : why;
		status = 1;
	}

	/* Predictions first: if they cannot be written, neither is the config. */
	if (o->predictions_csv &&
	    report_write_predictions(o->predictions_csv, &r->ds, &r->d, r->state, r->fit.coef)) {
		refusal = refusal ? refusal : "the predictions could not be written";
		status = 1;
	}
	if (o->cv_predictions_csv && write_cv_predictions(r, o->cv_predictions_csv)) {
		refusal =
			refusal ? refusal : "the cross-validation predictions could not be written";
		status = 1;
	}
	if (!status) {
		make_header(r, &r->test_m, header, sizeof(header));
		if (model_write_config(o->output, &cfg, header))
			status = 1;
		else
			rep.config_written = true;
	}
	if (o->report_json) {
		fill_report(r, &rep);
		rep.clamps = clamps;
		rep.num_clamps = num_clamps;
		rep.written = range_ok ? written : NULL;
		rep.idle_power_uw = cfg.idle_power_uw;
		rep.idle_source = idle_source;
		rep.gate_passed = gate_ok;
		rep.refusal = rep.config_written ? NULL : refusal;
		if (report_write_json(o->report_json, &rep))
			status = 1;
	}
	if (rep.config_written)
		printf("wrote %s (read back: identical)\n", o->output);
	return status;
}

static int run_fit(struct run *r)
{
	const struct options *o = &r->o;
	struct design_opts dopts = { .fit_idle = o->target == CSV_INTERVAL_PSYS_UJ,
				     .min_freq_share = o->min_freq_share };
	struct energy_config given;

	memcpy(dopts.features, o->features, sizeof(dopts.features));
	if (o->config_in && config_parse_file(o->config_in, &given))
		return 1;
	if (prepare(r, &dopts) || fit(r))
		return 1;
	if (o->cv.scheme != CV_NONE && cross_validate(r))
		return 1;
	return conclude(r, o->config_in ? &given : NULL);
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	int ret;

	ret = parse_options(argc, argv, &r.o);
	if (ret != OPTS_RUN)
		return opts_exit_status(ret);
	/* Every GSL call's status is checked; GSL must not abort the program itself. */
	gsl_set_error_handler_off();
	dataset__init(&r.ds);
	ret = run_fit(&r);
	fflush(stdout);
	lsq__free(r.lsq);
	design_free(&r.d);
	dataset__free(&r.ds);
	free(r.state);
	free(r.label_acc);
	free(r.label_train);
	free(r.label_test);
	free(r.fold);
	free(r.cv_pred);
	free(r.cv.folds);
	return ret;
}
