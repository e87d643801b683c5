/* testutil.h: small helpers shared by the unit tests. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL if absent. */
static inline char *
test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The shared/ folder beside the repository (SHOKAI_SHARED overrides). */
static inline const char *
test_shared_dir(void)
{
	const char *s = getenv("SHOKAI_SHARED");

	return s ? s : "../shared";
}

#endif
