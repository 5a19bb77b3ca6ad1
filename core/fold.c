/*
 * core/fold.c: folds UTF-8 Danish/English text for keyword and address
 * matching (see include/careline/fold.h). Knows ASCII, Latin-1 and Latin
 * Extended-A letters; every other code point, and every invalid byte, is a
 * separator. Pure, no allocation; called by normalise.c and report.c.
 */
#include "careline/fold.h"

#include <stdint.h>

/* U+00C0..U+00FF: what each code point folds to; "" for the two symbols. */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "ae", "aa", "ae", "c", "e",  "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o",  "o",  "oe", "",  "oe", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "ae", "aa", "ae", "c", "e",  "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o",  "o",  "oe", "",  "oe", "u", "u", "u", "u", "y", "th", "y",
};

/* U+0100..U+017F (Latin Extended-A): the base letter of each code point;
 * '2' marks the two ligatures handled below (U+0132/3 "ij", U+0152/3 "oe"). */
static const char latin_ext_a[129] = "aaaaaacccccccc"
                                     "dddd"
                                     "eeeeeeeeee"
                                     "gggggggg"
                                     "hhhh"
                                     "iiiiiiiiii"
                                     "22"
                                     "jj"
                                     "kkk"
                                     "llllllllll"
                                     "nnnnnnnnn"
                                     "oooooo"
                                     "22"
                                     "rrrrrr"
                                     "ssssssss"
                                     "tttttt"
                                     "uuuuuuuuuuuu"
                                     "ww"
                                     "yyy"
                                     "zzzzzz"
                                     "s";
_Static_assert(sizeof(latin_ext_a) == 129, "one letter per code point U+0100..U+017F");

/* Decodes one UTF-8 sequence at s (n bytes available). Returns its length and
 * sets *cp, or returns 1 with *cp = -1 for an invalid or truncated sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	int32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = -1;
		return 1;
	}
	if (len > n) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return len;
}

/* What code point cp folds to: writes into buf and returns the length, 0 when
 * cp is a separator. */
static size_t fold_cp(int32_t cp, char buf[3])
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp >= 'A' && cp <= 'Z') {
		buf[0] = (char)(cp - 'A' + 'a');
		return 1;
	}
	if (cp >= 0xC0 && cp <= 0xFF) {
		const char *m = latin1[cp - 0xC0];
		size_t n = 0;
		while (m[n]) {
			buf[n] = m[n];
			n++;
		}
		return n;
	}
	if (cp >= 0x100 && cp <= 0x17F) {
		char b = latin_ext_a[cp - 0x100];
		if (b != '2') {
			buf[0] = b;
			return 1;
		}
		buf[0] = cp < 0x140 ? 'i' : 'o';
		buf[1] = cp < 0x140 ? 'j' : 'e';
		return 2;
	}
	return 0;
}

size_t cl_fold(const char *src, char *dst, size_t dst_len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0, used = 0;
	int pending_space = 0;

	if (dst_len == 0)
		return 0;
	while (s[n])
		n++;
	for (size_t i = 0; i < n;) {
		int32_t cp;
		char out[3];
		i += utf8_decode(s + i, n - i, &cp);
		size_t olen = cp < 0 ? 0 : fold_cp(cp, out);
		if (olen == 0) {
			pending_space = used > 0;
			continue;
		}
		size_t need = olen + (pending_space ? 1 : 0);
		if (used + need + 1 > dst_len)
			break; /* truncate at a whole letter, never a trailing space */
		if (pending_space)
			dst[used++] = ' ';
		pending_space = 0;
		for (size_t k = 0; k < olen; k++)
			dst[used++] = out[k];
	}
	dst[used] = '\0';
	return used;
}
