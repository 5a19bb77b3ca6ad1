/*
 * core/intake.c turns one report into a durable ticket inside the flush's
 * transaction: idempotency (a known key gets the original answer),
 * normalisation, anonymity, routing, linking to an open ticket at the same
 * address, encryption of personal fields, the ticket and report rows, their
 * events, and the first escalation step's notifications. Called only by
 * service.c's flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/calendar.h"
#include "careline/log.h"
#include "careline/normalise.h"
#include "careline/ref.h"
#include "careline/routing.h"
#include "service_internal.h"

/* The original answer for a key seen before. */
static void answer_duplicate(struct cl_service *svc, struct cl_job *job, int64_t ticket_id,
                             const char *state)
{
	struct cl_report_answer *a = &job->report_answer;
	struct cl_ticket t;
	enum cl_err err = cl_store_ticket_get(svc->store, ticket_id, &t);
	if (err != CL_OK) {
		a->err = err == CL_ERR_NOTFOUND ? CL_ERR_STORAGE : err;
		return;
	}
	a->err = CL_OK;
	a->duplicate = true;
	memcpy(a->ref, t.ref, sizeof(a->ref));
	if (cl_ticket_state_parse(state, &a->state) != CL_OK)
		a->state = CL_TICKET_NOTIFYING;
	a->urgency = t.urgency;
	a->categories = t.categories;
	a->kind = t.kind;
	memcpy(a->linked_ref, t.linked_ref, sizeof(a->linked_ref));
	svc->fx.delta.duplicates[job->report.via]++;
}

/* Explicit address fields win; gaps are filled from the address string, then
 * from what the normaliser read in the free text. */
static void merge_address(struct cl_address *dst, const struct cl_address *src)
{
	if (!dst->street[0] && !dst->number[0] && src->street[0]) {
		memcpy(dst->street, src->street, sizeof(dst->street));
		memcpy(dst->number, src->number, sizeof(dst->number));
	}
	if (!dst->number[0] && src->number[0])
		memcpy(dst->number, src->number, sizeof(dst->number));
	if (!dst->floor[0] && !dst->side[0]) {
		memcpy(dst->floor, src->floor, sizeof(dst->floor));
		memcpy(dst->side, src->side, sizeof(dst->side));
	}
	if (!dst->postcode[0]) {
		memcpy(dst->postcode, src->postcode, sizeof(dst->postcode));
		memcpy(dst->city, src->city, sizeof(dst->city));
	}
}

static void address_pack(const struct cl_address *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", a->street, a->number, a->floor,
	         a->side, a->postcode, a->city);
}

/* Encrypted report fields; freed by seal_free. */
struct sealed {
	unsigned char *buf[CL_RF__COUNT];
};

static enum cl_err seal(struct cl_service *svc, int64_t report_id, enum cl_report_field f,
                        const char *plain, struct cl_report_row *row, struct sealed *s)
{
	if (!plain || !plain[0])
		return CL_OK;
	size_t len = strlen(plain);
	s->buf[f] = malloc(len + CL_CRYPTO_OVERHEAD);
	if (!s->buf[f])
		return CL_ERR_NOMEM;
	size_t out_len;
	enum cl_err err =
	    cl_crypto_seal_field(svc->crypto, "report", report_id, cl_report_field_name(f), plain,
	                         len, s->buf[f], &out_len);
	if (err != CL_OK)
		return err;
	row->fields[f] = (struct cl_blob){s->buf[f], out_len};
	return CL_OK;
}

static void seal_free(struct sealed *s)
{
	for (int f = 0; f < CL_RF__COUNT; f++)
		free(s->buf[f]);
}

static const char *report_estate(struct cl_service *svc, const struct cl_report *r)
{
	if (r->estate && r->estate[0])
		return r->estate;
	if (r->reporter_person) {
		const struct cl_person *p = cl_config_person(svc->cfg, r->reporter_person);
		if (p && p->estate[0])
			return p->estate;
	}
	return NULL;
}

/* The report row: personal fields encrypted, anonymous ones dropped. */
static enum cl_err write_report(struct cl_service *svc, const struct cl_job *job, int64_t ticket_id,
                                bool anonymous, const struct cl_address *addr, const char *text,
                                const char *answer_state)
{
	const struct cl_report *r = &job->report;
	int64_t report_id = cl_store_next_report_id(svc->store);
	const char *phone = anonymous && !r->consent_callback ? NULL : r->reporter_phone;
	struct cl_report_row row = {
	    .id = report_id,
	    .ns = r->idem_ns,
	    .key = r->key,
	    .via = cl_channel_name(r->via),
	    .received_ms = job->submitted_ms,
	    .ticket_id = ticket_id,
	    .reporter_person = anonymous ? NULL : r->reporter_person,
	    .reporter_role = anonymous ? NULL : r->reporter_role,
	    .anonymous = anonymous,
	    .consent_callback = r->consent_callback,
	    .consent_disclose = !anonymous && r->consent_disclose_name,
	    .answer_state = answer_state,
	};
	struct sealed sealed = {{0}};
	char packed[256];
	if (!cl_address_empty(addr))
		address_pack(addr, packed, sizeof(packed));
	unsigned char phone_hash[CL_CRYPTO_HASH_BYTES];
	if (phone && phone[0]) {
		cl_crypto_hash(svc->crypto, "phone", phone, strlen(phone), phone_hash);
		row.phone_hash = (struct cl_blob){phone_hash, sizeof(phone_hash)};
	}
	enum cl_err err = seal(svc, report_id, CL_RF_TEXT, text, &row, &sealed);
	if (err == CL_OK && !cl_address_empty(addr))
		err = seal(svc, report_id, CL_RF_ADDRESS, packed, &row, &sealed);
	if (err == CL_OK && !anonymous)
		err = seal(svc, report_id, CL_RF_REPORTER_NAME, r->reporter_name, &row, &sealed);
	if (err == CL_OK)
		err = seal(svc, report_id, CL_RF_REPORTER_PHONE, phone, &row, &sealed);
	if (err == CL_OK && !anonymous)
		err = seal(svc, report_id, CL_RF_REPORTER_ORG, r->reporter_org, &row, &sealed);
	if (err == CL_OK)
		err = seal(svc, report_id, CL_RF_RESIDENT_NAME, r->resident_name, &row, &sealed);
	if (err == CL_OK)
		err = seal(svc, report_id, CL_RF_OBSERVED_BY, r->observed_by, &row, &sealed);
	if (err == CL_OK)
		err = cl_store_report_insert(svc->store, &row);
	seal_free(&sealed);
	return err;
}

/* A second text from the same number soon after: it joins that ticket (an
 * event, no new alert round). Returns true when it did (answer filled). */
static bool join_followup(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	struct cl_report *r = &job->report;
	struct cl_report_answer *a = &job->report_answer;
	int64_t ticket_id, last_ms;
	enum cl_err err =
	    cl_store_sms_session_get(svc->store, r->sender_hash, &ticket_id, &last_ms);
	if (err != CL_OK) {
		if (err != CL_ERR_NOTFOUND)
			a->err = err;
		return err != CL_ERR_NOTFOUND;
	}
	struct cl_ticket t;
	if (now - last_ms > svc->cfg->sms.followup_window_ms ||
	    cl_store_ticket_get(svc->store, ticket_id, &t) != CL_OK || !cl_ticket_is_open(&t))
		return false;
	struct cl_norm_result nr;
	cl_normalise(svc->cfg->rules, r->text ? r->text : "", &nr);
	struct cl_address addr = r->address;
	merge_address(&addr, &nr.address);
	bool anonymous = r->anonymous || nr.anonymous || t.kind == CL_TICKET_ANONYMOUS;
	err = write_report(svc, job, t.id, anonymous, &addr,
	                   r->text ? r->text + (nr.anonymous ? nr.body_offset : 0) : NULL,
	                   cl_ticket_state_name(t.state));
	if (err == CL_OK)
		err = cl_store_sms_session_put(svc->store, r->sender_hash, t.id, now);
	if (err == CL_OK) {
		char detail[64];
		snprintf(detail, sizeof(detail), "via=%s followup=1", cl_channel_name(r->via));
		err = escalate_record(svc, t.id, CL_TEV_CREATE, t.state, t.state,
		                      anonymous            ? "anonymous"
		                      : r->reporter_person ? r->reporter_person
		                                           : "reporter",
		                      detail, now);
	}
	if (err != CL_OK) {
		a->err = err;
		return true;
	}
	a->err = CL_OK;
	a->followup = true;
	memcpy(a->ref, t.ref, sizeof(a->ref));
	a->state = t.state;
	a->urgency = t.urgency;
	a->categories = t.categories;
	a->kind = t.kind;
	memcpy(a->linked_ref, t.linked_ref, sizeof(a->linked_ref));
	return true;
}

void intake_report(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	struct cl_report *r = &job->report;
	struct cl_report_answer *a = &job->report_answer;
	memset(a, 0, sizeof(*a));

	int64_t known_ticket;
	char known_state[24];
	enum cl_err err = cl_store_report_find(svc->store, r->idem_ns, r->key, &known_ticket,
	                                       known_state, sizeof(known_state));
	if (err == CL_OK) {
		answer_duplicate(svc, job, known_ticket, known_state);
		return;
	}
	if (err != CL_ERR_NOTFOUND) {
		a->err = err;
		return;
	}
	/* A provider timestamp far in the past, on a message we have never
	 * seen: a replayed webhook, not a provider's retry. */
	if (r->sent_ms && svc->cfg->sms.replay_window_ms &&
	    now - r->sent_ms > svc->cfg->sms.replay_window_ms) {
		a->err = CL_ERR_AUTH;
		return;
	}
	if (r->has_sender_hash && join_followup(svc, job, now))
		return;

	struct cl_norm_result nr;
	cl_normalise(svc->cfg->rules, r->text ? r->text : "", &nr);
	bool anonymous = r->anonymous || nr.anonymous;

	struct cl_address addr = r->address;
	struct cl_address parsed;
	if (r->address_text && cl_address_parse(r->address_text, &parsed))
		merge_address(&addr, &parsed);
	merge_address(&addr, &nr.address);

	struct cl_categories cats = {.n = 0};
	if (r->has_category_hint)
		cl_categories_add(&cats, r->category_hint);
	for (size_t i = 0; i < nr.categories.n; i++)
		if (nr.categories.cats[i] != CL_CAT_OTHER || cats.n == 0)
			cl_categories_add(&cats, nr.categories.cats[i]);
	enum cl_urgency urgency = nr.urgency;
	if (r->has_category_hint) {
		enum cl_urgency hinted = cl_norm_urgency(svc->cfg->rules, &cats, r->text);
		if (hinted < urgency)
			urgency = hinted;
	}

	struct cl_route route;
	err = cl_route_find(svc->cfg, addr.postcode, report_estate(svc, r), urgency, &route);
	if (err != CL_OK) {
		cl_error("intake.unroutable", "key_ns=%s", r->idem_ns);
		a->err = CL_ERR_CONFIG;
		return;
	}

	struct cl_ticket t;
	memset(&t, 0, sizeof(t));
	t.id = cl_store_next_ticket_id(svc->store);
	cl_ref_from_id(cl_crypto_ref_key(svc->crypto), t.id, t.ref);
	bool named = !anonymous && (r->reporter_person || r->reporter_name || r->reporter_phone);
	t.kind = named ? CL_TICKET_NAMED : CL_TICKET_ANONYMOUS;
	t.state = CL_TICKET_NEW;
	t.urgency = urgency;
	t.categories = cats;
	snprintf(t.area, sizeof(t.area), "%s", route.area->id);
	snprintf(t.team, sizeof(t.team), "%s", route.team->id);
	t.created_ms = t.updated_ms = now;

	char link_key[256];
	cl_address_link_key(&addr, link_key, sizeof(link_key));
	if (link_key[0]) {
		cl_crypto_hash(svc->crypto, "address", link_key, strlen(link_key), t.address_hash);
		t.has_address_hash = true;
		err = cl_store_ticket_open_at_address(svc->store, t.address_hash, &t.linked_to,
		                                      t.linked_ref);
		if (err != CL_OK && err != CL_ERR_NOTFOUND) {
			a->err = err;
			return;
		}
	}

	/* Outside the team's service hours: acute reports go to the after-hours
	 * policy; the rest wait for the next opening (holidays skipped), when
	 * the night's tickets reach the team together. */
	const struct cl_team *team = route.team;
	const struct cl_policy *policy = route.policy;
	int64_t defer_until = 0;
	if (team->has_hours && !cl_hours_open_at(&team->hours, &svc->cfg->holidays, now)) {
		if (urgency <= CL_P1)
			policy = team->after_hours;
		else
			defer_until = cl_hours_next_open(&team->hours, &svc->cfg->holidays, now);
	}
	snprintf(t.policy, sizeof(t.policy), "%s", policy->id);

	struct cl_esc_plan plan;
	if (defer_until) {
		cl_engine_step(policy, &t, CL_ESC_IN_DEFER, now, &plan);
		t.due_ms = defer_until;
	} else {
		struct cl_ticket_result res;
		cl_ticket_apply(&t, CL_TEV_NOTIFY, "system", NULL, now, &res);
		cl_engine_step(policy, &t, CL_ESC_IN_START, now, &plan);
	}

	if ((err = cl_store_ticket_insert(svc->store, &t)) != CL_OK) {
		a->err = err;
		return;
	}

	err = write_report(svc, job, t.id, anonymous, &addr,
	                   r->text ? r->text + (nr.anonymous ? nr.body_offset : 0) : NULL,
	                   cl_ticket_state_name(t.state));
	if (err == CL_OK && r->has_sender_hash)
		err = cl_store_sms_session_put(svc->store, r->sender_hash, t.id, now);
	if (err != CL_OK) {
		a->err = err;
		return;
	}

	const char *actor = anonymous            ? "anonymous"
	                    : r->reporter_person ? r->reporter_person
	                                         : "reporter";
	char detail[64];
	snprintf(detail, sizeof(detail), "via=%s", cl_channel_name(r->via));
	err = escalate_record(svc, t.id, CL_TEV_CREATE, CL_TICKET_NEW, CL_TICKET_NEW, actor, detail,
	                      now);
	if (err == CL_OK && defer_until) {
		char until[32];
		cl_time_format(defer_until, until, sizeof(until));
		snprintf(detail, sizeof(detail), "until=%s", until);
		err = escalate_record(svc, t.id, CL_TEV_DEFER, CL_TICKET_NEW, CL_TICKET_NEW,
		                      "system", detail, now);
	} else if (err == CL_OK) {
		err = escalate_record(svc, t.id, CL_TEV_NOTIFY, CL_TICKET_NEW, t.state, "system",
		                      NULL, now);
	}
	if (err == CL_OK)
		err = escalate_carry_out(svc, &t, &plan, NULL, now);
	if (err != CL_OK) {
		a->err = err;
		return;
	}

	svc->fx.delta.reports[r->via]++;
	a->err = CL_OK;
	memcpy(a->ref, t.ref, sizeof(a->ref));
	a->state = t.state;
	a->urgency = t.urgency;
	a->categories = t.categories;
	a->kind = t.kind;
	memcpy(a->linked_ref, t.linked_ref, sizeof(a->linked_ref));
}
