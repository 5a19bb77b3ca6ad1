/*
 * core/engine.c owns escalation decisions (see engine.h for the policy
 * semantics). It only moves the escalation fields of a struct cl_ticket and
 * fills a plan; the ticket's state machine, targets and the outbox are
 * elsewhere. Time comes in as an argument.
 */
#include "careline/engine.h"

#include <string.h>

/* Enter step `step` of loop `loop` (or the final step when past the end). */
static void enter_step(const struct cl_policy *p, struct cl_ticket *t, int step, int loop,
                       int64_t now, struct cl_esc_plan *plan)
{
	if ((size_t)step >= p->n_steps) {
		if (loop < p->repeat && p->n_steps > 0) {
			step = 0;
			loop++;
		} else {
			t->phase = CL_ESC_FINAL;
			t->step = (int)p->n_steps;
			t->loop = loop;
			if (!t->unhandled)
				plan->became_unhandled = true;
			t->unhandled = true;
			plan->notify = p->final.n_targets ? &p->final : NULL;
			t->due_ms = p->final.delay_ms > 0 ? now + p->final.delay_ms : 0;
			if (!t->due_ms)
				t->phase = CL_ESC_IDLE;
			return;
		}
	}
	t->phase = CL_ESC_STEP;
	t->step = step;
	t->loop = loop;
	plan->notify = &p->steps[step];
	t->due_ms = now + p->steps[step].delay_ms;
}

static void advance(const struct cl_policy *p, struct cl_ticket *t, int64_t now,
                    struct cl_esc_plan *plan)
{
	plan->escalated = true;
	if (t->phase == CL_ESC_FINAL) {
		/* The final step repeats until someone answers. */
		plan->notify = p->final.n_targets ? &p->final : NULL;
		t->due_ms = p->final.delay_ms > 0 ? now + p->final.delay_ms : 0;
		return;
	}
	enter_step(p, t, t->step + 1, t->loop, now, plan);
}

void cl_engine_step(const struct cl_policy *p, struct cl_ticket *t, enum cl_esc_input input,
                    int64_t now, struct cl_esc_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	switch (input) {
	case CL_ESC_IN_START:
		t->unhandled = false;
		enter_step(p, t, 0, 0, now, plan);
		break;
	case CL_ESC_IN_DUE:
		if (t->due_ms == 0 || now < t->due_ms || t->phase == CL_ESC_IDLE)
			break;
		if (t->phase == CL_ESC_DEFERRED) {
			/* The team opens: the escalation starts as it would have. */
			plan->started = true;
			t->unhandled = false;
			enter_step(p, t, 0, 0, now, plan);
			break;
		}
		if (t->phase == CL_ESC_ACKED) {
			/* Acknowledged but never taken: back to the current step. */
			plan->ack_timed_out = true;
			plan->notify_acker = true;
			if ((size_t)t->step >= p->n_steps) {
				t->phase = CL_ESC_FINAL;
				plan->notify = p->final.n_targets ? &p->final : NULL;
				t->due_ms = p->final.delay_ms > 0 ? now + p->final.delay_ms : 0;
			} else {
				t->phase = CL_ESC_STEP;
				plan->notify = &p->steps[t->step];
				t->due_ms = now + p->steps[t->step].delay_ms;
			}
			break;
		}
		advance(p, t, now, plan);
		break;
	case CL_ESC_IN_DEFER:
		t->phase = CL_ESC_DEFERRED;
		t->due_ms = now; /* the caller sets the opening; now only as a floor */
		break;
	case CL_ESC_IN_DECLINE:
		if (t->phase == CL_ESC_DEFERRED)
			break; /* nobody was asked yet: nothing to pass on */
		if (t->phase == CL_ESC_ACKED)
			t->phase = (size_t)t->step >= p->n_steps ? CL_ESC_FINAL : CL_ESC_STEP;
		if (t->phase == CL_ESC_IDLE && t->unhandled)
			t->phase = CL_ESC_FINAL;
		if (t->phase == CL_ESC_STEP || t->phase == CL_ESC_FINAL)
			advance(p, t, now, plan);
		break;
	case CL_ESC_IN_ACK: {
		int64_t timeout =
		    p->ack_timeout_ms[t->urgency < CL_URGENCY__COUNT ? t->urgency : 3];
		/* Acknowledged even without a timeout (due 0), so a decline by
		 * the acker still escalates from the current step. */
		t->phase = CL_ESC_ACKED;
		t->due_ms = timeout > 0 ? now + timeout : 0;
		break;
	}
	case CL_ESC_IN_STOP:
		t->phase = CL_ESC_IDLE;
		t->due_ms = 0;
		break;
	}
}
