/*
 * include/careline/tz.h: civil dates and Europe/Copenhagen wall-clock time.
 * Denmark is CET (UTC+1) with EU summer time CEST (UTC+2) from the last Sunday
 * of March 01:00 UTC to the last Sunday of October 01:00 UTC. Implemented from
 * that rule, pure and independent of the process's TZ, so rosters and tests
 * give the same answer on every machine. Days are counted from 1970-01-01.
 */
#ifndef CARELINE_TZ_H
#define CARELINE_TZ_H

#include <stdint.h>

struct cl_civil {
	int year, month, day;     /* month 1..12, day 1..31 */
	int hour, minute, second; /* 0..23, 0..59, 0..59 */
};

/* Days since 1970-01-01 of a proleptic Gregorian date (may be negative). */
int64_t cl_days_from_civil(int year, int month, int day);
void cl_civil_from_days(int64_t days, int *year, int *month, int *day);
/* 0 = Monday .. 6 = Sunday. */
int cl_weekday(int64_t days);

/* UTC offset of Copenhagen at the instant utc_ms: 3600 or 7200 seconds. */
int cl_tz_cph_offset_s(int64_t utc_ms);
/* Copenhagen wall-clock time at utc_ms. */
void cl_tz_cph_from_utc(int64_t utc_ms, struct cl_civil *out);
/* The instant when Copenhagen clocks show local. An ambiguous time (the hour
 * repeated in October) gives its first occurrence; a time that does not exist
 * (the hour skipped in March) is moved forward by the gap (02:30 → 03:30). */
int64_t cl_tz_cph_to_utc(const struct cl_civil *local);

#endif
