/*
 * gateway/http_internal.h: the request object and response helpers shared by
 * gateway/http.c (libmicrohttpd plumbing: bodies, size caps, suspend/resume),
 * gateway/http_api.c (the /api/v1 routes), gateway/http_devices.c (device
 * registry, careline's public key) and gateway/http_ops.c (healthz, readyz,
 * metrics), and gateway/sms.c for its webhooks.
 */
#ifndef CARELINE_HTTP_INTERNAL_H
#define CARELINE_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "gateway.h"

struct gw_http_conn;
struct gw_http_bucket;

struct gw_http {
	struct gw_ctx *ctx;
	struct MHD_Daemon *d;
	struct cl_loop_watch *watch;
	bool admin; /* the Unix socket: every request has the admin role */
	char unix_path[256];
	int port;
	uint64_t requests;
	uint64_t rejected_auth;
	uint64_t rejected_input;
	/* limits (http.c): connections waiting for their request, oldest
	 * deadline first; the per-address token buckets of untokened requests */
	struct gw_http_conn *waiting_head, *waiting_tail;
	struct gw_http_bucket *buckets; /* NULL: no rate limit */
	uint64_t bucket_seed;
	uint64_t timed_out;    /* connections closed at request_timeout */
	uint64_t rate_limited; /* requests answered 429 */
	/* what was logged: limit events and libmicrohttpd's messages, summed */
	int64_t log_window_ms;
	unsigned log_lines;
	uint64_t log_suppressed, logged_timed_out, logged_rate_limited;
};

struct gw_request {
	struct gw_http *http;
	struct MHD_Connection *conn;
	bool started;
	bool has_query;
	char query[512]; /* the raw query string (after '?'), as sent */
	const char *method;
	const char *url;
	char *body;
	size_t len, cap;
	bool too_big;
	bool dispatched;
	struct cl_job *job;
	/* the response, once known */
	bool ready;
	unsigned status;
	char *resp;
	size_t resp_len; /* binary responses (audio); 0: resp is text */
	const char *content_type;
	unsigned retry_after; /* seconds for Retry-After; 0: none */
	/* who is asking */
	bool authed;
	enum cl_role role;
	char person[CL_ID_MAX];
	char token[CL_ID_MAX];
};

/* Set the response (takes o); sent now or, if the request is suspended,
 * when it resumes. */
void gw_http_reply_json(struct gw_request *req, unsigned status, json_t *o);
void gw_http_reply_error(struct gw_request *req, unsigned status, const char *code,
                         const char *message, const char *by);
/* Takes text (malloc'ed). */
void gw_http_reply_text(struct gw_request *req, unsigned status, char *text,
                        const char *content_type);
/* Takes data (malloc'ed, len bytes): audio and other binary bodies. */
void gw_http_reply_bytes(struct gw_request *req, unsigned status, unsigned char *data, size_t len,
                         const char *content_type);
/* The body as a JSON object, or NULL after answering 400. Caller decrefs. */
json_t *gw_http_parse_body(struct gw_request *req);
/* Park the request until gw_http_resume (after the commit). */
void gw_http_suspend(struct gw_request *req);
void gw_http_resume(struct gw_request *req);
const char *gw_http_query(struct gw_request *req, const char *key);

/* A request header by name (case-insensitive), or NULL. */
const char *gw_http_header(struct gw_request *req, const char *name);

/* ivr.c: the hotline's webhooks under /hooks/{provider}/voice; false if url
 * is not one. */
bool gw_ivr_dispatch(struct gw_request *req);
/* sms.c: the provider webhooks under /hooks/; false if url is not one. */
bool gw_sms_dispatch(struct gw_request *req);

/* http_api.c: route a complete request. */
void gw_api_dispatch(struct gw_request *req);
/* http_devices.c: /api/v1/devices, /api/v1/key; false if url is neither. */
bool gw_devices_dispatch(struct gw_request *req);
/* http_recordings.c: GET /api/v1/tickets/{ref}/recordings/{id}; false if
 * url is not one. */
bool gw_recordings_dispatch(struct gw_request *req);
/* A ticket's recordings as a JSON array (NULL on a storage error). */
json_t *gw_json_recordings(struct cl_service *svc, const struct cl_ticket *t);
/* http_ops.c: /healthz, /readyz, /metrics; false if url is not one of them. */
bool gw_ops_dispatch(struct gw_request *req);
/* http_keys.c: /api/v1/keys, /api/v1/keys/rotate (admin); false if url is
 * neither. */
bool gw_keys_dispatch(struct gw_request *req);
/* http_audit.c: /api/v1/audit, /api/v1/audit/verify, /api/v1/purge,
 * POST /api/v1/tickets/{ref}/erase; false if url is none of them. */
bool gw_audit_dispatch(struct gw_request *req);

#endif
