/*
 * tests/fuzz/fuzz_ivr_callback.c: the hotline's callback parsers
 * (gw_ivr_twilio.parse, gw_ivr_46elks.parse, gateway/ivr.h) and their parsers
 * of call answers (parse_call). The input is a request in the text form of
 * common.h; both providers parse every body. A parsed recording then goes
 * where ivr_fetch.c sends it: fetch_url and delete_url, which decide which
 * URL gets the provider's credentials. Checked: a fetch URL is always on the
 * configured API host (the callback's RecordingUrl / wav is attacker text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/ivr.h"
#include "common.h"

static struct gw_sms_settings settings = {
    .provider = "twilio",
    .public_url = "https://careline.example.dk",
    .api_base = "https://api.example.test",
    .account = "AC00000000000000000000000000000000",
    .secret = "s3cr3t-auth-token",
    .from = "+4570701234",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

static void fetch(const struct gw_ivr_provider *p, const struct gw_sms_settings *s,
                  const struct gw_ivr_callback *cb)
{
	char url[GW_IVR_URL_MAX + 16];
	if (p->fetch_url(s, cb->recording_id, cb->recording_url, url, sizeof(url)) == 0) {
		const char *base = s->api_base[0]                   ? s->api_base
		                   : strcmp(p->name, "twilio") == 0 ? "https://api.twilio.com"
		                                                    : "https://api.46elks.com";
		size_t n = strlen(base);
		if (strncmp(url, base, n) != 0 || url[n] != '/') {
			fprintf(stderr, "fuzz_ivr_callback: %s fetch_url left the API host\n",
			        p->name);
			abort();
		}
	}
	char del[GW_IVR_URL_MAX];
	(void)p->delete_url(s, cb->recording_id, del, sizeof(del));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_request r;
	fz_request_parse(data, size, &r);
	struct gw_http_in in;
	fz_request_in(&r, &in);
	const struct gw_ivr_provider *provs[] = {gw_ivr_provider_find("twilio"),
	                                         gw_ivr_provider_find("46elks")};
	static const long statuses[] = {200, 201, 400, 401, 403, 429, 500};
	for (size_t i = 0; i < sizeof(provs) / sizeof(provs[0]); i++) {
		const struct gw_ivr_provider *p = provs[i];
		if (!p)
			abort();
		struct gw_ivr_callback cb;
		char err[64] = "";
		if (p->parse(&in, &cb, err, sizeof(err)) == 0) {
			struct gw_sms_settings s = settings;
			fetch(p, &s, &cb);
			s.api_base[0] = '\0'; /* the provider's real host */
			fetch(p, &s, &cb);
		}
		for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
			struct gw_sms_result res;
			p->parse_call(statuses[k], r.body, r.body_len, &res);
		}
	}
	fz_request_free(&r);
	return 0;
}
