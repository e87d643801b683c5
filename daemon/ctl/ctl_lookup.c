/* ctl_lookup.c: asking the platforms about one person: `profile` (a LINE user's display
 * name, through the daemon's own profile cache) and `works-link` (a LINE WORKS member's
 * external-contact link). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"

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
profile_lookup_cmd(struct config *cf, const char *channel, const char *user)
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
works_link_lookup(struct config *cf, const char *bot, const char *user)
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

/* profile CHANNEL USER */
int
profile_cmd(struct config *cf, int argc, char **argv)
{
	return argc == 2 ? profile_lookup_cmd(cf, argv[0], argv[1]) : 2;
}

/* works-link BOT USER */
int
works_link_cmd(struct config *cf, int argc, char **argv)
{
	return argc == 2 ? works_link_lookup(cf, argv[0], argv[1]) : 2;
}
