/*
 * tests/fuzz/fuzz_sms_webhook.c: the SMS providers' webhook parsers
 * (parse_inbound and parse_status of gateway/sms_twilio.c, sms_46elks.c,
 * sms_gatewayapi.c, found with gw_sms_provider_find) and their parsers of
 * send answers (parse_send). The input is a request in the text form of
 * common.h; every provider parses every body, since form and JSON bodies
 * mutate into each other. A parsed text then goes where gateway/sms.c's
 * inbound() sends it: cl_fold into its 64-byte buffer and gw_sms_length.
 * Checked: what parse_inbound accepts keeps the promises of gateway/sms.h
 * (an id, a sender in E.164 with '+', UTF-8 text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/sms.h"
#include "careline/fold.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

static void check_inbound(const char *prov, const struct gw_sms_inbound *m)
{
	size_t nf = strlen(m->from);
	const char *bad = NULL;
	if (!m->id[0])
		bad = "empty id";
	else if (nf < 8 || nf > 16 || m->from[0] != '+' ||
	         strspn(m->from + 1, "0123456789") != nf - 1)
		bad = "from is not E.164";
	else if (!m->text || !gw_sms_utf8_valid(m->text, strlen(m->text)))
		bad = "text is not UTF-8";
	if (bad) {
		fprintf(stderr, "fuzz_sms_webhook: %s parse_inbound accepted: %s\n", prov, bad);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_request r;
	fz_request_parse(data, size, &r);
	struct gw_http_in in;
	fz_request_in(&r, &in);
	static const char *const names[] = {"twilio", "46elks", "gatewayapi"};
	static const long statuses[] = {200, 201, 400, 401, 404, 429, 500};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct gw_sms_provider *p = gw_sms_provider_find(names[i]);
		if (!p)
			abort();
		char err[128];
		struct gw_sms_inbound m;
		if (p->parse_inbound(&in, &m, err, sizeof(err)) == 0) {
			check_inbound(names[i], &m);
			char folded[64];
			cl_fold(m.text, folded, sizeof(folded));
			struct gw_sms_length len;
			gw_sms_length(m.text, &len);
		}
		gw_sms_inbound_free(&m);

		struct gw_sms_status st;
		if (p->parse_status(&in, &st, err, sizeof(err)) == 0)
			(void)gw_sms_delivery_name(st.state);

		for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
			struct gw_sms_result res;
			p->parse_send(statuses[k], r.body, r.body_len, &res);
		}
	}
	fz_request_free(&r);
	return 0;
}
