/*
 * tests/unit/audit_anchor_test.c: the audit chain's head published in the
 * log and checked against (core/audit.c through cl_service_*, a real SQLite
 * file, a fake clock, the log captured). cl_audit_anchor_parse takes only
 * "N:HEX" with N >= 1 and 64 hex digits; the head is logged at start (not
 * while the chain is empty), after a flush once the chain has grown and an
 * hour has passed since the last line (never more often, and the service's
 * next deadline says when), and at the stop; the newest rows deleted while
 * the service is stopped fit the chain alone but are found against the
 * logged head ("truncated" at the first missing id), and an event that is
 * not the anchored one says "anchor".
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

#define T0   INT64_C(1773223200000) /* 2026-03-11T10:00:00Z */
#define HOUR INT64_C(3600000)
#define HEX0 "0000000000000000000000000000000000000000000000000000000000000000"

static const char test_ini[] = "[careline]\n"
                               "lang = da\n"
                               "[routing]\n"
                               "default_area = centrum\n"
                               "[person anna]\n"
                               "role = worker\n"
                               "[area centrum]\n"
                               "name = Centrum\n"
                               "postcodes = 8000\n"
                               "team = t1\n"
                               "[team t1]\n"
                               "rotation = anna\n"
                               "handoff = mon 08:00\n"
                               "anchor = 2026-01-05\n"
                               "policy = p\n"
                               "[policy p]\n"
                               "step = primary 60\n"
                               "[retention]\n"
                               "closed_after = 0\n";

static struct sf fx;
static FILE *log_file;

/* Log lines go to a temporary file until log_take() returns them. */
static void log_capture(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	cl_log_set_stream(log_file);
	cl_log_set_level(CL_LOG_INFO);
}

static char *log_take(void)
{
	cl_log_set_level(CL_LOG_WARN);
	cl_log_set_stream(NULL);
	static char buf[16384];
	rewind(log_file);
	buf[fread(buf, 1, sizeof(buf) - 1, log_file)] = '\0';
	fclose(log_file);
	log_file = NULL;
	return buf;
}

static int count_of(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The last "audit.head" line in log as "N:HEX", its id and when=. */
static bool last_head(const char *log, char anchor[96], long long *id, char when[16])
{
	const char *last = NULL;
	for (const char *p = log; (p = strstr(p, "event=audit.head ")); p++)
		last = p;
	char hash[65] = "";
	if (!last ||
	    sscanf(last, "event=audit.head id=%lld hash=%64[0-9a-f] when=%15s", id, hash, when) !=
	        3 ||
	    strlen(hash) != 64)
		return false;
	snprintf(anchor, 96, "%lld:%s", *id, hash);
	return true;
}

static int setup(void **state)
{
	sf_setup(&fx, "anchor", test_ini, T0);
	return 0;
}

static int teardown(void **state)
{
	if (log_file)
		log_take();
	sf_teardown(&fx);
	return 0;
}

static void on_control(void *ctx, enum cl_err err, const struct cl_control *c)
{
	*(enum cl_err *)ctx = err;
}

/* n audit events (a retention dry run each), committed by one flush. */
static void events(int n)
{
	enum cl_err done[16];
	assert_true(n <= 16);
	for (int i = 0; i < n; i++) {
		struct cl_control c = {.kind = CL_CONTROL_PURGE, .dry_run = true};
		snprintf(c.actor, sizeof(c.actor), "admin");
		done[i] = CL_ERR__COUNT;
		assert_non_null(cl_service_submit_control(fx.svc, &c, on_control, &done[i]));
	}
	cl_service_flush(fx.svc);
	for (int i = 0; i < n; i++)
		assert_int_equal(done[i], CL_OK);
}

static struct cl_audit_verdict verify(const char *anchor)
{
	struct cl_audit_anchor a;
	if (anchor)
		assert_int_equal(cl_audit_anchor_parse(anchor, &a), CL_OK);
	struct cl_audit_verdict v;
	assert_int_equal(cl_service_audit_verify(fx.svc, anchor ? &a : NULL, &v), CL_OK);
	return v;
}

static void delete_after(int64_t id)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
	char sql[64];
	snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE id > %lld", (long long)id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* --- tests ------------------------------------------------------------------ */

static void test_audit_anchor_parse_accepts_only_id_colon_64_hex(void **state)
{
	struct cl_audit_anchor a;
	char s[160];
	snprintf(s, sizeof(s), "42:00fF10%.58s", HEX0);
	assert_int_equal(cl_audit_anchor_parse(s, &a), CL_OK);
	assert_int_equal(a.id, 42);
	assert_int_equal(a.hash[0], 0x00);
	assert_int_equal(a.hash[1], 0xff);
	assert_int_equal(a.hash[2], 0x10);
	assert_int_equal(a.hash[31], 0x00);
	assert_int_equal(cl_audit_anchor_parse("9223372036854775807:" HEX0, &a), CL_OK);
	assert_int_equal(a.id, INT64_MAX);

	const char *bad[] = {NULL,          "",         "42",        "42:",
	                     ":" HEX0,      "0:" HEX0,  "-1:" HEX0,  "+1:" HEX0,
	                     " 1:" HEX0,    "1 :" HEX0, "1;" HEX0,   "1:" HEX0 "0",
	                     "1:" HEX0 " ", "1:g" HEX0, "1:0x" HEX0, "9223372036854775808:" HEX0};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.id = 7;
		assert_int_equal(cl_audit_anchor_parse(bad[i], &a), CL_ERR_INVALID);
		assert_int_equal(a.id, 0);
	}
	snprintf(s, sizeof(s), "1:%.63s", HEX0); /* a digit short */
	assert_int_equal(cl_audit_anchor_parse(s, &a), CL_ERR_INVALID);
	snprintf(s, sizeof(s), "1:%.63sg", HEX0); /* the last one not hex */
	assert_int_equal(cl_audit_anchor_parse(s, &a), CL_ERR_INVALID);
}

/* Events in the chain now (the daily purge may have added its own). */
static long long chain_length(void)
{
	struct cl_audit_verdict v = verify(NULL);
	assert_true(v.ok);
	return v.checked;
}

static void test_audit_anchor_head_logged_at_start_when_grown_hourly_and_at_stop(void **state)
{
	char anchor[96], when[16];
	long long id = 0;

	/* An empty chain: nothing to anchor, not at start, not at the stop. */
	log_capture();
	sf_start(&fx);
	cl_service_flush(fx.svc);
	sf_stop(&fx);
	assert_int_equal(count_of(log_take(), "event=audit.head"), 0);

	/* The chain grows a minute after the start (the first purge runs then,
	 * too): the next line is due an hour after the start, not before. */
	log_capture();
	sf_start(&fx);
	cl_clock_set(&fx.clock, T0 + 61000);
	cl_service_flush(fx.svc);
	events(3);
	assert_int_equal(count_of(log_take(), "event=audit.head"), 0);
	assert_int_equal(cl_service_next_deadline(fx.svc), T0 + HOUR);
	log_capture();
	cl_clock_set(&fx.clock, T0 + HOUR - 1);
	cl_service_flush(fx.svc);
	assert_int_equal(count_of(log_take(), "event=audit.head"), 0);
	log_capture();
	cl_clock_set(&fx.clock, T0 + HOUR);
	cl_service_flush(fx.svc); /* no job: the deadline alone */
	char *log = log_take();
	assert_int_equal(count_of(log, "event=audit.head"), 1);
	assert_true(last_head(log, anchor, &id, when));
	assert_true(id >= 3);
	assert_int_equal(id, chain_length());
	assert_string_equal(when, "interval");
	assert_true(verify(anchor).ok);

	/* Not grown: no line, and no deadline of its own, however quiet. */
	int64_t next = cl_service_next_deadline(fx.svc);
	assert_true(next == 0 || next > T0 + 6 * HOUR);
	log_capture();
	cl_clock_set(&fx.clock, T0 + 5 * HOUR);
	cl_service_flush(fx.svc);
	assert_int_equal(count_of(log_take(), "event=audit.head"), 0);

	/* Grown after a quiet spell: at once, then not again within the hour. */
	log_capture();
	events(1);
	log = log_take();
	assert_int_equal(count_of(log, "event=audit.head"), 1);
	assert_true(last_head(log, anchor, &id, when));
	assert_int_equal(id, chain_length());
	log_capture();
	cl_clock_set(&fx.clock, T0 + 5 * HOUR + 60000);
	events(2);
	assert_int_equal(count_of(log_take(), "event=audit.head"), 0);
	assert_int_equal(cl_service_next_deadline(fx.svc), T0 + 6 * HOUR);
	log_capture();
	cl_clock_set(&fx.clock, T0 + 6 * HOUR);
	cl_service_flush(fx.svc);
	log = log_take();
	assert_true(last_head(log, anchor, &id, when));
	assert_int_equal(id, chain_length());
	assert_string_equal(when, "interval");
	long long head = id;

	/* The stop and the next start say the head whether it grew or not. */
	log_capture();
	sf_stop(&fx);
	sf_start(&fx);
	log = log_take();
	assert_int_equal(count_of(log, "event=audit.head"), 2);
	char want[64];
	snprintf(want, sizeof(want), "event=audit.head id=%lld hash=", head);
	char *line = strstr(log, want);
	assert_non_null(line);
	/* One line, nothing else on it. */
	assert_int_equal(strcspn(line, "\n"), strlen(want) + 64 + strlen(" when=stop"));
	assert_true(last_head(log, anchor, &id, when));
	assert_int_equal(id, head);
	assert_string_equal(when, "start");
}

static void test_audit_anchor_verify_finds_truncation_after_restart(void **state)
{
	char anchor[96], restarted[96], when[16];
	long long id = 0;
	sf_start(&fx);
	events(8);
	log_capture();
	sf_stop(&fx);
	assert_true(last_head(log_take(), anchor, &id, when));
	assert_int_equal(id, 8);
	assert_string_equal(when, "stop");

	delete_after(5);
	log_capture();
	sf_start(&fx);
	assert_true(last_head(log_take(), restarted, &id, when));
	assert_int_equal(id, 5);

	/* The chain alone fits: the documented limit. */
	struct cl_audit_verdict v = verify(NULL);
	assert_true(v.ok);
	assert_int_equal(v.checked, 5);
	v = verify(restarted);
	assert_true(v.ok);

	v = verify(anchor);
	assert_false(v.ok);
	assert_int_equal(v.checked, 5);
	assert_int_equal(v.first_broken, 6);
	assert_string_equal(v.reason, "truncated");

	/* Everything gone still names the first missing id. */
	sf_stop(&fx);
	delete_after(0);
	sf_start(&fx);
	v = verify(anchor);
	assert_false(v.ok);
	assert_int_equal(v.first_broken, 1);
	assert_string_equal(v.reason, "truncated");
}

static void test_audit_anchor_verify_names_a_different_event(void **state)
{
	char anchor[96], when[16];
	long long id = 0;
	sf_start(&fx);
	events(8);
	log_capture();
	sf_stop(&fx);
	assert_true(last_head(log_take(), anchor, &id, when));
	delete_after(5);
	sf_start(&fx);

	/* A hash that is not event 5's: "anchor" at 5. */
	char wrong[96];
	struct cl_audit_verdict v = verify(NULL);
	assert_true(v.ok);
	snprintf(wrong, sizeof(wrong), "5:%s", HEX0);
	v = verify(wrong);
	assert_false(v.ok);
	assert_int_equal(v.first_broken, 5);
	assert_string_equal(v.reason, "anchor");

	/* New events take the deleted ids: event 8 exists, but another one
	 * (written a second later: the same fields at the same time would hash
	 * the same). */
	cl_clock_advance(&fx.clock, 1000);
	events(4);
	v = verify(NULL);
	assert_true(v.ok);
	assert_int_equal(v.checked, 9);
	v = verify(anchor);
	assert_false(v.ok);
	assert_int_equal(v.first_broken, 8);
	assert_string_equal(v.reason, "anchor");
	assert_int_equal(v.checked, 9);

	/* A break before the anchor is named first, with its own reason. */
	sf_stop(&fx);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE audit SET actor = 'mallory' WHERE id = 2", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	sf_start(&fx);
	v = verify(anchor);
	assert_false(v.ok);
	assert_int_equal(v.first_broken, 2);
	assert_string_equal(v.reason, "hash");
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audit_anchor_parse_accepts_only_id_colon_64_hex),
	    cmocka_unit_test_setup_teardown(
	        test_audit_anchor_head_logged_at_start_when_grown_hourly_and_at_stop, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_audit_anchor_verify_finds_truncation_after_restart,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_anchor_verify_names_a_different_event, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
