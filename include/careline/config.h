/*
 * include/careline/config.h: the daemon's configuration, loaded from one INI
 * file (inih) or from the embedded default (config/careline.ini). Holds the
 * settings, people and their devices, API tokens, areas, teams with their
 * weekly rotation, escalation policies, the normaliser rules and the texts.
 * Immutable after load; everything else borrows pointers into it.
 * The file format is documented in README.md ("Configuration").
 */
#ifndef CARELINE_CONFIG_H
#define CARELINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/calendar.h"
#include "careline/err.h"
#include "careline/report.h"
#include "careline/tz.h"

struct cl_norm_rules;
struct cl_texts;

#define CL_ID_MAX           48 /* person, team, area, device, policy ids */
#define CL_STEP_MAX_TARGETS 8

/* partner: post reports; worker: tickets as a person; admin: everything;
 * monitor: GET /metrics only (Prometheus). */
enum cl_role { CL_ROLE_PARTNER, CL_ROLE_WORKER, CL_ROLE_ADMIN, CL_ROLE_MONITOR };
const char *cl_role_name(enum cl_role role);

/* The most staff_burst can be: gateway/sms.c keeps this many recent send
 * times per staff phone. */
#define CL_SMS_STAFF_BURST_MAX 16

/* The SMS channel ([sms]); provider empty = SMS off. Field meanings are in
 * gateway/sms.h (struct gw_sms_settings) and README.md. */
struct cl_sms_config {
	char provider[16];
	char public_url[256];
	char api_base[256];
	char account[128];
	char secret[128];
	char webhook_secret[128];
	char hook_path_secret[64];
	char hook_user[64];
	char hook_password[128];
	char from[32];
	int64_t followup_window_ms;    /* a second text within this joins the ticket */
	int64_t replay_window_ms;      /* provider timestamps older than this are refused */
	int sender_max;                /* at most this many texts per sender ... */
	int64_t sender_window_ms;      /* ... in this window become tickets */
	int64_t staff_gap_ms;          /* at most one SMS per staff phone this often ... */
	int staff_burst;               /* ... and this many ... */
	int64_t staff_burst_window_ms; /* ... in this window; the rest are bundled */
	char resolve_reason[48];       /* the closing reason of a "12c" reply */
	char keywords_anonymous[128];  /* folded words, space-separated */
	char keywords_stop[128];
	char keywords_help[128];
};

/* [voice]: the hotline and alert calls. Credentials left empty are taken
 * from [sms] when both name the same provider. */
struct cl_voice_config {
	char provider[16]; /* "twilio", "46elks"; "" = no hotline */
	char public_url[256];
	char api_base[256];
	char account[128];
	char secret[128];
	char hook_path_secret[64];
	char hook_user[64];
	char hook_password[128];
	char from[32];             /* our number: the caller id of alert calls */
	char english_numbers[256]; /* hotline numbers answered in English, space-separated */
	int record_max_s;          /* longest message (Record maxLength / timelimit) */
	int64_t idle_timeout_ms;   /* a call with no callback this long is over */
	int ring_timeout_s;        /* an alert call rings this long */
	char prompts_dir[256];     /* 46elks: <dir>/<lang>/<name>.wav */
};

struct cl_person {
	char id[CL_ID_MAX];     /* "anna": a handle, never a full name */
	char role[24];          /* worker, caretaker, lead, housing_social, ... */
	char estate[CL_ID_MAX]; /* caretakers: the estate they work in */
	char lang[4];           /* "da" (default) or "en" */
	char name[48];          /* shown to colleagues ("Anna"); defaults to the id */
	char phone[20];         /* E.164 ("+4520123456"): SMS alerts for staff, and a
	                           registered reporter's number for named SMS reports */
};

struct cl_device {
	char id[CL_ID_MAX];       /* the MQTT username, "anna-phone" */
	char person[CL_ID_MAX];   /* owner */
	bool has_pubkey;          /* messages to it are sealed to pubkey */
	unsigned char pubkey[32]; /* X25519 (crypto_box) public key */
	bool revoked;             /* registered devices only: no longer trusted */
	int64_t created_ms;       /* registered devices only */
};

struct cl_token {
	char name[CL_ID_MAX];
	unsigned char secret_hash[32]; /* BLAKE2b of the secret; compared in constant time */
	enum cl_role role;
	char person[CL_ID_MAX]; /* worker tokens act as this person */
};

/* Who is on duty is primary or back-up. */
enum cl_duty { CL_DUTY_PRIMARY, CL_DUTY_BACKUP, CL_DUTY__COUNT };
const char *cl_duty_name(enum cl_duty d);

/* A rotation layer: members take turns, each for one shift of `shift_min`
 * wall-clock minutes (a day is 1440, a week 10080: DST does not shift the
 * handoff's clock time), the first shift starting at `start` (Copenhagen
 * wall-clock time). Optionally only inside `restrict_to` (e.g. evenings); a
 * layer with a higher priority overrides lower ones whenever it has someone. */
struct cl_layer {
	char name[CL_ID_MAX];
	enum cl_duty duty;
	int priority;
	char (*members)[CL_ID_MAX];
	size_t n_members;
	int64_t shift_min;
	struct cl_civil start;
	bool restricted;
	struct cl_hours restrict_to;
	bool on_holidays;                   /* restricted, and also whole closing days */
	const struct cl_holidays *holidays; /* the configuration's, for on_holidays */
};

struct cl_team {
	char id[CL_ID_MAX];
	struct cl_layer *layers; /* highest priority first */
	size_t n_layers;
	char lead[CL_ID_MAX]; /* leader; may be empty */
	bool has_hours;       /* service hours set; else always open */
	struct cl_hours hours;
	char policy_id[CL_ID_MAX];
	char policy_acute_id[CL_ID_MAX];
	char after_hours_id[CL_ID_MAX];
	const struct cl_policy *policy;       /* P2/P3 in service hours */
	const struct cl_policy *policy_acute; /* P0/P1 in service hours; = policy if not set */
	const struct cl_policy *after_hours;  /* P0/P1 outside service hours (required
	                                         with service hours); P2/P3 wait */
};

enum cl_target_kind {
	CL_TARGET_PRIMARY, /* the team's on-duty primary */
	CL_TARGET_BACKUP,  /* the team's on-duty back-up */
	CL_TARGET_LEAD,    /* the team's lead */
	CL_TARGET_PERSON,  /* a named person */
	CL_TARGET_ROLE,    /* everyone whose role is `person` (e.g. "lead") */
};

struct cl_target {
	enum cl_target_kind kind;
	char person[CL_ID_MAX]; /* CL_TARGET_PERSON: the person; CL_TARGET_ROLE: the role */
};

/* Channels a step may use (bits); 0 = every contact the person has. */
enum { CL_VIA_MQTT = 1, CL_VIA_SMS = 2, CL_VIA_VOICE = 4 }; /* voice only when named */

struct cl_policy_step {
	struct cl_target targets[CL_STEP_MAX_TARGETS];
	size_t n_targets;
	int64_t delay_ms; /* wait this long for an ack before the next step */
	unsigned via;     /* CL_VIA_* bits, 0 = all */
};

/* Steps run in order, the whole list `repeat` more times, then the final
 * step (normally the back-up), which repeats at its delay until someone acks. */
struct cl_policy {
	char id[CL_ID_MAX];
	struct cl_policy_step *steps;
	size_t n_steps;
	int repeat;
	struct cl_policy_step final;
	int64_t ack_timeout_ms[CL_URGENCY__COUNT]; /* 0 disables for that urgency */
};

struct cl_area {
	char id[CL_ID_MAX];
	char name[64]; /* shown to workers: "Nord" */
	char (*postcodes)[8];
	size_t n_postcodes;
	char (*estates)[CL_ID_MAX]; /* folded estate ids */
	size_t n_estates;
	char team_id[CL_ID_MAX];
	const struct cl_team *team;
};

struct cl_config {
	/* [careline] */
	char database[256];
	char key_file[256];
	char lang[4];
	char log_level[8];
	/* [http] */
	char http_listen[64];   /* "127.0.0.1:8080" */
	char admin_socket[256]; /* Unix socket for carelinectl */
	size_t http_max_body;
	unsigned http_idle_timeout_s;     /* a connection silent this long is closed */
	unsigned http_request_timeout_s;  /* a request (headers and body) must arrive within */
	unsigned http_per_ip_connections; /* open connections per client address; 0 = no cap */
	unsigned http_per_ip_rate;        /* requests/s without a token, per address; 0 = off */
	unsigned http_per_ip_burst;       /* ... of which this many at once */
	/* [mqtt] */
	char mqtt_host[128];
	int mqtt_port;
	char mqtt_client_id[64];
	char mqtt_username[64];
	char mqtt_password[128];
	int mqtt_keepalive_s;
	bool mqtt_require_sealed; /* refuse plain reports from devices */
	char mqtt_accounts[16];   /* "dynsec" (broker accounts through the dynamic-security
	                             plugin) or "none" (the broker allows anonymous, dev) */
	/* [outbox] */
	int64_t outbox_retry_base_ms;
	int64_t outbox_retry_cap_ms;
	int64_t alert_expiry_s;
	/* [sms] */
	struct cl_sms_config sms;
	struct cl_voice_config voice;
	/* [retention] */
	struct {
		int64_t closed_ms; /* closed tickets keep personal fields this long; 0 = forever */
		int64_t sessions_ms; /* SMS senders' keyed hashes (follow-up, rate limit) live this
		                        long */
	} retention;
	/* [holidays] */
	struct cl_holidays holidays;
	/* [routing] */
	char default_area_id[CL_ID_MAX];
	const struct cl_area *default_area;
	char rules_file[256]; /* [careline] rules_file: replaces the embedded normalise.ini */

	struct cl_person *persons;
	size_t n_persons;
	struct cl_device *devices;
	size_t n_devices;
	struct cl_token *tokens;
	size_t n_tokens;
	struct cl_area *areas;
	size_t n_areas;
	struct cl_team *teams;
	size_t n_teams;
	struct cl_policy *policies;
	size_t n_policies;

	struct cl_norm_rules *rules;
	struct cl_texts *texts;
};

/* Load from a file path, or the embedded default when path is NULL. Relative
 * database/key/socket paths are kept as written (relative to the cwd).
 * On failure returns CL_ERR_CONFIG with a message in errbuf naming the line. */
enum cl_err cl_config_load(const char *path, struct cl_config **out, char *errbuf, size_t errlen);
/* Load from INI text (tests). */
enum cl_err cl_config_load_string(const char *ini, struct cl_config **out, char *errbuf,
                                  size_t errlen);
void cl_config_free(struct cl_config *cfg);

const struct cl_person *cl_config_person(const struct cl_config *cfg, const char *id);
const struct cl_device *cl_config_device(const struct cl_config *cfg, const char *id);
const struct cl_team *cl_config_team(const struct cl_config *cfg, const char *id);
const struct cl_area *cl_config_area(const struct cl_config *cfg, const char *id);
/* The devices of person, in config order; returns how many were written. */
size_t cl_config_person_devices(const struct cl_config *cfg, const char *person,
                                const struct cl_device **out, size_t max);
/* The token whose secret is `secret`, compared in constant time; NULL if none. */
const struct cl_token *cl_config_token(const struct cl_config *cfg, const char *secret);

#endif
