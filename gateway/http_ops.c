/*
 * gateway/http_ops.c owns the operator endpoints: /healthz (the process
 * answers), /readyz (503 when the database or the broker is unusable) and
 * /metrics (Prometheus text: reports by channel, tickets by state,
 * notifications by result, outbox depth, escalations, time-to-ack histogram,
 * commits). No token: they carry no personal data.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

struct buf {
	char *s;
	size_t len, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
}

static void mqtt_metrics(struct buf *b, const struct gw_mqtt_metrics *mm)
{
	static const char *const names[] = {
	    "report",    "action",          "queue_request", "sealed_in",      "sealed_out",
	    "malformed", "invalid",         "too_large",     "unknown_device", "revoked_device",
	    "bad_seal",  "sealed_required", "action_replay",
	};
	const uint64_t values[] = {
	    mm->reports,        mm->actions,   mm->queue_requests, mm->sealed_in,
	    mm->sealed_out,     mm->malformed, mm->invalid,        mm->too_large,
	    mm->unknown_device, mm->revoked,   mm->bad_seal,       mm->sealed_required,
	    mm->action_replays,
	};
	bprintf(b, "# HELP careline_mqtt_messages_total Device messages by what happened to them.\n"
	           "# TYPE careline_mqtt_messages_total counter\n");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		bprintf(b, "careline_mqtt_messages_total{event=\"%s\"} %llu\n", names[i],
		        (unsigned long long)values[i]);
	bprintf(b, "# TYPE careline_mqtt_devices_online gauge\ncareline_mqtt_devices_online %llu\n",
	        (unsigned long long)mm->devices_online);
}

static void metrics(struct gw_request *req)
{
	struct gw_ctx *ctx = req->http->ctx;
	const struct cl_metrics *m = cl_service_metrics(ctx->svc);
	struct cl_store *store = cl_service_store(ctx->svc);
	struct buf b = {0};

	bprintf(&b, "# HELP careline_reports_total Reports that became tickets, by channel.\n"
	            "# TYPE careline_reports_total counter\n");
	for (int c = 0; c < CL_CHANNEL__COUNT; c++)
		bprintf(&b, "careline_reports_total{channel=\"%s\"} %llu\n",
		        cl_channel_name((enum cl_channel)c), (unsigned long long)m->reports[c]);
	bprintf(&b, "# HELP careline_duplicate_reports_total Reports answered from the original.\n"
	            "# TYPE careline_duplicate_reports_total counter\n");
	for (int c = 0; c < CL_CHANNEL__COUNT; c++)
		bprintf(&b, "careline_duplicate_reports_total{channel=\"%s\"} %llu\n",
		        cl_channel_name((enum cl_channel)c), (unsigned long long)m->duplicates[c]);
	bprintf(&b,
	        "# HELP careline_rejected_total Requests refused, by reason.\n"
	        "# TYPE careline_rejected_total counter\n"
	        "careline_rejected_total{reason=\"auth\"} %llu\n"
	        "careline_rejected_total{reason=\"input\"} %llu\n"
	        "careline_rejected_total{reason=\"mqtt_input\"} %llu\n",
	        (unsigned long long)req->http->rejected_auth,
	        (unsigned long long)req->http->rejected_input,
	        (unsigned long long)m->rejected[CL_CHANNEL_MQTT]);

	int64_t tickets[CL_TICKET_STATE__COUNT];
	if (cl_store_ticket_counts(store, tickets) == CL_OK) {
		bprintf(&b, "# HELP careline_tickets Tickets by state.\n"
		            "# TYPE careline_tickets gauge\n");
		for (int s = 0; s < CL_TICKET_STATE__COUNT; s++)
			bprintf(&b, "careline_tickets{state=\"%s\"} %lld\n",
			        cl_ticket_state_name((enum cl_ticket_state)s),
			        (long long)tickets[s]);
	}
	int64_t notifs[CL_NOTIF_STATE__COUNT];
	if (cl_store_notification_counts(store, notifs) == CL_OK) {
		bprintf(&b, "# HELP careline_notifications Notifications by state.\n"
		            "# TYPE careline_notifications gauge\n");
		for (int s = 0; s < CL_NOTIF_STATE__COUNT; s++)
			bprintf(&b, "careline_notifications{state=\"%s\"} %lld\n",
			        cl_notif_state_name((enum cl_notif_state)s), (long long)notifs[s]);
		bprintf(&b,
		        "# HELP careline_outbox_depth Notifications waiting to be delivered.\n"
		        "# TYPE careline_outbox_depth gauge\n"
		        "careline_outbox_depth %lld\n",
		        (long long)notifs[CL_NOTIF_PENDING]);
	}
	bprintf(&b,
	        "# HELP careline_notification_results_total Send outcomes.\n"
	        "# TYPE careline_notification_results_total counter\n"
	        "careline_notification_results_total{result=\"delivered\"} %llu\n"
	        "careline_notification_results_total{result=\"failed_attempt\"} %llu\n"
	        "careline_notification_results_total{result=\"no_contact\"} %llu\n"
	        "# TYPE careline_escalations_total counter\n"
	        "careline_escalations_total %llu\n"
	        "# TYPE careline_ack_timeouts_total counter\n"
	        "careline_ack_timeouts_total %llu\n"
	        "# TYPE careline_commits_total counter\n"
	        "careline_commits_total %llu\n"
	        "# TYPE careline_commit_failures_total counter\n"
	        "careline_commit_failures_total %llu\n"
	        "# TYPE careline_batched_jobs_total counter\n"
	        "careline_batched_jobs_total %llu\n",
	        (unsigned long long)m->notif_sent, (unsigned long long)m->notif_failed,
	        (unsigned long long)m->notif_no_contact, (unsigned long long)m->escalations,
	        (unsigned long long)m->ack_timeouts, (unsigned long long)m->commits,
	        (unsigned long long)m->commit_failures, (unsigned long long)m->batched_jobs);

	bprintf(&b, "# HELP careline_time_to_ack_seconds From report to first acknowledgement.\n"
	            "# TYPE careline_time_to_ack_seconds histogram\n");
	uint64_t cum = 0;
	for (int i = 0; i < CL_METRICS_ACK_BUCKETS; i++) {
		cum += m->ack_buckets[i];
		if (i < CL_METRICS_ACK_BUCKETS - 1)
			bprintf(&b, "careline_time_to_ack_seconds_bucket{le=\"%g\"} %llu\n",
			        cl_metrics_ack_bounds[i], (unsigned long long)cum);
		else
			bprintf(&b, "careline_time_to_ack_seconds_bucket{le=\"+Inf\"} %llu\n",
			        (unsigned long long)cum);
	}
	bprintf(&b,
	        "careline_time_to_ack_seconds_sum %.3f\ncareline_time_to_ack_seconds_count %llu\n",
	        m->ack_seconds_sum, (unsigned long long)m->ack_count);
	if (ctx->sms) {
		const struct gw_sms_metrics *sm = gw_sms_metrics(ctx->sms);
		bprintf(&b,
		        "# HELP careline_sms_total SMS channel events.\n"
		        "# TYPE careline_sms_total counter\n"
		        "careline_sms_total{event=\"inbound\"} %llu\n"
		        "careline_sms_total{event=\"command\"} %llu\n"
		        "careline_sms_total{event=\"auth_failure\"} %llu\n"
		        "careline_sms_total{event=\"rate_limited\"} %llu\n"
		        "careline_sms_total{event=\"status_report\"} %llu\n"
		        "careline_sms_total{event=\"sent\"} %llu\n"
		        "careline_sms_total{event=\"send_failure\"} %llu\n"
		        "careline_sms_total{event=\"refused\"} %llu\n"
		        "careline_sms_total{event=\"bundled\"} %llu\n"
		        "careline_sms_total{event=\"reply_dropped\"} %llu\n",
		        (unsigned long long)sm->inbound, (unsigned long long)sm->commands,
		        (unsigned long long)sm->auth_failures, (unsigned long long)sm->rate_limited,
		        (unsigned long long)sm->status_reports, (unsigned long long)sm->sent,
		        (unsigned long long)sm->send_failures, (unsigned long long)sm->refused,
		        (unsigned long long)sm->bundled, (unsigned long long)sm->replies_dropped);
	}
	if (ctx->ivr) {
		const struct gw_ivr_metrics *im = gw_ivr_metrics(ctx->ivr);
		const struct {
			const char *name;
			uint64_t v;
		} ev[] = {
		    {"call", im->calls},
		    {"callback", im->callbacks},
		    {"auth_failure", im->auth_failures},
		    {"unknown_call", im->unknown_calls},
		    {"malformed", im->malformed},
		    {"ticket", im->tickets},
		    {"recording_stored", im->recordings_stored},
		    {"recording_failure", im->recording_failures},
		    {"recording_deleted", im->recordings_deleted},
		    {"alert_call", im->alert_calls},
		    {"alert_call_failure", im->alert_call_failures},
		    {"alert_answer", im->alert_answers},
		};
		bprintf(&b, "# HELP careline_ivr_total Hotline and alert-call events.\n"
		            "# TYPE careline_ivr_total counter\n");
		for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
			bprintf(&b, "careline_ivr_total{event=\"%s\"} %llu\n", ev[i].name,
			        (unsigned long long)ev[i].v);
	}
	bprintf(&b, "# HELP careline_escalation_lateness_ms How late escalation deadlines fired.\n"
	            "# TYPE careline_escalation_lateness_ms histogram\n");
	cum = 0;
	for (int i = 0; i < CL_METRICS_LATE_BUCKETS; i++) {
		cum += m->late_buckets[i];
		if (i < CL_METRICS_LATE_BUCKETS - 1)
			bprintf(&b, "careline_escalation_lateness_ms_bucket{le=\"%lld\"} %llu\n",
			        (long long)cl_metrics_late_bounds[i], (unsigned long long)cum);
		else
			bprintf(&b, "careline_escalation_lateness_ms_bucket{le=\"+Inf\"} %llu\n",
			        (unsigned long long)cum);
	}
	bprintf(
	    &b,
	    "careline_escalation_lateness_ms_sum %.0f\ncareline_escalation_lateness_ms_count %llu\n"
	    "# TYPE careline_escalation_lateness_ms_max gauge\n"
	    "careline_escalation_lateness_ms_max %lld\n",
	    m->late_ms_sum, (unsigned long long)m->late_count, (long long)m->late_ms_max);
	bprintf(&b, "# TYPE careline_mqtt_connected gauge\ncareline_mqtt_connected %d\n",
	        ctx->mqtt && gw_mqtt_connected(ctx->mqtt) ? 1 : 0);
	if (ctx->mqtt)
		mqtt_metrics(&b, gw_mqtt_metrics(ctx->mqtt));
	gw_http_reply_text(req, 200, b.s, "text/plain; version=0.0.4");
}

bool gw_ops_dispatch(struct gw_request *req)
{
	const char *url = req->url;
	if (strcmp(url, "/healthz") != 0 && strcmp(url, "/readyz") != 0 &&
	    strcmp(url, "/metrics") != 0)
		return false;
	if (strcmp(req->method, "GET") != 0) {
		gw_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
		return true;
	}
	struct gw_ctx *ctx = req->http->ctx;
	if (strcmp(url, "/healthz") == 0) {
		gw_http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
	} else if (strcmp(url, "/readyz") == 0) {
		bool db =
		    cl_store_healthy(cl_service_store(ctx->svc)) && cl_service_durable(ctx->svc);
		bool broker = ctx->mqtt && gw_mqtt_connected(ctx->mqtt);
		gw_http_reply_json(req, db && broker ? 200 : 503,
		                   json_pack("{s:s, s:s, s:s}", "status",
		                             db && broker ? "ready" : "not_ready", "database",
		                             db ? "ok" : "failing", "broker",
		                             broker ? "connected" : "disconnected"));
	} else if (!req->authed || req->role == CL_ROLE_PARTNER) {
		/* The counters are no one's business but the operator's: from them a
		 * stranger who can fake SMS senders could tell staff numbers apart. */
		gw_http_reply_error(req, req->authed ? 403 : 401,
		                    req->authed ? "forbidden" : "unauthorized",
		                    "/metrics needs a monitor, worker or admin token", NULL);
	} else {
		metrics(req);
	}
	return true;
}
