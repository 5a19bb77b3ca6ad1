/*
 * core/outbox.c sends what the notification table holds: an in-memory queue
 * of (next attempt, id) rebuilt from the pending rows at start, handed to the
 * channel's registered sender when due. Every attempt schedules its own retry
 * with capped exponential backoff; a confirmed delivery (the channel calls
 * cl_service_send_result) makes that retry a no-op. Alerts for tickets that
 * no longer need them (acknowledged, taken, closed) are cancelled instead of
 * sent. Row updates are queued and written by the next flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "service_internal.h"

#define MAX_SENDS_PER_FLUSH 4000

static void on_pending(void *ctx, int64_t id, int64_t next_ms)
{
	struct cl_service *svc = ctx;
	cl_heap_push(&svc->outbox, next_ms, id);
}

enum cl_err outbox_rebuild(struct cl_service *svc)
{
	return cl_store_notifications_pending(svc->store, on_pending, svc);
}

int64_t outbox_retry_delay(const struct cl_service *svc, int attempts)
{
	int64_t d = svc->cfg->outbox_retry_base_ms;
	for (int i = 1; i < attempts && d < svc->cfg->outbox_retry_cap_ms; i++)
		d *= 2;
	return d < svc->cfg->outbox_retry_cap_ms ? d : svc->cfg->outbox_retry_cap_ms;
}

static void queue_result(struct cl_service *svc, int64_t id, enum send_result_kind kind,
                         int64_t retry_at, const char *error)
{
	if (svc->n_results == svc->cap_results) {
		size_t cap = svc->cap_results ? svc->cap_results * 2 : 256;
		struct send_result *r = realloc(svc->results, cap * sizeof(*r));
		if (!r) {
			/* The row stays pending and is sent again: at least once. */
			cl_error("outbox.nomem", "notification=%lld", (long long)id);
			return;
		}
		svc->results = r;
		svc->cap_results = cap;
	}
	struct send_result *r = &svc->results[svc->n_results++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->kind = kind;
	r->retry_at_ms = retry_at;
	if (error)
		snprintf(r->error, sizeof(r->error), "%s", error);
}

void cl_service_send_result(struct cl_service *svc, int64_t notification_id, bool delivered,
                            const char *error)
{
	queue_result(svc, notification_id, delivered ? SEND_DELIVERED : SEND_FAILED, 0, error);
}

void outbox_write_results(struct cl_service *svc, int64_t now)
{
	for (size_t i = 0; i < svc->n_results; i++) {
		const struct send_result *r = &svc->results[i];
		struct cl_notification n;
		if (cl_store_notification_get(svc->store, r->id, &n) != CL_OK)
			continue;
		switch (r->kind) {
		case SEND_DISPATCHED:
			if (n.state != CL_NOTIF_PENDING)
				continue;
			n.attempts++;
			n.next_attempt_ms = r->retry_at_ms;
			break;
		case SEND_DELIVERED:
			if (n.state == CL_NOTIF_SENT)
				continue;
			n.state = CL_NOTIF_SENT;
			n.sent_ms = now;
			n.last_error[0] = '\0';
			svc->fx.delta.notif_sent++;
			break;
		case SEND_CANCELLED:
			if (n.state != CL_NOTIF_PENDING)
				continue;
			n.state = CL_NOTIF_CANCELLED;
			break;
		case SEND_FAILED:
			snprintf(n.last_error, sizeof(n.last_error), "%s", r->error);
			svc->fx.delta.notif_failed++;
			break;
		}
		if (cl_store_notification_update(svc->store, &n) != CL_OK)
			cl_warn("outbox.update_failed", "notification=%lld", (long long)n.id);
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

static void send_one(struct cl_service *svc, int64_t id, int64_t now)
{
	struct cl_notification n;
	struct cl_ticket t;
	if (cl_store_notification_get(svc->store, id, &n) != CL_OK || n.state != CL_NOTIF_PENDING)
		return;
	if (cl_store_ticket_get(svc->store, n.ticket_id, &t) != CL_OK)
		return;
	if (!alert_still_needed(&n, &t)) {
		queue_result(svc, id, SEND_CANCELLED, 0, NULL);
		return;
	}
	const struct cl_sender *sender = sender_for(svc, n.channel);
	int64_t retry_at = now + outbox_retry_delay(svc, n.attempts + 1);
	cl_heap_push(&svc->outbox, retry_at, id);
	queue_result(svc, id, SEND_DISPATCHED, retry_at, NULL);
	if (!sender) {
		cl_warn("outbox.no_sender", "notification=%lld channel=%s", (long long)id,
		        n.channel);
		return;
	}
	const struct cl_person *p = cl_config_person(svc->cfg, n.person);
	const struct cl_area *area = cl_config_area(svc->cfg, t.area);
	struct cl_outgoing out = {
	    .n = &n,
	    .t = &t,
	    .lang = p && p->lang[0] ? p->lang : svc->cfg->lang,
	    .area_name = area ? area->name : t.area,
	};
	enum cl_err err = sender->send(sender->ctx, &out);
	if (err != CL_OK) {
		svc->metrics.notif_failed++;
		cl_debug("outbox.send_deferred", "notification=%lld attempt=%d err=%s",
		         (long long)id, n.attempts + 1, cl_errcode(err));
	}
}

void outbox_send_due(struct cl_service *svc, int64_t now)
{
	struct cl_heap_entry e;
	int sent = 0;
	while (sent < MAX_SENDS_PER_FLUSH && cl_heap_pop_due(&svc->outbox, now, &e)) {
		sent++;
		send_one(svc, e.id, now);
	}
}
