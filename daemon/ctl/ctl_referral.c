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

#include "ctl.h"

#define LINE_MAX_CSV	4096

static int
valid_pool_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_");

	return n > 0 && n <= 64 && s[n] == '\0';
}

static int
parse_format(const char *s, enum print_format *f)
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
int
referrals_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT id, campaign, code, referrer_id AS referrer, "
	    "referee_id AS friend, coalesce(rep_code, '-') AS rep, state, "
	    "datetime(claimed_at / 1000, 'unixepoch', 'localtime') AS claimed FROM referrals "
	    "WHERE ?1 IS NULL OR state = ?1 ORDER BY id";
	static const char events_sql[] = "SELECT datetime(at / 1000, 'unixepoch', "
	    "'localtime') AS at, type, coalesce(reason, '') AS reason, coalesce(actor, '') AS "
	    "actor FROM referral_events WHERE referral_id = ?1 OR (type IN ('issued', "
	    "'clicked') AND code = (SELECT code FROM referrals WHERE id = ?1)) ORDER BY id";
	enum print_format format = PRINT_TABLE;
	const char *state = NULL;
	struct store *s;
	int rc = 1;

	if (argc >= 1 && strcmp(argv[0], "show") == 0 && argc == 2) {
		const char *args[] = { argv[1] };
		static const char one_sql[] = "SELECT id, campaign, code, referrer_id AS "
		    "referrer, referee_id AS friend, coalesce(rep_code, '-') AS rep, state FROM "
		    "referrals WHERE id = ?1";

		if ((s = ctl_open_store(cf)) == NULL)
			return 1;
		rc = store_print_query(s, stdout, PRINT_TABLE, one_sql, args, 1) == 0 &&
		    printf("\n") > 0 &&
		    store_print_query(s, stdout, PRINT_TABLE, events_sql, args, 1) == 0 ? 0 : 1;
		store_close(s);
		return rc;
	}
	if (argc < 1 || strcmp(argv[0], "list") != 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (parse_format(argv[++i], &format) == -1)
				return 2;
		} else
			return 2;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	{
		const char *args[] = { state };

		rc = store_print_query(s, stdout, format, list_sql, args, 1) == 0 ? 0 : 1;
	}
	store_close(s);
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

/* rewards list [STATE] | rewards approve ID | rewards void ID [REASON] */
int
rewards_cmd(struct config *cf, int argc, char **argv)
{
	static const char list_sql[] = "SELECT w.id, w.referral_id AS referral, w.side, "
	    "w.user_id AS person, w.pool, w.state, coalesce(w.coupon_code, '-') AS coupon, "
	    "datetime(w.approve_after / 1000, 'unixepoch', 'localtime') AS approve_after, "
	    "coalesce(w.note, '') AS note FROM rewards w WHERE ?1 IS NULL OR w.state = ?1 "
	    "ORDER BY w.id";
	struct store *s;
	int rc;

	if (argc < 1)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		const char *args[] = { argc == 2 ? argv[1] : NULL };

		rc = store_print_query(s, stdout, PRINT_TABLE, list_sql, args, 1) == 0 ? 0 : 1;
	} else if (strcmp(argv[0], "approve") == 0 && argc == 2)
		rc = operator_reward_move(cf, s, strtoll(argv[1], NULL, 10), REWARD_APPROVED, NULL);
	else if (strcmp(argv[0], "void") == 0 && (argc == 2 || argc == 3))
		rc = operator_reward_move(cf, s, strtoll(argv[1], NULL, 10), REWARD_VOIDED,
		    argc == 3 ? argv[2] : "voided by an operator");
	else
		rc = 2;
	store_close(s);
	return rc;
}

/* The first CSV column of a line, unquoted; NULL for a blank line. */
static char *
first_column(char *line)
{
	char *p = line, *end;

	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	if (*p == '"') {
		p++;
		end = strchr(p, '"');
	} else
		end = strchr(p, ',');
	if (end != NULL)
		*end = '\0';
	while (*p == ' ')
		p++;
	return *p == '\0' ? NULL : p;
}

/* import coupons POOL FILE (one code a line, or a CSV whose first column is the code
 * under a header "code"); import customers FILE (user_id,rep_code[,channel]). All or
 * nothing: one transaction. */
int
import_cmd(struct config *cf, int argc, char **argv)
{
	char line[LINE_MAX_CSV];
	struct store *s;
	FILE *fp;
	size_t lineno = 0, added = 0, known = 0;
	int rc = 0, coupons;

	if (argc < 2)
		return 2;
	coupons = strcmp(argv[0], "coupons") == 0;
	if (!(coupons && argc == 3) && !(strcmp(argv[0], "customers") == 0 && argc == 2))
		return 2;
	if (coupons && !valid_pool_name(argv[1])) {
		fprintf(stderr, "shokaictl: pool '%s': use a-z, 0-9, '-' and '_'\n", argv[1]);
		return 1;
	}
	if ((fp = fopen(argv[coupons ? 2 : 1], "r")) == NULL) {
		fprintf(stderr, "shokaictl: cannot open %s\n", argv[coupons ? 2 : 1]);
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL || store_begin(s) == -1) {
		fclose(fp);
		store_close(s);
		return 1;
	}
	while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
		char *cols[3] = { NULL, NULL, NULL }, *save = NULL, *tok;
		int n = 0, r;

		lineno++;
		if (coupons) {
			char *code = first_column(line);

			if (code == NULL || (lineno == 1 && strcasecmp(code, "code") == 0))
				continue;
			r = store_coupon_put(s, argv[1], code, wall_ms());
		} else {
			line[strcspn(line, "\r\n")] = '\0';
			for (tok = strtok_r(line, ",", &save); tok != NULL && n < 3;
			    tok = strtok_r(NULL, ",", &save))
				cols[n++] = tok;
			if (n == 0 || (lineno == 1 && strcmp(cols[0], "user_id") == 0))
				continue;
			if (n < 2 || cols[0][0] != 'U' || config_rep(cf, cols[1]) == NULL) {
				fprintf(stderr, "shokaictl: %s:%zu: expected user_id,rep_code[,channel] "
				    "with a LINE user id and a rep under reps\n", argv[1], lineno);
				rc = 1;
				break;
			}
			if (n == 3 && config_line_channel(cf, cols[2]) == NULL) {
				fprintf(stderr, "shokaictl: %s:%zu: no LINE channel '%s'\n", argv[1],
				    lineno, cols[2]);
				rc = 1;
				break;
			}
			r = store_customer_assign(s, n == 3 ? cols[2] : cf->line_channels[0].id,
			    cols[0], config_rep(cf, cols[1])->code, "import", wall_ms());
			r = r == 0 ? 1 : -1;
		}
		if (r == -1)
			rc = 1;
		else if (r == 1)
			added++;
		else
			known++;
	}
	fclose(fp);
	if (rc == 0 && store_commit(s) == 0)
		printf("%zu %s imported%s\n", added, coupons ? "coupon code(s)" : "customer(s)",
		    known ? " (the others were there already)" : "");
	else {
		store_rollback(s);
		rc = 1;
		fprintf(stderr, "shokaictl: nothing was imported\n");
	}
	store_close(s);
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
	else {
		fprintf(stderr, "shokaictl: report --by %s: expected branch, rep, campaign or "
		    "referrer\n", s);
		return -1;
	}
	return 0;
}

/* report --by branch|rep|campaign|referrer [--from D] [--to D] [--format F]: the funnel
 * issued → clicked → claimed (rejected, with each reason) → won → rewarded over local
 * dates, both inclusive (store_report.c counts it). */
int
report_cmd(struct config *cf, int argc, char **argv)
{
	const char *by_name = "campaign", *from = "0000-00-00", *to = "9999-99-99";
	enum print_format format = PRINT_TABLE;
	enum report_by by;
	struct store *s;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
			by_name = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (parse_format(argv[++i], &format) == -1)
				return 2;
		} else
			return 2;
	}
	if (parse_by(by_name, &by) == -1)
		return 2;
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	{
		struct report_rejection rej[CLAIM_REASON_COUNT];

		for (size_t i = 0; i < CLAIM_REASON_COUNT; i++)
			rej[i] = (struct report_rejection){ claim_rules[i].reason,
			    claim_rules[i].report_column };
		rc = store_report(s, stdout, format, by, from, to, rej,
		    CLAIM_REASON_COUNT) == 0 ? 0 : 1;
	}
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
