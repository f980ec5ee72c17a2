/* SPDX-License-Identifier: MIT */
/*
 * Request records (--request-log, docs/csv-format.md): one per completed response, from
 * the BPF ring buffer `records` to in-process consumers and the CSV.
 *
 *   request_log__open()          before anything is started: the CSV (or none), the mode
 *   request_log__add_consumer()  before start: fn(record, ctx) gets every record, in the
 *                                consumer thread (keep it short; it must not block)
 *   request_log__start()         a thread of its own drains the ring buffer (normal
 *                                priority): the sampler's boundaries never wait for it
 *   request_log__stop()          stops the thread and drains what is left (close does it
 *                                too); then request_log__put_records() may add records
 *   request_log__close()         stops (if not yet), closes the CSV
 *
 * The pure part (request_record_from_event, request_record_format_csv) is unit-tested.
 */
#ifndef COLLECTOR_REQUEST_LOG_H
#define COLLECTOR_REQUEST_LOG_H

#include <stdint.h>

#include "buf.h"
#include "request_record.h"
#include "signals.h"

#define REQUEST_LOG_MAX_CONSUMERS 4

typedef void (*request_record_fn)(const struct request_record *r, void *ctx);

struct request_log;

/* The CSV's header line, without a newline. */
const char *request_log_csv_header(void);
/* A BPF event as a record: splits the request line into method and target. Pure. */
void request_record_from_event(const struct request_event *e, struct request_record *out);
/* Appends one CSV row (with '\n'); mode is "psys" or "model". 0 or -ENOMEM. Pure. */
int request_record_format_csv(const struct request_record *r, const char *mode, struct buf *out);
/* The name header_skip writes for a reason ("" when written). */
const char *record_header_skip_name(unsigned int skip);

/* ring_fd: the `records` ring buffer map; csv_path NULL: consumers only. */
int request_log__open(int ring_fd, const char *csv_path, const char *mode,
		      struct request_log **out);
int request_log__add_consumer(struct request_log *l, request_record_fn fn, void *ctx);
int request_log__start(struct request_log *l);
uint64_t request_log__rows(const struct request_log *l);
void request_log__stop(struct request_log *l);
/* After request_log__stop(): records from elsewhere (those still waiting at stop) go to the
 * consumers and the CSV as the ring's do. */
void request_log__put_records(struct request_log *l, const struct request_record *r, size_t n);
void request_log__close(struct request_log *l);

#endif
