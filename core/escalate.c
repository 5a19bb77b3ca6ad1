/*
 * core/escalate.c carries out the engine's plans inside the flush's
 * transaction: it resolves step targets (on-duty primary, back-up, lead, a
 * named person) through the roster at `now`, writes one outbox row per device
 * of each person, records escalation events, and arms the next deadline. It
 * also runs the deadlines that are due. It decides nothing itself: the
 * decisions are engine.c's.
 */
#include <stdio.h>
#include <string.h>

#include "careline/calendar.h"
#include "careline/log.h"
#include "service_internal.h"

/* Due escalations handled per flush; the rest wait for the next pass so
 * answers to new reports are not held up behind a backlog. */
#define MAX_DUE_PER_FLUSH      2000
#define MAX_DEVICES_PER_PERSON 8

enum cl_err escalate_record(struct cl_service *svc, int64_t ticket_id, enum cl_ticket_event ev,
                            enum cl_ticket_state from, enum cl_ticket_state to, const char *actor,
                            const char *detail, int64_t now)
{
	struct cl_event_row e = {
	    .ticket_id = ticket_id,
	    .at_ms = now,
	    .actor = actor,
	    .event = cl_ticket_event_name(ev),
	    .from_state = cl_ticket_state_name(from),
	    .to_state = cl_ticket_state_name(to),
	    .detail = detail,
	};
	enum cl_err err = cl_store_event_insert(svc->store, &e);
	if (err == CL_OK) {
		char action[32], object[32];
		snprintf(action, sizeof(action), "ticket.%s", e.event);
		snprintf(object, sizeof(object), "ticket:%lld", (long long)ticket_id);
		err = audit_record(svc, now, actor, action, object, ticket_id, detail);
	}
	return err;
}

const struct cl_policy *escalate_policy_of(struct cl_service *svc, const struct cl_ticket *t)
{
	for (size_t i = 0; i < svc->cfg->n_policies; i++)
		if (strcmp(svc->cfg->policies[i].id, t->policy) == 0)
			return &svc->cfg->policies[i];
	/* The policy left the configuration since the ticket was made. */
	const struct cl_team *team = cl_config_team(svc->cfg, t->team);
	if (team)
		return t->urgency <= CL_P1 ? team->policy_acute : team->policy;
	return svc->cfg->n_policies ? &svc->cfg->policies[0] : NULL;
}

#define MAX_PEOPLE_PER_STEP 32

struct person_set {
	const char *ids[MAX_PEOPLE_PER_STEP];
	size_t n;
};

static void person_add(struct person_set *set, const char *id)
{
	if (!id || !id[0])
		return;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->ids[i], id) == 0)
			return;
	if (set->n < sizeof(set->ids) / sizeof(set->ids[0]))
		set->ids[set->n++] = id;
}

static void resolve_targets(struct cl_service *svc, const struct cl_ticket *t,
                            const struct cl_policy_step *step, int64_t now, struct person_set *out)
{
	const struct cl_team *team = cl_config_team(svc->cfg, t->team);
	struct cl_oncall oncall = {0};
	bool have_oncall = team && cl_roster_oncall_at(team, svc->overrides, svc->n_overrides, now,
	                                               &oncall) == CL_OK;
	for (size_t i = 0; step && i < step->n_targets; i++) {
		const struct cl_target *target = &step->targets[i];
		switch (target->kind) {
		case CL_TARGET_PRIMARY:
			if (have_oncall)
				person_add(out, oncall.primary);
			break;
		case CL_TARGET_BACKUP:
			if (have_oncall)
				person_add(out, oncall.backup);
			break;
		case CL_TARGET_LEAD:
			if (team)
				person_add(out, team->lead);
			break;
		case CL_TARGET_PERSON:
			person_add(out, target->person);
			break;
		case CL_TARGET_ROLE:
			for (size_t k = 0; k < svc->cfg->n_persons; k++)
				if (strcmp(svc->cfg->persons[k].role, target->person) == 0)
					person_add(out, svc->cfg->persons[k].id);
			break;
		}
	}
	if (out->n == 0)
		cl_warn("escalate.no_target", "ticket=%s team=%s step=%d", t->ref, t->team,
		        t->step);
}

/* A person's SMS contact, when the channel is on and the number usable. */
static bool sms_contact(struct cl_service *svc, const char *person)
{
	const struct cl_person *p = cl_config_person(svc->cfg, person);
	return svc->cfg->sms.provider[0] && p && p->phone[0] &&
	       !cl_store_contact_blocked(svc->store, person, "sms");
}

/* A person's phone for alert calls, when the hotline provider is set. */
static bool voice_contact(struct cl_service *svc, const char *person)
{
	const struct cl_person *p = cl_config_person(svc->cfg, person);
	return svc->cfg->voice.provider[0] && p && p->phone[0] &&
	       !cl_store_contact_blocked(svc->store, person, "voice");
}

enum cl_err audit_notification(struct cl_service *svc, const struct cl_notification *n,
                               const char *action, int64_t now)
{
	char object[40], detail[96];
	snprintf(object, sizeof(object), "notification:%lld", (long long)n->id);
	snprintf(detail, sizeof(detail), "channel=%s person=%s kind=%s", n->channel, n->person,
	         n->kind);
	return audit_record(svc, now, "system", action, object, n->ticket_id, detail);
}

static enum cl_err queue_row(struct cl_service *svc, const struct cl_ticket *t,
                             struct cl_notification *row, const char *channel, const char *target,
                             int64_t now)
{
	snprintf(row->channel, sizeof(row->channel), "%s", channel);
	snprintf(row->target, sizeof(row->target), "%s", target);
	row->state = CL_NOTIF_PENDING;
	row->next_attempt_ms = now;
	enum cl_err err = cl_store_notification_insert(svc->store, row);
	if (err == CL_OK)
		err = audit_notification(svc, row, "notification.queued", now);
	return err == CL_OK ? fx_send(svc, row, t) : err;
}

/* One outbox row per device of person and one for their phone (with the
 * reply code they answer by SMS); a person with no usable contact gets a
 * failed row, so the gap shows in /metrics and the ticket's history. */
static enum cl_err notify_person(struct cl_service *svc, const struct cl_ticket *t,
                                 const char *person, const char *kind, unsigned via, int64_t now)
{
	const struct cl_device *devices[MAX_DEVICES_PER_PERSON];
	size_t n = via && !(via & CL_VIA_MQTT)
	               ? 0
	               : cl_service_person_devices(svc, person, devices, MAX_DEVICES_PER_PERSON);
	bool sms = (!via || (via & CL_VIA_SMS)) && sms_contact(svc, person);
	/* Calls are for alerts on steps that name them, never for updates. */
	bool voice =
	    (via & CL_VIA_VOICE) && strcmp(kind, "alert") == 0 && voice_contact(svc, person);
	struct cl_notification row = {
	    .ticket_id = t->id,
	    .step = t->step,
	    .loop = t->loop,
	    .created_ms = now,
	};
	snprintf(row.person, sizeof(row.person), "%s", person);
	snprintf(row.kind, sizeof(row.kind), "%s", kind);
	if (n == 0 && !sms && !voice) {
		snprintf(row.channel, sizeof(row.channel), "none");
		snprintf(row.target, sizeof(row.target), "-");
		snprintf(row.last_error, sizeof(row.last_error), "no_contact");
		row.state = CL_NOTIF_FAILED;
		svc->fx.delta.notif_no_contact++;
		cl_warn("escalate.no_contact", "ticket=%s person=%s", t->ref, person);
		enum cl_err err = cl_store_notification_insert(svc->store, &row);
		return err == CL_OK ? audit_notification(svc, &row, "notification.no_contact", now)
		                    : err;
	}
	enum cl_err err = CL_OK;
	for (size_t i = 0; err == CL_OK && i < n; i++)
		err = queue_row(svc, t, &row, "mqtt", devices[i]->id, now);
	if (err == CL_OK && sms) {
		/* The target is the person, not the number: the SMS sender looks
		 * the number up in the configuration when it sends. */
		err = cl_store_sms_code_for(svc->store, person, t->id, now, &row.reply_code);
		if (err == CL_OK)
			err = queue_row(svc, t, &row, "sms", person, now);
	}
	if (err == CL_OK && voice)
		err = queue_row(svc, t, &row, "voice", person, now);
	return err;
}

enum cl_err escalate_carry_out(struct cl_service *svc, struct cl_ticket *t,
                               const struct cl_esc_plan *plan, const char *prev_acker, int64_t now)
{
	enum cl_err err = CL_OK;
	if (plan->escalated) {
		char detail[64];
		snprintf(detail, sizeof(detail), "step=%d loop=%d%s", t->step, t->loop,
		         plan->became_unhandled ? " unhandled=1" : "");
		err = escalate_record(svc, t->id, CL_TEV_ESCALATE, t->state, t->state, "system",
		                      detail, now);
		svc->fx.delta.escalations++;
		cl_info("escalate.step", "ticket=%s step=%d loop=%d phase=%s", t->ref, t->step,
		        t->loop, cl_esc_phase_name(t->phase));
	}
	struct person_set people = {.n = 0};
	if (plan->notify_acker)
		person_add(&people, prev_acker);
	if (plan->notify)
		resolve_targets(svc, t, plan->notify, now, &people);
	unsigned via = plan->notify ? plan->notify->via : 0;
	for (size_t i = 0; err == CL_OK && i < people.n; i++)
		err = notify_person(svc, t, people.ids[i], "alert", via, now);
	if (err == CL_OK && t->due_ms)
		err = fx_deadline(svc, t->id, t->due_ms);
	return err;
}

/* Persons alerted for a ticket and the channels they were alerted on
 * (CL_VIA_* bits), collected from its outbox rows. */
struct alerted {
	char ids[16][CL_ID_MAX];
	unsigned via[16];
	size_t n;
	const char *skip;
};

static void collect_alerted(void *ctx, const struct cl_notification *n)
{
	struct alerted *a = ctx;
	if (strcmp(n->kind, "alert") != 0 || strcmp(n->person, a->skip) == 0)
		return;
	unsigned via = strcmp(n->channel, "mqtt") == 0  ? CL_VIA_MQTT
	               : strcmp(n->channel, "sms") == 0 ? CL_VIA_SMS
	                                                : 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->ids[i], n->person) == 0) {
			a->via[i] |= via;
			return;
		}
	if (a->n < sizeof(a->ids) / sizeof(a->ids[0])) {
		a->via[a->n] = via;
		snprintf(a->ids[a->n++], CL_ID_MAX, "%s", n->person);
	}
}

/* The others are told on the channels their alerts went out on: an SMS-only
 * lead hears who took it, an app-only alert gets no text message. */
enum cl_err escalate_tell_others(struct cl_service *svc, const struct cl_ticket *t,
                                 const char *actor, int64_t now)
{
	struct alerted a = {.n = 0, .skip = actor};
	enum cl_err err = cl_store_notifications_of_ticket(svc->store, t->id, collect_alerted, &a);
	for (size_t i = 0; err == CL_OK && i < a.n; i++) {
		/* Persons with no usable contact were never reached. */
		if (a.via[i] == 0)
			continue;
		err = notify_person(svc, t, a.ids[i], "update", a.via[i], now);
	}
	return err;
}

/* A P2/P3 ticket whose next deadline falls after the team has closed does
 * not wake the acute function at night: it waits for the next opening (an
 * acknowledgement's timeout moves there; an unanswered alert round starts
 * again from the first step, for whoever is on duty then). True when it was
 * paused (*err tells whether that was written). */
static bool pause_until_opening(struct cl_service *svc, struct cl_ticket *t, int64_t now,
                                enum cl_err *err)
{
	const struct cl_team *team = cl_config_team(svc->cfg, t->team);
	*err = CL_OK;
	if (t->urgency < CL_P2 || !team || !team->has_hours || t->phase == CL_ESC_DEFERRED ||
	    cl_hours_open_at(&team->hours, &svc->cfg->holidays, now))
		return false;
	int64_t open = cl_hours_next_open(&team->hours, &svc->cfg->holidays, now);
	if (open <= now)
		return false;
	char detail[64], until[32];
	cl_time_format(open, until, sizeof(until));
	snprintf(detail, sizeof(detail), "until=%s paused=1", until);
	if (t->phase != CL_ESC_ACKED) {
		t->phase = CL_ESC_DEFERRED;
		t->step = 0;
		t->loop = 0;
	}
	t->due_ms = open;
	t->updated_ms = now;
	*err = escalate_record(svc, t->id, CL_TEV_DEFER, t->state, t->state, "system", detail, now);
	if (*err == CL_OK)
		*err = cl_store_ticket_update(svc->store, t);
	if (*err == CL_OK)
		*err = fx_deadline(svc, t->id, open);
	return true;
}

static enum cl_err run_one(struct cl_service *svc, int64_t ticket_id, int64_t now)
{
	struct cl_ticket t;
	enum cl_err err = cl_store_ticket_get(svc->store, ticket_id, &t);
	if (err == CL_ERR_NOTFOUND)
		return CL_OK;
	if (err != CL_OK)
		return err;
	/* Stale timer: the deadline moved or went away since it was armed. */
	if (t.due_ms == 0 || t.due_ms > now || !cl_ticket_is_open(&t))
		return CL_OK;
	const struct cl_policy *policy = escalate_policy_of(svc, &t);
	if (!policy)
		return CL_OK;
	cl_metrics_observe_lateness(&svc->fx.delta, now - t.due_ms);
	if (pause_until_opening(svc, &t, now, &err))
		return err;
	char prev_acker[CL_ID_MAX];
	snprintf(prev_acker, sizeof(prev_acker), "%s", t.acked_by);
	struct cl_esc_plan plan;
	cl_engine_step(policy, &t, CL_ESC_IN_DUE, now, &plan);
	if (plan.started) {
		/* A deferred ticket: the team is open now. */
		struct cl_ticket_result res;
		cl_ticket_apply(&t, CL_TEV_NOTIFY, "system", NULL, now, &res);
		if (res.outcome == CL_TICKET_CHANGED)
			err = escalate_record(svc, t.id, CL_TEV_NOTIFY, res.from, res.to, "system",
			                      "deferred=1", now);
	}
	if (plan.ack_timed_out) {
		struct cl_ticket_result res;
		cl_ticket_apply(&t, CL_TEV_ACK_TIMEOUT, "system", NULL, now, &res);
		if (res.outcome == CL_TICKET_CHANGED) {
			char detail[64];
			snprintf(detail, sizeof(detail), "acked_by=%s", prev_acker);
			err = escalate_record(svc, t.id, CL_TEV_ACK_TIMEOUT, res.from, res.to,
			                      "system", detail, now);
			svc->fx.delta.ack_timeouts++;
			cl_info("escalate.ack_timeout", "ticket=%s acked_by=%s", t.ref, prev_acker);
		}
	}
	t.updated_ms = now;
	if (err == CL_OK)
		err = escalate_carry_out(svc, &t, &plan, prev_acker, now);
	if (err == CL_OK)
		err = cl_store_ticket_update(svc->store, &t);
	return err;
}

void escalate_run_due(struct cl_service *svc, int64_t now)
{
	struct cl_heap_entry e;
	int handled = 0;
	while (handled < MAX_DUE_PER_FLUSH && cl_heap_pop_due(&svc->deadlines, now, &e)) {
		handled++;
		if (fx_popped(svc, &e) != CL_OK)
			cl_error("escalate.nomem", "ticket_id=%lld", (long long)e.id);
		struct effects_mark mark;
		fx_mark(svc, &mark);
		if (cl_store_savepoint(svc->store) != CL_OK)
			break;
		enum cl_err err = run_one(svc, e.id, now);
		if (err != CL_OK) {
			/* Undo this ticket's step; its deadline is re-armed by the flush. */
			cl_store_rollback_to(svc->store);
			fx_rewind(svc, &mark);
			fx_deadline(svc, e.id, now + 1000);
			cl_error("escalate.failed", "ticket_id=%lld err=%s", (long long)e.id,
			         cl_errcode(err));
			continue;
		}
		cl_store_release(svc->store);
	}
}
