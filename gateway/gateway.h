/*
 * gateway/gateway.h: what the gateway's files share. The daemon's context
 * (config, service, loop) and the entry points of each adapter: the HTTP API
 * (http.c, http_api.c, http_ops.c), the MQTT client (mqtt.c), JSON report
 * parsing shared by HTTP and MQTT (json_report.c) and the device payloads
 * (payload.c, the one place MQTT payloads are built, so they can be sealed
 * later). The core never includes this header.
 */
#ifndef CARELINE_GATEWAY_H
#define CARELINE_GATEWAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/config.h"
#include "careline/loop.h"
#include "careline/service.h"

struct gw_http;
struct gw_mqtt;
struct gw_sms;
struct gw_ivr;

struct gw_ctx {
	const struct cl_config *cfg;
	struct cl_service *svc;
	const struct cl_crypto *crypto; /* careline's box key: sealed reports, key show */
	struct cl_loop *loop;
	struct gw_http *http;  /* TCP API */
	struct gw_http *admin; /* Unix socket API for carelinectl */
	struct gw_mqtt *mqtt;
	struct gw_sms *sms; /* NULL when [sms] provider is empty */
	struct gw_ivr *ivr; /* NULL when [voice] provider is empty */
};

/* --- HTTP ------------------------------------------------------------------ */

/* Listen on cfg->http_listen (TCP, bearer tokens) or, when unix_path is set,
 * on that Unix socket (admin role, mode 0600). */
enum cl_err gw_http_start(struct gw_ctx *ctx, const char *unix_path, struct gw_http **out);
void gw_http_stop(struct gw_http *http);
/* The bound TCP port (tests pass port 0). */
int gw_http_port(const struct gw_http *http);

/* --- MQTT ------------------------------------------------------------------ */

enum cl_err gw_mqtt_start(struct gw_ctx *ctx, struct gw_mqtt **out);
void gw_mqtt_stop(struct gw_mqtt *mqtt);
/* Connected and, with accounts = dynsec, holding its role: ready to serve. */
bool gw_mqtt_connected(const struct gw_mqtt *mqtt);

/* What happened to device traffic (/metrics). */
struct gw_mqtt_metrics {
	uint64_t reports;         /* reports handed to the core */
	uint64_t actions;         /* actions handed to the core */
	uint64_t queue_requests;  /* team views answered */
	uint64_t sealed_in;       /* sealed payloads opened */
	uint64_t sealed_out;      /* inbox messages sealed to a device key */
	uint64_t malformed;       /* not a JSON object */
	uint64_t invalid;         /* a JSON object with a bad field */
	uint64_t too_large;       /* over the size cap */
	uint64_t unknown_device;  /* a topic naming no device careline knows */
	uint64_t revoked;         /* from a revoked device */
	uint64_t bad_seal;        /* a box that does not open */
	uint64_t sealed_required; /* plain report refused ([mqtt] require_sealed) */
	uint64_t action_replays;  /* actions that changed nothing (repeats) */
	uint64_t devices_online;  /* gauge: devices whose retained status is online */
};
const struct gw_mqtt_metrics *gw_mqtt_metrics(const struct gw_mqtt *mqtt);

/* A device's presence: its retained status as last seen (false when none). */
bool gw_mqtt_presence(const struct gw_mqtt *mqtt, const char *device, bool *online,
                      int64_t *since_ms);

/* Broker accounts of devices ([mqtt] accounts = dynsec). done is called once,
 * within 5 s, error NULL on success ("timeout" when the broker did not
 * answer). The functions return false, without calling done, when accounts
 * are not managed or the broker is not connected. */
typedef void (*gw_account_done_fn)(void *ctx, bool ok, const char *error);
bool gw_mqtt_manages_accounts(const struct gw_mqtt *mqtt);
bool gw_mqtt_account_create(struct gw_mqtt *mqtt, const char *device, const char *password,
                            gw_account_done_fn done, void *ctx);
bool gw_mqtt_account_disable(struct gw_mqtt *mqtt, const char *device, gw_account_done_fn done,
                             void *ctx);
/* Undo a create (careline could not store the device); no answer. */
void gw_mqtt_account_delete(struct gw_mqtt *mqtt, const char *device);

/* --- SMS ------------------------------------------------------------------- */

/* Start the SMS channel when the configuration names a provider (else *out
 * stays NULL and CL_OK): webhooks under /hooks/{provider}/, the outbound
 * sender for "sms" notifications, reply codes for staff. */
enum cl_err gw_sms_start(struct gw_ctx *ctx, struct gw_sms **out);
void gw_sms_stop(struct gw_sms *sms);

struct gw_sms_metrics {
	uint64_t inbound;         /* texts that became reports or follow-ups */
	uint64_t commands;        /* staff replies acted on */
	uint64_t auth_failures;   /* webhooks refused: signature, secret, credentials */
	uint64_t rate_limited;    /* texts dropped by the per-sender limit */
	uint64_t status_reports;  /* delivery reports recorded */
	uint64_t sent;            /* texts the provider accepted */
	uint64_t send_failures;   /* transient failures (retried) */
	uint64_t refused;         /* permanent failures (contact blocked) */
	uint64_t bundled;         /* notifications that went out inside a bundle text */
	uint64_t replies_dropped; /* REST receipts not sent: too many waiting */
};
const struct gw_sms_metrics *gw_sms_metrics(const struct gw_sms *sms);

/* --- the hotline (IVR) and alert calls --------------------------------------- */

/* Start the hotline when [voice] names a provider (else *out stays NULL):
 * webhooks under /hooks/{provider}/voice, recordings, "voice" alerts. */
enum cl_err gw_ivr_start(struct gw_ctx *ctx, struct gw_ivr **out);
void gw_ivr_stop(struct gw_ivr *ivr);

struct gw_ivr_metrics {
	uint64_t calls;              /* hotline calls started */
	uint64_t callbacks;          /* provider callbacks answered */
	uint64_t auth_failures;      /* webhooks refused: signature, secret, credentials */
	uint64_t unknown_calls;      /* callbacks for calls careline does not know */
	uint64_t malformed;          /* callbacks that could not be parsed */
	uint64_t tickets;            /* tickets made from calls */
	uint64_t recordings_stored;  /* recordings fetched and stored encrypted */
	uint64_t recording_failures; /* fetch or delete attempts that failed */
	uint64_t recordings_deleted; /* recordings deleted at the provider */
	uint64_t alert_calls;        /* calls to staff the provider accepted */
	uint64_t alert_call_failures;
	uint64_t alert_answers; /* digits acted on in alert calls */
};
const struct gw_ivr_metrics *gw_ivr_metrics(const struct gw_ivr *ivr);

/* --- JSON ------------------------------------------------------------------ */

/* Fill r from a report JSON object (DESIGN.md §10). On a bad field returns
 * CL_ERR_INVALID and names the field in err/errlen. r must be initialised;
 * the caller frees it. reporter_person/estate are left to the caller. */
enum cl_err gw_json_to_report(json_t *obj, struct cl_report *r, char *err, size_t errlen);
/* The answer to a report: {"ticket", "state", "urgency", "categories",
 * "duplicate", "kind", "linked_to"?, "advice"? (P0), "message"}. */
json_t *gw_json_report_answer(const struct cl_config *cfg, const struct cl_report_answer *a,
                              const char *lang);
/* A ticket without personal fields. */
json_t *gw_json_ticket(const struct cl_config *cfg, const struct cl_ticket *t);
/* {"error": {"code", "message"}} (+ "by" when set). */
json_t *gw_json_error(const char *code, const char *message, const char *by);
/* An RFC 3339 string for ms, or JSON null for 0. */
json_t *gw_json_time(int64_t ms);
/* Categories as an array of ids. */
json_t *gw_json_categories(const struct cl_categories *c);
/* A UUID in its 8-4-4-4-12 hex form. */
bool gw_is_uuid(const char *s);

/* --- device payloads ------------------------------------------------------ */

/* Payload objects for a device's inbox (caller decrefs). mqtt.c serialises
 * them, one per message or several of a kind bundled in one message. */
json_t *gw_payload_alert(const struct cl_config *cfg, const struct cl_outgoing *out);
json_t *gw_payload_receipt(const struct cl_config *cfg, const char *report_id,
                           const struct cl_report_answer *a, const char *lang);
json_t *gw_payload_ack_result(const struct cl_action_answer *a, const char *ticket_ref);
json_t *gw_payload_error(const char *report_id, const char *code, const char *message);
/* {"type": "alerts", "alerts": [...]} from items of type "alert" (takes them). */
/* Add the report's text and address to an alert (a json_t *, first report
 * only): for alerts sealed to a device key. A cl_service_ticket_reports
 * callback. */
void gw_payload_alert_detail(void *alert, const struct cl_report_view *v);
json_t *gw_payload_bundle(const char *type, json_t **items, size_t n);

#endif
