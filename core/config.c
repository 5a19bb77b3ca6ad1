/*
 * core/config.c owns loading and validating the INI configuration (inih) into
 * a struct cl_config: settings, people, devices, tokens, areas, teams,
 * policies, plus the normaliser rules and texts it points to. Cross references
 * (area → team → policy) are checked and linked after the whole file is read,
 * so sections may come in any order. Errors name the line and the key.
 */
#include "careline/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/crypto.h"
#include "careline/embedded.h"
#include "careline/fold.h"
#include "careline/normalise.h"
#include "careline/texts.h"
#include "careline/ticket.h"
#include "careline/tz.h"

/* Where each key was set, so that errors found after the whole file is read
 * (cross references) can still name a line. */
struct key_line {
	char kind[32];
	char id[CL_ID_MAX];
	char name[24];
	int line;
	int section_line; /* the line of the key's [section] header */
};

struct team_shorthand;

struct parse_ctx {
	struct cl_config *cfg;
	char *err;
	size_t errlen;
	int line; /* named by fail(); 0 for none */
	bool failed;
	int fail_line;
	/* the INI text as inih reads it, line by line (see read_line) */
	const char *src;
	size_t src_left;
	int cur_line;
	int section_line;
	struct key_line *keys;
	size_t n_keys;
	struct team_shorthand *shorts; /* per team index: rotation/backup short form */
	size_t n_short;
};

static bool set_yes_no(const char *value, bool *out);

static const char *const role_names[] = {"partner", "worker", "admin", "monitor"};

const char *cl_role_name(enum cl_role role)
{
	if ((unsigned)role >= sizeof(role_names) / sizeof(role_names[0]))
		return "unknown";
	return role_names[role];
}

static int fail(struct parse_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse_ctx *p, const char *fmt, ...)
{
	if (!p->failed && p->err && p->errlen) {
		int n = p->line > 0 ? snprintf(p->err, p->errlen, "line %d: ", p->line) : 0;
		va_list ap;
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < p->errlen)
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (!p->failed)
		p->fail_line = p->line;
	p->failed = true;
	return 0;
}

/* inih's reader for a string (like its own ini_parse_string), counting the
 * lines it hands out, so handlers know the line they are called for. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	if (p->src_left == 0 || num < 2)
		return NULL;
	char *out = str;
	while (num > 1 && p->src_left != 0) {
		char c = *p->src++;
		p->src_left--;
		*out++ = c;
		if (c == '\n')
			break;
		num--;
	}
	*out = '\0';
	p->cur_line++;
	const char *q = str;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == '[')
		p->section_line = p->cur_line;
	return str;
}

static void *grow(void *arrp, size_t *n, size_t sz);

static void remember_key(struct parse_ctx *p, const char *kind, const char *id, const char *name)
{
	struct key_line *k = grow(&p->keys, &p->n_keys, sizeof(*k));
	if (!k)
		return; /* only the line number in a later message is lost */
	snprintf(k->kind, sizeof(k->kind), "%s", kind);
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->line = p->cur_line;
	k->section_line = p->section_line;
}

/* The line of the nth `name` key in section [kind id]; with name NULL, or
 * when there is no such key, the section's header line; 0 if unknown. */
static int line_of(const struct parse_ctx *p, const char *kind, const char *id, const char *name,
                   size_t nth)
{
	int section = 0;
	for (size_t i = 0; i < p->n_keys; i++) {
		const struct key_line *k = &p->keys[i];
		if (strcmp(k->kind, kind) != 0 || strcmp(k->id, id) != 0)
			continue;
		if (!section)
			section = k->section_line;
		if (name && strcmp(k->name, name) == 0 && nth-- == 0)
			return k->line;
	}
	return section;
}

/* fail() at the line of a key (see line_of). */
#define FAIL_AT(p, kind, id, name, nth, ...)                                                       \
	((p)->line = line_of((p), (kind), (id), (name), (nth)), fail((p), __VA_ARGS__))

static bool copy_id(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);
	if (n == 0 || n >= len)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

static bool copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);
	if (n >= len)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Seconds as a decimal ("120", "0.25") → milliseconds. */
static bool parse_seconds(const char *s, int64_t *out_ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 366.0 * 86400)
		return false;
	*out_ms = (int64_t)(v * 1000.0 + 0.5);
	return true;
}

/* Grow *arr (of n elements of size sz) by one zeroed element. */
static void *grow(void *arrp, size_t *n, size_t sz)
{
	void **arr = arrp;
	void *p = realloc(*arr, (*n + 1) * sz);
	if (!p)
		return NULL;
	*arr = p;
	void *elem = (char *)p + *n * sz;
	memset(elem, 0, sz);
	(*n)++;
	return elem;
}

/* Split a list on spaces and commas; calls fn for each word. */
static bool each_word(const char *list, bool (*fn)(void *ctx, const char *word), void *ctx)
{
	char word[128];
	const char *s = list;
	while (*s) {
		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		size_t n = strcspn(s, " ,\t");
		if (n == 0)
			break;
		if (n >= sizeof(word))
			return false;
		memcpy(word, s, n);
		word[n] = '\0';
		if (!fn(ctx, word))
			return false;
		s += n;
	}
	return true;
}

/* Find the element of a config array whose first member (char id[]) is id. */
#define FIND_BY_ID(arr, n, id_)                                                                    \
	for (size_t i_ = 0; i_ < (n); i_++)                                                        \
		if (strcmp((arr)[i_].id, (id_)) == 0)                                              \
			return &(arr)[i_];                                                         \
	return NULL

static struct cl_person *person_mut(struct cl_config *cfg, const char *id)
{
	FIND_BY_ID(cfg->persons, cfg->n_persons, id);
}
static struct cl_device *device_mut(struct cl_config *cfg, const char *id)
{
	FIND_BY_ID(cfg->devices, cfg->n_devices, id);
}
static struct cl_team *team_mut(struct cl_config *cfg, const char *id)
{
	FIND_BY_ID(cfg->teams, cfg->n_teams, id);
}
static struct cl_area *area_mut(struct cl_config *cfg, const char *id)
{
	FIND_BY_ID(cfg->areas, cfg->n_areas, id);
}
static struct cl_policy *policy_mut(struct cl_config *cfg, const char *id)
{
	FIND_BY_ID(cfg->policies, cfg->n_policies, id);
}
static struct cl_token *token_mut(struct cl_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_tokens; i++)
		if (strcmp(cfg->tokens[i].name, name) == 0)
			return &cfg->tokens[i];
	return NULL;
}

const struct cl_person *cl_config_person(const struct cl_config *cfg, const char *id)
{
	return person_mut((struct cl_config *)cfg, id);
}
const struct cl_device *cl_config_device(const struct cl_config *cfg, const char *id)
{
	return device_mut((struct cl_config *)cfg, id);
}
const struct cl_team *cl_config_team(const struct cl_config *cfg, const char *id)
{
	return team_mut((struct cl_config *)cfg, id);
}
const struct cl_area *cl_config_area(const struct cl_config *cfg, const char *id)
{
	return area_mut((struct cl_config *)cfg, id);
}

size_t cl_config_person_devices(const struct cl_config *cfg, const char *person,
                                const struct cl_device **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_devices && n < max; i++)
		if (strcmp(cfg->devices[i].person, person) == 0)
			out[n++] = &cfg->devices[i];
	return n;
}

const struct cl_token *cl_config_token(const struct cl_config *cfg, const char *secret)
{
	unsigned char h[CL_CRYPTO_HASH_BYTES];
	cl_crypto_digest(secret, strlen(secret), h);
	const struct cl_token *found = NULL;
	/* Compare against every token so timing does not tell which matched. */
	for (size_t i = 0; i < cfg->n_tokens; i++)
		if (cl_crypto_equal(h, cfg->tokens[i].secret_hash, sizeof(h)) && !found)
			found = &cfg->tokens[i];
	return found;
}

/* --- section handlers ------------------------------------------------------ */

static int set_general(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	if (strcmp(name, "database") == 0) {
		if (!copy_str(cfg->database, sizeof(cfg->database), value) || !value[0])
			return fail(p, "database: empty or too long");
	} else if (strcmp(name, "key_file") == 0) {
		if (!copy_str(cfg->key_file, sizeof(cfg->key_file), value) || !value[0])
			return fail(p, "key_file: empty or too long");
	} else if (strcmp(name, "lang") == 0) {
		if (strcmp(value, "da") != 0 && strcmp(value, "en") != 0)
			return fail(p, "lang: must be da or en");
		copy_str(cfg->lang, sizeof(cfg->lang), value);
	} else if (strcmp(name, "log_level") == 0) {
		if (!copy_str(cfg->log_level, sizeof(cfg->log_level), value))
			return fail(p, "log_level: unknown");
	} else if (strcmp(name, "rules_file") == 0) {
		if (!copy_str(cfg->rules_file, sizeof(cfg->rules_file), value))
			return fail(p, "rules_file: too long");
	} else {
		return fail(p, "[careline] unknown key '%s'", name);
	}
	return 1;
}

static int set_http(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	long v;
	if (strcmp(name, "listen") == 0) {
		if (!copy_str(cfg->http_listen, sizeof(cfg->http_listen), value) ||
		    !strchr(value, ':'))
			return fail(p, "listen: expected HOST:PORT");
	} else if (strcmp(name, "admin_socket") == 0) {
		if (!copy_str(cfg->admin_socket, sizeof(cfg->admin_socket), value))
			return fail(p, "admin_socket: too long");
	} else if (strcmp(name, "max_body") == 0) {
		if (!parse_long(value, 256, 64L * 1024 * 1024, &v))
			return fail(p, "max_body: expected bytes 256..67108864");
		cfg->http_max_body = (size_t)v;
	} else if (strcmp(name, "idle_timeout") == 0) {
		if (!parse_long(value, 1, 3600, &v))
			return fail(p, "idle_timeout: expected seconds 1..3600");
		cfg->http_idle_timeout_s = (unsigned)v;
	} else if (strcmp(name, "request_timeout") == 0) {
		if (!parse_long(value, 1, 3600, &v))
			return fail(p, "request_timeout: expected seconds 1..3600");
		cfg->http_request_timeout_s = (unsigned)v;
	} else if (strcmp(name, "per_ip_connections") == 0) {
		if (!parse_long(value, 0, 100000, &v))
			return fail(p, "per_ip_connections: expected 0..100000 (0: no cap)");
		cfg->http_per_ip_connections = (unsigned)v;
	} else if (strcmp(name, "per_ip_rate") == 0) {
		if (!parse_long(value, 0, 1000000, &v))
			return fail(p, "per_ip_rate: expected requests/s 0..1000000 (0: off)");
		cfg->http_per_ip_rate = (unsigned)v;
	} else if (strcmp(name, "per_ip_burst") == 0) {
		if (!parse_long(value, 1, 1000000, &v))
			return fail(p, "per_ip_burst: expected requests 1..1000000");
		cfg->http_per_ip_burst = (unsigned)v;
	} else {
		return fail(p, "[http] unknown key '%s'", name);
	}
	return 1;
}

static int set_mqtt(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	long v;
	if (strcmp(name, "host") == 0) {
		if (!copy_str(cfg->mqtt_host, sizeof(cfg->mqtt_host), value))
			return fail(p, "host: too long");
	} else if (strcmp(name, "port") == 0) {
		if (!parse_long(value, 1, 65535, &v))
			return fail(p, "port: expected 1..65535");
		cfg->mqtt_port = (int)v;
	} else if (strcmp(name, "client_id") == 0) {
		if (!copy_str(cfg->mqtt_client_id, sizeof(cfg->mqtt_client_id), value) || !value[0])
			return fail(p, "client_id: empty or too long");
	} else if (strcmp(name, "username") == 0) {
		if (!copy_str(cfg->mqtt_username, sizeof(cfg->mqtt_username), value))
			return fail(p, "username: too long");
	} else if (strcmp(name, "password") == 0) {
		if (!copy_str(cfg->mqtt_password, sizeof(cfg->mqtt_password), value))
			return fail(p, "password: too long");
	} else if (strcmp(name, "require_sealed") == 0) {
		if (!set_yes_no(value, &cfg->mqtt_require_sealed))
			return fail(p, "require_sealed: yes or no");
	} else if (strcmp(name, "accounts") == 0) {
		if (strcmp(value, "dynsec") != 0 && strcmp(value, "none") != 0)
			return fail(p, "accounts: dynsec or none");
		copy_str(cfg->mqtt_accounts, sizeof(cfg->mqtt_accounts), value);
	} else if (strcmp(name, "keepalive") == 0) {
		if (!parse_long(value, 5, 3600, &v))
			return fail(p, "keepalive: expected seconds 5..3600");
		cfg->mqtt_keepalive_s = (int)v;
	} else {
		return fail(p, "[mqtt] unknown key '%s'", name);
	}
	return 1;
}

static int set_outbox(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	int64_t ms;
	if (!parse_seconds(value, &ms))
		return fail(p, "%s: expected seconds", name);
	if (strcmp(name, "retry_base") == 0 && ms > 0)
		cfg->outbox_retry_base_ms = ms;
	else if (strcmp(name, "retry_cap") == 0 && ms > 0)
		cfg->outbox_retry_cap_ms = ms;
	else if (strcmp(name, "alert_expiry") == 0)
		cfg->alert_expiry_s = ms / 1000;
	else
		return fail(p, "[outbox] unknown key '%s' or zero value", name);
	return 1;
}

static bool valid_e164(const char *s)
{
	size_t n = strlen(s);
	return n >= 9 && n <= 16 && s[0] == '+' && s[1] != '0' &&
	       strspn(s + 1, "0123456789") == n - 1;
}

/* "stop, afmeld" → folded "stop afmeld" (keywords compare folded). */
static bool set_words(char *dst, size_t len, const char *value)
{
	char folded[512];
	cl_fold(value, folded, sizeof(folded));
	return copy_str(dst, len, folded);
}

static int set_sms(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_sms_config *sms = &p->cfg->sms;
	struct {
		const char *key;
		char *dst;
		size_t len;
	} strs[] = {
	    {"provider", sms->provider, sizeof(sms->provider)},
	    {"public_url", sms->public_url, sizeof(sms->public_url)},
	    {"api_base", sms->api_base, sizeof(sms->api_base)},
	    {"account", sms->account, sizeof(sms->account)},
	    {"secret", sms->secret, sizeof(sms->secret)},
	    {"webhook_secret", sms->webhook_secret, sizeof(sms->webhook_secret)},
	    {"hook_path_secret", sms->hook_path_secret, sizeof(sms->hook_path_secret)},
	    {"hook_user", sms->hook_user, sizeof(sms->hook_user)},
	    {"hook_password", sms->hook_password, sizeof(sms->hook_password)},
	    {"from", sms->from, sizeof(sms->from)},
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(name, strs[i].key) == 0) {
			if (!copy_str(strs[i].dst, strs[i].len, value))
				return fail(p, "[sms] %s: too long", name);
			if (strcmp(name, "provider") == 0 && value[0] && strcmp(value, "twilio") &&
			    strcmp(value, "46elks") && strcmp(value, "gatewayapi"))
				return fail(p, "[sms] provider: twilio, 46elks or gatewayapi");
			while (strcmp(name, "public_url") == 0 && strs[i].dst[0] &&
			       strs[i].dst[strlen(strs[i].dst) - 1] == '/')
				strs[i].dst[strlen(strs[i].dst) - 1] = '\0';
			return 1;
		}
	}
	struct {
		const char *key;
		int64_t *dst;
	} times[] = {
	    {"followup_window", &sms->followup_window_ms},
	    {"replay_window", &sms->replay_window_ms},
	    {"sender_window", &sms->sender_window_ms},
	    {"staff_gap", &sms->staff_gap_ms},
	    {"staff_burst_window", &sms->staff_burst_window_ms},
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if (strcmp(name, times[i].key) == 0) {
			if (!parse_seconds(value, times[i].dst))
				return fail(p, "[sms] %s: expected seconds", name);
			return 1;
		}
	}
	long v;
	if (strcmp(name, "sender_max") == 0) {
		if (!parse_long(value, 1, 100000, &v))
			return fail(p, "[sms] %s: expected a count 1..100000", name);
		sms->sender_max = (int)v;
	} else if (strcmp(name, "staff_burst") == 0) {
		if (!parse_long(value, 1, CL_SMS_STAFF_BURST_MAX, &v))
			return fail(p, "[sms] %s: expected a count 1..%d", name,
			            CL_SMS_STAFF_BURST_MAX);
		sms->staff_burst = (int)v;
	} else if (strcmp(name, "resolve_reason") == 0) {
		if (!cl_ticket_reason_valid(value))
			return fail(p, "[sms] resolve_reason: not a closing reason");
		copy_str(sms->resolve_reason, sizeof(sms->resolve_reason), value);
	} else if (strcmp(name, "keywords_anonymous") == 0) {
		set_words(sms->keywords_anonymous, sizeof(sms->keywords_anonymous), value);
	} else if (strcmp(name, "keywords_stop") == 0) {
		set_words(sms->keywords_stop, sizeof(sms->keywords_stop), value);
	} else if (strcmp(name, "keywords_help") == 0) {
		set_words(sms->keywords_help, sizeof(sms->keywords_help), value);
	} else {
		return fail(p, "[sms] unknown key '%s'", name);
	}
	return 1;
}

static int set_voice(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_voice_config *v = &p->cfg->voice;
	struct {
		const char *key;
		char *dst;
		size_t len;
	} strs[] = {
	    {"provider", v->provider, sizeof(v->provider)},
	    {"public_url", v->public_url, sizeof(v->public_url)},
	    {"api_base", v->api_base, sizeof(v->api_base)},
	    {"account", v->account, sizeof(v->account)},
	    {"secret", v->secret, sizeof(v->secret)},
	    {"hook_path_secret", v->hook_path_secret, sizeof(v->hook_path_secret)},
	    {"hook_user", v->hook_user, sizeof(v->hook_user)},
	    {"hook_password", v->hook_password, sizeof(v->hook_password)},
	    {"from", v->from, sizeof(v->from)},
	    {"english_numbers", v->english_numbers, sizeof(v->english_numbers)},
	    {"prompts_dir", v->prompts_dir, sizeof(v->prompts_dir)},
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strcmp(name, strs[i].key) == 0) {
			if (!copy_str(strs[i].dst, strs[i].len, value))
				return fail(p, "[voice] %s: too long", name);
			if (strcmp(name, "provider") == 0 && value[0] && strcmp(value, "twilio") &&
			    strcmp(value, "46elks"))
				return fail(p, "[voice] provider: twilio or 46elks");
			while (strcmp(name, "public_url") == 0 && strs[i].dst[0] &&
			       strs[i].dst[strlen(strs[i].dst) - 1] == '/')
				strs[i].dst[strlen(strs[i].dst) - 1] = '\0';
			return 1;
		}
	}
	long n;
	if (strcmp(name, "record_max") == 0) {
		if (!parse_long(value, 5, 3600, &n))
			return fail(p, "[voice] record_max: expected seconds 5..3600");
		v->record_max_s = (int)n;
	} else if (strcmp(name, "ring_timeout") == 0) {
		if (!parse_long(value, 5, 120, &n))
			return fail(p, "[voice] ring_timeout: expected seconds 5..120");
		v->ring_timeout_s = (int)n;
	} else if (strcmp(name, "idle_timeout") == 0) {
		if (!parse_seconds(value, &v->idle_timeout_ms) || v->idle_timeout_ms < 60000)
			return fail(p, "[voice] idle_timeout: expected seconds, at least 60");
	} else {
		return fail(p, "[voice] unknown key '%s'", name);
	}
	return 1;
}

static int set_retention(struct parse_ctx *p, const char *name, const char *value)
{
	long n;
	if (strcmp(name, "closed_days") == 0) {
		if (!parse_long(value, 0, 36500, &n))
			return fail(p, "[retention] closed_days: expected days 0..36500 (0: keep)");
		p->cfg->retention.closed_ms = (int64_t)n * 86400 * 1000;
	} else if (strcmp(name, "closed_after") == 0) {
		/* The same in seconds (tests, and operators who think in them). */
		if (!parse_seconds(value, &p->cfg->retention.closed_ms))
			return fail(p, "[retention] closed_after: expected seconds");
	} else if (strcmp(name, "sessions_hours") == 0) {
		if (!parse_long(value, 1, 24 * 365, &n))
			return fail(p, "[retention] sessions_hours: expected hours 1..8760");
		p->cfg->retention.sessions_ms = (int64_t)n * 3600 * 1000;
	} else {
		return fail(p, "[retention] unknown key '%s'", name);
	}
	return 1;
}

static int set_routing(struct parse_ctx *p, const char *name, const char *value)
{
	if (strcmp(name, "default_area") == 0) {
		if (!copy_id(p->cfg->default_area_id, CL_ID_MAX, value))
			return fail(p, "default_area: not an id");
		return 1;
	}
	return fail(p, "[routing] unknown key '%s'", name);
}

static int set_token(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	struct cl_token *t = token_mut(cfg, id);
	if (!t) {
		t = grow(&cfg->tokens, &cfg->n_tokens, sizeof(*t));
		if (!t)
			return fail(p, "out of memory");
		if (!copy_id(t->name, sizeof(t->name), id))
			return fail(p, "token name '%s' is not an id", id);
		t->role = CL_ROLE_PARTNER;
	}
	if (strcmp(name, "secret") == 0) {
		if (strlen(value) < 12)
			return fail(p, "token %s: secret shorter than 12 characters", id);
		cl_crypto_digest(value, strlen(value), t->secret_hash);
	} else if (strcmp(name, "role") == 0) {
		size_t i;
		for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
			if (strcmp(value, role_names[i]) == 0)
				break;
		if (i == sizeof(role_names) / sizeof(role_names[0]))
			return fail(p, "token %s: role must be partner, worker, admin or monitor",
			            id);
		t->role = (enum cl_role)i;
	} else if (strcmp(name, "person") == 0) {
		if (!copy_id(t->person, sizeof(t->person), value))
			return fail(p, "token %s: person is not an id", id);
	} else {
		return fail(p, "[token %s] unknown key '%s'", id, name);
	}
	return 1;
}

static int set_person(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	struct cl_person *person = person_mut(cfg, id);
	if (!person) {
		person = grow(&cfg->persons, &cfg->n_persons, sizeof(*person));
		if (!person)
			return fail(p, "out of memory");
		if (!copy_id(person->id, sizeof(person->id), id))
			return fail(p, "person id '%s' is not an id", id);
		copy_str(person->role, sizeof(person->role), "worker");
	}
	if (strcmp(name, "role") == 0) {
		if (!copy_id(person->role, sizeof(person->role), value))
			return fail(p, "person %s: role is not a word", id);
	} else if (strcmp(name, "estate") == 0) {
		char folded[CL_ID_MAX * 2];
		cl_fold(value, folded, sizeof(folded));
		if (!copy_str(person->estate, sizeof(person->estate), folded))
			return fail(p, "person %s: estate too long", id);
	} else if (strcmp(name, "lang") == 0) {
		if (strcmp(value, "da") != 0 && strcmp(value, "en") != 0)
			return fail(p, "person %s: lang must be da or en", id);
		copy_str(person->lang, sizeof(person->lang), value);
	} else if (strcmp(name, "name") == 0) {
		if (!copy_str(person->name, sizeof(person->name), value) || !value[0])
			return fail(p, "person %s: name empty or too long", id);
	} else if (strcmp(name, "phone") == 0) {
		if (!valid_e164(value) || !copy_str(person->phone, sizeof(person->phone), value))
			return fail(p, "person %s: phone must be E.164, like +4520123456", id);
	} else {
		return fail(p, "[person %s] unknown key '%s'", id, name);
	}
	return 1;
}

static int set_device(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	struct cl_device *d = device_mut(cfg, id);
	if (!d) {
		d = grow(&cfg->devices, &cfg->n_devices, sizeof(*d));
		if (!d)
			return fail(p, "out of memory");
		if (!copy_id(d->id, sizeof(d->id), id))
			return fail(p, "device id '%s' is not an id (letters, digits, - _ .)", id);
	}
	if (strcmp(name, "person") == 0) {
		if (!copy_id(d->person, sizeof(d->person), value))
			return fail(p, "device %s: person is not an id", id);
	} else if (strcmp(name, "pubkey") == 0) {
		if (cl_crypto_key_from_base64(value, d->pubkey) != CL_OK)
			return fail(p, "device %s: pubkey must be 32 bytes, base64", id);
		d->has_pubkey = true;
	} else {
		return fail(p, "[device %s] unknown key '%s'", id, name);
	}
	return 1;
}

struct list_ctx {
	void *arr;
	size_t *n;
	size_t elem;
	bool fold;
};

static bool add_to_list(void *vctx, const char *word)
{
	struct list_ctx *l = vctx;
	char *slot = grow(l->arr, l->n, l->elem);
	if (!slot)
		return false;
	if (l->fold) {
		char folded[256];
		cl_fold(word, folded, sizeof(folded));
		return copy_str(slot, l->elem, folded) && folded[0];
	}
	return copy_id(slot, l->elem, word);
}

static int set_area(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	struct cl_area *a = area_mut(cfg, id);
	if (!a) {
		a = grow(&cfg->areas, &cfg->n_areas, sizeof(*a));
		if (!a)
			return fail(p, "out of memory");
		if (!copy_id(a->id, sizeof(a->id), id))
			return fail(p, "area id '%s' is not an id", id);
		copy_str(a->name, sizeof(a->name), id);
	}
	if (strcmp(name, "name") == 0) {
		if (!copy_str(a->name, sizeof(a->name), value))
			return fail(p, "area %s: name too long", id);
	} else if (strcmp(name, "postcodes") == 0) {
		struct list_ctx l = {&a->postcodes, &a->n_postcodes, sizeof(a->postcodes[0]),
		                     false};
		if (!each_word(value, add_to_list, &l))
			return fail(p, "area %s: bad postcode list", id);
		for (size_t i = 0; i < a->n_postcodes; i++) {
			long v;
			if (!parse_long(a->postcodes[i], 1000, 9999, &v))
				return fail(p, "area %s: postcode '%s' is not 4 digits", id,
				            a->postcodes[i]);
		}
	} else if (strcmp(name, "estates") == 0) {
		struct list_ctx l = {&a->estates, &a->n_estates, sizeof(a->estates[0]), true};
		if (!each_word(value, add_to_list, &l))
			return fail(p, "area %s: bad estate list", id);
	} else if (strcmp(name, "team") == 0) {
		if (!copy_id(a->team_id, sizeof(a->team_id), value))
			return fail(p, "area %s: team is not an id", id);
	} else {
		return fail(p, "[area %s] unknown key '%s'", id, name);
	}
	return 1;
}

/* "mon 08:00" or "monday 08:00" (English day names, any case). */
static bool parse_handoff(const char *s, int *wday, int *minute)
{
	static const char *const days[] = {"monday", "tuesday",  "wednesday", "thursday",
	                                   "friday", "saturday", "sunday"};
	char day[16], extra[2];
	int h, m;
	if (sscanf(s, "%15s %d:%d %1s", day, &h, &m, extra) != 3 || h < 0 || h > 23 || m < 0 ||
	    m > 59)
		return false;
	size_t n = strlen(day);
	for (int i = 0; i < 7; i++) {
		if ((n == 3 || n == strlen(days[i])) && strncasecmp(day, days[i], n) == 0) {
			*wday = i;
			*minute = h * 60 + m;
			return true;
		}
	}
	return false;
}

/* The team's short form: one weekly rotation and a fixed back-up, turned
 * into layers when the whole file has been read. */
struct team_shorthand {
	char (*members)[CL_ID_MAX];
	size_t n_members;
	int handoff_wday;
	int handoff_minute;
	int64_t anchor_day;
	char backup[CL_ID_MAX];
};

static struct team_shorthand *shorthand_of(struct parse_ctx *p, size_t team_index)
{
	while (p->n_short <= team_index) {
		struct team_shorthand *sh = grow(&p->shorts, &p->n_short, sizeof(*sh));
		if (!sh)
			return NULL;
		sh->handoff_minute = 8 * 60;
		sh->anchor_day = cl_days_from_civil(2026, 1, 5);
	}
	return &p->shorts[team_index];
}

/* "2026-01-05 08:00" (Copenhagen wall-clock). */
static bool parse_local(const char *s, struct cl_civil *out)
{
	int y, mo, d, h = 0, mi = 0;
	char extra;
	int n = sscanf(s, "%d-%d-%d %d:%d%c", &y, &mo, &d, &h, &mi, &extra);
	if ((n != 3 && n != 5) || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59)
		return false;
	/* Reject dates that do not exist (2026-02-30). */
	int yy, mm, dd;
	cl_civil_from_days(cl_days_from_civil(y, mo, d), &yy, &mm, &dd);
	if (yy != y || mm != mo || dd != d)
		return false;
	*out = (struct cl_civil){y, mo, d, h, mi, 0};
	return true;
}

static int set_team(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	struct cl_team *t = team_mut(cfg, id);
	if (!t) {
		t = grow(&cfg->teams, &cfg->n_teams, sizeof(*t));
		if (!t)
			return fail(p, "out of memory");
		if (!copy_id(t->id, sizeof(t->id), id))
			return fail(p, "team id '%s' is not an id", id);
	}
	struct team_shorthand *sh = shorthand_of(p, (size_t)(t - cfg->teams));
	if (!sh)
		return fail(p, "out of memory");
	if (strcmp(name, "rotation") == 0) {
		struct list_ctx l = {&sh->members, &sh->n_members, sizeof(sh->members[0]), false};
		if (!each_word(value, add_to_list, &l))
			return fail(p, "team %s: bad rotation list", id);
	} else if (strcmp(name, "handoff") == 0) {
		if (!parse_handoff(value, &sh->handoff_wday, &sh->handoff_minute))
			return fail(p, "team %s: handoff must look like 'mon 08:00'", id);
	} else if (strcmp(name, "anchor") == 0) {
		struct cl_civil c;
		if (!parse_local(value, &c))
			return fail(p, "team %s: anchor must be YYYY-MM-DD", id);
		sh->anchor_day = cl_days_from_civil(c.year, c.month, c.day);
	} else if (strcmp(name, "backup") == 0) {
		if (!copy_id(sh->backup, sizeof(sh->backup), value))
			return fail(p, "team %s: backup is not an id", id);
	} else if (strcmp(name, "lead") == 0) {
		if (!copy_id(t->lead, sizeof(t->lead), value))
			return fail(p, "team %s: lead is not an id", id);
	} else if (strcmp(name, "policy") == 0) {
		if (!copy_id(t->policy_id, sizeof(t->policy_id), value))
			return fail(p, "team %s: policy is not an id", id);
	} else if (strcmp(name, "policy_acute") == 0) {
		if (!copy_id(t->policy_acute_id, sizeof(t->policy_acute_id), value))
			return fail(p, "team %s: policy_acute is not an id", id);
	} else if (strcmp(name, "after_hours") == 0) {
		if (!copy_id(t->after_hours_id, sizeof(t->after_hours_id), value))
			return fail(p, "team %s: after_hours is not a policy id", id);
	} else if (strcmp(name, "service_hours") == 0) {
		if (cl_hours_parse(value, &t->hours) != CL_OK)
			return fail(p, "team %s: service_hours like 'mon-fri 08:00-16:00'", id);
		t->has_hours = true;
	} else {
		return fail(p, "[team %s] unknown key '%s'", id, name);
	}
	return 1;
}

/* "1w", "2d", "12h", "90m" → wall-clock minutes. */
static bool parse_shift(const char *s, int64_t *minutes)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (n <= 0 || n > 10000 || end == s || end[1] != '\0')
		return false;
	switch (*end) {
	case 'w':
		*minutes = n * 7 * 1440;
		return true;
	case 'd':
		*minutes = n * 1440;
		return true;
	case 'h':
		*minutes = n * 60;
		return true;
	case 'm':
		*minutes = n;
		return n >= 60; /* shorter shifts could hand off twice in a skipped DST hour */
	default:
		return false;
	}
}

/* [layer TEAM/NAME]: a rotation layer of a team. */
static int set_layer(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	const char *slash = strchr(id, '/');
	char team_id[CL_ID_MAX];
	if (!slash || (size_t)(slash - id) >= sizeof(team_id))
		return fail(p, "layer '%s': name it TEAM/LAYER", id);
	memcpy(team_id, id, (size_t)(slash - id));
	team_id[slash - id] = '\0';
	struct cl_team *t = team_mut(cfg, team_id);
	if (!t)
		return fail(p, "layer %s: team %s must come first", id, team_id);
	struct cl_layer *l = NULL;
	for (size_t i = 0; i < t->n_layers; i++)
		if (strcmp(t->layers[i].name, slash + 1) == 0)
			l = &t->layers[i];
	if (!l) {
		l = grow(&t->layers, &t->n_layers, sizeof(*l));
		if (!l)
			return fail(p, "out of memory");
		if (!copy_id(l->name, sizeof(l->name), slash + 1))
			return fail(p, "layer '%s': the name is not an id", id);
		l->shift_min = 7 * 1440;
		l->start = (struct cl_civil){2026, 1, 5, 8, 0, 0};
	}
	long v;
	if (strcmp(name, "duty") == 0) {
		if (strcmp(value, "primary") == 0)
			l->duty = CL_DUTY_PRIMARY;
		else if (strcmp(value, "backup") == 0)
			l->duty = CL_DUTY_BACKUP;
		else
			return fail(p, "layer %s: duty is primary or backup", id);
	} else if (strcmp(name, "priority") == 0) {
		if (!parse_long(value, 0, 1000, &v))
			return fail(p, "layer %s: priority 0..1000", id);
		l->priority = (int)v;
	} else if (strcmp(name, "members") == 0) {
		struct list_ctx lc = {&l->members, &l->n_members, sizeof(l->members[0]), false};
		if (!each_word(value, add_to_list, &lc))
			return fail(p, "layer %s: bad member list", id);
	} else if (strcmp(name, "shift") == 0) {
		if (!parse_shift(value, &l->shift_min))
			return fail(p, "layer %s: shift like 1w, 2d, 12h", id);
	} else if (strcmp(name, "start") == 0) {
		if (!parse_local(value, &l->start))
			return fail(p, "layer %s: start like '2026-01-05 08:00' (Copenhagen time)",
			            id);
	} else if (strcmp(name, "restrict") == 0) {
		/* "holidays" (or "helligdage") among the windows: whole closing
		 * days too, so the acute function covers a weekday holiday. */
		char windows[256] = "";
		char copy[256];
		if (!copy_str(copy, sizeof(copy), value))
			return fail(p, "layer %s: restrict too long", id);
		char *save = NULL;
		for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			while (*w == ' ')
				w++;
			size_t n = strlen(w);
			while (n && w[n - 1] == ' ')
				w[--n] = '\0';
			if (strcmp(w, "holidays") == 0 || strcmp(w, "helligdage") == 0) {
				l->on_holidays = true;
				continue;
			}
			size_t used = strlen(windows);
			snprintf(windows + used, sizeof(windows) - used, "%s%s", used ? ", " : "",
			         w);
		}
		memset(&l->restrict_to, 0, sizeof(l->restrict_to));
		if (windows[0] && cl_hours_parse(windows, &l->restrict_to) != CL_OK)
			return fail(p, "layer %s: restrict like 'mon-fri 16:00-08:00, holidays'",
			            id);
		l->restrict_to.skip_holidays = false;
		l->restricted = true;
	} else {
		return fail(p, "[layer %s] unknown key '%s'", id, name);
	}
	return 1;
}

static bool set_yes_no(const char *value, bool *out)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
		*out = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool add_closed_day(void *vctx, const char *word)
{
	struct cl_holidays *h = vctx;
	struct cl_civil c;
	if (!parse_local(word, &c))
		return false;
	int64_t *v = realloc(h->extra, (h->n_extra + 1) * sizeof(*v));
	if (!v)
		return false;
	h->extra = v;
	h->extra[h->n_extra++] = cl_days_from_civil(c.year, c.month, c.day);
	return true;
}

static int cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int set_holidays(struct parse_ctx *p, const char *name, const char *value)
{
	struct cl_holidays *h = &p->cfg->holidays;
	bool ok = true;
	if (strcmp(name, "grundlovsdag") == 0)
		ok = set_yes_no(value, &h->grundlovsdag);
	else if (strcmp(name, "christmas_eve") == 0)
		ok = set_yes_no(value, &h->christmas_eve);
	else if (strcmp(name, "new_years_eve") == 0)
		ok = set_yes_no(value, &h->new_years_eve);
	else if (strcmp(name, "closed") == 0) {
		if (!each_word(value, add_closed_day, h))
			return fail(p, "[holidays] closed: dates like 2026-12-28");
		if (h->n_extra)
			qsort(h->extra, h->n_extra, sizeof(h->extra[0]), cmp_day);
	} else
		return fail(p, "[holidays] unknown key '%s'", name);
	if (!ok)
		return fail(p, "[holidays] %s: yes or no", name);
	return 1;
}

/* "primary,lead 120" or "person:dorthe 60 via=sms" or "role:lead 300" → a step. */
static bool parse_step(const char *value, struct cl_policy_step *step)
{
	char targets[256], delay[32], via[64], extra[2];
	int n = sscanf(value, "%255s %31s %63s %1s", targets, delay, via, extra);
	if (n != 2 && n != 3)
		return false;
	if (!parse_seconds(delay, &step->delay_ms))
		return false;
	step->via = 0;
	if (n == 3) {
		if (strncmp(via, "via=", 4) != 0)
			return false;
		char *save = NULL;
		for (char *c = strtok_r(via + 4, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			if (strcmp(c, "mqtt") == 0)
				step->via |= CL_VIA_MQTT;
			else if (strcmp(c, "sms") == 0)
				step->via |= CL_VIA_SMS;
			else if (strcmp(c, "voice") == 0)
				step->via |= CL_VIA_VOICE;
			else
				return false;
		}
	}
	step->n_targets = 0;
	char *save = NULL;
	for (char *tok = strtok_r(targets, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (step->n_targets == CL_STEP_MAX_TARGETS)
			return false;
		struct cl_target *t = &step->targets[step->n_targets++];
		memset(t, 0, sizeof(*t));
		if (strcmp(tok, "primary") == 0)
			t->kind = CL_TARGET_PRIMARY;
		else if (strcmp(tok, "backup") == 0)
			t->kind = CL_TARGET_BACKUP;
		else if (strcmp(tok, "lead") == 0)
			t->kind = CL_TARGET_LEAD;
		else if (strncmp(tok, "person:", 7) == 0 &&
		         copy_id(t->person, sizeof(t->person), tok + 7))
			t->kind = CL_TARGET_PERSON;
		else if (strncmp(tok, "role:", 5) == 0 &&
		         copy_id(t->person, sizeof(t->person), tok + 5))
			t->kind = CL_TARGET_ROLE;
		else
			return false;
	}
	return step->n_targets > 0;
}

static int set_policy(struct parse_ctx *p, const char *id, const char *name, const char *value)
{
	struct cl_config *cfg = p->cfg;
	struct cl_policy *pol = policy_mut(cfg, id);
	if (!pol) {
		pol = grow(&cfg->policies, &cfg->n_policies, sizeof(*pol));
		if (!pol)
			return fail(p, "out of memory");
		if (!copy_id(pol->id, sizeof(pol->id), id))
			return fail(p, "policy id '%s' is not an id", id);
		static const int64_t default_ack_timeout_s[CL_URGENCY__COUNT] = {300, 1800, 14400,
		                                                                 86400};
		for (int u = 0; u < CL_URGENCY__COUNT; u++)
			pol->ack_timeout_ms[u] = default_ack_timeout_s[u] * 1000;
	}
	long v;
	if (strcmp(name, "step") == 0) {
		struct cl_policy_step *s = grow(&pol->steps, &pol->n_steps, sizeof(*s));
		if (!s)
			return fail(p, "out of memory");
		if (!parse_step(value, s))
			return fail(
			    p,
			    "policy %s: step must be 'TARGET[,TARGET] SECONDS' with targets "
			    "primary, backup, lead, person:ID or role:ROLE",
			    id);
	} else if (strcmp(name, "final") == 0) {
		if (!parse_step(value, &pol->final))
			return fail(p, "policy %s: final must be 'TARGET[,TARGET] SECONDS'", id);
	} else if (strcmp(name, "repeat") == 0) {
		if (!parse_long(value, 0, 100, &v))
			return fail(p, "policy %s: repeat must be 0..100", id);
		pol->repeat = (int)v;
	} else if (strncmp(name, "ack_timeout_p", 13) == 0 && name[13] >= '0' && name[13] <= '3' &&
	           !name[14]) {
		int64_t ms;
		if (!parse_seconds(value, &ms))
			return fail(p, "policy %s: %s must be seconds (0 disables)", id, name);
		pol->ack_timeout_ms[name[13] - '0'] = ms;
	} else {
		return fail(p, "[policy %s] unknown key '%s'", id, name);
	}
	return 1;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	p->line = p->cur_line;
	if (p->failed)
		return 0;
	char kind[32];
	const char *space = strchr(section, ' ');
	size_t klen = space ? (size_t)(space - section) : strlen(section);
	if (klen >= sizeof(kind))
		return fail(p, "unknown section [%s]", section);
	memcpy(kind, section, klen);
	kind[klen] = '\0';
	const char *id = space ? space + 1 : "";
	while (*id == ' ')
		id++;
	remember_key(p, kind, id, name);

	if (!space) {
		if (strcmp(kind, "careline") == 0)
			return set_general(p, name, value);
		if (strcmp(kind, "http") == 0)
			return set_http(p, name, value);
		if (strcmp(kind, "mqtt") == 0)
			return set_mqtt(p, name, value);
		if (strcmp(kind, "outbox") == 0)
			return set_outbox(p, name, value);
		if (strcmp(kind, "routing") == 0)
			return set_routing(p, name, value);
		if (strcmp(kind, "sms") == 0)
			return set_sms(p, name, value);
		if (strcmp(kind, "voice") == 0)
			return set_voice(p, name, value);
		if (strcmp(kind, "retention") == 0)
			return set_retention(p, name, value);
		if (strcmp(kind, "holidays") == 0)
			return set_holidays(p, name, value);
	} else {
		if (strcmp(kind, "token") == 0)
			return set_token(p, id, name, value);
		if (strcmp(kind, "person") == 0)
			return set_person(p, id, name, value);
		if (strcmp(kind, "device") == 0)
			return set_device(p, id, name, value);
		if (strcmp(kind, "area") == 0)
			return set_area(p, id, name, value);
		if (strcmp(kind, "team") == 0)
			return set_team(p, id, name, value);
		if (strcmp(kind, "layer") == 0)
			return set_layer(p, id, name, value);
		if (strcmp(kind, "policy") == 0)
			return set_policy(p, id, name, value);
	}
	return fail(p, "unknown section [%s]", section);
}

static void set_defaults(struct cl_config *cfg)
{
	copy_str(cfg->database, sizeof(cfg->database), "var/careline.db");
	copy_str(cfg->key_file, sizeof(cfg->key_file), "var/careline.key");
	copy_str(cfg->lang, sizeof(cfg->lang), "da");
	copy_str(cfg->log_level, sizeof(cfg->log_level), "info");
	copy_str(cfg->http_listen, sizeof(cfg->http_listen), "127.0.0.1:8080");
	copy_str(cfg->admin_socket, sizeof(cfg->admin_socket), "var/careline.sock");
	cfg->http_max_body = 65536;
	cfg->http_idle_timeout_s = 10;
	cfg->http_request_timeout_s = 30;
	cfg->http_per_ip_connections = 64;
	cfg->http_per_ip_rate = 50;
	cfg->http_per_ip_burst = 200;
	copy_str(cfg->mqtt_host, sizeof(cfg->mqtt_host), "127.0.0.1");
	cfg->mqtt_port = 1883;
	copy_str(cfg->mqtt_client_id, sizeof(cfg->mqtt_client_id), "careline-gateway");
	cfg->mqtt_keepalive_s = 30;
	copy_str(cfg->mqtt_accounts, sizeof(cfg->mqtt_accounts), "none");
	cfg->outbox_retry_base_ms = 1000;
	cfg->outbox_retry_cap_ms = 300000;
	cfg->alert_expiry_s = 3600;
	cfg->holidays.grundlovsdag = true;
	cfg->holidays.christmas_eve = true;
	cfg->holidays.new_years_eve = true;
	cfg->retention.closed_ms = (int64_t)90 * 86400 * 1000;
	cfg->retention.sessions_ms = (int64_t)24 * 3600 * 1000;
	cfg->voice.record_max_s = 120;
	cfg->voice.idle_timeout_ms = 10 * 60 * 1000;
	cfg->voice.ring_timeout_s = 30;
	copy_str(cfg->voice.prompts_dir, sizeof(cfg->voice.prompts_dir), "config/prompts");
	struct cl_sms_config *sms = &cfg->sms;
	sms->followup_window_ms = 30 * 60 * 1000;
	sms->replay_window_ms = 24 * 3600 * 1000;
	sms->sender_max = 10;
	sms->sender_window_ms = 3600 * 1000;
	sms->staff_gap_ms = 60 * 1000;
	sms->staff_burst = 5;
	sms->staff_burst_window_ms = 15 * 60 * 1000;
	copy_str(sms->resolve_reason, sizeof(sms->resolve_reason), "handed_over:other");
	set_words(sms->keywords_anonymous, sizeof(sms->keywords_anonymous), "anonym anonymous");
	set_words(sms->keywords_stop, sizeof(sms->keywords_stop),
	          "stop afmeld stopall unsubscribe");
	set_words(sms->keywords_help, sizeof(sms->keywords_help), "hjælp hjaelp help info");
}

static bool check_person(struct parse_ctx *p, const char *what, const char *owner, const char *id)
{
	if (!id[0] || person_mut(p->cfg, id))
		return true;
	fail(p, "%s %s: unknown person '%s'", what, owner, id);
	return false;
}

static bool check_step(struct parse_ctx *p, const struct cl_policy *pol,
                       const struct cl_policy_step *s)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i].kind == CL_TARGET_PERSON &&
		    !check_person(p, "policy", pol->id, s->targets[i].person))
			return false;
	return true;
}

/* Link ids to pointers and check that every reference resolves. */
/* [sms] must name what its provider needs; phones must be unique. */
static bool check_sms(struct parse_ctx *p)
{
	struct cl_config *cfg = p->cfg;
	const struct cl_sms_config *sms = &cfg->sms;
	for (size_t i = 0; i < cfg->n_persons; i++) {
		struct cl_person *a = &cfg->persons[i];
		if (!a->name[0])
			copy_str(a->name, sizeof(a->name), a->id);
		for (size_t j = 0; a->phone[0] && j < i; j++)
			if (strcmp(a->phone, cfg->persons[j].phone) == 0)
				return FAIL_AT(p, "person", a->id, "phone", 0,
				               "person %s: the same phone as %s", a->id,
				               cfg->persons[j].id),
				       false;
	}
	if (!sms->provider[0])
		return true;
	const char *missing = NULL;
	if (!sms->public_url[0])
		missing = "public_url";
	else if (!sms->from[0])
		missing = "from";
	else if (!sms->secret[0])
		missing = "secret";
	else if (strcmp(sms->provider, "twilio") == 0 && !sms->account[0])
		missing = "account";
	else if (strcmp(sms->provider, "46elks") == 0 &&
	         (!sms->account[0] || !sms->hook_path_secret[0] || !sms->hook_user[0] ||
	          !sms->hook_password[0]))
		missing = "account, hook_path_secret, hook_user and hook_password";
	else if (strcmp(sms->provider, "gatewayapi") == 0 && !sms->webhook_secret[0])
		missing = "webhook_secret";
	if (missing)
		return FAIL_AT(p, "sms", "", "provider", 0, "[sms] provider %s needs %s",
		               sms->provider, missing),
		       false;
	return true;
}

/* [voice]: what [sms] already says about the same provider is not repeated;
 * then the provider's needs must be met. */
static bool check_voice(struct parse_ctx *p)
{
	struct cl_voice_config *v = &p->cfg->voice;
	const struct cl_sms_config *sms = &p->cfg->sms;
	if (!v->provider[0])
		return true;
	if (strcmp(v->provider, sms->provider) == 0) {
		struct {
			char *dst;
			const char *src;
			size_t len;
		} inherit[] = {
		    {v->public_url, sms->public_url, sizeof(v->public_url)},
		    {v->api_base, sms->api_base, sizeof(v->api_base)},
		    {v->account, sms->account, sizeof(v->account)},
		    {v->secret, sms->secret, sizeof(v->secret)},
		    {v->hook_path_secret, sms->hook_path_secret, sizeof(v->hook_path_secret)},
		    {v->hook_user, sms->hook_user, sizeof(v->hook_user)},
		    {v->hook_password, sms->hook_password, sizeof(v->hook_password)},
		    {v->from, sms->from, sizeof(v->from)},
		};
		for (size_t i = 0; i < sizeof(inherit) / sizeof(inherit[0]); i++)
			if (!inherit[i].dst[0])
				copy_str(inherit[i].dst, inherit[i].len, inherit[i].src);
	}
	const char *missing = NULL;
	if (!v->public_url[0])
		missing = "public_url";
	else if (!v->secret[0])
		missing = "secret";
	else if (!v->account[0])
		missing = "account";
	else if (strcmp(v->provider, "46elks") == 0 &&
	         (!v->hook_path_secret[0] || !v->hook_user[0] || !v->hook_password[0]))
		missing = "hook_path_secret, hook_user and hook_password";
	if (missing)
		return FAIL_AT(p, "voice", "", "provider", 0, "[voice] provider %s needs %s",
		               v->provider, missing),
		       false;
	return true;
}

static int cmp_layer(const void *a, const void *b)
{
	const struct cl_layer *x = a, *y = b;
	return y->priority - x->priority;
}

/* Turn a team's short form into layers: the weekly rotation (primary,
 * handing off at `handoff` in the week of `anchor`) and the fixed back-up. */
static bool shorthand_layers(struct parse_ctx *p, struct cl_team *t, size_t index)
{
	struct team_shorthand *sh = index < p->n_short ? &p->shorts[index] : NULL;
	if (!sh)
		return true;
	if (sh->n_members) {
		struct cl_layer *l = grow(&t->layers, &t->n_layers, sizeof(*l));
		if (!l)
			return fail(p, "out of memory"), false;
		copy_str(l->name, sizeof(l->name), "rotation");
		l->duty = CL_DUTY_PRIMARY;
		l->members = sh->members;
		l->n_members = sh->n_members;
		sh->members = NULL;
		l->shift_min = 7 * 1440;
		int64_t monday = sh->anchor_day - cl_weekday(sh->anchor_day);
		int y, mo, d;
		cl_civil_from_days(monday + sh->handoff_wday, &y, &mo, &d);
		l->start = (struct cl_civil){
		    y, mo, d, sh->handoff_minute / 60, sh->handoff_minute % 60, 0};
	}
	if (sh->backup[0]) {
		struct cl_layer *l = grow(&t->layers, &t->n_layers, sizeof(*l));
		if (!l || !(l->members = calloc(1, sizeof(l->members[0]))))
			return fail(p, "out of memory"), false;
		copy_str(l->name, sizeof(l->name), "backup");
		l->duty = CL_DUTY_BACKUP;
		copy_str(l->members[0], CL_ID_MAX, sh->backup);
		l->n_members = 1;
		l->shift_min = 7 * 1440;
		l->start = (struct cl_civil){2026, 1, 5, 0, 0, 0};
	}
	return true;
}

static bool link_policy(struct parse_ctx *p, struct cl_team *t, const char *key, const char *id,
                        const struct cl_policy **out)
{
	*out = policy_mut(p->cfg, id);
	if (!*out)
		return FAIL_AT(p, "team", t->id, key, 0, "team %s: unknown %s '%s'", t->id, key,
		               id),
		       false;
	return true;
}

static bool link_team(struct parse_ctx *p, struct cl_team *t, size_t index)
{
	if (!shorthand_layers(p, t, index))
		return false;
	bool primary = false;
	for (size_t k = 0; k < t->n_layers; k++) {
		struct cl_layer *l = &t->layers[k];
		l->holidays = &p->cfg->holidays;
		char lid[2 * CL_ID_MAX];
		snprintf(lid, sizeof(lid), "%s/%s", t->id, l->name);
		for (size_t m = 0; m < l->n_members; m++) {
			p->line = line_of(p, "layer", lid, "members", 0);
			if (!p->line) /* a layer of the team's short form */
				p->line = line_of(
				    p, "team", t->id,
				    strcmp(l->name, "backup") == 0 ? "backup" : "rotation", 0);
			if (!check_person(p, "layer", lid, l->members[m]))
				return false;
		}
		primary |= l->duty == CL_DUTY_PRIMARY && l->n_members > 0;
	}
	if (!primary)
		return FAIL_AT(p, "team", t->id, "rotation", 0,
		               "team %s: nobody is ever primary (no rotation or primary layer "
		               "with members)",
		               t->id),
		       false;
	/* Highest priority first; equal priorities keep their order. */
	for (size_t k = 0; k < t->n_layers; k++)
		t->layers[k].priority = t->layers[k].priority * 1000 - (int)k;
	qsort(t->layers, t->n_layers, sizeof(t->layers[0]), cmp_layer);
	for (size_t k = 0; k < t->n_layers; k++)
		t->layers[k].priority = (t->layers[k].priority + 999) / 1000;
	p->line = line_of(p, "team", t->id, "lead", 0);
	if (!check_person(p, "team", t->id, t->lead))
		return false;
	if (!link_policy(p, t, "policy", t->policy_id, &t->policy))
		return false;
	t->policy_acute = t->policy;
	if (t->policy_acute_id[0] &&
	    !link_policy(p, t, "policy_acute", t->policy_acute_id, &t->policy_acute))
		return false;
	if (t->after_hours_id[0] &&
	    !link_policy(p, t, "after_hours", t->after_hours_id, &t->after_hours))
		return false;
	/* Outside service hours somebody must still take acute reports. */
	if (t->has_hours && !t->after_hours)
		return FAIL_AT(p, "team", t->id, "service_hours", 0,
		               "team %s: service_hours need an after_hours policy (who takes acute "
		               "reports when the team is closed)",
		               t->id),
		       false;
	return true;
}

static bool link_config(struct parse_ctx *p)
{
	struct cl_config *cfg = p->cfg;
	if (!check_sms(p) || !check_voice(p))
		return false;
	for (size_t i = 0; i < cfg->n_policies; i++) {
		struct cl_policy *pol = &cfg->policies[i];
		if (pol->n_steps == 0 && pol->final.n_targets == 0)
			return FAIL_AT(p, "policy", pol->id, NULL, 0,
			               "policy %s has no step and no final", pol->id),
			       false;
		for (size_t s = 0; s < pol->n_steps; s++) {
			p->line = line_of(p, "policy", pol->id, "step", s);
			if (!check_step(p, pol, &pol->steps[s]))
				return false;
		}
		p->line = line_of(p, "policy", pol->id, "final", 0);
		if (!check_step(p, pol, &pol->final))
			return false;
	}
	for (size_t i = 0; i < cfg->n_teams; i++)
		if (!link_team(p, &cfg->teams[i], i))
			return false;
	for (size_t i = 0; i < cfg->n_areas; i++) {
		struct cl_area *a = &cfg->areas[i];
		a->team = team_mut(cfg, a->team_id);
		if (!a->team)
			return FAIL_AT(p, "area", a->id, "team", 0, "area %s: unknown team '%s'",
			               a->id, a->team_id),
			       false;
	}
	p->line = 0;
	if (cfg->n_areas == 0)
		return fail(p, "no [area ...] configured"), false;
	if (!cfg->default_area_id[0])
		cfg->default_area = &cfg->areas[0]; /* documented: the first area */
	if (cfg->default_area_id[0]) {
		cfg->default_area = area_mut(cfg, cfg->default_area_id);
		if (!cfg->default_area)
			return FAIL_AT(p, "routing", "", "default_area", 0,
			               "routing: unknown default_area '%s'", cfg->default_area_id),
			       false;
	}
	for (size_t i = 0; i < cfg->n_devices; i++) {
		p->line = line_of(p, "device", cfg->devices[i].id, "person", 0);
		if (!cfg->devices[i].person[0] ||
		    !check_person(p, "device", cfg->devices[i].id, cfg->devices[i].person))
			return fail(p, "device %s: no person", cfg->devices[i].id), false;
	}
	for (size_t i = 0; i < cfg->n_tokens; i++) {
		struct cl_token *t = &cfg->tokens[i];
		static const unsigned char zero[CL_CRYPTO_HASH_BYTES];
		p->line = line_of(p, "token", t->name, NULL, 0);
		if (cl_crypto_equal(t->secret_hash, zero, sizeof(zero)))
			return fail(p, "token %s has no secret", t->name), false;
		if (t->role == CL_ROLE_WORKER && !t->person[0])
			return fail(p, "worker token %s needs a person", t->name), false;
		p->line = line_of(p, "token", t->name, "person", 0);
		if (!check_person(p, "token", t->name, t->person))
			return false;
	}
	return true;
}

#define CONFIG_FILE_MAX (4 * 1024 * 1024)

/* A whole text file into a malloc'ed, NUL-terminated string. Refuses what
 * cannot be read as a file (a directory), is empty or passes 4 MB. */
static enum cl_err read_text_file(const char *path, char **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return CL_ERR_CONFIG;
	}
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n + 1 > CONFIG_FILE_MAX) {
			free(text);
			fclose(f);
			snprintf(errbuf, errlen, "%s: larger than 4 MB", path);
			return CL_ERR_CONFIG;
		}
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return CL_ERR_NOMEM;
			}
			text = t;
		}
		memcpy(text + len, buf, n);
		len += n;
	}
	bool failed = ferror(f) != 0;
	fclose(f);
	if (failed || !text) {
		free(text);
		snprintf(errbuf, errlen, "%s: %s", path, failed ? "cannot read" : "empty file");
		return CL_ERR_CONFIG;
	}
	text[len] = '\0';
	*out = text;
	return CL_OK;
}

static enum cl_err load_rules_and_texts(struct cl_config *cfg, char *errbuf, size_t errlen)
{
	char *rules_text = NULL;
	const char *rules = cl_embedded_get("normalise.ini");
	if (cfg->rules_file[0]) {
		char why[256];
		if (read_text_file(cfg->rules_file, &rules_text, why, sizeof(why)) != CL_OK) {
			snprintf(errbuf, errlen, "rules_file %s", why);
			return CL_ERR_CONFIG;
		}
		rules = rules_text;
	}
	enum cl_err err =
	    rules ? cl_norm_rules_load(rules, &cfg->rules, errbuf, errlen) : CL_ERR_CONFIG;
	free(rules_text);
	if (err != CL_OK)
		return CL_ERR_CONFIG;
	if (cl_texts_load_embedded(&cfg->texts, errbuf, errlen) != CL_OK)
		return CL_ERR_CONFIG;
	return CL_OK;
}

enum cl_err cl_config_load_string(const char *ini, struct cl_config **out, char *errbuf,
                                  size_t errlen)
{
	char dummy[8];
	if (!errbuf || !errlen) {
		errbuf = dummy;
		errlen = sizeof(dummy);
	}
	errbuf[0] = '\0';
	*out = NULL;
	struct cl_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return CL_ERR_NOMEM;
	set_defaults(cfg);
	struct parse_ctx p = {
	    .cfg = cfg, .err = errbuf, .errlen = errlen, .src = ini, .src_left = strlen(ini)};
	int rc = ini_parse_stream(read_line, &p, on_ini, &p);
	/* inih returns the first bad line; a handler's error names its own. */
	if (rc != 0 && (!p.failed || (rc > 0 && rc < p.fail_line))) {
		p.failed = false;
		p.line = rc;
		fail(&p, "syntax error");
	}
	bool ok = !p.failed && link_config(&p);
	free(p.keys);
	for (size_t i = 0; i < p.n_short; i++)
		free(p.shorts[i].members);
	free(p.shorts);
	if (!ok || load_rules_and_texts(cfg, errbuf, errlen) != CL_OK) {
		cl_config_free(cfg);
		return CL_ERR_CONFIG;
	}
	*out = cfg;
	return CL_OK;
}

enum cl_err cl_config_load(const char *path, struct cl_config **out, char *errbuf, size_t errlen)
{
	if (!path) {
		const char *ini = cl_embedded_get("careline.ini");
		if (!ini) {
			snprintf(errbuf, errlen, "no embedded configuration");
			return CL_ERR_CONFIG;
		}
		return cl_config_load_string(ini, out, errbuf, errlen);
	}
	char *text;
	enum cl_err rerr = read_text_file(path, &text, errbuf, errlen);
	if (rerr != CL_OK)
		return rerr;
	enum cl_err err = cl_config_load_string(text, out, errbuf, errlen);
	free(text);
	return err;
}

void cl_config_free(struct cl_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_areas; i++) {
		free(cfg->areas[i].postcodes);
		free(cfg->areas[i].estates);
	}
	for (size_t i = 0; i < cfg->n_teams; i++) {
		for (size_t k = 0; k < cfg->teams[i].n_layers; k++)
			free(cfg->teams[i].layers[k].members);
		free(cfg->teams[i].layers);
	}
	free(cfg->holidays.extra);
	for (size_t i = 0; i < cfg->n_policies; i++)
		free(cfg->policies[i].steps);
	free(cfg->persons);
	free(cfg->devices);
	free(cfg->tokens);
	free(cfg->areas);
	free(cfg->teams);
	free(cfg->policies);
	cl_norm_rules_free(cfg->rules);
	cl_texts_free(cfg->texts);
	free(cfg);
}
