// SPDX-License-Identifier: MIT
#include "operators.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../csv_file.h"
#include "accounts.h"
#include "buf.h"
#include "cgroup_names.h"
#include "gpu_accounts.h"
#include "csv_schema.h"
#include "log.h"
#include "metrics_format.h"
#include "metrics_http.h"

const char operators_cgroup_csv_header[] =
	"interval,label,t_start_ns,t_end_ns,energy_source,kind,cgroup_id,cgroup,pod_uid,qos,"
	"container_id,runtime_ns,energy_uj";

struct operators {
	struct operators_opts opt;
	struct accounts *accounts;
	struct cgroup_names *names;
	struct metrics_server *server;
	struct routes *routes; /* with the endpoint only */
	struct routes_snapshot route_snap; /* the sampler's copy, reused */
	struct csv_file *csv; /* --cgroup-csv */
	struct buf text;
	/* cumulative, for the endpoint */
	uint64_t node_uj, idle_uj, dynamic_uj, attributed_uj;
	uint64_t busy_ns, idle_ns, irq_ns, softirq_ns, kthread_ns, proc_overflows;
	/* physical GPUs, in the order the source lists them; energy cumulative */
	struct gpu_accounts *gpu_accounts; /* per-process GPU energy, with the endpoint */
	struct metrics_gpu gpu[METRICS_MAX_GPUS];
	char gpu_uuid[METRICS_MAX_GPUS][GPU_UUID_MAX];
	size_t num_gpus;
};

/* /proc/PID/stat: comm in parentheses (it may hold ')' itself), start time field 22. */
static int identify(void *ctx, uint32_t tgid, uint64_t *start, char comm[ACCOUNTS_COMM_LEN])
{
	char path[64], text[1024], *open_paren, *close_paren, *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	text[n] = '\0';
	open_paren = strchr(text, '(');
	close_paren = strrchr(text, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -ENOENT;
	n = close_paren - open_paren - 1;
	if (n >= ACCOUNTS_COMM_LEN)
		n = ACCOUNTS_COMM_LEN - 1;
	memcpy(comm, open_paren + 1, (size_t)n);
	comm[n] = '\0';
	/* fields after ')': 3 state ... 22 starttime */
	p = close_paren + 1;
	for (int field = 2; field < 21 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -ENOENT;
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

static const char *cgroup_path(void *ctx, uint64_t id)
{
	return cgroup_names__lookup(ctx, id);
}

int operators__open(const struct operators_opts *opts, struct operators **out)
{
	struct operators *op;
	struct accounts_opts ao = { 0 };
	int err;

	*out = NULL;
	if (!opts->metrics_addr && !opts->cgroup_csv)
		return 0;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->opt = *opts;
	if (!op->opt.max_cgroups)
		op->opt.max_cgroups = 2048;
	if (!op->opt.max_processes)
		op->opt.max_processes = 64;
	err = cgroup_names__new(opts->cgroup_mount, (size_t)op->opt.max_cgroups * 8, &op->names);
	if (err)
		goto cleanup;
	ao.max_cgroups = op->opt.max_cgroups;
	ao.max_processes = op->opt.max_processes;
	ao.identify = identify;
	ao.cgroup_path = cgroup_path;
	ao.ctx = op->names;
	err = accounts__new(&ao, &op->accounts);
	if (err)
		goto cleanup;
	if (opts->cgroup_csv) {
		err = csv_file__open(opts->cgroup_csv, operators_cgroup_csv_header, false,
				     "cgroup CSV", &op->csv);
		if (err)
			goto cleanup;
		log_info("cgroups: one row per cgroup per interval into %s", opts->cgroup_csv);
	}
	if (opts->metrics_addr) {
		struct metrics_server_opts so = { .addr = opts->metrics_addr };

		struct routes_opts ro = { .max_routes = opts->max_routes };
		struct gpu_accounts_opts go = { .max_processes = op->opt.max_processes,
						.identify = identify };

		err = routes__new(&ro, &op->routes);
		if (!err)
			err = gpu_accounts__new(&go, &op->gpu_accounts);
		if (err)
			goto cleanup;
		err = metrics_server__start(&so, &op->server);
		if (err)
			goto cleanup;
		log_info("metrics: serving http://%s/metrics (at most %u cgroup, %u process and "
			 "%u route series)",
			 metrics_server__address(op->server), op->opt.max_cgroups,
			 op->opt.max_processes,
			 opts->max_routes ? opts->max_routes : ROUTES_DEFAULT_MAX_ROUTES);
	}
	*out = op;
	return 0;
cleanup:
	if (err == -ENOMEM)
		log_error("operators: out of memory");
	operators__close(op);
	return err;
}

static int put_text(struct buf *b, const char *text)
{
	char quoted[8192];
	int n = csv_quote(text ? text : "", quoted, sizeof(quoted));

	if (n < 0)
		return -E2BIG;
	return buf__appendf(b, ",%s", quoted);
}

static int row_start(struct buf *b, struct operators *op, const struct operators_interval *iv,
		     const char *kind)
{
	int err = 0;

	err |= buf__appendf(b, "%" PRIu64, iv->interval);
	err |= put_text(b, op->opt.label);
	err |= buf__appendf(b, ",%" PRIu64 ",%" PRIu64, iv->sig->t_start_ns, iv->sig->t_end_ns);
	err |= put_text(b, iv->energy_source);
	err |= buf__appendf(b, ",%s", kind);
	return err;
}

static int csv_rows(struct operators *op, const struct operators_interval *iv, uint64_t idle,
		    int64_t unattributed)
{
	const struct cgroup_account *c;
	const struct accounts_other *other = accounts__other_cgroups(op->accounts);
	size_t n = accounts__cgroups(op->accounts, &c);
	struct buf *b = csv_file__rows(op->csv);
	uint64_t rows = 0;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].interval_runtime_ns && !c[i].interval_uj)
			continue; /* did not run in this interval */
		err |= row_start(b, op, iv, "cgroup");
		err |= buf__appendf(b, ",%" PRIu64, c[i].id);
		err |= put_text(b, c[i].path ? c[i].path : "");
		err |= put_text(b, c[i].k8s.pod_uid);
		err |= put_text(b, c[i].k8s.qos);
		err |= put_text(b, c[i].k8s.container_id);
		err |= buf__appendf(b, ",%" PRIu64 ",%" PRIu64 "\n", c[i].interval_runtime_ns,
				    c[i].interval_uj);
		rows++;
	}
	err |= row_start(b, op, iv, "other");
	err |= buf__appendf(b, ",,,,,,%" PRIu64 ",%" PRIu64 "\n", other->interval_runtime_ns,
			    other->interval_uj);
	err |= row_start(b, op, iv, "idle");
	err |= buf__appendf(b, ",,,,,,%" PRIu64 ",%" PRIu64 "\n", (uint64_t)iv->sig->host.idle_ns,
			    idle);
	err |= row_start(b, op, iv, "unattributed");
	err |= buf__appendf(b, ",,,,,,,%" PRId64 "\n", unattributed);
	rows += 3;
	if (err) {
		log_error("%s: formatting interval %" PRIu64 ": %s", op->opt.cgroup_csv,
			  iv->interval, strerror(ENOMEM));
		return -ENOMEM;
	}
	/* One write per interval: a reader sees whole intervals. */
	return csv_file__append(op->csv, rows);
}

/* Adds the interval's GPU energy to each physical GPU's total (an unknown cell adds 0), and
 * its per-process shares to the process accounts. */
static int add_gpus(struct operators *op, const struct operators_interval *iv)
{
	int err = 0;

	for (size_t i = 0; i < iv->num_gpus; i++) {
		const struct gpu_sample *g = &iv->gpus[i];
		size_t k;

		if (g->mig_instance >= 0)
			continue;
		for (k = 0; k < op->num_gpus && op->gpu[k].index != g->index; k++)
			;
		if (k == op->num_gpus) {
			if (k == METRICS_MAX_GPUS)
				continue;
			snprintf(op->gpu_uuid[k], sizeof(op->gpu_uuid[k]), "%s", g->uuid);
			op->gpu[k] = (struct metrics_gpu){ .index = g->index, .uuid = op->gpu_uuid[k] };
			op->num_gpus++;
		}
		if (g->valid & (1u << GPU_M_ENERGY_UJ))
			op->gpu[k].energy_uj += g->v[GPU_M_ENERGY_UJ];
		op->gpu[k].power_known = g->valid & (1u << GPU_M_POWER_MW);
		op->gpu[k].power_mw = op->gpu[k].power_known ? g->v[GPU_M_POWER_MW] : 0;
		if (op->gpu_accounts && g->procs_valid && !err)
			err = gpu_accounts__add(op->gpu_accounts, g->index, g->procs, g->num_procs);
	}
	if (op->gpu_accounts)
		gpu_accounts__end_interval(op->gpu_accounts);
	return err;
}

static int publish(struct operators *op, const struct operators_interval *iv)
{
	struct metrics_input in = {
		.version = op->opt.version,
		.energy_source = iv->energy_source,
		.measured = iv->measured,
		.mode = op->opt.mode,
		.signals = op->opt.signals,
		.node_uj = op->node_uj,
		.idle_uj = op->idle_uj,
		.dynamic_uj = op->dynamic_uj,
		.attributed_uj = op->attributed_uj,
		.busy_ns = op->busy_ns,
		.idle_ns = op->idle_ns,
		.irq_ns = op->irq_ns,
		.softirq_ns = op->softirq_ns,
		.kthread_ns = op->kthread_ns,
		.intervals = iv->interval + 1,
		.overruns = iv->overruns,
		.proc_overflows = op->proc_overflows,
		.last_interval_ns = iv->sig->t_end_ns - iv->sig->t_start_ns,
		.requests = iv->requests,
		.accounts = op->accounts,
		.cgroup_walks = cgroup_names__walks(op->names),
		.gpus = op->gpu,
		.num_gpus = op->num_gpus,
		.cgroup_name = cgroup_path,
		.cgroup_ctx = op->names,
		.records_dropped = iv->records_dropped,
	};
	int err;

	/* a copy: the record consumer keeps adding while this interval is formatted */
	if (routes__snapshot(op->routes, &op->route_snap) == 0) {
		in.routes = op->route_snap.routes;
		in.num_routes = op->route_snap.num;
	}
	if (op->gpu_accounts) {
		in.num_gpu_procs = gpu_accounts__processes(op->gpu_accounts, &in.gpu_procs);
		in.num_gpu_others = gpu_accounts__others(op->gpu_accounts, &in.gpu_others);
	}
	metrics_server__stats(op->server, &in.scrapes, &in.scrapes_refused);
	buf__clear(&op->text);
	err = metrics_format(&in, &op->text);
	if (!err)
		err = metrics_server__publish(op->server, op->text.data, op->text.len);
	if (err)
		log_error("metrics: interval %" PRIu64 ": %s (the endpoint keeps the last one)",
			  iv->interval, strerror(-err));
	return 0; /* the endpoint never stops the sampler */
}

int operators__interval(struct operators *op, const struct operators_interval *iv)
{
	const struct cpu_signals *h = &iv->sig->host;
	uint64_t idle = iv->idle_uj < iv->energy_uj ? iv->idle_uj : iv->energy_uj;
	uint64_t dynamic = iv->energy_uj - idle;
	int64_t unattributed = (int64_t)dynamic - (int64_t)iv->attributed_uj;
	int err;

	if (!op)
		return 0;
	cgroup_names__new_interval(op->names);
	err = accounts__add_interval(op->accounts, iv->sig->procs, iv->proc_uj,
				     iv->sig->num_procs);
	if (err) {
		log_error("operators: out of memory for %zu process entries", iv->sig->num_procs);
		return err;
	}
	op->node_uj += iv->energy_uj;
	op->idle_uj += idle;
	op->dynamic_uj += dynamic;
	op->attributed_uj += iv->attributed_uj;
	op->busy_ns += h->runtime_ns;
	op->idle_ns += h->idle_ns;
	op->irq_ns += h->irq_ns;
	op->softirq_ns += h->softirq_ns;
	op->kthread_ns += h->kthread_runtime_ns;
	op->proc_overflows += h->proc_overflows;
	if (add_gpus(op, iv))
		log_error("metrics: out of memory for per-process GPU energy (interval %" PRIu64
			  "; left out)",
			  iv->interval);
	if (op->csv) {
		err = csv_rows(op, iv, idle, unattributed);
		if (err)
			return err;
	}
	if (op->server)
		publish(op, iv);
	return 0;
}

int operators__reopen(struct operators *op)
{
	int err;

	if (!op || !op->csv)
		return 0;
	err = csv_file__reopen(op->csv);
	if (err)
		log_error("%s: reopening failed; rows keep going to the file already open",
			  op->opt.cgroup_csv);
	return err;
}

struct routes *operators__routes(struct operators *op)
{
	return op ? op->routes : NULL;
}

uint64_t operators__csv_rows(const struct operators *op)
{
	return op && op->csv ? csv_file__rows_written(op->csv) : 0;
}

void operators__close(struct operators *op)
{
	if (!op)
		return;
	metrics_server__stop(op->server);
	routes__free(op->routes);
	gpu_accounts__free(op->gpu_accounts);
	routes_snapshot_free(&op->route_snap);
	csv_file__close(op->csv);
	accounts__free(op->accounts);
	cgroup_names__free(op->names);
	buf__free(&op->text);
	free(op);
}
