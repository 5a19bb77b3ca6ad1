/*
 * core/store_sms.c owns the SMS channel's tables: per-person reply codes
 * (sms_code), follow-up sessions and opt-outs keyed by a keyed hash of the
 * number (never the number), blocked contacts, and the SMS-specific updates
 * of the outbox (provider ids, delivery reports, final failures).
 */
#include <string.h>

#include "store_internal.h"

/* A taken ticket keeps its code this long, so a late "12a" is answered
 * "already taken" instead of acting on another ticket. */
#define CODE_KEEP_AFTER_TAKE_MS (24 * 3600 * 1000LL)
#define MAX_CODE                999

enum cl_err cl_store_notification_failed_final(struct cl_store *s, int64_t id, int attempts,
                                               const char *error)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_FAILED_FINAL);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, error);
	sqlite3_bind_int(st, 3, attempts);
	return store_exec_stmt(s, st, "notification.failed_final");
}

enum cl_err cl_store_notification_set_provider_id(struct cl_store *s, int64_t id,
                                                  const char *provider_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_PROVIDER_ID);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, provider_id);
	return store_exec_stmt(s, st, "notification.provider_id");
}

enum cl_err cl_store_notification_delivery(struct cl_store *s, const char *channel,
                                           const char *provider_id, const char *delivery,
                                           const char *error)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_DELIVERY);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, channel);
	store_bind_text(st, 2, provider_id);
	store_bind_text(st, 3, delivery);
	store_bind_text(st, 4, error && error[0] ? error : NULL);
	return store_exec_stmt(s, st, "notification.delivery");
}

enum cl_err cl_store_notification_latest(struct cl_store *s, const char *person, int64_t ticket_id,
                                         const char *channel, struct cl_notification *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_NOTIF_LATEST);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	sqlite3_bind_int64(st, 2, ticket_id);
	store_bind_text(st, 3, channel);
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		store_read_notification(st, out);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, "notification.latest", rc);
	}
	sqlite3_reset(st);
	return err;
}

/* One integer from the first row, or CL_ERR_NOTFOUND. */
static enum cl_err step_int64(struct cl_store *s, sqlite3_stmt *st, int64_t *out, const char *what)
{
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, what, rc);
	}
	sqlite3_reset(st);
	return err;
}

enum cl_err cl_store_sms_code_for(struct cl_store *s, const char *person, int64_t ticket_id,
                                  int64_t now, int *code)
{
	sqlite3_stmt *st = store_stmt(s, ST_SMS_CODE_OF_TICKET);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	sqlite3_bind_int64(st, 2, ticket_id);
	int64_t known = 0;
	enum cl_err err = step_int64(s, st, &known, "sms_code.of_ticket");
	if (err == CL_OK) {
		*code = (int)known;
		return CL_OK;
	}
	if (err != CL_ERR_NOTFOUND)
		return err;

	st = store_stmt(s, ST_SMS_CODE_FREE);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	sqlite3_bind_int64(st, 2, now - CODE_KEEP_AFTER_TAKE_MS);
	if ((err = store_exec_stmt(s, st, "sms_code.free")) != CL_OK)
		return err;

	/* The smallest code not in use: walk the sorted list to the first gap. */
	st = store_stmt(s, ST_SMS_CODES_OF_PERSON);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	int next = 1, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int(st, 0) == next)
		next++;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "sms_code.list", rc);
	if (next > MAX_CODE)
		return CL_ERR_CONFLICT;

	st = store_stmt(s, ST_SMS_CODE_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	sqlite3_bind_int(st, 2, next);
	sqlite3_bind_int64(st, 3, ticket_id);
	sqlite3_bind_int64(st, 4, now);
	if ((err = store_exec_stmt(s, st, "sms_code.insert")) != CL_OK)
		return err;
	*code = next;
	return CL_OK;
}

enum cl_err cl_store_sms_code_find(struct cl_store *s, const char *person, int code,
                                   int64_t *ticket_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_SMS_CODE_FIND);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	sqlite3_bind_int(st, 2, code);
	return step_int64(s, st, ticket_id, "sms_code.find");
}

enum cl_err cl_store_sms_codes_open(struct cl_store *s, const char *person, int *codes,
                                    int64_t *tickets, size_t max, size_t *n)
{
	*n = 0;
	sqlite3_stmt *st = store_stmt(s, ST_SMS_CODES_OPEN);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n < max) {
			codes[*n] = sqlite3_column_int(st, 0);
			tickets[*n] = sqlite3_column_int64(st, 1);
		}
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "sms_code.open", rc);
	return CL_OK;
}

enum cl_err cl_store_sms_session_get(struct cl_store *s, const unsigned char hash[32],
                                     int64_t *ticket_id, int64_t *last_ms)
{
	sqlite3_stmt *st = store_stmt(s, ST_SMS_SESSION_GET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		*ticket_id = sqlite3_column_int64(st, 0);
		*last_ms = sqlite3_column_int64(st, 1);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, "sms_session.get", rc);
	}
	sqlite3_reset(st);
	return err;
}

enum cl_err cl_store_sms_session_put(struct cl_store *s, const unsigned char hash[32],
                                     int64_t ticket_id, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_SMS_SESSION_PUT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ticket_id);
	sqlite3_bind_int64(st, 3, now);
	return store_exec_stmt(s, st, "sms_session.put");
}

enum cl_err cl_store_sms_optout_put(struct cl_store *s, const unsigned char hash[32], int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_SMS_OPTOUT_PUT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return store_exec_stmt(s, st, "sms_optout.put");
}

bool cl_store_sms_optout_has(struct cl_store *s, const unsigned char hash[32])
{
	sqlite3_stmt *st = store_stmt(s, ST_SMS_OPTOUT_HAS);
	if (!st)
		return false;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int64_t one = 0;
	return step_int64(s, st, &one, "sms_optout.has") == CL_OK;
}

enum cl_err cl_store_contact_block(struct cl_store *s, const char *person, const char *channel,
                                   const char *reason, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_CONTACT_BLOCK);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, person);
	store_bind_text(st, 2, channel);
	store_bind_text(st, 3, reason && reason[0] ? reason : "refused");
	sqlite3_bind_int64(st, 4, now);
	return store_exec_stmt(s, st, "contact.block");
}

bool cl_store_contact_blocked(struct cl_store *s, const char *person, const char *channel)
{
	sqlite3_stmt *st = store_stmt(s, ST_CONTACT_BLOCKED);
	if (!st)
		return false;
	store_bind_text(st, 1, person);
	store_bind_text(st, 2, channel);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}
