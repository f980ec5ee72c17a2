// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"
#include "fixed_point.h"
#include "requests_api.h"

static double decoded(const struct model_weight *w)
{
	struct fixed_weight fw = { .mantissa = w->mantissa, .shift = w->shift };

	return fixed_weight_decode(&fw);
}

/* Each kernel feature weight lands at its enum model_feature index, from its config key. */
static void test_feature_weights_by_index(void **state)
{
	struct energy_config cfg;
	struct model_params m;

	(void)state;
	config_defaults(&cfg);
	cfg.attribution_mode = ATTRIBUTION_MODEL;
	for (int f = 0; f < MF_COUNT; f++)
		cfg.feature_weight[f] = 1.0 + f;
	cfg.wakeup_penalty = 7.5; /* by name too: the union's two views agree */
	assert_int_equal(model_params_from_config(&cfg, &m), 0);
	assert_int_equal(m.mode, ATTRIB_MODEL);
	for (int f = 0; f < MF_BPF_COUNT; f++) {
		double want = f == MF_WAKEUPS ? 7.5 : 1.0 + f;

		assert_true(fabs(decoded(&m.feature[f]) - want) <= want * 1e-8);
	}
	assert_true(fabs(decoded(&m.feature[MF_MIGRATIONS]) - (1.0 + MF_MIGRATIONS)) < 1e-6);
}

/* A weight the kernel's fixed point cannot hold: one line naming the key. */
static void test_weight_out_of_range(void **state)
{
	struct energy_config cfg;
	struct model_params m;
	struct capture c;

	(void)state;
	config_defaults(&cfg);
	cfg.cache_miss_weight = 2e6;
	capture_begin(&c);
	assert_int_equal(model_params_from_config(&cfg, &m), -ERANGE);
	assert_non_null(strstr(capture_end(&c), "cache_miss_weight: 2e+06 cannot be used"));
}

static void ended(struct req_slot *s, uint64_t tag, uint64_t cookie, uint64_t end_ns)
{
	memset(s, 0, sizeof(*s));
	s->tag = tag;
	s->cookie = cookie;
	s->end_ns = end_ns;
	s->rec_ns = 1000 + end_ns;
	s->line_len = 6;
	memcpy(s->line, "GET /a", 6);
}

/* At stop: only an owned, ended slot is a record; a busy one (being cleared for its next
 * owner) still holds its last owner's end and must not be taken. */
static void test_take_ring_slots(void **state)
{
	struct req_slot ring[5];
	struct request_event *ev = NULL;
	size_t taken = 0, cap = 0;

	(void)state;
	ended(&ring[0], req_slot_tag(7, 0), 7, 5);
	ended(&ring[1], REQ_SLOT_BUSY, 7, 9); /* claimed, not yet cleared */
	ended(&ring[2], 0, 8, 3);	      /* free: taken before */
	ended(&ring[3], req_slot_tag(8, 1), 8, 0); /* its response has not ended */
	ended(&ring[4], req_slot_tag(9, 4), 9, 11);
	assert_int_equal(requests__take_ring_slots(ring, 5, &ev, &taken, &cap), 0);
	assert_int_equal(taken, 2);
	assert_true(cap >= taken);
	assert_int_equal(ev[0].conn, 7);
	assert_int_equal(ev[0].end_ns, 5);
	assert_int_equal(ev[0].cpu_ns, 1005);
	assert_int_equal(ev[0].line_len, 6);
	assert_memory_equal(ev[0].line, "GET /a", 6);
	assert_int_equal(ev[1].conn, 9);
	assert_int_equal(ev[1].end_ns, 11);
	/* taken ones are freed; the others are left as they were */
	assert_int_equal(ring[0].tag, 0);
	assert_int_equal(ring[4].tag, 0);
	assert_int_equal(ring[1].tag, REQ_SLOT_BUSY);
	assert_int_equal(ring[3].tag, req_slot_tag(8, 1));
	/* a second pass finds nothing: each record is taken once */
	assert_int_equal(requests__take_ring_slots(ring, 5, &ev, &taken, &cap), 0);
	assert_int_equal(taken, 2);
	free(ev);
}

/* Events appended after what the hash gave, growing the array as needed. */
static void test_take_ring_slots_grows(void **state)
{
	enum { N = 300 };
	struct req_slot *ring = calloc(N, sizeof(*ring));
	struct request_event *ev = calloc(1, sizeof(*ev));
	size_t taken = 1, cap = 1;

	(void)state;
	assert_non_null(ring);
	assert_non_null(ev);
	ev[0].conn = 42; /* from the hash */
	for (uint32_t i = 0; i < N; i++)
		ended(&ring[i], req_slot_tag(100 + i, i), 100 + i, 1 + i);
	assert_int_equal(requests__take_ring_slots(ring, N, &ev, &taken, &cap), 0);
	assert_int_equal(taken, N + 1);
	assert_int_equal(ev[0].conn, 42);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(ev[1 + i].conn, 100 + i);
	free(ring);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_weights_by_index),
		cmocka_unit_test(test_weight_out_of_range),
		cmocka_unit_test(test_take_ring_slots),
		cmocka_unit_test(test_take_ring_slots_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
