/*
 * tests/unit/routing_test.c: core/routing.c: postcode, then folded estate,
 * then the default area; the policy chosen by urgency; and the cases that
 * route nowhere. The config is built by hand, not loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "careline/routing.h"

struct fixture {
	struct cl_policy normal, acute, other;
	struct cl_team team_vest, team_centrum;
	char vest_postcodes[3][8];
	char vest_estates[2][CL_ID_MAX];
	char centrum_postcodes[2][8];
	struct cl_area areas[3];
	struct cl_config cfg;
};

static struct fixture fx;

/* Vest: 8210 8220 8380, estates gellerupparken and toveshoej, team with an
 * acute and a normal policy. Centrum: 8000 8100, team with one policy, and
 * the default area. Tomt: no team. */
static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	strcpy(fx.normal.id, "normal");
	strcpy(fx.acute.id, "acute");
	strcpy(fx.other.id, "centrum-normal");

	strcpy(fx.team_vest.id, "opsoegende");
	fx.team_vest.policy = &fx.normal;
	fx.team_vest.policy_acute = &fx.acute;
	strcpy(fx.team_centrum.id, "centrum");
	fx.team_centrum.policy = &fx.other;
	fx.team_centrum.policy_acute = NULL;

	strcpy(fx.vest_postcodes[0], "8210");
	strcpy(fx.vest_postcodes[1], "8220");
	strcpy(fx.vest_postcodes[2], "8380");
	strcpy(fx.vest_estates[0], "gellerupparken");
	strcpy(fx.vest_estates[1], "toveshoej");
	strcpy(fx.centrum_postcodes[0], "8000");
	strcpy(fx.centrum_postcodes[1], "8100");

	struct cl_area *vest = &fx.areas[0], *centrum = &fx.areas[1], *tomt = &fx.areas[2];
	strcpy(vest->id, "vest");
	vest->postcodes = fx.vest_postcodes;
	vest->n_postcodes = 3;
	vest->estates = fx.vest_estates;
	vest->n_estates = 2;
	vest->team = &fx.team_vest;
	strcpy(centrum->id, "centrum");
	centrum->postcodes = fx.centrum_postcodes;
	centrum->n_postcodes = 2;
	centrum->team = &fx.team_centrum;
	strcpy(tomt->id, "tomt");
	tomt->team = NULL;

	fx.cfg.areas = fx.areas;
	fx.cfg.n_areas = 3;
	fx.cfg.default_area = centrum;
	return 0;
}

static struct cl_route route_ok(const char *postcode, const char *estate, enum cl_urgency u)
{
	struct cl_route r;
	assert_int_equal(cl_route_find(&fx.cfg, postcode, estate, u, &r), CL_OK);
	assert_non_null(r.area);
	assert_non_null(r.team);
	assert_non_null(r.policy);
	return r;
}

static void test_routing_by_postcode(void **state)
{
	struct cl_route r = route_ok("8220", NULL, CL_P2);
	assert_string_equal(r.area->id, "vest");
	assert_ptr_equal(r.team, &fx.team_vest);
	assert_ptr_equal(r.policy, &fx.normal);
	assert_string_equal(r.matched_by, "postcode");
	r = route_ok("8100", "", CL_P3);
	assert_string_equal(r.area->id, "centrum");
	assert_string_equal(r.matched_by, "postcode");
}

static void test_routing_postcode_wins_over_estate(void **state)
{
	struct cl_route r = route_ok("8000", "Gellerupparken", CL_P2);
	assert_string_equal(r.area->id, "centrum");
	assert_string_equal(r.matched_by, "postcode");
}

static void test_routing_postcode_is_exact(void **state)
{
	/* No prefix or substring matches: these fall through to the default. */
	static const char *const near[] = {"821", "82100", " 8210", "8210 ", "DK-8210"};
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		struct cl_route r = route_ok(near[i], NULL, CL_P2);
		assert_string_equal(r.matched_by, "default");
	}
}

static void test_routing_by_estate_folded(void **state)
{
	static const char *const spellings[] = {
	    "Gellerupparken", "GELLERUPPARKEN", "gellerupparken", "  Gellerupparken ",
	    "Toveshøj",       "TOVESHØJ",       "toveshoej",      "Toveshoej",
	};
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		struct cl_route r = route_ok(NULL, spellings[i], CL_P2);
		assert_string_equal(r.area->id, "vest");
		assert_string_equal(r.matched_by, "estate");
		assert_ptr_equal(r.policy, &fx.normal);
	}
	/* An unknown postcode does not stop the estate from matching. */
	struct cl_route r = route_ok("9999", "Toveshøj", CL_P1);
	assert_string_equal(r.matched_by, "estate");
	assert_ptr_equal(r.policy, &fx.acute);
}

static void test_routing_estate_needs_equal_fold(void **state)
{
	/* "Tovshøj" folds to "tovshoej", not "toveshoej"; "Gellerup" is only a
	 * prefix. Both go to the default area. */
	static const char *const others[] = {"Tovshøj", "Gellerup", "Gellerupparken 2", "æøå"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct cl_route r = route_ok(NULL, others[i], CL_P2);
		assert_string_equal(r.area->id, "centrum");
		assert_string_equal(r.matched_by, "default");
	}
	/* Very long input is folded into a bounded buffer and never matches. */
	char longer[512];
	memset(longer, 'g', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	struct cl_route r = route_ok(NULL, longer, CL_P2);
	assert_string_equal(r.matched_by, "default");
}

static void test_routing_default_area(void **state)
{
	struct cl_route r = route_ok(NULL, NULL, CL_P3);
	assert_string_equal(r.area->id, "centrum");
	assert_ptr_equal(r.team, &fx.team_centrum);
	assert_string_equal(r.matched_by, "default");
	r = route_ok("", "", CL_P0);
	assert_string_equal(r.matched_by, "default");
	r = route_ok("1234", "Ukendt bebyggelse", CL_P2);
	assert_string_equal(r.matched_by, "default");
}

static void test_routing_no_default_not_found(void **state)
{
	fx.cfg.default_area = NULL;
	struct cl_route r;
	assert_int_equal(cl_route_find(&fx.cfg, "1234", "Ukendt", CL_P2, &r), CL_ERR_NOTFOUND);
	assert_int_equal(cl_route_find(&fx.cfg, NULL, NULL, CL_P0, &r), CL_ERR_NOTFOUND);
	/* A match still works without a default. */
	r = route_ok("8210", NULL, CL_P2);
	assert_string_equal(r.area->id, "vest");
}

static void test_routing_area_without_team_not_found(void **state)
{
	strcpy(fx.vest_postcodes[2], "8999");
	fx.areas[2].postcodes = &fx.vest_postcodes[2];
	fx.areas[2].n_postcodes = 1;
	fx.areas[0].n_postcodes = 2;
	struct cl_route r;
	assert_int_equal(cl_route_find(&fx.cfg, "8999", NULL, CL_P1, &r), CL_ERR_NOTFOUND);
	fx.cfg.default_area = &fx.areas[2];
	assert_int_equal(cl_route_find(&fx.cfg, NULL, NULL, CL_P1, &r), CL_ERR_NOTFOUND);
}

static void test_routing_policy_by_urgency(void **state)
{
	assert_ptr_equal(route_ok("8210", NULL, CL_P0).policy, &fx.acute);
	assert_ptr_equal(route_ok("8210", NULL, CL_P1).policy, &fx.acute);
	assert_ptr_equal(route_ok("8210", NULL, CL_P2).policy, &fx.normal);
	assert_ptr_equal(route_ok("8210", NULL, CL_P3).policy, &fx.normal);
	/* Without an acute policy every urgency uses the normal one. */
	assert_ptr_equal(route_ok("8000", NULL, CL_P0).policy, &fx.other);
	assert_ptr_equal(route_ok("8000", NULL, CL_P3).policy, &fx.other);
}

static void test_routing_invalid_arguments(void **state)
{
	struct cl_route r;
	assert_int_equal(cl_route_find(NULL, "8210", NULL, CL_P2, &r), CL_ERR_INVALID);
	assert_int_equal(cl_route_find(&fx.cfg, "8210", NULL, CL_P2, NULL), CL_ERR_INVALID);
	assert_int_equal(cl_route_find(&fx.cfg, "8210", NULL, CL_URGENCY__COUNT, &r),
	                 CL_ERR_INVALID);
	/* A team with no policy at all routes nowhere. */
	fx.team_vest.policy = NULL;
	fx.team_vest.policy_acute = NULL;
	assert_int_equal(cl_route_find(&fx.cfg, "8210", NULL, CL_P2, &r), CL_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_routing_by_postcode, setup),
	    cmocka_unit_test_setup(test_routing_postcode_wins_over_estate, setup),
	    cmocka_unit_test_setup(test_routing_postcode_is_exact, setup),
	    cmocka_unit_test_setup(test_routing_by_estate_folded, setup),
	    cmocka_unit_test_setup(test_routing_estate_needs_equal_fold, setup),
	    cmocka_unit_test_setup(test_routing_default_area, setup),
	    cmocka_unit_test_setup(test_routing_no_default_not_found, setup),
	    cmocka_unit_test_setup(test_routing_area_without_team_not_found, setup),
	    cmocka_unit_test_setup(test_routing_policy_by_urgency, setup),
	    cmocka_unit_test_setup(test_routing_invalid_arguments, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
