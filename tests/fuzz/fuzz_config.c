/*
 * tests/fuzz/fuzz_config.c: the configuration loader (cl_config_load_string,
 * include/careline/config.h: inih, every section's keys, the cross references
 * checked after the whole file is read). The input is the INI text. A config
 * that loads also loads the embedded rules and texts (or a rules_file it
 * names), as careline does at start.
 */
#include <stdlib.h>

#include "careline/config.h"
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ini = fz_string(data, size);
	struct cl_config *cfg = NULL;
	char err[512];
	if (cl_config_load_string(ini, &cfg, err, sizeof(err)) == CL_OK)
		cl_config_free(cfg);
	free(ini);
	return 0;
}
