/* strcount.c: counts per string key, in an open-addressed table kept at most half
 * full (short probes). The clicks' scans use it twice: as a set of the day's
 * code|client keys (a count of 1 is a key seen first) and as clicks per report group.
 * In C and not SQLite's DISTINCT or GROUP BY: those insert into a b-tree per row,
 * 0.35 s for a month's 250,000 clicks on the scale database. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

static size_t
slot(char *const *keys, size_t cap, const char *key)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (i = (size_t)h & (cap - 1); keys[i] != NULL && strcmp(keys[i], key) != 0;
	    i = (i + 1) & (cap - 1))
		continue;
	return i;
}

int64_t
strcount_add(struct strcount *sc, const char *key)
{
	size_t i;

	if (2 * (sc->used + 1) > sc->cap) {
		size_t cap = sc->cap ? 2 * sc->cap : 256;
		char **keys = xcalloc(cap, sizeof(*keys));
		int64_t *n = xcalloc(cap, sizeof(*n));

		for (size_t k = 0; k < sc->cap; k++)
			if (sc->keys[k] != NULL) {
				i = slot(keys, cap, sc->keys[k]);
				keys[i] = sc->keys[k];
				n[i] = sc->n[k];
			}
		free(sc->keys);
		free(sc->n);
		sc->keys = keys;
		sc->n = n;
		sc->cap = cap;
	}
	i = slot(sc->keys, sc->cap, key);
	if (sc->keys[i] == NULL) {
		sc->keys[i] = xstrdup(key);
		sc->used++;
	}
	return ++sc->n[i];
}

void
strcount_clear(struct strcount *sc)
{
	for (size_t i = 0; i < sc->cap; i++) {
		free(sc->keys[i]);
		sc->keys[i] = NULL;
		sc->n[i] = 0;
	}
	sc->used = 0;
}

void
strcount_free(struct strcount *sc)
{
	strcount_clear(sc);
	free(sc->keys);
	free(sc->n);
	memset(sc, 0, sizeof(*sc));
}
