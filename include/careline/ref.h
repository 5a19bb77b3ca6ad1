/*
 * include/careline/ref.h: short speakable ticket references like "K7FQ2".
 * Alphabet of 32 characters without look-alikes (no 0/O, 1/I):
 * "23456789ABCDEFGHJKLMNPQRSTUVWXYZ". A ref is a keyed permutation of the
 * ticket's row id (a small Feistel network), so refs are unique by
 * construction, not guessable from each other, and need no collision check:
 * ids below 2^25 give 5 characters, below 2^30 six.
 */
#ifndef CARELINE_REF_H
#define CARELINE_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_REF_MAX 8 /* 6 characters + NUL, with room */

/* Encode id (>= 1, < 2^30) as a ref into out (CL_REF_MAX bytes). */
void cl_ref_from_id(const unsigned char key[32], int64_t id, char out[CL_REF_MAX]);
/* Decode a ref typed by a person (case-insensitive) back to its id. Returns
 * false for a wrong length or a character outside the alphabet. */
bool cl_ref_to_id(const unsigned char key[32], const char *ref, int64_t *id);
/* Upper-case and validate a typed ref into out; false if invalid. */
bool cl_ref_canonical(const char *ref, char out[CL_REF_MAX]);

#endif
