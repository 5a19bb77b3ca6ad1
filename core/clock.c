/*
 * core/clock.c owns the system and fake clocks and the text form of instants
 * (RFC 3339 out, RFC 3339 or Copenhagen wall-clock time in). It is the only
 * place in core that reads the real time (cl_clock_system, cl_monotonic_ms);
 * everything else is handed a clock or a `now`. Wall-clock rules live in tz.c.
 */
#include "careline/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "careline/tz.h"

#define MS_PER_S   INT64_C(1000)
#define MS_PER_DAY INT64_C(86400000)

static int64_t timespec_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000;
}

static int64_t system_now(const struct cl_clock *clock)
{
	(void)clock;
	return timespec_ms(CLOCK_REALTIME);
}

const struct cl_clock cl_clock_system = {.now_ms = system_now, .fake_ms = 0};

static int64_t fake_now(const struct cl_clock *clock)
{
	return clock->fake_ms;
}

void cl_clock_fake_init(struct cl_clock *clock, int64_t start_ms)
{
	clock->now_ms = fake_now;
	clock->fake_ms = start_ms;
}

void cl_clock_advance(struct cl_clock *clock, int64_t delta_ms)
{
	clock->fake_ms += delta_ms;
}

void cl_clock_set(struct cl_clock *clock, int64_t at_ms)
{
	clock->fake_ms = at_ms;
}

int64_t cl_monotonic_ms(void)
{
	return timespec_ms(CLOCK_MONOTONIC);
}

void cl_time_format(int64_t at_ms, char *buf, unsigned long len)
{
	if (buf == NULL || len == 0)
		return;
	int64_t days = at_ms / MS_PER_DAY;
	int64_t ms = at_ms % MS_PER_DAY;
	if (ms < 0) {
		ms += MS_PER_DAY;
		days--;
	}
	int64_t secs = ms / MS_PER_S;
	int year, month, day;
	cl_civil_from_days(days, &year, &month, &day);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, (int)(secs / 3600),
	         (int)(secs / 60 % 60), (int)(secs % 60));
}

/*
 * Parsing. Accepted, with nothing before or after:
 *   YYYY-MM-DD(T|t| )HH:MM[:SS[.fff...]](Z|z|+HH:MM|-HH:MM)   an instant
 *   YYYY-MM-DD(T|t| )HH:MM[:SS[.fff...]]                     Copenhagen wall time
 * Fractions beyond milliseconds are truncated. Leap seconds (:60) are
 * rejected, as are days past the end of their month. A wall time in the
 * skipped March hour moves forward; one in the repeated October hour is its
 * first occurrence (cl_tz_cph_to_utc).
 */

/* n decimal digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int year, int month)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : len[month - 1];
}

int cl_time_parse(const char *s, int64_t *out_ms)
{
	if (s == NULL || out_ms == NULL)
		return -1;
	const char *p = s;
	struct cl_civil c = {0};
	if (!digits(&p, 4, &c.year) || !expect(&p, '-') || !digits(&p, 2, &c.month) ||
	    !expect(&p, '-') || !digits(&p, 2, &c.day))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (!digits(&p, 2, &c.hour) || !expect(&p, ':') || !digits(&p, 2, &c.minute))
		return -1;
	int ms = 0;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &c.second))
			return -1;
		if (*p == '.') {
			p++;
			if (*p < '0' || *p > '9')
				return -1;
			for (int scale = 100; *p >= '0' && *p <= '9'; p++, scale /= 10)
				ms += (*p - '0') * scale;
		}
	}
	if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > days_in_month(c.year, c.month) ||
	    c.hour > 23 || c.minute > 59 || c.second > 59)
		return -1;

	int64_t at;
	if (*p == '\0') {
		at = cl_tz_cph_to_utc(&c);
	} else {
		int offset_s = 0;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			int oh, om;
			p++;
			if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om) ||
			    oh > 23 || om > 59)
				return -1;
			offset_s = sign * (oh * 3600 + om * 60);
		} else {
			return -1;
		}
		if (*p != '\0')
			return -1;
		at = cl_days_from_civil(c.year, c.month, c.day) * MS_PER_DAY +
		     ((int64_t)c.hour * 3600 + c.minute * 60 + c.second - offset_s) * MS_PER_S;
	}
	*out_ms = at + ms;
	return 0;
}
