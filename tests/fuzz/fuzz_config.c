// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the config parser: any input must either be rejected with an
 * error or parse into a config that writes out and reads back unchanged.
 * Run with `make fuzz FUZZ_SECONDS=N`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/*
	 * Parse errors go to the stdio stream stderr; point it at /dev/null so millions of
	 * them do not drown the output. Sanitizer reports write to fd 2 and still show.
	 */
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull)
		stderr = devnull;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct energy_config cfg, back;
	char *text, *out = NULL;
	size_t out_len = 0;
	FILE *f;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_parse_string("fuzz", text, &cfg) == 0) {
		if (config_validate(&cfg, "fuzz"))
			abort(); /* the parser accepted what the validator refuses */
		f = open_memstream(&out, &out_len);
		if (!f || config_write(f, &cfg))
			abort();
		fclose(f);
		if (config_parse_string("fuzz-rewritten", out, &back) || !config_equal(&cfg, &back))
			abort(); /* parse(write(c)) != c */
		free(out);
	}
	free(text);
	return 0;
}
