/*
 * core/store_notifications.c owns the notification table, the durable
 * outbox: rows are inserted in the same transaction as the ticket change that
 * causes them, updated as sends succeed or fail, and read back at start so the
 * outbox resumes where it stopped.
 */
#include <string.h>

#include "store_internal.h"

static const char *const notif_state_names[CL_NOTIF_STATE__COUNT] = {
    [CL_NOTIF_PENDING] = "pending",
    [CL_NOTIF_SENT] = "sent",
    [CL_NOTIF_FAILED] = "failed",
    [CL_NOTIF_CANCELLED] = "cancelled",
};

const char *cl_notif_state_name(enum cl_notif_state s)
{
	if ((unsigned)s >= CL_NOTIF_STATE__COUNT)
		return "unknown";
	return notif_state_names[s];
}

static enum cl_notif_state parse_state(const char *s)
{
	for (int i = 0; i < CL_NOTIF_STATE__COUNT; i++)
		if (s && strcmp(s, notif_state_names[i]) == 0)
			return (enum cl_notif_state)i;
	return CL_NOTIF_FAILED;
}

void store_read_notification(sqlite3_stmt *st, struct cl_notification *n)
{
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	n->ticket_id = sqlite3_column_int64(st, 1);
	store_col_text(st, 2, n->person, sizeof(n->person));
	store_col_text(st, 3, n->channel, sizeof(n->channel));
	store_col_text(st, 4, n->target, sizeof(n->target));
	store_col_text(st, 5, n->kind, sizeof(n->kind));
	n->step = sqlite3_column_int(st, 6);
	n->loop = sqlite3_column_int(st, 7);
	n->state = parse_state((const char *)sqlite3_column_text(st, 8));
	n->attempts = sqlite3_column_int(st, 9);
	n->next_attempt_ms = sqlite3_column_int64(st, 10);
	n->created_ms = sqlite3_column_int64(st, 11);
	n->sent_ms = sqlite3_column_int64(st, 12);
	n->answered_ms = sqlite3_column_int64(st, 13);
	store_col_text(st, 14, n->answer, sizeof(n->answer));
	store_col_text(st, 15, n->last_error, sizeof(n->last_error));
	n->reply_code = sqlite3_column_int(st, 16);
	store_col_text(st, 17, n->provider_id, sizeof(n->provider_id));
	store_col_text(st, 18, n->delivery, sizeof(n->delivery));
	store_col_text(st, 19, n->provider_error, sizeof(n->provider_error));
}

enum cl_err cl_store_notification_insert(struct cl_store *s, struct cl_notification *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, n->ticket_id);
	store_bind_text(st, 2, n->person);
	store_bind_text(st, 3, n->channel);
	store_bind_text(st, 4, n->target);
	store_bind_text(st, 5, n->kind);
	sqlite3_bind_int(st, 6, n->step);
	sqlite3_bind_int(st, 7, n->loop);
	store_bind_text(st, 8, cl_notif_state_name(n->state));
	sqlite3_bind_int(st, 9, n->attempts);
	store_bind_ms(st, 10, n->next_attempt_ms);
	sqlite3_bind_int64(st, 11, n->created_ms);
	store_bind_ms(st, 12, n->sent_ms);
	store_bind_ms(st, 13, n->answered_ms);
	store_bind_text(st, 14, n->answer[0] ? n->answer : NULL);
	store_bind_text(st, 15, n->last_error[0] ? n->last_error : NULL);
	if (n->reply_code)
		sqlite3_bind_int(st, 16, n->reply_code);
	enum cl_err err = store_exec_stmt(s, st, "notification.insert");
	if (err == CL_OK)
		n->id = sqlite3_last_insert_rowid(s->db);
	return err;
}

enum cl_err cl_store_notification_get(struct cl_store *s, int64_t id, struct cl_notification *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_GET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		store_read_notification(st, out);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, "notification.get", rc);
	}
	sqlite3_reset(st);
	return err;
}

enum cl_err cl_store_notification_update(struct cl_store *s, const struct cl_notification *n)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_UPDATE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, n->id);
	store_bind_text(st, 2, cl_notif_state_name(n->state));
	sqlite3_bind_int(st, 3, n->attempts);
	store_bind_ms(st, 4, n->next_attempt_ms);
	store_bind_ms(st, 5, n->sent_ms);
	store_bind_ms(st, 6, n->answered_ms);
	store_bind_text(st, 7, n->answer[0] ? n->answer : NULL);
	store_bind_text(st, 8, n->last_error[0] ? n->last_error : NULL);
	return store_exec_stmt(s, st, "notification.update");
}

enum cl_err cl_store_notification_sent(struct cl_store *s, int64_t id, int attempts, int64_t at_ms)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_SENT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at_ms);
	sqlite3_bind_int(st, 3, attempts);
	return store_exec_stmt(s, st, "notification.sent");
}

enum cl_err cl_store_notification_failed(struct cl_store *s, int64_t id, int attempts,
                                         const char *error, int64_t next_ms)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_FAILED);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, error);
	store_bind_ms(st, 3, next_ms);
	sqlite3_bind_int(st, 4, attempts);
	return store_exec_stmt(s, st, "notification.failed");
}

enum cl_err cl_store_notification_cancel(struct cl_store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_CANCEL);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	return store_exec_stmt(s, st, "notification.cancel");
}

enum cl_err cl_store_notifications_pending(struct cl_store *s,
                                           void (*fn)(void *ctx, int64_t id, int64_t next_ms),
                                           void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_PENDING);
	if (!st)
		return CL_ERR_STORAGE;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "notifications.pending", rc);
	return CL_OK;
}

enum cl_err cl_store_notifications_current(struct cl_store *s, const char *channel,
                                           int64_t since_ms,
                                           void (*fn)(void *ctx, const struct cl_notification *n),
                                           void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_CURRENT);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, channel);
	sqlite3_bind_int64(st, 2, since_ms);
	int rc;
	struct cl_notification n;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_read_notification(st, &n);
		fn(ctx, &n);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "notifications.current", rc);
	return CL_OK;
}

enum cl_err cl_store_notification_requeue(struct cl_store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_REQUEUE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_stmt(s, st, "notification.requeue");
}

enum cl_err cl_store_notifications_of_ticket(struct cl_store *s, int64_t ticket_id,
                                             void (*fn)(void *ctx, const struct cl_notification *n),
                                             void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_OF_TICKET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, ticket_id);
	int rc;
	struct cl_notification n;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_read_notification(st, &n);
		fn(ctx, &n);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "notifications.of_ticket", rc);
	return CL_OK;
}

enum cl_err cl_store_notification_counts(struct cl_store *s, int64_t counts[CL_NOTIF_STATE__COUNT])
{
	memset(counts, 0, sizeof(int64_t) * CL_NOTIF_STATE__COUNT);
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_COUNTS);
	if (!st)
		return CL_ERR_STORAGE;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		counts[parse_state((const char *)sqlite3_column_text(st, 0))] =
		    sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "notifications.counts", rc);
	return CL_OK;
}
