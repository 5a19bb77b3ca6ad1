/*
 * core/store_roster.c owns the tables of who is where at run time: the
 * shift_override table (one-off roster overrides made through the API) and
 * the device table (devices registered with carelinectl), both read back at
 * start and after each change so memory and the database never disagree.
 */
#include <string.h>

#include "store_internal.h"

enum cl_err cl_store_override_insert(struct cl_store *s, struct cl_override *o,
                                     const char *created_by, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_OVERRIDE_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, o->team);
	store_bind_text(st, 2, cl_duty_name(o->duty));
	store_bind_text(st, 3, o->person);
	store_bind_text(st, 4, o->replaces[0] ? o->replaces : NULL);
	sqlite3_bind_int64(st, 5, o->start_ms);
	sqlite3_bind_int64(st, 6, o->end_ms);
	store_bind_text(st, 7, o->note[0] ? o->note : NULL);
	store_bind_text(st, 8, created_by);
	sqlite3_bind_int64(st, 9, now);
	enum cl_err err = store_exec_stmt(s, st, "override.insert");
	if (err == CL_OK)
		o->id = sqlite3_last_insert_rowid(s->db);
	return err;
}

enum cl_err cl_store_override_delete(struct cl_store *s, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, ST_OVERRIDE_DELETE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	enum cl_err err = store_exec_stmt(s, st, "override.delete");
	if (err == CL_OK && sqlite3_changes(s->db) == 0)
		return CL_ERR_NOTFOUND;
	return err;
}

enum cl_err cl_store_overrides_current(struct cl_store *s, int64_t now,
                                       void (*fn)(void *ctx, const struct cl_override *o),
                                       void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_OVERRIDES_CURRENT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, now);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_override o;
		memset(&o, 0, sizeof(o));
		char duty[16];
		o.id = sqlite3_column_int64(st, 0);
		store_col_text(st, 1, o.team, sizeof(o.team));
		store_col_text(st, 2, duty, sizeof(duty));
		o.duty = strcmp(duty, "backup") == 0 ? CL_DUTY_BACKUP : CL_DUTY_PRIMARY;
		store_col_text(st, 3, o.person, sizeof(o.person));
		store_col_text(st, 4, o.replaces, sizeof(o.replaces));
		o.start_ms = sqlite3_column_int64(st, 5);
		o.end_ms = sqlite3_column_int64(st, 6);
		store_col_text(st, 7, o.note, sizeof(o.note));
		fn(ctx, &o);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "overrides.current", rc);
	return CL_OK;
}

enum cl_err cl_store_device_insert(struct cl_store *s, const struct cl_device *d, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_DEVICE_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, d->id);
	store_bind_text(st, 2, d->person);
	struct cl_blob pk = {d->has_pubkey ? d->pubkey : NULL, sizeof(d->pubkey)};
	store_bind_blob(st, 3, pk);
	sqlite3_bind_int64(st, 4, now);
	return store_exec_stmt(s, st, "device.insert");
}

enum cl_err cl_store_device_revoke(struct cl_store *s, const char *id, int64_t now)
{
	sqlite3_stmt *st = store_stmt(s, ST_DEVICE_REVOKE);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	enum cl_err err = store_exec_stmt(s, st, "device.revoke");
	if (err == CL_OK && sqlite3_changes(s->db) == 0)
		return CL_ERR_NOTFOUND;
	return err;
}

enum cl_err cl_store_devices_all(struct cl_store *s,
                                 void (*fn)(void *ctx, const struct cl_device *d), void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_DEVICES_ALL);
	if (!st)
		return CL_ERR_STORAGE;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_device d;
		memset(&d, 0, sizeof(d));
		store_col_text(st, 0, d.id, sizeof(d.id));
		store_col_text(st, 1, d.person, sizeof(d.person));
		struct cl_blob pk = store_col_blob(st, 2);
		if (pk.len == sizeof(d.pubkey)) {
			memcpy(d.pubkey, pk.data, pk.len);
			d.has_pubkey = true;
		}
		d.created_ms = sqlite3_column_int64(st, 3);
		d.revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
		fn(ctx, &d);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "devices.all", rc);
	return CL_OK;
}
