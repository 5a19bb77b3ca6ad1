/*
 * include/careline/idmap.h: a map from positive int64 ids to ints (open
 * addressing, linear probing, backward-shift deletion). The outbox keeps the
 * attempt count of notifications in flight and the ids confirmed since their
 * retry was scheduled, so the fast path never reads a row back. Caller owns
 * it (init/fini).
 */
#ifndef CARELINE_IDMAP_H
#define CARELINE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

struct cl_idmap {
	int64_t *keys; /* 0 = empty */
	int *vals;
	size_t cap; /* a power of two */
	size_t n;
};

void cl_idmap_init(struct cl_idmap *m);
void cl_idmap_fini(struct cl_idmap *m);
/* Set id (> 0) to val. */
enum cl_err cl_idmap_put(struct cl_idmap *m, int64_t id, int val);
/* The value of id, or def when absent. */
int cl_idmap_get(const struct cl_idmap *m, int64_t id, int def);
/* Remove id; true (and *val if non-NULL) if it was there. */
bool cl_idmap_take(struct cl_idmap *m, int64_t id, int *val);

#endif
