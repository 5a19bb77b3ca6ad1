/*
 * tests/integration/13-sms-outbound.c: alerts to on-call staff by SMS, seen at
 * the fake provider (tests/lib/fakeprov). With phones for anna, bo and carl:
 *  - per provider (Twilio, 46elks, GatewayAPI): the on-call phone gets the
 *    alert (ref, urgency, area, "Svar <code>a"; no report text or address;
 *    GSM-7, one segment, by the fake's own count), its delivery report
 *    updates the notification row; a permanent refusal (unsubscribed) is not
 *    retried, blocks that phone and the escalation goes on to the back-up's
 *    phone, whose "undelivered" report is recorded with its error code; a
 *    forged delivery report gets 403 and changes nothing;
 *  - 46elks: the provider answers 500 three times, then recovers: the alert
 *    is delivered exactly once, with nothing more afterwards;
 *  - Twilio: several tickets in a row for one phone with staff_gap = 2: the
 *    first goes alone, the others come as one bundle text with every ref; a
 *    staff_burst above what the sender tracks (16) is refused at start.
 * Notification rows are read with SQLite, read-only.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fakeprov.h"
#include "../lib/harness.h"

#define PUBLIC_URL "https://careline.example.dk"
#define OUR_NUMBER "+4570203040"

static struct hx hs[5];

static const char *const staff_cfg = "[person anna]\nphone = +4520000001\nname = Anna\n"
                                     "[person bo]\nphone = +4520000002\nname = Bo\n"
                                     "[person carl]\nphone = +4520000003\nname = Carl\n";

static const char *phone_of(const char *person)
{
	if (strcmp(person, "anna") == 0)
		return "+4520000001";
	if (strcmp(person, "bo") == 0)
		return "+4520000002";
	if (strcmp(person, "carl") == 0)
		return "+4520000003";
	hx_fail("no phone for %s", person);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Same number, with or without '+' (GatewayAPI's msisdn has none). */
static bool same_number(const char *a, const char *b)
{
	return streq(a[0] == '+' ? a + 1 : a, b[0] == '+' ? b + 1 : b);
}

/* --- the fake provider and careline's [sms] section for it -------------------- */

struct setup {
	const char *name;
	struct hx *h;
	struct fp *fp;
	char status_url[256]; /* what careline must give as callback */
};

static void start(struct setup *s, struct hx *h, const char *name, const char *more_config)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->h = h;
	char sms[512];
	if (streq(name, "twilio")) {
		s->fp = fp_start("twilio", "AC0123456789abcdef0123456789abcdef",
		                 "twilio-auth-token-0123456789");
		snprintf(sms, sizeof(sms),
		         "account = AC0123456789abcdef0123456789abcdef\n"
		         "secret = twilio-auth-token-0123456789\n");
		snprintf(s->status_url, sizeof(s->status_url), "%s/hooks/twilio/status",
		         PUBLIC_URL);
	} else if (streq(name, "46elks")) {
		s->fp = fp_start("46elks", "u0123456789abcdef0123456789abcdef",
		                 "elks-api-password-0123");
		fp_set_hook_auth(s->fp, "careline", "elks-hook-password-4567");
		snprintf(sms, sizeof(sms),
		         "account = u0123456789abcdef0123456789abcdef\n"
		         "secret = elks-api-password-0123\n"
		         "hook_path_secret = Xk9hookpath7Q\n"
		         "hook_user = careline\n"
		         "hook_password = elks-hook-password-4567\n");
		snprintf(s->status_url, sizeof(s->status_url),
		         "%s/hooks/46elks/Xk9hookpath7Q/status", PUBLIC_URL);
	} else {
		s->fp = fp_start("gatewayapi", NULL, "gwapi-rest-token-0123456789");
		fp_set_webhook_secret(s->fp, "gwapi-webhook-secret-0123");
		snprintf(sms, sizeof(sms),
		         "secret = gwapi-rest-token-0123456789\n"
		         "webhook_secret = gwapi-webhook-secret-0123\n");
		snprintf(s->status_url, sizeof(s->status_url), "%s/hooks/gatewayapi/status",
		         PUBLIC_URL);
	}
	hx_start_broker(h);
	snprintf(h->extra_config, sizeof(h->extra_config),
	         "[sms]\nprovider = %s\npublic_url = %s\napi_base = %s\nfrom = %s\n%s%s%s", name,
	         PUBLIC_URL, fp_base_url(s->fp), OUR_NUMBER, sms, staff_cfg, more_config);
	hx_start_daemon(h, NULL);
	/* The provider reaches careline's public URL through a "proxy": here. */
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", h->http_port);
	fp_set_webhook_target(s->fp, base);
}

static void finish(struct setup *s)
{
	int st = hx_stop_daemon(s->h);
	HX_CHECK(st == 0, "%s: careline exit status %d", s->name, st);
	hx_stop(s->h);
	fp_stop(s->fp);
}

/* --- reports, messages, rows ------------------------------------------------------ */

/* A P1 report in Centrum (8000); returns its ref in ref[16]. */
static void report(struct hx *h, int n, char ref[16])
{
	char rid[37], text[256];
	hx_uuid(rid);
	snprintf(text, sizeof(text),
	         "Har ikke set manden i nr. %d i to uger, postkassen flyder over. "
	         "Vestergade %d, 8000 Aarhus C",
	         n, n);
	char *body = hx_report_json(rid, text);
	struct hx_resp r = hx_http(h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "POST report: %ld %s", r.status, r.body);
	HX_CHECK(streq(str(r.json, "urgency"), "P1"), "report %d is %s", n, str(r.json, "urgency"));
	snprintf(ref, 16, "%s", str(r.json, "ticket"));
	hx_resp_free(&r);
}

/* Messages to `to` whose text holds ref (NULL: any), from index 0. */
static size_t count_to(struct fp *fp, const char *to, const char *ref)
{
	size_t n = 0;
	struct fp_msg m;
	for (size_t i = 0; fp_get(fp, i, &m); i++)
		if (same_number(m.to, to) && (!ref || strstr(m.text, ref)))
			n++;
	return n;
}

/* Wait for the k-th (0-based) message to `to` holding ref; its index, or -1. */
static long wait_msg(struct fp *fp, const char *to, const char *ref, size_t k, int timeout_ms,
                     struct fp_msg *out)
{
	int64_t end = hx_now_ms() + timeout_ms;
	for (;;) {
		size_t seen = 0;
		struct fp_msg m;
		for (size_t i = 0; fp_get(fp, i, &m); i++)
			if (same_number(m.to, to) && (!ref || strstr(m.text, ref)) && seen++ == k) {
				if (out)
					*out = m;
				return (long)i;
			}
		if (hx_now_ms() >= end)
			return -1;
		hx_sleep_ms(10);
	}
}

static sqlite3 *db_open(struct hx *h)
{
	char uri[400];
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", h->db_path);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	HX_CHECK(rc == SQLITE_OK, "open %s read-only: %s", h->db_path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* The first row of sql (parameters: text, text) as up to 4 text columns
 * ("" for NULL, "-" when there is no row). */
struct row {
	char c[4][128];
};
static struct row db_row(struct hx *h, const char *sql, const char *p1, const char *p2)
{
	struct row r;
	for (int i = 0; i < 4; i++)
		snprintf(r.c[i], sizeof(r.c[i]), "-");
	sqlite3 *db = db_open(h);
	sqlite3_stmt *st = NULL;
	HX_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	         sqlite3_errmsg(db));
	if (p1)
		sqlite3_bind_text(st, 1, p1, -1, SQLITE_TRANSIENT);
	if (p2)
		sqlite3_bind_text(st, 2, p2, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	HX_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
	if (rc == SQLITE_ROW)
		for (int i = 0; i < sqlite3_column_count(st) && i < 4; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);
			snprintf(r.c[i], sizeof(r.c[i]), "%s", v ? (const char *)v : "");
		}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* Delivery and provider error of the SMS row careline sent as provider_id,
 * once the send's outcome is stored (polls up to 3 s for the id). */
static struct row delivery_row(struct hx *h, const char *provider_id)
{
	const char *sql = "SELECT coalesce(delivery, ''), coalesce(provider_error, ''), state, "
	                  "person FROM notification WHERE channel = 'sms' AND provider_id = ?1";
	int64_t end = hx_now_ms() + 3000;
	struct row r;
	while (strcmp((r = db_row(h, sql, provider_id, NULL)).c[0], "-") == 0 && hx_now_ms() < end)
		hx_sleep_ms(20);
	return r;
}

/* The SMS notification row of person for ticket ref. */
static struct row sms_row(struct hx *h, const char *ref, const char *person)
{
	return db_row(h,
	              "SELECT n.state, coalesce(n.last_error, ''), n.attempts, "
	              "coalesce(n.delivery, '') FROM notification n JOIN ticket t ON "
	              "t.id = n.ticket_id WHERE t.ref = ?1 AND n.person = ?2 AND n.channel = "
	              "'sms' ORDER BY n.id LIMIT 1",
	              ref, person);
}

static void ack(struct hx *h, const char *ref, const char *by)
{
	char path[128], body[64];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/ack", ref);
	snprintf(body, sizeof(body), "{\"by\": \"%s\"}", by);
	struct hx_resp r = hx_admin(h, "POST", path, body);
	HX_CHECK(r.status == 200, "ack %s as %s: %ld %s", ref, by, r.status, r.body);
	hx_resp_free(&r);
}

/* The alert for ref as the on-call phone reads it. */
static void check_alert_text(const char *prov, const struct fp_msg *m, const char *ref)
{
	HX_CHECK(strstr(m->text, ref), "%s: alert without its ref: %s", prov, m->text);
	HX_CHECK(strstr(m->text, "P1") && strstr(m->text, "Centrum"),
	         "%s: alert without urgency or area: %s", prov, m->text);
	const char *svar = strstr(m->text, "Svar ");
	int code = 0;
	char action = 0;
	HX_CHECK(svar && sscanf(svar, "Svar %d%c", &code, &action) == 2 && code > 0 &&
	             action == 'a',
	         "%s: no \"Svar <code>a\" in %s", prov, m->text);
	/* No personal data: not the report text, not the address. */
	static const char *const banned[] = {"Vestergade", "postkassen", "manden", "8000",
	                                     "Aarhus"};
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		HX_CHECK(!strstr(m->text, banned[i]), "%s: alert carries \"%s\": %s", prov,
		         banned[i], m->text);
	HX_CHECK(m->gsm7, "%s: the alert is not GSM-7: %s", prov, m->text);
	HX_CHECK(m->segments == 1, "%s: the alert takes %d segments (%d units): %s", prov,
	         m->segments, m->units, m->text);
}

/* --- per provider: alert, delivery report, permanent refusal, escalation ------- */

static void run_basic(int idx, const char *prov)
{
	int64_t t0 = hx_now_ms();
	struct setup s;
	start(&s, &hs[idx], prov,
	      "[policy sms]\nstep = primary 1\nrepeat = 0\nfinal = backup 30\n"
	      "[team opsoegende]\npolicy = sms\n"
	      "[sms]\nstaff_gap = 0\nstaff_burst_window = 0\n");
	struct hx *h = s.h;
	char primary[48], backup[48];
	hx_oncall(h, "opsoegende", primary, sizeof(primary), backup, sizeof(backup));
	HX_CHECK(streq(backup, "carl"), "back-up %s", backup);

	/* The on-call phone gets the alert. */
	char ref1[16];
	report(h, 14, ref1);
	struct fp_msg m;
	long i = wait_msg(s.fp, phone_of(primary), ref1, 0, 5000, &m);
	HX_CHECK(i >= 0, "%s: no alert for %s at %s's phone", prov, ref1, primary);
	check_alert_text(prov, &m, ref1);
	HX_CHECK(streq(m.callback_url, s.status_url), "%s: status callback %s, want %s", prov,
	         m.callback_url, s.status_url);
	HX_CHECK(streq(prov, "gatewayapi")
	             ? streq(m.from, "4570203040") || streq(m.from, OUR_NUMBER)
	             : streq(m.from, OUR_NUMBER),
	         "%s: from %s", prov, m.from);
	/* Its delivery report reaches the row. */
	struct row r = delivery_row(h, m.id);
	HX_CHECK(strcmp(r.c[0], "-") != 0, "%s: no row with provider id %s", prov, m.id);
	HX_CHECK(streq(r.c[3], primary) && streq(r.c[2], "sent"), "%s: row %s/%s", prov, r.c[3],
	         r.c[2]);
	int st = fp_send_status(s.fp, (size_t)i,
	                        streq(prov, "gatewayapi") ? "DELIVERED" : "delivered", NULL, NULL);
	HX_CHECK(st == 200, "%s: delivery report answered %d", prov, st);
	r = delivery_row(h, m.id);
	HX_CHECK(streq(r.c[0], "delivered") && streq(r.c[1], ""), "%s: delivery %s error %s", prov,
	         r.c[0], r.c[1]);
	/* A forged report changes nothing. */
	st = fp_send_status_ex(s.fp, (size_t)i,
	                       streq(prov, "gatewayapi") ? "UNDELIVERABLE" : "failed", "30008",
	                       NULL, FP_TAMPER_SIGNATURE);
	HX_CHECK(st == 403, "%s: forged delivery report answered %d", prov, st);
	r = delivery_row(h, m.id);
	HX_CHECK(streq(r.c[0], "delivered"), "%s: a forged report changed delivery to %s", prov,
	         r.c[0]);
	ack(h, ref1, primary);

	/* A permanent refusal: no retry, and the back-up is alerted at the next
	 * step all the same. */
	int perm_status;
	const char *perm_body = fp_error_body(prov, FP_ERR_UNSUBSCRIBED, &perm_status);
	fp_fail_next(s.fp, 1, perm_status, perm_body);
	size_t req0 = fp_requests(s.fp);
	char ref2[16];
	int64_t t_report = hx_now_ms();
	report(h, 22, ref2);
	int64_t end = hx_now_ms() + 3000;
	while (fp_requests(s.fp) == req0 && hx_now_ms() < end)
		hx_sleep_ms(10);
	HX_CHECK(fp_requests(s.fp) == req0 + 1, "%s: the alert was not tried", prov);
	long ci = wait_msg(s.fp, phone_of("carl"), ref2, 0, 5000, &m);
	int64_t t_carl = hx_now_ms();
	HX_CHECK(ci >= 0, "%s: the back-up got no alert after the refusal", prov);
	HX_CHECK(t_carl - t_report >= 900, "%s: back-up alerted after %lld ms, before the step",
	         prov, (long long)(t_carl - t_report));
	check_alert_text(prov, &m, ref2);
	/* Well past the first retry (0.5 s) and the next ones: still one try. */
	hx_sleep_ms((int)(t_report + 3000 - hx_now_ms()));
	HX_CHECK(fp_requests(s.fp) == req0 + 2, "%s: %zu requests (refused + back-up expected 2)",
	         prov, fp_requests(s.fp) - req0);
	HX_CHECK(count_to(s.fp, phone_of(primary), ref2) == 0, "%s: the refused phone got it",
	         prov);
	r = sms_row(h, ref2, primary);
	HX_CHECK(streq(r.c[0], "failed") && streq(r.c[2], "1"),
	         "%s: refused row state %s attempts %s error %s", prov, r.c[0], r.c[2], r.c[1]);
	if (streq(prov, "twilio"))
		HX_CHECK(strstr(r.c[1], "21610"), "twilio: refusal error %s", r.c[1]);
	r = db_row(h, "SELECT count(*) FROM contact_block WHERE person = ?1 AND channel = 'sms'",
	           primary, NULL);
	HX_CHECK(streq(r.c[0], "1"), "%s: %s's phone is not blocked (%s)", prov, primary, r.c[0]);
	json_t *t = hx_ticket(h, ref2);
	HX_CHECK(streq(str(json_object_get(t, "escalation"), "phase"), "final"),
	         "%s: escalation phase %s", prov, str(json_object_get(t, "escalation"), "phase"));
	json_decref(t);

	/* The back-up's phone was out of reach: "undelivered" with its code. */
	const char *state = streq(prov, "twilio")   ? "undelivered"
	                    : streq(prov, "46elks") ? "failed"
	                                            : "UNDELIVERABLE";
	const char *code = streq(prov, "twilio")   ? "30003"
	                   : streq(prov, "46elks") ? NULL
	                                           : "0x0012";
	st = fp_send_status(s.fp, (size_t)ci, state, code, NULL);
	HX_CHECK(st == 200, "%s: undelivered report answered %d", prov, st);
	r = delivery_row(h, m.id);
	const char *want = streq(prov, "46elks") ? "failed" : "undelivered";
	HX_CHECK(streq(r.c[0], want) && streq(r.c[1], code ? code : ""),
	         "%s: delivery %s error %s (want %s %s)", prov, r.c[0], r.c[1], want,
	         code ? code : "");
	HX_CHECK(streq(r.c[3], "carl"), "%s: the report landed on %s's row", prov, r.c[3]);
	ack(h, ref2, "carl");
	finish(&s);
	printf("%s: alert, delivery reports, refusal and escalation ok (%lld ms)\n", prov,
	       (long long)(hx_now_ms() - t0));
}

/* --- 500s, then the provider recovers: exactly one text -------------------------- */

static void run_flaky(int idx, const char *prov)
{
	int64_t t0 = hx_now_ms();
	struct setup s;
	/* Default staff rate limits; nothing escalates during the test. */
	start(&s, &hs[idx], prov,
	      "[policy slow]\nstep = primary 60\nrepeat = 0\nfinal = backup 60\n"
	      "[team opsoegende]\npolicy = slow\n");
	struct hx *h = s.h;
	char primary[48];
	hx_oncall(h, "opsoegende", primary, sizeof(primary), NULL, 0);
	int status;
	const char *body = fp_error_body(prov, FP_ERR_SERVER, &status);
	fp_fail_next(s.fp, 3, status, body);
	char ref[16];
	int64_t t_report = hx_now_ms();
	report(h, 31, ref);
	struct fp_msg m;
	long i = wait_msg(s.fp, phone_of(primary), ref, 0, 12000, &m);
	int64_t t_got = hx_now_ms();
	HX_CHECK(i >= 0, "%s: no alert after three 500s (%zu requests)", prov, fp_requests(s.fp));
	printf("  %s: delivered after %zu requests, %lld ms\n", prov, fp_requests(s.fp),
	       (long long)(t_got - t_report));
	HX_CHECK(fp_requests(s.fp) == 4, "%s: %zu requests for 3 failures + 1 success", prov,
	         fp_requests(s.fp));
	check_alert_text(prov, &m, ref);
	/* Nothing more comes: no duplicate from a late retry. */
	hx_sleep_ms(3000);
	HX_CHECK(count_to(s.fp, phone_of(primary), NULL) == 1 && fp_count(s.fp) == 1,
	         "%s: %zu messages after recovery", prov, fp_count(s.fp));
	HX_CHECK(fp_requests(s.fp) == 4, "%s: %zu requests after recovery", prov,
	         fp_requests(s.fp));
	struct row r = sms_row(h, ref, primary);
	HX_CHECK(streq(r.c[0], "sent") && streq(r.c[2], "4"), "%s: row state %s attempts %s", prov,
	         r.c[0], r.c[2]);
	finish(&s);
	printf("%s: 500s then recovery: one text ok (%lld ms)\n", prov,
	       (long long)(hx_now_ms() - t0));
}

/* --- rate limit: the first alone, the rest bundled ------------------------------- */

/* careline --check-config on h's configuration with [sms] staff_burst = value. */
static void check_burst_config(struct hx *h, const char *value, bool valid)
{
	char *conf = hx_read_file(h->config_path, NULL);
	HX_CHECK(conf, "cannot read %s", h->config_path);
	char path[400];
	snprintf(path, sizeof(path), "%s/burst.ini", h->dir);
	FILE *f = fopen(path, "w");
	HX_CHECK(f, "cannot write %s", path);
	fprintf(f, "%s\n[sms]\nstaff_burst = %s\n", conf, value);
	fclose(f);
	free(conf);
	const char *bin = getenv("CARELINE_BIN");
	const char *argv[] = {bin && bin[0] ? bin : "build/asan/careline", "--check-config",
	                      "--config", path, NULL};
	char *out = NULL, *err = NULL;
	int st = hx_run(argv, &out, &err);
	HX_CHECK(valid ? st == 0
	               : st != 0 && ((out && strstr(out, "staff_burst")) ||
	                             (err && strstr(err, "staff_burst"))),
	         "staff_burst = %s: --check-config exit %d: %s%s", value, st, out ? out : "",
	         err ? err : "");
	free(out);
	free(err);
}

static void run_bundle(int idx, const char *prov)
{
	int64_t t0 = hx_now_ms();
	struct setup s;
	start(&s, &hs[idx], prov,
	      "[policy slow]\nstep = primary 60\nrepeat = 0\nfinal = backup 60\n"
	      "[team opsoegende]\npolicy = slow\n"
	      "[sms]\nstaff_gap = 2\n");
	struct hx *h = s.h;
	char primary[48];
	hx_oncall(h, "opsoegende", primary, sizeof(primary), NULL, 0);
	const char *phone = phone_of(primary);
	char refs[4][16];
	for (int k = 0; k < 4; k++)
		report(h, 40 + k, refs[k]);
	struct fp_msg first, bundle;
	HX_CHECK(wait_msg(s.fp, phone, NULL, 0, 5000, &first) >= 0, "%s: no first text", prov);
	HX_CHECK(strstr(first.text, refs[0]), "%s: the first text is not for %s: %s", prov, refs[0],
	         first.text);
	for (int k = 1; k < 4; k++)
		HX_CHECK(!strstr(first.text, refs[k]), "%s: the first text has %s too", prov,
		         refs[k]);
	HX_CHECK(wait_msg(s.fp, phone, NULL, 1, 6000, &bundle) >= 0, "%s: no bundle", prov);
	int64_t gap = bundle.at_ms - first.at_ms;
	HX_CHECK(gap >= 1900, "%s: the bundle came %lld ms after the first text (gap 2 s)", prov,
	         (long long)gap);
	for (int k = 1; k < 4; k++)
		HX_CHECK(strstr(bundle.text, refs[k]), "%s: %s is not in the bundle: %s", prov,
		         refs[k], bundle.text);
	HX_CHECK(strstr(bundle.text, "3 nye henvendelser"), "%s: bundle text: %s", prov,
	         bundle.text);
	HX_CHECK(!strstr(bundle.text, refs[0]), "%s: the bundle repeats %s", prov, refs[0]);
	HX_CHECK(bundle.gsm7, "%s: the bundle is not GSM-7: %s", prov, bundle.text);
	/* And nothing else: two texts for four tickets. */
	hx_sleep_ms(2500);
	HX_CHECK(count_to(s.fp, phone, NULL) == 2, "%s: %zu texts for four tickets", prov,
	         count_to(s.fp, phone, NULL));
	for (int k = 0; k < 4; k++) {
		struct row r = sms_row(h, refs[k], primary);
		HX_CHECK(streq(r.c[0], "sent"), "%s: %s's row is %s", prov, refs[k], r.c[0]);
	}
	printf("  %s: \"%s\" then after %lld ms \"%s\"\n", prov, first.text, (long long)gap,
	       bundle.text);
	/* A burst the sender cannot keep track of is refused, not quietly cut. */
	check_burst_config(h, "16", true);
	check_burst_config(h, "17", false);
	finish(&s);
	printf("%s: rate limit and bundle ok (%lld ms)\n", prov, (long long)(hx_now_ms() - t0));
}

int main(void)
{
	hx_watchdog(120);
	int64_t t_start = hx_now_ms();
	run_basic(0, "twilio");
	run_basic(1, "46elks");
	run_basic(2, "gatewayapi");
	run_flaky(3, "46elks");
	run_bundle(4, "twilio");
	printf("13-sms-outbound: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
