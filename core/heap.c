/*
 * core/heap.c: the binary min-heap of include/careline/heap.h. Ties on
 * due_ms are broken by id so the order is deterministic.
 */
#include "careline/heap.h"

#include <stdlib.h>

static bool less(const struct cl_heap_entry *a, const struct cl_heap_entry *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->id < b->id);
}

void cl_heap_init(struct cl_heap *h)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
}

void cl_heap_fini(struct cl_heap *h)
{
	free(h->v);
	cl_heap_init(h);
}

enum cl_err cl_heap_push(struct cl_heap *h, int64_t due_ms, int64_t id)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct cl_heap_entry *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return CL_ERR_NOMEM;
		h->v = v;
		h->cap = cap;
	}
	size_t i = h->n++;
	struct cl_heap_entry e = {due_ms, id};
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!less(&e, &h->v[parent]))
			break;
		h->v[i] = h->v[parent];
		i = parent;
	}
	h->v[i] = e;
	return CL_OK;
}

bool cl_heap_peek(const struct cl_heap *h, struct cl_heap_entry *out)
{
	if (h->n == 0)
		return false;
	*out = h->v[0];
	return true;
}

bool cl_heap_pop_due(struct cl_heap *h, int64_t now, struct cl_heap_entry *out)
{
	if (h->n == 0 || h->v[0].due_ms > now)
		return false;
	*out = h->v[0];
	struct cl_heap_entry last = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && less(&h->v[child + 1], &h->v[child]))
			child++;
		if (!less(&h->v[child], &last))
			break;
		h->v[i] = h->v[child];
		i = child;
	}
	if (h->n > 0)
		h->v[i] = last;
	return true;
}
