/*
 * tests/integration/15-roster-hours.c: service hours, after-hours routing,
 * deferral and roster overrides against the real daemon. The team's hours
 * are set to a one-hour window two hours from now (Copenhagen time), so it is
 * closed during the test: a P3 report waits (state new, phase deferred, due
 * at that opening) and nobody is alerted; a P1 report goes to the after-hours
 * layer's person at once. A lead's override (POST /api/v1/overrides) makes bo
 * primary: /api/v1/oncall says so with source "override", the next P1 alert
 * goes to bo, a worker may not change the roster, and removing the override
 * restores the layer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/harness.h"
#include "careline/tz.h"

static struct hx h;

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A report over HTTP; returns the ticket ref (static buffer). */
static const char *report(const char *text)
{
	static char ref[16];
	char rid[37];
	hx_uuid(rid);
	char *body = hx_report_json(rid, text);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "report: status %ld %s", r.status, r.body ? r.body : "");
	snprintf(ref, sizeof(ref), "%s", str(r.json, "ticket"));
	hx_resp_free(&r);
	return ref;
}

static json_t *oncall(void)
{
	struct hx_resp r = hx_admin(&h, "GET", "/api/v1/oncall?team=opsoegende", NULL);
	HX_CHECK(r.status == 200, "oncall: %ld", r.status);
	json_t *j = json_incref(r.json);
	hx_resp_free(&r);
	return j;
}

int main(void)
{
	hx_watchdog(60);
	/* Closed now: open for an hour, two hours from now, every day. */
	struct cl_civil local;
	cl_tz_cph_from_utc((int64_t)time(NULL) * 1000, &local);
	int open_h = (local.hour + 2) % 24;
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[person erik]\nrole = worker\n"
	         "[device erik-phone]\nperson = erik\n"
	         "[token test-dorthe]\nsecret = test-dorthe-token\nrole = worker\nperson = dorthe\n"
	         "[team opsoegende]\n"
	         "service_hours = mon-sun %02d:00-%02d:00\n"
	         "after_hours = vagt\n"
	         "[layer opsoegende/vagt]\nduty = primary\npriority = 10\nmembers = erik\n"
	         "restrict = mon-sun 00:00-24:00\n"
	         "[policy vagt]\nstep = primary 30\nfinal = backup 30\n",
	         open_h, (open_h + 1) % 24 ? (open_h + 1) % 24 : 24);
	hx_start_daemon(&h, NULL);
	struct hx_device *erik = hx_device_connect(&h, "erik-phone");
	struct hx_device *bo = hx_device_connect(&h, "bo-phone");
	struct hx_device *anna = hx_device_connect(&h, "anna-phone");

	json_t *oc = oncall();
	HX_CHECK(json_is_false(json_object_get(oc, "service_open")), "the team should be closed");
	HX_CHECK(strcmp(str(oc, "primary"), "erik") == 0 && strcmp(str(oc, "source"), "vagt") == 0,
	         "after hours the vagt layer's erik is primary, got %s (%s)", str(oc, "primary"),
	         str(oc, "source"));
	const char *next_open = str(oc, "next_open");
	HX_CHECK(next_open[0], "no next_open while closed");
	char next_open_s[40];
	snprintf(next_open_s, sizeof(next_open_s), "%s", next_open);
	json_decref(oc);

	/* P3 outside hours: deferred to the opening, nobody alerted. */
	char p3[16];
	snprintf(p3, sizeof(p3), "%s",
	         report("Naboen råber og banker på væggene hver nat, vi kan ikke sove"));
	json_t *t = hx_ticket(&h, p3);
	json_t *esc = json_object_get(t, "escalation");
	HX_CHECK(strcmp(str(t, "state"), "new") == 0, "P3: state %s", str(t, "state"));
	HX_CHECK(strcmp(str(esc, "phase"), "deferred") == 0, "P3: phase %s", str(esc, "phase"));
	HX_CHECK(strcmp(str(esc, "due_at"), next_open_s) == 0, "P3: due %s, next opening %s",
	         str(esc, "due_at"), next_open_s);
	HX_CHECK(hx_ticket_has_event(t, "defer"), "P3: no defer event");
	json_decref(t);

	/* P1 outside hours: the after-hours policy alerts erik at once. */
	char p1[16];
	snprintf(
	    p1, sizeof(p1), "%s",
	    report("Har ikke set manden i nr. 14 st. th. i over to uger, postkassen flyder over"));
	json_t *alert = hx_device_wait(erik, "alert", p1, 5000);
	HX_CHECK(alert, "erik got no alert for the P1 report");
	json_decref(alert);
	t = hx_ticket(&h, p1);
	HX_CHECK(strcmp(str(t, "state"), "notifying") == 0, "P1: state %s", str(t, "state"));
	json_decref(t);
	HX_CHECK(!hx_device_wait(erik, "alert", p3, 300), "the deferred P3 reached erik");
	HX_CHECK(!hx_device_wait(anna, "alert", NULL, 100) &&
	             !hx_device_wait(bo, "alert", NULL, 100),
	         "a day-shift device got an alert after hours");

	/* A worker may not change the roster; the lead (dorthe) may. */
	char body[512];
	time_t now = time(NULL);
	char from[32], to[32];
	strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&(time_t){now - 60}));
	strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&(time_t){now + 3600}));
	snprintf(body, sizeof(body),
	         "{\"team\": \"opsoegende\", \"person\": \"bo\", \"replaces\": \"erik\","
	         " \"start\": \"%s\", \"end\": \"%s\", \"note\": \"sygdom\"}",
	         from, to);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/overrides", "test-anna-token", body);
	hx_check_error(&r, 403, "forbidden", "a worker's override");
	hx_resp_free(&r);
	r = hx_http(&h, "POST", "/api/v1/overrides", "test-dorthe-token", body);
	HX_CHECK(r.status == 201, "lead's override: %ld %s", r.status, r.body ? r.body : "");
	long long id = (long long)json_integer_value(json_object_get(r.json, "id"));
	HX_CHECK(id > 0, "no override id");
	hx_resp_free(&r);
	r = hx_http(
	    &h, "POST", "/api/v1/overrides", "test-dorthe-token",
	    "{\"team\": \"opsoegende\", \"person\": \"bo\", \"start\": \"2026-12-27 08:00\","
	    " \"end\": \"2026-12-24 16:00\"}");
	hx_check_error(&r, 400, "invalid_field", "an override that ends before it starts");
	hx_resp_free(&r);

	oc = oncall();
	HX_CHECK(
	    strcmp(str(oc, "primary"), "bo") == 0 && strcmp(str(oc, "source"), "override") == 0,
	    "with the override bo is primary, got %s (%s)", str(oc, "primary"), str(oc, "source"));
	json_decref(oc);
	char p1b[16];
	snprintf(p1b, sizeof(p1b), "%s",
	         report("Han løber nøgen rundt i opgangen og kan ikke tales til ro"));
	alert = hx_device_wait(bo, "alert", p1b, 5000);
	HX_CHECK(alert, "bo (covering) got no alert");
	json_decref(alert);
	HX_CHECK(!hx_device_wait(erik, "alert", p1b, 300), "erik was alerted while covered");

	/* The override survives a restart (it is in SQLite). */
	hx_stop_daemon(&h);
	hx_start_daemon(&h, NULL);
	r = hx_admin(&h, "GET", "/api/v1/overrides?team=opsoegende", NULL);
	json_t *list = json_object_get(r.json, "overrides");
	HX_CHECK(json_array_size(list) == 1, "%zu overrides after restart", json_array_size(list));
	HX_CHECK(strcmp(str(json_array_get(list, 0), "replaces"), "erik") == 0, "replaces lost");
	hx_resp_free(&r);

	/* carelinectl lists and removes it; the layer answers again. */
	char idbuf[24];
	snprintf(idbuf, sizeof(idbuf), "%lld", id);
	char *out = NULL, *err = NULL;
	HX_CHECK(hx_ctl(&h, &out, &err, "override", "list", NULL) == 0 &&
	             strstr(out, "replaces erik"),
	         "carelinectl override list: %s %s", out ? out : "", err ? err : "");
	free(out);
	free(err);
	HX_CHECK(hx_ctl(&h, &out, &err, "override", "remove", idbuf, NULL) == 0,
	         "carelinectl override remove: %s", err ? err : "");
	free(out);
	free(err);
	oc = oncall();
	HX_CHECK(strcmp(str(oc, "primary"), "erik") == 0, "after removal: %s", str(oc, "primary"));
	json_decref(oc);
	r = hx_admin(&h, "DELETE", "/api/v1/overrides/9999", NULL);
	hx_check_error(&r, 404, "not_found", "removing an override that does not exist");
	hx_resp_free(&r);

	/* The deferred ticket is still waiting after the restart. */
	t = hx_ticket(&h, p3);
	HX_CHECK(strcmp(str(json_object_get(t, "escalation"), "phase"), "deferred") == 0,
	         "P3 after restart: %s", str(json_object_get(t, "escalation"), "phase"));
	json_decref(t);

	hx_device_free(erik);
	hx_device_free(bo);
	hx_device_free(anna);
	hx_stop(&h);
	printf("ok\n");
	return 0;
}
