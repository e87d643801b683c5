/* test_http_head.c: the strict framing checks (http_head.c): good heads pass with their
 * length, each kind of lenient framing is refused with its reason, a head fed a piece at
 * a time gets the same verdict as the whole, and so does a chunked body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"

/* The verdict on buf as one piece; why gets the reason. */
static int chunked;

static enum http_head
check(const char *buf, size_t len, size_t *head_len, char *why, size_t whylen)
{
	struct http_head_state pos = { 0 };

	*head_len = 0;
	why[0] = '\0';
	chunked = -1;
	return http_head_check(buf, len, &pos, head_len, &chunked, why, whylen);
}

static void
assert_good(const char *head, const char *body)
{
	char buf[2048], why[WHY_MAX];
	size_t head_len;
	int n = snprintf(buf, sizeof(buf), "%s%s", head, body);

	assert_true(n > 0 && (size_t)n < sizeof(buf));
	if (check(buf, (size_t)n, &head_len, why, sizeof(why)) != HTTP_HEAD_COMPLETE)
		fail_msg("refused: %s (%s)", head, why);
	assert_int_equal(head_len, strlen(head));
}

static void
assert_bad(const char *head, size_t len, const char *reason)
{
	char why[WHY_MAX];
	size_t head_len;

	if (check(head, len, &head_len, why, sizeof(why)) != HTTP_HEAD_BAD)
		fail_msg("accepted: %.*s", (int)len, head);
	if (strstr(why, reason) == NULL)
		fail_msg("reason \"%s\", want \"%s\"", why, reason);
}

#define BAD(head, reason)	assert_bad(head, sizeof(head) - 1, reason)

static void
test_good_heads(void **state)
{
	(void)state;
	assert_good("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "");
	assert_good("GET /healthz HTTP/1.0\r\n\r\n", "");
	assert_int_equal(chunked, 0);
	assert_good("POST /line/main HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
	    "X-Line-Signature: abc+/=\r\n\r\n", "{}");
	assert_good("POST /line/main HTTP/1.1\r\nhost: x\r\ntransfer-encoding: CHUNKED\r\n\r\n",
	    "2\r\n{}\r\n0\r\n\r\n");
	assert_int_equal(chunked, 1);
	/* Optional whitespace around values, empty values, obs-text, tchars in names. */
	assert_good("POST /w HTTP/1.1\r\nHost:x\r\nContent-Length:  7 \t\r\nX-E:\r\n"
	    "X-U: caf\xc3\xa9\r\nX!#$%&'*+-.^_`|~9: 1\r\n\r\n", "");
	assert_good("HEAD /r/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "");
	/* A pipelined second request is not part of the head. */
	assert_good("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nbad\n\n");
	/* Any token is a method (a route answers 405 for one it does not take). */
	assert_good("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", "");
	assert_good("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "");
}

static void
test_request_line(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.2\r\nHost: x\r\n\r\n", "version");
	BAD("GET / HTTP/2.0\r\n\r\n", "version");
	BAD("GET / http/1.1\r\nHost: x\r\n\r\n", "version");
	BAD("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", "version");
	BAD("GET /\r\n\r\n", "target");
	BAD("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "target");
	BAD("GET / x HTTP/1.1\r\nHost: x\r\n\r\n", "version");
	BAD("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", "method");
	BAD(" GET / HTTP/1.1\r\nHost: x\r\n\r\n", "method");
	BAD("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "method");
	BAD("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", "target");
	BAD("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", "empty line");
}

static void
test_line_ends_and_controls(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.1\nHost: x\n\n", "bare LF");
	BAD("GET / HTTP/1.1\r\nHost: x\n\r\n", "bare LF");
	BAD("GET / HTTP/1.1\r\nHost: x\r\n\n", "bare LF");
	BAD("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", "bare CR");
	BAD("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n", "bare CR");
	BAD("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", "control");
	BAD("GET / HTTP/1.1\r\nHost: x\r\nX: \x1b[31m\r\n\r\n", "control");
	BAD("GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", "DEL");
}

static void
test_fields(void **state)
{
	(void)state;
	BAD("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", "obs-fold");
	BAD("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n", "obs-fold");
	BAD("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "colon");
	BAD("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", "colon");
	BAD("GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n", "token");
	BAD("GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", "token");
	BAD("GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", "colon");
	BAD("GET / HTTP/1.1\r\n\r\n", "Host");
	BAD("GET / HTTP/1.1\r\nHost: x\r\nHOST: y\r\n\r\n", "Host sent more than once");
}

static void
test_framing(void **state)
{
	(void)state;
	BAD("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    "not exactly chunked");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	    "not exactly chunked");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
	    "not exactly chunked");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding sent more than once");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n", "both");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "both");
	BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	    "more than once");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n",
	    "more than once");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n", "digits");
	/* Some readers keep a tab before a value: these would not frame the same to them. */
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\t3\r\n\r\n", "digits");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n",
	    "not exactly chunked");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "digits");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n", "digits");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\n", "digits");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3 3\r\n\r\n", "digits");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", "digits");
	BAD("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n",
	    "digits");
	BAD("HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", "HEAD or TRACE");
	BAD("TRACE / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "HEAD or TRACE");
}

/* Fed a byte at a time, as a trickling client sends it, the verdict and length match
 * the whole head's; a bad line is refused as soon as it ends. */
static void
test_incremental(void **state)
{
	static const char good[] = "POST /line/main HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 2\r\n\r\n{}";
	static const char bad[] = "POST /line/main HTTP/1.1\r\nContent-Length: +2\r\n"
	    "Host: x\r\n";
	char why[WHY_MAX];
	struct http_head_state pos = { 0 };
	size_t head_len = 0, i;
	enum http_head r = HTTP_HEAD_INCOMPLETE;

	(void)state;
	for (i = 1; i <= sizeof(good) - 1 && r == HTTP_HEAD_INCOMPLETE; i++)
		r = http_head_check(good, i, &pos, &head_len, &chunked, why, sizeof(why));
	assert_int_equal(r, HTTP_HEAD_COMPLETE);
	assert_int_equal(head_len, sizeof(good) - 3);
	assert_int_equal(i - 1, sizeof(good) - 3);

	memset(&pos, 0, sizeof(pos));
	r = HTTP_HEAD_INCOMPLETE;
	for (i = 1; i <= sizeof(bad) - 1 && r == HTTP_HEAD_INCOMPLETE; i++)
		r = http_head_check(bad, i, &pos, &head_len, &chunked, why, sizeof(why));
	assert_int_equal(r, HTTP_HEAD_BAD);
	/* Refused when the Content-Length line ended, before the Host line came. */
	assert_int_equal(i - 1, strstr(bad, "Host") - bad);

	/* A CR at the end waits for its LF; a partial line is no verdict yet. */
	memset(&pos, 0, sizeof(pos));
	assert_int_equal(http_head_check("GET / HTTP/1.1\r", 15, &pos, &head_len, &chunked, why,
	    sizeof(why)), HTTP_HEAD_INCOMPLETE);
	memset(&pos, 0, sizeof(pos));
	assert_int_equal(http_head_check("GET / HTTP/1.2", 14, &pos, &head_len, &chunked, why,
	    sizeof(why)), HTTP_HEAD_INCOMPLETE);
}

/* The verdict on a chunked body fed in pieces of step bytes; *end gets the body's
 * length when it is complete. */
/* Feeds body in pieces of step bytes, each decoded in place as the server does (a copy
 * of the piece is the buffer the data moves down in); the data goes to data. */
static enum http_head
chunked_check_data(const char *body, size_t step, size_t *end, char *data,
    size_t *data_len, char *why)
{
	struct http_chunked c = { 0 };
	size_t len = strlen(body), off = 0, used = 0, got;
	enum http_head r = HTTP_HEAD_INCOMPLETE;
	char piece[256];

	*data_len = 0;
	while (off < len && r == HTTP_HEAD_INCOMPLETE) {
		size_t k = len - off < step ? len - off : step;

		memcpy(piece, body + off, k);
		r = http_chunked_check(&c, piece, k, &used, piece, &got, why, WHY_MAX);
		if (r != HTTP_HEAD_BAD) {
			memcpy(data + *data_len, piece, got);
			*data_len += got;
		}
		off += r == HTTP_HEAD_COMPLETE ? used : k;
	}
	*end = off;
	return r;
}

static enum http_head
chunked_check(const char *body, size_t step, size_t *end, char *why)
{
	char data[256];
	size_t data_len;

	return chunked_check_data(body, step, end, data, &data_len, why);
}

static void
test_chunked(void **state)
{
	static const char *const good[] = {
		"0\r\n\r\n",
		"2\r\n{}\r\n0\r\n\r\n",
		"A\r\n0123456789\r\n1\r\n\n\r\n000\r\n\r\n",
		"00000000000000f\r\n0123456789abcde\r\n0\r\n\r\n",
	};
	static const char *const data[] = { "", "{}", "0123456789\n", "0123456789abcde" };
	static const struct { const char *body, *reason; } bad[] = {
		{ "+2\r\n{}\r\n0\r\n\r\n", "hex" },
		{ " 2\r\n{}\r\n0\r\n\r\n", "hex" },
		{ "0x2\r\n{}\r\n0\r\n\r\n", "hex" },
		{ "2 \r\n{}\r\n0\r\n\r\n", "hex" },
		{ "2;ext=1\r\n{}\r\n0\r\n\r\n", "hex" },
		{ "\r\n2\r\n{}\r\n0\r\n\r\n", "hex" },
		{ "2\n{}\r\n0\r\n\r\n", "hex" },
		{ "2\r{}\r\n0\r\n\r\n", "bare CR" },
		{ "2\r\n{}\n0\r\n\r\n", "CRLF" },
		{ "2\r\n{}0\r\n\r\n", "CRLF" },
		{ "2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n", "trailer" },
		{ "2\r\n{}\r\n0\r\n\n", "trailer" },
		{ "1000000000000000\r\n", "hex" },
	};
	char why[WHY_MAX];
	size_t end, step;

	(void)state;
	for (step = 1; step <= 64; step *= 4) {
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			char buf[256], got[256];
			size_t got_len;

			/* What follows the body is the next request's. */
			snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", good[i]);
			if (chunked_check_data(buf, step, &end, got, &got_len, why) !=
			    HTTP_HEAD_COMPLETE)
				fail_msg("refused: %s (%s)", good[i], why);
			assert_int_equal(end, strlen(good[i]));
			/* The data, without the framing, whatever the pieces. */
			assert_int_equal(got_len, strlen(data[i]));
			assert_memory_equal(got, data[i], got_len);
		}
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (chunked_check(bad[i].body, step, &end, why) != HTTP_HEAD_BAD)
				fail_msg("accepted: %s", bad[i].body);
			if (strstr(why, bad[i].reason) == NULL)
				fail_msg("reason \"%s\", want \"%s\"", why, bad[i].reason);
		}
	}
	assert_int_equal(chunked_check("5\r\nhel", 2, &end, why), HTTP_HEAD_INCOMPLETE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_heads),
		cmocka_unit_test(test_request_line),
		cmocka_unit_test(test_line_ends_and_controls),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_chunked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
