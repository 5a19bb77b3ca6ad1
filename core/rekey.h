/*
 * core/rekey.h: the service's private side of key rotation (core/rekey.c):
 * the re-encryption's progress kept in struct cl_service, and the three calls
 * the flush makes (due? deadline, one step inside its transaction). Included
 * by service_internal.h.
 */
#ifndef CARELINE_CORE_REKEY_H
#define CARELINE_CORE_REKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "careline/crypto.h"

struct cl_service;

#define REKEY_EVENTS_MAX 8

/* A key event waiting for the audit chain (recorded by the next flush). */
struct rekey_event {
	const char *action; /* "key.rotated", "key.retired" */
	uint32_t id;
	char actor[48];
};

struct rekey_state {
	bool started; /* initialised from the keyring on first use */
	bool active;  /* old keys held: passes run until one moves nothing */
	/* the pass: where it is, what it did */
	unsigned table;
	int64_t after; /* last row id done in table */
	uint64_t moved_pass;
	uint64_t failed_pass;                     /* values no held key opens (left alone) */
	uint32_t failed_keys[CL_CRYPTO_MAX_KEYS]; /* held keys of such values: kept */
	size_t n_failed_keys;
	int64_t pass_started_ms;
	int64_t retry_at_ms; /* after a failed step: not before */
	/* progress */
	uint64_t moved_total; /* since the service started */
	uint64_t moved_run;   /* since the re-encryption (re)started */
	int64_t left; /* values not under the current key (census minus moved); -1 unknown */
	int64_t started_ms;
	int64_t last_log_ms;
	uint64_t moved_since_log;
	/* audit events: the first n_recorded are in the current flush, dropped
	 * once it committed, recorded again if it failed */
	struct rekey_event events[REKEY_EVENTS_MAX];
	size_t n_events, n_recorded;
	uint64_t events_commit; /* svc->metrics.commits when recorded */
};

/* Re-encryption (or an audit event) wants a transaction now. */
bool rekey_due(struct cl_service *svc, int64_t now);
/* When it next does (0: nothing pending): now while moving values. */
int64_t rekey_deadline(struct cl_service *svc, int64_t now);
/* One batch (about 200 values) in its own savepoint of the flush's
 * transaction, after the jobs; retires old keys at the end of a pass that
 * found none. */
void rekey_step(struct cl_service *svc, int64_t now);

#endif
