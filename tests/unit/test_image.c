/* test_image.c: image_probe on hand-built PNG and JPEG headers, on every truncation of
 * them (each copied into a buffer of exactly that size, so ASan sees any read past
 * the end), and on files that are neither. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"
#include "testutil.h"

/* Signature and IHDR of a 2500x1686 8-bit RGB image, CRC included. */
static const unsigned char png_2500x1686[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
	0x00, 0x00, 0x00, 0x0d, 'I', 'H', 'D', 'R',
	0x00, 0x00, 0x09, 0xc4, 0x00, 0x00, 0x06, 0x96,
	0x08, 0x02, 0x00, 0x00, 0x00,
	0x16, 0x1f, 0xbb, 0x7f,
};

/* SOI, a JFIF APP0, then a baseline SOF0 of 800x270 with three components. */
static const unsigned char jpeg_800x270[] = {
	0xff, 0xd8,
	0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00,
	0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x0e, 0x03, 0x20, 0x03,
	0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01,
};

/* SOI, a DHT (0xc4: in the SOF range but not a frame header), a TEM and a RST marker,
 * fill bytes, then a progressive SOF2 of 2500x843 with one component. */
static const unsigned char jpeg_progressive[] = {
	0xff, 0xd8,
	0xff, 0xc4, 0x00, 0x06, 0x00, 0x01, 0x02, 0x03,
	0xff, 0x01,
	0xff, 0xd3,
	0xff, 0xff, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0x03, 0x4b, 0x09, 0xc4, 0x01,
	0x01, 0x11, 0x00,
};

static int
probe(const unsigned char *data, size_t len, enum image_type *type, unsigned *w,
    unsigned *h, char *why, size_t whylen)
{
	unsigned char *copy = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, data, len);
	rc = image_probe(copy, len, type, w, h, why, whylen);
	free(copy);
	return rc;
}

static void
check_ok(const unsigned char *data, size_t len, enum image_type want_type,
    unsigned want_w, unsigned want_h)
{
	enum image_type type;
	unsigned w, h;
	char why[128] = "";

	if (probe(data, len, &type, &w, &h, why, sizeof(why)) != 0)
		fail_msg("image_probe failed: %s", why);
	assert_int_equal(type, want_type);
	assert_int_equal(w, want_w);
	assert_int_equal(h, want_h);
}

static void
check_error(const unsigned char *data, size_t len, const char *want_why)
{
	enum image_type type;
	unsigned w, h;
	char why[128] = "";

	assert_int_equal(probe(data, len, &type, &w, &h, why, sizeof(why)), -1);
	assert_int_equal(type, IMAGE_UNKNOWN);
	if (want_why != NULL)
		assert_string_equal(why, want_why);
	else if (why[0] == '\0')
		fail_msg("no reason given for a %zu-byte prefix", len);
}

/* Every proper prefix fails with a reason, and no read strays past it. */
static void
check_truncations(const unsigned char *data, size_t len)
{
	for (size_t n = 0; n < len; n++)
		check_error(data, n, NULL);
}

static void
test_png(void **state)
{
	(void)state;
	check_ok(png_2500x1686, sizeof(png_2500x1686), IMAGE_PNG, 2500, 1686);
	check_truncations(png_2500x1686, sizeof(png_2500x1686));
	check_error(png_2500x1686, 5, "truncated PNG header");
	check_error(png_2500x1686, 24, "truncated PNG header");
	check_error(png_2500x1686, sizeof(png_2500x1686) - 1, "truncated PNG header");
}

static void
test_png_bad(void **state)
{
	unsigned char b[sizeof(png_2500x1686)];

	(void)state;
	memcpy(b, png_2500x1686, sizeof(b));
	b[12] = 'i';
	check_error(b, sizeof(b), "PNG does not start with an IHDR chunk");
	memcpy(b, png_2500x1686, sizeof(b));
	b[11] = 0x0e;
	check_error(b, sizeof(b), "PNG IHDR chunk is 14 bytes, not 13");
	memcpy(b, png_2500x1686, sizeof(b));
	memset(b + 16, 0, 4);
	check_error(b, sizeof(b), "PNG size 0x1686 is not valid");
	memcpy(b, png_2500x1686, sizeof(b));
	memset(b + 20, 0xff, 4);
	check_error(b, sizeof(b), "PNG size 2500x4294967295 is not valid");
	/* A signature spoiled by a text-mode transfer (CRLF to LF). */
	memcpy(b, png_2500x1686, sizeof(b));
	memmove(b + 4, b + 5, sizeof(b) - 5);
	check_error(b, sizeof(b) - 1, "not a PNG or JPEG file");
}

static void
test_jpeg(void **state)
{
	(void)state;
	check_ok(jpeg_800x270, sizeof(jpeg_800x270), IMAGE_JPEG, 800, 270);
	check_truncations(jpeg_800x270, sizeof(jpeg_800x270));
	check_error(jpeg_800x270, 1, "truncated JPEG header");
	check_error(jpeg_800x270, 2, "JPEG ends before its frame header");
	check_error(jpeg_800x270, 21, "JPEG ends before its frame header");
	check_error(jpeg_800x270, 10, "truncated JPEG segment at offset 2");
	check_error(jpeg_800x270, 24, "truncated JPEG segment at offset 20");
}

static void
test_jpeg_progressive(void **state)
{
	(void)state;
	check_ok(jpeg_progressive, sizeof(jpeg_progressive), IMAGE_JPEG, 2500, 843);
	check_truncations(jpeg_progressive, sizeof(jpeg_progressive));
}

/* Each frame type that carries a size is found; the markers that share the range
 * (DHT, JPG, DAC) are skipped as ordinary segments. */
static void
test_jpeg_sof_kinds(void **state)
{
	unsigned char b[sizeof(jpeg_800x270)];

	(void)state;
	for (unsigned m = 0xc0; m <= 0xcf; m++) {
		memcpy(b, jpeg_800x270, sizeof(b));
		b[21] = (unsigned char)m;
		if (m == 0xc4 || m == 0xc8 || m == 0xcc)
			check_error(b, sizeof(b), "JPEG ends before its frame header");
		else
			check_ok(b, sizeof(b), IMAGE_JPEG, 800, 270);
	}
}

static void
test_jpeg_bad(void **state)
{
	static const unsigned char eoi[] = { 0xff, 0xd8, 0xff, 0xd9 };
	static const unsigned char sos[] = { 0xff, 0xd8, 0xff, 0xda, 0x00, 0x02 };
	static const unsigned char no_marker[] = { 0xff, 0xd8, 0x00, 0xff, 0xc0 };
	static const unsigned char stuffed[] = { 0xff, 0xd8, 0xff, 0x00 };
	static const unsigned char soi_again[] = { 0xff, 0xd8, 0xff, 0xd8 };
	static const unsigned char short_len[] = { 0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01, 0xff };
	static const unsigned char long_len[] = { 0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 0x00 };
	static const unsigned char fill_only[] = { 0xff, 0xd8, 0xff, 0xff, 0xff };
	static const unsigned char dnl[] = { 0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00,
	    0x00, 0x03, 0x20, 0x01, 0x01, 0x11, 0x00 };
	static const unsigned char zero_w[] = { 0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08,
	    0x01, 0x0e, 0x00, 0x00, 0x01, 0x01, 0x11, 0x00 };
	static const unsigned char no_comp[] = { 0xff, 0xd8, 0xff, 0xc0, 0x00, 0x08, 0x08,
	    0x01, 0x0e, 0x03, 0x20, 0x00 };
	static const unsigned char sof_short[] = { 0xff, 0xd8, 0xff, 0xc0, 0x00, 0x07, 0x08,
	    0x01, 0x0e, 0x03, 0x20 };
	static const unsigned char sof_nf[] = { 0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08,
	    0x01, 0x0e, 0x03, 0x20, 0x03, 0x01, 0x11, 0x00 };

	(void)state;
	check_error(eoi, sizeof(eoi), "JPEG without a frame header");
	check_error(sos, sizeof(sos), "JPEG without a frame header");
	check_error(no_marker, sizeof(no_marker), "JPEG has no marker at offset 2");
	check_error(stuffed, sizeof(stuffed), "JPEG has a misplaced marker 0x00 at offset 2");
	check_error(soi_again, sizeof(soi_again),
	    "JPEG has a misplaced marker 0xd8 at offset 2");
	check_error(short_len, sizeof(short_len), "JPEG segment at offset 2 has length 1");
	check_error(long_len, sizeof(long_len), "truncated JPEG segment at offset 2");
	check_error(fill_only, sizeof(fill_only), "JPEG ends before its frame header");
	check_error(dnl, sizeof(dnl), "JPEG height is left to a DNL marker (not supported)");
	check_error(zero_w, sizeof(zero_w), "JPEG width is zero");
	check_error(no_comp, sizeof(no_comp),
	    "JPEG frame header at offset 2 has no components");
	check_error(sof_short, sizeof(sof_short),
	    "JPEG frame header at offset 2 has a bad length");
	check_error(sof_nf, sizeof(sof_nf), "JPEG frame header at offset 2 has a bad length");
}

static void
test_not_png_or_jpeg(void **state)
{
	static const unsigned char gif[] = { 'G', 'I', 'F', '8', '9', 'a', 0xc4, 0x09,
	    0x96, 0x06, 0x80, 0x00, 0x00 };
	static const unsigned char webp[] = { 'R', 'I', 'F', 'F', 0x24, 0, 0, 0, 'W', 'E',
	    'B', 'P', 'V', 'P', '8', ' ' };
	static const unsigned char text[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
	static const unsigned char ff[] = { 0xff, 0xd9 };

	(void)state;
	check_error(gif, sizeof(gif), "not a PNG or JPEG file");
	check_error(webp, sizeof(webp), "not a PNG or JPEG file");
	check_error(text, sizeof(text) - 1, "not a PNG or JPEG file");
	check_error(ff, sizeof(ff), "not a PNG or JPEG file");
	check_error(gif, 1, "not a PNG or JPEG file");
	check_error(gif, 0, "empty file");
}

/* Random bytes after a real start never make the walk read out of bounds or loop. */
static void
test_random_tails(void **state)
{
	unsigned char b[64];
	enum image_type type;
	unsigned w, h;
	char why[128];

	(void)state;
	srand(5);
	for (int i = 0; i < 100000; i++) {
		size_t len = 2 + (size_t)(rand() % 62);

		for (size_t j = 0; j < len; j++)
			b[j] = rand() % 3 == 0 ? 0xff : (unsigned char)(rand() % 256);
		if (i % 2 == 0) {
			b[0] = 0xff;
			b[1] = 0xd8;
		} else if (len >= 8)
			memcpy(b, png_2500x1686, 8);
		if (probe(b, len, &type, &w, &h, why, sizeof(why)) == 0)
			assert_true(type != IMAGE_UNKNOWN && w > 0 && h > 0);
		else
			assert_int_equal(type, IMAGE_UNKNOWN);
	}
}

static void
test_content_type(void **state)
{
	(void)state;
	assert_string_equal(image_content_type(IMAGE_PNG), "image/png");
	assert_string_equal(image_content_type(IMAGE_JPEG), "image/jpeg");
	assert_null(image_content_type(IMAGE_UNKNOWN));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_png_bad),
		cmocka_unit_test(test_jpeg),
		cmocka_unit_test(test_jpeg_progressive),
		cmocka_unit_test(test_jpeg_sof_kinds),
		cmocka_unit_test(test_jpeg_bad),
		cmocka_unit_test(test_not_png_or_jpeg),
		cmocka_unit_test(test_random_tails),
		cmocka_unit_test(test_content_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
