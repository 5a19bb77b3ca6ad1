/*
 * tests/unit/call_test.c: the hotline call's state machine of core/call.c,
 * pure (no store, no clock). A call walks menu → record → consent → done;
 * the menu is said at most CL_CALL_MENU_MAX times and then goes on as "something
 * else"; an unanswered or garbled consent is "no"; a hang-up makes a ticket
 * only once a category was chosen; stale and duplicate callbacks change
 * nothing; EV_RECORDING never moves a call. Every outcome field is checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "careline/call.h"

/* --- helpers ----------------------------------------------------------------- */

/* The expected outcome, flag by flag. */
enum {
	CHANGED = 1,
	STALE = 2,
	REPROMPT = 4,
	TICKET = 8,
	KEEP = 16,
};

static void assert_outcome(const struct cl_call_outcome *o, int want)
{
	assert_int_equal(o->changed, (want & CHANGED) != 0);
	assert_int_equal(o->stale, (want & STALE) != 0);
	assert_int_equal(o->reprompt, (want & REPROMPT) != 0);
	assert_int_equal(o->make_ticket, (want & TICKET) != 0);
	assert_int_equal(o->keep_caller, (want & KEEP) != 0);
}

static struct cl_call new_call(void)
{
	struct cl_call c;
	cl_call_init(&c, "da");
	c.id = 41;
	snprintf(c.provider, sizeof(c.provider), "twilio");
	snprintf(c.key, sizeof(c.key), "CA0123456789abcdef");
	c.created_ms = c.updated_ms = 1000;
	return c;
}

/* Apply ev with digits (NULL: none); has_step names step when named. */
static struct cl_call_outcome apply_named(struct cl_call *c, enum cl_call_event ev, bool named,
                                          enum cl_call_step step, const char *digits)
{
	struct cl_call_input in;
	memset(&in, 0, sizeof(in));
	in.event = ev;
	in.has_step = named;
	in.step = step;
	if (digits)
		snprintf(in.digits, sizeof(in.digits), "%s", digits);
	struct cl_call_outcome o;
	memset(&o, 0xA5, sizeof(o)); /* apply must clear every field */
	cl_call_apply(c, &in, &o);
	return o;
}

/* A callback that names the step the call is in (the normal case). */
static struct cl_call_outcome apply_at(struct cl_call *c, enum cl_call_event ev, const char *digits)
{
	return apply_named(c, ev, true, c->step, digits);
}

/* A call brought to step s the regular way, having chosen category '4'. */
static struct cl_call call_at(enum cl_call_step s)
{
	struct cl_call c = new_call();
	if (s == CL_CALL_MENU)
		return c;
	apply_at(&c, CL_CALL_EV_DIGITS, "4");
	if (s == CL_CALL_RECORD)
		return c;
	apply_at(&c, CL_CALL_EV_RECORDED, NULL);
	if (s == CL_CALL_CONSENT)
		return c;
	apply_at(&c, CL_CALL_EV_DIGITS, "2");
	if (s == CL_CALL_DONE)
		return c;
	apply_at(&c, CL_CALL_EV_HANGUP, NULL);
	assert_int_equal(c.step, CL_CALL_ENDED);
	return c;
}

/* --- tests ------------------------------------------------------------------- */

static void test_call_init_starts_at_menu(void **state)
{
	struct cl_call c;
	memset(&c, 0x5A, sizeof(c));
	cl_call_init(&c, "en");
	assert_int_equal(c.step, CL_CALL_MENU);
	assert_string_equal(c.lang, "en");
	assert_false(c.has_category);
	assert_int_equal(c.tries, 0);
	assert_false(c.consent);
	assert_int_equal(c.ticket_id, 0);
	assert_int_equal(c.id, 0);
	assert_string_equal(c.provider, "");
	assert_string_equal(c.key, "");

	cl_call_init(&c, NULL);
	assert_string_equal(c.lang, "da");
	cl_call_init(&c, "");
	assert_string_equal(c.lang, "da");
}

static void test_call_happy_path_with_callback(void **state)
{
	struct cl_call c = new_call();
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, "3");
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_true(c.has_category);
	assert_int_equal(c.category, CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(c.tries, 0);

	o = apply_at(&c, CL_CALL_EV_RECORDED, NULL);
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_CONSENT);

	o = apply_at(&c, CL_CALL_EV_DIGITS, "1");
	assert_outcome(&o, CHANGED | TICKET | KEEP);
	assert_int_equal(c.step, CL_CALL_DONE);
	assert_true(c.consent);
	/* The rest of the call is what it was. */
	assert_int_equal(c.category, CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(c.id, 41);
	assert_string_equal(c.key, "CA0123456789abcdef");
	assert_string_equal(c.lang, "da");
	assert_int_equal(c.ticket_id, 0); /* the service sets it */
}

static void test_call_happy_path_without_callback(void **state)
{
	struct cl_call c = new_call();
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, "2");
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.category, CL_CAT_NOISE);
	o = apply_at(&c, CL_CALL_EV_RECORDED, NULL);
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_CONSENT);
	o = apply_at(&c, CL_CALL_EV_DIGITS, "2");
	assert_outcome(&o, CHANGED | TICKET);
	assert_int_equal(c.step, CL_CALL_DONE);
	assert_false(c.consent);
}

static void test_call_callbacks_without_step_name_work_too(void **state)
{
	/* 46elks and status callbacks need not name the step. */
	struct cl_call c = new_call();
	struct cl_call_outcome o = apply_named(&c, CL_CALL_EV_DIGITS, false, CL_CALL_MENU, "5");
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_int_equal(c.category, CL_CAT_OTHER);
	o = apply_named(&c, CL_CALL_EV_RECORDED, false, CL_CALL_MENU, NULL);
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_CONSENT);
	o = apply_named(&c, CL_CALL_EV_DIGITS, false, CL_CALL_MENU, "1");
	assert_outcome(&o, CHANGED | TICKET | KEEP);
	assert_int_equal(c.step, CL_CALL_DONE);
}

static void test_call_menu_digits_choose_category(void **state)
{
	const struct {
		const char *digit;
		enum cl_category cat;
	} cases[] = {
	    {"1", CL_CAT_NOT_SEEN}, {"2", CL_CAT_NOISE}, {"3", CL_CAT_THREATS_VIOLENCE},
	    {"4", CL_CAT_SQUALOR},  {"5", CL_CAT_OTHER},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cl_call c = new_call();
		struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, cases[i].digit);
		assert_outcome(&o, CHANGED);
		assert_int_equal(c.step, CL_CALL_RECORD);
		assert_true(c.has_category);
		assert_int_equal(c.category, cases[i].cat);
		assert_int_equal(c.tries, 0);
	}
}

static void test_call_menu_reprompts_twice_then_something_else(void **state)
{
	assert_int_equal(CL_CALL_MENU_MAX, 3);
	struct cl_call c = new_call();
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, "9");
	assert_outcome(&o, CHANGED | REPROMPT);
	assert_int_equal(c.step, CL_CALL_MENU);
	assert_int_equal(c.tries, 1);
	assert_false(c.has_category);

	o = apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
	assert_outcome(&o, CHANGED | REPROMPT);
	assert_int_equal(c.step, CL_CALL_MENU);
	assert_int_equal(c.tries, 2);
	assert_false(c.has_category);

	/* The third failure: no more menu, the call goes on as "something else". */
	o = apply_at(&c, CL_CALL_EV_DIGITS, "0");
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_true(c.has_category);
	assert_int_equal(c.category, CL_CAT_OTHER);
	assert_int_equal(c.tries, 0);

	/* Silence all three times: the same. */
	c = new_call();
	for (int i = 1; i < CL_CALL_MENU_MAX; i++) {
		o = apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
		assert_outcome(&o, CHANGED | REPROMPT);
		assert_int_equal(c.tries, i);
	}
	o = apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_int_equal(c.category, CL_CAT_OTHER);
}

static void test_call_menu_invalid_inputs(void **state)
{
	/* More than one digit, none, or keys that are no category. */
	const char *bad[] = {"12", "33", "", "0", "6", "9", "#", "*", "1#"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cl_call c = new_call();
		struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, bad[i]);
		if (!o.reprompt)
			fail_msg("menu input '%s' was taken", bad[i]);
		assert_outcome(&o, CHANGED | REPROMPT);
		assert_int_equal(c.step, CL_CALL_MENU);
		assert_int_equal(c.tries, 1);
		assert_false(c.has_category);
	}

	/* After a reprompt a good digit is taken and the tries start over. */
	struct cl_call c = new_call();
	apply_at(&c, CL_CALL_EV_DIGITS, "12");
	apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
	assert_int_equal(c.tries, 2);
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, "4");
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_int_equal(c.category, CL_CAT_SQUALOR);
	assert_int_equal(c.tries, 0);

	/* A recording callback at the menu is not an answer to it. */
	c = new_call();
	o = apply_at(&c, CL_CALL_EV_RECORDED, NULL);
	assert_outcome(&o, STALE);
	assert_int_equal(c.step, CL_CALL_MENU);
	assert_int_equal(c.tries, 0);
}

static void test_call_record_ends_with_any_callback(void **state)
{
	/* "#", the time limit or silence: the message is what it is. */
	const enum cl_call_event evs[] = {CL_CALL_EV_RECORDED, CL_CALL_EV_NOINPUT,
	                                  CL_CALL_EV_DIGITS};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		struct cl_call c = call_at(CL_CALL_RECORD);
		struct cl_call_outcome o = apply_at(&c, evs[i], "#");
		assert_outcome(&o, CHANGED);
		assert_int_equal(c.step, CL_CALL_CONSENT);
		assert_int_equal(c.category, CL_CAT_SQUALOR);
	}

	/* The caller hung up while recording: the ticket now, no consent asked. */
	struct cl_call c = call_at(CL_CALL_RECORD);
	struct cl_call_input in = {.event = CL_CALL_EV_RECORDED,
	                           .has_step = true,
	                           .step = CL_CALL_RECORD,
	                           .caller_hung_up = true};
	struct cl_call_outcome o;
	cl_call_apply(&c, &in, &o);
	assert_outcome(&o, CHANGED | TICKET);
	assert_int_equal(c.step, CL_CALL_ENDED);
	assert_false(c.consent);
}

static void test_call_consent_invalid_reprompts_once_then_no(void **state)
{
	struct cl_call c = call_at(CL_CALL_CONSENT);
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_DIGITS, "7");
	assert_outcome(&o, CHANGED | REPROMPT);
	assert_int_equal(c.step, CL_CALL_CONSENT);
	assert_int_equal(c.tries, 1);

	o = apply_at(&c, CL_CALL_EV_DIGITS, "11");
	assert_outcome(&o, CHANGED | TICKET);
	assert_int_equal(c.step, CL_CALL_DONE);
	assert_false(c.consent);

	/* One garbled answer, then "1": yes. */
	c = call_at(CL_CALL_CONSENT);
	o = apply_at(&c, CL_CALL_EV_DIGITS, "12");
	assert_outcome(&o, CHANGED | REPROMPT);
	o = apply_at(&c, CL_CALL_EV_DIGITS, "1");
	assert_outcome(&o, CHANGED | TICKET | KEEP);
	assert_true(c.consent);
	assert_int_equal(c.step, CL_CALL_DONE);

	/* A garbled answer, then silence: no. */
	c = call_at(CL_CALL_CONSENT);
	apply_at(&c, CL_CALL_EV_DIGITS, "*");
	o = apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
	assert_outcome(&o, CHANGED | TICKET);
	assert_false(c.consent);
}

static void test_call_consent_noinput_is_no(void **state)
{
	struct cl_call c = call_at(CL_CALL_CONSENT);
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
	assert_outcome(&o, CHANGED | TICKET);
	assert_int_equal(c.step, CL_CALL_DONE);
	assert_false(c.consent);
	assert_int_equal(c.tries, 0);

	/* A recording callback at consent answers nothing. */
	c = call_at(CL_CALL_CONSENT);
	o = apply_at(&c, CL_CALL_EV_RECORDED, NULL);
	assert_outcome(&o, STALE);
	assert_int_equal(c.step, CL_CALL_CONSENT);
}

static void test_call_hangup_by_step(void **state)
{
	const struct {
		enum cl_call_step from;
		bool ticket;
	} cases[] = {
	    {CL_CALL_MENU, false},   /* the greeting alone is no report */
	    {CL_CALL_RECORD, true},  /* a category chosen is enough */
	    {CL_CALL_CONSENT, true}, /* recorded, no answer to the callback question */
	    {CL_CALL_DONE, false},   /* the ticket is already made */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int named = 0; named < 2; named++) {
			struct cl_call c = call_at(cases[i].from);
			bool consent = c.consent;
			struct cl_call_outcome o =
			    apply_named(&c, CL_CALL_EV_HANGUP, named, cases[i].from, NULL);
			assert_outcome(&o, CHANGED | (cases[i].ticket ? TICKET : 0));
			assert_int_equal(c.step, CL_CALL_ENDED);
			assert_int_equal(c.tries, 0);
			assert_int_equal(c.consent, consent);
		}
	}

	/* A hang-up after menu reprompts: still no ticket. */
	struct cl_call c = new_call();
	apply_at(&c, CL_CALL_EV_DIGITS, "8");
	apply_at(&c, CL_CALL_EV_NOINPUT, NULL);
	struct cl_call_outcome o = apply_at(&c, CL_CALL_EV_HANGUP, NULL);
	assert_outcome(&o, CHANGED);
	assert_int_equal(c.step, CL_CALL_ENDED);
	assert_false(c.has_category);

	/* A hang-up after a garbled consent: the ticket, without the number. */
	c = call_at(CL_CALL_CONSENT);
	apply_at(&c, CL_CALL_EV_DIGITS, "9");
	o = apply_at(&c, CL_CALL_EV_HANGUP, NULL);
	assert_outcome(&o, CHANGED | TICKET);
	assert_false(c.consent);
}

/* Apply and check that nothing but the stale flag came of it. */
static void assert_stale(struct cl_call *c, enum cl_call_event ev, bool named,
                         enum cl_call_step step, const char *digits)
{
	struct cl_call before;
	memcpy(&before, c, sizeof(before));
	struct cl_call_outcome o = apply_named(c, ev, named, step, digits);
	if (!o.stale)
		fail_msg("event %d (step %s named=%d) at %s was not stale", ev,
		         cl_call_step_name(step), named, cl_call_step_name(before.step));
	assert_outcome(&o, STALE);
	assert_memory_equal(c, &before, sizeof(before));
}

static void test_call_stale_callbacks_change_nothing(void **state)
{
	const enum cl_call_event evs[] = {CL_CALL_EV_DIGITS, CL_CALL_EV_NOINPUT,
	                                  CL_CALL_EV_RECORDED, CL_CALL_EV_HANGUP};
	for (int s = CL_CALL_MENU; s <= CL_CALL_DONE; s++) {
		/* A callback for a step the call is not in (a retry of one passed,
		 * a late one): whatever it carries. */
		for (int other = CL_CALL_MENU; other <= CL_CALL_ENDED; other++) {
			if (other == s)
				continue;
			for (size_t e = 0; e < sizeof(evs) / sizeof(evs[0]); e++) {
				struct cl_call c = call_at((enum cl_call_step)s);
				c.tries = s == CL_CALL_MENU ? 1 : 0;
				assert_stale(&c, evs[e], true, (enum cl_call_step)other, "1");
			}
		}
		/* START for a call that exists: the provider's retry. */
		struct cl_call c = call_at((enum cl_call_step)s);
		assert_stale(&c, CL_CALL_EV_START, false, CL_CALL_MENU, NULL);
		assert_stale(&c, CL_CALL_EV_START, true, (enum cl_call_step)s, NULL);
	}

	/* Nothing moves an ended call. */
	struct cl_call c = call_at(CL_CALL_ENDED);
	for (size_t e = 0; e < sizeof(evs) / sizeof(evs[0]); e++) {
		assert_stale(&c, evs[e], false, CL_CALL_MENU, "1");
		assert_stale(&c, evs[e], true, CL_CALL_ENDED, "1");
	}
	assert_stale(&c, CL_CALL_EV_START, false, CL_CALL_MENU, NULL);
	/* A call that ended at the menu neither. */
	c = new_call();
	apply_at(&c, CL_CALL_EV_HANGUP, NULL);
	assert_stale(&c, CL_CALL_EV_DIGITS, true, CL_CALL_MENU, "3");
	assert_stale(&c, CL_CALL_EV_DIGITS, false, CL_CALL_MENU, "3");
	assert_false(c.has_category);

	/* Done: the ref is being read out; digits, silence and recordings there
	 * are answers to nothing. */
	c = call_at(CL_CALL_DONE);
	assert_stale(&c, CL_CALL_EV_DIGITS, true, CL_CALL_DONE, "1");
	assert_stale(&c, CL_CALL_EV_DIGITS, false, CL_CALL_DONE, "2");
	assert_stale(&c, CL_CALL_EV_NOINPUT, true, CL_CALL_DONE, NULL);
	assert_stale(&c, CL_CALL_EV_RECORDED, false, CL_CALL_DONE, NULL);
	/* A repeat of the consent answer that moved it. */
	assert_stale(&c, CL_CALL_EV_DIGITS, true, CL_CALL_CONSENT, "1");
	assert_false(c.consent);

	/* The duplicate of the digit that moved the call to record. */
	c = new_call();
	apply_at(&c, CL_CALL_EV_DIGITS, "3");
	assert_stale(&c, CL_CALL_EV_DIGITS, true, CL_CALL_MENU, "3");
	assert_stale(&c, CL_CALL_EV_DIGITS, true, CL_CALL_MENU, "1");
	assert_int_equal(c.category, CL_CAT_THREATS_VIOLENCE);
}

static void test_call_recording_event_never_moves(void **state)
{
	for (int s = CL_CALL_MENU; s <= CL_CALL_ENDED; s++) {
		for (int own = 0; own < 2; own++) {
			struct cl_call c = call_at((enum cl_call_step)s);
			c.tries = 1;
			struct cl_call before;
			memcpy(&before, &c, sizeof(before));
			/* Named with its own step or another: neither moves nor is stale. */
			enum cl_call_step step =
			    own ? (enum cl_call_step)s
			        : (enum cl_call_step)((s + 1) % CL_CALL_STEP__COUNT);
			struct cl_call_outcome o =
			    apply_named(&c, CL_CALL_EV_RECORDING, true, step, "1");
			assert_outcome(&o, 0);
			assert_memory_equal(&c, &before, sizeof(c));
			o = apply_named(&c, CL_CALL_EV_RECORDING, false, CL_CALL_MENU, NULL);
			assert_outcome(&o, 0);
			assert_memory_equal(&c, &before, sizeof(c));
		}
	}
}

static void test_call_step_names_round_trip(void **state)
{
	const char *want[CL_CALL_STEP__COUNT] = {"menu", "record", "consent", "done", "ended"};
	for (int s = 0; s < CL_CALL_STEP__COUNT; s++) {
		assert_string_equal(cl_call_step_name((enum cl_call_step)s), want[s]);
		enum cl_call_step back = CL_CALL_STEP__COUNT;
		assert_int_equal(cl_call_step_parse(want[s], &back), CL_OK);
		assert_int_equal(back, s);
	}
	assert_string_equal(cl_call_step_name(CL_CALL_STEP__COUNT), "?");
	assert_string_equal(cl_call_step_name((enum cl_call_step) - 1), "?");
	const char *bad[] = {"", "Menu", "menu ", "recording", "?"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum cl_call_step back = CL_CALL_DONE;
		assert_int_equal(cl_call_step_parse(bad[i], &back), CL_ERR_INVALID);
		assert_int_equal(back, CL_CALL_DONE);
	}
	enum cl_call_step back = CL_CALL_DONE;
	assert_int_equal(cl_call_step_parse(NULL, &back), CL_ERR_INVALID);
	assert_int_equal(back, CL_CALL_DONE);
}

static void test_call_menu_category(void **state)
{
	const enum cl_category want[] = {CL_CAT_NOT_SEEN, CL_CAT_NOISE, CL_CAT_THREATS_VIOLENCE,
	                                 CL_CAT_SQUALOR, CL_CAT_OTHER};
	for (int i = 0; i < 5; i++) {
		enum cl_category cat = CL_CAT_DANGER_TO_LIFE;
		assert_true(cl_call_menu_category((char)('1' + i), &cat));
		assert_int_equal(cat, want[i]);
	}
	const char bad[] = {'0', '6', '7', '8', '9', '#', '*', 'a', ' ', '\0'};
	for (size_t i = 0; i < sizeof(bad); i++) {
		enum cl_category cat = CL_CAT_DANGER_TO_LIFE;
		assert_false(cl_call_menu_category(bad[i], &cat));
		assert_int_equal(cat, CL_CAT_DANGER_TO_LIFE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_call_init_starts_at_menu),
	    cmocka_unit_test(test_call_happy_path_with_callback),
	    cmocka_unit_test(test_call_happy_path_without_callback),
	    cmocka_unit_test(test_call_callbacks_without_step_name_work_too),
	    cmocka_unit_test(test_call_menu_digits_choose_category),
	    cmocka_unit_test(test_call_menu_reprompts_twice_then_something_else),
	    cmocka_unit_test(test_call_menu_invalid_inputs),
	    cmocka_unit_test(test_call_record_ends_with_any_callback),
	    cmocka_unit_test(test_call_consent_invalid_reprompts_once_then_no),
	    cmocka_unit_test(test_call_consent_noinput_is_no),
	    cmocka_unit_test(test_call_hangup_by_step),
	    cmocka_unit_test(test_call_stale_callbacks_change_nothing),
	    cmocka_unit_test(test_call_recording_event_never_moves),
	    cmocka_unit_test(test_call_step_names_round_trip),
	    cmocka_unit_test(test_call_menu_category),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
