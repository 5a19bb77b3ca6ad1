/*
 * include/careline/log.h: logfmt lines on stderr, one per event:
 *   ts=2026-11-23T06:02:17.123Z level=info event=report.accepted channel=http ticket=K7FQ2
 * Callers pass only non-personal values (refs, ids, codes, counts): never text,
 * names, phone numbers or addresses. Values with spaces or quotes are quoted by
 * cl_log_kv_str(); the format string is the caller's, so keep it constant.
 */
#ifndef CARELINE_LOG_H
#define CARELINE_LOG_H

#include <stdio.h>

enum cl_log_level { CL_LOG_DEBUG, CL_LOG_INFO, CL_LOG_WARN, CL_LOG_ERROR };

/* Lines below level are dropped. Default CL_LOG_INFO. */
void cl_log_set_level(enum cl_log_level level);
/* Parse "debug|info|warn|error"; returns -1 if unknown. */
int cl_log_level_parse(const char *s, enum cl_log_level *out);
/* Send log lines to f instead of stderr (tests); NULL restores stderr. */
void cl_log_set_stream(FILE *f);

/* Write "ts=... level=... event=EVENT " then the printf-formatted rest. */
void cl_log(enum cl_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cl_debug(ev, ...) cl_log(CL_LOG_DEBUG, ev, __VA_ARGS__)
#define cl_info(ev, ...)  cl_log(CL_LOG_INFO, ev, __VA_ARGS__)
#define cl_warn(ev, ...)  cl_log(CL_LOG_WARN, ev, __VA_ARGS__)
#define cl_error(ev, ...) cl_log(CL_LOG_ERROR, ev, __VA_ARGS__)

#endif
