/* test_cell.c: base/cell.c, what every import, CSV export and listing uses: the bounded
 * line reader, the cell check, the CSV splitter, the formula-neutralising CSV writer and
 * the terminal escaper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/base/base.h"

/* Every line of n bytes of text as read by cell_getline into a cap-byte buffer,
 * written as "len:text|" (text up to its first NUL). */
static void
read_lines(const char *text, size_t n, size_t cap, char *out, size_t outlen)
{
	FILE *fp = fmemopen((void *)(uintptr_t)text, n, "r");
	char *buf = malloc(cap);
	size_t len, at = 0;
	int r;

	assert_non_null(fp);
	out[0] = '\0';
	while ((r = cell_getline(fp, buf, cap, &len)) == 1)
		at += (size_t)snprintf(out + at, outlen - at, "%zu:%s|", len, buf);
	assert_int_equal(r, 0);
	free(buf);
	fclose(fp);
}

static void
test_getline(void **state)
{
	char out[256];

	(void)state;
	read_lines("a\nbc\r\n\nlast", 11, 8, out, sizeof(out));
	assert_string_equal(out, "1:a|2:bc|0:|4:last|");
	/* A NUL is counted, not a line end. */
	read_lines("a\0b\n", 4, 8, out, sizeof(out));
	assert_string_equal(out, "3:a|");
	/* Too long: the full length is reported, the buffer keeps its first cap - 1 bytes,
	 * and the next line is read whole (no split into several lines). */
	read_lines("123456789\nok\n", 13, 5, out, sizeof(out));
	assert_string_equal(out, "9:1234|2:ok|");
	/* At the limit: a CRLF does not count against it. */
	read_lines("1234\r\n12345\r\n", 13, 5, out, sizeof(out));
	assert_string_equal(out, "4:1234|5:1234|");
	/* A CR inside a line stays, for the check to refuse. */
	read_lines("a\rb\n", 4, 8, out, sizeof(out));
	assert_string_equal(out, "3:a\rb|");
	read_lines("", 0, 8, out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_check(void **state)
{
	static const struct {
		const char	*s;
		size_t		 n;
		const char	*why;
	} cases[] = {
		{ "QUO-0001", 8, NULL },
		{ "高橋 美咲", 13, NULL },
		{ "ab\xff", 3, "invalid UTF-8 at byte 3" },
		{ "\xc0\xaf", 2, "invalid UTF-8 at byte 1" },		/* overlong '/' */
		{ "\xed\xa0\x80", 3, "invalid UTF-8 at byte 1" },	/* a surrogate */
		{ "\xe7\xb4", 2, "invalid UTF-8 at byte 1" },		/* cut short */
		{ "a\x1b" "[31m", 6, "control character U+001B (ESC) at byte 2" },
		{ "ab\0c", 4, "control character U+0000 (NUL) at byte 3" },
		{ "a\tb", 3, "control character U+0009 (tab) at byte 2" },
		{ "a\rb", 3, "control character U+000D (CR) at byte 2" },
		{ "a\x7f", 2, "control character U+007F at byte 2" },
		{ "\xc2\x9b" "1m", 4, "control character U+009B at byte 1" },	/* C1 CSI */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[WHY_MAX] = "";
		int r = cell_check(cases[i].s, cases[i].n, why, sizeof(why));

		if (cases[i].why == NULL && r != 0)
			fail_msg("case %zu: refused: %s", i, why);
		if (cases[i].why != NULL && (r != -1 || strcmp(why, cases[i].why) != 0))
			fail_msg("case %zu: got %d '%s', want '%s'", i, r, why, cases[i].why);
	}
}

static void
test_formula_like(void **state)
{
	(void)state;
	assert_true(cell_formula_like("=1+1"));
	assert_true(cell_formula_like("+81"));
	assert_true(cell_formula_like("-2"));
	assert_true(cell_formula_like("@SUM(A1)"));
	assert_true(cell_formula_like("\tx"));
	assert_true(cell_formula_like("\rx"));
	assert_false(cell_formula_like(""));
	assert_false(cell_formula_like("QUO-1"));
	assert_false(cell_formula_like("a=b"));
}

static void
test_split(void **state)
{
	char line[64], *f[4];

	(void)state;
	strcpy(line, "a,\"b, \"\"c\"\"\",,d");
	assert_int_equal(cell_split(line, f, 4), 4);
	assert_string_equal(f[0], "a");
	assert_string_equal(f[1], "b, \"c\"");
	assert_string_equal(f[2], "");
	assert_string_equal(f[3], "d");
	strcpy(line, "\"open,x");
	assert_int_equal(cell_split(line, f, 4), -1);
	strcpy(line, "\"a\"b,x");
	assert_int_equal(cell_split(line, f, 4), -1);
	strcpy(line, "1,2,3,4,5");
	assert_int_equal(cell_split(line, f, 4), -1);
	strcpy(line, "");
	assert_int_equal(cell_split(line, f, 4), 1);
	assert_string_equal(f[0], "");
}

/* What writer prints for s, as a new string. */
static char *
written(void (*writer)(FILE *, const char *), const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	writer(fp, s);
	fclose(fp);
	return buf;
}

static void
csv_writer(FILE *fp, const char *s)
{
	cell_csv(fp, s);
}

static void
test_csv(void **state)
{
	static const char *const cases[][2] = {
		{ "plain", "plain" },
		{ "高橋", "高橋" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
		{ "+81", "\"'+81\"" },
		{ "-1+2", "\"'-1+2\"" },
		{ "@SUM(A1)", "\"'@SUM(A1)\"" },
		{ "\t=1", "\"'\t=1\"" },
		{ "\r=1", "\"'\r=1\"" },
		{ "a=b", "a=b" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = written(csv_writer, cases[i][0]);

		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, got, cases[i][1]);
		free(got);
	}
}

static void
test_term(void **state)
{
	static const struct {
		const char	*s;
		size_t		 n;
		int		 flags;
		const char	*want;
	} cases[] = {
		{ "鈴木 一郎", 13, 0, "鈴木 一郎" },
		{ "\x1b]0;pwned\x07" "name", 14, 0, "\\x1b]0;pwned\\x07name" },
		{ "a\nb\tc\rd", 7, 0, "a\\x0ab\\x09c\\x0dd" },
		{ "a\nb\tc\rd", 7, CELL_TERM_KEEP_NL, "a\nb\tc\\x0dd" },
		{ "nul\0x", 5, 0, "nul\\x00x" },
		{ "\xc2\x9b" "2J", 4, 0, "\\u009b2J" },			/* C1 CSI */
		{ "ab\xff\xfe", 4, 0, "ab\\xff\\xfe" },			/* not UTF-8 */
		{ "\xe2\x80\xae" "abc", 6, 0, "\\u202eabc" },		/* RIGHT-TO-LEFT OVERRIDE */
		{ "del\x7f", 4, 0, "del\\x7f" },
		{ "back\\slash", 10, 0, "back\\slash" },
		{ "", 0, 0, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = cell_term_dup(cases[i].s, cases[i].n, cases[i].flags);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, got, cases[i].want);
		free(got);
	}
}

/* What a listing pads by: columns on the screen, whatever the process's locale. */
static void
test_width(void **state)
{
	const char *cells[] = { "", "admin", "新宿支店", "ログイン失敗 (x)",
	    "ﾃｽﾄ",		/* half-width katakana */
	    "ab\xff\xfe",	/* not UTF-8: a byte each */
	    "é" };
	size_t w[sizeof(cells) / sizeof(cells[0])];

	(void)state;
	cell_widths(cells, sizeof(cells) / sizeof(cells[0]), w);
	assert_int_equal(w[0], 0);
	assert_int_equal(w[1], 5);
	assert_int_equal(w[2], 8);
	assert_int_equal(w[3], 16);
	assert_int_equal(w[4], 3);
	assert_int_equal(w[5], 4);
	assert_int_equal(w[6], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getline),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_formula_like),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_term),
		cmocka_unit_test(test_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
