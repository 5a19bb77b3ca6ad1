/*
 * tests/lib/harness.h: real processes for integration tests and benchmarks.
 * Starts a mosquitto broker on a free loopback port and the careline daemon
 * (the binary in $CARELINE_BIN) with a generated configuration in a fresh
 * temporary directory; speaks HTTP to it with libcurl (TCP or the admin Unix
 * socket) and MQTT as a device with libmosquitto. Everything is stopped and
 * removed by hx_stop, and by an atexit handler if the test fails or forgets.
 * Functions abort the test (print and exit(1)) on setup failures, so a test
 * reads as its scenario. Children get PR_SET_PDEATHSIG, so even a crashed
 * test leaves no broker or daemon behind.
 *
 * Use: struct hx h = {0};  (zero-initialised: empty dir and ports mean "pick")
 *      hx_start_broker(&h); [fill h.extra_config]; hx_start_daemon(&h, NULL);
 *      ... hx_stop(&h);
 * The atexit handler keeps a pointer to h: make h static, or call hx_stop
 * before the function that owns it returns.
 */
#ifndef CARELINE_TEST_HARNESS_H
#define CARELINE_TEST_HARNESS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hx {
	char dir[256]; /* temp dir: config, database, key, logs, broker files */
	int mqtt_port;
	int http_port;
	char config_path[300];
	char db_path[300];
	char socket_path[300];
	char daemon_log[300];
	pid_t broker_pid;
	pid_t daemon_pid;
	char extra_config[4096]; /* appended to the generated config (tests may override) */
	bool dynsec;             /* broker: dynamic-security plugin, no anonymous access; the
	                            daemon logs in as its admin (HX_DYNSEC_USER) with accounts = dynsec */
	bool persistence;        /* broker: persistence on (in dir), to survive a kill */
	bool ctl_echo;           /* hx_ctl prints each command, its exit status and output */
};

/* careline's broker account when h->dynsec (the dynamic-security admin). */
#define HX_DYNSEC_USER     "careline"
#define HX_DYNSEC_PASSWORD "careline-test-admin-pw"

/* The default test configuration (same shape as config/careline.ini, with
 * ports, paths and short escalation delays: step = primary 1, final = backup 1,
 * repeat = 0; outbox retry_base 0.5 s, retry_cap 2 s), written by
 * hx_start_daemon. Team "opsoegende" (rotation anna bo, back-up carl, lead
 * dorthe) serves areas "vest" (postcodes 8210 8220 8380 8381, estates
 * gellerupparken toveshoej) and "centrum" (8000 8100, the default area).
 * Tokens: "test-partner-token" (partner), "test-anna-token",
 * "test-bo-token", "test-carl-token" (workers), "test-admin-token" (admin).
 * Devices anna-phone, bo-phone, carl-phone (back-up), dorthe-phone (lead),
 * jens-handheld (caretaker jens, estate gellerupparken).
 * Scalar keys given again in extra_config replace the default; `step` keys
 * add steps, so to change escalation define a new [policy X] in extra_config
 * and set "[team opsoegende] policy = X". */
extern const char *hx_default_config;

/* mkdtemp (if h->dir is empty), pick a free port (if h->mqtt_port is 0; so a
 * second call restarts the broker on the same port), start the broker, wait
 * until it accepts connections. */
void hx_start_broker(struct hx *h);
/* SIGTERM and reap. */
void hx_stop_broker(struct hx *h);
/* SIGKILL and reap (a broker crash). */
void hx_kill_broker(struct hx *h);
/* Write the config (hx_default_config, or config_override when non-NULL,
 * then the harness's own keys: database, key_file, listen, admin_socket, MQTT
 * host and port, then h->extra_config) and start the daemon with stdout and
 * stderr appended to h->daemon_log; wait until /readyz answers 200 (or fail
 * after 10 s). The HTTP port is picked once (h->http_port 0) and kept, so a
 * restart uses the same port, database and key. */
void hx_start_daemon(struct hx *h, const char *config_override);
/* SIGTERM and wait (clean stop); returns the exit status (128+signal when
 * killed by a signal, -1 when not running). */
int hx_stop_daemon(struct hx *h);
/* SIGKILL and reap. */
void hx_kill_daemon(struct hx *h);
/* Stop everything (devices of h included) and remove the temp dir (unless
 * $KEEP_TEST_DIR is set). */
void hx_stop(struct hx *h);

/* Who the rotation says is primary now (asks the daemon's /api/v1/oncall). */
void hx_oncall(struct hx *h, const char *team, char *primary, size_t plen, char *backup,
               size_t blen);

/* --- HTTP -------------------------------------------------------------------- */

struct hx_resp {
	long status;  /* 0 when the request failed at the transport level */
	char *body;   /* NUL-terminated, may be NULL */
	size_t len;   /* body bytes (binary bodies: audio) */
	json_t *json; /* parsed body or NULL */
};

/* method "GET"/"POST"; token may be NULL; body may be NULL. Over TCP.
 * Thread-safe (one libcurl easy handle per call). */
struct hx_resp hx_http(struct hx *h, const char *method, const char *path, const char *token,
                       const char *body);
/* The same over the admin Unix socket (no token). */
struct hx_resp hx_admin(struct hx *h, const char *method, const char *path, const char *body);
void hx_resp_free(struct hx_resp *r);

/* Everything hx_http does, plus: a body with NULs or a length, a chunked
 * upload (Transfer-Encoding: chunked, no Content-Length), other content types. */
struct hx_req {
	const char *method; /* default "GET", or "POST" when body is set */
	const char *path;
	const char *token;        /* bearer token or NULL */
	const char *body;         /* or NULL */
	size_t body_len;          /* 0: strlen(body) */
	bool chunked;             /* send the body chunked */
	bool admin;               /* over the admin Unix socket */
	const char *content_type; /* default application/json */
	long timeout_ms;          /* default 15000 */
};
struct hx_resp hx_request(struct hx *h, const struct hx_req *req);

/* Fail unless r has this status and the body is exactly an error object
 * {"error": {"code": code, "message": "..."}} (more members allowed inside
 * "error"); what names the case in the failure message. */
void hx_check_error(const struct hx_resp *r, long status, const char *code, const char *what);
/* GET /api/v1/tickets/{ref} over the admin socket; fails unless 200.
 * Caller decrefs. */
json_t *hx_ticket(struct hx *h, const char *ref);
/* true if the ticket object's "events" holds an event with this name. */
bool hx_ticket_has_event(json_t *ticket, const char *event);

/* A fresh random UUID string (37 bytes with NUL). */
void hx_uuid(char out[37]);
/* A report body with this id and text (JSON-escaped properly). Caller frees. */
char *hx_report_json(const char *report_id, const char *text);

/* --- MQTT device ---------------------------------------------------------------- */

struct hx_device;
/* Connect as device `id` (MQTT v5, username and client id = id, clean start
 * false so the session persists) and subscribe to careline/v1/dev/{id}/inbox
 * QoS 1 (again after every reconnect). Waits for SUBACK. */
struct hx_device *hx_device_connect(struct hx *h, const char *id);
/* A plain client (client id client_id) subscribed QoS 1 to filter, e.g. a
 * wildcard "careline/v1/#" observer; its messages are read like a device's. */
struct hx_device *hx_subscriber_connect(struct hx *h, const char *client_id, const char *filter);
/* The same with an account (dynsec brokers): username and password. */
struct hx_device *hx_device_connect_as(struct hx *h, const char *id, const char *password);
struct hx_device *hx_subscriber_connect_as(struct hx *h, const char *client_id,
                                           const char *username, const char *password,
                                           const char *filter);
/* Connect once with these credentials and return the CONNACK reason code
 * (0 accepted, 135 not authorised, ...), or -1 when there was no CONNACK. */
int hx_try_connect(struct hx *h, const char *username, const char *password);
/* Publish QoS 1 to topic and return the PUBACK reason code (0 success, 16 no
 * subscribers, 135 not authorised, ...). */
int hx_publish_reason(struct hx_device *d, const char *topic, const char *payload);
/* Subscribe QoS 1 and return the SUBACK code (0-2 granted, 135 not authorised). */
int hx_subscribe_reason(struct hx_device *d, const char *filter);
void hx_device_free(struct hx_device *d);
/* Publish to careline/v1/dev/{id}/{kind} QoS 1 and wait for PUBACK. */
void hx_device_publish(struct hx_device *d, const char *kind, const char *payload);
/* Publish len raw bytes QoS 1 to any topic and wait for PUBACK. */
void hx_device_publish_raw(struct hx_device *d, const char *topic, const void *payload, size_t len);
/* Publish QoS 1 without waiting for the PUBACK (a window of reports). */
void hx_device_publish_nowait(struct hx_device *d, const char *kind, const char *payload);
/* Messages this client published that the broker has not PUBACKed yet. */
size_t hx_device_unacked(struct hx_device *d);
/* From now on hand every incoming message to fn, on the MQTT thread, with
 * its arrival time (hx_now_ms), instead of queueing it for hx_device_wait and
 * hx_device_each (for benchmarks: no memory growth); NULL restores queueing. */
void hx_device_set_handler(struct hx_device *d,
                           void (*fn)(void *ctx, const char *topic, const char *payload, size_t len,
                                      int64_t at_ms),
                           void *ctx);
/* Wait up to timeout_ms for an inbox message whose "type" equals type (and,
 * if ticket is non-NULL, whose "ticket" equals ticket); returns it (caller
 * decrefs) or NULL on timeout. Messages not matching stay queued. type NULL
 * matches any message. */
json_t *hx_device_wait(struct hx_device *d, const char *type, const char *ticket, int timeout_ms);
/* Number of queued inbox messages not yet taken by hx_device_wait. */
size_t hx_device_pending(struct hx_device *d);
/* Every message received so far, taken or not, in arrival order. */
void hx_device_each(struct hx_device *d,
                    void (*fn)(void *ctx, const char *topic, const char *payload, size_t len),
                    void *ctx);
/* Wait until the client is connected and subscribed (after a broker restart). */
bool hx_device_wait_connected(struct hx_device *d, int timeout_ms);

/* --- processes and files -------------------------------------------------------- */

/* Run argv (argv[0] a path) to completion; stdout and stderr captured into
 * *out and *err (caller frees; either may be NULL). Returns the exit status,
 * or 128+signal. Fails the test after 30 s. */
int hx_run(const char *const argv[], char **out, char **err);
/* $CARELINECTL_BIN, or build/asan/carelinectl. */
const char *hx_carelinectl_bin(void);
/* Run `carelinectl --socket h->socket_path first ...` (at most 20 arguments,
 * NULL-terminated) against the daemon's admin socket, as hx_run runs it:
 * stdout and stderr into *out and *err (caller frees; either may be NULL).
 * Returns the exit status. With h->ctl_echo, prints "$ carelinectl ARGS  -> N"
 * and what the command printed. */
int hx_ctl(struct hx *h, char **out, char **err, const char *first, ...) __attribute__((sentinel));
/* The same with the arguments after first in ap (for a test's own wrapper). */
int hx_ctlv(struct hx *h, char **out, char **err, const char *first, va_list ap);
/* The whole file (NUL-terminated; *len without the NUL), or NULL if absent. */
char *hx_read_file(const char *path, size_t *len);

/* --- misc --------------------------------------------------------------------- */

int64_t hx_now_ms(void); /* CLOCK_MONOTONIC */
void hx_sleep_ms(int ms);
/* Peak RSS (VmHWM) of pid in kB, or -1. */
long hx_peak_rss_kb(pid_t pid);
/* Fail the test (and clean up) if it is still running after seconds. */
void hx_watchdog(int seconds);
/* Fail the test with a message (printf-style): prints it and the tail of the
 * daemon's log, then exit(1) (the atexit handler stops everything). */
void hx_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void hx_check_failed(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/* HX_CHECK(cond) or HX_CHECK(cond, "printf format", args...): the format must
 * be a string literal. */
#define HX_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			hx_check_failed(__FILE__, __LINE__, #cond, " " __VA_ARGS__);               \
	} while (0)

#endif
