/*
 * tests/integration/04-duplicates.c: idempotency by report_id. The same id
 * over HTTP answers 201 then 200 with the original answer (duplicate true),
 * also with the UUID in upper case; over MQTT the same id gets a receipt
 * naming the same ticket (duplicate true); an app that publishes one report
 * twice in quick succession gets two receipts for one ticket. The ticket list
 * has exactly one ticket per distinct report_id, also when 8 clients post one
 * new report_id at the same moment (one 201, seven 200s).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

static struct hx h;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The answer without "duplicate" must be identical. */
static void same_answer(json_t *a, json_t *b, const char *what)
{
	json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	const char *drop[] = {"duplicate", "type", "report_id"};
	for (size_t i = 0; i < 3; i++) {
		json_object_del(x, drop[i]);
		json_object_del(y, drop[i]);
	}
	char *xs = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
	char *ys = json_dumps(y, JSON_COMPACT | JSON_SORT_KEYS);
	HX_CHECK(json_equal(x, y), "%s: answers differ:\n  %s\n  %s", what, xs, ys);
	free(xs);
	free(ys);
	json_decref(x);
	json_decref(y);
}

#define N_SAME 8
static char same_id[37];
static struct {
	long status;
	bool duplicate;
	char ticket[16];
} same[N_SAME];

static void *post_same(void *arg)
{
	__typeof__(&same[0]) out = arg;
	char *body = hx_report_json(same_id, "Naboen råber hver nat");
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	out->status = r.status;
	out->duplicate = json_is_true(json_object_get(r.json, "duplicate"));
	const char *t = json_string_value(json_object_get(r.json, "ticket"));
	snprintf(out->ticket, sizeof(out->ticket), "%s", t ? t : "");
	hx_resp_free(&r);
	return NULL;
}

static size_t count_tickets(void)
{
	struct hx_resp r = hx_admin(&h, "GET", "/api/v1/tickets?state=all", NULL);
	HX_CHECK(r.status == 200, "GET tickets: %ld", r.status);
	size_t n = json_array_size(json_object_get(r.json, "tickets"));
	hx_resp_free(&r);
	return n;
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	hx_start_daemon(&h, NULL);
	struct hx_device *jens = hx_device_connect(&h, "jens-handheld");

	char rid[37];
	hx_uuid(rid);
	char *body = hx_report_json(rid, "Har ikke set manden i nr. 14 i to uger. Vestergade 14, "
	                                 "8000 Aarhus C");
	struct hx_resp r1 = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	HX_CHECK(r1.status == 201, "first POST: %ld %s", r1.status, r1.body);
	HX_CHECK(json_is_false(json_object_get(r1.json, "duplicate")));
	struct hx_resp r2 = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	HX_CHECK(r2.status == 200, "second POST: %ld %s", r2.status, r2.body);
	HX_CHECK(json_is_true(json_object_get(r2.json, "duplicate")), "duplicate: %s", r2.body);
	same_answer(r1.json, r2.json, "HTTP repeat");
	const char *fields[] = {"ticket", "state", "urgency", "kind"};
	for (size_t i = 0; i < 4; i++)
		HX_CHECK(str(r1.json, fields[i]) &&
		             strcmp(str(r1.json, fields[i]), str(r2.json, fields[i])) == 0,
		         "%s differs", fields[i]);
	HX_CHECK(json_equal(json_object_get(r1.json, "categories"),
	                    json_object_get(r2.json, "categories")),
	         "categories differ");
	char ref[16];
	snprintf(ref, sizeof(ref), "%s", str(r1.json, "ticket"));
	free(body);

	/* A UUID is the same UUID in upper case. */
	char upper[37];
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)rid[i]);
	body = hx_report_json(upper, "Har ikke set manden i nr. 14 i to uger. Vestergade 14, "
	                             "8000 Aarhus C");
	struct hx_resp r3 = hx_http(&h, "POST", "/api/v1/reports", "test-anna-token", body);
	free(body);
	HX_CHECK(r3.status == 200, "upper-case id: %ld %s", r3.status, r3.body);
	HX_CHECK(strcmp(str(r3.json, "ticket"), ref) == 0, "upper-case id: other ticket");
	HX_CHECK(json_is_true(json_object_get(r3.json, "duplicate")));
	hx_resp_free(&r3);

	/* The same id from a handheld over MQTT: the same ticket. */
	body = hx_report_json(rid, "Har ikke set manden i nr. 14 i to uger");
	hx_device_publish(jens, "report", body);
	free(body);
	json_t *rc = hx_device_wait(jens, "receipt", NULL, 5000);
	HX_CHECK(rc, "no receipt for the MQTT duplicate");
	HX_CHECK(strcmp(str(rc, "report_id"), rid) == 0, "receipt report_id %s",
	         str(rc, "report_id"));
	HX_CHECK(strcmp(str(rc, "ticket"), ref) == 0, "MQTT duplicate: ticket %s, expected %s",
	         str(rc, "ticket"), ref);
	HX_CHECK(json_is_true(json_object_get(rc, "duplicate")), "MQTT duplicate flag");
	same_answer(r1.json, rc, "MQTT repeat");
	json_decref(rc);
	hx_resp_free(&r1);
	hx_resp_free(&r2);

	HX_CHECK(count_tickets() == 1, "expected exactly one ticket, have %zu", count_tickets());

	/* An app retrying quickly: the same report twice before any receipt. */
	char rid2[37];
	hx_uuid(rid2);
	body = hx_report_json(rid2, "Naboen har ikke været set i en uge, der lugter");
	hx_device_publish(jens, "report", body);
	hx_device_publish(jens, "report", body);
	free(body);
	json_t *c1 = hx_device_wait(jens, "receipt", NULL, 5000);
	json_t *c2 = hx_device_wait(jens, "receipt", NULL, 5000);
	HX_CHECK(c1 && c2, "expected two receipts for the retried report");
	HX_CHECK(strcmp(str(c1, "report_id"), rid2) == 0 && strcmp(str(c2, "report_id"), rid2) == 0,
	         "receipt report ids");
	HX_CHECK(strcmp(str(c1, "ticket"), str(c2, "ticket")) == 0,
	         "retries made two tickets: %s %s", str(c1, "ticket"), str(c2, "ticket"));
	HX_CHECK(strcmp(str(c1, "ticket"), ref) != 0, "a new report reused the old ticket");
	HX_CHECK(json_is_true(json_object_get(c1, "duplicate")) !=
	             json_is_true(json_object_get(c2, "duplicate")),
	         "exactly one of the two receipts is the original");
	same_answer(c1, c2, "MQTT retry");
	json_decref(c1);
	json_decref(c2);
	hx_sleep_ms(300);
	HX_CHECK(hx_device_wait(jens, "receipt", NULL, 0) == NULL, "a third receipt");

	HX_CHECK(count_tickets() == 2, "expected two tickets, have %zu", count_tickets());

	/* The same new report_id from 8 clients at once (one group commit):
	 * exactly one 201, seven 200 duplicates, one ticket. */
	hx_uuid(same_id);
	pthread_t th[N_SAME];
	for (int i = 0; i < N_SAME; i++)
		if (pthread_create(&th[i], NULL, post_same, &same[i]) != 0)
			hx_fail("pthread_create");
	for (int i = 0; i < N_SAME; i++)
		pthread_join(th[i], NULL);
	int n201 = 0;
	for (int i = 0; i < N_SAME; i++) {
		HX_CHECK(same[i].status == 201 || (same[i].status == 200 && same[i].duplicate),
		         "concurrent same id: %ld", same[i].status);
		HX_CHECK(strcmp(same[i].ticket, same[0].ticket) == 0, "tickets %s and %s",
		         same[i].ticket, same[0].ticket);
		n201 += same[i].status == 201;
	}
	HX_CHECK(n201 == 1, "%d of %d concurrent posts got 201", n201, N_SAME);
	HX_CHECK(count_tickets() == 3, "expected three tickets, have %zu", count_tickets());
	struct hx_resp m = hx_http(&h, "GET", "/metrics", "test-admin-token", NULL);
	HX_CHECK(m.status == 200 && m.body);
	char want[96];
	snprintf(want, sizeof(want), "careline_duplicate_reports_total{channel=\"http\"} %d",
	         2 + N_SAME - 1);
	HX_CHECK(strstr(m.body, want), "http duplicates not counted: want %s", want);
	HX_CHECK(strstr(m.body, "careline_duplicate_reports_total{channel=\"mqtt\"} 2"),
	         "mqtt duplicates not counted");
	hx_resp_free(&m);

	hx_device_free(jens);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	printf("04-duplicates: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
