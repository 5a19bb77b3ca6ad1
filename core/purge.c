/*
 * core/purge.c owns retention and erasure: the daily purge (closed tickets
 * older than [retention] closed_days lose their personal fields, recordings
 * and lookup hashes; SMS senders' keyed hashes older than sessions_hours are
 * deleted), the same on demand (carelinectl purge [--dry-run]), erasure of
 * one ticket on request (carelinectl erase REF --reason CODE), and the audit
 * event of a worker reading a ticket's personal data. What stays is the
 * non-personal skeleton: category, area, urgency, timings, events. Erased
 * values are overwritten in the file (secure_delete) and the WAL is
 * truncated after the commit, so they do not linger in free pages or the log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "careline/log.h"
#include "service_internal.h"

#define PURGE_BATCH  500
#define PURGE_PERIOD (24 * 3600 * 1000LL)

static enum cl_err erase_ticket(struct cl_service *svc, int64_t id, const char *actor,
                                const char *action, const char *detail, int64_t now)
{
	enum cl_err err = cl_store_purge_ticket(svc->store, id, now);
	char object[32];
	snprintf(object, sizeof(object), "ticket:%" PRId64, id);
	if (err == CL_OK)
		err = audit_record(svc, now, actor, action, object, id, detail);
	if (err == CL_OK)
		svc->truncate_wal = true;
	return err;
}

/* Everything retention says is due at now: counted (dry run) or erased. */
static enum cl_err purge(struct cl_service *svc, const char *actor, bool dry_run, int64_t now,
                         int64_t *tickets, int64_t *sessions)
{
	*tickets = *sessions = 0;
	const struct cl_config *cfg = svc->cfg;
	enum cl_err err = CL_OK;
	if (cfg->retention.closed_ms > 0 && dry_run) {
		/* Counted whole: the batches below only move on by erasing. */
		err = cl_store_purge_count_due(svc->store, now - cfg->retention.closed_ms, tickets);
	} else if (cfg->retention.closed_ms > 0) {
		int64_t ids[PURGE_BATCH];
		size_t n = 0;
		do {
			err = cl_store_purge_due(svc->store, now - cfg->retention.closed_ms,
			                         PURGE_BATCH, ids, &n);
			for (size_t i = 0; err == CL_OK && i < n; i++)
				err = erase_ticket(svc, ids[i], actor, "ticket.purged", "retention",
				                   now);
			*tickets += (int64_t)n;
		} while (err == CL_OK && n == PURGE_BATCH);
	}
	if (err == CL_OK)
		err = cl_store_purge_sessions(svc->store, now - cfg->retention.sessions_ms, dry_run,
		                              sessions);
	if (err == CL_OK && !dry_run && *sessions)
		svc->truncate_wal = true;
	char detail[64];
	snprintf(detail, sizeof(detail), "tickets=%" PRId64 " sessions=%" PRId64 "%s", *tickets,
	         *sessions, dry_run ? " dry_run=1" : "");
	if (err == CL_OK && (!dry_run || strcmp(actor, "system") != 0))
		err =
		    audit_record(svc, now, actor, dry_run ? "retention.dry_run" : "retention.purge",
		                 "retention", 0, detail);
	if (err == CL_OK)
		cl_info(dry_run ? "purge.dry_run" : "purge.done", "%s by=%s", detail, actor);
	return err;
}

void purge_run_due(struct cl_service *svc, int64_t now)
{
	svc->next_purge_ms = now + PURGE_PERIOD;
	struct effects_mark mark;
	fx_mark(svc, &mark);
	if (cl_store_savepoint(svc->store) != CL_OK)
		return;
	int64_t tickets, sessions;
	enum cl_err err = purge(svc, "system", false, now, &tickets, &sessions);
	if (err != CL_OK) {
		cl_store_rollback_to(svc->store); /* releases the savepoint too */
		fx_rewind(svc, &mark);
		svc->truncate_wal = false;
		svc->next_purge_ms = now + 60 * 1000; /* try again soon */
		cl_warn("purge.failed", "err=%s", cl_errcode(err));
		return;
	}
	if (cl_store_release(svc->store) != CL_OK)
		fx_rewind(svc, &mark);
}

/* A reason for an erasure: a short code, never free text (it goes into
 * the audit chain, which holds no personal data). */
static bool reason_code(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_:-") == n;
}

enum cl_err purge_control(struct cl_service *svc, struct cl_control *c, int64_t now)
{
	const char *actor = c->actor[0] ? c->actor : "admin";
	if (c->kind == CL_CONTROL_PURGE)
		return purge(svc, actor, c->dry_run, now, &c->count_tickets, &c->count_sessions);
	struct cl_ticket t;
	if (cl_service_ticket(svc, c->ref, &t) != CL_OK)
		return CL_ERR_NOTFOUND;
	char object[32];
	snprintf(object, sizeof(object), "ticket:%" PRId64, t.id);
	if (c->kind == CL_CONTROL_AUDIT_READ)
		return audit_record(svc, now, actor, "read.ticket", object, t.id, NULL);
	if (c->kind != CL_CONTROL_ERASE || !reason_code(c->error))
		return CL_ERR_INVALID;
	char detail[48];
	snprintf(detail, sizeof(detail), "reason=%s", c->error);
	enum cl_err err = erase_ticket(svc, t.id, actor, "ticket.erased", detail, now);
	if (err == CL_OK) {
		c->count_tickets = 1;
		cl_warn("ticket.erased", "ticket=%s reason=%s by=%s", t.ref, c->error, actor);
	}
	return err;
}
