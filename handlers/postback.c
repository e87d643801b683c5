/* postback.c: rich-menu and button taps. The data is "action=NAME&key=value"; the
 * action picks a flow from the config's postbacks. A tap nobody configured gets a
 * polite answer and a log line, never silence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "handlers.h"

static enum handler_result
unknown_action(struct handler_ctx *hc, const struct event *ev, const char *action,
    const char *why)
{
	struct msg_vars vars;
	char *name = NULL, user[16];
	int rc;

	/* The data's length, never its bytes: whatever a tap carries may have been typed
	 * by the customer (a forged or edited postback) and stays out of the log. */
	log_user(ev->user_id, user);
	log_notice("msg=\"postback not understood\" channel=%s user=%s data_bytes=%zu "
	    "action_bytes=%zu reason=\"%s\"", ev->channel, user,
	    ev->postback_data ? strlen(ev->postback_data) : 0, action ? strlen(action) : 0,
	    why);
	chat_vars(hc, ev, &vars, &name);
	rc = chat_reply_named(hc, ev, "postback_unknown", &vars);
	free(name);
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

enum handler_result
postback_run(struct handler_ctx *hc, const struct event *ev, const struct postback *pb)
{
	static const char *const picked[] = { "date", "time", "datetime" };
	const struct config_postback *cp;
	struct msg_vars vars;
	char *name = NULL;
	int rc = 0;

	if (pb->action == NULL)
		return unknown_action(hc, ev, NULL, "no action in the data");
	if ((cp = config_postback(hc->cfg, pb->action)) == NULL)
		return unknown_action(hc, ev, pb->action, "no such action under postbacks");
	if (strcmp(cp->flow, "reply") == 0) {
		/* What a date/time picker chose: {date}, {time}, {datetime}. */
		json_t *params;

		if (cp->handoff) {
			char reason[96];

			snprintf(reason, sizeof(reason), "postback:%s", cp->action);
			if (handoff_start(hc, ev, reason) == -1)
				return HANDLER_FAILED;
		}
		params = ev->postback_params ? json_loads(ev->postback_params, 0, NULL) : NULL;

		chat_vars(hc, ev, &vars, &name);
		for (size_t i = 0; i < sizeof(picked) / sizeof(picked[0]); i++)
			msg_vars_set(&vars, picked[i], json_string_value(json_object_get(params,
			    picked[i])));
		rc = chat_reply(hc, ev, cp->reply, &vars);
		json_decref(params);
		free(name);
	} else if (strcmp(cp->flow, "referral.invite") == 0) {
		return referral_invite(hc, ev);
	} else if (strcmp(cp->flow, "referral.status") == 0) {
		return referral_status(hc, ev);
	} else if (strcmp(cp->flow, "menu") == 0) {
		/* A fixed menu, or the one the data names: action=menu&to=ID */
		const struct config_richmenu *menu = cp->menu;
		const char *to = postback_get(pb, "to");

		if (menu == NULL && (to == NULL ||
		    (menu = config_richmenu(hc->cfg, to)) == NULL))
			return unknown_action(hc, ev, pb->action, "no such rich menu");
		rc = chat_link_menu(hc, ev, menu);
	}
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	struct postback pb;
	enum handler_result res;
	char why[128];

	if (ev->platform != PLATFORM_LINE || strcmp(ev->type, "postback") != 0)
		return HANDLER_NOT_MINE;
	/* A tab switch (richmenuswitch) has happened on the phone already. */
	if (ev->postback_params != NULL && strstr(ev->postback_params,
	    "\"newRichMenuAliasId\"") != NULL)
		return HANDLER_DONE;
	if (postback_parse(ev->postback_data ? ev->postback_data : "", &pb, why,
	    sizeof(why)) == -1)
		return unknown_action(hc, ev, NULL, why);
	res = postback_run(hc, ev, &pb);
	postback_clear(&pb);
	return res;
}

const struct handler handler_postback = { "postback", handle };
