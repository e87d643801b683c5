/* test_json_text.c: json_text writes the bytes jansson's json_dumps(v, JSON_COMPACT)
 * writes, checked against json_dumps itself: thousands of random trees (every escape,
 * multi-byte text, a NUL inside a string, keys set twice, integers at their ends), every
 * JSON file of the SDK fixtures, and the cases where jansson refuses. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../daemon/shokaid.h"
#include "testutil.h"

/* Asserts both writers agree on v (both NULL counts as agreeing); returns json_text's. */
static char *
assert_same(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT), *got = json_text(v);

	if (want == NULL || got == NULL)
		assert_ptr_equal(want, got);
	else
		assert_string_equal(got, want);
	free(want);
	return got;
}

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Text from pieces that each exercise a branch of the writer. */
static json_t *
random_string(uint64_t *rng, int as_key, char *key, size_t keylen)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "/", "~", "\x7f", "\"", "\\", "\b", "\f", "\n", "\r", "\t",
		"\x01", "\x1f", "\x0b", "紹介", "さん", "😀", "é", "\xef\xbb\xbf", "{}", "[]",
		"%s", "\\u0000",
	};
	char buf[256];
	size_t len = 0, n = next_rand(rng) % 12;
	int with_nul = !as_key && next_rand(rng) % 10 == 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = pieces[next_rand(rng) % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t plen = strlen(p);

		if (len + plen + 1 >= sizeof(buf))
			break;
		memcpy(buf + len, p, plen);
		len += plen;
	}
	if (with_nul && len + 2 < sizeof(buf)) {
		buf[len++] = '\0';
		buf[len++] = 'x';
	}
	buf[len] = '\0';
	if (as_key) {
		snprintf(key, keylen, "%s", buf);
		return NULL;
	}
	return json_stringn(buf, len);
}

static json_t *
random_value(uint64_t *rng, int depth)
{
	static const json_int_t ints[] = { 0, -1, 1, 42, 1700000000000, INT64_MAX, INT64_MIN };
	unsigned kind = (unsigned)(next_rand(rng) % (depth >= 5 ? 6 : 8));
	json_t *v;
	char key[256];

	switch (kind) {
	case 0: return json_true();
	case 1: return json_false();
	case 2: return json_null();
	case 3: return json_integer(ints[next_rand(rng) % (sizeof(ints) / sizeof(ints[0]))]);
	case 4: return json_integer((json_int_t)(next_rand(rng) >> 1) - INT64_MAX / 2);
	case 5: return random_string(rng, 0, NULL, 0);
	case 6:
		v = json_array();
		for (uint64_t i = next_rand(rng) % 6; i > 0; i--)
			json_array_append_new(v, random_value(rng, depth + 1));
		return v;
	default:
		v = json_object();
		for (uint64_t i = next_rand(rng) % 7; i > 0; i--) {
			random_string(rng, 1, key, sizeof(key));
			json_object_set_new(v, key, random_value(rng, depth + 1));
		}
		return v;
	}
}

/* 5,000 random trees, objects and arrays at the top as message bodies are. */
static void
test_random_trees(void **state)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		json_t *v = next_rand(&rng) % 2 ? json_object() : json_array();

		for (uint64_t n = next_rand(&rng) % 8; n > 0; n--) {
			if (json_is_object(v)) {
				char key[256];

				random_string(&rng, 1, key, sizeof(key));
				json_object_set_new(v, key, random_value(&rng, 1));
			} else {
				json_array_append_new(v, random_value(&rng, 1));
			}
		}
		free(assert_same(v));
		json_decref(v);
	}
}

/* A key set again keeps its first place; a deleted one leaves the order of the rest. */
static void
test_key_order(void **state)
{
	json_t *v = json_object();
	char *got;

	(void)state;
	for (int i = 0; i < 40; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", (i * 17) % 40);
		json_object_set_new(v, key, json_integer(i));
	}
	json_object_set_new(v, "k3", json_string("again"));
	json_object_del(v, "k20");
	got = assert_same(v);
	assert_non_null(strstr(got, "\"k3\":\"again\""));
	free(got);
	json_decref(v);
}

static void
test_escapes_exactly(void **state)
{
	json_t *v = json_pack("{s:s#}", "t", "a\"b\\c\x01\x1f\x7f/\n\0z", (size_t)12);
	char *got;

	(void)state;
	got = assert_same(v);
	assert_string_equal(got, "{\"t\":\"a\\\"b\\\\c\\u0001\\u001F\x7f/\\n\\u0000z\"}");
	free(got);
	json_decref(v);
}

/* Where jansson gives no text, neither does json_text. */
static void
test_refusals(void **state)
{
	json_t *bad = json_object(), *deep = json_array(), *reals;
	char *got;

	(void)state;
	json_object_set_new(bad, "t", json_stringn_nocheck("\xc3\x28", 2));
	assert_null(assert_same(bad));
	json_decref(bad);
	bad = json_object();
	/* a surrogate in a key: jansson 2.14 writes `{":true}` here, broken JSON */
	json_object_set_new_nocheck(bad, "\xed\xa0\x80", json_true());
	assert_null(json_text(bad));
	json_decref(bad);

	assert_null(json_text(NULL));
	bad = json_string("top");
	assert_null(assert_same(bad));
	json_decref(bad);

	/* deeper than any parser would build: refused, not recursed into */
	for (int i = 0; i < 5000; i++) {
		json_t *outer = json_array();

		json_array_append_new(outer, deep);
		deep = outer;
	}
	assert_null(json_text(deep));
	json_decref(deep);

	reals = json_pack("{s:f, s:[f, i]}", "x", 0.1, "y", 1e300, 3);
	got = assert_same(reals);
	assert_non_null(got);
	free(got);
	json_decref(reals);
}

static void
same_for_files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[1024];
		json_t *v;
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		v = json_load_file(path, JSON_ALLOW_NUL, NULL);
		if (v == NULL)
			continue;
		free(assert_same(v));
		json_decref(v);
		files++;
	}
	closedir(d);
	assert_true(files > 0);
}

/* Real webhook bodies, as LINE's SDKs keep them. */
static void
test_sdk_fixtures(void **state)
{
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/line-sdk-fixtures/java-line-bot-webhook",
	    test_shared_dir());
	same_for_files_in(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_trees),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_escapes_exactly),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_sdk_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
