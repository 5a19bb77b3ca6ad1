/*
 * core/service.c owns the job queue and the flush: group commit of every job
 * queued in a loop pass inside one transaction (a savepoint per job), the
 * after-commit effects (timers, outbox, metrics), the answers, and the read
 * side (tickets, reports decrypted, events, on-call). The work of each job is
 * in intake.c and actions.c; escalation in escalate.c; sending in outbox.c.
 */
#include "careline/service.h"

#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "careline/ref.h"
#include "service_internal.h"

#define PURGE_FIRST_MS (60 * 1000)

static const char *const action_names[CL_ACTION__COUNT] = {
    [CL_ACTION_ACK] = "ack",         [CL_ACTION_DECLINE] = "decline", [CL_ACTION_TAKE] = "take",
    [CL_ACTION_RESOLVE] = "resolve", [CL_ACTION_NOTE] = "note",
};

const char *cl_action_name(enum cl_action_kind k)
{
	if ((unsigned)k >= CL_ACTION__COUNT)
		return "unknown";
	return action_names[k];
}

enum cl_err cl_action_parse(const char *s, enum cl_action_kind *out)
{
	for (int i = 0; i < CL_ACTION__COUNT; i++) {
		if (s && strcmp(s, action_names[i]) == 0) {
			*out = (enum cl_action_kind)i;
			return CL_OK;
		}
	}
	return CL_ERR_INVALID;
}

#define RESULTS_WAIT_MS 1000

static void rebuild_deadline(void *ctx, int64_t id, int64_t due_ms)
{
	struct cl_service *svc = ctx;
	cl_heap_push(&svc->deadlines, due_ms, id);
}

enum cl_err cl_service_new(const struct cl_config *cfg, struct cl_store *store,
                           struct cl_crypto *crypto, const struct cl_clock *clock,
                           struct cl_service **out)
{
	*out = NULL;
	struct cl_service *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return CL_ERR_NOMEM;
	svc->cfg = cfg;
	svc->store = store;
	svc->crypto = crypto;
	svc->clock = clock;
	cl_heap_init(&svc->deadlines);
	cl_heap_init(&svc->outbox);
	cl_idmap_init(&svc->inflight);
	cl_idmap_init(&svc->confirmed);
	for (size_t i = 0; i < cfg->n_persons; i++)
		if (cfg->persons[i].phone[0])
			svc->n_phones++;
	svc->phones = calloc(svc->n_phones ? svc->n_phones : 1, sizeof(*svc->phones));
	if (!svc->phones) {
		cl_service_free(svc);
		return CL_ERR_NOMEM;
	}
	for (size_t i = 0, k = 0; i < cfg->n_persons; i++) {
		if (!cfg->persons[i].phone[0])
			continue;
		cl_service_phone_hash(svc, cfg->persons[i].phone, svc->phones[k].hash);
		svc->phones[k++].person = &cfg->persons[i];
	}
	enum cl_err err = service_load_overrides(svc, cl_clock_now(clock));
	if (err == CL_OK)
		err = service_load_devices(svc);
	if (err == CL_OK)
		err = cl_store_tickets_with_deadline(store, rebuild_deadline, svc);
	if (err == CL_OK)
		err = outbox_rebuild(svc);
	if (err == CL_OK)
		err = audit_load_head(svc);
	if (err != CL_OK) {
		cl_service_free(svc);
		return err;
	}
	/* The first purge a minute after start, then daily. Senders' hashes
	 * expire also when closed tickets are kept for ever (closed_ms 0). */
	if (cfg->retention.closed_ms > 0 || cfg->retention.sessions_ms > 0)
		svc->next_purge_ms = cl_clock_now(clock) + PURGE_FIRST_MS;
	audit_anchor_start(svc, cl_clock_now(clock));
	cl_info("service.started", "deadlines=%zu outbox=%zu", svc->deadlines.n, svc->outbox.n);
	*out = svc;
	return CL_OK;
}

static void job_free(struct cl_job *job)
{
	cl_report_free(&job->report);
	free(job->action.note);
	free(job);
}

void cl_service_free(struct cl_service *svc)
{
	if (!svc)
		return;
	audit_anchor_stop(svc); /* the head in the log, the last thing before a restart */
	struct cl_job *job = svc->queue_head;
	while (job) {
		struct cl_job *next = job->next;
		job_free(job);
		job = next;
	}
	cl_heap_fini(&svc->deadlines);
	cl_heap_fini(&svc->outbox);
	cl_idmap_fini(&svc->inflight);
	cl_idmap_fini(&svc->confirmed);
	free(svc->results);
	free(svc->fx.deadlines);
	free(svc->fx.sends);
	free(svc->fresh);
	free(svc->popped);
	free(svc->phones);
	free(svc->overrides);
	free(svc->devices);
	free(svc);
}

static void enqueue(struct cl_service *svc, struct cl_job *job)
{
	job->submitted_ms = cl_clock_now(svc->clock);
	if (svc->queue_tail)
		svc->queue_tail->next = job;
	else
		svc->queue_head = job;
	svc->queue_tail = job;
	svc->queued++;
}

struct cl_job *cl_service_submit_report(struct cl_service *svc, struct cl_report *r,
                                        cl_report_done_fn done, void *ctx)
{
	struct cl_job *job = calloc(1, sizeof(*job));
	if (!job) {
		cl_report_free(r);
		return NULL;
	}
	job->kind = JOB_REPORT;
	job->report = *r;
	cl_report_init(r);
	job->report_done = done;
	job->ctx = ctx;
	enqueue(svc, job);
	return job;
}

struct cl_job *cl_service_submit_action(struct cl_service *svc, struct cl_action *a,
                                        cl_action_done_fn done, void *ctx)
{
	struct cl_job *job = calloc(1, sizeof(*job));
	if (!job) {
		free(a->note);
		a->note = NULL;
		return NULL;
	}
	job->kind = JOB_ACTION;
	job->action = *a;
	a->note = NULL;
	job->action_done = done;
	job->ctx = ctx;
	enqueue(svc, job);
	return job;
}

struct cl_job *cl_service_submit_control(struct cl_service *svc, const struct cl_control *c,
                                         cl_control_done_fn done, void *ctx)
{
	struct cl_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->kind = JOB_CONTROL;
	job->control = *c;
	job->control_done = done;
	job->ctx = ctx;
	enqueue(svc, job);
	return job;
}

struct cl_job *cl_service_submit_call(struct cl_service *svc, const struct cl_call_request *r,
                                      cl_call_done_fn done, void *ctx)
{
	struct cl_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->kind = JOB_CALL;
	job->call = *r;
	job->call_done = done;
	job->ctx = ctx;
	enqueue(svc, job);
	return job;
}

void cl_service_job_cancel(struct cl_job *job)
{
	if (job)
		job->cancelled = true;
}

/* --- effects: applied only after commit ------------------------------------ */

static enum cl_err push_entry(struct cl_heap_entry **v, size_t *n, size_t *cap, int64_t due,
                              int64_t id)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct cl_heap_entry *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return CL_ERR_NOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = (struct cl_heap_entry){due, id};
	return CL_OK;
}

enum cl_err fx_deadline(struct cl_service *svc, int64_t ticket_id, int64_t due_ms)
{
	return push_entry(&svc->fx.deadlines, &svc->fx.n_deadlines, &svc->fx.cap_deadlines, due_ms,
	                  ticket_id);
}

enum cl_err fx_send(struct cl_service *svc, const struct cl_notification *n,
                    const struct cl_ticket *t)
{
	struct effects *fx = &svc->fx;
	if (fx->n_sends == fx->cap_sends) {
		size_t cap = fx->cap_sends ? fx->cap_sends * 2 : 64;
		struct fresh_send *p = realloc(fx->sends, cap * sizeof(*p));
		if (!p)
			return CL_ERR_NOMEM;
		fx->sends = p;
		fx->cap_sends = cap;
	}
	fx->sends[fx->n_sends].n = *n;
	fx->sends[fx->n_sends].t = *t;
	fx->n_sends++;
	return CL_OK;
}

enum cl_err fx_popped(struct cl_service *svc, const struct cl_heap_entry *e)
{
	return push_entry(&svc->popped, &svc->n_popped, &svc->cap_popped, e->due_ms, e->id);
}

void fx_mark(struct cl_service *svc, struct effects_mark *m)
{
	m->n_deadlines = svc->fx.n_deadlines;
	m->n_sends = svc->fx.n_sends;
	m->delta = svc->fx.delta;
	m->audit_id = svc->audit_id;
	memcpy(m->audit_hash, svc->audit_hash, sizeof(m->audit_hash));
}

void fx_rewind(struct cl_service *svc, const struct effects_mark *m)
{
	svc->fx.n_deadlines = m->n_deadlines;
	svc->fx.n_sends = m->n_sends;
	svc->fx.delta = m->delta;
	svc->audit_id = m->audit_id;
	memcpy(svc->audit_hash, m->audit_hash, sizeof(svc->audit_hash));
}

static void metrics_add(struct cl_metrics *m, const struct cl_metrics *d)
{
	for (int c = 0; c < CL_CHANNEL__COUNT; c++) {
		m->reports[c] += d->reports[c];
		m->duplicates[c] += d->duplicates[c];
		m->rejected[c] += d->rejected[c];
	}
	m->notif_sent += d->notif_sent;
	m->notif_failed += d->notif_failed;
	m->notif_no_contact += d->notif_no_contact;
	m->escalations += d->escalations;
	m->ack_timeouts += d->ack_timeouts;
	m->ack_count += d->ack_count;
	m->late_count += d->late_count;
	m->late_ms_sum += d->late_ms_sum;
	if (d->late_ms_max > m->late_ms_max)
		m->late_ms_max = d->late_ms_max;
	for (int b = 0; b < CL_METRICS_LATE_BUCKETS; b++)
		m->late_buckets[b] += d->late_buckets[b];
	m->ack_seconds_sum += d->ack_seconds_sum;
	for (int b = 0; b < CL_METRICS_ACK_BUCKETS; b++)
		m->ack_buckets[b] += d->ack_buckets[b];
}

void fx_apply(struct cl_service *svc)
{
	for (size_t i = 0; i < svc->fx.n_deadlines; i++)
		cl_heap_push(&svc->deadlines, svc->fx.deadlines[i].due_ms, svc->fx.deadlines[i].id);
	/* Hand the fresh sends over by swapping buffers: no copy. */
	struct fresh_send *tmp = svc->fresh;
	size_t cap = svc->cap_fresh;
	svc->fresh = svc->fx.sends;
	svc->n_fresh = svc->fx.n_sends;
	svc->cap_fresh = svc->fx.cap_sends;
	svc->fx.sends = tmp;
	svc->fx.cap_sends = cap;
	svc->fx.n_sends = 0;
	metrics_add(&svc->metrics, &svc->fx.delta);
}

static void fx_clear(struct cl_service *svc)
{
	svc->fx.n_deadlines = 0;
	svc->fx.n_sends = 0;
	memset(&svc->fx.delta, 0, sizeof(svc->fx.delta));
}

/* --- the flush ---------------------------------------------------------- */

static enum cl_err job_err(const struct cl_job *job)
{
	switch (job->kind) {
	case JOB_REPORT:
		return job->report_answer.err;
	case JOB_ACTION:
		return job->action_answer.err;
	case JOB_CONTROL:
		return job->control_err;
	case JOB_CALL:
		return job->call_answer.err;
	}
	return CL_ERR_INVALID;
}

static void job_set_err(struct cl_job *job, enum cl_err err)
{
	switch (job->kind) {
	case JOB_REPORT:
		job->report_answer.err = err;
		break;
	case JOB_ACTION:
		job->action_answer.err = err;
		break;
	case JOB_CONTROL:
		job->control_err = err;
		break;
	case JOB_CALL:
		job->call_answer.err = err;
		break;
	}
}

/* Storage failures undo the job; input and state errors are answers. */
static bool is_storage_err(enum cl_err err)
{
	return err == CL_AGAIN || err == CL_ERR_STORAGE || err == CL_ERR_NOMEM ||
	       err == CL_ERR_CRYPTO || err == CL_ERR_IO;
}

static void run_job(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	struct effects_mark mark;
	fx_mark(svc, &mark);
	if (cl_store_savepoint(svc->store) != CL_OK) {
		job_set_err(job, CL_AGAIN);
		return;
	}
	switch (job->kind) {
	case JOB_REPORT:
		intake_report(svc, job, now);
		break;
	case JOB_ACTION:
		action_apply(svc, job, now);
		break;
	case JOB_CONTROL:
		control_apply(svc, job, now);
		break;
	case JOB_CALL:
		call_apply(svc, job, now);
		break;
	}
	if (is_storage_err(job_err(job))) {
		cl_store_rollback_to(svc->store);
		fx_rewind(svc, &mark);
		job_set_err(job, CL_AGAIN);
		return;
	}
	if (cl_store_release(svc->store) != CL_OK) {
		fx_rewind(svc, &mark);
		job_set_err(job, CL_AGAIN);
	}
}

static bool escalation_due(struct cl_service *svc, int64_t now)
{
	struct cl_heap_entry top;
	return cl_heap_peek(&svc->deadlines, &top) && top.due_ms <= now;
}

static void answer_jobs(struct cl_job *head)
{
	while (head) {
		struct cl_job *next = head->next;
		if (!head->cancelled) {
			if (head->kind == JOB_REPORT && head->report_done)
				head->report_done(head->ctx, &head->report_answer);
			else if (head->kind == JOB_ACTION && head->action_done)
				head->action_done(head->ctx, &head->action_answer);
			else if (head->kind == JOB_CONTROL && head->control_done)
				head->control_done(head->ctx, head->control_err, &head->control);
			else if (head->kind == JOB_CALL && head->call_done)
				head->call_done(head->ctx, &head->call_answer);
		}
		job_free(head);
		head = next;
	}
}

void cl_service_flush(struct cl_service *svc)
{
	int64_t now = cl_clock_now(svc->clock);
	struct cl_job *jobs = svc->queue_head;
	size_t n_jobs = svc->queued;
	svc->queue_head = svc->queue_tail = NULL;
	svc->queued = 0;

	/* Send results alone (PUBACKs, provider answers) do not cost an fsync of
	 * their own until they have waited a while: losing them in a crash only
	 * means a notification is sent again. */
	bool results_due = svc->n_results && now - svc->results_since >= RESULTS_WAIT_MS;
	bool purge_due = svc->next_purge_ms && now >= svc->next_purge_ms;
	bool rekey_now = rekey_due(svc, now); /* key rotation: re-encryption pending */
	if (jobs || results_due || escalation_due(svc, now) || purge_due || rekey_now) {
		fx_clear(svc);
		enum cl_err err = cl_store_begin(svc->store);
		if (err == CL_OK) {
			outbox_write_results(svc, now);
			for (struct cl_job *job = jobs; job; job = job->next)
				run_job(svc, job, now);
			escalate_run_due(svc, now);
			if (purge_due)
				purge_run_due(svc, now);
			if (rekey_now)
				rekey_step(svc, now); /* a batch, in its own savepoint */
			err = cl_store_commit(svc->store);
		}
		if (err == CL_OK) {
			fx_apply(svc);
			svc->n_results = 0;
			svc->metrics.commits++;
			svc->last_commit_failed = false;
			if (svc->overrides_dirty && service_load_overrides(svc, now) != CL_OK)
				cl_error("roster.reload_failed", "%s", "");
			if (svc->devices_dirty && service_load_devices(svc) != CL_OK)
				cl_error("devices.reload_failed", "%s", "");
			svc->metrics.batched_jobs += n_jobs;
			/* Erased values must not linger in the log either. */
			if (svc->truncate_wal && cl_store_checkpoint_truncate(svc->store) != CL_OK)
				cl_warn("purge.checkpoint_failed", "%s", "");
			svc->truncate_wal = false;
		} else {
			svc->audit_stale = true;
			svc->truncate_wal = false;
			if (purge_due) /* it did not happen: again in a minute */
				svc->next_purge_ms = now + PURGE_FIRST_MS;
			/* Nothing is durable: every job is told to retry. */
			svc->metrics.commit_failures++;
			svc->last_commit_failed = true;
			cl_warn("service.commit_failed", "jobs=%zu err=%s", n_jobs,
			        cl_errcode(err));
			for (struct cl_job *job = jobs; job; job = job->next)
				job_set_err(job, CL_AGAIN);
			/* Deadlines consumed for rows that did not change are re-armed
			 * a second from now, so a full disk does not spin the loop. */
			for (size_t i = 0; i < svc->n_popped; i++)
				cl_heap_push(&svc->deadlines, now + 1000, svc->popped[i].id);
		}
		svc->n_popped = 0;
		svc->overrides_dirty = false;
		svc->devices_dirty = false;
		fx_clear(svc);
		answer_jobs(jobs);
	}
	audit_anchor_due(svc, now);
	outbox_send_due(svc, now);
}

int64_t cl_service_next_deadline(struct cl_service *svc)
{
	struct cl_heap_entry a, b;
	bool has_a = cl_heap_peek(&svc->deadlines, &a);
	bool has_b = cl_heap_peek(&svc->outbox, &b);
	int64_t next = 0;
	if (has_a)
		next = a.due_ms;
	if (has_b && (!next || b.due_ms < next))
		next = b.due_ms;
	/* Queued jobs are due now; send results ride on the next commit, or get
	 * one of their own after RESULTS_WAIT_MS. */
	int64_t now = cl_clock_now(svc->clock);
	if (svc->queued && (!next || next > now))
		next = now;
	if (svc->n_results && (!next || next > svc->results_since + RESULTS_WAIT_MS))
		next = svc->results_since + RESULTS_WAIT_MS;
	if (svc->next_purge_ms && (!next || next > svc->next_purge_ms))
		next = svc->next_purge_ms;
	/* Re-encryption after a key rotation: due now until it is done. */
	int64_t rekey = rekey_deadline(svc, now);
	if (rekey && (!next || next > rekey))
		next = rekey;
	/* The grown head, published at most every CL_AUDIT_ANCHOR_MS. */
	int64_t anchor = audit_anchor_deadline(svc);
	if (anchor && (!next || next > anchor))
		next = anchor;
	return next;
}

/* --- reads ---------------------------------------------------------------- */

enum cl_err cl_service_ticket(struct cl_service *svc, const char *ref, struct cl_ticket *out)
{
	int64_t id;
	char canon[CL_REF_MAX];
	if (!ref || !cl_ref_canonical(ref, canon) ||
	    !cl_ref_to_id(cl_crypto_ref_key(svc->crypto), canon, &id))
		return CL_ERR_NOTFOUND;
	enum cl_err err = cl_store_ticket_get(svc->store, id, out);
	if (err == CL_OK && strcmp(out->ref, canon) != 0)
		return CL_ERR_NOTFOUND;
	return err;
}

enum cl_err cl_service_tickets(struct cl_service *svc, const struct cl_ticket_filter *f,
                               void (*fn)(void *ctx, const struct cl_ticket *t), void *ctx)
{
	return cl_store_tickets_list(svc->store, f, fn, ctx);
}

struct reports_ctx {
	struct cl_service *svc;
	void (*fn)(void *ctx, const struct cl_report_view *v);
	void *ctx;
	enum cl_err err;
};

/* The address is stored as its fields joined by the unit separator. */
static void address_unpack(const char *s, struct cl_address *a)
{
	char *dst[] = {a->street, a->number, a->floor, a->side, a->postcode, a->city};
	size_t len[] = {sizeof(a->street), sizeof(a->number),   sizeof(a->floor),
	                sizeof(a->side),   sizeof(a->postcode), sizeof(a->city)};
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < 6 && s; i++) {
		const char *sep = strchr(s, '\x1f');
		size_t n = sep ? (size_t)(sep - s) : strlen(s);
		if (n >= len[i])
			n = len[i] - 1;
		memcpy(dst[i], s, n);
		dst[i][n] = '\0';
		s = sep ? sep + 1 : NULL;
	}
}

static void on_report_row(void *vctx, const struct cl_report_row *row)
{
	struct reports_ctx *c = vctx;
	struct cl_report_view v = {
	    .id = row->id,
	    .via = row->via,
	    .received_ms = row->received_ms,
	    .reporter_person = row->reporter_person,
	    .reporter_role = row->reporter_role,
	    .anonymous = row->anonymous,
	    .consent_callback = row->consent_callback,
	    .consent_disclose = row->consent_disclose,
	};
	char *plain[CL_RF__COUNT] = {0};
	for (int f = 0; f < CL_RF__COUNT; f++) {
		const struct cl_blob *b = &row->fields[f];
		if (!b->data || b->len < CL_CRYPTO_OVERHEAD)
			continue;
		plain[f] = malloc(b->len - CL_CRYPTO_OVERHEAD + 1);
		size_t n;
		if (!plain[f] || cl_crypto_open_field(c->svc->crypto, "report", row->id,
		                                      cl_report_field_name((enum cl_report_field)f),
		                                      b->data, b->len, plain[f], &n) != CL_OK) {
			cl_error("service.decrypt_failed", "report=%lld field=%s",
			         (long long)row->id, cl_report_field_name((enum cl_report_field)f));
			free(plain[f]);
			plain[f] = NULL;
			c->err = CL_ERR_CRYPTO;
			continue;
		}
		v.fields[f] = plain[f];
	}
	if (v.fields[CL_RF_ADDRESS])
		address_unpack(v.fields[CL_RF_ADDRESS], &v.address);
	c->fn(c->ctx, &v);
	for (int f = 0; f < CL_RF__COUNT; f++) {
		if (plain[f]) {
			memset(plain[f], 0, strlen(plain[f]));
			free(plain[f]);
		}
	}
}

enum cl_err cl_service_ticket_reports(struct cl_service *svc, const struct cl_ticket *t,
                                      void (*fn)(void *ctx, const struct cl_report_view *v),
                                      void *ctx)
{
	struct reports_ctx c = {svc, fn, ctx, CL_OK};
	enum cl_err err = cl_store_reports_of_ticket(svc->store, t->id, on_report_row, &c);
	return err != CL_OK ? err : c.err;
}

struct events_ctx {
	struct cl_service *svc;
	void (*fn)(void *ctx, const struct cl_event_row *e, const char *note);
	void *ctx;
};

static void on_event_row(void *vctx, const struct cl_event_row *e)
{
	struct events_ctx *c = vctx;
	char *note = NULL;
	if (e->note.data && e->note.len >= CL_CRYPTO_OVERHEAD) {
		note = malloc(e->note.len - CL_CRYPTO_OVERHEAD + 1);
		size_t n;
		if (note &&
		    cl_crypto_open_field(c->svc->crypto, "ticket_event", e->ticket_id, "note",
		                         e->note.data, e->note.len, note, &n) != CL_OK) {
			free(note);
			note = NULL;
		}
	}
	c->fn(c->ctx, e, note);
	free(note);
}

enum cl_err cl_service_ticket_events(struct cl_service *svc, const struct cl_ticket *t,
                                     void (*fn)(void *ctx, const struct cl_event_row *e,
                                                const char *note),
                                     void *ctx)
{
	struct events_ctx c = {svc, fn, ctx};
	return cl_store_events_of_ticket(svc->store, t->id, on_event_row, &c);
}

struct override_list {
	struct cl_override *v;
	size_t n, cap;
	bool nomem;
};

static void collect_override(void *ctx, const struct cl_override *o)
{
	struct override_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct cl_override *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *o;
}

enum cl_err service_load_overrides(struct cl_service *svc, int64_t now)
{
	struct override_list l = {0};
	enum cl_err err = cl_store_overrides_current(svc->store, now, collect_override, &l);
	if (err == CL_OK && l.nomem)
		err = CL_ERR_NOMEM;
	if (err != CL_OK) {
		free(l.v);
		return err;
	}
	free(svc->overrides);
	svc->overrides = l.v;
	svc->n_overrides = l.n;
	return CL_OK;
}

struct device_list {
	struct cl_device *v;
	size_t n, cap;
	bool nomem;
};

static void collect_device(void *ctx, const struct cl_device *d)
{
	struct device_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct cl_device *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
}

enum cl_err service_load_devices(struct cl_service *svc)
{
	struct device_list l = {0};
	enum cl_err err = cl_store_devices_all(svc->store, collect_device, &l);
	if (err == CL_OK && l.nomem)
		err = CL_ERR_NOMEM;
	if (err != CL_OK) {
		free(l.v);
		return err;
	}
	free(svc->devices);
	svc->devices = l.v;
	svc->n_devices = l.n;
	return CL_OK;
}

const struct cl_device *cl_service_device(struct cl_service *svc, const char *id)
{
	const struct cl_device *d = cl_config_device(svc->cfg, id);
	if (d)
		return d;
	for (size_t i = 0; i < svc->n_devices; i++)
		if (strcmp(svc->devices[i].id, id) == 0)
			return &svc->devices[i];
	return NULL;
}

size_t cl_service_person_devices(struct cl_service *svc, const char *person,
                                 const struct cl_device **out, size_t max)
{
	size_t n = cl_config_person_devices(svc->cfg, person, out, max);
	for (size_t i = 0; i < svc->n_devices && n < max; i++)
		if (!svc->devices[i].revoked && strcmp(svc->devices[i].person, person) == 0)
			out[n++] = &svc->devices[i];
	return n;
}

void cl_service_devices(struct cl_service *svc, void (*fn)(void *ctx, const struct cl_device *d),
                        void *ctx)
{
	for (size_t i = 0; i < svc->cfg->n_devices; i++)
		fn(ctx, &svc->cfg->devices[i]);
	for (size_t i = 0; i < svc->n_devices; i++)
		fn(ctx, &svc->devices[i]);
}

enum cl_err cl_service_oncall(struct cl_service *svc, const char *team, int64_t at_ms,
                              struct cl_oncall *out)
{
	const struct cl_team *t = cl_config_team(svc->cfg, team);
	if (!t)
		return CL_ERR_NOTFOUND;
	return cl_roster_oncall_at(t, svc->overrides, svc->n_overrides, at_ms, out);
}

void cl_service_overrides(struct cl_service *svc, const char *team,
                          void (*fn)(void *ctx, const struct cl_override *o), void *ctx)
{
	for (size_t i = 0; i < svc->n_overrides; i++)
		if (!team || strcmp(svc->overrides[i].team, team) == 0)
			fn(ctx, &svc->overrides[i]);
}

bool cl_service_durable(const struct cl_service *svc)
{
	return !svc->last_commit_failed;
}

const struct cl_metrics *cl_service_metrics(struct cl_service *svc)
{
	return &svc->metrics;
}

struct cl_metrics *cl_service_metrics_mut(struct cl_service *svc)
{
	return &svc->metrics;
}

const struct cl_config *cl_service_config(struct cl_service *svc)
{
	return svc->cfg;
}

struct cl_store *cl_service_store(struct cl_service *svc)
{
	return svc->store;
}

size_t cl_service_outbox_depth(struct cl_service *svc)
{
	return svc->outbox.n;
}

/* --- SMS lookups --------------------------------------------------------- */

void cl_service_phone_hash(const struct cl_service *svc, const char *e164, unsigned char out[32])
{
	cl_crypto_hash(svc->crypto, "phone", e164, strlen(e164), out);
}

const struct cl_person *cl_service_person_by_phone(const struct cl_service *svc, const char *e164)
{
	unsigned char h[32];
	cl_service_phone_hash(svc, e164, h);
	for (size_t i = 0; i < svc->n_phones; i++)
		if (cl_crypto_equal(h, svc->phones[i].hash, sizeof(h)))
			return svc->phones[i].person;
	return NULL;
}

bool cl_service_sms_opted_out(struct cl_service *svc, const unsigned char hash[32])
{
	return cl_store_sms_optout_has(svc->store, hash);
}

enum cl_err cl_service_sms_code(struct cl_service *svc, const char *person, int code,
                                char ref[CL_REF_MAX], int64_t *notification_id)
{
	int64_t ticket_id;
	enum cl_err err = cl_store_sms_code_find(svc->store, person, code, &ticket_id);
	if (err != CL_OK)
		return err;
	struct cl_ticket t;
	if ((err = cl_store_ticket_get(svc->store, ticket_id, &t)) != CL_OK)
		return err;
	memcpy(ref, t.ref, CL_REF_MAX);
	struct cl_notification n;
	*notification_id =
	    cl_store_notification_latest(svc->store, person, ticket_id, "sms", &n) == CL_OK ? n.id
	                                                                                    : 0;
	return CL_OK;
}

enum cl_err cl_service_sms_single_code(struct cl_service *svc, const char *person, int *code)
{
	int codes[2];
	int64_t tickets[2];
	size_t n;
	enum cl_err err = cl_store_sms_codes_open(svc->store, person, codes, tickets, 2, &n);
	if (err != CL_OK)
		return err;
	if (n == 0)
		return CL_ERR_NOTFOUND;
	if (n > 1)
		return CL_ERR_CONFLICT;
	*code = codes[0];
	return CL_OK;
}
