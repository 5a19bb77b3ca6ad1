/*
 * include/careline/normalise.h: free Danish or English text → categories,
 * urgency, anonymity and a best-effort Danish address. The keyword rules are
 * data (config/normalise.ini, embedded; a file may replace them), never C.
 * Pure: no I/O after the rules are loaded, no clock, no allocation per call.
 */
#ifndef CARELINE_NORMALISE_H
#define CARELINE_NORMALISE_H

#include <stdbool.h>

#include "careline/err.h"
#include "careline/report.h"

struct cl_norm_rules;

/* Parse rules from INI text. On error returns CL_ERR_CONFIG and, if errbuf is
 * given, a message naming the line. Caller frees with cl_norm_rules_free. */
enum cl_err cl_norm_rules_load(const char *ini_text, struct cl_norm_rules **out, char *errbuf,
                               size_t errlen);
void cl_norm_rules_free(struct cl_norm_rules *rules);

struct cl_norm_result {
	struct cl_categories categories; /* at least one; "other" when nothing matched */
	enum cl_urgency urgency;
	bool anonymous;            /* the text starts with the anonymity keyword (ANONYM) */
	size_t body_offset;        /* where the text starts after an ANONYM prefix */
	struct cl_address address; /* best effort; empty fields when not found */
};

/* Normalise text (UTF-8, any length; only the first 4 KiB are examined). */
void cl_normalise(const struct cl_norm_rules *rules, const char *text, struct cl_norm_result *out);

/* The urgency the rules give the category set cats, with the cues ("now", ...)
 * found in text (NULL: no cues). For a set that did not come from the text,
 * e.g. the reporter picked a category. */
enum cl_urgency cl_norm_urgency(const struct cl_norm_rules *rules, const struct cl_categories *cats,
                                const char *text);

/* Parse a Danish address written as one string ("Vestergade 14, st. th., 8000
 * Aarhus C") into out; returns false when nothing address-like was found. */
bool cl_address_parse(const char *s, struct cl_address *out);

#endif
