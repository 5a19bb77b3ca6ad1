/*
 * core/calls.c applies the hotline inside the flush's transaction: one
 * provider callback moves its call (core/call.c decides how), notes where
 * the recording is, and makes the call's ticket as an anonymous IVR report
 * through intake (so it is routed, linked and escalated like any other).
 * Also the recording's life here (audio stored encrypted, failed attempts
 * retried with backoff, deletion at the provider noted, every read recorded
 * on the ticket) and the sweep that ends calls whose provider went quiet.
 * The caller's number is used only when they pressed 1 for a callback.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "service_internal.h"

/* Twilio says a recording is available in its status callback; one noted by
 * the Record action alone is first tried a little later. */
#define RECORDING_WAIT_MS   3000
#define RECORDING_RETRY_MS  5000
#define RECORDING_RETRY_CAP (10 * 60 * 1000)
/* Twilio keeps recordings until deleted, 46elks for 72 hours: stop before. */
#define RECORDING_GIVE_UP_MS (48 * 3600 * 1000LL)
#define SWEEP_BATCH          100

/* The call's ticket: an anonymous report of the chosen category, with no
 * words (the message is the recording). */
static enum cl_err make_ticket(struct cl_service *svc, struct cl_call *c,
                               const struct cl_call_request *r, bool keep_caller, int64_t now)
{
	struct cl_job tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.kind = JOB_REPORT;
	tmp.submitted_ms = now; /* the report's received_at */
	struct cl_report *rep = &tmp.report;
	cl_report_init(rep);
	rep->via = CL_CHANNEL_IVR;
	snprintf(rep->idem_ns, sizeof(rep->idem_ns), "ivr");
	/* The call id alone: providers' ids do not collide (CA..., c...). */
	snprintf(rep->key, sizeof(rep->key), "%.95s", c->key);
	rep->anonymous = true;
	rep->has_category_hint = c->has_category;
	rep->category_hint = c->has_category ? c->category : CL_CAT_OTHER;
	if (keep_caller && r && r->caller[0]) {
		rep->reporter_phone = strdup(r->caller);
		rep->consent_callback = true;
		if (!rep->reporter_phone) {
			cl_report_free(rep);
			return CL_ERR_NOMEM;
		}
	}
	intake_report(svc, &tmp, now);
	cl_report_free(rep);
	if (tmp.report_answer.err != CL_OK)
		return tmp.report_answer.err;
	struct cl_ticket t;
	enum cl_err err = cl_service_ticket(svc, tmp.report_answer.ref, &t);
	if (err != CL_OK)
		return err == CL_ERR_NOTFOUND ? CL_ERR_STORAGE : err;
	c->ticket_id = t.id;
	cl_info("call.ticket", "call=%" PRId64 " ticket=%s category=%s callback=%d", c->id, t.ref,
	        c->has_category ? cl_category_id(c->category) : "-",
	        keep_caller && r && r->caller[0]);
	return cl_store_recording_link(svc->store, c->id, t.id);
}

static void answer_ticket(struct cl_service *svc, const struct cl_call *c, struct cl_call_answer *a)
{
	struct cl_ticket t;
	if (c->ticket_id && cl_store_ticket_get(svc->store, c->ticket_id, &t) == CL_OK) {
		memcpy(a->ref, t.ref, sizeof(a->ref));
		a->urgency = t.urgency;
	}
}

/* Apply r to the stored call c. */
static enum cl_err call_event(struct cl_service *svc, struct cl_call *c,
                              const struct cl_call_request *r, struct cl_call_answer *a,
                              int64_t now)
{
	struct cl_call_outcome o;
	cl_call_apply(c, &r->in, &o);
	enum cl_err err = CL_OK;
	bool noted = false;
	if ((r->in.event == CL_CALL_EV_RECORDED || r->in.event == CL_CALL_EV_RECORDING) &&
	    r->recording_url[0]) {
		int64_t next = r->recording_ready ? now : now + RECORDING_WAIT_MS;
		err = cl_store_recording_put(svc->store, c->id, c->ticket_id, c->provider,
		                             r->recording_id, r->recording_url,
		                             r->recording_duration_s, next, now);
		noted = err == CL_OK;
	}
	if (err == CL_OK && o.make_ticket && c->ticket_id == 0)
		err = make_ticket(svc, c, r, o.keep_caller, now);
	if (err == CL_OK && (o.changed || noted)) {
		c->updated_ms = now;
		err = cl_store_call_update(svc->store, c);
	}
	if (err != CL_OK)
		return err;
	if (o.changed)
		cl_info("call.step", "call=%" PRId64 " step=%s tries=%d", c->id,
		        cl_call_step_name(c->step), c->tries);
	a->call = *c;
	a->outcome = o;
	answer_ticket(svc, c, a);
	return CL_OK;
}

void call_apply(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	const struct cl_call_request *r = &job->call;
	struct cl_call_answer *a = &job->call_answer;
	memset(a, 0, sizeof(*a));
	struct cl_call c;
	enum cl_err err = cl_store_call_get(svc->store, r->provider, r->key, &c);
	if (err == CL_ERR_NOTFOUND && r->in.event == CL_CALL_EV_START) {
		cl_call_init(&c, r->lang);
		snprintf(c.provider, sizeof(c.provider), "%s", r->provider);
		snprintf(c.key, sizeof(c.key), "%s", r->key);
		c.created_ms = c.updated_ms = now;
		err = cl_store_call_insert(svc->store, &c);
		if (err == CL_OK) {
			cl_info("call.start", "call=%" PRId64 " provider=%s lang=%s", c.id,
			        c.provider, c.lang);
			a->call = c;
			a->outcome.changed = true;
		}
		a->err = err;
		return;
	}
	if (err == CL_OK)
		err = call_event(svc, &c, r, a, now);
	a->err = err;
}

/* --- recordings ----------------------------------------------------------- */

static enum cl_err recording_stored(struct cl_service *svc, const struct cl_control *c, int64_t now)
{
	if (!c->data || c->data_len == 0)
		return CL_ERR_INVALID;
	size_t cap = c->data_len + CL_CRYPTO_OVERHEAD, len = 0;
	unsigned char *enc = malloc(cap);
	if (!enc)
		return CL_ERR_NOMEM;
	enum cl_err err = cl_crypto_seal_field(svc->crypto, "recording", c->recording_id, "audio",
	                                       c->data, c->data_len, enc, &len);
	if (err == CL_OK)
		err = cl_store_recording_stored(svc->store, c->recording_id, enc, len,
		                                (int64_t)c->data_len, now);
	free(enc);
	if (err == CL_OK)
		cl_info("recording.stored", "recording=%" PRId64 " bytes=%zu", c->recording_id,
		        c->data_len);
	return err;
}

static enum cl_err recording_failed(struct cl_service *svc, const struct cl_control *c, int64_t now)
{
	struct cl_recording r;
	unsigned char *audio = NULL;
	size_t audio_len = 0;
	enum cl_err err =
	    cl_store_recording_get(svc->store, c->recording_id, &r, &audio, &audio_len);
	free(audio);
	if (err != CL_OK)
		return err;
	int attempts = r.attempts + 1;
	int64_t delay = RECORDING_RETRY_MS;
	for (int i = 1; i < attempts && delay < RECORDING_RETRY_CAP; i++)
		delay *= 2;
	if (delay > RECORDING_RETRY_CAP)
		delay = RECORDING_RETRY_CAP;
	bool final = c->permanent || now - r.created_ms > RECORDING_GIVE_UP_MS;
	cl_warn(final ? "recording.failed" : "recording.retry",
	        "recording=%" PRId64 " state=%s attempts=%d error=%s", r.id,
	        cl_recording_state_name(r.state), attempts, c->error[0] ? c->error : "-");
	return cl_store_recording_retry(svc->store, r.id, attempts, now + delay, c->error, final);
}

/* A worker reads a recording: an event on its ticket, committed before the
 * audio is handed out. */
static enum cl_err recording_read(struct cl_service *svc, const struct cl_control *c, int64_t now)
{
	struct cl_recording r;
	unsigned char *audio = NULL;
	size_t audio_len = 0;
	enum cl_err err =
	    cl_store_recording_get(svc->store, c->recording_id, &r, &audio, &audio_len);
	free(audio);
	if (err != CL_OK)
		return err;
	struct cl_ticket t;
	if (!r.ticket_id || r.state != CL_REC_STORED ||
	    cl_store_ticket_get(svc->store, r.ticket_id, &t) != CL_OK)
		return CL_ERR_NOTFOUND;
	char detail[48];
	snprintf(detail, sizeof(detail), "recording=%" PRId64, r.id);
	err = escalate_record(svc, t.id, CL_TEV_READ, t.state, t.state,
	                      c->actor[0] ? c->actor : "-", detail, now);
	/* The ticket event is also the audit event (ticket.read, recording=<id>). */
	if (err == CL_OK)
		cl_info("recording.read", "ticket=%s recording=%" PRId64 " by=%s", t.ref, r.id,
		        c->actor[0] ? c->actor : "-");
	return err;
}

struct idle_calls {
	struct cl_call v[SWEEP_BATCH];
	size_t n;
};

static void collect_idle(void *ctx, const struct cl_call *c)
{
	struct idle_calls *l = ctx;
	if (l->n < SWEEP_BATCH)
		l->v[l->n++] = *c;
}

/* Calls whose provider has said nothing for idle_timeout are over: the
 * hang-up callback may never come (46elks numbers without whenhangup, a
 * lost request). Each ends as a hang-up would. */
static enum cl_err sweep_calls(struct cl_service *svc, int64_t now)
{
	struct idle_calls *l = calloc(1, sizeof(*l));
	if (!l)
		return CL_ERR_NOMEM;
	enum cl_err err = cl_store_calls_idle(svc->store, now - svc->cfg->voice.idle_timeout_ms,
	                                      SWEEP_BATCH, collect_idle, l);
	struct cl_call_request r;
	memset(&r, 0, sizeof(r));
	r.in.event = CL_CALL_EV_HANGUP;
	for (size_t i = 0; err == CL_OK && i < l->n; i++) {
		struct cl_call_answer a;
		memset(&a, 0, sizeof(a));
		cl_info("call.idle", "call=%" PRId64 " step=%s", l->v[i].id,
		        cl_call_step_name(l->v[i].step));
		err = call_event(svc, &l->v[i], &r, &a, now);
	}
	free(l);
	return err;
}

enum cl_err calls_control(struct cl_service *svc, const struct cl_control *c, int64_t now)
{
	switch (c->kind) {
	case CL_CONTROL_RECORDING_STORED:
		return recording_stored(svc, c, now);
	case CL_CONTROL_RECORDING_FAILED:
		return recording_failed(svc, c, now);
	case CL_CONTROL_RECORDING_DELETED:
		return cl_store_recording_remote_deleted(svc->store, c->recording_id);
	case CL_CONTROL_RECORDING_READ:
		return recording_read(svc, c, now);
	case CL_CONTROL_CALLS_SWEEP:
		return sweep_calls(svc, now);
	default:
		return CL_ERR_INVALID;
	}
}

/* --- reads ------------------------------------------------------------------ */

enum cl_err cl_service_recordings_work(struct cl_service *svc,
                                       void (*fn)(void *ctx, const struct cl_recording *r),
                                       void *ctx)
{
	return cl_store_recordings_work(svc->store, fn, ctx);
}

enum cl_err cl_service_recordings_of(struct cl_service *svc, const struct cl_ticket *t,
                                     void (*fn)(void *ctx, const struct cl_recording *r), void *ctx)
{
	return cl_store_recordings_of_ticket(svc->store, t->id, fn, ctx);
}

enum cl_err cl_service_recording_audio(struct cl_service *svc, const struct cl_ticket *t,
                                       int64_t recording_id, unsigned char **audio, size_t *len)
{
	*audio = NULL;
	*len = 0;
	struct cl_recording r;
	unsigned char *enc = NULL;
	size_t enc_len = 0;
	enum cl_err err = cl_store_recording_get(svc->store, recording_id, &r, &enc, &enc_len);
	if (err == CL_OK && (r.ticket_id != t->id || r.state != CL_REC_STORED || !enc ||
	                     enc_len <= CL_CRYPTO_OVERHEAD))
		err = CL_ERR_NOTFOUND;
	if (err != CL_OK) {
		free(enc);
		return err;
	}
	unsigned char *plain = malloc(enc_len - CL_CRYPTO_OVERHEAD + 1);
	if (!plain) {
		free(enc);
		return CL_ERR_NOMEM;
	}
	size_t plain_len = 0;
	err = cl_crypto_open_field(svc->crypto, "recording", r.id, "audio", enc, enc_len,
	                           (char *)plain, &plain_len);
	free(enc);
	if (err != CL_OK) {
		free(plain);
		return err;
	}
	*audio = plain;
	*len = plain_len;
	return CL_OK;
}
