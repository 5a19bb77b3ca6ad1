/*
 * gateway/json_report.c owns the JSON shapes of DESIGN.md §10 shared by the
 * HTTP API and MQTT: a report object → struct cl_report (strict types, clear
 * field errors), and answers, tickets and errors → JSON. Texts shown to people
 * come from config/texts via cl_texts_get.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/texts.h"
#include "gateway.h"

#define MAX_TEXT_BYTES  8192
#define MAX_FIELD_BYTES 256

bool gw_is_uuid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

static enum cl_err field_err(char *err, size_t errlen, const char *field, const char *what)
{
	snprintf(err, errlen, "%s: %s", field, what);
	return CL_ERR_INVALID;
}

/* Copy an optional string member; absent or null leaves *dst NULL. */
static enum cl_err opt_string(json_t *obj, const char *key, const char *path, size_t max,
                              char **dst, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return CL_OK;
	if (!json_is_string(v))
		return field_err(err, errlen, path, "must be a string");
	size_t len = json_string_length(v);
	if (len > max)
		return field_err(err, errlen, path, "too long");
	if (memchr(json_string_value(v), '\0', len))
		return field_err(err, errlen, path, "contains a NUL character");
	free(*dst);
	*dst = strndup(json_string_value(v), len);
	return *dst ? CL_OK : CL_ERR_NOMEM;
}

static enum cl_err opt_bool(json_t *obj, const char *key, const char *path, bool *dst, char *err,
                            size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return CL_OK;
	if (!json_is_boolean(v))
		return field_err(err, errlen, path, "must be true or false");
	*dst = json_is_true(v);
	return CL_OK;
}

static enum cl_err copy_fixed(json_t *obj, const char *key, const char *path, char *dst, size_t len,
                              char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return CL_OK;
	if (!json_is_string(v) && !json_is_integer(v))
		return field_err(err, errlen, path, "must be a string");
	char buf[128];
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (json_string_length(v) >= sizeof(buf))
		return field_err(err, errlen, path, "too long");
	else
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	if (strlen(buf) >= len)
		return field_err(err, errlen, path, "too long");
	memcpy(dst, buf, strlen(buf) + 1);
	return CL_OK;
}

static enum cl_err parse_address(json_t *v, struct cl_report *r, char *err, size_t errlen)
{
	if (!v || json_is_null(v))
		return CL_OK;
	if (json_is_string(v)) {
		if (json_string_length(v) > MAX_FIELD_BYTES)
			return field_err(err, errlen, "address", "too long");
		r->address_text = strndup(json_string_value(v), json_string_length(v));
		return r->address_text ? CL_OK : CL_ERR_NOMEM;
	}
	if (!json_is_object(v))
		return field_err(err, errlen, "address", "must be an object or a string");
	struct cl_address *a = &r->address;
	enum cl_err e;
	if ((e = copy_fixed(v, "street", "address.street", a->street, sizeof(a->street), err,
	                    errlen)) ||
	    (e = copy_fixed(v, "number", "address.number", a->number, sizeof(a->number), err,
	                    errlen)) ||
	    (e = copy_fixed(v, "floor", "address.floor", a->floor, sizeof(a->floor), err,
	                    errlen)) ||
	    (e = copy_fixed(v, "side", "address.side", a->side, sizeof(a->side), err, errlen)) ||
	    (e = copy_fixed(v, "postcode", "address.postcode", a->postcode, sizeof(a->postcode),
	                    err, errlen)) ||
	    (e = copy_fixed(v, "city", "address.city", a->city, sizeof(a->city), err, errlen)))
		return e;
	if (a->postcode[0] && (strlen(a->postcode) != 4 || strspn(a->postcode, "0123456789") != 4))
		return field_err(err, errlen, "address.postcode", "must be 4 digits");
	return CL_OK;
}

enum cl_err gw_json_to_report(json_t *obj, struct cl_report *r, char *err, size_t errlen)
{
	if (!json_is_object(obj))
		return field_err(err, errlen, "body", "must be a JSON object");
	json_t *id = json_object_get(obj, "report_id");
	if (!json_is_string(id) || !gw_is_uuid(json_string_value(id)))
		return field_err(err, errlen, "report_id", "required, a UUID");
	snprintf(r->idem_ns, sizeof(r->idem_ns), "app");
	/* UUIDs compare case-insensitively: store them lowercased. */
	const char *s = json_string_value(id);
	size_t i;
	for (i = 0; s[i] && i < sizeof(r->key) - 1; i++)
		r->key[i] = (char)tolower((unsigned char)s[i]);
	r->key[i] = '\0';

	json_t *text = json_object_get(obj, "text");
	if (!json_is_string(text))
		return field_err(err, errlen, "text", "required, a string");
	enum cl_err e;
	if ((e = opt_string(obj, "text", "text", MAX_TEXT_BYTES, &r->text, err, errlen)))
		return e;

	json_t *cat = json_object_get(obj, "category");
	if (cat && !json_is_null(cat)) {
		if (!json_is_string(cat) ||
		    cl_category_parse(json_string_value(cat), &r->category_hint) != CL_OK)
			return field_err(err, errlen, "category", "unknown category id");
		r->has_category_hint = true;
	}
	if ((e = parse_address(json_object_get(obj, "address"), r, err, errlen)))
		return e;
	if ((e = opt_bool(obj, "anonymous", "anonymous", &r->anonymous, err, errlen)))
		return e;
	json_t *rep = json_object_get(obj, "reporter");
	if (rep && !json_is_null(rep)) {
		if (!json_is_object(rep))
			return field_err(err, errlen, "reporter", "must be an object");
		if ((e = opt_string(rep, "name", "reporter.name", MAX_FIELD_BYTES,
		                    &r->reporter_name, err, errlen)) ||
		    (e = opt_string(rep, "phone", "reporter.phone", 32, &r->reporter_phone, err,
		                    errlen)) ||
		    (e = opt_string(rep, "role", "reporter.role", 64, &r->reporter_role, err,
		                    errlen)) ||
		    (e = opt_string(rep, "org", "reporter.org", MAX_FIELD_BYTES, &r->reporter_org,
		                    err, errlen)))
			return e;
	}
	json_t *res = json_object_get(obj, "resident");
	if (res && !json_is_null(res)) {
		if (!json_is_object(res))
			return field_err(err, errlen, "resident", "must be an object");
		if ((e = opt_string(res, "name", "resident.name", MAX_FIELD_BYTES,
		                    &r->resident_name, err, errlen)))
			return e;
	}
	if ((e = opt_string(obj, "observed_by", "observed_by", MAX_FIELD_BYTES, &r->observed_by,
	                    err, errlen)))
		return e;
	json_t *consent = json_object_get(obj, "consent");
	if (consent && !json_is_null(consent)) {
		if (!json_is_object(consent))
			return field_err(err, errlen, "consent", "must be an object");
		if ((e = opt_bool(consent, "callback", "consent.callback", &r->consent_callback,
		                  err, errlen)) ||
		    (e = opt_bool(consent, "disclose_name", "consent.disclose_name",
		                  &r->consent_disclose_name, err, errlen)))
			return e;
	}
	if (r->anonymous) {
		/* "reporter is ignored when anonymous is true", except a phone
		 * number the reporter explicitly wants to be called back on. */
		free(r->reporter_name);
		free(r->reporter_org);
		r->reporter_name = r->reporter_org = NULL;
		if (!r->consent_callback) {
			free(r->reporter_phone);
			r->reporter_phone = NULL;
		}
	}
	return CL_OK;
}

json_t *gw_json_time(int64_t ms)
{
	if (!ms)
		return json_null();
	char buf[32];
	cl_time_format(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *gw_json_categories(const struct cl_categories *c)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < c->n; i++)
		json_array_append_new(arr, json_string(cl_category_id(c->cats[i])));
	return arr;
}

json_t *gw_json_error(const char *code, const char *message, const char *by)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (by && by[0])
		json_object_set_new(e, "by", json_string(by));
	return json_pack("{s:o}", "error", e);
}

json_t *gw_json_report_answer(const struct cl_config *cfg, const struct cl_report_answer *a,
                              const char *lang)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o, s:b, s:s}", "ticket", a->ref, "state",
	              cl_ticket_state_name(a->state), "urgency", cl_urgency_name(a->urgency),
	              "categories", gw_json_categories(&a->categories), "duplicate", a->duplicate,
	              "kind", cl_ticket_kind_name(a->kind));
	if (a->linked_ref[0])
		json_object_set_new(o, "linked_to", json_string(a->linked_ref));
	char msg[512];
	struct cl_text_var vars[] = {{"ref", a->ref}};
	cl_texts_render(cl_texts_get(cfg->texts, lang, "receipt.report"), vars, 1, msg,
	                sizeof(msg));
	json_object_set_new(o, "message", json_string(msg));
	if (a->urgency == CL_P0)
		json_object_set_new(
		    o, "advice", json_string(cl_texts_get(cfg->texts, lang, "receipt.advice_112")));
	return o;
}

json_t *gw_json_ticket(const struct cl_config *cfg, const struct cl_ticket *t)
{
	const struct cl_area *area = cl_config_area(cfg, t->area);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:o}", "ref", t->ref, "state",
	              cl_ticket_state_name(t->state), "urgency", cl_urgency_name(t->urgency),
	              "categories", gw_json_categories(&t->categories), "area", t->area,
	              "area_name", area ? area->name : t->area, "team", t->team, "kind",
	              cl_ticket_kind_name(t->kind), "created_at", gw_json_time(t->created_ms));
	json_object_set_new(o, "acked_by", t->acked_by[0] ? json_string(t->acked_by) : json_null());
	json_object_set_new(o, "acked_at", gw_json_time(t->acked_ms));
	json_object_set_new(o, "taken_by", t->taken_by[0] ? json_string(t->taken_by) : json_null());
	json_object_set_new(o, "taken_at", gw_json_time(t->taken_ms));
	json_object_set_new(o, "linked_to",
	                    t->linked_ref[0] ? json_string(t->linked_ref) : json_null());
	json_object_set_new(o, "escalation",
	                    json_pack("{s:s, s:i, s:i, s:o, s:b}", "phase",
	                              cl_esc_phase_name(t->phase), "step", t->step, "loop", t->loop,
	                              "due_at", gw_json_time(t->due_ms), "unhandled",
	                              t->unhandled));
	if (t->state == CL_TICKET_CLOSED) {
		json_object_set_new(o, "closed_reason", json_string(t->closed_reason));
		json_object_set_new(o, "closed_at", gw_json_time(t->closed_ms));
	}
	return o;
}
