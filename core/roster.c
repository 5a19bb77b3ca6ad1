/*
 * core/roster.c owns the answer to "who is on duty for this team now": the
 * weekly rotation of struct cl_rotation in Europe/Copenhagen time, plus the
 * team's fixed back-up. Pure: reads only the team and the instant it is given;
 * called by the escalation engine and the on-call API. Wall-clock rules: tz.c.
 *
 * The rotation, precisely. Let M be the Monday of the ISO week (Monday to
 * Sunday, Copenhagen dates) that contains anchor_day. Handoff k (any integer k)
 * is the instant when Copenhagen clocks show local date M + 7k + handoff_wday
 * at handoff_minute past midnight, converted by cl_tz_cph_to_utc (an ambiguous
 * time is its first occurrence, a skipped time moves forward by the gap).
 * members[k mod n] (mathematical modulo, so also for k < 0) is on duty from
 * handoff k inclusive to handoff k + 1 exclusive. So members[0]'s shift starts
 * at the handoff that falls in anchor_day's ISO week, whichever weekday
 * anchor_day itself is. Consecutive shifts share their boundary instant: no
 * gap, no overlap; a shift spanning a DST change lasts 167 or 169 hours.
 */
#include "careline/roster.h"

#include "careline/tz.h"

#define MS_PER_WEEK INT64_C(604800000)
/* Instants and anchors beyond roughly +-30000 years are refused, so that the
 * arithmetic below cannot overflow. */
#define AT_LIMIT_MS INT64_C(1000000000000000)
#define DAY_LIMIT   INT64_C(10000000)
#define MINUTES_DAY 1440

/* Handoff k of rot, as an instant; week0 is the Monday of the anchor week. */
static int64_t handoff_at(const struct cl_rotation *rot, int64_t week0, int64_t k)
{
	struct cl_civil local = {0};
	cl_civil_from_days(week0 + 7 * k + rot->handoff_wday, &local.year, &local.month,
	                   &local.day);
	local.hour = rot->handoff_minute / 60;
	local.minute = rot->handoff_minute % 60;
	return cl_tz_cph_to_utc(&local);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return q;
}

enum cl_err cl_roster_oncall_at(const struct cl_team *team, int64_t at_ms, struct cl_oncall *out)
{
	if (team == NULL || out == NULL)
		return CL_ERR_INVALID;
	*out = (struct cl_oncall){0};
	const struct cl_rotation *rot = &team->rotation;
	if (rot->n_members == 0 || rot->members == NULL)
		return CL_ERR_NOTFOUND;
	if (rot->handoff_wday < 0 || rot->handoff_wday > 6 || rot->handoff_minute < 0 ||
	    rot->handoff_minute >= MINUTES_DAY || rot->anchor_day < -DAY_LIMIT ||
	    rot->anchor_day > DAY_LIMIT || at_ms < -AT_LIMIT_MS || at_ms > AT_LIMIT_MS)
		return CL_ERR_INVALID;

	int64_t week0 = rot->anchor_day - cl_weekday(rot->anchor_day);
	int64_t first = handoff_at(rot, week0, 0);
	/* Weeks are 168 h give or take the DST hour, so this guess is off by at
	 * most one; the loops settle it. */
	int64_t k = floor_div(at_ms - first, MS_PER_WEEK);
	int64_t start = handoff_at(rot, week0, k);
	int64_t end = handoff_at(rot, week0, k + 1);
	while (at_ms < start) {
		k--;
		end = start;
		start = handoff_at(rot, week0, k);
	}
	while (at_ms >= end) {
		k++;
		start = end;
		end = handoff_at(rot, week0, k + 1);
	}

	int64_t n = (int64_t)rot->n_members;
	int64_t idx = ((k % n) + n) % n;
	out->primary = rot->members[idx];
	out->backup = team->backup[0] != '\0' ? team->backup : NULL;
	out->source = "rotation";
	out->shift_start_ms = start;
	out->shift_end_ms = end;
	return CL_OK;
}
