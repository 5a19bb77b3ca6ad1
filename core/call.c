/*
 * core/call.c owns the hotline call's state machine (include/careline/call.h):
 * which event moves a call from which step to which, when the ticket is made
 * and when the caller's number may be kept. Pure: the service stores the
 * call, the gateway speaks it.
 *
 * A caller is never stuck: a menu that is not answered is said at most
 * CL_CALL_MENU_MAX times and then the call goes on as "something else"; an
 * unanswered consent question counts as "no"; a caller who hangs up after
 * choosing a category still gets a ticket made, one who hangs up in the
 * greeting does not.
 */
#include "careline/call.h"

#include <stdio.h>
#include <string.h>

#define CONSENT_TRIES 2

static const char *const step_names[CL_CALL_STEP__COUNT] = {
    [CL_CALL_MENU] = "menu", [CL_CALL_RECORD] = "record", [CL_CALL_CONSENT] = "consent",
    [CL_CALL_DONE] = "done", [CL_CALL_ENDED] = "ended",
};

const char *cl_call_step_name(enum cl_call_step s)
{
	return (unsigned)s < CL_CALL_STEP__COUNT ? step_names[s] : "?";
}

enum cl_err cl_call_step_parse(const char *s, enum cl_call_step *out)
{
	for (int i = 0; s && i < CL_CALL_STEP__COUNT; i++)
		if (strcmp(s, step_names[i]) == 0) {
			*out = (enum cl_call_step)i;
			return CL_OK;
		}
	return CL_ERR_INVALID;
}

void cl_call_init(struct cl_call *c, const char *lang)
{
	memset(c, 0, sizeof(*c));
	c->step = CL_CALL_MENU;
	snprintf(c->lang, sizeof(c->lang), "%s", lang && lang[0] ? lang : "da");
}

bool cl_call_menu_category(char digit, enum cl_category *out)
{
	switch (digit) {
	case '1':
		*out = CL_CAT_NOT_SEEN;
		return true;
	case '2':
		*out = CL_CAT_NOISE;
		return true;
	case '3':
		*out = CL_CAT_THREATS_VIOLENCE;
		return true;
	case '4':
		*out = CL_CAT_SQUALOR;
		return true;
	case '5':
		*out = CL_CAT_OTHER;
		return true;
	default:
		return false;
	}
}

static void move(struct cl_call *c, enum cl_call_step to, struct cl_call_outcome *out)
{
	c->step = to;
	c->tries = 0;
	out->changed = true;
}

/* The caller's message is over (or never came): ask about a callback, or,
 * when they have hung up, make the ticket as it stands. */
static void recorded(struct cl_call *c, bool hung_up, struct cl_call_outcome *out)
{
	if (hung_up) {
		out->make_ticket = true;
		move(c, CL_CALL_ENDED, out);
	} else {
		move(c, CL_CALL_CONSENT, out);
	}
}

static void at_menu(struct cl_call *c, const struct cl_call_input *in, struct cl_call_outcome *out)
{
	enum cl_category cat;
	if (in->event == CL_CALL_EV_DIGITS && strlen(in->digits) == 1 &&
	    cl_call_menu_category(in->digits[0], &cat)) {
		c->has_category = true;
		c->category = cat;
		move(c, CL_CALL_RECORD, out);
		return;
	}
	if (in->event != CL_CALL_EV_DIGITS && in->event != CL_CALL_EV_NOINPUT) {
		out->stale = true;
		return;
	}
	c->tries++;
	out->changed = true;
	if (c->tries >= CL_CALL_MENU_MAX) {
		c->has_category = true;
		c->category = CL_CAT_OTHER;
		move(c, CL_CALL_RECORD, out);
	} else {
		out->reprompt = true;
	}
}

static void at_consent(struct cl_call *c, const struct cl_call_input *in,
                       struct cl_call_outcome *out)
{
	bool yes = in->event == CL_CALL_EV_DIGITS && strcmp(in->digits, "1") == 0;
	bool no = in->event == CL_CALL_EV_NOINPUT ||
	          (in->event == CL_CALL_EV_DIGITS && strcmp(in->digits, "2") == 0);
	if (in->event != CL_CALL_EV_DIGITS && in->event != CL_CALL_EV_NOINPUT) {
		out->stale = true;
		return;
	}
	if (!yes && !no && ++c->tries < CONSENT_TRIES) {
		out->changed = true;
		out->reprompt = true;
		return;
	}
	c->consent = yes;
	out->keep_caller = yes;
	out->make_ticket = true;
	move(c, CL_CALL_DONE, out);
}

void cl_call_apply(struct cl_call *c, const struct cl_call_input *in, struct cl_call_outcome *out)
{
	memset(out, 0, sizeof(*out));
	if (in->event == CL_CALL_EV_RECORDING)
		return; /* where the audio is: the service keeps it, the step stays */
	if (c->step == CL_CALL_ENDED || in->event == CL_CALL_EV_START ||
	    (in->has_step && in->step != c->step)) {
		out->stale = true;
		return;
	}
	if (in->event == CL_CALL_EV_HANGUP) {
		/* A category chosen is enough for a ticket; the greeting alone is not. */
		out->make_ticket = c->step == CL_CALL_RECORD || c->step == CL_CALL_CONSENT;
		move(c, CL_CALL_ENDED, out);
		return;
	}
	switch (c->step) {
	case CL_CALL_MENU:
		at_menu(c, in, out);
		break;
	case CL_CALL_RECORD:
		/* "#", the time limit, silence: the message is what it is. */
		recorded(c, in->event == CL_CALL_EV_RECORDED && in->caller_hung_up, out);
		break;
	case CL_CALL_CONSENT:
		at_consent(c, in, out);
		break;
	case CL_CALL_DONE:
	case CL_CALL_ENDED:
	case CL_CALL_STEP__COUNT:
		out->stale = true;
		break;
	}
}
