/*
 * tests/unit/crypto_test.c: the key file (created 0600, reopened, refused when
 * too open or the wrong size), field encryption bound to table/row/field and
 * key id, tamper detection, keyed and unkeyed hashes, and the field keyring of
 * key rotation: rotate, seal with the new id, open old values, reseal,
 * retire, refuse unknown ids, the keyring file's mode, reload and refusal
 * when damaged (core/crypto.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "careline/crypto.h"
#include "careline/log.h"

struct tmpdir {
	char dir[64];
	char key[96];
};

static void tmpdir_make(struct tmpdir *t)
{
	const char *base = getenv("TMPDIR");
	snprintf(t->dir, sizeof(t->dir), "%s/crypto_test.XXXXXX", base && base[0] ? base : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->key, sizeof(t->key), "%s/master.key", t->dir);
}

static void tmpdir_remove(struct tmpdir *t)
{
	unlink(t->key);
	assert_int_equal(rmdir(t->dir), 0);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Runs cl_crypto_open with log lines captured into log. */
static enum cl_err open_logged(const char *path, struct cl_crypto **c, char *log, size_t log_len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	cl_log_set_stream(f);
	enum cl_err err = cl_crypto_open(path, c);
	cl_log_set_stream(NULL);
	rewind(f);
	size_t n = fread(log, 1, log_len - 1, f);
	log[n] = '\0';
	fclose(f);
	return err;
}

static const unsigned char test_key[CL_CRYPTO_KEY_BYTES] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static struct cl_crypto *from_test_key(uint32_t key_id)
{
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_from_key(test_key, key_id, &c), CL_OK);
	assert_non_null(c);
	return c;
}

static void seal(const struct cl_crypto *c, const char *table, int64_t row, const char *field,
                 const char *plain, unsigned char *out, size_t *out_len)
{
	assert_int_equal(
	    cl_crypto_seal_field(c, table, row, field, plain, strlen(plain), out, out_len), CL_OK);
	assert_int_equal(*out_len, strlen(plain) + CL_CRYPTO_OVERHEAD);
}

static void test_crypto_key_file_created_0600(void **state)
{
	struct tmpdir t;
	tmpdir_make(&t);
	struct cl_crypto *c = NULL;
	char log[1024];
	assert_int_equal(open_logged(t.key, &c, log, sizeof(log)), CL_OK);
	assert_non_null(c);
	struct stat st;
	assert_int_equal(stat(t.key, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, CL_CRYPTO_KEY_BYTES);
	assert_non_null(strstr(log, "event=crypto.key_created"));
	/* Random, not a constant. */
	unsigned char key[CL_CRYPTO_KEY_BYTES], zero[CL_CRYPTO_KEY_BYTES] = {0};
	int fd = open(t.key, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, key, sizeof(key)), (ssize_t)sizeof(key));
	close(fd);
	assert_memory_not_equal(key, zero, sizeof(key));
	assert_memory_not_equal(key, test_key, sizeof(key));
	cl_crypto_free(c);
	tmpdir_remove(&t);
}

static void test_crypto_key_file_reopened_gives_same_key(void **state)
{
	struct tmpdir t;
	tmpdir_make(&t);
	struct cl_crypto *a = NULL, *b = NULL;
	assert_int_equal(cl_crypto_open(t.key, &a), CL_OK);
	assert_int_equal(cl_crypto_open(t.key, &b), CL_OK);

	unsigned char sealed[64 + CL_CRYPTO_OVERHEAD];
	size_t sealed_len;
	seal(a, "ticket", 42, "address", "Nørrebrogade 1, 2. th", sealed, &sealed_len);
	char plain[64 + 1];
	size_t plain_len;
	assert_int_equal(
	    cl_crypto_open_field(b, "ticket", 42, "address", sealed, sealed_len, plain, &plain_len),
	    CL_OK);
	assert_string_equal(plain, "Nørrebrogade 1, 2. th");
	assert_memory_equal(cl_crypto_ref_key(a), cl_crypto_ref_key(b), 32);

	unsigned char ha[CL_CRYPTO_HASH_BYTES], hb[CL_CRYPTO_HASH_BYTES];
	cl_crypto_hash(a, "phone", "+4512345678", 11, ha);
	cl_crypto_hash(b, "phone", "+4512345678", 11, hb);
	assert_memory_equal(ha, hb, sizeof(ha));
	cl_crypto_free(a);
	cl_crypto_free(b);
	tmpdir_remove(&t);
}

static void test_crypto_key_file_refused_when_group_readable(void **state)
{
	struct tmpdir t;
	tmpdir_make(&t);
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_open(t.key, &c), CL_OK);
	cl_crypto_free(c);
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0602, 0610};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(t.key, modes[i]), 0);
		char log[1024];
		c = (struct cl_crypto *)1;
		assert_int_equal(open_logged(t.key, &c, log, sizeof(log)), CL_ERR_CRYPTO);
		assert_null(c);
		assert_non_null(strstr(log, "event=crypto.key_refused"));
		assert_non_null(strstr(log, "reason=group_or_other_permissions"));
		/* Logged once, not once per layer. */
		assert_null(strchr(strchr(log, '\n') + 1, '\n'));
	}
	/* 0400 (read-only for the owner) is fine. */
	assert_int_equal(chmod(t.key, 0400), 0);
	assert_int_equal(cl_crypto_open(t.key, &c), CL_OK);
	cl_crypto_free(c);
	tmpdir_remove(&t);
}

static void test_crypto_key_file_refused_when_wrong_size(void **state)
{
	struct tmpdir t;
	tmpdir_make(&t);
	static const size_t sizes[] = {0, 16, 31, 33, 64};
	unsigned char bytes[64];
	memset(bytes, 0xA5, sizeof(bytes));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file(t.key, bytes, sizes[i], 0600);
		struct cl_crypto *c = NULL;
		char log[1024];
		assert_int_equal(open_logged(t.key, &c, log, sizeof(log)), CL_ERR_CRYPTO);
		assert_null(c);
		assert_non_null(strstr(log, "event=crypto.key_refused"));
		assert_non_null(strstr(log, "reason=wrong_size"));
		/* No key material: the file's bytes never show up. */
		assert_null(strstr(log, "a5a5"));
		assert_null(strstr(log, "A5A5"));
		assert_int_equal(unlink(t.key), 0);
	}
	tmpdir_remove(&t);
}

static void test_crypto_key_file_refused_when_directory(void **state)
{
	struct tmpdir t;
	tmpdir_make(&t);
	assert_int_equal(mkdir(t.key, 0700), 0);
	struct cl_crypto *c = NULL;
	char log[1024];
	assert_int_equal(open_logged(t.key, &c, log, sizeof(log)), CL_ERR_CRYPTO);
	assert_null(c);
	assert_non_null(strstr(log, "event=crypto.key_refused"));
	assert_int_equal(rmdir(t.key), 0);
	tmpdir_remove(&t);
}

static void test_crypto_key_file_missing_directory_is_io_error(void **state)
{
	struct cl_crypto *c = NULL;
	char log[1024];
	assert_int_equal(open_logged("/nonexistent-careline-dir/master.key", &c, log, sizeof(log)),
	                 CL_ERR_IO);
	assert_null(c);
	assert_non_null(strstr(log, "event=crypto.key_open_failed"));
}

static void test_crypto_seal_open_round_trip(void **state)
{
	struct cl_crypto *c = from_test_key(7);
	unsigned char sealed[128];
	size_t sealed_len;
	seal(c, "ticket", 1, "text", "Naboen har ikke været set i en uge.", sealed, &sealed_len);
	char plain[128];
	size_t plain_len = 99;
	assert_int_equal(
	    cl_crypto_open_field(c, "ticket", 1, "text", sealed, sealed_len, plain, &plain_len),
	    CL_OK);
	assert_int_equal(plain_len, strlen("Naboen har ikke været set i en uge."));
	assert_string_equal(plain, "Naboen har ikke været set i en uge.");
	cl_crypto_free(c);
}

static void test_crypto_seal_layout_matches_header(void **state)
{
	struct cl_crypto *c = from_test_key(0x01020304);
	unsigned char a[64], b[64];
	size_t a_len, b_len;
	seal(c, "person", 3, "name", "Else", a, &a_len);
	seal(c, "person", 3, "name", "Else", b, &b_len);
	assert_int_equal(a[0], 0x01);
	assert_int_equal(a[1], 0x04);
	assert_int_equal(a[2], 0x03);
	assert_int_equal(a[3], 0x02);
	assert_int_equal(a[4], 0x01);
	/* A fresh random nonce every time: equal plaintexts do not show. */
	assert_memory_not_equal(a + 5, b + 5, 24);
	assert_memory_not_equal(a + CL_CRYPTO_HEADER_BYTES, b + CL_CRYPTO_HEADER_BYTES,
	                        a_len - CL_CRYPTO_HEADER_BYTES);
	cl_crypto_free(c);
}

static void test_crypto_seal_open_empty_value(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	unsigned char sealed[CL_CRYPTO_OVERHEAD];
	size_t sealed_len;
	assert_int_equal(cl_crypto_seal_field(c, "ticket", 5, "name", NULL, 0, sealed, &sealed_len),
	                 CL_OK);
	assert_int_equal(sealed_len, CL_CRYPTO_OVERHEAD);
	char plain[1] = {'x'};
	size_t plain_len = 99;
	assert_int_equal(
	    cl_crypto_open_field(c, "ticket", 5, "name", sealed, sealed_len, plain, &plain_len),
	    CL_OK);
	assert_int_equal(plain_len, 0);
	assert_int_equal(plain[0], '\0');
	cl_crypto_free(c);
}

static void test_crypto_seal_open_64k_binary_value(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	size_t len = 64 * 1024;
	unsigned char *in = malloc(len);
	unsigned char *sealed = malloc(len + CL_CRYPTO_OVERHEAD);
	char *plain = malloc(len + 1);
	assert_non_null(in);
	assert_non_null(sealed);
	assert_non_null(plain);
	for (size_t i = 0; i < len; i++)
		in[i] = (unsigned char)(i * 131 + (i >> 8)); /* includes NUL bytes */
	size_t sealed_len, plain_len;
	assert_int_equal(cl_crypto_seal_field(c, "blob", 9, "data", in, len, sealed, &sealed_len),
	                 CL_OK);
	assert_int_equal(sealed_len, len + CL_CRYPTO_OVERHEAD);
	assert_int_equal(
	    cl_crypto_open_field(c, "blob", 9, "data", sealed, sealed_len, plain, &plain_len),
	    CL_OK);
	assert_int_equal(plain_len, len);
	assert_memory_equal(plain, in, len);
	assert_int_equal(plain[len], '\0');
	free(in);
	free(sealed);
	free(plain);
	cl_crypto_free(c);
}

static void test_crypto_open_fails_for_other_table_row_or_field(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	unsigned char sealed[64];
	size_t sealed_len, plain_len;
	char plain[64];
	seal(c, "ticket", 42, "address", "Vesterbrogade 3", sealed, &sealed_len);
	assert_int_equal(
	    cl_crypto_open_field(c, "ticket", 43, "address", sealed, sealed_len, plain, &plain_len),
	    CL_ERR_CRYPTO);
	assert_int_equal(plain_len, 0);
	assert_string_equal(plain, "");
	assert_int_equal(cl_crypto_open_field(c, "ticket", -42, "address", sealed, sealed_len,
	                                      plain, &plain_len),
	                 CL_ERR_CRYPTO);
	assert_int_equal(
	    cl_crypto_open_field(c, "ticket", 42, "text", sealed, sealed_len, plain, &plain_len),
	    CL_ERR_CRYPTO);
	assert_int_equal(
	    cl_crypto_open_field(c, "person", 42, "address", sealed, sealed_len, plain, &plain_len),
	    CL_ERR_CRYPTO);
	/* Names with ':' could spell another binding ("ticket:4" row 2 is
	 * "ticket" row 4 field "2:..."), so they are refused outright. */
	assert_int_equal(cl_crypto_open_field(c, "ticket", 4, "2:address", sealed, sealed_len,
	                                      plain, &plain_len),
	                 CL_ERR_INVALID);
	unsigned char scratch[64];
	size_t scratch_len;
	assert_int_equal(
	    cl_crypto_seal_field(c, "ticket:4", 2, "address", "x", 1, scratch, &scratch_len),
	    CL_ERR_INVALID);
	assert_int_equal(
	    cl_crypto_open_field(c, "ticket", 42, "address", sealed, sealed_len, plain, &plain_len),
	    CL_OK);
	cl_crypto_free(c);
}

static void test_crypto_open_fails_for_any_tampered_byte(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	unsigned char sealed[64];
	size_t sealed_len, plain_len;
	char plain[64];
	seal(c, "ticket", 8, "phone", "+4512345678", sealed, &sealed_len);
	for (size_t i = 0; i < sealed_len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			sealed[i] ^= (unsigned char)(1u << bit);
			assert_int_equal(cl_crypto_open_field(c, "ticket", 8, "phone", sealed,
			                                      sealed_len, plain, &plain_len),
			                 CL_ERR_CRYPTO);
			sealed[i] ^= (unsigned char)(1u << bit);
		}
	}
	/* Truncated or extended values fail too. */
	for (size_t n = 0; n < sealed_len; n++)
		assert_int_equal(
		    cl_crypto_open_field(c, "ticket", 8, "phone", sealed, n, plain, &plain_len),
		    CL_ERR_CRYPTO);
	sealed[sealed_len] = 0;
	assert_int_equal(cl_crypto_open_field(c, "ticket", 8, "phone", sealed, sealed_len + 1,
	                                      plain, &plain_len),
	                 CL_ERR_CRYPTO);
	assert_int_equal(
	    cl_crypto_open_field(c, "ticket", 8, "phone", sealed, sealed_len, plain, &plain_len),
	    CL_OK);
	assert_string_equal(plain, "+4512345678");
	cl_crypto_free(c);
}

static void test_crypto_open_fails_for_unknown_key_id(void **state)
{
	struct cl_crypto *one = from_test_key(1);
	struct cl_crypto *two = from_test_key(2);
	unsigned char sealed[64];
	size_t sealed_len, plain_len;
	char plain[64];
	seal(one, "ticket", 1, "name", "Anna", sealed, &sealed_len);
	/* Same key bytes, other id: refused on the id alone. */
	assert_int_equal(
	    cl_crypto_open_field(two, "ticket", 1, "name", sealed, sealed_len, plain, &plain_len),
	    CL_ERR_CRYPTO);
	/* Rewriting the id in the value does not help either. */
	sealed[1] = 2;
	assert_int_equal(
	    cl_crypto_open_field(one, "ticket", 1, "name", sealed, sealed_len, plain, &plain_len),
	    CL_ERR_CRYPTO);
	cl_crypto_free(one);
	cl_crypto_free(two);
}

static void test_crypto_open_fails_for_other_key(void **state)
{
	unsigned char other[CL_CRYPTO_KEY_BYTES];
	memcpy(other, test_key, sizeof(other));
	other[31] ^= 1;
	struct cl_crypto *a = from_test_key(1), *b = NULL;
	assert_int_equal(cl_crypto_from_key(other, 1, &b), CL_OK);
	unsigned char sealed[64];
	size_t sealed_len, plain_len;
	char plain[64];
	seal(a, "ticket", 1, "name", "Anna", sealed, &sealed_len);
	assert_int_equal(
	    cl_crypto_open_field(b, "ticket", 1, "name", sealed, sealed_len, plain, &plain_len),
	    CL_ERR_CRYPTO);
	assert_memory_not_equal(cl_crypto_ref_key(a), cl_crypto_ref_key(b), 32);
	cl_crypto_free(a);
	cl_crypto_free(b);
}

static void test_crypto_hash_equal_in_domain_distinct_across(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	unsigned char h1[32], h2[32], h3[32], h4[32];
	cl_crypto_hash(c, "phone", "+4512345678", 11, h1);
	cl_crypto_hash(c, "phone", "+4512345678", 11, h2);
	assert_memory_equal(h1, h2, 32);
	assert_true(cl_crypto_equal(h1, h2, 32));
	cl_crypto_hash(c, "address", "+4512345678", 11, h3);
	assert_memory_not_equal(h1, h3, 32);
	assert_false(cl_crypto_equal(h1, h3, 32));
	cl_crypto_hash(c, "phone", "+4512345679", 11, h4);
	assert_memory_not_equal(h1, h4, 32);
	/* The domain ends at its NUL: ("ab", "c") and ("a", "bc") differ. */
	cl_crypto_hash(c, "ab", "c", 1, h1);
	cl_crypto_hash(c, "a", "bc", 2, h2);
	assert_memory_not_equal(h1, h2, 32);
	/* Empty data is allowed. */
	cl_crypto_hash(c, "phone", NULL, 0, h1);
	cl_crypto_hash(c, "address", NULL, 0, h2);
	assert_memory_not_equal(h1, h2, 32);
	/* Keyed: not the plain digest of the same bytes. */
	cl_crypto_hash(c, "x", "", 0, h1);
	cl_crypto_digest("x", 2, h2);
	assert_memory_not_equal(h1, h2, 32);
	cl_crypto_free(c);
}

static void test_crypto_hash_differs_across_keys(void **state)
{
	unsigned char other[CL_CRYPTO_KEY_BYTES] = {0};
	struct cl_crypto *a = from_test_key(1), *b = NULL, *a2 = from_test_key(9);
	assert_int_equal(cl_crypto_from_key(other, 1, &b), CL_OK);
	unsigned char ha[32], hb[32], ha2[32];
	cl_crypto_hash(a, "address", "norrebrogade 1 2200", 19, ha);
	cl_crypto_hash(b, "address", "norrebrogade 1 2200", 19, hb);
	cl_crypto_hash(a2, "address", "norrebrogade 1 2200", 19, ha2);
	assert_memory_not_equal(ha, hb, 32);
	/* The key id labels values; the hash depends only on the key bytes. */
	assert_memory_equal(ha, ha2, 32);
	cl_crypto_free(a);
	cl_crypto_free(b);
	cl_crypto_free(a2);
}

static void test_crypto_equal_compares_bytes(void **state)
{
	assert_true(cl_crypto_equal("abcd", "abcd", 4));
	assert_false(cl_crypto_equal("abcd", "abce", 4));
	assert_false(cl_crypto_equal("xbcd", "abcd", 4));
	assert_true(cl_crypto_equal("abcd", "abce", 3));
	assert_true(cl_crypto_equal("a", "b", 0));
}

static void test_crypto_digest_is_blake2b_256(void **state)
{
	static const unsigned char empty[32] = {
	    0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2, 0xe8, 0xab, 0x2e,
	    0xb0, 0x60, 0x99, 0xda, 0xa1, 0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f,
	    0x77, 0x87, 0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8,
	};
	static const unsigned char abc[32] = {
	    0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72, 0x31, 0x71, 0xef,
	    0x3f, 0xee, 0x98, 0x57, 0x9b, 0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb,
	    0x3e, 0x42, 0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19,
	};
	unsigned char out[32];
	cl_crypto_digest(NULL, 0, out);
	assert_memory_equal(out, empty, 32);
	cl_crypto_digest("abc", 3, out);
	assert_memory_equal(out, abc, 32);
}

/* --- the field keyring (key rotation) ------------------------------------------- */

struct ring {
	struct tmpdir t;
	char path[128]; /* <key>.keys */
	char tmp[136];  /* <key>.keys.tmp */
};

static void ring_make(struct ring *r)
{
	tmpdir_make(&r->t);
	snprintf(r->path, sizeof(r->path), "%s.keys", r->t.key);
	snprintf(r->tmp, sizeof(r->tmp), "%s.tmp", r->path);
}

static void ring_remove(struct ring *r)
{
	unlink(r->path);
	rmdir(r->tmp); /* a test's obstacle, if any */
	unlink(r->tmp);
	tmpdir_remove(&r->t);
}

static uint32_t header_id(const unsigned char *v)
{
	return (uint32_t)v[1] | (uint32_t)v[2] << 8 | (uint32_t)v[3] << 16 | (uint32_t)v[4] << 24;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	size_t plen = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, plen) == 0)
			n++;
	return n;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void expect_opens(const struct cl_crypto *c, const unsigned char *v, size_t len, int64_t row,
                         const char *want)
{
	char plain[128];
	size_t plain_len;
	assert_int_equal(cl_crypto_open_field(c, "report", row, "text", v, len, plain, &plain_len),
	                 CL_OK);
	assert_string_equal(plain, want);
}

static void expect_refused(const struct cl_crypto *c, const unsigned char *v, size_t len,
                           int64_t row)
{
	char plain[128];
	size_t plain_len;
	assert_int_equal(cl_crypto_open_field(c, "report", row, "text", v, len, plain, &plain_len),
	                 CL_ERR_CRYPTO);
}

static void test_crypto_rotate_seals_with_new_id_and_opens_old(void **state)
{
	struct ring r;
	ring_make(&r);
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &c), CL_OK);
	assert_int_equal(cl_crypto_current_key(c), 1);
	struct stat st;
	assert_int_equal(stat(r.path, &st), -1); /* no keyring until a rotation */

	unsigned char ref_before[32], pk_before[CL_CRYPTO_BOX_KEY_BYTES], h_before[32], h_after[32];
	memcpy(ref_before, cl_crypto_ref_key(c), 32);
	cl_crypto_box_public(c, pk_before);
	cl_crypto_hash(c, "phone", "+4520123456", 11, h_before);

	unsigned char old[64], young[64];
	size_t old_len, young_len;
	seal(c, "report", 5, "text", "før", old, &old_len);
	assert_int_equal(header_id(old), 1);

	char log[2048];
	FILE *f = tmpfile();
	cl_log_set_stream(f);
	uint32_t id = 0;
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	cl_log_set_stream(NULL);
	rewind(f);
	log[fread(log, 1, sizeof(log) - 1, f)] = '\0';
	fclose(f);
	assert_int_equal(id, 2);
	assert_non_null(strstr(log, "event=crypto.key_rotated id=2"));
	assert_int_equal(cl_crypto_current_key(c), 2);

	seal(c, "report", 5, "text", "efter", young, &young_len);
	assert_int_equal(header_id(young), 2);
	expect_opens(c, old, old_len, 5, "før");
	expect_opens(c, young, young_len, 5, "efter");

	/* The hash, ref and box subkeys do not rotate. */
	assert_memory_equal(cl_crypto_ref_key(c), ref_before, 32);
	unsigned char pk_after[CL_CRYPTO_BOX_KEY_BYTES];
	cl_crypto_box_public(c, pk_after);
	assert_memory_equal(pk_after, pk_before, sizeof(pk_after));
	cl_crypto_hash(c, "phone", "+4520123456", 11, h_after);
	assert_memory_equal(h_after, h_before, 32);

	/* The keyring is on disk, 0600, with the new key wrapped (not in clear). */
	assert_int_equal(stat(r.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(r.tmp, &st), -1);
	const char *text = slurp(r.path);
	assert_non_null(strstr(text, "careline-keyring 1\ncurrent 2\n"));
	assert_int_equal(count_lines(text, "key "), 1);
	assert_int_equal(count_lines(text, "key 2 "), 1);
	assert_int_equal(count_lines(text, "retired "), 0);
	assert_int_equal(count_lines(text, "mac "), 1);

	/* A restart reads it back: both values open, new ones use key 2. */
	struct cl_crypto *again = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &again), CL_OK);
	assert_int_equal(cl_crypto_current_key(again), 2);
	uint32_t ids[CL_CRYPTO_MAX_KEYS];
	assert_int_equal(cl_crypto_keys(again, ids), 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	expect_opens(again, old, old_len, 5, "før");
	expect_opens(again, young, young_len, 5, "efter");
	cl_crypto_hash(again, "phone", "+4520123456", 11, h_after);
	assert_memory_equal(h_after, h_before, 32);
	unsigned char v[64];
	size_t v_len;
	seal(again, "report", 6, "text", "x", v, &v_len);
	assert_int_equal(header_id(v), 2);
	cl_crypto_free(again);
	cl_crypto_free(c);
	ring_remove(&r);
}

static void test_crypto_reseal_moves_value_to_current_key(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	unsigned char old[64], moved[64];
	size_t old_len;
	seal(c, "report", 9, "text", "Postkassen flyder over", old, &old_len);
	uint32_t id;
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK); /* in memory: no keyring file */
	assert_int_equal(id, 2);
	uint32_t kid = 0;
	assert_true(cl_crypto_value_key_id(old, old_len, &kid));
	assert_int_equal(kid, 1);
	assert_int_equal(cl_crypto_reseal_field(c, "report", 9, "text", old, old_len, moved),
	                 CL_OK);
	assert_true(cl_crypto_value_key_id(moved, old_len, &kid));
	assert_int_equal(kid, 2);
	expect_opens(c, moved, old_len, 9, "Postkassen flyder over");
	/* Still bound to its row and field. */
	expect_refused(c, moved, old_len, 10);
	/* The wrong binding does not reseal either. */
	assert_int_equal(cl_crypto_reseal_field(c, "report", 10, "text", old, old_len, moved),
	                 CL_ERR_CRYPTO);
	assert_false(cl_crypto_value_key_id(old, CL_CRYPTO_OVERHEAD - 1, &kid));
	cl_crypto_free(c);
}

static void test_crypto_retire_drops_old_keys_for_good(void **state)
{
	struct ring r;
	ring_make(&r);
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &c), CL_OK);
	unsigned char v1[64], v2[64], v3[64];
	size_t l1, l2, l3;
	uint32_t id;
	seal(c, "report", 1, "text", "one", v1, &l1);
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	seal(c, "report", 2, "text", "two", v2, &l2);
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	assert_int_equal(id, 3);
	seal(c, "report", 3, "text", "three", v3, &l3);

	/* Never the current key; never one not held. */
	uint32_t bad = 3;
	assert_int_equal(cl_crypto_retire(c, &bad, 1), CL_ERR_INVALID);
	bad = 9;
	assert_int_equal(cl_crypto_retire(c, &bad, 1), CL_ERR_NOTFOUND);
	assert_int_equal(cl_crypto_current_key(c), 3);

	char log[2048];
	FILE *f = tmpfile();
	cl_log_set_stream(f);
	uint32_t old[] = {1, 2};
	assert_int_equal(cl_crypto_retire(c, old, 2), CL_OK);
	cl_log_set_stream(NULL);
	rewind(f);
	log[fread(log, 1, sizeof(log) - 1, f)] = '\0';
	fclose(f);
	assert_non_null(strstr(log, "event=crypto.key_retired id=1"));
	assert_non_null(strstr(log, "event=crypto.key_retired id=2"));
	assert_true(cl_crypto_master_key_retired(c));
	uint32_t ids[CL_CRYPTO_MAX_KEYS];
	assert_int_equal(cl_crypto_keys(c, ids), 1);
	assert_int_equal(ids[0], 3);
	expect_refused(c, v1, l1, 1);
	expect_refused(c, v2, l2, 2);
	expect_opens(c, v3, l3, 3, "three");

	/* The file holds only the current key and the master key's flag. */
	const char *text = slurp(r.path);
	assert_non_null(strstr(text, "careline-keyring 1\ncurrent 3\nretired 1\nkey 3 "));
	assert_int_equal(count_lines(text, "key "), 1);

	/* And it stays so after a restart. */
	struct cl_crypto *again = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &again), CL_OK);
	assert_int_equal(cl_crypto_keys(again, ids), 1);
	assert_int_equal(ids[0], 3);
	assert_true(cl_crypto_master_key_retired(again));
	expect_refused(again, v1, l1, 1);
	expect_opens(again, v3, l3, 3, "three");
	/* Ids are never reused: the next one is 4. */
	assert_int_equal(cl_crypto_rotate(again, &id), CL_OK);
	assert_int_equal(id, 4);
	cl_crypto_free(again);
	cl_crypto_free(c);
	ring_remove(&r);
}

static void test_crypto_refuses_unknown_key_id(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	uint32_t id;
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	unsigned char v[64], out[64];
	size_t len;
	seal(c, "report", 4, "text", "hemmeligt", v, &len);
	v[1] = 7; /* a key id nobody holds */
	expect_refused(c, v, len, 4);
	assert_int_equal(cl_crypto_reseal_field(c, "report", 4, "text", v, len, out),
	                 CL_ERR_CRYPTO);
	v[0] = 2; /* an unknown format version */
	v[1] = 2;
	expect_refused(c, v, len, 4);
	cl_crypto_free(c);
}

static void test_crypto_rotate_refused_when_keyring_full(void **state)
{
	struct cl_crypto *c = from_test_key(1);
	uint32_t id;
	for (int i = 1; i < CL_CRYPTO_MAX_KEYS; i++)
		assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	assert_int_equal(id, CL_CRYPTO_MAX_KEYS);
	assert_int_equal(cl_crypto_rotate(c, &id), CL_ERR_CONFLICT);
	assert_int_equal(id, 0);
	assert_int_equal(cl_crypto_current_key(c), CL_CRYPTO_MAX_KEYS);
	cl_crypto_free(c);
}

static void test_crypto_rotate_write_failure_changes_nothing(void **state)
{
	struct ring r;
	ring_make(&r);
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &c), CL_OK);
	/* The temp file's name taken by a directory: the write fails (even as root). */
	assert_int_equal(mkdir(r.tmp, 0700), 0);
	char log[2048];
	FILE *f = tmpfile();
	cl_log_set_stream(f);
	uint32_t id = 99;
	assert_int_equal(cl_crypto_rotate(c, &id), CL_ERR_IO);
	cl_log_set_stream(NULL);
	rewind(f);
	log[fread(log, 1, sizeof(log) - 1, f)] = '\0';
	fclose(f);
	assert_non_null(strstr(log, "event=crypto.keyring_write_failed"));
	assert_int_equal(id, 0);
	assert_int_equal(cl_crypto_current_key(c), 1);
	unsigned char v[64];
	size_t len;
	seal(c, "report", 1, "text", "x", v, &len);
	assert_int_equal(header_id(v), 1);
	struct stat st;
	assert_int_equal(stat(r.path, &st), -1);
	cl_crypto_free(c);
	ring_remove(&r);
}

static void test_crypto_keyring_refused_when_group_readable(void **state)
{
	struct ring r;
	ring_make(&r);
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &c), CL_OK);
	uint32_t id;
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	cl_crypto_free(c);
	assert_int_equal(chmod(r.path, 0640), 0);
	char log[1024];
	c = (struct cl_crypto *)1;
	assert_int_equal(open_logged(r.t.key, &c, log, sizeof(log)), CL_ERR_CRYPTO);
	assert_null(c);
	assert_non_null(strstr(log, "event=crypto.keyring_refused"));
	assert_non_null(strstr(log, "reason=group_or_other_permissions"));
	assert_int_equal(chmod(r.path, 0600), 0);
	assert_int_equal(cl_crypto_open(r.t.key, &c), CL_OK);
	assert_int_equal(cl_crypto_current_key(c), 2);
	cl_crypto_free(c);
	ring_remove(&r);
}

/* Replace the keyring's bytes and expect it refused for reason. */
static void expect_keyring_refused(struct ring *r, const char *text, size_t len, const char *reason)
{
	unlink(r->path);
	write_file(r->path, text, len, 0600);
	struct cl_crypto *c = (struct cl_crypto *)1;
	char log[1024];
	assert_int_equal(open_logged(r->t.key, &c, log, sizeof(log)), CL_ERR_CRYPTO);
	assert_null(c);
	assert_non_null(strstr(log, "event=crypto.keyring_refused"));
	assert_non_null(strstr(log, r->path));
	if (!strstr(log, reason))
		fail_msg("expected %s in: %s", reason, log);
	/* One line, no key material. */
	assert_null(strchr(strchr(log, '\n') + 1, '\n'));
	assert_null(strstr(log, "key 2 "));
}

static void test_crypto_keyring_refused_when_damaged(void **state)
{
	struct ring r;
	ring_make(&r);
	struct cl_crypto *c = NULL;
	assert_int_equal(cl_crypto_open(r.t.key, &c), CL_OK);
	uint32_t id;
	assert_int_equal(cl_crypto_rotate(c, &id), CL_OK);
	cl_crypto_free(c);
	char good[8192];
	snprintf(good, sizeof(good), "%s", slurp(r.path));
	size_t len = strlen(good);
	char bad[8192];

	/* Any edit of the authenticated part: "current 2" -> "current 1". */
	memcpy(bad, good, len + 1);
	*strstr(bad, "current 2") = 'C';
	expect_keyring_refused(&r, bad, len, "reason=bad_authenticator");
	memcpy(bad, good, len + 1);
	strstr(bad, "current 2")[8] = '1';
	expect_keyring_refused(&r, bad, len, "reason=bad_authenticator");
	/* A flipped bit in the wrapped key. */
	memcpy(bad, good, len + 1);
	char *k = strstr(bad, "key 2 ") + 10;
	*k = *k == 'A' ? 'B' : 'A';
	expect_keyring_refused(&r, bad, len, "reason=bad_authenticator");
	/* Cut short: no authenticator. */
	expect_keyring_refused(&r, good, (size_t)(strstr(good, "mac ") - good),
	                       "reason=no_authenticator");
	expect_keyring_refused(&r, good, len - 5, "reason=truncated");
	expect_keyring_refused(&r, "", 0, "reason=wrong_size");
	expect_keyring_refused(&r, "hello\n", 6, "reason=no_authenticator");

	/* Another installation's master key: the authenticator does not match. */
	unlink(r.path);
	write_file(r.path, good, len, 0600);
	unsigned char other[CL_CRYPTO_KEY_BYTES];
	memset(other, 0x5a, sizeof(other));
	assert_int_equal(unlink(r.t.key), 0);
	write_file(r.t.key, other, sizeof(other), 0600);
	expect_keyring_refused(&r, good, len, "reason=bad_authenticator");
	ring_remove(&r);
}

static void test_crypto_hex_round_trip_and_strict_decode(void **state)
{
	(void)state;
	const unsigned char bin[4] = {0x00, 0x9f, 0xa0, 0xff};
	char hex[9];
	cl_crypto_hex_encode(bin, sizeof(bin), hex);
	assert_string_equal(hex, "009fa0ff");
	unsigned char back[4];
	assert_int_equal(cl_crypto_hex_decode(hex, back, sizeof(back)), CL_OK);
	assert_memory_equal(back, bin, sizeof(bin));
	assert_int_equal(cl_crypto_hex_decode("009FA0FF", back, sizeof(back)), CL_OK);
	assert_memory_equal(back, bin, sizeof(bin));
	const char *bad[] = {"",         "009fa0f",   "009fa0ff0", "009fa0fg",
	                     "009f a0f", "009fa0f\n", "+09fa0ff"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(cl_crypto_hex_decode(bad[k], back, sizeof(back)), CL_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crypto_key_file_created_0600),
	    cmocka_unit_test(test_crypto_key_file_reopened_gives_same_key),
	    cmocka_unit_test(test_crypto_key_file_refused_when_group_readable),
	    cmocka_unit_test(test_crypto_key_file_refused_when_wrong_size),
	    cmocka_unit_test(test_crypto_key_file_refused_when_directory),
	    cmocka_unit_test(test_crypto_key_file_missing_directory_is_io_error),
	    cmocka_unit_test(test_crypto_seal_open_round_trip),
	    cmocka_unit_test(test_crypto_seal_layout_matches_header),
	    cmocka_unit_test(test_crypto_seal_open_empty_value),
	    cmocka_unit_test(test_crypto_seal_open_64k_binary_value),
	    cmocka_unit_test(test_crypto_open_fails_for_other_table_row_or_field),
	    cmocka_unit_test(test_crypto_open_fails_for_any_tampered_byte),
	    cmocka_unit_test(test_crypto_open_fails_for_unknown_key_id),
	    cmocka_unit_test(test_crypto_open_fails_for_other_key),
	    cmocka_unit_test(test_crypto_hash_equal_in_domain_distinct_across),
	    cmocka_unit_test(test_crypto_hash_differs_across_keys),
	    cmocka_unit_test(test_crypto_equal_compares_bytes),
	    cmocka_unit_test(test_crypto_digest_is_blake2b_256),
	    cmocka_unit_test(test_crypto_rotate_seals_with_new_id_and_opens_old),
	    cmocka_unit_test(test_crypto_reseal_moves_value_to_current_key),
	    cmocka_unit_test(test_crypto_retire_drops_old_keys_for_good),
	    cmocka_unit_test(test_crypto_refuses_unknown_key_id),
	    cmocka_unit_test(test_crypto_rotate_refused_when_keyring_full),
	    cmocka_unit_test(test_crypto_rotate_write_failure_changes_nothing),
	    cmocka_unit_test(test_crypto_keyring_refused_when_group_readable),
	    cmocka_unit_test(test_crypto_keyring_refused_when_damaged),
	    cmocka_unit_test(test_crypto_hex_round_trip_and_strict_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
