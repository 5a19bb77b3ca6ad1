/*
 * tests/unit/engine_test.c: the escalation engine of core/engine.c on a fake
 * clock. Policies are built by hand; a ticket is driven through hours of
 * escalation (steps, repeat loops, the final back-up step repeating at its
 * delay) with the exact deadline checked at every step, plus stale timers,
 * decline, ack and its timeout per urgency, STOP, and degenerate policies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "careline/clock.h"
#include "careline/engine.h"

#define SEC  INT64_C(1000)
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define T0   INT64_C(1773223200000) /* 2026-03-11T10:00:00Z */

struct fixture {
	struct cl_policy_step steps[2];
	struct cl_policy
	    policy; /* primary 5 min; primary+lead 10 min; repeat 2; final backup 30 min */
	struct cl_clock clock;
	struct cl_ticket t;
};

static struct fixture fx;

static struct cl_policy_step make_step(int64_t delay_ms, enum cl_target_kind a, int n)
{
	struct cl_policy_step s;
	memset(&s, 0, sizeof(s));
	s.targets[0].kind = a;
	if (n > 1)
		s.targets[1].kind = CL_TARGET_LEAD;
	s.n_targets = (size_t)n;
	s.delay_ms = delay_ms;
	return s;
}

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	fx.steps[0] = make_step(5 * MIN, CL_TARGET_PRIMARY, 1);
	fx.steps[1] = make_step(10 * MIN, CL_TARGET_PRIMARY, 2);
	strcpy(fx.policy.id, "standard");
	fx.policy.steps = fx.steps;
	fx.policy.n_steps = 2;
	fx.policy.repeat = 2;
	fx.policy.final = make_step(30 * MIN, CL_TARGET_BACKUP, 1);
	fx.policy.ack_timeout_ms[CL_P0] = 5 * MIN;
	fx.policy.ack_timeout_ms[CL_P1] = 30 * MIN;
	fx.policy.ack_timeout_ms[CL_P2] = 4 * HOUR;
	fx.policy.ack_timeout_ms[CL_P3] = 24 * HOUR;
	cl_clock_fake_init(&fx.clock, T0);
	fx.t.id = 1;
	strcpy(fx.t.ref, "K7FQ2");
	fx.t.state = CL_TICKET_NOTIFYING;
	fx.t.urgency = CL_P1;
	return 0;
}

static int64_t now(void)
{
	return cl_clock_now(&fx.clock);
}

static void step(enum cl_esc_input in, struct cl_esc_plan *plan)
{
	cl_engine_step(&fx.policy, &fx.t, in, now(), plan);
}

static void assert_esc(enum cl_esc_phase phase, int stp, int loop, int64_t due)
{
	assert_int_equal(fx.t.phase, phase);
	assert_int_equal(fx.t.step, stp);
	assert_int_equal(fx.t.loop, loop);
	assert_int_equal(fx.t.due_ms, due);
}

/* The escalation fields of a and b are equal (a stale input changed nothing). */
static void assert_same_esc(const struct cl_ticket *a, const struct cl_ticket *b)
{
	assert_int_equal(a->phase, b->phase);
	assert_int_equal(a->step, b->step);
	assert_int_equal(a->loop, b->loop);
	assert_int_equal(a->due_ms, b->due_ms);
	assert_int_equal(a->unhandled, b->unhandled);
	assert_int_equal(a->state, b->state);
}

static void assert_plan_empty(const struct cl_esc_plan *p)
{
	assert_null(p->notify);
	assert_false(p->notify_acker);
	assert_false(p->ack_timed_out);
	assert_false(p->escalated);
	assert_false(p->became_unhandled);
}

static void test_engine_start_notifies_first_step(void **state)
{
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	assert_ptr_equal(plan.notify, &fx.steps[0]);
	assert_false(plan.escalated);
	assert_false(plan.became_unhandled);
	assert_false(plan.ack_timed_out);
	assert_esc(CL_ESC_STEP, 0, 0, T0 + 5 * MIN);
	assert_false(fx.t.unhandled);
}

/* Hours of escalation: three passes over the two steps (repeat 2), then the
 * back-up every 30 minutes. At each deadline a timer 1 ms early does
 * nothing, and the one on time moves exactly one step. */
static void test_engine_hours_of_escalation(void **state)
{
	struct {
		int64_t at; /* offset from T0 of the deadline that fires */
		const struct cl_policy_step *notify;
		enum cl_esc_phase phase;
		int step, loop;
		int64_t next_due;
		bool unhandled_now;
	} want[] = {
	    {5 * MIN, &fx.steps[1], CL_ESC_STEP, 1, 0, 15 * MIN, false},
	    {15 * MIN, &fx.steps[0], CL_ESC_STEP, 0, 1, 20 * MIN, false},
	    {20 * MIN, &fx.steps[1], CL_ESC_STEP, 1, 1, 30 * MIN, false},
	    {30 * MIN, &fx.steps[0], CL_ESC_STEP, 0, 2, 35 * MIN, false},
	    {35 * MIN, &fx.steps[1], CL_ESC_STEP, 1, 2, 45 * MIN, false},
	    {45 * MIN, &fx.policy.final, CL_ESC_FINAL, 2, 2, 75 * MIN, true},
	};
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	int unhandled_count = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cl_clock_set(&fx.clock, T0 + want[i].at - 1);
		struct cl_ticket before = fx.t;
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);
		assert_same_esc(&before, &fx.t);

		cl_clock_set(&fx.clock, T0 + want[i].at);
		step(CL_ESC_IN_DUE, &plan);
		assert_ptr_equal(plan.notify, want[i].notify);
		assert_true(plan.escalated);
		assert_false(plan.ack_timed_out);
		assert_false(plan.notify_acker);
		assert_int_equal(plan.became_unhandled, want[i].unhandled_now);
		unhandled_count += plan.became_unhandled;
		assert_esc(want[i].phase, want[i].step, want[i].loop, T0 + want[i].next_due);
		assert_int_equal(fx.t.unhandled, want[i].phase == CL_ESC_FINAL);

		/* The same timer delivered twice is stale the second time. */
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);
	}

	/* The back-up is re-notified every 30 minutes, hour after hour. */
	for (int k = 0; k < 20; k++) {
		int64_t due = T0 + 75 * MIN + k * 30 * MIN;
		assert_int_equal(fx.t.due_ms, due);
		cl_clock_set(&fx.clock, due - 1);
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);
		cl_clock_set(&fx.clock, due);
		step(CL_ESC_IN_DUE, &plan);
		assert_ptr_equal(plan.notify, &fx.policy.final);
		assert_true(plan.escalated);
		assert_false(plan.became_unhandled);
		unhandled_count += plan.became_unhandled;
		assert_esc(CL_ESC_FINAL, 2, 2, due + 30 * MIN);
		assert_true(fx.t.unhandled);
	}
	assert_int_equal(unhandled_count, 1);
	assert_true(now() - T0 > 10 * HOUR);
}

static void test_engine_late_timer_steps_once_from_now(void **state)
{
	/* A deadline handled late (the box was busy) moves one step, and the
	 * next deadline counts from when it was handled. */
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 3 * HOUR);
	step(CL_ESC_IN_DUE, &plan);
	assert_ptr_equal(plan.notify, &fx.steps[1]);
	assert_esc(CL_ESC_STEP, 1, 0, T0 + 3 * HOUR + 10 * MIN);
}

static void test_engine_stale_due_does_nothing(void **state)
{
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	struct cl_ticket before = fx.t;
	for (int64_t at = T0; at < T0 + 5 * MIN; at += 37 * SEC) {
		cl_clock_set(&fx.clock, at);
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);
		assert_same_esc(&before, &fx.t);
	}
	/* No deadline at all: a DUE is always stale. */
	step(CL_ESC_IN_STOP, &plan);
	before = fx.t;
	cl_clock_set(&fx.clock, T0 + 100 * HOUR);
	step(CL_ESC_IN_DUE, &plan);
	assert_plan_empty(&plan);
	assert_same_esc(&before, &fx.t);
}

static void test_engine_decline_escalates_at_once(void **state)
{
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 1 * MIN);
	step(CL_ESC_IN_DECLINE, &plan);
	assert_ptr_equal(plan.notify, &fx.steps[1]);
	assert_true(plan.escalated);
	assert_esc(CL_ESC_STEP, 1, 0, T0 + 11 * MIN);

	/* Declining the last step of a pass starts the next pass. */
	cl_clock_set(&fx.clock, T0 + 2 * MIN);
	step(CL_ESC_IN_DECLINE, &plan);
	assert_ptr_equal(plan.notify, &fx.steps[0]);
	assert_esc(CL_ESC_STEP, 0, 1, T0 + 7 * MIN);

	/* The old deadline (T0 + 11 min) is stale now. */
	cl_clock_set(&fx.clock, T0 + 6 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	assert_plan_empty(&plan);

	/* Decline through the remaining steps to the final. */
	step(CL_ESC_IN_DECLINE, &plan); /* loop 1 step 1 */
	step(CL_ESC_IN_DECLINE, &plan); /* loop 2 step 0 */
	step(CL_ESC_IN_DECLINE, &plan); /* loop 2 step 1 */
	assert_esc(CL_ESC_STEP, 1, 2, T0 + 16 * MIN);
	step(CL_ESC_IN_DECLINE, &plan);
	assert_ptr_equal(plan.notify, &fx.policy.final);
	assert_true(plan.became_unhandled);
	assert_esc(CL_ESC_FINAL, 2, 2, T0 + 36 * MIN);

	/* In the final step a decline re-notifies the back-up at once. */
	cl_clock_set(&fx.clock, T0 + 8 * MIN);
	step(CL_ESC_IN_DECLINE, &plan);
	assert_ptr_equal(plan.notify, &fx.policy.final);
	assert_true(plan.escalated);
	assert_false(plan.became_unhandled);
	assert_esc(CL_ESC_FINAL, 2, 2, T0 + 38 * MIN);
}

static void test_engine_ack_sets_timeout_per_urgency(void **state)
{
	for (int u = 0; u < CL_URGENCY__COUNT; u++) {
		setup(state);
		fx.t.urgency = (enum cl_urgency)u;
		struct cl_esc_plan plan;
		step(CL_ESC_IN_START, &plan);
		cl_clock_set(&fx.clock, T0 + 2 * MIN);
		step(CL_ESC_IN_ACK, &plan);
		assert_plan_empty(&plan);
		int64_t due = T0 + 2 * MIN + fx.policy.ack_timeout_ms[u];
		assert_esc(CL_ESC_ACKED, 0, 0, due);

		/* The step deadline armed before the ack is stale now. */
		cl_clock_set(&fx.clock, T0 + 5 * MIN);
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);
		assert_int_equal(fx.t.due_ms, due);

		cl_clock_set(&fx.clock, due - 1);
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);

		/* Expiry: the acker and the current step are notified again. */
		cl_clock_set(&fx.clock, due);
		step(CL_ESC_IN_DUE, &plan);
		assert_true(plan.ack_timed_out);
		assert_true(plan.notify_acker);
		assert_false(plan.escalated);
		assert_ptr_equal(plan.notify, &fx.steps[0]);
		assert_esc(CL_ESC_STEP, 0, 0, due + 5 * MIN);

		/* And escalation carries on from there. */
		cl_clock_set(&fx.clock, due + 5 * MIN);
		step(CL_ESC_IN_DUE, &plan);
		assert_ptr_equal(plan.notify, &fx.steps[1]);
		assert_esc(CL_ESC_STEP, 1, 0, due + 15 * MIN);
	}
	assert_int_equal(fx.policy.ack_timeout_ms[CL_P0], 5 * MIN);
}

static void test_engine_ack_timeout_in_final_returns_to_final(void **state)
{
	fx.policy.n_steps = 0; /* straight to the final step */
	fx.t.urgency = CL_P0;
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	assert_esc(CL_ESC_FINAL, 0, 0, T0 + 30 * MIN);
	cl_clock_set(&fx.clock, T0 + 1 * MIN);
	step(CL_ESC_IN_ACK, &plan);
	assert_esc(CL_ESC_ACKED, 0, 0, T0 + 6 * MIN);
	cl_clock_set(&fx.clock, T0 + 6 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	assert_true(plan.ack_timed_out);
	assert_true(plan.notify_acker);
	assert_ptr_equal(plan.notify, &fx.policy.final);
	assert_false(plan.became_unhandled); /* it already was */
	assert_esc(CL_ESC_FINAL, 0, 0, T0 + 36 * MIN);
	assert_true(fx.t.unhandled);
}

static void test_engine_ack_timeout_zero_disables(void **state)
{
	fx.policy.ack_timeout_ms[CL_P2] = 0;
	fx.t.urgency = CL_P2;
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 1 * MIN);
	step(CL_ESC_IN_ACK, &plan);
	assert_plan_empty(&plan);
	assert_int_equal(fx.t.due_ms, 0);
	for (int64_t at = T0 + 5 * MIN; at < T0 + 400 * HOUR; at += 7 * HOUR) {
		cl_clock_set(&fx.clock, at);
		step(CL_ESC_IN_DUE, &plan);
		assert_plan_empty(&plan);
		assert_int_equal(fx.t.due_ms, 0);
	}
	/* The acker can still hand it back: escalation goes on from the step
	 * it was acknowledged in. */
	step(CL_ESC_IN_DECLINE, &plan);
	assert_true(plan.escalated);
	assert_ptr_equal(plan.notify, &fx.steps[1]);
	assert_esc(CL_ESC_STEP, 1, 0, now() + 10 * MIN);

	/* Other urgencies keep their timeout. */
	setup(state);
	fx.policy.ack_timeout_ms[CL_P2] = 0;
	fx.t.urgency = CL_P1;
	step(CL_ESC_IN_START, &plan);
	step(CL_ESC_IN_ACK, &plan);
	assert_esc(CL_ESC_ACKED, 0, 0, T0 + 30 * MIN);
}

static void test_engine_decline_by_acker_escalates(void **state)
{
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 6 * MIN);
	step(CL_ESC_IN_DUE, &plan); /* step 1 */
	cl_clock_set(&fx.clock, T0 + 7 * MIN);
	step(CL_ESC_IN_ACK, &plan);
	assert_esc(CL_ESC_ACKED, 1, 0, T0 + 37 * MIN);
	cl_clock_set(&fx.clock, T0 + 8 * MIN);
	step(CL_ESC_IN_DECLINE, &plan);
	assert_true(plan.escalated);
	assert_false(plan.ack_timed_out);
	assert_ptr_equal(plan.notify, &fx.steps[0]);
	assert_esc(CL_ESC_STEP, 0, 1, T0 + 13 * MIN);
}

static void test_engine_stop_clears_deadline(void **state)
{
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 2 * MIN);
	step(CL_ESC_IN_STOP, &plan);
	assert_plan_empty(&plan);
	assert_int_equal(fx.t.phase, CL_ESC_IDLE);
	assert_int_equal(fx.t.due_ms, 0);
	cl_clock_set(&fx.clock, T0 + 5 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	assert_plan_empty(&plan);
	assert_int_equal(fx.t.phase, CL_ESC_IDLE);

	/* STOP while acknowledged or in the final step too. */
	setup(state);
	step(CL_ESC_IN_START, &plan);
	step(CL_ESC_IN_ACK, &plan);
	step(CL_ESC_IN_STOP, &plan);
	assert_int_equal(fx.t.phase, CL_ESC_IDLE);
	assert_int_equal(fx.t.due_ms, 0);
	setup(state);
	fx.policy.n_steps = 0;
	step(CL_ESC_IN_START, &plan);
	step(CL_ESC_IN_STOP, &plan);
	assert_int_equal(fx.t.phase, CL_ESC_IDLE);
	assert_int_equal(fx.t.due_ms, 0);
}

static void test_engine_zero_steps_goes_straight_to_final(void **state)
{
	fx.policy.n_steps = 0;
	fx.policy.steps = NULL;
	fx.policy.repeat = 3; /* nothing to repeat */
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	assert_ptr_equal(plan.notify, &fx.policy.final);
	assert_true(plan.became_unhandled);
	assert_esc(CL_ESC_FINAL, 0, 0, T0 + 30 * MIN);
	assert_true(fx.t.unhandled);
	cl_clock_set(&fx.clock, T0 + 30 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	assert_ptr_equal(plan.notify, &fx.policy.final);
	assert_false(plan.became_unhandled);
	assert_esc(CL_ESC_FINAL, 0, 0, T0 + 60 * MIN);
}

static void test_engine_final_without_delay_notifies_once(void **state)
{
	fx.policy.repeat = 0;
	fx.policy.final.delay_ms = 0;
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 5 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	cl_clock_set(&fx.clock, T0 + 15 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	assert_ptr_equal(plan.notify, &fx.policy.final);
	assert_true(plan.became_unhandled);
	assert_int_equal(fx.t.due_ms, 0);
	assert_int_equal(fx.t.phase, CL_ESC_IDLE);
	assert_true(fx.t.unhandled);
	cl_clock_set(&fx.clock, T0 + 100 * HOUR);
	step(CL_ESC_IN_DUE, &plan);
	assert_plan_empty(&plan);
}

static void test_engine_final_without_targets_keeps_deadline(void **state)
{
	fx.policy.repeat = 0;
	fx.policy.final.n_targets = 0;
	struct cl_esc_plan plan;
	step(CL_ESC_IN_START, &plan);
	cl_clock_set(&fx.clock, T0 + 5 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	cl_clock_set(&fx.clock, T0 + 15 * MIN);
	step(CL_ESC_IN_DUE, &plan);
	assert_null(plan.notify);
	assert_true(plan.became_unhandled);
	assert_esc(CL_ESC_FINAL, 2, 0, T0 + 45 * MIN);
}

static void test_engine_start_again_resets(void **state)
{
	struct cl_esc_plan plan;
	fx.policy.n_steps = 0;
	step(CL_ESC_IN_START, &plan);
	assert_true(fx.t.unhandled);
	fx.policy.n_steps = 2;
	cl_clock_set(&fx.clock, T0 + HOUR);
	step(CL_ESC_IN_START, &plan);
	assert_false(fx.t.unhandled);
	assert_ptr_equal(plan.notify, &fx.steps[0]);
	assert_esc(CL_ESC_STEP, 0, 0, T0 + HOUR + 5 * MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_engine_start_notifies_first_step, setup),
	    cmocka_unit_test_setup(test_engine_hours_of_escalation, setup),
	    cmocka_unit_test_setup(test_engine_late_timer_steps_once_from_now, setup),
	    cmocka_unit_test_setup(test_engine_stale_due_does_nothing, setup),
	    cmocka_unit_test_setup(test_engine_decline_escalates_at_once, setup),
	    cmocka_unit_test_setup(test_engine_ack_sets_timeout_per_urgency, setup),
	    cmocka_unit_test_setup(test_engine_ack_timeout_in_final_returns_to_final, setup),
	    cmocka_unit_test_setup(test_engine_ack_timeout_zero_disables, setup),
	    cmocka_unit_test_setup(test_engine_decline_by_acker_escalates, setup),
	    cmocka_unit_test_setup(test_engine_stop_clears_deadline, setup),
	    cmocka_unit_test_setup(test_engine_zero_steps_goes_straight_to_final, setup),
	    cmocka_unit_test_setup(test_engine_final_without_delay_notifies_once, setup),
	    cmocka_unit_test_setup(test_engine_final_without_targets_keeps_deadline, setup),
	    cmocka_unit_test_setup(test_engine_start_again_resets, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
