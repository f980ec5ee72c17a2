// SPDX-License-Identifier: MIT
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_schema.h"
#include "log.h"

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* File names need not be UTF-8; JSON strings must be. */
static json_t *str(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *metrics_json(const struct metrics *m)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "rows", jint(m->rows), "mae_uj",
			 num(m->mae), "rmse_uj", num(m->rmse), "mape_percent", num(m->mape),
			 "mape_rows", jint(m->mape_rows), "mape_floor_uj", num(m->mape_floor), "r2",
			 num(m->r2));
}

static json_t *feature_json(const struct fit_report *r, size_t j)
{
	const struct feature *f = &r->d->feat[j];
	const char *kind = f->kind == FEATURE_FREQ  ? "freq" :
			   f->kind == FEATURE_COUNT ? "count" :
						      "idle";
	json_t *o = json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:b, s:b}", "name", str(f->name),
			      "kind", kind, "unit", f->unit, "coefficient", num(r->fit->coef[j]),
			      "std_error", num(r->fit->se[j]), "scale", num(f->scale), "at_bound",
			      r->fit->at_bound[j], "collinear", r->fit->collinear[j]);

	if (o && f->kind == FEATURE_FREQ) {
		json_object_set_new(o, "freq_khz", jint(f->freq_khz));
		json_object_set_new(o, "runtime_share", num(f->runtime_share));
	}
	if (o) {
		json_object_set_new(o, "uncertain", json_boolean(solve_uncertain(r->fit, j)));
		json_object_set_new(o, "written", r->written ? num(r->written[j]) : json_null());
	}
	return o;
}

static json_t *cv_metrics_json(const struct metrics *m, double dr)
{
	json_t *o = metrics_json(m);

	if (o)
		json_object_set_new(o, "dynamic_range_error_percent", num(dr));
	return o;
}

/* "cross_validation": scheme, folds (held out, rows, metrics, coefficients), overall. */
static json_t *cv_json(const struct fit_report *r)
{
	const struct cv_summary *cv = r->cv;
	const struct design *d = r->d;
	json_t *folds = json_array(), *coefs = json_array(), *o;
	char name[32];

	cv_name(&cv->spec, name, sizeof(name));
	for (size_t f = 0; folds && f < cv->num_folds; f++) {
		const struct cv_fold *fo = &cv->folds[f];
		json_t *c = json_object();

		for (size_t j = 0; c && j < d->p; j++)
			json_object_set_new(c, d->feat[j].name, num(fo->fit.coef[j]));
		json_array_append_new(folds, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "fold",
						       jint(f + 1), "held_out", str(fo->held_out),
						       "train_rows", jint(fo->train_rows),
						       "test_rows", jint(fo->test_rows), "metrics",
						       cv_metrics_json(&fo->m, fo->dr_error),
						       "coefficients", c));
	}
	for (size_t j = 0; coefs && j < d->p; j++)
		json_array_append_new(
			coefs, json_pack("{s:o, s:o, s:o, s:o, s:b, s:b}", "name",
					 str(d->feat[j].name), "all_rows", num(r->fit->coef[j]),
					 "min", num(cv->coef[j].min), "max", num(cv->coef[j].max),
					 "changes_sign", cv->coef[j].sign_change,
					 "moves_more_than_std_error", cv->coef[j].moves));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "scheme", name, "num_folds",
		      jint(cv->num_folds), "dynamic_range_uj", num(cv->range), "folds", folds,
		      "overall", cv_metrics_json(&cv->overall, cv->overall_dr_error),
		      "coefficient_stability", coefs, "unstable_coefficients", jint(cv->unstable));
	return o;
}

static json_t *build(const struct fit_report *r)
{
	const struct dataset *ds = r->ds;
	const struct design *d = r->d;
	json_t *root = json_object(), *a, *o;

	if (!root)
		return NULL;
	json_object_set_new(root, "program", json_string("fit_energy"));
	json_object_set_new(root, "version", str(r->version));
	json_object_set_new(root, "options",
			    json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o}",
				      "method", r->method, "target", r->target, "split", r->split,
				      "test_fraction", num(r->test_fraction), "seed", jint(r->seed),
				      "psys_interval_ms", jint(r->psys_interval_ms), "force",
				      r->force, "min_freq_share", num(r->min_freq_share), "config",
				      str(r->config_in), "output", str(r->output)));
	a = json_array();
	for (int f = 0; a && r->features && f < MF_COUNT; f++)
		if (r->features[f])
			json_array_append_new(a, json_string(model_feature_name((enum model_feature)f)));
	o = json_object_get(root, "options");
	if (o && a)
		json_object_set_new(o, "features", a);
	else
		json_decref(a);

	a = json_array();
	for (size_t i = 0; a && i < ds->num_files; i++)
		json_array_append_new(
			a, json_pack("{s:o, s:s, s:o, s:o, s:o}", "path", str(ds->files[i].path),
				     "sha256", ds->files[i].sha256, "bytes",
				     jint(ds->files[i].bytes), "rows", jint(ds->files[i].rows),
				     "synthetic_rows", jint(ds->files[i].synthetic_rows)));
	json_object_set_new(root, "inputs", a);

	o = json_object();
	for (int c = 0; o && c < MF_COUNT; c++)
		json_object_set_new(o, model_feature_name(c), jint(d->skipped_count[c]));
	json_object_set_new(root, "rows",
			    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "read",
				      jint(ds->rows), "used", jint(d->used), "skipped",
				      jint(ds->rows - d->used), "skipped_empty_target",
				      jint(d->skipped_target), "skipped_empty_count", o, "train",
				      jint(r->train_rows), "test", jint(r->test_rows), "runs",
				      jint(ds->num_runs), "labels", jint(ds->num_labels)));

	a = json_array();
	for (size_t j = 0; a && j < d->p; j++)
		json_array_append_new(a, feature_json(r, j));
	json_object_set_new(root, "features", a);
	a = json_array();
	for (size_t j = 0; a && j < d->num_dropped; j++)
		json_array_append_new(a, json_pack("{s:o, s:o}", "name", str(d->dropped[j].name),
						   "reason", str(d->dropped[j].why)));
	json_object_set_new(root, "dropped_features", a);
	a = json_array();
	for (size_t j = 0; a && j < d->num_merges; j++)
		json_array_append_new(a, json_pack("{s:o, s:o, s:o}", "from_khz",
						   jint(d->merges[j].from_khz), "into_khz",
						   jint(d->merges[j].into_khz), "runtime_share",
						   num(d->merges[j].share)));
	json_object_set_new(root, "merged_frequencies", a);

	json_object_set_new(root, "num_features", jint(d->p));
	json_object_set_new(root, "rank", jint(r->fit->rank));
	json_object_set_new(root, "condition_number", num(r->fit->cond));
	a = json_array();
	for (size_t j = 0; a && j < d->p; j++)
		json_array_append_new(a, num(r->fit->singular[j]));
	json_object_set_new(root, "singular_values", a);
	json_object_set_new(root, "solver",
			    json_pack("{s:s, s:o, s:o, s:o, s:b, s:o}", "method", r->method,
				      "iterations", jint(r->fit->iterations), "lambda",
				      num(r->fit->lambda), "gcv", num(r->fit->gcv), "converged",
				      r->fit->converged, "rss_train", num(r->fit->rss)));

	o = json_object();
	for (size_t l = 0; o && l < ds->num_labels; l++)
		json_object_set_new(o, ds->labels[l],
				    json_pack("{s:o, s:o}", "train",
					      metrics_json(&r->label_train[l]), "test",
					      metrics_json(&r->label_test[l])));
	json_object_set_new(root, "metrics",
			    json_pack("{s:o, s:o, s:o}", "train", metrics_json(&r->train), "test",
				      metrics_json(&r->test), "per_label", o));
	if (r->clamped)
		json_object_set_new(json_object_get(root, "metrics"), "written_model",
				    json_pack("{s:o, s:o}", "train",
					      metrics_json(&r->written_train), "test",
					      metrics_json(&r->written_test)));

	json_object_set_new(root, "idle_power_uw", jint(r->idle_power_uw));
	json_object_set_new(root, "idle_power_source", str(r->idle_source));
	json_object_set_new(root, "quality_gate",
			    json_pack("{s:b, s:s, s:o}", "passed", r->gate_passed, "r2_of",
				      r->gate_set, "r2",
				      num(r->cv			       ? r->cv->overall.r2 :
					  !strcmp(r->gate_set, "test") ? r->test.r2 :
									 r->train.r2)));
	if (r->cv)
		json_object_set_new(root, "cross_validation", cv_json(r));
	a = json_array();
	for (size_t j = 0; a && j < r->num_clamps; j++)
		json_array_append_new(a,
				      json_pack("{s:o, s:o, s:o}", "name", str(r->clamps[j].name),
						"value", num(r->clamps[j].value), "written",
						num(r->clamps[j].written)));
	json_object_set_new(root, "config",
			    json_pack("{s:o, s:b, s:o, s:o}", "path", str(r->output), "written",
				      r->config_written, "refusal", str(r->refusal), "clamped", a));
	return root;
}

int report_write_json(const char *path, const struct fit_report *r)
{
	json_t *root = build(r);
	int err = 0;

	if (!root) {
		log_error("%s: out of memory", path);
		return -ENOMEM;
	}
	if (json_dump_file(root, path, JSON_INDENT(2) | JSON_ENSURE_ASCII)) {
		err = -EIO;
		log_error("%s: cannot write the JSON report: %s", path, strerror(errno));
	}
	json_decref(root);
	return err;
}

int report_write_predictions(const char *path, const struct dataset *ds, const struct design *d,
			     const uint8_t *state, const double *coef)
{
	static const char *const split_name[] = { [ROW_TRAIN] = "train", [ROW_TEST] = "test" };
	char **quoted = calloc(ds->num_labels ? ds->num_labels : 1, sizeof(*quoted));
	double x[DESIGN_MAX_FEATURES];
	FILE *f = NULL;
	int err = -ENOMEM;

	if (!quoted)
		goto fail;
	for (size_t l = 0; l < ds->num_labels; l++) {
		size_t cap = 2 * strlen(ds->labels[l]) + 3;

		quoted[l] = malloc(cap);
		if (!quoted[l] || csv_quote(ds->labels[l], quoted[l], cap) < 0)
			goto fail;
	}
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		log_error("%s: %s", path, strerror(errno));
		goto cleanup;
	}
	fputs("row,label,split,measured,predicted\n", f);
	for (size_t i = 0; i < ds->rows; i++) {
		double yhat = 0;

		if (state[i] == ROW_SKIPPED)
			continue;
		design_row(d, ds, i, x);
		for (size_t j = 0; j < d->p; j++)
			yhat += coef[j] * x[j];
		fprintf(f, "%zu,%s,%s,%.17g,%.3f\n", i + 1, quoted[ds->label[i]],
			split_name[state[i]], ds->target[i], yhat);
	}
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	f = NULL;
	if (err)
		log_error("%s: cannot write the predictions: %s", path, strerror(-err));
	goto cleanup;
fail:
	log_error("%s: out of memory", path);
cleanup:
	if (f)
		fclose(f);
	for (size_t l = 0; quoted && l < ds->num_labels; l++)
		free(quoted[l]);
	free(quoted);
	return err;
}
