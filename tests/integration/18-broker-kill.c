/*
 * tests/integration/18-broker-kill.c: the broker is killed (SIGKILL) while
 * reports, receipts, alerts and acks are in flight, and restarted with its
 * persistence on. The devices behave as docs/mqtt.md asks of an app: a
 * report without a receipt is sent again with the same report_id, an ack
 * without an answer is sent again. Afterwards:
 * - every report has a receipt, and all receipts of one report_id name the
 *   same ticket: one report, one ticket (the database holds exactly N);
 * - every ack the device saw confirmed is recorded (the ticket is
 *   acknowledged by the device's person);
 * - the on-duty device, offline from before the second half of the reports
 *   until after the restart, got an alert for every ticket, although the
 *   broker lost what it had accepted for it since its last save (it saves
 *   every second): careline resends the current alerts after it reconnects,
 *   and the escalation step (10 minutes) is far away, so only that resend can
 *   bring a lost one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define N 300

static struct hx h;

struct book {
	pthread_mutex_t mu;
	char report_id[N][37];
	char ticket_of_report[N][16]; /* first receipt */
	bool receipt_conflict;
	int receipts;
	/* tickets as the worker saw them */
	char alerted[N][16];
	long long notification[N];
	int n_alerted;
	bool acked_ok[N];
	int acks_ok;
	int messages;
};

static struct book book = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int report_index(const char *rid)
{
	for (int i = 0; i < N; i++)
		if (strcmp(book.report_id[i], rid) == 0)
			return i;
	return -1;
}

static int alerted_index(const char *ticket)
{
	for (int i = 0; i < book.n_alerted; i++)
		if (strcmp(book.alerted[i], ticket) == 0)
			return i;
	return -1;
}

static void on_item(json_t *o)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *ticket = json_string_value(json_object_get(o, "ticket"));
	if (!type || !ticket)
		return;
	if (strcmp(type, "receipt") == 0) {
		int i = report_index(json_string_value(json_object_get(o, "report_id")));
		if (i < 0)
			return;
		if (!book.ticket_of_report[i][0]) {
			snprintf(book.ticket_of_report[i], sizeof(book.ticket_of_report[i]), "%s",
			         ticket);
			book.receipts++;
		} else if (strcmp(book.ticket_of_report[i], ticket) != 0) {
			book.receipt_conflict = true;
		}
	} else if (strcmp(type, "alert") == 0) {
		if (alerted_index(ticket) < 0 && book.n_alerted < N) {
			snprintf(book.alerted[book.n_alerted], sizeof(book.alerted[0]), "%s",
			         ticket);
			book.notification[book.n_alerted] =
			    json_integer_value(json_object_get(o, "notification_id"));
			book.n_alerted++;
		}
	} else if (strcmp(type, "ack_result") == 0) {
		int i = alerted_index(ticket);
		if (i >= 0 && json_is_true(json_object_get(o, "ok")) && !book.acked_ok[i]) {
			book.acked_ok[i] = true;
			book.acks_ok++;
		}
	}
}

static void on_message(void *ctx, const char *topic, const char *payload, size_t len, int64_t at)
{
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *type = json_string_value(json_object_get(o, "type"));
	pthread_mutex_lock(&book.mu);
	book.messages++;
	if (type && (strcmp(type, "receipts") == 0 || strcmp(type, "alerts") == 0)) {
		size_t i;
		json_t *item;
		json_array_foreach(json_object_get(o, type), i, item) on_item(item);
	} else if (o) {
		on_item(o);
	}
	pthread_mutex_unlock(&book.mu);
	json_decref(o);
}

static char *report_body(int i)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "report_id", book.report_id[i], "text",
	                      "Der lugter af roeg i opgangen, ingen svarer", "address", "");
	char address[96];
	snprintf(address, sizeof(address), "Testvej %d, 8210 Aarhus V", i + 1);
	json_object_set_new(o, "address", json_string(address));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void send_report(struct hx_device *d, int i)
{
	char *body = report_body(i);
	hx_device_publish_nowait(d, "report", body);
	free(body);
}

static void replay(void *ctx, const char *topic, const char *payload, size_t len)
{
	on_message(ctx, topic, payload, len, 0);
}

/* The worker's phone comes (back) online: its queued messages, then a handler. */
static struct hx_device *worker_online(const char *id)
{
	struct hx_device *d = hx_device_connect(&h, id);
	hx_device_set_handler(d, on_message, NULL);
	hx_device_each(d, replay, NULL);
	return d;
}

static int acks_ok(void)
{
	pthread_mutex_lock(&book.mu);
	int n = book.acks_ok;
	pthread_mutex_unlock(&book.mu);
	return n;
}

/* Ack every alerted ticket not yet confirmed; returns how many were sent. */
static int send_acks(struct hx_device *d, int from, int to)
{
	int sent = 0;
	for (int i = from; i < to; i++) {
		pthread_mutex_lock(&book.mu);
		bool done = book.acked_ok[i];
		char ack[160];
		snprintf(ack, sizeof(ack),
		         "{\"notification_id\": %lld, \"ticket\": \"%s\", \"action\": \"ack\"}",
		         book.notification[i], book.alerted[i]);
		pthread_mutex_unlock(&book.mu);
		if (!done) {
			hx_device_publish_nowait(d, "ack", ack);
			sent++;
		}
	}
	return sent;
}

static int alerted(void)
{
	pthread_mutex_lock(&book.mu);
	int n = book.n_alerted;
	pthread_mutex_unlock(&book.mu);
	return n;
}

int main(void)
{
	hx_watchdog(150);
	h.persistence = true;
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 600\nfinal = backup 600\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);
	char primary[48], worker_id[64];
	hx_oncall(&h, "opsoegende", primary, sizeof(primary), NULL, 0);
	snprintf(worker_id, sizeof(worker_id), "%s-phone", primary);
	struct hx_device *worker = worker_online(worker_id);
	struct hx_device *jens = hx_device_connect(&h, "jens-handheld");
	hx_device_set_handler(jens, on_message, NULL);
	for (int i = 0; i < N; i++)
		hx_uuid(book.report_id[i]);

	/* Half the reports; the worker acks what has been alerted, some acks
	 * confirmed, and goes offline; a quarter, given time to be alerted; the
	 * last quarter, and kill. */
	for (int i = 0; i < N / 2; i++)
		send_report(jens, i);
	int64_t until = hx_now_ms() + 5000;
	while (alerted() < N / 4 && hx_now_ms() < until)
		hx_sleep_ms(5);
	int acked_before = alerted();
	send_acks(worker, 0, acked_before);
	until = hx_now_ms() + 5000;
	while (acks_ok() < acked_before / 2 && hx_now_ms() < until)
		hx_sleep_ms(5);
	hx_device_free(worker);
	for (int i = N / 2; i < 3 * N / 4; i++)
		send_report(jens, i);
	hx_sleep_ms(400); /* careline commits and hands alerts to the broker */
	for (int i = 3 * N / 4; i < N; i++)
		send_report(jens, i); /* in flight at the kill */
	hx_kill_broker(&h);
	pthread_mutex_lock(&book.mu);
	int receipts_at_kill = book.receipts, alerts_at_kill = book.n_alerted,
	    acks_at_kill = book.acks_ok;
	pthread_mutex_unlock(&book.mu);

	hx_sleep_ms(300);
	int64_t t_restart = hx_now_ms();
	hx_start_broker(&h);
	int64_t ready_ms = -1;
	while (hx_now_ms() - t_restart < 20000) {
		struct hx_resp r = hx_http(&h, "GET", "/readyz", NULL, NULL);
		long status = r.status;
		hx_resp_free(&r);
		if (status == 200) {
			ready_ms = hx_now_ms() - t_restart;
			break;
		}
		hx_sleep_ms(20);
	}
	HX_CHECK(ready_ms >= 0, "careline reconnects to the restarted broker");
	HX_CHECK(hx_device_wait_connected(jens, 10000));
	worker = worker_online(worker_id);

	/* The apps' retries: reports without a receipt, acks without an answer. */
	int resent_reports = 0, resent_acks = 0;
	int64_t end = hx_now_ms() + 60000;
	for (;;) {
		pthread_mutex_lock(&book.mu);
		bool all = book.receipts == N && book.n_alerted == N && book.acks_ok == N;
		pthread_mutex_unlock(&book.mu);
		if (all || hx_now_ms() > end)
			break;
		for (int i = 0; i < N; i++) {
			pthread_mutex_lock(&book.mu);
			bool has = book.ticket_of_report[i][0] != 0;
			pthread_mutex_unlock(&book.mu);
			if (!has) {
				send_report(jens, i);
				resent_reports++;
			}
		}
		resent_acks += send_acks(worker, 0, alerted());
		hx_sleep_ms(1500);
	}
	pthread_mutex_lock(&book.mu);
	HX_CHECK(!book.receipt_conflict, "a retried report got a different ticket");
	HX_CHECK(book.receipts == N, "every report has a receipt (%d of %d)", book.receipts, N);
	HX_CHECK(book.n_alerted == N, "the device got an alert for every ticket (%d of %d)",
	         book.n_alerted, N);
	HX_CHECK(book.acks_ok == N, "every ack was confirmed (%d of %d)", book.acks_ok, N);
	pthread_mutex_unlock(&book.mu);

	/* The database: exactly N tickets, every one acknowledged by the worker. */
	struct hx_resp list = hx_admin(&h, "GET", "/api/v1/tickets?state=all&limit=10000", NULL);
	HX_CHECK(list.status == 200);
	json_t *tickets = json_object_get(list.json, "tickets");
	HX_CHECK(json_array_size(tickets) == N, "one ticket per report: %zu tickets for %d reports",
	         json_array_size(tickets), N);
	size_t i;
	json_t *t;
	int acked = 0;
	json_array_foreach(tickets, i, t)
	{
		const char *by = json_string_value(json_object_get(t, "acked_by"));
		acked += by && strcmp(by, primary) == 0;
	}
	HX_CHECK(acked == N, "every confirmed ack is recorded (%d of %d)", acked, N);
	hx_resp_free(&list);

	hx_device_free(worker);
	hx_device_free(jens);
	int rc = hx_stop_daemon(&h); /* LeakSanitizer runs at this exit */
	HX_CHECK(rc == 0, "careline exit status %d on SIGTERM", rc);
	hx_stop(&h);
	printf("18-broker-kill: ok (at the kill: %d receipts, %d alerts, %d acks confirmed; "
	       "careline ready %lld ms after the restart; %d report and %d ack retries)\n",
	       receipts_at_kill, alerts_at_kill, acks_at_kill, (long long)ready_ms, resent_reports,
	       resent_acks);
	return 0;
}
