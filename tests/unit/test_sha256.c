// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sha256.h"

/* Both implementations: the CPU's SHA instructions where present, and portable C. */
static bool portable;

static void hash_in_chunks(const void *data, size_t len, size_t chunk, char hex[SHA256_HEX_LEN])
{
	uint8_t digest[SHA256_DIGEST_LEN];
	struct sha256 s;

	sha256_init(&s);
	if (portable)
		s.accel = false;
	for (size_t pos = 0; pos < len; pos += chunk)
		sha256_update(&s, (const char *)data + pos, len - pos < chunk ? len - pos : chunk);
	sha256_final(&s, digest);
	sha256_hex(digest, hex);
}

/* The examples of FIPS 180-4 (and NIST's), fed whole and in every chunk size to 130. */
static void test_known_digests(void **state)
{
	static const struct {
		const char *text, *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		  "klmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char hex[SHA256_HEX_LEN];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (size_t chunk = 1; chunk <= 130; chunk++) {
			hash_in_chunks(v[i].text, strlen(v[i].text), chunk, hex);
			assert_string_equal(hex, v[i].hex);
		}
	}
}

static void test_million_a(void **state)
{
	size_t len = 1000000;
	char *a = malloc(len), hex[SHA256_HEX_LEN];

	assert_non_null(a);
	memset(a, 'a', len);
	hash_in_chunks(a, len, 4093, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Lengths around the 55/56/64-byte padding boundaries agree across chunkings. */
static void test_padding_boundaries(void **state)
{
	char buf[200], a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 1);
	for (size_t len = 50; len < 140; len++) {
		hash_in_chunks(buf, len, len ? len : 1, a);
		hash_in_chunks(buf, len, 1, b);
		assert_string_equal(a, b);
	}
	/* 55 and 56 bytes of 'a': one and two final blocks. */
	memset(buf, 'a', 56);
	hash_in_chunks(buf, 55, 55, a);
	assert_string_equal(a, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	hash_in_chunks(buf, 56, 56, a);
	assert_string_equal(a, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

/* The accelerated and the portable code agree on every length up to 1000 bytes. */
static void test_implementations_agree(void **state)
{
	char data[1000], a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];
	struct sha256 probe;
	uint32_t x = 1;

	sha256_init(&probe);
	print_message("SHA instructions: %s\n", probe.accel ? "yes" : "no (portable only)");
	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245 + 12345;
		data[i] = (char)(x >> 16);
	}
	for (size_t len = 0; len <= sizeof(data); len += 7) {
		portable = false;
		hash_in_chunks(data, len, 13, a);
		portable = true;
		hash_in_chunks(data, len, 64, b);
		assert_string_equal(a, b);
	}
	portable = false;
}

static int use_portable(void **state)
{
	portable = true;
	return 0;
}

static int use_detected(void **state)
{
	portable = false;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_known_digests, use_detected),
		cmocka_unit_test_setup(test_million_a, use_detected),
		cmocka_unit_test_setup(test_padding_boundaries, use_detected),
		cmocka_unit_test_setup(test_known_digests, use_portable),
		cmocka_unit_test_setup(test_million_a, use_portable),
		cmocka_unit_test_setup(test_padding_boundaries, use_portable),
		cmocka_unit_test(test_implementations_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
