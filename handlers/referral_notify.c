/* referral_notify.c: tells the rep of a new referral on LINE WORKS: who referred whom,
 * when, the referral's number, and a button per next step (contacted, meeting, won,
 * lost, suspicious). Each button carries a payload signed with the database's secret,
 * so a forwarded or edited tap cannot change another referral. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "handlers.h"


static const struct {
	const char	*label;
	enum ref_state	 to;
} steps[] = {
	{ "対応開始", REF_CONTACTED },
	{ "面談設定", REF_MEETING },
	{ "成約", REF_WON },
	{ "失注", REF_LOST },
	{ "不正の疑い", REF_SUSPICIOUS },
};

/* The signature of a rep's button: the referral and the step, keyed by the salt. */
void
referral_button_sig(const unsigned char *salt, int64_t id, enum ref_state to, char out[17])
{
	char payload[64], hex[65];

	snprintf(payload, sizeof(payload), "%lld:%s", (long long)id, ref_state_name(to));
	sha256_hex(salt, SALT_LEN, payload, strlen(payload), hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

int
referral_notify_rep(struct handler_ctx *hc, const struct event *ev,
    const struct config_rep *rep, int64_t id, const char *referrer_id,
    const char *friend_name)
{
	const struct config *cf = hc->cfg;
	const struct config_message *m = config_message(cf, "rep_notify");
	struct msg_vars vars = { 0 };
	struct profile p;
	char when[32], id_text[24], *text = NULL;
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
	msg_vars_set(&vars, "referrer_name", p.display_name ? p.display_name : "(名前未取得)");
	msg_vars_set(&vars, "friend_name", friend_name ? friend_name : "(名前未取得)");
	msg_vars_set(&vars, "claimed_at", when);
	msg_vars_set(&vars, "rep_name", rep->name);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	if (m != NULL && m->works != NULL) {
		json_t *r = msg_template_render(m->works, &vars);

		text = xstrdup(json_string_value(json_object_get(json_array_get(r, 0), "text")) ?
		    json_string_value(json_object_get(json_array_get(r, 0), "text")) : "");
		json_decref(r);
	} else
		text = xasprintf("新しいご紹介 #%s\n紹介者: %s 様\nお友だち: %s 様\n%s", id_text,
		    p.display_name ? p.display_name : "(名前未取得)",
		    friend_name ? friend_name : "(名前未取得)", when);
	profile_clear(&p);
	actions = json_array();
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char sig[17], *cmd, *postback;

		referral_button_sig(hc->salt, id, steps[i].to, sig);
		cmd = xasprintf("%s #%lld", steps[i].label, (long long)id);
		postback = xasprintf("ref=%lld&to=%s&sig=%s", (long long)id,
		    ref_state_name(steps[i].to), sig);
		json_array_append_new(actions, outmsg_works_button(steps[i].label, cmd,
		    postback));
		free(cmd);
		free(postback);
	}
	rc = outmsg_works(hc->store, cf->referral.notify_bot, WORKS_TO_USER, rep->works_user_id,
	    outmsg_works_buttons(text, actions));
	free(text);
	return rc;
}
