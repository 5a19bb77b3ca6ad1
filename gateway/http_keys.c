/*
 * gateway/http_keys.c owns the routes of field-key rotation (admin only: the
 * Unix socket, admin tokens):
 *   GET  /api/v1/keys         the keys held, the current one, values per key
 *                             id in the database, how many still wait for
 *                             re-encryption
 *   POST /api/v1/keys/rotate  a new field key, current at once; answered
 *                             once the keyring is on disk
 * carelinectl key status / key rotate call them. Answers hold key ids and
 * counts, never key material. The work is core/rekey.c's (careline/rekey.h).
 */
#include <stdio.h>
#include <string.h>

#include "careline/rekey.h"
#include "http_internal.h"

static bool require_admin(struct gw_request *req)
{
	if (!req->authed) {
		gw_http_reply_error(req, 401, "unauthorized", "a valid bearer token is required",
		                    NULL);
		return false;
	}
	if (req->role != CL_ROLE_ADMIN) {
		gw_http_reply_error(req, 403, "forbidden", "keys are managed by the admin", NULL);
		return false;
	}
	return true;
}

static json_t *status_json(const struct cl_key_status *st)
{
	json_t *keys = json_array(), *held = json_array();
	for (size_t i = 0; i < st->n_use; i++) {
		const struct cl_key_use *u = &st->use[i];
		json_t *k = json_pack("{s:I, s:I, s:b}", "id", (json_int_t)u->id, "values",
		                      (json_int_t)u->values, "held", u->held);
		if (u->id == st->current)
			json_object_set_new(k, "current", json_true());
		json_array_append_new(keys, k);
	}
	for (size_t i = 0; i < st->n_held; i++)
		json_array_append_new(held, json_integer((json_int_t)st->held[i]));
	return json_pack("{s:I, s:o, s:o, s:I, s:b, s:b, s:I}", "current", (json_int_t)st->current,
	                 "keys", keys, "held", held, "pending", (json_int_t)st->pending,
	                 "reencrypting", st->reencrypting, "master_key_retired",
	                 st->master_key_retired, "moved", (json_int_t)st->moved);
}

static void get_keys(struct gw_request *req)
{
	struct cl_key_status st;
	enum cl_err err = cl_service_key_status(req->http->ctx->svc, &st);
	if (err != CL_OK) {
		gw_http_reply_error(req, 503, "storage", "could not count the values; try again",
		                    NULL);
		return;
	}
	gw_http_reply_json(req, 200, status_json(&st));
}

static void post_rotate(struct gw_request *req)
{
	const char *actor = req->person[0] ? req->person : req->token;
	struct cl_key_status st;
	enum cl_err err = cl_service_key_rotate(req->http->ctx->svc, actor, &st);
	if (err == CL_OK)
		gw_http_reply_json(req, 200, status_json(&st));
	else if (err == CL_ERR_CONFLICT)
		gw_http_reply_error(req, 409, "too_many_keys",
		                    "too many keys wait for re-encryption; rotate again when "
		                    "pending is 0",
		                    NULL);
	else if (err == CL_ERR_IO)
		gw_http_reply_error(req, 503, "not_durable",
		                    "the keyring could not be written; nothing changed", NULL);
	else
		gw_http_reply_error(req, 500, cl_errcode(err), cl_strerror(err), NULL);
}

bool gw_keys_dispatch(struct gw_request *req)
{
	const char *url = req->url;
	const char *prefix = "/api/v1/keys";
	size_t plen = strlen(prefix);
	if (strncmp(url, prefix, plen) != 0 || (url[plen] && url[plen] != '/'))
		return false;
	if (!require_admin(req))
		return true;
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	if (!url[plen]) {
		if (get)
			get_keys(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
	} else if (strcmp(url + plen, "/rotate") == 0) {
		if (post)
			post_rotate(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
	} else {
		gw_http_reply_error(req, 404, "not_found", "no such route", NULL);
	}
	return true;
}
