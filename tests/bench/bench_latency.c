/*
 * tests/bench/bench_latency.c: report in → alert received by the on-duty
 * worker's subscribed device, at a steady 500 reports/s over HTTP (DESIGN.md
 * §8). One thread polls curl's sockets and the device's MQTT socket together,
 * so both ends read the same clock. A report's send time is when its POST was
 * handed to curl; the 201 body says its ticket, the alert carries the ticket;
 * the alert may arrive before the 201, so both are kept and joined at the end.
 * Figures: push_latency_p50_ms, push_latency_p99_ms, push_latency_max_ms,
 * report_answer_p50_ms/p99_ms (the 201's own latency), daemon_peak_rss_mb_latency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define RATE       500 /* reports/s */
#define WARMUP_S   1
#define RUN_S      10
#define TOTAL      (RATE * (WARMUP_S + RUN_S))
#define HTTP_CONNS 16
#define TICKET_MAX 16

struct sent {
	int64_t send_us;
	int64_t answer_us;
	char ticket[TICKET_MAX];
};

struct alert {
	char ticket[TICKET_MAX];
	int64_t at_us;
};

struct run {
	struct sent sent[TOTAL];
	struct alert alerts[TOTAL * 2];
	size_t n_alerts;
	uint64_t ok, bad;
};

/* The value of "ticket" in a JSON text, or false. */
static bool ticket_of(const char *s, size_t len, char out[TICKET_MAX])
{
	const char *end = s + len;
	const char *p = memmem(s, len, "\"ticket\"", 8);
	if (!p)
		return false;
	p += 8;
	while (p < end && (*p == ' ' || *p == ':'))
		p++;
	if (p >= end || *p++ != '"')
		return false;
	size_t n = 0;
	while (p < end && *p != '"' && n < TICKET_MAX - 1)
		out[n++] = *p++;
	out[n] = '\0';
	return n > 0 && p < end && *p == '"';
}

static void on_answer(void *ctx, uint64_t tag, long status, const char *body, int64_t start_us,
                      int64_t end_us)
{
	struct run *r = ctx;
	struct sent *s = &r->sent[tag];
	s->send_us = start_us;
	if (status != 201 || !ticket_of(body, strlen(body), s->ticket)) {
		if (++r->bad <= 5)
			bench_note("report %llu: status %ld: %.200s", (unsigned long long)tag,
			           status, body);
		return;
	}
	s->answer_us = end_us;
	r->ok++;
}

static void on_inbox(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
	int64_t now = bench_now_us();
	struct run *r = ctx;
	/* One alert, or several of one commit bundled ({"type": "alerts", ...}):
	 * each item starts with its "type" and names its ticket after it. */
	static const char needle[] = "\"type\":\"alert\"";
	const char *end = payload + len;
	const char *p = memmem(payload, (size_t)len, needle, sizeof(needle) - 1);
	while (p && r->n_alerts < sizeof(r->alerts) / sizeof(r->alerts[0])) {
		const char *next = memmem(p + 1, (size_t)(end - p - 1), needle, sizeof(needle) - 1);
		struct alert *a = &r->alerts[r->n_alerts];
		if (ticket_of(p, (size_t)((next ? next : end) - p), a->ticket)) {
			a->at_us = now;
			r->n_alerts++;
		}
		p = next;
	}
}

static int cmp_alert(const void *a, const void *b)
{
	return strcmp(((const struct alert *)a)->ticket, ((const struct alert *)b)->ticket);
}

int main(void)
{
	struct bench_env env;
	bench_env_start(&env);
	static struct run r;

	/* The on-duty worker's device (any of the team's: the rotation decides). */
	struct bmq *device = bmq_connect("bench-oncall", env.mqtt_port, on_inbox, &r);
	for (size_t i = 0; i < bench_n_worker_devices; i++) {
		char topic[80];
		snprintf(topic, sizeof(topic), "careline/v1/dev/%s/inbox", bench_worker_devices[i]);
		bmq_subscribe(device, topic);
	}
	struct bench_http *http =
	    bench_http_new(env.http_port, "/api/v1/reports", HTTP_CONNS, on_answer, &r);

	const int64_t interval = 1000000 / RATE;
	int64_t t0 = bench_now_us(), max_lag = 0;
	int next = 0;
	char body[2048], id[37];
	int64_t drain_until = 0;
	for (;;) {
		int64_t now = bench_now_us();
		while (next < TOTAL && now >= t0 + next * interval &&
		       bench_http_busy(http) < HTTP_CONNS) {
			if (now - (t0 + next * interval) > max_lag)
				max_lag = now - (t0 + next * interval);
			bench_uuid(id);
			size_t len = bench_report_json(body, sizeof(body), id, (uint64_t)next);
			bench_http_post(http, body, len, (uint64_t)next);
			next++;
		}
		if (next == TOTAL && bench_http_busy(http) == 0) {
			if (!drain_until)
				drain_until = now + 5000000;
			if (r.n_alerts >= r.ok || now > drain_until)
				break;
		}
		int timeout = 100;
		if (next < TOTAL) {
			int64_t wait = t0 + next * interval - now;
			timeout = wait <= 0 ? 0 : (int)((wait + 999) / 1000);
		}
		struct curl_waitfd w = {.fd = bmq_fd(device), .events = bmq_events(device)};
		bench_http_run(http, timeout, &w, 1);
		bmq_service(device, w.revents);
	}
	bench_http_free(http);

	qsort(r.alerts, r.n_alerts, sizeof(r.alerts[0]), cmp_alert);
	static double push_ms[TOTAL], answer_ms[TOTAL];
	size_t n_push = 0, n_answer = 0, missing = 0;
	for (int i = RATE * WARMUP_S; i < TOTAL; i++) {
		const struct sent *s = &r.sent[i];
		if (!s->ticket[0])
			continue;
		answer_ms[n_answer++] = (double)(s->answer_us - s->send_us) / 1000.0;
		struct alert key;
		memcpy(key.ticket, s->ticket, sizeof(key.ticket));
		const struct alert *a =
		    bsearch(&key, r.alerts, r.n_alerts, sizeof(r.alerts[0]), cmp_alert);
		if (!a) {
			missing++;
			continue;
		}
		push_ms[n_push++] = (double)(a->at_us - s->send_us) / 1000.0;
	}
	bench_note("latency: %d reports/s for %d s after %d s warm-up, %llu stored, %llu not,"
	           " %zu without alert, sender at most %.1f ms behind",
	           RATE, RUN_S, WARMUP_S, (unsigned long long)r.ok, (unsigned long long)r.bad,
	           missing, (double)max_lag / 1000.0);
	if (n_push == 0)
		bench_fail("no alert matched a report");
	bench_figure("push_latency_p50_ms", bench_percentile(push_ms, n_push, 50), 2, "ms");
	bench_figure("push_latency_p99_ms", bench_percentile(push_ms, n_push, 99), 2, "ms");
	bench_figure("push_latency_max_ms", bench_percentile(push_ms, n_push, 100), 2, "ms");
	bench_figure("report_answer_p50_ms", bench_percentile(answer_ms, n_answer, 50), 2, "ms");
	bench_figure("report_answer_p99_ms", bench_percentile(answer_ms, n_answer, 99), 2, "ms");
	if (missing)
		bench_figure("push_alerts_missing", (double)missing, 0, "alerts");
	bench_figure("daemon_peak_rss_mb_latency", bench_peak_rss_mb(env.daemon_pid), 1, "MB");

	bmq_free(device);
	bench_env_stop(&env);
	return 0;
}
