/*
 * core/store_audit.c owns the audit table (append and walk; the hashing is
 * core/audit.c's) and the erasure of personal data: a ticket's encrypted
 * report fields and lookup hashes, its notes, its recordings' audio and its
 * follow-up sessions; old SMS sessions; and the WAL truncation that keeps
 * erased values from lingering in the log.
 */
#include <string.h>

#include "store_internal.h"

enum cl_err cl_store_audit_last(struct cl_store *s, int64_t *id, unsigned char hash[32])
{
	sqlite3_stmt *st = store_stmt(s, ST_AUDIT_LAST);
	if (!st)
		return CL_ERR_STORAGE;
	*id = 0;
	memset(hash, 0, 32);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		struct cl_blob b = store_col_blob(st, 1);
		if (b.len == 32)
			memcpy(hash, b.data, 32);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CL_OK : store_fail(s, "audit.last", rc);
}

enum cl_err cl_store_audit_insert(struct cl_store *s, const struct cl_audit_event *e)
{
	sqlite3_stmt *st = store_stmt(s, ST_AUDIT_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, e->id);
	sqlite3_bind_int64(st, 2, e->at_ms);
	store_bind_text(st, 3, e->actor);
	store_bind_text(st, 4, e->action);
	store_bind_text(st, 5, e->object);
	store_bind_ms(st, 6, e->ticket_id);
	store_bind_text(st, 7, e->detail);
	store_bind_blob(st, 8, (struct cl_blob){e->prev, sizeof(e->prev)});
	store_bind_blob(st, 9, (struct cl_blob){e->hash, sizeof(e->hash)});
	return store_exec_stmt(s, st, "audit.insert");
}

enum cl_err cl_store_audit_each(struct cl_store *s, int64_t after, int64_t ticket_id,
                                void (*fn)(void *ctx, const struct cl_audit_event *e), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ticket_id ? ST_AUDIT_OF_TICKET : ST_AUDIT_ALL);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, ticket_id ? ticket_id : after);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_audit_event e;
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(st, 0);
		e.at_ms = sqlite3_column_int64(st, 1);
		e.actor = (const char *)sqlite3_column_text(st, 2);
		e.action = (const char *)sqlite3_column_text(st, 3);
		e.object = (const char *)sqlite3_column_text(st, 4);
		e.ticket_id = sqlite3_column_int64(st, 5);
		e.detail = (const char *)sqlite3_column_text(st, 6);
		struct cl_blob prev = store_col_blob(st, 7), hash = store_col_blob(st, 8);
		/* A shortened hash stays zeros past its end: it will not verify. */
		memcpy(e.prev, prev.data ? prev.data : (const unsigned char *)"",
		       prev.len < 32 ? prev.len : 32);
		memcpy(e.hash, hash.data ? hash.data : (const unsigned char *)"",
		       hash.len < 32 ? hash.len : 32);
		fn(ctx, &e);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? CL_OK : store_fail(s, "audit.each", rc);
}

enum cl_err cl_store_purge_due(struct cl_store *s, int64_t before, int max, int64_t *ids, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_PURGE_DUE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, max);
	*n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)max)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? CL_OK : store_fail(s, "purge.due", rc);
}

enum cl_err cl_store_purge_count_due(struct cl_store *s, int64_t before, int64_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_PURGE_COUNT_DUE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, before);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? CL_OK : store_fail(s, "purge.count_due", rc);
}

static enum cl_err exec_id(struct cl_store *s, enum store_stmt which, int64_t id, int64_t now,
                           const char *what)
{
	sqlite3_stmt *st = store_stmt(s, which);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, now);
	return store_exec_stmt(s, st, what);
}

enum cl_err cl_store_purge_ticket(struct cl_store *s, int64_t ticket_id, int64_t now)
{
	enum cl_err err = exec_id(s, ST_PURGE_REPORTS, ticket_id, now, "purge.reports");
	if (err == CL_OK)
		err = exec_id(s, ST_PURGE_EVENTS, ticket_id, now, "purge.events");
	if (err == CL_OK)
		err = exec_id(s, ST_PURGE_RECORDINGS, ticket_id, now, "purge.recordings");
	if (err == CL_OK)
		err = exec_id(s, ST_PURGE_SESSIONS_OF, ticket_id, now, "purge.sessions_of");
	if (err == CL_OK)
		err = exec_id(s, ST_PURGE_TICKET, ticket_id, now, "purge.ticket");
	return err;
}

enum cl_err cl_store_purge_sessions(struct cl_store *s, int64_t before, bool dry_run, int64_t *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_PURGE_COUNT_SESSIONS);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, before);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, "purge.count_sessions", rc);
	if (dry_run || *n == 0)
		return CL_OK;
	st = store_stmt(s, ST_PURGE_SESSIONS_OLD);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, before);
	return store_exec_stmt(s, st, "purge.sessions");
}

enum cl_err cl_store_checkpoint_truncate(struct cl_store *s)
{
	int log = 0, ckpt = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
	return rc == SQLITE_OK ? CL_OK : store_fail(s, "checkpoint.truncate", rc);
}
