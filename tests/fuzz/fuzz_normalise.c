/*
 * tests/fuzz/fuzz_normalise.c: the normaliser with the shipped rules
 * (cl_normalise over the embedded config/normalise.ini) and the one-string
 * address parser (cl_address_parse), both include/careline/normalise.h, fed
 * as core/intake.c feeds them: any report text, any address string. The
 * results go through cl_norm_urgency (with a category the reporter might have
 * picked, from the input's first byte) and the address formatters. Checked:
 * what normalise.h promises (at least one category, an urgency P0..P3, the
 * ANONYM offset inside the text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/embedded.h"
#include "careline/normalise.h"
#include "careline/report.h"
#include "common.h"

static struct cl_norm_rules *rules;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	char err[256];
	const char *ini = cl_embedded_get("normalise.ini");
	if (!ini || cl_norm_rules_load(ini, &rules, err, sizeof(err)) != CL_OK) {
		fprintf(stderr, "fuzz_normalise: embedded rules: %s\n", ini ? err : "missing");
		abort();
	}
	return 0;
}

static void address(const struct cl_address *a)
{
	char buf[256];
	cl_address_link_key(a, buf, sizeof(buf));
	cl_address_format(a, buf, sizeof(buf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_string(data, size);

	struct cl_norm_result nr;
	cl_normalise(rules, text, &nr);
	if (nr.categories.n < 1 || nr.categories.n > CL_CAT__COUNT ||
	    (unsigned)nr.urgency >= CL_URGENCY__COUNT || nr.body_offset > strlen(text)) {
		fprintf(stderr,
		        "fuzz_normalise: result out of range (n=%zu urgency=%d offset=%zu)\n",
		        nr.categories.n, (int)nr.urgency, nr.body_offset);
		abort();
	}
	for (size_t i = 0; i < nr.categories.n; i++)
		if ((unsigned)nr.categories.cats[i] >= CL_CAT__COUNT)
			abort();
	address(&nr.address);

	struct cl_categories hint = {.n = 0};
	cl_categories_add(&hint, (enum cl_category)(size ? data[0] % CL_CAT__COUNT : CL_CAT_OTHER));
	for (size_t i = 0; i < nr.categories.n; i++)
		cl_categories_add(&hint, nr.categories.cats[i]);
	if ((unsigned)cl_norm_urgency(rules, &hint, text) >= CL_URGENCY__COUNT)
		abort();
	(void)cl_norm_urgency(rules, &hint, NULL);

	struct cl_address a;
	if (cl_address_parse(text, &a))
		address(&a);
	free(text);
	return 0;
}
