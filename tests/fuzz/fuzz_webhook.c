/* fuzz_webhook.c: libFuzzer target for the webhook parsers and the signature check.
 * The first byte picks LINE or LINE WORKS; the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/shokaid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_list l = { 0 };
	char why[WHY_MAX], sig[45];
	const char *body = (const char *)data + 1;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	sig_sign("secret", 6, body, len, sig);
	if (sig_verify("secret", 6, body, len, sig, why, sizeof(why)) != 0)
		abort();
	if (data[0] & 1)
		(void)webhook_works_parse("sales", "2000001", body, len, &l, why, sizeof(why));
	else
		(void)webhook_line_parse("main", body, len, (data[0] & 2) ? "Uabc" : NULL, &l, why, sizeof(why));
	event_list_free(&l);
	return 0;
}
