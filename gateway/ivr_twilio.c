/*
 * gateway/ivr_twilio.c owns Twilio's voice formats: the form bodies of its
 * call, Gather, Record, recording-status and call-status callbacks; TwiML
 * (<Say language="da-DK">, <Gather input="dtmf">, <Record>, <Redirect>,
 * <Hangup>) for a scene; the Calls API for alert calls; where a recording is
 * fetched (RecordingUrl + ".wav", only on the configured API host) and
 * deleted (DELETE .../Recordings/{sid}.json). Webhook signatures are the
 * same as for SMS (gw_sms_twilio.verify). Exports only gw_ivr_twilio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr.h"

#define DEFAULT_API "https://api.twilio.com"

char *gw_xml_escape(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '"' || *p == '\'' ? 6 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '&':
			o = stpcpy(o, "&amp;");
			break;
		case '<':
			o = stpcpy(o, "&lt;");
			break;
		case '>':
			o = stpcpy(o, "&gt;");
			break;
		case '"':
			o = stpcpy(o, "&quot;");
			break;
		case '\'':
			o = stpcpy(o, "&apos;");
			break;
		default:
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static int parse(const struct gw_http_in *req, struct gw_ivr_callback *out, char *err,
                 size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct gw_form f;
	if (gw_form_parse(req->body, req->body_len, &f) != 0)
		return fail(err, errlen, "bad_form");
	const char *sid = gw_form_get(&f, "CallSid");
	int rc = 0;
	if (!sid || !sid[0] || strlen(sid) >= sizeof(out->call_id)) {
		rc = fail(err, errlen, "no_call_sid");
		goto out;
	}
	copy(out->call_id, sizeof(out->call_id), sid);
	const char *from = gw_form_get(&f, "From");
	if (from && gw_phone_normalise(from, out->from, sizeof(out->from)) != 0)
		out->from[0] = '\0'; /* "anonymous", "client:..": no number */
	copy(out->to, sizeof(out->to), gw_form_get(&f, "To"));
	const char *digits = gw_form_get(&f, "Digits");
	if (digits && strcmp(digits, "hangup") == 0) {
		out->recording_hangup = true;
	} else if (digits && digits[0] && strlen(digits) < sizeof(out->digits)) {
		out->has_digits = true;
		copy(out->digits, sizeof(out->digits), digits);
	}
	const char *rurl = gw_form_get(&f, "RecordingUrl");
	const char *rsid = gw_form_get(&f, "RecordingSid");
	if (rurl && rsid && rurl[0] && rsid[0] && strlen(rurl) < sizeof(out->recording_url) &&
	    strlen(rsid) < sizeof(out->recording_id)) {
		copy(out->recording_url, sizeof(out->recording_url), rurl);
		copy(out->recording_id, sizeof(out->recording_id), rsid);
		const char *d = gw_form_get(&f, "RecordingDuration");
		out->recording_duration_s = d ? atoi(d) : 0;
	}
	const char *st = gw_form_get(&f, "RecordingStatus");
	if (!st)
		st = gw_form_get(&f, "CallStatus");
	copy(out->status, sizeof(out->status), st);
out:
	gw_form_free(&f);
	return rc;
}

static const char *language(const char *lang)
{
	return strcmp(lang, "en") == 0 ? "en-GB" : "da-DK";
}

/* Append printf-style text to a growing buffer; false when out of memory. */
struct buf {
	char *s;
	size_t len, cap;
	bool nomem;
};

static void put(struct buf *b, const char *a, const char *esc_attr, const char *c)
{
	const char *parts[3] = {a, esc_attr, c};
	for (int i = 0; i < 3; i++) {
		if (!parts[i] || b->nomem)
			continue;
		char *e = i == 1 ? gw_xml_escape(parts[i]) : NULL;
		const char *p = i == 1 ? e : parts[i];
		if (!p) {
			b->nomem = true;
			return;
		}
		size_t n = strlen(p);
		if (b->len + n + 1 > b->cap) {
			size_t cap = (b->len + n + 1) * 2;
			char *s = realloc(b->s, cap);
			if (!s) {
				free(e);
				b->nomem = true;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
		memcpy(b->s + b->len, p, n + 1);
		b->len += n;
		free(e);
	}
}

static void put_say(struct buf *b, const struct gw_ivr_scene *sc)
{
	if (!sc->say.text[0])
		return;
	put(b, "<Say language=\"", language(sc->lang), "\">");
	put(b, NULL, sc->say.text, "</Say>");
}

static char *render(const struct gw_ivr_scene *sc, const char **content_type)
{
	struct buf b = {0};
	char n[16];
	put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>", NULL, NULL);
	switch (sc->input) {
	case GW_IVR_DIGITS:
		snprintf(n, sizeof(n), "%d", sc->digits > 0 ? sc->digits : 1);
		put(&b, "<Gather input=\"dtmf\" numDigits=\"", n, "\"");
		snprintf(n, sizeof(n), "%d", sc->timeout_s > 0 ? sc->timeout_s : 8);
		put(&b, " timeout=\"", n, "\"");
		put(&b, " action=\"", sc->next_url, "\" method=\"POST\">");
		put_say(&b, sc);
		put(&b, "</Gather><Redirect method=\"POST\">", sc->noinput_url, "</Redirect>");
		break;
	case GW_IVR_RECORD:
		put_say(&b, sc);
		put(&b, "<Record action=\"", sc->next_url, "\" method=\"POST\"");
		snprintf(n, sizeof(n), "%d", sc->record_max_s);
		put(&b, " maxLength=\"", n,
		    "\" finishOnKey=\"#\" playBeep=\"true\" timeout=\"10\"");
		put(&b, " recordingStatusCallback=\"", sc->recording_url,
		    "\" recordingStatusCallbackMethod=\"POST\""
		    " recordingStatusCallbackEvent=\"completed\"/>");
		/* Nothing recorded: Twilio goes on to the next verb. */
		put(&b, "<Redirect method=\"POST\">", sc->noinput_url, "</Redirect>");
		break;
	case GW_IVR_NONE:
		put_say(&b, sc);
		put(&b, "<Hangup/>", NULL, NULL);
		break;
	}
	put(&b, "</Response>", NULL, NULL);
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	*content_type = "text/xml";
	return b.s;
}

static int build_call(const struct gw_sms_settings *s, const char *to, const char *answer_url,
                      const char *end_url, int ring_timeout_s, struct gw_sms_request *out)
{
	memset(out, 0, sizeof(*out));
	char path[256], timeout[16];
	snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/Calls.json", s->account);
	snprintf(timeout, sizeof(timeout), "%d", ring_timeout_s);
	if (!to[0] || !s->from[0] ||
	    gw_sms_api_url(out->url, sizeof(out->url), s->api_base, DEFAULT_API, path) != 0)
		return -1;
	char *body = NULL;
	if (gw_form_append(&body, "To", to) || gw_form_append(&body, "From", s->from) ||
	    gw_form_append(&body, "Url", answer_url) || gw_form_append(&body, "Method", "POST") ||
	    gw_form_append(&body, "StatusCallback", end_url) ||
	    gw_form_append(&body, "StatusCallbackMethod", "POST") ||
	    gw_form_append(&body, "StatusCallbackEvent", "completed") ||
	    gw_form_append(&body, "Timeout", timeout)) {
		free(body);
		return -1;
	}
	out->body = body;
	snprintf(out->content_type, sizeof(out->content_type), "application/x-www-form-urlencoded");
	snprintf(out->user, sizeof(out->user), "%s", s->account);
	snprintf(out->password, sizeof(out->password), "%s", s->secret);
	return 0;
}

static void parse_call(long http_status, const char *body, size_t len, struct gw_sms_result *out)
{
	gw_sms_twilio.parse_send(http_status, body, len, out);
	/* Numbers that cannot be called (invalid, not reachable, no permission
	 * for that country): no retry, the contact is blocked for calls. */
	const char *permanent[] = {"21210", "21214", "21215", "21216", "21217"};
	for (size_t i = 0; !out->ok && i < sizeof(permanent) / sizeof(permanent[0]); i++)
		if (strcmp(out->error, permanent[i]) == 0)
			out->permanent = true;
}

/* Only the API host careline is configured with gets its credentials. */
static bool on_api_host(const struct gw_sms_settings *s, const char *url)
{
	const char *base = s->api_base[0] ? s->api_base : DEFAULT_API;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	return strncmp(url, base, n) == 0 && url[n] == '/';
}

static bool plain_id(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < 64 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static int fetch_url(const struct gw_sms_settings *s, const char *remote_id, const char *remote_url,
                     char *out, size_t len)
{
	if (!on_api_host(s, remote_url) || strstr(remote_url, "..") || strchr(remote_url, '?'))
		return -1;
	int n = snprintf(out, len, "%s.wav", remote_url);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static bool delete_url(const struct gw_sms_settings *s, const char *remote_id, char *out,
                       size_t len)
{
	char path[256];
	if (!plain_id(remote_id))
		return false;
	snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/Recordings/%s.json", s->account,
	         remote_id);
	return gw_sms_api_url(out, len, s->api_base, DEFAULT_API, path) == 0;
}

const struct gw_ivr_provider gw_ivr_twilio = {
    .name = "twilio",
    .parse = parse,
    .render = render,
    .build_call = build_call,
    .parse_call = parse_call,
    .fetch_url = fetch_url,
    .delete_url = delete_url,
};
