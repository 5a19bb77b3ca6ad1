/*
 * tests/unit/rekey_test.c: key rotation in the service (core/rekey.c,
 * core/store_rekey.c) over a real SQLite file with a fake clock: a rotation
 * makes new values use the new key at once; each flush moves a bounded batch
 * (about 200 values) and the service stays due "now" until the work is done;
 * a pass that moves nothing retires the old keys (key 1 by its flag); every
 * value then opens (reports, notes, a 1 MB recording read through blob I/O);
 * a rotation in the middle of a pass starts a new pass; a restart resumes;
 * values no key opens are left alone and keep their key; an idle service
 * without old keys has no deadline of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "careline/clock.h"
#include "careline/config.h"
#include "careline/crypto.h"
#include "careline/log.h"
#include "careline/rekey.h"
#include "careline/service.h"
#include "careline/store.h"

#include "../lib/svcfix.h"

#define T0 INT64_C(1773223200000) /* Wednesday 2026-03-11T10:00:00Z */

static const char test_ini[] = "[careline]\n"
                               "lang = da\n"
                               "[routing]\n"
                               "default_area = centrum\n"
                               "[person anna]\n"
                               "role = worker\n"
                               "[person bo]\n"
                               "role = worker\n"
                               "[person carl]\n"
                               "role = worker\n"
                               "[area centrum]\n"
                               "name = Centrum\n"
                               "postcodes = 8000\n"
                               "team = t1\n"
                               "[team t1]\n"
                               "rotation = anna bo\n"
                               "handoff = mon 08:00\n"
                               "anchor = 2026-01-05\n"
                               "backup = carl\n"
                               "policy = slow\n"
                               "[policy slow]\n"
                               "step = primary 3600\n"
                               "final = backup 3600\n";

static struct sf fx;
static char refs[200][CL_REF_MAX];
static size_t n_refs;

static int setup(void **state)
{
	memset(refs, 0, sizeof(refs));
	n_refs = 0;
	sf_setup(&fx, "rekey", test_ini, T0);
	sf_start(&fx);
	return 0;
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

/* --- helpers ------------------------------------------------------------------ */

static void text_of(int i, char *buf, size_t len)
{
	snprintf(buf, len, "Har ikke set manden i nr. %d i to uger, postkassen flyder over", i);
}

/* n named reports, each with text, address, name, phone, resident (5 values),
 * in one flush. */
static void post_reports(int from, int n)
{
	struct cl_report_answer answers[200];
	for (int i = 0; i < n; i++) {
		struct cl_report r;
		cl_report_init(&r);
		r.via = CL_CHANNEL_HTTP;
		snprintf(r.idem_ns, sizeof(r.idem_ns), "app");
		snprintf(r.key, sizeof(r.key), "rekey-%d", from + i);
		char text[128];
		text_of(from + i, text, sizeof(text));
		r.text = strdup(text);
		snprintf(r.address.street, sizeof(r.address.street), "Testvej");
		snprintf(r.address.number, sizeof(r.address.number), "%d", from + i + 1);
		snprintf(r.address.postcode, sizeof(r.address.postcode), "8000");
		r.reporter_name = strdup("Jens Hansen");
		r.reporter_phone = strdup("+4520123456");
		r.resident_name = strdup("Beboer");
		assert_non_null(
		    cl_service_submit_report(fx.svc, &r, sf_copy_report_answer, &answers[i]));
	}
	cl_service_flush(fx.svc);
	for (int i = 0; i < n; i++) {
		assert_int_equal(answers[i].err, CL_OK);
		snprintf(refs[from + i], CL_REF_MAX, "%s", answers[i].ref);
	}
	n_refs = (size_t)(from + n);
}

static void note(const char *ref, const char *text)
{
	assert_int_equal(sf_act(&fx, CL_ACTION_NOTE, ref, "anna", NULL, text), CL_OK);
}

static struct cl_key_status status(void)
{
	struct cl_key_status st;
	assert_int_equal(cl_service_key_status(fx.svc, &st), CL_OK);
	return st;
}

static int64_t values_under(const struct cl_key_status *st, uint32_t id)
{
	for (size_t i = 0; i < st->n_use; i++)
		if (st->use[i].id == id)
			return st->use[i].values;
	return 0;
}

static int64_t total_values(const struct cl_key_status *st)
{
	int64_t n = 0;
	for (size_t i = 0; i < st->n_use; i++)
		n += st->use[i].values;
	return n;
}

static uint32_t rotate(void)
{
	struct cl_key_status st;
	assert_int_equal(cl_service_key_rotate(fx.svc, "admin", &st), CL_OK);
	assert_true(st.reencrypting);
	return st.current;
}

/* Flush until the re-encryption stops; returns the flushes it took. */
static int drain(void)
{
	int flushes = 0;
	while (status().reencrypting) {
		assert_int_equal(cl_service_next_deadline(fx.svc), cl_clock_now(&fx.clock));
		cl_service_flush(fx.svc);
		assert_true(++flushes < 1000);
	}
	return flushes;
}

struct texts {
	int found;
	const char *want;
};

static void on_view(void *ctx, const struct cl_report_view *v)
{
	struct texts *t = ctx;
	if (v->fields[CL_RF_TEXT] && strcmp(v->fields[CL_RF_TEXT], t->want) == 0 &&
	    v->fields[CL_RF_REPORTER_PHONE] && v->fields[CL_RF_ADDRESS] &&
	    v->fields[CL_RF_RESIDENT_NAME])
		t->found++;
}

static void expect_reports_read(void)
{
	for (size_t i = 0; i < n_refs; i++) {
		struct cl_ticket t;
		assert_int_equal(cl_service_ticket(fx.svc, refs[i], &t), CL_OK);
		char text[128];
		text_of((int)i, text, sizeof(text));
		struct texts c = {0, text};
		assert_int_equal(cl_service_ticket_reports(fx.svc, &t, on_view, &c), CL_OK);
		assert_int_equal(c.found, 1);
	}
}

struct notes {
	int found;
	const char *want;
};

static void on_event(void *ctx, const struct cl_event_row *e, const char *n)
{
	struct notes *c = ctx;
	if (n && strcmp(n, c->want) == 0)
		c->found++;
}

static void expect_note(const char *ref, const char *text)
{
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	struct notes c = {0, text};
	assert_int_equal(cl_service_ticket_events(fx.svc, &t, on_event, &c), CL_OK);
	assert_int_equal(c.found, 1);
}

static sqlite3 *db_open(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* A stored recording of ticket ref with len bytes of audio, sealed now. */
static int64_t add_recording(const char *ref, const unsigned char *audio, size_t len)
{
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	sqlite3 *db = db_open();
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO call (id, provider, call_key, step, lang, ticket_id, created_at,"
	         " updated_at) VALUES (1, 'twilio', 'CA1', 'ended', 'da', %lld, 1, 1);"
	         "INSERT INTO recording (id, call_id, ticket_id, provider, remote_id, remote_url,"
	         " state, remote_deleted, next_try_at, size, created_at, stored_at)"
	         " VALUES (7, 1, %lld, 'twilio', 'RE1', '', 'stored', 1, 0, %zu, 1, 1);",
	         (long long)t.id, (long long)t.id, len);
	db_exec(db, sql);
	unsigned char *enc = malloc(len + CL_CRYPTO_OVERHEAD);
	size_t enc_len;
	assert_int_equal(
	    cl_crypto_seal_field(fx.crypto, "recording", 7, "audio", audio, len, enc, &enc_len),
	    CL_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE recording SET audio_enc = ? WHERE id = 7",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, enc, (int)enc_len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(enc);
	return 7;
}

/* Change one byte of a report value (in the row with the min or max id):
 * at offset (negative: from the end), xor'ed with x (offset 1: set to x). */
static void patch_value(const char *column, const char *which, int offset, unsigned char x)
{
	sqlite3 *db = db_open();
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT id, %s FROM report WHERE id = (SELECT %s(id) FROM report)", column, which);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	sqlite3_int64 id = sqlite3_column_int64(st, 0);
	size_t len = (size_t)sqlite3_column_bytes(st, 1);
	unsigned char *v = malloc(len);
	memcpy(v, sqlite3_column_blob(st, 1), len);
	sqlite3_finalize(st);
	size_t at = offset < 0 ? len - (size_t)-offset : (size_t)offset;
	if (offset == 1)
		v[at] = x;
	else
		v[at] ^= x;
	snprintf(sql, sizeof(sql), "UPDATE report SET %s = ?1 WHERE id = ?2", column);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, v, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(v);
}

/* The key id of every non-NULL value of one column, all equal to want. */
static void expect_column_key(const char *table, const char *column, uint32_t want)
{
	sqlite3 *db = db_open();
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s IS NOT NULL", column, table, column);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint32_t id = 0;
		assert_true(cl_crypto_value_key_id(sqlite3_column_blob(st, 0),
		                                   (size_t)sqlite3_column_bytes(st, 0), &id));
		assert_int_equal(id, want);
		n++;
	}
	assert_true(n > 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* --- tests ------------------------------------------------------------------------- */

static void test_rekey_idle_service_has_no_deadline(void **state)
{
	post_reports(0, 3);
	/* Only the others (escalations, the first purge): nothing of rekey's. */
	int64_t next = cl_service_next_deadline(fx.svc);
	assert_true(next == 0 || next > T0); /* the purge, escalations: not "now" */
	struct cl_key_status st = status();
	assert_int_equal(st.current, 1);
	assert_false(st.reencrypting);
	assert_int_equal(st.pending, 0);
	assert_int_equal(values_under(&st, 1), 3 * 5);
}

static void test_rekey_moves_in_batches_then_retires(void **state)
{
	post_reports(0, 120); /* 600 values */
	note(refs[3], "Nøglen ligger hos viceværten");
	size_t len = 1024 * 1024;
	unsigned char *audio = malloc(len);
	for (size_t i = 0; i < len; i++)
		audio[i] = (unsigned char)(i * 31 + (i >> 10));
	add_recording(refs[5], audio, len);
	struct cl_key_status st = status();
	int64_t total = total_values(&st);
	assert_int_equal(total, 120 * 5 + 1 + 1);
	assert_int_equal(values_under(&st, 1), total);

	assert_int_equal(rotate(), 2);
	st = status();
	assert_int_equal(st.pending, total);
	assert_int_equal(st.n_held, 2);
	/* New values use key 2 at once (the flush also moves a batch). */
	post_reports(120, 1);
	st = status();
	assert_true(values_under(&st, 2) >= 5 && values_under(&st, 2) <= 5 + 206);
	int64_t pending = st.pending;
	/* Each loop pass moves one bounded batch. */
	assert_int_equal(cl_service_next_deadline(fx.svc), T0);
	cl_service_flush(fx.svc);
	st = status();
	assert_true(pending - st.pending > 0 && pending - st.pending <= 206);
	int flushes = drain();
	assert_true(flushes >= 2);

	st = status();
	assert_int_equal(st.current, 2);
	assert_int_equal(st.n_held, 1);
	assert_int_equal(st.held[0], 2);
	assert_true(st.master_key_retired);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.n_use, 1);
	assert_int_equal(values_under(&st, 2), total + 5);
	assert_int_equal(st.moved, (uint64_t)total);
	expect_column_key("report", "text_enc", 2);
	expect_column_key("report", "resident_name_enc", 2);
	expect_column_key("ticket_event", "note_enc", 2);
	expect_column_key("recording", "audio_enc", 2);
	expect_reports_read();
	expect_note(refs[3], "Nøglen ligger hos viceværten");
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, refs[5], &t), CL_OK);
	unsigned char *back = NULL;
	size_t back_len = 0;
	assert_int_equal(cl_service_recording_audio(fx.svc, &t, 7, &back, &back_len), CL_OK);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, audio, len);
	free(back);
	free(audio);
	/* Done: one flush records the retirement (audit), then no deadline of
	 * its own any more. */
	assert_int_equal(cl_service_next_deadline(fx.svc), T0);
	cl_service_flush(fx.svc);
	int64_t next = cl_service_next_deadline(fx.svc);
	assert_true(next == 0 || next > T0); /* the purge, escalations: not "now" */
}

static void test_rekey_rotation_mid_pass_starts_again(void **state)
{
	post_reports(0, 150); /* 750 values */
	assert_int_equal(rotate(), 2);
	cl_service_flush(fx.svc);
	struct cl_key_status st = status();
	assert_true(values_under(&st, 1) > 0 && values_under(&st, 2) > 0);
	assert_int_equal(rotate(), 3);
	st = status();
	assert_int_equal(st.n_held, 3);
	assert_int_equal(st.pending, 750);
	drain();
	st = status();
	assert_int_equal(st.n_held, 1);
	assert_int_equal(st.held[0], 3);
	assert_int_equal(st.pending, 0);
	assert_int_equal(values_under(&st, 3), 750);
	expect_column_key("report", "address_enc", 3);
	expect_reports_read();
}

static void test_rekey_resumes_after_restart(void **state)
{
	post_reports(0, 100);
	assert_int_equal(rotate(), 2);
	cl_service_flush(fx.svc);
	/* A restart with the same keyring (crypto_test covers its file). */
	cl_service_free(fx.svc);
	assert_int_equal(cl_service_new(fx.cfg, fx.store, fx.crypto, &fx.clock, &fx.svc), CL_OK);
	assert_int_equal(cl_service_next_deadline(fx.svc), T0);
	struct cl_key_status st = status();
	assert_true(st.reencrypting);
	assert_true(st.pending > 0);
	drain();
	st = status();
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.n_held, 1);
	expect_reports_read();
}

static void test_rekey_leaves_unreadable_values_and_keeps_their_key(void **state)
{
	post_reports(0, 20);
	assert_int_equal(rotate(), 2);
	/* Damage one value under key 1 (a flipped tag byte) and make another
	 * name a key nobody holds. */
	patch_value("text_enc", "min", -1, 0x01);
	patch_value("resident_name_enc", "max", 1, 9);
	char log[8192];
	FILE *f = tmpfile();
	cl_log_set_stream(f);
	drain();
	cl_log_set_stream(NULL);
	rewind(f);
	log[fread(log, 1, sizeof(log) - 1, f)] = '\0';
	fclose(f);
	assert_non_null(strstr(log, "event=rekey.value_unreadable table=report"));
	assert_non_null(strstr(log, "field=text key_id=1"));
	assert_non_null(strstr(log, "field=resident_name key_id=9"));
	assert_non_null(strstr(log, "event=rekey.incomplete unreadable=2"));
	struct cl_key_status st = status();
	assert_false(st.reencrypting);
	/* Key 1 is kept: a value still names it. */
	assert_int_equal(st.n_held, 2);
	assert_false(st.master_key_retired);
	assert_int_equal(st.pending, 2);
	assert_int_equal(values_under(&st, 1), 1);
	assert_int_equal(values_under(&st, 9), 1);
	assert_int_equal(values_under(&st, 2), 20 * 5 - 2);
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rekey_idle_service_has_no_deadline, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_moves_in_batches_then_retires, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_rotation_mid_pass_starts_again, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_resumes_after_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_leaves_unreadable_values_and_keeps_their_key,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
