/* test_hours.c: business hours as loaded from YAML: open or not at a time (weekends,
 * holidays, a window past midnight), open time added across nights, weekends and
 * holidays, and the load errors an operator gets for a bad calendar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../daemon/config/config.h"

static char dir[256];

static struct config *
load(const char *tail, struct config_errors *errs)
{
	char path[512], *yaml;
	struct config *cf;

	yaml = xasprintf("%s%s", TEST_CONFIG_HEAD, tail);
	assert_int_equal(test_write_file(dir, "shokai.yaml", yaml, 0644), 0);
	free(yaml);
	snprintf(path, sizeof(path), "%s/shokai.yaml", dir);
	cf = config_load(path, errs);
	return cf;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shokai-test-hours-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(test_write_file(dir, "secret", "s3cret\n", 0600), 0);
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return test_rmdir(dir);
}

/* Local (Asia/Tokyo) unix ms; 2026-11-27 is a Friday. */
static int64_t
at(int mon, int mday, int hour, int min)
{
	struct tm tm = { 0 };

	tm.tm_year = 2026 - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

#define HOUR	(3600LL * 1000)

static void
test_office_week(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cf = load("business_hours: { days: mon-fri, from: \"09:00\", "
	    "to: \"18:00\", holidays: [2026-11-30] }\n", &errs);
	const struct config_hours *h;

	(void)state;
	assert_non_null(cf);
	h = &cf->business_hours;
	assert_true(config_hours_open(h, at(11, 27, 9, 0)));	/* Friday, opening */
	assert_false(config_hours_open(h, at(11, 27, 18, 0)));	/* closing is closed */
	assert_false(config_hours_open(h, at(11, 28, 12, 0)));	/* Saturday */
	assert_false(config_hours_open(h, at(11, 30, 12, 0)));	/* a holiday Monday */
	assert_true(config_hours_open(h, at(12, 1, 12, 0)));
	/* Inside a window: plain time. */
	assert_int_equal(config_hours_add(h, at(11, 27, 10, 0), 2 * HOUR), at(11, 27, 12, 0));
	/* Friday 17:00 + 2 h: one hour on Friday, the weekend and the holiday skipped. */
	assert_int_equal(config_hours_add(h, at(11, 27, 17, 0), 2 * HOUR), at(12, 1, 10, 0));
	/* From a closed time: the clock starts at the next opening. */
	assert_int_equal(config_hours_add(h, at(11, 28, 3, 0), 30 * 60 * 1000),
	    at(12, 1, 9, 30));
	/* A whole working day is nine hours. */
	assert_int_equal(config_hours_add(h, at(12, 1, 9, 0), 9 * HOUR), at(12, 1, 18, 0));
	assert_int_equal(config_hours_add(h, at(12, 1, 9, 0), 10 * HOUR), at(12, 2, 10, 0));
	config_unref(cf);
}

static void
test_night_shift_and_default(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cf = load("business_hours: { days: fri, from: \"22:00\", "
	    "to: \"06:00\" }\n", &errs);

	(void)state;
	assert_non_null(cf);
	/* Friday's window runs into Saturday morning. */
	assert_true(config_hours_open(&cf->business_hours, at(11, 28, 5, 0)));
	assert_false(config_hours_open(&cf->business_hours, at(11, 28, 23, 0)));
	assert_int_equal(config_hours_add(&cf->business_hours, at(11, 28, 5, 0), 2 * HOUR),
	    at(12, 4, 23, 0));
	config_unref(cf);
	/* No business_hours: always open, plain time. */
	cf = load("", &errs);
	assert_non_null(cf);
	assert_true(config_hours_open(&cf->business_hours, at(11, 29, 3, 0)));
	assert_int_equal(config_hours_add(&cf->business_hours, at(11, 29, 3, 0), HOUR),
	    at(11, 29, 4, 0));
	config_unref(cf);
}

static void
test_bad_calendar(void **state)
{
	struct config_errors errs = { 0 };
	int saw_day = 0, saw_date = 0, saw_key = 0;

	(void)state;
	assert_null(load("business_hours: { days: mon-fry, from: \"09:00\", to: \"18:00\",\n"
	    "  holidays: [2027-02-30], lunch: \"12:00\" }\n", &errs));
	for (size_t i = 0; i < errs.n; i++) {
		saw_day |= strstr(errs.lines[i], "business_hours.days") != NULL;
		saw_date |= strstr(errs.lines[i], "business_hours.holidays[0]") != NULL;
		saw_key |= strstr(errs.lines[i], "lunch") != NULL;
	}
	assert_true(saw_day && saw_date && saw_key);
	config_errors_clear(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_office_week),
		cmocka_unit_test(test_night_shift_and_default),
		cmocka_unit_test(test_bad_calendar),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
