/*
 * tests/unit/clock_test.c: core/clock.c: the fake and system clocks, RFC 3339
 * formatting, and parsing of RFC 3339 instants and Copenhagen wall-clock
 * times, including the strings it must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "careline/clock.h"
#include "careline/tz.h"

#define DAY_MS INT64_C(86400000)

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return cl_days_from_civil(y, mo, d) * DAY_MS +
	       ((int64_t)h * 3600 + (int64_t)mi * 60 + s) * INT64_C(1000);
}

static int64_t parse_ok(const char *s)
{
	int64_t at = -42;
	if (cl_time_parse(s, &at) != 0)
		fail_msg("cl_time_parse rejected \"%s\"", s);
	return at;
}

static void test_clock_fake_advance_and_set(void **state)
{
	struct cl_clock clock;
	cl_clock_fake_init(&clock, 1000);
	assert_int_equal(cl_clock_now(&clock), 1000);
	cl_clock_advance(&clock, 3600000);
	assert_int_equal(cl_clock_now(&clock), 3601000);
	cl_clock_advance(&clock, -1000);
	assert_int_equal(cl_clock_now(&clock), 3600000);
	cl_clock_set(&clock, utc(2026, 11, 23, 6, 2, 17));
	assert_int_equal(cl_clock_now(&clock), utc(2026, 11, 23, 6, 2, 17));
}

static void test_clock_system_and_monotonic_move_forward(void **state)
{
	int64_t now = cl_clock_now(&cl_clock_system);
	assert_true(now > utc(2024, 1, 1, 0, 0, 0));
	assert_true(now < utc(2200, 1, 1, 0, 0, 0));
	int64_t a = cl_monotonic_ms();
	int64_t b = cl_monotonic_ms();
	assert_true(b >= a);
	assert_true(cl_clock_now(&cl_clock_system) >= now);
}

static void test_clock_format_rfc3339_utc(void **state)
{
	char buf[32];
	cl_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	cl_time_format(utc(2026, 11, 23, 6, 2, 17), buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T06:02:17Z");
	cl_time_format(utc(2026, 11, 23, 6, 2, 17) + 999, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T06:02:17Z"); /* milliseconds are dropped */
	cl_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	cl_time_format(utc(2024, 2, 29, 23, 59, 59), buf, 21); /* exactly enough */
	assert_string_equal(buf, "2024-02-29T23:59:59Z");
	cl_time_format(0, buf, 5); /* too small: truncated, still terminated */
	assert_string_equal(buf, "1970");
}

static void test_clock_parse_utc_and_offsets(void **state)
{
	int64_t at = utc(2026, 11, 23, 6, 2, 17);
	assert_int_equal(parse_ok("2026-11-23T06:02:17Z"), at);
	assert_int_equal(parse_ok("2026-11-23t06:02:17z"), at);
	assert_int_equal(parse_ok("2026-11-23 06:02:17Z"), at);
	assert_int_equal(parse_ok("2026-11-23T07:02:17+01:00"), at);
	assert_int_equal(parse_ok("2026-11-23T08:02:17+02:00"), at);
	assert_int_equal(parse_ok("2026-11-23T00:32:17-05:30"), at);
	assert_int_equal(parse_ok("2026-11-23T06:02:17+00:00"), at);
	assert_int_equal(parse_ok("2026-11-23T06:02:17-00:00"), at);
	assert_int_equal(parse_ok("2026-11-24T00:02:17+18:00"), at);
	assert_int_equal(parse_ok("2026-11-23T06:02Z"), at - 17000);
	/* The offset may carry the date across midnight and the year. */
	assert_int_equal(parse_ok("2027-01-01T00:30:00+01:00"), utc(2026, 12, 31, 23, 30, 0));
}

static void test_clock_parse_fractional_seconds(void **state)
{
	int64_t at = utc(2026, 11, 23, 6, 2, 17);
	assert_int_equal(parse_ok("2026-11-23T06:02:17.5Z"), at + 500);
	assert_int_equal(parse_ok("2026-11-23T06:02:17.05Z"), at + 50);
	assert_int_equal(parse_ok("2026-11-23T06:02:17.123Z"), at + 123);
	assert_int_equal(parse_ok("2026-11-23T06:02:17.123999999Z"), at + 123);
	assert_int_equal(parse_ok("2026-11-23T07:02:17.250+01:00"), at + 250);
	assert_int_equal(parse_ok("2026-11-23 07:02:17.250"), at + 250); /* CET */
}

static void test_clock_format_parse_round_trip(void **state)
{
	char buf[32];
	/* Odd steps so every field takes many values; 1900 to 2100. */
	for (int64_t t = utc(1900, 1, 1, 0, 0, 0); t < utc(2100, 12, 31, 0, 0, 0);
	     t += INT64_C(86399) * 1000 * 7 + 13777) {
		cl_time_format(t, buf, sizeof(buf));
		int64_t back = parse_ok(buf);
		int64_t secs = t - ((t % 1000) + 1000) % 1000;
		assert_int_equal(back, secs);
	}
}

static void test_clock_parse_copenhagen_wall_time(void **state)
{
	assert_int_equal(parse_ok("2026-12-24 22:00"), utc(2026, 12, 24, 21, 0, 0));
	assert_int_equal(parse_ok("2026-12-24T22:00"), utc(2026, 12, 24, 21, 0, 0));
	assert_int_equal(parse_ok("2026-12-24 22:00:30"), utc(2026, 12, 24, 21, 0, 30));
	assert_int_equal(parse_ok("2026-12-24T22:00:30"), utc(2026, 12, 24, 21, 0, 30));
	assert_int_equal(parse_ok("2026-07-01 12:00"), utc(2026, 7, 1, 10, 0, 0));
	assert_int_equal(parse_ok("2027-01-01 00:30"), utc(2026, 12, 31, 23, 30, 0));
	/* The skipped March hour moves forward, the repeated October hour is
	 * its first occurrence. */
	assert_int_equal(parse_ok("2026-03-29 02:30"), utc(2026, 3, 29, 1, 30, 0));
	assert_int_equal(parse_ok("2026-10-25 02:30"), utc(2026, 10, 25, 0, 30, 0));
	assert_int_equal(parse_ok("2026-10-25 03:00"), utc(2026, 10, 25, 2, 0, 0));
	assert_int_equal(parse_ok("2024-02-29 12:00"), utc(2024, 2, 29, 11, 0, 0));
}

static void test_clock_parse_rejects_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "abc",
	    "2026-13-01 10:00",
	    "2026-13-01",
	    "2026-12-24",
	    "2026-00-10 10:00",
	    "2026-01-00 10:00",
	    "2026-01-32 10:00",
	    "2026-04-31 10:00",
	    "2026-02-29 10:00", /* not a leap year */
	    "2100-02-29 10:00",
	    "2026-01-01T24:00Z",
	    "2026-01-01T10:60Z",
	    "2026-01-01T10:00:60Z",
	    "2026-01-01T10:00:61Z",
	    "2026-1-01 10:00",
	    "26-01-01 10:00",
	    "2026-01-01 1:00",
	    "2026-01-01 10",
	    "2026-01-01 10:",
	    "2026-01-01 10:00:",
	    "2026-01-01 10:00:5",
	    "2026/01/01 10:00",
	    "2026-01-01X10:00",
	    " 2026-01-01 10:00",
	    "2026-01-01 10:00 ",
	    "2026-01-01  10:00",
	    "2026-01-01T10:00:00.Z",
	    "2026-01-01T10:00:00.",
	    "2026-01-01T10:00:00ZZ",
	    "2026-01-01T10:00:00+1:00",
	    "2026-01-01T10:00:00+0100",
	    "2026-01-01T10:00:00+01",
	    "2026-01-01T10:00:00+24:00",
	    "2026-01-01T10:00:00+01:60",
	    "2026-01-01T10:00:00+01:00x",
	    "2026-01-01T10:00:00 Z",
	    "2026-01-01T10:00:00UTC",
	    "+2026-01-01T10:00:00Z",
	    "2026-01-01T10:00:00\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t at = 12345;
		if (cl_time_parse(bad[i], &at) != -1)
			fail_msg("cl_time_parse accepted \"%s\"", bad[i]);
		assert_int_equal(at, 12345); /* untouched on failure */
	}
	int64_t at;
	assert_int_equal(cl_time_parse(NULL, &at), -1);
	assert_int_equal(cl_time_parse("2026-01-01T10:00:00Z", NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clock_fake_advance_and_set),
	    cmocka_unit_test(test_clock_system_and_monotonic_move_forward),
	    cmocka_unit_test(test_clock_format_rfc3339_utc),
	    cmocka_unit_test(test_clock_parse_utc_and_offsets),
	    cmocka_unit_test(test_clock_parse_fractional_seconds),
	    cmocka_unit_test(test_clock_format_parse_round_trip),
	    cmocka_unit_test(test_clock_parse_copenhagen_wall_time),
	    cmocka_unit_test(test_clock_parse_rejects_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
