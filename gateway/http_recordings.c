/*
 * gateway/http_recordings.c owns the hotline's recordings in the API: the
 * "recordings" list on a ticket (state, duration, size; never the audio)
 * and GET /api/v1/tickets/{ref}/recordings/{id}, which hands a worker the
 * decrypted WAV only after the read is recorded on the ticket (an event
 * "read" with who read it, committed first). Partner tokens may not read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "http_internal.h"

static void on_recording(void *ctx, const struct cl_recording *r)
{
	json_t *arr = ctx;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "state", json_string(cl_recording_state_name(r->state)));
	json_object_set_new(o, "duration_s", json_integer(r->duration_s));
	if (r->state == CL_REC_STORED)
		json_object_set_new(o, "bytes", json_integer(r->size));
	json_object_set_new(o, "received_at", gw_json_time(r->created_ms));
	json_object_set_new(o, "deleted_at_provider", json_boolean(r->remote_deleted));
	if (r->attempts)
		json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_array_append_new(arr, o);
}

json_t *gw_json_recordings(struct cl_service *svc, const struct cl_ticket *t)
{
	json_t *arr = json_array();
	if (cl_service_recordings_of(svc, t, on_recording, arr) != CL_OK) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

struct reading {
	struct gw_request *req;
	struct cl_ticket t;
	int64_t id;
};

static void on_read_recorded(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct reading *r = ctx;
	struct gw_request *req = r->req;
	unsigned char *audio = NULL;
	size_t len = 0;
	if (err == CL_OK)
		err = cl_service_recording_audio(req->http->ctx->svc, &r->t, r->id, &audio, &len);
	if (err == CL_OK) {
		gw_http_reply_bytes(req, 200, audio, len, "audio/wav");
	} else if (err == CL_ERR_NOTFOUND) {
		gw_http_reply_error(req, 404, "unknown_recording",
		                    "no stored recording with that id on this ticket", NULL);
	} else if (err == CL_AGAIN) {
		gw_http_reply_error(req, 503, "not_durable", "the read could not be recorded",
		                    NULL);
	} else {
		gw_http_reply_error(req, 500, cl_errcode(err), cl_strerror(err), NULL);
	}
	gw_http_resume(req);
	free(r);
}

static void get_recording(struct gw_request *req, const char *ref, const char *id_text)
{
	char *end = NULL;
	long long id = strtoll(id_text, &end, 10);
	struct cl_service *svc = req->http->ctx->svc;
	struct reading *r = calloc(1, sizeof(*r));
	if (!r) {
		gw_http_reply_error(req, 503, "busy", "try again", NULL);
		return;
	}
	if (cl_service_ticket(svc, ref, &r->t) != CL_OK) {
		free(r);
		gw_http_reply_error(req, 404, "unknown_ticket", "no ticket with that reference",
		                    NULL);
		return;
	}
	if (!end || *end || id <= 0) {
		free(r);
		gw_http_reply_error(req, 404, "unknown_recording", "no such recording", NULL);
		return;
	}
	r->req = req;
	r->id = id;
	struct cl_control c = {.kind = CL_CONTROL_RECORDING_READ, .recording_id = id};
	snprintf(c.actor, sizeof(c.actor), "%s",
	         req->person[0]  ? req->person
	         : req->token[0] ? req->token
	                         : "admin");
	if (!(req->job = cl_service_submit_control(svc, &c, on_read_recorded, r))) {
		free(r);
		gw_http_reply_error(req, 503, "busy", "try again", NULL);
		return;
	}
	gw_http_suspend(req);
}

bool gw_recordings_dispatch(struct gw_request *req)
{
	const char *prefix = "/api/v1/tickets/";
	size_t plen = strlen(prefix);
	const char *url = req->url;
	const char *mid =
	    strncmp(url, prefix, plen) == 0 ? strstr(url + plen, "/recordings/") : NULL;
	if (!mid)
		return false;
	char ref[16];
	size_t n = (size_t)(mid - (url + plen));
	if (n == 0 || n >= sizeof(ref) || memchr(url + plen, '/', n))
		return false;
	memcpy(ref, url + plen, n);
	ref[n] = '\0';
	if (strcmp(req->method, "GET") != 0) {
		gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
		return true;
	}
	if (!req->authed) {
		gw_http_reply_error(req, 401, "unauthorized", "a valid bearer token is required",
		                    NULL);
		return true;
	}
	if (req->role == CL_ROLE_PARTNER || req->role == CL_ROLE_MONITOR) {
		gw_http_reply_error(req, 403, "forbidden", "this token may only post reports",
		                    NULL);
		return true;
	}
	get_recording(req, ref, mid + strlen("/recordings/"));
	return true;
}
