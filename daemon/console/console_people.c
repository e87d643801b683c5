/* console_people.c: how the console shows a person, the one builder of every Person the
 * API answers. Names, never raw ids: the display name LINE gave (profiles), or for a
 * person forgotten by shokaictl forget the pseudonym their id was replaced with, or the
 * config's unknown-name wording; a friend's name masked where the campaign hides it
 * from referrers (for everyone but admins). The raw id stays in user_id, for links
 * only. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../store/store.h"
#include "../config/config.h"
#include "console.h"
#include "console_figures.h"

/* store_forget.c's pseudonyms start so (shokaictl forget makes them). */
#define FORGOTTEN_PREFIX	"forgotten:"

json_t *
console_person_named(const struct config *cf, const char *channel, const char *user_id,
    const char *display_name, int masked)
{
	const char *unknown = cf->wording.unknown_name ? cf->wording.unknown_name : "";
	int forgotten = user_id != NULL &&
	    strncmp(user_id, FORGOTTEN_PREFIX, strlen(FORGOTTEN_PREFIX)) == 0;
	char *name;
	json_t *person;

	if (channel == NULL)
		channel = "";
	if (user_id == NULL)
		user_id = "";
	if (forgotten)
		name = xstrdup(user_id);
	else if (masked)
		name = config_mask_name(cf, display_name);
	else
		name = xstrdup(display_name != NULL && *display_name != '\0' ? display_name :
		    unknown);
	person = json_pack("{s:s, s:s, s:s, s:b}", "channel", channel, "user_id", user_id,
	    "name", name, "forgotten", forgotten);
	/* json_pack fails only on text that is not UTF-8 (a display name stored broken). */
	if (person == NULL)
		person = json_pack("{s:s, s:s, s:s, s:b}", "channel", channel, "user_id", "",
		    "name", unknown, "forgotten", forgotten);
	free(name);
	return person;
}

json_t *
console_person(struct store *s, const struct config *cf, const char *channel,
    const char *user_id, int masked)
{
	struct profile p;
	json_t *person;

	memset(&p, 0, sizeof(p));
	/* A database error shows as an unknown name: a list is more use than none. */
	if (channel != NULL && user_id != NULL && *user_id != '\0' &&
	    strncmp(user_id, FORGOTTEN_PREFIX, strlen(FORGOTTEN_PREFIX)) != 0)
		store_profile_get(s, channel, user_id, &p);
	person = console_person_named(cf, channel, user_id, p.found ? p.display_name : NULL,
	    masked);
	profile_clear(&p);
	return person;
}

int
console_friend_masked(const struct console_scope *scope, const struct config *cf,
    const char *campaign)
{
	const struct config_campaign *cp = campaign ? config_campaign(cf, campaign) : NULL;

	return scope->role != ROLE_ADMIN && (cp == NULL || !cp->show_friend_name);
}
