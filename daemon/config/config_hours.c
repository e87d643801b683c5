/* config_hours.c: opening hours, as a keyword rule's `hours:` and the company's
 * `business_hours:` give them (days of the week, a daily window, holidays), and the two
 * questions asked of them: is it open at a time, and when has a duration of open time
 * passed (a handoff's escalation, a referral's follow-up: "2 business hours" counted
 * from a Friday evening end on Monday morning). Times are the process's local time,
 * which main.c sets to the config's timezone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_yaml.h"

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* "mon-fri", "sat,sun", "every day". */
static int
parse_days(const char *s, unsigned *days)
{
	char buf[128], *save = NULL, *tok;

	*days = 0;
	if (strcmp(s, "every day") == 0 || strcmp(s, "all") == 0) {
		*days = 0x7f;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		char *dash = strchr(tok, '-');
		int from = -1, to = -1;

		if (dash != NULL)
			*dash = '\0';
		for (int i = 0; i < 7; i++) {
			if (strcmp(tok, day_names[i]) == 0)
				from = i;
			if (dash != NULL && strcmp(dash + 1, day_names[i]) == 0)
				to = i;
		}
		if (from < 0 || (dash != NULL && to < 0))
			return -1;
		if (dash == NULL)
			to = from;
		for (int d = from;; d = (d + 1) % 7) {	/* fri-mon wraps over the weekend */
			*days |= 1u << d;
			if (d == to)
				break;
		}
	}
	return *days == 0 ? -1 : 0;
}

static int
parse_clock(const char *s, int *minutes)
{
	int h, m;
	char tail;

	if (sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
	    (h == 24 && m != 0))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

/* A YYYY-MM-DD that names a real day. */
static int
valid_date(const char *s)
{
	int64_t ms;

	return local_midnight(s, 0, &ms) == 0;
}

static void
parse_holidays(struct cfg *c, struct cnode list, const char *what, struct config_hours *h)
{
	if (list.node->type != YAML_SEQUENCE_NODE) {
		cfg_err(c, list, "%s.holidays: expected a list of dates such as [2026-12-31, "
		    "2027-01-01]", what);
		return;
	}
	h->holidays = xcalloc(cfg_list_len(list) + 1, sizeof(*h->holidays));
	for (size_t i = 0; i < cfg_list_len(list); i++) {
		struct cnode d = cfg_list_item(list, i);

		if (d.node->type != YAML_SCALAR_NODE || !valid_date(cfg_scalar(d))) {
			cfg_err(c, d, "%s.holidays[%zu]: expected a date such as 2026-12-31", what,
			    i);
			continue;
		}
		memcpy(h->holidays[h->n_holidays++], cfg_scalar(d), 11);
	}
}

void
cfg_parse_hours(struct cfg *c, struct cnode m, const char *what, struct config_hours *h,
    int holidays)
{
	static const char *const allowed[] = { "days", "from", "to", "holidays", NULL };
	static const char *const allowed_rule[] = { "days", "from", "to", NULL };
	struct cnode v;
	char *from = NULL, *to = NULL;

	h->days = 0x7f;
	if (cfg_check_mapping(c, m, what, holidays ? allowed : allowed_rule, NULL) == -1)
		return;
	if (cfg_map_get(m, "days", &v)) {
		char buf[128] = "";

		if (v.node->type == YAML_SEQUENCE_NODE) {
			for (size_t i = 0; i < cfg_list_len(v); i++)
				if (cfg_list_item(v, i).node->type == YAML_SCALAR_NODE)
					snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
					    i ? "," : "", cfg_scalar(cfg_list_item(v, i)));
		} else if (v.node->type == YAML_SCALAR_NODE)
			snprintf(buf, sizeof(buf), "%s", cfg_scalar(v));
		if (parse_days(buf, &h->days) == -1)
			cfg_err(c, v, "%s.days: expected days such as mon-fri, sat,sun or "
			    "[mon, wed] (sun mon tue wed thu fri sat)", what);
	}
	if (cfg_get_str(c, m, what, "from", &from) == 1 &&
	    parse_clock(from, &h->from_min) == -1) {
		cfg_map_get(m, "from", &v);
		cfg_err(c, v, "%s.from: expected a time such as \"09:00\"", what);
	}
	if (cfg_get_str(c, m, what, "to", &to) == 1 && parse_clock(to, &h->to_min) == -1) {
		cfg_map_get(m, "to", &v);
		cfg_err(c, v, "%s.to: expected a time such as \"18:00\"", what);
	}
	if ((from == NULL) != (to == NULL))
		cfg_err(c, m, "%s: give both from and to, or neither", what);
	if (holidays && cfg_map_get(m, "holidays", &v))
		parse_holidays(c, v, what, h);
	free(from);
	free(to);
}

void
cfg_parse_business_hours(struct cfg *c)
{
	struct cnode sec;

	c->out->business_hours.days = 0x7f;
	if (cfg_root_get(c, "business_hours", &sec))
		cfg_parse_hours(c, sec, "business_hours", &c->out->business_hours, 1);
}

void
config_hours_clear(struct config_hours *h)
{
	free(h->holidays);
	h->holidays = NULL;
	h->n_holidays = 0;
}

static int
holiday(const struct config_hours *h, const struct tm *day)
{
	char date[11];

	if (h->n_holidays == 0)
		return 0;
	strftime(date, sizeof(date), "%Y-%m-%d", day);
	for (size_t i = 0; i < h->n_holidays; i++)
		if (strcmp(h->holidays[i], date) == 0)
			return 1;
	return 0;
}

/* The window that opens on the local day `day` (midnight of it, normalised by mktime),
 * in unix ms: 0, or -1 when that day has none. "to" before "from" runs past midnight,
 * and then the day that counts is the one the window started on. */
static int
window_of(const struct config_hours *h, struct tm day, int64_t *start, int64_t *end)
{
	struct tm t;

	if (!((h->days >> day.tm_wday) & 1) || holiday(h, &day))
		return -1;
	t = day;
	t.tm_hour = 0;
	t.tm_min = h->from_min == h->to_min ? 0 : h->from_min;	/* equal: all day */
	t.tm_sec = 0;
	t.tm_isdst = -1;
	*start = (int64_t)mktime(&t) * 1000;
	t = day;
	t.tm_hour = 0;
	t.tm_min = h->from_min == h->to_min ? 0 : h->to_min;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	if (h->from_min >= h->to_min)	/* all day, or past midnight */
		t.tm_mday++;
	*end = (int64_t)mktime(&t) * 1000;
	return 0;
}

/* Local midnight of the day at ms, shifted by shift days. */
static struct tm
local_day(int64_t ms, int shift)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_mday += shift;
	tm.tm_hour = 12;	/* noon: a DST change never moves it to another day */
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	localtime_r(&t, &tm);
	return tm;
}

int
config_hours_open(const struct config_hours *h, int64_t at_ms)
{
	int64_t s, e;

	if (h->days == 0x7f && h->from_min == h->to_min && h->n_holidays == 0)
		return 1;
	/* Yesterday's window may run past midnight into today. */
	for (int shift = -1; shift <= 0; shift++)
		if (window_of(h, local_day(at_ms, shift), &s, &e) == 0 && at_ms >= s &&
		    at_ms < e)
			return 1;
	return 0;
}

/* Open time is added window by window; a calendar with no window in the next
 * HOURS_HORIZON_DAYS (every day a holiday) counts plain time instead, rather than
 * never. */
#define HOURS_HORIZON_DAYS	400

int64_t
config_hours_add(const struct config_hours *h, int64_t start_ms, int64_t open_ms)
{
	int64_t left = open_ms, at = start_ms;

	if (h->days == 0x7f && h->from_min == h->to_min && h->n_holidays == 0)
		return start_ms + open_ms;
	for (int shift = -1; shift <= HOURS_HORIZON_DAYS; shift++) {
		int64_t s, e;

		if (window_of(h, local_day(start_ms, shift), &s, &e) == -1 || e <= at)
			continue;
		if (s > at)
			at = s;
		if (e - at >= left)
			return at + left;
		left -= e - at;
		at = e;
	}
	return start_ms + open_ms;
}
