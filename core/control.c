/*
 * core/control.c applies a channel's bookkeeping inside the flush's
 * transaction: a number that texted STOP (kept as a keyed hash), a staff
 * contact that must not be used any more, and a provider's delivery report
 * for a sent notification. Called only by service.c's flush.
 */
#include "careline/log.h"
#include "service_internal.h"

void control_apply(struct cl_service *svc, struct cl_job *job, int64_t now)
{
	const struct cl_control *c = &job->control;
	enum cl_err err = CL_ERR_INVALID;
	switch (c->kind) {
	case CL_CONTROL_OPTOUT:
		err = cl_store_sms_optout_put(svc->store, c->hash, now);
		break;
	case CL_CONTROL_BLOCK_CONTACT:
		err = cl_store_contact_block(svc->store, c->person, c->channel, c->error, now);
		if (err == CL_OK)
			cl_warn("contact.blocked", "person=%s channel=%s reason=%s", c->person,
			        c->channel, c->error);
		break;
	case CL_CONTROL_DELIVERY:
		err = cl_store_notification_delivery(svc->store, c->channel, c->provider_id,
		                                     c->delivery, c->error);
		break;
	}
	job->control_err = err;
}
