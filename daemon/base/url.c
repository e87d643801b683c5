/* url.c: percent-encoding (RFC 3986), the one encoder for path segments, query and form
 * values, share links and the LINE URL schemes: everything but the unreserved
 * characters is encoded, byte by byte. */
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
