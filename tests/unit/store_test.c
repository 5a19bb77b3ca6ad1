/*
 * tests/unit/store_test.c: core/store*.c on a fresh SQLite file in a mkdtemp
 * directory: WAL mode, migrations (applied once, not again on reopen),
 * ticket/report/event/notification rows round-tripped field by field, the
 * idempotency UNIQUE(channel, key), savepoints that undo one job only, the
 * open-ticket-at-address lookup, pending notifications and counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "careline/log.h"
#include "careline/store.h"

#define T0 INT64_C(1773223200000) /* 2026-03-11T10:00:00Z */

struct fixture {
	char dir[64];
	char path[96];
	struct cl_store *s;
};

static struct fixture fx;

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	strcpy(fx.dir, "/tmp/careline-store-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/careline.db", fx.dir);
	assert_int_equal(cl_store_open(fx.path, &fx.s), CL_OK);
	assert_non_null(fx.s);
	return 0;
}

static int teardown(void **state)
{
	cl_store_close(fx.s);
	fx.s = NULL;
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s%s", fx.path, suffix[i]);
		unlink(p);
	}
	rmdir(fx.dir);
	return 0;
}

static void reopen(void)
{
	cl_store_close(fx.s);
	fx.s = NULL;
	assert_int_equal(cl_store_open(fx.path, &fx.s), CL_OK);
}

/* A query on a separate connection (what an operator's sqlite3 sees). */
static int64_t side_query_int(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void side_query_text(const char *sql, char *out, size_t len)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void side_exec(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A ticket with every field set to something recognisable. */
static struct cl_ticket make_ticket(int64_t id, const char *ref)
{
	struct cl_ticket t;
	memset(&t, 0, sizeof(t));
	t.id = id;
	snprintf(t.ref, sizeof(t.ref), "%s", ref);
	t.kind = CL_TICKET_NAMED;
	t.state = CL_TICKET_NOTIFYING;
	t.urgency = CL_P1;
	t.categories.n = 0;
	cl_categories_add(&t.categories, CL_CAT_NOT_SEEN);
	cl_categories_add(&t.categories, CL_CAT_SQUALOR);
	strcpy(t.area, "vest");
	strcpy(t.team, "opsoegende");
	strcpy(t.policy, "standard");
	t.created_ms = T0 + id;
	t.updated_ms = T0 + id + 1;
	t.has_address_hash = true;
	for (int i = 0; i < 32; i++)
		t.address_hash[i] = (unsigned char)(i * 7 + 1);
	t.phase = CL_ESC_STEP;
	t.step = 1;
	t.loop = 2;
	t.due_ms = T0 + 120000;
	return t;
}

static void insert_ticket(const struct cl_ticket *t)
{
	assert_int_equal(cl_store_ticket_insert(fx.s, t), CL_OK);
}

static void test_store_fresh_db_is_wal(void **state)
{
	char mode[32];
	side_query_text("PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_true(cl_store_healthy(fx.s));

	/* A write goes to the write-ahead log beside the database. */
	struct cl_ticket t = make_ticket(1, "AAAAA");
	assert_int_equal(cl_store_begin(fx.s), CL_OK);
	insert_ticket(&t);
	assert_int_equal(cl_store_commit(fx.s), CL_OK);
	char wal[128];
	snprintf(wal, sizeof(wal), "%s-wal", fx.path);
	struct stat st;
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 0);
	/* Committed means visible to another connection. */
	assert_int_equal(side_query_int("SELECT count(*) FROM ticket"), 1);
}

/* core/store_schema.c: the number of migrations (internal to the store). */
extern const int store_migration_count;

static void test_store_schema_version_is_migration_count(void **state)
{
	int v = cl_store_schema_version(fx.s);
	assert_true(v >= 1);
	assert_int_equal(v, store_migration_count);
	assert_int_equal(side_query_int("PRAGMA user_version"), v);
	/* Every table of DESIGN.md §3 that the core uses is there. */
	const char *tables[] = {"meta", "ticket", "report", "ticket_event", "notification"};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
		         tables[i]);
		assert_int_equal(side_query_int(sql), 1);
	}
}

static void test_store_reopen_does_not_migrate_again(void **state)
{
	int v = cl_store_schema_version(fx.s);
	struct cl_ticket t = make_ticket(1, "AAAAA");
	insert_ticket(&t);
	cl_store_close(fx.s);
	fx.s = NULL;
	/* A row only a re-created schema would lose. */
	side_exec("INSERT INTO meta (key, value) VALUES ('marker', 'kept')");
	FILE *log = tmpfile();
	assert_non_null(log);
	cl_log_set_stream(log);
	cl_log_set_level(CL_LOG_INFO);
	assert_int_equal(cl_store_open(fx.path, &fx.s), CL_OK);
	cl_log_set_stream(NULL);
	cl_log_set_level(CL_LOG_WARN);
	char line[512];
	rewind(log);
	while (fgets(line, sizeof(line), log))
		assert_null(strstr(line, "store.migrated"));
	fclose(log);
	assert_int_equal(cl_store_schema_version(fx.s), v);
	char value[16];
	side_query_text("SELECT value FROM meta WHERE key = 'marker'", value, sizeof(value));
	assert_string_equal(value, "kept");
	struct cl_ticket got;
	assert_int_equal(cl_store_ticket_get(fx.s, 1, &got), CL_OK);
	/* Ids continue after the rows already there. */
	assert_int_equal(cl_store_next_ticket_id(fx.s), 2);
	assert_int_equal(cl_store_next_report_id(fx.s), 1);
	assert_int_equal(cl_store_next_report_id(fx.s), 2);
}

static void test_store_refuses_newer_schema(void **state)
{
	int v = cl_store_schema_version(fx.s);
	cl_store_close(fx.s);
	fx.s = NULL;
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
	side_exec(sql);
	cl_log_set_level(CL_LOG_ERROR + 1);
	assert_int_not_equal(cl_store_open(fx.path, &fx.s), CL_OK);
	cl_log_set_level(CL_LOG_WARN);
	assert_null(fx.s);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	side_exec(sql);
	assert_int_equal(cl_store_open(fx.path, &fx.s), CL_OK);
}

static void assert_ticket_equal(const struct cl_ticket *a, const struct cl_ticket *b)
{
	assert_int_equal(a->id, b->id);
	assert_string_equal(a->ref, b->ref);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->urgency, b->urgency);
	assert_int_equal(a->categories.n, b->categories.n);
	for (size_t i = 0; i < a->categories.n; i++)
		assert_int_equal(a->categories.cats[i], b->categories.cats[i]);
	assert_string_equal(a->area, b->area);
	assert_string_equal(a->team, b->team);
	assert_string_equal(a->policy, b->policy);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->updated_ms, b->updated_ms);
	assert_string_equal(a->acked_by, b->acked_by);
	assert_int_equal(a->acked_ms, b->acked_ms);
	assert_string_equal(a->taken_by, b->taken_by);
	assert_int_equal(a->taken_ms, b->taken_ms);
	assert_string_equal(a->closed_reason, b->closed_reason);
	assert_int_equal(a->closed_ms, b->closed_ms);
	assert_int_equal(a->linked_to, b->linked_to);
	assert_int_equal(a->has_address_hash, b->has_address_hash);
	if (a->has_address_hash)
		assert_memory_equal(a->address_hash, b->address_hash, 32);
	assert_int_equal(a->phase, b->phase);
	assert_int_equal(a->step, b->step);
	assert_int_equal(a->loop, b->loop);
	assert_int_equal(a->due_ms, b->due_ms);
	assert_int_equal(a->unhandled, b->unhandled);
}

static void test_store_ticket_round_trip(void **state)
{
	struct cl_ticket first = make_ticket(1, "BBBBB");
	insert_ticket(&first);

	struct cl_ticket t = make_ticket(2, "K7FQ2");
	t.kind = CL_TICKET_ANONYMOUS;
	t.state = CL_TICKET_CLOSED;
	t.urgency = CL_P0;
	strcpy(t.acked_by, "anna");
	t.acked_ms = T0 + 1000;
	strcpy(t.taken_by, "bo");
	t.taken_ms = T0 + 2000;
	strcpy(t.closed_reason, "handed_over:drop_in_centre");
	t.closed_ms = T0 + 3000;
	t.linked_to = 1;
	t.phase = CL_ESC_FINAL;
	t.step = 2;
	t.loop = 1;
	t.due_ms = T0 + 999;
	t.unhandled = true;
	insert_ticket(&t);

	struct cl_ticket got;
	assert_int_equal(cl_store_ticket_get(fx.s, 2, &got), CL_OK);
	assert_ticket_equal(&got, &t);
	assert_string_equal(got.linked_ref, "BBBBB");

	/* The minimal ticket: empty strings, zero times, no hash, no link. */
	struct cl_ticket bare;
	memset(&bare, 0, sizeof(bare));
	bare.id = 3;
	strcpy(bare.ref, "CCCCC");
	bare.categories.n = 1;
	bare.categories.cats[0] = CL_CAT_OTHER;
	strcpy(bare.area, "a");
	strcpy(bare.team, "t");
	strcpy(bare.policy, "p");
	bare.urgency = CL_P3;
	insert_ticket(&bare);
	assert_int_equal(cl_store_ticket_get(fx.s, 3, &got), CL_OK);
	assert_ticket_equal(&got, &bare);
	assert_string_equal(got.linked_ref, "");

	assert_int_equal(cl_store_ticket_get(fx.s, 99, &got), CL_ERR_NOTFOUND);

	/* A ref is unique. */
	cl_log_set_level(CL_LOG_ERROR + 1);
	struct cl_ticket dup = make_ticket(4, "K7FQ2");
	assert_int_equal(cl_store_ticket_insert(fx.s, &dup), CL_ERR_CONFLICT);
	cl_log_set_level(CL_LOG_WARN);
}

static void test_store_ticket_update_writes_mutable_columns(void **state)
{
	struct cl_ticket t = make_ticket(1, "DDDDD");
	insert_ticket(&t);
	t.state = CL_TICKET_TAKEN;
	t.updated_ms = T0 + 50000;
	strcpy(t.acked_by, "carl");
	t.acked_ms = T0 + 40000;
	strcpy(t.taken_by, "carl");
	t.taken_ms = T0 + 50000;
	t.phase = CL_ESC_IDLE;
	t.step = 0;
	t.loop = 0;
	t.due_ms = 0;
	t.unhandled = true;
	assert_int_equal(cl_store_ticket_update(fx.s, &t), CL_OK);
	struct cl_ticket got;
	assert_int_equal(cl_store_ticket_get(fx.s, 1, &got), CL_OK);
	assert_ticket_equal(&got, &t);

	/* Clearing fields writes NULLs that read back empty. */
	t.acked_by[0] = '\0';
	t.acked_ms = 0;
	assert_int_equal(cl_store_ticket_update(fx.s, &t), CL_OK);
	assert_int_equal(cl_store_ticket_get(fx.s, 1, &got), CL_OK);
	assert_string_equal(got.acked_by, "");
	assert_int_equal(got.acked_ms, 0);
	assert_int_equal(side_query_int("SELECT count(*) FROM ticket WHERE acked_by IS NULL"
	                                " AND acked_at IS NULL AND due_at IS NULL"),
	                 1);
}

static struct cl_report_row make_report(int64_t id, int64_t ticket_id, const char *key,
                                        const unsigned char *blob, size_t blob_len)
{
	struct cl_report_row r = {
	    .id = id,
	    .ns = "app",
	    .key = key,
	    .via = "http",
	    .received_ms = T0 + 5,
	    .ticket_id = ticket_id,
	    .reporter_person = "jens",
	    .reporter_role = "caretaker",
	    .anonymous = false,
	    .consent_callback = true,
	    .consent_disclose = true,
	    .answer_state = "notifying",
	};
	for (int f = 0; f < CL_RF__COUNT; f++)
		r.fields[f] = (struct cl_blob){blob + f, blob_len - (size_t)f};
	r.phone_hash = (struct cl_blob){blob, 32};
	return r;
}

struct report_seen {
	int n;
	int64_t ids[8];
	bool anonymous[8];
	size_t field_len[8][CL_RF__COUNT];
	bool field_null[8][CL_RF__COUNT];
	unsigned char first_byte[8][CL_RF__COUNT];
	char key[8][96];
	char person[8][CL_ID_MAX];
	size_t phone_hash_len[8];
	char answer[8][24];
};

static void on_report(void *ctx, const struct cl_report_row *r)
{
	struct report_seen *s = ctx;
	int i = s->n++;
	s->ids[i] = r->id;
	s->anonymous[i] = r->anonymous;
	snprintf(s->key[i], sizeof(s->key[i]), "%s", r->key);
	snprintf(s->person[i], sizeof(s->person[i]), "%s",
	         r->reporter_person ? r->reporter_person : "(null)");
	for (int f = 0; f < CL_RF__COUNT; f++) {
		s->field_null[i][f] = r->fields[f].data == NULL;
		s->field_len[i][f] = r->fields[f].len;
		s->first_byte[i][f] = r->fields[f].data ? r->fields[f].data[0] : 0;
	}
	s->phone_hash_len[i] = r->phone_hash.len;
	snprintf(s->answer[i], sizeof(s->answer[i]), "%s", r->answer_state);
	assert_string_equal(r->ns, "app");
	assert_string_equal(r->via, "http");
	assert_int_equal(r->received_ms, T0 + 5);
}

static void test_store_report_insert_and_unique_key(void **state)
{
	unsigned char blob[64];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)(0xA0 + i);
	struct cl_ticket t = make_ticket(1, "EEEEE");
	insert_ticket(&t);

	struct cl_report_row r =
	    make_report(1, 1, "b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e11", blob, 48);
	assert_int_equal(cl_store_report_insert(fx.s, &r), CL_OK);

	int64_t tid = 0;
	char answer[24] = "";
	assert_int_equal(cl_store_report_find(fx.s, "app", "b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e11",
	                                      &tid, answer, sizeof(answer)),
	                 CL_OK);
	assert_int_equal(tid, 1);
	assert_string_equal(answer, "notifying");
	assert_int_equal(
	    cl_store_report_find(fx.s, "app", "another-key", &tid, answer, sizeof(answer)),
	    CL_ERR_NOTFOUND);
	assert_int_equal(cl_store_report_find(fx.s, "twilio",
	                                      "b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e11", &tid, answer,
	                                      sizeof(answer)),
	                 CL_ERR_NOTFOUND);

	/* The same (channel, key) again is a conflict, whatever the row id. */
	cl_log_set_level(CL_LOG_ERROR + 1);
	struct cl_report_row again =
	    make_report(2, 1, "b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e11", blob, 48);
	assert_int_equal(cl_store_report_insert(fx.s, &again), CL_ERR_CONFLICT);
	cl_log_set_level(CL_LOG_WARN);
	/* The same key in another namespace is another report. */
	again.ns = "twilio";
	assert_int_equal(cl_store_report_insert(fx.s, &again), CL_OK);

	/* An anonymous report without personal fields. */
	struct cl_report_row anon = make_report(3, 1, "anon-1", blob, 48);
	anon.anonymous = true;
	anon.reporter_person = NULL;
	anon.reporter_role = NULL;
	for (int f = 1; f < CL_RF__COUNT; f++)
		anon.fields[f] = (struct cl_blob){NULL, 0};
	anon.phone_hash = (struct cl_blob){NULL, 0};
	assert_int_equal(cl_store_report_insert(fx.s, &anon), CL_OK);

	assert_int_equal(side_query_int("SELECT count(*) FROM report"), 3);
	assert_int_equal(side_query_int("SELECT count(*) FROM report WHERE anonymous = 1"
	                                " AND reporter_person IS NULL AND reporter_name_enc IS NULL"
	                                " AND reporter_phone_enc IS NULL AND phone_hash IS NULL"
	                                " AND text_enc IS NOT NULL"),
	                 1);
	assert_int_equal(cl_store_report_find(fx.s, "app", "anon-1", &tid, answer, sizeof(answer)),
	                 CL_OK);
}

static void test_store_reports_of_ticket_round_trip(void **state)
{
	unsigned char blob[64];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)(0x10 + i);
	struct cl_ticket t = make_ticket(1, "FFFFF");
	insert_ticket(&t);
	struct cl_ticket other = make_ticket(2, "GGGGG");
	insert_ticket(&other);
	struct cl_report_row r1 = make_report(1, 1, "k1", blob, 50);
	struct cl_report_row r2 = make_report(2, 2, "k2", blob, 50);
	struct cl_report_row r3 = make_report(3, 1, "k3", blob, 50);
	r3.anonymous = true;
	r3.reporter_person = NULL;
	r3.fields[CL_RF_REPORTER_NAME] = (struct cl_blob){NULL, 0};
	r3.answer_state = "acknowledged";
	assert_int_equal(cl_store_report_insert(fx.s, &r1), CL_OK);
	assert_int_equal(cl_store_report_insert(fx.s, &r2), CL_OK);
	assert_int_equal(cl_store_report_insert(fx.s, &r3), CL_OK);

	struct report_seen seen;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_store_reports_of_ticket(fx.s, 1, on_report, &seen), CL_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ids[0], 1); /* oldest first */
	assert_int_equal(seen.ids[1], 3);
	assert_string_equal(seen.key[0], "k1");
	assert_string_equal(seen.person[0], "jens");
	assert_string_equal(seen.person[1], "(null)");
	assert_false(seen.anonymous[0]);
	assert_true(seen.anonymous[1]);
	for (int f = 0; f < CL_RF__COUNT; f++) {
		assert_false(seen.field_null[0][f]);
		assert_int_equal(seen.field_len[0][f], 50 - f);
		assert_int_equal(seen.first_byte[0][f], 0x10 + f);
	}
	assert_true(seen.field_null[1][CL_RF_REPORTER_NAME]);
	assert_int_equal(seen.field_len[1][CL_RF_REPORTER_NAME], 0);
	assert_int_equal(seen.phone_hash_len[0], 32);
	assert_string_equal(seen.answer[0], "notifying");
	assert_string_equal(seen.answer[1], "acknowledged");

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_store_reports_of_ticket(fx.s, 42, on_report, &seen), CL_OK);
	assert_int_equal(seen.n, 0);
	assert_string_equal(cl_report_field_name(CL_RF_REPORTER_PHONE), "reporter_phone");
}

/* Three jobs in one transaction, the middle one undone. */
static void test_store_savepoint_rollback_undoes_one_job(void **state)
{
	assert_int_equal(cl_store_begin(fx.s), CL_OK);

	assert_int_equal(cl_store_savepoint(fx.s), CL_OK);
	struct cl_ticket a = make_ticket(1, "HHHHH");
	insert_ticket(&a);
	assert_int_equal(cl_store_release(fx.s), CL_OK);

	assert_int_equal(cl_store_savepoint(fx.s), CL_OK);
	struct cl_ticket b = make_ticket(2, "JJJJJ");
	insert_ticket(&b);
	struct cl_event_row e = {.ticket_id = 2,
	                         .at_ms = T0,
	                         .actor = "system",
	                         .event = "create",
	                         .from_state = "new",
	                         .to_state = "new"};
	assert_int_equal(cl_store_event_insert(fx.s, &e), CL_OK);
	cl_store_rollback_to(fx.s);

	assert_int_equal(cl_store_savepoint(fx.s), CL_OK);
	struct cl_ticket c = make_ticket(3, "KKKKK");
	insert_ticket(&c);
	assert_int_equal(cl_store_release(fx.s), CL_OK);

	assert_int_equal(cl_store_commit(fx.s), CL_OK);

	struct cl_ticket got;
	assert_int_equal(cl_store_ticket_get(fx.s, 1, &got), CL_OK);
	assert_int_equal(cl_store_ticket_get(fx.s, 2, &got), CL_ERR_NOTFOUND);
	assert_int_equal(cl_store_ticket_get(fx.s, 3, &got), CL_OK);
	assert_int_equal(side_query_int("SELECT count(*) FROM ticket_event"), 0);
	assert_int_equal(side_query_int("SELECT count(*) FROM ticket"), 2);

	/* A failed job in the middle (a constraint) is undone the same way. */
	assert_int_equal(cl_store_begin(fx.s), CL_OK);
	assert_int_equal(cl_store_savepoint(fx.s), CL_OK);
	struct cl_ticket d = make_ticket(4, "LLLLL");
	insert_ticket(&d);
	cl_log_set_level(CL_LOG_ERROR + 1);
	struct cl_ticket clash = make_ticket(5, "HHHHH");
	assert_int_equal(cl_store_ticket_insert(fx.s, &clash), CL_ERR_CONFLICT);
	cl_log_set_level(CL_LOG_WARN);
	cl_store_rollback_to(fx.s);
	assert_int_equal(cl_store_savepoint(fx.s), CL_OK);
	struct cl_ticket e2 = make_ticket(6, "MMMMM");
	insert_ticket(&e2);
	assert_int_equal(cl_store_release(fx.s), CL_OK);
	assert_int_equal(cl_store_commit(fx.s), CL_OK);
	assert_int_equal(cl_store_ticket_get(fx.s, 4, &got), CL_ERR_NOTFOUND);
	assert_int_equal(cl_store_ticket_get(fx.s, 6, &got), CL_OK);

	/* A whole transaction rolled back leaves nothing. */
	assert_int_equal(cl_store_begin(fx.s), CL_OK);
	struct cl_ticket f = make_ticket(7, "NNNNN");
	insert_ticket(&f);
	cl_store_rollback(fx.s);
	assert_int_equal(cl_store_ticket_get(fx.s, 7, &got), CL_ERR_NOTFOUND);
	cl_store_rollback(fx.s); /* no transaction: harmless */
}

static void test_store_open_at_address(void **state)
{
	unsigned char h1[32], h2[32];
	memset(h1, 0x11, sizeof(h1));
	memset(h2, 0x22, sizeof(h2));
	int64_t id = 0;
	char ref[CL_REF_MAX] = "";
	assert_int_equal(cl_store_ticket_open_at_address(fx.s, h1, &id, ref), CL_ERR_NOTFOUND);

	struct cl_ticket t1 = make_ticket(1, "PPPPP");
	memcpy(t1.address_hash, h1, 32);
	insert_ticket(&t1);
	struct cl_ticket t2 = make_ticket(2, "QQQQQ");
	memcpy(t2.address_hash, h1, 32);
	t2.state = CL_TICKET_TAKEN;
	insert_ticket(&t2);
	struct cl_ticket t3 = make_ticket(3, "RRRRR");
	memcpy(t3.address_hash, h1, 32);
	t3.state = CL_TICKET_CLOSED;
	insert_ticket(&t3);
	struct cl_ticket t4 = make_ticket(4, "SSSSS");
	memcpy(t4.address_hash, h2, 32);
	insert_ticket(&t4);
	struct cl_ticket t5 = make_ticket(5, "TTTTT");
	t5.has_address_hash = false;
	insert_ticket(&t5);

	/* The newest open one; the closed newer one does not count. */
	assert_int_equal(cl_store_ticket_open_at_address(fx.s, h1, &id, ref), CL_OK);
	assert_int_equal(id, 2);
	assert_string_equal(ref, "QQQQQ");
	assert_int_equal(cl_store_ticket_open_at_address(fx.s, h2, &id, ref), CL_OK);
	assert_int_equal(id, 4);

	/* Closing the open ones leaves nothing to link to. */
	t2.state = CL_TICKET_CLOSED;
	assert_int_equal(cl_store_ticket_update(fx.s, &t2), CL_OK);
	assert_int_equal(cl_store_ticket_open_at_address(fx.s, h1, &id, ref), CL_OK);
	assert_int_equal(id, 1);
	t1.state = CL_TICKET_CLOSED;
	assert_int_equal(cl_store_ticket_update(fx.s, &t1), CL_OK);
	assert_int_equal(cl_store_ticket_open_at_address(fx.s, h1, &id, ref), CL_ERR_NOTFOUND);
}

struct id_list {
	int n;
	int64_t ids[32];
	int64_t due[32];
};

static void on_ticket(void *ctx, const struct cl_ticket *t)
{
	struct id_list *l = ctx;
	l->due[l->n] = t->due_ms;
	l->ids[l->n++] = t->id;
}

static void on_id_due(void *ctx, int64_t id, int64_t due)
{
	struct id_list *l = ctx;
	l->due[l->n] = due;
	l->ids[l->n++] = id;
}

static void test_store_lists_deadlines_and_counts(void **state)
{
	const enum cl_ticket_state states[] = {CL_TICKET_NOTIFYING, CL_TICKET_NOTIFYING,
	                                       CL_TICKET_ACKNOWLEDGED, CL_TICKET_TAKEN,
	                                       CL_TICKET_CLOSED};
	for (int i = 0; i < 5; i++) {
		char ref[CL_REF_MAX] = "R2";
		ref[1] = (char)('2' + i);
		struct cl_ticket t = make_ticket(i + 1, ref);
		t.state = states[i];
		if (i == 4)
			strcpy(t.team, "other");
		t.due_ms = states[i] == CL_TICKET_TAKEN || states[i] == CL_TICKET_CLOSED
		               ? 0
		               : T0 + 1000 * (i + 1);
		insert_ticket(&t);
	}
	struct id_list l = {0};
	struct cl_ticket_filter all = {.open_only = false};
	assert_int_equal(cl_store_tickets_list(fx.s, &all, on_ticket, &l), CL_OK);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.ids[0], 5); /* newest first */
	assert_int_equal(l.ids[4], 1);

	memset(&l, 0, sizeof(l));
	struct cl_ticket_filter open = {.open_only = true};
	assert_int_equal(cl_store_tickets_list(fx.s, &open, on_ticket, &l), CL_OK);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.ids[0], 4);

	memset(&l, 0, sizeof(l));
	struct cl_ticket_filter team = {.open_only = false, .team = "other"};
	assert_int_equal(cl_store_tickets_list(fx.s, &team, on_ticket, &l), CL_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ids[0], 5);
	memset(&l, 0, sizeof(l));
	team.open_only = true;
	assert_int_equal(cl_store_tickets_list(fx.s, &team, on_ticket, &l), CL_OK);
	assert_int_equal(l.n, 0);

	memset(&l, 0, sizeof(l));
	struct cl_ticket_filter two = {.open_only = false, .limit = 2};
	assert_int_equal(cl_store_tickets_list(fx.s, &two, on_ticket, &l), CL_OK);
	assert_int_equal(l.n, 2);

	memset(&l, 0, sizeof(l));
	assert_int_equal(cl_store_tickets_with_deadline(fx.s, on_id_due, &l), CL_OK);
	assert_int_equal(l.n, 3);
	int64_t sum = 0;
	for (int i = 0; i < l.n; i++) {
		assert_int_equal(l.due[i], T0 + 1000 * l.ids[i]);
		sum += l.ids[i];
	}
	assert_int_equal(sum, 1 + 2 + 3);

	int64_t counts[CL_TICKET_STATE__COUNT];
	assert_int_equal(cl_store_ticket_counts(fx.s, counts), CL_OK);
	assert_int_equal(counts[CL_TICKET_NEW], 0);
	assert_int_equal(counts[CL_TICKET_NOTIFYING], 2);
	assert_int_equal(counts[CL_TICKET_ACKNOWLEDGED], 1);
	assert_int_equal(counts[CL_TICKET_TAKEN], 1);
	assert_int_equal(counts[CL_TICKET_CLOSED], 1);
}

struct event_seen {
	int n;
	char event[8][24];
	char actor[8][24];
	char detail[8][64];
	size_t note_len[8];
	int64_t at[8];
};

static void on_event(void *ctx, const struct cl_event_row *e)
{
	struct event_seen *s = ctx;
	int i = s->n++;
	snprintf(s->event[i], sizeof(s->event[i]), "%s", e->event);
	snprintf(s->actor[i], sizeof(s->actor[i]), "%s", e->actor);
	snprintf(s->detail[i], sizeof(s->detail[i]), "%s", e->detail ? e->detail : "(null)");
	s->note_len[i] = e->note.data ? e->note.len : 0;
	s->at[i] = e->at_ms;
	assert_true(e->id > 0);
}

static void test_store_events_round_trip(void **state)
{
	struct cl_ticket t = make_ticket(1, "UUUUU");
	insert_ticket(&t);
	unsigned char note[40];
	memset(note, 0x5a, sizeof(note));
	struct cl_event_row rows[] = {
	    {.ticket_id = 1,
	     .at_ms = T0,
	     .actor = "anonymous",
	     .event = "create",
	     .from_state = "new",
	     .to_state = "new",
	     .detail = "via=http"},
	    {.ticket_id = 1,
	     .at_ms = T0 + 60000,
	     .actor = "system",
	     .event = "escalate",
	     .from_state = "notifying",
	     .to_state = "notifying",
	     .detail = "step=1 loop=0"},
	    {.ticket_id = 1,
	     .at_ms = T0 + 70000,
	     .actor = "anna",
	     .event = "note",
	     .from_state = "notifying",
	     .to_state = "notifying",
	     .note = {note, sizeof(note)}},
	};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(cl_store_event_insert(fx.s, &rows[i]), CL_OK);
	struct event_seen seen;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_store_events_of_ticket(fx.s, 1, on_event, &seen), CL_OK);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.event[0], "create");
	assert_string_equal(seen.actor[0], "anonymous");
	assert_string_equal(seen.detail[0], "via=http");
	assert_string_equal(seen.event[1], "escalate");
	assert_string_equal(seen.detail[1], "step=1 loop=0");
	assert_int_equal(seen.at[1], T0 + 60000);
	assert_string_equal(seen.detail[2], "(null)");
	assert_int_equal(seen.note_len[2], 40);
	assert_int_equal(seen.note_len[0], 0);
}

struct notif_seen {
	int n;
	int64_t ids[16];
	int64_t next[16];
};

static void on_pending(void *ctx, int64_t id, int64_t next_ms)
{
	struct notif_seen *s = ctx;
	s->ids[s->n] = id;
	s->next[s->n++] = next_ms;
}

static void on_notif(void *ctx, const struct cl_notification *n)
{
	struct notif_seen *s = ctx;
	s->ids[s->n++] = n->id;
}

static void test_store_notifications(void **state)
{
	struct cl_ticket t = make_ticket(1, "VVVVV");
	insert_ticket(&t);
	struct cl_ticket t2 = make_ticket(2, "WWWWW");
	insert_ticket(&t2);

	struct cl_notification n = {
	    .ticket_id = 1,
	    .person = "anna",
	    .channel = "mqtt",
	    .target = "anna-phone",
	    .kind = "alert",
	    .step = 1,
	    .loop = 2,
	    .state = CL_NOTIF_PENDING,
	    .next_attempt_ms = T0 + 10,
	    .created_ms = T0,
	};
	assert_int_equal(cl_store_notification_insert(fx.s, &n), CL_OK);
	assert_true(n.id > 0);
	int64_t first = n.id;

	struct cl_notification got;
	assert_int_equal(cl_store_notification_get(fx.s, first, &got), CL_OK);
	assert_int_equal(got.id, first);
	assert_int_equal(got.ticket_id, 1);
	assert_string_equal(got.person, "anna");
	assert_string_equal(got.channel, "mqtt");
	assert_string_equal(got.target, "anna-phone");
	assert_string_equal(got.kind, "alert");
	assert_int_equal(got.step, 1);
	assert_int_equal(got.loop, 2);
	assert_int_equal(got.state, CL_NOTIF_PENDING);
	assert_int_equal(got.attempts, 0);
	assert_int_equal(got.next_attempt_ms, T0 + 10);
	assert_int_equal(got.created_ms, T0);
	assert_int_equal(got.sent_ms, 0);
	assert_int_equal(got.answered_ms, 0);
	assert_string_equal(got.answer, "");
	assert_string_equal(got.last_error, "");

	/* More rows: one pending for another ticket, one failed at once. */
	struct cl_notification n2 = n;
	n2.ticket_id = 2;
	strcpy(n2.person, "bo");
	strcpy(n2.target, "bo-phone");
	n2.next_attempt_ms = T0 + 20;
	assert_int_equal(cl_store_notification_insert(fx.s, &n2), CL_OK);
	struct cl_notification n3 = n;
	strcpy(n3.person, "dorthe");
	strcpy(n3.channel, "none");
	strcpy(n3.target, "-");
	strcpy(n3.last_error, "no_contact");
	n3.state = CL_NOTIF_FAILED;
	n3.next_attempt_ms = 0;
	assert_int_equal(cl_store_notification_insert(fx.s, &n3), CL_OK);
	assert_true(n3.id > n2.id && n2.id > first);

	struct notif_seen seen = {0};
	assert_int_equal(cl_store_notifications_pending(fx.s, on_pending, &seen), CL_OK);
	assert_int_equal(seen.n, 2);

	/* Sent: no longer pending. */
	got.state = CL_NOTIF_SENT;
	got.attempts = 1;
	got.next_attempt_ms = T0 + 1010;
	got.sent_ms = T0 + 15;
	got.answered_ms = T0 + 30;
	strcpy(got.answer, "ack");
	assert_int_equal(cl_store_notification_update(fx.s, &got), CL_OK);
	struct cl_notification again;
	assert_int_equal(cl_store_notification_get(fx.s, first, &again), CL_OK);
	assert_int_equal(again.state, CL_NOTIF_SENT);
	assert_int_equal(again.attempts, 1);
	assert_int_equal(again.next_attempt_ms, T0 + 1010);
	assert_int_equal(again.sent_ms, T0 + 15);
	assert_int_equal(again.answered_ms, T0 + 30);
	assert_string_equal(again.answer, "ack");
	/* Fields the update does not own are kept. */
	assert_string_equal(again.person, "anna");
	assert_int_equal(again.created_ms, T0);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_store_notifications_pending(fx.s, on_pending, &seen), CL_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], n2.id);
	assert_int_equal(seen.next[0], T0 + 20);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(cl_store_notifications_of_ticket(fx.s, 1, on_notif, &seen), CL_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.ids[0], first);
	assert_int_equal(seen.ids[1], n3.id);

	int64_t counts[CL_NOTIF_STATE__COUNT];
	assert_int_equal(cl_store_notification_counts(fx.s, counts), CL_OK);
	assert_int_equal(counts[CL_NOTIF_PENDING], 1);
	assert_int_equal(counts[CL_NOTIF_SENT], 1);
	assert_int_equal(counts[CL_NOTIF_FAILED], 1);
	assert_int_equal(counts[CL_NOTIF_CANCELLED], 0);

	assert_int_equal(cl_store_notification_get(fx.s, 999, &got), CL_ERR_NOTFOUND);
	assert_string_equal(cl_notif_state_name(CL_NOTIF_CANCELLED), "cancelled");

	/* A notification for a ticket that does not exist is refused. */
	cl_log_set_level(CL_LOG_ERROR + 1);
	struct cl_notification orphan = n;
	orphan.ticket_id = 77;
	assert_int_equal(cl_store_notification_insert(fx.s, &orphan), CL_ERR_CONFLICT);
	cl_log_set_level(CL_LOG_WARN);
}

static void test_store_survives_reopen(void **state)
{
	struct cl_ticket t = make_ticket(1, "XXXXX");
	assert_int_equal(cl_store_begin(fx.s), CL_OK);
	insert_ticket(&t);
	struct cl_notification n = {.ticket_id = 1,
	                            .person = "anna",
	                            .channel = "mqtt",
	                            .target = "anna-phone",
	                            .kind = "alert",
	                            .state = CL_NOTIF_PENDING,
	                            .next_attempt_ms = T0,
	                            .created_ms = T0};
	assert_int_equal(cl_store_notification_insert(fx.s, &n), CL_OK);
	assert_int_equal(cl_store_commit(fx.s), CL_OK);
	reopen();
	struct cl_ticket got;
	assert_int_equal(cl_store_ticket_get(fx.s, 1, &got), CL_OK);
	assert_ticket_equal(&got, &t);
	struct notif_seen seen = {0};
	assert_int_equal(cl_store_notifications_pending(fx.s, on_pending, &seen), CL_OK);
	assert_int_equal(seen.n, 1);
	struct id_list l = {0};
	assert_int_equal(cl_store_tickets_with_deadline(fx.s, on_id_due, &l), CL_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.due[0], T0 + 120000);
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_fresh_db_is_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_schema_version_is_migration_count, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_reopen_does_not_migrate_again, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_refuses_newer_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_ticket_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_ticket_update_writes_mutable_columns, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_report_insert_and_unique_key, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_reports_of_ticket_round_trip, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_savepoint_rollback_undoes_one_job, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_at_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_lists_deadlines_and_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_events_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_notifications, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_survives_reopen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
