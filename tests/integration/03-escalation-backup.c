/*
 * tests/integration/03-escalation-backup.c: a report nobody acks escalates
 * to the back-up (carl) after the step delay (1.5 s: not before it, and
 * within 2 s after it); the ticket is then unhandled in phase final. carl
 * acks from his device, the primary is told (update), and the ticket is
 * acknowledged by carl; when nobody takes it within ack_timeout_p1 (2 s) it
 * returns to notifying and carl is alerted again, again not before the
 * timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define STEP_MS    1500
#define TIMEOUT_MS 2000
#define SLACK_MS   10 /* daemon and test read different clocks, in whole ms */

static struct hx h;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *esc_str(json_t *t, const char *key)
{
	return str(json_object_get(t, "escalation"), key);
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy esc]\nstep = primary 1.5\nrepeat = 0\nfinal = backup 3\n"
	         "ack_timeout_p1 = 2\n"
	         "[team opsoegende]\npolicy = esc\n");
	hx_start_daemon(&h, NULL);

	struct hx_device *anna = hx_device_connect(&h, "anna-phone");
	struct hx_device *bo = hx_device_connect(&h, "bo-phone");
	struct hx_device *carl = hx_device_connect(&h, "carl-phone");
	char primary[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	struct hx_device *pdev = strcmp(primary, "anna") == 0 ? anna : bo;
	struct hx_device *other = pdev == anna ? bo : anna;

	char rid[37];
	hx_uuid(rid);
	char *body = hx_report_json(rid, "Har ikke set manden i nr. 14 i to uger, postkassen "
	                                 "flyder over. Vestergade 14, 8000 Aarhus C");
	int64_t t_send = hx_now_ms();
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "POST: %ld %s", r.status, r.body);
	char ref[16];
	snprintf(ref, sizeof(ref), "%s", str(r.json, "ticket"));
	HX_CHECK(strcmp(str(r.json, "urgency"), "P1") == 0, "this case needs a P1 report: %s",
	         r.body);
	hx_resp_free(&r);

	json_t *a1 = hx_device_wait(pdev, "alert", ref, 3000);
	HX_CHECK(a1, "primary %s not alerted", primary);
	HX_CHECK(json_integer_value(json_object_get(a1, "step")) == 1);
	json_decref(a1);

	/* Not before the step delay ... */
	int64_t early = t_send + STEP_MS - 100 - hx_now_ms();
	json_t *too_soon = hx_device_wait(carl, "alert", ref, early > 0 ? (int)early : 0);
	HX_CHECK(!too_soon, "carl alerted %lld ms after the report, before the %d ms step",
	         (long long)(hx_now_ms() - t_send), STEP_MS);
	/* ... and within 2 s after it. */
	json_t *a2 = hx_device_wait(carl, "alert", ref, STEP_MS + 2000 + 500);
	int64_t t_esc = hx_now_ms();
	HX_CHECK(a2, "carl got no escalation within %d ms", STEP_MS + 2000);
	printf("escalation to carl after %lld ms (step %d ms)\n", (long long)(t_esc - t_send),
	       STEP_MS);
	HX_CHECK(t_esc - t_send >= STEP_MS - SLACK_MS, "escalated early: %lld ms",
	         (long long)(t_esc - t_send));
	HX_CHECK(t_esc - t_send <= STEP_MS + 2000, "escalated late: %lld ms",
	         (long long)(t_esc - t_send));
	HX_CHECK(json_integer_value(json_object_get(a2, "step")) == 2, "final step number");
	int64_t nid = json_integer_value(json_object_get(a2, "notification_id"));
	HX_CHECK(nid > 0);
	json_decref(a2);

	json_t *t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "state"), "notifying") == 0, "state %s", str(t, "state"));
	HX_CHECK(json_is_true(json_object_get(json_object_get(t, "escalation"), "unhandled")),
	         "not unhandled");
	HX_CHECK(strcmp(esc_str(t, "phase"), "final") == 0, "phase %s", esc_str(t, "phase"));
	HX_CHECK(hx_ticket_has_event(t, "escalate"), "no escalate event");
	json_decref(t);

	/* carl acks from his device. */
	char ack[256];
	snprintf(ack, sizeof(ack),
	         "{\"notification_id\": %lld, \"ticket\": \"%s\", \"action\": \"ack\"}",
	         (long long)nid, ref);
	int64_t t_ack = hx_now_ms();
	hx_device_publish(carl, "ack", ack);
	json_t *res = hx_device_wait(carl, "ack_result", ref, 3000);
	HX_CHECK(res && json_is_true(json_object_get(res, "ok")), "carl's ack refused");
	HX_CHECK(strcmp(str(res, "state"), "acknowledged") == 0, "ack_result state");
	json_decref(res);
	json_t *upd = hx_device_wait(pdev, "update", ref, 3000);
	HX_CHECK(upd, "the primary was not told that carl acknowledged");
	HX_CHECK(strcmp(str(upd, "by"), "carl") == 0 &&
	             strcmp(str(upd, "state"), "acknowledged") == 0,
	         "update by %s state %s", str(upd, "by"), str(upd, "state"));
	json_decref(upd);
	t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "state"), "acknowledged") == 0, "state %s", str(t, "state"));
	HX_CHECK(str(t, "acked_by") && strcmp(str(t, "acked_by"), "carl") == 0, "acked_by");
	HX_CHECK(strcmp(esc_str(t, "phase"), "acked") == 0, "phase %s", esc_str(t, "phase"));
	json_decref(t);

	/* Nobody takes it: after ack_timeout_p1 it is notifying again and carl
	 * (who acked, and the final step's target) is alerted again. */
	early = t_ack + TIMEOUT_MS - 100 - hx_now_ms();
	too_soon = hx_device_wait(carl, "alert", ref, early > 0 ? (int)early : 0);
	HX_CHECK(!too_soon, "re-alerted %lld ms after the ack, before the %d ms timeout",
	         (long long)(hx_now_ms() - t_ack), TIMEOUT_MS);
	json_t *a3 = hx_device_wait(carl, "alert", ref, TIMEOUT_MS + 2000 + 500);
	int64_t t_re = hx_now_ms();
	HX_CHECK(a3, "carl was not re-alerted after the ack timeout");
	printf("re-alert after ack timeout: %lld ms after the ack (timeout %d ms)\n",
	       (long long)(t_re - t_ack), TIMEOUT_MS);
	HX_CHECK(t_re - t_ack >= TIMEOUT_MS - SLACK_MS, "re-alerted early: %lld ms",
	         (long long)(t_re - t_ack));
	HX_CHECK(t_re - t_ack <= TIMEOUT_MS + 2000, "re-alerted late: %lld ms",
	         (long long)(t_re - t_ack));
	HX_CHECK(json_integer_value(json_object_get(a3, "notification_id")) != nid,
	         "a new notification");
	json_decref(a3);
	t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "state"), "notifying") == 0, "after timeout: state %s",
	         str(t, "state"));
	HX_CHECK(json_is_null(json_object_get(t, "acked_by")), "acked_by kept after timeout");
	HX_CHECK(hx_ticket_has_event(t, "ack_timeout"), "no ack_timeout event");
	HX_CHECK(strcmp(esc_str(t, "phase"), "final") == 0, "phase %s", esc_str(t, "phase"));
	json_decref(t);

	/* carl is alerted once per step, not twice (acker and back-up are one). */
	hx_sleep_ms(200);
	HX_CHECK(hx_device_wait(carl, "alert", ref, 0) == NULL, "carl alerted twice");
	HX_CHECK(hx_device_pending(other) == 0, "the off-duty worker got %zu messages",
	         hx_device_pending(other));

	hx_device_free(anna);
	hx_device_free(bo);
	hx_device_free(carl);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	printf("03-escalation-backup: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
