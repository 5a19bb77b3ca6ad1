/*
 * gateway/http_audit.c owns the admin routes of confidentiality: the audit
 * chain (GET /api/v1/audit/verify walks it and names the first broken link,
 * ?anchor=N:HEX also against a head the daemon logged;
 * GET /api/v1/audit?ticket=REF lists who did and saw what on a ticket),
 * retention (POST /api/v1/purge, {"dry_run": true} only counts) and erasure
 * of one ticket on request (POST /api/v1/tickets/{ref}/erase with a reason
 * code). Admin role only (carelinectl over the Unix socket, admin tokens).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "http_internal.h"

static bool require_admin(struct gw_request *req)
{
	if (!req->authed) {
		gw_http_reply_error(req, 401, "unauthorized", "a valid bearer token is required",
		                    NULL);
		return false;
	}
	if (req->role != CL_ROLE_ADMIN) {
		gw_http_reply_error(req, 403, "forbidden", "for the admin only", NULL);
		return false;
	}
	return true;
}

static const char *actor_of(const struct gw_request *req)
{
	return req->person[0] ? req->person : req->token[0] ? req->token : "admin";
}

static void on_event(void *ctx, const struct cl_audit_event *e)
{
	json_t *arr = ctx;
	char h[2 * CL_AUDIT_HASH_BYTES + 1];
	cl_crypto_hex_encode(e->hash, CL_AUDIT_HASH_BYTES, h);
	json_t *o =
	    json_pack("{s:I, s:o, s:s, s:s, s:s, s:s}", "id", (json_int_t)e->id, "at",
	              gw_json_time(e->at_ms), "actor", e->actor ? e->actor : "", "action",
	              e->action ? e->action : "", "object", e->object ? e->object : "", "hash", h);
	if (e->detail)
		json_object_set_new(o, "detail", json_string(e->detail));
	json_array_append_new(arr, o);
}

static void get_audit(struct gw_request *req)
{
	const char *ref = gw_http_query(req, "ticket");
	struct cl_ticket t;
	if (!ref || cl_service_ticket(req->http->ctx->svc, ref, &t) != CL_OK) {
		gw_http_reply_error(req, 404, "unknown_ticket", "give ?ticket=REF of a ticket",
		                    NULL);
		return;
	}
	json_t *arr = json_array();
	enum cl_err err = cl_service_audit_of_ticket(req->http->ctx->svc, &t, on_event, arr);
	if (err != CL_OK) {
		json_decref(arr);
		gw_http_reply_error(req, 500, cl_errcode(err), cl_strerror(err), NULL);
		return;
	}
	gw_http_reply_json(req, 200, json_pack("{s:s, s:o}", "ticket", t.ref, "events", arr));
}

static void get_verify(struct gw_request *req)
{
	const char *a = gw_http_query(req, "anchor");
	struct cl_audit_anchor anchor;
	if (a && cl_audit_anchor_parse(a, &anchor) != CL_OK) {
		gw_http_reply_error(req, 400, "invalid_anchor",
		                    "anchor: N:HEX, the id and the 64 hex digits of the hash"
		                    " of an audit.head log line",
		                    NULL);
		return;
	}
	struct cl_audit_verdict v;
	enum cl_err err = cl_service_audit_verify(req->http->ctx->svc, a ? &anchor : NULL, &v);
	if (err != CL_OK) {
		gw_http_reply_error(req, 500, cl_errcode(err), cl_strerror(err), NULL);
		return;
	}
	json_t *o = json_pack("{s:b, s:I}", "ok", v.ok, "checked", (json_int_t)v.checked);
	if (a)
		json_object_set_new(o, "anchor", json_integer(anchor.id));
	if (!v.ok) {
		json_object_set_new(o, "first_broken", json_integer(v.first_broken));
		json_object_set_new(o, "reason", json_string(v.reason));
	}
	gw_http_reply_json(req, 200, o);
}

static void on_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct gw_request *req = ctx;
	if (err == CL_OK) {
		json_t *o = json_pack("{s:I, s:b}", "tickets", (json_int_t)c->count_tickets,
		                      "dry_run", c->dry_run);
		if (c->kind == CL_CONTROL_PURGE)
			json_object_set_new(o, "sessions", json_integer(c->count_sessions));
		else
			json_object_set_new(o, "ticket", json_string(c->ref));
		gw_http_reply_json(req, 200, o);
	} else if (err == CL_ERR_NOTFOUND) {
		gw_http_reply_error(req, 404, "unknown_ticket", "no ticket with that reference",
		                    NULL);
	} else if (err == CL_ERR_INVALID) {
		gw_http_reply_error(req, 400, "invalid_reason",
		                    "reason: a short code of a-z, 0-9, _ : - (no names)", NULL);
	} else {
		gw_http_reply_error(req, 503, "not_durable", "not done; try again", NULL);
	}
	gw_http_resume(req);
}

static void submit(struct gw_request *req, struct cl_control *c)
{
	snprintf(c->actor, sizeof(c->actor), "%s", actor_of(req));
	if (!(req->job = cl_service_submit_control(req->http->ctx->svc, c, on_done, req))) {
		gw_http_reply_error(req, 503, "busy", "try again", NULL);
		return;
	}
	gw_http_suspend(req);
}

static void post_purge(struct gw_request *req)
{
	struct cl_control c = {.kind = CL_CONTROL_PURGE};
	if (req->len) {
		json_t *body = gw_http_parse_body(req);
		if (!body)
			return;
		c.dry_run = json_is_true(json_object_get(body, "dry_run"));
		json_decref(body);
	}
	submit(req, &c);
}

static void post_erase(struct gw_request *req, const char *ref, size_t ref_len)
{
	struct cl_control c = {.kind = CL_CONTROL_ERASE};
	json_t *body = gw_http_parse_body(req);
	if (!body)
		return;
	const char *reason = json_string_value(json_object_get(body, "reason"));
	if (!reason || strlen(reason) >= sizeof(c.error) || ref_len >= sizeof(c.ref)) {
		json_decref(body);
		gw_http_reply_error(req, 400, "invalid_reason",
		                    "reason: a short code of a-z, 0-9, _ : - (no names)", NULL);
		return;
	}
	snprintf(c.error, sizeof(c.error), "%s", reason);
	memcpy(c.ref, ref, ref_len);
	c.ref[ref_len] = '\0';
	json_decref(body);
	submit(req, &c);
}

bool gw_audit_dispatch(struct gw_request *req)
{
	const char *url = req->url;
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	const char *tickets = "/api/v1/tickets/";
	size_t tl = strlen(tickets);
	const char *erase = strncmp(url, tickets, tl) == 0 ? strstr(url + tl, "/erase") : NULL;
	bool is_erase = erase && strcmp(erase, "/erase") == 0 && erase > url + tl;
	if (strcmp(url, "/api/v1/audit") != 0 && strcmp(url, "/api/v1/audit/verify") != 0 &&
	    strcmp(url, "/api/v1/purge") != 0 && !is_erase)
		return false;
	if (!require_admin(req))
		return true;
	if (strcmp(url, "/api/v1/audit") == 0 && get)
		get_audit(req);
	else if (strcmp(url, "/api/v1/audit/verify") == 0 && get)
		get_verify(req);
	else if (strcmp(url, "/api/v1/purge") == 0 && post)
		post_purge(req);
	else if (is_erase && post)
		post_erase(req, url + tl, (size_t)(erase - (url + tl)));
	else
		gw_http_reply_error(req, 405, "method_not_allowed", "wrong method", NULL);
	return true;
}
