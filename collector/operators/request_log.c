// SPDX-License-Identifier: MIT
#include "request_log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv_schema.h"
#include "log.h"
#include "request_energy.h"

struct consumer {
	request_record_fn fn;
	void *ctx;
};

struct request_log {
	struct ring_buffer *rb;
	int fd;
	char *path;
	const char *mode;
	off_t size;
	struct buf line;
	struct consumer consumers[REQUEST_LOG_MAX_CONSUMERS];
	int num_consumers;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_uint_fast64_t rows;
	uint64_t pending_rows; /* rows in line, not written yet (the reader thread's) */
	int write_err; /* the first write error (the thread stops writing the CSV then) */
};

const char *request_log_csv_header(void)
{
	return "head_ns,first_write_ns,end_ns,cgroup_id,pid,tid,conn,method,target,status,"
	       "request_bytes,response_bytes,cpu_ns,energy_uj,header_uj,header_skip,mode,tail";
}

const char *record_header_skip_name(unsigned int skip)
{
	switch (skip) {
	case RECORD_HEADER_WRITTEN:
		return "";
	case RECORD_HEADER_NO_HEADER:
		return "no_header";
	case RECORD_HEADER_PORT:
		return "port";
	case RECORD_HEADER_BATCHED:
		return "batched";
	case RECORD_HEADER_INTERIM:
		return "interim";
	case RECORD_HEADER_FAILED:
		return "failed";
	case RECORD_HEADER_SEND_BUFFER:
		return "send_buffer";
	default:
		return "other";
	}
}

/* enum rec_skip (BPF) and enum record_header_skip (user space) are the same list. */
#define SAME_SKIP(a, b) _Static_assert((int)(a) == (int)(b), #a " differs from " #b)
SAME_SKIP(REC_SKIP_WRITTEN, RECORD_HEADER_WRITTEN);
SAME_SKIP(REC_SKIP_NO_HEADER, RECORD_HEADER_NO_HEADER);
SAME_SKIP(REC_SKIP_PORT, RECORD_HEADER_PORT);
SAME_SKIP(REC_SKIP_BATCHED, RECORD_HEADER_BATCHED);
SAME_SKIP(REC_SKIP_INTERIM, RECORD_HEADER_INTERIM);
SAME_SKIP(REC_SKIP_FAILED, RECORD_HEADER_FAILED);
SAME_SKIP(REC_SKIP_SEND_BUFFER, RECORD_HEADER_SEND_BUFFER);
SAME_SKIP(REC_SKIP_OTHER, RECORD_HEADER_OTHER);

void request_record_from_event(const struct request_event *e, struct request_record *out)
{
	size_t len = e->line_len < REQ_LINE_MAX ? e->line_len : REQ_LINE_MAX, i = 0, t;

	memset(out, 0, sizeof(*out));
	out->head_ns = e->head_ns;
	out->first_write_ns = e->first_write_ns;
	out->end_ns = e->end_ns;
	out->cgroup_id = e->cgroup_id;
	out->conn = e->conn;
	out->pid = e->pid;
	out->tid = e->tid;
	out->request_bytes = e->request_bytes;
	out->response_bytes = e->response_bytes;
	out->cpu_ns = e->cpu_ns;
	out->energy_uj_fx = e->energy_uj_fx;
	out->header_uj = e->header_uj;
	out->status = e->status;
	out->header_skip =
		e->header_skip < RECORD_HEADER_SKIPS ? e->header_skip : RECORD_HEADER_OTHER;
	/* "METHOD SP TARGET SP ...": ingress kept the line's first bytes */
	while (i < len && e->line[i] != ' ' && e->line[i] != '\r' && e->line[i] != '\n') {
		if (i < REQUEST_METHOD_MAX)
			out->method[out->method_len++] = e->line[i];
		i++;
	}
	if (i >= len || e->line[i] != ' ') {
		out->target_cut = len > 0; /* the line stopped inside the method */
		return;
	}
	for (t = i + 1; t < len && e->line[t] != ' ' && e->line[t] != '\r' && e->line[t] != '\n';
	     t++) {
		if (out->target_len < REQUEST_TARGET_MAX)
			out->target[out->target_len++] = e->line[t];
		else
			out->target_cut = 1;
	}
	if (t >= len)
		out->target_cut = 1; /* no end seen: longer than kept, or split across segments */
}

/* Bytes outside printable ASCII as %XX, then quoted per RFC 4180 where needed. */
static int put_text(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3 * REQUEST_TARGET_MAX + 1], quoted[2 * sizeof(esc) + 3];
	size_t o = 0;
	int len;

	for (size_t i = 0; i < n && o + 4 <= sizeof(esc); i++) {
		unsigned char b = (unsigned char)s[i];

		if (b >= 0x20 && b < 0x7f) {
			esc[o++] = (char)b;
		} else {
			esc[o++] = '%';
			esc[o++] = hex[b >> 4];
			esc[o++] = hex[b & 15];
		}
	}
	esc[o] = '\0';
	len = csv_quote(esc, quoted, sizeof(quoted));
	if (len < 0)
		return -ENOMEM;
	return buf__append(out, quoted, (size_t)len);
}

/* v in decimal at p (room for 20 digits), then sep unless it is 0; returns the end. The
 * records' hot path: snprintf per field was most of the reader's CPU (docs/overhead.md). */
static char *put_dec(char *p, uint64_t v, char sep)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	if (sep)
		*p++ = sep;
	return p;
}

int request_record_format_csv(const struct request_record *r, const char *mode, struct buf *out)
{
	uint64_t fx = r->energy_uj_fx;
	uint64_t milli = (fx >> REQ_FRAC_BITS) * 1000 +
			 (((fx & (REQ_FRAC_ONE - 1)) * 1000 + REQ_FRAC_ONE / 2) >> REQ_FRAC_BITS);
	bool head = r->head_ns != 0;
	const char *skip = record_header_skip_name(r->header_skip);
	const char *tail = r->tail_cut ? "stop" : "";
	/* the numeric cells at most: 10 of 20 digits, 5 of 10, separators, the decimals */
	char num[10 * 21 + 5 * 11 + 8], *p;
	int err;

	p = num;
	if (head)
		p = put_dec(p, r->head_ns, ',');
	else
		*p++ = ',';
	p = put_dec(p, r->first_write_ns, ',');
	p = put_dec(p, r->end_ns, ',');
	p = put_dec(p, r->cgroup_id, ',');
	p = put_dec(p, r->pid, ',');
	p = put_dec(p, r->tid, ',');
	p = put_dec(p, r->conn, ',');
	err = buf__append(out, num, (size_t)(p - num));
	err = err ?: put_text(out, r->method, r->method_len);
	err = err ?: buf__append(out, ",", 1);
	err = err ?: put_text(out, r->target, r->target_len);
	p = num;
	*p++ = ',';
	p = put_dec(p, r->status, ',');
	if (head)
		p = put_dec(p, r->request_bytes, ',');
	else
		*p++ = ',';
	p = put_dec(p, r->response_bytes, ',');
	p = put_dec(p, r->cpu_ns, ',');
	p = put_dec(p, milli / 1000, '.');
	*p++ = (char)('0' + milli % 1000 / 100);
	*p++ = (char)('0' + milli % 100 / 10);
	*p++ = (char)('0' + milli % 10);
	*p++ = ',';
	if (r->header_skip == RECORD_HEADER_WRITTEN)
		p = put_dec(p, r->header_uj, ',');
	else
		*p++ = ',';
	err = err ?: buf__append(out, num, (size_t)(p - num));
	err = err ?: buf__append(out, skip, strlen(skip));
	err = err ?: buf__append(out, ",", 1);
	err = err ?: buf__append(out, mode, strlen(mode));
	err = err ?: buf__append(out, ",", 1);
	err = err ?: buf__append(out, tail, strlen(tail));
	err = err ?: buf__append(out, "\n", 1);
	return err ? -ENOMEM : 0;
}

/* Rows go out in batches of whole rows: one write per poll, or per this many bytes. */
#define REQUEST_LOG_BATCH (64 * 1024)

/* Writes the rows formatted so far (l->line): one write(2), whole rows only. */
static void flush_rows(struct request_log *l)
{
	size_t kept, rows = 0;
	int err;

	if (l->fd < 0 || l->write_err || !l->line.len)
		return;
	err = buf__write_rows(&l->line, l->fd, &l->size, &kept);
	if (err) {
		l->write_err = err;
		log_error("%s: %s; no more records are written", l->path, strerror(-err));
		for (size_t i = 0; i < kept; i++) /* the rows that landed whole stay, counted */
			rows += l->line.data[i] == '\n';
	} else {
		rows = l->pending_rows;
	}
	atomic_fetch_add(&l->rows, rows);
	l->pending_rows = 0;
	buf__clear(&l->line);
}

/* A record to the consumers and (batched) to the CSV. */
static void put_record(struct request_log *l, const struct request_record *r)
{
	size_t len = l->line.len;

	for (int i = 0; i < l->num_consumers; i++)
		l->consumers[i].fn(r, l->consumers[i].ctx);
	if (l->fd < 0 || l->write_err)
		return;
	if (request_record_format_csv(r, l->mode, &l->line)) {
		l->line.len = len; /* no half row: the rows before it still go out */
		flush_rows(l);
		if (!l->write_err) {
			l->write_err = -ENOMEM;
			log_error("%s: %s; no more records are written", l->path, strerror(ENOMEM));
		}
		return;
	}
	l->pending_rows++;
	if (l->line.len >= REQUEST_LOG_BATCH)
		flush_rows(l);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct request_log *l = ctx;
	struct request_record r;

	if (size < sizeof(struct request_event))
		return 0;
	request_record_from_event(data, &r);
	put_record(l, &r);
	return 0;
}

int request_log__open(int ring_fd, const char *csv_path, const char *mode, struct request_log **out)
{
	struct request_log *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	l->fd = -1;
	l->mode = mode;
	if (csv_path) {
		l->path = strdup(csv_path);
		l->fd = open(csv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (!l->path || l->fd < 0) {
			err = l->path ? -errno : -ENOMEM;
			log_error("%s: %s", csv_path, strerror(-err));
			goto fail;
		}
		err = buf__appendf(&l->line, "%s\n", request_log_csv_header());
		err = err ?: buf__write_whole(&l->line, l->fd, &l->size);
		if (err) {
			log_error("%s: writing the header: %s", csv_path, strerror(-err));
			goto fail;
		}
		buf__clear(&l->line);
	}
	l->rb = ring_buffer__new(ring_fd, on_event, l, NULL);
	if (!l->rb) {
		err = -errno;
		log_error("requests: the records ring buffer: %s", strerror(errno));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	request_log__close(l);
	return err;
}

int request_log__add_consumer(struct request_log *l, request_record_fn fn, void *ctx)
{
	if (l->started || l->num_consumers >= REQUEST_LOG_MAX_CONSUMERS)
		return -EBUSY;
	l->consumers[l->num_consumers].fn = fn;
	l->consumers[l->num_consumers].ctx = ctx;
	l->num_consumers++;
	return 0;
}

static void *consume(void *arg)
{
	struct request_log *l = arg;

	while (!atomic_load(&l->stop)) {
		int n = ring_buffer__poll(l->rb, 100);

		/* a timeout: no wakeup came (BPF wakes this thread only every so many records,
		 * requests.bpf.c's count_record()) and epoll saw nothing; read what waits */
		if (n == 0)
			n = ring_buffer__consume(l->rb);
		flush_rows(l);
		if (n < 0 && n != -EINTR) {
			log_error("requests: reading records: %s", strerror(-n));
			break;
		}
	}
	return NULL;
}

int request_log__start(struct request_log *l)
{
	pthread_attr_t attr;
	struct sched_param sp = { .sched_priority = 0 };
	int err;

	/* Explicitly normal priority: a thread started by the SCHED_FIFO sampler would
	 * inherit its class, and records are never worth delaying a boundary for. */
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &sp);
	err = pthread_create(&l->thread, &attr, consume, l);
	pthread_attr_destroy(&attr);
	if (err) {
		log_error("requests: starting the record reader: %s", strerror(err));
		return -err;
	}
	l->started = true;
	return 0;
}

uint64_t request_log__rows(const struct request_log *l)
{
	return l ? atomic_load(&((struct request_log *)l)->rows) : 0;
}

void request_log__stop(struct request_log *l)
{
	if (!l)
		return;
	if (l->started) {
		atomic_store(&l->stop, true);
		pthread_join(l->thread, NULL);
		l->started = false;
	}
	if (l->rb)
		ring_buffer__consume(l->rb); /* what came in since the last poll */
	flush_rows(l);
}

void request_log__put_records(struct request_log *l, const struct request_record *r, size_t n)
{
	if (!l || l->started)
		return;
	for (size_t i = 0; i < n; i++)
		put_record(l, &r[i]);
	flush_rows(l);
}

void request_log__close(struct request_log *l)
{
	if (!l)
		return;
	request_log__stop(l);
	if (l->rb)
		ring_buffer__free(l->rb);
	if (l->fd >= 0)
		close(l->fd);
	buf__free(&l->line);
	free(l->path);
	free(l);
}
