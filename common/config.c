// SPDX-License-Identifier: MIT
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

enum key_kind { KEY_MODE, KEY_SOURCE, KEY_WEIGHT, KEY_U32, KEY_U64, KEY_FREQ };

struct key_def {
	const char *name;
	enum key_kind kind;
	size_t offset;
	uint64_t min, max; /* KEY_U32, KEY_U64 */
	bool omit_zero; /* config_write() leaves the key out when it is 0 */
};

#define F(field) offsetof(struct energy_config, field)
#define FEATURE_KEY_(ID, name, weight, avail, fit, field) \
	{ #weight, KEY_WEIGHT, F(weight), 0, 0, !(fit) },

/* Also the canonical order of config_write(). */
static const struct key_def keys[] = {
	{ "attribution_mode", KEY_MODE, F(attribution_mode), 0, 0, false },
	{ "energy_source", KEY_SOURCE, F(energy_source), 0, 0, false },
	{ "idle_power_uw", KEY_U64, F(idle_power_uw), 0, CONFIG_POWER_UW_MAX, false },
	{ "psys_interval_ms", KEY_U32, F(psys_interval_ms), CONFIG_INTERVAL_MS_MIN,
	  CONFIG_INTERVAL_MS_MAX, false },
	{ "default_multiplier", KEY_WEIGHT, F(default_multiplier), 0, 0, false },
	MODEL_FEATURES(FEATURE_KEY_)
	/* The synthetic source's noise and extra effects: omitted when 0. */
	{ "synthetic_noise_uw", KEY_U64, F(synthetic_noise_uw), 0, CONFIG_POWER_UW_MAX, true },
	{ "synthetic_page_cache_hit_uj", KEY_WEIGHT, F(synthetic_page_cache_hit_uj), 0, 0, true },
	{ "synthetic_writeback_uj", KEY_WEIGHT, F(synthetic_writeback_uj), 0, 0, true },
	{ "synthetic_util_gain", KEY_WEIGHT, F(synthetic_util_gain), 0, 0, true },
	{ "freq_khz", KEY_FREQ, F(freqs), 0, CONFIG_FREQ_KHZ_MAX, false },
};

#define NUM_KEYS (sizeof(keys) / sizeof(keys[0]))

void config_defaults(struct energy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->attribution_mode = ATTRIBUTION_PSYS;
	strcpy(cfg->energy_source, "auto");
	cfg->default_multiplier = 1.0;
	cfg->psys_interval_ms = 200;
}

const char *config_mode_name(enum attribution_mode mode)
{
	return mode == ATTRIBUTION_MODEL ? "model" : "psys";
}

int config_check_energy_source(const char *spec, const char **why)
{
	const char *colon = strchr(spec, ':');
	size_t len = strlen(spec);

	*why = NULL;
	if (len == 0)
		*why = "is empty";
	else if (len >= CONFIG_SOURCE_MAX)
		*why = "is too long (at most 511 bytes)";
	else if (colon && colon[1] == '\0')
		*why = "names no file after ':'";
	for (size_t i = 0; i < len && !*why; i++) {
		unsigned char c = (unsigned char)spec[i];

		if (c <= ' ' || c == 0x7f || c == '#')
			*why = "contains a space, a control character or '#'";
	}
	return *why ? -EINVAL : 0;
}

struct parser {
	const char *name;
	unsigned line;
	unsigned seen[NUM_KEYS]; /* line of each scalar key's first appearance */
	unsigned freq_line[MODEL_MAX_FREQS]; /* line of each freqs[] entry */
};

/* "NAME:LINE: KEY: "VALUE" WHY" */
static int perr(const struct parser *p, const char *key, const char *val, size_t val_len,
		const char *why, int err)
{
	char kq[80], vq[160];

	log_error("%s:%u: %s: \"%s\" %s", p->name, p->line, log_quote(key, strlen(key), kq, sizeof(kq)),
		  log_quote(val, val_len, vq, sizeof(vq)), why);
	return err;
}

static int parse_weight(const struct parser *p, const char *key, const char *val, size_t len,
			double *out)
{
	int err = parse_double_n(val, len, 0, CONFIG_WEIGHT_MAX, out);

	if (err == -ERANGE)
		return perr(p, key, val, len, "is out of range 0..1000000", err);
	if (err)
		return perr(p, key, val, len, "is not a number", err);
	if (*out == 0)
		*out = 0; /* "-0" reads as 0, not -0 */
	return 0;
}

static int parse_uint(const struct parser *p, const char *key, const char *val, size_t len,
		      uint64_t min, uint64_t max, uint64_t *out)
{
	char why[96];
	int err = parse_u64_n(val, len, min, max, out);

	if (err == -ERANGE) {
		snprintf(why, sizeof(why), "is out of range %llu..%llu", (unsigned long long)min,
			 (unsigned long long)max);
		return perr(p, key, val, len, why, err);
	}
	if (err)
		return perr(p, key, val, len, "is not a whole number", err);
	return 0;
}

static int parse_freq(struct parser *p, const char *val, size_t len, struct energy_config *cfg)
{
	const char *khz = val, *w, *end = val + len;
	size_t khz_len, w_len, pos;
	uint64_t freq;
	double weight;
	int err;

	for (khz_len = 0; khz_len < len && val[khz_len] != ' ' && val[khz_len] != '\t'; khz_len++)
		;
	w = khz + khz_len;
	while (w < end && (*w == ' ' || *w == '\t'))
		w++;
	w_len = (size_t)(end - w);
	if (khz_len == 0 || w_len == 0 || memchr(w, ' ', w_len) || memchr(w, '\t', w_len))
		return perr(p, "freq_khz", val, len, "is not \"<khz> <weight>\"", -EINVAL);
	err = parse_uint(p, "freq_khz", khz, khz_len, 0, CONFIG_FREQ_KHZ_MAX, &freq);
	if (!err)
		err = parse_weight(p, "freq_khz", w, w_len, &weight);
	if (err)
		return err;

	/* Keep freqs[] sorted as entries arrive: find the insertion point. */
	for (pos = 0; pos < cfg->num_freqs && cfg->freqs[pos].freq_khz < freq; pos++)
		;
	if (pos < cfg->num_freqs && cfg->freqs[pos].freq_khz == freq) {
		char why[48];

		snprintf(why, sizeof(why), "duplicates line %u", p->freq_line[pos]);
		return perr(p, "freq_khz", khz, khz_len, why, -EINVAL);
	}
	if (cfg->num_freqs == MODEL_MAX_FREQS)
		return perr(p, "freq_khz", khz, khz_len, "is one entry too many (at most 64)",
			    -E2BIG);
	memmove(&cfg->freqs[pos + 1], &cfg->freqs[pos],
		(cfg->num_freqs - pos) * sizeof(cfg->freqs[0]));
	memmove(&p->freq_line[pos + 1], &p->freq_line[pos],
		(cfg->num_freqs - pos) * sizeof(p->freq_line[0]));
	cfg->freqs[pos] = (struct freq_weight){ .freq_khz = (uint32_t)freq, .weight = weight };
	p->freq_line[pos] = p->line;
	cfg->num_freqs++;
	return 0;
}

static int parse_value(struct parser *p, size_t k, const char *val, size_t len,
		       struct energy_config *cfg)
{
	const struct key_def *d = &keys[k];
	void *field = (char *)cfg + d->offset;
	const char *why;
	uint64_t u;
	int err;

	switch (d->kind) {
	case KEY_MODE:
		if (len == 4 && !memcmp(val, "psys", 4))
			cfg->attribution_mode = ATTRIBUTION_PSYS;
		else if (len == 5 && !memcmp(val, "model", 5))
			cfg->attribution_mode = ATTRIBUTION_MODEL;
		else
			return perr(p, d->name, val, len, "is not one of psys, model", -EINVAL);
		return 0;
	case KEY_SOURCE: {
		char spec[CONFIG_SOURCE_MAX];

		if (len >= sizeof(spec))
			return perr(p, d->name, val, len, "is too long (at most 511 bytes)",
				    -EINVAL);
		memcpy(spec, val, len);
		spec[len] = '\0';
		if (config_check_energy_source(spec, &why))
			return perr(p, d->name, val, len, why, -EINVAL);
		memcpy(cfg->energy_source, spec, len + 1);
		return 0;
	}
	case KEY_WEIGHT:
		return parse_weight(p, d->name, val, len, field);
	case KEY_U32:
		err = parse_uint(p, d->name, val, len, d->min, d->max, &u);
		if (!err)
			*(uint32_t *)field = (uint32_t)u;
		return err;
	case KEY_U64:
		return parse_uint(p, d->name, val, len, d->min, d->max, field);
	case KEY_FREQ:
		return parse_freq(p, val, len, cfg);
	}
	return -EINVAL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int parse_line(struct parser *p, const char *line, size_t len, struct energy_config *cfg)
{
	const char *hash = memchr(line, '#', len);
	const char *eq, *key, *val;
	size_t key_len, val_len;

	if (hash)
		len = (size_t)(hash - line);
	while (len && is_blank(line[0])) {
		line++;
		len--;
	}
	while (len && is_blank(line[len - 1]))
		len--;
	if (len == 0)
		return 0;
	eq = memchr(line, '=', len);
	if (!eq) {
		char lq[160];

		log_error("%s:%u: \"%s\" is not \"key = value\"", p->name, p->line,
			  log_quote(line, len, lq, sizeof(lq)));
		return -EINVAL;
	}
	key = line;
	key_len = (size_t)(eq - line);
	while (key_len && is_blank(key[key_len - 1]))
		key_len--;
	val = eq + 1;
	val_len = len - (size_t)(val - line);
	while (val_len && is_blank(val[0])) {
		val++;
		val_len--;
	}

	for (size_t k = 0; k < NUM_KEYS; k++) {
		char keyz[32];

		if (strlen(keys[k].name) != key_len || memcmp(keys[k].name, key, key_len))
			continue;
		snprintf(keyz, sizeof(keyz), "%s", keys[k].name);
		if (keys[k].kind != KEY_FREQ && p->seen[k]) {
			char why[48];

			snprintf(why, sizeof(why), "duplicates line %u", p->seen[k]);
			return perr(p, keyz, val, val_len, why, -EINVAL);
		}
		if (val_len == 0)
			return perr(p, keyz, val, val_len, "is empty", -EINVAL);
		p->seen[k] = p->line;
		return parse_value(p, k, val, val_len, cfg);
	}

	char kq[80], vq[160], known[1024];
	size_t o = 0;

	for (size_t k = 0; k < NUM_KEYS && o < sizeof(known); k++)
		o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s", k ? ", " : "",
				      keys[k].name);
	log_error("%s:%u: %s: \"%s\" has an unknown key (known keys: %s)", p->name, p->line,
		  log_quote(key, key_len, kq, sizeof(kq)), log_quote(val, val_len, vq, sizeof(vq)),
		  known);
	return -EINVAL;
}

static int parse_text(const char *name, const char *text, size_t len, struct energy_config *out)
{
	struct energy_config cfg;
	struct parser p = { .name = name };
	size_t pos = 0;
	int err;

	config_defaults(&cfg);
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;

		p.line++;
		if (memchr(line, '\0', line_len)) {
			log_error("%s:%u: the line contains a NUL byte", name, p.line);
			return -EINVAL;
		}
		if (line_len > CONFIG_LINE_MAX) {
			log_error("%s:%u: the line is %zu bytes long; at most %d are allowed", name,
				  p.line, line_len, CONFIG_LINE_MAX);
			return -E2BIG;
		}
		err = parse_line(&p, line, line_len, &cfg);
		if (err)
			return err;
		pos += line_len + 1;
	}
	*out = cfg;
	return 0;
}

int config_parse_string(const char *name, const char *text, struct energy_config *cfg)
{
	size_t len = strlen(text);

	if (len > CONFIG_FILE_MAX) {
		log_error("%s: %zu bytes is too large for a config (at most %d)", name, len,
			  CONFIG_FILE_MAX);
		return -E2BIG;
	}
	return parse_text(name, text, len, cfg);
}

int config_parse_file(const char *path, struct energy_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_error("%s: %s", path, strerror(errno));
		return err;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		err = -ENOMEM;
		log_error("%s: out of memory", path);
		goto cleanup;
	}
	/* Read one byte past the limit to tell "exactly at the limit" from "too large". */
	while (len <= CONFIG_FILE_MAX) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			log_error("%s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		err = -E2BIG;
		log_error("%s: the file is larger than %d bytes", path, CONFIG_FILE_MAX);
		goto cleanup;
	}
	err = parse_text(path, buf, len, cfg);
cleanup:
	free(buf);
	close(fd);
	return err;
}

/* Fewest significant digits that read back to the same double (C locale). */
static void format_double(double v, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static int verr(const char *where, const char *key, const char *val, const char *why)
{
	log_error("%s: %s: \"%s\" %s", where, key, val, why);
	return -EINVAL;
}

int config_validate(const struct energy_config *cfg, const char *where)
{
	char val[64];
	const char *why;

	if (cfg->attribution_mode != ATTRIBUTION_PSYS &&
	    cfg->attribution_mode != ATTRIBUTION_MODEL) {
		snprintf(val, sizeof(val), "%d", (int)cfg->attribution_mode);
		return verr(where, "attribution_mode", val, "is not one of psys, model");
	}
	if (!memchr(cfg->energy_source, '\0', sizeof(cfg->energy_source)))
		return verr(where, "energy_source", "...", "is not terminated");
	if (config_check_energy_source(cfg->energy_source, &why)) {
		char q[160];

		return verr(where, "energy_source",
			    log_quote(cfg->energy_source, strlen(cfg->energy_source), q, sizeof(q)),
			    why);
	}
	for (size_t k = 0; k < NUM_KEYS; k++) {
		const void *field = (const char *)cfg + keys[k].offset;
		uint64_t u;
		double w;

		switch (keys[k].kind) {
		case KEY_WEIGHT:
			w = *(const double *)field;
			if (!(w >= 0 && w <= CONFIG_WEIGHT_MAX)) {
				format_double(w, val, sizeof(val));
				return verr(where, keys[k].name, val, "is out of range 0..1000000");
			}
			break;
		case KEY_U32:
		case KEY_U64:
			u = keys[k].kind == KEY_U32 ? *(const uint32_t *)field :
						      *(const uint64_t *)field;
			if (u < keys[k].min || u > keys[k].max) {
				char why_buf[64];

				snprintf(val, sizeof(val), "%llu", (unsigned long long)u);
				snprintf(why_buf, sizeof(why_buf), "is out of range %llu..%llu",
					 (unsigned long long)keys[k].min,
					 (unsigned long long)keys[k].max);
				return verr(where, keys[k].name, val, why_buf);
			}
			break;
		default:
			break;
		}
	}
	if (cfg->num_freqs > MODEL_MAX_FREQS) {
		snprintf(val, sizeof(val), "%zu", cfg->num_freqs);
		return verr(where, "freq_khz", val, "entries are too many (at most 64)");
	}
	for (size_t i = 0; i < cfg->num_freqs; i++) {
		double w = cfg->freqs[i].weight;

		if (!(w >= 0 && w <= CONFIG_WEIGHT_MAX)) {
			format_double(w, val, sizeof(val));
			return verr(where, "freq_khz", val, "is out of range 0..1000000");
		}
		if (i && cfg->freqs[i].freq_khz <= cfg->freqs[i - 1].freq_khz) {
			snprintf(val, sizeof(val), "%u", cfg->freqs[i].freq_khz);
			return verr(where, "freq_khz", val, "is not sorted or is a duplicate");
		}
	}
	return 0;
}

int config_write(FILE *f, const struct energy_config *cfg)
{
	char num[64];

	if (config_validate(cfg, "config_write"))
		return -EINVAL;
	for (size_t k = 0; k < NUM_KEYS; k++) {
		const void *field = (const char *)cfg + keys[k].offset;

		switch (keys[k].kind) {
		case KEY_MODE:
			fprintf(f, "%s = %s\n", keys[k].name,
				config_mode_name(cfg->attribution_mode));
			break;
		case KEY_SOURCE:
			fprintf(f, "%s = %s\n", keys[k].name, cfg->energy_source);
			break;
		case KEY_WEIGHT:
			if (keys[k].omit_zero && *(const double *)field == 0)
				break;
			format_double(*(const double *)field, num, sizeof(num));
			fprintf(f, "%s = %s\n", keys[k].name, num);
			break;
		case KEY_U32:
			fprintf(f, "%s = %u\n", keys[k].name, *(const uint32_t *)field);
			break;
		case KEY_U64:
			if (keys[k].omit_zero && !*(const uint64_t *)field)
				break;
			fprintf(f, "%s = %llu\n", keys[k].name,
				(unsigned long long)*(const uint64_t *)field);
			break;
		case KEY_FREQ:
			for (size_t i = 0; i < cfg->num_freqs; i++) {
				format_double(cfg->freqs[i].weight, num, sizeof(num));
				fprintf(f, "freq_khz = %u %s\n", cfg->freqs[i].freq_khz, num);
			}
			break;
		}
	}
	return ferror(f) ? -EIO : 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, err = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int config_write_file(const char *path, const struct energy_config *cfg, const char *header)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd = -1, err;

	if (config_validate(cfg, path))
		return -EINVAL;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		log_error("%s: path is too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		log_error("%s: cannot create a temporary file: %s", tmp, strerror(errno));
		return err;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		log_error("%s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1; /* owned by f now */
	for (const char *h = header; h && *h;) {
		size_t n = strcspn(h, "\n");

		fprintf(f, "# %.*s\n", (int)n, h);
		h += n + (h[n] == '\n');
	}
	err = config_write(f, cfg);
	if (!err && (fflush(f) || fsync(fileno(f))))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	f = NULL;
	if (err) {
		log_error("%s: cannot write: %s", tmp, strerror(-err));
		goto cleanup;
	}
	/* mkstemp makes 0600; a config is not secret. */
	if (chmod(tmp, 0644) || rename(tmp, path)) {
		err = -errno;
		log_error("%s: cannot replace: %s", path, strerror(errno));
		goto cleanup;
	}
	err = fsync_dir_of(path);
	if (err)
		log_error("%s: cannot sync its directory: %s", path, strerror(-err));
	return err;
cleanup:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

bool config_equal(const struct energy_config *a, const struct energy_config *b)
{
	if (a->attribution_mode != b->attribution_mode ||
	    strcmp(a->energy_source, b->energy_source) ||
	    a->default_multiplier != b->default_multiplier ||
	    a->idle_power_uw != b->idle_power_uw || a->psys_interval_ms != b->psys_interval_ms ||
	    a->synthetic_noise_uw != b->synthetic_noise_uw ||
	    a->synthetic_page_cache_hit_uj != b->synthetic_page_cache_hit_uj ||
	    a->synthetic_writeback_uj != b->synthetic_writeback_uj ||
	    a->synthetic_util_gain != b->synthetic_util_gain || a->num_freqs != b->num_freqs)
		return false;
	for (int f = 0; f < MF_COUNT; f++)
		if (a->feature_weight[f] != b->feature_weight[f])
			return false;
	for (size_t i = 0; i < a->num_freqs && i < MODEL_MAX_FREQS; i++)
		if (a->freqs[i].freq_khz != b->freqs[i].freq_khz ||
		    a->freqs[i].weight != b->freqs[i].weight)
			return false;
	return true;
}

int config_set_freq(struct energy_config *cfg, uint32_t freq_khz, double weight)
{
	size_t pos;

	if (!(weight >= 0 && weight <= CONFIG_WEIGHT_MAX))
		return -ERANGE;
	for (pos = 0; pos < cfg->num_freqs && cfg->freqs[pos].freq_khz < freq_khz; pos++)
		;
	if (pos < cfg->num_freqs && cfg->freqs[pos].freq_khz == freq_khz) {
		cfg->freqs[pos].weight = weight;
		return 0;
	}
	if (cfg->num_freqs >= MODEL_MAX_FREQS)
		return -ENOSPC;
	memmove(&cfg->freqs[pos + 1], &cfg->freqs[pos],
		(cfg->num_freqs - pos) * sizeof(cfg->freqs[0]));
	cfg->freqs[pos] = (struct freq_weight){ .freq_khz = freq_khz, .weight = weight + 0.0 };
	cfg->num_freqs++;
	return 0;
}

double config_freq_weight(const struct energy_config *cfg, uint64_t khz)
{
	size_t lo = 0, hi = cfg->num_freqs;

	/* Binary search for the first entry above khz; the one before it is the answer. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cfg->freqs[mid].freq_khz <= khz)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? cfg->freqs[lo - 1].weight : cfg->default_multiplier;
}
