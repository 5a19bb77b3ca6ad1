/*
 * include/careline/report.h: what every channel hands to the core. A channel
 * adapter (gateway/) turns provider bytes into a struct cl_report; the core
 * normalises, stores and routes it and never sees the channel's wire format.
 * Also the vocabulary shared by reports and tickets: categories (what was
 * observed, never a diagnosis), urgency P0..P3, and a Danish address.
 */
#ifndef CARELINE_REPORT_H
#define CARELINE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

/* DOMAIN.md's category table, in its order. Ids are fixed API strings. */
enum cl_category {
	CL_CAT_DANGER_TO_LIFE,
	CL_CAT_THREATS_VIOLENCE,
	CL_CAT_AGITATION,
	CL_CAT_NOISE,
	CL_CAT_NOT_SEEN,
	CL_CAT_SQUALOR,
	CL_CAT_PROPERTY_DAMAGE,
	CL_CAT_SELF_NEGLECT,
	CL_CAT_DISCHARGED,
	CL_CAT_MONEY_EVICTION,
	CL_CAT_CHILDREN,
	CL_CAT_OTHER,
	CL_CAT__COUNT
};

/* "danger_to_life", ...; NULL for an out-of-range value. */
const char *cl_category_id(enum cl_category cat);
/* Parse an id; returns CL_ERR_INVALID if unknown. */
enum cl_err cl_category_parse(const char *id, enum cl_category *out);

/* An ordered set of categories: cats[0] is the main one. */
struct cl_categories {
	enum cl_category cats[CL_CAT__COUNT];
	size_t n;
};

bool cl_categories_has(const struct cl_categories *set, enum cl_category cat);
/* Append cat unless present. */
void cl_categories_add(struct cl_categories *set, enum cl_category cat);
/* "not_seen,squalor" into buf; returns buf. */
char *cl_categories_format(const struct cl_categories *set, char *buf, size_t len);
/* Parse "not_seen,squalor"; unknown ids are an error. */
enum cl_err cl_categories_parse(const char *s, struct cl_categories *out);

enum cl_urgency {
	CL_P0, /* emergency: danger to life or violence now; reporter told to call 112 */
	CL_P1, /* acute: minutes */
	CL_P2, /* next weekday */
	CL_P3, /* routine outreach */
	CL_URGENCY__COUNT
};

/* "P0".."P3". */
const char *cl_urgency_name(enum cl_urgency u);
enum cl_err cl_urgency_parse(const char *s, enum cl_urgency *out);

/* A best-effort Danish address; empty strings where unknown.
 * floor: "st", "kl", "1".."99"; side: "tv", "th", "mf" or a door number. */
struct cl_address {
	char street[64];
	char number[12]; /* "14", "14B" */
	char floor[8];
	char side[8];
	char postcode[8]; /* "8000" */
	char city[40];
};

bool cl_address_empty(const struct cl_address *a);
/* The address used for linking repeat reports: lowercased, folded
 * "street|number|floor|side", or "" when street or number is missing. */
void cl_address_link_key(const struct cl_address *a, char *buf, size_t len);
/* Human form "Vestergade 12, 3. tv, 8000 Aarhus C" (for workers, never logs). */
void cl_address_format(const struct cl_address *a, char *buf, size_t len);

/* The transport a report came by. */
enum cl_channel {
	CL_CHANNEL_HTTP,
	CL_CHANNEL_MQTT,
	CL_CHANNEL_SMS,
	CL_CHANNEL_IVR,
	CL_CHANNEL__COUNT
};
const char *cl_channel_name(enum cl_channel ch);

/* One inbound report, owned by whoever created it (cl_report_free frees the
 * strings). Strings are NULL when absent. */
struct cl_report {
	enum cl_channel via;
	char idem_ns[16];          /* idempotency namespace: "app" for report_id (HTTP and MQTT) */
	char key[96];              /* idempotency key within idem_ns: report_id, MessageSid, ... */
	char *text;                /* free text, required (may be empty for IVR) */
	char *address_text;        /* an address given as one string, parsed by the normaliser */
	struct cl_address address; /* an address given as fields (wins over parsed) */
	bool anonymous;            /* reporter asked for anonymity */
	char *reporter_person;     /* registered person id (device owner, worker token) */
	char *reporter_name;
	char *reporter_phone;
	char *reporter_role;
	char *reporter_org;
	char *observed_by;
	char *resident_name;
	bool consent_callback;
	bool consent_disclose_name;
	bool has_category_hint;
	enum cl_category category_hint;
	char *estate; /* reporter's estate when known (registered person) */
	/* SMS: a keyed hash of the sender's number (never the number itself),
	 * which joins a follow-up text to the sender's recent ticket. */
	bool has_sender_hash;
	unsigned char sender_hash[32];
	int64_t sent_ms; /* the provider's timestamp, 0 if none (replay check) */
};

void cl_report_init(struct cl_report *r);
void cl_report_free(struct cl_report *r);

#endif
