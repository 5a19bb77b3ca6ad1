/*
 * include/careline/roster.h: who is on duty for a team at an instant. Here a
 * weekly rotation with a handoff weekday and time in Europe/Copenhagen, plus a
 * fixed back-up; rotation layers, overrides and holidays come later behind the
 * same function. Pure: the answer depends only on the team and the instant.
 */
#ifndef CARELINE_ROSTER_H
#define CARELINE_ROSTER_H

#include <stdint.h>

#include "careline/config.h"
#include "careline/err.h"

struct cl_oncall {
	const char *primary;    /* person id, borrowed from the config */
	const char *backup;     /* person id or NULL */
	const char *source;     /* "rotation" (later also "override") */
	int64_t shift_start_ms; /* when the primary's shift began */
	int64_t shift_end_ms;   /* when it hands off */
};

/* Who answers team at at_ms. CL_ERR_NOTFOUND if the rotation is empty. */
enum cl_err cl_roster_oncall_at(const struct cl_team *team, int64_t at_ms, struct cl_oncall *out);

#endif
