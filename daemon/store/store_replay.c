/* store_replay.c: the database side of `shokaictl rules replay`. The recorded claims
 * since a date are decided again by the claim rules (handlers/referral_rules.c) on a
 * read-only connection. The rules read `referrals` and `referral_events` as they were
 * when the claim came; here TEMP tables of those names hide the real ones (SQLite
 * looks up an unqualified name in temp first) and hold what the replay decided so far:
 * the referrals before the date as they are, then each claim the replay accepts or
 * holds, in order. So a tightened cap counts only the claims it still lets through,
 * and the real tables are never written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int
store_replay_open(struct store *s, int64_t since)
{
	static const char setup[] =
	    "CREATE TEMP TABLE referrals AS SELECT * FROM main.referrals WHERE 0;"
	    "CREATE INDEX temp.replay_referrals_by_referrer ON referrals(channel, "
	    "  referrer_id, claimed_at);"
	    "CREATE INDEX temp.replay_referrals_by_referee ON referrals(channel, referee_id);"
	    "CREATE TEMP TABLE referral_events AS SELECT * FROM main.referral_events "
	    "  WHERE 0;"
	    "CREATE INDEX temp.replay_events_by_code ON referral_events(code, at);"
	    "CREATE TEMP TABLE replay_flips(at INTEGER, claim TEXT, code TEXT, "
	    "  referrer TEXT, friend TEXT, was TEXT, would_be TEXT, rewards INTEGER)";
	/* Velocity looks back at most 30 days (config_referral.c). */
	static const char seed[] =
	    "INSERT INTO temp.referrals SELECT * FROM main.referrals WHERE claimed_at < ?1;"
	    "INSERT INTO temp.referral_events SELECT * FROM main.referral_events "
	    "  WHERE type IN ('claimed', 'held') AND at < ?1 AND at >= ?1 - 2592000000";
	char why[WHY_MAX];
	const char *tail = seed;
	sqlite3_stmt *st = NULL;

	if (store_exec(s->db, setup, why, sizeof(why)) == -1) {
		log_warnx("msg=\"replay setup failed\" detail=\"%s\"", why);
		return -1;
	}
	while (tail != NULL && *tail != '\0') {
		if (sqlite3_prepare_v2(s->db, tail, -1, &st, &tail) != SQLITE_OK)
			return -1;
		sqlite3_bind_int64(st, 1, since);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
	}
	return 0;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t != NULL ? t : "";
}

int
store_replay_claims(struct store *s, int64_t since, const char *const *reasons,
    size_t nreasons, int (*fn)(void *, const struct replay_claim *), void *arg)
{
	char *in = xstrdup(""), *next, *sql;
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	for (size_t i = 0; i < nreasons; i++) {
		next = xasprintf("%s%s?%zu", in, i ? ", " : "", i + 2);
		free(in);
		in = next;
	}
	/* Claims a person made with a code: accepted (claimed), held, or rejected by a rule
	 * about the code's campaign. A wrong code is not a decision of those rules. */
	sql = xasprintf("SELECT id, at, type, coalesce(reason, ''), channel, "
	    "coalesce(campaign, ''), code, referrer_id, referee_id, coalesce(referral_id, 0) "
	    "FROM main.referral_events WHERE at >= ?1 AND code IS NOT NULL AND "
	    "referrer_id IS NOT NULL AND referee_id IS NOT NULL AND (type IN ('claimed', "
	    "'held') OR (type = 'rejected' AND reason IN (%s))) ORDER BY at, id",
	    in[0] ? in : "NULL");
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(st, 1, since);
	for (size_t i = 0; i < nreasons; i++)
		sqlite3_bind_text(st, (int)i + 2, reasons[i], -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct replay_claim c = { .event_id = sqlite3_column_int64(st, 0),
		    .at = sqlite3_column_int64(st, 1), .type = col_text(st, 2),
		    .reason = col_text(st, 3), .channel = col_text(st, 4),
		    .campaign = col_text(st, 5), .code = col_text(st, 6),
		    .referrer = col_text(st, 7), .referee = col_text(st, 8),
		    .referral_id = sqlite3_column_int64(st, 9) };

		if (fn(arg, &c) == -1)
			goto done;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
done:
	if (rc == -1)
		log_warnx("msg=\"replay query failed\" detail=\"%s\"", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	free(sql);
	free(in);
	return rc;
}

/* A claim the replay lets through (accepted or held) is there for the next ones. */
int
store_replay_record(struct store *s, const struct replay_claim *c, int held)
{
	static const char *const sql[] = {
		"INSERT INTO temp.referrals(id, channel, campaign, code, referrer_id, "
		"referee_id, state, claimed_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		"?7, ?8, ?8)",
		"INSERT INTO temp.referral_events(id, at, type, channel, campaign, code, "
		"referral_id, referrer_id, referee_id) VALUES (NULL, ?8, ?7, ?2, ?3, ?4, ?1, "
		"?5, ?6)",
	};
	sqlite3_stmt *st = NULL;
	int rc = 0;

	for (size_t i = 0; i < 2 && rc == 0; i++) {
		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) != SQLITE_OK)
			return -1;
		if (c->referral_id > 0)
			sqlite3_bind_int64(st, 1, c->referral_id);
		else	/* rejected then: a made-up id, never one of the real ones */
			sqlite3_bind_int64(st, 1, -c->event_id);
		sqlite3_bind_text(st, 2, c->channel, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->campaign, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c->code, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, c->referrer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, c->referee, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, held ? "held" : "claimed", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, c->at);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	return rc;
}

int
store_replay_flip(struct store *s, const struct replay_claim *c, const char *was,
    const char *would_be, int64_t rewards)
{
	sqlite3_stmt *st = NULL;
	char claim[32];
	int rc;

	if (sqlite3_prepare_v2(s->db, "INSERT INTO temp.replay_flips VALUES (?, ?, ?, ?, ?, "
	    "?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (c->referral_id > 0)
		snprintf(claim, sizeof(claim), "#%lld", (long long)c->referral_id);
	else
		snprintf(claim, sizeof(claim), "event %lld", (long long)c->event_id);
	sqlite3_bind_int64(st, 1, c->at);
	sqlite3_bind_text(st, 2, claim, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, c->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->referrer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->referee, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, was, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, would_be, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, rewards);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

/* Rewards of a referral that are, or will be, given: all but voided ones. */
int64_t
store_replay_rewards(struct store *s, int64_t referral_id)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM main.rewards WHERE referral_id = "
	    "? AND state != 'voided'", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, referral_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
store_replay_print(struct store *s, FILE *out, enum print_format format)
{
	return store_print_query(s, out, format, "SELECT datetime(at / 1000, 'unixepoch', "
	    "'localtime') AS at, claim, code, referrer, friend, was, would_be, rewards "
	    "FROM temp.replay_flips ORDER BY at, claim", NULL, 0);
}
