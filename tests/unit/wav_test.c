/*
 * tests/unit/wav_test.c: the prompt player (gateway/wav.c): pieces joined
 * with silent gaps under a canonical header, extra chunks skipped, truncated,
 * non-PCM and mismatched files refused, Danish fallback, name checks, the size
 * cap, read-once caching, and the prompts `make` builds from config/texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../gateway/wav.h"
#include "careline/log.h"

#define MAX_FILES 32

struct fixture {
	char dir[64];
	char files[MAX_FILES][128];
	size_t n_files;
	FILE *log;
	struct gw_prompts *p;
};

/* How to build a test WAV; zero fields take the defaults (PCM 16-bit mono 1000 Hz). */
struct spec {
	uint16_t tag;
	uint16_t channels;
	uint16_t bits;
	uint32_t rate;
	bool list_before_fmt; /* a LIST chunk of odd size before "fmt " */
	bool list_after_fmt;  /* ... and/or between "fmt " and "data" */
};

static void put16(unsigned char *b, uint16_t v)
{
	b[0] = (unsigned char)(v & 0xff);
	b[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *b, uint32_t v)
{
	put16(b, (uint16_t)(v & 0xffff));
	put16(b + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get32(const unsigned char *b)
{
	return (uint32_t)get16(b) | (uint32_t)get16(b + 2) << 16;
}

/* Appends a chunk (id, size, body, pad byte if odd) at b + *pos. */
static void put_chunk(unsigned char *b, size_t *pos, const char *id, const void *body, size_t len)
{
	memcpy(b + *pos, id, 4);
	put32(b + *pos + 4, (uint32_t)len);
	memcpy(b + *pos + 8, body, len);
	*pos += 8 + len;
	if (len & 1)
		b[(*pos)++] = 0;
}

/* Builds a WAV of the given samples into b (at least 128 + 2 * n bytes). */
static size_t build_wav(unsigned char *b, const struct spec *s, const int16_t *samples, size_t n)
{
	uint16_t channels = s->channels ? s->channels : 1;
	uint16_t bits = s->bits ? s->bits : 16;
	uint32_t rate = s->rate ? s->rate : 1000;
	uint16_t align = (uint16_t)(channels * bits / 8);
	static const char info[] = "INFOISFT\x05\0\0\0test"; /* odd: 17 bytes */
	unsigned char fmt[16];
	put16(fmt, s->tag ? s->tag : 1);
	put16(fmt + 2, channels);
	put32(fmt + 4, rate);
	put32(fmt + 8, rate * align);
	put16(fmt + 12, align);
	put16(fmt + 14, bits);
	size_t pos = 12;
	memcpy(b, "RIFF", 4);
	memcpy(b + 8, "WAVE", 4);
	if (s->list_before_fmt)
		put_chunk(b, &pos, "LIST", info, sizeof(info) - 1);
	put_chunk(b, &pos, "fmt ", fmt, sizeof(fmt));
	if (s->list_after_fmt)
		put_chunk(b, &pos, "LIST", info, sizeof(info) - 1);
	unsigned char data[256];
	assert_true(2 * n <= sizeof(data));
	for (size_t i = 0; i < n; i++)
		put16(data + 2 * i, (uint16_t)samples[i]);
	put_chunk(b, &pos, "data", data, 2 * n);
	put32(b + 4, (uint32_t)(pos - 8));
	return pos;
}

static void write_raw(struct fixture *fx, const char *lang, const char *name, const void *b,
                      size_t len)
{
	assert_true(fx->n_files < MAX_FILES);
	char path[sizeof(fx->files[0])];
	snprintf(path, sizeof(path), "%s/%s/%s.wav", fx->dir, lang, name);
	memcpy(fx->files[fx->n_files++], path, sizeof(path));
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static void write_wav(struct fixture *fx, const char *lang, const char *name, const struct spec *s,
                      const int16_t *samples, size_t n)
{
	unsigned char b[640];
	write_raw(fx, lang, name, b, build_wav(b, s, samples, n));
}

static const struct spec pcm = {0};
static const int16_t s_a[] = {1, 2, 3};
static const int16_t s_b[] = {-1, -2};
static const int16_t s_en[] = {100, 200, 300, 400};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	const char *base = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/wav_test.XXXXXX", base && base[0] ? base : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/da", fx->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/en", fx->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_wav(fx, "da", "a", &pcm, s_a, 3);
	write_wav(fx, "da", "b", &pcm, s_b, 2);
	write_wav(fx, "en", "a", &pcm, s_en, 4);
	fx->log = tmpfile();
	assert_non_null(fx->log);
	cl_log_set_stream(fx->log);
	assert_int_equal(gw_prompts_open(fx->dir, &fx->p), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	gw_prompts_free(fx->p);
	cl_log_set_stream(NULL);
	fclose(fx->log);
	for (size_t i = 0; i < fx->n_files; i++)
		unlink(fx->files[i]);
	char sub[96];
	snprintf(sub, sizeof(sub), "%s/da", fx->dir);
	assert_int_equal(rmdir(sub), 0);
	snprintf(sub, sizeof(sub), "%s/en", fx->dir);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(rmdir(fx->dir), 0);
	free(fx);
	return 0;
}

static bool log_contains(struct fixture *fx, const char *s)
{
	char buf[4096];
	fflush(fx->log);
	rewind(fx->log);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fx->log);
	buf[n] = '\0';
	fseek(fx->log, 0, SEEK_END);
	return strstr(buf, s) != NULL;
}

static int render(struct fixture *fx, const char *lang, const char *const *names, size_t n,
                  int gap_ms, unsigned char **out, size_t *len)
{
	*out = (unsigned char *)"not reset";
	*len = 12345;
	int rc = gw_prompts_render(fx->p, lang, names, n, gap_ms, out, len);
	if (rc != 0) {
		assert_null(*out);
		assert_int_equal(*len, 0);
	}
	return rc;
}

/* Checks the canonical 44-byte header and returns the data length. */
static uint32_t check_header(const unsigned char *w, size_t len, uint16_t channels, uint32_t rate,
                             uint16_t bits)
{
	assert_true(len >= 44);
	assert_memory_equal(w, "RIFF", 4);
	assert_int_equal(get32(w + 4), len - 8);
	assert_memory_equal(w + 8, "WAVEfmt ", 8);
	assert_int_equal(get32(w + 16), 16);
	assert_int_equal(get16(w + 20), 1);
	assert_int_equal(get16(w + 22), channels);
	assert_int_equal(get32(w + 24), rate);
	assert_int_equal(get32(w + 28), rate * channels * bits / 8);
	assert_int_equal(get16(w + 32), channels * bits / 8);
	assert_int_equal(get16(w + 34), bits);
	assert_memory_equal(w + 36, "data", 4);
	assert_int_equal(get32(w + 40), len - 44);
	return get32(w + 40);
}

static void test_wav_joins_pieces_with_silent_gap(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"a", "b", "a"};
	unsigned char *w;
	size_t len;
	/* 5 ms at 1000 Hz: 5 frames of 2 bytes between pieces. */
	assert_int_equal(render(fx, "da", names, 3, 5, &w, &len), 0);
	assert_int_equal(len, 44 + 6 + 10 + 4 + 10 + 6);
	check_header(w, len, 1, 1000, 16);
	const unsigned char *d = w + 44;
	const unsigned char a[] = {1, 0, 2, 0, 3, 0};
	const unsigned char b[] = {0xff, 0xff, 0xfe, 0xff};
	const unsigned char zero[10] = {0};
	assert_memory_equal(d, a, 6);
	assert_memory_equal(d + 6, zero, 10);
	assert_memory_equal(d + 16, b, 4);
	assert_memory_equal(d + 20, zero, 10);
	assert_memory_equal(d + 30, a, 6);
	free(w);
}

static void test_wav_single_piece_without_gap(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"b"};
	unsigned char *w;
	size_t len;
	assert_int_equal(render(fx, "da", names, 1, 250, &w, &len), 0);
	assert_int_equal(len, 44 + 4);
	check_header(w, len, 1, 1000, 16);
	free(w);
	const char *two[] = {"a", "b"};
	assert_int_equal(render(fx, "da", two, 2, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 6 + 4);
	free(w);
}

static void test_wav_skips_list_chunks(void **state)
{
	struct fixture *fx = *state;
	write_wav(fx, "da", "listed",
	          &(struct spec){.list_before_fmt = true, .list_after_fmt = true}, s_a, 3);
	write_wav(fx, "da", "listed2", &(struct spec){.list_after_fmt = true}, s_b, 2);
	const char *names[] = {"listed", "listed2"};
	unsigned char *w;
	size_t len;
	assert_int_equal(render(fx, "da", names, 2, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 6 + 4);
	check_header(w, len, 1, 1000, 16);
	const unsigned char want[] = {1, 0, 2, 0, 3, 0, 0xff, 0xff, 0xfe, 0xff};
	assert_memory_equal(w + 44, want, sizeof(want));
	free(w);
}

static void test_wav_gap_follows_format(void **state)
{
	struct fixture *fx = *state;
	const struct spec stereo = {.channels = 2, .rate = 2000};
	write_wav(fx, "da", "st", &stereo, s_en, 4); /* 2 frames */
	const struct spec u8 = {.bits = 8, .rate = 1000};
	unsigned char b[128];
	const int16_t two_bytes[] = {0x7f81}; /* samples 0x81, 0x7f */
	write_raw(fx, "da", "u8", b, build_wav(b, &u8, two_bytes, 1));
	const char *st[] = {"st", "st"};
	unsigned char *w;
	size_t len;
	/* 10 ms at 2000 Hz: 20 frames of 4 bytes. */
	assert_int_equal(render(fx, "da", st, 2, 10, &w, &len), 0);
	assert_int_equal(len, 44 + 8 + 80 + 8);
	check_header(w, len, 2, 2000, 16);
	free(w);
	/* 8-bit PCM is unsigned: its silence is 0x80. */
	const char *u[] = {"u8", "u8"};
	assert_int_equal(render(fx, "da", u, 2, 3, &w, &len), 0);
	assert_int_equal(len, 44 + 2 + 3 + 2);
	check_header(w, len, 1, 1000, 8);
	const unsigned char want[] = {0x81, 0x7f, 0x80, 0x80, 0x80, 0x81, 0x7f};
	assert_memory_equal(w + 44, want, sizeof(want));
	free(w);
}

static void test_wav_missing_piece_fails(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"a", "nope", "b"};
	unsigned char *w;
	size_t len;
	assert_int_equal(render(fx, "da", names, 3, 0, &w, &len), -1);
	assert_true(log_contains(fx, "event=prompt.missing lang=da name=nope"));
	assert_int_equal(render(fx, "en", names, 3, 0, &w, &len), -1);
}

static void test_wav_english_falls_back_to_danish(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"a", "b"};
	unsigned char *w;
	size_t len;
	/* "a" exists in English, "b" only in Danish. */
	assert_int_equal(render(fx, "en", names, 2, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 8 + 4);
	const unsigned char want[] = {100, 0, 200, 0, 44, 1, 144, 1, 0xff, 0xff, 0xfe, 0xff};
	assert_memory_equal(w + 44, want, sizeof(want));
	free(w);
	/* Danish never looks at English. */
	assert_int_equal(render(fx, "da", names, 2, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 6 + 4);
	free(w);
}

static void test_wav_unknown_language_refused(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"a"};
	unsigned char *w;
	size_t len;
	assert_int_equal(render(fx, "de", names, 1, 0, &w, &len), -1);
	assert_int_equal(render(fx, "", names, 1, 0, &w, &len), -1);
	assert_int_equal(render(fx, "da/..", names, 1, 0, &w, &len), -1);
	assert_int_equal(render(fx, NULL, names, 1, 0, &w, &len), -1);
}

static void test_wav_invalid_names_refused(void **state)
{
	struct fixture *fx = *state;
	char long48[49], long49[50];
	memset(long48, 'x', 48);
	long48[48] = '\0';
	memset(long49, 'x', 49);
	long49[49] = '\0';
	write_wav(fx, "da", long48, &pcm, s_a, 3);
	const char *bad[] = {"", "a-b", "../da/a", "a b", "a.wav", "\xc3\xa6", long49, NULL};
	unsigned char *w;
	size_t len;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *names[] = {"a", bad[i]};
		assert_int_equal(render(fx, "da", names, 2, 0, &w, &len), -1);
	}
	const char *good[] = {long48, "a"};
	assert_int_equal(render(fx, "da", good, 2, 0, &w, &len), 0);
	free(w);
	/* No names, a negative gap, no output pointers. */
	assert_int_equal(render(fx, "da", good, 0, 0, &w, &len), -1);
	assert_int_equal(render(fx, "da", good, 2, -1, &w, &len), -1);
	assert_int_equal(gw_prompts_render(fx->p, "da", good, 2, 0, NULL, &len), -1);
}

static void test_wav_format_mismatch_refused(void **state)
{
	struct fixture *fx = *state;
	write_wav(fx, "da", "fast", &(struct spec){.rate = 2000}, s_a, 3);
	write_wav(fx, "da", "stereo", &(struct spec){.channels = 2}, s_en, 4);
	unsigned char *w;
	size_t len;
	const char *alone[] = {"fast"};
	assert_int_equal(render(fx, "da", alone, 1, 0, &w, &len), 0);
	check_header(w, len, 1, 2000, 16);
	free(w);
	const char *rate[] = {"a", "fast"};
	assert_int_equal(render(fx, "da", rate, 2, 0, &w, &len), -1);
	assert_true(log_contains(fx, "event=prompt.format_mismatch"));
	const char *channels[] = {"stereo", "a"};
	assert_int_equal(render(fx, "da", channels, 2, 0, &w, &len), -1);
}

static void test_wav_truncated_files_refused(void **state)
{
	struct fixture *fx = *state;
	unsigned char b[640];
	size_t n = build_wav(b, &pcm, s_en, 4);
	/* Cut in the data chunk: RIFF size and data size promise more. */
	write_raw(fx, "da", "cut_data", b, n - 3);
	/* Sizes patched to match the cut, but the data chunk still claims 8 bytes. */
	unsigned char c[640];
	memcpy(c, b, n);
	put32(c + 4, (uint32_t)(n - 2 - 8));
	write_raw(fx, "da", "cut_chunk", c, n - 2);
	/* Cut inside the header. */
	write_raw(fx, "da", "cut_header", b, 20);
	write_raw(fx, "da", "empty", b, 0);
	/* A data chunk of half a frame. */
	memcpy(c, b, n);
	put32(c + 40, 7);
	put32(c + 4, (uint32_t)(n - 1 - 8));
	write_raw(fx, "da", "half_frame", c, n - 1);
	const char *names[] = {"cut_data", "cut_chunk", "cut_header", "empty", "half_frame"};
	unsigned char *w;
	size_t len;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *one[] = {names[i]};
		assert_int_equal(render(fx, "da", one, 1, 0, &w, &len), -1);
	}
	assert_true(log_contains(fx, "name=cut_data reason=truncated"));
	assert_true(log_contains(fx, "name=cut_chunk reason=truncated"));
	assert_true(log_contains(fx, "name=half_frame reason=partial_frame"));
	/* Extra bytes after the RIFF chunk are ignored. */
	memcpy(c, b, n);
	memcpy(c + n, "junk", 4);
	write_raw(fx, "da", "trailing", c, n + 4);
	const char *ok[] = {"trailing"};
	assert_int_equal(render(fx, "da", ok, 1, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 8);
	free(w);
}

static void test_wav_non_pcm_refused(void **state)
{
	struct fixture *fx = *state;
	write_wav(fx, "da", "float", &(struct spec){.tag = 3, .bits = 32}, s_en, 4);
	write_wav(fx, "da", "extensible", &(struct spec){.tag = 0xfffe}, s_a, 3);
	write_raw(fx, "da", "text", "RIFF\x04\0\0\0TEXT", 12);
	unsigned char b[640];
	size_t n = build_wav(b, &pcm, s_a, 3);
	memcpy(b + 12, "fmX ", 4); /* no fmt chunk before data */
	write_raw(fx, "da", "nofmt", b, n);
	const char *names[] = {"float", "extensible", "text", "nofmt"};
	unsigned char *w;
	size_t len;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *one[] = {"a", names[i]};
		assert_int_equal(render(fx, "da", one, 2, 0, &w, &len), -1);
	}
	assert_true(log_contains(fx, "name=float reason=not_pcm"));
	assert_true(log_contains(fx, "name=text reason=not_riff_wave"));
	assert_true(log_contains(fx, "name=nofmt reason=data_before_fmt"));
}

static void test_wav_size_cap(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"a", "b"};
	unsigned char *w;
	size_t len;
	/* 2 bytes per ms at 1000 Hz: a gap just under the cap fits, one over does not. */
	int fits = (int)((GW_WAV_MAX_BYTES - 44 - 10) / 2);
	assert_int_equal(render(fx, "da", names, 2, fits, &w, &len), 0);
	assert_int_equal(len, GW_WAV_MAX_BYTES);
	check_header(w, len, 1, 1000, 16);
	free(w);
	assert_int_equal(render(fx, "da", names, 2, fits + 1, &w, &len), -1);
	assert_int_equal(render(fx, "da", names, 2, 2147483647, &w, &len), -1);
	/* Many gaps add up too. */
	const char *many[] = {"a", "a", "a", "a", "a"};
	assert_int_equal(render(fx, "da", many, 5, fits / 3, &w, &len), -1);
}

static void test_wav_files_are_read_once(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"a", "later"};
	unsigned char *w;
	size_t len;
	const char *one[] = {"a"};
	assert_int_equal(render(fx, "da", one, 1, 0, &w, &len), 0);
	free(w);
	assert_int_equal(render(fx, "da", names, 2, 0, &w, &len), -1);
	/* Changed or added files are not seen until the prompts are reopened. */
	write_wav(fx, "da", "a", &pcm, s_b, 2);
	write_wav(fx, "da", "later", &pcm, s_b, 2);
	assert_int_equal(render(fx, "da", one, 1, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 6);
	free(w);
	assert_int_equal(render(fx, "da", names, 2, 0, &w, &len), -1);
	gw_prompts_free(fx->p);
	assert_int_equal(gw_prompts_open(fx->dir, &fx->p), 0);
	assert_int_equal(render(fx, "da", names, 2, 0, &w, &len), 0);
	assert_int_equal(len, 44 + 4 + 4);
	free(w);
}

static void test_wav_open_needs_a_directory(void **state)
{
	struct fixture *fx = *state;
	struct gw_prompts *p = (struct gw_prompts *)fx;
	char path[128];
	snprintf(path, sizeof(path), "%s/missing", fx->dir);
	assert_int_equal(gw_prompts_open(path, &p), -1);
	assert_null(p);
	snprintf(path, sizeof(path), "%s/da/a.wav", fx->dir);
	assert_int_equal(gw_prompts_open(path, &p), -1);
	assert_int_equal(gw_prompts_open(NULL, &p), -1);
	gw_prompts_free(NULL);
}

/* The prompts `make` builds with config/prompts.sh (skipped before that). */
static void test_wav_built_prompts_join(void **state)
{
	const char *dir = "config/prompts";
	struct stat st;
	if (stat("config/prompts/da/greeting.wav", &st) != 0) {
		print_message("no config/prompts/da/greeting.wav: run `make prompts`\n");
		skip();
	}
	struct stat menu;
	assert_int_equal(stat("config/prompts/da/menu.wav", &menu), 0);
	struct gw_prompts *p = NULL;
	assert_int_equal(gw_prompts_open(dir, &p), 0);
	const char *names[] = {"greeting", "menu"};
	unsigned char *w = NULL;
	size_t len = 0;
	assert_int_equal(gw_prompts_render(p, "da", names, 2, 300, &w, &len), 0);
	uint32_t data = check_header(w, len, 1, get32(w + 24), 16);
	uint32_t rate = get32(w + 24);
	assert_true(rate >= 8000 && rate <= 48000);
	assert_true(len > (size_t)st.st_size && len > (size_t)menu.st_size);
	/* Both are several seconds long. */
	assert_true(data / 2 / rate >= 10);
	free(w);
	/* A template's pieces and the ref alphabet join in English too. */
	const char *ref[] = {"ref_0", "char_K", "char_7", "ref_1", "char_K", "char_7", "ref_2"};
	assert_int_equal(gw_prompts_render(p, "en", ref, 7, 200, &w, &len), 0);
	check_header(w, len, 1, rate, 16);
	free(w);
	gw_prompts_free(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_wav_joins_pieces_with_silent_gap),
	    T(test_wav_single_piece_without_gap),
	    T(test_wav_skips_list_chunks),
	    T(test_wav_gap_follows_format),
	    T(test_wav_missing_piece_fails),
	    T(test_wav_english_falls_back_to_danish),
	    T(test_wav_unknown_language_refused),
	    T(test_wav_invalid_names_refused),
	    T(test_wav_format_mismatch_refused),
	    T(test_wav_truncated_files_refused),
	    T(test_wav_non_pcm_refused),
	    T(test_wav_size_cap),
	    T(test_wav_files_are_read_once),
	    T(test_wav_open_needs_a_directory),
	    cmocka_unit_test(test_wav_built_prompts_join),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
