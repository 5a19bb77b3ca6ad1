/*
 * gateway/sms.c owns the SMS channel: the provider webhooks under
 * /hooks/{provider}/ (inbound texts and delivery reports, verified by the
 * provider codec), what a text means (a report, a follow-up, STOP, HELP, or a
 * staff member's reply code like "12a"), the receipt sent back in the
 * webhook response (or over the REST API for GatewayAPI) so an anonymous
 * number is never stored, and the outbound sender of "sms" notifications
 * with per-phone rate limits and bundling. Provider formats are in
 * sms_{twilio,46elks,gatewayapi}.c; the core sees reports, actions and
 * keyed hashes only.
 */
#include "sms.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/fold.h"
#include "careline/log.h"
#include "careline/texts.h"
#include "http_client.h"
#include "http_internal.h"

#define SEND_TIMEOUT_MS    15000
#define MAX_LINE_ITEMS     32   /* notifications waiting for one staff phone */
#define MAX_SENDERS        4096 /* per-sender windows kept in memory */
#define MAX_REPLIES_QUEUED 2000 /* REST receipts (GatewayAPI) waiting to go out */

/* One notification waiting to be texted to a staff phone. */
struct line_item {
	int64_t id;
	bool update; /* "taken by" / "acknowledged by" rather than an alert */
	bool acked;  /* the update is an acknowledgement, not a take */
	char ref[CL_REF_MAX];
	char urgency[4];
	char area[64];
	char by[48];
	int code;
};

/* A staff member's phone: what waits, what is in flight, when we last sent. */
struct staff_line {
	struct gw_sms *sms;
	const struct cl_person *person;
	struct line_item items[MAX_LINE_ITEMS];
	size_t n_items;
	struct line_item flight[MAX_LINE_ITEMS]; /* in the request in flight */
	size_t n_flight;
	int64_t sent_at[CL_SMS_STAFF_BURST_MAX]; /* recent send times, a ring */
	size_t n_sent;
	int64_t next_try_ms; /* rate-limited until then; 0 = now */
};

/* Texts one sender (keyed hash) sent in the current window. */
struct sender_window {
	unsigned char hash[32];
	int64_t start_ms;
	int count;
};

struct gw_sms {
	struct gw_ctx *ctx;
	const struct gw_sms_provider *prov;
	struct gw_sms_settings set;
	struct gw_http_client *http;
	char prefix[128];     /* "/hooks/twilio" or "/hooks/46elks/{secret}" */
	char status_url[400]; /* where providers post delivery reports */
	struct staff_line *lines;
	size_t n_lines;
	struct sender_window *senders;
	size_t n_senders;
	struct gw_sms_metrics m;
};

/* --- small helpers --------------------------------------------------------- */

static const char *text_of(const struct gw_sms *sms, const char *lang, const char *key)
{
	return cl_texts_get(sms->ctx->cfg->texts, lang, key);
}

/* Render "sms.KEY" with {ref}, {by}, ... into a malloc'ed string. */
static char *render(const struct gw_sms *sms, const char *lang, const char *key,
                    const struct cl_text_var *vars, size_t n)
{
	char full[64], buf[640];
	snprintf(full, sizeof(full), "sms.%s", key);
	cl_texts_render(text_of(sms, lang, full), vars, n, buf, sizeof(buf));
	return strdup(buf);
}

static const char *display_name(const struct gw_sms *sms, const char *person)
{
	const struct cl_person *p = cl_config_person(sms->ctx->cfg, person);
	return p ? p->name : person;
}

static const char *lang_of(const struct gw_sms *sms, const struct cl_person *p)
{
	return p && p->lang[0] ? p->lang : sms->ctx->cfg->lang;
}

/* --- outbound: texts to staff --------------------------------------------- */

static struct staff_line *line_of(struct gw_sms *sms, const char *person)
{
	for (size_t i = 0; i < sms->n_lines; i++)
		if (strcmp(sms->lines[i].person->id, person) == 0)
			return &sms->lines[i];
	return NULL;
}

static bool holds(const struct line_item *v, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return true;
	return false;
}

/* May this phone get a text at now? If not, when. */
static int64_t allowed_at(const struct gw_sms *sms, const struct staff_line *l, int64_t now)
{
	const struct cl_sms_config *c = &sms->ctx->cfg->sms;
	size_t ring = sizeof(l->sent_at) / sizeof(l->sent_at[0]);
	int64_t at = now;
	if (l->n_sent) {
		int64_t last = l->sent_at[(l->n_sent - 1) % ring];
		if (last + c->staff_gap_ms > at)
			at = last + c->staff_gap_ms;
	}
	size_t burst = (size_t)c->staff_burst < ring ? (size_t)c->staff_burst : ring;
	if (l->n_sent >= burst) {
		/* The burst-th most recent send must have left the window. */
		int64_t oldest = l->sent_at[(l->n_sent - burst) % ring];
		if (oldest + c->staff_burst_window_ms > at)
			at = oldest + c->staff_burst_window_ms;
	}
	return at;
}

static char *compose(const struct gw_sms *sms, const struct staff_line *l,
                     const struct line_item *v, size_t n)
{
	const char *lang = lang_of(sms, l->person);
	char code[24];
	if (n == 1) {
		snprintf(code, sizeof(code), "%d", v->code);
		struct cl_text_var vars[] = {{"ref", v->ref},
		                             {"urgency", v->urgency},
		                             {"area", v->area},
		                             {"code", code},
		                             {"by", v->by}};
		return render(sms, lang,
		              v->update ? (v->acked ? "update_acked" : "update") : "alert", vars,
		              5);
	}
	char list[480] = "";
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		char item[128];
		snprintf(code, sizeof(code), "%d", v[i].code);
		struct cl_text_var vars[] = {{"ref", v[i].ref},
		                             {"urgency", v[i].urgency},
		                             {"area", v[i].area},
		                             {"code", code},
		                             {"by", v[i].by}};
		char key[32];
		snprintf(key, sizeof(key), "sms.%s",
		         v[i].update ? (v[i].acked ? "update_acked" : "update") : "alert_item");
		cl_texts_render(text_of(sms, lang, key), vars, 5, item, sizeof(item));
		int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", item);
		if (k < 0 || (size_t)k >= sizeof(list) - used)
			break;
		used += (size_t)k;
	}
	char count[24];
	snprintf(count, sizeof(count), "%zu", n);
	struct cl_text_var vars[] = {{"count", count}, {"list", list}};
	return render(sms, lang, "alert_bundle", vars, 2);
}

static void try_send(struct gw_sms *sms, struct staff_line *l, int64_t now);

static void on_sent(void *ctx, long status, const char *body, size_t len, const char *curl_error)
{
	struct staff_line *l = ctx;
	struct gw_sms *sms = l->sms;
	struct gw_sms_result res = {0};
	if (curl_error)
		snprintf(res.error, sizeof(res.error), "transport");
	else
		sms->prov->parse_send(status, body, len, &res);
	for (size_t i = 0; i < l->n_flight; i++) {
		struct cl_send_outcome o = {
		    .delivered = res.ok,
		    .permanent = !res.ok && res.permanent,
		    .error = res.ok ? NULL : res.error,
		    .provider_id = res.ok ? res.provider_id : NULL,
		};
		cl_service_send_outcome(sms->ctx->svc, l->flight[i].id, &o);
	}
	if (res.ok) {
		sms->m.sent++;
		if (l->n_flight > 1)
			sms->m.bundled += l->n_flight;
	} else if (res.permanent) {
		sms->m.refused++;
		cl_warn("sms.refused", "person=%s error=%s", l->person->id, res.error);
	} else {
		sms->m.send_failures++;
		cl_info("sms.send_failed", "person=%s status=%ld error=%s", l->person->id, status,
		        res.error);
	}
	/* A send the provider did not take reached no phone: it must not hold
	 * the retry back behind the phone's rate limit. It was the latest. */
	if (!res.ok && l->n_sent)
		l->n_sent--;
	l->n_flight = 0;
	try_send(sms, l, cl_clock_now(&cl_clock_system));
}

static void try_send(struct gw_sms *sms, struct staff_line *l, int64_t now)
{
	if (l->n_flight || !l->n_items) {
		/* on_sent comes back here when the flight lands. */
		l->next_try_ms = 0;
		return;
	}
	int64_t at = allowed_at(sms, l, now);
	if (at > now) {
		l->next_try_ms = at;
		return;
	}
	l->next_try_ms = 0;
	char *text = compose(sms, l, l->items, l->n_items);
	struct gw_sms_request req = {0};
	if (!text ||
	    sms->prov->build_send(&sms->set, l->person->phone, text, sms->status_url, &req) != 0) {
		free(text);
		gw_sms_request_free(&req);
		return;
	}
	free(text);
	memcpy(l->flight, l->items, l->n_items * sizeof(l->items[0]));
	l->n_flight = l->n_items;
	l->n_items = 0;
	enum cl_err err = gw_http_client_post(sms->http, req.url, req.content_type, req.body,
	                                      req.user, req.password, SEND_TIMEOUT_MS, on_sent, l);
	gw_sms_request_free(&req);
	if (err != CL_OK) {
		for (size_t i = 0; i < l->n_flight; i++) {
			struct cl_send_outcome o = {.error = "client"};
			cl_service_send_outcome(sms->ctx->svc, l->flight[i].id, &o);
		}
		l->n_flight = 0;
		return;
	}
	size_t ring = sizeof(l->sent_at) / sizeof(l->sent_at[0]);
	l->sent_at[l->n_sent % ring] = now;
	l->n_sent++;
}

/* The cl_sender for "sms" notifications. */
static enum cl_err send_sms(void *ctx, const struct cl_outgoing *out)
{
	struct gw_sms *sms = ctx;
	struct staff_line *l = line_of(sms, out->n->person);
	if (!l)
		return CL_ERR_INVALID; /* no phone configured any more */
	/* A retry of something already waiting or in flight: nothing to add. */
	if (holds(l->items, l->n_items, out->n->id) || holds(l->flight, l->n_flight, out->n->id))
		return CL_OK;
	if (l->n_items == MAX_LINE_ITEMS)
		return CL_AGAIN;
	struct line_item *it = &l->items[l->n_items++];
	memset(it, 0, sizeof(*it));
	it->id = out->n->id;
	it->update = strcmp(out->n->kind, "update") == 0;
	snprintf(it->ref, sizeof(it->ref), "%s", out->t->ref);
	snprintf(it->urgency, sizeof(it->urgency), "%s", cl_urgency_name(out->t->urgency));
	snprintf(it->area, sizeof(it->area), "%s", out->area_name);
	const char *by = out->t->taken_by[0] ? out->t->taken_by : out->t->acked_by;
	it->acked = !out->t->taken_by[0];
	snprintf(it->by, sizeof(it->by), "%s", by[0] ? display_name(sms, by) : "");
	it->code = out->n->reply_code;
	/* Sent at the end of the loop pass, so everything this commit released
	 * for the phone (the night's deferred tickets at opening) is one text. */
	if (!l->next_try_ms)
		l->next_try_ms = cl_clock_now(&cl_clock_system);
	return CL_OK;
}

/* A reply to a number that is not stored anywhere (GatewayAPI has no
 * webhook reply): a fire-and-forget REST send; the number lives only in
 * this request. */
static void on_reply_sent(void *ctx, long status, const char *body, size_t len,
                          const char *curl_error)
{
	if (curl_error || status < 200 || status >= 300)
		cl_info("sms.reply_failed", "status=%ld", status);
}

static void send_reply_rest(struct gw_sms *sms, const char *to, const char *text)
{
	/* Receipts are a courtesy: under a flood they must not pile up in
	 * memory behind the provider's connections. The report is stored. */
	if (gw_http_client_running(sms->http) >= MAX_REPLIES_QUEUED) {
		sms->m.replies_dropped++;
		return;
	}
	struct gw_sms_request req = {0};
	if (sms->prov->build_send(&sms->set, to, text, NULL, &req) == 0)
		gw_http_client_post(sms->http, req.url, req.content_type, req.body, req.user,
		                    req.password, SEND_TIMEOUT_MS, on_reply_sent, NULL);
	gw_sms_request_free(&req);
}

/* --- inbound ------------------------------------------------------------- */

/* The webhook request in flight while its job commits. */
struct pending {
	struct gw_sms *sms;
	struct gw_request *req;
	char to[32]; /* GatewayAPI replies only; never stored */
	char lang[4];
	bool quiet; /* opted out: no reply text */
	enum cl_action_kind action;
	char actor[CL_ID_MAX]; /* the staff member answering by SMS */
};

/* Answer the webhook, carrying reply (may be NULL) the provider's way. */
static void answer(struct gw_sms *sms, struct gw_request *req, const char *to, char *reply)
{
	if (reply && !sms->prov->reply_in_webhook) {
		send_reply_rest(sms, to, reply);
		free(reply);
		reply = NULL;
	}
	const char *ctype = "text/plain";
	char *body = sms->prov->webhook_reply(reply, &ctype);
	free(reply);
	gw_http_reply_text(req, 200, body ? body : strdup(""), ctype);
}

static void on_report_done(void *ctx, const struct cl_report_answer *a)
{
	struct pending *p = ctx;
	struct gw_sms *sms = p->sms;
	if (a->err == CL_OK) {
		sms->m.inbound++;
		char *reply = NULL;
		if (!p->quiet) {
			struct cl_text_var vars[] = {{"ref", a->ref}};
			const char *key = a->followup           ? "followup"
			                  : a->urgency == CL_P0 ? "receipt_p0"
			                                        : "receipt";
			reply = render(sms, p->lang, key, vars, 1);
		}
		/* A provider's retry gets the same answer, but GatewayAPI's reply
		 * is a new text: do not send it twice. */
		if (a->duplicate && !sms->prov->reply_in_webhook) {
			free(reply);
			reply = NULL;
		}
		answer(sms, p->req, p->to, reply);
	} else if (a->err == CL_ERR_AUTH) {
		sms->m.auth_failures++;
		cl_warn("sms.replayed", "provider=%s", sms->prov->name);
		gw_http_reply_error(p->req, 403, "stale", "timestamp outside the replay window",
		                    NULL);
	} else {
		gw_http_reply_error(p->req, 503, "not_durable", "not stored; send it again", NULL);
	}
	gw_http_resume(p->req);
	free(p);
}

static const char *action_reply_key(const struct cl_action_answer *a, enum cl_action_kind kind)
{
	if (a->err == CL_OK) {
		if (!a->changed)
			return kind == CL_ACTION_TAKE ? "take_ok" : "already_acknowledged";
		switch (kind) {
		case CL_ACTION_ACK:
			return "ack_ok";
		case CL_ACTION_TAKE:
			return "take_ok";
		case CL_ACTION_DECLINE:
			return "decline_ok";
		case CL_ACTION_RESOLVE:
			return "resolve_ok";
		case CL_ACTION_NOTE:
		case CL_ACTION__COUNT:
			return "note_ok";
		}
	}
	if (a->conflict) {
		if (strcmp(a->conflict, "already_taken") == 0)
			return "already_taken";
		if (strcmp(a->conflict, "already_acknowledged") == 0)
			return "already_acknowledged";
		if (strcmp(a->conflict, "already_escalated") == 0)
			return "already_escalated";
		if (strcmp(a->conflict, "closed") == 0)
			return "closed";
	}
	return a->err == CL_AGAIN ? "not_stored" : "unknown_code";
}

static void on_action_done(void *ctx, const struct cl_action_answer *a)
{
	struct pending *p = ctx;
	struct gw_sms *sms = p->sms;
	if (a->err == CL_OK)
		sms->m.commands++;
	/* A repeat that changed nothing ("already acknowledged by ...") comes
	 * without a holder: it is the one who answered. */
	const char *holder = a->by[0] ? a->by : a->err == CL_OK && !a->changed ? p->actor : "";
	const char *by = holder[0] ? display_name(sms, holder) : "";
	struct cl_text_var vars[] = {{"ref", a->ref}, {"by", by}};
	answer(sms, p->req, p->to, render(sms, p->lang, action_reply_key(a, p->action), vars, 2));
	gw_http_resume(p->req);
	free(p);
}

static void on_control_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct pending *p = ctx;
	if (err != CL_OK) {
		gw_http_reply_error(p->req, 503, "not_durable", "not stored; send it again", NULL);
	} else if (p->to[0] || p->sms->prov->reply_in_webhook) {
		/* STOP: the confirmation is the last text this number gets. */
		answer(p->sms, p->req, p->to, render(p->sms, p->lang, "stopped", NULL, 0));
	} else {
		gw_http_reply_text(p->req, 200, strdup(""), "text/plain");
	}
	gw_http_resume(p->req);
	free(p);
}

static void on_status_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct pending *p = ctx;
	if (err == CL_OK)
		p->sms->m.status_reports++;
	if (err == CL_OK)
		gw_http_reply_text(p->req, 200, strdup(""), "text/plain");
	else
		gw_http_reply_error(p->req, 503, "not_durable", "not stored; send it again", NULL);
	gw_http_resume(p->req);
	free(p);
}

static struct pending *pending_new(struct gw_sms *sms, struct gw_request *req, const char *to,
                                   const char *lang)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->sms = sms;
	p->req = req;
	snprintf(p->to, sizeof(p->to), "%s", sms->prov->reply_in_webhook ? "" : to);
	snprintf(p->lang, sizeof(p->lang), "%s", lang);
	return p;
}

/* "12a", "12 ok", "A", "ok", "12e", "12c", "12t" → code (0 = none) and action. */
static void command(struct gw_sms *sms, struct gw_request *req, const struct cl_person *person,
                    int code, enum cl_action_kind kind, const char *from)
{
	const char *lang = lang_of(sms, person);
	enum cl_err err = CL_OK;
	if (!code) {
		err = cl_service_sms_single_code(sms->ctx->svc, person->id, &code);
		if (err != CL_OK) {
			answer(sms, req, from,
			       render(sms, lang, err == CL_ERR_CONFLICT ? "choose_code" : "no_open",
			              NULL, 0));
			return;
		}
	}
	struct cl_action a = {.kind = kind};
	err = cl_service_sms_code(sms->ctx->svc, person->id, code, a.ref, &a.notification_id);
	if (err != CL_OK) {
		answer(sms, req, from, render(sms, lang, "unknown_code", NULL, 0));
		return;
	}
	snprintf(a.actor, sizeof(a.actor), "%s", person->id);
	if (kind == CL_ACTION_RESOLVE)
		snprintf(a.reason, sizeof(a.reason), "%s", sms->ctx->cfg->sms.resolve_reason);
	/* Take and resolve are not tied to the alert's step. */
	if (kind == CL_ACTION_TAKE || kind == CL_ACTION_RESOLVE)
		a.notification_id = 0;
	struct pending *p = pending_new(sms, req, from, lang);
	if (!p || !(req->job = cl_service_submit_action(sms->ctx->svc, &a, on_action_done, p))) {
		free(p);
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	p->action = kind;
	snprintf(p->actor, sizeof(p->actor), "%s", person->id);
	gw_http_suspend(req);
}

/* Per-sender limit: true when this text may become a report. A sender's
 * keyed hash is kept in memory only while its window runs: windows that are
 * over are wiped as the table is walked. */
static bool within_rate(struct gw_sms *sms, const unsigned char hash[32], int64_t now)
{
	const struct cl_sms_config *c = &sms->ctx->cfg->sms;
	struct sender_window *w = NULL, *oldest = NULL;
	for (size_t i = 0; i < sms->n_senders;) {
		struct sender_window *x = &sms->senders[i];
		if (now - x->start_ms > c->sender_window_ms) {
			*x = sms->senders[--sms->n_senders];
			cl_crypto_wipe(&sms->senders[sms->n_senders],
			               sizeof(sms->senders[sms->n_senders]));
			continue;
		}
		if (memcmp(x->hash, hash, 32) == 0) {
			w = x;
			break;
		}
		if (!oldest || x->start_ms < oldest->start_ms)
			oldest = x;
		i++;
	}
	if (!w) {
		w = sms->n_senders < MAX_SENDERS ? &sms->senders[sms->n_senders++] : oldest;
		memcpy(w->hash, hash, 32);
		w->start_ms = now;
		w->count = 0;
	}
	if (now - w->start_ms > c->sender_window_ms) {
		w->start_ms = now;
		w->count = 0;
	}
	return ++w->count <= c->sender_max;
}

static void inbound(struct gw_sms *sms, struct gw_request *req, const struct gw_http_in *in)
{
	struct gw_sms_inbound msg = {0};
	char err[128];
	if (sms->prov->parse_inbound(in, &msg, err, sizeof(err)) != 0) {
		gw_sms_inbound_free(&msg);
		gw_http_reply_error(req, 400, "malformed", err, NULL);
		return;
	}
	const char *text = msg.text ? msg.text : "";
	char folded[64];
	cl_fold(text, folded, sizeof(folded));
	char first[32];
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(folded, " "), folded);
	const struct cl_sms_config *c = &sms->ctx->cfg->sms;
	const struct cl_person *person = cl_service_person_by_phone(sms->ctx->svc, msg.from);
	unsigned char hash[32];
	cl_service_phone_hash(sms->ctx->svc, msg.from, hash);
	const char *lang = lang_of(sms, person);
	int code;
	enum cl_action_kind kind;

	if (gw_sms_word_in(first, c->keywords_stop) && strlen(folded) == strlen(first)) {
		struct cl_control ctl = {.kind = CL_CONTROL_OPTOUT};
		memcpy(ctl.hash, hash, sizeof(hash));
		struct pending *p = pending_new(sms, req, msg.from, lang);
		if (person && p) {
			/* A staff number that says STOP gets no more alerts either. */
			struct cl_control block = {.kind = CL_CONTROL_BLOCK_CONTACT};
			snprintf(block.person, sizeof(block.person), "%s", person->id);
			snprintf(block.channel, sizeof(block.channel), "sms");
			snprintf(block.error, sizeof(block.error), "stop");
			cl_service_submit_control(sms->ctx->svc, &block, NULL, NULL);
		}
		if (!p || !(req->job = cl_service_submit_control(sms->ctx->svc, &ctl,
		                                                 on_control_done, p))) {
			free(p);
			gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		} else {
			gw_http_suspend(req);
		}
	} else if (gw_sms_word_in(first, c->keywords_help) && strlen(folded) == strlen(first)) {
		answer(sms, req, msg.from,
		       render(sms, lang, person ? "staff_help" : "help", NULL, 0));
	} else if (person && gw_sms_parse_reply(folded, &code, &kind)) {
		command(sms, req, person, code, kind, msg.from);
	} else if (!within_rate(sms, hash, cl_clock_now(&cl_clock_system))) {
		sms->m.rate_limited++;
		cl_warn("sms.rate_limited", "provider=%s", sms->prov->name);
		answer(sms, req, msg.from, NULL);
	} else {
		struct cl_report r;
		cl_report_init(&r);
		r.via = CL_CHANNEL_SMS;
		snprintf(r.idem_ns, sizeof(r.idem_ns), "%s", sms->prov->name);
		snprintf(r.key, sizeof(r.key), "%s", msg.id);
		r.text = msg.text;
		msg.text = NULL;
		r.anonymous = !person || gw_sms_word_in(first, c->keywords_anonymous);
		if (!r.anonymous) {
			r.reporter_person = strdup(person->id);
			r.reporter_role = strdup(person->role);
		}
		/* A registered reporter who writes ANONYM must not be linked to
		 * that report by their number's hash, nor joined to their named
		 * ticket: no follow-up session for them. */
		r.has_sender_hash = !(person && r.anonymous);
		memcpy(r.sender_hash, hash, sizeof(hash));
		r.sent_ms = msg.sent_ms;
		struct pending *p = pending_new(sms, req, msg.from, lang);
		if (p)
			p->quiet = cl_service_sms_opted_out(sms->ctx->svc, hash);
		if (!p ||
		    !(req->job = cl_service_submit_report(sms->ctx->svc, &r, on_report_done, p))) {
			free(p);
			gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		} else {
			gw_http_suspend(req);
		}
	}
	/* The number leaves memory with the request. */
	memset(msg.from, 0, sizeof(msg.from));
	gw_sms_inbound_free(&msg);
}

static void status(struct gw_sms *sms, struct gw_request *req, const struct gw_http_in *in)
{
	struct gw_sms_status st;
	char err[128];
	if (sms->prov->parse_status(in, &st, err, sizeof(err)) != 0) {
		gw_http_reply_error(req, 400, "malformed", err, NULL);
		return;
	}
	struct cl_control ctl = {.kind = CL_CONTROL_DELIVERY};
	snprintf(ctl.channel, sizeof(ctl.channel), "sms");
	snprintf(ctl.provider_id, sizeof(ctl.provider_id), "%s", st.id);
	snprintf(ctl.delivery, sizeof(ctl.delivery), "%s", gw_sms_delivery_name(st.state));
	snprintf(ctl.error, sizeof(ctl.error), "%s", st.error);
	struct pending *p = pending_new(sms, req, "", "da");
	if (!p || !(req->job = cl_service_submit_control(sms->ctx->svc, &ctl, on_status_done, p))) {
		free(p);
		gw_http_reply_error(req, 503, "not_durable", "out of memory", NULL);
		return;
	}
	gw_http_suspend(req);
}

static const char *header_of(void *ctx, const char *name)
{
	return gw_http_header(ctx, name);
}

bool gw_sms_dispatch(struct gw_request *req)
{
	if (strncmp(req->url, "/hooks/", 7) != 0)
		return false;
	struct gw_sms *sms = req->http->ctx->sms;
	size_t plen = sms ? strlen(sms->prefix) : 0;
	const char *rest = sms && strncmp(req->url, sms->prefix, plen) == 0 ? req->url + plen : "";
	bool is_sms = strcmp(rest, "/sms") == 0, is_status = strcmp(rest, "/status") == 0;
	/* A provider's routes exist only when it is configured. 46elks's carry
	 * the secret segment: a wrong one is an authentication failure (403,
	 * like a wrong password), whatever the segment says. */
	if (!sms || req->http->admin || (!is_sms && !is_status)) {
		if (sms && strncmp(req->url, "/hooks/46elks/", 14) == 0 &&
		    strcmp(sms->prov->name, "46elks") == 0) {
			sms->m.auth_failures++;
			cl_warn("sms.auth_failed", "provider=46elks reason=path");
			const char *slash = strchr(req->url + 14, '/');
			if (!req->http->admin && slash &&
			    (strcmp(slash, "/sms") == 0 || strcmp(slash, "/status") == 0)) {
				gw_http_reply_error(req, 403, "forbidden",
				                    "the request is not signed by the provider",
				                    NULL);
				return true;
			}
		}
		gw_http_reply_error(req, 404, "not_found", "no such route", NULL);
		return true;
	}
	if (strcmp(req->method, "POST") != 0) {
		gw_http_reply_error(req, 405, "method_not_allowed", "use POST", NULL);
		return true;
	}
	struct gw_http_in in = {
	    .path = req->url,
	    .query = req->has_query ? req->query : NULL,
	    .body = req->body ? req->body : "",
	    .body_len = req->len,
	    .content_type = gw_http_header(req, "Content-Type"),
	    .header = header_of,
	    .header_ctx = req,
	};
	if (sms->prov->verify(&sms->set, &in) != 0) {
		sms->m.auth_failures++;
		cl_warn("sms.auth_failed", "provider=%s hook=%s", sms->prov->name,
		        is_sms ? "sms" : "status");
		gw_http_reply_error(req, 403, "forbidden",
		                    "the request is not signed by the provider", NULL);
		return true;
	}
	if (is_sms)
		inbound(sms, req, &in);
	else
		status(sms, req, &in);
	return true;
}

/* --- loop hooks and lifetime -------------------------------------------------- */

static void on_pass_end(void *ctx)
{
	struct gw_sms *sms = ctx;
	int64_t now = cl_clock_now(&cl_clock_system);
	for (size_t i = 0; i < sms->n_lines; i++)
		if (sms->lines[i].next_try_ms && sms->lines[i].next_try_ms <= now)
			try_send(sms, &sms->lines[i], now);
}

static int64_t next_deadline(void *ctx)
{
	struct gw_sms *sms = ctx;
	int64_t next = 0;
	for (size_t i = 0; i < sms->n_lines; i++) {
		int64_t t = sms->lines[i].next_try_ms;
		if (t && (!next || t < next))
			next = t;
	}
	return next;
}

const struct gw_sms_metrics *gw_sms_metrics(const struct gw_sms *sms)
{
	return &sms->m;
}

enum cl_err gw_sms_start(struct gw_ctx *ctx, struct gw_sms **out)
{
	*out = NULL;
	const struct cl_sms_config *c = &ctx->cfg->sms;
	if (!c->provider[0])
		return CL_OK;
	struct gw_sms *sms = calloc(1, sizeof(*sms));
	if (!sms)
		return CL_ERR_NOMEM;
	sms->ctx = ctx;
	sms->prov = gw_sms_provider_find(c->provider);
	struct gw_sms_settings *s = &sms->set;
	snprintf(s->provider, sizeof(s->provider), "%s", c->provider);
	snprintf(s->public_url, sizeof(s->public_url), "%s", c->public_url);
	snprintf(s->api_base, sizeof(s->api_base), "%s", c->api_base);
	snprintf(s->account, sizeof(s->account), "%s", c->account);
	snprintf(s->secret, sizeof(s->secret), "%s", c->secret);
	snprintf(s->webhook_secret, sizeof(s->webhook_secret), "%s", c->webhook_secret);
	snprintf(s->hook_path_secret, sizeof(s->hook_path_secret), "%s", c->hook_path_secret);
	snprintf(s->hook_user, sizeof(s->hook_user), "%s", c->hook_user);
	snprintf(s->hook_password, sizeof(s->hook_password), "%s", c->hook_password);
	snprintf(s->from, sizeof(s->from), "%s", c->from);
	if (strcmp(c->provider, "46elks") == 0)
		snprintf(sms->prefix, sizeof(sms->prefix), "/hooks/46elks/%s", c->hook_path_secret);
	else
		snprintf(sms->prefix, sizeof(sms->prefix), "/hooks/%s", c->provider);
	snprintf(sms->status_url, sizeof(sms->status_url), "%s%s/status", c->public_url,
	         sms->prefix);
	size_t n = 0;
	for (size_t i = 0; i < ctx->cfg->n_persons; i++)
		n += ctx->cfg->persons[i].phone[0] != 0;
	sms->lines = calloc(n ? n : 1, sizeof(*sms->lines));
	sms->senders = calloc(MAX_SENDERS, sizeof(*sms->senders));
	enum cl_err err = sms->prov && sms->lines && sms->senders ? CL_OK : CL_ERR_NOMEM;
	for (size_t i = 0; err == CL_OK && i < ctx->cfg->n_persons; i++)
		if (ctx->cfg->persons[i].phone[0]) {
			sms->lines[sms->n_lines].sms = sms;
			sms->lines[sms->n_lines++].person = &ctx->cfg->persons[i];
		}
	if (err == CL_OK)
		err = gw_http_client_new(ctx->loop, &sms->http);
	struct cl_sender sender = {.channel = "sms", .send = send_sms, .ctx = sms};
	if (err == CL_OK)
		err = cl_service_add_sender(ctx->svc, &sender);
	if (err == CL_OK)
		err = cl_loop_add_hook(ctx->loop, on_pass_end, sms);
	if (err == CL_OK)
		err = cl_loop_add_deadline(ctx->loop, next_deadline, sms);
	if (err != CL_OK) {
		gw_sms_stop(sms);
		return err;
	}
	cl_info("sms.started", "provider=%s hooks=%s staff_phones=%zu", c->provider,
	        strcmp(c->provider, "46elks") == 0 ? "/hooks/46elks/<secret>" : sms->prefix,
	        sms->n_lines);
	*out = sms;
	return CL_OK;
}

void gw_sms_stop(struct gw_sms *sms)
{
	if (!sms)
		return;
	gw_http_client_free(sms->http);
	free(sms->lines);
	free(sms->senders);
	free(sms);
}
