/*
 * core/actions.c applies a worker's action (ack, decline, take, resolve,
 * note) to a ticket inside the flush's transaction: the state machine decides
 * whether it is legal, the engine what escalation does next, and the changes,
 * their event row and any notifications are written together. Repeats are
 * harmless: the same person acking twice changes nothing; answering an alert
 * whose step has passed says so. Called only by service.c's flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "service_internal.h"

static const enum cl_ticket_event action_event[CL_ACTION__COUNT] = {
    [CL_ACTION_ACK] = CL_TEV_ACK,   [CL_ACTION_DECLINE] = CL_TEV_DECLINE,
    [CL_ACTION_TAKE] = CL_TEV_TAKE, [CL_ACTION_RESOLVE] = CL_TEV_RESOLVE,
    [CL_ACTION_NOTE] = CL_TEV_NOTE,
};

static void refuse(struct cl_action_answer *a, enum cl_err err, const char *conflict,
                   const char *by)
{
	a->err = err;
	a->conflict = conflict;
	snprintf(a->by, sizeof(a->by), "%s", by ? by : "");
}

/* Check an alert being answered. Returns false (answer filled, or *err set)
 * when the action must not go ahead; fills *n for record_answer. */
static bool check_notification(struct cl_service *svc, const struct cl_action *ac,
                               const struct cl_ticket *t, struct cl_action_answer *a,
                               struct cl_notification *n, enum cl_err *err)
{
	*err = cl_store_notification_get(svc->store, ac->notification_id, n);
	if (*err == CL_ERR_NOTFOUND ||
	    (*err == CL_OK && (n->ticket_id != t->id || strcmp(n->person, ac->actor) != 0))) {
		*err = CL_OK;
		refuse(a, CL_ERR_INVALID, "unknown_notification", NULL);
		return false;
	}
	if (*err != CL_OK)
		return false;
	if (ac->kind == CL_ACTION_DECLINE &&
	    (n->step != t->step || n->loop != t->loop ||
	     (t->phase != CL_ESC_STEP && t->phase != CL_ESC_FINAL && t->phase != CL_ESC_ACKED))) {
		refuse(a, CL_ERR_CONFLICT, "already_escalated", t->acked_by);
		return false;
	}
	return true;
}

/* The alert was answered (only actions that went through count). */
static enum cl_err record_answer(struct cl_service *svc, struct cl_notification *n,
                                 enum cl_action_kind kind, int64_t now)
{
	if (n->answered_ms)
		return CL_OK;
	n->answered_ms = now;
	snprintf(n->answer, sizeof(n->answer), "%s", cl_action_name(kind));
	return cl_store_notification_update(svc->store, n);
}

static enum cl_err record_action(struct cl_service *svc, const struct cl_ticket *t,
                                 const struct cl_action *ac, const struct cl_ticket_result *res,
                                 int64_t now)
{
	char detail[96] = "";
	if (ac->kind == CL_ACTION_RESOLVE)
		snprintf(detail, sizeof(detail), "reason=%s", ac->reason);
	if (ac->notification_id)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
		         "%snotification=%lld", detail[0] ? " " : "",
		         (long long)ac->notification_id);
	struct cl_event_row e = {
	    .ticket_id = t->id,
	    .at_ms = now,
	    .actor = ac->actor,
	    .event = cl_ticket_event_name(action_event[ac->kind]),
	    .from_state = cl_ticket_state_name(res->from),
	    .to_state = cl_ticket_state_name(res->to),
	    .detail = detail[0] ? detail : NULL,
	};
	unsigned char *sealed = NULL;
	if (ac->note && ac->note[0]) {
		size_t len = strlen(ac->note), out_len;
		sealed = malloc(len + CL_CRYPTO_OVERHEAD);
		if (!sealed)
			return CL_ERR_NOMEM;
		enum cl_err err = cl_crypto_seal_field(svc->crypto, "ticket_event", t->id, "note",
		                                       ac->note, len, sealed, &out_len);
		if (err != CL_OK) {
			free(sealed);
			return err;
		}
		e.note = (struct cl_blob){sealed, out_len};
	}
	enum cl_err err = cl_store_event_insert(svc->store, &e);
	free(sealed);
	if (err == CL_OK) {
		char action[32], object[32];
		snprintf(action, sizeof(action), "ticket.%s", e.event);
		snprintf(object, sizeof(object), "ticket:%lld", (long long)t->id);
		err = audit_record(svc, now, e.actor, action, object, t->id, e.detail);
	}
	return err;
}

void action_apply(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	struct cl_action *ac = &job->action;
	struct cl_action_answer *a = &job->action_answer;
	memset(a, 0, sizeof(*a));
	a->notification_id = ac->notification_id;
	if ((unsigned)ac->kind >= CL_ACTION__COUNT) {
		refuse(a, CL_ERR_INVALID, "unknown_action", NULL);
		return;
	}

	struct cl_ticket t;
	enum cl_err err = cl_service_ticket(svc, ac->ref, &t);
	if (err == CL_ERR_NOTFOUND) {
		refuse(a, CL_ERR_NOTFOUND, "unknown_ticket", NULL);
		return;
	}
	if (err != CL_OK) {
		a->err = err;
		return;
	}
	memcpy(a->ref, t.ref, sizeof(a->ref));
	a->state = t.state;
	if (!cl_config_person(svc->cfg, ac->actor)) {
		refuse(a, CL_ERR_INVALID, "unknown_person", NULL);
		return;
	}
	struct cl_notification answered;
	if (ac->notification_id && !check_notification(svc, ac, &t, a, &answered, &err)) {
		if (err != CL_OK)
			a->err = err;
		return;
	}

	char prev_acker[CL_ID_MAX];
	snprintf(prev_acker, sizeof(prev_acker), "%s", t.acked_by);
	bool first_ack = t.acked_ms == 0 && t.taken_ms == 0;
	struct cl_ticket_result res;
	cl_ticket_apply(&t, action_event[ac->kind], ac->actor, ac->reason, now, &res);
	a->state = t.state;
	if (res.outcome == CL_TICKET_REFUSED) {
		refuse(a,
		       strcmp(res.conflict, "invalid_reason") == 0 ? CL_ERR_INVALID
		                                                   : CL_ERR_CONFLICT,
		       res.conflict, res.by);
		return;
	}
	a->err = CL_OK;
	if (ac->notification_id && (err = record_answer(svc, &answered, ac->kind, now)) != CL_OK) {
		a->err = err;
		return;
	}
	if (res.outcome == CL_TICKET_SAME)
		return;
	a->changed = true;

	const struct cl_policy *policy = escalate_policy_of(svc, &t);
	struct cl_esc_plan plan = {0};
	switch (ac->kind) {
	case CL_ACTION_ACK:
		cl_engine_step(policy, &t, CL_ESC_IN_ACK, now, &plan);
		break;
	case CL_ACTION_DECLINE:
		cl_engine_step(policy, &t, CL_ESC_IN_DECLINE, now, &plan);
		break;
	case CL_ACTION_TAKE:
	case CL_ACTION_RESOLVE:
		cl_engine_step(policy, &t, CL_ESC_IN_STOP, now, &plan);
		break;
	case CL_ACTION_NOTE:
	case CL_ACTION__COUNT:
		break;
	}
	err = record_action(svc, &t, ac, &res, now);
	if (err == CL_OK)
		err = escalate_carry_out(svc, &t, &plan, prev_acker, now);
	if (err == CL_OK && (ac->kind == CL_ACTION_ACK || ac->kind == CL_ACTION_TAKE))
		err = escalate_tell_others(svc, &t, ac->actor, now);
	if (err == CL_OK)
		err = cl_store_ticket_update(svc->store, &t);
	if (err != CL_OK) {
		a->err = err;
		return;
	}
	if (first_ack && (ac->kind == CL_ACTION_ACK || ac->kind == CL_ACTION_TAKE))
		cl_metrics_observe_ack(&svc->fx.delta, (double)(now - t.created_ms) / 1000.0);
	cl_info("ticket.action", "ticket=%s action=%s by=%s state=%s", t.ref,
	        cl_action_name(ac->kind), ac->actor, cl_ticket_state_name(t.state));
}
