/*
 * include/careline/routing.h: a report's postcode or its reporter's estate →
 * area → team → escalation policy for the ticket's urgency. Pure lookup over
 * the config; every report routes somewhere (the configured default area).
 */
#ifndef CARELINE_ROUTING_H
#define CARELINE_ROUTING_H

#include "careline/config.h"
#include "careline/err.h"
#include "careline/report.h"

struct cl_route {
	const struct cl_area *area;
	const struct cl_team *team;
	const struct cl_policy *policy;
	const char *matched_by; /* "postcode", "estate" or "default" */
};

/* postcode and estate may be NULL or empty. Postcode wins over estate.
 * CL_ERR_NOTFOUND only when nothing matches and no default area is set. */
enum cl_err cl_route_find(const struct cl_config *cfg, const char *postcode, const char *estate,
                          enum cl_urgency urgency, struct cl_route *out);

#endif
