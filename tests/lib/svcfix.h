/*
 * tests/lib/svcfix.h: the service on a fake clock for cmocka unit tests: a
 * configuration from text, a fixed crypto key, a store in a fresh temporary
 * directory, the fake clock, cl_service_new/free and, if asked, an "mqtt"
 * sender that confirms every send at once; a small team's configuration and
 * answer callbacks for tests that need nothing special. It owns the temporary
 * directory and what it opened there; the test keeps its own senders, reports
 * and checks. Failures fail the cmocka test (assert_*, fail_msg).
 *
 * Use: static struct sf fx;
 *      setup:    sf_setup(&fx, "audit", sf_team_ini, T0); [fx.confirm_mqtt = true;]
 *                sf_start(&fx);
 *      a test:   ... fx.svc, fx.store, &fx.clock, fx.db ... sf_restart_at(&fx, t);
 *      teardown: sf_teardown(&fx);
 */
#ifndef CARELINE_TEST_SVCFIX_H
#define CARELINE_TEST_SVCFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/clock.h"
#include "careline/service.h"

struct cl_config;
struct cl_crypto;
struct cl_store;

struct sf {
	char dir[64];             /* /tmp/careline-<name>-XXXXXX */
	char db[96];              /* dir/careline.db */
	struct cl_config *cfg;    /* from the ini text given to sf_setup */
	struct cl_crypto *crypto; /* one fixed key, id 1 */
	struct cl_store *store;   /* NULL until sf_start, and after sf_stop */
	struct cl_clock clock;    /* fake */
	struct cl_service *svc;   /* NULL until sf_start, and after sf_stop */
	bool confirm_mqtt;        /* sf_start adds an "mqtt" sender that confirms each
	                             send at once (set after sf_setup) */
};

/* A small team for tests that need no special one: workers anna, bo and carl
 * with devices anna-phone, bo-phone and carl-phone; area "centrum" (postcode
 * 8000, the default area) served by team t1 (rotation anna bo, handing over
 * Mondays 08:00 from 2026-01-05, so bo is on duty on 2026-03-11; back-up
 * carl) on policy "slow" (the primary for an hour, then the back-up for an
 * hour); lang da; outbox retry_base 1 s, retry_cap 8 s. A test appends
 * sections of its own after it (e.g. [retention]). */
extern const char sf_team_ini[];

/* Zero f, load the configuration from ini (a parse error fails the test with
 * the parser's message), make the key and the directory
 * /tmp/careline-<name>-XXXXXX, and set the fake clock to now. Opens nothing. */
void sf_setup(struct sf *f, const char *name, const char *ini, int64_t now);
/* Open the store (unless it is open) and make the service; with
 * f->confirm_mqtt, add the confirming sender. */
void sf_start(struct sf *f);
/* careline stops: free the service and close the store. */
void sf_stop(struct sf *f);
/* careline restarts at t over the same store, left open: free the service,
 * set the clock to t, sf_start. */
void sf_restart_at(struct sf *f, int64_t t);
/* Free what is still open, the key and the configuration; remove the
 * directory and every file in it. */
void sf_teardown(struct sf *f);

/* Answer callbacks for cl_service_submit_report and _action: copy the answer
 * into ctx (a struct cl_report_answer *, a struct cl_action_answer *). */
void sf_copy_report_answer(void *ctx, const struct cl_report_answer *a);
void sf_copy_action_answer(void *ctx, const struct cl_action_answer *a);
/* actor does kind to ticket ref (reason and note may be NULL), now, in one
 * flush; returns the answer's error. */
enum cl_err sf_act(struct sf *f, enum cl_action_kind kind, const char *ref, const char *actor,
                   const char *reason, const char *note);

#endif
