/*
 * core/outbox.c sends what the notification table holds. Notifications
 * written by a flush are sent right after its commit, from the copy the flush
 * kept (no read back). Every attempt schedules its own retry with capped
 * exponential backoff in an in-memory queue (rebuilt from the pending rows at
 * start); a confirmed delivery (the channel calls cl_service_send_result)
 * turns that retry into a no-op. Attempt counts live in memory while a send
 * is in flight and reach the row with its outcome, so a delivered
 * notification costs one UPDATE. Alerts for tickets that no longer need them
 * (acknowledged, taken, closed) are cancelled instead of sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "service_internal.h"

#define MAX_RETRIES_PER_PASS 4000

static void on_pending(void *ctx, int64_t id, int64_t next_ms)
{
	struct cl_service *svc = ctx;
	cl_heap_push(&svc->outbox, next_ms, id);
}

enum cl_err outbox_rebuild(struct cl_service *svc)
{
	return cl_store_notifications_pending(svc->store, on_pending, svc);
}

/* Capped exponential backoff with jitter: base * 2^(attempts-1), at most the
 * cap, plus up to a quarter more, so notifications that failed together do
 * not come back together. The jitter is a hash of (id, attempts): spread,
 * yet deterministic, so tests on a fake clock can reason about it. */
int64_t outbox_retry_delay(const struct cl_service *svc, int64_t id, int attempts)
{
	int64_t d = svc->cfg->outbox_retry_base_ms;
	for (int i = 1; i < attempts && d < svc->cfg->outbox_retry_cap_ms; i++)
		d *= 2;
	if (d > svc->cfg->outbox_retry_cap_ms)
		d = svc->cfg->outbox_retry_cap_ms;
	uint64_t h =
	    (uint64_t)id * 0x9E3779B97F4A7C15ull ^ (uint64_t)attempts * 0xBF58476D1CE4E5B9ull;
	h ^= h >> 31;
	return d + (int64_t)(h % (uint64_t)(d / 4 + 1));
}

static struct send_result *queue_result(struct cl_service *svc, int64_t id,
                                        enum send_result_kind kind, int attempts, int64_t retry_at,
                                        const char *error)
{
	if (svc->n_results == svc->cap_results) {
		size_t cap = svc->cap_results ? svc->cap_results * 2 : 256;
		struct send_result *r = realloc(svc->results, cap * sizeof(*r));
		if (!r) {
			/* The row stays pending and is sent again: at least once. */
			cl_error("outbox.nomem", "notification=%lld", (long long)id);
			return NULL;
		}
		svc->results = r;
		svc->cap_results = cap;
	}
	if (svc->n_results == 0)
		svc->results_since = cl_clock_now(svc->clock);
	/* Only confirmations wait for a commit to ride on; failures and
	 * cancellations (rare, and they change what happens next) go at once. */
	if (kind != SEND_DELIVERED)
		svc->results_since = 0;
	struct send_result *r = &svc->results[svc->n_results++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->kind = kind;
	r->attempts = attempts;
	r->retry_at_ms = retry_at;
	if (error)
		snprintf(r->error, sizeof(r->error), "%s", error);
	return r;
}

void cl_service_send_outcome(struct cl_service *svc, int64_t notification_id,
                             const struct cl_send_outcome *o)
{
	int attempts = 0;
	if (o->delivered || o->permanent) {
		cl_idmap_take(&svc->inflight, notification_id, &attempts);
		/* Its scheduled retry is dropped without reading the row. */
		cl_idmap_put(&svc->confirmed, notification_id, 1);
	} else {
		attempts = cl_idmap_get(&svc->inflight, notification_id, 0);
	}
	struct send_result *r =
	    queue_result(svc, notification_id, o->delivered ? SEND_DELIVERED : SEND_FAILED,
	                 attempts, 0, o->error);
	if (r) {
		r->permanent = !o->delivered && o->permanent;
		if (o->provider_id)
			snprintf(r->provider_id, sizeof(r->provider_id), "%s", o->provider_id);
	}
}

void cl_service_send_result(struct cl_service *svc, int64_t notification_id, bool delivered,
                            const char *error)
{
	struct cl_send_outcome o = {.delivered = delivered, .error = error};
	cl_service_send_outcome(svc, notification_id, &o);
}

/* A refusal for good: the row fails, and the contact is not used again. */
static enum cl_err write_permanent(struct cl_service *svc, const struct send_result *r)
{
	enum cl_err err =
	    cl_store_notification_failed_final(svc->store, r->id, r->attempts, r->error);
	struct cl_notification n;
	if (err == CL_OK && cl_store_notification_get(svc->store, r->id, &n) == CL_OK) {
		err =
		    cl_store_contact_block(svc->store, n.person, n.channel, r->error, n.created_ms);
		cl_warn("outbox.refused", "notification=%lld person=%s channel=%s error=%s",
		        (long long)r->id, n.person, n.channel, r->error);
	}
	return err;
}

void outbox_write_results(struct cl_service *svc, int64_t now)
{
	for (size_t i = 0; i < svc->n_results; i++) {
		const struct send_result *r = &svc->results[i];
		enum cl_err err = CL_OK;
		switch (r->kind) {
		case SEND_DELIVERED:
			err = cl_store_notification_sent(svc->store, r->id, r->attempts, now);
			if (err == CL_OK && r->provider_id[0])
				err = cl_store_notification_set_provider_id(svc->store, r->id,
				                                            r->provider_id);
			svc->fx.delta.notif_sent++;
			break;
		case SEND_FAILED:
			if (r->permanent)
				err = write_permanent(svc, r);
			else
				err = cl_store_notification_failed(svc->store, r->id, r->attempts,
				                                   r->error, r->retry_at_ms);
			svc->fx.delta.notif_failed++;
			break;
		case SEND_CANCELLED:
			err = cl_store_notification_cancel(svc->store, r->id);
			break;
		}
		/* The outcome that ends a notification is an audit event; retries are
		 * logged only. */
		const char *action = r->kind == SEND_DELIVERED   ? "notification.sent"
		                     : r->kind == SEND_CANCELLED ? "notification.cancelled"
		                     : r->permanent              ? "notification.refused"
		                                                 : NULL;
		struct cl_notification n;
		if (err == CL_OK && action &&
		    cl_store_notification_get(svc->store, r->id, &n) == CL_OK)
			err = audit_notification(svc, &n, action, now);
		if (err != CL_OK)
			cl_warn("outbox.update_failed", "notification=%lld", (long long)r->id);
	}
}

static const struct cl_sender *sender_for(const struct cl_service *svc, const char *channel)
{
	for (size_t i = 0; i < svc->n_senders; i++)
		if (strcmp(svc->senders[i].channel, channel) == 0)
			return &svc->senders[i];
	return NULL;
}

enum cl_err cl_service_add_sender(struct cl_service *svc, const struct cl_sender *sender)
{
	if (svc->n_senders == MAX_SENDERS)
		return CL_ERR_INVALID;
	svc->senders[svc->n_senders++] = *sender;
	return CL_OK;
}

static bool alert_still_needed(const struct cl_notification *n, const struct cl_ticket *t)
{
	if (strcmp(n->kind, "alert") != 0)
		return true;
	return t->state == CL_TICKET_NOTIFYING;
}

/* An alert to a device revoked since it was written: nobody to send it to
 * (MQTT notifications target a device id). */
static bool target_revoked(struct cl_service *svc, const struct cl_notification *n)
{
	if (strcmp(n->channel, "mqtt") != 0)
		return false;
	const struct cl_device *d = cl_service_device(svc, n->target);
	return d && d->revoked;
}

/* One attempt. Its retry is scheduled first, so a send that is never
 * confirmed is tried again. */
static void dispatch(struct cl_service *svc, const struct cl_notification *n,
                     const struct cl_ticket *t, int64_t now)
{
	if (!alert_still_needed(n, t) || target_revoked(svc, n)) {
		cl_idmap_take(&svc->inflight, n->id, NULL);
		queue_result(svc, n->id, SEND_CANCELLED, 0, 0, NULL);
		return;
	}
	int made = cl_idmap_get(&svc->inflight, n->id, 0);
	int attempt = (n->attempts > made ? n->attempts : made) + 1;
	cl_idmap_put(&svc->inflight, n->id, attempt);
	int64_t retry_at = now + outbox_retry_delay(svc, n->id, attempt);
	cl_heap_push(&svc->outbox, retry_at, n->id);
	const struct cl_sender *sender = sender_for(svc, n->channel);
	if (!sender) {
		cl_warn("outbox.no_sender", "notification=%lld channel=%s", (long long)n->id,
		        n->channel);
		queue_result(svc, n->id, SEND_FAILED, attempt, retry_at, "no_sender");
		return;
	}
	const struct cl_person *p = cl_config_person(svc->cfg, n->person);
	const struct cl_area *area = cl_config_area(svc->cfg, t->area);
	struct cl_outgoing out = {
	    .n = n,
	    .t = t,
	    .lang = p && p->lang[0] ? p->lang : svc->cfg->lang,
	    .area_name = area ? area->name : t->area,
	};
	enum cl_err err = sender->send(sender->ctx, &out);
	if (err != CL_OK) {
		queue_result(svc, n->id, SEND_FAILED, attempt, retry_at, cl_errcode(err));
		cl_debug("outbox.send_deferred", "notification=%lld attempt=%d err=%s",
		         (long long)n->id, attempt, cl_errcode(err));
	}
}

struct id_list {
	struct cl_service *svc;
	int64_t *v;
	size_t n, cap;
	bool nomem;
};

static void collect_id(void *ctx, const struct cl_notification *n)
{
	struct id_list *l = ctx;
	if (target_revoked(l->svc, n))
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int64_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n->id;
}

enum cl_err outbox_requeue_current(struct cl_service *svc, const char *channel, int64_t now)
{
	struct id_list l = {.svc = svc};
	int64_t since = now - svc->cfg->alert_expiry_s * 1000;
	enum cl_err err =
	    cl_store_notifications_current(svc->store, channel, since, collect_id, &l);
	if (err == CL_OK && l.nomem)
		err = CL_ERR_NOMEM;
	for (size_t i = 0; err == CL_OK && i < l.n; i++) {
		err = cl_store_notification_requeue(svc->store, l.v[i], now);
		/* Sent anew (a rollback leaves the row sent: the pop finds nothing to do). */
		cl_idmap_take(&svc->confirmed, l.v[i], NULL);
		if (err == CL_OK)
			err = cl_heap_push(&svc->outbox, now, l.v[i]);
	}
	if (err == CL_OK && l.n)
		cl_info("outbox.requeued", "channel=%s alerts=%zu", channel, l.n);
	free(l.v);
	return err;
}

/* A retry: the row and its ticket as they are now. */
static void retry_one(struct cl_service *svc, int64_t id, int64_t now)
{
	struct cl_notification n;
	struct cl_ticket t;
	if (cl_store_notification_get(svc->store, id, &n) != CL_OK || n.state != CL_NOTIF_PENDING ||
	    cl_store_ticket_get(svc->store, n.ticket_id, &t) != CL_OK) {
		cl_idmap_take(&svc->inflight, id, NULL);
		return;
	}
	dispatch(svc, &n, &t, now);
}

void outbox_send_due(struct cl_service *svc, int64_t now)
{
	for (size_t i = 0; i < svc->n_fresh; i++)
		dispatch(svc, &svc->fresh[i].n, &svc->fresh[i].t, now);
	svc->n_fresh = 0;
	struct cl_heap_entry e;
	int retried = 0;
	while (retried < MAX_RETRIES_PER_PASS && cl_heap_pop_due(&svc->outbox, now, &e)) {
		if (cl_idmap_take(&svc->confirmed, e.id, NULL))
			continue;
		retried++;
		retry_one(svc, e.id, now);
	}
}
