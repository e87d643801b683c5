/* referral_notify.c: tells the rep of a new referral on LINE WORKS (the message
 * rep_notify): who referred whom, when, the referral's number, and a button per state
 * the rep may move it to (contacted, meeting, won, lost, suspicious: the state machine
 * says which, the config's state labels what they read). Each button carries a payload
 * signed with the database's secret, so a forwarded or edited tap cannot change another
 * referral. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "handlers.h"

/* The signature of a rep's button: the referral and the step, a full HMAC-SHA256 keyed
 * by the salt (a hash of salt||payload cut to 64 bits was forgeable by extension and
 * by search). 64 hex chars keep the payload far below LINE WORKS' 1000-char limit. */
void
referral_button_sig(const unsigned char *salt, int64_t id, enum ref_state to,
    char out[BUTTON_SIG_LEN + 1])
{
	char payload[64];

	snprintf(payload, sizeof(payload), "%lld:%s", (long long)id, ref_state_name(to));
	sig_hmac_hex(salt, SALT_LEN, payload, strlen(payload), out);
}

int
referral_notify_rep(struct handler_ctx *hc, const struct event *ev,
    const struct config_rep *rep, int64_t id, const char *referrer_id,
    const char *friend_name)
{
	const struct config *cf = hc->cfg;
	struct msg_vars vars = { 0 };
	struct profile p;
	char when[32], id_text[24], why[WHY_MAX], *text;
	time_t now = (time_t)(hc->now_ms / 1000);
	struct tm tm;
	json_t *actions;
	int rc;

	if (rep == NULL || rep->works_user_id == NULL || cf->referral.notify_bot == NULL) {
		log_info("msg=\"referral without a rep to notify\" referral_id=%lld rep=%s",
		    (long long)id, rep ? rep->code : "-");
		return 0;
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	memset(&p, 0, sizeof(p));
	store_profile_get(hc->store, ev->channel, referrer_id, &p);
	msg_vars_set(&vars, "referral_id", id_text);
	msg_vars_set(&vars, "referrer_name", p.display_name ? p.display_name :
	    cf->wording.unknown_name);
	msg_vars_set(&vars, "friend_name", friend_name ? friend_name :
	    cf->wording.unknown_name);
	msg_vars_set(&vars, "claimed_at", when);
	msg_vars_set(&vars, "rep_name", rep->name);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	text = chat_text_named(hc, "rep_notify", PLATFORM_WORKS, &vars);
	profile_clear(&p);
	if (text == NULL)
		return -1;
	/* A button per state a rep may move a new referral to, in the machine's order. */
	actions = json_array();
	for (int to = 0; to < REF_STATE_COUNT; to++) {
		const char *label = config_state_label(cf, (enum ref_state)to);
		char sig[BUTTON_SIG_LEN + 1], *cmd, *postback;

		if (ref_transition_check(REF_CLAIMED, (enum ref_state)to, ACTOR_REP, why,
		    sizeof(why)) == -1)
			continue;
		referral_button_sig(hc->salt, id, (enum ref_state)to, sig);
		cmd = xasprintf("%s #%lld", label, (long long)id);
		postback = xasprintf("ref=%lld&to=%s&sig=%s", (long long)id,
		    ref_state_name((enum ref_state)to), sig);
		json_array_append_new(actions, outmsg_works_button(label, cmd, postback));
		free(cmd);
		free(postback);
	}
	rc = outmsg_works(hc->store, cf->referral.notify_bot, WORKS_TO_USER, rep->works_user_id,
	    outmsg_works_buttons(text, actions));
	free(text);
	return rc;
}
