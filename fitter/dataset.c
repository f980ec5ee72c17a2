// SPDX-License-Identifier: MIT
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS UINT32_MAX /* ids are uint32_t; slots hold id + 1 */

void dataset__init(struct dataset *ds)
{
	memset(ds, 0, sizeof(*ds));
}

void dataset__free(struct dataset *ds)
{
	free(ds->target);
	free(ds->idle_uj);
	free(ds->duration_s);
	for (int c = 0; c < MF_COUNT; c++)
		free(ds->count[c]);
	free(ds->label);
	free(ds->run);
	free(ds->pair_start);
	free(ds->pair_freq);
	free(ds->pair_ns);
	free(ds->freq_khz);
	for (size_t i = 0; i < ds->num_labels; i++)
		free(ds->labels[i]);
	free(ds->labels);
	for (size_t i = 0; i < ds->num_files; i++)
		free(ds->files[i].path);
	free(ds->files);
	free(ds->freq_slots);
	free(ds->label_slots);
	memset(ds, 0, sizeof(*ds));
}

/* Grows *p to hold cap elements; 0 or -ENOMEM (and *p unchanged). */
static int resize(void *pp, size_t cap, size_t elem)
{
	void **p = pp;
	void *n;

	if (cap > SIZE_MAX / elem)
		return -ENOMEM;
	n = realloc(*p, cap * elem);
	if (!n)
		return -ENOMEM;
	*p = n;
	return 0;
}

static size_t next_cap(size_t cap, size_t need)
{
	size_t n = cap ? cap : 1024;

	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	return n;
}

int dataset__add_file(struct dataset *ds, const char *path)
{
	struct ds_file *f;

	if (ds->num_files == ds->file_cap) {
		size_t cap = ds->file_cap ? ds->file_cap * 2 : 8;

		if (resize(&ds->files, cap, sizeof(*ds->files)))
			return -ENOMEM;
		ds->file_cap = cap;
	}
	f = &ds->files[ds->num_files];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->first_row = ds->rows;
	ds->num_files++;
	return 0;
}

static uint64_t hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t hash_khz(uint32_t khz)
{
	uint64_t h = khz * 0x9e3779b97f4a7c15ULL;

	return h ^ (h >> 29);
}

/* Rebuilds a slot table of twice the size from the ids it holds. */
static int rehash(uint32_t **slots, size_t *cap, uint64_t (*hash)(const struct dataset *, uint32_t),
		  const struct dataset *ds)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	uint32_t *n;

	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < *cap; i++) {
		uint32_t id = (*slots)[i];
		size_t s;

		if (!id)
			continue;
		for (s = hash(ds, id - 1) & (ncap - 1); n[s]; s = (s + 1) & (ncap - 1))
			;
		n[s] = id;
	}
	free(*slots);
	*slots = n;
	*cap = ncap;
	return 0;
}

static uint64_t freq_hash_of(const struct dataset *ds, uint32_t id)
{
	return hash_khz(ds->freq_khz[id]);
}

static uint64_t label_hash_of(const struct dataset *ds, uint32_t id)
{
	return hash_bytes(ds->labels[id], strlen(ds->labels[id]));
}

int dataset__intern_freq(struct dataset *ds, uint32_t khz, uint32_t *id)
{
	size_t s;

	if ((ds->num_freqs + 1) * 2 > ds->freq_slot_cap &&
	    rehash(&ds->freq_slots, &ds->freq_slot_cap, freq_hash_of, ds))
		return -ENOMEM;
	for (s = hash_khz(khz) & (ds->freq_slot_cap - 1); ds->freq_slots[s];
	     s = (s + 1) & (ds->freq_slot_cap - 1)) {
		if (ds->freq_khz[ds->freq_slots[s] - 1] == khz) {
			*id = ds->freq_slots[s] - 1;
			return 0;
		}
	}
	if (ds->num_freqs >= MAX_IDS - 1)
		return -E2BIG;
	if (ds->num_freqs == ds->freq_cap) {
		size_t cap = next_cap(ds->freq_cap, ds->num_freqs + 1);

		if (resize(&ds->freq_khz, cap, sizeof(*ds->freq_khz)))
			return -ENOMEM;
		ds->freq_cap = cap;
	}
	ds->freq_khz[ds->num_freqs] = khz;
	ds->freq_slots[s] = (uint32_t)ds->num_freqs + 1;
	*id = (uint32_t)ds->num_freqs++;
	return 0;
}

int dataset__intern_label(struct dataset *ds, const char *str, size_t len, uint32_t *id)
{
	size_t s;
	char *copy;

	if ((ds->num_labels + 1) * 2 > ds->label_slot_cap &&
	    rehash(&ds->label_slots, &ds->label_slot_cap, label_hash_of, ds))
		return -ENOMEM;
	for (s = hash_bytes(str, len) & (ds->label_slot_cap - 1); ds->label_slots[s];
	     s = (s + 1) & (ds->label_slot_cap - 1)) {
		const char *l = ds->labels[ds->label_slots[s] - 1];

		if (strlen(l) == len && !memcmp(l, str, len)) {
			*id = ds->label_slots[s] - 1;
			return 0;
		}
	}
	if (ds->num_labels >= MAX_IDS - 1)
		return -E2BIG;
	if (ds->num_labels == ds->label_cap) {
		size_t cap = next_cap(ds->label_cap, ds->num_labels + 1);

		if (resize(&ds->labels, cap, sizeof(*ds->labels)))
			return -ENOMEM;
		ds->label_cap = cap;
	}
	copy = strndup(str, len);
	if (!copy)
		return -ENOMEM;
	ds->labels[ds->num_labels] = copy;
	ds->label_slots[s] = (uint32_t)ds->num_labels + 1;
	*id = (uint32_t)ds->num_labels++;
	return 0;
}

/* Room for rows row slots (and pair_start[rows]). */
static int reserve_rows(struct dataset *ds, size_t rows)
{
	size_t cap;
	int err = 0;

	if (rows + 1 <= ds->row_cap)
		return 0;
	cap = next_cap(ds->row_cap, rows + 1);
	err |= resize(&ds->target, cap, sizeof(double));
	err |= resize(&ds->idle_uj, cap, sizeof(double));
	err |= resize(&ds->duration_s, cap, sizeof(double));
	for (int c = 0; c < MF_COUNT; c++)
		err |= resize(&ds->count[c], cap, sizeof(double));
	err |= resize(&ds->label, cap, sizeof(uint32_t));
	err |= resize(&ds->run, cap, sizeof(uint32_t));
	err |= resize(&ds->pair_start, cap, sizeof(uint64_t));
	if (err)
		return -ENOMEM; /* the arrays that did grow are fine as they are */
	ds->row_cap = cap;
	return 0;
}

static int reserve_pairs(struct dataset *ds, size_t pairs)
{
	size_t cap;

	if (pairs <= ds->pair_cap)
		return 0;
	cap = next_cap(ds->pair_cap, pairs);
	if (resize(&ds->pair_freq, cap, sizeof(uint32_t)) ||
	    resize(&ds->pair_ns, cap, sizeof(double)))
		return -ENOMEM;
	ds->pair_cap = cap;
	return 0;
}

int dataset__reserve(struct dataset *ds, size_t rows, size_t pairs)
{
	return reserve_rows(ds, rows) || reserve_pairs(ds, pairs) ? -ENOMEM : 0;
}

int dataset__row_begin(struct dataset *ds)
{
	size_t i = ds->rows;

	if (reserve_rows(ds, i + 1))
		return -ENOMEM;
	ds->pairs = i ? ds->pair_start[i] : 0;
	ds->pair_start[i] = ds->pairs;
	ds->target[i] = NAN;
	ds->idle_uj[i] = NAN;
	ds->duration_s[i] = NAN;
	for (int c = 0; c < MF_COUNT; c++)
		ds->count[c][i] = NAN;
	ds->label[i] = 0;
	ds->run[i] = 0;
	return 0;
}

int dataset__add_pair(struct dataset *ds, uint32_t freq_id, double ns)
{
	if (reserve_pairs(ds, ds->pairs + 1))
		return -ENOMEM;
	ds->pair_freq[ds->pairs] = freq_id;
	ds->pair_ns[ds->pairs] = ns;
	ds->pairs++;
	return 0;
}

void dataset__row_commit(struct dataset *ds)
{
	ds->rows++;
	ds->pair_start[ds->rows] = ds->pairs;
	if (ds->num_files)
		ds->files[ds->num_files - 1].rows++;
}
