/*
 * core/crypto.c owns the master key file, the field keyring beside it and
 * every use of libsodium: field encryption (XChaCha20-Poly1305), keyed lookup
 * hashes, the ref subkey, sealed boxes. The master key never leaves this
 * file; only derived subkeys and the field keys are kept, in locked memory,
 * and wiped on free or retirement. Rotation only ever changes field keys (see
 * crypto.h). Called by the service, the store's callers and core/rekey.c; no
 * SQL here.
 */
#include "careline/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* The keyring file, "<key_file>.keys": text, one item a line, e.g.
 *   careline-keyring 1
 *   current 3
 *   retired 1
 *   key 3 <base64: 24-byte nonce | key wrapped with XChaCha20-Poly1305>
 *   mac <base64: keyed BLAKE2b-256 of every byte above>
 * "retired 1" drops the key derived from the master; "key" lines hold the
 * random keys, ids ascending, the current one last. */
#define KEYRING_SUFFIX ".keys"
#define KEYRING_TMP    ".tmp"
#define KEYRING_MAGIC  "careline-keyring 1"
#define KEYRING_MAX    8192
#define WRAP_BYTES     (NONCE_BYTES + CL_CRYPTO_KEY_BYTES + CL_CRYPTO_TAG_BYTES)
#define WRAP_B64_BYTES (((WRAP_BYTES + 2) / 3) * 4 + 1)
#define MAC_B64_BYTES  (((CL_CRYPTO_HASH_BYTES + 2) / 3) * 4 + 1)

enum subkey_id {
	SUBKEY_FIELD = 1, /* field key id 1 (FILE_KEY_ID), until retired */
	SUBKEY_HASH = 2,
	SUBKEY_REF = 3,
	SUBKEY_BOX = 4,       /* seed of careline's crypto_box keypair (sealed reports) */
	SUBKEY_RING_WRAP = 5, /* wraps the random field keys in the keyring file */
	SUBKEY_RING_MAC = 6,  /* authenticates the keyring file */
};

_Static_assert(CL_CRYPTO_KEY_BYTES == crypto_kdf_KEYBYTES, "master key is a kdf key");
_Static_assert(CL_CRYPTO_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "field subkey is an aead key");
_Static_assert(CL_CRYPTO_HEADER_BYTES == 1 + 4 + NONCE_BYTES, "header layout");
_Static_assert(CL_CRYPTO_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(sizeof(KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context is 8 bytes");

struct field_key {
	uint32_t id;
	unsigned char key[CL_CRYPTO_KEY_BYTES];
};

struct cl_crypto {
	/* Field keys, ids ascending; the last one is current (seals). */
	struct field_key keys[CL_CRYPTO_MAX_KEYS];
	size_t n_keys;
	uint32_t derived_id;  /* the field key derived from the master (1) */
	bool derived_retired; /* ... and dropped by the keyring */
	/* Never rotated: lookups, refs and the apps' public key outlive keys. */
	unsigned char hash_key[CL_CRYPTO_KEY_BYTES];
	unsigned char ref_key[CL_CRYPTO_KEY_BYTES];
	unsigned char box_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char box_sk[crypto_box_SECRETKEYBYTES];
	unsigned char ring_wrap_key[CL_CRYPTO_KEY_BYTES];
	unsigned char ring_mac_key[CL_CRYPTO_KEY_BYTES];
	char *ring_path; /* NULL: rotations live in memory only (cl_crypto_from_key) */
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
	c->keys[0].id = c->derived_id = key_id;
	c->n_keys = 1;
	randombytes_buf(c->nonce_prefix, sizeof(c->nonce_prefix));
	if (crypto_kdf_derive_from_key(c->keys[0].key, sizeof(c->keys[0].key), SUBKEY_FIELD,
	                               KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(c->hash_key, sizeof(c->hash_key), SUBKEY_HASH, KDF_CONTEXT,
	                               key) != 0 ||
	    crypto_kdf_derive_from_key(c->ref_key, sizeof(c->ref_key), SUBKEY_REF, KDF_CONTEXT,
	                               key) != 0 ||
	    crypto_kdf_derive_from_key(c->ring_wrap_key, sizeof(c->ring_wrap_key), SUBKEY_RING_WRAP,
	                               KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(c->ring_mac_key, sizeof(c->ring_mac_key), SUBKEY_RING_MAC,
	                               KDF_CONTEXT, key) != 0) {
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
	free(c->ring_path);
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

/* --- the field keyring ----------------------------------------------------- */

static const struct field_key *find_key(const struct cl_crypto *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_keys; i++)
		if (c->keys[i].id == id)
			return &c->keys[i];
	return NULL;
}

static const struct field_key *current_key(const struct cl_crypto *c)
{
	return &c->keys[c->n_keys - 1];
}

static void wrap_ad(uint32_t id, char ad[32], size_t *len)
{
	*len = (size_t)snprintf(ad, 32, "careline-keyring:%" PRIu32, id);
}

/* printf into buf at *len; false when it does not fit. */
static bool append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	return true;
}

/* The keyring's text for keys[0..n) minus the dropped ones: random keys
 * wrapped under the master-derived wrap key, everything authenticated. */
static bool keyring_text(const struct cl_crypto *c, size_t n, const bool *drop,
                         bool derived_retired, char *buf, size_t cap, size_t *len)
{
	uint32_t current = 0;
	for (size_t i = 0; i < n; i++)
		if (!drop || !drop[i])
			current = c->keys[i].id;
	*len = 0;
	if (!append(buf, cap, len, "%s\ncurrent %" PRIu32 "\n", KEYRING_MAGIC, current))
		return false;
	if (derived_retired && !append(buf, cap, len, "retired %" PRIu32 "\n", c->derived_id))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((drop && drop[i]) || c->keys[i].id == c->derived_id)
			continue;
		unsigned char wrapped[WRAP_BYTES];
		char ad[32], b64[WRAP_B64_BYTES];
		size_t ad_len;
		wrap_ad(c->keys[i].id, ad, &ad_len);
		randombytes_buf(wrapped, NONCE_BYTES);
		if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		        wrapped + NONCE_BYTES, NULL, c->keys[i].key, CL_CRYPTO_KEY_BYTES,
		        (const unsigned char *)ad, ad_len, NULL, wrapped, c->ring_wrap_key) != 0)
			return false;
		sodium_bin2base64(b64, sizeof(b64), wrapped, sizeof(wrapped),
		                  sodium_base64_VARIANT_ORIGINAL);
		if (!append(buf, cap, len, "key %" PRIu32 " %s\n", c->keys[i].id, b64))
			return false;
	}
	unsigned char mac[CL_CRYPTO_HASH_BYTES];
	char mac_b64[MAC_B64_BYTES];
	crypto_generichash(mac, sizeof(mac), (const unsigned char *)buf, *len, c->ring_mac_key,
	                   sizeof(c->ring_mac_key));
	sodium_bin2base64(mac_b64, sizeof(mac_b64), mac, sizeof(mac),
	                  sodium_base64_VARIANT_ORIGINAL);
	return append(buf, cap, len, "mac %s\n", mac_b64);
}

/* Write text to path atomically: a temp file (0600), fsync, rename over
 * path, fsync of the directory. Nothing is left behind on failure. */
static enum cl_err write_atomically(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s%s", path, KEYRING_TMP) >= (int)sizeof(tmp)) {
		cl_error("crypto.keyring_write_failed", "path=\"%s\" step=path error=too_long",
		         path);
		return CL_ERR_IO;
	}
	const char *step = "open";
	int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto err;
	step = "fchmod";
	if (fchmod(fd, 0600) != 0)
		goto err;
	step = "write";
	if (write_all(fd, (const unsigned char *)text, len) != 0)
		goto err;
	step = "fsync";
	if (fsync(fd) != 0)
		goto err;
	step = "close";
	int rc = close(fd);
	fd = -1;
	if (rc != 0)
		goto err;
	step = "rename";
	if (rename(tmp, path) != 0)
		goto err;
	step = "fsync_dir";
	if (fsync_parent(path) != 0) {
		/* Renamed but maybe not durable: report it, the file is whole. */
		cl_error("crypto.keyring_write_failed", "path=\"%s\" step=%s errno=%d error=\"%s\"",
		         path, step, errno, strerror(errno));
		return CL_ERR_IO;
	}
	return CL_OK;
err:
	cl_error("crypto.keyring_write_failed", "path=\"%s\" step=%s errno=%d error=\"%s\"", path,
	         step, errno, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return CL_ERR_IO;
}

/* Persist keys[0..n) minus drop (no-op without a keyring path). */
static enum cl_err keyring_save(const struct cl_crypto *c, size_t n, const bool *drop,
                                bool derived_retired)
{
	if (!c->ring_path)
		return CL_OK;
	char buf[KEYRING_MAX];
	size_t len;
	enum cl_err err = CL_ERR_CRYPTO;
	if (keyring_text(c, n, drop, derived_retired, buf, sizeof(buf), &len))
		err = write_atomically(c->ring_path, buf, len);
	else
		cl_error("crypto.keyring_write_failed", "path=\"%s\" step=format", c->ring_path);
	sodium_memzero(buf, sizeof(buf));
	return err;
}

static bool parse_u32(const char *s, const char **end, uint32_t *out)
{
	char *e;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || v == 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	*end = e;
	return true;
}

/* Parse and check a keyring's text into c's keys. On failure *reason names
 * what is wrong (for the log) and c is unchanged. */
static bool keyring_parse(struct cl_crypto *c, char *buf, size_t len, const char **reason,
                          int *line_no)
{
	*line_no = 0;
	*reason = "truncated";
	if (len == 0 || buf[len - 1] != '\n')
		return false;
	buf[len - 1] = '\0';
	/* The authenticator first: it covers every byte before its line. */
	char *mac_line = strrchr(buf, '\n');
	if (!mac_line || strncmp(mac_line + 1, "mac ", 4) != 0) {
		*reason = "no_authenticator";
		return false;
	}
	size_t signed_len = (size_t)(mac_line + 1 - buf);
	unsigned char mac[CL_CRYPTO_HASH_BYTES], want[CL_CRYPTO_HASH_BYTES];
	size_t mac_len = 0;
	if (sodium_base642bin(mac, sizeof(mac), mac_line + 5, strlen(mac_line + 5), NULL, &mac_len,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    mac_len != sizeof(mac)) {
		*reason = "no_authenticator";
		return false;
	}
	crypto_generichash(want, sizeof(want), (const unsigned char *)buf, signed_len,
	                   c->ring_mac_key, sizeof(c->ring_mac_key));
	if (sodium_memcmp(mac, want, sizeof(mac)) != 0) {
		*reason = "bad_authenticator"; /* edited, damaged, or another master key */
		return false;
	}
	*mac_line = '\0';

	struct field_key keys[CL_CRYPTO_MAX_KEYS];
	size_t n = 0;
	uint32_t current = 0;
	bool retired = false, ok = false;
	sodium_memzero(keys, sizeof(keys));
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		++*line_no;
		const char *end = line;
		uint32_t id;
		*reason = "syntax";
		if (*line_no == 1) {
			if (strcmp(line, KEYRING_MAGIC) != 0) {
				*reason = "not_a_keyring";
				goto out;
			}
		} else if (*line_no == 2) {
			if (strncmp(line, "current ", 8) != 0 ||
			    !parse_u32(line + 8, &end, &current) || *end)
				goto out;
		} else if (strncmp(line, "retired ", 8) == 0) {
			if (*line_no != 3 || !parse_u32(line + 8, &end, &id) || *end)
				goto out;
			if (id != c->derived_id) {
				*reason = "retired_not_master_key";
				goto out;
			}
			retired = true;
		} else if (strncmp(line, "key ", 4) == 0) {
			if (!parse_u32(line + 4, &end, &id) || *end != ' ')
				goto out;
			if (id <= c->derived_id || (n && id <= keys[n - 1].id)) {
				*reason = "key_ids_out_of_order";
				goto out;
			}
			if (n == CL_CRYPTO_MAX_KEYS - (retired ? 0 : 1)) {
				*reason = "too_many_keys";
				goto out;
			}
			unsigned char wrapped[WRAP_BYTES];
			size_t wrapped_len = 0;
			char ad[32];
			size_t ad_len;
			wrap_ad(id, ad, &ad_len);
			if (sodium_base642bin(wrapped, sizeof(wrapped), end + 1, strlen(end + 1),
			                      NULL, &wrapped_len, NULL,
			                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    wrapped_len != sizeof(wrapped) ||
			    crypto_aead_xchacha20poly1305_ietf_decrypt(
			        keys[n].key, NULL, NULL, wrapped + NONCE_BYTES,
			        sizeof(wrapped) - NONCE_BYTES, (const unsigned char *)ad, ad_len,
			        wrapped, c->ring_wrap_key) != 0) {
				*reason = "key_does_not_unwrap";
				goto out;
			}
			keys[n++].id = id;
		} else {
			goto out;
		}
	}
	*reason = "current_key_missing";
	if (*line_no < 2 || current == 0)
		goto out;
	if (n ? current != keys[n - 1].id : (retired || current != c->derived_id))
		goto out;
	/* Commit: the derived key (unless retired), then the random ones. */
	size_t k = 0;
	if (!retired)
		c->keys[k++] = c->keys[0];
	for (size_t i = 0; i < n; i++)
		c->keys[k++] = keys[i];
	for (size_t i = k; i < CL_CRYPTO_MAX_KEYS; i++)
		sodium_memzero(&c->keys[i], sizeof(c->keys[i]));
	c->n_keys = k;
	c->derived_retired = retired;
	ok = true;
out:
	sodium_memzero(keys, sizeof(keys));
	return ok;
}

/* Load "<key_file>.keys" if it exists. A leftover temp file (a crash
 * before its rename: that key was never used) is removed. */
static enum cl_err keyring_load(struct cl_crypto *c)
{
	const char *path = c->ring_path;
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s%s", path, KEYRING_TMP) < (int)sizeof(tmp))
		unlink(tmp);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return CL_OK;
	if (fd < 0) {
		cl_error("crypto.keyring_open_failed", "path=\"%s\" errno=%d error=\"%s\"", path,
		         errno, strerror(errno));
		return errno == ELOOP ? CL_ERR_CRYPTO : CL_ERR_IO;
	}
	enum cl_err err = CL_ERR_CRYPTO;
	char buf[KEYRING_MAX];
	const char *reason = NULL;
	int line = 0;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		cl_error("crypto.keyring_open_failed", "path=\"%s\" errno=%d error=\"%s\"", path,
		         errno, strerror(errno));
		err = CL_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		reason = "not_a_regular_file";
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		cl_error("crypto.keyring_refused",
		         "path=\"%s\" reason=group_or_other_permissions mode=%04o", path,
		         (unsigned)(st.st_mode & 07777));
		goto out;
	} else if (st.st_size <= 0 || st.st_size >= KEYRING_MAX) {
		reason = "wrong_size";
	} else {
		int rc = read_all(fd, (unsigned char *)buf, (size_t)st.st_size);
		if (rc == -1) {
			cl_error("crypto.keyring_open_failed", "path=\"%s\" errno=%d error=\"%s\"",
			         path, errno, strerror(errno));
			err = CL_ERR_IO;
			goto out;
		}
		if (rc == -2)
			reason = "short_read";
		else if (keyring_parse(c, buf, (size_t)st.st_size, &reason, &line))
			reason = NULL;
	}
	if (reason) {
		if (line)
			cl_error("crypto.keyring_refused", "path=\"%s\" reason=%s line=%d", path,
			         reason, line);
		else
			cl_error("crypto.keyring_refused", "path=\"%s\" reason=%s", path, reason);
		goto out;
	}
	err = CL_OK;
	cl_info("crypto.keyring_loaded", "path=\"%s\" current=%" PRIu32 " keys=%zu master_key=%s",
	        path, current_key(c)->id, c->n_keys, c->derived_retired ? "retired" : "held");
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return err;
}

uint32_t cl_crypto_current_key(const struct cl_crypto *c)
{
	return current_key(c)->id;
}

size_t cl_crypto_keys(const struct cl_crypto *c, uint32_t *ids)
{
	for (size_t i = 0; i < c->n_keys; i++)
		ids[i] = c->keys[i].id;
	return c->n_keys;
}

bool cl_crypto_master_key_retired(const struct cl_crypto *c)
{
	return c->derived_retired;
}

enum cl_err cl_crypto_rotate(struct cl_crypto *c, uint32_t *new_id)
{
	*new_id = 0;
	uint32_t cur = current_key(c)->id;
	if (c->n_keys >= CL_CRYPTO_MAX_KEYS || cur == UINT32_MAX) {
		cl_warn("crypto.rotate_refused", "reason=too_many_keys keys=%zu", c->n_keys);
		return CL_ERR_CONFLICT;
	}
	/* Made in its locked slot, counted only once it is on disk. */
	struct field_key *k = &c->keys[c->n_keys];
	k->id = cur + 1;
	randombytes_buf(k->key, sizeof(k->key));
	enum cl_err err = keyring_save(c, c->n_keys + 1, NULL, c->derived_retired);
	if (err != CL_OK) {
		sodium_memzero(k, sizeof(*k));
		return err;
	}
	c->n_keys++;
	*new_id = k->id;
	cl_info("crypto.key_rotated", "id=%" PRIu32 " previous=%" PRIu32 " keys=%zu", k->id, cur,
	        c->n_keys);
	return CL_OK;
}

enum cl_err cl_crypto_retire(struct cl_crypto *c, const uint32_t *ids, size_t n)
{
	bool drop[CL_CRYPTO_MAX_KEYS] = {false};
	bool derived_retired = c->derived_retired;
	for (size_t j = 0; j < n; j++) {
		const struct field_key *k = find_key(c, ids[j]);
		if (!k)
			return CL_ERR_NOTFOUND;
		if (k == current_key(c))
			return CL_ERR_INVALID;
		drop[k - c->keys] = true;
		if (k->id == c->derived_id)
			derived_retired = true;
	}
	enum cl_err err = keyring_save(c, c->n_keys, drop, derived_retired);
	if (err != CL_OK)
		return err;
	size_t kept = 0;
	for (size_t i = 0; i < c->n_keys; i++) {
		if (drop[i]) {
			cl_info("crypto.key_retired", "id=%" PRIu32 "%s", c->keys[i].id,
			        c->keys[i].id == c->derived_id ? " master_derived=1" : "");
			continue;
		}
		if (kept != i)
			c->keys[kept] = c->keys[i];
		kept++;
	}
	for (size_t i = kept; i < CL_CRYPTO_MAX_KEYS; i++)
		sodium_memzero(&c->keys[i], sizeof(c->keys[i]));
	c->n_keys = kept;
	c->derived_retired = derived_retired;
	return CL_OK;
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
	if (err != CL_OK)
		return err;
	struct cl_crypto *c = *out;
	size_t n = strlen(key_path) + sizeof(KEYRING_SUFFIX);
	c->ring_path = malloc(n);
	if (!c->ring_path)
		err = CL_ERR_NOMEM;
	else
		snprintf(c->ring_path, n, "%s%s", key_path, KEYRING_SUFFIX);
	if (err == CL_OK)
		err = keyring_load(c);
	if (err != CL_OK) {
		cl_crypto_free(c);
		*out = NULL;
	}
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

	const struct field_key *k = current_key(c);
	unsigned char *nonce = out + 1 + 4;
	out[0] = FORMAT_VERSION;
	put_u32le(out + 1, k->id);
	/* The counter is not key material; seal is otherwise read-only on c. */
	uint64_t counter = ((struct cl_crypto *)c)->nonce_counter++;
	memcpy(nonce, c->nonce_prefix, sizeof(c->nonce_prefix));
	for (int i = 0; i < 8; i++)
		nonce[sizeof(c->nonce_prefix) + (size_t)i] = (unsigned char)(counter >> (8 * i));
	unsigned long long ct_len = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
	        out + CL_CRYPTO_HEADER_BYTES, &ct_len, len ? plain : (const void *)"", len,
	        (const unsigned char *)ad, ad_len, NULL, nonce, k->key) != 0)
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
	const struct field_key *k = in[0] == FORMAT_VERSION ? find_key(c, get_u32le(in + 1)) : NULL;
	if (!k)
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
	        k->key) != 0) {
		out[0] = '\0';
		return CL_ERR_CRYPTO;
	}
	out[m_len] = '\0';
	*out_len = (size_t)m_len;
	return CL_OK;
}

enum cl_err cl_crypto_reseal_field(const struct cl_crypto *c, const char *table, int64_t row,
                                   const char *field, const unsigned char *in, size_t len,
                                   unsigned char *out)
{
	if (!in || len < CL_CRYPTO_OVERHEAD)
		return CL_ERR_CRYPTO;
	size_t cap = len - CL_CRYPTO_OVERHEAD + 1, plain_len = 0, out_len = 0;
	char *plain = malloc(cap);
	if (!plain)
		return CL_ERR_NOMEM;
	enum cl_err err = cl_crypto_open_field(c, table, row, field, in, len, plain, &plain_len);
	if (err == CL_OK)
		err = cl_crypto_seal_field(c, table, row, field, plain, plain_len, out, &out_len);
	if (err == CL_OK && out_len != len)
		err = CL_ERR_CRYPTO; /* cannot happen: same format, same plaintext */
	sodium_memzero(plain, cap);
	free(plain);
	return err;
}

bool cl_crypto_value_key_id(const unsigned char *in, size_t len, uint32_t *key_id)
{
	if (!in || len < CL_CRYPTO_OVERHEAD || in[0] != FORMAT_VERSION)
		return false;
	*key_id = get_u32le(in + 1);
	return true;
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

void cl_crypto_hex_encode(const unsigned char *bin, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, bin, len);
}

enum cl_err cl_crypto_hex_decode(const char *hex, unsigned char *out, size_t len)
{
	size_t n = 0;
	const char *end = NULL;
	if (strlen(hex) != 2 * len || sodium_hex2bin(out, len, hex, 2 * len, NULL, &n, &end) != 0 ||
	    n != len || *end != '\0')
		return CL_ERR_INVALID;
	return CL_OK;
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
