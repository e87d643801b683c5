/* utf8.c: the one UTF-8 decoder and encoder, and the two ways LINE counts text (UTF-16
 * units for message text, code points for labels). Customers' text is untrusted: every
 * function here takes malformed input without reading past its end. */
#include <stdint.h>
#include <string.h>

#include "base.h"

/* Well-formed UTF-8 (The Unicode Standard, table 3-7): by lead byte, how many bytes
 * follow and the range the second byte must fall in. The narrowed second-byte ranges
 * are what refuse overlong forms, surrogates and code points above U+10FFFF. */
static const struct utf8_lead {
	unsigned char	lo, hi;		/* lead byte range */
	unsigned char	more;		/* continuation bytes */
	unsigned char	lo2, hi2;	/* second byte range */
	uint32_t	mask;		/* payload bits of the lead byte */
} utf8_leads[] = {
	{ 0xc2, 0xdf, 1, 0x80, 0xbf, 0x1f },
	{ 0xe0, 0xe0, 2, 0xa0, 0xbf, 0x0f },
	{ 0xe1, 0xec, 2, 0x80, 0xbf, 0x0f },
	{ 0xed, 0xed, 2, 0x80, 0x9f, 0x0f },
	{ 0xee, 0xef, 2, 0x80, 0xbf, 0x0f },
	{ 0xf0, 0xf0, 3, 0x90, 0xbf, 0x07 },
	{ 0xf1, 0xf3, 3, 0x80, 0xbf, 0x07 },
	{ 0xf4, 0xf4, 3, 0x80, 0x8f, 0x07 },
};

size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	const struct utf8_lead *l;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	/* The row of the table above, found without walking it (Japanese text is
	 * mostly three-byte sequences, and every byte of a message body comes here). */
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	l = &utf8_leads[s[0] <= 0xdf ? 0 : s[0] == 0xe0 ? 1 : s[0] <= 0xec ? 2 :
	    s[0] == 0xed ? 3 : s[0] <= 0xef ? 4 : s[0] == 0xf0 ? 5 : s[0] <= 0xf3 ? 6 : 7];
	if (n < 1 + (size_t)l->more || s[1] < l->lo2 || s[1] > l->hi2)
		return 0;
	c = s[0] & l->mask;
	for (size_t i = 1; i <= l->more; i++) {
		if (i > 1 && (s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return 1 + (size_t)l->more;
}

size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t k = utf8_decode(s, n, cp);

	if (k == 0) {
		*cp = UTF8_REPLACEMENT_CP;
		k = 1;
	}
	return k;
}

size_t
utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
utf8_cp_units(uint32_t cp, int utf16)
{
	return utf16 && cp >= 0x10000 ? 2 : 1;
}

size_t
utf8_count(const char *s, size_t n, int utf16)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, units = 0;
	uint32_t cp;

	while (i < n) {
		i += utf8_next(p + i, n - i, &cp);
		units += utf8_cp_units(cp, utf16);
	}
	return units;
}

size_t
utf16_units(const char *utf8)
{
	return utf8 == NULL ? 0 : utf8_count(utf8, strlen(utf8), 1);
}

size_t
utf8_chars(const char *utf8)
{
	return utf8 == NULL ? 0 : utf8_count(utf8, strlen(utf8), 0);
}

size_t
utf8_prefix(const char *utf8, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t len = strlen(utf8), at = 0, chars = 0;
	uint32_t cp;

	while (at < len && chars < max_chars) {
		at += utf8_next(p + at, len - at, &cp);
		chars++;
	}
	return at;
}

char *
name_first_word(const char *name)
{
	size_t n = strcspn(name, " "), wide;
	const char *ideographic = strstr(name, "\xE3\x80\x80");	/* U+3000 */

	if (ideographic != NULL && (wide = (size_t)(ideographic - name)) < n)
		n = wide;
	if (n == 0)	/* a name that starts with a space: the whole of it */
		n = strlen(name);
	return xasprintf("%.*s", (int)n, name);
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at = 0, len;
	uint32_t cp;

	while (at < n) {
		if (p[at] < 0x80) {	/* most of a webhook body: skipped without a call */
			at++;
			continue;
		}
		if ((len = utf8_decode(p + at, n - at, &cp)) == 0)
			return 0;
		at += len;
	}
	return 1;
}
