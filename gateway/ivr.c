/*
 * gateway/ivr.c owns the hotline channel: the webhooks under
 * /hooks/{provider}/voice (a call starting, each answer to a prompt, the
 * recording, the call's end, the prompt audio 46elks plays), what the caller
 * hears at each step of the call (texts "voice.*" in config/texts), and the
 * channel's lifetime (provider, prompts, the recording fetcher, alert calls,
 * the idle-call sweep). Every answer is given after the callback's job has
 * committed; the call's state is in the database, so a restart mid-call goes
 * on at the right step. The caller's number never reaches a log; it reaches
 * the core only with the consent answer, kept (encrypted) if they pressed 1.
 */
#include "ivr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "careline/texts.h"
#include "http_client.h"
#include "wav.h"

#define SWEEP_EVERY_MS  (60 * 1000)
#define MEMO_MAX        512
#define MEMO_TTL_MS     (2 * 3600 * 1000)
#define PROMPT_GAP_MS   150
#define DIGIT_TIMEOUT_S 8

/* --- what is said ----------------------------------------------------------- */

const char *gw_ivr_text(const struct gw_ivr *ivr, const char *lang, const char *key)
{
	char full[64];
	snprintf(full, sizeof(full), "voice.%s", key);
	return cl_texts_get(ivr->ctx->cfg->texts, lang, full);
}

static void add_piece(struct gw_ivr_say *say, const char *piece)
{
	if (say->n_pieces < GW_IVR_PIECES_MAX)
		snprintf(say->pieces[say->n_pieces++], sizeof(say->pieces[0]), "%s", piece);
}

void gw_ivr_say_add(const struct gw_ivr *ivr, struct gw_ivr_say *say, const char *lang,
                    const char *key, const struct gw_ivr_var *vars, size_t n_vars)
{
	const char *tpl = gw_ivr_text(ivr, lang, key);
	struct cl_text_var tv[8];
	size_t n = n_vars < 8 ? n_vars : 8;
	for (size_t i = 0; i < n; i++)
		tv[i] = (struct cl_text_var){vars[i].name, vars[i].text};
	char text[1024];
	cl_texts_render(tpl, tv, n, text, sizeof(text));
	size_t used = strlen(say->text);
	snprintf(say->text + used, sizeof(say->text) - used, "%s%s", used ? " " : "", text);

	/* The pieces config/prompts.sh cut the template into: KEY, or KEY_0,
	 * the first placeholder, KEY_1, ... */
	if (!strchr(tpl, '{')) {
		add_piece(say, key);
		return;
	}
	int part = 0;
	char piece[40];
	for (const char *p = tpl; *p;) {
		const char *open = strchr(p, '{');
		const char *close = open ? strchr(open, '}') : NULL;
		snprintf(piece, sizeof(piece), "%s_%d", key, part++);
		add_piece(say, piece);
		if (!open || !close)
			break;
		size_t nl = (size_t)(close - open - 1);
		for (size_t i = 0; i < n; i++)
			if (strlen(vars[i].name) == nl && strncmp(vars[i].name, open + 1, nl) == 0)
				for (size_t k = 0; k < vars[i].n_pieces; k++)
					add_piece(say, vars[i].pieces[k]);
		p = close + 1;
		if (!*p) {
			snprintf(piece, sizeof(piece), "%s_%d", key, part);
			add_piece(say, piece);
		}
	}
}

static void scene_init(struct gw_ivr *ivr, struct gw_ivr_scene *sc, const char *lang)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->lang, sizeof(sc->lang), "%s", lang[0] ? lang : "da");
	snprintf(sc->audio_base, sizeof(sc->audio_base), "%s/audio", ivr->base);
	snprintf(sc->recording_url, sizeof(sc->recording_url), "%s/recording", ivr->base);
}

void gw_ivr_scene_goodbye(struct gw_ivr *ivr, struct gw_ivr_scene *sc, const char *lang,
                          const char *key)
{
	scene_init(ivr, sc, lang);
	if (key)
		gw_ivr_say_add(ivr, &sc->say, sc->lang, key, NULL, 0);
	sc->input = GW_IVR_NONE;
}

void gw_ivr_reply_scene(struct gw_ivr *ivr, struct gw_request *req, struct gw_ivr_scene *sc)
{
	const char *ctype = "text/plain";
	char *body = ivr->prov->render(sc, &ctype);
	if (!body) {
		gw_http_reply_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	ivr->m.callbacks++;
	gw_http_reply_text(req, 200, body, ctype);
}

/* The ref "K7FQ2" as Twilio should say it ("K, 7, F, Q, 2") and as pieces. */
struct spelled {
	char text[48];
	char pieces[CL_REF_MAX][16];
	const char *ptr[CL_REF_MAX];
	size_t n;
};

static void spell(const char *ref, struct spelled *s)
{
	memset(s, 0, sizeof(*s));
	size_t len = 0;
	for (size_t i = 0; ref[i] && s->n < CL_REF_MAX; i++) {
		len += (size_t)snprintf(s->text + len, sizeof(s->text) - len, "%s%c", i ? ", " : "",
		                        ref[i]);
		snprintf(s->pieces[s->n], sizeof(s->pieces[0]), "char_%c", ref[i]);
		s->ptr[s->n] = s->pieces[s->n];
		s->n++;
	}
}

/* What the caller hears next, from where their call is now. */
static void call_scene(struct gw_ivr *ivr, const struct cl_call_answer *a, bool started,
                       struct gw_ivr_scene *sc)
{
	const struct cl_call *c = &a->call;
	scene_init(ivr, sc, c->lang);
	snprintf(sc->next_url, sizeof(sc->next_url), "%s/step?s=%s", ivr->base,
	         cl_call_step_name(c->step));
	snprintf(sc->noinput_url, sizeof(sc->noinput_url), "%s/step?s=%s&noinput=1", ivr->base,
	         cl_call_step_name(c->step));
	struct gw_ivr_say *say = &sc->say;
	if (a->outcome.reprompt)
		gw_ivr_say_add(ivr, say, sc->lang, "menu_invalid", NULL, 0);
	switch (c->step) {
	case CL_CALL_MENU:
		if (started)
			gw_ivr_say_add(ivr, say, sc->lang, "greeting", NULL, 0);
		gw_ivr_say_add(ivr, say, sc->lang, "menu", NULL, 0);
		sc->input = GW_IVR_DIGITS;
		sc->digits = 1;
		sc->timeout_s = DIGIT_TIMEOUT_S;
		break;
	case CL_CALL_RECORD:
		gw_ivr_say_add(ivr, say, sc->lang, "record", NULL, 0);
		sc->input = GW_IVR_RECORD;
		sc->record_max_s = ivr->ctx->cfg->voice.record_max_s;
		break;
	case CL_CALL_CONSENT:
		gw_ivr_say_add(ivr, say, sc->lang, "consent", NULL, 0);
		sc->input = GW_IVR_DIGITS;
		sc->digits = 1;
		sc->timeout_s = DIGIT_TIMEOUT_S;
		break;
	case CL_CALL_DONE: {
		if (c->consent)
			gw_ivr_say_add(ivr, say, sc->lang, "consent_yes", NULL, 0);
		struct spelled sp;
		spell(a->ref, &sp);
		struct gw_ivr_var v = {"ref", sp.text, sp.ptr, sp.n};
		gw_ivr_say_add(ivr, say, sc->lang, "ref", &v, 1);
		gw_ivr_say_add(ivr, say, sc->lang, "goodbye", NULL, 0);
		sc->input = GW_IVR_NONE;
		break;
	}
	case CL_CALL_ENDED:
	case CL_CALL_STEP__COUNT:
		sc->input = GW_IVR_NONE;
		break;
	}
}

/* --- the caller's number, in memory only (46elks) ------------------------------ */

static void memo_put(struct gw_ivr *ivr, const char *call_id, const char *number, int64_t now)
{
	if (!number[0])
		return;
	size_t slot = ivr->n_memo;
	for (size_t i = 0; i < ivr->n_memo; i++)
		if (now - ivr->memo[i].at_ms > MEMO_TTL_MS ||
		    strcmp(ivr->memo[i].call_id, call_id) == 0) {
			slot = i;
			break;
		}
	if (slot == ivr->n_memo) {
		if (ivr->n_memo == MEMO_MAX)
			slot = 0; /* full: the oldest slot is reused */
		else
			ivr->n_memo++;
	}
	snprintf(ivr->memo[slot].call_id, sizeof(ivr->memo[slot].call_id), "%s", call_id);
	snprintf(ivr->memo[slot].number, sizeof(ivr->memo[slot].number), "%s", number);
	ivr->memo[slot].at_ms = now;
}

/* The number for call_id (removed and wiped: used once). */
static void memo_take(struct gw_ivr *ivr, const char *call_id, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < ivr->n_memo; i++)
		if (strcmp(ivr->memo[i].call_id, call_id) == 0) {
			snprintf(out, len, "%s", ivr->memo[i].number);
			cl_crypto_wipe(&ivr->memo[i], sizeof(ivr->memo[i]));
			return;
		}
}

/* --- callbacks --------------------------------------------------------------- */

struct pending {
	struct gw_ivr *ivr;
	struct gw_request *req;
	bool started; /* the call's first request */
	bool quiet;   /* a status/recording callback: an empty answer */
};

static void on_call_done(void *ctx, const struct cl_call_answer *a)
{
	struct pending *p = ctx;
	struct gw_ivr *ivr = p->ivr;
	struct gw_ivr_scene sc;
	if (a->err == CL_OK) {
		if (p->started && a->outcome.changed)
			ivr->m.calls++;
		if (a->outcome.make_ticket && a->ref[0])
			ivr->m.tickets++;
		if (p->quiet) {
			gw_http_reply_text(p->req, 200, strdup(""), "text/plain");
			ivr->m.callbacks++;
		} else {
			call_scene(ivr, a, p->started, &sc);
			gw_ivr_reply_scene(ivr, p->req, &sc);
		}
		gw_ivr_fetch_kick(ivr);
	} else if (a->err == CL_ERR_NOTFOUND) {
		ivr->m.unknown_calls++;
		cl_warn("ivr.unknown_call", "provider=%s", ivr->prov->name);
		gw_ivr_scene_goodbye(ivr, &sc, ivr->ctx->cfg->lang, NULL);
		gw_ivr_reply_scene(ivr, p->req, &sc);
	} else {
		/* Not durable: the caller is told, not left hanging. */
		cl_warn("ivr.not_stored", "provider=%s err=%s", ivr->prov->name,
		        cl_errcode(a->err));
		gw_ivr_scene_goodbye(ivr, &sc, ivr->ctx->cfg->lang, "not_stored");
		gw_ivr_reply_scene(ivr, p->req, &sc);
	}
	gw_http_resume(p->req);
	free(p);
}

static bool english_number(const struct gw_ivr *ivr, const char *to)
{
	const char *list = ivr->ctx->cfg->voice.english_numbers;
	size_t n = strlen(to);
	for (const char *p = list; n && (p = strstr(p, to)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return true;
	return false;
}

static void submit(struct gw_ivr *ivr, struct gw_request *req, struct cl_call_request *r,
                   bool started, bool quiet)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p) {
		p->ivr = ivr;
		p->req = req;
		p->started = started;
		p->quiet = quiet;
	}
	if (!p || !(req->job = cl_service_submit_call(ivr->ctx->svc, r, on_call_done, p))) {
		free(p);
		cl_crypto_wipe(r->caller, sizeof(r->caller));
		gw_http_reply_error(req, 503, "busy", "try again", NULL);
		return;
	}
	cl_crypto_wipe(r->caller, sizeof(r->caller));
	gw_http_suspend(req);
}

static void request_init(struct gw_ivr *ivr, struct cl_call_request *r,
                         const struct gw_ivr_callback *cb)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->provider, sizeof(r->provider), "%s", ivr->prov->name);
	snprintf(r->key, sizeof(r->key), "%s", cb->call_id);
	if (cb->recording_url[0]) {
		snprintf(r->recording_id, sizeof(r->recording_id), "%s", cb->recording_id);
		snprintf(r->recording_url, sizeof(r->recording_url), "%s", cb->recording_url);
		r->recording_duration_s = cb->recording_duration_s;
	}
}

static void on_start(struct gw_ivr *ivr, struct gw_request *req, const struct gw_ivr_callback *cb)
{
	struct cl_call_request r;
	request_init(ivr, &r, cb);
	r.in.event = CL_CALL_EV_START;
	snprintf(r.lang, sizeof(r.lang), "%s",
	         english_number(ivr, cb->to) ? "en" : ivr->ctx->cfg->lang);
	/* Twilio repeats the number on every request: nothing to remember. */
	if (strcmp(ivr->prov->name, "46elks") == 0)
		memo_put(ivr, cb->call_id, cb->from, cl_clock_now(&cl_clock_system));
	submit(ivr, req, &r, true, false);
}

static void on_step(struct gw_ivr *ivr, struct gw_request *req, const struct gw_ivr_callback *cb)
{
	struct cl_call_request r;
	request_init(ivr, &r, cb);
	const char *s = gw_http_query(req, "s");
	const char *noinput = gw_http_query(req, "noinput");
	if (!s || cl_call_step_parse(s, &r.in.step) != CL_OK) {
		ivr->m.malformed++;
		gw_http_reply_error(req, 400, "invalid", "no such step", NULL);
		return;
	}
	r.in.has_step = true;
	bool none = (noinput && strcmp(noinput, "1") == 0) || cb->failed;
	if (r.in.step == CL_CALL_RECORD) {
		r.in.event =
		    none && !cb->recording_url[0] ? CL_CALL_EV_NOINPUT : CL_CALL_EV_RECORDED;
		r.in.caller_hung_up = cb->recording_hangup;
	} else if (!none && cb->has_digits) {
		r.in.event = CL_CALL_EV_DIGITS;
		snprintf(r.in.digits, sizeof(r.in.digits), "%.7s", cb->digits);
	} else {
		r.in.event = CL_CALL_EV_NOINPUT;
	}
	if (r.in.step == CL_CALL_CONSENT) {
		/* The number goes to the core with the answer; it keeps it only
		 * for a 1. Twilio sends it on every request, 46elks only at first. */
		if (cb->from[0])
			snprintf(r.caller, sizeof(r.caller), "%s", cb->from);
		else
			memo_take(ivr, cb->call_id, r.caller, sizeof(r.caller));
	}
	submit(ivr, req, &r, false, false);
}

static void on_recording(struct gw_ivr *ivr, struct gw_request *req,
                         const struct gw_ivr_callback *cb)
{
	/* Twilio reports failed or absent recordings too: nothing to fetch. */
	if (!cb->recording_url[0] ||
	    (strcmp(ivr->prov->name, "twilio") == 0 && strcmp(cb->status, "completed") != 0)) {
		gw_http_reply_text(req, 200, strdup(""), "text/plain");
		return;
	}
	struct cl_call_request r;
	request_init(ivr, &r, cb);
	r.in.event = CL_CALL_EV_RECORDING;
	r.recording_ready = true;
	submit(ivr, req, &r, false, true);
}

static void on_end(struct gw_ivr *ivr, struct gw_request *req, const struct gw_ivr_callback *cb)
{
	struct cl_call_request r;
	request_init(ivr, &r, cb);
	r.in.event = CL_CALL_EV_HANGUP;
	char number[32];
	memo_take(ivr, cb->call_id, number, sizeof(number));
	cl_crypto_wipe(number, sizeof(number));
	/* Twilio's status callback may also report a call still going. */
	const char *st = cb->status;
	if (strcmp(ivr->prov->name, "twilio") == 0 && st[0] && strcmp(st, "completed") != 0 &&
	    strcmp(st, "busy") != 0 && strcmp(st, "failed") != 0 && strcmp(st, "no-answer") != 0 &&
	    strcmp(st, "canceled") != 0) {
		gw_http_reply_text(req, 200, strdup(""), "text/plain");
		return;
	}
	submit(ivr, req, &r, false, true);
}

/* GET .../audio/<lang>/<piece>+<piece>....wav: the prompts 46elks plays. */
static void serve_audio(struct gw_ivr *ivr, struct gw_request *req, const char *rest)
{
	char lang[4], list[1024];
	const char *names[GW_IVR_PIECES_MAX * 2];
	size_t n = 0;
	const char *slash = strchr(rest, '/');
	size_t ll = slash ? (size_t)(slash - rest) : 0;
	size_t rl = slash ? strlen(slash + 1) : 0;
	if (!ivr->prompts || !slash || ll == 0 || ll >= sizeof(lang) || rl < 5 ||
	    rl >= sizeof(list) || strcmp(slash + 1 + rl - 4, ".wav") != 0) {
		gw_http_reply_error(req, 404, "not_found", "no such prompt", NULL);
		return;
	}
	memcpy(lang, rest, ll);
	lang[ll] = '\0';
	memcpy(list, slash + 1, rl - 4);
	list[rl - 4] = '\0';
	char *save = NULL;
	for (char *t = strtok_r(list, "+", &save); t && n < sizeof(names) / sizeof(names[0]);
	     t = strtok_r(NULL, "+", &save))
		names[n++] = t;
	unsigned char *wav = NULL;
	size_t len = 0;
	if (n == 0 ||
	    gw_prompts_render(ivr->prompts, lang, names, n, PROMPT_GAP_MS, &wav, &len) != 0) {
		gw_http_reply_error(req, 404, "not_found", "no such prompt", NULL);
		return;
	}
	gw_http_reply_bytes(req, 200, wav, len, "audio/wav");
}

static const char *header_of(void *ctx, const char *name)
{
	return gw_http_header(ctx, name);
}

bool gw_ivr_dispatch(struct gw_request *req)
{
	struct gw_ivr *ivr = req->http->ctx->ivr;
	if (!ivr || req->http->admin)
		return false;
	size_t plen = strlen(ivr->prefix);
	if (strncmp(req->url, ivr->prefix, plen) != 0 ||
	    (req->url[plen] != '\0' && req->url[plen] != '/'))
		return false;
	const char *rest = req->url + plen;
	if (strncmp(rest, "/audio/", 7) == 0) {
		if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
			gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
		else
			serve_audio(ivr, req, rest + 7);
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
	const struct gw_sms_provider *auth = gw_sms_provider_find(ivr->prov->name);
	if (!auth || auth->verify(&ivr->set, &in) != 0) {
		ivr->m.auth_failures++;
		cl_warn("ivr.auth_failed", "provider=%s", ivr->prov->name);
		gw_http_reply_error(req, 403, "forbidden",
		                    "the request is not signed by the provider", NULL);
		return true;
	}
	struct gw_ivr_callback cb;
	char err[64] = "";
	if (ivr->prov->parse(&in, &cb, err, sizeof(err)) != 0) {
		ivr->m.malformed++;
		cl_warn("ivr.malformed", "provider=%s reason=%s", ivr->prov->name, err);
		gw_http_reply_error(req, 400, "invalid", "not a call callback", NULL);
		return true;
	}
	if (strcmp(rest, "") == 0)
		on_start(ivr, req, &cb);
	else if (strcmp(rest, "/step") == 0)
		on_step(ivr, req, &cb);
	else if (strcmp(rest, "/recording") == 0)
		on_recording(ivr, req, &cb);
	else if (strcmp(rest, "/status") == 0 || strcmp(rest, "/hangup") == 0)
		on_end(ivr, req, &cb);
	else if (strncmp(rest, "/alert", 6) == 0)
		gw_ivr_alert_dispatch(ivr, req, rest + 6, &cb);
	else
		gw_http_reply_error(req, 404, "not_found", "no such route", NULL);
	cl_crypto_wipe(&cb, sizeof(cb));
	return true;
}

/* --- lifetime ---------------------------------------------------------------- */

static void on_sweep_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	if (err != CL_OK)
		cl_warn("ivr.sweep_failed", "err=%s", cl_errcode(err));
}

static void on_pass_end(void *ctx)
{
	struct gw_ivr *ivr = ctx;
	int64_t now = cl_clock_now(&cl_clock_system);
	gw_ivr_fetch_tick(ivr, now);
	if (now < ivr->next_sweep_ms)
		return;
	ivr->next_sweep_ms = now + SWEEP_EVERY_MS;
	struct cl_control c = {.kind = CL_CONTROL_CALLS_SWEEP};
	cl_service_submit_control(ivr->ctx->svc, &c, on_sweep_done, NULL);
}

static int64_t next_deadline(void *ctx)
{
	struct gw_ivr *ivr = ctx;
	int64_t fetch = gw_ivr_fetch_next(ivr);
	return fetch && fetch < ivr->next_sweep_ms ? fetch : ivr->next_sweep_ms;
}

const struct gw_ivr_metrics *gw_ivr_metrics(const struct gw_ivr *ivr)
{
	return &ivr->m;
}

enum cl_err gw_ivr_start(struct gw_ctx *ctx, struct gw_ivr **out)
{
	*out = NULL;
	const struct cl_voice_config *v = &ctx->cfg->voice;
	if (!v->provider[0])
		return CL_OK;
	struct gw_ivr *ivr = calloc(1, sizeof(*ivr));
	if (!ivr)
		return CL_ERR_NOMEM;
	ivr->ctx = ctx;
	ivr->prov = gw_ivr_provider_find(v->provider);
	struct gw_sms_settings *s = &ivr->set;
	snprintf(s->provider, sizeof(s->provider), "%s", v->provider);
	snprintf(s->public_url, sizeof(s->public_url), "%s", v->public_url);
	snprintf(s->api_base, sizeof(s->api_base), "%s", v->api_base);
	snprintf(s->account, sizeof(s->account), "%s", v->account);
	snprintf(s->secret, sizeof(s->secret), "%s", v->secret);
	snprintf(s->hook_path_secret, sizeof(s->hook_path_secret), "%s", v->hook_path_secret);
	snprintf(s->hook_user, sizeof(s->hook_user), "%s", v->hook_user);
	snprintf(s->hook_password, sizeof(s->hook_password), "%s", v->hook_password);
	snprintf(s->from, sizeof(s->from), "%s", v->from);
	if (strcmp(v->provider, "46elks") == 0)
		snprintf(ivr->prefix, sizeof(ivr->prefix), "/hooks/46elks/%s/voice",
		         v->hook_path_secret);
	else
		snprintf(ivr->prefix, sizeof(ivr->prefix), "/hooks/%s/voice", v->provider);
	snprintf(ivr->base, sizeof(ivr->base), "%s%s", v->public_url, ivr->prefix);
	ivr->memo = calloc(MEMO_MAX, sizeof(*ivr->memo));
	enum cl_err err = ivr->prov && ivr->memo ? CL_OK : CL_ERR_NOMEM;
	/* 46elks plays audio: without prompts the hotline would be silent. */
	if (err == CL_OK && strcmp(v->provider, "46elks") == 0 &&
	    gw_prompts_open(v->prompts_dir, &ivr->prompts) != 0) {
		cl_error("ivr.no_prompts", "dir=%s (run make prompts)", v->prompts_dir);
		err = CL_ERR_CONFIG;
	}
	if (err == CL_OK)
		err = gw_http_client_new(ctx->loop, &ivr->http);
	if (err == CL_OK)
		err = gw_ivr_fetch_start(ivr);
	if (err == CL_OK)
		err = gw_ivr_alert_start(ivr);
	if (err == CL_OK)
		err = cl_loop_add_hook(ctx->loop, on_pass_end, ivr);
	if (err == CL_OK)
		err = cl_loop_add_deadline(ctx->loop, next_deadline, ivr);
	if (err != CL_OK) {
		gw_ivr_stop(ivr);
		return err;
	}
	ivr->next_sweep_ms = cl_clock_now(&cl_clock_system) + SWEEP_EVERY_MS;
	cl_info("ivr.started", "provider=%s hooks=%s", v->provider,
	        strcmp(v->provider, "46elks") == 0 ? "/hooks/46elks/<secret>/voice" : ivr->prefix);
	*out = ivr;
	return CL_OK;
}

void gw_ivr_stop(struct gw_ivr *ivr)
{
	if (!ivr)
		return;
	gw_ivr_alert_stop(ivr);
	gw_ivr_fetch_stop(ivr);
	gw_http_client_free(ivr->http);
	gw_prompts_free(ivr->prompts);
	if (ivr->memo)
		cl_crypto_wipe(ivr->memo, MEMO_MAX * sizeof(*ivr->memo));
	free(ivr->memo);
	free(ivr);
}
