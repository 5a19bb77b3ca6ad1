/*
 * gateway/carelinectl.c: the admin tool. It speaks the careline HTTP API
 * over the daemon's Unix socket (libcurl), never the database: tickets, show,
 * ack/decline/take/resolve/note, oncall, status and report. Output is a
 * short human-readable form, or the API's JSON with --json.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/audit.h"
#include "careline/config.h"
#include "careline/crypto.h"
#include "app_client.h"

struct opts {
	const char *socket;
	const char *config;
	bool json;
	bool all;
	bool anonymous;
	const char *team;
	const char *as;
	const char *reason;
	const char *at;
	const char *text;
	const char *person;
	const char *replaces;
	const char *from;
	const char *to;
	const char *duty;
	const char *device_id;
	const char *pubkey;
	bool generate;
	const char *out;
	bool dry_run;
	const char *ticket;
	const char *anchor;
};

struct body {
	char *s;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t add = size * n;
	char *s = realloc(b->s, b->len + add + 1);
	if (!s)
		return 0;
	memcpy(s + b->len, ptr, add);
	b->s = s;
	b->len += add;
	s[b->len] = '\0';
	return add;
}

/* One request to the daemon: the HTTP status (0 if unreachable) and the
 * raw body in *b (caller frees b->s). */
static long transfer(const struct opts *o, const char *method, const char *path,
                     const char *payload, struct body *b)
{
	CURL *c = curl_easy_init();
	if (!c)
		return 0;
	char url[512];
	snprintf(url, sizeof(url), "http://careline%s", path);
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, o->socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (payload)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	long status = 0;
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "carelinectl: cannot reach careline at %s: %s\n", o->socket,
		        curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return status;
}

/* One request to the daemon; returns the HTTP status (0 if unreachable) and
 * the parsed JSON body (caller decrefs), or the raw text in *raw. */
static long call(const struct opts *o, const char *method, const char *path, json_t *req,
                 json_t **resp, char **raw)
{
	struct body b = {0};
	char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
	long status = transfer(o, method, path, payload, &b);
	free(payload);
	*resp = b.s ? json_loads(b.s, 0, NULL) : NULL;
	if (raw)
		*raw = b.s;
	else
		free(b.s);
	return status;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : "-";
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
}

/* Print an error answer; returns the exit code. */
static int failed(long status, json_t *resp)
{
	if (!status)
		return 3;
	json_t *e = json_object_get(resp, "error");
	fprintf(stderr, "error %ld: %s: %s%s%s\n", status, str(e, "code"), str(e, "message"),
	        json_object_get(e, "by") ? " by " : "",
	        json_object_get(e, "by") ? str(e, "by") : "");
	return 1;
}

static void categories(json_t *t, char *buf, size_t len)
{
	size_t used = 0;
	json_t *v;
	size_t i;
	buf[0] = '\0';
	json_array_foreach(json_object_get(t, "categories"), i, v)
	{
		int n =
		    snprintf(buf + used, len - used, "%s%s", i ? "," : "", json_string_value(v));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static int cmd_tickets(const struct opts *o)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/tickets?state=%s%s%s", o->all ? "all" : "open",
	         o->team ? "&team=" : "", o->team ? o->team : "");
	json_t *resp;
	long status = call(o, "GET", path, NULL, &resp, NULL);
	int rc = 0;
	if (status != 200) {
		rc = failed(status, resp);
	} else if (o->json) {
		print_json(resp);
	} else {
		printf("%-7s %-13s %-3s %-26s %-10s %-10s %-10s %s\n", "REF", "STATE", "URG",
		       "CATEGORIES", "AREA", "ACKED_BY", "TAKEN_BY", "CREATED");
		json_t *t;
		size_t i;
		json_array_foreach(json_object_get(resp, "tickets"), i, t)
		{
			char cats[128];
			categories(t, cats, sizeof(cats));
			printf("%-7s %-13s %-3s %-26s %-10s %-10s %-10s %s\n", str(t, "ref"),
			       str(t, "state"), str(t, "urgency"), cats, str(t, "area"),
			       str(t, "acked_by"), str(t, "taken_by"), str(t, "created_at"));
		}
	}
	json_decref(resp);
	return rc;
}

static int cmd_show(const struct opts *o, const char *ref)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s", ref);
	json_t *resp;
	long status = call(o, "GET", path, NULL, &resp, NULL);
	int rc = 0;
	if (status != 200) {
		rc = failed(status, resp);
	} else if (o->json) {
		print_json(resp);
	} else {
		char cats[128];
		categories(resp, cats, sizeof(cats));
		printf("ticket   %s (%s, %s)\nstate    %s\ncategory %s\narea     %s  team %s\n"
		       "acked    %s  taken %s\nlinked   %s\n",
		       str(resp, "ref"), str(resp, "urgency"), str(resp, "kind"),
		       str(resp, "state"), cats, str(resp, "area_name"), str(resp, "team"),
		       str(resp, "acked_by"), str(resp, "taken_by"), str(resp, "linked_to"));
		json_t *r;
		size_t i;
		json_array_foreach(json_object_get(resp, "reports"), i, r)
		{
			printf("report   %s via %s\n  text    %s\n", str(r, "received_at"),
			       str(r, "via"), str(r, "text"));
			json_t *addr = json_object_get(r, "address");
			if (addr)
				printf("  address %s\n", str(addr, "text"));
		}
		json_t *rec;
		json_array_foreach(json_object_get(resp, "recordings"), i, rec) printf(
		    "recording %lld %s %llds%s\n",
		    (long long)json_integer_value(json_object_get(rec, "id")), str(rec, "state"),
		    (long long)json_integer_value(json_object_get(rec, "duration_s")),
		    json_is_true(json_object_get(rec, "deleted_at_provider"))
		        ? ""
		        : " (still at the provider)");
		json_t *e;
		json_array_foreach(json_object_get(resp, "events"), i, e)
		    printf("event    %s %-10s %-11s %s -> %s %s\n", str(e, "at"), str(e, "actor"),
		           str(e, "event"), str(e, "from"), str(e, "to"),
		           json_object_get(e, "detail") ? str(e, "detail") : "");
	}
	json_decref(resp);
	return rc;
}

/* recording REF [ID] --out FILE: a call's message as WAV (the read is
 * recorded on the ticket). Without ID: the ticket's first stored recording. */
static int cmd_recording(const struct opts *o, int argc, char **argv)
{
	if (argc < 1 || !o->out) {
		fprintf(stderr,
		        "usage: carelinectl recording REF [ID] --out FILE (- for stdout)\n");
		return 2;
	}
	long long id = argc > 1 ? atoll(argv[1]) : 0;
	char path[160];
	if (!id) {
		snprintf(path, sizeof(path), "/api/v1/tickets/%s", argv[0]);
		json_t *resp;
		long status = call(o, "GET", path, NULL, &resp, NULL);
		if (status != 200)
			return failed(status, resp);
		json_t *rec;
		size_t i;
		json_array_foreach(json_object_get(resp, "recordings"), i, rec)
		{
			if (!id && strcmp(str(rec, "state"), "stored") == 0)
				id = (long long)json_integer_value(json_object_get(rec, "id"));
		}
		json_decref(resp);
		if (!id) {
			fprintf(stderr, "carelinectl: %s has no stored recording\n", argv[0]);
			return 1;
		}
	}
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/recordings/%lld", argv[0], id);
	struct body b = {0};
	long status = transfer(o, "GET", path, NULL, &b);
	int rc = 0;
	if (status != 200) {
		json_t *resp = b.s ? json_loads(b.s, 0, NULL) : NULL;
		rc = failed(status, resp);
		json_decref(resp);
	} else {
		FILE *f = strcmp(o->out, "-") == 0 ? stdout : fopen(o->out, "wb");
		if (!f || fwrite(b.s, 1, b.len, f) != b.len) {
			fprintf(stderr, "carelinectl: cannot write %s\n", o->out);
			rc = 1;
		}
		if (f && f != stdout && fclose(f) != 0)
			rc = 1;
		if (rc == 0 && f != stdout)
			fprintf(stderr, "wrote %s (%zu bytes)\n", o->out, b.len);
	}
	if (b.s)
		cl_crypto_wipe(b.s, b.len);
	free(b.s);
	return rc;
}

static int cmd_action(const struct opts *o, const char *verb, const char *ref)
{
	if (!o->as) {
		fprintf(stderr, "carelinectl %s: --as PERSON is required\n", verb);
		return 2;
	}
	json_t *req = json_pack("{s:s}", "by", o->as);
	if (o->reason)
		json_object_set_new(req, "reason", json_string(o->reason));
	if (o->text)
		json_object_set_new(req, "note", json_string(o->text));
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/%s", ref, verb);
	json_t *resp;
	long status = call(o, "POST", path, req, &resp, NULL);
	json_decref(req);
	int rc = 0;
	if (status != 200)
		rc = failed(status, resp);
	else if (o->json)
		print_json(resp);
	else
		printf("%s: %s%s\n", str(resp, "ticket"), str(resp, "state"),
		       json_is_false(json_object_get(resp, "changed")) ? " (already so)" : "");
	json_decref(resp);
	return rc;
}

static int cmd_oncall(const struct opts *o, const char *team)
{
	char path[256];
	char *at = o->at ? curl_easy_escape(NULL, o->at, 0) : NULL;
	snprintf(path, sizeof(path), "/api/v1/oncall?team=%s%s%s", team, at ? "&at=" : "",
	         at ? at : "");
	curl_free(at);
	json_t *resp;
	long status = call(o, "GET", path, NULL, &resp, NULL);
	int rc = 0;
	if (status != 200)
		rc = failed(status, resp);
	else if (o->json)
		print_json(resp);
	else {
		printf("%s at %s (Copenhagen): primary %s (%s), back-up %s (%s); shift %s to %s\n",
		       str(resp, "team"), str(resp, "at_local"), str(resp, "primary"),
		       str(resp, "source"), str(resp, "backup"), str(resp, "backup_source"),
		       str(resp, "shift_start"), str(resp, "shift_end"));
		if (json_is_false(json_object_get(resp, "service_open")))
			printf("the team is closed%s%s%s; next opening %s\n",
			       json_object_get(resp, "holiday") ? " (" : "",
			       json_object_get(resp, "holiday") ? str(resp, "holiday") : "",
			       json_object_get(resp, "holiday") ? ")" : "", str(resp, "next_open"));
	}
	json_decref(resp);
	return rc;
}

/* override add TEAM --person P --from T --to T [--replaces Q] [--duty backup]
 * [--text NOTE] | override list [TEAM] | override remove ID */
static int cmd_override(const struct opts *o, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "list";
	json_t *resp = NULL;
	long status;
	int rc = 0;
	if (strcmp(verb, "list") == 0) {
		char path[160];
		snprintf(path, sizeof(path), "/api/v1/overrides%s%s", argc > 1 ? "?team=" : "",
		         argc > 1 ? argv[1] : "");
		status = call(o, "GET", path, NULL, &resp, NULL);
		if (status != 200) {
			rc = failed(status, resp);
		} else if (o->json) {
			print_json(resp);
		} else {
			json_t *v;
			size_t i;
			json_array_foreach(json_object_get(resp, "overrides"), i, v) printf(
			    "%-4lld %-12s %-8s %-10s replaces %-10s %s to %s %s\n",
			    (long long)json_integer_value(json_object_get(v, "id")), str(v, "team"),
			    str(v, "duty"), str(v, "person"), str(v, "replaces"), str(v, "start"),
			    str(v, "end"), json_object_get(v, "note") ? str(v, "note") : "");
		}
	} else if (strcmp(verb, "add") == 0 && argc > 1) {
		if (!o->person || !o->from || !o->to) {
			fprintf(stderr,
			        "carelinectl override add TEAM --person P --from TIME --to TIME "
			        "[--replaces Q] [--duty backup] [--text NOTE]\n");
			return 2;
		}
		json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "team", argv[1], "person",
		                        o->person, "start", o->from, "end", o->to, "duty",
		                        o->duty ? o->duty : "primary");
		if (o->replaces)
			json_object_set_new(req, "replaces", json_string(o->replaces));
		if (o->text)
			json_object_set_new(req, "note", json_string(o->text));
		status = call(o, "POST", "/api/v1/overrides", req, &resp, NULL);
		json_decref(req);
		if (status != 201)
			rc = failed(status, resp);
		else if (o->json)
			print_json(resp);
		else
			printf("override %lld: %s is %s for %s from %s to %s\n",
			       (long long)json_integer_value(json_object_get(resp, "id")),
			       str(resp, "person"), str(resp, "duty"), str(resp, "team"),
			       str(resp, "start"), str(resp, "end"));
	} else if (strcmp(verb, "remove") == 0 && argc > 1) {
		char path[96];
		snprintf(path, sizeof(path), "/api/v1/overrides/%s", argv[1]);
		status = call(o, "DELETE", path, NULL, &resp, NULL);
		if (status != 200)
			rc = failed(status, resp);
		else
			printf("override %s removed\n", argv[1]);
	} else {
		fprintf(stderr, "carelinectl override add|list|remove ...\n");
		return 2;
	}
	json_decref(resp);
	return rc;
}

/* device add --person P [--id ID] [--pubkey B64 | --generate] | device list
 * | device revoke ID */
static int cmd_device(const struct opts *o, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "list";
	json_t *resp = NULL;
	long status;
	int rc = 0;
	if (strcmp(verb, "list") == 0) {
		status = call(o, "GET", "/api/v1/devices", NULL, &resp, NULL);
		if (status != 200) {
			rc = failed(status, resp);
		} else if (o->json) {
			print_json(resp);
		} else {
			json_t *v;
			size_t i;
			printf("%-20s %-10s %-10s %-7s %-8s %s\n", "DEVICE", "PERSON", "SOURCE",
			       "SEALED", "ONLINE", "STATE");
			json_array_foreach(json_object_get(resp, "devices"), i, v)
			{
				json_t *online = json_object_get(v, "online");
				printf("%-20s %-10s %-10s %-7s %-8s %s\n", str(v, "id"),
				       str(v, "person"), str(v, "source"),
				       json_is_string(json_object_get(v, "pubkey")) ? "yes" : "no",
				       json_is_true(online)    ? "yes"
				       : json_is_false(online) ? "no"
				                               : "-",
				       json_is_true(json_object_get(v, "revoked")) ? "revoked"
				                                                   : "active");
			}
		}
	} else if (strcmp(verb, "add") == 0) {
		if (!o->person || (o->pubkey && o->generate)) {
			fprintf(stderr, "carelinectl device add --person P [--id ID] "
			                "[--pubkey BASE64 | --generate]\n");
			return 2;
		}
		unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES], sk[CL_CRYPTO_BOX_KEY_BYTES];
		char pk_b64[CL_CRYPTO_KEY_B64], sk_b64[CL_CRYPTO_KEY_B64];
		if (o->generate) {
			if (cl_crypto_box_keypair(pk, sk) != CL_OK) {
				fprintf(stderr, "carelinectl: no keypair (libsodium)\n");
				return 1;
			}
			cl_crypto_key_to_base64(pk, pk_b64);
			cl_crypto_key_to_base64(sk, sk_b64);
			cl_crypto_wipe(sk, sizeof(sk));
		}
		json_t *req = json_pack("{s:s}", "person", o->person);
		if (o->device_id)
			json_object_set_new(req, "id", json_string(o->device_id));
		if (o->pubkey || o->generate)
			json_object_set_new(req, "pubkey",
			                    json_string(o->pubkey ? o->pubkey : pk_b64));
		status = call(o, "POST", "/api/v1/devices", req, &resp, NULL);
		json_decref(req);
		json_t *mqtt = json_object_get(resp, "mqtt");
		if (status != 201) {
			rc = failed(status, resp);
		} else if (o->json) {
			if (o->generate)
				json_object_set_new(resp, "secret_key", json_string(sk_b64));
			print_json(resp);
		} else {
			bool account = json_is_string(json_object_get(mqtt, "password"));
			printf("device %s for %s%s\n", str(resp, "id"), str(resp, "person"),
			       json_is_string(json_object_get(resp, "pubkey"))
			           ? " (messages to it are sealed to its key)"
			           : " (no key: its alerts carry no personal data)");
			printf("  MQTT username: %s\n", str(mqtt, "username"));
			if (account)
				printf(
				    "  MQTT password: %s   (shown once; the broker keeps a hash)\n",
				    str(mqtt, "password"));
			else
				printf("  MQTT password: none (the broker has no accounts: "
				       "[mqtt] accounts = none)\n");
			if (o->generate)
				printf(
				    "  secret key:    %s   (for the device only; careline does not "
				    "keep it)\n",
				    sk_b64);
			printf("Try it: carelinectl app --device %s%s%s%s%s --port %lld\n",
			       str(resp, "id"), account ? " --password " : "",
			       account ? str(mqtt, "password") : "",
			       o->generate ? " --secret-key " : "", o->generate ? sk_b64 : "",
			       (long long)json_integer_value(json_object_get(mqtt, "port")));
		}
		cl_crypto_wipe(sk_b64, sizeof(sk_b64));
	} else if (strcmp(verb, "revoke") == 0 && argc > 1) {
		char path[128];
		snprintf(path, sizeof(path), "/api/v1/devices/%s", argv[1]);
		status = call(o, "DELETE", path, NULL, &resp, NULL);
		if (status != 200)
			rc = failed(status, resp);
		else if (o->json)
			print_json(resp);
		else
			printf("device %s revoked; broker account: %s\n", argv[1],
			       str(resp, "broker_account"));
	} else {
		fprintf(stderr, "carelinectl device add|list|revoke ...\n");
		return 2;
	}
	json_decref(resp);
	return rc;
}

/* key rotate / key status: the field-encryption keys ("current 3, keys 2 3,
 * 120 values wait for re-encryption"). */
static void print_keys(json_t *resp)
{
	long long current = (long long)json_integer_value(json_object_get(resp, "current"));
	printf("current key %lld; held:", current);
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(resp, "held"), i, v)
	    printf(" %lld", (long long)json_integer_value(v));
	printf("%s\n", json_is_true(json_object_get(resp, "master_key_retired"))
	                   ? " (key 1 from the master key retired)"
	                   : "");
	json_array_foreach(json_object_get(resp, "keys"), i, v)
	    printf("key %-4lld %10lld values%s%s\n",
	           (long long)json_integer_value(json_object_get(v, "id")),
	           (long long)json_integer_value(json_object_get(v, "values")),
	           json_is_true(json_object_get(v, "current")) ? "  current" : "",
	           json_is_false(json_object_get(v, "held")) ? "  NOT HELD (unreadable)" : "");
	printf("pending re-encryption: %lld values%s\n",
	       (long long)json_integer_value(json_object_get(resp, "pending")),
	       json_is_true(json_object_get(resp, "reencrypting")) ? " (re-encrypting)" : "");
}

/* key [show]: careline's public key, to which apps seal reports; key rotate:
 * a new field-encryption key; key status: the keys and re-encryption. */
static int cmd_key(const struct opts *o, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "show";
	bool show = strcmp(verb, "show") == 0, rotate = strcmp(verb, "rotate") == 0;
	if (!show && !rotate && strcmp(verb, "status") != 0) {
		fprintf(stderr, "carelinectl key show|rotate|status\n");
		return 2;
	}
	json_t *resp = NULL;
	long status = show     ? call(o, "GET", "/api/v1/key", NULL, &resp, NULL)
	              : rotate ? call(o, "POST", "/api/v1/keys/rotate", NULL, &resp, NULL)
	                       : call(o, "GET", "/api/v1/keys", NULL, &resp, NULL);
	int rc = 0;
	if (status != 200)
		rc = failed(status, resp);
	else if (o->json)
		print_json(resp);
	else if (show)
		printf("%s\n", str(resp, "public_key"));
	else
		print_keys(resp);
	json_decref(resp);
	return rc;
}

static int cmd_status(const struct opts *o)
{
	json_t *resp;
	long status = call(o, "GET", "/readyz", NULL, &resp, NULL);
	if (!status)
		return 3;
	if (o->json)
		print_json(resp);
	else
		printf("careline %s: database %s, broker %s\n", str(resp, "status"),
		       str(resp, "database"), str(resp, "broker"));
	json_decref(resp);
	return status == 200 ? 0 : 1;
}

static int cmd_report(const struct opts *o)
{
	if (!o->text) {
		fprintf(stderr, "carelinectl report: --text is required\n");
		return 2;
	}
	unsigned char r[16];
	cl_crypto_random(r, sizeof(r));
	char id[40];
	snprintf(id, sizeof(id),
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
	         r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
	         r[15]);
	json_t *req = json_pack("{s:s, s:s, s:b}", "report_id", id, "text", o->text, "anonymous",
	                        o->anonymous);
	json_t *resp;
	long status = call(o, "POST", "/api/v1/reports", req, &resp, NULL);
	json_decref(req);
	int rc = 0;
	if (status != 201 && status != 200)
		rc = failed(status, resp);
	else if (o->json)
		print_json(resp);
	else
		printf("%s %s %s\n", str(resp, "ticket"), str(resp, "urgency"),
		       str(resp, "message"));
	json_decref(resp);
	return rc;
}

/* audit verify [--anchor N:HEX] | audit show --ticket REF */
static int cmd_audit(const struct opts *o, const char *what)
{
	char path[160];
	bool verify = what && strcmp(what, "verify") == 0;
	struct cl_audit_anchor anchor;
	if (verify && o->anchor && cl_audit_anchor_parse(o->anchor, &anchor) != CL_OK) {
		fprintf(stderr, "usage: carelinectl audit verify --anchor N:HEX, with N and HEX "
		                "from a log line \"audit.head id=N hash=HEX\"\n");
		return 2;
	}
	if (verify && o->anchor)
		snprintf(path, sizeof(path), "/api/v1/audit/verify?anchor=%s", o->anchor);
	else if (verify)
		snprintf(path, sizeof(path), "/api/v1/audit/verify");
	else if (what && strcmp(what, "show") == 0 && o->ticket)
		snprintf(path, sizeof(path), "/api/v1/audit?ticket=%s", o->ticket);
	else {
		fprintf(stderr, "usage: carelinectl audit verify [--anchor N:HEX] | audit show "
		                "--ticket REF\n");
		return 2;
	}
	json_t *resp;
	long status = call(o, "GET", path, NULL, &resp, NULL);
	int rc = 0;
	if (status != 200) {
		rc = failed(status, resp);
	} else if (o->json) {
		print_json(resp);
	} else if (verify) {
		long long n = (long long)json_integer_value(json_object_get(resp, "checked"));
		if (json_is_true(json_object_get(resp, "ok"))) {
			printf("audit chain ok: %lld events\n", n);
		} else {
			printf("audit chain BROKEN at event %lld (%s); %lld events walked\n",
			       (long long)json_integer_value(json_object_get(resp, "first_broken")),
			       str(resp, "reason"), n);
			rc = 1;
		}
	} else {
		json_t *e;
		size_t i;
		json_array_foreach(json_object_get(resp, "events"), i, e)
		    printf("%6lld %s %-10s %-24s %-18s %s\n",
		           (long long)json_integer_value(json_object_get(e, "id")), str(e, "at"),
		           str(e, "actor"), str(e, "action"), str(e, "object"),
		           json_object_get(e, "detail") ? str(e, "detail") : "");
	}
	json_decref(resp);
	return rc;
}

static int cmd_purge(const struct opts *o)
{
	json_t *req = json_pack("{s:b}", "dry_run", o->dry_run), *resp;
	long status = call(o, "POST", "/api/v1/purge", req, &resp, NULL);
	json_decref(req);
	int rc = 0;
	if (status != 200)
		rc = failed(status, resp);
	else if (o->json)
		print_json(resp);
	else
		printf("%s %lld tickets' personal data, %lld sender sessions\n",
		       o->dry_run ? "would erase" : "erased",
		       (long long)json_integer_value(json_object_get(resp, "tickets")),
		       (long long)json_integer_value(json_object_get(resp, "sessions")));
	json_decref(resp);
	return rc;
}

static int cmd_erase(const struct opts *o, const char *ref)
{
	if (!o->reason) {
		fprintf(stderr, "usage: carelinectl erase REF --reason CODE (e.g. gdpr_request)\n");
		return 2;
	}
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/erase", ref);
	json_t *req = json_pack("{s:s}", "reason", o->reason), *resp;
	long status = call(o, "POST", path, req, &resp, NULL);
	json_decref(req);
	int rc = 0;
	if (status != 200)
		rc = failed(status, resp);
	else if (o->json)
		print_json(resp);
	else
		printf("%s: personal data erased\n", ref);
	json_decref(resp);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: carelinectl [--socket PATH | --config FILE] [--json] COMMAND\n"
	    "  status                         is the daemon ready (database, broker)\n"
	    "  tickets [--all] [--team T]     open (or all) tickets, no personal data\n"
	    "  show REF                       one ticket with its reports and events\n"
	    "  recording REF [ID] --out FILE  a hotline message as WAV (the read is recorded)\n"
	    "  ack|decline|take REF --as PERSON\n"
	    "  resolve REF --as PERSON --reason REASON   (e.g. handed_over:home_care)\n"
	    "  note REF --as PERSON --text TEXT\n"
	    "  oncall TEAM [--at 'YYYY-MM-DD HH:MM']  who is on duty (Copenhagen time)\n"
	    "  report --text TEXT [--anonymous]       post a report (demo, tests)\n"
	    "  device add --person P [--id ID] [--pubkey B64 | --generate]\n"
	    "                                 register a device and make its broker account\n"
	    "  device list | device revoke ID\n"
	    "  key show                       careline's public key (apps seal reports to it)\n"
	    "  key rotate                     a new field-encryption key; old values are\n"
	    "                                 re-encrypted in the background\n"
	    "  key status                     keys held, values per key, pending re-encryption\n"
	    "  audit verify [--anchor N:HEX]  walk the audit chain; name the first broken link\n"
	    "                                 (N:HEX from the log's audit.head id=N hash=HEX)\n"
	    "  audit show --ticket REF        who did and saw what on a ticket\n"
	    "  purge [--dry-run]              erase what retention says is due (or count it)\n"
	    "  erase REF --reason CODE        erase one ticket's personal data (e.g. "
	    "gdpr_request)\n"
	    "  app --device ID [--password PW] [--host H --port P] [--secret-key B64]\n"
	    "      [--careline-key B64] [--seal] [--once CMD]... | app --generate\n"
	    "                                 the reference device client over MQTT\n"
	    "The socket defaults to the admin_socket of the configuration (var/careline.sock).\n");
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct gw_app_opts app = {0};
	static const struct option long_opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"all", no_argument, NULL, 'a'},
	    {"team", required_argument, NULL, 't'},
	    {"as", required_argument, NULL, 'u'},
	    {"reason", required_argument, NULL, 'r'},
	    {"at", required_argument, NULL, 'A'},
	    {"text", required_argument, NULL, 'x'},
	    {"anonymous", no_argument, NULL, 'n'},
	    {"person", required_argument, NULL, 'P'},
	    {"replaces", required_argument, NULL, 'R'},
	    {"from", required_argument, NULL, 'F'},
	    {"to", required_argument, NULL, 'T'},
	    {"duty", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    /* carelinectl app (gateway/app_client.c) */
	    {"device", required_argument, NULL, 0x100},
	    {"password", required_argument, NULL, 0x101},
	    {"host", required_argument, NULL, 0x102},
	    {"port", required_argument, NULL, 0x103},
	    {"secret-key", required_argument, NULL, 0x104},
	    {"careline-key", required_argument, NULL, 0x105},
	    {"seal", no_argument, NULL, 0x106},
	    {"once", required_argument, NULL, 0x107},
	    {"print-keypair", no_argument, NULL, 0x108},
	    {"generate", no_argument, NULL, 0x108},
	    {"id", required_argument, NULL, 0x109},
	    {"pubkey", required_argument, NULL, 0x10a},
	    {"out", required_argument, NULL, 0x10b},
	    {"dry-run", no_argument, NULL, 0x10c},
	    {"ticket", required_argument, NULL, 0x10d},
	    {"anchor", required_argument, NULL, 0x10e},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 't':
			o.team = optarg;
			break;
		case 'u':
			o.as = optarg;
			break;
		case 'r':
			o.reason = optarg;
			break;
		case 'A':
			o.at = optarg;
			break;
		case 'x':
			o.text = optarg;
			break;
		case 'n':
			o.anonymous = true;
			break;
		case 'P':
			o.person = optarg;
			break;
		case 'R':
			o.replaces = optarg;
			break;
		case 'F':
			o.from = optarg;
			break;
		case 'T':
			o.to = optarg;
			break;
		case 'D':
			o.duty = optarg;
			break;
		case 0x100:
			app.device = optarg;
			break;
		case 0x101:
			app.password = optarg;
			break;
		case 0x102:
			app.host = optarg;
			break;
		case 0x103:
			app.port = optarg;
			break;
		case 0x104:
			app.secret_key = optarg;
			break;
		case 0x105:
			app.careline_key = optarg;
			break;
		case 0x106:
			app.seal = true;
			break;
		case 0x107:
			if (app.n_once < GW_APP_ONCE_MAX)
				app.once[app.n_once] = optarg;
			app.n_once++;
			break;
		case 0x108:
			app.print_keypair = true;
			o.generate = true;
			break;
		case 0x109:
			o.device_id = optarg;
			break;
		case 0x10a:
			o.pubkey = optarg;
			break;
		case 0x10b:
			o.out = optarg;
			break;
		case 0x10c:
			o.dry_run = true;
			break;
		case 0x10d:
			o.ticket = optarg;
			break;
		case 0x10e:
			o.anchor = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "app") == 0)
		return gw_app_run(&app);
	char socket_path[256];
	if (!o.socket)
		o.socket = getenv("CARELINE_SOCKET");
	if (!o.socket) {
		struct cl_config *cfg;
		char err[256];
		if (cl_config_load(o.config, &cfg, err, sizeof(err)) != CL_OK) {
			fprintf(stderr, "carelinectl: configuration: %s\n", err);
			return 2;
		}
		snprintf(socket_path, sizeof(socket_path), "%s", cfg->admin_socket);
		cl_config_free(cfg);
		o.socket = socket_path;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const char *cmd = argv[optind];
	const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	int rc = 2;
	if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&o);
	else if (strcmp(cmd, "tickets") == 0)
		rc = cmd_tickets(&o);
	else if (strcmp(cmd, "report") == 0)
		rc = cmd_report(&o);
	else if (strcmp(cmd, "override") == 0)
		rc = cmd_override(&o, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "device") == 0)
		rc = cmd_device(&o, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "key") == 0)
		rc = cmd_key(&o, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "audit") == 0)
		rc = cmd_audit(&o, arg);
	else if (strcmp(cmd, "purge") == 0)
		rc = cmd_purge(&o);
	else if (strcmp(cmd, "erase") == 0 && arg)
		rc = cmd_erase(&o, arg);
	else if (strcmp(cmd, "recording") == 0)
		rc = cmd_recording(&o, argc - optind - 1, argv + optind + 1);
	else if (!arg)
		usage(stderr);
	else if (strcmp(cmd, "show") == 0)
		rc = cmd_show(&o, arg);
	else if (strcmp(cmd, "oncall") == 0)
		rc = cmd_oncall(&o, arg);
	else if (strcmp(cmd, "ack") == 0 || strcmp(cmd, "decline") == 0 ||
	         strcmp(cmd, "take") == 0 || strcmp(cmd, "resolve") == 0 ||
	         strcmp(cmd, "note") == 0)
		rc = cmd_action(&o, cmd, arg);
	else
		usage(stderr);
	curl_global_cleanup();
	return rc;
}
