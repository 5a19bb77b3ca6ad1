/*
 * tests/integration/21-webhook-hardening.c: the HTTP listener's limits
 * against the real daemon, and what a stranger can learn about phone numbers.
 * Daemon A ([http] max_body 4096, idle_timeout 2, request_timeout 4,
 * per_ip_connections 16, per_ip_rate 0 = off; Twilio SMS through the fake
 * provider; anna's phone registered; run with NOTIFY_SOCKET and WATCHDOG_USEC
 * set, as systemd would): bodies over max_body are 413 on a webhook and on
 * /api/v1/reports (Content-Length and chunked); a 64 kB or 1 MB header is
 * refused (431 or closed) while an 8 kB one is served; connections that stall
 * in their request are closed after idle_timeout, ones that trickle a byte at
 * a time (headers or body) after request_timeout, and normal requests are
 * served meanwhile; a text from a registered staff number and from an unknown
 * number get the same status, content type, reply (ref aside) and /metrics
 * changes; forged webhooks get the same 403 for both; the API has no lookup by
 * phone and shows no phone number; past [sms] sender_max (3 here) texts from
 * one number in the window (5 s here) are answered empty, counted, and join
 * no ticket, while another number is still taken, and the number itself is
 * taken again once its window is over; READY=1 is sent once and WATCHDOG=1 every
 * half WATCHDOG_USEC, also when idle, then STOPPING=1. Daemon B
 * (per_ip_connections 4, per_ip_rate 3, per_ip_burst 6): a fifth connection
 * from the address is closed while the admin socket still works; requests
 * without a token (healthz, bad tokens, signed webhooks) get 429 with
 * Retry-After and a JSON error once the burst is spent, requests with a valid
 * token do not, and after Retry-After the provider's retry is taken.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/fakeprov.h"
#include "../lib/harness.h"

#define MAX_BODY        4096
#define IDLE_TIMEOUT_S  2
#define REQUEST_TIMEOUT 4
#define PUBLIC_URL      "https://careline.example.dk"
#define OUR_NUMBER      "+4570203040"
#define STAFF_PHONE     "+4520000001" /* anna, worker on the rotation */
#define STRANGER_PHONE  "+4531550001" /* nobody careline knows */
#define TWILIO_ACCOUNT  "AC0123456789abcdef0123456789abcdef"
#define TWILIO_TOKEN    "twilio-auth-token-0123456789"
#define WATCHDOG_USEC   2000000 /* pings every second */
#define SENDER_MAX      3       /* [sms] sender_max on daemon A ... */
#define SENDER_WINDOW_S 5       /* ... per sender_window */

static struct hx ha, hb;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* --- raw sockets: what libcurl will not send -------------------------------------- */

static int connect_to(struct hx *h)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->http_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	HX_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	         "connect to careline: errno %d", errno);
	return fd;
}

/* false when the server has closed or reset the connection */
static bool send_bytes(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Read until the server closes (EOF or reset) or timeout_ms pass; what came
 * is kept in buf (NUL-terminated). True when closed. */
static bool read_until_closed(int fd, int timeout_ms, char *buf, size_t cap, size_t *len)
{
	int64_t end = hx_now_ms() + timeout_ms;
	size_t got = 0;
	for (;;) {
		int64_t left = end - hx_now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			break;
		char tmp[4096];
		ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			if (buf)
				buf[got] = '\0';
			if (len)
				*len = got;
			return true;
		}
		if (buf && got < cap - 1) {
			size_t n = (size_t)k < cap - 1 - got ? (size_t)k : cap - 1 - got;
			memcpy(buf + got, tmp, n);
			got += n;
		}
	}
	if (buf)
		buf[got] = '\0';
	if (len)
		*len = got;
	return false;
}

/* Closed by the server, without waiting. */
static bool is_closed(int fd)
{
	return read_until_closed(fd, 0, NULL, 0, NULL);
}

/* "HTTP/1.1 431 ..." → 431; 0 when there is no status line. */
static long status_of(const char *resp)
{
	return strncmp(resp, "HTTP/1.", 7) == 0 ? strtol(resp + 9, NULL, 10) : 0;
}

/* A header's value in a raw response (case-insensitive name), or NULL. */
static const char *header_in(const char *resp, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	const char *end = strstr(resp, "\r\n\r\n");
	for (const char *p = strstr(resp, "\r\n"); p && (!end || p < end);
	     p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n;
			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)strcspn(v, "\r"), v);
			return out;
		}
	return NULL;
}

/* One request over a fresh connection; the whole raw response in resp. */
static long raw_request(struct hx *h, const char *request, char *resp, size_t cap)
{
	int fd = connect_to(h);
	send_bytes(fd, request, strlen(request));
	size_t len;
	HX_CHECK(read_until_closed(fd, 10000, resp, cap, &len), "no answer to a raw request");
	close(fd);
	return status_of(resp);
}

/* --- the daemon stays healthy ----------------------------------------------------- */

static void check_alive(struct hx *h, const char *after)
{
	/* Token-bearing requests: the rate limit leaves them alone. */
	struct hx_resp r = hx_http(h, "GET", "/api/v1/tickets", "test-anna-token", NULL);
	HX_CHECK(r.status == 200, "after %s: GET /api/v1/tickets %ld", after, r.status);
	hx_resp_free(&r);
	char rid[37];
	hx_uuid(rid);
	char *body = hx_report_json(rid, "Har ikke set manden i nr. 14 i to uger");
	r = hx_http(h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "after %s: a valid report got %ld %s", after, r.status, r.body);
	hx_resp_free(&r);
}

static void check_healthz(struct hx *h, const char *when)
{
	struct hx_resp r = hx_http(h, "GET", "/healthz", NULL, NULL);
	HX_CHECK(r.status == 200, "%s: /healthz %ld", when, r.status);
	hx_resp_free(&r);
}

/* --- systemd's notify socket, played by the test ------------------------------------ */

#define MAX_PINGS 1024

static struct {
	int fd;
	pthread_t thread;
	volatile bool stop;
	pthread_mutex_t mu;
	int ready;
	int stopping;
	int64_t ready_ms, start_ms;
	int64_t pings[MAX_PINGS];
	size_t n_pings;
	char status[128];
} notify = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void *notify_reader(void *arg)
{
	while (!notify.stop) {
		struct pollfd p = {.fd = notify.fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		char buf[512];
		ssize_t n = recv(notify.fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		int64_t now = hx_now_ms();
		pthread_mutex_lock(&notify.mu);
		for (char *save, *line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, "READY=1") == 0) {
				notify.ready++;
				notify.ready_ms = now;
			} else if (strcmp(line, "STOPPING=1") == 0) {
				notify.stopping++;
			} else if (strcmp(line, "WATCHDOG=1") == 0 && notify.n_pings < MAX_PINGS) {
				notify.pings[notify.n_pings++] = now;
			} else if (strncmp(line, "STATUS=", 7) == 0) {
				snprintf(notify.status, sizeof(notify.status), "%s", line + 7);
			}
		}
		pthread_mutex_unlock(&notify.mu);
	}
	return NULL;
}

/* Bind the socket systemd would pass and start daemon A with it in its
 * environment (and only A). */
static void start_with_notify(struct hx *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	HX_CHECK(strlen(h->dir) + sizeof("/notify.sock") <= sizeof(sa.sun_path), "dir too long");
	memcpy(sa.sun_path, h->dir, strlen(h->dir));
	strcat(sa.sun_path, "/notify.sock");
	notify.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	HX_CHECK(notify.fd >= 0 && bind(notify.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	         "notify socket: errno %d", errno);
	HX_CHECK(pthread_create(&notify.thread, NULL, notify_reader, NULL) == 0);
	char usec[32];
	snprintf(usec, sizeof(usec), "%d", WATCHDOG_USEC);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("WATCHDOG_USEC", usec, 1);
	unsetenv("WATCHDOG_PID");
	notify.start_ms = hx_now_ms();
	hx_start_daemon(h, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

static void check_notify(void)
{
	notify.stop = true;
	pthread_join(notify.thread, NULL);
	close(notify.fd);
	HX_CHECK(notify.ready == 1, "READY=1 sent %d times", notify.ready);
	HX_CHECK(notify.stopping == 1, "STOPPING=1 sent %d times", notify.stopping);
	HX_CHECK(notify.n_pings >= 5, "only %zu watchdog pings", notify.n_pings);
	int64_t interval = WATCHDOG_USEC / 2000, min_gap = INT64_MAX, max_gap = 0;
	int64_t first = notify.pings[0] - notify.start_ms;
	for (size_t i = 1; i < notify.n_pings; i++) {
		int64_t g = notify.pings[i] - notify.pings[i - 1];
		min_gap = g < min_gap ? g : min_gap;
		max_gap = g > max_gap ? g : max_gap;
	}
	/* At most every WATCHDOG_USEC/2, and well within WATCHDOG_USEC even
	 * while the test idles in sleeps. */
	HX_CHECK(min_gap >= interval - 100, "watchdog pinged after only %lld ms",
	         (long long)min_gap);
	HX_CHECK(max_gap <= interval + 700 && first <= interval + 700,
	         "watchdog silent for %lld ms (first after %lld ms)", (long long)max_gap,
	         (long long)first);
	printf("  systemd: READY=1 once (%lld ms after exec), %zu watchdog pings %lld..%lld ms "
	       "apart, STOPPING=1, status \"%s\"\n",
	       (long long)(notify.ready_ms - notify.start_ms), notify.n_pings, (long long)min_gap,
	       (long long)max_gap, notify.status);
}

/* --- A: body and header caps --------------------------------------------------------- */

static char *filler(size_t n, char c)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void check_body_caps(void)
{
	char *form = malloc(MAX_BODY + 1100);
	char *x = filler(MAX_BODY + 1000, 'x');
	snprintf(form, MAX_BODY + 1100, "From=%%2B4531550001&Body=%s", x);
	char rid[37];
	hx_uuid(rid);
	char *big = hx_report_json(rid, x);
	char *y = filler(MAX_BODY - 300, 'y');
	hx_uuid(rid);
	char *fits = hx_report_json(rid, y);
	const struct {
		const char *what, *path, *token, *body, *ctype;
		bool chunked;
		long status;
	} cases[] = {
	    {"webhook over max_body, Content-Length", "/hooks/twilio/sms", NULL, form,
	     "application/x-www-form-urlencoded", false, 413},
	    {"webhook over max_body, chunked", "/hooks/twilio/sms", NULL, form,
	     "application/x-www-form-urlencoded", true, 413},
	    {"report over max_body, Content-Length", "/api/v1/reports", "test-partner-token", big,
	     NULL, false, 413},
	    {"report over max_body, chunked", "/api/v1/reports", "test-partner-token", big, NULL,
	     true, 413},
	    {"report over max_body, no token", "/api/v1/reports", NULL, big, NULL, false, 413},
	    {"report just under max_body", "/api/v1/reports", "test-partner-token", fits, NULL,
	     false, 201},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hx_req rq = {.method = "POST",
		                    .path = cases[i].path,
		                    .token = cases[i].token,
		                    .body = cases[i].body,
		                    .chunked = cases[i].chunked,
		                    .content_type = cases[i].ctype};
		struct hx_resp r = hx_request(&ha, &rq);
		if (cases[i].status == 413)
			hx_check_error(&r, 413, "too_large", cases[i].what);
		else
			HX_CHECK(r.status == cases[i].status, "%s: %ld %s", cases[i].what, r.status,
			         r.body);
		hx_resp_free(&r);
		check_alive(&ha, cases[i].what);
	}
	free(form);
	free(x);
	free(big);
	free(y);
	free(fits);
	printf("  body cap: %zu cases (webhook and reports, Content-Length and chunked)\n",
	       sizeof(cases) / sizeof(cases[0]));
}

static void check_header_caps(void)
{
	static const size_t sizes[] = {64 * 1024, 1024 * 1024};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *v = filler(sizes[i], 'h');
		size_t n = sizes[i] + 200;
		char *req = malloc(n);
		snprintf(req, n, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n",
		         v);
		int fd = connect_to(&ha);
		send_bytes(fd, req, strlen(req)); /* may fail half way: the server gave up */
		char resp[2048];
		size_t len;
		HX_CHECK(read_until_closed(fd, 5000, resp, sizeof(resp), &len),
		         "a %zu-byte header: connection still open", sizes[i]);
		long st = status_of(resp);
		HX_CHECK(st == 431 || st == 0, "a %zu-byte header: status %ld", sizes[i], st);
		printf("  %zu kB header: %s\n", sizes[i] / 1024,
		       st ? "431" : "connection closed without an answer");
		close(fd);
		free(req);
		free(v);
		check_alive(&ha, "a big header");
	}
	/* GatewayAPI's signature header carries the body: 8 kB must pass. */
	char *v = filler(8 * 1024, 'j');
	char *req = malloc(9 * 1024);
	snprintf(req, 9 * 1024,
	         "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Gwapi-Signature: %s\r\n"
	         "Connection: close\r\n\r\n",
	         v);
	char resp[2048];
	HX_CHECK(raw_request(&ha, req, resp, sizeof(resp)) == 200, "an 8 kB header: %s", resp);
	free(req);
	free(v);
}

/* --- A: slow clients ------------------------------------------------------------------ */

#define N_STALLED 10

static void check_stalled(void)
{
	int fds[N_STALLED];
	for (int i = 0; i < N_STALLED; i++) {
		fds[i] = connect_to(&ha);
		const char *part =
		    i % 2 ? "GET /healthz HT"
		          : "POST /hooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-S";
		HX_CHECK(send_bytes(fds[i], part, strlen(part)));
	}
	int64_t t0 = hx_now_ms();
	/* Served meanwhile. */
	for (int i = 0; i < 3; i++) {
		check_healthz(&ha, "while connections stall");
		check_alive(&ha, "stalled connections");
	}
	for (int i = 0; i < N_STALLED; i++)
		HX_CHECK(!is_closed(fds[i]) || hx_now_ms() - t0 >= IDLE_TIMEOUT_S * 1000 - 300,
		         "stalled connection %d closed at once", i);
	int64_t first = -1, last = 0;
	for (int i = 0; i < N_STALLED; i++) {
		int64_t left = t0 + IDLE_TIMEOUT_S * 1000 + 2500 - hx_now_ms();
		HX_CHECK(read_until_closed(fds[i], left > 0 ? (int)left : 0, NULL, 0, NULL),
		         "stalled connection %d still open %lld ms later", i,
		         (long long)(hx_now_ms() - t0));
		int64_t at = hx_now_ms() - t0;
		if (first < 0)
			first = at;
		last = at;
		close(fds[i]);
	}
	HX_CHECK(first >= IDLE_TIMEOUT_S * 1000 - 300, "stalled connections closed after %lld ms",
	         (long long)first);
	check_healthz(&ha, "after the stalled connections");
	printf("  %d stalled connections closed %lld..%lld ms after they stopped "
	       "(idle_timeout %d s); requests served meanwhile\n",
	       N_STALLED, (long long)first, (long long)last, IDLE_TIMEOUT_S);
}

/* Never silent for idle_timeout, yet never done: a byte every 300 ms, in the
 * headers of one request and in the body of another. */
static void check_trickle(void)
{
	const char *head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ";
	const char *body_head = "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                        "Authorization: Bearer test-partner-token\r\n"
	                        "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{";
	int fds[2] = {connect_to(&ha), connect_to(&ha)};
	int64_t t0 = hx_now_ms();
	HX_CHECK(send_bytes(fds[0], head, strlen(head)) &&
	         send_bytes(fds[1], body_head, strlen(body_head)));
	int64_t closed_at[2] = {-1, -1};
	bool served = false;
	while ((closed_at[0] < 0 || closed_at[1] < 0) &&
	       hx_now_ms() - t0 < REQUEST_TIMEOUT * 1000 + 3000) {
		hx_sleep_ms(300);
		for (int i = 0; i < 2; i++)
			if (closed_at[i] < 0 && (is_closed(fds[i]) || !send_bytes(fds[i], "a", 1)))
				closed_at[i] = hx_now_ms() - t0;
		if (!served && hx_now_ms() - t0 > 1500) {
			check_healthz(&ha, "while two connections trickle");
			served = true;
		}
	}
	for (int i = 0; i < 2; i++) {
		HX_CHECK(closed_at[i] >= 0, "trickling %s still open after %d s",
		         i ? "body" : "headers", REQUEST_TIMEOUT + 3);
		HX_CHECK(closed_at[i] >= REQUEST_TIMEOUT * 1000 - 500,
		         "trickling %s closed after %lld ms, before request_timeout",
		         i ? "body" : "headers", (long long)closed_at[i]);
		close(fds[i]);
	}
	check_alive(&ha, "trickling connections");
	printf("  trickling headers / body closed after %lld / %lld ms (request_timeout %d s, "
	       "never idle for %d s)\n",
	       (long long)closed_at[0], (long long)closed_at[1], REQUEST_TIMEOUT, IDLE_TIMEOUT_S);
}

/* --- A: a registered number looks like any other ------------------------------------- */

struct sms_answer {
	int status;
	char *body;  /* the webhook answer with the ref replaced by REF */
	char *ctype; /* its content type */
	char ref[16];
};

/* The sms, reports and rejected counters of /metrics, as one string. */
static char *counters(struct hx *h)
{
	struct hx_resp r = hx_http(h, "GET", "/metrics", "test-admin-token", NULL);
	HX_CHECK(r.status == 200 && r.body, "/metrics %ld", r.status);
	size_t cap = strlen(r.body) + 1, used = 0;
	char *out = calloc(1, cap);
	for (char *save, *line = strtok_r(r.body, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "careline_sms_total", 18) == 0 ||
		    strncmp(line, "careline_reports_total", 22) == 0 ||
		    strncmp(line, "careline_duplicate_reports_total", 32) == 0 ||
		    strncmp(line, "careline_rejected_total", 23) == 0)
			used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
	hx_resp_free(&r);
	return out;
}

/* The value of the line "name value" in text, 0 when absent. */
static double value_of(const char *text, const char *name, size_t n)
{
	for (const char *p = text; *p; p = strchr(p, '\n') + 1)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return 0;
}

/* Per line "name value" of b: b's value minus a's ("name +delta"). */
static char *delta(const char *a, const char *b)
{
	size_t cap = 2 * strlen(b) + 64, used = 0;
	char *out = calloc(1, cap);
	for (const char *pb = b; *pb; pb = strchr(pb, '\n') + 1) {
		size_t line = strcspn(pb, "\n"), name = line;
		while (name && pb[name - 1] != ' ')
			name--;
		if (!name)
			continue;
		name--; /* the space */
		double d = strtod(pb + name + 1, NULL) - value_of(a, pb, name);
		used += (size_t)snprintf(out + used, cap - used, "%.*s %+g\n", (int)name, pb, d);
	}
	return out;
}

static void replace_ref(char *s, const char *ref)
{
	size_t n = strlen(ref);
	for (char *p = ref[0] ? strstr(s, ref) : NULL; p; p = strstr(p + 3, ref)) {
		memcpy(p, "REF", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

static struct sms_answer text_in(struct fp *fp, const char *from, const char *text, unsigned flags)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/twilio/sms", ha.http_port);
	struct fp_inbound in = {.careline_url = url,
	                        .public_url = PUBLIC_URL,
	                        .from = from,
	                        .to = OUR_NUMBER,
	                        .text = text,
	                        .flags = flags};
	struct sms_answer a = {0};
	a.status = fp_post_inbound_ex(fp, &in, &a.body, &a.ctype);
	const char *p = a.body ? strstr(a.body, "har nummer ") : NULL;
	if (p) {
		p += strlen("har nummer ");
		size_t n = 0;
		while (n < sizeof(a.ref) - 1 && isalnum((unsigned char)p[n]))
			n++;
		memcpy(a.ref, p, n);
		replace_ref(a.body, a.ref);
	}
	return a;
}

static void answer_free(struct sms_answer *a)
{
	free(a->body);
	free(a->ctype);
}

static void compare_answers(struct fp *fp, const char *text, unsigned flags, const char *what,
                            bool must_match)
{
	char *c0 = counters(&ha);
	struct sms_answer staff = text_in(fp, STAFF_PHONE, text, flags);
	char *c1 = counters(&ha);
	struct sms_answer stranger = text_in(fp, STRANGER_PHONE, text, flags);
	char *c2 = counters(&ha);
	char *d_staff = delta(c0, c1), *d_stranger = delta(c1, c2);
	bool same =
	    staff.status == stranger.status &&
	    strcmp(staff.ctype ? staff.ctype : "", stranger.ctype ? stranger.ctype : "") == 0 &&
	    strcmp(staff.body ? staff.body : "", stranger.body ? stranger.body : "") == 0 &&
	    strcmp(d_staff, d_stranger) == 0;
	if (must_match) {
		HX_CHECK(staff.status == stranger.status, "%s: status %d (staff) vs %d", what,
		         staff.status, stranger.status);
		HX_CHECK(same,
		         "%s: staff and stranger answered differently:\n%s [%s]\n%s\nvs\n%s "
		         "[%s]\n%s",
		         what, staff.body, staff.ctype, d_staff, stranger.body, stranger.ctype,
		         d_stranger);
		printf("  %s: staff and unknown number alike (status %d, %s)\n", what, staff.status,
		       staff.ctype ? staff.ctype : "no body");
	} else {
		/* What the provider sees is alike; the reply text goes to the
		 * number itself, so only whoever holds that phone reads it. */
		HX_CHECK(staff.status == stranger.status, "%s: status %d (staff) vs %d", what,
		         staff.status, stranger.status);
		printf("  note, %s: status %d for both; the reply (to the sender's own phone) %s; "
		       "/metrics %s\n",
		       what, staff.status, same ? "is the same" : "differs",
		       strcmp(d_staff, d_stranger) == 0 ? "alike" : "differs");
	}
	answer_free(&staff);
	answer_free(&stranger);
	free(c0);
	free(c1);
	free(c2);
	free(d_staff);
	free(d_stranger);
}

/* No route finds a person, or says anything, by phone number. */
static void check_no_phone_lookup(void)
{
	const char *digits = STAFF_PHONE + 3;
	const char *paths[] = {
	    "/api/v1/persons",
	    "/api/v1/people",
	    "/api/v1/persons/anna",
	    "/api/v1/phones/%2B4520000001",
	    "/api/v1/lookup?phone=%2B4520000001",
	    "/api/v1/oncall?team=opsoegende",
	    "/api/v1/devices",
	    "/api/v1/tickets?state=all",
	    "/metrics",
	};
	const char *tokens[] = {NULL, "test-partner-token", "test-anna-token", "test-admin-token"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (size_t t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
			struct hx_resp r = hx_http(&ha, "GET", paths[i], tokens[t], NULL);
			HX_CHECK(r.status != 0, "GET %s: no answer", paths[i]);
			HX_CHECK(!r.body || !strstr(r.body, digits),
			         "GET %s (%s) shows a phone number", paths[i],
			         tokens[t] ? tokens[t] : "no token");
			if (strstr(paths[i], "phone") || strstr(paths[i], "person") ||
			    strstr(paths[i], "people"))
				HX_CHECK(r.status >= 400,
				         "GET %s (%s): %ld, a route by person or phone", paths[i],
				         tokens[t] ? tokens[t] : "no token", r.status);
			hx_resp_free(&r);
		}
	/* A phone in the query of the ticket list changes nothing. */
	struct hx_resp a =
	    hx_http(&ha, "GET", "/api/v1/tickets?state=all&limit=1000", "test-admin-token", NULL);
	struct hx_resp b =
	    hx_http(&ha, "GET", "/api/v1/tickets?state=all&limit=1000&phone=%2B4520000001",
	            "test-admin-token", NULL);
	HX_CHECK(a.status == 200 && b.status == 200 &&
	             json_array_size(json_object_get(a.json, "tickets")) ==
	                 json_array_size(json_object_get(b.json, "tickets")),
	         "tickets?phone= filters: %ld/%ld", a.status, b.status);
	hx_resp_free(&a);
	hx_resp_free(&b);
	printf("  API: no lookup by phone, no phone number in %zu answers\n",
	       sizeof(paths) / sizeof(paths[0]) * sizeof(tokens) / sizeof(tokens[0]));
}

static void check_phone_privacy(struct fp *fp)
{
	compare_answers(fp, "Der lugter meget fra lejligheden i Vestergade 14, 8000 Aarhus C", 0,
	                "a report text", true);
	compare_answers(fp, "Der lugter stadig i opgangen i Vestergade 16, 8000 Aarhus C",
	                FP_TAMPER_SIGNATURE, "a forged webhook", true);
	compare_answers(fp, "Der lugter i kælderen i Vestergade 18, 8000 Aarhus C", FP_NO_SIGNATURE,
	                "an unsigned webhook", true);
	/* A reply code means something only to staff: documented, not hidden. */
	compare_answers(fp, "987a", 0, "a reply-code-shaped text", false);
	check_no_phone_lookup();
}

/* How many tickets careline holds, as an admin sees the list. */
static size_t ticket_count(void)
{
	struct hx_resp r =
	    hx_http(&ha, "GET", "/api/v1/tickets?state=all&limit=1000", "test-admin-token", NULL);
	HX_CHECK(r.status == 200, "ticket list: %ld", r.status);
	size_t n = json_array_size(json_object_get(r.json, "tickets"));
	hx_resp_free(&r);
	return n;
}

/* [sms] sender_max texts per sender_window from one number are taken (the
 * first a ticket, the rest follow-ups on it); the rest are answered (200, an
 * empty reply, so the provider does not retry) and counted, and add nothing
 * to any ticket; another number is not held back; after the window the
 * number is taken again. */
static void check_sender_limit(struct fp *fp)
{
	const char *flood = "+4531550002", *other = "+4531550003";
	char text[96], ref[16] = "";
	size_t before = ticket_count();
	int64_t window_start = hx_now_ms();
	for (int i = 0; i < SENDER_MAX; i++) {
		snprintf(text, sizeof(text), "Bekymret for naboen i Vestergade %d, 8000 Aarhus C",
		         30 + 2 * i);
		struct sms_answer a = text_in(fp, flood, text, 0);
		HX_CHECK(a.status == 200 && a.body && strstr(a.body, "<Message"),
		         "text %d of %d from one sender: %d, answer %s", i + 1, SENDER_MAX,
		         a.status, a.body ? a.body : "none");
		if (i == 0)
			snprintf(ref, sizeof(ref), "%s", a.ref);
		answer_free(&a);
	}
	HX_CHECK(ref[0], "the first text from a sender got no ref");
	char *c0 = counters(&ha);
	for (int i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), "Og nu lugter det i Vestergade %d, 8000 Aarhus C",
		         50 + 2 * i);
		struct sms_answer a = text_in(fp, flood, text, 0);
		HX_CHECK(a.status == 200 && (!a.body || !strstr(a.body, "<Message")),
		         "text past the sender limit: %d, answer %s", a.status,
		         a.body ? a.body : "none");
		answer_free(&a);
	}
	char *c1 = counters(&ha);
	const char *name = "careline_sms_total{event=\"rate_limited\"}";
	double limited = value_of(c1, name, strlen(name)) - value_of(c0, name, strlen(name));
	HX_CHECK(limited == 2, "rate_limited counted %g times for 2 texts past the limit", limited);
	json_t *t = hx_ticket(&ha, ref);
	size_t reports = json_array_size(json_object_get(t, "reports"));
	json_decref(t);
	HX_CHECK(reports == SENDER_MAX, "%zu reports on the sender's ticket (limit %d)", reports,
	         SENDER_MAX);
	size_t after = ticket_count();
	HX_CHECK(after == before + 1, "%zu tickets from one sender's texts", after - before);
	struct sms_answer b = text_in(fp, other, "Der er uro i opgangen i Vestergade 60", 0);
	HX_CHECK(b.status == 200 && b.ref[0], "another sender after the flood: %d, ref '%s'",
	         b.status, b.ref);
	answer_free(&b);
	HX_CHECK(ticket_count() == after + 1, "another sender's text made no ticket");
	/* Once the window is over the number is taken again (a follow-up). */
	int64_t wait = window_start + SENDER_WINDOW_S * 1000 + 200 - hx_now_ms();
	if (wait > 0)
		hx_sleep_ms((int)wait);
	struct sms_answer again = text_in(fp, flood, "Nu er der stille i Vestergade 30", 0);
	HX_CHECK(again.status == 200 && again.body && strstr(again.body, "<Message"),
	         "the sender after the window: %d, answer %s", again.status,
	         again.body ? again.body : "none");
	answer_free(&again);
	t = hx_ticket(&ha, ref);
	reports = json_array_size(json_object_get(t, "reports"));
	json_decref(t);
	HX_CHECK(reports == SENDER_MAX + 1, "%zu reports on the sender's ticket after the window",
	         reports);
	char *log = hx_read_file(ha.daemon_log, NULL);
	HX_CHECK(log && strstr(log, "sms.rate_limited") && !strstr(log, flood + 3),
	         "the log names the limit without the number");
	free(log);
	free(c0);
	free(c1);
	printf("  per-sender limit: %d texts from one number taken (a ticket and %d follow-ups), "
	       "the next 2 answered empty, counted and dropped; another number still got "
	       "through; the number taken again after the %d s window\n",
	       SENDER_MAX, SENDER_MAX - 1, SENDER_WINDOW_S);
}

/* --- B: per-address connections and rate ------------------------------------------------ */

#define B_CONNS 4
#define B_RATE  3
#define B_BURST 6

static void check_per_ip_connections(void)
{
	/* Earlier requests' connections are closed on the client side at once,
	 * counted as gone by the server when it has read that. */
	hx_sleep_ms(300);
	int fds[B_CONNS];
	for (int i = 0; i < B_CONNS; i++)
		fds[i] = connect_to(&hb);
	hx_sleep_ms(200); /* accepted by now */
	for (int i = 0; i < B_CONNS; i++)
		HX_CHECK(!is_closed(fds[i]), "connection %d of %d closed", i + 1, B_CONNS);
	int extra = connect_to(&hb);
	char buf[256];
	size_t len;
	HX_CHECK(read_until_closed(extra, 2000, buf, sizeof(buf), &len),
	         "connection %d from one address not closed", B_CONNS + 1);
	close(extra);
	struct hx_resp r = hx_http(&hb, "GET", "/api/v1/tickets", "test-anna-token", NULL);
	HX_CHECK(r.status == 0, "a request beyond %d connections got %ld", B_CONNS, r.status);
	hx_resp_free(&r);
	/* The admin socket has no addresses to count. */
	r = hx_admin(&hb, "GET", "/api/v1/tickets", NULL);
	HX_CHECK(r.status == 200, "admin socket while TCP is full: %ld", r.status);
	hx_resp_free(&r);
	for (int i = 0; i < B_CONNS; i++)
		close(fds[i]);
	int64_t t0 = hx_now_ms();
	long st = 0;
	while (st != 200 && hx_now_ms() - t0 < 3000) {
		hx_sleep_ms(50);
		r = hx_http(&hb, "GET", "/api/v1/tickets", "test-anna-token", NULL);
		st = r.status;
		hx_resp_free(&r);
	}
	HX_CHECK(st == 200, "after closing the %d connections: %ld", B_CONNS, st);
	printf("  per_ip_connections %d: connection %d closed at once, served again %lld ms "
	       "after the others closed\n",
	       B_CONNS, B_CONNS + 1, (long long)(hx_now_ms() - t0));
}

/* Spend whatever the bucket has regained: untokened requests until a 429. */
static void drain(void)
{
	const char *get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	char resp[4096];
	for (int i = 0; i <= B_BURST; i++)
		if (raw_request(&hb, get, resp, sizeof(resp)) == 429)
			return;
	hx_fail("no 429 after %d requests", B_BURST + 1);
}

static void check_rate_limit(struct fp *fp)
{
	hx_sleep_ms(B_BURST * 1000 / B_RATE + 300); /* a full bucket after start-up */
	const char *get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	char resp[4096];
	for (int i = 0; i < B_BURST; i++)
		HX_CHECK(raw_request(&hb, get, resp, sizeof(resp)) == 200,
		         "request %d of the burst: %s", i + 1, resp);
	HX_CHECK(raw_request(&hb, get, resp, sizeof(resp)) == 429, "past the burst: %s", resp);
	char ra[32];
	HX_CHECK(header_in(resp, "Retry-After", ra, sizeof(ra)) && atoi(ra) >= 1 && atoi(ra) <= 2,
	         "429 without a sensible Retry-After: %s", resp);
	const char *body = strstr(resp, "\r\n\r\n");
	json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
	json_t *err = json_object_get(j, "error");
	HX_CHECK(err && str(err, "code") && strcmp(str(err, "code"), "rate_limited") == 0 &&
	             str(err, "message"),
	         "429 body: %s", body ? body + 4 : "(none)");
	json_decref(j);
	char ct[64];
	HX_CHECK(header_in(resp, "Content-Type", ct, sizeof(ct)) && strstr(ct, "json"),
	         "429 content type");
	/* A bad token is no token: guessing is limited too. */
	drain();
	struct hx_resp r = hx_http(&hb, "GET", "/api/v1/tickets", "not-a-token-at-all", NULL);
	hx_check_error(&r, 429, "rate_limited", "a bad token past the burst");
	hx_resp_free(&r);
	/* A signed webhook from the provider's address: 429, nothing stored. */
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/twilio/sms", hb.http_port);
	char msg_id[64];
	fp_new_message_id(fp, msg_id, sizeof(msg_id));
	struct fp_inbound in = {.careline_url = url,
	                        .public_url = PUBLIC_URL,
	                        .msg_id = msg_id,
	                        .from = STRANGER_PHONE,
	                        .to = OUR_NUMBER,
	                        .text = "Der er larm hver nat i Vestergade 3, 8000 Aarhus C"};
	char *rb = NULL;
	drain();
	int st = fp_post_inbound_ex(fp, &in, &rb, NULL);
	HX_CHECK(st == 429, "a signed webhook past the burst: %d %s", st, rb);
	free(rb);
	/* Token holders are not limited. */
	for (int i = 0; i < 2 * B_BURST; i++)
		check_alive(&hb, "the bucket is empty");
	r = hx_admin(&hb, "GET", "/api/v1/tickets?state=all&limit=1000", NULL);
	size_t before = json_array_size(json_object_get(r.json, "tickets"));
	hx_resp_free(&r);
	/* The provider retries after Retry-After: taken. */
	hx_sleep_ms(atoi(ra) * 1000 + 100);
	rb = NULL;
	st = fp_post_inbound_ex(fp, &in, &rb, NULL);
	HX_CHECK(st == 200 && rb && strstr(rb, "har nummer"), "the retry: %d %s", st, rb);
	free(rb);
	r = hx_admin(&hb, "GET", "/api/v1/tickets?state=all&limit=1000", NULL);
	HX_CHECK(json_array_size(json_object_get(r.json, "tickets")) == before + 1,
	         "the retried text made no ticket");
	hx_resp_free(&r);
	printf("  per_ip_rate %d/s burst %d: 429 rate_limited with Retry-After %s for healthz, a "
	       "bad token and a signed webhook; token holders served; the retry taken\n",
	       B_RATE, B_BURST, ra);
}

/* --- main ------------------------------------------------------------------------------ */

static const char *sms_config(struct fp *fp, int sender_max, char *buf, size_t len)
{
	snprintf(buf, len,
	         "[sms]\nprovider = twilio\npublic_url = " PUBLIC_URL "\napi_base = %s\n"
	         "from = " OUR_NUMBER "\naccount = " TWILIO_ACCOUNT "\nsecret = " TWILIO_TOKEN "\n"
	         "sender_max = %d\nsender_window = %d\n",
	         fp_base_url(fp), sender_max, SENDER_WINDOW_S);
	return buf;
}

int main(void)
{
	hx_watchdog(120);
	int64_t t_start = hx_now_ms();
	char sms[512];

	struct fp *fa = fp_start("twilio", TWILIO_ACCOUNT, TWILIO_TOKEN);
	hx_start_broker(&ha);
	snprintf(ha.extra_config, sizeof(ha.extra_config),
	         "[http]\nmax_body = %d\nidle_timeout = %d\nrequest_timeout = %d\n"
	         "per_ip_connections = 16\nper_ip_rate = 0\n"
	         "%s[person anna]\nphone = " STAFF_PHONE "\n"
	         "[policy slow]\nstep = primary 60\nfinal = backup 60\n"
	         "[team opsoegende]\npolicy = slow\n",
	         MAX_BODY, IDLE_TIMEOUT_S, REQUEST_TIMEOUT,
	         sms_config(fa, SENDER_MAX, sms, sizeof(sms)));
	start_with_notify(&ha);
	printf("A: limits, slow clients, phone numbers, systemd\n");
	check_body_caps();
	check_header_caps();
	check_stalled();
	check_trickle();
	check_phone_privacy(fa);
	check_sender_limit(fa);
	hx_sleep_ms(2500); /* the idle daemon still pings */
	int st = hx_stop_daemon(&ha);
	HX_CHECK(st == 0, "careline A exit status %d", st);
	check_notify();
	hx_stop(&ha);
	fp_stop(fa);

	struct fp *fb = fp_start("twilio", TWILIO_ACCOUNT, TWILIO_TOKEN);
	hx_start_broker(&hb);
	snprintf(hb.extra_config, sizeof(hb.extra_config),
	         "[http]\nper_ip_connections = %d\nper_ip_rate = %d\nper_ip_burst = %d\n%s"
	         "[policy slow]\nstep = primary 60\nfinal = backup 60\n"
	         "[team opsoegende]\npolicy = slow\n",
	         B_CONNS, B_RATE, B_BURST, sms_config(fb, 10, sms, sizeof(sms)));
	hx_start_daemon(&hb, NULL);
	printf("B: per-address limits (not under systemd: notify calls are no-ops)\n");
	check_per_ip_connections();
	check_rate_limit(fb);
	st = hx_stop_daemon(&hb);
	HX_CHECK(st == 0, "careline B exit status %d", st);
	hx_stop(&hb);
	fp_stop(fb);
	printf("21-webhook-hardening: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
