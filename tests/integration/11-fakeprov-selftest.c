/*
 * tests/integration/11-fakeprov-selftest.c: the fake SMS provider checked on its own:
 * its signers reproduce every reference signature (tests/integration/files/), each fake
 * provider accepts a correct send, answers wrong auth with 401, records and injects
 * failures, and its webhooks reach a local receiver signed as documented. No careline.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fakeprov.h"
#include "../lib/harness.h"

#define FIXTURES "tests/integration/files/"

#define TEXT_DA "Ny henvendelse K7FQ2 (P1, Gellerup): svar 1a, 1e eller 1c. æøå ÆØÅ"

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

/* --- a tiny webhook receiver: records the last request, answers as told -------------- */

static struct {
	pthread_mutex_t mu;
	struct MHD_Daemon *d;
	unsigned port;
	int hits;
	char path[256];
	char *n_arg;      /* query argument "n" or NULL */
	char *twilio_sig; /* header values, NULL when absent */
	char *gwapi_sig;
	char *authz;
	char *ctype;
	char *body;
	unsigned reply_status;
	const char *reply_ctype;
	const char *reply_body;
} rx = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct rx_conn {
	char *body;
	size_t len;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static enum MHD_Result rx_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)method;
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
	pthread_mutex_lock(&rx.mu);
	rx.hits++;
	snprintf(rx.path, sizeof(rx.path), "%s", url);
	free(rx.n_arg);
	free(rx.twilio_sig);
	free(rx.gwapi_sig);
	free(rx.authz);
	free(rx.ctype);
	free(rx.body);
	rx.n_arg = dup_or_null(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n"));
	rx.twilio_sig =
	    dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Twilio-Signature"));
	rx.gwapi_sig =
	    dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gwapi-Signature"));
	rx.authz = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
	rx.ctype = dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"));
	rx.body = strdup(k->body ? k->body : "");
	const char *body = rx.reply_body ? rx.reply_body : "";
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (rx.reply_ctype)
		MHD_add_response_header(r, "Content-Type", rx.reply_ctype);
	unsigned status = rx.reply_status ? rx.reply_status : 200;
	pthread_mutex_unlock(&rx.mu);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
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

static void rx_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	rx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                        rx_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_NOTIFY_COMPLETED, rx_completed, NULL, MHD_OPTION_END);
	if (!rx.d)
		hx_fail("cannot start the receiver");
	rx.port = MHD_get_daemon_info(rx.d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void rx_stop(void)
{
	MHD_stop_daemon(rx.d);
	free(rx.n_arg);
	free(rx.twilio_sig);
	free(rx.gwapi_sig);
	free(rx.authz);
	free(rx.ctype);
	free(rx.body);
}

static void rx_reply(unsigned status, const char *ctype, const char *body)
{
	pthread_mutex_lock(&rx.mu);
	rx.reply_status = status;
	rx.reply_ctype = ctype;
	rx.reply_body = body;
	pthread_mutex_unlock(&rx.mu);
}

static int rx_hits(void)
{
	pthread_mutex_lock(&rx.mu);
	int n = rx.hits;
	pthread_mutex_unlock(&rx.mu);
	return n;
}

static void rx_url(char *out, size_t len, const char *path)
{
	snprintf(out, len, "http://127.0.0.1:%u%s", rx.port, path);
}

/* --- helpers ---------------------------------------------------------------------------- */

static char *basic(const char *user, const char *pass)
{
	char raw[256], enc[400];
	int n = snprintf(raw, sizeof(raw), "%s:%s", user, pass);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)raw, n);
	char *out = malloc(strlen(enc) + 7);
	sprintf(out, "Basic %s", enc);
	return out;
}

/* base64url (no padding) → malloc'ed NUL-terminated bytes. */
static char *b64url_decode(const char *in, size_t len)
{
	char *s = calloc(len + 4, 1);
	for (size_t i = 0; i < len; i++)
		s[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	size_t n = len;
	while (n % 4)
		s[n++] = '=';
	unsigned char *out = calloc(n, 1);
	int m = EVP_DecodeBlock(out, (unsigned char *)s, (int)n);
	if (m >= 0)
		m -= (int)(n - len);
	free(s);
	if (m < 0) {
		free(out);
		return NULL;
	}
	out[m] = '\0';
	return (char *)out;
}

/* The received Twilio webhook's signature is right for sign_url. */
static bool twilio_sig_ok(const char *token, const char *sign_url)
{
	pthread_mutex_lock(&rx.mu);
	struct fp_param *p;
	size_t n;
	bool ok = false;
	if (rx.twilio_sig && fp_form_parse(rx.body, strlen(rx.body), &p, &n) == 0) {
		char *sig = fp_twilio_signature(token, sign_url, p, n);
		ok = strcmp(sig, rx.twilio_sig) == 0;
		free(sig);
		fp_params_free(p, n);
	}
	pthread_mutex_unlock(&rx.mu);
	return ok;
}

/* The received GatewayAPI webhook's JWT verifies with secret (HS256 over its own
 * header.payload) and its claims equal the posted JSON, compared as JSON. */
static bool gwapi_sig_ok(const char *secret)
{
	pthread_mutex_lock(&rx.mu);
	bool ok = false;
	const char *t = rx.gwapi_sig;
	const char *d1 = t ? strchr(t, '.') : NULL;
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	char *claims = d2 ? b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
	if (claims) {
		char *jwt = fp_gwapi_jwt(secret, claims);
		json_t *c = json_loads(claims, 0, NULL), *b = json_loads(rx.body, 0, NULL);
		ok = strcmp(jwt, t) == 0 && c && b && json_equal(c, b);
		json_decref(c);
		json_decref(b);
		free(jwt);
		free(claims);
	}
	pthread_mutex_unlock(&rx.mu);
	return ok;
}

/* A copy of a received form field, or NULL. */
static char *rx_field(const char *name)
{
	pthread_mutex_lock(&rx.mu);
	struct fp_param *p;
	size_t n;
	char *v = NULL;
	if (fp_form_parse(rx.body, strlen(rx.body), &p, &n) == 0) {
		for (size_t i = 0; i < n && !v; i++)
			if (strcmp(p[i].name, name) == 0)
				v = strdup(p[i].value);
		fp_params_free(p, n);
	}
	pthread_mutex_unlock(&rx.mu);
	return v;
}

static void check_field(const char *name, const char *want)
{
	char *v = rx_field(name);
	CHECK(want ? streq(v, want) : v == NULL, "field %s = %s, want %s", name, v ? v : "(none)",
	      want ? want : "(none)");
	free(v);
}

static json_t *rx_json(void)
{
	pthread_mutex_lock(&rx.mu);
	json_t *o = json_loads(rx.body, 0, NULL);
	pthread_mutex_unlock(&rx.mu);
	HX_CHECK(o, "receiver body is not JSON");
	return o;
}

static int post(const char *url, const char *ctype, const char *body, const char *user,
                const char *pass, char **resp)
{
	return fp_post_raw(url, ctype, body, 0, NULL, 0, user, pass, resp, NULL);
}

/* --- signatures ------------------------------------------------------------------------- */

static void test_signatures(void)
{
	json_error_t err;
	json_t *tw = json_load_file(FIXTURES "twilio-signatures.json", 0, &err);
	CHECK(json_is_array(tw), "%s: %s", FIXTURES "twilio-signatures.json", err.text);
	size_t i;
	json_t *c;
	json_array_foreach(tw, i, c)
	{
		json_t *params = json_object_get(c, "params");
		struct fp_param p[32];
		size_t n = 0;
		const char *k;
		json_t *v;
		json_object_foreach(params, k, v)
		{
			if (n < 32)
				p[n++] = (struct fp_param){k, json_string_value(v)};
		}
		char *sig = fp_twilio_signature(json_string_value(json_object_get(c, "auth_token")),
		                                json_string_value(json_object_get(c, "url")), p, n);
		const char *want = json_string_value(json_object_get(c, "signature"));
		CHECK(streq(sig, want), "twilio fixture %zu: %s, want %s", i, sig, want);
		/* params in another order sign the same */
		for (size_t a = 0, b = n - 1; a < b; a++, b--) {
			struct fp_param t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
		char *sig2 =
		    fp_twilio_signature(json_string_value(json_object_get(c, "auth_token")),
		                        json_string_value(json_object_get(c, "url")), p, n);
		CHECK(streq(sig2, want), "twilio fixture %zu reversed: %s", i, sig2);
		free(sig);
		free(sig2);
	}
	CHECK(json_array_size(tw) == 4, "4 twilio fixtures, got %zu", json_array_size(tw));
	json_decref(tw);

	json_t *gw = json_load_file(FIXTURES "gatewayapi-jwt.json", 0, &err);
	CHECK(json_is_object(gw), "%s: %s", FIXTURES "gatewayapi-jwt.json", err.text);
	char *body = json_dumps(json_object_get(gw, "body"), JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *jwt = fp_gwapi_jwt(json_string_value(json_object_get(gw, "secret")), body);
	const char *want = json_string_value(json_object_get(gw, "header_X-Gwapi-Signature"));
	CHECK(streq(jwt, want), "gatewayapi fixture: %s, want %s", jwt, want);
	free(jwt);
	free(body);
	json_decref(gw);

	/* GatewayAPI's own documentation example (REST API docs, "Authentication
	 * token"): secret "secret"; re-signing its payload must give its token. */
	static const char doc_token[] =
	    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0"
	    "aW1lIjoxNTIyNzY0MDYyLCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidX"
	    "NlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoiaHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ."
	    "KdfDH65bnQtgxEkFnpAQodOciAJedZFB13r9wEo8t3Y";
	const char *p1 = strchr(doc_token, '.') + 1;
	const char *p2 = strchr(p1, '.');
	char *payload = b64url_decode(p1, (size_t)(p2 - p1));
	CHECK(payload && strstr(payload, "\"status\":\"DELIVERED\""), "doc payload %s", payload);
	jwt = fp_gwapi_jwt("secret", payload);
	CHECK(streq(jwt, doc_token), "gatewayapi docs token: %s", jwt);
	free(jwt);
	free(payload);
}

/* --- codecs ------------------------------------------------------------------------------ */

static void test_codecs(void)
{
	int units, segs;
	CHECK(fp_sms_length(TEXT_DA, &units, &segs) && segs == 1, "danish text GSM-7 (%d, %d)",
	      units, segs);
	CHECK(fp_sms_length("Tak. Din henvendelse har nummer K7FQ2. Vi har tavshedspligt og kan "
	                    "ikke give yderligere besked. Er nogen i fare nu, så ring 112.",
	                    &units, &segs) &&
	      segs == 1);
	char buf[400];
	memset(buf, 'a', 161);
	buf[160] = '\0';
	CHECK(fp_sms_length(buf, &units, &segs) && units == 160 && segs == 1);
	buf[160] = 'a';
	buf[161] = '\0';
	CHECK(fp_sms_length(buf, &units, &segs) && units == 161 && segs == 2);
	memset(buf, 'a', 307);
	buf[306] = '\0';
	CHECK(fp_sms_length(buf, NULL, &segs) && segs == 2);
	buf[306] = 'a';
	buf[307] = '\0';
	CHECK(fp_sms_length(buf, NULL, &segs) && segs == 3);
	CHECK(fp_sms_length("€{}", &units, &segs) && units == 6, "extension table, %d", units);
	CHECK(!fp_sms_length("ok \xF0\x9F\x98\x80", &units, &segs) && units == 5 && segs == 1,
	      "emoji: UCS-2, 5 units (%d)", units);
	CHECK(!fp_sms_length("`", NULL, NULL), "backtick is not GSM");
	CHECK(!fp_sms_length("ç", NULL, NULL), "small c cedilla is not GSM (only capital)");
	buf[0] = '\0';
	for (int i = 0; i < 71; i++)
		strcat(buf, "\xC5\x81"); /* Ł */
	CHECK(!fp_sms_length(buf, &units, &segs) && units == 71 && segs == 2);

	struct fp_param *p;
	size_t n;
	const char *form = "a=b+c&d=%C3%A6%2b&e=&f&&g=1%3D2";
	CHECK(fp_form_parse(form, strlen(form), &p, &n) == 0 && n == 5);
	CHECK(streq(p[0].value, "b c") && streq(p[1].value, "æ+") && streq(p[2].value, "") &&
	      streq(p[3].name, "f") && streq(p[3].value, "") && streq(p[4].value, "1=2"));
	char *enc = fp_form_encode(p, n, true);
	CHECK(streq(enc, "a=b+c&d=%C3%A6%2B&e=&f=&g=1%3D2"), "%s", enc);
	free(enc);
	enc = fp_form_encode(p, 1, false);
	CHECK(streq(enc, "a=b%20c"), "%s", enc);
	free(enc);
	fp_params_free(p, n);
	CHECK(fp_form_parse("x=%G1", 5, &p, &n) == -1);
	CHECK(fp_form_parse("x=%4", 4, &p, &n) == -1);
}

/* --- Twilio ---------------------------------------------------------------------------- */

static void test_twilio(void)
{
	const char *acct = "AC0123456789abcdef0123456789abcdef", *token = "s3cr3t-auth-token";
	struct fp *p = fp_start("twilio", acct, token);
	CHECK(streq(fp_provider(p), "twilio"));
	char url[256], cb[256];
	snprintf(url, sizeof(url), "%s/2010-04-01/Accounts/%s/Messages.json", fp_base_url(p), acct);
	rx_url(cb, sizeof(cb), "/hooks/twilio/status?n=1");
	struct fp_param f[] = {{"To", "+4531559977"},
	                       {"From", "+4570701234"},
	                       {"Body", TEXT_DA},
	                       {"StatusCallback", cb}};
	char *form = fp_form_encode(f, 4, true);
	char *resp = NULL;

	int st = post(url, "application/x-www-form-urlencoded", form, acct, token, &resp);
	CHECK(st == 201, "send: %d %s", st, resp);
	json_t *o = json_loads(resp, 0, NULL);
	const char *sid = json_string_value(json_object_get(o, "sid"));
	CHECK(sid && strncmp(sid, "SM", 2) == 0 && strlen(sid) == 34, "sid %s", sid);
	CHECK(streq(json_string_value(json_object_get(o, "status")), "queued"));
	CHECK(streq(json_string_value(json_object_get(o, "to")), "+4531559977"));
	CHECK(streq(json_string_value(json_object_get(o, "from")), "+4570701234"));
	CHECK(streq(json_string_value(json_object_get(o, "body")), TEXT_DA));
	CHECK(streq(json_string_value(json_object_get(o, "num_segments")), "1"));
	CHECK(streq(json_string_value(json_object_get(o, "account_sid")), acct));
	struct fp_msg m;
	CHECK(fp_count(p) == 1 && fp_get(p, 0, &m));
	CHECK(streq(m.id, sid) && streq(m.to, "+4531559977") && streq(m.from, "+4570701234") &&
	      streq(m.text, TEXT_DA) && streq(m.callback_url, cb) && m.gsm7 && m.segments == 1 &&
	      m.request_no == 1 && m.at_ms > 0);
	CHECK(!fp_get(p, 1, &m));
	json_decref(o);
	free(resp);

	/* wrong auth, wrong account in the path: 401 Twilio-style, nothing recorded */
	st = post(url, "application/x-www-form-urlencoded", form, acct, "wrong", &resp);
	o = json_loads(resp ? resp : "", 0, NULL);
	CHECK(st == 401 && json_integer_value(json_object_get(o, "code")) == 20003 &&
	          streq(json_string_value(json_object_get(o, "message")), "Authenticate"),
	      "%d %s", st, resp);
	json_decref(o);
	free(resp);
	char url2[256];
	snprintf(url2, sizeof(url2),
	         "%s/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/"
	         "Messages.json",
	         fp_base_url(p));
	st = post(url2, "application/x-www-form-urlencoded", form, acct, token, NULL);
	CHECK(st == 401, "foreign account: %d", st);
	CHECK(fp_count(p) == 1 && fp_requests(p) == 3);

	/* Twilio's validation */
	st = post(url, "application/x-www-form-urlencoded", "To=%2B4531559977&From=%2B4570701234",
	          acct, token, &resp);
	CHECK(st == 400 && strstr(resp, "21602"), "no Body: %d %s", st, resp);
	free(resp);
	st = post(url, "application/x-www-form-urlencoded",
	          "To=4531559977&From=%2B4570701234&Body=x", acct, token, &resp);
	CHECK(st == 400 && strstr(resp, "21211"), "To without +: %d %s", st, resp);
	free(resp);
	st = post(url, "application/x-www-form-urlencoded", "To=%2B4531559977&Body=x", acct, token,
	          &resp);
	CHECK(st == 400 && strstr(resp, "21603"), "no From: %d %s", st, resp);
	free(resp);

	/* failure injection: two 500s, then it works again */
	int est;
	const char *e500 = fp_error_body("twilio", FP_ERR_SERVER, &est);
	CHECK(est == 500 && strstr(e500, "20500"));
	fp_fail_next(p, 2, 500, e500);
	for (int i = 0; i < 2; i++) {
		st = post(url, "application/x-www-form-urlencoded", form, acct, token, &resp);
		CHECK(st == 500 && streq(resp, e500), "injected %d: %d %s", i, st, resp);
		free(resp);
	}
	st = post(url, "application/x-www-form-urlencoded", form, acct, token, NULL);
	CHECK(st == 201 && fp_count(p) == 2, "after failures: %d", st);
	CHECK(fp_get(p, 1, &m) && m.request_no == 9, "request_no %zu", m.request_no);
	/* a permanent refusal, exactly Twilio's */
	CHECK(fp_permanent_error_status("twilio") == 400);
	CHECK(streq(fp_permanent_error_body("twilio"),
	            "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed recipient\","
	            "\"more_info\":\"https://www.twilio.com/docs/errors/21610\",\"status\":400}"));
	fp_fail_next(p, 1, 400, fp_permanent_error_body("twilio"));
	char *ct = NULL;
	st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, acct, token,
	                 &resp, &ct);
	CHECK(st == 400 && streq(resp, fp_permanent_error_body("twilio")) &&
	      streq(ct, "application/json"));
	free(resp);
	free(ct);
	fp_error_body("twilio", FP_ERR_NOT_MOBILE, &est);
	CHECK(est == 400 && strstr(fp_error_body("twilio", FP_ERR_NOT_MOBILE, NULL), "21614"));
	CHECK(strstr(fp_error_body("twilio", FP_ERR_RATE_LIMIT, &est), "20429") && est == 429);
	/* a dropped connection */
	fp_fail_next(p, 1, 0, NULL);
	st = post(url, "application/x-www-form-urlencoded", form, acct, token, NULL);
	CHECK(st == 0, "dropped: %d", st);
	CHECK(fp_count(p) == 2 && fp_requests(p) == 11, "requests %zu", fp_requests(p));

	/* waiting */
	CHECK(fp_wait(p, 2, 100));
	int64_t t0 = hx_now_ms();
	CHECK(!fp_wait(p, 3, 300) && hx_now_ms() - t0 >= 290);
	fp_set_delay(p, 300);
	t0 = hx_now_ms();
	st = post(url, "application/x-www-form-urlencoded", form, acct, token, NULL);
	CHECK(st == 201 && hx_now_ms() - t0 >= 300);
	fp_set_delay(p, 0);

	/* delivery reports, signed over the public URL + the callback's path?query */
	rx_reply(200, NULL, "");
	int hits = rx_hits();
	st = fp_send_status(p, 0, "delivered", NULL, "https://careline.example.dk");
	CHECK(st == 200 && rx_hits() == hits + 1, "status webhook: %d", st);
	CHECK(streq(rx.path, "/hooks/twilio/status") && streq(rx.n_arg, "1"));
	CHECK(streq(rx.ctype, "application/x-www-form-urlencoded"));
	CHECK(twilio_sig_ok(token, "https://careline.example.dk/hooks/twilio/status?n=1"),
	      "signature %s", rx.twilio_sig);
	fp_get(p, 0, &m);
	check_field("MessageSid", m.id);
	check_field("SmsSid", m.id);
	check_field("MessageStatus", "delivered");
	check_field("SmsStatus", "delivered");
	check_field("AccountSid", acct);
	check_field("To", "+4531559977");
	check_field("From", "+4570701234");
	check_field("ApiVersion", "2010-04-01");
	check_field("ErrorCode", NULL);
	char *dlr = rx_field("RawDlrDoneDate");
	CHECK(dlr && strlen(dlr) == 10);
	free(dlr);
	rx_reply(503, NULL, "");
	st = fp_send_status(p, 0, "undelivered", "30003",
	                    "https://careline.example.dk/hooks/twilio/status?n=1");
	CHECK(st == 503 &&
	      twilio_sig_ok(token, "https://careline.example.dk/hooks/twilio/status?n=1"));
	check_field("ErrorCode", "30003");
	check_field("MessageStatus", "undelivered");
	rx_reply(200, NULL, "");
	CHECK(fp_send_status(p, 0, "sent", NULL, NULL) == 200 && twilio_sig_ok(token, cb),
	      "NULL public URL: the callback URL itself");
	/* tampering */
	CHECK(fp_send_status_ex(p, 0, "delivered", NULL, NULL, FP_TAMPER_SIGNATURE) == 200);
	CHECK(rx.twilio_sig && !twilio_sig_ok(token, cb));
	CHECK(fp_send_status_ex(p, 0, "delivered", NULL, NULL, FP_WRONG_SECRET) == 200);
	CHECK(twilio_sig_ok("s3cr3t-auth-token-wrong", cb) && !twilio_sig_ok(token, cb));
	CHECK(fp_send_status_ex(p, 0, "delivered", NULL, NULL, FP_NO_SIGNATURE) == 200);
	CHECK(rx.twilio_sig == NULL);
	CHECK(fp_send_status_ex(p, 0, "delivered", NULL, NULL, FP_TAMPER_BODY) == 200);
	check_field("MessageStatus", "failed");
	CHECK(!twilio_sig_ok(token, cb));
	CHECK(fp_send_status_ex(p, 0, "delivered", NULL, "https://careline.example.dk",
	                        FP_WRONG_URL) == 200);
	CHECK(twilio_sig_ok(token, cb) &&
	      !twilio_sig_ok(token, "https://careline.example.dk/hooks/twilio/status?n=1"));
	CHECK(fp_send_status(p, 99, "delivered", NULL, NULL) == -1);

	/* a callback naming the public address goes through the target (a proxy) */
	struct fp_param f2[] = {
	    {"To", "+4531559977"},
	    {"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"},
	    {"Body", "x"},
	    {"StatusCallback", "https://careline.example.dk/hooks/twilio/status?n=2"}};
	char *form2 = fp_form_encode(f2, 4, false);
	st = post(url, "application/x-www-form-urlencoded", form2, acct, token, &resp);
	CHECK(st == 201 && strstr(resp, "\"from\":null"), "%d %s", st, resp);
	free(resp);
	free(form2);
	size_t last = fp_count(p) - 1;
	char base[64];
	rx_url(base, sizeof(base), "");
	fp_set_webhook_target(p, base);
	CHECK(fp_send_status(p, last, "delivered", NULL, NULL) == 200 && streq(rx.n_arg, "2"));
	CHECK(twilio_sig_ok(token, "https://careline.example.dk/hooks/twilio/status?n=2"));
	fp_set_webhook_target(p, NULL);

	/* inbound SMS: exact fields, signed over the public URL, TwiML answer passed back */
	static const char twiml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>"
	                            "Tak</Message></Response>";
	rx_reply(200, "text/xml", twiml);
	char hook[256];
	rx_url(hook, sizeof(hook), "/hooks/twilio/sms");
	const char *pub = "https://careline.example.dk/hooks/twilio/sms";
	const char *text = "Det lugter forfærdeligt fra nr. 12, 3. tv. & der er fluer";
	st = fp_post_inbound(p, hook, pub, "SM0123456789abcdef0123456789abcdef", "+4531559977",
	                     "+4570701234", text, &resp, &ct);
	CHECK(st == 200 && streq(resp, twiml) && streq(ct, "text/xml"), "%d %s %s", st, resp, ct);
	free(resp);
	free(ct);
	CHECK(twilio_sig_ok(token, pub) && !twilio_sig_ok(token, hook));
	CHECK(strstr(rx.body, "Body=Det+lugter+forf%C3%A6rdeligt"), "%s", rx.body);
	check_field("MessageSid", "SM0123456789abcdef0123456789abcdef");
	check_field("SmsMessageSid", "SM0123456789abcdef0123456789abcdef");
	check_field("Body", text);
	check_field("From", "+4531559977");
	check_field("FromCountry", "DK");
	check_field("NumMedia", "0");
	check_field("NumSegments", "1");
	check_field("SmsStatus", "received");
	check_field("AccountSid", acct);
	check_field("ApiVersion", "2010-04-01");
	check_field("ToState", "");
	/* extra fields are signed; tampering breaks the right thing */
	struct fp_param extra[] = {{"OptOutType", "STOP"}};
	struct fp_inbound in = {.careline_url = hook,
	                        .public_url = "https://careline.example.dk",
	                        .from = "+4531559977",
	                        .to = "+4570701234",
	                        .text = "STOP",
	                        .extra = extra,
	                        .n_extra = 1};
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200 && twilio_sig_ok(token, pub));
	check_field("OptOutType", "STOP");
	char *sid1 = rx_field("MessageSid");
	CHECK(sid1 && strncmp(sid1, "SM", 2) == 0 && strlen(sid1) == 34);
	free(sid1);
	in.flags = FP_WRONG_URL;
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200);
	CHECK(twilio_sig_ok(token, hook) && !twilio_sig_ok(token, pub), "signed the Host URL");
	in.flags = FP_TAMPER_BODY;
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200);
	check_field("Body", "STOP!");
	CHECK(!twilio_sig_ok(token, pub));
	in.flags = 0;
	in.signature = "";
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200 && streq(rx.twilio_sig, ""));
	in.signature = NULL;
	in.careline_url = "http://127.0.0.1:1/nothing";
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 0, "transport error → 0");

	fp_reset(p);
	CHECK(fp_count(p) == 0 && fp_requests(p) == 0);
	free(form);
	fp_stop(p);
}

/* --- 46elks ----------------------------------------------------------------------------- */

static void test_46elks(void)
{
	const char *user = "u0123456789abcdef0123456789abcdef", *pass = "elks-api-password";
	struct fp *p = fp_start("46elks", user, pass);
	char url[256], cb[256];
	snprintf(url, sizeof(url), "%s/a1/sms", fp_base_url(p));
	snprintf(cb, sizeof(cb),
	         "http://hookuser:hookpass@127.0.0.1:%u/hooks/46elks/PATHSECRET/dlr", rx.port);
	struct fp_param f[] = {{"from", "Careline"},
	                       {"to", "+4531559977"},
	                       {"message", TEXT_DA},
	                       {"whendelivered", cb}};
	char *form = fp_form_encode(f, 4, false);
	char *resp = NULL, *ct = NULL;
	int st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, user, pass,
	                     &resp, &ct);
	CHECK(st == 200 && streq(ct, "application/json"), "send: %d %s", st, resp);
	json_t *o = json_loads(resp, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "id"));
	CHECK(id && id[0] == 's' && strlen(id) == 33, "id %s", id);
	CHECK(streq(json_string_value(json_object_get(o, "status")), "created"));
	CHECK(streq(json_string_value(json_object_get(o, "direction")), "outgoing"));
	CHECK(json_integer_value(json_object_get(o, "parts")) == 1);
	CHECK(streq(json_string_value(json_object_get(o, "message")), TEXT_DA));
	const char *created = json_string_value(json_object_get(o, "created"));
	CHECK(created && strlen(created) == 26 && created[10] == 'T' && created[19] == '.');
	struct fp_msg m;
	CHECK(fp_get(p, 0, &m) && streq(m.id, id) && streq(m.from, "Careline") &&
	      streq(m.callback_url, cb) && streq(m.text, TEXT_DA));
	json_decref(o);
	free(resp);
	free(ct);
	/* /a1/SMS as in 46elks' own curl example */
	char url_uc[256];
	snprintf(url_uc, sizeof(url_uc), "%s/a1/SMS", fp_base_url(p));
	CHECK(post(url_uc, "application/x-www-form-urlencoded", form, user, pass, NULL) == 200);

	st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, user, "nope",
	                 &resp, &ct);
	CHECK(st == 401 && streq(resp, "Unauthorized") && streq(ct, "text/plain"), "%d", st);
	free(resp);
	free(ct);
	CHECK(post(url, "application/x-www-form-urlencoded", form, NULL, NULL, NULL) == 401);
	st = post(url, "application/x-www-form-urlencoded", "from=x&message=y", user, pass, &resp);
	CHECK(st == 400 && streq(resp, "Missing key to"), "%d %s", st, resp);
	free(resp);
	int est;
	const char *e429 = fp_error_body("46elks", FP_ERR_RATE_LIMIT, &est);
	fp_fail_next(p, 1, est, e429);
	st = fp_post_raw(url, "application/x-www-form-urlencoded", form, 0, NULL, 0, user, pass,
	                 &resp, &ct);
	CHECK(st == 429 && streq(resp, e429) && streq(ct, "text/plain"));
	free(resp);
	free(ct);
	CHECK(fp_permanent_error_status("46elks") == 400);
	CHECK(fp_count(p) == 2 && fp_requests(p) == 6, "%zu %zu", fp_count(p), fp_requests(p));

	/* delivery report: the whendelivered URL's own basic auth, then the configured one */
	rx_reply(204, NULL, "");
	st = fp_send_status(p, 0, "delivered", NULL, NULL);
	CHECK(st == 204, "%d", st);
	char *want = basic("hookuser", "hookpass");
	CHECK(streq(rx.authz, want) && streq(rx.path, "/hooks/46elks/PATHSECRET/dlr"), "%s",
	      rx.authz);
	free(want);
	check_field("id", m.id);
	check_field("status", "delivered");
	char *when = rx_field("delivered");
	CHECK(when && strlen(when) == 26 && when[10] == 'T');
	free(when);
	fp_set_hook_auth(p, "careline", "hook-pw");
	want = basic("careline", "hook-pw");
	CHECK(fp_send_status(p, 0, "failed", NULL, NULL) == 204 && streq(rx.authz, want));
	check_field("status", "failed");
	check_field("delivered", NULL);
	CHECK(fp_send_status_ex(p, 0, "sent", NULL, NULL, FP_NO_SIGNATURE) == 204 && !rx.authz);
	CHECK(fp_send_status_ex(p, 0, "sent", NULL, NULL, FP_WRONG_SECRET) == 204 && rx.authz &&
	      !streq(rx.authz, want));
	CHECK(fp_send_status_ex(p, 0, "sent", NULL, NULL, FP_TAMPER_SIGNATURE) == 204 && rx.authz &&
	      !streq(rx.authz, want));
	CHECK(fp_send_status_ex(p, 0, "sent", NULL, NULL, FP_WRONG_URL) == 204 &&
	      streq(rx.path, "/hooks/46elks/wrong-secret/dlr") && streq(rx.authz, want));

	/* inbound SMS, plain-text answer passed back */
	rx_reply(200, "text/plain; charset=utf-8", "Tak. Din henvendelse har nummer K7FQ2.");
	char hook[256];
	rx_url(hook, sizeof(hook), "/hooks/46elks/PATHSECRET/sms");
	st = fp_post_inbound(p, hook, NULL, NULL, "+4531559977", "+4570701234", "Hej med dig æøå?",
	                     &resp, &ct);
	CHECK(st == 200 && streq(resp, "Tak. Din henvendelse har nummer K7FQ2.") &&
	      streq(ct, "text/plain; charset=utf-8"));
	free(resp);
	free(ct);
	CHECK(streq(rx.authz, want));
	CHECK(strstr(rx.body, "message=Hej%20med%20dig%20%C3%A6%C3%B8%C3%A5%3F"), "%s", rx.body);
	check_field("direction", "incoming");
	check_field("from", "+4531559977");
	check_field("to", "+4570701234");
	check_field("message", "Hej med dig æøå?");
	char *iid = rx_field("id");
	CHECK(iid && iid[0] == 's' && strlen(iid) == 33);
	free(iid);
	char *cr = rx_field("created");
	CHECK(cr && strlen(cr) == 26 && cr[10] == 'T' && cr[19] == '.', "created %s", cr);
	free(cr);
	struct fp_inbound in = {.careline_url = hook,
	                        .from = "+4531559977",
	                        .to = "+4570701234",
	                        .text = "x",
	                        .msg_id = "sfixed",
	                        .sent_unix = 1763881200};
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200);
	check_field("created", "2025-11-23T07:00:00.000000");
	check_field("id", "sfixed");
	in.flags = FP_WRONG_URL;
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200 &&
	      streq(rx.path, "/hooks/46elks/wrong-secret/sms"));
	in.flags = 0;
	in.signature = "Basic Zm9vOmJhcg==";
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200 && streq(rx.authz, in.signature));
	free(want);
	free(form);
	fp_stop(p);
}

/* --- GatewayAPI --------------------------------------------------------------------------- */

static void test_gatewayapi(void)
{
	const char *token = "gwapi-api-token", *secret = "gwapi-webhook-secret";
	struct fp *p = fp_start("gatewayapi", NULL, token);
	char url[256], cb[256];
	snprintf(url, sizeof(url), "%s/rest/mtsms", fp_base_url(p));
	rx_url(cb, sizeof(cb), "/hooks/gatewayapi/status");
	json_t *req = json_pack("{s:s, s:s, s:[{s:I}], s:s, s:s}", "sender", "Careline", "message",
	                        TEXT_DA, "recipients", "msisdn", (json_int_t)4531559977LL,
	                        "callback_url", cb, "userref", "n42");
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char *resp = NULL;
	int st = post(url, "application/json", body, token, "", &resp);
	CHECK(st == 200, "send: %d %s", st, resp);
	json_t *o = json_loads(resp, 0, NULL);
	json_t *ids = json_object_get(o, "ids");
	CHECK(json_array_size(ids) == 1 && json_is_integer(json_array_get(ids, 0)));
	json_int_t id = json_integer_value(json_array_get(ids, 0));
	json_t *usage = json_object_get(o, "usage");
	CHECK(json_integer_value(json_object_get(json_object_get(usage, "countries"), "DK")) == 1);
	CHECK(streq(json_string_value(json_object_get(usage, "currency")), "DKK"));
	CHECK(json_is_number(json_object_get(usage, "total_cost")));
	struct fp_msg m;
	char idstr[32];
	snprintf(idstr, sizeof(idstr), "%" JSON_INTEGER_FORMAT, id);
	CHECK(fp_get(p, 0, &m) && streq(m.id, idstr) && streq(m.to, "4531559977") &&
	      streq(m.from, "Careline") && streq(m.userref, "n42") && streq(m.callback_url, cb) &&
	      streq(m.text, TEXT_DA) && m.gsm7);
	json_decref(o);
	free(resp);

	/* other documented auth styles and a string msisdn */
	const char *body2 = "{\"message\":\"hej\",\"recipients\":[{\"msisdn\":\"4520000000\"}]}";
	char authz[128];
	snprintf(authz, sizeof(authz), "Token %s", token);
	struct fp_param h = {"Authorization", authz};
	CHECK(fp_post_raw(url, "application/json", body2, 0, &h, 1, NULL, NULL, NULL, NULL) == 200);
	char url_q[300];
	snprintf(url_q, sizeof(url_q), "%s?token=%s", url, token);
	CHECK(post(url_q, "application/json", body2, NULL, NULL, NULL) == 200);
	CHECK(post(url, "application/x-www-form-urlencoded",
	           "message=Hello+World&recipients.0.msisdn=4512345678", token, "", NULL) == 200);
	CHECK(fp_get(p, 3, &m) && streq(m.to, "4512345678") && streq(m.text, "Hello World"));
	/* refusals */
	st = post(url, "application/json", body, "wrong-token", "", &resp);
	o = json_loads(resp ? resp : "", 0, NULL);
	CHECK(st == 401 && json_is_string(json_object_get(o, "message")) &&
	      json_is_string(json_object_get(o, "incident_uuid")));
	json_decref(o);
	free(resp);
	CHECK(post(url, "application/json", "{not json", token, "", NULL) == 422);
	CHECK(post(url, "application/json", "{\"message\":\"x\"}", token, "", NULL) == 400);
	fp_fail_next(p, 1, fp_permanent_error_status("gatewayapi"),
	             fp_permanent_error_body("gatewayapi"));
	st = post(url, "application/json", body, token, "", &resp);
	CHECK(st == 422 && streq(resp, fp_permanent_error_body("gatewayapi")));
	free(resp);
	CHECK(fp_count(p) == 4 && fp_requests(p) == 8, "%zu %zu", fp_count(p), fp_requests(p));

	/* DLR: JWT over the claims, body written differently (claims compared as JSON) */
	rx_reply(200, NULL, "");
	CHECK(fp_send_status(p, 0, "DELIVERED", NULL, NULL) == 200 && rx.gwapi_sig == NULL,
	      "no webhook secret → no header");
	fp_set_webhook_secret(p, secret);
	CHECK(fp_send_status(p, 0, "DELIVERED", NULL, NULL) == 200);
	CHECK(gwapi_sig_ok(secret), "jwt %s body %s", rx.gwapi_sig, rx.body);
	CHECK(strstr(rx.body, "\"status\": \"DELIVERED\""), "python-style body %s", rx.body);
	o = rx_json();
	CHECK(json_integer_value(json_object_get(o, "id")) == id);
	CHECK(json_integer_value(json_object_get(o, "msisdn")) == 4531559977LL);
	CHECK(json_is_integer(json_object_get(o, "time")));
	CHECK(json_is_null(json_object_get(o, "error")) &&
	      json_is_null(json_object_get(o, "code")));
	CHECK(streq(json_string_value(json_object_get(o, "userref")), "n42"));
	CHECK(streq(json_string_value(json_object_get(o, "country_code")), "DK"));
	CHECK(json_integer_value(json_object_get(o, "country_prefix")) == 45);
	json_decref(o);
	CHECK(fp_send_status(p, 0, "UNDELIVERABLE", "0x0012", NULL) == 200 && gwapi_sig_ok(secret));
	o = rx_json();
	CHECK(streq(json_string_value(json_object_get(o, "code")), "0x0012") &&
	      json_is_string(json_object_get(o, "error")));
	json_decref(o);
	CHECK(fp_send_status_ex(p, 0, "DELIVERED", NULL, NULL, FP_TAMPER_SIGNATURE) == 200 &&
	      rx.gwapi_sig && !gwapi_sig_ok(secret));
	CHECK(fp_send_status_ex(p, 0, "DELIVERED", NULL, NULL, FP_WRONG_SECRET) == 200 &&
	      gwapi_sig_ok("gwapi-webhook-secret-wrong"));
	CHECK(fp_send_status_ex(p, 0, "DELIVERED", NULL, NULL, FP_NO_SIGNATURE) == 200 &&
	      !rx.gwapi_sig);
	CHECK(fp_send_status_ex(p, 0, "DELIVERED", NULL, NULL, FP_TAMPER_BODY) == 200 &&
	      !gwapi_sig_ok(secret) && strstr(rx.body, "UNDELIVERABLE"));
	CHECK(fp_send_status_ex(p, 0, "DELIVERED", NULL, NULL, FP_JWT_ALG_NONE) == 200);
	CHECK(rx.gwapi_sig && rx.gwapi_sig[strlen(rx.gwapi_sig) - 1] == '.' &&
	          strncmp(rx.gwapi_sig, "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.", 36) == 0,
	      "alg none %s", rx.gwapi_sig);
	/* no callback_url: the account's default webhook */
	CHECK(fp_send_status(p, 1, "DELIVERED", NULL, NULL) == -1);
	fp_set_default_callback(p, cb);
	CHECK(fp_send_status(p, 1, "DELIVERED", NULL, NULL) == 200 && gwapi_sig_ok(secret));

	/* MO SMS: the fixture's own request reproduced end to end */
	char hook[256];
	rx_url(hook, sizeof(hook), "/hooks/gatewayapi/sms");
	struct fp_inbound in = {.careline_url = hook,
	                        .msg_id = "1000001",
	                        .from = "+4531559977",
	                        .to = "1204",
	                        .text = "CARE Det lugter fra nr. 12, 3. tv.",
	                        .sent_unix = 1763881200};
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200);
	json_t *fx = json_load_file(FIXTURES "gatewayapi-jwt.json", 0, NULL);
	CHECK(
	    streq(rx.gwapi_sig, json_string_value(json_object_get(fx, "header_X-Gwapi-Signature"))),
	    "MO JWT %s", rx.gwapi_sig);
	o = rx_json();
	CHECK(json_equal(o, json_object_get(fx, "body")), "MO body %s", rx.body);
	json_decref(o);
	json_decref(fx);
	/* Danish text is \u-escaped in claims and body alike */
	st = fp_post_inbound(p, hook, NULL, "1000002", "+4531559977", "+4570701234",
	                     "Hjælp, vand i kælderen", &resp, NULL);
	CHECK(st == 200 && gwapi_sig_ok(secret));
	CHECK(strstr(rx.body, "Hj\\u00e6lp"), "%s", rx.body);
	o = rx_json();
	CHECK(streq(json_string_value(json_object_get(o, "message")), "Hjælp, vand i kælderen"));
	CHECK(json_integer_value(json_object_get(o, "receiver")) == 4570701234LL);
	CHECK(json_is_integer(json_object_get(o, "senttime")));
	CHECK(streq(json_string_value(json_object_get(o, "webhook_label")), "careline"));
	json_decref(o);
	free(resp);
	in.flags = FP_TAMPER_BODY;
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == 200 && !gwapi_sig_ok(secret));
	in.flags = 0;
	in.msg_id = "not-a-number";
	CHECK(fp_post_inbound_ex(p, &in, NULL, NULL) == -1);
	char fresh[64];
	fp_new_message_id(p, fresh, sizeof(fresh));
	CHECK(fresh[0] >= '1' && fresh[0] <= '9' && strspn(fresh, "0123456789") == strlen(fresh));
	free(body);
	fp_stop(p);
}

int main(void)
{
	hx_watchdog(120);
	rx_start();
	test_signatures();
	test_codecs();
	test_twilio();
	test_46elks();
	test_gatewayapi();
	rx_stop();
	printf("[  PASSED  ] %d checks (fake providers: twilio, 46elks, gatewayapi)\n", n_checks);
	return 0;
}
