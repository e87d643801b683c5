/* fuzz_json_text.c: libFuzzer target for json_text (model/json_text.c). The input is
 * read as JSON by jansson (a NUL inside a string allowed); for every tree it reads,
 * json_text must write exactly what json_dumps(v, JSON_COMPACT) writes, or fail where
 * it fails. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../daemon/shokaid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_DECODE_ANY,
	    NULL);
	char *want, *got;

	if (v == NULL)
		return 0;
	want = json_dumps(v, JSON_COMPACT);
	got = json_text(v);
	if ((want == NULL) != (got == NULL) ||
	    (want != NULL && strcmp(want, got) != 0))
		abort();
	free(want);
	free(got);
	json_decref(v);
	return 0;
}
