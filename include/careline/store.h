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

#include "careline/audit.h"
#include "careline/call.h"
#include "careline/err.h"
#include "careline/roster.h"
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
	int reply_code;       /* SMS: the code the person answers with ("12a"); 0 none */
	char provider_id[96]; /* the provider's message id once sent */
	char delivery[16];    /* the provider's delivery report: delivered, undelivered, ... */
	char provider_error[32];
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
/* A send the provider refused for good: failed, no retry. */
enum cl_err cl_store_notification_failed_final(struct cl_store *s, int64_t id, int attempts,
                                               const char *error);
/* The provider's message id of a sent notification (matches its status hook). */
enum cl_err cl_store_notification_set_provider_id(struct cl_store *s, int64_t id,
                                                  const char *provider_id);
/* A delivery report for (channel, provider_id); CL_OK even when no row matches. */
enum cl_err cl_store_notification_delivery(struct cl_store *s, const char *channel,
                                           const char *provider_id, const char *delivery,
                                           const char *error);
/* The newest alert to person about ticket on channel; CL_ERR_NOTFOUND if none. */
enum cl_err cl_store_notification_latest(struct cl_store *s, const char *person, int64_t ticket_id,
                                         const char *channel, struct cl_notification *out);
/* Pending notifications (restart: rebuild the outbox queue). */
enum cl_err cl_store_notifications_pending(struct cl_store *s,
                                           void (*fn)(void *ctx, int64_t id, int64_t next_ms),
                                           void *ctx);
/* The latest alert to each target of tickets still notifying, on channel,
 * sent at or after since_ms: what a broker that lost its state may have lost. */
enum cl_err cl_store_notifications_current(struct cl_store *s, const char *channel,
                                           int64_t since_ms,
                                           void (*fn)(void *ctx, const struct cl_notification *n),
                                           void *ctx);
/* A sent notification is pending again, due at now. */
enum cl_err cl_store_notification_requeue(struct cl_store *s, int64_t id, int64_t now);
enum cl_err cl_store_notifications_of_ticket(struct cl_store *s, int64_t ticket_id,
                                             void (*fn)(void *ctx, const struct cl_notification *n),
                                             void *ctx);
/* counts[state] for every state. */
enum cl_err cl_store_notification_counts(struct cl_store *s, int64_t counts[CL_NOTIF_STATE__COUNT]);

/* --- roster overrides ------------------------------------------------------ */

/* Insert o (sets o->id). */
enum cl_err cl_store_override_insert(struct cl_store *s, struct cl_override *o,
                                     const char *created_by, int64_t now);
/* CL_ERR_NOTFOUND when there is no such override. */
enum cl_err cl_store_override_delete(struct cl_store *s, int64_t id);
/* Overrides that have not ended at now, by start. */
enum cl_err cl_store_overrides_current(struct cl_store *s, int64_t now,
                                       void (*fn)(void *ctx, const struct cl_override *o),
                                       void *ctx);

/* --- devices registered at run time -------------------------------------- */

/* CL_ERR_CONFLICT when the id exists (revoked ids are not reused). */
enum cl_err cl_store_device_insert(struct cl_store *s, const struct cl_device *d, int64_t now);
/* CL_ERR_NOTFOUND when there is no such (unrevoked) device. */
enum cl_err cl_store_device_revoke(struct cl_store *s, const char *id, int64_t now);
enum cl_err cl_store_devices_all(struct cl_store *s,
                                 void (*fn)(void *ctx, const struct cl_device *d), void *ctx);

/* --- SMS: reply codes, follow-up sessions, opt-outs, blocked contacts ------- */

/* The code person answers ticket with ("12" in "12a"): the one already given
 * for this ticket, else the smallest free one (codes of closed tickets, and of
 * tickets taken more than a day before now, are free again). */
enum cl_err cl_store_sms_code_for(struct cl_store *s, const char *person, int64_t ticket_id,
                                  int64_t now, int *code);
/* The ticket behind person's code; CL_ERR_NOTFOUND if none. */
enum cl_err cl_store_sms_code_find(struct cl_store *s, const char *person, int code,
                                   int64_t *ticket_id);
/* person's codes whose tickets still wait for an answer (notifying or
 * acknowledged), smallest first; *n is how many (up to max). */
enum cl_err cl_store_sms_codes_open(struct cl_store *s, const char *person, int *codes,
                                    int64_t *tickets, size_t max, size_t *n);

/* The follow-up session of a sender (keyed hash of the number). */
enum cl_err cl_store_sms_session_get(struct cl_store *s, const unsigned char hash[32],
                                     int64_t *ticket_id, int64_t *last_ms);
enum cl_err cl_store_sms_session_put(struct cl_store *s, const unsigned char hash[32],
                                     int64_t ticket_id, int64_t now);

/* A number that texted STOP (keyed hash): no more texts to it. */
enum cl_err cl_store_sms_optout_put(struct cl_store *s, const unsigned char hash[32], int64_t now);
bool cl_store_sms_optout_has(struct cl_store *s, const unsigned char hash[32]);

/* A contact a provider refused for good (person, "sms"): skipped from now on. */
enum cl_err cl_store_contact_block(struct cl_store *s, const char *person, const char *channel,
                                   const char *reason, int64_t now);
bool cl_store_contact_blocked(struct cl_store *s, const char *person, const char *channel);

/* --- the hotline: calls and recordings -------------------------------------- */

/* CL_ERR_NOTFOUND when the provider's call id is unknown. */
enum cl_err cl_store_call_get(struct cl_store *s, const char *provider, const char *key,
                              struct cl_call *out);
/* Insert c (its id is set). */
enum cl_err cl_store_call_insert(struct cl_store *s, struct cl_call *c);
enum cl_err cl_store_call_update(struct cl_store *s, const struct cl_call *c);
/* Calls not ended whose last callback was before `before`, oldest first, at most max. */
enum cl_err cl_store_calls_idle(struct cl_store *s, int64_t before, int max,
                                void (*fn)(void *ctx, const struct cl_call *c), void *ctx);

enum cl_recording_state { CL_REC_PENDING, CL_REC_STORED, CL_REC_FAILED };
const char *cl_recording_state_name(enum cl_recording_state s);

/* A call's recording: where the provider keeps it until fetched and deleted
 * there, then the audio, encrypted (recording:<id>:audio). */
struct cl_recording {
	int64_t id;
	int64_t call_id;
	int64_t ticket_id; /* 0 until the call's ticket is made */
	char provider[16];
	char remote_id[96];   /* RecordingSid; 46elks: the file name */
	char remote_url[512]; /* "" once deleted at the provider */
	enum cl_recording_state state;
	bool remote_deleted; /* nothing (more) to delete at the provider */
	int attempts;
	int64_t next_try_ms;
	char last_error[64];
	int duration_s;
	int64_t size; /* audio bytes, when stored */
	int64_t created_ms;
	int64_t stored_ms;
};

/* Note where a call's recording is (again: the first note wins once stored). */
enum cl_err cl_store_recording_put(struct cl_store *s, int64_t call_id, int64_t ticket_id,
                                   const char *provider, const char *remote_id,
                                   const char *remote_url, int duration_s, int64_t next_try_ms,
                                   int64_t now);
enum cl_err cl_store_recording_link(struct cl_store *s, int64_t call_id, int64_t ticket_id);
/* Recordings still to fetch or to delete at the provider, soonest first. */
enum cl_err cl_store_recordings_work(struct cl_store *s,
                                     void (*fn)(void *ctx, const struct cl_recording *r),
                                     void *ctx);
enum cl_err cl_store_recordings_of_ticket(struct cl_store *s, int64_t ticket_id,
                                          void (*fn)(void *ctx, const struct cl_recording *r),
                                          void *ctx);
/* One recording with its encrypted audio (copied into *audio, malloc'ed,
 * NULL when none; caller frees). */
enum cl_err cl_store_recording_get(struct cl_store *s, int64_t id, struct cl_recording *out,
                                   unsigned char **audio, size_t *audio_len);
/* The audio arrived (CL_ERR_CONFLICT when not pending any more). */
enum cl_err cl_store_recording_stored(struct cl_store *s, int64_t id, const unsigned char *enc,
                                      size_t enc_len, int64_t size, int64_t now);
/* An attempt failed: try again at next_try_ms, or give up (final). */
enum cl_err cl_store_recording_retry(struct cl_store *s, int64_t id, int attempts,
                                     int64_t next_try_ms, const char *error, bool final);
enum cl_err cl_store_recording_remote_deleted(struct cl_store *s, int64_t id);

/* --- the audit chain and erasure ---------------------------------------------- */

/* The newest event's id and hash (id 0 and zeros when there is none). */
enum cl_err cl_store_audit_last(struct cl_store *s, int64_t *id, unsigned char hash[32]);
enum cl_err cl_store_audit_insert(struct cl_store *s, const struct cl_audit_event *e);
/* Events after id `after` (0: all), in order; or those of one ticket. */
enum cl_err cl_store_audit_each(struct cl_store *s, int64_t after, int64_t ticket_id,
                                void (*fn)(void *ctx, const struct cl_audit_event *e), void *ctx);

/* Tickets closed before `before` whose personal fields are still kept. */
enum cl_err cl_store_purge_due(struct cl_store *s, int64_t before, int max, int64_t *ids,
                               size_t *n);
/* How many of them (a dry run). */
enum cl_err cl_store_purge_count_due(struct cl_store *s, int64_t before, int64_t *n);
/* Erase one ticket's personal data: report fields and hashes, notes, the
 * recordings' audio, its address hash and follow-up sessions; the skeleton
 * (category, area, timings, events) stays. */
enum cl_err cl_store_purge_ticket(struct cl_store *s, int64_t ticket_id, int64_t now);
/* SMS follow-up sessions (keyed hashes of senders) last seen before `before`:
 * counted, or deleted. */
enum cl_err cl_store_purge_sessions(struct cl_store *s, int64_t before, bool dry_run, int64_t *n);
/* Copy the WAL into the database and truncate it, so erased values do not
 * linger in the log (outside a transaction). */
enum cl_err cl_store_checkpoint_truncate(struct cl_store *s);

#endif
