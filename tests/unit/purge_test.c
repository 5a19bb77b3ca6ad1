/*
 * tests/unit/purge_test.c: retention and erasure in the service (core/purge.c,
 * core/store_audit.c, the purge schedule in core/service.c) over a real
 * SQLite file with a fake clock: the first daily purge a minute after start,
 * then one a day (and cl_service_next_deadline says when); closed tickets
 * lose their personal fields when older than [retention] closed_days, to the
 * millisecond, and keep their skeleton (category, area, urgency, timings,
 * events); SMS senders' hashes expire after sessions_hours, also when closed
 * tickets are kept forever; a dry run counts (past one batch of 500) and
 * changes nothing; erasure takes a reason code, never words; a purge whose
 * step or commit failed is undone and tried again a minute later.
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
#define DAY (24 * 60 * MIN)
#define T0  INT64_C(1773223200000) /* Wednesday 2026-03-11T10:00:00Z */

#define TEXT  "Har ikke set manden i nr. 14 st. th. i over to uger, postkassen flyder over"
#define NOTE  "Nøglen ligger hos viceværten"
#define PHONE "+4520123456"

static const char retention_30d[] = "[retention]\n"
                                    "closed_days = 30\n"
                                    "sessions_hours = 24\n";

/* 0: closed tickets keep their personal fields for ever. */
static const char retention_keep[] = "[retention]\n"
                                     "closed_days = 0\n"
                                     "sessions_hours = 1\n";

static struct sf fx;
static int keys; /* reports made, for distinct house numbers */

static int setup_with(const char *retention)
{
	char ini[2048];
	snprintf(ini, sizeof(ini), "%s%s", sf_team_ini, retention);
	keys = 0;
	sf_setup(&fx, "purge", ini, T0);
	fx.confirm_mqtt = true;
	sf_start(&fx);
	return 0;
}

static int setup(void **state)
{
	return setup_with(retention_30d);
}

static int setup_keep_closed(void **state)
{
	return setup_with(retention_keep);
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

/* --- helpers ------------------------------------------------------------------ */

struct control_done {
	int calls;
	enum cl_err err;
	struct cl_control c;
};

static void on_control(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct control_done *d = ctx;
	d->calls++;
	d->err = err;
	d->c = *c;
}

/* A named report with five personal fields, now; from a texting phone
 * (an SMS sender's hash, a follow-up session) when phone is given. */
static void new_ticket(const char *key, const char *phone, char ref[CL_REF_MAX])
{
	struct cl_report r;
	cl_report_init(&r);
	r.via = phone ? CL_CHANNEL_SMS : CL_CHANNEL_HTTP;
	snprintf(r.idem_ns, sizeof(r.idem_ns), "%s", phone ? "twilio" : "app");
	snprintf(r.key, sizeof(r.key), "%s", key);
	r.text = strdup(TEXT);
	snprintf(r.address.street, sizeof(r.address.street), "Testvej");
	snprintf(r.address.number, sizeof(r.address.number), "%d", ++keys);
	snprintf(r.address.postcode, sizeof(r.address.postcode), "8000");
	r.reporter_name = strdup("Jens Hansen");
	r.reporter_phone = strdup(PHONE);
	r.resident_name = strdup("Beboer");
	if (phone) {
		r.has_sender_hash = true;
		cl_service_phone_hash(fx.svc, phone, r.sender_hash);
	}
	struct cl_report_answer a = {.err = CL_ERR_INVALID};
	assert_non_null(cl_service_submit_report(fx.svc, &r, sf_copy_report_answer, &a));
	cl_service_flush(fx.svc);
	assert_int_equal(a.err, CL_OK);
	snprintf(ref, CL_REF_MAX, "%s", a.ref);
}

/* anna takes ref, writes a note and closes it, now. */
static void close_ticket(const char *ref)
{
	assert_int_equal(sf_act(&fx, CL_ACTION_TAKE, ref, "anna", NULL, NULL), CL_OK);
	assert_int_equal(sf_act(&fx, CL_ACTION_NOTE, ref, "anna", NULL, NOTE), CL_OK);
	assert_int_equal(sf_act(&fx, CL_ACTION_RESOLVE, ref, "anna", "contact_refused", NULL),
	                 CL_OK);
}

static struct cl_ticket ticket(const char *ref)
{
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	return t;
}

static void at(int64_t t)
{
	cl_clock_set(&fx.clock, t);
	cl_service_flush(fx.svc);
}

/* The loop's next wake-up is at want: earlier deadlines (send results, the
 * audit head) are served first, each at its time; none is later than want
 * and none is "never". */
static void expect_next_deadline(int64_t want)
{
	for (int i = 0; i < 50; i++) {
		int64_t next = cl_service_next_deadline(fx.svc);
		if (next == 0 || next > want)
			fail_msg("next deadline %lld, want %lld", (long long)next, (long long)want);
		if (next == want)
			return;
		at(next);
	}
	fail_msg("no deadline at %lld", (long long)want);
}

struct fields {
	int reports;
	int present; /* personal fields that decrypt */
	int text;    /* of them, the report text as written */
};

static void on_view(void *ctx, const struct cl_report_view *v)
{
	struct fields *f = ctx;
	f->reports++;
	for (int i = 0; i < CL_RF__COUNT; i++)
		if (v->fields[i])
			f->present++;
	if (v->fields[CL_RF_TEXT] && strcmp(v->fields[CL_RF_TEXT], TEXT) == 0)
		f->text++;
}

/* Personal fields of ref's reports still there (5 per report, 0 purged). */
static int personal_fields(const char *ref)
{
	struct cl_ticket t = ticket(ref);
	struct fields f = {0};
	assert_int_equal(cl_service_ticket_reports(fx.svc, &t, on_view, &f), CL_OK);
	assert_int_equal(f.reports, 1);
	assert_int_equal(f.text, f.present ? 1 : 0);
	return f.present;
}

struct events {
	int n;
	int notes;
	char names[16][16];
};

static void on_event(void *ctx, const struct cl_event_row *e, const char *note)
{
	struct events *ev = ctx;
	assert_true(ev->n < 16);
	snprintf(ev->names[ev->n++], sizeof(ev->names[0]), "%s", e->event);
	if (note) {
		assert_string_equal(note, NOTE);
		ev->notes++;
	}
}

static struct events events_of(const char *ref)
{
	struct events ev;
	memset(&ev, 0, sizeof(ev));
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_service_ticket_events(fx.svc, &t, on_event, &ev), CL_OK);
	return ev;
}

/* The newest audit event with this action (strings copied), or n == 0. */
struct audit_find {
	const char *action;
	int n;
	struct cl_audit_event e;
	char actor[CL_ID_MAX];
	char object[40];
	char detail[96];
};

static void on_audit(void *ctx, const struct cl_audit_event *e)
{
	struct audit_find *f = ctx;
	if (f->action && strcmp(e->action, f->action) != 0)
		return;
	f->n++;
	f->e = *e;
	snprintf(f->actor, sizeof(f->actor), "%s", e->actor);
	snprintf(f->object, sizeof(f->object), "%s", e->object);
	snprintf(f->detail, sizeof(f->detail), "%s", e->detail ? e->detail : "");
}

static struct audit_find audit_find(const char *action)
{
	struct audit_find f = {.action = action};
	assert_int_equal(cl_store_audit_each(fx.store, 0, 0, on_audit, &f), CL_OK);
	return f;
}

static struct audit_find audit_of_ticket(const char *ref, const char *action)
{
	struct audit_find f = {.action = action};
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_service_audit_of_ticket(fx.svc, &t, on_audit, &f), CL_OK);
	return f;
}

static void expect_chain_ok(void)
{
	struct cl_audit_verdict v;
	assert_int_equal(cl_service_audit_verify(fx.svc, NULL, &v), CL_OK);
	if (!v.ok)
		fail_msg("chain broken at %lld (%s)", (long long)v.first_broken, v.reason);
	assert_true(v.checked > 0);
}

static struct control_done control(const struct cl_control *c)
{
	struct control_done d = {0};
	assert_non_null(cl_service_submit_control(fx.svc, c, on_control, &d));
	cl_service_flush(fx.svc);
	assert_int_equal(d.calls, 1);
	return d;
}

/* carelinectl purge [--dry-run], by admin, now. */
static struct control_done purge_now(bool dry_run)
{
	struct cl_control c;
	memset(&c, 0, sizeof(c));
	c.kind = CL_CONTROL_PURGE;
	c.dry_run = dry_run;
	snprintf(c.actor, sizeof(c.actor), "admin");
	return control(&c);
}

/* carelinectl erase REF --reason CODE, by admin, now. */
static struct control_done erase(const char *ref, const char *reason)
{
	struct cl_control c;
	memset(&c, 0, sizeof(c));
	c.kind = CL_CONTROL_ERASE;
	snprintf(c.ref, sizeof(c.ref), "%s", ref);
	snprintf(c.error, sizeof(c.error), "%s", reason);
	snprintf(c.actor, sizeof(c.actor), "admin");
	return control(&c);
}

static sqlite3 *db_open(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void db_exec(const char *sql)
{
	sqlite3 *db = db_open();
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static int64_t db_int(const char *sql)
{
	sqlite3 *db = db_open();
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t sessions(void)
{
	return db_int("SELECT count(*) FROM sms_session");
}

static off_t wal_size(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s-wal", fx.db);
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static FILE *log_file;

/* What the service logs between log_begin and log_end. */
static void log_begin(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	cl_log_set_stream(log_file);
}

static void log_end(char *buf, size_t len)
{
	cl_log_set_stream(NULL);
	rewind(log_file);
	buf[fread(buf, 1, len - 1, log_file)] = '\0';
	fclose(log_file);
	log_file = NULL;
}

/* --- the daily purge -------------------------------------------------------------- */

static void test_purge_daily_run_from_the_loop(void **state)
{
	/* a closed at T0, b twenty days later; careline restarts on day 31. */
	char a[CL_REF_MAX], b[CL_REF_MAX];
	new_ticket("a", NULL, a);
	close_ticket(a);
	cl_clock_set(&fx.clock, T0 + 20 * DAY);
	new_ticket("b", NULL, b);
	close_ticket(b);
	struct cl_ticket before = ticket(a);
	struct events ev_before = events_of(a);
	assert_int_equal(ev_before.notes, 1);
	assert_true(before.has_address_hash);

	int64_t start = T0 + 31 * DAY;
	sf_restart_at(&fx, start);
	/* (Runs before the restart had nothing to do.) */
	int runs = audit_find("retention.purge").n;
	assert_int_equal(audit_find("ticket.purged").n, 0);
	/* The first run a minute after start. */
	expect_next_deadline(start + MIN);
	at(start + MIN - 1);
	assert_int_equal(personal_fields(a), 5);
	assert_int_equal(audit_find("retention.purge").n, runs);

	at(start + MIN);
	assert_int_equal(personal_fields(a), 0);
	assert_int_equal(personal_fields(b), 5);
	struct cl_ticket after = ticket(a);
	assert_false(after.has_address_hash);
	assert_int_equal(after.state, CL_TICKET_CLOSED);
	assert_int_equal(after.kind, before.kind);
	assert_int_equal(after.urgency, before.urgency);
	assert_int_equal(after.categories.n, before.categories.n);
	assert_int_equal(after.categories.cats[0], before.categories.cats[0]);
	assert_string_equal(after.area, "centrum");
	assert_string_equal(after.team, "t1");
	assert_int_equal(after.created_ms, T0);
	assert_int_equal(after.taken_ms, T0);
	assert_string_equal(after.taken_by, "anna");
	assert_int_equal(after.closed_ms, T0);
	assert_string_equal(after.closed_reason, "contact_refused");
	/* The events stay, without the note's text. */
	struct events ev_after = events_of(a);
	assert_int_equal(ev_after.n, ev_before.n);
	for (int i = 0; i < ev_after.n; i++)
		assert_string_equal(ev_after.names[i], ev_before.names[i]);
	assert_int_equal(ev_after.notes, 0);
	/* Audited: the ticket by the system, and the run. */
	struct audit_find f = audit_of_ticket(a, "ticket.purged");
	assert_int_equal(f.n, 1);
	assert_string_equal(f.actor, "system");
	assert_string_equal(f.detail, "retention");
	assert_int_equal(f.e.at_ms, start + MIN);
	f = audit_find("retention.purge");
	assert_int_equal(f.n, runs + 1);
	assert_int_equal(f.e.at_ms, start + MIN);
	assert_string_equal(f.actor, "system");
	assert_string_equal(f.detail, "tickets=1 sessions=0");
	/* Erased values do not linger in the log. */
	assert_int_equal(wal_size(), 0);
	expect_chain_ok();

	/* Then once a day, at the same time; b (closed on day 20) is due after
	 * day 50, at the run on day 50 + a minute. */
	for (int k = 1; k <= 19; k++) {
		int64_t run = start + MIN + k * DAY;
		expect_next_deadline(run);
		at(run - 1);
		assert_int_equal(audit_find("retention.purge").n, runs + k);
		at(run);
		assert_int_equal(audit_find("retention.purge").n, runs + k + 1);
		assert_int_equal(personal_fields(b), k < 19 ? 5 : 0);
	}
	assert_int_equal(audit_of_ticket(b, "ticket.purged").e.at_ms, T0 + 50 * DAY + MIN);
	assert_int_equal(audit_find("ticket.purged").n, 2);
	assert_string_equal(audit_find("retention.purge").detail, "tickets=1 sessions=0");
	expect_next_deadline(start + MIN + 20 * DAY);
	expect_chain_ok();
}

static void test_purge_retention_boundary_to_the_ms(void **state)
{
	char a[CL_REF_MAX];
	new_ticket("a", NULL, a);
	close_ticket(a); /* closed at T0 */
	int64_t due = T0 + 30 * DAY;
	sf_restart_at(&fx, due - 1); /* the daily run is a minute away */
	struct control_done d = purge_now(true);
	assert_int_equal(d.err, CL_OK);
	assert_int_equal(d.c.count_tickets, 0);
	assert_int_equal(purge_now(false).c.count_tickets, 0);
	/* Exactly closed_days old: kept. */
	cl_clock_set(&fx.clock, due);
	assert_int_equal(purge_now(true).c.count_tickets, 0);
	assert_int_equal(purge_now(false).c.count_tickets, 0);
	assert_int_equal(personal_fields(a), 5);
	/* A millisecond older: due. */
	cl_clock_set(&fx.clock, due + 1);
	assert_int_equal(purge_now(true).c.count_tickets, 1);
	assert_int_equal(personal_fields(a), 5);
	d = purge_now(false);
	assert_int_equal(d.err, CL_OK);
	assert_int_equal(d.c.count_tickets, 1);
	assert_int_equal(personal_fields(a), 0);
	/* Once. */
	assert_int_equal(purge_now(false).c.count_tickets, 0);
	assert_int_equal(audit_find("ticket.purged").n, 1);
	assert_string_equal(audit_find("ticket.purged").actor, "admin");
	expect_chain_ok();
}

static void test_purge_sessions_after_sessions_hours(void **state)
{
	char s[CL_REF_MAX];
	new_ticket("s", PHONE, s); /* the sender's hash, last used at T0 */
	assert_int_equal(sessions(), 1);
	sf_restart_at(&fx, T0 + DAY - 1);
	struct control_done d = purge_now(true);
	assert_int_equal(d.c.count_sessions, 0);
	cl_clock_set(&fx.clock, T0 + DAY);
	assert_int_equal(purge_now(false).c.count_sessions, 0);
	assert_int_equal(sessions(), 1);
	cl_clock_set(&fx.clock, T0 + DAY + 1);
	d = purge_now(false);
	assert_int_equal(d.err, CL_OK);
	assert_int_equal(d.c.count_sessions, 1);
	assert_int_equal(d.c.count_tickets, 0);
	assert_int_equal(sessions(), 0);
	/* Only the hash went: the open ticket keeps its report. */
	assert_int_equal(personal_fields(s), 5);
	assert_string_equal(audit_find("retention.purge").detail, "tickets=0 sessions=1");
}

static void test_purge_dry_run_counts_and_changes_nothing(void **state)
{
	char a[CL_REF_MAX], s[CL_REF_MAX];
	new_ticket("a", NULL, a);
	close_ticket(a); /* due on day 30 */
	cl_clock_set(&fx.clock, T0 + 10 * DAY);
	new_ticket("s", PHONE, s);
	close_ticket(s); /* due on day 40; its sender's hash on day 11 */
	sf_restart_at(&fx, T0 + 31 * DAY);
	int64_t events = audit_find(NULL).n;

	struct control_done d = purge_now(true);
	assert_int_equal(d.err, CL_OK);
	assert_int_equal(d.c.count_tickets, 1);
	assert_int_equal(d.c.count_sessions, 1);
	assert_int_equal(personal_fields(a), 5);
	assert_int_equal(events_of(a).notes, 1);
	assert_true(ticket(a).has_address_hash);
	assert_int_equal(sessions(), 1);
	/* Only the dry run itself is recorded. */
	assert_int_equal(audit_find(NULL).n, events + 1);
	struct audit_find f = audit_find("retention.dry_run");
	assert_int_equal(f.n, 1);
	assert_string_equal(f.actor, "admin");
	assert_string_equal(f.detail, "tickets=1 sessions=1 dry_run=1");
	assert_int_equal(audit_find("ticket.purged").n, 0);

	/* The real one does what the dry run counted. */
	d = purge_now(false);
	assert_int_equal(d.c.count_tickets, 1);
	assert_int_equal(d.c.count_sessions, 1);
	assert_int_equal(personal_fields(a), 0);
	assert_int_equal(personal_fields(s), 5);
	assert_int_equal(sessions(), 0);
	assert_string_equal(audit_find("retention.purge").detail, "tickets=1 sessions=1");
	expect_chain_ok();
}

/* More than one batch (500) due: the dry run counts them all, as the real
 * run erases them all. */
static void test_purge_dry_run_counts_past_one_batch(void **state)
{
	enum { N = 501 };
	static struct cl_report_answer ans[N];
	static struct cl_action_answer acts[N];
	for (int i = 0; i < N; i++) {
		struct cl_report r;
		cl_report_init(&r);
		r.via = CL_CHANNEL_HTTP;
		snprintf(r.idem_ns, sizeof(r.idem_ns), "app");
		snprintf(r.key, sizeof(r.key), "bulk-%d", i);
		r.text = strdup(TEXT);
		r.reporter_name = strdup("Jens Hansen");
		assert_non_null(
		    cl_service_submit_report(fx.svc, &r, sf_copy_report_answer, &ans[i]));
	}
	cl_service_flush(fx.svc);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < N; i++) {
			assert_int_equal(ans[i].err, CL_OK);
			struct cl_action a;
			memset(&a, 0, sizeof(a));
			a.kind = k == 0 ? CL_ACTION_TAKE : CL_ACTION_RESOLVE;
			snprintf(a.ref, sizeof(a.ref), "%s", ans[i].ref);
			snprintf(a.actor, sizeof(a.actor), "anna");
			snprintf(a.reason, sizeof(a.reason), "contact_refused");
			acts[i].err = CL_ERR_INVALID;
			assert_non_null(
			    cl_service_submit_action(fx.svc, &a, sf_copy_action_answer, &acts[i]));
		}
		cl_service_flush(fx.svc);
		for (int i = 0; i < N; i++)
			assert_int_equal(acts[i].err, CL_OK);
	}
	sf_restart_at(&fx, T0 + 31 * DAY);
	struct control_done d = purge_now(true);
	assert_int_equal(d.err, CL_OK);
	assert_int_equal(d.c.count_tickets, N);
	assert_int_equal(audit_find("ticket.purged").n, 0);
	d = purge_now(false);
	assert_int_equal(d.c.count_tickets, N);
	assert_int_equal(audit_find("ticket.purged").n, N);
	assert_int_equal(purge_now(true).c.count_tickets, 0);
}

/* [retention] closed_days = 0 keeps closed tickets for ever, but says
 * nothing about senders' hashes: they still go after sessions_hours. */
static void test_purge_sessions_expire_when_closed_tickets_are_kept(void **state)
{
	char s[CL_REF_MAX];
	new_ticket("s", PHONE, s);
	close_ticket(s);
	assert_int_equal(sessions(), 1);
	/* The daily run is still scheduled. */
	expect_next_deadline(T0 + MIN);
	at(T0 + MIN);
	assert_int_equal(sessions(), 1); /* an hour has not passed */
	expect_next_deadline(T0 + MIN + DAY);
	at(T0 + MIN + DAY);
	assert_int_equal(sessions(), 0);
	assert_int_equal(personal_fields(s), 5);
	assert_int_equal(audit_find("ticket.purged").n, 0);
	assert_string_equal(audit_find("retention.purge").detail, "tickets=0 sessions=1");
	/* Nor does carelinectl purge touch closed tickets. */
	cl_clock_set(&fx.clock, T0 + 400 * DAY);
	assert_int_equal(purge_now(false).c.count_tickets, 0);
	assert_int_equal(personal_fields(s), 5);
}

/* --- erasure on request ------------------------------------------------------------- */

static void test_purge_erase_needs_a_reason_code(void **state)
{
	char a[CL_REF_MAX], b[CL_REF_MAX];
	new_ticket("a", PHONE, a); /* open, and its sender's hash */
	new_ticket("b", NULL, b);
	assert_int_equal(sessions(), 1);
	at(T0 + 2 * SEC); /* the alerts' send results are committed */
	int64_t events = audit_find(NULL).n;

	/* Words are refused: the reason goes into the chain. */
	const char *bad[] = {"the resident asked", "GDPR", "", "gdpr/request", "reason=x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct control_done d = erase(a, bad[i]);
		assert_int_equal(d.err, CL_ERR_INVALID);
		assert_int_equal(d.c.count_tickets, 0);
	}
	assert_int_equal(personal_fields(a), 5);
	assert_int_equal(audit_find(NULL).n, events);
	assert_int_equal(erase("ZZZZZ", "gdpr_request").err, CL_ERR_NOTFOUND);

	cl_clock_set(&fx.clock, T0 + 30 * SEC); /* before the first daily run */
	char log[4096], want[128];
	log_begin();
	struct control_done d = erase(a, "gdpr_request");
	log_end(log, sizeof(log));
	snprintf(want, sizeof(want), "event=ticket.erased ticket=%s reason=gdpr_request by=admin",
	         a);
	assert_non_null(strstr(log, want));
	assert_int_equal(d.err, CL_OK);
	assert_int_equal(d.c.count_tickets, 1);
	assert_int_equal(personal_fields(a), 0);
	assert_false(ticket(a).has_address_hash);
	assert_int_equal(sessions(), 0);
	assert_int_equal(personal_fields(b), 5);
	struct audit_find f = audit_of_ticket(a, "ticket.erased");
	assert_int_equal(f.n, 1);
	assert_string_equal(f.actor, "admin");
	assert_string_equal(f.detail, "reason=gdpr_request");
	assert_int_equal(f.e.at_ms, T0 + 30 * SEC);
	assert_int_equal(f.e.ticket_id, ticket(a).id);
	assert_int_equal(audit_find(NULL).n, events + 1);
	/* The skeleton stays; the ticket goes on (it is still open). */
	assert_int_equal(ticket(a).state, CL_TICKET_NOTIFYING);
	assert_int_equal(wal_size(), 0);
	expect_chain_ok();
}

/* --- failures ------------------------------------------------------------------------ */

/* The purge's own step fails (its last write): the purge is undone, with
 * the audit head in memory, the rest of the pass commits, the chain stays
 * whole, and the purge runs again a minute later. */
static void test_purge_failed_step_is_undone_and_retried(void **state)
{
	char a[CL_REF_MAX], b[CL_REF_MAX];
	new_ticket("a", NULL, a);
	close_ticket(a);
	int64_t start = T0 + 31 * DAY;
	sf_restart_at(&fx, start);
	/* The ticket is erased and audited, then the run's own event fails. */
	db_exec("CREATE TRIGGER no_purge BEFORE INSERT ON audit"
	        " WHEN NEW.action = 'retention.purge'"
	        " BEGIN SELECT RAISE(ABORT, 'test'); END");
	char log[8192];
	log_begin();
	cl_clock_set(&fx.clock, start + MIN);
	new_ticket("b", NULL, b); /* the same pass as the purge */
	log_end(log, sizeof(log));
	assert_non_null(strstr(log, "event=purge.failed"));
	/* The savepoint was undone once, not released twice. */
	assert_null(strstr(log, "op=release"));
	assert_true(cl_service_durable(fx.svc));
	assert_int_equal(personal_fields(a), 5);
	assert_int_equal(personal_fields(b), 5);
	assert_int_equal(audit_find("retention.purge").n, 0);
	assert_int_equal(audit_find("ticket.purged").n, 0);
	expect_chain_ok();
	expect_next_deadline(start + 2 * MIN);

	db_exec("DROP TRIGGER no_purge");
	at(start + 2 * MIN - 1);
	assert_int_equal(personal_fields(a), 5);
	at(start + 2 * MIN);
	assert_int_equal(personal_fields(a), 0);
	assert_int_equal(audit_find("ticket.purged").n, 1);
	assert_int_equal(audit_find("retention.purge").n, 1);
	expect_chain_ok();
}

/* The pass's commit fails (a deferred constraint): nothing of the purge is
 * durable, and it is tried again a minute later, not a day later. */
static void test_purge_failed_commit_is_retried_a_minute_later(void **state)
{
	char a[CL_REF_MAX];
	new_ticket("a", NULL, a);
	close_ticket(a);
	int64_t start = T0 + 31 * DAY;
	sf_restart_at(&fx, start);
	db_exec("CREATE TABLE trap (t INTEGER REFERENCES ticket(id) DEFERRABLE INITIALLY DEFERRED);"
	        "CREATE TRIGGER trap_purge AFTER INSERT ON audit"
	        " WHEN NEW.action = 'retention.purge'"
	        " BEGIN INSERT INTO trap VALUES (-1); END");
	char log[8192];
	log_begin();
	at(start + MIN);
	log_end(log, sizeof(log));
	assert_non_null(strstr(log, "event=service.commit_failed"));
	assert_false(cl_service_durable(fx.svc));
	assert_int_equal(personal_fields(a), 5);
	assert_int_equal(audit_find("ticket.purged").n, 0);
	expect_next_deadline(start + 2 * MIN);

	db_exec("DROP TRIGGER trap_purge");
	at(start + 2 * MIN - 1);
	assert_int_equal(personal_fields(a), 5);
	at(start + 2 * MIN);
	assert_true(cl_service_durable(fx.svc));
	assert_int_equal(personal_fields(a), 0);
	assert_int_equal(audit_find("ticket.purged").n, 1);
	struct audit_find f = audit_find("retention.purge");
	assert_int_equal(f.n, 1);
	assert_int_equal(f.e.at_ms, start + 2 * MIN);
	/* The in-memory head was reloaded: the chain goes on whole. */
	expect_chain_ok();
	expect_next_deadline(start + 2 * MIN + DAY);
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_purge_daily_run_from_the_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_retention_boundary_to_the_ms, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_purge_sessions_after_sessions_hours, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_purge_dry_run_counts_and_changes_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_purge_dry_run_counts_past_one_batch, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_purge_sessions_expire_when_closed_tickets_are_kept,
	                                    setup_keep_closed, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_erase_needs_a_reason_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_failed_step_is_undone_and_retried, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_purge_failed_commit_is_retried_a_minute_later,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
