/*
 * gateway/ivr_fetch.c owns getting recordings off the provider: each
 * recording the core lists as pending is fetched with libcurl (provider
 * credentials, only from the provider's API host), handed to the core to be
 * encrypted and stored, then deleted at the provider (Twilio; 46elks has no
 * deletion, its recordings expire). Failures go back to the core, which
 * schedules the next try with backoff; the list lives in the database, so a
 * restart picks up where it stopped. The ticket escalates meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "http_client.h"
#include "ivr.h"

#define MAX_INFLIGHT     4
#define FETCH_TIMEOUT_MS 60000
#define MAX_AUDIO        (64u * 1024 * 1024)

struct gw_ivr_fetch {
	struct gw_ivr *ivr;
	bool kick;       /* look at the list on the next pass */
	int64_t next_ms; /* the earliest retry not yet due; 0 none */
	int64_t inflight[MAX_INFLIGHT];
	size_t n_inflight;
};

/* One piece of work in flight: the recording and, once fetched, its audio
 * (owned here until the core has stored it). */
struct job {
	struct gw_ivr_fetch *f;
	int64_t id;
	char remote_id[96];
	unsigned char *audio;
	size_t len;
};

static bool in_flight(const struct gw_ivr_fetch *f, int64_t id)
{
	for (size_t i = 0; i < f->n_inflight; i++)
		if (f->inflight[i] == id)
			return true;
	return false;
}

static void finish(struct job *j)
{
	struct gw_ivr_fetch *f = j->f;
	for (size_t i = 0; i < f->n_inflight; i++)
		if (f->inflight[i] == j->id) {
			f->inflight[i] = f->inflight[--f->n_inflight];
			break;
		}
	f->kick = true;
	if (j->audio) {
		cl_crypto_wipe(j->audio, j->len);
		free(j->audio);
	}
	free(j);
}

static void on_control_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct job *j = ctx;
	struct gw_ivr *ivr = j->f->ivr;
	if (err != CL_OK)
		cl_warn("recording.update_failed", "recording=%lld err=%s", (long long)j->id,
		        cl_errcode(err));
	else if (c->kind == CL_CONTROL_RECORDING_STORED)
		ivr->m.recordings_stored++;
	else if (c->kind == CL_CONTROL_RECORDING_DELETED)
		ivr->m.recordings_deleted++;
	finish(j);
}

static void tell_core(struct job *j, enum cl_control_kind kind, const char *error, bool permanent)
{
	struct cl_control c = {.kind = kind, .recording_id = j->id, .permanent = permanent};
	if (error)
		snprintf(c.error, sizeof(c.error), "%s", error);
	if (kind == CL_CONTROL_RECORDING_STORED) {
		c.data = j->audio;
		c.data_len = j->len;
	}
	if (kind == CL_CONTROL_RECORDING_FAILED)
		j->f->ivr->m.recording_failures++;
	if (!cl_service_submit_control(j->f->ivr->ctx->svc, &c, on_control_done, j))
		finish(j);
}

static bool is_wav(const char *b, size_t len)
{
	return len > 44 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0;
}

static void on_fetched(void *ctx, long status, const char *body, size_t len, const char *curl_error)
{
	struct job *j = ctx;
	char error[32];
	if (status == 200 && is_wav(body, len)) {
		j->audio = malloc(len);
		if (j->audio) {
			memcpy(j->audio, body, len);
			j->len = len;
			tell_core(j, CL_CONTROL_RECORDING_STORED, NULL, false);
			return;
		}
		snprintf(error, sizeof(error), "nomem");
	} else if (status == 200) {
		snprintf(error, sizeof(error), "not_wav");
	} else if (status) {
		snprintf(error, sizeof(error), "http_%ld", status);
	} else {
		snprintf(error, sizeof(error), "transport");
	}
	cl_warn("recording.fetch_failed", "recording=%lld error=%s", (long long)j->id, error);
	tell_core(j, CL_CONTROL_RECORDING_FAILED, error, false);
}

static void on_deleted(void *ctx, long status, const char *body, size_t len, const char *curl_error)
{
	struct job *j = ctx;
	/* 404: already gone, which is what we wanted. */
	if ((status >= 200 && status < 300) || status == 404) {
		cl_info("recording.deleted_remote", "recording=%lld", (long long)j->id);
		tell_core(j, CL_CONTROL_RECORDING_DELETED, NULL, false);
		return;
	}
	char error[32];
	snprintf(error, sizeof(error), status ? "delete_http_%ld" : "delete_transport", status);
	cl_warn("recording.delete_failed", "recording=%lld error=%s", (long long)j->id, error);
	tell_core(j, CL_CONTROL_RECORDING_FAILED, error, false);
}

static void start(struct gw_ivr_fetch *f, const struct cl_recording *r)
{
	struct gw_ivr *ivr = f->ivr;
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->f = f;
	j->id = r->id;
	f->inflight[f->n_inflight++] = r->id;
	char url[640];
	struct gw_http_call call = {.user = ivr->set.account,
	                            .password = ivr->set.secret,
	                            .url = url,
	                            .timeout_ms = FETCH_TIMEOUT_MS};
	if (r->state == CL_REC_PENDING) {
		if (ivr->prov->fetch_url(&ivr->set, r->remote_id, r->remote_url, url,
		                         sizeof(url)) != 0) {
			/* Not on the provider's API host: never send it credentials. */
			cl_warn("recording.bad_url", "recording=%lld", (long long)r->id);
			tell_core(j, CL_CONTROL_RECORDING_FAILED, "bad_url", true);
			return;
		}
		call.method = "GET";
		call.max_response = MAX_AUDIO;
		call.follow_redirects = true;
		if (gw_http_client_request(ivr->http, &call, on_fetched, j) != CL_OK)
			tell_core(j, CL_CONTROL_RECORDING_FAILED, "client", false);
		return;
	}
	if (!ivr->prov->delete_url(&ivr->set, r->remote_id, url, sizeof(url))) {
		/* 46elks: nothing to delete; its recordings expire after 72 hours. */
		tell_core(j, CL_CONTROL_RECORDING_DELETED, NULL, false);
		return;
	}
	call.method = "DELETE";
	if (gw_http_client_request(ivr->http, &call, on_deleted, j) != CL_OK)
		tell_core(j, CL_CONTROL_RECORDING_FAILED, "client", false);
}

struct scan {
	struct gw_ivr_fetch *f;
	int64_t now;
};

static void on_work(void *ctx, const struct cl_recording *r)
{
	struct scan *s = ctx;
	struct gw_ivr_fetch *f = s->f;
	if (in_flight(f, r->id))
		return;
	if (r->next_try_ms > s->now || f->n_inflight == MAX_INFLIGHT) {
		int64_t at = r->next_try_ms > s->now ? r->next_try_ms : s->now + 1000;
		if (!f->next_ms || at < f->next_ms)
			f->next_ms = at;
		return;
	}
	start(f, r);
}

void gw_ivr_fetch_tick(struct gw_ivr *ivr, int64_t now)
{
	struct gw_ivr_fetch *f = ivr->fetch;
	if (!f || (!f->kick && (!f->next_ms || now < f->next_ms)))
		return;
	f->kick = false;
	f->next_ms = 0;
	struct scan s = {f, now};
	if (cl_service_recordings_work(ivr->ctx->svc, on_work, &s) != CL_OK)
		f->next_ms = now + 5000;
}

int64_t gw_ivr_fetch_next(const struct gw_ivr *ivr)
{
	const struct gw_ivr_fetch *f = ivr->fetch;
	if (!f)
		return 0;
	return f->kick ? cl_clock_now(&cl_clock_system) : f->next_ms;
}

void gw_ivr_fetch_kick(struct gw_ivr *ivr)
{
	if (ivr->fetch)
		ivr->fetch->kick = true;
}

enum cl_err gw_ivr_fetch_start(struct gw_ivr *ivr)
{
	ivr->fetch = calloc(1, sizeof(*ivr->fetch));
	if (!ivr->fetch)
		return CL_ERR_NOMEM;
	ivr->fetch->ivr = ivr;
	ivr->fetch->kick = true; /* what a previous run left */
	return CL_OK;
}

void gw_ivr_fetch_stop(struct gw_ivr *ivr)
{
	/* Jobs in flight belong to transfers or queued controls that are
	 * abandoned with the client and the service. */
	free(ivr->fetch);
	ivr->fetch = NULL;
}
