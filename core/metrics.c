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
