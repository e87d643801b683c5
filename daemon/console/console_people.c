/* console_people.c: how the console shows a person. Names, never raw ids: the display
 * name LINE gave (profiles), or for a person forgotten by shokaictl forget the pseudonym
 * their id was replaced with, or the config's unknown-name wording. The raw id stays in
 * user_id, for links only. */
#include <string.h>

#include <jansson.h>

#include "../store/store.h"
#include "../config/config.h"
#include "console_figures.h"

/* store_forget.c's pseudonyms start so (shokaictl forget makes them). */
#define FORGOTTEN_PREFIX	"forgotten:"

json_t *
console_person(struct store *s, const struct config *cf, const char *channel,
    const char *user_id)
{
	struct profile p;
	json_t *person;
	int forgotten = user_id != NULL &&
	    strncmp(user_id, FORGOTTEN_PREFIX, strlen(FORGOTTEN_PREFIX)) == 0;
	const char *name = cf->wording.unknown_name ? cf->wording.unknown_name : "";

	memset(&p, 0, sizeof(p));
	if (channel == NULL)
		channel = "";
	if (user_id == NULL)
		user_id = "";
	if (forgotten)
		name = user_id;
	/* A database error shows as an unknown name: a list is more use than none. */
	else if (*user_id != '\0' && store_profile_get(s, channel, user_id, &p) == 1 &&
	    p.found && p.display_name != NULL && *p.display_name != '\0')
		name = p.display_name;
	person = json_pack("{s:s, s:s, s:s, s:b}", "channel", channel, "user_id", user_id,
	    "name", name, "forgotten", forgotten);
	/* json_pack fails only on text that is not UTF-8 (a display name stored broken). */
	if (person == NULL)
		person = json_pack("{s:s, s:s, s:s, s:b}", "channel", channel, "user_id", "",
		    "name", cf->wording.unknown_name ? cf->wording.unknown_name : "",
		    "forgotten", forgotten);
	profile_clear(&p);
	return person;
}
