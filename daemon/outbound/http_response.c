/* http_response.c: an HTTP/1.1 response read from the bytes as they arrive, for the
 * outbound client (http_client.c). Pure: no sockets, no clock, so the unit tests and the
 * fuzzer feed it any split of any bytes.
 *
 * The head is kept as it came (its lines, CRLF-terminated, without the status line) for
 * http_response_header; the body is decoded (chunked) into one buffer with a NUL after
 * it. Limits: the head HTTP_RESPONSE_HEAD_MAX, the decoded body HTTP_RESPONSE_BODY_MAX;
 * beyond either the answer is refused, never cut short silently. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../shokaid.h"

enum {
	ST_HEAD,
	ST_LENGTH,		/* Content-Length bytes of body */
	ST_CHUNK_SIZE,		/* a chunk's size line */
	ST_CHUNK_DATA,
	ST_CHUNK_END,		/* the CRLF after a chunk's data */
	ST_TRAILER,		/* lines after the last chunk, up to an empty one */
	ST_UNTIL_CLOSE,		/* no length: the body ends when the peer closes */
	ST_DONE
};

#define LINE_MAX_CHUNK	256	/* a chunk-size line with its extensions */

void
http_response_parser_init(struct http_response_parser *p, int head_only)
{
	memset(p, 0, sizeof(*p));
	p->head_only = head_only;
	p->state = ST_HEAD;
}

void
http_response_parser_free(struct http_response_parser *p)
{
	free(p->raw);
	free(p->headers);
	free(p->body);
	memset(p, 0, sizeof(*p));
}

static void
grow(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 512;

	if (need <= *cap)
		return;
	while (n < need)
		n *= 2;
	*buf = xrealloc(*buf, n);
	*cap = n;
}

static enum http_parse
body_add(struct http_response_parser *p, const char *data, size_t n)
{
	if (p->body_len + n > HTTP_RESPONSE_BODY_MAX)
		return HTTP_PARSE_TOO_LONG;
	grow(&p->body, &p->body_cap, p->body_len + n + 1);
	memcpy(p->body + p->body_len, data, n);
	p->body_len += n;
	p->body[p->body_len] = '\0';
	return HTTP_PARSE_MORE;
}

/* Up to p->left bytes of the body (or of its chunk) from the piece. */
static enum http_parse
body_take(struct http_response_parser *p, const char **data, size_t *len)
{
	size_t n = *len < p->left ? *len : (size_t)p->left;
	enum http_parse rc = body_add(p, *data, n);

	if (rc == HTTP_PARSE_MORE) {
		*data += n;
		*len -= n;
		p->left -= n;
	}
	return rc;
}

/* "HTTP/1.1 200 OK": the version and a three-digit status. */
static int
status_line(struct http_response_parser *p, const char *s, size_t n)
{
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
	    s[8] != ' ' || !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
	    !isdigit((unsigned char)s[11]) || (n > 12 && s[12] != ' '))
		return -1;
	p->http11 = s[7] == '1';
	p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return p->status >= 100 ? 0 : -1;
}

/* One header line (no line end): framing fields are noted, every line is kept. */
static int
header_line(struct http_response_parser *p, const char *s, size_t n, int *close,
    int *keep_alive, int *length_seen, uint64_t *length, int *chunked)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t nl, vl;

	if (colon == NULL || colon == s || *s == ' ' || *s == '\t')
		return -1;	/* no name, or an obsolete folded line */
	nl = (size_t)(colon - s);
	for (size_t i = 0; i < nl; i++)
		if (s[i] <= ' ' || s[i] >= 127)
			return -1;
	for (v = colon + 1; v < s + n && (*v == ' ' || *v == '\t'); v++)
		continue;
	vl = (size_t)(s + n - v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (nl == 14 && strncasecmp(s, "Content-Length", nl) == 0) {
		uint64_t x = 0;

		if (vl == 0 || vl > 15)
			return -1;
		for (size_t i = 0; i < vl; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -1;
			x = x * 10 + (uint64_t)(v[i] - '0');
		}
		if (*length_seen && x != *length)
			return -1;
		*length_seen = 1;
		*length = x;
	} else if (nl == 17 && strncasecmp(s, "Transfer-Encoding", nl) == 0) {
		/* chunked must be the last coding; any other coding we cannot undo */
		if (vl < 7 || strncasecmp(v + vl - 7, "chunked", 7) != 0 ||
		    (vl > 7 && v[vl - 8] != ',' && v[vl - 8] != ' '))
			return -1;
		*chunked = 1;
	} else if (nl == 10 && strncasecmp(s, "Connection", nl) == 0) {
		*close |= http_token_in(v, vl, "close");
		*keep_alive |= http_token_in(v, vl, "keep-alive");
	}
	grow(&p->headers, &p->headers_cap, p->headers_len + nl + vl + 5);
	memcpy(p->headers + p->headers_len, s, nl);
	p->headers_len += nl;
	memcpy(p->headers + p->headers_len, ": ", 2);
	p->headers_len += 2;
	memcpy(p->headers + p->headers_len, v, vl);
	p->headers_len += vl;
	memcpy(p->headers + p->headers_len, "\r\n", 3);
	p->headers_len += 2;
	return 0;
}

/* The head in p->raw is whole (ends with an empty line): read it and choose how the body
 * is framed. 1xx answers are skipped (the real one follows). */
static enum http_parse
head_done(struct http_response_parser *p)
{
	const char *s = p->raw, *end = p->raw + p->raw_len;
	int close = 0, keep_alive = 0, length_seen = 0, chunked = 0, first = 1;
	uint64_t length = 0;

	p->headers_len = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)(nl - s);

		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if (first ? status_line(p, s, n) :
		    header_line(p, s, n, &close, &keep_alive, &length_seen, &length,
		    &chunked))
			return HTTP_PARSE_BAD;
		first = 0;
		s = nl + 1;
	}
	if (first)
		return HTTP_PARSE_BAD;	/* an empty line where the status line belongs */
	if (p->headers == NULL)
		grow(&p->headers, &p->headers_cap, 1);
	p->headers[p->headers_len] = '\0';
	p->raw_len = 0;
	if (p->status < 200) {
		if (p->status == 101)
			return HTTP_PARSE_BAD;	/* we never ask to switch protocols */
		p->state = ST_HEAD;	/* 100 Continue and the like: the answer follows */
		return HTTP_PARSE_MORE;
	}
	p->keep_alive = !close && (p->http11 || keep_alive);
	if (chunked && length_seen)
		return HTTP_PARSE_BAD;	/* RFC 9112 6.3: a sign of smuggling */
	if (p->head_only || p->status == 204 || p->status == 304) {
		p->state = ST_DONE;
	} else if (chunked) {
		p->state = ST_CHUNK_SIZE;
	} else if (length_seen) {
		if (length > HTTP_RESPONSE_BODY_MAX)
			return HTTP_PARSE_TOO_LONG;
		p->left = length;
		p->state = length > 0 ? ST_LENGTH : ST_DONE;
	} else {
		p->keep_alive = 0;
		p->state = ST_UNTIL_CLOSE;
	}
	if (p->body == NULL)
		grow(&p->body, &p->body_cap, 1);
	p->body[0] = '\0';
	return p->state == ST_DONE ? HTTP_PARSE_DONE : HTTP_PARSE_MORE;
}

/* A line of the chunked framing collected in p->raw (size line or trailer line); 1 when
 * whole (without its line end in *n), 0 when more bytes are needed, -1 when too long. */
static int
chunk_line(struct http_response_parser *p, const char **data, size_t *len, size_t *n)
{
	const char *nl = memchr(*data, '\n', *len);
	size_t take = nl != NULL ? (size_t)(nl - *data) + 1 : *len;

	if (p->raw_len + take > LINE_MAX_CHUNK)
		return -1;
	grow(&p->raw, &p->raw_cap, p->raw_len + take + 1);
	memcpy(p->raw + p->raw_len, *data, take);
	p->raw_len += take;
	*data += take;
	*len -= take;
	if (nl == NULL)
		return 0;
	*n = p->raw_len - 1;
	if (*n > 0 && p->raw[*n - 1] == '\r')
		(*n)--;
	p->raw_len = 0;
	return 1;
}

static int
chunk_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n && isxdigit((unsigned char)s[i]); i++) {
		if (i >= 8)
			return -1;	/* larger than any answer we take */
		x = x * 16 + (uint64_t)(isdigit((unsigned char)s[i]) ? s[i] - '0' :
		    (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return -1;
	*out = x;
	return 0;
}

enum http_parse
http_response_feed(struct http_response_parser *p, const char *data, size_t len,
    size_t *used)
{
	const char *start = data;
	enum http_parse rc = HTTP_PARSE_MORE;
	size_t n;
	int r;

	p->received += len;
	while (rc == HTTP_PARSE_MORE && len > 0) {
		switch (p->state) {
		case ST_HEAD: {
			/* Bytes up to the empty line; a line end may straddle two pieces. */
			size_t from = p->raw_len >= 3 ? p->raw_len - 3 : 0, take = len;
			const char *end = NULL;

			grow(&p->raw, &p->raw_cap, p->raw_len + len + 1);
			memcpy(p->raw + p->raw_len, data, len);
			for (size_t i = from; i < p->raw_len + len; i++)
				if (p->raw[i] == '\n' && ((i >= 1 && p->raw[i - 1] == '\n') ||
				    (i >= 2 && p->raw[i - 1] == '\r' && p->raw[i - 2] == '\n'))) {
					end = p->raw + i + 1;
					break;
				}
			if (end == NULL) {
				p->raw_len += len;
				if (p->raw_len > HTTP_RESPONSE_HEAD_MAX)
					return HTTP_PARSE_TOO_LONG;
				data += len;
				len = 0;
				break;
			}
			take = (size_t)(end - p->raw) - p->raw_len;
			p->raw_len += take;
			if (p->raw_len > HTTP_RESPONSE_HEAD_MAX)
				return HTTP_PARSE_TOO_LONG;
			data += take;
			len -= take;
			rc = head_done(p);
			break;
		}
		case ST_LENGTH:
			if ((rc = body_take(p, &data, &len)) == HTTP_PARSE_MORE && p->left == 0) {
				p->state = ST_DONE;
				rc = HTTP_PARSE_DONE;
			}
			break;
		case ST_CHUNK_SIZE:
			if ((r = chunk_line(p, &data, &len, &n)) <= 0) {
				rc = r < 0 ? HTTP_PARSE_BAD : HTTP_PARSE_MORE;
				break;
			}
			if (chunk_size(p->raw, n, &p->left) == -1) {
				rc = HTTP_PARSE_BAD;
				break;
			}
			if (p->body_len + p->left > HTTP_RESPONSE_BODY_MAX) {
				rc = HTTP_PARSE_TOO_LONG;
				break;
			}
			p->state = p->left > 0 ? ST_CHUNK_DATA : ST_TRAILER;
			break;
		case ST_CHUNK_DATA:
			if ((rc = body_take(p, &data, &len)) == HTTP_PARSE_MORE && p->left == 0)
				p->state = ST_CHUNK_END;
			break;
		case ST_CHUNK_END:
			if ((r = chunk_line(p, &data, &len, &n)) <= 0) {
				rc = r < 0 ? HTTP_PARSE_BAD : HTTP_PARSE_MORE;
				break;
			}
			if (n != 0)
				rc = HTTP_PARSE_BAD;
			else
				p->state = ST_CHUNK_SIZE;
			break;
		case ST_TRAILER:
			/* trailer fields are read and dropped: nothing we use comes there */
			if ((r = chunk_line(p, &data, &len, &n)) <= 0) {
				rc = r < 0 ? HTTP_PARSE_BAD : HTTP_PARSE_MORE;
				break;
			}
			if (n == 0) {
				p->state = ST_DONE;
				rc = HTTP_PARSE_DONE;
			}
			break;
		case ST_UNTIL_CLOSE:
			rc = body_add(p, data, len);
			data += len;
			len = 0;
			break;
		default:
			rc = HTTP_PARSE_DONE;
			break;
		}
	}
	if (rc == HTTP_PARSE_MORE && p->state == ST_DONE)
		rc = HTTP_PARSE_DONE;
	*used = (size_t)(data - start);
	return rc;
}

enum http_parse
http_response_eof(struct http_response_parser *p)
{
	if (p->state == ST_DONE)
		return HTTP_PARSE_DONE;
	if (p->state == ST_UNTIL_CLOSE) {
		p->state = ST_DONE;
		return HTTP_PARSE_DONE;
	}
	return HTTP_PARSE_BAD;
}

void
http_response_parser_reset(struct http_response_parser *p)
{
	/* Buffers of a usual answer are kept for the connection's next one. */
	if (p->raw_cap > 4096) {
		free(p->raw);
		p->raw = NULL;
		p->raw_cap = 0;
	}
	if (p->body_cap > 16384) {
		free(p->body);
		p->body = NULL;
		p->body_cap = 0;
	}
	p->raw_len = p->headers_len = p->body_len = 0;
	p->state = ST_HEAD;
	p->status = p->http11 = p->keep_alive = 0;
	p->left = 0;
	p->received = 0;
}
