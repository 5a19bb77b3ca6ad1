/*
 * core/ref.c owns the mapping between ticket row ids and speakable refs: a
 * keyed Feistel permutation (SipHash-2-4 round function, libsodium's
 * crypto_shorthash: a keyed PRF made for short inputs) printed in base 32. Pure:
 * no I/O, no state; the key comes from cl_crypto_ref_key(). Called by the
 * ticket code (id -> ref) and by every channel that accepts a typed ref.
 */
#include "careline/ref.h"

#include <string.h>

#include <sodium.h>

#define ALPHABET        "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#define ROUNDS          8
#define SHORT_CHARS     5
#define LONG_CHARS      6
#define SHORT_HALF_BITS 13 /* 26-bit network, cycle-walked below 2^25 */
#define LONG_HALF_BITS  15 /* 30-bit network, exactly the 6-character space */
#define SHORT_LIMIT     ((uint32_t)1 << (5 * SHORT_CHARS))
#define LONG_LIMIT      ((uint32_t)1 << (5 * LONG_CHARS))

_Static_assert(sizeof(ALPHABET) - 1 == 32, "32 symbols, 5 bits each");
_Static_assert(CL_REF_MAX > LONG_CHARS, "room for the longest ref and its NUL");
_Static_assert(2 * LONG_HALF_BITS == 5 * LONG_CHARS, "6 characters need no walking");
_Static_assert(2 * SHORT_HALF_BITS > 5 * SHORT_CHARS, "5 characters walk a larger network");

/* One Feistel network for one key and width. */
struct feistel {
	unsigned char key[crypto_shorthash_KEYBYTES];
	unsigned half_bits;
	uint32_t mask;
};
_Static_assert(crypto_shorthash_KEYBYTES <= 32, "the round key is taken from the ref key");

static void feistel_init(struct feistel *f, const unsigned char key[32], unsigned half_bits)
{
	memcpy(f->key, key, sizeof(f->key));
	f->half_bits = half_bits;
	f->mask = ((uint32_t)1 << half_bits) - 1;
}

static void feistel_fini(struct feistel *f)
{
	sodium_memzero(f, sizeof(*f));
}

/* The width is hashed too, so the 5- and 6-character networks are unrelated. */
static uint32_t round_fn(const struct feistel *f, unsigned round, uint32_t half)
{
	unsigned char in[6] = {(unsigned char)f->half_bits, (unsigned char)round,
	                       (unsigned char)half,         (unsigned char)(half >> 8),
	                       (unsigned char)(half >> 16), (unsigned char)(half >> 24)};
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, in, sizeof(in), f->key);
	uint32_t v =
	    (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	return v & f->mask;
}

static uint32_t permute(const struct feistel *f, uint32_t v)
{
	uint32_t l = v >> f->half_bits, r = v & f->mask;
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint32_t t = l ^ round_fn(f, i, r);
		l = r;
		r = t;
	}
	return l << f->half_bits | r;
}

static uint32_t unpermute(const struct feistel *f, uint32_t v)
{
	uint32_t l = v >> f->half_bits, r = v & f->mask;
	for (unsigned i = ROUNDS; i-- > 0;) {
		uint32_t t = r ^ round_fn(f, i, l);
		r = l;
		l = t;
	}
	return l << f->half_bits | r;
}

/* Cycle-walking: apply the network until the value falls below limit. It
 * terminates because the start value is below limit and lies on a cycle. */
static uint32_t walk(const struct feistel *f, uint32_t v, uint32_t limit, int inverse)
{
	do
		v = inverse ? unpermute(f, v) : permute(f, v);
	while (v >= limit);
	return v;
}

void cl_ref_from_id(const unsigned char key[32], int64_t id, char out[CL_REF_MAX])
{
	out[0] = '\0';
	if (id < 1 || id >= (int64_t)LONG_LIMIT)
		return; /* no ref for it: callers only pass row ids */
	int chars = id < (int64_t)SHORT_LIMIT ? SHORT_CHARS : LONG_CHARS;
	struct feistel f;
	feistel_init(&f, key, chars == SHORT_CHARS ? SHORT_HALF_BITS : LONG_HALF_BITS);
	uint32_t v = chars == SHORT_CHARS ? walk(&f, (uint32_t)id, SHORT_LIMIT, 0)
	                                  : permute(&f, (uint32_t)id);
	feistel_fini(&f);
	for (int i = chars - 1; i >= 0; i--) {
		out[i] = ALPHABET[v & 31];
		v >>= 5;
	}
	out[chars] = '\0';
}

static int symbol_value(char c)
{
	const char *p = c ? strchr(ALPHABET, c) : NULL;
	return p ? (int)(p - ALPHABET) : -1;
}

bool cl_ref_canonical(const char *ref, char out[CL_REF_MAX])
{
	out[0] = '\0';
	if (!ref)
		return false;
	size_t n = strnlen(ref, LONG_CHARS + 1);
	if (n != SHORT_CHARS && n != LONG_CHARS)
		return false;
	char buf[CL_REF_MAX];
	for (size_t i = 0; i < n; i++) {
		char c = ref[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (symbol_value(c) < 0)
			return false;
		buf[i] = c;
	}
	buf[n] = '\0';
	memcpy(out, buf, n + 1);
	return true;
}

bool cl_ref_to_id(const unsigned char key[32], const char *ref, int64_t *id)
{
	char canon[CL_REF_MAX];
	if (!cl_ref_canonical(ref, canon))
		return false;
	size_t n = strlen(canon);
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 5 | (uint32_t)symbol_value(canon[i]);
	struct feistel f;
	uint32_t x;
	if (n == SHORT_CHARS) {
		feistel_init(&f, key, SHORT_HALF_BITS);
		x = walk(&f, v, SHORT_LIMIT, 1);
	} else {
		feistel_init(&f, key, LONG_HALF_BITS);
		x = unpermute(&f, v);
	}
	feistel_fini(&f);
	/* Refs no id maps to: the image of 0, and 6-character images of
	 * values that have a 5-character ref. */
	if (x == 0 || (n == LONG_CHARS && x < SHORT_LIMIT))
		return false;
	*id = x;
	return true;
}
