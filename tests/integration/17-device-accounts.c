/*
 * tests/integration/17-device-accounts.c: the broker as production runs it
 * (dynamic-security plugin, no anonymous access) with device accounts made
 * by careline, and sealed payloads.
 *
 * - POST /api/v1/devices makes a device and its broker account; the device
 *   connects with the password it was given; anonymous and wrong passwords
 *   are refused.
 * - ACL: a device may publish only to its own report/ack/status and read only
 *   its own inbox (the broker says 135 to the rest).
 * - A report sealed to careline's key (GET /api/v1/key) becomes a ticket;
 *   the receipt, the alert (with the report's text and address) and the
 *   queue answer arrive sealed to the device's key and open with its secret
 *   key. A wildcard superuser on the broker sees every message and never a
 *   planted name, address or free-text phrase in clear.
 * - Malformed, oversized, badly sealed, unknown-device and replayed
 *   messages are answered or dropped as documented and counted in /metrics.
 * - Revoking a device disconnects it and its account can no longer connect;
 *   with require_sealed, a plain report is refused (sealed_required).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define PLANT_NAME    "Margrethe Vinterberg"
#define PLANT_STREET  "Ramsdalsvej"
#define PLANT_PHRASE  "lugter af gas ved hoveddoeren"
#define PLANT_REPORT  PLANT_NAME " i " PLANT_STREET " 19 " PLANT_PHRASE ", hun svarer ikke"
#define PLANT_ADDRESS PLANT_STREET " 19, 2. th, 8210 Aarhus V"

static struct hx h;

struct keypair {
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	char pk_b64[64];
};

static void make_keys(struct keypair *k)
{
	crypto_box_keypair(k->pk, k->sk);
	sodium_bin2base64(k->pk_b64, sizeof(k->pk_b64), k->pk, sizeof(k->pk),
	                  sodium_base64_VARIANT_ORIGINAL);
}

/* {"type": "sealed", "box": ...} of json to pk. Caller frees. */
static char *seal(const unsigned char *pk, const char *json)
{
	size_t len = strlen(json);
	unsigned char *box = malloc(len + crypto_box_SEALBYTES);
	HX_CHECK(box && crypto_box_seal(box, (const unsigned char *)json, len, pk) == 0);
	size_t b64_len =
	    sodium_base64_ENCODED_LEN(len + crypto_box_SEALBYTES, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64_len);
	sodium_bin2base64(b64, b64_len, box, len + crypto_box_SEALBYTES,
	                  sodium_base64_VARIANT_ORIGINAL);
	json_t *o = json_pack("{s:s, s:s}", "type", "sealed", "box", b64);
	char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(b64);
	free(box);
	return out;
}

/* Open a sealed inbox message with the device's keys; NULL if it does not. */
static json_t *open_box(const struct keypair *k, json_t *msg)
{
	const char *b64 = json_string_value(json_object_get(msg, "box"));
	if (!b64)
		return NULL;
	size_t cap = strlen(b64), len = 0;
	unsigned char *box = malloc(cap);
	unsigned char *plain = malloc(cap);
	json_t *inner = NULL;
	if (sodium_base642bin(box, cap, b64, strlen(b64), NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    len > crypto_box_SEALBYTES && crypto_box_seal_open(plain, box, len, k->pk, k->sk) == 0)
		inner = json_loadb((char *)plain, len - crypto_box_SEALBYTES, 0, NULL);
	free(box);
	free(plain);
	return inner;
}

/* The next sealed message whose inner type is type (an "alerts" bundle
 * counts as its first "alert"); others are skipped. */
static json_t *wait_sealed(struct hx_device *d, const struct keypair *k, const char *type)
{
	int64_t end = hx_now_ms() + 10000;
	while (hx_now_ms() < end) {
		json_t *msg = hx_device_wait(d, NULL, NULL, 500);
		if (!msg)
			continue;
		const char *outer = json_string_value(json_object_get(msg, "type"));
		HX_CHECK(outer && strcmp(outer, "sealed") == 0,
		         "everything to a device with a key is sealed, got type %s",
		         outer ? outer : "(none)");
		json_t *inner = open_box(k, msg);
		json_decref(msg);
		HX_CHECK(inner != NULL, "a sealed message opens with the device's secret key");
		const char *t = json_string_value(json_object_get(inner, "type"));
		if (t && strcmp(t, type) == 0)
			return inner;
		char plural[32];
		snprintf(plural, sizeof(plural), "%ss", type);
		if (t && strcmp(t, plural) == 0) {
			json_t *first =
			    json_incref(json_array_get(json_object_get(inner, plural), 0));
			json_decref(inner);
			return first;
		}
		json_decref(inner);
	}
	hx_fail("no sealed %s within 10 s", type);
}

/* A device made through the API: its password. */
static void add_device(const char *person, const char *id, const struct keypair *k, char *password,
                       size_t len)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"person\": \"%s\", \"id\": \"%s\", \"pubkey\": \"%s\"}",
	         person, id, k->pk_b64);
	struct hx_resp r = hx_admin(&h, "POST", "/api/v1/devices", body);
	HX_CHECK(r.status == 201, "device add: %ld %s", r.status, r.body ? r.body : "");
	const char *pw =
	    json_string_value(json_object_get(json_object_get(r.json, "mqtt"), "password"));
	HX_CHECK(pw && strlen(pw) >= 20, "a random password is returned");
	HX_CHECK(strcmp(json_string_value(json_object_get(r.json, "broker_account")), "created") ==
	         0);
	snprintf(password, len, "%s", pw);
	hx_resp_free(&r);
}

static long long metric(const char *event)
{
	struct hx_resp r = hx_http(&h, "GET", "/metrics", "test-admin-token", NULL);
	HX_CHECK(r.status == 200);
	char needle[128];
	snprintf(needle, sizeof(needle), "careline_mqtt_messages_total{event=\"%s\"} ", event);
	const char *p = strstr(r.body, needle);
	HX_CHECK(p != NULL, "metric %s present", event);
	long long v = atoll(p + strlen(needle));
	hx_resp_free(&r);
	return v;
}

static void wait_metric(const char *event, long long at_least)
{
	int64_t end = hx_now_ms() + 5000;
	while (metric(event) < at_least && hx_now_ms() < end)
		hx_sleep_ms(50);
	HX_CHECK(metric(event) >= at_least, "metric %s reaches %lld (is %lld)", event, at_least,
	         metric(event));
}

/* Everything the wildcard superuser saw must be free of the planted strings. */
static void no_plant(void *ctx, const char *topic, const char *payload, size_t len)
{
	int *seen = ctx;
	(*seen)++;
	const char *plants[] = {PLANT_NAME, PLANT_STREET, PLANT_PHRASE, "Vinterberg", "gas ved"};
	for (size_t i = 0; i < sizeof(plants) / sizeof(plants[0]); i++)
		HX_CHECK(!memmem(payload, len, plants[i], strlen(plants[i])),
		         "'%s' passed the broker in clear on %s", plants[i], topic);
}

int main(void)
{
	hx_watchdog(120);
	HX_CHECK(sodium_init() >= 0);
	h.dynsec = true;
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 600\nfinal = backup 600\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);

	/* The superuser: the dynamic-security admin, which may read everything. */
	struct hx_device *spy =
	    hx_subscriber_connect_as(&h, "observer", HX_DYNSEC_USER, HX_DYNSEC_PASSWORD, "#");

	/* --- accounts ------------------------------------------------------------ */
	HX_CHECK(hx_try_connect(&h, NULL, NULL) == 135, "anonymous access is off");
	char primary[48];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	struct keypair wk, ck;
	make_keys(&wk);
	make_keys(&ck);
	char wpw[64], cpw[64];
	add_device(primary, "worker-tab", &wk, wpw, sizeof(wpw));
	add_device("jens", "jens-tab", &ck, cpw, sizeof(cpw));
	HX_CHECK(hx_try_connect(&h, "worker-tab", "wrong-password") != 0, "a wrong password fails");
	struct hx_resp dup =
	    hx_admin(&h, "POST", "/api/v1/devices", "{\"person\": \"jens\", \"id\": \"jens-tab\"}");
	hx_check_error(&dup, 409, "exists", "the same device id twice");
	hx_resp_free(&dup);
	struct hx_resp bad = hx_admin(&h, "POST", "/api/v1/devices", "{\"person\": \"nobody\"}");
	hx_check_error(&bad, 400, "invalid_field", "an unknown person");
	hx_resp_free(&bad);
	struct hx_resp forbidden =
	    hx_http(&h, "POST", "/api/v1/devices", "test-anna-token", "{\"person\": \"anna\"}");
	hx_check_error(&forbidden, 403, "forbidden", "a worker token makes no devices");
	hx_resp_free(&forbidden);

	struct hx_device *worker = hx_device_connect_as(&h, "worker-tab", wpw);
	struct hx_device *jens = hx_device_connect_as(&h, "jens-tab", cpw);

	/* --- ACL --------------------------------------------------------------- */
	HX_CHECK(hx_publish_reason(jens, "careline/v1/dev/worker-tab/report", "{}") == 135,
	         "no publishing to another device's report");
	HX_CHECK(hx_publish_reason(jens, "careline/v1/dev/worker-tab/inbox", "{}") == 135,
	         "no publishing to an inbox");
	HX_CHECK(hx_publish_reason(jens, "elsewhere", "{}") == 135, "nothing outside its topics");
	HX_CHECK(hx_subscribe_reason(jens, "careline/v1/dev/worker-tab/inbox") == 135,
	         "no reading another device's inbox");
	HX_CHECK(hx_subscribe_reason(jens, "#") == 135, "no wildcard subscriptions");
	hx_device_publish(jens, "status", "online");

	/* --- a sealed report, sealed receipt and alert ------------------------------- */
	struct hx_resp key = hx_http(&h, "GET", "/api/v1/key", "test-partner-token", NULL);
	HX_CHECK(key.status == 200);
	unsigned char careline_pk[32];
	size_t pk_len = 0;
	const char *key_b64 = json_string_value(json_object_get(key.json, "public_key"));
	HX_CHECK(key_b64 &&
	         sodium_base642bin(careline_pk, sizeof(careline_pk), key_b64, strlen(key_b64), NULL,
	                           &pk_len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	         pk_len == 32);
	char key_b64_copy[64];
	snprintf(key_b64_copy, sizeof(key_b64_copy), "%s", key_b64);
	key_b64 = key_b64_copy;
	hx_resp_free(&key);

	char rid[37];
	hx_uuid(rid);
	json_t *report = json_pack("{s:s, s:s, s:s}", "report_id", rid, "text", PLANT_REPORT,
	                           "address", PLANT_ADDRESS);
	char *plain = json_dumps(report, JSON_COMPACT);
	json_decref(report);
	char *sealed = seal(careline_pk, plain);
	hx_device_publish(jens, "report", sealed);
	json_t *receipt = wait_sealed(jens, &ck, "receipt");
	HX_CHECK(strcmp(json_string_value(json_object_get(receipt, "report_id")), rid) == 0);
	const char *ref = json_string_value(json_object_get(receipt, "ticket"));
	HX_CHECK(ref != NULL, "the receipt names the ticket");
	char ticket[16];
	snprintf(ticket, sizeof(ticket), "%s", ref);
	json_decref(receipt);
	/* The retry with the same report_id: the same ticket, nothing new. */
	hx_device_publish(jens, "report", sealed);
	receipt = wait_sealed(jens, &ck, "receipt");
	HX_CHECK(strcmp(json_string_value(json_object_get(receipt, "ticket")), ticket) == 0);
	json_decref(receipt);
	free(sealed);

	json_t *alert = wait_sealed(worker, &wk, "alert");
	HX_CHECK(strcmp(json_string_value(json_object_get(alert, "ticket")), ticket) == 0);
	const char *text = json_string_value(json_object_get(alert, "text"));
	const char *address = json_string_value(json_object_get(alert, "address"));
	HX_CHECK(text && strstr(text, PLANT_PHRASE), "the sealed alert says what");
	HX_CHECK(address && strstr(address, PLANT_STREET), "the sealed alert says where");
	HX_CHECK(json_is_string(json_object_get(alert, "expires_at")),
	         "alerts say when they expire");
	json_int_t nid = json_integer_value(json_object_get(alert, "notification_id"));
	json_decref(alert);

	/* --- the team view, sealed in and out ------------------------------------ */
	char *queue = seal(careline_pk, "{\"type\": \"queue\", \"request_id\": \"q-1\"}");
	hx_device_publish(worker, "report", queue);
	free(queue);
	json_t *answer = wait_sealed(worker, &wk, "queue");
	HX_CHECK(strcmp(json_string_value(json_object_get(answer, "request_id")), "q-1") == 0);
	bool found = false;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(answer, "tickets"), i, t) found |=
	    strcmp(json_string_value(json_object_get(t, "ref")), ticket) == 0;
	HX_CHECK(found, "the queue holds the open ticket");
	json_decref(answer);

	/* --- ack, and the replay ------------------------------------------------- */
	char ack[128];
	snprintf(ack, sizeof(ack),
	         "{\"notification_id\": %lld, \"ticket\": \"%s\", \"action\": \"ack\"}",
	         (long long)nid, ticket);
	hx_device_publish(worker, "ack", ack);
	json_t *res = wait_sealed(worker, &wk, "ack_result");
	HX_CHECK(json_is_true(json_object_get(res, "ok")) &&
	         json_is_true(json_object_get(res, "changed")));
	json_decref(res);
	hx_device_publish(worker, "ack", ack);
	res = wait_sealed(worker, &wk, "ack_result");
	HX_CHECK(json_is_true(json_object_get(res, "ok")) &&
	             json_is_false(json_object_get(res, "changed")),
	         "a replayed ack changes nothing");
	json_decref(res);

	/* --- bad input ------------------------------------------------------------- */
	hx_device_publish(jens, "report", "{not json");
	json_t *err = wait_sealed(jens, &ck, "error");
	HX_CHECK(strcmp(json_string_value(json_object_get(json_object_get(err, "error"), "code")),
	                "malformed_json") == 0);
	json_decref(err);
	hx_device_publish(jens, "report", "{\"type\": \"sealed\", \"box\": \"AAAA\"}");
	err = wait_sealed(jens, &ck, "error");
	HX_CHECK(strcmp(json_string_value(json_object_get(json_object_get(err, "error"), "code")),
	                "bad_seal") == 0);
	json_decref(err);
	size_t big_len = 300 * 1024;
	char *big = malloc(big_len + 1);
	memset(big, 'x', big_len);
	big[big_len] = '\0';
	hx_device_publish(jens, "report", big);
	free(big);
	err = wait_sealed(jens, &ck, "error");
	HX_CHECK(strcmp(json_string_value(json_object_get(json_object_get(err, "error"), "code")),
	                "too_large") == 0);
	json_decref(err);
	/* The admin account may publish anywhere: a device careline does not know. */
	HX_CHECK(hx_publish_reason(spy, "careline/v1/dev/ghost/report", "{}") == 0);

	wait_metric("unknown_device", 1);
	HX_CHECK(metric("malformed") == 1 && metric("bad_seal") == 1 && metric("too_large") == 1);
	HX_CHECK(metric("action_replay") == 1 && metric("queue_request") == 1);
	HX_CHECK(metric("sealed_in") == 3, "two sealed reports and a sealed queue request");
	HX_CHECK(metric("sealed_out") >= 7);

	/* --- presence and the device list --------------------------------------- */
	struct hx_resp list = hx_admin(&h, "GET", "/api/v1/devices", NULL);
	HX_CHECK(list.status == 200);
	bool jens_online = false;
	json_array_foreach(json_object_get(list.json, "devices"), i, t)
	{
		if (strcmp(json_string_value(json_object_get(t, "id")), "jens-tab") == 0)
			jens_online = json_is_true(json_object_get(t, "online"));
		HX_CHECK(!json_object_get(t, "password"), "passwords are shown once only");
	}
	HX_CHECK(jens_online, "jens-tab said it is online");
	hx_resp_free(&list);

	/* --- revoke -------------------------------------------------------------- */
	struct hx_resp rev = hx_admin(&h, "DELETE", "/api/v1/devices/jens-tab", NULL);
	HX_CHECK(rev.status == 200 &&
	             strcmp(json_string_value(json_object_get(rev.json, "broker_account")),
	                    "disabled") == 0,
	         "revoke: %ld %s", rev.status, rev.body ? rev.body : "");
	hx_resp_free(&rev);
	HX_CHECK(hx_try_connect(&h, "jens-tab", cpw) == 135, "a revoked device cannot connect");
	rev = hx_admin(&h, "DELETE", "/api/v1/devices/jens-tab", NULL);
	hx_check_error(&rev, 404, "not_found", "revoking twice");
	hx_resp_free(&rev);
	rev = hx_admin(&h, "DELETE", "/api/v1/devices/anna-phone", NULL);
	hx_check_error(&rev, 409, "configured", "a configured device is revoked in the config");
	hx_resp_free(&rev);

	/* --- the same through carelinectl and the reference app --------------------- */
	const char *ctl = hx_carelinectl_bin();
	char *out = NULL;
	HX_CHECK(hx_ctl(&h, &out, NULL, "--json", "device", "add", "--person", "bo", "--id",
	                "bo-tab", "--generate", NULL) == 0,
	         "carelinectl device add: %s", out ? out : "");
	json_t *added = json_loads(out, 0, NULL);
	free(out);
	const char *bo_pw =
	    json_string_value(json_object_get(json_object_get(added, "mqtt"), "password"));
	const char *bo_sk = json_string_value(json_object_get(added, "secret_key"));
	HX_CHECK(bo_pw && bo_sk && json_is_string(json_object_get(added, "pubkey")));
	char port[16];
	snprintf(port, sizeof(port), "%d", h.mqtt_port);
	const char *app[] = {ctl,      "app",          "--device", "bo-tab", "--password",
	                     bo_pw,    "--secret-key", bo_sk,      "--port", port,
	                     "--once", "queue",        NULL};
	HX_CHECK(hx_run(app, &out, NULL) == 0, "the app connects with its account: %s",
	         out ? out : "");
	HX_CHECK(strstr(out, "QUEUE"), "the app shows the team's queue: %s", out);
	free(out);
	HX_CHECK(hx_ctl(&h, &out, NULL, "key", "show", NULL) == 0 &&
	             strncmp(out, key_b64, strlen(key_b64)) == 0,
	         "key show prints careline's public key");
	free(out);
	HX_CHECK(hx_ctl(&h, &out, NULL, "device", "list", NULL) == 0 && strstr(out, "bo-tab") &&
	             strstr(out, "revoked"),
	         "device list: %s", out ? out : "");
	free(out);
	HX_CHECK(hx_ctl(&h, &out, NULL, "device", "revoke", "bo-tab", NULL) == 0 &&
	             strstr(out, "disabled"),
	         "device revoke");
	free(out);
	char *err_out = NULL;
	int app_rc = hx_run(app, &out, &err_out);
	HX_CHECK(app_rc == 3, "a revoked device's app cannot connect: rc %d, %s", app_rc,
	         err_out ? err_out : "");
	free(out);
	free(err_out);
	json_decref(added); /* app[] points into it */

	/* --- require_sealed -------------------------------------------------------- */
	hx_stop_daemon(&h);
	strncat(h.extra_config, "[mqtt]\nrequire_sealed = yes\n",
	        sizeof(h.extra_config) - strlen(h.extra_config) - 1);
	hx_start_daemon(&h, NULL);
	HX_CHECK(hx_device_wait_connected(worker, 5000));
	char rid2[37];
	hx_uuid(rid2);
	char *plain2 = hx_report_json(rid2, "Trappen er glat");
	hx_device_publish(worker, "report", plain2);
	free(plain2);
	err = wait_sealed(worker, &wk, "error");
	HX_CHECK(strcmp(json_string_value(json_object_get(json_object_get(err, "error"), "code")),
	                "sealed_required") == 0);
	HX_CHECK(strcmp(json_string_value(json_object_get(err, "report_id")), rid2) == 0);
	json_decref(err);

	/* --- what the broker saw ---------------------------------------------------- */
	hx_sleep_ms(200);
	int seen = 0;
	hx_device_each(spy, no_plant, &seen);
	HX_CHECK(seen >= 10, "the superuser saw the traffic (%d messages)", seen);
	free(plain);

	hx_device_free(spy);
	hx_device_free(worker);
	hx_device_free(jens);
	hx_stop(&h);
	printf("17-device-accounts: ok (superuser saw %d messages, none with a planted string)\n",
	       seen);
	return 0;
}
