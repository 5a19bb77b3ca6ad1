/*
 * include/careline/audit.h: the audit chain. Every ticket transition, every
 * notification, every change made through the API or carelinectl and every
 * read of personal data is an event (actor, action, object, time, and a
 * non-personal detail) whose hash is a keyed BLAKE2b over the previous
 * event's hash and its own fields, so an edited, inserted or removed row
 * breaks the chain at that point. The events never hold personal data:
 * staff are named by their handle, tickets by id, nothing a report said.
 * Removing the newest events leaves a chain that fits; the daemon therefore
 * logs the head ("audit.head id=N hash=HEX", to the journal, out of the
 * database's reach), and a walk checked against such an anchor finds them gone.
 */
#ifndef CARELINE_AUDIT_H
#define CARELINE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

#define CL_AUDIT_HASH_BYTES 32
/* The head is logged at start, at a clean stop, and in between at most this
 * often while the chain grows. */
#define CL_AUDIT_ANCHOR_MS (60 * 60 * 1000)

struct cl_audit_event {
	int64_t id;
	int64_t at_ms;
	const char *actor;  /* "anna", "system", "admin" */
	const char *action; /* "ticket.ack", "notification.sent", "read.ticket", ... */
	const char *object; /* "ticket:12", "notification:40", "device:anna-phone" */
	int64_t ticket_id;  /* the ticket it concerns, 0 none */
	const char *detail; /* non-personal, may be NULL */
	unsigned char prev[CL_AUDIT_HASH_BYTES];
	unsigned char hash[CL_AUDIT_HASH_BYTES];
};

/* What a walk of the chain found. */
struct cl_audit_verdict {
	bool ok;
	int64_t checked;      /* events walked */
	int64_t first_broken; /* id of the first event that does not fit, 0 when ok */
	char reason[64];      /* "hash" (the row was changed), "link" (a row before it was
	                         removed or inserted), "sequence" (an id is missing),
	                         "truncated" (the chain ends before its head or the
	                         anchor: first_broken is the first missing id),
	                         "anchor" (event N is not the one the anchor names) */
};

/* A head of the chain as published outside the database: event id and hash. */
struct cl_audit_anchor {
	int64_t id; /* >= 1 */
	unsigned char hash[CL_AUDIT_HASH_BYTES];
};

/* Parse "N:HEX" (N >= 1, HEX the 64 hex digits of the hash), as taken from an
 * "audit.head id=N hash=HEX" log line. CL_ERR_INVALID for anything else. */
enum cl_err cl_audit_anchor_parse(const char *s, struct cl_audit_anchor *out);

#endif
