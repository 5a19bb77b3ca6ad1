/*
 * tests/integration/01-http-alert-ack.c: a partner posts a report over HTTP;
 * only the on-duty primary's device (of all connected worker devices) gets
 * the alert; it acks over MQTT with the alert's notification id, gets
 * ack_result ok, and the ticket shows acknowledged by that person with the
 * events create, notify and ack. Escalation is slowed so nothing else fires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

static struct hx h;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 30\nfinal = backup 30\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);

	const char *ids[] = {"anna-phone", "bo-phone", "carl-phone", "dorthe-phone"};
	const char *owners[] = {"anna", "bo", "carl", "dorthe"};
	struct hx_device *dev[4];
	for (int i = 0; i < 4; i++)
		dev[i] = hx_device_connect(&h, ids[i]);

	char primary[48], backup[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), backup, sizeof(backup));
	HX_CHECK(strcmp(primary, "anna") == 0 || strcmp(primary, "bo") == 0, "primary %s", primary);
	HX_CHECK(strcmp(backup, "carl") == 0, "backup %s", backup);
	int p = strcmp(primary, "anna") == 0 ? 0 : 1;
	printf("on duty: primary %s, back-up %s\n", primary, backup);

	char rid[37];
	hx_uuid(rid);
	json_t *rep =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}}", "report_id", rid, "text",
	              "Har ikke set manden i nr. 14 i to uger, postkassen flyder over", "address",
	              "street", "Vestergade", "number", "14", "postcode", "8000", "reporter",
	              "name", "Jens Hansen", "role", "caretaker");
	char *body = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "POST report: %ld %s", r.status, r.body);
	const char *ref_s = str(r.json, "ticket");
	HX_CHECK(ref_s && strlen(ref_s) >= 4 && strlen(ref_s) <= 6, "ticket ref: %s", r.body);
	char ref[16];
	snprintf(ref, sizeof(ref), "%s", ref_s);
	HX_CHECK(strcmp(str(r.json, "state"), "notifying") == 0, "state: %s", r.body);
	HX_CHECK(json_is_false(json_object_get(r.json, "duplicate")), "duplicate: %s", r.body);
	HX_CHECK(strcmp(str(r.json, "kind"), "named") == 0, "kind: %s", r.body);
	HX_CHECK(str(r.json, "urgency") && str(r.json, "message"), "fields: %s", r.body);
	HX_CHECK(strstr(str(r.json, "message"), ref) != NULL, "message names the ref: %s", r.body);
	hx_resp_free(&r);
	printf("ticket %s\n", ref);

	json_t *alert = hx_device_wait(dev[p], "alert", ref, 5000);
	HX_CHECK(alert, "%s got no alert for %s", ids[p], ref);
	json_t *nid = json_object_get(alert, "notification_id");
	HX_CHECK(json_is_integer(nid) && json_integer_value(nid) > 0, "notification_id");
	HX_CHECK(strcmp(str(alert, "ticket"), ref) == 0);
	HX_CHECK(strcmp(str(alert, "area"), "Centrum") == 0, "area %s", str(alert, "area"));
	HX_CHECK(str(alert, "urgency") && str(alert, "summary") && str(alert, "sent_at"));
	HX_CHECK(json_integer_value(json_object_get(alert, "step")) == 1, "step");
	HX_CHECK(json_is_array(json_object_get(alert, "categories")));
	/* An alert in clear carries no personal data. */
	char *alert_s = json_dumps(alert, JSON_COMPACT);
	HX_CHECK(!strstr(alert_s, "Vestergade") && !strstr(alert_s, "Jens") &&
	             !strstr(alert_s, "postkassen"),
	         "personal data in alert: %s", alert_s);
	free(alert_s);

	/* Nobody else was alerted (wait a moment for stray messages). */
	hx_sleep_ms(700);
	for (int i = 0; i < 4; i++)
		HX_CHECK(hx_device_pending(dev[i]) == 0, "%s has %zu unexpected messages", ids[i],
		         hx_device_pending(dev[i]));

	char ack[256];
	snprintf(ack, sizeof(ack),
	         "{\"notification_id\": %lld, \"ticket\": \"%s\", \"action\": \"ack\"}",
	         (long long)json_integer_value(nid), ref);
	hx_device_publish(dev[p], "ack", ack);
	json_t *res = hx_device_wait(dev[p], "ack_result", ref, 5000);
	HX_CHECK(res, "no ack_result");
	HX_CHECK(json_is_true(json_object_get(res, "ok")), "ack_result not ok");
	HX_CHECK(strcmp(str(res, "state"), "acknowledged") == 0, "ack_result state");
	HX_CHECK(json_is_true(json_object_get(res, "changed")), "ack_result changed");
	HX_CHECK(json_integer_value(json_object_get(res, "notification_id")) ==
	         json_integer_value(nid));
	json_decref(res);

	/* The same ack again changes nothing and is still ok. */
	hx_device_publish(dev[p], "ack", ack);
	res = hx_device_wait(dev[p], "ack_result", ref, 5000);
	HX_CHECK(res && json_is_true(json_object_get(res, "ok")), "repeated ack");
	HX_CHECK(json_is_false(json_object_get(res, "changed")), "repeated ack changed");
	json_decref(res);
	json_decref(alert);

	json_t *t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "state"), "acknowledged") == 0, "state %s", str(t, "state"));
	HX_CHECK(str(t, "acked_by") && strcmp(str(t, "acked_by"), owners[p]) == 0, "acked_by");
	HX_CHECK(str(t, "acked_at"), "acked_at");
	HX_CHECK(hx_ticket_has_event(t, "create"), "event create");
	HX_CHECK(hx_ticket_has_event(t, "notify"), "event notify");
	HX_CHECK(hx_ticket_has_event(t, "ack"), "event ack");
	HX_CHECK(!hx_ticket_has_event(t, "escalate"), "no escalation expected");
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(t, "events"), i, e)
	{
		if (strcmp(str(e, "event"), "ack") == 0)
			HX_CHECK(strcmp(str(e, "actor"), owners[p]) == 0, "ack actor %s",
			         str(e, "actor"));
	}
	json_t *rp = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(rp && strcmp(str(rp, "via"), "http") == 0, "report via");
	HX_CHECK(strcmp(str(json_object_get(rp, "reporter"), "name"), "Jens Hansen") == 0);
	json_decref(t);

	/* A worker token sees the same. */
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s", ref);
	r = hx_http(&h, "GET", path, "test-anna-token", NULL);
	HX_CHECK(r.status == 200, "worker GET: %ld", r.status);
	HX_CHECK(strcmp(str(r.json, "state"), "acknowledged") == 0);
	HX_CHECK(strcmp(str(r.json, "acked_by"), owners[p]) == 0);
	hx_resp_free(&r);

	/* Still nobody else heard of it: no alert, no update. */
	for (int k = 0; k < 4; k++)
		HX_CHECK(hx_device_pending(dev[k]) == 0, "%s has %zu unexpected messages", ids[k],
		         hx_device_pending(dev[k]));

	for (int k = 0; k < 4; k++)
		hx_device_free(dev[k]);
	int rc = hx_stop_daemon(&h);
	HX_CHECK(rc == 0, "careline exit status %d on SIGTERM", rc);
	hx_stop(&h);
	printf("01-http-alert-ack: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
