/*
 * tests/integration/10-mqtt-bundles.c: a device that sends many reports at
 * once gets every receipt, and the on-duty device every alert, but several
 * of one commit travel in one message ({"type": "receipts", ...},
 * {"type": "alerts", ...}): fewer messages than reports on both inboxes.
 * Each bundled alert is confirmed on its own (the ticket events show it was
 * delivered: the notification rows are "sent").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define REPORTS 200

static struct hx h;

struct counter {
	pthread_mutex_t mu;
	int messages;
	int items;
	int bundles;
	const char *item_type;
};

static void count(void *ctx, const char *topic, const char *payload, size_t len, int64_t at)
{
	struct counter *c = ctx;
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	char plural[32];
	snprintf(plural, sizeof(plural), "%ss", c->item_type);
	pthread_mutex_lock(&c->mu);
	c->messages++;
	if (type && strcmp(type, c->item_type) == 0) {
		c->items++;
	} else if (type && strcmp(type, plural) == 0) {
		json_t *items = json_object_get(o, plural);
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item)
		{
			if (strcmp(json_string_value(json_object_get(item, "type")),
			           c->item_type) == 0)
				c->items++;
		}
		c->bundles++;
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(o);
}

static int items(struct counter *c)
{
	pthread_mutex_lock(&c->mu);
	int n = c->items;
	pthread_mutex_unlock(&c->mu);
	return n;
}

int main(void)
{
	hx_watchdog(90);
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 600\nfinal = backup 600\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);

	char primary[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	char pdev_id[64];
	snprintf(pdev_id, sizeof(pdev_id), "%s-phone", primary);
	struct hx_device *pdev = hx_device_connect(&h, pdev_id);
	struct hx_device *jens = hx_device_connect(&h, "jens-handheld");
	struct counter receipts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, "receipt"};
	struct counter alerts = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, "alert"};
	hx_device_set_handler(jens, count, &receipts);
	hx_device_set_handler(pdev, count, &alerts);

	for (int i = 0; i < REPORTS; i++) {
		char rid[37];
		hx_uuid(rid);
		char *report = hx_report_json(rid, "Naboen råber og banker på væggene hver nat");
		hx_device_publish_nowait(jens, "report", report);
		free(report);
	}
	int64_t until = hx_now_ms() + 20000;
	while ((items(&receipts) < REPORTS || items(&alerts) < REPORTS) && hx_now_ms() < until)
		hx_sleep_ms(20);
	printf("receipts: %d items in %d messages (%d bundles); alerts: %d items in %d messages "
	       "(%d bundles)\n",
	       receipts.items, receipts.messages, receipts.bundles, alerts.items, alerts.messages,
	       alerts.bundles);
	HX_CHECK(receipts.items == REPORTS, "receipts: %d of %d", receipts.items, REPORTS);
	HX_CHECK(alerts.items == REPORTS, "alerts: %d of %d", alerts.items, REPORTS);
	HX_CHECK(receipts.bundles > 0 && receipts.messages < REPORTS,
	         "receipts were not bundled (%d messages)", receipts.messages);
	HX_CHECK(alerts.bundles > 0 && alerts.messages < REPORTS,
	         "alerts were not bundled (%d messages)", alerts.messages);

	/* Every bundled alert was confirmed on its own: nothing left pending. */
	int64_t pending = -1;
	until = hx_now_ms() + 10000;
	while (hx_now_ms() < until) {
		struct hx_resp r = hx_http(&h, "GET", "/metrics", "test-admin-token", NULL);
		const char *p = r.body ? strstr(r.body, "careline_outbox_depth ") : NULL;
		pending = p ? atoll(p + strlen("careline_outbox_depth ")) : -1;
		hx_resp_free(&r);
		if (pending == 0)
			break;
		hx_sleep_ms(100);
	}
	HX_CHECK(pending == 0, "outbox depth %lld after all alerts arrived", (long long)pending);
	hx_device_free(jens);
	hx_device_free(pdev);
	int rc = hx_stop_daemon(&h); /* LeakSanitizer runs at this exit */
	HX_CHECK(rc == 0, "careline exit status %d on SIGTERM", rc);
	hx_stop(&h);
	printf("ok\n");
	return 0;
}
