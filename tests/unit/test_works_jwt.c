/* test_works_jwt.c: the LINE WORKS service-account JWT: header and claims decode to
 * what the API digest says, and the RS256 signature verifies with the public key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../daemon/shokaid.h"

static char *
b64url_decode(const char *in, size_t len, size_t *outlen)
{
	char *tmp = malloc(len + 4), *out = malloc(len + 4);
	size_t n = len;
	int got;

	memcpy(tmp, in, len);
	for (size_t i = 0; i < len; i++)
		tmp[i] = tmp[i] == '-' ? '+' : tmp[i] == '_' ? '/' : tmp[i];
	while (n % 4 != 0)
		tmp[n++] = '=';
	got = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)tmp, (int)n);
	assert_true(got >= 0);
	/* EVP_DecodeBlock counts the padding bytes as data. */
	*outlen = (size_t)got - (n - len);
	out[*outlen] = '\0';
	free(tmp);
	return out;
}

static char *
new_key_pem(EVP_PKEY **pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	*pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(*pkey);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, *pkey, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

static void
test_jwt(void **state)
{
	EVP_PKEY *pkey;
	char *pem = new_key_pem(&pkey), err[256] = "";
	char *jwt = works_jwt("AbCdEf123", "x1y2z.serviceaccount@example.co.jp", pem,
	    (time_t)1767225600, err, sizeof(err));
	char *dot1, *dot2, *header, *claims, *sig;
	size_t hlen, clen, slen;
	json_t *h, *c;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	(void)state;
	assert_non_null(jwt);
	dot1 = strchr(jwt, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(jwt, '=')); /* base64url without padding */
	header = b64url_decode(jwt, (size_t)(dot1 - jwt), &hlen);
	claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &clen);
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &slen);
	h = json_loads(header, 0, NULL);
	c = json_loads(claims, 0, NULL);
	assert_non_null(h);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(c, "iss")), "AbCdEf123");
	assert_string_equal(json_string_value(json_object_get(c, "sub")),
	    "x1y2z.serviceaccount@example.co.jp");
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1767225600);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1767225600 + 3600);
	assert_int_equal(slen, 256);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestVerify(md, (unsigned char *)sig, slen,
	    (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
	/* A changed claim no longer verifies. */
	jwt[(dot1 - jwt) + 3] ^= 1;
	assert_int_not_equal(EVP_DigestVerify(md, (unsigned char *)sig, slen,
	    (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
	EVP_MD_CTX_free(md);
	json_decref(h);
	json_decref(c);
	free(header);
	free(claims);
	free(sig);
	free(jwt);
	free(pem);
	EVP_PKEY_free(pkey);
}

static void
test_bad_key(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(works_jwt("id", "sa", "not a key", 0, err, sizeof(err)));
	assert_string_equal(err, "private key is not a PEM private key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_bad_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
