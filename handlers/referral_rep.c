/* referral_rep.c: reps working their referrals from the LINE WORKS bot. A tap on a
 * notification's button arrives with a signed payload; a rep can also type a state's
 * word and a referral's number ("成約 #12", "won 12"), a command alone: list (my
 * open referrals) or stats (this month), or 紹介登録 with a code and a name (a friend
 * who wrote to the rep from an invite's rep link, credited to the invite's customer). The words are the config's (the built-in
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

static int parse_command(const struct config *, const char *, enum ref_state *,
    int64_t *);

static const struct config_rep *
rep_listed_as(const struct config *cf, const char *works_user)
{
	for (size_t i = 0; i < cf->n_reps; i++)
		if (cf->reps[i].works_user_id != NULL &&
		    strcasecmp(cf->reps[i].works_user_id, works_user) == 0)
			return &cf->reps[i];
	return NULL;
}

/* The rep writing, known by the member id the callback carries: listed so in the
 * config, or listed by a login e-mail that the directory resolved to it
 * (outbound/rep_links.c). */
static const struct config_rep *
rep_of(struct handler_ctx *hc, const char *member_id)
{
	const struct config_rep *rep = rep_listed_as(hc->cfg, member_id);
	char *login = NULL;

	if (rep == NULL && store_rep_login_of_member(hc->store, member_id, &login) == 1)
		rep = rep_listed_as(hc->cfg, login);
	free(login);
	return rep;
}

/* A rep's command or button: what an unknown member is answered rep_unknown_member
 * for; anything else is left to the bot's keyword rules. */
static int
is_rep_command(const struct config *cf, const struct event *ev)
{
	enum ref_state to;
	int64_t id;
	char *norm;
	size_t word;
	int yes;

	if (ev->postback_data != NULL && strncmp(ev->postback_data, "ref=", 4) == 0)
		return 1;
	if (ev->text == NULL)
		return 0;
	if (parse_command(cf, ev->text, &to, &id) == 0)
		return 1;
	norm = text_normalize(ev->text);
	word = strcspn(norm, " ");
	yes = config_words_has(cf->wording.rep_list_words, norm) ||
	    config_words_has(cf->wording.rep_stats_words, norm);
	norm[word] = '\0';
	yes = yes || config_words_has(cf->wording.rep_register_words, norm);
	free(norm);
	return yes;
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
		/* The rep reads the two states' labels; the machine's words go to the log. */
		log_info("msg=\"rep move refused\" rep=%s referral_id=%lld why=\"%s\"",
		    rep->code, (long long)id, why);
		rc = say(hc, ev, rep, "rep_referral_refused", "referral_id", id_text, "state",
		    config_state_label(hc->cfg, r.state), "to_state",
		    config_state_label(hc->cfg, to), NULL);
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

/* The friend's name as the rep's list shows it: masked where the campaign says so. */
static char *
listed_name(struct handler_ctx *hc, const struct referral_row *r)
{
	const struct config_campaign *cp = config_campaign(hc->cfg, r->campaign);
	struct profile p;
	char *name;

	memset(&p, 0, sizeof(p));
	store_profile_get(hc->store, r->channel, r->referee_id, &p);
	if (p.display_name == NULL)
		name = xstrdup(hc->cfg->wording.unknown_name);
	else if (cp == NULL || cp->show_friend_name_to_rep)
		name = xstrdup(p.display_name);
	else
		name = config_mask_name(hc->cfg, p.display_name);
	profile_clear(&p);
	return name;
}

/* One line per open referral, in the words of rep_list_item: number, friend, state,
 * the day it came and how many days it has waited. */
static int
list_open(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep)
{
	struct referral_row *rows;
	size_t n, used = 0;
	char text[2000] = "", count[24];
	int rc = 0;

	if (store_referrals_of_rep(hc->store, rep->code, LIST_MAX, &rows, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct msg_vars vars = { 0 };
		char when[24], id_text[24], days[24], *name, *line;
		time_t t = (time_t)(rows[i].claimed_at / 1000);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%m/%d", &tm);
		snprintf(id_text, sizeof(id_text), "%lld", (long long)rows[i].id);
		snprintf(days, sizeof(days), "%lld",
		    (long long)((hc->now_ms - rows[i].claimed_at) / 86400000));
		name = listed_name(hc, &rows[i]);
		msg_vars_set(&vars, "referral_id", id_text);
		msg_vars_set(&vars, "friend_name", name);
		msg_vars_set(&vars, "state", config_state_label(hc->cfg, rows[i].state));
		msg_vars_set(&vars, "claimed_at", when);
		msg_vars_set(&vars, "age_days", days);
		line = chat_text_named(hc, "rep_list_item", PLATFORM_WORKS, &vars);
		free(name);
		if (line == NULL)
			rc = -1;
		else if (used + strlen(line) + 2 < sizeof(text))
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\n", line);
		free(line);
		referral_row_clear(&rows[i]);
	}
	free(rows);
	if (rc == -1)
		return -1;
	snprintf(count, sizeof(count), "%zu", n);
	if (n == 0)
		return say(hc, ev, rep, "rep_list_empty", NULL);
	return say(hc, ev, rep, "rep_list", "count", count, "list", text, NULL);
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

/* The referral a rep registered: its row, then what everyone is told. The referee has
 * no LINE chat (the friend wrote to the rep), so only the referrer is thanked. */
static int
registered(struct handler_ctx *hc, const struct event *ev, const struct config_rep *rep,
    const struct refcode_owner *o, const char *code, const char *shown,
    const struct referral *r, int held, const char *friend_name)
{
	const struct config *cf = hc->cfg;
	const struct config_campaign *cp = config_campaign(cf, o->campaign);
	struct msg_vars vars = { 0 };
	struct referral_row row;
	struct profile p;
	char actor[48], id_text[24], *masked = NULL;
	int64_t id = 0;
	int rc;

	if ((rc = store_referral_put(hc->store, r, &id)) != 1)
		return rc;	/* 0: registered before */
	snprintf(actor, sizeof(actor), "rep:%s", rep->code);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	{
		struct ref_event e = { .type = held ? "held" : "claimed", .channel = o->channel,
		    .campaign = o->campaign, .code = code, .referral_id = id,
		    .referrer_id = o->user_id, .referee_id = r->referee_id,
		    .rep_code = rep->code, .branch = rep->branch ? rep->branch->code : NULL,
		    .reason = held ? "velocity" : NULL, .actor = actor, .at = hc->now_ms };
		struct profile named = { .display_name = xstrdup(friend_name), .found = 1,
		    .fetched_at = hc->now_ms };

		rc = store_ref_event(hc->store, &e) == -1 ||
		    store_profile_put(hc->store, o->channel, r->referee_id, &named) == -1 ? -1 : 0;
		profile_clear(&named);
		if (rc == -1)
			return -1;
	}
	memset(&p, 0, sizeof(p));
	store_profile_get(hc->store, o->channel, o->user_id, &p);
	msg_vars_set(&vars, "company_name", cf->company_name ? cf->company_name : "");
	msg_vars_set(&vars, "rep_name", rep->name);
	msg_vars_set(&vars, "referral_id", id_text);
	msg_vars_set(&vars, "referrer_name", p.display_name ? p.display_name :
	    cf->wording.unknown_name);
	msg_vars_set(&vars, "friend_name", friend_name);
	msg_vars_set(&vars, "code_display", shown);
	rc = chat_reply_named(hc, ev, held ? "rep_registered_held" : "rep_registered", &vars);
	profile_clear(&p);
	if (rc == -1 || held)
		return rc == -1 ? -1 : 1;
	if ((rc = store_referral_get(hc->store, id, &row)) != 1)
		return -1;
	rc = referral_reached(hc, &row, REF_CLAIMED);
	referral_row_clear(&row);
	if (rc == -1)
		return -1;
	/* The referrer hears as after a claim in LINE, the friend's name masked unless
	 * the campaign shows it. */
	masked = cp != NULL && cp->show_friend_name ? xstrdup(friend_name) :
	    config_mask_name(cf, friend_name);
	msg_vars_set(&vars, "friend_name", masked);
	msg_vars_set(&vars, "branch_name", rep->branch ? rep->branch->name : "");
	rc = chat_push_named(hc, o->channel, o->user_id, "claim_thanks_referrer", &vars);
	free(masked);
	return rc == -1 ? -1 : 1;
}

/* "紹介登録 ADYB-GHTA7 山田 花子": a friend who reached the rep from an invite's rep
 * link, credited to the invite's customer through the same rules as a claim in LINE,
 * with the rep as actor. The friend is known by the rep's code and a keyed hash of the
 * name given, so the same rep registering the same name twice is one referral. */
static int
register_contact(struct handler_ctx *hc, const struct event *ev,
    const struct config_rep *rep, const char *args)
{
	char code[REFCODE_LEN + 1], shown[REFCODE_LEN + 2], typed[32], hash[65];
	const char *name;
	struct refcode_owner o = { 0 };
	struct claim_facts f;
	struct event as_friend;
	struct referral r;
	const struct config_campaign *cp;
	char *referee = NULL;
	size_t n = strcspn(args, " ");
	int rc, held;

	/* The code as one word, hyphens allowed (ADYB-GHTA7), then the name. */
	snprintf(typed, sizeof(typed), "%.*s", (int)(n < sizeof(typed) ? n : 0), args);
	for (char *from = typed, *to = typed;; from++)
		if (*from != '-' && (*to++ = *from) == '\0')
			break;
	name = args + n + strspn(args + n, " ");
	if (n == 0 || *name == '\0' || refcode_valid(typed, code) == -1)
		return say(hc, ev, rep, "rep_register_usage", NULL);
	refcode_display(code, shown);
	if ((rc = store_refcode_lookup(hc->store, code, &o)) != 1)
		return rc == -1 ? -1 : say(hc, ev, rep, "rep_register_unknown_code",
		    "code_display", shown, NULL);
	sha256_hex(hc->salt, SALT_LEN, name, strlen(name), hash);
	referee = xasprintf("%s%s:%.16s", REP_REGISTERED_PREFIX, rep->code, hash);
	memset(&as_friend, 0, sizeof(as_friend));
	as_friend.platform = PLATFORM_LINE;
	as_friend.channel = o.channel;
	as_friend.user_id = referee;
	cp = config_campaign(hc->cfg, o.campaign);
	f = (struct claim_facts){ .ev = &as_friend, .owner = &o, .campaign = cp };
	if (claim_broken_rule(hc, &f) != NULL) {
		rc = say(hc, ev, rep, "rep_register_refused", "code_display", shown,
		    "friend_name", name, NULL);
		goto done;
	}
	held = claim_velocity_held(hc, cp, code);
	r = (struct referral){ .channel = o.channel, .campaign = o.campaign, .code = code,
	    .referrer_id = o.user_id, .referee_id = referee, .rep_code = rep->code,
	    .state = held ? REF_HELD : REF_CLAIMED, .claimed_at = hc->now_ms };
	if ((rc = registered(hc, ev, rep, &o, code, shown, &r, held, name)) == 0)
		rc = say(hc, ev, rep, "rep_register_refused", "code_display", shown,
		    "friend_name", name, NULL);
done:
	free(referee);
	refcode_owner_clear(&o);
	return rc == -1 ? -1 : 0;
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
	    ev->user_id == NULL)
		return HANDLER_NOT_MINE;
	if ((rep = rep_of(hc, ev->user_id)) == NULL) {
		struct msg_vars vars = { 0 };

		if (!is_rep_command(hc->cfg, ev))
			return HANDLER_NOT_MINE;
		log_notice("msg=\"a rep's command from a LINE WORKS member who is not a rep\" "
		    "member=%s", ev->user_id);
		msg_vars_set(&vars, "company_name", hc->cfg->company_name ?
		    hc->cfg->company_name : "");
		return chat_reply_named(hc, ev, "rep_unknown_member", &vars) == 0 ?
		    HANDLER_DONE : HANDLER_FAILED;
	}
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
	{
		size_t word = strcspn(norm, " ");
		char saved = norm[word];

		norm[word] = '\0';
		if (config_words_has(hc->cfg->wording.rep_register_words, norm))
			rc = register_contact(hc, ev, rep, saved == '\0' ? "" :
			    norm + word + 1 + strspn(norm + word + 1, " "));
		norm[word] = saved;
	}
	if (rc == 1 && config_words_has(hc->cfg->wording.rep_list_words, norm))
		rc = list_open(hc, ev, rep);
	else if (rc == 1 && config_words_has(hc->cfg->wording.rep_stats_words, norm))
		rc = stats(hc, ev, rep);
	free(norm);
	if (rc == 1)
		return HANDLER_NOT_MINE;	/* the bot's keyword rules may answer */
	return rc == 0 ? HANDLER_DONE : HANDLER_FAILED;
}

const struct handler handler_referral_rep = { "referral_rep", handle };
