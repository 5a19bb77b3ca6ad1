/*
 * tests/integration/09-no-personal-data.c: personal fields never leave the
 * encrypted columns. Reports carry unique markers as reporter name, phone and
 * organisation, resident name, address (object and string form), observer
 * and text, and a worker writes a note with a marker. With debug logging, a
 * wildcard subscriber on careline/v1/# and alerts, escalations, an ack and
 * updates flowing, no marker appears (case-insensitively) in the daemon's
 * log, in any MQTT payload, or in the bytes of the SQLite file and its -wal,
 * neither while running nor after a clean stop; yet GET /api/v1/tickets/{ref}
 * returns every one of them decrypted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

static struct hx h;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

enum { M_NAME, M_PHONE, M_ORG, M_RESIDENT, M_STREET, M_STREET2, M_OBSERVER, M_TEXT, M_NOTE, M_N };
static char markers[M_N][48];

static void make_markers(void)
{
	char u[37];
	hx_uuid(u);
	/* Unique per run: 8 hex digits of a fresh UUID in each. */
	snprintf(markers[M_NAME], 48, "Navnqx%.8s", u);
	snprintf(markers[M_PHONE], 48, "+4571%c%c%c%c%c%c", '0' + (u[0] % 10), '0' + (u[1] % 10),
	         '0' + (u[2] % 10), '0' + (u[3] % 10), '0' + (u[4] % 10), '0' + (u[5] % 10));
	snprintf(markers[M_ORG], 48, "Orgqx%.8s", u + 9);
	snprintf(markers[M_RESIDENT], 48, "Beboerqx%.8s", u + 14);
	snprintf(markers[M_STREET], 48, "Gadeqx%.4svej", u + 19);
	snprintf(markers[M_STREET2], 48, "Stiqx%.8sgade", u + 24);
	snprintf(markers[M_OBSERVER], 48, "Observqx%.6s", u + 28);
	snprintf(markers[M_TEXT], 48, "Tekstqx%.8s", u + 2);
	snprintf(markers[M_NOTE], 48, "Noteqx%.8s", u + 5);
}

/* memmem, case-insensitive. */
static bool contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; n <= len && i <= len - n; i++) {
		size_t k = 0;
		while (k < n &&
		       tolower((unsigned char)hay[i + k]) == tolower((unsigned char)needle[k]))
			k++;
		if (k == n)
			return true;
	}
	return false;
}

static void check_bytes(const char *what, const char *buf, size_t len)
{
	for (int m = 0; m < M_N; m++) {
		HX_CHECK(!contains(buf, len, markers[m]), "marker %s found in %s", markers[m],
		         what);
		/* The phone number without its country code, too. */
		if (m == M_PHONE)
			HX_CHECK(!contains(buf, len, markers[m] + 3), "phone digits found in %s",
			         what);
	}
}

static void check_file(const char *path, bool must_exist)
{
	size_t len;
	char *buf = hx_read_file(path, &len);
	if (!buf) {
		HX_CHECK(!must_exist, "%s is missing", path);
		return;
	}
	printf("scanned %s (%zu bytes)\n", path, len);
	check_bytes(path, buf, len);
	free(buf);
}

static int n_payloads;
static void check_payload(void *ctx, const char *topic, const char *payload, size_t len)
{
	char what[200];
	snprintf(what, sizeof(what), "an MQTT payload on %s: %.*s", topic,
	         (int)(len > 120 ? 120 : len), payload);
	check_bytes(what, payload, len);
	check_bytes(what, topic, strlen(topic));
	n_payloads++;
	if (getenv("HX_VERBOSE"))
		printf("  %s %.*s\n", topic, (int)len, payload);
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	make_markers();
	hx_start_broker(&h);
	/* Debug logging: the most the daemon ever says. Default policy: step
	 * primary 1 s, final back-up 1 s, so escalations happen too. */
	snprintf(h.extra_config, sizeof(h.extra_config), "[careline]\nlog_level = debug\n");
	hx_start_daemon(&h, NULL);
	struct hx_device *spy = hx_subscriber_connect(&h, "spy", "careline/v1/#");
	struct hx_device *anna = hx_device_connect(&h, "anna-phone");
	struct hx_device *bo = hx_device_connect(&h, "bo-phone");
	struct hx_device *carl = hx_device_connect(&h, "carl-phone");
	char primary[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	struct hx_device *pdev = strcmp(primary, "anna") == 0 ? anna : bo;

	/* Named, with every personal field, address as an object. */
	char rid[37];
	hx_uuid(rid);
	char text[200];
	snprintf(text, sizeof(text), "Har ikke set %s i to uger, postkassen flyder over",
	         markers[M_TEXT]);
	json_t *rep = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:b, s:{s:s, s:s, s:s, s:s}, s:{s:s}, s:s, "
	    "s:{s:b, s:b}}",
	    "report_id", rid, "text", text, "address", "street", markers[M_STREET], "number", "14",
	    "floor", "st", "side", "th", "postcode", "8000", "anonymous", 0, "reporter", "name",
	    markers[M_NAME], "phone", markers[M_PHONE], "role", "caretaker", "org", markers[M_ORG],
	    "resident", "name", markers[M_RESIDENT], "observed_by", markers[M_OBSERVER], "consent",
	    "callback", 1, "disclose_name", 0);
	char *body = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "POST: %ld %s", r.status, r.body);
	char ref[16];
	snprintf(ref, sizeof(ref), "%s", str(r.json, "ticket"));
	check_bytes("the POST answer", r.body, strlen(r.body));
	hx_resp_free(&r);

	/* Address as one string, from a worker token. */
	char rid2[37], addr[128];
	hx_uuid(rid2);
	snprintf(addr, sizeof(addr), "%s 7, 2. tv., 8210 Aarhus V", markers[M_STREET2]);
	rep = json_pack("{s:s, s:s, s:s}", "report_id", rid2, "text",
	                "Der lugter af skrald i opgangen", "address", addr);
	body = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	r = hx_http(&h, "POST", "/api/v1/reports", "test-anna-token", body);
	free(body);
	HX_CHECK(r.status == 201, "POST 2: %ld %s", r.status, r.body);
	char ref2[16];
	snprintf(ref2, sizeof(ref2), "%s", str(r.json, "ticket"));
	hx_resp_free(&r);

	/* Refused requests carrying markers: errors are logged without them. */
	const char *bad_fmt[] = {
	    "{\"report_id\": \"%s\", \"text\": \"%s\", \"reporter\": {\"name\": \"%s\"},}",
	    "{\"report_id\": \"%s\", \"text\": \"%s\", \"reporter\": {\"name\": 5}, "
	    "\"x\": \"%s\"}",
	    "{\"report_id\": \"%s\", \"text\": \"%s\", \"address\": {\"postcode\": "
	    "\"%s\"}}",
	};
	for (size_t i = 0; i < sizeof(bad_fmt) / sizeof(bad_fmt[0]); i++) {
		char bad[512], bid[37];
		hx_uuid(bid);
		snprintf(bad, sizeof(bad), bad_fmt[i], bid, markers[M_TEXT], markers[M_NAME]);
		r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", bad);
		HX_CHECK(r.status == 400, "bad report %zu: %ld %s", i, r.status, r.body);
		hx_resp_free(&r);
	}

	/* Alerts, then the escalation to carl, then carl acks (the primary gets
	 * an update), then a note with a marker. */
	json_t *a = hx_device_wait(pdev, "alert", ref, 5000);
	HX_CHECK(a, "no alert for %s", ref);
	json_decref(a);
	json_t *esc = hx_device_wait(carl, "alert", ref, 5000);
	HX_CHECK(esc, "no escalation for %s", ref);
	char ack[200];
	snprintf(ack, sizeof(ack),
	         "{\"notification_id\": %lld, \"ticket\": \"%s\", \"action\": \"ack\"}",
	         (long long)json_integer_value(json_object_get(esc, "notification_id")), ref);
	json_decref(esc);
	hx_device_publish(carl, "ack", ack);
	json_t *res = hx_device_wait(carl, "ack_result", ref, 5000);
	HX_CHECK(res && json_is_true(json_object_get(res, "ok")), "carl's ack");
	json_decref(res);
	json_t *upd = hx_device_wait(pdev, "update", ref, 5000);
	HX_CHECK(upd, "no update to the primary");
	json_decref(upd);
	char note[128], path[64];
	snprintf(note, sizeof(note), "{\"note\": \"Talt med %s\"}", markers[M_NOTE]);
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/note", ref);
	r = hx_http(&h, "POST", path, "test-carl-token", note);
	HX_CHECK(r.status == 200, "note: %ld %s", r.status, r.body);
	hx_resp_free(&r);
	a = hx_device_wait(pdev, "alert", ref2, 5000);
	HX_CHECK(a, "no alert for %s", ref2);
	json_decref(a);
	hx_sleep_ms(1500); /* more escalations of ref2, all seen by the spy */

	/* The API gives everything back, decrypted. */
	json_t *t = hx_ticket(&h, ref);
	json_t *rp = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(rp, "no report on %s", ref);
	HX_CHECK(strstr(str(rp, "text"), markers[M_TEXT]), "text not returned");
	HX_CHECK(strcmp(str(json_object_get(rp, "address"), "street"), markers[M_STREET]) == 0,
	         "street not returned");
	json_t *reporter = json_object_get(rp, "reporter");
	HX_CHECK(str(reporter, "name") && strcmp(str(reporter, "name"), markers[M_NAME]) == 0,
	         "reporter name not returned");
	HX_CHECK(str(reporter, "org") && strcmp(str(reporter, "org"), markers[M_ORG]) == 0,
	         "reporter org not returned");
	HX_CHECK(str(rp, "callback_phone") &&
	             strcmp(str(rp, "callback_phone"), markers[M_PHONE]) == 0,
	         "phone not returned");
	HX_CHECK(strcmp(str(json_object_get(rp, "resident"), "name"), markers[M_RESIDENT]) == 0,
	         "resident not returned");
	HX_CHECK(str(rp, "observed_by") && strcmp(str(rp, "observed_by"), markers[M_OBSERVER]) == 0,
	         "observer not returned");
	char *ts = json_dumps(json_object_get(t, "events"), JSON_COMPACT);
	HX_CHECK(strstr(ts, markers[M_NOTE]), "note not returned: %s", ts);
	free(ts);
	json_decref(t);
	t = hx_ticket(&h, ref2);
	rp = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(strcasecmp(str(json_object_get(rp, "address"), "street"), markers[M_STREET2]) == 0,
	         "string address not returned: %s", str(json_object_get(rp, "address"), "street"));
	json_decref(t);
	/* The list shows no personal fields. */
	r = hx_http(&h, "GET", "/api/v1/tickets?state=all", "test-anna-token", NULL);
	HX_CHECK(r.status == 200);
	check_bytes("GET /api/v1/tickets", r.body, strlen(r.body));
	hx_resp_free(&r);

	/* Now the bytes: MQTT, log, database and WAL while running. */
	hx_device_each(spy, check_payload, NULL);
	printf("checked %d MQTT payloads\n", n_payloads);
	HX_CHECK(n_payloads >= 6, "the spy saw only %d messages", n_payloads);
	char wal[320];
	snprintf(wal, sizeof(wal), "%s-wal", h.db_path);
	check_file(h.daemon_log, true);
	check_file(h.db_path, true);
	check_file(wal, true);

	hx_device_free(spy);
	hx_device_free(anna);
	hx_device_free(bo);
	hx_device_free(carl);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	/* And after a clean stop (checkpointed into the main file). */
	check_file(h.daemon_log, true);
	check_file(h.db_path, true);
	check_file(wal, false);
	hx_stop(&h);
	printf("09-no-personal-data: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
