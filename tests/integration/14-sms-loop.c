/*
 * tests/integration/14-sms-loop.c: the whole loop by SMS only (Twilio fake,
 * no MQTT device connected). A neighbour texts a concern and gets a receipt;
 * the on-call worker and the back-up (policy: both at the first step) get the
 * alert with their own reply codes; the on-call worker answers "<code>a" and
 * the ticket is acknowledged by them (the API says so; the back-up is told by
 * SMS); the same answer again says "allerede kvitteret"; "<code>t" takes it,
 * and the back-up's "<code>a" is told who has it; an unknown code gets the
 * short help; on a second ticket "a" alone acknowledges the one open alert
 * and "c" alone closes it; a staff number's text that is no command is a
 * named report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fakeprov.h"
#include "../lib/harness.h"

#define PUBLIC_URL "https://careline.example.dk"
#define OUR_NUMBER "+4570203040"
#define NEIGHBOUR1 "+4531550001"
#define NEIGHBOUR2 "+4531550002"

static struct hx h;
static struct fp *fp;
static char hook[256];

static const struct {
	const char *id, *phone, *name;
} staff[] = {
    {"anna", "+4520000001", "Anna Holm"},
    {"bo", "+4520000002", "Bo Berg"},
    {"carl", "+4520000003", "Carl Dahl"},
};

static int staff_of(const char *id)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(staff[i].id, id) == 0)
			return i;
	hx_fail("unknown staff %s", id);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* TwiML's <Message> text, entities decoded; "" when there is none. */
static char *twiml_message(const char *body)
{
	const char *a = body ? strstr(body, "<Message>") : NULL;
	const char *b = a ? strstr(a, "</Message>") : NULL;
	if (!a || !b)
		return strdup("");
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

/* A text from `from`; returns the reply careline gives in the webhook. */
static char *text_in(const char *from, const char *text)
{
	char *body = NULL;
	int st = fp_post_inbound(fp, hook, PUBLIC_URL, NULL, from, OUR_NUMBER, text, &body, NULL);
	HX_CHECK(st == 200, "text \"%s\": status %d %s", text, st, body);
	char *reply = twiml_message(body);
	free(body);
	printf("  %s: \"%s\" -> \"%s\"\n", from, text, reply);
	return reply;
}

static void expect_reply(const char *from, const char *text, const char *want)
{
	char *reply = text_in(from, text);
	HX_CHECK(streq(reply, want), "\"%s\" from %s: reply \"%s\", want \"%s\"", text, from, reply,
	         want);
	free(reply);
}

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

/* A neighbour's text; returns the ticket ref from the receipt. */
static void neighbour(const char *from, const char *text, char ref[16])
{
	char *reply = text_in(from, text);
	HX_CHECK(ref_after(reply, "har nummer ", ref), "no receipt: \"%s\"", reply);
	free(reply);
}

/* Wait for a text to phone holding `needle`; copies it to out. */
static bool wait_text(const char *phone, const char *needle, int timeout_ms, struct fp_msg *out)
{
	int64_t end = hx_now_ms() + timeout_ms;
	for (;;) {
		struct fp_msg m;
		for (size_t i = 0; fp_get(fp, i, &m); i++)
			if (streq(m.to, phone) && strstr(m.text, needle)) {
				*out = m;
				return true;
			}
		if (hx_now_ms() >= end)
			return false;
		hx_sleep_ms(10);
	}
}

/* The alert for ref at phone; returns its reply code. */
static int alert_code(const char *phone, const char *ref)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "Ny henvendelse %s", ref);
	struct fp_msg m;
	HX_CHECK(wait_text(phone, needle, 5000, &m), "no alert for %s at %s", ref, phone);
	int code = 0;
	const char *svar = strstr(m.text, "Svar ");
	HX_CHECK(svar && sscanf(svar, "Svar %d", &code) == 1 && code > 0, "no code in \"%s\"",
	         m.text);
	return code;
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	fp = fp_start("twilio", "AC0123456789abcdef0123456789abcdef",
	              "twilio-auth-token-0123456789");
	hx_start_broker(&h);
	int n = snprintf(h.extra_config, sizeof(h.extra_config),
	                 "[sms]\nprovider = twilio\npublic_url = %s\napi_base = %s\nfrom = %s\n"
	                 "account = AC0123456789abcdef0123456789abcdef\n"
	                 "secret = twilio-auth-token-0123456789\n"
	                 "staff_gap = 0\nstaff_burst_window = 0\n"
	                 "[policy both]\nstep = primary,backup 60\nrepeat = 0\nfinal = lead 60\n"
	                 "[team opsoegende]\npolicy = both\n",
	                 PUBLIC_URL, fp_base_url(fp), OUR_NUMBER);
	for (int i = 0; i < 3; i++)
		n += snprintf(h.extra_config + n, sizeof(h.extra_config) - (size_t)n,
		              "[person %s]\nphone = %s\nname = %s\n", staff[i].id, staff[i].phone,
		              staff[i].name);
	hx_start_daemon(&h, NULL);
	snprintf(hook, sizeof(hook), "http://127.0.0.1:%d/hooks/twilio/sms", h.http_port);
	char primary_id[48], backup_id[48];
	hx_oncall(&h, "opsoegende", primary_id, sizeof(primary_id), backup_id, sizeof(backup_id));
	int P = staff_of(primary_id), B = staff_of(backup_id);
	printf("on call: %s, back-up %s\n", primary_id, backup_id);
	char want[512];

	/* A neighbour texts; both get the alert with their own code. */
	char r1[16];
	neighbour(NEIGHBOUR1,
	          "Har ikke set manden i nr. 14 i to uger, postkassen flyder over. "
	          "Vestergade 14, 8000 Aarhus C",
	          r1);
	int cp = alert_code(staff[P].phone, r1);
	int cb = alert_code(staff[B].phone, r1);

	/* "<code>a" from the on-call phone: acknowledged by that person. */
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "%da", cp);
	snprintf(want, sizeof(want),
	         "%s er kvitteret af dig. Tag sagen i appen, ellers kommer den tilbage.", r1);
	expect_reply(staff[P].phone, cmd, want);
	json_t *t = hx_ticket(&h, r1);
	HX_CHECK(streq(str(t, "state"), "acknowledged") && streq(str(t, "acked_by"), primary_id),
	         "after %s: state %s acked_by %s", cmd, str(t, "state"), str(t, "acked_by"));
	HX_CHECK(hx_ticket_has_event(t, "ack"), "no ack event");
	json_decref(t);
	/* The back-up is told by SMS who acknowledged. */
	snprintf(want, sizeof(want), "%s er kvitteret af %s.", r1, staff[P].name);
	struct fp_msg m;
	HX_CHECK(wait_text(staff[B].phone, want, 5000, &m), "the back-up was not told \"%s\"",
	         want);

	/* The same answer again: already. */
	snprintf(want, sizeof(want), "%s er allerede kvitteret af %s.", r1, staff[P].name);
	expect_reply(staff[P].phone, cmd, want);

	/* The on-call worker takes it; the back-up's answer is told who has it. */
	snprintf(cmd, sizeof(cmd), "%d t", cp);
	snprintf(want, sizeof(want), "%s er din nu.", r1);
	expect_reply(staff[P].phone, cmd, want);
	t = hx_ticket(&h, r1);
	HX_CHECK(streq(str(t, "state"), "taken") && streq(str(t, "taken_by"), primary_id),
	         "after take: state %s taken_by %s", str(t, "state"), str(t, "taken_by"));
	json_decref(t);
	snprintf(cmd, sizeof(cmd), "%dA", cb);
	snprintf(want, sizeof(want), "%s er allerede taget af %s.", r1, staff[P].name);
	expect_reply(staff[B].phone, cmd, want);
	t = hx_ticket(&h, r1);
	HX_CHECK(streq(str(t, "taken_by"), primary_id) && !streq(str(t, "acked_by"), backup_id),
	         "the back-up's late answer changed the ticket");
	json_decref(t);

	/* An unknown code: the short help. */
	expect_reply(staff[P].phone, "12a",
	             "Ukendt kode. Svar med koden fra beskeden, fx 12a (kvitter), 12e (send "
	             "videre), 12c (luk).");

	/* A second ticket: "a" alone acknowledges the one open alert, "c" closes it. */
	char r2[16];
	neighbour(NEIGHBOUR2, "Der er larm og råben hver nat fra 2. sal, Vestergade 30, 8000", r2);
	HX_CHECK(!streq(r1, r2), "the second text joined the first ticket");
	alert_code(staff[P].phone, r2);
	snprintf(want, sizeof(want),
	         "%s er kvitteret af dig. Tag sagen i appen, ellers kommer den tilbage.", r2);
	expect_reply(staff[P].phone, "a", want);
	t = hx_ticket(&h, r2);
	HX_CHECK(streq(str(t, "acked_by"), primary_id), "\"a\": acked_by %s", str(t, "acked_by"));
	json_decref(t);
	snprintf(want, sizeof(want), "%s er lukket.", r2);
	expect_reply(staff[P].phone, "c", want);
	t = hx_ticket(&h, r2);
	HX_CHECK(streq(str(t, "state"), "closed") &&
	             streq(str(t, "closed_reason"), "handed_over:other"),
	         "\"c\": state %s reason %s", str(t, "state"), str(t, "closed_reason"));
	json_decref(t);
	/* Nothing open for the on-call phone now. */
	expect_reply(staff[P].phone, "ok", "Du har ingen åbne henvendelser.");

	/* A staff number's text that is no command: a named report. */
	char r3[16];
	neighbour(staff[B].phone, "Der løber vand ud under døren i Vestergade 3, 8000 Aarhus C",
	          r3);
	t = hx_ticket(&h, r3);
	HX_CHECK(streq(str(t, "kind"), "named"), "staff report is %s", str(t, "kind"));
	json_t *who = json_object_get(json_array_get(json_object_get(t, "reports"), 0), "reporter");
	HX_CHECK(streq(str(who, "person"), backup_id), "staff report by %s", str(who, "person"));
	json_decref(t);

	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d", st);
	hx_stop(&h);
	fp_stop(fp);
	printf("14-sms-loop: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
