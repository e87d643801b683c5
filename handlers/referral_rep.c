/* referral_rep.c: reps working their referrals from the LINE WORKS bot. A tap on a
 * notification's button arrives with a signed payload; a rep can also type a state's
 * word and a referral's number ("成約 #12", "won 12"), or a command alone: list (my
 * open referrals) or stats (this month). The words are the config's (the built-in
 * default_wording.yaml's referral section), and so are the answers (messages rep_*).
 * Only the referral's rep, or a manager of the rep's branch, may move it, and only as
 * the state machine allows; each move is a `state` event with the rep as actor. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handlers.h"

#define LIST_MAX	10

/* The rep writing, known by their LINE WORKS user id. */
static const struct config_rep *
rep_of(const struct config *cf, const char *works_user)
{
	for (size_t i = 0; i < cf->n_reps; i++)
		if (cf->reps[i].works_user_id != NULL &&
		    strcasecmp(cf->reps[i].works_user_id, works_user) == 0)
			return &cf->reps[i];
	return NULL;
}

/* The referral's own rep, or a manager of that rep's branch. */
static int
may_act(const struct config *cf, const struct config_rep *rep, const char *owner_code)
{
	const struct config_rep *owner = owner_code ? config_rep(cf, owner_code) : NULL;

	if (owner_code != NULL && strcasecmp(rep->code, owner_code) == 0)
		return 1;
	if (owner == NULL || owner->branch == NULL)
		return 0;
	for (size_t i = 0; i < owner->branch->n_managers; i++)
		if (strcasecmp(owner->branch->managers[i], rep->code) == 0)
			return 1;
	return 0;
}

/* The message called name to the rep who wrote, with {company_name}, {rep_name} and
 * the placeholders given as name, value pairs (a NULL name ends them). */
static int
say(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep,
    const char *name, ...) __attribute__((sentinel));

static int
say(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep,
    const char *name, ...)
{
	struct msg_vars vars = { 0 };
	const char *key;
	va_list ap;

	msg_vars_set(&vars, "company_name", hc->cfg->company_name ? hc->cfg->company_name :
	    "");
	msg_vars_set(&vars, "rep_name", rep->name);
	va_start(ap, name);
	while ((key = va_arg(ap, const char *)) != NULL)
		msg_vars_set(&vars, key, va_arg(ap, const char *));
	va_end(ap);
	return chat_reply_named(hc, ev, name, &vars);
}

static enum handler_result
move(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep,
    int64_t id, enum ref_state to)
{
	struct referral_row r;
	char why[128], actor[48], id_text[24];
	int rc;

	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	if ((rc = store_referral_get(hc->store, id, &r)) != 1) {
		if (rc == -1)
			return HANDLER_FAILED;
		return say(hc, ev, rep, "rep_referral_not_found", "referral_id", id_text,
		    NULL) == 0 ? HANDLER_DONE : HANDLER_FAILED;
	}
	if (!may_act(hc->cfg, rep, r.rep_code)) {
		log_notice("msg=\"rep may not act on a referral\" rep=%s referral_id=%lld "
		    "owner=%s", rep->code, (long long)id, r.rep_code ? r.rep_code : "-");
		rc = say(hc, ev, rep, "rep_referral_not_yours", "referral_id", id_text, NULL);
		referral_row_clear(&r);
		return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
	}
	if (ref_transition_check(r.state, to, ACTOR_REP, why, sizeof(why)) == -1) {
		rc = say(hc, ev, rep, "rep_referral_refused", "referral_id", id_text, "reason",
		    why, NULL);
		referral_row_clear(&r);
		return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
	}
	snprintf(actor, sizeof(actor), "rep:%s", rep->code);
	rc = store_referral_set_state(hc->store, id, r.state, to, hc->now_ms);
	if (rc == 1) {
		struct ref_event e = { .type = "state", .channel = r.channel,
		    .campaign = r.campaign, .code = r.code, .referral_id = id,
		    .referrer_id = r.referrer_id, .referee_id = r.referee_id,
		    .rep_code = r.rep_code, .reason = ref_state_name(to), .actor = actor,
		    .at = hc->now_ms };
		const struct config_rep *owner = r.rep_code ? config_rep(hc->cfg, r.rep_code) :
		    NULL;

		e.branch = owner && owner->branch ? owner->branch->code : NULL;
		rc = store_ref_event(hc->store, &e);
		if (rc == 0)
			rc = referral_reached(hc, &r, to);
		if (rc == 0)
			rc = say(hc, ev, rep, "rep_referral_moved", "referral_id", id_text,
			    "state", config_state_label(hc->cfg, to), NULL);
	}
	referral_row_clear(&r);
	return rc < 0 ? HANDLER_FAILED : HANDLER_DONE;
}

static int
list_open(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep)
{
	struct referral_row *rows;
	size_t n;
	char text[2000] = "", count[24];
	int rc;

	if (store_referrals_of_rep(hc->store, rep->code, LIST_MAX, &rows, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char when[24];
		time_t t = (time_t)(rows[i].claimed_at / 1000);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%m/%d", &tm);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "#%lld %s %s\n",
		    (long long)rows[i].id, when, config_state_label(hc->cfg, rows[i].state));
		referral_row_clear(&rows[i]);
	}
	free(rows);
	snprintf(count, sizeof(count), "%zu", n);
	if (n == 0)
		rc = say(hc, ev, rep, "rep_list_empty", NULL);
	else
		rc = say(hc, ev, rep, "rep_list", "count", count, "list", text, NULL);
	return rc;
}

static int
stats(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep)
{
	time_t now = (time_t)(hc->now_ms / 1000);
	struct tm tm;
	int64_t counts[3];
	char text[3][24];

	localtime_r(&now, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if (store_rep_stats(hc->store, rep->code, (int64_t)mktime(&tm) * 1000, counts) == -1)
		return -1;
	for (int i = 0; i < 3; i++)
		snprintf(text[i], sizeof(text[i]), "%lld", (long long)counts[i]);
	return say(hc, ev, rep, "rep_stats", "claims", text[0], "wins", text[1], "losses",
	    text[2], NULL);
}

/* "成約 #12", "won 12", "#12 成約": a state's word and a number, in either order. */
static int
parse_command(const struct config *cf, const char *text, enum ref_state *to, int64_t *id)
{
	char *norm = text_normalize(text), *save = NULL, *tok;
	int have_to = 0, have_id = 0;

	for (tok = strtok_r(norm, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		char *p = tok + (*tok == '#');
		char *end;
		long long v = strtoll(p, &end, 10);

		if (*p != '\0' && *end == '\0' && v > 0) {
			*id = v;
			have_id++;
		} else if (config_state_from_word(cf, tok, to) == 0)
			have_to++;
		else {
			have_to = 9;	/* something else: not a command */
			break;
		}
	}
	free(norm);
	return have_to == 1 && have_id == 1 ? 0 : -1;
}

static enum handler_result
handle(struct handler_ctx *hc, const struct event *ev)
{
	const struct config_rep *rep;
	char *norm;
	enum ref_state to = REF_CLAIMED;
	int64_t id = 0;
	int rc = 1;

	if (ev->platform != PLATFORM_WORKS || strcmp(ev->type, "message") != 0 ||
	    ev->user_id == NULL || (rep = rep_of(hc->cfg, ev->user_id)) == NULL)
		return HANDLER_NOT_MINE;
	/* A notification's button: the payload must carry our signature for exactly this
	 * referral and step. */
	if (ev->postback_data != NULL && strncmp(ev->postback_data, "ref=", 4) == 0) {
		struct postback pb;
		char why[96], sig[BUTTON_SIG_LEN + 1];
		const char *ids, *tos, *sigs;

		if (postback_parse(ev->postback_data, &pb, why, sizeof(why)) == -1)
			return say(hc, ev, rep, "rep_button_unreadable", NULL) == 0 ?
			    HANDLER_DONE : HANDLER_FAILED;
		ids = postback_get(&pb, "ref");
		tos = postback_get(&pb, "to");
		sigs = postback_get(&pb, "sig");
		id = ids ? strtoll(ids, NULL, 10) : 0;
		if (id <= 0 || tos == NULL || sigs == NULL || ref_state_parse(tos, &to) == -1 ||
		    (referral_button_sig(hc->salt, id, to, sig), !sig_hex_equal(sig, sigs))) {
			log_notice("msg=\"rep button with a bad signature\" rep=%s", rep->code);
			postback_clear(&pb);
			return say(hc, ev, rep, "rep_button_invalid", NULL) == 0 ?
			    HANDLER_DONE : HANDLER_FAILED;
		}
		postback_clear(&pb);
		return move(hc, ev, rep, id, to);
	}
	if (ev->text == NULL)
		return HANDLER_NOT_MINE;
	if (parse_command(hc->cfg, ev->text, &to, &id) == 0)
		return move(hc, ev, rep, id, to);
	norm = text_normalize(ev->text);
	if (config_words_has(hc->cfg->wording.rep_list_words, norm))
		rc = list_open(hc, ev, rep);
	else if (config_words_has(hc->cfg->wording.rep_stats_words, norm))
		rc = stats(hc, ev, rep);
	free(norm);
	if (rc == 1)
		return HANDLER_NOT_MINE;	/* the bot's keyword rules may answer */
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

const struct handler handler_referral_rep = { "referral_rep", handle };
