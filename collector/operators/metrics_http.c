// SPDX-License-Identifier: MIT
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

struct snapshot {
	atomic_uint refs;
	size_t len;
	char data[];
};

enum client_state { CLIENT_FREE, CLIENT_READING, CLIENT_WRITING };

struct client {
	enum client_state state;
	int fd;
	uint64_t deadline_ms;
	char *req; /* max_request bytes */
	size_t req_len;
	char head[256];
	size_t head_len;
	struct snapshot *body; /* NULL: no body (HEAD, errors) */
	const char *err_body;
	size_t body_len;
	size_t sent; /* of head + body */
};

struct metrics_server {
	struct metrics_server_opts opt;
	char address[300];
	int listen_fd;
	int wake[2];
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* guards current: held only to swap or take a reference */
	struct snapshot *current;
	struct client *clients;
	struct pollfd *pfds;
	atomic_uint_fast64_t scrapes, refused;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void unref(struct snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

int metrics_parse_addr(const char *addr, char *host, size_t host_len, uint16_t *port)
{
	const char *colon, *h = addr, *h_end;
	uint64_t p;

	if (!addr)
		return -EINVAL;
	if (addr[0] == '[') {
		h = addr + 1;
		h_end = strchr(h, ']');
		if (!h_end || h_end[1] != ':')
			return -EINVAL;
		colon = h_end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -EINVAL; /* none, or an IPv6 address without brackets */
		h_end = colon;
	}
	if ((size_t)(h_end - h) >= host_len)
		return -EINVAL;
	if (parse_u64(colon + 1, 0, 65535, &p))
		return -EINVAL;
	memcpy(host, h, (size_t)(h_end - h));
	host[h_end - h] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int open_listener(struct metrics_server *s)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], portstr[8], bound[INET6_ADDRSTRLEN];
	uint16_t port;
	int err, fd = -1, one = 1;

	if (metrics_parse_addr(s->opt.addr, host, sizeof(host), &port)) {
		log_error("--metrics-addr: \"%s\" is not HOST:PORT, [IPV6]:PORT or :PORT",
			  s->opt.addr);
		return -EINVAL;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	err = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (err) {
		log_error("--metrics-addr: %s: %s", s->opt.addr, gai_strerror(err));
		return -EINVAL;
	}
	err = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_error("--metrics-addr: cannot listen on %s: %s", s->opt.addr, strerror(-err));
		return err;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, bound, sizeof(bound));
			snprintf(s->address, sizeof(s->address), "[%s]:%u", bound,
				 ntohs(a->sin6_port));
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, bound, sizeof(bound));
			snprintf(s->address, sizeof(s->address), "%s:%u", bound,
				 ntohs(a->sin_port));
		}
	}
	s->listen_fd = fd;
	return 0;
}

static void client_close(struct metrics_server *s, struct client *c, bool refused)
{
	if (c->state == CLIENT_FREE)
		return;
	close(c->fd);
	unref(c->body);
	c->body = NULL;
	c->state = CLIENT_FREE;
	if (refused)
		atomic_fetch_add(&s->refused, 1);
}

static void respond(struct client *c, const char *status, struct snapshot *body,
		    const char *err_body, bool head_only)
{
	size_t len = body ? body->len : strlen(err_body);

	c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
				       "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
				       "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				       status,
				       body ? "text/plain; version=0.0.4; charset=utf-8"
					    : "text/plain; charset=utf-8",
				       len);
	c->body = head_only ? NULL : body;
	if (head_only && body)
		unref(body);
	c->err_body = body || head_only ? NULL : err_body;
	c->body_len = head_only ? 0 : len;
	c->sent = 0;
	c->state = CLIENT_WRITING;
}

static struct snapshot *take_current(struct metrics_server *s)
{
	struct snapshot *snap;

	pthread_mutex_lock(&s->lock);
	snap = s->current;
	if (snap)
		atomic_fetch_add(&snap->refs, 1);
	pthread_mutex_unlock(&s->lock);
	return snap;
}

/* A whole head is in: answer it. */
static void handle_request(struct metrics_server *s, struct client *c)
{
	char *line_end = memchr(c->req, '\n', c->req_len);
	char *sp1, *sp2, *path;
	bool head = false;
	size_t plen;

	*line_end = '\0';
	sp1 = strchr(c->req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		respond(c, "400 Bad Request", NULL, "bad request\n", false);
		return;
	}
	path = sp1 + 1;
	plen = (size_t)(sp2 - path);
	if ((size_t)(sp1 - c->req) == 4 && memcmp(c->req, "HEAD", 4) == 0)
		head = true;
	else if ((size_t)(sp1 - c->req) != 3 || memcmp(c->req, "GET", 3) != 0) {
		respond(c, "405 Method Not Allowed", NULL, "GET or HEAD only\n", false);
		return;
	}
	if (memchr(path, '?', plen))
		plen = (size_t)((char *)memchr(path, '?', plen) - path);
	if (plen != 8 || memcmp(path, "/metrics", 8) != 0) {
		respond(c, "404 Not Found", NULL, "metrics are at /metrics\n", head);
		return;
	}
	struct snapshot *snap = take_current(s);

	if (!snap) {
		respond(c, "503 Service Unavailable", NULL, "no interval has ended yet\n", head);
		return;
	}
	respond(c, "200 OK", snap, NULL, head);
	atomic_fetch_add(&s->scrapes, 1);
}

static void on_readable(struct metrics_server *s, struct client *c)
{
	size_t room = s->opt.max_request - c->req_len;
	ssize_t n;

	if (room == 0) {
		client_close(s, c, true);
		return;
	}
	n = recv(c->fd, c->req + c->req_len, room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(s, c, n < 0);
		return;
	}
	c->req_len += (size_t)n;
	if (memmem(c->req, c->req_len, "\r\n\r\n", 4) || memmem(c->req, c->req_len, "\n\n", 2))
		handle_request(s, c);
	else if (c->req_len == s->opt.max_request)
		respond(c, "431 Request Header Fields Too Large", NULL, "request too large\n",
			false);
}

static void on_writable(struct metrics_server *s, struct client *c)
{
	size_t total = c->head_len + c->body_len;

	while (c->sent < total) {
		struct iovec iov[2];
		int cnt = 0;
		const char *body = c->body ? c->body->data : c->err_body;
		ssize_t n;

		if (c->sent < c->head_len)
			iov[cnt++] = (struct iovec){ c->head + c->sent, c->head_len - c->sent };
		if (c->body_len) {
			size_t off = c->sent > c->head_len ? c->sent - c->head_len : 0;

			iov[cnt++] = (struct iovec){ (char *)body + off, c->body_len - off };
		}
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };

		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(s, c, true);
			return;
		}
		c->sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	client_close(s, c, false);
}

static void accept_clients(struct metrics_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c = NULL;

		if (fd < 0)
			return;
		for (uint32_t i = 0; i < s->opt.max_clients; i++)
			if (s->clients[i].state == CLIENT_FREE) {
				c = &s->clients[i];
				break;
			}
		if (!c) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
						   "Content-Length: 0\r\nConnection: close\r\n\r\n";

			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			atomic_fetch_add(&s->refused, 1);
			continue;
		}
		c->fd = fd;
		c->state = CLIENT_READING;
		c->req_len = 0;
		c->deadline_ms = now_ms() + s->opt.timeout_ms;
	}
}

static void *serve(void *arg)
{
	struct metrics_server *s = arg;
	const uint32_t nfds_max = s->opt.max_clients + 2;

	for (;;) {
		uint64_t now = now_ms(), next = now + 1000;
		nfds_t nfds = 2;
		int rc;

		s->pfds[0] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		s->pfds[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		for (uint32_t i = 0; i < s->opt.max_clients && nfds < nfds_max; i++) {
			struct client *c = &s->clients[i];

			if (c->state == CLIENT_FREE)
				continue;
			if (now >= c->deadline_ms) {
				client_close(s, c, true);
				continue;
			}
			if (c->deadline_ms < next)
				next = c->deadline_ms;
			s->pfds[nfds++] = (struct pollfd){
				.fd = c->fd,
				.events = c->state == CLIENT_READING ? POLLIN : POLLOUT,
			};
		}
		rc = poll(s->pfds, nfds, (int)(next - now) + 1);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		if (s->pfds[0].revents)
			break;
		for (nfds_t k = 2; k < nfds; k++) {
			struct client *c = NULL;

			if (!s->pfds[k].revents)
				continue;
			for (uint32_t i = 0; i < s->opt.max_clients; i++)
				if (s->clients[i].state != CLIENT_FREE &&
				    s->clients[i].fd == s->pfds[k].fd) {
					c = &s->clients[i];
					break;
				}
			if (!c)
				continue;
			if (c->state == CLIENT_READING)
				on_readable(s, c);
			if (c->state == CLIENT_WRITING)
				on_writable(s, c);
		}
		if (s->pfds[1].revents)
			accept_clients(s);
	}
	return NULL;
}

int metrics_server__start(const struct metrics_server_opts *opts, struct metrics_server **out)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	pthread_attr_t attr;
	struct sched_param sp = { 0 };
	int err;

	if (!s)
		return -ENOMEM;
	s->opt = *opts;
	if (!s->opt.max_clients)
		s->opt.max_clients = 16;
	if (!s->opt.timeout_ms)
		s->opt.timeout_ms = 5000;
	if (!s->opt.max_request)
		s->opt.max_request = 4096;
	s->listen_fd = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->clients = calloc(s->opt.max_clients, sizeof(*s->clients));
	s->pfds = calloc(s->opt.max_clients + 2, sizeof(*s->pfds));
	if (!s->clients || !s->pfds) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (uint32_t i = 0; i < s->opt.max_clients; i++) {
		s->clients[i].req = malloc(s->opt.max_request);
		if (!s->clients[i].req) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK)) {
		err = -errno;
		goto cleanup;
	}
	err = open_listener(s);
	if (err)
		goto cleanup;
	/* The thread takes no signals (they are the sampler's) and never runs realtime. */
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &sp);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->thread, &attr, serve, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		log_error("--metrics-addr: starting the server thread: %s", strerror(-err));
		goto cleanup;
	}
	s->thread_started = true;
	*out = s;
	return 0;
cleanup:
	metrics_server__stop(s);
	return err;
}

const char *metrics_server__address(const struct metrics_server *s)
{
	return s->address;
}

int metrics_server__publish(struct metrics_server *s, const char *text, size_t len)
{
	struct snapshot *snap = malloc(sizeof(*snap) + len), *old;

	if (!snap)
		return -ENOMEM;
	atomic_init(&snap->refs, 1);
	snap->len = len;
	memcpy(snap->data, text, len);
	pthread_mutex_lock(&s->lock);
	old = s->current;
	s->current = snap;
	pthread_mutex_unlock(&s->lock);
	unref(old);
	return 0;
}

void metrics_server__stats(const struct metrics_server *s, uint64_t *scrapes, uint64_t *refused)
{
	*scrapes = atomic_load(&s->scrapes);
	*refused = atomic_load(&s->refused);
}

void metrics_server__stop(struct metrics_server *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		(void)!write(s->wake[1], "x", 1);
		pthread_join(s->thread, NULL);
	}
	for (uint32_t i = 0; s->clients && i < s->opt.max_clients; i++) {
		client_close(s, &s->clients[i], false);
		free(s->clients[i].req);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	unref(s->current);
	pthread_mutex_destroy(&s->lock);
	free(s->clients);
	free(s->pfds);
	free(s);
}
