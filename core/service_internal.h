/*
 * core/service_internal.h: the service's private state, shared by its files:
 * service.c (jobs, flush, reads), intake.c (report → ticket), actions.c
 * (ack/decline/take/resolve/note), escalate.c (engine plans → notifications)
 * and outbox.c (deadlines, senders, results). Nobody else includes it.
 */
#ifndef CARELINE_SERVICE_INTERNAL_H
#define CARELINE_SERVICE_INTERNAL_H

#include "careline/crypto.h"
#include "careline/engine.h"
#include "careline/heap.h"
#include "careline/idmap.h"
#include "careline/service.h"
#include "rekey.h"

enum job_kind { JOB_REPORT, JOB_ACTION, JOB_CONTROL, JOB_CALL };

struct cl_job {
	enum job_kind kind;
	bool cancelled;
	int64_t submitted_ms;
	struct cl_report report;
	struct cl_action action;
	struct cl_report_answer report_answer;
	struct cl_action_answer action_answer;
	struct cl_control control;
	enum cl_err control_err;
	struct cl_call_request call;
	struct cl_call_answer call_answer;
	cl_call_done_fn call_done;
	cl_report_done_fn report_done;
	cl_action_done_fn action_done;
	cl_control_done_fn control_done;
	void *ctx;
	struct cl_job *next;
};

/* A pending write of a notification's send outcome. */
enum send_result_kind {
	SEND_DELIVERED, /* the channel confirmed it */
	SEND_FAILED,    /* the attempt failed; the retry scheduled at dispatch stands */
	SEND_CANCELLED, /* no longer needed */
};

/* A notification written in this flush, sent right after the commit from
 * this copy instead of reading back what was just written. */
struct fresh_send {
	struct cl_notification n;
	struct cl_ticket t;
};

struct send_result {
	int64_t id;
	enum send_result_kind kind;
	int attempts; /* attempts made so far, this one included */
	bool permanent;
	char provider_id[96];
	int64_t retry_at_ms;
	char error[64];
};

/* Things to do only after the transaction commits; truncated on rollback. */
struct effects {
	struct cl_heap_entry *deadlines; /* ticket id, due */
	size_t n_deadlines, cap_deadlines;
	struct fresh_send *sends;
	size_t n_sends, cap_sends;
	struct cl_metrics delta;
};

struct effects_mark {
	size_t n_deadlines;
	size_t n_sends;
	struct cl_metrics delta;
	int64_t audit_id; /* the chain's head, restored when a job is undone */
	unsigned char audit_hash[32];
};

#define MAX_SENDERS 8

struct cl_service {
	const struct cl_config *cfg;
	struct cl_store *store;
	struct cl_crypto *crypto; /* mutable: rekey.c rotates and retires field keys */
	const struct cl_clock *clock;

	struct cl_job *queue_head, *queue_tail;
	size_t queued;

	struct cl_heap deadlines;     /* escalation: (due, ticket id) */
	struct cl_heap_entry *popped; /* deadlines consumed this flush: re-armed if it fails */
	size_t n_popped, cap_popped;
	struct cl_heap outbox;     /* retries: (next attempt, notification id) */
	struct cl_idmap inflight;  /* notification id → attempts made, until confirmed */
	struct cl_idmap confirmed; /* delivered since their retry was scheduled */
	struct fresh_send *fresh;  /* committed, to be sent now */
	size_t n_fresh, cap_fresh;

	struct send_result *results;
	size_t n_results, cap_results;
	int64_t results_since; /* when the oldest unwritten result was queued */

	struct effects fx;

	struct cl_sender senders[MAX_SENDERS];
	size_t n_senders;

	struct cl_metrics metrics;
	bool last_commit_failed;

	/* roster overrides that have not ended (mirror of shift_override) */
	struct cl_override *overrides;
	size_t n_overrides;
	bool overrides_dirty; /* changed in this flush: reload after commit */

	/* devices registered at run time (mirror of the device table) */
	struct cl_device *devices;
	size_t n_devices;
	bool devices_dirty;

	/* the audit chain's head: the newest event (in the open transaction) */
	int64_t audit_id;
	unsigned char audit_hash[32];
	bool audit_stale; /* a commit failed: read the head again before the next event */
	/* the head last published in the log (audit.c), and when it may be next */
	bool audit_anchoring;
	int64_t audit_anchored_id;
	int64_t audit_anchor_next_ms;
	/* retention: when the daily purge next runs; a purge asks for the WAL to
	 * be truncated after its commit */
	int64_t next_purge_ms;
	bool truncate_wal;

	/* key rotation: the background re-encryption (rekey.c) */
	struct rekey_state rekey;

	/* keyed hashes of the configured people's phones */
	struct phone_entry {
		unsigned char hash[32];
		const struct cl_person *person;
	} * phones;
	size_t n_phones;
};

/* effects */
enum cl_err fx_deadline(struct cl_service *svc, int64_t ticket_id, int64_t due_ms);
enum cl_err fx_send(struct cl_service *svc, const struct cl_notification *n,
                    const struct cl_ticket *t);
void fx_mark(struct cl_service *svc, struct effects_mark *m);
void fx_rewind(struct cl_service *svc, const struct effects_mark *m);
void fx_apply(struct cl_service *svc);

/* intake.c: one report inside the open transaction. */
void intake_report(struct cl_service *svc, struct cl_job *job, int64_t now);

/* actions.c: one action inside the open transaction. */
void control_apply(struct cl_service *svc, struct cl_job *job, int64_t now);
/* Reload the overrides / devices cache from the database. */
enum cl_err service_load_overrides(struct cl_service *svc, int64_t now);
enum cl_err service_load_devices(struct cl_service *svc);
void action_apply(struct cl_service *svc, struct cl_job *job, int64_t now);

/* Remember a consumed deadline until the flush commits. */
enum cl_err fx_popped(struct cl_service *svc, const struct cl_heap_entry *e);

/* calls.c: one hotline callback inside the open transaction; the recording
 * controls and the idle-call sweep (called from control_apply). */
void call_apply(struct cl_service *svc, struct cl_job *job, int64_t now);
enum cl_err calls_control(struct cl_service *svc, const struct cl_control *c, int64_t now);

/* audit.c: append an event to the chain inside the open transaction. */
enum cl_err audit_record(struct cl_service *svc, int64_t now, const char *actor, const char *action,
                         const char *object, int64_t ticket_id, const char *detail);
/* A notification's event ("notification.queued", ".sent", ...). */
enum cl_err audit_notification(struct cl_service *svc, const struct cl_notification *n,
                               const char *action, int64_t now);
/* Read the chain's head (start, and after a failed commit). */
enum cl_err audit_load_head(struct cl_service *svc);
/* Publish the committed head as an "audit.head" log line: at start (after
 * audit_load_head), after a commit when the chain has grown and
 * CL_AUDIT_ANCHOR_MS have passed, at a clean stop. anchor_deadline is when
 * the next line is due, 0 none. */
void audit_anchor_start(struct cl_service *svc, int64_t now);
void audit_anchor_due(struct cl_service *svc, int64_t now);
int64_t audit_anchor_deadline(const struct cl_service *svc);
void audit_anchor_stop(struct cl_service *svc);

/* purge.c: the retention job and erasure of one ticket. */
enum cl_err purge_control(struct cl_service *svc, struct cl_control *c, int64_t now);
/* The daily purge, when due (called by the flush). */
void purge_run_due(struct cl_service *svc, int64_t now);

/* escalate.c */
/* Record a ticket_event row (actor "system" for the engine). */
enum cl_err escalate_record(struct cl_service *svc, int64_t ticket_id, enum cl_ticket_event ev,
                            enum cl_ticket_state from, enum cl_ticket_state to, const char *actor,
                            const char *detail, int64_t now);
/* Carry out an engine plan: notify targets (and the previous acker), record
 * escalation events, arm the next deadline. */
enum cl_err escalate_carry_out(struct cl_service *svc, struct cl_ticket *t,
                               const struct cl_esc_plan *plan, const char *prev_acker, int64_t now);
/* Run all escalations due at now, each in its own savepoint. */
void escalate_run_due(struct cl_service *svc, int64_t now);
const struct cl_policy *escalate_policy_of(struct cl_service *svc, const struct cl_ticket *t);
/* Tell the persons alerted for t (other than actor) who acknowledged or took it. */
enum cl_err escalate_tell_others(struct cl_service *svc, const struct cl_ticket *t,
                                 const char *actor, int64_t now);

/* outbox.c */
enum cl_err outbox_rebuild(struct cl_service *svc);
void outbox_write_results(struct cl_service *svc, int64_t now);
void outbox_send_due(struct cl_service *svc, int64_t now);
/* The latest alert to each target of tickets still notifying, sent on channel
 * within the alert expiry, is pending again and sent at once. */
enum cl_err outbox_requeue_current(struct cl_service *svc, const char *channel, int64_t now);
int64_t outbox_retry_delay(const struct cl_service *svc, int64_t id, int attempts);

#endif
