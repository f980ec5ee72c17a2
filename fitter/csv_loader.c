// SPDX-License-Identifier: MIT
#include "csv_loader.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

#define READ_CHUNK (1 << 20)
#define ENERGY_MAX 1e18 /* uJ: a TJ per interval is not a reading, it is corruption */

/* Grows *p to cap elements: 0, or -ENOMEM with *p unchanged. */
static int resize_array(void **p, size_t cap, size_t elem)
{
	void *n = cap > SIZE_MAX / elem ? NULL : realloc(*p, cap * elem);

	if (!n)
		return -ENOMEM;
	*p = n;
	return 0;
}

/* What a column is to the fitter. */
enum role {
	R_NONE,
	R_INTERVAL,
	R_LABEL,
	R_T_START,
	R_T_END,
	R_SOURCE,
	R_TARGET,
	R_IDLE,
	R_FREQ,
	R_GPU, /* gpu_energy_uj: checked; added to the target with --target ...+gpu_energy_uj */
	R_COUNT, /* R_COUNT + enum model_feature */
	R_ROLES = R_COUNT + MF_COUNT,
	/* Schema columns the fitter does not use: only checked (their name in col_name). */
	R_CHK_COUNT = R_ROLES, /* a whole number >= 0, or empty */
	R_CHK_ENERGY, /* uJ >= 0, or empty */
	R_CHK_SENERGY, /* signed uJ, or empty */
};

struct csv_loader {
	struct dataset *ds;
	enum csv_column target;
	bool target_gpu; /* the target is target + gpu_energy_uj */
	struct csv_parser parser;
	bool parser_live;
	char *name;
	int err; /* first error; the callbacks do nothing once it is set */

	/* Position: the line the current record started on, and its next field. */
	unsigned long line, record_line;
	bool prev_cr;
	size_t field;
	bool header_done;

	/* Header: a role per column, and the column of each role (0 = absent). */
	unsigned char *roles;
	const char **col_name; /* schema columns: the name; others NULL */
	size_t num_cols, roles_cap;
	size_t col_of[R_ROLES];

	/* The row being read. */
	bool row_open;
	uint64_t interval, t_start, t_end;
	uint32_t label;
	uint32_t last_khz;
	double gpu_uj; /* this row's gpu_energy_uj; NaN: empty */

	/* The previous row of this file, for run boundaries. */
	bool have_prev;
	uint64_t prev_interval;
	uint32_t prev_label;
};

/* Every message of the loader goes through here. */
static void __attribute__((format(printf, 2, 3)))
lerr(const struct csv_loader *l, const char *fmt, ...)
{
	va_list ap;

	(void)l; /* the place to silence or redirect the loader's messages */
	va_start(ap, fmt);
	log_vprintf(fmt, ap);
	va_end(ap);
}

static const char *role_column(const struct csv_loader *l, enum role r)
{
	switch (r) {
	case R_INTERVAL:
		return csv_column_name(CSV_INTERVAL);
	case R_LABEL:
		return csv_column_name(CSV_LABEL);
	case R_T_START:
		return csv_column_name(CSV_T_START_NS);
	case R_T_END:
		return csv_column_name(CSV_T_END_NS);
	case R_SOURCE:
		return csv_column_name(CSV_ENERGY_SOURCE);
	case R_TARGET:
		return csv_column_name(l->target);
	case R_IDLE:
		return csv_column_name(CSV_IDLE_UJ);
	case R_FREQ:
		return csv_column_name(CSV_FREQ_RUNTIME_NS);
	case R_GPU:
		return csv_column_name(CSV_GPU_ENERGY_UJ); /* empty on hosts without GPUs */
	default:
		if (r >= R_COUNT && r < R_ROLES)
			return model_feature_name((enum model_feature)(r - R_COUNT));
		return NULL;
	}
}

/*
 * The idle_uj and energy_source columns are optional, gpu_energy_uj unless the target
 * includes it, and a feature not fitted by default (model_features.h); every other role
 * is required.
 */
static bool role_required(const struct csv_loader *l, enum role r)
{
	if (r == R_GPU)
		return l->target_gpu;
	if (r >= R_COUNT && r < R_ROLES)
		return model_feature_fit_default((enum model_feature)(r - R_COUNT));
	return r != R_NONE && r != R_IDLE && r != R_SOURCE;
}

/* "NAME:LINE:COL: WHAT" */
static void __attribute__((format(printf, 4, 5)))
where_error(struct csv_loader *l, unsigned long line, size_t col, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lerr(l, "%s:%lu:%zu: %s", l->name, line, col, what);
	l->err = -EINVAL;
}

static void quoted_line_break(struct csv_loader *l)
{
	where_error(l, l->record_line, l->field + 1,
		    "a quoted field holds a line break (interval CSVs have none)");
}

static bool has_line_break(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' || s[i] == '\r')
			return true;
	return false;
}

/* "NAME:LINE:COL: COLUMN: "VALUE" WHY" for the current field. */
static void field_error(struct csv_loader *l, const char *val, size_t len, const char *why, int err)
{
	const char *col = l->field < l->num_cols ? l->col_name[l->field] : NULL;
	char vq[160];

	/* Numbers are checked for line breaks only when they fail to parse: it is cheaper. */
	if (has_line_break(val, len)) {
		quoted_line_break(l);
		return;
	}

	lerr(l, "%s:%lu:%zu: %s: \"%s\" %s", l->name, l->record_line, l->field + 1, col ? col : "?",
	     log_quote(val, len, vq, sizeof(vq)), why);
	l->err = err;
}

static bool is_nonfinite_word(const char *s, size_t len)
{
	static const char *const words[] = { "nan",  "+nan",	 "-nan",      "inf",	  "+inf",
					     "-inf", "infinity", "+infinity", "-infinity" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && !strncasecmp(s, words[i], len))
			return true;
	return false;
}

/* The names http_energy writes in energy_source (docs/energy-sources.md). */
static bool is_source_name(const char *s, size_t len)
{
	static const char *const names[] = { "psys",  "rapl",	"powercap",
					     "hwmon", "replay", "synthetic" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !memcmp(s, names[i], len))
			return true;
	return false;
}

/* A count: a whole number >= 0. */
static int parse_count(struct csv_loader *l, const char *s, size_t len, uint64_t max, uint64_t *out)
{
	int err = parse_u64_n(s, len, 0, max, out);

	if (!err)
		return 0;
	if (len && s[0] == '-' && !parse_double_n(s + 1, len - 1, 0, INFINITY, &(double){ 0 }))
		field_error(l, s, len, "is negative (a count cannot be)", -EINVAL);
	else if (is_nonfinite_word(s, len))
		field_error(l, s, len, "is not a finite number", -EINVAL);
	else if (err == -ERANGE)
		field_error(l, s, len, "is out of range", -ERANGE);
	else
		field_error(l, s, len, "is not a whole number", -EINVAL);
	return l->err;
}

static int parse_energy(struct csv_loader *l, const char *s, size_t len, double min, double *out)
{
	int err = parse_double_n(s, len, -ENERGY_MAX, ENERGY_MAX, out);

	if (!err && *out < min) {
		field_error(l, s, len, "is negative (measured energy cannot be)", -ERANGE);
		return l->err;
	}
	if (!err)
		return 0;
	if (is_nonfinite_word(s, len))
		field_error(l, s, len, "is not a finite number", -EINVAL);
	else if (err == -ERANGE)
		field_error(l, s, len, "is out of range -1e18..1e18 uJ", -ERANGE);
	else
		field_error(l, s, len, "is not a number", -EINVAL);
	return l->err;
}

/* RFC 3629 UTF-8 without control characters: labels end up in JSON and CSV. */
static const char *label_problem(const unsigned char *s, size_t len)
{
	if (len > CSV_LOADER_LABEL_MAX)
		return "is longer than 255 bytes";
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return "is not valid UTF-8";
		if (i + n >= len) /* the sequence is cut off */
			return "is not valid UTF-8";
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return "is not valid UTF-8";
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return "is not valid UTF-8";
		i += n + 1;
	}
	return NULL;
}

/* "khz:ns;khz:ns", sorted by kHz; empty = no runtime in the interval. */
static int parse_freqs(struct csv_loader *l, const char *s, size_t len)
{
	struct dataset *ds = l->ds;
	size_t pos = 0, entry = 0;
	bool have_last = false;
	char why[160];

	while (pos < len) {
		const char *e = s + pos, *semi = memchr(e, ';', len - pos), *colon;
		size_t elen = semi ? (size_t)(semi - e) : len - pos;
		uint64_t khz, ns;
		uint32_t id;
		int err;

		entry++;
		colon = memchr(e, ':', elen);
		if (elen == 0) {
			snprintf(why, sizeof(why), "has an empty entry %zu", entry);
			goto bad;
		}
		if (!colon) {
			snprintf(why, sizeof(why), "entry %zu is not \"khz:ns\"", entry);
			goto bad;
		}
		err = parse_u64_n(e, (size_t)(colon - e), 0, UINT32_MAX, &khz);
		if (err) {
			snprintf(why, sizeof(why), "entry %zu: the kHz %s", entry,
				 err == -ERANGE ? "is out of range 0..4294967295" :
						  "is not a whole number");
			goto bad;
		}
		err = parse_u64_n(colon + 1, elen - (size_t)(colon - e) - 1, 0, UINT64_MAX, &ns);
		if (err) {
			snprintf(why, sizeof(why), "entry %zu: the runtime %s", entry,
				 err == -ERANGE ? "is out of range" :
						  "is not a whole number of ns");
			goto bad;
		}
		if (have_last && khz <= l->last_khz) {
			snprintf(
				why, sizeof(why),
				"entry %zu: kHz %llu does not follow %u (entries are sorted by kHz, "
				"each once)",
				entry, (unsigned long long)khz, l->last_khz);
			goto bad;
		}
		have_last = true;
		l->last_khz = (uint32_t)khz;
		pos += elen + 1;
		if (ns == 0)
			continue; /* nothing to fit */
		err = dataset__intern_freq(ds, (uint32_t)khz, &id);
		if (!err)
			err = dataset__add_pair(ds, id, (double)ns);
		if (err) {
			lerr(l, "%s:%lu:%zu: %s", l->name, l->record_line, l->field + 1,
			     err == -ENOMEM ? "out of memory" : "too many distinct frequencies");
			return l->err = err;
		}
	}
	if (len && s[len - 1] == ';') {
		snprintf(why, sizeof(why), "ends with ';'");
		goto bad;
	}
	return 0;
bad:
	field_error(l, s, len, why, -EINVAL);
	return l->err;
}

/* The role of a schema column the fitter does not use: how its cells are checked. */
static enum role check_role(int col)
{
	switch (col) {
	case CSV_INTERVAL_PSYS_UJ:
	case CSV_IDLE_UJ:
	case CSV_REQUEST_ENERGY_UJ:
	case CSV_ATTRIBUTED_UJ:
		return R_CHK_ENERGY;
	case CSV_ACTIVE_PSYS_UJ:
		return R_CHK_SENERGY;
	case CSV_RUNTIME_NS:
	case CSV_IDLE_NS:
	case CSV_IRQ_NS:
	case CSV_SOFTIRQ_NS:
	case CSV_KTHREAD_RUNTIME_NS:
	case CSV_PAGE_CACHE_HITS:
	case CSV_WRITEBACKS:
	case CSV_CGROUP_RUNTIME_NS:
	case CSV_REQUESTS:
		return R_CHK_COUNT;
	default:
		return R_NONE;
	}
}

static int grow_columns(struct csv_loader *l)
{
	size_t cap = l->roles_cap ? l->roles_cap * 2 : 64;
	unsigned char *n = realloc(l->roles, cap);
	const char **names;

	if (!n)
		return -ENOMEM;
	l->roles = n;
	names = realloc(l->col_name, cap * sizeof(*names));
	if (!names)
		return -ENOMEM;
	l->col_name = names;
	l->roles_cap = cap;
	return 0;
}

static void header_field(struct csv_loader *l, const char *s, size_t len)
{
	const char *name = NULL;
	int r = R_NONE;

	if (l->field == 0 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3; /* a UTF-8 byte order mark from a spreadsheet */
		len -= 3;
	}
	for (int i = R_INTERVAL; i < R_ROLES; i++) {
		const char *n = role_column(l, (enum role)i);

		if (strlen(n) == len && !memcmp(n, s, len)) {
			r = i;
			name = n;
			break;
		}
	}
	if (r == R_NONE && len < 64) {
		char buf[64];
		int col;

		memcpy(buf, s, len);
		buf[len] = '\0';
		col = csv_column_find(buf);
		if (col >= 0) {
			r = check_role(col);
			name = r != R_NONE ? csv_column_name((enum csv_column)col) : NULL;
		}
	}
	if (l->num_cols == l->roles_cap && grow_columns(l)) {
		lerr(l, "%s: out of memory", l->name);
		l->err = -ENOMEM;
		return;
	}
	if (r != R_NONE && r < R_ROLES && l->col_of[r]) {
		where_error(l, l->record_line, l->field + 1,
			    "column \"%s\" appears twice (columns %zu and %zu)", role_column(l, r),
			    l->col_of[r], l->field + 1);
		return;
	}
	if (r != R_NONE && r < R_ROLES)
		l->col_of[r] = l->field + 1;
	l->col_name[l->num_cols] = name;
	l->roles[l->num_cols++] = (unsigned char)r;
}

static void header_end(struct csv_loader *l)
{
	char missing[512] = "";
	size_t o = 0;

	for (int r = R_INTERVAL; r < R_ROLES; r++) {
		if (!role_required(l, (enum role)r) || l->col_of[r])
			continue;
		o += (size_t)snprintf(missing + o, o < sizeof(missing) ? sizeof(missing) - o : 0,
				      "%s%s", o ? ", " : "", role_column(l, (enum role)r));
	}
	if (o)
		where_error(l, l->record_line, 1,
			    "the header lacks required column(s) %s (is this an interval CSV "
			    "from http_energy --collect-csv?)",
			    missing);
	l->header_done = true;
}

static void row_field(struct csv_loader *l, const char *s, size_t len)
{
	struct dataset *ds = l->ds;
	size_t i = ds->rows;
	enum role r;
	uint64_t u;
	int err;

	if (l->field >= l->num_cols) {
		where_error(l, l->record_line, l->field + 1, "more fields than the header's %zu",
			    l->num_cols);
		return;
	}
	if (!l->row_open) {
		err = dataset__row_begin(ds);
		if (err) {
			lerr(l, "%s:%lu: out of memory", l->name, l->record_line);
			l->err = err;
			return;
		}
		l->row_open = true;
		l->gpu_uj = NAN;
	}
	r = (enum role)l->roles[l->field];
	switch (r) {
	case R_NONE:
		return;
	case R_INTERVAL:
	case R_T_START:
	case R_T_END:
		if (len == 0) {
			field_error(l, s, len, "is empty", -EINVAL);
			return;
		}
		if (parse_count(l, s, len, UINT64_MAX, &u))
			return;
		if (r == R_INTERVAL)
			l->interval = u;
		else if (r == R_T_START)
			l->t_start = u;
		else
			l->t_end = u;
		return;
	case R_LABEL: {
		const char *why = label_problem((const unsigned char *)s, len);

		if (why) {
			field_error(l, s, len, why, -EINVAL);
			return;
		}
		err = dataset__intern_label(ds, s, len, &l->label);
		if (err) {
			lerr(l, "%s:%lu: %s", l->name, l->record_line,
			     err == -ENOMEM ? "out of memory" : "too many labels");
			l->err = err;
		}
		ds->label[i] = l->label;
		return;
	}
	case R_SOURCE:
		if (len == 9 && !memcmp(s, "synthetic", 9))
			ds->files[ds->num_files - 1].synthetic_rows++;
		else if (len && !is_source_name(s, len))
			field_error(l, s, len,
				    "is not an energy source (psys, rapl, powercap, hwmon, replay, "
				    "synthetic, or empty)",
				    -EINVAL);
		return;
	case R_GPU:
		if (len)
			parse_energy(l, s, len, 0, &l->gpu_uj);
		return;
	case R_CHK_COUNT:
		if (len)
			parse_count(l, s, len, UINT64_MAX, &u);
		return;
	case R_CHK_ENERGY:
	case R_CHK_SENERGY:
		if (len)
			parse_energy(l, s, len, r == R_CHK_ENERGY ? 0 : -ENERGY_MAX,
				     &(double){ 0 });
		return;
	case R_TARGET:
		if (len)
			parse_energy(l, s, len, l->target == CSV_ACTIVE_PSYS_UJ ? -ENERGY_MAX : 0,
				     &ds->target[i]);
		return;
	case R_IDLE:
		if (len)
			parse_energy(l, s, len, 0, &ds->idle_uj[i]);
		return;
	case R_FREQ:
		parse_freqs(l, s, len);
		return;
	default:
		if (len && !parse_count(l, s, len, UINT64_MAX, &u))
			ds->count[r - R_COUNT][i] = (double)u;
		return;
	}
}

static void row_end(struct csv_loader *l)
{
	struct dataset *ds = l->ds;
	size_t i = ds->rows;
	char v[64];

	if (l->field < l->num_cols) {
		where_error(l, l->record_line, l->field + 1, "%zu fields where the header has %zu",
			    l->field, l->num_cols);
		return;
	}
	if (l->t_end <= l->t_start) {
		l->field = l->col_of[R_T_END] - 1;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->t_end);
		field_error(l, v, strlen(v), "is not after t_start_ns", -EINVAL);
		return;
	}
	ds->duration_s[i] = (double)(l->t_end - l->t_start) / 1e9;
	if (l->target_gpu)
		ds->target[i] += l->gpu_uj; /* an empty cell leaves no target: the row is skipped */
	if (!l->have_prev || l->label != l->prev_label || l->interval <= l->prev_interval)
		ds->num_runs++;
	ds->run[i] = (uint32_t)(ds->num_runs - 1);
	l->have_prev = true;
	l->prev_interval = l->interval;
	l->prev_label = l->label;
	dataset__row_commit(ds);
	l->row_open = false;
}

static void on_field(void *s, size_t len, void *data)
{
	struct csv_loader *l = data;

	if (l->err)
		return;
	if (l->field == 0)
		l->record_line = l->line;
	l->prev_cr = false; /* a CR, then a field: the next LF ends a line of its own */
	/* Text cells are checked here; numbers when they fail to parse (field_error). */
	if ((!l->header_done || l->field >= l->num_cols || l->roles[l->field] == R_NONE ||
	     l->roles[l->field] == R_LABEL || l->roles[l->field] == R_SOURCE) &&
	    has_line_break(s, len)) {
		quoted_line_break(l);
		return;
	}
	if (!l->header_done)
		header_field(l, s, len);
	else
		row_field(l, s, len);
	l->field++;
}

static void on_record_end(int c, void *data)
{
	struct csv_loader *l = data;

	if (!l->err && l->field) {
		if (!l->header_done)
			header_end(l);
		else
			row_end(l);
	}
	l->field = 0;
	/* CR, LF and CRLF each end one line. */
	if (c == '\r' || (c == '\n' && !l->prev_cr))
		l->line++;
	l->prev_cr = c == '\r';
}

/* Nothing is blank: " 12" is not a number, and libcsv must not say it is. */
static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

int csv_loader__new(struct dataset *ds, enum csv_column target, struct csv_loader **out)
{
	struct csv_loader *l;

	if (target != CSV_ACTIVE_PSYS_UJ && target != CSV_INTERVAL_PSYS_UJ)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ds = ds;
	l->target = target;
	*out = l;
	return 0;
}

void csv_loader__target_add_gpu(struct csv_loader *l)
{
	l->target_gpu = true;
}

void csv_loader__free(struct csv_loader *l)
{
	if (!l)
		return;
	if (l->parser_live)
		csv_free(&l->parser);
	free(l->roles);
	free(l->col_name);
	free(l->name);
	free(l);
}

int csv_loader__begin(struct csv_loader *l, const char *name)
{
	int err;

	if (l->parser_live)
		csv_free(&l->parser);
	l->parser_live = false;
	free(l->name);
	l->name = strdup(name);
	if (!l->name)
		return -ENOMEM;
	if (csv_init(&l->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL)) {
		log_error("%s: out of memory", name);
		return -ENOMEM;
	}
	l->parser_live = true;
	csv_set_space_func(&l->parser, no_space);
	err = dataset__add_file(l->ds, name);
	if (err) {
		log_error("%s: out of memory", name);
		return err;
	}
	l->err = 0;
	l->line = 1;
	l->record_line = 1;
	l->prev_cr = false;
	l->field = 0;
	l->header_done = false;
	l->num_cols = 0;
	memset(l->col_of, 0, sizeof(l->col_of));
	l->row_open = false;
	l->have_prev = false;
	return 0;
}

static void parse_failed(struct csv_loader *l)
{
	int e = csv_error(&l->parser);

	if (e == CSV_EPARSE)
		where_error(l, l->line, l->field + 1,
			    "malformed quoting (a quote inside an unquoted field, text after a "
			    "closing quote, or a quoted field that never ends)");
	else {
		lerr(l, "%s:%lu: %s", l->name, l->line, csv_strerror(e));
		l->err = -ENOMEM;
	}
}

int csv_loader__feed(struct csv_loader *l, const void *data, size_t len)
{
	size_t n;

	if (l->err)
		return l->err;
	n = csv_parse(&l->parser, data, len, on_field, on_record_end, l);
	if (l->err)
		return l->err;
	if (n != len) {
		parse_failed(l);
		return l->err;
	}
	return 0;
}

/* The end of a stretch of input: the last record, if it has no newline. */
static int finish(struct csv_loader *l)
{
	if (l->err)
		return l->err;
	if (csv_fini(&l->parser, on_field, on_record_end, l)) {
		if (!l->err)
			parse_failed(l);
		return l->err;
	}
	return l->err;
}

int csv_loader__end(struct csv_loader *l)
{
	struct ds_file *f = &l->ds->files[l->ds->num_files - 1];

	if (finish(l))
		return l->err;
	if (!l->header_done)
		where_error(l, 1, 1, "the file is empty (no header row)");
	else if (f->rows == 0)
		where_error(l, l->line, 1, "no data rows after the header");
	return l->err;
}

/*
 * The fast path. Whole lines are parsed in blocks by worker threads with a hand-written
 * tokenizer, and committed to the dataset in file order by the reading thread. A block is
 * parsed fast only when it is plain: every line ends in LF, has no quote, no CR, the
 * header's number of fields and cells that pass every check; anything else (quotes, CRLF,
 * blank lines, any bad cell) makes the block "not ok", and its bytes then go through the
 * strict libcsv path above, which accepts or rejects them and names the bad cell exactly
 * as it always does. Numbers are parsed exactly: the same integer parser, and decimals
 * with up to 15 significant digits and 22 decimals as an exact integer over an exact
 * power of ten (one correctly rounded division: strtod's result), others by strtod.
 * So the fast path accepts nothing the strict one rejects, and loads what it accepts
 * into the same arrays (fuzz_csv_loader checks both).
 */
#define FAST_BLOCK (128 << 10) /* bytes read per block (a block holds whole lines) */
#define FAST_SLOTS 4
#define SIZE_AFTER (1u << 20) /* bytes read before the arrays are sized for the file */
#define FAST_MAX_WORKERS 4

struct fast_block {
	char *data; /* whole lines, each ending in LF */
	size_t len, cap;
	bool ok; /* parsed; false: the strict path reads it */
	size_t rows, pairs, synthetic;
	size_t row_cap, pair_cap;
	double *target, *idle, *dur, *count[MF_COUNT];
	uint64_t *interval;
	uint32_t *label_off, *label_len;
	uint32_t *pair_end; /* per row: the block's pairs up to its end */
	uint32_t *pair_khz;
	double *pair_ns;
};

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_PARSING, SLOT_PARSED };

struct fast_engine {
	struct csv_loader *l;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fast_block slot[FAST_SLOTS];
	enum slot_state state[FAST_SLOTS];
	size_t next_parse, filled; /* block numbers */
	bool stop;
	pthread_t th[FAST_MAX_WORKERS];
	size_t workers;
};

static void fast_block_free(struct fast_block *b)
{
	free(b->data);
	free(b->target);
	free(b->idle);
	free(b->dur);
	for (int c = 0; c < MF_COUNT; c++)
		free(b->count[c]);
	free(b->interval);
	free(b->label_off);
	free(b->label_len);
	free(b->pair_end);
	free(b->pair_khz);
	free(b->pair_ns);
}

static bool fast_grow_rows(struct fast_block *b)
{
	size_t cap = b->row_cap ? b->row_cap * 2 : 1024;
	int err = 0;

	err |= resize_array((void **)&b->target, cap, sizeof(double));
	err |= resize_array((void **)&b->idle, cap, sizeof(double));
	err |= resize_array((void **)&b->dur, cap, sizeof(double));
	for (int c = 0; c < MF_COUNT; c++)
		err |= resize_array((void **)&b->count[c], cap, sizeof(double));
	err |= resize_array((void **)&b->interval, cap, sizeof(uint64_t));
	err |= resize_array((void **)&b->label_off, cap, sizeof(uint32_t));
	err |= resize_array((void **)&b->label_len, cap, sizeof(uint32_t));
	err |= resize_array((void **)&b->pair_end, cap, sizeof(uint32_t));
	if (err)
		return false;
	b->row_cap = cap;
	return true;
}

static bool fast_push_pair(struct fast_block *b, uint32_t khz, double ns)
{
	if (b->pairs == b->pair_cap) {
		size_t cap = b->pair_cap ? b->pair_cap * 2 : 4096;

		if (resize_array((void **)&b->pair_khz, cap, sizeof(uint32_t)) ||
		    resize_array((void **)&b->pair_ns, cap, sizeof(double)))
			return false;
		b->pair_cap = cap;
	}
	b->pair_khz[b->pairs] = khz;
	b->pair_ns[b->pairs++] = ns;
	return true;
}

/* A decimal, exactly as parse_double_n() reads it: 0 or -1. */
static int fast_double(const char *s, size_t len, double *out)
{
	static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,
					1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
					1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	size_t i = 0, digits = 0, frac = 0;
	bool neg = false, dot = false;
	uint64_t m = 0;

	if (len && s[0] == '-') {
		neg = true;
		i = 1;
	}
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d <= 9) {
			m = m * 10 + d;
			frac += dot;
			if (++digits > 15)
				goto slow;
		} else if (s[i] == '.' && !dot) {
			dot = true;
		} else {
			goto slow;
		}
	}
	/* Digits on both sides of a dot ("1." and ".5" take the slow path: strtod's call). */
	if (!digits || (dot && (frac == 0 || frac == digits)) || frac > 22)
		goto slow;
	*out = frac ? (double)m / pow10[frac] : (double)m;
	if (neg)
		*out = -*out;
	return 0;
slow:
	return parse_double_n(s, len, -ENERGY_MAX, ENERGY_MAX, out) ? -1 : 0;
}

/* An energy cell as parse_energy() accepts it (empty: NaN); 0 or -1. */
static int fast_energy(const char *s, size_t len, double min, double *out)
{
	if (!len) {
		*out = NAN;
		return 0;
	}
	if (fast_double(s, len, out) || *out < min)
		return -1;
	return 0;
}

/* freq_runtime_ns as parse_freqs() accepts it; 0 or -1. */
static int fast_freqs(struct fast_block *b, const char *s, size_t len)
{
	size_t pos = 0;
	bool have_last = false;
	uint64_t last = 0;

	while (pos < len) {
		const char *e = s + pos, *semi = memchr(e, ';', len - pos), *colon;
		size_t elen = semi ? (size_t)(semi - e) : len - pos;
		uint64_t khz, ns;

		colon = elen ? memchr(e, ':', elen) : NULL;
		if (!colon || parse_u64_n(e, (size_t)(colon - e), 0, UINT32_MAX, &khz) ||
		    parse_u64_n(colon + 1, elen - (size_t)(colon - e) - 1, 0, UINT64_MAX, &ns) ||
		    (have_last && khz <= last))
			return -1;
		have_last = true;
		last = khz;
		pos += elen + 1;
		if (ns && !fast_push_pair(b, (uint32_t)khz, (double)ns))
			return -1;
	}
	return len && s[len - 1] == ';' ? -1 : 0;
}

/* One line (without its LF) into row b->rows: 0, or -1 to leave the block to libcsv. */
static int fast_row(const struct csv_loader *l, struct fast_block *b, const char *p, const char *nl)
{
	size_t i = b->rows, col = 0;
	uint64_t t_start = 0, t_end = 0, u;
	double gpu = NAN;

	if (i == b->row_cap && !fast_grow_rows(b))
		return -1;
	b->target[i] = NAN;
	b->idle[i] = NAN;
	for (int c = 0; c < MF_COUNT; c++)
		b->count[c][i] = NAN;
	for (;;) {
		const char *s = p;
		size_t len;

		while (p < nl && *p != ',')
			p++;
		len = (size_t)(p - s);
		if (col >= l->num_cols)
			return -1;
		switch ((enum role)l->roles[col]) {
		case R_NONE:
			break;
		case R_INTERVAL:
		case R_T_START:
		case R_T_END:
			if (parse_u64_n(s, len, 0, UINT64_MAX, &u))
				return -1;
			if (l->roles[col] == R_INTERVAL)
				b->interval[i] = u;
			else if (l->roles[col] == R_T_START)
				t_start = u;
			else
				t_end = u;
			break;
		case R_LABEL:
			if (label_problem((const unsigned char *)s, len))
				return -1;
			b->label_off[i] = (uint32_t)(s - b->data);
			b->label_len[i] = (uint32_t)len;
			break;
		case R_SOURCE:
			if (len == 9 && !memcmp(s, "synthetic", 9))
				b->synthetic++;
			else if (len && !is_source_name(s, len))
				return -1;
			break;
		case R_TARGET:
			if (fast_energy(s, len, l->target == CSV_ACTIVE_PSYS_UJ ? -ENERGY_MAX : 0,
					&b->target[i]))
				return -1;
			break;
		case R_IDLE:
			if (fast_energy(s, len, 0, &b->idle[i]))
				return -1;
			break;
		case R_GPU:
			if (fast_energy(s, len, 0, &gpu))
				return -1;
			break;
		case R_FREQ:
			if (fast_freqs(b, s, len))
				return -1;
			break;
		case R_CHK_COUNT:
			if (len && parse_u64_n(s, len, 0, UINT64_MAX, &u))
				return -1;
			break;
		case R_CHK_ENERGY:
		case R_CHK_SENERGY: {
			double v;

			if (fast_energy(s, len, l->roles[col] == R_CHK_ENERGY ? 0 : -ENERGY_MAX,
					&v))
				return -1;
			break;
		}
		default:
			if (len) {
				if (parse_u64_n(s, len, 0, UINT64_MAX, &u))
					return -1;
				b->count[l->roles[col] - R_COUNT][i] = (double)u;
			}
			break;
		}
		col++;
		if (p == nl)
			break;
		p++; /* the comma */
	}
	if (col != l->num_cols || t_end <= t_start)
		return -1;
	b->dur[i] = (double)(t_end - t_start) / 1e9;
	if (l->target_gpu)
		b->target[i] += gpu;
	b->pair_end[i] = (uint32_t)b->pairs;
	b->rows++;
	return 0;
}

static void fast_parse(const struct csv_loader *l, struct fast_block *b)
{
	const char *p = b->data, *end = b->data + b->len;

	b->ok = false;
	b->rows = b->pairs = b->synthetic = 0;
	if (b->len > UINT32_MAX || memchr(p, '"', b->len) || memchr(p, '\r', b->len))
		return;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || nl == p || fast_row(l, b, p, nl))
			return; /* no LF (cannot be: blocks end in one), a blank line, a bad row */
		p = nl + 1;
	}
	b->ok = true;
}

static void *fast_worker(void *arg)
{
	struct fast_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		struct fast_block *b;
		size_t k;

		while (!e->stop && e->next_parse == e->filled)
			pthread_cond_wait(&e->cv, &e->mu);
		if (e->stop)
			break;
		k = e->next_parse++ % FAST_SLOTS;
		e->state[k] = SLOT_PARSING;
		b = &e->slot[k];
		pthread_mutex_unlock(&e->mu);
		fast_parse(e->l, b);
		pthread_mutex_lock(&e->mu);
		e->state[k] = SLOT_PARSED;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* The strict parser stands between two records (a fast block may follow). */
static bool at_record_start(const struct csv_loader *l)
{
	/* libcsv's ROW_NOT_BEGUN is 0: no field of a record has been seen. */
	return !l->err && l->header_done && l->field == 0 && l->parser.pstate == 0;
}

/* A parsed block into the dataset, in file order: 0 or -ENOMEM (reported). */
static int fast_commit(struct csv_loader *l, const struct fast_block *b)
{
	struct dataset *ds = l->ds;
	struct ds_file *f = &ds->files[ds->num_files - 1];
	uint32_t khz_cache = 0, id_cache = 0;
	bool have_cache = false;
	size_t k = 0;

	if (dataset__reserve(ds, ds->rows + b->rows, ds->pairs + b->pairs))
		goto nomem;
	for (size_t r = 0; r < b->rows; r++) {
		const char *lab = b->data + b->label_off[r];
		size_t len = b->label_len[r], i = ds->rows;

		if (!l->have_prev || strlen(ds->labels[l->label]) != len ||
		    memcmp(ds->labels[l->label], lab, len)) {
			int err = dataset__intern_label(ds, lab, len, &l->label);

			if (err) {
				lerr(l, "%s:%lu: %s", l->name, l->line,
				     err == -ENOMEM ? "out of memory" : "too many labels");
				return l->err = err;
			}
		}
		ds->target[i] = b->target[r];
		ds->idle_uj[i] = b->idle[r];
		ds->duration_s[i] = b->dur[r];
		for (int c = 0; c < MF_COUNT; c++)
			ds->count[c][i] = b->count[c][r];
		ds->label[i] = l->label;
		ds->pair_start[i] = ds->pairs;
		for (; k < b->pair_end[r]; k++) {
			if (!have_cache || b->pair_khz[k] != khz_cache) {
				int err = dataset__intern_freq(ds, b->pair_khz[k], &id_cache);

				if (err == -E2BIG) {
					lerr(l, "%s:%lu: too many distinct frequencies", l->name,
					     l->line);
					return l->err = err;
				} else if (err) {
					goto nomem;
				}
				khz_cache = b->pair_khz[k];
				have_cache = true;
			}
			ds->pair_freq[ds->pairs] = id_cache;
			ds->pair_ns[ds->pairs++] = b->pair_ns[k];
		}
		if (!l->have_prev || l->label != l->prev_label ||
		    b->interval[r] <= l->prev_interval)
			ds->num_runs++;
		ds->run[i] = (uint32_t)(ds->num_runs - 1);
		l->have_prev = true;
		l->prev_interval = b->interval[r];
		l->prev_label = l->label;
		ds->rows++;
		ds->pair_start[ds->rows] = ds->pairs;
		f->rows++;
		l->line++;
	}
	f->synthetic_rows += b->synthetic;
	return 0;
nomem:
	lerr(l, "%s:%lu: out of memory", l->name, l->line);
	return l->err = -ENOMEM;
}

/* Where the bytes come from: a file descriptor, or memory (tests, the fuzzer). */
struct source {
	int fd;
	const char *mem;
	size_t mem_len, pos, chunk;
	const char *path;
};

static ssize_t source_read(struct source *s, char *buf, size_t n)
{
	ssize_t got;

	if (n > s->chunk)
		n = s->chunk;
	if (!s->mem) {
		do
			got = read(s->fd, buf, n);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			log_error("%s: %s", s->path, strerror(errno));
		return got < 0 ? -errno : got;
	}
	if (n > s->mem_len - s->pos)
		n = s->mem_len - s->pos;
	memcpy(buf, s->mem + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static void engine_stop(struct fast_engine *e)
{
	pthread_mutex_lock(&e->mu);
	e->stop = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	for (size_t i = 0; i < e->workers; i++)
		pthread_join(e->th[i], NULL);
	e->workers = 0;
}

/* The rest of the bytes after the header's line, and how far the file is read. */
struct feed_state {
	char *carry;
	size_t carry_len, carry_cap;
	bool eof;
};

/*
 * Fills block b with carry + fresh bytes up to and including the last LF (reading on
 * until there is one, or the end); what follows the LF is carried. 0 or a negative errno.
 */
static int fill_block(struct source *src, struct fast_block *b, struct feed_state *fs,
		      struct sha256_ctx *sha, uint64_t *bytes)
{
	b->len = 0;
	if (b->cap < FAST_BLOCK + fs->carry_len) {
		size_t cap = FAST_BLOCK + fs->carry_len;
		char *n = realloc(b->data, cap);

		if (!n)
			return -ENOMEM;
		b->data = n;
		b->cap = cap;
	}
	if (fs->carry_len)
		memcpy(b->data, fs->carry, fs->carry_len);
	b->len = fs->carry_len;
	fs->carry_len = 0;
	for (;;) {
		const char *lf;
		ssize_t n;

		if (b->len == b->cap) {
			char *nd = realloc(b->data, b->cap * 2);

			if (!nd)
				return -ENOMEM;
			b->data = nd;
			b->cap *= 2;
		}
		n = source_read(src, b->data + b->len, b->cap - b->len);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			fs->eof = true;
			break;
		}
		sha256_update(sha, (size_t)n, (const uint8_t *)b->data + b->len);
		*bytes += (uint64_t)n;
		lf = memrchr(b->data + b->len, '\n', (size_t)n);
		b->len += (size_t)n;
		if (lf)
			break;
	}
	/* Carry the bytes after the last LF (all of them at the end: no LF left). */
	{
		const char *lf = b->len ? memrchr(b->data, '\n', b->len) : NULL;
		size_t keep = lf ? (size_t)(lf - b->data) + 1 : 0, rest = b->len - keep;

		if (rest > fs->carry_cap) {
			char *n = realloc(fs->carry, rest);

			if (!n)
				return -ENOMEM;
			fs->carry = n;
			fs->carry_cap = rest;
		}
		if (rest)
			memcpy(fs->carry, b->data + keep, rest);
		fs->carry_len = rest;
		b->len = keep;
	}
	return 0;
}

static size_t worker_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > FAST_MAX_WORKERS ? FAST_MAX_WORKERS : (size_t)n;
}

/* The blocks after the header, read, hashed, parsed and committed in order. */
static int run_blocks(struct csv_loader *l, struct source *src, struct feed_state *fs,
		      struct sha256_ctx *sha, uint64_t *bytes, off_t size)
{
	struct dataset *ds = l->ds;
	struct fast_engine e = { .l = l };
	size_t committed = 0, rows0 = ds->rows, pairs0 = ds->pairs;
	bool sized = false;
	int err = 0;

	pthread_mutex_init(&e.mu, NULL);
	pthread_cond_init(&e.cv, NULL);
	for (size_t i = worker_count(); e.workers < i; e.workers++)
		if (pthread_create(&e.th[e.workers], NULL, fast_worker, &e))
			break;
	while (!err) {
		/* Fill every free slot, oldest first. */
		while (!err && !fs->eof && e.filled - committed < FAST_SLOTS) {
			size_t k = e.filled % FAST_SLOTS;

			err = fill_block(src, &e.slot[k], fs, sha, bytes);
			if (err == -ENOMEM)
				log_error("%s: out of memory", l->name);
			if (err)
				break;
			pthread_mutex_lock(&e.mu);
			e.state[k] = SLOT_FILLED;
			e.filled++;
			if (!e.workers) /* no thread could start: parse here */
				e.next_parse++;
			pthread_cond_broadcast(&e.cv);
			pthread_mutex_unlock(&e.mu);
			if (!e.workers) {
				fast_parse(l, &e.slot[k]);
				e.state[k] = SLOT_PARSED;
			}
		}
		if (err || committed == e.filled)
			break;
		/* Commit the oldest block when it is parsed. */
		{
			size_t k = committed % FAST_SLOTS;
			struct fast_block *b = &e.slot[k];

			pthread_mutex_lock(&e.mu);
			while (e.state[k] != SLOT_PARSED)
				pthread_cond_wait(&e.cv, &e.mu);
			pthread_mutex_unlock(&e.mu);
			if (b->ok && at_record_start(l))
				err = fast_commit(l, b);
			else
				err = csv_loader__feed(l, b->data, b->len);
			pthread_mutex_lock(&e.mu);
			e.state[k] = SLOT_FREE;
			committed++;
			pthread_mutex_unlock(&e.mu);
		}
		if (!err && !sized && size > (off_t)*bytes && *bytes >= SIZE_AFTER &&
		    ds->rows > rows0 + 100) {
			/* Room for the whole file, judged by its first SIZE_AFTER bytes: the
			 * arrays then hardly grow (and never move). */
			double scale = (double)size / (double)*bytes * 1.05;

			sized = true;
			dataset__reserve(ds, rows0 + (size_t)((double)(ds->rows - rows0) * scale),
					 pairs0 + (size_t)((double)(ds->pairs - pairs0) * scale));
		}
	}
	engine_stop(&e);
	for (size_t k = 0; k < FAST_SLOTS; k++)
		fast_block_free(&e.slot[k]);
	pthread_cond_destroy(&e.cv);
	pthread_mutex_destroy(&e.mu);
	return err;
}

/*
 * One pass, in order: read, hash, parse. The header's line goes through libcsv; the rest
 * in blocks (run_blocks), and the bytes after the last LF through libcsv again.
 */
static int load_source(struct csv_loader *l, struct source *src, off_t size, struct sha256_ctx *sha,
		       uint64_t *bytes)
{
	struct feed_state fs = { 0 };
	char *buf = malloc(READ_CHUNK);
	int err = 0;

	sha256_init(sha);
	*bytes = 0;
	if (!buf) {
		log_error("%s: out of memory", l->name);
		return -ENOMEM;
	}
	/* The header, through libcsv, up to the end of its line. */
	while (!err && !at_record_start(l)) {
		ssize_t n = source_read(src, buf, READ_CHUNK);
		const char *lf;
		size_t head;

		if (n < 0) {
			err = (int)n;
			break;
		}
		if (n == 0) {
			fs.eof = true;
			break;
		}
		sha256_update(sha, (size_t)n, (const uint8_t *)buf);
		*bytes += (uint64_t)n;
		lf = memchr(buf, '\n', (size_t)n);
		head = lf ? (size_t)(lf - buf) + 1 : (size_t)n;
		err = csv_loader__feed(l, buf, head);
		if (err)
			break;
		if (head < (size_t)n && at_record_start(l)) {
			fs.carry = malloc((size_t)n - head);
			if (!fs.carry) {
				log_error("%s: out of memory", l->name);
				err = -ENOMEM;
				break;
			}
			memcpy(fs.carry, buf + head, (size_t)n - head);
			fs.carry_len = fs.carry_cap = (size_t)n - head;
		} else if (head < (size_t)n) {
			err = csv_loader__feed(l, buf + head, (size_t)n - head);
		}
	}
	free(buf);
	if (!err && !fs.eof)
		err = run_blocks(l, src, &fs, sha, bytes, size);
	/* What is left has no LF: the last record, or the middle of one. */
	if (!err && fs.carry_len)
		err = csv_loader__feed(l, fs.carry, fs.carry_len);
	free(fs.carry);
	return err ? err : csv_loader__end(l);
}

int csv_loader__load_mem(struct csv_loader *l, const char *name, const void *data, size_t len,
			 size_t chunk)
{
	struct source src = { .fd = -1,
			      .mem = data ? data : "",
			      .mem_len = len,
			      .chunk = chunk ? chunk : SIZE_MAX,
			      .path = name };
	struct sha256_ctx sha;
	uint64_t bytes;
	int err = csv_loader__begin(l, name);

	return err ? err : load_source(l, &src, 0, &sha, &bytes);
}

static void hex(const uint8_t *d, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * len] = '\0';
}

int csv_loader__load_file(struct csv_loader *l, const char *path)
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx sha;
	struct source src = { .chunk = SIZE_MAX, .path = path };
	uint64_t bytes = 0;
	struct stat st;
	int err;

	src.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0) {
		err = -errno;
		log_error("%s: %s", path, strerror(errno));
		return err;
	}
	err = csv_loader__begin(l, path);
	if (!err)
		err = load_source(l, &src,
				  fstat(src.fd, &st) || !S_ISREG(st.st_mode) ? 0 : st.st_size, &sha,
				  &bytes);
	if (!err) {
		sha256_digest(&sha, sizeof(digest), digest);
		hex(digest, sizeof(digest), l->ds->files[l->ds->num_files - 1].sha256);
		l->ds->files[l->ds->num_files - 1].bytes = bytes;
	}
	close(src.fd);
	return err;
}
