/* image.c: the type and pixel size of a rich menu image, read from its header so that
 * a wrong file is refused at config load rather than by LINE's upload (415 or 400)
 * after the menu has been created. The file comes from disk and is not trusted: every
 * read is checked against len first. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* Signature, IHDR length and type, the 13 header bytes, CRC: the header is only taken
 * when it is all there, so a file cut inside it is reported as cut. */
#define PNG_IHDR_END	(8 + 8 + 13 + 4)
#define PNG_DIM_MAX	0x7fffffffu	/* PNG spec: width and height fit in 31 bits */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int
png_probe(const unsigned char *d, size_t len, unsigned *width, unsigned *height,
    char *why, size_t whylen)
{
	uint32_t w, h;

	if (len < PNG_IHDR_END) {
		snprintf(why, whylen, "truncated PNG header");
		return -1;
	}
	if (memcmp(d + 12, "IHDR", 4) != 0) {
		snprintf(why, whylen, "PNG does not start with an IHDR chunk");
		return -1;
	}
	if (be32(d + 8) != 13) {
		snprintf(why, whylen, "PNG IHDR chunk is %lu bytes, not 13",
		    (unsigned long)be32(d + 8));
		return -1;
	}
	w = be32(d + 16);
	h = be32(d + 20);
	if (w == 0 || h == 0 || w > PNG_DIM_MAX || h > PNG_DIM_MAX) {
		snprintf(why, whylen, "PNG size %lux%lu is not valid", (unsigned long)w,
		    (unsigned long)h);
		return -1;
	}
	*width = w;
	*height = h;
	return 0;
}

/* SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
static int
is_sof(unsigned char m)
{
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/* A frame header segment f of seglen bytes (counting its length field): P, Y, X, Nf
 * and three bytes for each component (T.81 B.2.2). */
static int
jpeg_frame(const unsigned char *f, size_t seglen, size_t off, unsigned *width,
    unsigned *height, char *why, size_t whylen)
{
	unsigned w, h, nf;

	if (seglen < 8 || seglen != 8 + 3 * (size_t)f[7]) {
		snprintf(why, whylen, "JPEG frame header at offset %zu has a bad length", off);
		return -1;
	}
	h = be16(f + 3);
	w = be16(f + 5);
	nf = f[7];
	if (nf == 0) {
		snprintf(why, whylen, "JPEG frame header at offset %zu has no components", off);
		return -1;
	}
	/* A height of 0 is legal but defers it to a DNL marker after the first scan,
	 * which few decoders (and likely not LINE's) accept. */
	if (h == 0) {
		snprintf(why, whylen, "JPEG height is left to a DNL marker (not supported)");
		return -1;
	}
	if (w == 0) {
		snprintf(why, whylen, "JPEG width is zero");
		return -1;
	}
	*width = w;
	*height = h;
	return 0;
}

/* Walks the marker segments after SOI (T.81 B.1.1) up to the first frame header. Every
 * step consumes at least one byte, so the walk ends. */
static int
jpeg_probe(const unsigned char *d, size_t len, unsigned *width, unsigned *height,
    char *why, size_t whylen)
{
	size_t pos = 2;

	for (;;) {
		size_t at, seglen;
		unsigned char m;

		if (pos >= len) {
			snprintf(why, whylen, "JPEG ends before its frame header");
			return -1;
		}
		if (d[pos] != 0xff) {
			snprintf(why, whylen, "JPEG has no marker at offset %zu", pos);
			return -1;
		}
		at = pos;
		/* Any number of 0xff fill bytes may come before a marker. */
		while (pos < len && d[pos] == 0xff)
			pos++;
		if (pos >= len) {
			snprintf(why, whylen, "JPEG ends before its frame header");
			return -1;
		}
		m = d[pos++];
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))
			continue;	/* TEM, RSTn: no length, no payload */
		if (m == 0xd9 || m == 0xda) {
			snprintf(why, whylen, "JPEG without a frame header");
			return -1;
		}
		if (m == 0x00 || m == 0xd8) {
			snprintf(why, whylen, "JPEG has a misplaced marker 0x%02x at offset %zu",
			    m, at);
			return -1;
		}
		if (len - pos < 2) {
			snprintf(why, whylen, "truncated JPEG segment at offset %zu", at);
			return -1;
		}
		seglen = be16(d + pos);
		if (seglen < 2) {
			snprintf(why, whylen, "JPEG segment at offset %zu has length %zu", at,
			    seglen);
			return -1;
		}
		if (seglen > len - pos) {
			snprintf(why, whylen, "truncated JPEG segment at offset %zu", at);
			return -1;
		}
		if (is_sof(m))
			return jpeg_frame(d + pos, seglen, at, width, height, why, whylen);
		pos += seglen;
	}
}

int
image_probe(const unsigned char *data, size_t len, enum image_type *type,
    unsigned *width, unsigned *height, char *why, size_t whylen)
{
	*type = IMAGE_UNKNOWN;
	*width = *height = 0;
	if (len == 0) {
		snprintf(why, whylen, "empty file");
		return -1;
	}
	if (memcmp(data, png_sig, len < sizeof(png_sig) ? len : sizeof(png_sig)) == 0) {
		if (png_probe(data, len, width, height, why, whylen) == -1)
			return -1;
		*type = IMAGE_PNG;
		return 0;
	}
	if (data[0] == 0xff && (len == 1 || data[1] == 0xd8)) {
		if (len == 1) {
			snprintf(why, whylen, "truncated JPEG header");
			return -1;
		}
		if (jpeg_probe(data, len, width, height, why, whylen) == -1)
			return -1;
		*type = IMAGE_JPEG;
		return 0;
	}
	snprintf(why, whylen, "not a PNG or JPEG file");
	return -1;
}

const char *
image_content_type(enum image_type type)
{
	switch (type) {
	case IMAGE_PNG:
		return "image/png";
	case IMAGE_JPEG:
		return "image/jpeg";
	case IMAGE_UNKNOWN:
		break;
	}
	return NULL;
}
