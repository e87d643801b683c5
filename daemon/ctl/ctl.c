/* ctl.c: shokaictl, the operator's tool: check a config, and look at what the daemon
 * stored (inbox states, quarantined bodies). Later issues add rich menus, imports,
 * referrals, rewards and reports here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ctl.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: shokaictl [-c FILE] COMMAND\n"
	    "  check                 validate the config; print ok or every error\n"
	    "  inbox                 events per platform, channel and state; recent failures\n"
	    "  quarantine            signed bodies that could not be parsed\n"
	    "  quarantine show ID    one quarantined body as received, controls escaped\n"
	    "  outbox [all]          outbound messages that failed or may not have arrived\n"
	    "                        (state unknown), or the latest 100\n"
	    "  outbox retry ID       send a failed message again (same retry key)\n"
	    "  send line CHANNEL TO TEXT   queue a LINE push to a user, group or room\n"
	    "  send works BOT USER TEXT    queue a LINE WORKS message to a user\n"
	    "  richmenu list [CHANNEL]     rich menus, aliases and the default live on LINE\n"
	    "  richmenu deploy [--dry-run] [CHANNEL]\n"
	    "                        make LINE's rich menus, aliases and default what the\n"
	    "                        config says (every channel unless one is named)\n"
	    "  works-menu deploy [BOT]     set each LINE WORKS bot's persistent menu\n"
	    "  referrals list [--state S] [--format table|csv|json]\n"
	    "  referrals show ID           one referral and every event of it\n"
	    "  referrals typed [--format F]  typed referrer names no single customer matched\n"
	    "  referrals typed decide CHANNEL USER CODE|--dismiss   an operator's decision\n"
	    "  rewards list [STATE]        rewards: pending, approved, issued, voided\n"
	    "  rewards approve ID          approve a pending reward (ends its hold)\n"
	    "  rewards void ID [REASON]    void a pending or approved reward\n"
	    "  import coupons [--new-pool] POOL FILE\n"
	    "                        add coupon codes (one a line, or CSV 'code') to a pool a\n"
	    "                        campaign names (--new-pool: one none names yet)\n"
	    "  import customers FILE       assign reps: CSV user_id,rep_code[,channel[,partner]]\n"
	    "  import tags FILE            tag people for announcements: CSV user_id,tag[,channel]\n"
	    "  rep-link REP [CHANNEL]      the link a rep shares to be a customer's rep\n"
	    "  forget USER                 remove a person's personal data; counts stay\n"
	    "  reset USER                  a tester's referral state cleared (testers: only)\n"
	    "  report [--by branch|rep|campaign|referrer|partner] [--from YYYY-MM-DD]\n"
	    "         [--to YYYY-MM-DD] [--format table|csv|json]   the referral funnel,\n"
	    "                        names beside codes, the console's rates in percent\n"
	    "  rules replay --since YYYY-MM-DD [--format table|csv|json]\n"
	    "                        the claims since then that this config's rules would\n"
	    "                        decide otherwise, and the rewards that changes (reads\n"
	    "                        only: run it before reloading the daemon)\n"
	    "  profile CHANNEL USER        a LINE user's display name (cache, else LINE)\n"
	    "  works-link BOT USER         a LINE WORKS member's external-contact link\n"
	    "  user add LOGIN --role admin|manager|viewer [--branch B]... [--name NAME]\n"
	    "       [--password-file F]   a console account (password from F or stdin)\n"
	    "  user list | user disable LOGIN | user enable LOGIN\n"
	    "  user passwd LOGIN [--password-file F]\n"
	    "  token add NAME --role R [--branch B]...   an API token (printed once)\n"
	    "  token list | token revoke NAME\n"
	    "  audit [--limit N] [--format table|csv|json]   what operators did\n"
	    "  announce list               announcements in the config, and the latest sends\n"
	    "  announce preview ID --segment S   who it would reach, and LINE's quota\n"
	    "       (S: all, branch:CODE, rep:CODE, not_referred, referred, tag:TAG)\n"
	    "  announce test ID --to USER  push it to one LINE user first\n"
	    "  announce send ID --segment S      send now (refused if the quota is short)\n"
	    "  announce schedule ID --segment S --at \"YYYY-MM-DD HH:MM\"\n"
	    "  announce cancel N | announce show N   a send: cancel it, or its results\n"
	    "  -c FILE               config file (default /etc/shokai/shokai.yaml)\n");
	exit(2);
}

struct store *
ctl_open_store(const struct config *cf)
{
	char why[WHY_MAX];
	struct store *s = store_open(cf->sqlite_path, cf->synchronous_full,
	    cf->busy_timeout_ms, why, sizeof(why));

	if (s == NULL)
		fprintf(stderr, "shokaictl: %s\n", why);
	return s;
}

static int
outbox_cmd(const struct config *cf, int argc, char **argv)
{
	struct store *s;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "retry") != 0)
		usage();
	if (argc == 2 && strcmp(argv[1], "all") != 0)
		usage();
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	if (argc == 3) {
		int64_t id = strtoll(argv[2], NULL, 10);
		int r = id > 0 ? store_outbox_requeue(s, id) : 1;

		if (r == 0) {
			printf("outbox %lld queued again\n", (long long)id);
			rc = 0;
		} else
			fprintf(stderr, "shokaictl: outbox retry: no failed message with id %s\n",
			    argv[2]);
	} else
		rc = store_print_outbox(s, stdout, argc == 2) == 0 ? 0 : 1;
	store_close(s);
	return rc;
}

/* Queues one text message; the running daemon sends it within a scan interval. */
static int
send_cmd(const struct config *cf, const char *platform, const char *channel, const char *to,
    const char *text)
{
	enum platform p = strcmp(platform, "line") == 0 ? PLATFORM_LINE : PLATFORM_WORKS;
	struct store *s = NULL;
	int rc;

	if (strcmp(platform, "line") != 0 && strcmp(platform, "works") != 0)
		usage();
	if (p == PLATFORM_LINE && config_line_channel(cf, channel) == NULL) {
		fprintf(stderr, "shokaictl: send: no LINE channel '%s' in the config\n", channel);
		return 1;
	}
	if (p == PLATFORM_WORKS && config_works_bot(cf, channel) == NULL) {
		fprintf(stderr, "shokaictl: send: no LINE WORKS bot '%s' in the config\n",
		    channel);
		return 1;
	}
	if (utf8_valid(text, strlen(text)) == 0) {
		fprintf(stderr, "shokaictl: send: the text is not valid UTF-8\n");
		return 1;
	}
	if ((s = ctl_open_store(cf)) == NULL)
		return 1;
	/* The same path handlers take: the row gets its retry key there. */
	if (store_begin(s) == 0 && (p == PLATFORM_LINE ?
	    outmsg_line_push(s, channel, to, outmsg_line_text(text)) :
	    outmsg_works(s, channel, WORKS_TO_USER, to, outmsg_works_text(text))) == 0 &&
	    store_commit(s) == 0) {
		printf("queued\n");
		rc = 0;
	} else {
		fprintf(stderr, "shokaictl: send: %s\n", store_errmsg(s));
		store_rollback(s);
		rc = 1;
	}
	store_close(s);
	return rc;
}

struct ctl_profile {
	int	 done;
	int	 found;
	char	*name;
};

static void
ctl_profile_done(const struct profile *p, void *arg)
{
	struct ctl_profile *c = arg;

	c->done = 1;
	c->found = p != NULL;
	c->name = p && p->display_name ? xstrdup(p->display_name) : NULL;
}

/* The same lookup handlers use: the cache when fresh, else LINE's profile API. */
static int
profile_cmd(struct config *cf, const char *channel, const char *user)
{
	struct daemon d;
	struct ctl_profile c = { 0 };
	int rc = 1;

	if (config_line_channel(cf, channel) == NULL) {
		fprintf(stderr, "shokaictl: no LINE channel '%s' in the config\n", channel);
		return 1;
	}
	ctl_net_open(&d, cf);
	if ((d.store = ctl_open_store(cf)) == NULL) {
		ctl_net_close(&d);
		return 1;
	}
	profile_lookup(&d, channel, user, ctl_profile_done, &c);
	ctl_net_wait(&d, &c.done);
	if (c.found) {
		/* A display name is whatever the customer typed into LINE. */
		cell_term(stdout, c.name ? c.name : "", c.name ? strlen(c.name) : 0, 0);
		putchar('\n');
		rc = 0;
	} else
		fprintf(stderr, "shokaictl: no profile for that user (blocked the account, "
		    "never a friend, or LINE unreachable)\n");
	free(c.name);
	ctl_net_close(&d);
	return rc;
}

/* GET /users/{id}/link-url with the bot's service-account token, as rep sync will. */
static int
works_link_cmd(struct config *cf, const char *bot, const char *user)
{
	struct daemon d;
	struct ctl_call c = { 0 };
	json_t *root = NULL;
	const char *url;
	int rc = 1;

	if (config_works_bot(cf, bot) == NULL) {
		fprintf(stderr, "shokaictl: no LINE WORKS bot '%s' in the config\n", bot);
		return 1;
	}
	ctl_net_open(&d, cf);
	works_api_lookup(&d, bot, "link-url", user, ctl_call_done, &c);
	ctl_net_wait(&d, &c.done);
	if (c.status == 200 && (root = json_loads(c.body, 0, NULL)) != NULL &&
	    (url = json_string_value(json_object_get(root, "linkUrl"))) != NULL) {
		cell_term(stdout, url, strlen(url), 0);
		putchar('\n');
		rc = 0;
	} else
		fprintf(stderr, "shokaictl: works-link: %s\n", c.error ? c.error :
		    "the answer has no linkUrl");
	json_decref(root);
	free(c.body);
	free(c.error);
	ctl_net_close(&d);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = "/etc/shokai/shokai.yaml", *cmd;
	struct config *cf;
	struct store *s = NULL;
	int ch, rc = 1;

	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	log_init(LOG_WARN);
	if ((cf = config_load_print(path, stderr)) == NULL)
		return 1;
	/* Dates in reports and listings are the config's local dates. */
	setenv("TZ", cf->timezone, 1);
	tzset();
	if (strcmp(cmd, "check") == 0 && argc == 1) {
		printf("ok\n");
		rc = 0;
	} else if (strcmp(cmd, "inbox") == 0 && argc == 1) {
		if ((s = ctl_open_store(cf)) != NULL)
			rc = store_print_inbox_summary(s, stdout) == 0 ? 0 : 1;
	} else if (strcmp(cmd, "quarantine") == 0 && (argc == 1 ||
	    (argc == 3 && strcmp(argv[1], "show") == 0))) {
		int64_t id = argc == 3 ? strtoll(argv[2], NULL, 10) : 0;

		if (argc == 3 && id <= 0) {
			fprintf(stderr, "shokaictl: quarantine show: '%s' is not an id\n", argv[2]);
		} else if ((s = ctl_open_store(cf)) != NULL)
			rc = store_print_quarantine(s, stdout, id) == 0 ? 0 : 1;
	} else if (strcmp(cmd, "outbox") == 0 && argc <= 3) {
		rc = outbox_cmd(cf, argc, argv);
	} else if (strcmp(cmd, "richmenu") == 0 && argc >= 2 && argc <= 3 &&
	    strcmp(argv[1], "list") == 0) {
		rc = richmenu_list_cmd(cf, argc == 3 ? argv[2] : cf->line_channels[0].id);
	} else if (strcmp(cmd, "richmenu") == 0 && argc >= 2 && strcmp(argv[1], "deploy") == 0) {
		rc = richmenu_deploy_cmd(cf, argc - 2, argv + 2);
	} else if (strcmp(cmd, "works-menu") == 0 && argc >= 2 && argc <= 3 &&
	    strcmp(argv[1], "deploy") == 0) {
		rc = works_menu_deploy_cmd(cf, argc == 3 ? argv[2] : NULL);
	} else if (strcmp(cmd, "referrals") == 0) {
		rc = referrals_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "rewards") == 0) {
		rc = rewards_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "import") == 0) {
		rc = import_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "report") == 0) {
		rc = report_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "rules") == 0) {
		rc = rules_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "forget") == 0) {
		rc = forget_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "reset") == 0) {
		rc = reset_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "rep-link") == 0) {
		rc = rep_link_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "works-link") == 0 && argc == 3) {
		rc = works_link_cmd(cf, argv[1], argv[2]);
	} else if (strcmp(cmd, "profile") == 0 && argc == 3) {
		rc = profile_cmd(cf, argv[1], argv[2]);
	} else if (strcmp(cmd, "user") == 0) {
		rc = user_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "token") == 0) {
		rc = token_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "announce") == 0) {
		rc = announce_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "audit") == 0) {
		rc = audit_cmd(cf, argc - 1, argv + 1);
	} else if (strcmp(cmd, "send") == 0 && argc == 5) {
		rc = send_cmd(cf, argv[1], argv[2], argv[3], argv[4]);
	} else
		usage();
	if (rc == 2)
		usage();
	store_close(s);
	config_unref(cf);
	log_flush();
	return rc;
}
