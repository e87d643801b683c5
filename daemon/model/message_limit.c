/* message_limit.c: LINE's and LINE WORKS's limits on the strings of a message: the
 * field table (how long each string may be, counted how, whether it is a URL) and
 * cutting a rendered string to its field's limit the way each platform counts, never
 * inside a UTF-8 sequence or a %XX escape. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "message_internal.h"

#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026: one UTF-16 unit, one character */

const struct field msg_f_plain = { UNIT_NONE, 0, 0, SCHEME_NONE };
const struct field msg_f_line_text = { UNIT_UTF16, 5000, 0, SCHEME_NONE };
const struct field msg_f_works_text = { UNIT_UTF16, 2000, 0, SCHEME_NONE };
const struct field msg_f_works_content = { UNIT_UTF16, 1000, 0, SCHEME_NONE };
const struct field msg_f_alt = { UNIT_CHARS, 400, 0, SCHEME_NONE };
const struct field msg_f_title = { UNIT_CHARS, 40, 0, SCHEME_NONE };
const struct field msg_f_buttons_text = { UNIT_CHARS, 160, 0, SCHEME_NONE };
const struct field msg_f_buttons_text_image = { UNIT_CHARS, 60, 0, SCHEME_NONE };
const struct field msg_f_confirm_text = { UNIT_CHARS, 240, 0, SCHEME_NONE };
const struct field msg_f_label = { UNIT_CHARS, 20, 0, SCHEME_NONE };
const struct field msg_f_alias = { UNIT_CHARS, 32, 0, SCHEME_NONE };
const struct field msg_f_300 = { UNIT_CHARS, 300, 0, SCHEME_NONE };
const struct field msg_f_1000 = { UNIT_CHARS, 1000, 0, SCHEME_NONE };	/* clipboard text */
const struct field msg_f_uri = { UNIT_CHARS, 1000, 1, SCHEME_LINK };
const struct field msg_f_line_image = { UNIT_CHARS, 2000, 1, SCHEME_HTTPS };
const struct field msg_f_works_image = { UNIT_CHARS, 1000, 1, SCHEME_HTTPS };
const struct field msg_f_flex_uri = { UNIT_CHARS, 1000, 1, SCHEME_NONE };
const struct field msg_f_flex_url = { UNIT_CHARS, 2000, 1, SCHEME_NONE };

void
msg_buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 64 : b->cap * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Where to cut a URL at or before i: not inside a %XX escape, and not inside the
 * escapes of one UTF-8 character, which would decode to garbage at the far end. */
static size_t
url_cut_point(const char *p, size_t i)
{
	size_t j, k = 0;
	int v, need;

	if (i >= 1 && p[i - 1] == '%')
		i -= 1;
	else if (i >= 2 && p[i - 2] == '%')
		i -= 2;
	for (j = i; k < 3 && j >= 3 && p[j - 3] == '%' &&
	    (v = url_hex_byte(p + j - 2)) >= 0x80 && v <= 0xbf; j -= 3)
		k++;
	if (j >= 3 && p[j - 3] == '%' && (v = url_hex_byte(p + j - 2)) >= 0xc0) {
		need = v >= 0xf0 ? 4 : v >= 0xe0 ? 3 : 2;
		if (k + 1 < (size_t)need)
			i = j - 3;
	}
	return i;
}

/* Cuts b to the field's limit, ending with "…" (a URL is cut bare, and never inside a
 * %XX escape); never inside a UTF-8 sequence, so never inside a surrogate pair.
 * Returns the units kept before any "…". */
size_t
msg_buf_cut(struct buf *b, const struct field *f)
{
	const unsigned char *p = (const unsigned char *)b->p;
	size_t total, keep, i = 0, acc = 0, k, u;
	uint32_t cp;

	total = utf8_count(b->p, b->len, f->unit == UNIT_UTF16);
	if (f->limit == 0 || total <= f->limit)
		return total;
	keep = f->url ? f->limit : f->limit - 1;
	while (i < b->len) {
		k = utf8_next(p + i, b->len - i, &cp);
		u = utf8_cp_units(cp, f->unit == UNIT_UTF16);
		if (acc + u > keep)
			break;
		acc += u;
		i += k;
	}
	if (f->url) {
		k = url_cut_point(b->p, i);
		acc -= i - k;		/* what goes back is ASCII */
		i = k;
	}
	b->len = i;
	b->p[i] = '\0';
	if (!f->url)
		msg_buf_add(b, ELLIPSIS, sizeof(ELLIPSIS) - 1);
	return acc;
}
