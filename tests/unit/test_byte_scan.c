// SPDX-License-Identifier: MIT
/*
 * bpf/byte_scan.h, the word-at-a-time scan on_egress frames response heads with, run
 * host-side against a byte loop: the first stop byte it finds among the bytes not ignored
 * must be the byte loop's, for random words, for words made of the stop bytes and their
 * neighbours (where a borrow of the zero-byte trick would flag a byte that is not one), and
 * for every "walked up to" position and data length, as egress_word() uses them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "byte_scan.h"
#include "rng.h"

#define RANDOM_WORDS 200000

enum { LINE, NAME };

static int is_stop(int kind, unsigned char b)
{
	if (kind == LINE)
		return b == '\n';
	return b == ':' || b == ' ' || b == '\t' || b == '\r' || b == '\n';
}

/* Ignored lanes as egress_word() builds them: bytes below from, bytes from n on. */
static unsigned long long ignored(unsigned int from, unsigned int n)
{
	unsigned long long ign = n < 8 ? ~0ULL << (8 * n) : 0;

	if (from)
		ign |= bs_through(from - 1);
	return ign;
}

/* The byte loop: the first stop in [from, n), or -1. */
static int first_stop(int kind, unsigned long long w, unsigned int from, unsigned int n)
{
	for (unsigned int i = from; i < n; i++)
		if (is_stop(kind, (unsigned char)(w >> (8 * i))))
			return (int)i;
	return -1;
}

static void check_word(int kind, unsigned long long w)
{
	for (unsigned int n = 1; n <= 8; n++) {
		for (unsigned int from = 0; from <= n; from++) {
			unsigned long long ign = ignored(from, n);
			unsigned long long m =
				kind == LINE ? bs_line_stops(w, ign) : bs_name_stops(w, ign);
			int want = first_stop(kind, w, from, n);

			if (want < 0) {
				if (m)
					fail_msg("word %016llx kind %d from %u n %u: a stop at %u, "
						 "none is there",
						 w, kind, from, n, bs_lowest(m));
				continue;
			}
			if (!m || (int)bs_lowest(m) != want)
				fail_msg("word %016llx kind %d from %u n %u: stop %d, scan says %d",
					 w, kind, from, n, want, m ? (int)bs_lowest(m) : -1);
		}
	}
}

static void test_lowest_and_through(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 8; i++) {
		/* one lane, and that lane with every lane above it */
		assert_int_equal(bs_lowest(0x80ULL << (8 * i)), i);
		assert_int_equal(bs_lowest(BS_HIGHS << (8 * i)), i);
		assert_true(bs_through(i) == (i == 7 ? ~0ULL : (1ULL << (8 * (i + 1))) - 1));
	}
}

static void test_random_words(void **state)
{
	struct xoshiro256 r;

	(void)state;
	xoshiro256_seed(&r, 1, 0);
	for (int i = 0; i < RANDOM_WORDS; i++) {
		unsigned long long w = xoshiro256_next(&r);

		check_word(LINE, w);
		check_word(NAME, w);
	}
}

/* Words of the stop bytes, the bytes one above and below them, 0x00 and 0xff: a zero lane
 * below borrows from the lane above it, which flags a lane one above a stop byte. */
static void test_adversarial_words(void **state)
{
	static const unsigned char alphabet[] = { '\n', '\n' + 1, '\n' - 1, ':',      ':' + 1,
						  ' ',	'\t',	  '\r',	    '\r' + 1, ' ' + 1,
						  0x00, 0xff,	  'a' };
	const unsigned int na = sizeof(alphabet);
	struct xoshiro256 r;

	(void)state;
	xoshiro256_seed(&r, 2, 0);
	for (int i = 0; i < RANDOM_WORDS; i++) {
		unsigned long long w = 0;

		for (int b = 0; b < 8; b++)
			w |= (unsigned long long)alphabet[xoshiro256_next(&r) % na] << (8 * b);
		check_word(LINE, w);
		check_word(NAME, w);
	}
}

/* A response head scanned as egress_word() does (stop, step past it, scan again), against
 * the positions of its LFs. */
static void test_head_lines(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
				   "Date: Mon, 30 Nov 2026 20:16:15 GMT\r\nContent-Length: 1\r\n"
				   "Connection: keep-alive\r\nETag: \"6612-1\"\r\n\r\nx";
	size_t len = sizeof(head) - 1, found = 0, want = 0;

	(void)state;
	for (size_t i = 0; i < len; i++)
		want += head[i] == '\n';
	for (size_t at = 0; at < len; at += 8) {
		unsigned long long w = 0, ign, m;
		unsigned int n = len - at < 8 ? (unsigned int)(len - at) : 8;

		memcpy(&w, head + at, n); /* little-endian, as BPF on x86 loads it */
		ign = ignored(0, n);
		for (int t = 0; t < 8; t++) {
			unsigned int q;

			m = bs_line_stops(w, ign);
			if (!m)
				break;
			q = bs_lowest(m);
			assert_int_equal(head[at + q], '\n');
			found++;
			ign |= bs_through(q);
		}
	}
	assert_int_equal(found, want);
}

/* bs_nonzero() against a byte loop: every lane, whatever its neighbours hold. */
static void test_nonzero(void **state)
{
	static const unsigned char alphabet[] = { 0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x20 };
	struct xoshiro256 r;

	(void)state;
	xoshiro256_seed(&r, 3, 0);
	for (int i = 0; i < RANDOM_WORDS; i++) {
		unsigned long long w = 0, want = 0;

		for (int b = 0; b < 8; b++) {
			unsigned char c = alphabet[xoshiro256_next(&r) % sizeof(alphabet)];

			w |= (unsigned long long)c << (8 * b);
			if (c)
				want |= 0x80ULL << (8 * b);
		}
		if (bs_nonzero(w) != want)
			fail_msg("word %016llx: nonzero lanes %016llx, want %016llx", w,
				 bs_nonzero(w), want);
	}
}

/* The names egress_word() matches, as it gives them to bs_name_run(). */
static const char *const names[] = { "content-length", "transfer-encoding" };

static void name_words(const char *name, unsigned long long words[3])
{
	memset(words, 0, 3 * sizeof(words[0]));
	for (size_t i = 0; name[i]; i++)
		words[i / 8] |= (unsigned long long)(unsigned char)name[i] << (8 * (i % 8));
}

/* The byte loop: as name_match() goes on (lower(b) == the name's byte m), from m on. */
static unsigned int byte_run(unsigned long long w, unsigned int from, unsigned int n,
			     const char *name, unsigned int m)
{
	unsigned int k = 0, len = (unsigned int)strlen(name);

	for (unsigned int i = from; i < n && m + k < len; i++, k++) {
		unsigned int b = (unsigned char)(w >> (8 * i));

		if ((b >= 'A' && b <= 'Z' ? b + 32 : b) != (unsigned char)name[m + k])
			break;
	}
	return k;
}

static void check_name_word(unsigned long long w, const char *name)
{
	unsigned long long words[3];
	unsigned int len = (unsigned int)strlen(name);

	name_words(name, words);
	for (unsigned int m = 0; m <= len; m++)
		for (unsigned int n = 1; n <= 8; n++)
			for (unsigned int from = 0; from < n; from++) {
				unsigned int want = byte_run(w, from, n, name, m);
				unsigned int got = bs_name_run(w, from, n, words[0], words[1],
							       words[2], len, m);

				if (got != want)
					fail_msg("word %016llx %s m %u from %u n %u: run %u, "
						 "want %u",
						 w, name, m, from, n, got, want);
			}
}

/*
 * Words cut from the names themselves at every offset, each byte then kept, upper-cased or
 * replaced by a byte that differs from it by one bit (0x20 turns '-' into CR and a letter's
 * case; the others make near misses), so runs of every length end at every lane.
 */
static void test_name_runs(void **state)
{
	struct xoshiro256 r;

	(void)state;
	xoshiro256_seed(&r, 4, 0);
	for (int i = 0; i < RANDOM_WORDS / 4; i++) {
		const char *name = names[i & 1];
		unsigned int len = (unsigned int)strlen(name), at = xoshiro256_next(&r) % len;
		unsigned long long w = 0;

		for (unsigned int b = 0; b < 8; b++) {
			unsigned int c = at + b < len ? (unsigned char)name[at + b] : ':';
			unsigned long long v = xoshiro256_next(&r);

			switch (v % 8) {
			case 0:
			case 1:
			case 2:
			case 3:
				break;
			case 4:
				c = c >= 'a' && c <= 'z' ? c - 32 : c;
				break;
			case 5:
				c ^= 0x20;
				break;
			case 6:
				c ^= 1u << ((v >> 8) % 8);
				break;
			default:
				c = (unsigned char)(v >> 16);
				break;
			}
			w |= (unsigned long long)(c & 0xff) << (8 * b);
		}
		check_name_word(w, name);
		check_name_word(w, names[!(i & 1)]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_and_through),
		cmocka_unit_test(test_random_words),
		cmocka_unit_test(test_adversarial_words),
		cmocka_unit_test(test_head_lines),
		cmocka_unit_test(test_nonzero),
		cmocka_unit_test(test_name_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
