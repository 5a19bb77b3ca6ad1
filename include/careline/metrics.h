/*
 * include/careline/metrics.h: in-memory counters and the time-to-ack
 * histogram that /metrics exposes beside counts read from the database.
 * Owned by the service; reset on restart (Prometheus handles counter resets).
 */
#ifndef CARELINE_METRICS_H
#define CARELINE_METRICS_H

#include <stdint.h>

#include "careline/report.h"

#define CL_METRICS_ACK_BUCKETS 10

/* Upper bounds (seconds) of the time-to-ack buckets; the last is +Inf. */
extern const double cl_metrics_ack_bounds[CL_METRICS_ACK_BUCKETS - 1];

#define CL_METRICS_LATE_BUCKETS 8
/* Upper bounds (milliseconds) of the escalation lateness buckets; last +Inf. */
extern const int64_t cl_metrics_late_bounds[CL_METRICS_LATE_BUCKETS - 1];

struct cl_metrics {
	uint64_t reports[CL_CHANNEL__COUNT];    /* new tickets by channel */
	uint64_t duplicates[CL_CHANNEL__COUNT]; /* reports answered from the original */
	uint64_t rejected[CL_CHANNEL__COUNT];   /* bad input, auth failures */
	uint64_t notif_sent;
	uint64_t notif_failed; /* an attempt failed; it will be retried */
	uint64_t notif_no_contact;
	uint64_t escalations;
	uint64_t ack_timeouts;
	uint64_t commits;
	uint64_t commit_failures;
	uint64_t batched_jobs;
	uint64_t ack_count;
	double ack_seconds_sum;
	uint64_t ack_buckets[CL_METRICS_ACK_BUCKETS]; /* non-cumulative */
	/* how late escalation deadlines fired (ms after due) */
	uint64_t late_count;
	double late_ms_sum;
	int64_t late_ms_max;
	uint64_t late_buckets[CL_METRICS_LATE_BUCKETS]; /* non-cumulative */
};

void cl_metrics_observe_lateness(struct cl_metrics *m, int64_t late_ms);

void cl_metrics_observe_ack(struct cl_metrics *m, double seconds);

#endif
