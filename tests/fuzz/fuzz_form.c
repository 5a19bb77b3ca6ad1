/*
 * tests/fuzz/fuzz_form.c: application/x-www-form-urlencoded bodies
 * (gw_form_parse, gateway/sms_codec.c), which every Twilio and 46elks webhook
 * goes through before anything is checked. The input is the body. A body
 * that parses is encoded again with gw_form_append and must parse back to the
 * same pairs in the same order ("order kept", gateway/sms.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/sms.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: the parser is given (body, len), never a string. */
	char *body = malloc(size ? size : 1);
	if (!body)
		return 0;
	if (size)
		memcpy(body, data, size);
	struct gw_form f;
	if (gw_form_parse(body, size, &f) != 0) {
		free(body);
		return 0;
	}
	free(body);
	/* What the providers look up. */
	static const char *const names[] = {"MessageSid", "From", "To", "Body", "id", "message"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)gw_form_get(&f, names[i]);

	char *again = NULL;
	for (size_t i = 0; i < f.n; i++)
		if (gw_form_append(&again, f.v[i].name, f.v[i].value) != 0)
			abort();
	struct gw_form g;
	if (gw_form_parse(again ? again : "", again ? strlen(again) : 0, &g) != 0 || g.n != f.n) {
		fprintf(stderr, "fuzz_form: %zu pairs do not survive encoding\n", f.n);
		abort();
	}
	for (size_t i = 0; i < f.n; i++)
		if (strcmp(f.v[i].name, g.v[i].name) != 0 ||
		    strcmp(f.v[i].value, g.v[i].value) != 0) {
			fprintf(stderr, "fuzz_form: pair %zu changed by encoding\n", i);
			abort();
		}
	free(again);
	gw_form_free(&g);
	gw_form_free(&f);
	return 0;
}
