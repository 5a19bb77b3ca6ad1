/*
 * gateway/http.c owns libmicrohttpd: one daemon per listener (TCP for the
 * API, a Unix socket for carelinectl) in external-epoll mode inside the
 * careline loop. It collects bodies under a size cap, authenticates bearer
 * tokens, hands complete requests to the routes, and suspends a request until
 * the group commit that holds its report or action, then resumes it to send
 * the answer. MHD_run is called on readiness and at the end of every pass.
 * It also owns the listener's limits ([http]): header memory, idle and whole-
 * request timeouts, connections per client address, and a token bucket per
 * address for requests without a valid token (webhooks, /healthz, bad tokens).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "http_internal.h"

/* libmicrohttpd's per-connection pool: the request line and headers must fit
 * (431 otherwise). GatewayAPI's signature header carries the whole body as a
 * JWT (a long text, \u-escaped, is ~13 kB), hence not smaller. */
#define CONN_MEMORY_LIMIT (32 * 1024)
#define BUCKETS           4096 /* client addresses remembered by the rate limit */
#define BUCKET_PROBE      8    /* slots looked at per address */
#define LOG_WINDOW_MS     10000
#define LOG_LINES         20 /* libmicrohttpd messages per window, then a sum */

/* A connection between accept (or its previous answer) and the moment its
 * request is complete: it must get there by deadline_ms. */
struct gw_http_conn {
	int fd;
	int64_t deadline_ms; /* monotonic; 0: not waiting (request in, or being answered) */
	struct gw_http_conn *prev, *next;
};

/* Requests without a token from one address (IPv6: its /64). */
struct gw_http_bucket {
	unsigned char key[16];
	bool used;
	int64_t last_ms;
	int64_t milli; /* thousandths of a request left */
};

/* --- request deadlines (slow clients) ---------------------------------------------- */

static void conn_unlink(struct gw_http *http, struct gw_http_conn *c)
{
	if (!c->deadline_ms)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		http->waiting_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		http->waiting_tail = c->prev;
	c->prev = c->next = NULL;
	c->deadline_ms = 0;
}

/* Start the clock for the next request on c. Every deadline is now plus the
 * same timeout, so appending keeps the list in deadline order. */
static void conn_arm(struct gw_http *http, struct gw_http_conn *c)
{
	conn_unlink(http, c);
	c->deadline_ms = cl_monotonic_ms() + (int64_t)http->ctx->cfg->http_request_timeout_s * 1000;
	c->prev = http->waiting_tail;
	if (http->waiting_tail)
		http->waiting_tail->next = c;
	else
		http->waiting_head = c;
	http->waiting_tail = c;
}

static struct gw_http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct gw_http *http = cls;
	struct gw_http_conn *c = *socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = info ? calloc(1, sizeof(*c)) : NULL;
		if (c) {
			c->fd = info->connect_fd;
			conn_arm(http, c);
		}
		*socket_context = c;
	} else if (c) {
		conn_unlink(http, c);
		free(c);
		*socket_context = NULL;
	}
}

/* Connections whose request did not arrive in time, however slowly they
 * trickle (the idle timeout only catches silent ones): shut the socket, so
 * libmicrohttpd reads its end and closes the connection itself. */
static void expire_slow(struct gw_http *http)
{
	int64_t now = cl_monotonic_ms();
	while (http->waiting_head && http->waiting_head->deadline_ms <= now) {
		struct gw_http_conn *c = http->waiting_head;
		conn_unlink(http, c);
		shutdown(c->fd, SHUT_RDWR);
		http->timed_out++;
	}
}

/* --- rate limit of requests without a token ----------------------------------------- */

static bool address_key(struct MHD_Connection *conn, unsigned char key[16])
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info ? info->client_addr : NULL;
	memset(key, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff; /* as ::ffff:a.b.c.d, the same key dual-stack gives */
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
		                                           0, 0, 0, 0, 0xff, 0xff};
		/* One host owns a whole /64: count it as one address. */
		memcpy(key, a, memcmp(a, v4mapped, 12) == 0 ? 16 : 8);
		return true;
	}
	return false;
}

static size_t bucket_index(const struct gw_http *http, const unsigned char key[16])
{
	uint64_t h = 14695981039346656037ULL ^ http->bucket_seed; /* FNV-1a, seeded */
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return (size_t)((h ^ (h >> 32)) % BUCKETS);
}

/* Take one request from the address's bucket: 0 when it may go on, else the
 * seconds until it may. A forgotten address starts with a full bucket, so
 * reusing the least recently seen slot never makes anyone wait. */
static unsigned bucket_take(struct gw_http *http, const unsigned char key[16])
{
	const struct cl_config *cfg = http->ctx->cfg;
	int64_t now = cl_monotonic_ms(), full = (int64_t)cfg->http_per_ip_burst * 1000;
	size_t at = bucket_index(http, key);
	struct gw_http_bucket *b = NULL, *spare = NULL;
	for (size_t i = 0; i < BUCKET_PROBE && !b; i++) {
		struct gw_http_bucket *x = &http->buckets[(at + i) % BUCKETS];
		if (x->used && memcmp(x->key, key, 16) == 0)
			b = x;
		else if (!spare || (spare->used && (!x->used || x->last_ms < spare->last_ms)))
			spare = x;
	}
	if (!b) {
		b = spare;
		memcpy(b->key, key, 16);
		b->used = true;
		b->last_ms = now;
		b->milli = full;
	}
	b->milli += (now - b->last_ms) * (int64_t)cfg->http_per_ip_rate;
	if (b->milli > full)
		b->milli = full;
	b->last_ms = now;
	if (b->milli >= 1000) {
		b->milli -= 1000;
		return 0;
	}
	int64_t wait_ms = (1000 - b->milli + cfg->http_per_ip_rate - 1) / cfg->http_per_ip_rate;
	return (unsigned)((wait_ms + 999) / 1000);
}

/* --- logging without flooding -------------------------------------------------------- */

/* Once per window: what the limits did since the last line, and how many of
 * libmicrohttpd's messages were left out. Addresses are never logged. */
static void log_window(struct gw_http *http)
{
	int64_t now = cl_monotonic_ms();
	if (now - http->log_window_ms < LOG_WINDOW_MS)
		return;
	http->log_window_ms = now;
	http->log_lines = 0;
	if (http->timed_out != http->logged_timed_out ||
	    http->rate_limited != http->logged_rate_limited || http->log_suppressed)
		cl_warn("http.limits",
		        "request_timeouts=%llu rate_limited=%llu mhd_suppressed=%llu",
		        (unsigned long long)(http->timed_out - http->logged_timed_out),
		        (unsigned long long)(http->rate_limited - http->logged_rate_limited),
		        (unsigned long long)http->log_suppressed);
	http->logged_timed_out = http->timed_out;
	http->logged_rate_limited = http->rate_limited;
	http->log_suppressed = 0;
}

static void respond(struct gw_request *req)
{
	const char *body = req->resp ? req->resp : "";
	size_t len = req->resp_len ? req->resp_len : strlen(body);
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	free(req->resp);
	req->resp = NULL;
	req->resp_len = 0;
	req->ready = false; /* queued once; later calls have nothing to send */
	if (!r)
		return;
	MHD_add_response_header(r, "Content-Type",
	                        req->content_type ? req->content_type : "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (req->retry_after) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%u", req->retry_after);
		MHD_add_response_header(r, "Retry-After", secs);
	}
	if (req->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	MHD_queue_response(req->conn, req->status, r);
	MHD_destroy_response(r);
}

void gw_http_reply_bytes(struct gw_request *req, unsigned status, unsigned char *data, size_t len,
                         const char *content_type)
{
	gw_http_reply_text(req, status, (char *)data, content_type);
	req->resp_len = len;
}

void gw_http_reply_text(struct gw_request *req, unsigned status, char *text,
                        const char *content_type)
{
	free(req->resp);
	req->resp_len = 0;
	req->resp = text;
	req->status = status;
	req->content_type = content_type;
	req->ready = true;
	req->retry_after = status == 503 ? 1 : 0;
	if (status == 401 || status == 403)
		req->http->rejected_auth++;
	else if (status >= 400 && status < 500)
		req->http->rejected_input++;
}

void gw_http_reply_json(struct gw_request *req, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	gw_http_reply_text(req, status, s, "application/json");
}

void gw_http_reply_error(struct gw_request *req, unsigned status, const char *code,
                         const char *message, const char *by)
{
	gw_http_reply_json(req, status, gw_json_error(code, message, by));
}

json_t *gw_http_parse_body(struct gw_request *req)
{
	json_error_t jerr;
	json_t *o =
	    req->body ? json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!o) {
		char msg[200];
		snprintf(msg, sizeof(msg), "malformed JSON: %s",
		         req->body ? jerr.text : "empty body");
		gw_http_reply_error(req, 400, "malformed_json", msg, NULL);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		gw_http_reply_error(req, 400, "invalid", "the body must be a JSON object", NULL);
		return NULL;
	}
	return o;
}

void gw_http_suspend(struct gw_request *req)
{
	MHD_suspend_connection(req->conn);
}

void gw_http_resume(struct gw_request *req)
{
	req->job = NULL;
	MHD_resume_connection(req->conn);
}

const char *gw_http_header(struct gw_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *gw_http_query(struct gw_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static void authenticate(struct gw_request *req)
{
	if (req->http->admin) {
		req->authed = true;
		req->role = CL_ROLE_ADMIN;
		snprintf(req->token, sizeof(req->token), "admin-socket");
		return;
	}
	const char *auth =
	    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return;
	const struct cl_token *t = cl_config_token(req->http->ctx->cfg, auth + 7);
	if (!t)
		return;
	req->authed = true;
	req->role = t->role;
	snprintf(req->person, sizeof(req->person), "%s", t->person);
	snprintf(req->token, sizeof(req->token), "%s", t->name);
}

/* Called before the URI is parsed: the request object starts here, with the
 * raw URI (the query string intact, as webhook signatures need it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct gw_request *req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->http = cls;
	const char *q = uri ? strchr(uri, '?') : NULL;
	if (q && strlen(q + 1) < sizeof(req->query))
		snprintf(req->query, sizeof(req->query), "%s", q + 1);
	req->has_query = q != NULL;
	return req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct gw_http *http = cls;
	struct gw_request *req = *con_cls;
	if (!req)
		return MHD_NO; /* on_uri made it; only out of memory leaves it NULL */
	if (!req->started) {
		req->started = true;
		req->conn = conn;
		req->method = method;
		req->url = url;
		http->requests++;
		authenticate(req);
		unsigned char key[16];
		unsigned wait_s = http->buckets && !req->authed && address_key(conn, key)
		                      ? bucket_take(http, key)
		                      : 0;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (wait_s) {
			/* Refused before the body is read (or a signature checked). */
			http->rate_limited++;
			req->dispatched = true;
			gw_http_reply_error(req, 429, "rate_limited",
			                    "too many requests from this address; retry later",
			                    NULL);
			req->retry_after = wait_s;
		} else if (cl && strtoull(cl, NULL, 10) > http->ctx->cfg->http_max_body) {
			/* Refuse before reading the body; MHD closes the connection. */
			req->too_big = true;
			req->dispatched = true;
			gw_http_reply_error(req, 413, "too_large", "request body over the size cap",
			                    NULL);
		}
		if (req->dispatched) {
			struct gw_http_conn *c = conn_of(conn);
			if (c)
				conn_unlink(http, c);
			respond(req);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big) {
			size_t need = req->len + *upload_size + 1;
			if (need > http->ctx->cfg->http_max_body + 1) {
				req->too_big = true;
			} else {
				if (need > req->cap) {
					size_t cap = need * 2;
					char *b = realloc(req->body, cap);
					if (!b)
						return MHD_NO;
					req->body = b;
					req->cap = cap;
				}
				memcpy(req->body + req->len, upload, *upload_size);
				req->len += *upload_size;
				req->body[req->len] = '\0';
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!req->dispatched) {
		req->dispatched = true;
		/* The request is in: no deadline while it is answered. */
		struct gw_http_conn *c = conn_of(conn);
		if (c)
			conn_unlink(http, c);
		if (req->too_big)
			gw_http_reply_error(req, 413, "too_large", "request body over the size cap",
			                    NULL);
		else if (!gw_ops_dispatch(req) && !gw_ivr_dispatch(req) && !gw_sms_dispatch(req) &&
		         !gw_devices_dispatch(req) && !gw_recordings_dispatch(req) &&
		         !gw_keys_dispatch(req) && !gw_audit_dispatch(req))
			gw_api_dispatch(req);
	}
	if (!req->ready)
		return MHD_YES; /* suspended until the commit */
	respond(req);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct gw_http *http = cls;
	struct gw_request *req = *con_cls;
	/* A kept-alive connection has request_timeout for its next request. */
	struct gw_http_conn *c = conn ? conn_of(conn) : NULL;
	if (c && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		conn_arm(http, c);
	if (!req)
		return;
	cl_service_job_cancel(req->job);
	free(req->body);
	free(req->resp);
	free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct gw_http *http = cls;
	log_window(http);
	if (++http->log_lines > LOG_LINES) {
		http->log_suppressed++; /* refused connections under a flood */
		return;
	}
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\n')
			*p = ' ';
	cl_warn("http.mhd", "msg=\"%s\"", msg);
}

static void on_ready(void *ctx, uint32_t events)
{
	struct gw_http *http = ctx;
	MHD_run(http->d);
}

static void on_pass_end(void *ctx)
{
	struct gw_http *http = ctx;
	expire_slow(http);
	MHD_run(http->d);
	log_window(http);
}

static int64_t next_deadline(void *ctx)
{
	struct gw_http *http = ctx;
	int64_t now = cl_clock_now(&cl_clock_system), next = 0;
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(http->d, &ms) == MHD_YES)
		next = now + (int64_t)ms;
	if (http->waiting_head) {
		/* The loop's deadlines are wall-clock; this one is monotonic. */
		int64_t left = http->waiting_head->deadline_ms - cl_monotonic_ms();
		int64_t at = now + (left > 0 ? left : 0);
		if (!next || at < next)
			next = at;
	}
	return next;
}

static int listen_tcp(const char *listen_addr, int *port_out)
{
	char host[128];
	const char *colon = strrchr(listen_addr, ':');
	if (!colon || (size_t)(colon - listen_addr) >= sizeof(host))
		return -1;
	memcpy(host, listen_addr, (size_t)(colon - listen_addr));
	host[colon - listen_addr] = '\0';
	char *h = host;
	if (h[0] == '[') { /* [::1]:8080 */
		h++;
		h[strlen(h) - 1] = '\0';
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	if (getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai) != 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		cl_error("http.listen_failed", "addr=%s errno=%d", listen_addr, errno);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		cl_error("http.admin_listen_failed", "errno=%d", errno);
		close(fd);
		return -1;
	}
	return fd;
}

enum cl_err gw_http_start(struct gw_ctx *ctx, const char *unix_path, struct gw_http **out)
{
	*out = NULL;
	struct gw_http *http = calloc(1, sizeof(*http));
	if (!http)
		return CL_ERR_NOMEM;
	http->ctx = ctx;
	int fd;
	if (unix_path) {
		http->admin = true;
		snprintf(http->unix_path, sizeof(http->unix_path), "%s", unix_path);
		fd = listen_unix(unix_path);
	} else {
		fd = listen_tcp(ctx->cfg->http_listen, &http->port);
	}
	if (fd < 0) {
		free(http);
		return CL_ERR_IO;
	}
	const struct cl_config *cfg = ctx->cfg;
	if (!http->admin && cfg->http_per_ip_rate) {
		http->buckets = calloc(BUCKETS, sizeof(*http->buckets));
		if (!http->buckets ||
		    cl_crypto_random(&http->bucket_seed, sizeof(http->bucket_seed)) != CL_OK) {
			close(fd);
			free(http->buckets);
			free(http);
			return CL_ERR_NOMEM;
		}
	}
	/* Addresses mean nothing on the Unix socket: no per-address cap there. */
	unsigned per_ip = http->admin ? 0 : cfg->http_per_ip_connections;
	http->d = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
	    http, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, http, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
	    http, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, http,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, http, MHD_OPTION_CONNECTION_TIMEOUT,
	    cfg->http_idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
	    MHD_OPTION_END);
	if (!http->d) {
		cl_error("http.start_failed", "admin=%d", http->admin);
		close(fd);
		free(http->buckets);
		free(http);
		return CL_ERR_IO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->d, MHD_DAEMON_INFO_EPOLL_FD);
	enum cl_err err =
	    info ? cl_loop_add(ctx->loop, info->epoll_fd, EPOLLIN, on_ready, http, &http->watch)
	         : CL_ERR_IO;
	if (err == CL_OK)
		err = cl_loop_add_hook(ctx->loop, on_pass_end, http);
	if (err == CL_OK)
		err = cl_loop_add_deadline(ctx->loop, next_deadline, http);
	if (err != CL_OK) {
		gw_http_stop(http);
		return err;
	}
	if (http->admin)
		cl_info("http.admin_listening", "socket=%s", unix_path);
	else
		cl_info("http.listening",
		        "addr=%s port=%d idle_timeout=%u request_timeout=%u per_ip_connections=%u "
		        "per_ip_rate=%u per_ip_burst=%u",
		        cfg->http_listen, http->port, cfg->http_idle_timeout_s,
		        cfg->http_request_timeout_s, cfg->http_per_ip_connections,
		        cfg->http_per_ip_rate, cfg->http_per_ip_burst);
	*out = http;
	return CL_OK;
}

void gw_http_stop(struct gw_http *http)
{
	if (!http)
		return;
	if (http->watch)
		cl_loop_del(http->ctx->loop, http->watch);
	if (http->d) {
		/* Send answers released by the last commit before closing. */
		MHD_run(http->d);
		MHD_stop_daemon(http->d);
	}
	if (http->admin && http->unix_path[0])
		unlink(http->unix_path);
	free(http->buckets);
	free(http);
}

int gw_http_port(const struct gw_http *http)
{
	return http->port;
}
