/*
 * tests/fuzz/fuzz_norm_rules.c: the normaliser's rules loader
 * (cl_norm_rules_load, include/careline/normalise.h), which reads the
 * embedded config/normalise.ini or an operator's [careline] rules_file. The
 * input is the INI text. Rules that load normalise a few fixed texts, so
 * unusual but accepted rules (odd patterns, empty words, huge tables) are
 * matched against as well.
 */
#include <stdlib.h>

#include "careline/normalise.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const texts[] = {
	    "Har ikke set manden i nr. 14 st. th. i over to uger, postkassen flyder over",
	    "ANONYM Hun truer med en kniv nede i gården lige nu!! Vestergade 12, 3. tv, 8000",
	    "støj STØJ stoej røg ild brand 112 ",
	    "",
	};
	char *ini = fz_string(data, size);
	struct cl_norm_rules *rules = NULL;
	char err[256];
	if (cl_norm_rules_load(ini, &rules, err, sizeof(err)) == CL_OK) {
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			struct cl_norm_result nr;
			cl_normalise(rules, texts[i], &nr);
			(void)cl_norm_urgency(rules, &nr.categories, texts[i]);
		}
	}
	cl_norm_rules_free(rules);
	free(ini);
	return 0;
}
