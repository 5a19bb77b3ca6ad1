/*
 * include/careline/roster.h: who is on duty for a team at an instant. A team
 * has rotation layers per duty (primary, back-up); at any instant the
 * highest-priority layer that is active (inside its restriction, with
 * members) decides; a one-off override ("Bo covers for Anna from ... to ...")
 * beats every layer. Europe/Copenhagen wall-clock semantics: handoffs are
 * wall-clock times; a handoff at a time the clocks skip moves forward, one at
 * a repeated time happens at its first occurrence, so consecutive shifts of a
 * layer meet exactly: no gap, no hour twice. Pure: the answer depends only on
 * the team, the overrides given and the instant.
 */
#ifndef CARELINE_ROSTER_H
#define CARELINE_ROSTER_H

#include <stdint.h>

#include "careline/config.h"
#include "careline/err.h"

/* A one-off override (kept in SQLite, made through the API/carelinectl). */
struct cl_override {
	int64_t id;
	char team[CL_ID_MAX];
	enum cl_duty duty;
	char person[CL_ID_MAX];   /* who is on duty instead */
	char replaces[CL_ID_MAX]; /* only while this person would be; "" = whoever */
	int64_t start_ms;         /* [start, end) */
	int64_t end_ms;
	char note[64]; /* non-personal reason ("holiday cover") */
};

struct cl_duty_answer {
	const char *person; /* borrowed from the config or the override; NULL = nobody */
	const char *source; /* "override" or the layer's name */
	int64_t since_ms;   /* when this assignment began (shift start, override start) */
	int64_t until_ms;   /* when it ends next (0 = not known / open-ended) */
};

struct cl_oncall {
	const char *primary; /* as in .duty[CL_DUTY_PRIMARY].person */
	const char *backup;
	const char *source; /* the primary's source */
	int64_t shift_start_ms;
	int64_t shift_end_ms;
	struct cl_duty_answer duty[CL_DUTY__COUNT];
};

/* Who answers team at at_ms, given the overrides that exist (any team; only
 * team's apply). CL_ERR_NOTFOUND when nobody is primary at at_ms. */
enum cl_err cl_roster_oncall_at(const struct cl_team *team, const struct cl_override *ovr,
                                size_t n_ovr, int64_t at_ms, struct cl_oncall *out);

/* The shift of a layer containing at_ms: the member on duty (NULL when the
 * layer is restricted away or has no members) and the shift's bounds. */
const char *cl_layer_member_at(const struct cl_layer *layer, int64_t at_ms, int64_t *start_ms,
                               int64_t *end_ms);

#endif
