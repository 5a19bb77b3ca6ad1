/*
 * tests/fuzz/fuzz_api_fields.c: the small string parsers behind API, MQTT,
 * SMS and config fields: times (cl_time_parse: GET /api/v1/oncall?at=,
 * overrides' start and end), ticket refs typed by people (cl_ref_canonical,
 * cl_ref_to_id), report ids (gw_is_uuid), opening hours (cl_hours_parse) and
 * the enum names (categories, urgency, actions, ticket states, escalation
 * phases, call steps, log levels). The input is one field's text. Checked:
 * an instant formats and parses back to itself (to the second); a ref that
 * decodes encodes back to its canonical form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/gateway.h"
#include "careline/calendar.h"
#include "careline/call.h"
#include "careline/clock.h"
#include "careline/log.h"
#include "careline/ref.h"
#include "careline/report.h"
#include "careline/service.h"
#include "careline/ticket.h"
#include "common.h"

/* 9999-12-30T00:00:00Z: later instants may format with a 5-digit year. */
#define LAST_MS 253402128000000LL

static unsigned char ref_key[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	for (size_t i = 0; i < sizeof(ref_key); i++)
		ref_key[i] = (unsigned char)(0xA5 ^ i);
	return 0;
}

static void bad(const char *what, const char *s)
{
	fprintf(stderr, "fuzz_api_fields: %s: \"%.80s\"\n", what, s);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_string(data, size);

	int64_t ms;
	if (cl_time_parse(s, &ms) == 0 && ms >= 0 && ms < LAST_MS) {
		char buf[32];
		int64_t back;
		cl_time_format(ms, buf, sizeof(buf));
		if (cl_time_parse(buf, &back) != 0 || back != ms - ms % 1000)
			bad("an instant does not format and parse back", s);
	}

	char canon[CL_REF_MAX], again[CL_REF_MAX];
	int64_t id;
	if (cl_ref_canonical(s, canon) && cl_ref_to_id(ref_key, s, &id)) {
		cl_ref_from_id(ref_key, id, again);
		if (strcmp(canon, again) != 0)
			bad("a ref does not encode back", s);
	}
	(void)gw_is_uuid(s);

	struct cl_hours h;
	if (cl_hours_parse(s, &h) == CL_OK && (h.n < 1 || h.n > CL_HOURS_MAX_WINDOWS))
		bad("hours without windows", s);

	enum cl_category cat;
	struct cl_categories cats;
	enum cl_urgency u;
	enum cl_action_kind act;
	enum cl_ticket_state st;
	enum cl_esc_phase ph;
	enum cl_call_step step;
	enum cl_log_level lvl;
	char buf[256];
	(void)cl_category_parse(s, &cat);
	if (cl_categories_parse(s, &cats) == CL_OK)
		cl_categories_format(&cats, buf, sizeof(buf));
	(void)cl_urgency_parse(s, &u);
	(void)cl_action_parse(s, &act);
	(void)cl_ticket_state_parse(s, &st);
	(void)cl_esc_phase_parse(s, &ph);
	(void)cl_call_step_parse(s, &step);
	(void)cl_log_level_parse(s, &lvl);
	free(s);
	return 0;
}
