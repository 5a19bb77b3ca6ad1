/*
 * tests/lib/fakevoice.c implements fakevoice.h: the fake voice provider's REST server
 * (libmicrohttpd, a thread per connection), its recordings and placed calls, the call
 * driver that runs TwiML (our own strict XML subset parser) or 46elks JSON against
 * careline (libcurl, in the caller's thread or a placed call's own thread), and the
 * transcripts. Signs with fakeprov's fp_twilio_signature; never includes gateway/.
 */
#include "fakevoice.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_REQUEST_BODY   (1024 * 1024)
#define HTTP_TIMEOUT_MS    15000
#define RELEASE_TIMEOUT_MS 5000 /* a placed call waits this long for its REST answer */
#define TWILIO_API_VERSION "2010-04-01"
#define XML_MAX_DEPTH      64
#define DEFAULT_NO_ANSWER  200
#define TWILIO_MAX_LENGTH  3600 /* <Record maxLength> default */
#define ELKS_TIMELIMIT     120  /* record action's timelimit default */
#define ELKS_REPEAT        3    /* ivr's repeat default */

enum kind {
	K_TWILIO,
	K_46ELKS,
};

/* StatusCallbackEvent bits. */
enum {
	EV_INITIATED = 1 << 0,
	EV_RINGING = 1 << 1,
	EV_ANSWERED = 1 << 2,
	EV_COMPLETED = 1 << 3,
};

/* --- small helpers ---------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		hx_fail("fakevoice: out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		hx_fail("fakevoice: out of memory");
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = xmalloc(n + 1);
	memcpy(p, s, n + 1);
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void *xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);
	if (n)
		memcpy(q, p, n);
	return q;
}

/* Copy src (NULL = "") into dst[cap], truncating. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	if (cap == 0)
		return;
	size_t n = src ? strnlen(src, cap - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		hx_fail("fakevoice: out of memory");
	va_end(ap);
	return s;
}

/* Make room for one more element of size elem in *arr (count n, capacity *cap). */
static void grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return;
	size_t c = *cap ? *cap * 2 : 8;
	*arr = xrealloc(*arr, c * elem);
	*cap = c;
}

/* A growing byte string, always NUL-terminated. */
struct sb {
	char *p;
	size_t len, cap;
};

static void sb_putn(struct sb *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static char *sb_take(struct sb *b)
{
	if (!b->p)
		return xstrdup("");
	char *p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

static void random_hex(char *out, size_t nhex)
{
	unsigned char raw[32];
	size_t nbytes = (nhex + 1) / 2;
	if (nbytes > sizeof(raw))
		hx_fail("fakevoice: random_hex too long");
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		hx_fail("fakevoice: getrandom failed");
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < nhex; i++)
		out[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
	out[nhex] = '\0';
}

/* UTC as 46elks writes it: "2018-07-13T13:57:23.741000". */
static void elks_time(char *out, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char day[32];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.20s.%06d", day, (int)(ts.tv_nsec / 1000 % 1000000));
}

/* RFC 2822, as Twilio writes dates: "Fri, 31 Oct 2014 03:39:29 +0000". */
static void rfc2822(char *out, size_t len, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Twilio's FromCountry/ToCountry for an E.164 number ("" when unknown). */
static const char *country_of(const char *number)
{
	static const struct {
		const char *prefix, *code;
	} table[] = {{"+45", "DK"}, {"+46", "SE"}, {"+47", "NO"}, {"+49", "DE"},
	             {"+44", "GB"}, {"+31", "NL"}, {"+1", "US"}};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (number && strncmp(number, table[i].prefix, strlen(table[i].prefix)) == 0)
			return table[i].code;
	return "";
}

/* "+" and 7..15 digits. */
static bool is_e164(const char *s)
{
	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	size_t n = 0;
	for (const char *p = s + 1; *p; p++, n++)
		if (!isdigit((unsigned char)*p))
			return false;
	return n >= 7 && n <= 15;
}

static char *b64_encode(const void *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	out[n] = '\0';
	return out;
}

/* "Basic base64(user:password)". Caller frees. */
static char *basic_header(const char *user, const char *password)
{
	char *raw = xasprintf("%s:%s", user, password ? password : "");
	char *enc = b64_encode(raw, strlen(raw));
	char *h = xasprintf("Basic %s", enc);
	free(raw);
	free(enc);
	return h;
}

/* Standard base64 (padded) into out; the length or -1. */
static int b64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t len = strlen(in);
	if (len == 0 || len % 4 || 3 * (len / 4) > cap)
		return -1;
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	if (in[len - 1] == '=')
		n--;
	if (in[len - 2] == '=')
		n--;
	return n;
}

static const char *param_get(const struct fp_param *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}

/* Deep copy of n params (names and values malloc'ed; fp_params_free frees). */
static struct fp_param *params_dup(const struct fp_param *p, size_t n)
{
	struct fp_param *q = xmalloc(n * sizeof(*q));
	for (size_t i = 0; i < n; i++) {
		q[i].name = xstrdup(p[i].name);
		q[i].value = xstrdup(p[i].value ? p[i].value : "");
	}
	return q;
}

/* --- WAV -------------------------------------------------------------------------- */

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void *fv_make_wav(int ms, size_t *len)
{
	uint32_t n = ms > 0 ? (uint32_t)ms * 8 : 0; /* 8000 samples a second */
	unsigned char *w = xmalloc(44 + (size_t)n);
	memcpy(w, "RIFF", 4);
	put_le(w + 4, 36 + n, 4);
	memcpy(w + 8, "WAVEfmt ", 8);
	put_le(w + 16, 16, 4);   /* fmt chunk size */
	put_le(w + 20, 1, 2);    /* PCM */
	put_le(w + 22, 1, 2);    /* mono */
	put_le(w + 24, 8000, 4); /* sample rate */
	put_le(w + 28, 8000, 4); /* byte rate */
	put_le(w + 32, 1, 2);    /* block align */
	put_le(w + 34, 8, 2);    /* bits per sample */
	memcpy(w + 36, "data", 4);
	put_le(w + 40, n, 4);
	for (uint32_t i = 0; i < n; i++)
		w[44 + i] = (i / 10) % 2 ? 136 : 120; /* a quiet 400 Hz square wave */
	*len = 44 + (size_t)n;
	return w;
}

static bool is_wav(const char *p, size_t n)
{
	return p && n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WAVE", 4) == 0;
}

/* --- a strict XML subset (TwiML) -------------------------------------------------- */

/* An element (name set) or a text node (name NULL, text set). */
struct xnode {
	char *name;
	char *text;
	struct fp_param *attrs;
	size_t n_attrs;
	struct xnode **kids;
	size_t n_kids, cap_kids;
};

struct xp {
	const char *s;
	size_t len, pos;
	int depth;
	char err[200];
};

static void xml_free(struct xnode *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->text);
	fp_params_free(n->attrs, n->n_attrs);
	for (size_t i = 0; i < n->n_kids; i++)
		xml_free(n->kids[i]);
	free(n->kids);
	free(n);
}

static int xerr(struct xp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xerr(struct xp *x, const char *fmt, ...)
{
	if (x->err[0])
		return -1;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(x->err, sizeof(x->err), "%s at byte %zu", msg, x->pos);
	return -1;
}

static bool x_starts(const struct xp *x, const char *lit)
{
	size_t n = strlen(lit);
	return x->len - x->pos >= n && memcmp(x->s + x->pos, lit, n) == 0;
}

static bool x_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void x_skip_space(struct xp *x)
{
	while (x->pos < x->len && x_space(x->s[x->pos]))
		x->pos++;
}

/* Skip past the next occurrence of lit; -1 when there is none. */
static int x_skip_past(struct xp *x, const char *lit, const char *what)
{
	size_t n = strlen(lit);
	for (size_t i = x->pos; i + n <= x->len; i++) {
		if (memcmp(x->s + i, lit, n) == 0) {
			x->pos = i + n;
			return 0;
		}
	}
	return xerr(x, "unterminated %s", what);
}

static bool name_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
	return name_start(c) || isdigit(c) || c == '-' || c == '.';
}

static char *x_name(struct xp *x)
{
	size_t start = x->pos;
	if (x->pos >= x->len || !name_start((unsigned char)x->s[x->pos])) {
		xerr(x, "expected a name");
		return NULL;
	}
	while (x->pos < x->len && name_char((unsigned char)x->s[x->pos]))
		x->pos++;
	return xstrndup(x->s + start, x->pos - start);
}

static void utf8_put(struct sb *b, unsigned long cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sb_putn(b, u, n);
}

/* Append s[0..n) to b with entities decoded; -1 on a bad or unknown entity. */
static int x_decode(struct xp *x, const char *s, size_t n, struct sb *b)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '&') {
			sb_putn(b, s + i, 1);
			continue;
		}
		const char *semi = memchr(s + i, ';', n - i);
		if (!semi || semi - (s + i) > 12)
			return xerr(x, "'&' without an entity");
		const char *e = s + i + 1;
		size_t elen = (size_t)(semi - e);
		static const struct {
			const char *name;
			char c;
		} named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
		bool done = false;
		for (size_t k = 0; k < sizeof(named) / sizeof(named[0]) && !done; k++) {
			if (elen == strlen(named[k].name) && memcmp(e, named[k].name, elen) == 0) {
				sb_putn(b, &named[k].c, 1);
				done = true;
			}
		}
		if (!done && elen >= 2 && e[0] == '#') {
			bool hex = e[1] == 'x';
			size_t k = hex ? 2 : 1;
			unsigned long cp = 0;
			if (k == elen)
				return xerr(x, "empty character reference");
			for (; k < elen; k++) {
				int d = hex ? (isxdigit((unsigned char)e[k])
				                   ? (isdigit((unsigned char)e[k])
				                          ? e[k] - '0'
				                          : tolower((unsigned char)e[k]) - 'a' + 10)
				                   : -1)
				            : (isdigit((unsigned char)e[k]) ? e[k] - '0' : -1);
				if (d < 0 || cp > 0x10FFFF)
					return xerr(x, "bad character reference &%.*s;", (int)elen,
					            e);
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			}
			if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
				return xerr(x, "bad character reference &%.*s;", (int)elen, e);
			utf8_put(b, cp);
			done = true;
		}
		if (!done)
			return xerr(x, "unknown entity &%.*s;", (int)elen, e);
		i = (size_t)(semi - s);
	}
	return 0;
}

static void x_add_kid(struct xnode *parent, struct xnode *kid)
{
	grow((void **)&parent->kids, &parent->cap_kids, parent->n_kids, sizeof(*parent->kids));
	parent->kids[parent->n_kids++] = kid;
}

/* Text (already decoded) appended to parent, merged with a text node before it. */
static void x_add_text(struct xnode *parent, const char *s, size_t n)
{
	if (n == 0)
		return;
	struct xnode *last = parent->n_kids ? parent->kids[parent->n_kids - 1] : NULL;
	if (last && !last->name) {
		size_t old = strlen(last->text);
		last->text = xrealloc(last->text, old + n + 1);
		memcpy(last->text + old, s, n);
		last->text[old + n] = '\0';
		return;
	}
	struct xnode *t = calloc(1, sizeof(*t));
	if (!t)
		hx_fail("fakevoice: out of memory");
	t->text = xstrndup(s, n);
	x_add_kid(parent, t);
}

static struct xnode *x_element(struct xp *x);

/* An element's attributes up to and including '>' or '/>'; *empty for '/>'. */
static int x_attrs(struct xp *x, struct xnode *el, bool *empty)
{
	size_t cap = 0;
	for (;;) {
		size_t before = x->pos;
		x_skip_space(x);
		if (x->pos >= x->len)
			return xerr(x, "unterminated tag <%s>", el->name);
		if (x_starts(x, "/>")) {
			x->pos += 2;
			*empty = true;
			return 0;
		}
		if (x->s[x->pos] == '>') {
			x->pos++;
			*empty = false;
			return 0;
		}
		if (x->pos == before)
			return xerr(x, "expected whitespace before an attribute in <%s>", el->name);
		char *name = x_name(x);
		if (!name)
			return -1;
		x_skip_space(x);
		if (x->pos >= x->len || x->s[x->pos] != '=') {
			free(name);
			return xerr(x, "attribute without '=' in <%s>", el->name);
		}
		x->pos++;
		x_skip_space(x);
		char q = x->pos < x->len ? x->s[x->pos] : 0;
		if (q != '"' && q != '\'') {
			free(name);
			return xerr(x, "unquoted attribute value in <%s>", el->name);
		}
		size_t start = ++x->pos;
		while (x->pos < x->len && x->s[x->pos] != q) {
			if (x->s[x->pos] == '<') {
				free(name);
				return xerr(x, "'<' in an attribute value");
			}
			x->pos++;
		}
		if (x->pos >= x->len) {
			free(name);
			return xerr(x, "unterminated attribute value");
		}
		struct sb v = {0};
		if (x_decode(x, x->s + start, x->pos - start, &v) != 0) {
			free(name);
			free(v.p);
			return -1;
		}
		x->pos++;
		if (param_get(el->attrs, el->n_attrs, name)) {
			xerr(x, "duplicate attribute %s in <%s>", name, el->name);
			free(name);
			free(v.p);
			return -1;
		}
		grow((void **)&el->attrs, &cap, el->n_attrs, sizeof(*el->attrs));
		el->attrs[el->n_attrs].name = name;
		el->attrs[el->n_attrs].value = sb_take(&v);
		el->n_attrs++;
	}
}

/* Content of el up to and including its end tag. */
static int x_content(struct xp *x, struct xnode *el)
{
	for (;;) {
		if (x->pos >= x->len)
			return xerr(x, "<%s> is not closed", el->name);
		if (x_starts(x, "</")) {
			x->pos += 2;
			char *name = x_name(x);
			if (!name)
				return -1;
			x_skip_space(x);
			bool ok = strcmp(name, el->name) == 0;
			if (!ok)
				xerr(x, "mismatched tag: <%s> closed by </%s>", el->name, name);
			free(name);
			if (!ok)
				return -1;
			if (x->pos >= x->len || x->s[x->pos] != '>')
				return xerr(x, "malformed end tag </%s", el->name);
			x->pos++;
			return 0;
		}
		if (x_starts(x, "<!--")) {
			if (x_skip_past(x, "-->", "comment") != 0)
				return -1;
		} else if (x_starts(x, "<![CDATA[")) {
			x->pos += 9;
			size_t start = x->pos;
			if (x_skip_past(x, "]]>", "CDATA section") != 0)
				return -1;
			x_add_text(el, x->s + start, x->pos - 3 - start);
		} else if (x_starts(x, "<?")) {
			if (x_skip_past(x, "?>", "processing instruction") != 0)
				return -1;
		} else if (x_starts(x, "<!")) {
			return xerr(x, "unsupported markup declaration");
		} else if (x->s[x->pos] == '<') {
			struct xnode *kid = x_element(x);
			if (!kid)
				return -1;
			x_add_kid(el, kid);
		} else {
			size_t start = x->pos;
			while (x->pos < x->len && x->s[x->pos] != '<')
				x->pos++;
			struct sb t = {0};
			if (x_decode(x, x->s + start, x->pos - start, &t) != 0) {
				free(t.p);
				return -1;
			}
			x_add_text(el, t.p ? t.p : "", t.len);
			free(t.p);
		}
	}
}

static struct xnode *x_element(struct xp *x)
{
	if (++x->depth > XML_MAX_DEPTH) {
		xerr(x, "elements nested too deep");
		return NULL;
	}
	x->pos++; /* '<' */
	struct xnode *el = calloc(1, sizeof(*el));
	if (!el)
		hx_fail("fakevoice: out of memory");
	el->name = x_name(x);
	bool empty = false;
	if (!el->name || x_attrs(x, el, &empty) != 0 || (!empty && x_content(x, el) != 0)) {
		xml_free(el);
		return NULL;
	}
	x->depth--;
	return el;
}

/* Comments, processing instructions and whitespace outside the root element. */
static int x_misc(struct xp *x)
{
	for (;;) {
		x_skip_space(x);
		if (x_starts(x, "<!--")) {
			if (x_skip_past(x, "-->", "comment") != 0)
				return -1;
		} else if (x_starts(x, "<?")) {
			if (x_starts(x, "<?xml") && x->pos != 0 &&
			    !(x->pos == 3 && memcmp(x->s, "\xEF\xBB\xBF", 3) == 0))
				return xerr(x, "XML declaration not at the start");
			if (x_skip_past(x, "?>", "processing instruction") != 0)
				return -1;
		} else if (x_starts(x, "<!DOCTYPE")) {
			return xerr(x, "DOCTYPE is not allowed");
		} else {
			return 0;
		}
	}
}

/* Parse a whole document; NULL with err filled when it is not well-formed. */
static struct xnode *xml_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct xp x = {.s = s, .len = len};
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		x.pos = 3;
	struct xnode *root = NULL;
	if (memchr(s, '\0', len)) {
		xerr(&x, "NUL byte in the document");
	} else if (x_misc(&x) == 0) {
		if (x.pos >= x.len || x.s[x.pos] != '<')
			xerr(&x,
			     x.pos >= x.len ? "no root element" : "text before the root element");
		else if ((root = x_element(&x)) != NULL && x_misc(&x) == 0 && x.pos < x.len)
			xerr(&x, "content after the root element");
	}
	if (x.err[0]) {
		xml_free(root);
		copy_str(err, errlen, x.err);
		return NULL;
	}
	return root;
}

static const char *xattr(const struct xnode *n, const char *name)
{
	return param_get(n->attrs, n->n_attrs, name);
}

/* Every text below n, concatenated. */
static void x_text(const struct xnode *n, struct sb *b)
{
	if (!n->name) {
		sb_puts(b, n->text);
		return;
	}
	for (size_t i = 0; i < n->n_kids; i++)
		x_text(n->kids[i], b);
}

/* n's text with outer whitespace trimmed. Caller frees. */
static char *x_trimmed_text(const struct xnode *n)
{
	struct sb b = {0};
	x_text(n, &b);
	char *s = sb_take(&b);
	size_t start = 0, end = strlen(s);
	while (start < end && x_space(s[start]))
		start++;
	while (end > start && x_space(s[end - 1]))
		end--;
	char *t = xstrndup(s + start, end - start);
	free(s);
	return t;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (!x_space(*s))
			return false;
	return true;
}

/* --- the fake's state ------------------------------------------------------------- */

struct rec {
	struct fv_recording pub; /* pub.audio points to audio */
	void *audio;
};

struct script {
	char to[48];
	struct fv_input *in;
	size_t n;
};

struct placed {
	struct fv *fv;
	struct fv_placed pub;
	char *url;             /* Url / voice_start in full */
	char *twiml;           /* Twilio Twiml parameter, NULL when Url */
	char *status_callback; /* in full, NULL none */
	unsigned events;
	bool answered;
	struct fv_input *script; /* a copy of the number's script */
	size_t n_script;
	struct fv_call *call; /* set by the thread; read after done */
	pthread_t thread;
	bool released; /* the REST answer went out */
};

struct fv {
	enum kind kind;
	char provider[16];
	char account[128];
	char secret[128];
	char base[64];
	struct MHD_Daemon *mhd;

	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;  /* placed calls recorded, released, done; stopping */
	char careline[256];
	char hook_secret[128];
	char public_url[256];
	char hook_user[128];
	char hook_password[128];
	bool hook_auth_set;
	int no_answer_ms;
	int answer_ms;
	unsigned tamper_flags;
	int tamper_count;
	struct rec *recs;
	size_t n_recs, cap_recs;
	size_t deletes;
	size_t api_requests;
	int fail_fetches; /* the next audio GETs answered fail_status */
	int fail_status;
	size_t failed_fetches;
	struct script *scripts;
	size_t n_scripts, cap_scripts;
	struct placed **placed;
	size_t n_placed, cap_placed;
	bool stopping;
};

/* The settings a request needs, copied under the lock. */
struct settings {
	char careline[256];
	char hook_secret[128];
	char public_url[256]; /* never empty: the careline base when unset */
	char hook_user[128];
	char hook_password[128];
	bool hook_auth_set;
};

static void settings_get(struct fv *fv, struct settings *s)
{
	pthread_mutex_lock(&fv->mu);
	copy_str(s->careline, sizeof(s->careline), fv->careline);
	copy_str(s->hook_secret, sizeof(s->hook_secret), fv->hook_secret);
	copy_str(s->public_url, sizeof(s->public_url),
	         fv->public_url[0] ? fv->public_url : fv->careline);
	copy_str(s->hook_user, sizeof(s->hook_user), fv->hook_user);
	copy_str(s->hook_password, sizeof(s->hook_password), fv->hook_password);
	s->hook_auth_set = fv->hook_auth_set;
	pthread_mutex_unlock(&fv->mu);
}

/* Take one use of fv_tamper_next's flags (0 when none are left). */
static unsigned take_fv_tamper(struct fv *fv)
{
	pthread_mutex_lock(&fv->mu);
	unsigned f = 0;
	if (fv->tamper_count > 0) {
		f = fv->tamper_flags;
		fv->tamper_count--;
	}
	pthread_mutex_unlock(&fv->mu);
	return f;
}

static struct fv_input *inputs_dup(const struct fv_input *in, size_t n)
{
	struct fv_input *c = xmalloc(n * sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		c[i] = in[i];
		c[i].digits = in[i].digits ? xstrdup(in[i].digits) : NULL;
		c[i].audio = in[i].audio ? xmemdup(in[i].audio, in[i].audio_len) : NULL;
	}
	return c;
}

static void inputs_free(struct fv_input *in, size_t n)
{
	if (!in)
		return;
	for (size_t i = 0; i < n; i++) {
		free((void *)in[i].digits);
		free((void *)in[i].audio);
	}
	free(in);
}

/* A new recording of the input's audio; its index. out gets a copy. */
static size_t rec_create(struct fv *fv, const char *call_id, const struct fv_input *in,
                         int duration_s, struct fv_recording *out)
{
	struct rec r = {0};
	char hex[33];
	random_hex(hex, 32);
	if (fv->kind == K_TWILIO) {
		snprintf(r.pub.id, sizeof(r.pub.id), "RE%s", hex);
		snprintf(r.pub.url, sizeof(r.pub.url), "%s/2010-04-01/Accounts/%s/Recordings/%s",
		         fv->base, fv->account, r.pub.id);
	} else {
		snprintf(r.pub.id, sizeof(r.pub.id), "r%s", hex);
		snprintf(r.pub.url, sizeof(r.pub.url), "%s/a1/recordings/%s.wav", fv->base,
		         r.pub.id);
	}
	copy_str(r.pub.call_id, sizeof(r.pub.call_id), call_id);
	if (in->kind != FV_SILENCE && in->audio) {
		r.audio = xmemdup(in->audio, in->audio_len);
		r.pub.len = in->audio_len;
	} else {
		r.audio =
		    fv_make_wav(in->kind == FV_SILENCE ? 0 : in->duration_s * 1000, &r.pub.len);
	}
	r.pub.audio = r.audio;
	r.pub.duration_s = duration_s;
	r.pub.at_ms = mono_ms();
	pthread_mutex_lock(&fv->mu);
	grow((void **)&fv->recs, &fv->cap_recs, fv->n_recs, sizeof(*fv->recs));
	size_t i = fv->n_recs++;
	fv->recs[i] = r;
	*out = r.pub;
	pthread_mutex_unlock(&fv->mu);
	return i;
}

/* --- HTTP client and URLs --------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static CURL *curl_new(void)
{
	pthread_once(&curl_once, curl_init_once);
	CURL *h = curl_easy_init();
	if (!h)
		hx_fail("fakevoice: curl_easy_init failed");
	return h;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	sb_putn(ud, ptr, size * nmemb);
	return size * nmemb;
}

/* One HTTP exchange, as sent and as answered. */
struct http_res {
	long status; /* 0: transport error */
	char *body;  /* NUL-terminated, len bytes; NULL on a transport error */
	size_t len;
	char *ctype;
	char *error;
	int64_t sent_us, done_us;
};

static void http_res_free(struct http_res *r)
{
	free(r->body);
	free(r->ctype);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

/* method "GET" or "POST" (body of len bytes); hdrs "Name: value" lines. h is reset
 * first, so a call's handle keeps its connections between requests. */
static void http_exec(CURL *h, const char *method, const char *url, char *const *hdrs,
                      size_t n_hdrs, const char *body, size_t len, struct http_res *out)
{
	memset(out, 0, sizeof(*out));
	curl_easy_reset(h);
	struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; i < n_hdrs; i++)
		hl = curl_slist_append(hl, hdrs[i]);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sb resp = {0};
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	out->sent_us = mono_us();
	CURLcode rc = curl_easy_perform(h);
	out->done_us = mono_us();
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
		char *ct = NULL;
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		out->ctype = dup_or_null(ct);
		out->len = resp.len;
		out->body = sb_take(&resp);
	} else {
		out->error = xstrdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
		free(resp.p);
	}
	curl_slist_free_all(hl);
}

static bool is_absolute(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* ref resolved against base (an absolute URL kept byte for byte). Caller frees;
 * NULL when it cannot be resolved. */
static char *url_resolve(const char *base, const char *ref)
{
	if (is_absolute(ref))
		return xstrdup(ref);
	if (!base)
		return NULL;
	CURLU *h = curl_url();
	char *out = NULL, *s = NULL;
	if (h && curl_url_set(h, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(h, CURLUPART_URL, ref, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_URL, &s, 0) == CURLUE_OK) {
		out = xstrdup(s);
		curl_free(s);
	}
	curl_url_cleanup(h);
	return out;
}

/* Where a URL careline gave really goes: the public prefix replaced by the careline
 * base. Caller frees. */
static char *url_target(const struct settings *s, const char *url)
{
	size_t n = strlen(s->public_url);
	while (n && s->public_url[n - 1] == '/')
		n--;
	if (n && strncmp(url, s->public_url, n) == 0 &&
	    (url[n] == '\0' || url[n] == '/' || url[n] == '?')) {
		size_t c = strlen(s->careline);
		while (c && s->careline[c - 1] == '/')
			c--;
		return xasprintf("%.*s%s", (int)c, s->careline, url + n);
	}
	return xstrdup(url);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* %XX decoded ('+' stays: this is a URL part, not a form). Caller frees. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
			                  hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* A URL's user:password@ taken out: *plain without it, *user / *password malloc'ed or
 * NULL. */
static void url_userinfo(const char *url, char **plain, char **user, char **password)
{
	*user = *password = NULL;
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	size_t hostlen = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hostlen);
	if (!at) {
		*plain = xstrdup(url);
		return;
	}
	const char *colon = memchr(host, ':', (size_t)(at - host));
	*user = pct_decode(host, colon ? (size_t)(colon - host) : (size_t)(at - host));
	*password = colon ? pct_decode(colon + 1, (size_t)(at - colon - 1)) : xstrdup("");
	*plain = xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

/* 46elks FP_WRONG_URL: the path segment after /hooks/46elks/ (else the one before the
 * last) replaced. Caller frees. */
static char *url_wrong_secret(const char *url)
{
	const char *p = strstr(url, "/hooks/46elks/");
	const char *seg = NULL;
	size_t seglen = 0;
	if (p) {
		seg = p + strlen("/hooks/46elks/");
		seglen = strcspn(seg, "/?");
	} else {
		const char *scheme = strstr(url, "://");
		const char *path = scheme ? scheme + 3 : url;
		path += strcspn(path, "/?");
		size_t plen = strcspn(path, "?");
		const char *last = NULL, *prev = NULL;
		for (const char *q = path; q < path + plen; q++)
			if (*q == '/') {
				prev = last;
				last = q;
			}
		if (prev) {
			seg = prev + 1;
			seglen = (size_t)(last - seg);
		}
	}
	if (!seg)
		return xasprintf("%s/wrong-secret", url);
	return xasprintf("%.*swrong-secret%s", (int)(seg - url), url, seg + seglen);
}

/* Content-Type's media type (before ';', case-insensitive) is one of list. */
static bool ctype_is(const char *ctype, const char *const *list, size_t n)
{
	if (!ctype)
		return false;
	size_t len = strcspn(ctype, ";");
	while (len && ctype[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncasecmp(ctype, list[i], len) == 0)
			return true;
	return false;
}

/* A webhook ready to go (and to go again, byte for byte). */
struct wire {
	char *method;
	char *target;
	char **hdrs;
	size_t n_hdrs;
	char *body;
	size_t len;
	struct fp_param *params; /* as sent (tampered values included) */
	size_t n_params;
};

static void wire_free(struct wire *w)
{
	free(w->method);
	free(w->target);
	for (size_t i = 0; i < w->n_hdrs; i++)
		free(w->hdrs[i]);
	free(w->hdrs);
	free(w->body);
	fp_params_free(w->params, w->n_params);
	memset(w, 0, sizeof(*w));
}

static void wire_header(struct wire *w, char *line)
{
	w->hdrs = xrealloc(w->hdrs, (w->n_hdrs + 1) * sizeof(char *));
	w->hdrs[w->n_hdrs++] = line;
}

/* Build the provider's webhook for method/url with fields p (flags: FP_* tampering). */
static void wire_build(struct fv *fv, const char *method, const char *url, const struct fp_param *p,
                       size_t n, unsigned flags, struct wire *w)
{
	memset(w, 0, sizeof(*w));
	struct settings s;
	settings_get(fv, &s);
	bool get = strcmp(method, "GET") == 0;
	w->method = xstrdup(get ? "GET" : "POST");
	w->params = params_dup(p, n);
	w->n_params = n;
	if (fv->kind == K_TWILIO) {
		char *full = NULL;
		if (get) {
			char *qs = fp_form_encode(p, n, true);
			full = xasprintf("%s%s%s", url, strchr(url, '?') ? "&" : "?", qs);
			free(qs);
		} else {
			full = xstrdup(url);
		}
		w->target = url_target(&s, full);
		char *sign_url = NULL;
		if (flags & FP_WRONG_URL)
			sign_url = strcmp(w->target, full) != 0 ? xstrdup(w->target)
			                                        : xasprintf("%s/wrong", full);
		else
			sign_url = xstrdup(full);
		char *secret =
		    xasprintf("%s%s", fv->secret, flags & FP_WRONG_SECRET ? "-wrong" : "");
		char *sig = fp_twilio_signature(secret, sign_url, get ? NULL : p, get ? 0 : n);
		if (flags & FP_TAMPER_SIGNATURE)
			sig[0] = sig[0] == 'A' ? 'B' : 'A';
		if (flags & FP_TAMPER_BODY) {
			size_t i = n;
			for (size_t k = 0; k < n; k++)
				if (strcmp(p[k].name, "Digits") == 0 ||
				    (i == n && strcmp(p[k].name, "From") == 0))
					i = k;
			if (i < n) {
				char *v = xasprintf("%s9", p[i].value);
				free((void *)w->params[i].value);
				w->params[i].value = v;
			}
			if (get) { /* the query carries the fields */
				char *qs = fp_form_encode(w->params, n, true);
				char *t =
				    xasprintf("%s%s%s", url, strchr(url, '?') ? "&" : "?", qs);
				free(w->target);
				w->target = url_target(&s, t);
				free(t);
				free(qs);
			}
		}
		if (!get)
			wire_header(w, xstrdup("Content-Type: application/x-www-form-urlencoded"));
		if (!(flags & FP_NO_SIGNATURE))
			wire_header(w, xasprintf("X-Twilio-Signature: %s", sig));
		char token[33];
		random_hex(token, 32);
		wire_header(w, xasprintf("I-Twilio-Idempotency-Token: %.8s-%.4s-%.4s-%.4s-%.12s",
		                         token, token + 8, token + 12, token + 16, token + 20));
		wire_header(w, xstrdup("User-Agent: TwilioProxy/1.1"));
		w->body = get ? xstrdup("") : fp_form_encode(w->params, n, true);
		free(sig);
		free(secret);
		free(sign_url);
		free(full);
	} else {
		char *plain, *user, *pass;
		url_userinfo(url, &plain, &user, &pass);
		char *target = url_target(&s, plain);
		w->target = flags & FP_WRONG_URL ? url_wrong_secret(target) : xstrdup(target);
		free(target);
		const char *au = s.hook_auth_set ? s.hook_user : user;
		const char *ap = s.hook_auth_set ? s.hook_password : pass;
		if (au && !(flags & FP_NO_SIGNATURE)) {
			char *pw = xasprintf("%s%s", ap ? ap : "",
			                     flags & FP_WRONG_SECRET ? "-wrong" : "");
			if (flags & FP_TAMPER_SIGNATURE) {
				if (pw[0]) {
					pw[0] = pw[0] == 'A' ? 'B' : 'A';
				} else {
					free(pw);
					pw = xstrdup("A");
				}
			}
			char *b = basic_header(au, pw);
			wire_header(w, xasprintf("Authorization: %s", b));
			free(b);
			free(pw);
		}
		if (!get)
			wire_header(w, xstrdup("Content-Type: application/x-www-form-urlencoded"));
		w->body = get ? xstrdup("") : fp_form_encode(p, n, false);
		free(plain);
		free(user);
		free(pass);
	}
	w->len = strlen(w->body);
}

/* --- a call: state and transcript ------------------------------------------------- */

/* The input a call waits for. */
enum pending {
	P_NONE,
	P_GATHER,      /* Twilio <Gather> */
	P_RECORD,      /* Twilio <Record> */
	P_IVR,         /* 46elks ivr */
	P_ELKS_RECORD, /* 46elks record */
};

static const char *const pending_names[] = {NULL, "Gather", "Record", "ivr", "record"};

struct fv_call {
	struct fv *fv;
	enum kind kind;
	bool outbound;
	char direction[16];
	char created[64];   /* 46elks "created" of the call */
	char *start_url;    /* the first webhook (NULL when start_doc) */
	char *start_method; /* "POST" or "GET" */
	char *start_doc;    /* an inline first document (Twilio Twiml, 46elks JSON) */
	char *final_url;    /* status callback / whenhangup, NULL for none */
	char *final_method;
	unsigned events; /* Twilio StatusCallbackEvent bits (placed calls) */
	int seq;         /* Twilio SequenceNumber of progress callbacks */
	bool no_final;
	unsigned tamper, tamper_next, tamper_first;
	CURL *curl; /* kept for the whole call: careline sees one keep-alive connection */
	int record_s;
	bool in_progress; /* a webhook went out: CallStatus in-progress from now on */

	/* Twilio: the document being run and the index of its next verb */
	struct xnode *doc;
	char *doc_url;
	size_t pc;
	/* the input being waited for */
	enum pending pending;
	const struct xnode *pending_node; /* Twilio: the Gather or Record */
	json_t *act;                      /* 46elks: the ivr or record action (own reference) */
	size_t ivr_play;                  /* 46elks: plays index of the ivr's prompt */

	struct wire last; /* the last request, for fv_call_repost_last */
	bool have_last;
	size_t last_index;

	struct fv_transcript tr; /* its pointers are the arrays below */
	struct fv_request *reqs;
	size_t cap_reqs;
	struct fv_say *says;
	size_t cap_says;
	struct fv_play *plays;
	size_t cap_plays;
	struct fv_given *given;
	size_t cap_given;
	size_t *recs;
	size_t cap_recs;
	struct fv_event *evs;
	size_t cap_evs;
	char *error;
	char *spoken;
};

static void tr_sync(struct fv_call *c)
{
	c->tr.requests = c->reqs;
	c->tr.says = c->says;
	c->tr.plays = c->plays;
	c->tr.inputs = c->given;
	c->tr.recordings = c->recs;
	c->tr.events = c->evs;
}

static void ev_push(struct fv_call *c, enum fv_event_kind kind, size_t index)
{
	grow((void **)&c->evs, &c->cap_evs, c->tr.n_events, sizeof(*c->evs));
	c->evs[c->tr.n_events++] = (struct fv_event){kind, index};
	tr_sync(c);
}

static void say_push(struct fv_call *c, char *text, const char *language, const char *voice,
                     int loop)
{
	grow((void **)&c->says, &c->cap_says, c->tr.n_says, sizeof(*c->says));
	c->says[c->tr.n_says] = (struct fv_say){text, xstrdup(language ? language : ""),
	                                        xstrdup(voice ? voice : ""), loop};
	ev_push(c, FV_EV_SAY, c->tr.n_says++);
}

static void given_push(struct fv_call *c, const struct fv_input *in, const char *digits,
                       int duration_s)
{
	grow((void **)&c->given, &c->cap_given, c->tr.n_inputs, sizeof(*c->given));
	c->given[c->tr.n_inputs] = (struct fv_given){in->kind, dup_or_null(digits), duration_s,
	                                             pending_names[c->pending], mono_ms()};
	ev_push(c, FV_EV_INPUT, c->tr.n_inputs++);
}

static void rec_push(struct fv_call *c, size_t index)
{
	grow((void **)&c->recs, &c->cap_recs, c->tr.n_recordings, sizeof(*c->recs));
	c->recs[c->tr.n_recordings++] = index;
	ev_push(c, FV_EV_RECORDING, index);
}

/* Record a request (its wire copied, the answer's strings moved out of res). */
static size_t req_push(struct fv_call *c, enum fv_req_kind kind, const char *url,
                       const struct wire *w, unsigned flags, struct http_res *res, size_t repost_of)
{
	grow((void **)&c->reqs, &c->cap_reqs, c->tr.n_requests, sizeof(*c->reqs));
	struct fv_request *r = &c->reqs[c->tr.n_requests];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->method = strcmp(w->method, "GET") == 0 ? "GET" : "POST";
	r->url = xstrdup(url);
	r->sent_to = xstrdup(w->target);
	r->params = params_dup(w->params, w->n_params);
	r->n_params = w->n_params;
	r->body = xmemdup(w->body, w->len + 1);
	r->tamper = flags;
	r->repost_of = repost_of;
	r->status = (int)res->status;
	r->content_type = res->ctype;
	r->response = res->body;
	r->response_len = res->len;
	r->error = res->error;
	res->ctype = res->body = res->error = NULL;
	r->sent_ms = res->sent_us / 1000;
	r->done_ms = res->done_us / 1000;
	r->elapsed_us = res->done_us - res->sent_us;
	if (kind == FV_REQ_START || kind == FV_REQ_ACTION)
		c->tr.round_trips++;
	size_t i = c->tr.n_requests++;
	ev_push(c, FV_EV_REQUEST, i);
	return i;
}

/* Send a webhook of this call (its tampering applied) and record it; its index. */
static size_t send_req(struct fv_call *c, enum fv_req_kind kind, const char *method,
                       const char *url, const struct fp_param *p, size_t n)
{
	unsigned flags = c->tamper | c->tamper_next | c->tamper_first | take_fv_tamper(c->fv);
	c->tamper_next = c->tamper_first = 0;
	struct wire w;
	wire_build(c->fv, method, url, p, n, flags, &w);
	struct http_res res;
	http_exec(c->curl, w.method, w.target, w.hdrs, w.n_hdrs, w.body, w.len, &res);
	size_t i = req_push(c, kind, url, &w, flags, &res, 0);
	http_res_free(&res);
	wire_free(&c->last);
	c->last = w;
	c->have_last = true;
	c->last_index = i;
	if (kind == FV_REQ_START || kind == FV_REQ_ACTION)
		c->in_progress = true;
	return i;
}

static void post_final(struct fv_call *c);

/* End the call (once) and post its final callback. fmt NULL: no error message. */
static void finish(struct fv_call *c, enum fv_end end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish(struct fv_call *c, enum fv_end end, const char *fmt, ...)
{
	if (c->tr.end != FV_END_NONE)
		return;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&c->error, fmt, ap) < 0)
			hx_fail("fakevoice: out of memory");
		va_end(ap);
		c->tr.error = c->error;
	}
	c->tr.end = end;
	c->pending = P_NONE;
	c->pending_node = NULL;
	json_decref(c->act);
	c->act = NULL;
	c->tr.ended_ms = mono_ms();
	c->tr.duration_s = end == FV_END_NO_ANSWER
	                       ? 0
	                       : (int)((c->tr.ended_ms - c->tr.started_ms) / 1000) + c->record_s;
	if (!c->no_final && c->final_url)
		post_final(c);
}

/* The answer of request i is to drive the call: 2xx with one of these content types;
 * else the call ends in an error. */
static bool answer_ok(struct fv_call *c, size_t i, const char *const *types, size_t n_types,
                      const char *wanted)
{
	const struct fv_request *r = &c->reqs[i];
	if (r->status == 0) {
		finish(c, FV_END_ERROR, "careline unreachable: %s (%s %s)", r->error, r->method,
		       r->url);
		return false;
	}
	if (r->status < 200 || r->status > 299) {
		finish(c, FV_END_ERROR, "HTTP %d from %s %s", r->status, r->method, r->url);
		return false;
	}
	if (!ctype_is(r->content_type, types, n_types)) {
		finish(c, FV_END_ERROR, "Content-Type %s from %s %s, want %s",
		       r->content_type ? r->content_type : "(none)", r->method, r->url, wanted);
		return false;
	}
	return true;
}

/* GET an audio URL careline gave (Play, 46elks play/ivr): 0, or -1 when the call ended
 * because it is not a WAV. */
static int play(struct fv_call *c, const char *url, int times)
{
	struct fv_play pl = {.url = xstrdup(url), .times = times, .at_ms = mono_ms(), .status = -1};
	if (is_absolute(url)) {
		struct settings s;
		settings_get(c->fv, &s);
		char *target = url_target(&s, url);
		struct http_res res;
		http_exec(c->curl, "GET", target, NULL, 0, NULL, 0, &res);
		pl.status = (int)res.status;
		pl.bytes = res.len;
		pl.wav = is_wav(res.body, res.len);
		http_res_free(&res);
		free(target);
	}
	grow((void **)&c->plays, &c->cap_plays, c->tr.n_plays, sizeof(*c->plays));
	c->plays[c->tr.n_plays] = pl;
	ev_push(c, FV_EV_PLAY, c->tr.n_plays++);
	if (pl.status != -1 && (pl.status != 200 || !pl.wav)) {
		finish(c, FV_END_ERROR, "play %s: %s", url,
		       pl.status == 0     ? "unreachable"
		       : pl.status != 200 ? "HTTP status not 200"
		                          : "not a RIFF/WAVE file");
		return -1;
	}
	return 0;
}

/* Pick the digits a Gather / ivr sends: a trailing finish key stripped, at most max. */
static void pick_digits(const char *in, const char *finish_keys, long max, char *out, size_t len)
{
	copy_str(out, len, in);
	size_t n = strlen(out);
	if (n && finish_keys && strchr(finish_keys, out[n - 1]))
		out[--n] = '\0';
	if (max > 0 && (size_t)max < n)
		out[max] = '\0';
}

static long attr_long(const char *v, long dflt)
{
	if (!v || !*v)
		return dflt;
	char *end;
	long n = strtol(v, &end, 10);
	return *end ? dflt : n;
}

/* --- Twilio ----------------------------------------------------------------------- */

/* The fields of every call request, status as given. Returns the count (11). */
static size_t tw_params(const struct fv_call *c, struct fp_param *p, const char *status)
{
	size_t n = 0;
	p[n++] = (struct fp_param){"AccountSid", c->fv->account};
	p[n++] = (struct fp_param){"ApiVersion", TWILIO_API_VERSION};
	p[n++] = (struct fp_param){"CallSid", c->tr.call_id};
	p[n++] = (struct fp_param){"CallStatus", status};
	p[n++] = (struct fp_param){"Called", c->tr.to};
	p[n++] = (struct fp_param){"Caller", c->tr.from};
	p[n++] = (struct fp_param){"Direction", c->direction};
	p[n++] = (struct fp_param){"From", c->tr.from};
	p[n++] = (struct fp_param){"FromCountry", country_of(c->tr.from)};
	p[n++] = (struct fp_param){"To", c->tr.to};
	p[n++] = (struct fp_param){"ToCountry", country_of(c->tr.to)};
	return n;
}

/* Make text the running document (url: its address, NULL inline). false: the call
 * ended in an error. */
static bool tw_set_doc(struct fv_call *c, const char *text, size_t len, const char *url)
{
	char err[200];
	struct xnode *doc = xml_parse(text ? text : "", text ? len : 0, err, sizeof(err));
	if (!doc) {
		finish(c, FV_END_ERROR, "malformed TwiML from %s: %s", url ? url : "(inline)", err);
		return false;
	}
	if (strcmp(doc->name, "Response") != 0) {
		finish(c, FV_END_ERROR, "TwiML root <%s> from %s, want <Response>", doc->name,
		       url ? url : "(inline)");
		xml_free(doc);
		return false;
	}
	xml_free(c->doc);
	c->doc = doc;
	free(c->doc_url);
	c->doc_url = dup_or_null(url);
	c->pc = 0;
	return true;
}

static bool tw_accept(struct fv_call *c, size_t i, const char *url)
{
	static const char *const types[] = {"text/xml", "application/xml"};
	if (!answer_ok(c, i, types, 2, "text/xml or application/xml"))
		return false;
	return tw_set_doc(c, c->reqs[i].response, c->reqs[i].response_len, url);
}

/* A call webhook whose answer is the next document: 0 and it is loaded, or -1 ended. */
static int tw_fetch(struct fv_call *c, enum fv_req_kind kind, const char *method, const char *url,
                    const struct fp_param *extra, size_t n_extra)
{
	struct fp_param p[24];
	size_t n = tw_params(c, p, c->in_progress || c->outbound ? "in-progress" : "ringing");
	for (size_t i = 0; i < n_extra && n < sizeof(p) / sizeof(p[0]); i++)
		p[n++] = extra[i];
	size_t i = send_req(c, kind, method, url, p, n);
	return tw_accept(c, i, url) ? 0 : -1;
}

static void tw_say(struct fv_call *c, const struct xnode *v)
{
	say_push(c, x_trimmed_text(v), xattr(v, "language"), xattr(v, "voice"),
	         (int)attr_long(xattr(v, "loop"), 1));
}

static int tw_play(struct fv_call *c, const struct xnode *v)
{
	char *text = x_trimmed_text(v);
	char *url = url_resolve(c->doc_url, text);
	int rc = play(c, url ? url : text, (int)attr_long(xattr(v, "loop"), 1));
	free(url);
	free(text);
	return rc;
}

/* The action URL of a Gather/Record (default: the document's) and its method. Caller
 * frees; NULL ends the call in an error. */
static char *tw_action(struct fv_call *c, const struct xnode *v, const char **method)
{
	const char *action = xattr(v, "action");
	const char *m = xattr(v, "method");
	*method = m && strcasecmp(m, "GET") == 0 ? "GET" : "POST";
	char *url = action && *action ? url_resolve(c->doc_url, action) : dup_or_null(c->doc_url);
	if (!url)
		finish(c, FV_END_ERROR, "<%s> without a usable action (\"%s\") in %s", v->name,
		       action ? action : "", c->doc_url ? c->doc_url : "an inline document");
	return url;
}

/* Run the document until an input is needed or the call ends. */
static void tw_run(struct fv_call *c)
{
	while (c->tr.end == FV_END_NONE) {
		if (c->pc >= c->doc->n_kids) {
			finish(c, FV_END_DOCUMENT, NULL);
			return;
		}
		const struct xnode *v = c->doc->kids[c->pc++];
		if (!v->name) {
			if (!blank(v->text))
				finish(c, FV_END_ERROR, "text outside a verb in <Response> of %s",
				       c->doc_url ? c->doc_url : "(inline)");
			continue;
		}
		if (strcmp(v->name, "Say") == 0) {
			tw_say(c, v);
		} else if (strcmp(v->name, "Play") == 0) {
			if (tw_play(c, v) != 0)
				return;
		} else if (strcmp(v->name, "Pause") == 0) {
			ev_push(c, FV_EV_PAUSE, (size_t)attr_long(xattr(v, "length"), 1));
		} else if (strcmp(v->name, "Gather") == 0) {
			for (size_t i = 0; i < v->n_kids && c->tr.end == FV_END_NONE; i++) {
				const struct xnode *k = v->kids[i];
				if (!k->name) {
					if (!blank(k->text))
						finish(c, FV_END_ERROR,
						       "text directly in <Gather>");
				} else if (strcmp(k->name, "Say") == 0) {
					tw_say(c, k);
				} else if (strcmp(k->name, "Play") == 0) {
					tw_play(c, k);
				} else if (strcmp(k->name, "Pause") == 0) {
					ev_push(c, FV_EV_PAUSE,
					        (size_t)attr_long(xattr(k, "length"), 1));
				} else {
					finish(c, FV_END_ERROR, "<%s> inside <Gather>", k->name);
				}
			}
			if (c->tr.end != FV_END_NONE)
				return;
			c->pending = P_GATHER;
			c->pending_node = v;
			return;
		} else if (strcmp(v->name, "Record") == 0) {
			if (v->n_kids) {
				finish(c, FV_END_ERROR, "<Record> has content");
				return;
			}
			c->pending = P_RECORD;
			c->pending_node = v;
			return;
		} else if (strcmp(v->name, "Redirect") == 0) {
			char *text = x_trimmed_text(v);
			char *url = url_resolve(c->doc_url, text);
			const char *m = xattr(v, "method");
			if (!url)
				finish(c, FV_END_ERROR, "<Redirect> to \"%s\" cannot be resolved",
				       text);
			else
				tw_fetch(c, FV_REQ_ACTION,
				         m && strcasecmp(m, "GET") == 0 ? "GET" : "POST", url, NULL,
				         0);
			free(url);
			free(text);
		} else if (strcmp(v->name, "Hangup") == 0) {
			finish(c, FV_END_HANGUP_VERB, NULL);
		} else {
			finish(c, FV_END_ERROR, "unsupported TwiML verb <%s>", v->name);
		}
	}
}

static void tw_gather_input(struct fv_call *c, const struct fv_input *in)
{
	const struct xnode *v = c->pending_node;
	switch (in->kind) {
	case FV_DIGITS: {
		const char *input = xattr(v, "input");
		if (input && !strstr(input, "dtmf")) {
			finish(c, FV_END_SCRIPT_ERROR, "digits at a <Gather input=\"%s\">", input);
			return;
		}
		const char *fk = xattr(v, "finishOnKey");
		char digits[128];
		pick_digits(in->digits ? in->digits : "", fk ? fk : "#",
		            attr_long(xattr(v, "numDigits"), 0), digits, sizeof(digits));
		given_push(c, in, digits, 0);
		const char *method;
		char *url = tw_action(c, v, &method);
		c->pending = P_NONE;
		if (!url)
			return;
		struct fp_param extra = {"Digits", digits};
		if (tw_fetch(c, FV_REQ_ACTION, method, url, &extra, 1) == 0)
			tw_run(c);
		free(url);
		return;
	}
	case FV_SILENCE: {
		given_push(c, in, NULL, 0);
		const char *empty = xattr(v, "actionOnEmptyResult");
		if (!empty || strcmp(empty, "true") != 0) {
			c->pending = P_NONE;
			tw_run(c); /* on with the verb after </Gather> */
			return;
		}
		const char *method; /* the action without Digits */
		char *url = tw_action(c, v, &method);
		c->pending = P_NONE;
		if (url && tw_fetch(c, FV_REQ_ACTION, method, url, NULL, 0) == 0)
			tw_run(c);
		free(url);
		return;
	}
	case FV_HANGUP:
		given_push(c, in, NULL, 0);
		finish(c, FV_END_CALLER_HANGUP, NULL);
		return;
	case FV_RECORD:
	case FV_RECORD_HANGUP:
		finish(c, FV_END_SCRIPT_ERROR, "a recording given at a <Gather>");
		return;
	}
}

static void tw_record_input(struct fv_call *c, const struct fv_input *in)
{
	const struct xnode *v = c->pending_node;
	if (in->kind == FV_HANGUP) {
		given_push(c, in, NULL, 0);
		finish(c, FV_END_CALLER_HANGUP, NULL);
		return;
	}
	if (in->kind == FV_DIGITS) {
		finish(c, FV_END_SCRIPT_ERROR, "digits given at a <Record>");
		return;
	}
	long max = attr_long(xattr(v, "maxLength"), TWILIO_MAX_LENGTH);
	int dur = in->kind == FV_SILENCE ? 0 : in->duration_s < 0 ? 0 : in->duration_s;
	if (max > 0 && dur > max)
		dur = (int)max;
	const char *method;
	char *url = tw_action(c, v, &method);
	if (!url)
		return;
	/* what the callbacks need, before the document is replaced */
	const char *cb = xattr(v, "recordingStatusCallback");
	const char *cbm = xattr(v, "recordingStatusCallbackMethod");
	const char *cbe = xattr(v, "recordingStatusCallbackEvent");
	char *cb_url =
	    cb && *cb && (!cbe || strstr(cbe, "completed")) ? url_resolve(c->doc_url, cb) : NULL;
	const char *cb_method = cbm && strcasecmp(cbm, "GET") == 0 ? "GET" : "POST";
	/* Digits: the key that ended it ('#' unless finishOnKey lacks it), "hangup", or
	 * none (silence, finishOnKey="") */
	const char *fk = xattr(v, "finishOnKey");
	char key[2] = {0, 0};
	const char *digits = NULL;
	if (in->kind == FV_RECORD_HANGUP) {
		digits = "hangup";
	} else if (in->kind == FV_RECORD && (!fk || strchr(fk, '#'))) {
		digits = "#";
	} else if (in->kind == FV_RECORD && *fk) {
		key[0] = fk[0];
		digits = key;
	}

	struct fv_recording r;
	size_t ri = rec_create(c->fv, c->tr.call_id, in, dur, &r);
	c->record_s += dur;
	given_push(c, in, NULL, dur);
	rec_push(c, ri);
	c->pending = P_NONE;
	c->pending_node = NULL;

	char sdur[16];
	snprintf(sdur, sizeof(sdur), "%d", dur);
	struct fp_param extra[4] = {{"RecordingUrl", r.url},
	                            {"RecordingDuration", sdur},
	                            {"RecordingSid", r.id},
	                            {"Digits", digits}};
	struct fp_param p[24];
	size_t n = tw_params(c, p, "in-progress");
	for (size_t i = 0; i < (digits ? 4u : 3u); i++)
		p[n++] = extra[i];
	size_t req = send_req(c, FV_REQ_ACTION, method, url, p, n);

	if (cb_url) {
		char start[64];
		rfc2822(start, sizeof(start), time(NULL) - dur);
		struct fp_param q[] = {
		    {"AccountSid", c->fv->account},   {"CallSid", c->tr.call_id},
		    {"RecordingSid", r.id},           {"RecordingUrl", r.url},
		    {"RecordingStatus", "completed"}, {"RecordingDuration", sdur},
		    {"RecordingChannels", "1"},       {"RecordingSource", "RecordVerb"},
		    {"RecordingStartTime", start}};
		send_req(c, FV_REQ_RECORDING, cb_method, cb_url, q, sizeof(q) / sizeof(q[0]));
	}
	if (in->kind == FV_RECORD_HANGUP)
		finish(c, FV_END_CALLER_HANGUP, NULL); /* the action's answer is not used */
	else if (tw_accept(c, req, url))
		tw_run(c);
	free(cb_url);
	free(url);
}

/* --- 46elks ----------------------------------------------------------------------- */

/* POST a webhook whose answer is an action object: own reference, or NULL (ended). */
static json_t *elks_fetch(struct fv_call *c, enum fv_req_kind kind, const char *url,
                          const struct fp_param *p, size_t n)
{
	static const char *const types[] = {"application/json"};
	size_t i = send_req(c, kind, "POST", url, p, n);
	if (!answer_ok(c, i, types, 1, "application/json"))
		return NULL;
	json_error_t e;
	json_t *a = json_loadb(c->reqs[i].response, c->reqs[i].response_len, 0, &e);
	if (!a) {
		finish(c, FV_END_ERROR, "malformed JSON from %s: %s (line %d)", url, e.text,
		       e.line);
		return NULL;
	}
	if (!json_is_object(a)) {
		json_decref(a);
		finish(c, FV_END_ERROR, "the answer from %s is not a JSON object", url);
		return NULL;
	}
	return a;
}

static json_t *elks_result(struct fv_call *c, const char *url, const char *result)
{
	struct fp_param p[2] = {{"callid", c->tr.call_id}, {"result", result}};
	return elks_fetch(c, FV_REQ_ACTION, url, p, 2);
}

/* Where an action goes on: next (a URL POSTed with result, or an action object); none
 * ends the call. Own reference, or NULL (ended). */
static json_t *elks_follow(struct fv_call *c, json_t *next, const char *result)
{
	if (!next) {
		finish(c, FV_END_DOCUMENT, NULL);
		return NULL;
	}
	if (json_is_string(next))
		return elks_result(c, json_string_value(next), result);
	if (json_is_object(next))
		return json_incref(next);
	finish(c, FV_END_ERROR, "\"next\" is neither a URL nor an action object");
	return NULL;
}

/* Run actions from a (own reference) until an input is needed or the call ends. */
static void elks_run(struct fv_call *c, json_t *a)
{
	while (a && c->tr.end == FV_END_NONE) {
		json_t *v;
		if ((v = json_object_get(a, "play")) != NULL) {
			if (!json_is_string(v)) {
				finish(c, FV_END_ERROR, "\"play\" is not a string");
				break;
			}
			if (play(c, json_string_value(v), 1) != 0)
				break;
			json_t *next = elks_follow(c, json_object_get(a, "next"), "ok");
			json_decref(a);
			a = next;
		} else if ((v = json_object_get(a, "ivr")) != NULL) {
			if (!json_is_string(v)) {
				finish(c, FV_END_ERROR, "\"ivr\" is not a string");
				break;
			}
			if (play(c, json_string_value(v), 1) != 0)
				break;
			c->ivr_play = c->tr.n_plays - 1;
			c->pending = P_IVR;
			c->act = a;
			return;
		} else if ((v = json_object_get(a, "record")) != NULL) {
			if (!json_is_string(v)) {
				finish(c, FV_END_ERROR, "\"record\" is not a string");
				break;
			}
			c->pending = P_ELKS_RECORD;
			c->act = a;
			return;
		} else if (json_object_get(a, "hangup")) {
			finish(c, FV_END_HANGUP_VERB, NULL);
		} else {
			const char *key = json_object_iter_key(json_object_iter(a));
			finish(c, FV_END_ERROR, "unsupported 46elks action \"%s\"", key ? key : "");
		}
	}
	json_decref(a);
}

static long json_long(json_t *v, long dflt)
{
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v))
		return attr_long(json_string_value(v), dflt);
	return dflt;
}

static void elks_ivr_input(struct fv_call *c, json_t *a, const struct fv_input *in)
{
	switch (in->kind) {
	case FV_DIGITS: {
		char digits[128];
		pick_digits(in->digits ? in->digits : "", "#",
		            json_long(json_object_get(a, "digits"), 1), digits, sizeof(digits));
		given_push(c, in, digits, 0);
		c->pending = P_NONE;
		json_t *key = json_object_get(a, digits), *next;
		if (json_is_string(key))
			next = elks_result(c, json_string_value(key), digits);
		else if (json_is_object(key))
			next = json_incref(key);
		else
			next = elks_follow(c, json_object_get(a, "next"), digits);
		json_decref(a);
		elks_run(c, next);
		return;
	}
	case FV_SILENCE: {
		long repeat = json_long(json_object_get(a, "repeat"), ELKS_REPEAT);
		c->plays[c->ivr_play].times = repeat < 1 ? 1 : (int)repeat;
		given_push(c, in, NULL, 0);
		c->pending = P_NONE;
		json_t *next = elks_follow(c, json_object_get(a, "next"), "failed");
		json_decref(a);
		elks_run(c, next);
		return;
	}
	case FV_HANGUP:
		given_push(c, in, NULL, 0);
		break;
	case FV_RECORD:
	case FV_RECORD_HANGUP:
		break;
	}
	json_decref(a);
	if (in->kind == FV_HANGUP)
		finish(c, FV_END_CALLER_HANGUP, NULL);
	else
		finish(c, FV_END_SCRIPT_ERROR, "a recording given at an ivr");
}

static void elks_record_input(struct fv_call *c, json_t *a, const struct fv_input *in)
{
	if (in->kind == FV_HANGUP || in->kind == FV_DIGITS) {
		if (in->kind == FV_HANGUP)
			given_push(c, in, NULL, 0);
		json_decref(a);
		if (in->kind == FV_HANGUP)
			finish(c, FV_END_CALLER_HANGUP, NULL);
		else
			finish(c, FV_END_SCRIPT_ERROR, "digits given at a record action");
		return;
	}
	long max = json_long(json_object_get(a, "timelimit"), ELKS_TIMELIMIT);
	int dur = in->kind == FV_SILENCE ? 0 : in->duration_s < 0 ? 0 : in->duration_s;
	if (max > 0 && dur > max)
		dur = (int)max;
	struct fv_recording r;
	size_t ri = rec_create(c->fv, c->tr.call_id, in, dur, &r);
	c->record_s += dur;
	given_push(c, in, NULL, dur);
	rec_push(c, ri);
	c->pending = P_NONE;
	char created[64], sdur[16];
	elks_time(created, sizeof(created));
	snprintf(sdur, sizeof(sdur), "%d", dur);
	struct fp_param p[] = {{"callid", c->tr.call_id}, {"created", created},
	                       {"duration", sdur},        {"wav", r.url},
	                       {"from", c->tr.from},      {"to", c->tr.to}};
	const char *target = json_string_value(json_object_get(a, "record"));
	if (is_absolute(target)) /* "local/..." keeps it inside the call: nothing posted */
		send_req(c, FV_REQ_RECORDING, "POST", target, p, sizeof(p) / sizeof(p[0]));
	if (in->kind == FV_RECORD_HANGUP) {
		json_decref(a);
		finish(c, FV_END_CALLER_HANGUP, NULL);
		return;
	}
	json_t *next = elks_follow(c, json_object_get(a, "next"), "success");
	json_decref(a);
	elks_run(c, next);
}

/* --- a call: start, input, end ---------------------------------------------------- */

static void post_final(struct fv_call *c)
{
	bool no_answer = c->tr.end == FV_END_NO_ANSWER;
	char dur[16];
	snprintf(dur, sizeof(dur), "%d", c->tr.duration_s);
	if (c->kind == K_TWILIO) {
		struct fp_param p[24];
		size_t n = tw_params(c, p, no_answer ? "no-answer" : "completed");
		p[n++] = (struct fp_param){"CallDuration", dur};
		char ts[64], seq[16];
		if (c->outbound) {
			rfc2822(ts, sizeof(ts), time(NULL));
			snprintf(seq, sizeof(seq), "%d", c->seq++);
			p[n++] = (struct fp_param){"Timestamp", ts};
			p[n++] = (struct fp_param){"CallbackSource", "call-progress-events"};
			p[n++] = (struct fp_param){"SequenceNumber", seq};
		}
		send_req(c, FV_REQ_STATUS, c->final_method, c->final_url, p, n);
	} else {
		struct fp_param p[8];
		size_t n = 0;
		p[n++] = (struct fp_param){"callid", c->tr.call_id};
		p[n++] = (struct fp_param){"direction", c->direction};
		p[n++] = (struct fp_param){"from", c->tr.from};
		p[n++] = (struct fp_param){"to", c->tr.to};
		p[n++] = (struct fp_param){"created", c->created};
		if (!no_answer)
			p[n++] = (struct fp_param){"start", c->created};
		p[n++] = (struct fp_param){"duration", dur};
		p[n++] = (struct fp_param){"state", no_answer ? "failed" : "success"};
		send_req(c, FV_REQ_STATUS, "POST", c->final_url, p, n);
	}
}

/* Twilio progress callbacks of a placed call (initiated, ringing, answered) it asked for. */
static void tw_progress(struct fv_call *c, unsigned event)
{
	if (!(c->events & event) || !c->final_url || c->no_final)
		return;
	const char *status = event == EV_INITIATED ? "initiated"
	                     : event == EV_RINGING ? "ringing"
	                                           : "in-progress";
	struct fp_param p[24];
	size_t n = tw_params(c, p, status);
	char ts[64], seq[16];
	rfc2822(ts, sizeof(ts), time(NULL));
	snprintf(seq, sizeof(seq), "%d", c->seq++);
	p[n++] = (struct fp_param){"Timestamp", ts};
	p[n++] = (struct fp_param){"CallbackSource", "call-progress-events"};
	p[n++] = (struct fp_param){"SequenceNumber", seq};
	send_req(c, FV_REQ_STATUS, c->final_method, c->final_url, p, n);
}

static struct fv_call *call_new(struct fv *fv, bool outbound, const char *id, const char *from,
                                const char *to)
{
	struct fv_call *c = calloc(1, sizeof(*c));
	if (!c)
		hx_fail("fakevoice: out of memory");
	c->fv = fv;
	c->kind = fv->kind;
	c->outbound = outbound;
	if (id && *id)
		copy_str(c->tr.call_id, sizeof(c->tr.call_id), id);
	else
		fv_new_call_id(fv, c->tr.call_id, sizeof(c->tr.call_id));
	copy_str(c->tr.from, sizeof(c->tr.from), from);
	copy_str(c->tr.to, sizeof(c->tr.to), to);
	copy_str(c->direction, sizeof(c->direction),
	         fv->kind == K_TWILIO ? (outbound ? "outbound-api" : "inbound")
	                              : (outbound ? "outgoing" : "incoming"));
	c->tr.direction = c->direction;
	elks_time(c->created, sizeof(c->created));
	c->tr.started_ms = mono_ms();
	c->curl = curl_new();
	c->start_method = xstrdup("POST");
	c->final_method = xstrdup("POST");
	return c;
}

/* The first webhook (or inline document), then on until an input is needed. */
static void call_begin(struct fv_call *c)
{
	if (c->kind == K_TWILIO) {
		if (c->start_doc) {
			if (!tw_set_doc(c, c->start_doc, strlen(c->start_doc), NULL))
				return;
		} else if (tw_fetch(c, FV_REQ_START, c->start_method, c->start_url, NULL, 0) != 0) {
			return;
		}
		tw_run(c);
		return;
	}
	json_t *a = NULL;
	if (c->start_doc) {
		json_error_t e;
		a = json_loads(c->start_doc, 0, &e);
		if (!json_is_object(a)) {
			json_decref(a);
			finish(c, FV_END_ERROR,
			       "voice_start is neither a URL nor a JSON object: %s", e.text);
			return;
		}
	} else {
		struct fp_param p[] = {{"direction", c->direction},
		                       {"callid", c->tr.call_id},
		                       {"from", c->tr.from},
		                       {"to", c->tr.to},
		                       {"created", c->created}};
		a = elks_fetch(c, FV_REQ_START, c->start_url, p, sizeof(p) / sizeof(p[0]));
	}
	elks_run(c, a);
}

static void call_input(struct fv_call *c, const struct fv_input *in)
{
	switch (c->pending) {
	case P_GATHER:
		tw_gather_input(c, in);
		break;
	case P_RECORD:
		tw_record_input(c, in);
		break;
	case P_IVR:
	case P_ELKS_RECORD: {
		json_t *a = c->act;
		c->act = NULL;
		if (c->pending == P_IVR)
			elks_ivr_input(c, a, in);
		else
			elks_record_input(c, a, in);
		break;
	}
	case P_NONE:
		finish(c, FV_END_SCRIPT_ERROR, "an input while no verb takes one");
		break;
	}
}

/* Feed inputs in order until the call ends; none left: the caller hangs up. */
static void call_script(struct fv_call *c, const struct fv_input *in, size_t n)
{
	size_t i = 0;
	while (c->tr.end == FV_END_NONE) {
		if (i == n) {
			c->tr.script_exhausted = true;
			finish(c, FV_END_CALLER_HANGUP, NULL);
			break;
		}
		call_input(c, &in[i++]);
	}
}

static void call_free(struct fv_call *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->tr.n_requests; i++) {
		struct fv_request *r = &c->reqs[i];
		free((void *)r->url);
		free((void *)r->sent_to);
		fp_params_free((struct fp_param *)r->params, r->n_params);
		free((void *)r->body);
		free((void *)r->content_type);
		free((void *)r->response);
		free((void *)r->error);
	}
	for (size_t i = 0; i < c->tr.n_says; i++) {
		free((void *)c->says[i].text);
		free((void *)c->says[i].language);
		free((void *)c->says[i].voice);
	}
	for (size_t i = 0; i < c->tr.n_plays; i++)
		free((void *)c->plays[i].url);
	for (size_t i = 0; i < c->tr.n_inputs; i++)
		free((void *)c->given[i].digits);
	free(c->reqs);
	free(c->says);
	free(c->plays);
	free(c->given);
	free(c->recs);
	free(c->evs);
	free(c->error);
	free(c->spoken);
	free(c->start_url);
	free(c->start_method);
	free(c->start_doc);
	free(c->final_url);
	free(c->final_method);
	xml_free(c->doc);
	free(c->doc_url);
	json_decref(c->act);
	wire_free(&c->last);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

/* --- the REST server -------------------------------------------------------------- */

/* A request being received. */
struct conn {
	char *body;
	size_t len, cap;
	bool too_big;
	struct placed *release; /* a placed call that may start once the answer is out */
};

struct reply {
	unsigned status;
	const char *ctype;
	char *body; /* malloc'ed, len bytes */
	size_t len;
	const char *www_auth;
};

static void reply_set(struct reply *r, unsigned status, const char *ctype, char *body)
{
	free(r->body);
	r->status = status;
	r->ctype = ctype;
	r->body = body;
	r->len = body ? strlen(body) : 0;
}

static void reply_json(struct reply *r, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		hx_fail("fakevoice: json_dumps failed");
	reply_set(r, status, "application/json", xstrdup(s));
	free(s);
}

static void twilio_error(struct reply *r, unsigned status, int code, const char *message)
{
	char more[96];
	snprintf(more, sizeof(more), "https://www.twilio.com/docs/errors/%d", code);
	reply_json(r, status,
	           json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message", message, "more_info",
	                     more, "status", (int)status));
}

/* Basic auth from the Authorization header; false if none. */
static bool basic_auth(struct MHD_Connection *c, char *user, size_t ulen, char *pass, size_t plen)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	h += 6;
	while (*h == ' ')
		h++;
	unsigned char raw[512];
	int n = b64_decode(h, raw, sizeof(raw) - 1);
	if (n < 0)
		return false;
	raw[n] = '\0';
	char *colon = memchr(raw, ':', (size_t)n);
	if (!colon)
		return false;
	*colon = '\0';
	copy_str(user, ulen, (const char *)raw);
	copy_str(pass, plen, colon + 1);
	return true;
}

static bool authed(struct fv *fv, struct MHD_Connection *c)
{
	char user[256], pass[256];
	return basic_auth(c, user, sizeof(user), pass, sizeof(pass)) &&
	       strcmp(user, fv->account) == 0 && strcmp(pass, fv->secret) == 0;
}

/* Index of recording id (exactly idlen bytes), or -1. Lock held. */
static long rec_index_locked(struct fv *fv, const char *id, size_t idlen)
{
	for (size_t i = 0; i < fv->n_recs; i++)
		if (strlen(fv->recs[i].pub.id) == idlen &&
		    memcmp(fv->recs[i].pub.id, id, idlen) == 0)
			return (long)i;
	return -1;
}

/* GET the audio of a recording (or, json, its Twilio resource); DELETE it. */
static void recording_api(struct fv *fv, const char *method, const char *id, size_t idlen,
                          const char *ext, const char *url, struct reply *r)
{
	bool twilio = fv->kind == K_TWILIO;
	bool get = strcmp(method, "GET") == 0, del = strcmp(method, "DELETE") == 0;
	pthread_mutex_lock(&fv->mu);
	long i = rec_index_locked(fv, id, idlen);
	struct rec *rec = i >= 0 && !fv->recs[i].pub.deleted ? &fv->recs[i] : NULL;
	if (!get && !del) {
		pthread_mutex_unlock(&fv->mu);
		if (twilio)
			twilio_error(r, 405, 20004, "Method not allowed");
		else
			reply_set(r, 405, "text/plain", xstrdup("Method Not Allowed"));
		return;
	}
	if (!rec || (del && !twilio)) {
		pthread_mutex_unlock(&fv->mu);
		if (twilio) {
			char msg[400];
			snprintf(msg, sizeof(msg), "The requested resource %.300s was not found",
			         url);
			twilio_error(r, 404, 20404, msg);
		} else {
			reply_set(r, 404, "text/plain", xstrdup("Not found"));
		}
		return;
	}
	if (del) {
		rec->pub.deleted = true;
		fv->deletes++;
		pthread_mutex_unlock(&fv->mu);
		reply_set(r, 204, NULL, NULL);
		return;
	}
	if (strcmp(ext, ".json") == 0) {
		char date[64], uri[256], sdur[16];
		rfc2822(date, sizeof(date), time(NULL));
		snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s/Recordings/%s.json",
		         fv->account, rec->pub.id);
		snprintf(sdur, sizeof(sdur), "%d", rec->pub.duration_s);
		json_t *o = json_object();
		json_object_set_new(o, "account_sid", json_string(fv->account));
		json_object_set_new(o, "api_version", json_string(TWILIO_API_VERSION));
		json_object_set_new(o, "call_sid", json_string(rec->pub.call_id));
		json_object_set_new(o, "channels", json_integer(1));
		json_object_set_new(o, "date_created", json_string(date));
		json_object_set_new(o, "duration", json_string(sdur));
		json_object_set_new(o, "sid", json_string(rec->pub.id));
		json_object_set_new(o, "source", json_string("RecordVerb"));
		json_object_set_new(o, "status", json_string("completed"));
		json_object_set_new(o, "uri", json_string(uri));
		pthread_mutex_unlock(&fv->mu);
		reply_json(r, 200, o);
		return;
	}
	if (fv->fail_fetches > 0) {
		fv->fail_fetches--;
		fv->failed_fetches++;
		int status = fv->fail_status;
		pthread_mutex_unlock(&fv->mu);
		reply_set(r, status, "text/plain", xstrdup("Service Unavailable"));
		return;
	}
	rec->pub.fetches++;
	char *bytes = xmemdup(rec->audio, rec->pub.len);
	size_t len = rec->pub.len;
	pthread_mutex_unlock(&fv->mu);
	reply_set(r, 200,
	          !twilio                    ? "audio/wav"
	          : strcmp(ext, ".mp3") == 0 ? "audio/mpeg"
	                                     : "audio/x-wav",
	          NULL);
	r->body = bytes;
	r->len = len;
}

static void placed_start(struct fv *fv, struct placed *p, struct conn *k);

static struct placed *placed_new(struct fv *fv, const char *to, const char *from)
{
	struct placed *p = calloc(1, sizeof(*p));
	if (!p)
		hx_fail("fakevoice: out of memory");
	p->fv = fv;
	fv_new_call_id(fv, p->pub.id, sizeof(p->pub.id));
	copy_str(p->pub.to, sizeof(p->pub.to), to);
	copy_str(p->pub.from, sizeof(p->pub.from), from);
	copy_str(p->pub.method, sizeof(p->pub.method), "POST");
	copy_str(p->pub.status_method, sizeof(p->pub.status_method), "POST");
	p->pub.at_ms = mono_ms();
	return p;
}

static void twilio_place(struct fv *fv, const struct conn *k, struct conn *kw, struct reply *r)
{
	struct fp_param *f = NULL;
	size_t n = 0;
	if (fp_form_parse(k->body ? k->body : "", k->len, &f, &n) != 0) {
		twilio_error(r, 400, 20001, "Unable to parse request body");
		return;
	}
	const char *to = param_get(f, n, "To"), *from = param_get(f, n, "From");
	const char *url = param_get(f, n, "Url"), *twiml = param_get(f, n, "Twiml");
	const char *method = param_get(f, n, "Method");
	const char *cb = param_get(f, n, "StatusCallback");
	const char *cbm = param_get(f, n, "StatusCallbackMethod");
	const char *timeout = param_get(f, n, "Timeout");
	if (!to || !*to) {
		twilio_error(r, 400, 21201, "No 'To' number is specified");
	} else if (!is_e164(to)) {
		twilio_error(r, 400, 21217, "Phone number does not appear to be valid");
	} else if (!from || !*from) {
		twilio_error(r, 400, 21213, "No 'From' number is specified");
	} else if ((!url || !*url) && (!twiml || !*twiml)) {
		twilio_error(r, 400, 21205, "Url parameter is required.");
	} else if (url && *url && !is_absolute(url)) {
		twilio_error(r, 400, 21205, "Url is not a valid URL.");
	} else {
		struct placed *p = placed_new(fv, to, from);
		p->url = url && *url ? xstrdup(url) : NULL;
		p->twiml = p->url ? NULL : xstrdup(twiml);
		copy_str(p->pub.url, sizeof(p->pub.url), p->url ? p->url : p->twiml);
		if (method && strcasecmp(method, "GET") == 0)
			copy_str(p->pub.method, sizeof(p->pub.method), "GET");
		if (cb && *cb) {
			p->status_callback = xstrdup(cb);
			copy_str(p->pub.status_callback, sizeof(p->pub.status_callback), cb);
		}
		if (cbm && strcasecmp(cbm, "GET") == 0)
			copy_str(p->pub.status_method, sizeof(p->pub.status_method), "GET");
		p->pub.timeout_s = (int)attr_long(timeout, 0);
		struct sb ev = {0};
		for (size_t i = 0; i < n; i++) {
			if (strcmp(f[i].name, "StatusCallbackEvent") != 0)
				continue;
			char *copy = xstrdup(f[i].value), *save = NULL;
			for (char *t = strtok_r(copy, " ", &save); t;
			     t = strtok_r(NULL, " ", &save)) {
				if (ev.len)
					sb_puts(&ev, " ");
				sb_puts(&ev, t);
				p->events |= strcmp(t, "initiated") == 0   ? EV_INITIATED
				             : strcmp(t, "ringing") == 0   ? EV_RINGING
				             : strcmp(t, "answered") == 0  ? EV_ANSWERED
				             : strcmp(t, "completed") == 0 ? EV_COMPLETED
				                                           : 0;
			}
			free(copy);
		}
		copy_str(p->pub.status_events, sizeof(p->pub.status_events), ev.p);
		free(ev.p);

		char date[64], uri[256];
		rfc2822(date, sizeof(date), time(NULL));
		snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s/Calls/%s.json", fv->account,
		         p->pub.id);
		json_t *o = json_object();
		json_object_set_new(o, "account_sid", json_string(fv->account));
		json_object_set_new(o, "annotation", json_null());
		json_object_set_new(o, "answered_by", json_null());
		json_object_set_new(o, "api_version", json_string(TWILIO_API_VERSION));
		json_object_set_new(o, "caller_name", json_null());
		json_object_set_new(o, "date_created", json_string(date));
		json_object_set_new(o, "date_updated", json_string(date));
		json_object_set_new(o, "direction", json_string("outbound-api"));
		json_object_set_new(o, "duration", json_null());
		json_object_set_new(o, "end_time", json_null());
		json_object_set_new(o, "forwarded_from", json_null());
		json_object_set_new(o, "from", json_string(from));
		json_object_set_new(o, "from_formatted", json_string(from));
		json_object_set_new(o, "parent_call_sid", json_null());
		json_object_set_new(o, "phone_number_sid", json_null());
		json_object_set_new(o, "price", json_null());
		json_object_set_new(o, "price_unit", json_string("USD"));
		json_object_set_new(o, "sid", json_string(p->pub.id));
		json_object_set_new(o, "start_time", json_null());
		json_object_set_new(o, "status", json_string("queued"));
		json_object_set_new(o, "to", json_string(to));
		json_object_set_new(o, "to_formatted", json_string(to));
		json_object_set_new(o, "uri", json_string(uri));
		reply_json(r, 201, o);
		placed_start(fv, p, kw);
	}
	fp_params_free(f, n);
}

static void elks_place(struct fv *fv, const struct conn *k, struct conn *kw, struct reply *r)
{
	struct fp_param *f = NULL;
	size_t n = 0;
	if (fp_form_parse(k->body ? k->body : "", k->len, &f, &n) != 0) {
		reply_set(r, 400, "text/plain", xstrdup("Invalid request body"));
		return;
	}
	const char *from = param_get(f, n, "from"), *to = param_get(f, n, "to");
	const char *vs = param_get(f, n, "voice_start"), *wh = param_get(f, n, "whenhangup");
	const char *timeout = param_get(f, n, "timeout");
	if (!from || !*from) {
		reply_set(r, 400, "text/plain", xstrdup("Missing key from"));
	} else if (!to || !*to) {
		reply_set(r, 400, "text/plain", xstrdup("Missing key to"));
	} else if (!vs || !*vs) {
		reply_set(r, 400, "text/plain", xstrdup("Missing key voice_start"));
	} else if (!is_e164(to)) {
		reply_set(r, 400, "text/plain", xstrdup("Invalid phone number for \"to\""));
	} else if (!is_absolute(vs) && vs[0] != '{') {
		reply_set(r, 400, "text/plain", xstrdup("Invalid voice_start"));
	} else {
		struct placed *p = placed_new(fv, to, from);
		p->url = xstrdup(vs);
		copy_str(p->pub.url, sizeof(p->pub.url), vs);
		if (wh && *wh) {
			p->status_callback = xstrdup(wh);
			copy_str(p->pub.status_callback, sizeof(p->pub.status_callback), wh);
		}
		p->pub.timeout_s = (int)attr_long(timeout, 0);
		char created[64];
		elks_time(created, sizeof(created));
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(p->pub.id));
		json_object_set_new(o, "state", json_string("ongoing"));
		json_object_set_new(o, "direction", json_string("outgoing"));
		json_object_set_new(o, "from", json_string(from));
		json_object_set_new(o, "to", json_string(to));
		json_object_set_new(o, "created", json_string(created));
		reply_json(r, 200, o);
		placed_start(fv, p, kw);
	}
	fp_params_free(f, n);
}

static void handle(struct fv *fv, struct MHD_Connection *c, const char *url, const char *method,
                   struct conn *k, struct reply *r)
{
	if (fv->kind == K_TWILIO) {
		const char *pre = "/2010-04-01/Accounts/";
		if (strncmp(url, pre, strlen(pre)) != 0) {
			char msg[400];
			snprintf(msg, sizeof(msg), "The requested resource %.300s was not found",
			         url);
			twilio_error(r, 404, 20404, msg);
			return;
		}
		const char *acct = url + strlen(pre);
		size_t alen = strcspn(acct, "/");
		if (!authed(fv, c) || alen != strlen(fv->account) ||
		    strncmp(acct, fv->account, alen) != 0) {
			twilio_error(r, 401, 20003, "Authenticate");
			r->www_auth = "Basic realm=\"Twilio API\"";
			return;
		}
		const char *rest = acct + alen;
		if (strcmp(rest, "/Calls.json") == 0) {
			if (strcmp(method, "POST") == 0)
				twilio_place(fv, k, k, r);
			else
				twilio_error(r, 405, 20004, "Method not allowed");
			return;
		}
		if (strncmp(rest, "/Recordings/", 12) == 0) {
			const char *id = rest + 12;
			size_t idlen = strcspn(id, ".");
			const char *ext = id + idlen;
			bool del = strcmp(method, "DELETE") == 0;
			if (strcmp(ext, "") == 0 || strcmp(ext, ".json") == 0 ||
			    (!del && (strcmp(ext, ".wav") == 0 || strcmp(ext, ".mp3") == 0))) {
				recording_api(fv, method, id, idlen, ext, url, r);
				return;
			}
		}
		char msg[400];
		snprintf(msg, sizeof(msg), "The requested resource %.300s was not found", url);
		twilio_error(r, 404, 20404, msg);
		return;
	}
	if (strncmp(url, "/a1/", 4) != 0) {
		reply_set(r, 404, "text/plain", xstrdup("Not found"));
		return;
	}
	if (!authed(fv, c)) {
		reply_set(r, 401, "text/plain", xstrdup("Unauthorized"));
		r->www_auth = "Basic realm=\"46elks\"";
		return;
	}
	if (strcasecmp(url, "/a1/calls") == 0) {
		if (strcmp(method, "POST") == 0)
			elks_place(fv, k, k, r);
		else
			reply_set(r, 405, "text/plain", xstrdup("Method Not Allowed"));
		return;
	}
	const char *pre = "/a1/recordings/";
	size_t ulen = strlen(url);
	if (strncmp(url, pre, strlen(pre)) == 0 && ulen > strlen(pre) + 4 &&
	    strcmp(url + ulen - 4, ".wav") == 0) {
		const char *id = url + strlen(pre);
		recording_api(fv, method, id, ulen - strlen(pre) - 4, ".wav", url, r);
		return;
	}
	reply_set(r, 404, "text/plain", xstrdup("Not found"));
}

static enum MHD_Result queue_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    r->len, r->body ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
	free(r->body);
	if (!resp)
		return MHD_NO;
	if (r->ctype)
		MHD_add_response_header(resp, "Content-Type", r->ctype);
	if (r->www_auth)
		MHD_add_response_header(resp, "WWW-Authenticate", r->www_auth);
	enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct fv *fv = cls;
	struct conn *k = *con_cls;
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return MHD_NO;
		*con_cls = k;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!k->too_big && k->len + *upload_size <= MAX_REQUEST_BODY) {
			if (k->len + *upload_size + 1 > k->cap) {
				size_t cap = (k->len + *upload_size + 1) * 2;
				k->body = xrealloc(k->body, cap);
				k->cap = cap;
			}
			memcpy(k->body + k->len, upload, *upload_size);
			k->len += *upload_size;
			k->body[k->len] = '\0';
		} else {
			k->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&fv->mu);
	fv->api_requests++;
	pthread_mutex_unlock(&fv->mu);
	struct reply r = {0};
	if (k->too_big)
		reply_set(&r, 413, "text/plain", xstrdup("Request Entity Too Large"));
	else
		handle(fv, c, url, method, k, &r);
	return queue_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	struct fv *fv = cls;
	struct conn *k = *con_cls;
	if (!k)
		return;
	if (k->release) {
		pthread_mutex_lock(&fv->mu);
		k->release->released = true;
		pthread_cond_broadcast(&fv->cv);
		pthread_mutex_unlock(&fv->mu);
	}
	free(k->body);
	free(k);
	*con_cls = NULL;
}

/* --- placed calls ----------------------------------------------------------------- */

static void deadline(struct timespec *ts, int64_t at_ms)
{
	ts->tv_sec = (time_t)(at_ms / 1000);
	ts->tv_nsec = (long)(at_ms % 1000) * 1000000L;
}

/* Wait (lock held) until ms have passed or the fake stops. */
static void pause_locked(struct fv *fv, int ms)
{
	int64_t until = mono_ms() + ms;
	struct timespec ts;
	deadline(&ts, until);
	while (!fv->stopping && mono_ms() < until)
		if (pthread_cond_timedwait(&fv->cv, &fv->mu, &ts) == ETIMEDOUT)
			break;
}

static void *placed_main(void *arg)
{
	struct placed *p = arg;
	struct fv *fv = p->fv;
	struct fv_call *c = call_new(fv, true, p->pub.id, p->pub.from, p->pub.to);
	if (fv->kind == K_TWILIO) {
		c->start_url = dup_or_null(p->url);
		c->start_doc = dup_or_null(p->twiml);
		free(c->start_method);
		c->start_method = xstrdup(p->pub.method);
		free(c->final_method);
		c->final_method = xstrdup(p->pub.status_method);
	} else if (p->url[0] == '{') {
		c->start_doc = xstrdup(p->url);
	} else {
		c->start_url = xstrdup(p->url);
	}
	c->final_url = dup_or_null(p->status_callback);
	c->events = p->events;

	/* the REST answer first, as the real provider's would be */
	pthread_mutex_lock(&fv->mu);
	int64_t until = mono_ms() + RELEASE_TIMEOUT_MS;
	struct timespec ts;
	deadline(&ts, until);
	while (!p->released && !fv->stopping)
		if (pthread_cond_timedwait(&fv->cv, &fv->mu, &ts) == ETIMEDOUT)
			break;
	bool stopping = fv->stopping;
	pthread_mutex_unlock(&fv->mu);
	if (!stopping && c->kind == K_TWILIO) {
		tw_progress(c, EV_INITIATED);
		tw_progress(c, EV_RINGING);
	}
	pthread_mutex_lock(&fv->mu);
	pause_locked(fv, p->answered ? fv->answer_ms : fv->no_answer_ms);
	stopping = fv->stopping;
	pthread_mutex_unlock(&fv->mu);

	if (stopping) {
		c->no_final = true;
		finish(c, FV_END_ERROR, "the fake provider stopped");
	} else if (!p->answered) {
		finish(c, FV_END_NO_ANSWER, NULL);
	} else {
		if (c->kind == K_TWILIO)
			tw_progress(c, EV_ANSWERED);
		call_begin(c);
		call_script(c, p->script, p->n_script);
	}
	pthread_mutex_lock(&fv->mu);
	p->call = c;
	p->pub.done = true;
	pthread_cond_broadcast(&fv->cv);
	pthread_mutex_unlock(&fv->mu);
	return NULL;
}

/* Record p, take the number's script, start its thread (it waits for k's answer). */
static void placed_start(struct fv *fv, struct placed *p, struct conn *k)
{
	pthread_mutex_lock(&fv->mu);
	for (size_t i = 0; i < fv->n_scripts; i++) {
		if (strcmp(fv->scripts[i].to, p->pub.to) == 0) {
			p->answered = p->pub.answered = true;
			p->script = inputs_dup(fv->scripts[i].in, fv->scripts[i].n);
			p->n_script = fv->scripts[i].n;
		}
	}
	grow((void **)&fv->placed, &fv->cap_placed, fv->n_placed, sizeof(*fv->placed));
	fv->placed[fv->n_placed++] = p;
	k->release = p;
	if (pthread_create(&p->thread, NULL, placed_main, p) != 0)
		hx_fail("fakevoice: cannot start a placed call's thread");
	pthread_cond_broadcast(&fv->cv);
	pthread_mutex_unlock(&fv->mu);
}

/* --- lifecycle and settings ------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct fv *fv = cls;
	fprintf(stderr, "fakevoice(%s): ", fv->provider);
	vfprintf(stderr, fmt, ap);
}

struct fv *fv_start(const char *provider, const char *account, const char *secret)
{
	enum kind k;
	if (provider && strcmp(provider, "twilio") == 0)
		k = K_TWILIO;
	else if (provider && strcmp(provider, "46elks") == 0)
		k = K_46ELKS;
	else
		hx_fail("fakevoice: unknown provider \"%s\"", provider ? provider : "(null)");
	if (!account || !*account || !secret || !*secret)
		hx_fail("fakevoice: %s needs an account and a secret", provider);
	pthread_once(&curl_once, curl_init_once);
	struct fv *fv = calloc(1, sizeof(*fv));
	if (!fv)
		hx_fail("fakevoice: out of memory");
	fv->kind = k;
	copy_str(fv->provider, sizeof(fv->provider), provider);
	copy_str(fv->account, sizeof(fv->account), account);
	copy_str(fv->secret, sizeof(fv->secret), secret);
	fv->no_answer_ms = DEFAULT_NO_ANSWER;
	pthread_mutex_init(&fv->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fv->cv, &ca);
	pthread_condattr_destroy(&ca);

	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fv->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, fv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, fv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    fv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
	if (!fv->mhd)
		hx_fail("fakevoice: cannot start the %s server", provider);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(fv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		hx_fail("fakevoice: no port for the %s server", provider);
	snprintf(fv->base, sizeof(fv->base), "http://127.0.0.1:%u", (unsigned)info->port);
	return fv;
}

void fv_stop(struct fv *fv)
{
	if (!fv)
		return;
	pthread_mutex_lock(&fv->mu);
	fv->stopping = true;
	pthread_cond_broadcast(&fv->cv);
	pthread_mutex_unlock(&fv->mu);
	MHD_stop_daemon(fv->mhd); /* no new placed calls after this */
	for (size_t i = 0; i < fv->n_placed; i++) {
		struct placed *p = fv->placed[i];
		pthread_join(p->thread, NULL);
		call_free(p->call);
		inputs_free(p->script, p->n_script);
		free(p->url);
		free(p->twiml);
		free(p->status_callback);
		free(p);
	}
	free(fv->placed);
	for (size_t i = 0; i < fv->n_recs; i++)
		free(fv->recs[i].audio);
	free(fv->recs);
	for (size_t i = 0; i < fv->n_scripts; i++)
		inputs_free(fv->scripts[i].in, fv->scripts[i].n);
	free(fv->scripts);
	pthread_cond_destroy(&fv->cv);
	pthread_mutex_destroy(&fv->mu);
	free(fv);
}

const char *fv_base_url(const struct fv *fv)
{
	return fv->base;
}

const char *fv_provider(const struct fv *fv)
{
	return fv->provider;
}

static void strip_slash(char *s)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '/')
		s[--n] = '\0';
}

void fv_set_careline(struct fv *fv, const char *careline_base, const char *hook_path_secret)
{
	pthread_mutex_lock(&fv->mu);
	copy_str(fv->careline, sizeof(fv->careline), careline_base);
	strip_slash(fv->careline);
	copy_str(fv->hook_secret, sizeof(fv->hook_secret), hook_path_secret);
	pthread_mutex_unlock(&fv->mu);
}

void fv_set_public_url(struct fv *fv, const char *public_url)
{
	pthread_mutex_lock(&fv->mu);
	copy_str(fv->public_url, sizeof(fv->public_url), public_url);
	strip_slash(fv->public_url);
	pthread_mutex_unlock(&fv->mu);
}

void fv_set_hook_auth(struct fv *fv, const char *user, const char *password)
{
	pthread_mutex_lock(&fv->mu);
	copy_str(fv->hook_user, sizeof(fv->hook_user), user);
	copy_str(fv->hook_password, sizeof(fv->hook_password), password);
	fv->hook_auth_set = user != NULL;
	pthread_mutex_unlock(&fv->mu);
}

void fv_set_no_answer_delay(struct fv *fv, int ms)
{
	pthread_mutex_lock(&fv->mu);
	fv->no_answer_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&fv->mu);
}

void fv_set_answer_delay(struct fv *fv, int ms)
{
	pthread_mutex_lock(&fv->mu);
	fv->answer_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&fv->mu);
}

void fv_tamper_next(struct fv *fv, unsigned flags, int count)
{
	pthread_mutex_lock(&fv->mu);
	fv->tamper_flags = flags;
	fv->tamper_count = count > 0 ? count : 0;
	pthread_mutex_unlock(&fv->mu);
}

void fv_hook_url(struct fv *fv, enum fv_hook hook, char *out, size_t len)
{
	struct settings s;
	settings_get(fv, &s);
	strip_slash(s.public_url);
	if (fv->kind == K_TWILIO)
		snprintf(out, len, "%s/hooks/twilio/voice%s", s.public_url,
		         hook == FV_HOOK_STATUS ? "/status" : "");
	else
		snprintf(out, len, "%s/hooks/46elks/%s/voice%s", s.public_url, s.hook_secret,
		         hook == FV_HOOK_STATUS ? "/hangup" : "");
}

void fv_new_call_id(struct fv *fv, char *out, size_t len)
{
	char hex[33];
	random_hex(hex, 32);
	snprintf(out, len, "%s%s", fv->kind == K_TWILIO ? "CA" : "c", hex);
}

const char *fv_end_name(enum fv_end end)
{
	switch (end) {
	case FV_END_NONE:
		return "none";
	case FV_END_HANGUP_VERB:
		return "hangup-verb";
	case FV_END_CALLER_HANGUP:
		return "caller-hangup";
	case FV_END_DOCUMENT:
		return "end-of-document";
	case FV_END_NO_ANSWER:
		return "no-answer";
	case FV_END_ERROR:
		return "error";
	case FV_END_SCRIPT_ERROR:
		return "script-error";
	}
	return "?";
}

/* --- calls: the public side ------------------------------------------------------- */

struct fv_call *fv_call_start_ex(struct fv *fv, const struct fv_call_opts *opts)
{
	struct settings s;
	settings_get(fv, &s);
	if (!s.careline[0])
		hx_fail("fakevoice: fv_set_careline first");
	if (fv->kind == K_46ELKS && !s.hook_secret[0])
		hx_fail("fakevoice: 46elks needs the hook path secret (fv_set_careline)");
	if (!opts || !opts->from || !opts->to)
		hx_fail("fakevoice: a call needs from and to");
	struct fv_call *c = call_new(fv, false, opts->call_id, opts->from, opts->to);
	char url[1024];
	fv_hook_url(fv, FV_HOOK_VOICE, url, sizeof(url));
	c->start_url = xstrdup(url);
	fv_hook_url(fv, FV_HOOK_STATUS, url, sizeof(url));
	c->final_url = xstrdup(url);
	c->no_final = opts->no_final_callback;
	c->tamper = opts->tamper;
	c->tamper_first = opts->tamper_first;
	call_begin(c);
	return c;
}

struct fv_call *fv_call_start(struct fv *fv, const char *from, const char *to)
{
	struct fv_call_opts o = {.from = from, .to = to};
	return fv_call_start_ex(fv, &o);
}

int fv_call_input(struct fv_call *call, const struct fv_input *in)
{
	if (!in)
		hx_fail("fakevoice: fv_call_input without an input");
	if (call->tr.end != FV_END_NONE)
		return -1;
	call_input(call, in);
	return call->tr.end == FV_END_ERROR || call->tr.end == FV_END_SCRIPT_ERROR ? -1 : 0;
}

int fv_call_run(struct fv *fv, const char *from, const char *to, const struct fv_input *inputs,
                size_t n, struct fv_call **out)
{
	struct fv_call_opts o = {.from = from, .to = to};
	return fv_call_run_ex(fv, &o, inputs, n, out);
}

int fv_call_run_ex(struct fv *fv, const struct fv_call_opts *opts, const struct fv_input *inputs,
                   size_t n, struct fv_call **out)
{
	struct fv_call *c = fv_call_start_ex(fv, opts);
	call_script(c, inputs, n);
	int rc = c->tr.end == FV_END_ERROR || c->tr.end == FV_END_SCRIPT_ERROR ? -1 : 0;
	if (out)
		*out = c;
	else
		call_free(c);
	return rc;
}

int fv_call_repost_last(struct fv_call *call)
{
	if (!call->have_last)
		return -1;
	struct http_res res;
	struct wire *w = &call->last;
	http_exec(call->curl, w->method, w->target, w->hdrs, w->n_hdrs, w->body, w->len, &res);
	char *url = xstrdup(call->reqs[call->last_index].url);
	unsigned flags = call->reqs[call->last_index].tamper;
	size_t i = req_push(call, FV_REQ_REPOST, url, w, flags, &res, call->last_index);
	free(url);
	http_res_free(&res);
	return call->reqs[i].status;
}

void fv_call_tamper_next(struct fv_call *call, unsigned flags)
{
	call->tamper_next = flags;
}

void fv_call_set_tamper(struct fv_call *call, unsigned flags)
{
	call->tamper = flags;
}

void fv_call_hangup(struct fv_call *call)
{
	finish(call, FV_END_CALLER_HANGUP, NULL);
}

bool fv_call_ended(const struct fv_call *call)
{
	return call->tr.end != FV_END_NONE;
}

const char *fv_call_waiting(const struct fv_call *call)
{
	return call->tr.end == FV_END_NONE ? pending_names[call->pending] : NULL;
}

const struct fv_transcript *fv_call_transcript(const struct fv_call *call)
{
	return &call->tr;
}

const char *fv_call_id(const struct fv_call *call)
{
	return call->tr.call_id;
}

const struct fv_request *fv_call_last(const struct fv_call *call)
{
	return call->tr.n_requests ? &call->reqs[call->tr.n_requests - 1] : NULL;
}

const char *fv_request_param(const struct fv_request *r, const char *name)
{
	return r ? param_get(r->params, r->n_params, name) : NULL;
}

bool fv_said(const struct fv_call *call, const char *needle)
{
	for (size_t i = 0; i < call->tr.n_says; i++)
		if (strstr(call->says[i].text, needle))
			return true;
	return false;
}

const char *fv_spoken_text(const struct fv_call *ccall)
{
	struct fv_call *call = (struct fv_call *)ccall; /* only its cache changes */
	struct sb b = {0};
	for (size_t i = 0; i < call->tr.n_says; i++) {
		if (i)
			sb_puts(&b, "\n");
		sb_puts(&b, call->says[i].text);
	}
	free(call->spoken);
	call->spoken = sb_take(&b);
	return call->spoken;
}

void fv_call_free(struct fv_call *call)
{
	if (call && call->outbound)
		hx_fail("fakevoice: fv_call_free of a placed call (the fake owns it)");
	call_free(call);
}

int fv_post_webhook(struct fv *fv, const char *url, const struct fp_param *params, size_t n,
                    unsigned flags, char **response_body, char **response_content_type)
{
	if (response_body)
		*response_body = NULL;
	if (response_content_type)
		*response_content_type = NULL;
	struct wire w;
	wire_build(fv, "POST", url, params, n, flags, &w);
	CURL *h = curl_new();
	struct http_res res;
	http_exec(h, w.method, w.target, w.hdrs, w.n_hdrs, w.body, w.len, &res);
	curl_easy_cleanup(h);
	if (response_body) {
		*response_body = res.body;
		res.body = NULL;
	}
	if (response_content_type) {
		*response_content_type = res.ctype;
		res.ctype = NULL;
	}
	int status = (int)res.status;
	http_res_free(&res);
	wire_free(&w);
	return status;
}

/* --- recordings and placed calls: the public side --------------------------------- */

size_t fv_recording_count(struct fv *fv)
{
	pthread_mutex_lock(&fv->mu);
	size_t n = fv->n_recs;
	pthread_mutex_unlock(&fv->mu);
	return n;
}

bool fv_recording_get(struct fv *fv, size_t i, struct fv_recording *out)
{
	pthread_mutex_lock(&fv->mu);
	bool ok = i < fv->n_recs;
	if (ok)
		*out = fv->recs[i].pub;
	pthread_mutex_unlock(&fv->mu);
	return ok;
}

long fv_recording_find(struct fv *fv, const char *id)
{
	pthread_mutex_lock(&fv->mu);
	long i = rec_index_locked(fv, id, strlen(id));
	pthread_mutex_unlock(&fv->mu);
	return i;
}

size_t fv_deletes(struct fv *fv)
{
	pthread_mutex_lock(&fv->mu);
	size_t n = fv->deletes;
	pthread_mutex_unlock(&fv->mu);
	return n;
}

size_t fv_api_requests(struct fv *fv)
{
	pthread_mutex_lock(&fv->mu);
	size_t n = fv->api_requests;
	pthread_mutex_unlock(&fv->mu);
	return n;
}

void fv_answer_script(struct fv *fv, const char *to, const struct fv_input *inputs, size_t n)
{
	if (!to || (n && !inputs))
		hx_fail("fakevoice: fv_answer_script needs a number and its inputs");
	struct fv_input *copy = inputs_dup(inputs, n);
	pthread_mutex_lock(&fv->mu);
	struct script *s = NULL;
	for (size_t i = 0; i < fv->n_scripts && !s; i++)
		if (strcmp(fv->scripts[i].to, to) == 0)
			s = &fv->scripts[i];
	if (s) {
		inputs_free(s->in, s->n);
	} else {
		grow((void **)&fv->scripts, &fv->cap_scripts, fv->n_scripts, sizeof(*fv->scripts));
		s = &fv->scripts[fv->n_scripts++];
		copy_str(s->to, sizeof(s->to), to);
	}
	s->in = copy;
	s->n = n;
	pthread_mutex_unlock(&fv->mu);
}

void fv_answer_clear(struct fv *fv, const char *to)
{
	pthread_mutex_lock(&fv->mu);
	for (size_t i = 0; i < fv->n_scripts; i++) {
		if (strcmp(fv->scripts[i].to, to) == 0) {
			inputs_free(fv->scripts[i].in, fv->scripts[i].n);
			fv->scripts[i] = fv->scripts[--fv->n_scripts];
			break;
		}
	}
	pthread_mutex_unlock(&fv->mu);
}

size_t fv_placed_count(struct fv *fv)
{
	pthread_mutex_lock(&fv->mu);
	size_t n = fv->n_placed;
	pthread_mutex_unlock(&fv->mu);
	return n;
}

bool fv_placed_get(struct fv *fv, size_t i, struct fv_placed *out)
{
	pthread_mutex_lock(&fv->mu);
	bool ok = i < fv->n_placed;
	if (ok)
		*out = fv->placed[i]->pub;
	pthread_mutex_unlock(&fv->mu);
	return ok;
}

/* Wait (lock taken here) until pred(fv, arg) or timeout. */
static bool wait_for(struct fv *fv, bool (*pred)(struct fv *, size_t), size_t arg, int timeout_ms)
{
	struct timespec ts;
	deadline(&ts, mono_ms() + timeout_ms);
	pthread_mutex_lock(&fv->mu);
	while (!pred(fv, arg))
		if (pthread_cond_timedwait(&fv->cv, &fv->mu, &ts) == ETIMEDOUT)
			break;
	bool ok = pred(fv, arg);
	pthread_mutex_unlock(&fv->mu);
	return ok;
}

static bool placed_at_least(struct fv *fv, size_t n)
{
	return fv->n_placed >= n;
}

static bool placed_done(struct fv *fv, size_t i)
{
	return i < fv->n_placed && fv->placed[i]->pub.done;
}

bool fv_wait_placed(struct fv *fv, size_t n, int timeout_ms)
{
	return wait_for(fv, placed_at_least, n, timeout_ms);
}

bool fv_wait_placed_done(struct fv *fv, size_t i, int timeout_ms)
{
	return wait_for(fv, placed_done, i, timeout_ms);
}

const struct fv_call *fv_placed_call(struct fv *fv, size_t i)
{
	pthread_mutex_lock(&fv->mu);
	const struct fv_call *c =
	    i < fv->n_placed && fv->placed[i]->pub.done ? fv->placed[i]->call : NULL;
	pthread_mutex_unlock(&fv->mu);
	return c;
}

void fv_fail_fetches(struct fv *fv, int count, int http_status)
{
	pthread_mutex_lock(&fv->mu);
	fv->fail_fetches = count;
	fv->fail_status = http_status;
	pthread_mutex_unlock(&fv->mu);
}

size_t fv_failed_fetches(struct fv *fv)
{
	pthread_mutex_lock(&fv->mu);
	size_t n = fv->failed_fetches;
	pthread_mutex_unlock(&fv->mu);
	return n;
}
