/*
 * include/careline/err.h: the one error enum of careline and its message
 * function. Every fallible function returns enum cl_err (CL_OK is 0). CL_AGAIN
 * means "not now, try later" (storage busy, broker down) and is kept apart from
 * hard errors. Numbers are stable; a retired code keeps its number.
 */
#ifndef CARELINE_ERR_H
#define CARELINE_ERR_H

enum cl_err {
	CL_OK = 0,
	CL_AGAIN = 1,          /* temporary: retry later (busy, disconnected, not durable) */
	CL_ERR_NOMEM = 2,      /* allocation failed */
	CL_ERR_INVALID = 3,    /* bad input from a caller or a peer */
	CL_ERR_NOTFOUND = 4,   /* no such ticket, person, team, ... */
	CL_ERR_CONFLICT = 5,   /* illegal state transition or already done by someone else */
	CL_ERR_STORAGE = 6,    /* SQLite failed; nothing was committed */
	CL_ERR_IO = 7,         /* file or socket I/O failed */
	CL_ERR_CRYPTO = 8,     /* decryption or key failure */
	CL_ERR_CONFIG = 9,     /* configuration is invalid */
	CL_ERR_TOOBIG = 10,    /* input over a size cap */
	CL_ERR_AUTH = 11,      /* missing or wrong credentials */
	CL_ERR_DUPLICATE = 12, /* already seen: the original answer applies */
	CL_ERR__COUNT
};

/* A static English message for err, never NULL. */
const char *cl_strerror(enum cl_err err);

/* A short snake_case code for err, used in JSON errors and log lines. */
const char *cl_errcode(enum cl_err err);

#endif
