/*
 * core/roster.c owns the answer to "who is on duty for this team at t": the
 * shifts of rotation layers in Europe/Copenhagen wall-clock time, layer
 * priority and one-off overrides, per duty. Pure: no clock, no I/O, no config
 * loading. Called by the escalation engine and the on-call API.
 */
#include "careline/roster.h"

#include <string.h>

#include "careline/calendar.h"
#include "careline/tz.h"

/*
 * A layer's shifts, precisely. Let S be layer->start read as "civil seconds
 * since 1970-01-01 00:00 local" and L = shift_min minutes. Handoff k (any
 * integer k) is the instant when Copenhagen clocks show S + k*L, converted by
 * cl_tz_cph_to_utc: an ambiguous time is its first occurrence, a skipped time
 * moves forward by the gap (02:30 → 03:30 CEST). members[k mod n]
 * (mathematical modulo, so also for k < 0) is on duty from handoff k
 * inclusive to handoff k + 1 exclusive. Consecutive shifts share their
 * boundary instant: no gap, no overlap. That needs handoffs in order, which
 * holds for L >= 60 minutes (the DST gap is one hour), so shorter shifts are
 * refused (the layer has nobody).
 */

#define S_PER_MIN 60
#define S_PER_DAY INT64_C(86400)
/* Instants beyond roughly +-30000 years, layer starts outside years 1..9999
 * and shifts over ten years are refused, so the arithmetic cannot overflow. */
#define AT_LIMIT_MS   INT64_C(1000000000000000)
#define SHIFT_MIN_MIN 60
#define SHIFT_MAX_MIN (INT64_C(3653) * 1440)

const char *cl_duty_name(enum cl_duty d)
{
	switch (d) {
	case CL_DUTY_PRIMARY:
		return "primary";
	case CL_DUTY_BACKUP:
		return "backup";
	case CL_DUTY__COUNT:
		break;
	}
	return "?";
}

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

static int64_t civil_seconds(const struct cl_civil *c)
{
	return cl_days_from_civil(c->year, c->month, c->day) * S_PER_DAY + (int64_t)c->hour * 3600 +
	       (int64_t)c->minute * 60 + c->second;
}

static bool layer_valid(const struct cl_layer *layer)
{
	const struct cl_civil *s = &layer->start;
	return layer->shift_min >= SHIFT_MIN_MIN && layer->shift_min <= SHIFT_MAX_MIN &&
	       s->year >= 1 && s->year <= 9999 && s->month >= 1 && s->month <= 12 && s->day >= 1 &&
	       s->day <= 31 && s->hour >= 0 && s->hour <= 23 && s->minute >= 0 && s->minute <= 59 &&
	       s->second >= 0 && s->second <= 59;
}

/* Handoff k of a layer whose start is s0 civil seconds, as an instant. */
static int64_t handoff_at(int64_t s0, int64_t shift_s, int64_t k)
{
	int64_t s = s0 + k * shift_s;
	int64_t secs = floor_mod(s, S_PER_DAY);
	struct cl_civil local = {0};
	cl_civil_from_days(floor_div(s, S_PER_DAY), &local.year, &local.month, &local.day);
	local.hour = (int)(secs / 3600);
	local.minute = (int)(secs / 60 % 60);
	local.second = (int)(secs % 60);
	return cl_tz_cph_to_utc(&local);
}

static bool on_a_closing_day(const struct cl_layer *layer, int64_t at_ms);

const char *cl_layer_member_at(const struct cl_layer *layer, int64_t at_ms, int64_t *start_ms,
                               int64_t *end_ms)
{
	if (start_ms != NULL)
		*start_ms = 0;
	if (end_ms != NULL)
		*end_ms = 0;
	if (layer == NULL || layer->members == NULL || layer->n_members == 0 ||
	    !layer_valid(layer) || at_ms < -AT_LIMIT_MS || at_ms > AT_LIMIT_MS)
		return NULL;
	if (layer->restricted && !cl_hours_open_at(&layer->restrict_to, NULL, at_ms) &&
	    !on_a_closing_day(layer, at_ms)) {
		/* The restricted-away interval: when it ends is cheap to say,
		 * when it began is not. */
		if (end_ms != NULL)
			*end_ms = cl_hours_next_open(&layer->restrict_to, NULL, at_ms);
		return NULL;
	}

	int64_t s0 = civil_seconds(&layer->start);
	int64_t shift_s = layer->shift_min * S_PER_MIN;
	struct cl_civil now;
	cl_tz_cph_from_utc(at_ms, &now);
	/* Counting on the wall clock is off by at most one shift around a DST
	 * change; the loops settle it. */
	int64_t k = floor_div(civil_seconds(&now) - s0, shift_s);
	int64_t start = handoff_at(s0, shift_s, k);
	int64_t end = handoff_at(s0, shift_s, k + 1);
	while (at_ms < start) {
		k--;
		end = start;
		start = handoff_at(s0, shift_s, k);
	}
	while (at_ms >= end) {
		k++;
		start = end;
		end = handoff_at(s0, shift_s, k + 1);
	}

	if (start_ms != NULL)
		*start_ms = start;
	if (end_ms != NULL)
		*end_ms = end;
	return layer->members[floor_mod(k, (int64_t)layer->n_members)];
}

/* A layer restricted to "holidays" too covers whole closing days. */
static bool on_a_closing_day(const struct cl_layer *layer, int64_t at_ms)
{
	if (!layer->on_holidays)
		return false;
	struct cl_civil local;
	cl_tz_cph_from_utc(at_ms, &local);
	return cl_holiday_is(layer->holidays,
	                     cl_days_from_civil(local.year, local.month, local.day), NULL);
}

/* The highest-priority layer of duty d that has someone at at_ms. A
 * restricted layer's assignment ends when its window closes, if that comes
 * before the shift's end. */
static struct cl_duty_answer layer_answer(const struct cl_team *team, enum cl_duty d, int64_t at_ms)
{
	struct cl_duty_answer a = {0};
	for (size_t i = 0; i < team->n_layers; i++) {
		const struct cl_layer *layer = &team->layers[i];
		if (layer->duty != d)
			continue;
		int64_t start, end;
		const char *who = cl_layer_member_at(layer, at_ms, &start, &end);
		if (who == NULL)
			continue;
		if (layer->restricted && !on_a_closing_day(layer, at_ms)) {
			int64_t close = cl_hours_next_close(&layer->restrict_to, NULL, at_ms);
			if (close != 0 && close < end)
				end = close;
		}
		a.person = who;
		a.source = layer->name;
		a.since_ms = start;
		a.until_ms = end;
		break;
	}
	return a;
}

/* The override of team for duty d in force at at_ms, given who the layers
 * put on duty (`would`, may be NULL): the one that started last (on a tie the
 * higher id) among those covering at_ms whose `replaces` is empty or is
 * `would`. Overrides naming nobody are ignored. */
static const struct cl_override *override_at(const struct cl_team *team,
                                             const struct cl_override *ovr, size_t n_ovr,
                                             enum cl_duty d, int64_t at_ms, const char *would)
{
	const struct cl_override *best = NULL;
	for (size_t i = 0; i < n_ovr; i++) {
		const struct cl_override *o = &ovr[i];
		if (o->duty != d || o->start_ms > at_ms || at_ms >= o->end_ms ||
		    o->person[0] == '\0' || strcmp(o->team, team->id) != 0)
			continue;
		if (o->replaces[0] != '\0' && (would == NULL || strcmp(o->replaces, would) != 0))
			continue;
		if (best == NULL || o->start_ms > best->start_ms ||
		    (o->start_ms == best->start_ms && o->id > best->id))
			best = o;
	}
	return best;
}

enum cl_err cl_roster_oncall_at(const struct cl_team *team, const struct cl_override *ovr,
                                size_t n_ovr, int64_t at_ms, struct cl_oncall *out)
{
	if (team == NULL || out == NULL || (n_ovr > 0 && ovr == NULL) ||
	    (team->n_layers > 0 && team->layers == NULL))
		return CL_ERR_INVALID;
	*out = (struct cl_oncall){0};

	for (int d = 0; d < CL_DUTY__COUNT; d++) {
		struct cl_duty_answer a = layer_answer(team, (enum cl_duty)d, at_ms);
		const struct cl_override *o =
		    override_at(team, ovr, n_ovr, (enum cl_duty)d, at_ms, a.person);
		if (o != NULL) {
			/* One that replaces someone lasts only while their
			 * shift does. */
			bool clip = o->replaces[0] != '\0';
			a.person = o->person;
			a.source = "override";
			a.since_ms = clip && a.since_ms > o->start_ms ? a.since_ms : o->start_ms;
			a.until_ms = clip && a.until_ms != 0 && a.until_ms < o->end_ms ? a.until_ms
			                                                               : o->end_ms;
		}
		out->duty[d] = a;
	}

	const struct cl_duty_answer *p = &out->duty[CL_DUTY_PRIMARY];
	out->primary = p->person;
	out->backup = out->duty[CL_DUTY_BACKUP].person;
	out->source = p->source;
	out->shift_start_ms = p->since_ms;
	out->shift_end_ms = p->until_ms;
	return out->primary != NULL ? CL_OK : CL_ERR_NOTFOUND;
}
