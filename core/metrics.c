/*
 * core/metrics.c: the time-to-ack histogram buckets. Counters are plain
 * fields of struct cl_metrics, bumped where things happen.
 */
#include "careline/metrics.h"

const double cl_metrics_ack_bounds[CL_METRICS_ACK_BUCKETS - 1] = {10,  30,   60,   120, 300,
                                                                  600, 1800, 3600, 7200};

void cl_metrics_observe_ack(struct cl_metrics *m, double seconds)
{
	int b = 0;
	while (b < CL_METRICS_ACK_BUCKETS - 1 && seconds > cl_metrics_ack_bounds[b])
		b++;
	m->ack_buckets[b]++;
	m->ack_count++;
	m->ack_seconds_sum += seconds;
}

const int64_t cl_metrics_late_bounds[CL_METRICS_LATE_BUCKETS - 1] = {1,   5,    10,   50,
                                                                     100, 1000, 10000};

void cl_metrics_observe_lateness(struct cl_metrics *m, int64_t late_ms)
{
	if (late_ms < 0)
		late_ms = 0;
	int b = 0;
	while (b < CL_METRICS_LATE_BUCKETS - 1 && late_ms > cl_metrics_late_bounds[b])
		b++;
	m->late_buckets[b]++;
	m->late_count++;
	m->late_ms_sum += (double)late_ms;
	if (late_ms > m->late_ms_max)
		m->late_ms_max = late_ms;
}
