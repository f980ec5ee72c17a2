// SPDX-License-Identifier: MIT
#include "fake_script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fake_script script;
static bool loaded;

static void die(const char *path, int line, const char *what)
{
	fprintf(stderr, "fake gpu: %s:%d: %s\n", path, line, what);
	exit(3);
}

static unsigned num(const char *path, int line, const char *tok, unsigned max)
{
	char *end;
	unsigned long v;

	if (!tok)
		die(path, line, "missing field");
	v = strtoul(tok, &end, 10);
	if (*end || v >= max)
		die(path, line, "bad number");
	return (unsigned)v;
}

static struct fake_value value(const char *path, int line, const char *tok)
{
	struct fake_value fv = { FV_VALUE, 0 };
	char *end;

	if (!tok)
		die(path, line, "missing value");
	if (!strcmp(tok, "NS"))
		fv.kind = FV_NS;
	else if (!strcmp(tok, "LOST"))
		fv.kind = FV_LOST;
	else if (!strcmp(tok, "ERR"))
		fv.kind = FV_ERR;
	else if (!strcmp(tok, "STALE"))
		fv.kind = FV_STALE;
	else {
		fv.v = strtoull(tok, &end, 10);
		if (*end || tok[0] == '-')
			die(path, line, "bad value");
	}
	return fv;
}

static void parse_procs(const char *path, int line, char *tok, struct fake_procs *p)
{
	char *save, *item;

	if (!tok)
		die(path, line, "missing processes");
	memset(p, 0, sizeof(*p));
	if (!strcmp(tok, "NS")) {
		p->kind = FV_NS;
		return;
	}
	if (!strcmp(tok, "ERR")) {
		p->kind = FV_ERR;
		return;
	}
	p->kind = FV_VALUE;
	if (!strcmp(tok, "-"))
		return;
	for (item = strtok_r(tok, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct fake_proc *q = &p->p[p->n];

		if (p->n == FAKE_MAX_PROCS ||
		    sscanf(item, "%u:%u:%u", &q->pid, &q->sm, &q->mem) != 3)
			die(path, line, "bad process sample (pid:sm:mem)");
		p->n++;
	}
}

static void load(void)
{
	const char *path = getenv("HTTP_ENERGY_FAKE_GPU_SCRIPT");
	char text[4096];
	int line = 0;
	FILE *f;

	if (!path)
		die("(none)", 0, "HTTP_ENERGY_FAKE_GPU_SCRIPT is not set");
	f = fopen(path, "r");
	if (!f)
		die(path, 0, "cannot open");
	while (fgets(text, sizeof(text), f)) {
		char *save, *kw = strtok_r(text, " \t\n", &save);

		line++;
		if (!kw || kw[0] == '#')
			continue;
		if (!strcmp(kw, "nvml_init_fails")) {
			script.nvml_init_fails = true;
		} else if (!strcmp(kw, "dcgm_no_hostengine")) {
			script.dcgm_no_hostengine = true;
		} else if (!strcmp(kw, "gpu")) {
			unsigned g = num(path, line, strtok_r(NULL, " \t\n", &save), FAKE_MAX_GPUS);
			char *uuid = strtok_r(NULL, " \t\n", &save);

			if (!uuid || g != script.num_gpus)
				die(path, line, "gpu INDEX UUID, indexes from 0 in order");
			script.gpu[g].present = true;
			snprintf(script.gpu[g].uuid, sizeof(script.gpu[g].uuid), "%s", uuid);
			script.num_gpus++;
		} else if (!strcmp(kw, "mig")) {
			unsigned g =
				num(path, line, strtok_r(NULL, " \t\n", &save), script.num_gpus);
			unsigned s = num(path, line, strtok_r(NULL, " \t\n", &save), FAKE_MAX_MIGS);
			unsigned gi = num(path, line, strtok_r(NULL, " \t\n", &save), 1000);
			char *uuid = strtok_r(NULL, " \t\n", &save);
			struct fake_mig *m = &script.gpu[g].mig[s];

			if (!uuid)
				die(path, line, "mig GPU SLOT GI UUID");
			m->present = true;
			m->gi = gi;
			snprintf(m->uuid, sizeof(m->uuid), "%s", uuid);
		} else if (!strcmp(kw, "b")) {
			unsigned st =
				num(path, line, strtok_r(NULL, " \t\n", &save), FAKE_MAX_STEPS);
			unsigned g =
				num(path, line, strtok_r(NULL, " \t\n", &save), script.num_gpus);

			for (int i = 0; i < FF_COUNT; i++)
				script.gpu[g].f[st][i] =
					value(path, line, strtok_r(NULL, " \t\n", &save));
		} else if (!strcmp(kw, "mb")) {
			unsigned st =
				num(path, line, strtok_r(NULL, " \t\n", &save), FAKE_MAX_STEPS);
			unsigned g =
				num(path, line, strtok_r(NULL, " \t\n", &save), script.num_gpus);
			unsigned s = num(path, line, strtok_r(NULL, " \t\n", &save), FAKE_MAX_MIGS);

			for (int i = 0; i < 2; i++)
				script.gpu[g].mig[s].mem[st][i] =
					value(path, line, strtok_r(NULL, " \t\n", &save));
		} else if (!strcmp(kw, "p")) {
			unsigned st =
				num(path, line, strtok_r(NULL, " \t\n", &save), FAKE_MAX_STEPS);
			unsigned g =
				num(path, line, strtok_r(NULL, " \t\n", &save), script.num_gpus);

			parse_procs(path, line, strtok_r(NULL, " \t\n", &save),
				    &script.gpu[g].procs[st]);
		} else {
			die(path, line, "unknown keyword");
		}
	}
	fclose(f);
}

const struct fake_script *fake_script(void)
{
	if (!loaded) {
		load();
		loaded = true;
	}
	return &script;
}
