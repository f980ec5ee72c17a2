// SPDX-License-Identifier: MIT
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "parse.h"

static bool is_host_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '.' || c == '_';
}

static int url_error(const char *text, const char *why)
{
	log_error("--url: \"%s\": %s", text, why);
	return -EINVAL;
}

int url_parse(const char *text, struct url *u)
{
	const char *p, *host, *host_end, *auth_end, *port = NULL;
	struct in6_addr a6;
	size_t host_len, port_len = 0, base_len;
	uint64_t port_num;
	bool v6 = false;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(text, "https://", 8) == 0)
		return url_error(text, "https is not supported (plain http:// only)");
	if (strncasecmp(text, "http://", 7) != 0)
		return url_error(text, "must start with http://");
	p = text + 7;
	auth_end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(auth_end - p)))
		return url_error(text, "user information ('@') is not supported");

	if (*p == '[') {
		v6 = true;
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (!host_end)
			return url_error(text, "IPv6 address without its closing ']'");
		p = host_end + 1;
	} else {
		host = p;
		host_end = host;
		while (host_end < auth_end && *host_end != ':')
			host_end++;
		p = host_end;
	}
	host_len = (size_t)(host_end - host);
	if (host_len == 0)
		return url_error(text, "no host");
	if (host_len >= sizeof(u->host))
		return url_error(text, "host name too long");
	memcpy(u->host, host, host_len);
	if (v6) {
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			return url_error(text, "not an IPv6 address between '[' and ']'");
	} else {
		for (size_t i = 0; i < host_len; i++)
			if (!is_host_char(host[i]))
				return url_error(text,
						 "host has a character not allowed in a name");
	}

	if (p < auth_end) {
		if (*p != ':')
			return url_error(text, "expected ':PORT' after the host");
		port = p + 1;
		port_len = (size_t)(auth_end - port);
		if (parse_u64_n(port, port_len, 1, 65535, &port_num))
			return url_error(text, "port is not a number in 1..65535");
		snprintf(u->port, sizeof(u->port), "%u", (unsigned)port_num);
	} else {
		snprintf(u->port, sizeof(u->port), "80");
	}
	snprintf(u->host_header, sizeof(u->host_header), "%s%s%s%s%.*s", v6 ? "[" : "", u->host,
		 v6 ? "]" : "", port ? ":" : "", (int)port_len, port ? port : "");

	p = auth_end;
	if (strpbrk(p, "?#"))
		return url_error(text, "a query or fragment has no place in the base URL");
	base_len = strlen(p);
	while (base_len > 0 && p[base_len - 1] == '/')
		base_len--;
	if (base_len >= sizeof(u->base))
		return url_error(text, "path too long");
	for (size_t i = 0; i < base_len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f)
			return url_error(text, "path has a character that needs percent-encoding");
	}
	memcpy(u->base, p, base_len);
	return 0;
}
