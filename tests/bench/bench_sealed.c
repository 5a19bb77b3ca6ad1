/*
 * tests/bench/bench_sealed.c: MQTT with sealing on (docs/mqtt.md, "Sealing"),
 * on a broker as production runs it: the dynamic-security plugin and
 * persistence, device accounts made by careline (POST /api/v1/devices). The
 * caretaker's device (person jens) seals its reports to careline's key (GET
 * /api/v1/key); careline seals every receipt and alert to the device's key;
 * the bench opens every one of them. Built on the test harness
 * (tests/lib/harness.h), which knows dynsec; each device client runs its own
 * MQTT thread, and both ends read one clock (bench_now_us, CLOCK_MONOTONIC),
 * taken after a message is opened. Policy: primary 600 s, back-up 600 s, so
 * no escalation falls due during a run. The harness's configured phones
 * (anna-phone ...) have no broker accounts: a sink logged in as careline's
 * admin account holds their inboxes, so their alerts are delivered, not retried.
 *
 * 1. Broker restart, first (with a handful of open tickets: after a
 *    restart careline sends the current alert of every ticket still
 *    notifying again, which with the thousands below would be what is
 *    measured). RESTARTS times: SIGKILL the broker, wait until /readyz says
 *    503, start it again on the same port; from the moment it accepts
 *    connections, the time to /readyz 200 (careline reconnects with a
 *    backoff starting at 500 ms) and to the opened receipt of a sealed
 *    report the caretaker publishes as soon as its client is back (the
 *    harness's clients retry every second). Median and max.
 * 2. Ingest, plain then sealed: one caretaker device keeps WINDOW reports in
 *    flight (distinct addresses, same text) and sends the next as a receipt
 *    comes back; INGEST_WARMUP first, then INGEST_REPORTS timed from the first
 *    publish to the last receipt. Plain: a caretaker device and an on-duty
 *    worker's device registered without keys (plain report, receipt, alert);
 *    the worker's device is revoked after it. Sealed: the caretaker device
 *    with a key and the worker's device registered with one (sealed report,
 *    receipt, alert with text and address). Payloads are sealed before the
 *    clock starts; the bench's own opening of receipts runs on the same
 *    machine. Every receipt and every alert must arrive. (With 200 in
 *    flight the rate is bound by the round trip, about 3,000/s plain or
 *    sealed, and says nothing about sealing's cost.)
 * 3. Push latency: sealed reports at a steady RATE/s (WARMUP_S, then RUN_S
 *    counted); an alert's latency is the time from the report's publish to
 *    the sealed alert opened on the on-duty worker's device, joined by the
 *    ticket the receipt names.
 * Then one more broker restart with every ticket of the run still notifying
 * (notes only: the resend of current alerts before the first receipt).
 * Figures: broker_restart_ready_ms (+ _max_ms), broker_restart_first_receipt_ms
 * (+ _max_ms), mqtt_plain_ingest_per_s, mqtt_sealed_ingest_per_s,
 * mqtt_sealed_vs_plain_ratio, sealed_push_latency_p50_ms/_p99_ms/_max_ms,
 * daemon_peak_rss_mb_sealed.
 */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/harness.h"
#include "common.h"

#define WINDOW         1000 /* the broker's max_inflight_messages */
#define INGEST_WARMUP  1000
#define INGEST_REPORTS 10000
#define RATE           200 /* reports/s */
#define WARMUP_S       1
#define RUN_S          10
#define LAT_TOTAL      (RATE * (WARMUP_S + RUN_S))
#define RESTARTS       5
#define MAX_REPORTS    32768
#define MAX_ALERTS     65536
#define STALL_US       10000000
#define DRAIN_US       10000000
#define TICKET_MAX     16
#define REPORT_TEXT    "Har ikke set naboen i to uger"

struct keypair {
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char pk_b64[64];
};

/* A device registered through the API, and its client. */
struct dev {
	char id[32];
	bool has_key;
	struct keypair k;
	char password[64];
	struct hx_device *d;
};

struct report {
	int64_t sent_us;
	int64_t receipt_us; /* 0 until the first receipt */
	char ticket[TICKET_MAX];
	bool duplicate;
};

struct alert {
	char ticket[TICKET_MAX];
	int64_t at_us;
};

static struct hx h;
static unsigned char careline_pk[crypto_box_PUBLICKEYBYTES];

/* Shared with the clients' MQTT threads, under mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static char id_prefix[25]; /* the first 24 characters of every report_id of this run */
static struct report reports[MAX_REPORTS];
static uint64_t n_receipts; /* first receipts, for reports of this run */
static int64_t last_receipt_us;
static uint64_t n_errors;
static char first_error[512];
static struct alert alerts[MAX_ALERTS];
static size_t n_alerts;
static uint64_t sink_messages;
static int next_seq;

/* --- sealing ------------------------------------------------------------------------ */

static void make_keys(struct keypair *k)
{
	crypto_box_keypair(k->pk, k->sk);
	sodium_bin2base64(k->pk_b64, sizeof(k->pk_b64), k->pk, sizeof(k->pk),
	                  sodium_base64_VARIANT_ORIGINAL);
}

/* {"type": "sealed", "box": base64(crypto_box_seal(json, careline_pk))}. Caller frees. */
static char *seal(const char *json)
{
	size_t len = strlen(json), box_len = len + crypto_box_SEALBYTES;
	unsigned char *box = malloc(box_len);
	size_t b64_len = sodium_base64_ENCODED_LEN(box_len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64_len);
	char *out = malloc(b64_len + 64);
	if (!box || !b64 || !out ||
	    crypto_box_seal(box, (const unsigned char *)json, len, careline_pk) != 0)
		hx_fail("sealing a report failed");
	sodium_bin2base64(b64, b64_len, box, box_len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, b64_len + 64, "{\"type\":\"sealed\",\"box\":\"%s\"}", b64);
	free(b64);
	free(box);
	return out;
}

/* An inbox message as JSON: opened with the device's keys when sealed. NULL
 * when it does not parse or open. */
static json_t *open_message(const struct dev *dv, const char *payload, size_t len)
{
	json_t *msg = json_loadb(payload, len, 0, NULL);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type || strcmp(type, "sealed") != 0)
		return msg;
	const char *b64 = json_string_value(json_object_get(msg, "box"));
	json_t *inner = NULL;
	if (b64 && dv->has_key) {
		size_t cap = strlen(b64), n = 0;
		unsigned char *box = malloc(cap + 1), *plain = malloc(cap + 1);
		if (box && plain &&
		    sodium_base642bin(box, cap, b64, strlen(b64), NULL, &n, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    n > crypto_box_SEALBYTES &&
		    crypto_box_seal_open(plain, box, n, dv->k.pk, dv->k.sk) == 0)
			inner = json_loadb((char *)plain, n - crypto_box_SEALBYTES, 0, NULL);
		free(box);
		free(plain);
	}
	json_decref(msg);
	return inner;
}

/* The items of a message: a bundle's array ("receipts", "alerts"), or the
 * message itself as an array of one. Caller decrefs. */
static json_t *items_of(json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (type && (strcmp(type, "receipts") == 0 || strcmp(type, "alerts") == 0)) {
		json_t *arr = json_object_get(msg, type);
		if (json_is_array(arr))
			return json_incref(arr);
	}
	json_t *one = json_array();
	json_array_append(one, msg);
	return one;
}

/* --- reports -------------------------------------------------------------------------- */

/* report_id of seq: the run's prefix and seq in the last 12 hex digits. */
static void report_id(int seq, char out[37])
{
	snprintf(out, 37, "%s%012x", id_prefix, (unsigned)seq);
}

/* seq of a report_id of this run, or -1. */
static int seq_of(const char *rid)
{
	if (!rid || strlen(rid) != 36 || strncmp(rid, id_prefix, 24) != 0)
		return -1;
	long v = strtol(rid + 24, NULL, 16);
	return v >= 0 && v < MAX_REPORTS ? (int)v : -1;
}

/* A report's payload, plain or sealed; each has its own address (house
 * numbers 1..999 with a letter), so none is linked to another. Caller frees. */
static char *report_payload(int seq, bool sealed)
{
	char rid[37], json[256];
	report_id(seq, rid);
	snprintf(json, sizeof(json),
	         "{\"report_id\":\"%s\",\"text\":\"" REPORT_TEXT "\","
	         "\"address\":\"Testvej %d%c, 8210 Aarhus V\"}",
	         rid, 1 + seq % 999, 'a' + (seq / 999) % 26);
	if (sealed)
		return seal(json);
	char *s = strdup(json);
	if (!s)
		hx_fail("out of memory");
	return s;
}

/* n new report seqs; their payloads in *payloads (made now, before any clock). */
static int new_reports(int n, bool sealed, char ***payloads)
{
	if (next_seq + n > MAX_REPORTS)
		hx_fail("more than %d reports", MAX_REPORTS);
	int seq0 = next_seq;
	next_seq += n;
	*payloads = calloc((size_t)n, sizeof(char *));
	if (!*payloads)
		hx_fail("out of memory");
	for (int i = 0; i < n; i++)
		(*payloads)[i] = report_payload(seq0 + i, sealed);
	return seq0;
}

static void free_payloads(char **payloads, int n)
{
	for (int i = 0; i < n; i++)
		free(payloads[i]);
	free(payloads);
}

/* --- the clients' handlers (MQTT threads) ----------------------------------------------- */

static void note_error(const char *who, const char *what, size_t len)
{
	pthread_mutex_lock(&mu);
	if (n_errors++ == 0)
		snprintf(first_error, sizeof(first_error), "%s: %.*s", who,
		         (int)(len > 400 ? 400 : len), what);
	pthread_mutex_unlock(&mu);
	pthread_cond_broadcast(&cv);
}

/* The caretaker's inbox: receipts (first one per report_id counts). */
static void on_caretaker(void *ctx, const char *topic, const char *payload, size_t len,
                         int64_t at_ms)
{
	const struct dev *dv = ctx;
	json_t *msg = open_message(dv, payload, len);
	int64_t now = bench_now_us();
	if (!msg) {
		note_error(dv->id, "an inbox message that does not open or parse", 44);
		return;
	}
	json_t *items = items_of(msg);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *type = json_string_value(json_object_get(it, "type"));
		if (type && strcmp(type, "receipt") == 0) {
			int seq = seq_of(json_string_value(json_object_get(it, "report_id")));
			const char *ticket = json_string_value(json_object_get(it, "ticket"));
			if (seq < 0 || !ticket)
				continue;
			pthread_mutex_lock(&mu);
			struct report *r = &reports[seq];
			if (!r->receipt_us) {
				r->receipt_us = now;
				snprintf(r->ticket, sizeof(r->ticket), "%s", ticket);
				r->duplicate = json_is_true(json_object_get(it, "duplicate"));
				n_receipts++;
				last_receipt_us = now;
			}
			pthread_mutex_unlock(&mu);
		} else {
			char *text = json_dumps(it, JSON_COMPACT);
			note_error(dv->id, text ? text : "?", text ? strlen(text) : 1);
			free(text);
		}
	}
	json_decref(items);
	json_decref(msg);
	pthread_cond_broadcast(&cv);
}

/* The on-duty worker's inbox: alerts, with their arrival (opened) time. */
static void on_worker(void *ctx, const char *topic, const char *payload, size_t len, int64_t at_ms)
{
	const struct dev *dv = ctx;
	json_t *msg = open_message(dv, payload, len);
	int64_t now = bench_now_us();
	if (!msg) {
		note_error(dv->id, "an inbox message that does not open or parse", 44);
		return;
	}
	json_t *items = items_of(msg);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *type = json_string_value(json_object_get(it, "type"));
		const char *ticket = json_string_value(json_object_get(it, "ticket"));
		if (!type || strcmp(type, "alert") != 0 || !ticket)
			continue;
		pthread_mutex_lock(&mu);
		if (n_alerts < MAX_ALERTS) {
			struct alert *a = &alerts[n_alerts++];
			snprintf(a->ticket, sizeof(a->ticket), "%s", ticket);
			a->at_us = now;
		}
		pthread_mutex_unlock(&mu);
	}
	json_decref(items);
	json_decref(msg);
	pthread_cond_broadcast(&cv);
}

static void on_sink(void *ctx, const char *topic, const char *payload, size_t len, int64_t at_ms)
{
	pthread_mutex_lock(&mu);
	sink_messages++;
	pthread_mutex_unlock(&mu);
}

/* Wait on cv (mu held) for at most ms. */
static void wait_cv(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&cv, &mu, &ts);
}

/* Fail on an error answer (mu held). */
static void check_errors(void)
{
	if (n_errors) {
		char copy[sizeof(first_error)];
		memcpy(copy, first_error, sizeof(copy));
		pthread_mutex_unlock(&mu);
		hx_fail("%llu unexpected inbox messages, the first: %s",
		        (unsigned long long)n_errors, copy);
	}
}

/* --- devices -------------------------------------------------------------------------- */

static void add_device(struct dev *dv, const char *person, const char *id, bool key)
{
	memset(dv, 0, sizeof(*dv));
	snprintf(dv->id, sizeof(dv->id), "%s", id);
	dv->has_key = key;
	char body[256];
	if (key) {
		make_keys(&dv->k);
		snprintf(body, sizeof(body),
		         "{\"person\": \"%s\", \"id\": \"%s\", \"pubkey\": \"%s\"}", person, id,
		         dv->k.pk_b64);
	} else {
		snprintf(body, sizeof(body), "{\"person\": \"%s\", \"id\": \"%s\"}", person, id);
	}
	struct hx_resp r = hx_admin(&h, "POST", "/api/v1/devices", body);
	const char *pw =
	    json_string_value(json_object_get(json_object_get(r.json, "mqtt"), "password"));
	if (r.status != 201 || !pw)
		hx_fail("POST /api/v1/devices %s: %ld %s", id, r.status, r.body ? r.body : "");
	snprintf(dv->password, sizeof(dv->password), "%s", pw);
	hx_resp_free(&r);
}

static void connect_device(struct dev *dv,
                           void (*fn)(void *, const char *, const char *, size_t, int64_t))
{
	dv->d = hx_device_connect_as(&h, dv->id, dv->password);
	hx_device_set_handler(dv->d, fn, dv);
}

static void revoke_device(struct dev *dv)
{
	hx_device_free(dv->d);
	dv->d = NULL;
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/devices/%s", dv->id);
	struct hx_resp r = hx_admin(&h, "DELETE", path, NULL);
	if (r.status != 200)
		hx_fail("DELETE %s: %ld %s", path, r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

static void fetch_careline_key(void)
{
	struct hx_resp r = hx_http(&h, "GET", "/api/v1/key", "test-partner-token", NULL);
	const char *b64 = json_string_value(json_object_get(r.json, "public_key"));
	size_t n = 0;
	if (r.status != 200 || !b64 ||
	    sodium_base642bin(careline_pk, sizeof(careline_pk), b64, strlen(b64), NULL, &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(careline_pk))
		hx_fail("GET /api/v1/key: %ld %s", r.status, r.body ? r.body : "");
	hx_resp_free(&r);
}

static long readyz(void)
{
	struct hx_req rq = {.path = "/readyz", .timeout_ms = 2000};
	struct hx_resp r = hx_request(&h, &rq);
	long status = r.status;
	hx_resp_free(&r);
	return status;
}

/* --- waiting for receipts and alerts ----------------------------------------------------- */

/* Receipts of seqs seq0..seq0+n-1 received; mu held. */
static int receipts_in(int seq0, int n)
{
	int k = 0;
	for (int i = seq0; i < seq0 + n; i++)
		k += reports[i].receipt_us != 0;
	return k;
}

/* Wait until the alerts since alerts0 cover every ticket of seqs seq0.. (the
 * non-duplicate ones); false after DRAIN_US. mu held. */
static bool wait_alerts(size_t alerts0, int seq0, int n, int *missing)
{
	int64_t until = bench_now_us() + DRAIN_US;
	int want = 0;
	for (int i = seq0; i < seq0 + n; i++)
		want += reports[i].receipt_us && !reports[i].duplicate;
	for (;;) {
		check_errors();
		if ((int)(n_alerts - alerts0) >= want) {
			*missing = 0;
			return true;
		}
		if (bench_now_us() > until) {
			*missing = want - (int)(n_alerts - alerts0);
			return false;
		}
		wait_cv(100);
	}
}

/* --- 1. broker restart ------------------------------------------------------------------- */

struct restart {
	double noticed_ms; /* kill -> /readyz not 200 */
	double ready_ms;   /* broker up -> /readyz 200 */
	double device_ms;  /* broker up -> the caretaker's client connected and subscribed */
	double receipt_ms; /* broker up -> the receipt of the report published then */
};

static struct restart restart_broker(struct dev *caretaker)
{
	struct restart res = {0};
	char **payload;
	int seq = new_reports(1, true, &payload);
	int64_t t_kill = bench_now_us();
	hx_kill_broker(&h);
	while (readyz() == 200) {
		if (bench_now_us() - t_kill > 5000000)
			hx_fail("/readyz still 200 5 s after the broker was killed");
		bench_sleep_ms(2);
	}
	res.noticed_ms = (double)(bench_now_us() - t_kill) / 1000.0;
	/* The caretaker's client has seen it too (else it would count as back). */
	while (hx_device_wait_connected(caretaker->d, 0)) {
		if (bench_now_us() - t_kill > 5000000)
			hx_fail("the caretaker's client still connected 5 s after the kill");
		bench_sleep_ms(2);
	}
	hx_start_broker(&h);
	int64_t t_up = bench_now_us();
	bool ready = false, published = false;
	for (;;) {
		int64_t now = bench_now_us();
		if (now - t_up > 30000000)
			hx_fail(
			    "after a broker restart: ready %d, published %d, no receipt in 30 s",
			    ready, published);
		if (!ready && readyz() == 200) {
			ready = true;
			res.ready_ms = (double)(bench_now_us() - t_up) / 1000.0;
		}
		if (!published && hx_device_wait_connected(caretaker->d, 0)) {
			res.device_ms = (double)(bench_now_us() - t_up) / 1000.0;
			reports[seq].sent_us = bench_now_us();
			hx_device_publish_nowait(caretaker->d, "report", payload[0]);
			published = true;
		}
		pthread_mutex_lock(&mu);
		check_errors();
		int64_t got = reports[seq].receipt_us;
		if (!got && ready && published)
			wait_cv(5);
		pthread_mutex_unlock(&mu);
		if (got && ready) {
			res.receipt_ms = (double)(got - t_up) / 1000.0;
			break;
		}
		if (!ready || !published)
			bench_sleep_ms(2);
	}
	free_payloads(payload, 1);
	return res;
}

/* --- 2. ingest ---------------------------------------------------------------------------- */

/* n reports from dv with WINDOW in flight; returns the microseconds from the
 * first publish to the last receipt. */
static int64_t ingest(struct dev *dv, char **payloads, int seq0, int n)
{
	pthread_mutex_lock(&mu);
	/* Nothing else is in flight: every new first receipt is one of these. */
	uint64_t base = n_receipts;
	int sent = 0, got = 0, last = 0;
	int64_t t0 = bench_now_us(), last_progress = t0;
	while (got < n) {
		check_errors();
		while (sent < n && sent - got < WINDOW) {
			pthread_mutex_unlock(&mu);
			reports[seq0 + sent].sent_us = bench_now_us();
			hx_device_publish_nowait(dv->d, "report", payloads[sent]);
			pthread_mutex_lock(&mu);
			sent++;
		}
		wait_cv(100);
		got = (int)(n_receipts - base);
		int64_t now = bench_now_us();
		if (got != last) {
			last = got;
			last_progress = now;
		} else if (now - last_progress > STALL_US) {
			pthread_mutex_unlock(&mu);
			hx_fail("%s: no receipt for 10 s (%d of %d, %d sent)", dv->id, got, n,
			        sent);
		}
	}
	if (receipts_in(seq0, n) != n) {
		pthread_mutex_unlock(&mu);
		hx_fail("%s: receipts for reports of another run", dv->id);
	}
	int64_t t1 = last_receipt_us;
	pthread_mutex_unlock(&mu);
	return t1 - t0;
}

/* Warm-up, then the timed run; reports/s. */
static double ingest_run(const char *name, struct dev *caretaker, bool sealed)
{
	char **warm, **timed;
	int w0 = new_reports(INGEST_WARMUP, sealed, &warm);
	int s0 = new_reports(INGEST_REPORTS, sealed, &timed);
	pthread_mutex_lock(&mu);
	size_t alerts0 = n_alerts;
	pthread_mutex_unlock(&mu);
	ingest(caretaker, warm, w0, INGEST_WARMUP);
	int64_t cpu0 = bench_cpu_ms(h.daemon_pid), broker0 = bench_cpu_ms(h.broker_pid);
	int64_t us = ingest(caretaker, timed, s0, INGEST_REPORTS);
	double cpu_ms = (double)(bench_cpu_ms(h.daemon_pid) - cpu0);
	double broker_ms = (double)(bench_cpu_ms(h.broker_pid) - broker0);
	free_payloads(warm, INGEST_WARMUP);
	free_payloads(timed, INGEST_REPORTS);

	pthread_mutex_lock(&mu);
	int missing = 0, dups = 0;
	bool all = wait_alerts(alerts0, w0, INGEST_WARMUP + INGEST_REPORTS, &missing);
	for (int i = w0; i < s0 + INGEST_REPORTS; i++)
		dups += reports[i].duplicate;
	size_t got_alerts = n_alerts - alerts0;
	pthread_mutex_unlock(&mu);
	double rate = INGEST_REPORTS / ((double)us / 1e6);
	bench_note("%s ingest: %d receipts in %.2f s after %d warm-up, %d in flight, %d duplicates;"
	           " daemon cpu %.0f us/report, broker %.0f us/report; %zu alerts to the worker's"
	           " device",
	           name, INGEST_REPORTS, (double)us / 1e6, INGEST_WARMUP, WINDOW, dups,
	           cpu_ms * 1000.0 / INGEST_REPORTS, broker_ms * 1000.0 / INGEST_REPORTS,
	           got_alerts);
	if (!all)
		hx_fail("%s ingest: %d alerts missing %d s after the last receipt", name, missing,
		        DRAIN_US / 1000000);
	return rate;
}

/* --- 3. push latency ---------------------------------------------------------------------- */

static int cmp_alert(const void *a, const void *b)
{
	const struct alert *x = a, *y = b;
	int c = strcmp(x->ticket, y->ticket);
	if (c)
		return c;
	return x->at_us < y->at_us ? -1 : x->at_us > y->at_us;
}

static int cmp_ticket(const void *key, const void *elem)
{
	return strcmp(key, ((const struct alert *)elem)->ticket);
}

static void sleep_until_us(int64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000), (long)(t % 1000000) * 1000L};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

static void latency_run(struct dev *caretaker)
{
	char **payloads;
	int seq0 = new_reports(LAT_TOTAL, true, &payloads);
	pthread_mutex_lock(&mu);
	size_t alerts0 = n_alerts;
	pthread_mutex_unlock(&mu);
	const int64_t interval = 1000000 / RATE;
	int64_t t0 = bench_now_us() + 10000, max_lag = 0;
	for (int i = 0; i < LAT_TOTAL; i++) {
		int64_t due = t0 + i * interval;
		sleep_until_us(due);
		int64_t now = bench_now_us();
		if (now - due > max_lag)
			max_lag = now - due;
		reports[seq0 + i].sent_us = now;
		hx_device_publish_nowait(caretaker->d, "report", payloads[i]);
		if (i % 64 == 0) {
			pthread_mutex_lock(&mu);
			check_errors();
			pthread_mutex_unlock(&mu);
		}
	}
	free_payloads(payloads, LAT_TOTAL);

	pthread_mutex_lock(&mu);
	int64_t until = bench_now_us() + DRAIN_US;
	while (receipts_in(seq0, LAT_TOTAL) < LAT_TOTAL && bench_now_us() < until) {
		check_errors();
		wait_cv(100);
	}
	int got = receipts_in(seq0, LAT_TOTAL);
	if (got < LAT_TOTAL) {
		pthread_mutex_unlock(&mu);
		hx_fail("latency: %d of %d reports without receipt %d s after the last",
		        LAT_TOTAL - got, LAT_TOTAL, DRAIN_US / 1000000);
	}
	int missing = 0;
	bool all = wait_alerts(alerts0, seq0, LAT_TOTAL, &missing);
	size_t na = n_alerts - alerts0;
	static struct alert sorted[MAX_ALERTS];
	memcpy(sorted, alerts + alerts0, na * sizeof(sorted[0]));
	pthread_mutex_unlock(&mu);
	qsort(sorted, na, sizeof(sorted[0]), cmp_alert);

	static double push_ms[LAT_TOTAL], receipt_ms[LAT_TOTAL];
	size_t n_push = 0, n_receipt = 0, unmatched = 0, dups = 0;
	for (int i = seq0 + RATE * WARMUP_S; i < seq0 + LAT_TOTAL; i++) {
		const struct report *r = &reports[i];
		receipt_ms[n_receipt++] = (double)(r->receipt_us - r->sent_us) / 1000.0;
		if (r->duplicate) {
			dups++;
			continue;
		}
		/* The earliest alert of the ticket (sorted by ticket, then time). */
		const struct alert *a =
		    bsearch(r->ticket, sorted, na, sizeof(sorted[0]), cmp_ticket);
		while (a && a > sorted && strcmp(a[-1].ticket, r->ticket) == 0)
			a--;
		if (!a) {
			unmatched++;
			continue;
		}
		push_ms[n_push++] = (double)(a->at_us - r->sent_us) / 1000.0;
	}
	bench_note("latency: %d sealed reports/s for %d s after %d s warm-up, %zu alerts opened,"
	           " %zu duplicates, %zu reports without alert, sender at most %.1f ms behind;"
	           " receipt p50 %.2f ms p99 %.2f ms",
	           RATE, RUN_S, WARMUP_S, na, dups, unmatched, (double)max_lag / 1000.0,
	           bench_percentile(receipt_ms, n_receipt, 50),
	           bench_percentile(receipt_ms, n_receipt, 99));
	if (!all || unmatched)
		hx_fail("latency: %d alerts missing, %zu reports without alert %d s after the last",
		        missing, unmatched, DRAIN_US / 1000000);
	bench_figure("sealed_push_latency_p50_ms", bench_percentile(push_ms, n_push, 50), 2, "ms");
	bench_figure("sealed_push_latency_p99_ms", bench_percentile(push_ms, n_push, 99), 2, "ms");
	bench_figure("sealed_push_latency_max_ms", bench_percentile(push_ms, n_push, 100), 2, "ms");
}

/* --- main --------------------------------------------------------------------------------- */

int main(void)
{
	/* The harness's conventions from the bench's: the directory under
	 * $BENCH_DIR, the release daemon unless told otherwise. */
	const char *bench_dir = getenv("BENCH_DIR");
	if (bench_dir && bench_dir[0])
		setenv("TMPDIR", bench_dir, 1);
	if (getenv("KEEP_BENCH_DIR"))
		setenv("KEEP_TEST_DIR", getenv("KEEP_BENCH_DIR"), 1);
	setenv("CARELINE_BIN", "build/release/careline", 0);
	hx_watchdog(300);
	if (sodium_init() < 0)
		hx_fail("sodium_init failed");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	char uuid[37];
	bench_uuid(uuid);
	memcpy(id_prefix, uuid, 24);
	id_prefix[24] = '\0';

	h.dynsec = true;
	h.persistence = true;
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[careline]\nlog_level = warn\n"
	         "[policy slow]\nstep = primary 600\nfinal = backup 600\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);
	bench_note("sealed: broker (dynsec, persistence) and daemon in %s", h.dir);
	fetch_careline_key();

	/* The configured phones' inboxes, read by careline's admin account. */
	struct hx_device *sink =
	    hx_subscriber_connect_as(&h, "bench-sink", HX_DYNSEC_USER, HX_DYNSEC_PASSWORD,
	                             "careline/v1/dev/anna-phone/inbox");
	hx_device_set_handler(sink, on_sink, NULL);
	const char *const others[] = {"bo-phone", "carl-phone", "dorthe-phone", "jens-handheld"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char topic[96];
		snprintf(topic, sizeof(topic), "careline/v1/dev/%s/inbox", others[i]);
		if (hx_subscribe_reason(sink, topic) > 2)
			hx_fail("the sink may not read %s", topic);
	}
	char primary[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	bench_note("sealed: on duty: %s", primary);

	static struct dev caretaker, caretaker_plain, worker_plain, worker;
	add_device(&caretaker, "jens", "jens-tab", true);
	connect_device(&caretaker, on_caretaker);

	/* 1. Broker restarts, with a handful of open tickets. */
	{
		char **warm;
		int w0 = new_reports(1, true, &warm);
		reports[w0].sent_us = bench_now_us();
		hx_device_publish_nowait(caretaker.d, "report", warm[0]);
		free_payloads(warm, 1);
		pthread_mutex_lock(&mu);
		int64_t until = bench_now_us() + 5000000;
		while (!reports[w0].receipt_us && bench_now_us() < until)
			wait_cv(100);
		check_errors();
		bool ok = reports[w0].receipt_us != 0;
		pthread_mutex_unlock(&mu);
		if (!ok)
			hx_fail("no receipt for the first sealed report");
		/* Let the broker save the sessions (autosave_interval 1). */
		bench_sleep_ms(1500);
	}
	double ready_ms[RESTARTS], receipt_ms[RESTARTS];
	for (int i = 0; i < RESTARTS; i++) {
		struct restart r = restart_broker(&caretaker);
		bench_note(
		    "restart %d: careline saw it after %.1f ms; from the broker up: /readyz 200"
		    " after %.1f ms, caretaker's client back after %.1f ms, receipt after"
		    " %.1f ms",
		    i + 1, r.noticed_ms, r.ready_ms, r.device_ms, r.receipt_ms);
		ready_ms[i] = r.ready_ms;
		receipt_ms[i] = r.receipt_ms;
		bench_sleep_ms(1500); /* sessions saved again */
	}
	bench_figure("broker_restart_ready_ms", bench_percentile(ready_ms, RESTARTS, 50), 1, "ms");
	bench_figure("broker_restart_ready_max_ms", bench_percentile(ready_ms, RESTARTS, 100), 1,
	             "ms");
	bench_figure("broker_restart_first_receipt_ms", bench_percentile(receipt_ms, RESTARTS, 50),
	             1, "ms");
	bench_figure("broker_restart_first_receipt_max_ms",
	             bench_percentile(receipt_ms, RESTARTS, 100), 1, "ms");

	/* 2. Ingest: plain (devices without keys), then sealed. */
	add_device(&caretaker_plain, "jens", "jens-plain", false);
	add_device(&worker_plain, primary, "worker-plain", false);
	connect_device(&caretaker_plain, on_caretaker);
	connect_device(&worker_plain, on_worker);
	double plain = ingest_run("plain", &caretaker_plain, false);
	revoke_device(&worker_plain);
	revoke_device(&caretaker_plain);

	add_device(&worker, primary, "worker-tab", true);
	connect_device(&worker, on_worker);
	double sealed = ingest_run("sealed", &caretaker, true);
	bench_figure("mqtt_plain_ingest_per_s", plain, 0, "reports/s");
	bench_figure("mqtt_sealed_ingest_per_s", sealed, 0, "reports/s");
	bench_figure("mqtt_sealed_vs_plain_ratio", sealed / plain, 2, "ratio");

	/* 3. Push latency at a steady rate. */
	latency_run(&caretaker);

	/* One more restart, every ticket of the run still notifying. */
	pthread_mutex_lock(&mu);
	size_t alerts0 = n_alerts;
	uint64_t sink0 = sink_messages;
	pthread_mutex_unlock(&mu);
	bench_sleep_ms(1500);
	struct restart r = restart_broker(&caretaker);
	bench_sleep_ms(2000);
	pthread_mutex_lock(&mu);
	size_t resent = n_alerts - alerts0;
	uint64_t sink_resent = sink_messages - sink0;
	pthread_mutex_unlock(&mu);
	bench_note("restart with %d reports' tickets notifying: careline saw it after %.1f ms; "
	           "from the broker"
	           " up: /readyz 200 after %.1f ms, caretaker's client back after %.1f ms, receipt"
	           " after %.1f ms; within 2 s after it %zu alerts again to the worker's device,"
	           " %llu messages to the configured phones",
	           next_seq, r.noticed_ms, r.ready_ms, r.device_ms, r.receipt_ms, resent,
	           (unsigned long long)sink_resent);

	bench_figure("daemon_peak_rss_mb_sealed", (double)hx_peak_rss_kb(h.daemon_pid) / 1024.0, 1,
	             "MB");

	hx_device_free(sink);
	hx_device_free(caretaker.d);
	hx_device_free(worker.d);
	hx_stop(&h);
	return 0;
}
