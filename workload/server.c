// SPDX-License-Identifier: MIT
/*
 * workload_server: a blocking, thread-per-connection HTTP/1.x server whose endpoints have
 * known, different resource behaviour. Each worker thread serves one connection at a time
 * and one request at a time, which is what per-request energy attribution assumes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "endpoints.h"
#include "data_file.h"
#include "http_parser.h"
#include "log.h"
#include "options.h"
#include "self_cpu.h"

#define MAX_HEAD_BYTES (16 * 1024)
#define MAX_HEADERS 64
#define READ_BUF_BYTES (64 * 1024)
#define IO_CHUNK_BYTES (64 * 1024)
#define WORKER_STACK_BYTES (256 * 1024)

struct server_opts {
	uint16_t port;
	const char *bind_addr;
	unsigned threads;
	const char *data_dir;
	unsigned idle_timeout_ms;
	unsigned request_timeout_ms;
	bool self_cpu;
};

struct server {
	struct server_opts opts;
	int listen_fd;
	int stop_fd; /* eventfd: readable once shutdown starts */
	int data_fd;
	atomic_bool stopping;
	struct workload_stats stats;
	struct self_cpu *self; /* --self-cpu, else NULL */
};

struct worker {
	struct server *srv;
	pthread_t thread;
	char *rbuf;	/* request bytes: [roff, rlen) not yet consumed */
	size_t rlen, roff;
	unsigned char *io; /* scratch for file reads and body reads */
	struct response resp;
	uint64_t req_cpu_ns; /* --self-cpu: this thread's CPU clock where the request began */
};

enum fill_result { FILL_OK, FILL_CLOSED, FILL_TIMEOUT, FILL_STOP, FILL_ERROR };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Reads more bytes into rbuf. Waiting for the first byte of a new request uses the idle
 * timeout and gives way to shutdown; inside a request the request timeout applies, so a
 * client that vanishes mid-request frees its worker.
 */
static enum fill_result fill(struct worker *w, int fd)
{
	const struct server *srv = w->srv;
	bool between_requests = w->rlen == w->roff;
	int timeout_ms = (int)(between_requests ? srv->opts.idle_timeout_ms
						: srv->opts.request_timeout_ms);
	struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
				 { .fd = srv->stop_fd, .events = POLLIN } };
	ssize_t n;
	int rc;

	if (w->roff > 0) {
		memmove(w->rbuf, w->rbuf + w->roff, w->rlen - w->roff);
		w->rlen -= w->roff;
		w->roff = 0;
	}
	if (w->rlen == READ_BUF_BYTES)
		return FILL_ERROR;
	do
		rc = poll(pfd, between_requests ? 2 : 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return FILL_ERROR;
	if (rc == 0)
		return FILL_TIMEOUT;
	if (between_requests && (pfd[1].revents & POLLIN) && !(pfd[0].revents & POLLIN))
		return FILL_STOP;
	do
		n = recv(fd, w->rbuf + w->rlen, READ_BUF_BYTES - w->rlen, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return FILL_CLOSED;
	if (n < 0)
		return FILL_ERROR;
	w->rlen += (size_t)n;
	return FILL_OK;
}

static int send_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* includes SO_SNDTIMEO expiring on a client that stopped reading */
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Sends the status line, headers and body; for /file the body streams from the data file. */
static int send_response(struct worker *w, int fd, struct response *resp, bool keep_alive)
{
	uint64_t body_len = resp->file_bytes ? resp->file_bytes : resp->body.len;
	char head[512], allow[64] = "";
	struct iovec iov[2];
	size_t first = 0;
	int head_len;

	if (resp->allow)
		snprintf(allow, sizeof(allow), "Allow: %s\r\n", resp->allow);
	head_len = snprintf(head, sizeof(head),
			    "HTTP/1.1 %d %s\r\nServer: workload_server\r\nContent-Type: %s\r\n"
			    "Content-Length: %llu\r\n%sConnection: %s\r\n\r\n",
			    resp->status, http_reason(resp->status),
			    resp->content_type ? resp->content_type : "text/plain",
			    (unsigned long long)body_len, allow, keep_alive ? "keep-alive" : "close");
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)head_len;
	if (!resp->file_bytes) {
		iov[1].iov_base = resp->body.data;
		iov[1].iov_len = resp->body.len;
		return send_all(fd, iov, resp->body.len ? 2 : 1);
	}

	/* The status line and the first chunk go in one write, as an in-kernel rewriter expects. */
	for (uint64_t off = 0; off < body_len; off += first) {
		size_t want = body_len - off < IO_CHUNK_BYTES ? (size_t)(body_len - off)
							       : IO_CHUNK_BYTES;
		ssize_t n = pread(w->srv->data_fd, w->io, want, (off_t)off);

		if (n <= 0)
			return -1; /* headers are out already: closing is the only honest answer */
		first = (size_t)n;
		iov[1].iov_base = w->io;
		iov[1].iov_len = first;
		if (off == 0) {
			if (send_all(fd, iov, 2))
				return -1;
		} else if (send_all(fd, &iov[1], 1)) {
			return -1;
		}
	}
	return 0;
}

/*
 * Consumes `len` body bytes from the connection, checksumming them when crc is non-NULL.
 * Bytes past the body stay buffered: they are the next pipelined request.
 */
static int read_body(struct worker *w, int fd, uint64_t len, uint32_t *crc)
{
	uLong c = crc32(0, Z_NULL, 0);

	while (len > 0) {
		size_t avail = w->rlen - w->roff;
		size_t take;

		if (avail == 0) {
			w->rlen = w->roff = 0;
			if (fill(w, fd) != FILL_OK)
				return -1;
			continue;
		}
		take = avail < len ? avail : (size_t)len;
		if (crc)
			c = crc32(c, (const Bytef *)w->rbuf + w->roff, (uInt)take);
		w->roff += take;
		len -= take;
	}
	if (crc)
		*crc = (uint32_t)c;
	return 0;
}

static void count(struct server *srv, enum endpoint_id id, int status)
{
	atomic_fetch_add_explicit(&srv->stats.requests[id], 1, memory_order_relaxed);
	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&srv->stats.status_class[status / 100], 1,
					  memory_order_relaxed);
}

static void reset_response(struct response *resp)
{
	resp->status = 200;
	resp->content_type = "text/plain";
	resp->allow = NULL;
	resp->file_bytes = 0;
	resp->close = false;
	buf__clear(&resp->body);
}

/* Answers an error that ends the connection (the stream can no longer be trusted). */
static void fail_connection(struct worker *w, int fd, int status, const char *what)
{
	reset_response(&w->resp);
	response_error(&w->resp, status, "%s", what);
	count(w->srv, EP_NONE, status);
	send_response(w, fd, &w->resp, false);
}

/* Serves one request whose head is complete; returns true to keep the connection. */
static bool serve_request(struct worker *w, int fd, const struct http_request *req,
			  const struct http_header *headers, size_t head_len)
{
	struct server *srv = w->srv;
	struct response *resp = &w->resp;
	struct http_framing fr;
	struct route route;
	uint64_t body_len;
	bool keep_alive, routed;

	if (http_framing_parse(headers, req->num_headers, req->version_minor, &fr)) {
		fail_connection(w, fd, 400, "malformed Content-Length or Transfer-Encoding");
		return false;
	}
	if (req->version_major != 1) {
		fail_connection(w, fd, 505, "only HTTP/1.0 and HTTP/1.1 are served");
		return false;
	}
	w->roff += head_len;
	keep_alive = fr.keep_alive && !atomic_load(&srv->stopping);
	reset_response(resp);

	if (fr.has_transfer_encoding) {
		fail_connection(w, fd, 501,
				"Transfer-Encoding request bodies are not supported; "
				"send Content-Length");
		return false;
	}
	body_len = fr.content_length > 0 ? (uint64_t)fr.content_length : 0;
	if (body_len > MAX_BODY_BYTES) {
		fail_connection(w, fd, 413, "request body over 64 MiB");
		return false;
	}

	routed = endpoint_route(req->method, req->method_len, req->target, req->target_len,
				&route, resp);
	if (routed && route.id == EP_POST) {
		uint32_t crc = 0;

		if (fr.content_length < 0) {
			fail_connection(w, fd, 411, "POST /post needs Content-Length: kb*1024");
			return false;
		}
		if (body_len != route.param * 1024) {
			response_error(resp, 400,
				       "kb: %llu does not match Content-Length %llu; "
				       "it must be kb*1024 = %llu",
				       (unsigned long long)route.param,
				       (unsigned long long)body_len,
				       (unsigned long long)(route.param * 1024));
			routed = false;
		} else {
			if (fr.expect_continue && body_len > w->rlen - w->roff) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
				struct iovec iov = { (void *)cont, sizeof(cont) - 1 };

				if (send_all(fd, &iov, 1))
					return false;
			}
			if (read_body(w, fd, body_len, &crc))
				return false;
			body_len = 0;
			endpoint_post_result(&route, route.param * 1024, crc, resp);
		}
	} else if (routed) {
		endpoint_run(&route, &srv->stats, resp);
	}

	if (body_len > 0) {
		/* A refused or unused body: skip it to keep the stream in step, unless the
		 * client is still waiting for 100 Continue and will never send it. */
		if (fr.expect_continue)
			keep_alive = false;
		else if (read_body(w, fd, body_len, NULL))
			return false;
	}
	if (resp->close)
		keep_alive = false;
	count(srv, routed ? route.id : EP_NONE, resp->status);
	if (send_response(w, fd, resp, keep_alive))
		return false;
	return keep_alive;
}

/*
 * --self-cpu: serve_request timed on this thread's CPU clock, from where the request began
 * (req_cpu_ns) to its response's return, and counted under its target; GET /self-cpu
 * answers the sums (not counted itself).
 */
static bool serve_measured(struct worker *w, int fd, const struct http_request *req,
			   const struct http_header *headers, size_t head_len)
{
	static const char path[] = "/self-cpu";
	char target[SELF_CPU_TARGET_MAX];
	size_t len = req->target_len < sizeof(target) ? req->target_len : sizeof(target);
	uint64_t end;
	bool keep;

	if (req->target_len == sizeof(path) - 1 && !memcmp(req->target, path, sizeof(path) - 1) &&
	    req->method_len == 3 && !memcmp(req->method, "GET", 3)) {
		char *json = self_cpu__json(w->srv->self);

		w->roff += head_len;
		reset_response(&w->resp);
		if (!json) {
			response_error(&w->resp, 500, "out of memory");
		} else {
			w->resp.content_type = "application/json";
			buf__adopt(&w->resp.body, json, strlen(json));
		}
		send_response(w, fd, &w->resp, false);
		return false; /* closed: a probe, not part of any measured stream */
	}
	/* serve_request may move the buffer the target lies in */
	memcpy(target, req->target, len);
	keep = serve_request(w, fd, req, headers, head_len);
	end = self_cpu__thread_ns();
	self_cpu__add(w->srv->self, target, len, end - w->req_cpu_ns);
	w->req_cpu_ns = end; /* a request already buffered begins here */
	return keep;
}

static void serve_connection(struct worker *w, int fd)
{
	struct http_header headers[MAX_HEADERS];
	struct http_request req;
	bool keep;

	w->rlen = w->roff = 0;
	for (;;) {
		int rc = http_parse_request(w->rbuf + w->roff, w->rlen - w->roff, &req, headers,
					    MAX_HEADERS);

		if (rc == HTTP_PARSE_INCOMPLETE) {
			enum fill_result fr;

			if (w->rlen - w->roff >= MAX_HEAD_BYTES) {
				fail_connection(w, fd, 431, "request head over 16 KiB");
				return;
			}
			/* A thread's CPU clock stands still while it waits: the wait costs nothing */
			if (w->srv->self && w->rlen == w->roff)
				w->req_cpu_ns = self_cpu__thread_ns();
			fr = fill(w, fd);
			if (fr == FILL_TIMEOUT && w->rlen > w->roff)
				fail_connection(w, fd, 408, "request not completed in time");
			if (fr != FILL_OK)
				return;
			continue;
		}
		if (rc == HTTP_PARSE_ERROR) {
			fail_connection(w, fd, 400, "malformed request");
			return;
		}
		if (rc == HTTP_PARSE_TOO_MANY_HEADERS || rc > MAX_HEAD_BYTES) {
			fail_connection(w, fd, 431, "request head over 16 KiB or 64 fields");
			return;
		}
		atomic_fetch_add(&w->srv->stats.in_flight, 1);
		if (w->srv->self)
			keep = serve_measured(w, fd, &req, headers, (size_t)rc);
		else
			keep = serve_request(w, fd, &req, headers, (size_t)rc);
		atomic_fetch_sub(&w->srv->stats.in_flight, 1);
		if (!keep)
			return;
	}
}

static void configure_connection(const struct server *srv, int fd)
{
	struct timeval tv = { .tv_sec = srv->opts.request_timeout_ms / 1000,
			      .tv_usec = (srv->opts.request_timeout_ms % 1000) * 1000 };
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;

	while (!atomic_load(&srv->stopping)) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (atomic_load(&srv->stopping))
				break;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_error("accept: %s; retrying", strerror(errno));
				usleep(10000);
				continue;
			}
			log_error("accept: %s", strerror(errno));
			break;
		}
		atomic_fetch_add_explicit(&srv->stats.connections, 1, memory_order_relaxed);
		configure_connection(srv, fd);
		serve_connection(w, fd);
		close(fd);
	}
	return NULL;
}

static int open_listener(const struct server_opts *opts, char *desc, size_t desc_len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t ss_len = sizeof(ss);
	char port[8], host[INET6_ADDRSTRLEN];
	int fd = -1, one = 1, zero = 0, rc;

	snprintf(port, sizeof(port), "%u", opts->port);
	rc = getaddrinfo(opts->bind_addr, port, &hints, &res);
	if (rc) {
		log_error("--bind: \"%s\": %s", opts->bind_addr, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6) /* "::" serves IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024))
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&ss, &ss_len))
		goto fail;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(desc, desc_len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(desc, desc_len, "%s:%u", host, ntohs(s4->sin_port));
	}
	freeaddrinfo(res);
	return fd;
fail:
	rc = -errno;
	log_error("listen on %s port %u: %s", opts->bind_addr, opts->port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

static enum opts_result parse_options(int argc, char **argv, struct server_opts *o)
{
	uint32_t idle_s = 15, request_s = 10;
	const struct opt table[] = {
		OPT_UINT("port", "N", "TCP port (0: an ephemeral port, printed at start-up)",
			 &o->port, 0, 65535, .flags = OPT_REQUIRED),
		OPT_STRING("bind", "ADDR",
			   "address to listen on (default 127.0.0.1; \"::\" for every IPv6 and "
			   "IPv4 address, \"::1\" for IPv6 loopback)",
			   &o->bind_addr),
		OPT_UINT("threads", "N",
			 "worker threads = connections served at once (default 64, 1..4096); more "
			 "connections wait in the accept queue",
			 &o->threads, 1, 4096),
		OPT_STRING("data-dir", "DIR",
			   "where the /file data file lives (default /tmp/workload_server; created "
			   "when missing)",
			   &o->data_dir),
		OPT_UINT("idle-timeout", "SEC",
			 "close keep-alive connections idle this long (default 15)", &idle_s, 1,
			 86400),
		OPT_UINT("request-timeout", "SEC",
			 "time for a client to send a whole request or take a response (default 10)",
			 &request_s, 1, 86400),
		OPT_FLAG("self-cpu",
			 "time each request on its thread's CPU clock, summed per target at GET "
			 "/self-cpu (a benchmark truth)",
			 &o->self_cpu),
		{ 0 },
	};
	const struct opts_spec spec = {
		.prog = "workload_server",
		.synopsis = "--port N [options]",
		.about = "A thread-per-connection HTTP/1.x server with endpoints of known resource\n"
			 "behaviour, for energy experiments. GET / lists the endpoints.",
		.footer = "Exit status: 0 stopped by SIGINT/SIGTERM, 1 runtime error, 2 usage error.",
		.opts = table,
	};
	enum opts_result r;
	int first;

	*o = (struct server_opts){ .bind_addr = "127.0.0.1", .threads = 64,
				   .data_dir = "/tmp/workload_server" };
	r = opts_parse(&spec, argc, argv, &first);
	o->idle_timeout_ms = idle_s * 1000;
	o->request_timeout_ms = request_s * 1000;
	return r;
}

int main(int argc, char **argv)
{
	struct server srv = { .listen_fd = -1, .stop_fd = -1, .data_fd = -1 };
	struct worker *workers = NULL;
	unsigned started = 0;
	char where[INET6_ADDRSTRLEN + 16];
	pthread_attr_t attr;
	sigset_t sigs;
	enum opts_result r;
	int sig = 0, rc = 1;

	r = parse_options(argc, argv, &srv.opts);
	if (r != OPTS_RUN)
		return opts_exit_status(r);

	/* Workers inherit the mask; only main takes SIGINT/SIGTERM, through sigwait(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv.stats.start_ns = now_ns();
	if (srv.opts.self_cpu) {
		srv.self = self_cpu__new();
		if (!srv.self) {
			log_error("out of memory for --self-cpu");
			goto cleanup;
		}
	}
	srv.data_fd = data_file_open(srv.opts.data_dir, FILE_KB_MAX * 1024);
	if (srv.data_fd < 0)
		goto cleanup;
	srv.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (srv.stop_fd < 0) {
		log_error("eventfd: %s", strerror(errno));
		goto cleanup;
	}
	srv.listen_fd = open_listener(&srv.opts, where, sizeof(where));
	if (srv.listen_fd < 0)
		goto cleanup;

	workers = calloc(srv.opts.threads, sizeof(*workers));
	if (!workers) {
		log_error("out of memory for %u workers", srv.opts.threads);
		goto cleanup;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
	for (; started < srv.opts.threads; started++) {
		struct worker *w = &workers[started];

		w->srv = &srv;
		w->rbuf = malloc(READ_BUF_BYTES);
		w->io = malloc(IO_CHUNK_BYTES);
		if (!w->rbuf || !w->io) {
			log_error("out of memory for worker buffers");
			break;
		}
		errno = pthread_create(&w->thread, &attr, worker_main, w);
		if (errno) {
			log_error("pthread_create: %s", strerror(errno));
			break;
		}
	}
	pthread_attr_destroy(&attr);
	if (started == srv.opts.threads) {
		log_info("listening on %s (%u threads, data %s/%s, HTTP/1.x keep-alive)", where,
			 started, srv.opts.data_dir, DATA_FILE_NAME);
		while (sigwait(&sigs, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
			;
		log_info("%s: stopping; finishing requests in flight", strsignal(sig));
		rc = 0;
	}

	/* Stop accepting, wake idle connections, let requests in flight finish. */
	atomic_store(&srv.stopping, true);
	shutdown(srv.listen_fd, SHUT_RDWR);
	eventfd_write(srv.stop_fd, 1);
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	if (workers) {
		for (unsigned i = 0; i < srv.opts.threads; i++) {
			free(workers[i].rbuf);
			free(workers[i].io);
			buf__free(&workers[i].resp.body);
		}
	}
	if (rc == 0)
		log_info("stopped after %llu connections",
			 (unsigned long long)atomic_load(&srv.stats.connections));
cleanup:
	free(workers);
	self_cpu__free(srv.self);
	if (srv.listen_fd >= 0)
		close(srv.listen_fd);
	if (srv.stop_fd >= 0)
		close(srv.stop_fd);
	if (srv.data_fd >= 0)
		close(srv.data_fd);
	return rc;
}
