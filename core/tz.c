/*
 * core/tz.c owns civil-date arithmetic and Europe/Copenhagen wall-clock time,
 * computed from the EU summer-time rule alone: no TZ variable, no localtime(),
 * no tzdata. Pure functions; called by clock.c (parsing local times) and
 * roster.c (handoffs). Day counting follows Howard Hinnant's date algorithms.
 */
#include "careline/tz.h"

#define MS_PER_S    INT64_C(1000)
#define MS_PER_HOUR INT64_C(3600000)
#define MS_PER_DAY  INT64_C(86400000)

/* Floor division and its remainder for a positive divisor. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

int64_t cl_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;                         /* [0, 399] */
	int64_t mp = (month + 9) % 12;                       /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + day - 1;          /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void cl_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;                                      /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                      /* [0, 11] */
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);           /* [1, 31] */
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);              /* [1, 12] */
	*year = (int)(y + (m <= 2));
	*month = m;
	*day = d;
}

int cl_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (3 when Monday is 0). */
	return (int)floor_mod(days + 3, 7);
}

/* The last Sunday of month in year, as days since the epoch. */
static int64_t last_sunday(int year, int month)
{
	int next_year = month == 12 ? year + 1 : year;
	int next_month = month == 12 ? 1 : month + 1;
	int64_t last = cl_days_from_civil(next_year, next_month, 1) - 1;
	return last - (cl_weekday(last) + 1) % 7;
}

int cl_tz_cph_offset_s(int64_t utc_ms)
{
	int year, month, day;
	cl_civil_from_days(floor_div(utc_ms, MS_PER_DAY), &year, &month, &day);
	/* Both changes happen at 01:00 UTC, far from the turn of the year, so
	 * the UTC year is the year whose rule applies. */
	int64_t start = last_sunday(year, 3) * MS_PER_DAY + MS_PER_HOUR;
	int64_t end = last_sunday(year, 10) * MS_PER_DAY + MS_PER_HOUR;
	return utc_ms >= start && utc_ms < end ? 7200 : 3600;
}

void cl_tz_cph_from_utc(int64_t utc_ms, struct cl_civil *out)
{
	int64_t local = utc_ms + cl_tz_cph_offset_s(utc_ms) * MS_PER_S;
	int64_t days = floor_div(local, MS_PER_DAY);
	int64_t secs = floor_mod(local, MS_PER_DAY) / MS_PER_S;
	cl_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(secs / 3600);
	out->minute = (int)(secs / 60 % 60);
	out->second = (int)(secs % 60);
}

int64_t cl_tz_cph_to_utc(const struct cl_civil *local)
{
	int64_t wall =
	    cl_days_from_civil(local->year, local->month, local->day) * MS_PER_DAY +
	    ((int64_t)local->hour * 3600 + (int64_t)local->minute * 60 + local->second) * MS_PER_S;
	/* Read as summer time first: when that reading is consistent the wall
	 * time is either a plain summer time or the first occurrence of the
	 * repeated October hour. Otherwise read it as winter time; for the
	 * skipped March hour that is the instant one gap later on the wall
	 * clock (02:30 CET = 01:30 UTC = 03:30 CEST). */
	int64_t summer = wall - 2 * MS_PER_HOUR;
	if (cl_tz_cph_offset_s(summer) == 7200)
		return summer;
	return wall - MS_PER_HOUR;
}
