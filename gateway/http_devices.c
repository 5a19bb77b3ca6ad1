/*
 * gateway/http_devices.c owns the device registry routes and careline's
 * public key (docs/mqtt.md, "Device accounts"):
 *   GET    /api/v1/devices       every device, its key, presence, revocation
 *   POST   /api/v1/devices       {"person", "id"?, "pubkey"?}: register a device
 *                                and create its broker account; the answer holds
 *                                the account's password, shown this once
 *   DELETE /api/v1/devices/{id}  revoke: careline ignores it, the broker
 *                                account is disabled (at once, or on reconnect)
 *   GET    /api/v1/key           careline's crypto_box public key
 * The device routes are for the admin (socket or admin token); carelinectl
 * device ... calls them. The broker account is made first and undone if the
 * device cannot be stored, so no device exists in one place only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "http_internal.h"

#define PASSWORD_BYTES 18 /* 24 characters of base64 */

static bool require_admin(struct gw_request *req)
{
	if (!req->authed) {
		gw_http_reply_error(req, 401, "unauthorized", "a valid bearer token is required",
		                    NULL);
		return false;
	}
	if (req->role != CL_ROLE_ADMIN) {
		gw_http_reply_error(req, 403, "forbidden", "devices are managed by the admin",
		                    NULL);
		return false;
	}
	return true;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		if (!ok)
			return false;
	}
	return true;
}

static json_t *device_json(struct gw_ctx *ctx, const struct cl_device *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "id", d->id, "person", d->person, "source",
	                      d->created_ms ? "registered" : "config", "revoked", d->revoked);
	if (d->has_pubkey) {
		char b64[CL_CRYPTO_KEY_B64];
		cl_crypto_key_to_base64(d->pubkey, b64);
		json_object_set_new(o, "pubkey", json_string(b64));
	} else {
		json_object_set_new(o, "pubkey", json_null());
	}
	json_object_set_new(o, "created_at", gw_json_time(d->created_ms));
	bool online = false;
	int64_t since = 0;
	if (gw_mqtt_presence(ctx->mqtt, d->id, &online, &since)) {
		json_object_set_new(o, "online", json_boolean(online));
		json_object_set_new(o, "presence_since", gw_json_time(since));
	} else {
		json_object_set_new(o, "online", json_null());
	}
	return o;
}

struct list_ctx {
	struct gw_ctx *ctx;
	json_t *arr;
};

static void on_device(void *ctx, const struct cl_device *d)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, device_json(l->ctx, d));
}

static void get_devices(struct gw_request *req)
{
	if (!require_admin(req))
		return;
	struct list_ctx l = {req->http->ctx, json_array()};
	cl_service_devices(req->http->ctx->svc, on_device, &l);
	gw_http_reply_json(req, 200, json_pack("{s:o}", "devices", l.arr));
}

/* --- POST: broker account, then the device row ------------------------------ */

struct device_op {
	struct gw_request *req;
	struct cl_control c;
	bool account; /* a broker account was created (undo it on failure) */
	char password[40];
};

static void op_finish(struct device_op *op)
{
	gw_http_resume(op->req);
	cl_crypto_wipe(op->password, sizeof(op->password));
	free(op);
}

static void on_added(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct device_op *op = ctx;
	struct gw_request *req = op->req;
	struct gw_ctx *gw = req->http->ctx;
	if (err != CL_OK && op->account)
		gw_mqtt_account_delete(gw->mqtt, c->device.id);
	if (err == CL_OK) {
		const struct cl_device *d = cl_service_device(gw->svc, c->device.id);
		json_t *o = device_json(gw, d ? d : &c->device);
		json_object_set_new(o, "broker_account",
		                    json_string(op->account ? "created" : "none"));
		json_t *mqtt = json_pack("{s:s, s:s, s:i}", "username", c->device.id, "host",
		                         gw->cfg->mqtt_host, "port", gw->cfg->mqtt_port);
		json_object_set_new(mqtt, "password",
		                    op->account ? json_string(op->password) : json_null());
		json_object_set_new(o, "mqtt", mqtt);
		gw_http_reply_json(req, 201, o);
	} else if (err == CL_ERR_CONFLICT) {
		gw_http_reply_error(req, 409, "exists", "a device with that id exists", NULL);
	} else if (err == CL_ERR_INVALID) {
		gw_http_reply_error(req, 400, "invalid_field", "person: no such person", NULL);
	} else {
		gw_http_reply_error(req, 503, "not_durable", "not stored; try again", NULL);
	}
	op_finish(op);
}

static void submit_add(struct device_op *op)
{
	struct gw_request *req = op->req;
	req->job = cl_service_submit_control(req->http->ctx->svc, &op->c, on_added, op);
	if (!req->job)
		on_added(op, CL_ERR_NOMEM, &op->c);
}

static void on_account_created(void *ctx, bool ok, const char *error)
{
	struct device_op *op = ctx;
	if (ok) {
		op->account = true;
		submit_add(op);
		return;
	}
	cl_warn("device.account_failed", "device=%s error=\"%s\"", op->c.device.id, error);
	char msg[200];
	snprintf(msg, sizeof(msg), "the broker did not create the account: %s", error);
	gw_http_reply_error(op->req, 502, "broker_refused", msg, NULL);
	op_finish(op);
}

static bool make_password(char *out, size_t len)
{
	unsigned char raw[PASSWORD_BYTES];
	if (cl_crypto_random(raw, sizeof(raw)) != CL_OK)
		return false;
	char *b64 = cl_crypto_base64_encode(raw, sizeof(raw));
	cl_crypto_wipe(raw, sizeof(raw));
	if (!b64)
		return false;
	/* URL-safe, so it pastes into any client's config. */
	for (char *p = b64; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	snprintf(out, len, "%s", b64);
	cl_crypto_wipe(b64, strlen(b64));
	free(b64);
	return true;
}

static const char *read_device(struct gw_request *req, json_t *o, struct cl_device *d)
{
	json_t *person = json_object_get(o, "person");
	json_t *id = json_object_get(o, "id");
	json_t *pubkey = json_object_get(o, "pubkey");
	if (!json_is_string(person) || !valid_id(json_string_value(person)))
		return "person: required, a person id";
	snprintf(d->person, sizeof(d->person), "%s", json_string_value(person));
	if (!cl_config_person(req->http->ctx->cfg, d->person))
		return "person: no such person";
	if (id && !json_is_null(id)) {
		if (!json_is_string(id) || !valid_id(json_string_value(id)))
			return "id: letters, digits, '-', '_', '.' (at most 47)";
		snprintf(d->id, sizeof(d->id), "%s", json_string_value(id));
	} else {
		unsigned char r[2];
		if (cl_crypto_random(r, sizeof(r)) != CL_OK)
			return "id: could not pick one; give one";
		char suffix[8];
		snprintf(suffix, sizeof(suffix), "-%02x%02x", r[0], r[1]);
		size_t n = strlen(d->person);
		if (n + strlen(suffix) >= sizeof(d->id))
			return "id: required for a person id this long";
		memcpy(d->id, d->person, n);
		memcpy(d->id + n, suffix, strlen(suffix) + 1);
	}
	if (pubkey && !json_is_null(pubkey)) {
		if (!json_is_string(pubkey) ||
		    cl_crypto_key_from_base64(json_string_value(pubkey), d->pubkey) != CL_OK)
			return "pubkey: a 32-byte X25519 public key, base64";
		d->has_pubkey = true;
	}
	return NULL;
}

static void post_device(struct gw_request *req)
{
	if (!require_admin(req))
		return;
	json_t *o = gw_http_parse_body(req);
	if (!o)
		return;
	struct device_op *op = calloc(1, sizeof(*op));
	if (!op) {
		json_decref(o);
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	op->req = req;
	op->c.kind = CL_CONTROL_DEVICE_ADD;
	snprintf(op->c.actor, sizeof(op->c.actor), "%s", req->person[0] ? req->person : req->token);
	const char *bad = read_device(req, o, &op->c.device);
	json_decref(o);
	struct gw_ctx *gw = req->http->ctx;
	if (bad) {
		gw_http_reply_error(req, 400, "invalid_field", bad, NULL);
		free(op);
		return;
	}
	if (cl_service_device(gw->svc, op->c.device.id)) {
		gw_http_reply_error(req, 409, "exists", "a device with that id exists", NULL);
		free(op);
		return;
	}
	if (!gw_mqtt_manages_accounts(gw->mqtt)) {
		req->job = cl_service_submit_control(gw->svc, &op->c, on_added, op);
		if (!req->job) {
			gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
			free(op);
			return;
		}
	} else if (!make_password(op->password, sizeof(op->password)) ||
	           !gw_mqtt_account_create(gw->mqtt, op->c.device.id, op->password,
	                                   on_account_created, op)) {
		gw_http_reply_error(req, 503, "broker_unavailable",
		                    "the broker is not connected; try again", NULL);
		cl_crypto_wipe(op->password, sizeof(op->password));
		free(op);
		return;
	}
	gw_http_suspend(req);
}

/* --- DELETE: revoke, then disable the broker account ------------------------- */

static void on_account_disabled(void *ctx, bool ok, const char *error)
{
	struct device_op *op = ctx;
	if (!ok)
		cl_warn("device.disable_failed", "device=%s error=\"%s\"", op->c.device.id, error);
	gw_http_reply_json(op->req, 200,
	                   json_pack("{s:s, s:b, s:s}", "id", op->c.device.id, "revoked", 1,
	                             "broker_account", ok ? "disabled" : "pending"));
	op_finish(op);
}

static void on_revoked(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct device_op *op = ctx;
	struct gw_request *req = op->req;
	struct gw_ctx *gw = req->http->ctx;
	if (err == CL_ERR_NOTFOUND) {
		gw_http_reply_error(req, 404, "not_found", "no such (unrevoked) device", NULL);
	} else if (err != CL_OK) {
		gw_http_reply_error(req, 503, "not_durable", "not stored; try again", NULL);
	} else if (gw_mqtt_manages_accounts(gw->mqtt)) {
		/* Disabled now, or when careline next connects (reconcile). */
		if (gw_mqtt_account_disable(gw->mqtt, c->device.id, on_account_disabled, op))
			return;
		on_account_disabled(op, false, "not connected");
		return;
	} else {
		gw_http_reply_json(req, 200,
		                   json_pack("{s:s, s:b, s:s}", "id", c->device.id, "revoked", 1,
		                             "broker_account", "none"));
	}
	op_finish(op);
}

static void delete_device(struct gw_request *req, const char *id)
{
	if (!require_admin(req))
		return;
	struct gw_ctx *gw = req->http->ctx;
	const struct cl_device *d = valid_id(id) ? cl_service_device(gw->svc, id) : NULL;
	if (!d || d->revoked) {
		gw_http_reply_error(req, 404, "not_found", "no such (unrevoked) device", NULL);
		return;
	}
	if (!d->created_ms) {
		gw_http_reply_error(req, 409, "configured",
		                    "this device is in the configuration file; remove it there",
		                    NULL);
		return;
	}
	struct device_op *op = calloc(1, sizeof(*op));
	if (!op) {
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	op->req = req;
	op->c.kind = CL_CONTROL_DEVICE_REVOKE;
	snprintf(op->c.device.id, sizeof(op->c.device.id), "%s", id);
	snprintf(op->c.actor, sizeof(op->c.actor), "%s", req->person[0] ? req->person : req->token);
	req->job = cl_service_submit_control(gw->svc, &op->c, on_revoked, op);
	if (!req->job) {
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		free(op);
		return;
	}
	gw_http_suspend(req);
}

/* --- GET /api/v1/key ---------------------------------------------------------- */

static void get_key(struct gw_request *req)
{
	if (!req->authed) {
		gw_http_reply_error(req, 401, "unauthorized", "a valid bearer token is required",
		                    NULL);
		return;
	}
	unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES];
	char b64[CL_CRYPTO_KEY_B64];
	cl_crypto_box_public(req->http->ctx->crypto, pk);
	cl_crypto_key_to_base64(pk, b64);
	gw_http_reply_json(req, 200,
	                   json_pack("{s:s, s:s, s:b}", "public_key", b64, "algorithm",
	                             "crypto_box_seal (X25519, XSalsa20-Poly1305)",
	                             "require_sealed", req->http->ctx->cfg->mqtt_require_sealed));
}

bool gw_devices_dispatch(struct gw_request *req)
{
	const char *url = req->url;
	const char *prefix = "/api/v1/devices";
	size_t plen = strlen(prefix);
	if (strcmp(url, "/api/v1/key") == 0) {
		if (strcmp(req->method, "GET") == 0)
			get_key(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
		return true;
	}
	if (strncmp(url, prefix, plen) != 0 || (url[plen] && url[plen] != '/'))
		return false;
	if (!url[plen]) {
		if (strcmp(req->method, "GET") == 0)
			get_devices(req);
		else if (strcmp(req->method, "POST") == 0)
			post_device(req);
		else
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET or POST",
			                    NULL);
	} else if (strcmp(req->method, "DELETE") == 0) {
		delete_device(req, url + plen + 1);
	} else {
		gw_http_reply_error(req, 405, "method_not_allowed", "use DELETE", NULL);
	}
	return true;
}
