/*
 * tests/unit/fold_test.c: text folding (core/fold.c): Danish letters in both
 * cases and their ae/oe/aa spellings, accents, separators, invalid UTF-8, and
 * that a small destination is never overrun.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "careline/fold.h"

static void assert_fold(const char *src, const char *want)
{
	char dst[512];
	size_t n = cl_fold(src, dst, sizeof(dst));
	assert_string_equal(dst, want);
	assert_int_equal(n, strlen(want));
}

static void test_fold_danish_letters(void **state)
{
	assert_fold("STØJ", "stoej");
	assert_fold("støj", "stoej");
	assert_fold("stoej", "stoej");
	assert_fold("Æble ØRN åen ÅEN æøå ÆØÅ", "aeble oern aaen aaen aeoeaa aeoeaa");
	assert_fold("Nørregade", "noerregade");
	assert_fold("Åboulevarden", "aaboulevarden");
}

static void test_fold_accents_to_base_letters(void **state)
{
	assert_fold("café crème fête Noël", "cafe creme fete noel");
	assert_fold("á à â ã Á À", "a a a a a a");
	assert_fold("für Zürich Úrsula", "fur zurich ursula");
	assert_fold("Göteborg Ärlig", "goeteborg aerlig");
	assert_fold("Íslandsvej Ólafur Ñandú ç", "islandsvej olafur nandu c");
	assert_fold("Straße Þór", "strasse thor");
	assert_fold("Łódź Škoda Œuvre", "lodz skoda oeuvre");
}

static void test_fold_separators_collapse(void **state)
{
	assert_fold("  --Hej!!  du... ", "hej du");
	assert_fold("nr.14,st.th.", "nr 14 st th");
	assert_fold("haven't", "haven t");
	assert_fold("haven\xE2\x80\x99t", "haven t"); /* curly apostrophe */
	assert_fold("a\xC2\xA0"
	            "b",
	            "a b"); /* no-break space */
	assert_fold("2 × 3 ÷ 4", "2 3 4");
	assert_fold("\xF0\x9F\x98\xA2 hjælp \xF0\x9F\x98\xA2", "hjaelp"); /* emoji */
	assert_fold("", "");
	assert_fold(" \t\n", "");
}

static void test_fold_invalid_utf8_is_space(void **state)
{
	assert_fold("a\xFF"
	            "b",
	            "a b");
	assert_fold("a\xC3", "a"); /* truncated at the end */
	assert_fold("a\xC3"
	            "b",
	            "a b"); /* lead byte without continuation */
	assert_fold("a\xC0\xAF"
	            "b",
	            "a b"); /* overlong '/' */
	assert_fold("a\xED\xA0\x80"
	            "b",
	            "a b"); /* surrogate */
	assert_fold("a\x80\x80"
	            "b",
	            "a b");                      /* stray continuation bytes */
	assert_fold("\xF8\x88\x80\x80\x80", ""); /* 5-byte form */
}

static void test_fold_never_writes_past_dst_len(void **state)
{
	char buf[16];
	const char *src = "Ærø Ålborg";
	/* "aeroe aalborg" is 13 bytes */
	for (size_t len = 0; len <= sizeof(buf) - 1; len++) {
		memset(buf, '#', sizeof(buf));
		size_t n = cl_fold(src, buf, len);
		if (len == 0) {
			assert_int_equal(n, 0);
			assert_int_equal(buf[0], '#');
			continue;
		}
		assert_true(n < len);
		assert_int_equal(buf[n], '\0');
		assert_int_equal(strlen(buf), n);
		for (size_t k = len; k < sizeof(buf); k++)
			assert_int_equal(buf[k], '#');
		/* truncated at a whole letter, never with a trailing space */
		assert_true(n == 0 || buf[n - 1] != ' ');
		assert_memory_equal(buf, "aeroe aalborg", n);
	}
	assert_int_equal(cl_fold(src, buf, 14), 13);
	assert_string_equal(buf, "aeroe aalborg");
	/* "æ" folds to "ae": a 2-byte room holds nothing but the terminator */
	assert_int_equal(cl_fold("æ", buf, 2), 0);
	assert_string_equal(buf, "");
}

static void test_fold_worst_case_fits_documented_size(void **state)
{
	char src[301], dst[2 * 300 + 1];
	for (size_t i = 0; i < 300; i += 2)
		memcpy(src + i, "\xC3\x9F", 2); /* ß -> ss */
	src[300] = '\0';
	assert_int_equal(cl_fold(src, dst, sizeof(dst)), 300);
	for (size_t i = 0; i < 300; i++)
		src[i] = (i % 2) ? '.' : 'a';
	assert_int_equal(cl_fold(src, dst, sizeof(dst)), 299);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_danish_letters),
	    cmocka_unit_test(test_fold_accents_to_base_letters),
	    cmocka_unit_test(test_fold_separators_collapse),
	    cmocka_unit_test(test_fold_invalid_utf8_is_space),
	    cmocka_unit_test(test_fold_never_writes_past_dst_len),
	    cmocka_unit_test(test_fold_worst_case_fits_documented_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
