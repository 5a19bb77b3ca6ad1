/*
 * include/careline/engine.h: the escalation engine. Pure and deterministic:
 * given a policy, a ticket's escalation state (phase, step, loop, due), an
 * input and the time, it moves the state and says whom to notify. It never
 * reads a clock, a roster or the database; core/escalate.c resolves targets to
 * people and writes the outbox rows the plan asks for.
 *
 * Policy semantics: on start, step 0's targets are notified and the ticket
 * waits step 0's delay; when a deadline passes (or someone declines) the next
 * step runs; after the last step the list runs `repeat` more times; then the
 * final step (the back-up) is notified, and re-notified at its delay until
 * someone acknowledges. An ack starts the ack timeout for the urgency; when it
 * passes unanswered by a take, the ticket returns to notifying: the acker and
 * the current step are notified again. A ticket that arrives outside its
 * team's service hours (P2/P3) is deferred: nobody is notified until its
 * deadline, the next opening, when the escalation starts from step 0.
 */
#ifndef CARELINE_ENGINE_H
#define CARELINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/config.h"
#include "careline/ticket.h"

enum cl_esc_input {
	CL_ESC_IN_START,   /* the ticket was created */
	CL_ESC_IN_DUE,     /* its deadline passed */
	CL_ESC_IN_ACK,     /* someone acknowledged */
	CL_ESC_IN_DECLINE, /* declined: escalate now */
	CL_ESC_IN_STOP,    /* taken or resolved: no more escalation */
	CL_ESC_IN_DEFER,   /* outside service hours: wait (the caller sets due_ms to the
	                      next opening); the DUE then starts the escalation */
};

struct cl_esc_plan {
	const struct cl_policy_step *notify; /* notify these targets now, or NULL */
	bool notify_acker;                   /* also re-notify who had acknowledged (ack timeout) */
	bool ack_timed_out;                  /* the ticket goes acknowledged → notifying */
	bool escalated;                      /* moved to a later step (record an escalate event) */
	bool became_unhandled;               /* entered the final step for the first time */
	bool started; /* a deferred escalation started: the ticket goes new → notifying */
};

/* Move t's escalation fields (phase, step, loop, due_ms, unhandled) for input
 * at now, and describe what to do. A DUE input before t->due_ms, or in a phase
 * without a deadline, changes nothing (a stale timer). */
void cl_engine_step(const struct cl_policy *policy, struct cl_ticket *t, enum cl_esc_input input,
                    int64_t now, struct cl_esc_plan *plan);

#endif
