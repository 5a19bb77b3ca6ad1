/*
 * tests/unit/ref_test.c: ticket refs (core/ref.c): the id -> ref mapping is a
 * bijection (exhaustively for the first 2^20 ids and the top of the 5-char
 * range), decodes back, switches from 5 to 6 characters at 2^25, depends on
 * the key, and typed refs are canonicalised and validated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "careline/ref.h"

#define ALPHABET    "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#define SHORT_LIMIT (INT64_C(1) << 25)
#define LONG_LIMIT  (INT64_C(1) << 30)

static const unsigned char key_a[32] = {
    0x9c, 0x1e, 0x3b, 0x55, 0x07, 0xd2, 0x44, 0x81, 0x6a, 0x0f, 0xe3, 0x72, 0x18, 0xbb, 0x2c, 0x90,
    0x5d, 0x63, 0xa1, 0x0e, 0x37, 0xc8, 0xf4, 0x29, 0x86, 0x4b, 0xd0, 0x11, 0x7e, 0x5a, 0xe9, 0x02,
};
static const unsigned char key_b[32] = {1};

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The base-32 value of a valid ref, independent of the code under test. */
static uint32_t ref_value(const char *ref)
{
	uint32_t v = 0;
	for (const char *p = ref; *p; p++) {
		const char *s = strchr(ALPHABET, *p);
		assert_non_null(s);
		v = v << 5 | (uint32_t)(s - ALPHABET);
	}
	return v;
}

static void assert_round_trip(const unsigned char *key, int64_t id, size_t want_len)
{
	char ref[CL_REF_MAX];
	cl_ref_from_id(key, id, ref);
	assert_int_equal(strlen(ref), want_len);
	int64_t back = -1;
	assert_true(cl_ref_to_id(key, ref, &back));
	assert_int_equal(back, id);
}

/* Marks the 5-char refs of ids [from, to] in a 2^25-bit map; fails on a repeat. */
static void assert_distinct(unsigned char *seen, int64_t from, int64_t to)
{
	char ref[CL_REF_MAX];
	for (int64_t id = from; id <= to; id++) {
		cl_ref_from_id(key_a, id, ref);
		assert_int_equal(strlen(ref), 5);
		uint32_t v = ref_value(ref);
		assert_true(v < SHORT_LIMIT);
		if (seen[v >> 3] & (1u << (v & 7)))
			fail_msg("id %lld repeats ref %s", (long long)id, ref);
		seen[v >> 3] |= (unsigned char)(1u << (v & 7));
	}
}

static void test_ref_distinct_for_first_2_20_ids(void **state)
{
	unsigned char *seen = calloc(SHORT_LIMIT / 8, 1);
	assert_non_null(seen);
	assert_distinct(seen, 1, INT64_C(1) << 20);
	/* And for the top of the 5-character range, against the same map. */
	assert_distinct(seen, SHORT_LIMIT - (INT64_C(1) << 16), SHORT_LIMIT - 1);
	free(seen);
}

static void test_ref_round_trips_random_ids_in_both_ranges(void **state)
{
	for (int i = 0; i < 20000; i++) {
		assert_round_trip(key_a, 1 + (int64_t)(rng() % (SHORT_LIMIT - 1)), 5);
		assert_round_trip(key_a,
		                  SHORT_LIMIT + (int64_t)(rng() % (LONG_LIMIT - SHORT_LIMIT)), 6);
	}
	for (int64_t id = 1; id <= 5000; id++)
		assert_round_trip(key_a, id, 5);
}

static void test_ref_switches_from_5_to_6_chars_at_2_25(void **state)
{
	assert_round_trip(key_a, 1, 5);
	assert_round_trip(key_a, SHORT_LIMIT - 1, 5);
	assert_round_trip(key_a, SHORT_LIMIT, 6);
	assert_round_trip(key_a, SHORT_LIMIT + 1, 6);
	assert_round_trip(key_a, LONG_LIMIT - 1, 6);
}

static void test_ref_empty_for_ids_out_of_range(void **state)
{
	static const int64_t bad[] = {0, -1, INT64_MIN, LONG_LIMIT, INT64_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char ref[CL_REF_MAX] = "XXXXXXX";
		cl_ref_from_id(key_a, bad[i], ref);
		assert_string_equal(ref, "");
	}
}

static void test_ref_uses_only_the_alphabet(void **state)
{
	char ref[CL_REF_MAX];
	for (int64_t id = 1; id < 3000; id++) {
		cl_ref_from_id(key_a, id * 7919, ref);
		assert_int_equal(strspn(ref, ALPHABET), strlen(ref));
	}
}

static void test_ref_depends_on_key_and_hides_order(void **state)
{
	char a[CL_REF_MAX], b[CL_REF_MAX], prev[CL_REF_MAX] = "";
	int same_key_b = 0, shared_prefix = 0;
	for (int64_t id = 1; id <= 2000; id++) {
		cl_ref_from_id(key_a, id, a);
		cl_ref_from_id(key_b, id, b);
		same_key_b += strcmp(a, b) == 0;
		/* Consecutive ids do not give neighbouring refs. */
		shared_prefix += strncmp(a, prev, 3) == 0;
		memcpy(prev, a, sizeof(prev));
	}
	assert_true(same_key_b < 3);
	assert_true(shared_prefix < 10);

	/* A ref from one key does not decode to the same id under another. */
	int64_t id = -1;
	cl_ref_from_id(key_a, 1234, a);
	assert_true(!cl_ref_to_id(key_b, a, &id) || id != 1234);
}

static void test_ref_canonical_upper_cases(void **state)
{
	char out[CL_REF_MAX];
	assert_true(cl_ref_canonical("k7fq2", out));
	assert_string_equal(out, "K7FQ2");
	assert_true(cl_ref_canonical("K7FQ2", out));
	assert_string_equal(out, "K7FQ2");
	assert_true(cl_ref_canonical("zz22aB", out));
	assert_string_equal(out, "ZZ22AB");
}

static void test_ref_canonical_rejects_invalid(void **state)
{
	static const char *const bad[] = {
	    "K0FQ2",                                                /* 0 is not in the alphabet */
	    "KOFQ2",                                                /* nor O */
	    "K1FQ2",                                                /* nor 1 */
	    "KIFQ2",                                                /* nor I */
	    "kifq2",                                                /* nor i */
	    "ABCD",                                                 /* too short */
	    "ABCDEFG",                                              /* too long */
	    "",        "K7FQ2 ", " K7FQ2", "K7-Q2", "K7FQ\xc3\x86", /* a non-ASCII letter */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[CL_REF_MAX] = "junk";
		if (cl_ref_canonical(bad[i], out))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(out, "");
		int64_t id = 77;
		assert_false(cl_ref_to_id(key_a, bad[i], &id));
		assert_int_equal(id, 77);
	}
	char out[CL_REF_MAX];
	assert_false(cl_ref_canonical(NULL, out));
}

static void test_ref_to_id_is_case_insensitive(void **state)
{
	char ref[CL_REF_MAX];
	for (int64_t id = 1; id < 200; id++) {
		int64_t big = id * 5000011;
		cl_ref_from_id(key_a, big, ref);
		for (char *p = ref; *p; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
		int64_t back = 0;
		assert_true(cl_ref_to_id(key_a, ref, &back));
		assert_int_equal(back, big);
	}
}

/* Any well-formed string that decodes is the ref of the id it decodes to, so
 * refs no id owns (6-char images of small ids, the image of 0) are refused. */
static void test_ref_to_id_accepts_only_refs_of_ids(void **state)
{
	int rejected5 = 0, rejected6 = 0;
	for (int i = 0; i < 20000; i++) {
		char ref[CL_REF_MAX], again[CL_REF_MAX];
		size_t n = i % 2 ? 6 : 5;
		for (size_t j = 0; j < n; j++)
			ref[j] = ALPHABET[rng() % 32];
		ref[n] = '\0';
		int64_t id = 0;
		if (!cl_ref_to_id(key_a, ref, &id)) {
			if (n == 5)
				rejected5++;
			else
				rejected6++;
			continue;
		}
		assert_true(id >= (n == 5 ? 1 : SHORT_LIMIT));
		assert_true(id < (n == 5 ? SHORT_LIMIT : LONG_LIMIT));
		cl_ref_from_id(key_a, id, again);
		assert_string_equal(again, ref);
	}
	/* One 5-char ref in 2^25 is unowned; 1/32 of the 6-char ones are. */
	assert_true(rejected5 <= 1);
	assert_true(rejected6 > 150 && rejected6 < 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ref_distinct_for_first_2_20_ids),
	    cmocka_unit_test(test_ref_round_trips_random_ids_in_both_ranges),
	    cmocka_unit_test(test_ref_switches_from_5_to_6_chars_at_2_25),
	    cmocka_unit_test(test_ref_empty_for_ids_out_of_range),
	    cmocka_unit_test(test_ref_uses_only_the_alphabet),
	    cmocka_unit_test(test_ref_depends_on_key_and_hides_order),
	    cmocka_unit_test(test_ref_canonical_upper_cases),
	    cmocka_unit_test(test_ref_canonical_rejects_invalid),
	    cmocka_unit_test(test_ref_to_id_is_case_insensitive),
	    cmocka_unit_test(test_ref_to_id_accepts_only_refs_of_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
