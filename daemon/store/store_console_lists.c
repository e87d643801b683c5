/* store_console_lists.c: the console's lists: referrals (with both people's display
 * names), a referral's timeline and notes, rewards, held claims, customers, coupon
 * pools, failed messages and quarantine, the audit log and accounts. Each filter is a
 * bound parameter that is NULL when unused; a scope or branch filter arrives as a JSON
 * array of rep codes (json_each), so a manager's lists never leave their branches.
 * Rows come back as JSON objects (store_query_json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store_internal.h"

#define REFERRAL_COLUMNS \
	"r.id, r.state, r.campaign, r.code, r.channel, r.referrer_id, r.referee_id, " \
	"r.rep_code, r.claimed_at, r.updated_at, pr.display_name AS referrer_name, " \
	"pe.display_name AS referee_name, EXISTS (SELECT 1 FROM customer_tags t WHERE " \
	"t.channel = r.channel AND t.tag = 'partner' AND t.user_id = r.referrer_id) AS " \
	"referrer_partner "
#define REFERRAL_FROM \
	"FROM referrals r " \
	"LEFT JOIN profiles pr ON pr.channel = r.channel AND pr.user_id = r.referrer_id " \
	"LEFT JOIN profiles pe ON pe.channel = r.channel AND pe.user_id = r.referee_id "
/* ?1 state, ?2 campaign, ?3 rep codes (JSON), ?4/?5 claimed_at range, ?7 whose
 * referrals (0 all, 1 partners', 2 customers'); ?6 a LIKE pattern (REFERRAL_LIKE) */
#define REFERRAL_WHERE \
	"WHERE (?1 IS NULL OR r.state = ?1) AND (?2 IS NULL OR r.campaign = ?2) " \
	"AND (?3 IS NULL OR r.rep_code IN (SELECT value FROM json_each(?3))) " \
	"AND (?4 IS NULL OR r.claimed_at >= ?4) AND (?5 IS NULL OR r.claimed_at < ?5) " \
	"AND (?7 = 0 OR (?7 = 1) = EXISTS (SELECT 1 FROM customer_tags t WHERE " \
	"t.channel = r.channel AND t.tag = 'partner' AND t.user_id = r.referrer_id)) "
#define REFERRAL_LIKE \
	"AND (?6 IS NULL OR r.code LIKE ?6 OR pr.display_name LIKE ?6 OR " \
	"pe.display_name LIKE ?6) "

/* A list's total (count_sql, its first ncount arguments) and one page of it (page_sql,
 * every argument). 0, or -1 (logged). */
static int
count_then_page(struct store *s, const char *count_sql, size_t ncount,
    const char *page_sql, const struct store_arg *a, size_t npage, json_t **rows,
    int64_t *total)
{
	json_t *count = NULL;
	int rc = store_query_one(s, count_sql, a, ncount, &count);

	*rows = NULL;
	if (rc == 1)
		*total = json_integer_value(json_object_get(count, "n"));
	json_decref(count);
	return rc == 1 ? store_query_json(s, page_sql, a, npage, rows) : -1;
}

static void
referral_args(const struct console_list_query *q, struct store_arg a[9])
{
	a[0] = SARG_TEXT(q->state);
	a[1] = SARG_TEXT(q->campaign);
	a[2] = SARG_TEXT(q->reps_json);
	a[3] = q->from_ms ? SARG_INT(q->from_ms) : SARG_TEXT(NULL);
	a[4] = q->to_ms ? SARG_INT(q->to_ms) : SARG_TEXT(NULL);
	a[5] = SARG_TEXT(q->like);
	a[6] = SARG_INT(q->partner);
	a[7] = SARG_INT(q->limit > 0 ? q->limit : 100);
	a[8] = SARG_INT(q->offset);
}

int
store_console_referrals(struct store *s, const struct console_list_query *q, json_t **rows,
    int64_t *total)
{
	struct store_arg a[9];

	referral_args(q, a);
	/* The total without the name joins unless a name is searched: counting a million
	 * rows through two joins would be most of the answer's time. */
	return count_then_page(s, q->like != NULL ?
	    "SELECT count(*) AS n " REFERRAL_FROM REFERRAL_WHERE REFERRAL_LIKE :
	    "SELECT count(*) AS n FROM referrals r " REFERRAL_WHERE "AND ?6 IS NULL", 7,
	    "SELECT " REFERRAL_COLUMNS REFERRAL_FROM REFERRAL_WHERE REFERRAL_LIKE
	    "ORDER BY r.id DESC LIMIT ?8 OFFSET ?9", a, 9, rows, total);
}

int
store_console_referral(struct store *s, int64_t id, json_t **row)
{
	struct store_arg a = SARG_INT(id);

	return store_query_one(s, "SELECT " REFERRAL_COLUMNS REFERRAL_FROM "WHERE r.id = ?1",
	    &a, 1, row);
}

/* The referral's events, and the code's issue and clicks before the claim. */
int
store_console_timeline(struct store *s, int64_t id, json_t **rows)
{
	struct store_arg a = SARG_INT(id);

	return store_query_json(s, "SELECT id, at, type, reason, actor FROM referral_events "
	    "WHERE referral_id = ?1 UNION ALL SELECT * FROM (SELECT e.id, e.at, e.type, "
	    "e.reason, e.actor FROM referral_events e JOIN referrals r ON r.id = ?1 WHERE "
	    "e.code = r.code AND e.type IN ('issued', 'clicked') AND e.at <= r.claimed_at "
	    "ORDER BY e.id DESC LIMIT 50) UNION ALL SELECT -n.id, n.at, 'note', n.text, "
	    "n.author FROM referral_notes n WHERE n.referral_id = ?1 ORDER BY 2, 1", &a, 1,
	    rows);
}

int
store_console_notes(struct store *s, int64_t id, json_t **rows)
{
	struct store_arg a = SARG_INT(id);

	return store_query_json(s, "SELECT at, author, text FROM referral_notes WHERE "
	    "referral_id = ?1 ORDER BY id", &a, 1, rows);
}

/* Held claims and flagged referrals, oldest first, each with when and why it came to
 * review (its latest held event, or the rep's move to suspicious): one query, where the
 * queue read each referral's events one by one. ?1 campaign, ?2 rep codes. */
int
store_console_review(struct store *s, const char *campaign, const char *reps_json,
    json_t **rows)
{
	struct store_arg a[] = { SARG_TEXT(campaign), SARG_TEXT(reps_json) };

	return store_query_json(s, "SELECT " REFERRAL_COLUMNS ", (SELECT e.at FROM "
	    "referral_events e WHERE e.referral_id = r.id AND (e.type = 'held' OR (e.type = "
	    "'state' AND e.reason = 'suspicious')) ORDER BY e.id DESC LIMIT 1) AS review_at, "
	    "(SELECT e.reason FROM referral_events e WHERE e.referral_id = r.id AND e.type = "
	    "'held' ORDER BY e.id DESC LIMIT 1) AS held_reason " REFERRAL_FROM
	    "WHERE r.state IN ('held', 'suspicious') AND (?1 IS NULL OR r.campaign = ?1) AND "
	    "(?2 IS NULL OR r.rep_code IN (SELECT value FROM json_each(?2))) "
	    "ORDER BY r.claimed_at LIMIT 500", a, 2, rows);
}

#define REWARD_COLUMNS \
	"w.id, w.referral_id, w.side, w.user_id, w.campaign, w.pool, w.state, w.due_at, " \
	"w.approve_after, w.issued_at, w.note, r.channel, r.rep_code, " \
	"p.display_name AS display_name "
#define REWARD_FROM \
	"FROM rewards w JOIN referrals r ON r.id = w.referral_id " \
	"LEFT JOIN profiles p ON p.channel = r.channel AND p.user_id = w.user_id "

/* ?1 state, ?2 campaign, ?3 rep codes, ?4/?5 due_at range, ?6 referral id, ?7 user */
int
store_console_rewards(struct store *s, const struct console_list_query *q, json_t **rows,
    int64_t *total)
{
	struct store_arg a[] = { SARG_TEXT(q->state), SARG_TEXT(q->campaign),
	    SARG_TEXT(q->reps_json), q->from_ms ? SARG_INT(q->from_ms) : SARG_TEXT(NULL),
	    q->to_ms ? SARG_INT(q->to_ms) : SARG_TEXT(NULL),
	    q->id ? SARG_INT(q->id) : SARG_TEXT(NULL), SARG_TEXT(q->user_id),
	    SARG_INT(q->limit > 0 ? q->limit : 100), SARG_INT(q->offset) };
	static const char where[] = "WHERE (?1 IS NULL OR w.state = ?1) AND (?2 IS NULL OR "
	    "w.campaign = ?2) AND (?3 IS NULL OR r.rep_code IN (SELECT value FROM "
	    "json_each(?3))) AND (?4 IS NULL OR w.due_at >= ?4) AND (?5 IS NULL OR w.due_at < "
	    "?5) AND (?6 IS NULL OR w.referral_id = ?6) AND (?7 IS NULL OR w.user_id = ?7) ";
	char *count = xasprintf("SELECT count(*) AS n FROM rewards w JOIN referrals r ON "
	    "r.id = w.referral_id %s", where);
	char *page = xasprintf("SELECT " REWARD_COLUMNS REWARD_FROM "%s ORDER BY w.id DESC "
	    "LIMIT ?8 OFFSET ?9", where);
	int rc = count_then_page(s, count, 7, page, a, 9, rows, total);

	free(count);
	free(page);
	return rc;
}

int
store_console_reward_refs(struct store *s, int64_t id, json_t **row)
{
	struct store_arg a = SARG_INT(id);

	return store_query_one(s, "SELECT w.id, r.rep_code FROM rewards w JOIN referrals r "
	    "ON r.id = w.referral_id WHERE w.id = ?1", &a, 1, row);
}

int
store_console_pools(struct store *s, json_t **rows)
{
	return store_query_json(s, "SELECT pool, count(*) AS total, count(reward_id) AS used, "
	    "count(*) - count(reward_id) AS free FROM coupons GROUP BY pool ORDER BY pool",
	    NULL, 0, rows);
}

#define CUSTOMER_COLUMNS \
	"c.channel, c.user_id, c.rep_code, c.rep_source, p.display_name, u.is_friend, " \
	"u.followed_at, u.unfollowed_at, (SELECT code FROM referral_codes k WHERE " \
	"k.channel = c.channel AND k.user_id = c.user_id ORDER BY issued_at DESC LIMIT 1) " \
	"AS code, (SELECT count(*) FROM referrals x WHERE x.channel = c.channel AND " \
	"x.referrer_id = c.user_id) AS referrals_made "
#define CUSTOMER_FROM \
	"FROM customers c " \
	"LEFT JOIN profiles p ON p.channel = c.channel AND p.user_id = c.user_id " \
	"LEFT JOIN users u ON u.channel = c.channel AND u.user_id = c.user_id "

/* Customers: the people tied to a rep (customers rows), newest first. ?1 rep codes,
 * ?2 a LIKE on the display name, ?3 an exact code. The count reads profiles only when
 * a name is searched, and the page goes by rowid: ordering a million rows by a joined
 * column took 3 s (make bench-scale's database). */
int
store_console_customers(struct store *s, const struct console_list_query *q, json_t **rows,
    int64_t *total)
{
	struct store_arg a[] = { SARG_TEXT(q->reps_json), SARG_TEXT(q->like),
	    SARG_TEXT(q->code), SARG_INT(q->limit > 0 ? q->limit : 100), SARG_INT(q->offset) };
	char *where, *sql;
	int rc;

	where = xasprintf("WHERE 1 %s %s", q->reps_json ? "AND c.rep_code IN (SELECT value "
	    "FROM json_each(?1))" : "AND ?1 IS NULL", q->like ? "AND (c.user_id IN (SELECT "
	    "user_id FROM profiles WHERE display_name LIKE ?2) OR c.user_id IN (SELECT user_id "
	    "FROM referral_codes WHERE code = ?3))" : "AND ?2 IS NULL AND ?3 IS NULL");
	/* A name search scans every profile: once, the count riding along with the
	 * page (a window over the matches), not a second time for the count. */
	if (q->like != NULL) {
		sql = xasprintf("SELECT " CUSTOMER_COLUMNS ", count(*) OVER () AS total_rows "
		    CUSTOMER_FROM "%s ORDER BY c.rowid DESC LIMIT ?4 OFFSET ?5", where);
		rc = store_query_json(s, sql, a, 5, rows);
		free(sql);
		if (rc == 0 && (json_array_size(*rows) > 0 || q->offset == 0)) {
			*total = json_array_size(*rows) > 0 ? json_integer_value(json_object_get(
			    json_array_get(*rows, 0), "total_rows")) : 0;
			free(where);
			return 0;
		}
		json_decref(*rows);
		*rows = NULL;
		if (rc == -1) {
			free(where);
			return -1;
		}
	}
	{
		char *count = xasprintf("SELECT count(*) AS n FROM customers c %s", where);

		sql = xasprintf("SELECT " CUSTOMER_COLUMNS CUSTOMER_FROM "%s ORDER BY c.rowid "
		    "DESC LIMIT ?4 OFFSET ?5", where);
		rc = count_then_page(s, count, 3, sql, a, 5, rows, total);
		free(count);
	}
	free(sql);
	free(where);
	return rc;
}

/* One person, whether or not a customers row exists for them (a referrer may have
 * none): the users row and profile decide. */
int
store_console_customer(struct store *s, const char *channel, const char *user_id,
    json_t **row)
{
	struct store_arg a[] = { SARG_TEXT(channel), SARG_TEXT(user_id) };

	return store_query_one(s, "SELECT ?1 AS channel, ?2 AS user_id, c.rep_code, "
	    "c.rep_source, p.display_name, u.is_friend, u.followed_at, u.unfollowed_at, "
	    "(SELECT code FROM referral_codes k WHERE k.channel = ?1 AND k.user_id = ?2 ORDER "
	    "BY issued_at DESC LIMIT 1) AS code, (SELECT count(*) FROM referrals x WHERE "
	    "x.channel = ?1 AND x.referrer_id = ?2) AS referrals_made, "
	    "(c.user_id IS NOT NULL OR u.user_id IS NOT NULL OR p.user_id IS NOT NULL OR "
	    "EXISTS (SELECT 1 FROM referrals y WHERE y.channel = ?1 AND y.referee_id = ?2) OR "
	    "EXISTS (SELECT 1 FROM referrals y WHERE y.channel = ?1 AND y.referrer_id = ?2)) "
	    "AS known FROM (SELECT 1) LEFT JOIN customers c ON "
	    "c.channel = ?1 AND c.user_id = ?2 LEFT JOIN profiles p ON p.channel = ?1 AND "
	    "p.user_id = ?2 LEFT JOIN users u ON u.channel = ?1 AND u.user_id = ?2", a, 2,
	    row);
}

int
store_console_referrals_of(struct store *s, const char *channel, const char *user_id,
    json_t **made, json_t **came_from)
{
	struct store_arg a[] = { SARG_TEXT(channel), SARG_TEXT(user_id) };

	*came_from = NULL;
	if (store_query_json(s, "SELECT " REFERRAL_COLUMNS REFERRAL_FROM "WHERE r.channel = ?1 "
	    "AND r.referrer_id = ?2 ORDER BY r.id DESC LIMIT 200", a, 2, made) == -1)
		return -1;
	return store_query_one(s, "SELECT " REFERRAL_COLUMNS REFERRAL_FROM "WHERE r.channel = "
	    "?1 AND r.referee_id = ?2", a, 2, came_from) == -1 ? -1 : 0;
}

int
store_console_ops(struct store *s, json_t **failed, json_t **quarantine)
{
	if (store_query_json(s, "SELECT o.id, o.platform, o.channel, o.kind, o.state, "
	    "o.attempts, o.last_status, o.last_error, o.created_at, o.target, "
	    "p.display_name FROM outbox o LEFT JOIN profiles p ON p.channel = o.channel AND "
	    "p.user_id = o.target WHERE o.state IN ('failed', 'unknown') ORDER BY o.id DESC "
	    "LIMIT 200", NULL, 0, failed) == -1)
		return -1;
	return store_query_json(s, "SELECT reason, count(*) AS count FROM quarantine GROUP BY "
	    "reason ORDER BY 2 DESC LIMIT 50", NULL, 0, quarantine);
}

int
store_console_deployed_menus(struct store *s, json_t **rows)
{
	return store_query_json(s, "SELECT channel, menu_id, hash, deployed_at FROM richmenus",
	    NULL, 0, rows);
}

int
store_console_audit(struct store *s, int64_t before, int limit, json_t **rows)
{
	struct store_arg a[] = { before > 0 ? SARG_INT(before) : SARG_TEXT(NULL),
	    SARG_INT(limit) };

	return store_query_json(s, "SELECT id, at, actor, action, target, detail, client, "
	    STORE_AUDIT_TARGET_NAME " AS target_name FROM audit_log WHERE ?1 IS NULL OR "
	    "id < ?1 ORDER BY id DESC LIMIT ?2", a, 2, rows);
}

int
store_console_accounts(struct store *s, json_t **rows)
{
	return store_query_json(s, "SELECT login, name, role, branches, disabled, "
	    "last_login_at FROM console_users ORDER BY login", NULL, 0, rows);
}
