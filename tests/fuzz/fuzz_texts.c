/*
 * tests/fuzz/fuzz_texts.c: the texts loader and renderer
 * (cl_texts_load_string and cl_texts_render, include/careline/texts.h). The
 * input is a texts INI, as a config/texts/<lang>.ini would be: loaded into an
 * empty table as Danish, loaded again over itself (every entry replaced, as
 * a deployment's file replaces the shipped texts) and as English; the texts
 * it leaves are rendered with the placeholders careline fills, falling back
 * to Danish and to the key itself as cl_texts_get does, and the input itself
 * is rendered as a template into a small and a large buffer. The shipped
 * texts are loaded once, at start, and rendered for every input. Checked: a
 * load that succeeded once succeeds again, and a render returns the length it
 * wrote, within the buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/texts.h"
#include "common.h"

static struct cl_texts *shipped;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	char err[256];
	if (cl_texts_load_embedded(&shipped, err, sizeof(err)) != CL_OK) {
		fprintf(stderr, "fuzz_texts: embedded texts: %s\n", err);
		abort();
	}
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
	char err[256];
	struct cl_texts *t = cl_texts_new();
	if (!t)
		abort();
	if (cl_texts_load_string(t, "da", ini, err, sizeof(err)) == CL_OK) {
		if (cl_texts_load_string(t, "da", ini, err, sizeof(err)) != CL_OK ||
		    cl_texts_load_string(t, "en", ini, err, sizeof(err)) != CL_OK) {
			fprintf(stderr, "fuzz_texts: a text that loaded once did not load again\n");
			abort();
		}
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			render(cl_texts_get(t, "da", keys[i]), 512);
			render(cl_texts_get(t, "en", keys[i]), 64);
			render(cl_texts_get(t, "sv", keys[i]), 64);
		}
	}
	cl_texts_free(t);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		render(cl_texts_get(shipped, size ? "en" : "da", keys[i]), 64);
	render(ini, 16);
	render(ini, 2 * size + 64);
	free(ini);
	return 0;
}
