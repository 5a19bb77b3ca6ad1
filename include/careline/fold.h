/*
 * include/careline/fold.h: folding Danish/English text for matching. Folding
 * lowercases (ASCII and Latin-1 letters in UTF-8, ÆØÅ included), maps æ→ae,
 * ø→oe, å→aa, é/è/ê→e, ü→u, ö→oe, ä→ae and other accents to their base letter,
 * so "STØJ", "støj" and "stoej" all fold to "stoej". Any byte that is not a
 * letter or digit becomes a single space (runs collapse), so words are
 * separated by exactly one space and the result has no leading/trailing space.
 * Pure functions; no allocation.
 */
#ifndef CARELINE_FOLD_H
#define CARELINE_FOLD_H

#include <stddef.h>

/* Fold src into dst (always NUL-terminated, truncated to fit); returns the
 * folded length. dst needs at most 2*strlen(src)+1 bytes to never truncate. */
size_t cl_fold(const char *src, char *dst, size_t dst_len);

#endif
