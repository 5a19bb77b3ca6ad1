/*
 * gateway/sms_twilio.c owns Twilio's SMS formats: X-Twilio-Signature checks
 * (HMAC-SHA1 over the configured public URL and every posted parameter), the
 * inbound and StatusCallback form bodies, TwiML replies and the Messages API
 * (POST /2010-04-01/Accounts/{AccountSid}/Messages.json). Exports only
 * gw_sms_twilio; gateway/sms.c calls it.
 */
#include "sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "careline/log.h"

#define DEFAULT_API "https://api.twilio.com"

static int refuse(const char *reason)
{
	cl_debug("sms.verify", "provider=twilio reason=%s", reason);
	return -1;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct gw_form_pair *x = *(const struct gw_form_pair *const *)a;
	const struct gw_form_pair *y = *(const struct gw_form_pair *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* The string Twilio signs: url, then each parameter's name and value, sorted
 * by name (byte order). Caller frees. */
static char *signed_string(const char *url, const struct gw_form *f)
{
	const struct gw_form_pair **sorted = NULL;
	size_t total = strlen(url) + 1;
	char *s = NULL;
	if (f->n) {
		sorted = malloc(f->n * sizeof(*sorted));
		if (!sorted)
			return NULL;
	}
	for (size_t i = 0; i < f->n; i++) {
		sorted[i] = &f->v[i];
		total += strlen(f->v[i].name) + strlen(f->v[i].value);
	}
	if (f->n)
		qsort(sorted, f->n, sizeof(*sorted), pair_cmp);
	s = malloc(total);
	if (!s)
		goto out;
	char *o = stpcpy(s, url);
	for (size_t i = 0; i < f->n; i++) {
		o = stpcpy(o, sorted[i]->name);
		o = stpcpy(o, sorted[i]->value);
	}
out:
	free(sorted);
	return s;
}

static int verify(const struct gw_sms_settings *s, const struct gw_http_in *req)
{
	const char *sig = req->header ? req->header(req->header_ctx, "X-Twilio-Signature") : NULL;
	if (!sig || !*sig)
		return refuse("no_signature");
	if (!s->secret[0] || !s->public_url[0])
		return refuse("not_configured");

	char url[1024];
	size_t ul = strlen(s->public_url);
	while (ul > 0 && s->public_url[ul - 1] == '/')
		ul--;
	int n = snprintf(url, sizeof(url), "%.*s%s%s%s", (int)ul, s->public_url, req->path,
	                 req->query && *req->query ? "?" : "", req->query ? req->query : "");
	if (n < 0 || (size_t)n >= sizeof(url))
		return refuse("url_too_long");

	struct gw_form f;
	if (gw_form_parse(req->body ? req->body : "", req->body ? req->body_len : 0, &f) != 0)
		return refuse("bad_form");
	char *data = signed_string(url, &f);
	gw_form_free(&f);
	if (!data)
		return refuse("no_memory");

	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	const unsigned char *ok = HMAC(EVP_sha1(), s->secret, (int)strlen(s->secret),
	                               (const unsigned char *)data, strlen(data), mac, &maclen);
	free(data);
	if (!ok || maclen != 20)
		return refuse("hmac_failed");
	char expect[sodium_base64_ENCODED_LEN(20, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(expect, sizeof(expect), mac, maclen, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(mac, sizeof(mac));
	if (!gw_sms_streq_ct(expect, sig))
		return refuse("signature_mismatch");
	return 0;
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

static int parse_inbound(const struct gw_http_in *req, struct gw_sms_inbound *out, char *err,
                         size_t errlen)
{
	struct gw_form f;
	memset(out, 0, sizeof(*out));
	if (gw_form_parse(req->body ? req->body : "", req->body ? req->body_len : 0, &f) != 0)
		return fail(err, errlen, "body: not a valid form");
	int rc = -1;
	const char *sid = gw_form_get(&f, "MessageSid");
	if (!sid)
		sid = gw_form_get(&f, "SmsMessageSid");
	const char *from = gw_form_get(&f, "From");
	const char *to = gw_form_get(&f, "To");
	const char *body = gw_form_get(&f, "Body");
	if (!sid || !*sid || gw_sms_copy(out->id, sizeof(out->id), sid) != 0) {
		fail(err, errlen, "MessageSid: missing or too long");
		goto out;
	}
	if (!from || gw_phone_normalise(from, out->from, sizeof(out->from)) != 0) {
		fail(err, errlen, "From: not a phone number");
		goto out;
	}
	if (!to || (gw_phone_normalise(to, out->to, sizeof(out->to)) != 0 &&
	            gw_sms_copy(out->to, sizeof(out->to), to) != 0)) {
		fail(err, errlen, "To: missing or too long");
		goto out;
	}
	if (!body || !gw_sms_utf8_valid(body, strlen(body))) {
		fail(err, errlen, "Body: missing or not UTF-8");
		goto out;
	}
	out->text = strdup(body);
	if (!out->text) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	out->sent_ms = 0; /* Twilio gives no timestamp */
	rc = 0;
out:
	gw_form_free(&f);
	return rc;
}

static int status_of(const char *st, enum gw_sms_delivery *d)
{
	static const struct {
		const char *name;
		enum gw_sms_delivery state;
	} map[] = {
	    {"accepted", GW_SMS_QUEUED}, {"scheduled", GW_SMS_QUEUED},
	    {"queued", GW_SMS_QUEUED},   {"sending", GW_SMS_QUEUED},
	    {"sent", GW_SMS_SENT},       {"delivered", GW_SMS_DELIVERED},
	    {"read", GW_SMS_DELIVERED},  {"undelivered", GW_SMS_UNDELIVERED},
	    {"failed", GW_SMS_FAILED},   {"canceled", GW_SMS_FAILED},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, st) == 0) {
			*d = map[i].state;
			return 0;
		}
	return -1;
}

static int parse_status(const struct gw_http_in *req, struct gw_sms_status *out, char *err,
                        size_t errlen)
{
	struct gw_form f;
	memset(out, 0, sizeof(*out));
	if (gw_form_parse(req->body ? req->body : "", req->body ? req->body_len : 0, &f) != 0)
		return fail(err, errlen, "body: not a valid form");
	int rc = -1;
	const char *sid = gw_form_get(&f, "MessageSid");
	const char *st = gw_form_get(&f, "MessageStatus");
	const char *code = gw_form_get(&f, "ErrorCode");
	if (!sid)
		sid = gw_form_get(&f, "SmsSid");
	if (!st)
		st = gw_form_get(&f, "SmsStatus");
	if (!sid || !*sid || gw_sms_copy(out->id, sizeof(out->id), sid) != 0) {
		fail(err, errlen, "MessageSid: missing or too long");
		goto out;
	}
	if (!st || status_of(st, &out->state) != 0) {
		fail(err, errlen, "MessageStatus: missing or unknown");
		goto out;
	}
	if (code && gw_sms_copy(out->error, sizeof(out->error), code) != 0) {
		fail(err, errlen, "ErrorCode: too long");
		goto out;
	}
	rc = 0;
out:
	gw_form_free(&f);
	return rc;
}

/* XML text with &, <, >, ", ' escaped; control characters XML 1.0 forbids
 * are dropped. */
static size_t xml_escape(char *dst, const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *rep = NULL;
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				continue;
		}
		if (rep) {
			size_t l = strlen(rep);
			if (dst)
				memcpy(dst + n, rep, l);
			n += l;
		} else {
			if (dst)
				dst[n] = (char)*p;
			n++;
		}
	}
	return n;
}

static char *webhook_reply(const char *reply, const char **content_type)
{
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>";
	static const char tail[] = "</Response>";
	*content_type = "text/xml";
	size_t body = reply ? strlen("<Message></Message>") + xml_escape(NULL, reply) : 0;
	char *r = malloc(sizeof(head) - 1 + body + sizeof(tail));
	if (!r)
		return NULL;
	char *o = stpcpy(r, head);
	if (reply) {
		o = stpcpy(o, "<Message>");
		o += xml_escape(o, reply);
		o = stpcpy(o, "</Message>");
	}
	strcpy(o, tail);
	return r;
}

static bool sid_ok(const char *sid)
{
	size_t n = strlen(sid);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = sid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

static int build_send(const struct gw_sms_settings *s, const char *to, const char *text,
                      const char *status_url, struct gw_sms_request *out)
{
	char e164[32], path[192];
	memset(out, 0, sizeof(*out));
	if (!to || !text || !*text || !gw_sms_utf8_valid(text, strlen(text)))
		return -1;
	if (gw_phone_normalise(to, e164, sizeof(e164)) != 0)
		return -1;
	if (!sid_ok(s->account) || !s->secret[0] || !s->from[0])
		return -1;
	snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/Messages.json", s->account);
	if (gw_sms_api_url(out->url, sizeof(out->url), s->api_base, DEFAULT_API, path) != 0)
		return -1;
	if (gw_form_append(&out->body, "To", e164) != 0 ||
	    gw_form_append(&out->body, "From", s->from) != 0 ||
	    gw_form_append(&out->body, "Body", text) != 0 ||
	    (status_url && *status_url &&
	     gw_form_append(&out->body, "StatusCallback", status_url) != 0))
		goto fail;
	strcpy(out->content_type, "application/x-www-form-urlencoded");
	if (gw_sms_copy(out->user, sizeof(out->user), s->account) != 0 ||
	    gw_sms_copy(out->password, sizeof(out->password), s->secret) != 0)
		goto fail;
	return 0;
fail:
	gw_sms_request_free(out);
	return -1;
}

/* Twilio error codes no retry can fix. */
static bool permanent_code(long long code)
{
	switch (code) {
	case 20003: /* authentication */
	case 21211: /* invalid To */
	case 21408: /* region not enabled */
	case 21608: /* unverified number (trial account) */
	case 21610: /* the recipient sent STOP */
	case 21614: /* not a mobile number */
		return true;
	default:
		return false;
	}
}

static void parse_send(long http_status, const char *body, size_t len, struct gw_sms_result *out)
{
	memset(out, 0, sizeof(*out));
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *sid = json_object_get(root, "sid");
	json_t *code = json_object_get(root, "code");
	if ((http_status == 200 || http_status == 201) && json_is_string(sid) &&
	    json_string_length(sid) > 0 &&
	    gw_sms_copy(out->provider_id, sizeof(out->provider_id), json_string_value(sid)) == 0) {
		out->ok = true;
	} else if (json_is_integer(code)) {
		snprintf(out->error, sizeof(out->error), "%lld",
		         (long long)json_integer_value(code));
		out->permanent = permanent_code(json_integer_value(code));
	} else {
		snprintf(out->error, sizeof(out->error), "http_%ld", http_status);
	}
	/* 401 is bad credentials whatever the body says; 429, 5xx and anything
	 * unknown are worth another try. */
	if (!out->ok && http_status == 401)
		out->permanent = true;
	json_decref(root);
}

const struct gw_sms_provider gw_sms_twilio = {
    .name = "twilio",
    .reply_in_webhook = true,
    .verify = verify,
    .parse_inbound = parse_inbound,
    .parse_status = parse_status,
    .webhook_reply = webhook_reply,
    .build_send = build_send,
    .parse_send = parse_send,
};
