/*
 * tests/unit/roster_test.c: core/roster.c: the shifts of a rotation layer
 * (weekly, daily, 12-hour) in Copenhagen time and across both DST changes,
 * restricted layers and priority, overrides, back-up duty, instants before a
 * layer's start. Teams and layers are built by hand; no config loader.
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

#define MON_FRI 0x1f
#define SAT_SUN 0x60

static char abc[3][CL_ID_MAX] = {"anna", "bo", "carl"};
static char evening_crew[2][CL_ID_MAX] = {"eva", "frank"};
static char weekend_crew[1][CL_ID_MAX] = {"gitte"};
static char backup_crew[1][CL_ID_MAX] = {"dorthe"};

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return cl_days_from_civil(y, mo, d) * DAY_MS + ((int64_t)h * 60 + mi) * MIN_MS;
}

static struct cl_layer make_layer(const char *name, enum cl_duty duty, char (*members)[CL_ID_MAX],
                                  size_t n, int64_t shift_min, int y, int mo, int d, int h, int mi)
{
	struct cl_layer l = {0};
	strcpy(l.name, name);
	l.duty = duty;
	l.members = members;
	l.n_members = n;
	l.shift_min = shift_min;
	l.start = (struct cl_civil){.year = y, .month = mo, .day = d, .hour = h, .minute = mi};
	return l;
}

/* Weekly, Monday 08:00, from Monday 2026-01-05: the shipped example. */
static struct cl_layer weekly(size_t n)
{
	return make_layer("day", CL_DUTY_PRIMARY, abc, n, 7 * 1440, 2026, 1, 5, 8, 0);
}

static void restrict_to(struct cl_layer *l, uint8_t days, int start_min, int end_min)
{
	l->restricted = true;
	l->restrict_to.w[0] =
	    (struct cl_window){.days = days, .start_min = start_min, .end_min = end_min};
	l->restrict_to.n = 1;
	l->restrict_to.skip_holidays = false;
}

static struct cl_team make_team(struct cl_layer *layers, size_t n)
{
	struct cl_team t = {0};
	strcpy(t.id, "opsoegende");
	t.layers = layers;
	t.n_layers = n;
	return t;
}

static struct cl_override make_override(const char *team, enum cl_duty duty, const char *person,
                                        const char *replaces, int64_t start, int64_t end)
{
	struct cl_override o = {0};
	strcpy(o.team, team);
	o.duty = duty;
	strcpy(o.person, person);
	strcpy(o.replaces, replaces);
	o.start_ms = start;
	o.end_ms = end;
	return o;
}

static const char *member(const struct cl_layer *l, int64_t at)
{
	return cl_layer_member_at(l, at, NULL, NULL);
}

static const char *primary_at(const struct cl_team *t, const struct cl_override *ovr, size_t n_ovr,
                              int64_t at)
{
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(t, ovr, n_ovr, at, &oc), CL_OK);
	return oc.primary;
}

static size_t member_index(const struct cl_layer *l, const char *who)
{
	for (size_t i = 0; i < l->n_members; i++)
		if (who == l->members[i])
			return i;
	fail_msg("%s is not a member of %s", who, l->name);
	return 0;
}

struct walk_count {
	int shifts;  /* shifts seen starting inside the walk */
	int shorter; /* lasting an hour less than nominal */
	int longer;  /* an hour more */
};

/* Walk [from, to) every 15 minutes: each instant lies in exactly the shift
 * it is given; a new shift starts exactly where the last ended (no gap, no
 * instant in two shifts) with the next member; each lasts nominal, or an hour
 * less or more across a DST change. */
static struct walk_count walk(const struct cl_layer *l, int64_t from, int64_t to, int64_t nominal)
{
	struct walk_count c = {0};
	const char *prev = NULL;
	int64_t prev_start = 0, prev_end = 0;
	for (int64_t t = from; t < to; t += 15 * MIN_MS) {
		int64_t s, e;
		const char *who = cl_layer_member_at(l, t, &s, &e);
		assert_non_null(who);
		assert_true(s <= t);
		assert_true(t < e);
		if (prev != NULL && s == prev_start) {
			assert_ptr_equal(who, prev);
			assert_int_equal(e, prev_end);
		} else if (prev != NULL) {
			assert_int_equal(s, prev_end);
			assert_int_equal(member_index(l, who),
			                 (member_index(l, prev) + 1) % l->n_members);
			/* The previous shift really ends where this starts. */
			int64_t ps, pe;
			assert_ptr_equal(cl_layer_member_at(l, s - 1, &ps, &pe), prev);
			assert_int_equal(pe, s);
			int64_t len = e - s;
			c.shifts++;
			if (len == nominal - HOUR_MS)
				c.shorter++;
			else if (len == nominal + HOUR_MS)
				c.longer++;
			else
				assert_int_equal(len, nominal);
		}
		prev = who;
		prev_start = s;
		prev_end = e;
	}
	return c;
}

static void test_roster_weekly_handoff_monday_winter_and_summer(void **state)
{
	struct cl_layer l = weekly(2);
	struct cl_team team = make_team(&l, 1);
	int64_t s, e;
	/* 2026-01-05 08:00 CET = 07:00Z: anna's first shift starts. */
	int64_t h0 = utc(2026, 1, 5, 7, 0);
	assert_string_equal(cl_layer_member_at(&l, h0 - 1, &s, &e), "bo");
	assert_int_equal(s, h0 - WEEK_MS);
	assert_int_equal(e, h0);
	assert_string_equal(cl_layer_member_at(&l, h0, &s, &e), "anna");
	assert_int_equal(s, h0);
	assert_int_equal(e, h0 + WEEK_MS);
	/* Winter: Monday 2026-02-02 08:00 CET = 07:00Z (week 4: anna). */
	assert_string_equal(cl_layer_member_at(&l, utc(2026, 2, 2, 12, 0), &s, &e), "anna");
	assert_int_equal(s, utc(2026, 2, 2, 7, 0));
	assert_int_equal(e, utc(2026, 2, 9, 7, 0));
	assert_string_equal(member(&l, utc(2026, 2, 2, 6, 59)), "bo");
	/* Summer: Monday 2026-06-01 08:00 CEST = 06:00Z (week 21: bo). */
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, NULL, 0, utc(2026, 6, 1, 6, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	assert_string_equal(oc.source, "day");
	assert_int_equal(oc.shift_start_ms, utc(2026, 6, 1, 6, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 6, 8, 6, 0));
	assert_ptr_equal(oc.duty[CL_DUTY_PRIMARY].person, oc.primary);
	assert_ptr_equal(oc.duty[CL_DUTY_PRIMARY].source, oc.source);
	assert_int_equal(oc.duty[CL_DUTY_PRIMARY].since_ms, oc.shift_start_ms);
	assert_int_equal(oc.duty[CL_DUTY_PRIMARY].until_ms, oc.shift_end_ms);
	assert_null(oc.backup);
	/* 05:59Z that Monday is 07:59 local: still anna. */
	assert_string_equal(primary_at(&team, NULL, 0, utc(2026, 6, 1, 5, 59)), "anna");
}

static void test_roster_weekly_cycles_and_tiles_two_years(void **state)
{
	struct cl_layer l = weekly(3);
	static const char *const expect[] = {"anna", "bo", "carl", "anna", "bo", "carl", "anna"};
	int64_t mid = utc(2026, 1, 7, 12, 0); /* a Wednesday in week 0 */
	for (int k = 0; k < 7; k++)
		assert_string_equal(member(&l, mid + k * WEEK_MS), expect[k]);
	/* 2027-01-06 is 52 weeks on, 52 mod 3 = 1. */
	assert_string_equal(member(&l, utc(2027, 1, 6, 12, 0)), "bo");
	/* Four DST changes: two weeks of 167 h, two of 169 h. */
	struct walk_count c = walk(&l, utc(2025, 6, 1, 0, 0), utc(2027, 6, 1, 0, 0), 168 * HOUR_MS);
	assert_int_equal(c.shorter, 2);
	assert_int_equal(c.longer, 2);
	int64_t s, e;
	assert_non_null(cl_layer_member_at(&l, utc(2026, 3, 29, 12, 0), &s, &e));
	assert_int_equal(s, utc(2026, 3, 23, 7, 0));
	assert_int_equal(e, utc(2026, 3, 30, 6, 0));
	assert_non_null(cl_layer_member_at(&l, utc(2026, 10, 25, 12, 0), &s, &e));
	assert_int_equal(s, utc(2026, 10, 19, 6, 0));
	assert_int_equal(e, utc(2026, 10, 26, 7, 0));
}

static void test_roster_daily_shifts_meet_across_dst(void **state)
{
	struct cl_layer l = make_layer("day", CL_DUTY_PRIMARY, abc, 3, 1440, 2026, 1, 1, 8, 0);
	/* Three weeks around Sunday 29 March 2026. */
	struct walk_count c = walk(&l, utc(2026, 3, 18, 0, 0), utc(2026, 4, 8, 0, 0), DAY_MS);
	assert_int_equal(c.shifts, 21);
	assert_int_equal(c.shorter, 1);
	assert_int_equal(c.longer, 0);
	int64_t s, e;
	/* Saturday 08:00 CET to Sunday 08:00 CEST: 23 hours. */
	assert_non_null(cl_layer_member_at(&l, utc(2026, 3, 29, 3, 0), &s, &e));
	assert_int_equal(s, utc(2026, 3, 28, 7, 0));
	assert_int_equal(e, utc(2026, 3, 29, 6, 0));
	/* Three weeks around Sunday 25 October 2026. */
	c = walk(&l, utc(2026, 10, 14, 0, 0), utc(2026, 11, 4, 0, 0), DAY_MS);
	assert_int_equal(c.shifts, 21);
	assert_int_equal(c.shorter, 0);
	assert_int_equal(c.longer, 1);
	assert_non_null(cl_layer_member_at(&l, utc(2026, 10, 25, 3, 0), &s, &e));
	assert_int_equal(s, utc(2026, 10, 24, 6, 0));
	assert_int_equal(e, utc(2026, 10, 25, 7, 0));
}

static void test_roster_twelve_hour_shifts_meet_across_dst(void **state)
{
	struct cl_layer l = make_layer("acute", CL_DUTY_PRIMARY, abc, 2, 720, 2026, 1, 1, 8, 0);
	struct walk_count c = walk(&l, utc(2026, 3, 18, 0, 0), utc(2026, 4, 8, 0, 0), 12 * HOUR_MS);
	assert_int_equal(c.shifts, 42);
	assert_int_equal(c.shorter, 1);
	assert_int_equal(c.longer, 0);
	int64_t s, e;
	/* The night shift Saturday 20:00 CET to Sunday 08:00 CEST: 11 hours. */
	assert_non_null(cl_layer_member_at(&l, utc(2026, 3, 29, 1, 0), &s, &e));
	assert_int_equal(s, utc(2026, 3, 28, 19, 0));
	assert_int_equal(e, utc(2026, 3, 29, 6, 0));
	/* Sunday's day shift 08:00-20:00 CEST is a full 12 hours. */
	assert_non_null(cl_layer_member_at(&l, utc(2026, 3, 29, 6, 0), &s, &e));
	assert_int_equal(e - s, 12 * HOUR_MS);
	c = walk(&l, utc(2026, 10, 14, 0, 0), utc(2026, 11, 4, 0, 0), 12 * HOUR_MS);
	assert_int_equal(c.shifts, 42);
	assert_int_equal(c.shorter, 0);
	assert_int_equal(c.longer, 1);
	/* Saturday 20:00 CEST to Sunday 08:00 CET: 13 hours. */
	assert_non_null(cl_layer_member_at(&l, utc(2026, 10, 25, 1, 0), &s, &e));
	assert_int_equal(s, utc(2026, 10, 24, 18, 0));
	assert_int_equal(e, utc(2026, 10, 25, 7, 0));
}

static void test_roster_shift_at_skipped_and_repeated_time(void **state)
{
	/* A layer whose first 12-hour shift starts at 02:30 on 29 March, a time
	 * the clocks skip: it starts at 03:30 CEST = 01:30Z. */
	struct cl_layer mar = make_layer("night", CL_DUTY_PRIMARY, abc, 3, 720, 2026, 3, 29, 2, 30);
	int64_t s, e;
	assert_string_equal(cl_layer_member_at(&mar, utc(2026, 3, 29, 1, 30), &s, &e), "anna");
	assert_int_equal(s, utc(2026, 3, 29, 1, 30));
	assert_int_equal(e, utc(2026, 3, 29, 12, 30)); /* 14:30 CEST: 11 h */
	assert_string_equal(cl_layer_member_at(&mar, utc(2026, 3, 29, 1, 29), &s, &e), "carl");
	assert_int_equal(s, utc(2026, 3, 28, 13, 30)); /* 14:30 CET */
	assert_int_equal(e, utc(2026, 3, 29, 1, 30));
	/* On 25 October 02:30 happens twice: the shift starts at the first,
	 * 02:30 CEST = 00:30Z, and runs to 14:30 CET (13 h). */
	struct cl_layer oct =
	    make_layer("night", CL_DUTY_PRIMARY, abc, 3, 720, 2026, 10, 25, 2, 30);
	assert_string_equal(cl_layer_member_at(&oct, utc(2026, 10, 25, 0, 30), &s, &e), "anna");
	assert_int_equal(s, utc(2026, 10, 25, 0, 30));
	assert_int_equal(e, utc(2026, 10, 25, 13, 30));
	assert_string_equal(cl_layer_member_at(&oct, utc(2026, 10, 25, 1, 30), &s, &e), "anna");
	assert_string_equal(cl_layer_member_at(&oct, utc(2026, 10, 25, 0, 29), &s, &e), "carl");
	assert_int_equal(e, utc(2026, 10, 25, 0, 30));
	/* The same handoff times, every day for months, still tile. */
	struct walk_count c =
	    walk(&mar, utc(2026, 3, 1, 0, 0), utc(2026, 11, 15, 0, 0), 12 * HOUR_MS);
	assert_int_equal(c.shorter, 1);
	assert_int_equal(c.longer, 1);
}

/* Primary: an evening layer mon-fri 16:00-08:00 (daily handoff at 16:00)
 * above a weekly day layer. Back-up: a weekend layer above a plain one. */
struct realistic {
	struct cl_layer layers[4];
	struct cl_team team;
};

static void realistic_init(struct realistic *r)
{
	r->layers[0] =
	    make_layer("evening", CL_DUTY_PRIMARY, evening_crew, 2, 1440, 2026, 1, 5, 16, 0);
	restrict_to(&r->layers[0], MON_FRI, 16 * 60, 8 * 60);
	r->layers[1] = weekly(2);
	r->layers[2] =
	    make_layer("weekend", CL_DUTY_BACKUP, weekend_crew, 1, 7 * 1440, 2026, 1, 5, 0, 0);
	restrict_to(&r->layers[2], SAT_SUN, 0, 24 * 60);
	r->layers[3] =
	    make_layer("backup", CL_DUTY_BACKUP, backup_crew, 1, 7 * 1440, 2026, 1, 5, 8, 0);
	r->team = make_team(r->layers, 4);
}

static void test_roster_restricted_layers_at_awkward_times(void **state)
{
	struct realistic r;
	realistic_init(&r);
	struct cl_oncall oc;
	/* Friday 2026-11-13 15:59 CET: the day layer (week 44 from 5 January:
	 * anna). */
	assert_int_equal(cl_roster_oncall_at(&r.team, NULL, 0, utc(2026, 11, 13, 14, 59), &oc),
	                 CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.source, "day");
	assert_string_equal(oc.backup, "dorthe");
	assert_string_equal(oc.duty[CL_DUTY_BACKUP].source, "backup");
	/* 16:00: the evening layer (day 312 from 5 January: eva); her window
	 * closes Saturday 08:00, before her shift would end at 16:00. */
	assert_int_equal(cl_roster_oncall_at(&r.team, NULL, 0, utc(2026, 11, 13, 15, 0), &oc),
	                 CL_OK);
	assert_string_equal(oc.primary, "eva");
	assert_string_equal(oc.source, "evening");
	assert_int_equal(oc.shift_start_ms, utc(2026, 11, 13, 15, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 11, 14, 7, 0));
	assert_string_equal(oc.backup, "dorthe");
	/* Saturday 03:00: still Friday's evening window; weekend back-up. */
	assert_int_equal(cl_roster_oncall_at(&r.team, NULL, 0, utc(2026, 11, 14, 2, 0), &oc),
	                 CL_OK);
	assert_string_equal(oc.primary, "eva");
	assert_string_equal(oc.backup, "gitte");
	assert_string_equal(oc.duty[CL_DUTY_BACKUP].source, "weekend");
	/* Saturday 08:00 to Monday 16:00 the evening layer is away. */
	int64_t s = -1, e = -1;
	assert_null(cl_layer_member_at(&r.layers[0], utc(2026, 11, 14, 7, 0), &s, &e));
	assert_int_equal(s, 0);
	assert_int_equal(e, utc(2026, 11, 16, 15, 0));
	assert_string_equal(primary_at(&r.team, NULL, 0, utc(2026, 11, 14, 7, 0)), "anna");
	/* Monday 07:59: the day layer, last week's person (anna); 08:00: bo. */
	assert_int_equal(cl_roster_oncall_at(&r.team, NULL, 0, utc(2026, 11, 16, 6, 59), &oc),
	                 CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.backup, "dorthe");
	assert_string_equal(primary_at(&r.team, NULL, 0, utc(2026, 11, 16, 7, 0)), "bo");
	/* Monday 16:00: evening again, the next member (frank). */
	assert_string_equal(primary_at(&r.team, NULL, 0, utc(2026, 11, 16, 15, 0)), "frank");
	/* Summer: Friday 2026-07-03 16:00 CEST = 14:00Z. */
	assert_string_equal(primary_at(&r.team, NULL, 0, utc(2026, 7, 3, 13, 59)), "bo");
	assert_string_equal(member(&r.layers[0], utc(2026, 7, 3, 14, 0)),
	                    member(&r.layers[0], utc(2026, 7, 4, 5, 59)));
	assert_null(member(&r.layers[0], utc(2026, 7, 4, 6, 0)));
}

static void test_roster_empty_or_away_layer_falls_through(void **state)
{
	struct cl_layer layers[3];
	layers[0] = make_layer("empty", CL_DUTY_PRIMARY, abc, 0, 1440, 2026, 1, 5, 8, 0);
	layers[1] = make_layer("weekend", CL_DUTY_PRIMARY, evening_crew, 2, 1440, 2026, 1, 5, 8, 0);
	restrict_to(&layers[1], SAT_SUN, 0, 24 * 60);
	layers[2] = weekly(2);
	struct cl_team team = make_team(layers, 3);
	struct cl_oncall oc;
	/* Wednesday 2026-11-11: the empty layer and the weekend layer give
	 * nobody, the weekly layer answers. */
	assert_int_equal(cl_roster_oncall_at(&team, NULL, 0, utc(2026, 11, 11, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.source, "day");
	assert_string_equal(oc.primary, "anna");
	/* Saturday: the weekend layer. */
	assert_int_equal(cl_roster_oncall_at(&team, NULL, 0, utc(2026, 11, 14, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.source, "weekend");
	/* An empty member list, or no list at all, is never "someone". */
	assert_null(member(&layers[0], utc(2026, 11, 11, 12, 0)));
	layers[0].n_members = 3;
	layers[0].members = NULL;
	assert_null(member(&layers[0], utc(2026, 11, 11, 12, 0)));
	assert_string_equal(primary_at(&team, NULL, 0, utc(2026, 11, 11, 12, 0)), "anna");
}

static void test_roster_override_covers_christmas(void **state)
{
	struct cl_layer l = weekly(2);
	struct cl_team team = make_team(&l, 1);
	/* "Bo covers for Anna 2026-12-24 16:00 to 2026-12-27 08:00" (CET). */
	int64_t from = utc(2026, 12, 24, 15, 0), to = utc(2026, 12, 27, 7, 0);
	struct cl_override o = make_override("opsoegende", CL_DUTY_PRIMARY, "bo", "", from, to);
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, from - 1, &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.source, "day");
	assert_int_equal(oc.shift_start_ms, utc(2026, 12, 21, 7, 0));
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, from, &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	assert_ptr_equal(oc.primary, o.person);
	assert_string_equal(oc.source, "override");
	assert_int_equal(oc.shift_start_ms, from);
	assert_int_equal(oc.shift_end_ms, to);
	assert_string_equal(oc.duty[CL_DUTY_PRIMARY].source, "override");
	assert_int_equal(oc.duty[CL_DUTY_PRIMARY].since_ms, from);
	assert_int_equal(oc.duty[CL_DUTY_PRIMARY].until_ms, to);
	assert_string_equal(primary_at(&team, &o, 1, utc(2026, 12, 26, 3, 0)), "bo");
	assert_string_equal(primary_at(&team, &o, 1, to - 1), "bo");
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, to, &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.source, "day");
	/* Several in force: the one that started last wins. */
	struct cl_override two[2] = {o, make_override("opsoegende", CL_DUTY_PRIMARY, "carl", "",
	                                              utc(2026, 12, 25, 11, 0),
	                                              utc(2026, 12, 25, 23, 0))};
	assert_string_equal(primary_at(&team, two, 2, utc(2026, 12, 25, 10, 59)), "bo");
	assert_string_equal(primary_at(&team, two, 2, utc(2026, 12, 25, 11, 0)), "carl");
	assert_string_equal(primary_at(&team, two, 2, utc(2026, 12, 25, 23, 0)), "bo");
	/* An override beats a restricted higher layer too. */
	struct realistic r;
	realistic_init(&r);
	assert_string_equal(primary_at(&r.team, &o, 1, utc(2026, 12, 24, 20, 0)), "bo");
}

static void test_roster_override_replaces_only_that_person(void **state)
{
	struct cl_layer l = weekly(2);
	struct cl_team team = make_team(&l, 1);
	/* Carl takes bo's shifts in December, and only bo's. */
	struct cl_override o = make_override("opsoegende", CL_DUTY_PRIMARY, "carl", "bo",
	                                     utc(2026, 12, 1, 0, 0), utc(2027, 1, 1, 0, 0));
	struct cl_oncall oc;
	/* Week of 21 December: anna, untouched. */
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, utc(2026, 12, 23, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.source, "day");
	/* Week of 28 December: bo's, so carl; the cover lasts as long as both
	 * bo's shift and the override do. */
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, utc(2026, 12, 29, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "carl");
	assert_string_equal(oc.source, "override");
	assert_int_equal(oc.shift_start_ms, utc(2026, 12, 28, 7, 0));
	assert_int_equal(oc.shift_end_ms, utc(2027, 1, 1, 0, 0));
	/* Week of 14 December: bo's, the whole shift. */
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, utc(2026, 12, 16, 12, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "carl");
	assert_int_equal(oc.shift_start_ms, utc(2026, 12, 14, 7, 0));
	assert_int_equal(oc.shift_end_ms, utc(2026, 12, 21, 7, 0));
	/* Week of 30 November: bo's, but before the override starts. */
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, utc(2026, 11, 30, 23, 59), &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	assert_int_equal(cl_roster_oncall_at(&team, &o, 1, utc(2026, 12, 1, 0, 0), &oc), CL_OK);
	assert_string_equal(oc.primary, "carl");
	assert_int_equal(oc.shift_start_ms, utc(2026, 12, 1, 0, 0));
	/* Two that replace different people each apply only in their
	 * person's weeks, whichever started last. */
	struct cl_override two[2] = {make_override("opsoegende", CL_DUTY_PRIMARY, "dorthe", "anna",
	                                           utc(2026, 12, 2, 0, 0), utc(2027, 1, 1, 0, 0)),
	                             o};
	assert_string_equal(primary_at(&team, two, 2, utc(2026, 12, 16, 12, 0)), "carl");
	assert_string_equal(primary_at(&team, two, 2, utc(2026, 12, 23, 12, 0)), "dorthe");
}

static void test_roster_override_for_other_team_or_duty_ignored(void **state)
{
	struct realistic r;
	realistic_init(&r);
	int64_t at = utc(2026, 12, 23, 12, 0); /* Wednesday, anna on day duty */
	struct cl_override ovr[3] = {
	    make_override("nattevagt", CL_DUTY_PRIMARY, "bo", "", at - DAY_MS, at + DAY_MS),
	    make_override("opsoegende", CL_DUTY_BACKUP, "carl", "", at - DAY_MS, at + DAY_MS),
	    /* Empty, and naming nobody: ignored. */
	    make_override("opsoegende", CL_DUTY_PRIMARY, "", "", at - DAY_MS, at + DAY_MS)};
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(&r.team, ovr, 3, at, &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_string_equal(oc.source, "day");
	assert_string_equal(oc.backup, "carl");
	assert_string_equal(oc.duty[CL_DUTY_BACKUP].source, "override");
	assert_int_equal(oc.duty[CL_DUTY_BACKUP].since_ms, at - DAY_MS);
	/* An override that has ended, or has an empty interval, is ignored. */
	struct cl_override done[2] = {
	    make_override("opsoegende", CL_DUTY_PRIMARY, "bo", "", at - DAY_MS, at),
	    make_override("opsoegende", CL_DUTY_PRIMARY, "bo", "", at, at)};
	assert_string_equal(primary_at(&r.team, done, 2, at), "anna");
}

static void test_roster_backup_independent_of_primary(void **state)
{
	struct realistic r;
	realistic_init(&r);
	struct cl_oncall oc;
	/* Friday evening: primary from the evening layer, back-up from the
	 * plain one; the weekend layer opens at midnight. */
	int64_t fri = utc(2026, 11, 13, 22, 59); /* 23:59 CET */
	assert_int_equal(cl_roster_oncall_at(&r.team, NULL, 0, fri, &oc), CL_OK);
	assert_string_equal(oc.primary, "eva");
	assert_string_equal(oc.duty[CL_DUTY_BACKUP].person, "dorthe");
	assert_int_equal(oc.duty[CL_DUTY_BACKUP].since_ms, utc(2026, 11, 9, 7, 0));
	assert_int_equal(oc.duty[CL_DUTY_BACKUP].until_ms, utc(2026, 11, 16, 7, 0));
	assert_int_equal(cl_roster_oncall_at(&r.team, NULL, 0, fri + MIN_MS, &oc), CL_OK);
	assert_string_equal(oc.primary, "eva");
	assert_string_equal(oc.backup, "gitte");
	assert_int_equal(oc.duty[CL_DUTY_BACKUP].until_ms, utc(2026, 11, 15, 23, 0));
	/* A primary override leaves the back-up alone. */
	struct cl_override o =
	    make_override("opsoegende", CL_DUTY_PRIMARY, "bo", "", fri - HOUR_MS, fri + DAY_MS);
	assert_int_equal(cl_roster_oncall_at(&r.team, &o, 1, fri, &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	assert_string_equal(oc.backup, "dorthe");
	assert_string_equal(oc.duty[CL_DUTY_BACKUP].source, "backup");
	/* A team without back-up layers has no back-up. */
	struct cl_team t = make_team(r.layers, 2);
	assert_int_equal(cl_roster_oncall_at(&t, NULL, 0, fri, &oc), CL_OK);
	assert_null(oc.backup);
	assert_null(oc.duty[CL_DUTY_BACKUP].source);
}

static void test_roster_before_layer_start_rotates_backwards(void **state)
{
	struct cl_layer l = weekly(3);
	int64_t mid = utc(2026, 1, 7, 12, 0);
	assert_string_equal(member(&l, mid - 1 * WEEK_MS), "carl");
	assert_string_equal(member(&l, mid - 2 * WEEK_MS), "bo");
	assert_string_equal(member(&l, mid - 3 * WEEK_MS), "anna");
	assert_string_equal(member(&l, mid - 4 * WEEK_MS), "carl");
	/* Summer of the year before, across a DST change: 2025-06-04 is 31
	 * weeks before 2026-01-07; -31 mod 3 = 2. */
	int64_t s, e;
	assert_string_equal(cl_layer_member_at(&l, utc(2025, 6, 4, 12, 0), &s, &e), "carl");
	assert_int_equal(s, utc(2025, 6, 2, 6, 0));
	assert_int_equal(e, utc(2025, 6, 9, 6, 0));
	/* Daily shifts a few days before the start: k = -1, -2, -3. */
	struct cl_layer d = make_layer("day", CL_DUTY_PRIMARY, abc, 3, 1440, 2026, 1, 5, 8, 0);
	assert_string_equal(member(&d, utc(2026, 1, 5, 6, 59)), "carl");
	assert_string_equal(member(&d, utc(2026, 1, 3, 12, 0)), "bo");
	assert_string_equal(member(&d, utc(2026, 1, 2, 12, 0)), "anna");
	/* Before the epoch, far away. */
	int64_t at = utc(1969, 12, 31, 12, 0);
	assert_non_null(cl_layer_member_at(&l, at, &s, &e));
	assert_true(s <= at && at < e);
	assert_int_equal(e - s, WEEK_MS);
	/* And the walk tiles backwards through DST too. */
	struct walk_count c = walk(&d, utc(2025, 10, 15, 0, 0), utc(2025, 11, 5, 0, 0), DAY_MS);
	assert_int_equal(c.longer, 1);
}

static void test_roster_no_primary_not_found(void **state)
{
	struct realistic r;
	realistic_init(&r);
	struct cl_oncall oc;
	/* Only back-up layers: NOTFOUND, but the back-up is still told. */
	struct cl_team backup_only = make_team(&r.layers[2], 2);
	assert_int_equal(cl_roster_oncall_at(&backup_only, NULL, 0, utc(2026, 11, 14, 12, 0), &oc),
	                 CL_ERR_NOTFOUND);
	assert_null(oc.primary);
	assert_string_equal(oc.backup, "gitte");
	/* No layers at all. */
	struct cl_team none = make_team(NULL, 0);
	assert_int_equal(cl_roster_oncall_at(&none, NULL, 0, 0, &oc), CL_ERR_NOTFOUND);
	/* Only a restricted primary layer, outside its window. */
	struct cl_team evening_only = make_team(r.layers, 1);
	assert_int_equal(cl_roster_oncall_at(&evening_only, NULL, 0, utc(2026, 11, 14, 12, 0), &oc),
	                 CL_ERR_NOTFOUND);
	assert_int_equal(cl_roster_oncall_at(&evening_only, NULL, 0, utc(2026, 11, 13, 20, 0), &oc),
	                 CL_OK);
	/* A primary override alone is enough. */
	struct cl_override o = make_override("opsoegende", CL_DUTY_PRIMARY, "bo", "", 0, HOUR_MS);
	assert_int_equal(cl_roster_oncall_at(&none, &o, 1, 0, &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	/* One that replaces someone replaces nobody here. */
	strcpy(o.replaces, "anna");
	assert_int_equal(cl_roster_oncall_at(&none, &o, 1, 0, &oc), CL_ERR_NOTFOUND);
}

static void test_roster_invalid_arguments(void **state)
{
	struct cl_layer l = weekly(2);
	struct cl_team team = make_team(&l, 1);
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(NULL, NULL, 0, 0, &oc), CL_ERR_INVALID);
	assert_int_equal(cl_roster_oncall_at(&team, NULL, 0, 0, NULL), CL_ERR_INVALID);
	assert_int_equal(cl_roster_oncall_at(&team, NULL, 1, 0, &oc), CL_ERR_INVALID);
	team.layers = NULL;
	assert_int_equal(cl_roster_oncall_at(&team, NULL, 0, 0, &oc), CL_ERR_INVALID);
	/* A layer that cannot be computed has nobody. */
	int64_t s = -1, e = -1;
	assert_null(cl_layer_member_at(NULL, 0, &s, &e));
	assert_int_equal(s, 0);
	assert_int_equal(e, 0);
	assert_null(member(&l, INT64_MAX));
	assert_null(member(&l, INT64_MIN));
	l.shift_min = 59; /* two handoffs could fall in one DST gap */
	assert_null(member(&l, 0));
	l.shift_min = 0;
	assert_null(member(&l, 0));
	l = weekly(2);
	l.start.month = 13;
	assert_null(member(&l, 0));
	l = weekly(2);
	l.start.hour = 24;
	assert_null(member(&l, 0));
	l = weekly(2);
	assert_string_equal(member(&l, 0), "bo");
	assert_string_equal(cl_duty_name(CL_DUTY_PRIMARY), "primary");
	assert_string_equal(cl_duty_name(CL_DUTY_BACKUP), "backup");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roster_weekly_handoff_monday_winter_and_summer),
	    cmocka_unit_test(test_roster_weekly_cycles_and_tiles_two_years),
	    cmocka_unit_test(test_roster_daily_shifts_meet_across_dst),
	    cmocka_unit_test(test_roster_twelve_hour_shifts_meet_across_dst),
	    cmocka_unit_test(test_roster_shift_at_skipped_and_repeated_time),
	    cmocka_unit_test(test_roster_restricted_layers_at_awkward_times),
	    cmocka_unit_test(test_roster_empty_or_away_layer_falls_through),
	    cmocka_unit_test(test_roster_override_covers_christmas),
	    cmocka_unit_test(test_roster_override_replaces_only_that_person),
	    cmocka_unit_test(test_roster_override_for_other_team_or_duty_ignored),
	    cmocka_unit_test(test_roster_backup_independent_of_primary),
	    cmocka_unit_test(test_roster_before_layer_start_rotates_backwards),
	    cmocka_unit_test(test_roster_no_primary_not_found),
	    cmocka_unit_test(test_roster_invalid_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
