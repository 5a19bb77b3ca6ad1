/*
 * core/calendar.c owns Danish closing days and weekly service hours in
 * Europe/Copenhagen wall-clock time (include/careline/calendar.h). Pure: no
 * clock, no I/O, no allocation; all time-zone arithmetic is tz.c's. Called by
 * config.c (parsing hours), routing (deferral) and roster.c (restrictions).
 */
#include "careline/calendar.h"

#include <string.h>

#include "careline/fold.h"
#include "careline/tz.h"

#define MIN_PER_DAY 1440
#define MS_PER_MIN  INT64_C(60000)
#define MS_PER_HOUR INT64_C(3600000)
#define ALL_DAYS    0x7f
/* How far ahead next_open and next_close look: a year and a few days. */
#define SCAN_DAYS    370
#define DAY_NAME_MAX 16

/* ---- closing days ------------------------------------------------------- */

/* The anonymous Gregorian algorithm (Meeus/Jones/Butcher), for years >= 1583. */
int64_t cl_easter_sunday(int year)
{
	int a = year % 19;
	int b = year / 100;
	int c = year % 100;
	int d = b / 4;
	int e = b % 4;
	int f = (b + 8) / 25;
	int g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4;
	int k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int day = (h + l - 7 * m + 114) % 31 + 1;
	return cl_days_from_civil(year, month, day);
}

/* Statutory days that move with Easter, as offsets from Easter Sunday. */
static const struct {
	int offset;
	const char *name;
} easter_days[] = {
    {-3, "skærtorsdag"},           {-2, "langfredag"}, {0, "påskedag"},     {1, "2. påskedag"},
    {39, "Kristi himmelfartsdag"}, {49, "pinsedag"},   {50, "2. pinsedag"},
};

static const char *statutory_name(int64_t day, int month, int mday, int year)
{
	if (month == 1 && mday == 1)
		return "nytårsdag";
	if (month == 12 && mday == 25)
		return "juledag";
	if (month == 12 && mday == 26)
		return "2. juledag";
	/* Easter-based days fall between 19 March and 14 June. */
	if (month < 3 || month > 6)
		return NULL;
	int64_t offset = day - cl_easter_sunday(year);
	for (size_t i = 0; i < sizeof(easter_days) / sizeof(easter_days[0]); i++)
		if (offset == easter_days[i].offset)
			return easter_days[i].name;
	return NULL;
}

static bool extra_contains(const struct cl_holidays *h, int64_t day)
{
	size_t lo = 0, hi = h->extra ? h->n_extra : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->extra[mid] == day)
			return true;
		if (h->extra[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* h NULL means the statutory days only. *name is NULL on an ordinary day; a
 * day that is both statutory and optional (2. pinsedag on grundlovsdag) gets
 * the statutory name. */
bool cl_holiday_is(const struct cl_holidays *h, int64_t day, const char **name)
{
	int year, month, mday;
	cl_civil_from_days(day, &year, &month, &mday);
	const char *n = statutory_name(day, month, mday, year);
	if (!n && h) {
		if (h->grundlovsdag && month == 6 && mday == 5)
			n = "grundlovsdag";
		else if (h->christmas_eve && month == 12 && mday == 24)
			n = "juleaftensdag";
		else if (h->new_years_eve && month == 12 && mday == 31)
			n = "nytårsaftensdag";
		else if (extra_contains(h, day))
			n = "ekstra lukkedag";
	}
	if (name)
		*name = n;
	return n != NULL;
}

/* ---- parsing hours ------------------------------------------------------ */

/* Day names after cl_fold (ø → oe), Monday first. */
static const char *const day_names[7][4] = {
    {"mon", "man", "monday", "mandag"},    {"tue", "tir", "tuesday", "tirsdag"},
    {"wed", "ons", "wednesday", "onsdag"}, {"thu", "tor", "thursday", "torsdag"},
    {"fri", "fre", "friday", "fredag"},    {"sat", "loer", "saturday", "loerdag"},
    {"sun", "soen", "sunday", "soendag"},
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ASCII letters and any non-ASCII byte (UTF-8 æøå): the bytes of a day name. */
static bool is_name_byte(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80;
}

static void skip_space(const char **p)
{
	while (is_space(**p))
		(*p)++;
}

/* A day name at *p: 0 = Monday .. 6 = Sunday, or -1. */
static int parse_day(const char **p)
{
	char raw[DAY_NAME_MAX + 1], folded[2 * DAY_NAME_MAX + 1];
	size_t len = 0;
	while (is_name_byte((*p)[len])) {
		if (len == DAY_NAME_MAX)
			return -1;
		raw[len] = (*p)[len];
		len++;
	}
	if (len == 0)
		return -1;
	raw[len] = '\0';
	cl_fold(raw, folded, sizeof(folded));
	for (int d = 0; d < 7; d++)
		for (size_t i = 0; i < sizeof(day_names[d]) / sizeof(day_names[d][0]); i++)
			if (strcmp(folded, day_names[d][i]) == 0) {
				*p += len;
				return d;
			}
	return -1;
}

/* days := item ("," item)*; item := day ("-" day)?, a range wrapping past
 * Sunday ("fri-mon"). Spaces are allowed around "-" and ",". */
static bool parse_days(const char **p, uint8_t *mask)
{
	const char *q = *p;
	*mask = 0;
	for (;;) {
		int first = parse_day(&q);
		if (first < 0)
			return false;
		int last = first;
		const char *r = q;
		skip_space(&r);
		if (*r == '-') {
			r++;
			skip_space(&r);
			last = parse_day(&r);
			if (last < 0)
				return false;
			q = r;
		}
		for (int d = first;; d = (d + 1) % 7) {
			*mask |= (uint8_t)(1u << d);
			if (d == last)
				break;
		}
		r = q;
		skip_space(&r);
		if (*r != ',')
			break;
		r++;
		skip_space(&r);
		q = r;
	}
	*p = q;
	return true;
}

/* H:MM or HH:MM ("." also separates), 00:00..23:59; 24:00 only as an end. */
static bool parse_time(const char **p, bool is_end, int *minutes)
{
	const char *q = *p;
	if (!is_digit(*q))
		return false;
	int hour = *q++ - '0';
	if (is_digit(*q))
		hour = hour * 10 + (*q++ - '0');
	if (*q != ':' && *q != '.')
		return false;
	q++;
	if (!is_digit(q[0]) || !is_digit(q[1]) || is_digit(q[2]))
		return false;
	int minute = (q[0] - '0') * 10 + (q[1] - '0');
	q += 2;
	if (minute > 59 || hour > 24 || (hour == 24 && (minute != 0 || !is_end)))
		return false;
	*minutes = hour * 60 + minute;
	*p = q;
	return true;
}

/* hours := "24/7" | window (("," | ";") window)*
 * window := [days space+] time "-" time
 * A window without days takes the days of the one before it ("mon-fri
 * 08:00-12:00, 13:00-16:00"), or every day when it is the first. "24/7" is
 * open on holidays too, so it alone leaves skip_holidays unset. */
enum cl_err cl_hours_parse(const char *s, struct cl_hours *out)
{
	struct cl_hours h;
	memset(&h, 0, sizeof(h));
	if (!s || !out)
		return CL_ERR_INVALID;
	const char *p = s;
	skip_space(&p);
	if (strncmp(p, "24/7", 4) == 0) {
		p += 4;
		skip_space(&p);
		if (*p != '\0')
			return CL_ERR_INVALID;
		h.w[0] =
		    (struct cl_window){.days = ALL_DAYS, .start_min = 0, .end_min = MIN_PER_DAY};
		h.n = 1;
		*out = h;
		return CL_OK;
	}
	h.skip_holidays = true;
	uint8_t days = ALL_DAYS;
	for (;;) {
		if (is_name_byte(*p)) {
			if (!parse_days(&p, &days) || !is_space(*p))
				return CL_ERR_INVALID;
			skip_space(&p);
		}
		struct cl_window w = {.days = days};
		if (!parse_time(&p, false, &w.start_min))
			return CL_ERR_INVALID;
		skip_space(&p);
		if (*p++ != '-')
			return CL_ERR_INVALID;
		skip_space(&p);
		if (!parse_time(&p, true, &w.end_min))
			return CL_ERR_INVALID;
		if (h.n == CL_HOURS_MAX_WINDOWS)
			return CL_ERR_INVALID;
		h.w[h.n++] = w;
		skip_space(&p);
		if (*p == '\0')
			break;
		if (*p != ',' && *p != ';')
			return CL_ERR_INVALID;
		p++;
		skip_space(&p);
	}
	*out = h;
	return CL_OK;
}

/* ---- open or closed ----------------------------------------------------- */

/* The instant of local date `day` plus `minutes` (may exceed a day). A time
 * the clocks skip moves forward by the gap; a repeated one is its first
 * occurrence, or its last when `last`. */
static int64_t wall_to_utc(int64_t day, int minutes, bool last)
{
	struct cl_civil c = {0};
	day += minutes / MIN_PER_DAY;
	minutes %= MIN_PER_DAY;
	cl_civil_from_days(day, &c.year, &c.month, &c.day);
	c.hour = minutes / 60;
	c.minute = minutes % 60;
	int64_t t = cl_tz_cph_to_utc(&c);
	if (last) {
		struct cl_civil later;
		cl_tz_cph_from_utc(t + MS_PER_HOUR, &later);
		if (later.year == c.year && later.month == c.month && later.day == c.day &&
		    later.hour == c.hour && later.minute == c.minute)
			return t + MS_PER_HOUR;
	}
	return t;
}

static int64_t local_day(int64_t utc_ms)
{
	struct cl_civil c;
	cl_tz_cph_from_utc(utc_ms, &c);
	return cl_days_from_civil(c.year, c.month, c.day);
}

static bool window_valid(const struct cl_window *w)
{
	return (w->days & ALL_DAYS) != 0 && w->start_min >= 0 && w->start_min < MIN_PER_DAY &&
	       w->end_min >= 0 && w->end_min <= MIN_PER_DAY;
}

/* Do windows starting on local date `day` open at all? */
static bool day_opens(const struct cl_hours *h, const struct cl_holidays *hol, int64_t day)
{
	return !(h->skip_holidays && hol && cl_holiday_is(hol, day, NULL));
}

/* The instants [*start, *end) of window w started on local date `day`, if it
 * runs on that weekday. The start is its first occurrence, the end its last
 * (so the repeated October hour is inside a window that spans it). A window
 * the skipped March hour would swallow whole ("sun 02:30-03:30") moves
 * forward by the gap as a whole instead of vanishing. */
static bool window_span(const struct cl_window *w, int64_t day, int64_t *start, int64_t *end)
{
	if (!window_valid(w) || !(w->days & (1u << cl_weekday(day))))
		return false;
	int len = w->end_min > w->start_min ? w->end_min - w->start_min
	                                    : w->end_min + MIN_PER_DAY - w->start_min;
	*start = wall_to_utc(day, w->start_min, false);
	*end = wall_to_utc(day, w->start_min + len, true);
	if (*end <= *start)
		*end = *start + len * MS_PER_MIN;
	return true;
}

static size_t window_count(const struct cl_hours *h)
{
	return h->n < CL_HOURS_MAX_WINDOWS ? h->n : CL_HOURS_MAX_WINDOWS;
}

bool cl_hours_open_at(const struct cl_hours *h, const struct cl_holidays *hol, int64_t utc_ms)
{
	/* A window lasts at most a day, so only windows started yesterday or
	 * today (local dates) can contain utc_ms. */
	int64_t today = local_day(utc_ms);
	for (int64_t day = today - 1; day <= today; day++) {
		if (!day_opens(h, hol, day))
			continue;
		for (size_t i = 0; i < window_count(h); i++) {
			int64_t start, end;
			if (window_span(&h->w[i], day, &start, &end) && start <= utc_ms &&
			    utc_ms < end)
				return true;
		}
	}
	return false;
}

int64_t cl_hours_next_open(const struct cl_hours *h, const struct cl_holidays *hol, int64_t utc_ms)
{
	if (cl_hours_open_at(h, hol, utc_ms))
		return utc_ms;
	/* Windows started on a later date start later, so the first date with
	 * a window starting after utc_ms holds the answer. */
	int64_t today = local_day(utc_ms);
	for (int64_t day = today; day <= today + SCAN_DAYS; day++) {
		if (!day_opens(h, hol, day))
			continue;
		int64_t best = INT64_MAX;
		for (size_t i = 0; i < window_count(h); i++) {
			int64_t start, end;
			if (window_span(&h->w[i], day, &start, &end) && start >= utc_ms &&
			    start < best)
				best = start;
		}
		if (best != INT64_MAX)
			return best;
	}
	return 0;
}

/* Extends the open period past utc_ms while windows touch or overlap its end.
 * 0 also when it does not end within SCAN_DAYS ("24/7"). */
int64_t cl_hours_next_close(const struct cl_hours *h, const struct cl_holidays *hol, int64_t utc_ms)
{
	if (!cl_hours_open_at(h, hol, utc_ms))
		return 0;
	int64_t today = local_day(utc_ms);
	int64_t end_of_period = utc_ms;
	for (int64_t day = today - 1; day <= today + SCAN_DAYS; day++) {
		/* Windows started on `day` or later start at its midnight or
		 * after: past the end, nothing can extend the period. */
		if (day > today && wall_to_utc(day, 0, false) > end_of_period)
			return end_of_period;
		if (!day_opens(h, hol, day))
			continue;
		bool extended;
		do {
			extended = false;
			for (size_t i = 0; i < window_count(h); i++) {
				int64_t start, end;
				if (window_span(&h->w[i], day, &start, &end) &&
				    start <= end_of_period && end > end_of_period) {
					end_of_period = end;
					extended = true;
				}
			}
		} while (extended);
	}
	return 0;
}
