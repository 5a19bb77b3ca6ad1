/*
 * include/careline/crypto.h: field encryption and keyed hashes (libsodium).
 * One 32-byte master key lives in a file (created on first run, mode 0600).
 * Subkeys are derived with crypto_kdf: one for XChaCha20-Poly1305 field
 * encryption, one for keyed BLAKE2b lookup hashes, one for ticket refs.
 * An encrypted value is: version byte 0x01 | key id (u32 LE) | 24-byte nonce
 * | ciphertext+tag. The associated data binds a value to its table, row id and
 * field ("ticket:42:address"), so a value copied to another row fails to open.
 */
#ifndef CARELINE_CRYPTO_H
#define CARELINE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

#define CL_CRYPTO_KEY_BYTES    32
#define CL_CRYPTO_HASH_BYTES   32
#define CL_CRYPTO_HEADER_BYTES (1 + 4 + 24)
#define CL_CRYPTO_TAG_BYTES    16
#define CL_CRYPTO_OVERHEAD     (CL_CRYPTO_HEADER_BYTES + CL_CRYPTO_TAG_BYTES)

struct cl_crypto;

/* Initialise libsodium and load the key file at path, creating it (0600, new
 * random key) if absent. A key file that exists with group/other permissions
 * or the wrong size is refused (CL_ERR_CRYPTO). Caller frees. */
enum cl_err cl_crypto_open(const char *key_path, struct cl_crypto **out);
/* From raw key bytes (tests, benchmarks). */
enum cl_err cl_crypto_from_key(const unsigned char key[CL_CRYPTO_KEY_BYTES], uint32_t key_id,
                               struct cl_crypto **out);
void cl_crypto_free(struct cl_crypto *c);

/* Encrypt plain (len bytes) for table/row/field into out (len +
 * CL_CRYPTO_OVERHEAD bytes). */
enum cl_err cl_crypto_seal_field(const struct cl_crypto *c, const char *table, int64_t row,
                                 const char *field, const void *plain, size_t len,
                                 unsigned char *out, size_t *out_len);
/* Decrypt; out needs len - CL_CRYPTO_OVERHEAD bytes (+1: it is NUL-terminated
 * for convenience). CL_ERR_CRYPTO on a wrong key, row or field, or tampering. */
enum cl_err cl_crypto_open_field(const struct cl_crypto *c, const char *table, int64_t row,
                                 const char *field, const unsigned char *in, size_t len, char *out,
                                 size_t *out_len);

/* Keyed BLAKE2b of a lookup value in a domain ("phone", "address"), so equal
 * values in one domain collide and nothing else does. */
void cl_crypto_hash(const struct cl_crypto *c, const char *domain, const void *data, size_t len,
                    unsigned char out[CL_CRYPTO_HASH_BYTES]);

/* Constant-time equality of two n-byte buffers. */
int cl_crypto_equal(const void *a, const void *b, size_t n);

/* n bytes from the system's CSPRNG (libsodium randombytes). */
enum cl_err cl_crypto_random(void *buf, size_t n);

/* Unkeyed BLAKE2b-256 (token secrets in config). */
void cl_crypto_digest(const void *data, size_t len, unsigned char out[CL_CRYPTO_HASH_BYTES]);

/* The 32-byte subkey used to permute ticket ids into refs (see ref.h). */
const unsigned char *cl_crypto_ref_key(const struct cl_crypto *c);

/* --- sealed boxes: devices and apps ------------------------------------------ */

#define CL_CRYPTO_BOX_KEY_BYTES 32
#define CL_CRYPTO_SEAL_BYTES    48 /* crypto_box_SEALBYTES: what sealing adds */
#define CL_CRYPTO_KEY_B64       45 /* base64 of 32 bytes, with its NUL */

/* careline's own crypto_box public key (derived from the master key), to
 * which apps may seal reports. */
void cl_crypto_box_public(const struct cl_crypto *c, unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES]);
/* A new crypto_box keypair (for a device: carelinectl device add --generate). */
enum cl_err cl_crypto_box_keypair(unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES],
                                  unsigned char sk[CL_CRYPTO_BOX_KEY_BYTES]);
/* crypto_box_seal msg to a device's public key; out has len + CL_CRYPTO_SEAL_BYTES. */
enum cl_err cl_crypto_box_seal_to(const unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES], const void *msg,
                                  size_t len, unsigned char *out);
/* Open a box sealed to careline's key; out has len - CL_CRYPTO_SEAL_BYTES. */
enum cl_err cl_crypto_box_open(const struct cl_crypto *c, const unsigned char *box, size_t len,
                               unsigned char *out);

/* Overwrite memory that held plaintext (not optimised away). */
void cl_crypto_wipe(void *p, size_t n);

/* 32-byte keys as standard base64. */
enum cl_err cl_crypto_key_from_base64(const char *b64, unsigned char key[32]);
void cl_crypto_key_to_base64(const unsigned char key[32], char out[CL_CRYPTO_KEY_B64]);
/* Any length; encode returns malloc'ed text (caller frees). */
enum cl_err cl_crypto_base64_decode(const char *b64, unsigned char *out, size_t max, size_t *len);
char *cl_crypto_base64_encode(const unsigned char *bin, size_t len);

#endif
