/*
 * core/err.c: messages and codes for enum cl_err. The switches have no default,
 * so -Wall -Werror rejects a new code that has no message.
 */
#include "careline/err.h"

const char *cl_strerror(enum cl_err err)
{
	switch (err) {
	case CL_OK:
		return "success";
	case CL_AGAIN:
		return "temporarily unavailable, try again";
	case CL_ERR_NOMEM:
		return "out of memory";
	case CL_ERR_INVALID:
		return "invalid input";
	case CL_ERR_NOTFOUND:
		return "not found";
	case CL_ERR_CONFLICT:
		return "conflicts with the current state";
	case CL_ERR_STORAGE:
		return "storage failure, nothing committed";
	case CL_ERR_IO:
		return "input/output error";
	case CL_ERR_CRYPTO:
		return "cryptographic failure";
	case CL_ERR_CONFIG:
		return "invalid configuration";
	case CL_ERR_TOOBIG:
		return "input too large";
	case CL_ERR_AUTH:
		return "authentication failed";
	case CL_ERR_DUPLICATE:
		return "duplicate";
	case CL_ERR__COUNT:
		break;
	}
	return "unknown error";
}

const char *cl_errcode(enum cl_err err)
{
	switch (err) {
	case CL_OK:
		return "ok";
	case CL_AGAIN:
		return "unavailable";
	case CL_ERR_NOMEM:
		return "out_of_memory";
	case CL_ERR_INVALID:
		return "invalid";
	case CL_ERR_NOTFOUND:
		return "not_found";
	case CL_ERR_CONFLICT:
		return "conflict";
	case CL_ERR_STORAGE:
		return "storage";
	case CL_ERR_IO:
		return "io";
	case CL_ERR_CRYPTO:
		return "crypto";
	case CL_ERR_CONFIG:
		return "config";
	case CL_ERR_TOOBIG:
		return "too_large";
	case CL_ERR_AUTH:
		return "unauthorized";
	case CL_ERR_DUPLICATE:
		return "duplicate";
	case CL_ERR__COUNT:
		break;
	}
	return "unknown";
}
