/*
 * include/careline/rekey.h: rotating the field-encryption key of a running
 * service and watching the background re-encryption (core/rekey.c). A
 * rotation makes a new key current at once (crypto.h: the keyring is on disk
 * first); the flush then moves old values to it in small batches and retires
 * the old keys once a whole pass finds none. Used by the admin routes
 * (gateway/http_keys.c).
 */
#ifndef CARELINE_REKEY_H
#define CARELINE_REKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/crypto.h"
#include "careline/err.h"

struct cl_service;

#define CL_REKEY_IDS_MAX 32

/* A key id held in the keyring or named by values in the database. */
struct cl_key_use {
	uint32_t id;    /* 0: values that are not sealed values (damaged) */
	int64_t values; /* encrypted values in the database under it */
	bool held;      /* in the keyring: it opens them */
};

struct cl_key_status {
	uint32_t current;
	uint32_t held[CL_CRYPTO_MAX_KEYS]; /* ascending, the current one last */
	size_t n_held;
	bool master_key_retired;                 /* key 1 (derived from the master key) dropped */
	struct cl_key_use use[CL_REKEY_IDS_MAX]; /* every id held or in use, ascending */
	size_t n_use;
	int64_t pending;   /* values not under the current key */
	bool reencrypting; /* the background pass is running */
	uint64_t moved;    /* values re-encrypted since the service started */
};

/* The keyring and a census of the database (reads every encrypted value's
 * header: for the admin, not for a hot path). */
enum cl_err cl_service_key_status(struct cl_service *svc, struct cl_key_status *out);
/* Make a new field key current (durable when this returns CL_OK), start the
 * re-encryption, and describe the result. actor is logged (and audited).
 * CL_ERR_CONFLICT: too many keys still held (wait for pending to reach 0);
 * CL_ERR_IO: the keyring could not be written, nothing changed. */
enum cl_err cl_service_key_rotate(struct cl_service *svc, const char *actor,
                                  struct cl_key_status *out);

#endif
