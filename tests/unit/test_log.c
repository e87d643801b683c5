/* test_log.c: user ids in log lines are pseudonyms, HMAC-SHA256 under the database's
 * key (log.c): each thread's remembered pseudonyms give the same text as a fresh HMAC,
 * for ids that share a slot and ids too long to remember, and a new key makes every
 * remembered one stale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../../daemon/shokaid.h"

static void
expected(const char *key, const char *id, char out[16])
{
	unsigned char mac[32];
	unsigned int len = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)id, strlen(id), mac,
	    &len);
	snprintf(out, 16, "u:%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3]);
}

static void
assert_pseudonym(const char *key, const char *id)
{
	char got[16], want[16];

	log_user(id, got);
	expected(key, id, want);
	assert_string_equal(got, want);
}

static void
test_pseudonyms_are_the_keyed_hash_every_time(void **state)
{
	char id[80], long_id[100];

	(void)state;
	log_set_pseudonym_key((const unsigned char *)"first key", 9);
	/* Many ids, so that some share a slot; each asked twice (made, then remembered). */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 600; i++) {
			snprintf(id, sizeof(id), "U%032x", (unsigned)i * 2654435761u);
			assert_pseudonym("first key", id);
		}
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_pseudonym("first key", long_id);
	assert_pseudonym("first key", long_id);
	/* A new key: nothing remembered under the old one is used. */
	log_set_pseudonym_key((const unsigned char *)"second key", 10);
	for (int i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "U%032x", (unsigned)i * 2654435761u);
		assert_pseudonym("second key", id);
	}
	log_user(NULL, id);
	assert_string_equal(id, "-");
	log_user("", id);
	assert_string_equal(id, "-");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pseudonyms_are_the_keyed_hash_every_time),
	};

	log_init(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
