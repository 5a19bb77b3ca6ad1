/*
 * include/careline/crypto.h: field encryption and keyed hashes (libsodium).
 * One 32-byte master key lives in a file (created on first run, mode 0600).
 * Subkeys are derived with crypto_kdf: one for XChaCha20-Poly1305 field
 * encryption (field key id 1), one for keyed BLAKE2b lookup hashes, one for
 * ticket refs, one for careline's crypto_box keypair, two that protect the
 * keyring file. An encrypted value is: version byte 0x01 | key id (u32 LE) |
 * 24-byte nonce | ciphertext+tag. The associated data binds a value to its
 * table, row id and field ("ticket:42:address"), so a value copied to another
 * row fails to open.
 *
 * Key rotation. The keyed-hash secret is kept apart from the encryption key:
 * the hash, ref and box subkeys are derived from the master key and never
 * change, so lookups, refs and the apps' public key stay valid across
 * rotations. Only the field key rotates: cl_crypto_rotate adds a new random
 * key (id = current + 1, independent of the master) to the keyring,
 * "<key_file>.keys" (mode 0600, written atomically, each key wrapped with a
 * master-derived key, the whole file authenticated), and seals every new
 * value with it; values name their key in the header, so older keys open
 * older values until cl_crypto_retire drops them (core/rekey.c re-encrypts
 * first). Key id 1 comes from the master, which must stay for the other
 * subkeys; the keyring retires it with a flag.
 */
#ifndef CARELINE_CRYPTO_H
#define CARELINE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "careline/err.h"

#define CL_CRYPTO_KEY_BYTES    32
#define CL_CRYPTO_HASH_BYTES   32
#define CL_CRYPTO_HEADER_BYTES (1 + 4 + 24)
#define CL_CRYPTO_TAG_BYTES    16
#define CL_CRYPTO_OVERHEAD     (CL_CRYPTO_HEADER_BYTES + CL_CRYPTO_TAG_BYTES)
#define CL_CRYPTO_MAX_KEYS     16 /* field keys held at once (rotations not yet re-encrypted) */

struct cl_crypto;

/* Initialise libsodium and load the key file at path, creating it (0600, new
 * random key) if absent, then the keyring "<path>.keys" if present. A key
 * file or keyring that exists with group/other permissions, the wrong size,
 * or (keyring) a bad syntax or authenticator is refused (CL_ERR_CRYPTO, one
 * log line naming the file and the reason). Caller frees. */
enum cl_err cl_crypto_open(const char *key_path, struct cl_crypto **out);
/* From raw key bytes (tests, benchmarks): the derived field key gets key_id;
 * no keyring file (rotations are kept in memory only). */
enum cl_err cl_crypto_from_key(const unsigned char key[CL_CRYPTO_KEY_BYTES], uint32_t key_id,
                               struct cl_crypto **out);
void cl_crypto_free(struct cl_crypto *c);

/* Encrypt plain (len bytes) for table/row/field into out (len +
 * CL_CRYPTO_OVERHEAD bytes). */
enum cl_err cl_crypto_seal_field(const struct cl_crypto *c, const char *table, int64_t row,
                                 const char *field, const void *plain, size_t len,
                                 unsigned char *out, size_t *out_len);
/* Decrypt with the key the value names; out needs len - CL_CRYPTO_OVERHEAD
 * bytes (+1: it is NUL-terminated for convenience). CL_ERR_CRYPTO on a key
 * not held (unknown or retired), a wrong row or field, or tampering. */
enum cl_err cl_crypto_open_field(const struct cl_crypto *c, const char *table, int64_t row,
                                 const char *field, const unsigned char *in, size_t len, char *out,
                                 size_t *out_len);
/* Re-encrypt a value under the current key, same table/row/field: out has
 * room for len bytes (the length does not change). The plaintext is wiped. */
enum cl_err cl_crypto_reseal_field(const struct cl_crypto *c, const char *table, int64_t row,
                                   const char *field, const unsigned char *in, size_t len,
                                   unsigned char *out);
/* The key id in a value's header; false if in is not a sealed value. Pure. */
bool cl_crypto_value_key_id(const unsigned char *in, size_t len, uint32_t *key_id);

/* --- the field keyring (rotation) -------------------------------------------- */

/* The key new values are sealed with. */
uint32_t cl_crypto_current_key(const struct cl_crypto *c);
/* The field key ids held (ascending, the current one last) into ids (room
 * for CL_CRYPTO_MAX_KEYS); returns how many. */
size_t cl_crypto_keys(const struct cl_crypto *c, uint32_t *ids);
/* Whether the key derived from the master (id 1) has been retired. */
bool cl_crypto_master_key_retired(const struct cl_crypto *c);
/* Add a new random field key and make it current. The keyring is on disk
 * (temp file, fsync, rename, fsync of the directory) before the key is used
 * or this returns. CL_ERR_CONFLICT when CL_CRYPTO_MAX_KEYS are held,
 * CL_ERR_IO when the keyring cannot be written (nothing changes then). */
enum cl_err cl_crypto_rotate(struct cl_crypto *c, uint32_t *new_id);
/* Drop field keys (never the current one): the keyring is rewritten without
 * them first, then they are wiped from memory. Values under them no longer
 * open. CL_ERR_INVALID for the current key, CL_ERR_NOTFOUND for a key not
 * held, CL_ERR_IO when the keyring cannot be written (nothing changes). */
enum cl_err cl_crypto_retire(struct cl_crypto *c, const uint32_t *ids, size_t n);

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
/* Lowercase hex: out holds 2 * len + 1. Decoding wants exactly 2 * len hex
 * digits and nothing else. */
void cl_crypto_hex_encode(const unsigned char *bin, size_t len, char *out);
enum cl_err cl_crypto_hex_decode(const char *hex, unsigned char *out, size_t len);

#endif
