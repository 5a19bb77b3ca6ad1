/*
 * gateway/sms_46elks.c owns 46elks' SMS formats: webhook checks (a secret
 * path segment plus HTTP basic auth, since 46elks signs nothing), the inbound
 * (sms_url) and delivery report (whendelivered) form bodies, plain-text
 * replies and POST /a1/sms. Exports only gw_sms_46elks; gateway/sms.c calls it.
 */
#include "sms.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "careline/log.h"

#define DEFAULT_API "https://api.46elks.com"
#define HOOK_PREFIX "/hooks/46elks/"

static int refuse(const char *reason)
{
	cl_debug("sms.verify", "provider=46elks reason=%s", reason);
	return -1;
}

/* "Basic base64(user:password)" against the configured pair. */
static bool basic_auth_ok(const char *hdr, const char *user, const char *password)
{
	char raw[512];
	size_t rawlen = 0;
	const char *end = NULL;
	if (strncasecmp(hdr, "Basic ", 6) != 0)
		return false;
	const char *b64 = hdr + 6;
	while (*b64 == ' ')
		b64++;
	size_t n = strlen(b64);
	while (n > 0 && b64[n - 1] == ' ')
		n--;
	if (sodium_base642bin((unsigned char *)raw, sizeof(raw) - 1, b64, n, NULL, &rawlen, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + n)
		return false;
	raw[rawlen] = '\0';
	char *colon = memchr(raw, ':', rawlen);
	if (!colon || memchr(raw, '\0', rawlen)) {
		sodium_memzero(raw, sizeof(raw));
		return false;
	}
	*colon = '\0';
	bool u = gw_sms_streq_ct(raw, user);
	bool p = gw_sms_streq_ct(colon + 1, password);
	sodium_memzero(raw, sizeof(raw));
	return u && p;
}

static int verify(const struct gw_sms_settings *s, const struct gw_http_in *req)
{
	/* Misconfigured means closed. */
	if (!s->hook_path_secret[0] || !s->hook_user[0] || !s->hook_password[0])
		return refuse("not_configured");
	const char *path = req->path ? req->path : "";
	if (strncmp(path, HOOK_PREFIX, strlen(HOOK_PREFIX)) != 0)
		return refuse("bad_path");
	const char *seg = path + strlen(HOOK_PREFIX);
	const char *slash = strchr(seg, '/');
	if (!slash || slash[1] == '\0')
		return refuse("bad_path");
	char got[sizeof(s->hook_path_secret) + 1];
	size_t sl = (size_t)(slash - seg);
	if (sl >= sizeof(got))
		return refuse("bad_path");
	memcpy(got, seg, sl);
	got[sl] = '\0';
	if (!gw_sms_streq_ct(got, s->hook_path_secret))
		return refuse("bad_path");
	const char *auth = req->header ? req->header(req->header_ctx, "Authorization") : NULL;
	if (!auth)
		return refuse("no_authorization");
	if (!basic_auth_ok(auth, s->hook_user, s->hook_password))
		return refuse("bad_credentials");
	return 0;
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* "2026-11-23 07:00:00.123456" (or with 'T', optional fraction, optional Z),
 * UTC → ms since the epoch; -1 if it does not parse. */
static int64_t parse_utc(const char *s)
{
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	int ms = 0;
	if (*p == '.') {
		int nd = 0;
		for (p++; isdigit((unsigned char)*p); p++, nd++)
			if (nd < 3)
				ms = ms * 10 + (*p - '0');
		if (nd == 0)
			return -1;
		for (; nd < 3; nd++)
			ms *= 10;
	}
	if (*p == 'Z')
		p++;
	if (*p)
		return -1;
	return ((days_from_civil(y, mo, d) * 86400) + h * 3600 + mi * 60 + sec) * 1000 + ms;
}

static int parse_inbound(const struct gw_http_in *req, struct gw_sms_inbound *out, char *err,
                         size_t errlen)
{
	struct gw_form f;
	memset(out, 0, sizeof(*out));
	if (gw_form_parse(req->body ? req->body : "", req->body ? req->body_len : 0, &f) != 0)
		return fail(err, errlen, "body: not a valid form");
	int rc = -1;
	const char *id = gw_form_get(&f, "id");
	const char *from = gw_form_get(&f, "from");
	const char *to = gw_form_get(&f, "to");
	const char *msg = gw_form_get(&f, "message");
	const char *created = gw_form_get(&f, "created");
	if (!id || !*id || gw_sms_copy(out->id, sizeof(out->id), id) != 0) {
		fail(err, errlen, "id: missing or too long");
		goto out;
	}
	if (!from || gw_phone_normalise(from, out->from, sizeof(out->from)) != 0) {
		fail(err, errlen, "from: not a phone number");
		goto out;
	}
	if (!to || (gw_phone_normalise(to, out->to, sizeof(out->to)) != 0 &&
	            gw_sms_copy(out->to, sizeof(out->to), to) != 0)) {
		fail(err, errlen, "to: missing or too long");
		goto out;
	}
	if (!msg || !gw_sms_utf8_valid(msg, strlen(msg))) {
		fail(err, errlen, "message: missing or not UTF-8");
		goto out;
	}
	out->text = strdup(msg);
	if (!out->text) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	/* A timestamp we cannot read is no reason to lose a report: 0 = none. */
	int64_t ms = created ? parse_utc(created) : -1;
	out->sent_ms = ms > 0 ? ms : 0;
	rc = 0;
out:
	gw_form_free(&f);
	return rc;
}

static int parse_status(const struct gw_http_in *req, struct gw_sms_status *out, char *err,
                        size_t errlen)
{
	struct gw_form f;
	memset(out, 0, sizeof(*out));
	if (gw_form_parse(req->body ? req->body : "", req->body ? req->body_len : 0, &f) != 0)
		return fail(err, errlen, "body: not a valid form");
	int rc = -1;
	const char *id = gw_form_get(&f, "id");
	const char *st = gw_form_get(&f, "status");
	if (!id || !*id || gw_sms_copy(out->id, sizeof(out->id), id) != 0) {
		fail(err, errlen, "id: missing or too long");
		goto out;
	}
	if (!st) {
		fail(err, errlen, "status: missing");
		goto out;
	}
	if (strcmp(st, "delivered") == 0)
		out->state = GW_SMS_DELIVERED;
	else if (strcmp(st, "sent") == 0)
		out->state = GW_SMS_SENT;
	else if (strcmp(st, "failed") == 0)
		out->state = GW_SMS_FAILED;
	else if (strcmp(st, "created") == 0)
		out->state = GW_SMS_QUEUED;
	else {
		fail(err, errlen, "status: unknown");
		goto out;
	}
	rc = 0; /* 46elks gives no error code */
out:
	gw_form_free(&f);
	return rc;
}

static char *webhook_reply(const char *reply, const char **content_type)
{
	/* 46elks sends a non-empty response body back to the sender as an SMS. */
	*content_type = "text/plain; charset=utf-8";
	return strdup(reply ? reply : "");
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
	if (!s->account[0] || !s->secret[0] || !s->from[0])
		return -1;
	if (gw_sms_api_url(out->url, sizeof(out->url), s->api_base, DEFAULT_API, "/a1/sms") != 0)
		return -1;
	if (gw_form_append(&out->body, "from", s->from) != 0 ||
	    gw_form_append(&out->body, "to", e164) != 0 ||
	    gw_form_append(&out->body, "message", text) != 0 ||
	    (status_url && *status_url &&
	     gw_form_append(&out->body, "whendelivered", status_url) != 0))
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

/* Does the (plain-text) error body say the number is invalid? */
static bool says_invalid_number(const char *body, size_t len)
{
	char buf[512];
	size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)body[i]);
	buf[n] = '\0';
	return strstr(buf, "invalid") &&
	       (strstr(buf, "number") || strstr(buf, "phone") || strstr(buf, "\"to\"") ||
	        strstr(buf, "'to'") || strstr(buf, " to "));
}

static void parse_send(long http_status, const char *body, size_t len, struct gw_sms_result *out)
{
	memset(out, 0, sizeof(*out));
	if (http_status == 200 && body && len) {
		json_t *root = json_loadb(body, len, 0, NULL);
		json_t *id = json_object_get(root, "id");
		bool ok = json_is_string(id) && json_string_length(id) > 0 &&
		          gw_sms_copy(out->provider_id, sizeof(out->provider_id),
		                      json_string_value(id)) == 0;
		json_decref(root);
		if (ok) {
			out->ok = true;
			return;
		}
	}
	snprintf(out->error, sizeof(out->error), "http_%ld", http_status);
	if (http_status == 401 || http_status == 403)
		out->permanent = true; /* bad credentials or a refused request */
	else if (http_status >= 400 && http_status < 500 && http_status != 429 && body &&
	         says_invalid_number(body, len))
		out->permanent = true;
	/* 429, 5xx, a 200 we cannot read and anything else: try again. */
}

const struct gw_sms_provider gw_sms_46elks = {
    .name = "46elks",
    .reply_in_webhook = true,
    .verify = verify,
    .parse_inbound = parse_inbound,
    .parse_status = parse_status,
    .webhook_reply = webhook_reply,
    .build_send = build_send,
    .parse_send = parse_send,
};
