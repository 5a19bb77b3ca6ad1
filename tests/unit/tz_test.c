/*
 * tests/unit/tz_test.c: civil-date arithmetic and Europe/Copenhagen offsets
 * and conversions (core/tz.c), including both sides of the 2025-2027 DST
 * changes, the skipped March hour and the repeated October hour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "careline/tz.h"

#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return cl_days_from_civil(y, mo, d) * DAY_MS +
	       ((int64_t)h * 3600 + (int64_t)mi * 60 + s) * INT64_C(1000);
}

static int64_t cph(int y, int mo, int d, int h, int mi)
{
	struct cl_civil c = {.year = y, .month = mo, .day = d, .hour = h, .minute = mi};
	return cl_tz_cph_to_utc(&c);
}

static void test_tz_days_known_dates(void **state)
{
	assert_int_equal(cl_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(cl_days_from_civil(1900, 1, 1), -25567);
	assert_int_equal(cl_days_from_civil(2000, 1, 1), 10957);
	assert_int_equal(cl_days_from_civil(2024, 2, 29), 19782);
	assert_int_equal(cl_days_from_civil(2026, 1, 1), 20454);
	assert_int_equal(cl_days_from_civil(2026, 3, 29), 20541);
	assert_int_equal(cl_days_from_civil(2100, 12, 31), 47846);
	assert_int_equal(cl_days_from_civil(1969, 12, 31), -1);
}

static void test_tz_days_civil_round_trip_1900_2100(void **state)
{
	int64_t first = cl_days_from_civil(1900, 1, 1);
	int64_t last = cl_days_from_civil(2100, 12, 31);
	int py = 1899, pm = 12, pd = 31;
	for (int64_t d = first; d <= last; d++) {
		int y, m, dd;
		cl_civil_from_days(d, &y, &m, &dd);
		assert_int_equal(cl_days_from_civil(y, m, dd), d);
		/* Each day follows the previous one on the calendar. */
		if (dd == pd + 1) {
			assert_int_equal(y, py);
			assert_int_equal(m, pm);
		} else {
			assert_int_equal(dd, 1);
			assert_true((m == pm + 1 && y == py) ||
			            (m == 1 && pm == 12 && y == py + 1));
			assert_true(pd >= 28);
		}
		py = y;
		pm = m;
		pd = dd;
	}
	assert_int_equal(py, 2100);
	assert_int_equal(pm, 12);
	assert_int_equal(pd, 31);
}

static void test_tz_days_leap_years(void **state)
{
	int y, m, d;
	cl_civil_from_days(cl_days_from_civil(2000, 2, 28) + 1, &y, &m, &d);
	assert_int_equal(m * 100 + d, 229); /* 2000 is a leap year */
	cl_civil_from_days(cl_days_from_civil(1900, 2, 28) + 1, &y, &m, &d);
	assert_int_equal(m * 100 + d, 301); /* 1900 is not */
	cl_civil_from_days(cl_days_from_civil(2100, 2, 28) + 1, &y, &m, &d);
	assert_int_equal(m * 100 + d, 301);
	cl_civil_from_days(cl_days_from_civil(2024, 2, 28) + 1, &y, &m, &d);
	assert_int_equal(m * 100 + d, 229);
}

static void test_tz_weekday_known_dates(void **state)
{
	assert_int_equal(cl_weekday(cl_days_from_civil(1970, 1, 1)), 3);   /* Thursday */
	assert_int_equal(cl_weekday(cl_days_from_civil(1900, 1, 1)), 0);   /* Monday */
	assert_int_equal(cl_weekday(cl_days_from_civil(2000, 1, 1)), 5);   /* Saturday */
	assert_int_equal(cl_weekday(cl_days_from_civil(2024, 2, 29)), 3);  /* Thursday */
	assert_int_equal(cl_weekday(cl_days_from_civil(2026, 1, 5)), 0);   /* Monday */
	assert_int_equal(cl_weekday(cl_days_from_civil(2026, 3, 29)), 6);  /* Sunday */
	assert_int_equal(cl_weekday(cl_days_from_civil(2026, 10, 25)), 6); /* Sunday */
	assert_int_equal(cl_weekday(cl_days_from_civil(2026, 12, 24)), 3); /* Thursday */
	assert_int_equal(cl_weekday(-1), 2);                               /* Wednesday */
	assert_int_equal(cl_weekday(-7), 3);
}

static void test_tz_offset_around_2026_changes(void **state)
{
	int64_t spring = utc(2026, 3, 29, 1, 0, 0);
	int64_t autumn = utc(2026, 10, 25, 1, 0, 0);
	assert_int_equal(cl_tz_cph_offset_s(spring - 1), 3600);
	assert_int_equal(cl_tz_cph_offset_s(spring), 7200);
	assert_int_equal(cl_tz_cph_offset_s(autumn - 1), 7200);
	assert_int_equal(cl_tz_cph_offset_s(autumn), 3600);
	assert_int_equal(cl_tz_cph_offset_s(utc(2026, 1, 1, 0, 0, 0)), 3600);
	assert_int_equal(cl_tz_cph_offset_s(utc(2026, 7, 1, 12, 0, 0)), 7200);
	assert_int_equal(cl_tz_cph_offset_s(utc(2026, 12, 31, 23, 59, 59)), 3600);
}

static void test_tz_offset_around_2025_and_2027_changes(void **state)
{
	static const int64_t changes[][4] = {
	    {2025, 3, 30, 7200},
	    {2025, 10, 26, 3600},
	    {2027, 3, 28, 7200},
	    {2027, 10, 31, 3600},
	};
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		int64_t at =
		    utc((int)changes[i][0], (int)changes[i][1], (int)changes[i][2], 1, 0, 0);
		assert_int_equal(cl_tz_cph_offset_s(at), changes[i][3]);
		assert_int_equal(cl_tz_cph_offset_s(at - 1), 10800 - changes[i][3]);
		/* The week before the last Sunday is not the change. */
		assert_int_equal(cl_tz_cph_offset_s(at - 7 * DAY_MS), 10800 - changes[i][3]);
	}
}

static void test_tz_from_utc_across_changes(void **state)
{
	struct cl_civil c;
	cl_tz_cph_from_utc(utc(2026, 3, 29, 0, 59, 59), &c);
	assert_int_equal(c.hour * 10000 + c.minute * 100 + c.second, 15959);
	cl_tz_cph_from_utc(utc(2026, 3, 29, 1, 0, 0), &c);
	assert_int_equal(c.hour * 10000 + c.minute * 100 + c.second, 30000);
	cl_tz_cph_from_utc(utc(2026, 10, 25, 0, 59, 59), &c);
	assert_int_equal(c.hour * 10000 + c.minute * 100 + c.second, 25959);
	cl_tz_cph_from_utc(utc(2026, 10, 25, 1, 0, 0), &c);
	assert_int_equal(c.hour * 10000 + c.minute * 100 + c.second, 20000);
	assert_int_equal(c.year * 10000 + c.month * 100 + c.day, 20261025);

	/* New Year's Eve 23:30 UTC is already next year in Copenhagen. */
	cl_tz_cph_from_utc(utc(2026, 12, 31, 23, 30, 0), &c);
	assert_int_equal(c.year * 10000 + c.month * 100 + c.day, 20270101);
	assert_int_equal(c.hour * 100 + c.minute, 30);
	/* Before the epoch. */
	cl_tz_cph_from_utc(-1000, &c);
	assert_int_equal(c.year * 10000 + c.month * 100 + c.day, 19700101);
	assert_int_equal(c.hour * 10000 + c.minute * 100 + c.second, 5959);
}

static void test_tz_to_utc_plain_times(void **state)
{
	assert_int_equal(cph(2026, 12, 24, 22, 0), utc(2026, 12, 24, 21, 0, 0));
	assert_int_equal(cph(2026, 7, 1, 12, 0), utc(2026, 7, 1, 10, 0, 0));
	assert_int_equal(cph(2027, 1, 1, 0, 30), utc(2026, 12, 31, 23, 30, 0));
	assert_int_equal(cph(2026, 3, 29, 1, 59), utc(2026, 3, 29, 0, 59, 0));
	assert_int_equal(cph(2026, 3, 29, 3, 0), utc(2026, 3, 29, 1, 0, 0));
	assert_int_equal(cph(2026, 10, 25, 1, 59), utc(2026, 10, 24, 23, 59, 0));
	assert_int_equal(cph(2026, 10, 25, 3, 0), utc(2026, 10, 25, 2, 0, 0));
}

static void test_tz_to_utc_nonexistent_moves_forward(void **state)
{
	/* 02:30 does not exist on 2026-03-29: it becomes 03:30 CEST = 01:30 UTC. */
	assert_int_equal(cph(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 30, 0));
	assert_int_equal(cph(2026, 3, 29, 2, 0), utc(2026, 3, 29, 1, 0, 0));
	assert_int_equal(cph(2026, 3, 29, 2, 59), utc(2026, 3, 29, 1, 59, 0));
	assert_int_equal(cph(2025, 3, 30, 2, 30), utc(2025, 3, 30, 1, 30, 0));
	assert_int_equal(cph(2027, 3, 28, 2, 30), utc(2027, 3, 28, 1, 30, 0));
	struct cl_civil c;
	cl_tz_cph_from_utc(cph(2026, 3, 29, 2, 30), &c);
	assert_int_equal(c.hour * 100 + c.minute, 330);
}

static void test_tz_to_utc_ambiguous_is_first_occurrence(void **state)
{
	/* 02:30 happens twice on 2026-10-25: 00:30 UTC (CEST) and 01:30 UTC (CET). */
	assert_int_equal(cph(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30, 0));
	assert_int_equal(cph(2026, 10, 25, 2, 0), utc(2026, 10, 25, 0, 0, 0));
	assert_int_equal(cph(2026, 10, 25, 2, 59), utc(2026, 10, 25, 0, 59, 0));
	assert_int_equal(cph(2025, 10, 26, 2, 30), utc(2025, 10, 26, 0, 30, 0));
	assert_int_equal(cph(2027, 10, 31, 2, 30), utc(2027, 10, 31, 0, 30, 0));
}

static void test_tz_from_to_round_trip_every_quarter_hour(void **state)
{
	/* to_utc(from_utc(t)) == t, except the second pass through the
	 * repeated October hour, which maps back to the first. */
	int repeated = 0;
	for (int64_t t = utc(2024, 1, 1, 0, 0, 0); t < utc(2029, 1, 1, 0, 0, 0); t += HOUR_MS / 4) {
		struct cl_civil c;
		cl_tz_cph_from_utc(t, &c);
		int64_t back = cl_tz_cph_to_utc(&c);
		if (back != t) {
			assert_int_equal(back, t - HOUR_MS);
			assert_int_equal(cl_tz_cph_offset_s(t), 3600);
			assert_int_equal(c.month, 10);
			assert_int_equal(c.hour, 2);
			repeated++;
		}
	}
	assert_int_equal(repeated, 5 * 4); /* 4 quarter hours in each of 5 years */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tz_days_known_dates),
	    cmocka_unit_test(test_tz_days_civil_round_trip_1900_2100),
	    cmocka_unit_test(test_tz_days_leap_years),
	    cmocka_unit_test(test_tz_weekday_known_dates),
	    cmocka_unit_test(test_tz_offset_around_2026_changes),
	    cmocka_unit_test(test_tz_offset_around_2025_and_2027_changes),
	    cmocka_unit_test(test_tz_from_utc_across_changes),
	    cmocka_unit_test(test_tz_to_utc_plain_times),
	    cmocka_unit_test(test_tz_to_utc_nonexistent_moves_forward),
	    cmocka_unit_test(test_tz_to_utc_ambiguous_is_first_occurrence),
	    cmocka_unit_test(test_tz_from_to_round_trip_every_quarter_hour),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
