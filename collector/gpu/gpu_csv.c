// SPDX-License-Identifier: MIT
#include "gpu_csv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../csv_file.h"
#include "csv_schema.h"
#include "log.h"

struct gpu_csv {
	struct csv_file *file;
};

const char *gpu_csv_header(void)
{
	return "interval,t_start_ns,t_end_ns,gpu,uuid,mig_instance,energy_uj,energy_method,"
	       "power_mw,sm_util_pct,mem_util_pct,enc_util_pct,dec_util_pct,temperature_c,"
	       "memory_used_bytes,memory_total_bytes,sm_clock_mhz,mem_clock_mhz,"
	       "process_energy_uj";
}

int gpu_csv_format_row(uint64_t interval, const struct gpu_sample *s, struct buf *out)
{
	char uuid[2 * GPU_UUID_MAX + 3];
	int err = 0;

	if (csv_quote(s->uuid, uuid, sizeof(uuid)) < 0)
		return -E2BIG;
	err |= buf__appendf(out, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%s,", interval,
			    s->t_start_ns, s->t_end_ns, s->index, uuid);
	if (s->mig_instance >= 0)
		err |= buf__appendf(out, "%" PRId32, s->mig_instance);
	for (int m = 0; m < GPU_M_COUNT; m++) {
		if (s->valid & (1u << m))
			err |= buf__appendf(out, ",%" PRIu64, s->v[m]);
		else
			err |= buf__append(out, ",", 1);
		if (m == GPU_M_ENERGY_UJ)
			err |= buf__appendf(out, ",%s",
					    !(s->valid & 1u)		    ? "" :
					    s->method == GPU_ENERGY_COUNTER ? "counter" :
									      "integrated");
	}
	err |= buf__append(out, ",", 1);
	for (size_t i = 0; s->procs_valid && i < s->num_procs; i++)
		err |= buf__appendf(out, "%s%" PRIu32 ":%" PRIu64, i ? ";" : "", s->procs[i].pid,
				    s->procs[i].energy_uj);
	err |= buf__append(out, "\n", 1);
	return err ? -ENOMEM : 0;
}

int gpu_csv__open(const char *path, struct gpu_csv **out)
{
	struct gpu_csv *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	err = csv_file__open(path, gpu_csv_header(), false, "GPU CSV", &w->file);
	if (err) {
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

int gpu_csv__append(struct gpu_csv *w, uint64_t interval, const struct gpu_sample *s, size_t n)
{
	struct buf *rows = csv_file__rows(w->file);
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = gpu_csv_format_row(interval, &s[i], rows);
	if (err) {
		log_error("%s: formatting interval %" PRIu64 ": %s", csv_file__path(w->file),
			  interval, strerror(-err));
		return err;
	}
	return n ? csv_file__append(w->file, n) : 0;
}

void gpu_csv__close(struct gpu_csv *w)
{
	if (!w)
		return;
	csv_file__close(w->file);
	free(w);
}
