/*
 * tests/integration/08-broker-restart.c: the broker dies and comes back on
 * the same port. /readyz is 200 with the broker up, 503 ("broker":
 * "disconnected") within a few seconds of its death; a report posted over
 * HTTP meanwhile still gets 201 (the database is fine); after the broker is
 * back the daemon reconnects by itself, /readyz is 200 again, the alert of
 * that report reaches the primary's device, and MQTT reports work again
 * (careline subscribed anew on the fresh broker).
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

/* Poll /readyz until it answers want; returns the ms it took, or -1. */
static int64_t wait_ready(long want, int timeout_ms, char *broker, size_t blen)
{
	int64_t t0 = hx_now_ms();
	while (hx_now_ms() - t0 < timeout_ms) {
		struct hx_resp r = hx_http(&h, "GET", "/readyz", NULL, NULL);
		if (r.status == want) {
			snprintf(broker, blen, "%s",
			         str(r.json, "broker") ? str(r.json, "broker") : "?");
			hx_resp_free(&r);
			return hx_now_ms() - t0;
		}
		hx_resp_free(&r);
		hx_sleep_ms(50);
	}
	return -1;
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 60\nfinal = backup 60\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);
	int port = h.mqtt_port;

	char primary[48], pdev_id[64], broker[32];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	snprintf(pdev_id, sizeof(pdev_id), "%s-phone", primary);
	struct hx_device *pdev = hx_device_connect(&h, pdev_id);

	HX_CHECK(wait_ready(200, 1000, broker, sizeof(broker)) >= 0, "not ready at the start");
	HX_CHECK(strcmp(broker, "connected") == 0, "broker %s", broker);

	hx_kill_broker(&h);
	int64_t ms = wait_ready(503, 5000, broker, sizeof(broker));
	HX_CHECK(ms >= 0, "/readyz still 200 five seconds after the broker died");
	HX_CHECK(strcmp(broker, "disconnected") == 0, "broker %s", broker);
	printf("/readyz 503 %lld ms after the broker died\n", (long long)ms);

	char rid[37];
	hx_uuid(rid);
	char *body = hx_report_json(rid, "Har ikke set manden i to uger");
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "report without a broker: %ld %s", r.status, r.body);
	char ref[16];
	snprintf(ref, sizeof(ref), "%s", str(r.json, "ticket"));
	hx_resp_free(&r);
	r = hx_http(&h, "GET", "/healthz", NULL, NULL);
	HX_CHECK(r.status == 200, "/healthz without a broker: %ld", r.status);
	hx_resp_free(&r);

	hx_sleep_ms(500); /* let careline's reconnect attempts fail a few times */
	int64_t t_back = hx_now_ms();
	hx_start_broker(&h);
	HX_CHECK(h.mqtt_port == port, "the broker moved to port %d", h.mqtt_port);
	ms = wait_ready(200, 15000, broker, sizeof(broker));
	HX_CHECK(ms >= 0, "careline did not reconnect within 15 s");
	printf("/readyz 200 again %lld ms after the broker came back\n", (long long)ms);

	HX_CHECK(hx_device_wait_connected(pdev, 10000), "the device did not reconnect");
	json_t *alert = hx_device_wait(pdev, "alert", ref, 10000);
	HX_CHECK(alert, "the alert of %s never reached %s after the broker came back", ref,
	         pdev_id);
	printf("alert delivered %lld ms after the broker came back\n",
	       (long long)(hx_now_ms() - t_back));
	json_decref(alert);
	json_t *t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(str(t, "state"), "notifying") == 0);
	json_decref(t);

	/* careline subscribed again on the new broker: MQTT reports work. */
	struct hx_device *jens = hx_device_connect(&h, "jens-handheld");
	hx_uuid(rid);
	body = hx_report_json(rid, "Der lugter af skrald fra lejligheden");
	hx_device_publish(jens, "report", body);
	free(body);
	json_t *rc = hx_device_wait(jens, "receipt", NULL, 5000);
	HX_CHECK(rc && strcmp(str(rc, "report_id"), rid) == 0, "no receipt after the restart");
	json_decref(rc);

	hx_device_free(jens);
	hx_device_free(pdev);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	printf("08-broker-restart: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
