/*
 * tests/fuzz/common.c: helpers of the fuzz harnesses (see common.h). Pure
 * test code: it builds inputs for the parsers and checks nothing itself.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../gateway/sms.h"
#include "careline/log.h"

void fz_quiet_logs(void)
{
	static FILE *null;
	if (!null)
		null = fopen("/dev/null", "w");
	if (null)
		cl_log_set_stream(null);
	cl_log_set_level(CL_LOG_DEBUG);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "fuzz: out of memory\n");
		exit(1);
	}
	return p;
}

char *fz_string(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The next line of s (NUL-terminated, modified in place: its end becomes
 * NUL, a trailing '\r' is dropped); *next is where the following line starts,
 * NULL after the last. */
static char *next_line(char *s, char **next)
{
	char *nl = strchr(s, '\n');
	*next = nl ? nl + 1 : NULL;
	if (nl)
		*nl = '\0';
	size_t n = strlen(s);
	if (n && s[n - 1] == '\r')
		s[n - 1] = '\0';
	return s;
}

void fz_request_parse(const uint8_t *data, size_t size, struct fz_request *r)
{
	memset(r, 0, sizeof(*r));
	/* The head ends at the first empty line; the body is everything after. */
	size_t head_len = size, body_at = size;
	for (size_t i = 0; i < size; i++) {
		if (data[i] != '\n')
			continue;
		size_t j = i + 1;
		if (j < size && data[j] == '\r')
			j++;
		if (j < size && data[j] == '\n') {
			head_len = i;
			body_at = j + 1;
			break;
		}
	}
	r->head = fz_string(data, head_len);
	r->body_len = size - body_at;
	if (r->body_len) {
		r->body = xmalloc(r->body_len);
		memcpy(r->body, data + body_at, r->body_len);
	}

	char *next = NULL;
	char *line = next_line(r->head, &next);
	if (strncmp(line, "POST ", 5) == 0)
		line += 5;
	char *q = strchr(line, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	}
	r->path = line;
	while (next && r->n_headers < FZ_MAX_HEADERS) {
		line = next_line(next, &next);
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		r->headers[r->n_headers].name = line;
		r->headers[r->n_headers].value = value;
		r->n_headers++;
	}
}

void fz_request_free(struct fz_request *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *fz_request_header(const struct fz_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static const char *header_of(void *ctx, const char *name)
{
	return fz_request_header(ctx, name);
}

void fz_request_in(const struct fz_request *r, struct gw_http_in *in)
{
	memset(in, 0, sizeof(*in));
	in->path = r->path;
	in->query = r->query;
	in->body = r->body ? r->body : "";
	in->body_len = r->body_len;
	in->content_type = fz_request_header(r, "Content-Type");
	in->header = header_of;
	in->header_ctx = (void *)r;
}
