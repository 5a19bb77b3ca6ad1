/*
 * tests/lib/harness.h: real processes for integration tests and benchmarks.
 * Starts a mosquitto broker on a free loopback port and the careline daemon
 * (the binary in $CARELINE_BIN) with a generated configuration in a fresh
 * temporary directory; speaks HTTP to it with libcurl (TCP or the admin Unix
 * socket) and MQTT as a device with libmosquitto. Everything is stopped and
 * removed by hx_stop. Functions abort the test (print and exit(1)) on setup
 * failures, so a test reads as its scenario.
 */
#ifndef CARELINE_TEST_HARNESS_H
#define CARELINE_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hx {
	char dir[256];        /* temp dir: config, database, key, logs, broker files */
	int mqtt_port;
	int http_port;
	char config_path[300];
	char db_path[300];
	char socket_path[300];
	char daemon_log[300];
	pid_t broker_pid;
	pid_t daemon_pid;
	char extra_config[4096]; /* appended to the generated config (tests may override) */
};

/* The default test configuration (same shape as config/careline.ini, with
 * ports, paths and short escalation delays: step = primary 1, final = backup 1,
 * repeat = 0), written by hx_start_daemon. Tokens: "test-partner-token"
 * (partner), "test-anna-token" (worker anna), "test-admin-token" (admin).
 * Devices anna-phone, bo-phone, carl-phone (back-up), jens-handheld (caretaker). */
extern const char *hx_default_config;

/* mkdtemp, pick free ports, start the broker, wait until it accepts. */
void hx_start_broker(struct hx *h);
void hx_stop_broker(struct hx *h);
/* Write the config (hx_default_config with ports/paths, then h->extra_config;
 * if config_override is non-NULL it is used instead of hx_default_config)
 * and start the daemon; wait until /readyz answers 200 (or fail after 10 s). */
void hx_start_daemon(struct hx *h, const char *config_override);
/* SIGTERM and wait (clean stop); returns the exit status. */
int hx_stop_daemon(struct hx *h);
/* SIGKILL and reap. */
void hx_kill_daemon(struct hx *h);
/* Stop everything and remove the temp dir (unless $KEEP_TEST_DIR is set). */
void hx_stop(struct hx *h);

/* Who the rotation says is primary now (asks the daemon's /api/v1/oncall). */
void hx_oncall(struct hx *h, const char *team, char *primary, size_t plen, char *backup,
	       size_t blen);

/* --- HTTP -------------------------------------------------------------------- */

struct hx_resp {
	long status;       /* 0 when the request failed at the transport level */
	char *body;        /* NUL-terminated, may be NULL */
	json_t *json;      /* parsed body or NULL */
};

/* method "GET"/"POST"; token may be NULL; body may be NULL. Over TCP. */
struct hx_resp hx_http(struct hx *h, const char *method, const char *path, const char *token,
		       const char *body);
/* The same over the admin Unix socket (no token). */
struct hx_resp hx_admin(struct hx *h, const char *method, const char *path, const char *body);
void hx_resp_free(struct hx_resp *r);
/* A fresh random UUID string (37 bytes with NUL). */
void hx_uuid(char out[37]);
/* A report body with this id and text (JSON-escaped properly). */
char *hx_report_json(const char *report_id, const char *text);

/* --- MQTT device ---------------------------------------------------------------- */

struct hx_device;
/* Connect as device `id` (MQTT v5, clean start false so the session persists)
 * and subscribe to careline/v1/dev/{id}/inbox QoS 1. Waits for SUBACK. */
struct hx_device *hx_device_connect(struct hx *h, const char *id);
void hx_device_free(struct hx_device *d);
/* Publish to careline/v1/dev/{id}/{kind} QoS 1 and wait for PUBACK. */
void hx_device_publish(struct hx_device *d, const char *kind, const char *payload);
/* Wait up to timeout_ms for an inbox message whose "type" equals type (and,
 * if ticket is non-NULL, whose "ticket" equals ticket); returns it (caller
 * decrefs) or NULL on timeout. Messages not matching stay queued. */
json_t *hx_device_wait(struct hx_device *d, const char *type, const char *ticket,
		       int timeout_ms);
/* Number of queued inbox messages not yet taken by hx_device_wait. */
size_t hx_device_pending(struct hx_device *d);

/* --- misc --------------------------------------------------------------------- */

int64_t hx_now_ms(void);  /* CLOCK_MONOTONIC */
void hx_sleep_ms(int ms);
/* Peak RSS (VmHWM) of pid in kB, or -1. */
long hx_peak_rss_kb(pid_t pid);
/* Fail the test with a message (printf-style). */
void hx_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define HX_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			hx_fail("%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond),           \
				(void)0;                                                           \
	} while (0)

#endif
