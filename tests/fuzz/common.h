/*
 * tests/fuzz/common.h: what the fuzz harnesses (tests/fuzz/fuzz_<parser>.c)
 * share: the libFuzzer entry points, logging sent to /dev/null at debug level
 * (so log lines are formatted but not printed), a NUL-terminated copy of the
 * input, and a small text request format for the webhook harnesses. Linked
 * into the libFuzzer binaries (make fuzz) and into the corpus replays that
 * `make test` runs (tests/fuzz/replay.c).
 */
#ifndef CARELINE_FUZZ_COMMON_H
#define CARELINE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

struct gw_http_in;

/* libFuzzer calls these; replay.c calls them too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Log everything careline logs, into /dev/null. */
void fz_quiet_logs(void);

/* data as a NUL-terminated string (cut at an embedded NUL). Caller frees;
 * exits on out of memory (a harness has nothing to recover). */
char *fz_string(const uint8_t *data, size_t size);

/* A webhook request as text, so corpus files read like the wire:
 *
 *     /hooks/twilio/sms?x=1            the path and an optional ?query
 *     X-Twilio-Signature: KKm6...      headers, "Name: value", until an empty line
 *     Content-Type: application/x-www-form-urlencoded
 *
 *     MessageSid=SM...&From=...        the body: every byte after the empty line
 *
 * Lines end in "\n" or "\r\n". Without an empty line the body is empty. */
#define FZ_MAX_HEADERS 16
struct fz_request {
	char *head; /* the copy that path, query and headers point into */
	const char *path;
	const char *query; /* NULL when the first line has no '?' */
	struct {
		const char *name;
		const char *value;
	} headers[FZ_MAX_HEADERS];
	size_t n_headers;
	char *body; /* exactly body_len bytes, not NUL-terminated, so ASan sees
	               any read past the end; NULL when body_len is 0 */
	size_t body_len;
};
void fz_request_parse(const uint8_t *data, size_t size, struct fz_request *r);
void fz_request_free(struct fz_request *r);
/* The first header called name (case-insensitive), or NULL. */
const char *fz_request_header(const struct fz_request *r, const char *name);
/* A struct gw_http_in borrowing from r, as gateway/sms.c and ivr.c build it. */
void fz_request_in(const struct fz_request *r, struct gw_http_in *in);

#endif
