/* test_store_referral.c: the referral tables in a real SQLite file: a customer's code
 * is issued once per campaign and found again; reps are assigned and re-assigned;
 * events are written with what they carry; the schema refuses a second referral for
 * the same friend; the rewards tick's gauge reads the open rewards only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../daemon/shokaid.h"
#include "../../daemon/store/store_internal.h"	/* white box: a statement's own counters */
#include "testutil.h"

static char dir[256];
static struct store *s;

static int
setup(void **state)
{
	char path[512];

	(void)state;
	s = test_store_fresh(dir, path, "storeref", 0);
	assert_non_null(s);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return test_store_gone(s, dir);
}

static void
test_code_is_stable_per_customer_and_campaign(void **state)
{
	char a[REFCODE_LEN + 1], b[REFCODE_LEN + 1], c[REFCODE_LEN + 1], canon[REFCODE_LEN + 1];
	struct refcode_owner o;
	int issued;

	(void)state;
	assert_int_equal(store_refcode_issue(s, "main", "Ualice", "winter", 1000, a, &issued),
	    0);
	assert_int_equal(issued, 1);
	assert_int_equal(refcode_valid(a, canon), 0);
	assert_int_equal(store_refcode_issue(s, "main", "Ualice", "winter", 2000, b, &issued),
	    0);
	assert_int_equal(issued, 0);
	assert_string_equal(a, b);
	assert_int_equal(store_refcode_issue(s, "main", "Ualice", "spring", 3000, c, &issued),
	    0);
	assert_int_equal(issued, 1);
	assert_string_not_equal(a, c);
	assert_int_equal(store_refcode_lookup(s, a, &o), 1);
	assert_string_equal(o.user_id, "Ualice");
	assert_string_equal(o.campaign, "winter");
	assert_int_equal(o.issued_at, 1000);
	refcode_owner_clear(&o);
	assert_int_equal(store_refcode_lookup(s, "ZZZZZZZZZ", &o), 0);
}

static void
test_customer_rep(void **state)
{
	char *rep = NULL;

	(void)state;
	assert_int_equal(store_customer_rep(s, "main", "Ubob", &rep), 0);
	assert_int_equal(store_customer_assign(s, "main", "Ubob", "R001", "rep_link", 1), 0);
	assert_int_equal(store_customer_rep(s, "main", "Ubob", &rep), 1);
	assert_string_equal(rep, "R001");
	free(rep);
	assert_int_equal(store_customer_assign(s, "main", "Ubob", "R012", "import", 2), 0);
	assert_int_equal(store_customer_rep(s, "main", "Ubob", &rep), 1);
	assert_string_equal(rep, "R012");
	free(rep);
}

static void
test_events_and_first_touch(void **state)
{
	struct ref_event e = { .at = 5, .type = "rejected", .channel = "main",
	    .campaign = "winter", .code = "K7Q4M2XPC", .referrer_id = "Ualice",
	    .referee_id = "Ucarol", .reason = "self_referral", .actor = "system" };
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *st;
	char *err = NULL;
	int rc;

	(void)state;
	assert_int_equal(store_ref_event(s, &e), 0);
	snprintf(path, sizeof(path), "%s/shokai.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT type, reason, referee_id, referral_id "
	    "FROM referral_events", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "rejected");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "self_referral");
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "Ucarol");
	assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
	sqlite3_finalize(st);
	/* One referral per friend: the database itself refuses a second. */
	rc = sqlite3_exec(db, "INSERT INTO referral_codes VALUES ('AAAAAAAAA', 'main', 'Ux', "
	    "'w', 1); INSERT INTO referrals(channel, campaign, code, referrer_id, referee_id, "
	    "state, claimed_at, updated_at) VALUES ('main', 'w', 'AAAAAAAAA', 'Ux', 'Uy', "
	    "'claimed', 1, 1);", NULL, NULL, &err);
	assert_int_equal(rc, SQLITE_OK);
	rc = sqlite3_exec(db, "INSERT INTO referrals(channel, campaign, code, referrer_id, "
	    "referee_id, state, claimed_at, updated_at) VALUES ('main', 'w', 'AAAAAAAAA', "
	    "'Uz', 'Uy', 'claimed', 2, 2);", NULL, NULL, &err);
	assert_int_equal(rc, SQLITE_CONSTRAINT);
	sqlite3_free(err);
	sqlite3_close(db);
}

/* The report's rejection columns are the caller's rules: a new rule's column appears
 * by itself, and rules sharing a column add up in it. */
static void
test_report_columns_come_from_the_rules(void **state)
{
	static const struct report_rejection rej[] = {
		{ "self_referral", "rej_self" },
		{ "brand_new_rule", "rej_new" },
		{ "unknown_code", "rej_unknown" },
		{ "too_many_wrong_codes", "rej_unknown" },
	};
	static const char *const reasons[] = { "brand_new_rule", "unknown_code",
	    "too_many_wrong_codes", "too_many_wrong_codes", "self_referral" };
	char buf[2048] = "";
	FILE *out;
	int64_t now = wall_ms();

	(void)state;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		struct ref_event e = { .at = now, .type = "rejected", .channel = "main",
		    .campaign = "spring", .code = "K7Q4M2XPC", .referee_id = "Udave",
		    .reason = reasons[i], .actor = "system" };

		assert_int_equal(store_ref_event(s, &e), 0);
	}
	assert_non_null(out = fmemopen(buf, sizeof(buf) - 1, "w"));
	assert_int_equal(store_report(s, out, PRINT_CSV, REPORT_BY_CAMPAIGN, "2000-01-01",
	    "2999-12-31", rej, sizeof(rej) / sizeof(rej[0]), NULL, 0, NULL, 0, NULL), 0);
	fclose(out);
	assert_non_null(strstr(buf, "campaign,campaign_name,issued,clicked,claimed,held,"
	    "rejected,rej_self,rej_new,rej_unknown,won,lost,rewarded,claimed_won,click_rate,"
	    "claim_rate,win_rate\n"));
	/* No denominator: no rate (empty), never 0 % or 100 %. */
	assert_non_null(strstr(buf, "spring,,0,0,0,0,5,1,1,3,0,0,0,0,,,\n"));
	/* The wrong codes a person sent are the reasons the caller names. */
	assert_int_equal(store_wrong_codes_since(s, "main", "Udave", now - 1, reasons + 1, 2),
	    3);
}

/* The report counts events by their local date, whatever the zone: the range on `at`
 * that lets it use an index never cuts off an event of the first or last day, at -12 h
 * or +14 h from UTC, and open or malformed ends leave the range open. */
static void
test_report_local_date_edges(void **state)
{
	static const char *const zones[] = { "Etc/GMT+12", "UTC", "Asia/Tokyo",
	    "Pacific/Kiritimati" };
	static const struct report_rejection rej[] = { { "self_referral", "rej_self" } };
	char *old_tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	(void)state;
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		char buf[4096] = "", campaign[32], want[128];
		struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 1,
		    .tm_isdst = -1 };
		int64_t first, end;
		FILE *out;

		setenv("TZ", zones[z], 1);
		tzset();
		first = (int64_t)mktime(&tm) * 1000;		/* 2026-11-01 00:00 local */
		tm = (struct tm){ .tm_year = 2026 - 1900, .tm_mon = 11, .tm_mday = 1,
		    .tm_isdst = -1 };
		end = (int64_t)mktime(&tm) * 1000;		/* 2026-12-01 00:00 local */
		snprintf(campaign, sizeof(campaign), "edge%zu", z);
		/* in: the first and last ms of November; out: a ms either side */
		const int64_t at[] = { first, end - 1, first - 1, end };
		for (size_t i = 0; i < 4; i++) {
			struct ref_event e = { .at = at[i], .type = "issued", .channel = "main",
			    .campaign = campaign, .code = "K7Q4M2XPC", .referrer_id = "Uedge",
			    .actor = "customer" };

			assert_int_equal(store_ref_event(s, &e), 0);
		}
		assert_non_null(out = fmemopen(buf, sizeof(buf) - 1, "w"));
		assert_int_equal(store_report(s, out, PRINT_CSV, REPORT_BY_CAMPAIGN, "2026-11-01",
		    "2026-11-30", rej, 1, NULL, 0, NULL, 0, NULL), 0);
		fclose(out);
		snprintf(want, sizeof(want), "%s,,2,0,0,0,0,0,0,0,0,0,0.0,,\n", campaign);
		assert_non_null(strstr(buf, want));
		/* open ends (shokaictl's defaults) and a malformed date: all four */
		memset(buf, 0, sizeof(buf));
		assert_non_null(out = fmemopen(buf, sizeof(buf) - 1, "w"));
		assert_int_equal(store_report(s, out, PRINT_CSV, REPORT_BY_CAMPAIGN, "0000-00-00",
		    "9999-99-99", rej, 1, NULL, 0, NULL, 0, NULL), 0);
		fclose(out);
		snprintf(want, sizeof(want), "%s,,4,", campaign);
		assert_non_null(strstr(buf, want));
		memset(buf, 0, sizeof(buf));
		assert_non_null(out = fmemopen(buf, sizeof(buf) - 1, "w"));
		assert_int_equal(store_report(s, out, PRINT_CSV, REPORT_BY_CAMPAIGN, "2026-1",
		    "2026-12-31", rej, 1, NULL, 0, NULL, 0, NULL), 0);
		fclose(out);
		assert_non_null(strstr(buf, want));
	}
	if (old_tz != NULL)
		setenv("TZ", old_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old_tz);
}

static int
count_claim(void *arg, const struct replay_claim *c)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

/* The replay's TEMP tables hide the real referrals from the rules' queries on its
 * read-only connection: they start with the referrals before the date only, grow with
 * what the replay lets through, and the database itself is never written. */
static void
test_replay_shadows_the_referrals_read_only(void **state)
{
	static const char *const reasons[] = { "referrer_cap" };
	char path[512], why[WHY_MAX], code[REFCODE_LEN + 1];
	struct store *r;
	int issued, n = 0;
	int64_t id;

	(void)state;
	assert_int_equal(store_refcode_issue(s, "main", "Urep1", "spring", 1000, code,
	    &issued), 0);
	for (int i = 0; i < 3; i++) {
		char friend[16];
		struct referral ref = { .channel = "main", .campaign = "spring", .code = code,
		    .referrer_id = "Urep1", .referee_id = friend, .state = REF_CLAIMED,
		    .claimed_at = 10000 + i * 10000 };
		struct ref_event e = { .at = ref.claimed_at, .type = "claimed", .channel = "main",
		    .campaign = "spring", .code = code, .referrer_id = "Urep1",
		    .referee_id = friend, .actor = "friend" };

		snprintf(friend, sizeof(friend), "Urepf%d", i);
		assert_int_equal(store_referral_put(s, &ref, &id), 1);
		e.referral_id = id;
		assert_int_equal(store_ref_event(s, &e), 0);
	}
	snprintf(path, sizeof(path), "%s/shokai.db", dir);
	assert_non_null(r = store_open_reader(path, 1000, why, sizeof(why)));
	assert_int_equal(store_replay_open(r, 20000), 0);
	/* Before the date: the first referral only. */
	assert_int_equal(store_referrals_since(r, "main", "Urep1", 0), 1);
	assert_int_equal(store_referral_of_referee(r, "main", "Urepf1", &id), 0);
	assert_int_equal(store_replay_claims(r, 20000, reasons, 1, count_claim, &n), 0);
	assert_int_equal(n, 2);
	{
		struct replay_claim c = { .event_id = 99, .at = 20000, .referral_id = 0,
		    .type = "rejected", .reason = "referrer_cap", .channel = "main",
		    .campaign = "spring", .code = code, .referrer = "Urep1",
		    .referee = "Urepf1" };

		assert_int_equal(store_replay_record(r, &c, 0), 0);
	}
	assert_int_equal(store_referrals_since(r, "main", "Urep1", 0), 2);
	assert_int_equal(store_code_claims_since(r, code, 0), 2);	/* one before, one now */
	store_close(r);
	/* The writer still sees all three, and nothing else. */
	assert_int_equal(store_referrals_since(s, "main", "Urep1", 0), 3);
}

/* The rewards tick asks every second how many approved rewards wait for an empty coupon
 * pool. The answer must come from the open rewards (rewards_open) and each pool's free
 * codes (coupons_free), not from every reward ever made and every free code of every pool:
 * on a year's database the tick read 150,000 rewards a second. */
static void
test_reward_gauge_reads_only_open_rewards(void **state)
{
	static const char fill[] =
	    "BEGIN;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
	    "INSERT INTO rewards(referral_id, side, user_id, campaign, pool, state, due_at, "
	    "approve_after) SELECT i, 'referrer', 'U' || i, 'spring', 'quo', 'issued', 0, 0 "
	    "FROM n;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
	    "INSERT INTO coupons(pool, code, reward_id, imported_at) SELECT 'quo', 'Q' || i, i, "
	    "0 FROM n;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
	    "INSERT INTO coupons(pool, code, imported_at) SELECT 'gift', 'G' || i, 0 FROM n;"
	    "INSERT INTO rewards(referral_id, side, user_id, campaign, pool, state, due_at, "
	    "approve_after) VALUES (5001, 'referrer', 'Ua', 'spring', 'quo', 'approved', 0, 0), "
	    "(5002, 'referrer', 'Ub', 'spring', 'quo', 'approved', 0, 0), "
	    "(5003, 'referrer', 'Uc', 'spring', 'gift', 'approved', 0, 0), "
	    "(5004, 'referrer', 'Ud', 'spring', 'quo', 'pending', 0, 0);"
	    "COMMIT;";
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	snprintf(path, sizeof(path), "%s/shokai.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, fill, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* quo's codes are all taken; gift has free ones */
	assert_int_equal(store_rewards_waiting_pool(s), 2);
	assert_non_null(st = s->st[ST_REWARDS_WAITING_POOL]);
	assert_int_equal(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0), 0);
	/* a few steps per open reward, not a step per reward or per free code */
	assert_in_range(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0), 1, 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_is_stable_per_customer_and_campaign),
		cmocka_unit_test(test_customer_rep),
		cmocka_unit_test(test_events_and_first_touch),
		cmocka_unit_test(test_report_columns_come_from_the_rules),
		cmocka_unit_test(test_report_local_date_edges),
		cmocka_unit_test(test_replay_shadows_the_referrals_read_only),
		cmocka_unit_test(test_reward_gauge_reads_only_open_rewards),
	};

	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
