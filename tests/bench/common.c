/*
 * tests/bench/common.c: the shared half of the benchmarks (see common.h). It
 * starts its own broker and daemon rather than the test harness's because the
 * figures depend on their tuning: the broker gets the in-flight and queue
 * limits of deploy/mosquitto/careline-dev.conf, the daemon a configuration
 * whose escalation never fires during a run and which logs warnings only.
 * Not a bench program itself (the Makefile links it into every bench_*).
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct bench_env *current_env;

/* --- output and failure ----------------------------------------------------------- */

void bench_figure(const char *name, double value, int decimals, const char *unit)
{
	printf("%s %.*f %s\n", name, decimals, value, unit);
	fflush(stdout);
}

void bench_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void bench_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (current_env)
		bench_env_stop(current_env);
	exit(1);
}

/* --- time, numbers ---------------------------------------------------------------- */

int64_t bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bench_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* --- random ------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void bench_uuid(char out[37])
{
	if (!rng_state && getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
		rng_state = (uint64_t)bench_now_us() ^ ((uint64_t)getpid() << 32);
	uint64_t a = splitmix(&rng_state), b = splitmix(&rng_state);
	a = (a & ~0xf000ULL) | 0x4000ULL;       /* version 4 */
	b = (b & ~(3ULL << 62)) | (2ULL << 62); /* variant 10 */
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
	         (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
	         (unsigned long long)(b & 0xffffffffffffULL));
}

/* --- reports -------------------------------------------------------------------------- */

/* Concern texts as they arrive (none holds a quote or a backslash). */
static const char *const texts[] = {
    "Har ikke set manden i nr. 14 i over to uger, postkassen flyder over",
    "Det lugter forfærdeligt fra lejligheden og der er fluer i opgangen",
    "Naboen råber og banker på væggene hver nat, vi kan ikke sove",
    "Der ligger affald og skrald helt op til loftet, og vi har set rotter",
    "Han er lige blevet udskrevet fra psykiatrien og har smidt møbler ud af vinduet",
    "Beboeren på 2. sal har ikke betalt husleje i 3 måneder og fogeden kommer på fredag",
    "Vand siver ned fra lejligheden ovenover og ingen åbner døren",
    "Jeg er bekymret for børnene i lejligheden, de er alene hjemme hele tiden",
    "Der er ikke nogen der har set ham siden jul, og lyset er tændt hele tiden",
    "Hun går rundt i samme tøj og lugter, har sår på benene",
    "Ikke sikker på om det er noget, men hun virker meget forvirret og ensom",
    "Vinduerne er tildækket med aviser og postkassen er ikke tømt i ugevis",
    "Han er stoppet med sin medicin og er blevet meget mistænksom over for naboerne",
    "Sedlen i døren sidder der stadig efter 5 dage, ingen reagerer når vi banker på",
    "Stor bekymring for ældre dame, hun har mistet sin mand og spiser ikke",
    "Hun bliver ved med at ringe på hos naboerne om natten og tror nogen vil slå hende ihjel",
    "Der står poser med skrald uden for døren og det stinker helt ned i kælderen",
    "Truende adfærd over for viceværten i dag, han råbte og skubbede",
    "ANONYM Der er råb og skrig fra lejligheden på 1. sal næsten hver aften",
    "Beboeren har fået en advarsel fra boligforeningen og mangler penge til mad",
};
static const char *const streets[] = {"Vestergade",     "Nørregade",    "Skovvej",
                                      "Søndergade",     "Åboulevarden", "Frederiks Allé",
                                      "Jægergårdsgade", "Silkeborgvej"};
static const char *const postcodes[] = {"8000", "8100", "8210", "8220", "8380"};
static const char *const floors[] = {"st", "1", "2", "3", "4"};
static const char *const sides[] = {"tv", "th", "mf"};
static const char *const orgs[] = {"Boligforeningen Vest", "Brabrand Boligforening", "AAB afd. 12"};
static const char *const names[] = {"Jens Hansen", "Mette Sørensen", "Ali Yılmaz",
                                    "Birthe Østergaard"};

#define PICK(a, r) (a[(r) % (sizeof(a) / sizeof(a[0]))])

size_t bench_report_json(char *buf, size_t cap, const char *report_id, uint64_t seq)
{
	uint64_t s = seq * 2654435761ULL + 17;
	uint64_t r = splitmix(&s);
	const char *text = PICK(texts, r);
	unsigned number = 1 + (unsigned)((r >> 8) % 120);
	const char *street = PICK(streets, r >> 16);
	const char *floor = PICK(floors, r >> 24);
	const char *side = PICK(sides, r >> 28);
	const char *postcode = PICK(postcodes, r >> 32);
	char address[256] = "";
	switch ((r >> 40) % 4) {
	case 0: /* no address: the text or the reporter's estate routes it */
		break;
	case 1:
		snprintf(address, sizeof(address), ", \"address\": \"%s %u, %s. %s., %s Aarhus\"",
		         street, number, floor, side, postcode);
		break;
	default:
		snprintf(
		    address, sizeof(address),
		    ", \"address\": {\"street\": \"%s\", \"number\": \"%u\", \"floor\": \"%s\","
		    " \"side\": \"%s\", \"postcode\": \"%s\"}",
		    street, number, floor, side, postcode);
		break;
	}
	char reporter[256] = "";
	if ((r >> 44) % 2 == 0)
		snprintf(reporter, sizeof(reporter),
		         ", \"reporter\": {\"name\": \"%s\", \"phone\": \"+452%07u\", \"role\":"
		         " \"caretaker\", \"org\": \"%s\"}, \"consent\": {\"callback\": true,"
		         " \"disclose_name\": false}",
		         PICK(names, r >> 48), (unsigned)((r >> 20) % 10000000),
		         PICK(orgs, r >> 52));
	int n = snprintf(buf, cap, "{\"report_id\": \"%s\", \"text\": \"%s\"%s%s}", report_id, text,
	                 address, reporter);
	if (n < 0 || (size_t)n >= cap)
		bench_fail("report body over %zu bytes", cap);
	return (size_t)n;
}

/* --- processes ------------------------------------------------------------------------ */

const char *const bench_worker_devices[] = {"anna-phone", "bo-phone", "carl-phone", "dorthe-phone"};
const size_t bench_n_worker_devices = sizeof(bench_worker_devices) / sizeof(char *);

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		bench_fail("free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		bench_fail("write %s: %s", path, strerror(errno));
}

/* fork + exec argv with cwd and stdout/stderr to log. */
static pid_t spawn(const char *cwd, const char *log, char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		/* Never outlive the bench, even when it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (chdir(cwd) < 0)
			_exit(126);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static void show_log(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "    | %s", line);
	fclose(f);
}

static void start_broker(struct bench_env *env)
{
	char conf[300], log[300], text[1024];
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", env->dir);
	snprintf(log, sizeof(log), "%s/mosquitto.log", env->dir);
	env->mqtt_port = free_port();
	/* The limits of deploy/mosquitto/careline-dev.conf: careline must never
	 * lose a queued message, and 20 in flight would make receipts crawl. */
	snprintf(text, sizeof(text),
	         "listener %d 127.0.0.1\n"
	         "allow_anonymous true\n"
	         "persistence false\n"
	         "max_queued_messages 100000\n"
	         "max_inflight_messages 1000\n"
	         "set_tcp_nodelay true\n"
	         "log_dest stderr\n"
	         "log_type error\n"
	         "log_type warning\n",
	         env->mqtt_port);
	write_file(conf, text);
	char *argv[] = {"mosquitto", "-c", conf, NULL};
	env->broker_pid = spawn(env->dir, log, argv);
	for (int i = 0; i < 200; i++) {
		if (port_open(env->mqtt_port))
			return;
		int st;
		if (waitpid(env->broker_pid, &st, WNOHANG) == env->broker_pid) {
			env->broker_pid = 0;
			show_log(log);
			bench_fail("mosquitto exited at start");
		}
		bench_sleep_ms(25);
	}
	show_log(log);
	bench_fail("mosquitto does not accept on port %d", env->mqtt_port);
}

static void config_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void config_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return;
		}
		*cap *= 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			bench_fail("out of memory");
	}
}

/* config/careline.ini's people, areas and team, with delays that keep
 * escalation out of every run and BENCH_DEVICES reporting devices. */
static char *daemon_config(const struct bench_env *env, const char *extra_config)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	if (!b)
		bench_fail("out of memory");
	b[0] = '\0';
	config_append(&b, &len, &cap,
	              "[careline]\n"
	              "database = %s\n"
	              "key_file = %s/careline.key\n"
	              "lang = da\n"
	              "log_level = warn\n\n"
	              "[http]\n"
	              "listen = 127.0.0.1:%d\n"
	              "admin_socket = %s/careline.sock\n"
	              "max_body = 65536\n"
	              "per_ip_rate = 0\n\n"
	              "[mqtt]\n"
	              "host = 127.0.0.1\n"
	              "port = %d\n"
	              "client_id = careline-gateway\n"
	              "username =\n"
	              "password =\n"
	              "keepalive = 30\n\n"
	              "[outbox]\n"
	              "retry_base = 1\n"
	              "retry_cap = 300\n"
	              "alert_expiry = 3600\n\n"
	              "[routing]\n"
	              "default_area = centrum\n\n"
	              "[token bench-partner]\n"
	              "secret = " BENCH_TOKEN "\n"
	              "role = partner\n\n"
	              "[token bench-monitor]\n"
	              "secret = bench-monitor-token\n"
	              "role = monitor\n\n"
	              "[person anna]\nrole = worker\n"
	              "[person bo]\nrole = worker\n"
	              "[person carl]\nrole = worker\n"
	              "[person dorthe]\nrole = lead\n"
	              "[person jens]\nrole = caretaker\nestate = gellerupparken\n\n"
	              "[device anna-phone]\nperson = anna\n"
	              "[device bo-phone]\nperson = bo\n"
	              "[device carl-phone]\nperson = carl\n"
	              "[device dorthe-phone]\nperson = dorthe\n"
	              "[device jens-handheld]\nperson = jens\n\n",
	              env->db_path, env->dir, env->http_port, env->dir, env->mqtt_port);
	for (int i = 1; i <= BENCH_DEVICES; i++) {
		config_append(&b, &len, &cap, "[person reporter-%02d]\nrole = caretaker\n", i);
		if (i % 2)
			config_append(&b, &len, &cap, "estate = toveshoej\n");
		config_append(&b, &len, &cap,
		              "[device " BENCH_DEVICE_FMT "]\nperson = reporter-%02d\n", i, i);
	}
	config_append(&b, &len, &cap,
	              "\n[area vest]\n"
	              "name = Vest\n"
	              "postcodes = 8210 8220 8380 8381\n"
	              "estates = gellerupparken toveshoej\n"
	              "team = opsoegende\n\n"
	              "[area centrum]\n"
	              "name = Centrum\n"
	              "postcodes = 8000 8100\n"
	              "team = opsoegende\n\n"
	              "[team opsoegende]\n"
	              "rotation = anna bo\n"
	              "handoff = mon 08:00\n"
	              "anchor = 2026-01-05\n"
	              "backup = carl\n"
	              "lead = dorthe\n"
	              "policy = standard\n\n"
	              "; No escalation step falls due during a bench run.\n"
	              "[policy standard]\n"
	              "step = primary 600\n"
	              "repeat = 0\n"
	              "final = backup 600\n"
	              "ack_timeout_p0 = 3600\n"
	              "ack_timeout_p1 = 3600\n"
	              "ack_timeout_p2 = 14400\n"
	              "ack_timeout_p3 = 86400\n");
	if (extra_config && extra_config[0])
		config_append(&b, &len, &cap, "\n; --- the bench's own keys\n%s\n", extra_config);
	return b;
}

/* Write the configuration, fork/exec the daemon and poll /readyz every
 * poll_ms; returns the microseconds from just before the fork to the first
 * 200. */
static int64_t start_daemon(struct bench_env *env, const char *extra_config, int poll_ms)
{
	const char *bin = getenv("CARELINE_BIN");
	if (!bin || !bin[0])
		bin = "build/release/careline";
	char abs_bin[512];
	if (bin[0] != '/') {
		char cwd[256];
		if (!getcwd(cwd, sizeof(cwd)))
			bench_fail("getcwd: %s", strerror(errno));
		snprintf(abs_bin, sizeof(abs_bin), "%s/%s", cwd, bin);
	} else {
		snprintf(abs_bin, sizeof(abs_bin), "%s", bin);
	}
	if (access(abs_bin, X_OK) != 0)
		bench_fail("no daemon at %s (set CARELINE_BIN)", abs_bin);
	char conf[300], log[300];
	snprintf(conf, sizeof(conf), "%s/careline.ini", env->dir);
	snprintf(log, sizeof(log), "%s/careline.log", env->dir);
	env->http_port = free_port();
	char *text = daemon_config(env, extra_config);
	write_file(conf, text);
	free(text);
	char *argv[] = {abs_bin, "--config", conf, NULL};
	int64_t t0 = bench_now_us();
	env->daemon_pid = spawn(env->dir, log, argv);
	while (bench_now_us() - t0 < 15000000) {
		int st;
		if (waitpid(env->daemon_pid, &st, WNOHANG) == env->daemon_pid) {
			env->daemon_pid = 0;
			show_log(log);
			bench_fail("careline exited at start");
		}
		if (port_open(env->http_port) &&
		    bench_http_get(env->http_port, "/readyz", NULL) == 200)
			return bench_now_us() - t0;
		bench_sleep_ms(poll_ms);
	}
	show_log(log);
	bench_fail("careline not ready after 15 s");
}

int64_t bench_daemon_start(struct bench_env *env, const char *extra_config, int poll_ms)
{
	if (env->daemon_pid > 0)
		bench_fail("bench_daemon_start: the daemon runs");
	return start_daemon(env, extra_config, poll_ms > 0 ? poll_ms : 1);
}

void bench_env_start(struct bench_env *env)
{
	bench_env_start_with(env, NULL);
}

void bench_env_start_with(struct bench_env *env, const char *extra_config)
{
	memset(env, 0, sizeof(*env));
	current_env = env;
	const char *base = getenv("BENCH_DIR");
	if (!base || !base[0])
		base = "/tmp";
	snprintf(env->dir, sizeof(env->dir), "%s/careline-bench.XXXXXX", base);
	if (!mkdtemp(env->dir))
		bench_fail("mkdtemp %s: %s", env->dir, strerror(errno));
	snprintf(env->db_path, sizeof(env->db_path), "%s/careline.db", env->dir);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	mosquitto_lib_init();
	start_broker(env);
	start_daemon(env, extra_config, 50);
}

const char *bench_env_dir(const struct bench_env *env)
{
	return env->dir;
}

static void stop_process(pid_t *pid, const char *what)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		int st;
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				bench_note("%s stopped with status %d", what, st);
			*pid = 0;
			return;
		}
		bench_sleep_ms(50);
	}
	bench_note("%s did not stop in 10 s: SIGKILL", what);
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void bench_daemon_stop(struct bench_env *env)
{
	stop_process(&env->daemon_pid, "careline");
}

void bench_env_stop(struct bench_env *env)
{
	if (current_env == env)
		current_env = NULL;
	stop_process(&env->daemon_pid, "careline");
	stop_process(&env->broker_pid, "mosquitto");
	if (env->dir[0] && !getenv("KEEP_BENCH_DIR"))
		nftw(env->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else if (env->dir[0])
		bench_note("kept %s", env->dir);
	env->dir[0] = '\0';
}

/* --- the daemon from the outside -------------------------------------------------------- */

static bool read_proc(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0;
}

static long status_field(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

double bench_peak_rss_mb(pid_t pid)
{
	char buf[4096];
	if (!read_proc(pid, "status", buf, sizeof(buf)))
		return -1;
	return (double)status_field(buf, "VmHWM:") / 1024.0;
}

int64_t bench_ctx_switches(pid_t pid)
{
	char buf[4096];
	if (!read_proc(pid, "status", buf, sizeof(buf)))
		return -1;
	return status_field(buf, "\nvoluntary_ctxt_switches:") +
	       status_field(buf, "nonvoluntary_ctxt_switches:");
}

int64_t bench_disk_write_bytes(pid_t pid)
{
	char buf[1024];
	if (!read_proc(pid, "io", buf, sizeof(buf)))
		return -1;
	const char *p = strstr(buf, "\nwrite_bytes:");
	return p ? strtoll(p + 13, NULL, 10) : -1;
}

int64_t bench_oncpu_us(pid_t pid)
{
	char buf[256];
	if (!read_proc(pid, "schedstat", buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10) / 1000;
}

int64_t bench_cpu_ms(pid_t pid)
{
	char buf[1024];
	if (!read_proc(pid, "stat", buf, sizeof(buf)))
		return -1;
	const char *p = strrchr(buf, ')');
	unsigned long ut, st;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (int64_t)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

double bench_metric(const struct bench_env *env, const char *name)
{
	char *body = NULL;
	double v = -1;
	if (bench_http_get(env->http_port, "/metrics", &body) == 200 && body) {
		size_t n = strlen(name);
		for (const char *line = body; line && *line; line = strchr(line, '\n')) {
			if (*line == '\n')
				line++;
			if (strncmp(line, name, n) == 0 && line[n] == ' ') {
				v = strtod(line + n + 1, NULL);
				break;
			}
		}
	}
	free(body);
	return v;
}

/* --- HTTP ---------------------------------------------------------------------------------- */

#define RESP_MAX 8192

struct slot {
	CURL *e;
	char *body;
	size_t cap;
	char resp[RESP_MAX];
	size_t rlen;
	uint64_t tag;
	int64_t start_us;
};

struct bench_http {
	CURLM *m;
	struct curl_slist *hdrs;
	struct slot *slots;
	int n;
	int *free_stack;
	int n_free;
	bench_http_done_fn fn;
	void *ctx;
	char url[160];
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct slot *s = ud;
	size_t n = size * nmemb;
	size_t room = RESP_MAX - 1 - s->rlen;
	size_t take = n < room ? n : room;
	memcpy(s->resp + s->rlen, data, take);
	s->rlen += take;
	return n;
}

struct bench_http *bench_http_new(int port, const char *path, int conns, bench_http_done_fn fn,
                                  void *ctx)
{
	struct bench_http *p = calloc(1, sizeof(*p));
	if (!p)
		bench_fail("out of memory");
	p->m = curl_multi_init();
	p->slots = calloc((size_t)conns, sizeof(*p->slots));
	p->free_stack = calloc((size_t)conns, sizeof(int));
	if (!p->m || !p->slots || !p->free_stack)
		bench_fail("out of memory");
	p->n = conns;
	p->fn = fn;
	p->ctx = ctx;
	snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d%s", port, path);
	p->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	p->hdrs = curl_slist_append(p->hdrs, "Authorization: Bearer " BENCH_TOKEN);
	p->hdrs = curl_slist_append(p->hdrs, "Expect:");
	curl_multi_setopt(p->m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
	curl_multi_setopt(p->m, CURLMOPT_MAXCONNECTS, (long)conns);
	for (int i = 0; i < conns; i++) {
		struct slot *s = &p->slots[i];
		s->e = curl_easy_init();
		if (!s->e)
			bench_fail("curl_easy_init");
		curl_easy_setopt(s->e, CURLOPT_URL, p->url);
		curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, p->hdrs);
		curl_easy_setopt(s->e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(s->e, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(s->e, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->e, CURLOPT_PRIVATE, s);
		curl_easy_setopt(s->e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->e, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(s->e, CURLOPT_TIMEOUT, 30L);
		p->free_stack[p->n_free++] = i;
	}
	return p;
}

void bench_http_free(struct bench_http *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		curl_multi_remove_handle(p->m, p->slots[i].e);
		curl_easy_cleanup(p->slots[i].e);
		free(p->slots[i].body);
	}
	curl_multi_cleanup(p->m);
	curl_slist_free_all(p->hdrs);
	free(p->slots);
	free(p->free_stack);
	free(p);
}

bool bench_http_post(struct bench_http *p, const char *body, size_t len, uint64_t tag)
{
	return bench_http_post_with(p, body, len, NULL, tag);
}

bool bench_http_post_with(struct bench_http *p, const char *body, size_t len,
                          struct curl_slist *headers, uint64_t tag)
{
	if (p->n_free == 0)
		return false;
	struct slot *s = &p->slots[p->free_stack[--p->n_free]];
	curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, headers ? headers : p->hdrs);
	if (s->cap < len + 1) {
		free(s->body);
		s->cap = len + 256;
		s->body = malloc(s->cap);
		if (!s->body)
			bench_fail("out of memory");
	}
	memcpy(s->body, body, len);
	s->body[len] = '\0';
	s->rlen = 0;
	s->tag = tag;
	curl_easy_setopt(s->e, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(s->e, CURLOPT_POSTFIELDS, s->body);
	s->start_us = bench_now_us();
	CURLMcode mc = curl_multi_add_handle(p->m, s->e);
	if (mc != CURLM_OK)
		bench_fail("curl_multi_add_handle: %s", curl_multi_strerror(mc));
	return true;
}

int bench_http_busy(const struct bench_http *p)
{
	return p->n - p->n_free;
}

void bench_http_run(struct bench_http *p, int timeout_ms, struct curl_waitfd *extra,
                    unsigned n_extra)
{
	int running;
	CURLMcode mc = curl_multi_poll(p->m, extra, n_extra, timeout_ms, NULL);
	if (mc == CURLM_OK)
		mc = curl_multi_perform(p->m, &running);
	if (mc != CURLM_OK)
		bench_fail("curl multi: %s", curl_multi_strerror(mc));
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(p->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		int64_t end = bench_now_us();
		struct slot *s;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		long status = 0;
		if (msg->data.result == CURLE_OK)
			curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &status);
		else
			bench_note("POST failed: %s", curl_easy_strerror(msg->data.result));
		curl_multi_remove_handle(p->m, s->e);
		s->resp[s->rlen] = '\0';
		p->fn(p->ctx, s->tag, status, s->resp, s->start_us, end);
		p->free_stack[p->n_free++] = (int)(s - p->slots);
	}
}

struct getbuf {
	char *s;
	size_t len;
};

static size_t on_get_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct getbuf *b = ud;
	size_t n = size * nmemb;
	char *s = realloc(b->s, b->len + n + 1);
	if (!s)
		return 0;
	memcpy(s + b->len, data, n);
	b->s = s;
	b->len += n;
	s[b->len] = '\0';
	return n;
}

long bench_http_get(int port, const char *path, char **body)
{
	char url[200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	CURL *e = curl_easy_init();
	if (!e)
		return 0;
	struct getbuf b = {0};
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_get_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	struct curl_slist *hdr =
	    curl_slist_append(NULL, "Authorization: Bearer bench-monitor-token");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	long status = 0;
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	if (body)
		*body = b.s;
	else
		free(b.s);
	return status;
}

/* --- MQTT ------------------------------------------------------------------------------------ */

struct bmq {
	struct mosquitto *m;
	bmq_msg_fn fn;
	void *ctx;
	bool connected;
	bool subacked;
	uint64_t pubacks;
	int64_t misc_at;
	char id[64];
};

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	struct bmq *q = obj;
	if (rc != 0)
		bench_fail("mqtt %s: connect refused: %s", q->id, mosquitto_reason_string(rc));
	q->connected = true;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
	struct bmq *q = obj;
	if (n < 1 || granted[0] >= 128)
		bench_fail("mqtt %s: subscription refused", q->id);
	q->subacked = true;
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
	struct bmq *q = obj;
	if (reason >= 128)
		bench_note("mqtt %s: PUBACK reason %d", q->id, reason);
	q->pubacks++;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
	struct bmq *q = obj;
	if (q->fn)
		q->fn(q, q->ctx, msg->topic, msg->payload, msg->payloadlen);
}

struct bmq *bmq_connect(const char *client_id, int port, bmq_msg_fn fn, void *ctx)
{
	struct bmq *q = calloc(1, sizeof(*q));
	if (!q)
		bench_fail("out of memory");
	snprintf(q->id, sizeof(q->id), "%s", client_id);
	q->fn = fn;
	q->ctx = ctx;
	q->m = mosquitto_new(client_id, true, q);
	if (!q->m)
		bench_fail("mosquitto_new");
	mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(q->m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(q->m, MOSQ_OPT_SEND_MAXIMUM, 1000);
	mosquitto_int_option(q->m, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
	mosquitto_connect_v5_callback_set(q->m, on_connect);
	mosquitto_subscribe_v5_callback_set(q->m, on_subscribe);
	mosquitto_publish_v5_callback_set(q->m, on_publish);
	mosquitto_message_v5_callback_set(q->m, on_message);
	int rc = mosquitto_connect_bind_v5(q->m, "127.0.0.1", port, 60, NULL, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		bench_fail("mqtt %s: connect: %s", client_id, mosquitto_strerror(rc));
	int64_t until = bench_now_us() + 5000000;
	while (!q->connected) {
		if (bench_now_us() > until)
			bench_fail("mqtt %s: no CONNACK", client_id);
		bmq_pump(&q, 1, 100);
	}
	return q;
}

void bmq_free(struct bmq *q)
{
	if (!q)
		return;
	mosquitto_disconnect(q->m);
	mosquitto_loop_write(q->m, 1);
	mosquitto_destroy(q->m);
	free(q);
}

void bmq_subscribe(struct bmq *q, const char *topic)
{
	q->subacked = false;
	int rc = mosquitto_subscribe_v5(q->m, NULL, topic, 1, 0, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		bench_fail("mqtt %s: subscribe: %s", q->id, mosquitto_strerror(rc));
	int64_t until = bench_now_us() + 5000000;
	while (!q->subacked) {
		if (bench_now_us() > until)
			bench_fail("mqtt %s: no SUBACK", q->id);
		bmq_pump(&q, 1, 100);
	}
}

void bmq_publish(struct bmq *q, const char *topic, const void *payload, int len)
{
	int rc = mosquitto_publish_v5(q->m, NULL, topic, len, payload, 1, false, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		bench_fail("mqtt %s: publish: %s", q->id, mosquitto_strerror(rc));
}

int bmq_fd(const struct bmq *q)
{
	return mosquitto_socket(q->m);
}

short bmq_events(const struct bmq *q)
{
	return (short)(POLLIN | (mosquitto_want_write(q->m) ? POLLOUT : 0));
}

void bmq_service(struct bmq *q, short revents)
{
	int rc = MOSQ_ERR_SUCCESS;
	if (revents & (POLLIN | POLLERR | POLLHUP)) {
		/* libmosquitto reads one packet per call: go on while bytes wait. */
		for (int i = 0; i < 100000; i++) {
			rc = mosquitto_loop_read(q->m, 1);
			if (rc != MOSQ_ERR_SUCCESS)
				break;
			int avail = 0;
			if (ioctl(mosquitto_socket(q->m), FIONREAD, &avail) < 0 || avail <= 0)
				break;
		}
	}
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(q->m))
		rc = mosquitto_loop_write(q->m, 1);
	if (rc != MOSQ_ERR_SUCCESS)
		bench_fail("mqtt %s: connection: %s", q->id, mosquitto_strerror(rc));
	int64_t now = bench_now_us();
	if (now >= q->misc_at) {
		mosquitto_loop_misc(q->m);
		q->misc_at = now + 1000000;
	}
}

void bmq_pump(struct bmq **qs, size_t n, int timeout_ms)
{
	struct pollfd fds[64];
	if (n > 64)
		bench_fail("bmq_pump: too many clients");
	for (size_t i = 0; i < n; i++)
		fds[i] = (struct pollfd){.fd = bmq_fd(qs[i]), .events = bmq_events(qs[i])};
	int rc = poll(fds, (nfds_t)n, timeout_ms);
	if (rc < 0 && errno != EINTR)
		bench_fail("poll: %s", strerror(errno));
	for (size_t i = 0; i < n; i++)
		bmq_service(qs[i], rc > 0 ? fds[i].revents : 0);
}

uint64_t bmq_pubacks(const struct bmq *q)
{
	return q->pubacks;
}
