/*
 * gateway/payload.c builds every MQTT payload careline sends to a device's
 * inbox (DESIGN.md §10): receipts, alerts, ack results, updates and errors.
 * An alert to a device without a public key carries no personal data (the
 * summary is urgency, category words and area only); mqtt.c seals everything
 * to a device with a key and adds the report's text and address to its
 * alerts (gw_payload_alert_detail). When several alerts
 * or receipts for one device come out of one commit, mqtt.c bundles them:
 * {"type": "alerts", "alerts": [...]}, {"type": "receipts", "receipts": [...]}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/texts.h"
#include "gateway.h"

/* "ikke set, lugt, skrald eller skadedyr" in the recipient's language. */
static void category_words(const struct cl_config *cfg, const struct cl_categories *cats,
                           const char *lang, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cats->n && used + 1 < len; i++) {
		char key[64];
		snprintf(key, sizeof(key), "category.%s", cl_category_id(cats->cats[i]));
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                 cl_texts_get(cfg->texts, lang, key));
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

json_t *gw_payload_alert(const struct cl_config *cfg, const struct cl_outgoing *out)
{
	const struct cl_ticket *t = out->t;
	const struct cl_notification *n = out->n;
	char sent_at[32];
	cl_time_format(cl_clock_now(&cl_clock_system), sent_at, sizeof(sent_at));
	if (strcmp(n->kind, "update") == 0) {
		const char *by = t->taken_by[0] ? t->taken_by : t->acked_by;
		char msg[256];
		struct cl_text_var vars[] = {{"ref", t->ref}, {"by", by}};
		cl_texts_render(
		    cl_texts_get(cfg->texts, out->lang,
		                 t->taken_by[0] ? "alert.update_taken" : "alert.update_acked"),
		    vars, 2, msg, sizeof(msg));
		return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "type", "update",
		                 "notification_id", (json_int_t)n->id, "ticket", t->ref, "state",
		                 cl_ticket_state_name(t->state), "by", by, "message", msg,
		                 "sent_at", sent_at);
	}
	char words[256], summary[512];
	category_words(cfg, &t->categories, out->lang, words, sizeof(words));
	struct cl_text_var vars[] = {
	    {"urgency", cl_urgency_name(t->urgency)},
	    {"categories", words},
	    {"area", out->area_name},
	};
	cl_texts_render(cl_texts_get(cfg->texts, out->lang, "alert.summary"), vars, 3, summary,
	                sizeof(summary));
	char created[32];
	cl_time_format(t->created_ms, created, sizeof(created));
	json_t *o =
	    json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:i, s:i, s:s, s:s}", "type", "alert",
	              "notification_id", (json_int_t)n->id, "ticket", t->ref, "urgency",
	              cl_urgency_name(t->urgency), "area", out->area_name, "categories",
	              gw_json_categories(&t->categories), "summary", summary, "step", n->step + 1,
	              "loop", n->loop, "sent_at", sent_at, "created_at", created);
	if (t->linked_ref[0])
		json_object_set_new(o, "linked_to", json_string(t->linked_ref));
	return o;
}

json_t *gw_payload_receipt(const struct cl_config *cfg, const char *report_id,
                           const struct cl_report_answer *a, const char *lang)
{
	json_t *o = gw_json_report_answer(cfg, a, lang);
	json_object_set_new(o, "type", json_string("receipt"));
	json_object_set_new(o, "report_id", json_string(report_id));
	return o;
}

json_t *gw_payload_ack_result(const struct cl_action_answer *a, const char *ticket_ref)
{
	json_t *o = json_pack("{s:s, s:I, s:s, s:b}", "type", "ack_result", "notification_id",
	                      (json_int_t)a->notification_id, "ticket",
	                      a->ref[0] ? a->ref : ticket_ref, "ok", a->err == CL_OK);
	if (a->ref[0])
		json_object_set_new(o, "state", json_string(cl_ticket_state_name(a->state)));
	if (a->err == CL_OK) {
		json_object_set_new(o, "changed", json_boolean(a->changed));
	} else {
		const char *code = a->conflict ? a->conflict : cl_errcode(a->err);
		json_object_set_new(o, "error", json_string(code));
		if (a->by[0])
			json_object_set_new(o, "by", json_string(a->by));
	}
	return o;
}

json_t *gw_payload_error(const char *report_id, const char *code, const char *message)
{
	json_t *o = gw_json_error(code, message, NULL);
	json_object_set_new(o, "type", json_string("error"));
	if (report_id)
		json_object_set_new(o, "report_id", json_string(report_id));
	return o;
}

json_t *gw_payload_bundle(const char *type, json_t **items, size_t n)
{
	char plural[32];
	snprintf(plural, sizeof(plural), "%ss", type);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	return json_pack("{s:s, s:o}", "type", plural, plural, arr);
}

void gw_payload_alert_detail(void *alert, const struct cl_report_view *v)
{
	json_t *o = alert;
	if (json_object_get(o, "text"))
		return; /* the first report says it; later ones are in the ticket */
	if (v->fields[CL_RF_TEXT])
		json_object_set_new(o, "text", json_string(v->fields[CL_RF_TEXT]));
	if (v->fields[CL_RF_ADDRESS]) {
		char formatted[256];
		cl_address_format(&v->address, formatted, sizeof(formatted));
		json_object_set_new(
		    o, "address", json_string(formatted[0] ? formatted : v->fields[CL_RF_ADDRESS]));
	}
}
