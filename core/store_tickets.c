/*
 * core/store_tickets.c owns the ticket and ticket_event tables: insert and
 * update a ticket with its escalation columns, read one or a list, find the
 * open ticket at an address hash, rebuild deadlines at start, count by state,
 * and append/read the per-ticket event log.
 */
#include <string.h>

#include "store_internal.h"

void store_read_ticket(sqlite3_stmt *st, struct cl_ticket *t)
{
	char buf[128];
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, t->ref, sizeof(t->ref));
	store_col_text(st, 2, buf, sizeof(buf));
	t->kind = strcmp(buf, "named") == 0 ? CL_TICKET_NAMED : CL_TICKET_ANONYMOUS;
	store_col_text(st, 3, buf, sizeof(buf));
	if (cl_ticket_state_parse(buf, &t->state) != CL_OK)
		t->state = CL_TICKET_NEW;
	store_col_text(st, 4, buf, sizeof(buf));
	if (cl_urgency_parse(buf, &t->urgency) != CL_OK)
		t->urgency = CL_P3;
	store_col_text(st, 5, buf, sizeof(buf));
	cl_categories_parse(buf, &t->categories);
	store_col_text(st, 6, t->area, sizeof(t->area));
	store_col_text(st, 7, t->team, sizeof(t->team));
	store_col_text(st, 8, t->policy, sizeof(t->policy));
	struct cl_blob h = store_col_blob(st, 9);
	if (h.len == sizeof(t->address_hash)) {
		memcpy(t->address_hash, h.data, h.len);
		t->has_address_hash = true;
	}
	t->created_ms = sqlite3_column_int64(st, 10);
	t->updated_ms = sqlite3_column_int64(st, 11);
	store_col_text(st, 12, t->acked_by, sizeof(t->acked_by));
	t->acked_ms = sqlite3_column_int64(st, 13);
	store_col_text(st, 14, t->taken_by, sizeof(t->taken_by));
	t->taken_ms = sqlite3_column_int64(st, 15);
	store_col_text(st, 16, t->closed_reason, sizeof(t->closed_reason));
	t->closed_ms = sqlite3_column_int64(st, 17);
	t->linked_to = sqlite3_column_int64(st, 18);
	store_col_text(st, 19, t->linked_ref, sizeof(t->linked_ref));
	store_col_text(st, 20, buf, sizeof(buf));
	if (cl_esc_phase_parse(buf, &t->phase) != CL_OK)
		t->phase = CL_ESC_IDLE;
	t->step = sqlite3_column_int(st, 21);
	t->loop = sqlite3_column_int(st, 22);
	t->due_ms = sqlite3_column_int64(st, 23);
	t->unhandled = sqlite3_column_int(st, 24) != 0;
}

enum cl_err cl_store_ticket_insert(struct cl_store *s, const struct cl_ticket *t)
{
	sqlite3_stmt *st = store_stmt(s, ST_TICKET_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	char cats[256];
	sqlite3_bind_int64(st, 1, t->id);
	store_bind_text(st, 2, t->ref);
	store_bind_text(st, 3, cl_ticket_kind_name(t->kind));
	store_bind_text(st, 4, cl_ticket_state_name(t->state));
	store_bind_text(st, 5, cl_urgency_name(t->urgency));
	store_bind_text(st, 6, cl_categories_format(&t->categories, cats, sizeof(cats)));
	store_bind_text(st, 7, t->area);
	store_bind_text(st, 8, t->team);
	store_bind_text(st, 9, t->policy);
	struct cl_blob h = {t->has_address_hash ? t->address_hash : NULL, sizeof(t->address_hash)};
	store_bind_blob(st, 10, h);
	sqlite3_bind_int64(st, 11, t->created_ms);
	sqlite3_bind_int64(st, 12, t->updated_ms);
	store_bind_text(st, 13, t->acked_by[0] ? t->acked_by : NULL);
	store_bind_ms(st, 14, t->acked_ms);
	store_bind_text(st, 15, t->taken_by[0] ? t->taken_by : NULL);
	store_bind_ms(st, 16, t->taken_ms);
	store_bind_text(st, 17, t->closed_reason[0] ? t->closed_reason : NULL);
	store_bind_ms(st, 18, t->closed_ms);
	store_bind_ms(st, 19, t->linked_to);
	store_bind_text(st, 20, cl_esc_phase_name(t->phase));
	sqlite3_bind_int(st, 21, t->step);
	sqlite3_bind_int(st, 22, t->loop);
	store_bind_ms(st, 23, t->due_ms);
	sqlite3_bind_int(st, 24, t->unhandled);
	return store_exec_stmt(s, st, "ticket.insert");
}

enum cl_err cl_store_ticket_update(struct cl_store *s, const struct cl_ticket *t)
{
	sqlite3_stmt *st = store_stmt(s, ST_TICKET_UPDATE);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, t->id);
	store_bind_text(st, 2, cl_ticket_state_name(t->state));
	sqlite3_bind_int64(st, 3, t->updated_ms);
	store_bind_text(st, 4, t->acked_by[0] ? t->acked_by : NULL);
	store_bind_ms(st, 5, t->acked_ms);
	store_bind_text(st, 6, t->taken_by[0] ? t->taken_by : NULL);
	store_bind_ms(st, 7, t->taken_ms);
	store_bind_text(st, 8, t->closed_reason[0] ? t->closed_reason : NULL);
	store_bind_ms(st, 9, t->closed_ms);
	store_bind_text(st, 10, cl_esc_phase_name(t->phase));
	sqlite3_bind_int(st, 11, t->step);
	sqlite3_bind_int(st, 12, t->loop);
	store_bind_ms(st, 13, t->due_ms);
	sqlite3_bind_int(st, 14, t->unhandled);
	return store_exec_stmt(s, st, "ticket.update");
}

enum cl_err cl_store_ticket_get(struct cl_store *s, int64_t id, struct cl_ticket *out)
{
	sqlite3_stmt *st = store_stmt(s, ST_TICKET_GET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		store_read_ticket(st, out);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, "ticket.get", rc);
	}
	sqlite3_reset(st);
	return err;
}

enum cl_err cl_store_ticket_open_at_address(struct cl_store *s, const unsigned char hash[32],
                                            int64_t *id, char ref[CL_REF_MAX])
{
	sqlite3_stmt *st = store_stmt(s, ST_TICKET_AT_ADDRESS);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	enum cl_err err = CL_ERR_NOTFOUND;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		store_col_text(st, 1, ref, CL_REF_MAX);
		err = CL_OK;
	} else if (rc != SQLITE_DONE) {
		err = store_fail(s, "ticket.at_address", rc);
	}
	sqlite3_reset(st);
	return err;
}

enum cl_err cl_store_tickets_list(struct cl_store *s, const struct cl_ticket_filter *f,
                                  void (*fn)(void *ctx, const struct cl_ticket *t), void *ctx)
{
	enum store_stmt id =
	    f->team ? (f->open_only ? ST_TICKETS_LIST_OPEN_TEAM : ST_TICKETS_LIST_ALL_TEAM)
	            : (f->open_only ? ST_TICKETS_LIST_OPEN : ST_TICKETS_LIST_ALL);
	sqlite3_stmt *st = store_stmt(s, id);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int(st, 1, f->limit > 0 ? f->limit : 1000);
	if (f->team)
		store_bind_text(st, 2, f->team);
	int rc;
	struct cl_ticket t;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_read_ticket(st, &t);
		fn(ctx, &t);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "tickets.list", rc);
	return CL_OK;
}

enum cl_err cl_store_tickets_with_deadline(struct cl_store *s,
                                           void (*fn)(void *ctx, int64_t id, int64_t due_ms),
                                           void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_TICKETS_DEADLINE);
	if (!st)
		return CL_ERR_STORAGE;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "tickets.deadlines", rc);
	return CL_OK;
}

enum cl_err cl_store_ticket_counts(struct cl_store *s, int64_t counts[CL_TICKET_STATE__COUNT])
{
	memset(counts, 0, sizeof(int64_t) * CL_TICKET_STATE__COUNT);
	sqlite3_stmt *st = store_stmt(s, ST_TICKET_COUNTS);
	if (!st)
		return CL_ERR_STORAGE;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum cl_ticket_state state;
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (name && cl_ticket_state_parse(name, &state) == CL_OK)
			counts[state] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "tickets.counts", rc);
	return CL_OK;
}

enum cl_err cl_store_event_insert(struct cl_store *s, const struct cl_event_row *e)
{
	sqlite3_stmt *st = store_stmt(s, ST_EVENT_INSERT);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, e->ticket_id);
	sqlite3_bind_int64(st, 2, e->at_ms);
	store_bind_text(st, 3, e->actor);
	store_bind_text(st, 4, e->event);
	store_bind_text(st, 5, e->from_state);
	store_bind_text(st, 6, e->to_state);
	store_bind_text(st, 7, e->detail);
	store_bind_blob(st, 8, e->note);
	return store_exec_stmt(s, st, "event.insert");
}

enum cl_err cl_store_events_of_ticket(struct cl_store *s, int64_t ticket_id,
                                      void (*fn)(void *ctx, const struct cl_event_row *e),
                                      void *ctx)
{
	sqlite3_stmt *st = store_stmt(s, ST_EVENTS_OF_TICKET);
	if (!st)
		return CL_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, ticket_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cl_event_row e = {
		    .id = sqlite3_column_int64(st, 0),
		    .ticket_id = sqlite3_column_int64(st, 1),
		    .at_ms = sqlite3_column_int64(st, 2),
		    .actor = (const char *)sqlite3_column_text(st, 3),
		    .event = (const char *)sqlite3_column_text(st, 4),
		    .from_state = (const char *)sqlite3_column_text(st, 5),
		    .to_state = (const char *)sqlite3_column_text(st, 6),
		    .detail = (const char *)sqlite3_column_text(st, 7),
		    .note = store_col_blob(st, 8),
		};
		fn(ctx, &e);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "events.of_ticket", rc);
	return CL_OK;
}
