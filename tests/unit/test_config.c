/* test_config.c: the config loader's errors, each with its exact file:line:column
 * message, and a good file's values. Files are written to a temp folder because
 * secret files must be mode 0600, which git cannot store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../daemon/shokaid.h"

static char dir[256];

static void
write_file(const char *name, const char *text, mode_t mode)
{
	assert_int_equal(test_write_file(dir, name, text, mode), 0);
}

static const char *const base_yaml =
    "server:\n"
    "  listen: 127.0.0.1:8080\n"
    "  max_body: 256KiB\n"
    "storage:\n"
    "  sqlite: test.db\n"
    "line:\n"
    "  channels:\n"
    "    - id: main\n"
    "      basic_id: \"@123abcde\"\n"
    "      channel_secret_file: secret\n"
    "      access_token_file: secret\n"
    "      api_base: http://127.0.0.1:9\n"
    "      api_data_base: http://127.0.0.1:9/\n";

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shokai-test-config-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_file("secret", "s3cret\n", 0600);
	write_file("open-secret", "s3cret\n", 0644);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return test_rmdir(dir);
}

/* Loads text as dir/c.yaml; returns the snapshot (or NULL) and the errors. */
static struct config *
load(const char *text, struct config_errors *errs)
{
	char path[512];

	write_file("c.yaml", text, 0644);
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	memset(errs, 0, sizeof(*errs));
	return config_load(path, errs);
}

/* Asserts that loading text fails with exactly one error equal to want (the file path
 * prefix is added here). */
static void
expect_error(const char *text, const char *want)
{
	struct config_errors errs;
	struct config *cf = load(text, &errs);
	char full[1024];
	size_t n;

	snprintf(full, sizeof(full), "%s/c.yaml:%s", dir, want);
	if (cf != NULL)
		fail_msg("config loaded, expected error %s", want);
	for (size_t i = 0; errs.n == 1 && i < errs.n; i++)
		if (strcmp(errs.lines[i], full) == 0) {
			config_errors_clear(&errs);
			return;
		}
	for (size_t i = 0; i < errs.n; i++)
		print_error("got: %s\n", errs.lines[i]);
	n = errs.n;
	config_errors_clear(&errs);
	fail_msg("wanted exactly one error, %s; got %zu", full, n);
}

static char *
with(const char *from, const char *to)
{
	const char *at = strstr(base_yaml, from);
	char *out;

	assert_non_null(at);
	out = xasprintf("%.*s%s%s", (int)(at - base_yaml), base_yaml, to, at + strlen(from));
	return out;
}

static void
test_good(void **state)
{
	struct config_errors errs;
	struct config *cf;
	char want_db[512];

	(void)state;
	cf = load(base_yaml, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(cf);
	assert_string_equal(cf->listen_host, "127.0.0.1");
	assert_int_equal(cf->listen_port, 8080);
	assert_int_equal(cf->max_body, 256 * 1024);
	assert_int_equal(cf->read_timeout_ms, 10000);	/* documented default */
	assert_int_equal(cf->synchronous_full, 1);
	assert_int_equal(cf->n_trusted_proxies, 0);	/* believes no X-Forwarded-For */
	snprintf(want_db, sizeof(want_db), "%s/test.db", dir);
	assert_string_equal(cf->sqlite_path, want_db);
	assert_int_equal(cf->n_line_channels, 1);
	assert_string_equal(cf->line_channels[0].channel_secret, "s3cret");
	assert_string_equal(cf->line_channels[0].api_data_base, "http://127.0.0.1:9");
	assert_non_null(config_line_channel(cf, "main"));
	assert_null(config_line_channel(cf, "other"));
	config_unref(cf);
}

static void
test_unknown_key(void **state)
{
	char *y = with("  max_body: 256KiB\n", "  max_body: 256KiB\n  max_bdy: 1\n");

	(void)state;
	expect_error(y, "4:3: server: unknown key 'max_bdy'");
	free(y);
}

static void
test_wrong_type(void **state)
{
	char *y = with("  max_body: 256KiB\n", "  max_body: [1, 2]\n");

	(void)state;
	expect_error(y, "3:13: server.max_body: expected a size such as 4096, 16KiB or 1MiB");
	free(y);
}

static void
test_missing_required(void **state)
{
	char *y = with("  max_body: 256KiB\n", "");

	(void)state;
	expect_error(y, "2:3: server: missing required key 'max_body'");
	free(y);
}

static void
test_bad_duration(void **state)
{
	char *y = with("  max_body: 256KiB\n", "  max_body: 256KiB\n  read_timeout: 10 seconds\n");

	(void)state;
	expect_error(y, "4:17: server.read_timeout: expected a duration such as 500ms, 10s, "
	    "5m, 1h or 14d");
	free(y);
}

static void
test_bad_trusted_proxy(void **state)
{
	char *y = with("  max_body: 256KiB\n",
	    "  max_body: 256KiB\n  trusted_proxies:\n    - 127.0.0.1\n    - ::1\n"
	    "    - 10.0.0.0/8\n");

	(void)state;
	expect_error(y, "7:7: server.trusted_proxies[2]: '10.0.0.0/8' is not an IPv4 or "
	    "IPv6 address");
	free(y);
}

static void
test_trusted_proxies_read(void **state)
{
	char *y = with("  max_body: 256KiB\n",
	    "  max_body: 256KiB\n  trusted_proxies: [127.0.0.1, \"::1\"]\n");
	struct config_errors errs;
	struct config *cf;

	(void)state;
	cf = load(y, &errs);
	assert_int_equal(errs.n, 0);
	assert_non_null(cf);
	assert_int_equal(cf->n_trusted_proxies, 2);
	assert_int_equal(cf->trusted_proxies[0].family, AF_INET);
	assert_int_equal(cf->trusted_proxies[1].family, AF_INET6);
	config_unref(cf);
	free(y);
}

static void
test_tls_needs_both_files(void **state)
{
	char *y = with("  max_body: 256KiB\n",
	    "  max_body: 256KiB\n  tls: { cert_file: secret }\n");

	(void)state;
	expect_error(y, "4:8: server.tls: missing required key 'key_file'");
	free(y);
}

static void
test_tls_key_must_be_private(void **state)
{
	char *y = with("  max_body: 256KiB\n",
	    "  max_body: 256KiB\n  tls: { cert_file: secret, key_file: open-secret }\n");
	char want[1024];

	(void)state;
	snprintf(want, sizeof(want), "4:39: server.tls.key_file: %s/open-secret is readable "
	    "by group or others (mode 0644); run chmod 600 on it", dir);
	expect_error(y, want);
	free(y);
}

/* A file that is not a PEM certificate: the error names the section and the file. */
static void
test_tls_bad_certificate(void **state)
{
	char *y = with("  max_body: 256KiB\n",
	    "  max_body: 256KiB\n  tls: { cert_file: secret, key_file: secret }\n");
	struct config_errors errs;
	struct config *cf;
	char want[1024];

	(void)state;
	cf = load(y, &errs);
	assert_null(cf);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s/c.yaml:4:8: server.tls: cannot read the certificate "
	    "%s/secret: ", dir, dir);
	assert_memory_equal(errs.lines[0], want, strlen(want));
	config_errors_clear(&errs);
	free(y);
}

static void
test_bad_listen(void **state)
{
	char *y = with("127.0.0.1:8080", "127.0.0.1:99999");

	(void)state;
	expect_error(y, "2:11: server.listen: port '99999' is not a number from 0 to 65535");
	free(y);
}

static void
test_open_secret_file(void **state)
{
	char *y = with("      channel_secret_file: secret\n",
	    "      channel_secret_file: open-secret\n");
	char want[700];

	(void)state;
	snprintf(want, sizeof(want), "10:28: line.channels[0].channel_secret_file: "
	    "%s/open-secret is readable by group or others (mode 0644); run chmod 600 on it",
	    dir);
	expect_error(y, want);
	free(y);
}

static void
test_inline_secret(void **state)
{
	char *y = with("      channel_secret_file: secret\n",
	    "      channel_secret: abc\n");

	(void)state;
	expect_error(y, "10:7: line.channels[0].channel_secret: secrets never sit in the "
	    "config file; name a file with 'channel_secret_file' or a variable with "
	    "'channel_secret_env'");
	free(y);
}

static void
test_missing_secret_file(void **state)
{
	char *y = with("      channel_secret_file: secret\n",
	    "      channel_secret_file: nope\n");
	char want[700];

	(void)state;
	snprintf(want, sizeof(want), "10:28: line.channels[0].channel_secret_file: cannot "
	    "open %s/nope: No such file or directory", dir);
	expect_error(y, want);
	free(y);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A FIFO named as a secret or an include (nobody writing to it) is refused at once,
 * by name: opening it used to wait for a writer, freezing the loop on SIGHUP. */
static void
test_fifo_is_refused(void **state)
{
	char *y = with("      channel_secret_file: secret\n",
	    "      channel_secret_file: fifo\n"), *inc;
	char want[700], path[512];
	struct config_errors errs;
	struct config *cf;
	double t0 = now_s();

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want), "10:28: line.channels[0].channel_secret_file: cannot "
	    "open %s/fifo: not a regular file", dir);
	expect_error(y, want);
	free(y);

	inc = xasprintf("include:\n  - fifo\n%s", base_yaml);
	cf = load(inc, &errs);
	assert_null(cf);
	snprintf(want, sizeof(want), "include: cannot open %s/fifo: not a regular file", dir);
	assert_true(errs.n >= 1);
	if (strstr(errs.lines[0], want) == NULL)
		fail_msg("got: %s", errs.lines[0]);
	config_errors_clear(&errs);
	free(inc);
	assert_true(now_s() - t0 < 2.0);
	unlink(path);
}

static void
test_secret_env(void **state)
{
	char *y = with("      channel_secret_file: secret\n",
	    "      channel_secret_env: SHOKAI_TEST_SECRET\n");
	struct config_errors errs;
	struct config *cf;

	(void)state;
	unsetenv("SHOKAI_TEST_SECRET");
	expect_error(y, "10:27: line.channels[0].channel_secret_env: environment variable "
	    "SHOKAI_TEST_SECRET is not set");
	setenv("SHOKAI_TEST_SECRET", "from-env", 1);
	cf = load(y, &errs);
	assert_non_null(cf);
	assert_string_equal(cf->line_channels[0].channel_secret, "from-env");
	config_unref(cf);
	free(y);
}

static void
test_bad_values(void **state)
{
	char *y;

	(void)state;
	y = with("\"@123abcde\"", "\"123abcde\"");
	expect_error(y, "9:17: line.channels[0].basic_id: '123abcde' should start with '@' "
	    "(as in @123abcde)");
	free(y);
	y = with("api_base: http://127.0.0.1:9\n", "api_base: ftp://x\n");
	expect_error(y, "12:17: line.channels[0].api_base: 'ftp://x' is not an http:// or "
	    "https:// URL");
	free(y);
	y = with("id: main", "id: Main Channel");
	expect_error(y, "8:11: line.channels[0].id: 'Main Channel' may use only a-z, 0-9, '-' "
	    "and '_' (at most 64)");
	free(y);
	y = with("  sqlite: test.db\n", "  sqlite: test.db\n  synchronous: off\n");
	expect_error(y, "6:16: storage.synchronous: expected full or normal, got 'off'");
	free(y);
}

static void
test_syntax_error(void **state)
{
	(void)state;
	expect_error("server:\n  listen: [oops\n",
	    "3:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow "
	    "sequence");
}

static void
test_all_errors_reported(void **state)
{
	char *y = with("  max_body: 256KiB\n", "  max_body: huge\n  bogus: 1\n");
	struct config_errors errs;

	(void)state;
	assert_null(load(y, &errs));
	assert_int_equal(errs.n, 2);
	config_errors_clear(&errs);
	free(y);
}

static void
test_duplicate_channel(void **state)
{
	char *y = xasprintf("%s%s", base_yaml,
	    "    - id: main\n"
	    "      basic_id: \"@x\"\n"
	    "      channel_secret_file: secret\n"
	    "      access_token_file: secret\n"
	    "      api_base: http://127.0.0.1:9\n"
	    "      api_data_base: http://127.0.0.1:9\n");

	(void)state;
	expect_error(y, "14:7: line.channels[1]: id 'main' is used twice");
	free(y);
}

static void
test_parsers(void **state)
{
	(void)state;
	assert_int_equal(config_parse_duration_ms("500ms"), 500);
	assert_int_equal(config_parse_duration_ms("10s"), 10000);
	assert_int_equal(config_parse_duration_ms("14d"), 14LL * 86400000);
	assert_int_equal(config_parse_duration_ms("10"), -1);
	assert_int_equal(config_parse_duration_ms("-1s"), -1);
	assert_int_equal(config_parse_size("1MiB"), 1048576);
	assert_int_equal(config_parse_size("4096"), 4096);
	assert_int_equal(config_parse_size("1GB"), -1);
}

/* Whatever an operator saves must be refused cleanly, never crash a reload. */
static void
test_broken_files_are_errors_not_crashes(void **state)
{
	struct config_errors errs;
	struct config *cf;
	char *text, want[600];

	(void)state;
	/* An empty included file. */
	write_file("empty.yaml", "", 0644);
	text = xasprintf("%sinclude: [empty.yaml]\n", base_yaml);
	cf = load(text, &errs);
	free(text);
	snprintf(want, sizeof(want), "%s/empty.yaml:1:1: the file is empty", dir);
	assert_null(cf);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.lines[0], want);
	config_errors_clear(&errs);

	/* A channel without its id, and a rule naming a channel. */
	text = xasprintf("%smessages: { a: A }\n"
	    "auto_replies: [{ match: { exact: x }, reply: a, channel: other }]\n",
	    base_yaml);
	text[strstr(text, "    - id: main\n") - text + 6] = '#';	/* "- #d: main" */
	cf = load(text, &errs);
	free(text);
	assert_null(cf);
	assert_true(errs.n >= 2);
	config_errors_clear(&errs);

	/* A section both in the main file and in an include: reported once, and the
	 * first one parsed is not leaked (the ASan build checks). */
	write_file("twice.yaml", "storage: { sqlite: other.db }\n", 0644);
	text = xasprintf("%sinclude: [twice.yaml]\n", base_yaml);
	cf = load(text, &errs);
	free(text);
	assert_null(cf);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.lines[0], "twice.yaml:1:1: 'storage' is already set in"));
	config_errors_clear(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test(test_bad_trusted_proxy),
		cmocka_unit_test(test_trusted_proxies_read),
		cmocka_unit_test(test_open_secret_file),
		cmocka_unit_test(test_inline_secret),
		cmocka_unit_test(test_missing_secret_file),
		cmocka_unit_test(test_fifo_is_refused),
		cmocka_unit_test(test_secret_env),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_tls_needs_both_files),
		cmocka_unit_test(test_tls_key_must_be_private),
		cmocka_unit_test(test_tls_bad_certificate),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_duplicate_channel),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_broken_files_are_errors_not_crashes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
