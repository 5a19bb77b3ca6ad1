/*
 * tests/integration/24-planted-secrets.c: the confidentiality promises of
 * every channel at once, checked in the bytes. One daemon, a broker as
 * production runs it (dynamic security, persistence on), the fake SMS
 * provider and the fake voice provider (both Twilio). Reports on every
 * channel carry strings planted for this run, per channel and per field:
 * HTTP (named: reporter name and phone, resident, address, text; anonymous:
 * a name and a phone without consent, which must never be stored), MQTT
 * (sealed to careline's key, and plain), SMS (an anonymous sender, address
 * and text in the text, a follow-up) and the hotline (a caller with consent
 * 1 and one with 2, recordings whose audio spells a marker); notes through
 * the API and as a sealed MQTT action add more, and refused input (a 400
 * report, malformed and invalid MQTT reports, a forged SMS webhook) must
 * leave nothing. The tickets alert sealed and plain devices (two of them
 * offline, so their inboxes wait in the broker's file), staff phones by SMS
 * and by call, escalate to the back-up, are read and listened to by a worker
 * (audited), and are taken and closed; `carelinectl purge` then erases them
 * ([retention] closed_after = 1).
 *
 * Searched in clear (ASCII case-insensitively, phones by their national
 * digits, and the run's tag alone for fragments): every file in the test
 * directory (SQLite file, -wal, -shm, careline's log at debug level, the
 * broker's persistence file and log), every MQTT payload a wildcard superuser
 * saw (the test's own plain reports excepted: inputs), the plain devices'
 * inboxes, every SMS careline sent and every webhook answer it gave, every
 * hotline answer (TwiML, words) and alert call it placed, the API's answers
 * that hold no personal data, `carelinectl audit show` and `tickets`.
 * Before the purge: nowhere; the scan is shown to work (a self-check on
 * upper-cased markers and a fragment; a staff phone found in the config
 * file; every kept marker found decrypted through the API, in a sealed alert
 * or in a recording; every ciphertext and lookup hash found in the database
 * files; the broker's file holds the offline devices' alerts). After the
 * purge and after a clean stop: no marker anywhere, none of the recorded
 * ciphertexts or hashes in the database, -wal or -shm, the API shows the
 * tickets without personal fields, and the audit chain verifies. Every
 * finding is printed with its place and the bytes around it.
 */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../lib/fakeprov.h"
#include "../lib/fakevoice.h"
#include "../lib/harness.h"

#define PUBLIC_URL  "https://careline.example.dk"
#define OUR_NUMBER  "+4570203040"
#define TW_ACCOUNT  "AC0123456789abcdef0123456789abcdef"
#define TW_TOKEN    "twilio-auth-token-0123456789"
#define PHONE_ANNA  "+4520000001"
#define PHONE_BO    "+4520000002"
#define PHONE_CARL  "+4520000003"
#define RESOLVE     "{\"reason\": \"handed_over:home_care\"}"
#define MAX_BLOBS   256
#define MAX_SPY     4096
#define MAX_INPUTS  8
#define LEAK_CTX    40
#define N_TICKETS   7
#define WAIT_MS     15000
#define SCAN_WINDOW 24

static struct hx h;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* --- the planted strings --------------------------------------------------------- */

/* Where a marker may legitimately be read before the purge. */
enum kept {
	KEPT_TICKET,    /* in the ticket a worker reads (GET /api/v1/tickets/{ref}) */
	KEPT_RECORDING, /* in the recording's audio (GET .../recordings/{id}) */
	KEPT_NEVER,     /* nowhere at all: careline must drop it */
};

enum ticket_no { T_HTTP, T_ANON, T_MQS, T_MQP, T_SMS, T_IVR1, T_IVR2 };
static const char *const ticket_names[N_TICKETS] = {
    "http", "http-anonymous", "mqtt-sealed", "mqtt-plain", "sms", "ivr-consent", "ivr-no-consent"};

enum {
	M_HTTP_NAME,
	M_HTTP_PHONE,
	M_HTTP_RESIDENT,
	M_HTTP_STREET,
	M_HTTP_TEXT,
	M_ANON_NAME,
	M_ANON_PHONE,
	M_ANON_STREET,
	M_ANON_TEXT,
	M_MQS_NAME,
	M_MQS_PHONE,
	M_MQS_RESIDENT,
	M_MQS_STREET,
	M_MQS_TEXT,
	M_MQP_NAME,
	M_MQP_PHONE,
	M_MQP_RESIDENT,
	M_MQP_STREET,
	M_MQP_TEXT,
	M_SMS_SENDER,
	M_SMS_STREET,
	M_SMS_TEXT,
	M_SMS_FOLLOWUP,
	M_IVR1_CALLER,
	M_IVR1_AUDIO,
	M_IVR2_CALLER,
	M_IVR2_AUDIO,
	M_NOTE,
	M_MQTT_NOTE,
	M_REJ_HTTP,
	M_REJ_JSON,
	M_REJ_MQTT,
	M_REJ_SMS_SENDER,
	M_REJ_SMS_TEXT,
	M_TAG, /* the run's tag alone: any fragment or transformation of the text markers */
	M_COUNT
};

struct marker {
	const char *label;
	char value[64];  /* as planted */
	char needle[64]; /* as searched: the value, a phone's national digits */
	enum kept kept;
	int ticket;
};

static struct marker mk[M_COUNT];
static char tag[8];

static void plant(int i, const char *label, int ticket, enum kept kept, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void plant(int i, const char *label, int ticket, enum kept kept, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(mk[i].value, sizeof(mk[i].value), fmt, ap);
	va_end(ap);
	mk[i].label = label;
	mk[i].kept = kept;
	mk[i].ticket = ticket;
	/* Phones are searched as their national digits (without +45). */
	snprintf(mk[i].needle, sizeof(mk[i].needle), "%s",
	         mk[i].value[0] == '+' ? mk[i].value + 3 : mk[i].value);
}

static void make_markers(void)
{
	/* Letters that are not hex digits and make no Danish word: a tag of six
	 * of them occurs by chance neither in text nor in hex or base64. */
	static const char letters[] = "GHJKMNPQRSTVWXYZ";
	unsigned char r[16];
	HX_CHECK(getrandom(r, sizeof(r), 0) == (ssize_t)sizeof(r));
	for (int i = 0; i < 6; i++)
		tag[i] = letters[r[i] % 16];
	tag[6] = '\0';
	char d[7][8]; /* six random digits for each of the phones */
	for (int p = 0; p < 7; p++) {
		unsigned char b[6];
		HX_CHECK(getrandom(b, sizeof(b), 0) == (ssize_t)sizeof(b));
		for (int i = 0; i < 6; i++)
			d[p][i] = (char)('0' + b[i] % 10);
		d[p][6] = '\0';
	}
	plant(M_HTTP_NAME, "http reporter name", T_HTTP, KEPT_TICKET, "Navn%sHttp", tag);
	plant(M_HTTP_PHONE, "http reporter phone", T_HTTP, KEPT_TICKET, "+4531%s", d[0]);
	plant(M_HTTP_RESIDENT, "http resident name", T_HTTP, KEPT_TICKET, "Beboer%sHttp", tag);
	plant(M_HTTP_STREET, "http address street", T_HTTP, KEPT_TICKET, "Mark\xc3\xb8r%svej", tag);
	plant(M_HTTP_TEXT, "http text", T_HTTP, KEPT_TICKET, "Tekst%sHttp", tag);
	plant(M_ANON_NAME, "anonymous http reporter name", T_ANON, KEPT_NEVER, "Navn%sAnon", tag);
	plant(M_ANON_PHONE, "anonymous http reporter phone (no consent)", T_ANON, KEPT_NEVER,
	      "+4532%s", d[1]);
	plant(M_ANON_STREET, "anonymous http address street", T_ANON, KEPT_TICKET, "Anon%sgade",
	      tag);
	plant(M_ANON_TEXT, "anonymous http text", T_ANON, KEPT_TICKET, "Tekst%sAnon", tag);
	plant(M_MQS_NAME, "sealed mqtt reporter name", T_MQS, KEPT_TICKET, "Navn%sMqs", tag);
	plant(M_MQS_PHONE, "sealed mqtt reporter phone", T_MQS, KEPT_TICKET, "+4533%s", d[2]);
	plant(M_MQS_RESIDENT, "sealed mqtt resident name", T_MQS, KEPT_TICKET, "Beboer%sMqs", tag);
	plant(M_MQS_STREET, "sealed mqtt address street", T_MQS, KEPT_TICKET, "Sti%smqsvej", tag);
	plant(M_MQS_TEXT, "sealed mqtt text", T_MQS, KEPT_TICKET, "Tekst%sMqs", tag);
	plant(M_MQP_NAME, "plain mqtt reporter name", T_MQP, KEPT_TICKET, "Navn%sMqp", tag);
	plant(M_MQP_PHONE, "plain mqtt reporter phone", T_MQP, KEPT_TICKET, "+4534%s", d[3]);
	plant(M_MQP_RESIDENT, "plain mqtt resident name", T_MQP, KEPT_TICKET, "Beboer%sMqp", tag);
	plant(M_MQP_STREET, "plain mqtt address street", T_MQP, KEPT_TICKET, "Sti%smqpvej", tag);
	plant(M_MQP_TEXT, "plain mqtt text", T_MQP, KEPT_TICKET, "Tekst%sMqp", tag);
	plant(M_SMS_SENDER, "anonymous sms sender", T_SMS, KEPT_NEVER, "+4535%s", d[4]);
	plant(M_SMS_STREET, "sms address (in the text)", T_SMS, KEPT_TICKET, "Hus%sgade", tag);
	plant(M_SMS_TEXT, "sms text", T_SMS, KEPT_TICKET, "Tekst%sSms", tag);
	plant(M_SMS_FOLLOWUP, "sms follow-up text", T_SMS, KEPT_TICKET, "Igen%sSms", tag);
	plant(M_IVR1_CALLER, "hotline caller (consent 1)", T_IVR1, KEPT_TICKET, "+4536%s", d[5]);
	plant(M_IVR1_AUDIO, "hotline recording (consent 1)", T_IVR1, KEPT_RECORDING, "Lyd%sIvrEt",
	      tag);
	/* The second caller's number: derived, distinct from the first. */
	char d2[8];
	for (int i = 0; i < 6; i++)
		d2[i] = (char)('0' + (d[5][i] - '0' + 1 + i) % 10);
	d2[6] = '\0';
	plant(M_IVR2_CALLER, "hotline caller (consent 2)", T_IVR2, KEPT_NEVER, "+4537%s", d2);
	plant(M_IVR2_AUDIO, "hotline recording (consent 2)", T_IVR2, KEPT_RECORDING, "Lyd%sIvrTo",
	      tag);
	plant(M_NOTE, "worker note (API)", -1, KEPT_TICKET, "Note%s", tag);
	plant(M_MQTT_NOTE, "worker note (sealed MQTT action)", T_MQS, KEPT_TICKET, "Notat%sMqtt",
	      tag);
	/* Refused input: careline keeps none of it, not even in its log. */
	plant(M_REJ_HTTP, "refused http report", -1, KEPT_NEVER, "Afvist%sHttp", tag);
	plant(M_REJ_JSON, "malformed mqtt report", -1, KEPT_NEVER, "Afvist%sJson", tag);
	plant(M_REJ_MQTT, "invalid mqtt report", -1, KEPT_NEVER, "Afvist%sMqtt", tag);
	plant(M_REJ_SMS_SENDER, "forged sms sender", -1, KEPT_NEVER, "+4538%s", d[6]);
	plant(M_REJ_SMS_TEXT, "forged sms text", -1, KEPT_NEVER, "Afvist%sSms", tag);
	plant(M_TAG, "the run's tag", -1, KEPT_TICKET, "%s", tag);
}

/* One byte of a needle against one of the haystack: ASCII letters in either
 * case, every other byte exactly. */
static bool same_ci(unsigned char needle, unsigned char hay)
{
	unsigned char lower = needle | 0x20;
	if (lower >= 'a' && lower <= 'z')
		return lower == (hay | 0x20);
	return needle == hay;
}

/* memmem, ASCII case-insensitive. */
static const char *find_ci(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; n && n <= len && i <= len - n; i++) {
		size_t k = 0;
		while (k < n && same_ci((unsigned char)needle[k], (unsigned char)hay[i + k]))
			k++;
		if (k == n)
			return hay + i;
	}
	return NULL;
}

/* --- leaks: every finding is printed, the phase fails at its end --------------------- */

static int leaks;
static bool quiet; /* the scanner's self-check */

static void print_context(const char *buf, size_t len, size_t at, size_t n)
{
	size_t from = at > LEAK_CTX ? at - LEAK_CTX : 0;
	size_t to = at + n + LEAK_CTX < len ? at + n + LEAK_CTX : len;
	fprintf(stderr, "      bytes %zu..%zu: \"", from, to);
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (i == at)
			fputs(">>", stderr);
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
		if (i + 1 == at + n)
			fputs("<<", stderr);
	}
	fputs("\"\n", stderr);
}

/* Every marker (those in skip excepted) in buf is a leak in `where`.
 * Returns the number found. */
static int scan(const char *phase, const char *where, const char *buf, size_t len, const bool *skip)
{
	int found = 0;
	for (int i = 0; i < M_COUNT; i++) {
		if (skip && skip[i])
			continue;
		const char *p = find_ci(buf, len, mk[i].needle);
		if (!p)
			continue;
		/* The tag alone counts only where no whole marker was found. */
		if (i == M_TAG && found)
			continue;
		found++;
		leaks++;
		if (quiet)
			continue;
		fprintf(stderr, "LEAK (%s): %s holds the %s \"%s\" in clear\n", phase, where,
		        mk[i].label, mk[i].needle);
		print_context(buf, len, (size_t)(p - buf), strlen(mk[i].needle));
	}
	return found;
}

/* The scanner finds what it looks for: every marker in upper case (phones by
 * their national digits), and a fragment by the tag alone. */
static void scanner_selfcheck(void)
{
	quiet = true;
	char buf[256];
	for (int i = 0; i < M_COUNT; i++) {
		snprintf(buf, sizeof(buf), "{\"x\": \"%s\"}", mk[i].value);
		for (char *p = buf; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		HX_CHECK(scan("self-check", "a test buffer", buf, strlen(buf), NULL) >= 1,
		         "the scanner misses %s", buf);
	}
	snprintf(buf, sizeof(buf), "...%c%c%c%c%c%c...", tolower(tag[0]), tag[1], tolower(tag[2]),
	         tag[3], tolower(tag[4]), tag[5]);
	HX_CHECK(scan("self-check", "a fragment", buf, strlen(buf), NULL) == 1,
	         "the scanner misses the tag in %s", buf);
	leaks = 0;
	quiet = false;
}

static void phase_done(const char *phase)
{
	HX_CHECK(leaks == 0, "%s: %d planted strings found in clear (listed above)", phase, leaks);
}

/* --- sealing (as in 17-device-accounts) -------------------------------------------- */

struct keypair {
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char pk_b64[64];
};

static void make_keys(struct keypair *k)
{
	crypto_box_keypair(k->pk, k->sk);
	sodium_bin2base64(k->pk_b64, sizeof(k->pk_b64), k->pk, sizeof(k->pk),
	                  sodium_base64_VARIANT_ORIGINAL);
}

/* {"type": "sealed", "box": ...} of json to pk. Caller frees. */
static char *seal(const unsigned char *pk, const char *json)
{
	size_t len = strlen(json);
	unsigned char *box = malloc(len + crypto_box_SEALBYTES);
	HX_CHECK(box && crypto_box_seal(box, (const unsigned char *)json, len, pk) == 0);
	size_t b64_len =
	    sodium_base64_ENCODED_LEN(len + crypto_box_SEALBYTES, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64_len);
	sodium_bin2base64(b64, b64_len, box, len + crypto_box_SEALBYTES,
	                  sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:s, s:s}", "type", "sealed", "box", b64);
	char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(b64);
	free(box);
	return out;
}

/* Open a sealed inbox message with the device's keys; NULL if it does not. */
static json_t *open_box(const struct keypair *k, json_t *msg)
{
	const char *b64 = str(msg, "box");
	if (!b64)
		return NULL;
	size_t cap = strlen(b64), len = 0;
	unsigned char *box = malloc(cap);
	unsigned char *plain = malloc(cap);
	json_t *inner = NULL;
	if (sodium_base642bin(box, cap, b64, strlen(b64), NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    len > crypto_box_SEALBYTES && crypto_box_seal_open(plain, box, len, k->pk, k->sk) == 0)
		inner = json_loadb((char *)plain, len - crypto_box_SEALBYTES, 0, NULL);
	free(box);
	free(plain);
	return inner;
}

/* --- devices: what each one received, opened ----------------------------------------- */

struct dev {
	const char *id;
	const char *person;
	bool sealed;
	bool away; /* subscribed once, then offline: its inbox waits at the broker */
	struct keypair k;
	struct hx_device *d;
	json_t *got; /* every inbox message, opened and unbundled */
};

static void dev_add(struct dev *v)
{
	char body[256];
	if (v->sealed) {
		make_keys(&v->k);
		snprintf(body, sizeof(body),
		         "{\"person\": \"%s\", \"id\": \"%s\", \"pubkey\": \"%s\"}", v->person,
		         v->id, v->k.pk_b64);
	} else {
		snprintf(body, sizeof(body), "{\"person\": \"%s\", \"id\": \"%s\"}", v->person,
		         v->id);
	}
	struct hx_resp r = hx_admin(&h, "POST", "/api/v1/devices", body);
	HX_CHECK(r.status == 201, "device add %s: %ld %s", v->id, r.status, r.body);
	const char *pw = str(json_object_get(r.json, "mqtt"), "password");
	HX_CHECK(pw, "device %s: no password", v->id);
	v->d = hx_device_connect_as(&h, v->id, pw);
	v->got = json_array();
	if (v->away) {
		hx_device_free(v->d);
		v->d = NULL;
	}
	hx_resp_free(&r);
}

static void dev_append(struct dev *v, json_t *inner)
{
	const char *t = str(inner, "type");
	if (streq(t, "alerts") || streq(t, "receipts")) {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(inner, t), i, item)
		    json_array_append(v->got, item);
		json_decref(inner);
		return;
	}
	json_array_append_new(v->got, inner);
}

/* Take every queued message: opened (sealed devices) and unbundled. */
static void dev_drain(struct dev *v)
{
	json_t *m;
	while ((m = hx_device_wait(v->d, NULL, NULL, 0))) {
		if (!v->sealed) {
			HX_CHECK(!streq(str(m, "type"), "sealed"), "%s: sealed without a key",
			         v->id);
			dev_append(v, m);
			continue;
		}
		HX_CHECK(streq(str(m, "type"), "sealed"),
		         "%s: a device with a key got a %s message in clear", v->id,
		         str(m, "type"));
		json_t *inner = open_box(&v->k, m);
		json_decref(m);
		HX_CHECK(inner, "%s: a sealed message does not open with its key", v->id);
		dev_append(v, inner);
	}
}

/* The first message of type for ref (NULL: any) within timeout_ms; borrowed. */
static json_t *dev_find(struct dev *v, const char *type, const char *ref, int timeout_ms)
{
	int64_t end = hx_now_ms() + timeout_ms;
	for (;;) {
		dev_drain(v);
		size_t i;
		json_t *m;
		json_array_foreach(v->got, i,
		                   m) if (streq(str(m, "type"), type) &&
		                          (!ref || streq(str(m, "ticket"), ref))) return m;
		if (hx_now_ms() >= end)
			return NULL;
		hx_sleep_ms(20);
	}
}

/* --- the wildcard superuser: every payload, raw -------------------------------------- */

struct spied {
	char *topic;
	char *payload;
	size_t len;
};
static pthread_mutex_t spy_mu = PTHREAD_MUTEX_INITIALIZER;
static struct spied spy_msgs[MAX_SPY];
static size_t spy_n, spy_dropped;

static void on_spy(void *ctx, const char *topic, const char *payload, size_t len, int64_t at_ms)
{
	(void)ctx;
	(void)at_ms;
	pthread_mutex_lock(&spy_mu);
	if (spy_n < MAX_SPY) {
		struct spied *s = &spy_msgs[spy_n++];
		s->topic = strdup(topic);
		s->payload = malloc(len + 1);
		memcpy(s->payload, payload, len);
		s->payload[len] = '\0';
		s->len = len;
	} else {
		spy_dropped++;
	}
	pthread_mutex_unlock(&spy_mu);
}

/* What the test itself published in clear (plain reports): inputs, not output. */
static char *inputs[MAX_INPUTS];
static size_t n_inputs;

static bool is_input(const char *payload, size_t len)
{
	for (size_t i = 0; i < n_inputs; i++)
		if (strlen(inputs[i]) == len && memcmp(inputs[i], payload, len) == 0)
			return true;
	return false;
}

struct queued_ctx {
	const char *phase;
	int n;
};

static void scan_queued(void *ctx, const char *topic, const char *payload, size_t len)
{
	struct queued_ctx *q = ctx;
	char where[320];
	snprintf(where, sizeof(where), "MQTT payload on %s (queued before the handler)", topic);
	if (!is_input(payload, len))
		scan(q->phase, where, payload, len, NULL);
	q->n++;
}

/* --- HTTP, carelinectl ------------------------------------------------------------- */

static char refs[N_TICKETS][16];
static int http_scanned;

/* An answer careline gives that must hold no personal data. */
static void scan_answer(const char *phase, const char *what, const struct hx_resp *r)
{
	if (r->body)
		scan(phase, what, r->body, r->len ? r->len : strlen(r->body), NULL);
	http_scanned++;
}

static void post_report(const char *phase, int t, json_t *report)
{
	char *body = json_dumps(report, JSON_COMPACT);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201 && str(r.json, "ticket"), "POST %s report: %ld %s",
	         ticket_names[t], r.status, r.body);
	snprintf(refs[t], sizeof(refs[t]), "%s", str(r.json, "ticket"));
	scan_answer(phase, "the answer to POST /api/v1/reports", &r);
	hx_resp_free(&r);
}

static void act(int t, const char *verb, const char *body)
{
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/%s", refs[t], verb);
	struct hx_resp r = hx_http(&h, "POST", path, "test-anna-token", body ? body : "{}");
	HX_CHECK(r.status == 200, "%s %s (%s): %ld %s", verb, refs[t], ticket_names[t], r.status,
	         r.body);
	scan_answer("before purge", "the answer to an action", &r);
	hx_resp_free(&r);
}

/* GET /api/v1/tickets/{ref} as worker anna (an audited read). Caller decrefs. */
static json_t *worker_reads(int t)
{
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s", refs[t]);
	struct hx_resp r = hx_http(&h, "GET", path, "test-anna-token", NULL);
	HX_CHECK(r.status == 200 && r.json, "GET %s: %ld %s", path, r.status, r.body);
	json_t *o = json_incref(r.json);
	hx_resp_free(&r);
	return o;
}

/* --- files --------------------------------------------------------------------------- */

struct file_scan {
	int files;
	long long bytes;
	bool db, wal, shm, log, broker_db, config_phone;
};

static void scan_dir(const char *phase, const char *dir, struct file_scan *fs)
{
	DIR *d = opendir(dir);
	HX_CHECK(d, "opendir %s", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		char path[700];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			scan_dir(phase, path, fs);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		size_t len;
		char *buf = hx_read_file(path, &len);
		if (!buf)
			continue;
		fs->files++;
		fs->bytes += (long long)len;
		fs->db |= streq(e->d_name, "careline.db");
		fs->wal |= streq(e->d_name, "careline.db-wal");
		fs->shm |= streq(e->d_name, "careline.db-shm");
		fs->log |= streq(e->d_name, "careline.log");
		fs->broker_db |= streq(e->d_name, "mosquitto.db");
		/* The scan works: a staff phone is in the configuration file. */
		if (streq(e->d_name, "careline.ini"))
			fs->config_phone = find_ci(buf, len, PHONE_CARL + 3) != NULL;
		char where[760];
		snprintf(where, sizeof(where), "file %s (%zu bytes)", path, len);
		scan(phase, where, buf, len, NULL);
		free(buf);
	}
	closedir(d);
}

static struct file_scan scan_files(const char *phase, bool running)
{
	struct file_scan fs = {0};
	scan_dir(phase, h.dir, &fs);
	HX_CHECK(fs.db && fs.log && fs.broker_db,
	         "%s: the database, the log or mosquitto.db missing", phase);
	HX_CHECK(!running || fs.shm, "%s: no -shm file while running", phase);
	HX_CHECK(fs.config_phone, "%s: the scan did not find a staff phone in careline.ini", phase);
	printf("  %s: %d files (%lld bytes) scanned%s%s\n", phase, fs.files, fs.bytes,
	       fs.wal ? ", -wal" : "", fs.shm ? ", -shm" : "");
	return fs;
}

/* --- ciphertexts and lookup hashes, as stored ------------------------------------------ */

struct blob {
	char what[96];
	unsigned char *bytes;
	size_t len;
};
static struct blob blobs[MAX_BLOBS];
static size_t n_blobs;

static sqlite3 *db_open(void)
{
	char uri[400];
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", h.db_path);
	sqlite3 *db = NULL;
	HX_CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) ==
	             SQLITE_OK,
	         "open %s read-only", h.db_path);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* Every non-NULL value of sql (?1 = the ticket's id), remembered as what. */
static int collect(sqlite3 *db, const char *sql, int64_t ticket_id, const char *what, int t)
{
	sqlite3_stmt *st;
	HX_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	         sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, ticket_id);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 0);
		if (sqlite3_column_type(st, 0) == SQLITE_NULL || len <= 0)
			continue;
		HX_CHECK(n_blobs < MAX_BLOBS, "too many blobs");
		struct blob *b = &blobs[n_blobs++];
		snprintf(b->what, sizeof(b->what), "%s of %s (%s)", what, refs[t], ticket_names[t]);
		b->len = (size_t)len;
		b->bytes = malloc(b->len);
		memcpy(b->bytes, sqlite3_column_blob(st, 0), b->len);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static void collect_blobs(void)
{
	static const struct {
		const char *what, *sql;
	} q[] = {
	    {"report.text_enc", "SELECT text_enc FROM report WHERE ticket_id = ?1"},
	    {"report.address_enc", "SELECT address_enc FROM report WHERE ticket_id = ?1"},
	    {"report.reporter_name_enc",
	     "SELECT reporter_name_enc FROM report WHERE ticket_id = ?1"},
	    {"report.reporter_phone_enc",
	     "SELECT reporter_phone_enc FROM report WHERE ticket_id = ?1"},
	    {"report.reporter_org_enc", "SELECT reporter_org_enc FROM report WHERE ticket_id = ?1"},
	    {"report.resident_name_enc",
	     "SELECT resident_name_enc FROM report WHERE ticket_id = ?1"},
	    {"report.observed_by_enc", "SELECT observed_by_enc FROM report WHERE ticket_id = ?1"},
	    {"report.phone_hash", "SELECT phone_hash FROM report WHERE ticket_id = ?1"},
	    {"ticket_event.note_enc", "SELECT note_enc FROM ticket_event WHERE ticket_id = ?1"},
	    {"recording.audio_enc", "SELECT audio_enc FROM recording WHERE ticket_id = ?1"},
	    {"ticket.address_hash", "SELECT address_hash FROM ticket WHERE id = ?1"},
	    {"sms_session.sender_hash", "SELECT sender_hash FROM sms_session WHERE ticket_id = ?1"},
	};
	sqlite3 *db = db_open();
	int per_kind[sizeof(q) / sizeof(q[0])] = {0};
	for (int t = 0; t < N_TICKETS; t++) {
		sqlite3_stmt *st;
		HX_CHECK(sqlite3_prepare_v2(db, "SELECT id FROM ticket WHERE ref = ?1", -1, &st,
		                            NULL) == SQLITE_OK);
		sqlite3_bind_text(st, 1, refs[t], -1, SQLITE_STATIC);
		HX_CHECK(sqlite3_step(st) == SQLITE_ROW, "no row for ticket %s", refs[t]);
		int64_t id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
			per_kind[i] += collect(db, q[i].sql, id, q[i].what, t);
	}
	sqlite3_close(db);
	/* What must be there: texts of all, notes of all, both recordings, the
	 * named reporters' names and phones, the consenting caller's number, the
	 * SMS sender's follow-up hash. */
	HX_CHECK(per_kind[0] >= N_TICKETS - 2, "only %d report texts", per_kind[0]);
	HX_CHECK(per_kind[2] >= 3 && per_kind[3] >= 4, "names %d, phones %d", per_kind[2],
	         per_kind[3]);
	HX_CHECK(per_kind[8] >= N_TICKETS, "only %d notes", per_kind[8]);
	HX_CHECK(per_kind[9] == 2, "%d recordings", per_kind[9]);
	HX_CHECK(per_kind[11] >= 1, "no SMS sender session");
	printf("  %zu ciphertexts and lookup hashes recorded:", n_blobs);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (per_kind[i])
			printf(" %s %d", q[i].what, per_kind[i]);
	printf("\n");
}

/* Windows of the blob (a long one spans SQLite overflow pages, whose
 * headers split it): true if any of them is in buf. */
static bool blob_in(const struct blob *b, const char *buf, size_t len)
{
	size_t w = b->len < SCAN_WINDOW ? b->len : SCAN_WINDOW;
	for (size_t off = 0;; off += 256) {
		if (off + w > b->len)
			off = b->len - w;
		if (memmem(buf, len, b->bytes + off, w))
			return true;
		if (off + w >= b->len)
			return false;
	}
}

/* How many recorded blobs are in the database files (and, after the purge,
 * in any file of the directory: none may be). */
static int blobs_found(const char *phase, bool must_be_gone)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	bool *seen = calloc(n_blobs ? n_blobs : 1, sizeof(bool));
	for (size_t f = 0; f < 3; f++) {
		char path[400];
		snprintf(path, sizeof(path), "%s%s", h.db_path, suffix[f]);
		size_t len;
		char *buf = hx_read_file(path, &len);
		if (!buf)
			continue;
		for (size_t i = 0; i < n_blobs; i++) {
			if (!blob_in(&blobs[i], buf, len))
				continue;
			seen[i] = true;
			if (must_be_gone) {
				leaks++;
				fprintf(stderr, "LEAK (%s): %s (%zu bytes) is still in %s\n", phase,
				        blobs[i].what, blobs[i].len, path);
			}
		}
		free(buf);
	}
	int n = 0;
	for (size_t i = 0; i < n_blobs; i++)
		n += seen[i];
	if (!must_be_gone)
		for (size_t i = 0; i < n_blobs; i++)
			HX_CHECK(seen[i], "%s: the scan does not find %s (%zu bytes) in the files",
			         phase, blobs[i].what, blobs[i].len);
	free(seen);
	return n;
}

/* --- the hotline ------------------------------------------------------------------- */

/* A WAV whose samples spell the marker. Caller frees. */
static unsigned char *marked_wav(const char *marker, size_t *len)
{
	size_t data = 3000;
	unsigned char *w = calloc(1, 44 + data);
	memcpy(w, "RIFF", 4);
	uint32_t v = (uint32_t)(36 + data);
	memcpy(w + 4, &v, 4);
	memcpy(w + 8, "WAVEfmt ", 8);
	v = 16;
	memcpy(w + 16, &v, 4);
	uint16_t s = 1;
	memcpy(w + 20, &s, 2); /* PCM */
	memcpy(w + 22, &s, 2); /* mono */
	v = 8000;
	memcpy(w + 24, &v, 4);
	memcpy(w + 28, &v, 4);
	memcpy(w + 32, &s, 2);
	s = 8;
	memcpy(w + 34, &s, 2);
	memcpy(w + 36, "data", 4);
	v = (uint32_t)data;
	memcpy(w + 40, &v, 4);
	size_t n = strlen(marker);
	for (size_t i = 0; i + n + 1 <= data; i += n + 1) {
		memcpy(w + 44 + i, marker, n);
		w[44 + i + n] = ' ';
	}
	*len = 44 + data;
	return w;
}

/* The ref a Twilio call read out: "... nummer K, 7, F, Q, 2. ..." */
static void ref_of(struct fv_call *c, char ref[16])
{
	const char *s = strstr(fv_spoken_text(c), "nummer ");
	size_t n = 0;
	for (s = s ? s + 7 : NULL; s && *s && *s != '.' && n < 7; s++)
		if (*s != ',' && *s != ' ')
			ref[n++] = *s;
	ref[n] = '\0';
}

static int voice_scanned;

/* Every answer careline gave on a call (TwiML) must hold no marker. */
static void scan_call(const char *phase, const struct fv_call *c, const char *what)
{
	const struct fv_transcript *t = fv_call_transcript(c);
	for (size_t i = 0; i < t->n_requests; i++) {
		const struct fv_request *r = &t->requests[i];
		if (!r->response)
			continue;
		char where[256];
		snprintf(where, sizeof(where), "%s: careline's answer to %s", what, r->url);
		scan(phase, where, r->response, r->response_len, NULL);
		voice_scanned++;
	}
	for (size_t i = 0; i < t->n_says; i++) {
		scan(phase, what, t->says[i].text, strlen(t->says[i].text), NULL);
		voice_scanned++;
	}
}

static long long wait_recording(int t)
{
	for (int i = 0; i < 300; i++) {
		json_t *o = hx_ticket(&h, refs[t]);
		json_t *rec = json_array_get(json_object_get(o, "recordings"), 0);
		long long id = json_integer_value(json_object_get(rec, "id"));
		bool done = streq(str(rec, "state"), "stored") &&
		            json_is_true(json_object_get(rec, "deleted_at_provider"));
		json_decref(o);
		if (done)
			return id;
		hx_sleep_ms(50);
	}
	hx_fail("%s: recording not stored within 15 s", refs[t]);
}

/* --- the scenario -------------------------------------------------------------------- */

static json_t *report_json(int name, int phone, int resident, const char *address, const char *text)
{
	char id[37];
	hx_uuid(id);
	json_t *o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:{s:b}}", "report_id", id,
	                      "text", text, "address", address, "reporter", "name", mk[name].value,
	                      "phone", mk[phone].value, "resident", "name", mk[resident].value,
	                      "consent", "callback", 1);
	HX_CHECK(o, "json_pack");
	return o;
}

static int spy_scan(const char *phase, struct hx_device *spy, int *inputs_skipped)
{
	struct queued_ctx q = {phase, 0};
	hx_device_each(spy, scan_queued, &q);
	pthread_mutex_lock(&spy_mu);
	int n = q.n;
	for (size_t i = 0; i < spy_n; i++) {
		if (is_input(spy_msgs[i].payload, spy_msgs[i].len)) {
			(*inputs_skipped)++;
			continue;
		}
		char where[320];
		snprintf(where, sizeof(where), "MQTT payload #%zu on %s", i, spy_msgs[i].topic);
		scan(phase, where, spy_msgs[i].payload, spy_msgs[i].len, NULL);
		n++;
	}
	HX_CHECK(spy_dropped == 0, "the spy dropped %zu messages", spy_dropped);
	pthread_mutex_unlock(&spy_mu);
	return n;
}

int main(void)
{
	hx_watchdog(120);
	int64_t t0 = hx_now_ms();
	HX_CHECK(sodium_init() >= 0);
	make_markers();
	scanner_selfcheck();
	printf("  run tag %s, %d planted strings\n", tag, M_COUNT - 1);

	/* --- the providers, the broker, the daemon ------------------------------------ */
	struct fp *fp = fp_start("twilio", TW_ACCOUNT, TW_TOKEN);
	struct fv *fv = fv_start("twilio", TW_ACCOUNT, TW_TOKEN);
	h.dynsec = true;
	h.persistence = true;
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[careline]\nlog_level = debug\n"
	         "[sms]\nprovider = twilio\npublic_url = " PUBLIC_URL "\napi_base = %s\n"
	         "from = " OUR_NUMBER "\naccount = " TW_ACCOUNT "\nsecret = " TW_TOKEN "\n"
	         "staff_gap = 1\nstaff_burst = 16\n"
	         "[voice]\nprovider = twilio\npublic_url = " PUBLIC_URL "\napi_base = %s\n"
	         "from = " OUR_NUMBER "\n"
	         "[retention]\nclosed_after = 1\n"
	         "[person anna]\nphone = " PHONE_ANNA "\n[person bo]\nphone = " PHONE_BO "\n"
	         "[person carl]\nphone = " PHONE_CARL "\n"
	         "[policy leak]\nstep = primary 1 via=mqtt,sms,voice\nrepeat = 0\n"
	         "final = backup 1 via=mqtt,sms,voice\n"
	         "[team opsoegende]\npolicy = leak\n",
	         fp_base_url(fp), fv_base_url(fv));
	hx_start_daemon(&h, NULL);
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", h.http_port);
	fp_set_webhook_target(fp, base);
	fv_set_careline(fv, base, NULL);
	fv_set_public_url(fv, PUBLIC_URL);
	/* Staff pick up alert calls and hang up without a key: the call's words
	 * are heard (and scanned), nothing is acknowledged by phone. */
	fv_answer_script(fv, PHONE_ANNA, NULL, 0);
	fv_answer_script(fv, PHONE_BO, NULL, 0);
	fv_answer_script(fv, PHONE_CARL, NULL, 0);

	struct hx_device *spy =
	    hx_subscriber_connect_as(&h, "observer", HX_DYNSEC_USER, HX_DYNSEC_PASSWORD, "#");
	hx_device_set_handler(spy, on_spy, NULL);

	char primary[48], backup[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), backup, sizeof(backup));
	HX_CHECK(backup[0], "no back-up on call");
	const char *primary_phone = streq(primary, "anna") ? PHONE_ANNA : PHONE_BO;
	struct dev devs[] = {
	    {.id = "prim-sealed", .person = primary, .sealed = true},
	    {.id = "prim-plain", .person = primary, .sealed = false},
	    {.id = "back-sealed", .person = backup, .sealed = true},
	    {.id = "back-plain", .person = backup, .sealed = false},
	    {.id = "jens-sealed", .person = "jens", .sealed = true},
	    {.id = "jens-plain", .person = "jens", .sealed = false},
	    {.id = "away-sealed", .person = primary, .sealed = true, .away = true},
	    {.id = "away-plain", .person = primary, .sealed = false, .away = true},
	};
	enum {
		D_PRIM_S,
		D_PRIM_P,
		D_BACK_S,
		D_BACK_P,
		D_JENS_S,
		D_JENS_P,
		D_AWAY_S,
		D_AWAY_P,
		D_COUNT
	};
	for (int i = 0; i < D_COUNT; i++)
		dev_add(&devs[i]);

	/* --- reports on every channel ------------------------------------------------- */
	const char *phase = "before purge";
	char text[512], addr[256];

	/* HTTP, named: every personal field. */
	snprintf(text, sizeof(text), "Har ikke set %s i to uger, postkassen flyder over",
	         mk[M_HTTP_TEXT].value);
	json_t *rep = report_json(M_HTTP_NAME, M_HTTP_PHONE, M_HTTP_RESIDENT, "", text);
	json_object_set_new(rep, "address",
	                    json_pack("{s:s, s:s, s:s}", "street", mk[M_HTTP_STREET].value,
	                              "number", "11", "postcode", "8000"));
	post_report(phase, T_HTTP, rep);
	json_decref(rep);

	/* HTTP, anonymous: the name and the phone (no consent) must be dropped. */
	snprintf(text, sizeof(text), "ANONYM %s der er larm hver nat", mk[M_ANON_TEXT].value);
	snprintf(addr, sizeof(addr), "%s 3, 8000 Aarhus C", mk[M_ANON_STREET].value);
	rep = report_json(M_ANON_NAME, M_ANON_PHONE, M_ANON_STREET, addr, text);
	json_object_del(rep, "resident");
	json_object_set_new(rep, "consent", json_pack("{s:b}", "callback", 0));
	post_report(phase, T_ANON, rep);
	json_decref(rep);

	/* MQTT, sealed to careline's key. */
	struct hx_resp key = hx_http(&h, "GET", "/api/v1/key", "test-partner-token", NULL);
	unsigned char careline_pk[32];
	size_t pk_len = 0;
	const char *key_b64 = str(key.json, "public_key");
	HX_CHECK(key.status == 200 && key_b64 &&
	         sodium_base642bin(careline_pk, sizeof(careline_pk), key_b64, strlen(key_b64), NULL,
	                           &pk_len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	         pk_len == 32);
	hx_resp_free(&key);
	snprintf(text, sizeof(text), "Har ikke set %s i ti dage, der lugter fra lejligheden",
	         mk[M_MQS_TEXT].value);
	snprintf(addr, sizeof(addr), "%s 5, 8210 Aarhus V", mk[M_MQS_STREET].value);
	rep = report_json(M_MQS_NAME, M_MQS_PHONE, M_MQS_RESIDENT, addr, text);
	char *plain = json_dumps(rep, JSON_COMPACT);
	char *sealed = seal(careline_pk, plain);
	free(plain);
	json_decref(rep);
	hx_device_publish(devs[D_JENS_S].d, "report", sealed);
	free(sealed);
	json_t *receipt = dev_find(&devs[D_JENS_S], "receipt", NULL, WAIT_MS);
	HX_CHECK(receipt && str(receipt, "ticket"), "no sealed receipt");
	snprintf(refs[T_MQS], sizeof(refs[T_MQS]), "%s", str(receipt, "ticket"));

	/* MQTT, plain: the report itself passes the broker in clear (an input;
	 * require_sealed is the operator's way to refuse it). */
	snprintf(text, sizeof(text), "Har ikke set %s siden sidste uge, gardinerne er trukket for",
	         mk[M_MQP_TEXT].value);
	snprintf(addr, sizeof(addr), "%s 9, 8220 Brabrand", mk[M_MQP_STREET].value);
	rep = report_json(M_MQP_NAME, M_MQP_PHONE, M_MQP_RESIDENT, addr, text);
	inputs[n_inputs++] = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	hx_device_publish(devs[D_JENS_P].d, "report", inputs[n_inputs - 1]);
	receipt = dev_find(&devs[D_JENS_P], "receipt", NULL, WAIT_MS);
	HX_CHECK(receipt && str(receipt, "ticket"), "no plain receipt");
	snprintf(refs[T_MQP], sizeof(refs[T_MQP]), "%s", str(receipt, "ticket"));

	/* Refused input, on the three text channels: nothing of it is kept. */
	char long_name[200];
	snprintf(long_name, sizeof(long_name), "%s %s %s", mk[M_REJ_HTTP].value,
	         mk[M_REJ_HTTP].value, mk[M_REJ_HTTP].value);
	snprintf(text, sizeof(text), "Har ikke set %s i to uger", mk[M_REJ_HTTP].value);
	rep = report_json(M_REJ_HTTP, M_REJ_HTTP, M_REJ_HTTP, "Vestergade 1, 8000", text);
	json_object_set_new(json_object_get(rep, "reporter"), "phone", json_string(long_name));
	char *bad = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", bad);
	free(bad);
	HX_CHECK(r.status == 400, "a report with a 100-character phone: %ld %s", r.status, r.body);
	scan_answer(phase, "the 400 answer to a refused report", &r);
	hx_resp_free(&r);
	char malformed[256];
	snprintf(malformed, sizeof(malformed), "{\"report_id\": \"x\", \"text\": \"%s er væk",
	         mk[M_REJ_JSON].value);
	inputs[n_inputs++] = strdup(malformed);
	hx_device_publish(devs[D_JENS_P].d, "report", malformed);
	HX_CHECK(dev_find(&devs[D_JENS_P], "error", NULL, WAIT_MS), "no error for malformed JSON");
	snprintf(text, sizeof(text), "Har ikke set %s i to uger", mk[M_REJ_MQTT].value);
	rep = report_json(M_REJ_MQTT, M_REJ_MQTT, M_REJ_MQTT, "Vestergade 2, 8000", text);
	json_object_set_new(rep, "consent", json_string("ja"));
	inputs[n_inputs++] = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	size_t errors_before = json_array_size(devs[D_JENS_P].got);
	hx_device_publish(devs[D_JENS_P].d, "report", inputs[n_inputs - 1]);
	int64_t until = hx_now_ms() + WAIT_MS;
	while (json_array_size(devs[D_JENS_P].got) == errors_before && hx_now_ms() < until) {
		hx_sleep_ms(20);
		dev_drain(&devs[D_JENS_P]);
	}
	json_t *err_msg = json_array_get(devs[D_JENS_P].got, errors_before);
	HX_CHECK(streq(str(err_msg, "type"), "error"), "an invalid MQTT report: %s",
	         err_msg ? json_dumps(err_msg, 0) : "nothing");

	/* SMS from an unregistered number: anonymous; then a follow-up. */
	char hook[128];
	snprintf(hook, sizeof(hook), "%s/hooks/twilio/sms", base);
	int sms_answers = 0;
	snprintf(text, sizeof(text), "Har ikke set %s i to uger. %s 7, 8000 Aarhus C",
	         mk[M_SMS_TEXT].value, mk[M_SMS_STREET].value);
	char *answer = NULL;
	int st = fp_post_inbound(fp, hook, PUBLIC_URL, NULL, mk[M_SMS_SENDER].value, OUR_NUMBER,
	                         text, &answer, NULL);
	HX_CHECK(st == 200 && answer, "SMS: %d %s", st, answer ? answer : "");
	const char *nr = strstr(answer, "har nummer ");
	HX_CHECK(nr, "no ref in the SMS receipt: %s", answer);
	snprintf(refs[T_SMS], sizeof(refs[T_SMS]), "%.5s", nr + strlen("har nummer "));
	scan(phase, "careline's answer to the inbound SMS webhook", answer, strlen(answer), NULL);
	sms_answers++;
	free(answer);
	snprintf(text, sizeof(text), "%s: lyset er stadig tændt", mk[M_SMS_FOLLOWUP].value);
	st = fp_post_inbound(fp, hook, PUBLIC_URL, NULL, mk[M_SMS_SENDER].value, OUR_NUMBER, text,
	                     &answer, NULL);
	HX_CHECK(st == 200 && answer && strstr(answer, refs[T_SMS]), "SMS follow-up: %d %s", st,
	         answer ? answer : "");
	scan(phase, "careline's answer to the follow-up SMS webhook", answer, strlen(answer), NULL);
	sms_answers++;
	free(answer);
	snprintf(text, sizeof(text), "Har ikke set %s i to uger. Vestergade 3, 8000",
	         mk[M_REJ_SMS_TEXT].value);
	struct fp_inbound forged = {.careline_url = hook,
	                            .public_url = PUBLIC_URL,
	                            .from = mk[M_REJ_SMS_SENDER].value,
	                            .to = OUR_NUMBER,
	                            .text = text,
	                            .flags = FP_TAMPER_SIGNATURE};
	st = fp_post_inbound_ex(fp, &forged, &answer, NULL);
	HX_CHECK(st == 403, "a forged SMS webhook: %d %s", st, answer ? answer : "");
	if (answer)
		scan(phase, "careline's answer to a forged SMS webhook", answer, strlen(answer),
		     NULL);
	sms_answers++;
	free(answer);

	/* The hotline: consent 1 (the number is kept, encrypted), consent 2. */
	size_t audio1_len, audio2_len;
	unsigned char *audio1 = marked_wav(mk[M_IVR1_AUDIO].value, &audio1_len);
	unsigned char *audio2 = marked_wav(mk[M_IVR2_AUDIO].value, &audio2_len);
	struct fv_input call1[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(audio1, audio1_len, 6),
	                           FV_IN_DIGITS("1")};
	struct fv_input call2[] = {FV_IN_DIGITS("1"), FV_IN_RECORD(audio2, audio2_len, 4),
	                           FV_IN_DIGITS("2")};
	struct fv_call *c1, *c2;
	HX_CHECK(fv_call_run(fv, mk[M_IVR1_CALLER].value, OUR_NUMBER, call1, 3, &c1) == 0,
	         "call 1: %s", fv_end_name(fv_call_transcript(c1)->end));
	HX_CHECK(fv_call_run(fv, mk[M_IVR2_CALLER].value, OUR_NUMBER, call2, 3, &c2) == 0,
	         "call 2: %s", fv_end_name(fv_call_transcript(c2)->end));
	ref_of(c1, refs[T_IVR1]);
	ref_of(c2, refs[T_IVR2]);
	HX_CHECK(strlen(refs[T_IVR1]) == 5 && strlen(refs[T_IVR2]) == 5, "refs read out: %s %s",
	         refs[T_IVR1], refs[T_IVR2]);
	for (int t = 0; t < N_TICKETS; t++)
		for (int u = 0; u < t; u++)
			HX_CHECK(!streq(refs[t], refs[u]), "%s and %s share ticket %s",
			         ticket_names[t], ticket_names[u], refs[t]);
	printf("  tickets:");
	for (int t = 0; t < N_TICKETS; t++)
		printf(" %s=%s", ticket_names[t], refs[t]);
	printf("\n");

	/* --- alerts, escalation ------------------------------------------------------- */
	int opened_with_marker = 0;
	for (int t = 0; t < N_TICKETS; t++) {
		json_t *a = dev_find(&devs[D_PRIM_S], "alert", refs[t], WAIT_MS);
		HX_CHECK(a, "no sealed alert for %s on the primary's device", refs[t]);
		/* Opened, a sealed alert says what and where. */
		char *s = json_dumps(a, 0);
		opened_with_marker += find_ci(s, strlen(s), tag) != NULL;
		if (t == T_HTTP)
			HX_CHECK(find_ci(s, strlen(s), mk[M_HTTP_TEXT].value) &&
			             find_ci(s, strlen(s), mk[M_HTTP_STREET].value),
			         "the sealed alert lacks the text or address: %s", s);
		free(s);
		a = dev_find(&devs[D_PRIM_P], "alert", refs[t], WAIT_MS);
		HX_CHECK(a, "no plain alert for %s", refs[t]);
		HX_CHECK(!json_object_get(a, "text") && !json_object_get(a, "address"),
		         "a plain alert carries text or address: %s", json_dumps(a, 0));
		/* The escalation reached the back-up. */
		HX_CHECK(dev_find(&devs[D_BACK_S], "alert", refs[t], WAIT_MS),
		         "no back-up alert for %s", refs[t]);
		HX_CHECK(dev_find(&devs[D_BACK_P], "alert", refs[t], WAIT_MS),
		         "no plain back-up alert for %s", refs[t]);
	}
	HX_CHECK(opened_with_marker >= 5, "only %d opened sealed alerts hold a marker",
	         opened_with_marker);
	const char *backup_phone = streq(backup, "carl") ? PHONE_CARL : PHONE_BO;
	HX_CHECK(fv_wait_placed(fv, 2, WAIT_MS), "alert calls placed: %zu", fv_placed_count(fv));
	int64_t end = hx_now_ms() + WAIT_MS;
	bool sms_primary = false, sms_backup = false;
	while (!(sms_primary && sms_backup) && hx_now_ms() < end) {
		struct fp_msg m;
		for (size_t i = 0; fp_get(fp, i, &m); i++) {
			sms_primary |= streq(m.to, primary_phone);
			sms_backup |= streq(m.to, backup_phone);
		}
		hx_sleep_ms(50);
	}
	HX_CHECK(sms_primary && sms_backup, "SMS alerts: primary %d, back-up %d", sms_primary,
	         sms_backup);

	/* --- a worker reads, listens, writes notes; the tickets are closed ---------------- */
	long long rec[N_TICKETS] = {0};
	rec[T_IVR1] = wait_recording(T_IVR1);
	rec[T_IVR2] = wait_recording(T_IVR2);
	bool seen_decrypted[M_COUNT] = {0};
	/* A note as a sealed MQTT action, and the team's queue asked for in clear. */
	char action[256];
	snprintf(
	    action, sizeof(action),
	    "{\"ticket\": \"%s\", \"action\": \"note\", \"note\": \"%s talte med viceværten\"}",
	    refs[T_MQS], mk[M_MQTT_NOTE].value);
	char *sealed_action = seal(careline_pk, action);
	hx_device_publish(devs[D_PRIM_S].d, "ack", sealed_action);
	free(sealed_action);
	json_t *res = dev_find(&devs[D_PRIM_S], "ack_result", refs[T_MQS], WAIT_MS);
	HX_CHECK(res && json_is_true(json_object_get(res, "ok")), "the sealed note: %s",
	         res ? json_dumps(res, 0) : "no answer");
	hx_device_publish(devs[D_PRIM_P].d, "report",
	                  "{\"type\": \"queue\", \"request_id\": \"q-1\"}");
	json_t *queue = dev_find(&devs[D_PRIM_P], "queue", NULL, WAIT_MS);
	HX_CHECK(queue && json_array_size(json_object_get(queue, "tickets")) >= N_TICKETS,
	         "the queue: %s", queue ? json_dumps(queue, 0) : "no answer");
	for (int t = 0; t < N_TICKETS; t++) {
		char note[128];
		snprintf(note, sizeof(note), "{\"note\": \"%s (%s) ringede til naboen\"}",
		         mk[M_NOTE].value, ticket_names[t]);
		act(t, "note", note);
		json_t *o = worker_reads(t);
		char *s = json_dumps(o, 0);
		for (int i = 0; i < M_COUNT; i++)
			if ((mk[i].ticket == t || mk[i].ticket < 0) &&
			    find_ci(s, strlen(s), mk[i].needle))
				seen_decrypted[i] = true;
		free(s);
		json_decref(o);
		if (rec[t]) {
			char path[128];
			snprintf(path, sizeof(path), "/api/v1/tickets/%s/recordings/%lld", refs[t],
			         rec[t]);
			r = hx_http(&h, "GET", path, "test-anna-token", NULL);
			HX_CHECK(r.status == 200 && r.len > 44, "GET %s: %ld", path, r.status);
			for (int i = 0; i < M_COUNT; i++)
				if (mk[i].ticket == t && find_ci(r.body, r.len, mk[i].needle))
					seen_decrypted[i] = true;
			hx_resp_free(&r);
		}
	}
	for (int i = 0; i < M_COUNT; i++) {
		if (mk[i].kept == KEPT_NEVER)
			HX_CHECK(!seen_decrypted[i],
			         "the %s \"%s\" was kept: careline must drop it", mk[i].label,
			         mk[i].needle);
		else
			HX_CHECK(
			    seen_decrypted[i],
			    "the %s \"%s\" is not what a worker reads: the scan proves nothing",
			    mk[i].label, mk[i].needle);
	}
	for (int t = 0; t < N_TICKETS; t++) {
		act(t, "take", NULL);
		act(t, "resolve", RESOLVE);
	}
	/* Let the outbox finish (updates, the last alert calls), and the broker
	 * save its state (autosave_interval 1). */
	hx_sleep_ms(1500);
	size_t placed = fv_placed_count(fv);
	for (size_t i = 0; i < placed; i++)
		HX_CHECK(fv_wait_placed_done(fv, i, WAIT_MS), "alert call %zu not over", i);
	hx_sleep_ms(1200);

	/* --- before the purge: nowhere in clear ------------------------------------------ */
	struct file_scan fs_before = scan_files(phase, true);
	/* The broker's file holds the inboxes of the devices that are away: the
	 * plain alerts (their refs in clear) and the sealed ones. */
	char broker_db[400];
	snprintf(broker_db, sizeof(broker_db), "%s/mosquitto.db", h.dir);
	size_t bdb_len = 0;
	char *bdb = hx_read_file(broker_db, &bdb_len);
	HX_CHECK(bdb && memmem(bdb, bdb_len, "careline/v1/dev/away-sealed/inbox", 33) &&
	             memmem(bdb, bdb_len, "\"sealed\"", 8) &&
	             memmem(bdb, bdb_len, refs[T_HTTP], strlen(refs[T_HTTP])),
	         "mosquitto.db (%zu bytes) does not hold the queued alerts", bdb_len);
	free(bdb);
	printf("  mosquitto.db (%zu bytes) holds the away devices' queued alerts\n", bdb_len);
	int inputs_skipped = 0;
	int payloads = spy_scan(phase, spy, &inputs_skipped);
	HX_CHECK(payloads >= 4 * N_TICKETS, "the spy saw only %d payloads", payloads);
	HX_CHECK(inputs_skipped >= 1, "the spy did not see the plain report");
	/* The devices' inboxes, as received (the sealed ones as their boxes were
	 * seen by the spy; here the plain ones). */
	int plain_msgs = 0;
	for (int i = 0; i < D_COUNT; i++) {
		if (devs[i].sealed || devs[i].away)
			continue;
		dev_drain(&devs[i]);
		size_t k;
		json_t *m;
		json_array_foreach(devs[i].got, k, m)
		{
			char *s = json_dumps(m, 0);
			char where[96];
			snprintf(where, sizeof(where), "a plain inbox message to %s", devs[i].id);
			scan(phase, where, s, strlen(s), NULL);
			free(s);
			plain_msgs++;
		}
	}
	int sms_bodies = 0;
	struct fp_msg m;
	for (size_t i = 0; fp_get(fp, i, &m); i++) {
		char where[128];
		snprintf(where, sizeof(where), "SMS #%zu to %s", i, m.to);
		scan(phase, where, m.text, strlen(m.text), NULL);
		scan(phase, where, m.callback_url, strlen(m.callback_url), NULL);
		sms_bodies++;
	}
	HX_CHECK(sms_bodies >= 2, "only %d SMS sent", sms_bodies);
	scan_call(phase, c1, "hotline call 1");
	scan_call(phase, c2, "hotline call 2");
	for (size_t i = 0; i < placed; i++) {
		struct fv_placed p;
		HX_CHECK(fv_placed_get(fv, i, &p));
		char where[128];
		snprintf(where, sizeof(where), "alert call #%zu to %s (REST request)", i, p.to);
		scan(phase, where, p.url, strlen(p.url), NULL);
		scan(phase, where, p.status_callback, strlen(p.status_callback), NULL);
		snprintf(where, sizeof(where), "alert call #%zu to %s", i, p.to);
		scan_call(phase, fv_placed_call(fv, i), where);
	}
	/* The API's answers without personal data, and the audit trail. */
	r = hx_http(&h, "GET", "/api/v1/tickets?state=all", "test-anna-token", NULL);
	HX_CHECK(r.status == 200);
	scan_answer(phase, "GET /api/v1/tickets", &r);
	hx_resp_free(&r);
	r = hx_http(&h, "GET", "/metrics", NULL, NULL);
	scan_answer(phase, "GET /metrics", &r);
	hx_resp_free(&r);
	char *out = NULL;
	for (int t = 0; t < N_TICKETS; t++) {
		HX_CHECK(hx_ctl(&h, &out, NULL, "--json", "audit", "show", "--ticket", refs[t],
		                NULL) == 0 &&
		             strstr(out, "read.ticket"),
		         "audit show %s: %s", refs[t], out);
		scan(phase, "carelinectl audit show", out, strlen(out), NULL);
		free(out);
	}
	HX_CHECK(hx_ctl(&h, &out, NULL, "tickets", "--all", NULL) == 0, "carelinectl tickets");
	scan(phase, "carelinectl tickets --all", out, strlen(out), NULL);
	free(out);
	phase_done(phase);

	/* The ciphertexts and lookup hashes of these tickets, as stored. */
	collect_blobs();
	int in_files = blobs_found(phase, false);
	printf("  before purge: every one of the %d found in the database files\n", in_files);

	/* --- the purge ------------------------------------------------------------------- */
	HX_CHECK(hx_ctl(&h, &out, NULL, "purge", NULL) == 0, "purge: %s", out);
	char want[64];
	snprintf(want, sizeof(want), "erased %d tickets", N_TICKETS);
	HX_CHECK(strstr(out, want), "purge: %s (want \"%s\")", out, want);
	free(out);
	phase = "after purge";
	for (int t = 0; t < N_TICKETS; t++) {
		json_t *o = worker_reads(t);
		char *s = json_dumps(o, 0);
		char where[96];
		snprintf(where, sizeof(where), "GET /api/v1/tickets/%s after the purge", refs[t]);
		scan(phase, where, s, strlen(s), NULL);
		json_t *rp;
		size_t k;
		json_array_foreach(json_object_get(o, "reports"), k, rp)
		    HX_CHECK(!json_object_get(rp, "text") && !json_object_get(rp, "address") &&
		                 !json_object_get(rp, "callback_phone") &&
		                 !json_object_get(rp, "resident") &&
		                 !json_object_get(json_object_get(rp, "reporter"), "name"),
		             "%s: personal fields after the purge: %s", refs[t], s);
		HX_CHECK(json_array_size(json_object_get(o, "categories")) >= 1 && str(o, "area") &&
		             streq(str(o, "state"), "closed"),
		         "%s: the skeleton is gone: %s", refs[t], s);
		free(s);
		json_decref(o);
		if (rec[t]) {
			char path[128];
			snprintf(path, sizeof(path), "/api/v1/tickets/%s/recordings/%lld", refs[t],
			         rec[t]);
			r = hx_http(&h, "GET", path, "test-anna-token", NULL);
			HX_CHECK(r.status != 200, "%s: the recording is served after the purge",
			         refs[t]);
			scan_answer(phase, path, &r);
			hx_resp_free(&r);
		}
	}
	struct file_scan fs_after = scan_files(phase, true);
	int lingering = blobs_found(phase, true);
	phase_done(phase);
	HX_CHECK(hx_ctl(&h, &out, NULL, "audit", "verify", NULL) == 0 &&
	             strstr(out, "audit chain ok"),
	         "audit verify: %s", out);
	free(out);

	/* --- after a clean stop (the WAL checkpointed into the file) ---------------------- */
	phase = "after stop";
	HX_CHECK(hx_stop_daemon(&h) == 0, "careline did not stop cleanly");
	hx_stop_broker(&h); /* it saves its state on the way out */
	struct file_scan fs_stopped = scan_files(phase, false);
	lingering += blobs_found(phase, true);
	phase_done(phase);

	printf("  scanned: %d+%d+%d files, %d MQTT payloads (%d test inputs skipped), %d plain "
	       "inbox messages, %d SMS sent + %d webhook answers, %d hotline answers and words "
	       "(%zu alert calls), %d API answers; %zu ciphertexts/hashes checked, %d left\n",
	       fs_before.files, fs_after.files, fs_stopped.files, payloads, inputs_skipped,
	       plain_msgs, sms_bodies, sms_answers, voice_scanned, placed, http_scanned, n_blobs,
	       lingering);

	fv_call_free(c1);
	fv_call_free(c2);
	free(audio1);
	free(audio2);
	for (int i = 0; i < D_COUNT; i++) {
		if (devs[i].d)
			hx_device_free(devs[i].d);
		json_decref(devs[i].got);
	}
	hx_device_free(spy);
	hx_stop(&h);
	fp_stop(fp);
	fv_stop(fv);
	for (size_t i = 0; i < n_blobs; i++)
		free(blobs[i].bytes);
	for (size_t i = 0; i < n_inputs; i++)
		free(inputs[i]);
	for (size_t i = 0; i < spy_n; i++) {
		free(spy_msgs[i].topic);
		free(spy_msgs[i].payload);
	}
	printf("24-planted-secrets: ok (%lld ms)\n", (long long)(hx_now_ms() - t0));
	return 0;
}
