/*
 * tests/unit/audit_test.c: the audit chain in the service (core/audit.c,
 * core/store_audit.c) over a real SQLite file with a fake clock: a ticket's
 * life (report, alert, take, note, read, resolve) is a run of events, each
 * linked to the one before by its hash, with ids in sequence and nothing
 * personal in them; verify walks it and says ok; a row edited, removed, or
 * removed with the ids after it renumbered through SQLite is found at the
 * right id with the right reason (hash, sequence, link); the head kept in
 * memory finds the newest events cut off; a restart goes on from the stored
 * head.
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

#include "careline/audit.h"
#include "careline/clock.h"
#include "careline/config.h"
#include "careline/crypto.h"
#include "careline/log.h"
#include "careline/service.h"
#include "careline/store.h"

#include "../lib/svcfix.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define T0  INT64_C(1773223200000) /* Wednesday 2026-03-11T10:00:00Z */

#define TEXT  "Har ikke set manden i nr. 14 st. th. i over to uger, postkassen flyder over"
#define NOTE  "Nøglen ligger hos viceværten"
#define NAME  "Jens Hansen"
#define PHONE "+4520123456"

static struct sf fx;

static int setup(void **state)
{
	sf_setup(&fx, "audit", sf_team_ini, T0);
	fx.confirm_mqtt = true;
	sf_start(&fx);
	return 0;
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

/* --- helpers ------------------------------------------------------------------ */

static void at(int64_t t)
{
	cl_clock_set(&fx.clock, t);
	cl_service_flush(fx.svc);
}

/* A named report with personal fields, now. */
static void new_ticket(const char *key, char ref[CL_REF_MAX])
{
	struct cl_report r;
	cl_report_init(&r);
	r.via = CL_CHANNEL_HTTP;
	snprintf(r.idem_ns, sizeof(r.idem_ns), "app");
	snprintf(r.key, sizeof(r.key), "%s", key);
	r.text = strdup(TEXT);
	snprintf(r.address.street, sizeof(r.address.street), "Testvej");
	snprintf(r.address.number, sizeof(r.address.number), "7");
	snprintf(r.address.postcode, sizeof(r.address.postcode), "8000");
	r.reporter_name = strdup(NAME);
	r.reporter_phone = strdup(PHONE);
	r.resident_name = strdup("Beboer Olsen");
	struct cl_report_answer a = {.err = CL_ERR_INVALID};
	assert_non_null(cl_service_submit_report(fx.svc, &r, sf_copy_report_answer, &a));
	cl_service_flush(fx.svc);
	assert_int_equal(a.err, CL_OK);
	snprintf(ref, CL_REF_MAX, "%s", a.ref);
}

struct control_done {
	int calls;
	enum cl_err err;
};

static void on_control(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct control_done *d = ctx;
	d->calls++;
	d->err = err;
}

/* who opens ref's personal data (carelinectl show, the app). */
static enum cl_err read_ticket(const char *ref, const char *who)
{
	struct cl_control c;
	memset(&c, 0, sizeof(c));
	c.kind = CL_CONTROL_AUDIT_READ;
	snprintf(c.ref, sizeof(c.ref), "%s", ref);
	snprintf(c.actor, sizeof(c.actor), "%s", who);
	struct control_done d = {0};
	assert_non_null(cl_service_submit_control(fx.svc, &c, on_control, &d));
	cl_service_flush(fx.svc);
	assert_int_equal(d.calls, 1);
	return d.err;
}

/* A ticket's whole life, T0 to T0 + 10 min: reported, alerted, taken,
 * noted, read by bo, resolved. */
static void ticket_life(char ref[CL_REF_MAX])
{
	new_ticket("life", ref);
	at(T0 + 2 * SEC); /* the alert's send result */
	cl_clock_set(&fx.clock, T0 + 1 * MIN);
	assert_int_equal(sf_act(&fx, CL_ACTION_TAKE, ref, "anna", NULL, NULL), CL_OK);
	cl_clock_set(&fx.clock, T0 + 2 * MIN);
	assert_int_equal(sf_act(&fx, CL_ACTION_NOTE, ref, "anna", NULL, NOTE), CL_OK);
	cl_clock_set(&fx.clock, T0 + 3 * MIN);
	assert_int_equal(read_ticket(ref, "bo"), CL_OK);
	cl_clock_set(&fx.clock, T0 + 10 * MIN);
	assert_int_equal(sf_act(&fx, CL_ACTION_RESOLVE, ref, "anna", "contact_refused", NULL),
	                 CL_OK);
	at(T0 + 10 * MIN + 2 * SEC);
}

/* The chain as stored, strings copied. */
struct row {
	struct cl_audit_event e;
	char actor[CL_ID_MAX];
	char action[40];
	char object[40];
	char detail[96];
	bool has_detail;
};

struct rows {
	int n;
	struct row v[64];
};

static void on_row(void *ctx, const struct cl_audit_event *e)
{
	struct rows *r = ctx;
	assert_true(r->n < 64);
	struct row *w = &r->v[r->n++];
	w->e = *e;
	snprintf(w->actor, sizeof(w->actor), "%s", e->actor);
	snprintf(w->action, sizeof(w->action), "%s", e->action);
	snprintf(w->object, sizeof(w->object), "%s", e->object);
	snprintf(w->detail, sizeof(w->detail), "%s", e->detail ? e->detail : "");
	w->has_detail = e->detail != NULL;
}

static struct rows *chain(void)
{
	static struct rows r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(cl_store_audit_each(fx.store, 0, 0, on_row, &r), CL_OK);
	return &r;
}

static struct rows *chain_of(const char *ref)
{
	static struct rows r;
	memset(&r, 0, sizeof(r));
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	assert_int_equal(cl_service_audit_of_ticket(fx.svc, &t, on_row, &r), CL_OK);
	return &r;
}

/* The id of the first event with this action. */
static int64_t id_of(const char *action)
{
	struct rows *r = chain();
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->v[i].action, action) == 0)
			return r->v[i].e.id;
	fail_msg("no %s event", action);
	return 0;
}

static struct cl_audit_verdict verify(void)
{
	struct cl_audit_verdict v;
	assert_int_equal(cl_service_audit_verify(fx.svc, NULL, &v), CL_OK);
	return v;
}

static void expect_ok(int64_t events)
{
	struct cl_audit_verdict v = verify();
	if (!v.ok)
		fail_msg("broken at %lld (%s)", (long long)v.first_broken, v.reason);
	assert_int_equal(v.checked, events);
	assert_int_equal(v.first_broken, 0);
}

static void expect_broken(int64_t at_id, const char *reason)
{
	struct cl_audit_verdict v = verify();
	assert_false(v.ok);
	assert_int_equal(v.first_broken, at_id);
	assert_string_equal(v.reason, reason);
}

static void db_exec(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void db_execf(const char *fmt, long long a)
{
	char sql[512];
	snprintf(sql, sizeof(sql), fmt, a, a, a);
	db_exec(sql);
}

/* --- tests -------------------------------------------------------------------------- */

static void test_audit_ticket_life_is_a_linked_run_of_events(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	char object[32];
	snprintf(object, sizeof(object), "ticket:%lld", (long long)t.id);

	struct rows *mine = chain_of(ref);
	/* bo was on duty: alerted, then told anna took it. */
	const char *want[][3] = {
	    {"ticket.create", "reporter", "via=http"},
	    {"ticket.notify", "system", ""},
	    {"notification.queued", "system", "channel=mqtt person=bo kind=alert"},
	    {"notification.sent", "system", "channel=mqtt person=bo kind=alert"},
	    {"ticket.take", "anna", ""},
	    {"notification.queued", "system", "channel=mqtt person=bo kind=update"},
	    {"notification.sent", "system", "channel=mqtt person=bo kind=update"},
	    {"ticket.note", "anna", ""},
	    {"read.ticket", "bo", ""},
	    {"ticket.resolve", "anna", "reason=contact_refused"},
	};
	int n_want = (int)(sizeof(want) / sizeof(want[0]));
	if (mine->n != n_want)
		for (int i = 0; i < mine->n; i++)
			print_message("%d %s %s %s %s\n", i, mine->v[i].action, mine->v[i].actor,
			              mine->v[i].object, mine->v[i].detail);
	assert_int_equal(mine->n, n_want);
	for (int i = 0; i < n_want; i++) {
		assert_string_equal(mine->v[i].action, want[i][0]);
		assert_string_equal(mine->v[i].actor, want[i][1]);
		assert_string_equal(mine->v[i].detail, want[i][2]);
		assert_int_equal(mine->v[i].e.ticket_id, t.id);
		if (strncmp(want[i][0], "notification.", 13) != 0)
			assert_string_equal(mine->v[i].object, object);
	}
	assert_string_equal(mine->v[2].object, "notification:1");
	assert_int_equal(mine->v[0].e.at_ms, T0);
	assert_int_equal(mine->v[4].e.at_ms, T0 + MIN);
	assert_int_equal(mine->v[7].e.at_ms, T0 + 2 * MIN);
	assert_int_equal(mine->v[8].e.at_ms, T0 + 3 * MIN);
	assert_false(mine->v[8].has_detail);
	assert_int_equal(mine->v[9].e.at_ms, T0 + 10 * MIN);

	/* The whole chain: ids 1..n, each event's prev the hash before it
	 * (zeros before the first), no two hashes alike, nothing personal. */
	struct rows *all = chain();
	assert_true(all->n >= n_want);
	static const unsigned char zero[CL_AUDIT_HASH_BYTES];
	const char *secrets[] = {"manden", "Testvej", "Jens", "2012345", "Olsen", "Nøglen"};
	for (int i = 0; i < all->n; i++) {
		const struct row *r = &all->v[i];
		assert_int_equal(r->e.id, i + 1);
		assert_memory_equal(r->e.prev, i ? all->v[i - 1].e.hash : zero,
		                    CL_AUDIT_HASH_BYTES);
		assert_memory_not_equal(r->e.hash, zero, CL_AUDIT_HASH_BYTES);
		if (i)
			assert_true(r->e.at_ms >= all->v[i - 1].e.at_ms);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(r->e.hash, all->v[j].e.hash, CL_AUDIT_HASH_BYTES);
		for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++) {
			assert_null(strstr(r->actor, secrets[k]));
			assert_null(strstr(r->object, secrets[k]));
			assert_null(strstr(r->detail, secrets[k]));
		}
	}
	expect_ok(all->n);
}

static void test_audit_read_of_an_unknown_ticket_is_refused_unrecorded(void **state)
{
	char ref[CL_REF_MAX];
	new_ticket("a", ref);
	at(T0 + 2 * SEC);
	int n = chain()->n;
	assert_int_equal(read_ticket("ZZZZZ", "bo"), CL_ERR_NOTFOUND);
	assert_int_equal(chain()->n, n);
	assert_int_equal(read_ticket(ref, "bo"), CL_OK);
	assert_int_equal(chain()->n, n + 1);
	assert_string_equal(chain()->v[n].action, "read.ticket");
	expect_ok(n + 1);
}

/* A changed field of one row: that row's hash no longer fits it. */
static void test_audit_verify_finds_an_edited_row(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	int n = chain()->n;
	int64_t take = id_of("ticket.take");
	/* Someone makes it look as if bo had taken the case. */
	db_execf("UPDATE audit SET actor = 'bo' WHERE id = %lld", take);
	expect_broken(take, "hash");
	assert_int_equal(verify().checked, n); /* the walk goes on to the end */
	db_execf("UPDATE audit SET actor = 'anna' WHERE id = %lld", take);
	expect_ok(n);
	/* The time, the detail, the ticket: each is covered. */
	int64_t resolve = id_of("ticket.resolve");
	db_execf("UPDATE audit SET at = at + 1 WHERE id = %lld", resolve);
	expect_broken(resolve, "hash");
	db_execf("UPDATE audit SET at = at - 1 WHERE id = %lld", resolve);
	db_execf("UPDATE audit SET detail = 'reason=handed_over:home_care' WHERE id = %lld",
	         resolve);
	expect_broken(resolve, "hash");
	db_execf("UPDATE audit SET detail = 'reason=contact_refused' WHERE id = %lld", resolve);
	db_execf("UPDATE audit SET ticket_id = ticket_id + 1 WHERE id = %lld", resolve);
	expect_broken(resolve, "hash");
	db_execf("UPDATE audit SET ticket_id = ticket_id - 1 WHERE id = %lld", resolve);
	/* A detail removed is not the same as an empty one. */
	int64_t read = id_of("read.ticket");
	db_execf("UPDATE audit SET detail = '' WHERE id = %lld", read);
	expect_broken(read, "hash");
	db_execf("UPDATE audit SET detail = NULL WHERE id = %lld", read);
	expect_ok(n);
	/* The first row, and the newest. */
	db_exec("UPDATE audit SET action = 'ticket.created' WHERE id = 1");
	expect_broken(1, "hash");
	db_exec("UPDATE audit SET action = 'ticket.create' WHERE id = 1");
	db_execf("UPDATE audit SET hash = zeroblob(32) WHERE id = %lld", n);
	expect_broken(n, "hash");
}

/* A row deleted: the next id is not the one expected. */
static void test_audit_verify_finds_a_removed_row(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	int n = chain()->n;
	int64_t read = id_of("read.ticket");
	db_execf("DELETE FROM audit WHERE id = %lld", read);
	expect_broken(read + 1, "sequence");
	assert_int_equal(verify().checked, n - 1);
}

/* A row deleted and the ids after it moved down to close the gap: the
 * row now in its place was chained to the deleted one. */
static void test_audit_verify_finds_a_row_removed_and_renumbered(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	int n = chain()->n;
	int64_t read = id_of("read.ticket");
	db_execf("DELETE FROM audit WHERE id = %lld;"
	         "UPDATE audit SET id = -id WHERE id > %lld;"
	         "UPDATE audit SET id = -id - 1 WHERE id < 0",
	         read);
	assert_int_equal(chain()->n, n - 1);
	expect_broken(read, "link");
}

/* A row replayed (a copy of one slipped in before it, the ids after moved
 * up): the copy fits where the original was, the original no longer does. */
static void test_audit_verify_finds_an_inserted_row(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	int64_t take = id_of("ticket.take");
	db_execf("UPDATE audit SET id = -id - 1 WHERE id >= %lld;"
	         "UPDATE audit SET id = -id WHERE id < 0;"
	         "INSERT INTO audit (id, at, actor, action, object, ticket_id, detail, prev, hash)"
	         " SELECT %lld, at, actor, action, object, ticket_id, detail, prev, hash"
	         " FROM audit WHERE id = %lld + 1",
	         take);
	expect_broken(take + 1, "link");
}

/* The newest events removed leave a chain that fits; the head the running
 * service keeps says it ends short. */
static void test_audit_head_finds_a_truncated_tail(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	int n = chain()->n;
	db_execf("DELETE FROM audit WHERE id > %lld", n - 2);
	struct cl_audit_verdict v = verify();
	assert_false(v.ok);
	assert_string_equal(v.reason, "truncated");
	assert_int_equal(v.first_broken, n - 1);
	assert_int_equal(v.checked, n - 2);
}

/* After a restart the service goes on from the head in the database. */
static void test_audit_chain_goes_on_after_a_restart(void **state)
{
	char ref[CL_REF_MAX];
	ticket_life(ref);
	int n = chain()->n;
	sf_restart_at(&fx, T0 + 20 * MIN);
	expect_ok(n);
	assert_int_equal(read_ticket(ref, "carl"), CL_OK);
	struct rows *all = chain();
	assert_int_equal(all->n, n + 1);
	assert_int_equal(all->v[n].e.id, n + 1);
	assert_memory_equal(all->v[n].e.prev, all->v[n - 1].e.hash, CL_AUDIT_HASH_BYTES);
	assert_string_equal(all->v[n].actor, "carl");
	expect_ok(n + 1);
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_audit_ticket_life_is_a_linked_run_of_events, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_audit_read_of_an_unknown_ticket_is_refused_unrecorded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_verify_finds_an_edited_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_verify_finds_a_removed_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_verify_finds_a_row_removed_and_renumbered,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_verify_finds_an_inserted_row, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_audit_head_finds_a_truncated_tail, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_audit_chain_goes_on_after_a_restart, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
