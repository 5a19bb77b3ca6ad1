/*
 * tests/fuzz/fuzz_webhook_verify.c: webhook authentication, the providers'
 * verify (gateway/sms_twilio.c X-Twilio-Signature, sms_gatewayapi.c
 * X-Gwapi-Signature JWT, sms_46elks.c secret path and basic auth), with fixed
 * settings and secrets. The input is a request in the text form of common.h:
 * path, query, signature headers and body all come from it. Every provider
 * checks every request as given; then again signed correctly by the harness
 * (Twilio: HMAC-SHA1 over URL and sorted parameters; GatewayAPI: the input's
 * JWT header and claims re-signed; 46elks: the right credentials), so the
 * fuzzer gets past the MAC to the body and claims checks. Checked: a request
 * Twilio-signed over what it carries verifies; with the right credentials
 * 46elks accepts exactly the paths under its secret segment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "../../gateway/sms.h"
#include "common.h"

#define PUBLIC_URL  "https://careline.example.dk"
#define ELKS_SECRET "hook-secret-1"
#define ELKS_USER   "elks"
#define ELKS_PASS   "elks-password"

static const struct gw_sms_settings twilio_set = {
    .provider = "twilio",
    .public_url = PUBLIC_URL,
    .account = "AC00000000000000000000000000000000",
    .secret = "s3cr3t-auth-token",
};
static const struct gw_sms_settings elks_set = {
    .provider = "46elks",
    .public_url = PUBLIC_URL,
    .account = "u0123456789abcdef0123456789abcdef",
    .secret = "api-password",
    .hook_path_secret = ELKS_SECRET,
    .hook_user = ELKS_USER,
    .hook_password = ELKS_PASS,
};
static const struct gw_sms_settings gwapi_set = {
    .provider = "gatewayapi",
    .public_url = PUBLIC_URL,
    .secret = "gwapi-rest-token",
    .webhook_secret = "gwapi-webhook-secret",
};

/* The request's headers with one replaced. */
struct override {
	const struct fz_request *r;
	const char *name;
	const char *value;
};

static const char *header_with(void *ctx, const char *name)
{
	const struct override *o = ctx;
	if (strcasecmp(name, o->name) == 0)
		return o->value;
	return fz_request_header(o->r, name);
}

static int verify_with(const struct gw_sms_provider *p, const struct gw_sms_settings *s,
                       const struct gw_http_in *base, const struct fz_request *r, const char *name,
                       const char *value)
{
	struct override o = {r, name, value};
	struct gw_http_in in = *base;
	in.header = header_with;
	in.header_ctx = &o;
	return p->verify(s, &in);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct gw_form_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* Twilio's signature of the request, as Twilio computes it: base64 of
 * HMAC-SHA1(auth token, URL + each name and value sorted by name). false when
 * the body is not a form or the URL is out of the harness's range. */
static bool twilio_sign(const struct fz_request *r, char *out, size_t len)
{
	struct gw_form f;
	if (gw_form_parse(r->body ? r->body : "", r->body_len, &f) != 0)
		return false;
	/* Twilio refuses URLs of 1024 bytes or more; keep clear of that edge. */
	size_t url_len =
	    strlen(PUBLIC_URL) + strlen(r->path) + (r->query ? 1 + strlen(r->query) : 0);
	size_t total = url_len + 1;
	for (size_t i = 0; i < f.n; i++)
		total += strlen(f.v[i].name) + strlen(f.v[i].value);
	char *s = malloc(total);
	bool ok = s && url_len < 1000;
	if (ok) {
		char *o = stpcpy(stpcpy(s, PUBLIC_URL), r->path);
		if (r->query && *r->query)
			o = stpcpy(stpcpy(o, "?"), r->query);
		if (f.n)
			qsort(f.v, f.n, sizeof(*f.v), pair_cmp);
		for (size_t i = 0; i < f.n; i++)
			o = stpcpy(stpcpy(o, f.v[i].name), f.v[i].value);
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		ok = HMAC(EVP_sha1(), twilio_set.secret, (int)strlen(twilio_set.secret),
		          (const unsigned char *)s, strlen(s), mac, &maclen) &&
		     maclen == 20;
		if (ok)
			sodium_bin2base64(out, len, mac, maclen, sodium_base64_VARIANT_ORIGINAL);
	}
	free(s);
	gw_form_free(&f);
	return ok;
}

/* The input's JWT ("header.claims.anything") signed with the webhook secret:
 * "header.claims.MAC". Caller frees; NULL when it has no two dots. */
static char *gwapi_resign(const char *tok)
{
	const char *d1 = tok ? strchr(tok, '.') : NULL;
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d2)
		return NULL;
	size_t n = (size_t)(d2 - tok);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)gwapi_set.webhook_secret,
	                            strlen(gwapi_set.webhook_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, n);
	crypto_auth_hmacsha256_final(&st, mac);
	size_t b64 =
	    sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(n + 1 + b64);
	if (!out)
		return NULL;
	memcpy(out, tok, n);
	out[n] = '.';
	sodium_bin2base64(out + n + 1, b64, mac, sizeof(mac),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	if (sodium_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct gw_sms_provider *twilio = gw_sms_provider_find("twilio");
	const struct gw_sms_provider *elks = gw_sms_provider_find("46elks");
	const struct gw_sms_provider *gwapi = gw_sms_provider_find("gatewayapi");
	if (!twilio || !elks || !gwapi)
		abort();
	struct fz_request r;
	fz_request_parse(data, size, &r);
	struct gw_http_in in;
	fz_request_in(&r, &in);

	/* As given. */
	(void)twilio->verify(&twilio_set, &in);
	(void)elks->verify(&elks_set, &in);
	(void)gwapi->verify(&gwapi_set, &in);

	/* Twilio, signed over what the request carries. */
	char sig[64];
	if (twilio_sign(&r, sig, sizeof(sig)) &&
	    verify_with(twilio, &twilio_set, &in, &r, "X-Twilio-Signature", sig) != 0) {
		fprintf(stderr, "fuzz_webhook_verify: a correctly signed Twilio request refused\n");
		abort();
	}

	/* 46elks, with the right credentials: only the path decides. */
	char auth[128] = "Basic ";
	sodium_bin2base64(auth + 6, sizeof(auth) - 6,
	                  (const unsigned char *)ELKS_USER ":" ELKS_PASS,
	                  strlen(ELKS_USER ":" ELKS_PASS), sodium_base64_VARIANT_ORIGINAL);
	static const char prefix[] = "/hooks/46elks/" ELKS_SECRET "/";
	bool path_ok =
	    strncmp(r.path, prefix, sizeof(prefix) - 1) == 0 && r.path[sizeof(prefix) - 1] != '\0';
	if ((verify_with(elks, &elks_set, &in, &r, "Authorization", auth) == 0) != path_ok) {
		fprintf(stderr, "fuzz_webhook_verify: 46elks %s a path it should %s\n",
		        path_ok ? "refused" : "accepted", path_ok ? "accept" : "refuse");
		abort();
	}

	/* GatewayAPI, the input's token re-signed: the claims must match the body. */
	char *tok = gwapi_resign(fz_request_header(&r, "X-Gwapi-Signature"));
	if (tok) {
		(void)verify_with(gwapi, &gwapi_set, &in, &r, "X-Gwapi-Signature", tok);
		free(tok);
	}
	fz_request_free(&r);
	return 0;
}
