/*
 * tests/unit/texts_test.c: the embedded texts (core/texts.c): Danish lookups,
 * English with Danish fallback, missing keys, loading from a string (inline
 * comments, continuations, errors that change nothing) and {name} rendering
 * with UTF-8-safe truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "careline/texts.h"

static int setup(void **state)
{
	struct cl_texts *t = NULL;
	char err[128];
	if (cl_texts_load_embedded(&t, err, sizeof(err)) != CL_OK) {
		print_error("load failed: %s\n", err);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	cl_texts_free(*state);
	return 0;
}

static void test_texts_danish_receipt_mentions_confidentiality(void **state)
{
	const struct cl_texts *t = *state;
	const char *s = cl_texts_get(t, "da", "receipt.report");
	assert_non_null(strstr(s, "tavshedspligt"));
	assert_non_null(strstr(s, "{ref}"));
	assert_string_equal(cl_texts_get(t, "da", "category.noise"), "larm");
}

static void test_texts_danish_letters_preserved(void **state)
{
	const struct cl_texts *t = *state;
	assert_string_equal(cl_texts_get(t, "da", "category.property_damage"), "skade på bolig");
	assert_string_equal(cl_texts_get(t, "da", "category.self_neglect"), "selvforsømmelse");
	assert_non_null(strstr(cl_texts_get(t, "da", "alert.summary"), "område"));
}

static void test_texts_english_lookup(void **state)
{
	const struct cl_texts *t = *state;
	const char *s = cl_texts_get(t, "en", "receipt.report");
	assert_non_null(strstr(s, "duty of confidentiality"));
	assert_string_equal(cl_texts_get(t, "en", "category.noise"), "noise");
}

static void test_texts_unknown_language_falls_back_to_danish(void **state)
{
	const struct cl_texts *t = *state;
	assert_string_equal(cl_texts_get(t, "de", "category.noise"), "larm");
	assert_string_equal(cl_texts_get(t, NULL, "category.noise"), "larm");
}

static void test_texts_english_falls_back_to_danish_per_key(void **state)
{
	struct cl_texts *t = NULL;
	char err[128];
	assert_int_equal(cl_texts_load_embedded(&t, err, sizeof(err)), CL_OK);
	assert_int_equal(
	    cl_texts_load_string(t, "da", "[only]\ndanish = kun dansk\n", err, sizeof(err)), CL_OK);
	assert_string_equal(cl_texts_get(t, "en", "only.danish"), "kun dansk");
	cl_texts_free(t);
}

static void test_texts_missing_key_returns_key(void **state)
{
	const struct cl_texts *t = *state;
	assert_string_equal(cl_texts_get(t, "da", "receipt.nope"), "receipt.nope");
	assert_string_equal(cl_texts_get(t, "en", "nope"), "nope");
	assert_string_equal(cl_texts_get(NULL, "en", "x.y"), "x.y");
}

static void test_texts_load_string_adds_and_replaces(void **state)
{
	struct cl_texts *t = NULL;
	char err[128];
	assert_int_equal(cl_texts_load_embedded(&t, err, sizeof(err)), CL_OK);
	assert_int_equal(cl_texts_load_string(t, "en",
	                                      "; comment\n"
	                                      "[category]\n"
	                                      "noise = racket ; inline comment\n"
	                                      "new = fresh;not a comment\n"
	                                      "[receipt]\n"
	                                      "report = Thanks,\n"
	                                      "  your number is {ref}.\n",
	                                      err, sizeof(err)),
	                 CL_OK);
	assert_string_equal(cl_texts_get(t, "en", "category.noise"), "racket");
	assert_string_equal(cl_texts_get(t, "en", "category.new"), "fresh;not a comment");
	assert_string_equal(cl_texts_get(t, "en", "receipt.report"),
	                    "Thanks, your number is {ref}.");
	/* Other keys and other languages are untouched. */
	assert_string_equal(cl_texts_get(t, "en", "category.other"), "other");
	assert_string_equal(cl_texts_get(t, "da", "category.noise"), "larm");
	/* A new language. */
	assert_int_equal(
	    cl_texts_load_string(t, "sv", "[category]\nnoise = buller\n", err, sizeof(err)), CL_OK);
	assert_string_equal(cl_texts_get(t, "sv", "category.noise"), "buller");
	assert_string_equal(cl_texts_get(t, "sv", "category.other"), "andet");
	cl_texts_free(t);
}

static void test_texts_load_string_error_changes_nothing(void **state)
{
	struct cl_texts *t = NULL;
	char err[128];
	assert_int_equal(cl_texts_load_embedded(&t, err, sizeof(err)), CL_OK);
	assert_int_equal(cl_texts_load_string(t, "da",
	                                      "[category]\n"
	                                      "noise = støj\n"
	                                      "this line has no equals sign\n",
	                                      err, sizeof(err)),
	                 CL_ERR_CONFIG);
	assert_non_null(strstr(err, "line 3"));
	assert_string_equal(cl_texts_get(t, "da", "category.noise"), "larm");

	/* inih would split an over-long line silently; it is refused instead. */
	char ini[600] = "[category]\nnoise = ";
	size_t n = strlen(ini);
	memset(ini + n, 'x', 300);
	ini[n + 300] = '\0';
	assert_int_equal(cl_texts_load_string(t, "da", ini, err, sizeof(err)), CL_ERR_CONFIG);
	assert_non_null(strstr(err, "line 2"));
	assert_string_equal(cl_texts_get(t, "da", "category.noise"), "larm");
	cl_texts_free(t);
}

static void test_texts_render_fills_placeholders(void **state)
{
	const struct cl_texts *t = *state;
	const struct cl_text_var vars[] = {{"ref", "K7FQ2"}};
	char out[256];
	size_t n =
	    cl_texts_render(cl_texts_get(t, "da", "receipt.report"), vars, 1, out, sizeof(out));
	assert_string_equal(out, "Tak. Din henvendelse har nummer K7FQ2. Vi har tavshedspligt og "
	                         "kan ikke give yderligere besked.");
	assert_int_equal(n, strlen(out));

	const struct cl_text_var many[] = {
	    {"urgency", "P1"}, {"categories", "larm, akut uro"}, {"area", "Nørrebro"}};
	cl_texts_render(cl_texts_get(t, "da", "alert.summary"), many, 3, out, sizeof(out));
	assert_string_equal(out, "P1 larm, akut uro, område Nørrebro");
}

static void test_texts_render_leaves_unknown_placeholders(void **state)
{
	const struct cl_text_var vars[] = {{"ref", "K7FQ2"}};
	char out[128];
	cl_texts_render("{x} nummer {ref} {} {ref {REF} {{ref}} {a b}", vars, 1, out, sizeof(out));
	assert_string_equal(out, "{x} nummer K7FQ2 {} {ref {REF} {K7FQ2} {a b}");
	cl_texts_render("{ref", vars, 1, out, sizeof(out));
	assert_string_equal(out, "{ref");
	cl_texts_render("{ref}", NULL, 0, out, sizeof(out));
	assert_string_equal(out, "{ref}");
}

static void test_texts_render_never_expands_values_or_formats(void **state)
{
	/* A value typed by a person is inserted as is. */
	const struct cl_text_var vars[] = {{"by", "{ref} %s %n"}, {"ref", "K7FQ2"}};
	char out[128];
	cl_texts_render("%d {ref} taken by {by}", vars, 2, out, sizeof(out));
	assert_string_equal(out, "%d K7FQ2 taken by {ref} %s %n");
}

static void test_texts_render_truncates_at_small_buffers(void **state)
{
	const struct cl_text_var vars[] = {{"ref", "K7FQ2"}};
	char out[8];
	memset(out, 'Z', sizeof(out));
	assert_int_equal(cl_texts_render("Nummer {ref}.", vars, 1, out, sizeof(out)), 7);
	assert_string_equal(out, "Nummer ");
	assert_int_equal(cl_texts_render("Nr {ref}.", vars, 1, out, sizeof(out)), 7);
	assert_string_equal(out, "Nr K7FQ");
	char nine[9];
	assert_int_equal(cl_texts_render("Nr {ref}", vars, 1, nine, sizeof(nine)), 8);
	assert_string_equal(nine, "Nr K7FQ2");

	char one[1] = {'Z'};
	assert_int_equal(cl_texts_render("abc", vars, 1, one, 1), 0);
	assert_int_equal(one[0], '\0');
	assert_int_equal(cl_texts_render("abc", vars, 1, NULL, 0), 0);

	/* Every buffer size gives a prefix of the full text. */
	const char *full = "Nummer K7FQ2, tak.";
	for (size_t size = 1; size <= strlen(full) + 4; size++) {
		char buf[32];
		size_t n = cl_texts_render("Nummer {ref}, tak.", vars, 1, buf, size);
		assert_true(n < size);
		assert_int_equal(strlen(buf), n);
		assert_memory_equal(buf, full, n);
	}
}

static void test_texts_render_truncates_on_utf8_boundaries(void **state)
{
	/* "på Nørrebro": 'å' and 'ø' are two bytes each. */
	const char *full = "p\xc3\xa5 N\xc3\xb8rrebro";
	const struct cl_text_var vars[] = {{"area", "N\xc3\xb8rrebro"}};
	for (size_t size = 1; size <= strlen(full) + 1; size++) {
		char buf[32];
		size_t n = cl_texts_render("p\xc3\xa5 {area}", vars, 1, buf, size);
		assert_memory_equal(buf, full, n);
		/* Never ends inside a character. */
		if (n > 0)
			assert_true(((unsigned char)buf[n - 1] & 0xC0) != 0xC0);
		if (n < strlen(full))
			assert_true(((unsigned char)full[n] & 0xC0) != 0x80);
	}
	char buf[3];
	assert_int_equal(cl_texts_render("p\xc3\xa5", NULL, 0, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "p");
}

/* Enough keys in two languages to grow the table and its index several
 * times; every key found in its own language afterwards, a reload replacing
 * every value, and keys of one language not found in another. */
static void test_texts_many_keys_grow_and_replace(void **state)
{
	(void)state;
	struct cl_texts *t = cl_texts_new();
	assert_non_null(t);
	enum { N = 700 };
	static char ini[N * 32];
	for (int pass = 0; pass < 2; pass++) {
		size_t len = 0;
		for (int i = 0; i < N; i++) {
			if (i % 100 == 0)
				len += (size_t)snprintf(ini + len, sizeof(ini) - len, "[s%d]\n",
				                        i / 100);
			len += (size_t)snprintf(ini + len, sizeof(ini) - len, "k%d = v%d.%d\n", i,
			                        i, pass);
		}
		char err[128];
		assert_int_equal(cl_texts_load_string(t, "da", ini, err, sizeof(err)), CL_OK);
		assert_int_equal(
		    cl_texts_load_string(t, "xx", "[only]\nhere = yes\n", err, sizeof(err)), CL_OK);
		for (int i = 0; i < N; i++) {
			char key[32], want[32];
			snprintf(key, sizeof(key), "s%d.k%d", i / 100, i);
			snprintf(want, sizeof(want), "v%d.%d", i, pass);
			assert_string_equal(cl_texts_get(t, "da", key), want);
			assert_string_equal(cl_texts_get(t, "xx", key), want); /* fallback */
		}
	}
	assert_string_equal(cl_texts_get(t, "xx", "only.here"), "yes");
	assert_string_equal(cl_texts_get(t, "da", "only.here"), "only.here");
	assert_string_equal(cl_texts_get(t, "da", "s0.k100"), "s0.k100");
	cl_texts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_texts_danish_receipt_mentions_confidentiality),
	    cmocka_unit_test(test_texts_danish_letters_preserved),
	    cmocka_unit_test(test_texts_english_lookup),
	    cmocka_unit_test(test_texts_unknown_language_falls_back_to_danish),
	    cmocka_unit_test(test_texts_english_falls_back_to_danish_per_key),
	    cmocka_unit_test(test_texts_missing_key_returns_key),
	    cmocka_unit_test(test_texts_load_string_adds_and_replaces),
	    cmocka_unit_test(test_texts_load_string_error_changes_nothing),
	    cmocka_unit_test(test_texts_render_fills_placeholders),
	    cmocka_unit_test(test_texts_render_leaves_unknown_placeholders),
	    cmocka_unit_test(test_texts_render_never_expands_values_or_formats),
	    cmocka_unit_test(test_texts_render_truncates_at_small_buffers),
	    cmocka_unit_test(test_texts_render_truncates_on_utf8_boundaries),
	    cmocka_unit_test(test_texts_many_keys_grow_and_replace),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
