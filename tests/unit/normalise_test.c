/*
 * tests/unit/normalise_test.c: the normaliser (core/normalise.c) with the
 * shipped rules (the embedded config/normalise.ini): every line of
 * tests/unit/files/normalise/reports-da.tsv, Danish letter variants, the
 * ANONYM prefix, addresses in text and as one string, and rules-load errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/embedded.h"
#include "careline/normalise.h"

#define FIXTURE "tests/unit/files/normalise/reports-da.tsv"

/* Fixture lines (file line numbers) whose main category may differ: none. */
static const int main_category_allowlist[] = {0};

static struct cl_norm_rules *rules;

static int load_rules(void **state)
{
	char err[256];
	const char *ini = cl_embedded_get("normalise.ini");
	if (!ini)
		return -1;
	if (cl_norm_rules_load(ini, &rules, err, sizeof(err)) != CL_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int free_rules(void **state)
{
	cl_norm_rules_free(rules);
	rules = NULL;
	return 0;
}

/* ---- the fixture -------------------------------------------------------- */

enum { F_TEXT, F_CATS, F_URGENCY, F_ANON, F_STREET, F_NUMBER, F_FLOOR, F_SIDE, F_POSTCODE, F_N };

struct row {
	int line;
	char buf[1024];
	const char *f[F_N];
};

/* Reads every data row; returns how many. */
static size_t read_fixture(struct row *rows, size_t max)
{
	FILE *fp = fopen(FIXTURE, "r");
	assert_non_null(fp);
	size_t n = 0;
	int line = 0;
	char buf[1024];
	while (fgets(buf, sizeof(buf), fp)) {
		line++;
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		assert_true(n < max);
		struct row *r = &rows[n++];
		r->line = line;
		memcpy(r->buf, buf, sizeof(buf));
		char *p = r->buf;
		for (int k = 0; k < F_N; k++) {
			r->f[k] = p ? p : "";
			char *tab = p ? strchr(p, '\t') : NULL;
			if (tab)
				*tab = '\0';
			p = tab ? tab + 1 : NULL;
		}
		assert_null(p); /* exactly F_N columns */
	}
	fclose(fp);
	return n;
}

static int allowlisted(int line)
{
	for (size_t i = 0; i < sizeof(main_category_allowlist) / sizeof(*main_category_allowlist);
	     i++) {
		if (main_category_allowlist[i] == line)
			return 1;
	}
	return 0;
}

static int same_set(const struct cl_categories *a, const struct cl_categories *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		if (!cl_categories_has(b, a->cats[i]))
			return 0;
	}
	return 1;
}

static int check_field(int line, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 0;
	print_message("line %d: %s \"%s\", want \"%s\"\n", line, what, got, want);
	return 1;
}

static void test_normalise_fixture_every_line(void **state)
{
	static struct row rows[128];
	size_t n = read_fixture(rows, 128);
	int failures = 0;

	assert_true(n >= 36);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct cl_norm_result res;
		struct cl_categories want;
		char got_s[256], want_s[256];

		cl_normalise(rules, r->f[F_TEXT], &res);
		assert_int_equal(cl_categories_parse(r->f[F_CATS], &want), CL_OK);
		assert_true(want.n > 0);
		cl_categories_format(&res.categories, got_s, sizeof(got_s));
		cl_categories_format(&want, want_s, sizeof(want_s));
		if (!same_set(&res.categories, &want)) {
			print_message("line %d: categories {%s}, want {%s}\n", r->line, got_s,
			              want_s);
			failures++;
		} else if (res.categories.cats[0] != want.cats[0] && !allowlisted(r->line)) {
			print_message("line %d: main %s, want %s\n", r->line, got_s, want_s);
			failures++;
		}
		failures +=
		    check_field(r->line, "urgency", cl_urgency_name(res.urgency), r->f[F_URGENCY]);
		failures +=
		    check_field(r->line, "anonymous", res.anonymous ? "yes" : "no", r->f[F_ANON]);
		failures += check_field(r->line, "street", res.address.street, r->f[F_STREET]);
		failures += check_field(r->line, "number", res.address.number, r->f[F_NUMBER]);
		failures += check_field(r->line, "floor", res.address.floor, r->f[F_FLOOR]);
		failures += check_field(r->line, "side", res.address.side, r->f[F_SIDE]);
		failures +=
		    check_field(r->line, "postcode", res.address.postcode, r->f[F_POSTCODE]);
	}
	assert_int_equal(failures, 0);
}

/* ---- categories and urgency ----------------------------------------------- */

static struct cl_norm_result norm(const char *text)
{
	struct cl_norm_result res;
	cl_normalise(rules, text, &res);
	return res;
}

static void assert_main(const char *text, enum cl_category cat, enum cl_urgency u)
{
	struct cl_norm_result res = norm(text);
	if (res.categories.cats[0] != cat || res.urgency != u) {
		char buf[256];
		print_message("\"%s\": %s %s\n", text,
		              cl_categories_format(&res.categories, buf, sizeof(buf)),
		              cl_urgency_name(res.urgency));
	}
	assert_int_equal(res.categories.cats[0], cat);
	assert_int_equal(res.urgency, u);
}

static void test_normalise_danish_letters_any_spelling(void **state)
{
	const char *noise[] = {"STØJ FRA NABOEN",  "støj fra naboen", "stoej fra naboen",
	                       "Stoej fra naboen", "STOEJ",           "StØj"};
	for (size_t i = 0; i < sizeof(noise) / sizeof(*noise); i++)
		assert_main(noise[i], CL_CAT_NOISE, CL_P3);

	const char *not_seen[] = {"Ingen åbner døren", "INGEN ÅBNER DØREN", "ingen aabner doeren",
	                          "Ingen Aabner",      "seddel i døren",    "SEDDEL I DOEREN"};
	for (size_t i = 0; i < sizeof(not_seen) / sizeof(*not_seen); i++)
		assert_main(not_seen[i], CL_CAT_NOT_SEEN, CL_P1);

	assert_main("HAN HAR SAGT HAN VIL TAGE SIT EGET LIV", CL_CAT_DANGER_TO_LIFE, CL_P0);
	assert_main("han skaerer i sig selv", CL_CAT_DANGER_TO_LIFE, CL_P0);
	assert_main("BØRNENE ER ALENE", CL_CAT_CHILDREN, CL_P2);
	assert_main("boernene er alene", CL_CAT_CHILDREN, CL_P2);
	assert_main("Det ØDELAGTE er ødelagt", CL_CAT_PROPERTY_DAMAGE, CL_P3);
}

static void test_normalise_prefix_and_gap_keywords(void **state)
{
	/* rotte* matches rotter and rotterne; lys* ... tændt allows words between */
	assert_main("rotterne løber rundt", CL_CAT_SQUALOR, CL_P3);
	assert_main("lyset har været tændt i en uge", CL_CAT_NOT_SEEN, CL_P1);
	/* a phrase does not span a comma or a full stop */
	assert_main("lyset. Tændt", CL_CAT_OTHER, CL_P3);
	assert_main("hun svarer ikke, set fra gaden", CL_CAT_OTHER, CL_P3);
	/* "slår" is violence, "slå ... ihjel" in a delusion is not */
	assert_main("han slår", CL_CAT_THREATS_VIOLENCE, CL_P1);
	assert_main("han tror nogen vil slå ham ihjel", CL_CAT_AGITATION, CL_P1);
}

static void test_normalise_violence_now_is_p0(void **state)
{
	assert_main("Han truer naboen", CL_CAT_THREATS_VIOLENCE, CL_P1);
	assert_main("Han truer naboen lige nu", CL_CAT_THREATS_VIOLENCE, CL_P0);
	assert_main("He is violent right now", CL_CAT_THREATS_VIOLENCE, CL_P0);
	/* a "now" cue alone changes nothing */
	assert_main("Der er larm lige nu", CL_CAT_NOISE, CL_P3);
}

static void test_normalise_main_category_by_order(void **state)
{
	struct cl_norm_result res =
	    norm("Der er skrald overalt, og vi har ikke set ham i ugevis. Han truer folk.");
	assert_int_equal(res.categories.n, 3);
	assert_int_equal(res.categories.cats[0], CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(res.categories.cats[1], CL_CAT_NOT_SEEN);
	assert_int_equal(res.categories.cats[2], CL_CAT_SQUALOR);
	assert_int_equal(res.urgency, CL_P1);
}

static void test_normalise_empty_text_is_other_p3(void **state)
{
	const char *texts[] = {"", "   ", "!!! ...", "\xF0\x9F\x98\xA2", NULL};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct cl_norm_result res = norm(texts[i]);
		assert_int_equal(res.categories.n, 1);
		assert_int_equal(res.categories.cats[0], CL_CAT_OTHER);
		assert_int_equal(res.urgency, CL_P3);
		assert_false(res.anonymous);
		assert_int_equal(res.body_offset, 0);
		assert_true(cl_address_empty(&res.address));
	}
}

static void test_normalise_long_text_no_crash(void **state)
{
	size_t len = 1 << 20;
	char *text = malloc(len + 1);
	assert_non_null(text);

	/* a keyword early is seen; one after the first 4 KiB is not */
	memset(text, 'a', len);
	memcpy(text, "larm ", 5);
	for (size_t i = 5; i < len; i += 7)
		text[i] = ' ';
	memcpy(text + 8000, " kniv ", 6);
	text[len] = '\0';
	struct cl_norm_result res = norm(text);
	assert_int_equal(res.categories.n, 1);
	assert_int_equal(res.categories.cats[0], CL_CAT_NOISE);

	/* every byte value, invalid UTF-8, a sequence cut at the 4 KiB edge */
	for (size_t i = 0; i < len; i++)
		text[i] = (char)(1 + (i * 131) % 255);
	text[4095] = (char)0xC3;
	res = norm(text);
	assert_true(res.categories.n >= 1);

	/* one giant word, digits everywhere, dots everywhere */
	memset(text, 'x', len);
	res = norm(text);
	assert_int_equal(res.categories.cats[0], CL_CAT_OTHER);
	for (size_t i = 0; i < len; i++)
		text[i] = "1. tv 2 "[i % 8];
	res = norm(text);
	assert_string_equal(res.address.floor, "1");
	assert_string_equal(res.address.side, "tv");
	memset(text, '.', len);
	res = norm(text);
	assert_int_equal(res.categories.cats[0], CL_CAT_OTHER);
	free(text);
}

static void test_normalise_urgency_for_given_categories(void **state)
{
	struct cl_categories cats = {.n = 0};
	cl_categories_add(&cats, CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(cl_norm_urgency(rules, &cats, "det sker lige nu"), CL_P0);
	assert_int_equal(cl_norm_urgency(rules, &cats, "i går"), CL_P1);
	assert_int_equal(cl_norm_urgency(rules, &cats, NULL), CL_P1);
	cats.n = 0;
	cl_categories_add(&cats, CL_CAT_NOISE);
	assert_int_equal(cl_norm_urgency(rules, &cats, "lige nu"), CL_P3);
	cl_categories_add(&cats, CL_CAT_DANGER_TO_LIFE);
	assert_int_equal(cl_norm_urgency(rules, &cats, NULL), CL_P0);
}

/* ---- anonymity ---------------------------------------------------------------- */

static void assert_anonymous(const char *text, const char *body)
{
	struct cl_norm_result res = norm(text);
	assert_true(res.anonymous);
	assert_string_equal(text + res.body_offset, body);
}

static void test_normalise_anonymous_prefix_variants(void **state)
{
	assert_anonymous("ANONYM: han slår hende", "han slår hende");
	assert_anonymous("anonym - han slår hende", "han slår hende");
	assert_anonymous("Anonym. han slår hende", "han slår hende");
	assert_anonymous("  ANONYM han slår hende", "han slår hende");
	assert_anonymous("Anonymt: han slår hende", "han slår hende");
	assert_anonymous("anonym \xE2\x80\x93 han slår hende", "han slår hende");
	assert_anonymous("ANONYM", "");

	struct cl_norm_result res = norm("ANONYM: han slår hende lige nu");
	assert_int_equal(res.categories.cats[0], CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(res.urgency, CL_P0);

	const char *named[] = {"Anonymitet ønskes ikke", "Jeg vil være anonym: han slår",
	                       "anonyme breve i postkassen", "xANONYM: larm"};
	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++) {
		res = norm(named[i]);
		assert_false(res.anonymous);
		assert_int_equal(res.body_offset, 0);
	}
}

/* ---- addresses --------------------------------------------------------------- */

static void assert_address(const struct cl_address *a, const char *street, const char *number,
                           const char *floor, const char *side, const char *postcode,
                           const char *city)
{
	assert_string_equal(a->street, street);
	assert_string_equal(a->number, number);
	assert_string_equal(a->floor, floor);
	assert_string_equal(a->side, side);
	assert_string_equal(a->postcode, postcode);
	assert_string_equal(a->city, city);
}

static void test_normalise_address_parse_one_string(void **state)
{
	struct cl_address a;
	assert_true(cl_address_parse("Vestergade 14, st. th., 8000 Aarhus C", &a));
	assert_address(&a, "Vestergade", "14", "st", "th", "8000", "Aarhus C");
	assert_true(cl_address_parse("Nørregade 7, 1. mf., 8000 Aarhus C", &a));
	assert_address(&a, "Nørregade", "7", "1", "mf", "8000", "Aarhus C");
	assert_true(cl_address_parse("Østerbrogade 101, 4. tv, 2100 København Ø", &a));
	assert_address(&a, "Østerbrogade", "101", "4", "tv", "2100", "København Ø");
	assert_true(cl_address_parse("Gammel Kongevej 12B, 3. sal, 1610 København V", &a));
	assert_address(&a, "Gammel Kongevej", "12B", "3", "", "1610", "København V");
	assert_true(cl_address_parse("  vestergade 14 b st th  ", &a));
	assert_address(&a, "vestergade", "14B", "st", "th", "", "");
	assert_true(cl_address_parse("Ved Stranden 5, 1050 København K", &a));
	assert_address(&a, "Ved Stranden", "5", "", "", "1050", "København K");
	assert_true(cl_address_parse("Vestergade nr. 3", &a));
	assert_address(&a, "Vestergade", "3", "", "", "", "");
	assert_true(cl_address_parse("Åboulevarden", &a));
	assert_address(&a, "Åboulevarden", "", "", "", "", "");

	assert_false(cl_address_parse("", &a));
	assert_false(cl_address_parse(", . -", &a));
	assert_false(cl_address_parse(NULL, &a));
	assert_true(cl_address_empty(&a));
}

static void test_normalise_address_in_text(void **state)
{
	struct cl_norm_result res = norm("Min nabo på Østerbrogade 101, 4. tv, 2100 København Ø "
	                                 "har ikke været ude");
	assert_address(&res.address, "Østerbrogade", "101", "4", "tv", "2100", "København Ø");
	res = norm("Det lugter fra Gammel Kongevej 7 st tv");
	assert_address(&res.address, "Gammel Kongevej", "7", "st", "tv", "", "");
	res = norm("der er larm fra H.C. Ørsteds Vej 12, 2. th.");
	assert_address(&res.address, "Ørsteds Vej", "12", "2", "th", "", "");
	res = norm("STØJ FRA VESTERGADE 3, 8000 AARHUS C HAR DET VÆRET");
	assert_address(&res.address, "VESTERGADE", "3", "", "", "8000", "AARHUS C");
	res = norm("vand siver fra nr. 4b, 2. sal tv");
	assert_address(&res.address, "", "4B", "2", "tv", "", "");
}

static void test_normalise_numbers_not_addresses(void **state)
{
	const char *texts[] = {
	    "Han har ikke betalt husleje i 3 måneder",
	    "Sedlen sidder der stadig efter 5 dage",
	    "Beboeren på 2. sal larmer",
	    "Ring 112 hvis det bliver værre",
	    "Det har stået på i 14 dage, siden 2019. Han er ked af det",
	    "Han har boet på Vestergade i 12 år",
	    "kl. 22 begyndte larmen",
	    "Hun er 85 år og bor alene på 3. sal",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct cl_norm_result res = norm(texts[i]);
		if (!cl_address_empty(&res.address))
			print_message("\"%s\": number \"%s\" floor \"%s\" postcode \"%s\"\n",
			              texts[i], res.address.number, res.address.floor,
			              res.address.postcode);
		assert_true(cl_address_empty(&res.address));
	}
}

/* ---- loading rules ------------------------------------------------------------- */

static void assert_load_error(const char *ini, const char *line_text)
{
	static char not_null;
	struct cl_norm_rules *r = (struct cl_norm_rules *)&not_null;
	char err[256];
	assert_int_equal(cl_norm_rules_load(ini, &r, err, sizeof(err)), CL_ERR_CONFIG);
	assert_null(r);
	if (!strstr(err, line_text))
		print_message("error \"%s\" lacks \"%s\"\n", err, line_text);
	assert_non_null(strstr(err, line_text));
}

#define OK_CATEGORY "[category noise]\nmatch = larm\n"

static void test_normalise_rules_load_errors(void **state)
{
	assert_load_error(OK_CATEGORY "[urgency]\nP7 = noise\n", "line 4: unknown urgency 'P7'");
	assert_load_error(OK_CATEGORY "[urgency]\ndefault = P9\n", "line 4: unknown urgency 'P9'");
	assert_load_error(OK_CATEGORY "[category nosie]\nmatch = x\n",
	                  "line 4: unknown category 'nosie'");
	assert_load_error(OK_CATEGORY "[urgency]\nP0 = noise + soon\n",
	                  "line 4: unknown category or cue 'soon'");
	assert_load_error(OK_CATEGORY "[order]\nmain = noise, noise\n",
	                  "line 4: category 'noise' listed twice");
	assert_load_error(OK_CATEGORY "[order]\nmain = noise, lound\n",
	                  "line 4: unknown category 'lound'");
	assert_load_error(OK_CATEGORY "[colours]\nred = 1\n",
	                  "line 4: unknown section '[colours]'");
	assert_load_error(OK_CATEGORY "[category noise]\nwords = x\n",
	                  "line 4: unknown key 'words'");
	assert_load_error(OK_CATEGORY "this is not a key\n", "line 3: syntax error");
	assert_load_error(OK_CATEGORY "match = ... larm\n", "line 3: misplaced '...'");
	assert_load_error(OK_CATEGORY "match = larm ...\n", "line 3: misplaced '...'");
	assert_load_error(OK_CATEGORY "match = l*rm\n", "line 3: '*' only ends a word");
	assert_load_error(OK_CATEGORY "match = ---\n", "line 3: no letters or digits");
	assert_load_error(OK_CATEGORY "[anonymous]\nprefix = anonym henvendelse\n",
	                  "line 4: 'anonym henvendelse' must be one word");
	assert_load_error(OK_CATEGORY "[cue Now]\nmatch = nu\n", "line 4: bad cue name 'Now'");
	assert_load_error("[cue noise]\nmatch = nu\n", "line 2: cue 'noise' has a category's name");
	assert_load_error("[anonymous]\nprefix = anonym\n", "no [category ...] match keywords");

	char big[512];
	snprintf(big, sizeof(big), OK_CATEGORY "match = %0300d\n", 1);
	assert_load_error(big, "line 3: line longer than");

	/* the first error is the one reported */
	assert_load_error(OK_CATEGORY "[urgency]\nP5 = noise\nP6 = noise\n",
	                  "line 4: unknown urgency 'P5'");
}

static void test_normalise_rules_custom(void **state)
{
	const char *ini = "# a tiny rule set\n"
	                  "[order]\n"
	                  "main = noise, squalor\n"
	                  "[cue late]\n"
	                  "match = om natten ; comment\n"
	                  "[category squalor]\n"
	                  "match = Skrald*, døde ... rotter\n"
	                  "[category noise]\n"
	                  "match = LARM\n"
	                  "match = haven't slept\n"
	                  "[urgency]\n"
	                  "P2 = noise + late\n"
	                  "default = P3\n";
	struct cl_norm_rules *r = NULL;
	char err[256];
	assert_int_equal(cl_norm_rules_load(ini, &r, err, sizeof(err)), CL_OK);

	struct cl_norm_result res;
	cl_normalise(r, "Skraldespande og larm", &res);
	assert_int_equal(res.categories.n, 2);
	assert_int_equal(res.categories.cats[0], CL_CAT_NOISE);
	assert_int_equal(res.categories.cats[1], CL_CAT_SQUALOR);
	assert_int_equal(res.urgency, CL_P3);
	cl_normalise(r, "larm om natten", &res);
	assert_int_equal(res.urgency, CL_P2);
	cl_normalise(r, "døde, grå rotter", &res);
	assert_int_equal(res.categories.cats[0], CL_CAT_OTHER);
	cl_normalise(r, "døde store grå sorte rotter", &res);
	assert_int_equal(res.categories.cats[0], CL_CAT_SQUALOR);
	cl_normalise(r, "døde store grå sorte fede rotter", &res);
	assert_int_equal(res.categories.cats[0], CL_CAT_OTHER);
	cl_normalise(r, "I haven\xE2\x80\x99t slept", &res);
	assert_int_equal(res.categories.cats[0], CL_CAT_NOISE);
	/* no [anonymous] section: nothing is a prefix */
	cl_normalise(r, "ANONYM: larm", &res);
	assert_false(res.anonymous);
	cl_norm_rules_free(r);
	cl_norm_rules_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalise_fixture_every_line),
	    cmocka_unit_test(test_normalise_danish_letters_any_spelling),
	    cmocka_unit_test(test_normalise_prefix_and_gap_keywords),
	    cmocka_unit_test(test_normalise_violence_now_is_p0),
	    cmocka_unit_test(test_normalise_main_category_by_order),
	    cmocka_unit_test(test_normalise_empty_text_is_other_p3),
	    cmocka_unit_test(test_normalise_long_text_no_crash),
	    cmocka_unit_test(test_normalise_urgency_for_given_categories),
	    cmocka_unit_test(test_normalise_anonymous_prefix_variants),
	    cmocka_unit_test(test_normalise_address_parse_one_string),
	    cmocka_unit_test(test_normalise_address_in_text),
	    cmocka_unit_test(test_normalise_numbers_not_addresses),
	    cmocka_unit_test(test_normalise_rules_load_errors),
	    cmocka_unit_test(test_normalise_rules_custom),
	};
	return cmocka_run_group_tests(tests, load_rules, free_rules);
}
