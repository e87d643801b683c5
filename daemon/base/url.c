/* url.c: percent-encoding (RFC 3986), the one encoder for path segments, query and form
 * values, share links and the LINE URL schemes: everything but the unreserved
 * characters is encoded, byte by byte; and the reading of one %XX escape, for the
 * decoder of postback data and the cutting of encoded URLs in messages. */
#include <string.h>

#include "base.h"

int
url_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

size_t
url_encode_byte(unsigned char c, char out[3])
{
	static const char hex[] = "0123456789ABCDEF";

	if (url_unreserved(c)) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '%';
	out[1] = hex[c >> 4];
	out[2] = hex[c & 0xf];
	return 3;
}

char *
url_encode(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(3 * n + 1);

	for (size_t i = 0; i < n; i++)
		o += url_encode_byte((unsigned char)s[i], out + o);
	out[o] = '\0';
	return out;
}

int
url_hex_byte(const char *p)
{
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else
			return -1;
	}
	return v;
}
