/* secret.c: console passwords and tokens. Passwords are stored as scrypt hashes (a
 * memory-hard KDF, OpenSSL's EVP_KDF) with their cost in the string, so a stronger
 * default later still verifies old hashes; tokens (session cookies, API tokens, CSRF)
 * are 32 random bytes, base64url, and only their SHA-256 is ever stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "base.h"

#define SCRYPT_SALT_LEN	16
#define SCRYPT_KEY_LEN	32

/* base64url without padding; out holds 4 * ceil(n / 3) + 1. */
static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = tab[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Decodes exactly want bytes; -1 on any other length or a bad character. */
static int
b64url_decode(const char *s, size_t len, unsigned char *out, size_t want)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == want)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o == want ? 0 : -1;
}

/* OSSL_PARAM takes non-const buffers: password and salt are copied, and the copy of
 * the password wiped after. */
static int
scrypt(const char *password, const unsigned char *salt_in, unsigned ln, unsigned r,
    unsigned p, unsigned char key[SCRYPT_KEY_LEN])
{
	char *pw = xstrdup(password);
	size_t pwlen = strlen(pw);
	unsigned char salt[SCRYPT_SALT_LEN];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = (uint64_t)1 << ln;
	uint32_t r32 = r, p32 = p;
	uint64_t maxmem = (uint64_t)128 * r * (n + p + 2) + (1 << 20);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pw, pwlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt)),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	int rc;

	memcpy(salt, salt_in, sizeof(salt));
	rc = ctx != NULL && EVP_KDF_derive(ctx, key, SCRYPT_KEY_LEN, params) == 1 ? 0 : -1;
	OPENSSL_cleanse(pw, pwlen);
	free(pw);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

char *
secret_password_hash(const char *password)
{
	unsigned char salt[SCRYPT_SALT_LEN], key[SCRYPT_KEY_LEN];
	char salt64[32], key64[48];

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    scrypt(password, salt, SECRET_SCRYPT_LN, 8, 1, key) == -1)
		return NULL;
	b64url(salt, sizeof(salt), salt64);
	b64url(key, sizeof(key), key64);
	OPENSSL_cleanse(key, sizeof(key));
	return xasprintf("$scrypt$ln=%d,r=8,p=1$%s$%s", SECRET_SCRYPT_LN, salt64, key64);
}

int
secret_password_verify(const char *password, const char *stored)
{
	unsigned ln, r, p;
	int used = 0;
	const char *salt64, *key64;
	unsigned char salt[SCRYPT_SALT_LEN], want[SCRYPT_KEY_LEN], got[SCRYPT_KEY_LEN];
	int rc;

	if (sscanf(stored, "$scrypt$ln=%u,r=%u,p=%u$%n", &ln, &r, &p, &used) != 3 ||
	    used == 0 || ln < 10 || ln > 22 || r < 1 || r > 32 || p < 1 || p > 16)
		return 0;
	salt64 = stored + used;
	if ((key64 = strchr(salt64, '$')) == NULL)
		return 0;
	key64++;
	if (b64url_decode(salt64, (size_t)(key64 - 1 - salt64), salt, sizeof(salt)) == -1 ||
	    b64url_decode(key64, strlen(key64), want, sizeof(want)) == -1 ||
	    scrypt(password, salt, ln, r, p, got) == -1)
		return 0;
	rc = CRYPTO_memcmp(want, got, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}

int
secret_token(char out[SECRET_TOKEN_LEN + 1])
{
	unsigned char b[32];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b64url(b, sizeof(b), out);
	return 0;
}

int
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}
