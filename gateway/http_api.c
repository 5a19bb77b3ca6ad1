/*
 * gateway/http_api.c owns the /api/v1 routes (DESIGN.md §10): posting a
 * report, listing and showing tickets, acting on a ticket, and who is on
 * call. Mutations become service jobs and the request waits (suspended) for
 * the commit; reads answer at once. Roles: partner tokens may only post
 * reports; worker tokens act as their person; the admin socket acts as the
 * `by` it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "careline/calendar.h"
#include "careline/tz.h"
#include "http_internal.h"

static bool require(struct gw_request *req, bool ok_for_partner)
{
	if (!req->authed) {
		gw_http_reply_error(req, 401, "unauthorized", "a valid bearer token is required",
		                    NULL);
		return false;
	}
	if (req->role == CL_ROLE_MONITOR) {
		gw_http_reply_error(req, 403, "forbidden", "this token may only read /metrics",
		                    NULL);
		return false;
	}
	if (req->role == CL_ROLE_PARTNER && !ok_for_partner) {
		gw_http_reply_error(req, 403, "forbidden", "this token may only post reports",
		                    NULL);
		return false;
	}
	return true;
}

static const char *person_lang(const struct cl_config *cfg, const char *person)
{
	const struct cl_person *p = person && person[0] ? cl_config_person(cfg, person) : NULL;
	return p && p->lang[0] ? p->lang : cfg->lang;
}

/* --- POST /api/v1/reports ------------------------------------------------- */

static void on_report_done(void *ctx, const struct cl_report_answer *a)
{
	struct gw_request *req = ctx;
	const struct cl_config *cfg = req->http->ctx->cfg;
	if (a->err == CL_OK) {
		gw_http_reply_json(req, a->duplicate ? 200 : 201,
		                   gw_json_report_answer(cfg, a, person_lang(cfg, req->person)));
	} else if (a->err == CL_AGAIN) {
		gw_http_reply_error(req, 503, "not_durable",
		                    "the report could not be stored now; send it again", NULL);
	} else {
		gw_http_reply_error(req, 500, cl_errcode(a->err), cl_strerror(a->err), NULL);
	}
	gw_http_resume(req);
}

static void post_report(struct gw_request *req)
{
	if (!require(req, true))
		return;
	json_t *o = gw_http_parse_body(req);
	if (!o)
		return;
	struct cl_report r;
	cl_report_init(&r);
	r.via = CL_CHANNEL_HTTP;
	char err[200];
	enum cl_err e = gw_json_to_report(o, &r, err, sizeof(err));
	json_decref(o);
	if (e != CL_OK) {
		cl_report_free(&r);
		if (e == CL_ERR_INVALID)
			gw_http_reply_error(req, 400, "invalid_field", err, NULL);
		else
			gw_http_reply_error(req, 500, cl_errcode(e), cl_strerror(e), NULL);
		return;
	}
	if (req->role == CL_ROLE_WORKER && !r.anonymous)
		r.reporter_person = strdup(req->person);
	req->job = cl_service_submit_report(req->http->ctx->svc, &r, on_report_done, req);
	if (!req->job) {
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	gw_http_suspend(req);
}

/* --- tickets ------------------------------------------------------------- */

struct list_ctx {
	const struct cl_config *cfg;
	json_t *arr;
};

static void on_ticket(void *ctx, const struct cl_ticket *t)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, gw_json_ticket(l->cfg, t));
}

static void get_tickets(struct gw_request *req)
{
	if (!require(req, false))
		return;
	const char *state = gw_http_query(req, "state");
	const char *team = gw_http_query(req, "team");
	const char *limit = gw_http_query(req, "limit");
	if (state && strcmp(state, "open") != 0 && strcmp(state, "all") != 0) {
		gw_http_reply_error(req, 400, "invalid_field", "state: open or all", NULL);
		return;
	}
	struct cl_ticket_filter f = {
	    .open_only = !state || strcmp(state, "open") == 0,
	    .team = team,
	    .limit = limit ? atoi(limit) : 0,
	};
	if (f.limit < 0 || f.limit > 10000) {
		gw_http_reply_error(req, 400, "invalid_field", "limit: 1..10000", NULL);
		return;
	}
	struct list_ctx l = {req->http->ctx->cfg, json_array()};
	enum cl_err err = cl_service_tickets(req->http->ctx->svc, &f, on_ticket, &l);
	if (err != CL_OK) {
		json_decref(l.arr);
		gw_http_reply_error(req, 503, "not_available", cl_strerror(err), NULL);
		return;
	}
	gw_http_reply_json(req, 200, json_pack("{s:o}", "tickets", l.arr));
}

static void on_report_view(void *ctx, const struct cl_report_view *v)
{
	json_t *arr = ctx;
	json_t *o = json_pack("{s:s, s:o, s:b}", "via", v->via, "received_at",
	                      gw_json_time(v->received_ms), "anonymous", v->anonymous);
	if (v->fields[CL_RF_TEXT])
		json_object_set_new(o, "text", json_string(v->fields[CL_RF_TEXT]));
	if (v->fields[CL_RF_ADDRESS]) {
		char formatted[256];
		cl_address_format(&v->address, formatted, sizeof(formatted));
		json_object_set_new(o, "address",
		                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "street",
		                              v->address.street, "number", v->address.number,
		                              "floor", v->address.floor, "side", v->address.side,
		                              "postcode", v->address.postcode, "city",
		                              v->address.city, "text", formatted));
	}
	if (!v->anonymous) {
		json_t *rep = json_object();
		if (v->reporter_person)
			json_object_set_new(rep, "person", json_string(v->reporter_person));
		if (v->reporter_role)
			json_object_set_new(rep, "role", json_string(v->reporter_role));
		if (v->fields[CL_RF_REPORTER_NAME])
			json_object_set_new(rep, "name",
			                    json_string(v->fields[CL_RF_REPORTER_NAME]));
		if (v->fields[CL_RF_REPORTER_ORG])
			json_object_set_new(rep, "org", json_string(v->fields[CL_RF_REPORTER_ORG]));
		json_object_set_new(o, "reporter", rep);
	}
	if (v->fields[CL_RF_REPORTER_PHONE])
		json_object_set_new(o, "callback_phone",
		                    json_string(v->fields[CL_RF_REPORTER_PHONE]));
	if (v->fields[CL_RF_RESIDENT_NAME])
		json_object_set_new(o, "resident",
		                    json_pack("{s:s}", "name", v->fields[CL_RF_RESIDENT_NAME]));
	if (v->fields[CL_RF_OBSERVED_BY])
		json_object_set_new(o, "observed_by", json_string(v->fields[CL_RF_OBSERVED_BY]));
	json_object_set_new(o, "consent",
	                    json_pack("{s:b, s:b}", "callback", v->consent_callback,
	                              "disclose_name", v->consent_disclose));
	json_array_append_new(arr, o);
}

static void on_event(void *ctx, const struct cl_event_row *e, const char *note)
{
	json_t *arr = ctx;
	json_t *o =
	    json_pack("{s:o, s:s, s:s, s:s, s:s}", "at", gw_json_time(e->at_ms), "actor",
	              e->actor ? e->actor : "", "event", e->event ? e->event : "", "from",
	              e->from_state ? e->from_state : "", "to", e->to_state ? e->to_state : "");
	if (e->detail)
		json_object_set_new(o, "detail", json_string(e->detail));
	if (note)
		json_object_set_new(o, "note", json_string(note));
	json_array_append_new(arr, o);
}

/* The ticket with its personal fields, once the read is in the audit chain. */
static void show_ticket(struct gw_request *req, const char *ref)
{
	struct cl_ticket t;
	enum cl_err err = cl_service_ticket(req->http->ctx->svc, ref, &t);
	if (err == CL_ERR_NOTFOUND) {
		gw_http_reply_error(req, 404, "unknown_ticket", "no ticket with that reference",
		                    NULL);
		return;
	}
	if (err != CL_OK) {
		gw_http_reply_error(req, 503, "not_available", cl_strerror(err), NULL);
		return;
	}
	json_t *o = gw_json_ticket(req->http->ctx->cfg, &t);
	json_t *reports = json_array(), *events = json_array();
	err = cl_service_ticket_reports(req->http->ctx->svc, &t, on_report_view, reports);
	if (err == CL_OK)
		err = cl_service_ticket_events(req->http->ctx->svc, &t, on_event, events);
	json_object_set_new(o, "reports", reports);
	json_object_set_new(o, "events", events);
	json_t *recordings = err == CL_OK ? gw_json_recordings(req->http->ctx->svc, &t) : NULL;
	if (err == CL_OK && !recordings)
		err = CL_ERR_STORAGE;
	if (recordings)
		json_object_set_new(o, "recordings", recordings);
	if (err != CL_OK) {
		json_decref(o);
		gw_http_reply_error(req, 500, cl_errcode(err), cl_strerror(err), NULL);
		return;
	}
	cl_info("ticket.read", "ticket=%s by=%s", t.ref, req->person[0] ? req->person : req->token);
	gw_http_reply_json(req, 200, o);
}

static void on_read_audited(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct gw_request *req = ctx;
	if (err == CL_OK)
		show_ticket(req, c->ref);
	else if (err == CL_ERR_NOTFOUND)
		gw_http_reply_error(req, 404, "unknown_ticket", "no ticket with that reference",
		                    NULL);
	else
		gw_http_reply_error(req, 503, "not_durable", "the read could not be recorded",
		                    NULL);
	gw_http_resume(req);
}

/* A read of personal data is an audit event, committed before the data is
 * handed out: who read which ticket, never what. */
static void get_ticket(struct gw_request *req, const char *ref)
{
	if (!require(req, false))
		return;
	struct cl_control c = {.kind = CL_CONTROL_AUDIT_READ};
	if (strlen(ref) >= sizeof(c.ref)) {
		gw_http_reply_error(req, 404, "unknown_ticket", "no ticket with that reference",
		                    NULL);
		return;
	}
	snprintf(c.ref, sizeof(c.ref), "%s", ref);
	snprintf(c.actor, sizeof(c.actor), "%s",
	         req->person[0]  ? req->person
	         : req->token[0] ? req->token
	                         : "admin");
	if (!(req->job =
	          cl_service_submit_control(req->http->ctx->svc, &c, on_read_audited, req))) {
		gw_http_reply_error(req, 503, "busy", "try again", NULL);
		return;
	}
	gw_http_suspend(req);
}

static unsigned action_status(const struct cl_action_answer *a)
{
	switch (a->err) {
	case CL_OK:
		return 200;
	case CL_ERR_NOTFOUND:
		return 404;
	case CL_ERR_CONFLICT:
		return 409;
	case CL_ERR_INVALID:
		return 400;
	case CL_AGAIN:
		return 503;
	default:
		return 500;
	}
}

static void on_action_done(void *ctx, const struct cl_action_answer *a)
{
	struct gw_request *req = ctx;
	unsigned status = action_status(a);
	if (status == 200) {
		gw_http_reply_json(req, 200,
		                   json_pack("{s:s, s:s, s:b}", "ticket", a->ref, "state",
		                             cl_ticket_state_name(a->state), "changed",
		                             a->changed));
	} else {
		const char *code = a->conflict          ? a->conflict
		                   : a->err == CL_AGAIN ? "not_durable"
		                                        : cl_errcode(a->err);
		/* "already_taken" → "already taken by anna" */
		char msg[160];
		if (a->conflict) {
			snprintf(msg, sizeof(msg), "%s%s%s", a->conflict, a->by[0] ? " by " : "",
			         a->by);
			for (char *p = msg; *p && p < msg + strlen(a->conflict); p++)
				if (*p == '_')
					*p = ' ';
		} else {
			snprintf(msg, sizeof(msg), "%s",
			         a->err == CL_AGAIN ? "could not be stored now; try again"
			                            : cl_strerror(a->err));
		}
		json_t *o = gw_json_error(code, msg, a->by);
		if (a->ref[0])
			json_object_set_new(json_object_get(o, "error"), "state",
			                    json_string(cl_ticket_state_name(a->state)));
		gw_http_reply_json(req, status, o);
	}
	gw_http_resume(req);
}

static void post_action(struct gw_request *req, const char *ref, const char *verb)
{
	if (!require(req, false))
		return;
	struct cl_action a = {0};
	if (cl_action_parse(verb, &a.kind) != CL_OK) {
		gw_http_reply_error(req, 404, "not_found", "unknown action", NULL);
		return;
	}
	json_t *o = req->len ? gw_http_parse_body(req) : json_object();
	if (!o)
		return;
	json_t *by = json_object_get(o, "by");
	json_t *reason = json_object_get(o, "reason");
	json_t *note = json_object_get(o, "note");
	json_t *nid = json_object_get(o, "notification_id");
	const char *bad = NULL;
	if (by && !json_is_string(by))
		bad = "by: must be a string";
	else if (reason && !json_is_string(reason))
		bad = "reason: must be a string";
	else if (note && !json_is_string(note))
		bad = "note: must be a string";
	else if (nid && !json_is_integer(nid))
		bad = "notification_id: must be an integer";
	else if (a.kind == CL_ACTION_RESOLVE && !reason)
		bad = "reason: required for resolve";
	else if (a.kind == CL_ACTION_NOTE && (!note || !json_string_length(note)))
		bad = "note: required";
	if (bad) {
		json_decref(o);
		gw_http_reply_error(req, 400, "invalid_field", bad, NULL);
		return;
	}
	const char *actor = req->role == CL_ROLE_WORKER ? req->person
	                    : by                        ? json_string_value(by)
	                                                : NULL;
	if (req->role == CL_ROLE_WORKER && by && strcmp(json_string_value(by), req->person) != 0) {
		json_decref(o);
		gw_http_reply_error(req, 403, "forbidden", "a worker token acts only as its person",
		                    NULL);
		return;
	}
	if (!actor || !actor[0] || strlen(actor) >= sizeof(a.actor)) {
		json_decref(o);
		gw_http_reply_error(req, 400, "invalid_field", "by: required (who acts)", NULL);
		return;
	}
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	snprintf(a.ref, sizeof(a.ref), "%.*s", (int)sizeof(a.ref) - 1, ref);
	if (reason)
		snprintf(a.reason, sizeof(a.reason), "%s", json_string_value(reason));
	if (note)
		a.note = strdup(json_string_value(note));
	if (nid)
		a.notification_id = (int64_t)json_integer_value(nid);
	json_decref(o);
	req->job = cl_service_submit_action(req->http->ctx->svc, &a, on_action_done, req);
	if (!req->job) {
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	gw_http_suspend(req);
}

/* --- GET /api/v1/oncall ---------------------------------------------------- */

static void get_oncall(struct gw_request *req)
{
	if (!require(req, false))
		return;
	const char *team = gw_http_query(req, "team");
	const char *at = gw_http_query(req, "at");
	int64_t at_ms = cl_clock_now(&cl_clock_system);
	if (!team || !team[0]) {
		gw_http_reply_error(req, 400, "invalid_field", "team: required", NULL);
		return;
	}
	if (at && cl_time_parse(at, &at_ms) != 0) {
		gw_http_reply_error(req, 400, "invalid_field",
		                    "at: RFC 3339 or 'YYYY-MM-DD HH:MM' (Copenhagen time)", NULL);
		return;
	}
	struct cl_oncall oc;
	enum cl_err err = cl_service_oncall(req->http->ctx->svc, team, at_ms, &oc);
	if (err == CL_ERR_NOTFOUND) {
		gw_http_reply_error(req, 404, "unknown_team", "no such team", NULL);
		return;
	}
	if (err != CL_OK) {
		gw_http_reply_error(req, 500, cl_errcode(err), cl_strerror(err), NULL);
		return;
	}
	struct cl_civil local;
	cl_tz_cph_from_utc(at_ms, &local);
	char local_buf[32];
	snprintf(local_buf, sizeof(local_buf), "%04d-%02d-%02d %02d:%02d", local.year, local.month,
	         local.day, local.hour, local.minute);
	json_t *o = json_pack("{s:s, s:o, s:s, s:s, s:o, s:s, s:o, s:o}", "team", team, "at",
	                      gw_json_time(at_ms), "at_local", local_buf, "primary", oc.primary,
	                      "backup", oc.backup ? json_string(oc.backup) : json_null(), "source",
	                      oc.source, "shift_start", gw_json_time(oc.shift_start_ms),
	                      "shift_end", gw_json_time(oc.shift_end_ms));
	const struct cl_duty_answer *b = &oc.duty[CL_DUTY_BACKUP];
	json_object_set_new(o, "backup_source", b->source ? json_string(b->source) : json_null());
	const struct cl_team *t = cl_config_team(req->http->ctx->cfg, team);
	const struct cl_config *cfg = req->http->ctx->cfg;
	bool open = !t->has_hours || cl_hours_open_at(&t->hours, &cfg->holidays, at_ms);
	json_object_set_new(o, "service_open", json_boolean(open));
	if (!open)
		json_object_set_new(
		    o, "next_open",
		    gw_json_time(cl_hours_next_open(&t->hours, &cfg->holidays, at_ms)));
	const char *holiday = NULL;
	if (cl_holiday_is(&cfg->holidays, cl_days_from_civil(local.year, local.month, local.day),
	                  &holiday))
		json_object_set_new(o, "holiday", json_string(holiday));
	gw_http_reply_json(req, 200, o);
}

/* --- roster overrides ------------------------------------------------------- */

/* Leads (worker tokens of a person whose role is "lead") and the admin
 * socket change the roster. */
static bool may_change_roster(struct gw_request *req)
{
	if (!require(req, false))
		return false;
	const struct cl_person *p = cl_config_person(req->http->ctx->cfg, req->person);
	if (req->role == CL_ROLE_ADMIN || (p && strcmp(p->role, "lead") == 0))
		return true;
	gw_http_reply_error(req, 403, "forbidden", "only a lead or the admin changes the roster",
	                    NULL);
	return false;
}

static json_t *override_json(const struct cl_override *o)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)o->id, "team",
	                      o->team, "duty", cl_duty_name(o->duty), "person", o->person, "start",
	                      gw_json_time(o->start_ms), "end", gw_json_time(o->end_ms));
	if (o->replaces[0])
		json_object_set_new(j, "replaces", json_string(o->replaces));
	if (o->note[0])
		json_object_set_new(j, "note", json_string(o->note));
	return j;
}

static void on_override(void *ctx, const struct cl_override *o)
{
	json_array_append_new(ctx, override_json(o));
}

static void get_overrides(struct gw_request *req)
{
	if (!require(req, false))
		return;
	json_t *arr = json_array();
	cl_service_overrides(req->http->ctx->svc, gw_http_query(req, "team"), on_override, arr);
	gw_http_reply_json(req, 200, json_pack("{s:o}", "overrides", arr));
}

static void on_override_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct gw_request *req = ctx;
	if (err == CL_OK && c->kind == CL_CONTROL_OVERRIDE_ADD)
		gw_http_reply_json(req, 201, override_json(&c->override));
	else if (err == CL_OK)
		gw_http_reply_json(
		    req, 200,
		    json_pack("{s:I, s:b}", "id", (json_int_t)c->override.id, "removed", 1));
	else if (err == CL_ERR_NOTFOUND)
		gw_http_reply_error(
		    req, 404, "not_found",
		    c->kind == CL_CONTROL_OVERRIDE_ADD ? "no such team" : "no such override", NULL);
	else if (err == CL_ERR_INVALID)
		gw_http_reply_error(req, 400, "invalid_field",
		                    "unknown person, or end not after start", NULL);
	else
		gw_http_reply_error(req, 503, "not_durable", "not stored; try again", NULL);
	gw_http_resume(req);
}

static bool get_time(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) && cl_time_parse(json_string_value(v), out) == 0;
}

static bool get_id(json_t *o, const char *key, char *dst, size_t len, bool required)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return !required;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= len)
		return false;
	snprintf(dst, len, "%s", json_string_value(v));
	return true;
}

static void post_override(struct gw_request *req)
{
	if (!may_change_roster(req))
		return;
	json_t *o = gw_http_parse_body(req);
	if (!o)
		return;
	struct cl_control c = {.kind = CL_CONTROL_OVERRIDE_ADD};
	struct cl_override *ov = &c.override;
	char duty[16] = "primary";
	const char *bad = NULL;
	if (!get_id(o, "team", ov->team, sizeof(ov->team), true))
		bad = "team: required";
	else if (!get_id(o, "person", ov->person, sizeof(ov->person), true))
		bad = "person: required (who is on duty instead)";
	else if (!get_id(o, "replaces", ov->replaces, sizeof(ov->replaces), false))
		bad = "replaces: a person id";
	else if (!get_id(o, "duty", duty, sizeof(duty), false) ||
	         (strcmp(duty, "primary") && strcmp(duty, "backup")))
		bad = "duty: primary or backup";
	else if (!get_time(o, "start", &ov->start_ms) || !get_time(o, "end", &ov->end_ms))
		bad = "start, end: RFC 3339 or 'YYYY-MM-DD HH:MM' (Copenhagen time)";
	else if (!get_id(o, "note", ov->note, sizeof(ov->note), false))
		bad = "note: a short text";
	json_decref(o);
	if (bad) {
		gw_http_reply_error(req, 400, "invalid_field", bad, NULL);
		return;
	}
	ov->duty = strcmp(duty, "backup") == 0 ? CL_DUTY_BACKUP : CL_DUTY_PRIMARY;
	snprintf(c.actor, sizeof(c.actor), "%s", req->person[0] ? req->person : req->token);
	req->job = cl_service_submit_control(req->http->ctx->svc, &c, on_override_done, req);
	if (!req->job) {
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	gw_http_suspend(req);
}

static void delete_override(struct gw_request *req, const char *id)
{
	if (!may_change_roster(req))
		return;
	char *end;
	long long v = strtoll(id, &end, 10);
	if (*end || v <= 0) {
		gw_http_reply_error(req, 404, "not_found", "no such override", NULL);
		return;
	}
	struct cl_control c = {.kind = CL_CONTROL_OVERRIDE_REMOVE};
	c.override.id = v;
	snprintf(c.actor, sizeof(c.actor), "%s", req->person[0] ? req->person : req->token);
	req->job = cl_service_submit_control(req->http->ctx->svc, &c, on_override_done, req);
	if (!req->job) {
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	gw_http_suspend(req);
}

/* --- routing ------------------------------------------------------------- */

void gw_api_dispatch(struct gw_request *req)
{
	const char *url = req->url;
	bool get = strcmp(req->method, "GET") == 0;
	bool post = strcmp(req->method, "POST") == 0;
	const char *prefix = "/api/v1/tickets";
	size_t plen = strlen(prefix);

	if (strcmp(url, "/api/v1/reports") == 0) {
		if (post)
			post_report(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
		return;
	}
	if (strcmp(url, "/api/v1/overrides") == 0) {
		if (get)
			get_overrides(req);
		else if (post)
			post_override(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET or POST",
			                    NULL);
		return;
	}
	if (strncmp(url, "/api/v1/overrides/", 18) == 0) {
		if (strcmp(req->method, "DELETE") == 0)
			delete_override(req, url + 18);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use DELETE", NULL);
		return;
	}
	if (strcmp(url, "/api/v1/oncall") == 0) {
		if (get)
			get_oncall(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
		return;
	}
	if (strcmp(url, prefix) == 0) {
		if (get)
			get_tickets(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
		return;
	}
	if (strncmp(url, prefix, plen) == 0 && url[plen] == '/') {
		char ref[16];
		const char *rest = url + plen + 1;
		const char *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
		if (n == 0 || n >= sizeof(ref)) {
			gw_http_reply_error(req, 404, "unknown_ticket",
			                    "no ticket with that reference", NULL);
			return;
		}
		memcpy(ref, rest, n);
		ref[n] = '\0';
		if (!slash && get)
			get_ticket(req, ref);
		else if (slash && post && !strchr(slash + 1, '/'))
			post_action(req, ref, slash + 1);
		else
			gw_http_reply_error(req, slash ? 404 : 405,
			                    slash ? "not_found" : "method_not_allowed",
			                    slash ? "no such route" : "use GET", NULL);
		return;
	}
	gw_http_reply_error(req, 404, "not_found", "no such route", NULL);
}
