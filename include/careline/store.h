/*
 * include/careline/store.h: the durable state, SQLite in WAL mode with
 * synchronous=FULL. Only core/store*.c touch SQLite; every statement is
 * prepared once and kept. One connection, one writer (the loop thread).
 * Transactions are explicit: the batch opens one per loop pass (group commit)
 * and a savepoint per job, so one bad job never undoes the others.
 * Encrypted values are opaque blobs here; core/crypto.c makes and opens them.
 */
#ifndef CARELINE_STORE_H
#define CARELINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"
#include "careline/ticket.h"

struct cl_store;

struct cl_blob {
	const unsigned char *data; /* NULL when absent */
	size_t len;
};

/* Open (creating) the database at path and apply pending migrations.
 * Caller frees with cl_store_close. */
enum cl_err cl_store_open(const char *path, struct cl_store **out);
void cl_store_close(struct cl_store *s);

/* The schema version after migrations. */
int cl_store_schema_version(struct cl_store *s);
/* A cheap read that proves the database answers (readyz). */
bool cl_store_healthy(struct cl_store *s);

enum cl_err cl_store_begin(struct cl_store *s);  /* BEGIN IMMEDIATE */
enum cl_err cl_store_commit(struct cl_store *s); /* durable when CL_OK */
void cl_store_rollback(struct cl_store *s);
enum cl_err cl_store_savepoint(struct cl_store *s);
enum cl_err cl_store_release(struct cl_store *s);
void cl_store_rollback_to(struct cl_store *s);

/* Row ids are handed out by the single writer before insert, so encrypted
 * fields can bind their row id as associated data. */
int64_t cl_store_next_report_id(struct cl_store *s);
int64_t cl_store_next_ticket_id(struct cl_store *s);

/* --- reports ------------------------------------------------------------ */

enum cl_report_field {
	CL_RF_TEXT,
	CL_RF_ADDRESS,
	CL_RF_REPORTER_NAME,
	CL_RF_REPORTER_PHONE,
	CL_RF_REPORTER_ORG,
	CL_RF_RESIDENT_NAME,
	CL_RF_OBSERVED_BY,
	CL_RF__COUNT
};
/* "text", "address", ...: the column stem and the crypto field name. */
const char *cl_report_field_name(enum cl_report_field f);

struct cl_report_row {
	int64_t id;
	const char *ns;  /* idempotency namespace */
	const char *key; /* idempotency key */
	const char *via; /* transport */
	int64_t received_ms;
	int64_t ticket_id;
	const char *reporter_person; /* registered person id or NULL */
	const char *reporter_role;
	bool anonymous;
	bool consent_callback;
	bool consent_disclose;
	struct cl_blob fields[CL_RF__COUNT]; /* encrypted */
	struct cl_blob phone_hash;
	const char *answer_state; /* ticket state in the original answer */
};

enum cl_err cl_store_report_insert(struct cl_store *s, const struct cl_report_row *r);

/* The original answer for (ns, key): CL_OK and its ticket id and answer
 * state, or CL_ERR_NOTFOUND. */
enum cl_err cl_store_report_find(struct cl_store *s, const char *ns, const char *key,
                                 int64_t *ticket_id, char *answer_state, size_t state_len);

/* Calls fn for each report of a ticket, oldest first; row and its blobs are
 * valid during the call only. */
enum cl_err cl_store_reports_of_ticket(struct cl_store *s, int64_t ticket_id,
                                       void (*fn)(void *ctx, const struct cl_report_row *row),
                                       void *ctx);

/* --- tickets ------------------------------------------------------------ */

enum cl_err cl_store_ticket_insert(struct cl_store *s, const struct cl_ticket *t);
/* Write every mutable column of t (state, acked/taken/closed, escalation). */
enum cl_err cl_store_ticket_update(struct cl_store *s, const struct cl_ticket *t);
/* CL_ERR_NOTFOUND when absent. linked_ref is filled from the linked row. */
enum cl_err cl_store_ticket_get(struct cl_store *s, int64_t id, struct cl_ticket *out);
/* The newest open ticket with this address hash, or CL_ERR_NOTFOUND. */
enum cl_err cl_store_ticket_open_at_address(struct cl_store *s, const unsigned char hash[32],
                                            int64_t *id, char ref[CL_REF_MAX]);

struct cl_ticket_filter {
	bool open_only;
	const char *team; /* NULL for all */
	int limit;        /* 0 = 1000 */
};
/* Newest first. */
enum cl_err cl_store_tickets_list(struct cl_store *s, const struct cl_ticket_filter *f,
                                  void (*fn)(void *ctx, const struct cl_ticket *t), void *ctx);
/* Every ticket with a deadline (restart: rebuild timers). */
enum cl_err cl_store_tickets_with_deadline(struct cl_store *s,
                                           void (*fn)(void *ctx, int64_t id, int64_t due_ms),
                                           void *ctx);
/* counts[state] for every state. */
enum cl_err cl_store_ticket_counts(struct cl_store *s, int64_t counts[CL_TICKET_STATE__COUNT]);

/* --- ticket events -------------------------------------------------------- */

struct cl_event_row {
	int64_t ticket_id;
	int64_t at_ms;
	const char *actor; /* person id or "system" */
	const char *event;
	const char *from_state;
	const char *to_state;
	const char *detail;  /* non-personal: reason code, step, notification id */
	struct cl_blob note; /* encrypted worker note, or none */
	int64_t id;          /* filled on read */
};

enum cl_err cl_store_event_insert(struct cl_store *s, const struct cl_event_row *e);
enum cl_err cl_store_events_of_ticket(struct cl_store *s, int64_t ticket_id,
                                      void (*fn)(void *ctx, const struct cl_event_row *e),
                                      void *ctx);

/* --- notifications (the outbox) ------------------------------------------ */

enum cl_notif_state {
	CL_NOTIF_PENDING,   /* to be sent (again) at next_attempt_ms */
	CL_NOTIF_SENT,      /* handed to the channel and confirmed (MQTT PUBACK) */
	CL_NOTIF_FAILED,    /* gave up: no contact, or permanent error */
	CL_NOTIF_CANCELLED, /* no longer needed (ticket taken or closed) */
	CL_NOTIF_STATE__COUNT
};
const char *cl_notif_state_name(enum cl_notif_state s);

struct cl_notification {
	int64_t id;
	int64_t ticket_id;
	char person[CL_ID_MAX];
	char channel[16];       /* "mqtt" (later "sms", "voice") or "none" */
	char target[CL_ID_MAX]; /* device id for mqtt */
	char kind[12];          /* "alert" or "update" */
	int step;
	int loop;
	enum cl_notif_state state;
	int attempts;
	int64_t next_attempt_ms;
	int64_t created_ms;
	int64_t sent_ms;
	int64_t answered_ms;
	char answer[16];
	char last_error[64];
};

/* Inserts n and sets n->id. */
enum cl_err cl_store_notification_insert(struct cl_store *s, struct cl_notification *n);
enum cl_err cl_store_notification_get(struct cl_store *s, int64_t id, struct cl_notification *out);
/* Write state, attempts, next_attempt, sent, answered, answer, last_error. */
enum cl_err cl_store_notification_update(struct cl_store *s, const struct cl_notification *n);
/* Outcome writes straight by id (no read first); each changes a row only
 * while it is pending. attempts is the count so far (the stored count never
 * goes down); failed records the error and next_ms when known (0 keeps the
 * stored next attempt). */
enum cl_err cl_store_notification_sent(struct cl_store *s, int64_t id, int attempts, int64_t at_ms);
enum cl_err cl_store_notification_failed(struct cl_store *s, int64_t id, int attempts,
                                         const char *error, int64_t next_ms);
enum cl_err cl_store_notification_cancel(struct cl_store *s, int64_t id);
/* Pending notifications (restart: rebuild the outbox queue). */
enum cl_err cl_store_notifications_pending(struct cl_store *s,
                                           void (*fn)(void *ctx, int64_t id, int64_t next_ms),
                                           void *ctx);
enum cl_err cl_store_notifications_of_ticket(struct cl_store *s, int64_t ticket_id,
                                             void (*fn)(void *ctx, const struct cl_notification *n),
                                             void *ctx);
/* counts[state] for every state. */
enum cl_err cl_store_notification_counts(struct cl_store *s, int64_t counts[CL_NOTIF_STATE__COUNT]);

#endif
