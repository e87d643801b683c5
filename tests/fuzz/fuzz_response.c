/* fuzz_response.c: libFuzzer target for the outbound client's response reader
 * (http_response.c). The first byte says how the rest arrives (pieces of 1-127 bytes;
 * its top bit: the request was HEAD); the rest is what the peer sent, then it closed.
 * Read whole and read in pieces, the verdict, status and body must be the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/shokaid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct verdict {
	enum http_parse	 rc;
	int		 status;
	size_t		 used, body_len;
	char		*body;
};

static void
read_all(const char *wire, size_t len, size_t piece, int head_only, struct verdict *v)
{
	struct http_response_parser p;
	size_t at = 0;

	http_response_parser_init(&p, head_only);
	v->rc = HTTP_PARSE_MORE;
	while (at < len && v->rc == HTTP_PARSE_MORE) {
		size_t n = len - at < piece ? len - at : piece, used = 0;

		v->rc = http_response_feed(&p, wire + at, n, &used);
		if (used > n || (v->rc == HTTP_PARSE_MORE && used != n))
			abort();
		at += used;
	}
	if (v->rc == HTTP_PARSE_MORE)
		v->rc = http_response_eof(&p);
	v->used = at;
	v->status = p.status;
	v->body = NULL;
	v->body_len = 0;
	if (v->rc == HTTP_PARSE_DONE) {
		if (p.body == NULL || p.headers == NULL || p.body[p.body_len] != '\0' ||
		    p.body_len > HTTP_RESPONSE_BODY_MAX)
			abort();
		v->body = xmalloc(p.body_len + 1);
		memcpy(v->body, p.body, p.body_len + 1);
		v->body_len = p.body_len;
	}
	http_response_parser_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict whole, pieces;
	size_t piece;
	int head_only;

	if (size < 1)
		return 0;
	piece = (size_t)(data[0] & 0x7f) + 1;
	head_only = (data[0] & 0x80) != 0;
	read_all((const char *)data + 1, size - 1, size, head_only, &whole);
	read_all((const char *)data + 1, size - 1, piece, head_only, &pieces);
	/* A head refused as too long may be found bad first in other pieces: both are
	 * refusals. Anything else must agree exactly. */
	if ((whole.rc == HTTP_PARSE_DONE) != (pieces.rc == HTTP_PARSE_DONE))
		abort();
	if (whole.rc == HTTP_PARSE_DONE && (whole.status != pieces.status ||
	    whole.used != pieces.used || whole.body_len != pieces.body_len ||
	    memcmp(whole.body, pieces.body, whole.body_len) != 0))
		abort();
	free(whole.body);
	free(pieces.body);
	return 0;
}
