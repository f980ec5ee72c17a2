// SPDX-License-Identifier: MIT
/* libFuzzer target: the request and response head parsers and the framing rules. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_header headers[64];
	struct http_request req;
	struct http_response resp;
	struct http_framing fr;
	const char *buf = (const char *)data;
	int rc;

	rc = http_parse_request(buf, size, &req, headers, 64);
	if (rc > 0) {
		const char *path, *query, *name, *value;
		size_t path_len, query_len, name_len, value_len, pos = 0;

		if ((size_t)rc > size || req.method_len == 0 || req.target_len == 0)
			__builtin_trap();
		http_framing_parse(headers, req.num_headers, req.version_minor, &fr);
		http_target_split(req.target, req.target_len, &path, &path_len, &query,
				  &query_len);
		while (http_query_next(query, query_len, &pos, &name, &name_len, &value,
				       &value_len))
			if (name + name_len > buf + size || value + value_len > buf + size)
				__builtin_trap();
	}
	rc = http_parse_response(buf, size, &resp, headers, 64);
	if (rc > 0) {
		if ((size_t)rc > size || resp.status < 100 || resp.status > 999)
			__builtin_trap();
		http_framing_parse(headers, resp.num_headers, resp.version_minor, &fr);
	}
	return 0;
}
