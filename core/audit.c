/*
 * core/audit.c owns the audit chain (include/careline/audit.h): appending an
 * event inside the flush's transaction (its hash is a keyed BLAKE2b over the
 * previous hash and its own fields, the key a subkey no one outside careline
 * holds, so the chain cannot be rewritten without it), keeping the head in
 * memory in step with savepoints, publishing the committed head in the log
 * (the anchor outside the database that shows the newest events removed),
 * walking the chain to find the first broken link, with or without such an
 * anchor, and listing a ticket's events. Nothing personal is ever passed in.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/log.h"
#include "service_internal.h"

#define AUDIT_BUF 1200

static size_t put_u64(unsigned char *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)((uint64_t)v >> (8 * i));
	return 8;
}

static size_t put_str(unsigned char *p, size_t room, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n + 1 > room)
		n = room ? room - 1 : 0;
	if (n)
		memcpy(p, s, n);
	if (room)
		p[n] = 0;
	return room ? n + 1 : 0;
}

/* hash = BLAKE2b_k(prev | id | at | ticket | actor\0 action\0 object\0 detail\0 | has_detail) */
static void event_hash(const struct cl_crypto *c, const struct cl_audit_event *e,
                       unsigned char out[CL_AUDIT_HASH_BYTES])
{
	unsigned char buf[AUDIT_BUF];
	size_t n = 0;
	memcpy(buf, e->prev, CL_AUDIT_HASH_BYTES);
	n += CL_AUDIT_HASH_BYTES;
	n += put_u64(buf + n, e->id);
	n += put_u64(buf + n, e->at_ms);
	n += put_u64(buf + n, e->ticket_id);
	n += put_str(buf + n, sizeof(buf) - n - 1, e->actor);
	n += put_str(buf + n, sizeof(buf) - n - 1, e->action);
	n += put_str(buf + n, sizeof(buf) - n - 1, e->object);
	n += put_str(buf + n, sizeof(buf) - n - 1, e->detail);
	buf[n++] = e->detail != NULL;
	cl_crypto_hash(c, "audit", buf, n, out);
}

enum cl_err audit_load_head(struct cl_service *svc)
{
	enum cl_err err = cl_store_audit_last(svc->store, &svc->audit_id, svc->audit_hash);
	svc->audit_stale = err != CL_OK;
	return err;
}

enum cl_err audit_record(struct cl_service *svc, int64_t now, const char *actor, const char *action,
                         const char *object, int64_t ticket_id, const char *detail)
{
	if (svc->audit_stale && audit_load_head(svc) != CL_OK)
		return CL_ERR_STORAGE;
	struct cl_audit_event e = {
	    .id = svc->audit_id + 1,
	    .at_ms = now,
	    .actor = actor && actor[0] ? actor : "-",
	    .action = action,
	    .object = object,
	    .ticket_id = ticket_id,
	    .detail = detail,
	};
	memcpy(e.prev, svc->audit_hash, sizeof(e.prev));
	event_hash(svc->crypto, &e, e.hash);
	enum cl_err err = cl_store_audit_insert(svc->store, &e);
	if (err == CL_OK) {
		svc->audit_id = e.id;
		memcpy(svc->audit_hash, e.hash, sizeof(svc->audit_hash));
	}
	return err;
}

/* --- the head in the log ------------------------------------------------- */

enum cl_err cl_audit_anchor_parse(const char *s, struct cl_audit_anchor *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || *s < '0' || *s > '9')
		return CL_ERR_INVALID;
	int64_t id = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (id > (INT64_MAX - (*s - '0')) / 10)
			return CL_ERR_INVALID;
		id = id * 10 + (*s - '0');
	}
	if (id < 1 || *s++ != ':')
		return CL_ERR_INVALID;
	if (cl_crypto_hex_decode(s, out->hash, CL_AUDIT_HASH_BYTES) != CL_OK)
		return CL_ERR_INVALID;
	out->id = id;
	return CL_OK;
}

/* One line, no fsync: journald keeps it where the service user cannot edit
 * it. An empty chain has nothing to anchor. */
static void publish_head(struct cl_service *svc, const char *when)
{
	svc->audit_anchored_id = svc->audit_id;
	if (svc->audit_id < 1)
		return;
	char h[2 * CL_AUDIT_HASH_BYTES + 1];
	cl_crypto_hex_encode(svc->audit_hash, CL_AUDIT_HASH_BYTES, h);
	cl_info("audit.head", "id=%" PRId64 " hash=%s when=%s", svc->audit_id, h, when);
}

void audit_anchor_start(struct cl_service *svc, int64_t now)
{
	publish_head(svc, "start");
	svc->audit_anchoring = true;
	svc->audit_anchor_next_ms = now + CL_AUDIT_ANCHOR_MS;
}

int64_t audit_anchor_deadline(const struct cl_service *svc)
{
	if (!svc->audit_anchoring || svc->audit_stale || svc->audit_id == svc->audit_anchored_id)
		return 0;
	return svc->audit_anchor_next_ms;
}

void audit_anchor_due(struct cl_service *svc, int64_t now)
{
	int64_t due = audit_anchor_deadline(svc);
	if (!due || now < due)
		return;
	publish_head(svc, "interval");
	svc->audit_anchor_next_ms = now + CL_AUDIT_ANCHOR_MS;
}

void audit_anchor_stop(struct cl_service *svc)
{
	if (!svc->audit_anchoring)
		return;
	svc->audit_anchoring = false;
	/* After a failed commit the head in memory was never written. */
	if (svc->audit_stale && audit_load_head(svc) != CL_OK)
		return;
	publish_head(svc, "stop");
}

/* --- the walk ------------------------------------------------------------ */

struct walk {
	const struct cl_crypto *crypto;
	const struct cl_audit_anchor *anchor; /* or NULL */
	struct cl_audit_verdict *v;
	int64_t last_id;
	unsigned char last_hash[CL_AUDIT_HASH_BYTES];
};

static void broken(struct walk *w, int64_t id, const char *why)
{
	if (!w->v->ok)
		return;
	w->v->ok = false;
	w->v->first_broken = id;
	snprintf(w->v->reason, sizeof(w->v->reason), "%s", why);
}

static void on_event(void *ctx, const struct cl_audit_event *e)
{
	struct walk *w = ctx;
	w->v->checked++;
	if (!w->v->ok)
		return;
	unsigned char h[CL_AUDIT_HASH_BYTES];
	event_hash(w->crypto, e, h);
	if (e->id != w->last_id + 1)
		broken(w, e->id, "sequence");
	else if (!cl_crypto_equal(e->prev, w->last_hash, CL_AUDIT_HASH_BYTES))
		broken(w, e->id, "link");
	else if (!cl_crypto_equal(h, e->hash, CL_AUDIT_HASH_BYTES))
		broken(w, e->id, "hash");
	else if (w->anchor && e->id == w->anchor->id &&
	         !cl_crypto_equal(e->hash, w->anchor->hash, CL_AUDIT_HASH_BYTES))
		broken(w, e->id, "anchor");
	w->last_id = e->id;
	memcpy(w->last_hash, e->hash, sizeof(w->last_hash));
}

enum cl_err cl_service_audit_verify(struct cl_service *svc, const struct cl_audit_anchor *anchor,
                                    struct cl_audit_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->ok = true;
	struct walk w = {.crypto = svc->crypto, .anchor = anchor, .v = out};
	enum cl_err err = cl_store_audit_each(svc->store, 0, 0, on_event, &w);
	if (err == CL_OK && out->ok && w.last_id != svc->audit_id && !svc->audit_stale) {
		/* The newest events were removed: the chain ends short of its head. */
		broken(&w, w.last_id + 1, "truncated");
	}
	if (err == CL_OK && anchor && w.last_id < anchor->id) {
		/* The head in memory was read from the table after a restart: only
		 * the anchor shows that the chain once went further. */
		broken(&w, w.last_id + 1, "truncated");
	}
	cl_info("audit.verified",
	        "events=%" PRId64 " anchor=%" PRId64 " ok=%d first_broken=%" PRId64 " reason=%s",
	        out->checked, anchor ? anchor->id : 0, out->ok, out->first_broken,
	        out->ok ? "-" : out->reason);
	return err;
}

enum cl_err cl_service_audit_of_ticket(struct cl_service *svc, const struct cl_ticket *t,
                                       void (*fn)(void *ctx, const struct cl_audit_event *e),
                                       void *ctx)
{
	return cl_store_audit_each(svc->store, 0, t->id, fn, ctx);
}
