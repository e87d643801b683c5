/* test_text_base.c: the one UTF-8 decoder and the one percent-encoder (base/utf8.c,
 * base/url.c) that message templates, keyword matching, share links and the API clients
 * all use. Truncated input must never be read past its length (ASan checks that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/base/base.h"

/* Copies the bytes into an exact-size heap buffer so ASan sees a read past n. */
static size_t
decode_exact(const char *bytes, size_t n, uint32_t *cp)
{
	unsigned char *b = malloc(n ? n : 1);
	size_t k;

	memcpy(b, bytes, n);
	k = utf8_decode(b, n, cp);
	free(b);
	return k;
}

static void
test_decode_well_formed(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(decode_exact("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(decode_exact("\xc3\xa9", 2, &cp), 2);		/* é */
	assert_int_equal(cp, 0xe9);
	assert_int_equal(decode_exact("\xe7\xb4\xb9", 3, &cp), 3);	/* 紹 */
	assert_int_equal(cp, 0x7d39);
	assert_int_equal(decode_exact("\xf0\x9f\x98\x80", 4, &cp), 4);	/* U+1F600 */
	assert_int_equal(cp, 0x1f600);
}

static void
test_decode_refuses_malformed(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(decode_exact("\xc0\xaf", 2, &cp), 0);		/* overlong '/' */
	assert_int_equal(decode_exact("\xe0\x80\xaf", 3, &cp), 0);	/* overlong */
	assert_int_equal(decode_exact("\xed\xa0\x80", 3, &cp), 0);	/* surrogate */
	assert_int_equal(decode_exact("\xf4\x90\x80\x80", 4, &cp), 0);	/* > U+10FFFF */
	assert_int_equal(decode_exact("\x80", 1, &cp), 0);		/* lone continuation */
	assert_int_equal(decode_exact("\xe7\xb4", 2, &cp), 0);		/* truncated */
	assert_int_equal(decode_exact("\xf0\x9f\x98", 3, &cp), 0);	/* truncated */
	assert_int_equal(decode_exact("\xe7\x41\xb9", 3, &cp), 0);	/* bad continuation */
	assert_int_equal(decode_exact("", 0, &cp), 0);
}

/* Every lead byte with every second byte, against the definition itself: a sequence is
 * well-formed when its bits decode to a scalar value (not a surrogate, at most U+10FFFF)
 * whose shortest encoding is these very bytes. */
static void
test_decode_every_lead_and_second_byte(void **state)
{
	(void)state;
	for (unsigned b0 = 0x80; b0 <= 0xff; b0++) {
		size_t len = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 0;

		for (unsigned b1 = 0; b1 <= 0xff; b1++) {
			unsigned char seq[4] = { (unsigned char)b0, (unsigned char)b1, 0xbf, 0x80 };
			uint32_t cp = 0, want = 0;
			int valid = len > 0 && b0 < 0xf8 && (b1 & 0xc0) == 0x80;
			char again[4];

			if (valid) {
				want = b0 & (0x7f >> len);
				for (size_t i = 1; i < len; i++)
					want = (want << 6) | (seq[i] & 0x3f);
				valid = want <= 0x10ffff && !(want >= 0xd800 && want <= 0xdfff) &&
				    utf8_encode(want, again) == len && memcmp(again, seq, len) == 0;
			}
			assert_int_equal(decode_exact((const char *)seq, 4, &cp), valid ? len : 0);
			if (valid)
				assert_int_equal(cp, want);
		}
	}
}

static void
test_next_takes_bad_bytes_as_replacement(void **state)
{
	const unsigned char s[] = { 0xff, 'a' };
	uint32_t cp;

	(void)state;
	assert_int_equal(utf8_next(s, 2, &cp), 1);
	assert_int_equal(cp, UTF8_REPLACEMENT_CP);
	assert_int_equal(utf8_next(s + 1, 1, &cp), 1);
	assert_int_equal(cp, 'a');
}

static void
test_encode_round_trips(void **state)
{
	const uint32_t cps[] = { 0x24, 0xa2, 0x20ac, 0x10348, 0x7d39 };
	char out[4];
	uint32_t back;

	(void)state;
	for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		size_t n = utf8_encode(cps[i], out);

		assert_int_equal(utf8_decode((unsigned char *)out, n, &back), n);
		assert_int_equal(back, cps[i]);
	}
}

static void
test_counts_as_line_does(void **state)
{
	(void)state;
	assert_int_equal(utf16_units("紹介😀"), 4);	/* the emoji is a surrogate pair */
	assert_int_equal(utf8_chars("紹介😀"), 3);
	assert_int_equal(utf8_chars("\xff" "a"), 2);	/* a bad byte counts as one */
	assert_int_equal(utf8_chars(NULL), 0);
	assert_int_equal(utf8_count("紹介😀", 3, 1), 1);
	assert_int_equal(utf8_cp_units(0x1f600, 1), 2);
	assert_int_equal(utf8_cp_units(0x1f600, 0), 1);
	assert_int_equal(utf8_cp_units(0xffff, 1), 1);
}

static void
test_percent_encoding(void **state)
{
	char *s;

	(void)state;
	s = url_encode("AZaz09-._~");
	assert_string_equal(s, "AZaz09-._~");
	free(s);
	s = url_encode("a b&c=d/e?f@g+h%");
	assert_string_equal(s, "a%20b%26c%3Dd%2Fe%3Ff%40g%2Bh%25");
	free(s);
	s = url_encode("紹介");
	assert_string_equal(s, "%E7%B4%B9%E4%BB%8B");
	free(s);
	s = url_encode("");
	assert_string_equal(s, "");
	free(s);
}

/* The XX of a %XX escape, read from an exact-size buffer: a bad first digit stops the
 * read before the second byte. */
static void
test_hex_byte(void **state)
{
	char *b = malloc(1);

	(void)state;
	assert_int_equal(url_hex_byte("E7"), 0xe7);
	assert_int_equal(url_hex_byte("bf"), 0xbf);
	assert_int_equal(url_hex_byte("00"), 0);
	assert_int_equal(url_hex_byte("0g"), -1);
	assert_int_equal(url_hex_byte("%4"), -1);
	assert_int_equal(url_hex_byte(""), -1);
	b[0] = 'x';
	assert_int_equal(url_hex_byte(b), -1);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_well_formed),
		cmocka_unit_test(test_decode_refuses_malformed),
		cmocka_unit_test(test_decode_every_lead_and_second_byte),
		cmocka_unit_test(test_next_takes_bad_bytes_as_replacement),
		cmocka_unit_test(test_encode_round_trips),
		cmocka_unit_test(test_counts_as_line_does),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_hex_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
