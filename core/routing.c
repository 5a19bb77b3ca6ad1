/*
 * core/routing.c owns the lookup report → area → team → policy: postcode
 * first, then the reporter's estate (folded, as the config stores it), then
 * the configured default area. Pure lookup over the borrowed config; called by
 * the intake path when a ticket is created. Service hours are not decided here.
 */
#include "careline/routing.h"

#include <string.h>

#include "careline/fold.h"

/* Room for any estate id (CL_ID_MAX) plus slack: a longer folded input
 * cannot equal a configured id, so truncation never causes a false match. */
#define ESTATE_FOLD_MAX (2 * CL_ID_MAX)

static const struct cl_area *by_postcode(const struct cl_config *cfg, const char *postcode)
{
	for (size_t i = 0; i < cfg->n_areas; i++) {
		const struct cl_area *area = &cfg->areas[i];
		for (size_t j = 0; j < area->n_postcodes; j++)
			if (strcmp(area->postcodes[j], postcode) == 0)
				return area;
	}
	return NULL;
}

static const struct cl_area *by_estate(const struct cl_config *cfg, const char *estate)
{
	char folded[ESTATE_FOLD_MAX];
	size_t len = cl_fold(estate, folded, sizeof(folded));
	if (len == 0 || len >= CL_ID_MAX)
		return NULL;
	for (size_t i = 0; i < cfg->n_areas; i++) {
		const struct cl_area *area = &cfg->areas[i];
		for (size_t j = 0; j < area->n_estates; j++)
			if (strcmp(area->estates[j], folded) == 0)
				return area;
	}
	return NULL;
}

/* A team or area without a policy, or one with no team, routes nowhere
 * (CL_ERR_NOTFOUND); the config loader is expected to reject such configs. */
enum cl_err cl_route_find(const struct cl_config *cfg, const char *postcode, const char *estate,
                          enum cl_urgency urgency, struct cl_route *out)
{
	if (cfg == NULL || out == NULL || (unsigned)urgency >= CL_URGENCY__COUNT)
		return CL_ERR_INVALID;
	*out = (struct cl_route){0};

	const struct cl_area *area = NULL;
	const char *matched_by = NULL;
	if (postcode != NULL && postcode[0] != '\0' && (area = by_postcode(cfg, postcode)) != NULL)
		matched_by = "postcode";
	else if (estate != NULL && estate[0] != '\0' && (area = by_estate(cfg, estate)) != NULL)
		matched_by = "estate";
	else if ((area = cfg->default_area) != NULL)
		matched_by = "default";
	else
		return CL_ERR_NOTFOUND;

	const struct cl_team *team = area->team;
	if (team == NULL)
		return CL_ERR_NOTFOUND;
	const struct cl_policy *policy = team->policy;
	if ((urgency == CL_P0 || urgency == CL_P1) && team->policy_acute != NULL)
		policy = team->policy_acute;
	if (policy == NULL)
		return CL_ERR_NOTFOUND;

	out->area = area;
	out->team = team;
	out->policy = policy;
	out->matched_by = matched_by;
	return CL_OK;
}
