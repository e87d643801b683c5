/* console_wording.h: the audit log (and the codes shokaictl's lists print) in the words of
 * the console's text file (console/web/text/ja.json, built into the binary), for the
 * console's pages and CSV and for shokaictl alike, so all of them say the same. */
#ifndef SHOKAI_CONSOLE_WORDING_H
#define SHOKAI_CONSOLE_WORDING_H

#include <jansson.h>

struct config;

/* A text file of the console's built into this binary ("text/ja.json",
 * "text/csv.json") as JSON; an empty object if absent. The caller owns it. */
json_t *console_text_load(const char *name);
/* "<section>.<name>" ("event", "claimed"), or name itself when the text file has none.
 * Borrowed. */
const char *console_text_words(const json_t *text, const char *section, const char *name);
/* "audit.<action>" (the action itself when the text file has no label). Borrowed. */
const char *console_audit_action_words(const json_t *text, const char *action);
/* A row's detail: its facts worded through "audit_detail.<action>", or free text as it
 * is. A new string. */
char *console_audit_detail_words(const json_t *text, const struct config *,
    const char *action, const char *detail);
/* A row's target as an operator reads it: a person ("customer:CHANNEL/USER",
 * "typed:CHANNEL/USER") by name (display_name: their LINE name, NULL when unknown; a
 * forgotten person's pseudonym), a referral, reward, message or announcement send by
 * its number through "audit_target.<kind>" (紹介 #12), anything else (a login, a coupon
 * pool) as it is. A new string. person, when not NULL, gets the Person for a person
 * (console_person_named), else NULL. */
char *console_audit_target_words(const json_t *text, const struct config *,
    const char *target, const char *display_name, json_t **person);

#endif
