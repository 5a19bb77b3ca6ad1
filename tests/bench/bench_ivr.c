/*
 * tests/bench/bench_ivr.c: the hotline's figures. Whole phone calls are
 * driven by the fake voice provider of tests/lib/fakevoice against the
 * release daemon started by tests/lib/harness (databases under $BENCH_DIR).
 * The standard call: greeting and menu, a digit, a 300 ms recording
 * (reported as 20 s), "2" at the consent prompt (no callback), the ref read
 * out; each call from a number of its own, so each is one anonymous ticket.
 *  - Consent to alert over MQTT (Twilio, policy "step = primary 600
 *    via=mqtt"): 10 warm-up then 200 sequential calls; the primary's device
 *    is subscribed through the harness, whose MQTT thread stamps each alert's
 *    arrival; figure = arrival minus the sent_ms of the call's consent
 *    request (the URL with s=consent, the request that makes the ticket).
 *    Both stamps are whole ms of the same CLOCK_MONOTONIC (hx_now_ms).
 *  - Consent to alert call (Twilio, a fresh daemon, policy "step = primary
 *    600 via=voice", "final = backup 600 via=voice"): careline places at
 *    most 3 calls per phone per 15 minutes and holds the rest in the outbox,
 *    so only 3 calls are measured and only their max is reported; figure =
 *    the arrival of the Calls.json request at the fake's REST API (fv_placed
 *    at_ms) minus the consent request's sent_ms. The worker answers and
 *    presses 1, so no call is retried. The recording fetch of the same call
 *    has already opened careline's connection to the fake.
 *  - Throughput per provider (Twilio on the first daemon, 46elks on a fresh
 *    one with prompts from config/prompts): 8 threads run standard calls back
 *    to back for 10 s; calls/s counts calls that ended without an error; the
 *    webhook percentiles are over every request of those calls (start,
 *    actions, recording callback, status), careline's answer time as the
 *    fake measured it (elapsed_us; the 4 prompt WAVs a 46elks call fetches
 *    from careline are not in it, but in the call's time); recordings
 *    stored/s = stored recordings (careline_ivr_total metric) over the time
 *    from the first call until the last one is stored: careline keeps up, so
 *    this is the call rate, not a ceiling of the fetcher. The primary's
 *    device stays subscribed (alerts arrive one by one or as "alerts"
 *    bundles); the log notes whether every ticket's alert arrived, the CPU
 *    of the daemon and of this process, and where a call's time goes.
 *  - Round trips per call: the first standard call's transcript (round_trips:
 *    requests whose answer drove the call; n_requests: all of them);
 *    ivr_round_trips_per_call and ivr_requests_per_call are Twilio's.
 * The fake provider runs in this process on the same 2 CPUs as the daemon.
 * Figures: ivr_round_trips_per_call, ivr_requests_per_call,
 * ivr_46elks_round_trips_per_call, ivr_46elks_requests_per_call,
 * ivr_callback_to_alert_mqtt_p50_ms/_p99_ms/_max_ms,
 * ivr_callback_to_alert_call_ms_max3, ivr_{twilio,46elks}_calls_per_s,
 * ivr_{twilio,46elks}_webhook_p50_ms/_p99_ms,
 * ivr_{twilio,46elks}_recordings_stored_per_s, daemon_peak_rss_mb_ivr.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../lib/fakevoice.h"
#include "../lib/harness.h"
#include "common.h"

#define PUBLIC_URL  "https://careline.example.dk"
#define HOTLINE     "+4570203040"
#define PHONE_ANNA  "+4520000001"
#define PHONE_BO    "+4520000002"
#define PHONE_CARL  "+4520000003"
#define TWILIO_SID  "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOK  "twilio-auth-token-0123456789"
#define ELKS_USER   "u0123456789abcdef0123456789abcdef"
#define ELKS_PASS   "elks-api-password-0123"
#define ELKS_PATH   "Vx7hookpath3K"
#define ELKS_HOOK_U "careline"
#define ELKS_HOOK_P "elks-hook-password-4567"
#define REC_MS      300 /* the recording's real length; reported as REC_S */
#define REC_S       20
#define LAT_WARMUP  10
#define LAT_CALLS   200
#define VOICE_CALLS 3 /* careline's limit per phone per 15 minutes */
#define THREADS     8
#define RUN_MS      10000
#define ALERT_WAIT  5000
#define MAX_ALERTS  (LAT_WARMUP + LAT_CALLS + VOICE_CALLS)

static void *audio;
static size_t audio_len;
static unsigned next_caller;
static double peak_rss_mb;

/* --- a daemon with the hotline and its fake provider ---------------------------------- */

struct line {
	struct hx h;
	struct fv *fv;
	bool twilio;
	char primary[32];
	const char *primary_phone;
	const char *primary_device;
};

/* Start the fake `prov`, a broker and the daemon with [voice] for it and the
 * team's policy alerting over `via` (mqtt or voice). l must be static: the
 * harness's atexit handler keeps a pointer to l->h. */
static void line_start(struct line *l, const char *prov, const char *via)
{
	l->twilio = strcmp(prov, "twilio") == 0;
	char voice[1024];
	if (l->twilio) {
		l->fv = fv_start("twilio", TWILIO_SID, TWILIO_TOK);
		snprintf(voice, sizeof(voice), "account = %s\nsecret = %s\n", TWILIO_SID,
		         TWILIO_TOK);
	} else {
		l->fv = fv_start("46elks", ELKS_USER, ELKS_PASS);
		fv_set_hook_auth(l->fv, ELKS_HOOK_U, ELKS_HOOK_P);
		char prompts[512];
		if (!realpath("config/prompts", prompts))
			hx_fail("config/prompts missing (make prompts)");
		snprintf(voice, sizeof(voice),
		         "account = %s\nsecret = %s\nhook_path_secret = %s\nhook_user = %s\n"
		         "hook_password = %s\nprompts_dir = %s\n",
		         ELKS_USER, ELKS_PASS, ELKS_PATH, ELKS_HOOK_U, ELKS_HOOK_P, prompts);
	}
	hx_start_broker(&l->h);
	snprintf(l->h.extra_config, sizeof(l->h.extra_config),
	         "[careline]\nlog_level = warn\n[http]\nper_ip_rate = 0\n"
	         "[voice]\nprovider = %s\npublic_url = %s\napi_base = %s\nfrom = %s\n%s"
	         "[person anna]\nphone = %s\n[person bo]\nphone = %s\n[person carl]\nphone = %s\n"
	         "[policy bench]\nstep = primary 600 via=%s\nrepeat = 0\n"
	         "final = backup 600 via=%s\n"
	         "[team opsoegende]\npolicy = bench\n",
	         prov, PUBLIC_URL, fv_base_url(l->fv), HOTLINE, voice, PHONE_ANNA, PHONE_BO,
	         PHONE_CARL, via, via);
	hx_start_daemon(&l->h, NULL);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", l->h.http_port);
	fv_set_careline(l->fv, url, l->twilio ? NULL : ELKS_PATH);
	fv_set_public_url(l->fv, PUBLIC_URL);
	hx_oncall(&l->h, "opsoegende", l->primary, sizeof(l->primary), NULL, 0);
	bool anna = strcmp(l->primary, "anna") == 0;
	l->primary_phone = anna ? PHONE_ANNA : PHONE_BO;
	l->primary_device = anna ? "anna-phone" : "bo-phone";
}

static void line_stop(struct line *l)
{
	double rss = (double)hx_peak_rss_kb(l->h.daemon_pid) / 1024.0;
	if (rss > peak_rss_mb)
		peak_rss_mb = rss;
	bench_note("%s daemon: peak RSS %.1f MB", fv_provider(l->fv), rss);
	hx_stop(&l->h);
	fv_stop(l->fv);
	l->fv = NULL;
}

static double ivr_metric(struct line *l, const char *event)
{
	struct hx_resp r = hx_http(&l->h, "GET", "/metrics", "test-admin-token", NULL);
	char name[96];
	snprintf(name, sizeof(name), "careline_ivr_total{event=\"%s\"} ", event);
	const char *p = r.status == 200 && r.body ? strstr(r.body, name) : NULL;
	double v = p ? strtod(p + strlen(name), NULL) : -1;
	hx_resp_free(&r);
	return v;
}

/* --- one standard call ---------------------------------------------------------------- */

/* Run it from a number of its own; 0 when it ended without an error. */
static int standard_call(struct line *l, struct fv_call **out)
{
	static const char *const cats[] = {"1", "2", "3", "4"};
	unsigned n = __atomic_fetch_add(&next_caller, 1, __ATOMIC_RELAXED);
	char from[16];
	snprintf(from, sizeof(from), "+4531%06u", n % 1000000);
	struct fv_input in[] = {FV_IN_DIGITS(cats[n % 4]), FV_IN_RECORD(audio, audio_len, REC_S),
	                        FV_IN_DIGITS("2")};
	int rc = fv_call_run(l->fv, from, HOTLINE, in, 3, out);
	const struct fv_transcript *t = fv_call_transcript(*out);
	if (rc == 0 && (t->end == FV_END_HANGUP_VERB || t->end == FV_END_DOCUMENT))
		return 0;
	return -1;
}

static const char *call_error(struct fv_call *c)
{
	const struct fv_transcript *t = fv_call_transcript(c);
	return t->error ? t->error : fv_end_name(t->end);
}

/* The request that made the ticket: the answer to the consent prompt. */
static const struct fv_request *consent_request(struct fv_call *c)
{
	const struct fv_transcript *t = fv_call_transcript(c);
	for (size_t i = 0; i < t->n_requests; i++)
		if (t->requests[i].kind == FV_REQ_ACTION && strstr(t->requests[i].url, "s=consent"))
			return &t->requests[i];
	return NULL;
}

/* The ref Twilio's Say read out: "... nummer K, 7, F, Q, 2. ...". */
static void twilio_ref(struct fv_call *c, char ref[8])
{
	size_t n = 0;
	const char *s = strstr(fv_spoken_text(c), "nummer ");
	for (s = s ? s + 7 : NULL; s && *s && *s != '.' && n < 7; s++)
		if (*s != ',' && *s != ' ')
			ref[n++] = *s;
	ref[n] = '\0';
}

static void round_trips(struct line *l, const char *prefix)
{
	struct fv_call *c;
	if (standard_call(l, &c) != 0)
		hx_fail("%s: the standard call failed: %s", fv_provider(l->fv), call_error(c));
	const struct fv_transcript *t = fv_call_transcript(c);
	char name[64];
	snprintf(name, sizeof(name), "ivr%s_round_trips_per_call", prefix);
	bench_figure(name, (double)t->round_trips, 0, "round_trips");
	snprintf(name, sizeof(name), "ivr%s_requests_per_call", prefix);
	bench_figure(name, (double)t->n_requests, 0, "requests");
	bench_note("%s standard call: %zu round trips, %zu requests, %zu prompts played",
	           fv_provider(l->fv), t->round_trips, t->n_requests, t->n_plays);
	fv_call_free(c);
}

/* --- alerts at the primary's device ---------------------------------------------------- */

struct alerts {
	pthread_mutex_t mu;
	char ref[MAX_ALERTS][8];
	int64_t at_ms[MAX_ALERTS];
	size_t n;
	uint64_t total;   /* tickets alerted */
	uint64_t bundles; /* messages with several */
};

static void keep_alert(struct alerts *a, json_t *alert, int64_t at_ms)
{
	const char *ref = json_string_value(json_object_get(alert, "ticket"));
	a->total++;
	if (ref && a->n < MAX_ALERTS) {
		snprintf(a->ref[a->n], sizeof(a->ref[0]), "%s", ref);
		a->at_ms[a->n++] = at_ms;
	}
}

/* An alert ({"type": "alert", "ticket": ref, ...}) or a bundle of them
 * ({"type": "alerts", "alerts": [...]}, several in one pass), on the
 * harness's MQTT thread. */
static void on_alert(void *ctx, const char *topic, const char *payload, size_t len, int64_t at_ms)
{
	struct alerts *a = ctx;
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	pthread_mutex_lock(&a->mu);
	if (type && strcmp(type, "alert") == 0) {
		keep_alert(a, o, at_ms);
	} else if (type && strcmp(type, "alerts") == 0) {
		a->bundles++;
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(o, "alerts"), i, v) keep_alert(a, v, at_ms);
	}
	pthread_mutex_unlock(&a->mu);
	json_decref(o);
}

/* Tickets alerted so far; *bundles (may be NULL): messages with several. */
static uint64_t alerts_total(struct alerts *a, uint64_t *bundles)
{
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->total;
	if (bundles)
		*bundles = a->bundles;
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* When the alert for ref arrived, waiting up to ALERT_WAIT ms; -1 if not. */
static int64_t alert_at(struct alerts *a, const char *ref)
{
	int64_t end = hx_now_ms() + ALERT_WAIT;
	do {
		pthread_mutex_lock(&a->mu);
		for (size_t i = a->n; i-- > 0;)
			if (strcmp(a->ref[i], ref) == 0) {
				int64_t at = a->at_ms[i];
				pthread_mutex_unlock(&a->mu);
				return at;
			}
		pthread_mutex_unlock(&a->mu);
		hx_sleep_ms(1);
	} while (hx_now_ms() < end);
	return -1;
}

static void consent_to_mqtt_alert(struct line *l, struct alerts *a)
{
	static double ms[LAT_CALLS];
	size_t n = 0;
	for (int i = 0; i < LAT_WARMUP + LAT_CALLS; i++) {
		struct fv_call *c;
		if (standard_call(l, &c) != 0)
			hx_fail("latency call %d failed: %s", i, call_error(c));
		const struct fv_request *cr = consent_request(c);
		char ref[8];
		twilio_ref(c, ref);
		if (!cr || strlen(ref) != 5)
			hx_fail("latency call %d: no consent request or no ref (%s)", i, ref);
		int64_t at = alert_at(a, ref);
		if (at < 0)
			hx_fail("latency call %d: no alert for %s within %d ms", i, ref,
			        ALERT_WAIT);
		if (i >= LAT_WARMUP)
			ms[n++] = (double)(at - cr->sent_ms);
		fv_call_free(c);
	}
	bench_note("consent to MQTT alert: %zu sequential calls after %d warm-up, primary %s", n,
	           LAT_WARMUP, l->primary);
	bench_figure("ivr_callback_to_alert_mqtt_p50_ms", bench_percentile(ms, n, 50), 0, "ms");
	bench_figure("ivr_callback_to_alert_mqtt_p99_ms", bench_percentile(ms, n, 99), 0, "ms");
	bench_figure("ivr_callback_to_alert_mqtt_max_ms", bench_percentile(ms, n, 100), 0, "ms");
}

/* --- alert calls ----------------------------------------------------------------------- */

static void consent_to_alert_call(void)
{
	static struct line l;
	line_start(&l, "twilio", "voice");
	struct fv_input press1[] = {FV_IN_DIGITS("1")};
	fv_answer_script(l.fv, l.primary_phone, press1, 1);
	double worst = 0;
	for (int i = 0; i < VOICE_CALLS; i++) {
		size_t placed0 = fv_placed_count(l.fv);
		struct fv_call *c;
		if (standard_call(&l, &c) != 0)
			hx_fail("alert-call run, call %d failed: %s", i, call_error(c));
		const struct fv_request *cr = consent_request(c);
		if (!cr)
			hx_fail("alert-call run, call %d: no consent request", i);
		if (!fv_wait_placed(l.fv, placed0 + 1, ALERT_WAIT))
			hx_fail("alert-call run, call %d: no call placed", i);
		struct fv_placed pl;
		size_t k = placed0;
		for (; k < fv_placed_count(l.fv); k++)
			if (fv_placed_get(l.fv, k, &pl) && strcmp(pl.to, l.primary_phone) == 0)
				break;
		if (k == fv_placed_count(l.fv))
			hx_fail("alert-call run, call %d: no call to %s", i, l.primary_phone);
		double ms = (double)(pl.at_ms - cr->sent_ms);
		bench_note("alert call %d to %s: %.0f ms after the consent request", i, pl.to, ms);
		if (ms > worst)
			worst = ms;
		if (!fv_wait_placed_done(l.fv, k, ALERT_WAIT))
			hx_fail("alert-call run, call %d: the alert call did not end", i);
		fv_call_free(c);
	}
	bench_figure("ivr_callback_to_alert_call_ms_max3", worst, 0, "ms");
	line_stop(&l);
}

/* --- throughput ------------------------------------------------------------------------ */

struct caller {
	pthread_t thread;
	struct line *l;
	int64_t end_ms;
	double *ms; /* careline's answer time of every request, ms */
	size_t n, cap;
	uint64_t ok, bad;
	int64_t call_ms, hook_us; /* ok calls: first request to last answer; in webhooks */
};

static void *caller_run(void *arg)
{
	struct caller *w = arg;
	while (hx_now_ms() < w->end_ms) {
		struct fv_call *c;
		if (standard_call(w->l, &c) != 0) {
			if (++w->bad <= 3)
				bench_note("%s call failed: %s", fv_provider(w->l->fv),
				           call_error(c));
			fv_call_free(c);
			continue;
		}
		w->ok++;
		const struct fv_transcript *t = fv_call_transcript(c);
		w->call_ms += t->requests[t->n_requests - 1].done_ms - t->requests[0].sent_ms;
		for (size_t i = 0; i < t->n_requests; i++) {
			if (w->n == w->cap) {
				w->cap = w->cap ? 2 * w->cap : 4096;
				w->ms = realloc(w->ms, w->cap * sizeof(*w->ms));
				if (!w->ms)
					hx_fail("out of memory");
			}
			w->ms[w->n++] = (double)t->requests[i].elapsed_us / 1000.0;
			w->hook_us += t->requests[i].elapsed_us;
		}
		fv_call_free(c);
	}
	return NULL;
}

static int64_t tv_ms(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

static void throughput(struct line *l, struct alerts *a)
{
	const char *prov = fv_provider(l->fv);
	double stored0 = ivr_metric(l, "recording_stored");
	uint64_t bundles0, alerts0 = alerts_total(a, &bundles0), bundles;
	static struct caller w[THREADS];
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	int64_t cpu0 = bench_cpu_ms(l->h.daemon_pid);
	int64_t t0 = hx_now_ms();
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct caller){.l = l, .end_ms = t0 + RUN_MS};
		if (pthread_create(&w[i].thread, NULL, caller_run, &w[i]) != 0)
			hx_fail("pthread_create");
	}
	uint64_t ok = 0, bad = 0;
	size_t n = 0;
	int64_t call_ms = 0, hook_us = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		ok += w[i].ok;
		bad += w[i].bad;
		n += w[i].n;
		call_ms += w[i].call_ms;
		hook_us += w[i].hook_us;
	}
	int64_t t_calls = hx_now_ms();
	int64_t cpu = bench_cpu_ms(l->h.daemon_pid) - cpu0;
	getrusage(RUSAGE_SELF, &ru1);
	double ms_self = (double)(tv_ms(&ru1.ru_utime) + tv_ms(&ru1.ru_stime) -
	                          tv_ms(&ru0.ru_utime) - tv_ms(&ru0.ru_stime));
	double *ms = malloc((n ? n : 1) * sizeof(*ms));
	if (!ms)
		hx_fail("out of memory");
	n = 0;
	for (int i = 0; i < THREADS; i++) {
		memcpy(ms + n, w[i].ms, w[i].n * sizeof(*ms));
		n += w[i].n;
		free(w[i].ms);
	}

	/* Every call's recording is fetched and stored after its callback. */
	double stored = ivr_metric(l, "recording_stored") - stored0;
	while (stored < (double)ok && hx_now_ms() < t_calls + 15000) {
		hx_sleep_ms(20);
		stored = ivr_metric(l, "recording_stored") - stored0;
	}
	int64_t t_stored = hx_now_ms();
	/* ... and every ticket's alert reaches the primary's device. */
	while (alerts_total(a, NULL) - alerts0 < ok && hx_now_ms() < t_stored + 5000)
		hx_sleep_ms(20);
	uint64_t alerted = alerts_total(a, &bundles) - alerts0;
	double secs = (double)(t_calls - t0) / 1000.0;
	bench_note("%s: %d threads, %llu calls ok, %llu failed in %.2f s, %zu webhooks;"
	           " %.0f recordings stored %lld ms after the last call; %llu tickets alerted at"
	           " %s (%llu bundles); CPU: daemon %.0f%%, this process (fake and callers)"
	           " %.0f%%",
	           prov, THREADS, (unsigned long long)ok, (unsigned long long)bad, secs, n, stored,
	           (long long)(t_stored - t_calls), (unsigned long long)alerted, l->primary_device,
	           (unsigned long long)(bundles - bundles0), (double)cpu / 10.0 / secs,
	           ms_self / 10.0 / secs);
	if (ok == 0)
		hx_fail("%s: no call succeeded", prov);
	bench_note("%s: a call takes %.1f ms on average from its first request to the last"
	           " answer, %.1f ms of it waiting for webhook answers (the rest: prompt"
	           " fetches, the fake's own work)",
	           prov, (double)call_ms / (double)ok, (double)hook_us / 1000.0 / (double)ok);
	char name[64];
	snprintf(name, sizeof(name), "ivr_%s_calls_per_s", prov);
	bench_figure(name, (double)ok * 1000.0 / (double)(t_calls - t0), 1, "calls/s");
	snprintf(name, sizeof(name), "ivr_%s_webhook_p50_ms", prov);
	bench_figure(name, bench_percentile(ms, n, 50), 2, "ms");
	snprintf(name, sizeof(name), "ivr_%s_webhook_p99_ms", prov);
	bench_figure(name, bench_percentile(ms, n, 99), 2, "ms");
	snprintf(name, sizeof(name), "ivr_%s_recordings_stored_per_s", prov);
	bench_figure(name, stored * 1000.0 / (double)(t_stored - t0), 1, "recordings/s");
	if (bad) {
		snprintf(name, sizeof(name), "ivr_%s_calls_failed", prov);
		bench_figure(name, (double)bad, 0, "calls");
	}
	free(ms);
}

/* --- the runs --------------------------------------------------------------------------- */

static void run_twilio(void)
{
	static struct line l;
	static struct alerts a = {.mu = PTHREAD_MUTEX_INITIALIZER};
	line_start(&l, "twilio", "mqtt");
	struct hx_device *d = hx_device_connect(&l.h, l.primary_device);
	hx_device_set_handler(d, on_alert, &a);
	round_trips(&l, "");
	consent_to_mqtt_alert(&l, &a);
	throughput(&l, &a);
	hx_device_free(d);
	line_stop(&l);
}

static void run_46elks(void)
{
	static struct line l;
	static struct alerts a = {.mu = PTHREAD_MUTEX_INITIALIZER};
	line_start(&l, "46elks", "mqtt");
	struct hx_device *d = hx_device_connect(&l.h, l.primary_device);
	hx_device_set_handler(d, on_alert, &a);
	round_trips(&l, "_46elks");
	throughput(&l, &a);
	hx_device_free(d);
	line_stop(&l);
}

int main(void)
{
	hx_watchdog(180);
	/* The harness makes its directories in $TMPDIR: the disk under test. */
	const char *dir = getenv("BENCH_DIR");
	if (dir && *dir)
		setenv("TMPDIR", dir, 1);
	audio = fv_make_wav(REC_MS, &audio_len);
	run_twilio();
	run_46elks();
	consent_to_alert_call();
	bench_figure("daemon_peak_rss_mb_ivr", peak_rss_mb, 1, "MB");
	free(audio);
	return 0;
}
