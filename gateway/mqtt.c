/*
 * gateway/mqtt.c owns careline's MQTT v5 client (libmosquitto) inside the
 * loop: its socket in epoll (EPOLLOUT only while libmosquitto wants to
 * write), our own reconnect with backoff, a persistent session with QoS 1.
 * In: careline/v1/dev/{device}/report and .../ack. Out: receipts, ack results
 * and alerts on careline/v1/dev/{device}/inbox. An alert counts as delivered
 * when the broker PUBACKs it with success (it holds it for the device's
 * session); "no matching subscribers" is a failed attempt, retried.
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "mqtt_internal.h"

#define MID_SLOTS           65536
#define INFLIGHT_MAX        1000
#define RECONNECT_MIN_MS    500
#define RECONNECT_MAX_MS    30000
#define SESSION_EXPIRY_S    86400
#define REPLY_EXPIRY_S      86400
#define BUNDLE_MAX          100
#define SEALED_CONTENT_TYPE "application/vnd.careline.sealed+json"

static int64_t now_ms(void)
{
	return cl_clock_now(&cl_clock_system);
}

/* --- connection ------------------------------------------------------------- */

static void schedule_reconnect(struct gw_mqtt *m)
{
	m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : RECONNECT_MIN_MS;
	if (m->backoff_ms > RECONNECT_MAX_MS)
		m->backoff_ms = RECONNECT_MAX_MS;
	m->reconnect_at = now_ms() + m->backoff_ms;
}

static void connection_lost(struct gw_mqtt *m, int rc)
{
	if (m->watch)
		cl_loop_del(m->ctx->loop, m->watch);
	m->watch = NULL;
	if (m->connected || m->socket_open)
		cl_warn("mqtt.disconnected", "rc=%d reason=\"%s\"", rc, mosquitto_strerror(rc));
	m->connected = false;
	m->socket_open = false;
	m->want_out = false;
	if (m->dynsec)
		dynsec_on_disconnect(m);
	schedule_reconnect(m);
}

static void update_interest(struct gw_mqtt *m)
{
	if (!m->watch)
		return;
	bool want = mosquitto_want_write(m->mosq);
	if (want != m->want_out) {
		m->want_out = want;
		cl_loop_mod(m->ctx->loop, m->watch, EPOLLIN | (want ? EPOLLOUT : 0));
	}
}

/* The broker sent DISCONNECT (shutting down, or it kicked us):
 * libmosquitto closed the socket without an error code. */
static bool socket_closed(struct gw_mqtt *m)
{
	return m->socket_open && mosquitto_socket(m->mosq) < 0;
}

static void on_socket(void *ctx, uint32_t events)
{
	struct gw_mqtt *m = ctx;
	int rc = MOSQ_ERR_SUCCESS;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		/* Read everything that is there: one packet per call. */
		for (int i = 0; i < 10000 && rc == MOSQ_ERR_SUCCESS && m->socket_open; i++) {
			rc = mosquitto_loop_read(m->mosq, 1);
			int avail = 0;
			if (ioctl(mosquitto_socket(m->mosq), FIONREAD, &avail) < 0 || avail <= 0)
				break;
		}
	}
	if (rc == MOSQ_ERR_SUCCESS && m->socket_open && (events & EPOLLOUT))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && socket_closed(m))
		rc = MOSQ_ERR_CONN_LOST;
	if (rc != MOSQ_ERR_SUCCESS) {
		connection_lost(m, rc);
		return;
	}
	update_interest(m);
}

static void try_connect(struct gw_mqtt *m)
{
	const struct cl_config *cfg = m->ctx->cfg;
	mosquitto_property *props = NULL;
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, SESSION_EXPIRY_S);
	int rc = mosquitto_connect_bind_v5(m->mosq, cfg->mqtt_host, cfg->mqtt_port,
	                                   cfg->mqtt_keepalive_s, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		cl_warn("mqtt.connect_failed", "host=%s port=%d rc=%d reason=\"%s\" retry_ms=%d",
		        cfg->mqtt_host, cfg->mqtt_port, rc,
		        rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
		        m->backoff_ms ? m->backoff_ms * 2 : RECONNECT_MIN_MS);
		schedule_reconnect(m);
		return;
	}
	int fd = mosquitto_socket(m->mosq);
	if (cl_loop_add(m->ctx->loop, fd, EPOLLIN | EPOLLOUT, on_socket, m, &m->watch) != CL_OK) {
		mosquitto_disconnect(m->mosq);
		schedule_reconnect(m);
		return;
	}
	m->want_out = true;
	m->socket_open = true;
	m->reconnect_at = 0;
	m->misc_at = now_ms() + 1000;
}

void mqtt_ready(struct gw_mqtt *m)
{
	char *subs[] = {TOPIC_PREFIX "+/report", TOPIC_PREFIX "+/ack", TOPIC_PREFIX "+/status"};
	mosquitto_subscribe_multiple(m->mosq, NULL, 3, subs, 1, 0, NULL);
	/* A broker that died saved its queues only now and then: alerts it had
	 * accepted since may be gone. Current ones go out again (apps drop a
	 * notification_id they have). */
	if (m->was_ready) {
		struct cl_control c = {.kind = CL_CONTROL_RESEND};
		snprintf(c.channel, sizeof(c.channel), "mqtt");
		if (!cl_service_submit_control(m->ctx->svc, &c, NULL, NULL))
			cl_error("mqtt.resend_failed", "reason=nomem");
	}
	m->was_ready = true;
}

int mqtt_publish_raw(struct gw_mqtt *m, const char *topic, const char *payload)
{
	if (!m->connected)
		return MOSQ_ERR_NO_CONN;
	return mosquitto_publish_v5(m->mosq, NULL, topic, (int)strlen(payload), payload, 0, false,
	                            NULL);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	struct gw_mqtt *m = obj;
	if (rc != 0) {
		cl_error("mqtt.refused", "reason=\"%s\"", mosquitto_reason_string(rc));
		mosquitto_disconnect(mosq);
		return;
	}
	m->connected = true;
	m->backoff_ms = 0;
	if (m->dynsec)
		dynsec_on_connect(m); /* mqtt_ready once careline's role is in place */
	else
		mqtt_ready(m);
	cl_info("mqtt.connected", "host=%s port=%d session_present=%d", m->ctx->cfg->mqtt_host,
	        m->ctx->cfg->mqtt_port, flags & 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
	struct gw_mqtt *m = obj;
	m->connected = false;
}

/* --- publishing ---------------------------------------------------------- */

/* What one published message confirms: the notification ids in it. */
struct confirms {
	size_t n;
	int64_t ids[];
};

/* A payload waiting for the end of the loop pass. */
enum bundle_kind { BUNDLE_NONE, BUNDLE_ALERT, BUNDLE_RECEIPT };

struct staged {
	char device[CL_ID_MAX];
	enum bundle_kind kind;
	int expiry_s;
	int64_t notification_id; /* 0 for receipts and answers */
	size_t seq;              /* keeps the order within a device */
	json_t *obj;
};

static void stage(struct gw_mqtt *m, const char *device, enum bundle_kind kind, json_t *obj,
                  int expiry_s, int64_t notification_id)
{
	if (!obj)
		return;
	if (m->n_staged == m->cap_staged) {
		size_t cap = m->cap_staged ? m->cap_staged * 2 : 256;
		struct staged *p = realloc(m->staged, cap * sizeof(*p));
		if (!p) {
			json_decref(obj);
			if (notification_id)
				cl_service_send_result(m->ctx->svc, notification_id, false,
				                       "nomem");
			return;
		}
		m->staged = p;
		m->cap_staged = cap;
	}
	struct staged *st = &m->staged[m->n_staged];
	snprintf(st->device, sizeof(st->device), "%s", device);
	st->kind = kind;
	st->expiry_s = expiry_s;
	st->notification_id = notification_id;
	st->seq = m->n_staged++;
	st->obj = obj;
}

static int by_device(const void *a, const void *b)
{
	const struct staged *x = a, *y = b;
	int c = strcmp(x->device, y->device);
	if (c)
		return c;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* {"type": "sealed", "box": base64(crypto_box_seal(payload, device key))},
 * malloc'ed; NULL when out of memory. */
static char *seal_payload(const struct cl_device *dev, const char *payload)
{
	size_t len = strlen(payload);
	unsigned char *box = malloc(len + CL_CRYPTO_SEAL_BYTES);
	if (!box || cl_crypto_box_seal_to(dev->pubkey, payload, len, box) != CL_OK) {
		free(box);
		return NULL;
	}
	char *b64 = cl_crypto_base64_encode(box, len + CL_CRYPTO_SEAL_BYTES);
	free(box);
	if (!b64)
		return NULL;
	json_t *o = json_pack("{s:s, s:s}", "type", "sealed", "box", b64);
	free(b64);
	char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static int publish_obj(struct gw_mqtt *m, const char *device, json_t *obj, int expiry_s,
                       struct confirms *confirms)
{
	char topic[160];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "%s/inbox", device);
	char *payload = json_dumps(obj, JSON_COMPACT);
	if (!payload)
		return MOSQ_ERR_NOMEM;
	const struct cl_device *dev = cl_service_device(m->ctx->svc, device);
	bool sealed = dev && dev->has_pubkey;
	if (sealed) {
		char *box = seal_payload(dev, payload);
		cl_crypto_wipe(payload, strlen(payload));
		free(payload);
		if (!box)
			return MOSQ_ERR_NOMEM;
		payload = box;
		m->metrics.sealed_out++;
	}
	mosquitto_property *props = NULL;
	if (expiry_s > 0)
		mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
		                             (uint32_t)expiry_s);
	if (confirms && confirms->n == 1) {
		char corr[24];
		int n = snprintf(corr, sizeof(corr), "%lld", (long long)confirms->ids[0]);
		mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
		                              (uint16_t)n);
	}
	mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE,
	                              sealed ? SEALED_CONTENT_TYPE : "application/json");
	int mid = 0;
	int rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int)strlen(payload), payload, 1, false,
	                              props);
	mosquitto_property_free_all(&props);
	free(payload);
	if (rc == MOSQ_ERR_SUCCESS && confirms) {
		struct confirms **slot = &m->mid_confirms[mid & (MID_SLOTS - 1)];
		free(*slot); /* a mid reused before its PUBACK: the outbox retries */
		*slot = confirms;
	}
	return rc;
}

/* Publish what the pass staged: per device, several alerts or several
 * receipts go out as one bundle message; everything else one by one. */
static void publish_staged(struct gw_mqtt *m)
{
	if (!m->n_staged)
		return;
	qsort(m->staged, m->n_staged, sizeof(*m->staged), by_device);
	size_t i = 0;
	while (i < m->n_staged) {
		struct staged *first = &m->staged[i];
		size_t n = 1;
		if (first->kind != BUNDLE_NONE)
			while (i + n < m->n_staged && n < BUNDLE_MAX &&
			       m->staged[i + n].kind == first->kind &&
			       strcmp(m->staged[i + n].device, first->device) == 0)
				n++;
		size_t with_id = 0;
		for (size_t k = 0; k < n; k++)
			with_id += first[k].notification_id != 0;
		struct confirms *c = NULL;
		if (with_id) {
			c = malloc(sizeof(*c) + with_id * sizeof(c->ids[0]));
			if (c) {
				c->n = 0;
				for (size_t k = 0; k < n; k++)
					if (first[k].notification_id)
						c->ids[c->n++] = first[k].notification_id;
			}
		}
		json_t *obj = first->obj;
		if (n > 1) {
			json_t *items[BUNDLE_MAX];
			for (size_t k = 0; k < n; k++)
				items[k] = first[k].obj;
			obj = gw_payload_bundle(first->kind == BUNDLE_ALERT ? "alert" : "receipt",
			                        items, n);
		}
		int rc = m->connected ? publish_obj(m, first->device, obj, first->expiry_s, c)
		                      : MOSQ_ERR_NO_CONN;
		json_decref(obj);
		if (rc != MOSQ_ERR_SUCCESS) {
			/* Alerts are retried by the outbox; apps retry their reports. */
			for (size_t k = 0; c && k < c->n; k++)
				cl_service_send_result(m->ctx->svc, c->ids[k], false,
				                       "not_connected");
			free(c);
			cl_warn("mqtt.publish_failed", "device=%s items=%zu rc=%d", first->device,
			        n, rc);
		}
		i += n;
	}
	m->n_staged = 0;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
	struct gw_mqtt *m = obj;
	struct confirms **slot = &m->mid_confirms[mid & (MID_SLOTS - 1)];
	struct confirms *c = *slot;
	if (!c)
		return;
	*slot = NULL;
	/* 16: nobody subscribed (the device has no session yet): retried. */
	const char *error = reason == MQTT_RC_SUCCESS                   ? NULL
	                    : reason == MQTT_RC_NO_MATCHING_SUBSCRIBERS ? "no_subscriber"
	                                                                : "puback_refused";
	for (size_t k = 0; k < c->n; k++)
		cl_service_send_result(m->ctx->svc, c->ids[k], error == NULL, error);
	free(c);
}

static enum cl_err send_alert(void *ctx, const struct cl_outgoing *out)
{
	struct gw_mqtt *m = ctx;
	if (!m->connected)
		return CL_AGAIN;
	json_t *obj = gw_payload_alert(m->ctx->cfg, out);
	if (!obj)
		return CL_ERR_NOMEM;
	int64_t expiry_s = m->ctx->cfg->alert_expiry_s;
	if (strcmp(out->n->kind, "alert") == 0) {
		char expires[32];
		cl_time_format(now_ms() + expiry_s * 1000, expires, sizeof(expires));
		json_object_set_new(obj, "expires_at", json_string(expires));
		/* Only a sealed alert may say what and where. */
		const struct cl_device *dev = cl_service_device(m->ctx->svc, out->n->target);
		if (dev && dev->has_pubkey)
			cl_service_ticket_reports(m->ctx->svc, out->t, gw_payload_alert_detail,
			                          obj);
	}
	stage(m, out->n->target, strcmp(out->n->kind, "alert") == 0 ? BUNDLE_ALERT : BUNDLE_NONE,
	      obj, (int)expiry_s, out->n->id);
	cl_debug("mqtt.alert", "notification=%lld device=%s ticket=%s", (long long)out->n->id,
	         out->n->target, out->t->ref);
	return CL_OK;
}

/* --- inbound ----------------------------------------------------------------- */

struct pending {
	struct gw_mqtt *m;
	char device[CL_ID_MAX];
	char report_id[40];
	char ticket[CL_REF_MAX];
	char lang[4];
};

/* Answers to a device go out at the end of the pass; receipts may bundle. */
static void reply(struct gw_mqtt *m, const char *device, json_t *payload)
{
	stage(m, device, BUNDLE_NONE, payload, REPLY_EXPIRY_S, 0);
}

static void on_report_done(void *ctx, const struct cl_report_answer *a)
{
	struct pending *p = ctx;
	if (a->err == CL_OK)
		stage(p->m, p->device, BUNDLE_RECEIPT,
		      gw_payload_receipt(p->m->ctx->cfg, p->report_id, a, p->lang), REPLY_EXPIRY_S,
		      0);
	else
		reply(p->m, p->device,
		      gw_payload_error(p->report_id, a->err == CL_AGAIN ? "not_durable" : "failed",
		                       "not stored; send the report again"));
	free(p);
}

static void on_ack_done(void *ctx, const struct cl_action_answer *a)
{
	struct pending *p = ctx;
	if (a->err == CL_OK && !a->changed)
		p->m->metrics.action_replays++;
	reply(p->m, p->device, gw_payload_ack_result(a, p->ticket));
	free(p);
}

static void reject(struct gw_mqtt *m, const char *device, const char *report_id, const char *code,
                   const char *message)
{
	cl_service_metrics_mut(m->ctx->svc)->rejected[CL_CHANNEL_MQTT]++;
	cl_info("mqtt.rejected", "device=%s code=%s", device, code);
	reply(m, device, gw_payload_error(report_id, code, message));
}

static void handle_report(struct gw_mqtt *m, const struct cl_device *dev, json_t *o)
{
	struct cl_report r;
	cl_report_init(&r);
	r.via = CL_CHANNEL_MQTT;
	char err[200];
	json_t *rid = json_object_get(o, "report_id");
	const char *report_id = json_is_string(rid) ? json_string_value(rid) : NULL;
	if (gw_json_to_report(o, &r, err, sizeof(err)) != CL_OK) {
		cl_report_free(&r);
		m->metrics.invalid++;
		reject(m, dev->id, report_id && gw_is_uuid(report_id) ? report_id : NULL,
		       "invalid_field", err);
		return;
	}
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		cl_report_free(&r);
		return;
	}
	p->m = m;
	snprintf(p->device, sizeof(p->device), "%s", dev->id);
	snprintf(p->report_id, sizeof(p->report_id), "%s", report_id);
	const struct cl_person *person = cl_config_person(m->ctx->cfg, dev->person);
	snprintf(p->lang, sizeof(p->lang), "%s",
	         person && person->lang[0] ? person->lang : m->ctx->cfg->lang);
	if (!r.anonymous) {
		r.reporter_person = strdup(dev->person);
		if (person && !r.reporter_role)
			r.reporter_role = strdup(person->role);
	}
	if (!cl_service_submit_report(m->ctx->svc, &r, on_report_done, p))
		free(p);
	else
		m->metrics.reports++;
}

static void handle_ack(struct gw_mqtt *m, const struct cl_device *dev, json_t *o)
{
	json_t *nid = json_object_get(o, "notification_id");
	json_t *ticket = json_object_get(o, "ticket");
	json_t *action = json_object_get(o, "action");
	json_t *reason = json_object_get(o, "reason");
	json_t *note = json_object_get(o, "note");
	struct cl_action a = {0};
	const char *bad = NULL;
	if (!json_is_string(ticket) || json_string_length(ticket) >= sizeof(a.ref))
		bad = "ticket: required, a ticket ref";
	else if (!json_is_string(action) ||
	         cl_action_parse(json_string_value(action), &a.kind) != CL_OK)
		bad = "action: ack, decline, take, resolve or note";
	else if (nid && !json_is_null(nid) && !json_is_integer(nid))
		bad = "notification_id: must be an integer";
	else if (reason && !json_is_null(reason) &&
	         (!json_is_string(reason) || json_string_length(reason) >= sizeof(a.reason)))
		bad = "reason: must be a closing reason";
	else if (note && !json_is_null(note) && !json_is_string(note))
		bad = "note: must be a string";
	else if (a.kind == CL_ACTION_NOTE && (!json_is_string(note) || !json_string_length(note)))
		bad = "note: required";
	else if (a.kind == CL_ACTION_RESOLVE && !json_is_string(reason))
		bad = "reason: required for resolve";
	if (bad) {
		m->metrics.invalid++;
		reject(m, dev->id, NULL, "invalid_field", bad);
		return;
	}
	snprintf(a.ref, sizeof(a.ref), "%s", json_string_value(ticket));
	snprintf(a.actor, sizeof(a.actor), "%s", dev->person);
	if (json_is_integer(nid))
		a.notification_id = (int64_t)json_integer_value(nid);
	if (json_is_string(reason))
		snprintf(a.reason, sizeof(a.reason), "%s", json_string_value(reason));
	if (json_is_string(note))
		a.note = strdup(json_string_value(note));
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		free(a.note);
		return;
	}
	p->m = m;
	snprintf(p->device, sizeof(p->device), "%s", dev->id);
	snprintf(p->ticket, sizeof(p->ticket), "%s", a.ref);
	if (!cl_service_submit_action(m->ctx->svc, &a, on_ack_done, p))
		free(p);
	else
		m->metrics.actions++;
}

/* --- presence and the team view ---------------------------------------------- */

static struct presence *presence_slot(struct gw_mqtt *m, const char *device, bool create)
{
	for (size_t i = 0; i < m->n_presence; i++)
		if (strcmp(m->presence[i].device, device) == 0)
			return &m->presence[i];
	if (!create)
		return NULL;
	if (m->n_presence == m->cap_presence) {
		size_t cap = m->cap_presence ? m->cap_presence * 2 : 16;
		struct presence *p = realloc(m->presence, cap * sizeof(*p));
		if (!p)
			return NULL;
		m->presence = p;
		m->cap_presence = cap;
	}
	struct presence *p = &m->presence[m->n_presence++];
	memset(p, 0, sizeof(*p));
	snprintf(p->device, sizeof(p->device), "%s", device);
	return p;
}

/* The retained status: "online" / "offline" (or a JSON string of either). */
static void handle_status(struct gw_mqtt *m, const struct cl_device *dev,
                          const struct mosquitto_message *msg)
{
	char text[32] = "";
	if (msg->payloadlen > 0 && (size_t)msg->payloadlen < sizeof(text))
		memcpy(text, msg->payload, (size_t)msg->payloadlen);
	bool online = strstr(text, "online") != NULL;
	struct presence *p = presence_slot(m, dev->id, true);
	if (!p)
		return;
	if (p->online != online || !p->since_ms) {
		p->online = online;
		p->since_ms = now_ms();
		cl_debug("mqtt.presence", "device=%s online=%d", dev->id, online);
	}
	uint64_t n = 0;
	for (size_t i = 0; i < m->n_presence; i++)
		n += m->presence[i].online;
	m->metrics.devices_online = n;
}

bool gw_mqtt_presence(const struct gw_mqtt *m, const char *device, bool *online, int64_t *since_ms)
{
	struct presence *p = m ? presence_slot((struct gw_mqtt *)m, device, false) : NULL;
	if (!p)
		return false;
	*online = p->online;
	*since_ms = p->since_ms;
	return true;
}

static bool in_team(const struct cl_team *team, const char *person)
{
	if (strcmp(team->lead, person) == 0)
		return true;
	for (size_t l = 0; l < team->n_layers; l++)
		for (size_t k = 0; k < team->layers[l].n_members; k++)
			if (strcmp(team->layers[l].members[k], person) == 0)
				return true;
	return false;
}

struct queue_ctx {
	const struct cl_config *cfg;
	json_t *tickets;
};

static void on_queue_ticket(void *ctx, const struct cl_ticket *t)
{
	struct queue_ctx *q = ctx;
	json_array_append_new(q->tickets, gw_json_ticket(q->cfg, t));
}

/* {"type": "queue", "request_id"}: the open tickets of the person's teams. */
static void handle_queue(struct gw_mqtt *m, const struct cl_device *dev, json_t *o)
{
	json_t *rid = json_object_get(o, "request_id");
	if (rid && !json_is_null(rid) && (!json_is_string(rid) || json_string_length(rid) > 64)) {
		reject(m, dev->id, NULL, "invalid_field", "request_id: a short string");
		m->metrics.invalid++;
		return;
	}
	const struct cl_config *cfg = m->ctx->cfg;
	struct queue_ctx q = {cfg, json_array()};
	for (size_t i = 0; i < cfg->n_teams; i++) {
		if (!in_team(&cfg->teams[i], dev->person))
			continue;
		struct cl_ticket_filter f = {
		    .open_only = true, .team = cfg->teams[i].id, .limit = 200};
		if (cl_service_tickets(m->ctx->svc, &f, on_queue_ticket, &q) != CL_OK) {
			json_decref(q.tickets);
			reply(m, dev->id,
			      gw_payload_error(NULL, "not_available",
			                       "the queue cannot be read now"));
			return;
		}
	}
	m->metrics.queue_requests++;
	json_t *answer = json_pack("{s:s, s:o}", "type", "queue", "tickets", q.tickets);
	if (json_is_string(rid))
		json_object_set(answer, "request_id", rid);
	reply(m, dev->id, answer);
}

/* --- inbound ---------------------------------------------------------------- */

/* A sealed payload {"type": "sealed", "box": base64}: opened with careline's
 * key into the JSON object inside; NULL (and answered) when it does not open. */
static json_t *open_sealed(struct gw_mqtt *m, const struct cl_device *dev, json_t *o)
{
	json_t *box = json_object_get(o, "box");
	size_t max = m->ctx->cfg->http_max_body;
	unsigned char *bin = json_is_string(box) ? malloc(max) : NULL;
	unsigned char *plain = bin ? malloc(max) : NULL;
	size_t len = 0;
	json_t *inner = NULL;
	if (plain && cl_crypto_base64_decode(json_string_value(box), bin, max, &len) == CL_OK &&
	    len > CL_CRYPTO_SEAL_BYTES &&
	    cl_crypto_box_open(m->ctx->crypto, bin, len, plain) == CL_OK)
		inner = json_loadb((const char *)plain, len - CL_CRYPTO_SEAL_BYTES,
		                   JSON_REJECT_DUPLICATES, NULL);
	if (plain)
		cl_crypto_wipe(plain, len > CL_CRYPTO_SEAL_BYTES ? len - CL_CRYPTO_SEAL_BYTES : 0);
	free(bin);
	free(plain);
	if (!json_is_object(inner)) {
		json_decref(inner);
		m->metrics.bad_seal++;
		reject(m, dev->id, NULL, "bad_seal",
		       "the box does not open with careline's key (carelinectl key show)");
		return NULL;
	}
	m->metrics.sealed_in++;
	return inner;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
	struct gw_mqtt *m = obj;
	if (m->dynsec && dynsec_on_message(m, msg))
		return;
	const char *topic = msg->topic;
	size_t plen = strlen(TOPIC_PREFIX);
	if (strncmp(topic, TOPIC_PREFIX, plen) != 0)
		return;
	const char *device = topic + plen;
	const char *slash = strchr(device, '/');
	if (!slash || (size_t)(slash - device) >= CL_ID_MAX)
		return;
	char dev_id[CL_ID_MAX];
	memcpy(dev_id, device, (size_t)(slash - device));
	dev_id[slash - device] = '\0';
	const char *kind = slash + 1;
	const struct cl_device *dev = cl_service_device(m->ctx->svc, dev_id);
	if (!dev || dev->revoked) {
		if (dev)
			m->metrics.revoked++;
		else
			m->metrics.unknown_device++;
		/* Never answered: there is nobody careline trusts to answer. */
		if (msg->payloadlen > 0)
			cl_warn(dev ? "mqtt.revoked_device" : "mqtt.unknown_device", "kind=%s",
			        kind);
		cl_service_metrics_mut(m->ctx->svc)->rejected[CL_CHANNEL_MQTT]++;
		return;
	}
	if (strcmp(kind, "status") == 0) {
		handle_status(m, dev, msg);
		return;
	}
	if ((size_t)msg->payloadlen > m->ctx->cfg->http_max_body) {
		m->metrics.too_large++;
		reject(m, dev->id, NULL, "too_large", "payload over the size cap");
		return;
	}
	json_error_t jerr;
	json_t *o =
	    json_loadb(msg->payload, (size_t)msg->payloadlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		m->metrics.malformed++;
		reject(m, dev->id, NULL, "malformed_json", "the payload must be a JSON object");
		return;
	}
	const char *type = json_string_value(json_object_get(o, "type"));
	bool sealed = type && strcmp(type, "sealed") == 0;
	if (sealed) {
		json_t *inner = open_sealed(m, dev, o);
		json_decref(o);
		if (!inner)
			return;
		o = inner;
		type = json_string_value(json_object_get(o, "type"));
	}
	if (strcmp(kind, "report") == 0 && type && strcmp(type, "queue") == 0) {
		handle_queue(m, dev, o);
	} else if (strcmp(kind, "report") == 0) {
		json_t *rid = json_object_get(o, "report_id");
		if (!sealed && m->ctx->cfg->mqtt_require_sealed) {
			m->metrics.sealed_required++;
			reject(m, dev->id,
			       json_is_string(rid) && gw_is_uuid(json_string_value(rid))
			           ? json_string_value(rid)
			           : NULL,
			       "sealed_required",
			       "seal reports to careline's key (carelinectl key show)");
		} else {
			handle_report(m, dev, o);
		}
	} else if (strcmp(kind, "ack") == 0) {
		handle_ack(m, dev, o);
	}
	json_decref(o);
}

/* --- loop hooks ------------------------------------------------------------- */

static void on_pass_end(void *ctx)
{
	struct gw_mqtt *m = ctx;
	int64_t now = now_ms();
	publish_staged(m);
	if (m->requests)
		dynsec_tick(m, now);
	if (!m->socket_open) {
		if (m->reconnect_at && now >= m->reconnect_at)
			try_connect(m);
		return;
	}
	if (now >= m->misc_at) {
		int rc = mosquitto_loop_misc(m->mosq);
		m->misc_at = now + (m->ctx->cfg->mqtt_keepalive_s * 1000) / 4;
		if ((rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) || socket_closed(m)) {
			connection_lost(m, rc ? rc : MOSQ_ERR_CONN_LOST);
			return;
		}
	}
	if (mosquitto_want_write(m->mosq)) {
		int rc = mosquitto_loop_write(m->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && socket_closed(m))
			rc = MOSQ_ERR_CONN_LOST;
		if (rc != MOSQ_ERR_SUCCESS) {
			connection_lost(m, rc);
			return;
		}
	}
	update_interest(m);
}

static int64_t next_deadline(void *ctx)
{
	struct gw_mqtt *m = ctx;
	int64_t next = m->socket_open ? m->misc_at : m->reconnect_at;
	int64_t dynsec = dynsec_next_deadline(m);
	return dynsec && (!next || dynsec < next) ? dynsec : next;
}

enum cl_err gw_mqtt_start(struct gw_ctx *ctx, struct gw_mqtt **out)
{
	*out = NULL;
	mosquitto_lib_init();
	struct gw_mqtt *m = calloc(1, sizeof(*m));
	if (!m)
		return CL_ERR_NOMEM;
	m->ctx = ctx;
	m->dynsec = strcmp(ctx->cfg->mqtt_accounts, "dynsec") == 0;
	m->mid_confirms = calloc(MID_SLOTS, sizeof(*m->mid_confirms));
	m->mosq = mosquitto_new(ctx->cfg->mqtt_client_id, false, m);
	if (!m->mid_confirms || !m->mosq) {
		gw_mqtt_stop(m);
		return CL_ERR_NOMEM;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	/* Receipts and alerts are small and urgent: no Nagle wait for more. */
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, INFLIGHT_MAX);
	mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, INFLIGHT_MAX);
	if (ctx->cfg->mqtt_username[0])
		mosquitto_username_pw_set(m->mosq, ctx->cfg->mqtt_username,
		                          ctx->cfg->mqtt_password[0] ? ctx->cfg->mqtt_password
		                                                     : NULL);
	mosquitto_connect_v5_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(m->mosq, on_message);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish);
	struct cl_sender sender = {.channel = "mqtt", .send = send_alert, .ctx = m};
	enum cl_err err = cl_service_add_sender(ctx->svc, &sender);
	if (err == CL_OK)
		err = cl_loop_add_hook(ctx->loop, on_pass_end, m);
	if (err == CL_OK)
		err = cl_loop_add_deadline(ctx->loop, next_deadline, m);
	if (err != CL_OK) {
		gw_mqtt_stop(m);
		return err;
	}
	try_connect(m);
	*out = m;
	return CL_OK;
}

void gw_mqtt_stop(struct gw_mqtt *m)
{
	if (!m)
		return;
	if (m->watch)
		cl_loop_del(m->ctx->loop, m->watch);
	if (m->mosq) {
		if (m->socket_open) {
			/* Receipts of the last commit still go out. */
			publish_staged(m);
			mosquitto_loop_write(m->mosq, 1);
			mosquitto_disconnect(m->mosq);
			mosquitto_loop_write(m->mosq, 1);
		}
		mosquitto_destroy(m->mosq);
	}
	dynsec_free(m);
	free(m->presence);
	for (size_t i = 0; m->mid_confirms && i < MID_SLOTS; i++)
		free(m->mid_confirms[i]);
	free(m->mid_confirms);
	for (size_t i = 0; i < m->n_staged; i++)
		json_decref(m->staged[i].obj);
	free(m->staged);
	free(m);
	mosquitto_lib_cleanup();
}

bool gw_mqtt_connected(const struct gw_mqtt *m)
{
	return m->connected && (!m->dynsec || m->dynsec_ready);
}

const struct gw_mqtt_metrics *gw_mqtt_metrics(const struct gw_mqtt *m)
{
	return &m->metrics;
}
