/*
 * include/careline/call.h: the hotline call as a state machine, pure (no
 * SQLite, no clock, no provider format). A call walks greeting and menu →
 * record → callback consent → reading out the ref; every provider callback
 * is one event. cl_call_apply moves a call and says what the service must do
 * (make the ticket, keep the caller's number); the gateway turns the step the
 * call is in into TwiML or 46elks actions. Duplicate and stale callbacks
 * (a provider retrying, a callback for a step already passed) change nothing
 * and get the current step again.
 */
#ifndef CARELINE_CALL_H
#define CARELINE_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/err.h"
#include "careline/report.h"

#define CL_CALL_KEY_MAX  96
#define CL_CALL_MENU_MAX 3 /* the menu is said at most this often, then "something else" */

enum cl_call_step {
	CL_CALL_MENU,    /* greeting said; waiting for the category digit */
	CL_CALL_RECORD,  /* recording the message */
	CL_CALL_CONSENT, /* may we call back? */
	CL_CALL_DONE,    /* ticket made; reading out the ref */
	CL_CALL_ENDED,   /* hung up or timed out */
	CL_CALL_STEP__COUNT
};
const char *cl_call_step_name(enum cl_call_step s);
enum cl_err cl_call_step_parse(const char *s, enum cl_call_step *out);

enum cl_call_event {
	CL_CALL_EV_START,     /* the provider's first request for a new call */
	CL_CALL_EV_DIGITS,    /* digits pressed at the step the callback names */
	CL_CALL_EV_NOINPUT,   /* the prompt ran out without input */
	CL_CALL_EV_RECORDED,  /* the recording ended (#, time limit, hang-up) */
	CL_CALL_EV_RECORDING, /* where the recording can be fetched (may come at any step) */
	CL_CALL_EV_HANGUP,    /* the call is over (status callback, or the idle sweep) */
};

/* The state of one call, as kept in the call table. */
struct cl_call {
	int64_t id;
	char provider[16];
	char key[CL_CALL_KEY_MAX]; /* CallSid / callid */
	enum cl_call_step step;
	char lang[4];
	bool has_category;
	enum cl_category category;
	int tries; /* failed inputs at the current step */
	bool consent;
	int64_t ticket_id; /* 0 until made */
	int64_t created_ms;
	int64_t updated_ms;
};

/* What a callback brings. */
struct cl_call_input {
	enum cl_call_event event;
	bool has_step;          /* the callback names the step it answers */
	enum cl_call_step step; /* ... this one */
	char digits[8];         /* EV_DIGITS */
	bool caller_hung_up;    /* EV_RECORDED: the caller hung up while recording */
};

/* What applying an event asks of the service. */
struct cl_call_outcome {
	bool changed;     /* the call moved (write it back) */
	bool stale;       /* a callback for a step the call is no longer in: nothing done */
	bool reprompt;    /* the input was not understood: say so, then the step again */
	bool make_ticket; /* make the call's ticket now */
	bool keep_caller; /* the caller pressed 1 for a callback: store the number */
};

/* A new call at the menu. */
void cl_call_init(struct cl_call *c, const char *lang);

/* The category a menu digit stands for ('1'..'5'); false for any other. */
bool cl_call_menu_category(char digit, enum cl_category *out);

/* Apply one event to c. Never fails: bad input is an outcome (reprompt). */
void cl_call_apply(struct cl_call *c, const struct cl_call_input *in, struct cl_call_outcome *out);

#endif
