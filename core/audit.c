/*
 * core/audit.c owns the audit chain (include/careline/audit.h): appending an
 * event inside the flush's transaction (its hash is a keyed BLAKE2b over the
 * previous hash and its own fields, the key a subkey no one outside careline
 * holds, so the chain cannot be rewritten without it), keeping the head in
 * memory in step with savepoints, walking the chain to find the first broken
 * link, and listing a ticket's events. Nothing personal is ever passed in.
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

struct walk {
	const struct cl_crypto *crypto;
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
	w->last_id = e->id;
	memcpy(w->last_hash, e->hash, sizeof(w->last_hash));
}

enum cl_err cl_service_audit_verify(struct cl_service *svc, struct cl_audit_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->ok = true;
	struct walk w = {.crypto = svc->crypto, .v = out};
	enum cl_err err = cl_store_audit_each(svc->store, 0, 0, on_event, &w);
	if (err == CL_OK && out->ok && w.last_id != svc->audit_id && !svc->audit_stale) {
		/* The newest events were removed: the chain ends short of its head. */
		broken(&w, w.last_id + 1, "truncated");
	}
	cl_info("audit.verified", "events=%" PRId64 " ok=%d first_broken=%" PRId64 " reason=%s",
	        out->checked, out->ok, out->first_broken, out->ok ? "-" : out->reason);
	return err;
}

enum cl_err cl_service_audit_of_ticket(struct cl_service *svc, const struct cl_ticket *t,
                                       void (*fn)(void *ctx, const struct cl_audit_event *e),
                                       void *ctx)
{
	return cl_store_audit_each(svc->store, 0, t->id, fn, ctx);
}
