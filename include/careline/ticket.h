/*
 * include/careline/ticket.h: the ticket model and its state machine.
 *   new → notifying → acknowledged → taken → closed
 * plus decline (escalate now), ack timeout (acknowledged → notifying), resolve
 * with a closing reason from any open state, and notes. The legal moves are a
 * const (state, event) table in core/ticket.c; cl_ticket_apply is the only
 * place a ticket's state changes. Who-did-what conflicts (acked or taken by
 * someone else, closed) are answered with a code and the other person.
 */
#ifndef CARELINE_TICKET_H
#define CARELINE_TICKET_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/config.h"
#include "careline/err.h"
#include "careline/ref.h"
#include "careline/report.h"

enum cl_ticket_state {
	CL_TICKET_NEW,          /* created, not yet sent to anyone */
	CL_TICKET_NOTIFYING,    /* alerts out, escalating until someone acks */
	CL_TICKET_ACKNOWLEDGED, /* a person said "I am responsible"; ack timeout running */
	CL_TICKET_TAKEN,        /* a person has taken the case; escalation over */
	CL_TICKET_CLOSED,       /* resolved with a closing reason */
	CL_TICKET_STATE__COUNT
};

enum cl_ticket_event {
	CL_TEV_CREATE,      /* the report arrived (recorded, no state change) */
	CL_TEV_NOTIFY,      /* first alerts sent */
	CL_TEV_ESCALATE,    /* a step deadline passed: next step */
	CL_TEV_ACK,         /* "I am responsible now" */
	CL_TEV_DECLINE,     /* "not me": escalate at once */
	CL_TEV_ACK_TIMEOUT, /* acknowledged but not taken in time */
	CL_TEV_TAKE,        /* the case is taken */
	CL_TEV_RESOLVE,     /* closed with a reason */
	CL_TEV_NOTE,        /* a worker's note; no state change */
	CL_TEV_DEFER,       /* outside service hours: waits for the next opening */
	CL_TEV_READ,        /* personal data (a recording) was read; no state change */
	CL_TEV__COUNT
};

enum cl_ticket_kind { CL_TICKET_ANONYMOUS, CL_TICKET_NAMED };

/* Where the ticket's escalation stands (columns of the ticket row). */
enum cl_esc_phase {
	CL_ESC_IDLE,     /* no deadline: taken, closed, or nothing left to do */
	CL_ESC_STEP,     /* waiting for an ack on policy step `step` of loop `loop` */
	CL_ESC_FINAL,    /* the final step (back-up) repeats until someone acks */
	CL_ESC_ACKED,    /* acknowledged; due_ms is the ack timeout */
	CL_ESC_DEFERRED, /* waits for the team's next opening (due_ms); nobody notified yet */
	CL_ESC_PHASE__COUNT
};

struct cl_ticket {
	int64_t id;
	char ref[CL_REF_MAX];
	enum cl_ticket_kind kind;
	enum cl_ticket_state state;
	enum cl_urgency urgency;
	struct cl_categories categories;
	char area[CL_ID_MAX];
	char team[CL_ID_MAX];
	char policy[CL_ID_MAX];
	int64_t created_ms;
	int64_t updated_ms;
	char acked_by[CL_ID_MAX];
	int64_t acked_ms;
	char taken_by[CL_ID_MAX];
	int64_t taken_ms;
	char closed_reason[48];
	int64_t closed_ms;
	int64_t linked_to; /* 0 or the open ticket at the same address */
	char linked_ref[CL_REF_MAX];
	bool has_address_hash;
	unsigned char address_hash[32];
	/* escalation */
	enum cl_esc_phase phase;
	int step;
	int loop;
	int64_t due_ms; /* 0 = no deadline */
	bool unhandled; /* reached the final step */
};

const char *cl_ticket_state_name(enum cl_ticket_state s);
enum cl_err cl_ticket_state_parse(const char *s, enum cl_ticket_state *out);
const char *cl_ticket_event_name(enum cl_ticket_event e);
const char *cl_ticket_kind_name(enum cl_ticket_kind k);
const char *cl_esc_phase_name(enum cl_esc_phase p);
enum cl_err cl_esc_phase_parse(const char *s, enum cl_esc_phase *out);
bool cl_ticket_is_open(const struct cl_ticket *t);

/* The state the table says event leads to from state, or -1 if illegal. */
int cl_ticket_next_state(enum cl_ticket_state state, enum cl_ticket_event event);

/* Closing reasons (DOMAIN.md): "contact_refused", "contact_not_achieved",
 * "not_in_target_group", "handed_over:home_support", ... */
bool cl_ticket_reason_valid(const char *reason);

/* The outcome of applying an event. */
enum cl_ticket_outcome {
	CL_TICKET_CHANGED, /* the event applies; a ticket_event row is due */
	CL_TICKET_SAME,    /* already so (same person acked twice): nothing to record */
	CL_TICKET_REFUSED, /* illegal now: see conflict and by */
};

struct cl_ticket_result {
	enum cl_ticket_outcome outcome;
	enum cl_ticket_state from;
	enum cl_ticket_state to;
	const char *conflict; /* "already_taken", "already_acknowledged", "closed",
	                         "illegal_transition", "invalid_reason" */
	char by[CL_ID_MAX];   /* who holds the ticket when refused */
};

/* Apply event by actor at now: checks the table and who holds the ticket,
 * then updates state and the acked/taken/closed fields. reason is the closing
 * reason for CL_TEV_RESOLVE (validated). Never crashes on any input. */
void cl_ticket_apply(struct cl_ticket *t, enum cl_ticket_event event, const char *actor,
                     const char *reason, int64_t now, struct cl_ticket_result *res);

#endif
