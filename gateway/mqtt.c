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

#include "careline/log.h"
#include "gateway.h"

#define TOPIC_PREFIX     "careline/v1/dev/"
#define MID_SLOTS        65536
#define INFLIGHT_MAX     1000
#define RECONNECT_MIN_MS 500
#define RECONNECT_MAX_MS 30000
#define SESSION_EXPIRY_S 86400
#define REPLY_EXPIRY_S   86400
#define BUNDLE_MAX       100

struct confirms;
struct staged;

struct gw_mqtt {
	struct gw_ctx *ctx;
	struct mosquitto *mosq;
	struct cl_loop_watch *watch;
	bool connected;   /* CONNACK received */
	bool socket_open; /* TCP up, watch registered */
	bool want_out;
	int64_t reconnect_at;
	int backoff_ms;
	int64_t misc_at;
	struct confirms **mid_confirms; /* mid → notification ids awaiting PUBACK */
	struct staged *staged;          /* payloads of this pass, published at its end */
	size_t n_staged, cap_staged;
};

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
	char *subs[] = {TOPIC_PREFIX "+/report", TOPIC_PREFIX "+/ack"};
	mosquitto_subscribe_multiple(mosq, NULL, 2, subs, 1, 0, NULL);
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

static int publish_obj(struct gw_mqtt *m, const char *device, json_t *obj, int expiry_s,
                       struct confirms *confirms)
{
	char topic[160];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "%s/inbox", device);
	char *payload = json_dumps(obj, JSON_COMPACT);
	if (!payload)
		return MOSQ_ERR_NOMEM;
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
	mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "application/json");
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
	stage(m, out->n->target, strcmp(out->n->kind, "alert") == 0 ? BUNDLE_ALERT : BUNDLE_NONE,
	      obj, (int)m->ctx->cfg->alert_expiry_s, out->n->id);
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
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
	struct gw_mqtt *m = obj;
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
	const struct cl_device *dev = cl_config_device(m->ctx->cfg, dev_id);
	if (!dev) {
		cl_warn("mqtt.unknown_device", "kind=%s", kind);
		cl_service_metrics_mut(m->ctx->svc)->rejected[CL_CHANNEL_MQTT]++;
		return;
	}
	if ((size_t)msg->payloadlen > m->ctx->cfg->http_max_body) {
		reject(m, dev->id, NULL, "too_large", "payload over the size cap");
		return;
	}
	json_error_t jerr;
	json_t *o =
	    json_loadb(msg->payload, (size_t)msg->payloadlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		reject(m, dev->id, NULL, "malformed_json", "the payload must be a JSON object");
		return;
	}
	if (strcmp(kind, "report") == 0)
		handle_report(m, dev, o);
	else if (strcmp(kind, "ack") == 0)
		handle_ack(m, dev, o);
	json_decref(o);
}

/* --- loop hooks ------------------------------------------------------------- */

static void on_pass_end(void *ctx)
{
	struct gw_mqtt *m = ctx;
	int64_t now = now_ms();
	publish_staged(m);
	if (!m->socket_open) {
		if (m->reconnect_at && now >= m->reconnect_at)
			try_connect(m);
		return;
	}
	if (now >= m->misc_at) {
		int rc = mosquitto_loop_misc(m->mosq);
		m->misc_at = now + (m->ctx->cfg->mqtt_keepalive_s * 1000) / 4;
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
			connection_lost(m, rc);
			return;
		}
	}
	if (mosquitto_want_write(m->mosq)) {
		int rc = mosquitto_loop_write(m->mosq, 1);
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
	return m->socket_open ? m->misc_at : m->reconnect_at;
}

enum cl_err gw_mqtt_start(struct gw_ctx *ctx, struct gw_mqtt **out)
{
	*out = NULL;
	mosquitto_lib_init();
	struct gw_mqtt *m = calloc(1, sizeof(*m));
	if (!m)
		return CL_ERR_NOMEM;
	m->ctx = ctx;
	m->mid_confirms = calloc(MID_SLOTS, sizeof(*m->mid_confirms));
	m->mosq = mosquitto_new(ctx->cfg->mqtt_client_id, false, m);
	if (!m->mid_confirms || !m->mosq) {
		gw_mqtt_stop(m);
		return CL_ERR_NOMEM;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
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
	return m->connected;
}
