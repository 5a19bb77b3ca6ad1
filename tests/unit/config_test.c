/*
 * tests/unit/config_test.c: core/config.c: the embedded default
 * (config/careline.ini) loads with its areas, team, policy, devices and
 * tokens; tokens are found by secret; a file loads like a string; and every
 * kind of mistake is refused with a message naming its line.
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

#include "careline/config.h"
#include "careline/tz.h"

#define SEC INT64_C(1000)

static void test_config_default_loads(void **state)
{
	struct cl_config *cfg = NULL;
	char err[256] = "";
	assert_int_equal(cl_config_load(NULL, &cfg, err, sizeof(err)), CL_OK);
	assert_string_equal(err, "");
	assert_non_null(cfg);

	assert_string_equal(cfg->database, "var/careline.db");
	assert_string_equal(cfg->key_file, "var/careline.key");
	assert_string_equal(cfg->lang, "da");
	assert_string_equal(cfg->http_listen, "127.0.0.1:8080");
	assert_string_equal(cfg->admin_socket, "var/careline.sock");
	assert_int_equal(cfg->http_max_body, 65536);
	assert_true(cfg->mqtt_port > 0 && cfg->mqtt_port < 65536); /* follows the dev broker */
	assert_string_equal(cfg->mqtt_client_id, "careline-gateway");
	assert_int_equal(cfg->mqtt_keepalive_s, 30);
	assert_int_equal(cfg->outbox_retry_base_ms, 1 * SEC);
	assert_int_equal(cfg->outbox_retry_cap_ms, 300 * SEC);
	assert_int_equal(cfg->alert_expiry_s, 3600);
	assert_non_null(cfg->rules);
	assert_non_null(cfg->texts);

	/* Areas route to the one team. */
	assert_int_equal(cfg->n_areas, 2);
	const struct cl_area *vest = cl_config_area(cfg, "vest");
	const struct cl_area *centrum = cl_config_area(cfg, "centrum");
	assert_non_null(vest);
	assert_non_null(centrum);
	assert_null(cl_config_area(cfg, "nord"));
	assert_ptr_equal(cfg->default_area, centrum);
	assert_string_equal(vest->name, "Vest");
	assert_int_equal(vest->n_postcodes, 4);
	assert_string_equal(vest->postcodes[0], "8210");
	assert_string_equal(vest->postcodes[3], "8381");
	assert_int_equal(vest->n_estates, 2);
	assert_string_equal(vest->estates[0], "gellerupparken");
	assert_string_equal(vest->estates[1], "toveshoej");
	assert_int_equal(centrum->n_postcodes, 2);
	assert_string_equal(centrum->postcodes[1], "8100");
	assert_int_equal(centrum->n_estates, 0);

	const struct cl_team *team = cl_config_team(cfg, "opsoegende");
	assert_non_null(team);
	assert_int_equal(cfg->n_teams, 1);
	assert_ptr_equal(vest->team, team);
	assert_ptr_equal(centrum->team, team);
	/* Layers, highest priority first: the after-hours "vagt", then the
	 * short form's weekly rotation (Monday 08:00 in the week of the
	 * anchor) and fixed back-up. */
	assert_int_equal(team->n_layers, 3);
	const struct cl_layer *vagt = &team->layers[0], *rot = &team->layers[1],
	                      *bak = &team->layers[2];
	assert_string_equal(vagt->name, "vagt");
	assert_int_equal(vagt->priority, 10);
	assert_int_equal(vagt->duty, CL_DUTY_PRIMARY);
	assert_true(vagt->restricted);
	assert_int_equal(vagt->shift_min, 7 * 1440);
	assert_string_equal(rot->name, "rotation");
	assert_int_equal(rot->duty, CL_DUTY_PRIMARY);
	assert_int_equal(rot->n_members, 2);
	assert_string_equal(rot->members[0], "anna");
	assert_string_equal(rot->members[1], "bo");
	assert_int_equal(rot->start.year, 2026);
	assert_int_equal(rot->start.month, 1);
	assert_int_equal(rot->start.day, 5);
	assert_int_equal(rot->start.hour, 8);
	assert_false(rot->restricted);
	assert_string_equal(bak->name, "backup");
	assert_int_equal(bak->duty, CL_DUTY_BACKUP);
	assert_string_equal(bak->members[0], "carl");
	assert_string_equal(team->lead, "dorthe");
	assert_true(team->has_hours);
	assert_non_null(team->after_hours);
	assert_string_equal(team->after_hours->id, "vagt");
	assert_string_equal(team->policy_acute->id, "acute");
	assert_true(cfg->holidays.grundlovsdag);

	/* The policy: primary 120 s, primary 300 s, once more, then back-up. */
	assert_int_equal(cfg->n_policies, 3);
	const struct cl_policy *p = team->policy;
	assert_non_null(p);
	assert_ptr_not_equal(team->policy_acute, p);
	assert_string_equal(p->id, "standard");
	assert_int_equal(p->n_steps, 2);
	assert_int_equal(p->steps[0].n_targets, 1);
	assert_int_equal(p->steps[0].targets[0].kind, CL_TARGET_PRIMARY);
	assert_int_equal(p->steps[0].delay_ms, 120 * SEC);
	assert_int_equal(p->steps[1].targets[0].kind, CL_TARGET_PRIMARY);
	assert_int_equal(p->steps[1].delay_ms, 300 * SEC);
	assert_int_equal(p->repeat, 1);
	assert_int_equal(p->final.n_targets, 1);
	assert_int_equal(p->final.targets[0].kind, CL_TARGET_BACKUP);
	assert_int_equal(p->final.delay_ms, 300 * SEC);
	assert_int_equal(p->ack_timeout_ms[CL_P0], 300 * SEC);
	assert_int_equal(p->ack_timeout_ms[CL_P1], 1800 * SEC);
	assert_int_equal(p->ack_timeout_ms[CL_P2], 14400 * SEC);
	assert_int_equal(p->ack_timeout_ms[CL_P3], 86400 * SEC);

	/* People and their devices. */
	assert_int_equal(cfg->n_persons, 6);
	const struct cl_person *jens = cl_config_person(cfg, "jens");
	assert_non_null(jens);
	assert_string_equal(jens->role, "caretaker");
	assert_string_equal(jens->estate, "gellerupparken");
	assert_string_equal(cl_config_person(cfg, "dorthe")->role, "lead");
	assert_string_equal(cl_config_person(cfg, "carl")->role, "worker");
	assert_null(cl_config_person(cfg, "eve"));
	assert_int_equal(cfg->n_devices, 6);
	const struct cl_device *d = cl_config_device(cfg, "anna-phone");
	assert_non_null(d);
	assert_string_equal(d->person, "anna");
	assert_string_equal(cl_config_device(cfg, "jens-handheld")->person, "jens");
	assert_null(cl_config_device(cfg, "eve-phone"));
	const struct cl_device *devs[4];
	assert_int_equal(cl_config_person_devices(cfg, "carl", devs, 4), 1);
	assert_string_equal(devs[0]->id, "carl-phone");
	assert_int_equal(cl_config_person_devices(cfg, "eve", devs, 4), 0);

	assert_int_equal(cfg->n_tokens, 4);
	const struct cl_token *mon = cl_config_token(cfg, "demo-monitor-token");
	assert_non_null(mon);
	assert_int_equal(mon->role, CL_ROLE_MONITOR);
	cl_config_free(cfg);
}

static void test_config_token_by_secret(void **state)
{
	struct cl_config *cfg = NULL;
	char err[256];
	assert_int_equal(cl_config_load(NULL, &cfg, err, sizeof(err)), CL_OK);

	const struct cl_token *t = cl_config_token(cfg, "demo-partner-token");
	assert_non_null(t);
	assert_string_equal(t->name, "demo-partner");
	assert_int_equal(t->role, CL_ROLE_PARTNER);
	t = cl_config_token(cfg, "demo-anna-token");
	assert_non_null(t);
	assert_string_equal(t->name, "demo-anna");
	assert_int_equal(t->role, CL_ROLE_WORKER);
	assert_string_equal(t->person, "anna");
	t = cl_config_token(cfg, "demo-admin-token");
	assert_non_null(t);
	assert_int_equal(t->role, CL_ROLE_ADMIN);
	assert_string_equal(cl_role_name(t->role), "admin");

	/* Near misses are nothing. */
	assert_null(cl_config_token(cfg, "demo-anna-tokeN"));
	assert_null(cl_config_token(cfg, "demo-anna-token "));
	assert_null(cl_config_token(cfg, "demo-anna-toke"));
	assert_null(cl_config_token(cfg, "demo-anna"));
	assert_null(cl_config_token(cfg, ""));
	cl_config_free(cfg);
}

/* A small valid configuration; the error cases below replace one line. */
static const char *const base_lines[] = {
    "[routing]",                 /* 1 */
    "default_area = centrum",    /* 2 */
    "[person anna]",             /* 3 */
    "role = worker",             /* 4 */
    "[person bo]",               /* 5 */
    "role = worker",             /* 6 */
    "[device anna-phone]",       /* 7 */
    "person = anna",             /* 8 */
    "[area centrum]",            /* 9 */
    "postcodes = 8000 8100",     /* 10 */
    "team = t1",                 /* 11 */
    "[team t1]",                 /* 12 */
    "rotation = anna bo",        /* 13 */
    "handoff = tue 07:30",       /* 14 */
    "backup = bo",               /* 15 */
    "policy = p1",               /* 16 */
    "[policy p1]",               /* 17 */
    "step = primary,lead 60",    /* 18 */
    "final = backup 120",        /* 19 */
    "[token partner]",           /* 20 */
    "secret = abcdefghijklmnop", /* 21 */
    "[token worker]",            /* 22 */
    "secret = qrstuvwxyz0123",   /* 23 */
    "role = worker",             /* 24 */
    "person = anna",             /* 25 */
};
#define BASE_N (sizeof(base_lines) / sizeof(base_lines[0]))

/* The base with line `line` (1-based) replaced by `text`; 0 keeps it whole.
 * The text lives in a static buffer until the next call. */
static char *config_with(size_t line, const char *text)
{
	static char s[4096];
	s[0] = '\0';
	for (size_t i = 0; i < BASE_N; i++) {
		strcat(s, i + 1 == line ? text : base_lines[i]);
		strcat(s, "\n");
	}
	return s;
}

static void test_config_small_config_loads(void **state)
{
	char *ini = config_with(0, NULL);
	struct cl_config *cfg = NULL;
	char err[256] = "";
	assert_int_equal(cl_config_load_string(ini, &cfg, err, sizeof(err)), CL_OK);
	const struct cl_team *t = cl_config_team(cfg, "t1");
	/* handoff tue 07:30 in the anchor's week. */
	assert_int_equal(t->layers[0].start.hour, 7);
	assert_int_equal(t->layers[0].start.minute, 30);
	assert_int_equal(
	    cl_weekday(cl_days_from_civil(t->layers[0].start.year, t->layers[0].start.month,
	                                  t->layers[0].start.day)),
	    1);
	assert_string_equal(t->lead, "");
	const struct cl_policy *p = t->policy;
	assert_int_equal(p->steps[0].n_targets, 2);
	assert_int_equal(p->steps[0].targets[1].kind, CL_TARGET_LEAD);
	assert_int_equal(p->repeat, 0);
	/* Unset ack timeouts take the defaults. */
	assert_int_equal(p->ack_timeout_ms[CL_P0], 300 * SEC);
	assert_int_equal(p->ack_timeout_ms[CL_P3], 86400 * SEC);
	assert_ptr_equal(cl_config_area(cfg, "centrum")->team, t);
	const struct cl_token *tok = cl_config_token(cfg, "qrstuvwxyz0123");
	assert_non_null(tok);
	assert_string_equal(tok->person, "anna");
	/* Settings not in the file keep their defaults. */
	assert_int_equal(cfg->mqtt_port, 1883);
	assert_string_equal(cfg->database, "var/careline.db");
	cl_config_free(cfg);
}

static void expect_error(size_t line, const char *text, const char *want_line, const char *want_msg)
{
	char *ini = config_with(line, text);
	struct cl_config *cfg = (struct cl_config *)&cfg; /* must be reset */
	char err[256] = "";
	enum cl_err rc = cl_config_load_string(ini, &cfg, err, sizeof(err));
	if (rc != CL_ERR_CONFIG || strncmp(err, want_line, strlen(want_line)) != 0 ||
	    !strstr(err, want_msg))
		print_error("line %zu '%s': got rc=%d err='%s', want '%s...%s'\n", line, text,
		            (int)rc, err, want_line, want_msg);
	assert_int_equal(rc, CL_ERR_CONFIG);
	assert_null(cfg);
	assert_int_equal(strncmp(err, want_line, strlen(want_line)), 0);
	assert_non_null(strstr(err, want_msg));
}

static void test_config_unknown_key_names_line(void **state)
{
	expect_error(4, "colour = blue", "line 4: ", "unknown key 'colour'");
	expect_error(24, "rolle = worker", "line 24: ", "unknown key 'rolle'");
	expect_error(2, "default_aera = centrum", "line 2: ", "unknown key 'default_aera'");
}

static void test_config_unknown_section_names_line(void **state)
{
	expect_error(5, "[persn bo]", "line 6: ", "unknown section [persn bo]");
	expect_error(1, "[routeing]", "line 2: ", "unknown section [routeing]");
}

static void test_config_syntax_error_names_line(void **state)
{
	expect_error(3, "[person anna", "line 3: ", "syntax error");
	expect_error(10, "postcodes 8000", "line 10: ", "syntax error");
}

static void test_config_area_with_unknown_team(void **state)
{
	expect_error(11, "team = t2", "line 11: ", "area centrum: unknown team 't2'");
}

static void test_config_team_with_unknown_policy(void **state)
{
	expect_error(16, "policy = nope", "line 16: ", "team t1: unknown policy 'nope'");
	/* No policy key at all: the team's section is named. */
	expect_error(16, "; no policy", "line 12: ", "team t1: unknown policy ''");
}

static void test_config_team_with_empty_rotation(void **state)
{
	expect_error(13, "rotation =", "line 13: ", "team t1: nobody is ever primary");
	/* No rotation key at all: the team's section is named. */
	expect_error(13, "; no rotation", "line 12: ", "team t1: nobody is ever primary");
}

static void test_config_team_with_unknown_people(void **state)
{
	expect_error(13, "rotation = anna zed", "line 13: ", "unknown person 'zed'");
	expect_error(15, "backup = zed", "line 15: ", "unknown person 'zed'");
}

static void test_config_device_with_unknown_person(void **state)
{
	expect_error(8, "person = nobody",
	             "line 8: ", "device anna-phone: unknown person 'nobody'");
	expect_error(8, "person =", "line 8: ", "device anna-phone: person is not an id");
}

static void test_config_bad_handoff(void **state)
{
	expect_error(14, "handoff = funday 8", "line 14: ", "handoff must look like 'mon 08:00'");
	expect_error(14, "handoff = mon 25:00", "line 14: ", "handoff");
	expect_error(14, "handoff = mon", "line 14: ", "handoff");
}

static void test_config_short_token_secret(void **state)
{
	expect_error(21, "secret = short", "line 21: ", "secret shorter than 12 characters");
	expect_error(21, "secret = 12345678901", "line 21: ", "shorter than 12");
	expect_error(21, "role = partner", "line 20: ", "token partner has no secret");
	expect_error(25, "; no person", "line 22: ", "worker token worker needs a person");
}

static void test_config_policy_step_with_bad_target(void **state)
{
	expect_error(18, "step = manager 60", "line 18: ", "policy p1: step must be");
	expect_error(18, "step = primary", "line 18: ", "policy p1: step must be");
	expect_error(18, "step = primary soon", "line 18: ", "policy p1: step must be");
	expect_error(18, "step = person: 60", "line 18: ", "policy p1: step must be");
	expect_error(19, "final = backup,boss 60", "line 19: ", "policy p1: final must be");
	/* A named person who is not configured. */
	expect_error(18, "step = person:nobody 60", "line 18: ", "unknown person 'nobody'");
}

static void test_config_unknown_default_area(void **state)
{
	expect_error(2, "default_area = nord", "line 2: ", "unknown default_area 'nord'");
}

static void test_config_bad_values(void **state)
{
	expect_error(10, "postcodes = 800", "line 10: ", "postcode '800' is not 4 digits");
	expect_error(24, "role = boss",
	             "line 24: ", "role must be partner, worker, admin or monitor");
	expect_error(1, "[http]\nmax_body = 12", "line 2: ", "max_body");
}

/* The base plus extra lines appended (new sections after the base). */
static char *config_plus(const char *extra)
{
	static char s[8192];
	snprintf(s, sizeof(s), "%s%s\n", config_with(0, NULL), extra);
	return s;
}

static void test_config_layers_hours_holidays_and_steps(void **state)
{
	const char *extra = "[person erik]\n"
	                    "role = lead\n"
	                    "[team t1]\n"
	                    "service_hours = mon-fri 08:00-16:00\n"
	                    "after_hours = night\n"
	                    "[layer t1/evening]\n"
	                    "duty = primary\n"
	                    "priority = 5\n"
	                    "members = erik bo\n"
	                    "shift = 12h\n"
	                    "start = 2026-03-02 20:00\n"
	                    "restrict = mon-fri 16:00-08:00\n"
	                    "[layer t1/weekend]\n"
	                    "duty = backup\n"
	                    "priority = 3\n"
	                    "members = anna\n"
	                    "shift = 2d\n"
	                    "restrict = sat-sun 00:00-24:00\n"
	                    "[policy night]\n"
	                    "step = primary 60 via=sms\n"
	                    "step = primary,role:lead 60 via=mqtt,sms\n"
	                    "final = backup 60\n"
	                    "[holidays]\n"
	                    "grundlovsdag = no\n"
	                    "closed = 2026-12-29 2026-12-28\n";
	struct cl_config *cfg = NULL;
	char err[256] = "";
	assert_int_equal(cl_config_load_string(config_plus(extra), &cfg, err, sizeof(err)), CL_OK);
	const struct cl_team *t = cl_config_team(cfg, "t1");
	/* evening (5), weekend (3), then the short form's rotation and backup (0). */
	assert_int_equal(t->n_layers, 4);
	assert_string_equal(t->layers[0].name, "evening");
	assert_int_equal(t->layers[0].shift_min, 12 * 60);
	assert_int_equal(t->layers[0].start.hour, 20);
	assert_true(t->layers[0].restricted);
	assert_false(t->layers[0].restrict_to.skip_holidays);
	assert_string_equal(t->layers[1].name, "weekend");
	assert_int_equal(t->layers[1].duty, CL_DUTY_BACKUP);
	assert_int_equal(t->layers[1].shift_min, 2 * 1440);
	assert_string_equal(t->layers[2].name, "rotation");
	assert_string_equal(t->layers[3].name, "backup");
	assert_true(t->has_hours);
	assert_string_equal(t->after_hours->id, "night");
	const struct cl_policy *night = t->after_hours;
	assert_int_equal(night->steps[0].via, CL_VIA_SMS);
	assert_int_equal(night->steps[1].via, CL_VIA_MQTT | CL_VIA_SMS);
	assert_int_equal(night->steps[1].targets[1].kind, CL_TARGET_ROLE);
	assert_string_equal(night->steps[1].targets[1].person, "lead");
	assert_int_equal(night->final.via, 0);
	assert_false(cfg->holidays.grundlovsdag);
	assert_true(cfg->holidays.christmas_eve);
	assert_int_equal(cfg->holidays.n_extra, 2);
	assert_true(cfg->holidays.extra[0] < cfg->holidays.extra[1]); /* sorted */
	cl_config_free(cfg);
}

static void expect_extra_error(const char *extra, const char *want_msg)
{
	struct cl_config *cfg = (struct cl_config *)&cfg;
	char err[256] = "";
	enum cl_err rc = cl_config_load_string(config_plus(extra), &cfg, err, sizeof(err));
	if (rc != CL_ERR_CONFIG || !strstr(err, want_msg))
		print_error("'%s': got rc=%d err='%s', want '%s'\n", extra, (int)rc, err, want_msg);
	assert_int_equal(rc, CL_ERR_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(err, want_msg));
	assert_int_equal(strncmp(err, "line ", 5), 0);
}

static void test_config_roster_errors(void **state)
{
	/* Service hours without anyone for acute reports outside them. */
	expect_extra_error("[team t1]\nservice_hours = mon-fri 08:00-16:00\n",
	                   "service_hours need an after_hours policy");
	expect_extra_error("[team t1]\nservice_hours = weekdays 8-16\n", "service_hours like");
	expect_extra_error("[team t1]\nafter_hours = nope\n", "unknown after_hours 'nope'");
	expect_extra_error("[layer t9/x]\nduty = primary\n", "team t9 must come first");
	expect_extra_error("[layer t1]\nduty = primary\n", "name it TEAM/LAYER");
	expect_extra_error("[layer t1/x]\nduty = chief\n", "duty is primary or backup");
	expect_extra_error("[layer t1/x]\nshift = 30m\n", "shift like");
	expect_extra_error("[layer t1/x]\nshift = forever\n", "shift like");
	expect_extra_error("[layer t1/x]\nstart = 2026-02-30 08:00\n", "start like");
	expect_extra_error("[layer t1/x]\nrestrict = evenings\n", "restrict like");
	expect_extra_error("[layer t1/x]\ncolour = red\n", "unknown key 'colour'");
	expect_extra_error("[layer t1/x]\nmembers = anna zed\n", "unknown person 'zed'");
	expect_extra_error("[holidays]\nclosed = christmas\n", "closed: dates like");
	expect_extra_error("[holidays]\ngrundlovsdag = maybe\n", "yes or no");
	expect_extra_error("[policy p2]\nstep = primary 60 via=pigeon\n", "step must be");
	expect_extra_error("[policy p2]\nstep = role: 60\n", "step must be");
}

static void test_config_load_file(void **state)
{
	char path[] = "/tmp/careline-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char *ini = config_with(0, NULL);
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	struct cl_config *cfg = NULL;
	char err[256] = "";
	assert_int_equal(cl_config_load(path, &cfg, err, sizeof(err)), CL_OK);
	assert_non_null(cl_config_team(cfg, "t1"));
	cl_config_free(cfg);
	unlink(path);

	cfg = NULL;
	assert_int_equal(cl_config_load(path, &cfg, err, sizeof(err)), CL_ERR_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(err, path));
	cl_config_free(NULL);

	/* A directory is not a file (found by fuzz_config: it once asked malloc
	 * for LONG_MAX bytes), as configuration or as rules_file. */
	assert_int_equal(cl_config_load("/tmp", &cfg, err, sizeof(err)), CL_ERR_CONFIG);
	assert_null(cfg);
	char with_rules[8192];
	snprintf(with_rules, sizeof(with_rules), "%s[careline]\nrules_file = /tmp\n",
	         config_with(0, NULL));
	assert_int_equal(cl_config_load_string(with_rules, &cfg, err, sizeof(err)), CL_ERR_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(err, "rules_file /tmp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_default_loads),
	    cmocka_unit_test(test_config_token_by_secret),
	    cmocka_unit_test(test_config_small_config_loads),
	    cmocka_unit_test(test_config_unknown_key_names_line),
	    cmocka_unit_test(test_config_unknown_section_names_line),
	    cmocka_unit_test(test_config_syntax_error_names_line),
	    cmocka_unit_test(test_config_area_with_unknown_team),
	    cmocka_unit_test(test_config_team_with_unknown_policy),
	    cmocka_unit_test(test_config_team_with_empty_rotation),
	    cmocka_unit_test(test_config_team_with_unknown_people),
	    cmocka_unit_test(test_config_device_with_unknown_person),
	    cmocka_unit_test(test_config_bad_handoff),
	    cmocka_unit_test(test_config_short_token_secret),
	    cmocka_unit_test(test_config_policy_step_with_bad_target),
	    cmocka_unit_test(test_config_unknown_default_area),
	    cmocka_unit_test(test_config_bad_values),
	    cmocka_unit_test(test_config_layers_hours_holidays_and_steps),
	    cmocka_unit_test(test_config_roster_errors),
	    cmocka_unit_test(test_config_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
