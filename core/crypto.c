/*
 * core/crypto.c owns the master key file and every use of libsodium: field
 * encryption (XChaCha20-Poly1305), keyed lookup hashes, the ref subkey. The
 * master key never leaves this file; only derived subkeys are kept, in locked
 * memory, and wiped on free. Called by store.c and the ticket code; no SQL here.
 */
#include "careline/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "careline/log.h"

#define FORMAT_VERSION 0x01
#define NONCE_BYTES    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KDF_CONTEXT    "careline"
#define FILE_KEY_ID    1
#define AD_MAX         256

enum subkey_id {
	SUBKEY_FIELD = 1,
	SUBKEY_HASH = 2,
	SUBKEY_REF = 3,
	SUBKEY_BOX = 4, /* seed of careline's crypto_box keypair (sealed reports) */
};

_Static_assert(CL_CRYPTO_KEY_BYTES == crypto_kdf_KEYBYTES, "master key is a kdf key");
_Static_assert(CL_CRYPTO_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "field subkey is an aead key");
_Static_assert(CL_CRYPTO_HEADER_BYTES == 1 + 4 + NONCE_BYTES, "header layout");
_Static_assert(CL_CRYPTO_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(sizeof(KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context is 8 bytes");

struct cl_crypto {
	unsigned char field_key[CL_CRYPTO_KEY_BYTES];
	unsigned char hash_key[CL_CRYPTO_KEY_BYTES];
	unsigned char ref_key[CL_CRYPTO_KEY_BYTES];
	unsigned char box_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char box_sk[crypto_box_SECRETKEYBYTES];
	uint32_t key_id;
	int locked;
	/* Nonces: a random 16-byte prefix per process and a 64-bit counter.
	 * XChaCha20's 24-byte nonce makes a random prefix collision-safe; the
	 * counter saves a getrandom call per encrypted field. */
	unsigned char nonce_prefix[NONCE_BYTES - 8];
	uint64_t nonce_counter;
};

/* sodium_init is itself idempotent and thread-safe; remember success so the
 * common path is one load. */
static enum cl_err sodium_ready(void)
{
	static int ready;
	if (ready)
		return CL_OK;
	if (sodium_init() < 0) {
		cl_error("crypto.init_failed", "lib=libsodium");
		return CL_ERR_CRYPTO;
	}
	ready = 1;
	return CL_OK;
}

enum cl_err cl_crypto_random(void *buf, size_t n)
{
	enum cl_err err = sodium_ready();
	if (err == CL_OK)
		randombytes_buf(buf, n);
	return err;
}

enum cl_err cl_crypto_from_key(const unsigned char key[CL_CRYPTO_KEY_BYTES], uint32_t key_id,
                               struct cl_crypto **out)
{
	*out = NULL;
	enum cl_err err = sodium_ready();
	if (err != CL_OK)
		return err;
	struct cl_crypto *c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ERR_NOMEM;
	/* Best effort: RLIMIT_MEMLOCK may be tiny; the key is still wiped. */
	c->locked = sodium_mlock(c, sizeof(*c)) == 0;
	c->key_id = key_id;
	randombytes_buf(c->nonce_prefix, sizeof(c->nonce_prefix));
	if (crypto_kdf_derive_from_key(c->field_key, sizeof(c->field_key), SUBKEY_FIELD,
	                               KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(c->hash_key, sizeof(c->hash_key), SUBKEY_HASH, KDF_CONTEXT,
	                               key) != 0 ||
	    crypto_kdf_derive_from_key(c->ref_key, sizeof(c->ref_key), SUBKEY_REF, KDF_CONTEXT,
	                               key) != 0) {
		cl_crypto_free(c);
		return CL_ERR_CRYPTO;
	}
	unsigned char seed[crypto_box_SEEDBYTES];
	if (crypto_kdf_derive_from_key(seed, sizeof(seed), SUBKEY_BOX, KDF_CONTEXT, key) != 0 ||
	    crypto_box_seed_keypair(c->box_pk, c->box_sk, seed) != 0) {
		sodium_memzero(seed, sizeof(seed));
		cl_crypto_free(c);
		return CL_ERR_CRYPTO;
	}
	sodium_memzero(seed, sizeof(seed));
	*out = c;
	return CL_OK;
}

void cl_crypto_free(struct cl_crypto *c)
{
	if (!c)
		return;
	int locked = c->locked;
	sodium_memzero(c, sizeof(*c));
	if (locked)
		sodium_munlock(c, sizeof(*c));
	free(c);
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; -1 with errno on error, -2 on early EOF. */
static int read_all(int fd, unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -2;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the new directory entry durable. Filesystems that cannot fsync a
 * directory say EINVAL; there is nothing more to do on those. */
static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	if (rc != 0 && saved == EINVAL)
		return 0;
	errno = saved;
	return rc;
}

/* Fill the just-created fd with a fresh random key. Any failure removes the
 * half-written file so the next start does not refuse it for its size. */
static enum cl_err create_key_file(const char *path, int fd, unsigned char key[CL_CRYPTO_KEY_BYTES])
{
	const char *step = "fchmod";
	randombytes_buf(key, CL_CRYPTO_KEY_BYTES);
	/* The umask may only have removed bits; make the mode exact anyway. */
	if (fchmod(fd, 0600) != 0)
		goto err;
	step = "write";
	if (write_all(fd, key, CL_CRYPTO_KEY_BYTES) != 0)
		goto err;
	step = "fsync";
	if (fsync(fd) != 0)
		goto err;
	step = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto err;
	}
	fd = -1;
	step = "fsync_dir";
	if (fsync_parent(path) != 0)
		goto err;
	cl_info("crypto.key_created", "path=\"%s\" key_id=%d", path, FILE_KEY_ID);
	return CL_OK;
err:
	cl_error("crypto.key_create_failed", "path=\"%s\" step=%s errno=%d error=\"%s\"", path,
	         step, errno, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(path);
	sodium_memzero(key, CL_CRYPTO_KEY_BYTES);
	return CL_ERR_IO;
}

static enum cl_err read_key_file(const char *path, unsigned char key[CL_CRYPTO_KEY_BYTES])
{
	enum cl_err err = CL_ERR_CRYPTO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cl_error("crypto.key_open_failed", "path=\"%s\" errno=%d error=\"%s\"", path, errno,
		         strerror(errno));
		return CL_ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		cl_error("crypto.key_open_failed", "path=\"%s\" errno=%d error=\"%s\"", path, errno,
		         strerror(errno));
		err = CL_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cl_error("crypto.key_refused", "path=\"%s\" reason=not_a_regular_file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		cl_error("crypto.key_refused",
		         "path=\"%s\" reason=group_or_other_permissions mode=%04o", path,
		         (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != CL_CRYPTO_KEY_BYTES) {
		cl_error("crypto.key_refused", "path=\"%s\" reason=wrong_size size=%jd expected=%d",
		         path, (intmax_t)st.st_size, CL_CRYPTO_KEY_BYTES);
		goto out;
	}
	int rc = read_all(fd, key, CL_CRYPTO_KEY_BYTES);
	if (rc == -2) {
		cl_error("crypto.key_refused", "path=\"%s\" reason=short_read", path);
		goto out;
	}
	if (rc != 0) {
		cl_error("crypto.key_open_failed", "path=\"%s\" errno=%d error=\"%s\"", path, errno,
		         strerror(errno));
		err = CL_ERR_IO;
		goto out;
	}
	err = CL_OK;
out:
	close(fd);
	if (err != CL_OK)
		sodium_memzero(key, CL_CRYPTO_KEY_BYTES);
	return err;
}

enum cl_err cl_crypto_open(const char *key_path, struct cl_crypto **out)
{
	*out = NULL;
	enum cl_err err = sodium_ready();
	if (err != CL_OK)
		return err;
	unsigned char key[CL_CRYPTO_KEY_BYTES];
	int locked = sodium_mlock(key, sizeof(key)) == 0;
	int fd = open(key_path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		err = create_key_file(key_path, fd, key);
	} else if (errno == EEXIST) {
		err = read_key_file(key_path, key);
	} else {
		cl_error("crypto.key_open_failed", "path=\"%s\" errno=%d error=\"%s\"", key_path,
		         errno, strerror(errno));
		err = CL_ERR_IO;
	}
	if (err == CL_OK)
		err = cl_crypto_from_key(key, FILE_KEY_ID, out);
	sodium_memzero(key, sizeof(key));
	if (locked)
		sodium_munlock(key, sizeof(key));
	return err;
}

/* "table:row:field". Names are code constants; one with a ':' (which would
 * make two bindings spell the same) or too long is a programming error. */
static enum cl_err make_ad(const char *table, int64_t row, const char *field, char ad[AD_MAX],
                           size_t *ad_len)
{
	if (!table || !field || strchr(table, ':') || strchr(field, ':'))
		return CL_ERR_INVALID;
	int n = snprintf(ad, AD_MAX, "%s:%" PRId64 ":%s", table, row, field);
	if (n < 0 || n >= AD_MAX)
		return CL_ERR_INVALID;
	*ad_len = (size_t)n;
	return CL_OK;
}

static void put_u32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum cl_err cl_crypto_seal_field(const struct cl_crypto *c, const char *table, int64_t row,
                                 const char *field, const void *plain, size_t len,
                                 unsigned char *out, size_t *out_len)
{
	*out_len = 0;
	if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    len > SIZE_MAX - CL_CRYPTO_OVERHEAD - 1)
		return CL_ERR_TOOBIG;
	if (len > 0 && !plain)
		return CL_ERR_INVALID;
	char ad[AD_MAX];
	size_t ad_len;
	enum cl_err err = make_ad(table, row, field, ad, &ad_len);
	if (err != CL_OK)
		return err;

	unsigned char *nonce = out + 1 + 4;
	out[0] = FORMAT_VERSION;
	put_u32le(out + 1, c->key_id);
	/* The counter is not key material; seal is otherwise read-only on c. */
	uint64_t counter = ((struct cl_crypto *)c)->nonce_counter++;
	memcpy(nonce, c->nonce_prefix, sizeof(c->nonce_prefix));
	for (int i = 0; i < 8; i++)
		nonce[sizeof(c->nonce_prefix) + (size_t)i] = (unsigned char)(counter >> (8 * i));
	unsigned long long ct_len = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
	        out + CL_CRYPTO_HEADER_BYTES, &ct_len, len ? plain : (const void *)"", len,
	        (const unsigned char *)ad, ad_len, NULL, nonce, c->field_key) != 0)
		return CL_ERR_CRYPTO;
	*out_len = CL_CRYPTO_HEADER_BYTES + (size_t)ct_len;
	return CL_OK;
}

enum cl_err cl_crypto_open_field(const struct cl_crypto *c, const char *table, int64_t row,
                                 const char *field, const unsigned char *in, size_t len, char *out,
                                 size_t *out_len)
{
	*out_len = 0;
	if (len < CL_CRYPTO_OVERHEAD || !in)
		return CL_ERR_CRYPTO;
	out[0] = '\0';
	if (in[0] != FORMAT_VERSION || get_u32le(in + 1) != c->key_id)
		return CL_ERR_CRYPTO;
	char ad[AD_MAX];
	size_t ad_len;
	enum cl_err err = make_ad(table, row, field, ad, &ad_len);
	if (err != CL_OK)
		return err;

	unsigned long long m_len = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        (unsigned char *)out, &m_len, NULL, in + CL_CRYPTO_HEADER_BYTES,
	        len - CL_CRYPTO_HEADER_BYTES, (const unsigned char *)ad, ad_len, in + 1 + 4,
	        c->field_key) != 0) {
		out[0] = '\0';
		return CL_ERR_CRYPTO;
	}
	out[m_len] = '\0';
	*out_len = (size_t)m_len;
	return CL_OK;
}

void cl_crypto_hash(const struct cl_crypto *c, const char *domain, const void *data, size_t len,
                    unsigned char out[CL_CRYPTO_HASH_BYTES])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, c->hash_key, sizeof(c->hash_key), CL_CRYPTO_HASH_BYTES);
	/* The domain's NUL separates it from the data: ("ab", "c") != ("a", "bc"). */
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	if (len > 0)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, out, CL_CRYPTO_HASH_BYTES);
	sodium_memzero(&st, sizeof(st));
}

int cl_crypto_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void cl_crypto_digest(const void *data, size_t len, unsigned char out[CL_CRYPTO_HASH_BYTES])
{
	/* BLAKE2b works without sodium_init (it only picks a faster
	 * implementation), so a failed init is logged there and not fatal here. */
	(void)sodium_ready();
	crypto_generichash(out, CL_CRYPTO_HASH_BYTES, len ? data : (const void *)"", len, NULL, 0);
}

const unsigned char *cl_crypto_ref_key(const struct cl_crypto *c)
{
	return c->ref_key;
}

/* --- sealed boxes (crypto_box_seal) ---------------------------------------- */

void cl_crypto_box_public(const struct cl_crypto *c, unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES])
{
	memcpy(pk, c->box_pk, CL_CRYPTO_BOX_KEY_BYTES);
}

enum cl_err cl_crypto_box_seal_to(const unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES], const void *msg,
                                  size_t len, unsigned char *out)
{
	if (sodium_ready() != CL_OK || crypto_box_seal(out, msg, (unsigned long long)len, pk) != 0)
		return CL_ERR_CRYPTO;
	return CL_OK;
}

enum cl_err cl_crypto_box_open(const struct cl_crypto *c, const unsigned char *box, size_t len,
                               unsigned char *out)
{
	if (len < crypto_box_SEALBYTES ||
	    crypto_box_seal_open(out, box, (unsigned long long)len, c->box_pk, c->box_sk) != 0)
		return CL_ERR_CRYPTO;
	return CL_OK;
}

enum cl_err cl_crypto_key_from_base64(const char *b64, unsigned char key[32])
{
	size_t n = 0;
	if (!b64 ||
	    sodium_base642bin(key, 32, b64, strlen(b64), " \t\n", &n, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != 32)
		return CL_ERR_INVALID;
	return CL_OK;
}

void cl_crypto_key_to_base64(const unsigned char key[32], char out[CL_CRYPTO_KEY_B64])
{
	sodium_bin2base64(out, CL_CRYPTO_KEY_B64, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

enum cl_err cl_crypto_base64_decode(const char *b64, unsigned char *out, size_t max, size_t *len)
{
	if (sodium_ready() != CL_OK || sodium_base642bin(out, max, b64, strlen(b64), " \t\n", len,
	                                                 NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return CL_ERR_INVALID;
	return CL_OK;
}

char *cl_crypto_base64_encode(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	if (s)
		sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

void cl_crypto_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

enum cl_err cl_crypto_box_keypair(unsigned char pk[CL_CRYPTO_BOX_KEY_BYTES],
                                  unsigned char sk[CL_CRYPTO_BOX_KEY_BYTES])
{
	enum cl_err err = sodium_ready();
	if (err == CL_OK && crypto_box_keypair(pk, sk) != 0)
		err = CL_ERR_CRYPTO;
	return err;
}
