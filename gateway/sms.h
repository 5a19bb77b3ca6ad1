/*
 * gateway/sms.h: the SMS channel's pieces inside the gateway. A provider
 * (Twilio, 46elks, GatewayAPI) is one file exporting one const struct
 * gw_sms_provider: pure codecs that turn the provider's webhook bytes into an
 * inbound SMS or a delivery status, verify the webhook's authentication, and
 * build/parse its REST requests. No sockets here: gateway/sms.c owns the
 * routes, the inbound pipeline and the outbound sender (libcurl multi).
 */
#ifndef CARELINE_GW_SMS_H
#define CARELINE_GW_SMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/service.h"

/* Provider settings from the configuration's [sms] section. */
struct gw_sms_settings {
	char provider[16];         /* "twilio", "46elks", "gatewayapi" */
	char public_url[256];      /* how providers reach us, e.g. "https://careline.example.dk";
	                              Twilio signatures are computed over public_url + path?query */
	char api_base[256];        /* provider API base; default the real one, tests: the fake */
	char account[128];         /* Twilio AccountSid; 46elks API username; GatewayAPI: unused */
	char secret[128];          /* Twilio auth token (signs webhooks too); 46elks API password;
	                              GatewayAPI REST API token */
	char webhook_secret[128];  /* GatewayAPI: HS256 JWT secret of X-Gwapi-Signature */
	char hook_path_secret[64]; /* 46elks: secret path segment, /hooks/46elks/{secret}/sms */
	char hook_user[64];        /* 46elks: basic auth the webhooks must carry */
	char hook_password[128];
	char from[32]; /* our number or sender name */
};

/* A request as the webhook route sees it (borrowed). */
struct gw_http_in {
	const char *path;  /* "/hooks/twilio/sms" (no query) */
	const char *query; /* raw query string after '?', or NULL */
	const char *body;
	size_t body_len;
	const char *content_type; /* may be NULL */
	/* A request header by name (case-insensitive), or NULL. */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
};

/* An inbound SMS. from/to are E.164 with '+' ("+4531559977"). */
struct gw_sms_inbound {
	char id[96]; /* the provider's message id: the idempotency key */
	char from[32];
	char to[32];
	char *text;      /* UTF-8, malloc'ed; gw_sms_inbound_free */
	int64_t sent_ms; /* provider timestamp (ms since epoch) when it gives one, else 0 */
};
void gw_sms_inbound_free(struct gw_sms_inbound *in);

enum gw_sms_delivery {
	GW_SMS_QUEUED,      /* accepted/queued/sending: not final */
	GW_SMS_SENT,        /* left the provider, no handset receipt yet */
	GW_SMS_DELIVERED,   /* the handset got it */
	GW_SMS_UNDELIVERED, /* the network could not deliver it */
	GW_SMS_FAILED,      /* the provider could not send it */
};
const char *gw_sms_delivery_name(enum gw_sms_delivery d);

/* A delivery-status callback. */
struct gw_sms_status {
	char id[96]; /* the provider's message id returned by the send */
	enum gw_sms_delivery state;
	char error[32]; /* provider error code, "" when none */
};

/* An outbound REST request, ready for libcurl. */
struct gw_sms_request {
	char url[512];
	char content_type[64]; /* "application/x-www-form-urlencoded" or "application/json" */
	char *body;            /* malloc'ed; gw_sms_request_free */
	char user[160];        /* HTTP basic auth user ("" = none) */
	char password[160];
};
void gw_sms_request_free(struct gw_sms_request *r);

/* What the provider answered to a send. */
struct gw_sms_result {
	bool ok;        /* accepted: provider_id is set */
	bool permanent; /* a failure that retrying cannot fix (unsubscribed, not a
	                   mobile number, invalid number, bad credentials) */
	char provider_id[96];
	char error[64]; /* provider error code or HTTP status, "" when ok */
};

struct gw_sms_provider {
	const char *name; /* "twilio", "46elks", "gatewayapi" */
	/* Does the reply to an inbound SMS go back in the webhook response (Twilio
	 * TwiML, 46elks plain text)? GatewayAPI: no, it is sent over the REST API. */
	bool reply_in_webhook;
	/* Check the webhook's authentication (Twilio signature over public_url +
	 * path?query + sorted params; GatewayAPI JWT checked against the body;
	 * 46elks secret path segment and basic auth). 0 = genuine, -1 = refuse. */
	int (*verify)(const struct gw_sms_settings *s, const struct gw_http_in *req);
	/* Parse an inbound SMS webhook. 0 ok; -1 malformed (err names why). */
	int (*parse_inbound)(const struct gw_http_in *req, struct gw_sms_inbound *out, char *err,
	                     size_t errlen);
	/* Parse a delivery-status webhook. 0 ok; -1 malformed. */
	int (*parse_status)(const struct gw_http_in *req, struct gw_sms_status *out, char *err,
	                    size_t errlen);
	/* The webhook response body for an inbound SMS, carrying reply (may be
	 * NULL: no reply). Sets *content_type. malloc'ed. */
	char *(*webhook_reply)(const char *reply, const char **content_type);
	/* Build a send of text to `to` (E.164), asking for delivery reports at
	 * status_url (may be NULL). 0 ok, -1 on bad input. */
	int (*build_send)(const struct gw_sms_settings *s, const char *to, const char *text,
	                  const char *status_url, struct gw_sms_request *out);
	/* Interpret the provider's answer to a send (HTTP status and body). */
	void (*parse_send)(long http_status, const char *body, size_t len,
	                   struct gw_sms_result *out);
};

extern const struct gw_sms_provider gw_sms_twilio;
extern const struct gw_sms_provider gw_sms_46elks;
extern const struct gw_sms_provider gw_sms_gatewayapi;
/* By name, or NULL. */
const struct gw_sms_provider *gw_sms_provider_find(const char *name);

/* --- shared helpers (gateway/sms_codec.c) ------------------------------------- */

/* application/x-www-form-urlencoded, decoded (+ and %XX); order kept. */
struct gw_form_pair {
	char *name;
	char *value;
};
struct gw_form {
	struct gw_form_pair *v;
	size_t n;
};
/* 0 ok, -1 malformed (bad %-escape) or out of memory. */
int gw_form_parse(const char *body, size_t len, struct gw_form *out);
void gw_form_free(struct gw_form *f);
/* The first value of name, or NULL. */
const char *gw_form_get(const struct gw_form *f, const char *name);
/* Append name=value, URL-encoded, to a malloc'ed string (*s may be NULL). */
int gw_form_append(char **s, const char *name, const char *value);

/* Normalise a phone number to E.164 with '+': "4531559977", "+45 31 55 99 77",
 * "004531559977" → "+4531559977"; an 8-digit Danish number gets +45. 0 ok. */
int gw_phone_normalise(const char *in, char *out, size_t len);

/* SMS length: GSM 03.38 7-bit (the basic table plus the extension table,
 * which costs two septets) if every character fits, else UCS-2 (UTF-16 code
 * units). Segments: 160/153 septets or 70/67 units. */
struct gw_sms_length {
	bool gsm7;
	int units; /* septets or UTF-16 code units */
	int segments;
};
void gw_sms_length(const char *utf8, struct gw_sms_length *out);

/* --- the texts' own grammar (gateway/sms_codec.c) ---------------------------- */

/* A staff reply code, folded ("12a", "12 ok", "a", "12e", "12c", "12t"): the
 * code (0 when none was given) and the action. False for anything else. */
bool gw_sms_parse_reply(const char *folded, int *code, enum cl_action_kind *action);
/* Is word one of the space-separated words of list (both folded)? */
bool gw_sms_word_in(const char *word, const char *list);

/* --- helpers the provider files share (gateway/sms_codec.c) ----------------- */

/* Constant-time string equality (the time depends only on the lengths). */
bool gw_sms_streq_ct(const char *a, const char *b);
/* Copy src into dst[len]; -1 (dst = "") when it does not fit. */
int gw_sms_copy(char *dst, size_t len, const char *src);
/* base (def when base is empty; trailing '/' dropped) + path into out[len]; -1 if too long. */
int gw_sms_api_url(char *out, size_t len, const char *base, const char *def, const char *path);
/* Is s[0..len) well-formed UTF-8 without NUL bytes? */
bool gw_sms_utf8_valid(const char *s, size_t len);

#endif
