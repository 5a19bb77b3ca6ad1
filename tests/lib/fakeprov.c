/*
 * tests/lib/fakeprov.c implements fakeprov.h: the fake provider's HTTP server
 * (libmicrohttpd, a thread per connection), its recorded messages, its webhooks towards
 * careline (libcurl, in the caller's thread) and its own signers (OpenSSL HMAC-SHA1,
 * HMAC-SHA256 JWT). Never includes gateway/: it is the independent other side.
 */
#include "fakeprov.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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
#define WEBHOOK_TIMEOUT_MS 15000
#define TWILIO_API_VERSION "2010-04-01"
#define GWAPI_LABEL        "careline"

enum kind {
	K_TWILIO,
	K_46ELKS,
	K_GWAPI,
};

struct fp {
	enum kind kind;
	char provider[16];
	char account[128];
	char secret[128];
	char base[64];
	struct MHD_Daemon *mhd;

	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;  /* signalled when a message is recorded */
	struct fp_msg *msgs;
	size_t n, cap;
	size_t requests;
	int fail_count;
	int fail_status;
	char *fail_body;
	int delay_ms;
	char hook_user[128];
	char hook_password[128];
	bool hook_auth_set;
	char webhook_secret[256];
	char target[256];
	char default_callback[512];
	unsigned long long next_gw_id;
};

/* --- small helpers -------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		hx_fail("fakeprov: out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = xmalloc(n + 1);
	memcpy(p, s, n + 1);
	return p;
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

/* A growing string. */
struct sb {
	char *p;
	size_t len, cap;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
	if (n > PTRDIFF_MAX / 4)
		hx_fail("fakeprov: string too long");
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			hx_fail("fakeprov: out of memory");
		b->p = p;
		b->cap = cap;
	}
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

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void random_hex(char *out, size_t nhex)
{
	unsigned char raw[64];
	size_t nbytes = (nhex + 1) / 2;
	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		hx_fail("fakeprov: getrandom failed");
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < nhex && i / 2 < nbytes; i++)
		out[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
	out[nhex] = '\0';
}

static void uuid4(char out[37])
{
	char h[33];
	random_hex(h, 32);
	h[12] = '4';
	h[16] = "89ab"[(unsigned char)h[16] % 4];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* UTC now as 46elks writes it: "2018-07-13T13:57:23.741000". */
static void elks_time(char *out, size_t len, int64_t unix_s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_t t = unix_s ? (time_t)unix_s : ts.tv_sec;
	long us = unix_s ? 0 : ts.tv_nsec / 1000;
	struct tm tm;
	gmtime_r(&t, &tm);
	char day[32];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06ld", day, us);
}

/* RFC 2822, as Twilio's date_created: "Fri, 31 Oct 2014 03:39:29 +0000". */
static void rfc2822_now(char *out, size_t len)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "+4531559977", "004531559977", "4531559977" → "4531559977"; "" if not digits. */
static void digits_of(const char *number, char *out, size_t len)
{
	const char *s = number ? number : "";
	if (*s == '+')
		s++;
	else if (s[0] == '0' && s[1] == '0')
		s += 2;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			n = 0;
	if (n >= len)
		n = 0;
	memcpy(out, s, n);
	out[n] = '\0';
}

struct country {
	const char *prefix;
	const char *code;
	int num;
};

static const struct country countries[] = {
    {"45", "DK", 45}, {"46", "SE", 46}, {"47", "NO", 47}, {"49", "DE", 49},
    {"44", "GB", 44}, {"31", "NL", 31}, {"1", "US", 1},
};

/* The country of an E.164 number or MSISDN, or NULL. */
static const struct country *country_of(const char *number)
{
	char d[32];
	digits_of(number, d, sizeof(d));
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
		if (d[0] && strncmp(d, countries[i].prefix, strlen(countries[i].prefix)) == 0)
			return &countries[i];
	return NULL;
}

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

/* --- base64 and signing ------------------------------------------------------------- */

static char *b64_encode(const unsigned char *in, size_t len, bool url)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	out[n] = '\0';
	if (url) {
		char *w = out;
		for (char *r = out; *r; r++) {
			if (*r == '=')
				continue;
			*w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
		}
		*w = '\0';
	}
	return out;
}

/* Standard base64 (with padding) into out; returns the length or -1. */
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

static int cmp_param(const void *a, const void *b)
{
	const struct fp_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

char *fp_twilio_signature(const char *auth_token, const char *url, const struct fp_param *params,
                          size_t n)
{
	struct fp_param *sorted = xmalloc(n * sizeof(*sorted));
	for (size_t i = 0; i < n; i++) {
		sorted[i].name = params[i].name ? params[i].name : "";
		sorted[i].value = params[i].value ? params[i].value : "";
	}
	qsort(sorted, n, sizeof(*sorted), cmp_param);
	struct sb data = {0};
	sb_puts(&data, url);
	for (size_t i = 0; i < n; i++) {
		sb_puts(&data, sorted[i].name);
		sb_puts(&data, sorted[i].value);
	}
	free(sorted);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)data.p,
	          data.len, md, &mdlen))
		hx_fail("fakeprov: HMAC-SHA1 failed");
	free(data.p);
	return b64_encode(md, mdlen, false);
}

/* A JWT of payload bytes: HS256 with secret, or alg "none" (no signature). */
static char *jwt_make(const char *secret, const char *payload, bool alg_none)
{
	const char *header =
	    alg_none ? "{\"typ\":\"JWT\",\"alg\":\"none\"}" : "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
	char *h64 = b64_encode((const unsigned char *)header, strlen(header), true);
	char *p64 = b64_encode((const unsigned char *)payload, strlen(payload), true);
	struct sb t = {0};
	sb_puts(&t, h64);
	sb_puts(&t, ".");
	sb_puts(&t, p64);
	free(h64);
	free(p64);
	char *sig = NULL;
	if (!alg_none) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)t.p,
		          t.len, md, &mdlen))
			hx_fail("fakeprov: HMAC-SHA256 failed");
		sig = b64_encode(md, mdlen, true);
	}
	sb_puts(&t, ".");
	if (sig)
		sb_puts(&t, sig);
	free(sig);
	return sb_take(&t);
}

char *fp_gwapi_jwt(const char *secret, const char *json_body)
{
	return jwt_make(secret, json_body, false);
}

/* Change one character of a signature (keeps it well-formed base64). */
static char *tamper_sig(const char *sig)
{
	if (!*sig)
		return xstrdup("A");
	char *t = xstrdup(sig);
	/* the HMAC part of a JWT is after the last '.' */
	char *p = strrchr(t, '.');
	p = p && p[1] ? p + 1 : t;
	*p = *p == 'A' ? 'B' : 'A';
	return t;
}

/* --- forms ---------------------------------------------------------------------------- */

static void form_enc(struct sb *b, const char *s, bool space_plus)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			sb_putn(b, (const char *)p, 1);
		} else if (*p == ' ' && space_plus) {
			sb_puts(b, "+");
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			sb_putn(b, e, 3);
		}
	}
}

char *fp_form_encode(const struct fp_param *p, size_t n, bool space_plus)
{
	struct sb b = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_puts(&b, "&");
		form_enc(&b, p[i].name, space_plus);
		sb_puts(&b, "=");
		form_enc(&b, p[i].value ? p[i].value : "", space_plus);
	}
	return sb_take(&b);
}

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

static char *form_dec(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			int a = hexval((unsigned char)s[i + 1]),
			    b = hexval((unsigned char)s[i + 2]);
			if (a < 0 || b < 0) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(a * 16 + b);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

void fp_params_free(struct fp_param *p, size_t n)
{
	if (!p)
		return;
	for (size_t i = 0; i < n; i++) {
		free((void *)p[i].name);
		free((void *)p[i].value);
	}
	free(p);
}

int fp_form_parse(const char *body, size_t len, struct fp_param **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0, count = 0;
	struct fp_param *v = NULL;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && body[j] != '&')
			j++;
		if (j > i) {
			const char *eq = memchr(body + i, '=', j - i);
			size_t nlen = eq ? (size_t)(eq - (body + i)) : j - i;
			char *name = form_dec(body + i, nlen);
			char *value = eq ? form_dec(eq + 1, j - i - nlen - 1) : xstrdup("");
			if (!name || !value) {
				free(name);
				free(value);
				fp_params_free(v, count);
				return -1;
			}
			if (count == cap) {
				cap = cap ? cap * 2 : 16;
				struct fp_param *nv = realloc(v, cap * sizeof(*v));
				if (!nv)
					hx_fail("fakeprov: out of memory");
				v = nv;
			}
			v[count].name = name;
			v[count].value = value;
			count++;
		}
		i = j + 1;
	}
	*out = v;
	*n = count;
	return 0;
}

static const char *param_get(const struct fp_param *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}

/* --- SMS length (GSM 03.38) ---------------------------------------------------------- */

static bool gsm_basic(unsigned long cp)
{
	if (cp == '\n' || cp == '\r')
		return true;
	if (cp >= 0x20 && cp <= 0x7e)
		return !strchr("[\\]^`{|}~", (int)cp);
	switch (cp) {
	case 0xA3:  /* £ */
	case 0xA5:  /* ¥ */
	case 0xE8:  /* è */
	case 0xE9:  /* é */
	case 0xF9:  /* ù */
	case 0xEC:  /* ì */
	case 0xF2:  /* ò */
	case 0xC7:  /* Ç */
	case 0xD8:  /* Ø */
	case 0xF8:  /* ø */
	case 0xC5:  /* Å */
	case 0xE5:  /* å */
	case 0x394: /* Δ */
	case 0x3A6: /* Φ */
	case 0x393: /* Γ */
	case 0x39B: /* Λ */
	case 0x3A9: /* Ω */
	case 0x3A0: /* Π */
	case 0x3A8: /* Ψ */
	case 0x3A3: /* Σ */
	case 0x398: /* Θ */
	case 0x39E: /* Ξ */
	case 0xC6:  /* Æ */
	case 0xE6:  /* æ */
	case 0xDF:  /* ß */
	case 0xC9:  /* É */
	case 0xA4:  /* ¤ */
	case 0xA1:  /* ¡ */
	case 0xC4:  /* Ä */
	case 0xD6:  /* Ö */
	case 0xD1:  /* Ñ */
	case 0xDC:  /* Ü */
	case 0xA7:  /* § */
	case 0xBF:  /* ¿ */
	case 0xE4:  /* ä */
	case 0xF6:  /* ö */
	case 0xF1:  /* ñ */
	case 0xFC:  /* ü */
	case 0xE0:  /* à */
		return true;
	default:
		return false;
	}
}

static bool gsm_ext(unsigned long cp)
{
	return cp == 0x0C || cp == 0x20AC || (cp < 0x80 && cp && strchr("^{}\\[~]|", (int)cp));
}

/* Next code point of UTF-8 (invalid bytes: one U+FFFD each). */
static unsigned long utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned long cp;
	int more;
	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	} else if ((p[0] & 0xE0) == 0xC0) {
		cp = p[0] & 0x1F;
		more = 1;
	} else if ((p[0] & 0xF0) == 0xE0) {
		cp = p[0] & 0x0F;
		more = 2;
	} else if ((p[0] & 0xF8) == 0xF0) {
		cp = p[0] & 0x07;
		more = 3;
	} else {
		*s = p + 1;
		return 0xFFFD;
	}
	for (int i = 1; i <= more; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*s = p + 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	*s = p + 1 + more;
	return cp;
}

bool fp_sms_length(const char *utf8, int *units, int *segments)
{
	int septets = 0, u16 = 0;
	bool gsm = true;
	for (const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : ""); *p;) {
		unsigned long cp = utf8_next(&p);
		u16 += cp > 0xFFFF ? 2 : 1;
		if (gsm_basic(cp))
			septets += 1;
		else if (gsm_ext(cp))
			septets += 2;
		else
			gsm = false;
	}
	int n = gsm ? septets : u16;
	int single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
	if (units)
		*units = n;
	if (segments)
		*segments = n <= single ? 1 : (n + multi - 1) / multi;
	return gsm;
}

/* --- provider error bodies ---------------------------------------------------------- */

static enum kind kind_of(const char *provider, bool *ok)
{
	*ok = true;
	if (provider && strcmp(provider, "twilio") == 0)
		return K_TWILIO;
	if (provider && strcmp(provider, "46elks") == 0)
		return K_46ELKS;
	if (provider && strcmp(provider, "gatewayapi") == 0)
		return K_GWAPI;
	*ok = false;
	return K_TWILIO;
}

const char *fp_error_body(const char *provider, enum fp_error kind, int *http_status)
{
	bool ok;
	enum kind k = kind_of(provider, &ok);
	if (!ok)
		hx_fail("fakeprov: unknown provider \"%s\"", provider ? provider : "(null)");
	int status = 500;
	const char *body = "";
	switch (kind) {
	case FP_ERR_UNSUBSCRIBED:
		status = k == K_GWAPI ? 422 : 400;
		body =
		    k == K_TWILIO ? "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed "
		                    "recipient\",\"more_info\":\"https://www.twilio.com/docs/"
		                    "errors/21610\",\"status\":400}"
		    : k == K_46ELKS ? "Invalid phone number for \"to\""
		                    : "{\"incident_uuid\":\"5f0cf1a4-3c51-4f7e-9d8e-6d3b1a7c2e90\","
		                      "\"message\":\"Invalid recipient: %1\",\"variables\":["
		                      "\"recipients.0.msisdn\"]}";
		break;
	case FP_ERR_NOT_MOBILE:
		status = k == K_GWAPI ? 422 : 400;
		body = k == K_TWILIO
		           ? "{\"code\":21614,\"message\":\"'To' number is not a valid "
		             "mobile number\",\"more_info\":\"https://www.twilio.com/docs/"
		             "errors/21614\",\"status\":400}"
		           : fp_error_body(provider, FP_ERR_UNSUBSCRIBED, NULL);
		break;
	case FP_ERR_RATE_LIMIT:
		status = 429;
		body = k == K_TWILIO
		           ? "{\"code\":20429,\"message\":\"Too Many Requests\",\"more_info\":"
		             "\"https://www.twilio.com/docs/errors/20429\",\"status\":429}"
		       : k == K_46ELKS
		           ? "Too Many Requests"
		           : "{\"incident_uuid\":\"0b7e57c2-8f6a-4c4e-a1d3-2f9c6e8b4d11\","
		             "\"message\":\"Too many requests\"}";
		break;
	case FP_ERR_SERVER:
		status = 500;
		body = k == K_TWILIO ? "{\"code\":20500,\"message\":\"Internal Server Error\","
		                       "\"more_info\":\"https://www.twilio.com/docs/errors/20500\","
		                       "\"status\":500}"
		       : k == K_46ELKS
		           ? "Internal Server Error"
		           : "{\"incident_uuid\":\"c3a9d2e1-7b4f-4a60-8e21-9f5d0b6c7a32\","
		             "\"message\":\"Internal error\"}";
		break;
	}
	if (http_status)
		*http_status = status;
	return body;
}

const char *fp_permanent_error_body(const char *provider)
{
	return fp_error_body(provider, FP_ERR_UNSUBSCRIBED, NULL);
}

int fp_permanent_error_status(const char *provider)
{
	int status;
	fp_error_body(provider, FP_ERR_UNSUBSCRIBED, &status);
	return status;
}

/* --- the server ------------------------------------------------------------------------- */

/* A request being received. */
struct conn {
	char *body;
	size_t len, cap;
	bool too_big;
};

struct reply {
	unsigned status; /* 0: drop the connection */
	const char *ctype;
	char *body; /* malloc'ed */
	const char *www_auth;
};

static void reply_set(struct reply *r, unsigned status, const char *ctype, char *body)
{
	free(r->body);
	r->status = status;
	r->ctype = ctype;
	r->body = body;
}

static void reply_json(struct reply *r, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (!s)
		hx_fail("fakeprov: json_dumps failed");
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

static void gwapi_error(struct reply *r, unsigned status, const char *message)
{
	char uuid[37];
	uuid4(uuid);
	reply_json(r, status, json_pack("{s:s, s:s}", "incident_uuid", uuid, "message", message));
}

/* Basic auth from the Authorization header into user/pass; false if none. */
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

static void new_id(struct fp *fp, char *out, size_t len)
{
	if (fp->kind == K_GWAPI) {
		pthread_mutex_lock(&fp->mu);
		unsigned long long id = fp->next_gw_id++;
		pthread_mutex_unlock(&fp->mu);
		snprintf(out, len, "%llu", id);
		return;
	}
	char hex[33];
	random_hex(hex, 32);
	snprintf(out, len, "%s%s", fp->kind == K_TWILIO ? "SM" : "s", hex);
}

void fp_new_message_id(struct fp *fp, char *out, size_t len)
{
	new_id(fp, out, len);
}

static void record(struct fp *fp, struct fp_msg *m)
{
	m->gsm7 = fp_sms_length(m->text, &m->units, &m->segments);
	m->at_ms = mono_ms();
	pthread_mutex_lock(&fp->mu);
	if (fp->n == fp->cap) {
		size_t cap = fp->cap ? fp->cap * 2 : 16;
		struct fp_msg *v = realloc(fp->msgs, cap * sizeof(*v));
		if (!v)
			hx_fail("fakeprov: out of memory");
		fp->msgs = v;
		fp->cap = cap;
	}
	fp->msgs[fp->n++] = *m;
	pthread_cond_broadcast(&fp->cv);
	pthread_mutex_unlock(&fp->mu);
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;)
		utf8_next(&p), n++;
	return n;
}

static void twilio_send(struct fp *fp, struct MHD_Connection *c, const char *url,
                        const struct conn *k, size_t reqno, struct reply *r)
{
	const char *acct = url + strlen("/2010-04-01/Accounts/");
	size_t acct_len = strcspn(acct, "/");
	char user[256], pass[256];
	if (!basic_auth(c, user, sizeof(user), pass, sizeof(pass)) ||
	    strcmp(user, fp->account) != 0 || strcmp(pass, fp->secret) != 0 ||
	    acct_len != strlen(fp->account) || strncmp(acct, fp->account, acct_len) != 0) {
		twilio_error(r, 401, 20003, "Authenticate");
		r->www_auth = "Basic realm=\"Twilio API\"";
		return;
	}
	struct fp_param *p = NULL;
	size_t n = 0;
	if (fp_form_parse(k->body ? k->body : "", k->len, &p, &n) != 0) {
		twilio_error(r, 400, 20001, "Unable to parse request body");
		return;
	}
	const char *to = param_get(p, n, "To");
	const char *from = param_get(p, n, "From");
	const char *mss = param_get(p, n, "MessagingServiceSid");
	const char *body = param_get(p, n, "Body");
	const char *cb = param_get(p, n, "StatusCallback");
	char msg[160];
	if (!to || !*to) {
		twilio_error(r, 400, 21604, "A 'To' phone number is required.");
	} else if (!is_e164(to)) {
		snprintf(msg, sizeof(msg), "Invalid 'To' Phone Number: %.40s", to);
		twilio_error(r, 400, 21211, msg);
	} else if ((!from || !*from) && (!mss || !*mss)) {
		twilio_error(r, 400, 21603, "A 'From' phone number is required.");
	} else if (!body || !*body) {
		twilio_error(r, 400, 21602, "Message body is required.");
	} else if (utf8_chars(body) > 1600) {
		twilio_error(r, 400, 21617,
		             "The concatenated message body exceeds the 1600 character limit.");
	} else {
		struct fp_msg m = {0};
		new_id(fp, m.id, sizeof(m.id));
		copy_str(m.to, sizeof(m.to), to);
		copy_str(m.from, sizeof(m.from), from);
		copy_str(m.text, sizeof(m.text), body);
		copy_str(m.callback_url, sizeof(m.callback_url), cb);
		m.request_no = reqno;
		record(fp, &m);

		char date[64], segs[16], uri[256], media[256];
		rfc2822_now(date, sizeof(date));
		snprintf(segs, sizeof(segs), "%d", m.segments);
		snprintf(uri, sizeof(uri), "/2010-04-01/Accounts/%s/Messages/%s.json", fp->account,
		         m.id);
		snprintf(media, sizeof(media), "/2010-04-01/Accounts/%s/Messages/%s/Media.json",
		         fp->account, m.id);
		json_t *o = json_object();
		json_object_set_new(o, "account_sid", json_string(fp->account));
		json_object_set_new(o, "api_version", json_string(TWILIO_API_VERSION));
		json_object_set_new(o, "body", json_string(body));
		json_object_set_new(o, "date_created", json_string(date));
		json_object_set_new(o, "date_sent", json_null());
		json_object_set_new(o, "date_updated", json_string(date));
		json_object_set_new(o, "direction", json_string("outbound-api"));
		json_object_set_new(o, "error_code", json_null());
		json_object_set_new(o, "error_message", json_null());
		json_object_set_new(o, "from", from && *from ? json_string(from) : json_null());
		json_object_set_new(o, "messaging_service_sid",
		                    mss && *mss ? json_string(mss) : json_null());
		json_object_set_new(o, "num_media", json_string("0"));
		json_object_set_new(o, "num_segments", json_string(segs));
		json_object_set_new(o, "price", json_null());
		json_object_set_new(o, "price_unit", json_string("USD"));
		json_object_set_new(o, "sid", json_string(m.id));
		json_object_set_new(o, "status", json_string("queued"));
		json_object_set_new(o, "subresource_uris", json_pack("{s:s}", "media", media));
		json_object_set_new(o, "to", json_string(to));
		json_object_set_new(o, "uri", json_string(uri));
		reply_json(r, 201, o);
	}
	fp_params_free(p, n);
}

static void elks_send(struct fp *fp, struct MHD_Connection *c, const struct conn *k, size_t reqno,
                      struct reply *r)
{
	char user[256], pass[256];
	if (!basic_auth(c, user, sizeof(user), pass, sizeof(pass)) ||
	    strcmp(user, fp->account) != 0 || strcmp(pass, fp->secret) != 0) {
		reply_set(r, 401, "text/plain", xstrdup("Unauthorized"));
		r->www_auth = "Basic realm=\"46elks\"";
		return;
	}
	struct fp_param *p = NULL;
	size_t n = 0;
	if (fp_form_parse(k->body ? k->body : "", k->len, &p, &n) != 0) {
		reply_set(r, 400, "text/plain", xstrdup("Invalid request body"));
		return;
	}
	const char *from = param_get(p, n, "from");
	const char *to = param_get(p, n, "to");
	const char *message = param_get(p, n, "message");
	const char *cb = param_get(p, n, "whendelivered");
	if (!from || !*from) {
		reply_set(r, 400, "text/plain", xstrdup("Missing key from"));
	} else if (!to || !*to) {
		reply_set(r, 400, "text/plain", xstrdup("Missing key to"));
	} else if (!message || !*message) {
		reply_set(r, 400, "text/plain", xstrdup("Missing key message"));
	} else if (!is_e164(to)) {
		reply_set(r, 400, "text/plain", xstrdup("Invalid phone number for \"to\""));
	} else {
		struct fp_msg m = {0};
		new_id(fp, m.id, sizeof(m.id));
		copy_str(m.to, sizeof(m.to), to);
		copy_str(m.from, sizeof(m.from), from);
		copy_str(m.text, sizeof(m.text), message);
		copy_str(m.callback_url, sizeof(m.callback_url), cb);
		m.request_no = reqno;
		record(fp, &m);
		char created[64];
		elks_time(created, sizeof(created), 0);
		json_t *o = json_object();
		json_object_set_new(o, "status", json_string("created"));
		json_object_set_new(o, "direction", json_string("outgoing"));
		json_object_set_new(o, "from", json_string(from));
		json_object_set_new(o, "created", json_string(created));
		json_object_set_new(o, "parts", json_integer(m.segments));
		json_object_set_new(o, "to", json_string(to));
		json_object_set_new(o, "cost", json_integer(3500 * (json_int_t)m.segments));
		json_object_set_new(o, "message", json_string(message));
		json_object_set_new(o, "id", json_string(m.id));
		reply_json(r, 200, o);
	}
	fp_params_free(p, n);
}

/* One GatewayAPI message object → its recipients recorded under one id. */
struct gw_usage {
	json_t *countries;
	double cost;
};

static int gw_one(struct fp *fp, json_t *msg, size_t reqno, json_t *ids, struct gw_usage *u,
                  struct reply *r)
{
	if (!json_is_object(msg)) {
		gwapi_error(r, 422, "Invalid json request body");
		return -1;
	}
	const char *message = json_string_value(json_object_get(msg, "message"));
	json_t *recipients = json_object_get(msg, "recipients");
	if (!message || !*message) {
		gwapi_error(r, 400, "Missing message");
		return -1;
	}
	if (!json_is_array(recipients) || json_array_size(recipients) == 0) {
		gwapi_error(r, 400, "Missing recipients");
		return -1;
	}
	char msisdn[48];
	size_t i;
	json_t *rc;
	json_array_foreach(recipients, i, rc)
	{
		json_t *v = json_object_get(rc, "msisdn");
		if (json_is_integer(v))
			snprintf(msisdn, sizeof(msisdn), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(v));
		else if (json_is_string(v))
			copy_str(msisdn, sizeof(msisdn), json_string_value(v));
		else
			msisdn[0] = '\0';
		char d[32];
		digits_of(msisdn, d, sizeof(d));
		if (!d[0] || strlen(d) < 4) {
			gwapi_error(r, 400, "Invalid recipient msisdn");
			return -1;
		}
	}
	char id[32];
	new_id(fp, id, sizeof(id));
	json_array_append_new(ids, json_integer(strtoll(id, NULL, 10)));
	json_array_foreach(recipients, i, rc)
	{
		json_t *v = json_object_get(rc, "msisdn");
		struct fp_msg m = {0};
		copy_str(m.id, sizeof(m.id), id);
		if (json_is_integer(v))
			snprintf(m.to, sizeof(m.to), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(v));
		else
			copy_str(m.to, sizeof(m.to), json_string_value(v));
		copy_str(m.from, sizeof(m.from), json_string_value(json_object_get(msg, "sender")));
		copy_str(m.text, sizeof(m.text), message);
		copy_str(m.callback_url, sizeof(m.callback_url),
		         json_string_value(json_object_get(msg, "callback_url")));
		copy_str(m.userref, sizeof(m.userref),
		         json_string_value(json_object_get(msg, "userref")));
		copy_str(m.encoding, sizeof(m.encoding),
		         json_string_value(json_object_get(msg, "encoding")));
		m.request_no = reqno;
		record(fp, &m);
		const struct country *cc = country_of(m.to);
		const char *code = cc ? cc->code : "DK";
		json_t *cnt = json_object_get(u->countries, code);
		json_object_set_new(u->countries, code,
		                    json_integer((cnt ? json_integer_value(cnt) : 0) + m.segments));
		u->cost += 0.12 * m.segments;
	}
	return 0;
}

/* The form variant of /rest/mtsms: message, sender, ..., recipients.N.msisdn. */
static json_t *gw_form_to_json(const struct conn *k)
{
	struct fp_param *p = NULL;
	size_t n = 0;
	if (fp_form_parse(k->body ? k->body : "", k->len, &p, &n) != 0)
		return NULL;
	json_t *o = json_object(), *rcpt = json_array();
	for (size_t i = 0; i < n; i++) {
		unsigned idx;
		int used = 0;
		if (sscanf(p[i].name, "recipients.%u.msisdn%n", &idx, &used) == 1 &&
		    p[i].name[used] == '\0')
			json_array_append_new(rcpt, json_pack("{s:s}", "msisdn", p[i].value));
		else if (strcmp(p[i].name, "token") != 0)
			json_object_set_new(o, p[i].name, json_string(p[i].value));
	}
	json_object_set_new(o, "recipients", rcpt);
	fp_params_free(p, n);
	return o;
}

static void gwapi_send(struct fp *fp, struct MHD_Connection *c, const struct conn *k, size_t reqno,
                       struct reply *r)
{
	char user[256], pass[256];
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *qtoken = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	bool form = ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0;
	bool authed = false;
	if (basic_auth(c, user, sizeof(user), pass, sizeof(pass)))
		authed = strcmp(user, fp->secret) == 0;
	else if (authz && strncasecmp(authz, "Token ", 6) == 0)
		authed = strcmp(authz + 6, fp->secret) == 0;
	else if (qtoken)
		authed = strcmp(qtoken, fp->secret) == 0;
	json_t *root = NULL;
	if (form) {
		root = gw_form_to_json(k);
		if (!authed && !authz && !qtoken) {
			const char *t = json_string_value(json_object_get(root, "token"));
			authed = t && strcmp(t, fp->secret) == 0;
		}
	}
	if (!authed) {
		json_decref(root);
		gwapi_error(r, 401, "Unauthorized");
		r->www_auth = "Basic realm=\"GatewayAPI\"";
		return;
	}
	if (!form) {
		json_error_t err;
		root = json_loadb(k->body ? k->body : "", k->len, 0, &err);
	}
	if (!root || !(json_is_object(root) || json_is_array(root))) {
		json_decref(root);
		gwapi_error(r, 422, "Invalid json request body");
		return;
	}
	json_t *ids = json_array();
	struct gw_usage u = {json_object(), 0.0};
	int rc = 0;
	if (json_is_object(root)) {
		rc = gw_one(fp, root, reqno, ids, &u, r);
	} else {
		size_t i;
		json_t *m;
		json_array_foreach(root, i, m)
		{
			if ((rc = gw_one(fp, m, reqno, ids, &u, r)) != 0)
				break;
		}
	}
	if (rc == 0)
		reply_json(r, 200,
		           json_pack("{s:o, s:{s:o, s:s, s:f}}", "ids", ids, "usage", "countries",
		                     u.countries, "currency", "DKK", "total_cost", u.cost));
	else {
		json_decref(ids);
		json_decref(u.countries);
	}
	json_decref(root);
}

static bool is_send_path(const struct fp *fp, const char *url)
{
	switch (fp->kind) {
	case K_TWILIO: {
		const char *pre = "/2010-04-01/Accounts/";
		if (strncmp(url, pre, strlen(pre)) != 0)
			return false;
		const char *slash = strchr(url + strlen(pre), '/');
		return slash && slash > url + strlen(pre) && strcmp(slash, "/Messages.json") == 0;
	}
	case K_46ELKS:
		return strcasecmp(url, "/a1/sms") == 0;
	case K_GWAPI:
		return strcmp(url, "/rest/mtsms") == 0;
	}
	return false;
}

static enum MHD_Result queue_reply(struct MHD_Connection *c, struct reply *r)
{
	if (r->status == 0) {
		free(r->body);
		return MHD_NO; /* close without an answer */
	}
	const char *body = r->body ? r->body : "";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
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

static void not_found(const struct fp *fp, const char *url, struct reply *r)
{
	if (fp->kind == K_TWILIO) {
		char msg[300];
		snprintf(msg, sizeof(msg), "The requested resource %.200s was not found", url);
		twilio_error(r, 404, 20404, msg);
	} else if (fp->kind == K_GWAPI) {
		gwapi_error(r, 404, "Not found");
	} else {
		reply_set(r, 404, "text/plain", xstrdup("Not found"));
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct fp *fp = cls;
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
				char *b = realloc(k->body, cap);
				if (!b)
					return MHD_NO;
				k->body = b;
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

	struct reply r = {0};
	if (!is_send_path(fp, url)) {
		not_found(fp, url, &r);
		return queue_reply(c, &r);
	}
	if (strcmp(method, "POST") != 0) {
		reply_set(&r, 405, "text/plain", xstrdup("Method Not Allowed"));
		return queue_reply(c, &r);
	}

	pthread_mutex_lock(&fp->mu);
	size_t reqno = ++fp->requests;
	bool fail = fp->fail_count > 0;
	int fail_status = fp->fail_status;
	char *fail_body = fail && fp->fail_body ? xstrdup(fp->fail_body) : NULL;
	if (fail)
		fp->fail_count--;
	int delay = fp->delay_ms;
	pthread_mutex_unlock(&fp->mu);
	if (delay > 0)
		sleep_ms(delay);

	if (fail) {
		const char *ct = fail_body && (fail_body[0] == '{' || fail_body[0] == '[')
		                     ? "application/json"
		                     : "text/plain";
		reply_set(&r, (unsigned)fail_status, ct, fail_body ? fail_body : xstrdup(""));
		return queue_reply(c, &r);
	}
	if (k->too_big) {
		reply_set(&r, 413, "text/plain", xstrdup("Request Entity Too Large"));
		return queue_reply(c, &r);
	}
	switch (fp->kind) {
	case K_TWILIO:
		twilio_send(fp, c, url, k, reqno, &r);
		break;
	case K_46ELKS:
		elks_send(fp, c, k, reqno, &r);
		break;
	case K_GWAPI:
		gwapi_send(fp, c, k, reqno, &r);
		break;
	}
	return queue_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct conn *k = *con_cls;
	if (k) {
		free(k->body);
		free(k);
		*con_cls = NULL;
	}
}

/* --- lifecycle and settings --------------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct fp *fp = cls;
	fprintf(stderr, "fakeprov(%s): ", fp->provider);
	vfprintf(stderr, fmt, ap);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct fp *fp_start(const char *provider, const char *account, const char *secret)
{
	bool ok;
	enum kind k = kind_of(provider, &ok);
	if (!ok)
		hx_fail("fakeprov: unknown provider \"%s\"", provider ? provider : "(null)");
	if (!secret || !*secret)
		hx_fail("fakeprov: %s needs a secret", provider);
	if (k != K_GWAPI && (!account || !*account))
		hx_fail("fakeprov: %s needs an account", provider);
	pthread_once(&curl_once, curl_init_once);

	struct fp *fp = calloc(1, sizeof(*fp));
	if (!fp)
		hx_fail("fakeprov: out of memory");
	fp->kind = k;
	copy_str(fp->provider, sizeof(fp->provider), provider);
	copy_str(fp->account, sizeof(fp->account), account);
	copy_str(fp->secret, sizeof(fp->secret), secret);
	unsigned r;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	fp->next_gw_id = 100000000ULL + r % 800000000ULL;
	pthread_mutex_init(&fp->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fp->cv, &ca);
	pthread_condattr_destroy(&ca);

	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	fp->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, fp, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, fp,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    fp, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
	if (!fp->mhd)
		hx_fail("fakeprov: cannot start the %s server", provider);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(fp->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		hx_fail("fakeprov: no port for the %s server", provider);
	snprintf(fp->base, sizeof(fp->base), "http://127.0.0.1:%u", (unsigned)info->port);
	return fp;
}

void fp_stop(struct fp *fp)
{
	if (!fp)
		return;
	MHD_stop_daemon(fp->mhd);
	free(fp->msgs);
	free(fp->fail_body);
	pthread_cond_destroy(&fp->cv);
	pthread_mutex_destroy(&fp->mu);
	free(fp);
}

const char *fp_base_url(const struct fp *fp)
{
	return fp->base;
}

const char *fp_provider(const struct fp *fp)
{
	return fp->provider;
}

void fp_set_hook_auth(struct fp *fp, const char *user, const char *password)
{
	pthread_mutex_lock(&fp->mu);
	copy_str(fp->hook_user, sizeof(fp->hook_user), user);
	copy_str(fp->hook_password, sizeof(fp->hook_password), password);
	fp->hook_auth_set = user != NULL;
	pthread_mutex_unlock(&fp->mu);
}

void fp_set_webhook_secret(struct fp *fp, const char *secret)
{
	pthread_mutex_lock(&fp->mu);
	copy_str(fp->webhook_secret, sizeof(fp->webhook_secret), secret);
	pthread_mutex_unlock(&fp->mu);
}

void fp_set_webhook_target(struct fp *fp, const char *base_url)
{
	pthread_mutex_lock(&fp->mu);
	copy_str(fp->target, sizeof(fp->target), base_url);
	size_t n = strlen(fp->target);
	while (n && fp->target[n - 1] == '/')
		fp->target[--n] = '\0';
	pthread_mutex_unlock(&fp->mu);
}

void fp_set_default_callback(struct fp *fp, const char *url)
{
	pthread_mutex_lock(&fp->mu);
	copy_str(fp->default_callback, sizeof(fp->default_callback), url);
	pthread_mutex_unlock(&fp->mu);
}

void fp_fail_next(struct fp *fp, int count, int http_status, const char *body)
{
	pthread_mutex_lock(&fp->mu);
	fp->fail_count = count > 0 ? count : 0;
	fp->fail_status = http_status;
	free(fp->fail_body);
	fp->fail_body = body ? xstrdup(body) : NULL;
	pthread_mutex_unlock(&fp->mu);
}

void fp_set_delay(struct fp *fp, int ms)
{
	pthread_mutex_lock(&fp->mu);
	fp->delay_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&fp->mu);
}

size_t fp_count(struct fp *fp)
{
	pthread_mutex_lock(&fp->mu);
	size_t n = fp->n;
	pthread_mutex_unlock(&fp->mu);
	return n;
}

bool fp_get(struct fp *fp, size_t i, struct fp_msg *out)
{
	pthread_mutex_lock(&fp->mu);
	bool ok = i < fp->n;
	if (ok)
		*out = fp->msgs[i];
	pthread_mutex_unlock(&fp->mu);
	return ok;
}

bool fp_wait(struct fp *fp, size_t n, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fp->mu);
	while (fp->n < n)
		if (pthread_cond_timedwait(&fp->cv, &fp->mu, &until) == ETIMEDOUT)
			break;
	bool ok = fp->n >= n;
	pthread_mutex_unlock(&fp->mu);
	return ok;
}

size_t fp_requests(struct fp *fp)
{
	pthread_mutex_lock(&fp->mu);
	size_t n = fp->requests;
	pthread_mutex_unlock(&fp->mu);
	return n;
}

void fp_reset(struct fp *fp)
{
	pthread_mutex_lock(&fp->mu);
	fp->n = 0;
	fp->requests = 0;
	fp->fail_count = 0;
	free(fp->fail_body);
	fp->fail_body = NULL;
	fp->delay_ms = 0;
	pthread_mutex_unlock(&fp->mu);
}

/* --- webhooks: HTTP client and URLs ------------------------------------------------------ */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	sb_putn(ud, ptr, size * nmemb);
	return size * nmemb;
}

int fp_post_raw(const char *url, const char *content_type, const char *body, size_t len,
                const struct fp_param *headers, size_t n_headers, const char *user,
                const char *password, char **response_body, char **response_content_type)
{
	pthread_once(&curl_once, curl_init_once);
	if (response_body)
		*response_body = NULL;
	if (response_content_type)
		*response_content_type = NULL;
	CURL *e = curl_easy_init();
	if (!e)
		hx_fail("fakeprov: curl_easy_init failed");
	struct curl_slist *hl = NULL;
	char line[2048];
	if (content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		hl = curl_slist_append(hl, line);
	}
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; i < n_headers; i++) {
		if (headers[i].value && *headers[i].value)
			snprintf(line, sizeof(line), "%s: %s", headers[i].name, headers[i].value);
		else
			snprintf(line, sizeof(line), "%s;", headers[i].name); /* empty value */
		hl = curl_slist_append(hl, line);
	}
	struct sb out = {0};
	body = body ? body : "";
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(len ? len : strlen(body)));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "careline-fakeprov/1");
	if (user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, password ? password : "");
	}
	long status = 0;
	if (curl_easy_perform(e) == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		char *ct = NULL;
		curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
		if (response_content_type && ct)
			*response_content_type = xstrdup(ct);
		if (response_body)
			*response_body = sb_take(&out);
	}
	free(out.p);
	curl_slist_free_all(hl);
	curl_easy_cleanup(e);
	return (int)status;
}

/* A URL taken apart: the URL without user:password@, its path?query, its userinfo. */
struct url {
	char *plain;
	char *pathq;
	char *user;
	char *password;
};

static void url_free(struct url *u)
{
	free(u->plain);
	free(u->pathq);
	free(u->user);
	free(u->password);
	memset(u, 0, sizeof(*u));
}

static char *curl_part(CURLU *h, CURLUPart what)
{
	char *s = NULL;
	if (curl_url_get(h, what, &s, 0) != CURLUE_OK || !s)
		return NULL;
	char *copy = xstrdup(s);
	curl_free(s);
	return copy;
}

static int url_parse(const char *url, struct url *u)
{
	memset(u, 0, sizeof(*u));
	CURLU *h = curl_url();
	if (!h || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK) {
		curl_url_cleanup(h);
		return -1;
	}
	u->user = curl_part(h, CURLUPART_USER);
	u->password = curl_part(h, CURLUPART_PASSWORD);
	char *path = curl_part(h, CURLUPART_PATH);
	char *query = curl_part(h, CURLUPART_QUERY);
	struct sb pq = {0};
	sb_puts(&pq, path ? path : "/");
	if (query) {
		sb_puts(&pq, "?");
		sb_puts(&pq, query);
	}
	u->pathq = sb_take(&pq);
	free(path);
	free(query);
	curl_url_set(h, CURLUPART_USER, NULL, 0);
	curl_url_set(h, CURLUPART_PASSWORD, NULL, 0);
	u->plain = curl_part(h, CURLUPART_URL);
	curl_url_cleanup(h);
	if (!u->plain) {
		url_free(u);
		return -1;
	}
	return 0;
}

static char *concat(const char *a, const char *b)
{
	struct sb s = {0};
	sb_puts(&s, a);
	sb_puts(&s, b);
	return sb_take(&s);
}

/* Does the URL have a path beyond "/" (or a query)? */
static bool url_has_path(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p += strcspn(p, "/?");
	return *p == '?' || (*p == '/' && p[1] != '\0');
}

/* The signing URL: public as it is when it has a path; else public + pathq;
 * NULL/"" public: fallback. */
static char *signing_url(const char *public_url, const char *pathq, const char *fallback)
{
	if (!public_url || !*public_url)
		return xstrdup(fallback);
	if (url_has_path(public_url))
		return xstrdup(public_url);
	struct sb s = {0};
	size_t n = strlen(public_url);
	while (n && public_url[n - 1] == '/')
		n--;
	sb_putn(&s, public_url, n);
	sb_puts(&s, pathq);
	return sb_take(&s);
}

/* url with its path's second-to-last segment replaced (46elks' secret segment). */
static char *url_wrong_segment(const char *url)
{
	const char *scheme = strstr(url, "://");
	size_t off = scheme ? strlen(url) - strlen(scheme) + 3 : 0;
	off += strcspn(url + off, "/?");
	size_t plen = strcspn(url + off, "?");
	size_t last = 0, prev = 0;
	bool have_last = false, have_prev = false;
	for (size_t i = 0; i < plen; i++) {
		if (url[off + i] == '/') {
			prev = last;
			have_prev = have_last;
			last = i;
			have_last = true;
		}
	}
	struct sb s = {0};
	if (have_prev) {
		sb_putn(&s, url, off + prev + 1);
		sb_puts(&s, "wrong-secret");
		sb_puts(&s, url + off + last);
	} else {
		sb_putn(&s, url, off);
		sb_puts(&s, "/wrong-secret");
		sb_puts(&s, url + off);
	}
	return sb_take(&s);
}

/* Where a webhook really goes: the target base + pathq, or the plain URL. */
static char *post_url(struct fp *fp, const struct url *u)
{
	pthread_mutex_lock(&fp->mu);
	char *s = fp->target[0] ? concat(fp->target, u->pathq) : xstrdup(u->plain);
	pthread_mutex_unlock(&fp->mu);
	return s;
}

/* A Twilio webhook: sign params over sign_url (flags applied), POST to target. */
static int twilio_post(struct fp *fp, const char *target, const char *sign_url, struct fp_param *p,
                       size_t n, size_t tamper_idx, const char *tamper_value, unsigned flags,
                       const char *sig_override, char **rbody, char **rctype)
{
	char *secret = concat(fp->secret, flags & FP_WRONG_SECRET ? "-wrong" : "");
	const char *url = sign_url;
	char *alt = NULL;
	if (flags & FP_WRONG_URL) {
		alt = strcmp(target, sign_url) != 0 ? xstrdup(target) : concat(sign_url, "/wrong");
		url = alt;
	}
	char *sig = fp_twilio_signature(secret, url, p, n);
	if (flags & FP_TAMPER_SIGNATURE) {
		char *t = tamper_sig(sig);
		free(sig);
		sig = t;
	}
	if ((flags & FP_TAMPER_BODY) && tamper_idx < n)
		p[tamper_idx].value = tamper_value;
	char *body = fp_form_encode(p, n, true);
	struct fp_param h[2] = {{"X-Twilio-Signature", sig_override ? sig_override : sig},
	                        {"User-Agent", "TwilioProxy/1.1"}};
	bool send_sig = sig_override || !(flags & FP_NO_SIGNATURE);
	int status = fp_post_raw(target, "application/x-www-form-urlencoded", body, 0,
	                         send_sig ? h : h + 1, send_sig ? 2 : 1, NULL, NULL, rbody, rctype);
	free(body);
	free(sig);
	free(alt);
	free(secret);
	return status;
}

/* 46elks basic auth per flags: user/password or none. */
static int elks_post(struct fp *fp, const char *target, const struct url *cb_url,
                     const struct fp_param *p, size_t n, unsigned flags, const char *auth_override,
                     char **rbody, char **rctype)
{
	pthread_mutex_lock(&fp->mu);
	bool set = fp->hook_auth_set;
	char user[128], pass[160];
	copy_str(user, sizeof(user), set ? fp->hook_user : cb_url ? cb_url->user : NULL);
	copy_str(pass, sizeof(pass), set ? fp->hook_password : cb_url ? cb_url->password : NULL);
	bool have = set || (cb_url && cb_url->user);
	pthread_mutex_unlock(&fp->mu);
	if (flags & FP_WRONG_SECRET)
		strncat(pass, "-wrong", sizeof(pass) - strlen(pass) - 1);
	if (flags & FP_TAMPER_SIGNATURE) {
		if (pass[0])
			pass[0] = pass[0] == 'A' ? 'B' : 'A';
		else
			copy_str(pass, sizeof(pass), "A");
	}
	char *url = flags & FP_WRONG_URL ? url_wrong_segment(target) : xstrdup(target);
	char *body = fp_form_encode(p, n, false);
	struct fp_param h = {"Authorization", auth_override};
	bool use_auth = have && !(flags & FP_NO_SIGNATURE) && !auth_override;
	int status =
	    fp_post_raw(url, "application/x-www-form-urlencoded", body, 0, &h,
	                auth_override ? 1 : 0, use_auth ? user : NULL, pass, rbody, rctype);
	free(body);
	free(url);
	return status;
}

/* A GatewayAPI webhook: JWT over the compact ASCII-escaped claims (as PyJWT
 * writes them); the body is the same object as Python's json.dumps writes it
 * (", " and ": " separators), so careline must compare claims, not bytes. */
/* Python's json.dumps writes \u escapes in lower case ("\u00e6"); jansson in upper. */
static char *py_json(json_t *o, size_t flags)
{
	char *s = json_dumps(o, flags | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	if (!s)
		hx_fail("fakeprov: json_dumps failed");
	for (char *p = s; *p; p++) {
		if (*p != '\\' || !p[1])
			continue;
		if (p[1] == 'u')
			for (int i = 2; i < 6 && p[i]; i++)
				p[i] = (char)tolower((unsigned char)p[i]);
		p++; /* skip the escaped character (an escaped backslash too) */
	}
	char *copy = xstrdup(s);
	free(s);
	return copy;
}

static int gwapi_post(struct fp *fp, const char *target, json_t *o, const char *tamper_key,
                      const char *tamper_value, unsigned flags, const char *sig_override,
                      char **rbody, char **rctype)
{
	pthread_mutex_lock(&fp->mu);
	char secret[300];
	copy_str(secret, sizeof(secret), fp->webhook_secret);
	pthread_mutex_unlock(&fp->mu);
	char *claims = py_json(o, JSON_COMPACT);
	if (flags & FP_WRONG_SECRET)
		strncat(secret, "-wrong", sizeof(secret) - strlen(secret) - 1);
	char *jwt = jwt_make(secret, claims, (flags & FP_JWT_ALG_NONE) != 0);
	if (flags & FP_TAMPER_SIGNATURE) {
		char *t = tamper_sig(jwt);
		free(jwt);
		jwt = t;
	}
	if ((flags & FP_TAMPER_BODY) && tamper_key)
		json_object_set_new(o, tamper_key, json_string(tamper_value));
	char *body = py_json(o, 0);
	struct fp_param h = {"X-Gwapi-Signature", sig_override ? sig_override : jwt};
	bool send_sig = sig_override || (secret[0] && !(flags & FP_NO_SIGNATURE));
	int status = fp_post_raw(target, "application/json", body, 0, &h, send_sig ? 1 : 0, NULL,
	                         NULL, rbody, rctype);
	free(body);
	free(jwt);
	free(claims);
	return status;
}

int fp_send_status_ex(struct fp *fp, size_t i, const char *state, const char *error_code,
                      const char *public_url_for_signing, unsigned flags)
{
	struct fp_msg m;
	if (!fp_get(fp, i, &m) || !state)
		return -1;
	char cb[512];
	copy_str(cb, sizeof(cb), m.callback_url);
	if (!cb[0]) {
		pthread_mutex_lock(&fp->mu);
		copy_str(cb, sizeof(cb), fp->default_callback);
		pthread_mutex_unlock(&fp->mu);
	}
	struct url u;
	if (!cb[0] || url_parse(cb, &u) != 0)
		return -1;
	char *target = post_url(fp, &u);
	bool err = error_code && *error_code;
	const char *flipped = strcasecmp(state, "delivered") == 0
	                          ? (fp->kind == K_GWAPI ? "UNDELIVERABLE" : "failed")
	                          : (fp->kind == K_GWAPI ? "DELIVERED" : "delivered");
	int status = -1;
	switch (fp->kind) {
	case K_TWILIO: {
		char done[16] = "";
		if (strcmp(state, "delivered") == 0 || strcmp(state, "undelivered") == 0) {
			time_t t = time(NULL);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(done, sizeof(done), "%y%m%d%H%M", &tm);
		}
		struct fp_param p[12];
		size_t n = 0;
		if (err)
			p[n++] = (struct fp_param){"ErrorCode", error_code};
		p[n++] = (struct fp_param){"SmsSid", m.id};
		p[n++] = (struct fp_param){"SmsStatus", state};
		size_t status_idx = n;
		p[n++] = (struct fp_param){"MessageStatus", state};
		p[n++] = (struct fp_param){"To", m.to};
		p[n++] = (struct fp_param){"MessageSid", m.id};
		p[n++] = (struct fp_param){"AccountSid", fp->account};
		p[n++] = (struct fp_param){"From", m.from};
		p[n++] = (struct fp_param){"ApiVersion", TWILIO_API_VERSION};
		if (done[0])
			p[n++] = (struct fp_param){"RawDlrDoneDate", done};
		char *sign = signing_url(public_url_for_signing, u.pathq, u.plain);
		status = twilio_post(fp, target, sign, p, n, status_idx, flipped, flags, NULL, NULL,
		                     NULL);
		free(sign);
		break;
	}
	case K_46ELKS: {
		char when[64];
		elks_time(when, sizeof(when), 0);
		struct fp_param p[3] = {{"id", m.id},
		                        {"status", flags & FP_TAMPER_BODY ? flipped : state},
		                        {"delivered", when}};
		size_t n = strcmp(p[1].value, "delivered") == 0 ? 3 : 2;
		status = elks_post(fp, target, &u, p, n, flags, NULL, NULL, NULL);
		break;
	}
	case K_GWAPI: {
		char d[32];
		digits_of(m.to, d, sizeof(d));
		const struct country *cc = country_of(m.to);
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(strtoll(m.id, NULL, 10)));
		json_object_set_new(o, "msisdn", json_integer(strtoll(d, NULL, 10)));
		json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
		json_object_set_new(o, "status", json_string(state));
		json_object_set_new(
		    o, "error", err ? json_string("Message could not be delivered") : json_null());
		json_object_set_new(o, "code", err ? json_string(error_code) : json_null());
		json_object_set_new(o, "userref",
		                    m.userref[0] ? json_string(m.userref) : json_null());
		if (cc) {
			json_object_set_new(o, "country_code", json_string(cc->code));
			json_object_set_new(o, "country_prefix", json_integer(cc->num));
		}
		status = gwapi_post(fp, target, o, "status", flipped, flags, NULL, NULL, NULL);
		json_decref(o);
		break;
	}
	}
	free(target);
	url_free(&u);
	return status;
}

int fp_send_status(struct fp *fp, size_t i, const char *state, const char *error_code,
                   const char *public_url_for_signing)
{
	return fp_send_status_ex(fp, i, state, error_code, public_url_for_signing, 0);
}

int fp_post_inbound_ex(struct fp *fp, const struct fp_inbound *in, char **response_body,
                       char **response_content_type)
{
	if (response_body)
		*response_body = NULL;
	if (response_content_type)
		*response_content_type = NULL;
	if (!in || !in->careline_url || !in->from || !in->to || !in->text)
		return -1;
	char id[64];
	if (in->msg_id)
		copy_str(id, sizeof(id), in->msg_id);
	else
		new_id(fp, id, sizeof(id));
	struct url u;
	if (url_parse(in->careline_url, &u) != 0)
		return -1;
	char *tampered = concat(in->text, "!");
	int segments = 1;
	fp_sms_length(in->text, NULL, &segments);
	char nseg[16];
	snprintf(nseg, sizeof(nseg), "%d", segments);
	const struct country *fc = country_of(in->from), *tc = country_of(in->to);
	size_t cap = 24 + in->n_extra;
	struct fp_param *p = xmalloc(cap * sizeof(*p));
	size_t n = 0;
	int status = -1;
	switch (fp->kind) {
	case K_TWILIO: {
		p[n++] = (struct fp_param){"ToCountry", tc ? tc->code : ""};
		p[n++] = (struct fp_param){"ToState", ""};
		p[n++] = (struct fp_param){"SmsMessageSid", id};
		p[n++] = (struct fp_param){"NumMedia", "0"};
		p[n++] = (struct fp_param){"ToCity", ""};
		p[n++] = (struct fp_param){"FromZip", ""};
		p[n++] = (struct fp_param){"SmsSid", id};
		p[n++] = (struct fp_param){"FromState", ""};
		p[n++] = (struct fp_param){"SmsStatus", "received"};
		p[n++] = (struct fp_param){"FromCity", ""};
		size_t body_idx = n;
		p[n++] = (struct fp_param){"Body", in->text};
		p[n++] = (struct fp_param){"FromCountry", fc ? fc->code : ""};
		p[n++] = (struct fp_param){"To", in->to};
		p[n++] = (struct fp_param){"ToZip", ""};
		p[n++] = (struct fp_param){"NumSegments", nseg};
		p[n++] = (struct fp_param){"ReferralNumMedia", "0"};
		p[n++] = (struct fp_param){"MessageSid", id};
		p[n++] = (struct fp_param){"AccountSid", fp->account};
		p[n++] = (struct fp_param){"From", in->from};
		p[n++] = (struct fp_param){"ApiVersion", TWILIO_API_VERSION};
		for (size_t i = 0; i < in->n_extra; i++)
			p[n++] = in->extra[i];
		char *sign = signing_url(in->public_url, u.pathq, in->careline_url);
		status =
		    twilio_post(fp, in->careline_url, sign, p, n, body_idx, tampered, in->flags,
		                in->signature, response_body, response_content_type);
		free(sign);
		break;
	}
	case K_46ELKS: {
		char created[64];
		elks_time(created, sizeof(created), in->sent_unix);
		p[n++] = (struct fp_param){"direction", "incoming"};
		p[n++] = (struct fp_param){"id", id};
		p[n++] = (struct fp_param){"from", in->from};
		p[n++] = (struct fp_param){"to", in->to};
		p[n++] = (struct fp_param){"created", created};
		p[n++] =
		    (struct fp_param){"message", in->flags & FP_TAMPER_BODY ? tampered : in->text};
		for (size_t i = 0; i < in->n_extra; i++)
			p[n++] = in->extra[i];
		status = elks_post(fp, in->careline_url, NULL, p, n, in->flags, in->signature,
		                   response_body, response_content_type);
		break;
	}
	case K_GWAPI: {
		char fd[32], td[32];
		digits_of(in->from, fd, sizeof(fd));
		digits_of(in->to, td, sizeof(td));
		char *end = NULL;
		long long idn = strtoll(id, &end, 10);
		if (!id[0] || *end || !fd[0] || !td[0])
			break;
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(idn));
		json_object_set_new(o, "msisdn", json_integer(strtoll(fd, NULL, 10)));
		json_object_set_new(o, "receiver", json_integer(strtoll(td, NULL, 10)));
		json_object_set_new(o, "message", json_string(in->text));
		json_object_set_new(
		    o, "senttime",
		    json_integer(in->sent_unix ? in->sent_unix : (json_int_t)time(NULL)));
		json_object_set_new(o, "webhook_label", json_string(GWAPI_LABEL));
		json_object_set_new(o, "sender", json_string(fd));
		if (fc) {
			json_object_set_new(o, "country_code", json_string(fc->code));
			json_object_set_new(o, "country_prefix", json_integer(fc->num));
		}
		for (size_t i = 0; i < in->n_extra; i++)
			json_object_set_new(o, in->extra[i].name, json_string(in->extra[i].value));
		status = gwapi_post(fp, in->careline_url, o, "message", tampered, in->flags,
		                    in->signature, response_body, response_content_type);
		json_decref(o);
		break;
	}
	}
	free(p);
	free(tampered);
	url_free(&u);
	return status;
}

int fp_post_inbound(struct fp *fp, const char *careline_url, const char *public_url_for_signing,
                    const char *msg_id, const char *from, const char *to, const char *text,
                    char **response_body, char **response_content_type)
{
	struct fp_inbound in = {
	    .careline_url = careline_url,
	    .public_url = public_url_for_signing,
	    .msg_id = msg_id,
	    .from = from,
	    .to = to,
	    .text = text,
	};
	return fp_post_inbound_ex(fp, &in, response_body, response_content_type);
}
