/*
 * tests/unit/calls_service_test.c: the hotline inside the service
 * (core/calls.c, core/store_calls.c, the via=voice part of escalate.c) over a
 * real SQLite file, with a fixed crypto key, a fake clock and fake senders.
 * Provider callbacks go in as cl_service_submit_call jobs: a call starts,
 * moves, makes its ticket as an anonymous IVR report (the caller's number
 * kept, encrypted, only after pressing 1), ignores duplicates, survives a
 * restart and is ended by the idle sweep; its recording is noted, fetched
 * (stored encrypted), retried with backoff, deleted at the provider and read
 * only with an audit event; a policy step naming via=voice makes voice rows.
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

#include "careline/call.h"
#include "careline/clock.h"
#include "careline/config.h"
#include "careline/crypto.h"
#include "careline/log.h"
#include "careline/roster.h"
#include "careline/service.h"
#include "careline/store.h"

#include "../lib/svcfix.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define T0  INT64_C(1773223200000) /* Wednesday 2026-03-11T10:00:00Z, 11:00 in Copenhagen */

/* The team of tests/unit/service_test.c: bo is on duty at T0, carl behind him. */
#define TEAM_INI                                                                                   \
	"[careline]\n"                                                                             \
	"lang = da\n"                                                                              \
	"[outbox]\n"                                                                               \
	"retry_base = 1\n"                                                                         \
	"retry_cap = 8\n"                                                                          \
	"[routing]\n"                                                                              \
	"default_area = centrum\n"                                                                 \
	"[device anna-phone]\n"                                                                    \
	"person = anna\n"                                                                          \
	"[device bo-phone]\n"                                                                      \
	"person = bo\n"                                                                            \
	"[device carl-phone]\n"                                                                    \
	"person = carl\n"                                                                          \
	"[area centrum]\n"                                                                         \
	"name = Centrum\n"                                                                         \
	"postcodes = 8000\n"                                                                       \
	"team = t1\n"                                                                              \
	"[team t1]\n"                                                                              \
	"rotation = anna bo\n"                                                                     \
	"handoff = mon 08:00\n"                                                                    \
	"anchor = 2026-01-05\n"                                                                    \
	"backup = carl\n"                                                                          \
	"lead = dorthe\n"                                                                          \
	"policy = fast\n"

#define PERSONS_INI                                                                                \
	"[person anna]\n"                                                                          \
	"role = worker\n"                                                                          \
	"[person bo]\n"                                                                            \
	"role = worker\n"                                                                          \
	"[person carl]\n"                                                                          \
	"role = worker\n"                                                                          \
	"[person dorthe]\n"                                                                        \
	"role = lead\n"

#define FAST_POLICY_INI                                                                            \
	"[policy fast]\n"                                                                          \
	"step = primary 60\n"                                                                      \
	"step = primary 60\n"                                                                      \
	"repeat = 0\n"                                                                             \
	"final = backup 120\n"

/* No [voice]: the hotline core works without a provider; idle_timeout is
 * the default 600 s. */
static const char test_ini[] = TEAM_INI PERSONS_INI FAST_POLICY_INI;

/* The same with a short idle timeout. */
static const char idle_ini[] = TEAM_INI PERSONS_INI FAST_POLICY_INI "[voice]\n"
                                                                    "idle_timeout = 120\n";

/* Alert calls: a voice provider, phones, and steps that name voice or not. */
static const char voice_ini[] = TEAM_INI "[person anna]\n"
                                         "role = worker\n"
                                         "phone = +4520000001\n"
                                         "[person bo]\n"
                                         "role = worker\n"
                                         "phone = +4520000002\n"
                                         "[person carl]\n"
                                         "role = worker\n"
                                         "phone = +4520000003\n"
                                         "[person dorthe]\n"
                                         "role = lead\n"
                                         "[voice]\n"
                                         "provider = twilio\n"
                                         "public_url = https://careline.example.org/\n"
                                         "account = AC0123456789\n"
                                         "secret = not-a-real-secret\n"
                                         "from = +4570000000\n"
                                         "[policy fast]\n"
                                         "step = primary 60 via=mqtt,voice\n"
                                         "step = primary 60\n"
                                         "step = person:dorthe 60 via=voice\n"
                                         "repeat = 0\n"
                                         "final = backup 120\n";

/* A step naming voice, but no [voice] provider: nobody can be called. */
static const char voice_off_ini[] = TEAM_INI "[person anna]\n"
                                             "role = worker\n"
                                             "phone = +4520000001\n"
                                             "[person bo]\n"
                                             "role = worker\n"
                                             "phone = +4520000002\n"
                                             "[person carl]\n"
                                             "role = worker\n"
                                             "[person dorthe]\n"
                                             "role = lead\n"
                                             "[policy fast]\n"
                                             "step = primary 60 via=voice\n"
                                             "repeat = 0\n"
                                             "final = backup 120\n";

#define URL_PREFIX "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Recordings/"

struct sent {
	char channel[16];
	char person[CL_ID_MAX];
	char target[CL_ID_MAX];
	char kind[12];
	char ref[CL_REF_MAX];
	int step;
};

struct fake_sender {
	struct cl_service *svc;
	struct sent v[512];
	size_t n;
};

static struct sf fx;
static struct fake_sender sender; /* every channel: mqtt and voice */

/* Records the alert and confirms it at once. */
static enum cl_err fake_send(void *ctx, const struct cl_outgoing *out)
{
	struct fake_sender *s = ctx;
	assert_true(s->n < sizeof(s->v) / sizeof(s->v[0]));
	struct sent *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->channel, sizeof(e->channel), "%s", out->n->channel);
	snprintf(e->person, sizeof(e->person), "%s", out->n->person);
	snprintf(e->target, sizeof(e->target), "%s", out->n->target);
	snprintf(e->kind, sizeof(e->kind), "%s", out->n->kind);
	snprintf(e->ref, sizeof(e->ref), "%s", out->t->ref);
	e->step = out->n->step;
	cl_service_send_result(s->svc, out->n->id, true, NULL);
	return CL_OK;
}

static void start_service(void)
{
	sf_start(&fx);
	sender.svc = fx.svc;
	struct cl_sender mqtt = {.channel = "mqtt", .send = fake_send, .ctx = &sender};
	struct cl_sender voice = {.channel = "voice", .send = fake_send, .ctx = &sender};
	assert_int_equal(cl_service_add_sender(fx.svc, &mqtt), CL_OK);
	assert_int_equal(cl_service_add_sender(fx.svc, &voice), CL_OK);
}

static int setup_with(const char *ini)
{
	memset(&sender, 0, sizeof(sender));
	sf_setup(&fx, "calls", ini, T0);
	start_service();

	struct cl_oncall oc;
	assert_int_equal(cl_service_oncall(fx.svc, "t1", T0, &oc), CL_OK);
	assert_string_equal(oc.primary, "bo");
	assert_string_equal(oc.backup, "carl");
	return 0;
}

static int setup(void **state)
{
	return setup_with(test_ini);
}

static int setup_idle(void **state)
{
	return setup_with(idle_ini);
}

static int setup_voice(void **state)
{
	return setup_with(voice_ini);
}

static int setup_voice_off(void **state)
{
	return setup_with(voice_off_ini);
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

static void reopen_everything(void)
{
	sf_stop(&fx);
	start_service();
}

/* Move the clock and flush (escalations, send results). */
static void at(int64_t t)
{
	cl_clock_set(&fx.clock, t);
	cl_service_flush(fx.svc);
}

/* --- calls ---------------------------------------------------------------------- */

struct call_done {
	int calls;
	struct cl_call_answer a;
};

static void on_call_done(void *ctx, const struct cl_call_answer *a)
{
	struct call_done *d = ctx;
	d->calls++;
	d->a = *a;
}

static struct cl_call_request req(const char *key, enum cl_call_event ev)
{
	struct cl_call_request r;
	memset(&r, 0, sizeof(r));
	snprintf(r.provider, sizeof(r.provider), "twilio");
	snprintf(r.key, sizeof(r.key), "%s", key);
	snprintf(r.lang, sizeof(r.lang), "da");
	r.in.event = ev;
	return r;
}

/* Submit one callback, flush once, return the answer. */
static struct cl_call_answer post(const struct cl_call_request *r)
{
	struct call_done d = {0};
	assert_non_null(cl_service_submit_call(fx.svc, r, on_call_done, &d));
	cl_service_flush(fx.svc);
	assert_int_equal(d.calls, 1);
	return d.a;
}

static struct cl_call_answer start(const char *key)
{
	struct cl_call_request r = req(key, CL_CALL_EV_START);
	return post(&r);
}

/* Digits pressed at step (the callback names it), from caller (NULL: none). */
static struct cl_call_answer press(const char *key, enum cl_call_step step, const char *digits,
                                   const char *caller)
{
	struct cl_call_request r = req(key, CL_CALL_EV_DIGITS);
	r.in.has_step = true;
	r.in.step = step;
	snprintf(r.in.digits, sizeof(r.in.digits), "%s", digits);
	if (caller)
		snprintf(r.caller, sizeof(r.caller), "%s", caller);
	return post(&r);
}

/* A recording callback (RECORDED at record, or RECORDING at any step). */
static struct cl_call_request rec_req(const char *key, enum cl_call_event ev, const char *rec_id,
                                      int duration_s, bool ready)
{
	struct cl_call_request r = req(key, ev);
	if (ev == CL_CALL_EV_RECORDED) {
		r.in.has_step = true;
		r.in.step = CL_CALL_RECORD;
	}
	if (rec_id) {
		snprintf(r.recording_id, sizeof(r.recording_id), "%s", rec_id);
		snprintf(r.recording_url, sizeof(r.recording_url), URL_PREFIX "%s", rec_id);
	}
	r.recording_duration_s = duration_s;
	r.recording_ready = ready;
	return r;
}

static struct cl_call_answer recorded(const char *key, const char *rec_id, int duration_s)
{
	struct cl_call_request r = rec_req(key, CL_CALL_EV_RECORDED, rec_id, duration_s, false);
	return post(&r);
}

static struct cl_call_answer hangup(const char *key, const char *caller)
{
	struct cl_call_request r = req(key, CL_CALL_EV_HANGUP);
	if (caller)
		snprintf(r.caller, sizeof(r.caller), "%s", caller);
	return post(&r);
}

/* A whole call: category digit, a recording named after the key, the
 * callback answer. Returns the last answer. */
static struct cl_call_answer whole_call(const char *key, const char *cat, const char *consent,
                                        const char *caller)
{
	struct cl_call_answer a = start(key);
	assert_int_equal(a.err, CL_OK);
	a = press(key, CL_CALL_MENU, cat, caller);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.call.step, CL_CALL_RECORD);
	char rec_id[64];
	snprintf(rec_id, sizeof(rec_id), "RE-%s", key);
	a = recorded(key, rec_id, 42);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	a = press(key, CL_CALL_CONSENT, consent, caller);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.call.step, CL_CALL_DONE);
	return a;
}

static struct cl_call stored_call(const char *key)
{
	struct cl_call c;
	assert_int_equal(cl_store_call_get(fx.store, "twilio", key, &c), CL_OK);
	return c;
}

static void assert_outcome_none(const struct cl_call_outcome *o)
{
	assert_false(o->changed);
	assert_false(o->stale);
	assert_false(o->reprompt);
	assert_false(o->make_ticket);
	assert_false(o->keep_caller);
}

/* Only the stale flag. */
static void assert_outcome_stale(const struct cl_call_outcome *o)
{
	assert_true(o->stale);
	assert_false(o->changed);
	assert_false(o->reprompt);
	assert_false(o->make_ticket);
	assert_false(o->keep_caller);
}

/* --- reads -------------------------------------------------------------------- */

static struct cl_ticket ticket(const char *ref)
{
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	return t;
}

static void count_ticket(void *ctx, const struct cl_ticket *t)
{
	(*(int *)ctx)++;
}

static int count_tickets(void)
{
	int n = 0;
	struct cl_ticket_filter all = {.open_only = false};
	assert_int_equal(cl_service_tickets(fx.svc, &all, count_ticket, &n), CL_OK);
	return n;
}

static size_t count_sent(const char *ref, const char *channel)
{
	size_t n = 0;
	for (size_t i = 0; i < sender.n; i++)
		if ((!ref || strcmp(sender.v[i].ref, ref) == 0) &&
		    (!channel || strcmp(sender.v[i].channel, channel) == 0))
			n++;
	return n;
}

struct events {
	int n;
	char event[32][16];
	char actor[32][CL_ID_MAX];
	char detail[32][64];
	char from[32][16];
	char to[32][16];
	int64_t at[32];
};

static void on_event(void *ctx, const struct cl_event_row *e, const char *note)
{
	struct events *ev = ctx;
	assert_true(ev->n < 32);
	int i = ev->n++;
	snprintf(ev->event[i], sizeof(ev->event[i]), "%s", e->event);
	snprintf(ev->actor[i], sizeof(ev->actor[i]), "%s", e->actor);
	snprintf(ev->detail[i], sizeof(ev->detail[i]), "%s", e->detail ? e->detail : "");
	snprintf(ev->from[i], sizeof(ev->from[i]), "%s", e->from_state);
	snprintf(ev->to[i], sizeof(ev->to[i]), "%s", e->to_state);
	ev->at[i] = e->at_ms;
}

static struct events events_of(const char *ref)
{
	struct events ev;
	memset(&ev, 0, sizeof(ev));
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_service_ticket_events(fx.svc, &t, on_event, &ev), CL_OK);
	return ev;
}

/* The index of the last event called name, or -1. */
static int find_event(const struct events *ev, const char *name)
{
	for (int i = ev->n; i-- > 0;)
		if (strcmp(ev->event[i], name) == 0)
			return i;
	return -1;
}

static int count_events(const struct events *ev, const char *name)
{
	int n = 0;
	for (int i = 0; i < ev->n; i++)
		n += strcmp(ev->event[i], name) == 0;
	return n;
}

struct views {
	int n;
	char via[4][16];
	int64_t received_ms[4];
	bool anonymous[4];
	bool consent_callback[4];
	char person[4][CL_ID_MAX];
	char fields[4][CL_RF__COUNT][160];
	bool present[4][CL_RF__COUNT];
};

static void on_view(void *ctx, const struct cl_report_view *v)
{
	struct views *s = ctx;
	assert_true(s->n < 4);
	int i = s->n++;
	snprintf(s->via[i], sizeof(s->via[i]), "%s", v->via ? v->via : "");
	s->received_ms[i] = v->received_ms;
	s->anonymous[i] = v->anonymous;
	s->consent_callback[i] = v->consent_callback;
	snprintf(s->person[i], sizeof(s->person[i]), "%s",
	         v->reporter_person ? v->reporter_person : "");
	for (int f = 0; f < CL_RF__COUNT; f++) {
		s->present[i][f] = v->fields[f] != NULL;
		snprintf(s->fields[i][f], sizeof(s->fields[i][f]), "%s",
		         v->fields[f] ? v->fields[f] : "");
	}
}

static struct views views_of(const char *ref)
{
	struct views v;
	memset(&v, 0, sizeof(v));
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_service_ticket_reports(fx.svc, &t, on_view, &v), CL_OK);
	return v;
}

struct notif_list {
	int n;
	struct cl_notification v[64];
};

static void on_notif(void *ctx, const struct cl_notification *n)
{
	struct notif_list *l = ctx;
	assert_true(l->n < 64);
	l->v[l->n++] = *n;
}

static struct notif_list notifications_of(const char *ref)
{
	struct notif_list l;
	memset(&l, 0, sizeof(l));
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_store_notifications_of_ticket(fx.store, t.id, on_notif, &l), CL_OK);
	return l;
}

struct recs {
	int n;
	struct cl_recording v[8];
};

static void on_rec(void *ctx, const struct cl_recording *r)
{
	struct recs *l = ctx;
	assert_true(l->n < 8);
	l->v[l->n++] = *r;
}

static struct recs recordings_work(void)
{
	struct recs l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(cl_service_recordings_work(fx.svc, on_rec, &l), CL_OK);
	return l;
}

static struct recs recordings_of(const char *ref)
{
	struct recs l;
	memset(&l, 0, sizeof(l));
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_service_recordings_of(fx.svc, &t, on_rec, &l), CL_OK);
	return l;
}

static void on_control_done(void *ctx, enum cl_err err, const struct cl_control *c)
{
	*(enum cl_err *)ctx = err;
}

static enum cl_err control(const struct cl_control *c)
{
	enum cl_err err = CL_ERR__COUNT; /* not answered */
	assert_non_null(cl_service_submit_control(fx.svc, c, on_control_done, &err));
	cl_service_flush(fx.svc);
	return err;
}

static void on_action_done(void *ctx, const struct cl_action_answer *a)
{
	*(enum cl_err *)ctx = a->err;
}

static enum cl_err act(enum cl_action_kind kind, const char *ref, const char *actor)
{
	struct cl_action a;
	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.ref, sizeof(a.ref), "%s", ref);
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	enum cl_err err = CL_ERR__COUNT;
	assert_non_null(cl_service_submit_action(fx.svc, &a, on_action_done, &err));
	cl_service_flush(fx.svc);
	return err;
}

static enum cl_err rec_control(enum cl_control_kind kind, int64_t recording_id)
{
	struct cl_control c = {.kind = kind, .recording_id = recording_id};
	return control(&c);
}

static enum cl_err rec_failed(int64_t recording_id, const char *error, bool permanent)
{
	struct cl_control c = {.kind = CL_CONTROL_RECORDING_FAILED,
	                       .recording_id = recording_id,
	                       .permanent = permanent};
	snprintf(c.error, sizeof(c.error), "%s", error);
	return control(&c);
}

static enum cl_err rec_stored(int64_t recording_id, const unsigned char *data, size_t len)
{
	struct cl_control c = {.kind = CL_CONTROL_RECORDING_STORED,
	                       .recording_id = recording_id,
	                       .data = data,
	                       .data_len = len};
	return control(&c);
}

static enum cl_err rec_read(int64_t recording_id, const char *actor)
{
	struct cl_control c = {.kind = CL_CONTROL_RECORDING_READ, .recording_id = recording_id};
	snprintf(c.actor, sizeof(c.actor), "%s", actor);
	return control(&c);
}

static enum cl_err sweep(void)
{
	struct cl_control c = {.kind = CL_CONTROL_CALLS_SWEEP};
	return control(&c);
}

/* Does needle occur in the database file or its WAL? */
static bool db_contains(const void *needle, size_t nlen)
{
	const char *suffix[] = {"", "-wal"};
	for (size_t i = 0; i < 2; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s%s", fx.db, suffix[i]);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long len = ftell(f);
		fseek(f, 0, SEEK_SET);
		char *buf = malloc((size_t)len + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		bool found = memmem(buf, (size_t)len, needle, nlen) != NULL;
		free(buf);
		if (found)
			return true;
	}
	return false;
}

static bool db_contains_str(const char *needle)
{
	return db_contains(needle, strlen(needle));
}

/* A number of rows from a read-only look at the file. */
static int db_count(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* --- a call starts once; unknown calls are not made up ---------------------- */

static void test_calls_start_creates_call_and_unknown_is_notfound(void **state)
{
	/* A callback for a call careline never saw start. */
	struct cl_call_answer a = press("CA-nobody", CL_CALL_MENU, "3", NULL);
	assert_int_equal(a.err, CL_ERR_NOTFOUND);
	assert_outcome_none(&a.outcome);
	assert_string_equal(a.ref, "");
	a = hangup("CA-nobody", NULL);
	assert_int_equal(a.err, CL_ERR_NOTFOUND);
	struct cl_call c;
	assert_int_equal(cl_store_call_get(fx.store, "twilio", "CA-nobody", &c), CL_ERR_NOTFOUND);

	a = start("CA-start");
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.changed);
	assert_false(a.outcome.stale);
	assert_false(a.outcome.make_ticket);
	assert_true(a.call.id > 0);
	assert_int_equal(a.call.step, CL_CALL_MENU);
	assert_string_equal(a.call.provider, "twilio");
	assert_string_equal(a.call.key, "CA-start");
	assert_string_equal(a.call.lang, "da");
	assert_false(a.call.has_category);
	assert_int_equal(a.call.ticket_id, 0);
	assert_int_equal(a.call.created_ms, T0);
	assert_int_equal(a.call.updated_ms, T0);
	assert_string_equal(a.ref, "");
	int64_t id = a.call.id;
	c = stored_call("CA-start");
	assert_int_equal(c.id, id);
	assert_int_equal(c.step, CL_CALL_MENU);
	assert_int_equal(c.created_ms, T0);

	/* The provider's retry of the first request: stale, nothing written. */
	cl_clock_set(&fx.clock, T0 + 5 * SEC);
	a = start("CA-start");
	assert_int_equal(a.err, CL_OK);
	assert_outcome_stale(&a.outcome);
	assert_int_equal(a.call.id, id);
	assert_int_equal(a.call.step, CL_CALL_MENU);
	assert_int_equal(a.call.updated_ms, T0);
	c = stored_call("CA-start");
	assert_int_equal(c.updated_ms, T0);
	assert_int_equal(c.tries, 0);

	/* Also once the call has moved on. */
	a = press("CA-start", CL_CALL_MENU, "3", NULL);
	assert_int_equal(a.call.step, CL_CALL_RECORD);
	a = start("CA-start");
	assert_outcome_stale(&a.outcome);
	assert_int_equal(a.call.step, CL_CALL_RECORD);
	assert_int_equal(a.call.category, CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(stored_call("CA-start").step, CL_CALL_RECORD);

	/* The English number; and the same id at another provider is another call. */
	struct cl_call_request r = req("CA-english", CL_CALL_EV_START);
	snprintf(r.lang, sizeof(r.lang), "en");
	a = post(&r);
	assert_int_equal(a.err, CL_OK);
	assert_string_equal(a.call.lang, "en");
	assert_string_equal(stored_call("CA-english").lang, "en");

	r = req("CA-start", CL_CALL_EV_START);
	snprintf(r.provider, sizeof(r.provider), "46elks");
	a = post(&r);
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.changed);
	assert_int_not_equal(a.call.id, id);
	assert_int_equal(a.call.step, CL_CALL_MENU);
	assert_int_equal(stored_call("CA-start").step, CL_CALL_RECORD);
	assert_int_equal(count_tickets(), 0);
	assert_int_equal(sender.n, 0);
}

/* --- a whole call makes an anonymous IVR ticket ------------------------------ */

static void test_calls_whole_call_makes_anonymous_ivr_ticket(void **state)
{
	struct cl_call_answer a = start("CA-whole");
	assert_int_equal(a.err, CL_OK);

	cl_clock_set(&fx.clock, T0 + 5 * SEC);
	a = press("CA-whole", CL_CALL_MENU, "3", "+4522334455");
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.changed);
	assert_false(a.outcome.make_ticket);
	assert_int_equal(a.call.step, CL_CALL_RECORD);
	assert_true(a.call.has_category);
	assert_int_equal(a.call.category, CL_CAT_THREATS_VIOLENCE);
	assert_string_equal(a.ref, "");
	assert_int_equal(a.call.updated_ms, T0 + 5 * SEC);

	cl_clock_set(&fx.clock, T0 + 40 * SEC);
	a = recorded("CA-whole", "RE-whole", 31);
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.changed);
	assert_false(a.outcome.make_ticket);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	assert_string_equal(a.ref, "");
	assert_int_equal(count_tickets(), 0);
	assert_int_equal(sender.n, 0);

	cl_clock_set(&fx.clock, T0 + 45 * SEC);
	a = press("CA-whole", CL_CALL_CONSENT, "2", "+4522334455");
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.changed);
	assert_true(a.outcome.make_ticket);
	assert_false(a.outcome.keep_caller);
	assert_false(a.outcome.stale);
	assert_int_equal(a.call.step, CL_CALL_DONE);
	assert_false(a.call.consent);
	assert_true(a.call.ticket_id > 0);
	assert_int_equal(strlen(a.ref), 5);
	assert_int_equal(a.urgency, CL_P1); /* threats_violence */

	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.id, a.call.ticket_id);
	assert_int_equal(t.kind, CL_TICKET_ANONYMOUS);
	assert_int_equal(t.state, CL_TICKET_NOTIFYING);
	assert_int_equal(t.urgency, CL_P1);
	assert_int_equal(t.categories.n, 1);
	assert_int_equal(t.categories.cats[0], CL_CAT_THREATS_VIOLENCE);
	assert_string_equal(t.area, "centrum");
	assert_string_equal(t.team, "t1");
	assert_int_equal(t.created_ms, T0 + 45 * SEC);
	assert_string_equal(t.linked_ref, "");

	struct events ev = events_of(a.ref);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.event[0], "create");
	assert_string_equal(ev.actor[0], "anonymous");
	assert_string_equal(ev.detail[0], "via=ivr");
	assert_string_equal(ev.event[1], "notify");

	/* The on-duty worker's device got the alert. */
	assert_int_equal(sender.n, 1);
	assert_string_equal(sender.v[0].channel, "mqtt");
	assert_string_equal(sender.v[0].person, "bo");
	assert_string_equal(sender.v[0].target, "bo-phone");
	assert_string_equal(sender.v[0].kind, "alert");
	assert_string_equal(sender.v[0].ref, a.ref);

	/* The report: anonymous, no words, no number, no callback. */
	struct views v = views_of(a.ref);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.via[0], "ivr");
	assert_true(v.anonymous[0]);
	assert_false(v.consent_callback[0]);
	assert_string_equal(v.person[0], "");
	for (int f = 0; f < CL_RF__COUNT; f++)
		if (v.present[0][f])
			fail_msg("field %d is on the report: '%s'", f, v.fields[0][f]);

	struct cl_call c = stored_call("CA-whole");
	assert_int_equal(c.step, CL_CALL_DONE);
	assert_int_equal(c.ticket_id, t.id);
	assert_int_equal(c.category, CL_CAT_THREATS_VIOLENCE);
	assert_false(c.consent);
	assert_int_equal(c.updated_ms, T0 + 45 * SEC);
	assert_int_equal(count_tickets(), 1);
}

/* The report is received when the call made its ticket (a bug this test
 * found: the report was stored as received at 0). */
static void test_calls_ivr_report_received_when_ticket_made(void **state)
{
	cl_clock_set(&fx.clock, T0 + 7 * SEC);
	struct cl_call_answer a = whole_call("CA-received", "1", "2", NULL);
	assert_true(a.outcome.make_ticket);
	assert_int_equal(ticket(a.ref).created_ms, T0 + 7 * SEC);
	struct views v = views_of(a.ref);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.received_ms[0], T0 + 7 * SEC);
}

/* --- the caller's number: kept encrypted on consent, nowhere otherwise -------- */

static void test_calls_consent_keeps_number_encrypted_only_then(void **state)
{
	struct cl_call_answer yes = whole_call("CA-yes", "2", "1", "+4531559977");
	assert_true(yes.outcome.make_ticket);
	assert_true(yes.outcome.keep_caller);
	assert_true(yes.call.consent);
	assert_int_equal(yes.urgency, CL_P3); /* noise */
	struct cl_ticket t = ticket(yes.ref);
	assert_int_equal(t.kind, CL_TICKET_ANONYMOUS);
	assert_int_equal(t.categories.cats[0], CL_CAT_NOISE);
	struct views v = views_of(yes.ref);
	assert_int_equal(v.n, 1);
	assert_true(v.anonymous[0]);
	assert_true(v.consent_callback[0]);
	assert_true(v.present[0][CL_RF_REPORTER_PHONE]);
	assert_string_equal(v.fields[0][CL_RF_REPORTER_PHONE], "+4531559977");
	assert_false(v.present[0][CL_RF_REPORTER_NAME]);
	assert_string_equal(v.person[0], "");

	struct cl_call_answer no = whole_call("CA-no", "2", "2", "+4540404040");
	assert_true(no.outcome.make_ticket);
	assert_false(no.outcome.keep_caller);
	assert_false(no.call.consent);
	assert_string_not_equal(no.ref, yes.ref);
	v = views_of(no.ref);
	assert_int_equal(v.n, 1);
	assert_false(v.consent_callback[0]);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);

	/* Hung up before the question: the number is not kept either. */
	assert_int_equal(start("CA-gone").err, CL_OK);
	assert_int_equal(press("CA-gone", CL_CALL_MENU, "4", "+4540404041").err, CL_OK);
	struct cl_call_answer gone = hangup("CA-gone", "+4540404041");
	assert_true(gone.outcome.make_ticket);
	v = views_of(gone.ref);
	assert_false(v.consent_callback[0]);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);

	at(T0 + SEC); /* the send results too */
	const char *clear[] = {"+4531559977", "4531559977",  "31559977", "+4540404040",
	                       "40404040",    "+4540404041", "40404041"};
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		if (db_contains_str(clear[i]))
			fail_msg("'%s' is in the database file in clear", clear[i]);
	/* The scan finds what is meant to be clear. */
	assert_true(db_contains_str(yes.ref));
	assert_true(db_contains_str("CA-yes"));
	/* Only the call that asked for a callback has a phone lookup hash. */
	assert_int_equal(db_count("SELECT count(*) FROM report WHERE phone_hash IS NOT NULL"), 1);
	assert_int_equal(db_count("SELECT count(*) FROM report WHERE phone_hash IS NOT NULL"
	                          " AND key = 'CA-yes'"),
	                 1);
}

/* --- duplicate and stale callbacks ---------------------------------------------- */

static void test_calls_duplicate_callbacks_are_stale(void **state)
{
	assert_int_equal(start("CA-dup").err, CL_OK);
	cl_clock_set(&fx.clock, T0 + 2 * SEC);
	struct cl_call_answer a = press("CA-dup", CL_CALL_MENU, "3", NULL);
	assert_int_equal(a.call.step, CL_CALL_RECORD);

	/* The provider posts the menu answer again (or a different digit for
	 * the menu, late): nothing changes, not even the call's time. */
	cl_clock_set(&fx.clock, T0 + 3 * SEC);
	a = press("CA-dup", CL_CALL_MENU, "3", NULL);
	assert_int_equal(a.err, CL_OK);
	assert_outcome_stale(&a.outcome);
	assert_int_equal(a.call.step, CL_CALL_RECORD);
	assert_int_equal(a.call.category, CL_CAT_THREATS_VIOLENCE);
	a = press("CA-dup", CL_CALL_MENU, "1", NULL);
	assert_outcome_stale(&a.outcome);
	assert_int_equal(a.call.category, CL_CAT_THREATS_VIOLENCE);
	struct cl_call c = stored_call("CA-dup");
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_int_equal(c.category, CL_CAT_THREATS_VIOLENCE);
	assert_int_equal(c.tries, 0);
	assert_int_equal(c.updated_ms, T0 + 2 * SEC);

	a = recorded("CA-dup", "RE-dup", 20);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	a = recorded("CA-dup", "RE-dup", 20);
	assert_outcome_stale(&a.outcome);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	assert_int_equal(stored_call("CA-dup").step, CL_CALL_CONSENT);
	assert_int_equal(recordings_work().n, 1);

	a = press("CA-dup", CL_CALL_CONSENT, "2", "+4599887766");
	assert_true(a.outcome.make_ticket);
	char ref[CL_REF_MAX];
	snprintf(ref, sizeof(ref), "%s", a.ref);
	assert_int_equal(strlen(ref), 5);
	int64_t ticket_id = a.call.ticket_id;
	assert_int_equal(count_tickets(), 1);
	assert_int_equal(count_sent(ref, "mqtt"), 1);

	/* The consent answer again, or changed: stale, the same ref, no second
	 * ticket, no number. */
	a = press("CA-dup", CL_CALL_CONSENT, "2", "+4599887766");
	assert_int_equal(a.err, CL_OK);
	assert_outcome_stale(&a.outcome);
	assert_string_equal(a.ref, ref);
	assert_int_equal(a.urgency, CL_P1);
	assert_int_equal(a.call.step, CL_CALL_DONE);
	assert_int_equal(a.call.ticket_id, ticket_id);
	a = press("CA-dup", CL_CALL_CONSENT, "1", "+4599887766");
	assert_outcome_stale(&a.outcome);
	assert_string_equal(a.ref, ref);
	assert_false(a.call.consent);
	struct cl_call_request r = req("CA-dup", CL_CALL_EV_DIGITS);
	snprintf(r.in.digits, sizeof(r.in.digits), "1");
	a = post(&r); /* not naming a step: at done, digits answer nothing */
	assert_outcome_stale(&a.outcome);
	assert_string_equal(a.ref, ref);
	assert_int_equal(count_tickets(), 1);
	assert_int_equal(count_sent(ref, "mqtt"), 1);
	struct views v = views_of(ref);
	assert_int_equal(v.n, 1);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);
	assert_false(v.consent_callback[0]);

	/* The hang-up ends it; the ref is still answered; a second one is stale. */
	a = hangup("CA-dup", NULL);
	assert_true(a.outcome.changed);
	assert_false(a.outcome.make_ticket);
	assert_int_equal(a.call.step, CL_CALL_ENDED);
	assert_string_equal(a.ref, ref);
	a = hangup("CA-dup", NULL);
	assert_outcome_stale(&a.outcome);
	assert_string_equal(a.ref, ref);
	assert_int_equal(count_tickets(), 1);
	assert_int_equal(stored_call("CA-dup").ticket_id, ticket_id);
}

/* --- hang-ups ----------------------------------------------------------------------- */

static void test_calls_hangup_after_category_makes_ticket(void **state)
{
	assert_int_equal(count_tickets(), 0);

	/* Squalor, then hung up before recording: a P3 ticket. */
	assert_int_equal(start("CA-h1").err, CL_OK);
	assert_int_equal(press("CA-h1", CL_CALL_MENU, "4", NULL).call.step, CL_CALL_RECORD);
	struct cl_call_answer a = hangup("CA-h1", NULL);
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.make_ticket);
	assert_false(a.outcome.keep_caller);
	assert_int_equal(a.call.step, CL_CALL_ENDED);
	assert_int_equal(strlen(a.ref), 5);
	assert_int_equal(a.urgency, CL_P3);
	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.categories.n, 1);
	assert_int_equal(t.categories.cats[0], CL_CAT_SQUALOR);
	assert_int_equal(t.kind, CL_TICKET_ANONYMOUS);
	assert_int_equal(count_sent(a.ref, "mqtt"), 1);
	assert_int_equal(count_tickets(), 1);

	/* Not seen: P1 by the rules. */
	assert_int_equal(start("CA-h2").err, CL_OK);
	press("CA-h2", CL_CALL_MENU, "1", NULL);
	a = hangup("CA-h2", NULL);
	assert_true(a.outcome.make_ticket);
	assert_int_equal(a.urgency, CL_P1);
	assert_int_equal(ticket(a.ref).categories.cats[0], CL_CAT_NOT_SEEN);

	/* Hung up while recording: the ticket, with the recording linked. */
	assert_int_equal(start("CA-h3").err, CL_OK);
	press("CA-h3", CL_CALL_MENU, "3", NULL);
	struct cl_call_request r = rec_req("CA-h3", CL_CALL_EV_RECORDED, "RE-h3", 9, false);
	r.in.caller_hung_up = true;
	a = post(&r);
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.make_ticket);
	assert_int_equal(a.call.step, CL_CALL_ENDED);
	assert_int_equal(a.urgency, CL_P1);
	assert_int_equal(ticket(a.ref).categories.cats[0], CL_CAT_THREATS_VIOLENCE);
	struct recs l = recordings_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].ticket_id, a.call.ticket_id);
	assert_string_equal(l.v[0].remote_id, "RE-h3");

	/* At consent: the ticket, without the number. */
	assert_int_equal(start("CA-h5").err, CL_OK);
	press("CA-h5", CL_CALL_MENU, "2", NULL);
	recorded("CA-h5", "RE-h5", 12);
	a = hangup("CA-h5", "+4577665544");
	assert_true(a.outcome.make_ticket);
	assert_int_equal(a.urgency, CL_P3);
	struct views v = views_of(a.ref);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);
	assert_false(v.consent_callback[0]);
	int made = count_tickets();
	assert_int_equal(made, 4);

	/* Hung up in the greeting, or after menu reprompts: no ticket. */
	assert_int_equal(start("CA-h6").err, CL_OK);
	a = hangup("CA-h6", NULL);
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.changed);
	assert_false(a.outcome.make_ticket);
	assert_int_equal(a.call.step, CL_CALL_ENDED);
	assert_int_equal(a.call.ticket_id, 0);
	assert_string_equal(a.ref, "");
	assert_int_equal(start("CA-h7").err, CL_OK);
	a = press("CA-h7", CL_CALL_MENU, "0", NULL);
	assert_true(a.outcome.reprompt);
	assert_int_equal(a.call.tries, 1);
	a = hangup("CA-h7", NULL);
	assert_false(a.outcome.make_ticket);
	assert_string_equal(a.ref, "");
	assert_int_equal(count_tickets(), made);
	assert_int_equal(stored_call("CA-h6").ticket_id, 0);
	assert_int_equal(stored_call("CA-h7").step, CL_CALL_ENDED);
}

/* --- recordings --------------------------------------------------------------------- */

static void test_calls_recording_pending_then_linked(void **state)
{
	struct cl_call_answer a = start("CA-rec");
	int64_t call_id = a.call.id;
	press("CA-rec", CL_CALL_MENU, "5", NULL);
	assert_int_equal(recordings_work().n, 0);

	cl_clock_set(&fx.clock, T0 + 30 * SEC);
	a = recorded("CA-rec", "RE0001", 42);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	struct recs l = recordings_work();
	assert_int_equal(l.n, 1);
	const struct cl_recording *r = &l.v[0];
	assert_true(r->id > 0);
	assert_int_equal(r->call_id, call_id);
	assert_int_equal(r->ticket_id, 0);
	assert_int_equal(r->state, CL_REC_PENDING);
	assert_string_equal(cl_recording_state_name(r->state), "pending");
	assert_string_equal(r->provider, "twilio");
	assert_string_equal(r->remote_id, "RE0001");
	assert_string_equal(r->remote_url, URL_PREFIX "RE0001");
	assert_false(r->remote_deleted);
	assert_int_equal(r->attempts, 0);
	assert_int_equal(r->duration_s, 42);
	assert_int_equal(r->size, 0);
	assert_int_equal(r->created_ms, T0 + 30 * SEC);
	assert_int_equal(r->stored_ms, 0);
	/* Not yet said to be ready: first tried a little later. */
	assert_true(r->next_try_ms > T0 + 30 * SEC);
	assert_true(r->next_try_ms <= T0 + 60 * SEC);
	int64_t rec_id = r->id;

	cl_clock_set(&fx.clock, T0 + 35 * SEC);
	a = press("CA-rec", CL_CALL_CONSENT, "1", "+4511223344");
	assert_true(a.outcome.make_ticket);
	l = recordings_work();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, rec_id);
	assert_int_equal(l.v[0].ticket_id, a.call.ticket_id);
	assert_int_equal(l.v[0].state, CL_REC_PENDING);
	l = recordings_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, rec_id);
	assert_int_equal(l.v[0].ticket_id, ticket(a.ref).id);

	/* Hung up while recording, the status callback with the url after:
	 * the recording goes straight to the ticket the hang-up made. */
	assert_int_equal(start("CA-rec2").err, CL_OK);
	press("CA-rec2", CL_CALL_MENU, "2", NULL);
	a = hangup("CA-rec2", NULL);
	assert_true(a.outcome.make_ticket);
	assert_int_equal(recordings_of(a.ref).n, 0);
	struct cl_call_request r2 = rec_req("CA-rec2", CL_CALL_EV_RECORDING, "RE0002", 7, true);
	cl_clock_set(&fx.clock, T0 + 50 * SEC);
	struct cl_call_answer b = post(&r2);
	assert_int_equal(b.err, CL_OK);
	assert_outcome_none(&b.outcome);
	assert_int_equal(b.call.step, CL_CALL_ENDED);
	assert_string_equal(b.ref, a.ref);
	l = recordings_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].remote_id, "RE0002");
	assert_int_equal(l.v[0].ticket_id, a.call.ticket_id);
	assert_int_equal(l.v[0].next_try_ms, T0 + 50 * SEC);
	assert_int_equal(recordings_work().n, 2);
}

/* A call at done with a pending recording; its ref and recording id. */
static void call_with_recording(const char *key, char ref[CL_REF_MAX], int64_t *rec_id)
{
	struct cl_call_answer a = whole_call(key, "4", "2", NULL);
	snprintf(ref, CL_REF_MAX, "%s", a.ref);
	struct recs l = recordings_of(ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, CL_REC_PENDING);
	*rec_id = l.v[0].id;
}

#define AUDIO_MARK "Qzxwvaudiomark-5521"

static void test_calls_recording_stored_encrypted_and_reads_audited(void **state)
{
	char ref[CL_REF_MAX], other_ref[CL_REF_MAX];
	int64_t rec_id, other_rec;
	call_with_recording("CA-audio", ref, &rec_id);
	call_with_recording("CA-other", other_ref, &other_rec);
	assert_int_not_equal(rec_id, other_rec);

	/* Nothing to read before the audio is here. */
	assert_int_equal(rec_read(rec_id, "anna"), CL_ERR_NOTFOUND);
	struct cl_ticket t = ticket(ref);
	unsigned char *audio = (unsigned char *)"x";
	size_t len = 99;
	assert_int_equal(cl_service_recording_audio(fx.svc, &t, rec_id, &audio, &len),
	                 CL_ERR_NOTFOUND);
	assert_null(audio);
	assert_int_equal(len, 0);
	struct events ev = events_of(ref);
	assert_int_equal(count_events(&ev, "read"), 0);

	/* A WAV file with a mark in it, some zero bytes too. */
	unsigned char wav[200];
	memset(wav, 0, sizeof(wav));
	memcpy(wav, "RIFF", 4);
	wav[4] = (unsigned char)(sizeof(wav) - 8);
	memcpy(wav + 8, "WAVEfmt ", 8);
	memcpy(wav + 100, AUDIO_MARK, strlen(AUDIO_MARK));
	for (size_t i = 140; i < sizeof(wav); i++)
		wav[i] = (unsigned char)(i * 7);

	assert_int_equal(rec_stored(rec_id, wav, 0), CL_ERR_INVALID);
	cl_clock_set(&fx.clock, T0 + 2 * MIN);
	assert_int_equal(rec_stored(rec_id, wav, sizeof(wav)), CL_OK);
	struct recs l = recordings_of(ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, CL_REC_STORED);
	assert_int_equal(l.v[0].size, (int64_t)sizeof(wav));
	assert_int_equal(l.v[0].stored_ms, T0 + 2 * MIN);
	assert_string_equal(l.v[0].last_error, "");
	assert_false(l.v[0].remote_deleted);
	/* Still work: it is to be deleted at the provider. */
	l = recordings_work();
	assert_int_equal(l.n, 2);
	int mine = l.v[0].id == rec_id ? 0 : 1;
	assert_int_equal(l.v[mine].id, rec_id);
	assert_int_equal(l.v[mine].state, CL_REC_STORED);
	/* Stored once: a second fetch is refused. */
	assert_int_equal(rec_stored(rec_id, wav, sizeof(wav)), CL_ERR_CONFLICT);

	at(T0 + 2 * MIN + SEC);
	if (db_contains_str(AUDIO_MARK))
		fail_msg("the audio is in the database file in clear");
	assert_false(db_contains(wav + 140, 40));

	/* anna reads it: the read is on the ticket before the audio. */
	cl_clock_set(&fx.clock, T0 + 3 * MIN);
	t = ticket(ref);
	enum cl_ticket_state st = t.state;
	assert_int_equal(rec_read(rec_id, "anna"), CL_OK);
	ev = events_of(ref);
	assert_int_equal(count_events(&ev, "read"), 1);
	int last = find_event(&ev, "read");
	assert_true(last >= 0);
	assert_string_equal(ev.actor[last], "anna");
	char detail[48];
	snprintf(detail, sizeof(detail), "recording=%lld", (long long)rec_id);
	assert_string_equal(ev.detail[last], detail);
	assert_string_equal(ev.from[last], cl_ticket_state_name(st));
	assert_string_equal(ev.to[last], cl_ticket_state_name(st));
	assert_int_equal(ev.at[last], T0 + 3 * MIN);
	assert_int_equal(ticket(ref).state, st);

	assert_int_equal(cl_service_recording_audio(fx.svc, &t, rec_id, &audio, &len), CL_OK);
	assert_non_null(audio);
	assert_int_equal(len, sizeof(wav));
	assert_memory_equal(audio, wav, sizeof(wav));
	free(audio);

	/* Not through another ticket; not an unknown recording. */
	struct cl_ticket other = ticket(other_ref);
	audio = (unsigned char *)"x";
	assert_int_equal(cl_service_recording_audio(fx.svc, &other, rec_id, &audio, &len),
	                 CL_ERR_NOTFOUND);
	assert_null(audio);
	assert_int_equal(len, 0);
	assert_int_equal(cl_service_recording_audio(fx.svc, &t, rec_id + 1000, &audio, &len),
	                 CL_ERR_NOTFOUND);
	assert_int_equal(rec_read(rec_id + 1000, "anna"), CL_ERR_NOTFOUND);
	ev = events_of(other_ref);
	assert_int_equal(count_events(&ev, "read"), 0);

	/* Deleted at the provider: no more work, the url is gone, the audio stays. */
	assert_int_equal(rec_control(CL_CONTROL_RECORDING_DELETED, rec_id), CL_OK);
	l = recordings_of(ref);
	assert_int_equal(l.v[0].state, CL_REC_STORED);
	assert_true(l.v[0].remote_deleted);
	assert_string_equal(l.v[0].remote_url, "");
	l = recordings_work();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, other_rec);
	assert_int_equal(cl_service_recording_audio(fx.svc, &t, rec_id, &audio, &len), CL_OK);
	assert_memory_equal(audio, wav, sizeof(wav));
	free(audio);

	/* A second read is a second event, by whoever it was. */
	assert_int_equal(rec_read(rec_id, "bo"), CL_OK);
	ev = events_of(ref);
	assert_int_equal(count_events(&ev, "read"), 2);
	assert_string_equal(ev.actor[find_event(&ev, "read")], "bo");
}

static void test_calls_recording_failed_backs_off_then_gives_up(void **state)
{
	char ref[CL_REF_MAX];
	int64_t rec_id;
	call_with_recording("CA-fail", ref, &rec_id);

	/* Each failure doubles the wait, from 5 s up to 10 min. */
	int64_t now = T0 + MIN;
	int64_t prev_delay = 0;
	for (int i = 1; i <= 10; i++) {
		cl_clock_set(&fx.clock, now);
		assert_int_equal(rec_failed(rec_id, "http_503", false), CL_OK);
		struct recs l = recordings_work();
		assert_int_equal(l.n, 1);
		assert_int_equal(l.v[0].state, CL_REC_PENDING);
		assert_int_equal(l.v[0].attempts, i);
		assert_string_equal(l.v[0].last_error, "http_503");
		int64_t want = 5 * SEC << (i - 1);
		if (want > 10 * MIN)
			want = 10 * MIN;
		int64_t delay = l.v[0].next_try_ms - now;
		assert_int_equal(delay, want);
		assert_true(delay >= prev_delay);
		prev_delay = delay;
		now += 20 * SEC;
	}

	/* A permanent failure: failed, nothing more to do. */
	cl_clock_set(&fx.clock, now);
	assert_int_equal(rec_failed(rec_id, "http_404", true), CL_OK);
	assert_int_equal(recordings_work().n, 0);
	struct recs l = recordings_of(ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, CL_REC_FAILED);
	assert_int_equal(l.v[0].attempts, 11);
	assert_string_equal(l.v[0].last_error, "http_404");
	assert_true(l.v[0].remote_deleted);
	assert_int_equal(rec_read(rec_id, "anna"), CL_ERR_NOTFOUND);
	/* A fetch that still finishes after giving up is not taken. */
	const unsigned char late[] = "RIFF";
	assert_int_equal(rec_stored(rec_id, late, sizeof(late)), CL_ERR_CONFLICT);
	assert_int_equal(recordings_of(ref).v[0].state, CL_REC_FAILED);
	assert_int_equal(rec_failed(rec_id + 1000, "http_503", false), CL_ERR_NOTFOUND);

	/* A stored recording whose deletion at the provider fails: retried,
	 * then given up (nothing more to delete), the audio kept. */
	char ref2[CL_REF_MAX];
	int64_t rec2;
	call_with_recording("CA-nodelete", ref2, &rec2);
	const unsigned char audio[] = "RIFF\x10\0\0\0WAVEdata";
	assert_int_equal(rec_stored(rec2, audio, sizeof(audio)), CL_OK);
	assert_int_equal(rec_failed(rec2, "http_500", false), CL_OK);
	l = recordings_work();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, CL_REC_STORED);
	assert_int_equal(l.v[0].attempts, 1);
	assert_int_equal(rec_failed(rec2, "http_403", true), CL_OK);
	assert_int_equal(recordings_work().n, 0);
	l = recordings_of(ref2);
	assert_int_equal(l.v[0].state, CL_REC_STORED);
	assert_true(l.v[0].remote_deleted);

	/* After 48 hours even a temporary failure is the last. */
	assert_int_equal(start("CA-old").err, CL_OK);
	struct cl_call_request r = rec_req("CA-old", CL_CALL_EV_RECORDING, "RE-old", 10, true);
	int64_t created = cl_clock_now(&fx.clock);
	assert_int_equal(post(&r).err, CL_OK);
	l = recordings_work();
	assert_int_equal(l.n, 1);
	int64_t old_id = l.v[0].id;
	cl_clock_set(&fx.clock, created + 47 * 3600 * SEC);
	assert_int_equal(rec_failed(old_id, "timeout", false), CL_OK);
	assert_int_equal(recordings_work().n, 1);
	cl_clock_set(&fx.clock, created + 48 * 3600 * SEC + SEC);
	assert_int_equal(rec_failed(old_id, "timeout", false), CL_OK);
	assert_int_equal(recordings_work().n, 0);
}

static void test_calls_recording_event_upserts_one_row(void **state)
{
	assert_int_equal(start("CA-up").err, CL_OK);
	press("CA-up", CL_CALL_MENU, "2", NULL);

	/* The status callback before the action's RECORDED. */
	cl_clock_set(&fx.clock, T0 + 10 * SEC);
	struct cl_call_request r = rec_req("CA-up", CL_CALL_EV_RECORDING, "RE-up", 25, false);
	struct cl_call_answer a = post(&r);
	assert_int_equal(a.err, CL_OK);
	assert_outcome_none(&a.outcome);
	assert_int_equal(a.call.step, CL_CALL_RECORD);
	struct recs l = recordings_work();
	assert_int_equal(l.n, 1);
	int64_t rec_id = l.v[0].id;
	int64_t first_try = l.v[0].next_try_ms;
	assert_true(first_try > T0 + 10 * SEC);
	assert_int_equal(l.v[0].duration_s, 25);
	/* A callback is a sign of life for the idle sweep. */
	assert_int_equal(stored_call("CA-up").updated_ms, T0 + 10 * SEC);
	assert_int_equal(stored_call("CA-up").step, CL_CALL_RECORD);

	cl_clock_set(&fx.clock, T0 + 11 * SEC);
	a = recorded("CA-up", "RE-up", 24);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	l = recordings_work();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, rec_id);
	assert_int_equal(l.v[0].duration_s, 25); /* the longer of the two */
	assert_int_equal(l.v[0].next_try_ms, first_try);

	/* Ready now: due at once. */
	cl_clock_set(&fx.clock, T0 + 12 * SEC);
	r = rec_req("CA-up", CL_CALL_EV_RECORDING, "RE-up", 25, true);
	a = post(&r);
	assert_outcome_none(&a.outcome);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	l = recordings_work();
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].next_try_ms, T0 + 12 * SEC);
	assert_int_equal(l.v[0].state, CL_REC_PENDING);

	/* No url: nothing to note, nothing written. */
	r = rec_req("CA-up", CL_CALL_EV_RECORDING, NULL, 0, true);
	cl_clock_set(&fx.clock, T0 + 13 * SEC);
	a = post(&r);
	assert_outcome_none(&a.outcome);
	assert_int_equal(stored_call("CA-up").updated_ms, T0 + 12 * SEC);
	assert_int_equal(recordings_work().n, 1);

	a = press("CA-up", CL_CALL_CONSENT, "2", NULL);
	assert_true(a.outcome.make_ticket);
	const unsigned char audio[] = "RIFF....WAVE";
	assert_int_equal(rec_stored(rec_id, audio, sizeof(audio)), CL_OK);

	/* Once stored, a late note with another url changes nothing. */
	r = rec_req("CA-up", CL_CALL_EV_RECORDING, "RE-late", 99, true);
	a = post(&r);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(strlen(a.ref), 5);
	l = recordings_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, rec_id);
	assert_string_equal(l.v[0].remote_id, "RE-up");
	assert_string_equal(l.v[0].remote_url, URL_PREFIX "RE-up");
	assert_int_equal(l.v[0].state, CL_REC_STORED);
	assert_int_equal(db_count("SELECT count(*) FROM recording"), 1);
}

/* --- restart mid-call ---------------------------------------------------------- */

static void test_calls_restart_mid_call_goes_on(void **state)
{
	assert_int_equal(start("CA-restart").err, CL_OK);
	struct cl_call_answer a = press("CA-restart", CL_CALL_MENU, "3", NULL);
	int64_t id = a.call.id;
	assert_int_equal(a.call.step, CL_CALL_RECORD);

	reopen_everything();
	cl_clock_set(&fx.clock, T0 + 30 * SEC);
	a = start("CA-restart");
	assert_outcome_stale(&a.outcome);
	assert_int_equal(a.call.id, id);
	a = recorded("CA-restart", "RE-restart", 15);
	assert_int_equal(a.err, CL_OK);
	assert_false(a.outcome.stale);
	assert_true(a.outcome.changed);
	assert_int_equal(a.call.id, id);
	assert_int_equal(a.call.step, CL_CALL_CONSENT);
	assert_int_equal(a.call.category, CL_CAT_THREATS_VIOLENCE);

	/* A garbled answer, a restart, another: the tries were kept, so "no". */
	a = press("CA-restart", CL_CALL_CONSENT, "7", "+4533332222");
	assert_true(a.outcome.reprompt);
	assert_int_equal(a.call.tries, 1);
	reopen_everything();
	a = press("CA-restart", CL_CALL_CONSENT, "8", "+4533332222");
	assert_int_equal(a.err, CL_OK);
	assert_true(a.outcome.make_ticket);
	assert_false(a.outcome.keep_caller);
	assert_int_equal(a.call.step, CL_CALL_DONE);
	assert_int_equal(a.urgency, CL_P1);
	assert_int_equal(ticket(a.ref).categories.cats[0], CL_CAT_THREATS_VIOLENCE);
	struct recs l = recordings_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].remote_id, "RE-restart");
	assert_int_equal(count_sent(a.ref, "mqtt"), 1);
}

/* --- the idle sweep --------------------------------------------------------------- */

static void test_calls_sweep_ends_idle_calls(void **state)
{
	/* A: at consent; B: at the menu; D: ended. All last heard of at T0. */
	assert_int_equal(start("CA-a").err, CL_OK);
	press("CA-a", CL_CALL_MENU, "4", NULL);
	assert_int_equal(recorded("CA-a", "RE-a", 30).call.step, CL_CALL_CONSENT);
	assert_int_equal(start("CA-b").err, CL_OK);
	assert_int_equal(start("CA-d").err, CL_OK);
	hangup("CA-d", NULL);
	/* C: at record, heard of nine minutes later. */
	cl_clock_set(&fx.clock, T0 + 9 * MIN);
	assert_int_equal(start("CA-c").err, CL_OK);
	assert_int_equal(press("CA-c", CL_CALL_MENU, "2", NULL).call.step, CL_CALL_RECORD);
	assert_int_equal(count_tickets(), 0);

	/* Exactly the idle timeout (600 s): not yet. */
	cl_clock_set(&fx.clock, T0 + 10 * MIN);
	assert_int_equal(sweep(), CL_OK);
	assert_int_equal(stored_call("CA-a").step, CL_CALL_CONSENT);
	assert_int_equal(stored_call("CA-b").step, CL_CALL_MENU);
	assert_int_equal(count_tickets(), 0);

	cl_clock_set(&fx.clock, T0 + 10 * MIN + 1);
	assert_int_equal(sweep(), CL_OK);
	struct cl_call a = stored_call("CA-a");
	assert_int_equal(a.step, CL_CALL_ENDED);
	assert_true(a.ticket_id > 0);
	assert_int_equal(a.updated_ms, T0 + 10 * MIN + 1);
	struct cl_call b = stored_call("CA-b");
	assert_int_equal(b.step, CL_CALL_ENDED);
	assert_int_equal(b.ticket_id, 0);
	struct cl_call c = stored_call("CA-c");
	assert_int_equal(c.step, CL_CALL_RECORD);
	assert_int_equal(c.ticket_id, 0);
	assert_int_equal(c.updated_ms, T0 + 9 * MIN);
	struct cl_call d = stored_call("CA-d");
	assert_int_equal(d.step, CL_CALL_ENDED);
	assert_int_equal(d.updated_ms, T0);
	assert_int_equal(count_tickets(), 1);

	/* A's ticket is as a hang-up would have made it; its recording linked. */
	struct cl_call_answer late = press("CA-a", CL_CALL_CONSENT, "1", "+4566554433");
	assert_outcome_stale(&late.outcome);
	assert_int_equal(strlen(late.ref), 5);
	struct cl_ticket t = ticket(late.ref);
	assert_int_equal(t.id, a.ticket_id);
	assert_int_equal(t.categories.cats[0], CL_CAT_SQUALOR);
	assert_int_equal(t.urgency, CL_P3);
	assert_int_equal(t.created_ms, T0 + 10 * MIN + 1);
	struct views v = views_of(late.ref);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);
	assert_false(v.consent_callback[0]);
	struct recs l = recordings_of(late.ref);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].remote_id, "RE-a");
	assert_int_equal(count_sent(late.ref, "mqtt"), 1);

	/* C in its turn. */
	cl_clock_set(&fx.clock, T0 + 19 * MIN);
	assert_int_equal(sweep(), CL_OK);
	assert_int_equal(stored_call("CA-c").step, CL_CALL_RECORD);
	cl_clock_set(&fx.clock, T0 + 19 * MIN + 1);
	assert_int_equal(sweep(), CL_OK);
	c = stored_call("CA-c");
	assert_int_equal(c.step, CL_CALL_ENDED);
	assert_true(c.ticket_id > 0);
	assert_int_not_equal(c.ticket_id, a.ticket_id);
	assert_int_equal(count_tickets(), 2);

	/* Ended calls are never swept again. */
	cl_clock_set(&fx.clock, T0 + 60 * MIN);
	assert_int_equal(sweep(), CL_OK);
	assert_int_equal(count_tickets(), 2);
	assert_int_equal(stored_call("CA-a").updated_ms, T0 + 10 * MIN + 1);
	assert_int_equal(stored_call("CA-d").updated_ms, T0);
}

static void test_calls_sweep_uses_configured_idle_timeout(void **state)
{
	assert_int_equal(fx.cfg->voice.idle_timeout_ms, 120 * SEC);
	assert_int_equal(start("CA-x").err, CL_OK);
	press("CA-x", CL_CALL_MENU, "1", NULL);
	cl_clock_set(&fx.clock, T0 + 60 * SEC);
	assert_int_equal(start("CA-y").err, CL_OK);
	press("CA-y", CL_CALL_MENU, "1", NULL);

	cl_clock_set(&fx.clock, T0 + 121 * SEC);
	assert_int_equal(sweep(), CL_OK);
	struct cl_call x = stored_call("CA-x");
	assert_int_equal(x.step, CL_CALL_ENDED);
	assert_true(x.ticket_id > 0);
	assert_int_equal(stored_call("CA-y").step, CL_CALL_RECORD);
	assert_int_equal(count_tickets(), 1);
}

/* --- via=voice policy steps ----------------------------------------------------- */

static int count_rows(const struct notif_list *l, const char *channel, int step)
{
	int n = 0;
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i].channel, channel) == 0 && (step < 0 || l->v[i].step == step))
			n++;
	return n;
}

static const struct cl_notification *find_row(const struct notif_list *l, const char *channel,
                                              int step)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i].channel, channel) == 0 && l->v[i].step == step)
			return &l->v[i];
	fail_msg("no %s row at step %d", channel, step);
	return NULL;
}

static void test_calls_policy_step_via_voice_makes_voice_rows(void **state)
{
	assert_string_equal(fx.cfg->voice.provider, "twilio");
	struct cl_call_answer a = whole_call("CA-voice", "3", "2", "+4512121212");
	assert_true(a.outcome.make_ticket);
	char ref[CL_REF_MAX];
	snprintf(ref, sizeof(ref), "%s", a.ref);

	/* Step 0 names mqtt and voice: bo's device and bo's phone. */
	struct notif_list l = notifications_of(ref);
	assert_int_equal(l.n, 2);
	const struct cl_notification *m = find_row(&l, "mqtt", 0);
	assert_string_equal(m->target, "bo-phone");
	const struct cl_notification *v = find_row(&l, "voice", 0);
	assert_string_equal(v->person, "bo");
	assert_string_equal(v->target, "bo");
	assert_string_equal(v->kind, "alert");
	assert_int_equal(v->loop, 0);
	assert_int_equal(count_sent(ref, "voice"), 1);
	assert_int_equal(count_sent(ref, "mqtt"), 1);
	for (size_t i = 0; i < sender.n; i++)
		if (strcmp(sender.v[i].channel, "voice") == 0)
			assert_string_equal(sender.v[i].target, "bo");

	/* Step 1 names nothing: every contact but a call (no sms provider). */
	at(T0 + 60 * SEC);
	l = notifications_of(ref);
	assert_int_equal(count_rows(&l, "mqtt", 1), 1);
	assert_int_equal(count_rows(&l, "voice", 1), 0);
	assert_int_equal(count_rows(&l, "sms", -1), 0);

	/* Step 2 calls dorthe, who has no phone: a failed row. */
	at(T0 + 120 * SEC);
	l = notifications_of(ref);
	assert_int_equal(count_rows(&l, "voice", 2), 0);
	const struct cl_notification *none = find_row(&l, "none", 2);
	assert_string_equal(none->person, "dorthe");
	assert_int_equal(none->state, CL_NOTIF_FAILED);
	assert_string_equal(none->last_error, "no_contact");

	/* The final step (backup, no via): carl's device, no call. */
	at(T0 + 180 * SEC);
	l = notifications_of(ref);
	int carl = 0;
	for (int i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].person, "carl") == 0) {
			carl++;
			assert_string_equal(l.v[i].channel, "mqtt");
		}
		if (strcmp(l.v[i].channel, "voice") == 0) {
			assert_int_equal(l.v[i].step, 0);
			assert_string_equal(l.v[i].kind, "alert");
		}
	}
	assert_true(carl >= 1);
	assert_int_equal(count_rows(&l, "voice", -1), 1);
	assert_int_equal(count_sent(NULL, "voice"), 1);

	/* carl takes it: bo hears of it on his device, never by a call. */
	assert_int_equal(act(CL_ACTION_TAKE, ref, "carl"), CL_OK);
	l = notifications_of(ref);
	int updates = 0;
	for (int i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].kind, "update") != 0)
			continue;
		updates++;
		assert_string_not_equal(l.v[i].channel, "voice");
		if (strcmp(l.v[i].person, "bo") == 0)
			assert_string_equal(l.v[i].channel, "mqtt");
	}
	assert_true(updates >= 1);
	assert_int_equal(count_rows(&l, "voice", -1), 1);
	assert_int_equal(count_sent(NULL, "voice"), 1);
}

static void test_calls_via_voice_without_provider_is_no_contact(void **state)
{
	assert_string_equal(fx.cfg->voice.provider, "");
	struct cl_call_answer a = whole_call("CA-novoice", "3", "2", NULL);
	assert_true(a.outcome.make_ticket);
	struct notif_list l = notifications_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].channel, "none");
	assert_string_equal(l.v[0].person, "bo");
	assert_int_equal(l.v[0].state, CL_NOTIF_FAILED);
	assert_string_equal(l.v[0].last_error, "no_contact");
	assert_int_equal(sender.n, 0);
}

int main(void)
{
	cl_log_set_level(CL_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_calls_start_creates_call_and_unknown_is_notfound,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_whole_call_makes_anonymous_ivr_ticket, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_calls_ivr_report_received_when_ticket_made, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_calls_consent_keeps_number_encrypted_only_then,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_duplicate_callbacks_are_stale, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_calls_hangup_after_category_makes_ticket, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_calls_recording_pending_then_linked, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_calls_recording_stored_encrypted_and_reads_audited,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_recording_failed_backs_off_then_gives_up,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_recording_event_upserts_one_row, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_calls_restart_mid_call_goes_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_sweep_ends_idle_calls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_sweep_uses_configured_idle_timeout,
	                                    setup_idle, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_policy_step_via_voice_makes_voice_rows,
	                                    setup_voice, teardown),
	    cmocka_unit_test_setup_teardown(test_calls_via_voice_without_provider_is_no_contact,
	                                    setup_voice_off, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
