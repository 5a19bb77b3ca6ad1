/*
 * include/careline/calendar.h: Danish public holidays and weekly opening
 * hours in Europe/Copenhagen wall-clock time. Pure functions over civil dates
 * (days since 1970-01-01, see tz.h); no clock, no I/O. Teams use it for
 * service hours ("mon-fri 08:00-16:00", closed on holidays), rosters for
 * layer restrictions.
 */
#ifndef CARELINE_CALENDAR_H
#define CARELINE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

/* Which closing days apply. The statutory ones (1 Jan, skærtorsdag,
 * langfredag, påskedag, 2. påskedag, Kristi himmelfartsdag, pinsedag,
 * 2. pinsedag, 25 and 26 Dec) always do; Store bededag is not a holiday
 * since 2024. */
struct cl_holidays {
	bool grundlovsdag;  /* 5 June */
	bool christmas_eve; /* 24 Dec */
	bool new_years_eve; /* 31 Dec */
	int64_t *extra;     /* further closed days (days since epoch), sorted */
	size_t n_extra;
};

/* Easter Sunday of year (Gregorian), as days since epoch. */
int64_t cl_easter_sunday(int year);
/* Is the local date `day` a closing day? *name (if non-NULL) gets a static
 * Danish name ("langfredag", "ekstra lukkedag"). */
bool cl_holiday_is(const struct cl_holidays *h, int64_t day, const char **name);

/* A weekly window: on the days in `days` (bit 0 = Monday .. bit 6 = Sunday)
 * from start_min to end_min minutes after local midnight. end_min <= start_min
 * means the window runs past midnight into the next day ("mon-fri
 * 16:00-08:00"); "00:00-24:00" is a whole day. */
struct cl_window {
	uint8_t days;
	int start_min;
	int end_min;
};

#define CL_HOURS_MAX_WINDOWS 14

struct cl_hours {
	struct cl_window w[CL_HOURS_MAX_WINDOWS];
	size_t n;
	bool skip_holidays; /* a window starting on a closing day does not open */
};

/* Parse "mon-fri 08:00-16:00, sat 10:00-14:00" (English or Danish day
 * names: mon/man, tue/tir, wed/ons, thu/tor, fri/fre, sat/lør, sun/søn;
 * ranges and lists "mon,wed,fri"; "24/7" = always). skip_holidays is set.
 * CL_ERR_INVALID on anything else. */
enum cl_err cl_hours_parse(const char *s, struct cl_hours *out);
/* Is utc_ms inside a window (whose start day is not a holiday, when
 * skip_holidays)? hol may be NULL (no holidays). */
bool cl_hours_open_at(const struct cl_hours *h, const struct cl_holidays *hol, int64_t utc_ms);
/* The first instant >= utc_ms at which the hours are open: utc_ms itself when
 * open now, else the start of the next window that opens (holidays skipped).
 * 0 if there is none within a year. */
int64_t cl_hours_next_open(const struct cl_hours *h, const struct cl_holidays *hol, int64_t utc_ms);
/* The first instant > utc_ms at which an open period ends (for "until"), or
 * 0 if closed now. */
int64_t cl_hours_next_close(const struct cl_hours *h, const struct cl_holidays *hol,
                            int64_t utc_ms);

#endif
