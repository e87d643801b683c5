/* console_rows.h: rows into the API's objects (console_rows.c). */
#ifndef SHOKAI_CONSOLE_ROWS_H
#define SHOKAI_CONSOLE_ROWS_H

#include <time.h>

#include "console_internal.h"

json_t *console_rep_json(const struct config *, const char *code);
json_t *console_branch_json(const struct config *, const char *rep_code);
json_t *console_referral_json(const struct console_scope *, const struct config *,
    const json_t *row);
json_t *console_reward_json(const struct console_scope *, const struct config *,
    const json_t *row);
char *console_scope_reps(const struct console_scope *, const struct config *,
    const struct console_filter *);
int console_rep_in_scope(const struct console_scope *, const struct config *,
    const char *rep_code);
void console_list_window(struct console_req *, const struct console_filter *,
    struct console_list_query *);

#endif
