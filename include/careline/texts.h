/*
 * include/careline/texts.h: everything a reporter or worker reads or hears,
 * as data from config/texts/<lang>.ini (embedded; Danish is the default).
 * Keys are "section.name" ("receipt.report"). Templates use {name}
 * placeholders filled by cl_texts_render, never printf formats.
 */
#ifndef CARELINE_TEXTS_H
#define CARELINE_TEXTS_H

#include <stddef.h>

#include "careline/err.h"

struct cl_texts;

/* An empty table (NULL when out of memory), for texts from strings only. */
struct cl_texts *cl_texts_new(void);
/* Load the embedded texts for every language in config/texts/. */
enum cl_err cl_texts_load_embedded(struct cl_texts **out, char *errbuf, size_t errlen);
/* Add or replace texts for lang from INI text. */
enum cl_err cl_texts_load_string(struct cl_texts *t, const char *lang, const char *ini,
                                 char *errbuf, size_t errlen);
void cl_texts_free(struct cl_texts *t);

/* The text for key in lang, falling back to Danish, then to the key itself. */
const char *cl_texts_get(const struct cl_texts *t, const char *lang, const char *key);

/* Render template into out, replacing {name} with the value of the matching
 * vars[i] = {name, value} pair; unknown placeholders are left as they are.
 * Returns the length written (truncated to fit, always NUL-terminated). */
struct cl_text_var {
	const char *name;
	const char *value;
};
size_t cl_texts_render(const char *template_, const struct cl_text_var *vars, size_t n_vars,
                       char *out, size_t out_len);

#endif
