/*
 * core/ticket.c owns the ticket state machine: the (state, event) → state
 * table, the names, the closing reasons, and cl_ticket_apply, the one place a
 * ticket's state changes. Pure: no storage, no clock; callers record the
 * resulting ticket_event row and run the escalation engine.
 */
#include "careline/ticket.h"

#include <stdio.h>
#include <string.h>

#include "careline/log.h"

static const char *const state_names[CL_TICKET_STATE__COUNT] = {
    [CL_TICKET_NEW] = "new",
    [CL_TICKET_NOTIFYING] = "notifying",
    [CL_TICKET_ACKNOWLEDGED] = "acknowledged",
    [CL_TICKET_TAKEN] = "taken",
    [CL_TICKET_CLOSED] = "closed",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == CL_TICKET_STATE__COUNT,
               "a name for every state");

static const char *const event_names[CL_TEV__COUNT] = {
    [CL_TEV_CREATE] = "create", [CL_TEV_NOTIFY] = "notify",   [CL_TEV_ESCALATE] = "escalate",
    [CL_TEV_ACK] = "ack",       [CL_TEV_DECLINE] = "decline", [CL_TEV_ACK_TIMEOUT] = "ack_timeout",
    [CL_TEV_TAKE] = "take",     [CL_TEV_RESOLVE] = "resolve", [CL_TEV_NOTE] = "note",
    [CL_TEV_DEFER] = "defer",   [CL_TEV_READ] = "read",
};
_Static_assert(sizeof(event_names) / sizeof(event_names[0]) == CL_TEV__COUNT,
               "a name for every event");

static const char *const phase_names[CL_ESC_PHASE__COUNT] = {
    [CL_ESC_IDLE] = "idle",   [CL_ESC_STEP] = "step",         [CL_ESC_FINAL] = "final",
    [CL_ESC_ACKED] = "acked", [CL_ESC_DEFERRED] = "deferred",
};

#define X   (-1) /* illegal */
#define NEW CL_TICKET_NEW
#define NTF CL_TICKET_NOTIFYING
#define ACK CL_TICKET_ACKNOWLEDGED
#define TKN CL_TICKET_TAKEN
#define CLS CL_TICKET_CLOSED

/* next_state[state][event]. */
static const signed char next_state[CL_TICKET_STATE__COUNT][CL_TEV__COUNT] = {
    /*       create notify escalate ack decline ack_timeout take resolve note defer read */
    [NEW] = {NEW, NTF, X, X, X, X, TKN, CLS, NEW, NEW, NEW},
    [NTF] = {X, X, NTF, ACK, NTF, X, TKN, CLS, NTF, NTF, NTF},
    [ACK] = {X, X, X, ACK, NTF, NTF, TKN, CLS, ACK, ACK, ACK},
    [TKN] = {X, X, X, X, X, X, TKN, CLS, TKN, X, TKN},
    [CLS] = {X, X, X, X, X, X, X, X, CLS, X, CLS},
};

#undef X
#undef NEW
#undef NTF
#undef ACK
#undef TKN
#undef CLS

static const char *const closing_reasons[] = {
    "contact_refused",
    "contact_not_achieved",
    "not_in_target_group",
    "handed_over:home_support",
    "handed_over:home_care",
    "handed_over:home_nursing",
    "handed_over:admission",
    "handed_over:doctor",
    "handed_over:treatment",
    "handed_over:residential_care",
    "handed_over:drop_in_centre",
    "handed_over:family",
    "handed_over:other",
};

const char *cl_ticket_state_name(enum cl_ticket_state s)
{
	if ((unsigned)s >= CL_TICKET_STATE__COUNT)
		return "unknown";
	return state_names[s];
}

enum cl_err cl_ticket_state_parse(const char *s, enum cl_ticket_state *out)
{
	for (int i = 0; i < CL_TICKET_STATE__COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum cl_ticket_state)i;
			return CL_OK;
		}
	}
	return CL_ERR_INVALID;
}

const char *cl_ticket_event_name(enum cl_ticket_event e)
{
	if ((unsigned)e >= CL_TEV__COUNT)
		return "unknown";
	return event_names[e];
}

const char *cl_ticket_kind_name(enum cl_ticket_kind k)
{
	return k == CL_TICKET_NAMED ? "named" : "anonymous";
}

const char *cl_esc_phase_name(enum cl_esc_phase p)
{
	if ((unsigned)p >= CL_ESC_PHASE__COUNT)
		return "idle";
	return phase_names[p];
}

enum cl_err cl_esc_phase_parse(const char *s, enum cl_esc_phase *out)
{
	for (int i = 0; i < CL_ESC_PHASE__COUNT; i++) {
		if (strcmp(s, phase_names[i]) == 0) {
			*out = (enum cl_esc_phase)i;
			return CL_OK;
		}
	}
	return CL_ERR_INVALID;
}

bool cl_ticket_is_open(const struct cl_ticket *t)
{
	return t->state != CL_TICKET_CLOSED;
}

int cl_ticket_next_state(enum cl_ticket_state state, enum cl_ticket_event event)
{
	if ((unsigned)state >= CL_TICKET_STATE__COUNT || (unsigned)event >= CL_TEV__COUNT)
		return -1;
	return next_state[state][event];
}

bool cl_ticket_reason_valid(const char *reason)
{
	if (!reason)
		return false;
	for (size_t i = 0; i < sizeof(closing_reasons) / sizeof(closing_reasons[0]); i++)
		if (strcmp(reason, closing_reasons[i]) == 0)
			return true;
	return false;
}

static void refuse(struct cl_ticket_result *res, const char *conflict, const char *by)
{
	res->outcome = CL_TICKET_REFUSED;
	res->conflict = conflict;
	snprintf(res->by, sizeof(res->by), "%s", by ? by : "");
}

void cl_ticket_apply(struct cl_ticket *t, enum cl_ticket_event event, const char *actor,
                     const char *reason, int64_t now, struct cl_ticket_result *res)
{
	memset(res, 0, sizeof(*res));
	res->from = t->state;
	res->to = t->state;
	if (!actor)
		actor = "";

	int next = cl_ticket_next_state(t->state, event);
	if (t->state == CL_TICKET_CLOSED && event != CL_TEV_NOTE && event != CL_TEV_READ) {
		refuse(res, "closed", "");
		return;
	}
	/* Who holds the ticket decides before the table does. */
	if (t->state == CL_TICKET_TAKEN &&
	    (event == CL_TEV_ACK || event == CL_TEV_TAKE || event == CL_TEV_DECLINE)) {
		if (strcmp(t->taken_by, actor) == 0 && event != CL_TEV_DECLINE) {
			res->outcome = CL_TICKET_SAME;
			return;
		}
		refuse(res, "already_taken", t->taken_by);
		return;
	}
	if (t->state == CL_TICKET_ACKNOWLEDGED) {
		bool mine = strcmp(t->acked_by, actor) == 0;
		if (event == CL_TEV_ACK) {
			if (mine) {
				res->outcome = CL_TICKET_SAME;
				return;
			}
			refuse(res, "already_acknowledged", t->acked_by);
			return;
		}
		if (event == CL_TEV_DECLINE && !mine) {
			refuse(res, "already_acknowledged", t->acked_by);
			return;
		}
	}
	if (next < 0) {
		refuse(res, "illegal_transition", "");
		return;
	}
	if (event == CL_TEV_RESOLVE && !cl_ticket_reason_valid(reason)) {
		refuse(res, "invalid_reason", "");
		return;
	}

	res->outcome = CL_TICKET_CHANGED;
	res->to = (enum cl_ticket_state)next;
	switch (event) {
	case CL_TEV_ACK:
		snprintf(t->acked_by, sizeof(t->acked_by), "%s", actor);
		t->acked_ms = now;
		break;
	case CL_TEV_DECLINE:
	case CL_TEV_ACK_TIMEOUT:
		/* Responsibility returns to the queue; who acked is kept in the events. */
		t->acked_by[0] = '\0';
		t->acked_ms = 0;
		break;
	case CL_TEV_TAKE:
		snprintf(t->taken_by, sizeof(t->taken_by), "%s", actor);
		t->taken_ms = now;
		if (!t->acked_by[0]) {
			snprintf(t->acked_by, sizeof(t->acked_by), "%s", actor);
			t->acked_ms = now;
		}
		break;
	case CL_TEV_RESOLVE:
		snprintf(t->closed_reason, sizeof(t->closed_reason), "%s", reason);
		t->closed_ms = now;
		break;
	case CL_TEV_CREATE:
	case CL_TEV_NOTIFY:
	case CL_TEV_ESCALATE:
	case CL_TEV_NOTE:
	case CL_TEV_DEFER:
	case CL_TEV_READ:
	case CL_TEV__COUNT:
		break;
	}
	if (res->to != res->from)
		cl_debug("ticket.state", "ticket=%s from=%s to=%s event=%s", t->ref,
		         state_names[res->from], state_names[res->to], event_names[event]);
	t->state = res->to;
	t->updated_ms = now;
}
