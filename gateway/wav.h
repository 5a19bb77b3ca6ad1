/*
 * gateway/wav.h: the hotline's recorded prompts for providers without
 * text-to-speech (46elks). config/prompts.sh writes <dir>/<lang>/<name>.wav
 * with espeak-ng (PCM 16-bit mono 22050 Hz); gateway/wav.c reads each file
 * once and joins pieces into one WAV to serve. Not thread-safe: the IVR calls
 * it on the loop thread.
 */
#ifndef CARELINE_GW_WAV_H
#define CARELINE_GW_WAV_H

#include <stddef.h>

/* A rendered WAV never passes this many bytes, header included. */
#define GW_WAV_MAX_BYTES (16u * 1024 * 1024)

struct gw_prompts;

/* Prompts under dir/<lang>/<name>.wav, loaded lazily and cached: each file is
 * read once, and a missing or unusable file stays so until gw_prompts_free.
 * Returns 0 and *out (free with gw_prompts_free), or -1 when dir is not a
 * directory or memory ran out. */
int gw_prompts_open(const char *dir, struct gw_prompts **out);
void gw_prompts_free(struct gw_prompts *p);

/* One WAV made of the named pieces in order, gap_ms of silence between
 * pieces. A name is [a-zA-Z0-9_]{1,48}; lang is "da" or "en" (other: -1). A
 * piece missing in lang is taken from "da". Returns 0 and a malloc'ed buffer
 * with a canonical 44-byte header (caller frees *out), or -1 when n is 0,
 * gap_ms is negative, a name is invalid, a file is missing or not PCM WAV,
 * the formats differ, or the result would pass GW_WAV_MAX_BYTES; then *out is
 * NULL and *len 0. Missing and unusable files are logged. */
int gw_prompts_render(struct gw_prompts *p, const char *lang, const char *const *names, size_t n,
                      int gap_ms, unsigned char **out, size_t *len);

#endif
