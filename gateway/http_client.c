/*
 * gateway/http_client.c owns outbound HTTP: one libcurl multi handle driven
 * by the careline loop through curl's socket and timer callbacks, so a slow
 * provider never blocks the loop. Each request carries a completion callback
 * that gets the HTTP status and body (or curl's error). Used by the SMS
 * sender; the core never sees it.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "careline/clock.h"
#include "careline/log.h"

#define MAX_BODY (256 * 1024) /* a provider's answer; downloads set their own cap */

struct gw_http_client {
	struct cl_loop *loop;
	CURLM *multi;
	int64_t deadline_ms; /* when curl wants its timeout action; 0 none */
	int running;
	struct transfer *transfers; /* in progress, for cleanup */
};

struct transfer {
	struct gw_http_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char *request_body;
	char *body;
	size_t len;
	size_t max_len;
	gw_http_done_fn done;
	void *ctx;
	struct transfer *prev, *next;
};

static void transfer_free(struct transfer *t)
{
	struct gw_http_client *c = t->c;
	if (t->prev)
		t->prev->next = t->next;
	else if (c->transfers == t)
		c->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	curl_multi_remove_handle(c->multi, t->easy);
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->request_body);
	free(t->body);
	free(t);
}

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t add = size * n;
	if (t->len + add > t->max_len)
		return 0; /* bigger than expected: fail the transfer */
	char *b = realloc(t->body, t->len + add + 1);
	if (!b)
		return 0;
	memcpy(b + t->len, ptr, add);
	t->body = b;
	t->len += add;
	b[t->len] = '\0';
	return add;
}

static void finish(struct transfer *t, CURLcode rc)
{
	long status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (t->done)
		t->done(t->ctx, status, t->body ? t->body : "", t->len,
		        rc == CURLE_OK ? NULL : curl_easy_strerror(rc));
	transfer_free(t);
}

static void check_done(struct gw_http_client *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct transfer *t;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		finish(t, msg->data.result);
	}
}

static void on_socket_ready(void *ctx, uint32_t events);

/* The loop watch of a curl socket, stored with curl_multi_assign. */
struct sock {
	struct gw_http_client *c;
	curl_socket_t fd;
	struct cl_loop_watch *watch;
};

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct gw_http_client *c = userp;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			cl_loop_del(c->loop, s->watch);
			curl_multi_assign(c->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	uint32_t events =
	    (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->c = c;
		s->fd = fd;
		if (cl_loop_add(c->loop, fd, events, on_socket_ready, s, &s->watch) != CL_OK) {
			free(s);
			return -1;
		}
		curl_multi_assign(c->multi, fd, s);
		return 0;
	}
	return cl_loop_mod(c->loop, s->watch, events) == CL_OK ? 0 : -1;
}

static void on_socket_ready(void *ctx, uint32_t events)
{
	struct sock *s = ctx;
	struct gw_http_client *c = s->c;
	int mask = (events & EPOLLIN ? CURL_CSELECT_IN : 0) |
	           (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
	           (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
	curl_multi_socket_action(c->multi, s->fd, mask, &c->running);
	check_done(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct gw_http_client *c = userp;
	c->deadline_ms = timeout_ms < 0 ? 0 : cl_clock_now(&cl_clock_system) + timeout_ms;
	return 0;
}

static void on_pass_end(void *ctx)
{
	struct gw_http_client *c = ctx;
	if (c->deadline_ms && cl_clock_now(&cl_clock_system) >= c->deadline_ms) {
		c->deadline_ms = 0;
		curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
		check_done(c);
	}
}

static int64_t next_deadline(void *ctx)
{
	struct gw_http_client *c = ctx;
	return c->deadline_ms;
}

enum cl_err gw_http_client_new(struct cl_loop *loop, struct gw_http_client **out)
{
	*out = NULL;
	struct gw_http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ERR_NOMEM;
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return CL_ERR_NOMEM;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	enum cl_err err = cl_loop_add_hook(loop, on_pass_end, c);
	if (err == CL_OK)
		err = cl_loop_add_deadline(loop, next_deadline, c);
	if (err != CL_OK) {
		gw_http_client_free(c);
		return err;
	}
	*out = c;
	return CL_OK;
}

void gw_http_client_free(struct gw_http_client *c)
{
	if (!c)
		return;
	/* Unfinished transfers are abandoned; their callbacks are not called. */
	while (c->transfers)
		transfer_free(c->transfers);
	curl_multi_cleanup(c->multi);
	free(c);
}

enum cl_err gw_http_client_request(struct gw_http_client *c, const struct gw_http_call *r,
                                   gw_http_done_fn done, void *ctx)
{
	struct transfer *t = calloc(1, sizeof(*t));
	if (!t)
		return CL_ERR_NOMEM;
	t->c = c;
	t->done = done;
	t->ctx = ctx;
	t->max_len = r->max_response ? r->max_response : MAX_BODY;
	t->easy = curl_easy_init();
	bool post = strcmp(r->method, "POST") == 0;
	t->request_body = post ? strdup(r->body ? r->body : "") : NULL;
	if (post && r->content_type) {
		char ct[96];
		snprintf(ct, sizeof(ct), "Content-Type: %s", r->content_type);
		t->headers = curl_slist_append(NULL, ct);
	}
	if (!t->easy || (post && (!t->request_body || (r->content_type && !t->headers)))) {
		curl_easy_cleanup(t->easy);
		curl_slist_free_all(t->headers);
		free(t->request_body);
		free(t);
		return CL_ERR_NOMEM;
	}
	CURL *e = t->easy;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	if (post) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(t->request_body));
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (t->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 r->timeout_ms < 10000 ? r->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "careline");
	if (r->follow_redirects) {
		/* Twilio answers a recording's URL with a redirect to its storage;
		 * the credentials are not sent on to another host. */
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	if (r->user && r->user[0]) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, r->password ? r->password : "");
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(t->headers);
		free(t->request_body);
		free(t);
		return CL_ERR_IO;
	}
	t->next = c->transfers;
	if (c->transfers)
		c->transfers->prev = t;
	c->transfers = t;
	return CL_OK;
}

enum cl_err gw_http_client_post(struct gw_http_client *c, const char *url, const char *content_type,
                                const char *body, const char *user, const char *password,
                                long timeout_ms, gw_http_done_fn done, void *ctx)
{
	struct gw_http_call r = {.method = "POST",
	                         .url = url,
	                         .content_type = content_type,
	                         .body = body,
	                         .user = user,
	                         .password = password,
	                         .timeout_ms = timeout_ms};
	return gw_http_client_request(c, &r, done, ctx);
}

int gw_http_client_running(const struct gw_http_client *c)
{
	return c->running;
}
