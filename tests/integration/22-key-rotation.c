/*
 * tests/integration/22-key-rotation.c: `carelinectl key rotate` under load.
 * 1,500 named reports (all seven encrypted fields), notes and MQTT reports
 * are stored under key 1; then a thread keeps posting reports over HTTP
 * (each with a distinct text and address) while the key is rotated twice:
 * the daemon is killed (-9) right after the first rotation is answered and
 * restarted (the keyring is reloaded, the re-encryption resumes), more load
 * and MQTT reports follow, then the second rotation. The test waits until
 * `key status` shows nothing pending and only the current key held, then
 * proves: every report (HTTP and MQTT) and note reads back through the API
 * with the text that was posted; every non-NULL encrypted column in the
 * SQLite file names the current key in its header; the keyring file (0600)
 * holds only the current key and "retired 1"; the MQTT public key (GET
 * /api/v1/key) and the keyed address hash (a new report links to an old
 * ticket) did not change; refs of tickets from before the rotations
 * resolve; the routes are admin-only; the log has the rotation, retirement
 * and progress lines and no key material.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/harness.h"

#define N_PRE     1500 /* before the first rotation, 4 threads */
#define N_MAX     8000 /* room for the continuous writer */
#define N_THREADS 4
#define N_MQTT    30
#define N_NOTES   20

static struct hx h = {.ctl_echo = true};
static char *out, *err;

struct item {
	char id[37];
	char text[160];
	char *body;
	long status;
	char ref[16];
	bool mqtt;
};

static struct item items[N_MAX + N_MQTT];
static atomic_int next_item;
static atomic_int limit_item;
static atomic_bool stop_writer;
static int answered; /* HTTP items answered (after the writers stopped) */

struct note {
	char ref[16];
	char text[96];
};
static struct note notes[N_NOTES];
static int n_notes;

/* carelinectl --socket PATH args... (NULL-terminated), printed; what it
 * printed stays in out and err until the next call. */
static int ctl(const char *first, ...) __attribute__((sentinel));
static int ctl(const char *first, ...)
{
	free(out);
	free(err);
	va_list ap;
	va_start(ap, first);
	int rc = hx_ctlv(&h, &out, &err, first, ap);
	va_end(ap);
	return rc;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* A named report with every encrypted field filled; text and address are
 * unique to i (no two reports link by address). */
static void make_item(int i, const char *via)
{
	struct item *it = &items[i];
	hx_uuid(it->id);
	char tag[9];
	snprintf(tag, sizeof(tag), "%.8s", it->id);
	snprintf(it->text, sizeof(it->text),
	         "rekey-%s-%04d %s: har ikke set manden i nr. %d i to uger", via, i, tag, i);
	char number[16], phone[16], name[48], resident[48];
	snprintf(number, sizeof(number), "%d", i + 1);
	snprintf(phone, sizeof(phone), "+4520%06d", i);
	snprintf(name, sizeof(name), "Jens Hansen %d", i);
	snprintf(resident, sizeof(resident), "Beboer %d", i);
	json_t *o = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s}, s:b, s:{s:s, s:s, s:s, s:s}, s:{s:s}, s:s,"
	    " s:{s:b, s:b}}",
	    "report_id", it->id, "text", it->text, "address", "street",
	    strcmp(via, "mqtt") == 0 ? "Mqttvej" : "Testvej", "number", number, "postcode", "8000",
	    "anonymous", 0, "reporter", "name", name, "phone", phone, "role", "caretaker", "org",
	    "Boligforeningen Vest", "resident", "name", resident, "observed_by", "måleraflæser",
	    "consent", "callback", 1, "disclose_name", 0);
	it->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	it->mqtt = strcmp(via, "mqtt") == 0;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	struct {
		char buf[2048];
		size_t len;
	} *b = ud;
	size_t add = size * n, room = sizeof(b->buf) - 1 - b->len;
	size_t take = add < room ? add : room;
	memcpy(b->buf + b->len, ptr, take);
	b->len += take;
	b->buf[b->len] = '\0';
	return add;
}

/* Post items until limit_item (or stop_writer); each is retried with its
 * report_id until answered (through the daemon's restart), so every item
 * handed out ends with a ticket. pace_ms between posts. */
static void *writer(void *arg)
{
	int pace_ms = (int)(intptr_t)arg;
	CURL *c = curl_easy_init();
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", h.http_port);
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Authorization: Bearer test-partner-token");
	hdr = curl_slist_append(hdr, "Expect:");
	for (;;) {
		int i = atomic_fetch_add(&next_item, 1);
		if (i >= atomic_load(&limit_item) || i >= N_MAX || atomic_load(&stop_writer))
			break;
		struct item *it = &items[i];
		for (int attempt = 0;; attempt++) {
			struct {
				char buf[2048];
				size_t len;
			} b = {.len = 0};
			b.buf[0] = '\0';
			curl_easy_setopt(c, CURLOPT_URL, url);
			curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
			long status = 0;
			if (curl_easy_perform(c) == CURLE_OK)
				curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			if (status == 200 || status == 201) {
				json_t *j = json_loads(b.buf, 0, NULL);
				snprintf(it->ref, sizeof(it->ref), "%s",
				         str(j, "ticket") ? str(j, "ticket") : "");
				json_decref(j);
				it->status = status;
				break;
			}
			if (status && status != 503)
				hx_fail("report %d answered %ld: %s", i, status, b.buf);
			if (attempt > 600)
				hx_fail("report %d not answered for a minute", i);
			hx_sleep_ms(100); /* the daemon is restarting */
		}
		if (pace_ms)
			hx_sleep_ms(pace_ms);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return NULL;
}

/* --- MQTT and notes -------------------------------------------------------------- */

static struct hx_device *jens;
static int n_mqtt;

static void mqtt_reports(int n)
{
	for (int k = 0; k < n && n_mqtt < N_MQTT; k++) {
		struct item *it = &items[N_MAX + n_mqtt];
		make_item(N_MAX + n_mqtt, "mqtt");
		n_mqtt++;
		hx_device_publish(jens, "report", it->body);
		json_t *rc = hx_device_wait(jens, "receipt", NULL, 15000);
		HX_CHECK(rc, "no receipt for MQTT report %s", it->id);
		HX_CHECK(strcmp(str(rc, "report_id"), it->id) == 0, "receipt for another report");
		snprintf(it->ref, sizeof(it->ref), "%s", str(rc, "ticket"));
		it->status = 201;
		json_decref(rc);
	}
}

static void add_notes(int n)
{
	for (int k = 0; k < n && n_notes < N_NOTES; k++) {
		struct note *nt = &notes[n_notes];
		/* On tickets from before the first rotation, spread out. */
		int i = (n_notes * 97) % N_PRE;
		snprintf(nt->ref, sizeof(nt->ref), "%s", items[i].ref);
		snprintf(nt->text, sizeof(nt->text),
		         "rekey-note-%02d: nøglen til opgangen er hos vicevært", n_notes);
		char path[96];
		snprintf(path, sizeof(path), "/api/v1/tickets/%s/note", nt->ref);
		json_t *o = json_pack("{s:s, s:s}", "by", "anna", "note", nt->text);
		char *body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		struct hx_resp r = hx_admin(&h, "POST", path, body);
		HX_CHECK(r.status == 200, "note on %s: %ld %s", nt->ref, r.status, r.body);
		hx_resp_free(&r);
		free(body);
		n_notes++;
	}
}

/* --- status ------------------------------------------------------------------------ */

static json_t *key_status(void)
{
	HX_CHECK(ctl("--json", "key", "status", NULL) == 0, "key status");
	json_t *j = json_loads(out, 0, NULL);
	HX_CHECK(j, "key status --json printed no JSON");
	return j;
}

static char *public_key(void)
{
	struct hx_resp r = hx_http(&h, "GET", "/api/v1/key", "test-partner-token", NULL);
	HX_CHECK(r.status == 200 && str(r.json, "public_key"), "GET /api/v1/key: %ld", r.status);
	char *pk = strdup(str(r.json, "public_key"));
	hx_resp_free(&r);
	return pk;
}

/* --- the database, read-only ------------------------------------------------------- */

static const struct {
	const char *table, *column;
} enc_columns[] = {
    {"report", "text_enc"},          {"report", "address_enc"},
    {"report", "reporter_name_enc"}, {"report", "reporter_phone_enc"},
    {"report", "reporter_org_enc"},  {"report", "resident_name_enc"},
    {"report", "observed_by_enc"},   {"ticket_event", "note_enc"},
    {"recording", "audio_enc"},
};

static long long db_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		hx_fail("%s: %s", sql, sqlite3_errmsg(db));
	long long n = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Every non-NULL encrypted value: version 1, key id `current` (u32 LE). */
static long long db_check_headers(uint32_t current)
{
	sqlite3 *db;
	if (sqlite3_open_v2(h.db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		hx_fail("open %s read-only: %s", h.db_path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	char want[16];
	snprintf(want, sizeof(want), "01%02X%02X%02X%02X", current & 0xff, (current >> 8) & 0xff,
	         (current >> 16) & 0xff, current >> 24);
	long long total = 0;
	for (size_t i = 0; i < sizeof(enc_columns) / sizeof(enc_columns[0]); i++) {
		char sql[512];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s IS NOT NULL",
		         enc_columns[i].table, enc_columns[i].column);
		long long n = db_count(db, sql);
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM %s WHERE %s IS NOT NULL AND"
		         " (length(%s) < 45 OR hex(substr(%s, 1, 5)) <> '%s')",
		         enc_columns[i].table, enc_columns[i].column, enc_columns[i].column,
		         enc_columns[i].column, want);
		long long bad = db_count(db, sql);
		printf("  %-12s %-19s %6lld values, %lld not under key %u\n", enc_columns[i].table,
		       enc_columns[i].column, n, bad, current);
		HX_CHECK(bad == 0, "%lld values in %s.%s not under key %u", bad,
		         enc_columns[i].table, enc_columns[i].column, current);
		total += n;
	}
	long long texts = db_count(db, "SELECT count(*) FROM report WHERE text_enc IS NOT NULL");
	long long phones =
	    db_count(db, "SELECT count(*) FROM report WHERE reporter_phone_enc IS NOT NULL");
	long long notes_db =
	    db_count(db, "SELECT count(*) FROM ticket_event WHERE note_enc IS NOT NULL");
	HX_CHECK(texts >= answered + n_mqtt, "%lld texts in the database, %d reports answered",
	         texts, answered + n_mqtt);
	HX_CHECK(phones >= answered, "reporter phones missing: %lld", phones);
	HX_CHECK(notes_db == n_notes, "%lld notes in the database, %d posted", notes_db, n_notes);
	sqlite3_close(db);
	return total;
}

/* --- reading back through the API ---------------------------------------------------- */

static atomic_int next_read;
static atomic_int reads_ok;

static bool ticket_has_text(json_t *t, const char *text)
{
	json_t *r;
	size_t i;
	json_array_foreach(json_object_get(t, "reports"), i, r)
	{
		if (str(r, "text") && strcmp(str(r, "text"), text) == 0)
			return true;
	}
	return false;
}

static void *reader(void *arg)
{
	for (;;) {
		int i = atomic_fetch_add(&next_read, 1);
		if (i >= N_MAX + N_MQTT)
			break;
		struct item *it = &items[i];
		if (!it->status)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/api/v1/tickets/%s", it->ref);
		struct hx_resp r = hx_http(&h, "GET", path, "test-admin-token", NULL);
		HX_CHECK(r.status == 200, "GET %s (report %d): %ld %s", path, i, r.status, r.body);
		HX_CHECK(ticket_has_text(r.json, it->text), "ticket %s lacks the text of report %d",
		         it->ref, i);
		json_t *rep;
		size_t k;
		json_array_foreach(json_object_get(r.json, "reports"), k, rep)
		{
			if (strcmp(str(rep, "text"), it->text) != 0)
				continue;
			json_t *reporter = json_object_get(rep, "reporter");
			HX_CHECK(str(reporter, "name") &&
			             strncmp(str(reporter, "name"), "Jens Hansen ", 12) == 0,
			         "reporter name of report %d", i);
			HX_CHECK(str(rep, "callback_phone") && str(rep, "observed_by"),
			         "encrypted fields of report %d", i);
		}
		hx_resp_free(&r);
		atomic_fetch_add(&reads_ok, 1);
	}
	return NULL;
}

/* --- the scenario ------------------------------------------------------------------- */

static uint32_t rotate(int expect)
{
	HX_CHECK(ctl("--json", "key", "rotate", NULL) == 0, "key rotate");
	json_t *j = json_loads(out, 0, NULL);
	HX_CHECK(j, "key rotate --json printed no JSON");
	HX_CHECK(num(j, "current") == expect, "rotated to %lld, want %d", num(j, "current"),
	         expect);
	HX_CHECK(json_is_array(json_object_get(j, "keys")) && json_object_get(j, "pending"),
	         "rotate answer without keys/pending");
	HX_CHECK(num(j, "pending") > 0, "nothing pending right after a rotation");
	/* Answered after the keyring is on disk: it names the new key. */
	char path[320];
	snprintf(path, sizeof(path), "%s/careline.key.keys", h.dir);
	char *ring = hx_read_file(path, NULL);
	char cur[32];
	snprintf(cur, sizeof(cur), "\ncurrent %d\n", expect);
	HX_CHECK(ring && strstr(ring, cur), "keyring does not name key %d when answered", expect);
	free(ring);
	printf("rotated to key %d: %lld values pending\n", expect, num(j, "pending"));
	json_decref(j);
	return (uint32_t)expect;
}

int main(void)
{
	hx_watchdog(300);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 600\nfinal = backup 600\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);
	char *pk0 = public_key();
	jens = hx_device_connect(&h, "jens-handheld");
	for (int i = 0; i < N_MAX; i++)
		make_item(i, "http");

	/* Only the admin rotates or looks. */
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/keys/rotate", "test-partner-token", NULL);
	hx_check_error(&r, 403, "forbidden", "partner rotates");
	hx_resp_free(&r);
	r = hx_http(&h, "GET", "/api/v1/keys", "test-anna-token", NULL);
	hx_check_error(&r, 403, "forbidden", "worker reads keys");
	hx_resp_free(&r);
	r = hx_http(&h, "POST", "/api/v1/keys/rotate", NULL, NULL);
	hx_check_error(&r, 401, "unauthorized", "no token");
	hx_resp_free(&r);
	r = hx_admin(&h, "GET", "/api/v1/keys/rotate", NULL);
	hx_check_error(&r, 405, "method_not_allowed", "GET rotate");
	hx_resp_free(&r);

	/* Phase 1: everything under key 1. */
	json_t *st = key_status();
	HX_CHECK(num(st, "current") == 1 && num(st, "pending") == 0, "fresh status");
	json_decref(st);
	int64_t t_load = hx_now_ms();
	atomic_store(&limit_item, N_PRE);
	pthread_t th[N_THREADS];
	for (int i = 0; i < N_THREADS; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)(intptr_t)0) != 0)
			hx_fail("pthread_create");
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&next_item, N_PRE);
	printf("%d reports under key 1 in %lld ms\n", N_PRE, (long long)(hx_now_ms() - t_load));
	mqtt_reports(10);
	add_notes(8);
	st = key_status();
	HX_CHECK(num(st, "current") == 1 && num(st, "pending") == 0, "status under key 1");
	long long values_k1 = num(json_array_get(json_object_get(st, "keys"), 0), "values");
	HX_CHECK(values_k1 >= (long long)(N_PRE + 10) * 7 + 8, "only %lld values under key 1",
	         values_k1);
	json_decref(st);

	/* Phase 2: continuous load from here on. */
	atomic_store(&limit_item, N_MAX);
	pthread_t w;
	if (pthread_create(&w, NULL, writer, (void *)(intptr_t)2) != 0)
		hx_fail("pthread_create");
	hx_sleep_ms(300);

	/* The first rotation, then a crash right after its answer: more than
	 * 10,000 values wait, each batch of 200 a commit, and a second pass must
	 * find none, so the re-encryption is far from done at the kill. */
	rotate(2);
	hx_kill_daemon(&h);
	char ring_path[320];
	snprintf(ring_path, sizeof(ring_path), "%s/careline.key.keys", h.dir);
	char *ring = hx_read_file(ring_path, NULL);
	HX_CHECK(ring && !strstr(ring, "\nretired 1\n"), "key 1 retired before the kill");
	free(ring);
	size_t log_len = 0;
	char *log = hx_read_file(h.daemon_log, &log_len);
	size_t log_before_restart = log_len;
	free(log);
	hx_start_daemon(&h, NULL);
	log = hx_read_file(h.daemon_log, &log_len);
	HX_CHECK(log && strstr(log + log_before_restart, "event=crypto.keyring_loaded") &&
	             strstr(log + log_before_restart, "current=2"),
	         "the keyring was not reloaded");
	free(log);
	HX_CHECK(hx_device_wait_connected(jens, 10000), "jens did not reconnect");
	/* Pending re-encryption resumes after the restart. */
	int64_t t_wait = hx_now_ms();
	for (;;) {
		log = hx_read_file(h.daemon_log, &log_len);
		bool resumed = log && strstr(log + log_before_restart, "event=rekey.resumed") &&
		               strstr(log + log_before_restart, "event=rekey.progress moved=");
		free(log);
		if (resumed)
			break;
		HX_CHECK(hx_now_ms() - t_wait < 20000, "re-encryption did not resume");
		hx_sleep_ms(50);
	}
	mqtt_reports(10);
	add_notes(6);
	hx_sleep_ms(1000);

	/* The second rotation, with load before and after. */
	rotate(3);
	mqtt_reports(10);
	add_notes(6);
	hx_sleep_ms(1000);
	atomic_store(&stop_writer, true);
	pthread_join(w, NULL);
	int n_items = atomic_load(&next_item);
	if (n_items > N_MAX)
		n_items = N_MAX;
	for (int i = 0; i < n_items; i++)
		answered += items[i].status != 0;
	printf("%d HTTP reports answered (%d during the rotations), %d MQTT, %d notes\n", answered,
	       answered - N_PRE, n_mqtt, n_notes);

	/* Wait until nothing is pending and only key 3 is held. */
	int64_t t_drain = hx_now_ms();
	for (;;) {
		st = key_status();
		json_t *held = json_object_get(st, "held");
		bool done = num(st, "pending") == 0 &&
		            json_is_false(json_object_get(st, "reencrypting")) &&
		            json_array_size(held) == 1 &&
		            json_integer_value(json_array_get(held, 0)) == 3 &&
		            json_is_true(json_object_get(st, "master_key_retired"));
		if (done) {
			json_t *keys = json_object_get(st, "keys");
			HX_CHECK(json_array_size(keys) == 1 &&
			             num(json_array_get(keys, 0), "id") == 3,
			         "values under other keys remain");
			json_decref(st);
			break;
		}
		json_decref(st);
		HX_CHECK(hx_now_ms() - t_drain < 120000, "re-encryption not done after 120 s");
		hx_sleep_ms(200);
	}
	printf("re-encryption done %lld ms after the last load\n",
	       (long long)(hx_now_ms() - t_drain));
	HX_CHECK(ctl("key", "status", NULL) == 0 && strstr(out, "current key 3") &&
	             strstr(out, "pending re-encryption: 0 values"),
	         "key status (text)");

	/* Every report reads back with its text (all its fields decrypt). */
	int64_t t_read = hx_now_ms();
	for (int i = 0; i < N_THREADS; i++)
		if (pthread_create(&th[i], NULL, reader, NULL) != 0)
			hx_fail("pthread_create");
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	HX_CHECK(atomic_load(&reads_ok) == answered + n_mqtt, "%d of %d reports read back",
	         atomic_load(&reads_ok), answered + n_mqtt);
	printf("%d reports read back in %lld ms\n", atomic_load(&reads_ok),
	       (long long)(hx_now_ms() - t_read));
	for (int k = 0; k < n_notes; k++) {
		json_t *t = hx_ticket(&h, notes[k].ref);
		json_t *e;
		size_t i;
		bool found = false;
		json_array_foreach(json_object_get(t, "events"), i, e) found =
		    found || (str(e, "note") && strcmp(str(e, "note"), notes[k].text) == 0);
		HX_CHECK(found, "note %d on %s does not read back", k, notes[k].ref);
		json_decref(t);
	}

	/* The database: every value under key 3. */
	printf("database %s:\n", h.db_path);
	long long total = db_check_headers(3);
	printf("%lld encrypted values, all under key 3\n", total);

	/* The keyring: only key 3 and the master key's retirement, 0600. */
	struct stat sb;
	HX_CHECK(stat(ring_path, &sb) == 0 && (sb.st_mode & 07777) == 0600, "keyring mode %o",
	         (unsigned)(sb.st_mode & 07777));
	ring = hx_read_file(ring_path, NULL);
	HX_CHECK(ring && strncmp(ring, "careline-keyring 1\ncurrent 3\nretired 1\nkey 3 ", 45) == 0,
	         "keyring: %s", ring ? ring : "(none)");
	int key_lines = 0;
	for (const char *p = ring; (p = strstr(p, "\nkey ")); p++)
		key_lines++;
	HX_CHECK(key_lines == 1 && strstr(ring, "\nmac "), "keyring holds %d keys", key_lines);

	/* What must not change: the apps' public key, the lookup hash, refs. */
	char *pk1 = public_key();
	HX_CHECK(strcmp(pk0, pk1) == 0, "the MQTT public key changed: %s -> %s", pk0, pk1);
	char id[37];
	hx_uuid(id);
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "report_id", id, "text",
	                      "Har stadig ikke set manden", "address", "street", "Testvej",
	                      "number", "1", "postcode", "8000");
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	free(body);
	HX_CHECK(r.status == 201 && str(r.json, "linked_to") &&
	             strcmp(str(r.json, "linked_to"), items[0].ref) == 0,
	         "a report at an old ticket's address is not linked to it: %s", r.body);
	hx_resp_free(&r);
	json_t *t0 = hx_ticket(&h, items[0].ref);
	HX_CHECK(strcmp(str(t0, "ref"), items[0].ref) == 0, "old ref");
	json_decref(t0);

	/* The log: rotations, retirements, progress; no key material. */
	log = hx_read_file(h.daemon_log, &log_len);
	HX_CHECK(strstr(log, "event=crypto.key_rotated id=2") &&
	             strstr(log, "event=crypto.key_rotated id=3") &&
	             strstr(log, "event=crypto.key_retired id=1") &&
	             strstr(log, "event=crypto.key_retired id=2") &&
	             strstr(log, "event=rekey.progress moved=") && strstr(log, "event=rekey.done"),
	         "rotation log lines missing");
	const char *key3 = strstr(ring, "\nkey 3 ") + 7;
	char wrapped[24];
	snprintf(wrapped, sizeof(wrapped), "%.20s", key3);
	HX_CHECK(!strstr(log, wrapped), "key material in the log");
	printf("daemon log, rotation lines:\n");
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "event=rekey.") || strstr(line, "event=crypto.key"))
			printf("  %s\n", strstr(line, "event="));
	free(log);
	free(ring);
	free(pk0);
	free(pk1);

	hx_device_free(jens);
	free(out);
	free(err);
	out = err = NULL;
	for (int i = 0; i < N_MAX + N_MQTT; i++)
		free(items[i].body);
	int rc = hx_stop_daemon(&h); /* LeakSanitizer runs at this exit */
	HX_CHECK(rc == 0, "careline exit status %d on SIGTERM", rc);
	hx_stop(&h);
	printf("22-key-rotation: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
