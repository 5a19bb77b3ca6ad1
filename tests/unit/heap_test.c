/*
 * tests/unit/heap_test.c: the (due_ms, id) min-heap of core/heap.c behind
 * the escalation timers and the outbox: earliest first, ties broken by id,
 * pop_due only for entries due at or before now, growth past its first
 * allocation, and thousands of random entries popped in sorted order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "careline/heap.h"

static void test_heap_empty(void **state)
{
	struct cl_heap h;
	cl_heap_init(&h);
	struct cl_heap_entry e = {-1, -1};
	assert_false(cl_heap_peek(&h, &e));
	assert_false(cl_heap_pop_due(&h, INT64_MAX, &e));
	assert_int_equal(e.due_ms, -1);
	cl_heap_fini(&h);
	cl_heap_fini(&h); /* twice is harmless */
	assert_int_equal(h.n, 0);
	assert_null(h.v);
}

static void test_heap_orders_by_due(void **state)
{
	struct cl_heap h;
	cl_heap_init(&h);
	const int64_t dues[] = {500, 100, 300, 200, 400};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(cl_heap_push(&h, dues[i], (int64_t)i + 1), CL_OK);
	struct cl_heap_entry e;
	assert_true(cl_heap_peek(&h, &e));
	assert_int_equal(e.due_ms, 100);
	assert_int_equal(e.id, 2);
	assert_int_equal(h.n, 5); /* peek does not remove */
	const int64_t want_due[] = {100, 200, 300, 400, 500};
	const int64_t want_id[] = {2, 4, 3, 5, 1};
	for (size_t i = 0; i < 5; i++) {
		assert_true(cl_heap_pop_due(&h, 1000, &e));
		assert_int_equal(e.due_ms, want_due[i]);
		assert_int_equal(e.id, want_id[i]);
	}
	assert_false(cl_heap_pop_due(&h, 1000, &e));
	cl_heap_fini(&h);
}

static void test_heap_ties_broken_by_id(void **state)
{
	struct cl_heap h;
	cl_heap_init(&h);
	const int64_t ids[] = {42, 7, 19, 3, 100, 8};
	for (size_t i = 0; i < 6; i++)
		cl_heap_push(&h, 1000, ids[i]);
	cl_heap_push(&h, 999, 1000);
	struct cl_heap_entry e;
	const int64_t want[] = {1000, 3, 7, 8, 19, 42, 100};
	for (size_t i = 0; i < 7; i++) {
		assert_true(cl_heap_pop_due(&h, 1000, &e));
		assert_int_equal(e.id, want[i]);
	}
	cl_heap_fini(&h);
}

static void test_heap_pop_due_only_when_due(void **state)
{
	struct cl_heap h;
	cl_heap_init(&h);
	cl_heap_push(&h, 2000, 1);
	cl_heap_push(&h, 1000, 2);
	struct cl_heap_entry e = {0, 0};
	assert_false(cl_heap_pop_due(&h, 999, &e));
	assert_int_equal(h.n, 2);
	assert_true(cl_heap_pop_due(&h, 1000, &e)); /* due at exactly now */
	assert_int_equal(e.id, 2);
	assert_false(cl_heap_pop_due(&h, 1999, &e));
	assert_true(cl_heap_peek(&h, &e));
	assert_int_equal(e.due_ms, 2000);
	assert_true(cl_heap_pop_due(&h, 5000, &e));
	assert_int_equal(e.id, 1);
	assert_int_equal(h.n, 0);

	/* Negative and zero times order like any others. */
	cl_heap_push(&h, 0, 5);
	cl_heap_push(&h, -10, 6);
	assert_true(cl_heap_pop_due(&h, -10, &e));
	assert_int_equal(e.id, 6);
	assert_false(cl_heap_pop_due(&h, -1, &e));
	assert_true(cl_heap_pop_due(&h, 0, &e));
	assert_int_equal(e.id, 5);
	cl_heap_fini(&h);
}

static void test_heap_duplicates_are_kept(void **state)
{
	/* The same ticket can be armed twice; both entries come out. */
	struct cl_heap h;
	cl_heap_init(&h);
	cl_heap_push(&h, 50, 9);
	cl_heap_push(&h, 50, 9);
	cl_heap_push(&h, 40, 9);
	struct cl_heap_entry e;
	int n = 0;
	while (cl_heap_pop_due(&h, 100, &e)) {
		assert_int_equal(e.id, 9);
		n++;
	}
	assert_int_equal(n, 3);
	cl_heap_fini(&h);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct cl_heap_entry *x = a, *y = b;
	if (x->due_ms != y->due_ms)
		return x->due_ms < y->due_ms ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* A small deterministic generator (xorshift64*), so runs are repeatable. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static void test_heap_random_pushes_pop_in_order(void **state)
{
	enum { N = 5000 };
	struct cl_heap_entry *want = calloc(N, sizeof(*want));
	assert_non_null(want);
	struct cl_heap h;
	cl_heap_init(&h);
	for (int i = 0; i < N; i++) {
		/* A narrow range of dues, so ties are common. */
		want[i].due_ms = (int64_t)(rnd() % 1000);
		want[i].id = (int64_t)(rnd() % 100000);
		assert_int_equal(cl_heap_push(&h, want[i].due_ms, want[i].id), CL_OK);
	}
	assert_int_equal(h.n, N);
	assert_true(h.cap >= N);
	qsort(want, N, sizeof(*want), cmp_entry);

	/* Pop in slices by time: nothing later than now comes out early. */
	size_t k = 0;
	for (int64_t now = 99; now < 1100; now += 100) {
		struct cl_heap_entry e;
		while (cl_heap_pop_due(&h, now, &e)) {
			assert_true(k < N);
			assert_true(e.due_ms <= now);
			assert_int_equal(e.due_ms, want[k].due_ms);
			assert_int_equal(e.id, want[k].id);
			k++;
		}
		struct cl_heap_entry top;
		if (cl_heap_peek(&h, &top))
			assert_true(top.due_ms > now);
	}
	assert_int_equal(k, N);
	assert_int_equal(h.n, 0);
	cl_heap_fini(&h);
	free(want);
}

static void test_heap_interleaved_push_and_pop(void **state)
{
	/* Pushes between pops, like new deadlines armed while others fire. */
	struct cl_heap h;
	cl_heap_init(&h);
	int64_t last_due = INT64_MIN;
	int64_t now = 0;
	size_t popped = 0;
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 20; i++)
			cl_heap_push(&h, now + 1 + (int64_t)(rnd() % 500), round * 100 + i);
		now += 50;
		struct cl_heap_entry e;
		while (cl_heap_pop_due(&h, now, &e)) {
			assert_true(e.due_ms >= last_due);
			assert_true(e.due_ms <= now);
			last_due = e.due_ms;
			popped++;
		}
	}
	struct cl_heap_entry e;
	while (cl_heap_pop_due(&h, INT64_MAX, &e)) {
		assert_true(e.due_ms >= last_due);
		last_due = e.due_ms;
		popped++;
	}
	assert_int_equal(popped, 200 * 20);
	cl_heap_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heap_empty),
	    cmocka_unit_test(test_heap_orders_by_due),
	    cmocka_unit_test(test_heap_ties_broken_by_id),
	    cmocka_unit_test(test_heap_pop_due_only_when_due),
	    cmocka_unit_test(test_heap_duplicates_are_kept),
	    cmocka_unit_test(test_heap_random_pushes_pop_in_order),
	    cmocka_unit_test(test_heap_interleaved_push_and_pop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
