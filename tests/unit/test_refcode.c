/* test_refcode.c: referral codes: shape and randomness, the check character catching
 * every single mistyped character, and finding codes in what customers really send
 * (Japanese around them, full width, lower case, typed in pieces). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/shokaid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
test_new_codes_are_valid_and_distinct(void **state)
{
	char codes[200][REFCODE_LEN + 1], canon[REFCODE_LEN + 1];

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(refcode_new(codes[i]), 0);
		assert_int_equal(strlen(codes[i]), REFCODE_LEN);
		assert_int_equal(strspn(codes[i], alphabet), REFCODE_LEN);
		assert_int_equal(refcode_valid(codes[i], canon), 0);
		assert_string_equal(canon, codes[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(codes[i], codes[j]);
	}
}

static void
test_check_character_catches_any_single_typo(void **state)
{
	char code[REFCODE_LEN + 1], bad[REFCODE_LEN + 1], canon[REFCODE_LEN + 1];

	(void)state;
	for (int round = 0; round < 20; round++) {
		assert_int_equal(refcode_new(code), 0);
		for (int pos = 0; pos < REFCODE_LEN; pos++) {
			for (const char *a = alphabet; *a != '\0'; a++) {
				if (*a == code[pos])
					continue;
				memcpy(bad, code, sizeof(bad));
				bad[pos] = *a;
				assert_int_equal(refcode_valid(bad, canon), -1);
			}
		}
	}
}

static void
test_valid_tolerates_case_and_lookalikes(void **state)
{
	char code[REFCODE_LEN + 1], typed[REFCODE_LEN + 1], canon[REFCODE_LEN + 1];

	(void)state;
	/* Find a code with a 0 and a 1 in it, to type them as o and l. */
	do {
		assert_int_equal(refcode_new(code), 0);
	} while (strchr(code, '0') == NULL || strchr(code, '1') == NULL);
	for (int i = 0; i < REFCODE_LEN; i++)
		typed[i] = code[i] == '0' ? 'o' : code[i] == '1' ? 'l' : (char)(code[i] | 0x20);
	typed[REFCODE_LEN] = '\0';
	assert_int_equal(refcode_valid(typed, canon), 0);
	assert_string_equal(canon, code);
	assert_int_equal(refcode_valid("", canon), -1);
	assert_int_equal(refcode_valid("ABCDEFGHJK", canon), -1);	/* too long */
	assert_int_equal(refcode_valid("ABCDEFGU1", canon), -1);	/* U is not a digit */
}

/* The full-width form of an ASCII code. */
static void
full_width(const char *code, char *out)
{
	for (; *code != '\0'; code++) {
		unsigned cp = 0xFF00u + (unsigned)(*code - 0x20);

		*out++ = (char)(0xE0 | (cp >> 12));
		*out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*out++ = (char)(0x80 | (cp & 0x3F));
	}
	*out = '\0';
}

static size_t
find(const char *text, char found[][REFCODE_LEN + 1])
{
	return refcode_find(text, found, 4);
}

static void
test_find_in_what_customers_send(void **state)
{
	char code[REFCODE_LEN + 1], other[REFCODE_LEN + 1], text[512], wide[64];
	char found[4][REFCODE_LEN + 1];

	(void)state;
	assert_int_equal(refcode_new(code), 0);
	assert_int_equal(refcode_new(other), 0);

	snprintf(text, sizeof(text), "紹介コード %s で問い合わせます", code);
	assert_int_equal(find(text, found), 1);
	assert_string_equal(found[0], code);

	snprintf(text, sizeof(text), "紹介コード%sです", code);		/* no spaces at all */
	assert_int_equal(find(text, found), 1);

	full_width(code, wide);						/* ＫＷ... */
	snprintf(text, sizeof(text), "コード:%s", wide);
	assert_int_equal(find(text, found), 1);
	assert_string_equal(found[0], code);

	snprintf(text, sizeof(text), "%.4s %.4s %s よろしく", code, code + 4, code + 8);
	for (char *p = text; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p);	/* lower case too */
	assert_int_equal(find(text, found), 1);
	assert_string_equal(found[0], code);

	snprintf(text, sizeof(text), "%.3s-%.3s-%.3s", code, code + 3, code + 6);
	assert_int_equal(find(text, found), 1);

	snprintf(text, sizeof(text), "%s 123", code);	/* a number after it is not joined */
	assert_int_equal(find(text, found), 1);
	assert_string_equal(found[0], code);

	snprintf(text, sizeof(text), "%s と %s", code, other);
	assert_int_equal(find(text, found), 2);
	assert_string_equal(found[1], other);
}

static void
test_find_ignores_what_is_not_a_code(void **state)
{
	char code[REFCODE_LEN + 1], text[512], bad[REFCODE_LEN + 1];
	char found[4][REFCODE_LEN + 1];

	(void)state;
	assert_int_equal(refcode_new(code), 0);
	snprintf(text, sizeof(text), "https://example.co.jp/x%sy", code);	/* inside a word */
	assert_int_equal(find(text, found), 0);
	snprintf(text, sizeof(text), "%s0", code);				/* longer */
	assert_int_equal(find(text, found), 0);
	memcpy(bad, code, sizeof(bad));
	bad[3] = bad[3] == 'A' ? 'B' : 'A';					/* a typo */
	snprintf(text, sizeof(text), "コード %s", bad);
	assert_int_equal(find(text, found), 0);
	assert_int_equal(find("電話 03-1234-5678 まで", found), 0);
	assert_int_equal(find("", found), 0);
	assert_int_equal(find("こんにちは", found), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_codes_are_valid_and_distinct),
		cmocka_unit_test(test_check_character_catches_any_single_typo),
		cmocka_unit_test(test_valid_tolerates_case_and_lookalikes),
		cmocka_unit_test(test_find_in_what_customers_send),
		cmocka_unit_test(test_find_ignores_what_is_not_a_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
