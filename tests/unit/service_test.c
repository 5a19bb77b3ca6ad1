/*
 * tests/unit/service_test.c: the whole core without sockets (core/service.c,
 * intake.c, actions.c, escalate.c, outbox.c over a real SQLite file). A test
 * config with one-minute steps, a fixed crypto key, a fake clock and a fake
 * sender that records every cl_outgoing and confirms it: reports become
 * tickets and alerts for whoever the roster says is on duty, duplicates get
 * the original answer, deadlines escalate to the back-up, ack/decline/take/
 * resolve follow the state machine, repeat reports link by address,
 * personal fields are encrypted at rest, a restart resumes deadlines and the
 * outbox, and one flush commits a whole batch.
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
#include "careline/roster.h"
#include "careline/service.h"
#include "careline/store.h"

#include "../lib/svcfix.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define T0  INT64_C(1773223200000) /* Wednesday 2026-03-11T10:00:00Z, 11:00 in Copenhagen */

/* Steps of one minute, then the back-up every two minutes. */
static const char test_ini[] = "[careline]\n"
                               "lang = da\n"
                               "[outbox]\n"
                               "retry_base = 1\n"
                               "retry_cap = 8\n"
                               "[routing]\n"
                               "default_area = centrum\n"
                               "[person anna]\n"
                               "role = worker\n"
                               "[person bo]\n"
                               "role = worker\n"
                               "[person carl]\n"
                               "role = worker\n"
                               "[person dorthe]\n"
                               "role = lead\n"
                               "[person jens]\n"
                               "role = caretaker\n"
                               "estate = gellerupparken\n"
                               "[device anna-phone]\n"
                               "person = anna\n"
                               "[device bo-phone]\n"
                               "person = bo\n"
                               "[device carl-phone]\n"
                               "person = carl\n"
                               "[area vest]\n"
                               "name = Vest\n"
                               "postcodes = 8210 8220\n"
                               "estates = gellerupparken\n"
                               "team = t1\n"
                               "[area centrum]\n"
                               "name = Centrum\n"
                               "postcodes = 8000\n"
                               "team = t1\n"
                               "[team t1]\n"
                               "rotation = anna bo\n"
                               "handoff = mon 08:00\n"
                               "anchor = 2026-01-05\n"
                               "backup = carl\n"
                               "lead = dorthe\n"
                               "policy = fast\n"
                               "[policy fast]\n"
                               "step = primary 60\n"
                               "step = primary 60\n"
                               "repeat = 0\n"
                               "final = backup 120\n"
                               "ack_timeout_p0 = 300\n"
                               "ack_timeout_p1 = 300\n"
                               "ack_timeout_p2 = 600\n"
                               "ack_timeout_p3 = 600\n";

/* Texts whose categories the normaliser reads unambiguously
 * (/work/shared/fixtures/reports-da.tsv). */
#define TEXT_SQUALOR_ADDR                                                                          \
	"Det lugter forfærdeligt fra lejligheden på Vestergade 12, 3. tv. og der er fluer i "    \
	"opgangen"
#define TEXT_NOT_SEEN "Har ikke set manden i nr. 14 st. th. i over to uger, postkassen flyder over"
#define TEXT_NOISE    "Naboen råber og banker på væggene hver nat, vi kan ikke sove"
#define TEXT_ANON_P0  "ANONYM Manden på 1. sal slår sin kone, jeg hører skrig"

struct sent {
	int64_t id;
	int64_t at;
	char person[CL_ID_MAX];
	char target[CL_ID_MAX];
	char kind[12];
	char ref[CL_REF_MAX];
	char state[16];
	char lang[4];
	char area_name[32];
	int step;
	int loop;
};

struct fake_sender {
	struct cl_service *svc;
	const struct cl_clock *clock;
	struct sent v[512];
	size_t n;
	enum cl_err rc; /* what send returns; CL_AGAIN = "disconnected" */
	bool confirm;   /* report delivery at once */
};

static struct sf fx;
static struct fake_sender sender;
static const char *on_duty; /* primary at T0 per the roster */

static enum cl_err fake_send(void *ctx, const struct cl_outgoing *out)
{
	struct fake_sender *s = ctx;
	if (s->rc != CL_OK)
		return s->rc;
	assert_true(s->n < sizeof(s->v) / sizeof(s->v[0]));
	struct sent *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->id = out->n->id;
	e->at = cl_clock_now(s->clock);
	snprintf(e->person, sizeof(e->person), "%s", out->n->person);
	snprintf(e->target, sizeof(e->target), "%s", out->n->target);
	snprintf(e->kind, sizeof(e->kind), "%s", out->n->kind);
	snprintf(e->ref, sizeof(e->ref), "%s", out->t->ref);
	snprintf(e->state, sizeof(e->state), "%s", cl_ticket_state_name(out->t->state));
	snprintf(e->lang, sizeof(e->lang), "%s", out->lang);
	snprintf(e->area_name, sizeof(e->area_name), "%s", out->area_name);
	e->step = out->n->step;
	e->loop = out->n->loop;
	assert_string_equal(out->n->channel, "mqtt");
	if (s->confirm)
		cl_service_send_result(s->svc, out->n->id, true, NULL);
	return CL_OK;
}

static void start_service(bool with_sender)
{
	sf_start(&fx);
	sender.svc = fx.svc;
	if (with_sender) {
		struct cl_sender s = {.channel = "mqtt", .send = fake_send, .ctx = &sender};
		assert_int_equal(cl_service_add_sender(fx.svc, &s), CL_OK);
	}
}

static int setup(void **state)
{
	memset(&sender, 0, sizeof(sender));
	sf_setup(&fx, "service", test_ini, T0);
	sender.clock = &fx.clock;
	sender.confirm = true;
	sender.rc = CL_OK;
	start_service(true);

	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(cl_config_team(fx.cfg, "t1"), NULL, 0, T0, &oc),
	                 CL_OK);
	on_duty = oc.primary;
	/* Nine weeks after anna's first week: bo's turn, carl behind him. */
	assert_string_equal(on_duty, "bo");
	assert_string_equal(oc.backup, "carl");
	assert_true(oc.shift_end_ms > T0 + 60 * MIN);
	return 0;
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

/* --- helpers ------------------------------------------------------------- */

struct report_done {
	int calls;
	struct cl_report_answer a;
};

static void on_report_done(void *ctx, const struct cl_report_answer *a)
{
	struct report_done *d = ctx;
	d->calls++;
	d->a = *a;
}

struct action_done {
	int calls;
	struct cl_action_answer a;
};

static void on_action_done(void *ctx, const struct cl_action_answer *a)
{
	struct action_done *d = ctx;
	d->calls++;
	d->a = *a;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct cl_report make_report(const char *key, const char *text)
{
	struct cl_report r;
	cl_report_init(&r);
	r.via = CL_CHANNEL_HTTP;
	snprintf(r.idem_ns, sizeof(r.idem_ns), "app");
	snprintf(r.key, sizeof(r.key), "%s", key);
	r.text = dup_or_null(text);
	return r;
}

/* Submit r, flush once, and return the answer. */
static struct cl_report_answer submit(struct cl_report *r)
{
	struct report_done d = {0};
	assert_non_null(cl_service_submit_report(fx.svc, r, on_report_done, &d));
	cl_service_flush(fx.svc);
	assert_int_equal(d.calls, 1);
	return d.a;
}

static struct cl_report_answer submit_text(const char *key, const char *text)
{
	struct cl_report r = make_report(key, text);
	return submit(&r);
}

static struct cl_action_answer act(enum cl_action_kind kind, const char *ref, const char *actor,
                                   const char *reason, int64_t notification_id)
{
	struct cl_action a;
	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.ref, sizeof(a.ref), "%s", ref);
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	if (reason)
		snprintf(a.reason, sizeof(a.reason), "%s", reason);
	a.notification_id = notification_id;
	struct action_done d = {0};
	assert_non_null(cl_service_submit_action(fx.svc, &a, on_action_done, &d));
	cl_service_flush(fx.svc);
	assert_int_equal(d.calls, 1);
	return d.a;
}

static void at(int64_t t)
{
	cl_clock_set(&fx.clock, t);
	cl_service_flush(fx.svc);
}

static struct cl_ticket ticket(const char *ref)
{
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, ref, &t), CL_OK);
	return t;
}

/* Alerts recorded since index from, for ref. */
static size_t count_sent(size_t from, const char *ref, const char *kind, const char *person)
{
	size_t n = 0;
	for (size_t i = from; i < sender.n; i++) {
		const struct sent *s = &sender.v[i];
		if ((!ref || strcmp(s->ref, ref) == 0) && (!kind || strcmp(s->kind, kind) == 0) &&
		    (!person || strcmp(s->person, person) == 0))
			n++;
	}
	return n;
}

/* The last alert sent for ref. */
static const struct sent *last_alert(const char *ref)
{
	for (size_t i = sender.n; i-- > 0;)
		if (strcmp(sender.v[i].ref, ref) == 0 && strcmp(sender.v[i].kind, "alert") == 0)
			return &sender.v[i];
	fail_msg("no alert for %s", ref);
	return NULL;
}

struct events {
	int n;
	char event[32][16];
	char actor[32][CL_ID_MAX];
	char detail[32][64];
	char from[32][16];
	char to[32][16];
	char note[32][64];
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
	snprintf(ev->note[i], sizeof(ev->note[i]), "%s", note ? note : "");
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

static void assert_events(const struct events *ev, const char *const *names, int n)
{
	if (ev->n != n) {
		for (int i = 0; i < ev->n; i++)
			print_message("event %d: %s %s\n", i, ev->event[i], ev->detail[i]);
	}
	assert_int_equal(ev->n, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(ev->event[i], names[i]);
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

static void count_ticket(void *ctx, const struct cl_ticket *t)
{
	(*(int *)ctx)++;
}

/* --- (a) a report becomes a ticket and alerts the on-duty worker ----------- */

static void test_service_report_creates_ticket_and_alerts_on_duty(void **state)
{
	struct cl_report r = make_report("b3f9c2d0-5a57-4c1e-9f7e-2d1f0c0a9e11", TEXT_SQUALOR_ADDR);
	r.reporter_person = strdup("jens");
	r.reporter_role = strdup("caretaker");
	struct cl_report_answer a = submit(&r);
	assert_int_equal(a.err, CL_OK);
	assert_false(a.duplicate);
	assert_int_equal(strlen(a.ref), 5);
	assert_int_equal(a.state, CL_TICKET_NOTIFYING);
	assert_int_equal(a.urgency, CL_P3);
	assert_int_equal(a.categories.n, 1);
	assert_int_equal(a.categories.cats[0], CL_CAT_SQUALOR);
	assert_int_equal(a.kind, CL_TICKET_NAMED);
	assert_string_equal(a.linked_ref, "");

	/* The on-duty primary's device got the alert, right after the commit. */
	assert_int_equal(sender.n, 1);
	const struct sent *s = &sender.v[0];
	assert_string_equal(s->person, on_duty);
	assert_string_equal(s->target, "bo-phone");
	assert_string_equal(s->kind, "alert");
	assert_string_equal(s->ref, a.ref);
	assert_string_equal(s->state, "notifying");
	assert_string_equal(s->lang, "da");
	assert_int_equal(s->step, 0);
	assert_int_equal(s->loop, 0);
	assert_int_equal(s->at, T0);

	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.state, CL_TICKET_NOTIFYING);
	assert_int_equal(t.kind, CL_TICKET_NAMED);
	/* jens's estate routes the report to Vest. */
	assert_string_equal(t.area, "vest");
	assert_string_equal(s->area_name, "Vest");
	assert_string_equal(t.team, "t1");
	assert_string_equal(t.policy, "fast");
	assert_int_equal(t.created_ms, T0);
	assert_int_equal(t.phase, CL_ESC_STEP);
	assert_int_equal(t.step, 0);
	assert_int_equal(t.due_ms, T0 + 60 * SEC);
	assert_true(t.has_address_hash);

	/* A ref is case-insensitive on input. */
	char lower[CL_REF_MAX];
	for (size_t i = 0; i <= strlen(a.ref); i++)
		lower[i] = (char)(a.ref[i] >= 'A' && a.ref[i] <= 'Z' ? a.ref[i] + 32 : a.ref[i]);
	struct cl_ticket t2;
	assert_int_equal(cl_service_ticket(fx.svc, lower, &t2), CL_OK);
	assert_int_equal(t2.id, t.id);

	struct events ev = events_of(a.ref);
	const char *const want[] = {"create", "notify"};
	assert_events(&ev, want, 2);
	assert_string_equal(ev.actor[0], "jens");
	assert_string_equal(ev.detail[0], "via=http");
	assert_string_equal(ev.from[1], "new");
	assert_string_equal(ev.to[1], "notifying");

	/* The delivery is recorded by the next commit, at the latest a second
	 * later (results alone do not cost an fsync at once). */
	struct notif_list l = notifications_of(a.ref);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, CL_NOTIF_PENDING);
	at(T0 + 999);
	l = notifications_of(a.ref);
	assert_int_equal(l.v[0].state, CL_NOTIF_PENDING);
	at(T0 + 1000);
	l = notifications_of(a.ref);
	assert_int_equal(l.v[0].state, CL_NOTIF_SENT);
	assert_int_equal(l.v[0].attempts, 1);
	assert_int_equal(l.v[0].id, s->id);

	int listed = 0;
	struct cl_ticket_filter open = {.open_only = true, .team = "t1"};
	assert_int_equal(cl_service_tickets(fx.svc, &open, count_ticket, &listed), CL_OK);
	assert_int_equal(listed, 1);

	const struct cl_metrics *m = cl_service_metrics(fx.svc);
	assert_int_equal(m->reports[CL_CHANNEL_HTTP], 1);
	assert_int_equal(m->notif_sent, 1);
	assert_int_equal(cl_service_next_deadline(fx.svc) <= T0 + 60 * SEC, true);

	/* Nothing more happens before the first deadline. */
	at(T0 + 59 * SEC);
	assert_int_equal(sender.n, 1);
}

static void test_service_reads_oncall(void **state)
{
	struct cl_oncall oc;
	assert_int_equal(cl_service_oncall(fx.svc, "t1", T0, &oc), CL_OK);
	assert_string_equal(oc.primary, on_duty);
	/* A week later the rotation has moved on. */
	assert_int_equal(cl_service_oncall(fx.svc, "t1", T0 + 7 * 24 * 60 * MIN, &oc), CL_OK);
	assert_string_equal(oc.primary, "anna");
	assert_int_equal(cl_service_oncall(fx.svc, "nope", T0, &oc), CL_ERR_NOTFOUND);
}

/* --- (b) the same key again gets the original answer ---------------------- */

static void test_service_duplicate_key_same_answer(void **state)
{
	struct cl_report_answer a = submit_text("dup-key-1", TEXT_NOT_SEEN);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.urgency, CL_P1);
	assert_int_equal(a.categories.cats[0], CL_CAT_NOT_SEEN);
	size_t sent = sender.n;

	/* A retry after the ticket moved on still gets the original state. */
	assert_int_equal(act(CL_ACTION_ACK, a.ref, "bo", NULL, 0).err, CL_OK);
	struct cl_report_answer b = submit_text("dup-key-1", "en helt anden tekst");
	assert_int_equal(b.err, CL_OK);
	assert_true(b.duplicate);
	assert_string_equal(b.ref, a.ref);
	assert_int_equal(b.state, CL_TICKET_NOTIFYING);
	assert_int_equal(b.urgency, a.urgency);
	assert_int_equal(b.categories.n, a.categories.n);
	assert_int_equal(b.categories.cats[0], a.categories.cats[0]);

	int64_t counts[CL_TICKET_STATE__COUNT];
	assert_int_equal(cl_store_ticket_counts(fx.store, counts), CL_OK);
	int64_t total = 0;
	for (int i = 0; i < CL_TICKET_STATE__COUNT; i++)
		total += counts[i];
	assert_int_equal(total, 1);
	assert_int_equal(count_sent(sent, NULL, "alert", NULL), 0);
	assert_int_equal(cl_service_metrics(fx.svc)->duplicates[CL_CHANNEL_HTTP], 1);
	assert_int_equal(cl_service_metrics(fx.svc)->reports[CL_CHANNEL_HTTP], 1);

	/* Twice in one batch: one ticket, the second answered as a duplicate. */
	struct cl_report r1 = make_report("dup-key-2", TEXT_NOISE);
	struct cl_report r2 = make_report("dup-key-2", TEXT_NOISE);
	struct report_done d1 = {0}, d2 = {0};
	cl_service_submit_report(fx.svc, &r1, on_report_done, &d1);
	cl_service_submit_report(fx.svc, &r2, on_report_done, &d2);
	cl_service_flush(fx.svc);
	assert_int_equal(d1.calls, 1);
	assert_int_equal(d2.calls, 1);
	assert_false(d1.a.duplicate);
	assert_true(d2.a.duplicate);
	assert_string_equal(d1.a.ref, d2.a.ref);
	/* The same key in another namespace is another report. */
	struct cl_report r3 = make_report("dup-key-2", TEXT_NOISE);
	snprintf(r3.idem_ns, sizeof(r3.idem_ns), "twilio");
	r3.via = CL_CHANNEL_SMS;
	struct cl_report_answer c = submit(&r3);
	assert_false(c.duplicate);
	assert_string_not_equal(c.ref, d1.a.ref);
}

/* --- (c) deadlines escalate, finally to the back-up ------------------------ */

static void test_service_escalates_to_backup(void **state)
{
	struct cl_report_answer a = submit_text("esc-1", TEXT_NOISE);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(count_sent(0, a.ref, "alert", on_duty), 1);

	at(T0 + 60 * SEC - 1);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 1);

	/* Step 2: the primary again. */
	at(T0 + 60 * SEC);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 2);
	const struct sent *s = last_alert(a.ref);
	assert_string_equal(s->person, on_duty);
	assert_int_equal(s->step, 1);
	assert_int_equal(s->at, T0 + 60 * SEC);
	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.phase, CL_ESC_STEP);
	assert_int_equal(t.step, 1);
	assert_int_equal(t.due_ms, T0 + 120 * SEC);
	assert_false(t.unhandled);

	/* No repeat: the final step, the back-up's device. */
	at(T0 + 120 * SEC);
	s = last_alert(a.ref);
	assert_string_equal(s->person, "carl");
	assert_string_equal(s->target, "carl-phone");
	assert_int_equal(s->step, 2);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 3);
	t = ticket(a.ref);
	assert_int_equal(t.state, CL_TICKET_NOTIFYING);
	assert_int_equal(t.phase, CL_ESC_FINAL);
	assert_true(t.unhandled);
	assert_int_equal(t.due_ms, T0 + 240 * SEC);

	/* The final step repeats at its delay. */
	at(T0 + 240 * SEC - 1);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 3);
	at(T0 + 240 * SEC);
	assert_int_equal(count_sent(0, a.ref, "alert", "carl"), 2);
	assert_int_equal(ticket(a.ref).due_ms, T0 + 360 * SEC);
	at(T0 + 360 * SEC);
	assert_int_equal(count_sent(0, a.ref, "alert", "carl"), 3);
	assert_int_equal(count_sent(0, a.ref, "alert", on_duty), 2);

	struct events ev = events_of(a.ref);
	const char *const want[] = {"create",   "notify",   "escalate",
	                            "escalate", "escalate", "escalate"};
	assert_events(&ev, want, 6);
	assert_string_equal(ev.actor[0], "reporter");
	assert_string_equal(ev.detail[2], "step=1 loop=0");
	assert_string_equal(ev.detail[3], "step=2 loop=0 unhandled=1");
	assert_string_equal(ev.detail[4], "step=2 loop=0");
	assert_string_equal(ev.actor[2], "system");
	assert_int_equal(ev.at[3], T0 + 120 * SEC);
	assert_int_equal(cl_service_metrics(fx.svc)->escalations, 4);

	/* Every alert row was confirmed. */
	at(T0 + 361 * SEC);
	struct notif_list l = notifications_of(a.ref);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < l.n; i++)
		assert_int_equal(l.v[i].state, CL_NOTIF_SENT);
}

/* --- (d) ack, and its timeout ----------------------------------------------- */

static void test_service_ack_and_ack_timeout(void **state)
{
	struct cl_report_answer a = submit_text("ack-1", TEXT_SQUALOR_ADDR); /* P3: 600 s */
	assert_int_equal(a.urgency, CL_P3);
	const struct sent *alert = last_alert(a.ref);
	int64_t alert_id = alert->id;

	/* The back-up acknowledges although the primary was alerted. */
	cl_clock_set(&fx.clock, T0 + 10 * SEC);
	size_t mark = sender.n;
	struct cl_action_answer r = act(CL_ACTION_ACK, a.ref, "carl", NULL, 0);
	assert_int_equal(r.err, CL_OK);
	assert_true(r.changed);
	assert_int_equal(r.state, CL_TICKET_ACKNOWLEDGED);
	assert_string_equal(r.ref, a.ref);
	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.state, CL_TICKET_ACKNOWLEDGED);
	assert_string_equal(t.acked_by, "carl");
	assert_int_equal(t.acked_ms, T0 + 10 * SEC);
	assert_int_equal(t.phase, CL_ESC_ACKED);
	int64_t due = T0 + 10 * SEC + 600 * SEC;
	assert_int_equal(t.due_ms, due);
	/* Whoever was alerted is told who took responsibility. */
	assert_int_equal(count_sent(mark, a.ref, "update", on_duty), 1);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 0);
	assert_int_equal(cl_service_metrics(fx.svc)->ack_count, 1);

	/* The step deadline armed before the ack is stale. */
	at(T0 + 60 * SEC);
	at(due - 1);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 0);
	assert_int_equal(ticket(a.ref).state, CL_TICKET_ACKNOWLEDGED);

	/* Not taken in time: back to notifying; the acker and the step again. */
	mark = sender.n;
	at(due);
	t = ticket(a.ref);
	assert_int_equal(t.state, CL_TICKET_NOTIFYING);
	assert_string_equal(t.acked_by, "");
	assert_int_equal(t.phase, CL_ESC_STEP);
	assert_int_equal(t.step, 0);
	assert_int_equal(t.due_ms, due + 60 * SEC);
	assert_int_equal(count_sent(mark, a.ref, "alert", "carl"), 1);
	assert_int_equal(count_sent(mark, a.ref, "alert", on_duty), 1);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 2);
	assert_int_equal(cl_service_metrics(fx.svc)->ack_timeouts, 1);

	struct events ev = events_of(a.ref);
	const char *const want[] = {"create", "notify", "ack", "ack_timeout"};
	assert_events(&ev, want, 4);
	assert_string_equal(ev.actor[2], "carl");
	assert_string_equal(ev.to[2], "acknowledged");
	assert_string_equal(ev.actor[3], "system");
	assert_string_equal(ev.detail[3], "acked_by=carl");
	assert_string_equal(ev.from[3], "acknowledged");
	assert_string_equal(ev.to[3], "notifying");
	assert_int_equal(ev.at[3], due);

	/* Acking through the alert records the answer on its row. */
	struct cl_action_answer r2 = act(CL_ACTION_ACK, a.ref, on_duty, NULL, alert_id);
	assert_int_equal(r2.err, CL_OK);
	assert_int_equal(r2.notification_id, alert_id);
	struct cl_notification n;
	assert_int_equal(cl_store_notification_get(fx.store, alert_id, &n), CL_OK);
	assert_string_equal(n.answer, "ack");
	assert_int_equal(n.answered_ms, due);
	assert_string_equal(ticket(a.ref).acked_by, on_duty);
}

static void test_service_pending_alerts_cancelled_after_ack(void **state)
{
	/* The device is offline: the alert waits in the outbox. */
	sender.rc = CL_AGAIN;
	struct cl_report_answer a = submit_text("cancel-1", TEXT_NOISE);
	assert_int_equal(sender.n, 0);
	struct cl_action_answer r = act(CL_ACTION_ACK, a.ref, "anna", NULL, 0);
	assert_int_equal(r.err, CL_OK);
	/* Back online: the alert is no longer needed, the update is. */
	sender.rc = CL_OK;
	at(T0 + 30 * SEC);
	at(T0 + 31 * SEC);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 0);
	struct notif_list l = notifications_of(a.ref);
	int cancelled = 0;
	for (int i = 0; i < l.n; i++)
		if (strcmp(l.v[i].kind, "alert") == 0)
			cancelled += l.v[i].state == CL_NOTIF_CANCELLED;
	assert_int_equal(cancelled, 1);
}

/* Restart the service on test_ini with `from` replaced by `to`. */
static void reload_with(const char *from, const char *to)
{
	char ini[sizeof(test_ini) + 256];
	const char *p = strstr(test_ini, from);
	assert_non_null(p);
	snprintf(ini, sizeof(ini), "%.*s%s%s", (int)(p - test_ini), test_ini, to, p + strlen(from));
	sf_stop(&fx);
	cl_config_free(fx.cfg);
	char err[256];
	assert_int_equal(cl_config_load_string(ini, &fx.cfg, err, sizeof(err)), CL_OK);
	struct cl_oncall oc;
	assert_int_equal(cl_roster_oncall_at(cl_config_team(fx.cfg, "t1"), NULL, 0, T0, &oc),
	                 CL_OK);
	on_duty = oc.primary; /* the old pointer went with the old config */
	start_service(true);
}

static void test_service_ack_without_timeout_can_be_declined(void **state)
{
	/* The same config, but acknowledged P3 tickets never time out. */
	reload_with("ack_timeout_p3 = 600", "ack_timeout_p3 = 0");

	struct cl_report_answer a = submit_text("noto-1", TEXT_NOISE);
	assert_int_equal(a.urgency, CL_P3);
	int64_t alert_id = last_alert(a.ref)->id;
	cl_clock_set(&fx.clock, T0 + 10 * SEC);
	assert_int_equal(act(CL_ACTION_ACK, a.ref, on_duty, NULL, alert_id).err, CL_OK);
	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.state, CL_TICKET_ACKNOWLEDGED);
	assert_int_equal(t.due_ms, 0);

	/* Days pass: nothing fires. */
	size_t mark = sender.n;
	for (int h = 1; h <= 72; h += 7)
		at(T0 + h * 60 * MIN);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 0);
	assert_int_equal(ticket(a.ref).state, CL_TICKET_ACKNOWLEDGED);

	/* The acker hands it back through the alert: it escalates at once. */
	struct cl_action_answer r = act(CL_ACTION_DECLINE, a.ref, on_duty, NULL, alert_id);
	assert_int_equal(r.err, CL_OK);
	assert_int_equal(r.state, CL_TICKET_NOTIFYING);
	assert_int_equal(count_sent(mark, a.ref, "alert", on_duty), 1);
	assert_int_equal(last_alert(a.ref)->step, 1);
	t = ticket(a.ref);
	assert_int_equal(t.phase, CL_ESC_STEP);
	assert_int_equal(t.step, 1);
	assert_int_equal(t.due_ms, T0 + 71 * 60 * MIN + 60 * SEC);
}

static void test_service_person_without_device_is_a_failed_row(void **state)
{
	/* The lead (no device) and a named person are alerted in the final step. */
	reload_with("final = backup 120", "final = backup,lead,person:anna 120");
	struct cl_report_answer a = submit_text("nodev-1", TEXT_NOISE);
	at(T0 + 60 * SEC);
	size_t mark = sender.n;
	at(T0 + 120 * SEC);
	assert_int_equal(count_sent(mark, a.ref, "alert", "carl"), 1);
	assert_int_equal(count_sent(mark, a.ref, "alert", "anna"), 1);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 2);
	struct notif_list l = notifications_of(a.ref);
	int no_contact = 0;
	for (int i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].person, "dorthe") != 0)
			continue;
		no_contact++;
		assert_int_equal(l.v[i].state, CL_NOTIF_FAILED);
		assert_string_equal(l.v[i].channel, "none");
		assert_string_equal(l.v[i].last_error, "no_contact");
	}
	assert_int_equal(no_contact, 1);
	assert_int_equal(cl_service_metrics(fx.svc)->notif_no_contact, 1);
}

/* --- (e) take, resolve, and what is refused ---------------------------------- */

static void test_service_take_resolve_and_conflicts(void **state)
{
	struct cl_report_answer a = submit_text("take-1", TEXT_NOT_SEEN);
	int64_t alert_id = last_alert(a.ref)->id;
	cl_clock_set(&fx.clock, T0 + 5 * SEC);
	struct cl_action_answer r = act(CL_ACTION_ACK, a.ref, on_duty, NULL, alert_id);
	assert_int_equal(r.err, CL_OK);

	r = act(CL_ACTION_ACK, a.ref, "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "already_acknowledged");
	assert_string_equal(r.by, on_duty);
	assert_int_equal(r.state, CL_TICKET_ACKNOWLEDGED);

	/* The same person again: fine, nothing changes. */
	r = act(CL_ACTION_ACK, a.ref, on_duty, NULL, 0);
	assert_int_equal(r.err, CL_OK);
	assert_false(r.changed);

	cl_clock_set(&fx.clock, T0 + 20 * SEC);
	r = act(CL_ACTION_TAKE, a.ref, on_duty, NULL, 0);
	assert_int_equal(r.err, CL_OK);
	assert_true(r.changed);
	assert_int_equal(r.state, CL_TICKET_TAKEN);
	struct cl_ticket t = ticket(a.ref);
	assert_string_equal(t.taken_by, on_duty);
	assert_int_equal(t.taken_ms, T0 + 20 * SEC);
	assert_int_equal(t.phase, CL_ESC_IDLE);
	assert_int_equal(t.due_ms, 0);

	r = act(CL_ACTION_TAKE, a.ref, "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "already_taken");
	assert_string_equal(r.by, on_duty);
	r = act(CL_ACTION_ACK, a.ref, "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "already_taken");
	assert_string_equal(r.by, on_duty);
	r = act(CL_ACTION_DECLINE, a.ref, "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "already_taken");

	/* Taken: escalation is over, however long we wait. */
	size_t mark = sender.n;
	at(T0 + 60 * MIN);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 0);

	/* A note, encrypted at rest, readable in the events. */
	struct cl_action note;
	memset(&note, 0, sizeof(note));
	note.kind = CL_ACTION_NOTE;
	snprintf(note.ref, sizeof(note.ref), "%s", a.ref);
	snprintf(note.actor, sizeof(note.actor), "%s", on_duty);
	note.note = strdup("Besøgt, ingen lukkede op");
	struct action_done nd = {0};
	cl_service_submit_action(fx.svc, &note, on_action_done, &nd);
	cl_service_flush(fx.svc);
	assert_int_equal(nd.calls, 1);
	assert_int_equal(nd.a.err, CL_OK);

	r = act(CL_ACTION_RESOLVE, a.ref, on_duty, "all_good", 0);
	assert_int_equal(r.err, CL_ERR_INVALID);
	assert_string_equal(r.conflict, "invalid_reason");
	r = act(CL_ACTION_RESOLVE, a.ref, on_duty, NULL, 0);
	assert_int_equal(r.err, CL_ERR_INVALID);

	cl_clock_set(&fx.clock, T0 + 61 * MIN);
	r = act(CL_ACTION_RESOLVE, a.ref, on_duty, "handed_over:home_care", 0);
	assert_int_equal(r.err, CL_OK);
	assert_int_equal(r.state, CL_TICKET_CLOSED);
	t = ticket(a.ref);
	assert_int_equal(t.state, CL_TICKET_CLOSED);
	assert_string_equal(t.closed_reason, "handed_over:home_care");
	assert_int_equal(t.closed_ms, T0 + 61 * MIN);

	r = act(CL_ACTION_ACK, a.ref, on_duty, NULL, 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "closed");
	r = act(CL_ACTION_RESOLVE, a.ref, on_duty, "contact_refused", 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "closed");

	struct events ev = events_of(a.ref);
	const char *const want[] = {"create", "notify", "ack", "take", "note", "resolve"};
	assert_events(&ev, want, 6);
	assert_string_equal(ev.note[4], "Besøgt, ingen lukkede op");
	assert_string_equal(ev.note[3], "");
	assert_string_equal(ev.detail[5], "reason=handed_over:home_care");
	char want_detail[64];
	snprintf(want_detail, sizeof(want_detail), "notification=%lld", (long long)alert_id);
	assert_string_equal(ev.detail[2], want_detail);
	assert_string_equal(ev.to[5], "closed");
}

static void test_service_unknown_ticket_person_and_notification(void **state)
{
	struct cl_action_answer r = act(CL_ACTION_ACK, "ZZZZZ", "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_NOTFOUND);
	assert_string_equal(r.conflict, "unknown_ticket");
	r = act(CL_ACTION_ACK, "0O1I", "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_NOTFOUND);
	r = act(CL_ACTION_ACK, "", "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_NOTFOUND);
	struct cl_ticket t;
	assert_int_equal(cl_service_ticket(fx.svc, "ZZZZZ", &t), CL_ERR_NOTFOUND);
	assert_int_equal(cl_service_ticket(fx.svc, NULL, &t), CL_ERR_NOTFOUND);

	struct cl_report_answer a = submit_text("unknown-1", TEXT_NOISE);
	r = act(CL_ACTION_ACK, a.ref, "eve", NULL, 0);
	assert_int_equal(r.err, CL_ERR_INVALID);
	assert_string_equal(r.conflict, "unknown_person");
	r = act(CL_ACTION_ACK, a.ref, "anna", NULL, 424242);
	assert_int_equal(r.err, CL_ERR_INVALID);
	assert_string_equal(r.conflict, "unknown_notification");
	/* Someone else's alert is not yours to answer. */
	r = act(CL_ACTION_ACK, a.ref, "anna", NULL, last_alert(a.ref)->id);
	assert_int_equal(r.err, CL_ERR_INVALID);
	assert_string_equal(r.conflict, "unknown_notification");
	assert_int_equal(ticket(a.ref).state, CL_TICKET_NOTIFYING);

	/* Nothing of that was recorded on the ticket. */
	struct events ev = events_of(a.ref);
	assert_int_equal(ev.n, 2);
}

/* --- (f) decline ------------------------------------------------------------ */

static void test_service_decline(void **state)
{
	struct cl_report_answer a = submit_text("decline-1", TEXT_NOISE);
	int64_t n0 = last_alert(a.ref)->id;
	at(T0 + 60 * SEC);
	const struct sent *s1 = last_alert(a.ref);
	assert_int_equal(s1->step, 1);
	int64_t n1 = s1->id;
	assert_true(n1 != n0);

	/* Answering the alert of a step that has passed. */
	cl_clock_set(&fx.clock, T0 + 70 * SEC);
	struct cl_action_answer r = act(CL_ACTION_DECLINE, a.ref, on_duty, NULL, n0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "already_escalated");
	assert_int_equal(ticket(a.ref).step, 1);

	/* The current alert: escalate at once, to the back-up. */
	size_t mark = sender.n;
	r = act(CL_ACTION_DECLINE, a.ref, on_duty, NULL, n1);
	assert_int_equal(r.err, CL_OK);
	assert_true(r.changed);
	assert_int_equal(r.state, CL_TICKET_NOTIFYING);
	assert_int_equal(count_sent(mark, a.ref, "alert", "carl"), 1);
	assert_int_equal(last_alert(a.ref)->at, T0 + 70 * SEC);
	struct cl_ticket t = ticket(a.ref);
	assert_int_equal(t.phase, CL_ESC_FINAL);
	assert_true(t.unhandled);
	assert_int_equal(t.due_ms, T0 + 70 * SEC + 120 * SEC);
	struct cl_notification n;
	assert_int_equal(cl_store_notification_get(fx.store, n1, &n), CL_OK);
	assert_string_equal(n.answer, "decline");

	struct events ev = events_of(a.ref);
	const char *const want[] = {"create", "notify", "escalate", "decline", "escalate"};
	assert_events(&ev, want, 5);
	assert_string_equal(ev.actor[3], on_duty);
	assert_string_equal(ev.detail[4], "step=2 loop=0 unhandled=1");

	/* The old deadline (T0 + 120 s) no longer fires. */
	mark = sender.n;
	at(T0 + 120 * SEC);
	assert_int_equal(count_sent(mark, a.ref, "alert", NULL), 0);
	at(T0 + 190 * SEC);
	assert_int_equal(count_sent(mark, a.ref, "alert", "carl"), 1);

	/* An acker who declines hands the ticket back, and it escalates. */
	cl_clock_set(&fx.clock, T0 + 200 * SEC);
	assert_int_equal(act(CL_ACTION_ACK, a.ref, "carl", NULL, 0).err, CL_OK);
	r = act(CL_ACTION_DECLINE, a.ref, "anna", NULL, 0);
	assert_int_equal(r.err, CL_ERR_CONFLICT);
	assert_string_equal(r.conflict, "already_acknowledged");
	assert_string_equal(r.by, "carl");
	mark = sender.n;
	r = act(CL_ACTION_DECLINE, a.ref, "carl", NULL, 0);
	assert_int_equal(r.err, CL_OK);
	assert_int_equal(r.state, CL_TICKET_NOTIFYING);
	assert_int_equal(count_sent(mark, a.ref, "alert", "carl"), 1);
	assert_string_equal(ticket(a.ref).acked_by, "");
}

/* --- (g) a second report about the same address links to the open ticket -- */

static void test_service_links_reports_by_address(void **state)
{
	struct cl_report_answer a = submit_text("link-1", TEXT_SQUALOR_ADDR);
	assert_string_equal(a.linked_ref, "");

	struct cl_report r = make_report("link-2", TEXT_NOISE);
	r.address_text = strdup("Vestergade 12, 3. tv");
	struct cl_report_answer b = submit(&r);
	assert_int_equal(b.err, CL_OK);
	assert_string_not_equal(b.ref, a.ref);
	assert_string_equal(b.linked_ref, a.ref);
	struct cl_ticket tb = ticket(b.ref);
	assert_int_equal(tb.linked_to, ticket(a.ref).id);
	assert_string_equal(tb.linked_ref, a.ref);

	/* Spelled differently, in fields, with a postcode: the same flat. */
	struct cl_report r2 = make_report("link-3", "Hun er meget forvirret");
	snprintf(r2.address.street, sizeof(r2.address.street), "VESTERGADE");
	snprintf(r2.address.number, sizeof(r2.address.number), "12");
	snprintf(r2.address.floor, sizeof(r2.address.floor), "3");
	snprintf(r2.address.side, sizeof(r2.address.side), "tv");
	snprintf(r2.address.postcode, sizeof(r2.address.postcode), "8210");
	struct cl_report_answer c = submit(&r2);
	assert_string_equal(c.linked_ref, b.ref); /* the newest open one */
	assert_string_equal(ticket(c.ref).area, "vest");

	/* Another door in the same building is another case. */
	struct cl_report r3 = make_report("link-4", TEXT_NOISE);
	r3.address_text = strdup("Vestergade 12, 3. th");
	assert_string_equal(submit(&r3).linked_ref, "");
	/* No address, no link. */
	assert_string_equal(submit_text("link-5", TEXT_NOISE).linked_ref, "");

	/* Closed tickets are not linked to. */
	assert_int_equal(act(CL_ACTION_TAKE, c.ref, "anna", NULL, 0).err, CL_OK);
	assert_int_equal(act(CL_ACTION_RESOLVE, c.ref, "anna", "contact_refused", 0).err, CL_OK);
	struct cl_report r4 = make_report("link-6", TEXT_NOISE);
	r4.address_text = strdup("Vestergade 12, 3. tv.");
	assert_string_equal(submit(&r4).linked_ref, b.ref);
}

/* --- (h) personal fields are encrypted at rest ------------------------------- */

#define MARK_TEXT     "Qwxzlugtmarkør"
#define MARK_NAME     "Zyxwnavn Hansen"
#define MARK_PHONE    "+4529871234"
#define MARK_RESIDENT "Vyxqbeboer"
#define MARK_ORG      "Qzorg Boligforening"
#define MARK_OBSERVED "Xyqmaaleraflaeser"

/* Does needle occur in the database file or its WAL? */
static bool db_contains(const char *needle)
{
	const char *suffix[] = {"", "-wal"};
	size_t nlen = strlen(needle);
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

struct views {
	int n;
	bool anonymous[4];
	bool consent_callback[4];
	char person[4][CL_ID_MAX];
	char fields[4][CL_RF__COUNT][160];
	bool present[4][CL_RF__COUNT];
	struct cl_address address[4];
};

static void on_view(void *ctx, const struct cl_report_view *v)
{
	struct views *s = ctx;
	int i = s->n++;
	s->anonymous[i] = v->anonymous;
	s->consent_callback[i] = v->consent_callback;
	snprintf(s->person[i], sizeof(s->person[i]), "%s",
	         v->reporter_person ? v->reporter_person : "");
	for (int f = 0; f < CL_RF__COUNT; f++) {
		s->present[i][f] = v->fields[f] != NULL;
		snprintf(s->fields[i][f], sizeof(s->fields[i][f]), "%s",
		         v->fields[f] ? v->fields[f] : "");
	}
	s->address[i] = v->address;
}

static struct views views_of(const char *ref)
{
	struct views v;
	memset(&v, 0, sizeof(v));
	struct cl_ticket t = ticket(ref);
	assert_int_equal(cl_service_ticket_reports(fx.svc, &t, on_view, &v), CL_OK);
	return v;
}

static void test_service_personal_fields_encrypted(void **state)
{
	struct cl_report r = make_report("crypt-1", "Det lugter forfærdeligt fra Vestergade 12, 3. "
	                                            "tv. " MARK_TEXT);
	r.reporter_name = strdup(MARK_NAME);
	r.reporter_phone = strdup(MARK_PHONE);
	r.reporter_org = strdup(MARK_ORG);
	r.resident_name = strdup(MARK_RESIDENT);
	r.observed_by = strdup(MARK_OBSERVED);
	r.reporter_role = strdup("neighbour");
	r.consent_callback = true;
	struct cl_report_answer a = submit(&r);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.kind, CL_TICKET_NAMED);
	at(T0 + 1); /* the send result too */

	const char *marks[] = {MARK_TEXT,     MARK_NAME,     MARK_PHONE,   MARK_ORG,
	                       MARK_RESIDENT, MARK_OBSERVED, "Vestergade", "vestergade"};
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (db_contains(marks[i]))
			fail_msg("'%s' is stored in clear", marks[i]);
	/* The scan does find what is meant to be clear. */
	assert_true(db_contains(a.ref));
	assert_true(db_contains("squalor"));

	struct views v = views_of(a.ref);
	assert_int_equal(v.n, 1);
	assert_false(v.anonymous[0]);
	assert_non_null(strstr(v.fields[0][CL_RF_TEXT], MARK_TEXT));
	assert_string_equal(v.fields[0][CL_RF_REPORTER_NAME], MARK_NAME);
	assert_string_equal(v.fields[0][CL_RF_REPORTER_PHONE], MARK_PHONE);
	assert_string_equal(v.fields[0][CL_RF_REPORTER_ORG], MARK_ORG);
	assert_string_equal(v.fields[0][CL_RF_RESIDENT_NAME], MARK_RESIDENT);
	assert_string_equal(v.fields[0][CL_RF_OBSERVED_BY], MARK_OBSERVED);
	assert_string_equal(v.address[0].street, "Vestergade");
	assert_string_equal(v.address[0].number, "12");
	assert_string_equal(v.address[0].floor, "3");
	assert_string_equal(v.address[0].side, "tv");

	/* Another key cannot read them. */
	unsigned char other[CL_CRYPTO_KEY_BYTES] = {1};
	struct cl_crypto *wrong;
	assert_int_equal(cl_crypto_from_key(other, 1, &wrong), CL_OK);
	cl_service_free(fx.svc);
	assert_int_equal(cl_service_new(fx.cfg, fx.store, wrong, &fx.clock, &fx.svc), CL_OK);
	struct cl_ticket t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(cl_store_ticket_get(fx.store, 1, &t), CL_OK);
	memset(&v, 0, sizeof(v));
	cl_log_set_level(CL_LOG_ERROR + 1);
	assert_int_equal(cl_service_ticket_reports(fx.svc, &t, on_view, &v), CL_ERR_CRYPTO);
	cl_log_set_level(CL_LOG_WARN);
	assert_false(v.present[0][CL_RF_REPORTER_NAME]);
	cl_service_free(fx.svc);
	fx.svc = NULL;
	cl_crypto_free(wrong);
	start_service(true);
}

static void test_service_anonymous_keeps_no_reporter(void **state)
{
	/* anonymous = true: name, phone and org are dropped. */
	struct cl_report r = make_report("anon-1", TEXT_NOISE);
	r.anonymous = true;
	r.reporter_name = strdup(MARK_NAME);
	r.reporter_phone = strdup(MARK_PHONE);
	r.reporter_org = strdup(MARK_ORG);
	r.reporter_person = strdup("jens");
	struct cl_report_answer a = submit(&r);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.kind, CL_TICKET_ANONYMOUS);
	struct views v = views_of(a.ref);
	assert_int_equal(v.n, 1);
	assert_true(v.anonymous[0]);
	assert_string_equal(v.person[0], "");
	assert_false(v.present[0][CL_RF_REPORTER_NAME]);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);
	assert_false(v.present[0][CL_RF_REPORTER_ORG]);
	assert_true(v.present[0][CL_RF_TEXT]);
	struct events ev = events_of(a.ref);
	assert_string_equal(ev.actor[0], "anonymous");

	/* The ANONYM prefix: the same, and the word is not kept in the text. */
	struct cl_report r2 = make_report("anon-2", TEXT_ANON_P0);
	r2.reporter_name = strdup(MARK_NAME);
	r2.reporter_phone = strdup(MARK_PHONE);
	struct cl_report_answer b = submit(&r2);
	assert_int_equal(b.kind, CL_TICKET_ANONYMOUS);
	assert_int_equal(b.urgency, CL_P0);
	assert_int_equal(b.categories.cats[0], CL_CAT_THREATS_VIOLENCE);
	v = views_of(b.ref);
	assert_true(v.anonymous[0]);
	assert_false(v.present[0][CL_RF_REPORTER_NAME]);
	assert_false(v.present[0][CL_RF_REPORTER_PHONE]);
	assert_null(strstr(v.fields[0][CL_RF_TEXT], "ANONYM"));
	assert_non_null(strstr(v.fields[0][CL_RF_TEXT], "slår sin kone"));

	/* Anonymous but asking to be called back: the number is kept. */
	struct cl_report r3 = make_report("anon-3", TEXT_NOISE);
	r3.anonymous = true;
	r3.reporter_name = strdup(MARK_NAME);
	r3.reporter_phone = strdup(MARK_PHONE);
	r3.consent_callback = true;
	struct cl_report_answer c = submit(&r3);
	v = views_of(c.ref);
	assert_false(v.present[0][CL_RF_REPORTER_NAME]);
	assert_string_equal(v.fields[0][CL_RF_REPORTER_PHONE], MARK_PHONE);
	assert_true(v.consent_callback[0]);

	assert_false(db_contains(MARK_NAME));
	assert_false(db_contains(MARK_PHONE));
	/* Only the report that asked for a callback has a phone lookup hash. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT key FROM report WHERE phone_hash IS NOT NULL"
	                                    " OR reporter_name_enc IS NOT NULL"
	                                    " OR reporter_org_enc IS NOT NULL"
	                                    " OR reporter_person IS NOT NULL",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "anon-3");
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_service_category_hint_and_empty_text(void **state)
{
	/* The reporter picked a category; the text says little. */
	struct cl_report r = make_report("hint-1", "Jeg er bekymret");
	r.has_category_hint = true;
	r.category_hint = CL_CAT_NOT_SEEN;
	struct cl_report_answer a = submit(&r);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.categories.n, 1);
	assert_int_equal(a.categories.cats[0], CL_CAT_NOT_SEEN);
	assert_int_equal(a.urgency, CL_P1);

	/* The hint comes first; what the text says is kept after it. */
	struct cl_report r2 = make_report("hint-2", TEXT_NOISE);
	r2.has_category_hint = true;
	r2.category_hint = CL_CAT_SQUALOR;
	a = submit(&r2);
	assert_int_equal(a.categories.cats[0], CL_CAT_SQUALOR);
	assert_int_equal(a.categories.n, 2);
	assert_int_equal(a.categories.cats[1], CL_CAT_NOISE);

	/* A phone call with no words yet still becomes a ticket. */
	struct cl_report r3 = make_report("hint-3", NULL);
	r3.via = CL_CHANNEL_IVR;
	snprintf(r3.idem_ns, sizeof(r3.idem_ns), "ivr");
	a = submit(&r3);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(a.categories.cats[0], CL_CAT_OTHER);
	assert_int_equal(a.kind, CL_TICKET_ANONYMOUS);
	assert_int_equal(count_sent(0, a.ref, "alert", on_duty), 1);
	struct views v = views_of(a.ref);
	assert_int_equal(v.n, 1);
	assert_false(v.present[0][CL_RF_TEXT]);
}

/* --- (i) restart ------------------------------------------------------------- */

static void reopen_everything(bool with_sender)
{
	sf_stop(&fx);
	start_service(with_sender);
}

static void test_service_restart_resumes_deadlines_and_outbox(void **state)
{
	/* No channel yet: the alert is committed but not sent. */
	cl_service_free(fx.svc);
	start_service(false);
	struct cl_report_answer a = submit_text("restart-1", TEXT_NOISE);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(sender.n, 0);
	struct cl_report_answer b = submit_text("restart-2", TEXT_NOT_SEEN);
	assert_int_equal(b.err, CL_OK);

	reopen_everything(true);
	assert_true(cl_service_outbox_depth(fx.svc) >= 2);
	assert_true(cl_service_next_deadline(fx.svc) <= T0);

	/* The unsent alerts go out after the restart: b's at once, a's at the
	 * retry the first attempt (without a channel) scheduled, 1 s later
	 * (plus up to a quarter of jitter). */
	at(T0);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 0);
	assert_int_equal(count_sent(0, b.ref, "alert", on_duty), 1);
	at(T0 + 1250);
	assert_int_equal(count_sent(0, a.ref, "alert", on_duty), 1);
	/* They are recorded as sent, and not sent twice. */
	at(T0 + 5 * SEC);
	assert_int_equal(sender.n, 2);
	struct notif_list l = notifications_of(a.ref);
	assert_int_equal(l.v[0].state, CL_NOTIF_SENT);

	/* Restart again mid-escalation; the deadline fires at the right time. */
	cl_clock_set(&fx.clock, T0 + 5 * SEC);
	assert_int_equal(act(CL_ACTION_ACK, b.ref, "anna", NULL, 0).err, CL_OK);
	reopen_everything(true);
	at(T0 + 60 * SEC - 1);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 1);
	at(T0 + 60 * SEC);
	assert_int_equal(count_sent(0, a.ref, "alert", NULL), 2);
	assert_int_equal(last_alert(a.ref)->step, 1);
	reopen_everything(true);
	at(T0 + 120 * SEC);
	assert_int_equal(count_sent(0, a.ref, "alert", "carl"), 1);
	/* b was acknowledged at T0 + 5 s: its timeout (P1, 300 s) survives too. */
	reopen_everything(true);
	at(T0 + 305 * SEC - 1);
	assert_int_equal(ticket(b.ref).state, CL_TICKET_ACKNOWLEDGED);
	at(T0 + 305 * SEC);
	assert_int_equal(ticket(b.ref).state, CL_TICKET_NOTIFYING);
	assert_int_equal(count_sent(0, b.ref, "alert", "anna"), 1);
	/* No ticket was lost or doubled. */
	int64_t counts[CL_TICKET_STATE__COUNT];
	assert_int_equal(cl_store_ticket_counts(fx.store, counts), CL_OK);
	assert_int_equal(counts[CL_TICKET_NOTIFYING], 2);
}

static void test_service_outbox_retries_with_backoff(void **state)
{
	sender.rc = CL_AGAIN; /* the broker is down */
	struct cl_report_answer a = submit_text("retry-1", TEXT_NOISE);
	assert_int_equal(sender.n, 0);
	at(T0 + 999);
	sender.rc = CL_OK;
	at(T0 + 999);
	assert_int_equal(sender.n, 0); /* not yet: the first retry is after 1 s */
	at(T0 + 1250);                 /* ... plus at most a quarter of jitter */
	assert_int_equal(count_sent(0, a.ref, "alert", on_duty), 1);
	at(T0 + 1251 + 1000); /* the delivery is written within a second */
	struct notif_list l = notifications_of(a.ref);
	assert_int_equal(l.v[0].state, CL_NOTIF_SENT);
	assert_int_equal(l.v[0].attempts, 2);

	/* Handed over but never confirmed: sent again after the backoff. */
	sender.confirm = false;
	const int64_t tb = T0 + 2251;
	struct cl_report_answer b = submit_text("retry-2", TEXT_NOISE);
	assert_int_equal(count_sent(0, b.ref, "alert", NULL), 1);
	at(tb + 999);
	assert_int_equal(count_sent(0, b.ref, "alert", NULL), 1);
	at(tb + 1250);
	assert_int_equal(count_sent(0, b.ref, "alert", NULL), 2);
	at(tb + 1250 + 1999); /* then 2 s later (2.5 s at most) */
	assert_int_equal(count_sent(0, b.ref, "alert", NULL), 2);
	at(tb + 1250 + 2500);
	assert_int_equal(count_sent(0, b.ref, "alert", NULL), 3);
	/* A reported failure is recorded; the retry stands. */
	cl_service_send_result(fx.svc, last_alert(b.ref)->id, false, "puback_timeout");
	at(tb + 1250 + 2500);
	struct cl_notification n;
	assert_int_equal(cl_store_notification_get(fx.store, last_alert(b.ref)->id, &n), CL_OK);
	assert_int_equal(n.state, CL_NOTIF_PENDING);
	assert_string_equal(n.last_error, "puback_timeout");
	assert_int_equal(n.attempts, 3);
	/* A late confirmation stops the retries. */
	cl_service_send_result(fx.svc, last_alert(b.ref)->id, true, NULL);
	at(tb + 1250 + 2501);
	at(T0 + 20000);
	assert_int_equal(count_sent(0, b.ref, "alert", NULL), 3);
}

/* --- (j) group commit --------------------------------------------------------- */

static void test_service_group_commit(void **state)
{
	enum { N = 100 };
	static struct report_done done[N];
	memset(done, 0, sizeof(done));
	const struct cl_metrics *m = cl_service_metrics(fx.svc);
	uint64_t commits = m->commits;
	uint64_t batched = m->batched_jobs;
	for (int i = 0; i < N; i++) {
		char key[64];
		snprintf(key, sizeof(key), "8d1e6f0a-0000-4000-8000-%012d", i);
		struct cl_report r = make_report(key, i % 2 ? TEXT_NOISE : TEXT_NOT_SEEN);
		assert_non_null(cl_service_submit_report(fx.svc, &r, on_report_done, &done[i]));
		assert_int_equal(done[i].calls, 0); /* nothing answered before the commit */
	}
	assert_true(cl_service_next_deadline(fx.svc) <= T0);
	cl_service_flush(fx.svc);
	assert_int_equal(m->commits, commits + 1);
	assert_int_equal(m->batched_jobs, batched + N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(done[i].calls, 1);
		assert_int_equal(done[i].a.err, CL_OK);
		assert_false(done[i].a.duplicate);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(done[i].a.ref, done[j].a.ref);
	}
	assert_int_equal(m->reports[CL_CHANNEL_HTTP], N);
	assert_int_equal(count_sent(0, NULL, "alert", on_duty), N);

	/* A flush with nothing to do commits nothing; the send results wait
	 * up to a second for a commit to ride on, then get their own. */
	uint64_t before = m->commits;
	cl_service_flush(fx.svc);
	assert_int_equal(m->commits, before);
	cl_clock_advance(&fx.clock, 1000);
	cl_service_flush(fx.svc); /* writes the send results */
	assert_int_equal(m->commits, before + 1);
	cl_service_flush(fx.svc);
	assert_int_equal(m->commits, before + 1);
}

static void test_service_cancelled_job_is_committed_silently(void **state)
{
	struct cl_report r = make_report("cancel-job-1", TEXT_NOISE);
	struct report_done d = {0};
	struct cl_job *job = cl_service_submit_report(fx.svc, &r, on_report_done, &d);
	assert_non_null(job);
	cl_service_job_cancel(job);
	cl_service_flush(fx.svc);
	assert_int_equal(d.calls, 0);
	/* The retry finds it. */
	struct cl_report_answer a = submit_text("cancel-job-1", TEXT_NOISE);
	assert_true(a.duplicate);
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

/* After the broker lost what it had accepted, the current alert to each
 * device goes out again; a device revoked meanwhile gets nothing. */
static void test_service_resend_skips_revoked_devices(void **state)
{
	struct cl_control add = {.kind = CL_CONTROL_DEVICE_ADD};
	snprintf(add.device.id, sizeof(add.device.id), "bo-tablet");
	snprintf(add.device.person, sizeof(add.device.person), "bo");
	assert_int_equal(control(&add), CL_OK);

	struct cl_report_answer a = submit_text("resend-1", TEXT_NOISE);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(count_sent(0, a.ref, "alert", "bo"), 2);
	at(T0 + SEC); /* deliveries recorded */

	struct cl_control resend = {.kind = CL_CONTROL_RESEND, .channel = "mqtt"};
	size_t before = sender.n;
	assert_int_equal(control(&resend), CL_OK);
	at(T0 + 2 * SEC);
	assert_int_equal(count_sent(before, a.ref, "alert", "bo"), 2);

	struct cl_control revoke = {.kind = CL_CONTROL_DEVICE_REVOKE};
	snprintf(revoke.device.id, sizeof(revoke.device.id), "bo-tablet");
	assert_int_equal(control(&revoke), CL_OK);
	at(T0 + 3 * SEC);

	before = sender.n;
	assert_int_equal(control(&resend), CL_OK);
	at(T0 + 4 * SEC);
	assert_int_equal(count_sent(before, a.ref, "alert", "bo"), 1);
	assert_string_equal(sender.v[sender.n - 1].target, "bo-phone");
}

int main(void)
{
	cl_log_set_level(CL_LOG_WARN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_service_report_creates_ticket_and_alerts_on_duty,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_reads_oncall, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_duplicate_key_same_answer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_escalates_to_backup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_ack_and_ack_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_ack_without_timeout_can_be_declined, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_pending_alerts_cancelled_after_ack, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_person_without_device_is_a_failed_row,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_take_resolve_and_conflicts, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_unknown_ticket_person_and_notification,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_decline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_links_reports_by_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_personal_fields_encrypted, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_category_hint_and_empty_text, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_anonymous_keeps_no_reporter, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_restart_resumes_deadlines_and_outbox,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_outbox_retries_with_backoff, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_cancelled_job_is_committed_silently, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_service_resend_skips_revoked_devices, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
