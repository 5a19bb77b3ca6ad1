/*
 * tests/bench/common.h: what the bench_*.c programs share. A bench
 * environment (a temp dir on the disk under test, a mosquitto broker tuned
 * like deploy/mosquitto/careline-dev.conf, the release daemon with a bench
 * configuration), realistic Danish report bodies, a libcurl multi client
 * with keep-alive connections, a poll-driven libmosquitto client, /proc
 * readings of the daemon and the `name value unit` output. Figures only:
 * nothing here decides whether a number is good enough.
 */
#ifndef CARELINE_BENCH_COMMON_H
#define CARELINE_BENCH_COMMON_H

#include <curl/curl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* --- output and failure ------------------------------------------------------- */

/* One figure on stdout: "name value unit". */
void bench_figure(const char *name, double value, int decimals, const char *unit);
/* A note on stderr (run-bench.sh keeps it in the bench's log). */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print, stop the environment's processes, exit 1. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* --- time, numbers ------------------------------------------------------------ */

int64_t bench_now_us(void); /* CLOCK_MONOTONIC */
void bench_sleep_ms(int ms);
/* The p-th percentile (0..100) of v (sorted in place), nearest rank. */
double bench_percentile(double *v, size_t n, double p);

/* --- environment ---------------------------------------------------------------- */

#define BENCH_TOKEN      "bench-partner-secret-0123"
#define BENCH_DEVICE_FMT "dev-%02d" /* reporting devices dev-01 .. */
#define BENCH_DEVICES    8

struct bench_env {
	char dir[256]; /* $BENCH_DIR (default /tmp)/careline-bench.XXXXXX */
	int mqtt_port;
	int http_port;
	pid_t broker_pid;
	pid_t daemon_pid;
	char db_path[300];
};

/* mkdtemp under $BENCH_DIR (default /tmp), start the broker, write the daemon
 * configuration (log_level warn, escalation delays of 600 s, BENCH_DEVICES
 * reporting devices) and start $CARELINE_BIN; returns once /readyz says 200. */
void bench_env_start(struct bench_env *env);
/* bench_env_start with extra_config appended to the daemon's configuration
 * (sections may repeat: a key given again replaces the default, e.g. an [sms]
 * section or "[person anna]\nphone = ..."). NULL or "": none. */
void bench_env_start_with(struct bench_env *env, const char *extra_config);
/* SIGTERM the daemon and the broker, reap them, remove the dir (unless
 * $KEEP_BENCH_DIR is set). Safe to call twice. */
void bench_env_stop(struct bench_env *env);
/* Stop the daemon only (SIGTERM, reap); the broker, the directory, the key
 * and the database stay, e.g. to fill the database behind its back. */
void bench_daemon_stop(struct bench_env *env);
/* Start the daemon again in env's directory (a fresh configuration with
 * extra_config and a new HTTP port, as bench_env_start_with), polling /readyz
 * every poll_ms; returns the microseconds from just before the fork to the
 * first 200 (fails after 15 s). */
int64_t bench_daemon_start(struct bench_env *env, const char *extra_config, int poll_ms);
/* The directory for files that are not the daemon's (sqlite baselines). */
const char *bench_env_dir(const struct bench_env *env);

/* The devices of the on-duty rotation and its back-up: careline alerts these,
 * so a bench keeps them subscribed (else alerts fail and are retried). */
extern const char *const bench_worker_devices[];
extern const size_t bench_n_worker_devices;

/* --- the daemon from the outside ---------------------------------------------------- */

double bench_peak_rss_mb(pid_t pid);       /* VmHWM */
int64_t bench_cpu_ms(pid_t pid);           /* utime + stime from /proc/PID/stat */
int64_t bench_oncpu_us(pid_t pid);         /* time on a CPU, ns precise, /proc/PID/schedstat */
int64_t bench_ctx_switches(pid_t pid);     /* voluntary + nonvoluntary, /proc/PID/status */
int64_t bench_disk_write_bytes(pid_t pid); /* write_bytes from /proc/PID/io, or -1 */
/* A counter from GET /metrics (e.g. "careline_commits_total"), or -1. */
double bench_metric(const struct bench_env *env, const char *name);

/* --- reports ------------------------------------------------------------------------ */

/* A random version 4 UUID (37 bytes with NUL). */
void bench_uuid(char out[37]);
/* A report in the API's JSON: report_id, one of a set of Danish concern texts,
 * an address (object or string) on most, a named reporter on some. Writes at
 * most cap bytes; returns the length. seq picks the variant. */
size_t bench_report_json(char *buf, size_t cap, const char *report_id, uint64_t seq);

/* --- HTTP: libcurl multi, keep-alive, N concurrent POSTs -------------------------------- */

struct bench_http;
/* Called for every finished POST: tag as given to bench_http_post, status 0 on
 * a transport failure, the response body (NUL-terminated). */
typedef void (*bench_http_done_fn)(void *ctx, uint64_t tag, long status, const char *body,
                                   int64_t start_us, int64_t end_us);
struct bench_http *bench_http_new(int port, const char *path, int conns, bench_http_done_fn fn,
                                  void *ctx);
void bench_http_free(struct bench_http *p);
/* Start a POST of body (copied); false when all connections are busy. */
bool bench_http_post(struct bench_http *p, const char *body, size_t len, uint64_t tag);
/* The same with this request's own header list instead of the default JSON
 * and bearer-token headers (NULL: the default). The caller keeps headers
 * alive until the request is done (webhooks: a signature per body). */
bool bench_http_post_with(struct bench_http *p, const char *body, size_t len,
                          struct curl_slist *headers, uint64_t tag);
int bench_http_busy(const struct bench_http *p);
/* Wait up to timeout_ms for progress (or for one of extra's fds), then run
 * transfers and call done for the finished ones. */
void bench_http_run(struct bench_http *p, int timeout_ms, struct curl_waitfd *extra,
                    unsigned n_extra);
/* GET path on the daemon; returns the status and the body in *body (caller frees). */
long bench_http_get(int port, const char *path, char **body);

/* --- MQTT: libmosquitto driven by poll, no threads ----------------------------------------- */

struct bmq;
typedef void (*bmq_msg_fn)(struct bmq *q, void *ctx, const char *topic, const char *payload,
                           int len);
/* Connect (MQTT v5, clean start, in-flight windows of 1000) and wait for CONNACK. */
struct bmq *bmq_connect(const char *client_id, int port, bmq_msg_fn fn, void *ctx);
void bmq_free(struct bmq *q);
/* Subscribe QoS 1 and wait for SUBACK. */
void bmq_subscribe(struct bmq *q, const char *topic);
/* Publish QoS 1 (queued; bmq_pump writes it). */
void bmq_publish(struct bmq *q, const char *topic, const void *payload, int len);
int bmq_fd(const struct bmq *q);
short bmq_events(const struct bmq *q);          /* POLLIN, plus POLLOUT while it wants to write */
void bmq_service(struct bmq *q, short revents); /* read what is there, write what is queued */
/* Poll all of qs for up to timeout_ms and service them. */
void bmq_pump(struct bmq **qs, size_t n, int timeout_ms);
uint64_t bmq_pubacks(const struct bmq *q); /* PUBACKs received for our publishes */

#endif
