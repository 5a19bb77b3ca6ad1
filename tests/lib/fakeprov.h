/*
 * tests/lib/fakeprov.h: a fake SMS provider (Twilio, 46elks, GatewayAPI) inside the
 * test process: serves the provider's send API, records what careline sent, injects
 * failures and plays the provider's signed webhooks towards careline. Its signers are
 * our own OpenSSL code, independent of gateway/. For tests/integration and tests/bench.
 */

/*
 * Use: struct fp *p = fp_start("twilio", "AC...", "auth-token");
 *      api_base = fp_base_url(p);  ... careline sends ...
 *      fp_wait(p, 1, 5000); fp_get(p, 0, &m); fp_send_status(p, 0, "delivered", ...);
 *      fp_stop(p);
 * Setup failures (no port, bad provider name) abort the test like harness.h does.
 * Every function is thread-safe; the server runs on libmicrohttpd's own threads.
 *
 * What each provider's server accepts (api_base = fp_base_url):
 *   twilio      POST /2010-04-01/Accounts/{account}/Messages.json
 *               basic auth account:secret; form To, From (or MessagingServiceSid),
 *               Body, StatusCallback → 201 {"sid": "SM<32 hex>", "status": "queued",
 *               "to", "from", "body", "num_segments": "1", ...}; 400 {"code": 21604|
 *               21211|21602|21603|21617, "message", "more_info", "status": 400};
 *               401 {"code": 20003, "message": "Authenticate", ...}.
 *   46elks      POST /a1/sms   basic auth account:secret; form from, to, message,
 *               whendelivered → 200 {"status": "created", "direction": "outgoing",
 *               "from", "created", "parts", "to", "cost", "message", "id": "s<32 hex>"};
 *               400 plain text; 401 plain text "Unauthorized".
 *   gatewayapi  POST /rest/mtsms   API token = secret, as basic-auth username (password
 *               empty), "Authorization: Token <token>" or ?token=; JSON object (or an
 *               array of them) sender, message, recipients [{msisdn}], callback_url,
 *               userref, encoding (form fields recipients.N.msisdn accepted too)
 *               → 200 {"ids": [n], "usage": {"countries": {"DK": 1}, "currency":
 *               "DKK", "total_cost": 0.12}}; 400/422/401 {"message", "incident_uuid"}.
 * Each recipient of an accepted send is one recorded struct fp_msg.
 */
#ifndef CARELINE_TEST_FAKEPROV_H
#define CARELINE_TEST_FAKEPROV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fp;

/* A name/value pair: form fields, signing parameters, extra headers (borrowed). */
struct fp_param {
	const char *name;
	const char *value;
};

/* One message careline sent through the fake's REST API (a copy; no pointers). */
struct fp_msg {
	char id[64];     /* the provider id we answered: "SM<32 hex>", "s<32 hex>", "421332671" */
	char to[48];     /* as careline sent it: "+4531559977" (Twilio, 46elks); GatewayAPI msisdn
	                    digits "4531559977" (a leading '+' would be kept as sent) */
	char from[48];   /* From / from / sender; "" when absent (Twilio: MessagingServiceSid) */
	char text[4096]; /* Body / message, UTF-8 (truncated to fit) */
	char callback_url[512]; /* StatusCallback / whendelivered / callback_url, "" if none */
	char userref[128];      /* GatewayAPI userref, "" otherwise */
	char encoding[16];      /* GatewayAPI "encoding" as sent ("" when absent) */
	bool gsm7;              /* our own verdict: every character is in GSM 03.38 */
	int units;              /* septets (GSM-7, extension chars count 2) or UTF-16 units */
	int segments;           /* 160/153 septets or 70/67 units per segment */
	int64_t at_ms;          /* arrival, CLOCK_MONOTONIC ms (same clock as hx_now_ms) */
	size_t request_no;      /* 1-based number of the send request that carried it,
	                           counting refused and failed ones (see fp_requests) */
};

/* --- lifecycle ------------------------------------------------------------------ */

/* Start the fake `provider` ("twilio", "46elks", "gatewayapi") on a free
 * 127.0.0.1 port. account: Twilio AccountSid / 46elks API username (GatewayAPI:
 * unused, may be NULL); secret: Twilio auth token (it also signs Twilio's
 * webhooks) / 46elks API password / GatewayAPI API token. Aborts the test on
 * failure. */
struct fp *fp_start(const char *provider, const char *account, const char *secret);
/* Stop the server, free everything. NULL is fine. */
void fp_stop(struct fp *fp);
/* "http://127.0.0.1:PORT" (no trailing slash): careline's api_base. */
const char *fp_base_url(const struct fp *fp);
const char *fp_provider(const struct fp *fp);

/* --- webhook settings (what careline is configured with) ---------------------------- */

/* 46elks: the basic auth our webhooks carry (careline's hook_user/hook_password).
 * Unset: a whendelivered URL's own user:password@ is used, as 46elks does. */
void fp_set_hook_auth(struct fp *fp, const char *user, const char *password);
/* GatewayAPI: the webhook's authentication token, the HS256 secret of
 * X-Gwapi-Signature (careline's webhook_secret). Unset: no header, as GatewayAPI
 * does for a webhook without a token. */
void fp_set_webhook_secret(struct fp *fp, const char *secret);
/* Where webhooks really go when the callback URL careline gave names its public
 * address (e.g. "https://careline.example.dk/hooks/..."): base_url + the URL's
 * path?query is POSTed to instead (a TLS proxy in front of careline). The
 * signature still covers the public URL. NULL or "" turns it off. */
void fp_set_webhook_target(struct fp *fp, const char *base_url);
/* GatewayAPI: the account's default webhook, used for a message sent without
 * callback_url. */
void fp_set_default_callback(struct fp *fp, const char *url);

/* --- failure injection -------------------------------------------------------------- */

/* The next `count` send requests get http_status with body (JSON content type
 * when body starts with '{' or '[', else text/plain; NULL body = empty) before
 * auth is even checked; nothing is recorded for them. http_status 0 closes the
 * connection without an answer (a transport error). Replaces an unfinished
 * earlier injection. */
void fp_fail_next(struct fp *fp, int count, int http_status, const char *body);
/* Hold every send request ms milliseconds before handling it (timeouts). The
 * request is still handled afterwards, as a slow provider would. 0 = off. */
void fp_set_delay(struct fp *fp, int ms);

enum fp_error {
	FP_ERR_UNSUBSCRIBED, /* Twilio 21610; 46elks/GatewayAPI: their invalid-recipient refusal */
	FP_ERR_NOT_MOBILE,   /* Twilio 21614; others as FP_ERR_UNSUBSCRIBED */
	FP_ERR_RATE_LIMIT,   /* 429 */
	FP_ERR_SERVER,       /* 500 */
};
/* The provider's exact error body for kind (static string) and its status. */
const char *fp_error_body(const char *provider, enum fp_error kind, int *http_status);
/* The permanent refusal (FP_ERR_UNSUBSCRIBED): Twilio 400 {"code":21610,...};
 * 46elks 400 plain text; GatewayAPI 422 {"message", "incident_uuid"}. */
const char *fp_permanent_error_body(const char *provider);
int fp_permanent_error_status(const char *provider);

/* --- inspection ---------------------------------------------------------------------- */

size_t fp_count(struct fp *fp);                           /* messages recorded */
bool fp_get(struct fp *fp, size_t i, struct fp_msg *out); /* false if i >= count */
/* Wait until at least n messages are recorded; false on timeout. */
bool fp_wait(struct fp *fp, size_t n, int timeout_ms);
/* Send requests received, including refused (401/400) and injected failures. */
size_t fp_requests(struct fp *fp);
/* Forget messages and the request count; cancel injected failures and delay. */
void fp_reset(struct fp *fp);

/* --- webhooks towards careline --------------------------------------------------------- */

/* Tampering, for the tests that must see 403 (0 = genuine). */
enum {
	FP_TAMPER_SIGNATURE = 1 << 0, /* change one character of the signature (46elks: of
	                                 the basic-auth password) */
	FP_NO_SIGNATURE = 1 << 1,     /* no X-Twilio-Signature / X-Gwapi-Signature header;
	                                 46elks: no Authorization header */
	FP_WRONG_SECRET = 1 << 2,     /* sign with another secret (46elks: wrong password) */
	FP_WRONG_URL = 1 << 3,        /* Twilio: sign over the URL actually POSTed to (the
	                                 Host-based loopback URL) instead of the public one, or
	                                 over public URL + "/wrong" when they are equal; 46elks:
	                                 POST to the URL with its secret segment (the one before
	                                 the last) replaced; GatewayAPI: no effect (the JWT does
	                                 not cover the URL) */
	FP_TAMPER_BODY = 1 << 4,      /* sign the genuine request, then change the text (or
	                                 status) in the body that is sent */
	FP_JWT_ALG_NONE = 1 << 5,     /* GatewayAPI: {"alg":"none"} token, empty signature */
};

/* POST the provider's delivery-status webhook for recorded message i to its
 * callback URL (or fp_set_default_callback; or via fp_set_webhook_target):
 *   twilio      form ApiVersion, AccountSid, [ErrorCode], From, MessageSid,
 *               MessageStatus, [RawDlrDoneDate], SmsSid, SmsStatus, To; signed
 *               X-Twilio-Signature with the auth token over the signing URL.
 *   46elks      form id, status, [delivered "YYYY-MM-DDTHH:MM:SS.ffffff" UTC]; basic
 *               auth (fp_set_hook_auth, else the URL's user:password@).
 *   gatewayapi  JSON {"id", "msisdn", "time", "status", "error", "code", "userref",
 *               "country_code", "country_prefix"}; X-Gwapi-Signature HS256 JWT of
 *               the body with fp_set_webhook_secret. The JWT's claims are written
 *               compact and ASCII-escaped, as PyJWT does; the body is the same object
 *               as Python's json.dumps writes it ({"id": 1, ...}, "\u00e6"), so
 *               careline must compare claims and body as JSON, not as bytes.
 * state is the provider's word ("delivered", "undelivered", "failed", "sent";
 * 46elks "delivered"/"failed"/"sent"; GatewayAPI "DELIVERED", "UNDELIVERABLE",
 * "REJECTED", "EXPIRED", ...); error_code "30003" / "0x0012" or NULL/"" for none.
 * Signing URL (Twilio): public_url_for_signing as it is when it has a path (e.g.
 * "https://careline.example.dk/hooks/twilio/status"), or that base + the
 * callback's path?query when it has none ("https://careline.example.dk"); NULL:
 * the callback URL itself, as Twilio does.
 * Returns careline's HTTP status, 0 on a transport error, -1 when message i
 * does not exist or has no callback URL. */
int fp_send_status(struct fp *fp, size_t i, const char *state, const char *error_code,
                   const char *public_url_for_signing);
int fp_send_status_ex(struct fp *fp, size_t i, const char *state, const char *error_code,
                      const char *public_url_for_signing, unsigned flags);

/* The provider delivering a text from a phone to careline:
 *   twilio      form ToCountry, ToState, SmsMessageSid, NumMedia=0, ToCity, FromZip,
 *               SmsSid, FromState, SmsStatus=received, FromCity, Body, FromCountry,
 *               To, ToZip, NumSegments, ReferralNumMedia=0, MessageSid, AccountSid,
 *               From, ApiVersion=2010-04-01 (spaces as '+'); X-Twilio-Signature with
 *               the auth token over the signing URL (rule as for fp_send_status,
 *               with careline_url's path?query; NULL: careline_url).
 *   46elks      form direction=incoming, id, from, to, created (UTC
 *               "YYYY-MM-DDTHH:MM:SS.ffffff", as 46elks documents), message;
 *               basic auth from fp_set_hook_auth.
 *   gatewayapi  JSON {"id" (integer), "msisdn" (integer, no '+'), "receiver"
 *               (integer), "message", "senttime" (unix s), "webhook_label":
 *               "careline", "sender" (digits), "country_code", "country_prefix"};
 *               X-Gwapi-Signature JWT with fp_set_webhook_secret (claims and body
 *               written as for fp_send_status).
 * msg_id NULL: a fresh provider-style id (GatewayAPI: must be decimal digits).
 * from/to are E.164 with '+'. Returns careline's HTTP status (0 on a transport
 * error, -1 on bad arguments); *response_body and *response_content_type (either
 * pointer may be NULL) get careline's answer, malloc'ed (caller frees), NULL if none. */
int fp_post_inbound(struct fp *fp, const char *careline_url, const char *public_url_for_signing,
                    const char *msg_id, const char *from, const char *to, const char *text,
                    char **response_body, char **response_content_type);

/* Everything fp_post_inbound does, plus tampering and extra fields. */
struct fp_inbound {
	const char *careline_url; /* where to POST, e.g. "http://127.0.0.1:P/hooks/twilio/sms" */
	const char *public_url;   /* signing URL (Twilio); NULL = careline_url */
	const char *msg_id;       /* NULL: fresh id */
	const char *from;         /* E.164 "+4531559977" */
	const char *to;           /* E.164, or a short code ("1204") */
	const char *text;
	unsigned flags;               /* FP_* tampering */
	const char *signature;        /* non-NULL: this header value verbatim (Twilio
	                                 X-Twilio-Signature, GatewayAPI X-Gwapi-Signature, 46elks
	                                 Authorization); "" sends the header empty */
	const struct fp_param *extra; /* more fields, signed with the rest: Twilio/46elks form
	                                 fields, GatewayAPI JSON string members */
	size_t n_extra;
	int64_t sent_unix; /* GatewayAPI senttime, 46elks created (s since epoch); 0 = now */
};
int fp_post_inbound_ex(struct fp *fp, const struct fp_inbound *in, char **response_body,
                       char **response_content_type);

/* A plain POST of len bytes (len 0: strlen(body)) with extra headers and optional
 * basic auth (user NULL: none). Status, body and content type as fp_post_inbound. */
int fp_post_raw(const char *url, const char *content_type, const char *body, size_t len,
                const struct fp_param *headers, size_t n_headers, const char *user,
                const char *password, char **response_body, char **response_content_type);

/* A fresh message id in this provider's style ("SM<32 hex>", "s<32 hex>", a
 * decimal GatewayAPI id), e.g. to post the same inbound SMS twice. */
void fp_new_message_id(struct fp *fp, char *out, size_t len);

/* --- signing and codecs (our own, for tests to check careline against) ---------------- */

/* Twilio X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + every param's
 * name+value, sorted by name (then value), byte order)). Caller frees. */
char *fp_twilio_signature(const char *auth_token, const char *url, const struct fp_param *params,
                          size_t n);
/* GatewayAPI X-Gwapi-Signature: base64url({"typ":"JWT","alg":"HS256"}) + "." +
 * base64url(json_body bytes as given) + "." + base64url(HMAC-SHA256(secret, the
 * two parts joined by ".")). Caller frees. */
char *fp_gwapi_jwt(const char *secret, const char *json_body);
/* Decode application/x-www-form-urlencoded ('+' and %XX), order kept. 0 ok, -1
 * malformed. *out is malloc'ed with its strings; fp_params_free. */
int fp_form_parse(const char *body, size_t len, struct fp_param **out, size_t *n);
void fp_params_free(struct fp_param *p, size_t n);
/* Encode as application/x-www-form-urlencoded: unreserved bytes kept, space as
 * '+' (space_plus, as Twilio writes it) or %20 (as 46elks does), the rest %XX.
 * Caller frees. */
char *fp_form_encode(const struct fp_param *p, size_t n, bool space_plus);
/* Our own SMS length: true if every character is GSM 03.38 (basic table, or the
 * extension table at 2 septets); *units septets or UTF-16 code units; *segments
 * 160/153 or 70/67 per segment (1 for ""). Either pointer may be NULL. */
bool fp_sms_length(const char *utf8, int *units, int *segments);

#endif
