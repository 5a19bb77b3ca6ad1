/*
 * core/store_calls.c owns the hotline's tables: call (one row per provider
 * call id: step, language, chosen category, tries, consent, the ticket once
 * made; never the caller's number) and recording (where the provider keeps
 * a call's audio until careline has fetched it, then the audio encrypted,
 * and whether it is deleted at the provider).
 */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const rec_states[] = {"pending", "stored", "failed"};

const char *cl_recording_state_name(enum cl_recording_state s)
{
	return (unsigned)s < 3 ? rec_states[s] : "?";
}

static enum cl_recording_state rec_state_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, rec_states[i]) == 0)
			return (enum cl_recording_state)i;
	return CL_REC_FAILED;
}

static void read_call(sqlite3_stmt *st, struct cl_call *c)
{
	memset(c, 0, sizeof(*c));
	char step[16], cat[32];
	c->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, c->provider, sizeof(c->provider));
	store_col_text(st, 2, c->key, sizeof(c->key));
	store_col_text(st, 3, step, sizeof(step));
	if (cl_call_step_parse(step, &c->step) != CL_OK)
		c->step = CL_CALL_ENDED;
	store_col_text(st, 4, c->lang, sizeof(c->lang));
	store_col_text(st, 5, cat, sizeof(cat));
	c->has_category = cat[0] && cl_category_parse(cat, &c->category) == CL_OK;
	c->tries = sqlite3_column_int(st, 6);
	c->consent = sqlite3_column_int(st, 7) != 0;
	c->ticket_id = sqlite3_column_int64(st, 8);
	c->created_ms = sqlite3_column_int64(st, 9);
	c->updated_ms = sqlite3_column_int64(st, 10);
}

enum cl_err cl_store_call_get(struct cl_store *s, const char *provider, const char *key,
                              struct cl_call *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALL_GET);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, provider);
	store_bind_text(st, 2, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_call(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return CL_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? CL_OK : store_fail(s, "call.get", rc);
}

enum cl_err cl_store_call_insert(struct cl_store *s, struct cl_call *c)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALL_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, c->provider);
	store_bind_text(st, 2, c->key);
	store_bind_text(st, 3, cl_call_step_name(c->step));
	store_bind_text(st, 4, c->lang);
	store_bind_text(st, 5, c->has_category ? cl_category_id(c->category) : NULL);
	sqlite3_bind_int(st, 6, c->tries);
	sqlite3_bind_int(st, 7, c->consent);
	store_bind_ms(st, 8, c->ticket_id);
	sqlite3_bind_int64(st, 9, c->created_ms);
	sqlite3_bind_int64(st, 10, c->updated_ms);
	enum cl_err err = store_exec_stmt(s, st, "call.insert");
	if (err == CL_OK)
		c->id = sqlite3_last_insert_rowid(s->db);
	return err;
}

enum cl_err cl_store_call_update(struct cl_store *s, const struct cl_call *c)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALL_UPDATE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, c->id);
	store_bind_text(st, 2, cl_call_step_name(c->step));
	store_bind_text(st, 3, c->has_category ? cl_category_id(c->category) : NULL);
	sqlite3_bind_int(st, 4, c->tries);
	sqlite3_bind_int(st, 5, c->consent);
	store_bind_ms(st, 6, c->ticket_id);
	sqlite3_bind_int64(st, 7, c->updated_ms);
	return store_exec_stmt(s, st, "call.update");
}

enum cl_err cl_store_calls_idle(struct cl_store *s, int64_t before, int max,
                                void (*fn)(void *ctx, const struct cl_call *c), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALLS_IDLE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_call c;
		read_call(st, &c);
		fn(ctx, &c);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? CL_OK : store_fail(s, "calls.idle", rc);
}

static void read_recording(sqlite3_stmt *st, struct cl_recording *r)
{
	memset(r, 0, sizeof(*r));
	char state[16];
	r->id = sqlite3_column_int64(st, 0);
	r->call_id = sqlite3_column_int64(st, 1);
	r->ticket_id = sqlite3_column_int64(st, 2);
	store_col_text(st, 3, r->provider, sizeof(r->provider));
	store_col_text(st, 4, r->remote_id, sizeof(r->remote_id));
	store_col_text(st, 5, r->remote_url, sizeof(r->remote_url));
	store_col_text(st, 6, state, sizeof(state));
	r->state = rec_state_parse(state);
	r->remote_deleted = sqlite3_column_int(st, 7) != 0;
	r->attempts = sqlite3_column_int(st, 8);
	r->next_try_ms = sqlite3_column_int64(st, 9);
	store_col_text(st, 10, r->last_error, sizeof(r->last_error));
	r->duration_s = sqlite3_column_int(st, 11);
	r->size = sqlite3_column_int64(st, 12);
	r->created_ms = sqlite3_column_int64(st, 13);
	r->stored_ms = sqlite3_column_int64(st, 14);
}

enum cl_err cl_store_recording_put(struct cl_store *s, int64_t call_id, int64_t ticket_id,
                                   const char *provider, const char *remote_id,
                                   const char *remote_url, int duration_s, int64_t next_try_ms,
                                   int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_PUT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, call_id);
	store_bind_ms(st, 2, ticket_id);
	store_bind_text(st, 3, provider);
	store_bind_text(st, 4, remote_id);
	store_bind_text(st, 5, remote_url);
	sqlite3_bind_int64(st, 6, next_try_ms);
	sqlite3_bind_int(st, 7, duration_s);
	sqlite3_bind_int64(st, 8, now);
	return store_exec_stmt(s, st, "recording.put");
}

enum cl_err cl_store_recording_link(struct cl_store *s, int64_t call_id, int64_t ticket_id)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_LINK);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, call_id);
	sqlite3_bind_int64(st, 2, ticket_id);
	return store_exec_stmt(s, st, "recording.link");
}

static enum cl_err each_recording(struct cl_store *s, sqlite3_stmt *st, const char *what,
                                  void (*fn)(void *ctx, const struct cl_recording *r), void *ctx)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_recording r;
		read_recording(st, &r);
		fn(ctx, &r);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? CL_OK : store_fail(s, what, rc);
}

enum cl_err cl_store_recordings_work(struct cl_store *s,
                                     void (*fn)(void *ctx, const struct cl_recording *r), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_WORK);
	if (!st)
		return CL_ERR_STORAGE;
	return each_recording(s, st, "recordings.work", fn, ctx);
}

enum cl_err cl_store_recordings_of_ticket(struct cl_store *s, int64_t ticket_id,
                                          void (*fn)(void *ctx, const struct cl_recording *r),
                                          void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_OF_TICKET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, ticket_id);
	return each_recording(s, st, "recordings.of_ticket", fn, ctx);
}

enum cl_err cl_store_recording_get(struct cl_store *s, int64_t id, struct cl_recording *out,
                                   unsigned char **audio, size_t *audio_len)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_GET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	*audio = NULL;
	*audio_len = 0;
	enum cl_err err = CL_OK;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_recording(st, out);
		struct cl_blob b = store_col_blob(st, 15);
		if (b.len) {
			*audio = malloc(b.len);
			if (*audio) {
				memcpy(*audio, b.data, b.len);
				*audio_len = b.len;
			} else {
				err = CL_ERR_NOMEM;
			}
		}
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return CL_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? err : store_fail(s, "recording.get", rc);
}

enum cl_err cl_store_recording_stored(struct cl_store *s, int64_t id, const unsigned char *enc,
                                      size_t enc_len, int64_t size, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_STORED);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	store_bind_blob(st, 2, (struct cl_blob){enc, enc_len});
	sqlite3_bind_int64(st, 3, size);
	sqlite3_bind_int64(st, 4, now);
	enum cl_err err = store_exec_stmt(s, st, "recording.stored");
	if (err == CL_OK && sqlite3_changes(s->db) == 0)
		return CL_ERR_CONFLICT;
	return err;
}

enum cl_err cl_store_recording_retry(struct cl_store *s, int64_t id, int attempts,
                                     int64_t next_try_ms, const char *error, bool final)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_RETRY);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, next_try_ms);
	store_bind_text(st, 4, error && error[0] ? error : NULL);
	sqlite3_bind_int(st, 5, final);
	return store_exec_stmt(s, st, "recording.retry");
}

enum cl_err cl_store_recording_remote_deleted(struct cl_store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_REC_REMOTE_DELETED);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	return store_exec_stmt(s, st, "recording.remote_deleted");
}
