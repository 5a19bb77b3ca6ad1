/*
 * tests/unit/crypto_test.c: the key file (created 0600, reopened, refused when
 * too open or the wrong size), field encryption bound to table/row/field and
 * key id, tamper detection, keyed and unkeyed hashes (core/crypto.c).
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
