/* test_secret.c: console passwords and tokens: a scrypt hash made by OpenSSL's own
 * command line verifies here (the KDF is the standard one, with its cost read from the
 * string), a new hash verifies and carries a fresh salt, and malformed or tampered
 * stored hashes never verify. */
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

/* openssl kdf -keylen 32 -kdfopt pass:"correct horse battery"
 *   -kdfopt hexsalt:000102030405060708090a0b0c0d0e0f -kdfopt n:1024 -kdfopt r:8
 *   -kdfopt p:1 SCRYPT, in base64url. */
static const char known[] = "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWk";

static void
test_known_vector(void **state)
{
	(void)state;
	assert_int_equal(secret_password_verify("correct horse battery", known), 1);
	assert_int_equal(secret_password_verify("correct horse batterY", known), 0);
	assert_int_equal(secret_password_verify("", known), 0);
}

static void
test_new_hashes_verify_with_fresh_salts(void **state)
{
	char *a = secret_password_hash("ほかの パスワード 123");
	char *b = secret_password_hash("ほかの パスワード 123");

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_true(strncmp(a, "$scrypt$ln=15,r=8,p=1$", 22) == 0);
	assert_string_not_equal(a, b);
	assert_int_equal(secret_password_verify("ほかの パスワード 123", a), 1);
	assert_int_equal(secret_password_verify("ほかの パスワード 124", b), 0);
	free(a);
	free(b);
}

static void
test_malformed_never_verifies(void **state)
{
	static const char *const bad[] = {
		"", "plain", "$scrypt$", "$scrypt$ln=10,r=8,p=1$", "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$",
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0O$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWk",	/* a short salt */
		"$scrypt$ln=9,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWk",	/* too cheap */
		"$scrypt$ln=30,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWk",	/* too dear */
		"$scrypt$ln=11,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWk",	/* another cost */
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWA",	/* tampered */
		"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$hKGWL22WtdGfIbxEPAZ06BS2bWyYKuZIKvypfAlYOWk=",	/* trailing junk */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(secret_password_verify("correct horse battery", bad[i]), 0);
}

static void
test_tokens_are_random_and_compare_exactly(void **state)
{
	char a[SECRET_TOKEN_LEN + 1], b[SECRET_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(secret_token(a), 0);
	assert_int_equal(secret_token(b), 0);
	assert_int_equal(strlen(a), SECRET_TOKEN_LEN);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_"), SECRET_TOKEN_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(secret_equal(a, a), 1);
	assert_int_equal(secret_equal(a, b), 0);
	assert_int_equal(secret_equal("abc", "abcd"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vector),
		cmocka_unit_test(test_new_hashes_verify_with_fresh_salts),
		cmocka_unit_test(test_malformed_never_verifies),
		cmocka_unit_test(test_tokens_are_random_and_compare_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
