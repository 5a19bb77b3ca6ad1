/*
 * core/control.c applies a channel's bookkeeping inside the flush's
 * transaction: a number that texted STOP (kept as a keyed hash), a staff
 * contact that must not be used any more, and a provider's delivery report
 * for a sent notification. Called only by service.c's flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "careline/log.h"
#include "service_internal.h"

static enum cl_err add_override(struct cl_service *svc, struct cl_control *c, int64_t now)
{
	struct cl_override *o = &c->override;
	if (!cl_config_team(svc->cfg, o->team))
		return CL_ERR_NOTFOUND;
	if (!cl_config_person(svc->cfg, o->person) ||
	    (o->replaces[0] && !cl_config_person(svc->cfg, o->replaces)) ||
	    o->end_ms <= o->start_ms || (unsigned)o->duty >= CL_DUTY__COUNT)
		return CL_ERR_INVALID;
	enum cl_err err =
	    cl_store_override_insert(svc->store, o, c->actor[0] ? c->actor : NULL, now);
	if (err == CL_OK) {
		char object[32], detail[160];
		snprintf(object, sizeof(object), "override:%lld", (long long)o->id);
		snprintf(detail, sizeof(detail), "team=%s duty=%s person=%s", o->team,
		         cl_duty_name(o->duty), o->person);
		err = audit_record(svc, now, c->actor, "config.override_add", object, 0, detail);
	}
	if (err == CL_OK) {
		svc->overrides_dirty = true;
		cl_info("roster.override_added", "id=%lld team=%s duty=%s person=%s by=%s",
		        (long long)o->id, o->team, cl_duty_name(o->duty), o->person,
		        c->actor[0] ? c->actor : "-");
	}
	return err;
}

void control_apply(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	struct cl_control *c = &job->control;
	enum cl_err err = CL_ERR_INVALID;
	char object[96], detail[160];
	switch (c->kind) {
	case CL_CONTROL_OPTOUT:
		err = cl_store_sms_optout_put(svc->store, c->hash, now);
		break;
	case CL_CONTROL_BLOCK_CONTACT:
		err = cl_store_contact_block(svc->store, c->person, c->channel, c->error, now);
		if (err == CL_OK) {
			snprintf(object, sizeof(object), "contact:%s:%s", c->person, c->channel);
			err = audit_record(svc, now, "system", "contact.blocked", object, 0,
			                   c->error);
		}
		if (err == CL_OK)
			cl_warn("contact.blocked", "person=%s channel=%s reason=%s", c->person,
			        c->channel, c->error);
		break;
	case CL_CONTROL_DELIVERY:
		err = cl_store_notification_delivery(svc->store, c->channel, c->provider_id,
		                                     c->delivery, c->error);
		break;
	case CL_CONTROL_OVERRIDE_ADD:
		err = add_override(svc, c, now);
		break;
	case CL_CONTROL_DEVICE_ADD:
		if (!cl_config_person(svc->cfg, c->device.person))
			err = CL_ERR_INVALID;
		else if (cl_service_device(svc, c->device.id))
			err = CL_ERR_CONFLICT;
		else
			err = cl_store_device_insert(svc->store, &c->device, now);
		if (err == CL_OK) {
			snprintf(object, sizeof(object), "device:%s", c->device.id);
			snprintf(detail, sizeof(detail), "person=%s sealed=%d", c->device.person,
			         c->device.has_pubkey);
			err = audit_record(svc, now, c->actor, "config.device_add", object, 0,
			                   detail);
		}
		if (err == CL_OK) {
			svc->devices_dirty = true;
			cl_info("device.added", "device=%s person=%s sealed=%d by=%s", c->device.id,
			        c->device.person, c->device.has_pubkey,
			        c->actor[0] ? c->actor : "-");
		}
		break;
	case CL_CONTROL_RESEND:
		err = outbox_requeue_current(svc, c->channel, now);
		break;
	case CL_CONTROL_DEVICE_REVOKE:
		err = cl_store_device_revoke(svc->store, c->device.id, now);
		if (err == CL_OK) {
			snprintf(object, sizeof(object), "device:%s", c->device.id);
			err = audit_record(svc, now, c->actor, "config.device_revoke", object, 0,
			                   NULL);
		}
		if (err == CL_OK) {
			svc->devices_dirty = true;
			cl_warn("device.revoked", "device=%s by=%s", c->device.id,
			        c->actor[0] ? c->actor : "-");
		}
		break;
	case CL_CONTROL_RECORDING_STORED:
	case CL_CONTROL_RECORDING_FAILED:
	case CL_CONTROL_RECORDING_DELETED:
	case CL_CONTROL_RECORDING_READ:
	case CL_CONTROL_CALLS_SWEEP:
		err = calls_control(svc, c, now);
		break;
	case CL_CONTROL_PURGE:
	case CL_CONTROL_ERASE:
	case CL_CONTROL_AUDIT_READ:
		err = purge_control(svc, c, now);
		break;
	case CL_CONTROL_OVERRIDE_REMOVE:
		err = cl_store_override_delete(svc->store, c->override.id);
		if (err == CL_OK) {
			snprintf(object, sizeof(object), "override:%lld",
			         (long long)c->override.id);
			err = audit_record(svc, now, c->actor, "config.override_remove", object, 0,
			                   NULL);
		}
		if (err == CL_OK) {
			svc->overrides_dirty = true;
			cl_info("roster.override_removed", "id=%lld by=%s",
			        (long long)c->override.id, c->actor[0] ? c->actor : "-");
		}
		break;
	}
	job->control_err = err;
}
