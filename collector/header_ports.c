// SPDX-License-Identifier: MIT
#include "header_ports.h"

#include <errno.h>
#include <string.h>

#include "parse.h"

static int port_of(const char *s, size_t len, unsigned *out, const char **why)
{
	uint64_t v;
	int err = parse_u64_n(s, len, 1, 65535, &v);

	if (err) {
		*why = err == -ERANGE ? "has a port out of range 1..65535" :
					"is not a list of ports and ranges (e.g. 80,8000-8099)";
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

int header_ports_parse(const char *list, uint64_t bits[HEADER_PORT_WORDS], const char **why)
{
	const char *p = list;

	memset(bits, 0, HEADER_PORT_WORDS * sizeof(bits[0]));
	if (!*p) {
		*why = "is empty";
		return -EINVAL;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *dash = memchr(p, '-', len);
		unsigned lo, hi;

		if (dash) {
			if (port_of(p, (size_t)(dash - p), &lo, why) ||
			    port_of(dash + 1, len - (size_t)(dash - p) - 1, &hi, why))
				return -EINVAL;
			if (lo > hi) {
				*why = "has a range whose low end is above its high end";
				return -EINVAL;
			}
		} else {
			if (port_of(p, len, &lo, why))
				return -EINVAL;
			hi = lo;
		}
		for (unsigned port = lo; port <= hi; port++)
			bits[port / 64] |= 1ULL << (port % 64);
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

bool header_ports_has(const uint64_t bits[HEADER_PORT_WORDS], unsigned port)
{
	return port < 65536 && ((bits[port / 64] >> (port % 64)) & 1);
}
