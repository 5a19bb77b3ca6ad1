/*
 * core/store_schema.c holds careline's schema as numbered migrations. Each
 * entry moves the database one version forward; store.c applies the missing
 * ones in a transaction at start and records the version in PRAGMA
 * user_version. Never edit a landed migration: add the next one.
 */
#include "store_internal.h"

const char *const store_migrations[] = {
    /* 1: reports, tickets, events, the outbox. */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"

    "CREATE TABLE ticket ("
    " id INTEGER PRIMARY KEY,"
    " ref TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('anonymous','named')),"
    " state TEXT NOT NULL,"
    " urgency TEXT NOT NULL,"
    " categories TEXT NOT NULL,"
    " area TEXT NOT NULL,"
    " team TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " address_hash BLOB,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " acked_by TEXT, acked_at INTEGER,"
    " taken_by TEXT, taken_at INTEGER,"
    " closed_reason TEXT, closed_at INTEGER,"
    " linked_to INTEGER REFERENCES ticket(id),"
    " esc_phase TEXT NOT NULL,"
    " esc_step INTEGER NOT NULL,"
    " esc_loop INTEGER NOT NULL,"
    " due_at INTEGER,"
    " unhandled INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX ticket_open_address ON ticket(address_hash) WHERE state <> 'closed';"
    "CREATE INDEX ticket_due ON ticket(due_at) WHERE due_at IS NOT NULL;"
    "CREATE INDEX ticket_state ON ticket(state, id);"

    "CREATE TABLE report ("
    " id INTEGER PRIMARY KEY,"
    " channel TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " via TEXT NOT NULL,"
    " received_at INTEGER NOT NULL,"
    " ticket_id INTEGER NOT NULL REFERENCES ticket(id),"
    " reporter_person TEXT,"
    " reporter_role TEXT,"
    " anonymous INTEGER NOT NULL,"
    " consent_callback INTEGER NOT NULL,"
    " consent_disclose INTEGER NOT NULL,"
    " text_enc BLOB, address_enc BLOB, reporter_name_enc BLOB, reporter_phone_enc BLOB,"
    " reporter_org_enc BLOB, resident_name_enc BLOB, observed_by_enc BLOB,"
    " phone_hash BLOB,"
    " answer_state TEXT NOT NULL,"
    " UNIQUE (channel, key));"
    "CREATE INDEX report_ticket ON report(ticket_id);"

    "CREATE TABLE ticket_event ("
    " id INTEGER PRIMARY KEY,"
    " ticket_id INTEGER NOT NULL REFERENCES ticket(id),"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " detail TEXT,"
    " note_enc BLOB);"
    "CREATE INDEX ticket_event_ticket ON ticket_event(ticket_id, id);"

    "CREATE TABLE notification ("
    " id INTEGER PRIMARY KEY,"
    " ticket_id INTEGER NOT NULL REFERENCES ticket(id),"
    " person TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " step INTEGER NOT NULL,"
    " loop INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER,"
    " created_at INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " answered_at INTEGER,"
    " answer TEXT,"
    " last_error TEXT);"
    "CREATE INDEX notification_pending ON notification(next_attempt_at) WHERE state = 'pending';"
    "CREATE INDEX notification_ticket ON notification(ticket_id);",

    /* 2: the SMS channel. Provider message ids and delivery reports on the
     * outbox; per-person reply codes ("12a"); follow-up sessions and opt-outs
     * keyed by a keyed hash of the number, never the number; contacts that
     * a provider refused for good. */
    "ALTER TABLE notification ADD COLUMN reply_code INTEGER;"
    "ALTER TABLE notification ADD COLUMN provider_id TEXT;"
    "ALTER TABLE notification ADD COLUMN delivery TEXT;"
    "ALTER TABLE notification ADD COLUMN provider_error TEXT;"
    "CREATE INDEX notification_provider ON notification(channel, provider_id)"
    " WHERE provider_id IS NOT NULL;"
    "CREATE INDEX notification_person ON notification(person, ticket_id, channel);"
    "CREATE TABLE sms_code ("
    " person TEXT NOT NULL,"
    " code INTEGER NOT NULL,"
    " ticket_id INTEGER NOT NULL REFERENCES ticket(id),"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (person, code));"
    "CREATE UNIQUE INDEX sms_code_ticket ON sms_code(person, ticket_id);"
    "CREATE TABLE sms_session ("
    " sender_hash BLOB PRIMARY KEY,"
    " ticket_id INTEGER NOT NULL REFERENCES ticket(id),"
    " last_at INTEGER NOT NULL);"
    "CREATE TABLE sms_optout (phone_hash BLOB PRIMARY KEY, at INTEGER NOT NULL);"
    "CREATE TABLE contact_block ("
    " person TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (person, channel));",

    /* 3: one-off roster overrides ("Bo covers for Anna from ... to ..."),
     * made through the API, kept across restarts. */
    "CREATE TABLE shift_override ("
    " id INTEGER PRIMARY KEY,"
    " team TEXT NOT NULL,"
    " duty TEXT NOT NULL CHECK (duty IN ('primary','backup')),"
    " person TEXT NOT NULL,"
    " replaces TEXT,"
    " start_at INTEGER NOT NULL,"
    " end_at INTEGER NOT NULL,"
    " note TEXT,"
    " created_by TEXT,"
    " created_at INTEGER NOT NULL,"
    " CHECK (end_at > start_at));"
    "CREATE INDEX shift_override_end ON shift_override(end_at);",

    /* 4: devices registered at run time (carelinectl device add): their
     * owner and public key; revoked ones are kept, marked. */
    "CREATE TABLE device ("
    " id TEXT PRIMARY KEY,"
    " person TEXT NOT NULL,"
    " pubkey BLOB,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER);",

    /* 5: the hotline. A call's progress (keyed by the provider's call id, so
     * a restart mid-call goes on at the right step; no phone number here),
     * and recordings: where to fetch them, then the audio encrypted. */
    "CREATE TABLE call ("
    " id INTEGER PRIMARY KEY,"
    " provider TEXT NOT NULL,"
    " call_key TEXT NOT NULL,"
    " step TEXT NOT NULL,"
    " lang TEXT NOT NULL,"
    " category TEXT,"
    " tries INTEGER NOT NULL DEFAULT 0,"
    " consent INTEGER NOT NULL DEFAULT 0,"
    " ticket_id INTEGER REFERENCES ticket(id),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " UNIQUE (provider, call_key));"
    "CREATE INDEX call_open ON call(updated_at) WHERE step <> 'ended';"
    "CREATE TABLE recording ("
    " id INTEGER PRIMARY KEY,"
    " call_id INTEGER NOT NULL UNIQUE REFERENCES call(id),"
    " ticket_id INTEGER REFERENCES ticket(id),"
    " provider TEXT NOT NULL,"
    " remote_id TEXT NOT NULL,"
    " remote_url TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending','stored','failed')),"
    " remote_deleted INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_try_at INTEGER NOT NULL,"
    " last_error TEXT,"
    " duration_s INTEGER NOT NULL DEFAULT 0,"
    " size INTEGER,"
    " audio_enc BLOB,"
    " created_at INTEGER NOT NULL,"
    " stored_at INTEGER);"
    "CREATE INDEX recording_ticket ON recording(ticket_id);"
    "CREATE INDEX recording_work ON recording(next_try_at)"
    " WHERE state = 'pending' OR remote_deleted = 0;",

    /* 6: the audit chain (who did and saw what: actor, action, object, time,
     * each event's keyed BLAKE2b over the previous one's), and the marks of
     * erasure: a purged ticket keeps its skeleton, not its personal fields. */
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " object TEXT NOT NULL,"
    " ticket_id INTEGER,"
    " detail TEXT,"
    " prev BLOB NOT NULL,"
    " hash BLOB NOT NULL);"
    "CREATE INDEX audit_ticket ON audit(ticket_id) WHERE ticket_id IS NOT NULL;"
    "ALTER TABLE ticket ADD COLUMN purged_at INTEGER;"
    "ALTER TABLE recording ADD COLUMN purged_at INTEGER;"
    "CREATE INDEX ticket_closed ON ticket(closed_at) WHERE closed_at IS NOT NULL"
    " AND purged_at IS NULL;",
};

const int store_migration_count = (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));
