/*
 * core/store_internal.h: what the store's files share and nobody else sees:
 * the connection, the prepared-statement cache and small bind/column helpers.
 * Included only by core/store*.c.
 */
#ifndef CARELINE_STORE_INTERNAL_H
#define CARELINE_STORE_INTERNAL_H

#include <sqlite3.h>

#include "careline/store.h"

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_HEALTH,
	ST_REPORT_INSERT,
	ST_REPORT_FIND,
	ST_REPORTS_OF_TICKET,
	ST_TICKET_INSERT,
	ST_TICKET_UPDATE,
	ST_TICKET_GET,
	ST_TICKET_AT_ADDRESS,
	ST_TICKETS_LIST_ALL,
	ST_TICKETS_LIST_OPEN,
	ST_TICKETS_LIST_ALL_TEAM,
	ST_TICKETS_LIST_OPEN_TEAM,
	ST_TICKETS_DEADLINE,
	ST_TICKET_COUNTS,
	ST_EVENT_INSERT,
	ST_EVENTS_OF_TICKET,
	ST_NOTIF_INSERT,
	ST_NOTIF_GET,
	ST_NOTIF_UPDATE,
	ST_NOTIF_SENT,
	ST_NOTIF_FAILED,
	ST_NOTIF_CANCEL,
	ST_NOTIF_PENDING,
	ST_NOTIF_OF_TICKET,
	ST_NOTIF_COUNTS,
	ST_NOTIF_CURRENT,
	ST_NOTIF_REQUEUE,
	ST_NOTIF_FAILED_FINAL,
	ST_NOTIF_PROVIDER_ID,
	ST_NOTIF_DELIVERY,
	ST_NOTIF_LATEST,
	ST_SMS_CODE_OF_TICKET,
	ST_SMS_CODE_FREE,
	ST_SMS_CODES_OF_PERSON,
	ST_SMS_CODE_INSERT,
	ST_SMS_CODE_FIND,
	ST_SMS_CODES_OPEN,
	ST_SMS_SESSION_GET,
	ST_SMS_SESSION_PUT,
	ST_SMS_OPTOUT_PUT,
	ST_SMS_OPTOUT_HAS,
	ST_CONTACT_BLOCK,
	ST_CONTACT_BLOCKED,
	ST_OVERRIDE_INSERT,
	ST_OVERRIDE_DELETE,
	ST_OVERRIDES_CURRENT,
	ST_DEVICE_INSERT,
	ST_DEVICE_REVOKE,
	ST_DEVICES_ALL,
	ST_CALL_GET,
	ST_CALL_INSERT,
	ST_CALL_UPDATE,
	ST_CALLS_IDLE,
	ST_REC_PUT,
	ST_REC_LINK,
	ST_REC_WORK,
	ST_REC_GET,
	ST_REC_OF_TICKET,
	ST_REC_STORED,
	ST_REC_RETRY,
	ST_REC_REMOTE_DELETED,
	ST_AUDIT_LAST,
	ST_AUDIT_INSERT,
	ST_AUDIT_ALL,
	ST_AUDIT_OF_TICKET,
	ST_PURGE_DUE,
	ST_PURGE_COUNT_DUE,
	ST_PURGE_REPORTS,
	ST_PURGE_EVENTS,
	ST_PURGE_RECORDINGS,
	ST_PURGE_TICKET,
	ST_PURGE_SESSIONS_OF,
	ST_PURGE_SESSIONS_OLD,
	ST_PURGE_COUNT_SESSIONS,
	ST__COUNT
};

struct cl_store {
	sqlite3 *db;
	sqlite3_stmt *stmts[ST__COUNT];
	int64_t next_report_id;
	int64_t next_ticket_id;
};

/* The columns every ticket read selects, in the order store_tickets.c reads
 * them; `l` is the linked ticket (LEFT JOIN). */
#define STORE_TICKET_COLS                                                                          \
	"t.id, t.ref, t.kind, t.state, t.urgency, t.categories, t.area, t.team, t.policy,"         \
	" t.address_hash, t.created_at, t.updated_at, t.acked_by, t.acked_at, t.taken_by,"         \
	" t.taken_at, t.closed_reason, t.closed_at, t.linked_to, l.ref, t.esc_phase, t.esc_step,"  \
	" t.esc_loop, t.due_at, t.unhandled"
#define STORE_TICKET_FROM " FROM ticket t LEFT JOIN ticket l ON l.id = t.linked_to"

#define STORE_CALL_COLS                                                                            \
	"id, provider, call_key, step, lang, category, tries, consent, ticket_id, created_at,"     \
	" updated_at"
#define STORE_REC_COLS                                                                             \
	"id, call_id, ticket_id, provider, remote_id, remote_url, state, remote_deleted,"          \
	" attempts, next_try_at, last_error, duration_s, size, created_at, stored_at"

#define STORE_NOTIF_COLS                                                                           \
	"id, ticket_id, person, channel, target, kind, step, loop, state, attempts,"               \
	" next_attempt_at, created_at, sent_at, answered_at, answer, last_error, reply_code,"      \
	" provider_id, delivery, provider_error"
/* The same columns of a notification aliased "n". */
#define STORE_NOTIF_COLS_N                                                                         \
	"n.id, n.ticket_id, n.person, n.channel, n.target, n.kind, n.step, n.loop, n.state,"       \
	" n.attempts, n.next_attempt_at, n.created_at, n.sent_at, n.answered_at, n.answer,"        \
	" n.last_error, n.reply_code, n.provider_id, n.delivery, n.provider_error"

/* Read a ticket / notification from the current row of a statement that
 * selected STORE_TICKET_COLS / STORE_NOTIF_COLS. */
void store_read_ticket(sqlite3_stmt *st, struct cl_ticket *t);
void store_read_notification(sqlite3_stmt *st, struct cl_notification *n);

/* The prepared statement id, reset and with bindings cleared; NULL (logged)
 * if it cannot be prepared. */
sqlite3_stmt *store_stmt(struct cl_store *s, enum store_stmt id);

/* Log a SQLite failure once (event store.error) and map it to enum cl_err. */
enum cl_err store_fail(struct cl_store *s, const char *what, int rc);

/* Run a statement that returns no rows. */
enum cl_err store_exec_stmt(struct cl_store *s, sqlite3_stmt *st, const char *what);

/* Bind helpers: NULL text/blob binds SQL NULL. */
void store_bind_text(sqlite3_stmt *st, int idx, const char *v);
void store_bind_blob(sqlite3_stmt *st, int idx, struct cl_blob b);
void store_bind_ms(sqlite3_stmt *st, int idx, int64_t v); /* 0 binds NULL */
/* Copy column text into dst (empty for NULL). */
void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t len);
struct cl_blob store_col_blob(sqlite3_stmt *st, int col);

/* The schema migrations, in order; migration i brings the schema to i + 1. */
extern const char *const store_migrations[];
extern const int store_migration_count;

#endif
