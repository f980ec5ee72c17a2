/* SPDX-License-Identifier: MIT */
/*
 * The --url of bench_http: "http://HOST[:PORT][/BASE]", HOST a name, an IPv4 address or
 * a bracketed IPv6 literal. BASE (without a trailing '/') is put before every path.
 */
#ifndef HTTP_ENERGY_BENCH_URL_H
#define HTTP_ENERGY_BENCH_URL_H

struct url {
	char host[256]; /* name or address, without brackets */
	char port[8]; /* decimal; "80" when the URL has none */
	char base[1024]; /* "" or "/prefix" */
	char host_header[300]; /* the Host header's value */
};

/* Returns 0, or prints "--url: "TEXT": WHY" and returns -EINVAL. */
int url_parse(const char *text, struct url *u);

#endif
