/*
 * tests/unit/ticket_test.c: the ticket state machine of core/ticket.c. The
 * (state, event) table is checked cell by cell against a copy written here
 * from ticket.h's description; then who-holds-the-ticket conflicts (same
 * person repeating, someone else acking or taking), closed tickets, closing
 * reasons, decline and ack timeout, and garbage input that must not crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "careline/ticket.h"

#define T0 INT64_C(1773223200000) /* 2026-03-11T10:00:00Z */

#define X   (-1)
#define NEW CL_TICKET_NEW
#define NTF CL_TICKET_NOTIFYING
#define ACK CL_TICKET_ACKNOWLEDGED
#define TKN CL_TICKET_TAKEN
#define CLS CL_TICKET_CLOSED

/* The legal moves, written from ticket.h: new → notifying → acknowledged →
 * taken → closed; decline and ack timeout return to notifying; take and
 * resolve from any open state; notes and reads everywhere. */
static const int spec[CL_TICKET_STATE__COUNT][CL_TEV__COUNT] = {
    /*       create notify escalate ack decline ack_timeout take resolve note defer read */
    [NEW] = {NEW, NTF, X, X, X, X, TKN, CLS, NEW, NEW, NEW},
    [NTF] = {X, X, NTF, ACK, NTF, X, TKN, CLS, NTF, NTF, NTF},
    [ACK] = {X, X, X, ACK, NTF, NTF, TKN, CLS, ACK, ACK, ACK},
    [TKN] = {X, X, X, X, X, X, TKN, CLS, TKN, X, TKN},
    [CLS] = {X, X, X, X, X, X, X, X, CLS, X, CLS},
};

/* A ticket in state s, held by holder when acknowledged or taken. */
static struct cl_ticket ticket_in(enum cl_ticket_state s, const char *holder)
{
	struct cl_ticket t;
	memset(&t, 0, sizeof(t));
	t.id = 7;
	strcpy(t.ref, "K7FQ2");
	t.state = s;
	t.created_ms = T0;
	t.updated_ms = T0;
	if (s == ACK || s == TKN || s == CLS) {
		strcpy(t.acked_by, holder);
		t.acked_ms = T0 + 1000;
	}
	if (s == TKN || s == CLS) {
		strcpy(t.taken_by, holder);
		t.taken_ms = T0 + 2000;
	}
	if (s == CLS) {
		strcpy(t.closed_reason, "contact_refused");
		t.closed_ms = T0 + 3000;
	}
	return t;
}

static void test_ticket_table_matches_spec(void **state)
{
	for (int s = 0; s < CL_TICKET_STATE__COUNT; s++)
		for (int e = 0; e < CL_TEV__COUNT; e++)
			assert_int_equal(
			    cl_ticket_next_state((enum cl_ticket_state)s, (enum cl_ticket_event)e),
			    spec[s][e]);
	assert_int_equal(cl_ticket_next_state(CL_TICKET_STATE__COUNT, CL_TEV_ACK), -1);
	assert_int_equal(cl_ticket_next_state(NEW, CL_TEV__COUNT), -1);
	assert_int_equal(cl_ticket_next_state((enum cl_ticket_state) - 1, CL_TEV_ACK), -1);
}

/* Every cell through cl_ticket_apply, acted on by the holder: legal cells
 * change (or are SAME for a repeat by the holder), illegal ones are refused
 * with "illegal_transition" (or "closed" on a closed ticket). */
static void test_ticket_apply_every_cell_by_holder(void **state)
{
	for (int s = 0; s < CL_TICKET_STATE__COUNT; s++) {
		for (int e = 0; e < CL_TEV__COUNT; e++) {
			struct cl_ticket t = ticket_in((enum cl_ticket_state)s, "anna");
			struct cl_ticket_result res;
			cl_ticket_apply(&t, (enum cl_ticket_event)e, "anna", "contact_refused",
			                T0 + 60000, &res);
			assert_int_equal(res.from, s);
			bool repeat = (s == ACK && e == CL_TEV_ACK) ||
			              (s == TKN && (e == CL_TEV_ACK || e == CL_TEV_TAKE));
			if (s == CLS && e != CL_TEV_NOTE && e != CL_TEV_READ) {
				assert_int_equal(res.outcome, CL_TICKET_REFUSED);
				assert_string_equal(res.conflict, "closed");
				assert_int_equal(t.state, CLS);
			} else if (repeat) {
				assert_int_equal(res.outcome, CL_TICKET_SAME);
				assert_int_equal(t.state, s);
				assert_int_equal(t.updated_ms, T0);
			} else if (s == TKN && e == CL_TEV_DECLINE) {
				/* A taken case cannot be declined, not even by its taker. */
				assert_int_equal(res.outcome, CL_TICKET_REFUSED);
				assert_string_equal(res.conflict, "already_taken");
				assert_string_equal(res.by, "anna");
			} else if (spec[s][e] == X) {
				assert_int_equal(res.outcome, CL_TICKET_REFUSED);
				assert_string_equal(res.conflict, "illegal_transition");
				assert_string_equal(res.by, "");
				assert_int_equal(t.state, s);
				assert_int_equal(t.updated_ms, T0);
			} else {
				assert_int_equal(res.outcome, CL_TICKET_CHANGED);
				assert_int_equal(res.to, spec[s][e]);
				assert_int_equal(t.state, spec[s][e]);
				assert_int_equal(t.updated_ms, T0 + 60000);
				assert_null(res.conflict);
			}
		}
	}
}

static void test_ticket_happy_path_records_who_and_when(void **state)
{
	struct cl_ticket t = ticket_in(NEW, "");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_CREATE, "anonymous", NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, NEW);
	cl_ticket_apply(&t, CL_TEV_NOTIFY, "system", NULL, T0, &res);
	assert_int_equal(t.state, NTF);
	cl_ticket_apply(&t, CL_TEV_ESCALATE, "system", NULL, T0 + 60000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, NTF);

	cl_ticket_apply(&t, CL_TEV_ACK, "anna", NULL, T0 + 90000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(res.from, NTF);
	assert_int_equal(res.to, ACK);
	assert_string_equal(t.acked_by, "anna");
	assert_int_equal(t.acked_ms, T0 + 90000);
	assert_string_equal(t.taken_by, "");

	cl_ticket_apply(&t, CL_TEV_TAKE, "anna", NULL, T0 + 120000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, TKN);
	assert_string_equal(t.taken_by, "anna");
	assert_int_equal(t.taken_ms, T0 + 120000);
	assert_string_equal(t.acked_by, "anna");
	assert_int_equal(t.acked_ms, T0 + 90000); /* the ack time is kept */

	cl_ticket_apply(&t, CL_TEV_NOTE, "anna", NULL, T0 + 130000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, TKN);

	cl_ticket_apply(&t, CL_TEV_RESOLVE, "anna", "handed_over:home_care", T0 + 150000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(res.to, CLS);
	assert_string_equal(t.closed_reason, "handed_over:home_care");
	assert_int_equal(t.closed_ms, T0 + 150000);
	assert_false(cl_ticket_is_open(&t));
}

static void test_ticket_take_without_ack_sets_acker(void **state)
{
	struct cl_ticket t = ticket_in(NTF, "");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_TAKE, "bo", NULL, T0 + 5000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, TKN);
	assert_string_equal(t.taken_by, "bo");
	assert_string_equal(t.acked_by, "bo");
	assert_int_equal(t.acked_ms, T0 + 5000);

	/* Taken straight from new (a worker's own report). */
	t = ticket_in(NEW, "");
	cl_ticket_apply(&t, CL_TEV_TAKE, "carl", NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, TKN);
	assert_string_equal(t.taken_by, "carl");
}

static void test_ticket_same_person_repeat_is_same(void **state)
{
	struct cl_ticket t = ticket_in(NTF, "");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_ACK, "anna", NULL, T0 + 1000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	cl_ticket_apply(&t, CL_TEV_ACK, "anna", NULL, T0 + 9000, &res);
	assert_int_equal(res.outcome, CL_TICKET_SAME);
	assert_int_equal(res.from, ACK);
	assert_int_equal(res.to, ACK);
	assert_null(res.conflict);
	assert_int_equal(t.acked_ms, T0 + 1000); /* the first ack counts */

	cl_ticket_apply(&t, CL_TEV_TAKE, "anna", NULL, T0 + 10000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	cl_ticket_apply(&t, CL_TEV_TAKE, "anna", NULL, T0 + 20000, &res);
	assert_int_equal(res.outcome, CL_TICKET_SAME);
	assert_int_equal(t.taken_ms, T0 + 10000);
	cl_ticket_apply(&t, CL_TEV_ACK, "anna", NULL, T0 + 30000, &res);
	assert_int_equal(res.outcome, CL_TICKET_SAME);
	assert_int_equal(t.state, TKN);
}

static void test_ticket_someone_else_is_refused_with_by(void **state)
{
	struct cl_ticket t = ticket_in(ACK, "anna");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_ACK, "bo", NULL, T0 + 1000, &res);
	assert_int_equal(res.outcome, CL_TICKET_REFUSED);
	assert_string_equal(res.conflict, "already_acknowledged");
	assert_string_equal(res.by, "anna");
	assert_int_equal(t.state, ACK);
	assert_string_equal(t.acked_by, "anna");

	/* Only the acker can hand an acknowledged ticket back. */
	cl_ticket_apply(&t, CL_TEV_DECLINE, "bo", NULL, T0 + 1000, &res);
	assert_int_equal(res.outcome, CL_TICKET_REFUSED);
	assert_string_equal(res.conflict, "already_acknowledged");
	assert_string_equal(res.by, "anna");

	t = ticket_in(TKN, "anna");
	const enum cl_ticket_event evs[] = {CL_TEV_ACK, CL_TEV_TAKE, CL_TEV_DECLINE};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		cl_ticket_apply(&t, evs[i], "bo", NULL, T0 + 1000, &res);
		assert_int_equal(res.outcome, CL_TICKET_REFUSED);
		assert_string_equal(res.conflict, "already_taken");
		assert_string_equal(res.by, "anna");
		assert_int_equal(t.state, TKN);
		assert_string_equal(t.taken_by, "anna");
	}
	/* Anyone on the team may close a taken case or add a note. */
	cl_ticket_apply(&t, CL_TEV_NOTE, "bo", NULL, T0 + 1000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	cl_ticket_apply(&t, CL_TEV_RESOLVE, "bo", "contact_not_achieved", T0 + 2000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, CLS);
}

static void test_ticket_take_over_an_ack(void **state)
{
	/* The worker who receives a report and the worker who takes the case
	 * are different fields (DOMAIN.md): bo may take what anna acked. */
	struct cl_ticket t = ticket_in(ACK, "anna");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_TAKE, "bo", NULL, T0 + 5000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(t.state, TKN);
	assert_string_equal(t.taken_by, "bo");
	assert_string_equal(t.acked_by, "anna");
}

static void test_ticket_closed_refuses_everything_but_notes(void **state)
{
	for (int e = 0; e < CL_TEV__COUNT; e++) {
		struct cl_ticket t = ticket_in(CLS, "anna");
		struct cl_ticket_result res;
		cl_ticket_apply(&t, (enum cl_ticket_event)e, "bo", "contact_refused", T0 + 1, &res);
		assert_int_equal(t.state, CLS);
		assert_string_equal(t.closed_reason, "contact_refused");
		assert_int_equal(t.closed_ms, T0 + 3000);
		if (e == CL_TEV_NOTE || e == CL_TEV_READ) {
			assert_int_equal(res.outcome, CL_TICKET_CHANGED);
			continue;
		}
		assert_int_equal(res.outcome, CL_TICKET_REFUSED);
		assert_string_equal(res.conflict, "closed");
	}
}

static void test_ticket_resolve_needs_a_valid_reason(void **state)
{
	static const char *const valid[] = {
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
	static const char *const invalid[] = {
	    "",
	    "done",
	    "handed_over:",
	    "handed_over",
	    "Contact_refused",
	    "contact_refused ",
	    "handed_over:police",
	    "closed",
	};
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		assert_true(cl_ticket_reason_valid(valid[i]));
		struct cl_ticket t = ticket_in(TKN, "anna");
		struct cl_ticket_result res;
		cl_ticket_apply(&t, CL_TEV_RESOLVE, "anna", valid[i], T0 + 1, &res);
		assert_int_equal(res.outcome, CL_TICKET_CHANGED);
		assert_string_equal(t.closed_reason, valid[i]);
	}
	assert_false(cl_ticket_reason_valid(NULL));
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		assert_false(cl_ticket_reason_valid(invalid[i]));
		struct cl_ticket t = ticket_in(NTF, "");
		struct cl_ticket_result res;
		cl_ticket_apply(&t, CL_TEV_RESOLVE, "anna", invalid[i], T0 + 1, &res);
		assert_int_equal(res.outcome, CL_TICKET_REFUSED);
		assert_string_equal(res.conflict, "invalid_reason");
		assert_int_equal(t.state, NTF);
		assert_string_equal(t.closed_reason, "");
	}
	struct cl_ticket t = ticket_in(ACK, "anna");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_RESOLVE, "anna", NULL, T0 + 1, &res);
	assert_int_equal(res.outcome, CL_TICKET_REFUSED);
	assert_string_equal(res.conflict, "invalid_reason");
}

static void test_ticket_decline_by_acker_returns_to_notifying(void **state)
{
	struct cl_ticket t = ticket_in(ACK, "anna");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_DECLINE, "anna", NULL, T0 + 5000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(res.from, ACK);
	assert_int_equal(res.to, NTF);
	assert_int_equal(t.state, NTF);
	assert_string_equal(t.acked_by, "");
	assert_int_equal(t.acked_ms, 0);

	/* Now someone else may acknowledge it. */
	cl_ticket_apply(&t, CL_TEV_ACK, "bo", NULL, T0 + 6000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_string_equal(t.acked_by, "bo");

	/* A decline while notifying keeps notifying (escalate now). */
	t = ticket_in(NTF, "");
	cl_ticket_apply(&t, CL_TEV_DECLINE, "carl", NULL, T0 + 5000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(res.to, NTF);
}

static void test_ticket_ack_timeout_returns_to_notifying(void **state)
{
	struct cl_ticket t = ticket_in(ACK, "anna");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, CL_TEV_ACK_TIMEOUT, "system", NULL, T0 + 1800000, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(res.from, ACK);
	assert_int_equal(res.to, NTF);
	assert_string_equal(t.acked_by, "");
	assert_int_equal(t.acked_ms, 0);
	assert_int_equal(t.updated_ms, T0 + 1800000);

	/* Only an acknowledged ticket can time out. */
	const enum cl_ticket_state others[] = {NEW, NTF, TKN};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		t = ticket_in(others[i], "anna");
		cl_ticket_apply(&t, CL_TEV_ACK_TIMEOUT, "system", NULL, T0 + 1, &res);
		assert_int_equal(res.outcome, CL_TICKET_REFUSED);
		assert_string_equal(res.conflict, "illegal_transition");
		assert_int_equal(t.state, others[i]);
	}
}

static void test_ticket_garbage_input_does_not_crash(void **state)
{
	struct cl_ticket t = ticket_in(NTF, "");
	struct cl_ticket_result res;
	cl_ticket_apply(&t, (enum cl_ticket_event)99, "anna", NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_REFUSED);
	assert_string_equal(res.conflict, "illegal_transition");
	cl_ticket_apply(&t, (enum cl_ticket_event) - 3, "anna", NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_REFUSED);

	t.state = (enum cl_ticket_state)42;
	for (int e = 0; e < CL_TEV__COUNT; e++) {
		cl_ticket_apply(&t, (enum cl_ticket_event)e, "anna", "contact_refused", T0, &res);
		assert_int_equal(res.outcome, CL_TICKET_REFUSED);
		assert_int_equal(t.state, 42);
	}

	/* A NULL actor is nobody: it cannot match a holder. */
	t = ticket_in(ACK, "anna");
	cl_ticket_apply(&t, CL_TEV_ACK, NULL, NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_REFUSED);
	assert_string_equal(res.conflict, "already_acknowledged");
	t = ticket_in(NTF, "");
	cl_ticket_apply(&t, CL_TEV_ACK, NULL, NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_string_equal(t.acked_by, "");

	/* A long actor is cut to fit, never overflows. */
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	t = ticket_in(NTF, "");
	cl_ticket_apply(&t, CL_TEV_TAKE, longname, NULL, T0, &res);
	assert_int_equal(res.outcome, CL_TICKET_CHANGED);
	assert_int_equal(strlen(t.taken_by), CL_ID_MAX - 1);
}

static void test_ticket_names_round_trip(void **state)
{
	for (int s = 0; s < CL_TICKET_STATE__COUNT; s++) {
		enum cl_ticket_state back;
		assert_int_equal(
		    cl_ticket_state_parse(cl_ticket_state_name((enum cl_ticket_state)s), &back),
		    CL_OK);
		assert_int_equal(back, s);
	}
	assert_string_equal(cl_ticket_state_name(NTF), "notifying");
	assert_string_equal(cl_ticket_state_name(ACK), "acknowledged");
	assert_string_equal(cl_ticket_state_name((enum cl_ticket_state)77), "unknown");
	enum cl_ticket_state st;
	assert_int_equal(cl_ticket_state_parse("Notifying", &st), CL_ERR_INVALID);
	assert_string_equal(cl_ticket_event_name(CL_TEV_ACK_TIMEOUT), "ack_timeout");
	assert_string_equal(cl_ticket_event_name((enum cl_ticket_event)77), "unknown");
	for (int p = 0; p < CL_ESC_PHASE__COUNT; p++) {
		enum cl_esc_phase back;
		assert_int_equal(cl_esc_phase_parse(cl_esc_phase_name((enum cl_esc_phase)p), &back),
		                 CL_OK);
		assert_int_equal(back, p);
	}
	assert_string_equal(cl_ticket_kind_name(CL_TICKET_NAMED), "named");
	assert_string_equal(cl_ticket_kind_name(CL_TICKET_ANONYMOUS), "anonymous");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ticket_table_matches_spec),
	    cmocka_unit_test(test_ticket_apply_every_cell_by_holder),
	    cmocka_unit_test(test_ticket_happy_path_records_who_and_when),
	    cmocka_unit_test(test_ticket_take_without_ack_sets_acker),
	    cmocka_unit_test(test_ticket_same_person_repeat_is_same),
	    cmocka_unit_test(test_ticket_someone_else_is_refused_with_by),
	    cmocka_unit_test(test_ticket_take_over_an_ack),
	    cmocka_unit_test(test_ticket_closed_refuses_everything_but_notes),
	    cmocka_unit_test(test_ticket_resolve_needs_a_valid_reason),
	    cmocka_unit_test(test_ticket_decline_by_acker_returns_to_notifying),
	    cmocka_unit_test(test_ticket_ack_timeout_returns_to_notifying),
	    cmocka_unit_test(test_ticket_garbage_input_does_not_crash),
	    cmocka_unit_test(test_ticket_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
