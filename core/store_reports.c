/*
 * core/store_reports.c owns the report table: inserting a committed report
 * with its encrypted fields, finding the original answer for an idempotency
 * key, and reading a ticket's reports back. Blobs pass through unopened.
 */
#include "store_internal.h"

static const char *const field_names[CL_RF__COUNT] = {
    [CL_RF_TEXT] = "text",
    [CL_RF_ADDRESS] = "address",
    [CL_RF_REPORTER_NAME] = "reporter_name",
    [CL_RF_REPORTER_PHONE] = "reporter_phone",
    [CL_RF_REPORTER_ORG] = "reporter_org",
    [CL_RF_RESIDENT_NAME] = "resident_name",
    [CL_RF_OBSERVED_BY] = "observed_by",
};
_Static_assert(sizeof(field_names) / sizeof(field_names[0]) == CL_RF__COUNT,
               "a name for every report field");

/* Column index of the first encrypted field in INSERT and SELECT. */
enum { FIELD_COL_INSERT = 12, FIELD_COL_SELECT = 11 };

const char *cl_report_field_name(enum cl_report_field f)
{
	if ((unsigned)f >= CL_RF__COUNT)
		return "unknown";
	return field_names[f];
}

enum cl_err cl_store_report_insert(struct cl_store *s, const struct cl_report_row *r)
{
	sqlite3_stmt *st = store_stmt(s, ST_REPORT_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, r->id);
	store_bind_text(st, 2, r->ns);
	store_bind_text(st, 3, r->key);
	store_bind_text(st, 4, r->via);
	sqlite3_bind_int64(st, 5, r->received_ms);
	sqlite3_bind_int64(st, 6, r->ticket_id);
	store_bind_text(st, 7, r->reporter_person);
	store_bind_text(st, 8, r->reporter_role);
	sqlite3_bind_int(st, 9, r->anonymous);
	sqlite3_bind_int(st, 10, r->consent_callback);
	sqlite3_bind_int(st, 11, r->consent_disclose);
	for (int f = 0; f < CL_RF__COUNT; f++)
		store_bind_blob(st, FIELD_COL_INSERT + f, r->fields[f]);
	store_bind_blob(st, FIELD_COL_INSERT + CL_RF__COUNT, r->phone_hash);
	store_bind_text(st, FIELD_COL_INSERT + CL_RF__COUNT + 1, r->answer_state);
	return store_exec_stmt(s, st, "report.insert");
}

enum cl_err cl_store_report_find(struct cl_store *s, const char *ns, const char *key,
                                 int64_t *ticket_id, char *answer_state, size_t state_len)
{
	sqlite3_stmt *st = store_stmt(s, ST_REPORT_FIND);
	if (!st)
		return CL_ERR_STORAGE;
	store_bind_text(st, 1, ns);
	store_bind_text(st, 2, key);
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		*ticket_id = sqlite3_column_int64(st, 0);
		store_col_text(st, 1, answer_state, state_len);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, "report.find", rc);
	}
	sqlite3_reset(st);
	return err;
}

enum cl_err cl_store_reports_of_ticket(struct cl_store *s, int64_t ticket_id,
                                       void (*fn)(void *ctx, const struct cl_report_row *row),
                                       void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_REPORTS_OF_TICKET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, ticket_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_report_row r = {
		    .id = sqlite3_column_int64(st, 0),
		    .ns = (const char *)sqlite3_column_text(st, 1),
		    .key = (const char *)sqlite3_column_text(st, 2),
		    .via = (const char *)sqlite3_column_text(st, 3),
		    .received_ms = sqlite3_column_int64(st, 4),
		    .ticket_id = sqlite3_column_int64(st, 5),
		    .reporter_person = (const char *)sqlite3_column_text(st, 6),
		    .reporter_role = (const char *)sqlite3_column_text(st, 7),
		    .anonymous = sqlite3_column_int(st, 8) != 0,
		    .consent_callback = sqlite3_column_int(st, 9) != 0,
		    .consent_disclose = sqlite3_column_int(st, 10) != 0,
		};
		for (int f = 0; f < CL_RF__COUNT; f++)
			r.fields[f] = store_col_blob(st, FIELD_COL_SELECT + f);
		r.phone_hash = store_col_blob(st, FIELD_COL_SELECT + CL_RF__COUNT);
		r.answer_state =
		    (const char *)sqlite3_column_text(st, FIELD_COL_SELECT + CL_RF__COUNT + 1);
		fn(ctx, &r);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "reports.of_ticket", rc);
	return CL_OK;
}
