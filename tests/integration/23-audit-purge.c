/*
 * tests/integration/23-audit-purge.c: the promises of confidentiality made
 * checkable, against the real daemon. Two reports carry planted strings; one
 * is worked through to closed. The audit chain holds every transition,
 * notification and read (carelinectl audit show) and none of the planted
 * strings; `carelinectl audit verify` says ok. Retention ([retention]
 * closed_after = 1 s): `purge --dry-run` counts and erases nothing; `purge`
 * erases the closed ticket's personal fields and keeps its skeleton, and the
 * ciphertext that held them is found neither in the database file nor in the
 * WAL afterwards (secure_delete, WAL truncated). `erase REF --reason CODE`
 * does the same for an open ticket on request; a reason in words is refused.
 * Finally one audit row is edited in the SQLite file while the daemon is
 * stopped: `audit verify` names that row.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define MARK_TEXT "PLANTED-TEXT-4c1d9e Fru Jensen har ikke været ude i tre uger"
#define MARK_NAME "PLANTED-NAME-Karen-Oehlenschlaeger"
#define MARK_ADDR "Planteret Allé 77"

static struct hx h;

static void post(const char *ref_out_key, char ref[16], const char *text)
{
	char id[37], body[1024];
	hx_uuid(id);
	snprintf(body, sizeof(body),
	         "{\"report_id\": \"%s\", \"text\": \"%s\", \"address\": {\"street\": \"%s\","
	         " \"number\": \"3\", \"postcode\": \"8000\"}, \"reporter\": {\"name\": \"%s\"}}",
	         id, text, MARK_ADDR, MARK_NAME);
	struct hx_resp r = hx_http(&h, "POST", "/api/v1/reports", "test-partner-token", body);
	HX_CHECK(r.status == 201 && r.json, "%s: POST report %ld %s", ref_out_key, r.status,
	         r.body);
	snprintf(ref, 16, "%s", json_string_value(json_object_get(r.json, "ticket")));
	hx_resp_free(&r);
}

static void act(const char *ref, const char *verb, const char *body)
{
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/tickets/%s/%s", ref, verb);
	struct hx_resp r = hx_http(&h, "POST", path, "test-anna-token", body ? body : "{}");
	HX_CHECK(r.status == 200, "%s %s: %ld %s", verb, ref, r.status, r.body);
	hx_resp_free(&r);
}

/* The encrypted text of ref's report, as stored (read-only, beside the daemon). */
static unsigned char *ciphertext_of(const char *ref, size_t *len)
{
	sqlite3 *db;
	HX_CHECK(sqlite3_open_v2(h.db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
	         "open %s", h.db_path);
	sqlite3_stmt *st;
	HX_CHECK(sqlite3_prepare_v2(db,
	                            "SELECT r.text_enc FROM report r JOIN ticket t"
	                            " ON t.id = r.ticket_id WHERE t.ref = ?1",
	                            -1, &st, NULL) == SQLITE_OK,
	         "prepare");
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	unsigned char *out = NULL;
	*len = 0;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		out = malloc(*len);
		memcpy(out, sqlite3_column_blob(st, 0), *len);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static bool file_has(const char *path, const void *needle, size_t n)
{
	size_t len = 0;
	char *buf = hx_read_file(path, &len);
	bool found = buf && memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

static bool db_or_wal_has(const void *needle, size_t n)
{
	char wal[400];
	snprintf(wal, sizeof(wal), "%s-wal", h.db_path);
	return file_has(h.db_path, needle, n) || file_has(wal, needle, n);
}

static json_t *report_of(const char *ref)
{
	json_t *t = hx_ticket(&h, ref);
	json_t *r = json_incref(json_array_get(json_object_get(t, "reports"), 0));
	json_decref(t);
	return r;
}

int main(void)
{
	hx_watchdog(120);
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config), "[retention]\nclosed_after = 1\n");
	hx_start_daemon(&h, NULL);

	char closed[16], open_ref[16];
	post("closed", closed, MARK_TEXT);
	post("open", open_ref, MARK_TEXT " (anden)");
	act(closed, "take", NULL);
	act(closed, "resolve", "{\"reason\": \"handed_over:home_care\"}");

	/* Reads are audited: the admin's and a worker's. */
	json_t *rep = report_of(closed);
	HX_CHECK(json_object_get(rep, "text"), "the closed ticket has no text before the purge");
	json_decref(rep);

	/* The chain: every step of the ticket, no planted string anywhere. */
	char *out = NULL;
	HX_CHECK(hx_ctl(&h, &out, NULL, "audit", "verify", NULL) == 0 &&
	             strstr(out, "audit chain ok"),
	         "audit verify: %s", out);
	free(out);
	HX_CHECK(hx_ctl(&h, &out, NULL, "--json", "audit", "show", "--ticket", closed, NULL) == 0,
	         "audit show");
	const char *want[] = {"ticket.create", "ticket.notify",  "notification.queued",
	                      "ticket.take",   "ticket.resolve", "read.ticket"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		HX_CHECK(strstr(out, want[i]), "audit show lacks %s:\n%s", want[i], out);
	HX_CHECK(strstr(out, "\"actor\": \"anna\""), "the worker is not the actor:\n%s", out);
	free(out);
	sqlite3 *db;
	HX_CHECK(sqlite3_open_v2(h.db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db,
	                   "SELECT actor || action || object || coalesce(detail, '') FROM audit",
	                   -1, &st, NULL);
	int rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);
		rows++;
		HX_CHECK(!strstr(row, "PLANTED") && !strstr(row, "Planteret"),
		         "personal data in the audit chain: %s", row);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	HX_CHECK(rows >= 8, "only %d audit events", rows);
	printf("  %d audit events, none personal\n", rows);

	/* Retention: a dry run counts, erases nothing. */
	hx_sleep_ms(1100);
	size_t clen;
	unsigned char *cipher = ciphertext_of(closed, &clen);
	HX_CHECK(cipher && clen > 32, "no ciphertext for %s", closed);
	HX_CHECK(hx_ctl(&h, &out, NULL, "purge", "--dry-run", NULL) == 0 &&
	             strstr(out, "would erase 1 tickets"),
	         "purge --dry-run: %s", out);
	free(out);
	rep = report_of(closed);
	HX_CHECK(json_object_get(rep, "text"), "a dry run erased the text");
	json_decref(rep);

	/* The purge: the skeleton stays, the personal fields and their
	 * ciphertext are gone from the file and the log. */
	HX_CHECK(db_or_wal_has(cipher, clen), "the scan cannot even find the ciphertext before");
	HX_CHECK(hx_ctl(&h, &out, NULL, "purge", NULL) == 0 && strstr(out, "erased 1 tickets"),
	         "purge: %s", out);
	free(out);
	json_t *t = hx_ticket(&h, closed);
	rep = json_array_get(json_object_get(t, "reports"), 0);
	HX_CHECK(!json_object_get(rep, "text") && !json_object_get(rep, "address") &&
	             !json_object_get(json_object_get(rep, "reporter"), "name") &&
	             json_array_size(json_object_get(t, "categories")) >= 1 &&
	             json_string_value(json_object_get(t, "area")),
	         "after the purge: %s", json_dumps(t, 0));
	json_decref(t);
	HX_CHECK(!db_or_wal_has(cipher, clen), "the erased ciphertext lingers in the file or WAL");
	free(cipher);
	rep = report_of(open_ref);
	HX_CHECK(json_object_get(rep, "text"), "the open ticket lost its text");
	json_decref(rep);

	/* Erasure on request: a code, not words. */
	HX_CHECK(
	    hx_ctl(&h, &out, NULL, "erase", open_ref, "--reason", "the resident asked", NULL) != 0,
	    "a reason in words was accepted");
	free(out);
	cipher = ciphertext_of(open_ref, &clen);
	HX_CHECK(hx_ctl(&h, &out, NULL, "erase", open_ref, "--reason", "gdpr_request", NULL) == 0,
	         "erase: %s", out);
	free(out);
	rep = report_of(open_ref);
	HX_CHECK(!json_object_get(rep, "text"), "erase left the text");
	json_decref(rep);
	HX_CHECK(!db_or_wal_has(cipher, clen), "the erased ciphertext lingers");
	free(cipher);
	HX_CHECK(hx_ctl(&h, &out, NULL, "--json", "audit", "show", "--ticket", open_ref, NULL) ==
	                 0 &&
	             strstr(out, "ticket.erased") && strstr(out, "reason=gdpr_request"),
	         "the erasure is not audited:\n%s", out);
	free(out);
	HX_CHECK(hx_ctl(&h, &out, NULL, "audit", "verify", NULL) == 0,
	         "audit verify after purge: %s", out);
	free(out);

	/* Tampering: one row edited in the file is found. */
	HX_CHECK(hx_stop_daemon(&h) == 0, "daemon did not stop");
	HX_CHECK(sqlite3_open(h.db_path, &db) == SQLITE_OK, "open rw");
	HX_CHECK(sqlite3_exec(db, "UPDATE audit SET actor = 'mallory' WHERE id = 5", NULL, NULL,
	                      NULL) == SQLITE_OK,
	         "edit");
	sqlite3_close(db);
	hx_start_daemon(&h, NULL);
	int rc = hx_ctl(&h, &out, NULL, "audit", "verify", NULL);
	HX_CHECK(rc == 1 && strstr(out, "BROKEN at event 5 (hash)"), "tampering not found: %d %s",
	         rc, out);
	free(out);
	hx_stop(&h);
	printf("23-audit-purge: ok\n");
	return 0;
}
