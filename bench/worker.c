// SPDX-License-Identifier: MIT
#include "worker.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "resp_reader.h"

#define SCRATCH_SIZE (64 * 1024)
#define MAX_EVENTS 256
/* Reads per event: a connection streaming a large body lets the others take turns. */
#define MAX_READS_PER_EVENT 4
/* Timeouts and delayed reconnects are checked this often. */
#define SCAN_NS (10 * 1000 * 1000ull)
/* After a failed connect, wait 10 ms, doubling per failure up to 1 s. */
#define RETRY_MIN_NS (10 * 1000 * 1000ull)
#define RETRY_MAX_NS (1000 * 1000 * 1000ull)
#define WAKE_TOKEN UINT32_MAX

enum { CONN_CLOSED, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct conn {
	int fd;
	uint8_t state;
	bool writing; /* the request is not all sent yet */
	bool want_out; /* EPOLLOUT is registered */
	bool in_idle; /* on the open-loop idle stack */
	uint32_t req; /* mix entry of the request in flight */
	unsigned failures; /* connect failures in a row */
	size_t sent; /* bytes of head and body sent */
	uint64_t start_ns; /* latency is measured from here */
	uint64_t deadline_ns;
	uint64_t retry_ns; /* CLOSED after a failed connect: when to try again */
	struct xoshiro256 rng;
	struct resp_reader rr;
};

struct worker {
	struct worker_config cfg;
	pthread_t thread;
	bool started;
	bool no_pwait2; /* the kernel lacks epoll_pwait2: wait in milliseconds */
	int err;
	int ep;
	struct conn *conns;
	uint32_t *idle; /* open loop: connections waiting for the next due request */
	size_t n_idle;
	uint32_t *reconnect; /* connections to reopen at the top of the loop */
	size_t n_reconnect;
	uint64_t next_seq; /* open loop: this thread's next request in the schedule */
	double ns_per_req; /* open loop: between two requests of the whole run */
	char *scratch;
	struct bench_stats *stats;
};

static void conn_connect(struct worker *w, struct conn *c, uint64_t now);
static void conn_ready(struct worker *w, struct conn *c, uint64_t now);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t conn_index(const struct worker *w, const struct conn *c)
{
	return (uint32_t)(c - w->conns);
}

/* Open loop: when this thread's request seq is due. Threads take turns in one schedule. */
static uint64_t due_ns(const struct worker *w, uint64_t seq)
{
	double slot = (double)seq * w->cfg.threads + w->cfg.index;

	return w->cfg.start_ns + (uint64_t)(slot * w->ns_per_req);
}

static void record_error(struct worker *w, size_t ep, enum bench_error kind, int err, uint64_t now)
{
	if (now >= w->cfg.measure_ns)
		bench_stats__error(w->stats, ep, kind, err);
}

static void set_want_out(struct worker *w, struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0),
				  .data.u32 = conn_index(w, c) };

	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = on;
}

static void idle_remove(struct worker *w, struct conn *c)
{
	uint32_t idx = conn_index(w, c);

	for (size_t i = 0; i < w->n_idle; i++) {
		if (w->idle[i] == idx) {
			w->idle[i] = w->idle[--w->n_idle];
			break;
		}
	}
	c->in_idle = false;
}

/* Closes the connection and queues it to be reopened at the top of the loop. */
static void conn_drop(struct worker *w, struct conn *c)
{
	if (c->in_idle)
		idle_remove(w, c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = CONN_CLOSED;
	c->writing = false;
	c->want_out = false;
	c->retry_ns = 0;
	w->reconnect[w->n_reconnect++] = conn_index(w, c);
}

/* An error on an open connection: counted against the request in flight, if any. */
static void conn_fail(struct worker *w, struct conn *c, enum bench_error kind, int err,
		      uint64_t now)
{
	record_error(w, c->state == CONN_BUSY ? c->req : SIZE_MAX, kind, err, now);
	conn_drop(w, c);
}

static void connect_failed(struct worker *w, struct conn *c, int err, uint64_t now)
{
	unsigned shift = c->failures < 7 ? c->failures : 7;
	uint64_t wait = RETRY_MIN_NS << shift;

	record_error(w, SIZE_MAX, BENCH_ERR_CONNECT, err, now);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = CONN_CLOSED;
	c->failures++;
	c->retry_ns = now + (wait < RETRY_MAX_NS ? wait : RETRY_MAX_NS);
}

static void conn_connect(struct worker *w, struct conn *c, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = conn_index(w, c) };
	int one = 1;

	c->retry_ns = 0;
	c->fd = socket(w->cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       IPPROTO_TCP);
	if (c->fd < 0) {
		connect_failed(w, c, errno, now);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Even an immediate success is reported through EPOLLOUT: no recursion here. */
	if ((connect(c->fd, (const struct sockaddr *)&w->cfg.addr, w->cfg.addrlen) < 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		connect_failed(w, c, errno, now);
		return;
	}
	c->state = CONN_CONNECTING;
	c->want_out = true;
	c->deadline_ns = now + w->cfg.timeout_ns;
}

static void conn_write(struct worker *w, struct conn *c, uint64_t now)
{
	const struct request_wire *wire = &w->cfg.requests->wire[c->req];
	size_t total = wire->head_len + wire->body_len;

	while (c->sent < total) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		size_t body_off = c->sent > wire->head_len ? c->sent - wire->head_len : 0;
		ssize_t n;

		if (c->sent < wire->head_len)
			iov[mh.msg_iovlen++] =
				(struct iovec){ wire->head + c->sent, wire->head_len - c->sent };
		if (body_off < wire->body_len)
			iov[mh.msg_iovlen++] = (struct iovec){ w->cfg.requests->body + body_off,
							       wire->body_len - body_off };
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->want_out)
					set_want_out(w, c, true);
				return;
			}
			conn_fail(w, c, BENCH_ERR_WRITE, errno, now);
			return;
		}
		c->sent += (size_t)n;
		w->stats->bytes_written += (uint64_t)n;
	}
	c->writing = false;
	if (c->want_out)
		set_want_out(w, c, false);
}

static void send_request(struct worker *w, struct conn *c, uint64_t now, uint64_t start_ns)
{
	c->req = (uint32_t)mix__draw(w->cfg.mix, &c->rng);
	c->state = CONN_BUSY;
	c->writing = true;
	c->sent = 0;
	c->start_ns = start_ns;
	c->deadline_ns = now + w->cfg.timeout_ns;
	resp_reader__start(&c->rr, w->cfg.requests->wire[c->req].head_request);
	conn_write(w, c, now);
}

/* The connection can take a request: closed loop sends at once, open loop when due. */
static void conn_ready(struct worker *w, struct conn *c, uint64_t now)
{
	uint64_t due;

	c->state = CONN_IDLE;
	if (w->cfg.rate <= 0) {
		send_request(w, c, now, now);
		return;
	}
	due = due_ns(w, w->next_seq);
	if (due <= now && due < w->cfg.end_ns) {
		w->next_seq++;
		send_request(w, c, now, due);
		return;
	}
	w->idle[w->n_idle++] = conn_index(w, c);
	c->in_idle = true;
}

static void dispatch_due(struct worker *w, uint64_t now)
{
	while (w->n_idle > 0) {
		uint64_t due = due_ns(w, w->next_seq);
		struct conn *c;

		if (due > now || due >= w->cfg.end_ns)
			return;
		c = &w->conns[w->idle[--w->n_idle]];
		c->in_idle = false;
		w->next_seq++;
		send_request(w, c, now, due);
	}
}

static void response_done(struct worker *w, struct conn *c, uint64_t now, bool extra_bytes)
{
	const struct resp_result *res = &c->rr.result;

	if (now >= w->cfg.measure_ns &&
	    bench_stats__response(w->stats, c->req, res, now - c->start_ns) < 0)
		w->err = -ENOMEM;
	if (extra_bytes) {
		/* We never pipeline, so bytes after a response are a protocol error. */
		c->state = CONN_IDLE;
		record_error(w, SIZE_MAX, BENCH_ERR_PARSE, EBADMSG, now);
		conn_drop(w, c);
		return;
	}
	/* A response that arrives before the request is all sent leaves the stream unusable. */
	if (!res->keep_alive || c->writing) {
		conn_drop(w, c);
		return;
	}
	conn_ready(w, c, now);
}

static void conn_read(struct worker *w, struct conn *c)
{
	for (int reads = 0; reads < MAX_READS_PER_EVENT; reads++) {
		ssize_t n = read(c->fd, w->scratch, SCRATCH_SIZE);
		uint64_t now = mono_ns();
		size_t used;
		int rc;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(w, c, BENCH_ERR_READ, errno, now);
			return;
		}
		if (n == 0) {
			rc = resp_reader__eof(&c->rr);
			if (rc == RESP_DONE)
				response_done(w, c, now, false);
			else
				conn_fail(w, c, BENCH_ERR_READ, -rc, now);
			return;
		}
		w->stats->bytes_read += (uint64_t)n;
		rc = resp_reader__feed(&c->rr, w->scratch, (size_t)n, &used);
		if (rc < 0) {
			conn_fail(w, c, BENCH_ERR_PARSE, -rc, now);
			return;
		}
		if (rc == RESP_DONE) {
			response_done(w, c, now, used < (size_t)n);
			return;
		}
		if (n < SCRATCH_SIZE)
			return; /* drained; level-triggered epoll reports the rest */
	}
}

/* Bytes or a close on a connection with no request outstanding. */
static void idle_event(struct worker *w, struct conn *c)
{
	ssize_t n = read(c->fd, w->scratch, SCRATCH_SIZE);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* A close is the server ending an idle keep-alive connection: not an error. */
	if (n > 0)
		record_error(w, SIZE_MAX, BENCH_ERR_PARSE, EBADMSG, mono_ns());
	conn_drop(w, c);
}

static void connect_event(struct worker *w, struct conn *c, uint32_t events)
{
	uint64_t now = mono_ns();
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(w, c, err, now);
		return;
	}
	if (!(events & EPOLLOUT))
		return;
	c->failures = 0;
	w->stats->connects++;
	set_want_out(w, c, false);
	conn_ready(w, c, now);
}

static void handle_event(struct worker *w, struct conn *c, uint32_t events)
{
	switch (c->state) {
	case CONN_CONNECTING:
		connect_event(w, c, events);
		break;
	case CONN_IDLE:
		idle_event(w, c);
		break;
	case CONN_BUSY:
		if ((events & EPOLLOUT) && c->writing) {
			conn_write(w, c, mono_ns());
			if (c->state != CONN_BUSY)
				break;
		}
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			conn_read(w, c);
		break;
	default:
		break;
	}
}

/* Timeouts, and reconnects that waited out their back-off. */
static void scan(struct worker *w, uint64_t now)
{
	for (unsigned i = 0; i < w->cfg.nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->state == CONN_CLOSED && c->retry_ns && c->retry_ns <= now)
			conn_connect(w, c, now);
		else if (c->state == CONN_CONNECTING && c->deadline_ns <= now)
			connect_failed(w, c, ETIMEDOUT, now);
		else if (c->state == CONN_BUSY && c->deadline_ns <= now)
			conn_fail(w, c, BENCH_ERR_TIMEOUT, ETIMEDOUT, now);
	}
}

static int wait_events(struct worker *w, struct epoll_event *events, uint64_t now, uint64_t until)
{
	uint64_t wait = until > now ? until - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ull),
			       .tv_nsec = (long)(wait % 1000000000ull) };
	int n;

	if (!w->no_pwait2) {
		n = epoll_pwait2(w->ep, events, MAX_EVENTS, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		w->no_pwait2 = true;
	}
	return epoll_wait(w->ep, events, MAX_EVENTS, (int)((wait + 999999) / 1000000));
}

/* Requests the open-loop schedule had due before stop but that were never sent. */
static uint64_t open_loop_backlog(const struct worker *w, uint64_t stop)
{
	double slots, mine;

	if (w->cfg.rate <= 0 || stop <= w->cfg.start_ns)
		return 0;
	slots = (double)(stop - w->cfg.start_ns) / w->ns_per_req; /* due before stop */
	if (slots <= w->cfg.index)
		return 0;
	mine = floor((slots - w->cfg.index - 1e-9) / w->cfg.threads) + 1;
	return mine > (double)w->next_seq ? (uint64_t)mine - w->next_seq : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event events[MAX_EVENTS];
	uint64_t now = mono_ns(), next_scan = now + SCAN_NS;
	bool woken = false;

	for (unsigned i = 0; i < w->cfg.nconns; i++)
		conn_connect(w, &w->conns[i], now);

	while (!woken && !w->err) {
		uint64_t until;
		int n;

		now = mono_ns();
		if (now >= w->cfg.end_ns)
			break;
		while (w->n_reconnect > 0)
			conn_connect(w, &w->conns[w->reconnect[--w->n_reconnect]], now);
		if (now >= next_scan) {
			scan(w, now);
			next_scan = now + SCAN_NS;
		}
		if (w->cfg.rate > 0)
			dispatch_due(w, now);

		until = next_scan < w->cfg.end_ns ? next_scan : w->cfg.end_ns;
		if (w->cfg.rate > 0 && w->n_idle > 0 && due_ns(w, w->next_seq) < until)
			until = due_ns(w, w->next_seq);
		if (w->n_reconnect > 0)
			until = now;
		n = wait_events(w, events, now, until);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->err = -errno;
			log_error("thread %u: epoll: %s", w->cfg.index, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.u32 == WAKE_TOKEN)
				woken = true;
			else
				handle_event(w, &w->conns[events[i].data.u32], events[i].events);
		}
	}

	now = mono_ns();
	if (now >= w->cfg.measure_ns) {
		for (unsigned i = 0; i < w->cfg.nconns; i++)
			w->stats->in_flight_at_end += w->conns[i].state == CONN_BUSY;
		w->stats->backlog_at_end =
			open_loop_backlog(w, now < w->cfg.end_ns ? now : w->cfg.end_ns);
	}
	for (unsigned i = 0; i < w->cfg.nconns; i++) {
		if (w->conns[i].fd >= 0)
			close(w->conns[i].fd);
		w->conns[i].fd = -1;
	}
	return NULL;
}

struct worker *worker__new(const struct worker_config *cfg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = WAKE_TOKEN };
	struct worker *w = calloc(1, sizeof(*w));
	int err = ENOMEM;

	if (!w)
		goto fail;
	w->cfg = *cfg;
	w->ep = -1;
	w->conns = calloc(cfg->nconns, sizeof(*w->conns));
	w->idle = calloc(cfg->nconns, sizeof(*w->idle));
	w->reconnect = calloc(cfg->nconns, sizeof(*w->reconnect));
	w->scratch = malloc(SCRATCH_SIZE);
	w->stats = bench_stats__new(mix__size(cfg->mix));
	if (!w->conns || !w->idle || !w->reconnect || !w->scratch || !w->stats)
		goto fail;
	for (unsigned i = 0; i < cfg->nconns; i++) {
		struct conn *c = &w->conns[i];

		c->fd = -1;
		xoshiro256_seed(&c->rng, cfg->seed, cfg->conn_base + i);
		resp_reader__init(&c->rr);
	}
	if (cfg->rate > 0)
		w->ns_per_req = 1e9 / cfg->rate;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, cfg->wake_fd, &ev) < 0) {
		err = errno;
		goto fail;
	}
	return w;
fail:
	worker__free(w);
	errno = err;
	return NULL;
}

int worker__start(struct worker *w)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

	if (err)
		return -err;
	w->started = true;
	return 0;
}

int worker__join(struct worker *w)
{
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	return w->err;
}

const struct bench_stats *worker__stats(const struct worker *w)
{
	return w->stats;
}

void worker__free(struct worker *w)
{
	if (!w)
		return;
	worker__join(w);
	for (unsigned i = 0; w->conns && i < w->cfg.nconns; i++) {
		if (w->conns[i].fd >= 0)
			close(w->conns[i].fd);
		resp_reader__free(&w->conns[i].rr);
	}
	if (w->ep >= 0)
		close(w->ep);
	bench_stats__free(w->stats);
	free(w->conns);
	free(w->idle);
	free(w->reconnect);
	free(w->scratch);
	free(w);
}
