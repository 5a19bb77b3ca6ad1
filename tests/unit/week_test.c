/*
 * tests/unit/week_test.c: the whole core (service, intake, actions, escalate,
 * engine, outbox, roster, calendar over a real SQLite file) driven through a
 * realistic outreach team on a fake clock: a weekday day shift (anna/bo a
 * week each), an evening and weekend acute function (erik) on a higher
 * layer, a weekend back-up (carl) over the default back-up (dorthe), two
 * leads, in-hours standard and acute policies and an after-hours policy,
 * alerts by MQTT and SMS (fake senders that record every send). Tickets of
 * each urgency arrive at awkward times (Friday 15:59 and 16:01, Friday
 * night, Saturday night, the night clocks go forward, Monday 07:59, the eve
 * of Kristi himmelfartsdag and the day itself, Easter); each test asserts
 * exactly who was notified when, by which channel, as alert or update, at
 * which step, the ticket's state and escalation phase, and its events. Also
 * ack timeout, decline, first ack wins, repeat, unhandled, a roster override
 * made while a ticket is in flight, and who is on call from which layer.
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

/* Layers: dag (anna, bo a week each from Monday 5 January 08:00, so bo has
 * the week of 23 March and anna the next), aften above it (erik, weekday
 * evenings and nights, weekends), back-up weekend (carl) above bagvagt
 * (dorthe). lene and mads are leads; mads has no app, only a phone. */
static const char week_ini[] =
    "[careline]\n"
    "lang = da\n"
    "[outbox]\n"
    "retry_base = 1\n"
    "retry_cap = 8\n"
    "[sms]\n"
    "provider = twilio\n"
    "public_url = https://careline.example.dk\n"
    "account = AC00000000000000000000000000000000\n"
    "secret = dummy-auth-token\n"
    "from = +4570701234\n"
    "[routing]\n"
    "default_area = centrum\n"
    "[holidays]\n"
    "grundlovsdag = yes\n"
    "christmas_eve = yes\n"
    "new_years_eve = yes\n"
    "[person anna]\n"
    "role = worker\n"
    "phone = +4520000001\n"
    "[person bo]\n"
    "role = worker\n"
    "phone = +4520000002\n"
    "[person carl]\n"
    "role = worker\n"
    "phone = +4520000003\n"
    "[person dorthe]\n"
    "role = worker\n"
    "phone = +4520000004\n"
    "[person erik]\n"
    "role = worker\n"
    "phone = +4520000005\n"
    "[person gitte]\n"
    "role = worker\n"
    "phone = +4520000006\n"
    "[person lene]\n"
    "role = lead\n"
    "phone = +4520000007\n"
    "[person mads]\n"
    "role = lead\n"
    "phone = +4520000008\n"
    "[device anna-phone]\n"
    "person = anna\n"
    "[device bo-phone]\n"
    "person = bo\n"
    "[device carl-phone]\n"
    "person = carl\n"
    "[device dorthe-phone]\n"
    "person = dorthe\n"
    "[device erik-phone]\n"
    "person = erik\n"
    "[device gitte-phone]\n"
    "person = gitte\n"
    "[device lene-phone]\n"
    "person = lene\n"
    "[area centrum]\n"
    "name = Centrum\n"
    "postcodes = 8000 8100\n"
    "team = ost\n"
    "[team ost]\n"
    "service_hours = mon-fri 08:00-16:00\n"
    "policy = standard\n"
    "policy_acute = acute\n"
    "after_hours = vagt\n"
    "lead = lene\n"
    "[layer ost/dag]\n"
    "duty = primary\n"
    "priority = 0\n"
    "members = anna bo\n"
    "shift = 1w\n"
    "start = 2026-01-05 08:00\n"
    "[layer ost/aften]\n"
    "duty = primary\n"
    "priority = 10\n"
    "members = erik\n"
    "shift = 1w\n"
    "start = 2026-01-05 16:00\n"
    "restrict = mon-fri 16:00-08:00, sat-sun 00:00-24:00, mon 00:00-08:00, holidays\n"
    "[layer ost/weekend]\n"
    "duty = backup\n"
    "priority = 10\n"
    "members = carl\n"
    "restrict = sat-sun 00:00-24:00\n"
    "[layer ost/bagvagt]\n"
    "duty = backup\n"
    "priority = 0\n"
    "members = dorthe\n"
    "[policy standard]\n"
    "step = primary 300 via=mqtt\n"
    "step = primary,backup 600\n"
    "repeat = 1\n"
    "final = role:lead 900\n"
    "[policy acute]\n"
    "step = primary 120\n"
    "step = primary,backup 120 via=sms\n"
    "final = lead 300\n"
    "[policy vagt]\n"
    "step = primary 300 via=mqtt,sms\n"
    "final = backup 600\n";

/* Texts whose urgency the normaliser reads unambiguously
 * (/work/shared/fixtures/reports-da.tsv). */
#define TEXT_P0 "Hun truer med en kniv nede i gården lige nu!!"
#define TEXT_P1 "Har ikke set manden i nr. 14 st. th. i over to uger, postkassen flyder over"
#define TEXT_P2 "Jeg er bekymret for børnene i lejligheden, de er alene hjemme hele tiden"
#define TEXT_P3 "Naboen råber og banker på væggene hver nat, vi kan ikke sove"

/* Every send either fake sender saw. */
struct sent {
	int64_t id;
	int64_t at;
	unsigned pass; /* which tick (pair of flushes) sent it */
	char ref[CL_REF_MAX];
	char person[CL_ID_MAX];
	char channel[16];
	char target[CL_ID_MAX];
	char kind[12];
	int step;
	int loop;
	int code;
};

static struct sf fx;

/* What the fake senders saw. */
static struct {
	struct sent sent[1024];
	size_t n_sent;
	unsigned pass;
} rec;

/* --- time ------------------------------------------------------------------ */

/* "2026-03-27 15:59[:SS]" Copenhagen wall-clock time, or RFC 3339 UTC. */
static int64_t T(const char *s)
{
	int64_t ms;
	if (cl_time_parse(s, &ms) != 0)
		fail_msg("bad time %s", s);
	return ms;
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	cl_time_format(ms, buf, len);
}

/* Small ring of buffers for expected strings built at run time. */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	static char ring[16][96];
	static unsigned next;
	char *b = ring[next++ % 16];
	va_list ap;
	va_start(ap, f);
	vsnprintf(b, sizeof(ring[0]), f, ap);
	va_end(ap);
	return b;
}

/* --- the fake senders -------------------------------------------------------- */

static enum cl_err fake_send(void *ctx, const struct cl_outgoing *out)
{
	const char *channel = ctx;
	assert_string_equal(out->n->channel, channel);
	assert_true(rec.n_sent < sizeof(rec.sent) / sizeof(rec.sent[0]));
	struct sent *e = &rec.sent[rec.n_sent++];
	memset(e, 0, sizeof(*e));
	e->id = out->n->id;
	e->at = cl_clock_now(&fx.clock);
	e->pass = rec.pass;
	snprintf(e->ref, sizeof(e->ref), "%s", out->t->ref);
	snprintf(e->person, sizeof(e->person), "%s", out->n->person);
	snprintf(e->channel, sizeof(e->channel), "%s", out->n->channel);
	snprintf(e->target, sizeof(e->target), "%s", out->n->target);
	snprintf(e->kind, sizeof(e->kind), "%s", out->n->kind);
	e->step = out->n->step;
	e->loop = out->n->loop;
	e->code = out->n->reply_code;
	char pid[32];
	snprintf(pid, sizeof(pid), "SM%lld", (long long)out->n->id);
	struct cl_send_outcome o = {
	    .delivered = true,
	    .provider_id = strcmp(channel, "sms") == 0 ? pid : NULL,
	};
	cl_service_send_outcome(fx.svc, out->n->id, &o);
	return CL_OK;
}

static int setup(void **state)
{
	memset(&rec, 0, sizeof(rec));
	/* Monday 23 March 2026, 07:00 in Copenhagen. */
	sf_setup(&fx, "week", week_ini, T("2026-03-23T06:00:00Z"));
	sf_start(&fx);
	struct cl_sender mqtt = {.channel = "mqtt", .send = fake_send, .ctx = (void *)"mqtt"};
	struct cl_sender sms = {.channel = "sms", .send = fake_send, .ctx = (void *)"sms"};
	assert_int_equal(cl_service_add_sender(fx.svc, &mqtt), CL_OK);
	assert_int_equal(cl_service_add_sender(fx.svc, &sms), CL_OK);
	return 0;
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

/* --- driving the clock ----------------------------------------------------- */

/* One loop pass at t: the flush, then another that writes the send results. */
static void tick(int64_t t)
{
	cl_clock_set(&fx.clock, t);
	rec.pass++;
	cl_service_flush(fx.svc);
	cl_service_flush(fx.svc);
}

/* Run every deadline up to t at its own instant, as the loop's timer would,
 * then stand at t. */
static void run_until(int64_t t)
{
	assert_true(t >= cl_clock_now(&fx.clock));
	for (int guard = 0;; guard++) {
		assert_true(guard < 10000);
		int64_t next = cl_service_next_deadline(fx.svc);
		if (next == 0 || next > t)
			break;
		int64_t now = cl_clock_now(&fx.clock);
		tick(next > now ? next : now);
	}
	tick(t);
}

static void run_to(const char *when)
{
	run_until(T(when));
}

struct answer {
	char ref[CL_REF_MAX];
	struct cl_report_answer a;
};

static void on_report(void *ctx, const struct cl_report_answer *a)
{
	struct answer *d = ctx;
	d->a = *a;
	snprintf(d->ref, sizeof(d->ref), "%s", a->ref);
}

/* A report over HTTP at `when`; checks the urgency the normaliser read. */
static struct answer report(const char *when, const char *key, const char *text,
                            enum cl_urgency urgency)
{
	run_to(when);
	struct cl_report r;
	cl_report_init(&r);
	r.via = CL_CHANNEL_HTTP;
	snprintf(r.idem_ns, sizeof(r.idem_ns), "app");
	snprintf(r.key, sizeof(r.key), "%s", key);
	r.text = strdup(text);
	struct answer d;
	memset(&d, 0, sizeof(d));
	d.a.err = CL_ERR_INVALID;
	assert_non_null(cl_service_submit_report(fx.svc, &r, on_report, &d));
	tick(cl_clock_now(&fx.clock));
	assert_int_equal(d.a.err, CL_OK);
	assert_false(d.a.duplicate);
	assert_int_equal(d.a.urgency, urgency);
	assert_true(d.ref[0] != '\0');
	return d;
}

struct act_result {
	int calls;
	struct cl_action_answer a;
};

static void on_action(void *ctx, const struct cl_action_answer *a)
{
	struct act_result *r = ctx;
	r->calls++;
	r->a = *a;
}

static struct cl_action_answer act(const char *when, enum cl_action_kind kind, const char *ref,
                                   const char *actor, int64_t notification_id)
{
	run_to(when);
	struct cl_action a;
	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.ref, sizeof(a.ref), "%s", ref);
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	a.notification_id = notification_id;
	struct act_result r = {0};
	assert_non_null(cl_service_submit_action(fx.svc, &a, on_action, &r));
	tick(cl_clock_now(&fx.clock));
	assert_int_equal(r.calls, 1);
	return r.a;
}

/* An action that must go through and change the ticket. */
static void act_ok(const char *when, enum cl_action_kind kind, const char *ref, const char *actor,
                   int64_t notification_id)
{
	struct cl_action_answer a = act(when, kind, ref, actor, notification_id);
	if (a.err != CL_OK)
		fail_msg("%s %s by %s: err %d conflict %s by %s", cl_action_name(kind), ref, actor,
		         a.err, a.conflict ? a.conflict : "-", a.by);
	assert_true(a.changed);
}

struct control_result {
	int calls;
	enum cl_err err;
	int64_t id;
};

static void on_control(void *ctx, enum cl_err err, const struct cl_control *c)
{
	struct control_result *r = ctx;
	r->calls++;
	r->err = err;
	r->id = c->override.id;
}

/* A roster override through the control job, as the API makes it. */
static int64_t add_override(const char *when, enum cl_duty duty, const char *person,
                            const char *replaces, const char *from, const char *to)
{
	run_to(when);
	struct cl_control c;
	memset(&c, 0, sizeof(c));
	c.kind = CL_CONTROL_OVERRIDE_ADD;
	snprintf(c.override.team, sizeof(c.override.team), "ost");
	c.override.duty = duty;
	snprintf(c.override.person, sizeof(c.override.person), "%s", person);
	snprintf(c.override.replaces, sizeof(c.override.replaces), "%s", replaces ? replaces : "");
	c.override.start_ms = T(from);
	c.override.end_ms = T(to);
	snprintf(c.override.note, sizeof(c.override.note), "sygdom");
	snprintf(c.actor, sizeof(c.actor), "lene");
	struct control_result r = {0};
	assert_non_null(cl_service_submit_control(fx.svc, &c, on_control, &r));
	tick(cl_clock_now(&fx.clock));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.err, CL_OK);
	assert_true(r.id > 0);
	return r.id;
}

/* --- expectations ---------------------------------------------------------- */

/* One expected send: when, to whom, channel, alert or update, step, loop. */
struct xs {
	const char *at;
	const char *person;
	const char *channel;
	const char *kind;
	int step;
	int loop;
};

static void dump_sends(const char *ref)
{
	for (size_t i = 0; i < rec.n_sent; i++) {
		const struct sent *s = &rec.sent[i];
		if (ref && strcmp(s->ref, ref) != 0)
			continue;
		char when[32];
		fmt_time(s->at, when, sizeof(when));
		print_message("  sent %s %s %-6s %-4s %-6s step=%d loop=%d\n", when, s->ref,
		              s->person, s->channel, s->kind, s->step, s->loop);
	}
}

/* Exactly these sends for ref, in this order. */
static void check_sends(const char *ref, const struct xs *x, size_t n)
{
	size_t k = 0;
	bool ok = true;
	for (size_t i = 0; i < rec.n_sent && ok; i++) {
		const struct sent *s = &rec.sent[i];
		if (strcmp(s->ref, ref) != 0)
			continue;
		if (k == n) {
			ok = false;
			break;
		}
		const struct xs *e = &x[k++];
		const char *target =
		    strcmp(e->channel, "mqtt") == 0 ? fmt("%s-phone", e->person) : e->person;
		ok = s->at == T(e->at) && strcmp(s->person, e->person) == 0 &&
		     strcmp(s->channel, e->channel) == 0 && strcmp(s->kind, e->kind) == 0 &&
		     strcmp(s->target, target) == 0 && s->step == e->step && s->loop == e->loop;
		if (!ok)
			print_message(
			    "send %zu of %s differs: expected %s %s %s %s step=%d loop=%d\n", k - 1,
			    ref, e->at, e->person, e->channel, e->kind, e->step, e->loop);
	}
	if (ok && k != n) {
		ok = false;
		print_message("%s: %zu sends, expected %zu\n", ref, k, n);
	}
	if (!ok) {
		dump_sends(ref);
		fail_msg("sends of %s differ", ref);
	}
}

#define CHECK_SENDS(ref, ...)                                                                      \
	do {                                                                                       \
		const struct xs xs_[] = {__VA_ARGS__};                                             \
		check_sends((ref), xs_, sizeof(xs_) / sizeof(xs_[0]));                             \
	} while (0)

/* The id of the newest alert to person for ref over channel at step/loop. */
static int64_t alert_id(const char *ref, const char *person, const char *channel, int step,
                        int loop)
{
	for (size_t i = rec.n_sent; i-- > 0;) {
		const struct sent *s = &rec.sent[i];
		if (strcmp(s->ref, ref) == 0 && strcmp(s->person, person) == 0 &&
		    strcmp(s->channel, channel) == 0 && strcmp(s->kind, "alert") == 0 &&
		    s->step == step && s->loop == loop)
			return s->id;
	}
	dump_sends(ref);
	fail_msg("no %s alert to %s for %s at step %d loop %d", channel, person, ref, step, loop);
	return 0;
}

/* One expected ticket_event row. detail NULL = none. */
struct xe {
	const char *at;
	const char *event;
	const char *actor;
	const char *from;
	const char *to;
	const char *detail;
};

struct event_log {
	struct {
		int64_t at;
		char event[16];
		char actor[CL_ID_MAX];
		char from[16];
		char to[16];
		char detail[96];
	} v[32];
	size_t n;
};

static void on_event(void *ctx, const struct cl_event_row *e, const char *note)
{
	struct event_log *l = ctx;
	assert_true(l->n < sizeof(l->v) / sizeof(l->v[0]));
	l->v[l->n].at = e->at_ms;
	snprintf(l->v[l->n].event, sizeof(l->v[0].event), "%s", e->event);
	snprintf(l->v[l->n].actor, sizeof(l->v[0].actor), "%s", e->actor ? e->actor : "");
	snprintf(l->v[l->n].from, sizeof(l->v[0].from), "%s", e->from_state ? e->from_state : "");
	snprintf(l->v[l->n].to, sizeof(l->v[0].to), "%s", e->to_state ? e->to_state : "");
	snprintf(l->v[l->n].detail, sizeof(l->v[0].detail), "%s", e->detail ? e->detail : "");
	l->n++;
}

static struct cl_ticket ticket(const char *ref)
{
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	return t;
}

/* Exactly these events for ref, in order. */
static void check_events(const char *ref, const struct xe *x, size_t n)
{
	struct cl_ticket t = ticket(ref);
	static struct event_log l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(cl_service_ticket_events(fx.svc, &t, on_event, &l), CL_OK);
	bool ok = l.n == n;
	for (size_t i = 0; ok && i < n; i++) {
		const struct xe *e = &x[i];
		ok = l.v[i].at == T(e->at) && strcmp(l.v[i].event, e->event) == 0 &&
		     strcmp(l.v[i].actor, e->actor) == 0 && strcmp(l.v[i].from, e->from) == 0 &&
		     strcmp(l.v[i].to, e->to) == 0 &&
		     strcmp(l.v[i].detail, e->detail ? e->detail : "") == 0;
		if (!ok)
			print_message("event %zu of %s differs: expected %s %s by %s %s->%s [%s]\n",
			              i, ref, e->at, e->event, e->actor, e->from, e->to,
			              e->detail ? e->detail : "");
	}
	if (!ok) {
		for (size_t i = 0; i < l.n; i++) {
			char when[32];
			fmt_time(l.v[i].at, when, sizeof(when));
			print_message("  event %s %s by %s %s->%s [%s]\n", when, l.v[i].event,
			              l.v[i].actor, l.v[i].from, l.v[i].to, l.v[i].detail);
		}
		fail_msg("events of %s differ (%zu rows, expected %zu)", ref, l.n, n);
	}
}

#define CHECK_EVENTS(ref, ...)                                                                     \
	do {                                                                                       \
		const struct xe xe_[] = {__VA_ARGS__};                                             \
		check_events((ref), xe_, sizeof(xe_) / sizeof(xe_[0]));                            \
	} while (0)

/* State, escalation phase, step, loop, deadline (NULL = none). */
static void check_ticket(const char *ref, enum cl_ticket_state state, enum cl_esc_phase phase,
                         int step, int loop, const char *due, bool unhandled)
{
	struct cl_ticket t = ticket(ref);
	assert_string_equal(cl_ticket_state_name(t.state), cl_ticket_state_name(state));
	assert_string_equal(cl_esc_phase_name(t.phase), cl_esc_phase_name(phase));
	assert_int_equal(t.step, step);
	assert_int_equal(t.loop, loop);
	assert_int_equal(t.due_ms, due ? T(due) : 0);
	assert_int_equal(t.unhandled, unhandled);
	assert_string_equal(t.team, "ost");
}

static void check_policy(const char *ref, const char *policy)
{
	struct cl_ticket t = ticket(ref);
	assert_string_equal(t.policy, policy);
}

/* Nothing at all was sent in [from, to). */
static void check_quiet(const char *from, const char *to)
{
	int64_t a = T(from), b = T(to);
	for (size_t i = 0; i < rec.n_sent; i++)
		if (rec.sent[i].at >= a && rec.sent[i].at < b) {
			dump_sends(NULL);
			fail_msg("something was sent between %s and %s", from, to);
		}
}

static void check_oncall(const char *when, const char *primary, const char *primary_source,
                         const char *backup, const char *backup_source)
{
	struct cl_oncall oc;
	assert_int_equal(cl_service_oncall(fx.svc, "ost", T(when), &oc), CL_OK);
	if (!oc.primary || strcmp(oc.primary, primary) != 0 ||
	    strcmp(oc.source, primary_source) != 0 ||
	    strcmp(oc.backup ? oc.backup : "", backup) != 0 ||
	    strcmp(oc.duty[CL_DUTY_BACKUP].source ? oc.duty[CL_DUTY_BACKUP].source : "",
	           backup_source) != 0)
		fail_msg("on call at %s: %s (%s), back-up %s (%s); expected %s (%s), %s (%s)", when,
		         oc.primary, oc.source, oc.backup ? oc.backup : "-",
		         oc.duty[CL_DUTY_BACKUP].source ? oc.duty[CL_DUTY_BACKUP].source : "-",
		         primary, primary_source, backup, backup_source);
	assert_string_equal(oc.duty[CL_DUTY_PRIMARY].person, primary);
}

/* --- the tests --------------------------------------------------------------- */

/* Who answers, and from which layer, through the week of the spring DST
 * change; overrides made through the control job say "override". */
static void test_week_oncall_answers_with_source(void **state)
{
	/* The clocks: CET until Sunday 29 March 01:00 UTC, CEST after; a time
	 * the clocks skip moves forward. */
	assert_int_equal(T("2026-03-27 16:00"), T("2026-03-27T15:00:00Z"));
	assert_int_equal(T("2026-03-29 01:59"), T("2026-03-29T00:59:00Z"));
	assert_int_equal(T("2026-03-29 03:00"), T("2026-03-29T01:00:00Z"));
	assert_int_equal(T("2026-03-29 02:30"), T("2026-03-29T01:30:00Z"));
	assert_int_equal(T("2026-03-30 08:00"), T("2026-03-30T06:00:00Z"));

	check_oncall("2026-03-23 07:59", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-23 08:00", "bo", "dag", "dorthe", "bagvagt");
	check_oncall("2026-03-25 12:00", "bo", "dag", "dorthe", "bagvagt");
	check_oncall("2026-03-25 16:00", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-26 07:59:59", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-27 15:59:59", "bo", "dag", "dorthe", "bagvagt");
	check_oncall("2026-03-27 16:00", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-27 23:59:59", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-28 00:00", "erik", "aften", "carl", "weekend");
	check_oncall("2026-03-28 03:00", "erik", "aften", "carl", "weekend");
	/* Across the skipped hour: no gap. */
	check_oncall("2026-03-29T00:59:59Z", "erik", "aften", "carl", "weekend");
	check_oncall("2026-03-29T01:00:00Z", "erik", "aften", "carl", "weekend");
	check_oncall("2026-03-29 23:59:59", "erik", "aften", "carl", "weekend");
	check_oncall("2026-03-30 00:00", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-30 07:59:59", "erik", "aften", "dorthe", "bagvagt");
	/* The day rotation hands over to anna on Monday 08:00 (CEST now). */
	check_oncall("2026-03-30 08:00", "anna", "dag", "dorthe", "bagvagt");

	/* The weekend acute function is one assignment from Friday 16:00 to
	 * Monday 08:00, 63 hours of wall clock but 62 real hours. */
	struct cl_oncall oc;
	assert_int_equal(cl_service_oncall(fx.svc, "ost", T("2026-03-28 03:00"), &oc), CL_OK);
	assert_int_equal(oc.shift_end_ms, T("2026-03-30T06:00:00Z"));
	assert_int_equal(oc.duty[CL_DUTY_BACKUP].until_ms, T("2026-03-30T00:00:00+02:00"));
	assert_int_equal(cl_service_oncall(fx.svc, "ost", T("2026-03-25 12:00"), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, T("2026-03-23 08:00"));
	assert_int_equal(oc.shift_end_ms, T("2026-03-30 08:00"));
	assert_int_equal(cl_service_oncall(fx.svc, "nope", T("2026-03-25 12:00"), &oc),
	                 CL_ERR_NOTFOUND);

	/* gitte covers erik on Saturday afternoon, and is the back-up over
	 * the whole weekend. */
	add_override("2026-03-23 09:00", CL_DUTY_PRIMARY, "gitte", "erik", "2026-03-28 12:00",
	             "2026-03-28 18:00");
	add_override("2026-03-23 09:00", CL_DUTY_BACKUP, "gitte", NULL, "2026-03-28 00:00",
	             "2026-03-30 00:00");
	check_oncall("2026-03-28 11:59", "erik", "aften", "gitte", "override");
	check_oncall("2026-03-28 12:00", "gitte", "override", "gitte", "override");
	assert_int_equal(cl_service_oncall(fx.svc, "ost", T("2026-03-28 13:00"), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, T("2026-03-28 12:00"));
	assert_int_equal(oc.shift_end_ms, T("2026-03-28 18:00"));
	check_oncall("2026-03-28 18:00", "erik", "aften", "gitte", "override");
	check_oncall("2026-03-29T01:30:00Z", "erik", "aften", "gitte", "override");
	check_oncall("2026-03-30 00:00", "erik", "aften", "dorthe", "bagvagt");
	/* Overrides made on the API are not rotations: a weekday is untouched. */
	check_oncall("2026-03-27 12:00", "bo", "dag", "dorthe", "bagvagt");
}

/* Friday: one minute before closing the in-hours policies run; one minute
 * after, P1 goes to the evening function and P3 waits for Monday. A
 * ticket in flight at 16:00 reaches whoever the roster says at its next
 * step. */
/* A P2/P3 still unanswered at closing does not wake the acute function at
 * night: its next deadline after 16:00 pauses it until the opening, when it
 * starts again from the first step for whoever is on duty; an acknowledged
 * one keeps its acker until the morning, when the ack timeout returns it. */
static void test_week_low_urgency_pauses_at_closing(void **state)
{
	struct answer b = report("2026-03-27 12:00", "pause-p2", TEXT_P2, CL_P2);
	/* bo acknowledges the P2 but does not take it before closing. */
	act_ok("2026-03-27 12:01", CL_ACTION_ACK, b.ref, "bo", alert_id(b.ref, "bo", "mqtt", 0, 0));
	struct answer a = report("2026-03-27 15:59", "pause-p3", TEXT_P3, CL_P3);
	CHECK_SENDS(a.ref, {"2026-03-27 15:59", "bo", "mqtt", "alert", 0, 0});

	/* 16:04: the P3's step deadline falls after closing: paused. */
	run_to("2026-03-27 16:04");
	check_ticket(a.ref, CL_TICKET_NOTIFYING, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z",
	             false);
	/* 16:01 (12:01 + 4 h): the P2's ack timeout would fire at night: it
	 * moves to the opening, bo keeps it. */
	check_ticket(b.ref, CL_TICKET_ACKNOWLEDGED, CL_ESC_ACKED, 0, 0, "2026-03-30T06:00:00Z",
	             false);
	run_to("2026-03-30 07:59:59");
	CHECK_SENDS(a.ref, {"2026-03-27 15:59", "bo", "mqtt", "alert", 0, 0});
	check_quiet("2026-03-27 16:05", "2026-03-30 07:59:59");

	/* Monday 08:00: the P3 starts over for anna (her week); the P2's ack
	 * timeout returns it to notifying, alerting bo (the acker) and anna. */
	run_to("2026-03-30 08:00");
	check_ticket(a.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-30 08:05", false);
	CHECK_SENDS(a.ref, {"2026-03-27 15:59", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-30 08:00", "anna", "mqtt", "alert", 0, 0});
	check_ticket(b.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-30 08:05", false);
	CHECK_EVENTS(a.ref, {"2026-03-27 15:59", "create", "reporter", "new", "new", "via=http"},
	             {"2026-03-27 15:59", "notify", "system", "new", "notifying", NULL},
	             {"2026-03-27 16:04", "defer", "system", "notifying", "notifying",
	              "until=2026-03-30T06:00:00Z paused=1"});
}

static void test_week_friday_1559_vs_1601(void **state)
{
	struct answer a = report("2026-03-27 15:59", "fri-1559-p1", TEXT_P1, CL_P1);
	struct answer b = report("2026-03-27 15:59", "fri-1559-p3", TEXT_P3, CL_P3);
	assert_int_equal(a.a.state, CL_TICKET_NOTIFYING);
	assert_int_equal(b.a.state, CL_TICKET_NOTIFYING);
	check_policy(a.ref, "acute");
	check_policy(b.ref, "standard");
	check_ticket(a.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-27 16:01", false);
	check_ticket(b.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-27 16:04", false);
	/* Acute: every channel; standard step 0: the app only. */
	CHECK_SENDS(a.ref, {"2026-03-27 15:59", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-27 15:59", "bo", "sms", "alert", 0, 0});
	CHECK_SENDS(b.ref, {"2026-03-27 15:59", "bo", "mqtt", "alert", 0, 0});

	/* bo takes the noise complaint before closing. */
	act_ok("2026-03-27 16:00", CL_ACTION_TAKE, b.ref, "bo",
	       alert_id(b.ref, "bo", "mqtt", 0, 0));
	check_ticket(b.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 0, 0, NULL, false);

	/* 16:01: the P1's next step finds erik on duty, dorthe behind him,
	 * by SMS only. Then the 16:01 reports arrive. */
	run_to("2026-03-27 16:01");
	check_ticket(a.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 1, 0, "2026-03-27 16:03", false);
	struct answer c = report("2026-03-27 16:01", "fri-1601-p1", TEXT_P1, CL_P1);
	struct answer d = report("2026-03-27 16:01", "fri-1601-p3", TEXT_P3, CL_P3);
	check_policy(c.ref, "vagt");
	check_ticket(c.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-27 16:06", false);
	CHECK_SENDS(c.ref, {"2026-03-27 16:01", "erik", "mqtt", "alert", 0, 0},
	            {"2026-03-27 16:01", "erik", "sms", "alert", 0, 0});
	/* Deferred: the reporter has a receipt, nobody is told until Monday
	 * 08:00 (CEST by then). */
	assert_int_equal(d.a.state, CL_TICKET_NEW);
	check_policy(d.ref, "standard");
	check_ticket(d.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z", false);
	check_sends(d.ref, NULL, 0);

	/* erik acknowledges the P1 from his SMS; bo and dorthe are told, on
	 * the channels they were alerted on. */
	act_ok("2026-03-27 16:02", CL_ACTION_ACK, a.ref, "erik",
	       alert_id(a.ref, "erik", "sms", 1, 0));
	act_ok("2026-03-27 16:03", CL_ACTION_TAKE, c.ref, "erik",
	       alert_id(c.ref, "erik", "mqtt", 0, 0));
	act_ok("2026-03-27 16:05", CL_ACTION_TAKE, a.ref, "erik", 0);
	check_ticket(a.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 1, 0, NULL, false);
	check_ticket(c.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 0, 0, NULL, false);
	CHECK_SENDS(a.ref, {"2026-03-27 15:59", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-27 15:59", "bo", "sms", "alert", 0, 0},
	            {"2026-03-27 16:01", "erik", "sms", "alert", 1, 0},
	            {"2026-03-27 16:01", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-27 16:02", "bo", "mqtt", "update", 1, 0},
	            {"2026-03-27 16:02", "bo", "sms", "update", 1, 0},
	            {"2026-03-27 16:02", "dorthe", "sms", "update", 1, 0},
	            {"2026-03-27 16:05", "bo", "mqtt", "update", 1, 0},
	            {"2026-03-27 16:05", "bo", "sms", "update", 1, 0},
	            {"2026-03-27 16:05", "dorthe", "sms", "update", 1, 0});

	/* A quiet weekend, then the deferred P3 reaches anna (her week now)
	 * at the opening, in the app. */
	run_to("2026-03-30 07:59:59");
	check_quiet("2026-03-27 16:05:01", "2026-03-30 07:59:59");
	check_ticket(d.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z", false);
	run_to("2026-03-30 08:00");
	check_ticket(d.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-30 08:05", false);
	CHECK_SENDS(d.ref, {"2026-03-30 08:00", "anna", "mqtt", "alert", 0, 0});
	act_ok("2026-03-30 08:01", CL_ACTION_TAKE, d.ref, "anna",
	       alert_id(d.ref, "anna", "mqtt", 0, 0));

	CHECK_EVENTS(
	    a.ref, {"2026-03-27 15:59", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-27 15:59", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-27 16:01", "escalate", "system", "notifying", "notifying", "step=1 loop=0"},
	    {"2026-03-27 16:02", "ack", "erik", "notifying", "acknowledged",
	     fmt("notification=%lld", (long long)alert_id(a.ref, "erik", "sms", 1, 0))},
	    {"2026-03-27 16:05", "take", "erik", "acknowledged", "taken", NULL});
	CHECK_EVENTS(b.ref, {"2026-03-27 15:59", "create", "reporter", "new", "new", "via=http"},
	             {"2026-03-27 15:59", "notify", "system", "new", "notifying", NULL},
	             {"2026-03-27 16:00", "take", "bo", "notifying", "taken",
	              fmt("notification=%lld", (long long)alert_id(b.ref, "bo", "mqtt", 0, 0))});
	CHECK_EVENTS(c.ref, {"2026-03-27 16:01", "create", "reporter", "new", "new", "via=http"},
	             {"2026-03-27 16:01", "notify", "system", "new", "notifying", NULL},
	             {"2026-03-27 16:03", "take", "erik", "notifying", "taken",
	              fmt("notification=%lld", (long long)alert_id(c.ref, "erik", "mqtt", 0, 0))});
	CHECK_EVENTS(
	    d.ref, {"2026-03-27 16:01", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-27 16:01", "defer", "system", "new", "new", "until=2026-03-30T06:00:00Z"},
	    {"2026-03-30 08:00", "notify", "system", "new", "notifying", "deferred=1"},
	    {"2026-03-30 08:01", "take", "anna", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(d.ref, "anna", "mqtt", 0, 0))});
}

/* Friday night to Monday morning across the DST change: acute tickets go to
 * erik and on to the weekend back-up; every P2/P3 waits and all of them
 * reach anna together at Monday 08:00. */
static void test_week_nights_weekend_and_dst_defer_to_monday(void **state)
{
	/* Friday 23:00. */
	struct answer e = report("2026-03-27 23:00", "fri-2300-p3", TEXT_P3, CL_P3);
	struct answer f = report("2026-03-27 23:00", "fri-2300-p1", TEXT_P1, CL_P1);
	check_ticket(e.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z", false);
	check_policy(f.ref, "vagt");
	check_ticket(f.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-27 23:05", false);
	/* erik acknowledges but never takes it: after the P1 ack timeout
	 * (30 min by default) it comes back to him on both channels. */
	int64_t f_first = alert_id(f.ref, "erik", "mqtt", 0, 0);
	act_ok("2026-03-27 23:03", CL_ACTION_ACK, f.ref, "erik", f_first);
	check_ticket(f.ref, CL_TICKET_ACKNOWLEDGED, CL_ESC_ACKED, 0, 0, "2026-03-27 23:33", false);
	run_to("2026-03-27 23:32:59");
	check_quiet("2026-03-27 23:03:01", "2026-03-27 23:32:59");
	run_to("2026-03-27 23:33");
	check_ticket(f.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-27 23:38", false);
	act_ok("2026-03-27 23:35", CL_ACTION_TAKE, f.ref, "erik",
	       alert_id(f.ref, "erik", "sms", 0, 0));
	CHECK_SENDS(f.ref, {"2026-03-27 23:00", "erik", "mqtt", "alert", 0, 0},
	            {"2026-03-27 23:00", "erik", "sms", "alert", 0, 0},
	            {"2026-03-27 23:33", "erik", "mqtt", "alert", 0, 0},
	            {"2026-03-27 23:33", "erik", "sms", "alert", 0, 0});

	/* Saturday 03:00: a P2 waits; a P0 goes to erik, who sleeps through
	 * it, then to the weekend back-up carl: unhandled. */
	struct answer g = report("2026-03-28 03:00", "sat-0300-p2", TEXT_P2, CL_P2);
	struct answer h = report("2026-03-28 03:00", "sat-0300-p0", TEXT_P0, CL_P0);
	check_ticket(g.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z", false);
	check_policy(h.ref, "vagt");
	run_to("2026-03-28 03:05");
	check_ticket(h.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 1, 0, "2026-03-28 03:15", true);
	act_ok("2026-03-28 03:08", CL_ACTION_TAKE, h.ref, "carl",
	       alert_id(h.ref, "carl", "sms", 1, 0));
	check_ticket(h.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 1, 0, NULL, true);
	CHECK_SENDS(h.ref, {"2026-03-28 03:00", "erik", "mqtt", "alert", 0, 0},
	            {"2026-03-28 03:00", "erik", "sms", "alert", 0, 0},
	            {"2026-03-28 03:05", "carl", "mqtt", "alert", 1, 0},
	            {"2026-03-28 03:05", "carl", "sms", "alert", 1, 0},
	            {"2026-03-28 03:08", "erik", "mqtt", "update", 1, 0},
	            {"2026-03-28 03:08", "erik", "sms", "update", 1, 0});

	/* Sunday 01:58 CET, two minutes before the clocks jump to 03:00: the
	 * five-minute step ends at 03:03 CEST, five real minutes later. */
	struct answer i = report("2026-03-29 01:58", "sun-0158-p1", TEXT_P1, CL_P1);
	check_ticket(i.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-29T01:03:00Z", false);
	run_to("2026-03-29 03:03");
	check_ticket(i.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 1, 0, "2026-03-29 03:13", true);
	act_ok("2026-03-29 03:04", CL_ACTION_TAKE, i.ref, "carl",
	       alert_id(i.ref, "carl", "mqtt", 1, 0));
	CHECK_SENDS(i.ref, {"2026-03-29T00:58:00Z", "erik", "mqtt", "alert", 0, 0},
	            {"2026-03-29T00:58:00Z", "erik", "sms", "alert", 0, 0},
	            {"2026-03-29T01:03:00Z", "carl", "mqtt", "alert", 1, 0},
	            {"2026-03-29T01:03:00Z", "carl", "sms", "alert", 1, 0},
	            {"2026-03-29T01:04:00Z", "erik", "mqtt", "update", 1, 0},
	            {"2026-03-29T01:04:00Z", "erik", "sms", "update", 1, 0});

	/* "02:30" that night does not exist: it is 03:30 CEST. A P3 then. */
	struct answer j = report("2026-03-29 02:30", "sun-0230-p3", TEXT_P3, CL_P3);
	check_ticket(j.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z", false);

	/* Monday 07:59: a P2 waits a minute; a P1 still goes to the night
	 * function, and its final step after the opening to the weekday
	 * back-up. */
	struct answer k = report("2026-03-30 07:59", "mon-0759-p2", TEXT_P2, CL_P2);
	struct answer l = report("2026-03-30 07:59", "mon-0759-p1", TEXT_P1, CL_P1);
	check_ticket(k.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-03-30T06:00:00Z", false);
	check_policy(l.ref, "vagt");
	check_quiet("2026-03-29T01:04:01Z", "2026-03-30 07:59");

	/* 08:00: the four waiting tickets start at the same instant, in the
	 * same pass, to anna in the app (standard step 0). */
	run_to("2026-03-30 08:00");
	const char *waiting[] = {e.ref, g.ref, j.ref, k.ref};
	unsigned pass = 0;
	for (size_t n = 0; n < 4; n++) {
		check_ticket(waiting[n], CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-30 08:05",
		             false);
		check_policy(waiting[n], "standard");
		CHECK_SENDS(waiting[n], {"2026-03-30 08:00", "anna", "mqtt", "alert", 0, 0});
		for (size_t s = 0; s < rec.n_sent; s++)
			if (strcmp(rec.sent[s].ref, waiting[n]) == 0) {
				if (!pass)
					pass = rec.sent[s].pass;
				assert_int_equal(rec.sent[s].pass, pass);
			}
	}
	for (size_t n = 0; n < 4; n++)
		act_ok("2026-03-30 08:02", CL_ACTION_TAKE, waiting[n], "anna",
		       alert_id(waiting[n], "anna", "mqtt", 0, 0));

	run_to("2026-03-30 08:04");
	check_ticket(l.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 1, 0, "2026-03-30 08:14", true);
	act_ok("2026-03-30 08:06", CL_ACTION_TAKE, l.ref, "dorthe",
	       alert_id(l.ref, "dorthe", "mqtt", 1, 0));
	CHECK_SENDS(l.ref, {"2026-03-30 07:59", "erik", "mqtt", "alert", 0, 0},
	            {"2026-03-30 07:59", "erik", "sms", "alert", 0, 0},
	            {"2026-03-30 08:04", "dorthe", "mqtt", "alert", 1, 0},
	            {"2026-03-30 08:04", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-30 08:06", "erik", "mqtt", "update", 1, 0},
	            {"2026-03-30 08:06", "erik", "sms", "update", 1, 0});

	CHECK_EVENTS(
	    e.ref, {"2026-03-27 23:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-27 23:00", "defer", "system", "new", "new", "until=2026-03-30T06:00:00Z"},
	    {"2026-03-30 08:00", "notify", "system", "new", "notifying", "deferred=1"},
	    {"2026-03-30 08:02", "take", "anna", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(e.ref, "anna", "mqtt", 0, 0))});
	CHECK_EVENTS(f.ref, {"2026-03-27 23:00", "create", "reporter", "new", "new", "via=http"},
	             {"2026-03-27 23:00", "notify", "system", "new", "notifying", NULL},
	             {"2026-03-27 23:03", "ack", "erik", "notifying", "acknowledged",
	              fmt("notification=%lld", (long long)f_first)},
	             {"2026-03-27 23:33", "ack_timeout", "system", "acknowledged", "notifying",
	              "acked_by=erik"},
	             {"2026-03-27 23:35", "take", "erik", "notifying", "taken",
	              fmt("notification=%lld", (long long)alert_id(f.ref, "erik", "sms", 0, 0))});
	CHECK_EVENTS(
	    g.ref, {"2026-03-28 03:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-28 03:00", "defer", "system", "new", "new", "until=2026-03-30T06:00:00Z"},
	    {"2026-03-30 08:00", "notify", "system", "new", "notifying", "deferred=1"},
	    {"2026-03-30 08:02", "take", "anna", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(g.ref, "anna", "mqtt", 0, 0))});
	CHECK_EVENTS(h.ref, {"2026-03-28 03:00", "create", "reporter", "new", "new", "via=http"},
	             {"2026-03-28 03:00", "notify", "system", "new", "notifying", NULL},
	             {"2026-03-28 03:05", "escalate", "system", "notifying", "notifying",
	              "step=1 loop=0 unhandled=1"},
	             {"2026-03-28 03:08", "take", "carl", "notifying", "taken",
	              fmt("notification=%lld", (long long)alert_id(h.ref, "carl", "sms", 1, 0))});
	CHECK_EVENTS(i.ref,
	             {"2026-03-29T00:58:00Z", "create", "reporter", "new", "new", "via=http"},
	             {"2026-03-29T00:58:00Z", "notify", "system", "new", "notifying", NULL},
	             {"2026-03-29T01:03:00Z", "escalate", "system", "notifying", "notifying",
	              "step=1 loop=0 unhandled=1"},
	             {"2026-03-29T01:04:00Z", "take", "carl", "notifying", "taken",
	              fmt("notification=%lld", (long long)alert_id(i.ref, "carl", "mqtt", 1, 0))});
	CHECK_EVENTS(
	    j.ref, {"2026-03-29T01:30:00Z", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-29T01:30:00Z", "defer", "system", "new", "new", "until=2026-03-30T06:00:00Z"},
	    {"2026-03-30 08:00", "notify", "system", "new", "notifying", "deferred=1"},
	    {"2026-03-30 08:02", "take", "anna", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(j.ref, "anna", "mqtt", 0, 0))});
	CHECK_EVENTS(
	    k.ref, {"2026-03-30 07:59", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-30 07:59", "defer", "system", "new", "new", "until=2026-03-30T06:00:00Z"},
	    {"2026-03-30 08:00", "notify", "system", "new", "notifying", "deferred=1"},
	    {"2026-03-30 08:02", "take", "anna", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(k.ref, "anna", "mqtt", 0, 0))});
	CHECK_EVENTS(
	    l.ref, {"2026-03-30 07:59", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-30 07:59", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-30 08:04", "escalate", "system", "notifying", "notifying",
	     "step=1 loop=0 unhandled=1"},
	    {"2026-03-30 08:06", "take", "dorthe", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(l.ref, "dorthe", "mqtt", 1, 0))});
}

/* Kristi himmelfartsdag (Thursday 14 May 2026): what waits on the evening
 * before and on the day itself reaches the team on Friday 08:00. */
static void test_week_kristi_himmelfartsdag_defers_to_friday(void **state)
{
	run_to("2026-05-13 19:00");
	struct answer m = report("2026-05-13 20:00", "wed-2000-p2", TEXT_P2, CL_P2);
	struct answer n = report("2026-05-13 20:00", "wed-2000-p1", TEXT_P1, CL_P1);
	check_ticket(m.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-05-15T06:00:00Z", false);
	check_policy(n.ref, "vagt");
	act_ok("2026-05-13 20:02", CL_ACTION_TAKE, n.ref, "erik",
	       alert_id(n.ref, "erik", "sms", 0, 0));
	CHECK_SENDS(n.ref, {"2026-05-13 20:00", "erik", "mqtt", "alert", 0, 0},
	            {"2026-05-13 20:00", "erik", "sms", "alert", 0, 0});

	/* The holiday, mid-morning: closed. */
	struct answer o = report("2026-05-14 10:00", "thu-1000-p2", TEXT_P2, CL_P2);
	struct answer p = report("2026-05-14 10:00", "thu-1000-p3", TEXT_P3, CL_P3);
	assert_int_equal(o.a.state, CL_TICKET_NEW);
	check_ticket(o.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-05-15T06:00:00Z", false);
	check_ticket(p.ref, CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0, "2026-05-15T06:00:00Z", false);
	/* An acute report on the holiday goes to the acute function (its layer
	 * covers closing days), not the day rotation. */
	check_oncall("2026-05-14 10:00", "erik", "aften", "dorthe", "bagvagt");
	struct answer q = report("2026-05-14 10:00", "thu-1000-p1", TEXT_P1, CL_P1);
	check_policy(q.ref, "vagt");
	act_ok("2026-05-14 10:01", CL_ACTION_TAKE, q.ref, "erik",
	       alert_id(q.ref, "erik", "mqtt", 0, 0));
	CHECK_SENDS(q.ref, {"2026-05-14 10:00", "erik", "mqtt", "alert", 0, 0},
	            {"2026-05-14 10:00", "erik", "sms", "alert", 0, 0});

	run_to("2026-05-15 07:59:59");
	check_quiet("2026-05-14 10:01:01", "2026-05-15 07:59:59");
	run_to("2026-05-15 08:00");
	const char *waiting[] = {m.ref, o.ref, p.ref};
	for (size_t i = 0; i < 3; i++) {
		check_ticket(waiting[i], CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-05-15 08:05",
		             false);
		CHECK_SENDS(waiting[i], {"2026-05-15 08:00", "anna", "mqtt", "alert", 0, 0});
	}
	CHECK_EVENTS(
	    m.ref, {"2026-05-13 20:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-05-13 20:00", "defer", "system", "new", "new", "until=2026-05-15T06:00:00Z"},
	    {"2026-05-15 08:00", "notify", "system", "new", "notifying", "deferred=1"});
	CHECK_EVENTS(
	    o.ref, {"2026-05-14 10:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-05-14 10:00", "defer", "system", "new", "new", "until=2026-05-15T06:00:00Z"},
	    {"2026-05-15 08:00", "notify", "system", "new", "notifying", "deferred=1"});
	/* Nobody took them: step 1 goes to anna and the back-up at 08:05. */
	run_to("2026-05-15 08:05");
	CHECK_SENDS(p.ref, {"2026-05-15 08:00", "anna", "mqtt", "alert", 0, 0},
	            {"2026-05-15 08:05", "anna", "mqtt", "alert", 1, 0},
	            {"2026-05-15 08:05", "anna", "sms", "alert", 1, 0},
	            {"2026-05-15 08:05", "dorthe", "mqtt", "alert", 1, 0},
	            {"2026-05-15 08:05", "dorthe", "sms", "alert", 1, 0});
}

/* Easter: a P3 on Wednesday after closing, a P2 on skærtorsdag and one on
 * 2. påskedag all wait until Tuesday 7 April 08:00 (bo's week). */
static void test_week_easter_defers_to_tuesday(void **state)
{
	run_to("2026-04-01 12:00");
	struct answer q = report("2026-04-01 16:30", "wed-1630-p3", TEXT_P3, CL_P3);
	struct answer r = report("2026-04-02 09:00", "skaertorsdag-p2", TEXT_P2, CL_P2);
	struct answer s = report("2026-04-06 10:00", "2-paaskedag-p2", TEXT_P2, CL_P2);
	const char *waiting[] = {q.ref, r.ref, s.ref};
	for (size_t i = 0; i < 3; i++)
		check_ticket(waiting[i], CL_TICKET_NEW, CL_ESC_DEFERRED, 0, 0,
		             "2026-04-07T06:00:00Z", false);
	run_to("2026-04-07 08:00");
	check_quiet("2026-04-01 12:00", "2026-04-07 08:00");
	for (size_t i = 0; i < 3; i++) {
		check_ticket(waiting[i], CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-04-07 08:05",
		             false);
		CHECK_SENDS(waiting[i], {"2026-04-07 08:00", "bo", "mqtt", "alert", 0, 0});
	}
	CHECK_EVENTS(
	    s.ref, {"2026-04-06 10:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-04-06 10:00", "defer", "system", "new", "new", "until=2026-04-07T06:00:00Z"},
	    {"2026-04-07 08:00", "notify", "system", "new", "notifying", "deferred=1"});
}

/* An acknowledgement nobody follows up: after the P2 ack timeout (4 h by
 * default) the ticket returns to notifying; the acker (the lead, who acked
 * without an alert) and the current step's target are alerted again, and
 * the escalation goes on from there. */
static void test_week_ack_timeout_renotifies_acker_and_step(void **state)
{
	struct answer a = report("2026-03-24 09:00", "tue-0900-p2", TEXT_P2, CL_P2);
	check_policy(a.ref, "standard");
	act_ok("2026-03-24 09:01", CL_ACTION_ACK, a.ref, "lene", 0);
	check_ticket(a.ref, CL_TICKET_ACKNOWLEDGED, CL_ESC_ACKED, 0, 0, "2026-03-24 13:01", false);
	assert_string_equal(ticket(a.ref).acked_by, "lene");
	/* The step deadline at 09:05 no longer applies. */
	run_to("2026-03-24 13:00:59");
	check_quiet("2026-03-24 09:01:01", "2026-03-24 13:00:59");
	run_to("2026-03-24 13:01");
	check_ticket(a.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-24 13:06", false);
	assert_string_equal(ticket(a.ref).acked_by, "");
	run_to("2026-03-24 13:06");
	check_ticket(a.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 1, 0, "2026-03-24 13:16", false);
	act_ok("2026-03-24 13:07", CL_ACTION_TAKE, a.ref, "bo", alert_id(a.ref, "bo", "sms", 1, 0));
	check_ticket(a.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 1, 0, NULL, false);
	CHECK_SENDS(a.ref, {"2026-03-24 09:00", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-24 09:01", "bo", "mqtt", "update", 0, 0},
	            {"2026-03-24 13:01", "lene", "mqtt", "alert", 0, 0},
	            {"2026-03-24 13:01", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-24 13:06", "bo", "mqtt", "alert", 1, 0},
	            {"2026-03-24 13:06", "bo", "sms", "alert", 1, 0},
	            {"2026-03-24 13:06", "dorthe", "mqtt", "alert", 1, 0},
	            {"2026-03-24 13:06", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-24 13:07", "lene", "mqtt", "update", 1, 0},
	            {"2026-03-24 13:07", "dorthe", "mqtt", "update", 1, 0},
	            {"2026-03-24 13:07", "dorthe", "sms", "update", 1, 0});
	CHECK_EVENTS(
	    a.ref, {"2026-03-24 09:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-24 09:00", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-24 09:01", "ack", "lene", "notifying", "acknowledged", NULL},
	    {"2026-03-24 13:01", "ack_timeout", "system", "acknowledged", "notifying",
	     "acked_by=lene"},
	    {"2026-03-24 13:06", "escalate", "system", "notifying", "notifying", "step=1 loop=0"},
	    {"2026-03-24 13:07", "take", "bo", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(a.ref, "bo", "sms", 1, 0))});
}

/* Decline passes the ticket on at once; declining an alert whose step has
 * passed does nothing and says so. */
static void test_week_decline_escalates_at_once(void **state)
{
	struct answer v = report("2026-03-25 11:00", "wed-1100-p1", TEXT_P1, CL_P1);
	int64_t bo_mqtt0 = alert_id(v.ref, "bo", "mqtt", 0, 0);
	int64_t bo_sms0 = alert_id(v.ref, "bo", "sms", 0, 0);
	act_ok("2026-03-25 11:00:30", CL_ACTION_DECLINE, v.ref, "bo", bo_mqtt0);
	check_ticket(v.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 1, 0, "2026-03-25 11:02:30", false);

	/* The same alert again, and bo's SMS of the same step: refused. */
	struct cl_action_answer again =
	    act("2026-03-25 11:00:40", CL_ACTION_DECLINE, v.ref, "bo", bo_mqtt0);
	assert_int_equal(again.err, CL_ERR_CONFLICT);
	assert_string_equal(again.conflict, "already_escalated");
	assert_false(again.changed);
	again = act("2026-03-25 11:00:45", CL_ACTION_DECLINE, v.ref, "bo", bo_sms0);
	assert_int_equal(again.err, CL_ERR_CONFLICT);
	assert_string_equal(again.conflict, "already_escalated");
	check_ticket(v.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 1, 0, "2026-03-25 11:02:30", false);

	/* dorthe declines step 1: the final step, the team's lead. */
	act_ok("2026-03-25 11:01", CL_ACTION_DECLINE, v.ref, "dorthe",
	       alert_id(v.ref, "dorthe", "sms", 1, 0));
	check_ticket(v.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 2, 0, "2026-03-25 11:06", true);
	again = act("2026-03-25 11:01:30", CL_ACTION_DECLINE, v.ref, "bo",
	            alert_id(v.ref, "bo", "sms", 1, 0));
	assert_int_equal(again.err, CL_ERR_CONFLICT);
	assert_string_equal(again.conflict, "already_escalated");
	/* The final step repeats until someone answers. */
	run_to("2026-03-25 11:06");
	check_ticket(v.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 2, 0, "2026-03-25 11:11", true);
	act_ok("2026-03-25 11:07", CL_ACTION_TAKE, v.ref, "lene",
	       alert_id(v.ref, "lene", "mqtt", 2, 0));
	CHECK_SENDS(v.ref, {"2026-03-25 11:00", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-25 11:00", "bo", "sms", "alert", 0, 0},
	            {"2026-03-25 11:00:30", "bo", "sms", "alert", 1, 0},
	            {"2026-03-25 11:00:30", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-25 11:01", "lene", "mqtt", "alert", 2, 0},
	            {"2026-03-25 11:01", "lene", "sms", "alert", 2, 0},
	            {"2026-03-25 11:06", "lene", "mqtt", "alert", 2, 0},
	            {"2026-03-25 11:06", "lene", "sms", "alert", 2, 0},
	            {"2026-03-25 11:07", "bo", "mqtt", "update", 2, 0},
	            {"2026-03-25 11:07", "bo", "sms", "update", 2, 0},
	            {"2026-03-25 11:07", "dorthe", "sms", "update", 2, 0});
	CHECK_EVENTS(
	    v.ref, {"2026-03-25 11:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-25 11:00", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-25 11:00:30", "decline", "bo", "notifying", "notifying",
	     fmt("notification=%lld", (long long)bo_mqtt0)},
	    {"2026-03-25 11:00:30", "escalate", "system", "notifying", "notifying",
	     "step=1 loop=0"},
	    {"2026-03-25 11:01", "decline", "dorthe", "notifying", "notifying",
	     fmt("notification=%lld", (long long)alert_id(v.ref, "dorthe", "sms", 1, 0))},
	    {"2026-03-25 11:01", "escalate", "system", "notifying", "notifying",
	     "step=2 loop=0 unhandled=1"},
	    {"2026-03-25 11:06", "escalate", "system", "notifying", "notifying", "step=2 loop=0"},
	    {"2026-03-25 11:07", "take", "lene", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(v.ref, "lene", "mqtt", 2, 0))});
}

/* Two targets in one step: the first ack wins, the other is told who took
 * it and cannot ack over it; the step's deadline no longer escalates. */
static void test_week_multi_target_first_ack_wins(void **state)
{
	struct answer w = report("2026-03-26 10:00", "thu-1000-p1", TEXT_P1, CL_P1);
	run_to("2026-03-26 10:02");
	check_ticket(w.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 1, 0, "2026-03-26 10:04", false);
	act_ok("2026-03-26 10:03", CL_ACTION_ACK, w.ref, "dorthe",
	       alert_id(w.ref, "dorthe", "sms", 1, 0));
	struct cl_action_answer late = act("2026-03-26 10:03:30", CL_ACTION_ACK, w.ref, "bo",
	                                   alert_id(w.ref, "bo", "sms", 1, 0));
	assert_int_equal(late.err, CL_ERR_CONFLICT);
	assert_string_equal(late.conflict, "already_acknowledged");
	assert_string_equal(late.by, "dorthe");
	assert_false(late.changed);
	check_ticket(w.ref, CL_TICKET_ACKNOWLEDGED, CL_ESC_ACKED, 1, 0, "2026-03-26 10:33", false);
	run_to("2026-03-26 10:09:59");
	check_quiet("2026-03-26 10:03:01", "2026-03-26 10:09:59");
	act_ok("2026-03-26 10:10", CL_ACTION_TAKE, w.ref, "dorthe", 0);
	check_ticket(w.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 1, 0, NULL, false);
	CHECK_SENDS(w.ref, {"2026-03-26 10:00", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-26 10:00", "bo", "sms", "alert", 0, 0},
	            {"2026-03-26 10:02", "bo", "sms", "alert", 1, 0},
	            {"2026-03-26 10:02", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-26 10:03", "bo", "mqtt", "update", 1, 0},
	            {"2026-03-26 10:03", "bo", "sms", "update", 1, 0},
	            {"2026-03-26 10:10", "bo", "mqtt", "update", 1, 0},
	            {"2026-03-26 10:10", "bo", "sms", "update", 1, 0});
	CHECK_EVENTS(
	    w.ref, {"2026-03-26 10:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-26 10:00", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-26 10:02", "escalate", "system", "notifying", "notifying", "step=1 loop=0"},
	    {"2026-03-26 10:03", "ack", "dorthe", "notifying", "acknowledged",
	     fmt("notification=%lld", (long long)alert_id(w.ref, "dorthe", "sms", 1, 0))},
	    {"2026-03-26 10:10", "take", "dorthe", "acknowledged", "taken", NULL});
}

/* The standard policy runs its two steps twice (repeat = 1), then the
 * final step marks the ticket unhandled and alerts everyone whose role is
 * lead (mads by SMS only: he has no app), every 15 minutes. */
static void test_week_repeat_then_unhandled_to_all_leads(void **state)
{
	struct answer x = report("2026-03-26 09:00", "thu-0900-p3", TEXT_P3, CL_P3);
	run_to("2026-03-26 09:30");
	check_ticket(x.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 2, 1, "2026-03-26 09:45", true);
	run_to("2026-03-26 09:45");
	check_ticket(x.ref, CL_TICKET_NOTIFYING, CL_ESC_FINAL, 2, 1, "2026-03-26 10:00", true);
	act_ok("2026-03-26 09:50", CL_ACTION_TAKE, x.ref, "lene",
	       alert_id(x.ref, "lene", "mqtt", 2, 1));
	check_ticket(x.ref, CL_TICKET_TAKEN, CL_ESC_IDLE, 2, 1, NULL, true);
	CHECK_SENDS(x.ref, {"2026-03-26 09:00", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-26 09:05", "bo", "mqtt", "alert", 1, 0},
	            {"2026-03-26 09:05", "bo", "sms", "alert", 1, 0},
	            {"2026-03-26 09:05", "dorthe", "mqtt", "alert", 1, 0},
	            {"2026-03-26 09:05", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-26 09:15", "bo", "mqtt", "alert", 0, 1},
	            {"2026-03-26 09:20", "bo", "mqtt", "alert", 1, 1},
	            {"2026-03-26 09:20", "bo", "sms", "alert", 1, 1},
	            {"2026-03-26 09:20", "dorthe", "mqtt", "alert", 1, 1},
	            {"2026-03-26 09:20", "dorthe", "sms", "alert", 1, 1},
	            {"2026-03-26 09:30", "lene", "mqtt", "alert", 2, 1},
	            {"2026-03-26 09:30", "lene", "sms", "alert", 2, 1},
	            {"2026-03-26 09:30", "mads", "sms", "alert", 2, 1},
	            {"2026-03-26 09:45", "lene", "mqtt", "alert", 2, 1},
	            {"2026-03-26 09:45", "lene", "sms", "alert", 2, 1},
	            {"2026-03-26 09:45", "mads", "sms", "alert", 2, 1},
	            {"2026-03-26 09:50", "bo", "mqtt", "update", 2, 1},
	            {"2026-03-26 09:50", "bo", "sms", "update", 2, 1},
	            {"2026-03-26 09:50", "dorthe", "mqtt", "update", 2, 1},
	            {"2026-03-26 09:50", "dorthe", "sms", "update", 2, 1},
	            {"2026-03-26 09:50", "mads", "sms", "update", 2, 1});
	CHECK_EVENTS(
	    x.ref, {"2026-03-26 09:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-26 09:00", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-26 09:05", "escalate", "system", "notifying", "notifying", "step=1 loop=0"},
	    {"2026-03-26 09:15", "escalate", "system", "notifying", "notifying", "step=0 loop=1"},
	    {"2026-03-26 09:20", "escalate", "system", "notifying", "notifying", "step=1 loop=1"},
	    {"2026-03-26 09:30", "escalate", "system", "notifying", "notifying",
	     "step=2 loop=1 unhandled=1"},
	    {"2026-03-26 09:45", "escalate", "system", "notifying", "notifying", "step=2 loop=1"},
	    {"2026-03-26 09:50", "take", "lene", "notifying", "taken",
	     fmt("notification=%lld", (long long)alert_id(x.ref, "lene", "mqtt", 2, 1))});
}

/* bo goes home sick at 13:01 while a P1 is at its first step: the
 * override (made through the control job) takes effect at the ticket's
 * next step, and new tickets go straight to gitte. */
static void test_week_override_in_flight_takes_effect_at_next_step(void **state)
{
	struct answer u = report("2026-03-24 13:00", "tue-1300-p1", TEXT_P1, CL_P1);
	add_override("2026-03-24 13:01", CL_DUTY_PRIMARY, "gitte", "bo", "2026-03-24 13:01",
	             "2026-03-24 16:00");
	check_oncall("2026-03-24 13:01", "gitte", "override", "dorthe", "bagvagt");
	struct cl_oncall oc;
	assert_int_equal(cl_service_oncall(fx.svc, "ost", T("2026-03-24 13:01"), &oc), CL_OK);
	assert_int_equal(oc.shift_start_ms, T("2026-03-24 13:01"));
	assert_int_equal(oc.shift_end_ms, T("2026-03-24 16:00"));
	check_oncall("2026-03-24 16:00", "erik", "aften", "dorthe", "bagvagt");
	check_oncall("2026-03-25 09:00", "bo", "dag", "dorthe", "bagvagt");
	/* Nothing is re-sent when the roster changes ... */
	check_ticket(u.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 0, 0, "2026-03-24 13:02", false);
	CHECK_SENDS(u.ref, {"2026-03-24 13:00", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-24 13:00", "bo", "sms", "alert", 0, 0});
	/* ... the next step asks gitte and the back-up. */
	run_to("2026-03-24 13:02");
	check_ticket(u.ref, CL_TICKET_NOTIFYING, CL_ESC_STEP, 1, 0, "2026-03-24 13:04", false);
	struct answer y = report("2026-03-24 13:02:10", "tue-1302-p1", TEXT_P1, CL_P1);
	act_ok("2026-03-24 13:02:30", CL_ACTION_ACK, u.ref, "gitte",
	       alert_id(u.ref, "gitte", "sms", 1, 0));
	act_ok("2026-03-24 13:03", CL_ACTION_TAKE, u.ref, "gitte", 0);
	act_ok("2026-03-24 13:03", CL_ACTION_TAKE, y.ref, "gitte",
	       alert_id(y.ref, "gitte", "mqtt", 0, 0));
	CHECK_SENDS(u.ref, {"2026-03-24 13:00", "bo", "mqtt", "alert", 0, 0},
	            {"2026-03-24 13:00", "bo", "sms", "alert", 0, 0},
	            {"2026-03-24 13:02", "gitte", "sms", "alert", 1, 0},
	            {"2026-03-24 13:02", "dorthe", "sms", "alert", 1, 0},
	            {"2026-03-24 13:02:30", "bo", "mqtt", "update", 1, 0},
	            {"2026-03-24 13:02:30", "bo", "sms", "update", 1, 0},
	            {"2026-03-24 13:02:30", "dorthe", "sms", "update", 1, 0},
	            {"2026-03-24 13:03", "bo", "mqtt", "update", 1, 0},
	            {"2026-03-24 13:03", "bo", "sms", "update", 1, 0},
	            {"2026-03-24 13:03", "dorthe", "sms", "update", 1, 0});
	CHECK_SENDS(y.ref, {"2026-03-24 13:02:10", "gitte", "mqtt", "alert", 0, 0},
	            {"2026-03-24 13:02:10", "gitte", "sms", "alert", 0, 0});
	CHECK_EVENTS(
	    u.ref, {"2026-03-24 13:00", "create", "reporter", "new", "new", "via=http"},
	    {"2026-03-24 13:00", "notify", "system", "new", "notifying", NULL},
	    {"2026-03-24 13:02", "escalate", "system", "notifying", "notifying", "step=1 loop=0"},
	    {"2026-03-24 13:02:30", "ack", "gitte", "notifying", "acknowledged",
	     fmt("notification=%lld", (long long)alert_id(u.ref, "gitte", "sms", 1, 0))},
	    {"2026-03-24 13:03", "take", "gitte", "acknowledged", "taken", NULL});
}

int main(void)
{
	cl_log_set_level(CL_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_week_oncall_answers_with_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_week_low_urgency_pauses_at_closing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_week_friday_1559_vs_1601, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_week_nights_weekend_and_dst_defer_to_monday, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_week_kristi_himmelfartsdag_defers_to_friday, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_week_easter_defers_to_tuesday, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_week_ack_timeout_renotifies_acker_and_step, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_week_decline_escalates_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_week_multi_target_first_ack_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_week_repeat_then_unhandled_to_all_leads, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_week_override_in_flight_takes_effect_at_next_step,
	                                    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
