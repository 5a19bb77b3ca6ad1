/*
 * core/report.c: the report vocabulary: category and urgency names, category
 * sets, address helpers and struct cl_report's lifetime. No I/O.
 */
#include "careline/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/fold.h"

static const char *const category_ids[CL_CAT__COUNT] = {
    [CL_CAT_DANGER_TO_LIFE] = "danger_to_life",
    [CL_CAT_THREATS_VIOLENCE] = "threats_violence",
    [CL_CAT_AGITATION] = "agitation",
    [CL_CAT_NOISE] = "noise",
    [CL_CAT_NOT_SEEN] = "not_seen",
    [CL_CAT_SQUALOR] = "squalor",
    [CL_CAT_PROPERTY_DAMAGE] = "property_damage",
    [CL_CAT_SELF_NEGLECT] = "self_neglect",
    [CL_CAT_DISCHARGED] = "discharged",
    [CL_CAT_MONEY_EVICTION] = "money_eviction",
    [CL_CAT_CHILDREN] = "children",
    [CL_CAT_OTHER] = "other",
};
_Static_assert(sizeof(category_ids) / sizeof(category_ids[0]) == CL_CAT__COUNT,
               "a name for every category");

static const char *const urgency_names[CL_URGENCY__COUNT] = {"P0", "P1", "P2", "P3"};

static const char *const channel_names[CL_CHANNEL__COUNT] = {
    [CL_CHANNEL_HTTP] = "http",
    [CL_CHANNEL_MQTT] = "mqtt",
    [CL_CHANNEL_SMS] = "sms",
    [CL_CHANNEL_IVR] = "ivr",
};

const char *cl_category_id(enum cl_category cat)
{
	if ((unsigned)cat >= CL_CAT__COUNT)
		return NULL;
	return category_ids[cat];
}

enum cl_err cl_category_parse(const char *id, enum cl_category *out)
{
	for (int i = 0; i < CL_CAT__COUNT; i++) {
		if (strcmp(id, category_ids[i]) == 0) {
			*out = (enum cl_category)i;
			return CL_OK;
		}
	}
	return CL_ERR_INVALID;
}

bool cl_categories_has(const struct cl_categories *set, enum cl_category cat)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->cats[i] == cat)
			return true;
	}
	return false;
}

void cl_categories_add(struct cl_categories *set, enum cl_category cat)
{
	if ((unsigned)cat >= CL_CAT__COUNT || cl_categories_has(set, cat) ||
	    set->n >= CL_CAT__COUNT)
		return;
	set->cats[set->n++] = cat;
}

char *cl_categories_format(const struct cl_categories *set, char *buf, size_t len)
{
	size_t used = 0;
	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < set->n && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		                 category_ids[set->cats[i]]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

enum cl_err cl_categories_parse(const char *s, struct cl_categories *out)
{
	out->n = 0;
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		char id[32];
		if (n == 0 || n >= sizeof(id))
			return CL_ERR_INVALID;
		memcpy(id, s, n);
		id[n] = '\0';
		enum cl_category cat;
		if (cl_category_parse(id, &cat) != CL_OK)
			return CL_ERR_INVALID;
		cl_categories_add(out, cat);
		s = comma ? comma + 1 : NULL;
	}
	return CL_OK;
}

const char *cl_urgency_name(enum cl_urgency u)
{
	if ((unsigned)u >= CL_URGENCY__COUNT)
		return "P3";
	return urgency_names[u];
}

enum cl_err cl_urgency_parse(const char *s, enum cl_urgency *out)
{
	for (int i = 0; i < CL_URGENCY__COUNT; i++) {
		if (strcasecmp(s, urgency_names[i]) == 0) {
			*out = (enum cl_urgency)i;
			return CL_OK;
		}
	}
	return CL_ERR_INVALID;
}

const char *cl_channel_name(enum cl_channel ch)
{
	if ((unsigned)ch >= CL_CHANNEL__COUNT)
		return "unknown";
	return channel_names[ch];
}

bool cl_address_empty(const struct cl_address *a)
{
	return !a->street[0] && !a->number[0] && !a->floor[0] && !a->side[0] && !a->postcode[0];
}

void cl_address_link_key(const struct cl_address *a, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (!a->street[0] || !a->number[0])
		return;
	char raw[160];
	snprintf(raw, sizeof(raw), "%s %s %s %s", a->street, a->number, a->floor, a->side);
	char folded[320];
	cl_fold(raw, folded, sizeof(folded));
	snprintf(buf, len, "%s", folded);
}

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	if (*used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

void cl_address_format(const struct cl_address *a, char *buf, size_t len)
{
	size_t used = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	if (a->street[0])
		append(buf, len, &used, "%s", a->street);
	if (a->number[0])
		append(buf, len, &used, "%s%s", used ? " " : "nr. ", a->number);
	if (a->floor[0] || a->side[0]) {
		append(buf, len, &used, "%s", used ? ", " : "");
		if (a->floor[0])
			append(buf, len, &used, "%s.%s", a->floor, a->side[0] ? " " : "");
		if (a->side[0])
			append(buf, len, &used, "%s", a->side);
	}
	if (a->postcode[0])
		append(buf, len, &used, "%s%s%s%s", used ? ", " : "", a->postcode,
		       a->city[0] ? " " : "", a->city);
}

void cl_report_init(struct cl_report *r)
{
	memset(r, 0, sizeof(*r));
}

void cl_report_free(struct cl_report *r)
{
	free(r->text);
	free(r->address_text);
	free(r->reporter_person);
	free(r->reporter_name);
	free(r->reporter_phone);
	free(r->reporter_role);
	free(r->reporter_org);
	free(r->observed_by);
	free(r->resident_name);
	free(r->estate);
	cl_report_init(r);
}
