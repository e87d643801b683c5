/* testutil.h: small helpers shared by the unit tests. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../daemon/shokaid.h"

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

/* Writes text to dir/name with mode (secret files must be 0600). */
static inline int
test_write_file(const char *dir, const char *name, const char *text, unsigned mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, (mode_t)mode);
}

/* Removes a test's temp folder and everything in it. */
static inline int
test_rmdir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh database in a new folder /tmp/shokai-test-TAG-XXXXXX, opened (and migrated)
 * with store_open: dir (256 bytes) and path (512) are filled in. NULL on failure. */
static inline struct store *
test_store_fresh(char *dir, char *path, const char *tag, int synchronous)
{
	char why[WHY_MAX];

	snprintf(dir, 256, "/tmp/shokai-test-%s-XXXXXX", tag);
	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(path, 512, "%s/shokai.db", dir);
	return store_open(path, synchronous, 1000, why, sizeof(why));
}

/* Closes s and removes the folder test_store_fresh made for it: 0, or -1. */
static inline int
test_store_gone(struct store *s, const char *dir)
{
	store_close(s);
	return test_rmdir(dir);
}

/* The start of a valid config: server, storage and one LINE channel "main" whose
 * secrets are in the file "secret". */
#define TEST_CONFIG_HEAD \
    "server: { listen: 127.0.0.1:8080, max_body: 256KiB,\n" \
    "          public_url: \"https://bot.example.jp\" }\n" \
    "storage: { sqlite: test.db }\n" \
    "line:\n" \
    "  channels:\n" \
    "    - { id: main, basic_id: \"@1\", channel_secret_file: secret,\n" \
    "        access_token_file: secret, api_base: \"http://127.0.0.1:9\",\n" \
    "        api_data_base: \"http://127.0.0.1:9\" }\n"

/* The shared/ folder beside the repository (SHOKAI_SHARED overrides). */
static inline const char *
test_shared_dir(void)
{
	const char *s = getenv("SHOKAI_SHARED");

	return s ? s : "../shared";
}

#endif
