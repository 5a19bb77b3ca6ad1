/*
 * gateway/mqtt_internal.h: careline's MQTT client state, shared by
 * gateway/mqtt.c (connection, devices' topics, publishing) and
 * gateway/mqtt_dynsec.c (broker accounts through the dynamic-security
 * plugin). Nobody else includes it.
 */
#ifndef CARELINE_MQTT_INTERNAL_H
#define CARELINE_MQTT_INTERNAL_H

#include <mosquitto.h>

#include "gateway.h"

#define TOPIC_PREFIX          "careline/v1/dev/"
#define DYNSEC_TOPIC          "$CONTROL/dynamic-security/v1"
#define DYNSEC_RESPONSE_TOPIC DYNSEC_TOPIC "/response"

struct confirms;
struct staged;
struct dynsec_request;

/* A device's last presence (its retained status). */
struct presence {
	char device[CL_ID_MAX];
	bool online;
	int64_t since_ms;
};

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
	/* dynamic security */
	bool dynsec;                     /* [mqtt] accounts = dynsec */
	bool dynsec_ready;               /* careline's own role is in place */
	bool was_ready;                  /* ready before: this is a reconnect */
	struct dynsec_request *requests; /* waiting for their response */
	uint64_t next_request;
	/* presence */
	struct presence *presence;
	size_t n_presence, cap_presence;
	struct gw_mqtt_metrics metrics;
};

/* Publish payload to topic, QoS 0 (a dynamic-security command must not be
 * resent after a reconnect: it would run twice), no properties; MOSQ_ERR_* */
int mqtt_publish_raw(struct gw_mqtt *m, const char *topic, const char *payload);
/* Connected (and, with dynsec, holding careline's role): subscribe careline's
 * topics; after a reconnect also resend the current alerts. */
void mqtt_ready(struct gw_mqtt *m);

/* mqtt_dynsec.c */
void dynsec_on_connect(struct gw_mqtt *m);
void dynsec_on_disconnect(struct gw_mqtt *m);
/* true when msg was a dynsec response (consumed). */
bool dynsec_on_message(struct gw_mqtt *m, const struct mosquitto_message *msg);
void dynsec_tick(struct gw_mqtt *m, int64_t now);
/* The earliest request timeout, 0 when none waits. */
int64_t dynsec_next_deadline(const struct gw_mqtt *m);
void dynsec_free(struct gw_mqtt *m);

#endif
