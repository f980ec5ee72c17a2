// SPDX-License-Identifier: MIT
#include "csv_loader.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <nettle/sha2.h>
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
	R_COUNT, /* R_COUNT + enum ds_count */
	R_ROLES = R_COUNT + DS_COUNTS,
	/* Schema columns the fitter does not use: only checked (their name in col_name). */
	R_CHK_COUNT = R_ROLES, /* a whole number >= 0, or empty */
	R_CHK_ENERGY, /* uJ >= 0, or empty */
	R_CHK_SENERGY, /* signed uJ, or empty */
};

/* The interval CSV's GPU column (docs/csv-format.md); empty on hosts without GPUs. */
static const char gpu_energy_column[] = "gpu_energy_uj";

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
		return gpu_energy_column;
	default:
		if (r >= R_COUNT && r < R_ROLES)
			return ds_count_name((enum ds_count)(r - R_COUNT));
		return NULL;
	}
}

/*
 * The idle_uj and energy_source columns are optional, gpu_energy_uj unless the target
 * includes it; every other role is required.
 */
static bool role_required(const struct csv_loader *l, enum role r)
{
	if (r == R_GPU)
		return l->target_gpu;
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
	static const char *const names[] = { "psys",   "rapl",	  "powercap",
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
			parse_energy(l, s, len, r == R_CHK_ENERGY ? 0 : -ENERGY_MAX, &(double){ 0 });
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

/* One pass, in order: read, hash, parse. size: the file's, if known, else 0. */
static int load_in_order(struct csv_loader *l, int fd, const char *path, off_t size,
			 struct sha256_ctx *sha, uint64_t *bytes, char *buf)
{
	struct dataset *ds = l->ds;
	size_t rows0 = ds->rows, pairs0 = ds->pairs;
	bool sized = false;
	int err = csv_loader__begin(l, path);

	sha256_init(sha);
	*bytes = 0;
	while (!err) {
		ssize_t n;

		do
			n = read(fd, buf, READ_CHUNK);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			err = -errno;
			log_error("%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			return csv_loader__end(l);
		sha256_update(sha, (size_t)n, (const uint8_t *)buf);
		*bytes += (uint64_t)n;
		err = csv_loader__feed(l, buf, (size_t)n);
		if (!err && !sized && size > (off_t)*bytes && ds->rows > rows0 + 100) {
			/* Room for the whole file, judged by its first megabyte: the arrays
			 * then never grow (and never move). */
			double scale = (double)size / (double)*bytes * 1.05;

			sized = true;
			dataset__reserve(ds, rows0 + (size_t)((double)(ds->rows - rows0) * scale),
					 pairs0 + (size_t)((double)(ds->pairs - pairs0) * scale));
		}
	}
	return err;
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
	uint64_t bytes = 0;
	struct stat st;
	char *buf = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_error("%s: %s", path, strerror(errno));
		return err;
	}
	buf = malloc(READ_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		log_error("%s: out of memory", path);
		goto cleanup;
	}
	err = load_in_order(l, fd, path, fstat(fd, &st) || !S_ISREG(st.st_mode) ? 0 : st.st_size,
			    &sha, &bytes, buf);
	if (err)
		goto cleanup;
	sha256_digest(&sha, sizeof(digest), digest);
	hex(digest, sizeof(digest), l->ds->files[l->ds->num_files - 1].sha256);
	l->ds->files[l->ds->num_files - 1].bytes = bytes;
cleanup:
	free(buf);
	close(fd);
	return err;
}
