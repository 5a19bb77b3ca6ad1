/*
 * tests/lib/fakevoice.h: a fake voice provider (Twilio, 46elks) inside the test process:
 * the phone network's side of whole calls against careline's voice webhooks (scripted
 * callers, TwiML / 46elks JSON run as the provider does) and the provider's REST API for
 * recordings and placed calls. Independent of gateway/. For tests/integration, tests/bench.
 */

/*
 * Use: struct fv *v = fv_start("twilio", "AC...", "auth-token");
 *      fv_set_careline(v, "http://127.0.0.1:P", NULL);  fv_set_public_url(v, PUBLIC);
 *      struct fv_input in[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(wav, len, 7), FV_IN_DIGITS("1")};
 *      struct fv_call *c;  fv_call_run(v, "+4531559977", "+4570203040", in, 3, &c);
 *      HX_CHECK(fv_said(c, "Tak")); ... fv_call_free(c); fv_stop(v);
 * Setup failures (no port, bad provider, no careline set) abort the test like
 * harness.h does; careline's failures are recorded on the call, never abort.
 * Every fv_* function is thread-safe; one struct fv_call is driven by one thread at
 * a time. The REST server runs on libmicrohttpd's threads, a placed call is driven
 * in a thread of its own.
 *
 * Entry points (careline's public URL, fv_set_public_url, defaults to the base given
 * to fv_set_careline; every URL that starts with it is POSTed to the careline base
 * instead while Twilio's signature still covers the public URL, as a TLS proxy would):
 *   twilio  incoming call  POST {public}/hooks/twilio/voice
 *           call ended     POST {public}/hooks/twilio/voice/status
 *   46elks  incoming call  POST {public}/hooks/46elks/{hook_path_secret}/voice
 *           call ended     POST {public}/hooks/46elks/{hook_path_secret}/voice/hangup
 *
 * Twilio webhooks: form (spaces as '+'), X-Twilio-Signature over the URL requested
 * (with its query) and every field, I-Twilio-Idempotency-Token, User-Agent
 * TwilioProxy/1.1. Fields on every call request: AccountSid, ApiVersion=2010-04-01,
 * CallSid ("CA"+32 hex), CallStatus (ringing on an inbound call's first request, else
 * in-progress), Called (=To), Caller (=From), Direction (inbound, outbound-api),
 * From, FromCountry, To, ToCountry (from the number's prefix: +45 → DK).
 *   The answer must be 2xx, Content-Type text/xml or application/xml and well-formed
 *   XML with a <Response> root; else the call ends with FV_END_ERROR. Verbs run in
 *   order: Say (recorded with its language), Play (GET, must be 200 and RIFF/WAVE),
 *   Pause, Gather (its nested Say/Play/Pause first, then it takes an input: digits →
 *   its action, default the document's URL, with Digits; silence → the next verb, or
 *   with actionOnEmptyResult="true" its action without Digits),
 *   Record (takes an input: see fv_input; action with RecordingUrl
 *   {fake}/2010-04-01/Accounts/{AccountSid}/Recordings/RE<32 hex> (no extension),
 *   RecordingDuration, RecordingSid, Digits "#" or "hangup" (none for silence); then,
 *   after that request, its recordingStatusCallback with AccountSid, CallSid,
 *   RecordingSid, RecordingUrl, RecordingStatus=completed, RecordingDuration,
 *   RecordingChannels=1, RecordingSource=RecordVerb, RecordingStartTime (RFC 2822)),
 *   Redirect, Hangup. Relative URLs resolve against the document's URL; method="GET"
 *   sends the fields in the query string (signed as such). The end of the document
 *   ends the call. Any other verb is an error.
 *   After the end (any way), the status callback: call fields with CallStatus
 *   completed (no-answer for an unanswered placed call), CallDuration (wall-clock
 *   seconds plus the seconds recorded); for placed calls also Timestamp, CallbackSource
 *   =call-progress-events, SequenceNumber, and before the call's first request the
 *   initiated / ringing / answered events it asked for in StatusCallbackEvent.
 *
 * 46elks webhooks: form (spaces as %20), basic auth (fv_set_hook_auth, else the URL's
 * own user:password@). Start: direction (incoming / outgoing), callid ("c"+32 hex),
 * from, to, created ("YYYY-MM-DDTHH:MM:SS.ffffff" UTC).
 *   The answer must be 2xx, Content-Type application/json and a JSON object with one
 *   action: play (GET, RIFF/WAVE), ivr (plays, then takes an input: digits → the
 *   action under that key ("1": URL or object) if any, else next with result=digits;
 *   silence → the prompt played `repeat` times in all (default 3), then next with
 *   result=failed), record (takes an input: POST the record URL, unless it is not a URL
 *   ("local/..."), with callid, created, duration, wav
 *   {fake}/a1/recordings/r<32 hex>.wav, from, to; then next with result=success),
 *   hangup; anything else (connect, recordcall) is an error. `next` is a URL (POSTed with callid
 * and result; play's result is "ok") or an action object; none ends the call. After the end:
 * whenhangup (incoming: the entry above; placed: the one given) with callid, direction, from, to,
 * created, start (absent when never answered), duration, state (success, failed when never
 * answered).
 *
 * REST API served at fv_base_url (careline's api_base):
 *   twilio  basic auth AccountSid:AuthToken (else 401 {"code": 20003, "message":
 *           "Authenticate", "more_info", "status": 401})
 *           GET    /2010-04-01/Accounts/{sid}/Recordings/{RE}[.wav|.mp3]  → 200
 *                  audio/x-wav (.mp3: audio/mpeg, same bytes) the recorded bytes;
 *                  {RE}.json → the recording resource; 404 {"code": 20404, ...}
 *                  when unknown or deleted
 *           DELETE /2010-04-01/Accounts/{sid}/Recordings/{RE}[.json] → 204, 404
 *           POST   /2010-04-01/Accounts/{sid}/Calls.json  form To, From, Url (or
 *                  Twiml), Method, StatusCallback, StatusCallbackEvent (repeated or
 *                  space-separated), StatusCallbackMethod, Timeout → 201 {"sid":
 *                  "CA..", "status": "queued", "direction": "outbound-api", ...};
 *                  400 {"code": 21217, "message": "Phone number does not appear to
 *                  be valid", ...} when To is not +digits; 21213 without From;
 *                  21205 without Url and Twiml
 *   46elks  basic auth account:secret (else 401 text "Unauthorized")
 *           GET    /a1/recordings/{id}.wav → 200 audio/wav; 404 text
 *           POST   /a1/calls  form from, to, voice_start (URL or JSON action object),
 *                  whenhangup, timeout → 200 {"id": "c..", "state": "ongoing",
 *                  "direction": "outgoing", "from", "to", "created"}; 400 text
 * A placed call is recorded (fv_placed_*); once the REST answer has been sent (and
 * fv_set_answer_delay), the phone at `to` follows its fv_answer_script exactly as an
 * inbound caller would, in a thread of its own; without a script it does not answer:
 * after fv_set_no_answer_delay (200 ms) the status callback with no-answer (46elks:
 * whenhangup with state=failed).
 */
#ifndef CARELINE_TEST_FAKEVOICE_H
#define CARELINE_TEST_FAKEVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeprov.h" /* struct fp_param, FP_* tampering flags */

struct fv;
struct fv_call;

/* --- lifecycle and settings ------------------------------------------------------ */

/* Start the fake `provider` ("twilio", "46elks") on a free 127.0.0.1 port. account:
 * Twilio AccountSid / 46elks API username; secret: Twilio auth token (it signs the
 * webhooks too) / 46elks API password. Aborts the test on failure. */
struct fv *fv_start(const char *provider, const char *account, const char *secret);
/* Stop the server, wait for placed calls' threads, free everything (placed calls'
 * transcripts included; calls from fv_call_start stay the caller's). NULL is fine. */
void fv_stop(struct fv *fv);
/* "http://127.0.0.1:PORT" (no trailing slash): careline's api_base. */
const char *fv_base_url(const struct fv *fv);
const char *fv_provider(const struct fv *fv);

/* Where careline listens ("http://127.0.0.1:P", no trailing slash needed) and its
 * 46elks hook path secret (NULL for Twilio). Required before any call. */
void fv_set_careline(struct fv *fv, const char *careline_base, const char *hook_path_secret);
/* careline's public_url (e.g. "https://careline.example.dk"): entry URLs are built on
 * it, Twilio signs over it, and every URL starting with it is sent to the careline
 * base instead. NULL or "": the careline base itself. */
void fv_set_public_url(struct fv *fv, const char *public_url);
/* 46elks: the basic auth every webhook carries (careline's hook_user/hook_password).
 * Unset: a URL's own user:password@, else none. */
void fv_set_hook_auth(struct fv *fv, const char *user, const char *password);
/* How long an unanswered placed call rings before its no-answer callback (default
 * 200 ms), and how long an answered one waits after the REST answer before its
 * first webhook (default 0 ms). */
void fv_set_no_answer_delay(struct fv *fv, int ms);
void fv_set_answer_delay(struct fv *fv, int ms);
/* FP_* tampering (fakeprov.h) for the next `count` webhooks this fake sends, any
 * call's (placed calls' too): FP_TAMPER_SIGNATURE (46elks: of the password),
 * FP_NO_SIGNATURE (46elks: no Authorization), FP_WRONG_SECRET, FP_WRONG_URL (Twilio:
 * signed over the URL really POSTed to, or public URL + "/wrong"; 46elks: the secret
 * path segment replaced), FP_TAMPER_BODY (Twilio: signed, then Digits or From
 * changed). */
void fv_tamper_next(struct fv *fv, unsigned flags, int count);

/* An entry URL as the provider's number is configured with it ({public}/hooks/...). */
enum fv_hook {
	FV_HOOK_VOICE,  /* incoming call */
	FV_HOOK_STATUS, /* call ended: Twilio status callback, 46elks whenhangup */
};
void fv_hook_url(struct fv *fv, enum fv_hook hook, char *out, size_t len);

/* A WAV file (RIFF, 8 kHz 8-bit mono PCM, a quiet tone) of ms milliseconds, for
 * recordings and for a careline stand-in's prompts. Caller frees. */
void *fv_make_wav(int ms, size_t *len);

/* --- the caller's (or the called worker's) input ------------------------------------ */

/* One input per input-taking verb (Twilio Gather/Record, 46elks ivr/record), in order. */
enum fv_input_kind {
	FV_DIGITS,        /* keys pressed at a Gather / ivr: digits ("12", a trailing
	                     finish key "#" is stripped) */
	FV_SILENCE,       /* nothing: Gather falls through (actionOnEmptyResult="true": its
	                     action without Digits), ivr fails after its repeats; at a
	                     Record an empty recording of 0 s (action still posted) */
	FV_RECORD,        /* speaks at a Record / record: audio (NULL: fv_make_wav of
	                     duration_s) and duration_s (capped at maxLength/timelimit),
	                     reported as given whatever the audio's length. The fake keeps
	                     every recording's bytes until fv_stop: benchmarks pass a small
	                     WAV with a long duration_s */
	FV_HANGUP,        /* hangs up now, at whatever verb */
	FV_RECORD_HANGUP, /* speaks at a Record, then hangs up: Twilio posts the action
	                     with Digits=hangup (its answer is ignored), 46elks posts the
	                     record URL; then the call ends */
};
struct fv_input {
	enum fv_input_kind kind;
	const char *digits;
	const void *audio;
	size_t audio_len;
	int duration_s;
};
#define FV_IN_DIGITS(d) ((struct fv_input){.kind = FV_DIGITS, .digits = (d)})
#define FV_IN_SILENCE   ((struct fv_input){.kind = FV_SILENCE})
#define FV_IN_RECORD(a, n, s)                                                                      \
	((struct fv_input){.kind = FV_RECORD, .audio = (a), .audio_len = (n), .duration_s = (s)})
#define FV_IN_HANGUP ((struct fv_input){.kind = FV_HANGUP})
#define FV_IN_RECORD_HANGUP(a, n, s)                                                               \
	((struct fv_input){                                                                        \
	    .kind = FV_RECORD_HANGUP, .audio = (a), .audio_len = (n), .duration_s = (s)})

/* --- what happened on a call ------------------------------------------------------------ */

enum fv_end {
	FV_END_NONE,          /* still going: waiting for an input */
	FV_END_HANGUP_VERB,   /* careline hung up: <Hangup/>, {"hangup": ...} */
	FV_END_CALLER_HANGUP, /* the script hung up (FV_HANGUP, FV_RECORD_HANGUP, or an
	                         input was needed and fv_call_run's script had none left) */
	FV_END_DOCUMENT,      /* TwiML ended without Hangup/Redirect; a 46elks action
	                         without next */
	FV_END_NO_ANSWER,     /* placed call: the phone has no answer script */
	FV_END_ERROR,         /* careline's fault, see .error: non-2xx, wrong content type,
	                         malformed TwiML/JSON, unsupported verb, a Play that is not
	                         a WAV, careline unreachable */
	FV_END_SCRIPT_ERROR,  /* the test's fault: the input does not fit the verb (digits
	                         at a Record, a recording at a Gather) */
};
const char *fv_end_name(enum fv_end end);

enum fv_req_kind {
	FV_REQ_START,     /* the call's first webhook (voice / voice_start) */
	FV_REQ_ACTION,    /* Gather/Record action, Redirect; 46elks next, ivr digit URL */
	FV_REQ_RECORDING, /* Twilio recordingStatusCallback; 46elks record URL */
	FV_REQ_STATUS,    /* Twilio status callback (progress events too); 46elks whenhangup */
	FV_REQ_REPOST,    /* fv_call_repost_last: a byte-identical copy of .repost_of */
};

/* One request to careline. Strings are NUL-terminated; NULL when absent. */
struct fv_request {
	enum fv_req_kind kind;
	const char *method;            /* "POST" or "GET" */
	const char *url;               /* as careline gave it (Twilio signs this) */
	const char *sent_to;           /* where it really went (the public URL mapped) */
	const struct fp_param *params; /* the fields, in the order sent */
	size_t n_params;
	const char *body;         /* exactly the bytes sent ("" for GET) */
	unsigned tamper;          /* FP_* flags applied */
	size_t repost_of;         /* FV_REQ_REPOST: index of the original */
	int status;               /* careline's HTTP status, 0 on a transport error */
	const char *content_type; /* careline's answer */
	const char *response;     /* its body (NUL-terminated; response_len bytes) */
	size_t response_len;
	const char *error;        /* libcurl's message on a transport error */
	int64_t sent_ms, done_ms; /* CLOCK_MONOTONIC ms, the clock of hx_now_ms */
	int64_t elapsed_us;       /* done - sent, microseconds */
};

struct fv_say {
	const char *text;     /* the spoken text (entities decoded, outer space trimmed) */
	const char *language; /* the language attribute, "" when absent */
	const char *voice;    /* "" when absent */
	int loop;             /* loop attribute, 1 when absent */
};

struct fv_play {
	const char *url; /* as careline gave it */
	int status;      /* of the GET (0: transport error, -1: not fetched: 46elks
	                    built-in sounds that are not URLs) */
	size_t bytes;    /* body size */
	bool wav;        /* body starts RIFF....WAVE */
	int times;       /* Twilio loop; 46elks ivr: plays including repeats */
	int64_t at_ms;
};

/* An input the call consumed, and at which verb. */
struct fv_given {
	enum fv_input_kind kind;
	const char *digits; /* as sent (finish key stripped); NULL unless FV_DIGITS */
	int duration_s;     /* recorded seconds as reported */
	const char *verb;   /* "Gather", "Record", "ivr", "record" */
	int64_t at_ms;
};

enum fv_event_kind {
	FV_EV_REQUEST,   /* index into requests */
	FV_EV_SAY,       /* into says */
	FV_EV_PLAY,      /* into plays */
	FV_EV_PAUSE,     /* index = the pause length in seconds */
	FV_EV_INPUT,     /* into inputs */
	FV_EV_RECORDING, /* index for fv_recording_get */
};
struct fv_event {
	enum fv_event_kind kind;
	size_t index;
};

/* A call's transcript. The arrays grow while the call goes on: take the pointer again
 * after fv_call_input. A placed call's transcript is complete (and stable) once
 * fv_wait_placed_done says so. */
struct fv_transcript {
	char call_id[40];                  /* CallSid "CA.." / callid "c.." */
	char from[48], to[48];             /* E.164 */
	const char *direction;             /* inbound / outbound-api; incoming / outgoing */
	const struct fv_request *requests; /* every request to careline, in order */
	size_t n_requests;
	size_t round_trips; /* requests whose answer drove the call (START + ACTION) */
	const struct fv_say *says;
	size_t n_says;
	const struct fv_play *plays;
	size_t n_plays;
	const struct fv_given *inputs;
	size_t n_inputs;
	const size_t *recordings; /* indices for fv_recording_get */
	size_t n_recordings;
	const struct fv_event *events; /* everything above, in the order it happened */
	size_t n_events;
	enum fv_end end;
	const char *error;     /* why, for FV_END_ERROR / FV_END_SCRIPT_ERROR; else NULL */
	bool script_exhausted; /* fv_call_run / a placed call hung up for want of input */
	int duration_s;        /* as reported in the final callback */
	int64_t started_ms, ended_ms;
};

/* --- driving an inbound call --------------------------------------------------------- */

struct fv_call_opts {
	const char *from;       /* the caller, E.164 */
	const char *to;         /* careline's number, E.164 */
	const char *call_id;    /* NULL: a fresh "CA"/"c" + 32 hex */
	unsigned tamper;        /* FP_* flags on every request of the call */
	unsigned tamper_first;  /* FP_* flags on the first request only */
	bool no_final_callback; /* do not post the status callback / whenhangup at the end */
};

/* Post the incoming-call webhook and run careline's answer until an input is needed
 * or the call ends. Never NULL; careline's failures end the call (FV_END_ERROR). */
struct fv_call *fv_call_start(struct fv *fv, const char *from, const char *to);
struct fv_call *fv_call_start_ex(struct fv *fv, const struct fv_call_opts *opts);
/* Feed one input and run until the next one is needed or the call ends. 0: fine (the
 * call may have ended normally, see fv_call_ended); -1: it ended in an error now
 * (FV_END_ERROR, FV_END_SCRIPT_ERROR) or had already ended. */
int fv_call_input(struct fv_call *call, const struct fv_input *in);
/* The whole call: start, then inputs in order (an input needed after the last one:
 * the caller hangs up, script_exhausted). 0 when it ended without an error, else -1.
 * *out (may be NULL: freed here) gets the call, caller frees. */
int fv_call_run(struct fv *fv, const char *from, const char *to, const struct fv_input *inputs,
                size_t n, struct fv_call **out);
int fv_call_run_ex(struct fv *fv, const struct fv_call_opts *opts, const struct fv_input *inputs,
                   size_t n, struct fv_call **out);
/* Send the call's last request again, byte for byte (same URL, headers, signature,
 * idempotency token, body): a provider retry or duplicate callback. Its answer is
 * recorded as an FV_REQ_REPOST request and never followed. Returns careline's status
 * (0 on a transport error), -1 when nothing was sent yet. */
int fv_call_repost_last(struct fv_call *call);
/* FP_* tampering on the call's next request / every later request. */
void fv_call_tamper_next(struct fv_call *call, unsigned flags);
void fv_call_set_tamper(struct fv_call *call, unsigned flags);
/* Hang up now (as FV_HANGUP between verbs): the final callback goes out. No-op when
 * ended. */
void fv_call_hangup(struct fv_call *call);

bool fv_call_ended(const struct fv_call *call);
/* Which input the call waits for: "Gather", "Record", "ivr", "record"; NULL if ended. */
const char *fv_call_waiting(const struct fv_call *call);
const struct fv_transcript *fv_call_transcript(const struct fv_call *call);
const char *fv_call_id(const struct fv_call *call);
/* The last request (NULL if none). */
const struct fv_request *fv_call_last(const struct fv_call *call);
/* A field of request r (NULL if absent). */
const char *fv_request_param(const struct fv_request *r, const char *name);
/* Some Say's text contains needle. */
bool fv_said(const struct fv_call *call, const char *needle);
/* Every Say's text joined by "\n" (owned by the call, valid until the next call of
 * this function on it, fv_call_free or, for a placed call, fv_stop). */
const char *fv_spoken_text(const struct fv_call *call);
/* Calls from fv_call_start/_run only (placed calls belong to the fake). NULL is fine. */
void fv_call_free(struct fv_call *call);

/* A provider webhook with exactly these fields, e.g. a status callback for a CallSid
 * careline never saw: Twilio signed over url (as fv_tamper flags say), 46elks with the
 * hook auth. url may be public (mapped like every request). Status, answer body and
 * content type as fp_post_raw (caller frees either). */
int fv_post_webhook(struct fv *fv, const char *url, const struct fp_param *params, size_t n,
                    unsigned flags, char **response_body, char **response_content_type);
/* A fresh call id in this provider's style ("CA"+32 hex, "c"+32 hex). */
void fv_new_call_id(struct fv *fv, char *out, size_t len);

/* --- recordings --------------------------------------------------------------------- */

struct fv_recording {
	char id[40]; /* "RE"+32 hex / "r"+32 hex */
	char call_id[40];
	char url[512];     /* as given to careline (Twilio: no extension; 46elks: .wav) */
	const void *audio; /* the recorded bytes (valid until fv_stop) */
	size_t len;
	int duration_s;
	bool deleted; /* through the REST API */
	int fetches;  /* successful GETs of the audio */
	int64_t at_ms;
};
size_t fv_recording_count(struct fv *fv);
bool fv_recording_get(struct fv *fv, size_t i, struct fv_recording *out);
/* Index of the recording with this id, or -1. */
long fv_recording_find(struct fv *fv, const char *id);
/* The next `count` GETs of recording audio are answered http_status (a provider
 * outage); fv_failed_fetches counts them. */
void fv_fail_fetches(struct fv *fv, int count, int http_status);
size_t fv_failed_fetches(struct fv *fv);
/* Successful DELETEs of recordings. */
size_t fv_deletes(struct fv *fv);
/* REST requests received (any path, refused ones too). */
size_t fv_api_requests(struct fv *fv);

/* --- placed (outbound) calls ---------------------------------------------------------- */

/* What the phone at `to` does when careline calls it: these inputs in order, as
 * fv_call_run (copied). n 0 with inputs NULL: answers, hangs up at the first input.
 * Replaces an earlier script for the number. */
void fv_answer_script(struct fv *fv, const char *to, const struct fv_input *inputs, size_t n);
/* The phone at `to` stops answering. */
void fv_answer_clear(struct fv *fv, const char *to);

/* A call careline placed through the REST API (a copy). */
struct fv_placed {
	char id[40];
	char to[48], from[48];
	char url[2048];             /* Url (Twiml: the document) / voice_start (URL or JSON) */
	char method[8];             /* Url's Method, "POST" by default */
	char status_callback[1024]; /* StatusCallback / whenhangup, "" if none */
	char status_method[8];
	char status_events[128]; /* StatusCallbackEvent values, space-separated */
	int timeout_s;           /* Timeout / timeout, 0 when absent */
	int64_t at_ms;           /* REST request arrival */
	bool answered;           /* it had an answer script */
	bool done;               /* driven and its final callback posted */
};
size_t fv_placed_count(struct fv *fv);
bool fv_placed_get(struct fv *fv, size_t i, struct fv_placed *out);
bool fv_wait_placed(struct fv *fv, size_t n, int timeout_ms);
/* Wait until placed call i is over (final callback answered). */
bool fv_wait_placed_done(struct fv *fv, size_t i, int timeout_ms);
/* Placed call i's call, for fv_call_transcript / fv_said (an unanswered one too: its
 * transcript holds the no-answer callback); NULL until fv_wait_placed_done. */
const struct fv_call *fv_placed_call(struct fv *fv, size_t i);

#endif
