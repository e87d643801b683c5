/* ctl_referral.c: the operators' referral commands: referrals list|show, rewards
 * list|approve|void, import customers|coupons, and the funnel report by branch, rep,
 * campaign or referrer. Reads and writes the daemon's database directly (WAL lets both
 * work at once); every change goes through the state machines and is logged in
 * referral_events with the operator as actor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "../console/console_wording.h"

int
ctl_parse_format(const char *s, enum print_format *f)
{
	if (strcmp(s, "table") == 0)
		*f = PRINT_TABLE;
	else if (strcmp(s, "csv") == 0)
		*f = PRINT_CSV;
	else if (strcmp(s, "json") == 0)
		*f = PRINT_JSON;
	else {
		fprintf(stderr, "shokaictl: --format %s: expected table, csv or json\n", s);
		return -1;
	}
	return 0;
}

/* referrals list [--state S] [--format F] | referrals show ID */
/* referrals typed [--format F] | referrals typed decide CHANNEL USER CODE|--dismiss:
 * the names friends typed when asked who referred them that matched no customer of the
 * campaign or several (handlers/referrer_ask.c), and an operator's decision on one. */
static int
typed_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT a.channel, a.user_id AS friend, "
	    "coalesce(p.display_name, '-') AS name, a.typed, a.matches, datetime(a.typed_at / "
	    "1000, 'unixepoch', 'localtime') AS typed_at FROM referrer_asks a LEFT JOIN "
	    "profiles p ON p.channel = a.channel AND p.user_id = a.user_id WHERE a.state = "
	    "'typed' AND a.referral_id IS NULL ORDER BY a.typed_at";
	enum print_format format = PRINT_TABLE;
	unsigned char salt[SALT_LEN];
	char why[WHY_MAX] = "";
	struct store *s;
	int rc = 1;

	if (argc == 4 && strcmp(argv[0], "decide") == 0) {
		const char *code = strcmp(argv[3], "--dismiss") == 0 ? NULL : argv[3];
		struct handler_ctx hc = { .cfg = cf, .salt = salt, .now_ms = wall_ms(),
		    .operator_name = "shokaictl" };

		if (config_line_channel(cf, argv[1]) == NULL) {
			fprintf(stderr, "shokaictl: no LINE channel '%s' in the config\n", argv[1]);
			return 1;
		}
		if ((s = ctl_open_store(cf)) == NULL)
			return 1;
		hc.store = s;
		rc = store_meta_salt(s, salt) == 0 && store_begin(s) == 0 &&
		    referrer_ask_decide(&hc, argv[1], argv[2], code, why, sizeof(why)) == 1 &&
		    store_commit(s) == 0 ? 0 : 1;
		if (rc != 0) {
			store_rollback(s);
			fprintf(stderr, "shokaictl: nothing decided: %s\n", why[0] ? why :
			    store_errmsg(s));
		} else
			printf("%s: %s\n", argv[2], code ? "claimed on the code given" :
			    "dismissed");
		store_close(s);
		return rc;
	}
	if (ctl_take_format(&argc, argv, &format) == -1 || argc != 0)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	rc = store_print_query(s, stdout, format, list_sql, NULL, 0) == 0 ? 0 : 1;
	store_close(s);
	return rc;
}

/* What the referral and reward lists print beside each code: the config's state labels
 * and the console's words (text/ja.json), as the console shows them; the codes stay for
 * scripts. */
struct list_wording {
	const struct config *cf;
	json_t *text;
};

static char *
state_words(void *arg, const char *const *argv, int argc)
{
	const struct list_wording *w = arg;

	(void)argc;
	return argv[0] ? xstrdup(config_state_words(w->cf, argv[0])) : NULL;
}

static char *
event_words(void *arg, const char *const *argv, int argc)
{
	const struct list_wording *w = arg;

	(void)argc;
	return argv[0] ? xstrdup(console_text_words(w->text, "event", argv[0])) : NULL;
}

static char *
reward_words(void *arg, const char *const *argv, int argc)
{
	const struct list_wording *w = arg;

	(void)argc;
	return argv[0] ? xstrdup(console_text_words(w->text, "reward_state", argv[0])) : NULL;
}

/* The store, with state_words(), event_words() and reward_words() for its SQL; NULL
 * (said on stderr) when it cannot be opened. */
static struct store *
open_worded(const struct config *cf, struct list_wording *w)
{
	struct store *s;

	w->cf = cf;
	w->text = console_text_load("text/ja.json");
	if ((s = ctl_open_store(cf)) == NULL)
		return NULL;
	if (store_text_function(s, "state_words", 1, state_words, w) == -1 ||
	    store_text_function(s, "event_words", 1, event_words, w) == -1 ||
	    store_text_function(s, "reward_words", 1, reward_words, w) == -1) {
		fprintf(stderr, "shokaictl: %s\n", store_errmsg(s));
		store_close(s);
		return NULL;
	}
	return s;
}

int
referrals_cmd(struct config *cf, int argc, char **argv)
{
	/* kind: whether the referrer is a partner (tagged partner), shown apart. */
	static const char list_sql[] = "SELECT id, campaign, code, referrer_id AS referrer, "
	    "CASE WHEN EXISTS (SELECT 1 FROM customer_tags t WHERE t.channel = r.channel AND "
	    "t.tag = 'partner' AND t.user_id = r.referrer_id) THEN 'partner' ELSE 'customer' "
	    "END AS kind, referee_id AS friend, coalesce(rep_code, '-') AS rep, state, "
	    "state_words(state) AS state_words, "
	    "datetime(claimed_at / 1000, 'unixepoch', 'localtime') AS claimed FROM referrals r "
	    "WHERE ?1 IS NULL OR state = ?1 ORDER BY id";
	static const char events_sql[] = "SELECT datetime(at / 1000, 'unixepoch', "
	    "'localtime') AS at, type, event_words(type) AS type_words, coalesce(reason, '') AS "
	    "reason, coalesce(actor, '') AS actor FROM referral_events WHERE referral_id = ?1 OR "
	    "(type IN ('issued', 'clicked') AND code = (SELECT code FROM referrals WHERE id = ?1)) ORDER BY id";
	enum print_format format = PRINT_TABLE;
	const char *state = NULL;
	struct list_wording words = { 0 };
	struct store *s = NULL;
	int rc = 1;

	if (argc >= 1 && strcmp(argv[0], "show") == 0 && argc == 2) {
		const char *args[] = { argv[1] };
		static const char one_sql[] = "SELECT id, campaign, code, referrer_id AS "
		    "referrer, referee_id AS friend, coalesce(rep_code, '-') AS rep, state, "
		    "state_words(state) AS state_words FROM referrals WHERE id = ?1";

		rc = (s = open_worded(cf, &words)) != NULL &&
		    store_print_query(s, stdout, PRINT_TABLE, one_sql, args, 1) == 0 &&
		    printf("\n") > 0 &&
		    store_print_query(s, stdout, PRINT_TABLE, events_sql, args, 1) == 0 ? 0 : 1;
		goto done;
	}
	if (argc >= 1 && strcmp(argv[0], "typed") == 0)
		return typed_cmd(cf, argc - 1, argv + 1);
	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	if (argc < 1 || strcmp(argv[0], "list") != 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else
			return 2;
	}
	{
		const char *args[] = { state };

		rc = (s = open_worded(cf, &words)) != NULL &&
		    store_print_query(s, stdout, format, list_sql, args, 1) == 0 ? 0 : 1;
	}
done:
	store_close(s);
	json_decref(words.text);
	return rc;
}

/* An operator's move of one reward, checked by the reward state machine. */
static int
operator_reward_move(const struct config *cf, struct store *s, int64_t id,
    enum reward_state to, const char *note)
{
	struct reward_row w;
	char why[WHY_MAX] = "";
	int rc;

	if ((rc = store_reward_get(s, id, &w)) != 1) {
		fprintf(stderr, "shokaictl: %s\n", rc == 0 ? "no such reward" :
		    store_errmsg(s));
		return 1;
	}
	{
		unsigned char salt[SALT_LEN];
		struct handler_ctx hc = { .cfg = cf, .store = s, .salt = salt,
		    .now_ms = wall_ms() };

		rc = store_meta_salt(s, salt) == 0 && store_begin(s) == 0 &&
		    reward_move(&hc, &w, to, ACTOR_OPERATOR, NULL, note, why, sizeof(why)) == 1 &&
		    store_commit(s) == 0 ? 0 : 1;
	}
	if (rc != 0) {
		store_rollback(s);
		fprintf(stderr, "shokaictl: reward %lld was not changed: %s\n", (long long)id,
		    why[0] ? why : store_errmsg(s));
	} else
		printf("reward %lld: %s (the daemon issues approved rewards within seconds)\n",
		    (long long)id, reward_state_name(to));
	reward_row_clear(&w);
	return rc;
}

/* rewards list [STATE] [--format F] | rewards approve ID | rewards void ID [REASON] */
int
rewards_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT w.id, w.referral_id AS referral, w.side, "
	    "w.stage, w.user_id AS person, w.pool, w.state, reward_words(w.state) AS "
	    "state_words, coalesce(w.coupon_code, '-') AS coupon, "
	    "datetime(w.approve_after / 1000, 'unixepoch', 'localtime') AS approve_after, "
	    "coalesce(w.note, '') AS note FROM rewards w WHERE ?1 IS NULL OR w.state = ?1 "
	    "ORDER BY w.id";
	enum print_format format = PRINT_TABLE;
	struct list_wording words = { 0 };
	struct store *s;
	int rc;

	if (ctl_take_format(&argc, argv, &format) == -1 || argc < 1)
		return 2;
	if ((s = open_worded(cf, &words)) == NULL) {
		json_decref(words.text);
		return 1;
	}
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *args[] = { argc == 2 ? argv[1] : NULL };

		rc = store_print_query(s, stdout, format, list_sql, args, 1) == 0 ? 0 : 1;
	} else if (strcmp(argv[0], "approve") == 0 && argc == 2)
		rc = operator_reward_move(cf, s, strtoll(argv[1], NULL, 10), REWARD_APPROVED, NULL);
	else if (strcmp(argv[0], "void") == 0 && (argc == 2 || argc == 3))
		rc = operator_reward_move(cf, s, strtoll(argv[1], NULL, 10), REWARD_VOIDED,
		    argc == 3 ? argv[2] : "voided by an operator");
	else
		rc = 2;
	store_close(s);
	json_decref(words.text);
	return rc;
}

/* import coupons [--new-pool] POOL FILE (one code a line, or a CSV whose first column
 * is the code under a header "code"); import customers FILE
 * (user_id,rep_code[,channel[,partner]]). */
int
import_cmd(struct config *cf, int argc, char **argv)
{
	struct import im = { 0 };
	struct import_result res;
	size_t shown;
	struct store *s = NULL;
	FILE *fp = NULL;
	const char *what, *path;
	int rc = 1, coupons, tags, new_pool = 0;
	int64_t t0;

	if (argc < 2)
		return 2;
	coupons = strcmp(argv[0], "coupons") == 0;
	if (coupons && strcmp(argv[1], "--new-pool") == 0) {
		new_pool = 1;
		argv++;
		argc--;
	}
	tags = strcmp(argv[0], "tags") == 0;
	if (!(coupons && argc == 3) && !((strcmp(argv[0], "customers") == 0 || tags) &&
	    argc == 2))
		return 2;
	path = argv[coupons ? 2 : 1];
	im.pool = coupons ? argv[1] : NULL;
	im.tags = tags;
	what = coupons ? "coupon code(s)" : tags ? "tag(s)" : "customer(s)";
	if (coupons && !import_pool_name_ok(argv[1])) {
		fprintf(stderr, "shokaictl: pool '%s': use a-z, 0-9, '-' and '_'\n", argv[1]);
		return 1;
	}
	/* A typo in the pool's name would fill a pool no reward draws from, and rewards
	 * would wait on the empty one meanwhile: a pool for a campaign not written yet is
	 * said so. */
	if (coupons && !new_pool && !config_pool_named(cf, argv[1])) {
		fprintf(stderr, "shokaictl: pool '%s': no campaign's reward names it; check "
		    "the name, or add --new-pool to fill a pool a campaign will name\n",
		    argv[1]);
		return 1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "shokaictl: cannot open %s\n", path);
		return 1;
	}
	if (import_check(&im, cf, fp) == -1) {
		fprintf(stderr, "shokaictl: cannot read %s; nothing was imported\n", path);
		goto done;
	}
	if (im.bad > 0) {
		shown = im.bad < IMPORT_SHOWN ? im.bad : IMPORT_SHOWN;
		for (size_t i = 0; i < shown; i++)
			fprintf(stderr, "shokaictl: %s: line %zu: %s\n", path,
			    im.errors[i].line, im.errors[i].why);
		fprintf(stderr, "shokaictl: %s: %zu line(s) refused", path, im.bad);
		if (im.bad > IMPORT_SHOWN)
			fprintf(stderr, " (the first %d are listed)", IMPORT_SHOWN);
		fprintf(stderr, "; nothing was imported\n");
		goto done;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		goto done;
	store_set_busy_timeout(s, IMPORT_BUSY_MS);
	t0 = clock_us();
	if (import_write(s, &im, &res) == -1) {
		fprintf(stderr, "shokaictl: %s: stopped by a database error (%s) after %zu of "
		    "%zu %s were written. The file is good: import it again to write the rest "
		    "(%s)\n", path, res.why, res.written, im.records, what, coupons ?
		    "codes already there are skipped" : tags ? "tags already there are skipped" :
		    "assigning the same rep again changes nothing");
		goto done;
	}
	printf("%zu %s imported%s; %zu transaction(s) in %lld ms, the longest held the write "
	    "lock %lld ms\n", res.added, what, res.known ? " (the others were there already)" :
	    "", res.chunks, (long long)((clock_us() - t0) / 1000),
	    (long long)((res.longest_us + 999) / 1000));
	rc = 0;
done:
	if (fp != NULL)
		fclose(fp);
	store_close(s);
	import_free(&im);
	return rc;
}

static int
parse_by(const char *s, enum report_by *by)
{
	if (strcmp(s, "branch") == 0)
		*by = REPORT_BY_BRANCH;
	else if (strcmp(s, "rep") == 0)
		*by = REPORT_BY_REP;
	else if (strcmp(s, "campaign") == 0)
		*by = REPORT_BY_CAMPAIGN;
	else if (strcmp(s, "referrer") == 0)
		*by = REPORT_BY_REFERRER;
	else if (strcmp(s, "partner") == 0)
		*by = REPORT_BY_PARTNER;
	else {
		fprintf(stderr, "shokaictl: report --by %s: expected branch, rep, campaign, "
		    "referrer or partner\n", s);
		return -1;
	}
	return 0;
}

/* A --from or --to as typed: a real local date, or an error that says which. */
static int
report_date(const char *opt, const char *date, int64_t *ms)
{
	if (local_midnight(date, 0, ms) == 0)
		return 0;
	fprintf(stderr, "shokaictl: report %s %s: not a date; expected YYYY-MM-DD, a day "
	    "that exists (such as 2026-12-01)\n", opt, date);
	return -1;
}

/* report --by branch|rep|campaign|referrer [--from D] [--to D] [--format F]: the funnel
 * issued → clicked → claimed (rejected, with each reason) → won → rewarded over local
 * dates, both inclusive, with the names of reps, branches and campaigns beside their
 * codes and the console's rates (store_report.c counts it). */
int
report_cmd(struct config *cf, int argc, char **argv)
{
	const char *by_name = "campaign", *from = "0000-00-00", *to = "9999-99-99";
	enum print_format format = PRINT_TABLE;
	struct report_rejection rej[CLAIM_REASON_COUNT];
	struct report_name *reps, *names;
	size_t nnames = 0;
	enum report_by by;
	struct store *s;
	int64_t lo, hi;
	int rc;

	if (ctl_take_format(&argc, argv, &format) == -1)
		return 2;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
			by_name = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
			from = argv[++i];
			if (report_date("--from", from, &lo) == -1)
				return 1;
		} else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
			to = argv[++i];
			if (report_date("--to", to, &hi) == -1)
				return 1;
		} else
			return 2;
	}
	if (parse_by(by_name, &by) == -1)
		return 2;
	/* An empty table for dates the wrong way round would read as "nothing happened". */
	if (strcmp(from, "0000-00-00") != 0 && strcmp(to, "9999-99-99") != 0 &&
	    strcmp(to, from) < 0) {
		fprintf(stderr, "shokaictl: report --to %s is before --from %s\n", to, from);
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
		rej[i] = (struct report_rejection){ claim_rules[i].reason,
		    claim_rules[i].report_column };
	reps = xcalloc(cf->n_reps + 1, sizeof(*reps));
	names = xcalloc(cf->n_reps + cf->n_branches + cf->n_campaigns + 1, sizeof(*names));
	for (size_t i = 0; i < cf->n_reps; i++) {
		const struct config_branch *b = cf->reps[i].branch;

		reps[i] = (struct report_name){ cf->reps[i].code, cf->reps[i].name,
		    b ? b->code : NULL, b ? b->name : NULL };
		if (by == REPORT_BY_REP)
			names[nnames++] = reps[i];
	}
	for (size_t i = 0; by == REPORT_BY_BRANCH && i < cf->n_branches; i++)
		names[nnames++] = (struct report_name){ cf->branches[i].code,
		    cf->branches[i].name, NULL, NULL };
	for (size_t i = 0; by == REPORT_BY_CAMPAIGN && i < cf->n_campaigns; i++)
		names[nnames++] = (struct report_name){ cf->campaigns[i].id,
		    cf->campaigns[i].name, NULL, NULL };
	rc = store_report(s, stdout, format, by, from, to, rej, CLAIM_REASON_COUNT, reps,
	    cf->n_reps, names, nnames, cf->testers_json) == 0 ? 0 : 1;
	free(names);
	free(reps);
	store_close(s);
	return rc;
}

/* rep-link REP [CHANNEL]: the link a rep shares; a customer who opens it and sends the
 * prefilled text is tied to the rep. */
int
rep_link_cmd(struct config *cf, int argc, char **argv)
{
	const struct config_rep *rep;
	const struct config_line_channel *ch;
	char *text, *enc;

	if (argc < 1 || argc > 2)
		return 2;
	if ((rep = config_rep(cf, argv[0])) == NULL) {
		fprintf(stderr, "shokaictl: no rep '%s' under reps\n", argv[0]);
		return 1;
	}
	ch = argc == 2 ? config_line_channel(cf, argv[1]) : &cf->line_channels[0];
	if (ch == NULL) {
		fprintf(stderr, "shokaictl: no LINE channel '%s'\n", argv[1]);
		return 1;
	}
	/* What rep_assign.c recognises: the first of the config's rep-link words. */
	text = xasprintf("%s %s", cf->wording.rep_link_word, rep->code);
	enc = url_encode(text);
	printf("https://line.me/R/oaMessage/%%40%s/?%s\n", ch->basic_id + 1, enc);
	free(enc);
	free(text);
	return 0;
}

/* forget USER: the person's personal data goes; anonymous counts stay. */
int
forget_cmd(struct config *cf, int argc, char **argv)
{
	unsigned char salt[SALT_LEN];
	char hex[65], pseudonym[32];
	struct store *s;
	int64_t n;

	if (argc != 1)
		return 2;
	if (argv[0][0] != 'U' || strlen(argv[0]) != 33) {
		fprintf(stderr, "shokaictl: forget: expected a LINE user id (U and 32 hex digits)\n");
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (store_meta_salt(s, salt) == -1) {
		store_close(s);
		return 1;
	}
	/* Keyed by the database's secret: the same person gets the same pseudonym, and
	 * nobody can get the id back from it. */
	sha256_hex(salt, sizeof(salt), argv[0], strlen(argv[0]), hex);
	snprintf(pseudonym, sizeof(pseudonym), "forgotten:%.12s", hex);
	n = store_forget_user(s, argv[0], pseudonym);
	if (n >= 0)
		printf("forgot %s: %lld row(s) changed; counts kept as %s\n", argv[0],
		    (long long)n, pseudonym);
	store_close(s);
	return n >= 0 ? 0 : 1;
}

/* reset USER: a tester listed under testers: walks the flow again from the start.
 * Anyone else is refused: their referrals, rewards and conversation are real. */
int
reset_cmd(struct config *cf, int argc, char **argv)
{
	struct store *s;
	int64_t n;

	if (argc != 1)
		return 2;
	if (!config_is_tester(cf, argv[0])) {
		fprintf(stderr, "shokaictl: reset: %s is not listed under testers: in the config; "
		    "only a tester's referral state can be reset (a customer's is kept: see "
		    "forget)\n", argv[0]);
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	n = store_reset_tester(s, argv[0]);
	if (n >= 0)
		printf("reset %s: %lld row(s) deleted; the next follow is a new friend's\n",
		    argv[0], (long long)n);
	else
		fprintf(stderr, "shokaictl: reset: the database could not be changed; nothing "
		    "was deleted\n");
	store_close(s);
	return n >= 0 ? 0 : 1;
}
