/*
 * gateway/sms_codec.c owns what the SMS provider codecs share: form
 * encoding/decoding, phone number normalisation, GSM 03.38 / UCS-2 segment
 * counting, the provider registry, the staff reply-code and keyword grammar,
 * and small helpers (constant-time compare, API URLs, UTF-8 checks). Pure
 * functions: no I/O, no logging.
 */
#include "sms.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* --- structs ------------------------------------------------------------------ */

void gw_sms_inbound_free(struct gw_sms_inbound *in)
{
	if (!in)
		return;
	free(in->text);
	in->text = NULL;
}

void gw_sms_request_free(struct gw_sms_request *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
}

const char *gw_sms_delivery_name(enum gw_sms_delivery d)
{
	switch (d) {
	case GW_SMS_QUEUED:
		return "queued";
	case GW_SMS_SENT:
		return "sent";
	case GW_SMS_DELIVERED:
		return "delivered";
	case GW_SMS_UNDELIVERED:
		return "undelivered";
	case GW_SMS_FAILED:
		return "failed";
	}
	return "unknown";
}

const struct gw_sms_provider *gw_sms_provider_find(const char *name)
{
	static const struct gw_sms_provider *const all[] = {&gw_sms_twilio, &gw_sms_46elks,
	                                                    &gw_sms_gatewayapi};
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

/* --- helpers ------------------------------------------------------------------ */

bool gw_sms_streq_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false; /* lengths are not the secret */
	return la == 0 || sodium_memcmp(a, b, la) == 0;
}

int gw_sms_copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);
	if (len == 0)
		return -1;
	if (n >= len) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int gw_sms_api_url(char *out, size_t len, const char *base, const char *def, const char *path)
{
	const char *b = base && *base ? base : def;
	size_t bl = strlen(b), pl = strlen(path);
	while (bl > 0 && b[bl - 1] == '/')
		bl--;
	if (len == 0 || bl + pl >= len) {
		if (len)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, b, bl);
	memcpy(out + bl, path, pl + 1);
	return 0;
}

/* Decode one UTF-8 sequence at s (n bytes left). Returns its length and sets
 * *cp, or returns 0 for an ill-formed sequence (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2, c &= 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3, c &= 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

bool gw_sms_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return false;
		i += n;
	}
	return true;
}

/* --- application/x-www-form-urlencoded ------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) (+ and %XX) into a new string; NULL if malformed (a bad
 * escape, %00 or a raw NUL, which would cut a signed value short) or out of
 * memory. */
static char *form_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0') {
			free(out);
			return NULL;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void gw_form_free(struct gw_form *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

int gw_form_parse(const char *body, size_t len, struct gw_form *out)
{
	size_t cap = 0;
	out->v = NULL;
	out->n = 0;
	size_t i = 0;
	while (i < len) {
		const char *p = body + i;
		const char *amp = memchr(p, '&', len - i);
		size_t plen = amp ? (size_t)(amp - p) : len - i;
		i += plen + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2" */
		const char *eq = memchr(p, '=', plen);
		size_t nlen = eq ? (size_t)(eq - p) : plen;
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct gw_form_pair *nv = realloc(out->v, ncap * sizeof(*nv));
			if (!nv)
				goto fail;
			out->v = nv;
			cap = ncap;
		}
		char *name = form_decode(p, nlen);
		char *value = eq ? form_decode(eq + 1, plen - nlen - 1) : form_decode("", 0);
		if (!name || !value) {
			free(name);
			free(value);
			goto fail;
		}
		out->v[out->n].name = name;
		out->v[out->n].value = value;
		out->n++;
	}
	return 0;
fail:
	gw_form_free(out);
	return -1;
}

const char *gw_form_get(const struct gw_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

/* The WHATWG urlencoded serialiser: alphanumerics and *-._ stay, space
 * becomes '+', every other byte %XX. */
static size_t form_encode(char *dst, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '*' || c == '-' || c == '.' || c == '_') {
			if (dst)
				dst[n] = (char)c;
			n++;
		} else if (c == ' ') {
			if (dst)
				dst[n] = '+';
			n++;
		} else {
			if (dst) {
				dst[n] = '%';
				dst[n + 1] = hex[c >> 4];
				dst[n + 2] = hex[c & 15];
			}
			n += 3;
		}
	}
	return n;
}

int gw_form_append(char **s, const char *name, const char *value)
{
	size_t old = *s ? strlen(*s) : 0;
	size_t nl = form_encode(NULL, name), vl = form_encode(NULL, value);
	size_t total = old + (old ? 1 : 0) + nl + 1 + vl + 1;
	char *r = realloc(*s, total);
	if (!r)
		return -1;
	char *o = r + old;
	if (old)
		*o++ = '&';
	o += form_encode(o, name);
	*o++ = '=';
	o += form_encode(o, value);
	*o = '\0';
	*s = r;
	return 0;
}

/* --- phone numbers --------------------------------------------------------------- */

int gw_phone_normalise(const char *in, char *out, size_t len)
{
	char digits[32];
	size_t nd = 0;
	bool plus = false;
	if (!in)
		return -1;
	for (const char *p = in; *p; p++) {
		char c = *p;
		if (c >= '0' && c <= '9') {
			if (nd + 1 >= sizeof(digits))
				return -1;
			digits[nd++] = c;
		} else if (c == '+') {
			if (plus || nd > 0)
				return -1;
			plus = true;
		} else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '\t') {
			continue;
		} else {
			return -1; /* letters: a text sender, not a number */
		}
	}
	digits[nd] = '\0';
	const char *d = digits;
	char buf[40];
	if (!plus && nd > 2 && d[0] == '0' && d[1] == '0') {
		d += 2; /* international prefix 00 */
		nd -= 2;
	} else if (!plus && nd == 8) {
		memcpy(buf, "45", 2); /* a Danish subscriber number */
		memcpy(buf + 2, d, nd + 1);
		d = buf;
		nd += 2;
	} else if (!plus && nd < 8) {
		return -1;
	}
	/* E.164: a country code (no leading 0), at most 15 digits in all. */
	if (nd < 7 || nd > 15 || d[0] == '0')
		return -1;
	if (nd + 2 > len)
		return -1;
	out[0] = '+';
	memcpy(out + 1, d, nd + 1);
	return 0;
}

/* --- SMS length --------------------------------------------------------------- */

/* Septets a code point costs in GSM 03.38 (basic table 1, extension table 2),
 * or 0 when it has no GSM-7 form. */
static int gsm_cost(uint32_t cp)
{
	static const uint16_t basic[] = {
	    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
	    0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
	    0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
	    0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
	};
	if (cp < 0x80) {
		switch (cp) {
		case '\n':
		case '\r':
			return 1;
		case '\f': /* extension table: page break */
		case '^':
		case '{':
		case '}':
		case '\\':
		case '[':
		case '~':
		case ']':
		case '|':
			return 2;
		case '`':
		case 0x7F:
			return 0;
		default:
			return cp < 0x20 ? 0 : 1;
		}
	}
	if (cp == 0x20AC) /* € */
		return 2;
	for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
		if (basic[i] == cp)
			return 1;
	return 0;
}

/* The next code point; an ill-formed byte counts as U+FFFD (UCS-2). */
static size_t next_cp(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t l = utf8_next(s, n, cp);
	if (l == 0) {
		*cp = 0xFFFD;
		return 1;
	}
	return l;
}

void gw_sms_length(const char *utf8, struct gw_sms_length *out)
{
	const unsigned char *s = (const unsigned char *)(utf8 ? utf8 : "");
	size_t n = strlen((const char *)s);
	int septets = 0, units = 0;
	bool gsm7 = true;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += next_cp(s + i, n - i, &cp);
		int c = gsm_cost(cp);
		if (c == 0)
			gsm7 = false;
		septets += c;
		units += cp >= 0x10000 ? 2 : 1;
	}
	int single = gsm7 ? 160 : 70, part = gsm7 ? 153 : 67;
	out->gsm7 = gsm7;
	out->units = gsm7 ? septets : units;
	if (out->units <= single) {
		out->segments = 1; /* an empty text still goes out as one SMS */
		return;
	}
	/* Concatenated: an escape pair or a surrogate pair never straddles two
	 * parts, so fill the parts character by character. */
	int segments = 1, used = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += next_cp(s + i, n - i, &cp);
		int c = gsm7 ? gsm_cost(cp) : (cp >= 0x10000 ? 2 : 1);
		if (used + c > part) {
			segments++;
			used = 0;
		}
		used += c;
	}
	out->segments = segments;
}

/* --- the texts' own grammar ------------------------------------------------ */

bool gw_sms_parse_reply(const char *folded, int *code, enum cl_action_kind *action)
{
	const char *s = folded;
	*code = 0;
	while (isdigit((unsigned char)*s) && *code < 100000)
		*code = *code * 10 + (*s++ - '0');
	if (*s == ' ')
		s++;
	if (strcmp(s, "a") == 0 || strcmp(s, "ok") == 0)
		*action = CL_ACTION_ACK;
	else if (strcmp(s, "e") == 0)
		*action = CL_ACTION_DECLINE;
	else if (strcmp(s, "c") == 0)
		*action = CL_ACTION_RESOLVE;
	else if (strcmp(s, "t") == 0)
		*action = CL_ACTION_TAKE;
	else
		return false;
	return s != folded || *code == 0;
}

bool gw_sms_word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	for (const char *s = list; *s;) {
		size_t k = strcspn(s, " ");
		if (k == n && strncmp(s, word, n) == 0)
			return true;
		s += k;
		while (*s == ' ')
			s++;
	}
	return false;
}
