/*
 * tests/fuzz/fuzz_texts.c: the texts loader and renderer
 * (cl_texts_load_string and cl_texts_render, include/careline/texts.h). The
 * input is a texts INI loaded over the shipped Danish texts, as a
 * config/texts/<lang>.ini would be; the texts it leaves are rendered with the
 * placeholders careline fills, and the input itself is rendered as a
 * template into a small and a large buffer. Checked: a render returns the
 * length it wrote, within the buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/texts.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

static const struct cl_text_var vars[] = {
    {"ref", "K7FQ2"},     {"code", "12"},
    {"urgency", "P1"},    {"area", "Aarhus C"},
    {"by", "{ref}"},      {"count", "3"},
    {"linked", "K7FQ3"},  {"categories", "not_seen"},
    {"list", "12a, 13a"}, {"placeholders", "{code}"},
};

static void render(const char *tpl, size_t out_len)
{
	char *out = malloc(out_len);
	if (!out)
		return;
	size_t n = cl_texts_render(tpl, vars, sizeof(vars) / sizeof(vars[0]), out, out_len);
	if (n >= out_len || n != strlen(out)) {
		fprintf(stderr, "fuzz_texts: render returned %zu for %zu bytes of \"%.40s\"\n", n,
		        strlen(out), out);
		abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"receipt.report", "alert.summary", "sms.alert_bundle",
	                                   "sms.staff_help", "voice.menu",    "no.such_key"};
	char *ini = fz_string(data, size);
	struct cl_texts *t = NULL;
	char err[256];
	if (cl_texts_load_embedded(&t, err, sizeof(err)) != CL_OK) {
		fprintf(stderr, "fuzz_texts: embedded texts: %s\n", err);
		abort();
	}
	if (cl_texts_load_string(t, "da", ini, err, sizeof(err)) == CL_OK) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			render(cl_texts_get(t, "da", keys[i]), 512);
			render(cl_texts_get(t, "en", keys[i]), 64);
		}
	}
	cl_texts_free(t);
	render(ini, 16);
	render(ini, 2 * size + 64);
	free(ini);
	return 0;
}
