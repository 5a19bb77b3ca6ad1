/*
 * tests/integration/06-crash-restart.c: kill -9 under load loses nothing that
 * was answered. 8 client threads (each its own libcurl handle) post 2,000
 * reports with unique report_ids; when about half are answered, one more
 * report is posted to a team whose policy escalates after 3 s, and the
 * daemon is SIGKILLed. After a restart on the same database, the SQLite file
 * (opened read-only) holds every 201'd report_id exactly once (channel
 * "app", with its ticket, the ref it was answered with) and no id twice; the
 * back-up still gets the 3 s escalation (deadline rebuilt from SQLite); the
 * primary's device, connected only now, gets the alert that was pending in
 * the outbox at the kill; re-posting all 2,000 answers 200 duplicate with
 * the same ticket for every 201'd one, and the database ends with exactly
 * one report per id. Meanwhile a handheld publishes reports over MQTT: every
 * report it got a receipt for before the kill is stored once under the
 * receipt's ticket, and after the restart its retries get receipts naming
 * that ticket (duplicate) while the others are taken exactly once.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define N_REPORTS 2000
#define N_THREADS 8
#define ESC_MS    3000

static struct hx h;

struct item {
	char id[37];
	char *body;
	long status[2]; /* first run, re-post */
	char ticket[2][16];
	bool duplicate[2];
};

static struct item items[N_REPORTS];
static atomic_int next_item;
static atomic_int answered;
static int run; /* 0: before the kill, 1: re-post */

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	struct {
		char buf[1024];
		size_t len;
	} *b = ud;
	size_t add = size * n;
	size_t room = sizeof(b->buf) - 1 - b->len;
	size_t take = add < room ? add : room;
	memcpy(b->buf + b->len, ptr, take);
	b->len += take;
	b->buf[b->len] = '\0';
	return add;
}

static void *client(void *arg)
{
	CURL *c = curl_easy_init();
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/reports", h.http_port);
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Authorization: Bearer test-partner-token");
	hdr = curl_slist_append(hdr, "Expect:");
	for (;;) {
		int i = atomic_fetch_add(&next_item, 1);
		if (i >= N_REPORTS)
			break;
		struct item *it = &items[i];
		struct {
			char buf[1024];
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
		it->status[run] = status;
		if (status == 200 || status == 201) {
			json_t *j = json_loads(b.buf, 0, NULL);
			const char *ref = json_string_value(json_object_get(j, "ticket"));
			snprintf(it->ticket[run], sizeof(it->ticket[run]), "%s", ref ? ref : "");
			it->duplicate[run] = json_is_true(json_object_get(j, "duplicate"));
			json_decref(j);
			atomic_fetch_add(&answered, 1);
		}
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return NULL;
}

static void start_clients(pthread_t *th)
{
	atomic_store(&next_item, 0);
	atomic_store(&answered, 0);
	for (int i = 0; i < N_THREADS; i++)
		if (pthread_create(&th[i], NULL, client, NULL) != 0)
			hx_fail("pthread_create");
}

static void join_clients(pthread_t *th)
{
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
}

/* --- the database, read-only -------------------------------------------------- */

static sqlite3 *db_open(void)
{
	sqlite3 *db;
	if (sqlite3_open_v2(h.db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		hx_fail("open %s read-only: %s", h.db_path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

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

/* How often key is in report; its channel and ticket ref (of the last row). */
static int db_report(sqlite3 *db, const char *key, char *channel, char *ref)
{
	static const char *sql = "SELECT r.channel, t.ref FROM report r "
	                         "LEFT JOIN ticket t ON t.id = r.ticket_id WHERE r.key = ?";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		hx_fail("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int n = 0;
	channel[0] = ref[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		const unsigned char *c = sqlite3_column_text(st, 0);
		const unsigned char *r = sqlite3_column_text(st, 1);
		snprintf(channel, 16, "%s", c ? (const char *)c : "");
		snprintf(ref, 16, "%s", r ? (const char *)r : "");
	}
	sqlite3_finalize(st);
	return n;
}

static void db_check_each_once(sqlite3 *db, const char *when)
{
	long long dup = db_count(db, "SELECT count(*) FROM (SELECT key FROM report "
	                             "GROUP BY channel, key HAVING count(*) > 1)");
	HX_CHECK(dup == 0, "%s: %lld report ids stored more than once", when, dup);
	long long dup_any = db_count(db, "SELECT count(*) FROM (SELECT key FROM report "
	                                 "GROUP BY key HAVING count(*) > 1)");
	HX_CHECK(dup_any == 0, "%s: %lld report ids stored twice", when, dup_any);
	long long orphans = db_count(db, "SELECT count(*) FROM report r LEFT JOIN ticket t "
	                                 "ON t.id = r.ticket_id WHERE t.id IS NULL");
	HX_CHECK(orphans == 0, "%s: %lld reports without a ticket", when, orphans);
}

/* --- the scenario ------------------------------------------------------------- */

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* --- MQTT: a handheld publishing reports while the HTTP load runs ----------- */

#define N_MQTT 300

struct mitem {
	char id[37];
	char *body;
	bool published;
	char receipt_ticket[16]; /* from a receipt before the kill */
	int receipts_after;      /* receipts after the restart */
	char ticket_after[16];
	bool all_dup_after; /* every receipt after the restart said duplicate */
};

static struct mitem mitems[N_MQTT];
static struct hx_device *jens;
static atomic_bool stop_publishing;

static void *publisher(void *arg)
{
	for (int i = 0; i < N_MQTT && !atomic_load(&stop_publishing); i++) {
		hx_device_publish(jens, "report", mitems[i].body);
		mitems[i].published = true;
		hx_sleep_ms(5);
	}
	return NULL;
}

static struct mitem *mitem_of(const char *id)
{
	for (int i = 0; i < N_MQTT; i++)
		if (id && strcmp(mitems[i].id, id) == 0)
			return &mitems[i];
	return NULL;
}

/* Take every receipt now queued on jens's inbox. */
static int drain_receipts(bool after_restart, int wait_ms)
{
	int n = 0;
	json_t *rc;
	while ((rc = hx_device_wait(jens, "receipt", NULL, wait_ms))) {
		struct mitem *m = mitem_of(str(rc, "report_id"));
		const char *ticket = str(rc, "ticket");
		HX_CHECK(m && ticket, "a receipt for an unknown report");
		if (!after_restart) {
			HX_CHECK(!m->receipt_ticket[0] || strcmp(m->receipt_ticket, ticket) == 0,
			         "two tickets for %s", m->id);
			snprintf(m->receipt_ticket, sizeof(m->receipt_ticket), "%s", ticket);
		} else {
			if (m->receipts_after == 0)
				m->all_dup_after = true;
			HX_CHECK(!m->ticket_after[0] || strcmp(m->ticket_after, ticket) == 0,
			         "two tickets for %s after the restart", m->id);
			snprintf(m->ticket_after, sizeof(m->ticket_after), "%s", ticket);
			m->receipts_after++;
			m->all_dup_after &= json_is_true(json_object_get(rc, "duplicate"));
		}
		json_decref(rc);
		n++;
	}
	return n;
}

int main(void)
{
	hx_watchdog(120);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	/* Bulk reports go to opsoegende (slow policy: no escalation noise); the
	 * escalation probe goes to postcode 9000, team nord, 3 s steps. */
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 600\nfinal = backup 600\n"
	         "[team opsoegende]\npolicy = slow\n"
	         "[policy esc3]\nstep = primary 3\nfinal = backup 3\n"
	         "[team nord]\nrotation = anna bo\nhandoff = mon 08:00\nanchor = 2026-01-05\n"
	         "backup = carl\npolicy = esc3\n"
	         "[area nord]\nname = Nord\npostcodes = 9000\nteam = nord\n");
	hx_start_daemon(&h, NULL);
	char primary[48], pdev_id[64];
	hx_oncall(&h, "nord", primary, sizeof(primary), NULL, 0);
	snprintf(pdev_id, sizeof(pdev_id), "%s-phone", primary);
	/* The back-up listens; the primary's device is off until after the crash. */
	struct hx_device *carl = hx_device_connect(&h, "carl-phone");
	jens = hx_device_connect(&h, "jens-handheld");
	for (int i = 0; i < N_MQTT; i++) {
		hx_uuid(mitems[i].id);
		mitems[i].body = hx_report_json(mitems[i].id, "Lugter af skrald i opgangen");
	}

	for (int i = 0; i < N_REPORTS; i++) {
		hx_uuid(items[i].id);
		char text[128];
		snprintf(text, sizeof(text), "Bekymring nummer %d: har ikke set naboen længe", i);
		items[i].body = hx_report_json(items[i].id, text);
	}

	/* Load, then the probe, then kill -9 at about half. */
	pthread_t th[N_THREADS];
	run = 0;
	int64_t t_load = hx_now_ms();
	start_clients(th);
	pthread_t pub;
	if (pthread_create(&pub, NULL, publisher, NULL) != 0)
		hx_fail("pthread_create");
	while (atomic_load(&answered) < N_REPORTS / 2 && hx_now_ms() - t_load < 60000)
		hx_sleep_ms(1);
	atomic_store(&stop_publishing, true);
	pthread_join(pub, NULL);
	char pid_[37];
	hx_uuid(pid_);
	json_t *probe = json_pack("{s:s, s:s, s:s}", "report_id", pid_, "text",
	                          "Har ikke set manden i nr. 3 i to uger", "address",
	                          "Nordgade 3, 9000 Aalborg");
	char *probe_body = json_dumps(probe, JSON_COMPACT);
	json_decref(probe);
	/* Sent before the commit that arms its deadline: escalation >= t_probe + 3 s. */
	int64_t t_probe = hx_now_ms();
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", probe_body);
	HX_CHECK(r.status == 201, "probe report: %ld %s", r.status, r.body);
	char sref[16];
	snprintf(sref, sizeof(sref), "%s", str(r.json, "ticket"));
	hx_resp_free(&r);
	int at_kill = atomic_load(&answered);
	hx_kill_daemon(&h);
	int64_t t_kill = hx_now_ms();
	join_clients(th);
	printf("killed after %d answers (%lld ms of load), probe %s %lld ms before the kill\n",
	       at_kill, (long long)(t_kill - t_load), sref, (long long)(t_kill - t_probe));
	HX_CHECK(t_kill - t_probe < ESC_MS - 500, "the kill came too late for the probe");
	HX_CHECK(at_kill < N_REPORTS, "everything was answered before the kill");
	hx_sleep_ms(100);
	HX_CHECK(hx_device_wait(carl, "alert", sref, 0) == NULL, "escalated before the kill");
	/* Every receipt jens holds now was sent before the kill. */
	drain_receipts(false, 0);
	int n_pub = 0, n_receipted = 0;
	for (int i = 0; i < N_MQTT; i++) {
		n_pub += mitems[i].published;
		n_receipted += mitems[i].receipt_ticket[0] != 0;
	}
	printf("MQTT: %d reports published, %d receipted before the kill\n", n_pub, n_receipted);
	HX_CHECK(n_receipted > 0, "no receipt before the kill");

	int n201 = 0, n0 = 0;
	for (int i = 0; i < N_REPORTS; i++) {
		HX_CHECK(items[i].status[0] == 201 || items[i].status[0] == 0,
		         "first run: %s answered %ld", items[i].id, items[i].status[0]);
		if (items[i].status[0] == 201) {
			n201++;
			HX_CHECK(!items[i].duplicate[0] && items[i].ticket[0][0]);
		} else {
			n0++;
		}
	}
	printf("first run: %d answered 201, %d unanswered\n", n201, n0);
	HX_CHECK(n201 >= N_REPORTS / 2, "only %d answered", n201);

	/* Restart on the same database and key. */
	int64_t t_restart = hx_now_ms();
	hx_start_daemon(&h, NULL);
	printf("restarted and ready in %lld ms\n", (long long)(hx_now_ms() - t_restart));

	sqlite3 *db = db_open();
	db_check_each_once(db, "after the crash");
	int stored_unanswered = 0;
	for (int i = 0; i < N_REPORTS; i++) {
		char channel[16], ref[16];
		int n = db_report(db, items[i].id, channel, ref);
		if (items[i].status[0] == 201) {
			HX_CHECK(n == 1, "201'd report %s is stored %d times", items[i].id, n);
			HX_CHECK(strcmp(channel, "app") == 0, "channel %s", channel);
			HX_CHECK(strcmp(ref, items[i].ticket[0]) == 0,
			         "report %s: answered ticket %s, stored ticket %s", items[i].id,
			         items[i].ticket[0], ref);
		} else {
			HX_CHECK(n <= 1);
			stored_unanswered += n;
		}
	}
	printf("stored but never answered (committed at the kill): %d\n", stored_unanswered);
	long long total = db_count(db, "SELECT count(*) FROM report WHERE via = 'http'");
	HX_CHECK(total == n201 + stored_unanswered + 1, "%lld HTTP reports in the database", total);
	for (int i = 0; i < N_MQTT; i++) {
		char channel[16], ref[16];
		int n = db_report(db, mitems[i].id, channel, ref);
		HX_CHECK(n <= 1, "MQTT report %s stored %d times", mitems[i].id, n);
		if (!mitems[i].receipt_ticket[0])
			continue;
		HX_CHECK(n == 1, "receipted MQTT report %s is not stored", mitems[i].id);
		HX_CHECK(strcmp(channel, "app") == 0, "channel %s", channel);
		HX_CHECK(strcmp(ref, mitems[i].receipt_ticket) == 0,
		         "MQTT report %s: receipt named %s, stored ticket %s", mitems[i].id,
		         mitems[i].receipt_ticket, ref);
	}
	sqlite3_close(db);

	/* The probe's escalation resumes from SQLite. */
	json_t *esc = hx_device_wait(carl, "alert", sref, ESC_MS + 5000);
	HX_CHECK(esc, "the back-up never got the escalation of %s after the restart", sref);
	printf("escalation of %s reached carl %lld ms after the probe (step %d ms)\n", sref,
	       (long long)(hx_now_ms() - t_probe), ESC_MS);
	HX_CHECK(hx_now_ms() - t_probe >= ESC_MS - 10, "escalated early");
	HX_CHECK(json_integer_value(json_object_get(esc, "step")) == 2, "final step");
	json_decref(esc);
	json_t *t = hx_ticket(&h, sref);
	HX_CHECK(hx_ticket_has_event(t, "escalate"));
	HX_CHECK(strcmp(str(json_object_get(t, "escalation"), "phase"), "final") == 0);
	json_decref(t);

	/* The outbox resumes: the primary's device connects only now and gets
	 * the alerts that were pending at the kill. */
	struct hx_device *pdev = hx_device_connect(&h, pdev_id);
	json_t *a = hx_device_wait(pdev, "alert", sref, 8000);
	HX_CHECK(a, "%s never got the pending alert of %s", pdev_id, sref);
	HX_CHECK(json_integer_value(json_object_get(a, "step")) == 1);
	json_decref(a);
	int first = -1;
	for (int i = 0; i < N_REPORTS && first < 0; i++)
		if (items[i].status[0] == 201)
			first = i;
	a = hx_device_wait(pdev, "alert", items[first].ticket[0], 8000);
	HX_CHECK(a, "%s never got the pending alert of %s", pdev_id, items[first].ticket[0]);
	json_decref(a);
	hx_device_free(pdev);

	/* Re-post everything with the same ids. */
	run = 1;
	start_clients(th);
	join_clients(th);
	int again201 = 0, again200 = 0;
	for (int i = 0; i < N_REPORTS; i++) {
		struct item *it = &items[i];
		if (it->status[0] == 201) {
			HX_CHECK(it->status[1] == 200 && it->duplicate[1],
			         "re-post of 201'd %s: %ld duplicate=%d", it->id, it->status[1],
			         it->duplicate[1]);
			HX_CHECK(strcmp(it->ticket[0], it->ticket[1]) == 0,
			         "re-post of %s: ticket %s, first %s", it->id, it->ticket[1],
			         it->ticket[0]);
		} else {
			HX_CHECK(it->status[1] == 201 || (it->status[1] == 200 && it->duplicate[1]),
			         "re-post of unanswered %s: %ld", it->id, it->status[1]);
		}
		if (it->status[1] == 201)
			again201++;
		else
			again200++;
	}
	printf("re-post: %d answered 201, %d answered 200 duplicate\n", again201, again200);
	HX_CHECK(again200 == n201 + stored_unanswered, "200s: %d, expected %d", again200,
	         n201 + stored_unanswered);

	/* The app retries every report it holds no receipt for, and the ones
	 * it does (harmless): each gets a receipt naming one ticket; receipted
	 * ones are duplicates of the ticket they were receipted with. */
	for (int i = 0; i < N_MQTT; i++)
		hx_device_publish(jens, "report", mitems[i].body);
	int64_t t_wait = hx_now_ms();
	for (;;) {
		drain_receipts(true, 200);
		int missing = 0;
		for (int i = 0; i < N_MQTT; i++)
			missing += mitems[i].receipts_after == 0;
		if (!missing)
			break;
		HX_CHECK(hx_now_ms() - t_wait < 15000, "%d MQTT reports without a receipt",
		         missing);
	}
	for (int i = 0; i < N_MQTT; i++) {
		struct mitem *m = &mitems[i];
		if (!m->receipt_ticket[0])
			continue;
		HX_CHECK(m->all_dup_after, "receipted %s came back as new", m->id);
		HX_CHECK(strcmp(m->ticket_after, m->receipt_ticket) == 0,
		         "receipted %s: ticket %s, first %s", m->id, m->ticket_after,
		         m->receipt_ticket);
	}

	db = db_open();
	db_check_each_once(db, "after the re-post");
	for (int i = 0; i < N_MQTT; i++) {
		char channel[16], ref[16];
		int n = db_report(db, mitems[i].id, channel, ref);
		HX_CHECK(n == 1, "MQTT report %s stored %d times after the retry", mitems[i].id, n);
		HX_CHECK(strcmp(ref, mitems[i].ticket_after) == 0, "MQTT report %s: ticket %s, %s",
		         mitems[i].id, ref, mitems[i].ticket_after);
	}
	for (int i = 0; i < N_REPORTS; i++) {
		char channel[16], ref[16];
		int n = db_report(db, items[i].id, channel, ref);
		HX_CHECK(n == 1, "report %s stored %d times after the re-post", items[i].id, n);
		HX_CHECK(strcmp(ref, items[i].ticket[1]) == 0, "report %s: ticket %s, answered %s",
		         items[i].id, ref, items[i].ticket[1]);
	}
	total = db_count(db, "SELECT count(*) FROM report");
	HX_CHECK(total == N_REPORTS + N_MQTT + 1,
	         "%lld reports in the database, expected %d + %d + the probe", total, N_REPORTS,
	         N_MQTT);
	long long tickets = db_count(db, "SELECT count(*) FROM ticket");
	HX_CHECK(tickets == N_REPORTS + N_MQTT + 1, "%lld tickets", tickets);
	sqlite3_close(db);

	for (int i = 0; i < N_REPORTS; i++)
		free(items[i].body);
	for (int i = 0; i < N_MQTT; i++)
		free(mitems[i].body);
	free(probe_body);
	hx_device_free(jens);
	hx_device_free(carl);
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	hx_stop(&h);
	printf("06-crash-restart: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
