/* test_figures.c: the console's figures (store_figures.c, console_dashboard.c,
 * console_people.c) on a real SQLite file: hand-made referral_events, referrals, users,
 * customers and profiles written with the test's own connection, a config loaded from
 * YAML text, and Asia/Tokyo as the local time. Each figure is checked on the events
 * that make it, with the edges: a period's boundary at local midnight, clicks counted
 * once per code, client and day, a forgotten person, a manager's scope, rates with
 * small denominators, the previous period, a referral with no rep; and shokaictl
 * report's columns equal the console's figures for the same period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "../../daemon/shokaid.h"
#include "../../daemon/console/console.h"
#include "../../daemon/console/console_figures.h"
#include "testutil.h"

#define MIN	60000LL
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

static const char *const config_text =
    TEST_CONFIG_HEAD
    "company_name: 株式会社テスト\n"
    "messages:\n"
    "  invite: \"{sender_name}さんからのご紹介です。紹介コード{code} {invite_url}\"\n"
    "  invite_preview:\n"
    "    - template: { type: buttons, text: 友だちに送る, actions: [{ type: uri, label: 送る,"
    " uri: \"{share_url}\" }] }\n"
    "branches:\n"
    "  - { code: shinjuku, name: 新宿支店, monthly_target: 10 }\n"
    "  - { code: yokohama, name: 横浜支店 }\n"
    "reps:\n"
    "  - { code: R001, name: 高橋 美咲, branch: shinjuku }\n"
    "  - { code: Y003, name: 渡辺 健, branch: yokohama }\n"
    "  - { code: R012, name: 佐藤 健 }\n"
    "campaigns:\n"
    "  - id: winter\n"
    "    name: 冬のご紹介キャンペーン\n"
    "    starts: 2026-12-01\n"
    "    ends: 2027-03-31\n"
    "    rules: { review: { within: 24h, default: none } }\n"
    "  - id: spring\n"
    "    name: 春\n"
    "    starts: 2027-04-01\n"
    "    ends: 2027-06-30\n";

struct world {
	char		 dir[256];
	struct store	*store;
	sqlite3		*db;
	struct config	*cfg;
};

/* Unix ms of a local (Tokyo) time on a date. */
static int64_t
at(const char *date, int hour, int min)
{
	int64_t ms;

	assert_int_equal(local_midnight(date, 0, &ms), 0);
	return ms + hour * HOUR + min * MIN;
}

static void
exec(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
exec(struct world *w, const char *fmt, ...)
{
	va_list ap;
	char *sql, *err = NULL;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_exec(w->db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	free(sql);
}

/* One referral_events row; NULL strings are NULL. */
struct ev {
	int64_t		 at;
	const char	*type, *campaign, *code;
	int64_t		 referral_id;
	const char	*referrer, *referee, *rep, *branch, *reason, *actor, *client;
};

static void
ev(struct world *w, struct ev e)
{
	sqlite3_stmt *st;
	const char *text[] = { e.type, e.campaign ? e.campaign : "winter", e.code,
	    e.referrer, e.referee, e.rep, e.branch, e.reason, e.actor, e.client };

	assert_int_equal(sqlite3_prepare_v2(w->db, "INSERT INTO referral_events(at, type, "
	    "campaign, code, referrer_id, referee_id, rep_code, branch, reason, actor, "
	    "client_hash, channel, referral_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, 'main', ?12)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, e.at);
	for (int i = 0; i < 10; i++)
		if (text[i] != NULL)
			sqlite3_bind_text(st, i + 2, text[i], -1, SQLITE_STATIC);
	if (e.referral_id > 0)
		sqlite3_bind_int64(st, 12, e.referral_id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* A referral, its claim event (claimed or held), by referrer ALICE's code. */
static void
referral(struct world *w, int64_t id, const char *referee, const char *rep,
    const char *branch, const char *state, int64_t claimed_at)
{
	exec(w, "INSERT INTO referrals(id, channel, campaign, code, referrer_id, referee_id, "
	    "rep_code, state, claimed_at, updated_at) VALUES (%lld, 'main', 'winter', "
	    "'CODEALICE', 'Ualice', '%s', %s%s%s, '%s', %lld, %lld)", (long long)id, referee,
	    rep ? "'" : "", rep ? rep : "NULL", rep ? "'" : "", state, (long long)claimed_at,
	    (long long)claimed_at);
	ev(w, (struct ev){ .at = claimed_at, .type = strcmp(state, "held") ? "claimed" : "held",
	    .code = "CODEALICE", .referral_id = id, .referrer = "Ualice", .referee = referee,
	    .rep = rep, .branch = branch, .actor = "friend" });
}

/* A state move of referral id at t by actor. */
static void
move(struct world *w, int64_t id, const char *to, int64_t t, const char *actor,
    const char *rep, const char *branch)
{
	exec(w, "UPDATE referrals SET state = '%s', updated_at = %lld WHERE id = %lld", to,
	    (long long)t, (long long)id);
	ev(w, (struct ev){ .at = t, .type = "state", .code = "CODEALICE", .referral_id = id,
	    .referrer = "Ualice", .rep = rep, .branch = branch, .reason = to,
	    .actor = actor });
}

static int
setup(void **state)
{
	struct world *w = xcalloc(1, sizeof(*w));
	char path[512], why[WHY_MAX];
	struct config_errors errs = { 0 };

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	snprintf(w->dir, sizeof(w->dir), "/tmp/shokai-test-figures-XXXXXX");
	if (mkdtemp(w->dir) == NULL || test_write_file(w->dir, "secret", "s3cret\n", 0600) ||
	    test_write_file(w->dir, "shokai.yaml", config_text, 0644))
		return -1;
	snprintf(path, sizeof(path), "%s/shokai.yaml", w->dir);
	if ((w->cfg = config_load(path, &errs)) == NULL) {
		fprintf(stderr, "config: %s\n", errs.n > 0 ? errs.lines[0] : "?");
		config_errors_clear(&errs);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/shokai.db", w->dir);
	if ((w->store = store_open(path, 0, 1000, why, sizeof(why))) == NULL ||
	    sqlite3_open(path, &w->db) != SQLITE_OK)
		return -1;
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;
	int rc;

	config_unref(w->cfg);
	sqlite3_close(w->db);
	store_close(w->store);
	rc = test_rmdir(w->dir);
	free(w);
	return rc;
}

/* Every branch, the campaign given, now as given. */
static struct figures_query
query(const char *from, const char *to, int64_t now)
{
	static const struct figures_review reviews[] = { { "winter", DAY } };
	struct figures_query q;

	memset(&q, 0, sizeof(q));
	snprintf(q.from, sizeof(q.from), "%s", from);
	snprintf(q.to, sizeof(q.to), "%s", to);
	q.all_branches = 1;
	q.reviews = reviews;
	q.n_reviews = 1;
	q.review_default_ms = 3 * DAY;
	q.now_ms = now;
	return q;
}

static struct figures
figures(struct world *w, const struct figures_query *q)
{
	struct figures f;

	assert_int_equal(store_figures(w->store, q, &f, NULL), 0);
	assert_int_equal(store_friends(w->store, (const struct figures_query *const[]){ q }, 1,
	    &f.friends), 0);
	return f;
}

/* A period's events are those between its first and last local midnights: 23:59 on
 * the last day of January in Tokyo is January (14:59 UTC), 00:00 on February 1st is
 * February (still January 31st in UTC). */
static void
test_period_boundary_is_local_midnight(void **state)
{
	struct world *w = *state;
	struct figures_query jan = query("2027-01-01", "2027-01-31", 0);
	struct figures_query feb = query("2027-02-01", "2027-02-28", 0);
	struct figures f;

	ev(w, (struct ev){ .at = at("2027-01-01", 0, 0), .type = "issued", .code = "C1",
	    .referrer = "Ualice" });
	ev(w, (struct ev){ .at = at("2026-12-31", 23, 59), .type = "issued", .code = "C2",
	    .referrer = "Ubob" });
	ev(w, (struct ev){ .at = at("2027-01-31", 23, 59), .type = "issued", .code = "C3",
	    .referrer = "Ucarol" });
	ev(w, (struct ev){ .at = at("2027-02-01", 0, 0), .type = "issued", .code = "C4",
	    .referrer = "Udave" });
	f = figures(w, &jan);
	assert_int_equal(f.issued, 2);
	assert_int_equal(f.referrers, 2);
	figures_clear(&f);
	f = figures(w, &feb);
	assert_int_equal(f.issued, 1);
	figures_clear(&f);
	/* not a date; from after to */
	snprintf(jan.to, sizeof(jan.to), "2027-02-30");
	assert_int_equal(store_figures(w->store, &jan, &f, NULL), -1);
	figures_clear(&f);
	snprintf(jan.to, sizeof(jan.to), "2026-12-31");
	assert_int_equal(store_figures(w->store, &jan, &f, NULL), -1);
	figures_clear(&f);
}

/* A click counts once per code, client and local day; the trend shows each day's. */
static void
test_clicks_once_per_code_client_and_day(void **state)
{
	struct world *w = *state;
	struct figures_query q = query("2027-01-10", "2027-01-11", 0);
	struct figures_detail d;
	struct figures f;

	ev(w, (struct ev){ .at = at("2027-01-10", 9, 0), .type = "clicked", .code = "C1",
	    .client = "aa" });
	ev(w, (struct ev){ .at = at("2027-01-10", 23, 0), .type = "clicked", .code = "C1",
	    .client = "aa" });			/* again the same day: not counted */
	ev(w, (struct ev){ .at = at("2027-01-11", 0, 30), .type = "clicked", .code = "C1",
	    .client = "aa" });			/* the next local day: counted */
	ev(w, (struct ev){ .at = at("2027-01-10", 9, 5), .type = "clicked", .code = "C1",
	    .client = "bb" });			/* another client */
	ev(w, (struct ev){ .at = at("2027-01-10", 9, 6), .type = "clicked", .code = "C2",
	    .client = "aa" });			/* another code */
	ev(w, (struct ev){ .at = at("2027-01-12", 0, 0), .type = "clicked", .code = "C2",
	    .client = "aa" });			/* after the period */
	assert_int_equal(store_figures(w->store, &q, &f, &d), 0);
	assert_int_equal(f.clicks, 4);
	assert_int_equal(d.n_days, 2);
	assert_string_equal(d.days[0].date, "2027-01-10");
	assert_int_equal(d.days[0].clicks, 3);
	assert_string_equal(d.days[1].date, "2027-01-11");
	assert_int_equal(d.days[1].clicks, 1);
	figures_clear(&f);
	figures_detail_clear(&d);
}

/* The clicks of a period and of each branch, and its first day's. */
static void
clicks_of(struct world *w, int64_t out[4])
{
	static const char *const shinjuku[] = { "shinjuku" }, *const yokohama[] = { "yokohama" };
	struct figures_query q = query("2027-01-10", "2027-01-11", 0);
	struct figures_detail d;
	struct figures f;

	assert_int_equal(store_figures(w->store, &q, &f, &d), 0);
	out[0] = f.clicks;
	out[3] = d.days[0].clicks;
	figures_clear(&f);
	figures_detail_clear(&d);
	q.all_branches = 0;
	q.n_branches = 1;
	q.branches = shinjuku;
	f = figures(w, &q);
	out[1] = f.clicks;
	figures_clear(&f);
	q.branches = yokohama;
	f = figures(w, &q);
	out[2] = f.clicks;
	figures_clear(&f);
}

/* Clicks written by shokaid are counted as they are (click_counts) and read from
 * there; the counts equal the scan's, all branches and one, day by day; clicks written
 * by others are counted at the next check; another time zone is counted afresh. */
static void
test_click_counts_equal_the_scan(void **state)
{
	static const struct {
		int		 day, hour;
		const char	*code, *client, *branch;
	} clicks[] = {
		{ 10, 9, "C1", "aa", "shinjuku" },
		{ 10, 23, "C1", "aa", "shinjuku" },	/* again: not counted */
		{ 10, 8, "C1", "aa", "shinjuku" },	/* earlier, written later: not counted */
		{ 10, 10, "C1", "aa", "yokohama" },	/* the rep moved: once more for yokohama */
		{ 11, 0, "C1", "aa", "shinjuku" },	/* the next day */
		{ 10, 9, "C1", "bb", "shinjuku" },
		{ 10, 9, "C2", "aa", NULL },
		{ 10, 9, "C3", NULL, "yokohama" },
		{ 10, 9, "C3", NULL, "yokohama" },
		{ 12, 0, "C2", "aa", "shinjuku" },	/* after the period */
	};
	struct world *w = *state;
	int64_t counted[4], scanned[4], again[4];

	for (size_t i = 0; i < sizeof(clicks) / sizeof(clicks[0]); i++) {
		char date[11];

		snprintf(date, sizeof(date), "2027-01-%02d", clicks[i].day);
		assert_int_equal(store_ref_event(w->store, &(struct ref_event){ .at = at(date,
		    clicks[i].hour, 0), .type = "clicked", .channel = "main", .campaign =
		    "winter", .code = clicks[i].code, .branch = clicks[i].branch, .client_hash =
		    clicks[i].client }), 0);
	}
	assert_int_equal(store_clicks_counted(w->store), 1);
	/* other events after the clicks do not move the mark, and the counts still hold */
	assert_int_equal(store_ref_event(w->store, &(struct ref_event){ .at = at("2027-01-12",
	    1, 0), .type = "claimed", .channel = "main", .campaign = "winter", .code = "C1" }),
	    0);
	assert_int_equal(store_clicks_counted(w->store), 1);
	clicks_of(w, counted);
	/* another time zone's counts are not read: the scan answers */
	exec(w, "UPDATE meta SET value = 'UTC' WHERE key = 'click_counts_tz'");
	assert_int_equal(store_clicks_counted(w->store), 0);
	clicks_of(w, scanned);
	assert_memory_equal(counted, scanned, sizeof(counted));
	assert_int_equal(counted[0], 5);	/* C1 aa on two days, C1 bb, C2 aa, C3 */
	assert_int_equal(counted[1], 3);	/* shinjuku: C1 aa on two days, C1 bb */
	assert_int_equal(counted[2], 2);	/* yokohama: C1 aa, C3 */
	assert_int_equal(counted[3], 4);
	/* counted afresh; then a click written by another connection, caught up */
	assert_int_equal(store_clicks_count_new(w->store), 0);
	ev(w, (struct ev){ .at = at("2027-01-11", 5, 0), .type = "clicked", .code = "C9",
	    .client = "zz", .branch = "yokohama" });
	assert_int_equal(store_clicks_counted(w->store), 0);
	assert_int_equal(store_clicks_count_new(w->store), 0);
	assert_int_equal(store_clicks_counted(w->store), 1);
	clicks_of(w, again);
	assert_int_equal(again[0], 6);
	assert_int_equal(again[1], 3);
	assert_int_equal(again[2], 3);
	assert_int_equal(again[3], 4);
}

/* users.rep_code follows the customer's rep (schema 13's triggers). */
static void
test_users_follow_the_customers_rep(void **state)
{
	struct world *w = *state;
	sqlite3_stmt *st;

	exec(w, "INSERT INTO users(channel, user_id, first_seen_at, followed_at) VALUES "
	    "('main', 'Ua', 0, 0), ('main', 'Ub', 0, 0)");
	exec(w, "INSERT INTO customers(channel, user_id, rep_code) VALUES ('main', 'Ua', "
	    "'R001'), ('main', 'Uc', 'Y003')");
	exec(w, "INSERT INTO users(channel, user_id, first_seen_at, followed_at) VALUES "
	    "('main', 'Uc', 0, 0)");
	exec(w, "UPDATE customers SET rep_code = 'R012' WHERE user_id = 'Ua'");
	exec(w, "INSERT INTO customers(channel, user_id, rep_code) VALUES ('main', 'Ub', "
	    "'R001')");
	exec(w, "DELETE FROM customers WHERE user_id = 'Ub'");
	assert_int_equal(sqlite3_prepare_v2(w->db, "SELECT group_concat(user_id || '=' || "
	    "coalesce(rep_code, '-'), ',') FROM (SELECT * FROM users ORDER BY user_id)", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "Ua=R012,Ub=-,Uc=Y003");
	sqlite3_finalize(st);
}

/* The claims, the review, the rejections, the moves and the rewards of a month, and
 * the figures that follow a claim to today. */
static void
test_each_figure(void **state)
{
	struct world *w = *state;
	int64_t now = at("2027-01-20", 12, 0);
	struct figures_query q = query("2027-01-01", "2027-01-31", now);
	struct figures f;

	/* claimed on the 5th, contacted by the rep an hour later, meeting, won */
	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", at("2027-01-05", 10, 0));
	move(w, 1, "contacted", at("2027-01-05", 11, 0), "rep:R001", "R001", "shinjuku");
	move(w, 1, "meeting", at("2027-01-06", 11, 0), "rep:R001", "R001", "shinjuku");
	move(w, 1, "won", at("2027-01-07", 11, 0), "rep:R001", "R001", "shinjuku");
	/* claimed, moved first by an operator (not the rep's first action), then by the
	 * rep three hours after the claim, lost */
	referral(w, 2, "Uf2", "R001", "shinjuku", "claimed", at("2027-01-06", 10, 0));
	move(w, 2, "contacted", at("2027-01-06", 12, 0), "operator", "R001", "shinjuku");
	move(w, 2, "lost", at("2027-01-06", 13, 0), "rep:R001", "R001", "shinjuku");
	/* claimed, nobody acted */
	referral(w, 3, "Uf3", "Y003", "yokohama", "claimed", at("2027-01-07", 10, 0));
	/* claimed in December, won in January: a January win, not a January claim */
	referral(w, 4, "Uf4", "Y003", "yokohama", "claimed", at("2026-12-20", 10, 0));
	move(w, 4, "won", at("2027-01-08", 10, 0), "rep:Y003", "Y003", "yokohama");
	/* held two days before now (past the 24 h deadline) and held an hour before */
	referral(w, 5, "Uf5", "R001", "shinjuku", "held", now - 2 * DAY);
	referral(w, 6, "Uf6", "R001", "shinjuku", "held", now - HOUR);
	/* held, then let through by an operator the next day: a claim accepted then */
	referral(w, 7, "Uf7", "R001", "shinjuku", "held", at("2027-01-10", 10, 0));
	move(w, 7, "claimed", at("2027-01-11", 10, 0), "operator", "R001", "shinjuku");
	ev(w, (struct ev){ .at = at("2027-01-09", 10, 0), .type = "rejected",
	    .reason = "self_referral" });
	ev(w, (struct ev){ .at = at("2027-01-09", 11, 0), .type = "rejected",
	    .reason = "unknown_code" });
	ev(w, (struct ev){ .at = at("2027-01-09", 12, 0), .type = "rejected",
	    .reason = "unknown_code" });
	ev(w, (struct ev){ .at = at("2027-01-07", 11, 1), .type = "reward",
	    .reason = "pending:referrer", .referral_id = 1 });
	ev(w, (struct ev){ .at = at("2027-01-07", 11, 1), .type = "reward",
	    .reason = "pending:referee", .referral_id = 1 });
	ev(w, (struct ev){ .at = at("2027-01-08", 11, 1), .type = "reward",
	    .reason = "approved:referrer", .referral_id = 1 });
	ev(w, (struct ev){ .at = at("2027-01-08", 11, 2), .type = "reward",
	    .reason = "issued:referrer", .referral_id = 1 });
	ev(w, (struct ev){ .at = at("2027-01-09", 11, 2), .type = "reward",
	    .reason = "voided:referee", .referral_id = 1 });
	/* friends: before the period and still; blocked before it; blocked during it;
	 * followed after it; seen but never followed */
	exec(w, "INSERT INTO users(channel, user_id, first_seen_at, followed_at, "
	    "unfollowed_at, is_friend) VALUES ('main', 'Ua', 0, %lld, NULL, 1), "
	    "('main', 'Ub', 0, %lld, %lld, 0), ('main', 'Uc', 0, %lld, %lld, 0), "
	    "('main', 'Ud', 0, %lld, NULL, 1), ('main', 'Ue', 0, NULL, NULL, 1)",
	    (long long)at("2026-11-01", 0, 0), (long long)at("2026-11-01", 0, 0),
	    (long long)at("2026-12-31", 23, 0), (long long)at("2026-11-01", 0, 0),
	    (long long)at("2027-01-15", 0, 0), (long long)at("2027-02-01", 0, 0));
	f = figures(w, &q);
	assert_int_equal(f.claimed, 4);
	assert_int_equal(f.held, 3);
	assert_int_equal(f.held_overdue, 1);
	assert_int_equal(f.rejected, 3);
	assert_int_equal(f.n_rejected_by, 2);
	assert_string_equal(f.rejected_by[0].reason, "self_referral");
	assert_int_equal(f.rejected_by[0].n, 1);
	assert_string_equal(f.rejected_by[1].reason, "unknown_code");
	assert_int_equal(f.rejected_by[1].n, 2);
	assert_int_equal(f.contacted, 2);
	assert_int_equal(f.meeting, 1);
	/* worked on in January: 1 and 2 (contacted), 4 (won without a contact) */
	assert_int_equal(f.funnel_contacted, 3);
	assert_int_equal(f.won, 2);
	assert_int_equal(f.lost, 1);
	assert_int_equal(f.rewards_pending, 2);
	assert_int_equal(f.rewards_approved, 1);
	assert_int_equal(f.rewards_issued, 1);
	assert_int_equal(f.rewards_voided, 1);
	/* of January's four claims, one is won today (December's win is not) */
	assert_int_equal(f.claimed_won, 1);
	/* the rep's first moves: 1 h and 3 h after the claim (the operator's does not
	 * count; a claim nobody moved is left out): the mean of the middle two */
	assert_int_equal(f.first_action_median_s, 2 * 3600);
	assert_int_equal(f.friends, 2);
	figures_clear(&f);
}

/* The leaderboards by branch and rep, and a referral without a rep. */
static void
test_leaders_and_a_referral_with_no_rep(void **state)
{
	struct world *w = *state;
	struct figures_query q = query("2027-01-01", "2027-01-31", 0);
	struct figures_detail d;
	struct figures f;
	const struct figures_group *none = NULL, *r001 = NULL;

	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", at("2027-01-05", 10, 0));
	move(w, 1, "won", at("2027-01-05", 12, 0), "rep:R001", "R001", "shinjuku");
	referral(w, 2, "Uf2", "R001", "shinjuku", "claimed", at("2027-01-06", 10, 0));
	referral(w, 3, "Uf3", NULL, NULL, "claimed", at("2027-01-07", 10, 0));
	assert_int_equal(store_figures(w->store, &q, &f, &d), 0);
	for (size_t i = 0; i < d.n_reps; i++) {
		if (d.reps[i].code == NULL)
			none = &d.reps[i];
		else if (strcmp(d.reps[i].code, "R001") == 0)
			r001 = &d.reps[i];
	}
	assert_non_null(none);
	assert_non_null(r001);
	assert_int_equal(r001->claimed, 2);
	assert_int_equal(r001->won, 1);
	assert_int_equal(r001->claimed_won, 1);
	assert_int_equal(r001->first_action_median_s, 2 * 3600);
	assert_string_equal(r001->branch, "shinjuku");
	assert_int_equal(none->claimed, 1);
	assert_int_equal(none->first_action_median_s, -1);
	/* open now: R001's one, and one without a rep */
	assert_int_equal(d.n_open, 2);
	figures_clear(&f);
	figures_detail_clear(&d);
}

/* Top referrers: the most accepted claims first (a held claim counts once let
 * through), ties by user id, only as many as asked, each with its wins. */
static void
test_top_referrers(void **state)
{
	struct world *w = *state;
	struct figures_query q = query("2027-01-01", "2027-01-31", 0);
	struct figures_referrer *top = NULL;
	size_t n = 0;
	int64_t t = at("2027-01-05", 10, 0);
	static const struct {
		const char	*referrer, *type, *reason;
	} evs[] = {
		{ "Ucarol", "claimed", NULL }, { "Ucarol", "claimed", NULL },
		{ "Udave", "claimed", NULL }, { "Udave", "claimed", NULL },
		{ "Ubob", "claimed", NULL }, { "Ubob", "claimed", NULL },
		{ "Ubob", "state", "claimed" },		/* a held one let through */
		{ "Ueve", "held", NULL },		/* held still: not a claim */
		{ "Ueve", "claimed", NULL },
		{ "Ualice", "claimed", NULL }, { "Ualice", "claimed", NULL },
		{ NULL, "claimed", NULL },		/* nobody's: not listed */
		{ NULL, "claimed", NULL }, { NULL, "claimed", NULL },
		{ "Ucarol", "state", "won" },
	};

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		ev(w, (struct ev){ .at = t + (int64_t)i * MIN, .type = evs[i].type,
		    .reason = evs[i].reason, .referrer = evs[i].referrer,
		    .referral_id = (int64_t)i + 1 });
	assert_int_equal(store_top_referrers(w->store, &q, 3, &top, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(top[0].user_id, "Ubob");
	assert_int_equal(top[0].claimed, 3);
	assert_string_equal(top[1].user_id, "Ualice");
	assert_int_equal(top[1].claimed, 2);
	assert_int_equal(top[1].won, 0);
	assert_string_equal(top[2].user_id, "Ucarol");
	assert_int_equal(top[2].claimed, 2);
	assert_int_equal(top[2].won, 1);
	assert_string_equal(top[2].channel, "main");
	figures_referrers_free(top, n);
	/* asked for more than there are: all five, Ueve's one claim last */
	assert_int_equal(store_top_referrers(w->store, &q, 10, &top, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(top[3].user_id, "Udave");
	assert_string_equal(top[4].user_id, "Ueve");
	assert_int_equal(top[4].claimed, 1);
	figures_referrers_free(top, n);
}

/* What a person is called. */
static void
test_person_names(void **state)
{
	struct world *w = *state;
	json_t *p;

	exec(w, "INSERT INTO profiles(channel, user_id, display_name, found, fetched_at) "
	    "VALUES ('main', 'Ualice', '鈴木 花子', 1, 0), ('main', 'Ugone', NULL, 0, 0)");
	p = console_person(w->store, w->cfg, "main", "Ualice", 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "鈴木 花子");
	assert_false(json_boolean_value(json_object_get(p, "forgotten")));
	json_decref(p);
	p = console_person(w->store, w->cfg, "main", "forgotten:1a2b3c", 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "forgotten:1a2b3c");
	assert_true(json_boolean_value(json_object_get(p, "forgotten")));
	assert_string_equal(json_string_value(json_object_get(p, "user_id")),
	    "forgotten:1a2b3c");
	json_decref(p);
	p = console_person(w->store, w->cfg, "main", "Ugone", 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")),
	    w->cfg->wording.unknown_name);
	json_decref(p);
	p = console_person(w->store, w->cfg, "main", "Unever", 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")),
	    w->cfg->wording.unknown_name);
	json_decref(p);
}

static json_t *
dashboard(struct world *w, const struct console_scope *sc, const char *from,
    const char *to, const char *branch, int *status)
{
	struct console_filter flt;
	char why[WHY_MAX] = "";

	memset(&flt, 0, sizeof(flt));
	snprintf(flt.from, sizeof(flt.from), "%s", from);
	snprintf(flt.to, sizeof(flt.to), "%s", to);
	flt.branch = branch;
	return console_dashboard(w->store, w->cfg, sc, &flt, status, why, sizeof(why));
}

static json_int_t
num(json_t *o, const char *path)
{
	char *p = xstrdup(path), *k, *save = NULL;
	json_t *v = o;

	for (k = strtok_r(p, ".", &save); k != NULL; k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
	free(p);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

/* A manager sees their branches only; asking for another is 403, and an unknown
 * branch 400 for anyone. */
static void
test_manager_scope(void **state)
{
	struct world *w = *state;
	char shinjuku[] = "shinjuku", *mine[] = { shinjuku };
	struct console_scope manager = { ROLE_MANAGER, mine, 1 }, admin = { ROLE_ADMIN, NULL,
	    0 };
	json_t *o;
	int status;

	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", at("2027-01-05", 10, 0));
	referral(w, 2, "Uf2", "Y003", "yokohama", "claimed", at("2027-01-05", 11, 0));
	referral(w, 3, "Uf3", NULL, NULL, "claimed", at("2027-01-05", 12, 0));
	o = dashboard(w, &manager, "2027-01-01", "2027-01-31", NULL, &status);
	assert_non_null(o);
	assert_int_equal(num(o, "figures.claimed"), 1);
	assert_int_equal(json_array_size(json_object_get(o, "branches")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "branches"), 0), "code")), "shinjuku");
	assert_int_equal(json_array_size(json_object_get(o, "reps")), 1);
	/* the branch's monthly target for a whole month */
	assert_int_equal(num(o, "figures.target"), 10);
	json_decref(o);
	assert_null(dashboard(w, &manager, "2027-01-01", "2027-01-31", "yokohama", &status));
	assert_int_equal(status, 403);
	assert_null(dashboard(w, &admin, "2027-01-01", "2027-01-31", "nowhere", &status));
	assert_int_equal(status, 400);
	assert_null(dashboard(w, &admin, "2027-01-01", "", NULL, &status));
	assert_int_equal(status, 400);
	/* an admin: every claim, with a row for the one without a rep or branch */
	o = dashboard(w, &admin, "2027-01-01", "2027-01-31", NULL, &status);
	assert_non_null(o);
	assert_int_equal(num(o, "figures.claimed"), 3);
	assert_int_equal(json_array_size(json_object_get(o, "branches")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "reps"), 3), "code")), "");
	assert_int_equal(num(o, "reps.3.claimed"), 1);
	assert_int_equal(num(o, "reps.3.open"), 1);
	json_decref(o);
	o = dashboard(w, &admin, "2027-01-01", "2027-01-31", "yokohama", &status);
	assert_int_equal(num(o, "figures.claimed"), 1);
	assert_true(json_is_null(json_object_get(json_object_get(o, "figures"), "target")));
	json_decref(o);
}

/* The previous period: the month before for a whole month (February's 28 days before
 * March's 31), last month's same days for this month so far, else as many days just
 * before; rates are counts, 1 of 1 stays 1/1. */
static void
test_previous_period_and_small_rates(void **state)
{
	struct world *w = *state;
	struct console_scope admin = { ROLE_ADMIN, NULL, 0 };
	json_t *o, *rate;
	int status;

	ev(w, (struct ev){ .at = at("2027-02-10", 9, 0), .type = "clicked", .code = "C1",
	    .client = "aa" });
	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", at("2027-02-10", 10, 0));
	o = dashboard(w, &admin, "2027-03-01", "2027-03-31", NULL, &status);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "previous_from")),
	    "2027-02-01");
	assert_string_equal(json_string_value(json_object_get(o, "previous_to")),
	    "2027-02-28");
	assert_int_equal(num(o, "previous.claimed"), 1);
	assert_int_equal(num(o, "figures.claimed"), 0);
	rate = json_object_get(json_object_get(o, "previous"), "claim_rate");
	assert_int_equal(json_integer_value(json_object_get(rate, "num")), 1);
	assert_int_equal(json_integer_value(json_object_get(rate, "den")), 1);
	rate = json_object_get(json_object_get(o, "figures"), "win_rate");
	assert_int_equal(json_integer_value(json_object_get(rate, "den")), 0);
	assert_true(json_is_null(json_object_get(json_object_get(o, "figures"),
	    "first_action_median_s")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "trend"),
	    "unit")), "day");
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "trend"),
	    "points")), 31);
	json_decref(o);
	o = dashboard(w, &admin, "2027-02-10", "2027-02-16", NULL, &status);
	assert_string_equal(json_string_value(json_object_get(o, "previous_from")),
	    "2027-02-03");
	assert_string_equal(json_string_value(json_object_get(o, "previous_to")),
	    "2027-02-09");
	assert_int_equal(num(o, "funnel.1.count"), 1);	/* clicked */
	assert_int_equal(num(o, "funnel.2.count"), 1);	/* claimed */
	json_decref(o);
	/* This month so far: last month's same days, cut to the days it has. */
	o = dashboard(w, &admin, "2027-03-01", "2027-03-10", NULL, &status);
	assert_string_equal(json_string_value(json_object_get(o, "previous_from")),
	    "2027-02-01");
	assert_string_equal(json_string_value(json_object_get(o, "previous_to")),
	    "2027-02-10");
	assert_int_equal(num(o, "previous.claimed"), 1);
	json_decref(o);
	o = dashboard(w, &admin, "2027-03-01", "2027-03-30", NULL, &status);
	assert_string_equal(json_string_value(json_object_get(o, "previous_to")),
	    "2027-02-28");
	json_decref(o);
	/* a quarter: by week, Mondays (2027-01-04 was one) */
	o = dashboard(w, &admin, "2027-01-01", "2027-03-31", NULL, &status);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "trend"),
	    "unit")), "week");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
	    json_object_get(o, "trend"), "points"), 1), "date")), "2027-01-04");
	assert_string_equal(json_string_value(json_object_get(o, "previous_from")),
	    "2026-10-01");
	json_decref(o);
}

/* Who stopped at each stage of the funnel. */
static void
test_funnel_lists(void **state)
{
	struct world *w = *state;
	struct console_scope admin = { ROLE_ADMIN, NULL, 0 };
	struct console_filter flt;
	char why[WHY_MAX];
	json_t *o;
	int status;

	ev(w, (struct ev){ .at = at("2027-01-02", 9, 0), .type = "issued", .code = "CNONE",
	    .referrer = "Unone" });
	ev(w, (struct ev){ .at = at("2027-01-02", 9, 0), .type = "issued", .code = "CODEALICE",
	    .referrer = "Ualice" });
	ev(w, (struct ev){ .at = at("2027-01-03", 9, 0), .type = "clicked", .code = "CODEALICE",
	    .referrer = "Ualice", .client = "aa" });
	ev(w, (struct ev){ .at = at("2027-01-03", 9, 0), .type = "issued", .code = "CCLICK",
	    .referrer = "Uclick" });
	ev(w, (struct ev){ .at = at("2027-01-03", 10, 0), .type = "clicked", .code = "CCLICK",
	    .referrer = "Uclick", .client = "bb" });
	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", at("2027-01-05", 10, 0));
	exec(w, "INSERT INTO profiles(channel, user_id, display_name, found, fetched_at) "
	    "VALUES ('main', 'Uf1', '鈴木 一郎', 1, 1)");
	referral(w, 2, "forgotten:9f", "R001", "shinjuku", "claimed", at("2027-01-05", 11, 0));
	move(w, 2, "contacted", at("2027-01-06", 10, 0), "rep:R001", "R001", "shinjuku");
	memset(&flt, 0, sizeof(flt));
	snprintf(flt.from, sizeof(flt.from), "2027-01-01");
	snprintf(flt.to, sizeof(flt.to), "2027-01-31");
	o = console_funnel_list(w->store, w->cfg, &admin, &flt, "issued", &status, why,
	    sizeof(why));
	assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "items"), 0), "person"), "user_id")), "Unone");
	json_decref(o);
	o = console_funnel_list(w->store, w->cfg, &admin, &flt, "clicked", &status, why,
	    sizeof(why));
	assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(o, "items"), 0), "code")), "CCLICK");
	json_decref(o);
	o = console_funnel_list(w->store, w->cfg, &admin, &flt, "claimed", &status, why,
	    sizeof(why));
	assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
	assert_int_equal(num(o, "items.0.referral_id"), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "items"), 0), "rep"), "name")), "高橋 美咲");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "items"), 0), "person"), "name")), "鈴木 一郎");
	json_decref(o);
	/* A manager reads the friend's name as referrers do: masked (the campaign hides it). */
	{
		char shinjuku[] = "shinjuku", *branches[] = { shinjuku };
		struct console_scope mgr = { ROLE_MANAGER, branches, 1 };

		o = console_funnel_list(w->store, w->cfg, &mgr, &flt, "claimed", &status, why,
		    sizeof(why));
		assert_string_equal(json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(o, "items"), 0), "person"), "name")), "鈴*");
		json_decref(o);
	}
	o = console_funnel_list(w->store, w->cfg, &admin, &flt, "contacted", &status, why,
	    sizeof(why));
	assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
	assert_true(json_boolean_value(json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "items"), 0), "person"), "forgotten")));
	json_decref(o);
	assert_null(console_funnel_list(w->store, w->cfg, &admin, &flt, "lost", &status, why,
	    sizeof(why)));
	assert_int_equal(status, 400);
}

/* The reps page: open referrals, those waiting oldest first, this month's results. */
static void
test_reps_page(void **state)
{
	struct world *w = *state;
	struct console_scope admin = { ROLE_ADMIN, NULL, 0 };
	struct console_filter flt;
	char why[WHY_MAX];
	json_t *o, *r001;
	int status;

	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", wall_ms() - 2 * HOUR);
	referral(w, 2, "Uf2", "R001", "shinjuku", "claimed", wall_ms() - 3 * HOUR);
	referral(w, 3, "Uf3", "R001", "shinjuku", "claimed", wall_ms() - HOUR);
	move(w, 3, "contacted", wall_ms() - HOUR / 2, "rep:R001", "R001", "shinjuku");
	memset(&flt, 0, sizeof(flt));
	o = console_reps(w->store, w->cfg, &admin, &flt, &status, why, sizeof(why));
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "items")), 3);
	r001 = json_array_get(json_object_get(o, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(r001, "code")), "R001");
	assert_int_equal(num(r001, "open"), 3);
	assert_int_equal(json_array_size(json_object_get(r001, "waiting")), 2);
	assert_int_equal(num(r001, "waiting.0.referral_id"), 2);	/* oldest first */
	assert_int_equal(num(r001, "waiting.1.referral_id"), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r001, "branch"),
	    "name")), "新宿支店");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(o, "items"),
	    2), "branch")));
	json_decref(o);
}

/* shokaictl report prints the console's figures for the same period. */
static void
test_report_counts_the_same(void **state)
{
	struct world *w = *state;
	struct figures_query q = query("2027-01-01", "2027-01-31", 0);
	struct report_rejection rej[] = { { "self_referral", "rej_self" } };
	struct figures f;
	char path[512], *text;
	size_t len;
	FILE *out;

	ev(w, (struct ev){ .at = at("2027-01-02", 9, 0), .type = "issued", .code = "C1",
	    .referrer = "Ualice" });
	ev(w, (struct ev){ .at = at("2027-01-03", 9, 0), .type = "clicked", .code = "C1",
	    .client = "aa" });
	ev(w, (struct ev){ .at = at("2027-01-03", 9, 5), .type = "clicked", .code = "C1",
	    .client = "aa" });
	ev(w, (struct ev){ .at = at("2027-01-31", 23, 0), .type = "clicked", .code = "C1",
	    .client = "aa" });
	ev(w, (struct ev){ .at = at("2027-02-01", 0, 0), .type = "clicked", .code = "C1",
	    .client = "aa" });
	referral(w, 1, "Uf1", "R001", "shinjuku", "claimed", at("2027-01-05", 10, 0));
	move(w, 1, "won", at("2027-01-06", 10, 0), "rep:R001", "R001", "shinjuku");
	ev(w, (struct ev){ .at = at("2027-01-09", 10, 0), .type = "rejected",
	    .reason = "self_referral" });
	ev(w, (struct ev){ .at = at("2027-01-09", 10, 0), .type = "reward",
	    .reason = "issued:referrer" });
	f = figures(w, &q);
	snprintf(path, sizeof(path), "%s/report.csv", w->dir);
	assert_non_null(out = fopen(path, "w"));
	assert_int_equal(store_report(w->store, out, PRINT_CSV, REPORT_BY_CAMPAIGN,
	    "2027-01-01", "2027-01-31", rej, 1, NULL, 0, NULL, 0, NULL), 0);
	fclose(out);
	text = test_read_file(path, &len);
	/* The rates are the console's: clicks / issued, claims / clicks, and the
	 * period's claims won today / claims (f.claimed_won). */
	assert_string_equal(text, "campaign,campaign_name,issued,clicked,claimed,held,rejected,"
	    "rej_self,won,lost,rewarded,claimed_won,click_rate,claim_rate,win_rate\n"
	    "winter,,1,2,1,0,1,1,1,0,1,1,200.0,50.0,100.0\n");
	assert_int_equal(f.claimed_won, 1);
	assert_int_equal(f.issued, 1);
	assert_int_equal(f.clicks, 2);
	assert_int_equal(f.claimed, 1);
	assert_int_equal(f.rejected, 1);
	assert_int_equal(f.won, 1);
	assert_int_equal(f.rewards_issued, 1);
	free(text);
	figures_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_period_boundary_is_local_midnight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clicks_once_per_code_client_and_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_click_counts_equal_the_scan, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_users_follow_the_customers_rep, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each_figure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaders_and_a_referral_with_no_rep, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_top_referrers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_person_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previous_period_and_small_rates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_funnel_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reps_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_counts_the_same, setup, teardown),
	};

	log_init(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
