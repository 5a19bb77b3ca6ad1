/*
 * tests/unit/calendar_test.c: Danish closing days and service hours
 * (core/calendar.c): every line of tests/unit/files/calendar/dk-holidays.tsv,
 * Easter, the hours grammar, and open/next-open/next-close at awkward
 * instants: holidays, Easter and Christmas, both DST changes, past midnight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "careline/calendar.h"
#include "careline/fold.h"
#include "careline/tz.h"

#define FIXTURE "tests/unit/files/calendar/dk-holidays.tsv"

#define MIN_MS  INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)

static int64_t day_of(int y, int mo, int d)
{
	return cl_days_from_civil(y, mo, d);
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return day_of(y, mo, d) * DAY_MS + ((int64_t)h * 60 + mi) * MIN_MS;
}

/* Copenhagen wall-clock time (first occurrence; skipped times move forward). */
static int64_t cph(int y, int mo, int d, int h, int mi)
{
	struct cl_civil c = {.year = y, .month = mo, .day = d, .hour = h, .minute = mi};
	return cl_tz_cph_to_utc(&c);
}

/* Copenhagen wall-clock time on local date `day`. */
static int64_t at_day(int64_t day, int h, int mi)
{
	struct cl_civil c = {.hour = h, .minute = mi};
	cl_civil_from_days(day, &c.year, &c.month, &c.day);
	return cl_tz_cph_to_utc(&c);
}

static void show(const char *what, int64_t t)
{
	struct cl_civil c;
	cl_tz_cph_from_utc(t, &c);
	print_message("%s: %04d-%02d-%02d %02d:%02d:%02d Copenhagen (UTC+%d), %lld ms\n", what,
	              c.year, c.month, c.day, c.hour, c.minute, c.second,
	              cl_tz_cph_offset_s(t) / 3600, (long long)t);
}

/* Instants compared with a readable message. */
static void assert_instant(int64_t got, int64_t want)
{
	if (got != want) {
		show("got ", got);
		show("want", want);
	}
	assert_int_equal(got, want);
}

static struct cl_hours hours(const char *s)
{
	struct cl_hours h;
	enum cl_err err = cl_hours_parse(s, &h);
	if (err != CL_OK)
		print_message("cannot parse \"%s\"\n", s);
	assert_int_equal(err, CL_OK);
	return h;
}

static bool folded_equal(const char *a, const char *b)
{
	char fa[128], fb[128];
	cl_fold(a, fa, sizeof(fa));
	cl_fold(b, fb, sizeof(fb));
	return strcmp(fa, fb) == 0;
}

/* ---- closing days ------------------------------------------------------- */

static void test_calendar_easter_known_years(void **state)
{
	assert_int_equal(cl_easter_sunday(2024), day_of(2024, 3, 31));
	assert_int_equal(cl_easter_sunday(2025), day_of(2025, 4, 20));
	assert_int_equal(cl_easter_sunday(2026), day_of(2026, 4, 5));
	assert_int_equal(cl_easter_sunday(2027), day_of(2027, 3, 28));
	assert_int_equal(cl_easter_sunday(2038), day_of(2038, 4, 25));
	/* The earliest and latest possible dates, and century years. */
	assert_int_equal(cl_easter_sunday(1818), day_of(1818, 3, 22));
	assert_int_equal(cl_easter_sunday(2285), day_of(2285, 3, 22));
	assert_int_equal(cl_easter_sunday(1943), day_of(1943, 4, 25));
	assert_int_equal(cl_easter_sunday(2000), day_of(2000, 4, 23));
	assert_int_equal(cl_easter_sunday(2100), day_of(2100, 3, 28));
	for (int y = 1900; y <= 2200; y++) {
		int64_t e = cl_easter_sunday(y);
		assert_int_equal(cl_weekday(e), 6);
		assert_true(e >= day_of(y, 3, 22) && e <= day_of(y, 4, 25));
	}
}

enum { FX_MAX = 256 };

struct fx_row {
	int line;
	int64_t day;
	char name[64];
	bool statutory;
};

/* The fixture's kind column: "public" = closed by law (statutory),
 * "customary" = configurable (struct cl_holidays flags). */
static size_t read_fixture(struct fx_row *rows)
{
	FILE *f = fopen(FIXTURE, "r");
	if (!f)
		print_message("cannot open %s (run from the repository root)\n", FIXTURE);
	assert_non_null(f);
	char line[256];
	size_t n = 0;
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		int y, mo, d;
		char name[64], kind[32];
		if (sscanf(line, "%d-%d-%d\t%63[^\t]\t%31s", &y, &mo, &d, name, kind) != 5) {
			print_message("%s:%d: bad line\n", FIXTURE, lineno);
			fail();
		}
		assert_true(n < FX_MAX);
		rows[n].line = lineno;
		rows[n].day = day_of(y, mo, d);
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", name);
		if (strcmp(kind, "public") == 0) {
			rows[n].statutory = true;
		} else if (strcmp(kind, "customary") == 0) {
			rows[n].statutory = false;
		} else {
			print_message("%s:%d: unknown kind %s\n", FIXTURE, lineno, kind);
			fail();
		}
		n++;
	}
	fclose(f);
	return n;
}

/* Which flag of struct cl_holidays a customary day is: 0, 1, 2. */
static int customary_flag(const struct fx_row *r)
{
	if (folded_equal(r->name, "grundlovsdag"))
		return 0;
	if (folded_equal(r->name, "juleaftensdag"))
		return 1;
	if (folded_equal(r->name, "nytårsaftensdag"))
		return 2;
	print_message("%s:%d: unknown customary day %s\n", FIXTURE, r->line, r->name);
	fail();
	return -1;
}

/* Every date 2025-2032 agrees with the fixture under every combination of
 * the optional days: a holiday exactly when a public line or an enabled
 * customary line names it, under that line's name. */
static void test_calendar_holidays_match_fixture(void **state)
{
	static struct fx_row rows[FX_MAX];
	size_t n = read_fixture(rows);
	size_t n_statutory = 0;
	for (size_t i = 0; i < n; i++)
		n_statutory += rows[i].statutory;
	assert_int_equal(n_statutory, 8 * 10);
	assert_int_equal(n - n_statutory, 8 * 3);

	for (unsigned flags = 0; flags < 8; flags++) {
		struct cl_holidays h = {
		    .grundlovsdag = flags & 1,
		    .christmas_eve = flags & 2,
		    .new_years_eve = flags & 4,
		};
		for (int64_t day = day_of(2025, 1, 1); day <= day_of(2032, 12, 31); day++) {
			const struct fx_row *statutory = NULL, *customary = NULL;
			for (size_t i = 0; i < n; i++) {
				if (rows[i].day != day)
					continue;
				if (rows[i].statutory)
					statutory = &rows[i];
				else if (flags & (1u << customary_flag(&rows[i])))
					customary = &rows[i];
			}
			const struct fx_row *want = statutory ? statutory : customary;
			const char *name = "unset";
			bool is = cl_holiday_is(&h, day, &name);
			if (is != (want != NULL) || (want && !folded_equal(name, want->name))) {
				int y, mo, d;
				cl_civil_from_days(day, &y, &mo, &d);
				print_message(
				    "%04d-%02d-%02d flags %u: got %s, fixture line %d %s\n", y, mo,
				    d, flags, is ? name : "(none)", want ? want->line : 0,
				    want ? want->name : "(none)");
				fail();
			}
			if (!want)
				assert_null(name);
		}
	}
}

/* Store bededag (the fourth Friday after Easter) was abolished from 2024. */
static void test_calendar_store_bededag_is_not_a_holiday(void **state)
{
	struct cl_holidays all = {
	    .grundlovsdag = true, .christmas_eve = true, .new_years_eve = true};
	static struct fx_row rows[FX_MAX];
	size_t n = read_fixture(rows);
	for (int y = 2024; y <= 2040; y++) {
		int64_t bededag = cl_easter_sunday(y) + 26;
		assert_int_equal(cl_weekday(bededag), 4);
		assert_false(cl_holiday_is(&all, bededag, NULL));
		assert_false(cl_holiday_is(NULL, bededag, NULL));
		for (size_t i = 0; i < n; i++)
			assert_true(rows[i].day != bededag);
	}
}

static void test_calendar_holiday_names_and_null_config(void **state)
{
	const char *name = NULL;
	assert_true(cl_holiday_is(NULL, day_of(2026, 4, 3), &name));
	assert_string_equal(name, "langfredag");
	assert_true(cl_holiday_is(NULL, day_of(2026, 4, 2), &name));
	assert_string_equal(name, "skærtorsdag");
	assert_true(cl_holiday_is(NULL, day_of(2026, 5, 14), &name));
	assert_string_equal(name, "Kristi himmelfartsdag");
	/* NULL config: statutory days only. */
	assert_false(cl_holiday_is(NULL, day_of(2026, 12, 24), &name));
	assert_null(name);
	assert_false(cl_holiday_is(NULL, day_of(2026, 6, 5), NULL));
	/* 2028-06-05 is both 2. pinsedag and grundlovsdag: the statutory name. */
	struct cl_holidays h = {.grundlovsdag = true};
	assert_true(cl_holiday_is(&h, day_of(2028, 6, 5), &name));
	assert_string_equal(name, "2. pinsedag");
	assert_true(cl_holiday_is(&h, day_of(2026, 6, 5), &name));
	assert_string_equal(name, "grundlovsdag");
	/* A Sunday is not a holiday by itself. */
	assert_false(cl_holiday_is(&h, day_of(2026, 3, 29), NULL));
}

static void test_calendar_extra_days_by_binary_search(void **state)
{
	int64_t extra[] = {day_of(2026, 1, 6),  day_of(2026, 5, 19),  day_of(2026, 7, 20),
	                   day_of(2026, 7, 21), day_of(2026, 12, 28), day_of(2027, 3, 1)};
	size_t n = sizeof(extra) / sizeof(extra[0]);
	struct cl_holidays h = {.extra = extra, .n_extra = n};
	/* Every prefix length, so the search sees odd and even sizes. */
	for (size_t len = 0; len <= n; len++) {
		h.n_extra = len;
		for (size_t i = 0; i < n; i++) {
			const char *name = NULL;
			bool is = cl_holiday_is(&h, extra[i], &name);
			assert_int_equal(is, i < len);
			if (is)
				assert_string_equal(name, "ekstra lukkedag");
			/* Neighbours that are not extra days. */
			if (extra[i] - 1 != (i > 0 ? extra[i - 1] : 0))
				assert_false(cl_holiday_is(&h, extra[i] - 1, NULL));
			if (i + 1 == n || extra[i] + 1 != extra[i + 1])
				assert_false(cl_holiday_is(&h, extra[i] + 1, NULL));
		}
	}
	/* No array at all. */
	struct cl_holidays none = {.extra = NULL, .n_extra = 3};
	assert_false(cl_holiday_is(&none, day_of(2026, 1, 6), NULL));
	/* A statutory day that is also an extra day keeps its own name. */
	int64_t xmas[] = {day_of(2026, 12, 25)};
	struct cl_holidays x = {.extra = xmas, .n_extra = 1};
	const char *name = NULL;
	assert_true(cl_holiday_is(&x, xmas[0], &name));
	assert_string_equal(name, "juledag");
}

/* ---- parsing ------------------------------------------------------------ */

#define MON 0x01
#define TUE 0x02
#define WED 0x04
#define THU 0x08
#define FRI 0x10
#define SAT 0x20
#define SUN 0x40
#define ALL 0x7f

struct accept_case {
	const char *in;
	bool skip_holidays;
	size_t n;
	struct cl_window w[4];
};

static void test_calendar_parse_accepts(void **state)
{
	static const struct accept_case cases[] = {
	    {"mon-fri 08:00-16:00", true, 1, {{MON | TUE | WED | THU | FRI, 480, 960}}},
	    {"MON-FRI 08:00-16:00", true, 1, {{0x1f, 480, 960}}},
	    {"  man-fre 8:00-16:00  ", true, 1, {{0x1f, 480, 960}}},
	    {"Mandag-Fredag 08.00-16.00", true, 1, {{0x1f, 480, 960}}},
	    {"monday - friday 08:00 - 16:00", true, 1, {{0x1f, 480, 960}}},
	    {"lør-søn 10:00-14:00", true, 1, {{SAT | SUN, 600, 840}}},
	    {"LØR,SØN 10:00-14:00", true, 1, {{SAT | SUN, 600, 840}}},
	    {"loer-soen 10:00-14:00", true, 1, {{SAT | SUN, 600, 840}}},
	    {"lørdag 10:00-14:00", true, 1, {{SAT, 600, 840}}},
	    {"tir, tor 12:00-20:00", true, 1, {{TUE | THU, 720, 1200}}},
	    {"fri-mon 22:00-06:00", true, 1, {{FRI | SAT | SUN | MON, 1320, 360}}},
	    {"sun-sat 00:00-24:00", true, 1, {{ALL, 0, 1440}}},
	    {"wed-wed 09:00-10:00", true, 1, {{WED, 540, 600}}},
	    {"mon,wed,fri 08:00-16:00", true, 1, {{MON | WED | FRI, 480, 960}}},
	    {"mon-tue,thu,sat-sun 08:00-09:00", true, 1, {{MON | TUE | THU | SAT | SUN, 480, 540}}},
	    {"mon-fri 08:00-16:00, sat 10:00-14:00", true, 2, {{0x1f, 480, 960}, {SAT, 600, 840}}},
	    {"mon-fri 08:00-16:00;sat 10:00-14:00 ; sun 10:00-12:00",
	     true,
	     3,
	     {{0x1f, 480, 960}, {SAT, 600, 840}, {SUN, 600, 720}}},
	    {"mon-fri 08:00-12:00, 13:00-16:00, sat 10:00-12:00",
	     true,
	     3,
	     {{0x1f, 480, 720}, {0x1f, 780, 960}, {SAT, 600, 720}}},
	    {"mon-fri 16:00-08:00", true, 1, {{0x1f, 960, 480}}},
	    {"00:00-24:00", true, 1, {{ALL, 0, 1440}}},
	    {"12:00-20:00", true, 1, {{ALL, 720, 1200}}},
	    {"sun 02:30-03:30", true, 1, {{SUN, 150, 210}}},
	    {"mon 23:59-00:00", true, 1, {{MON, 1439, 0}}},
	    {"mon 08:00-08:00", true, 1, {{MON, 480, 480}}},
	    {"24/7", false, 1, {{ALL, 0, 1440}}},
	    {" 24/7 ", false, 1, {{ALL, 0, 1440}}},
	    {"\tmon\t09:00-10:00\t", true, 1, {{MON, 540, 600}}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct accept_case *c = &cases[i];
		struct cl_hours h = hours(c->in);
		if (h.n != c->n)
			print_message("\"%s\": %zu windows\n", c->in, h.n);
		assert_int_equal(h.n, c->n);
		assert_int_equal(h.skip_holidays, c->skip_holidays);
		for (size_t j = 0; j < c->n; j++) {
			if (h.w[j].days != c->w[j].days || h.w[j].start_min != c->w[j].start_min ||
			    h.w[j].end_min != c->w[j].end_min)
				print_message("\"%s\" window %zu: days %#x %d-%d\n", c->in, j,
				              h.w[j].days, h.w[j].start_min, h.w[j].end_min);
			assert_int_equal(h.w[j].days, c->w[j].days);
			assert_int_equal(h.w[j].start_min, c->w[j].start_min);
			assert_int_equal(h.w[j].end_min, c->w[j].end_min);
		}
	}
	/* Exactly CL_HOURS_MAX_WINDOWS windows fit. */
	char buf[512] = "";
	for (int i = 0; i < CL_HOURS_MAX_WINDOWS; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%smon %02d:00-%02d:30",
		         i ? ", " : "", i, i);
	assert_int_equal(hours(buf).n, CL_HOURS_MAX_WINDOWS);
}

static void test_calendar_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "mon",
	    "mon-fri",
	    "mon-fri ",
	    "mon-fri 08:00",
	    "mon-fri 08:00-",
	    "mon-fri -16:00",
	    "mon-fri 08:00-16:00,",
	    "mon-fri 08:00-16:00;;sat 10:00-12:00",
	    ", mon-fri 08:00-16:00",
	    "mon-fri 08:00-16:00 sat 10:00-12:00",
	    "mon-fri 08:00-16:00 garbage",
	    "mon-fri08:00-16:00",
	    "mon- 08:00-16:00",
	    "-fri 08:00-16:00",
	    "mon,,fri 08:00-16:00",
	    "mon, 08:00-16:00",
	    "funday 08:00-16:00",
	    "mo-fr 08:00-16:00",
	    "mon-fri 24:01-08:00",
	    "mon-fri 08:00-24:01",
	    "mon-fri 24:00-08:00",
	    "mon-fri 25:00-26:00",
	    "mon-fri 7:5-16:00",
	    "mon-fri 07:5-16:00",
	    "mon-fri 08:00-16:60",
	    "mon-fri 008:00-16:00",
	    "mon-fri 08:000-16:00",
	    "mon-fri 0800-1600",
	    "mon-fri 8-16",
	    "mon-fri 08:00–16:00", /* an en dash */
	    "mon-fri 08:00-16:00-18:00",
	    "24/7 mon 08:00-09:00",
	    "24/7, mon 08:00-09:00",
	    "24/8",
	    "24/7x",
	    "always",
	    "mon-fri 08:00-16:00\n",
	    "mondaymondaymonday 08:00-16:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cl_hours h = {.n = 99};
		enum cl_err err = cl_hours_parse(bad[i], &h);
		if (err != CL_ERR_INVALID)
			print_message("accepted \"%s\"\n", bad[i]);
		assert_int_equal(err, CL_ERR_INVALID);
		assert_int_equal(h.n, 99); /* untouched on failure */
	}
	struct cl_hours h;
	assert_int_equal(cl_hours_parse(NULL, &h), CL_ERR_INVALID);
	/* One window too many. */
	char buf[512] = "";
	for (int i = 0; i <= CL_HOURS_MAX_WINDOWS; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%smon %02d:00-%02d:30",
		         i ? ", " : "", i, i);
	assert_int_equal(cl_hours_parse(buf, &h), CL_ERR_INVALID);
}

/* ---- open or closed ----------------------------------------------------- */

static void test_calendar_open_friday_afternoon_and_weekend(void **state)
{
	struct cl_hours h = hours("mon-fri 08:00-16:00");
	struct cl_holidays hol = {0};
	/* Friday 9 January 2026. */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 7, 59)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 8, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 15, 59)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 16, 0) - 1));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 16, 0)));
	/* Saturday and Sunday. */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 10, 12, 0)));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 11, 12, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 12, 8, 0)));
	/* Friday at 16:00 Copenhagen is 15:00 UTC in winter. */
	assert_instant(cl_hours_next_close(&h, &hol, cph(2026, 1, 9, 15, 59)),
	               utc(2026, 1, 9, 15, 0));
	assert_int_equal(cl_hours_next_close(&h, &hol, cph(2026, 1, 9, 16, 0)), 0);
}

static void test_calendar_closed_on_a_weekday_holiday(void **state)
{
	struct cl_hours h = hours("mon-fri 08:00-16:00");
	struct cl_holidays hol = {0};
	/* Kristi himmelfartsdag, Thursday 14 May 2026. */
	int64_t noon = cph(2026, 5, 14, 12, 0);
	assert_false(cl_hours_open_at(&h, &hol, noon));
	assert_instant(cl_hours_next_open(&h, &hol, noon), cph(2026, 5, 15, 8, 0));
	/* Without holidays, or with skip_holidays off, it is a Thursday. */
	assert_true(cl_hours_open_at(&h, NULL, noon));
	struct cl_hours always_on = h;
	always_on.skip_holidays = false;
	assert_true(cl_hours_open_at(&always_on, &hol, noon));
	/* The day before and after are ordinary. */
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 5, 13, 12, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 5, 15, 12, 0)));
}

/* A window belongs to the day it starts. The Thursday before langfredag is
 * always skærtorsdag, a holiday itself, so Easter shows the rule from
 * Wednesday; Kristi himmelfartsdag and an extra day show both sides. */
static void test_calendar_night_window_belongs_to_its_start_day(void **state)
{
	struct cl_hours h = hours("mon-fri 16:00-08:00");
	struct cl_holidays hol = {0};

	/* Wednesday 1 April 2026 16:00 opens and runs into skærtorsdag. */
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 4, 1, 23, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 4, 2, 7, 59)));
	assert_instant(cl_hours_next_close(&h, &hol, cph(2026, 4, 1, 23, 0)),
	               cph(2026, 4, 2, 8, 0));
	/* Skærtorsdag evening and langfredag do not open. */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 4, 2, 16, 0)));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 4, 2, 23, 0)));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 4, 3, 7, 0)));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 4, 3, 16, 0)));
	/* 2. påskedag's window does not open either: next is Tuesday 7 April. */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 4, 7, 7, 0)));
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 4, 2, 8, 0)), cph(2026, 4, 7, 16, 0));

	/* Kristi himmelfartsdag, Thursday 14 May 2026: Wednesday's window
	 * runs into it; its own does not open; Friday's does. */
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 5, 13, 23, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 5, 14, 7, 59)));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 5, 14, 23, 0)));
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 5, 15, 7, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 5, 15, 16, 0)));

	/* An extra closed Friday, 9 January 2026: Thursday's window is open at
	 * 23:00 and until Friday 08:00; Friday's 16:00 window does not open. */
	int64_t extra[] = {day_of(2026, 1, 9)};
	struct cl_holidays x = {.extra = extra, .n_extra = 1};
	assert_true(cl_hours_open_at(&h, &x, cph(2026, 1, 8, 23, 0)));
	assert_true(cl_hours_open_at(&h, &x, cph(2026, 1, 9, 7, 59)));
	assert_false(cl_hours_open_at(&h, &x, cph(2026, 1, 9, 8, 0)));
	assert_false(cl_hours_open_at(&h, &x, cph(2026, 1, 9, 16, 0)));
	assert_false(cl_hours_open_at(&h, &x, cph(2026, 1, 10, 3, 0)));
	assert_instant(cl_hours_next_open(&h, &x, cph(2026, 1, 9, 8, 0)), cph(2026, 1, 12, 16, 0));
	/* Without the extra day, Friday's window runs into Saturday. */
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 10, 3, 0)));
}

static void test_calendar_next_open_friday_night_is_monday_morning(void **state)
{
	struct cl_hours h = hours("mon-fri 08:00-16:00");
	struct cl_holidays hol = {0};
	/* Friday 9 January 2026 23:00 → Monday 12 January 08:00. */
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 1, 9, 23, 0)),
	               cph(2026, 1, 12, 8, 0));
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 1, 9, 16, 0)),
	               cph(2026, 1, 12, 8, 0));
	/* Open now: the instant itself. */
	int64_t open = cph(2026, 1, 9, 15, 59) + 59999;
	assert_instant(cl_hours_next_open(&h, &hol, open), open);
	/* Just before opening. */
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 1, 12, 8, 0) - 1),
	               cph(2026, 1, 12, 8, 0));
	/* A quiet ticket at 23:00 on a Tuesday comes back Wednesday 08:00. */
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 1, 13, 23, 0)),
	               cph(2026, 1, 14, 8, 0));
}

static void test_calendar_next_open_across_easter_2026(void **state)
{
	struct cl_hours h = hours("mon-fri 08:00-16:00");
	struct cl_holidays hol = {0};
	/* 2 April skærtorsdag, 3 langfredag, 4-5 weekend, 6 2. påskedag. */
	int64_t next = cl_hours_next_open(&h, &hol, cph(2026, 4, 1, 17, 0));
	assert_instant(next, cph(2026, 4, 7, 8, 0));
	assert_instant(next, utc(2026, 4, 7, 6, 0)); /* summer time */
	for (int d = 2; d <= 6; d++)
		assert_false(cl_hours_open_at(&h, &hol, cph(2026, 4, d, 12, 0)));
	/* Without holidays it would have been the next morning. */
	assert_instant(cl_hours_next_open(&h, NULL, cph(2026, 4, 1, 17, 0)), cph(2026, 4, 2, 8, 0));
}

static void test_calendar_next_open_across_christmas(void **state)
{
	struct cl_hours h = hours("mon-fri 08:00-16:00");
	/* Christmas 2026: 24 Thursday, 25 Friday, 26-27 weekend. */
	struct cl_holidays plain = {0};
	struct cl_holidays eve = {.christmas_eve = true};
	int64_t from = cph(2026, 12, 23, 17, 0);
	assert_instant(cl_hours_next_open(&h, &plain, from), cph(2026, 12, 24, 8, 0));
	assert_instant(cl_hours_next_open(&h, &eve, from), cph(2026, 12, 28, 8, 0));
	assert_instant(cl_hours_next_close(&h, &plain, cph(2026, 12, 24, 8, 0)),
	               cph(2026, 12, 24, 16, 0));
	/* New Year: 31 December Thursday, 1 January 2027 Friday. */
	struct cl_holidays nye = {.new_years_eve = true};
	from = cph(2026, 12, 30, 17, 0);
	assert_instant(cl_hours_next_open(&h, &plain, from), cph(2026, 12, 31, 8, 0));
	assert_instant(cl_hours_next_open(&h, &nye, from), cph(2027, 1, 4, 8, 0));
	/* Round the clock but closed on holidays: Christmas Eve closes the
	 * period at its midnight only when configured. */
	struct cl_hours days = hours("mon-sun 00:00-24:00");
	assert_instant(cl_hours_next_close(&days, &plain, cph(2026, 12, 20, 10, 0)),
	               cph(2026, 12, 25, 0, 0));
	assert_instant(cl_hours_next_close(&days, &eve, cph(2026, 12, 20, 10, 0)),
	               cph(2026, 12, 24, 0, 0));
	assert_instant(cl_hours_next_open(&days, &eve, cph(2026, 12, 24, 10, 0)),
	               cph(2026, 12, 27, 0, 0));
}

/* 29 March 2026: the clocks jump from 02:00 CET to 03:00 CEST. */
static void test_calendar_dst_spring_forward(void **state)
{
	struct cl_holidays hol = {0};
	/* A start in the skipped hour moves forward: 02:30 → 03:30 CEST. The
	 * window would end at 03:30 too; rather than vanish, it moves forward
	 * as a whole and keeps its hour. */
	struct cl_hours h = hours("sun 02:30-03:30");
	int64_t opens = cl_hours_next_open(&h, &hol, cph(2026, 3, 28, 12, 0));
	assert_instant(opens, utc(2026, 3, 29, 1, 30));
	assert_true(cl_hours_open_at(&h, &hol, opens));
	assert_false(cl_hours_open_at(&h, &hol, opens - 1));
	assert_instant(cl_hours_next_close(&h, &hol, opens), utc(2026, 3, 29, 2, 30));
	/* The Sunday before and after: plain winter and summer time. */
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 3, 21, 12, 0)),
	               utc(2026, 3, 22, 1, 30));
	assert_instant(cl_hours_next_open(&h, NULL, cph(2026, 3, 29, 12, 0)),
	               utc(2026, 4, 5, 0, 30));
	/* ... which is påskedag: with holidays, the Sunday after. */
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 3, 29, 12, 0)),
	               utc(2026, 4, 12, 0, 30));

	/* A start in the gap with an end after it keeps its end. */
	struct cl_hours night = hours("mon-sun 02:30-05:00");
	opens = cl_hours_next_open(&night, &hol, cph(2026, 3, 28, 12, 0));
	assert_instant(opens, utc(2026, 3, 29, 1, 30));
	assert_instant(cl_hours_next_close(&night, &hol, opens), utc(2026, 3, 29, 3, 0));
	/* A window across the change is an hour shorter in real time. */
	struct cl_hours sat = hours("sat 22:00-06:00");
	assert_instant(cl_hours_next_close(&sat, &hol, cph(2026, 3, 28, 23, 0)),
	               utc(2026, 3, 29, 4, 0));
	assert_true(cl_hours_open_at(&sat, &hol, utc(2026, 3, 29, 1, 0)));
	/* Office hours: Friday winter evening → Monday 08:00 summer time. */
	struct cl_hours office = hours("mon-fri 08:00-16:00");
	assert_instant(cl_hours_next_open(&office, &hol, cph(2026, 3, 27, 17, 0)),
	               utc(2026, 3, 30, 6, 0));
}

/* 25 October 2026: the clocks go back from 03:00 CEST to 02:00 CET. */
static void test_calendar_dst_fall_back(void **state)
{
	struct cl_holidays hol = {0};
	/* An ambiguous start is its first occurrence (02:30 CEST = 00:30Z);
	 * 03:30 CET is 02:30Z, so the window lasts two real hours. */
	struct cl_hours h = hours("sun 02:30-03:30");
	int64_t opens = cl_hours_next_open(&h, &hol, cph(2026, 10, 24, 12, 0));
	assert_instant(opens, utc(2026, 10, 25, 0, 30));
	assert_instant(cl_hours_next_close(&h, &hol, opens), utc(2026, 10, 25, 2, 30));
	assert_true(cl_hours_open_at(&h, &hol, utc(2026, 10, 25, 1, 15))); /* 02:15 CET */
	/* An ambiguous end is its last occurrence: the repeated hour stays
	 * inside a window that spans it. */
	struct cl_hours sat = hours("sat 22:00-02:30");
	assert_instant(cl_hours_next_close(&sat, &hol, cph(2026, 10, 24, 23, 0)),
	               utc(2026, 10, 25, 1, 30));
	assert_true(cl_hours_open_at(&sat, &hol, utc(2026, 10, 25, 0, 45))); /* 02:45 CEST */
	assert_true(cl_hours_open_at(&sat, &hol, utc(2026, 10, 25, 1, 15))); /* 02:15 CET */
	assert_false(cl_hours_open_at(&sat, &hol, utc(2026, 10, 25, 1, 30)));
	/* A window across the change is an hour longer in real time. */
	struct cl_hours night = hours("sat 22:00-06:00");
	assert_instant(cl_hours_next_close(&night, &hol, cph(2026, 10, 24, 23, 0)),
	               utc(2026, 10, 25, 5, 0));
	/* Friday summer evening → Monday 08:00 winter time. */
	struct cl_hours office = hours("mon-fri 08:00-16:00");
	assert_instant(cl_hours_next_open(&office, &hol, cph(2026, 10, 23, 17, 0)),
	               utc(2026, 10, 26, 7, 0));
}

static void test_calendar_always_open(void **state)
{
	struct cl_hours h = hours("24/7");
	struct cl_holidays all = {
	    .grundlovsdag = true, .christmas_eve = true, .new_years_eve = true};
	static const int64_t at[][5] = {
	    {2026, 1, 1, 0, 0},    {2026, 3, 29, 2, 30},   {2026, 4, 3, 12, 0},
	    {2026, 10, 25, 2, 30}, {2026, 12, 24, 23, 59}, {2027, 6, 5, 3, 0},
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int64_t t =
		    cph((int)at[i][0], (int)at[i][1], (int)at[i][2], (int)at[i][3], (int)at[i][4]);
		assert_true(cl_hours_open_at(&h, &all, t));
		assert_true(cl_hours_open_at(&h, &all, t + 1));
		assert_instant(cl_hours_next_open(&h, &all, t), t);
		/* Never closes within a year: 0. */
		assert_int_equal(cl_hours_next_close(&h, &all, t), 0);
	}
	/* Every instant of the DST days. */
	for (int64_t t = utc(2026, 3, 28, 0, 0); t < utc(2026, 3, 30, 0, 0); t += MIN_MS)
		assert_true(cl_hours_open_at(&h, &all, t));
	for (int64_t t = utc(2026, 10, 24, 0, 0); t < utc(2026, 10, 26, 0, 0); t += MIN_MS)
		assert_true(cl_hours_open_at(&h, &all, t));
	/* The same written out with skip_holidays closes on holidays. */
	struct cl_hours days = hours("mon-sun 00:00-24:00");
	assert_false(cl_hours_open_at(&days, &all, cph(2026, 4, 3, 12, 0)));
	assert_instant(cl_hours_next_close(&days, &all, cph(2026, 4, 1, 12, 0)),
	               cph(2026, 4, 2, 0, 0));
}

static void test_calendar_midnight_crossing_windows(void **state)
{
	struct cl_holidays hol = {0};
	/* Fri, Sat, Sun, Mon nights; 2026-01-09 is a Friday. */
	struct cl_hours h = hours("fri-mon 22:00-06:00");
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 21, 59)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 9, 22, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 10, 3, 0))); /* Fri's */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 10, 6, 0)));
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 12, 23, 0)));  /* Mon's */
	assert_true(cl_hours_open_at(&h, &hol, cph(2026, 1, 13, 5, 59)));  /* still Mon's */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 13, 23, 0))); /* Tue */
	assert_false(cl_hours_open_at(&h, &hol, cph(2026, 1, 15, 3, 0)));  /* Wed's */
	assert_instant(cl_hours_next_close(&h, &hol, cph(2026, 1, 9, 23, 0)),
	               cph(2026, 1, 10, 6, 0));
	assert_instant(cl_hours_next_open(&h, &hol, cph(2026, 1, 13, 6, 0)),
	               cph(2026, 1, 16, 22, 0));

	/* Touching windows make one period: day shift then night shift from
	 * Monday 08:00 to Saturday 08:00. */
	struct cl_hours week = hours("mon-fri 08:00-16:00, mon-fri 16:00-08:00");
	assert_instant(cl_hours_next_close(&week, &hol, cph(2026, 1, 12, 10, 0)),
	               cph(2026, 1, 17, 8, 0));
	assert_instant(cl_hours_next_close(&week, &hol, cph(2026, 1, 16, 23, 0)),
	               cph(2026, 1, 17, 8, 0));
	/* ... and a holiday breaks it: Thursday 14 May 2026 does not open. */
	assert_instant(cl_hours_next_close(&week, &hol, cph(2026, 5, 11, 10, 0)),
	               cph(2026, 5, 14, 8, 0));
	/* Overlapping windows, listed in any order. */
	struct cl_hours overlap = hours("mon 11:00-13:00; mon 08:00-12:00, mon 12:30-14:00");
	assert_instant(cl_hours_next_close(&overlap, &hol, cph(2026, 1, 12, 9, 0)),
	               cph(2026, 1, 12, 14, 0));
	/* A 24-hour window from 08:00 to 08:00, and 23:59-00:00. */
	struct cl_hours day = hours("wed 08:00-08:00");
	assert_true(cl_hours_open_at(&day, &hol, cph(2026, 1, 15, 7, 59)));
	assert_false(cl_hours_open_at(&day, &hol, cph(2026, 1, 15, 8, 0)));
	struct cl_hours minute = hours("mon 23:59-00:00");
	assert_true(cl_hours_open_at(&minute, &hol, cph(2026, 1, 12, 23, 59)));
	assert_false(cl_hours_open_at(&minute, &hol, cph(2026, 1, 13, 0, 0)));
	/* A night window starting on New Year's Eve (Monday 31 December
	 * 2029) opens unless new_years_eve is set. */
	struct cl_hours nights = hours("mon-fri 16:00-08:00");
	struct cl_holidays nye = {.new_years_eve = true};
	assert_true(cl_hours_open_at(&nights, &hol, cph(2030, 1, 1, 3, 0)));
	assert_false(cl_hours_open_at(&nights, &nye, cph(2030, 1, 1, 3, 0)));
}

static void test_calendar_extra_closed_days_in_hours(void **state)
{
	struct cl_hours h = hours("mon-fri 08:00-16:00");
	/* A closed week: Monday 20 to Friday 24 July 2026. */
	int64_t extra[] = {day_of(2026, 7, 20), day_of(2026, 7, 21), day_of(2026, 7, 22),
	                   day_of(2026, 7, 23), day_of(2026, 7, 24)};
	struct cl_holidays x = {.extra = extra, .n_extra = 5};
	assert_false(cl_hours_open_at(&h, &x, cph(2026, 7, 22, 12, 0)));
	assert_instant(cl_hours_next_open(&h, &x, cph(2026, 7, 17, 17, 0)), cph(2026, 7, 27, 8, 0));
	assert_instant(cl_hours_next_close(&h, &x, cph(2026, 7, 17, 9, 0)),
	               cph(2026, 7, 17, 16, 0));

	/* Every Monday for more than a year is closed: no opening within a
	 * year gives 0. */
	static int64_t mondays[60];
	int64_t first = day_of(2026, 1, 5);
	for (size_t i = 0; i < 60; i++)
		mondays[i] = first + 7 * (int64_t)i;
	struct cl_holidays none = {.extra = mondays, .n_extra = 60};
	struct cl_hours mon = hours("mon 08:00-09:00");
	assert_int_equal(cl_hours_next_open(&mon, &none, cph(2026, 1, 1, 12, 0)), 0);
	none.n_extra = 30;
	assert_instant(cl_hours_next_open(&mon, &none, cph(2026, 1, 1, 12, 0)),
	               at_day(first + 7 * 30, 8, 0));
}

/* For every 13 minutes of 2026 and a few schedules: next_open is open and
 * the instant before it is closed; next_close is closed and the instant
 * before it open; nothing opens between a closed instant and its next_open. */
static void test_calendar_open_next_open_next_close_agree(void **state)
{
	static const char *const specs[] = {
	    "mon-fri 08:00-16:00",
	    "mon-fri 16:00-08:00, sat-sun 00:00-24:00",
	    "sun 02:30-03:30; tue,thu 12:00-20:00; sat 22:00-02:30",
	};
	struct cl_holidays hol = {.christmas_eve = true};
	for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
		struct cl_hours h = hours(specs[s]);
		int64_t closed_until = 0, open_until = 0;
		for (int64_t t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0);
		     t += 13 * MIN_MS) {
			bool open = cl_hours_open_at(&h, &hol, t);
			int64_t next_open = cl_hours_next_open(&h, &hol, t);
			int64_t next_close = cl_hours_next_close(&h, &hol, t);
			if (open) {
				assert_true(t >= closed_until);
				assert_int_equal(next_open, t);
				assert_true(next_close > t);
				assert_true(cl_hours_open_at(&h, &hol, next_close - 1));
				assert_false(cl_hours_open_at(&h, &hol, next_close));
				if (open_until)
					assert_int_equal(next_close, open_until);
				open_until = next_close;
				closed_until = 0;
			} else {
				if (t < open_until) {
					show("closed early", t);
					show("should be open until", open_until);
					fail();
				}
				assert_true(next_open > t);
				assert_true(cl_hours_open_at(&h, &hol, next_open));
				assert_false(cl_hours_open_at(&h, &hol, next_open - 1));
				assert_int_equal(next_close, 0);
				if (closed_until)
					assert_int_equal(next_open, closed_until);
				closed_until = next_open;
				open_until = 0;
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calendar_easter_known_years),
	    cmocka_unit_test(test_calendar_holidays_match_fixture),
	    cmocka_unit_test(test_calendar_store_bededag_is_not_a_holiday),
	    cmocka_unit_test(test_calendar_holiday_names_and_null_config),
	    cmocka_unit_test(test_calendar_extra_days_by_binary_search),
	    cmocka_unit_test(test_calendar_parse_accepts),
	    cmocka_unit_test(test_calendar_parse_rejects),
	    cmocka_unit_test(test_calendar_open_friday_afternoon_and_weekend),
	    cmocka_unit_test(test_calendar_closed_on_a_weekday_holiday),
	    cmocka_unit_test(test_calendar_night_window_belongs_to_its_start_day),
	    cmocka_unit_test(test_calendar_next_open_friday_night_is_monday_morning),
	    cmocka_unit_test(test_calendar_next_open_across_easter_2026),
	    cmocka_unit_test(test_calendar_next_open_across_christmas),
	    cmocka_unit_test(test_calendar_dst_spring_forward),
	    cmocka_unit_test(test_calendar_dst_fall_back),
	    cmocka_unit_test(test_calendar_always_open),
	    cmocka_unit_test(test_calendar_midnight_crossing_windows),
	    cmocka_unit_test(test_calendar_extra_closed_days_in_hours),
	    cmocka_unit_test(test_calendar_open_next_open_next_close_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
