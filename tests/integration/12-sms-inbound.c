/*
 * tests/integration/12-sms-inbound.c: texts from the public reach careline
 * through each provider's signed webhook (Twilio, 46elks, GatewayAPI; a fresh
 * daemon each, the fake provider of tests/lib/fakeprov as api_base, public_url
 * https://careline.example.dk). Per provider: a signed text becomes an
 * anonymous ticket and its receipt comes back the provider's way (TwiML
 * <Message>, a 46elks plain body, a GatewayAPI REST send to the sender); a P0
 * text gets the 112 line first; tampered, unsigned, wrongly keyed or wrongly
 * addressed webhooks get 403, make no ticket and are counted in /metrics; a
 * provider's retry of the same message id makes no second ticket; a
 * follow-up joins the ticket; a registered number gives a named ticket and
 * ANONYM an anonymous one; STOP silences replies but still takes reports;
 * HJÆLP answers with help; a stale provider timestamp is refused. Afterwards
 * no anonymous sender's number is in any file of the daemon (database, WAL,
 * shared memory, log).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../lib/fakeprov.h"
#include "../lib/harness.h"

#define PUBLIC_URL "https://careline.example.dk"
#define OUR_NUMBER "+4570203040"

/* Anonymous senders: their national digits must never be stored. */
#define ANON_A "+4531559977" /* first report, retry, follow-up */
#define ANON_B "+4531559911" /* forged webhooks, stale timestamp */
#define ANON_C "+4531559922" /* P0 */
#define ANON_D "+4531559933" /* STOP, then a report */
#define ANON_E "+4531559944" /* HJÆLP */
#define JENS   "+4520000009" /* caretaker jens, gellerupparken */
#define METTE  "+4520000010" /* caretaker mette, toveshoej: ANONYM */

static const char *const anon_numbers[] = {ANON_A, ANON_B, ANON_C, ANON_D, ANON_E};

#define RECEIPT_FMT                                                                                \
	"Tak. Din henvendelse har nummer %s. Vi har tavshedspligt og kan ikke give "               \
	"yderligere besked. Er nogen i fare nu, så ring 112."
#define HELP_TEXT                                                                                  \
	"Skriv hvad du har set og hvor (adresse). Start med ANONYM for at være anonym. STOP: "    \
	"ingen flere svar. Er nogen i fare nu, så ring 112."
#define STOPPED_TEXT "Du får ikke flere beskeder fra os på dette nummer."

static struct hx hs[3];

/* One provider under test. */
struct pv {
	const char *name;
	struct hx *h;
	struct fp *fp;
	char hook[256];  /* careline's inbound URL, as the provider POSTs to it */
	bool rest_reply; /* GatewayAPI: the reply is a REST send, not the webhook body */
	bool has_time;   /* the provider gives a timestamp (replay window) */
};

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static size_t ticket_count(struct hx *h)
{
	struct hx_resp r = hx_admin(h, "GET", "/api/v1/tickets?state=all&limit=10000", NULL);
	HX_CHECK(r.status == 200 && r.json, "GET tickets: %ld %s", r.status, r.body);
	size_t n = json_array_size(json_object_get(r.json, "tickets"));
	hx_resp_free(&r);
	return n;
}

/* A line "name value" of /metrics; -1 when absent. */
static double metric(struct hx *h, const char *name)
{
	struct hx_resp r = hx_http(h, "GET", "/metrics", "test-admin-token", NULL);
	HX_CHECK(r.status == 200 && r.body, "GET /metrics: %ld", r.status);
	double v = -1;
	size_t n = strlen(name);
	for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	hx_resp_free(&r);
	return v;
}

static double auth_failures(struct hx *h)
{
	return metric(h, "careline_sms_total{event=\"auth_failure\"}");
}

/* The text inside TwiML's <Message>, XML entities decoded; NULL when none. */
static char *twiml_message(const char *body)
{
	const char *a = body ? strstr(body, "<Message>") : NULL;
	const char *b = a ? strstr(a, "</Message>") : NULL;
	if (!a || !b)
		return NULL;
	a += strlen("<Message>");
	char *out = malloc((size_t)(b - a) + 1), *o = out;
	static const struct {
		const char *ent, *ch;
	} ents[] = {
	    {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
	while (a < b) {
		size_t i;
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			if (strncmp(a, ents[i].ent, strlen(ents[i].ent)) == 0)
				break;
		if (i < sizeof(ents) / sizeof(ents[0])) {
			*o++ = ents[i].ch[0];
			a += strlen(ents[i].ent);
		} else {
			*o++ = *a++;
		}
	}
	*o = '\0';
	return out;
}

/* The ref in "... har nummer K7FQ2. ..." or "... henvendelse K7FQ2." */
static bool ref_after(const char *text, const char *marker, char ref[16])
{
	const char *p = text ? strstr(text, marker) : NULL;
	if (!p)
		return false;
	p += strlen(marker);
	size_t n = 0;
	while (n < 15 && ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
		n++;
	memcpy(ref, p, n);
	ref[n] = '\0';
	return n >= 4 && p[n] == '.';
}

struct sent {
	int status;
	char *reply; /* what the sender's phone gets back: "" when nothing */
	char *body;  /* the webhook answer */
};

static void sent_free(struct sent *s)
{
	free(s->reply);
	free(s->body);
}

/* The provider delivers a text from `from`. expect_reply tells how long to
 * wait for a GatewayAPI REST reply (there is no other sign of "none"). */
static struct sent text_in_ex(struct pv *v, const char *from, const char *msg_id, const char *text,
                              unsigned flags, int64_t sent_unix, bool expect_reply)
{
	struct sent s = {0};
	size_t before = fp_count(v->fp);
	struct fp_param extra[] = {{"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"}};
	struct fp_inbound in = {
	    .careline_url = v->hook,
	    .public_url = PUBLIC_URL,
	    .msg_id = msg_id,
	    .from = from,
	    .to = OUR_NUMBER,
	    .text = text,
	    .flags = flags,
	    /* Twilio: an unknown field, signed with the rest, must be ignored. */
	    .extra = streq(v->name, "twilio") ? extra : NULL,
	    .n_extra = streq(v->name, "twilio") ? 1 : 0,
	    .sent_unix = sent_unix,
	};
	char *ctype = NULL;
	s.status = fp_post_inbound_ex(v->fp, &in, &s.body, &ctype);
	if (s.status >= 200 && s.status < 300) {
		if (streq(v->name, "twilio")) {
			HX_CHECK(ctype && strstr(ctype, "xml"), "TwiML content type: %s", ctype);
			HX_CHECK(s.body && strstr(s.body, "<Response>"), "not TwiML: %s", s.body);
			s.reply = twiml_message(s.body);
		} else if (streq(v->name, "46elks")) {
			HX_CHECK(ctype && strncmp(ctype, "text/plain", 10) == 0,
			         "46elks content type: %s", ctype);
			s.reply = strdup(s.body ? s.body : "");
		} else {
			/* GatewayAPI: the webhook answer carries no text ... */
			HX_CHECK(!s.body ||
			             (!strstr(s.body, "Tak") && !strstr(s.body, "112") &&
			              !strstr(s.body, "Skriv") && !strstr(s.body, "beskeder")),
			         "GatewayAPI webhook answer carries text: %s", s.body);
			/* ... the reply is a REST send to the sender's number. */
			if (expect_reply) {
				HX_CHECK(fp_wait(v->fp, before + 1, 5000),
				         "GatewayAPI: no reply sent for \"%s\"", text);
				struct fp_msg m;
				fp_get(v->fp, before, &m);
				HX_CHECK(streq(m.to, from + 1), "reply to %s, not %s", m.to,
				         from + 1);
				s.reply = strdup(m.text);
			} else {
				hx_sleep_ms(600);
			}
			HX_CHECK(fp_count(v->fp) == before + (expect_reply ? 1u : 0u),
			         "GatewayAPI: %zu sends for one text", fp_count(v->fp) - before);
		}
		if (!s.reply)
			s.reply = strdup("");
	}
	free(ctype);
	return s;
}

static struct sent text_in(struct pv *v, const char *from, const char *text)
{
	return text_in_ex(v, from, NULL, text, 0, 0, true);
}

/* Every file in dir: none may hold any anonymous number (national digits). */
static void check_no_numbers(struct hx *h, const char *when)
{
	DIR *d = opendir(h->dir);
	HX_CHECK(d, "opendir %s", h->dir);
	int files = 0;
	bool saw_db = false, saw_log = false, saw_wal = false, saw_jens = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", h->dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		size_t len;
		char *buf = hx_read_file(path, &len);
		if (!buf)
			continue;
		files++;
		saw_db |= streq(e->d_name, "careline.db");
		saw_wal |= streq(e->d_name, "careline.db-wal");
		saw_log |= streq(e->d_name, "careline.log");
		for (size_t i = 0; i < sizeof(anon_numbers) / sizeof(anon_numbers[0]); i++) {
			const char *digits = anon_numbers[i] + 3; /* without +45 */
			HX_CHECK(!memmem(buf, len, digits, strlen(digits)),
			         "%s: anonymous number %s found in %s", when, anon_numbers[i],
			         e->d_name);
		}
		/* The scan works: the configured staff number is in the config. */
		saw_jens |= memmem(buf, len, JENS + 3, strlen(JENS + 3)) != NULL;
		free(buf);
	}
	closedir(d);
	HX_CHECK(saw_db && saw_log && files >= 3, "%s: only %d files scanned", when, files);
	HX_CHECK(saw_jens, "%s: the scan did not even find the configured number", when);
	printf("  %s: %d files scanned, no anonymous number%s\n", when, files,
	       saw_wal ? " (WAL included)" : "");
}

static void check_forged(struct pv *v, unsigned flags, const char *what)
{
	size_t n0 = ticket_count(v->h);
	double f0 = auth_failures(v->h);
	struct sent s =
	    text_in_ex(v, ANON_B, NULL, "Der råber nogen i opgangen i Vestergade 14, 8000 Aarhus C",
	               flags, 0, false);
	HX_CHECK(s.status == 403, "%s %s: status %d, body %s", v->name, what, s.status, s.body);
	HX_CHECK(ticket_count(v->h) == n0, "%s %s: a ticket was made", v->name, what);
	double f1 = auth_failures(v->h);
	HX_CHECK(f1 == f0 + 1, "%s %s: auth_failure %g -> %g", v->name, what, f0, f1);
	sent_free(&s);
}

static void run_provider(int idx, const char *name)
{
	int64_t t0 = hx_now_ms();
	struct hx *h = &hs[idx];
	struct pv v = {.name = name, .h = h};
	v.rest_reply = streq(name, "gatewayapi");
	v.has_time = !streq(name, "twilio");
	char sms[1024];
	if (streq(name, "twilio")) {
		v.fp = fp_start("twilio", "AC0123456789abcdef0123456789abcdef",
		                "twilio-auth-token-0123456789");
		snprintf(sms, sizeof(sms),
		         "account = AC0123456789abcdef0123456789abcdef\n"
		         "secret = twilio-auth-token-0123456789\n");
	} else if (streq(name, "46elks")) {
		v.fp = fp_start("46elks", "u0123456789abcdef0123456789abcdef",
		                "elks-api-password-0123");
		fp_set_hook_auth(v.fp, "careline", "elks-hook-password-4567");
		snprintf(sms, sizeof(sms),
		         "account = u0123456789abcdef0123456789abcdef\n"
		         "secret = elks-api-password-0123\n"
		         "hook_path_secret = Xk9hookpath7Q\n"
		         "hook_user = careline\n"
		         "hook_password = elks-hook-password-4567\n");
	} else {
		v.fp = fp_start("gatewayapi", NULL, "gwapi-rest-token-0123456789");
		fp_set_webhook_secret(v.fp, "gwapi-webhook-secret-0123");
		snprintf(sms, sizeof(sms),
		         "secret = gwapi-rest-token-0123456789\n"
		         "webhook_secret = gwapi-webhook-secret-0123\n");
	}
	hx_start_broker(h);
	snprintf(h->extra_config, sizeof(h->extra_config),
	         "[sms]\nprovider = %s\npublic_url = %s\napi_base = %s\nfrom = %s\n"
	         "replay_window = 600\n%s"
	         "[person jens]\nphone = %s\nname = Jens Hansen\n"
	         "[person mette]\nrole = caretaker\nestate = toveshoej\nphone = %s\n",
	         name, PUBLIC_URL, fp_base_url(v.fp), OUR_NUMBER, sms, JENS, METTE);
	hx_start_daemon(h, NULL);
	if (streq(name, "46elks"))
		snprintf(v.hook, sizeof(v.hook),
		         "http://127.0.0.1:%d/hooks/46elks/Xk9hookpath7Q/sms", h->http_port);
	else
		snprintf(v.hook, sizeof(v.hook), "http://127.0.0.1:%d/hooks/%s/sms", h->http_port,
		         name);
	HX_CHECK(auth_failures(h) == 0, "%s: auth_failure metric missing or not 0", name);

	/* 1. A signed text from an unknown number: an anonymous ticket, the
	 * receipt back to the sender. */
	char msg_id[64];
	fp_new_message_id(v.fp, msg_id, sizeof(msg_id));
	const char *text1 = "Har ikke set manden i nr. 14 i to uger, postkassen flyder over. "
	                    "Vestergade 14, 8000 Aarhus C";
	struct sent s = text_in_ex(&v, ANON_A, msg_id, text1, 0, 0, true);
	HX_CHECK(s.status == 200, "%s: genuine text: status %d %s", name, s.status, s.body);
	char ref[16];
	HX_CHECK(ref_after(s.reply, "har nummer ", ref), "%s: no ref in the receipt \"%s\"", name,
	         s.reply);
	char want[512];
	snprintf(want, sizeof(want), RECEIPT_FMT, ref);
	HX_CHECK(streq(s.reply, want), "%s: receipt \"%s\"", name, s.reply);
	sent_free(&s);
	json_t *t = hx_ticket(h, ref);
	HX_CHECK(streq(str(t, "kind"), "anonymous"), "%s: kind %s", name, str(t, "kind"));
	json_t *reps = json_object_get(t, "reports");
	HX_CHECK(json_array_size(reps) == 1, "%s: %zu reports", name, json_array_size(reps));
	json_t *rep = json_array_get(reps, 0);
	HX_CHECK(streq(str(rep, "via"), "sms"), "%s: via %s", name, str(rep, "via"));
	HX_CHECK(json_is_true(json_object_get(rep, "anonymous")), "%s: report not anonymous", name);
	HX_CHECK(streq(str(rep, "text"), text1), "%s: stored text \"%s\"", name, str(rep, "text"));
	HX_CHECK(!json_object_get(rep, "reporter") && !json_object_get(rep, "callback_phone"),
	         "%s: an anonymous report has reporter data", name);
	json_decref(t);
	size_t n_tickets = ticket_count(h);
	HX_CHECK(n_tickets == 1, "%s: %zu tickets after one text", name, n_tickets);

	/* 2. The provider retries the same message: same answer, no second ticket
	 * (and GatewayAPI sends no second receipt). */
	s = text_in_ex(&v, ANON_A, msg_id, text1, 0, 0, !v.rest_reply);
	HX_CHECK(s.status == 200, "%s: retry: status %d", name, s.status);
	if (!v.rest_reply) {
		char ref2[16];
		HX_CHECK(ref_after(s.reply, "har nummer ", ref2) && streq(ref2, ref),
		         "%s: the retry's receipt \"%s\" is not for %s", name, s.reply, ref);
	}
	HX_CHECK(ticket_count(h) == 1, "%s: the retry made a ticket", name);
	sent_free(&s);

	/* 3. Forged webhooks: 403, no ticket, counted. */
	check_forged(&v, FP_TAMPER_SIGNATURE, "tampered signature");
	check_forged(&v, FP_WRONG_SECRET, "wrong secret");
	check_forged(&v, FP_NO_SIGNATURE, "missing signature");
	if (!streq(name, "46elks")) /* 46elks signs nothing: only its auth can be wrong */
		check_forged(&v, FP_TAMPER_BODY, "tampered body");
	if (!streq(name, "gatewayapi"))
		check_forged(&v, FP_WRONG_URL, "wrong URL");
	else
		check_forged(&v, FP_JWT_ALG_NONE, "alg none");

	/* 4. Danger now: the 112 line comes first. */
	s = text_in(&v, ANON_C, "Hun truer med en kniv nede i gården lige nu!!");
	HX_CHECK(s.status == 200, "%s: P0 text: status %d", name, s.status);
	const char *line112 = "Er nogen i fare nu, så ring 112. ";
	HX_CHECK(strncmp(s.reply, line112, strlen(line112)) == 0,
	         "%s: the P0 reply does not start with the 112 line: \"%s\"", name, s.reply);
	char p0ref[16];
	HX_CHECK(ref_after(s.reply, "har nummer ", p0ref), "%s: P0 reply has no ref: %s", name,
	         s.reply);
	t = hx_ticket(h, p0ref);
	HX_CHECK(streq(str(t, "urgency"), "P0"), "%s: P0 text became %s", name, str(t, "urgency"));
	json_decref(t);
	sent_free(&s);

	/* 5. A second text from the first number within the window: a follow-up. */
	s = text_in(&v, ANON_A, "Der står stadig aviser i døren og lyset er tændt");
	HX_CHECK(s.status == 200, "%s: follow-up: status %d", name, s.status);
	snprintf(want, sizeof(want), "Tak. Vi har føjet det til henvendelse %s.", ref);
	HX_CHECK(streq(s.reply, want), "%s: follow-up reply \"%s\" (want \"%s\")", name, s.reply,
	         want);
	sent_free(&s);
	t = hx_ticket(h, ref);
	HX_CHECK(json_array_size(json_object_get(t, "reports")) == 2,
	         "%s: the follow-up is not on %s", name, ref);
	json_decref(t);
	HX_CHECK(ticket_count(h) == 2, "%s: %zu tickets (2 expected)", name, ticket_count(h));

	/* 6. A registered caretaker: a named ticket routed by his estate. */
	s = text_in(&v, JENS, "Der lugter meget fra lejligheden ved siden af min kælder, 3. sal");
	HX_CHECK(s.status == 200, "%s: jens: status %d", name, s.status);
	char jref[16];
	HX_CHECK(ref_after(s.reply, "har nummer ", jref), "%s: jens's receipt \"%s\"", name,
	         s.reply);
	sent_free(&s);
	t = hx_ticket(h, jref);
	HX_CHECK(streq(str(t, "kind"), "named"), "%s: jens's ticket is %s", name, str(t, "kind"));
	HX_CHECK(streq(str(t, "area"), "vest"), "%s: jens's ticket in area %s", name,
	         str(t, "area"));
	rep = json_array_get(json_object_get(t, "reports"), 0);
	json_t *who = json_object_get(rep, "reporter");
	HX_CHECK(streq(str(who, "person"), "jens") && streq(str(who, "role"), "caretaker"),
	         "%s: reporter %s/%s", name, str(who, "person"), str(who, "role"));
	HX_CHECK(!json_is_true(json_object_get(rep, "anonymous")), "%s: named report anonymous",
	         name);
	json_decref(t);

	/* 7. ANONYM from a registered number: anonymous after all. */
	s = text_in(&v, METTE, "ANONYM Der er larm hver nat fra nr. 7, 8210 Aarhus V");
	HX_CHECK(s.status == 200, "%s: ANONYM: status %d", name, s.status);
	char mref[16];
	HX_CHECK(ref_after(s.reply, "har nummer ", mref), "%s: ANONYM receipt \"%s\"", name,
	         s.reply);
	sent_free(&s);
	t = hx_ticket(h, mref);
	HX_CHECK(streq(str(t, "kind"), "anonymous"), "%s: ANONYM ticket is %s", name,
	         str(t, "kind"));
	rep = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(json_is_true(json_object_get(rep, "anonymous")) &&
	             !json_object_get(rep, "reporter"),
	         "%s: ANONYM report names its reporter", name);
	json_decref(t);
	/* ... and from jens, right after his named text, it does not join his
	 * named ticket: a new anonymous one, nothing linking the two. */
	s = text_in(&v, JENS, "ANONYM Manden ovenpå råber ad sin kone hver aften");
	HX_CHECK(s.status == 200, "%s: jens ANONYM: status %d", name, s.status);
	char jaref[16];
	HX_CHECK(ref_after(s.reply, "har nummer ", jaref), "%s: jens ANONYM receipt \"%s\"", name,
	         s.reply);
	HX_CHECK(!streq(jaref, jref), "%s: jens's ANONYM text joined his named ticket", name);
	sent_free(&s);
	t = hx_ticket(h, jaref);
	HX_CHECK(streq(str(t, "kind"), "anonymous"), "%s: jens's ANONYM ticket is %s", name,
	         str(t, "kind"));
	json_decref(t);

	/* 8. STOP: confirmed, and from then on no reply texts, yet reports count. */
	size_t before = ticket_count(h);
	s = text_in(&v, ANON_D, "Stop");
	HX_CHECK(s.status == 200, "%s: STOP: status %d", name, s.status);
	HX_CHECK(streq(s.reply, STOPPED_TEXT), "%s: STOP reply \"%s\"", name, s.reply);
	sent_free(&s);
	HX_CHECK(ticket_count(h) == before, "%s: STOP made a ticket", name);
	s = text_in_ex(&v, ANON_D, NULL,
	               "Naboen i nr. 3 har ikke været ude i en uge, 8000 Aarhus C", 0, 0, false);
	HX_CHECK(s.status == 200, "%s: report after STOP: status %d", name, s.status);
	HX_CHECK(s.reply[0] == '\0', "%s: a reply after STOP: \"%s\"", name, s.reply);
	sent_free(&s);
	HX_CHECK(ticket_count(h) == before + 1, "%s: the report after STOP made no ticket", name);

	/* 9. HJÆLP: the help text, no ticket. */
	before = ticket_count(h);
	s = text_in(&v, ANON_E, "Hjælp");
	HX_CHECK(s.status == 200, "%s: HJÆLP: status %d", name, s.status);
	HX_CHECK(streq(s.reply, HELP_TEXT), "%s: help reply \"%s\"", name, s.reply);
	sent_free(&s);
	HX_CHECK(ticket_count(h) == before, "%s: HJÆLP made a ticket", name);

	/* 10. A provider timestamp older than replay_window on a new id. */
	if (v.has_time) {
		double f0 = auth_failures(h);
		s = text_in_ex(&v, ANON_B, NULL, "Der er røg i opgangen i Vestergade 20, 8000", 0,
		               (int64_t)time(NULL) - 3600, false);
		HX_CHECK(s.status == 403, "%s: stale text: status %d", name, s.status);
		HX_CHECK(ticket_count(h) == before, "%s: the stale text made a ticket", name);
		HX_CHECK(auth_failures(h) == f0 + 1, "%s: stale text not counted", name);
		sent_free(&s);
		/* Within the window: accepted. */
		s = text_in_ex(&v, ANON_B, NULL, "Der er røg i opgangen i Vestergade 20, 8000", 0,
		               (int64_t)time(NULL) - 300, true);
		HX_CHECK(s.status == 200, "%s: a 5-minute-old text: status %d", name, s.status);
		sent_free(&s);
		HX_CHECK(ticket_count(h) == before + 1, "%s: 5-minute-old text: no ticket", name);
	}

	/* 11. No anonymous number anywhere: while running, and after a stop. */
	check_no_numbers(h, "running");
	int st = hx_stop_daemon(h);
	HX_CHECK(st == 0, "%s: careline exit status %d", name, st);
	check_no_numbers(h, "stopped");
	hx_stop(h);
	fp_stop(v.fp);
	printf("%s: ok (%lld ms)\n", name, (long long)(hx_now_ms() - t0));
}

int main(void)
{
	hx_watchdog(120);
	int64_t t_start = hx_now_ms();
	run_provider(0, "twilio");
	run_provider(1, "46elks");
	run_provider(2, "gatewayapi");
	printf("12-sms-inbound: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
