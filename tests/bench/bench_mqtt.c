/*
 * tests/bench/bench_mqtt.c: MQTT ingest with receipts beside the broker's own
 * pass-through in the same run (DESIGN.md §8). First one publisher → one
 * subscriber at QoS 1 through the broker alone; then BENCH_DEVICES devices,
 * each keeping DEVICE_WINDOW reports in flight and sending the next when a
 * receipt arrives on its inbox, while the on-duty devices take the alerts.
 * Figures: mqtt_broker_passthrough_mps, mqtt_ingest_rps (+ reports per
 * commit, disk bytes per report), mqtt_vs_broker_ratio, daemon_peak_rss_mb_mqtt.
 * Each report costs the broker three pass-throughs (report, receipt, alert),
 * so the ratio cannot pass about 0.33 even with a free daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define PASS_WINDOW   500
#define PASS_WARMUP   5000
#define PASS_MESSAGES 60000
#define DEVICE_WINDOW 200
#define MQTT_WARMUP   2000
#define MQTT_REPORTS  40000
#define STALL_US      10000000

static bool has(const char *payload, int len, const char *needle)
{
	return memmem(payload, (size_t)len, needle, strlen(needle)) != NULL;
}

/* How many items of a type a message holds: careline bundles several
 * receipts or alerts of one commit ({"type": "receipts", "receipts": [...]}). */
static int count(const char *payload, int len, const char *needle)
{
	int n = 0;
	size_t nlen = strlen(needle);
	const char *p = payload, *end = payload + len;
	while ((p = memmem(p, (size_t)(end - p), needle, nlen))) {
		n++;
		p += nlen;
	}
	return n;
}

/* --- the broker alone ------------------------------------------------------------ */

struct pass {
	uint64_t received;
	int64_t t_start, t_end;
};

static void on_pass(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
	struct pass *p = ctx;
	p->received++;
	if (p->received == PASS_WARMUP)
		p->t_start = bench_now_us();
	else if (p->received == PASS_WARMUP + PASS_MESSAGES)
		p->t_end = bench_now_us();
}

static double passthrough(const struct bench_env *env)
{
	struct pass p = {0};
	struct bmq *sub = bmq_connect("bench-pass-sub", env->mqtt_port, on_pass, &p);
	bmq_subscribe(sub, "bench/passthrough");
	struct bmq *pub = bmq_connect("bench-pass-pub", env->mqtt_port, NULL, NULL);
	struct bmq *both[] = {pub, sub};
	/* A message of a report's mean size. */
	char payload[2048], id[37];
	bench_uuid(id);
	size_t sum = 0;
	for (uint64_t seq = 0; seq < 1000; seq++)
		sum += bench_report_json(payload, sizeof(payload), id, seq);
	int len = 0;
	for (uint64_t seq = 0; (size_t)len < sum / 1000; seq++)
		len = (int)bench_report_json(payload, sizeof(payload), id, seq);
	int64_t cpu_b0 = bench_cpu_ms(env->broker_pid), cpu_c0 = bench_cpu_ms(getpid());
	int64_t wall0 = bench_now_us();
	uint64_t sent = 0, total = PASS_WARMUP + PASS_MESSAGES, last = 0;
	int64_t last_progress = bench_now_us();
	while (p.received < total) {
		while (sent < total && sent - p.received < PASS_WINDOW) {
			bmq_publish(pub, "bench/passthrough", payload, len);
			sent++;
		}
		bmq_pump(both, 2, 100);
		int64_t now = bench_now_us();
		if (p.received != last) {
			last = p.received;
			last_progress = now;
		} else if (now - last_progress > STALL_US) {
			bench_fail("broker pass-through stalled at %llu of %llu",
			           (unsigned long long)p.received, (unsigned long long)total);
		}
	}
	double secs = (double)(p.t_end - p.t_start) / 1e6;
	double wall = (double)(bench_now_us() - wall0) / 1e6;
	bench_note("broker: %d messages of %d bytes in %.2f s; cpu ms/s: broker %.0f, clients %.0f",
	           PASS_MESSAGES, len, secs,
	           (double)(bench_cpu_ms(env->broker_pid) - cpu_b0) / wall,
	           (double)(bench_cpu_ms(getpid()) - cpu_c0) / wall);
	bmq_free(pub);
	bmq_free(sub);
	return PASS_MESSAGES / secs;
}

/* --- careline's MQTT ingest ----------------------------------------------------------- */

struct ingest;

struct device {
	struct ingest *in;
	struct bmq *q;
	char topic[80];
	int inflight;
};

struct ingest {
	struct device dev[BENCH_DEVICES];
	uint64_t seq, receipts, errors, alerts;
	bool sending;
	int64_t t_start, t_end;
};

static void send_report(struct device *d)
{
	char body[2048], id[37];
	bench_uuid(id);
	size_t len = bench_report_json(body, sizeof(body), id, d->in->seq++);
	bmq_publish(d->q, d->topic, body, (int)len);
	d->inflight++;
}

static void on_inbox(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
	struct device *d = ctx;
	struct ingest *in = d->in;
	int answered = count(payload, len, "\"type\":\"receipt\"");
	for (int i = 0; i < answered; i++) {
		in->receipts++;
		if (in->receipts == MQTT_WARMUP)
			in->t_start = bench_now_us();
		else if (in->receipts == MQTT_WARMUP + MQTT_REPORTS)
			in->t_end = bench_now_us();
	}
	if (has(payload, len, "\"type\":\"error\"")) {
		if (++in->errors <= 5)
			bench_note("%s: %.*s", topic, len, payload);
		answered++;
	}
	for (int i = 0; i < answered; i++) {
		d->inflight--;
		if (in->sending)
			send_report(d);
	}
}

static void on_alert(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
	struct ingest *in = ctx;
	in->alerts += (uint64_t)count(payload, len, "\"type\":\"alert\"");
}

int main(void)
{
	struct bench_env env;
	bench_env_start(&env);

	double broker = passthrough(&env);
	bench_figure("mqtt_broker_passthrough_mps", broker, 0, "messages/s");

	static struct ingest in;
	struct bmq *clients[BENCH_DEVICES + 1];
	/* The on-duty worker's device (and the rest of the team's) takes the
	 * alerts every report causes, so none is retried for want of a session. */
	struct bmq *alerts = bmq_connect("bench-alerts", env.mqtt_port, on_alert, &in);
	for (size_t i = 0; i < bench_n_worker_devices; i++) {
		char topic[80];
		snprintf(topic, sizeof(topic), "careline/v1/dev/%s/inbox", bench_worker_devices[i]);
		bmq_subscribe(alerts, topic);
	}
	clients[BENCH_DEVICES] = alerts;
	for (int i = 0; i < BENCH_DEVICES; i++) {
		struct device *d = &in.dev[i];
		char id[32], inbox[80];
		snprintf(id, sizeof(id), BENCH_DEVICE_FMT, i + 1);
		snprintf(d->topic, sizeof(d->topic), "careline/v1/dev/%s/report", id);
		snprintf(inbox, sizeof(inbox), "careline/v1/dev/%s/inbox", id);
		d->in = &in;
		d->q = bmq_connect(id, env.mqtt_port, on_inbox, d);
		bmq_subscribe(d->q, inbox);
		clients[i] = d->q;
	}
	double commits0 = bench_metric(&env, "careline_commits_total");
	double reports0 = bench_metric(&env, "careline_reports_total{channel=\"mqtt\"}");

	int64_t cpu_d0 = bench_cpu_ms(env.daemon_pid), cpu_b0 = bench_cpu_ms(env.broker_pid);
	int64_t cpu_c0 = bench_cpu_ms(getpid()), wall0 = bench_now_us();
	int64_t disk0 = bench_disk_write_bytes(env.daemon_pid);
	in.sending = true;
	for (int i = 0; i < BENCH_DEVICES; i++)
		for (int k = 0; k < DEVICE_WINDOW; k++)
			send_report(&in.dev[i]);
	uint64_t last = 0;
	int64_t last_progress = bench_now_us();
	while (in.receipts < MQTT_WARMUP + MQTT_REPORTS) {
		bmq_pump(clients, BENCH_DEVICES + 1, 100);
		int64_t now = bench_now_us();
		if (in.receipts != last) {
			last = in.receipts;
			last_progress = now;
		} else if (now - last_progress > STALL_US) {
			bench_fail("no receipt for 10 s (%llu received, %llu errors)",
			           (unsigned long long)in.receipts, (unsigned long long)in.errors);
		}
	}
	in.sending = false;
	double wall = (double)(bench_now_us() - wall0) / 1e6;
	bench_note("mqtt: cpu ms/s over %.1f s: daemon %.0f, broker %.0f, these clients %.0f", wall,
	           (double)(bench_cpu_ms(env.daemon_pid) - cpu_d0) / wall,
	           (double)(bench_cpu_ms(env.broker_pid) - cpu_b0) / wall,
	           (double)(bench_cpu_ms(getpid()) - cpu_c0) / wall);
	/* The reports still in flight, then their alerts. */
	int64_t until = bench_now_us() + STALL_US;
	int inflight;
	do {
		bmq_pump(clients, BENCH_DEVICES + 1, 100);
		inflight = 0;
		for (int i = 0; i < BENCH_DEVICES; i++)
			inflight += in.dev[i].inflight;
	} while ((inflight > 0 || in.alerts < in.receipts) && bench_now_us() < until);
	if (inflight > 0 || in.alerts < in.receipts)
		bench_note("mqtt: %d reports without receipt, %llu alerts for %llu receipts",
		           inflight, (unsigned long long)in.alerts,
		           (unsigned long long)in.receipts);
	double disk = (double)(bench_disk_write_bytes(env.daemon_pid) - disk0);
	double commits = bench_metric(&env, "careline_commits_total") - commits0;
	double reports = bench_metric(&env, "careline_reports_total{channel=\"mqtt\"}") - reports0;

	double secs = (double)(in.t_end - in.t_start) / 1e6;
	double rps = MQTT_REPORTS / secs;
	bench_note("mqtt: %d receipts in %.2f s after %d warm-up, %d devices x %d in flight,"
	           " %llu errors, %.0f commits",
	           MQTT_REPORTS, secs, MQTT_WARMUP, BENCH_DEVICES, DEVICE_WINDOW,
	           (unsigned long long)in.errors, commits);
	bench_figure("mqtt_ingest_rps", rps, 0, "reports/s");
	if (commits > 0 && reports > 0) {
		bench_figure("mqtt_reports_per_commit", reports / commits, 1, "reports");
		bench_figure("mqtt_disk_write_kb_per_report", disk / 1024 / reports, 1, "kB");
	}
	bench_figure("mqtt_vs_broker_ratio", rps / broker, 2, "ratio");
	bench_figure("daemon_peak_rss_mb_mqtt", bench_peak_rss_mb(env.daemon_pid), 1, "MB");

	for (int i = 0; i < BENCH_DEVICES; i++)
		bmq_free(in.dev[i].q);
	bmq_free(alerts);
	bench_env_stop(&env);
	return 0;
}
