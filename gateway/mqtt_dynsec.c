/*
 * gateway/mqtt_dynsec.c owns the devices' broker accounts when [mqtt]
 * accounts = dynsec: careline's own account (the dynamic-security admin made
 * by `mosquitto_ctrl dynsec init`) sends JSON commands to
 * $CONTROL/dynamic-security/v1 and reads the answers on .../response,
 * matched by correlationData.
 *
 * On every connect it checks that its own account holds the role "careline"
 * (everything under careline/v1/, which the admin role lacks; granted once,
 * after which the broker kicks and careline reconnects), disables the broker
 * accounts of revoked devices (a revoke made while the broker was away), then
 * subscribes careline's topics. A device account gets its own role "dev-{id}" with four
 * literal rules: publish its report, ack and status, subscribe and receive
 * its inbox. (Mosquitto 2.0's dynamic security has no %u substitution; a
 * role per device gives the same confinement.) Anonymous access is off in
 * the broker config; the plugin's defaults deny publish and subscribe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "mqtt_internal.h"

#define DYNSEC_TIMEOUT_MS 5000

enum request_kind { REQ_CHECK, REQ_GRANT, REQ_RECONCILE, REQ_ACCOUNT };

struct dynsec_request {
	struct dynsec_request *next;
	char corr[24];
	enum request_kind kind;
	int64_t deadline;
	gw_account_done_fn done;
	void *ctx;
};

static int64_t now_ms(void)
{
	return cl_clock_now(&cl_clock_system);
}

/* {"commands": commands} as text (takes commands); malloc'ed. */
static char *dump_commands(json_t *commands)
{
	json_t *o = json_pack("{s:o}", "commands", commands);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Send commands (takes them); the request answers when the response to the
 * command tagged corr arrives, or times out. */
static bool send_commands(struct gw_mqtt *m, json_t *commands, enum request_kind kind,
                          const char *corr, gw_account_done_fn done, void *ctx)
{
	char *payload = dump_commands(commands);
	struct dynsec_request *r = payload ? calloc(1, sizeof(*r)) : NULL;
	int rc = r ? mqtt_publish_raw(m, DYNSEC_TOPIC, payload) : MOSQ_ERR_NOMEM;
	if (payload)
		cl_crypto_wipe(payload, strlen(payload)); /* may hold a device's password */
	free(payload);
	if (rc != MOSQ_ERR_SUCCESS) {
		free(r);
		return false;
	}
	snprintf(r->corr, sizeof(r->corr), "%s", corr);
	r->kind = kind;
	r->deadline = now_ms() + DYNSEC_TIMEOUT_MS;
	r->done = done;
	r->ctx = ctx;
	r->next = m->requests;
	m->requests = r;
	return true;
}

static void next_corr(struct gw_mqtt *m, char *out, size_t len)
{
	snprintf(out, len, "cl-%llu", (unsigned long long)++m->next_request);
}

static json_t *acl(const char *type, const char *topic)
{
	return json_pack("{s:s, s:s, s:b, s:i}", "acltype", type, "topic", topic, "allow", 1,
	                 "priority", 0);
}

static void disable_revoked(void *ctx, const struct cl_device *d)
{
	json_t *commands = ctx;
	if (d->revoked)
		json_array_append_new(commands, json_pack("{s:s, s:s}", "command", "disableClient",
		                                          "username", d->id));
}

void dynsec_on_connect(struct gw_mqtt *m)
{
	m->dynsec_ready = false;
	mosquitto_subscribe(m->mosq, NULL, DYNSEC_RESPONSE_TOPIC, 1);
	char corr[24];
	next_corr(m, corr, sizeof(corr));
	json_t *commands = json_pack("[{s:s, s:s, s:s}]", "command", "getClient", "username",
	                             m->ctx->cfg->mqtt_username, "correlationData", corr);
	if (!send_commands(m, commands, REQ_CHECK, corr, NULL, NULL)) {
		cl_error("mqtt.dynsec_failed", "step=check");
		mqtt_ready(m);
	}
}

/* careline's account lacks the role "careline": create it and take it. The
 * broker then disconnects us (a client whose roles change is kicked) and the
 * next connect finds the role in place. */
static void grant_self(struct gw_mqtt *m)
{
	json_t *acls = json_array();
	json_array_append_new(acls, acl("publishClientSend", "careline/v1/#"));
	json_array_append_new(acls, acl("publishClientReceive", "careline/v1/#"));
	json_array_append_new(acls, acl("subscribePattern", "careline/v1/#"));
	json_array_append_new(acls, acl("unsubscribePattern", "careline/v1/#"));
	char corr[24];
	next_corr(m, corr, sizeof(corr));
	/* createRole fails harmlessly when the role exists already. */
	json_t *commands =
	    json_pack("[{s:s, s:s, s:o}, {s:s, s:s, s:s, s:s}]", "command", "createRole",
	              "rolename", "careline", "acls", acls, "command", "addClientRole", "username",
	              m->ctx->cfg->mqtt_username, "rolename", "careline", "correlationData", corr);
	cl_info("mqtt.dynsec_grant", "role=careline user=%s", m->ctx->cfg->mqtt_username);
	if (!send_commands(m, commands, REQ_GRANT, corr, NULL, NULL))
		cl_error("mqtt.dynsec_failed", "step=grant");
}

/* Disable the broker accounts of revoked devices (idempotent): a revoke
 * made while the broker was away takes effect here. */
static void reconcile(struct gw_mqtt *m)
{
	json_t *revoked = json_array();
	cl_service_devices(m->ctx->svc, disable_revoked, revoked);
	if (!json_array_size(revoked)) {
		json_decref(revoked);
		return;
	}
	char corr[24];
	next_corr(m, corr, sizeof(corr));
	json_t *last = json_array_get(revoked, json_array_size(revoked) - 1);
	json_object_set_new(last, "correlationData", json_string(corr));
	if (!send_commands(m, revoked, REQ_RECONCILE, corr, NULL, NULL))
		cl_error("mqtt.dynsec_failed", "step=reconcile");
}

static void become_ready(struct gw_mqtt *m)
{
	if (m->dynsec_ready)
		return;
	m->dynsec_ready = true;
	mqtt_ready(m);
	reconcile(m);
}

static bool has_role(json_t *resp, const char *role)
{
	json_t *roles =
	    json_object_get(json_object_get(json_object_get(resp, "data"), "client"), "roles");
	size_t i;
	json_t *r;
	json_array_foreach(roles, i, r)
	{
		const char *name = json_string_value(json_object_get(r, "rolename"));
		if (name && strcmp(name, role) == 0)
			return true;
	}
	return false;
}

static void finish(struct gw_mqtt *m, struct dynsec_request *r, json_t *resp, const char *error)
{
	switch (r->kind) {
	case REQ_CHECK:
		if (error) {
			cl_error("mqtt.dynsec_check", "error=\"%s\"", error);
			become_ready(m); /* maybe the broker's own config grants us our topics */
		} else if (has_role(resp, "careline")) {
			become_ready(m);
		} else {
			grant_self(m);
		}
		break;
	case REQ_GRANT:
		if (error && !strstr(error, "already")) {
			cl_error("mqtt.dynsec_grant_failed", "error=\"%s\"", error);
			become_ready(m);
		} else {
			dynsec_on_connect(m); /* check again, unless the kick comes first */
		}
		break;
	case REQ_RECONCILE:
		if (error && !strstr(error, "not found"))
			cl_warn("mqtt.dynsec_reconcile", "error=\"%s\"", error);
		break;
	case REQ_ACCOUNT:
		if (r->done)
			r->done(r->ctx, error == NULL, error);
		break;
	}
}

static struct dynsec_request *take_request(struct gw_mqtt *m, const char *corr)
{
	for (struct dynsec_request **p = &m->requests; *p; p = &(*p)->next)
		if (strcmp((*p)->corr, corr) == 0) {
			struct dynsec_request *r = *p;
			*p = r->next;
			return r;
		}
	return NULL;
}

bool dynsec_on_message(struct gw_mqtt *m, const struct mosquitto_message *msg)
{
	if (strcmp(msg->topic, DYNSEC_RESPONSE_TOPIC) != 0)
		return false;
	json_t *o = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL);
	json_t *responses = json_object_get(o, "responses");
	size_t i;
	json_t *resp;
	json_array_foreach(responses, i, resp)
	{
		const char *corr = json_string_value(json_object_get(resp, "correlationData"));
		if (!corr)
			continue;
		struct dynsec_request *r = take_request(m, corr);
		if (!r)
			continue;
		const char *error = json_string_value(json_object_get(resp, "error"));
		finish(m, r, resp, error);
		free(r);
	}
	json_decref(o);
	return true;
}

void dynsec_tick(struct gw_mqtt *m, int64_t now)
{
	struct dynsec_request **p = &m->requests;
	while (*p) {
		struct dynsec_request *r = *p;
		if (now < r->deadline) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		if (r->kind == REQ_CHECK)
			cl_error("mqtt.dynsec_unanswered",
			         "hint=\"is careline's MQTT account the dynamic-security admin?\"");
		finish(m, r, NULL, "timeout");
		free(r);
	}
}

int64_t dynsec_next_deadline(const struct gw_mqtt *m)
{
	int64_t next = 0;
	for (const struct dynsec_request *r = m->requests; r; r = r->next)
		if (!next || r->deadline < next)
			next = r->deadline;
	return next;
}

/* Drop waiting requests: checks and grants, and account requests too when
 * accounts is set (those are answered with error). */
static void drop_requests(struct gw_mqtt *m, bool accounts, const char *error)
{
	struct dynsec_request **p = &m->requests;
	while (*p) {
		struct dynsec_request *r = *p;
		if (r->kind == REQ_ACCOUNT && !accounts) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		if (r->kind == REQ_ACCOUNT)
			finish(m, r, NULL, error);
		free(r);
	}
}

void dynsec_on_disconnect(struct gw_mqtt *m)
{
	/* Checks and grants start again on the next connect; an account
	 * request may still be answered from careline's session, or time out. */
	m->dynsec_ready = false;
	drop_requests(m, false, NULL);
}

void dynsec_free(struct gw_mqtt *m)
{
	drop_requests(m, true, "shutting_down");
}

/* --- device accounts ------------------------------------------------------- */

bool gw_mqtt_manages_accounts(const struct gw_mqtt *m)
{
	return m && m->dynsec;
}

static void device_topic(char *out, size_t len, const char *device, const char *kind)
{
	snprintf(out, len, TOPIC_PREFIX "%s/%s", device, kind);
}

bool gw_mqtt_account_create(struct gw_mqtt *m, const char *device, const char *password,
                            gw_account_done_fn done, void *ctx)
{
	if (!m->dynsec || !m->connected || !m->dynsec_ready)
		return false;
	char role[CL_ID_MAX + 8], topic[4][160];
	snprintf(role, sizeof(role), "dev-%s", device);
	device_topic(topic[0], sizeof(topic[0]), device, "report");
	device_topic(topic[1], sizeof(topic[1]), device, "ack");
	device_topic(topic[2], sizeof(topic[2]), device, "status");
	device_topic(topic[3], sizeof(topic[3]), device, "inbox");
	json_t *acls = json_array();
	for (int k = 0; k < 3; k++)
		json_array_append_new(acls, acl("publishClientSend", topic[k]));
	json_array_append_new(acls, acl("subscribeLiteral", topic[3]));
	json_array_append_new(acls, acl("publishClientReceive", topic[3]));
	json_array_append_new(acls, acl("unsubscribeLiteral", topic[3]));
	char corr[24];
	next_corr(m, corr, sizeof(corr));
	json_t *commands =
	    json_pack("[{s:s, s:s, s:o}, {s:s, s:s, s:s, s:[{s:s}], s:s}]", "command", "createRole",
	              "rolename", role, "acls", acls, "command", "createClient", "username", device,
	              "password", password, "roles", "rolename", role, "correlationData", corr);
	return send_commands(m, commands, REQ_ACCOUNT, corr, done, ctx);
}

bool gw_mqtt_account_disable(struct gw_mqtt *m, const char *device, gw_account_done_fn done,
                             void *ctx)
{
	if (!m->dynsec || !m->connected || !m->dynsec_ready)
		return false;
	char corr[24];
	next_corr(m, corr, sizeof(corr));
	json_t *commands = json_pack("[{s:s, s:s, s:s}]", "command", "disableClient", "username",
	                             device, "correlationData", corr);
	return send_commands(m, commands, REQ_ACCOUNT, corr, done, ctx);
}

void gw_mqtt_account_delete(struct gw_mqtt *m, const char *device)
{
	if (!m->dynsec || !m->connected)
		return;
	char role[CL_ID_MAX + 8];
	snprintf(role, sizeof(role), "dev-%s", device);
	json_t *commands = json_pack("[{s:s, s:s}, {s:s, s:s}]", "command", "deleteClient",
	                             "username", device, "command", "deleteRole", "rolename", role);
	char *payload = dump_commands(commands);
	if (payload)
		mqtt_publish_raw(m, DYNSEC_TOPIC, payload);
	free(payload);
}
