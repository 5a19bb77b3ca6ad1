/*
 * tests/unit/roster_test.c: the weekly rotation of core/roster.c: who is on
 * duty around a handoff, handoffs in winter and summer time, cycling and
 * instants before the anchor, and continuity of shifts across DST weeks.
 * Teams are built by hand; the config loader is not involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "careline/roster.h"
#include "careline/tz.h"

#define MIN_MS  INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)
#define WEEK_MS (7 * DAY_MS)

static char members3[3][CL_ID_MAX] = {"anna", "bo", "carl"};

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return cl_days_from_civil(y, mo, d) * DAY_MS + ((int64_t)h * 60 + mi) * MIN_MS;
}

/* A team rotating the first n of anna, bo, carl; the default is the shipped
 * example: Monday 08:00, anchored on Monday 2026-01-05, back-up dorthe. */
static struct cl_team make_team(size_t n, int wday, int minute, int64_t anchor_day)
{
	struct cl_team team = {0};
	strcpy(team.id, "opsoegende");
	team.rotation.members = members3;
	team.rotation.n_members = n;
	team.rotation.handoff_wday = wday;
	team.rotation.handoff_minute = minute;
	team.rotation.anchor_day = anchor_day;
	strcpy(team.backup, "dorthe");
	return team;
}

static struct cl_team default_team(size_t n)
{
	return make_team(n, 0, 8 * 60, cl_days_from_civil(2026, 1, 5));
}

static const char *primary_at(const struct cl_team *team, int64_t at)
{
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(team, at, &oc), CL_OK);
	return oc.primary;
}

static void test_roster_handoff_boundary(void **state)
{
	struct cl_team team = default_team(2);
	/* 2026-01-05 08:00 CET = 07:00 UTC: anna's first shift starts. */
	int64_t h0 = utc(2026, 1, 5, 7, 0);
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, h0 - 1, &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	assert_int_equal(oc.shift_end_ms, h0);
	assert_int_equal(oc.shift_start_ms, h0 - WEEK_MS);

	assert_int_equal(cl_roster_oncall_at(&team, h0, &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.backup, "dorthe");
	assert_string_equal(oc.source, "rotation");
	assert_int_equal(oc.shift_start_ms, h0);
	assert_int_equal(oc.shift_end_ms, h0 + WEEK_MS);

	assert_string_equal(primary_at(&team, h0 + WEEK_MS - 1), "anna");
	assert_string_equal(primary_at(&team, h0 + WEEK_MS), "bo");
}

static void test_roster_handoff_winter_and_summer_utc(void **state)
{
	struct cl_team team = default_team(2);
	struct cl_oncall oc;
	/* Winter: Monday 2026-02-02 08:00 CET = 07:00 UTC (week 4: anna). */
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 2, 2, 12, 0), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, utc(2026, 2, 2, 7, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 2, 9, 7, 0));
	assert_string_equal(oc.primary, "anna");
	/* Summer: Monday 2026-06-01 08:00 CEST = 06:00 UTC (week 21: bo). */
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 6, 1, 6, 0), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, utc(2026, 6, 1, 6, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 6, 8, 6, 0));
	assert_string_equal(oc.primary, "bo");
	/* 05:59 UTC on that Monday is 07:59 local: still anna's shift. */
	assert_string_equal(primary_at(&team, utc(2026, 6, 1, 5, 59)), "anna");
}

static void test_roster_three_members_cycle(void **state)
{
	struct cl_team team = default_team(3);
	static const char *const expect[] = {"anna", "bo", "carl", "anna", "bo", "carl", "anna"};
	int64_t mid = utc(2026, 1, 7, 12, 0); /* a Wednesday in week 0 */
	for (int k = 0; k < 7; k++)
		assert_string_equal(primary_at(&team, mid + k * WEEK_MS), expect[k]);
	/* A year on: 2027-01-06 is 52 weeks later, 52 mod 3 = 1. */
	assert_string_equal(primary_at(&team, utc(2027, 1, 6, 12, 0)), "bo");
}

static void test_roster_before_anchor(void **state)
{
	struct cl_team team = default_team(3);
	int64_t mid = utc(2026, 1, 7, 12, 0);
	assert_string_equal(primary_at(&team, mid - 1 * WEEK_MS), "carl");
	assert_string_equal(primary_at(&team, mid - 2 * WEEK_MS), "bo");
	assert_string_equal(primary_at(&team, mid - 3 * WEEK_MS), "anna");
	assert_string_equal(primary_at(&team, mid - 4 * WEEK_MS), "carl");
	/* Summer of the year before, across a DST change: 2025-06-04 is 31
	 * weeks before 2026-01-07; -31 mod 3 = 2. */
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, utc(2025, 6, 4, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "carl");
	assert_int_equal(oc.shift_start_ms, utc(2025, 6, 2, 6, 0));
	/* Before the epoch, far away. */
	assert_int_equal(cl_roster_oncall_at(&team, utc(1969, 12, 31, 12, 0), &oc), CL_OK);
	assert_true(oc.shift_start_ms <= utc(1969, 12, 31, 12, 0));
	assert_true(oc.shift_end_ms > utc(1969, 12, 31, 12, 0));
}

static void test_roster_anchor_any_day_of_its_week(void **state)
{
	/* anchor_day names its ISO week: Thursday 2026-01-08 and Sunday
	 * 2026-01-11 give the same rotation as Monday 2026-01-05. */
	struct cl_team thu = make_team(3, 0, 480, cl_days_from_civil(2026, 1, 8));
	struct cl_team sun = make_team(3, 0, 480, cl_days_from_civil(2026, 1, 11));
	assert_string_equal(primary_at(&thu, utc(2026, 1, 5, 7, 0)), "anna");
	assert_string_equal(primary_at(&sun, utc(2026, 1, 5, 7, 0)), "anna");
	assert_string_equal(primary_at(&sun, utc(2026, 1, 5, 6, 59)), "carl");
	/* Handoff Friday 16:00 with anchor Monday 2026-01-05: anna starts on
	 * Friday 2026-01-09 16:00 CET; until then it is carl. */
	struct cl_team fri = make_team(3, 4, 16 * 60, cl_days_from_civil(2026, 1, 5));
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&fri, utc(2026, 1, 6, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "carl");
	assert_int_equal(oc.shift_end_ms, utc(2026, 1, 9, 15, 0));
	assert_string_equal(primary_at(&fri, utc(2026, 1, 9, 15, 0)), "anna");
}

/* Walk [from, to) in steps, checking that shifts tile time: each instant lies
 * in its shift, a new shift starts where the last ended with the next member,
 * and each shift lasts 167, 168 or 169 hours. Counts the short and long ones. */
static void walk(const struct cl_team *team, int64_t from, int64_t to, int64_t step, int *n167,
                 int *n169)
{
	struct cl_oncall prev = {0};
	size_t n = team->rotation.n_members;
	size_t prev_idx = 0;
	*n167 = *n169 = 0;
	for (int64_t t = from; t < to; t += step) {
		struct cl_oncall oc;
		assert_int_equal(cl_roster_oncall_at(team, t, &oc), CL_OK);
		assert_true(oc.shift_start_ms <= t);
		assert_true(t < oc.shift_end_ms);
		size_t idx = oc.primary[0] == 'a'   ? 0
		             : oc.primary[0] == 'b' ? 1
		                                    : 2; /* anna, bo, carl */
		if (prev.primary != NULL && oc.shift_start_ms != prev.shift_start_ms) {
			assert_int_equal(oc.shift_start_ms, prev.shift_end_ms);
			assert_int_equal(idx, (prev_idx + 1) % n);
			int64_t len = oc.shift_end_ms - oc.shift_start_ms;
			if (len == 167 * HOUR_MS)
				(*n167)++;
			else if (len == 169 * HOUR_MS)
				(*n169)++;
			else
				assert_int_equal(len, 168 * HOUR_MS);
		} else if (prev.primary != NULL) {
			assert_int_equal(oc.shift_end_ms, prev.shift_end_ms);
			assert_string_equal(oc.primary, prev.primary);
		}
		prev = oc;
		prev_idx = idx;
	}
}

static void test_roster_shifts_continuous_across_dst_two_years(void **state)
{
	struct cl_team team = default_team(3);
	int n167, n169;
	/* Covers October 2025, March 2026, October 2026 and March 2027. */
	walk(&team, utc(2025, 6, 1, 0, 0), utc(2027, 6, 1, 0, 0), HOUR_MS, &n167, &n169);
	assert_int_equal(n167, 2);
	assert_int_equal(n169, 2);
	/* The shift containing the March 2026 change is one hour short. */
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 3, 29, 12, 0), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, utc(2026, 3, 23, 7, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 3, 30, 6, 0));
	/* And the October one an hour long. */
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 10, 25, 12, 0), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, utc(2026, 10, 19, 6, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 10, 26, 7, 0));
}

static void test_roster_handoff_inside_dst_hour(void **state)
{
	/* Handoff Sunday 02:30, the very time that is skipped in March and
	 * repeated in October: skipped → 03:30 CEST, repeated → first. */
	struct cl_team team = make_team(2, 6, 150, cl_days_from_civil(2026, 1, 5));
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 3, 29, 1, 30), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, utc(2026, 3, 29, 1, 30));
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 10, 25, 0, 30), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, utc(2026, 10, 25, 0, 30));
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 10, 25, 0, 29), &oc), CL_OK);
	assert_int_equal(oc.shift_end_ms, utc(2026, 10, 25, 0, 30));
	int n167, n169;
	walk(&team, utc(2025, 6, 1, 0, 0), utc(2027, 6, 1, 0, 0), 15 * MIN_MS, &n167, &n169);
	assert_int_equal(n167, 2);
	assert_int_equal(n169, 2);
}

static void test_roster_single_member_and_no_backup(void **state)
{
	struct cl_team team = default_team(1);
	team.backup[0] = '\0';
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 8, 1, 0, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_null(oc.backup);
}

static void test_roster_empty_rotation_not_found(void **state)
{
	struct cl_team team = default_team(0);
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 8, 1, 0, 0), &oc), CL_ERR_NOTFOUND);
	team.rotation.members = NULL;
	assert_int_equal(cl_roster_oncall_at(&team, utc(2026, 8, 1, 0, 0), &oc), CL_ERR_NOTFOUND);
}

static void test_roster_invalid_handoff_rejected(void **state)
{
	struct cl_oncall oc;
	struct cl_team team = make_team(2, 7, 480, 0);
	assert_int_equal(cl_roster_oncall_at(&team, 0, &oc), CL_ERR_INVALID);
	team = make_team(2, 0, 1440, 0);
	assert_int_equal(cl_roster_oncall_at(&team, 0, &oc), CL_ERR_INVALID);
	team = make_team(2, 0, -1, 0);
	assert_int_equal(cl_roster_oncall_at(&team, 0, &oc), CL_ERR_INVALID);
	team = make_team(2, 0, 480, 0);
	assert_int_equal(cl_roster_oncall_at(&team, INT64_MAX, &oc), CL_ERR_INVALID);
	assert_int_equal(cl_roster_oncall_at(&team, INT64_MIN, &oc), CL_ERR_INVALID);
	assert_int_equal(cl_roster_oncall_at(NULL, 0, &oc), CL_ERR_INVALID);
	assert_int_equal(cl_roster_oncall_at(&team, 0, NULL), CL_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roster_handoff_boundary),
	    cmocka_unit_test(test_roster_handoff_winter_and_summer_utc),
	    cmocka_unit_test(test_roster_three_members_cycle),
	    cmocka_unit_test(test_roster_before_anchor),
	    cmocka_unit_test(test_roster_anchor_any_day_of_its_week),
	    cmocka_unit_test(test_roster_shifts_continuous_across_dst_two_years),
	    cmocka_unit_test(test_roster_handoff_inside_dst_hour),
	    cmocka_unit_test(test_roster_single_member_and_no_backup),
	    cmocka_unit_test(test_roster_empty_rotation_not_found),
	    cmocka_unit_test(test_roster_invalid_handoff_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
