/*
 * core/store_rekey.h: the store's side of key rotation (core/store_rekey.c):
 * the encrypted columns walked in row-id order in bounded batches, values
 * written back in place, and every value counted by the key id in its header.
 * Blobs pass through unopened; which key opens them is core/rekey.c's
 * business. Included by core/store_rekey.c and core/rekey.c only.
 */
#ifndef CARELINE_STORE_REKEY_H
#define CARELINE_STORE_REKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

struct cl_store;

/* One encrypted value copied out of its row by a scan. */
struct cl_enc_value {
	unsigned table, column; /* where it lives (opaque to callers) */
	int64_t id;             /* the row id */
	int64_t ad_row;         /* the row bound in its associated data */
	const char *ad_table;   /* "report", "ticket_event", "recording" */
	const char *ad_field;   /* "text", "note", "audio", ... */
	uint32_t key_id;        /* from the header; 0: not a sealed value */
	unsigned char *data;    /* malloc'ed copy, owned by the batch */
	size_t len;
	bool rewrite; /* set by the caller with new data of the same length */
};

/* Values of one scan. _clear frees the copies and keeps the array; _fini
 * frees everything. */
struct cl_enc_batch {
	struct cl_enc_value *v;
	size_t n, cap;
};
void cl_enc_batch_clear(struct cl_enc_batch *b);
void cl_enc_batch_fini(struct cl_enc_batch *b);

/* How many tables hold encrypted columns, and a table's name (for logs). */
unsigned cl_store_rekey_tables(void);
const char *cl_store_rekey_table_name(unsigned table);

/* Read the rows of table after row id *after, in id order: at most max_rows
 * rows, stopping after the row that brings b to max_values values or the
 * bytes looked at to max_bytes (at least one row). Appends to b every
 * non-NULL value whose header does not name key keep. *after becomes the last
 * row read; *end says the table has no row after it. Large values
 * (recordings) are read through incremental blob I/O, so a value under keep
 * costs a header read, not the whole blob. */
enum cl_err cl_store_rekey_scan(struct cl_store *s, unsigned table, int64_t *after, uint32_t keep,
                                size_t max_rows, size_t max_values, size_t max_bytes,
                                struct cl_enc_batch *b, bool *end);

/* Write back every value of b marked rewrite (inside the open transaction). */
enum cl_err cl_store_rekey_write(struct cl_store *s, const struct cl_enc_batch *b);

/* Count every non-NULL encrypted value by the key id in its header (0: not
 * a sealed value): fn once per id found. Reads every table once. */
enum cl_err cl_store_rekey_census(struct cl_store *s,
                                  void (*fn)(void *ctx, uint32_t key_id, int64_t values),
                                  void *ctx);

#endif
