/*
 * tests/fuzz/fuzz_json_report.c: report and action payloads as JSON, shared
 * by POST /api/v1/reports and MQTT .../report (gw_json_to_report,
 * gateway/json_report.c) after jansson has parsed the bytes as both paths do
 * (JSON_REJECT_DUPLICATES). The MQTT action payload ({"ticket", "action",
 * "notification_id", "reason", "note"}) is read inside mqtt.c's static
 * handle_ack, out of reach; its public pieces are fuzzed here:
 * cl_action_parse and cl_ref_canonical. A report that parses goes on as
 * core/intake.c takes it: its address string through cl_address_parse, its
 * address fields through cl_address_link_key and cl_address_format.
 * Checked: an accepted report has a text and a lowercase UUID key.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/gateway.h"
#include "careline/normalise.h"
#include "careline/ref.h"
#include "careline/report.h"
#include "careline/service.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

static void address(const struct cl_address *a)
{
	char buf[256];
	cl_address_link_key(a, buf, sizeof(buf));
	cl_address_format(a, buf, sizeof(buf));
	(void)cl_address_empty(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return 0;

	struct cl_report r;
	cl_report_init(&r);
	char err[200];
	if (gw_json_to_report(o, &r, err, sizeof(err)) == CL_OK) {
		if (!r.text || !gw_is_uuid(r.key) || strcspn(r.key, "ABCDEF") != strlen(r.key)) {
			fprintf(stderr, "fuzz_json_report: accepted without a text or UUID key\n");
			abort();
		}
		struct cl_address parsed;
		if (r.address_text && cl_address_parse(r.address_text, &parsed))
			address(&parsed);
		address(&r.address);
	}
	cl_report_free(&r);

	/* The action payload's fields. */
	json_t *action = json_object_get(o, "action");
	enum cl_action_kind kind;
	if (json_is_string(action))
		(void)cl_action_parse(json_string_value(action), &kind);
	json_t *ticket = json_object_get(o, "ticket");
	char ref[CL_REF_MAX];
	if (json_is_string(ticket))
		(void)cl_ref_canonical(json_string_value(ticket), ref);
	json_decref(o);
	return 0;
}
