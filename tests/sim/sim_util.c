/* sim_util.c: the small helpers every part of shokaisim uses: allocation that dies on
 * failure, logfmt lines, random ids in the platforms' shapes, base64, HMAC, UTF-8
 * counting, path matching and bounded maps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "sim.h"

void
util_iso_time(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char day[24];

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, 32, "%.19s.%03dZ", day, (int)(ts.tv_nsec / 1000000) % 1000);
}

void
util_log(const char *level, const char *fmt, ...)
{
	va_list ap;
	char when[32];

	util_iso_time(when);
	fprintf(stderr, "ts=%s level=%s ", when, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* The simulator's ids (message ids, tokens, request ids) must never repeat; nobody
 * has to be unable to guess them. xoshiro256** seeded once from the OS: RAND_bytes per
 * id (a lock, a fork check and a DRBG call each) was 13 % of the simulator's CPU in the
 * outbox bench, whose ceiling the simulator is. One thread only, as the simulator is. */
static uint64_t rng[4];
static int rng_seeded;

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(void)
{
	uint64_t out = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;

	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return out;
}

void
util_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	if (!rng_seeded) {
		do {
			if (RAND_bytes((unsigned char *)rng, sizeof(rng)) != 1) {
				fprintf(stderr, "shokaisim: RAND_bytes failed\n");
				exit(70);
			}
		} while ((rng[0] | rng[1] | rng[2] | rng[3]) == 0);
		rng_seeded = 1;
	}
	while (n > 0) {
		uint64_t r = rng_next();
		size_t k = n < sizeof(r) ? n : sizeof(r);

		memcpy(p, &r, k);
		p += k;
		n -= k;
	}
}

void
util_random_hex(char *out, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];

	for (size_t i = 0; i < nhex; i++) {
		if (i % (2 * sizeof(b)) == 0)
			util_random(b, sizeof(b));
		out[i] = hex[(b[(i / 2) % sizeof(b)] >> ((i & 1) * 4)) & 15];
	}
	out[nhex] = '\0';
}

void
util_uuid(char out[37])
{
	unsigned char b[16];

	util_random(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
util_ulid(char out[27])
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint64_t ms = (uint64_t)wall_ms();
	unsigned char r[16];
	int i;

	/* 48 bits of milliseconds in 10 chars, then 80 random bits in 16 chars. */
	for (i = 9; i >= 0; i--) {
		out[i] = crockford[ms & 31];
		ms >>= 5;
	}
	util_random(r, sizeof(r));
	for (i = 10; i < 26; i++)
		out[i] = crockford[r[i - 10] & 31];
	out[26] = '\0';
}

void
util_digits(char *out, size_t n)
{
	unsigned char r[64];

	if (n > sizeof(r))
		n = sizeof(r);
	util_random(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)('0' + r[i] % 10);
	if (n > 0 && out[0] == '0')
		out[0] = '5';
	out[n] = '\0';
}

void
util_base62(char *out, size_t n)
{
	static const char set[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char r[64];

	if (n > sizeof(r))
		n = sizeof(r);
	util_random(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] % 62];
	out[n] = '\0';
}

char *
util_base64(const void *data, size_t len)
{
	char *out;

	if (len > SIM_MAX_BODY)
		len = SIM_MAX_BODY;	/* bodies are capped there already */
	out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

long
util_base64url_decode(const char *in, size_t inlen, unsigned char *out, size_t cap)
{
	unsigned long acc = 0;
	size_t n = 0;
	int bits = 0;

	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-')
			v = 62;
		else if (c == '_')
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* One leftover char (6 bits) can't be the end of a valid encoding. */
	if (bits >= 6)
		return -1;
	return (long)n;
}

size_t
util_utf16_len(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		n += *p >= 0xf0 ? 2 : 1;	/* outside the BMP: a surrogate pair */
	}
	return n;
}

size_t
util_codepoints(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

json_t *
util_json_text(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	char *fixed;
	size_t o = 0;

	if (j != NULL)
		return j;
	/* Not UTF-8 (or has NUL): keep ASCII, show every other byte as U+FFFD. */
	fixed = xmalloc(3 * len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f) {
			fixed[o++] = (char)c;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	j = json_stringn(fixed, o);
	free(fixed);
	return j != NULL ? j : json_string("");
}

int
util_path_match(const char *path, const char *pattern, char caps[][SIM_SEG_MAX], int ncaps)
{
	int ncap = 0;

	while (*pattern != '\0') {
		if (*pattern == '*') {
			const char *end = strchr(path, '/');
			size_t seglen = end ? (size_t)(end - path) : strlen(path);
			char raw[SIM_SEG_MAX], *dec;
			size_t declen = 0;

			if (seglen == 0 || seglen >= sizeof(raw) || ncap >= ncaps)
				return 0;
			memcpy(raw, path, seglen);
			raw[seglen] = '\0';
			if ((dec = evhttp_uridecode(raw, 0, &declen)) == NULL)
				return 0;
			/* "%00" would cut the id short; "%2F" would fake a segment. */
			if (declen != strlen(dec) || declen == 0 || strchr(dec, '/') != NULL) {
				free(dec);
				return 0;
			}
			memcpy(caps[ncap++], dec, declen + 1);
			free(dec);
			path += seglen;
			pattern++;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *path == '\0';
}

int
util_map_put(json_t *map, const char *key, json_t *val, size_t max)
{
	int forgot = 0;

	if (json_object_get(map, key) == NULL && json_object_size(map) >= max) {
		/* jansson keeps insertion order: the first key is the oldest. */
		const char *oldest = json_object_iter_key(json_object_iter(map));

		if (oldest != NULL) {
			json_object_del(map, oldest);
			forgot = 1;
		}
	}
	json_object_set_new(map, key, val);
	return forgot;
}
