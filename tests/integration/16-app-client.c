/*
 * tests/integration/16-app-client.c: the reference app client
 * (`carelinectl app`, gateway/app_client.c) as the devices themselves:
 * jens-handheld reports (--once, from stdin, sealed to careline's key), the
 * on-duty worker's phone opens its sealed alert and acks, takes, notes and
 * resolves by ref, the other worker is refused with who took it, `queue`
 * lists the team's tickets, presence and the will land on .../status, and a
 * report made while broker and daemon are away is republished until its
 * receipt comes. Checks what the client prints, and the tickets behind it.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/harness.h"

extern char **environ;

static struct hx h;
static char *out, *err;
static int soft_failures;

/* A check of a feature the rest of the scenario does not need: counted, the
 * scenario goes on, the test fails at the end. */
#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			soft_failures++;                                                           \
			printf("%s:%d: EXPECTED %s: ", __FILE__, __LINE__, #cond);                 \
			printf(" " __VA_ARGS__);                                                   \
			printf("\n");                                                              \
		}                                                                                  \
	} while (0)

static char port_s[16];

/* argv for `carelinectl app --device dev --host --port` + extra (NULL-ended). */
static int app_argv(const char **argv, int max, const char *dev, va_list ap)
{
	int n = 0;
	argv[n++] = hx_carelinectl_bin();
	argv[n++] = "app";
	argv[n++] = "--device";
	argv[n++] = dev;
	argv[n++] = "--host";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = port_s;
	for (const char *a = va_arg(ap, const char *); a && n < max - 1;
	     a = va_arg(ap, const char *))
		argv[n++] = a;
	argv[n] = NULL;
	return n;
}

static void show(const char *const *argv, int n, int rc)
{
	printf("$ carelinectl");
	for (int i = 1; i < n; i++)
		printf(strchr(argv[i], ' ') ? " \"%s\"" : " %s", argv[i]);
	printf("  -> %d\n%s%s\n", rc, out ? out : "", err ? err : "");
	fflush(stdout);
}

/* carelinectl app --device dev ... extra args ...; NULL-terminated. */
static int app(const char *dev, ...)
{
	const char *argv[40];
	va_list ap;
	va_start(ap, dev);
	int n = app_argv(argv, 40, dev, ap);
	va_end(ap);
	free(out);
	free(err);
	out = err = NULL;
	int rc = hx_run(argv, &out, &err);
	show(argv, n, rc);
	return rc;
}

/* Start the client in the background: stdin from stdin_path (or a pipe whose
 * write end goes to *stdin_w), stdout and stderr to files in the test dir. */
static pid_t app_spawn(const char *stdin_path, int *stdin_w, const char *name, const char *dev, ...)
{
	const char *argv[40];
	va_list ap;
	va_start(ap, dev);
	app_argv(argv, 40, dev, ap);
	va_end(ap);
	char o[400], e[400];
	snprintf(o, sizeof(o), "%s/%s.out", h.dir, name);
	snprintf(e, sizeof(e), "%s/%s.err", h.dir, name);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	int p[2] = {-1, -1};
	if (stdin_path) {
		posix_spawn_file_actions_addopen(&fa, 0, stdin_path, O_RDONLY, 0);
	} else {
		if (pipe(p) != 0)
			hx_fail("pipe");
		posix_spawn_file_actions_adddup2(&fa, p[0], 0);
		posix_spawn_file_actions_addclose(&fa, p[0]);
		posix_spawn_file_actions_addclose(&fa, p[1]);
	}
	posix_spawn_file_actions_addopen(&fa, 1, o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
		hx_fail("posix_spawn %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	if (!stdin_path) {
		close(p[0]);
		*stdin_w = p[1];
	}
	return pid;
}

/* Wait for a spawned client; its output into out/err. Returns the exit code. */
static int app_wait(pid_t pid, const char *name, int timeout_ms)
{
	int64_t end = hx_now_ms() + timeout_ms;
	int status = 0;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (hx_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			hx_fail("%s: carelinectl app still running after %d ms", name, timeout_ms);
		}
		hx_sleep_ms(20);
	}
	char path[400];
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/%s.out", h.dir, name);
	out = hx_read_file(path, NULL);
	snprintf(path, sizeof(path), "%s/%s.err", h.dir, name);
	err = hx_read_file(path, NULL);
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("$ (background %s) -> %d\n%s%s\n", name, rc, out ? out : "", err ? err : "");
	return rc;
}

/* The printed block (up to its blank line) whose first line starts with
 * head; caller frees; NULL if none. */
static char *block(const char *text, const char *head)
{
	size_t hl = strlen(head);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, head, hl) != 0)
			continue;
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
		char *b = malloc(len + 1);
		if (!b)
			hx_fail("out of memory");
		memcpy(b, p, len);
		b[len] = '\0';
		return b;
	}
	return NULL;
}

static long long notification_in(const char *b)
{
	const char *p = b ? strstr(b, "\n  notification ") : NULL;
	return p ? atoll(p + strlen("\n  notification ")) : 0;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The ref of the first RECEIPT printed (into ref); false if none. */
static bool receipt_ref(char ref[16])
{
	const char *p = out ? strstr(out, "RECEIPT ") : NULL;
	return p && sscanf(p + 8, "%15s", ref) == 1 && strlen(ref) >= 4;
}

struct seen {
	const char *topic;
	const char *needle;
	int n;
};

static void count_seen(void *ctx, const char *topic, const char *payload, size_t len)
{
	struct seen *s = ctx;
	if (s->topic && strcmp(topic, s->topic) != 0)
		return;
	if (memmem(payload, len, s->needle, strlen(s->needle)))
		s->n++;
}

static int seen(struct hx_device *obs, const char *topic, const char *needle)
{
	struct seen s = {topic, needle, 0};
	hx_device_each(obs, count_seen, &s);
	return s.n;
}

int main(void)
{
	hx_watchdog(170);
	int64_t t_start = hx_now_ms();

	/* A device keypair, as an operator makes one. */
	const char *kp_argv[] = {hx_carelinectl_bin(), "app", "--print-keypair", NULL};
	HX_CHECK(hx_run(kp_argv, &out, &err) == 0, "app --print-keypair: %s", err ? err : "");
	char pk[64] = "", sk[64] = "";
	HX_CHECK(sscanf(out, "public_key %63s\nsecret_key %63s", pk, sk) == 2 && strlen(pk) == 44 &&
	             strlen(sk) == 44 && strcmp(pk, sk) != 0,
	         "keypair output: %s", out);
	free(out);
	free(err);
	const char *gen_argv[] = {hx_carelinectl_bin(), "app", "--generate", NULL};
	HX_CHECK(hx_run(gen_argv, &out, &err) == 0 && strstr(out, "public_key ") &&
	             !strstr(out, pk),
	         "app --generate: a new keypair");

	hx_start_broker(&h);
	snprintf(port_s, sizeof(port_s), "%d", h.mqtt_port);
	/* Slow escalation: only the primary is alerted during the test. Both
	 * workers' phones hold the same key (either may be on duty). */
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 60\nfinal = backup 60\n"
	         "[team opsoegende]\npolicy = slow\n"
	         "[device anna-phone]\npubkey = %s\n[device bo-phone]\npubkey = %s\n",
	         pk, pk);
	hx_start_daemon(&h, NULL);
	struct hx_device *obs = hx_subscriber_connect(&h, "observer-16", "careline/v1/#");

	char primary[48], other[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	snprintf(other, sizeof(other), "%s", strcmp(primary, "anna") == 0 ? "bo" : "anna");
	char pdev[64], odev[64];
	snprintf(pdev, sizeof(pdev), "%s-phone", primary);
	snprintf(odev, sizeof(odev), "%s-phone", other);
	printf("primary on duty: %s (%s)\n", primary, pdev);

	/* Both phones come online once (their sessions exist from then on) and
	 * ask for the queue: nothing open yet. */
	app(pdev, "--secret-key", sk, "--once", "queue", NULL);
	EXPECT(out && strstr(out, "QUEUE no open tickets"), "queue answer (daemon: queue request)");
	app(odev, "--secret-key", sk, "--once", "queue", NULL);
	EXPECT(out && strstr(out, "QUEUE no open tickets"), "queue answer for %s", odev);
	char status_topic[128];
	snprintf(status_topic, sizeof(status_topic), "careline/v1/dev/%s/status", pdev);
	EXPECT(seen(obs, status_topic, "online") >= 1 && seen(obs, status_topic, "offline") >= 1,
	       "presence: online after connect, offline on a clean quit");

	/* 1. The caretaker reports with --once; the receipt names the ticket. */
	const char *text1 =
	    "Naboen råber hver nat og banker på væggen, ingen har set ham i dagtimerne";
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "report %s", text1);
	HX_CHECK(app("jens-handheld", "--once", cmd, NULL) == 0, "jens report: %s", err);
	char ref[16];
	HX_CHECK(receipt_ref(ref), "no RECEIPT printed: %s", out);
	char *rb = block(out, "RECEIPT ");
	HX_CHECK(strstr(rb, "\n  report ") && strstr(err, "app: report "),
	         "receipt block names the report_id: %s", rb);
	free(rb);
	json_t *t = hx_ticket(&h, ref);
	json_t *rp = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(rp && strcmp(str(rp, "via"), "mqtt") == 0, "report via mqtt");
	HX_CHECK(str(rp, "text") && strcmp(str(rp, "text"), text1) == 0, "report text %s",
	         str(rp, "text"));
	HX_CHECK(json_is_false(json_object_get(rp, "anonymous")), "jens's report is not anonymous");
	HX_CHECK(strcmp(str(json_object_get(rp, "reporter"), "person"), "jens") == 0, "reporter");
	json_decref(t);
	/* No personal data in the client's own log lines. */
	HX_CHECK(!strstr(err, "Naboen"), "the report text leaked into stderr: %s", err);

	/* 2. The primary's phone was offline: the alert waits in its session,
	 * is printed on connect, and the ack uses its notification id. */
	snprintf(cmd, sizeof(cmd), "ack %s", ref);
	HX_CHECK(app(pdev, "--secret-key", sk, "--once", cmd, NULL) == 0, "ack: %s", err);
	char head[160];
	snprintf(head, sizeof(head), "ALERT %s ", ref);
	char *ab = block(out, head);
	HX_CHECK(ab, "%s printed no alert for %s", pdev, ref);
	HX_CHECK(strstr(ab, " step 1 — ") && strstr(ab, " [") && strstr(ab, "\n  notification "),
	         "alert block: %s", ab);
	EXPECT(strstr(ab, "(sealed)"), "the alert came sealed to the phone's key: %s", ab);
	EXPECT(strstr(ab, "\n  text:    Naboen råber hver nat"),
	       "a sealed alert carries the report's text: %s", ab);
	EXPECT(strstr(ab, ", expires "), "the alert says when it expires: %s", ab);
	snprintf(head, sizeof(head), "RESULT ack %s ok: acknowledged", ref);
	char *ackb = block(out, head);
	HX_CHECK(ackb, "no '%s' in output", head);
	EXPECT(notification_in(ackb) == notification_in(ab) && notification_in(ab) > 0,
	       "the ack carried the alert's notification id (%lld vs %lld)", notification_in(ackb),
	       notification_in(ab));
	free(ackb);
	free(ab);
	/* The broker only ever saw ciphertext on the phone's inbox. */
	char inbox[128];
	snprintf(inbox, sizeof(inbox), "careline/v1/dev/%s/inbox", pdev);
	EXPECT(seen(obs, inbox, "Naboen") == 0, "the report text passed the broker in clear");

	/* 3. Take and note, in order in one run; the other worker is refused
	 * and told who has it; the team's queue shows it taken. */
	char take[64], note[128];
	snprintf(take, sizeof(take), "take %s", ref);
	snprintf(note, sizeof(note), "note %s Talte med viceværten, han kigger forbi i aften", ref);
	HX_CHECK(app(pdev, "--secret-key", sk, "--once", take, "--once", note, NULL) == 0, "take");
	snprintf(head, sizeof(head), "RESULT take %s ok: taken", ref);
	HX_CHECK(strstr(out, head), "no '%s'", head);
	snprintf(head, sizeof(head), "RESULT note %s ok: ", ref);
	HX_CHECK(strstr(out, head), "no '%s'", head);
	HX_CHECK(app(odev, "--secret-key", sk, "--once", take, NULL) == 0, "other take");
	snprintf(head, sizeof(head), "RESULT take %s refused: already_taken by %s", ref, primary);
	HX_CHECK(strstr(out, head), "no '%s'", head);
	app(odev, "--secret-key", sk, "--once", "queue", NULL);
	char *qb = block(out, "QUEUE ");
	EXPECT(qb && strstr(qb, "QUEUE 1 open ticket") && strstr(qb, ref) &&
	           strstr(qb, "taken by ") && strstr(qb, primary),
	       "queue lists %s taken by %s: %s", ref, primary, qb ? qb : "(no QUEUE block)");
	free(qb);
	t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "state"), "taken") == 0 && strcmp(str(t, "taken_by"), primary) == 0,
	         "ticket state %s taken_by %s", str(t, "state"), str(t, "taken_by"));
	HX_CHECK(hx_ticket_has_event(t, "note"), "the note is on the ticket");
	json_decref(t);

	/* 4. Commands from standard input: an anonymous report, then end of
	 * input; the client waits for the receipt before it leaves. */
	char in_path[400];
	snprintf(in_path, sizeof(in_path), "%s/stdin.txt", h.dir);
	FILE *f = fopen(in_path, "w");
	HX_CHECK(f);
	fprintf(f, "# a comment\n\nreport --anon Der er rotter i kælderen igen, de kommer fra "
	           "skakten\n");
	fclose(f);
	pid_t pid = app_spawn(in_path, NULL, "stdin", "jens-handheld", NULL);
	HX_CHECK(app_wait(pid, "stdin", 25000) == 0, "stdin run");
	char ref2[16];
	HX_CHECK(receipt_ref(ref2) && strcmp(ref2, ref) != 0, "stdin report receipt: %s", out);
	t = hx_ticket(&h, ref2);
	rp = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(json_is_true(json_object_get(rp, "anonymous")), "report --anon is anonymous");
	json_decref(t);

	/* 5. A report sealed to careline's key: careline reads it, the broker
	 * never sees its text or address in clear, the primary's phone opens
	 * the alert. */
	struct hx_resp kr = hx_admin(&h, "GET", "/api/v1/key", NULL);
	const char *ckey = kr.status == 200 ? str(kr.json, "public_key") : NULL;
	EXPECT(ckey && strlen(ckey) == 44, "GET /api/v1/key: %ld %s", kr.status,
	       kr.body ? kr.body : "");
	if (ckey) {
		const char *planted = "Blåmejsevej 77";
		snprintf(cmd, sizeof(cmd),
		         "report Manden på %s, 8220 Brabrand har ikke hentet post i en uge",
		         planted);
		HX_CHECK(app("jens-handheld", "--careline-key", ckey, "--once", cmd, NULL) == 0,
		         "sealed report");
		char ref3[16];
		HX_CHECK(receipt_ref(ref3), "sealed report receipt: %s", out);
		HX_CHECK(strstr(err, "(sealed)"), "the client says it sealed: %s", err);
		t = hx_ticket(&h, ref3);
		rp = json_array_get(json_object_get(t, "reports"), 0);
		HX_CHECK(str(rp, "text") && strstr(str(rp, "text"), planted),
		         "careline opened the sealed report");
		json_decref(t);
		app(pdev, "--secret-key", sk, "--once", "queue", NULL);
		snprintf(head, sizeof(head), "ALERT %s ", ref3);
		ab = block(out, head);
		EXPECT(ab && strstr(ab, planted), "the phone opened the sealed alert: %s",
		       ab ? ab : "(none)");
		free(ab);
		EXPECT(seen(obs, NULL, planted) == 0, "'%s' passed the broker in clear", planted);
	}
	hx_resp_free(&kr);

	/* 6. Resolve with a closing reason; gone from the queue. */
	snprintf(cmd, sizeof(cmd), "resolve %s handed_over:home_care", ref);
	app(pdev, "--secret-key", sk, "--once", cmd, "--once", "queue", NULL);
	snprintf(head, sizeof(head), "RESULT resolve %s ok: closed", ref);
	HX_CHECK(strstr(out, head), "no '%s'", head);
	qb = block(out, "QUEUE ");
	EXPECT(qb && !strstr(qb, ref), "the closed ticket is not in the queue: %s",
	       qb ? qb : "(no QUEUE block)");
	free(qb);

	/* 7. Presence: a phone that dies leaves its will, "offline", retained. */
	int w = -1;
	int offline_before = seen(obs, status_topic, "offline");
	int online_before = seen(obs, status_topic, "online");
	pid = app_spawn(NULL, &w, "crash", pdev, "--secret-key", sk, NULL);
	for (int i = 0; i < 250 && seen(obs, status_topic, "online") == online_before; i++)
		hx_sleep_ms(20);
	HX_CHECK(seen(obs, status_topic, "online") > online_before, "no retained online");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(w);
	for (int i = 0; i < 250 && seen(obs, status_topic, "offline") == offline_before; i++)
		hx_sleep_ms(20);
	HX_CHECK(seen(obs, status_topic, "offline") > offline_before, "no will after SIGKILL");

	/* 8. A report made while careline is away and the broker restarts: the
	 * client reconnects, publishes again after the reconnect and every 10 s,
	 * and the receipt comes once careline is back: one ticket. */
	hx_device_free(obs);
	hx_stop_daemon(&h);
	hx_stop_broker(&h); /* no persistence: careline's session is gone */
	hx_start_broker(&h);
	setenv("CARELINE_APP_TIMEOUT", "28", 1);
	pid = app_spawn("/dev/null", NULL, "retry", "jens-handheld", "--once",
	                "report Lyset i opgangen er gået og trappen er helt mørk om aftenen", NULL);
	unsetenv("CARELINE_APP_TIMEOUT");
	hx_sleep_ms(1500); /* published once, nobody to read it */
	hx_kill_broker(&h);
	hx_sleep_ms(300);
	hx_start_broker(&h);
	hx_sleep_ms(1500); /* reconnected and published again: still nobody */
	hx_start_daemon(&h, NULL);
	HX_CHECK(app_wait(pid, "retry", 29000) == 0, "retry run");
	char ref4[16];
	HX_CHECK(receipt_ref(ref4), "no receipt after the retries: %s", out);
	HX_CHECK(strstr(err, "sent again"), "the report was not republished: %s", err);
	HX_CHECK(strstr(err, "connection lost") || strstr(err, "cannot connect"),
	         "the client saw the broker go: %s", err);
	t = hx_ticket(&h, ref4);
	HX_CHECK(json_array_size(json_object_get(t, "reports")) == 1, "one report on %s", ref4);
	json_decref(t);

	free(out);
	free(err);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	if (soft_failures)
		hx_fail("%d expectation%s failed (see EXPECTED above)", soft_failures,
		        soft_failures == 1 ? "" : "s");
	printf("16-app-client: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
