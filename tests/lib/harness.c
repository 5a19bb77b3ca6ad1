/*
 * tests/lib/harness.c implements harness.h: the processes (mosquitto and the
 * careline daemon, forked with PR_SET_PDEATHSIG and reaped by pid), their
 * generated configurations in a mkdtemp directory, HTTP over libcurl (TCP or
 * the admin socket) and MQTT clients on libmosquitto's own thread, with a
 * mutex-protected message list per client. Used by tests/integration and
 * tests/bench only; the daemon's code is never linked into the scenario.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_INSTANCES    4
#define READY_TIMEOUT_MS 10000
#define MQTT_TIMEOUT_MS  5000
#define SESSION_EXPIRY_S 3600

const char *hx_default_config = "; careline integration test configuration (tests/lib/harness.c)\n"
                                "[careline]\n"
                                "lang = da\n"
                                "log_level = info\n"
                                "\n"
                                "[http]\n"
                                "max_body = 65536\n"
                                "\n"
                                "[mqtt]\n"
                                "client_id = careline-gateway\n"
                                "keepalive = 30\n"
                                "\n"
                                "[outbox]\n"
                                "retry_base = 0.5\n"
                                "retry_cap = 2\n"
                                "alert_expiry = 3600\n"
                                "\n"
                                "[routing]\n"
                                "default_area = centrum\n"
                                "\n"
                                "[token test-partner]\n"
                                "secret = test-partner-token\n"
                                "role = partner\n"
                                "[token test-anna]\n"
                                "secret = test-anna-token\n"
                                "role = worker\n"
                                "person = anna\n"
                                "[token test-bo]\n"
                                "secret = test-bo-token\n"
                                "role = worker\n"
                                "person = bo\n"
                                "[token test-carl]\n"
                                "secret = test-carl-token\n"
                                "role = worker\n"
                                "person = carl\n"
                                "[token test-admin]\n"
                                "secret = test-admin-token\n"
                                "role = admin\n"
                                "\n"
                                "[person anna]\n"
                                "role = worker\n"
                                "[person bo]\n"
                                "role = worker\n"
                                "[person carl]\n"
                                "role = worker\n"
                                "[person dorthe]\n"
                                "role = lead\n"
                                "[person jens]\n"
                                "role = caretaker\n"
                                "estate = gellerupparken\n"
                                "\n"
                                "[device anna-phone]\n"
                                "person = anna\n"
                                "[device bo-phone]\n"
                                "person = bo\n"
                                "[device carl-phone]\n"
                                "person = carl\n"
                                "[device dorthe-phone]\n"
                                "person = dorthe\n"
                                "[device jens-handheld]\n"
                                "person = jens\n"
                                "\n"
                                "[area vest]\n"
                                "name = Vest\n"
                                "postcodes = 8210 8220 8380 8381\n"
                                "estates = gellerupparken toveshoej\n"
                                "team = opsoegende\n"
                                "[area centrum]\n"
                                "name = Centrum\n"
                                "postcodes = 8000 8100\n"
                                "team = opsoegende\n"
                                "\n"
                                "[team opsoegende]\n"
                                "rotation = anna bo\n"
                                "handoff = mon 08:00\n"
                                "anchor = 2026-01-05\n"
                                "backup = carl\n"
                                "lead = dorthe\n"
                                "policy = standard\n"
                                "\n"
                                "[policy standard]\n"
                                "step = primary 1\n"
                                "repeat = 0\n"
                                "final = backup 1\n"
                                "ack_timeout_p0 = 300\n"
                                "ack_timeout_p1 = 1800\n"
                                "ack_timeout_p2 = 14400\n"
                                "ack_timeout_p3 = 86400\n";

/* --- global state: live instances and devices, for the atexit handler ------- */

struct msg {
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
	json_t *json; /* parsed payload or NULL */
	bool taken;
	struct msg *next;
};

struct hx_device {
	struct hx *h;
	char id[64];
	char filter[256];
	struct mosquitto *mosq;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool connected;
	int connect_rc;
	bool subscribed;
	int sub_mid;
	char password[128];
	int *reasons;    /* PUBACK reason by mid */
	int last_suback; /* -1 until a SUBACK after hx_subscribe_reason */
	/* PUBACKs by mid, as generations: a publish that got mid m is its
	 * pub_gen[m]th use of m, and is acknowledged once ack_gen[m] reaches it
	 * (mids wrap after 65535; at most a window's worth is in flight). */
	uint32_t *pub_gen, *ack_gen;
	uint64_t n_published, n_acked;
	struct msg *head, *tail;
	struct msg *first_untaken; /* scan hint: nothing before it is pending */
	size_t pending;
	void (*handler)(void *ctx, const char *topic, const char *payload, size_t len,
	                int64_t at_ms);
	void *handler_ctx;
	struct hx_device *next_live;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hx *live[MAX_INSTANCES];
static struct hx_device *live_devices;
static volatile sig_atomic_t failing;
static volatile pid_t child_pids[2 * MAX_INSTANCES];

static void cleanup_all(void);

static void on_fatal_signal(int sig)
{
	/* Only async-signal-safe calls: kill what we started and leave. */
	for (size_t i = 0; i < sizeof(child_pids) / sizeof(child_pids[0]); i++)
		if (child_pids[i] > 0)
			kill(child_pids[i], SIGKILL);
	static const char msg[] = "harness: killed by a signal (or the watchdog)\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(sig == SIGALRM ? 124 : 128 + sig);
}

static void init_global(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	mosquitto_lib_init();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGALRM, on_fatal_signal);
	atexit(cleanup_all);
}

static void hx_init(void)
{
	pthread_once(&init_once, init_global);
}

static void track_pid(pid_t pid, bool add)
{
	for (size_t i = 0; i < sizeof(child_pids) / sizeof(child_pids[0]); i++) {
		if (add && child_pids[i] == 0) {
			child_pids[i] = pid;
			return;
		}
		if (!add && child_pids[i] == pid) {
			child_pids[i] = 0;
			return;
		}
	}
}

static void register_instance(struct hx *h)
{
	pthread_mutex_lock(&live_mu);
	int free_slot = -1;
	for (int i = 0; i < MAX_INSTANCES; i++) {
		if (live[i] == h) {
			pthread_mutex_unlock(&live_mu);
			return;
		}
		if (!live[i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0)
		live[free_slot] = h;
	pthread_mutex_unlock(&live_mu);
}

static void unregister_instance(struct hx *h)
{
	pthread_mutex_lock(&live_mu);
	for (int i = 0; i < MAX_INSTANCES; i++)
		if (live[i] == h)
			live[i] = NULL;
	pthread_mutex_unlock(&live_mu);
}

static void cleanup_all(void)
{
	for (;;) {
		pthread_mutex_lock(&live_mu);
		struct hx_device *d = live_devices;
		pthread_mutex_unlock(&live_mu);
		if (!d)
			break;
		hx_device_free(d);
	}
	for (int i = 0; i < MAX_INSTANCES; i++) {
		pthread_mutex_lock(&live_mu);
		struct hx *h = live[i];
		pthread_mutex_unlock(&live_mu);
		if (h)
			hx_stop(h);
	}
	mosquitto_lib_cleanup();
	curl_global_cleanup();
}

/* --- failing ------------------------------------------------------------------ */

static void print_log_tail(const char *path, int lines)
{
	size_t len;
	char *s = hx_read_file(path, &len);
	if (!s || !len) {
		free(s);
		return;
	}
	size_t start = len;
	int seen = 0;
	while (start > 0) {
		if (s[start - 1] == '\n' && ++seen > lines)
			break;
		start--;
	}
	fprintf(stderr, "--- last lines of %s ---\n%s--- end ---\n", path, s + start);
	free(s);
}

static void vfail(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "FAIL: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (!failing) {
		failing = 1;
		pthread_mutex_lock(&live_mu);
		for (int i = 0; i < MAX_INSTANCES; i++)
			if (live[i] && live[i]->daemon_log[0])
				print_log_tail(live[i]->daemon_log, 40);
		pthread_mutex_unlock(&live_mu);
	}
}

void hx_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail("", fmt, ap);
	va_end(ap);
	exit(1);
}

void hx_check_failed(const char *file, int line, const char *expr, const char *fmt, ...)
{
	char prefix[1024];
	snprintf(prefix, sizeof(prefix), "%s:%d: check failed: %s:", file, line, expr);
	va_list ap;
	va_start(ap, fmt);
	vfail(prefix, fmt, ap);
	va_end(ap);
	exit(1);
}

void hx_watchdog(int seconds)
{
	hx_init();
	alarm(seconds > 0 ? (unsigned)seconds : 0);
}

/* --- misc --------------------------------------------------------------------- */

int64_t hx_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hx_sleep_ms(int ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long hx_peak_rss_kb(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

char *hx_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		if (!buf)
			hx_fail("out of memory reading %s", path);
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		hx_fail("cannot write %s: %s", path, strerror(errno));
}

void hx_uuid(char out[37])
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		hx_fail("getrandom: %s", strerror(errno));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
}

char *hx_report_json(const char *report_id, const char *text)
{
	json_t *o = json_pack("{s:s, s:s}", "report_id", report_id, "text", text);
	if (!o)
		hx_fail("hx_report_json: bad input");
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* --- processes ---------------------------------------------------------------- */

static pid_t spawn(const char *const argv[], const char *log_path, int out_fd, int err_fd)
{
	hx_init();
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		hx_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		if (log_path) {
			int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd < 0)
				_exit(126);
			dup2(fd, 1);
			dup2(fd, 2);
		} else {
			if (out_fd >= 0)
				dup2(out_fd, 1);
			if (err_fd >= 0)
				dup2(err_fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid up to timeout_ms; returns the wait status, or -1 on timeout. */
static int wait_pid(pid_t pid, int timeout_ms)
{
	int64_t end = hx_now_ms() + timeout_ms;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return 0;
		if (hx_now_ms() >= end)
			return -1;
		hx_sleep_ms(5);
	}
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Signal pid, wait, escalate to SIGKILL; returns the exit code. */
static int stop_pid(pid_t *pidp, int sig, int timeout_ms)
{
	pid_t pid = *pidp;
	if (pid <= 0)
		return -1;
	kill(pid, sig);
	int status = wait_pid(pid, timeout_ms);
	if (status == -1) {
		fprintf(stderr, "harness: pid %d ignored signal %d; killing it\n", (int)pid, sig);
		kill(pid, SIGKILL);
		status = wait_pid(pid, 5000);
	}
	track_pid(pid, false);
	*pidp = 0;
	return status == -1 ? -1 : exit_code(status);
}

int hx_run(const char *const argv[], char **out, char **err)
{
	char out_path[] = "/tmp/hx-run-out-XXXXXX", err_path[] = "/tmp/hx-run-err-XXXXXX";
	int ofd = mkstemp(out_path), efd = mkstemp(err_path);
	if (ofd < 0 || efd < 0)
		hx_fail("mkstemp: %s", strerror(errno));
	pid_t pid = spawn(argv, NULL, ofd, efd);
	close(ofd);
	close(efd);
	int status = wait_pid(pid, 30000);
	if (status == -1) {
		kill(pid, SIGKILL);
		wait_pid(pid, 5000);
		unlink(out_path);
		unlink(err_path);
		hx_fail("%s did not finish within 30 s", argv[0]);
	}
	if (out)
		*out = hx_read_file(out_path, NULL);
	if (err)
		*err = hx_read_file(err_path, NULL);
	unlink(out_path);
	unlink(err_path);
	return exit_code(status);
}

int hx_ctlv(struct hx *h, char **out, char **err, const char *first, va_list ap)
{
	enum { MAX_ARGS = 20, FIXED = 3 }; /* carelinectl --socket PATH */
	const char *argv[FIXED + MAX_ARGS + 1];
	int n = 0;
	argv[n++] = hx_carelinectl_bin();
	argv[n++] = "--socket";
	argv[n++] = h->socket_path;
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		if (n == FIXED + MAX_ARGS)
			hx_fail("hx_ctl: more than %d arguments", MAX_ARGS);
		argv[n++] = a;
	}
	argv[n] = NULL;
	char *o = NULL, *e = NULL;
	bool keep_out = out || h->ctl_echo, keep_err = err || h->ctl_echo;
	int rc = hx_run(argv, keep_out ? &o : NULL, keep_err ? &e : NULL);
	if (h->ctl_echo) {
		printf("$ carelinectl");
		for (int i = FIXED; i < n; i++)
			printf(" %s", argv[i]);
		printf("  -> %d\n%s%s", rc, o ? o : "", e ? e : "");
	}
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

int hx_ctl(struct hx *h, char **out, char **err, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = hx_ctlv(h, out, err, first, ap);
	va_end(ap);
	return rc;
}

static const char *bin_from_env(const char *var, const char *fallback)
{
	const char *s = getenv(var);
	if (s && s[0])
		return s;
	return fallback;
}

const char *hx_carelinectl_bin(void)
{
	return bin_from_env("CARELINECTL_BIN", "build/asan/carelinectl");
}

static const char *careline_bin(void)
{
	return bin_from_env("CARELINE_BIN", "build/asan/careline");
}

/* --- ports and directories ---------------------------------------------------- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		hx_fail("cannot find a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

static bool port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void ensure_dir(struct hx *h)
{
	hx_init();
	register_instance(h);
	if (h->dir[0])
		return;
	const char *tmp = getenv("TMPDIR");
	/* The admin socket path must fit sun_path (108 bytes). */
	if (!tmp || !tmp[0] || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(h->dir, sizeof(h->dir), "%s/careline-test-XXXXXX", tmp);
	if (!mkdtemp(h->dir)) {
		h->dir[0] = '\0';
		hx_fail("mkdtemp: %s", strerror(errno));
	}
	snprintf(h->config_path, sizeof(h->config_path), "%s/careline.ini", h->dir);
	snprintf(h->db_path, sizeof(h->db_path), "%s/careline.db", h->dir);
	snprintf(h->socket_path, sizeof(h->socket_path), "%s/careline.sock", h->dir);
	snprintf(h->daemon_log, sizeof(h->daemon_log), "%s/careline.log", h->dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* --- broker ------------------------------------------------------------------- */

/* Debian ships the plugin under the multiarch directory. */
static const char *dynsec_plugin(void)
{
	static const char *const paths[] = {
	    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
	    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
	    "/usr/lib/mosquitto_dynamic_security.so",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	hx_fail("mosquitto_dynamic_security.so not found");
}

void hx_start_broker(struct hx *h)
{
	ensure_dir(h);
	if (h->broker_pid > 0)
		hx_fail("hx_start_broker: the broker is already running");
	bool fixed = h->mqtt_port != 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		if (!fixed)
			h->mqtt_port = free_port();
		char conf_path[320], log_path[320], conf[2048], dynsec_path[320], auth[1024] = "";
		char persist[400] = "persistence false\n";
		if (h->persistence)
			snprintf(
			    persist, sizeof(persist),
			    "persistence true\npersistence_location %s/\nautosave_interval 1\n",
			    h->dir);
		snprintf(dynsec_path, sizeof(dynsec_path), "%s/dynsec.json", h->dir);
		if (h->dynsec) {
			if (access(dynsec_path, F_OK) != 0) {
				const char *init[] = {"/usr/bin/mosquitto_ctrl",
				                      "dynsec",
				                      "init",
				                      dynsec_path,
				                      HX_DYNSEC_USER,
				                      HX_DYNSEC_PASSWORD,
				                      NULL};
				if (hx_run(init, NULL, NULL) != 0)
					hx_fail("mosquitto_ctrl dynsec init failed");
			}
			snprintf(auth, sizeof(auth),
			         "allow_anonymous false\n"
			         "plugin %s\n"
			         "plugin_opt_config_file %s\n",
			         dynsec_plugin(), dynsec_path);
		} else {
			snprintf(auth, sizeof(auth), "allow_anonymous true\n");
		}
		snprintf(conf_path, sizeof(conf_path), "%s/mosquitto.conf", h->dir);
		snprintf(log_path, sizeof(log_path), "%s/mosquitto.log", h->dir);
		snprintf(conf, sizeof(conf),
		         "listener %d 127.0.0.1\n"
		         "%s%s"
		         "max_queued_messages 100000\n"
		         "max_inflight_messages 1000\n"
		         "set_tcp_nodelay true\n"
		         "log_dest stdout\n"
		         "log_type error\nlog_type warning\nlog_type notice\n%s",
		         h->mqtt_port, auth, persist, geteuid() == 0 ? "user root\n" : "");
		write_file(conf_path, conf);
		const char *argv[] = {"/usr/sbin/mosquitto", "-c", conf_path, NULL};
		if (access(argv[0], X_OK) != 0)
			argv[0] = "/usr/bin/mosquitto";
		h->broker_pid = spawn(argv, log_path, -1, -1);
		track_pid(h->broker_pid, true);
		int64_t end = hx_now_ms() + 5000;
		bool exited = false;
		while (hx_now_ms() < end) {
			if (port_accepts(h->mqtt_port))
				return;
			int status;
			if (waitpid(h->broker_pid, &status, WNOHANG) == h->broker_pid) {
				track_pid(h->broker_pid, false);
				h->broker_pid = 0;
				exited = true;
				break;
			}
			hx_sleep_ms(10);
		}
		if (!exited)
			stop_pid(&h->broker_pid, SIGKILL, 2000);
		if (fixed && attempt < 4) {
			/* The old socket may linger for a moment; try the same port again. */
			hx_sleep_ms(200);
			continue;
		}
		if (fixed) {
			print_log_tail(log_path, 20);
			hx_fail("mosquitto did not start on port %d", h->mqtt_port);
		}
	}
	hx_fail("mosquitto did not start (5 ports tried); see %s/mosquitto.log", h->dir);
}

void hx_stop_broker(struct hx *h)
{
	stop_pid(&h->broker_pid, SIGTERM, 5000);
}

void hx_kill_broker(struct hx *h)
{
	stop_pid(&h->broker_pid, SIGKILL, 5000);
}

/* --- daemon ------------------------------------------------------------------- */

void hx_start_daemon(struct hx *h, const char *config_override)
{
	ensure_dir(h);
	if (h->daemon_pid > 0)
		hx_fail("hx_start_daemon: the daemon is already running");
	if (!h->http_port)
		h->http_port = free_port();
	const char *tmpl = config_override ? config_override : hx_default_config;
	size_t cap = strlen(tmpl) + strlen(h->extra_config) + 4096;
	char *conf = malloc(cap);
	if (!conf)
		hx_fail("out of memory");
	snprintf(conf, cap,
	         "%s\n"
	         "; --- harness: paths and ports\n"
	         "[careline]\n"
	         "database = %s\n"
	         "key_file = %s/careline.key\n"
	         "[http]\n"
	         "listen = 127.0.0.1:%d\n"
	         "admin_socket = %s\n"
	         "[mqtt]\n"
	         "host = 127.0.0.1\n"
	         "port = %d\n"
	         "%s"
	         "; --- the test's own keys\n"
	         "%s\n",
	         tmpl, h->db_path, h->dir, h->http_port, h->socket_path,
	         h->mqtt_port ? h->mqtt_port : 1,
	         h->dynsec ? "username = " HX_DYNSEC_USER "\npassword = " HX_DYNSEC_PASSWORD
	                     "\naccounts = dynsec\n"
	                   : "",
	         h->extra_config);
	write_file(h->config_path, conf);
	free(conf);

	const char *argv[] = {careline_bin(), "--config", h->config_path, NULL};
	if (access(argv[0], X_OK) != 0)
		hx_fail("careline binary %s not found (set CARELINE_BIN)", argv[0]);
	h->daemon_pid = spawn(argv, h->daemon_log, -1, -1);
	track_pid(h->daemon_pid, true);

	int64_t end = hx_now_ms() + READY_TIMEOUT_MS;
	long last = 0;
	while (hx_now_ms() < end) {
		int status;
		if (waitpid(h->daemon_pid, &status, WNOHANG) == h->daemon_pid) {
			track_pid(h->daemon_pid, false);
			h->daemon_pid = 0;
			hx_fail("careline exited during start-up (status %d)", exit_code(status));
		}
		struct hx_req rq = {.path = "/readyz", .timeout_ms = 1000};
		struct hx_resp r = hx_request(h, &rq);
		last = r.status;
		hx_resp_free(&r);
		if (last == 200)
			return;
		hx_sleep_ms(20);
	}
	hx_fail("careline not ready within %d ms (last /readyz status %ld)", READY_TIMEOUT_MS,
	        last);
}

int hx_stop_daemon(struct hx *h)
{
	return stop_pid(&h->daemon_pid, SIGTERM, 10000);
}

void hx_kill_daemon(struct hx *h)
{
	stop_pid(&h->daemon_pid, SIGKILL, 5000);
}

void hx_stop(struct hx *h)
{
	for (;;) {
		pthread_mutex_lock(&live_mu);
		struct hx_device *d = live_devices;
		while (d && d->h != h)
			d = d->next_live;
		pthread_mutex_unlock(&live_mu);
		if (!d)
			break;
		hx_device_free(d);
	}
	if (h->daemon_pid > 0)
		hx_stop_daemon(h);
	if (h->broker_pid > 0)
		hx_stop_broker(h);
	if (h->dir[0]) {
		const char *keep = getenv("KEEP_TEST_DIR");
		if (keep && keep[0])
			fprintf(stderr, "harness: kept %s\n", h->dir);
		else
			nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		h->dir[0] = '\0';
	}
	unregister_instance(h);
}

/* --- HTTP --------------------------------------------------------------------- */

struct buf {
	char *s;
	size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t add = size * n;
	char *s = realloc(b->s, b->len + add + 1);
	if (!s)
		return 0;
	memcpy(s + b->len, ptr, add);
	b->s = s;
	b->len += add;
	s[b->len] = '\0';
	return add;
}

struct upload {
	const char *data;
	size_t len, off;
};

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t want = size * n;
	if (want > 1000)
		want = 1000; /* several chunks */
	if (want > u->len - u->off)
		want = u->len - u->off;
	memcpy(dst, u->data + u->off, want);
	u->off += want;
	return want;
}

struct hx_resp hx_request(struct hx *h, const struct hx_req *rq)
{
	hx_init();
	struct hx_resp r = {0};
	CURL *c = curl_easy_init();
	if (!c)
		hx_fail("curl_easy_init failed");
	char url[1024];
	if (rq->admin) {
		snprintf(url, sizeof(url), "http://careline%s", rq->path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->socket_path);
	} else {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", h->http_port, rq->path);
	}
	const char *method = rq->method ? rq->method : rq->body ? "POST" : "GET";
	size_t body_len = rq->body ? (rq->body_len ? rq->body_len : strlen(rq->body)) : 0;
	struct buf b = {0};
	struct curl_slist *hdr = NULL;
	char line[512];
	snprintf(line, sizeof(line), "Content-Type: %s",
	         rq->content_type ? rq->content_type : "application/json");
	hdr = curl_slist_append(hdr, line);
	hdr = curl_slist_append(hdr, "Expect:");
	if (rq->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", rq->token);
		hdr = curl_slist_append(hdr, line);
	}
	struct upload up = {rq->body, body_len, 0};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 15000L);
	if (strcmp(method, "GET") != 0 || rq->body) {
		if (rq->chunked) {
			hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &up);
		} else if (rq->body || strcmp(method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		}
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	r.body = b.s;
	r.len = b.len;
	if (r.body)
		r.json = json_loads(r.body, 0, NULL);
	return r;
}

struct hx_resp hx_http(struct hx *h, const char *method, const char *path, const char *token,
                       const char *body)
{
	struct hx_req rq = {.method = method, .path = path, .token = token, .body = body};
	return hx_request(h, &rq);
}

struct hx_resp hx_admin(struct hx *h, const char *method, const char *path, const char *body)
{
	struct hx_req rq = {.method = method, .path = path, .body = body, .admin = true};
	return hx_request(h, &rq);
}

void hx_resp_free(struct hx_resp *r)
{
	free(r->body);
	json_decref(r->json);
	r->body = NULL;
	r->json = NULL;
}

void hx_check_error(const struct hx_resp *r, long status, const char *code, const char *what)
{
	if (r->status != status)
		hx_fail("%s: status %ld, expected %ld; body: %s", what, r->status, status,
		        r->body ? r->body : "(none)");
	json_t *e = json_object_get(r->json, "error");
	if (!json_is_object(r->json) || json_object_size(r->json) != 1 || !json_is_object(e))
		hx_fail("%s: body is not {\"error\": {...}}: %s", what,
		        r->body ? r->body : "(none)");
	json_t *c = json_object_get(e, "code"), *m = json_object_get(e, "message");
	if (!json_is_string(c) || !json_is_string(m) || !json_string_length(m))
		hx_fail("%s: error without string code and message: %s", what, r->body);
	if (code && strcmp(json_string_value(c), code) != 0)
		hx_fail("%s: error code %s, expected %s; body: %s", what, json_string_value(c),
		        code, r->body);
}

json_t *hx_ticket(struct hx *h, const char *ref)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s", ref);
	struct hx_resp r = hx_admin(h, "GET", path, NULL);
	if (r.status != 200 || !json_is_object(r.json))
		hx_fail("GET %s: status %ld body %s", path, r.status, r.body ? r.body : "(none)");
	json_t *t = json_incref(r.json);
	hx_resp_free(&r);
	return t;
}

bool hx_ticket_has_event(json_t *ticket, const char *event)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(ticket, "events"), i, e)
	{
		const char *name = json_string_value(json_object_get(e, "event"));
		if (name && strcmp(name, event) == 0)
			return true;
	}
	return false;
}

void hx_oncall(struct hx *h, const char *team, char *primary, size_t plen, char *backup,
               size_t blen)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/oncall?team=%s", team);
	struct hx_resp r = hx_admin(h, "GET", path, NULL);
	const char *p = json_string_value(json_object_get(r.json, "primary"));
	const char *b = json_string_value(json_object_get(r.json, "backup"));
	if (r.status != 200 || !p)
		hx_fail("GET %s: status %ld body %s", path, r.status, r.body ? r.body : "(none)");
	if (primary && plen)
		snprintf(primary, plen, "%s", p);
	if (backup && blen)
		snprintf(backup, blen, "%s", b ? b : "");
	hx_resp_free(&r);
}

/* --- MQTT --------------------------------------------------------------------- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	struct hx_device *d = obj;
	pthread_mutex_lock(&d->mu);
	d->connect_rc = rc;
	d->connected = rc == 0;
	d->subscribed = false;
	pthread_mutex_unlock(&d->mu);
	if (rc == 0) {
		int mid = 0;
		mosquitto_subscribe_v5(mosq, &mid, d->filter, 1, 0, NULL);
		pthread_mutex_lock(&d->mu);
		d->sub_mid = mid;
		pthread_mutex_unlock(&d->mu);
	}
	pthread_cond_broadcast(&d->cv);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
	struct hx_device *d = obj;
	pthread_mutex_lock(&d->mu);
	d->connected = false;
	d->subscribed = false;
	pthread_mutex_unlock(&d->mu);
	pthread_cond_broadcast(&d->cv);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
	struct hx_device *d = obj;
	pthread_mutex_lock(&d->mu);
	if (qos_count > 0 && granted[0] <= 2)
		d->subscribed = true;
	if (qos_count > 0)
		d->last_suback = granted[0];
	pthread_mutex_unlock(&d->mu);
	pthread_cond_broadcast(&d->cv);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
	struct hx_device *d = obj;
	pthread_mutex_lock(&d->mu);
	d->ack_gen[mid & 0xffff]++;
	d->reasons[mid & 0xffff] = reason;
	d->n_acked++;
	pthread_mutex_unlock(&d->mu);
	pthread_cond_broadcast(&d->cv);
}

/* Queue one inbox message (takes json). */
static void enqueue(struct hx_device *d, const char *topic, const char *payload, size_t len,
                    json_t *json)
{
	struct msg *msg = calloc(1, sizeof(*msg));
	if (!msg) {
		json_decref(json);
		return;
	}
	msg->topic = strdup(topic);
	msg->len = len;
	msg->payload = malloc(msg->len + 1);
	if (!msg->topic || !msg->payload) {
		free(msg->topic);
		free(msg->payload);
		free(msg);
		json_decref(json);
		return;
	}
	if (msg->len)
		memcpy(msg->payload, payload, msg->len);
	msg->payload[msg->len] = '\0';
	msg->json = json;
	pthread_mutex_lock(&d->mu);
	if (d->tail)
		d->tail->next = msg;
	else
		d->head = msg;
	d->tail = msg;
	if (!d->first_untaken)
		d->first_untaken = msg;
	d->pending++;
	pthread_mutex_unlock(&d->mu);
	pthread_cond_broadcast(&d->cv);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
                       const mosquitto_property *props)
{
	struct hx_device *d = obj;
	int64_t at = hx_now_ms();
	pthread_mutex_lock(&d->mu);
	void (*fn)(void *, const char *, const char *, size_t, int64_t) = d->handler;
	void *fn_ctx = d->handler_ctx;
	pthread_mutex_unlock(&d->mu);
	if (fn) {
		fn(fn_ctx, m->topic, m->payload ? m->payload : "", (size_t)m->payloadlen, at);
		return;
	}
	json_t *json = json_loadb(m->payload ? m->payload : "", (size_t)m->payloadlen, 0, NULL);
	/* careline bundles several alerts or receipts of one commit into one
	 * message ({"type": "alerts", "alerts": [...]}); tests see them one by one. */
	const char *type = json_string_value(json_object_get(json, "type"));
	json_t *items = NULL;
	if (type && (strcmp(type, "alerts") == 0 || strcmp(type, "receipts") == 0))
		items = json_object_get(json, type);
	if (json_is_array(items)) {
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item)
		{
			char *text = json_dumps(item, JSON_COMPACT);
			if (text)
				enqueue(d, m->topic, text, strlen(text), json_incref(item));
			free(text);
		}
		json_decref(json);
		return;
	}
	enqueue(d, m->topic, m->payload ? m->payload : "", (size_t)m->payloadlen, json);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

bool hx_device_wait_connected(struct hx_device *d, int timeout_ms)
{
	struct timespec ts;
	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&d->mu);
	int rc = 0;
	while (!(d->connected && d->subscribed) && rc == 0)
		rc = pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	bool ok = d->connected && d->subscribed;
	pthread_mutex_unlock(&d->mu);
	return ok;
}

static struct hx_device *client_connect(struct hx *h, const char *client_id, const char *username,
                                        const char *password, const char *filter)
{
	hx_init();
	if (!h->mqtt_port)
		hx_fail("connect %s: no broker", client_id);
	struct hx_device *d = calloc(1, sizeof(*d));
	if (!d)
		hx_fail("out of memory");
	d->h = h;
	snprintf(d->id, sizeof(d->id), "%s", client_id);
	snprintf(d->filter, sizeof(d->filter), "%s", filter);
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	d->pub_gen = calloc(65536, sizeof(*d->pub_gen));
	d->ack_gen = calloc(65536, sizeof(*d->ack_gen));
	d->reasons = calloc(65536, sizeof(*d->reasons));
	d->last_suback = -1;
	if (password)
		snprintf(d->password, sizeof(d->password), "%s", password);
	if (!d->pub_gen || !d->ack_gen || !d->reasons)
		hx_fail("out of memory");
	d->mosq = mosquitto_new(client_id, false, d);
	if (!d->mosq)
		hx_fail("mosquitto_new(%s) failed", client_id);
	mosquitto_int_option(d->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(d->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(d->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
	mosquitto_int_option(d->mosq, MOSQ_OPT_SEND_MAXIMUM, 1000);
	if (username)
		mosquitto_username_pw_set(d->mosq, username, password);
	mosquitto_reconnect_delay_set(d->mosq, 1, 1, false);
	mosquitto_connect_v5_callback_set(d->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(d->mosq, on_disconnect);
	mosquitto_subscribe_v5_callback_set(d->mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(d->mosq, on_publish);
	mosquitto_message_v5_callback_set(d->mosq, on_message);
	pthread_mutex_lock(&live_mu);
	d->next_live = live_devices;
	live_devices = d;
	pthread_mutex_unlock(&live_mu);
	mosquitto_property *props = NULL;
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, SESSION_EXPIRY_S);
	int rc = mosquitto_connect_bind_v5(d->mosq, "127.0.0.1", h->mqtt_port, 30, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS)
		hx_fail("connect %s to 127.0.0.1:%d: %s", client_id, h->mqtt_port,
		        mosquitto_strerror(rc));
	if (mosquitto_loop_start(d->mosq) != MOSQ_ERR_SUCCESS)
		hx_fail("mosquitto_loop_start(%s) failed", client_id);
	if (!hx_device_wait_connected(d, MQTT_TIMEOUT_MS))
		hx_fail("%s: no CONNACK/SUBACK within %d ms (connect rc %d)", client_id,
		        MQTT_TIMEOUT_MS, d->connect_rc);
	return d;
}

struct hx_device *hx_device_connect(struct hx *h, const char *id)
{
	char filter[256];
	snprintf(filter, sizeof(filter), "careline/v1/dev/%s/inbox", id);
	return client_connect(h, id, id, NULL, filter);
}

struct hx_device *hx_subscriber_connect(struct hx *h, const char *client_id, const char *filter)
{
	return client_connect(h, client_id, NULL, NULL, filter);
}

struct hx_device *hx_device_connect_as(struct hx *h, const char *id, const char *password)
{
	char filter[256];
	snprintf(filter, sizeof(filter), "careline/v1/dev/%s/inbox", id);
	return client_connect(h, id, id, password, filter);
}

struct hx_device *hx_subscriber_connect_as(struct hx *h, const char *client_id,
                                           const char *username, const char *password,
                                           const char *filter)
{
	return client_connect(h, client_id, username, password, filter);
}

static void on_try_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                           const mosquitto_property *props)
{
	*(int *)obj = rc;
}

int hx_try_connect(struct hx *h, const char *username, const char *password)
{
	hx_init();
	int result = -1;
	struct mosquitto *mosq = mosquitto_new(NULL, true, &result);
	if (!mosq)
		hx_fail("out of memory");
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_username_pw_set(mosq, username, password);
	mosquitto_connect_v5_callback_set(mosq, on_try_connect);
	if (mosquitto_connect_bind_v5(mosq, "127.0.0.1", h->mqtt_port, 30, NULL, NULL) ==
	    MOSQ_ERR_SUCCESS) {
		int64_t end = hx_now_ms() + MQTT_TIMEOUT_MS;
		while (result < 0 && hx_now_ms() < end)
			if (mosquitto_loop(mosq, 100, 1) != MOSQ_ERR_SUCCESS && result < 0)
				hx_sleep_ms(10);
	}
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	return result;
}

int hx_subscribe_reason(struct hx_device *d, const char *filter)
{
	pthread_mutex_lock(&d->mu);
	d->last_suback = -1;
	pthread_mutex_unlock(&d->mu);
	if (mosquitto_subscribe_v5(d->mosq, NULL, filter, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
		hx_fail("%s: subscribe %s failed", d->id, filter);
	struct timespec ts;
	deadline_in(&ts, MQTT_TIMEOUT_MS);
	pthread_mutex_lock(&d->mu);
	while (d->last_suback < 0)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			break;
	int code = d->last_suback;
	pthread_mutex_unlock(&d->mu);
	if (code < 0)
		hx_fail("%s: no SUBACK for %s", d->id, filter);
	return code;
}

void hx_device_free(struct hx_device *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&live_mu);
	for (struct hx_device **p = &live_devices; *p; p = &(*p)->next_live) {
		if (*p == d) {
			*p = d->next_live;
			break;
		}
	}
	pthread_mutex_unlock(&live_mu);
	mosquitto_disconnect(d->mosq);
	mosquitto_loop_stop(d->mosq, false);
	mosquitto_destroy(d->mosq);
	struct msg *m = d->head;
	while (m) {
		struct msg *next = m->next;
		free(m->topic);
		free(m->payload);
		json_decref(m->json);
		free(m);
		m = next;
	}
	free(d->pub_gen);
	free(d->ack_gen);
	free(d->reasons);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

/* Publish QoS 1; returns the mid and its generation, to wait for its PUBACK. */
static void publish(struct hx_device *d, const char *topic, const void *payload, size_t len,
                    int *mid_out, uint32_t *gen_out)
{
	int mid = 0;
	int rc = mosquitto_publish_v5(d->mosq, &mid, topic, (int)len, payload, 1, false, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		hx_fail("%s: publish to %s: %s", d->id, topic, mosquitto_strerror(rc));
	pthread_mutex_lock(&d->mu);
	*gen_out = ++d->pub_gen[mid & 0xffff];
	d->n_published++;
	pthread_mutex_unlock(&d->mu);
	*mid_out = mid & 0xffff;
}

static int publish_wait(struct hx_device *d, const char *topic, const void *payload, size_t len)
{
	int mid;
	uint32_t gen;
	publish(d, topic, payload, len, &mid, &gen);
	struct timespec ts;
	deadline_in(&ts, MQTT_TIMEOUT_MS);
	pthread_mutex_lock(&d->mu);
	bool acked;
	while (!(acked = (int32_t)(d->ack_gen[mid] - gen) >= 0))
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0) {
			acked = (int32_t)(d->ack_gen[mid] - gen) >= 0;
			break;
		}
	pthread_mutex_unlock(&d->mu);
	if (!acked)
		hx_fail("%s: no PUBACK for %s within %d ms", d->id, topic, MQTT_TIMEOUT_MS);
	pthread_mutex_lock(&d->mu);
	int reason = d->reasons[mid];
	pthread_mutex_unlock(&d->mu);
	return reason;
}

void hx_device_publish_raw(struct hx_device *d, const char *topic, const void *payload, size_t len)
{
	publish_wait(d, topic, payload, len);
}

int hx_publish_reason(struct hx_device *d, const char *topic, const char *payload)
{
	return publish_wait(d, topic, payload, strlen(payload));
}

void hx_device_publish_nowait(struct hx_device *d, const char *kind, const char *payload)
{
	char topic[256];
	snprintf(topic, sizeof(topic), "careline/v1/dev/%s/%s", d->id, kind);
	int mid;
	uint32_t gen;
	publish(d, topic, payload, strlen(payload), &mid, &gen);
}

size_t hx_device_unacked(struct hx_device *d)
{
	pthread_mutex_lock(&d->mu);
	size_t n = (size_t)(d->n_published - d->n_acked);
	pthread_mutex_unlock(&d->mu);
	return n;
}

void hx_device_set_handler(struct hx_device *d,
                           void (*fn)(void *ctx, const char *topic, const char *payload, size_t len,
                                      int64_t at_ms),
                           void *ctx)
{
	pthread_mutex_lock(&d->mu);
	d->handler = fn;
	d->handler_ctx = ctx;
	pthread_mutex_unlock(&d->mu);
}

void hx_device_publish(struct hx_device *d, const char *kind, const char *payload)
{
	char topic[256];
	snprintf(topic, sizeof(topic), "careline/v1/dev/%s/%s", d->id, kind);
	hx_device_publish_raw(d, topic, payload, strlen(payload));
}

static bool matches(const struct msg *m, const char *type, const char *ticket)
{
	if (m->taken)
		return false;
	if (!type && !ticket)
		return true;
	if (!json_is_object(m->json))
		return false;
	const char *t = json_string_value(json_object_get(m->json, "type"));
	const char *k = json_string_value(json_object_get(m->json, "ticket"));
	if (type && (!t || strcmp(t, type) != 0))
		return false;
	if (ticket && (!k || strcasecmp(k, ticket) != 0))
		return false;
	return true;
}

/* The first pending message that matches, marked taken; NULL if none.
 * Called with d->mu held. */
static json_t *take(struct hx_device *d, const char *type, const char *ticket)
{
	for (struct msg *m = d->first_untaken; m; m = m->next) {
		if (!matches(m, type, ticket))
			continue;
		m->taken = true;
		d->pending--;
		while (d->first_untaken && d->first_untaken->taken)
			d->first_untaken = d->first_untaken->next;
		return m->json ? json_incref(m->json) : json_stringn_nocheck(m->payload, m->len);
	}
	return NULL;
}

json_t *hx_device_wait(struct hx_device *d, const char *type, const char *ticket, int timeout_ms)
{
	struct timespec ts;
	deadline_in(&ts, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&d->mu);
	json_t *j;
	while (!(j = take(d, type, ticket)))
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0) {
			j = take(d, type, ticket); /* one last look */
			break;
		}
	pthread_mutex_unlock(&d->mu);
	return j;
}

size_t hx_device_pending(struct hx_device *d)
{
	pthread_mutex_lock(&d->mu);
	size_t n = d->pending;
	pthread_mutex_unlock(&d->mu);
	return n;
}

void hx_device_each(struct hx_device *d,
                    void (*fn)(void *ctx, const char *topic, const char *payload, size_t len),
                    void *ctx)
{
	pthread_mutex_lock(&d->mu);
	for (struct msg *m = d->head; m; m = m->next)
		fn(ctx, m->topic, m->payload, m->len);
	pthread_mutex_unlock(&d->mu);
}
