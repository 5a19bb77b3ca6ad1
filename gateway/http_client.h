/*
 * gateway/http_client.h: outbound HTTP requests from inside the careline
 * loop (libcurl multi; see http_client.c). Requests never block the loop;
 * each completes through its callback on the loop thread.
 */
#ifndef CARELINE_GW_HTTP_CLIENT_H
#define CARELINE_GW_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "careline/err.h"
#include "careline/loop.h"

struct gw_http_client;

/* status is 0 and curl_error set when no HTTP answer came (connect failed,
 * timeout); body is the response body (never NULL, valid during the call). */
typedef void (*gw_http_done_fn)(void *ctx, long status, const char *body, size_t len,
                                const char *curl_error);

enum cl_err gw_http_client_new(struct cl_loop *loop, struct gw_http_client **out);
/* Transfers still running are abandoned without their callbacks. */
void gw_http_client_free(struct gw_http_client *c);

/* POST body (copied) to url; user/password for HTTP basic auth when user is
 * non-empty. */
enum cl_err gw_http_client_post(struct gw_http_client *c, const char *url, const char *content_type,
                                const char *body, const char *user, const char *password,
                                long timeout_ms, gw_http_done_fn done, void *ctx);
/* Any request: GET (downloads: max_response caps the body), DELETE, POST. */
struct gw_http_call {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *url;
	const char *content_type; /* POST */
	const char *body;         /* POST, copied */
	const char *user;         /* basic auth when non-empty */
	const char *password;
	long timeout_ms;
	size_t max_response; /* 0: 256 kB */
	bool follow_redirects;
};
enum cl_err gw_http_client_request(struct gw_http_client *c, const struct gw_http_call *r,
                                   gw_http_done_fn done, void *ctx);

/* Transfers in progress. */
int gw_http_client_running(const struct gw_http_client *c);

#endif
