/*
 * gateway/ivr_46elks.c owns 46elks's voice formats: the form bodies of its
 * call, ivr/record result, recording and whenhangup callbacks; JSON call
 * actions (ivr, play, record, hangup, with nested next actions) for a scene,
 * whose prompts are audio careline serves (46elks has no text-to-speech);
 * POST /a1/calls for alert calls; where a recording's WAV is fetched (only
 * on the configured API host). 46elks has no recording deletion: its
 * recordings expire after 72 hours. Webhooks are authenticated as for SMS
 * (secret path segment and basic auth, gw_sms_46elks.verify).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr.h"

#define DEFAULT_API "https://api.46elks.com"

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
	int rc = 0;
	const char *id = gw_form_get(&f, "callid");
	if (!id || !id[0] || strlen(id) >= sizeof(out->call_id)) {
		rc = fail(err, errlen, "no_callid");
		goto out;
	}
	copy(out->call_id, sizeof(out->call_id), id);
	const char *from = gw_form_get(&f, "from");
	if (from && gw_phone_normalise(from, out->from, sizeof(out->from)) != 0)
		out->from[0] = '\0';
	copy(out->to, sizeof(out->to), gw_form_get(&f, "to"));
	const char *result = gw_form_get(&f, "result");
	if (result && result[0] && strspn(result, "0123456789*#") == strlen(result) &&
	    strlen(result) < sizeof(out->digits)) {
		out->has_digits = true;
		copy(out->digits, sizeof(out->digits), result);
	} else if (result && strcmp(result, "failed") == 0) {
		out->failed = true;
	}
	const char *wav = gw_form_get(&f, "wav");
	if (wav && wav[0] && strlen(wav) < sizeof(out->recording_url)) {
		copy(out->recording_url, sizeof(out->recording_url), wav);
		const char *slash = strrchr(wav, '/');
		copy(out->recording_id, sizeof(out->recording_id), slash ? slash + 1 : wav);
		char *dot = strrchr(out->recording_id, '.');
		if (dot)
			*dot = '\0';
		const char *d = gw_form_get(&f, "duration");
		out->recording_duration_s = d ? atoi(d) : 0;
	}
	copy(out->status, sizeof(out->status), gw_form_get(&f, "state"));
out:
	gw_form_free(&f);
	return rc;
}

/* One audio URL for what the scene says: base/lang/a+b+c.wav. */
static json_t *audio(const struct gw_ivr_scene *sc)
{
	char url[2048];
	int n = snprintf(url, sizeof(url), "%s/%s/", sc->audio_base, sc->lang);
	for (size_t i = 0; i < sc->say.n_pieces && n > 0 && (size_t)n < sizeof(url); i++)
		n += snprintf(url + n, sizeof(url) - (size_t)n, "%s%s", i ? "+" : "",
		              sc->say.pieces[i]);
	if (n <= 0 || (size_t)n + 5 >= sizeof(url))
		return NULL;
	strcat(url, ".wav");
	return json_string(url);
}

static char *render(const struct gw_ivr_scene *sc, const char **content_type)
{
	json_t *o = json_object();
	json_t *a = sc->say.n_pieces ? audio(sc) : NULL;
	switch (sc->input) {
	case GW_IVR_DIGITS:
		json_object_set_new(o, "ivr", a ? a : json_string(""));
		json_object_set_new(o, "digits", json_integer(sc->digits > 0 ? sc->digits : 1));
		json_object_set_new(o, "timeout",
		                    json_integer(sc->timeout_s > 0 ? sc->timeout_s : 8));
		json_object_set_new(o, "repeat", json_integer(1));
		json_object_set_new(o, "next", json_string(sc->next_url));
		break;
	case GW_IVR_RECORD: {
		json_t *rec = json_object();
		json_object_set_new(rec, "record", json_string(sc->recording_url));
		json_object_set_new(rec, "timelimit", json_integer(sc->record_max_s));
		json_object_set_new(rec, "silencedetection", json_string("no"));
		json_object_set_new(rec, "next", json_string(sc->next_url));
		if (a) {
			json_object_set_new(o, "play", a);
			json_object_set_new(o, "next", rec);
		} else {
			json_decref(o);
			o = rec;
		}
		break;
	}
	case GW_IVR_NONE:
		/* Without a next action the call ends after the prompt. */
		if (a)
			json_object_set_new(o, "play", a);
		else
			json_object_set_new(o, "hangup", json_string("reject"));
		break;
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	*content_type = "application/json";
	return s;
}

static int build_call(const struct gw_sms_settings *s, const char *to, const char *answer_url,
                      const char *end_url, int ring_timeout_s, struct gw_sms_request *out)
{
	memset(out, 0, sizeof(*out));
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", ring_timeout_s);
	if (!to[0] || !s->from[0] ||
	    gw_sms_api_url(out->url, sizeof(out->url), s->api_base, DEFAULT_API, "/a1/calls") != 0)
		return -1;
	char *body = NULL;
	if (gw_form_append(&body, "from", s->from) || gw_form_append(&body, "to", to) ||
	    gw_form_append(&body, "voice_start", answer_url) ||
	    gw_form_append(&body, "whenhangup", end_url) ||
	    gw_form_append(&body, "timeout", timeout)) {
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
	gw_sms_46elks.parse_send(http_status, body, len, out);
}

static int fetch_url(const struct gw_sms_settings *s, const char *remote_id, const char *remote_url,
                     char *out, size_t len)
{
	const char *base = s->api_base[0] ? s->api_base : DEFAULT_API;
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	if (strncmp(remote_url, base, n) != 0 || remote_url[n] != '/' || strstr(remote_url, ".."))
		return -1;
	int w = snprintf(out, len, "%s", remote_url);
	return w > 0 && (size_t)w < len ? 0 : -1;
}

static bool delete_url(const struct gw_sms_settings *s, const char *remote_id, char *out,
                       size_t len)
{
	return false;
}

const struct gw_ivr_provider gw_ivr_46elks = {
    .name = "46elks",
    .parse = parse,
    .render = render,
    .build_call = build_call,
    .parse_call = parse_call,
    .fetch_url = fetch_url,
    .delete_url = delete_url,
};

const struct gw_ivr_provider *gw_ivr_provider_find(const char *name)
{
	if (strcmp(name, "twilio") == 0)
		return &gw_ivr_twilio;
	if (strcmp(name, "46elks") == 0)
		return &gw_ivr_46elks;
	return NULL;
}
