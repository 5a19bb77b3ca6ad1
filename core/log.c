/*
 * core/log.c: the logfmt writer behind log.h. One fprintf per line so lines
 * from one process never interleave. Knows nothing of what is logged; callers
 * keep personal data out.
 */
#include "careline/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static enum cl_log_level min_level = CL_LOG_INFO;
static FILE *stream;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cl_log_set_level(enum cl_log_level level)
{
	min_level = level;
}

int cl_log_level_parse(const char *s, enum cl_log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum cl_log_level)i;
			return 0;
		}
	}
	return -1;
}

void cl_log_set_stream(FILE *f)
{
	stream = f;
}

void cl_log(enum cl_log_level level, const char *event, const char *fmt, ...)
{
	if (level < min_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char line[1024];
	int n = snprintf(line, sizeof(line),
	                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], event);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line) && fmt && fmt[0]) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	fputs(line, stream ? stream : stderr);
}
