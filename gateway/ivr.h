/*
 * gateway/ivr.h: the hotline's pieces inside the gateway. A call step is
 * described once, provider-neutrally, as a scene (what is said, which input
 * is collected, where the answer goes); a provider file (ivr_twilio.c,
 * ivr_46elks.c) turns scenes into TwiML or 46elks call actions, parses its
 * callbacks, and builds its REST requests (alert calls, recordings). No
 * sockets in the provider files: gateway/ivr.c owns the routes and the call
 * flow, ivr_fetch.c the recordings, ivr_alert.c the calls to on-call staff.
 */
#ifndef CARELINE_GW_IVR_H
#define CARELINE_GW_IVR_H

#include <stdbool.h>
#include <stddef.h>

#include "careline/service.h"
#include "gateway.h"
#include "http_internal.h"
#include "sms.h"

#define GW_IVR_PIECES_MAX 48
#define GW_IVR_URL_MAX    512

/* What is said: text for providers that speak (Twilio <Say>), and the same
 * as prompt pieces (config/prompts/<lang>/<piece>.wav) for those that play
 * audio (46elks). */
struct gw_ivr_say {
	char text[1536];
	char pieces[GW_IVR_PIECES_MAX][40];
	size_t n_pieces;
};

enum gw_ivr_input { GW_IVR_NONE, GW_IVR_DIGITS, GW_IVR_RECORD };

struct gw_ivr_scene {
	char lang[4];
	struct gw_ivr_say say;
	enum gw_ivr_input input;
	int digits;                         /* GW_IVR_DIGITS: how many */
	int timeout_s;                      /* wait this long for input */
	int record_max_s;                   /* GW_IVR_RECORD */
	char next_url[GW_IVR_URL_MAX];      /* the input goes here */
	char noinput_url[GW_IVR_URL_MAX];   /* Twilio: what follows a prompt that got nothing */
	char recording_url[GW_IVR_URL_MAX]; /* where the provider posts the recording */
	char audio_base[GW_IVR_URL_MAX];    /* 46elks: prompts are served under this URL */
};

/* A provider's callback, parsed. */
struct gw_ivr_callback {
	char call_id[96];
	char from[32]; /* E.164 or "" */
	char to[32];
	bool has_digits;
	char digits[16];
	bool failed;           /* 46elks result=failed: no input */
	bool recording_hangup; /* Twilio: the caller hung up while recording */
	char recording_id[96];
	char recording_url[512];
	int recording_duration_s;
	char status[24]; /* Twilio CallStatus, 46elks state */
};

struct gw_ivr_provider {
	const char *name;
	/* Parse any callback's form body. 0 ok, -1 malformed (err says why). */
	int (*parse)(const struct gw_http_in *req, struct gw_ivr_callback *out, char *err,
	             size_t errlen);
	/* The response body for a scene. Sets *content_type. malloc'ed. */
	char *(*render)(const struct gw_ivr_scene *sc, const char **content_type);
	/* An outbound call to `to` whose answer fetches answer_url; the end of
	 * the call is posted to end_url. 0 ok, -1 on bad input. */
	int (*build_call)(const struct gw_sms_settings *s, const char *to, const char *answer_url,
	                  const char *end_url, int ring_timeout_s, struct gw_sms_request *out);
	void (*parse_call)(long http_status, const char *body, size_t len,
	                   struct gw_sms_result *out);
	/* Where to GET a recording's audio, given what the callback said. */
	int (*fetch_url)(const struct gw_sms_settings *s, const char *remote_id,
	                 const char *remote_url, char *out, size_t len);
	/* Where to DELETE it; false when the provider has no such call (46elks
	 * recordings expire on their own after 72 hours). */
	bool (*delete_url)(const struct gw_sms_settings *s, const char *remote_id, char *out,
	                   size_t len);
};

extern const struct gw_ivr_provider gw_ivr_twilio;
extern const struct gw_ivr_provider gw_ivr_46elks;
const struct gw_ivr_provider *gw_ivr_provider_find(const char *name);

/* Escape text for XML character data and attribute values into a malloc'ed
 * string (&, <, >, ", '). */
char *gw_xml_escape(const char *s);

/* --- the channel's shared state (ivr.c, ivr_fetch.c, ivr_alert.c) -------------- */

struct gw_prompts;
struct gw_ivr_fetch;
struct gw_ivr_alert;

struct gw_ivr {
	struct gw_ctx *ctx;
	const struct gw_ivr_provider *prov;
	struct gw_sms_settings set; /* the [voice] provider settings */
	char prefix[128];           /* "/hooks/twilio/voice" or "/hooks/46elks/{secret}/voice" */
	char base[400];             /* public_url + prefix */
	struct gw_http_client *http;
	struct gw_prompts *prompts;
	struct gw_ivr_fetch *fetch;
	struct gw_ivr_alert *alert;
	int64_t next_sweep_ms;
	struct gw_ivr_metrics m;
	/* 46elks posts the caller's number only in the first request: kept in
	 * memory (never written) for the consent answer, by call id. */
	struct caller_memo {
		char call_id[96];
		char number[32];
		int64_t at_ms;
	} * memo;
	size_t n_memo;
};

/* Texts "voice.KEY" in lang. */
const char *gw_ivr_text(const struct gw_ivr *ivr, const char *lang, const char *key);
/* Add the template "voice.KEY" to a say: rendered text (vars filled) and
 * pieces (KEY or KEY_0, a placeholder's pieces, KEY_1, ...). */
struct gw_ivr_var {
	const char *name;
	const char *text;          /* what Twilio says for it */
	const char *const *pieces; /* what 46elks plays for it */
	size_t n_pieces;
};
void gw_ivr_say_add(const struct gw_ivr *ivr, struct gw_ivr_say *say, const char *lang,
                    const char *key, const struct gw_ivr_var *vars, size_t n_vars);
/* Answer a webhook with a scene. */
void gw_ivr_reply_scene(struct gw_ivr *ivr, struct gw_request *req, struct gw_ivr_scene *sc);
/* A scene that says key (may be NULL) and hangs up. */
void gw_ivr_scene_goodbye(struct gw_ivr *ivr, struct gw_ivr_scene *sc, const char *lang,
                          const char *key);

/* ivr_fetch.c: recordings are fetched, stored and deleted at the provider. */
enum cl_err gw_ivr_fetch_start(struct gw_ivr *ivr);
void gw_ivr_fetch_stop(struct gw_ivr *ivr);
/* A callback noted a recording: look for work now. */
void gw_ivr_fetch_kick(struct gw_ivr *ivr);
/* Called every loop pass: start what is due. */
void gw_ivr_fetch_tick(struct gw_ivr *ivr, int64_t now);
/* When the fetcher next has something to do; 0 never. */
int64_t gw_ivr_fetch_next(const struct gw_ivr *ivr);

/* ivr_alert.c: "voice" notifications become calls to staff. */
enum cl_err gw_ivr_alert_start(struct gw_ivr *ivr);
void gw_ivr_alert_stop(struct gw_ivr *ivr);
/* Routes under prefix + "/alert". */
void gw_ivr_alert_dispatch(struct gw_ivr *ivr, struct gw_request *req, const char *rest,
                           const struct gw_ivr_callback *cb);

#endif
