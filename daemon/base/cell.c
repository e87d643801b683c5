/* cell.c: text that crosses the operator's boundary: lines and cells of the files an
 * operator imports (read with a bounded reader, checked, split as CSV), cells of the CSV
 * files shokaictl writes (neutralised so a spreadsheet never runs them), and stored text
 * printed on a terminal (control characters made visible). Pure functions over bytes:
 * the importers, the reps CSV, every CSV export and every listing share them. */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "base.h"

int
cell_getline(FILE *fp, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c = EOF, cr = 0;

	/* getc_unlocked: a 2-million-line import reads every byte through here. */
	while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
		if (n + 1 < cap)
			buf[n] = (char)c;
		n++;
		cr = c == '\r';
	}
	if (c == EOF && (ferror(fp) || n == 0)) {
		buf[0] = '\0';
		*len = 0;
		return ferror(fp) ? -1 : 0;
	}
	/* CRLF (Excel, Windows) ends a line like LF; a CR anywhere else stays in the line,
	 * where cell_check refuses it. */
	if (cr)
		n--;
	buf[n < cap ? n : cap - 1] = '\0';
	*len = n;
	return 1;
}

int
cell_check(const char *s, size_t n, char *why, size_t whylen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at = 0, k;
	uint32_t cp;

	while (at < n) {
		if ((k = utf8_decode(p + at, n - at, &cp)) == 0) {
			snprintf(why, whylen, "invalid UTF-8 at byte %zu", at + 1);
			return -1;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			snprintf(why, whylen, "control character U+%04X%s at byte %zu",
			    (unsigned)cp, cp == 0 ? " (NUL)" : cp == '\t' ? " (tab)" :
			    cp == '\r' ? " (CR)" : cp == 0x1b ? " (ESC)" : "", at + 1);
			return -1;
		}
		at += k;
	}
	return 0;
}

int
cell_formula_like(const char *s)
{
	return s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
}

int
cell_split(char *line, char **fields, int max)
{
	char *p = line;
	int n = 0;

	for (;;) {
		char *out = p;

		if (n == max)
			return -1;
		fields[n++] = out;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					return -1;	/* a quote left open */
				if (*p == '"' && p[1] == '"') {
					*out++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else
					*out++ = *p++;
			}
			if (*p != ',' && *p != '\0')
				return -1;	/* text after the closing quote */
		} else {
			while (*p != ',' && *p != '\0')
				*out++ = *p++;
		}
		if (*p == '\0') {
			*out = '\0';
			return n;
		}
		*out = '\0';
		p++;
	}
}

void
cell_csv(FILE *out, const char *s)
{
	int formula = cell_formula_like(s);

	/* OWASP's CSV injection advice: a leading ' makes a spreadsheet show the cell as
	 * text, and the neutralised cell is quoted so the ' is plainly part of it. */
	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* The bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what
 * follows them on a terminal: shown escaped too, like the controls. */
static int
term_hidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Writes the escaped form of s into out (when not NULL); returns its length. */
static size_t
term_escape(const unsigned char *s, size_t n, int flags, char *out)
{
	size_t at = 0, len = 0, k;
	uint32_t cp;
	char esc[12];

	while (at < n) {
		k = utf8_decode(s + at, n - at, &cp);
		if (k != 0 && (!term_hidden(cp) ||
		    ((flags & CELL_TERM_KEEP_NL) && (cp == '\n' || cp == '\t')))) {
			if (out != NULL)
				memcpy(out + len, s + at, k);
			len += k;
			at += k;
			continue;
		}
		if (k == 0 || cp < 0x80) {	/* a bad byte, a C0 control or DEL */
			snprintf(esc, sizeof(esc), "\\x%02x", s[at]);
			k = 1;
		} else
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		if (out != NULL)
			memcpy(out + len, esc, strlen(esc));
		len += strlen(esc);
		at += k;
	}
	return len;
}

char *
cell_term_dup(const char *s, size_t n, int flags)
{
	size_t len = term_escape((const unsigned char *)s, n, flags, NULL);
	char *out = xmalloc(len + 1);

	term_escape((const unsigned char *)s, n, flags, out);
	out[len] = '\0';
	return out;
}

void
cell_term(FILE *out, const char *s, size_t n, int flags)
{
	char *e = cell_term_dup(s, n, flags);

	fputs(e, out);
	free(e);
}

/* One string's columns under the calling thread's locale: a byte each from where it
 * stops being UTF-8. */
static size_t
width_of(const char *s)
{
	mbstate_t st = { 0 };
	size_t cols = 0, n = strlen(s);

	while (n > 0) {
		wchar_t wc;
		size_t len = mbrtowc(&wc, s, n, &st);
		int w;

		if (len == (size_t)-1 || len == (size_t)-2 || len == 0)
			return cols + n;
		w = wcwidth(wc);
		cols += w < 0 ? 1 : (size_t)w;
		s += len;
		n -= len;
	}
	return cols;
}

void
cell_widths(const char *const *s, size_t n, size_t *widths)
{
	/* Made once per call: newlocale costs some 70 µs and five system calls. */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), prev;

	if (utf8 == (locale_t)0) {
		for (size_t i = 0; i < n; i++)
			widths[i] = strlen(s[i]);
		return;
	}
	/* This thread only, for this call: the process's locale stays as it was. */
	prev = uselocale(utf8);
	for (size_t i = 0; i < n; i++)
		widths[i] = width_of(s[i]);
	uselocale(prev);
	freelocale(utf8);
}
