/*
 * tests/bench/bench_deadlines.c: escalation precision and cost (DESIGN.md §8,
 * issue 7 "Precision and cost").
 *
 * Deadlines: 100,000 open tickets (state notifying, policy step 0) are written
 * straight into the daemon's database with the sqlite3 API, their deadlines
 * spread evenly over the next BENCH_DEADLINE_SPREAD_S seconds (default 600)
 * in an order unrelated to their ids, starting START_OFFSET_MS after the
 * insert so the daemon's start is not counted as lateness. The daemon then
 * runs the window untouched: every deadline moves its ticket to the policy's
 * second step and alerts the back-up's device through the broker (the bench
 * keeps that device subscribed, as a phone would be, so every alert is
 * delivered once and none is retried; the next step is an hour away, so each
 * ticket fires exactly once). Lateness per ticket is the `at` of its first
 * "escalate" ticket_event (the flush's clock) minus the due_at the bench
 * wrote, read from the database after the window; /metrics' lateness
 * histogram is noted beside it as a cross-check. Then the daemon, holding
 * 100,000 deadlines an hour away, is left alone to see what it costs when no
 * deadline is due.
 *
 * Restart: a fresh database (the daemon's own migrations, applied through
 * cl_store_open) with 1,000,000 tickets, 900,000 closed and 100,000 open with
 * deadlines an hour or more away, then the time from fork/exec of the daemon
 * to the first 200 from /readyz (it rebuilds its deadline heap from SQLite
 * and connects to the broker first). Three starts; the median is the figure.
 * The page cache is warm (the bench just wrote the file): the figure is a
 * restart of a running box, not a cold boot. Neither database holds report,
 * event or notification rows: startup reads none of them (MAX(id) of report,
 * the pending notifications) and an escalation only appends to them.
 *
 * $BENCH_DEADLINE_DUMP names a file for "id due_ms at_ms" of every fired
 * ticket, to line late ones up with a trace of the daemon.
 *
 * Figures: deadline_late_p50_ms, deadline_late_p99_ms, deadline_late_max_ms,
 * deadline_missed, deadline_fire_cpu_us, deadline_idle_cpu_ms_per_s,
 * deadline_idle_wakeups_per_s, deadline_rss_mb, restart_1m_ready_ms,
 * restart_1m_rss_mb.
 */
#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "careline/ref.h"
#include "careline/store.h"
#include "common.h"

#define N_OPEN           100000
#define N_RESTART        1000000
#define RESTART_OPEN_MOD 10 /* every 10th ticket of the restart database is open */
#define DEFAULT_SPREAD_S 600
#define START_OFFSET_MS  15000 /* insert + daemon start + subscribe fit well inside */
#define TX_ROWS          50000
#define DRAIN_MS         30000 /* after the last deadline, wait this long at most */
#define IDLE_SETTLE_MS   3000  /* delivered alerts' retry entries (1-1.25 s) run out */
#define IDLE_MS          10000
#define RESTARTS         3
#define READY_POLL_MS    2

/* Two steps an hour apart: a due ticket moves to step 1 (the back-up) and is
 * not due again during the bench. */
static const char *const bench_policy = "[policy bench]\n"
                                        "step = primary 3600\n"
                                        "step = backup 3600\n"
                                        "final = lead 3600\n";

/* --- small helpers -------------------------------------------------------------- */

static int64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void sq_check(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		bench_fail("sqlite %s: %s", what, sqlite3_errmsg(db));
}

static void sq_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		bench_fail("sqlite %s: %s", sql, msg ? msg : "?");
}

/* Time on a CPU of every thread of pid (schedstat, ns precise; /proc/PID/stat
 * counts 10 ms ticks, too coarse for an idle daemon). */
static int64_t oncpu_all_us(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int64_t sum = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[320], buf[128];
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			sum += strtoll(buf, NULL, 10) / 1000;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static long threads_of(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long n = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Threads:", 8) == 0)
			n = strtol(line + 8, NULL, 10);
	if (f)
		fclose(f);
	return n;
}

/* --- filling the database -------------------------------------------------------------- */

struct filler {
	sqlite3 *db;
	sqlite3_stmt *ins;
	const unsigned char *ref_key;
	int64_t now_ms;
};

static void filler_open(struct filler *f, const char *path, const unsigned char *ref_key)
{
	memset(f, 0, sizeof(*f));
	if (sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		bench_fail("sqlite open %s: %s", path, sqlite3_errmsg(f->db));
	/* Loading is not what is measured: no fsync, a large cache. The file
	 * stays in WAL mode, as the daemon made it. */
	sq_exec(f->db, "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;"
	               " PRAGMA foreign_keys = OFF");
	sq_check(
	    f->db,
	    sqlite3_prepare_v2(
	        f->db,
	        "INSERT INTO ticket (id, ref, kind, state, urgency, categories, area, team,"
	        " policy, address_hash, created_at, updated_at, acked_by, acked_at, taken_by,"
	        " taken_at, closed_reason, closed_at, linked_to, esc_phase, esc_step, esc_loop,"
	        " due_at, unhandled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'opsoegende', 'bench',"
	        " ?8, ?9, ?9, ?10, ?11, ?10, ?12, ?13, ?14, NULL, ?15, ?16, 0, ?17, 0)",
	        -1, &f->ins, NULL),
	    "prepare ticket insert");
	f->ref_key = ref_key;
	f->now_ms = realtime_ms();
}

static const char *const categories[] = {"not_seen",           "squalor,self_neglect", "noise",
                                         "agitation",          "money_eviction",       "other",
                                         "not_seen,discharged"};

/* One ticket row as careline writes it: a real ref (the keyed permutation of
 * the id, so the UNIQUE index sees refs in random order), an address hash on
 * three of four; open ones wait at step 0 of the bench policy until due_ms,
 * closed ones were taken by anna and closed a while ago. */
static void insert_ticket(struct filler *f, int64_t id, bool open, int64_t due_ms)
{
	sqlite3_stmt *st = f->ins;
	uint64_t r = mix((uint64_t)id);
	char ref[CL_REF_MAX];
	cl_ref_from_id(f->ref_key, id, ref);
	unsigned char hash[32];
	for (size_t i = 0; i < sizeof(hash); i += 8) {
		uint64_t h = mix(r + i);
		memcpy(hash + i, &h, 8);
	}
	int64_t created = f->now_ms - (int64_t)(r % (30ULL * 86400 * 1000));
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r & 1 ? "named" : "anonymous", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, open ? "notifying" : "closed", -1, SQLITE_STATIC);
	static const char *const urg[] = {"P1", "P2", "P2", "P3"};
	sqlite3_bind_text(st, 5, urg[(r >> 8) % 4], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, categories[(r >> 16) % (sizeof(categories) / sizeof(char *))], -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, 7, (r >> 24) % 2 ? "vest" : "centrum", -1, SQLITE_STATIC);
	if ((r >> 32) % 4)
		sqlite3_bind_blob(st, 8, hash, sizeof(hash), SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_int64(st, 9, created);
	if (open) {
		for (int i = 10; i <= 14; i++)
			sqlite3_bind_null(st, i);
		sqlite3_bind_text(st, 15, "step", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 16, 0);
		sqlite3_bind_int64(st, 17, due_ms);
	} else {
		sqlite3_bind_text(st, 10, "anna", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, created + 120000);
		sqlite3_bind_int64(st, 12, created + 600000);
		sqlite3_bind_text(st, 13, "contact_refused", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 14, created + 86400000);
		sqlite3_bind_text(st, 15, "idle", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 16, 1);
		sqlite3_bind_null(st, 17);
	}
	sq_check(f->db, sqlite3_step(st), "ticket insert");
}

static void filler_close(struct filler *f)
{
	sqlite3_finalize(f->ins);
	/* The daemon finds a checkpointed database, as after a clean stop. */
	sq_exec(f->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (sqlite3_close(f->db) != SQLITE_OK)
		bench_fail("sqlite close: %s", sqlite3_errmsg(f->db));
}

/* The ref key the daemon made at its first start. */
static struct cl_crypto *open_key(const struct bench_env *env)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/careline.key", bench_env_dir(env));
	struct cl_crypto *c;
	if (cl_crypto_open(path, &c) != CL_OK)
		bench_fail("key %s", path);
	return c;
}

/* --- deadlines -------------------------------------------------------------------------- */

struct watch {
	uint64_t alerts; /* alerts the back-up's device received */
};

static void on_inbox(struct bmq *q, void *ctx, const char *topic, const char *payload, int len)
{
	struct watch *w = ctx;
	/* A bundle carries several alert objects: count each. */
	const char *p = payload, *end = payload + len;
	static const char needle[] = "\"type\":\"alert\"";
	while ((p = memmem(p, (size_t)(end - p), needle, sizeof(needle) - 1))) {
		w->alerts++;
		p += sizeof(needle) - 1;
	}
}

static void pump_until(struct bmq *sub, int64_t until_us)
{
	while (bench_now_us() < until_us)
		bmq_pump(&sub, 1, 200);
}

/* due[id] for id 1..n: slots spread evenly over spread_ms from base_ms,
 * handed out in a shuffled order so deadline order is not id order. */
static int64_t *make_deadlines(size_t n, int64_t base_ms, int64_t spread_ms)
{
	int64_t *due = calloc(n + 1, sizeof(*due));
	if (!due)
		bench_fail("out of memory");
	for (size_t i = 1; i <= n; i++)
		due[i] = base_ms + (int64_t)((double)spread_ms * (double)(i - 1) / (double)n);
	uint64_t s = 42;
	for (size_t i = n; i > 1; i--) {
		size_t j = 1 + (size_t)(mix(s++) % i);
		int64_t t = due[i];
		due[i] = due[j];
		due[j] = t;
	}
	return due;
}

static void deadlines(struct bench_env *env, struct cl_crypto *crypto)
{
	long spread_s = DEFAULT_SPREAD_S;
	const char *s = getenv("BENCH_DEADLINE_SPREAD_S");
	if (s && s[0]) {
		spread_s = strtol(s, NULL, 10);
		if (spread_s < 1)
			bench_fail("BENCH_DEADLINE_SPREAD_S must be >= 1");
	}
	bench_daemon_stop(env);

	/* Open tickets straight into the database the daemon migrated. */
	int64_t t0 = bench_now_us();
	int64_t base_ms = realtime_ms() + START_OFFSET_MS;
	int64_t *due = make_deadlines(N_OPEN, base_ms, (int64_t)spread_s * 1000);
	struct filler f;
	filler_open(&f, env->db_path, cl_crypto_ref_key(crypto));
	for (int64_t id = 1; id <= N_OPEN; id++) {
		if (id % TX_ROWS == 1)
			sq_exec(f.db, "BEGIN");
		insert_ticket(&f, id, true, due[id]);
		if (id % TX_ROWS == 0 || id == N_OPEN)
			sq_exec(f.db, "COMMIT");
	}
	filler_close(&f);
	bench_note("deadlines: %d open tickets written in %.1f s, due over %ld s from %+.1f s",
	           N_OPEN, (double)(bench_now_us() - t0) / 1e6, spread_s,
	           (double)(base_ms - realtime_ms()) / 1000.0);

	int64_t ready_us = bench_daemon_start(env, bench_policy, READY_POLL_MS);
	bench_note("deadlines: daemon ready in %.0f ms with %d deadlines, %ld thread(s)",
	           (double)ready_us / 1000.0, N_OPEN, threads_of(env->daemon_pid));
	struct watch w = {0};
	struct bmq *sub = bmq_connect("bench-deadlines", env->mqtt_port, on_inbox, &w);
	bmq_subscribe(sub, "careline/v1/dev/+/inbox");
	int64_t lead_ms = base_ms - realtime_ms();
	if (lead_ms < 1000)
		bench_note("deadlines: only %lld ms between ready and the first deadline",
		           (long long)lead_ms);

	/* The window: nothing but the subscriber's acks talks to the daemon. */
	int64_t last_due_ms = base_ms + (int64_t)spread_s * 1000;
	pump_until(sub, bench_now_us() + (base_ms - realtime_ms()) * 1000);
	int64_t cpu0 = oncpu_all_us(env->daemon_pid), w0 = bench_now_us();
	int64_t next_note = bench_now_us() + 60000000;
	while (realtime_ms() < last_due_ms + DRAIN_MS) {
		bmq_pump(&sub, 1, 200);
		if (realtime_ms() > last_due_ms && w.alerts >= N_OPEN)
			break;
		if (bench_now_us() >= next_note) {
			next_note += 60000000;
			bench_note(
			    "deadlines: %.0f s in, %llu alerts delivered, daemon %.1f ms CPU/s",
			    (double)(bench_now_us() - w0) / 1e6, (unsigned long long)w.alerts,
			    (double)(oncpu_all_us(env->daemon_pid) - cpu0) / 1000.0 /
			        ((double)(bench_now_us() - w0) / 1e6));
		}
	}
	int64_t end_ms = realtime_ms();
	double window_s = (double)(bench_now_us() - w0) / 1e6;
	int64_t window_cpu_us = oncpu_all_us(env->daemon_pid) - cpu0;
	bench_note("deadlines: window %.1f s, %llu alerts delivered, daemon %.1f ms CPU/s",
	           window_s, (unsigned long long)w.alerts,
	           (double)window_cpu_us / 1000.0 / window_s);

	/* Idle: every deadline an hour away, the alerts' retry entries gone. */
	pump_until(sub, bench_now_us() + IDLE_SETTLE_MS * 1000);
	int64_t ic0 = oncpu_all_us(env->daemon_pid), cs0 = bench_ctx_switches(env->daemon_pid);
	int64_t i0 = bench_now_us();
	pump_until(sub, i0 + IDLE_MS * 1000);
	double idle_s = (double)(bench_now_us() - i0) / 1e6;
	int64_t ic1 = oncpu_all_us(env->daemon_pid), cs1 = bench_ctx_switches(env->daemon_pid);
	double rss = bench_peak_rss_mb(env->daemon_pid);

	/* Lateness from the database: the first escalate event of each ticket. */
	sqlite3 *db;
	if (sqlite3_open_v2(env->db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		bench_fail("sqlite open %s read-only: %s", env->db_path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *st;
	sq_check(db,
	         sqlite3_prepare_v2(db,
	                            "SELECT ticket_id, MIN(at) FROM ticket_event"
	                            " WHERE event = 'escalate' GROUP BY ticket_id",
	                            -1, &st, NULL),
	         "prepare lateness");
	double *late = calloc(N_OPEN, sizeof(*late));
	unsigned char *fired = calloc(N_OPEN + 1, 1);
	if (!late || !fired)
		bench_fail("out of memory");
	size_t n_late = 0, foreign = 0;
	/* $BENCH_DEADLINE_DUMP: "id due_ms at_ms" per fired ticket, to line
	 * the late ones up with what the daemon did then (strace, perf). */
	const char *dump_path = getenv("BENCH_DEADLINE_DUMP");
	FILE *dump = dump_path && dump_path[0] ? fopen(dump_path, "w") : NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
		if (id < 1 || id > N_OPEN || fired[id]) {
			foreign++;
			continue;
		}
		fired[id] = 1;
		late[n_late++] = (double)(at - due[id]);
		if (dump)
			fprintf(dump, "%lld %lld %lld\n", (long long)id, (long long)due[id],
			        (long long)at);
	}
	sq_check(db, rc, "lateness");
	if (dump && fclose(dump) != 0)
		bench_note("deadlines: writing %s: %s", dump_path, strerror(errno));
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* A deadline that never fired counts as late as the observation lasted. */
	size_t missed = 0;
	for (int64_t id = 1; id <= N_OPEN; id++) {
		if (!fired[id]) {
			missed++;
			late[n_late++] = (double)(end_ms - due[id]);
		}
	}
	if (missed || foreign)
		bench_note("deadlines: %zu never fired, %zu unexpected escalate rows", missed,
		           foreign);
	/* The /metrics buckets, from the database's numbers. */
	static const double bounds[] = {0, 1, 5, 10, 50, 100, 1000};
	size_t nb = sizeof(bounds) / sizeof(bounds[0]);
	size_t counts[sizeof(bounds) / sizeof(bounds[0]) + 1] = {0}, early = 0;
	for (size_t i = 0; i < n_late; i++) {
		size_t b = 0;
		while (b < nb && late[i] > bounds[b])
			b++;
		counts[b]++;
		early += late[i] < 0;
	}
	bench_note("deadlines: late by <= 0 ms %zu, <= 1 %zu, <= 5 %zu, <= 10 %zu, <= 50 %zu,"
	           " <= 100 %zu, <= 1000 %zu, more %zu; %zu early",
	           counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6],
	           counts[7], early);
	bench_figure("deadline_late_p50_ms", bench_percentile(late, n_late, 50), 0, "ms");
	bench_figure("deadline_late_p99_ms", bench_percentile(late, n_late, 99), 0, "ms");
	bench_figure("deadline_late_max_ms", bench_percentile(late, n_late, 100), 0, "ms");
	bench_figure("deadline_missed", (double)missed, 0, "tickets");
	if (n_late > missed)
		bench_figure("deadline_fire_cpu_us",
		             (double)window_cpu_us / (double)(n_late - missed), 0, "us/escalation");
	bench_figure("deadline_idle_cpu_ms_per_s", (double)(ic1 - ic0) / 1000.0 / idle_s, 3,
	             "ms/s");
	bench_figure("deadline_idle_wakeups_per_s", (double)(cs1 - cs0) / idle_s, 1, "wakeups/s");
	bench_figure("deadline_rss_mb", rss, 1, "MB");

	/* The daemon's own view, after the measurements (/metrics costs a scan). */
	bench_note("deadlines: /metrics escalations %.0f, lateness count %.0f, <= 50 ms %.0f,"
	           " max %.0f ms, no_contact %.0f, delivered %.0f",
	           bench_metric(env, "careline_escalations_total"),
	           bench_metric(env, "careline_escalation_lateness_ms_count"),
	           bench_metric(env, "careline_escalation_lateness_ms_bucket{le=\"50\"}"),
	           bench_metric(env, "careline_escalation_lateness_ms_max"),
	           bench_metric(env, "careline_notification_results_total{result=\"no_contact\"}"),
	           bench_metric(env, "careline_notification_results_total{result=\"delivered\"}"));
	free(late);
	free(fired);
	free(due);
	bmq_free(sub);
}

/* --- restart with 1,000,000 tickets ------------------------------------------------------------
 */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void restart(struct bench_env *env, struct cl_crypto *crypto)
{
	bench_daemon_stop(env);
	/* A new database with the daemon's own schema. */
	const char *suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[400];
		snprintf(p, sizeof(p), "%s%s", env->db_path, suffix[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			bench_fail("unlink %s: %s", p, strerror(errno));
	}
	struct cl_store *store;
	if (cl_store_open(env->db_path, &store) != CL_OK)
		bench_fail("cl_store_open %s", env->db_path);
	cl_store_close(store);

	int64_t t0 = bench_now_us();
	struct filler f;
	filler_open(&f, env->db_path, cl_crypto_ref_key(crypto));
	int64_t far_ms = f.now_ms + 3600 * 1000;
	for (int64_t id = 1; id <= N_RESTART; id++) {
		if (id % TX_ROWS == 1)
			sq_exec(f.db, "BEGIN");
		bool open = id % RESTART_OPEN_MOD == 3;
		/* Open ones due an hour or more ahead: none fires while we watch. */
		insert_ticket(&f, id, open, far_ms + (int64_t)(mix((uint64_t)id) % 3600000));
		if (id % TX_ROWS == 0 || id == N_RESTART)
			sq_exec(f.db, "COMMIT");
	}
	filler_close(&f);
	char p[400];
	snprintf(p, sizeof(p), "%s", env->db_path);
	FILE *df = fopen(p, "r");
	long size = 0;
	if (df) {
		fseek(df, 0, SEEK_END);
		size = ftell(df);
		fclose(df);
	}
	bench_note("restart: %d tickets (%d open) written in %.1f s, %.0f MB", N_RESTART,
	           N_RESTART / RESTART_OPEN_MOD, (double)(bench_now_us() - t0) / 1e6,
	           (double)size / 1048576.0);

	int64_t ready[RESTARTS];
	double rss = 0;
	for (int i = 0; i < RESTARTS; i++) {
		ready[i] = bench_daemon_start(env, bench_policy, READY_POLL_MS);
		/* Whatever startup touched is in the peak; a second of serving too. */
		bench_sleep_ms(1000);
		double r = bench_peak_rss_mb(env->daemon_pid);
		if (r > rss)
			rss = r;
		bench_note("restart %d: ready in %.1f ms, peak RSS %.1f MB", i + 1,
		           (double)ready[i] / 1000.0, r);
		bench_daemon_stop(env);
	}
	qsort(ready, RESTARTS, sizeof(ready[0]), cmp_i64);
	bench_figure("restart_1m_ready_ms", (double)ready[RESTARTS / 2] / 1000.0, 0, "ms");
	bench_figure("restart_1m_rss_mb", rss, 1, "MB");
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	struct bench_env env;
	/* The first start migrates the empty database and makes the key. */
	bench_env_start_with(&env, bench_policy);
	struct cl_crypto *crypto = open_key(&env);
	deadlines(&env, crypto);
	restart(&env, crypto);
	cl_crypto_free(crypto);
	bench_env_stop(&env);
	return 0;
}
