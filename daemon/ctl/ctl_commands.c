/* ctl_commands.c: every shokaictl command in one table: its name, what it runs, which of
 * its forms only read the database (those work while the config on disk is broken), and
 * its help. `shokaictl --help` prints each command's synopsis; `shokaictl help COMMAND`
 * and `shokaictl COMMAND --help` print its whole help. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static int
check_cmd(struct config *cf, int argc, char **argv)
{
	(void)cf;
	(void)argv;
	if (argc != 0)
		return 2;
	printf("ok\n");
	return 0;
}

static int
richmenu_cmd(struct config *cf, int argc, char **argv)
{
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "list") == 0)
		return richmenu_list_cmd(cf, argc == 2 ? argv[1] : cf->line_channels[0].id);
	if (argc >= 1 && strcmp(argv[0], "deploy") == 0)
		return richmenu_deploy_cmd(cf, argc - 1, argv + 1);
	return 2;
}

static int
works_menu_cmd(struct config *cf, int argc, char **argv)
{
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "deploy") == 0)
		return works_menu_deploy_cmd(cf, argc == 2 ? argv[1] : NULL);
	return 2;
}

#define FORMAT_HELP \
	"\n  --format F   table (aligned; the default), csv (a header line, then the rows)\n" \
	"               or json (an array of objects)\n"

/* reads: the forms that only read, as "SUB" words ("-" is the command alone, "*" every
 * form); a form listed in writes is not read-only even when its first word is. */
static const struct ctl_command commands[] = {
	{ "check", check_cmd, NULL, NULL,
	  "check",
	  "Validate the config file and every file it includes; print ok, or every error\n"
	  "with its file, line and column. The same check as `shokaid -t`.\n" },
	{ "inbox", inbox_cmd, "*", NULL,
	  "inbox [--format F]",
	  "The events shokaid stored, counted per platform, channel and state (new,\n"
	  "done, failed, skipped), and in a table the 50 latest failures with their reason.\n"
	  FORMAT_HELP },
	{ "quarantine", quarantine_cmd, "*", NULL,
	  "quarantine [--format F] | quarantine show ID",
	  "Signed webhook bodies that could not be parsed, kept as received (the latest\n"
	  "100). `show ID` prints one body with a terminal's control characters escaped.\n"
	  FORMAT_HELP },
	{ "outbox", outbox_cmd, "- all", NULL,
	  "outbox [all] [--format F] | outbox retry ID",
	  "Outbound messages that failed or may not have arrived (state unknown), or with\n"
	  "`all` the latest 100. `retry ID` sends a failed message again with the same\n"
	  "retry key (LINE drops a duplicate of one that did arrive).\n"
	  FORMAT_HELP },
	{ "send", send_cmd, NULL, NULL,
	  "send line CHANNEL TO TEXT | send works BOT USER TEXT",
	  "Queue one text message: a LINE push to a user, group or room, or a LINE WORKS\n"
	  "message to a member. The running daemon sends it within a second.\n" },
	{ "richmenu", richmenu_cmd, NULL, NULL,
	  "richmenu list [CHANNEL] | richmenu deploy [--dry-run] [CHANNEL]",
	  "`list`: the rich menus, aliases and default live on LINE beside the config's.\n"
	  "`deploy`: make LINE's rich menus, aliases and default what the config says\n"
	  "(every channel unless one is named); --dry-run prints the plan only.\n" },
	{ "works-menu", works_menu_cmd, NULL, NULL,
	  "works-menu deploy [BOT]",
	  "Set each LINE WORKS bot's persistent menu to what the config says.\n" },
	{ "referrals", referrals_cmd, "list show typed", "typed decide",
	  "referrals list [--state S] [--format F] | referrals show ID\n"
	  "referrals typed [--format F] | referrals typed decide CHANNEL USER CODE|--dismiss",
	  "`list`: referrals, optionally in one state (claimed, contacted, meeting, won,\n"
	  "lost, rejected, held...). `show ID`: one referral and every event of it.\n"
	  "`typed`: the referrer names friends typed that matched no single customer;\n"
	  "`typed decide` credits the customer with CODE, or dismisses the name.\n"
	  FORMAT_HELP },
	{ "rewards", rewards_cmd, "- list", NULL,
	  "rewards list [STATE] [--format F] | rewards approve ID | rewards void ID [REASON]",
	  "Rewards in a state (pending, approved, issued, voided) or all; approve a pending\n"
	  "reward (ends its hold; the daemon issues it within seconds), or void one.\n"
	  FORMAT_HELP },
	{ "import", import_cmd, NULL, NULL,
	  "import coupons [--new-pool] POOL FILE | import customers FILE | import tags FILE",
	  "`coupons`: add codes (one a line, or CSV with a 'code' column) to a pool a\n"
	  "campaign names (--new-pool: one no campaign names yet). `customers`: assign\n"
	  "reps, CSV user_id,rep_code[,channel[,partner]]. `tags`: tag people for\n"
	  "announcements, CSV user_id,tag[,channel]. Every line is checked first; a file\n"
	  "with a bad line changes nothing and the line is named.\n" },
	{ "report", report_cmd, "*", NULL,
	  "report [--by branch|rep|campaign|referrer|partner] [--from YYYY-MM-DD]\n"
	  "       [--to YYYY-MM-DD] [--format F]",
	  "The referral funnel (invites, clicks, claims, rejected by reason, wins, rewards)\n"
	  "per branch, rep, campaign, referrer or partner over a period, with names beside\n"
	  "codes and the console's rates in percent.\n"
	  FORMAT_HELP },
	{ "rules", rules_cmd, NULL, NULL,
	  "rules replay --since YYYY-MM-DD [--format F]",
	  "The claims since then that this config's rules would decide otherwise, and the\n"
	  "rewards that changes. Reads only: run it before reloading the daemon.\n"
	  FORMAT_HELP },
	{ "profile", profile_cmd, NULL, NULL,
	  "profile CHANNEL USER",
	  "A LINE user's display name (the daemon's cache, else LINE's profile API).\n" },
	{ "works-link", works_link_cmd, NULL, NULL,
	  "works-link BOT USER",
	  "A LINE WORKS member's external-contact link.\n" },
	{ "rep-link", rep_link_cmd, NULL, NULL,
	  "rep-link REP [CHANNEL]",
	  "The link a rep shares to become a customer's rep: the customer opens it and\n"
	  "sends the prefilled text.\n" },
	{ "forget", forget_cmd, NULL, NULL,
	  "forget USER",
	  "Remove a person's personal data (names, messages, profile); counts stay.\n" },
	{ "reset", reset_cmd, NULL, NULL,
	  "reset USER",
	  "Clear a tester's referral state (only people under `testers:`).\n" },
	{ "user", user_cmd, "list", NULL,
	  "user add LOGIN --role admin|manager|viewer [--branch B]... [--name NAME]\n"
	  "     [--password-file F]\n"
	  "user list [--format F] | user disable LOGIN | user enable LOGIN\n"
	  "user passwd LOGIN [--password-file F]",
	  "Console accounts. The password is read from F, else from standard input.\n"
	  "A manager sees and acts on the branches named with --branch only.\n"
	  FORMAT_HELP },
	{ "token", token_cmd, "list", NULL,
	  "token add NAME --role R [--branch B]... | token list [--format F] | token revoke NAME",
	  "API tokens for /admin/api/v1/ (BI tools, scripts). The token is printed once.\n"
	  FORMAT_HELP },
	{ "audit", audit_cmd, "*", NULL,
	  "audit [--limit N] [--format F]",
	  "What operators did: logins, failed logins, approvals, state moves, imports.\n"
	  FORMAT_HELP },
	{ "announce", announce_cmd, "show", NULL,
	  "announce list [--format F] | announce preview ID --segment S\n"
	  "announce test ID --to USER | announce send ID --segment S\n"
	  "announce schedule ID --segment S --at \"YYYY-MM-DD HH:MM\"\n"
	  "announce cancel N | announce show N",
	  "Announcements: a named message of the config sent to a segment through the\n"
	  "outbox (multicast, paced, LINE's quota read first: a send that would exceed it\n"
	  "is refused with the numbers). S: all, branch:CODE, rep:CODE, not_referred,\n"
	  "referred, tag:TAG. `preview` counts who it would reach; `test` pushes it to one\n"
	  "user; `show N` prints a send's progress and results.\n"
	  FORMAT_HELP },
	{ "backup", backup_cmd, "*", NULL,
	  "backup [--force] FILE",
	  "A copy of the database while shokaid runs (SQLite's online backup: it never\n"
	  "holds the daemon's commits up), written to FILE.tmp, checked whole\n"
	  "(integrity_check) and then renamed to FILE, mode 0600. Prints its size, schema\n"
	  "version and how long it took. An existing FILE is refused unless --force.\n" },
	{ "restore", restore_cmd, NULL, NULL,
	  "restore FILE",
	  "Put a backup back. shokaid must be stopped (the database's lock is taken).\n"
	  "FILE must pass integrity_check and be no newer than this version's schema (an\n"
	  "older one is migrated forward at the next start). The database it replaces is\n"
	  "checkpointed and kept beside it as DB.before-restore-YYYYmmdd-HHMMSS.\n" },
	{ "purge", purge_cmd, NULL, NULL,
	  "purge [--dry-run]",
	  "Delete now what retention: (and conversations.retention) says is old, as the\n"
	  "daemon does every hour, in short transactions; --dry-run counts only.\n" },
	{ "help", NULL, "*", NULL,
	  "help [COMMAND]",
	  "This overview, or one command's help (also `shokaictl COMMAND --help`).\n" },
};

const struct ctl_command *
ctl_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Whether words (a space-separated list) holds word; "-" stands for no word. */
static int
has_word(const char *words, const char *word)
{
	size_t n = strlen(word);

	if (words == NULL)
		return 0;
	for (const char *p = words; *p != '\0'; p += strcspn(p, " "), p += strspn(p, " "))
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

int
ctl_reads_only(const struct ctl_command *c, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "-";

	if (c->reads == NULL)
		return 0;
	/* An option first (outbox --format json) is still the command alone. */
	if (sub[0] == '-' && sub[1] == '-')
		sub = "-";
	if (c->writes != NULL && argc > 1 && strncmp(c->writes, sub, strlen(sub)) == 0 &&
	    c->writes[strlen(sub)] == ' ' && strcmp(c->writes + strlen(sub) + 1, argv[1]) == 0)
		return 0;
	return strcmp(c->reads, "*") == 0 || has_word(c->reads, sub);
}

/* One form a line: the synopsis separates forms with " | " or a newline; a line that
 * starts with spaces continues the form before it. */
static void
print_synopsis(FILE *out, const char *synopsis, const char *prefix)
{
	const char *p = synopsis;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		const char *bar = strstr(p, " | ");

		if (bar != NULL && bar < p + n)
			n = (size_t)(bar - p);
		if (*p == ' ') {
			size_t pad = strspn(p, " ");

			fprintf(out, "%*s%.*s\n", (int)(strlen(prefix) + 4), "", (int)(n - pad),
			    p + pad);
		} else
			fprintf(out, "%s%.*s\n", prefix, (int)n, p);
		p += n;
		if (strncmp(p, " | ", 3) == 0)
			p += 3;
		else if (*p == '\n')
			p++;
	}
}

void
ctl_print_usage(FILE *out)
{
	fprintf(out, "usage: shokaictl [-c FILE] COMMAND [ARGS]\n"
	    "       shokaictl -h | --help | --version | help COMMAND\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		print_synopsis(out, commands[i].synopsis, "  ");
	fprintf(out, "\noptions:\n"
	    "  -c FILE        the config file (default /etc/shokai/shokai.yaml)\n"
	    "  -h, --help     this help; `shokaictl help COMMAND` for one command\n"
	    "  --version      print the version\n"
	    "\nCommands that only read the database (inbox, quarantine, outbox, referrals\n"
	    "list|show|typed, rewards list, report, audit, user list, token list, announce\n"
	    "show, backup) work while the config is broken: they warn and use its storage\n"
	    "section.\n"
	    "Exit status: 0 done, 1 failed, 2 usage error.\n");
}

void
ctl_print_help(FILE *out, const struct ctl_command *c)
{
	fprintf(out, "usage:\n");
	print_synopsis(out, c->synopsis, "  shokaictl ");
	fprintf(out, "\n%s", c->help);
}
