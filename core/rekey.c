/*
 * core/rekey.c owns key rotation in the running service: the rotation itself
 * (crypto.c writes the keyring), the background re-encryption that moves old
 * values to the current key a batch per loop pass inside the flush's
 * transaction, the retirement of keys no value uses any more, and the status
 * the admin sees. It never touches SQL (store_rekey.c) or key bytes
 * (crypto.c), and logs ids and counts only. Called by service.c's flush and
 * by the admin routes through rekey.h.
 *
 * A pass walks every encrypted column in row-id order. New values are always
 * sealed with the current key, so a pass that starts after the last rotation
 * and moves nothing proves no value needs an old key: only then are the old
 * keys retired. A rotation during a pass starts a new one.
 */
#include "careline/rekey.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "service_internal.h"
#include "store_rekey.h"

#define BATCH_VALUES 200               /* values moved per loop pass */
#define BATCH_ROWS   2000              /* rows looked at per loop pass */
#define SCAN_ROWS    256               /* rows per scan call */
#define BATCH_BYTES  (8 * 1024 * 1024) /* bytes looked at per loop pass */
#define RETRY_MS     1000
#define LOG_EVERY_MS 1000
#define FAILED_LOGS  10 /* values that cannot be moved, logged per pass */

/* --- audit ------------------------------------------------------------------ */

/* Key events reach the audit chain here, inside the flush's transaction: the
 * rotation ("key.rotated", by the admin who asked) and each retirement
 * ("key.retired", by "system"). Detail is the key id only, never key bytes.
 * An error undoes this flush's step and the events are recorded again in the
 * next one; they are dropped only once a flush that recorded them commits. */
static enum cl_err audit_key_event(struct cl_service *svc, int64_t now, const struct rekey_event *e)
{
	char object[32];
	snprintf(object, sizeof(object), "key:%" PRIu32, e->id);
	return audit_record(svc, now, e->actor, e->action, object, 0, NULL);
}

/* Events recorded by a flush are dropped once it committed, and recorded
 * again if it failed. Called outside a flush only (or before its recording). */
static void events_settle(struct cl_service *svc)
{
	struct rekey_state *r = &svc->rekey;
	if (!r->n_recorded)
		return;
	if (svc->metrics.commits != r->events_commit) {
		memmove(r->events, r->events + r->n_recorded,
		        (r->n_events - r->n_recorded) * sizeof(r->events[0]));
		r->n_events -= r->n_recorded;
		r->n_recorded = 0;
	} else if (svc->last_commit_failed) {
		r->n_recorded = 0;
	}
}

static void queue_event(struct cl_service *svc, const char *action, uint32_t id, const char *actor)
{
	struct rekey_state *r = &svc->rekey;
	if (r->n_events == REKEY_EVENTS_MAX) {
		cl_warn("rekey.audit_dropped", "action=%s id=%" PRIu32, action, id);
		return;
	}
	struct rekey_event *e = &r->events[r->n_events++];
	e->action = action;
	e->id = id;
	snprintf(e->actor, sizeof(e->actor), "%s", actor && actor[0] ? actor : "system");
}

static enum cl_err events_record(struct cl_service *svc, int64_t now)
{
	struct rekey_state *r = &svc->rekey;
	enum cl_err err = CL_OK;
	for (size_t i = r->n_recorded; err == CL_OK && i < r->n_events; i++)
		err = audit_key_event(svc, now, &r->events[i]);
	if (err == CL_OK) {
		r->n_recorded = r->n_events;
		r->events_commit = svc->metrics.commits;
	}
	return err;
}

/* --- state ------------------------------------------------------------------- */

static void begin_pass(struct rekey_state *r, int64_t now)
{
	r->table = 0;
	r->after = 0;
	r->moved_pass = 0;
	r->failed_pass = 0;
	r->n_failed_keys = 0;
	r->pass_started_ms = now;
}

struct census_ctx {
	struct cl_key_status *st;
};

static void on_census(void *vctx, uint32_t id, int64_t values)
{
	struct cl_key_status *st = ((struct census_ctx *)vctx)->st;
	if (id != st->current)
		st->pending += values; /* counted even if the list below is full */
	if (st->n_use < CL_REKEY_IDS_MAX)
		st->use[st->n_use++] = (struct cl_key_use){.id = id, .values = values};
}

static int by_id(const void *a, const void *b)
{
	uint32_t x = ((const struct cl_key_use *)a)->id, y = ((const struct cl_key_use *)b)->id;
	return x < y ? -1 : x > y;
}

/* The keyring, and the database's values by key id. */
static enum cl_err status_of(struct cl_service *svc, struct cl_key_status *out)
{
	memset(out, 0, sizeof(*out));
	out->current = cl_crypto_current_key(svc->crypto);
	out->n_held = cl_crypto_keys(svc->crypto, out->held);
	out->master_key_retired = cl_crypto_master_key_retired(svc->crypto);
	struct census_ctx c = {out};
	enum cl_err err = cl_store_rekey_census(svc->store, on_census, &c);
	if (err != CL_OK)
		return err;
	for (size_t i = 0; i < out->n_held; i++) {
		bool found = false;
		for (size_t j = 0; j < out->n_use; j++) {
			if (out->use[j].id == out->held[i]) {
				out->use[j].held = found = true;
				break;
			}
		}
		if (!found && out->n_use < CL_REKEY_IDS_MAX)
			out->use[out->n_use++] =
			    (struct cl_key_use){.id = out->held[i], .held = true};
	}
	qsort(out->use, out->n_use, sizeof(out->use[0]), by_id);
	struct rekey_state *r = &svc->rekey;
	r->left = out->pending;
	out->reencrypting = r->active;
	out->moved = r->moved_total;
	return CL_OK;
}

/* First use: an old key still in the keyring (a restart mid-way) resumes
 * the re-encryption. */
static void start(struct cl_service *svc, int64_t now)
{
	struct rekey_state *r = &svc->rekey;
	if (r->started)
		return;
	r->started = true;
	r->left = -1;
	uint32_t ids[CL_CRYPTO_MAX_KEYS];
	size_t n = cl_crypto_keys(svc->crypto, ids);
	if (n < 2)
		return;
	r->active = true;
	r->started_ms = r->last_log_ms = now;
	r->moved_run = 0;
	begin_pass(r, now);
	struct cl_key_status st;
	if (status_of(svc, &st) != CL_OK)
		r->left = -1;
	cl_info("rekey.resumed", "current=%" PRIu32 " keys=%zu left=%" PRId64,
	        cl_crypto_current_key(svc->crypto), n, r->left);
}

bool rekey_due(struct cl_service *svc, int64_t now)
{
	start(svc, now);
	events_settle(svc);
	struct rekey_state *r = &svc->rekey;
	return (r->active && now >= r->retry_at_ms) || r->n_events > r->n_recorded;
}

int64_t rekey_deadline(struct cl_service *svc, int64_t now)
{
	start(svc, now);
	events_settle(svc);
	struct rekey_state *r = &svc->rekey;
	if (r->n_events > r->n_recorded)
		return now;
	if (!r->active)
		return 0;
	return r->retry_at_ms > now ? r->retry_at_ms : now;
}

/* --- one step -------------------------------------------------------------------- */

struct step {
	unsigned table;
	int64_t after;
	uint64_t moved, failed;
	uint32_t failed_keys[CL_CRYPTO_MAX_KEYS];
	size_t n_failed_keys;
};

static void note_failed_key(struct step *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_failed_keys; i++)
		if (s->failed_keys[i] == id)
			return;
	if (s->n_failed_keys < CL_CRYPTO_MAX_KEYS)
		s->failed_keys[s->n_failed_keys++] = id;
}

/* Re-encrypt every value of b; the ones no held key opens are left alone. */
static enum cl_err reseal_batch(struct cl_service *svc, struct cl_enc_batch *b, struct step *s,
                                uint64_t failed_before)
{
	for (size_t i = 0; i < b->n; i++) {
		struct cl_enc_value *v = &b->v[i];
		unsigned char *out = malloc(v->len ? v->len : 1);
		if (!out)
			return CL_ERR_NOMEM;
		enum cl_err err = cl_crypto_reseal_field(svc->crypto, v->ad_table, v->ad_row,
		                                         v->ad_field, v->data, v->len, out);
		if (err == CL_ERR_NOMEM) {
			free(out);
			return err;
		}
		if (err != CL_OK) {
			free(out);
			note_failed_key(s, v->key_id);
			if (failed_before + s->failed++ < FAILED_LOGS)
				cl_warn("rekey.value_unreadable",
				        "table=%s row=%" PRId64 " field=%s key_id=%" PRIu32,
				        v->ad_table, v->id, v->ad_field, v->key_id);
			continue;
		}
		free(v->data);
		v->data = out;
		v->rewrite = true;
		s->moved++;
	}
	return CL_OK;
}

static enum cl_err move_batch(struct cl_service *svc, struct step *s)
{
	struct rekey_state *r = &svc->rekey;
	uint32_t current = cl_crypto_current_key(svc->crypto);
	unsigned n_tables = cl_store_rekey_tables();
	struct cl_enc_batch b = {0};
	enum cl_err err = CL_OK;
	size_t rows = 0;
	while (err == CL_OK && s->table < n_tables && s->moved < BATCH_VALUES &&
	       rows < BATCH_ROWS) {
		bool end = false;
		err = cl_store_rekey_scan(svc->store, s->table, &s->after, current, SCAN_ROWS,
		                          BATCH_VALUES - s->moved, BATCH_BYTES, &b, &end);
		rows += SCAN_ROWS;
		if (err == CL_OK)
			err = reseal_batch(svc, &b, s, r->failed_pass);
		if (err == CL_OK)
			err = cl_store_rekey_write(svc->store, &b);
		cl_enc_batch_clear(&b);
		if (err == CL_OK && end) {
			s->table++;
			s->after = 0;
		}
	}
	cl_enc_batch_fini(&b);
	return err;
}

static void log_progress(struct cl_service *svc, int64_t now, bool force)
{
	struct rekey_state *r = &svc->rekey;
	if (!force && now - r->last_log_ms < LOG_EVERY_MS)
		return;
	if (!r->moved_since_log && !force)
		return;
	cl_info("rekey.progress", "moved=%" PRIu64 " left=%" PRId64 " table=%s current=%" PRIu32,
	        r->moved_since_log, r->left,
	        r->table < cl_store_rekey_tables() ? cl_store_rekey_table_name(r->table) : "-",
	        cl_crypto_current_key(svc->crypto));
	r->moved_since_log = 0;
	r->last_log_ms = now;
}

/* A pass is complete. One that moved values is followed by another (to prove
 * none is left); one that moved nothing retires every old key no unreadable
 * value names, and the re-encryption stops. */
static void end_pass(struct cl_service *svc, int64_t now)
{
	struct rekey_state *r = &svc->rekey;
	int64_t ms = now - r->pass_started_ms;
	log_progress(svc, now, true);
	cl_info("rekey.pass", "moved=%" PRIu64 " unreadable=%" PRIu64 " ms=%" PRId64, r->moved_pass,
	        r->failed_pass, ms);
	if (r->moved_pass) {
		begin_pass(r, now);
		return;
	}
	uint32_t held[CL_CRYPTO_MAX_KEYS], drop[CL_CRYPTO_MAX_KEYS];
	size_t n_held = cl_crypto_keys(svc->crypto, held), n = 0;
	uint32_t current = cl_crypto_current_key(svc->crypto);
	for (size_t i = 0; i < n_held; i++) {
		bool keep = held[i] == current;
		for (size_t j = 0; j < r->n_failed_keys && !keep; j++)
			keep = r->failed_keys[j] == held[i];
		if (!keep)
			drop[n++] = held[i];
	}
	if (n && cl_crypto_retire(svc->crypto, drop, n) != CL_OK) {
		/* The keyring could not be written: nothing changed; prove it again. */
		begin_pass(r, now);
		r->retry_at_ms = now + RETRY_MS;
		return;
	}
	for (size_t i = 0; i < n; i++)
		queue_event(svc, "key.retired", drop[i], "system");
	/* Page images from before the re-encryption must not linger in the WAL
	 * (the flush checkpoints and truncates it after this commit). */
	if (n)
		svc->truncate_wal = true;
	r->active = false;
	struct cl_key_status st;
	if (status_of(svc, &st) != CL_OK)
		r->left = -1;
	int64_t took = now - r->started_ms;
	cl_info("rekey.done",
	        "current=%" PRIu32 " retired=%zu moved=%" PRIu64 " ms=%" PRId64
	        " values_per_s=%" PRId64 " left=%" PRId64,
	        current, n, r->moved_run, took,
	        took > 0 ? (int64_t)(r->moved_run * 1000 / (uint64_t)took) : 0, r->left);
	if (r->failed_pass)
		cl_warn("rekey.incomplete", "unreadable=%" PRIu64 " kept_keys=%zu left=%" PRId64,
		        r->failed_pass, r->n_failed_keys, r->left);
}

void rekey_step(struct cl_service *svc, int64_t now)
{
	struct rekey_state *r = &svc->rekey;
	if (!rekey_due(svc, now))
		return;
	struct effects_mark mark;
	fx_mark(svc, &mark);
	if (cl_store_savepoint(svc->store) != CL_OK) {
		r->retry_at_ms = now + RETRY_MS;
		return;
	}
	struct step s = {.table = r->table, .after = r->after};
	enum cl_err err = events_record(svc, now);
	if (err == CL_OK && r->active && now >= r->retry_at_ms)
		err = move_batch(svc, &s);
	if (err != CL_OK) {
		cl_store_rollback_to(svc->store);
		fx_rewind(svc, &mark);
		r->n_recorded = 0;
		r->retry_at_ms = now + RETRY_MS;
		cl_warn("rekey.step_failed", "err=%s table=%s", cl_errcode(err),
		        cl_store_rekey_table_name(s.table));
		return;
	}
	if (cl_store_release(svc->store) != CL_OK) {
		fx_rewind(svc, &mark);
		r->n_recorded = 0;
		r->retry_at_ms = now + RETRY_MS;
		return;
	}
	if (!r->active)
		return;
	/* The step is part of the flush's transaction now. Should that commit
	 * fail, the values it moved are old again; the pass counted them as
	 * moved, so another pass follows and finds them. */
	r->table = s.table;
	r->after = s.after;
	r->moved_pass += s.moved;
	r->moved_total += s.moved;
	r->moved_run += s.moved;
	r->moved_since_log += s.moved;
	r->failed_pass += s.failed;
	for (size_t i = 0; i < s.n_failed_keys; i++) {
		bool seen = false;
		for (size_t j = 0; j < r->n_failed_keys; j++)
			seen = seen || r->failed_keys[j] == s.failed_keys[i];
		if (!seen && r->n_failed_keys < CL_CRYPTO_MAX_KEYS)
			r->failed_keys[r->n_failed_keys++] = s.failed_keys[i];
	}
	if (r->left >= 0)
		r->left = r->left > (int64_t)s.moved ? r->left - (int64_t)s.moved : 0;
	r->retry_at_ms = 0;
	log_progress(svc, now, false);
	if (r->table >= cl_store_rekey_tables())
		end_pass(svc, now);
}

/* --- the admin's calls ------------------------------------------------------------ */

enum cl_err cl_service_key_status(struct cl_service *svc, struct cl_key_status *out)
{
	start(svc, cl_clock_now(svc->clock));
	return status_of(svc, out);
}

enum cl_err cl_service_key_rotate(struct cl_service *svc, const char *actor,
                                  struct cl_key_status *out)
{
	int64_t now = cl_clock_now(svc->clock);
	start(svc, now);
	struct rekey_state *r = &svc->rekey;
	uint32_t previous = cl_crypto_current_key(svc->crypto), id;
	enum cl_err err = cl_crypto_rotate(svc->crypto, &id);
	if (err != CL_OK) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	/* From here on every new value is sealed with id; a pass that was
	 * under way proves nothing about it, so a new one starts. */
	if (!r->active) {
		r->started_ms = r->last_log_ms = now;
		r->moved_run = 0;
	}
	r->active = true;
	r->retry_at_ms = 0;
	begin_pass(r, now);
	events_settle(svc);
	queue_event(svc, "key.rotated", id, actor);
	cl_info("rekey.started", "current=%" PRIu32 " previous=%" PRIu32 " by=%s", id, previous,
	        actor && actor[0] ? actor : "admin");
	err = status_of(svc, out);
	if (err != CL_OK) {
		/* The key is in place; only the count failed. */
		r->left = -1;
		out->current = id;
		out->n_held = cl_crypto_keys(svc->crypto, out->held);
		out->pending = -1;
		out->reencrypting = true;
	}
	return CL_OK;
}
