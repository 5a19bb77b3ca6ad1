/*
 * tests/integration/02-mqtt-report-receipt.c: the caretaker's handheld
 * (jens-handheld) publishes a report on careline/v1/dev/jens-handheld/report;
 * it gets a receipt with its report_id and the ticket only after the commit
 * (the ticket is readable the moment the receipt is there), the ticket is
 * named and routed by jens's estate to area "vest", and the on-duty primary's
 * device gets the alert (area "Vest").
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

	struct hx_device *anna = hx_device_connect(&h, "anna-phone");
	struct hx_device *bo = hx_device_connect(&h, "bo-phone");
	struct hx_device *jens = hx_device_connect(&h, "jens-handheld");
	char primary[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	struct hx_device *pdev = strcmp(primary, "anna") == 0 ? anna : bo;
	struct hx_device *other = pdev == anna ? bo : anna;

	char rid[37];
	hx_uuid(rid);
	/* No address: the caretaker's estate (gellerupparken) routes it. */
	char *report = hx_report_json(rid, "Der lugter af skrald og affald fra lejligheden på "
	                                   "tredje sal, og postkassen flyder over");
	hx_device_publish(jens, "report", report);
	free(report);

	json_t *rc = hx_device_wait(jens, "receipt", NULL, 5000);
	HX_CHECK(rc, "no receipt on jens-handheld's inbox");
	char *rc_s = json_dumps(rc, JSON_COMPACT);
	printf("receipt: %s\n", rc_s);
	HX_CHECK(str(rc, "report_id") && strcmp(str(rc, "report_id"), rid) == 0, "report_id: %s",
	         rc_s);
	const char *ref_s = str(rc, "ticket");
	HX_CHECK(ref_s && strlen(ref_s) >= 4, "ticket: %s", rc_s);
	char ref[16];
	snprintf(ref, sizeof(ref), "%s", ref_s);
	HX_CHECK(json_is_false(json_object_get(rc, "duplicate")), "duplicate: %s", rc_s);
	HX_CHECK(strcmp(str(rc, "state"), "notifying") == 0, "state: %s", rc_s);
	HX_CHECK(strcmp(str(rc, "kind"), "named") == 0, "kind: %s", rc_s);
	HX_CHECK(str(rc, "urgency") && json_is_array(json_object_get(rc, "categories")) &&
	             str(rc, "message"),
	         "fields: %s", rc_s);
	free(rc_s);
	json_decref(rc);

	/* Sent after commit: the ticket is there now, not "soon". */
	json_t *t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "kind"), "named") == 0, "ticket kind %s", str(t, "kind"));
	HX_CHECK(strcmp(str(t, "area"), "vest") == 0, "area %s", str(t, "area"));
	HX_CHECK(strcmp(str(t, "area_name"), "Vest") == 0, "area_name %s", str(t, "area_name"));
	HX_CHECK(strcmp(str(t, "team"), "opsoegende") == 0, "team %s", str(t, "team"));
	json_t *rp = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(rp && strcmp(str(rp, "via"), "mqtt") == 0, "report via");
	HX_CHECK(json_is_false(json_object_get(rp, "anonymous")));
	json_t *reporter = json_object_get(rp, "reporter");
	HX_CHECK(str(reporter, "person") && strcmp(str(reporter, "person"), "jens") == 0,
	         "reporter person");
	HX_CHECK(str(reporter, "role") && strcmp(str(reporter, "role"), "caretaker") == 0,
	         "reporter role");
	HX_CHECK(hx_ticket_has_event(t, "create") && hx_ticket_has_event(t, "notify"));
	json_decref(t);

	json_t *alert = hx_device_wait(pdev, "alert", ref, 5000);
	HX_CHECK(alert, "primary %s got no alert for %s", primary, ref);
	HX_CHECK(strcmp(str(alert, "area"), "Vest") == 0, "alert area %s", str(alert, "area"));
	HX_CHECK(json_integer_value(json_object_get(alert, "notification_id")) > 0);
	json_decref(alert);
	hx_sleep_ms(300);
	HX_CHECK(hx_device_pending(other) == 0, "the other worker got %zu messages",
	         hx_device_pending(other));
	HX_CHECK(hx_device_pending(jens) == 0, "jens got %zu more messages",
	         hx_device_pending(jens));

	hx_device_free(anna);
	hx_device_free(bo);
	hx_device_free(jens);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	printf("02-mqtt-report-receipt: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
