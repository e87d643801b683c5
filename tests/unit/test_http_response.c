/* test_http_response.c: the outbound client's response reader (http_response.c): every
 * framing LINE's and LINE WORKS' servers (or a proxy before them) may use gives the same
 * status, headers and body whether the bytes come whole or one at a time; answers past
 * their limits and framings that hint at smuggling are refused, never cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"

struct verdict {
	enum http_parse	 rc;
	int		 status, keep_alive;
	char		 body[4096];
	size_t		 body_len, used;
	char		 headers[1024];
};

/* Feeds wire in pieces of `piece` bytes (0: whole), then the close when eof says so. */
static void
parse(const char *wire, size_t len, size_t piece, int eof, int head_only, struct verdict *v)
{
	struct http_response_parser p;
	size_t at = 0;

	memset(v, 0, sizeof(*v));
	http_response_parser_init(&p, head_only);
	v->rc = HTTP_PARSE_MORE;
	while (at < len && v->rc == HTTP_PARSE_MORE) {
		size_t n = piece == 0 || len - at < piece ? len - at : piece, used = 0;

		v->rc = http_response_feed(&p, wire + at, n, &used);
		assert_true(used <= n);
		if (v->rc == HTTP_PARSE_MORE)
			assert_int_equal(used, n);
		at += used;
	}
	if (v->rc == HTTP_PARSE_MORE && eof)
		v->rc = http_response_eof(&p);
	v->used = at;
	v->status = p.status;
	v->keep_alive = p.keep_alive;
	if (v->rc == HTTP_PARSE_DONE) {
		assert_true(p.body_len < sizeof(v->body));
		memcpy(v->body, p.body, p.body_len + 1);	/* with its NUL */
		v->body_len = p.body_len;
		snprintf(v->headers, sizeof(v->headers), "%s", p.headers);
	}
	http_response_parser_free(&p);
}

/* The same verdict whole, byte by byte, and in pieces of 7. */
static void
expect_done(const char *wire, int eof, int status, const char *body, int keep_alive)
{
	static const size_t pieces[] = { 0, 1, 7 };
	struct verdict v;

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		parse(wire, strlen(wire), pieces[i], eof, 0, &v);
		if (v.rc != HTTP_PARSE_DONE)
			fail_msg("piece %zu: %d for %s", pieces[i], (int)v.rc, wire);
		assert_int_equal(v.status, status);
		assert_int_equal(v.body_len, strlen(body));
		assert_string_equal(v.body, body);
		assert_int_equal(v.keep_alive, keep_alive);
	}
}

static void
expect_rc(const char *wire, int eof, enum http_parse rc)
{
	struct verdict v;

	for (size_t piece = 0; piece < 3; piece++) {
		parse(wire, strlen(wire), piece, eof, 0, &v);
		if (v.rc != rc)
			fail_msg("piece %zu: %d, not %d, for %s", piece, (int)v.rc, (int)rc, wire);
	}
}

static void
test_content_length_and_keep_alive(void **state)
{
	(void)state;
	expect_done("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}", 0, 200, "{}", 1);
	expect_done("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
	    0, 200, "{}", 0);
	expect_done("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 200, "{}", 0);
	expect_done("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive\r\n\r\n{}",
	    0, 200, "{}", 1);
	/* a reason phrase is optional; bare LF line ends are taken */
	expect_done("HTTP/1.1 409\r\nContent-Length: 0\r\n\r\n", 0, 409, "", 1);
	expect_done("HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", 0, 200, "abc", 1);
}

static void
test_headers_kept_for_callers(void **state)
{
	struct http_response r;
	struct verdict v;
	char out[64];
	const char *wire = "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  30 \r\n"
	    "X-Line-Request-Id: abc\r\nContent-Length: 0\r\n\r\n";

	(void)state;
	parse(wire, strlen(wire), 1, 0, 0, &v);
	assert_int_equal(v.rc, HTTP_PARSE_DONE);
	memset(&r, 0, sizeof(r));
	r.headers = v.headers;
	assert_non_null(http_response_header(&r, "retry-after", out, sizeof(out)));
	assert_string_equal(out, "30");
	assert_non_null(http_response_header(&r, "X-Line-Request-Id", out, sizeof(out)));
	assert_string_equal(out, "abc");
	assert_null(http_response_header(&r, "Location", out, sizeof(out)));
}

static void
test_chunked_and_until_close(void **state)
{
	(void)state;
	expect_done("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n", 0, 200, "{\"a\":1}", 1);
	expect_done("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	    0, 200, "", 1);
	/* no length: the body runs to the close, and the connection ends with it */
	expect_done("HTTP/1.1 200 OK\r\n\r\nhello", 1, 200, "hello", 0);
	/* no body whatever the headers say */
	expect_done("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 204, "", 1);
	expect_done("HTTP/1.1 304 Not Modified\r\n\r\n", 0, 304, "", 1);
}

static void
test_interim_answers_are_skipped(void **state)
{
	(void)state;
	expect_done("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	    0, 200, "x", 1);
	expect_rc("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0, HTTP_PARSE_BAD);
}

static void
test_head_answer_has_no_body(void **state)
{
	struct verdict v;
	const char *wire = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";

	(void)state;
	parse(wire, strlen(wire), 0, 0, 1, &v);
	assert_int_equal(v.rc, HTTP_PARSE_DONE);
	assert_int_equal(v.body_len, 0);
}

/* Whatever follows the answer is not taken: it belongs to nobody, and the client closes
 * the connection when anything is left over. */
static void
test_answer_ends_where_its_framing_says(void **state)
{
	struct verdict v;
	const char *wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n";

	(void)state;
	parse(wire, strlen(wire), 0, 0, 0, &v);
	assert_int_equal(v.rc, HTTP_PARSE_DONE);
	assert_int_equal(v.used, strlen(wire) - strlen("HTTP/1.1 200 OK\r\n"));
}

static void
test_cut_short_or_not_http(void **state)
{
	(void)state;
	expect_rc("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", 1, HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 1,
	    HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nContent-Le", 1, HTTP_PARSE_BAD);
	expect_rc("SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, HTTP_PARSE_BAD);
	expect_rc("HTTP/2 200\r\n\r\n", 0, HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 20 OK\r\n\r\n", 0, HTTP_PARSE_BAD);
	expect_rc("\r\n\r\n", 0, HTTP_PARSE_BAD);
	/* framing that two readers could take two ways */
	expect_rc("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 0,
	    HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", 0, HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab", 0, HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nab", 0, HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n", 0,
	    HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0,
	    HTTP_PARSE_BAD);
	expect_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n", 0,
	    HTTP_PARSE_BAD);
}

static void
test_limits_refuse_rather_than_cut(void **state)
{
	struct http_response_parser p;
	char *big = xmalloc(HTTP_RESPONSE_HEAD_MAX + 64);
	size_t used;

	(void)state;
	expect_rc("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n", 0, HTTP_PARSE_TOO_LONG);
	expect_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", 0,
	    HTTP_PARSE_TOO_LONG);
	/* a head that never ends */
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', HTTP_RESPONSE_HEAD_MAX + 44);
	http_response_parser_init(&p, 0);
	assert_int_equal(http_response_feed(&p, big, HTTP_RESPONSE_HEAD_MAX + 64, &used),
	    HTTP_PARSE_TOO_LONG);
	http_response_parser_free(&p);
	/* a body that never ends, in pieces */
	http_response_parser_init(&p, 0);
	assert_int_equal(http_response_feed(&p, "HTTP/1.1 200 OK\r\n\r\n", 19, &used),
	    HTTP_PARSE_MORE);
	memset(big, 'b', HTTP_RESPONSE_HEAD_MAX);
	for (int i = 0; i < 40; i++) {
		enum http_parse rc = http_response_feed(&p, big, HTTP_RESPONSE_HEAD_MAX, &used);

		if (rc == HTTP_PARSE_TOO_LONG)
			break;
		assert_int_equal(rc, HTTP_PARSE_MORE);
		assert_true(i < 32);
	}
	http_response_parser_free(&p);
	free(big);
}

/* A kept connection's second answer reads as the first did. */
static void
test_reset_for_the_next_answer(void **state)
{
	struct http_response_parser p;
	const char *a = "HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nbad";
	const char *b = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	size_t used;

	(void)state;
	http_response_parser_init(&p, 0);
	assert_int_equal(http_response_feed(&p, a, strlen(a), &used), HTTP_PARSE_DONE);
	assert_int_equal(p.status, 500);
	http_response_parser_reset(&p);
	assert_int_equal(p.received, 0);
	assert_int_equal(http_response_feed(&p, b, strlen(b), &used), HTTP_PARSE_DONE);
	assert_int_equal(p.status, 200);
	assert_string_equal(p.body, "ok");
	assert_string_equal(p.headers, "Content-Length: 2\r\n");
	http_response_parser_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length_and_keep_alive),
		cmocka_unit_test(test_headers_kept_for_callers),
		cmocka_unit_test(test_chunked_and_until_close),
		cmocka_unit_test(test_interim_answers_are_skipped),
		cmocka_unit_test(test_head_answer_has_no_body),
		cmocka_unit_test(test_answer_ends_where_its_framing_says),
		cmocka_unit_test(test_cut_short_or_not_http),
		cmocka_unit_test(test_limits_refuse_rather_than_cut),
		cmocka_unit_test(test_reset_for_the_next_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
