/*
 * core/texts.c owns the table of user-facing texts ("section.name" -> value
 * per language) parsed from config/texts/<lang>.ini with inih, and the {name}
 * template renderer. No file I/O: texts come from the embedded files or a
 * string. Called by receipts, alerts and the IVR/SMS adapters.
 */
#include "careline/texts.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "careline/embedded.h"

#define DEFAULT_LANG    "da"
#define TEXTS_PREFIX    "texts/"
#define TEXTS_SUFFIX    ".ini"
#define PLACEHOLDER_MAX 64

struct entry {
	char *lang;
	char *key; /* "section.name" */
	char *value;
	uint64_t hash; /* of lang and key */
};

/* Entries in load order, found through an open-addressing index of
 * entry numbers + 1 (0 = empty slot); entries are added or replaced, never
 * removed, so the index needs no tombstones. */
struct table {
	struct entry *v;
	size_t n, cap;
	uint32_t *slot;
	size_t n_slots; /* a power of two, at least twice cap */
};

struct cl_texts {
	struct table all;
};

static void entry_fini(struct entry *e)
{
	free(e->lang);
	free(e->key);
	free(e->value);
}

static void table_fini(struct table *tb)
{
	for (size_t i = 0; i < tb->n; i++)
		entry_fini(&tb->v[i]);
	free(tb->v);
	free(tb->slot);
	*tb = (struct table){0};
}

/* FNV-1a over lang, a NUL, key. */
static uint64_t text_hash(const char *lang, const char *key)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)lang;; p++) {
		h = (h ^ *p) * 1099511628211ULL;
		if (!*p)
			break;
	}
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

/* The slot holding lang/key, or the empty slot where it would go. */
static size_t table_slot(const struct table *tb, uint64_t hash, const char *lang, const char *key)
{
	size_t mask = tb->n_slots - 1;
	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		uint32_t s = tb->slot[i];
		if (s == 0)
			return i;
		const struct entry *e = &tb->v[s - 1];
		if (e->hash == hash && strcmp(e->key, key) == 0 && strcmp(e->lang, lang) == 0)
			return i;
	}
}

static struct entry *table_find(const struct table *tb, const char *lang, const char *key)
{
	if (tb->n == 0)
		return NULL;
	uint32_t s = tb->slot[table_slot(tb, text_hash(lang, key), lang, key)];
	return s ? &tb->v[s - 1] : NULL;
}

/* Room for at least need entries, with the index rebuilt to match. */
static bool table_reserve(struct table *tb, size_t need)
{
	if (need <= tb->cap)
		return true;
	if (need > UINT32_MAX / 4)
		return false;
	size_t cap = tb->cap ? tb->cap : 32;
	while (cap < need)
		cap *= 2;
	struct entry *v = realloc(tb->v, cap * sizeof(*v));
	if (!v)
		return false;
	tb->v = v;
	uint32_t *slot = calloc(cap * 2, sizeof(*slot));
	if (!slot)
		return false; /* the larger array is kept; cap still says the old size */
	free(tb->slot);
	tb->slot = slot;
	tb->n_slots = cap * 2;
	tb->cap = cap;
	for (size_t i = 0; i < tb->n; i++)
		tb->slot[table_slot(tb, tb->v[i].hash, tb->v[i].lang, tb->v[i].key)] =
		    (uint32_t)i + 1;
	return true;
}

/* Appends e, which must not be in the table yet; room must be reserved. */
static void table_append(struct table *tb, struct entry e)
{
	tb->slot[table_slot(tb, e.hash, e.lang, e.key)] = (uint32_t)tb->n + 1;
	tb->v[tb->n++] = e;
}

/* Parse state: entries of one INI text, merged into the table only when the
 * whole text parsed, so a broken file changes nothing. */
struct parse {
	const char *lang;
	struct table pending;
	bool nomem;
};

static char *join(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, sep, ls);
	memcpy(s + la + ls, b, lb + 1);
	return s;
}

/* inih calls this once per name = value line and again, with the same name,
 * for each indented continuation line; continuations are joined with a space
 * so a long text can be wrapped in the file. (A name repeated within one file
 * arrives the same way and is joined too: inih cannot tell them apart.) */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char *key = join(section, ".", name);
	if (!key)
		goto nomem;
	struct entry *e = table_find(&p->pending, p->lang, key);
	if (e) {
		free(key);
		char *v = join(e->value, e->value[0] && value[0] ? " " : "", value);
		if (!v)
			goto nomem;
		free(e->value);
		e->value = v;
		return 1;
	}
	if (!table_reserve(&p->pending, p->pending.n + 1))
		goto nomem_key;
	struct entry n = {strdup(p->lang), key, strdup(value), text_hash(p->lang, key)};
	if (!n.lang || !n.value) {
		entry_fini(&n);
		goto nomem;
	}
	table_append(&p->pending, n);
	return 1;
nomem_key:
	free(key);
nomem:
	p->nomem = true;
	return 0;
}

/* inih splits a line longer than its buffer into two lines, silently, so
 * refuse such lines up front. Returns the first offending line number or 0. */
static int overlong_line(const char *ini)
{
	int line = 1;
	size_t len = 0;
	for (const char *s = ini; *s; s++) {
		if (*s == '\n') {
			line++;
			len = 0;
		} else if (++len > INI_MAX_LINE - 3) {
			return line;
		}
	}
	return 0;
}

enum cl_err cl_texts_load_string(struct cl_texts *t, const char *lang, const char *ini,
                                 char *errbuf, size_t errlen)
{
	if (errlen)
		errbuf[0] = '\0';
	if (!lang || !lang[0] || !ini) {
		if (errlen)
			snprintf(errbuf, errlen, "texts: no language or text");
		return CL_ERR_INVALID;
	}
	int bad = overlong_line(ini);
	if (bad) {
		if (errlen)
			snprintf(errbuf, errlen, "texts/%s: line %d: longer than %d bytes", lang,
			         bad, INI_MAX_LINE - 3);
		return CL_ERR_CONFIG;
	}
	struct parse p = {.lang = lang};
	int rc = ini_parse_string(ini, on_value, &p);
	if (p.nomem || rc == -2) {
		table_fini(&p.pending);
		return CL_ERR_NOMEM;
	}
	if (rc != 0) {
		if (errlen)
			snprintf(errbuf, errlen, "texts/%s: line %d: syntax error", lang, rc);
		table_fini(&p.pending);
		return CL_ERR_CONFIG;
	}

	/* Make room first so the merge below cannot fail halfway. */
	if (!table_reserve(&t->all, t->all.n + p.pending.n)) {
		table_fini(&p.pending);
		return CL_ERR_NOMEM;
	}
	for (size_t i = 0; i < p.pending.n; i++) {
		struct entry *src = &p.pending.v[i];
		struct entry *dst = table_find(&t->all, src->lang, src->key);
		if (dst) {
			entry_fini(dst);
			*dst = *src;
		} else {
			table_append(&t->all, *src);
		}
	}
	free(p.pending.v);
	free(p.pending.slot);
	return CL_OK;
}

static bool is_texts_file(const char *name)
{
	size_t n = strlen(name), lp = strlen(TEXTS_PREFIX), ls = strlen(TEXTS_SUFFIX);
	return n > lp + ls && strncmp(name, TEXTS_PREFIX, lp) == 0 &&
	       strcmp(name + n - ls, TEXTS_SUFFIX) == 0;
}

struct cl_texts *cl_texts_new(void)
{
	return calloc(1, sizeof(struct cl_texts));
}

enum cl_err cl_texts_load_embedded(struct cl_texts **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	if (errlen)
		errbuf[0] = '\0';
	struct cl_texts *t = cl_texts_new();
	if (!t)
		return CL_ERR_NOMEM;
	enum cl_err err = CL_OK;
	for (const struct cl_embedded_file *f = cl_embedded_files; f->name; f++) {
		if (!is_texts_file(f->name))
			continue;
		const char *base = strrchr(f->name, '/') + 1;
		char lang[32];
		size_t n = strlen(base) - strlen(TEXTS_SUFFIX);
		if (n == 0 || n >= sizeof(lang)) {
			if (errlen)
				snprintf(errbuf, errlen, "%s: bad language name", f->name);
			err = CL_ERR_CONFIG;
			goto err;
		}
		memcpy(lang, base, n);
		lang[n] = '\0';
		err = cl_texts_load_string(t, lang, f->data, errbuf, errlen);
		if (err != CL_OK)
			goto err;
	}
	bool have_default = false;
	for (size_t i = 0; i < t->all.n && !have_default; i++)
		have_default = strcmp(t->all.v[i].lang, DEFAULT_LANG) == 0;
	if (!have_default) {
		if (errlen)
			snprintf(errbuf, errlen, "texts/%s.ini: missing or empty", DEFAULT_LANG);
		err = CL_ERR_CONFIG;
		goto err;
	}
	*out = t;
	return CL_OK;
err:
	cl_texts_free(t);
	return err;
}

void cl_texts_free(struct cl_texts *t)
{
	if (!t)
		return;
	table_fini(&t->all);
	free(t);
}

const char *cl_texts_get(const struct cl_texts *t, const char *lang, const char *key)
{
	const struct entry *e = NULL;
	if (t && lang)
		e = table_find(&t->all, lang, key);
	if (!e && t)
		e = table_find(&t->all, DEFAULT_LANG, key);
	return e ? e->value : key;
}

/* Output buffer that truncates on a UTF-8 character boundary. */
struct sink {
	char *buf;
	size_t cap; /* bytes usable for text, excluding the NUL */
	size_t len;
	bool full;
};

static void sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->full)
		return;
	size_t room = s->cap - s->len;
	if (n > room) {
		n = room;
		s->full = true;
		/* If the cut splits a character (p[n] is a continuation
		 * byte), back off to that character's lead byte and drop it. */
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static const char *lookup_var(const struct cl_text_var *vars, size_t n_vars, const char *name,
                              size_t len)
{
	for (size_t i = 0; i < n_vars; i++) {
		if (vars[i].name && strlen(vars[i].name) == len &&
		    memcmp(vars[i].name, name, len) == 0)
			return vars[i].value ? vars[i].value : "";
	}
	return NULL;
}

size_t cl_texts_render(const char *template_, const struct cl_text_var *vars, size_t n_vars,
                       char *out, size_t out_len)
{
	if (out_len == 0)
		return 0;
	struct sink s = {out, out_len - 1, 0, false};
	const char *p = template_ ? template_ : "";
	while (*p && !s.full) {
		const char *open = strchr(p, '{');
		if (!open) {
			sink_put(&s, p, strlen(p));
			break;
		}
		sink_put(&s, p, (size_t)(open - p));
		const char *name = open + 1, *end = name;
		while (is_name_char(*end) && end - name < PLACEHOLDER_MAX)
			end++;
		const char *value = NULL;
		if (*end == '}' && end > name)
			value = lookup_var(vars, n_vars, name, (size_t)(end - name));
		if (value) {
			/* Values are not scanned again: "{ref}" typed by a
			 * reporter stays literal. */
			sink_put(&s, value, strlen(value));
			p = end + 1;
		} else {
			sink_put(&s, open, 1);
			p = open + 1;
		}
	}
	out[s.len] = '\0';
	return s.len;
}
