/*
 * tests/integration/25-audit-anchor.c: the audit chain's head kept outside
 * the database, against the real daemon. A daemon whose only events are
 * `purge --dry-run` (no reports, so nothing escalates or sends behind the
 * test's back; automatic retention off): an empty chain logs no head; a clean
 * stop logs "audit.head id=N hash=HEX when=stop" with N the newest row. The
 * newest three rows are then deleted from the SQLite file while it is
 * stopped; the restart logs its shorter head (when=start). A plain
 * `audit verify` still says ok (the documented limit); against the head
 * logged at the stop, carelinectl and GET /api/v1/audit/verify?anchor=N:HEX
 * say "truncated" at the first missing id, and once new events have taken the
 * deleted ids, "anchor" at N. A wrong hash for an event that exists says
 * "anchor"; malformed anchors get 400 invalid_anchor and usage (exit 2).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

static struct hx h;

/* n audit events ("retention.dry_run", nothing personal, nothing else moves). */
static void events(int n)
{
	for (int i = 0; i < n; i++) {
		char *out = NULL;
		HX_CHECK(hx_ctl(&h, &out, NULL, "purge", "--dry-run", NULL) == 0,
		         "purge --dry-run: %s", out);
		free(out);
	}
}

/* The newest "audit.head" line in the daemon's log: "N:HEX" in anchor, its
 * id and its when=; false when there is none. */
static bool last_head(char anchor[96], long long *id, char when[16])
{
	char *log = hx_read_file(h.daemon_log, NULL), *last = NULL;
	for (char *p = log; p && (p = strstr(p, "event=audit.head ")); p++)
		last = p;
	char hash[65] = "";
	bool found = last &&
	             sscanf(last, "event=audit.head id=%lld hash=%64[0-9a-f] when=%15s", id, hash,
	                    when) == 3 &&
	             strlen(hash) == 64;
	if (found)
		snprintf(anchor, 96, "%lld:%s", *id, hash);
	free(log);
	return found;
}

static long long sql_int(const char *sql)
{
	sqlite3 *db;
	HX_CHECK(sqlite3_open(h.db_path, &db) == SQLITE_OK, "open %s", h.db_path);
	sqlite3_stmt *st;
	HX_CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "prepare %s", sql);
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (strncmp(sql, "DELETE", 6) == 0)
		v = sqlite3_changes(db);
	sqlite3_close(db);
	return v;
}

/* carelinectl audit verify [--anchor A]: exit status, and stdout contains want. */
static void expect_verify(const char *anchor, int want_rc, const char *want)
{
	char *out = NULL;
	int rc = anchor ? hx_ctl(&h, &out, NULL, "audit", "verify", "--anchor", anchor, NULL)
	                : hx_ctl(&h, &out, NULL, "audit", "verify", NULL);
	HX_CHECK(rc == want_rc && out && strstr(out, want),
	         "audit verify --anchor %s: exit %d (want %d), \"%s\" (want \"%s\")",
	         anchor ? anchor : "(none)", rc, want_rc, out, want);
	free(out);
}

int main(void)
{
	hx_watchdog(90);
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config), "[retention]\nclosed_after = 0\n");
	hx_start_daemon(&h, NULL);
	char anchor[96], restarted[96], when[16], want[96];
	long long head = 0, id = 0;
	HX_CHECK(!last_head(anchor, &id, when), "an empty chain logged a head");

	events(8);
	expect_verify(NULL, 0, "audit chain ok: 8 events");
	HX_CHECK(hx_stop_daemon(&h) == 0, "daemon did not stop");
	HX_CHECK(last_head(anchor, &head, when) && strcmp(when, "stop") == 0,
	         "no audit.head line at the stop");
	HX_CHECK(head == 8 && sql_int("SELECT max(id) FROM audit") == 8,
	         "the stop logged head %lld, the table ends at %lld", head,
	         sql_int("SELECT max(id) FROM audit"));

	/* Stopped, the three newest events go. The restart sees a chain that fits. */
	HX_CHECK(sql_int("DELETE FROM audit WHERE id > 5") == 3, "truncate");
	hx_start_daemon(&h, NULL);
	HX_CHECK(last_head(restarted, &id, when) && strcmp(when, "start") == 0 && id == 5,
	         "the restart logged no head, or not 5: %s %s", restarted, when);
	expect_verify(NULL, 0, "audit chain ok: 5 events"); /* the documented limit */
	expect_verify(restarted, 0, "audit chain ok: 5 events");

	/* Against the head logged at the stop: truncated at the first missing id. */
	expect_verify(anchor, 1, "audit chain BROKEN at event 6 (truncated); 5 events walked");
	char path[160];
	snprintf(path, sizeof(path), "/api/v1/audit/verify?anchor=%s", anchor);
	struct hx_resp r = hx_admin(&h, "GET", path, NULL);
	HX_CHECK(r.status == 200 && json_is_false(json_object_get(r.json, "ok")) &&
	             json_integer_value(json_object_get(r.json, "first_broken")) == 6 &&
	             json_integer_value(json_object_get(r.json, "anchor")) == 8 &&
	             json_integer_value(json_object_get(r.json, "checked")) == 5 &&
	             json_is_string(json_object_get(r.json, "reason")) &&
	             strcmp(json_string_value(json_object_get(r.json, "reason")), "truncated") == 0,
	         "GET %s: %ld %s", path, r.status, r.body);
	hx_resp_free(&r);
	r = hx_admin(&h, "GET", "/api/v1/audit/verify", NULL);
	HX_CHECK(r.status == 200 && json_is_true(json_object_get(r.json, "ok")) &&
	             !json_object_get(r.json, "anchor") && !json_object_get(r.json, "reason"),
	         "GET verify without an anchor: %ld %s", r.status, r.body);
	hx_resp_free(&r);

	/* A hash that is not event 5's. */
	char wrong[96];
	snprintf(wrong, sizeof(wrong), "%s", restarted);
	char *last = wrong + strlen(wrong) - 1;
	*last = *last == '0' ? '1' : '0';
	expect_verify(wrong, 1, "audit chain BROKEN at event 5 (anchor)");

	/* New events take the deleted ids: now event 8 is not the one anchored. */
	events(4);
	expect_verify(NULL, 0, "audit chain ok: 9 events");
	snprintf(want, sizeof(want), "audit chain BROKEN at event %lld (anchor)", head);
	expect_verify(anchor, 1, want);

	/* Malformed anchors: a 400 from the API, usage from carelinectl. */
	const char *bad[] = {"8",
	                     "",
	                     "0:" ZERO_HASH,
	                     "-8:" ZERO_HASH,
	                     "x:" ZERO_HASH,
	                     "8:abc",
	                     "8:" ZERO_HASH "00",
	                     "8:" ZERO_HASH "zz",
	                     "8;" ZERO_HASH,
	                     "99999999999999999999:" ZERO_HASH};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/audit/verify?anchor=%s", bad[i]);
		r = hx_admin(&h, "GET", path, NULL);
		hx_check_error(&r, 400, "invalid_anchor", bad[i]);
		hx_resp_free(&r);
		char *out = NULL;
		HX_CHECK(hx_ctl(&h, &out, NULL, "audit", "verify", "--anchor", bad[i], NULL) == 2,
		         "carelinectl took the anchor \"%s\": %s", bad[i], out);
		free(out);
	}

	hx_stop(&h);
	printf("25-audit-anchor: ok\n");
	return 0;
}
