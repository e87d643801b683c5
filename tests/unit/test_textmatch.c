/* test_textmatch.c: text_normalize folds what Japanese keyboards type differently
 * (full-width and half-width forms, stray spaces) and leaves everything else alone. */
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

static void
check(const char *in, const char *want)
{
	char *got = text_normalize(in);

	if (strcmp(got, want) != 0)
		fail_msg("text_normalize(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void
test_fullwidth_ascii(void **state)
{
	(void)state;
	check("ＡＢＣ１２３", "abc123");
	check("ａｂｃ", "abc");
	check("ＨｅｌｌｏＷｏｒｌｄ", "helloworld");
	/* The ends of the range: U+FF01 ! and U+FF5E ~. */
	check("！～", "!~");
	check("＃１ｓｔ　ＰＲＩＺＥ！", "#1st prize!");
	check("Hello", "hello");
	/* Only ASCII letters are case-folded: full-width Greek and Cyrillic are not. */
	check("ΑΒΓ Ж", "ΑΒΓ Ж");
}

static void
test_ideographic_space(void **state)
{
	(void)state;
	check("紹介　コード", "紹介 コード");
	check("　　紹介　　", "紹介");
	check("a\xe3\x80\x80 \tb", "a b");
}

static void
test_halfwidth_katakana(void **state)
{
	(void)state;
	check("ｼｮｳｶｲ", "ショウカイ");
	check("ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ガギグゲゴ");
	check("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ");
	check("ﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ", "バビブベボ");
	check("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン");
	check("ﾜﾞｦﾞ", "ヷヺ");
	check("ｷｬﾝﾍﾟｰﾝ", "キャンペーン");
	check("｡｢｣､･ｰ", "。「」、・ー");
	check("ｯ", "ッ");
	/* A mark that cannot join stays a spacing mark of its own. */
	check("ｱﾞ", "ア゛");
	check("ﾏﾟ", "マ゜");
	check("ﾞ", "゛");
	check("ｶﾟ", "カ゜");
	/* Only a half-width mark joins, and only directly after its letter. */
	check("ｶ ﾞ", "カ ゛");
	check("ｶﾞﾞ", "ガ゛");
	check("ｶ゛", "カ゛");
	/* Already full-width: unchanged. */
	check("ガイド", "ガイド");
}

static void
test_japanese_untouched(void **state)
{
	(void)state;
	check("友だちを紹介", "友だちを紹介");
	check("こんにちは、世界。", "こんにちは、世界。");
	check("メニュー", "メニュー");
	check("🎁 プレゼント", "🎁 プレゼント");
	check("「紹介」ＣＯＤＥ", "「紹介」code");
}

static void
test_white_space(void **state)
{
	(void)state;
	check("  hello  ", "hello");
	check("a  b", "a b");
	check("a\t\n\r b", "a b");
	check("\n\nline one\r\nline two\n", "line one line two");
	check(" \t\r\n　", "");
	check("x", "x");
	/* Other controls and no-break space are not white space here. */
	check("a\vb", "a\vb");
	check("a\xc2\xa0" "b", "a\xc2\xa0" "b");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	check("\xff", "\xff");
	check("a\x80z", "a\x80z");
	/* A cut sequence: its bytes stay, what follows is still folded. */
	check("\xe3\x81 Ａ", "\xe3\x81 a");
	check("\xe3\x81", "\xe3\x81");
	/* Overlong "/", a UTF-16 surrogate, and a code point above U+10FFFF. */
	check("\xc0\xaf", "\xc0\xaf");
	check("\xed\xa0\x80", "\xed\xa0\x80");
	check("\xf4\x90\x80\x80", "\xf4\x90\x80\x80");
	/* Half-width katakana cut before its last byte, and a cut voiced mark. */
	check("\xef\xbd", "\xef\xbd");
	check("ｶ\xef\xbe", "カ\xef\xbe");
	/* Invalid bytes are not white space: they keep spaces around them. */
	check("  \x80  \x81  ", "\x80 \x81");
	check("\xf0\x9f\x8e\x81", "🎁");
}

static void
test_empty(void **state)
{
	(void)state;
	check("", "");
}

/* Random 1- to 8-byte strings: the output is never longer than the input (the
 * allocation relies on it) and normalising again changes nothing (rule words are stored
 * normalised and compared with normalised text). */
static void
test_random_short(void **state)
{
	unsigned char in[9];

	(void)state;
	srand(11);
	for (int i = 0; i < 300000; i++) {
		size_t len = 1 + (size_t)(rand() % 8);
		char *a, *b;

		for (size_t j = 0; j < len; j++) {
			/* Bias towards the bytes that start and continue the folded ranges. */
			static const unsigned char pick[] = { 0xef, 0xbc, 0xbd, 0xbe, 0xe3,
			    0x80, 0x81, 0x9e, 0x9f, 0xa1, ' ', 'A', '\t' };

			in[j] = rand() % 2 ? pick[rand() % (int)sizeof(pick)] :
			    (unsigned char)(1 + rand() % 255);
		}
		in[len] = '\0';
		a = text_normalize((const char *)in);
		assert_true(strlen(a) <= len);
		b = text_normalize(a);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fullwidth_ascii),
		cmocka_unit_test(test_ideographic_space),
		cmocka_unit_test(test_halfwidth_katakana),
		cmocka_unit_test(test_japanese_untouched),
		cmocka_unit_test(test_white_space),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
