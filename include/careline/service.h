/*
 * include/careline/service.h: the core's face to the gateway. Channels submit
 * reports and actions as jobs; once per loop pass the loop calls
 * cl_service_flush, which commits every queued job in one SQLite transaction
 * (group commit; one savepoint per job), runs due escalations, records send
 * results, then answers each job through its callback and hands due
 * notifications to the registered senders. Nothing is answered before it is
 * durable. Reads (ticket lists, details, on-call) need no transaction.
 * Single-threaded: everything runs on the loop thread.
 */
#ifndef CARELINE_SERVICE_H
#define CARELINE_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/clock.h"
#include "careline/config.h"
#include "careline/err.h"
#include "careline/metrics.h"
#include "careline/report.h"
#include "careline/roster.h"
#include "careline/store.h"
#include "careline/ticket.h"

struct cl_service;
struct cl_crypto;
struct cl_job;

/* crypto is borrowed; the service rotates and retires its field keys (rekey.h). */
enum cl_err cl_service_new(const struct cl_config *cfg, struct cl_store *store,
                           struct cl_crypto *crypto, const struct cl_clock *clock,
                           struct cl_service **out);
void cl_service_free(struct cl_service *svc);

/* --- reports --------------------------------------------------------------- */

struct cl_report_answer {
	enum cl_err err; /* CL_OK, or CL_AGAIN when nothing could be committed */
	bool duplicate;  /* the same idempotency key was seen before */
	char ref[CL_REF_MAX];
	enum cl_ticket_state state; /* in the original answer */
	enum cl_urgency urgency;
	struct cl_categories categories;
	enum cl_ticket_kind kind;
	char linked_ref[CL_REF_MAX]; /* open ticket at the same address, or "" */
	bool followup;               /* appended to the sender's recent ticket (SMS) */
};

typedef void (*cl_report_done_fn)(void *ctx, const struct cl_report_answer *answer);

/* Queue a report; the service takes over r's strings (r is reset). done is
 * called after the pass's commit (or failure). Returns the job, or NULL when
 * out of memory (r is then freed and done is not called). */
struct cl_job *cl_service_submit_report(struct cl_service *svc, struct cl_report *r,
                                        cl_report_done_fn done, void *ctx);

/* --- actions on tickets ------------------------------------------------------ */

enum cl_action_kind {
	CL_ACTION_ACK,
	CL_ACTION_DECLINE,
	CL_ACTION_TAKE,
	CL_ACTION_RESOLVE,
	CL_ACTION_NOTE,
	CL_ACTION__COUNT
};
const char *cl_action_name(enum cl_action_kind k);
enum cl_err cl_action_parse(const char *s, enum cl_action_kind *out);

struct cl_action {
	enum cl_action_kind kind;
	char ref[CL_REF_MAX];
	int64_t notification_id; /* when answering an alert (MQTT); 0 otherwise */
	char actor[CL_ID_MAX];   /* person id */
	char reason[48];         /* closing reason for resolve */
	char *note;              /* owned; encrypted before it is stored */
};

struct cl_action_answer {
	enum cl_err err; /* CL_OK, CL_ERR_NOTFOUND, CL_ERR_CONFLICT, CL_ERR_INVALID, CL_AGAIN */
	char ref[CL_REF_MAX];
	enum cl_ticket_state state;
	bool changed;         /* false: it was already so (idempotent repeat) */
	const char *conflict; /* static code when err is CL_ERR_CONFLICT/INVALID */
	char by[CL_ID_MAX];   /* who holds the ticket on conflict */
	int64_t notification_id;
};

typedef void (*cl_action_done_fn)(void *ctx, const struct cl_action_answer *answer);

/* Queue an action; the service takes over a->note. */
struct cl_job *cl_service_submit_action(struct cl_service *svc, struct cl_action *a,
                                        cl_action_done_fn done, void *ctx);

/* --- channel bookkeeping (SMS) --------------------------------------------- */

enum cl_control_kind {
	CL_CONTROL_OPTOUT,            /* a number texted STOP: hash */
	CL_CONTROL_BLOCK_CONTACT,     /* a staff contact must not be used: person, channel, error */
	CL_CONTROL_DELIVERY,          /* a provider's delivery report: channel, provider_id,
	                                 delivery, error */
	CL_CONTROL_OVERRIDE_ADD,      /* a roster override: override (its id is set), actor */
	CL_CONTROL_OVERRIDE_REMOVE,   /* override.id */
	CL_CONTROL_DEVICE_ADD,        /* register device (id, person, pubkey), actor */
	CL_CONTROL_DEVICE_REVOKE,     /* device.id, actor */
	CL_CONTROL_RESEND,            /* channel: its broker may have lost what it had
	                                 accepted; send the current alerts again */
	CL_CONTROL_RECORDING_STORED,  /* recording_id, data/data_len: the audio (borrowed
	                                 until done), encrypted here */
	CL_CONTROL_RECORDING_FAILED,  /* recording_id, error, permanent: fetch or delete
	                                 failed; retried with backoff unless permanent */
	CL_CONTROL_RECORDING_DELETED, /* recording_id: gone at the provider (or never
	                                 deletable there) */
	CL_CONTROL_RECORDING_READ,    /* recording_id, actor: record the read (audit)
	                                 before the audio is handed out */
	CL_CONTROL_CALLS_SWEEP,       /* end calls with no callback for [voice] idle_timeout */
	CL_CONTROL_PURGE,             /* erase what retention says is due: dry_run; out:
	                                 count_tickets, count_sessions */
	CL_CONTROL_ERASE,             /* erase one ticket now: ref, error = reason code, actor */
	CL_CONTROL_AUDIT_READ,        /* actor read ref's personal data (audited first) */
};

struct cl_control {
	enum cl_control_kind kind;
	unsigned char hash[32];
	char person[CL_ID_MAX];
	char channel[16];
	char provider_id[96];
	char delivery[16];
	char error[32];
	struct cl_override override;
	struct cl_device device;
	char actor[CL_ID_MAX];
	int64_t recording_id;
	const unsigned char *data;
	size_t data_len;
	bool permanent;
	char ref[CL_REF_MAX];
	bool dry_run;
	int64_t count_tickets; /* out */
	int64_t count_sessions;
};

/* c is the job's control, with results filled in (override.id). */
typedef void (*cl_control_done_fn)(void *ctx, enum cl_err err, const struct cl_control *c);
struct cl_job *cl_service_submit_control(struct cl_service *svc, const struct cl_control *c,
                                         cl_control_done_fn done, void *ctx);

/* --- the hotline ------------------------------------------------------------- */

/* One provider callback of a hotline call. */
struct cl_call_request {
	char provider[16];
	char key[CL_CALL_KEY_MAX]; /* CallSid / callid */
	char lang[4];              /* EV_START: the language of the number dialled */
	struct cl_call_input in;
	/* E.164 or "": kept (encrypted, on the report) only when the caller
	 * pressed 1 for a callback; otherwise never written anywhere. */
	char caller[32];
	/* EV_RECORDED / EV_RECORDING: where the audio is ("" = none yet). */
	char recording_id[96];
	char recording_url[512];
	int recording_duration_s;
	bool recording_ready; /* the provider says it can be fetched now */
};

struct cl_call_answer {
	enum cl_err err;                /* CL_ERR_NOTFOUND: no such call; CL_AGAIN: not durable */
	struct cl_call call;            /* after the callback */
	struct cl_call_outcome outcome; /* what it did */
	char ref[CL_REF_MAX];           /* the call's ticket, once made */
	enum cl_urgency urgency;
};

typedef void (*cl_call_done_fn)(void *ctx, const struct cl_call_answer *a);
/* Queue one callback (r is copied). */
struct cl_job *cl_service_submit_call(struct cl_service *svc, const struct cl_call_request *r,
                                      cl_call_done_fn done, void *ctx);

/* Recordings still to fetch or to delete at the provider, soonest first. */
enum cl_err cl_service_recordings_work(struct cl_service *svc,
                                       void (*fn)(void *ctx, const struct cl_recording *r),
                                       void *ctx);
/* A ticket's recordings (without audio). */
enum cl_err cl_service_recordings_of(struct cl_service *svc, const struct cl_ticket *t,
                                     void (*fn)(void *ctx, const struct cl_recording *r),
                                     void *ctx);
/* The decrypted audio of a recording of ticket t (malloc'ed; caller wipes and
 * frees). Submit CL_CONTROL_RECORDING_READ first: reads are recorded.
 * CL_ERR_NOTFOUND when it is not t's or has no audio yet. */
enum cl_err cl_service_recording_audio(struct cl_service *svc, const struct cl_ticket *t,
                                       int64_t recording_id, unsigned char **audio, size_t *len);

/* --- the audit chain -------------------------------------------------------------- */

/* Walk the whole chain; out says whether and where it breaks. With an anchor
 * (a head the daemon logged) the chain must also reach anchor->id with
 * exactly that event's hash: broken with "truncated" at the first missing id
 * when it ends before, "anchor" when event N differs. anchor may be NULL. */
enum cl_err cl_service_audit_verify(struct cl_service *svc, const struct cl_audit_anchor *anchor,
                                    struct cl_audit_verdict *out);
/* The events that concern ticket t, oldest first. */
enum cl_err cl_service_audit_of_ticket(struct cl_service *svc, const struct cl_ticket *t,
                                       void (*fn)(void *ctx, const struct cl_audit_event *e),
                                       void *ctx);

/* --- devices ---------------------------------------------------------------- */

/* A device by id: a configured one, else a registered one (which may be
 * revoked: check ->revoked). NULL when unknown. */
const struct cl_device *cl_service_device(struct cl_service *svc, const char *id);
/* person's usable (not revoked) devices, configured and registered. */
size_t cl_service_person_devices(struct cl_service *svc, const char *person,
                                 const struct cl_device **out, size_t max);
/* Every device; configured ones have created_ms 0. */
void cl_service_devices(struct cl_service *svc, void (*fn)(void *ctx, const struct cl_device *d),
                        void *ctx);

/* A keyed hash of a phone number (E.164), for lookups that never store it. */
void cl_service_phone_hash(const struct cl_service *svc, const char *e164, unsigned char out[32]);
/* The configured person with this phone (compared by keyed hash), or NULL. */
const struct cl_person *cl_service_person_by_phone(const struct cl_service *svc, const char *e164);
bool cl_service_sms_opted_out(struct cl_service *svc, const unsigned char hash[32]);
/* The ticket and newest SMS alert behind person's reply code. */
enum cl_err cl_service_sms_code(struct cl_service *svc, const char *person, int code,
                                char ref[CL_REF_MAX], int64_t *notification_id);
/* person's only code that still waits for an answer; CL_ERR_NOTFOUND when
 * none, CL_ERR_CONFLICT when several (the reply must name one). */
enum cl_err cl_service_sms_single_code(struct cl_service *svc, const char *person, int *code);

/* The job will still be committed, but its callback is not called (the
 * requester went away). */
void cl_service_job_cancel(struct cl_job *job);

/* --- the loop's side ------------------------------------------------------- */

/* Commit queued jobs, run due escalations and send due notifications. */
void cl_service_flush(struct cl_service *svc);
/* Realtime ms of the next escalation deadline or outbox attempt; 0 if none. */
int64_t cl_service_next_deadline(struct cl_service *svc);

/* --- the outbox's senders ------------------------------------------------- */

/* What a sender gets: the notification row and its ticket (borrowed for the
 * call). The payload is built by the channel from these. */
struct cl_outgoing {
	const struct cl_notification *n;
	const struct cl_ticket *t;
	const char *lang; /* the recipient's language */
	const char *area_name;
};

struct cl_sender {
	const char *channel; /* matches cl_notification.channel ("mqtt") */
	/* CL_OK: handed over, result follows via cl_service_send_result;
	 * CL_AGAIN: cannot now (disconnected), retry with backoff. */
	enum cl_err (*send)(void *ctx, const struct cl_outgoing *out);
	void *ctx;
};

/* What a channel learned about a send. */
struct cl_send_outcome {
	bool delivered;          /* the channel or provider accepted it */
	bool permanent;          /* refused for good: no retry, the contact is blocked */
	const char *error;       /* provider error code, or NULL */
	const char *provider_id; /* the provider's message id (for status hooks), or NULL */
};
void cl_service_send_outcome(struct cl_service *svc, int64_t notification_id,
                             const struct cl_send_outcome *o);

/* Register a sender (copied). At most 8. */
enum cl_err cl_service_add_sender(struct cl_service *svc, const struct cl_sender *sender);
/* A channel reports the outcome of a send (e.g. MQTT PUBACK). Recorded in the
 * next flush. */
void cl_service_send_result(struct cl_service *svc, int64_t notification_id, bool delivered,
                            const char *error);

/* --- reads ---------------------------------------------------------------- */

/* Ticket by ref (case-insensitive). CL_ERR_NOTFOUND for unknown/invalid refs. */
enum cl_err cl_service_ticket(struct cl_service *svc, const char *ref, struct cl_ticket *out);
enum cl_err cl_service_tickets(struct cl_service *svc, const struct cl_ticket_filter *f,
                               void (*fn)(void *ctx, const struct cl_ticket *t), void *ctx);

/* A report with its personal fields decrypted (valid during the callback). */
struct cl_report_view {
	int64_t id;
	const char *via;
	int64_t received_ms;
	const char *reporter_person;
	const char *reporter_role;
	bool anonymous;
	bool consent_callback;
	bool consent_disclose;
	const char *fields[CL_RF__COUNT]; /* NULL when absent */
	struct cl_address address;
};
enum cl_err cl_service_ticket_reports(struct cl_service *svc, const struct cl_ticket *t,
                                      void (*fn)(void *ctx, const struct cl_report_view *v),
                                      void *ctx);
/* Events with their notes decrypted (note NULL when none). */
enum cl_err cl_service_ticket_events(struct cl_service *svc, const struct cl_ticket *t,
                                     void (*fn)(void *ctx, const struct cl_event_row *e,
                                                const char *note),
                                     void *ctx);

/* Who is on duty for team at at_ms, layers and current overrides. */
enum cl_err cl_service_oncall(struct cl_service *svc, const char *team, int64_t at_ms,
                              struct cl_oncall *out);
/* The overrides that have not ended (team NULL: all teams). */
void cl_service_overrides(struct cl_service *svc, const char *team,
                          void (*fn)(void *ctx, const struct cl_override *o), void *ctx);

/* False after a commit failed, until one succeeds again (readyz). */
bool cl_service_durable(const struct cl_service *svc);

const struct cl_metrics *cl_service_metrics(struct cl_service *svc);
struct cl_metrics *cl_service_metrics_mut(struct cl_service *svc);
const struct cl_config *cl_service_config(struct cl_service *svc);
struct cl_store *cl_service_store(struct cl_service *svc);
/* Queued notifications not yet confirmed (in memory). */
size_t cl_service_outbox_depth(struct cl_service *svc);

#endif
