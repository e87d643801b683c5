/* outmsg.h: the one API that turns a message into an outbox row. Every row kind
 * ("reply", "push", "works_user", "works_channel", "richmenu_link", "mark_read") and
 * every JSON key of a platform's request body is spelled here, and nowhere else:
 * handlers, the rewards tick, shokaictl, the console and the outbox's reply fallback
 * all go through it. It writes rows only (inside the caller's transaction); sending them
 * is outbox.c's job. A reply or push to one LINE user also joins their conversation
 * log, in the same transaction. */
#ifndef SHOKAI_OUTMSG_H
#define SHOKAI_OUTMSG_H

#include "../base/base.h"
#include "../store/store.h"

struct json_t;

/* Each adds one row inside the caller's transaction and returns 0, or -1 on a store
 * error. The JSON arguments are taken (freed), also on error. */

/* LINE: answers the event with its reply token; if LINE refuses the token, the outbox
 * pushes the same messages to fallback_to (a user, group or room). */
int outmsg_line_reply(struct store *, const char *channel, const char *reply_token,
    const char *fallback_to, struct json_t *messages);
/* LINE: a push to a user, group or room who did not just write. */
int outmsg_line_push(struct store *, const char *channel, const char *to,
    struct json_t *messages);
/* The same, written by a person (author: operator:LOGIN), as their conversation shows. */
int outmsg_line_push_by(struct store *, const char *channel, const char *to,
    struct json_t *messages, const char *author);
/* LINE: marks a user's messages read up to the one token came with (a person has seen
 * them in the console). */
int outmsg_line_mark_read(struct store *, const char *channel, const char *user_id,
    const char *token);
/* LINE: links a deployed rich menu (LINE's id) to one user. */
/* One multicast row: messages (taken) to to[0..n) (1 to OUTMSG_MULTICAST_MAX LINE user
 * ids), with its own retry key; dedupe_key (may be NULL) makes a second row of the same
 * key a no-op. */
#define OUTMSG_MULTICAST_MAX	500
int outmsg_line_multicast(struct store *, const char *channel, const char *const *to,
    size_t n, struct json_t *messages, const char *dedupe_key);
/* The same, not sent before not_before_ms (unix ms; 0: now): a long send's calls spread
 * out below LINE's multicast limit. */
int outmsg_line_multicast_at(struct store *, const char *channel, const char *const *to,
    size_t n, struct json_t *messages, const char *dedupe_key, int64_t not_before_ms);
int outmsg_line_richmenu_link(struct store *, const char *channel, const char *user_id,
    const char *line_menu_id);
/* LINE WORKS: one message content to a member (user_id) or a room (channel_id). */
enum works_to { WORKS_TO_USER, WORKS_TO_CHANNEL };
int outmsg_works(struct store *, const char *bot, enum works_to, const char *target,
    struct json_t *content);

/* The message shapes the code itself builds. */
struct json_t *outmsg_line_text(const char *text);	/* [{"type":"text",...}] */
struct json_t *outmsg_works_text(const char *text);	/* {"type":"text",...} */
/* A LINE WORKS button template; actions (taken) are outmsg_works_button()s. */
struct json_t *outmsg_works_buttons(const char *text, struct json_t *actions);
/* A button that sends text as the member's message, with postback data. */
struct json_t *outmsg_works_button(const char *label, const char *text,
    const char *postback);

/* outbox.c's fallback: turns a reply row whose token LINE refused into a push to its
 * fallback_to, in place. -1 when the row has no fallback or its body is not a reply. */
int outmsg_reply_to_push(struct outbox_msg *);

/* An X-Line-Retry-Key: LINE takes any UUID; this is a version 7 one (RFC 9562), the
 * time at ms first, then random's 80 bits (74 of them kept). */
#define RETRY_KEY_RANDOM	10
void outmsg_retry_key(int64_t ms, const unsigned char random[RETRY_KEY_RANDOM],
    char out[37]);

#endif
