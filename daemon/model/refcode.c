/* refcode.c: referral codes. Eight Crockford base32 characters (40 random bits; no
 * 0/O, 1/I/L confusion: those read as 0 and 1) and a check character (Luhn mod 32) that
 * catches a mistyped character or two swapped neighbours before the database is asked.
 * Customers type codes by hand and in full width, so finding one in a message tolerates
 * case, full-width forms, spaces and hyphens between the characters. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "model.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The value of a character as a customer may type it; -1 if it is none. */
static int
digit_value(int ch)
{
	const char *p;

	ch = toupper((unsigned char)ch);
	if (ch == 'O')
		ch = '0';
	else if (ch == 'I' || ch == 'L')
		ch = '1';
	if (ch == '\0' || (p = strchr(alphabet, ch)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

/* Luhn mod N: the character that makes the weighted sum of all of them 0 mod 32. */
static int
check_value(const int *v, size_t n)
{
	int sum = 0, factor = 2;

	for (size_t i = n; i-- > 0;) {
		int addend = factor * v[i];

		factor = factor == 2 ? 1 : 2;
		sum += addend / 32 + addend % 32;
	}
	return (32 - sum % 32) % 32;
}

void
refcode_make(const unsigned char rnd[REFCODE_RANDOM], char out[REFCODE_LEN + 1])
{
	int v[REFCODE_LEN - 1];
	uint64_t bits = 0;

	for (size_t i = 0; i < REFCODE_RANDOM; i++)
		bits = bits << 8 | rnd[i];
	for (int i = REFCODE_LEN - 2; i >= 0; i--) {
		v[i] = (int)(bits & 31);
		bits >>= 5;
	}
	for (int i = 0; i < REFCODE_LEN - 1; i++)
		out[i] = alphabet[v[i]];
	out[REFCODE_LEN - 1] = alphabet[check_value(v, REFCODE_LEN - 1)];
	out[REFCODE_LEN] = '\0';
}

int
refcode_new(char out[REFCODE_LEN + 1])
{
	unsigned char rnd[REFCODE_RANDOM];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	refcode_make(rnd, out);
	return 0;
}

/* Canonical form of s (exactly the characters of a code) into out; 0 if its check
 * character is right. */
static int
canonical(const int *v, char out[REFCODE_LEN + 1])
{
	for (int i = 0; i < REFCODE_LEN; i++)
		out[i] = alphabet[v[i]];
	out[REFCODE_LEN] = '\0';
	return check_value(v, REFCODE_LEN - 1) == v[REFCODE_LEN - 1] ? 0 : -1;
}

int
refcode_valid(const char *code, char out[REFCODE_LEN + 1])
{
	int v[REFCODE_LEN];

	if (strlen(code) != REFCODE_LEN)
		return -1;
	for (int i = 0; i < REFCODE_LEN; i++)
		if ((v[i] = digit_value(code[i])) < 0)
			return -1;
	return canonical(v, out);
}

void
refcode_display(const char *code, char out[REFCODE_LEN + 2])
{
	snprintf(out, REFCODE_LEN + 2, "%.4s-%s", code, code + 4);
}

int
referee_on_line(const char *referee_id)
{
	return strncmp(referee_id, REP_REGISTERED_PREFIX, strlen(REP_REGISTERED_PREFIX)) != 0;
}

/* Every well-formed code in text. A code may be typed in pieces ("K7Q4 M2XP C",
 * "K7Q4-M2XP-C"): a run of code characters joined by single spaces or hyphens is split
 * into its pieces, and any consecutive pieces that make exactly a code's length and
 * carry a right check character are one. A piece that is part of a longer word (a URL,
 * an English word) is not used. */
#define PIECES_MAX	32

size_t
refcode_find(const char *text, char out[][REFCODE_LEN + 1], size_t max)
{
	char *norm = text_normalize(text);
	size_t found = 0;
	const char *p = norm;

	while (*p != '\0' && found < max) {
		const char *start[PIECES_MAX];
		size_t len[PIECES_MAX], npieces = 0;
		const char *q = p;

		if (digit_value(*p) < 0 || (p > norm && isalnum((unsigned char)p[-1]))) {
			p++;
			continue;
		}
		/* One run: pieces of code characters, each a whole word. */
		while (npieces < PIECES_MAX) {
			const char *w = q;

			while (digit_value(*q) >= 0)
				q++;
			if (isalnum((unsigned char)*q)) {	/* part of a longer word */
				while (isalnum((unsigned char)*q))
					q++;
				break;
			}
			start[npieces] = w;
			len[npieces++] = (size_t)(q - w);
			if ((*q == ' ' || *q == '-') && digit_value(q[1]) >= 0)
				q++;
			else
				break;
		}
		for (size_t i = 0; i < npieces && found < max; i++) {
			size_t total = 0, j = i;

			while (j < npieces && total < REFCODE_LEN)
				total += len[j++];
			if (total != REFCODE_LEN)
				continue;
			{
				int v[REFCODE_LEN], n = 0;

				for (size_t k = i; k < j; k++)
					for (size_t c = 0; c < len[k]; c++)
						v[n++] = digit_value(start[k][c]);
				if (canonical(v, out[found]) == 0) {
					found++;
					i = j - 1;	/* its pieces are used */
				}
			}
		}
		p = q > p ? q : p + 1;
	}
	free(norm);
	return found;
}
