/* json_text.c: the compact JSON text of a message body, the same bytes jansson's
 * json_dumps(v, JSON_COMPACT) writes. Every reply and push is written once into its
 * outbox row, and jansson's writer was the largest single cost of a reply (about 34,000
 * instructions for 300 bytes: a callback per fragment, a UTF-8 decode per character).
 * This one copies runs of plain bytes whole into one growing buffer.
 *
 * Same output as jansson, kept by test_json_text against json_dumps itself: keys in
 * the object's own order, '"' '\\' and characters below U+0020 escaped (\b \f \n \r \t,
 * the others as \u00XX in capitals), everything else as it is; NULL where jansson
 * fails, a string that is not UTF-8. A tree with a real number in it is handed to
 * jansson whole: its shortest-round-trip formatting is not worth copying. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model.h"

/* jansson's own parser stops at 2048 levels; a tree built deeper is refused, not
 * walked down the stack. */
#define JSON_TEXT_MAX_DEPTH	4096
/* put_value's answer when it meets a real number: start again with jansson */
#define REAL_FOUND		(-2)

struct text_buf {
	char	*p;
	size_t	 len, cap;
};

static void
reserve(struct text_buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	while (b->len + more + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 512;
	b->p = xrealloc(b->p, b->cap);
}

static void
put_bytes(struct text_buf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
put_char(struct text_buf *b, char c)
{
	reserve(b, 1);
	b->p[b->len++] = c;
}

/* One pass: runs of plain bytes are copied whole, escapes written, and every
 * multi-byte sequence checked as jansson checks it (utf8_decode). */
static int
put_string(struct text_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;
	uint32_t cp;

	put_char(b, '"');
	while (i < n) {
		unsigned char c = u[i];
		char esc[6] = { '\\', 0, '0', '0', 0, 0 };
		size_t esclen = 2, len;

		if (c >= 0x80) {
			if ((len = utf8_decode(u + i, n - i, &cp)) == 0)
				return -1;
			i += len;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		put_bytes(b, s + run, i - run);
		run = ++i;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0x0f];
			esclen = 6;
			break;
		}
		put_bytes(b, esc, esclen);
	}
	put_bytes(b, s + run, n - run);
	put_char(b, '"');
	return 0;
}

static int
put_value(struct text_buf *b, json_t *v, int depth)
{
	char num[32];
	const char *key;
	json_t *item;
	size_t i;
	int n, rc;

	if (depth > JSON_TEXT_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		put_char(b, '{');
		i = 0;
		json_object_foreach(v, key, item) {
			if (i++ > 0)
				put_char(b, ',');
			if (put_string(b, key, strlen(key)) == -1)
				return -1;
			put_char(b, ':');
			if ((rc = put_value(b, item, depth + 1)) != 0)
				return rc;
		}
		put_char(b, '}');
		return 0;
	case JSON_ARRAY:
		put_char(b, '[');
		json_array_foreach(v, i, item) {
			if (i > 0)
				put_char(b, ',');
			if ((rc = put_value(b, item, depth + 1)) != 0)
				return rc;
		}
		put_char(b, ']');
		return 0;
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put_bytes(b, num, (size_t)n);
		return 0;
	case JSON_TRUE:
		put_bytes(b, "true", 4);
		return 0;
	case JSON_FALSE:
		put_bytes(b, "false", 5);
		return 0;
	case JSON_NULL:
		put_bytes(b, "null", 4);
		return 0;
	default:		/* JSON_REAL: the whole tree goes to jansson */
		return REAL_FOUND;
	}
}

char *
json_text(json_t *v)
{
	struct text_buf b = { NULL, 0, 0 };
	int rc;

	/* as json_dumps without JSON_ENCODE_ANY: an object or an array */
	if (!json_is_object(v) && !json_is_array(v))
		return NULL;
	if ((rc = put_value(&b, v, 0)) != 0) {
		free(b.p);
		return rc == REAL_FOUND ? json_dumps(v, JSON_COMPACT) : NULL;
	}
	b.p[b.len] = '\0';
	return b.p;
}
