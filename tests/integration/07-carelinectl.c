/*
 * tests/integration/07-carelinectl.c: the admin tool ($CARELINECTL_BIN)
 * against a running daemon over --socket: status, report --text, tickets,
 * show, ack/take/resolve --as, oncall with --at in Copenhagen time, --json.
 * Checks exit codes and what is printed; an illegal action exits non-zero
 * and shows the conflict (code and who holds the ticket).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"

static struct hx h = {.ctl_echo = true};
static char *out, *err;

/* carelinectl --socket PATH args... (NULL-terminated), printed; what it
 * printed stays in out and err until the next call. */
static int ctl(const char *first, ...) __attribute__((sentinel));
static int ctl(const char *first, ...)
{
	free(out);
	free(err);
	va_list ap;
	va_start(ap, first);
	int rc = hx_ctlv(&h, &out, &err, first, ap);
	va_end(ap);
	return rc;
}

int main(void)
{
	hx_watchdog(60);
	int64_t t_start = hx_now_ms();
	hx_start_broker(&h);
	snprintf(h.extra_config, sizeof(h.extra_config),
	         "[policy slow]\nstep = primary 60\nfinal = backup 60\n"
	         "[team opsoegende]\npolicy = slow\n");
	hx_start_daemon(&h, NULL);

	HX_CHECK(ctl("status", NULL) == 0, "status");
	HX_CHECK(strstr(out, "ready") && strstr(out, "database ok") &&
	             strstr(out, "broker connected"),
	         "status output");

	HX_CHECK(ctl("report", "--text", "Har ikke set manden i nr. 14 i to uger", NULL) == 0,
	         "report");
	char ref[16] = "";
	HX_CHECK(sscanf(out, "%15s", ref) == 1 && strlen(ref) >= 4, "report printed no ref");
	HX_CHECK(strstr(out, "P1") && strstr(out, ref), "report output");
	json_t *t = hx_ticket(&h, ref);
	HX_CHECK(strcmp(json_string_value(json_object_get(t, "state")), "notifying") == 0);
	json_decref(t);

	HX_CHECK(ctl("tickets", NULL) == 0, "tickets");
	HX_CHECK(strstr(out, "REF") && strstr(out, ref) && strstr(out, "notifying"),
	         "tickets output");

	HX_CHECK(ctl("show", ref, NULL) == 0, "show");
	HX_CHECK(strstr(out, ref) && strstr(out, "notifying") && strstr(out, "create") &&
	             strstr(out, "Har ikke set manden"),
	         "show output");

	HX_CHECK(ctl("ack", ref, "--as", "anna", NULL) == 0, "ack");
	HX_CHECK(strstr(out, ref) && strstr(out, "acknowledged"), "ack output");
	HX_CHECK(ctl("ack", ref, "--as", "anna", NULL) == 0, "ack again");
	HX_CHECK(strstr(out, "already so"), "a repeated ack says so");
	HX_CHECK(ctl("ack", ref, "--as", "bo", NULL) == 1, "bo acks anna's ticket");
	HX_CHECK(strstr(err, "409") && strstr(err, "already_acknowledged") && strstr(err, "anna"),
	         "conflict shown");

	HX_CHECK(ctl("take", ref, "--as", "anna", NULL) == 0, "take");
	HX_CHECK(strstr(out, "taken"), "take output");
	HX_CHECK(ctl("take", ref, "--as", "bo", NULL) == 1, "bo takes anna's ticket");
	HX_CHECK(strstr(err, "409") && strstr(err, "already_taken") && strstr(err, "anna"),
	         "conflict shown");

	HX_CHECK(ctl("resolve", ref, "--as", "anna", "--reason", "bored", NULL) == 1,
	         "invalid reason");
	HX_CHECK(strstr(err, "400") && strstr(err, "invalid_reason"), "invalid reason shown");
	HX_CHECK(ctl("resolve", ref, "--as", "anna", "--reason", "handed_over:home_care", NULL) ==
	             0,
	         "resolve");
	HX_CHECK(strstr(out, "closed"), "resolve output");
	HX_CHECK(ctl("ack", ref, "--as", "anna", NULL) == 1, "ack a closed ticket");
	HX_CHECK(strstr(err, "409") && strstr(err, "closed"), "closed shown");

	HX_CHECK(ctl("--json", "show", ref, NULL) == 0, "show --json");
	json_t *j = json_loads(out, 0, NULL);
	HX_CHECK(j, "show --json printed no JSON");
	HX_CHECK(strcmp(json_string_value(json_object_get(j, "state")), "closed") == 0);
	HX_CHECK(strcmp(json_string_value(json_object_get(j, "closed_reason")),
	                "handed_over:home_care") == 0);
	HX_CHECK(strcmp(json_string_value(json_object_get(j, "taken_by")), "anna") == 0);
	HX_CHECK(hx_ticket_has_event(j, "resolve") && hx_ticket_has_event(j, "take"));
	json_decref(j);

	HX_CHECK(ctl("tickets", NULL) == 0 && !strstr(out, ref), "closed ticket listed as open");
	HX_CHECK(ctl("tickets", "--all", NULL) == 0 && strstr(out, ref) && strstr(out, "closed"),
	         "tickets --all");

	/* 2026-12-24 is a Thursday; the week from Monday 2026-12-21 08:00 is the
	 * 50th after the anchor week (2026-01-05), so rotation[0] = anna. */
	HX_CHECK(ctl("oncall", "opsoegende", "--at", "2026-12-24 22:00", NULL) == 0, "oncall");
	HX_CHECK(strstr(out, "2026-12-24 22:00") && strstr(out, "primary anna") &&
	             strstr(out, "back-up carl"),
	         "oncall output");
	HX_CHECK(ctl("--json", "oncall", "opsoegende", "--at", "2026-12-24 22:00", NULL) == 0);
	j = json_loads(out, 0, NULL);
	HX_CHECK(j && strcmp(json_string_value(json_object_get(j, "primary")), "anna") == 0);
	HX_CHECK(strcmp(json_string_value(json_object_get(j, "at")), "2026-12-24T21:00:00Z") == 0,
	         "22:00 in Copenhagen is 21:00 UTC in winter: %s",
	         json_string_value(json_object_get(j, "at")));
	json_decref(j);
	/* A week later it is bo. */
	HX_CHECK(ctl("oncall", "opsoegende", "--at", "2026-12-31 22:00", NULL) == 0);
	HX_CHECK(strstr(out, "primary bo"), "oncall a week later");

	HX_CHECK(ctl("oncall", "nosuchteam", NULL) == 1, "unknown team");
	HX_CHECK(strstr(err, "404"), "unknown team shown");
	HX_CHECK(ctl("show", "ZZZZZ", NULL) == 1, "show unknown");
	HX_CHECK(strstr(err, "404") && strstr(err, "unknown_ticket"), "unknown ticket shown");
	HX_CHECK(ctl("ack", ref, NULL) == 2, "ack without --as");
	HX_CHECK(ctl("frobnicate", NULL) == 2, "unknown command");

	/* Without a daemon: exit 3, not a crash. */
	int st = hx_stop_daemon(&h);
	HX_CHECK(st == 0, "careline exit status %d on SIGTERM", st);
	HX_CHECK(ctl("status", NULL) == 3, "status without a daemon");

	free(out);
	free(err);
	out = err = NULL;
	hx_stop(&h);
	printf("07-carelinectl: ok (%lld ms)\n", (long long)(hx_now_ms() - t_start));
	return 0;
}
