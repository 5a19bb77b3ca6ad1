/*
 * core/idmap.c: the open-addressing map of include/careline/idmap.h. Grows
 * at 50% load; deletion shifts the rest of the cluster back, so no tombstones
 * accumulate however many ids come and go.
 */
#include "careline/idmap.h"

#include <stdlib.h>

static size_t home_of(int64_t id, size_t cap)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (cap - 1);
}

void cl_idmap_init(struct cl_idmap *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = 0;
	m->n = 0;
}

void cl_idmap_fini(struct cl_idmap *m)
{
	free(m->keys);
	free(m->vals);
	cl_idmap_init(m);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t find(const struct cl_idmap *m, int64_t id)
{
	size_t i = home_of(id, m->cap);
	while (m->keys[i] && m->keys[i] != id)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static enum cl_err grow(struct cl_idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct cl_idmap bigger = {calloc(cap, sizeof(int64_t)), calloc(cap, sizeof(int)), cap, 0};
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return CL_ERR_NOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = find(&bigger, m->keys[i]);
			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
			bigger.n++;
		}
	}
	cl_idmap_fini(m);
	*m = bigger;
	return CL_OK;
}

enum cl_err cl_idmap_put(struct cl_idmap *m, int64_t id, int val)
{
	if (id <= 0)
		return CL_ERR_INVALID;
	if ((m->n + 1) * 2 > m->cap && grow(m) != CL_OK)
		return CL_ERR_NOMEM;
	size_t i = find(m, id);
	if (!m->keys[i]) {
		m->keys[i] = id;
		m->n++;
	}
	m->vals[i] = val;
	return CL_OK;
}

int cl_idmap_get(const struct cl_idmap *m, int64_t id, int def)
{
	if (!m->cap || id <= 0)
		return def;
	size_t i = find(m, id);
	return m->keys[i] ? m->vals[i] : def;
}

bool cl_idmap_take(struct cl_idmap *m, int64_t id, int *val)
{
	if (!m->cap || id <= 0)
		return false;
	size_t i = find(m, id);
	if (!m->keys[i])
		return false;
	if (val)
		*val = m->vals[i];
	m->keys[i] = 0;
	m->n--;
	/* Shift back the entries after i whose home is not in (i, j]. */
	for (size_t j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
		size_t home = home_of(m->keys[j], m->cap);
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
	return true;
}
