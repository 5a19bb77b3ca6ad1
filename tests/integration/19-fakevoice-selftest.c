/*
 * tests/integration/19-fakevoice-selftest.c: the fake voice provider checked on its own,
 * against a scripted careline stand-in (a tiny libmicrohttpd responder answering canned
 * TwiML / 46elks JSON and serving WAV prompts). Per provider: whole calls follow
 * Gather/Record/Redirect/Hangup and next (URL and nested object), silence falls through,
 * every webhook is signed (recomputed here) or carries the hook's basic auth,
 * recordings are fetched with auth and deleted, status callbacks arrive, placed calls
 * are driven or go unanswered, malformed answers and careline's errors are reported,
 * tampering shows, repost_last is byte-identical. No careline, no broker.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../lib/fakeprov.h"
#include "../lib/fakevoice.h"
#include "../lib/harness.h"

#define PUBLIC      "https://careline.example.dk"
#define OUR_NUMBER  "+4570203040"
#define CALLER      "+4531559977"
#define WORKER      "+4520000001" /* answers */
#define WORKER_AWAY "+4520000002" /* does not */
#define TW_ACCOUNT  "AC0123456789abcdef0123456789abcdef"
#define TW_TOKEN    "s3cr3t-auth-token"
#define ELKS_USER   "u0123456789abcdef0123456789abcdef"
#define ELKS_SECRET "elks-api-secret"
#define ELKS_PATH   "Xk9hookpath7Q"
#define HOOK_USER   "careline"
#define HOOK_PW     "elks-hook-password-4567"

static int n_checks;

#define CHECK(...)                                                                                 \
	do {                                                                                       \
		n_checks++;                                                                        \
		HX_CHECK(__VA_ARGS__);                                                             \
	} while (0)

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool is_hex_id(const char *s, const char *prefix)
{
	size_t p = strlen(prefix);
	if (!s || strncmp(s, prefix, p) != 0 || strlen(s) != p + 32)
		return false;
	return strspn(s + p, "0123456789abcdef") == 32;
}

/* --- the careline stand-in: canned answers by path, every request logged --------------- */

enum mode {
	M_NORMAL,
	M_DOC,   /* the start webhook answers rx.doc with rx.doc_ctype */
	M_500,   /* the start webhook answers 500 */
	M_CTYPE, /* the normal document with a wrong content type */
};

struct hit {
	char method[8];
	char path[256];
	char query[256];
	char *body;
	char *sig;
	char *idem;
	char *authz;
	bool sig_ok;  /* Twilio: recomputed over PUBLIC + path?query */
	bool auth_ok; /* 46elks: the hook's basic auth */
};

static struct {
	pthread_mutex_t mu;
	struct MHD_Daemon *d;
	unsigned port;
	char base[64];
	bool twilio;
	enum mode mode;
	const char *doc;
	const char *doc_ctype;
	struct hit *hits;
	size_t n_hits, cap_hits;
	size_t audio_gets;
	char *wav;
	size_t wav_len;
} rx = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct rx_conn {
	char *body;
	size_t len;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
	(void)kind;
	char *q = cls;
	size_t n = strlen(q);
	snprintf(q + n, 256 - n, "%s%s=%s", n ? "&" : "", key, value ? value : "");
	return MHD_YES;
}

static const char *form_value(const char *body, const char *name, char *out, size_t len)
{
	struct fp_param *p;
	size_t n;
	const char *r = NULL;
	if (fp_form_parse(body, strlen(body), &p, &n) == 0) {
		for (size_t i = 0; i < n && !r; i++)
			if (strcmp(p[i].name, name) == 0) {
				snprintf(out, len, "%s", p[i].value);
				r = out;
			}
		fp_params_free(p, n);
	}
	return r;
}

static bool sig_ok(const char *url, const char *body, const char *sig)
{
	struct fp_param *p;
	size_t n;
	if (!sig || fp_form_parse(body, strlen(body), &p, &n) != 0)
		return false;
	char *want = fp_twilio_signature(TW_TOKEN, url, p, n);
	bool ok = strcmp(want, sig) == 0;
	free(want);
	fp_params_free(p, n);
	return ok;
}

static char *basic(const char *user, const char *pass)
{
	char raw[256], enc[400];
	int n = snprintf(raw, sizeof(raw), "%s:%s", user, pass);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)raw, n);
	char *out = malloc(strlen(enc) + 7);
	sprintf(out, "Basic %s", enc);
	return out;
}

/* The Twilio documents. */
#define TW "https://careline.example.dk/hooks/twilio/voice"
static const char tw_main[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Response>\n"
    "  <Say language=\"da-DK\" voice=\"Polly.Naja\">Velkommen til careline &amp; tak.</Say>\n"
    "  <Gather input=\"dtmf\" numDigits=\"1\" action=\"" TW "/menu?step=1\" method=\"POST\""
    " timeout=\"5\">\n"
    "    <Say language=\"da-DK\">Tryk 1 for at indtale en besked.</Say>\n"
    "    <Play>https://careline.example.dk/audio/prompt.wav</Play>\n"
    "  </Gather>\n"
    "  <Say language=\"da-DK\">Vi hørte ikke noget.</Say>\n"
    "  <Redirect method=\"POST\">" TW "/again</Redirect>\n"
    "</Response>\n";
static const char tw_menu[] =
    "<Response><Say language=\"da-DK\">Indtal din besked efter tonen.</Say>"
    "<Record action=\"recorded?x=1&amp;y=2\" method=\"POST\" maxLength=\"60\" finishOnKey=\"#\""
    " playBeep=\"true\" recordingStatusCallback=\"/hooks/twilio/voice/recording\""
    " recordingStatusCallbackMethod=\"POST\" recordingStatusCallbackEvent=\"completed\""
    " timeout=\"5\" trim=\"do-not-trim\"/></Response>";
static const char tw_recorded[] = "<Response><Gather numDigits=\"1\" action=\"" TW "/confirm\">"
                                  "<Say language=\"da-DK\">Tryk 1 for at sende.</Say></Gather>"
                                  "<Say>Farvel.</Say><Hangup/></Response>";
static const char tw_confirm[] =
    "<Response><Say language=\"da-DK\">Tak. Din henvendelse har nummer K7FQ2.</Say>"
    "<Pause length=\"1\"/><Hangup/></Response>";
static const char tw_again[] =
    "<Response><Say language=\"da-DK\">Farvel.</Say><Hangup/></Response>";
static const char tw_outbound[] =
    "<Response><Gather numDigits=\"1\" action=\"" TW "/outbound-ack?ticket=K7FQ2\">"
    "<Say language=\"da-DK\">Ny henvendelse K7FQ2. Tryk 1 for at tage den.</Say></Gather>"
    "<Hangup/></Response>";
static const char tw_outbound_ack[] =
    "<Response><Say language=\"da-DK\">Du har taget K7FQ2.</Say><Hangup/></Response>";

/* The 46elks actions. */
#define EL "https://careline.example.dk/hooks/46elks/" ELKS_PATH "/voice"
#define AU "https://careline.example.dk/audio/"
static const char el_main[] = "{\"ivr\": \"" AU "menu.wav\", \"digits\": 1, \"timeout\": 10,"
                              " \"repeat\": 2, \"next\": \"" EL "/menu\"}";
static const char el_menu[] =
    "{\"play\": \"" AU "beep.wav\", \"next\": {\"record\": \"" EL "/recorded\", \"timelimit\": 60,"
    " \"silencedetection\": \"no\", \"next\": \"" EL "/after-record\"}}";
static const char el_menu_failed[] = "{\"play\": \"" AU "bye.wav\"}";
static const char el_after[] =
    "{\"ivr\": \"" AU "confirm.wav\", \"digits\": 1, \"2\": {\"play\": \"" AU "bye.wav\","
    " \"next\": \"" EL "/bye\"}, \"3\": \"" EL "/three\", \"next\": \"" EL "/confirm\"}";
static const char el_confirm[] = "{\"play\": \"" AU "thanks.wav\", \"next\": {\"hangup\": \"\"}}";
static const char el_bye[] = "{\"play\": \"" AU "bye.wav\"}";
static const char el_three[] = "{\"hangup\": \"reject\"}";
static const char el_outbound[] =
    "{\"ivr\": \"" AU "alert.wav\", \"digits\": 1, \"next\": \"" EL "/outbound-ack\"}";
static const char el_outbound_ack[] =
    "{\"play\": \"" AU "thanks.wav\", \"next\": {\"hangup\": \"\"}}";

struct route {
	const char *path; /* after /hooks/twilio/voice or /hooks/46elks/{secret}/voice */
	const char *body;
};

static const struct route tw_routes[] = {
    {"/menu", tw_menu},   {"/recorded", tw_recorded}, {"/confirm", tw_confirm},
    {"/again", tw_again}, {"/outbound", tw_outbound}, {"/outbound-ack", tw_outbound_ack},
    {"/status", ""},      {"/recording", ""},         {"/call-status", ""},
};

static const struct route el_routes[] = {
    {"/menu", el_menu},
    {"/recorded", ""},
    {"/after-record", el_after},
    {"/confirm", el_confirm},
    {"/bye", el_bye},
    {"/three", el_three},
    {"/outbound", el_outbound},
    {"/outbound-ack", el_outbound_ack},
    {"/hangup", ""},
    {"/whenhangup", ""},
};

static enum MHD_Result rx_answer(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const void *body, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result rx_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct rx_conn *k = *con_cls;
	if (!k) {
		*con_cls = calloc(1, sizeof(struct rx_conn));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		char *b = realloc(k->body, k->len + *upload_size + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + k->len, upload, *upload_size);
		k->body = b;
		k->len += *upload_size;
		b[k->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	if (strncmp(url, "/audio/", 7) == 0) {
		pthread_mutex_lock(&rx.mu);
		rx.audio_gets++;
		pthread_mutex_unlock(&rx.mu);
		if (strcmp(url, "/audio/missing.wav") == 0)
			return rx_answer(c, 404, "text/plain", "nope", 4);
		if (strcmp(url, "/audio/text.wav") == 0)
			return rx_answer(c, 200, "audio/x-wav", "not a wav", 9);
		return rx_answer(c, 200, "audio/x-wav", rx.wav, rx.wav_len);
	}

	pthread_mutex_lock(&rx.mu);
	if (rx.n_hits == rx.cap_hits) {
		rx.cap_hits = rx.cap_hits ? rx.cap_hits * 2 : 64;
		rx.hits = realloc(rx.hits, rx.cap_hits * sizeof(*rx.hits));
	}
	struct hit *h = &rx.hits[rx.n_hits++];
	memset(h, 0, sizeof(*h));
	snprintf(h->method, sizeof(h->method), "%s", method);
	snprintf(h->path, sizeof(h->path), "%s", url);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, h->query);
	h->body = strdup(k->body ? k->body : "");
	h->sig = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Twilio-Signature"));
	h->idem = dup_or_null(
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "I-Twilio-Idempotency-Token"));
	h->authz = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
	char signed_url[600];
	snprintf(signed_url, sizeof(signed_url), "%s%s%s%s", PUBLIC, url, h->query[0] ? "?" : "",
	         h->query);
	h->sig_ok = sig_ok(signed_url, h->body, h->sig);
	char *want = basic(HOOK_USER, HOOK_PW);
	h->auth_ok = streq(h->authz, want);
	free(want);
	bool twilio = rx.twilio, ok = twilio ? h->sig_ok : h->auth_ok;
	enum mode mode = rx.mode;
	const char *doc = rx.doc, *doc_ctype = rx.doc_ctype;
	char result[64] = "";
	form_value(h->body, "result", result, sizeof(result));
	pthread_mutex_unlock(&rx.mu);

	if (!ok) /* as careline does */
		return rx_answer(c, 403, "text/plain", "forbidden", 9);
	const char *prefix = twilio ? "/hooks/twilio/voice" : "/hooks/46elks/" ELKS_PATH "/voice";
	const char *ctype = twilio ? "text/xml; charset=utf-8" : "application/json";
	if (strncmp(url, prefix, strlen(prefix)) != 0)
		return rx_answer(c, 404, "text/plain", "not found", 9);
	const char *rest = url + strlen(prefix);
	if (!*rest) {
		switch (mode) {
		case M_NORMAL:
			break;
		case M_DOC:
			return rx_answer(c, 200, doc_ctype, doc, strlen(doc));
		case M_500:
			return rx_answer(c, 500, "text/plain", "boom", 4);
		case M_CTYPE:
			ctype = "text/html";
			break;
		}
		const char *body = twilio ? tw_main : el_main;
		return rx_answer(c, 200, ctype, body, strlen(body));
	}
	if (!twilio && strcmp(rest, "/menu") == 0 && strcmp(result, "failed") == 0)
		return rx_answer(c, 200, ctype, el_menu_failed, strlen(el_menu_failed));
	const struct route *routes = twilio ? tw_routes : el_routes;
	size_t n = twilio ? sizeof(tw_routes) / sizeof(tw_routes[0])
	                  : sizeof(el_routes) / sizeof(el_routes[0]);
	for (size_t i = 0; i < n; i++)
		if (strcmp(rest, routes[i].path) == 0)
			return rx_answer(c, 200, routes[i].body[0] ? ctype : "text/plain",
			                 routes[i].body, strlen(routes[i].body));
	return rx_answer(c, 404, "text/plain", "not found", 9);
}

static void rx_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct rx_conn *k = *con_cls;
	if (k) {
		free(k->body);
		free(k);
	}
}

static void rx_clear(void)
{
	pthread_mutex_lock(&rx.mu);
	for (size_t i = 0; i < rx.n_hits; i++) {
		free(rx.hits[i].body);
		free(rx.hits[i].sig);
		free(rx.hits[i].idem);
		free(rx.hits[i].authz);
	}
	rx.n_hits = 0;
	rx.audio_gets = 0;
	rx.mode = M_NORMAL;
	pthread_mutex_unlock(&rx.mu);
}

static void rx_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	rx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                        rx_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_NOTIFY_COMPLETED, rx_completed, NULL, MHD_OPTION_END);
	if (!rx.d)
		hx_fail("cannot start the careline stand-in");
	rx.port = MHD_get_daemon_info(rx.d, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(rx.base, sizeof(rx.base), "http://127.0.0.1:%u", rx.port);
	rx.wav = fv_make_wav(250, &rx.wav_len);
}

static void rx_stop(void)
{
	MHD_stop_daemon(rx.d);
	rx_clear();
	free(rx.hits);
	free(rx.wav);
}

static void rx_mode(enum mode m, const char *doc, const char *ctype)
{
	pthread_mutex_lock(&rx.mu);
	rx.mode = m;
	rx.doc = doc;
	rx.doc_ctype = ctype;
	pthread_mutex_unlock(&rx.mu);
}

static size_t rx_count(void)
{
	pthread_mutex_lock(&rx.mu);
	size_t n = rx.n_hits;
	pthread_mutex_unlock(&rx.mu);
	return n;
}

/* A copy of hit i (strings borrowed: valid until rx_clear). */
static struct hit rx_hit(size_t i)
{
	pthread_mutex_lock(&rx.mu);
	HX_CHECK(i < rx.n_hits, "hit %zu of %zu", i, rx.n_hits);
	struct hit h = rx.hits[i];
	pthread_mutex_unlock(&rx.mu);
	return h;
}

/* Every hit so far passed the stand-in's own check (signature / basic auth). */
static void check_all_authentic(const char *what)
{
	pthread_mutex_lock(&rx.mu);
	for (size_t i = 0; i < rx.n_hits; i++) {
		const struct hit *h = &rx.hits[i];
		bool ok = rx.twilio ? h->sig_ok : h->auth_ok;
		CHECK(ok, "%s: hit %zu %s %s not authentic (sig %s, authz %s)", what, i, h->method,
		      h->path, h->sig ? h->sig : "-", h->authz ? h->authz : "-");
	}
	pthread_mutex_unlock(&rx.mu);
}

/* The paths the stand-in saw (after the provider's prefix), joined by ' '. */
static void rx_paths(char *out, size_t len)
{
	pthread_mutex_lock(&rx.mu);
	out[0] = '\0';
	const char *prefix =
	    rx.twilio ? "/hooks/twilio/voice" : "/hooks/46elks/" ELKS_PATH "/voice";
	for (size_t i = 0; i < rx.n_hits; i++) {
		const char *p = rx.hits[i].path;
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			p += strlen(prefix);
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%s%s", n ? " " : "", *p ? p : "/");
	}
	pthread_mutex_unlock(&rx.mu);
}

static void check_field(const struct fv_request *r, const char *name, const char *want)
{
	const char *v = fv_request_param(r, name);
	CHECK(want ? streq(v, want) : v == NULL, "%s: field %s = %s, want %s", r->url, name,
	      v ? v : "(none)", want ? want : "(none)");
}

/* --- a little REST client (GET/DELETE with binary bodies) --------------------------------- */

struct got {
	long status;
	char *body;
	size_t len;
	char *ctype;
};

static size_t got_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct got *g = ud;
	size_t n = size * nmemb;
	g->body = realloc(g->body, g->len + n + 1);
	memcpy(g->body + g->len, p, n);
	g->len += n;
	g->body[g->len] = '\0';
	return n;
}

static struct got rest(const char *method, const char *url, const char *user, const char *pass)
{
	struct got g = {0};
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, got_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
	}
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g.status);
		char *ct = NULL;
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		g.ctype = dup_or_null(ct);
	}
	curl_easy_cleanup(h);
	return g;
}

static void got_free(struct got *g)
{
	free(g->body);
	free(g->ctype);
}

static long json_code(const char *body)
{
	json_t *o = json_loads(body ? body : "", 0, NULL);
	long code = (long)json_integer_value(json_object_get(o, "code"));
	json_decref(o);
	return code;
}

/* A port nobody listens on. */
static unsigned dead_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	socklen_t len = sizeof(sa);
	getsockname(s, (struct sockaddr *)&sa, &len);
	close(s);
	return ntohs(sa.sin_port);
}

static struct fv *voice_start(const char *provider)
{
	bool twilio = strcmp(provider, "twilio") == 0;
	struct fv *v = twilio ? fv_start("twilio", TW_ACCOUNT, TW_TOKEN)
	                      : fv_start("46elks", ELKS_USER, ELKS_SECRET);
	fv_set_careline(v, rx.base, twilio ? NULL : ELKS_PATH);
	fv_set_public_url(v, PUBLIC);
	if (!twilio)
		fv_set_hook_auth(v, HOOK_USER, HOOK_PW);
	rx_clear();
	rx.twilio = twilio;
	return v;
}

/* --- Twilio ---------------------------------------------------------------------------- */

static void test_twilio_whole_call(struct fv *v, const void *audio, size_t audio_len)
{
	char hook[256];
	fv_hook_url(v, FV_HOOK_VOICE, hook, sizeof(hook));
	CHECK(streq(hook, PUBLIC "/hooks/twilio/voice"), "%s", hook);
	fv_hook_url(v, FV_HOOK_STATUS, hook, sizeof(hook));
	CHECK(streq(hook, PUBLIC "/hooks/twilio/voice/status"), "%s", hook);

	struct fv_input in[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(audio, audio_len, 7),
	                        FV_IN_DIGITS("1#")};
	struct fv_call *c;
	int64_t t0 = hx_now_ms();
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, in, 3, &c) == 0, "%s",
	      fv_call_transcript(c)->error);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_HANGUP_VERB, "end %s", fv_end_name(t->end));
	CHECK(is_hex_id(t->call_id, "CA") && streq(t->call_id, fv_call_id(c)));
	CHECK(streq(t->direction, "inbound") && streq(t->from, CALLER) && streq(t->to, OUR_NUMBER));
	char paths[512];
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ /menu /recorded /recording /confirm /status"), "paths: %s", paths);
	check_all_authentic("twilio whole call");
	CHECK(t->n_requests == 6 && t->round_trips == 4, "%zu requests, %zu round trips",
	      t->n_requests, t->round_trips);

	/* what was said and played, in order */
	CHECK(t->n_says == 5, "%zu says: %s", t->n_says, fv_spoken_text(c));
	CHECK(streq(t->says[0].text, "Velkommen til careline & tak.") &&
	      streq(t->says[0].language, "da-DK") && streq(t->says[0].voice, "Polly.Naja") &&
	      t->says[0].loop == 1);
	CHECK(fv_said(c, "indtale en besked") && fv_said(c, "K7FQ2") && !fv_said(c, "hørte ikke"));
	CHECK(streq(fv_spoken_text(c), "Velkommen til careline & tak.\nTryk 1 for at indtale en "
	                               "besked.\nIndtal din besked efter tonen.\nTryk 1 for at "
	                               "sende.\nTak. Din henvendelse har nummer K7FQ2."),
	      "%s", fv_spoken_text(c));
	CHECK(t->n_plays == 1 && t->plays[0].status == 200 && t->plays[0].wav &&
	      t->plays[0].bytes == rx.wav_len &&
	      streq(t->plays[0].url, PUBLIC "/audio/prompt.wav"));
	CHECK(t->n_inputs == 3 && streq(t->inputs[0].digits, "1") &&
	      streq(t->inputs[0].verb, "Gather") && t->inputs[1].kind == FV_RECORD &&
	      t->inputs[1].duration_s == 7 && streq(t->inputs[1].verb, "Record") &&
	      streq(t->inputs[2].digits, "1"));
	/* events in order: say, say, play, input, request(menu), ... */
	CHECK(t->n_events > 10 && t->events[0].kind == FV_EV_REQUEST &&
	      t->events[1].kind == FV_EV_SAY && t->events[3].kind == FV_EV_PLAY &&
	      t->events[4].kind == FV_EV_INPUT);
	bool pause = false;
	for (size_t i = 0; i < t->n_events; i++)
		pause |= t->events[i].kind == FV_EV_PAUSE && t->events[i].index == 1;
	CHECK(pause, "the Pause is in the events");

	/* the webhooks' fields */
	const struct fv_request *r = &t->requests[0];
	CHECK(r->kind == FV_REQ_START && streq(r->method, "POST"));
	CHECK(streq(r->url, PUBLIC "/hooks/twilio/voice") &&
	      strncmp(r->sent_to, rx.base, strlen(rx.base)) == 0);
	check_field(r, "CallStatus", "ringing");
	check_field(r, "Direction", "inbound");
	check_field(r, "AccountSid", TW_ACCOUNT);
	check_field(r, "ApiVersion", "2010-04-01");
	check_field(r, "CallSid", t->call_id);
	check_field(r, "From", CALLER);
	check_field(r, "Caller", CALLER);
	check_field(r, "To", OUR_NUMBER);
	check_field(r, "Called", OUR_NUMBER);
	check_field(r, "FromCountry", "DK");
	check_field(r, "ToCountry", "DK");
	check_field(r, "Digits", NULL);
	CHECK(r->status == 200 && strstr(r->content_type, "text/xml") &&
	      strstr(r->response, "<Gather"));
	CHECK(r->sent_ms > 0 && r->sent_ms >= t0 && r->done_ms >= r->sent_ms && r->elapsed_us > 0);
	r = &t->requests[1];
	CHECK(r->kind == FV_REQ_ACTION && streq(r->url, TW "/menu?step=1"));
	check_field(r, "CallStatus", "in-progress");
	check_field(r, "Digits", "1");
	r = &t->requests[2];
	CHECK(streq(r->url, TW "/recorded?x=1&y=2"), "relative action: %s", r->url);
	const char *rec_url = fv_request_param(r, "RecordingUrl");
	const char *rec_sid = fv_request_param(r, "RecordingSid");
	char want_url[300];
	snprintf(want_url, sizeof(want_url), "%s/2010-04-01/Accounts/%s/Recordings/%s",
	         fv_base_url(v), TW_ACCOUNT, rec_sid ? rec_sid : "?");
	CHECK(is_hex_id(rec_sid, "RE") && streq(rec_url, want_url), "%s", rec_url);
	check_field(r, "RecordingDuration", "7");
	check_field(r, "Digits", "#");
	r = &t->requests[3];
	CHECK(r->kind == FV_REQ_RECORDING && streq(r->url, TW "/recording"));
	check_field(r, "RecordingSid", rec_sid);
	check_field(r, "RecordingUrl", rec_url);
	check_field(r, "RecordingStatus", "completed");
	check_field(r, "RecordingDuration", "7");
	check_field(r, "RecordingChannels", "1");
	check_field(r, "RecordingSource", "RecordVerb");
	check_field(r, "CallSid", t->call_id);
	CHECK(fv_request_param(r, "RecordingStartTime") &&
	          strstr(fv_request_param(r, "RecordingStartTime"), " +0000") &&
	          strstr(r->body, "RecordingStartTime=") && strstr(r->body, "+%2B0000"),
	      "RFC 2822, spaces as '+': %s", r->body);
	r = &t->requests[4];
	check_field(r, "Digits", "1"); /* the finish key stripped */
	r = &t->requests[5];
	CHECK(r->kind == FV_REQ_STATUS && streq(r->url, PUBLIC "/hooks/twilio/voice/status"));
	check_field(r, "CallStatus", "completed");
	char dur[16];
	snprintf(dur, sizeof(dur), "%d", t->duration_s);
	check_field(r, "CallDuration", dur);
	CHECK(t->duration_s >= 7);
	CHECK(t->recordings && t->n_recordings == 1);

	/* the recording through the REST API: auth, formats, delete */
	struct fv_recording rec;
	CHECK(fv_recording_get(v, t->recordings[0], &rec) && streq(rec.id, rec_sid) &&
	      streq(rec.url, rec_url) && rec.len == audio_len &&
	      memcmp(rec.audio, audio, audio_len) == 0 && rec.duration_s == 7 && !rec.deleted &&
	      streq(rec.call_id, t->call_id));
	CHECK(fv_recording_find(v, rec_sid) == (long)t->recordings[0]);
	char url[400];
	snprintf(url, sizeof(url), "%s.wav", rec_url);
	struct got g = rest("GET", url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 200 && g.len == audio_len && memcmp(g.body, audio, audio_len) == 0 &&
	          streq(g.ctype, "audio/x-wav"),
	      "GET .wav: %ld", g.status);
	got_free(&g);
	g = rest("GET", rec_url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 200 && g.len == audio_len, "GET without extension: %ld", g.status);
	got_free(&g);
	snprintf(url, sizeof(url), "%s.mp3", rec_url);
	g = rest("GET", url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 200 && g.len == audio_len && streq(g.ctype, "audio/mpeg"));
	got_free(&g);
	g = rest("GET", url, NULL, NULL);
	CHECK(g.status == 401 && json_code(g.body) == 20003, "no auth: %ld %s", g.status, g.body);
	got_free(&g);
	g = rest("GET", url, TW_ACCOUNT, "wrong");
	CHECK(g.status == 401 && json_code(g.body) == 20003);
	got_free(&g);
	snprintf(url, sizeof(url), "%s.json", rec_url);
	g = rest("GET", url, TW_ACCOUNT, TW_TOKEN);
	json_t *o = json_loads(g.body ? g.body : "", 0, NULL);
	CHECK(g.status == 200 && streq(json_string_value(json_object_get(o, "sid")), rec_sid) &&
	      streq(json_string_value(json_object_get(o, "call_sid")), t->call_id));
	json_decref(o);
	got_free(&g);
	CHECK(fv_deletes(v) == 0);
	g = rest("DELETE", url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 204 && g.len == 0, "DELETE: %ld", g.status);
	got_free(&g);
	CHECK(fv_deletes(v) == 1 && fv_recording_get(v, t->recordings[0], &rec) && rec.deleted &&
	          rec.fetches == 3,
	      "fetches %d", rec.fetches);
	g = rest("DELETE", url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 404 && json_code(g.body) == 20404, "second DELETE: %ld", g.status);
	got_free(&g);
	snprintf(url, sizeof(url), "%s.wav", rec_url);
	g = rest("GET", url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 404 && json_code(g.body) == 20404, "GET deleted: %ld", g.status);
	got_free(&g);
	snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Recordings/RE%032d.wav",
	         fv_base_url(v), TW_ACCOUNT, 0);
	g = rest("GET", url, TW_ACCOUNT, TW_TOKEN);
	CHECK(g.status == 404, "unknown recording: %ld", g.status);
	got_free(&g);
	fv_call_free(c);
}

static void test_twilio_paths(struct fv *v, const void *audio, size_t audio_len)
{
	char paths[512];
	struct fv_call *c;

	/* silence at the Gather: on with the verbs after it, Redirect, Hangup */
	rx_clear();
	struct fv_input silence[] = {FV_IN_SILENCE};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, silence, 1, &c) == 0);
	const struct fv_transcript *t = fv_call_transcript(c);
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ /again /status"), "silence: %s", paths);
	CHECK(t->end == FV_END_HANGUP_VERB && fv_said(c, "hørte ikke") && fv_said(c, "Farvel"));
	CHECK(t->n_inputs == 1 && t->inputs[0].kind == FV_SILENCE && t->round_trips == 2);
	check_field(&t->requests[1], "Digits", NULL);
	check_field(&t->requests[1], "CallStatus", "in-progress");
	fv_call_free(c);

	/* step by step: repost a webhook, then hang up while recording */
	rx_clear();
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	CHECK(!fv_call_ended(c) && streq(fv_call_waiting(c), "Gather"));
	CHECK(fv_call_repost_last(c) == 200);
	t = fv_call_transcript(c);
	CHECK(t->n_requests == 2 && t->requests[1].kind == FV_REQ_REPOST &&
	      t->requests[1].repost_of == 0 && t->round_trips == 1);
	CHECK(streq(t->requests[0].body, t->requests[1].body) &&
	      streq(t->requests[0].response, t->requests[1].response));
	struct hit h0 = rx_hit(0), h1 = rx_hit(1);
	CHECK(rx_count() == 2 && streq(h0.body, h1.body) && streq(h0.sig, h1.sig) &&
	          streq(h0.idem, h1.idem) && h0.idem && streq(h0.path, h1.path),
	      "the repost is byte-identical");
	CHECK(fv_call_input(c, &FV_IN_DIGITS("1")) == 0 && streq(fv_call_waiting(c), "Record"));
	CHECK(fv_call_input(c, &FV_IN_RECORD_HANGUP(audio, audio_len, 3)) == 0 && fv_call_ended(c));
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_CALLER_HANGUP && !fv_call_waiting(c));
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ / /menu /recorded /recording /status"), "record-hangup: %s", paths);
	const struct fv_request *r = &t->requests[3];
	check_field(r, "Digits", "hangup");
	check_field(r, "RecordingDuration", "3");
	CHECK(fv_call_input(c, &FV_IN_DIGITS("1")) == -1, "input after the end");
	/* a repost after the end sends the status callback again */
	CHECK(fv_call_repost_last(c) == 200 && rx_count() == 7);
	t = fv_call_transcript(c);
	CHECK(t->requests[t->n_requests - 1].kind == FV_REQ_REPOST &&
	      t->requests[t->requests[t->n_requests - 1].repost_of].kind == FV_REQ_STATUS);
	fv_call_free(c);

	/* silence at a Record: an empty recording, the action still posted */
	rx_clear();
	struct fv_input empty[] = {FV_IN_DIGITS("1"), FV_IN_SILENCE, FV_IN_HANGUP};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, empty, 3, &c) == 0);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_CALLER_HANGUP && t->n_inputs == 3);
	check_field(&t->requests[2], "RecordingDuration", "0");
	check_field(&t->requests[2], "Digits", NULL);
	struct fv_recording rec;
	CHECK(fv_recording_get(v, t->recordings[0], &rec) && rec.len == 44 && rec.duration_s == 0);
	fv_call_free(c);

	/* the caller hangs up at the first Gather; a script that runs out; a wrong input */
	rx_clear();
	struct fv_input hang[] = {FV_IN_HANGUP, FV_IN_DIGITS("9")};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, hang, 2, &c) == 0);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_CALLER_HANGUP && t->n_requests == 2 && !t->script_exhausted &&
	      t->requests[1].kind == FV_REQ_STATUS);
	fv_call_free(c);
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c) == 0);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_CALLER_HANGUP && t->script_exhausted && t->n_inputs == 0);
	fv_call_free(c);
	struct fv_input wrong[] = {FV_IN_RECORD(NULL, 0, 4)};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, wrong, 1, &c) == -1);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_SCRIPT_ERROR && strstr(t->error, "Gather"), "%s", t->error);
	fv_call_free(c);
	/* a recording without audio is a generated WAV of its duration */
	struct fv_input gen[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(NULL, 0, 2), FV_IN_HANGUP};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, gen, 3, NULL) == 0);
	CHECK(fv_recording_get(v, fv_recording_count(v) - 1, &rec) && rec.len == 44 + 16000 &&
	      memcmp(rec.audio, "RIFF", 4) == 0);
	/* the run without *out still ran */
	CHECK(fv_recording_count(v) >= 4);
}

struct doc_case {
	const char *doc;
	const char *ctype;
	enum fv_end end;
	const char *error; /* substring, NULL when none */
};

static void test_twilio_documents(struct fv *v)
{
	static const struct doc_case cases[] = {
	    {"<Response><Say>x</Gather></Response>", "text/xml", FV_END_ERROR, "mismatched"},
	    {"<Response><Say>x</Say>", "text/xml", FV_END_ERROR, "not closed"},
	    {"<Response><Say a=\"1\" a=\"2\">x</Say></Response>", "text/xml", FV_END_ERROR,
	     "duplicate attribute"},
	    {"<Response><Say>&nbsp;</Say></Response>", "text/xml", FV_END_ERROR, "unknown entity"},
	    {"<Response><Say>a & b</Say></Response>", "text/xml", FV_END_ERROR, "entity"},
	    {"<Response><Say a=1>x</Say></Response>", "text/xml", FV_END_ERROR, "unquoted"},
	    {"<Response/><Response/>", "text/xml", FV_END_ERROR, "after the root"},
	    {"<Response><Say>x</Say></Response>trailing", "text/xml", FV_END_ERROR,
	     "after the root"},
	    {"", "text/xml", FV_END_ERROR, "no root"},
	    {"<?xml version=\"1.0\"?>", "text/xml", FV_END_ERROR, "no root"},
	    {"<!DOCTYPE x><Response/>", "text/xml", FV_END_ERROR, "DOCTYPE"},
	    {"<Foo/>", "text/xml", FV_END_ERROR, "want <Response>"},
	    {"<Response><Dial>+4512345678</Dial></Response>", "text/xml", FV_END_ERROR,
	     "unsupported TwiML verb <Dial>"},
	    {"<Response>hello</Response>", "text/xml", FV_END_ERROR, "text outside a verb"},
	    {"<Response><Gather><Record/></Gather></Response>", "text/xml", FV_END_ERROR,
	     "inside <Gather>"},
	    {"<Response><Say>x</Say></Response>", "text/html", FV_END_ERROR, "Content-Type"},
	    {"<Response><Play>" PUBLIC "/audio/missing.wav</Play></Response>", "text/xml",
	     FV_END_ERROR, "HTTP status not 200"},
	    {"<Response><Play>/audio/text.wav</Play></Response>", "text/xml", FV_END_ERROR,
	     "not a RIFF/WAVE"},
	    {"<Response/>", "application/xml", FV_END_DOCUMENT, NULL},
	    {"<?xml version='1.0' encoding='UTF-8'?>\n<!-- c -->\n<Response>\n <Say>hi</Say>\n"
	     "</Response>\n<!-- end -->\n",
	     "text/xml;charset=UTF-8", FV_END_DOCUMENT, NULL},
	    {"\xEF\xBB\xBF<Response><Hangup/><Say>never</Say></Response>", "TEXT/XML",
	     FV_END_HANGUP_VERB, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct doc_case *k = &cases[i];
		rx_clear();
		rx_mode(M_DOC, k->doc, k->ctype);
		struct fv_call *c;
		int rc = fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c);
		const struct fv_transcript *t = fv_call_transcript(c);
		CHECK(t->end == k->end, "case %zu %s: end %s (%s)", i, k->doc, fv_end_name(t->end),
		      t->error ? t->error : "");
		CHECK(rc == (k->end == FV_END_ERROR ? -1 : 0), "case %zu rc %d", i, rc);
		CHECK(k->error ? t->error && strstr(t->error, k->error) : !t->error,
		      "case %zu: error \"%s\", want \"%s\"", i, t->error ? t->error : "",
		      k->error ? k->error : "");
		CHECK(t->requests[t->n_requests - 1].kind == FV_REQ_STATUS,
		      "case %zu: the status callback still goes out", i);
		CHECK(!fv_said(c, "never"));
		fv_call_free(c);
	}

	/* entities, CDATA, single quotes, relative Play, loops */
	static const char tricky[] =
	    "<?xml version='1.0' encoding='UTF-8'?>\n<!-- careline -->\n<Response>\n"
	    "  <Say language='da-DK' loop=\"2\">&#229;&#xE6;&#248; &lt;b&gt; &quot;q&quot; "
	    "&apos;a&apos; <![CDATA[<raw> & stuff]]></Say>\n"
	    "  <Pause length=\"2\"/>\n  <Play loop=\"3\">/audio/prompt.wav</Play>\n"
	    "  <Hangup/>\n</Response>";
	rx_clear();
	rx_mode(M_DOC, tricky, "application/xml; charset=utf-8");
	struct fv_call *c;
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c) == 0);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_HANGUP_VERB && t->n_says == 1, "%s", t->error);
	CHECK(streq(t->says[0].text, "åæø <b> \"q\" 'a' <raw> & stuff") && t->says[0].loop == 2,
	      "%s", t->says[0].text);
	CHECK(t->n_plays == 1 && t->plays[0].times == 3 &&
	      streq(t->plays[0].url, PUBLIC "/audio/prompt.wav") && t->plays[0].wav);
	fv_call_free(c);

	/* careline answers 500, the wrong content type, or is not there */
	rx_clear();
	rx_mode(M_500, NULL, NULL);
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c) == -1);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_ERROR && strstr(t->error, "HTTP 500"), "%s", t->error);
	CHECK(t->requests[0].status == 500 && streq(t->requests[0].response, "boom"));
	fv_call_free(c);
	rx_mode(M_CTYPE, NULL, NULL);
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c) == -1);
	CHECK(strstr(fv_call_transcript(c)->error, "text/html"));
	fv_call_free(c);
	rx_mode(M_NORMAL, NULL, NULL);
	char dead[64];
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", dead_port());
	fv_set_careline(v, dead, NULL);
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c) == -1);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_ERROR && strstr(t->error, "unreachable") &&
	          t->requests[0].status == 0 && t->requests[0].error,
	      "%s", t->error);
	fv_call_free(c);
	fv_set_careline(v, rx.base, NULL);
}

static void test_twilio_tampering(struct fv *v)
{
	struct fv_call *c;
	/* the first request's signature broken: careline's 403 ends the call */
	rx_clear();
	struct fv_call_opts o = {
	    .from = CALLER, .to = OUR_NUMBER, .tamper_first = FP_TAMPER_SIGNATURE};
	c = fv_call_start_ex(v, &o);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_ERROR && strstr(t->error, "HTTP 403"), "%s", t->error);
	CHECK(t->requests[0].tamper == FP_TAMPER_SIGNATURE && t->requests[1].tamper == 0);
	struct hit h = rx_hit(0);
	CHECK(h.sig && !h.sig_ok && rx_hit(1).sig_ok, "only the first is forged");
	fv_call_free(c);

	/* mid-call: no signature on the next request only */
	rx_clear();
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	fv_call_tamper_next(c, FP_NO_SIGNATURE);
	CHECK(fv_call_input(c, &FV_IN_DIGITS("1")) == -1);
	t = fv_call_transcript(c);
	CHECK(t->requests[1].status == 403 && t->requests[2].status == 200);
	CHECK(rx_hit(1).sig == NULL && rx_hit(1).idem && rx_hit(2).sig_ok);
	fv_call_free(c);

	/* the fake's next two webhooks: another secret; then a wrong URL; then tampered Digits */
	rx_clear();
	fv_tamper_next(v, FP_WRONG_SECRET, 2);
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	t = fv_call_transcript(c);
	CHECK(t->requests[0].status == 403 && t->requests[1].status == 403 &&
	      t->requests[1].kind == FV_REQ_STATUS);
	fv_call_free(c);
	fv_tamper_next(v, FP_WRONG_URL, 1);
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	CHECK(fv_call_transcript(c)->requests[0].status == 403);
	fv_call_free(c);
	rx_clear();
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	fv_call_set_tamper(c, FP_TAMPER_BODY);
	CHECK(fv_call_input(c, &FV_IN_DIGITS("1")) == -1);
	t = fv_call_transcript(c);
	check_field(&t->requests[1], "Digits", "19");
	CHECK(t->requests[1].status == 403 && t->requests[2].status == 403 &&
	      t->requests[2].tamper == FP_TAMPER_BODY);
	fv_call_free(c);

	/* a raw callback for a CallSid careline never saw, signed and forged */
	rx_clear();
	char sid[40];
	fv_new_call_id(v, sid, sizeof(sid));
	CHECK(is_hex_id(sid, "CA"));
	struct fp_param p[] = {
	    {"AccountSid", TW_ACCOUNT}, {"CallSid", sid}, {"CallStatus", "completed"},
	    {"CallDuration", "12"},     {"From", CALLER}, {"To", OUR_NUMBER}};
	char hook[256], *body = NULL, *ct = NULL;
	fv_hook_url(v, FV_HOOK_STATUS, hook, sizeof(hook));
	CHECK(fv_post_webhook(v, hook, p, 6, 0, &body, &ct) == 200 && rx_hit(0).sig_ok);
	CHECK(strstr(rx_hit(0).body, sid) && body && streq(body, ""));
	free(body);
	free(ct);
	CHECK(fv_post_webhook(v, hook, p, 6, FP_TAMPER_SIGNATURE, NULL, NULL) == 403);
}

static void test_twilio_placed(struct fv *v)
{
	rx_clear();
	fv_answer_script(v, WORKER, (struct fv_input[]){FV_IN_DIGITS("1")}, 1);
	char url[256];
	snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Calls.json", fv_base_url(v),
	         TW_ACCOUNT);
	struct fp_param f[] = {{"To", WORKER},
	                       {"From", OUR_NUMBER},
	                       {"Url", TW "/outbound?ticket=K7FQ2"},
	                       {"StatusCallback", TW "/call-status"},
	                       {"StatusCallbackEvent", "initiated"},
	                       {"StatusCallbackEvent", "answered"},
	                       {"StatusCallbackEvent", "completed"},
	                       {"StatusCallbackMethod", "POST"},
	                       {"Timeout", "20"}};
	char *form = fp_form_encode(f, 9, true), *resp = NULL;
	size_t api0 = fv_api_requests(v);
	int st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, TW_ACCOUNT,
	                     TW_TOKEN, &resp, NULL);
	json_t *o = json_loads(resp ? resp : "", 0, NULL);
	const char *sid = json_string_value(json_object_get(o, "sid"));
	CHECK(st == 201 && is_hex_id(sid, "CA"), "%d %s", st, resp);
	CHECK(streq(json_string_value(json_object_get(o, "status")), "queued") &&
	      streq(json_string_value(json_object_get(o, "direction")), "outbound-api") &&
	      streq(json_string_value(json_object_get(o, "to")), WORKER) &&
	      streq(json_string_value(json_object_get(o, "from")), OUR_NUMBER) &&
	      streq(json_string_value(json_object_get(o, "api_version")), "2010-04-01") &&
	      streq(json_string_value(json_object_get(o, "account_sid")), TW_ACCOUNT) &&
	      json_string_value(json_object_get(o, "date_created")));
	char uri[256];
	snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s/Calls/%s.json", TW_ACCOUNT, sid);
	CHECK(streq(json_string_value(json_object_get(o, "uri")), uri));
	CHECK(fv_wait_placed(v, 1, 1000) && fv_api_requests(v) == api0 + 1);
	struct fv_placed pl;
	CHECK(fv_placed_get(v, 0, &pl) && streq(pl.id, sid) && streq(pl.to, WORKER) &&
	      streq(pl.from, OUR_NUMBER) && streq(pl.url, TW "/outbound?ticket=K7FQ2") &&
	      streq(pl.status_callback, TW "/call-status") &&
	      streq(pl.status_events, "initiated answered completed") && pl.timeout_s == 20 &&
	      pl.answered && streq(pl.method, "POST"));
	CHECK(fv_wait_placed_done(v, 0, 10000), "placed call 0 driven");
	const struct fv_call *c = fv_placed_call(v, 0);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_HANGUP_VERB && streq(t->call_id, sid), "%s %s", fv_end_name(t->end),
	      t->error ? t->error : "");
	CHECK(fv_said(c, "Tryk 1 for at tage den") && fv_said(c, "Du har taget K7FQ2"));
	CHECK(t->n_requests == 5, "%zu requests", t->n_requests);
	check_field(&t->requests[0], "CallStatus", "initiated");
	check_field(&t->requests[0], "SequenceNumber", "0");
	check_field(&t->requests[0], "CallbackSource", "call-progress-events");
	check_field(&t->requests[1], "CallStatus", "in-progress");
	check_field(&t->requests[1], "SequenceNumber", "1");
	CHECK(t->requests[2].kind == FV_REQ_START &&
	      streq(t->requests[2].url, TW "/outbound?ticket=K7FQ2"));
	check_field(&t->requests[2], "Direction", "outbound-api");
	check_field(&t->requests[2], "CallStatus", "in-progress");
	check_field(&t->requests[2], "From", OUR_NUMBER);
	check_field(&t->requests[2], "To", WORKER);
	check_field(&t->requests[3], "Digits", "1");
	CHECK(t->requests[4].kind == FV_REQ_STATUS);
	check_field(&t->requests[4], "CallStatus", "completed");
	check_field(&t->requests[4], "SequenceNumber", "2");
	CHECK(fv_request_param(&t->requests[4], "Timestamp"));
	check_all_authentic("twilio placed call");
	json_decref(o);
	free(resp);
	free(form);

	/* nobody answers: no-answer after the delay */
	rx_clear();
	fv_set_no_answer_delay(v, 300);
	f[0].value = WORKER_AWAY;
	form = fp_form_encode(f, 9, true);
	st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, TW_ACCOUNT,
	                 TW_TOKEN, NULL, NULL);
	CHECK(st == 201 && fv_wait_placed(v, 2, 1000));
	CHECK(fv_wait_placed_done(v, 1, 5000));
	CHECK(fv_placed_get(v, 1, &pl) && !pl.answered && pl.done);
	c = fv_placed_call(v, 1);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_NO_ANSWER && t->n_requests == 2 && t->n_says == 0);
	check_field(&t->requests[1], "CallStatus", "no-answer");
	check_field(&t->requests[1], "CallDuration", "0");
	CHECK(t->requests[1].sent_ms - pl.at_ms >= 300, "rang %lld ms",
	      (long long)(t->requests[1].sent_ms - pl.at_ms));
	CHECK(rx_count() == 2 && strstr(rx_hit(1).body, "CallStatus=no-answer"));
	free(form);

	/* an inline Twiml call without a status callback */
	struct fp_param f2[] = {{"To", WORKER},
	                        {"From", OUR_NUMBER},
	                        {"Twiml", "<Response><Say>Hej Anna</Say></Response>"}};
	form = fp_form_encode(f2, 3, true);
	CHECK(fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, TW_ACCOUNT,
	                  TW_TOKEN, NULL, NULL) == 201);
	CHECK(fv_wait_placed(v, 3, 1000) && fv_wait_placed_done(v, 2, 5000));
	c = fv_placed_call(v, 2);
	CHECK(fv_said(c, "Hej Anna") && fv_call_transcript(c)->end == FV_END_DOCUMENT &&
	      fv_call_transcript(c)->n_requests == 0);
	free(form);

	/* Twilio's refusals: not placed */
	resp = NULL;
	st = fp_post_raw(url, "application/x-www-form-urlencoded",
	                 "To=4520000003&From=%2B4570203040&Url=https%3A%2F%2Fx.dk%2F", 0, NULL, 0,
	                 TW_ACCOUNT, TW_TOKEN, &resp, NULL);
	CHECK(st == 400 && json_code(resp) == 21217 &&
	          strstr(resp, "Phone number does not appear to be valid"),
	      "%d %s", st, resp);
	free(resp);
	st = fp_post_raw(url, "application/x-www-form-urlencoded",
	                 "To=%2B4520000003&From=%2B4570203040", 0, NULL, 0, TW_ACCOUNT, TW_TOKEN,
	                 &resp, NULL);
	CHECK(st == 400 && json_code(resp) == 21205, "%d %s", st, resp);
	free(resp);
	st = fp_post_raw(url, "application/x-www-form-urlencoded", "To=%2B4520000003", 0, NULL, 0,
	                 TW_ACCOUNT, "wrong", &resp, NULL);
	CHECK(st == 401 && json_code(resp) == 20003, "%d %s", st, resp);
	free(resp);
	CHECK(fv_placed_count(v) == 3);
	fv_answer_clear(v, WORKER);
}

static void test_twilio(void)
{
	struct fv *v = voice_start("twilio");
	CHECK(streq(fv_provider(v), "twilio") &&
	      strncmp(fv_base_url(v), "http://127.0.0.1:", 17) == 0);
	size_t len;
	void *audio = fv_make_wav(900, &len);
	CHECK(len == 44 + 7200 && memcmp(audio, "RIFF", 4) == 0 &&
	      memcmp((char *)audio + 8, "WAVE", 4) == 0);
	test_twilio_whole_call(v, audio, len);
	test_twilio_paths(v, audio, len);
	test_twilio_documents(v);
	test_twilio_tampering(v);
	test_twilio_placed(v);
	free(audio);
	fv_stop(v);
}

/* --- 46elks ------------------------------------------------------------------------------ */

static void test_elks_calls(struct fv *v, const void *audio, size_t audio_len)
{
	char hook[256], paths[512];
	fv_hook_url(v, FV_HOOK_VOICE, hook, sizeof(hook));
	CHECK(streq(hook, PUBLIC "/hooks/46elks/" ELKS_PATH "/voice"), "%s", hook);

	/* ivr → play + nested record → ivr → play + nested hangup */
	struct fv_input in[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(audio, audio_len, 5),
	                        FV_IN_DIGITS("1")};
	struct fv_call *c;
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, in, 3, &c) == 0, "%s",
	      fv_call_transcript(c)->error);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_HANGUP_VERB, "end %s", fv_end_name(t->end));
	CHECK(is_hex_id(t->call_id, "c") && streq(t->direction, "incoming"));
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ /menu /recorded /after-record /confirm /hangup"), "paths: %s", paths);
	check_all_authentic("46elks whole call");
	CHECK(t->n_plays == 4 && streq(t->plays[0].url, AU "menu.wav") &&
	      streq(t->plays[1].url, AU "beep.wav") && streq(t->plays[2].url, AU "confirm.wav") &&
	      streq(t->plays[3].url, AU "thanks.wav") && t->plays[3].wav && t->n_says == 0);
	const struct fv_request *r = &t->requests[0];
	check_field(r, "direction", "incoming");
	check_field(r, "callid", t->call_id);
	check_field(r, "from", CALLER);
	check_field(r, "to", OUR_NUMBER);
	const char *created = fv_request_param(r, "created");
	CHECK(created && strlen(created) == 26 && created[10] == 'T' && created[19] == '.', "%s",
	      created);
	CHECK(strstr(r->body, "created=") && strstr(r->body, "%3A"), "%s", r->body);
	r = &t->requests[1];
	check_field(r, "callid", t->call_id);
	check_field(r, "result", "1");
	CHECK(r->n_params == 2);
	r = &t->requests[2];
	CHECK(r->kind == FV_REQ_RECORDING && streq(r->url, EL "/recorded"));
	check_field(r, "duration", "5");
	check_field(r, "from", CALLER);
	check_field(r, "to", OUR_NUMBER);
	const char *wav = fv_request_param(r, "wav");
	char want[300];
	struct fv_recording rec;
	CHECK(fv_recording_get(v, t->recordings[0], &rec));
	snprintf(want, sizeof(want), "%s/a1/recordings/%s.wav", fv_base_url(v), rec.id);
	CHECK(streq(wav, want) && is_hex_id(rec.id, "r") && rec.len == audio_len, "%s", wav);
	check_field(&t->requests[3], "result", "success");
	check_field(&t->requests[4], "result", "1");
	r = &t->requests[5];
	CHECK(r->kind == FV_REQ_STATUS && streq(r->url, EL "/hangup"));
	check_field(r, "state", "success");
	check_field(r, "direction", "incoming");
	check_field(r, "created", created);
	check_field(r, "start", created);
	CHECK(fv_request_param(r, "duration") && atoi(fv_request_param(r, "duration")) >= 5);

	/* the recording: auth, 404 */
	struct got g = rest("GET", wav, ELKS_USER, ELKS_SECRET);
	CHECK(g.status == 200 && g.len == audio_len && memcmp(g.body, audio, audio_len) == 0,
	      "GET wav: %ld", g.status);
	got_free(&g);
	g = rest("GET", wav, NULL, NULL);
	CHECK(g.status == 401 && streq(g.body, "Unauthorized"), "%ld %s", g.status, g.body);
	got_free(&g);
	g = rest("GET", wav, ELKS_USER, "wrong");
	CHECK(g.status == 401);
	got_free(&g);
	snprintf(want, sizeof(want), "%s/a1/recordings/r%032d.wav", fv_base_url(v), 0);
	g = rest("GET", want, ELKS_USER, ELKS_SECRET);
	CHECK(g.status == 404, "%ld", g.status);
	got_free(&g);
	CHECK(fv_recording_get(v, t->recordings[0], &rec) && rec.fetches == 1);
	fv_call_free(c);

	/* the "2" key: a nested object, then a next URL posted with result ok */
	rx_clear();
	struct fv_input two[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(NULL, 0, 2), FV_IN_DIGITS("2#")};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, two, 3, &c) == 0);
	t = fv_call_transcript(c);
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ /menu /recorded /after-record /bye /hangup"), "paths: %s", paths);
	CHECK(t->end == FV_END_DOCUMENT && t->n_plays == 5 && streq(t->plays[4].url, AU "bye.wav"));
	check_field(&t->requests[4], "result", "ok");
	fv_call_free(c);

	/* the "3" key: a URL posted with the digit */
	rx_clear();
	struct fv_input three[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(NULL, 0, 2), FV_IN_DIGITS("3")};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, three, 3, &c) == 0);
	t = fv_call_transcript(c);
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ /menu /recorded /after-record /three /hangup"), "paths: %s", paths);
	CHECK(t->end == FV_END_HANGUP_VERB);
	check_field(&t->requests[4], "result", "3");
	fv_call_free(c);

	/* silence at the ivr: repeated, then next with result=failed */
	rx_clear();
	struct fv_input quiet[] = {FV_IN_SILENCE};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, quiet, 1, &c) == 0);
	t = fv_call_transcript(c);
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ /menu /hangup"), "paths: %s", paths);
	CHECK(t->end == FV_END_DOCUMENT && t->plays[0].times == 2 && t->n_plays == 2);
	check_field(&t->requests[1], "result", "failed");
	fv_call_free(c);

	/* hang up while recording: the record URL, then whenhangup */
	rx_clear();
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	CHECK(streq(fv_call_waiting(c), "ivr"));
	CHECK(fv_call_repost_last(c) == 200);
	struct hit h0 = rx_hit(0), h1 = rx_hit(1);
	CHECK(streq(h0.body, h1.body) && streq(h0.authz, h1.authz) && h0.auth_ok,
	      "the 46elks repost is byte-identical");
	CHECK(fv_call_input(c, &FV_IN_DIGITS("1")) == 0 && streq(fv_call_waiting(c), "record"));
	CHECK(fv_call_input(c, &FV_IN_RECORD_HANGUP(audio, audio_len, 4)) == 0);
	t = fv_call_transcript(c);
	rx_paths(paths, sizeof(paths));
	CHECK(streq(paths, "/ / /menu /recorded /hangup"), "paths: %s", paths);
	CHECK(t->end == FV_END_CALLER_HANGUP);
	check_field(&t->requests[3], "duration", "4");
	fv_call_free(c);

	/* a wrong input is the script's error */
	struct fv_input wrong[] = {FV_IN_DIGITS("1"), FV_IN_DIGITS("1")};
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, wrong, 2, &c) == -1);
	CHECK(fv_call_transcript(c)->end == FV_END_SCRIPT_ERROR);
	fv_call_free(c);
}

static void test_elks_errors(struct fv *v)
{
	static const struct doc_case cases[] = {
	    {"{\"play\": ", "application/json", FV_END_ERROR, "malformed JSON"},
	    {"[1, 2]", "application/json", FV_END_ERROR, "not a JSON object"},
	    {"{\"connect\": \"+46700000000\"}", "application/json", FV_END_ERROR,
	     "unsupported 46elks action \"connect\""},
	    {"{\"ivr\": \"" AU "menu.wav\"}", "text/plain", FV_END_ERROR, "Content-Type"},
	    {"{\"play\": \"" AU "missing.wav\"}", "application/json", FV_END_ERROR, "play"},
	    {"{\"play\": \"" AU "bye.wav\", \"next\": 7}", "application/json", FV_END_ERROR,
	     "neither a URL"},
	    {"{\"play\": \"sound/beep\"}", "application/json; charset=utf-8", FV_END_DOCUMENT,
	     NULL},
	    {"{\"hangup\": \"busy\"}", "application/json", FV_END_HANGUP_VERB, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct doc_case *k = &cases[i];
		rx_clear();
		rx_mode(M_DOC, k->doc, k->ctype);
		struct fv_call *c;
		int rc = fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c);
		const struct fv_transcript *t = fv_call_transcript(c);
		CHECK(t->end == k->end && rc == (k->end == FV_END_ERROR ? -1 : 0),
		      "case %zu %s: end %s (%s)", i, k->doc, fv_end_name(t->end),
		      t->error ? t->error : "");
		CHECK(k->error ? t->error && strstr(t->error, k->error) : !t->error,
		      "case %zu: error \"%s\", want \"%s\"", i, t->error ? t->error : "",
		      k->error ? k->error : "");
		CHECK(t->requests[t->n_requests - 1].kind == FV_REQ_STATUS);
		fv_call_free(c);
	}
	rx_clear();
	struct fv_call *c;
	rx_mode(M_500, NULL, NULL);
	CHECK(fv_call_run(v, CALLER, OUR_NUMBER, NULL, 0, &c) == -1 &&
	      strstr(fv_call_transcript(c)->error, "HTTP 500"));
	fv_call_free(c);
	rx_mode(M_NORMAL, NULL, NULL);

	/* no basic auth; the wrong secret path segment; a wrong password on one request */
	rx_clear();
	struct fv_call_opts o = {.from = CALLER, .to = OUR_NUMBER, .tamper_first = FP_NO_SIGNATURE};
	c = fv_call_start_ex(v, &o);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_ERROR && strstr(t->error, "HTTP 403") && rx_hit(0).authz == NULL &&
	      rx_hit(1).auth_ok);
	fv_call_free(c);
	rx_clear();
	o.tamper_first = FP_WRONG_URL;
	c = fv_call_start_ex(v, &o);
	t = fv_call_transcript(c);
	CHECK(t->end == FV_END_ERROR && strstr(t->error, "HTTP 404") &&
	          strstr(rx_hit(0).path, "/hooks/46elks/wrong-secret/voice") && rx_hit(0).auth_ok,
	      "%s", rx_hit(0).path);
	fv_call_free(c);
	rx_clear();
	c = fv_call_start(v, CALLER, OUR_NUMBER);
	fv_call_tamper_next(c, FP_WRONG_SECRET);
	CHECK(fv_call_input(c, &FV_IN_DIGITS("1")) == -1 && !rx_hit(1).auth_ok && rx_hit(1).authz);
	fv_call_free(c);
}

static void test_elks_placed(struct fv *v)
{
	rx_clear();
	fv_answer_script(v, WORKER, (struct fv_input[]){FV_IN_DIGITS("1")}, 1);
	char url[256];
	snprintf(url, sizeof(url), "%s/a1/calls", fv_base_url(v));
	struct fp_param f[] = {{"from", OUR_NUMBER},
	                       {"to", WORKER},
	                       {"voice_start", EL "/outbound"},
	                       {"whenhangup", EL "/whenhangup"},
	                       {"timeout", "25"}};
	char *form = fp_form_encode(f, 5, false), *resp = NULL;
	int st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, ELKS_USER,
	                     ELKS_SECRET, &resp, NULL);
	json_t *o = json_loads(resp ? resp : "", 0, NULL);
	const char *id = json_string_value(json_object_get(o, "id"));
	CHECK(st == 200 && is_hex_id(id, "c") &&
	          streq(json_string_value(json_object_get(o, "state")), "ongoing") &&
	          streq(json_string_value(json_object_get(o, "direction")), "outgoing") &&
	          streq(json_string_value(json_object_get(o, "from")), OUR_NUMBER) &&
	          streq(json_string_value(json_object_get(o, "to")), WORKER) &&
	          json_string_value(json_object_get(o, "created")),
	      "%d %s", st, resp);
	CHECK(fv_wait_placed(v, 1, 1000) && fv_wait_placed_done(v, 0, 10000));
	struct fv_placed pl;
	CHECK(fv_placed_get(v, 0, &pl) && streq(pl.id, id) && streq(pl.url, EL "/outbound") &&
	      streq(pl.status_callback, EL "/whenhangup") && pl.timeout_s == 25 && pl.answered);
	const struct fv_call *c = fv_placed_call(v, 0);
	const struct fv_transcript *t = fv_call_transcript(c);
	CHECK(t->end == FV_END_HANGUP_VERB && streq(t->call_id, id), "%s",
	      t->error ? t->error : fv_end_name(t->end));
	CHECK(t->n_requests == 3 && streq(t->requests[0].url, EL "/outbound"));
	check_field(&t->requests[0], "direction", "outgoing");
	check_field(&t->requests[0], "from", OUR_NUMBER);
	check_field(&t->requests[0], "to", WORKER);
	check_field(&t->requests[1], "result", "1");
	check_field(&t->requests[2], "state", "success");
	check_field(&t->requests[2], "direction", "outgoing");
	CHECK(t->n_plays == 2 && streq(t->plays[0].url, AU "alert.wav"));
	check_all_authentic("46elks placed call");
	json_decref(o);
	free(resp);
	free(form);

	/* unanswered: whenhangup with state=failed, no start */
	rx_clear();
	fv_set_no_answer_delay(v, 50);
	f[1].value = WORKER_AWAY;
	form = fp_form_encode(f, 5, false);
	CHECK(fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, ELKS_USER,
	                  ELKS_SECRET, NULL, NULL) == 200);
	CHECK(fv_wait_placed(v, 2, 1000) && fv_wait_placed_done(v, 1, 5000));
	t = fv_call_transcript(fv_placed_call(v, 1));
	CHECK(t->end == FV_END_NO_ANSWER && t->n_requests == 1);
	check_field(&t->requests[0], "state", "failed");
	check_field(&t->requests[0], "start", NULL);
	check_field(&t->requests[0], "duration", "0");
	free(form);

	/* voice_start as a JSON action */
	rx_clear();
	struct fp_param f2[] = {
	    {"from", OUR_NUMBER},
	    {"to", WORKER},
	    {"voice_start", "{\"play\": \"" AU "bye.wav\", \"next\": \"" EL "/bye\"}"}};
	form = fp_form_encode(f2, 3, false);
	CHECK(fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, ELKS_USER,
	                  ELKS_SECRET, NULL, NULL) == 200);
	CHECK(fv_wait_placed(v, 3, 1000) && fv_wait_placed_done(v, 2, 5000));
	t = fv_call_transcript(fv_placed_call(v, 2));
	CHECK(t->end == FV_END_DOCUMENT && t->n_plays == 2 && t->n_requests == 1 &&
	          t->requests[0].kind == FV_REQ_ACTION,
	      "%s", t->error ? t->error : "");
	check_field(&t->requests[0], "result", "ok");
	free(form);

	/* refusals */
	resp = NULL;
	st = fp_post_raw(url, "application/x-www-form-urlencoded",
	                 "from=%2B4570203040&to=12345&voice_start=https%3A%2F%2Fx.dk%2F", 0, NULL,
	                 0, ELKS_USER, ELKS_SECRET, &resp, NULL);
	CHECK(st == 400 && resp && strstr(resp, "to"), "%d %s", st, resp);
	free(resp);
	st = fp_post_raw(url, "application/x-www-form-urlencoded", "from=x", 0, NULL, 0, ELKS_USER,
	                 "wrong", &resp, NULL);
	CHECK(st == 401 && streq(resp, "Unauthorized"), "%d %s", st, resp);
	free(resp);
	CHECK(fv_placed_count(v) == 3);
}

static void test_46elks(void)
{
	struct fv *v = voice_start("46elks");
	size_t len;
	void *audio = fv_make_wav(600, &len);
	test_elks_calls(v, audio, len);
	test_elks_errors(v);
	test_elks_placed(v);
	free(audio);
	fv_stop(v);
}

/* A placed call still ringing when the fake stops: fv_stop waits for it, nothing leaks. */
static void test_stop_while_ringing(void)
{
	struct fv *v = voice_start("twilio");
	fv_set_no_answer_delay(v, 10000);
	char url[256];
	snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Calls.json", fv_base_url(v),
	         TW_ACCOUNT);
	CHECK(fp_post_raw(url, "application/x-www-form-urlencoded",
	                  "To=%2B4520000002&From=%2B4570203040&Url=https%3A%2F%2Fx.dk%2F", 0, NULL,
	                  0, TW_ACCOUNT, TW_TOKEN, NULL, NULL) == 201);
	CHECK(fv_wait_placed(v, 1, 1000));
	int64_t t0 = hx_now_ms();
	fv_stop(v);
	CHECK(hx_now_ms() - t0 < 2000, "fv_stop took %lld ms", (long long)(hx_now_ms() - t0));
}

int main(void)
{
	hx_watchdog(120);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rx_start();
	test_twilio();
	test_46elks();
	test_stop_while_ringing();
	rx_stop();
	printf("[  PASSED  ] %d checks (fake voice providers: twilio, 46elks)\n", n_checks);
	return 0;
}
