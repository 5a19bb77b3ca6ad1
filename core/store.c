/*
 * core/store.c owns the SQLite connection: opening with WAL and
 * synchronous=FULL, migrations, transactions and savepoints, the prepared
 * statement cache (all SQL text is here, indexed by enum store_stmt) and the
 * bind/column helpers. The per-table reads and writes are in store_reports.c,
 * store_tickets.c and store_notifications.c. Nothing outside core/store*.c
 * includes sqlite3.h.
 */
#include "careline/store.h"

#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "store_internal.h"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT job",
    [ST_RELEASE] = "RELEASE job",
    [ST_ROLLBACK_TO] = "ROLLBACK TO job",
    [ST_HEALTH] = "SELECT count(*) FROM meta",
    [ST_REPORT_INSERT] =
        "INSERT INTO report (id, channel, key, via, received_at, ticket_id,"
        " reporter_person, reporter_role, anonymous, consent_callback, consent_disclose,"
        " text_enc, address_enc, reporter_name_enc, reporter_phone_enc, reporter_org_enc,"
        " resident_name_enc, observed_by_enc, phone_hash, answer_state)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_REPORT_FIND] = "SELECT ticket_id, answer_state FROM report WHERE channel = ? AND key = ?",
    [ST_REPORTS_OF_TICKET] =
        "SELECT id, channel, key, via, received_at, ticket_id, reporter_person,"
        " reporter_role, anonymous, consent_callback, consent_disclose, text_enc,"
        " address_enc, reporter_name_enc, reporter_phone_enc, reporter_org_enc,"
        " resident_name_enc, observed_by_enc, phone_hash, answer_state"
        " FROM report WHERE ticket_id = ? ORDER BY id",
    [ST_TICKET_INSERT] =
        "INSERT INTO ticket (id, ref, kind, state, urgency, categories, area, team, policy,"
        " address_hash, created_at, updated_at, acked_by, acked_at, taken_by, taken_at,"
        " closed_reason, closed_at, linked_to, esc_phase, esc_step, esc_loop, due_at,"
        " unhandled) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_TICKET_UPDATE] =
        "UPDATE ticket SET state = ?2, updated_at = ?3, acked_by = ?4, acked_at = ?5,"
        " taken_by = ?6, taken_at = ?7, closed_reason = ?8, closed_at = ?9,"
        " esc_phase = ?10, esc_step = ?11, esc_loop = ?12, due_at = ?13, unhandled = ?14"
        " WHERE id = ?1",
    [ST_TICKET_GET] = "SELECT " STORE_TICKET_COLS STORE_TICKET_FROM " WHERE t.id = ?",
    [ST_TICKET_AT_ADDRESS] = "SELECT id, ref FROM ticket WHERE address_hash = ?"
                             " AND state <> 'closed' ORDER BY id DESC LIMIT 1",
    [ST_TICKETS_LIST_ALL] =
        "SELECT " STORE_TICKET_COLS STORE_TICKET_FROM " ORDER BY t.id DESC LIMIT ?",
    [ST_TICKETS_LIST_OPEN] = "SELECT " STORE_TICKET_COLS STORE_TICKET_FROM
                             " WHERE t.state <> 'closed' ORDER BY t.id DESC LIMIT ?",
    [ST_TICKETS_LIST_ALL_TEAM] = "SELECT " STORE_TICKET_COLS STORE_TICKET_FROM
                                 " WHERE t.team = ?2 ORDER BY t.id DESC LIMIT ?1",
    [ST_TICKETS_LIST_OPEN_TEAM] =
        "SELECT " STORE_TICKET_COLS STORE_TICKET_FROM
        " WHERE t.state <> 'closed' AND t.team = ?2 ORDER BY t.id DESC LIMIT ?1",
    [ST_TICKETS_DEADLINE] = "SELECT id, due_at FROM ticket WHERE due_at IS NOT NULL",
    [ST_TICKET_COUNTS] = "SELECT state, count(*) FROM ticket GROUP BY state",
    [ST_EVENT_INSERT] = "INSERT INTO ticket_event (ticket_id, at, actor, event, from_state,"
                        " to_state, detail, note_enc) VALUES (?,?,?,?,?,?,?,?)",
    [ST_EVENTS_OF_TICKET] = "SELECT id, ticket_id, at, actor, event, from_state, to_state,"
                            " detail, note_enc FROM ticket_event WHERE ticket_id = ? ORDER BY id",
    [ST_NOTIF_INSERT] =
        "INSERT INTO notification (ticket_id, person, channel, target, kind, step, loop,"
        " state, attempts, next_attempt_at, created_at, sent_at, answered_at, answer,"
        " last_error, reply_code) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_NOTIF_GET] = "SELECT " STORE_NOTIF_COLS " FROM notification WHERE id = ?",
    [ST_NOTIF_UPDATE] = "UPDATE notification SET state = ?2, attempts = ?3,"
                        " next_attempt_at = ?4, sent_at = ?5, answered_at = ?6, answer = ?7,"
                        " last_error = ?8 WHERE id = ?1",
    [ST_NOTIF_SENT] = "UPDATE notification SET state = 'sent', sent_at = ?2,"
                      " attempts = MAX(attempts, ?3), last_error = NULL"
                      " WHERE id = ?1 AND state = 'pending'",
    [ST_NOTIF_FAILED] = "UPDATE notification SET attempts = MAX(attempts, ?4), last_error = ?2,"
                        " next_attempt_at = COALESCE(?3, next_attempt_at)"
                        " WHERE id = ?1 AND state = 'pending'",
    [ST_NOTIF_REQUEUE] = "UPDATE notification SET state = 'pending', next_attempt_at = ?2"
                         " WHERE id = ?1 AND state = 'sent'",
    [ST_NOTIF_CANCEL] =
        "UPDATE notification SET state = 'cancelled' WHERE id = ?1 AND state = 'pending'",
    [ST_NOTIF_FAILED_FINAL] = "UPDATE notification SET state = 'failed',"
                              " attempts = MAX(attempts, ?3), last_error = ?2"
                              " WHERE id = ?1 AND state = 'pending'",
    [ST_NOTIF_PROVIDER_ID] = "UPDATE notification SET provider_id = ?2 WHERE id = ?1",
    [ST_NOTIF_DELIVERY] = "UPDATE notification SET delivery = ?3, provider_error = ?4"
                          " WHERE channel = ?1 AND provider_id = ?2",
    [ST_NOTIF_LATEST] = "SELECT " STORE_NOTIF_COLS " FROM notification WHERE person = ?1"
                        " AND ticket_id = ?2 AND channel = ?3 AND kind = 'alert'"
                        " ORDER BY id DESC LIMIT 1",
    [ST_SMS_CODE_OF_TICKET] = "SELECT code FROM sms_code WHERE person = ?1 AND ticket_id = ?2",
    [ST_SMS_CODE_FREE] = "DELETE FROM sms_code WHERE person = ?1 AND ticket_id IN"
                         " (SELECT id FROM ticket WHERE state = 'closed'"
                         " OR (state = 'taken' AND taken_at < ?2))",
    [ST_SMS_CODES_OF_PERSON] = "SELECT code FROM sms_code WHERE person = ?1 ORDER BY code",
    [ST_SMS_CODE_INSERT] =
        "INSERT INTO sms_code (person, code, ticket_id, created_at) VALUES (?1, ?2, ?3, ?4)",
    [ST_SMS_CODE_FIND] = "SELECT ticket_id FROM sms_code WHERE person = ?1 AND code = ?2",
    [ST_SMS_CODES_OPEN] = "SELECT c.code, c.ticket_id FROM sms_code c JOIN ticket t"
                          " ON t.id = c.ticket_id WHERE c.person = ?1"
                          " AND t.state IN ('notifying', 'acknowledged') ORDER BY c.code",
    [ST_SMS_SESSION_GET] = "SELECT ticket_id, last_at FROM sms_session WHERE sender_hash = ?1",
    [ST_SMS_SESSION_PUT] = "INSERT INTO sms_session (sender_hash, ticket_id, last_at)"
                           " VALUES (?1, ?2, ?3) ON CONFLICT (sender_hash) DO UPDATE"
                           " SET ticket_id = excluded.ticket_id, last_at = excluded.last_at",
    [ST_SMS_OPTOUT_PUT] = "INSERT OR REPLACE INTO sms_optout (phone_hash, at) VALUES (?1, ?2)",
    [ST_SMS_OPTOUT_HAS] = "SELECT 1 FROM sms_optout WHERE phone_hash = ?1",
    [ST_CONTACT_BLOCK] = "INSERT OR REPLACE INTO contact_block (person, channel, reason, at)"
                         " VALUES (?1, ?2, ?3, ?4)",
    [ST_CONTACT_BLOCKED] = "SELECT reason FROM contact_block WHERE person = ?1 AND channel = ?2",
    [ST_OVERRIDE_INSERT] = "INSERT INTO shift_override (team, duty, person, replaces, start_at,"
                           " end_at, note, created_by, created_at)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_OVERRIDE_DELETE] = "DELETE FROM shift_override WHERE id = ?1",
    [ST_OVERRIDES_CURRENT] = "SELECT id, team, duty, person, replaces, start_at, end_at, note"
                             " FROM shift_override WHERE end_at > ?1 ORDER BY start_at, id",
    [ST_DEVICE_INSERT] = "INSERT INTO device (id, person, pubkey, created_at)"
                         " VALUES (?1, ?2, ?3, ?4)",
    [ST_DEVICE_REVOKE] = "UPDATE device SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    [ST_DEVICES_ALL] = "SELECT id, person, pubkey, created_at, revoked_at FROM device ORDER BY id",
    [ST_CALL_GET] = "SELECT " STORE_CALL_COLS " FROM call WHERE provider = ?1 AND call_key = ?2",
    [ST_CALL_INSERT] = "INSERT INTO call (provider, call_key, step, lang, category, tries,"
                       " consent, ticket_id, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_CALL_UPDATE] = "UPDATE call SET step = ?2, category = ?3, tries = ?4, consent = ?5,"
                       " ticket_id = ?6, updated_at = ?7 WHERE id = ?1",
    [ST_CALLS_IDLE] = "SELECT " STORE_CALL_COLS " FROM call WHERE step <> 'ended'"
                      " AND updated_at < ?1 ORDER BY updated_at LIMIT ?2",
    [ST_REC_PUT] = "INSERT INTO recording (call_id, ticket_id, provider, remote_id, remote_url,"
                   " state, next_try_at, duration_s, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8)"
                   " ON CONFLICT (call_id) DO UPDATE SET"
                   " remote_id = CASE WHEN state = 'pending' THEN excluded.remote_id"
                   "  ELSE remote_id END,"
                   " remote_url = CASE WHEN state = 'pending' THEN excluded.remote_url"
                   "  ELSE remote_url END,"
                   " duration_s = max(duration_s, excluded.duration_s),"
                   " next_try_at = CASE WHEN state = 'pending'"
                   "  THEN min(next_try_at, excluded.next_try_at) ELSE next_try_at END",
    [ST_REC_LINK] = "UPDATE recording SET ticket_id = ?2 WHERE call_id = ?1",
    [ST_REC_WORK] = "SELECT " STORE_REC_COLS " FROM recording"
                    " WHERE state = 'pending' OR remote_deleted = 0 ORDER BY next_try_at",
    [ST_REC_GET] = "SELECT " STORE_REC_COLS ", audio_enc FROM recording WHERE id = ?1",
    [ST_REC_OF_TICKET] = "SELECT " STORE_REC_COLS " FROM recording WHERE ticket_id = ?1"
                         " ORDER BY id",
    [ST_REC_STORED] = "UPDATE recording SET state = 'stored', audio_enc = ?2, size = ?3,"
                      " stored_at = ?4, last_error = NULL WHERE id = ?1 AND state = 'pending'",
    [ST_REC_RETRY] = "UPDATE recording SET attempts = ?2, next_try_at = ?3, last_error = ?4,"
                     " state = CASE WHEN ?5 AND state = 'pending' THEN 'failed' ELSE state END,"
                     " remote_deleted = CASE WHEN ?5 THEN 1 ELSE remote_deleted END"
                     " WHERE id = ?1",
    [ST_REC_REMOTE_DELETED] = "UPDATE recording SET remote_deleted = 1, remote_url = ''"
                              " WHERE id = ?1",
    [ST_AUDIT_LAST] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (id, at, actor, action, object, ticket_id, detail,"
                        " prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_AUDIT_ALL] = "SELECT id, at, actor, action, object, ticket_id, detail, prev, hash"
                     " FROM audit WHERE id > ?1 ORDER BY id",
    [ST_AUDIT_OF_TICKET] = "SELECT id, at, actor, action, object, ticket_id, detail, prev, hash"
                           " FROM audit WHERE ticket_id = ?1 ORDER BY id",
    [ST_PURGE_DUE] = "SELECT id FROM ticket WHERE closed_at IS NOT NULL AND closed_at < ?1"
                     " AND purged_at IS NULL ORDER BY closed_at LIMIT ?2",
    [ST_PURGE_COUNT_DUE] = "SELECT count(*) FROM ticket WHERE closed_at IS NOT NULL"
                           " AND closed_at < ?1 AND purged_at IS NULL",
    [ST_PURGE_REPORTS] = "UPDATE report SET text_enc = NULL, address_enc = NULL,"
                         " reporter_name_enc = NULL, reporter_phone_enc = NULL,"
                         " reporter_org_enc = NULL, resident_name_enc = NULL,"
                         " observed_by_enc = NULL, phone_hash = NULL WHERE ticket_id = ?1",
    [ST_PURGE_EVENTS] = "UPDATE ticket_event SET note_enc = NULL WHERE ticket_id = ?1"
                        " AND note_enc IS NOT NULL",
    [ST_PURGE_RECORDINGS] = "UPDATE recording SET audio_enc = NULL, purged_at = ?2"
                            " WHERE ticket_id = ?1 AND purged_at IS NULL",
    [ST_PURGE_TICKET] = "UPDATE ticket SET address_hash = NULL, purged_at = ?2 WHERE id = ?1",
    [ST_PURGE_SESSIONS_OF] = "DELETE FROM sms_session WHERE ticket_id = ?1",
    [ST_PURGE_SESSIONS_OLD] = "DELETE FROM sms_session WHERE last_at < ?1",
    [ST_PURGE_COUNT_SESSIONS] = "SELECT count(*) FROM sms_session WHERE last_at < ?1",
    [ST_NOTIF_PENDING] = "SELECT id, next_attempt_at FROM notification WHERE state = 'pending'",
    [ST_NOTIF_OF_TICKET] =
        "SELECT " STORE_NOTIF_COLS " FROM notification WHERE ticket_id = ? ORDER BY id",
    [ST_NOTIF_COUNTS] = "SELECT state, count(*) FROM notification GROUP BY state",
    /* The latest alert to each target of tickets still notifying
     * (ticket_state, then notification_ticket). */
    [ST_NOTIF_CURRENT] = "SELECT " STORE_NOTIF_COLS_N " FROM ticket t JOIN notification n"
                         " ON n.ticket_id = t.id WHERE t.state = 'notifying'"
                         " AND n.channel = ? AND n.kind = 'alert' AND n.state = 'sent'"
                         " AND n.sent_at >= ? AND n.id = (SELECT max(m.id) FROM notification m"
                         " WHERE m.ticket_id = n.ticket_id AND m.target = n.target"
                         " AND m.channel = n.channel AND m.kind = 'alert') ORDER BY n.id",
};

enum cl_err store_fail(struct cl_store *s, const char *what, int rc)
{
	int ext = s && s->db ? sqlite3_extended_errcode(s->db) : rc;
	cl_error("store.error", "op=%s rc=%d msg=\"%s\"", what, ext, sqlite3_errstr(ext));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
		return CL_AGAIN;
	case SQLITE_NOMEM:
		return CL_ERR_NOMEM;
	case SQLITE_CONSTRAINT:
		return CL_ERR_CONFLICT;
	default:
		return CL_ERR_STORAGE;
	}
}

sqlite3_stmt *store_stmt(struct cl_store *s, enum store_stmt id)
{
	sqlite3_stmt *st = s->stmts[id];
	if (!st) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                            &s->stmts[id], NULL);
		if (rc != SQLITE_OK) {
			store_fail(s, "prepare", rc);
			return NULL;
		}
		return s->stmts[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

enum cl_err store_exec_stmt(struct cl_store *s, sqlite3_stmt *st, const char *what)
{
	if (!st)
		return CL_ERR_STORAGE;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_fail(s, what, rc);
	return CL_OK;
}

void store_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (v)
		sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

void store_bind_blob(sqlite3_stmt *st, int idx, struct cl_blob b)
{
	if (b.data)
		sqlite3_bind_blob(st, idx, b.data, (int)b.len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

void store_bind_ms(sqlite3_stmt *st, int idx, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, idx, v);
	else
		sqlite3_bind_null(st, idx);
}

void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	if (len == 0)
		return;
	if (!v) {
		dst[0] = '\0';
		return;
	}
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (n >= len)
		n = len - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

struct cl_blob store_col_blob(sqlite3_stmt *st, int col)
{
	struct cl_blob b = {sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col)};
	if (!b.data)
		b.len = 0;
	return b;
}

static enum cl_err exec_sql(struct cl_store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		cl_error("store.error", "op=%s msg=\"%s\"", what, msg ? msg : "?");
		sqlite3_free(msg);
		return rc == SQLITE_BUSY ? CL_AGAIN : CL_ERR_STORAGE;
	}
	return CL_OK;
}

static int64_t query_int(struct cl_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static enum cl_err migrate(struct cl_store *s)
{
	int version = (int)query_int(s, "PRAGMA user_version");
	if (version > store_migration_count) {
		cl_error("store.schema_too_new", "version=%d known=%d", version,
		         store_migration_count);
		return CL_ERR_STORAGE;
	}
	for (int v = version; v < store_migration_count; v++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
		enum cl_err err = exec_sql(s, "BEGIN IMMEDIATE", "migrate.begin");
		if (err == CL_OK)
			err = exec_sql(s, store_migrations[v], "migrate");
		if (err == CL_OK)
			err = exec_sql(s, bump, "migrate.version");
		if (err == CL_OK)
			err = exec_sql(s, "COMMIT", "migrate.commit");
		if (err != CL_OK) {
			exec_sql(s, "ROLLBACK", "migrate.rollback");
			return err;
		}
		cl_info("store.migrated", "version=%d", v + 1);
	}
	return CL_OK;
}

enum cl_err cl_store_open(const char *path, struct cl_store **out)
{
	*out = NULL;
	struct cl_store *s = calloc(1, sizeof(*s));
	if (!s)
		return CL_ERR_NOMEM;
	int rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		cl_error("store.open_failed", "rc=%d msg=\"%s\"", rc, sqlite3_errstr(rc));
		cl_store_close(s);
		return CL_ERR_STORAGE;
	}
	sqlite3_busy_timeout(s->db, 5000);
	enum cl_err err = exec_sql(s,
	                           "PRAGMA journal_mode = WAL;"
	                           "PRAGMA synchronous = FULL;"
	                           "PRAGMA foreign_keys = ON;"
	                           "PRAGMA secure_delete = ON;"
	                           "PRAGMA temp_store = MEMORY;"
	                           "PRAGMA cache_size = -8192;"
	                           "PRAGMA wal_autocheckpoint = 4000;",
	                           "pragmas");
	if (err == CL_OK) {
		char *mode = NULL;
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				mode = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
		if (!mode || strcmp(mode, "wal") != 0) {
			cl_error("store.not_wal", "mode=%s", mode ? mode : "?");
			err = CL_ERR_STORAGE;
		}
		sqlite3_free(mode);
	}
	if (err == CL_OK)
		err = migrate(s);
	if (err != CL_OK) {
		cl_store_close(s);
		return err;
	}
	s->next_report_id = query_int(s, "SELECT COALESCE(MAX(id), 0) + 1 FROM report");
	s->next_ticket_id = query_int(s, "SELECT COALESCE(MAX(id), 0) + 1 FROM ticket");
	*out = s;
	return CL_OK;
}

void cl_store_close(struct cl_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	if (s->db)
		sqlite3_close(s->db);
	free(s);
}

int cl_store_schema_version(struct cl_store *s)
{
	return (int)query_int(s, "PRAGMA user_version");
}

bool cl_store_healthy(struct cl_store *s)
{
	sqlite3_stmt *st = store_stmt(s, ST_HEALTH);
	if (!st)
		return false;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

enum cl_err cl_store_begin(struct cl_store *s)
{
	return store_exec_stmt(s, store_stmt(s, ST_BEGIN), "begin");
}

enum cl_err cl_store_commit(struct cl_store *s)
{
	enum cl_err err = store_exec_stmt(s, store_stmt(s, ST_COMMIT), "commit");
	if (err != CL_OK && !sqlite3_get_autocommit(s->db))
		cl_store_rollback(s);
	return err;
}

void cl_store_rollback(struct cl_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_exec_stmt(s, store_stmt(s, ST_ROLLBACK), "rollback");
}

enum cl_err cl_store_savepoint(struct cl_store *s)
{
	return store_exec_stmt(s, store_stmt(s, ST_SAVEPOINT), "savepoint");
}

enum cl_err cl_store_release(struct cl_store *s)
{
	return store_exec_stmt(s, store_stmt(s, ST_RELEASE), "release");
}

void cl_store_rollback_to(struct cl_store *s)
{
	/* ROLLBACK TO keeps the savepoint open; release it so nesting stays flat. */
	store_exec_stmt(s, store_stmt(s, ST_ROLLBACK_TO), "rollback_to");
	store_exec_stmt(s, store_stmt(s, ST_RELEASE), "release");
}

int64_t cl_store_next_report_id(struct cl_store *s)
{
	return s->next_report_id++;
}

int64_t cl_store_next_ticket_id(struct cl_store *s)
{
	return s->next_ticket_id++;
}
