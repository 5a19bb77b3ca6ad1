/*
 * include/careline/embedded.h: configuration files compiled into the binary by
 * config/embed.sh (the default careline.ini, normalise.ini, texts/da.ini, ...),
 * so `careline` runs with no files on disk. Read-only, NUL-terminated.
 */
#ifndef CARELINE_EMBEDDED_H
#define CARELINE_EMBEDDED_H

#include <stddef.h>

struct cl_embedded_file {
	const char *name; /* path under config/, e.g. "texts/da.ini" */
	const char *data; /* NUL-terminated contents */
	size_t len;
};

/* Terminated by an entry whose name is NULL. */
extern const struct cl_embedded_file cl_embedded_files[];

/* The embedded file called name, or NULL. */
const char *cl_embedded_get(const char *name);

#endif
