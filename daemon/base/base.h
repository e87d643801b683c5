/* base.h: what every file may use: allocation, logs, clocks, signatures and hashes,
 * fault points, and the few names every layer shares (the platforms, WHY_MAX). */
#ifndef SHOKAI_BASE_H
#define SHOKAI_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#define SHOKAI_VERSION "0.1.0"

/* The two platforms; everything above the edges is platform-blind but for this. */
enum platform { PLATFORM_LINE, PLATFORM_WORKS };
/* Every function that can say what went wrong takes `char *why, size_t whylen` (a
 * buffer of the caller's, usually WHY_MAX bytes) and fills it when it fails. */
#define WHY_MAX 256

/* xmalloc.c: allocation that dies on failure, so callers never check. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* log.c: logfmt lines on stderr. log_warn() appends strerror(errno). */
/* notice: lifecycle lines (listening, started, reloaded) that show at warn level too. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERROR };
void log_init(enum log_level);
void log_set_level(enum log_level);
/* logfmt (the default) or one JSON object a line, for log shippers (log.format). */
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };
void log_set_format(enum log_format);
int log_level_parse(const char *, enum log_level *);
int log_enabled(enum log_level);
void log_set_pseudonym_key(const unsigned char *, size_t);
void log_msg(enum log_level, const char *, ...) __attribute__((format(printf, 2, 3)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Writes out the calling thread's batched lines. */
void log_flush(void);
/* Writes a stable pseudonym for a platform user id ("u:1a2b3c4d") into out. */
void log_user(const char *user_id, char out[16]);
/* Returns 1 when a message of this kind may be logged now (at most one per second),
 * 0 when it must be dropped; *suppressed counts the dropped ones since the last. */
struct log_ratelimit {
	int64_t		last_sec;
	unsigned long	suppressed;
};
int log_ratelimit_ok(struct log_ratelimit *, unsigned long *suppressed);

/* sig.c: webhook signatures. */
#define SIG_MAC_LEN 32
/* Verifies a base64 HMAC-SHA256 header value over body with key, in constant time.
 * Returns 0 when it matches, -1 otherwise with why saying what was wrong. */
int sig_verify(const char *key, size_t keylen, const void *body, size_t bodylen,
    const char *header_b64, char *why, size_t whylen);
/* The same with a key prepared once (sig_key_new), as channels do. */
struct sig_key;
struct sig_key *sig_key_new(const char *key, size_t keylen);
void sig_key_free(struct sig_key *);
void sig_key_mac(const struct sig_key *, const void *body, size_t bodylen,
    unsigned char mac[32]);
int sig_verify_key(const struct sig_key *, const void *body, size_t bodylen,
    const char *header_b64, char *why, size_t whylen);
/* Writes the base64 HMAC-SHA256 of body (44 chars + NUL) into out. */
void sig_sign(const char *key, size_t keylen, const void *body, size_t bodylen, char out[45]);
/* Hex HMAC-SHA256 of data keyed by key (64 chars + NUL), for signatures we check
 * ourselves, and their comparison: 1 when got is exactly want, in constant time. */
void sig_hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
    char out[65]);
int sig_hex_equal(const char *want, const char *got);
/* Hex SHA-256 of prefix followed by data (prefix may be empty). */
/* The database's secret salt (store.c makes it once): pseudonyms and hashes. */
#define SALT_LEN	16
void sha256_hex(const void *prefix, size_t prefixlen, const void *data, size_t len,
    char out[65]);


/* secret.c: console passwords (scrypt) and random tokens (base64url of 32 bytes). */
#define SECRET_SCRYPT_LN	15	/* N = 2^15, r = 8: 32 MiB and about 0.1 s a hash */
#define SECRET_TOKEN_LEN	43
/* "$scrypt$ln=15,r=8,p=1$SALT$HASH", or NULL when OpenSSL failed. The caller frees. */
char *secret_password_hash(const char *password);
/* 1 when password matches stored (constant time), else 0 (a malformed stored is 0). */
int secret_password_verify(const char *password, const char *stored);
int secret_token(char out[SECRET_TOKEN_LEN + 1]);
/* 1 when a and b are equal, in time that depends on their lengths only. */
int secret_equal(const char *a, const char *b);


/* strcount.c: counts per string key. Zero it to start; keys[i] NULL is an empty slot
 * (walk i < cap to read every key and its n[i]). */
struct strcount {
	char	**keys;
	int64_t	 *n;
	size_t	  cap, used;
};
/* The key's count after this one: 1 when it was new. */
int64_t strcount_add(struct strcount *, const char *key);
/* Empties it, keeping its room. */
void strcount_clear(struct strcount *);
void strcount_free(struct strcount *);


/* utf8.c: the one UTF-8 decoder. */
#define UTF8_REPLACEMENT_CP	0xfffd
/* Decodes one well-formed code point from s (n bytes available): its length in bytes,
 * or 0 when s does not start a well-formed sequence. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* The same, but a byte that does not start a valid sequence is taken alone as U+FFFD,
 * so every caller makes progress (1 byte, cp U+FFFD: that byte was bad). */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
size_t utf8_encode(uint32_t cp, char out[4]);
/* 1 when all n bytes of s are well-formed UTF-8. */
int utf8_valid(const char *s, size_t n);
/* What one code point counts for: 1, or 2 above U+FFFF when utf16 (a surrogate pair). */
size_t utf8_cp_units(uint32_t cp, int utf16);
/* Code points in n bytes of s, counting those above U+FFFF twice when utf16. */
size_t utf8_count(const char *s, size_t n, int utf16);
/* Length of UTF-8 text in UTF-16 code units, as LINE counts text. */
size_t utf16_units(const char *utf8);
/* Length in characters (code points), as LINE counts labels. */
size_t utf8_chars(const char *utf8);
/* Bytes of the first max_chars characters of utf8 (all of it when shorter): where to
 * cut operators' and customers' text without splitting a character. */
size_t utf8_prefix(const char *utf8, size_t max_chars);
/* A person's name up to its first space, half or full width: the family name of a
 * Japanese name written the usual way (山田 太郎 -> 山田), what a person signs with
 * among acquaintances. The whole name when it has no space. The caller frees it. */
char *name_first_word(const char *name);

/* http_token.c: whether the header value v (n bytes, a comma-separated token list)
 * names word, in any case. */
int http_token_in(const char *v, size_t n, const char *word);

/* url.c: percent-encoding; everything but RFC 3986's unreserved characters. */
int url_unreserved(unsigned char);
/* Writes c, or its %XX form, into out; returns 1 or 3. */
size_t url_encode_byte(unsigned char c, char out[3]);
/* s percent-encoded, as a new string the caller frees. */
char *url_encode(const char *s);
/* The byte the two hex digits at p spell (either case: the XX of a %XX escape), or -1
 * when they are not two hex digits; p[1] is read only when p[0] is one. */
int url_hex_byte(const char *p);

/* clock.c */
int64_t clock_ms(void);		/* monotonic */
int64_t clock_us(void);		/* monotonic */
int64_t clock_thread_cpu_us(void);	/* CPU time the calling thread has used */
int64_t wall_ms(void);
/* Today, YYYY-MM-DD, in the config's time zone. */
void local_date(int64_t at_wall_ms, char out[11]);
/* Unix ms of local midnight starting YYYY-MM-DD (plus shift days): 0, or -1 when date
 * is not a date (2027-02-30 is none). */
int local_midnight(const char *date, int shift, int64_t *ms);


/* cell.c: text crossing the operator's boundary: imported files, CSV exports, the
 * terminal. */
/* Reads one line of fp (to "\n"; a "\r\n" ends it too) into buf of cap bytes,
 * NUL-terminated: 1 with *len its length in bytes (NULs included), 0 at the end of the
 * file, -1 on a read error. A line of cap bytes or more is read to its end but only its
 * first cap - 1 bytes are kept: *len >= cap says it was too long. Memory stays bounded
 * whatever the file holds. */
int cell_getline(FILE *fp, char *buf, size_t cap, size_t *len);
/* 0 when the n bytes of s are well-formed UTF-8 without a control character (C0, NUL,
 * tab and CR included; DEL; C1); else -1 and why says what and where, 1-based:
 * "invalid UTF-8 at byte 5", "control character U+001B (ESC) at byte 3". */
int cell_check(const char *s, size_t n, char *why, size_t whylen);
/* 1 when a spreadsheet could read s as a formula: it starts with '=', '+', '-', '@',
 * tab or CR (OWASP, CSV injection). */
int cell_formula_like(const char *s);
/* Splits one CSV line in place (RFC 4180 quoting, "a ""b""" is a "b", within the line):
 * the number of fields, or -1 for a quote left open, text after a closing quote or
 * more than max fields. */
int cell_split(char *line, char **fields, int max);
/* Writes s as one CSV cell: quoted when it holds ',', '"', CR or LF; a formula-like
 * cell gets a leading ' and quotes. Every CSV shokaictl writes goes through here. */
void cell_csv(FILE *out, const char *s);
/* For a terminal: C0 controls, DEL and bytes that are not UTF-8 as \xNN, C1 controls
 * and bidirectional overrides as \uNNNN; with CELL_TERM_KEEP_NL, LF and tab stay.
 * cell_term_dup returns a new string (caller frees). Every listing of stored text goes
 * through one of these. */
#define CELL_TERM_KEEP_NL	0x1
void cell_term(FILE *out, const char *s, size_t n, int flags);
char *cell_term_dup(const char *s, size_t n, int flags);
/* widths[i]: the columns s[i] takes on a terminal (a kanji two, a letter one), by the C
 * library's tables for the C.UTF-8 locale whatever the user's own; a byte each where a
 * string is not UTF-8 or that locale is missing. Every cell of a table in one call. */
void cell_widths(const char *const *s, size_t n, size_t *widths);

/* thread_sched.c: how each thread shares a core with the event loop. */
/* The calling thread (the storage side's, the checkpointer, a console that cannot idle)
 * does not preempt the loop when woken (SCHED_BATCH): a loop that posts a letter per
 * answer does not hand the core back and forth twice per letter, and the helper runs when
 * the loop blocks or its time slice ends. */
void thread_sched_yield_to_loop(void);
/* The calling thread (the loop, after every other thread started) asks for the shortest
 * time slice (sched_attr.sched_runtime, EEVDF, Linux 6.12 and later; older kernels ignore
 * it): woken by a socket it takes the core from a helper thread at once, where it waited
 * for the 4 ms scheduler tick (the outbox bench's worst loop stall was that tick). */
void thread_sched_short_slice(void);

/* fault.c: named crash points for tests (built only with -DSHOKAI_FAULT_HOOKS). */
int fault_enabled(const char *point);

#endif
