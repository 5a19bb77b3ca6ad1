/*
 * tests/lib/svcfix.c: the service on a fake clock for cmocka unit tests (see
 * svcfix.h): setup, start, stop, restart and teardown of one fixture, the
 * confirming "mqtt" sender, the small team's configuration, answer callbacks
 * and sf_act. Reaches the database only through cl_store_* and cl_service_*;
 * the temporary directory is its own and removed whole.
 */
#include "svcfix.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "careline/config.h"
#include "careline/crypto.h"
#include "careline/service.h"
#include "careline/store.h"

const char sf_team_ini[] = "[careline]\n"
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
                           "[device anna-phone]\n"
                           "person = anna\n"
                           "[device bo-phone]\n"
                           "person = bo\n"
                           "[device carl-phone]\n"
                           "person = carl\n"
                           "[area centrum]\n"
                           "name = Centrum\n"
                           "postcodes = 8000\n"
                           "team = t1\n"
                           "[team t1]\n"
                           "rotation = anna bo\n"
                           "handoff = mon 08:00\n"
                           "anchor = 2026-01-05\n"
                           "backup = carl\n"
                           "policy = slow\n"
                           "[policy slow]\n"
                           "step = primary 3600\n"
                           "final = backup 3600\n";

static enum cl_err confirm_send(void *ctx, const struct cl_outgoing *out)
{
	struct sf *f = ctx;
	cl_service_send_result(f->svc, out->n->id, true, NULL);
	return CL_OK;
}

void sf_setup(struct sf *f, const char *name, const char *ini, int64_t now)
{
	memset(f, 0, sizeof(*f));
	char err[256] = "";
	if (cl_config_load_string(ini, &f->cfg, err, sizeof(err)) != CL_OK)
		fail_msg("config: %s", err);
	unsigned char key[CL_CRYPTO_KEY_BYTES];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(cl_crypto_from_key(key, 1, &f->crypto), CL_OK);
	int n = snprintf(f->dir, sizeof(f->dir), "/tmp/careline-%s-XXXXXX", name);
	assert_true(n > 0 && (size_t)n < sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/careline.db", f->dir);
	cl_clock_fake_init(&f->clock, now);
}

void sf_start(struct sf *f)
{
	if (!f->store)
		assert_int_equal(cl_store_open(f->db, &f->store), CL_OK);
	assert_int_equal(cl_service_new(f->cfg, f->store, f->crypto, &f->clock, &f->svc), CL_OK);
	if (f->confirm_mqtt) {
		struct cl_sender s = {.channel = "mqtt", .send = confirm_send, .ctx = f};
		assert_int_equal(cl_service_add_sender(f->svc, &s), CL_OK);
	}
}

void sf_stop(struct sf *f)
{
	cl_service_free(f->svc);
	f->svc = NULL;
	cl_store_close(f->store);
	f->store = NULL;
}

void sf_restart_at(struct sf *f, int64_t t)
{
	cl_service_free(f->svc);
	f->svc = NULL;
	cl_clock_set(&f->clock, t);
	sf_start(f);
}

void sf_teardown(struct sf *f)
{
	sf_stop(f);
	cl_crypto_free(f->crypto);
	f->crypto = NULL;
	cl_config_free(f->cfg);
	f->cfg = NULL;
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char p[sizeof(f->dir) + 256 + 1];
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
}

void sf_copy_report_answer(void *ctx, const struct cl_report_answer *a)
{
	*(struct cl_report_answer *)ctx = *a;
}

void sf_copy_action_answer(void *ctx, const struct cl_action_answer *a)
{
	*(struct cl_action_answer *)ctx = *a;
}

enum cl_err sf_act(struct sf *f, enum cl_action_kind kind, const char *ref, const char *actor,
                   const char *reason, const char *note)
{
	struct cl_action a;
	memset(&a, 0, sizeof(a));
	a.kind = kind;
	snprintf(a.ref, sizeof(a.ref), "%s", ref);
	snprintf(a.actor, sizeof(a.actor), "%s", actor);
	if (reason)
		snprintf(a.reason, sizeof(a.reason), "%s", reason);
	a.note = note ? strdup(note) : NULL;
	struct cl_action_answer ans = {.err = CL_ERR_INVALID};
	assert_non_null(cl_service_submit_action(f->svc, &a, sf_copy_action_answer, &ans));
	cl_service_flush(f->svc);
	return ans.err;
}
