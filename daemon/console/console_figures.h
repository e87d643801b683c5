/* console_figures.h: the JSON of the console's figures pages (console/openapi.yaml:
 * GET /dashboard, /funnel/{stage}, /reps), built from store_figures.c's definitions and
 * scoped by the caller's console_scope; and the Person object every list shows. The
 * HTTP routes (console_api) call these on the console's reader connection. */
#ifndef SHOKAI_CONSOLE_FIGURES_H
#define SHOKAI_CONSOLE_FIGURES_H

#include <stddef.h>

#include <jansson.h>

struct store;
struct config;
struct console_scope;
struct console_filter;

/* Each answers its schema's object (the caller owns it), or NULL with *status the HTTP
 * status to answer and why (English, for the error's detail):
 *   400  dates that are not YYYY-MM-DD, from after to, only one of them, a period
 *        over ten years, an unknown branch or funnel stage
 *   403  a branch outside a manager's scope
 *   500  a database error
 * Without from and to the period is this month (its first to its last day). */
json_t *console_dashboard(struct store *, const struct config *,
    const struct console_scope *, const struct console_filter *, int *status, char *why,
    size_t whylen);
/* stage: issued, clicked, claimed, contacted or won. filter->limit: 1..500 (0: 100). */
json_t *console_funnel_list(struct store *, const struct config *,
    const struct console_scope *, const struct console_filter *, const char *stage,
    int *status, char *why, size_t whylen);
/* Every configured rep in scope (and in filter->branch): open referrals, those waiting
 * for a first action (oldest first, at most 50 each), and this month's figures. */
json_t *console_reps(struct store *, const struct config *, const struct console_scope *,
    const struct console_filter *, int *status, char *why, size_t whylen);

/* console_people.c: a Person: the LINE display name, a forgotten person's pseudonym
 * (forgotten: true), or the config's wording.unknown_name; masked (山*) when asked.
 * Never NULL. console_person looks the profile up; console_person_named takes the
 * name a query already joined (NULL: none). */
json_t *console_person(struct store *, const struct config *, const char *channel,
    const char *user_id, int masked);
json_t *console_person_named(const struct config *, const char *channel,
    const char *user_id, const char *display_name, int masked);
/* 1 when a friend's name is masked for this caller: the campaign hides it from
 * referrers, and the caller is not an admin. */
int console_friend_masked(const struct console_scope *, const struct config *,
    const char *campaign);

#endif
