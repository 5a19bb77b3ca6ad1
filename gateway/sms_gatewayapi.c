/*
 * gateway/sms_gatewayapi.c owns GatewayAPI's SMS formats: X-Gwapi-Signature
 * checks (an HS256 JWT whose claims must equal the posted JSON), the MO SMS
 * and delivery status JSON bodies and POST /rest/mtsms (API token as the
 * basic-auth user). Replies go out over the REST API, not in the webhook.
 * Exports only gw_sms_gatewayapi; gateway/sms.c calls it.
 */
#include "sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "careline/log.h"

#define DEFAULT_API "https://gatewayapi.com"
#define MAX_JWT     16384

static int refuse(const char *reason)
{
	cl_debug("sms.verify", "provider=gatewayapi reason=%s", reason);
	return -1;
}

/* Decode base64url (no padding, as JWT uses) into a new buffer of *n bytes
 * (NUL-terminated for convenience). NULL if malformed. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *n)
{
	unsigned char *out = malloc(len * 3 / 4 + 2);
	const char *end = NULL;
	if (!out)
		return NULL;
	if (len == 0 ||
	    sodium_base642bin(out, len * 3 / 4 + 1, s, len, NULL, n, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + len) {
		free(out);
		return NULL;
	}
	out[*n] = '\0';
	return out;
}

static json_t *b64url_json(const char *s, size_t len)
{
	size_t n = 0;
	unsigned char *raw = b64url_decode(s, len, &n);
	if (!raw)
		return NULL;
	json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	return j;
}

static int verify(const struct gw_sms_settings *s, const struct gw_http_in *req)
{
	const char *tok = req->header ? req->header(req->header_ctx, "X-Gwapi-Signature") : NULL;
	if (!tok || !*tok)
		return refuse("no_signature");
	if (!s->webhook_secret[0])
		return refuse("not_configured");
	size_t tlen = strlen(tok);
	if (tlen > MAX_JWT)
		return refuse("token_too_long");
	const char *d1 = strchr(tok, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return refuse("malformed_token");

	int rc = -1;
	json_t *hdr = NULL, *claims = NULL, *body = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	hdr = b64url_json(tok, (size_t)(d1 - tok));
	json_t *alg = json_object_get(hdr, "alg");
	if (!json_is_object(hdr) || !json_is_string(alg) ||
	    strcmp(json_string_value(alg), "HS256") != 0) {
		refuse("bad_alg");
		goto out;
	}
	sig = b64url_decode(d2 + 1, tlen - (size_t)(d2 + 1 - tok), &siglen);
	if (!sig || siglen != crypto_auth_hmacsha256_BYTES) {
		refuse("malformed_signature");
		goto out;
	}
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)s->webhook_secret,
	                            strlen(s->webhook_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, (size_t)(d2 - tok));
	crypto_auth_hmacsha256_final(&st, mac);
	int differ = sodium_memcmp(mac, sig, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
	if (differ != 0) {
		refuse("signature_mismatch");
		goto out;
	}
	claims = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
	body =
	    req->body ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!claims || !body || !json_equal(claims, body)) {
		refuse("claims_mismatch");
		goto out;
	}
	rc = 0;
out:
	free(sig);
	json_decref(hdr);
	json_decref(claims);
	json_decref(body);
	return rc;
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

/* An integer or a string JSON value as a string (GatewayAPI sends ids and
 * numbers as JSON integers). -1 if absent, of another type or too long. */
static int value_str(json_t *v, char *out, size_t len)
{
	if (json_is_integer(v)) {
		int n = snprintf(out, len, "%lld", (long long)json_integer_value(v));
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	if (json_is_string(v) && json_string_length(v) > 0)
		return gw_sms_copy(out, len, json_string_value(v));
	return -1;
}

static int member_str(json_t *obj, const char *key, char *out, size_t len)
{
	return value_str(json_object_get(obj, key), out, len);
}

static int parse_inbound(const struct gw_http_in *req, struct gw_sms_inbound *out, char *err,
                         size_t errlen)
{
	char buf[96];
	memset(out, 0, sizeof(*out));
	json_t *root = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
	int rc = -1;
	if (!json_is_object(root)) {
		fail(err, errlen, "body: not a JSON object");
		goto out;
	}
	if (member_str(root, "id", out->id, sizeof(out->id)) != 0) {
		fail(err, errlen, "id: missing or not a number");
		goto out;
	}
	if (member_str(root, "msisdn", buf, sizeof(buf)) != 0 ||
	    gw_phone_normalise(buf, out->from, sizeof(out->from)) != 0) {
		fail(err, errlen, "msisdn: not a phone number");
		goto out;
	}
	/* receiver is often a short code (1204): keep it as given then. */
	if (member_str(root, "receiver", buf, sizeof(buf)) != 0 ||
	    (gw_phone_normalise(buf, out->to, sizeof(out->to)) != 0 &&
	     gw_sms_copy(out->to, sizeof(out->to), buf) != 0)) {
		fail(err, errlen, "receiver: missing or too long");
		goto out;
	}
	json_t *msg = json_object_get(root, "message");
	if (!json_is_string(msg)) {
		fail(err, errlen, "message: missing or not a string");
		goto out;
	}
	out->text = strdup(json_string_value(msg));
	if (!out->text) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	json_t *t = json_object_get(root, "senttime");
	double secs = json_is_number(t) ? json_number_value(t) : 0;
	out->sent_ms = secs > 0 && secs < 1e11 ? (int64_t)(secs * 1000) : 0;
	rc = 0;
out:
	if (rc != 0)
		gw_sms_inbound_free(out);
	json_decref(root);
	return rc;
}

static int status_of(const char *st, enum gw_sms_delivery *d)
{
	static const struct {
		const char *name;
		enum gw_sms_delivery state;
	} map[] = {
	    {"UNKNOWN", GW_SMS_QUEUED},
	    {"SCHEDULED", GW_SMS_QUEUED},
	    {"BUFFERED", GW_SMS_QUEUED},
	    {"ENROUTE", GW_SMS_SENT},
	    {"ACCEPTED", GW_SMS_SENT},
	    {"DELIVERED", GW_SMS_DELIVERED},
	    {"UNDELIVERABLE", GW_SMS_UNDELIVERED},
	    {"UNDELIVERED", GW_SMS_UNDELIVERED},
	    {"EXPIRED", GW_SMS_UNDELIVERED},
	    {"SKIPPED", GW_SMS_UNDELIVERED},
	    {"REJECTED", GW_SMS_FAILED},
	    {"DELETED", GW_SMS_FAILED},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(map[i].name, st) == 0) {
			*d = map[i].state;
			return 0;
		}
	return -1;
}

static int parse_status(const struct gw_http_in *req, struct gw_sms_status *out, char *err,
                        size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *root = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
	int rc = -1;
	if (!json_is_object(root)) {
		fail(err, errlen, "body: not a JSON object");
		goto out;
	}
	if (member_str(root, "id", out->id, sizeof(out->id)) != 0) {
		fail(err, errlen, "id: missing or not a number");
		goto out;
	}
	json_t *st = json_object_get(root, "status");
	if (!json_is_string(st) || status_of(json_string_value(st), &out->state) != 0) {
		fail(err, errlen, "status: missing or unknown");
		goto out;
	}
	/* code is GatewayAPI's error code (hex, "0x0214"); error is prose. */
	if (json_object_get(root, "code") && !json_is_null(json_object_get(root, "code")) &&
	    member_str(root, "code", out->error, sizeof(out->error)) != 0) {
		fail(err, errlen, "code: not a string or too long");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static char *webhook_reply(const char *reply, const char **content_type)
{
	(void)reply; /* GatewayAPI replies go out over the REST API */
	*content_type = "application/json";
	return strdup("{}");
}

static int build_send(const struct gw_sms_settings *s, const char *to, const char *text,
                      const char *status_url, struct gw_sms_request *out)
{
	char e164[32];
	memset(out, 0, sizeof(*out));
	if (!to || !text || !*text || !gw_sms_utf8_valid(text, strlen(text)))
		return -1;
	if (gw_phone_normalise(to, e164, sizeof(e164)) != 0)
		return -1;
	if (!s->secret[0] || !s->from[0])
		return -1;
	if (gw_sms_api_url(out->url, sizeof(out->url), s->api_base, DEFAULT_API, "/rest/mtsms") !=
	    0)
		return -1;
	/* The sender is up to 11 characters or 15 digits: a number goes
	 * without its '+'. */
	char e164_from[32];
	const char *sender = s->from;
	if (gw_phone_normalise(s->from, e164_from, sizeof(e164_from)) == 0 && s->from[0] == '+')
		sender = e164_from + 1;
	struct gw_sms_length l;
	gw_sms_length(text, &l);
	json_t *root = json_pack("{s:s, s:s, s:[{s:I}]}", "sender", sender, "message", text,
	                         "recipients", "msisdn", (json_int_t)strtoll(e164 + 1, NULL, 10));
	if (!root)
		return -1;
	if (!l.gsm7 && json_object_set_new(root, "encoding", json_string("UCS2")) != 0)
		goto fail;
	if (status_url && *status_url &&
	    json_object_set_new(root, "callback_url", json_string(status_url)) != 0)
		goto fail;
	out->body = json_dumps(root, JSON_COMPACT);
	if (!out->body)
		goto fail;
	json_decref(root);
	strcpy(out->content_type, "application/json");
	/* The API token as the basic-auth user, no password (GatewayAPI's
	 * "-u token:"); an Authorization: Token header would do the same. */
	if (gw_sms_copy(out->user, sizeof(out->user), s->secret) != 0) {
		gw_sms_request_free(out);
		return -1;
	}
	out->password[0] = '\0';
	return 0;
fail:
	json_decref(root);
	gw_sms_request_free(out);
	return -1;
}

static void parse_send(long http_status, const char *body, size_t len, struct gw_sms_result *out)
{
	memset(out, 0, sizeof(*out));
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *ids = json_object_get(root, "ids");
	if (http_status == 200 &&
	    value_str(json_array_get(ids, 0), out->provider_id, sizeof(out->provider_id)) == 0)
		out->ok = true;
	if (!out->ok) {
		out->provider_id[0] = '\0';
		if (member_str(root, "code", out->error, sizeof(out->error)) != 0)
			snprintf(out->error, sizeof(out->error), "http_%ld", http_status);
		/* 401/403: bad token or IP; 400/422: a request (or number) no
		 * retry fixes. 429, 5xx and anything else: try again. */
		out->permanent = http_status == 400 || http_status == 401 || http_status == 403 ||
		                 http_status == 422;
	}
	json_decref(root);
}

const struct gw_sms_provider gw_sms_gatewayapi = {
    .name = "gatewayapi",
    .reply_in_webhook = false,
    .verify = verify,
    .parse_inbound = parse_inbound,
    .parse_status = parse_status,
    .webhook_reply = webhook_reply,
    .build_send = build_send,
    .parse_send = parse_send,
};
