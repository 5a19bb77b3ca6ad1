/*
 * gateway/wav.c owns the prompt cache: each <dir>/<lang>/<name>.wav read once
 * into memory (or remembered as missing or unusable), the RIFF/WAVE parsing
 * and the joining of pieces into one WAV. Reads files only: no sockets, no
 * database. The IVR (gateway/ivr*.c) renders through it; config/prompts.sh
 * writes the files.
 */
#include "wav.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "careline/log.h"

#define NAME_MAX_LEN  48
#define HEADER_LEN    44
#define FALLBACK_LANG "da"
/* A piece file whose samples could not fit in a rendered WAV is unusable;
 * the slack is for the header and extra chunks (LIST and the like). */
#define FILE_MAX_BYTES (GW_WAV_MAX_BYTES + 64u * 1024)

struct wav_fmt {
	uint16_t channels;
	uint32_t rate;
	uint16_t bits;
	uint16_t block_align; /* bytes per frame: channels * bits / 8 */
};

enum piece_state {
	PIECE_OK,     /* file holds the samples */
	PIECE_ABSENT, /* no such file */
	PIECE_BAD,    /* not a PCM WAV we can use (logged once, at load) */
};

/* One cached lookup of lang/name. */
struct piece {
	char lang[3];
	char name[NAME_MAX_LEN + 1];
	enum piece_state state;
	struct wav_fmt fmt;
	unsigned char *file; /* the whole file, owned; NULL unless PIECE_OK */
	size_t off, len;     /* where its sample bytes are in file */
};

struct gw_prompts {
	char *dir; /* owned */
	struct piece *v;
	size_t n, cap;
};

/* --- RIFF/WAVE ---------------------------------------------------------------- */

static uint16_t rd16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t rd32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr16(unsigned char *b, uint16_t v)
{
	b[0] = (unsigned char)(v & 0xff);
	b[1] = (unsigned char)(v >> 8);
}

static void wr32(unsigned char *b, uint32_t v)
{
	wr16(b, (uint16_t)(v & 0xffff));
	wr16(b + 2, (uint16_t)(v >> 16));
}

/* Finds the format and the sample bytes of a RIFF/WAVE file: chunks walked in
 * order, "fmt " (PCM, format tag 1) before "data", other chunks skipped.
 * Returns NULL, or why the file is unusable (a log value). */
static const char *wav_parse(const unsigned char *b, size_t len, struct wav_fmt *fmt, size_t *off,
                             size_t *dlen)
{
	if (len < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0)
		return "not_riff_wave";
	uint32_t riff = rd32(b + 4);
	if (riff < 4 || riff > len - 8)
		return "truncated";
	size_t end = (size_t)riff + 8; /* bytes after the RIFF chunk are ignored */
	size_t pos = 12;
	bool have_fmt = false;
	while (end - pos >= 8) {
		const unsigned char *c = b + pos;
		uint32_t size = rd32(c + 4);
		pos += 8;
		if (size > end - pos)
			return "truncated";
		if (memcmp(c, "fmt ", 4) == 0) {
			if (have_fmt)
				return "two_fmt_chunks";
			if (size < 16)
				return "short_fmt_chunk";
			if (rd16(c + 8) != 1)
				return "not_pcm";
			fmt->channels = rd16(c + 10);
			fmt->rate = rd32(c + 12);
			fmt->block_align = rd16(c + 20);
			fmt->bits = rd16(c + 22);
			if (fmt->channels == 0 || fmt->rate == 0 || fmt->bits == 0 ||
			    fmt->bits % 8 != 0 || fmt->bits > 32 ||
			    fmt->block_align != (uint32_t)fmt->channels * fmt->bits / 8)
				return "bad_fmt_chunk";
			have_fmt = true;
		} else if (memcmp(c, "data", 4) == 0) {
			if (!have_fmt)
				return "data_before_fmt";
			if (size % fmt->block_align != 0)
				return "partial_frame";
			*off = pos;
			*dlen = size;
			return NULL;
		}
		pos += size;
		if ((size & 1) && pos < end) /* chunks are padded to even sizes */
			pos++;
	}
	return have_fmt ? "no_data_chunk" : "no_fmt_chunk";
}

static void wav_header(unsigned char *h, const struct wav_fmt *fmt, uint32_t data_len)
{
	memcpy(h, "RIFF", 4);
	wr32(h + 4, HEADER_LEN - 8 + data_len);
	memcpy(h + 8, "WAVEfmt ", 8);
	wr32(h + 16, 16);
	wr16(h + 20, 1);
	wr16(h + 22, fmt->channels);
	wr32(h + 24, fmt->rate);
	wr32(h + 28, fmt->rate * fmt->block_align);
	wr16(h + 32, fmt->block_align);
	wr16(h + 34, fmt->bits);
	memcpy(h + 36, "data", 4);
	wr32(h + 40, data_len);
}

static bool same_fmt(const struct wav_fmt *a, const struct wav_fmt *b)
{
	return a->channels == b->channels && a->rate == b->rate && a->bits == b->bits;
}

/* --- files -------------------------------------------------------------------- */

/* Reads a regular file whole. Returns 0 and *out (caller frees), or an errno:
 * ENOENT/ENOTDIR when there is no such file, EFBIG when it is over
 * FILE_MAX_BYTES, EINVAL when it is not a regular file. */
static int read_whole(const char *path, unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int err = 0;
	unsigned char *buf = NULL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		err = errno;
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		goto done;
	}
	if (st.st_size > (off_t)FILE_MAX_BYTES) {
		err = EFBIG;
		goto done;
	}
	size_t size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		err = ENOMEM;
		goto done;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto done;
		}
		if (r == 0)
			break; /* shrank since fstat: parse what is there */
		got += (size_t)r;
	}
	*out = buf;
	*len = got;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return err;
}

static bool valid_name(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++) {
		char c = s[i];
		if (i == NAME_MAX_LEN || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                           (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return i > 0;
}

static bool valid_lang(const char *s)
{
	return strcmp(s, "da") == 0 || strcmp(s, "en") == 0;
}

/* --- cache -------------------------------------------------------------------- */

/* The cache slot of lang/name, reading the file on first use. Returns its
 * index, or -1 when it could not be decided now (out of memory, an I/O error:
 * logged, not cached, so a later call tries again). */
static long piece_get(struct gw_prompts *p, const char *lang, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].lang, lang) == 0 && strcmp(p->v[i].name, name) == 0)
			return (long)i;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct piece *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s/%s.wav", p->dir, lang, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		cl_warn("prompt.path_too_long", "lang=%s name=%s", lang, name);
		return -1;
	}
	struct piece pc = {.state = PIECE_OK};
	memcpy(pc.lang, lang, strlen(lang) + 1);
	memcpy(pc.name, name, strlen(name) + 1);
	size_t len = 0;
	int err = read_whole(path, &pc.file, &len);
	if (err == ENOENT || err == ENOTDIR) {
		pc.state = PIECE_ABSENT;
	} else if (err == EFBIG || err == EINVAL) {
		cl_warn("prompt.bad_file", "lang=%s name=%s reason=%s", lang, name,
		        err == EFBIG ? "too_big" : "not_a_file");
		pc.state = PIECE_BAD;
	} else if (err != 0) {
		cl_warn("prompt.read_failed", "lang=%s name=%s errno=%d", lang, name, err);
		return -1;
	} else {
		const char *why = wav_parse(pc.file, len, &pc.fmt, &pc.off, &pc.len);
		if (why) {
			cl_warn("prompt.bad_file", "lang=%s name=%s reason=%s", lang, name, why);
			free(pc.file);
			pc.file = NULL;
			pc.state = PIECE_BAD;
		}
	}
	p->v[p->n] = pc;
	return (long)p->n++;
}

int gw_prompts_open(const char *dir, struct gw_prompts **out)
{
	if (!out)
		return -1;
	*out = NULL;
	struct stat st;
	if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	struct gw_prompts *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->dir = strdup(dir);
	if (!p->dir) {
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void gw_prompts_free(struct gw_prompts *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].file);
	free(p->v);
	free(p->dir);
	free(p);
}

/* --- rendering ---------------------------------------------------------------- */

int gw_prompts_render(struct gw_prompts *p, const char *lang, const char *const *names, size_t n,
                      int gap_ms, unsigned char **out, size_t *len)
{
	if (!out || !len)
		return -1;
	*out = NULL;
	*len = 0;
	if (!p || !lang || !valid_lang(lang) || !names || n == 0 || gap_ms < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!names[i] || !valid_name(names[i]))
			return -1;

	int rc = -1;
	long *idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -1;
	const size_t room = GW_WAV_MAX_BYTES - HEADER_LEN;
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		long k = piece_get(p, lang, names[i]);
		if (k >= 0 && p->v[k].state == PIECE_ABSENT && strcmp(lang, FALLBACK_LANG) != 0)
			k = piece_get(p, FALLBACK_LANG, names[i]);
		if (k < 0)
			goto done;
		const struct piece *pc = &p->v[k];
		if (pc->state == PIECE_ABSENT)
			cl_warn("prompt.missing", "lang=%s name=%s", lang, names[i]);
		if (pc->state != PIECE_OK)
			goto done;
		if (i > 0 && !same_fmt(&pc->fmt, &p->v[idx[0]].fmt)) {
			cl_warn("prompt.format_mismatch", "lang=%s name=%s first=%s", lang,
			        names[i], names[0]);
			goto done;
		}
		if (pc->len > room - total)
			goto done;
		total += pc->len;
		idx[i] = k;
	}
	const struct wav_fmt fmt = p->v[idx[0]].fmt;
	uint64_t gap_frames = (uint64_t)fmt.rate * (uint64_t)gap_ms / 1000;
	if (gap_frames > room / fmt.block_align)
		goto done;
	size_t gap = (size_t)gap_frames * fmt.block_align;
	if (gap > 0 && (n - 1 > (room - total) / gap))
		goto done;
	total += gap * (n - 1);

	unsigned char *buf = malloc(HEADER_LEN + total);
	if (!buf)
		goto done;
	wav_header(buf, &fmt, (uint32_t)total);
	unsigned char *w = buf + HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		const struct piece *pc = &p->v[idx[i]];
		if (i > 0) {
			memset(w, fmt.bits == 8 ? 0x80 : 0, gap); /* 8-bit PCM is unsigned */
			w += gap;
		}
		memcpy(w, pc->file + pc->off, pc->len);
		w += pc->len;
	}
	*out = buf;
	*len = HEADER_LEN + total;
	rc = 0;
done:
	free(idx);
	return rc;
}
