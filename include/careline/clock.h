/*
 * include/careline/clock.h: the only way core logic learns the time.
 * Times are milliseconds since the Unix epoch, UTC (int64_t). The daemon uses
 * the system clock; tests use a fake clock they advance by hand, so hours of
 * escalation run in milliseconds. Core functions take `now` as an argument or a
 * const struct cl_clock *; they never call time() themselves.
 */
#ifndef CARELINE_CLOCK_H
#define CARELINE_CLOCK_H

#include <stdint.h>

struct cl_clock {
	int64_t (*now_ms)(const struct cl_clock *clock);
	int64_t fake_ms; /* used by the fake clock only */
};

/* The real wall clock (CLOCK_REALTIME). */
extern const struct cl_clock cl_clock_system;

/* A fake clock that starts at start_ms and moves only through cl_clock_advance. */
void cl_clock_fake_init(struct cl_clock *clock, int64_t start_ms);
void cl_clock_advance(struct cl_clock *clock, int64_t delta_ms);
void cl_clock_set(struct cl_clock *clock, int64_t at_ms);

static inline int64_t cl_clock_now(const struct cl_clock *clock)
{
	return clock->now_ms(clock);
}

/* Monotonic milliseconds, for measuring durations only (never stored). */
int64_t cl_monotonic_ms(void);

/* Format at_ms as RFC 3339 UTC ("2026-11-23T06:02:17Z") into buf (>= 21 bytes). */
void cl_time_format(int64_t at_ms, char *buf, unsigned long len);

/* Parse RFC 3339 ("...Z" or "+01:00") or "YYYY-MM-DD HH:MM" (taken as
 * Europe/Copenhagen wall-clock time) into ms since the epoch. Returns 0 on
 * success, -1 on a malformed string. */
int cl_time_parse(const char *s, int64_t *out_ms);

#endif
