/*
 * tests/bench/bench_ingest.c: durable ingest over HTTP beside SQLite's own
 * durable insert rates on the same disk in the same run (DESIGN.md §8).
 * SQLite first (one row per transaction, then 64), then 32 keep-alive
 * connections posting reports to the daemon, counting 201s only, then the
 * daemon left idle to see what it costs between deadlines.
 * Figures: sqlite_raw_rps, sqlite_batch_rps, http_ingest_rps (+ its latency,
 * reports per commit and bytes the daemon wrote to disk per report),
 * http_vs_sqlite_raw_ratio, daemon_peak_rss_mb_http, idle_cpu_ms_per_s and
 * idle_wakeups_per_s (the daemon holding every ticket of the run open).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define SQLITE_SECONDS 3.0
#define HTTP_CONNS     32
#define HTTP_WARMUP    2000
#define HTTP_REPORTS   30000
#define IDLE_SETTLE_MS 2000
#define IDLE_MS        5000

/* --- SQLite alone --------------------------------------------------------------- */

/* The daemon's report table (core/store_schema.c) without its foreign key. */
static const char *const report_table =
    "CREATE TABLE report ("
    " id INTEGER PRIMARY KEY, channel TEXT NOT NULL, key TEXT NOT NULL, via TEXT NOT NULL,"
    " received_at INTEGER NOT NULL, ticket_id INTEGER NOT NULL, reporter_person TEXT,"
    " reporter_role TEXT, anonymous INTEGER NOT NULL, consent_callback INTEGER NOT NULL,"
    " consent_disclose INTEGER NOT NULL, text_enc BLOB, address_enc BLOB,"
    " reporter_name_enc BLOB, reporter_phone_enc BLOB, phone_hash BLOB,"
    " answer_state TEXT NOT NULL, UNIQUE (channel, key))";

static void sq_check(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		bench_fail("sqlite %s: %s", what, sqlite3_errmsg(db));
}

static void random_bytes(unsigned char *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (unsigned char)(seed >> 56);
	}
}

/* One report row of about the size careline writes: a UUID key, the text,
 * address, reporter name and phone as ciphertexts (plaintext + 40 bytes of
 * nonce and tag), a 32-byte phone hash. */
static void insert_row(sqlite3 *db, sqlite3_stmt *st, uint64_t seq)
{
	char key[37];
	bench_uuid(key);
	unsigned char text[140], address[80], name[56], phone[52], hash[32];
	random_bytes(text, sizeof(text), seq);
	random_bytes(address, sizeof(address), seq + 1);
	random_bytes(name, sizeof(name), seq + 2);
	random_bytes(phone, sizeof(phone), seq + 3);
	random_bytes(hash, sizeof(hash), seq + 4);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, "api", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, "http", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, bench_now_us() / 1000);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)seq);
	sqlite3_bind_null(st, 6);
	sqlite3_bind_text(st, 7, "caretaker", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, 0);
	sqlite3_bind_int(st, 9, 1);
	sqlite3_bind_int(st, 10, 0);
	sqlite3_bind_blob(st, 11, text, sizeof(text), SQLITE_STATIC);
	sqlite3_bind_blob(st, 12, address, sizeof(address), SQLITE_STATIC);
	sqlite3_bind_blob(st, 13, name, sizeof(name), SQLITE_STATIC);
	sqlite3_bind_blob(st, 14, phone, sizeof(phone), SQLITE_STATIC);
	sqlite3_bind_blob(st, 15, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_text(st, 16, "notifying", -1, SQLITE_STATIC);
	sq_check(db, sqlite3_step(st), "insert");
}

/* Rows per second, durable (WAL, synchronous=FULL as core/store.c opens it),
 * rows_per_tx rows in each transaction, for `seconds` after a short warm-up. */
static double sqlite_rate(const char *dir, const char *name, int rows_per_tx, double seconds)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		bench_fail("sqlite open %s", path);
	sq_check(db,
	         sqlite3_exec(db,
	                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	                      " PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;",
	                      NULL, NULL, NULL),
	         "pragmas");
	sq_check(db, sqlite3_exec(db, report_table, NULL, NULL, NULL), "schema");
	sqlite3_stmt *ins, *begin, *commit;
	sq_check(db,
	         sqlite3_prepare_v2(db,
	                            "INSERT INTO report (channel, key, via, received_at,"
	                            " ticket_id, reporter_person, reporter_role, anonymous,"
	                            " consent_callback, consent_disclose, text_enc, address_enc,"
	                            " reporter_name_enc, reporter_phone_enc, phone_hash,"
	                            " answer_state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	                            -1, &ins, NULL),
	         "prepare");
	sq_check(db, sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL), "prepare");
	sq_check(db, sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL), "prepare");

	uint64_t seq = 0, rows = 0;
	int64_t warm_until = bench_now_us() + 300000, t0 = 0;
	for (;;) {
		int64_t now = bench_now_us();
		if (!t0 && now >= warm_until) {
			t0 = now;
			rows = 0;
		}
		if (t0 && now - t0 >= (int64_t)(seconds * 1e6))
			break;
		sqlite3_reset(begin);
		sq_check(db, sqlite3_step(begin), "begin");
		for (int i = 0; i < rows_per_tx; i++)
			insert_row(db, ins, seq++);
		sqlite3_reset(commit);
		sq_check(db, sqlite3_step(commit), "commit");
		rows += (uint64_t)rows_per_tx;
	}
	double rate = (double)rows / ((double)(bench_now_us() - t0) / 1e6);
	sqlite3_finalize(ins);
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_close(db);
	return rate;
}

/* --- HTTP ingest ---------------------------------------------------------------------- */

struct ingest {
	uint64_t ok, bad;
	int64_t t_start, t_end;
	double *lat_ms;
	size_t n_lat;
	uint64_t alerts;
};

static void on_answer(void *ctx, uint64_t tag, long status, const char *body, int64_t start_us,
                      int64_t end_us)
{
	struct ingest *in = ctx;
	if (status != 201) {
		if (++in->bad <= 5)
			bench_note("report %llu: status %ld: %.200s", (unsigned long long)tag,
			           status, body);
		if (in->bad > 1000)
			bench_fail("more than 1000 reports not stored");
		return;
	}
	in->ok++;
	if (in->ok == HTTP_WARMUP)
		in->t_start = end_us;
	else if (in->ok > HTTP_WARMUP && in->ok <= HTTP_WARMUP + HTTP_REPORTS) {
		in->lat_ms[in->n_lat++] = (double)(end_us - start_us) / 1000.0;
		if (in->ok == HTTP_WARMUP + HTTP_REPORTS)
			in->t_end = end_us;
	}
}

static void on_alert(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
	struct ingest *in = ctx;
	if (memmem(payload, (size_t)len, "\"type\":\"alert\"", 14))
		in->alerts++;
}

/* One pass: curl's sockets and the alert subscriber's in one poll. */
static void pump(struct bench_http *http, struct bmq *alerts, int timeout_ms)
{
	struct curl_waitfd w = {.fd = bmq_fd(alerts), .events = bmq_events(alerts)};
	bench_http_run(http, timeout_ms, &w, 1);
	bmq_service(alerts, w.revents);
}

static double http_ingest(struct bench_env *env, struct ingest *in, struct bmq *alerts)
{
	struct bench_http *http =
	    bench_http_new(env->http_port, "/api/v1/reports", HTTP_CONNS, on_answer, in);
	in->lat_ms = calloc(HTTP_REPORTS, sizeof(double));
	if (!in->lat_ms)
		bench_fail("out of memory");
	int64_t cpu_d0 = bench_cpu_ms(env->daemon_pid), cpu_b0 = bench_cpu_ms(env->broker_pid);
	int64_t cpu_c0 = bench_cpu_ms(getpid()), wall0 = bench_now_us();
	int64_t disk0 = bench_disk_write_bytes(env->daemon_pid);
	double commits0 = bench_metric(env, "careline_commits_total");
	double reports0 = bench_metric(env, "careline_reports_total{channel=\"http\"}");
	uint64_t tag = 0, last_ok = 0;
	int64_t last_progress = bench_now_us();
	char body[2048], id[37];
	while (in->ok < HTTP_WARMUP + HTTP_REPORTS) {
		while (bench_http_busy(http) < HTTP_CONNS) {
			bench_uuid(id);
			size_t len = bench_report_json(body, sizeof(body), id, tag);
			bench_http_post(http, body, len, tag++);
		}
		pump(http, alerts, 100);
		int64_t now = bench_now_us();
		if (in->ok != last_ok) {
			last_ok = in->ok;
			last_progress = now;
		} else if (now - last_progress > 10000000) {
			bench_fail("no 201 for 10 s (%llu stored)", (unsigned long long)in->ok);
		}
	}
	while (bench_http_busy(http) > 0)
		pump(http, alerts, 100);
	double wall = (double)(bench_now_us() - wall0) / 1e6;
	bench_note("http: cpu ms/s over %.1f s: daemon %.0f, broker %.0f, this client %.0f", wall,
	           (double)(bench_cpu_ms(env->daemon_pid) - cpu_d0) / wall,
	           (double)(bench_cpu_ms(env->broker_pid) - cpu_b0) / wall,
	           (double)(bench_cpu_ms(getpid()) - cpu_c0) / wall);
	double disk = (double)(bench_disk_write_bytes(env->daemon_pid) - disk0);
	double commits = bench_metric(env, "careline_commits_total") - commits0;
	double reports = bench_metric(env, "careline_reports_total{channel=\"http\"}") - reports0;
	bench_http_free(http); /* closes the keep-alive connections */
	double secs = (double)(in->t_end - in->t_start) / 1e6;
	double rps = HTTP_REPORTS / secs;
	bench_note("http: %d reports in %.2f s after %d warm-up, %llu not 201, %.0f commits",
	           HTTP_REPORTS, secs, HTTP_WARMUP, (unsigned long long)in->bad, commits);
	bench_figure("http_ingest_rps", rps, 0, "reports/s");
	bench_figure("http_ingest_p50_ms", bench_percentile(in->lat_ms, in->n_lat, 50), 2, "ms");
	bench_figure("http_ingest_p99_ms", bench_percentile(in->lat_ms, in->n_lat, 99), 2, "ms");
	if (commits > 0 && reports > 0) {
		bench_figure("http_reports_per_commit", reports / commits, 1, "reports");
		bench_figure("http_disk_write_kb_per_report", disk / 1024 / reports, 1, "kB");
	}
	free(in->lat_ms);
	return rps;
}

int main(void)
{
	struct bench_env env;
	bench_env_start(&env);

	double raw = sqlite_rate(bench_env_dir(&env), "raw.db", 1, SQLITE_SECONDS);
	bench_figure("sqlite_raw_rps", raw, 0, "rows/s");
	double batch = sqlite_rate(bench_env_dir(&env), "batch.db", 64, SQLITE_SECONDS);
	bench_figure("sqlite_batch_rps", batch, 0, "rows/s");

	/* The on-duty worker's device (and the rest of the team's) takes the
	 * alerts, so none is retried for want of a subscriber. */
	struct ingest in = {0};
	struct bmq *alerts = bmq_connect("bench-alerts", env.mqtt_port, on_alert, &in);
	bmq_subscribe(alerts, "careline/v1/dev/+/inbox");

	double rps = http_ingest(&env, &in, alerts);
	bench_figure("http_vs_sqlite_raw_ratio", rps / raw, 2, "ratio");

	/* Every stored report has its alert before the daemon is called idle. */
	int64_t until = bench_now_us() + 10000000;
	while (in.alerts < in.ok && bench_now_us() < until)
		bmq_pump(&alerts, 1, 100);
	if (in.alerts < in.ok)
		bench_note("http: %llu alerts for %llu reports", (unsigned long long)in.alerts,
		           (unsigned long long)in.ok);
	bench_figure("daemon_peak_rss_mb_http", bench_peak_rss_mb(env.daemon_pid), 1, "MB");

	/* Idle: the alerts' retry timers (1 s) run out first, then 5 s alone. */
	until = bench_now_us() + IDLE_SETTLE_MS * 1000;
	while (bench_now_us() < until)
		bmq_pump(&alerts, 1, 100);
	int64_t cpu0 = bench_cpu_ms(env.daemon_pid), cs0 = bench_ctx_switches(env.daemon_pid);
	int64_t oncpu0 = bench_oncpu_us(env.daemon_pid);
	int64_t t0 = bench_now_us();
	until = t0 + IDLE_MS * 1000;
	while (bench_now_us() < until)
		bmq_pump(&alerts, 1, 100);
	double secs = (double)(bench_now_us() - t0) / 1e6;
	int64_t cpu1 = bench_cpu_ms(env.daemon_pid), cs1 = bench_ctx_switches(env.daemon_pid);
	int64_t oncpu1 = bench_oncpu_us(env.daemon_pid);
	bench_note("idle: %lld open tickets in the daemon; %lld us on a CPU in %.1f s (schedstat;"
	           " /proc/PID/stat counts 10 ms ticks)",
	           (long long)bench_metric(&env, "careline_tickets{state=\"notifying\"}"),
	           (long long)(oncpu1 - oncpu0), secs);
	bench_figure("idle_cpu_ms_per_s", (double)(cpu1 - cpu0) / secs, 2, "ms/s");
	bench_figure("idle_wakeups_per_s", (double)(cs1 - cs0) / secs, 1, "wakeups/s");

	bmq_free(alerts);
	bench_env_stop(&env);
	return 0;
}
