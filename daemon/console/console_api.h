/* console_api.h: the API's routes (console.c's table), one function each, grouped in
 * files by page: console_api_meta.c (meta, users, audit), console_api_referrals.c
 * (referrals, review), console_api_rewards.c (rewards, coupons),
 * console_api_customers.c, console_api_ops.c (operations), console_api_figures.c
 * (dashboard, funnel, reps), console_api_announce.c (announcements). Each answers its request exactly once. */
#ifndef SHOKAI_CONSOLE_API_H
#define SHOKAI_CONSOLE_API_H

struct console_req;

void console_api_meta(struct console_req *);
void console_api_users(struct console_req *);
void console_api_audit(struct console_req *);
void console_api_dashboard(struct console_req *);
void console_api_funnel(struct console_req *);
void console_api_reps(struct console_req *);
void console_api_referrals(struct console_req *);
void console_api_referral(struct console_req *);
void console_api_referral_move(struct console_req *);
void console_api_referral_note(struct console_req *);
void console_api_review(struct console_req *);
void console_api_review_decide(struct console_req *);
void console_api_review_typed(struct console_req *);
void console_api_review_typed_decide(struct console_req *);
void console_api_rewards(struct console_req *);
void console_api_rewards_approve(struct console_req *);
void console_api_rewards_void(struct console_req *);
void console_api_coupons(struct console_req *);
void console_api_coupons_import(struct console_req *);
void console_api_customers(struct console_req *);
void console_api_customer(struct console_req *);
void console_api_conversations(struct console_req *);
void console_api_conversation(struct console_req *);
void console_api_conversation_reply(struct console_req *);
void console_api_conversation_resolve(struct console_req *);
void console_api_conversation_seen(struct console_req *);
void console_api_ops(struct console_req *);
void console_api_outbox_retry(struct console_req *);
void console_api_richmenu_image(struct console_req *);
void console_api_announcements(struct console_req *);
void console_api_announcement(struct console_req *);
void console_api_announce_preview(struct console_req *);
void console_api_announce_test(struct console_req *);
void console_api_announce_create(struct console_req *);
void console_api_announce_cancel(struct console_req *);

#endif
