/*
 * gateway/ivr_alert.c owns alert calls: the sender of "voice" notifications
 * (a policy step with via=voice) asks the provider to call the on-call
 * worker (Twilio Calls API, 46elks /a1/calls) with an answer URL back to
 * careline; when the worker picks up careline says the alert ("ny
 * henvendelse, hastegrad akut, område Nord, tryk 1 for at kvittere, tryk 2
 * for at sende videre": urgency and area only, no personal data) and acts on
 * the digit as an acknowledgement or a decline of that notification,
 * idempotently, exactly like an SMS reply code. At most 3 calls per phone in
 * 15 minutes; the rest wait (the outbox retries them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "http_client.h"
#include "ivr.h"

#define CALL_TIMEOUT_MS 15000
#define BURST           3
#define BURST_WINDOW_MS (15 * 60 * 1000)
#define MAX_PHONES      256
#define MAX_INFLIGHT    64

struct phone_calls {
	char person[CL_ID_MAX];
	int64_t at[BURST]; /* the last calls, a ring */
	size_t n;
};

struct gw_ivr_alert {
	struct gw_ivr *ivr;
	struct phone_calls phones[MAX_PHONES];
	size_t n_phones;
	int64_t inflight[MAX_INFLIGHT]; /* notifications whose call request is out */
	size_t n_inflight;
};

struct placing {
	struct gw_ivr_alert *a;
	int64_t id;
};

static struct phone_calls *phone_of(struct gw_ivr_alert *a, const char *person)
{
	for (size_t i = 0; i < a->n_phones; i++)
		if (strcmp(a->phones[i].person, person) == 0)
			return &a->phones[i];
	if (a->n_phones == MAX_PHONES)
		return NULL;
	struct phone_calls *p = &a->phones[a->n_phones++];
	memset(p, 0, sizeof(*p));
	snprintf(p->person, sizeof(p->person), "%s", person);
	return p;
}

static void forget(struct gw_ivr_alert *a, int64_t id)
{
	for (size_t i = 0; i < a->n_inflight; i++)
		if (a->inflight[i] == id) {
			a->inflight[i] = a->inflight[--a->n_inflight];
			return;
		}
}

static void on_placed(void *ctx, long status, const char *body, size_t len, const char *curl_error)
{
	struct placing *p = ctx;
	struct gw_ivr *ivr = p->a->ivr;
	forget(p->a, p->id);
	struct gw_sms_result res;
	if (status)
		ivr->prov->parse_call(status, body, len, &res);
	else
		res = (struct gw_sms_result){.ok = false, .error = "transport"};
	struct cl_send_outcome o = {.delivered = res.ok,
	                            .permanent = res.permanent,
	                            .error = res.ok ? NULL : res.error,
	                            .provider_id = res.ok ? res.provider_id : NULL};
	if (res.ok) {
		ivr->m.alert_calls++;
		cl_info("ivr.alert_call", "notification=%lld", (long long)p->id);
	} else {
		ivr->m.alert_call_failures++;
		cl_warn("ivr.alert_call_failed", "notification=%lld error=%s permanent=%d",
		        (long long)p->id, res.error, res.permanent);
	}
	cl_service_send_outcome(ivr->ctx->svc, p->id, &o);
	free(p);
}

static enum cl_err send_voice(void *ctx, const struct cl_outgoing *out)
{
	struct gw_ivr_alert *a = ctx;
	struct gw_ivr *ivr = a->ivr;
	const struct cl_person *person = cl_config_person(ivr->ctx->cfg, out->n->person);
	if (!person || !person->phone[0])
		return CL_ERR_INVALID;
	for (size_t i = 0; i < a->n_inflight; i++)
		if (a->inflight[i] == out->n->id)
			return CL_OK; /* its call request is already out */
	int64_t now = cl_clock_now(&cl_clock_system);
	struct phone_calls *pc = phone_of(a, person->id);
	if (!pc || a->n_inflight == MAX_INFLIGHT)
		return CL_AGAIN;
	if (pc->n == BURST && now - pc->at[0] < BURST_WINDOW_MS)
		return CL_AGAIN; /* three calls in 15 minutes: the outbox tries later */
	char answer[GW_IVR_URL_MAX], end[GW_IVR_URL_MAX];
	snprintf(answer, sizeof(answer), "%s/alert?n=%lld", ivr->base, (long long)out->n->id);
	snprintf(end, sizeof(end), "%s/alert/end?n=%lld", ivr->base, (long long)out->n->id);
	struct gw_sms_request r;
	if (ivr->prov->build_call(&ivr->set, person->phone, answer, end,
	                          ivr->ctx->cfg->voice.ring_timeout_s, &r) != 0)
		return CL_ERR_INVALID;
	struct placing *p = calloc(1, sizeof(*p));
	enum cl_err err = p ? CL_OK : CL_ERR_NOMEM;
	if (err == CL_OK) {
		p->a = a;
		p->id = out->n->id;
		err = gw_http_client_post(ivr->http, r.url, r.content_type, r.body, r.user,
		                          r.password, CALL_TIMEOUT_MS, on_placed, p);
	}
	gw_sms_request_free(&r);
	if (err != CL_OK) {
		free(p);
		return CL_AGAIN;
	}
	a->inflight[a->n_inflight++] = out->n->id;
	if (pc->n == BURST)
		memmove(pc->at, pc->at + 1, (BURST - 1) * sizeof(pc->at[0]));
	else
		pc->n++;
	pc->at[pc->n - 1] = now;
	return CL_OK;
}

/* --- the call itself ----------------------------------------------------------- */

static const char *lang_of(const struct gw_ivr *ivr, const char *person)
{
	const struct cl_person *p = cl_config_person(ivr->ctx->cfg, person);
	return p && p->lang[0] ? p->lang : ivr->ctx->cfg->lang;
}

/* The notification behind ?n= and its ticket; false when either is unknown
 * or it is not an alert call. */
static bool lookup(struct gw_ivr *ivr, struct gw_request *req, struct cl_notification *n,
                   struct cl_ticket *t)
{
	const char *q = gw_http_query(req, "n");
	char *end = NULL;
	long long id = q ? strtoll(q, &end, 10) : 0;
	struct cl_store *store = cl_service_store(ivr->ctx->svc);
	return q && end && !*end && id > 0 && cl_store_notification_get(store, id, n) == CL_OK &&
	       strcmp(n->channel, "voice") == 0 &&
	       cl_store_ticket_get(store, n->ticket_id, t) == CL_OK;
}

static void area_piece(const char *id, char *out, size_t len)
{
	snprintf(out, len, "area_%s", id);
	for (char *c = out; *c; c++)
		if (*c == '-' || *c == '.')
			*c = '_';
}

static void alert_scene(struct gw_ivr *ivr, const struct cl_notification *n,
                        const struct cl_ticket *t, struct gw_ivr_scene *sc)
{
	const char *lang = lang_of(ivr, n->person);
	if (t->state != CL_TICKET_NOTIFYING) {
		gw_ivr_scene_goodbye(ivr, sc, lang,
		                     t->state == CL_TICKET_CLOSED ? "alert_closed" : "alert_taken");
		return;
	}
	gw_ivr_scene_goodbye(ivr, sc, lang, NULL);
	char ukey[16], apiece[64];
	snprintf(ukey, sizeof(ukey), "urgency_p%d", (int)t->urgency);
	const struct cl_area *area = cl_config_area(ivr->ctx->cfg, t->area);
	area_piece(t->area, apiece, sizeof(apiece));
	const char *upieces[] = {ukey}, *apieces[] = {apiece};
	struct gw_ivr_var vars[] = {
	    {"urgency", gw_ivr_text(ivr, lang, ukey), upieces, 1},
	    {"area", area ? area->name : t->area, apieces, 1},
	};
	gw_ivr_say_add(ivr, &sc->say, sc->lang, "alert", vars, 2);
	sc->input = GW_IVR_DIGITS;
	sc->digits = 1;
	sc->timeout_s = 10;
	snprintf(sc->next_url, sizeof(sc->next_url), "%s/alert/digits?n=%lld", ivr->base,
	         (long long)n->id);
	snprintf(sc->noinput_url, sizeof(sc->noinput_url), "%s/alert/digits?n=%lld&noinput=1",
	         ivr->base, (long long)n->id);
}

struct answering {
	struct gw_ivr *ivr;
	struct gw_request *req;
	char lang[4];
	enum cl_action_kind kind;
};

static void on_action_done(void *ctx, const struct cl_action_answer *ans)
{
	struct answering *p = ctx;
	const char *key = "alert_noinput";
	if (ans->err == CL_OK) {
		p->ivr->m.alert_answers++;
		key = p->kind == CL_ACTION_ACK ? "alert_acked" : "alert_declined";
	} else if (ans->conflict && strcmp(ans->conflict, "closed") == 0) {
		key = "alert_closed";
	} else if (ans->conflict && (strcmp(ans->conflict, "already_taken") == 0 ||
	                             strcmp(ans->conflict, "already_acknowledged") == 0)) {
		key = "alert_taken";
	} else if (ans->conflict && strcmp(ans->conflict, "already_escalated") == 0) {
		key = "alert_declined";
	} else if (ans->err == CL_AGAIN) {
		key = "not_stored";
	}
	cl_info("ivr.alert_answer", "ticket=%s action=%s result=%s", ans->ref,
	        cl_action_name(p->kind),
	        ans->err == CL_OK ? "ok"
	        : ans->conflict   ? ans->conflict
	                          : cl_errcode(ans->err));
	struct gw_ivr_scene sc;
	gw_ivr_scene_goodbye(p->ivr, &sc, p->lang, key);
	gw_ivr_reply_scene(p->ivr, p->req, &sc);
	gw_http_resume(p->req);
	free(p);
}

static void on_digits(struct gw_ivr *ivr, struct gw_request *req, const struct gw_ivr_callback *cb,
                      const struct cl_notification *n, const struct cl_ticket *t)
{
	const char *lang = lang_of(ivr, n->person);
	const char *noinput = gw_http_query(req, "noinput");
	bool none = (noinput && strcmp(noinput, "1") == 0) || cb->failed || !cb->has_digits;
	struct gw_ivr_scene sc;
	if (none || (strcmp(cb->digits, "1") != 0 && strcmp(cb->digits, "2") != 0)) {
		/* No answer: the escalation goes on by its deadline. */
		gw_ivr_scene_goodbye(ivr, &sc, lang, "alert_noinput");
		gw_ivr_reply_scene(ivr, req, &sc);
		return;
	}
	struct cl_action a;
	memset(&a, 0, sizeof(a));
	a.kind = strcmp(cb->digits, "1") == 0 ? CL_ACTION_ACK : CL_ACTION_DECLINE;
	snprintf(a.ref, sizeof(a.ref), "%s", t->ref);
	snprintf(a.actor, sizeof(a.actor), "%s", n->person);
	a.notification_id = n->id;
	struct answering *p = calloc(1, sizeof(*p));
	if (p) {
		p->ivr = ivr;
		p->req = req;
		p->kind = a.kind;
		snprintf(p->lang, sizeof(p->lang), "%s", lang);
	}
	if (!p || !(req->job = cl_service_submit_action(ivr->ctx->svc, &a, on_action_done, p))) {
		free(p);
		gw_ivr_scene_goodbye(ivr, &sc, lang, "not_stored");
		gw_ivr_reply_scene(ivr, req, &sc);
		return;
	}
	gw_http_suspend(req);
}

void gw_ivr_alert_dispatch(struct gw_ivr *ivr, struct gw_request *req, const char *rest,
                           const struct gw_ivr_callback *cb)
{
	if (strcmp(rest, "/end") == 0) {
		gw_http_reply_text(req, 200, strdup(""), "text/plain");
		return;
	}
	struct cl_notification n;
	struct cl_ticket t;
	struct gw_ivr_scene sc;
	if (!lookup(ivr, req, &n, &t)) {
		ivr->m.unknown_calls++;
		cl_warn("ivr.unknown_alert_call", "provider=%s", ivr->prov->name);
		gw_ivr_scene_goodbye(ivr, &sc, ivr->ctx->cfg->lang, NULL);
		gw_ivr_reply_scene(ivr, req, &sc);
		return;
	}
	if (strcmp(rest, "") == 0) {
		alert_scene(ivr, &n, &t, &sc);
		gw_ivr_reply_scene(ivr, req, &sc);
	} else if (strcmp(rest, "/digits") == 0) {
		on_digits(ivr, req, cb, &n, &t);
	} else {
		gw_http_reply_error(req, 404, "not_found", "no such route", NULL);
	}
}

enum cl_err gw_ivr_alert_start(struct gw_ivr *ivr)
{
	ivr->alert = calloc(1, sizeof(*ivr->alert));
	if (!ivr->alert)
		return CL_ERR_NOMEM;
	ivr->alert->ivr = ivr;
	struct cl_sender sender = {.channel = "voice", .send = send_voice, .ctx = ivr->alert};
	return cl_service_add_sender(ivr->ctx->svc, &sender);
}

void gw_ivr_alert_stop(struct gw_ivr *ivr)
{
	free(ivr->alert);
	ivr->alert = NULL;
}
