/*
 * core/normalise.c owns turning report text into categories, urgency,
 * anonymity and a best-effort Danish address (include/careline/normalise.h).
 * The keywords are data (config/normalise.ini), loaded once into a hash of
 * first words; cl_normalise folds and tokenises once, on the stack, and does
 * no I/O and no allocation. Called by the ingest path for every report.
 */
#include "careline/normalise.h"

#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/fold.h"

#define MAX_TEXT         4096 /* bytes of a report that are examined */
#define MAX_TOKENS       (MAX_TEXT / 2 + 8)
#define FBUF_LEN         (3 * MAX_TEXT + 16)
#define MAX_GAP          3 /* words a "..." may stand for */
#define MAX_GAPS         2 /* "..." per phrase */
#define MAX_PHRASE_WORDS 16
#define MAX_CUES         32
#define MAX_NAME         32
#define MAX_RULE_LINE    (INI_MAX_LINE - 4) /* inih needs 3 bytes more than a line */

_Static_assert(CL_CAT__COUNT <= 32, "categories fit a 32-bit mask");
_Static_assert(FBUF_LEN <= UINT16_MAX, "token offsets fit 16 bits");

/* ---- rules ---------------------------------------------------------------- */

enum { PAT_PREFIX = 1, PAT_GAP = 2 };
enum { HIT_CATEGORY, HIT_CUE };

struct pat {          /* one word of a phrase */
	uint32_t off; /* folded word in pool */
	uint16_t len;
	uint16_t flags;
};

struct phrase {
	uint32_t first; /* index into pats */
	uint16_t npat;
	uint8_t kind; /* HIT_CATEGORY or HIT_CUE */
	uint8_t id;
	int32_t next; /* next phrase with the same first word, -1 ends */
};

struct slot { /* hash slot: a first word (or first-word prefix) */
	uint32_t key_off;
	uint16_t key_len;
	uint8_t prefix;
	uint8_t used;
	int32_t head;
};

struct word {
	uint32_t off;
	uint16_t len;
};

struct wordlist {
	struct word *w;
	size_t n, cap;
};

struct urule {
	enum cl_urgency urgency;
	uint32_t cats; /* all of these categories ... */
	uint32_t cues; /* ... and all of these cues */
};

struct cl_norm_rules {
	char *pool; /* folded words, NUL-terminated */
	size_t pool_len, pool_cap;
	struct pat *pats;
	size_t npats, pats_cap;
	struct phrase *phrases;
	size_t nphrases, phrases_cap;
	struct slot *slots;
	size_t nslots;        /* a power of two, at least twice the first words */
	uint64_t prefix_lens; /* bit k: a prefix key of k bytes exists; bit 63: longer */
	enum cl_category order[CL_CAT__COUNT];
	size_t norder;
	struct urule *urules;
	size_t nurules, urules_cap;
	enum cl_urgency default_urgency;
	char cues[MAX_CUES][MAX_NAME];
	size_t ncues;
	struct wordlist anon;     /* [anonymous] prefix */
	struct wordlist suffixes; /* [address] street_suffix */
};

struct loader {
	struct cl_norm_rules *r;
	char err[160]; /* the first error's message */
	int nomem;
};

static int grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void **arr = arrp;
	if (need <= *cap)
		return 1;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return 0;
	*arr = p;
	*cap = ncap;
	return 1;
}

static int fail(struct loader *ld, const char *fmt, const char *arg)
{
	if (!ld->err[0])
		snprintf(ld->err, sizeof(ld->err), fmt, arg);
	return 0;
}

static int oom(struct loader *ld)
{
	ld->nomem = 1;
	return fail(ld, "%s", "out of memory");
}

static int pool_add(struct loader *ld, const char *s, size_t len, uint32_t *off)
{
	struct cl_norm_rules *r = ld->r;
	if (!grow(&r->pool, &r->pool_cap, r->pool_len + len + 1, 1))
		return oom(ld);
	memcpy(r->pool + r->pool_len, s, len);
	r->pool[r->pool_len + len] = '\0';
	*off = (uint32_t)r->pool_len;
	r->pool_len += len + 1;
	return 1;
}

static const char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Calls fn for each comma-separated, trimmed, non-empty item of value. */
static int each_item(struct loader *ld, const char *value,
                     int (*fn)(struct loader *, const char *, void *), void *arg)
{
	char buf[INI_MAX_LINE + 1];
	snprintf(buf, sizeof(buf), "%s", value);
	char *p = buf;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		const char *item = trim(p);
		if (*item && !fn(ld, item, arg))
			return 0;
		if (!comma)
			return 1;
		p = comma + 1;
	}
}

/* One folded word into the wordlist arg (the item must fold to one word). */
static int add_word(struct loader *ld, const char *item, void *arg)
{
	struct wordlist *list = arg;
	char folded[2 * INI_MAX_LINE + 1];
	size_t len = cl_fold(item, folded, sizeof(folded));
	if (len == 0 || strchr(folded, ' '))
		return fail(ld, "'%s' must be one word", item);
	if (!grow(&list->w, &list->cap, list->n + 1, sizeof(*list->w)))
		return oom(ld);
	struct word *w = &list->w[list->n];
	if (!pool_add(ld, folded, len, &w->off))
		return 0;
	w->len = (uint16_t)len;
	list->n++;
	return 1;
}

struct hit {
	uint8_t kind, id;
};

static int add_pat(struct loader *ld, const char *s, size_t len, uint16_t flags)
{
	struct cl_norm_rules *r = ld->r;
	if (!grow(&r->pats, &r->pats_cap, r->npats + 1, sizeof(*r->pats)))
		return oom(ld);
	struct pat *p = &r->pats[r->npats];
	p->off = 0;
	if (len && !pool_add(ld, s, len, &p->off))
		return 0;
	p->len = (uint16_t)len;
	p->flags = flags;
	r->npats++;
	return 1;
}

/* A phrase: words separated by blanks, "word*" a prefix, "..." a gap. */
static int add_phrase(struct loader *ld, const char *item, void *arg)
{
	struct cl_norm_rules *r = ld->r;
	const struct hit *hit = arg;
	char buf[INI_MAX_LINE + 1];
	snprintf(buf, sizeof(buf), "%s", item);
	size_t first = r->npats;
	int ngaps = 0, last_gap = 1;

	for (char *save = NULL, *raw = strtok_r(buf, " \t", &save); raw;
	     raw = strtok_r(NULL, " \t", &save)) {
		if (strcmp(raw, "...") == 0) {
			if (last_gap || ++ngaps > MAX_GAPS)
				return fail(ld, "misplaced '...' in '%s'", item);
			if (!add_pat(ld, "", 0, PAT_GAP))
				return 0;
			last_gap = 1;
			continue;
		}
		size_t rlen = strlen(raw);
		uint16_t prefix = 0;
		if (raw[rlen - 1] == '*') {
			raw[--rlen] = '\0';
			prefix = PAT_PREFIX;
		}
		if (strchr(raw, '*'))
			return fail(ld, "'*' only ends a word, in '%s'", item);
		char folded[2 * INI_MAX_LINE + 1];
		size_t flen = cl_fold(raw, folded, sizeof(folded));
		if (flen == 0)
			return fail(ld, "no letters or digits in '%s'", item);
		/* a word may fold to several ("haven't" -> "haven t") */
		for (char *w = folded; *w;) {
			char *sp = strchr(w, ' ');
			size_t wl = sp ? (size_t)(sp - w) : strlen(w);
			if (!add_pat(ld, w, wl, sp ? 0 : prefix))
				return 0;
			w += wl + (sp ? 1 : 0);
		}
		last_gap = 0;
	}
	size_t npat = r->npats - first;
	if (npat == 0)
		return 1;
	if (last_gap)
		return fail(ld, "misplaced '...' in '%s'", item);
	if (npat > MAX_PHRASE_WORDS)
		return fail(ld, "too many words in '%s'", item);
	if (!grow(&r->phrases, &r->phrases_cap, r->nphrases + 1, sizeof(*r->phrases)))
		return oom(ld);
	struct phrase *ph = &r->phrases[r->nphrases++];
	ph->first = (uint32_t)first;
	ph->npat = (uint16_t)npat;
	ph->kind = hit->kind;
	ph->id = hit->id;
	ph->next = -1;
	return 1;
}

static int add_order(struct loader *ld, const char *item, void *arg)
{
	struct cl_norm_rules *r = ld->r;
	enum cl_category cat;
	if (cl_category_parse(item, &cat) != CL_OK)
		return fail(ld, "unknown category '%s'", item);
	for (size_t i = 0; i < r->norder; i++) {
		if (r->order[i] == cat)
			return fail(ld, "category '%s' listed twice", item);
	}
	r->order[r->norder++] = cat;
	return 1;
}

static int find_cue(const struct cl_norm_rules *r, const char *name)
{
	for (size_t i = 0; i < r->ncues; i++) {
		if (strcmp(r->cues[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static int add_urgency(struct loader *ld, const char *key, const char *value)
{
	struct cl_norm_rules *r = ld->r;
	enum cl_urgency u;
	if (cl_urgency_parse(key, &u) != CL_OK)
		return fail(ld, "unknown urgency '%s' (P0..P3 or default)", key);
	struct urule rule = {.urgency = u};
	char buf[INI_MAX_LINE + 1];
	snprintf(buf, sizeof(buf), "%s", value);
	char *p = buf;
	for (;;) {
		char *plus = strchr(p, '+');
		if (plus)
			*plus = '\0';
		const char *term = trim(p);
		enum cl_category cat;
		int cue;
		if (!*term)
			return fail(ld, "empty term in urgency rule '%s'", value);
		if (cl_category_parse(term, &cat) == CL_OK)
			rule.cats |= 1u << cat;
		else if ((cue = find_cue(r, term)) >= 0)
			rule.cues |= 1u << cue;
		else
			return fail(ld, "unknown category or cue '%s' (declare cues first)", term);
		if (!plus)
			break;
		p = plus + 1;
	}
	if (!grow(&r->urules, &r->urules_cap, r->nurules + 1, sizeof(*r->urules)))
		return oom(ld);
	r->urules[r->nurules++] = rule;
	return 1;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct loader *ld = user;
	struct cl_norm_rules *r = ld->r;
	char sec[MAX_NAME * 2];
	const char *arg = "";

	snprintf(sec, sizeof(sec), "%s", section);
	char *sp = strchr(sec, ' ');
	if (sp) {
		*sp = '\0';
		arg = trim(sp + 1);
	}
	if (strcmp(sec, "category") == 0 || strcmp(sec, "cue") == 0) {
		struct hit hit;
		if (strcmp(name, "match") != 0)
			return fail(ld, "unknown key '%s' (expected match)", name);
		if (strcmp(sec, "category") == 0) {
			enum cl_category cat;
			if (cl_category_parse(arg, &cat) != CL_OK)
				return fail(ld, "unknown category '%s'", arg);
			hit = (struct hit){HIT_CATEGORY, (uint8_t)cat};
		} else {
			enum cl_category cat;
			int cue = find_cue(r, arg);
			if (cue < 0) {
				size_t n = strlen(arg);
				if (n == 0 || n >= MAX_NAME ||
				    strspn(arg, "abcdefghijklmnopqrstuvwxyz"
				                "0123456789_") != n)
					return fail(ld, "bad cue name '%s' (a-z, 0-9, _)", arg);
				if (cl_category_parse(arg, &cat) == CL_OK)
					return fail(ld, "cue '%s' has a category's name", arg);
				if (r->ncues == MAX_CUES)
					return fail(ld, "too many cues at '%s'", arg);
				cue = (int)r->ncues++;
				snprintf(r->cues[cue], MAX_NAME, "%s", arg);
			}
			hit = (struct hit){HIT_CUE, (uint8_t)cue};
		}
		return each_item(ld, value, add_phrase, &hit);
	}
	if (*arg)
		return fail(ld, "unknown section '[%s]'", section);
	if (strcmp(sec, "order") == 0) {
		if (strcmp(name, "main") != 0)
			return fail(ld, "unknown key '%s' (expected main)", name);
		return each_item(ld, value, add_order, NULL);
	}
	if (strcmp(sec, "anonymous") == 0) {
		if (strcmp(name, "prefix") != 0)
			return fail(ld, "unknown key '%s' (expected prefix)", name);
		return each_item(ld, value, add_word, &r->anon);
	}
	if (strcmp(sec, "address") == 0) {
		if (strcmp(name, "street_suffix") != 0)
			return fail(ld, "unknown key '%s' (expected street_suffix)", name);
		return each_item(ld, value, add_word, &r->suffixes);
	}
	if (strcmp(sec, "urgency") == 0) {
		if (strcmp(name, "default") == 0) {
			if (cl_urgency_parse(value, &r->default_urgency) != CL_OK)
				return fail(ld, "unknown urgency '%s' (P0..P3)", value);
			return 1;
		}
		return add_urgency(ld, name, value);
	}
	return fail(ld, "unknown section '[%s]'", section);
}

#define FNV_OFFSET 2166136261u
#define FNV_PRIME  16777619u

static uint32_t fnv(const char *s, size_t n)
{
	uint32_t h = FNV_OFFSET;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
	return h;
}

static size_t slot_index(uint32_t h, int prefix, size_t mask)
{
	h ^= prefix ? 0x9e3779b9u : 0;
	h *= 0x85ebca6bu;
	h ^= h >> 15;
	return h & mask;
}

static struct slot *find_slot(const struct cl_norm_rules *r, const char *key, size_t len,
                              uint32_t h, int prefix)
{
	size_t mask = r->nslots - 1;
	for (size_t i = slot_index(h, prefix, mask);; i = (i + 1) & mask) {
		struct slot *s = &r->slots[i];
		if (!s->used || (s->prefix == prefix && s->key_len == len &&
		                 memcmp(r->pool + s->key_off, key, len) == 0))
			return s;
	}
}

static int build_index(struct cl_norm_rules *r)
{
	r->nslots = 16;
	while (r->nslots < 2 * r->nphrases + 2)
		r->nslots *= 2;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	if (!r->slots)
		return 0;
	/* insert backwards so each chain lists phrases in file order */
	for (size_t i = r->nphrases; i-- > 0;) {
		struct phrase *ph = &r->phrases[i];
		const struct pat *p = &r->pats[ph->first];
		int prefix = (p->flags & PAT_PREFIX) != 0;
		struct slot *s =
		    find_slot(r, r->pool + p->off, p->len, fnv(r->pool + p->off, p->len), prefix);
		if (!s->used) {
			s->used = 1;
			s->key_off = p->off;
			s->key_len = p->len;
			s->prefix = (uint8_t)prefix;
			s->head = -1;
		}
		ph->next = s->head;
		s->head = (int32_t)i;
		if (prefix)
			r->prefix_lens |= 1ull << (p->len < 63 ? p->len : 63);
	}
	return 1;
}

/* inih splits a line longer than its buffer into two lines: refuse those. */
static int long_line(const char *text)
{
	int line = 1;
	size_t len = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			line++;
			len = 0;
		} else if (++len > MAX_RULE_LINE) {
			return line;
		}
	}
	return 0;
}

enum cl_err cl_norm_rules_load(const char *ini_text, struct cl_norm_rules **out, char *errbuf,
                               size_t errlen)
{
	struct loader ld = {0};
	enum cl_err err = CL_ERR_CONFIG;
	int line;

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!ini_text) {
		snprintf(ld.err, sizeof(ld.err), "no rules text");
		line = 0;
		goto fail;
	}
	if ((line = long_line(ini_text)) != 0) {
		snprintf(ld.err, sizeof(ld.err), "line longer than %d bytes", MAX_RULE_LINE);
		goto fail;
	}
	ld.r = calloc(1, sizeof(*ld.r));
	if (!ld.r) {
		err = CL_ERR_NOMEM;
		line = 0;
		goto fail;
	}
	ld.r->default_urgency = CL_P3;
	line = ini_parse_string(ini_text, on_entry, &ld);
	if (ld.nomem || line < 0) {
		err = CL_ERR_NOMEM;
		goto fail;
	}
	if (line > 0) {
		if (!ld.err[0])
			snprintf(ld.err, sizeof(ld.err),
			         "syntax error (expected [section] or key = value)");
		goto fail;
	}
	if (ld.r->nphrases == 0) {
		snprintf(ld.err, sizeof(ld.err), "no [category ...] match keywords");
		goto fail;
	}
	for (int c = 0; c < CL_CAT__COUNT; c++) {
		size_t i = 0;
		while (i < ld.r->norder && ld.r->order[i] != (enum cl_category)c)
			i++;
		if (i == ld.r->norder)
			ld.r->order[ld.r->norder++] = (enum cl_category)c;
	}
	if (!build_index(ld.r)) {
		err = CL_ERR_NOMEM;
		goto fail;
	}
	*out = ld.r;
	return CL_OK;

fail:
	if (errbuf && errlen) {
		if (line > 0)
			snprintf(errbuf, errlen, "normalise rules line %d: %s", line, ld.err);
		else
			snprintf(errbuf, errlen, "normalise rules: %s",
			         ld.err[0] ? ld.err : cl_strerror(err));
	}
	cl_norm_rules_free(ld.r);
	return err;
}

void cl_norm_rules_free(struct cl_norm_rules *rules)
{
	if (!rules)
		return;
	free(rules->pool);
	free(rules->pats);
	free(rules->phrases);
	free(rules->slots);
	free(rules->urules);
	free(rules->anon.w);
	free(rules->suffixes.w);
	free(rules);
}

/* ---- tokens ---------------------------------------------------------------- */

/* What stood between a token and the one before it (blanks alone are 0). */
enum { SEP_DOT = 1, SEP_COMMA = 2, SEP_BREAK = 4, SEP_OTHER = 8 };
#define SEP_CLAUSE (SEP_DOT | SEP_COMMA | SEP_BREAK)

struct tok {
	uint16_t f; /* folded word at fbuf + f, NUL-terminated */
	uint16_t flen;
	uint16_t o0, o1; /* the original chunk it came from: text[o0..o1) */
	uint8_t sep;
	uint8_t whole; /* the chunk folded to this one word alone */
};

struct scratch {
	const char *text; /* the examined bytes, n of them */
	size_t n;
	struct tok toks[MAX_TOKENS];
	size_t ntok;
	char fbuf[FBUF_LEN];
	char chunk[MAX_TEXT + 1];
};

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static uint8_t sep_class(unsigned char c)
{
	switch (c) {
	case ' ':
	case '\t':
		return 0;
	case '.':
		return SEP_DOT;
	case ',':
		return SEP_COMMA;
	case ';':
	case ':':
	case '!':
	case '?':
	case '\n':
	case '\r':
		return SEP_BREAK;
	default:
		return SEP_OTHER;
	}
}

/* Splits text[from..n) into folded words. A chunk is a run of ASCII letters
 * and digits and non-ASCII bytes; folding it may yield several words. */
static void tokenise(struct scratch *sc, const char *text, size_t from, size_t n)
{
	size_t fused = 0;
	uint8_t sep = 0;

	sc->text = text;
	sc->n = n;
	sc->ntok = 0;
	for (size_t i = from; i < n;) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x80 && !is_alnum(c)) {
			sep |= sep_class(c);
			i++;
			continue;
		}
		size_t j = i;
		while (j < n &&
		       ((unsigned char)text[j] >= 0x80 || is_alnum((unsigned char)text[j])))
			j++;
		memcpy(sc->chunk, text + i, j - i);
		sc->chunk[j - i] = '\0';
		char *f = sc->fbuf + fused;
		size_t fl = cl_fold(sc->chunk, f, sizeof(sc->fbuf) - fused);
		if (fl == 0) {
			sep |= SEP_OTHER;
			i = j;
			continue;
		}
		size_t first = sc->ntok;
		for (size_t w = 0; w < fl && sc->ntok < MAX_TOKENS;) {
			size_t e = w;
			while (e < fl && f[e] != ' ')
				e++;
			f[e] = '\0';
			struct tok *t = &sc->toks[sc->ntok++];
			t->f = (uint16_t)(fused + w);
			t->flen = (uint16_t)(e - w);
			t->o0 = (uint16_t)i;
			t->o1 = (uint16_t)j;
			t->sep = sc->ntok - 1 == first ? sep : SEP_OTHER;
			t->whole = 0;
			w = e + 1;
		}
		if (sc->ntok - first == 1)
			sc->toks[first].whole = 1;
		fused += fl + 1;
		sep = 0;
		i = j;
	}
}

static const char *word(const struct scratch *sc, size_t i)
{
	return sc->fbuf + sc->toks[i].f;
}

static int word_is(const struct scratch *sc, size_t i, const char *w)
{
	return i < sc->ntok && strcmp(word(sc, i), w) == 0;
}

/* ---- keyword matching ------------------------------------------------------- */

static int pat_matches(const struct cl_norm_rules *r, const struct pat *p, const struct scratch *sc,
                       size_t i)
{
	const struct tok *t = &sc->toks[i];
	if (t->flen < p->len || (!(p->flags & PAT_PREFIX) && t->flen != p->len))
		return 0;
	return memcmp(sc->fbuf + t->f, r->pool + p->off, p->len) == 0;
}

/* Do pats[0..np) match the words from i on, none after a clause break? */
static int match_rest(const struct cl_norm_rules *r, const struct pat *p, size_t np,
                      const struct scratch *sc, size_t i)
{
	if (np == 0)
		return 1;
	if (p->flags & PAT_GAP) {
		for (size_t skip = 0; skip <= MAX_GAP; skip++) {
			if (i + skip >= sc->ntok || (sc->toks[i + skip].sep & SEP_CLAUSE))
				return 0;
			if (match_rest(r, p + 1, np - 1, sc, i + skip))
				return 1;
		}
		return 0;
	}
	if (i >= sc->ntok || (sc->toks[i].sep & SEP_CLAUSE) || !pat_matches(r, p, sc, i))
		return 0;
	return match_rest(r, p + 1, np - 1, sc, i + 1);
}

static void try_chain(const struct cl_norm_rules *r, const struct slot *s, const struct scratch *sc,
                      size_t i, uint32_t *cats, uint32_t *cues)
{
	for (int32_t k = s->head; k >= 0; k = r->phrases[k].next) {
		const struct phrase *ph = &r->phrases[k];
		uint32_t *mask = ph->kind == HIT_CATEGORY ? cats : cues;
		if (*mask & (1u << ph->id))
			continue;
		if (match_rest(r, &r->pats[ph->first + 1], ph->npat - 1u, sc, i + 1))
			*mask |= 1u << ph->id;
	}
}

/* Each word is looked up once whole and once per prefix length that some
 * phrase uses, with the hash computed incrementally: linear in the text. */
static void match_keywords(const struct cl_norm_rules *r, const struct scratch *sc, uint32_t *cats,
                           uint32_t *cues)
{
	for (size_t i = 0; i < sc->ntok; i++) {
		const char *w = word(sc, i);
		size_t len = sc->toks[i].flen;
		uint32_t h = FNV_OFFSET;
		for (size_t k = 1; k <= len; k++) {
			h = (h ^ (unsigned char)w[k - 1]) * FNV_PRIME;
			if (r->prefix_lens & (1ull << (k < 63 ? k : 63))) {
				const struct slot *s = find_slot(r, w, k, h, 1);
				if (s->used)
					try_chain(r, s, sc, i, cats, cues);
			}
		}
		const struct slot *s = find_slot(r, w, len, h, 0);
		if (s->used)
			try_chain(r, s, sc, i, cats, cues);
	}
}

/* ---- addresses --------------------------------------------------------------- */

static int is_upper_at(const unsigned char *p, size_t n)
{
	if (n >= 1 && p[0] >= 'A' && p[0] <= 'Z')
		return 1;
	return n >= 2 && p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97;
}

static int has_lower(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 'a' && p[i] <= 'z')
			return 1;
		if (p[i] == 0xC3 && i + 1 < n && p[i + 1] >= 0x9F && p[i + 1] != 0xB7)
			return 1;
	}
	return 0;
}

static const unsigned char *orig(const struct scratch *sc, size_t i)
{
	return (const unsigned char *)sc->text + sc->toks[i].o0;
}

static size_t orig_len(const struct scratch *sc, size_t i)
{
	return (size_t)(sc->toks[i].o1 - sc->toks[i].o0);
}

static int capitalised(const struct scratch *sc, size_t i)
{
	return sc->toks[i].whole && is_upper_at(orig(sc, i), orig_len(sc, i));
}

/* "Vestergade": capital first letter, lowercase after. */
static int titlecase(const struct scratch *sc, size_t i)
{
	return capitalised(sc, i) && has_lower(orig(sc, i), orig_len(sc, i));
}

static int all_digits(const char *w, size_t len, size_t min, size_t max)
{
	if (len < min || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9')
			return 0;
	}
	return 1;
}

/* "14", "14b": 1..999 and an optional letter. */
static int is_house_number(const struct scratch *sc, size_t i)
{
	if (i >= sc->ntok)
		return 0;
	const char *w = word(sc, i);
	size_t len = sc->toks[i].flen;
	if (len > 1 && w[len - 1] >= 'a' && w[len - 1] <= 'z')
		len--;
	return w[0] != '0' && all_digits(w, len, 1, 3);
}

static int is_postcode(const struct scratch *sc, size_t i)
{
	const char *w = word(sc, i);
	return sc->toks[i].whole && w[0] != '0' && all_digits(w, sc->toks[i].flen, 4, 4);
}

/* Floors are "st" (stuen), "kl" (kælder) or 1..99; sides tv, th, mf. */
static int is_floor(const struct scratch *sc, size_t i)
{
	const char *w = word(sc, i);
	return strcmp(w, "st") == 0 || strcmp(w, "kl") == 0 ||
	       (w[0] != '0' && all_digits(w, sc->toks[i].flen, 1, 2));
}

static int is_side(const struct scratch *sc, size_t i)
{
	return word_is(sc, i, "tv") || word_is(sc, i, "th") || word_is(sc, i, "mf");
}

/* Copies len bytes, cut at a UTF-8 boundary if dst is too small. */
static void copy_span(char *dst, size_t cap, const void *src, size_t len)
{
	const unsigned char *s = src;
	if (len >= cap) {
		len = cap - 1;
		while (len > 0 && (s[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void set_number(struct cl_address *a, const struct scratch *sc, size_t i)
{
	copy_span(a->number, sizeof(a->number), word(sc, i), sc->toks[i].flen);
	size_t n = strlen(a->number);
	if (n && a->number[n - 1] >= 'a' && a->number[n - 1] <= 'z')
		a->number[n - 1] = (char)(a->number[n - 1] - 'a' + 'A');
}

/* The floor at i and the side after it (an optional "sal" between, only blanks
 * or a dot before each). Returns the index after the side, or 0. */
static size_t floor_side(const struct scratch *sc, size_t i, struct cl_address *a)
{
	size_t j = i + 1;
	if (!is_floor(sc, i))
		return 0;
	if (word_is(sc, j, "sal") && !(sc->toks[j].sep & ~SEP_DOT))
		j++;
	if (j >= sc->ntok || !is_side(sc, j) || (sc->toks[j].sep & ~SEP_DOT))
		return 0;
	copy_span(a->floor, sizeof(a->floor), word(sc, i), sc->toks[i].flen);
	copy_span(a->side, sizeof(a->side), word(sc, j), sc->toks[j].flen);
	return j + 1;
}

static int ends_with_suffix(const struct cl_norm_rules *r, const struct scratch *sc, size_t i,
                            int *exact)
{
	const char *w = word(sc, i);
	size_t len = sc->toks[i].flen;
	if (w[0] >= '0' && w[0] <= '9')
		return 0;
	for (size_t k = 0; k < r->suffixes.n; k++) {
		const struct word *s = &r->suffixes.w[k];
		if (len >= s->len && memcmp(w + len - s->len, r->pool + s->off, s->len) == 0) {
			*exact = len == s->len;
			return 1;
		}
	}
	return 0;
}

/* Is word i a street name? Returns the index of its first word, or -1.
 * Up to two capitalised words directly before belong to it ("Gamle
 * Kongevej", "St. Kongensgade"); a bare suffix ("Vej") needs one. */
static long street_at(const struct cl_norm_rules *r, const struct scratch *sc, size_t i)
{
	int exact = 0;
	if (!sc->toks[i].whole || !ends_with_suffix(r, sc, i, &exact))
		return -1;
	size_t first = i;
	while (i - first < 2 && first > 0 && titlecase(sc, first - 1)) {
		uint8_t sep = sc->toks[first].sep;
		if (sep != 0 && !(sep == SEP_DOT && sc->toks[first - 1].flen <= 2))
			break;
		first--;
	}
	if (exact && (first == i || !titlecase(sc, i)))
		return -1;
	return (long)first;
}

static void set_street(struct cl_address *a, const struct scratch *sc, size_t first, size_t last)
{
	size_t len = (size_t)(sc->toks[last].o1 - sc->toks[first].o0);
	if (len >= sizeof(a->street)) {
		first = last;
		len = orig_len(sc, last);
	}
	copy_span(a->street, sizeof(a->street), orig(sc, first), len);
}

/* "2100 København Ø": the town and an optional district code or second word. */
static void set_city(struct cl_address *a, const struct scratch *sc, size_t i)
{
	size_t last = i;
	for (size_t j = i + 1; j < sc->ntok && j < i + 3 && sc->toks[j].sep == 0; j++) {
		if (!capitalised(sc, j))
			break;
		int code = sc->toks[j].flen <= 2 && !has_lower(orig(sc, j), orig_len(sc, j));
		if (!code && (!titlecase(sc, j) || j > i + 1))
			break;
		last = j;
		if (code)
			break;
	}
	copy_span(a->city, sizeof(a->city), orig(sc, i),
	          (size_t)(sc->toks[last].o1 - sc->toks[i].o0));
}

static void find_address(const struct cl_norm_rules *r, const struct scratch *sc,
                         struct cl_address *a)
{
	size_t number = SIZE_MAX;

	/* a street name, then a house number (or "nr." and the number) */
	for (size_t i = 0; i + 1 < sc->ntok && number == SIZE_MAX; i++) {
		long first = street_at(r, sc, i);
		if (first < 0)
			continue;
		size_t j = i + 1;
		if (word_is(sc, j, "nr") && !(sc->toks[j].sep & SEP_CLAUSE))
			j++;
		if (is_house_number(sc, j) && !(sc->toks[j].sep & ~SEP_DOT) &&
		    (j > i + 1 || sc->toks[j].sep == 0)) {
			set_street(a, sc, (size_t)first, i);
			number = j;
		}
	}
	/* else "nr. 14", "nr 5" */
	for (size_t i = 0; i + 1 < sc->ntok && number == SIZE_MAX; i++) {
		if (word_is(sc, i, "nr") && is_house_number(sc, i + 1) &&
		    !(sc->toks[i + 1].sep & ~SEP_DOT))
			number = i + 1;
	}
	if (number != SIZE_MAX)
		set_number(a, sc, number);
	/* "3. tv", "st. th.", "1. mf.": a floor alone ("2. sal") is not enough */
	for (size_t i = 0; i + 1 < sc->ntok; i++) {
		if (i != number && floor_side(sc, i, a))
			break;
	}
	/* "8000 Aarhus C": four digits and a capitalised town */
	for (size_t i = 0; i + 1 < sc->ntok; i++) {
		if (i != number && is_postcode(sc, i) && sc->toks[i + 1].sep == 0 &&
		    capitalised(sc, i + 1) && !is_side(sc, i + 1)) {
			copy_span(a->postcode, sizeof(a->postcode), word(sc, i), 4);
			set_city(a, sc, i + 1);
			break;
		}
	}
}

/* ---- the two entry points ------------------------------------------------------ */

/* Is the first word an anonymity keyword? Returns where the body starts. */
static size_t anonymous_prefix(const struct cl_norm_rules *r, const char *text, size_t n,
                               struct scratch *sc)
{
	size_t i = 0, j;
	while (i < n && (unsigned char)text[i] < 0x80 && !is_alnum((unsigned char)text[i]))
		i++;
	for (j = i; j < n && ((unsigned char)text[j] >= 0x80 || is_alnum((unsigned char)text[j]));)
		j++;
	if (j == i || j - i > 64)
		return 0;
	memcpy(sc->chunk, text + i, j - i);
	sc->chunk[j - i] = '\0';
	char folded[2 * 64 + 1];
	size_t flen = cl_fold(sc->chunk, folded, sizeof(folded));
	for (size_t k = 0; k < r->anon.n; k++) {
		const struct word *w = &r->anon.w[k];
		if (w->len == flen && memcmp(folded, r->pool + w->off, flen) == 0) {
			/* "ANONYM:", "anonym -", "Anonym." then blanks */
			while (j < n && strchr(" \t\r\n:.,;-!", text[j]))
				j++;
			while (j + 2 < n && (unsigned char)text[j] == 0xE2 &&
			       (unsigned char)text[j + 1] == 0x80 &&
			       ((unsigned char)text[j + 2] == 0x93 ||
			        (unsigned char)text[j + 2] == 0x94)) {
				j += 3; /* en or em dash */
				while (j < n && strchr(" \t\r\n:.,;-!", text[j]))
					j++;
			}
			return j;
		}
	}
	return 0;
}

static enum cl_urgency urgency_of(const struct cl_norm_rules *rules, uint32_t cats, uint32_t cues)
{
	enum cl_urgency u = rules->default_urgency;
	for (size_t i = 0; i < rules->nurules; i++) {
		const struct urule *rule = &rules->urules[i];
		if ((cats & rule->cats) == rule->cats && (cues & rule->cues) == rule->cues &&
		    rule->urgency < u)
			u = rule->urgency;
	}
	return u;
}

/* Tokenises text after any anonymity prefix and matches every keyword. */
static size_t scan(const struct cl_norm_rules *rules, const char *text, struct scratch *sc,
                   uint32_t *cats, uint32_t *cues)
{
	size_t n = strnlen(text, MAX_TEXT);
	size_t body = anonymous_prefix(rules, text, n, sc);
	tokenise(sc, text, body, n);
	match_keywords(rules, sc, cats, cues);
	return body;
}

void cl_normalise(const struct cl_norm_rules *rules, const char *text, struct cl_norm_result *out)
{
	struct scratch sc;
	uint32_t cats = 0, cues = 0;

	memset(out, 0, sizeof(*out));
	out->body_offset = scan(rules, text ? text : "", &sc, &cats, &cues);
	out->anonymous = out->body_offset > 0;
	for (size_t i = 0; i < rules->norder; i++) {
		enum cl_category c = rules->order[i];
		if (c != CL_CAT_OTHER && (cats & (1u << c)))
			cl_categories_add(&out->categories, c);
	}
	if (out->categories.n == 0) {
		cl_categories_add(&out->categories, CL_CAT_OTHER);
		cats = 1u << CL_CAT_OTHER;
	}
	out->urgency = urgency_of(rules, cats, cues);
	find_address(rules, &sc, &out->address);
}

enum cl_urgency cl_norm_urgency(const struct cl_norm_rules *rules, const struct cl_categories *cats,
                                const char *text)
{
	struct scratch sc;
	uint32_t found = 0, cues = 0, mask = 0;

	if (text)
		scan(rules, text, &sc, &found, &cues);
	for (size_t i = 0; i < cats->n && i < CL_CAT__COUNT; i++) {
		if ((unsigned)cats->cats[i] < CL_CAT__COUNT)
			mask |= 1u << cats->cats[i];
	}
	return urgency_of(rules, mask, cues);
}

bool cl_address_parse(const char *s, struct cl_address *out)
{
	struct scratch sc;
	size_t i, seg = 0, number = SIZE_MAX;

	memset(out, 0, sizeof(*out));
	if (!s)
		return false;
	tokenise(&sc, s, 0, strnlen(s, MAX_TEXT));

	/* street: the words before the first house number, within its comma part */
	for (i = 0; i < sc.ntok; i++) {
		if (sc.toks[i].sep & SEP_CLAUSE & ~SEP_DOT)
			seg = i;
		if (is_house_number(&sc, i))
			break;
	}
	if (i < sc.ntok) {
		number = i;
		size_t end = i;
		if (end > seg && word_is(&sc, end - 1, "nr"))
			end--;
		if (end > seg)
			set_street(out, &sc, seg, end - 1);
		set_number(out, &sc, i);
		/* "14 B" (but not "14 i Aarhus") */
		if (i + 1 < sc.ntok && sc.toks[i + 1].flen == 1 && sc.toks[i + 1].sep == 0 &&
		    word(&sc, i + 1)[0] >= 'a' && word(&sc, i + 1)[0] != 'i') {
			size_t l = strlen(out->number);
			if (l + 1 < sizeof(out->number) && out->number[l - 1] <= '9') {
				out->number[l] = (char)(word(&sc, i + 1)[0] - 'a' + 'A');
				out->number[l + 1] = '\0';
				i++;
			}
		}
		i++;
	} else {
		for (i = 0; i < sc.ntok && !(i > 0 && (sc.toks[i].sep & SEP_CLAUSE & ~SEP_DOT));
		     i++) {
			if (word(&sc, i)[0] <= '9')
				break;
		}
		if (i > 0)
			set_street(out, &sc, 0, i - 1);
	}

	/* floor and side; in an address field "3. sal" or "2." alone is a floor */
	for (size_t k = i; k < sc.ntok; k++) {
		if (is_postcode(&sc, k))
			break;
		size_t next = floor_side(&sc, k, out);
		if (next) {
			i = next;
			break;
		}
		if (is_floor(&sc, k) && k != number &&
		    (word_is(&sc, k + 1, "sal") ||
		     (sc.toks[k].o1 < sc.n && s[sc.toks[k].o1] == '.') || word(&sc, k)[0] > '9')) {
			copy_span(out->floor, sizeof(out->floor), word(&sc, k), sc.toks[k].flen);
			i = k + 1;
			break;
		}
	}

	/* postcode and town: the rest of that comma part */
	for (size_t k = i; k < sc.ntok; k++) {
		if (!is_postcode(&sc, k))
			continue;
		copy_span(out->postcode, sizeof(out->postcode), word(&sc, k), 4);
		size_t last = k;
		while (last + 1 < sc.ntok && !(sc.toks[last + 1].sep & SEP_CLAUSE & ~SEP_DOT))
			last++;
		if (last > k)
			copy_span(out->city, sizeof(out->city), orig(&sc, k + 1),
			          (size_t)(sc.toks[last].o1 - sc.toks[k + 1].o0));
		break;
	}
	return !cl_address_empty(out);
}
