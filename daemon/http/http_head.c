/* http_head.c: the strict check of a request's framing (request line, header fields, a
 * chunked body) on which the listener (http_server.c) frames requests. Lenient parsers
 * (libevent's evhttp, which the listener once was, among them) take a bare LF as a line
 * end, read the first of two Content-Length headers and "+5" as 5, and pass over a
 * Transfer-Encoding that is not exactly "chunked"; a proxy in front may be strict in
 * another way, which is how requests get smuggled. Here a head either frames its body in
 * exactly one way (RFC 9112 section 6) or is refused.
 *
 * Refused: a bare CR or LF anywhere; NUL and other control characters; a request line
 * other than `METHOD SP target SP HTTP/1.0|HTTP/1.1`; a leading empty line; obs-fold (a
 * line starting with SP or HTAB); a field name that is not a token or has whitespace
 * before its colon; a Content-Length that is not 1*DIGIT (at most 18 digits), or more
 * than one (even with equal values: RFC 9112 6.3 lets a recipient refuse them, and
 * collapsing them is one more rule for two parsers to disagree on); a Transfer-Encoding
 * other than one `chunked`, one with Content-Length, or one in an HTTP/1.0 request; a
 * body on HEAD or TRACE (a lenient reader takes it for the next request); an HTTP/1.1
 * request without exactly one Host (RFC 9112 3.2). http_chunked_check below does the
 * same for a chunked body. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* field-vchar, SP, HTAB and obs-text: everything but the other controls and DEL. */
static int
is_value_char(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* `METHOD SP target SP HTTP/1.x`; the method any token (a route answers 405 for one it
 * does not take), the target printable ASCII without spaces. */
static int
check_request_line(const char *p, size_t n, int *http10, int *no_body,
    char *why, size_t whylen)
{
	size_t i = 0, m, t;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	m = i;
	if (m == 0 || i >= n || p[i] != ' ') {
		snprintf(why, whylen, "request line: method is not a token followed by one space");
		return -1;
	}
	t = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ') {
		snprintf(why, whylen, "request line: target is not printable ASCII followed by "
		    "one space");
		return -1;
	}
	i++;
	if (n - i != 8 || (memcmp(p + i, "HTTP/1.1", 8) != 0 &&
	    memcmp(p + i, "HTTP/1.0", 8) != 0)) {
		snprintf(why, whylen, "request line: version is not HTTP/1.0 or HTTP/1.1");
		return -1;
	}
	*http10 = p[i + 7] == '0';
	*no_body = (m == 4 && memcmp(p, "HEAD", 4) == 0) ||
	    (m == 5 && memcmp(p, "TRACE", 5) == 0);
	return 0;
}

/* Content-Length: 1*DIGIT, bounded so no reader can overflow on it. */
static int
check_content_length(const char *v, size_t n, int *body)
{
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return -1;
	for (i = 0; i < n; i++)
		if (v[i] != '0')
			*body = 1;
	return 0;
}

/* One header field line (without its CRLF): name, colon, value. */
static int
check_field(const char *p, size_t n, struct http_head_state *f, char *why, size_t whylen)
{
	size_t i = 0, name_len, vs, ve;

	if (p[0] == ' ' || p[0] == '\t') {
		snprintf(why, whylen, "header line folded (obs-fold)");
		return -1;
	}
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	name_len = i;
	if (name_len == 0 || i >= n || p[i] != ':') {
		snprintf(why, whylen, "header name is not a token followed by a colon");
		return -1;
	}
	for (vs = ++i; i < n; i++) {
		if (!is_value_char((unsigned char)p[i])) {
			snprintf(why, whylen, "control character in a header value");
			return -1;
		}
	}
	/* The value without the whitespace around it: spaces before, spaces and tabs after.
	 * A framing value with a tab before it (Transfer-Encoding: <HTAB>chunked) is then
	 * refused, where one reader would take it as chunked and another not. */
	while (vs < n && p[vs] == ' ')
		vs++;
	for (ve = n; ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
		;
	if (name_len == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		if (++f->content_length > 1) {
			snprintf(why, whylen, "Content-Length sent more than once");
			return -1;
		}
		if (check_content_length(p + vs, ve - vs, &f->body) == -1) {
			snprintf(why, whylen, "Content-Length is not 1 to 18 digits");
			return -1;
		}
	} else if (name_len == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
		if (++f->transfer_encoding > 1) {
			snprintf(why, whylen, "Transfer-Encoding sent more than once");
			return -1;
		}
		if (ve - vs != 7 || strncasecmp(p + vs, "chunked", 7) != 0) {
			snprintf(why, whylen, "Transfer-Encoding is not exactly chunked");
			return -1;
		}
		f->body = 1;
	} else if (name_len == 4 && strncasecmp(p, "Host", 4) == 0) {
		if (++f->host > 1) {
			snprintf(why, whylen, "Host sent more than once");
			return -1;
		}
	}
	return 0;
}

/* The rules that need the whole head: how the body is framed, Host. */
static int
check_framing(const struct http_head_state *f, int *chunked, char *why, size_t whylen)
{
	if (f->transfer_encoding && f->content_length) {
		snprintf(why, whylen, "both Transfer-Encoding and Content-Length");
		return -1;
	}
	if (f->transfer_encoding && f->http10) {
		snprintf(why, whylen, "Transfer-Encoding in an HTTP/1.0 request");
		return -1;
	}
	if (f->body && f->no_body) {
		snprintf(why, whylen, "a body on HEAD or TRACE");
		return -1;
	}
	if (!f->http10 && f->host != 1) {
		snprintf(why, whylen, "HTTP/1.1 request without Host");
		return -1;
	}
	*chunked = f->transfer_encoding;
	return 0;
}

enum http_head
http_head_check(const char *buf, size_t len, struct http_head_state *st, size_t *head_len,
    int *chunked, char *why, size_t whylen)
{
	size_t i = st->pos, start = st->pos;

	for (; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\r') {
			if (i + 1 == len)
				break;		/* its LF may come with the next bytes */
			if (buf[i + 1] != '\n') {
				snprintf(why, whylen, "bare CR in the request head");
				return HTTP_HEAD_BAD;
			}
			continue;
		}
		if (ch == '\n') {
			if (i == 0 || buf[i - 1] != '\r') {
				snprintf(why, whylen, "bare LF in the request head");
				return HTTP_HEAD_BAD;
			}
			if (i + 1 - start == 2) {
				if (start == 0) {
					snprintf(why, whylen, "empty line before the request line");
					return HTTP_HEAD_BAD;
				}
				*head_len = i + 1;
				return check_framing(st, chunked, why, whylen) == 0 ?
				    HTTP_HEAD_COMPLETE : HTTP_HEAD_BAD;
			}
			/* A whole line: the request line or a field, checked once, as it
			 * comes, so that a bad head is refused as soon as its bad line is whole;
			 * what the framing rules need is kept in st. */
			if (start == 0) {
				if (check_request_line(buf, i - 1, &st->http10, &st->no_body,
				    why, whylen) == -1)
					return HTTP_HEAD_BAD;
			} else if (check_field(buf + start, i - 1 - start, st, why, whylen) == -1)
				return HTTP_HEAD_BAD;
			start = st->pos = i + 1;
			continue;
		}
		if (ch < 0x20 && ch != '\t') {
			snprintf(why, whylen, "control character in the request head");
			return HTTP_HEAD_BAD;
		}
		if (ch == 0x7f) {
			snprintf(why, whylen, "DEL in the request head");
			return HTTP_HEAD_BAD;
		}
	}
	return HTTP_HEAD_INCOMPLETE;
}

/* The chunked body, RFC 9112 7.1 without its options: 1*HEXDIG CRLF, data, CRLF; the
 * last chunk "0" CRLF and then CRLF. Refused too: chunk extensions, whitespace, a size
 * of more than 15 hex digits, trailer fields, and a bare LF anywhere, all of which
 * lenient readers take (a size "+5" or " 5", an LF for a CRLF, a missing CRLF after
 * the data). */
enum {
	CHUNK_SIZE,		/* the first byte of a chunk-size line */
	CHUNK_SIZE_MORE,	/* hex digits, or the CR that ends them */
	CHUNK_SIZE_LF,
	CHUNK_DATA,
	CHUNK_DATA_CR,
	CHUNK_DATA_LF,
	CHUNK_LAST_CR,		/* after the last chunk: the CRLF that ends the body */
	CHUNK_LAST_LF
};

static int
hex_value(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

enum http_head
http_chunked_check(struct http_chunked *c, const char *p, size_t n, size_t *used,
    char *data, size_t *data_len, char *why, size_t whylen)
{
	size_t i = 0;

	if (data_len != NULL)
		*data_len = 0;

	while (i < n) {
		unsigned char ch = (unsigned char)p[i];

		switch (c->state) {
		case CHUNK_SIZE:
		case CHUNK_SIZE_MORE:
			if (hex_value(ch) >= 0 && c->digits < 15) {
				c->left = c->left * 16 + (uint64_t)hex_value(ch);
				c->digits++;
				c->state = CHUNK_SIZE_MORE;
			} else if (ch == '\r' && c->state == CHUNK_SIZE_MORE)
				c->state = CHUNK_SIZE_LF;
			else {
				snprintf(why, whylen, "chunk size is not 1 to 15 hex digits and CRLF");
				return HTTP_HEAD_BAD;
			}
			break;
		case CHUNK_SIZE_LF:
			if (ch != '\n') {
				snprintf(why, whylen, "bare CR after a chunk size");
				return HTTP_HEAD_BAD;
			}
			c->state = c->left == 0 ? CHUNK_LAST_CR : CHUNK_DATA;
			break;
		case CHUNK_DATA: {
			/* The data is opaque: skip it whole. */
			size_t k = n - i < c->left ? n - i : (size_t)c->left;

			if (data != NULL) {	/* may be p itself: memmove */
				memmove(data + *data_len, p + i, k);
				*data_len += k;
			}
			c->left -= k;
			i += k;
			if (c->left == 0)
				c->state = CHUNK_DATA_CR;
			continue;
		}
		case CHUNK_DATA_CR:
		case CHUNK_DATA_LF:
		case CHUNK_LAST_CR:
		case CHUNK_LAST_LF: {
			/* The CRLF after a chunk's data, or the one that ends the body. */
			int last = c->state == CHUNK_LAST_CR || c->state == CHUNK_LAST_LF;
			int want_cr = c->state == CHUNK_DATA_CR || c->state == CHUNK_LAST_CR;

			if (ch != (want_cr ? '\r' : '\n')) {
				snprintf(why, whylen, "%s", last ? "trailer fields or no CRLF after "
				    "the last chunk" : "chunk data not followed by CRLF");
				return HTTP_HEAD_BAD;
			}
			if (want_cr)
				c->state = last ? CHUNK_LAST_LF : CHUNK_DATA_LF;
			else if (last) {
				*used = i + 1;
				return HTTP_HEAD_COMPLETE;
			} else {
				c->digits = 0;
				c->state = CHUNK_SIZE;
			}
			break;
		}
		}
		i++;
	}
	*used = n;
	return HTTP_HEAD_INCOMPLETE;
}
