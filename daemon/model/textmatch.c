/* textmatch.c: the text that keyword rules compare. Japanese users type the same word
 * in full-width or half-width forms and with stray spaces depending on their keyboard,
 * so the rule's words and the incoming text are both folded to one spelling. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Half-width katakana U+FF61..U+FF9F: the full-width letter, and what it becomes when
 * a half-width voiced (U+FF9E) or semi-voiced (U+FF9F) mark follows (0: no such
 * letter, the mark stays separate). A mark on its own becomes the spacing mark
 * U+309B / U+309C: the combining one NFKC gives would attach to whatever precedes. */
#define HWKANA_FIRST	0xff61
#define HWKANA_LAST	0xff9f
#define HW_VOICED	0xff9e
#define HW_SEMIVOICED	0xff9f
static const struct hwkana {
	uint16_t	plain, voiced, semivoiced;
} hwkana[HWKANA_LAST - HWKANA_FIRST + 1] = {
	{ 0x3002, 0x0000, 0x0000 },	/* U+FF61 。 */
	{ 0x300c, 0x0000, 0x0000 },	/* U+FF62 「 */
	{ 0x300d, 0x0000, 0x0000 },	/* U+FF63 」 */
	{ 0x3001, 0x0000, 0x0000 },	/* U+FF64 、 */
	{ 0x30fb, 0x0000, 0x0000 },	/* U+FF65 ・ */
	{ 0x30f2, 0x30fa, 0x0000 },	/* U+FF66 ヲ */
	{ 0x30a1, 0x0000, 0x0000 },	/* U+FF67 ァ */
	{ 0x30a3, 0x0000, 0x0000 },	/* U+FF68 ィ */
	{ 0x30a5, 0x0000, 0x0000 },	/* U+FF69 ゥ */
	{ 0x30a7, 0x0000, 0x0000 },	/* U+FF6A ェ */
	{ 0x30a9, 0x0000, 0x0000 },	/* U+FF6B ォ */
	{ 0x30e3, 0x0000, 0x0000 },	/* U+FF6C ャ */
	{ 0x30e5, 0x0000, 0x0000 },	/* U+FF6D ュ */
	{ 0x30e7, 0x0000, 0x0000 },	/* U+FF6E ョ */
	{ 0x30c3, 0x0000, 0x0000 },	/* U+FF6F ッ */
	{ 0x30fc, 0x0000, 0x0000 },	/* U+FF70 ー */
	{ 0x30a2, 0x0000, 0x0000 },	/* U+FF71 ア */
	{ 0x30a4, 0x0000, 0x0000 },	/* U+FF72 イ */
	{ 0x30a6, 0x30f4, 0x0000 },	/* U+FF73 ウ */
	{ 0x30a8, 0x0000, 0x0000 },	/* U+FF74 エ */
	{ 0x30aa, 0x0000, 0x0000 },	/* U+FF75 オ */
	{ 0x30ab, 0x30ac, 0x0000 },	/* U+FF76 カ */
	{ 0x30ad, 0x30ae, 0x0000 },	/* U+FF77 キ */
	{ 0x30af, 0x30b0, 0x0000 },	/* U+FF78 ク */
	{ 0x30b1, 0x30b2, 0x0000 },	/* U+FF79 ケ */
	{ 0x30b3, 0x30b4, 0x0000 },	/* U+FF7A コ */
	{ 0x30b5, 0x30b6, 0x0000 },	/* U+FF7B サ */
	{ 0x30b7, 0x30b8, 0x0000 },	/* U+FF7C シ */
	{ 0x30b9, 0x30ba, 0x0000 },	/* U+FF7D ス */
	{ 0x30bb, 0x30bc, 0x0000 },	/* U+FF7E セ */
	{ 0x30bd, 0x30be, 0x0000 },	/* U+FF7F ソ */
	{ 0x30bf, 0x30c0, 0x0000 },	/* U+FF80 タ */
	{ 0x30c1, 0x30c2, 0x0000 },	/* U+FF81 チ */
	{ 0x30c4, 0x30c5, 0x0000 },	/* U+FF82 ツ */
	{ 0x30c6, 0x30c7, 0x0000 },	/* U+FF83 テ */
	{ 0x30c8, 0x30c9, 0x0000 },	/* U+FF84 ト */
	{ 0x30ca, 0x0000, 0x0000 },	/* U+FF85 ナ */
	{ 0x30cb, 0x0000, 0x0000 },	/* U+FF86 ニ */
	{ 0x30cc, 0x0000, 0x0000 },	/* U+FF87 ヌ */
	{ 0x30cd, 0x0000, 0x0000 },	/* U+FF88 ネ */
	{ 0x30ce, 0x0000, 0x0000 },	/* U+FF89 ノ */
	{ 0x30cf, 0x30d0, 0x30d1 },	/* U+FF8A ハ */
	{ 0x30d2, 0x30d3, 0x30d4 },	/* U+FF8B ヒ */
	{ 0x30d5, 0x30d6, 0x30d7 },	/* U+FF8C フ */
	{ 0x30d8, 0x30d9, 0x30da },	/* U+FF8D ヘ */
	{ 0x30db, 0x30dc, 0x30dd },	/* U+FF8E ホ */
	{ 0x30de, 0x0000, 0x0000 },	/* U+FF8F マ */
	{ 0x30df, 0x0000, 0x0000 },	/* U+FF90 ミ */
	{ 0x30e0, 0x0000, 0x0000 },	/* U+FF91 ム */
	{ 0x30e1, 0x0000, 0x0000 },	/* U+FF92 メ */
	{ 0x30e2, 0x0000, 0x0000 },	/* U+FF93 モ */
	{ 0x30e4, 0x0000, 0x0000 },	/* U+FF94 ヤ */
	{ 0x30e6, 0x0000, 0x0000 },	/* U+FF95 ユ */
	{ 0x30e8, 0x0000, 0x0000 },	/* U+FF96 ヨ */
	{ 0x30e9, 0x0000, 0x0000 },	/* U+FF97 ラ */
	{ 0x30ea, 0x0000, 0x0000 },	/* U+FF98 リ */
	{ 0x30eb, 0x0000, 0x0000 },	/* U+FF99 ル */
	{ 0x30ec, 0x0000, 0x0000 },	/* U+FF9A レ */
	{ 0x30ed, 0x0000, 0x0000 },	/* U+FF9B ロ */
	{ 0x30ef, 0x30f7, 0x0000 },	/* U+FF9C ワ */
	{ 0x30f3, 0x0000, 0x0000 },	/* U+FF9D ン */
	{ 0x309b, 0x0000, 0x0000 },	/* U+FF9E ゛ */
	{ 0x309c, 0x0000, 0x0000 },	/* U+FF9F ゜ */
};

static int
is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r';
}

/* Every fold keeps or shrinks the text (full-width forms and the ideographic space are
 * 3 bytes and become 1, half-width katakana are 3 bytes and stay 3, a letter with its
 * mark is 6 and becomes 3), so the output never needs more than the input's length. */
char *
text_normalize(const char *utf8)
{
	const unsigned char *s = (const unsigned char *)utf8, *end = s + strlen(utf8);
	char *out = xmalloc((size_t)(end - s) + 1), *o = out;
	int pending_space = 0;

	while (*s != '\0') {
		uint32_t cp;
		size_t n = utf8_decode(s, (size_t)(end - s), &cp);

		if (n == 0) {
			/* Not ours to repair: kept, so the text still matches itself. */
			if (pending_space && o > out)
				*o++ = ' ';
			pending_space = 0;
			*o++ = (char)*s++;
			continue;
		}
		s += n;
		if (cp >= 0xff01 && cp <= 0xff5e)
			cp -= 0xfee0;
		else if (cp == 0x3000)
			cp = ' ';
		else if (cp >= HWKANA_FIRST && cp <= HWKANA_LAST) {
			const struct hwkana *k = &hwkana[cp - HWKANA_FIRST];
			uint32_t mark;
			size_t m = utf8_decode(s, (size_t)(end - s), &mark);

			cp = k->plain;
			if (m > 0 && mark == HW_VOICED && k->voiced != 0) {
				cp = k->voiced;
				s += m;
			} else if (m > 0 && mark == HW_SEMIVOICED && k->semivoiced != 0) {
				cp = k->semivoiced;
				s += m;
			}
		}
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		if (is_space(cp)) {
			pending_space = 1;
			continue;
		}
		if (pending_space && o > out)
			*o++ = ' ';
		pending_space = 0;
		o += utf8_encode(cp, o);
	}
	*o = '\0';
	return out;
}
