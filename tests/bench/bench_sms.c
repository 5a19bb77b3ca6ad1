/*
 * tests/bench/bench_sms.c: the SMS channel's figures, against the fake
 * provider of tests/lib/fakeprov (as api_base) and the release daemon.
 *  - Inbound webhooks per second per provider at the durable path: 32
 *    keep-alive connections post signed inbound texts (Twilio form + HMAC-SHA1,
 *    46elks form + basic auth, GatewayAPI JSON + HS256 JWT), each from its own
 *    number, so each is a new anonymous ticket; bodies and signatures are made
 *    before the clock starts; only 2xx answers count. GatewayAPI's receipts go
 *    out over REST to the fake, as in production.
 *  - Inbound webhook to outbound SMS at the provider: paced texts (50/s) over
 *    Twilio, the on-call worker's phone configured, no staff rate limit; the
 *    time from handing the POST to curl until the fake records the alert whose
 *    ref the webhook's receipt named. The fake stamps arrivals in whole ms.
 * Figures: sms_inbound_{twilio,46elks,gatewayapi}_rps,
 * sms_webhook_to_alert_p50_ms/_p99_ms/_max_ms, daemon_peak_rss_mb_sms.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/fakeprov.h"
#include "common.h"

#define PUBLIC_URL  "https://careline.example.dk"
#define OUR_NUMBER  "+4570203040"
#define CONNS       32
#define WARMUP      500
#define INBOUND     10000
#define RATE        50 /* texts/s in the latency run */
#define LAT_WARMUP  50
#define LAT_TEXTS   (LAT_WARMUP + RATE * 10)
#define TWILIO_SID  "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOK  "twilio-auth-token-0123456789"
#define ELKS_USER   "u0123456789abcdef0123456789abcdef"
#define ELKS_PASS   "elks-api-password-0123"
#define ELKS_PATH   "Xk9hookpath7Q"
#define ELKS_HOOK_U "careline"
#define ELKS_HOOK_P "elks-hook-password-4567"
#define GW_TOKEN    "gwapi-rest-token-0123456789"
#define GW_SECRET   "gwapi-webhook-secret-0123"

static const char *const texts[] = {
    "Har ikke set manden i nr. 14 i to uger, postkassen flyder over",
    "Der lugter meget fra lejligheden ved siden af, Vestergade 20, 8000 Aarhus C",
    "Naboen råber og banker på væggene hver nat",
    "Der er rotter og skrald i opgangen, Gudrunsvej 8, 8220 Brabrand",
    "Kvinden på 3. sal virker meget forvirret og spiser vist ikke",
    "Hun er lige blevet udskrevet og har stoppet med medicinen",
    "Han har ikke betalt husleje og fogeden kommer på fredag",
    "Lyset har været tændt konstant og der er en seddel i døren",
};
#define N_TEXTS (sizeof(texts) / sizeof(texts[0]))

/* One webhook, ready to post. */
struct hook_req {
	char *body;
	size_t len;
	struct curl_slist *hdrs;
};

static void sender_of(size_t i, char out[16])
{
	snprintf(out, 16, "+4540%06zu", i % 1000000);
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		bench_fail("out of memory");
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static struct curl_slist *add(struct curl_slist *l, const char *h)
{
	struct curl_slist *n = curl_slist_append(l, h);
	if (!n)
		bench_fail("out of memory");
	return n;
}

/* The provider's inbound webhook for text i from its own number. */
static void make_hook(const char *prov, size_t i, const char *text, struct hook_req *r)
{
	char from[16], id[64];
	sender_of(i, from);
	struct curl_slist *h = add(NULL, "Expect:");
	if (strcmp(prov, "twilio") == 0) {
		snprintf(id, sizeof(id), "SM%032zx", i + 1);
		struct fp_param p[] = {
		    {"ToCountry", "DK"},
		    {"SmsMessageSid", id},
		    {"NumMedia", "0"},
		    {"SmsSid", id},
		    {"SmsStatus", "received"},
		    {"Body", text},
		    {"FromCountry", "DK"},
		    {"To", OUR_NUMBER},
		    {"NumSegments", "1"},
		    {"MessageSid", id},
		    {"AccountSid", TWILIO_SID},
		    {"From", from},
		    {"ApiVersion", "2010-04-01"},
		};
		size_t n = sizeof(p) / sizeof(p[0]);
		r->body = fp_form_encode(p, n, true);
		char *sig = fp_twilio_signature(TWILIO_TOK, PUBLIC_URL "/hooks/twilio/sms", p, n);
		char hdr[256];
		snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s", sig);
		free(sig);
		h = add(h, "Content-Type: application/x-www-form-urlencoded");
		h = add(h, hdr);
	} else if (strcmp(prov, "46elks") == 0) {
		snprintf(id, sizeof(id), "s%032zx", i + 1);
		char created[64];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S.000000", &tm);
		struct fp_param p[] = {
		    {"direction", "incoming"}, {"id", id},           {"from", from},
		    {"to", OUR_NUMBER},        {"created", created}, {"message", text}};
		r->body = fp_form_encode(p, sizeof(p) / sizeof(p[0]), false);
		char *auth = b64(ELKS_HOOK_U ":" ELKS_HOOK_P);
		char hdr[256];
		snprintf(hdr, sizeof(hdr), "Authorization: Basic %s", auth);
		free(auth);
		h = add(h, "Content-Type: application/x-www-form-urlencoded");
		h = add(h, hdr);
	} else {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer((json_int_t)(400000000 + i)));
		json_object_set_new(o, "msisdn", json_integer(strtoll(from + 1, NULL, 10)));
		json_object_set_new(o, "receiver", json_integer(strtoll(OUR_NUMBER + 1, NULL, 10)));
		json_object_set_new(o, "message", json_string(text));
		json_object_set_new(o, "senttime", json_integer((json_int_t)time(NULL)));
		json_object_set_new(o, "webhook_label", json_string("careline"));
		json_object_set_new(o, "sender", json_string(from + 1));
		json_object_set_new(o, "country_code", json_string("DK"));
		json_object_set_new(o, "country_prefix", json_integer(45));
		r->body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		char *jwt = fp_gwapi_jwt(GW_SECRET, r->body);
		size_t hl = strlen(jwt) + 32;
		char *hdr = malloc(hl);
		if (!hdr)
			bench_fail("out of memory");
		snprintf(hdr, hl, "X-Gwapi-Signature: %s", jwt);
		free(jwt);
		h = add(h, "Content-Type: application/json");
		h = add(h, hdr);
		free(hdr);
	}
	if (!r->body)
		bench_fail("cannot build a %s webhook", prov);
	r->len = strlen(r->body);
	r->hdrs = h;
}

static void free_hooks(struct hook_req *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].body);
		curl_slist_free_all(v[i].hdrs);
	}
	free(v);
}

/* The fake provider and careline's [sms] section for it. */
static struct fp *start_fake(const char *prov, char *cfg, size_t len, const char *more)
{
	struct fp *fp;
	char keys[512];
	if (strcmp(prov, "twilio") == 0) {
		fp = fp_start("twilio", TWILIO_SID, TWILIO_TOK);
		snprintf(keys, sizeof(keys), "account = %s\nsecret = %s\n", TWILIO_SID, TWILIO_TOK);
	} else if (strcmp(prov, "46elks") == 0) {
		fp = fp_start("46elks", ELKS_USER, ELKS_PASS);
		snprintf(keys, sizeof(keys),
		         "account = %s\nsecret = %s\nhook_path_secret = %s\nhook_user = %s\n"
		         "hook_password = %s\n",
		         ELKS_USER, ELKS_PASS, ELKS_PATH, ELKS_HOOK_U, ELKS_HOOK_P);
	} else {
		fp = fp_start("gatewayapi", NULL, GW_TOKEN);
		snprintf(keys, sizeof(keys), "secret = %s\nwebhook_secret = %s\n", GW_TOKEN,
		         GW_SECRET);
	}
	snprintf(cfg, len,
	         "[careline]\nlog_level = warn\n"
	         "[sms]\nprovider = %s\npublic_url = %s\napi_base = %s\nfrom = %s\n%s"
	         "sender_max = 100000\n%s",
	         prov, PUBLIC_URL, fp_base_url(fp), OUR_NUMBER, keys, more ? more : "");
	return fp;
}

static const char *hook_path(const char *prov)
{
	return strcmp(prov, "twilio") == 0   ? "/hooks/twilio/sms"
	       : strcmp(prov, "46elks") == 0 ? "/hooks/46elks/" ELKS_PATH "/sms"
	                                     : "/hooks/gatewayapi/sms";
}

/* --- inbound rate ------------------------------------------------------------------ */

struct rate_run {
	uint64_t ok, bad;
};

static void on_rate_answer(void *ctx, uint64_t tag, long status, const char *body, int64_t start_us,
                           int64_t end_us)
{
	struct rate_run *r = ctx;
	if (status >= 200 && status < 300) {
		r->ok++;
	} else if (++r->bad <= 5) {
		bench_note("webhook %llu: status %ld: %.200s", (unsigned long long)tag, status,
		           body);
	}
}

static void drain_alerts(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
}

/* Post v[from..to) keeping CONNS in flight; returns when all are answered. */
static void post_all(struct bench_http *http, struct bmq *mq, struct hook_req *v, size_t from,
                     size_t to)
{
	size_t next = from;
	while (next < to || bench_http_busy(http) > 0) {
		while (next < to &&
		       bench_http_post_with(http, v[next].body, v[next].len, v[next].hdrs, next))
			next++;
		struct curl_waitfd w = {.fd = bmq_fd(mq), .events = bmq_events(mq)};
		bench_http_run(http, 50, &w, 1);
		bmq_service(mq, w.revents);
	}
}

static double inbound_rate(const char *prov, double *peak_rss)
{
	char cfg[2048];
	struct fp *fp = start_fake(prov, cfg, sizeof(cfg), NULL);
	struct bench_env env;
	bench_env_start_with(&env, cfg);
	struct bmq *mq = bmq_connect("bench-sms-alerts", env.mqtt_port, drain_alerts, NULL);
	bmq_subscribe(mq, "careline/v1/dev/+/inbox");

	size_t total = WARMUP + INBOUND;
	struct hook_req *v = calloc(total, sizeof(*v));
	if (!v)
		bench_fail("out of memory");
	for (size_t i = 0; i < total; i++)
		make_hook(prov, i, texts[i % N_TEXTS], &v[i]);

	struct rate_run r = {0};
	struct bench_http *http =
	    bench_http_new(env.http_port, hook_path(prov), CONNS, on_rate_answer, &r);
	post_all(http, mq, v, 0, WARMUP);
	uint64_t warm_ok = r.ok;
	r.ok = r.bad = 0;
	int64_t t0 = bench_now_us();
	post_all(http, mq, v, WARMUP, total);
	double secs = (double)(bench_now_us() - t0) / 1e6;
	double rps = (double)r.ok / secs;
	bench_note("%s inbound: %zu webhooks (after %zu warm-up, %llu ok), %llu 2xx, %llu not,"
	           " %.2f s, %d connections",
	           prov, (size_t)INBOUND, (size_t)WARMUP, (unsigned long long)warm_ok,
	           (unsigned long long)r.ok, (unsigned long long)r.bad, secs, CONNS);
	if (warm_ok != WARMUP || r.ok != INBOUND)
		bench_fail("%s: %llu of %d webhooks answered 2xx", prov,
		           (unsigned long long)(warm_ok + r.ok), (int)total);
	double tickets = bench_metric(&env, "careline_sms_total{event=\"inbound\"}");
	if (tickets != (double)total)
		bench_fail("%s: careline counted %.0f inbound texts, %zu posted", prov, tickets,
		           total);
	if (strcmp(prov, "gatewayapi") == 0) {
		/* Its receipts leave over REST: let them finish before stopping. */
		int64_t end = bench_now_us() + 20000000;
		while (fp_count(fp) < total && bench_now_us() < end)
			bench_sleep_ms(50);
		bench_note("gatewayapi: %zu receipts sent over REST", fp_count(fp));
	}
	*peak_rss = bench_peak_rss_mb(env.daemon_pid);
	bench_note("%s: daemon peak RSS %.1f MB", prov, *peak_rss);
	bench_http_free(http);
	bmq_free(mq);
	bench_env_stop(&env);
	free_hooks(v, total);
	fp_stop(fp);
	return rps;
}

/* --- webhook to alert ---------------------------------------------------------------- */

#define REF_MAX 16

struct lat_run {
	int64_t send_us[LAT_TEXTS];
	char ref[LAT_TEXTS][REF_MAX];
	uint64_t ok, bad;
};

static bool ref_after(const char *text, const char *marker, char ref[REF_MAX])
{
	const char *p = text ? strstr(text, marker) : NULL;
	if (!p)
		return false;
	p += strlen(marker);
	size_t n = 0;
	while (n < REF_MAX - 1 && ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
		n++;
	memcpy(ref, p, n);
	ref[n] = '\0';
	return n >= 4;
}

static void on_lat_answer(void *ctx, uint64_t tag, long status, const char *body, int64_t start_us,
                          int64_t end_us)
{
	struct lat_run *r = ctx;
	r->send_us[tag] = start_us;
	if (status == 200 && ref_after(body, "har nummer ", r->ref[tag])) {
		r->ok++;
	} else if (++r->bad <= 5) {
		bench_note("text %llu: status %ld: %.200s", (unsigned long long)tag, status, body);
	}
}

static void webhook_to_alert(double *peak_rss)
{
	char cfg[2048];
	/* Every on-duty worker has a phone; no staff rate limit (gap 0, and a
	 * burst window of 0), so each alert is its own text. */
	struct fp *fp = start_fake("twilio", cfg, sizeof(cfg),
	                           "staff_gap = 0\nstaff_burst = 16\nstaff_burst_window = 0\n"
	                           "[person anna]\nphone = +4520000001\n"
	                           "[person bo]\nphone = +4520000002\n"
	                           "[person carl]\nphone = +4520000003\n");
	struct bench_env env;
	bench_env_start_with(&env, cfg);
	struct bmq *mq = bmq_connect("bench-sms-alerts", env.mqtt_port, drain_alerts, NULL);
	bmq_subscribe(mq, "careline/v1/dev/+/inbox");
	struct hook_req *v = calloc(LAT_TEXTS, sizeof(*v));
	if (!v)
		bench_fail("out of memory");
	for (size_t i = 0; i < LAT_TEXTS; i++)
		make_hook("twilio", 500000 + i, texts[i % N_TEXTS], &v[i]);
	static struct lat_run r;
	struct bench_http *http =
	    bench_http_new(env.http_port, hook_path("twilio"), 8, on_lat_answer, &r);

	const int64_t interval = 1000000 / RATE;
	int64_t t0 = bench_now_us(), max_lag = 0;
	size_t next = 0;
	while (next < LAT_TEXTS || bench_http_busy(http) > 0) {
		int64_t now = bench_now_us();
		while (next < LAT_TEXTS && now >= t0 + (int64_t)next * interval &&
		       bench_http_post_with(http, v[next].body, v[next].len, v[next].hdrs, next)) {
			if (now - (t0 + (int64_t)next * interval) > max_lag)
				max_lag = now - (t0 + (int64_t)next * interval);
			next++;
		}
		int timeout = 50;
		if (next < LAT_TEXTS) {
			int64_t wait = t0 + (int64_t)next * interval - now;
			timeout = wait <= 0 ? 0 : (int)((wait + 999) / 1000);
		}
		struct curl_waitfd w = {.fd = bmq_fd(mq), .events = bmq_events(mq)};
		bench_http_run(http, timeout, &w, 1);
		bmq_service(mq, w.revents);
	}
	/* Every stored text's alert reaches the fake. */
	int64_t end = bench_now_us() + 10000000;
	while (fp_count(fp) < r.ok && bench_now_us() < end) {
		bmq_pump(&mq, 1, 20);
	}
	size_t n_msgs = fp_count(fp);
	static double ms[LAT_TEXTS];
	size_t n = 0, missing = 0;
	static struct fp_msg m;
	char(*alert_ref)[REF_MAX] = calloc(n_msgs ? n_msgs : 1, REF_MAX);
	int64_t *alert_ms = calloc(n_msgs ? n_msgs : 1, sizeof(int64_t));
	if (!alert_ref || !alert_ms)
		bench_fail("out of memory");
	for (size_t i = 0; i < n_msgs; i++)
		if (fp_get(fp, i, &m) && ref_after(m.text, "Ny henvendelse ", alert_ref[i]))
			alert_ms[i] = m.at_ms;
	for (size_t i = LAT_WARMUP; i < LAT_TEXTS; i++) {
		if (!r.ref[i][0])
			continue;
		size_t k;
		for (k = 0; k < n_msgs; k++)
			if (strcmp(alert_ref[k], r.ref[i]) == 0)
				break;
		if (k == n_msgs) {
			missing++;
			continue;
		}
		ms[n++] = (double)alert_ms[k] - (double)r.send_us[i] / 1000.0;
	}
	bench_note("webhook to alert: %d texts/s, %d measured after %d warm-up, %llu stored,"
	           " %llu not, %zu texts at the provider, %zu without alert, sender at most"
	           " %.1f ms behind",
	           RATE, LAT_TEXTS - LAT_WARMUP, LAT_WARMUP, (unsigned long long)r.ok,
	           (unsigned long long)r.bad, n_msgs, missing, (double)max_lag / 1000.0);
	if (n == 0)
		bench_fail("no alert matched a text");
	bench_figure("sms_webhook_to_alert_p50_ms", bench_percentile(ms, n, 50), 2, "ms");
	bench_figure("sms_webhook_to_alert_p99_ms", bench_percentile(ms, n, 99), 2, "ms");
	bench_figure("sms_webhook_to_alert_max_ms", bench_percentile(ms, n, 100), 2, "ms");
	if (missing)
		bench_figure("sms_alerts_missing", (double)missing, 0, "alerts");
	*peak_rss = bench_peak_rss_mb(env.daemon_pid);
	bench_note("webhook to alert: daemon peak RSS %.1f MB", *peak_rss);
	free(alert_ref);
	free(alert_ms);
	bench_http_free(http);
	bmq_free(mq);
	bench_env_stop(&env);
	free_hooks(v, LAT_TEXTS);
	fp_stop(fp);
}

int main(void)
{
	static const char *const provs[] = {"twilio", "46elks", "gatewayapi"};
	double rss = 0, r;
	for (size_t i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "sms_inbound_%s_rps", provs[i]);
		bench_figure(name, inbound_rate(provs[i], &r), 0, "texts/s");
		if (r > rss)
			rss = r;
	}
	webhook_to_alert(&r);
	if (r > rss)
		rss = r;
	bench_figure("daemon_peak_rss_mb_sms", rss, 1, "MB");
	return 0;
}
