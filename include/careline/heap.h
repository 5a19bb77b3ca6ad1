/*
 * include/careline/heap.h: a binary min-heap of (due_ms, id) pairs, the
 * deadline queues behind the escalation timers and the outbox. Entries are
 * never removed early: a consumer pops an entry, checks it against the
 * database row, and skips it when stale. Caller owns the heap (init/fini).
 */
#ifndef CARELINE_HEAP_H
#define CARELINE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

struct cl_heap_entry {
	int64_t due_ms;
	int64_t id;
};

struct cl_heap {
	struct cl_heap_entry *v;
	size_t n;
	size_t cap;
};

void cl_heap_init(struct cl_heap *h);
void cl_heap_fini(struct cl_heap *h);
enum cl_err cl_heap_push(struct cl_heap *h, int64_t due_ms, int64_t id);
/* The earliest entry, or false when empty. */
bool cl_heap_peek(const struct cl_heap *h, struct cl_heap_entry *out);
/* Remove the earliest entry if it is due at or before now. */
bool cl_heap_pop_due(struct cl_heap *h, int64_t now, struct cl_heap_entry *out);

#endif
