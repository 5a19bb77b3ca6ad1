/*
 * tests/integration/20-ivr-calls.c: the anonymous hotline, driven call by
 * call by the fake voice provider (tests/lib/fakevoice) against the real
 * daemon, once for Twilio (TwiML) and once for 46elks (JSON actions and
 * audio prompts served by careline). Per provider, a fresh daemon:
 *  - the happy path: greeting (112 first) → digit → recording → consent 2 →
 *    the ref read out twice; the ticket is anonymous with the chosen
 *    category; the recording is fetched, stored encrypted (its bytes are in
 *    no file in clear) and deleted at the provider (Twilio); a worker gets
 *    the audio back through the API and the read is an event on the ticket;
 *  - consent 1: the number is kept, encrypted, and a worker sees it;
 *  - bad digits and silence: the menu is repeated twice, then "something
 *    else"; early hang-up after the category: a ticket; in the greeting: none;
 *  - a duplicate callback gets the same answer and makes nothing twice; a
 *    callback for an unknown call is hung up; forged requests get 403;
 *  - a daemon restart mid-call: the call goes on at the right step;
 *  - alert calls: the on-call worker presses 1 → acknowledged; 2 → the
 *    back-up is called;
 *  - afterwards no caller's number (but the consenting one, encrypted) is in
 *    any file of the daemon: database, WAL, log.
 * Prints the webhook round trips per call.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fakevoice.h"
#include "../lib/harness.h"

#define PUBLIC_URL "https://careline.example.dk"
#define HOTLINE    "+4570203040"
#define HOTLINE_EN "+4570203041" /* answered in English */
#define ANON_A     "+4531551101" /* happy path, consent 2 */
#define ANON_B     "+4531551102" /* consent 1: kept */
#define ANON_C     "+4531551103" /* bad digits */
#define ANON_D     "+4531551104" /* hang-ups */
#define ANON_E     "+4531551105" /* duplicate, restart */
#define PHONE_ANNA "+4520000001"
#define PHONE_BO   "+4520000002"
#define PHONE_CARL "+4520000003"
#define AUDIO_MARK "CARELINE-PLANTED-AUDIO-7f3a9c1e"

static const char *const never_kept[] = {ANON_A, ANON_C, ANON_D, ANON_E};

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A WAV whose samples spell a marker, so "in clear" can be searched for. */
static unsigned char *marked_wav(size_t *len)
{
	size_t data = 4000;
	unsigned char *w = calloc(1, 44 + data);
	memcpy(w, "RIFF", 4);
	uint32_t v = (uint32_t)(36 + data);
	memcpy(w + 4, &v, 4);
	memcpy(w + 8, "WAVEfmt ", 8);
	v = 16;
	memcpy(w + 16, &v, 4);
	uint16_t s = 1;
	memcpy(w + 20, &s, 2); /* PCM */
	memcpy(w + 22, &s, 2); /* mono */
	v = 8000;
	memcpy(w + 24, &v, 4);
	memcpy(w + 28, &v, 4);
	memcpy(w + 32, &s, 2);
	s = 8;
	memcpy(w + 34, &s, 2);
	memcpy(w + 36, "data", 4);
	v = (uint32_t)data;
	memcpy(w + 40, &v, 4);
	for (size_t i = 0; i + strlen(AUDIO_MARK) <= data; i += strlen(AUDIO_MARK))
		memcpy(w + 44 + i, AUDIO_MARK, strlen(AUDIO_MARK));
	*len = 44 + data;
	return w;
}

/* The ref a call read out: Twilio's Say "... nummer K, 7, F, Q, 2. ...";
 * 46elks's play URL ".../char_K+char_7+...". */
static void ref_of(struct fv_call *c, bool twilio, char ref[8])
{
	ref[0] = '\0';
	const struct fv_transcript *t = fv_call_transcript(c);
	size_t n = 0;
	if (twilio) {
		const char *s = strstr(fv_spoken_text(c), "nummer ");
		if (!s)
			s = strstr(fv_spoken_text(c), "number ");
		for (s = s ? s + 7 : NULL; s && *s && *s != '.' && n < 7; s++)
			if (*s != ',' && *s != ' ')
				ref[n++] = *s;
	} else {
		for (size_t i = 0; i < t->n_plays && !n; i++) {
			const char *p = t->plays[i].url;
			while (p && (p = strstr(p, "char_")) && n < 5) {
				ref[n++] = p[5];
				p += 6;
			}
		}
	}
	ref[n] = '\0';
}

/* Twilio: it was said. 46elks: a prompt with that piece was played. */
static bool heard(const struct fv_call *c, bool twilio, const char *text, const char *piece)
{
	if (twilio)
		return fv_said(c, text);
	const struct fv_transcript *t = fv_call_transcript(c);
	for (size_t i = 0; i < t->n_plays; i++)
		if (strstr(t->plays[i].url, piece) && t->plays[i].wav && t->plays[i].status == 200)
			return true;
	return false;
}

static size_t count_heard(struct fv_call *c, bool twilio, const char *text, const char *piece)
{
	size_t n = 0;
	const struct fv_transcript *t = fv_call_transcript(c);
	if (twilio) {
		for (size_t i = 0; i < t->n_says; i++)
			for (const char *p = t->says[i].text; (p = strstr(p, text)); p++)
				n++;
	} else {
		for (size_t i = 0; i < t->n_plays; i++)
			for (const char *p = t->plays[i].url; (p = strstr(p, piece)); p++)
				n += (size_t)t->plays[i].times;
	}
	return n;
}

static size_t ticket_count(struct hx *h)
{
	struct hx_resp r = hx_admin(h, "GET", "/api/v1/tickets?state=all&limit=10000", NULL);
	HX_CHECK(r.status == 200 && r.json, "GET tickets: %ld", r.status);
	size_t n = json_array_size(json_object_get(r.json, "tickets"));
	hx_resp_free(&r);
	return n;
}

static double metric(struct hx *h, const char *name)
{
	struct hx_resp r = hx_http(h, "GET", "/metrics", "test-admin-token", NULL);
	HX_CHECK(r.status == 200 && r.body, "GET /metrics: %ld", r.status);
	double v = -1;
	size_t n = strlen(name);
	for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	hx_resp_free(&r);
	return v;
}

static json_t *ticket_as(struct hx *h, const char *ref, const char *token)
{
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s", ref);
	struct hx_resp r = hx_http(h, "GET", path, token, NULL);
	HX_CHECK(r.status == 200 && r.json, "GET %s: %ld %s", path, r.status, r.body);
	json_t *t = json_incref(r.json);
	hx_resp_free(&r);
	return t;
}

static bool has_category(json_t *t, const char *cat)
{
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(t, "categories"), i,
	                   v) if (streq(json_string_value(v), cat)) return true;
	return false;
}

/* Wait until the ticket's first recording is stored; its id. */
static long long wait_stored(struct hx *h, const char *ref)
{
	for (int i = 0; i < 400; i++) {
		json_t *t = hx_ticket(h, ref);
		json_t *rec = json_array_get(json_object_get(t, "recordings"), 0);
		long long id = json_integer_value(json_object_get(rec, "id"));
		bool done = streq(str(rec, "state"), "stored") &&
		            json_is_true(json_object_get(rec, "deleted_at_provider"));
		json_decref(t);
		if (done)
			return id;
		hx_sleep_ms(50);
	}
	hx_fail("%s: recording not stored and deleted at the provider within 20 s", ref);
}

/* No caller's number (but the consenting one) and no audio in clear in any file. */
static void scan_files(struct hx *h, const char *name)
{
	DIR *d = opendir(h->dir);
	HX_CHECK(d, "opendir %s", h->dir);
	int files = 0;
	bool saw_db = false, saw_log = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", h->dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		size_t len;
		char *buf = hx_read_file(path, &len);
		if (!buf)
			continue;
		files++;
		saw_db |= streq(e->d_name, "careline.db");
		saw_log |= streq(e->d_name, "careline.log");
		for (size_t i = 0; i < sizeof(never_kept) / sizeof(never_kept[0]); i++) {
			const char *digits = never_kept[i] + 3;
			HX_CHECK(!memmem(buf, len, digits, strlen(digits)),
			         "%s: caller %s found in %s", name, never_kept[i], e->d_name);
		}
		HX_CHECK(!memmem(buf, len, ANON_B + 3, strlen(ANON_B + 3)) ||
		             strstr(e->d_name, "config") || strstr(e->d_name, ".ini"),
		         "%s: the consenting caller's number in clear in %s", name, e->d_name);
		HX_CHECK(!memmem(buf, len, AUDIO_MARK, strlen(AUDIO_MARK)),
		         "%s: the recording in clear in %s", name, e->d_name);
		free(buf);
	}
	closedir(d);
	HX_CHECK(saw_db && saw_log && files >= 3, "%s: only %d files scanned", name, files);
	printf("  %s: %d files scanned: no caller number, no audio in clear\n", name, files);
}

static void run_provider(const char *name)
{
	bool twilio = streq(name, "twilio");
	struct hx h = {0};
	struct fv *fv;
	char voice[1024];
	if (twilio) {
		fv = fv_start("twilio", "AC0123456789abcdef0123456789abcdef",
		              "twilio-auth-token-0123456789");
		snprintf(voice, sizeof(voice),
		         "account = AC0123456789abcdef0123456789abcdef\n"
		         "secret = twilio-auth-token-0123456789\n");
	} else {
		fv = fv_start("46elks", "u0123456789abcdef0123456789abcdef",
		              "elks-api-password-0123");
		fv_set_hook_auth(fv, "careline", "elks-hook-password-4567");
		char prompts[512];
		HX_CHECK(realpath("config/prompts", prompts),
		         "config/prompts missing (make prompts)");
		snprintf(voice, sizeof(voice),
		         "account = u0123456789abcdef0123456789abcdef\n"
		         "secret = elks-api-password-0123\n"
		         "hook_path_secret = Vx7hookpath3K\n"
		         "hook_user = careline\n"
		         "hook_password = elks-hook-password-4567\n"
		         "prompts_dir = %s\n",
		         prompts);
	}
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[voice]\nprovider = %s\npublic_url = %s\napi_base = %s\nfrom = %s\n%s"
	         "english_numbers = " HOTLINE_EN "\n"
	         "[person anna]\nphone = %s\n[person bo]\nphone = %s\n[person carl]\nphone = %s\n"
	         "[policy calls]\nstep = primary 30 via=mqtt\nrepeat = 0\n"
	         "final = backup 30 via=mqtt\n"
	         "[team opsoegende]\npolicy = calls\n",
	         name, PUBLIC_URL, fv_base_url(fv), HOTLINE, voice, PHONE_ANNA, PHONE_BO,
	         PHONE_CARL);
	hx_start_daemon(&h, NULL);
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", h.http_port);
	fv_set_careline(fv, base, twilio ? NULL : "Vx7hookpath3K");
	fv_set_public_url(fv, PUBLIC_URL);
	char primary[32], backup[32];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), backup, sizeof(backup));
	const char *primary_phone = streq(primary, "anna") ? PHONE_ANNA : PHONE_BO;
	/* The on-call worker does not pick up until a test says so. */
	size_t audio_len;
	unsigned char *audio = marked_wav(&audio_len);

	/* 1. Happy path: threats (3), a message, no callback (2). */
	size_t n0 = ticket_count(&h);
	struct fv_input happy[] = {FV_IN_DIGITS("3"), FV_IN_RECORD(audio, audio_len, 9),
	                           FV_IN_DIGITS("2")};
	struct fv_call *c;
	int rc = fv_call_run(fv, ANON_A, HOTLINE, happy, 3, &c);
	const struct fv_transcript *t = fv_call_transcript(c);
	HX_CHECK(rc == 0, "%s happy: %s %s", name, fv_end_name(t->end), t->error ? t->error : "");
	HX_CHECK(heard(c, twilio, "Er nogen i fare lige nu, så læg på og ring 112", "greeting"),
	         "%s: no greeting with 112", name);
	if (twilio)
		HX_CHECK(strncmp(t->says[0].text, "Er nogen i fare lige nu", 23) == 0 &&
		             streq(t->says[0].language, "da-DK"),
		         "%s: the 112 line is not first in Danish: '%s' (%s)", name,
		         t->says[0].text, t->says[0].language);
	else
		HX_CHECK(strstr(t->plays[0].url, "/da/greeting+menu.wav") != NULL,
		         "%s: first prompt %s", name, t->plays[0].url);
	char ref[8];
	ref_of(c, twilio, ref);
	HX_CHECK(strlen(ref) == 5, "%s: no ref read out (%s)", name, ref);
	HX_CHECK(count_heard(c, twilio, "Jeg gentager", "ref_1") >= 1,
	         "%s: the ref is not repeated", name);
	HX_CHECK(ticket_count(&h) == n0 + 1, "%s: tickets %zu -> %zu", name, n0, ticket_count(&h));
	printf("  %s: happy path %zu webhook round trips (%zu requests), ref %s\n", name,
	       t->round_trips, t->n_requests, ref);
	json_t *tk = hx_ticket(&h, ref);
	HX_CHECK(streq(str(tk, "kind"), "anonymous") && has_category(tk, "threats_violence"),
	         "%s: ticket kind %s", name, str(tk, "kind"));
	json_t *rep = json_array_get(json_object_get(tk, "reports"), 0);
	HX_CHECK(streq(str(rep, "via"), "ivr") && !json_object_get(rep, "callback_phone"),
	         "%s: report via %s, callback phone present", name, str(rep, "via"));
	json_decref(tk);
	long long rec_id = wait_stored(&h, ref);
	if (twilio) {
		HX_CHECK(fv_deletes(fv) == 1, "%s: %zu recordings deleted at the provider", name,
		         fv_deletes(fv));
		struct fv_recording fr;
		HX_CHECK(fv_recording_get(fv, 0, &fr) && fr.deleted && fr.fetches >= 1,
		         "%s: recording not fetched and deleted", name);
	}
	fv_call_free(c);
	/* A worker listens: the exact audio, and the read is on the ticket. */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/recordings/%lld", ref, rec_id);
	struct hx_resp r = hx_http(&h, "GET", path, "test-anna-token", NULL);
	HX_CHECK(r.status == 200 && r.len == audio_len && memcmp(r.body, audio, audio_len) == 0,
	         "%s: GET recording %ld, %zu bytes", name, r.status, r.len);
	hx_resp_free(&r);
	r = hx_http(&h, "GET", path, "test-partner-token", NULL);
	HX_CHECK(r.status == 403, "%s: a partner read a recording: %ld", name, r.status);
	hx_resp_free(&r);
	tk = hx_ticket(&h, ref);
	HX_CHECK(hx_ticket_has_event(tk, "read"), "%s: the read is not recorded", name);
	json_decref(tk);
	/* ... and an administrator with carelinectl. */
	char wav_path[400], *out = NULL, *err = NULL;
	snprintf(wav_path, sizeof(wav_path), "%s/message.wav", h.dir);
	HX_CHECK(hx_ctl(&h, &out, &err, "recording", ref, "--out", wav_path, NULL) == 0,
	         "%s: carelinectl recording: %s", name, err);
	free(out);
	free(err);
	size_t wav_len = 0;
	char *wav = hx_read_file(wav_path, &wav_len);
	HX_CHECK(wav && wav_len == audio_len && memcmp(wav, audio, audio_len) == 0,
	         "%s: carelinectl wrote %zu bytes", name, wav_len);
	free(wav);
	unlink(wav_path);

	/* An English number: the same call in English. */
	struct fv_input hang[] = {FV_IN_HANGUP};
	fv_call_run(fv, ANON_A, HOTLINE_EN, hang, 1, &c);
	t = fv_call_transcript(c);
	if (twilio)
		HX_CHECK(t->n_says >= 1 && streq(t->says[0].language, "en-GB") &&
		             strncmp(t->says[0].text, "If anyone is in danger right now", 32) == 0,
		         "%s: English number: '%s'", name, t->n_says ? t->says[0].text : "");
	else
		HX_CHECK(t->n_plays >= 1 && strstr(t->plays[0].url, "/en/greeting+menu.wav"),
		         "%s: English number: %s", name, t->n_plays ? t->plays[0].url : "");
	fv_call_free(c);

	/* The provider cannot hand the recording over at first: the ticket is
	 * there and escalates meanwhile, its recording pending; the retry gets it. */
	fv_fail_fetches(fv, 1, 503);
	struct fv_input later[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(audio, audio_len, 6),
	                           FV_IN_DIGITS("2")};
	HX_CHECK(fv_call_run(fv, ANON_A, HOTLINE, later, 3, &c) == 0, "%s: call", name);
	ref_of(c, twilio, ref);
	fv_call_free(c);
	for (int i = 0; i < 100 && fv_failed_fetches(fv) < 1; i++)
		hx_sleep_ms(20);
	HX_CHECK(fv_failed_fetches(fv) == 1, "%s: the recording was not fetched", name);
	tk = hx_ticket(&h, ref);
	json_t *rec0 = json_array_get(json_object_get(tk, "recordings"), 0);
	HX_CHECK(streq(str(rec0, "state"), "pending") && streq(str(tk, "state"), "notifying") &&
	             hx_ticket_has_event(tk, "notify"),
	         "%s: while the recording is pending: recording %s, ticket %s", name,
	         str(rec0, "state"), str(tk, "state"));
	json_decref(tk);
	wait_stored(&h, ref);
	tk = hx_ticket(&h, ref);
	rec0 = json_array_get(json_object_get(tk, "recordings"), 0);
	HX_CHECK(json_integer_value(json_object_get(rec0, "attempts")) == 1, "%s: attempts %lld",
	         name, (long long)json_integer_value(json_object_get(rec0, "attempts")));
	json_decref(tk);

	/* 2. Consent 1: the number is kept, encrypted, for the worker. */
	struct fv_input yes[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(audio, audio_len, 4),
	                         FV_IN_DIGITS("1")};
	rc = fv_call_run(fv, ANON_B, HOTLINE, yes, 3, &c);
	HX_CHECK(rc == 0, "%s consent: %s", name, fv_end_name(fv_call_transcript(c)->end));
	HX_CHECK(heard(c, twilio, "Vi gemmer dit nummer", "consent_yes"),
	         "%s: consent not confirmed", name);
	ref_of(c, twilio, ref);
	fv_call_free(c);
	tk = ticket_as(&h, ref, "test-anna-token");
	rep = json_array_get(json_object_get(tk, "reports"), 0);
	HX_CHECK(streq(str(rep, "callback_phone"), ANON_B) && has_category(tk, "not_seen"),
	         "%s: callback phone %s", name, str(rep, "callback_phone"));
	json_decref(tk);

	/* 3. A wrong digit, silence, another wrong digit: the menu three times,
	 * then "something else"; silence at the consent is a no. */
	struct fv_input bad[] = {FV_IN_DIGITS("9"), FV_IN_SILENCE, FV_IN_DIGITS("7"),
	                         FV_IN_RECORD(audio, audio_len, 3), FV_IN_SILENCE};
	rc = fv_call_run(fv, ANON_C, HOTLINE, bad, 5, &c);
	HX_CHECK(rc == 0, "%s bad digits: %s", name, fv_end_name(fv_call_transcript(c)->end));
	HX_CHECK(count_heard(c, twilio, "Det forstod jeg ikke", "menu_invalid") >= 2,
	         "%s: 'not understood' said %zu times", name,
	         count_heard(c, twilio, "Det forstod jeg ikke", "menu_invalid"));
	ref_of(c, twilio, ref);
	fv_call_free(c);
	tk = hx_ticket(&h, ref);
	HX_CHECK(has_category(tk, "other"), "%s: the menu's fallback is not 'other'", name);
	json_decref(tk);

	/* 4. Hang-ups: after choosing squalor (4) a ticket; in the greeting none. */
	n0 = ticket_count(&h);
	struct fv_input early[] = {FV_IN_DIGITS("4"), FV_IN_HANGUP};
	rc = fv_call_run(fv, ANON_D, HOTLINE, early, 2, &c);
	fv_call_free(c);
	HX_CHECK(ticket_count(&h) == n0 + 1, "%s: hang-up after the category: %zu tickets", name,
	         ticket_count(&h) - n0);
	struct fv_input greet[] = {FV_IN_HANGUP};
	rc = fv_call_run(fv, ANON_D, HOTLINE, greet, 1, &c);
	fv_call_free(c);
	HX_CHECK(ticket_count(&h) == n0 + 1, "%s: hang-up in the greeting made a ticket", name);

	/* 5. A duplicate callback gets the same answer; the restart mid-call. */
	c = fv_call_start(fv, ANON_E, HOTLINE);
	HX_CHECK(fv_call_input(c, &FV_IN_DIGITS("2")) == 0, "%s: digit 2", name);
	const struct fv_request *last = fv_call_last(c);
	char *first_answer = strdup(last->response);
	HX_CHECK(fv_call_repost_last(c) == 200, "%s: duplicate callback refused", name);
	last = fv_call_last(c);
	HX_CHECK(streq(last->response, first_answer), "%s: duplicate answered differently:\n%s\n%s",
	         name, first_answer, last->response);
	free(first_answer);
	n0 = ticket_count(&h);
	HX_CHECK(hx_stop_daemon(&h) == 0, "%s: daemon did not stop cleanly", name);
	hx_start_daemon(&h, NULL);
	HX_CHECK(fv_call_input(c, &FV_IN_RECORD(audio, audio_len, 5)) == 0 &&
	             fv_call_input(c, &FV_IN_DIGITS("2")) == 0 && fv_call_ended(c),
	         "%s: the call did not go on after the restart: %s", name,
	         fv_end_name(fv_call_transcript(c)->end));
	ref_of(c, twilio, ref);
	fv_call_free(c);
	HX_CHECK(strlen(ref) == 5 && ticket_count(&h) == n0 + 1, "%s: after restart: ref %s", name,
	         ref);
	tk = hx_ticket(&h, ref);
	HX_CHECK(has_category(tk, "noise"), "%s: the category chosen before the restart is lost",
	         name);
	json_decref(tk);
	wait_stored(&h, ref);

	/* 6. An unknown call's callback is hung up; forged requests get 403. */
	char unknown[48], url[256];
	fv_new_call_id(fv, unknown, sizeof(unknown));
	snprintf(url, sizeof(url), "%s%s/voice/step?s=menu", PUBLIC_URL,
	         twilio ? "/hooks/twilio" : "/hooks/46elks/Vx7hookpath3K");
	struct fp_param p[] = {{twilio ? "CallSid" : "callid", unknown},
	                       {twilio ? "Digits" : "result", "1"}};
	char *body = NULL, *ctype = NULL;
	int st = fv_post_webhook(fv, url, p, 2, 0, &body, &ctype);
	HX_CHECK(st == 200 && body && (strstr(body, "<Hangup/>") || strstr(body, "hangup")),
	         "%s: unknown call: %d %s", name, st, body ? body : "");
	free(body);
	free(ctype);
	HX_CHECK(metric(&h, "careline_ivr_total{event=\"unknown_call\"}") == 1,
	         "%s: unknown_call metric", name);
	n0 = ticket_count(&h);
	struct fv_call_opts forged = {
	    .from = ANON_D, .to = HOTLINE, .tamper_first = FP_TAMPER_SIGNATURE};
	c = fv_call_start_ex(fv, &forged);
	t = fv_call_transcript(c);
	HX_CHECK(t->n_requests >= 1 && t->requests[0].status == 403, "%s: forged start: %d", name,
	         t->n_requests ? t->requests[0].status : -1);
	fv_call_free(c);
	HX_CHECK(metric(&h, "careline_ivr_total{event=\"auth_failure\"}") >= 1,
	         "%s: auth_failure metric", name);
	HX_CHECK(ticket_count(&h) == n0, "%s: a forged call made a ticket", name);

	/* 7. Alert calls. Until now alerts went to devices only (a phone is
	 * called at most 3 times in 15 minutes, and the calls above would use
	 * that up); from here the steps also call. */
	HX_CHECK(hx_stop_daemon(&h) == 0, "%s: daemon did not stop cleanly", name);
	for (int k = 0; k < 2; k++) {
		char *via = strstr(h.extra_config, "via=mqtt\n");
		HX_CHECK(via, "%s: no via=mqtt in the config", name);
		memmove(via + 15, via + 9, strlen(via + 9) + 1);
		memcpy(via, "via=mqtt,voice\n", 15);
	}
	hx_start_daemon(&h, NULL);
	/* The on-call worker presses 1 → acknowledged. */
	size_t placed0 = fv_placed_count(fv);
	struct fv_input press1[] = {FV_IN_DIGITS("1")};
	fv_answer_script(fv, primary_phone, press1, 1);
	struct fv_input quick[] = {FV_IN_DIGITS("3"), FV_IN_RECORD(audio, audio_len, 2),
	                           FV_IN_DIGITS("2")};
	rc = fv_call_run(fv, ANON_A, HOTLINE, quick, 3, &c);
	ref_of(c, twilio, ref);
	fv_call_free(c);
	HX_CHECK(fv_wait_placed(fv, placed0 + 1, 10000), "%s: no alert call placed", name);
	struct fv_placed pl;
	size_t idx = placed0;
	for (; idx < fv_placed_count(fv); idx++)
		if (fv_placed_get(fv, idx, &pl) && streq(pl.to, primary_phone))
			break;
	HX_CHECK(idx < fv_placed_count(fv), "%s: no call to the primary %s", name, primary_phone);
	HX_CHECK(fv_wait_placed_done(fv, idx, 10000), "%s: alert call not over", name);
	const struct fv_call *pc = fv_placed_call(fv, idx);
	HX_CHECK(heard(pc, twilio, "Ny henvendelse. Hastegrad akut", "alert_0") &&
	             heard(pc, twilio, "Tak. Du har kvitteret", "alert_acked"),
	         "%s: alert call said: %s", name, twilio ? fv_spoken_text(pc) : "(audio)");
	tk = hx_ticket(&h, ref);
	HX_CHECK(streq(str(tk, "state"), "acknowledged") && streq(str(tk, "acked_by"), primary),
	         "%s: after pressing 1: %s by %s", name, str(tk, "state"), str(tk, "acked_by"));
	json_decref(tk);

	/* ... presses 2 → declined, the back-up is called. */
	struct fv_input press2[] = {FV_IN_DIGITS("2")};
	fv_answer_script(fv, primary_phone, press2, 1);
	placed0 = fv_placed_count(fv);
	rc = fv_call_run(fv, ANON_A, HOTLINE, quick, 3, &c);
	ref_of(c, twilio, ref);
	fv_call_free(c);
	const char *backup_phone = streq(backup, "carl") ? PHONE_CARL : PHONE_BO;
	bool backup_called = false;
	for (int i = 0; i < 200 && !backup_called; i++) {
		for (size_t k = placed0; k < fv_placed_count(fv); k++)
			if (fv_placed_get(fv, k, &pl) && streq(pl.to, backup_phone))
				backup_called = true;
		if (!backup_called)
			hx_sleep_ms(50);
	}
	HX_CHECK(backup_called, "%s: the back-up was not called after a decline", name);
	tk = hx_ticket(&h, ref);
	HX_CHECK(hx_ticket_has_event(tk, "decline"), "%s: no decline event", name);
	json_decref(tk);

	HX_CHECK(metric(&h, "careline_ivr_total{event=\"alert_answer\"}") >= 2,
	         "%s: alert_answer metric", name);
	struct hx_resp hz = hx_http(&h, "GET", "/readyz", NULL, NULL);
	HX_CHECK(hz.status == 200, "%s: not ready at the end", name);
	hx_resp_free(&hz);
	HX_CHECK(hx_stop_daemon(&h) == 0, "%s: daemon did not stop cleanly", name);
	scan_files(&h, name);
	free(audio);
	hx_stop(&h);
	fv_stop(fv);
}

int main(void)
{
	hx_watchdog(300);
	run_provider("twilio");
	run_provider("46elks");
	printf("20-ivr-calls: ok\n");
	return 0;
}
