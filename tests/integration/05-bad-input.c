/*
 * tests/integration/05-bad-input.c: every kind of bad request gets its
 * status and an {"error": {"code", "message"}} body, and leaves the daemon
 * healthy: after each case /healthz is 200 and a valid report still gets 201.
 * Cases are data: malformed JSON, wrong types, bad ids, bodies over max_body
 * (4096 here; with Content-Length and chunked), unknown tickets and routes,
 * wrong methods, missing or bad tokens, a partner token where it may not go,
 * illegal transitions (409 closed; 409 already_taken by anna), resolve without
 * or with an invalid reason; and garbage on the MQTT report and ack topics,
 * answered by an error on the device's inbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define MAX_BODY 4096

static struct hx h;
static int n_alive_checks;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static char *valid_report(void)
{
	char rid[37];
	hx_uuid(rid);
	return hx_report_json(rid, "Har ikke set manden i to uger");
}

/* /healthz 200 and a valid report still gets 201. */
static void check_alive(const char *after)
{
	struct hx_resp r = hx_http(&h, "GET", "/healthz", NULL, NULL);
	HX_CHECK(r.status == 200, "after %s: /healthz %ld", after, r.status);
	hx_resp_free(&r);
	char *body = valid_report();
	r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "after %s: a valid report got %ld %s", after, r.status, r.body);
	hx_resp_free(&r);
	n_alive_checks++;
}

/* A new ticket; returns its ref in ref. */
static void new_ticket(char ref[16])
{
	char *body = valid_report();
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201, "POST: %ld %s", r.status, r.body);
	snprintf(ref, 16, "%s", str(r.json, "ticket"));
	hx_resp_free(&r);
}

struct http_case {
	const char *name;
	const char *method;
	const char *path; /* "%s" is replaced by a fresh ticket's ref */
	const char *token;
	const char *body;
	bool chunked;
	bool admin;
	long status;
	const char *code; /* NULL: any code */
};

static char *big_report(size_t size)
{
	char rid[37];
	hx_uuid(rid);
	char *text = malloc(size + 1);
	memset(text, 'x', size);
	text[size] = '\0';
	char *s = hx_report_json(rid, text);
	free(text);
	return s;
}

static char *deep_nesting(size_t depth)
{
	char *s = malloc(2 * depth + 1);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

static void run_http_cases(void)
{
	char *big = big_report(MAX_BODY + 1000);
	char *fits = big_report(MAX_BODY - 200);
	char *deep = deep_nesting(MAX_BODY / 2 - 10);
	HX_CHECK(strlen(big) > MAX_BODY && strlen(fits) < MAX_BODY && strlen(deep) < MAX_BODY);
	const char *uuid = "b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e11";
	char text5[128], noid[128], badid[128], badcat[160], badpc[200], nul[128], dupkey[160],
	    badutf[128], rep_type[160];
	snprintf(text5, sizeof(text5), "{\"report_id\": \"%s\", \"text\": 5}", uuid);
	snprintf(noid, sizeof(noid), "{\"text\": \"hej\"}");
	snprintf(badid, sizeof(badid), "{\"report_id\": \"not-a-uuid\", \"text\": \"hej\"}");
	snprintf(badcat, sizeof(badcat),
	         "{\"report_id\": \"%s\", \"text\": \"hej\", \"category\": \"aliens\"}", uuid);
	snprintf(
	    badpc, sizeof(badpc),
	    "{\"report_id\": \"%s\", \"text\": \"hej\", \"address\": {\"postcode\": \"80000\"}}",
	    uuid);
	snprintf(nul, sizeof(nul), "{\"report_id\": \"%s\", \"text\": \"a\\u0000b\"}", uuid);
	snprintf(dupkey, sizeof(dupkey),
	         "{\"report_id\": \"%s\", \"text\": \"a\", \"text\": \"b\"}", uuid);
	snprintf(badutf, sizeof(badutf), "{\"report_id\": \"%s\", \"text\": \"\xff\xfe\"}", uuid);
	snprintf(rep_type, sizeof(rep_type),
	         "{\"report_id\": \"%s\", \"text\": \"hej\", \"reporter\": \"Jens\"}", uuid);

	const struct http_case cases[] = {
	    {"malformed JSON", "POST", "/api/v1/reports", "test-partner-token",
	     "{\"report_id\": \"x\", ", false, false, 400, "malformed_json"},
	    {"empty body", "POST", "/api/v1/reports", "test-partner-token", NULL, false, false, 400,
	     "malformed_json"},
	    {"duplicate key", "POST", "/api/v1/reports", "test-partner-token", dupkey, false, false,
	     400, "malformed_json"},
	    {"invalid UTF-8", "POST", "/api/v1/reports", "test-partner-token", badutf, false, false,
	     400, "malformed_json"},
	    {"nesting 2000 deep", "POST", "/api/v1/reports", "test-partner-token", deep, false,
	     false, 400, NULL},
	    {"array body", "POST", "/api/v1/reports", "test-partner-token", "[1, 2]", false, false,
	     400, NULL},
	    {"text: 5", "POST", "/api/v1/reports", "test-partner-token", text5, false, false, 400,
	     "invalid_field"},
	    {"no report_id", "POST", "/api/v1/reports", "test-partner-token", noid, false, false,
	     400, "invalid_field"},
	    {"report_id not a UUID", "POST", "/api/v1/reports", "test-partner-token", badid, false,
	     false, 400, "invalid_field"},
	    {"unknown category", "POST", "/api/v1/reports", "test-partner-token", badcat, false,
	     false, 400, "invalid_field"},
	    {"postcode of 5 digits", "POST", "/api/v1/reports", "test-partner-token", badpc, false,
	     false, 400, "invalid_field"},
	    /* jansson refuses \u0000 while parsing (malformed_json); any 400 will do. */
	    {"NUL in text", "POST", "/api/v1/reports", "test-partner-token", nul, false, false, 400,
	     NULL},
	    {"reporter a string", "POST", "/api/v1/reports", "test-partner-token", rep_type, false,
	     false, 400, "invalid_field"},
	    {"over max_body, Content-Length", "POST", "/api/v1/reports", "test-partner-token", big,
	     false, false, 413, "too_large"},
	    {"over max_body, chunked", "POST", "/api/v1/reports", "test-partner-token", big, true,
	     false, 413, "too_large"},
	    {"over max_body, admin socket", "POST", "/api/v1/reports", NULL, big, false, true, 413,
	     "too_large"},
	    {"just under max_body, chunked", "POST", "/api/v1/reports", "test-partner-token", fits,
	     true, false, 201, NULL},
	    {"no token", "POST", "/api/v1/reports", NULL, "{}", false, false, 401, "unauthorized"},
	    {"bad token", "POST", "/api/v1/reports", "not-a-valid-token", "{}", false, false, 401,
	     "unauthorized"},
	    {"bad token on GET", "GET", "/api/v1/tickets", "test-partner-token-x", NULL, false,
	     false, 401, "unauthorized"},
	    {"partner lists tickets", "GET", "/api/v1/tickets", "test-partner-token", NULL, false,
	     false, 403, "forbidden"},
	    {"partner reads a ticket", "GET", "/api/v1/tickets/%s", "test-partner-token", NULL,
	     false, false, 403, "forbidden"},
	    {"partner acks", "POST", "/api/v1/tickets/%s/ack", "test-partner-token",
	     "{\"by\": \"anna\"}", false, false, 403, "forbidden"},
	    {"partner asks who is on call", "GET", "/api/v1/oncall?team=opsoegende",
	     "test-partner-token", NULL, false, false, 403, "forbidden"},
	    {"worker acts as another", "POST", "/api/v1/tickets/%s/ack", "test-anna-token",
	     "{\"by\": \"bo\"}", false, false, 403, "forbidden"},
	    {"unknown ticket", "GET", "/api/v1/tickets/ZZZZZ", "test-anna-token", NULL, false,
	     false, 404, "unknown_ticket"},
	    {"unknown ticket, admin", "GET", "/api/v1/tickets/K7FQ2", NULL, NULL, false, true, 404,
	     "unknown_ticket"},
	    {"not a ref", "GET", "/api/v1/tickets/0O1I!", "test-anna-token", NULL, false, false,
	     404, "unknown_ticket"},
	    {"ack an unknown ticket", "POST", "/api/v1/tickets/ZZZZZ/ack", "test-anna-token", NULL,
	     false, false, 404, "unknown_ticket"},
	    {"unknown action", "POST", "/api/v1/tickets/%s/frobnicate", "test-anna-token", NULL,
	     false, false, 404, NULL},
	    {"unknown route", "GET", "/api/v1/nothing", "test-anna-token", NULL, false, false, 404,
	     "not_found"},
	    {"root", "GET", "/", NULL, NULL, false, false, 404, "not_found"},
	    {"unknown team", "GET", "/api/v1/oncall?team=nobody", "test-anna-token", NULL, false,
	     false, 404, NULL},
	    {"oncall without team", "GET", "/api/v1/oncall", "test-anna-token", NULL, false, false,
	     400, "invalid_field"},
	    {"oncall bad time", "GET", "/api/v1/oncall?team=opsoegende&at=yesterday",
	     "test-anna-token", NULL, false, false, 400, "invalid_field"},
	    {"bad state filter", "GET", "/api/v1/tickets?state=sleeping", "test-anna-token", NULL,
	     false, false, 400, "invalid_field"},
	    {"GET reports", "GET", "/api/v1/reports", "test-partner-token", NULL, false, false, 405,
	     "method_not_allowed"},
	    {"DELETE tickets", "DELETE", "/api/v1/tickets", "test-anna-token", NULL, false, false,
	     405, "method_not_allowed"},
	    {"PUT a ticket", "PUT", "/api/v1/tickets/%s", "test-anna-token", "{}", false, false,
	     405, "method_not_allowed"},
	    {"POST healthz", "POST", "/healthz", NULL, "{}", false, false, 405,
	     "method_not_allowed"},
	    {"resolve without reason", "POST", "/api/v1/tickets/%s/resolve", "test-anna-token",
	     "{}", false, false, 400, "invalid_field"},
	    {"resolve, invalid reason", "POST", "/api/v1/tickets/%s/resolve", "test-anna-token",
	     "{\"reason\": \"bored\"}", false, false, 400, "invalid_reason"},
	    {"resolve, reason a number", "POST", "/api/v1/tickets/%s/resolve", "test-anna-token",
	     "{\"reason\": 7}", false, false, 400, "invalid_field"},
	    {"admin action without by", "POST", "/api/v1/tickets/%s/ack", NULL, "{}", false, true,
	     400, "invalid_field"},
	    {"unknown person", "POST", "/api/v1/tickets/%s/ack", NULL, "{\"by\": \"zelda\"}", false,
	     true, 400, "unknown_person"},
	    {"note without text", "POST", "/api/v1/tickets/%s/note", "test-anna-token", "{}", false,
	     false, 400, "invalid_field"},
	    {"action body malformed", "POST", "/api/v1/tickets/%s/ack", "test-anna-token", "{oops",
	     false, false, 400, "malformed_json"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct http_case *c = &cases[i];
		char path[256], ref[16];
		if (strstr(c->path, "%s")) {
			new_ticket(ref);
			snprintf(path, sizeof(path), c->path, ref);
		} else {
			snprintf(path, sizeof(path), "%s", c->path);
		}
		struct hx_req rq = {.method = c->method,
		                    .path = path,
		                    .token = c->token,
		                    .body = c->body,
		                    .chunked = c->chunked,
		                    .admin = c->admin};
		struct hx_resp r = hx_request(&h, &rq);
		if (c->status >= 400)
			hx_check_error(&r, c->status, c->code, c->name);
		else
			HX_CHECK(r.status == c->status, "%s: %ld %s", c->name, r.status, r.body);
		hx_resp_free(&r);
		check_alive(c->name);
	}
	free(big);
	free(fits);
	free(deep);
}

static void post_action(const char *token, const char *ref, const char *verb, const char *body,
                        struct hx_resp *out)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/%s", ref, verb);
	*out = hx_http(&h, "POST", path, token, body);
}

static void run_transitions(void)
{
	char ref[16];
	struct hx_resp r;

	/* Resolved, then acked: 409 closed. */
	new_ticket(ref);
	post_action("test-anna-token", ref, "resolve", "{\"reason\": \"handed_over:home_care\"}",
	            &r);
	HX_CHECK(r.status == 200, "resolve: %ld %s", r.status, r.body);
	HX_CHECK(strcmp(str(r.json, "state"), "closed") == 0, "resolve: %s", r.body);
	hx_resp_free(&r);
	post_action("test-anna-token", ref, "ack", NULL, &r);
	hx_check_error(&r, 409, "closed", "ack a closed ticket");
	hx_resp_free(&r);
	check_alive("ack a closed ticket");

	/* Taken by anna, acked by bo: 409 already_taken by anna. */
	new_ticket(ref);
	post_action("test-anna-token", ref, "take", NULL, &r);
	HX_CHECK(r.status == 200 && strcmp(str(r.json, "state"), "taken") == 0, "take: %ld %s",
	         r.status, r.body);
	hx_resp_free(&r);
	post_action("test-bo-token", ref, "ack", NULL, &r);
	hx_check_error(&r, 409, "already_taken", "ack a ticket anna took");
	json_t *by = json_object_get(json_object_get(r.json, "error"), "by");
	HX_CHECK(json_is_string(by) && strcmp(json_string_value(by), "anna") == 0,
	         "409 without by=anna: %s", r.body);
	hx_resp_free(&r);
	/* The admin socket acting as bo gets the same answer. */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/take", ref);
	r = hx_admin(&h, "POST", path, "{\"by\": \"bo\"}");
	hx_check_error(&r, 409, "already_taken", "bo takes a ticket anna took");
	hx_resp_free(&r);
	/* anna taking it again is harmless. */
	post_action("test-anna-token", ref, "take", NULL, &r);
	HX_CHECK(r.status == 200 && json_is_false(json_object_get(r.json, "changed")),
	         "repeat take: %ld %s", r.status, r.body);
	hx_resp_free(&r);
	/* Refs are case-insensitive on input. */
	char lower[16];
	for (size_t i = 0; i < sizeof(lower); i++)
		lower[i] = (char)(ref[i] >= 'A' && ref[i] <= 'Z' ? ref[i] + 32 : ref[i]);
	json_t *t = hx_ticket(&h, lower);
	HX_CHECK(strcmp(str(t, "ref"), ref) == 0 && strcmp(str(t, "taken_by"), "anna") == 0);
	json_decref(t);
	check_alive("already_taken");
}

struct mqtt_case {
	const char *name;
	const char *kind; /* report or ack */
	const char *payload;
	size_t len; /* 0: strlen */
	const char *code;
};

static void run_mqtt_cases(void)
{
	struct hx_device *jens = hx_device_connect(&h, "jens-handheld");
	struct hx_device *anna = hx_device_connect(&h, "anna-phone");
	char ref[16];
	new_ticket(ref);
	char bad_rep[160], ack_noaction[128], ack_badnid[128], ack_reason[160];
	snprintf(bad_rep, sizeof(bad_rep),
	         "{\"report_id\": \"b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e12\", \"text\": 5}");
	snprintf(ack_noaction, sizeof(ack_noaction), "{\"ticket\": \"%s\"}", ref);
	snprintf(ack_badnid, sizeof(ack_badnid),
	         "{\"ticket\": \"%s\", \"action\": \"ack\", \"notification_id\": \"x\"}", ref);
	snprintf(ack_reason, sizeof(ack_reason),
	         "{\"ticket\": \"%s\", \"action\": \"resolve\", \"reason\": [1]}", ref);
	static const char binary[] = {'\x00', '\xff', '{', '\x01', '"', '\xfe', '}'};
	char *huge = malloc(MAX_BODY + 2000);
	memset(huge, ' ', MAX_BODY + 2000);
	huge[0] = '{';
	huge[MAX_BODY + 1999] = '}';

	const struct mqtt_case cases[] = {
	    {"report: not JSON", "report", "this is not json", 0, "malformed_json"},
	    {"report: binary", "report", binary, sizeof(binary), "malformed_json"},
	    {"report: empty", "report", "", 0, "malformed_json"},
	    {"report: a JSON string", "report", "\"report\"", 0, "malformed_json"},
	    {"report: text 5", "report", bad_rep, 0, "invalid_field"},
	    {"report: over max_body", "report", huge, MAX_BODY + 2000, "too_large"},
	    {"ack: not JSON", "ack", "{{{", 0, "malformed_json"},
	    {"ack: binary", "ack", binary, sizeof(binary), "malformed_json"},
	    {"ack: no action", "ack", ack_noaction, 0, "invalid_field"},
	    {"ack: ticket a number", "ack", "{\"ticket\": 5, \"action\": \"ack\"}", 0,
	     "invalid_field"},
	    {"ack: notification_id a string", "ack", ack_badnid, 0, "invalid_field"},
	    {"ack: reason an array", "ack", ack_reason, 0, "invalid_field"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mqtt_case *c = &cases[i];
		struct hx_device *d = strcmp(c->kind, "report") == 0 ? jens : anna;
		char topic[128];
		snprintf(topic, sizeof(topic), "careline/v1/dev/%s/%s",
		         d == jens ? "jens-handheld" : "anna-phone", c->kind);
		hx_device_publish_raw(d, topic, c->payload, c->len ? c->len : strlen(c->payload));
		json_t *e = hx_device_wait(d, "error", NULL, 5000);
		HX_CHECK(e, "%s: no error message on the inbox", c->name);
		json_t *err = json_object_get(e, "error");
		HX_CHECK(json_is_string(json_object_get(err, "code")) &&
		             json_is_string(json_object_get(err, "message")),
		         "%s: error without code and message", c->name);
		HX_CHECK(strcmp(str(err, "code"), c->code) == 0, "%s: code %s, expected %s",
		         c->name, str(err, "code"), c->code);
		json_decref(e);
		/* Alerts for check_alive's reports may reach whoever is on duty
		 * (which depends on today's date); only they may be queued. */
		for (json_t *alert; (alert = hx_device_wait(d, "alert", NULL, 0));)
			json_decref(alert);
		HX_CHECK(hx_device_pending(d) == 0, "%s: extra messages", c->name);
		check_alive(c->name);
	}
	free(huge);

	/* An ack that is well-formed but wrong is an ack_result with ok false. */
	char ack[160];
	snprintf(ack, sizeof(ack), "{\"ticket\": \"ZZZZZ\", \"action\": \"ack\"}");
	hx_device_publish(anna, "ack", ack);
	json_t *res = hx_device_wait(anna, "ack_result", NULL, 5000);
	HX_CHECK(res && json_is_false(json_object_get(res, "ok")), "ack of unknown ticket");
	HX_CHECK(strcmp(str(res, "error"), "unknown_ticket") == 0, "error %s", str(res, "error"));
	json_decref(res);
	snprintf(ack, sizeof(ack),
	         "{\"ticket\": \"%s\", \"action\": \"ack\", "
	         "\"notification_id\": 999999}",
	         ref);
	hx_device_publish(anna, "ack", ack);
	res = hx_device_wait(anna, "ack_result", ref, 5000);
	HX_CHECK(res && json_is_false(json_object_get(res, "ok")), "ack of unknown notification");
	json_decref(res);
	/* A device careline does not know is ignored, and harms nothing. */
	hx_device_publish_raw(jens, "careline/v1/dev/nobody/report", "{}", 2);
	check_alive("unknown device");
	/* A good report from the handheld still gets its receipt. */
	char *good = valid_report();
	hx_device_publish(jens, "report", good);
	free(good);
	json_t *rc = hx_device_wait(jens, "receipt", NULL, 5000);
	HX_CHECK(rc && str(rc, "ticket"), "no receipt after the garbage");
	json_decref(rc);
	hx_device_free(jens);
	hx_device_free(anna);
}

int main(void)
{
	hx_watchdog(90);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[http]\nmax_body = %d\n"
	         "[policy slow]\nstep = primary 60\nfinal = backup 60\n"
	         "[team opsoegende]\npolicy = slow\n",
	         MAX_BODY);
	hx_start_daemon(&h, NULL);
	run_http_cases();
	run_transitions();
	run_mqtt_cases();
	printf("%d cases, each followed by /healthz and a valid report\n", n_alive_checks);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	printf("05-bad-input: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
