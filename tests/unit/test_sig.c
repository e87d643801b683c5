/* test_sig.c: signature checks against published vectors (LINE digest, the official
 * SDKs' fixtures, GitHub's webhook vector) and the ways a header can be wrong. */
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

static int
verify(const char *key, const char *body, const char *sig)
{
	char why[WHY_MAX] = "";

	return sig_verify(key, strlen(key), body, strlen(body), sig, why, sizeof(why));
}

static void
test_known_vectors(void **state)
{
	struct sig_key *k = sig_key_new("SECRET", 6);
	char why[WHY_MAX] = "";

	(void)state;
	/* The prepared-key path the daemon uses, reused across calls. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(sig_verify_key(k, "{}", 2,
		    "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=", why, sizeof(why)), 0);
	assert_int_equal(sig_verify_key(k, "{ }", 3,
	    "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=", why, sizeof(why)), -1);
	assert_string_equal(why, "signature does not match the body");
	sig_key_free(k);
	assert_int_equal(verify("SECRET", "{}", "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA="), 0);
	assert_int_equal(verify("channel_secret", "bodybodybodybody",
	    "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="), 0);
	assert_int_equal(verify("test_secret", "{\"hello\":\"world\"}",
	    "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM="), 0);
	assert_int_equal(verify("It's a Secret to Everybody", "Hello, World!",
	    "dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc="), 0);
	assert_int_equal(verify("8f3c1e0b9a7d4c2e6b5a0f1d2c3e4b5a",
	    "{\"destination\": \"Ua4c123b1612dd272d1371c17149d4395\", \"events\": []}",
	    "5fk5BW2Hhi1tIGHtgszjP1ccQpj6MfZyjD+xCtKL7fs="), 0);
}


/* Every vector in the SDK fixtures' vectors.tsv, over the exact .body bytes. */
static void
test_sdk_fixture_vectors(void **state)
{
	const char *shared = test_shared_dir();
	char path[1024], line[2048];
	FILE *f;
	int n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/line-sdk-fixtures/signature-vectors/vectors.tsv",
	    shared);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *file = strtok(line, "\t"), *secret = strtok(NULL, "\t");
		char *sig = strtok(NULL, "\t");
		char *body;
		char why[WHY_MAX] = "";
		size_t len = 0;

		if (file == NULL || file[0] == '#' || secret == NULL || sig == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/line-sdk-fixtures/signature-vectors/%s",
		    shared, file);
		body = test_read_file(path, &len);
		assert_non_null(body);
		if (sig_verify(secret, strlen(secret), body, len, sig, why, sizeof(why)) != 0)
			fail_msg("vector %s: %s", file, why);
		free(body);
		n++;
	}
	fclose(f);
	assert_true(n >= 8);
}

static void
test_bad_signatures(void **state)
{
	const char *good = "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=";
	char buf[128];

	(void)state;
	assert_int_equal(verify("SECRET", "{}", NULL), -1);
	assert_int_equal(verify("SECRET", "{}", ""), -1);
	/* One bit flipped in the last significant character. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[42] = 'B';
	assert_int_equal(verify("SECRET", "{}", buf), -1);
	/* Truncated to 43 characters; padding removed. */
	snprintf(buf, sizeof(buf), "%.43s", good);
	assert_int_equal(verify("SECRET", "{}", buf), -1);
	/* Non-base64 characters. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[5] = '*';
	assert_int_equal(verify("SECRET", "{}", buf), -1);
	/* Hex instead of base64. */
	assert_int_equal(verify("SECRET", "{}",
	    "deaf105d3006"), -1);
	/* Another secret, another body, a trailing newline. */
	assert_int_equal(verify("SECRET2", "{}", good), -1);
	assert_int_equal(verify("SECRET", "{ }", good), -1);
	assert_int_equal(verify("SECRET", "{}\n", good), -1);
	/* base64 of 33 bytes. */
	assert_int_equal(verify("SECRET", "{}",
	    "3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nAA"), -1);
}

/* Sign and verify agree, and a different key never verifies. */
static void
test_sign_roundtrip(void **state)
{
	char sig[45], key[32], body[200];

	(void)state;
	srand(7);
	for (int i = 0; i < 200; i++) {
		size_t klen = 1 + (size_t)(rand() % 30), blen = (size_t)(rand() % 199);
		char why[WHY_MAX] = "";

		for (size_t j = 0; j < klen; j++)
			key[j] = (char)('a' + rand() % 26);
		for (size_t j = 0; j < blen; j++)
			body[j] = (char)(rand() % 256);
		sig_sign(key, klen, body, blen, sig);
		assert_int_equal(strlen(sig), 44);
		assert_int_equal(sig_verify(key, klen, body, blen, sig, why, sizeof(why)), 0);
		key[0] ^= 1;
		assert_int_equal(sig_verify(key, klen, body, blen, sig, why, sizeof(why)), -1);
	}
}

static void
test_sha256_hex(void **state)
{
	char out[65];

	(void)state;
	sha256_hex("", 0, "abc", 3, out);
	assert_string_equal(out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("a", 1, "bc", 2, out);
	assert_string_equal(out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_sdk_fixture_vectors),
		cmocka_unit_test(test_bad_signatures),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_sha256_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
