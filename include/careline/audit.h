/*
 * include/careline/audit.h: the audit chain. Every ticket transition, every
 * notification, every change made through the API or carelinectl and every
 * read of personal data is an event (actor, action, object, time, and a
 * non-personal detail) whose hash is a keyed BLAKE2b over the previous
 * event's hash and its own fields, so an edited, inserted or removed row
 * breaks the chain at that point. The events never hold personal data:
 * staff are named by their handle, tickets by id, nothing a report said.
 */
#ifndef CARELINE_AUDIT_H
#define CARELINE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

#define CL_AUDIT_HASH_BYTES 32

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
	                         removed or inserted), "sequence" (an id is missing) */
};

#endif
