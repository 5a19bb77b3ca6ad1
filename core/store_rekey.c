/*
 * core/store_rekey.c owns the SQL of key rotation: which columns hold
 * encrypted values (and what their associated data binds), the batched walk
 * over them, writing re-encrypted values back, and the census by key id. It
 * prepares its few statements locally (sqlite3_prepare_v2) and finalizes them
 * before returning, so the central statement cache in store.c is untouched.
 * Called by core/rekey.c, inside the flush's transaction (scan, write) or
 * outside it (census).
 */
#include "store_rekey.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "store_internal.h"

#define MAX_COLUMNS 8
#define SQL_MAX     512
#define CENSUS_IDS  64

/* Every encrypted column. A new one is a line here; its associated data must
 * be the one its writer seals with ("report:<id>:text", "ticket_event:
 * <ticket_id>:note", "recording:<id>:audio"). */
struct enc_table {
	const char *name;   /* SQL table, also the associated data's table */
	const char *ad_row; /* the column whose value is the associated data's row */
	bool large;         /* values up to megabytes: read through blob I/O */
	size_t n_columns;
	struct {
		const char *column;
		const char *field; /* the associated data's field */
	} columns[MAX_COLUMNS];
};

static const struct enc_table tables[] = {
    {"report",
     "id",
     false,
     7,
     {{"text_enc", "text"},
      {"address_enc", "address"},
      {"reporter_name_enc", "reporter_name"},
      {"reporter_phone_enc", "reporter_phone"},
      {"reporter_org_enc", "reporter_org"},
      {"resident_name_enc", "resident_name"},
      {"observed_by_enc", "observed_by"}}},
    {"ticket_event", "ticket_id", false, 1, {{"note_enc", "note"}}},
    {"recording", "id", true, 1, {{"audio_enc", "audio"}}},
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))
_Static_assert(CL_RF__COUNT == 7, "every report field has a column in tables[0]");

/* The report columns must spell the field names intake.c seals with. */
static bool report_fields_match(void)
{
	static int checked; /* 0 unknown, 1 ok, -1 mismatch */
	if (!checked) {
		checked = 1;
		for (int f = 0; f < CL_RF__COUNT; f++)
			if (strcmp(cl_report_field_name((enum cl_report_field)f),
			           tables[0].columns[f].field) != 0)
				checked = -1;
		if (checked < 0)
			cl_error("store.rekey_columns_mismatch", "%s", "table=report");
	}
	return checked > 0;
}

unsigned cl_store_rekey_tables(void)
{
	return (unsigned)N_TABLES;
}

const char *cl_store_rekey_table_name(unsigned table)
{
	return table < N_TABLES ? tables[table].name : "?";
}

void cl_enc_batch_clear(struct cl_enc_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].data);
	b->n = 0;
}

void cl_enc_batch_fini(struct cl_enc_batch *b)
{
	cl_enc_batch_clear(b);
	free(b->v);
	b->v = NULL;
	b->cap = 0;
}

static enum cl_err prepare(struct cl_store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return store_fail(s, "rekey.prepare", rc);
	}
	return CL_OK;
}

/* Append a copy of data (len bytes) as a value of t's column c in row id. */
static enum cl_err batch_add(struct cl_enc_batch *b, unsigned table, unsigned column, int64_t id,
                             int64_t ad_row, uint32_t key_id, unsigned char *data, size_t len)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct cl_enc_value *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return CL_ERR_NOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct cl_enc_value){
	    .table = table,
	    .column = column,
	    .id = id,
	    .ad_row = ad_row,
	    .ad_table = tables[table].name,
	    .ad_field = tables[table].columns[column].field,
	    .key_id = key_id,
	    .data = data,
	    .len = len,
	};
	return CL_OK;
}

static unsigned char *copy_of(const void *p, size_t len)
{
	unsigned char *d = malloc(len ? len : 1);
	if (d && len)
		memcpy(d, p, len);
	return d;
}

/* Small values: one SELECT with every encrypted column of the table. */
static enum cl_err scan_small(struct cl_store *s, unsigned ti, int64_t *after, uint32_t keep,
                              size_t max_rows, size_t max_values, size_t max_bytes,
                              struct cl_enc_batch *b, bool *end)
{
	const struct enc_table *t = &tables[ti];
	char sql[SQL_MAX];
	int n = snprintf(sql, sizeof(sql), "SELECT id, %s", t->ad_row);
	for (size_t c = 0; c < t->n_columns; c++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s", t->columns[c].column);
	snprintf(sql + n, sizeof(sql) - (size_t)n, " FROM %s WHERE id > ?1 ORDER BY id LIMIT ?2",
	         t->name);
	sqlite3_stmt *st;
	enum cl_err err = prepare(s, sql, &st);
	if (err != CL_OK)
		return err;
	sqlite3_bind_int64(st, 1, *after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max_rows);
	size_t rows = 0, bytes = 0;
	int rc = SQLITE_DONE;
	bool full = false;
	*end = false;
	while (err == CL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), ad_row = sqlite3_column_int64(st, 1);
		for (size_t c = 0; err == CL_OK && c < t->n_columns; c++) {
			const unsigned char *v = sqlite3_column_blob(st, (int)c + 2);
			size_t len = (size_t)sqlite3_column_bytes(st, (int)c + 2);
			if (!v)
				continue;
			bytes += len;
			uint32_t kid = 0;
			if (cl_crypto_value_key_id(v, len, &kid) && kid == keep)
				continue;
			unsigned char *d = copy_of(v, len);
			err = d ? batch_add(b, ti, (unsigned)c, id, ad_row, kid, d, len)
			        : CL_ERR_NOMEM;
			if (err != CL_OK)
				free(d);
		}
		*after = id;
		rows++;
		if (bytes >= max_bytes || b->n >= max_values) {
			full = true;
			break;
		}
	}
	if (err == CL_OK && !full && rows < max_rows) {
		if (rc == SQLITE_DONE)
			*end = true;
		else
			err = store_fail(s, "rekey.scan", rc);
	}
	sqlite3_finalize(st);
	return err;
}

/* Read len bytes at offset of table's column in row id through blob I/O. */
static enum cl_err blob_read(struct cl_store *s, const struct enc_table *t, int64_t id,
                             unsigned char *buf, size_t len)
{
	sqlite3_blob *blob;
	int rc = sqlite3_blob_open(s->db, "main", t->name, t->columns[0].column, id, 0, &blob);
	if (rc == SQLITE_OK) {
		rc = sqlite3_blob_read(blob, buf, (int)len, 0);
		sqlite3_blob_close(blob);
	}
	return rc == SQLITE_OK ? CL_OK : store_fail(s, "rekey.blob_read", rc);
}

/* Large values (one column): ids and lengths first (length() does not load
 * the value), then the header of each, and the whole value only if needed. */
static enum cl_err scan_large(struct cl_store *s, unsigned ti, int64_t *after, uint32_t keep,
                              size_t max_rows, size_t max_values, size_t max_bytes,
                              struct cl_enc_batch *b, bool *end)
{
	const struct enc_table *t = &tables[ti];
	char sql[SQL_MAX];
	snprintf(sql, sizeof(sql),
	         "SELECT id, %s, length(%s) FROM %s WHERE id > ?1 ORDER BY id LIMIT ?2", t->ad_row,
	         t->columns[0].column, t->name);
	struct row {
		int64_t id, ad_row, len;
	} *rows = calloc(max_rows ? max_rows : 1, sizeof(*rows));
	if (!rows)
		return CL_ERR_NOMEM;
	sqlite3_stmt *st;
	enum cl_err err = prepare(s, sql, &st);
	size_t n = 0;
	int rc = SQLITE_DONE;
	if (err == CL_OK) {
		sqlite3_bind_int64(st, 1, *after);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max_rows);
		while (n < max_rows && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			rows[n].id = sqlite3_column_int64(st, 0);
			rows[n].ad_row = sqlite3_column_int64(st, 1);
			rows[n].len = sqlite3_column_type(st, 2) == SQLITE_NULL
			                  ? -1
			                  : sqlite3_column_int64(st, 2);
			n++;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = store_fail(s, "rekey.scan", rc);
		sqlite3_finalize(st);
	}
	*end = err == CL_OK && n < max_rows;
	size_t bytes = 0;
	for (size_t i = 0; err == CL_OK && i < n; i++) {
		*after = rows[i].id;
		size_t len = (size_t)rows[i].len;
		if (rows[i].len >= 0) {
			unsigned char head[CL_CRYPTO_OVERHEAD];
			uint32_t kid = 0;
			bool sealed = len >= sizeof(head);
			if (sealed)
				err = blob_read(s, t, rows[i].id, head, sizeof(head));
			if (err == CL_OK && sealed &&
			    cl_crypto_value_key_id(head, sizeof(head), &kid) && kid == keep) {
				bytes += sizeof(head);
			} else if (err == CL_OK) {
				unsigned char *d = malloc(len ? len : 1);
				err = d ? blob_read(s, t, rows[i].id, d, len) : CL_ERR_NOMEM;
				if (err == CL_OK)
					err = batch_add(b, ti, 0, rows[i].id, rows[i].ad_row, kid,
					                d, len);
				if (err != CL_OK)
					free(d);
				bytes += len;
			}
		}
		if ((bytes >= max_bytes || b->n >= max_values) && i + 1 < n) {
			*end = false;
			break;
		}
	}
	free(rows);
	return err;
}

enum cl_err cl_store_rekey_scan(struct cl_store *s, unsigned table, int64_t *after, uint32_t keep,
                                size_t max_rows, size_t max_values, size_t max_bytes,
                                struct cl_enc_batch *b, bool *end)
{
	*end = true;
	if (table >= N_TABLES || max_rows == 0)
		return CL_ERR_INVALID;
	if (!report_fields_match())
		return CL_ERR_STORAGE;
	return tables[table].large
	           ? scan_large(s, table, after, keep, max_rows, max_values, max_bytes, b, end)
	           : scan_small(s, table, after, keep, max_rows, max_values, max_bytes, b, end);
}

enum cl_err cl_store_rekey_write(struct cl_store *s, const struct cl_enc_batch *b)
{
	/* One UPDATE per column touched, prepared on first use. */
	sqlite3_stmt *st[N_TABLES][MAX_COLUMNS] = {{NULL}};
	enum cl_err err = CL_OK;
	for (size_t i = 0; err == CL_OK && i < b->n; i++) {
		const struct cl_enc_value *v = &b->v[i];
		if (!v->rewrite)
			continue;
		if (v->table >= N_TABLES || v->column >= tables[v->table].n_columns) {
			err = CL_ERR_INVALID;
			break;
		}
		sqlite3_stmt **u = &st[v->table][v->column];
		if (!*u) {
			char sql[SQL_MAX];
			snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ?1 WHERE id = ?2",
			         tables[v->table].name, tables[v->table].columns[v->column].column);
			if ((err = prepare(s, sql, u)) != CL_OK)
				break;
		} else {
			sqlite3_reset(*u);
		}
		sqlite3_bind_blob(*u, 1, v->data, (int)v->len, SQLITE_STATIC);
		sqlite3_bind_int64(*u, 2, v->id);
		int rc = sqlite3_step(*u);
		if (rc != SQLITE_DONE)
			err = store_fail(s, "rekey.write", rc);
		else if (sqlite3_changes(s->db) != 1)
			err = CL_ERR_CONFLICT; /* the row went away: a bug, not a race */
	}
	for (size_t t = 0; t < N_TABLES; t++)
		for (size_t c = 0; c < MAX_COLUMNS; c++)
			sqlite3_finalize(st[t][c]);
	return err;
}

/* --- census ---------------------------------------------------------------- */

struct census {
	struct {
		uint32_t id;
		int64_t n;
	} ids[CENSUS_IDS];
	size_t n;
};

static void census_add(struct census *c, uint32_t id, int64_t n)
{
	/* The last slot is kept for id 0, where ids beyond the table go (more
	 * distinct ids than keys can exist: damaged values). */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->n; i++) {
			if (c->ids[i].id == id) {
				c->ids[i].n += n;
				return;
			}
		}
		if (id == 0 || c->n < CENSUS_IDS - 1) {
			c->ids[c->n].id = id;
			c->ids[c->n++].n = n;
			return;
		}
		id = 0;
	}
}

static enum cl_err census_small(struct cl_store *s, const struct enc_table *t, struct census *c)
{
	enum cl_err err = CL_OK;
	for (size_t col = 0; err == CL_OK && col < t->n_columns; col++) {
		char sql[SQL_MAX];
		snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s IS NOT NULL",
		         t->columns[col].column, t->name, t->columns[col].column);
		sqlite3_stmt *st;
		if ((err = prepare(s, sql, &st)) != CL_OK)
			break;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			uint32_t kid = 0;
			if (!cl_crypto_value_key_id(sqlite3_column_blob(st, 0),
			                            (size_t)sqlite3_column_bytes(st, 0), &kid))
				kid = 0;
			census_add(c, kid, 1);
		}
		if (rc != SQLITE_DONE)
			err = store_fail(s, "rekey.census", rc);
		sqlite3_finalize(st);
	}
	return err;
}

static enum cl_err census_large(struct cl_store *s, const struct enc_table *t, struct census *c)
{
	int64_t after = 0;
	bool end = false;
	enum cl_err err = CL_OK;
	/* Headers only, a page of ids at a time. */
	while (err == CL_OK && !end) {
		char sql[SQL_MAX];
		snprintf(sql, sizeof(sql),
		         "SELECT id, length(%s) FROM %s WHERE id > ?1 AND length(%s) IS NOT NULL"
		         " ORDER BY id LIMIT 256",
		         t->columns[0].column, t->name, t->columns[0].column);
		sqlite3_stmt *st;
		if ((err = prepare(s, sql, &st)) != CL_OK)
			break;
		sqlite3_bind_int64(st, 1, after);
		int64_t ids[256], lens[256];
		size_t n = 0;
		int rc;
		while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			ids[n] = sqlite3_column_int64(st, 0);
			lens[n++] = sqlite3_column_int64(st, 1);
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = store_fail(s, "rekey.census", rc);
		sqlite3_finalize(st);
		end = n < 256;
		for (size_t i = 0; err == CL_OK && i < n; i++) {
			unsigned char head[CL_CRYPTO_OVERHEAD];
			uint32_t kid = 0;
			after = ids[i];
			if (lens[i] < (int64_t)sizeof(head)) {
				census_add(c, 0, 1);
				continue;
			}
			err = blob_read(s, t, ids[i], head, sizeof(head));
			if (err == CL_OK && !cl_crypto_value_key_id(head, sizeof(head), &kid))
				kid = 0;
			if (err == CL_OK)
				census_add(c, kid, 1);
		}
	}
	return err;
}

enum cl_err cl_store_rekey_census(struct cl_store *s,
                                  void (*fn)(void *ctx, uint32_t key_id, int64_t values), void *ctx)
{
	if (!report_fields_match())
		return CL_ERR_STORAGE;
	struct census c = {.n = 0};
	enum cl_err err = CL_OK;
	for (size_t t = 0; err == CL_OK && t < N_TABLES; t++)
		err = tables[t].large ? census_large(s, &tables[t], &c)
		                      : census_small(s, &tables[t], &c);
	if (err != CL_OK)
		return err;
	for (size_t i = 0; i < c.n; i++)
		fn(ctx, c.ids[i].id, c.ids[i].n);
	return CL_OK;
}
