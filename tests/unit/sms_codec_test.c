/*
 * tests/unit/sms_codec_test.c: the SMS provider codecs (gateway/sms_codec.c,
 * sms_twilio.c, sms_46elks.c, sms_gatewayapi.c): webhook authentication
 * against the fixtures in tests/unit/files/sms/, segment counting, form and
 * phone helpers, each provider's inbound/status/send formats and replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "../../gateway/sms.h"

#define TWILIO_FIXTURE   "tests/unit/files/sms/twilio-signatures.json"
#define GWAPI_FIXTURE    "tests/unit/files/sms/gatewayapi-jwt.json"
#define SEGMENTS_FIXTURE "tests/unit/files/sms/sms-segments.tsv"

/* ---- a request with headers ------------------------------------------------- */

struct hdrs {
	const char *name[4];
	const char *value[4];
};

static const char *hdr_get(void *ctx, const char *name)
{
	const struct hdrs *h = ctx;
	for (int i = 0; i < 4 && h->name[i]; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static struct gw_http_in request(const char *path, const char *query, const char *body,
                                 struct hdrs *h)
{
	struct gw_http_in r = {
	    .path = path,
	    .query = query,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .content_type = "application/x-www-form-urlencoded",
	    .header = hdr_get,
	    .header_ctx = h,
	};
	return r;
}

static void set(char *dst, size_t len, const char *src)
{
	assert_int_equal(gw_sms_copy(dst, len, src), 0);
}

/* ---- Twilio signatures ------------------------------------------------------ */

struct twilio_case {
	char public_url[256];
	char path[256];
	char query[256];
	bool has_query;
	char *body;
	const char *token;
	const char *signature;
};

/* Split the fixture's URL into public_url (scheme://host[:port]), path and
 * query, and form-encode its params as the body. */
static void twilio_case_load(json_t *c, struct twilio_case *tc)
{
	const char *url = json_string_value(json_object_get(c, "url"));
	assert_non_null(url);
	const char *host = strstr(url, "://");
	assert_non_null(host);
	const char *path = strchr(host + 3, '/');
	assert_non_null(path);
	const char *q = strchr(path, '?');
	snprintf(tc->public_url, sizeof(tc->public_url), "%.*s", (int)(path - url), url);
	snprintf(tc->path, sizeof(tc->path), "%.*s", (int)(q ? q - path : (long)strlen(path)),
	         path);
	tc->has_query = q != NULL;
	snprintf(tc->query, sizeof(tc->query), "%s", q ? q + 1 : "");
	tc->body = NULL;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(c, "params"), k, v)
	{
		assert_int_equal(gw_form_append(&tc->body, k, json_string_value(v)), 0);
	}
	tc->token = json_string_value(json_object_get(c, "auth_token"));
	tc->signature = json_string_value(json_object_get(c, "signature"));
	assert_non_null(tc->token);
	assert_non_null(tc->signature);
}

static int twilio_verify(const struct twilio_case *tc, const char *public_url, const char *path,
                         const char *body, const char *token, const char *sig)
{
	struct gw_sms_settings s = {0};
	set(s.public_url, sizeof(s.public_url), public_url);
	set(s.secret, sizeof(s.secret), token);
	struct hdrs h = {{sig ? "X-Twilio-Signature" : NULL}, {sig}};
	struct gw_http_in req = request(path, tc->has_query ? tc->query : NULL, body, &h);
	return gw_sms_twilio.verify(&s, &req);
}

static void test_sms_twilio_fixture_signatures_verify(void **state)
{
	json_t *all = json_load_file(TWILIO_FIXTURE, 0, NULL);
	assert_true(json_is_array(all));
	assert_int_equal(json_array_size(all), 4);
	size_t i;
	json_t *c;
	json_array_foreach(all, i, c)
	{
		struct twilio_case tc;
		twilio_case_load(c, &tc);
		assert_int_equal(
		    twilio_verify(&tc, tc.public_url, tc.path, tc.body, tc.token, tc.signature), 0);
		/* a trailing slash on the configured URL changes nothing */
		char slash[1024];
		snprintf(slash, sizeof(slash), "%s/", tc.public_url);
		assert_int_equal(
		    twilio_verify(&tc, slash, tc.path, tc.body, tc.token, tc.signature), 0);
		free(tc.body);
	}
	json_decref(all);
}

static void test_sms_twilio_tampering_fails(void **state)
{
	json_t *all = json_load_file(TWILIO_FIXTURE, 0, NULL);
	assert_non_null(all);
	size_t i;
	json_t *c;
	json_array_foreach(all, i, c)
	{
		struct twilio_case tc;
		twilio_case_load(c, &tc);
		const char *sig = tc.signature;

		/* a changed value: the last character of the body */
		char *body = strdup(tc.body);
		body[strlen(body) - 1] ^= 1;
		assert_int_equal(twilio_verify(&tc, tc.public_url, tc.path, body, tc.token, sig),
		                 -1);
		free(body);

		/* an extra parameter is signed too */
		char *extra = strdup(tc.body);
		assert_int_equal(gw_form_append(&extra, "Extra", "1"), 0);
		assert_int_equal(twilio_verify(&tc, tc.public_url, tc.path, extra, tc.token, sig),
		                 -1);
		free(extra);

		/* a renamed parameter */
		char *renamed = strdup(tc.body);
		renamed[0] = renamed[0] == 'Z' ? 'Y' : 'Z';
		assert_int_equal(twilio_verify(&tc, tc.public_url, tc.path, renamed, tc.token, sig),
		                 -1);
		free(renamed);

		/* another URL: host, path, scheme */
		assert_int_equal(
		    twilio_verify(&tc, "https://evil.example", tc.path, tc.body, tc.token, sig),
		    -1);
		assert_int_equal(
		    twilio_verify(&tc, tc.public_url, "/hooks/other", tc.body, tc.token, sig), -1);
		char http[1024];
		snprintf(http, sizeof(http), "http%s", tc.public_url + 5);
		assert_int_equal(twilio_verify(&tc, http, tc.path, tc.body, tc.token, sig), -1);

		/* another token, a changed signature, none at all */
		assert_int_equal(
		    twilio_verify(&tc, tc.public_url, tc.path, tc.body, "wrong-token", sig), -1);
		char badsig[64];
		snprintf(badsig, sizeof(badsig), "%s", sig);
		badsig[3] = badsig[3] == 'A' ? 'B' : 'A';
		assert_int_equal(
		    twilio_verify(&tc, tc.public_url, tc.path, tc.body, tc.token, badsig), -1);
		assert_int_equal(
		    twilio_verify(&tc, tc.public_url, tc.path, tc.body, tc.token, NULL), -1);
		assert_int_equal(twilio_verify(&tc, tc.public_url, tc.path, tc.body, tc.token, ""),
		                 -1);
		/* not configured: refuse */
		assert_int_equal(twilio_verify(&tc, "", tc.path, tc.body, tc.token, sig), -1);
		assert_int_equal(twilio_verify(&tc, tc.public_url, tc.path, tc.body, "", sig), -1);
		free(tc.body);
	}
	json_decref(all);
}

static void test_sms_twilio_query_is_signed(void **state)
{
	json_t *all = json_load_file(TWILIO_FIXTURE, 0, NULL);
	struct twilio_case tc;
	twilio_case_load(json_array_get(all, 3), &tc); /* ...:8443/hooks/twilio/sms?x=1 */
	assert_true(tc.has_query);
	tc.has_query = false;
	assert_int_equal(
	    twilio_verify(&tc, tc.public_url, tc.path, tc.body, tc.token, tc.signature), -1);
	tc.has_query = true;
	strcpy(tc.query, "x=2");
	assert_int_equal(
	    twilio_verify(&tc, tc.public_url, tc.path, tc.body, tc.token, tc.signature), -1);
	free(tc.body);
	json_decref(all);
}

/* ---- GatewayAPI JWT --------------------------------------------------------- */

static char *b64url(const void *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(cap);
	assert_non_null(out);
	sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* header.payload.HS256(secret) */
static char *jwt_make(const char *header, const char *payload, const char *secret)
{
	char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + 2;
	char *signing = malloc(n);
	snprintf(signing, n, "%s.%s", h, p);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
	crypto_auth_hmacsha256_final(&st, mac);
	char *sig = b64url(mac, sizeof(mac));
	size_t tn = n + strlen(sig) + 1;
	char *tok = malloc(tn);
	snprintf(tok, tn, "%s.%s", signing, sig);
	free(h);
	free(p);
	free(signing);
	free(sig);
	return tok;
}

static int gwapi_verify(const char *secret, const char *body, const char *token)
{
	struct gw_sms_settings s = {0};
	set(s.webhook_secret, sizeof(s.webhook_secret), secret);
	struct hdrs h = {{token ? "X-Gwapi-Signature" : NULL}, {token}};
	struct gw_http_in req = request("/hooks/gatewayapi/sms", NULL, body, &h);
	req.content_type = "application/json";
	return gw_sms_gatewayapi.verify(&s, &req);
}

struct gwapi_fixture {
	json_t *root;
	const char *secret;
	const char *token;
	char *body; /* the body as GatewayAPI would post it */
};

static void gwapi_fixture_load(struct gwapi_fixture *f)
{
	f->root = json_load_file(GWAPI_FIXTURE, 0, NULL);
	assert_non_null(f->root);
	f->secret = json_string_value(json_object_get(f->root, "secret"));
	f->token = json_string_value(json_object_get(f->root, "header_X-Gwapi-Signature"));
	f->body = json_dumps(json_object_get(f->root, "body"), JSON_COMPACT);
	assert_non_null(f->secret);
	assert_non_null(f->token);
	assert_non_null(f->body);
}

static void gwapi_fixture_free(struct gwapi_fixture *f)
{
	free(f->body);
	json_decref(f->root);
}

static void test_sms_gatewayapi_fixture_jwt_verifies(void **state)
{
	struct gwapi_fixture f;
	gwapi_fixture_load(&f);
	assert_int_equal(gwapi_verify(f.secret, f.body, f.token), 0);
	/* the same JSON with other key order and spacing is the same body */
	char *pretty = json_dumps(json_object_get(f.root, "body"), JSON_INDENT(2) | JSON_SORT_KEYS);
	assert_int_equal(gwapi_verify(f.secret, pretty, f.token), 0);
	free(pretty);
	gwapi_fixture_free(&f);
}

static void test_sms_gatewayapi_jwt_rejects(void **state)
{
	struct gwapi_fixture f;
	gwapi_fixture_load(&f);

	/* a changed body: message, msisdn, an extra field, not JSON */
	json_t *b = json_deep_copy(json_object_get(f.root, "body"));
	json_object_set_new(b, "message", json_string("CARE noget andet"));
	char *changed = json_dumps(b, JSON_COMPACT);
	assert_int_equal(gwapi_verify(f.secret, changed, f.token), -1);
	free(changed);
	json_decref(b);
	b = json_deep_copy(json_object_get(f.root, "body"));
	json_object_set_new(b, "msisdn", json_integer(4520000000));
	changed = json_dumps(b, JSON_COMPACT);
	assert_int_equal(gwapi_verify(f.secret, changed, f.token), -1);
	free(changed);
	json_object_set_new(b, "msisdn", json_integer(4531559977));
	json_object_set_new(b, "extra", json_true());
	changed = json_dumps(b, JSON_COMPACT);
	assert_int_equal(gwapi_verify(f.secret, changed, f.token), -1);
	free(changed);
	json_decref(b);
	assert_int_equal(gwapi_verify(f.secret, "not json", f.token), -1);
	assert_int_equal(gwapi_verify(f.secret, "", f.token), -1);

	/* wrong secret, no secret configured, no header */
	assert_int_equal(gwapi_verify("another-secret", f.body, f.token), -1);
	assert_int_equal(gwapi_verify("", f.body, f.token), -1);
	assert_int_equal(gwapi_verify(f.secret, f.body, NULL), -1);
	assert_int_equal(gwapi_verify(f.secret, f.body, ""), -1);

	/* alg none: unsigned, and "signed" anyway */
	char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26);
	const char *payload = strchr(f.token, '.') + 1;
	size_t plen = (size_t)(strchr(payload, '.') - payload);
	char none[2048];
	snprintf(none, sizeof(none), "%s.%.*s.", h, (int)plen, payload);
	assert_int_equal(gwapi_verify(f.secret, f.body, none), -1);
	free(h);
	char *none_signed = jwt_make("{\"alg\":\"none\",\"typ\":\"JWT\"}", f.body, f.secret);
	assert_int_equal(gwapi_verify(f.secret, f.body, none_signed), -1);
	free(none_signed);
	/* another alg, correctly HMAC'ed: still refused */
	char *hs512 = jwt_make("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", f.body, f.secret);
	assert_int_equal(gwapi_verify(f.secret, f.body, hs512), -1);
	free(hs512);
	/* our own HS256 token over the same claims is fine (the helper is right) ... */
	char *ours = jwt_make("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", f.body, f.secret);
	assert_int_equal(gwapi_verify(f.secret, f.body, ours), 0);
	free(ours);
	/* ... but a genuine signature over other claims does not vouch for this body */
	char *other = jwt_make("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", "{\"id\":1}", f.secret);
	assert_int_equal(gwapi_verify(f.secret, f.body, other), -1);
	free(other);

	/* malformed tokens */
	static const char *const bad[] = {
	    "garbage", "a.b", "a.b.c.d", "..", "eyJhbGciOiJIUzI1NiJ9..", "!!!.###.$$$",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gwapi_verify(f.secret, f.body, bad[i]), -1);
	char tok[2048];
	snprintf(tok, sizeof(tok), "%s=", f.token); /* padding is not base64url */
	assert_int_equal(gwapi_verify(f.secret, f.body, tok), -1);
	snprintf(tok, sizeof(tok), "%s", f.token);
	tok[strlen(tok) - 2] = '+'; /* not in the url-safe alphabet */
	assert_int_equal(gwapi_verify(f.secret, f.body, tok), -1);
	snprintf(tok, sizeof(tok), "%s", f.token);
	tok[strlen(tok) - 1] = '\0'; /* truncated signature */
	assert_int_equal(gwapi_verify(f.secret, f.body, tok), -1);
	snprintf(tok, sizeof(tok), "%s", f.token);
	tok[strlen(tok) - 5] ^= 1; /* one flipped character */
	assert_int_equal(gwapi_verify(f.secret, f.body, tok), -1);
	gwapi_fixture_free(&f);
}

/* ---- 46elks path secret and basic auth ----------------------------------- */

static void elks_settings(struct gw_sms_settings *s)
{
	memset(s, 0, sizeof(*s));
	set(s->hook_path_secret, sizeof(s->hook_path_secret), "p4th-s3cret");
	set(s->hook_user, sizeof(s->hook_user), "elks");
	set(s->hook_password, sizeof(s->hook_password), "hook-pw");
}

static int elks_verify(const struct gw_sms_settings *s, const char *path, const char *auth)
{
	struct hdrs h = {{auth ? "Authorization" : NULL}, {auth}};
	struct gw_http_in req = request(path, NULL, "id=x", &h);
	return gw_sms_46elks.verify(s, &req);
}

static char *basic(const char *user_pass)
{
	size_t n = strlen(user_pass);
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(cap + 6);
	strcpy(b, "Basic ");
	sodium_bin2base64(b + 6, cap, (const unsigned char *)user_pass, n,
	                  sodium_base64_VARIANT_ORIGINAL);
	return b;
}

static void test_sms_46elks_path_and_basic_auth(void **state)
{
	struct gw_sms_settings s;
	elks_settings(&s);
	char *good = basic("elks:hook-pw");
	char *wrong_pw = basic("elks:hook-pX");
	char *wrong_user = basic("elk:hook-pw");
	char *no_colon = basic("elkshook-pw");

	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", good), 0);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/status", good), 0);
	/* the scheme name is case-insensitive */
	good[0] = 'b';
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", good), 0);

	/* wrong or missing secret segment */
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3creT/sms", good), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cre/sms", good), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret2/sms", good), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/sms", good), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret", good), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/", good), -1);
	assert_int_equal(elks_verify(&s, "/hooks/twilio/p4th-s3cret/sms", good), -1);

	/* wrong credentials, a missing or malformed header */
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", wrong_pw), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", wrong_user), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", no_colon), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", NULL), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", "Bearer abc"), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", "Basic %%%"), -1);
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", "Basic "), -1);

	/* misconfigured = closed */
	s.hook_path_secret[0] = '\0';
	assert_int_equal(elks_verify(&s, "/hooks/46elks//sms", good), -1);
	elks_settings(&s);
	s.hook_password[0] = '\0';
	char *empty_pw = basic("elks:");
	assert_int_equal(elks_verify(&s, "/hooks/46elks/p4th-s3cret/sms", empty_pw), -1);

	free(good);
	free(wrong_pw);
	free(wrong_user);
	free(no_colon);
	free(empty_pw);
}

/* ---- segments --------------------------------------------------------------- */

static void test_sms_segments_fixture_every_line(void **state)
{
	FILE *fp = fopen(SEGMENTS_FIXTURE, "r");
	assert_non_null(fp);
	static char buf[8192];
	int line = 0, rows = 0, failures = 0;
	while (fgets(buf, sizeof(buf), fp)) {
		line++;
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '#' || buf[0] == '\0')
			continue;
		char *f[4] = {buf, NULL, NULL, NULL};
		for (int k = 1; k < 4; k++) {
			char *tab = strchr(f[k - 1], '\t');
			assert_non_null(tab);
			*tab = '\0';
			f[k] = tab + 1;
		}
		struct gw_sms_length l;
		gw_sms_length(f[0], &l);
		const char *enc = l.gsm7 ? "gsm7" : "ucs2";
		if (strcmp(enc, f[1]) != 0 || l.units != atoi(f[2]) || l.segments != atoi(f[3])) {
			print_message("line %d: %s %d %d, want %s %s %s\n", line, enc, l.units,
			              l.segments, f[1], f[2], f[3]);
			failures++;
		}
		rows++;
	}
	fclose(fp);
	assert_true(rows >= 17);
	assert_int_equal(failures, 0);
}

static void test_sms_segments_edges(void **state)
{
	struct gw_sms_length l;
	/* Danish letters and the GSM extras are GSM-7 */
	gw_sms_length("æøåÆØÅ éÄÖÑÜ§¿ ß ΔΩ @$£", &l);
	assert_true(l.gsm7);
	assert_int_equal(l.units, 23);
	/* extension table: two septets each */
	gw_sms_length("^{}\\[~]|€", &l);
	assert_true(l.gsm7);
	assert_int_equal(l.units, 18);
	/* a backtick, a ç, a curly quote: UCS-2 */
	gw_sms_length("`", &l);
	assert_false(l.gsm7);
	gw_sms_length("ç", &l);
	assert_false(l.gsm7);
	gw_sms_length("it’s", &l);
	assert_false(l.gsm7);
	assert_int_equal(l.units, 4);
	/* an emoji is a surrogate pair */
	gw_sms_length("😀", &l);
	assert_false(l.gsm7);
	assert_int_equal(l.units, 2);
	assert_int_equal(l.segments, 1);
	/* an escape pair does not straddle parts: 152 'a', '€', 152 'a' is 306
	 * septets (two parts by division), but '€' cannot start at septet 153,
	 * so the parts are 152 + 153 + 1 */
	char s[1024];
	memset(s, 'a', 152);
	strcpy(s + 152, "€");
	memset(s + 155, 'a', 152);
	s[307] = '\0';
	gw_sms_length(s, &l);
	assert_int_equal(l.units, 306);
	assert_int_equal(l.segments, 3);
	/* 153*2 septets exactly: two parts; one more: three */
	memset(s, 'a', 306);
	s[306] = '\0';
	gw_sms_length(s, &l);
	assert_int_equal(l.segments, 2);
	strcpy(s + 306, "a");
	gw_sms_length(s, &l);
	assert_int_equal(l.segments, 3);
	/* a surrogate pair does not straddle UCS-2 parts: 66 'ç', an emoji, 66
	 * 'ç' is 134 units (two parts by division) but 66 + 67 + 1 */
	s[0] = '\0';
	for (int i = 0; i < 66; i++)
		strcat(s, "ç");
	strcat(s, "😀");
	for (int i = 0; i < 66; i++)
		strcat(s, "ç");
	gw_sms_length(s, &l);
	assert_false(l.gsm7);
	assert_int_equal(l.units, 134);
	assert_int_equal(l.segments, 3);
	/* empty; ill-formed UTF-8 counts as UCS-2 */
	gw_sms_length("", &l);
	assert_true(l.gsm7);
	assert_int_equal(l.units, 0);
	gw_sms_length("a\xff", &l);
	assert_false(l.gsm7);
	assert_int_equal(l.units, 2);
}

/* ---- forms ------------------------------------------------------------------ */

static void test_sms_form_parse_decodes(void **state)
{
	const char *body = "a=1+2&b=%C3%A6&c=%26%3D%2B&d=&e&&f=x=y&a=second&%C3%B8=%c3%b8";
	struct gw_form f;
	assert_int_equal(gw_form_parse(body, strlen(body), &f), 0);
	assert_int_equal(f.n, 8);
	assert_string_equal(gw_form_get(&f, "a"), "1 2"); /* the first value */
	assert_string_equal(gw_form_get(&f, "b"), "æ");
	assert_string_equal(gw_form_get(&f, "c"), "&=+");
	assert_string_equal(gw_form_get(&f, "d"), "");
	assert_string_equal(gw_form_get(&f, "e"), "");
	assert_string_equal(gw_form_get(&f, "f"), "x=y");
	assert_string_equal(gw_form_get(&f, "ø"), "ø");
	assert_null(gw_form_get(&f, "g"));
	assert_string_equal(f.v[6].value, "second"); /* order kept */
	gw_form_free(&f);

	/* len, not NUL, bounds the body */
	assert_int_equal(gw_form_parse("a=1&b=2", 3, &f), 0);
	assert_int_equal(f.n, 1);
	gw_form_free(&f);
	assert_int_equal(gw_form_parse("", 0, &f), 0);
	assert_int_equal(f.n, 0);
	gw_form_free(&f);
}

static void test_sms_form_parse_rejects_bad_escapes(void **state)
{
	static const char *const bad[] = {"a=%zz", "a=%4", "a=%", "%G1=x", "a=%00", "a=1&b=%e"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gw_form f;
		assert_int_equal(gw_form_parse(bad[i], strlen(bad[i]), &f), -1);
		assert_int_equal(f.n, 0);
		assert_null(f.v);
	}
	struct gw_form f;
	assert_int_equal(gw_form_parse("a=1\0b", 5, &f), -1); /* a raw NUL */
}

static void test_sms_form_append_round_trips(void **state)
{
	char *s = NULL;
	assert_int_equal(gw_form_append(&s, "Body", "a b&c=d+e"), 0);
	assert_string_equal(s, "Body=a+b%26c%3Dd%2Be");
	assert_int_equal(gw_form_append(&s, "To", "+4531559977"), 0);
	assert_string_equal(s, "Body=a+b%26c%3Dd%2Be&To=%2B4531559977");
	assert_int_equal(gw_form_append(&s, "Tekst", "Hjælp! 100% ~ æøå 😀"), 0);
	struct gw_form f;
	assert_int_equal(gw_form_parse(s, strlen(s), &f), 0);
	assert_string_equal(gw_form_get(&f, "Body"), "a b&c=d+e");
	assert_string_equal(gw_form_get(&f, "To"), "+4531559977");
	assert_string_equal(gw_form_get(&f, "Tekst"), "Hjælp! 100% ~ æøå 😀");
	gw_form_free(&f);
	free(s);
}

/* ---- phone numbers ---------------------------------------------------------- */

static void test_sms_phone_normalise_variants(void **state)
{
	static const char *const good[] = {
	    "4531559977", "+4531559977", "+45 31 55 99 77", "004531559977",   "0045 31 55 99 77",
	    "31559977",   "31 55 99 77", "+45-3155-9977",   "(+45) 31559977", "+45.31.55.99.77",
	};
	char out[32];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(out, 0, sizeof(out));
		assert_int_equal(gw_phone_normalise(good[i], out, sizeof(out)), 0);
		assert_string_equal(out, "+4531559977");
	}
	assert_int_equal(gw_phone_normalise("+46706861004", out, sizeof(out)), 0);
	assert_string_equal(out, "+46706861004");
	assert_int_equal(gw_phone_normalise("12349013030", out, sizeof(out)), 0);
	assert_string_equal(out, "+12349013030");

	static const char *const bad[] = {
	    "",
	    "CareLine",
	    "1204",
	    "+0123456789",
	    "+4531559977123456",
	    "45+31559977",
	    "++4531559977",
	    "3155 997",
	    "whatsapp:+4531559977",
	    "00031559977",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_phone_normalise(bad[i], out, sizeof(out)), -1);
	assert_int_equal(gw_phone_normalise(NULL, out, sizeof(out)), -1);
	/* the output must fit: "+4531559977" needs 12 bytes */
	assert_int_equal(gw_phone_normalise("4531559977", out, 11), -1);
	assert_int_equal(gw_phone_normalise("4531559977", out, 12), 0);
}

/* ---- inbound ---------------------------------------------------------------- */

static void test_sms_twilio_parse_inbound(void **state)
{
	char *body = NULL;
	static const char *const kv[][2] = {
	    {"ToCountry", "DK"},
	    {"ToState", ""},
	    {"SmsMessageSid", "SM0123456789abcdef0123456789abcdef"},
	    {"NumMedia", "0"},
	    {"ToCity", ""},
	    {"FromZip", ""},
	    {"SmsSid", "SM0123456789abcdef0123456789abcdef"},
	    {"FromState", ""},
	    {"SmsStatus", "received"},
	    {"FromCity", ""},
	    {"Body", "Det lugter forfærdeligt fra nr. 12, 3. tv. & der er fluer"},
	    {"FromCountry", "DK"},
	    {"To", "+4570701234"},
	    {"ToZip", ""},
	    {"NumSegments", "1"},
	    {"MessageSid", "SM0123456789abcdef0123456789abcdef"},
	    {"AccountSid", "AC00000000000000000000000000000000"},
	    {"From", "+4531559977"},
	    {"ApiVersion", "2010-04-01"},
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(gw_form_append(&body, kv[i][0], kv[i][1]), 0);
	struct hdrs h = {{NULL}, {NULL}};
	struct gw_http_in req = request("/hooks/twilio/sms", NULL, body, &h);
	struct gw_sms_inbound in;
	char err[128] = "";
	assert_int_equal(gw_sms_twilio.parse_inbound(&req, &in, err, sizeof(err)), 0);
	assert_string_equal(in.id, "SM0123456789abcdef0123456789abcdef");
	assert_string_equal(in.from, "+4531559977");
	assert_string_equal(in.to, "+4570701234");
	assert_string_equal(in.text, "Det lugter forfærdeligt fra nr. 12, 3. tv. & der er fluer");
	assert_int_equal(in.sent_ms, 0);
	gw_sms_inbound_free(&in);
	assert_null(in.text);
	free(body);

	/* missing From, missing MessageSid, a broken form */
	const char *no_from = "MessageSid=SM1&To=%2B4570701234&Body=hej";
	req = request("/hooks/twilio/sms", NULL, no_from, &h);
	assert_int_equal(gw_sms_twilio.parse_inbound(&req, &in, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "From"));
	assert_null(in.text);
	const char *no_sid = "From=%2B4531559977&To=%2B4570701234&Body=hej";
	req = request("/hooks/twilio/sms", NULL, no_sid, &h);
	assert_int_equal(gw_sms_twilio.parse_inbound(&req, &in, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "MessageSid"));
	req = request("/hooks/twilio/sms", NULL, "Body=%zz", &h);
	assert_int_equal(gw_sms_twilio.parse_inbound(&req, &in, err, sizeof(err)), -1);
	req = request("/hooks/twilio/sms", NULL, "MessageSid=SM1&From=%2B4531559977&To=1&Body=%FF",
	              &h);
	assert_int_equal(gw_sms_twilio.parse_inbound(&req, &in, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "UTF-8"));
}

static void test_sms_46elks_parse_inbound(void **state)
{
	const char *body = "direction=incoming&id=sf8425555e5d8db61dda7a7b3f1b91bdb"
	                   "&from=%2B4531559977&to=%2B4570701234"
	                   "&created=2026-11-23+07%3A00%3A00.123456"
	                   "&message=Der+er+r%C3%B8g+i+opgangen%21";
	struct hdrs h = {{NULL}, {NULL}};
	struct gw_http_in req = request("/hooks/46elks/x/sms", NULL, body, &h);
	struct gw_sms_inbound in;
	char err[128] = "";
	assert_int_equal(gw_sms_46elks.parse_inbound(&req, &in, err, sizeof(err)), 0);
	assert_string_equal(in.id, "sf8425555e5d8db61dda7a7b3f1b91bdb");
	assert_string_equal(in.from, "+4531559977");
	assert_string_equal(in.to, "+4570701234");
	assert_string_equal(in.text, "Der er røg i opgangen!");
	assert_int_equal(in.sent_ms, INT64_C(1795417200123));
	gw_sms_inbound_free(&in);

	/* the documented ISO form with 'T' */
	const char *iso = "id=s1&from=%2B46706861004&to=%2B46706860000"
	                  "&created=2018-07-13T13%3A57%3A23.741000&message=Hello";
	req = request("/hooks/46elks/x/sms", NULL, iso, &h);
	assert_int_equal(gw_sms_46elks.parse_inbound(&req, &in, err, sizeof(err)), 0);
	assert_int_equal(in.sent_ms, INT64_C(1531490243741));
	gw_sms_inbound_free(&in);

	/* an unreadable timestamp loses the time, not the report */
	const char *odd = "id=s2&from=%2B4531559977&to=%2B4570701234&created=yesterday&message=x";
	req = request("/hooks/46elks/x/sms", NULL, odd, &h);
	assert_int_equal(gw_sms_46elks.parse_inbound(&req, &in, err, sizeof(err)), 0);
	assert_int_equal(in.sent_ms, 0);
	gw_sms_inbound_free(&in);

	const char *no_id = "from=%2B4531559977&to=%2B4570701234&message=x";
	req = request("/hooks/46elks/x/sms", NULL, no_id, &h);
	assert_int_equal(gw_sms_46elks.parse_inbound(&req, &in, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "id"));
	const char *no_msg = "id=s3&from=%2B4531559977&to=%2B4570701234";
	req = request("/hooks/46elks/x/sms", NULL, no_msg, &h);
	assert_int_equal(gw_sms_46elks.parse_inbound(&req, &in, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "message"));
}

static void test_sms_gatewayapi_parse_inbound(void **state)
{
	struct gwapi_fixture f;
	gwapi_fixture_load(&f);
	struct hdrs h = {{NULL}, {NULL}};
	struct gw_http_in req = request("/hooks/gatewayapi/sms", NULL, f.body, &h);
	struct gw_sms_inbound in;
	char err[128] = "";
	assert_int_equal(gw_sms_gatewayapi.parse_inbound(&req, &in, err, sizeof(err)), 0);
	assert_string_equal(in.id, "1000001");
	assert_string_equal(in.from, "+4531559977"); /* from the integer msisdn */
	assert_string_equal(in.to, "1204");          /* a short code stays as given */
	assert_string_equal(in.text, "CARE Det lugter fra nr. 12, 3. tv.");
	assert_int_equal(in.sent_ms, INT64_C(1763881200000));
	gw_sms_inbound_free(&in);
	gwapi_fixture_free(&f);

	const char *doc = "{\"id\":1000002,\"msisdn\":4587654321,\"receiver\":451204,"
	                  "\"message\":\"foo Hello World\",\"senttime\":1450000000,"
	                  "\"webhook_label\":\"test\"}";
	req = request("/hooks/gatewayapi/sms", NULL, doc, &h);
	assert_int_equal(gw_sms_gatewayapi.parse_inbound(&req, &in, err, sizeof(err)), 0);
	assert_string_equal(in.from, "+4587654321");
	assert_string_equal(in.to, "451204"); /* too short for E.164: as given */
	gw_sms_inbound_free(&in);

	static const char *const bad[] = {
	    "not json",
	    "[1]",
	    "{\"msisdn\":4531559977,\"receiver\":1204,\"message\":\"x\"}",
	    "{\"id\":1,\"receiver\":1204,\"message\":\"x\"}",
	    "{\"id\":1,\"msisdn\":4531559977,\"receiver\":1204}",
	    "{\"id\":1,\"msisdn\":true,\"receiver\":1204,\"message\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req = request("/hooks/gatewayapi/sms", NULL, bad[i], &h);
		assert_int_equal(gw_sms_gatewayapi.parse_inbound(&req, &in, err, sizeof(err)), -1);
		assert_null(in.text);
	}
}

/* ---- delivery status -------------------------------------------------------- */

static int status(const struct gw_sms_provider *p, const char *body, struct gw_sms_status *st)
{
	struct hdrs h = {{NULL}, {NULL}};
	struct gw_http_in req = request("/hooks/x/status", NULL, body, &h);
	char err[128];
	return p->parse_status(&req, st, err, sizeof(err));
}

static void test_sms_twilio_parse_status(void **state)
{
	struct gw_sms_status st;
	assert_int_equal(status(&gw_sms_twilio,
	                        "SmsSid=SM1&SmsStatus=delivered&MessageStatus=delivered"
	                        "&To=%2B4531559977&MessageSid=SM1&AccountSid=AC1&From=%2B4570701234"
	                        "&ApiVersion=2010-04-01",
	                        &st),
	                 0);
	assert_string_equal(st.id, "SM1");
	assert_int_equal(st.state, GW_SMS_DELIVERED);
	assert_string_equal(st.error, "");
	assert_int_equal(
	    status(&gw_sms_twilio, "MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003", &st),
	    0);
	assert_int_equal(st.state, GW_SMS_UNDELIVERED);
	assert_string_equal(st.error, "30003");
	assert_int_equal(
	    status(&gw_sms_twilio, "MessageSid=SM3&MessageStatus=failed&ErrorCode=30008", &st), 0);
	assert_int_equal(st.state, GW_SMS_FAILED);
	assert_string_equal(st.error, "30008");
	assert_int_equal(status(&gw_sms_twilio, "MessageSid=SM4&MessageStatus=sent", &st), 0);
	assert_int_equal(st.state, GW_SMS_SENT);
	assert_int_equal(status(&gw_sms_twilio, "MessageSid=SM5&MessageStatus=queued", &st), 0);
	assert_int_equal(st.state, GW_SMS_QUEUED);
	assert_int_equal(status(&gw_sms_twilio, "MessageSid=SM6&MessageStatus=exploded", &st), -1);
	assert_int_equal(status(&gw_sms_twilio, "MessageStatus=delivered", &st), -1);
}

static void test_sms_46elks_parse_status(void **state)
{
	struct gw_sms_status st;
	assert_int_equal(status(&gw_sms_46elks,
	                        "id=s70df59406a1b4643b96f3f91e0bfb7b0&status=delivered"
	                        "&delivered=2026-11-23T07%3A00%3A05.000000",
	                        &st),
	                 0);
	assert_string_equal(st.id, "s70df59406a1b4643b96f3f91e0bfb7b0");
	assert_int_equal(st.state, GW_SMS_DELIVERED);
	assert_string_equal(st.error, "");
	assert_int_equal(status(&gw_sms_46elks, "id=s1&status=failed", &st), 0);
	assert_int_equal(st.state, GW_SMS_FAILED);
	assert_int_equal(status(&gw_sms_46elks, "id=s1&status=sent", &st), 0);
	assert_int_equal(st.state, GW_SMS_SENT);
	assert_int_equal(status(&gw_sms_46elks, "id=s1&status=lost", &st), -1);
	assert_int_equal(status(&gw_sms_46elks, "status=sent", &st), -1);
}

static void test_sms_gatewayapi_parse_status(void **state)
{
	struct gw_sms_status st;
	assert_int_equal(status(&gw_sms_gatewayapi,
	                        "{\"id\":1000001,\"msisdn\":4587654321,\"time\":1450000000,"
	                        "\"status\":\"DELIVERED\",\"userref\":\"foobar\"}",
	                        &st),
	                 0);
	assert_string_equal(st.id, "1000001");
	assert_int_equal(st.state, GW_SMS_DELIVERED);
	assert_string_equal(st.error, "");
	assert_int_equal(
	    status(&gw_sms_gatewayapi,
	           "{\"id\":7,\"msisdn\":4531559977,\"time\":1,\"status\":"
	           "\"UNDELIVERABLE\",\"error\":\"Invalid MSISDN\",\"code\":\"0x0214\"}",
	           &st),
	    0);
	assert_int_equal(st.state, GW_SMS_UNDELIVERED);
	assert_string_equal(st.error, "0x0214");
	assert_int_equal(
	    status(&gw_sms_gatewayapi, "{\"id\":7,\"status\":\"UNDELIVERED\",\"code\":2}", &st), 0);
	assert_int_equal(st.state, GW_SMS_UNDELIVERED);
	assert_string_equal(st.error, "2");
	assert_int_equal(status(&gw_sms_gatewayapi, "{\"id\":7,\"status\":\"EXPIRED\"}", &st), 0);
	assert_int_equal(st.state, GW_SMS_UNDELIVERED);
	assert_int_equal(status(&gw_sms_gatewayapi, "{\"id\":7,\"status\":\"REJECTED\"}", &st), 0);
	assert_int_equal(st.state, GW_SMS_FAILED);
	assert_int_equal(status(&gw_sms_gatewayapi, "{\"id\":7,\"status\":\"ENROUTE\"}", &st), 0);
	assert_int_equal(st.state, GW_SMS_SENT);
	assert_int_equal(status(&gw_sms_gatewayapi, "{\"id\":7,\"status\":\"BUFFERED\"}", &st), 0);
	assert_int_equal(st.state, GW_SMS_QUEUED);
	assert_int_equal(status(&gw_sms_gatewayapi, "{\"id\":7,\"status\":\"WEIRD\"}", &st), -1);
	assert_int_equal(status(&gw_sms_gatewayapi, "{\"status\":\"DELIVERED\"}", &st), -1);
	assert_int_equal(status(&gw_sms_gatewayapi, "DELIVERED", &st), -1);
}

/* ---- build_send ------------------------------------------------------------- */

static const char *const DANISH = "Ny henvendelse K7FQ2 - P1 - Nord. Svar 12a & æøå = ok";

static void test_sms_twilio_build_send(void **state)
{
	struct gw_sms_settings s = {0};
	set(s.account, sizeof(s.account), "AC0123456789abcdef0123456789abcdef");
	set(s.secret, sizeof(s.secret), "auth-token");
	set(s.from, sizeof(s.from), "+4570701234");
	struct gw_sms_request r;
	assert_int_equal(gw_sms_twilio.build_send(&s, "+4531559977", DANISH,
	                                          "https://careline.example.dk/hooks/twilio/status",
	                                          &r),
	                 0);
	assert_string_equal(r.url, "https://api.twilio.com/2010-04-01/Accounts/"
	                           "AC0123456789abcdef0123456789abcdef/Messages.json");
	assert_string_equal(r.content_type, "application/x-www-form-urlencoded");
	assert_string_equal(r.user, "AC0123456789abcdef0123456789abcdef");
	assert_string_equal(r.password, "auth-token");
	struct gw_form f;
	assert_int_equal(gw_form_parse(r.body, strlen(r.body), &f), 0);
	assert_int_equal(f.n, 4);
	assert_string_equal(gw_form_get(&f, "To"), "+4531559977");
	assert_string_equal(gw_form_get(&f, "From"), "+4570701234");
	assert_string_equal(gw_form_get(&f, "Body"), DANISH);
	assert_string_equal(gw_form_get(&f, "StatusCallback"),
	                    "https://careline.example.dk/hooks/twilio/status");
	gw_form_free(&f);
	gw_sms_request_free(&r);
	assert_null(r.body);

	/* the fake provider's base; no status URL */
	set(s.api_base, sizeof(s.api_base), "http://127.0.0.1:18080/");
	assert_int_equal(gw_sms_twilio.build_send(&s, "31559977", "hej", NULL, &r), 0);
	assert_string_equal(r.url, "http://127.0.0.1:18080/2010-04-01/Accounts/"
	                           "AC0123456789abcdef0123456789abcdef/Messages.json");
	assert_string_equal(r.body, "To=%2B4531559977&From=%2B4570701234&Body=hej");
	gw_sms_request_free(&r);

	/* bad input */
	assert_int_equal(gw_sms_twilio.build_send(&s, "not a number", "hej", NULL, &r), -1);
	assert_int_equal(gw_sms_twilio.build_send(&s, "+4531559977", "", NULL, &r), -1);
	assert_int_equal(gw_sms_twilio.build_send(&s, "+4531559977", "\xff", NULL, &r), -1);
	set(s.account, sizeof(s.account), "AC/../x");
	assert_int_equal(gw_sms_twilio.build_send(&s, "+4531559977", "hej", NULL, &r), -1);
	s.account[0] = '\0';
	assert_int_equal(gw_sms_twilio.build_send(&s, "+4531559977", "hej", NULL, &r), -1);
}

static void test_sms_46elks_build_send(void **state)
{
	struct gw_sms_settings s = {0};
	set(s.account, sizeof(s.account), "u0123456789abcdef");
	set(s.secret, sizeof(s.secret), "api-password");
	set(s.from, sizeof(s.from), "Careline");
	struct gw_sms_request r;
	assert_int_equal(
	    gw_sms_46elks.build_send(&s, "+4531559977", DANISH,
	                             "https://careline.example.dk/hooks/46elks/x/status", &r),
	    0);
	assert_string_equal(r.url, "https://api.46elks.com/a1/sms");
	assert_string_equal(r.content_type, "application/x-www-form-urlencoded");
	assert_string_equal(r.user, "u0123456789abcdef");
	assert_string_equal(r.password, "api-password");
	struct gw_form f;
	assert_int_equal(gw_form_parse(r.body, strlen(r.body), &f), 0);
	assert_int_equal(f.n, 4);
	assert_string_equal(gw_form_get(&f, "from"), "Careline");
	assert_string_equal(gw_form_get(&f, "to"), "+4531559977");
	assert_string_equal(gw_form_get(&f, "message"), DANISH);
	assert_string_equal(gw_form_get(&f, "whendelivered"),
	                    "https://careline.example.dk/hooks/46elks/x/status");
	gw_form_free(&f);
	gw_sms_request_free(&r);

	set(s.api_base, sizeof(s.api_base), "http://127.0.0.1:18081");
	assert_int_equal(gw_sms_46elks.build_send(&s, "+4531559977", "hej", NULL, &r), 0);
	assert_string_equal(r.url, "http://127.0.0.1:18081/a1/sms");
	assert_null(strstr(r.body, "whendelivered"));
	gw_sms_request_free(&r);
	s.secret[0] = '\0';
	assert_int_equal(gw_sms_46elks.build_send(&s, "+4531559977", "hej", NULL, &r), -1);
}

static void test_sms_gatewayapi_build_send(void **state)
{
	struct gw_sms_settings s = {0};
	set(s.secret, sizeof(s.secret), "gwapi-token");
	set(s.from, sizeof(s.from), "+4570701234");
	struct gw_sms_request r;
	assert_int_equal(
	    gw_sms_gatewayapi.build_send(&s, "+4531559977", DANISH,
	                                 "https://careline.example.dk/hooks/gatewayapi/status", &r),
	    0);
	assert_string_equal(r.url, "https://gatewayapi.com/rest/mtsms");
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.user, "gwapi-token");
	assert_string_equal(r.password, "");
	json_t *j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "sender")), "4570701234");
	assert_string_equal(json_string_value(json_object_get(j, "message")), DANISH);
	json_t *rcpt = json_object_get(j, "recipients");
	assert_int_equal(json_array_size(rcpt), 1);
	json_t *msisdn = json_object_get(json_array_get(rcpt, 0), "msisdn");
	assert_true(json_is_integer(msisdn));
	assert_true(json_integer_value(msisdn) == 4531559977LL);
	assert_string_equal(json_string_value(json_object_get(j, "callback_url")),
	                    "https://careline.example.dk/hooks/gatewayapi/status");
	assert_null(json_object_get(j, "encoding")); /* Danish stays GSM-7 */
	json_decref(j);
	gw_sms_request_free(&r);

	/* a text sender stays; non-GSM text asks for UCS2; no callback */
	set(s.from, sizeof(s.from), "Careline");
	set(s.api_base, sizeof(s.api_base), "http://127.0.0.1:18082");
	assert_int_equal(gw_sms_gatewayapi.build_send(&s, "31559977", "Ny · P1 😀", NULL, &r), 0);
	assert_string_equal(r.url, "http://127.0.0.1:18082/rest/mtsms");
	j = json_loads(r.body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "sender")), "Careline");
	assert_string_equal(json_string_value(json_object_get(j, "encoding")), "UCS2");
	assert_null(json_object_get(j, "callback_url"));
	json_decref(j);
	gw_sms_request_free(&r);
	assert_int_equal(gw_sms_gatewayapi.build_send(&s, "Careline", "hej", NULL, &r), -1);
}

/* ---- parse_send ------------------------------------------------------------- */

struct send_case {
	long status;
	const char *body;
	bool ok, permanent;
	const char *id_or_error;
};

static void check_send(const struct gw_sms_provider *p, const struct send_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gw_sms_result r;
		p->parse_send(c[i].status, c[i].body, c[i].body ? strlen(c[i].body) : 0, &r);
		if (r.ok != c[i].ok || r.permanent != c[i].permanent ||
		    strcmp(c[i].ok ? r.provider_id : r.error, c[i].id_or_error) != 0) {
			print_message("%s case %zu (%ld): ok=%d permanent=%d id=%s error=%s\n",
			              p->name, i, c[i].status, r.ok, r.permanent, r.provider_id,
			              r.error);
			fail();
		}
	}
}

static void test_sms_twilio_parse_send(void **state)
{
	static const struct send_case c[] = {
	    {201,
	     "{\"account_sid\":\"AC1\",\"sid\":\"SM0123456789abcdef0123456789abcdef\","
	     "\"status\":\"queued\",\"to\":\"+4531559977\"}",
	     true, false, "SM0123456789abcdef0123456789abcdef"},
	    {200, "{\"sid\":\"SM1\",\"status\":\"accepted\"}", true, false, "SM1"},
	    {400,
	     "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed recipient\","
	     "\"more_info\":\"https://www.twilio.com/docs/errors/21610\",\"status\":400}",
	     false, true, "21610"},
	    {400, "{\"code\":21614,\"message\":\"not a mobile number\",\"status\":400}", false,
	     true, "21614"},
	    {400, "{\"code\":21211,\"message\":\"Invalid 'To' Phone Number\",\"status\":400}",
	     false, true, "21211"},
	    {400, "{\"code\":21608,\"status\":400}", false, true, "21608"},
	    {400, "{\"code\":21408,\"status\":400}", false, true, "21408"},
	    {401, "{\"code\":20003,\"message\":\"Authenticate\",\"status\":401}", false, true,
	     "20003"},
	    {401, "", false, true, "http_401"},
	    {429, "{\"code\":20429,\"message\":\"Too Many Requests\",\"status\":429}", false, false,
	     "20429"},
	    {500, "", false, false, "http_500"},
	    {503, "<html>busy</html>", false, false, "http_503"},
	    {400, "{\"code\":21602,\"message\":\"Message body is required\"}", false, false,
	     "21602"},
	    {201, "{\"status\":\"queued\"}", false, false, "http_201"},
	    {0, NULL, false, false, "http_0"},
	};
	check_send(&gw_sms_twilio, c, sizeof(c) / sizeof(c[0]));
}

static void test_sms_46elks_parse_send(void **state)
{
	static const struct send_case c[] = {
	    {200,
	     "{\"status\":\"created\",\"direction\":\"outgoing\",\"from\":\"Careline\","
	     "\"created\":\"2026-11-23T07:00:00.123456\",\"parts\":1,\"to\":\"+4531559977\","
	     "\"cost\":3500,\"message\":\"x\",\"id\":\"s70df59406a1b4643b96f3f91e0bfb7b0\"}",
	     true, false, "s70df59406a1b4643b96f3f91e0bfb7b0"},
	    {401, "Unauthorized", false, true, "http_401"},
	    {403, "Not enough credits", false, true, "http_403"},
	    {400, "Invalid to number", false, true, "http_400"},
	    {400, "Invalid phone number", false, true, "http_400"},
	    {400, "Missing key message", false, false, "http_400"},
	    {429, "Too many requests", false, false, "http_429"},
	    {500, "", false, false, "http_500"},
	    {503, NULL, false, false, "http_503"},
	    {200, "{\"status\":\"created\"}", false, false, "http_200"},
	};
	check_send(&gw_sms_46elks, c, sizeof(c) / sizeof(c[0]));
}

static void test_sms_gatewayapi_parse_send(void **state)
{
	static const struct send_case c[] = {
	    {200, "{\"ids\":[421332671],\"usage\":{\"countries\":{\"DK\":1}}}", true, false,
	     "421332671"},
	    {401, "{\"code\":\"0x0101\",\"message\":\"Invalid API key\"}", false, true, "0x0101"},
	    {403,
	     "{\"code\":\"0x0213\",\"incident_uuid\":\"d8127429-fa0c-4316-b1f2-e610c3958f43\","
	     "\"message\":\"Unauthorized IP-address: %1\",\"variables\":[\"1.2.3.4\"]}",
	     false, true, "0x0213"},
	    {400, "{\"message\":\"Invalid msisdn\"}", false, true, "http_400"},
	    {422, "{\"message\":\"Invalid json request body\"}", false, true, "http_422"},
	    {429, "", false, false, "http_429"},
	    {500, "{\"message\":\"exception\"}", false, false, "http_500"},
	    {502, NULL, false, false, "http_502"},
	    {200, "{\"usage\":{}}", false, false, "http_200"},
	};
	check_send(&gw_sms_gatewayapi, c, sizeof(c) / sizeof(c[0]));
}

/* ---- webhook replies ---------------------------------------------------------- */

static void test_sms_twilio_twiml_escapes(void **state)
{
	const char *ct = NULL;
	char *x = gw_sms_twilio.webhook_reply("Tak <&> \"K7FQ2\" 'ok' æøå ÆØÅ", &ct);
	assert_non_null(x);
	assert_string_equal(ct, "text/xml");
	assert_string_equal(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>"
	                       "Tak &lt;&amp;&gt; &quot;K7FQ2&quot; &apos;ok&apos; æøå ÆØÅ"
	                       "</Message></Response>");
	free(x);
	x = gw_sms_twilio.webhook_reply(NULL, &ct);
	assert_string_equal(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>");
	assert_null(strstr(x, "<Message>"));
	free(x);
	/* control characters XML cannot carry are dropped, newlines kept */
	x = gw_sms_twilio.webhook_reply("a\x01\nb", &ct);
	assert_non_null(strstr(x, "<Message>a\nb</Message>"));
	free(x);
}

static void test_sms_other_replies(void **state)
{
	const char *ct = NULL;
	char *r = gw_sms_46elks.webhook_reply("Tak. Din henvendelse har nummer K7FQ2.", &ct);
	assert_string_equal(r, "Tak. Din henvendelse har nummer K7FQ2.");
	assert_int_equal(strncmp(ct, "text/plain", 10), 0);
	free(r);
	r = gw_sms_46elks.webhook_reply(NULL, &ct);
	assert_string_equal(r, "");
	free(r);
	r = gw_sms_gatewayapi.webhook_reply("ignored", &ct);
	assert_string_equal(r, "{}");
	assert_string_equal(ct, "application/json");
	free(r);
	assert_true(gw_sms_twilio.reply_in_webhook);
	assert_true(gw_sms_46elks.reply_in_webhook);
	assert_false(gw_sms_gatewayapi.reply_in_webhook);
}

static void test_sms_registry_and_names(void **state)
{
	assert_ptr_equal(gw_sms_provider_find("twilio"), &gw_sms_twilio);
	assert_ptr_equal(gw_sms_provider_find("46elks"), &gw_sms_46elks);
	assert_ptr_equal(gw_sms_provider_find("gatewayapi"), &gw_sms_gatewayapi);
	assert_null(gw_sms_provider_find("Twilio"));
	assert_null(gw_sms_provider_find(""));
	assert_null(gw_sms_provider_find(NULL));
	assert_string_equal(gw_sms_delivery_name(GW_SMS_QUEUED), "queued");
	assert_string_equal(gw_sms_delivery_name(GW_SMS_SENT), "sent");
	assert_string_equal(gw_sms_delivery_name(GW_SMS_DELIVERED), "delivered");
	assert_string_equal(gw_sms_delivery_name(GW_SMS_UNDELIVERED), "undelivered");
	assert_string_equal(gw_sms_delivery_name(GW_SMS_FAILED), "failed");
	assert_true(gw_sms_streq_ct("abc", "abc"));
	assert_false(gw_sms_streq_ct("abc", "abd"));
	assert_false(gw_sms_streq_ct("abc", "abcd"));
	char small[4];
	assert_int_equal(gw_sms_copy(small, sizeof(small), "abcd"), -1);
	assert_string_equal(small, "");
	assert_true(gw_sms_utf8_valid("æøå 😀", strlen("æøå 😀")));
	assert_false(gw_sms_utf8_valid("\xc3\x28", 2));
	assert_false(gw_sms_utf8_valid("\xed\xa0\x80", 3)); /* a surrogate */
	assert_false(gw_sms_utf8_valid("\xc0\xaf", 2));     /* overlong */
	assert_false(gw_sms_utf8_valid("a\0b", 3));
}

static int setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sms_twilio_fixture_signatures_verify),
	    cmocka_unit_test(test_sms_twilio_tampering_fails),
	    cmocka_unit_test(test_sms_twilio_query_is_signed),
	    cmocka_unit_test(test_sms_gatewayapi_fixture_jwt_verifies),
	    cmocka_unit_test(test_sms_gatewayapi_jwt_rejects),
	    cmocka_unit_test(test_sms_46elks_path_and_basic_auth),
	    cmocka_unit_test(test_sms_segments_fixture_every_line),
	    cmocka_unit_test(test_sms_segments_edges),
	    cmocka_unit_test(test_sms_form_parse_decodes),
	    cmocka_unit_test(test_sms_form_parse_rejects_bad_escapes),
	    cmocka_unit_test(test_sms_form_append_round_trips),
	    cmocka_unit_test(test_sms_phone_normalise_variants),
	    cmocka_unit_test(test_sms_twilio_parse_inbound),
	    cmocka_unit_test(test_sms_46elks_parse_inbound),
	    cmocka_unit_test(test_sms_gatewayapi_parse_inbound),
	    cmocka_unit_test(test_sms_twilio_parse_status),
	    cmocka_unit_test(test_sms_46elks_parse_status),
	    cmocka_unit_test(test_sms_gatewayapi_parse_status),
	    cmocka_unit_test(test_sms_twilio_build_send),
	    cmocka_unit_test(test_sms_46elks_build_send),
	    cmocka_unit_test(test_sms_gatewayapi_build_send),
	    cmocka_unit_test(test_sms_twilio_parse_send),
	    cmocka_unit_test(test_sms_46elks_parse_send),
	    cmocka_unit_test(test_sms_gatewayapi_parse_send),
	    cmocka_unit_test(test_sms_twilio_twiml_escapes),
	    cmocka_unit_test(test_sms_other_replies),
	    cmocka_unit_test(test_sms_registry_and_names),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
