/*
 * gateway/app_client.c owns the reference app client: one device's MQTT v5
 * session (libmosquitto, our own poll loop, no threads), its inbox printed
 * for a person (sealed messages opened with the device's key), its commands
 * turned into reports, queue requests and actions, and the report retries.
 * carelinectl calls gw_app_run; it never touches careline's database or keys.
 */
#include "app_client.h"

#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "careline/clock.h"

#define TOPIC_PREFIX      "careline/v1/dev/"
#define CT_JSON           "application/json"
#define CT_SEALED         "application/vnd.careline.sealed+json"
#define DEFAULT_HOST      "127.0.0.1"
#define DEFAULT_PORT      1884 /* the broker of make run (and careline's loopback listener) */
#define KEEPALIVE_S       30
#define SESSION_EXPIRY_S  86400
#define REPORT_RETRY_MS   10000
#define RECONNECT_MIN_MS  500
#define RECONNECT_MAX_MS  30000
#define DEFAULT_TIMEOUT_S 20
#define SETTLE_MS         300  /* quiet time after SUBACK before --once commands */
#define SETTLE_MAX_MS     2000 /* ... but no longer than this */
#define OFFLINE_WAIT_MS   2000 /* PUBACK of the "offline" status on quit */
#define ALERTS_MAX        256
#define LINE_MAX_BYTES    8192
#define REF_MAX           16
#define KEY_BYTES         32

enum req_kind { REQ_REPORT, REQ_QUEUE, REQ_ACTION };

/* A message to careline that waits for its answer. */
struct req {
	struct req *next;
	enum req_kind kind;
	char id[48];       /* report_id or request_id */
	char ref[REF_MAX]; /* actions: the ticket */
	char action[12];   /* actions: ack, take, ... */
	char *json;        /* the plain payload; sealed anew on each send */
	bool sent;
	int attempts;
	int64_t retry_at; /* reports: next resend */
};

struct seen_alert {
	char ref[REF_MAX];
	int64_t notification_id;
};

enum phase { PH_RUN, PH_DRAIN, PH_CLOSE, PH_DONE };

struct app {
	const struct gw_app_opts *o;
	struct mosquitto *mosq;
	const char *host;
	int port;
	char t_inbox[160], t_report[160], t_ack[160], t_status[160];
	unsigned char pk[KEY_BYTES], sk[KEY_BYTES];
	bool has_sk;
	unsigned char careline_pk[KEY_BYTES];
	bool seal;

	bool socket_open, connected, subscribed, refused;
	int sub_mid;
	int backoff_ms;
	int64_t reconnect_at, misc_at, subscribed_at, last_msg_at;

	struct req *reqs; /* unanswered, oldest first */
	struct seen_alert alerts[ALERTS_MAX];
	size_t n_alerts, alerts_next;
	char req_prefix[12];
	unsigned req_seq;

	bool use_stdin;
	char line[LINE_MAX_BYTES];
	size_t line_len;
	bool line_skip; /* an overlong line: drop until its newline */

	size_t once_next;
	const struct req *once_wait;
	bool bad_command; /* a --once command was not understood */
	int64_t timeout_ms, deadline;

	enum phase phase;
	int exit_code;
	int offline_mid;
	bool offline_acked;
	int64_t close_deadline;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_ms(void)
{
	return cl_monotonic_ms();
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = str(o, key);
	return s ? s : dflt;
}

/* --- base64 and sealing ------------------------------------------------------ */

/* Standard base64 is what careline prints; accept the URL-safe and unpadded
 * forms too, since keys get pasted from elsewhere. */
static bool b64_decode(const char *s, unsigned char *out, size_t max, size_t *len)
{
	static const int variants[] = {
	    sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const char *end = NULL;
		if (sodium_base642bin(out, max, s, strlen(s), " \t\r\n", len, &end, variants[i]) ==
		        0 &&
		    end && *end == '\0')
			return true;
	}
	return false;
}

/* Caller frees. */
static char *b64_encode(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	if (s)
		sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

static bool key_from_b64(const char *s, unsigned char key[KEY_BYTES])
{
	size_t len = 0;
	return b64_decode(s, key, KEY_BYTES, &len) && len == KEY_BYTES;
}

/* {"type":"sealed","box":...} around json, sealed to pk. Caller frees. */
static char *seal_json(const unsigned char pk[KEY_BYTES], const char *json)
{
	size_t len = strlen(json);
	unsigned char *box = malloc(len + crypto_box_SEALBYTES);
	if (!box)
		return NULL;
	char *out = NULL;
	if (crypto_box_seal(box, (const unsigned char *)json, len, pk) == 0) {
		char *b64 = b64_encode(box, len + crypto_box_SEALBYTES);
		json_t *o = b64 ? json_pack("{s:s, s:s}", "type", "sealed", "box", b64) : NULL;
		out = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		free(b64);
	}
	free(box);
	return out;
}

/* The JSON inside a sealed message, or NULL with *why set. Caller decrefs. */
static json_t *open_sealed(const struct app *a, json_t *o, const char **why)
{
	const char *box64 = str(o, "box");
	if (!a->has_sk) {
		*why = "no --secret-key to open it";
		return NULL;
	}
	if (!box64) {
		*why = "no box";
		return NULL;
	}
	size_t max = strlen(box64) / 4 * 3 + 3, len = 0;
	unsigned char *box = malloc(max);
	unsigned char *plain = malloc(max + 1);
	json_t *inner = NULL;
	*why = "not base64";
	if (box && plain && b64_decode(box64, box, max, &len)) {
		*why = "wrong key or damaged";
		if (len >= crypto_box_SEALBYTES &&
		    crypto_box_seal_open(plain, box, len, a->pk, a->sk) == 0) {
			size_t n = len - crypto_box_SEALBYTES;
			inner = json_loadb((const char *)plain, n, 0, NULL);
			sodium_memzero(plain, n);
			*why = "not JSON inside";
		}
	}
	free(box);
	free(plain);
	if (inner && !json_is_object(inner)) {
		json_decref(inner);
		inner = NULL;
	}
	return inner;
}

/* --- requests ------------------------------------------------------------------ */

static void uuid4(char out[37])
{
	unsigned char r[16];
	randombytes_buf(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
}

static struct req *req_new(struct app *a, enum req_kind kind, json_t *body)
{
	struct req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->kind = kind;
	r->json = json_dumps(body, JSON_COMPACT);
	if (!r->json) {
		free(r);
		return NULL;
	}
	struct req **p = &a->reqs;
	while (*p)
		p = &(*p)->next;
	*p = r;
	return r;
}

static void req_free(struct app *a, struct req *r)
{
	for (struct req **p = &a->reqs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	if (a->once_wait == r)
		a->once_wait = NULL;
	free(r->json);
	free(r);
}

/* Reports without a receipt: what a quit waits for. */
static size_t reports_open(const struct app *a)
{
	size_t n = 0;
	for (const struct req *r = a->reqs; r; r = r->next)
		n += r->kind == REQ_REPORT;
	return n;
}

static const char *req_name(const struct req *r)
{
	return r->kind == REQ_REPORT ? "report" : r->kind == REQ_QUEUE ? "queue" : r->action;
}

/* Publish r (sealed when asked) on report or ack; only when connected. */
static void req_send(struct app *a, struct req *r)
{
	if (!a->connected) {
		if (!r->attempts && a->use_stdin)
			fprintf(stderr, "app: not connected; the %s goes out when it is\n",
			        req_name(r));
		return;
	}
	char *sealed = a->seal ? seal_json(a->careline_pk, r->json) : NULL;
	if (a->seal && !sealed) {
		fprintf(stderr, "app: cannot seal the %s\n", req_name(r));
		return;
	}
	const char *payload = sealed ? sealed : r->json;
	mosquitto_property *props = NULL;
	mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, sealed ? CT_SEALED : CT_JSON);
	int rc = mosquitto_publish_v5(a->mosq, NULL, r->kind == REQ_ACTION ? a->t_ack : a->t_report,
	                              (int)strlen(payload), payload, 1, false, props);
	mosquitto_property_free_all(&props);
	free(sealed);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "app: publish %s: %s\n", req_name(r), mosquitto_strerror(rc));
		return;
	}
	r->attempts++;
	r->sent = true;
	r->retry_at = now_ms() + REPORT_RETRY_MS;
	if (r->kind == REQ_REPORT)
		fprintf(stderr, "app: report %s %s%s\n", r->id,
		        r->attempts > 1 ? "sent again" : "sent", a->seal ? " (sealed)" : "");
}

static void resend_all(struct app *a)
{
	for (struct req *r = a->reqs; r; r = r->next)
		req_send(a, r);
}

static void resend_due(struct app *a, int64_t now)
{
	for (struct req *r = a->reqs; r; r = r->next)
		if (r->kind == REQ_REPORT && (!r->sent || now >= r->retry_at))
			req_send(a, r);
}

static struct req *find_req(struct app *a, enum req_kind kind, const char *id, const char *ref)
{
	for (struct req *r = a->reqs; r; r = r->next) {
		if (r->kind != kind)
			continue;
		if (id && strcmp(r->id, id) == 0)
			return r;
		if (ref && strcasecmp(r->ref, ref) == 0)
			return r;
	}
	return NULL;
}

/* --- alerts seen ------------------------------------------------------------ */

static void remember_alert(struct app *a, const char *ref, int64_t nid)
{
	if (!ref || nid <= 0)
		return;
	for (size_t i = 0; i < a->n_alerts; i++) {
		if (strcasecmp(a->alerts[i].ref, ref) == 0) {
			a->alerts[i].notification_id = nid;
			return;
		}
	}
	struct seen_alert *s = &a->alerts[a->alerts_next];
	a->alerts_next = (a->alerts_next + 1) % ALERTS_MAX;
	if (a->n_alerts < ALERTS_MAX)
		a->n_alerts++;
	snprintf(s->ref, sizeof(s->ref), "%s", ref);
	s->notification_id = nid;
}

static int64_t alert_for(const struct app *a, const char *ref)
{
	for (size_t i = 0; i < a->n_alerts; i++)
		if (strcasecmp(a->alerts[i].ref, ref) == 0)
			return a->alerts[i].notification_id;
	return 0;
}

/* --- printing the inbox ------------------------------------------------------ */

static void cats(json_t *o, char *buf, size_t len)
{
	size_t used = 0;
	json_t *v;
	size_t i;
	buf[0] = '\0';
	json_array_foreach(json_object_get(o, "categories"), i, v)
	{
		if (!json_is_string(v))
			continue;
		int n =
		    snprintf(buf + used, len - used, "%s%s", used ? "," : "", json_string_value(v));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_receipt(struct app *a, json_t *o, const char *how)
{
	char c[256];
	cats(o, c, sizeof(c));
	const char *rid = str(o, "report_id");
	printf("RECEIPT %s %s %s [%s] %s%s\n", str_or(o, "ticket", "-"), str_or(o, "urgency", "-"),
	       str_or(o, "state", "-"), c, str_or(o, "kind", "-"), how);
	if (str(o, "message"))
		printf("  %s\n", str(o, "message"));
	if (str(o, "advice"))
		printf("  ADVICE: %s\n", str(o, "advice"));
	if (json_is_true(json_object_get(o, "duplicate")))
		printf("  duplicate: yes\n");
	if (str(o, "linked_to"))
		printf("  linked to %s\n", str(o, "linked_to"));
	printf("  report %s\n", rid ? rid : "-");
	struct req *r = rid ? find_req(a, REQ_REPORT, rid, NULL) : NULL;
	if (r)
		req_free(a, r);
}

static void print_alert(struct app *a, json_t *o, const char *how)
{
	char c[256];
	cats(o, c, sizeof(c));
	const char *ref = str_or(o, "ticket", "-");
	printf("ALERT %s %s %s [%s] step %lld — %s\n", ref, str_or(o, "urgency", "-"),
	       str_or(o, "area", "-"), c, num(o, "step"), str_or(o, "summary", "-"));
	if (str(o, "text"))
		printf("  text:    %s\n", str(o, "text"));
	json_t *addr = json_object_get(o, "address");
	if (json_is_string(addr))
		printf("  address: %s\n", json_string_value(addr));
	else if (json_is_object(addr) && str(addr, "text"))
		printf("  address: %s\n", str(addr, "text"));
	printf("  notification %lld, loop %lld, created %s, sent %s%s%s%s\n",
	       num(o, "notification_id"), num(o, "loop"), str_or(o, "created_at", "-"),
	       str_or(o, "sent_at", "-"), str(o, "expires_at") ? ", expires " : "",
	       str_or(o, "expires_at", ""), how);
	int64_t exp;
	if (str(o, "expires_at") && cl_time_parse(str(o, "expires_at"), &exp) == 0 &&
	    exp < cl_clock_now(&cl_clock_system))
		printf("  EXPIRED: this alert is old; `queue` shows the ticket as it is now\n");
	if (str(o, "linked_to"))
		printf("  linked to %s\n", str(o, "linked_to"));
	remember_alert(a, str(o, "ticket"), (int64_t)num(o, "notification_id"));
}

static void print_update(json_t *o, const char *how)
{
	printf("UPDATE %s %s by %s — %s\n", str_or(o, "ticket", "-"), str_or(o, "state", "-"),
	       str_or(o, "by", "-"), str_or(o, "message", ""));
	printf("  notification %lld, sent %s%s\n", num(o, "notification_id"),
	       str_or(o, "sent_at", "-"), how);
}

static void print_ack_result(struct app *a, json_t *o, const char *how)
{
	const char *ref = str_or(o, "ticket", "-");
	struct req *r = find_req(a, REQ_ACTION, NULL, ref);
	bool ok = json_is_true(json_object_get(o, "ok"));
	if (ok)
		printf(
		    "RESULT %s %s ok: %s%s%s\n", r ? r->action : "-", ref, str_or(o, "state", "-"),
		    json_is_false(json_object_get(o, "changed")) ? " (no change: already so)" : "",
		    how);
	else
		printf("RESULT %s %s refused: %s%s%s (state %s)%s\n", r ? r->action : "-", ref,
		       str_or(o, "error", "-"), str(o, "by") ? " by " : "", str_or(o, "by", ""),
		       str_or(o, "state", "-"), how);
	if (num(o, "notification_id"))
		printf("  notification %lld\n", num(o, "notification_id"));
	if (r)
		req_free(a, r);
}

static void print_queue(struct app *a, json_t *o, const char *how)
{
	json_t *tickets = json_object_get(o, "tickets");
	size_t n = json_array_size(tickets);
	if (n)
		printf("QUEUE %zu open ticket%s%s\n", n, n == 1 ? "" : "s", how);
	else
		printf("QUEUE no open tickets%s\n", how);
	json_t *t;
	size_t i;
	json_array_foreach(tickets, i, t)
	{
		char c[256];
		cats(t, c, sizeof(c));
		printf(
		    "  %-7s %-3s %-13s %-10s [%s] team %s, created %s, acked by %s, taken by %s\n",
		    str_or(t, "ref", "-"), str_or(t, "urgency", "-"), str_or(t, "state", "-"),
		    str_or(t, "area", "-"), c, str_or(t, "team", "-"), str_or(t, "created_at", "-"),
		    str_or(t, "acked_by", "-"), str_or(t, "taken_by", "-"));
	}
	const char *id = str(o, "request_id");
	struct req *r = id ? find_req(a, REQ_QUEUE, id, NULL) : NULL;
	if (r)
		req_free(a, r);
}

static void print_error(struct app *a, json_t *o, const char *how)
{
	json_t *e = json_object_get(o, "error");
	const char *code = json_is_object(e) ? str_or(e, "code", "-") : str_or(o, "error", "-");
	const char *msg = json_is_object(e) ? str_or(e, "message", "") : "";
	printf("ERROR %s: %s%s\n", code, msg, how);
	const char *rid = str(o, "report_id");
	struct req *r = NULL;
	if (rid) {
		r = find_req(a, REQ_REPORT, rid, NULL);
	} else {
		/* Without a report_id it answers the oldest queue request or action. */
		for (r = a->reqs; r && (r->kind == REQ_REPORT || !r->sent); r = r->next)
			;
	}
	if (!r) {
		if (rid)
			printf("  report %s\n", rid);
		return;
	}
	if (r->kind == REQ_REPORT) {
		bool again = strcmp(code, "not_durable") == 0 || strcmp(code, "failed") == 0;
		printf("  report %s: %s\n", r->id,
		       again ? "not stored yet, sending it again" : "careline will not take it");
		if (again) {
			r->retry_at = now_ms(); /* resent on this loop pass */
			return;
		}
	} else {
		printf("  answers: %s%s%s\n", req_name(r), r->ref[0] ? " " : "", r->ref);
	}
	req_free(a, r);
}

static void handle_obj(struct app *a, json_t *o, const char *how, int depth);

static void handle_bundle(struct app *a, json_t *o, const char *key, const char *how, int depth)
{
	json_t *item;
	size_t i;
	json_array_foreach(json_object_get(o, key), i, item) handle_obj(a, item, how, depth + 1);
}

static void handle_obj(struct app *a, json_t *o, const char *how, int depth)
{
	const char *type = str(o, "type");
	if (!json_is_object(o) || !type || depth > 3) {
		char *s = json_dumps(o, JSON_COMPACT);
		printf("MESSAGE %s\n", s ? s : "(unreadable)");
		free(s);
	} else if (strcmp(type, "sealed") == 0) {
		const char *why = NULL;
		json_t *inner = open_sealed(a, o, &why);
		if (inner) {
			handle_obj(a, inner, " (sealed)", depth + 1);
			json_decref(inner);
			return; /* the inner message printed its own block */
		}
		printf("SEALED message: cannot open (%s)\n", why);
	} else if (strcmp(type, "receipt") == 0) {
		print_receipt(a, o, how);
	} else if (strcmp(type, "alert") == 0) {
		print_alert(a, o, how);
	} else if (strcmp(type, "update") == 0) {
		print_update(o, how);
	} else if (strcmp(type, "ack_result") == 0) {
		print_ack_result(a, o, how);
	} else if (strcmp(type, "queue") == 0) {
		print_queue(a, o, how);
	} else if (strcmp(type, "error") == 0) {
		print_error(a, o, how);
	} else if (strcmp(type, "alerts") == 0 || strcmp(type, "receipts") == 0) {
		handle_bundle(a, o, type, how, depth);
		return;
	} else {
		char *s = json_dumps(o, JSON_COMPACT);
		printf("MESSAGE %s: %s\n", type, s ? s : "");
		free(s);
	}
	printf("\n");
	fflush(stdout);
}

/* --- commands ---------------------------------------------------------------- */

static void usage_commands(FILE *f)
{
	fprintf(f, "commands: ack REF | take REF | decline REF | resolve REF REASON | "
	           "note REF TEXT | report [--anon] TEXT | queue | quit\n");
}

/* The next word of *s (split on spaces and tabs), NUL-terminated in place. */
static char *word(char **s)
{
	char *p = *s + strspn(*s, " \t");
	if (!*p)
		return NULL;
	char *end = p + strcspn(p, " \t");
	if (*end)
		*end++ = '\0';
	*s = end + strspn(end, " \t");
	return p;
}

static struct req *cmd_report(struct app *a, char *rest)
{
	bool anon = false;
	if (strncmp(rest, "--anon", 6) == 0 && (rest[6] == ' ' || rest[6] == '\t')) {
		anon = true;
		rest += 6 + strspn(rest + 6, " \t");
	}
	if (!*rest) {
		fprintf(stderr, "app: report [--anon] TEXT\n");
		a->bad_command = true;
		return NULL;
	}
	char id[37];
	uuid4(id);
	json_t *body = json_pack("{s:s, s:s}", "report_id", id, "text", rest);
	if (!body) {
		fprintf(stderr, "app: the report text is not valid UTF-8\n");
		a->bad_command = true;
		return NULL;
	}
	if (anon)
		json_object_set_new(body, "anonymous", json_true());
	struct req *r = req_new(a, REQ_REPORT, body);
	json_decref(body);
	if (r) {
		snprintf(r->id, sizeof(r->id), "%s", id);
		req_send(a, r);
	}
	return r;
}

static struct req *cmd_queue(struct app *a)
{
	char id[48];
	snprintf(id, sizeof(id), "q-%s-%u", a->req_prefix, ++a->req_seq);
	json_t *body = json_pack("{s:s, s:s}", "type", "queue", "request_id", id);
	struct req *r = body ? req_new(a, REQ_QUEUE, body) : NULL;
	json_decref(body);
	if (r) {
		snprintf(r->id, sizeof(r->id), "%s", id);
		req_send(a, r);
	}
	return r;
}

static struct req *cmd_action(struct app *a, const char *verb, char *rest)
{
	char *ref = word(&rest);
	bool needs_reason = strcmp(verb, "resolve") == 0, needs_note = strcmp(verb, "note") == 0;
	if (!ref || strlen(ref) >= REF_MAX || ((needs_reason || needs_note) && !*rest)) {
		fprintf(stderr, "app: %s REF%s\n", verb,
		        needs_reason ? " REASON"
		        : needs_note ? " TEXT"
		                     : "");
		a->bad_command = true;
		return NULL;
	}
	for (char *c = ref; *c; c++) /* refs are upper case; people type either */
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	json_t *body = json_pack("{s:s, s:s}", "ticket", ref, "action", verb);
	if (!body)
		return NULL;
	if (strcmp(verb, "ack") == 0 || strcmp(verb, "decline") == 0) {
		int64_t nid = alert_for(a, ref);
		if (nid)
			json_object_set_new(body, "notification_id", json_integer(nid));
	}
	if (needs_reason)
		json_object_set_new(body, "reason", json_string(word(&rest)));
	if (needs_note)
		json_object_set_new(body, "note", json_string(rest));
	struct req *r = req_new(a, REQ_ACTION, body);
	json_decref(body);
	if (r) {
		snprintf(r->ref, sizeof(r->ref), "%s", ref);
		snprintf(r->action, sizeof(r->action), "%s", verb);
		req_send(a, r);
	}
	return r;
}

static void start_quit(struct app *a);

/* Run one command line; returns the request whose answer it waits for. */
static struct req *run_command(struct app *a, const char *text)
{
	char buf[LINE_MAX_BYTES];
	snprintf(buf, sizeof(buf), "%s", text);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	char *rest = buf;
	char *verb = word(&rest);
	if (!verb || verb[0] == '#')
		return NULL;
	if (strcmp(verb, "report") == 0)
		return cmd_report(a, rest);
	if (strcmp(verb, "queue") == 0)
		return cmd_queue(a);
	if (strcmp(verb, "ack") == 0 || strcmp(verb, "take") == 0 || strcmp(verb, "decline") == 0 ||
	    strcmp(verb, "resolve") == 0 || strcmp(verb, "note") == 0)
		return cmd_action(a, verb, rest);
	if (strcmp(verb, "quit") == 0 || strcmp(verb, "exit") == 0) {
		start_quit(a);
		return NULL;
	}
	if (strcmp(verb, "help") == 0) {
		usage_commands(stdout);
		fflush(stdout);
		return NULL;
	}
	fprintf(stderr, "app: unknown command '%s'\n", verb);
	usage_commands(stderr);
	a->bad_command = true;
	return NULL;
}

static void read_stdin(struct app *a)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		a->use_stdin = false;
		if (a->line_len && !a->line_skip) {
			a->line[a->line_len] = '\0';
			run_command(a, a->line);
		}
		a->line_len = 0;
		start_quit(a);
		return;
	}
	for (ssize_t i = 0; i < n && a->phase == PH_RUN; i++) {
		char ch = buf[i];
		if (ch == '\n') {
			a->line[a->line_len] = '\0';
			if (!a->line_skip)
				run_command(a, a->line);
			a->line_len = 0;
			a->line_skip = false;
		} else if (a->line_len + 1 < sizeof(a->line)) {
			a->line[a->line_len++] = ch;
		} else if (!a->line_skip) {
			fprintf(stderr, "app: line too long, ignored\n");
			a->line_skip = true;
		}
	}
}

/* --- connection ------------------------------------------------------------- */

static void schedule_reconnect(struct app *a)
{
	a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : RECONNECT_MIN_MS;
	if (a->backoff_ms > RECONNECT_MAX_MS)
		a->backoff_ms = RECONNECT_MAX_MS;
	a->reconnect_at = now_ms() + a->backoff_ms;
}

static void connection_lost(struct app *a, int rc)
{
	if (a->socket_open) /* on_disconnect may have cleared connected already */
		fprintf(stderr, "app: connection lost (%s); reconnecting\n",
		        rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	a->socket_open = false;
	a->connected = false;
	a->subscribed = false;
	schedule_reconnect(a);
}

static void try_connect(struct app *a)
{
	mosquitto_property *props = NULL;
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, SESSION_EXPIRY_S);
	int rc = mosquitto_connect_bind_v5(a->mosq, a->host, a->port, KEEPALIVE_S, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		schedule_reconnect(a);
		fprintf(stderr, "app: cannot connect to %s:%d: %s; retrying in %.1f s\n", a->host,
		        a->port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
		        a->backoff_ms / 1000.0);
		return;
	}
	a->socket_open = true;
	a->reconnect_at = 0;
	a->misc_at = now_ms() + 1000;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	struct app *a = obj;
	(void)props;
	if (rc != 0) {
		fprintf(stderr, "app: the broker refused %s: %s\n", a->o->device,
		        mosquitto_reason_string(rc));
		a->refused = true;
		mosquitto_disconnect(mosq);
		return;
	}
	a->connected = true;
	a->refused = false;
	a->backoff_ms = 0;
	fprintf(stderr, "app: connected to %s:%d as %s%s\n", a->host, a->port, a->o->device,
	        flags & 1 ? " (session kept)" : "");
	mosquitto_publish_v5(mosq, NULL, a->t_status, 6, "online", 1, true, NULL);
	a->subscribed = false;
	mosquitto_subscribe_v5(mosq, &a->sub_mid, a->t_inbox, 1, 0, NULL);
	resend_all(a);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
	struct app *a = obj;
	(void)mosq, (void)rc, (void)props;
	a->connected = false;
	a->subscribed = false;
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
	struct app *a = obj;
	(void)mosq, (void)props;
	if (mid != a->sub_mid)
		return;
	if (qos_count < 1 || granted[0] > 2) {
		fprintf(stderr, "app: the broker refused the subscription to %s\n", a->t_inbox);
		return;
	}
	a->subscribed = true;
	a->subscribed_at = now_ms();
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
	struct app *a = obj;
	(void)mosq, (void)props;
	if (a->offline_mid && mid == a->offline_mid)
		a->offline_acked = true;
	else if (reason >= 0x80)
		fprintf(stderr, "app: the broker refused a publish: %s\n",
		        mosquitto_reason_string(reason));
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
	struct app *a = obj;
	(void)mosq, (void)props;
	a->last_msg_at = now_ms();
	if (strcmp(msg->topic, a->t_inbox) != 0)
		return;
	json_t *o = json_loadb(msg->payload ? msg->payload : "", (size_t)msg->payloadlen, 0, NULL);
	if (o) {
		handle_obj(a, o, "", 0);
	} else {
		printf("MESSAGE (not JSON, %d bytes)\n\n", msg->payloadlen);
		fflush(stdout);
	}
	json_decref(o);
}

/* Read what is there (one packet per call), write what is queued. */
static void socket_io(struct app *a, short revents)
{
	int rc = MOSQ_ERR_SUCCESS;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		for (int i = 0; i < 10000 && rc == MOSQ_ERR_SUCCESS && a->socket_open; i++) {
			rc = mosquitto_loop_read(a->mosq, 1);
			int avail = 0;
			int fd = mosquitto_socket(a->mosq);
			if (fd < 0 || ioctl(fd, FIONREAD, &avail) < 0 || avail <= 0)
				break;
		}
	}
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(a->mosq))
		rc = mosquitto_loop_write(a->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS)
		connection_lost(a, rc);
}

/* --- run ------------------------------------------------------------------------ */

static void start_close(struct app *a)
{
	a->phase = PH_CLOSE;
	a->close_deadline = now_ms() + OFFLINE_WAIT_MS;
	if (a->connected)
		mosquitto_publish_v5(a->mosq, &a->offline_mid, a->t_status, 7, "offline", 1, true,
		                     NULL);
	else
		a->phase = PH_DONE;
}

/* quit or end of input: wait for the answers still due, then close. */
static void start_quit(struct app *a)
{
	if (a->phase != PH_RUN)
		return;
	a->phase = PH_DRAIN;
	size_t n = reports_open(a);
	if (n) {
		a->deadline = now_ms() + a->timeout_ms;
		fprintf(stderr, "app: waiting up to %lld s for the receipt%s of %zu report%s\n",
		        (long long)(a->timeout_ms / 1000), n == 1 ? "" : "s", n, n == 1 ? "" : "s");
	}
}

/* --once: after SUBACK and a moment for queued messages, one command at a
 * time, each after the answer to the one before. */
static void step_once(struct app *a, int64_t now)
{
	if (a->phase != PH_RUN || !a->o->n_once || !a->subscribed)
		return;
	if (a->once_next == 0 && !a->once_wait) {
		int64_t quiet =
		    a->last_msg_at > a->subscribed_at ? a->last_msg_at : a->subscribed_at;
		if (now - quiet < SETTLE_MS && now - a->subscribed_at < SETTLE_MAX_MS)
			return;
	}
	while (!a->once_wait && a->phase == PH_RUN) {
		if (a->once_next >= a->o->n_once) {
			start_quit(a);
			return;
		}
		a->once_wait = run_command(a, a->o->once[a->once_next++]);
	}
}

static void check_deadline(struct app *a, int64_t now)
{
	if (a->refused && a->o->n_once) {
		a->exit_code = 3; /* a refused device does not get in by trying again */
		a->phase = PH_DONE;
		return;
	}
	bool once_late = a->phase == PH_RUN && a->o->n_once && now >= a->deadline;
	if (once_late && !a->connected)
		fprintf(stderr, "app: could not reach the broker at %s:%d\n", a->host, a->port);
	if (a->phase == PH_DRAIN && !reports_open(a)) {
		start_close(a);
	} else if (once_late || (a->phase == PH_DRAIN && now >= a->deadline)) {
		for (const struct req *r = a->reqs; r; r = r->next) {
			if (r->kind == REQ_REPORT)
				fprintf(stderr,
				        "app: no receipt for report %s (sent %d time%s); send it "
				        "again later\n",
				        r->id, r->attempts, r->attempts == 1 ? "" : "s");
			else if (once_late)
				fprintf(stderr, "app: no answer to %s%s%s\n", req_name(r),
				        r->ref[0] ? " " : "", r->ref);
		}
		if (a->exit_code == 0)
			a->exit_code = once_late && !a->connected ? 3 : 1;
		start_close(a);
	}
	if (a->phase == PH_CLOSE && (a->offline_acked || !a->connected || now >= a->close_deadline))
		a->phase = PH_DONE;
}

static int64_t next_wakeup(const struct app *a, int64_t now)
{
	int64_t at = now + 1000;
	if (!a->socket_open && a->reconnect_at && a->reconnect_at < at)
		at = a->reconnect_at;
	if (a->socket_open && a->misc_at < at)
		at = a->misc_at;
	if ((a->phase == PH_DRAIN || (a->phase == PH_RUN && a->o->n_once)) && a->deadline < at)
		at = a->deadline;
	if (a->phase == PH_CLOSE && a->close_deadline < at)
		at = a->close_deadline;
	for (const struct req *r = a->reqs; r; r = r->next)
		if (r->kind == REQ_REPORT && r->sent && r->retry_at < at)
			at = r->retry_at;
	if (a->o->n_once && a->subscribed && a->once_next == 0 && now + 50 < at)
		at = now + 50; /* the settle wait */
	return at;
}

static void loop(struct app *a)
{
	while (a->phase != PH_DONE) {
		int64_t now = now_ms();
		if (stop_signal && a->phase < PH_CLOSE) {
			fprintf(stderr, "app: signal %d, leaving\n", (int)stop_signal);
			for (const struct req *r = a->reqs; r; r = r->next)
				if (r->kind == REQ_REPORT)
					fprintf(stderr,
					        "app: no receipt for report %s; send it again\n",
					        r->id);
			if (reports_open(a))
				a->exit_code = 1;
			start_close(a);
		}
		if (!a->socket_open && a->phase < PH_CLOSE && now >= a->reconnect_at)
			try_connect(a);
		if (a->socket_open && now >= a->misc_at) {
			int rc = mosquitto_loop_misc(a->mosq);
			a->misc_at = now + 1000;
			if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
				connection_lost(a, rc);
		}
		if (a->connected)
			resend_due(a, now);
		step_once(a, now);
		check_deadline(a, now);
		if (a->phase == PH_DONE)
			break;

		struct pollfd fds[2];
		nfds_t n = 0;
		int sock = a->socket_open ? mosquitto_socket(a->mosq) : -1;
		if (sock >= 0) {
			fds[n++] = (struct pollfd){
			    .fd = sock,
			    .events =
			        (short)(POLLIN | (mosquitto_want_write(a->mosq) ? POLLOUT : 0))};
		}
		int stdin_slot = -1;
		if (a->use_stdin && a->phase == PH_RUN) {
			stdin_slot = (int)n;
			fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		}
		int64_t wait = next_wakeup(a, now) - now_ms();
		int r = poll(fds, n, wait < 0 ? 0 : (int)wait);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "app: poll: %s\n", strerror(errno));
			a->exit_code = 1;
			break;
		}
		if (r <= 0)
			continue;
		if (sock >= 0 && fds[0].revents && a->socket_open)
			socket_io(a, fds[0].revents);
		if (stdin_slot >= 0 && fds[stdin_slot].revents)
			read_stdin(a);
	}
	if (a->socket_open) {
		mosquitto_loop_write(a->mosq, 1);
		mosquitto_disconnect(a->mosq);
		mosquitto_loop_write(a->mosq, 1);
	}
}

static int print_keypair(void)
{
	unsigned char pk[KEY_BYTES], sk[KEY_BYTES];
	if (crypto_box_keypair(pk, sk) != 0)
		return 1;
	char *p = b64_encode(pk, sizeof(pk)), *s = b64_encode(sk, sizeof(sk));
	sodium_memzero(sk, sizeof(sk));
	int rc = 1;
	if (p && s) {
		printf("public_key %s\nsecret_key %s\n", p, s);
		fprintf(stderr,
		        "Give careline the public key ([device ID] pubkey = ..., or "
		        "carelinectl device add --pubkey ...);\nkeep the secret key on the "
		        "device (carelinectl app --secret-key ... or $CARELINE_APP_SECRET_KEY).\n");
		rc = 0;
	}
	if (s)
		sodium_memzero(s, strlen(s));
	free(p);
	free(s);
	return rc;
}

static int setup(struct app *a, const struct gw_app_opts *o)
{
	a->o = o;
	if (o->n_once > GW_APP_ONCE_MAX) {
		fprintf(stderr, "carelinectl app: at most %d --once commands\n", GW_APP_ONCE_MAX);
		return 2;
	}
	if (!o->device || !o->device[0] || strpbrk(o->device, "/+#") || strlen(o->device) > 100) {
		fprintf(stderr, "carelinectl app: --device ID is required (no / + #)\n");
		return 2;
	}
	a->host = o->host ? o->host : DEFAULT_HOST;
	a->port = DEFAULT_PORT;
	if (o->port) {
		char *end;
		long p = strtol(o->port, &end, 10);
		if (*end || p < 1 || p > 65535) {
			fprintf(stderr, "carelinectl app: --port must be 1..65535\n");
			return 2;
		}
		a->port = (int)p;
	}
	const char *sk = o->secret_key ? o->secret_key : getenv("CARELINE_APP_SECRET_KEY");
	if (sk && sk[0]) {
		if (!key_from_b64(sk, a->sk)) {
			fprintf(stderr, "carelinectl app: --secret-key must be 32 bytes, base64\n");
			return 2;
		}
		crypto_scalarmult_base(a->pk, a->sk);
		a->has_sk = true;
	}
	if (o->careline_key && !key_from_b64(o->careline_key, a->careline_pk)) {
		fprintf(stderr, "carelinectl app: --careline-key must be 32 bytes, base64 "
		                "(carelinectl key show)\n");
		return 2;
	}
	a->seal = o->seal || o->careline_key;
	if (a->seal && !o->careline_key) {
		fprintf(stderr, "carelinectl app: --seal needs --careline-key BASE64 "
		                "(carelinectl key show)\n");
		return 2;
	}
	const char *t = getenv("CARELINE_APP_TIMEOUT");
	long secs = t && t[0] ? strtol(t, NULL, 10) : 0;
	a->timeout_ms = (secs > 0 ? secs : DEFAULT_TIMEOUT_S) * 1000;
	snprintf(a->t_inbox, sizeof(a->t_inbox), TOPIC_PREFIX "%s/inbox", o->device);
	snprintf(a->t_report, sizeof(a->t_report), TOPIC_PREFIX "%s/report", o->device);
	snprintf(a->t_ack, sizeof(a->t_ack), TOPIC_PREFIX "%s/ack", o->device);
	snprintf(a->t_status, sizeof(a->t_status), TOPIC_PREFIX "%s/status", o->device);
	unsigned char r[4];
	randombytes_buf(r, sizeof(r));
	snprintf(a->req_prefix, sizeof(a->req_prefix), "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	a->use_stdin = o->n_once == 0;

	a->mosq = mosquitto_new(o->device, false, a);
	if (!a->mosq) {
		fprintf(stderr, "carelinectl app: mosquitto_new: %s\n", strerror(errno));
		return 3;
	}
	mosquitto_int_option(a->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(a->mosq, MOSQ_OPT_TCP_NODELAY,
	                     1); /* alerts are small: no Nagle wait */
	const char *pw = o->password ? o->password : getenv("CARELINE_APP_PASSWORD");
	mosquitto_username_pw_set(a->mosq, o->device, pw && pw[0] ? pw : NULL);
	if (mosquitto_will_set_v5(a->mosq, a->t_status, 7, "offline", 1, true, NULL) !=
	    MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "carelinectl app: cannot set the will\n");
		return 3;
	}
	mosquitto_connect_v5_callback_set(a->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(a->mosq, on_disconnect);
	mosquitto_subscribe_v5_callback_set(a->mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(a->mosq, on_publish);
	mosquitto_message_v5_callback_set(a->mosq, on_message);
	return 0;
}

int gw_app_run(const struct gw_app_opts *o)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "carelinectl app: libsodium did not initialise\n");
		return 3;
	}
	if (o->print_keypair)
		return print_keypair();
	mosquitto_lib_init();
	struct app *a = calloc(1, sizeof(*a));
	int rc = a ? setup(a, o) : 3;
	if (rc == 0) {
		struct sigaction sa = {.sa_handler = on_signal}, ign = {.sa_handler = SIG_IGN};
		struct sigaction old_int, old_term, old_pipe;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGPIPE, &ign, &old_pipe);
		a->deadline = now_ms() + a->timeout_ms;
		if (a->use_stdin)
			fprintf(stderr, "app: %s; ",
			        a->seal ? "reports are sealed" : "reports go plain");
		if (a->use_stdin)
			usage_commands(stderr);
		loop(a);
		rc = a->exit_code;
		if (rc == 0 && a->bad_command)
			rc = 2;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGPIPE, &old_pipe, NULL);
	}
	if (a) {
		while (a->reqs)
			req_free(a, a->reqs);
		if (a->mosq)
			mosquitto_destroy(a->mosq);
		sodium_memzero(a->sk, sizeof(a->sk));
		free(a);
	}
	mosquitto_lib_cleanup();
	fflush(stdout);
	return rc;
}
