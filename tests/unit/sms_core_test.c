/*
 * tests/unit/sms_core_test.c: the core's side of the SMS channel, without
 * sockets (service, intake, escalate, outbox, store_sms over a real SQLite
 * file, a fake clock and a fake "sms" sender): per-person reply codes that
 * are reused for the same ticket and freed when it closes, follow-up texts
 * joining the sender's recent ticket by keyed hash, the replay window,
 * permanent failures blocking the contact, delivery reports by provider id,
 * and phone lookups by keyed hash.
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
#include "careline/service.h"
#include "careline/store.h"

#include "../lib/svcfix.h"

#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define T0  INT64_C(1773223200000) /* Wednesday 2026-03-11T10:00:00Z: bo is on duty */

static const char test_ini[] = "[sms]\n"
                               "provider = twilio\n"
                               "public_url = https://careline.example.dk\n"
                               "account = AC00000000000000000000000000000000\n"
                               "secret = s3cr3t-auth-token\n"
                               "from = +4570701234\n"
                               "followup_window = 1800\n"
                               "replay_window = 600\n"
                               "[outbox]\n"
                               "retry_base = 1\n"
                               "retry_cap = 8\n"
                               "[person anna]\n"
                               "phone = +4520000001\n"
                               "[person bo]\n"
                               "phone = +4520000002\n"
                               "name = Bo\n"
                               "[person carl]\n"
                               "phone = +4520000003\n"
                               "[person jens]\n"
                               "role = caretaker\n"
                               "phone = +4520000009\n"
                               "[area centrum]\n"
                               "postcodes = 8000\n"
                               "team = t1\n"
                               "[team t1]\n"
                               "rotation = anna bo\n"
                               "handoff = mon 08:00\n"
                               "anchor = 2026-01-05\n"
                               "backup = carl\n"
                               "policy = fast\n"
                               "[policy fast]\n"
                               "step = primary 60\n"
                               "final = backup 120\n";

struct sent {
	int64_t id;
	char person[CL_ID_MAX];
	char channel[16];
	char ref[CL_REF_MAX];
	int code;
};

static struct sf fx;

/* The fake "sms" sender: what it saw, and what it answers. */
static struct {
	struct sent sent[256];
	size_t n_sent;
	bool confirm;
	bool permanent;
} sms;

static enum cl_err fake_sms(void *ctx, const struct cl_outgoing *out)
{
	struct sent *e = &sms.sent[sms.n_sent++];
	e->id = out->n->id;
	snprintf(e->person, sizeof(e->person), "%s", out->n->person);
	snprintf(e->channel, sizeof(e->channel), "%s", out->n->channel);
	snprintf(e->ref, sizeof(e->ref), "%s", out->t->ref);
	e->code = out->n->reply_code;
	char pid[32];
	snprintf(pid, sizeof(pid), "SM%lld", (long long)out->n->id);
	struct cl_send_outcome o = {
	    .delivered = sms.confirm,
	    .permanent = sms.permanent,
	    .error = sms.confirm ? NULL : "21610",
	    .provider_id = sms.confirm ? pid : NULL,
	};
	if (sms.confirm || sms.permanent)
		cl_service_send_outcome(fx.svc, out->n->id, &o);
	return CL_OK;
}

static void flush_at(int64_t at)
{
	cl_clock_set(&fx.clock, at);
	cl_service_flush(fx.svc);
	cl_service_flush(fx.svc); /* write the send results */
}

static int setup(void **state)
{
	memset(&sms, 0, sizeof(sms));
	sf_setup(&fx, "smscore", test_ini, T0);
	sf_start(&fx);
	struct cl_sender s = {.channel = "sms", .send = fake_sms};
	assert_int_equal(cl_service_add_sender(fx.svc, &s), CL_OK);
	sms.confirm = true;
	return 0;
}

static int teardown(void **state)
{
	sf_teardown(&fx);
	return 0;
}

static struct cl_report_answer answer;

static void on_answer(void *ctx, const struct cl_report_answer *a)
{
	answer = *a;
}

static struct cl_report_answer report(const char *key, const char *text, const char *phone,
                                      int64_t sent_ms)
{
	struct cl_report r;
	cl_report_init(&r);
	r.via = CL_CHANNEL_SMS;
	snprintf(r.idem_ns, sizeof(r.idem_ns), "twilio");
	snprintf(r.key, sizeof(r.key), "%s", key);
	r.text = strdup(text);
	r.anonymous = true;
	if (phone) {
		r.has_sender_hash = true;
		cl_service_phone_hash(fx.svc, phone, r.sender_hash);
	}
	r.sent_ms = sent_ms;
	memset(&answer, 0, sizeof(answer));
	assert_non_null(cl_service_submit_report(fx.svc, &r, on_answer, NULL));
	cl_service_flush(fx.svc);
	cl_service_flush(fx.svc);
	return answer;
}

static struct cl_action_answer action_answer;

static void on_action(void *ctx, const struct cl_action_answer *a)
{
	action_answer = *a;
}

static struct cl_action_answer act(enum cl_action_kind kind, const char *ref, const char *actor)
{
	struct cl_action a = {.kind = kind};
	snprintf(a.ref, sizeof(a.ref), "%s", ref);
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	if (kind == CL_ACTION_RESOLVE)
		snprintf(a.reason, sizeof(a.reason), "contact_refused");
	assert_non_null(cl_service_submit_action(fx.svc, &a, on_action, NULL));
	cl_service_flush(fx.svc);
	cl_service_flush(fx.svc);
	return action_answer;
}

static const struct sent *last_sms_to(const char *person, const char *ref)
{
	for (size_t i = sms.n_sent; i-- > 0;)
		if (strcmp(sms.sent[i].person, person) == 0 && strcmp(sms.sent[i].ref, ref) == 0)
			return &sms.sent[i];
	return NULL;
}

static void test_sms_core_reply_codes_per_person(void **state)
{
	struct cl_report_answer a = report("SM1", "Naboen råber hver nat", "+4531000001", 0);
	struct cl_report_answer b =
	    report("SM2", "Der lugter af skrald i opgangen", "+4531000002", 0);
	assert_int_equal(a.err, CL_OK);
	assert_int_equal(b.err, CL_OK);
	const struct sent *sa = last_sms_to("bo", a.ref), *sb = last_sms_to("bo", b.ref);
	assert_non_null(sa);
	assert_non_null(sb);
	assert_string_equal(sa->channel, "sms");
	assert_int_equal(sa->code, 1);
	assert_int_equal(sb->code, 2);

	/* The lookups behind "1a" and "a". */
	char ref[CL_REF_MAX];
	int64_t nid = 0;
	assert_int_equal(cl_service_sms_code(fx.svc, "bo", 1, ref, &nid), CL_OK);
	assert_string_equal(ref, a.ref);
	assert_int_equal(nid, sa->id);
	assert_int_equal(cl_service_sms_code(fx.svc, "bo", 7, ref, &nid), CL_ERR_NOTFOUND);
	int code;
	assert_int_equal(cl_service_sms_single_code(fx.svc, "bo", &code), CL_ERR_CONFLICT);

	/* Escalation to the back-up gives carl his own code 1; a later step for
	 * the same ticket reuses bo's code. */
	flush_at(T0 + 60 * SEC);
	assert_int_equal(last_sms_to("carl", a.ref)->code, 1);
	assert_int_equal(last_sms_to("carl", b.ref)->code, 2);

	/* Closing a frees its codes: the next ticket takes code 1 again. */
	assert_int_equal(act(CL_ACTION_RESOLVE, a.ref, "bo").err, CL_OK);
	assert_int_equal(cl_service_sms_single_code(fx.svc, "bo", &code), CL_OK);
	assert_int_equal(code, 2);
	struct cl_report_answer c =
	    report("SM3", "Hun truer med en kniv lige nu", "+4531000003", 0);
	assert_int_equal(last_sms_to("bo", c.ref)->code, 1);
	/* A taken ticket keeps its code for a day, so a late "2a" is answered. */
	assert_int_equal(act(CL_ACTION_TAKE, b.ref, "bo").err, CL_OK);
	struct cl_report_answer d = report("SM4", "Larm fra 3. th. hver aften", "+4531000004", 0);
	assert_int_equal(last_sms_to("bo", d.ref)->code, 3);
}

static void test_sms_core_followup_joins_recent_ticket(void **state)
{
	struct cl_report_answer a = report("SMa", "Naboen råber hver nat", "+4531999999", 0);
	assert_false(a.followup);
	cl_clock_set(&fx.clock, T0 + 10 * MIN);
	struct cl_report_answer b = report("SMb", "Og nu banker han på væggen", "+4531999999", 0);
	assert_int_equal(b.err, CL_OK);
	assert_true(b.followup);
	assert_string_equal(b.ref, a.ref);
	/* Another number is another ticket. */
	struct cl_report_answer c = report("SMc", "Naboen råber hver nat", "+4531888888", 0);
	assert_string_not_equal(c.ref, a.ref);
	/* Past the window (30 min after the last text): a new ticket. */
	cl_clock_set(&fx.clock, T0 + 41 * MIN);
	struct cl_report_answer d = report("SMd", "Han råber igen", "+4531999999", 0);
	assert_false(d.followup);
	assert_string_not_equal(d.ref, a.ref);
	/* A provider retry of the follow-up answers as before. */
	struct cl_report_answer e = report("SMb", "Og nu banker han på væggen", "+4531999999", 0);
	assert_true(e.duplicate);
	assert_string_equal(e.ref, a.ref);

	/* The number itself is nowhere in the database file. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx.db, &db), SQLITE_OK);
	sqlite3_close(db);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cat %s* | grep -c 4531999999 >/dev/null", fx.db);
	assert_int_not_equal(system(cmd), 0);
}

static void test_sms_core_replay_window(void **state)
{
	struct cl_report_answer a =
	    report("SMold", "Naboen råber hver nat", "+4531777777", T0 - 11 * MIN);
	assert_int_equal(a.err, CL_ERR_AUTH);
	struct cl_report_answer b =
	    report("SMnew", "Naboen råber hver nat", "+4531777777", T0 - 2 * MIN);
	assert_int_equal(b.err, CL_OK);
}

static void test_sms_core_permanent_failure_blocks_contact(void **state)
{
	sms.confirm = false;
	sms.permanent = true;
	struct cl_report_answer a = report("SMp", "Naboen råber hver nat", "+4531666666", 0);
	const struct sent *s = last_sms_to("bo", a.ref);
	assert_non_null(s);
	struct cl_notification n;
	assert_int_equal(cl_store_notification_get(fx.store, s->id, &n), CL_OK);
	assert_int_equal(n.state, CL_NOTIF_FAILED);
	assert_string_equal(n.last_error, "21610");
	assert_true(cl_store_contact_blocked(fx.store, "bo", "sms"));
	/* No retry of the refused text. */
	size_t before = sms.n_sent;
	flush_at(T0 + 5 * SEC);
	for (size_t i = before; i < sms.n_sent; i++)
		assert_false(sms.sent[i].id == s->id);
	/* Escalation goes on: carl gets the next step, bo gets no more SMS. */
	sms.confirm = true;
	sms.permanent = false;
	flush_at(T0 + 60 * SEC);
	assert_non_null(last_sms_to("carl", a.ref));
	struct cl_report_answer b = report("SMq", "Der lugter af skrald", "+4531555555", 0);
	assert_null(last_sms_to("bo", b.ref));
}

static struct cl_job *control_job;
static enum cl_err control_err = CL_ERR__COUNT;

static void on_control(void *ctx, enum cl_err err, const struct cl_control *c)
{
	control_err = err;
}

static void test_sms_core_delivery_report(void **state)
{
	struct cl_report_answer a = report("SMd1", "Naboen råber hver nat", "+4531444444", 0);
	const struct sent *s = last_sms_to("bo", a.ref);
	struct cl_control c = {.kind = CL_CONTROL_DELIVERY};
	snprintf(c.channel, sizeof(c.channel), "sms");
	snprintf(c.provider_id, sizeof(c.provider_id), "SM%lld", (long long)s->id);
	snprintf(c.delivery, sizeof(c.delivery), "undelivered");
	snprintf(c.error, sizeof(c.error), "30003");
	control_job = cl_service_submit_control(fx.svc, &c, on_control, NULL);
	assert_non_null(control_job);
	cl_service_flush(fx.svc);
	assert_int_equal(control_err, CL_OK);
	struct cl_notification n;
	assert_int_equal(cl_store_notification_get(fx.store, s->id, &n), CL_OK);
	assert_string_equal(n.provider_id, c.provider_id);
	assert_string_equal(n.delivery, "undelivered");
	assert_string_equal(n.provider_error, "30003");
	assert_int_equal(n.state, CL_NOTIF_SENT);
}

static void test_sms_core_phone_lookup_and_optout(void **state)
{
	const struct cl_person *p = cl_service_person_by_phone(fx.svc, "+4520000002");
	assert_non_null(p);
	assert_string_equal(p->id, "bo");
	assert_string_equal(p->name, "Bo");
	assert_null(cl_service_person_by_phone(fx.svc, "+4520000099"));
	unsigned char h[32];
	cl_service_phone_hash(fx.svc, "+4531333333", h);
	assert_false(cl_service_sms_opted_out(fx.svc, h));
	struct cl_control c = {.kind = CL_CONTROL_OPTOUT};
	memcpy(c.hash, h, sizeof(h));
	assert_non_null(cl_service_submit_control(fx.svc, &c, on_control, NULL));
	cl_service_flush(fx.svc);
	assert_true(cl_service_sms_opted_out(fx.svc, h));
}

int main(void)
{
	cl_log_set_level(CL_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sms_core_reply_codes_per_person, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sms_core_followup_joins_recent_ticket, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sms_core_replay_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sms_core_permanent_failure_blocks_contact, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sms_core_delivery_report, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sms_core_phone_lookup_and_optout, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
