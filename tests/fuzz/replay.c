/*
 * tests/fuzz/replay.c: a main() for the fuzz harnesses without libFuzzer, so
 * `make test` replays every seed corpus with gcc's ASan+UBSan build. Each
 * argument is a file or a directory of files, each file one input to
 * LLVMFuzzerTestOneInput. Without arguments, fuzz_NAME replays
 * tests/fuzz/corpus/NAME/ (run from the repository root, as make does).
 * Also reproduces a crash: build/asan/tests/fuzz/fuzz_NAME CRASH-FILE.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

/* Harnesses may leave LLVMFuzzerInitialize out. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, len = 0, n;
	unsigned char *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			unsigned char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		return -1;
	}
	/* Exactly len bytes, as libFuzzer hands them over: a copy of that size
	 * lets ASan catch a read one past the end. */
	unsigned char *data = malloc(len ? len : 1);
	if (!data) {
		free(buf);
		return -1;
	}
	memcpy(data, buf, len);
	free(buf);
	printf("replay %s (%zu bytes)\n", path, len);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order (so runs are repeatable). */
static int replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **v = realloc(names, cap * sizeof(*v));
			if (!v) {
				rc = -1;
				break;
			}
			names = v;
		}
		size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
		if (!(names[n] = malloc(len))) {
			rc = -1;
			break;
		}
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(names[i]) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	char def[512];
	char *def_argv[] = {argv[0], def, NULL};
	if (argc < 2) {
		/* fuzz_NAME → tests/fuzz/corpus/NAME */
		const char *base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (strncmp(base, "fuzz_", 5) == 0)
			base += 5;
		snprintf(def, sizeof(def), "tests/fuzz/corpus/%s", base);
		argc = 2;
		argv = def_argv;
	}
	size_t count = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				return 1;
		} else {
			if (replay_file(argv[i]) != 0)
				return 1;
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	/* The summary line tests/run-tests.sh shows, as cmocka prints it. */
	printf("[  PASSED  ] %zu input(s).\n", count);
	return 0;
}
