/* SPDX-License-Identifier: MIT */
/*
 * bench_http's results: the human summary on stdout and the --json document.
 */
#ifndef HTTP_ENERGY_BENCH_REPORT_H
#define HTTP_ENERGY_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "mix.h"
#include "stats.h"

struct bench_run {
	const char *url; /* --url as given */
	const char *address; /* the address connected to, "127.0.0.1:8080" */
	const char *mix_source; /* "profile mixed", "--path", "mix file x.json" */
	const struct mix *mix;
	unsigned threads;
	unsigned concurrency;
	double rate; /* 0: closed loop */
	double duration_s;
	double warmup_s;
	double timeout_s;
	uint64_t seed;
	struct timespec start_real; /* CLOCK_REALTIME at start_ns */
	uint64_t start_ns; /* CLOCK_MONOTONIC */
	uint64_t measure_ns; /* end of the warm-up */
	uint64_t stop_ns; /* end of the run (early when interrupted) */
	bool interrupted;
	uint64_t peak_rss_kib; /* VmHWM at the end; 0 if unknown */
	const struct bench_stats *stats; /* merged over threads */
};

/* Seconds of measurement: stop_ns - measure_ns, or 0. */
double report_measured_s(const struct bench_run *run);

/* What an error of this kind and cause (errno or status) means, for people; buf may be
 * used to build the text. */
const char *report_error_text(enum bench_error kind, int code, char *buf, size_t size);

void report_print(FILE *out, const struct bench_run *run);

/* Writes the JSON document to f (opened by the caller); returns 0 or -errno. */
int report_write_json(FILE *f, const struct bench_run *run);

#endif
