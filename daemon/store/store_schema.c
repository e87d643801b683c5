/* store_schema.c: the database schema as a list of forward migrations, and the code that
 * brings a database up to the newest one at open. A new table or index is a new entry at
 * the end; entries already shipped never change. A CHECK naming more than two allowed
 * values is written as ORs (state = 'a' OR state = 'b' OR ...): for an IN list of three
 * or more constants SQLite builds a temporary b-tree every time a row is written. */
#include <stdlib.h>

#include "store_internal.h"

/* Forward migrations: entry i takes user_version i to i + 1, inside one transaction. */
static const char *const migrations[] = {
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);"
	"CREATE TABLE inbox ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL CHECK (platform IN ('line', 'works')),"
	"  channel TEXT NOT NULL,"
	"  event_key TEXT NOT NULL,"
	"  event_index INTEGER NOT NULL DEFAULT 0,"
	"  type TEXT NOT NULL,"
	"  known INTEGER NOT NULL DEFAULT 1,"
	"  mode TEXT,"
	"  redelivery INTEGER NOT NULL DEFAULT 0,"
	"  source_type TEXT,"
	"  user_id TEXT,"
	"  group_id TEXT,"
	"  reply_token TEXT,"
	"  ts INTEGER,"
	"  message_id TEXT,"
	"  message_type TEXT,"
	"  text TEXT,"
	"  postback_data TEXT,"
	"  postback_params TEXT,"
	"  unblocked INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'done', 'failed', 'skipped')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT,"
	"  received_at INTEGER NOT NULL,"		/* unix ms, UTC, as every time here */
	"  processed_at INTEGER,"
	"  UNIQUE (platform, channel, event_key));"
	"CREATE INDEX inbox_pending ON inbox(id) WHERE state = 'pending';"
	"CREATE TABLE quarantine ("			/* signed bodies that did not parse */
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  body BLOB NOT NULL);",

	/* 2: the transactional outbox. A row is written in the same transaction as the
	 * state that caused it; the sender only ever updates it. */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL CHECK (platform IN ('line', 'works')),"
	"  channel TEXT NOT NULL,"			/* config id of the channel or bot */
	"  kind TEXT NOT NULL,"				/* reply, push, multicast, ... */
	"  target TEXT,"				/* user, group or room id */
	"  body TEXT NOT NULL,"				/* the request body, as it is sent */
	"  fallback_to TEXT,"				/* reply: user to push to instead */
	"  retry_key TEXT NOT NULL UNIQUE,"		/* UUIDv4, fixed before the first try */
	"  dedupe_key TEXT UNIQUE,"			/* a message that must exist once */
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'sent', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  ambiguous INTEGER NOT NULL DEFAULT 0,"	/* a try may have been delivered */
	"  next_attempt_at INTEGER NOT NULL,"		/* unix ms */
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	"  last_status INTEGER,"
	"  last_error TEXT);"
	"CREATE INDEX outbox_due ON outbox(platform, next_attempt_at) WHERE state = 'pending';",

	/* 3: LINE profiles, cached with the time they were fetched. */
	"CREATE TABLE profiles ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  display_name TEXT,"
	"  picture_url TEXT,"
	"  language TEXT,"
	"  found INTEGER NOT NULL,"			/* 0: LINE said 404 (unfollowed, unknown) */
	"  fetched_at INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, user_id));",

	/* 4: chat flows: who is a friend since when, per-user reply cooldowns, and which
	 * LINE rich menu holds each configured menu (written by shokaictl richmenu
	 * deploy, read to link per-user menus). */
	"CREATE TABLE users ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  first_seen_at INTEGER NOT NULL,"
	"  followed_at INTEGER,"			/* the latest follow */
	"  unfollowed_at INTEGER,"			/* the latest block */
	"  follows INTEGER NOT NULL DEFAULT 0,"		/* 2 or more: came back after a block */
	"  is_friend INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (channel, user_id));"
	"CREATE TABLE reply_cooldowns ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  rule TEXT NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, user_id, rule));"
	"CREATE TABLE richmenus ("
	"  channel TEXT NOT NULL,"
	"  menu_id TEXT NOT NULL,"			/* the config's id */
	"  hash TEXT NOT NULL,"				/* of the object and image deployed */
	"  line_id TEXT NOT NULL,"			/* richmenu-... */
	"  deployed_at INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, menu_id));",

	/* 5: referrals. Every step is a referral_events row; the other tables hold the
	 * current state, and their constraints make the rules that must never break
	 * impossible to break: one code per customer and campaign, one referral per
	 * referee (first touch wins), one reward per referral and side, one reward per
	 * coupon. */
	"CREATE TABLE customers ("
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  rep_code TEXT,"				/* the assigned rep */
	"  rep_source TEXT,"				/* rep_link, import, referral */
	"  assigned_at INTEGER,"
	"  PRIMARY KEY (channel, user_id));"
	"CREATE TABLE referral_codes ("
	"  code TEXT PRIMARY KEY,"
	"  channel TEXT NOT NULL,"
	"  user_id TEXT NOT NULL,"			/* the referrer */
	"  campaign TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  UNIQUE (channel, user_id, campaign));"
	"CREATE TABLE referrals ("
	"  id INTEGER PRIMARY KEY,"
	"  channel TEXT NOT NULL,"
	"  campaign TEXT NOT NULL,"
	"  code TEXT NOT NULL REFERENCES referral_codes(code),"
	"  referrer_id TEXT NOT NULL,"
	"  referee_id TEXT NOT NULL,"
	"  rep_code TEXT,"
	"  state TEXT NOT NULL,"
	"  claimed_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (channel, referee_id));"
	"CREATE INDEX referrals_by_referrer ON referrals(channel, referrer_id, claimed_at);"
	"CREATE TABLE referral_events ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"		/* issued clicked claimed rejected held state reward */
	"  channel TEXT,"
	"  campaign TEXT,"
	"  code TEXT,"
	"  referral_id INTEGER,"
	"  referrer_id TEXT,"
	"  referee_id TEXT,"
	"  rep_code TEXT,"
	"  branch TEXT,"
	"  reason TEXT,"		/* why rejected or held; the new state */
	"  actor TEXT,"			/* system, rep:CODE, operator */
	"  client_hash TEXT);"		/* clicks: a salted hash, never the address */
	"CREATE INDEX referral_events_by_type ON referral_events(type, at);"
	"CREATE INDEX referral_events_by_code ON referral_events(code, type, at);"
	"CREATE TABLE rewards ("
	"  id INTEGER PRIMARY KEY,"
	"  referral_id INTEGER NOT NULL REFERENCES referrals(id),"
	"  side TEXT NOT NULL CHECK (side IN ('referrer', 'referee')),"
	"  user_id TEXT NOT NULL,"
	"  campaign TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  due_at INTEGER NOT NULL,"
	"  approve_after INTEGER NOT NULL,"		/* due_at + the campaign's hold */
	"  coupon_code TEXT,"
	"  issued_at INTEGER,"
	"  note TEXT,"
	"  UNIQUE (referral_id, side));"
	"CREATE TABLE coupons ("
	"  pool TEXT NOT NULL,"
	"  code TEXT NOT NULL,"
	"  reward_id INTEGER UNIQUE REFERENCES rewards(id),"
	"  imported_at INTEGER NOT NULL,"
	"  PRIMARY KEY (pool, code));"
	"CREATE INDEX coupons_free ON coupons(pool) WHERE reward_id IS NULL;",

	/* 6: reps' LINE WORKS contact links (contact_url: auto), fetched and kept. */
	"CREATE TABLE rep_links ("
	"  rep_code TEXT PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  fetched_at INTEGER NOT NULL);",

	/* 7: the rewards tick looks every second for rewards still to move; issued and
	 * voided ones, nearly all of them in time, are not read. */
	"CREATE INDEX rewards_open ON rewards(state) WHERE state IN ('pending', 'approved');",

	/* 8: a try is written down before it starts (trying = 1 until its outcome is), so a
	 * row found trying after a restart may have been delivered; a reply in that case
	 * whose token LINE then refuses ends 'unknown' instead of being pushed a second
	 * time. SQLite cannot change a CHECK in place: the table is copied. */
	"CREATE TABLE outbox_new ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL CHECK (platform IN ('line', 'works')),"
	"  channel TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  target TEXT,"
	"  body TEXT NOT NULL,"
	"  fallback_to TEXT,"
	"  retry_key TEXT NOT NULL UNIQUE,"
	"  dedupe_key TEXT UNIQUE,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'sent', 'failed', 'unknown')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  ambiguous INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	"  last_status INTEGER,"
	"  last_error TEXT,"
	"  trying INTEGER NOT NULL DEFAULT 0);"		/* a try started, no outcome yet */
	"INSERT INTO outbox_new(id, platform, channel, kind, target, body, fallback_to, "
	"  retry_key, dedupe_key, state, attempts, ambiguous, next_attempt_at, created_at, "
	"  sent_at, last_status, last_error) "
	"  SELECT id, platform, channel, kind, target, body, fallback_to, retry_key, "
	"  dedupe_key, state, attempts, ambiguous, next_attempt_at, created_at, sent_at, "
	"  last_status, last_error FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_new RENAME TO outbox;"
	"CREATE INDEX outbox_due ON outbox(platform, next_attempt_at) WHERE state = 'pending';",

	/* 9: referral_events by time, for the report's date range (it scanned every event:
	 * 3.5 s for a month of 5 million), and by referee, for a claim's count of the
	 * sender's wrong codes of the last day (it read every rejection of the day: 800 a
	 * day at a year's 300,000). Measured by make bench-scale. */
	("CREATE INDEX referral_events_by_at ON referral_events(at);"
	 "CREATE INDEX referral_events_by_referee ON referral_events(referee_id, type, at);"),

	/* 10: the console: accounts (a scrypt hash each; managers name their branches),
	 * sessions (the cookie's SHA-256, never the cookie), API tokens (their SHA-256,
	 * with their own role and branches), the audit log (every operator action, login
	 * and failed login; failed logins are counted from it for the rate limit, so a
	 * restart forgets nothing), and operators' notes on referrals. Lists by state and
	 * by rep are indexed for the console's pages. */
	("CREATE TABLE console_users ("
	 "  id INTEGER PRIMARY KEY,"
	 "  login TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	 "  name TEXT NOT NULL,"
	 "  role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),"
	 "  branches TEXT NOT NULL DEFAULT '',"		/* managers: codes, comma-separated */
	 "  password TEXT NOT NULL,"			/* $scrypt$ln=..,r=..,p=..$salt$hash */
	 "  disabled INTEGER NOT NULL DEFAULT 0,"
	 "  created_at INTEGER NOT NULL,"
	 "  password_changed_at INTEGER NOT NULL,"
	 "  last_login_at INTEGER);"
	 "CREATE TABLE console_sessions ("
	 "  token_hash TEXT PRIMARY KEY,"
	 "  user_id INTEGER NOT NULL REFERENCES console_users(id),"
	 "  csrf TEXT NOT NULL,"
	 "  client TEXT,"
	 "  created_at INTEGER NOT NULL,"
	 "  last_seen_at INTEGER NOT NULL);"
	 "CREATE INDEX console_sessions_by_user ON console_sessions(user_id);"
	 "CREATE TABLE console_tokens ("
	 "  id INTEGER PRIMARY KEY,"
	 "  name TEXT NOT NULL UNIQUE,"
	 "  token_hash TEXT NOT NULL UNIQUE,"
	 "  role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),"
	 "  branches TEXT NOT NULL DEFAULT '',"
	 "  created_at INTEGER NOT NULL,"
	 "  last_used_at INTEGER,"
	 "  revoked_at INTEGER);"
	 "CREATE TABLE audit_log ("
	 "  id INTEGER PRIMARY KEY,"
	 "  at INTEGER NOT NULL,"
	 "  actor TEXT NOT NULL,"			/* login name, token:NAME, shokaictl */
	 "  action TEXT NOT NULL,"
	 "  target TEXT,"
	 "  detail TEXT,"
	 "  client TEXT);"				/* the client's address */
	 "CREATE INDEX audit_failed_logins ON audit_log(target, at) "
	 "  WHERE action = 'login_failed';"
	 "CREATE INDEX audit_failed_clients ON audit_log(client, at) "
	 "  WHERE action = 'login_failed';"
	 "CREATE TABLE referral_notes ("
	 "  id INTEGER PRIMARY KEY,"
	 "  referral_id INTEGER NOT NULL REFERENCES referrals(id),"
	 "  at INTEGER NOT NULL,"
	 "  author TEXT NOT NULL,"
	 "  text TEXT NOT NULL);"
	 "CREATE INDEX referral_notes_by_referral ON referral_notes(referral_id);"
	 "CREATE INDEX referrals_by_state ON referrals(state, claimed_at);"
	 "CREATE INDEX referrals_by_rep ON referrals(rep_code, state);"),

	/* 11: the console's figures (store_figures.c), each query answered from an index
	 * alone: on the scale database (make bench-scale) the rows of a month's events
	 * are spread over the whole table, and reading them took more time than counting
	 * (0.18 s of 0.20 s for 150,000 events). Events but clicks with every column the
	 * figures read; clicks (two thirds of the events) with what the per-day count
	 * reads; a referral's events with the actor, for the rep's first action after
	 * a claim; open referrals by rep; customers by rep with their friendship (a
	 * branch's friends: 0.9 s for a branch of 170,000 customers through the tables,
	 * 0.3 s through these); and by follow time and those who blocked the account
	 * (friends during a period are those followed before its end, less those who
	 * left before its start: two index ranges). */
	("CREATE INDEX referral_events_figures ON referral_events(type, at, reason, branch, "
	 "rep_code, campaign, referral_id, channel, referrer_id) WHERE type != 'clicked';"
	 "CREATE INDEX referral_events_clicks ON referral_events(type, at, code, client_hash, "
	 "campaign, branch) WHERE type = 'clicked';"
	 "CREATE INDEX referral_events_by_referral ON referral_events(referral_id, type, at, "
	 "actor) WHERE referral_id IS NOT NULL;"
	 "CREATE INDEX referrals_open ON referrals(state, rep_code, campaign, updated_at);"
	 "CREATE INDEX customers_by_rep ON customers(rep_code, channel, user_id);"
	 "CREATE INDEX users_friendship ON users(channel, user_id, followed_at, is_friend, "
	 "unfollowed_at);"
	 "CREATE INDEX users_followed ON users(followed_at);"
	 "CREATE INDEX users_left ON users(unfollowed_at, followed_at) WHERE is_friend = 0;"),

	/* 12: a customer's page lists their rewards (a scan of every reward before). */
	"CREATE INDEX rewards_by_user ON rewards(user_id);",

	/* 13: a branch's friends (store_friends) joined every customer of its reps to
	 * users, one seek each: 0.34 s for the 170,000 customers of a branch of the scale
	 * database, more than the dashboard's whole budget (300 ms). users now carries
	 * the customer's rep, kept by triggers on customers (every writer, the generator
	 * of make bench-scale included, keeps it without knowing), so a branch's friends
	 * are one range of users_by_rep, read alone. NULL: no customers row. */
	("ALTER TABLE users ADD COLUMN rep_code TEXT;"
	 "UPDATE users SET rep_code = (SELECT c.rep_code FROM customers c WHERE c.channel = "
	 "  users.channel AND c.user_id = users.user_id);"
	 "CREATE INDEX users_by_rep ON users(rep_code, followed_at, is_friend, unfollowed_at) "
	 "  WHERE rep_code IS NOT NULL;"
	 "CREATE TRIGGER users_rep_on_user AFTER INSERT ON users BEGIN "
	 "  UPDATE users SET rep_code = (SELECT c.rep_code FROM customers c WHERE c.channel = "
	 "  NEW.channel AND c.user_id = NEW.user_id) WHERE channel = NEW.channel AND "
	 "  user_id = NEW.user_id; END;"
	 "CREATE TRIGGER users_rep_on_insert AFTER INSERT ON customers BEGIN "
	 "  UPDATE users SET rep_code = NEW.rep_code WHERE channel = NEW.channel AND "
	 "  user_id = NEW.user_id; END;"
	 "CREATE TRIGGER users_rep_on_update AFTER UPDATE OF channel, user_id, rep_code ON "
	 "  customers BEGIN "
	 "  UPDATE users SET rep_code = NULL WHERE channel = OLD.channel AND "
	 "  user_id = OLD.user_id;"
	 "  UPDATE users SET rep_code = NEW.rep_code WHERE channel = NEW.channel AND "
	 "  user_id = NEW.user_id; END;"
	 "CREATE TRIGGER users_rep_on_delete AFTER DELETE ON customers BEGIN "
	 "  UPDATE users SET rep_code = NULL WHERE channel = OLD.channel AND "
	 "  user_id = OLD.user_id; END;"),

	/* 14: clicks (once per code, client and local day) counted as they are written,
	 * per local day (its local midnight, ms), campaign and branch: scope 0 counts a
	 * key once, scope 1 once per branch (store_clicks.c, which fills it at the first
	 * open and keeps it). The dashboard's scan of every click of two periods took
	 * 170 ms of its 300 on the scale database. */
	"CREATE TABLE click_counts ("
	"  scope INTEGER NOT NULL,"
	"  day INTEGER NOT NULL,"
	"  campaign TEXT NOT NULL,"			/* '' for none */
	"  branch TEXT NOT NULL,"			/* '' for none, and in scope 0 */
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (scope, day, campaign, branch)) WITHOUT ROWID;",

	/* 15: a new users row (every first message or follow: the webhook path) copied
	 * its customer's rep with an UPDATE of the row just written; a new person has no
	 * customers row yet, nearly always, so the trigger now asks first. */
	("DROP TRIGGER users_rep_on_user;"
	 "CREATE TRIGGER users_rep_on_user AFTER INSERT ON users WHEN EXISTS (SELECT 1 FROM "
	 "  customers c WHERE c.channel = NEW.channel AND c.user_id = NEW.user_id) BEGIN "
	 "  UPDATE users SET rep_code = (SELECT c.rep_code FROM customers c WHERE c.channel = "
	 "  NEW.channel AND c.user_id = NEW.user_id) WHERE channel = NEW.channel AND "
	 "  user_id = NEW.user_id; END;"),

	/* 16: conversations and handoffs. Every message a customer wrote or was sent, one
	 * row each (the outbox is a queue, this is the log: a reply's state joins from its
	 * outbox row); text and bodies go after the retention period, the rows stay, so
	 * counts remain. A handoff is a customer waiting for a person: at most one open
	 * per customer. The inbox keeps what a message carried beyond its text (a
	 * sticker's ids, LINE's mark-as-read token) as JSON. */
	("ALTER TABLE inbox ADD COLUMN message_meta TEXT;"
	 "CREATE TABLE conversation ("
	 "  id INTEGER PRIMARY KEY,"
	 "  channel TEXT NOT NULL,"
	 "  user_id TEXT NOT NULL,"
	 "  at INTEGER NOT NULL,"
	 "  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"
	 "  kind TEXT NOT NULL,"		/* in: text sticker image ... postback follow
						 * unfollow; out: message */
	 "  text TEXT,"				/* in: what was written, or the tap's action */
	 "  body TEXT,"				/* in: message_meta; out: NULL, the outbox
						 * row has the messages sent */
	 "  inbox_id INTEGER,"
	 "  outbox_id INTEGER,"
	 "  author TEXT,"			/* out: NULL the bot, operator:LOGIN, rep:CODE */
	 "  read_at INTEGER);"			/* in: marked read on LINE (a person saw it) */
	 "CREATE INDEX conversation_by_user ON conversation(channel, user_id, id);"
	 "CREATE INDEX conversation_kept ON conversation(at) WHERE text IS NOT NULL OR "
	 "  body IS NOT NULL;"
	 "CREATE TABLE handoffs ("
	 "  id INTEGER PRIMARY KEY,"
	 "  channel TEXT NOT NULL,"
	 "  user_id TEXT NOT NULL,"
	 "  state TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'expired')),"
	 "  reason TEXT,"			/* what opened it: auto_replies[3], postback:NAME */
	 "  rep_code TEXT,"
	 "  branch TEXT,"
	 "  notified TEXT,"			/* rep:CODE, on_duty:BRANCH, operators, none */
	 "  opened_at INTEGER NOT NULL,"
	 "  quiet_until INTEGER NOT NULL,"
	 "  escalate_at INTEGER,"		/* NULL: never, or done */
	 "  escalated_at INTEGER,"
	 "  seen_at INTEGER, seen_by TEXT,"
	 "  answered_at INTEGER, answered_by TEXT,"
	 "  resolved_at INTEGER, resolved_by TEXT);"
	 "CREATE UNIQUE INDEX handoffs_open ON handoffs(channel, user_id) WHERE state = 'open';"
	 "CREATE INDEX handoffs_by_state ON handoffs(state, opened_at);"
	 "CREATE INDEX handoffs_by_user ON handoffs(channel, user_id, id);"),

	/* 17: announcements (store_announce.c): one row per send of a configured announcement
	 * to a segment, and its recipients, frozen when it starts in the transaction that
	 * writes every multicast outbox row of it (dedupe_key announce:ID:CHUNK), so a
	 * crash leaves all of it or none. What followed (invites, clicks, claims) is read
	 * from referral_events through the recipients' primary key. Tags come from an
	 * imported CSV (shokaictl import tags), for the tag:TAG segment. */
	("CREATE TABLE announcements ("
	 "  id INTEGER PRIMARY KEY,"
	 "  config_id TEXT NOT NULL,"			/* announcements[].id */
	 "  title TEXT NOT NULL,"
	 "  message TEXT NOT NULL,"			/* the message's name */
	 "  channel TEXT NOT NULL,"
	 "  segment TEXT NOT NULL,"			/* all, branch:CODE, rep:CODE, ... */
	 "  state TEXT NOT NULL CHECK (state IN ('scheduled', 'sending', 'sent', "
	 "    'refused', 'canceled')),"
	 "  scheduled_at INTEGER NOT NULL,"
	 "  created_by TEXT NOT NULL,"			/* shokaictl, a console login */
	 "  created_at INTEGER NOT NULL,"
	 "  started_at INTEGER,"
	 "  finished_at INTEGER,"
	 "  recipients INTEGER,"			/* friends in the segment at the start */
	 "  blocked INTEGER,"				/* in the segment, skipped: blocked */
	 "  chunks INTEGER,"				/* multicast calls */
	 "  quota_limit INTEGER,"			/* LINE's at the start; NULL: none */
	 "  quota_used INTEGER,"
	 "  reason TEXT);"				/* why refused or canceled */
	 "CREATE INDEX announcements_open ON announcements(scheduled_at) "
	 "  WHERE state IN ('scheduled', 'sending');"
	 "CREATE TABLE announce_recipients ("
	 "  announcement_id INTEGER NOT NULL REFERENCES announcements(id),"
	 "  user_id TEXT NOT NULL,"
	 "  PRIMARY KEY (announcement_id, user_id)) WITHOUT ROWID;"
	 /* a customer's conversation shows the announcements they were sent */
	 "CREATE INDEX announce_recipients_by_user ON announce_recipients(user_id, "
	 "  announcement_id);"
	 "CREATE TABLE customer_tags ("
	 "  channel TEXT NOT NULL,"
	 "  tag TEXT NOT NULL,"
	 "  user_id TEXT NOT NULL,"
	 "  imported_at INTEGER NOT NULL,"
	 "  PRIMARY KEY (channel, tag, user_id)) WITHOUT ROWID;"),

	/* 18: follow-ups (store_nudge.c): every reminder, ask after a win, Monday digest
	 * and escalation, once: the primary key is what makes "once" hold across ticks
	 * and restarts, and the row is written in the transaction of its outbox rows.
	 * person is who a reminder or an ask went to, counted against the campaign's
	 * monthly limit (sent 0: decided, not sent, e.g. over the limit). The scan for
	 * invites that nobody clicked reads issued events by (type, campaign, at). */
	("CREATE TABLE nudges ("
	 "  kind TEXT NOT NULL,"			/* remind, ask, digest, escalate */
	 "  subject TEXT NOT NULL,"			/* a code, a referral id, a branch */
	 "  period TEXT NOT NULL,"			/* '' or the digest's date */
	 "  channel TEXT,"
	 "  person TEXT,"				/* a LINE user: remind and ask */
	 "  sent INTEGER NOT NULL,"
	 "  at INTEGER NOT NULL,"
	 "  PRIMARY KEY (kind, subject, period)) WITHOUT ROWID;"
	 "CREATE INDEX nudges_by_person ON nudges(channel, person, at) WHERE sent = 1;"
	 "CREATE INDEX referral_events_issued ON referral_events(campaign, at) "
	 "  WHERE type = 'issued';"),

	/* 19 (issue 14: reward stages, partners): a referral may earn one reward per side
	 * and stage (rewards: in the campaign, 0 for the single reward: form), so the
	 * UNIQUE (referral_id, side) of schema 5 becomes (referral_id, side, stage). SQLite
	 * cannot change a table's constraint in place: rewards is rebuilt, and coupons,
	 * whose reward_id refers to it, set aside and put back around it (foreign keys are
	 * on, so a parent with children cannot be dropped). A copy of every coupon: seconds
	 * for millions, once. (A partner is a customer tagged `partner` in customer_tags.) */
	("CREATE TABLE coupons_keep AS SELECT pool, code, reward_id, imported_at FROM coupons;"
	 "DROP TABLE coupons;"
	 "CREATE TABLE rewards_new ("
	 "  id INTEGER PRIMARY KEY,"
	 "  referral_id INTEGER NOT NULL REFERENCES referrals(id),"
	 "  side TEXT NOT NULL CHECK (side IN ('referrer', 'referee')),"
	 "  user_id TEXT NOT NULL,"
	 "  campaign TEXT NOT NULL,"
	 "  pool TEXT NOT NULL,"
	 "  state TEXT NOT NULL,"
	 "  due_at INTEGER NOT NULL,"
	 "  approve_after INTEGER NOT NULL,"
	 "  coupon_code TEXT,"
	 "  issued_at INTEGER,"
	 "  note TEXT,"
	 "  stage INTEGER NOT NULL DEFAULT 0,"
	 "  UNIQUE (referral_id, side, stage));"
	 "INSERT INTO rewards_new(id, referral_id, side, user_id, campaign, pool, state, "
	 "  due_at, approve_after, coupon_code, issued_at, note) SELECT id, referral_id, side, "
	 "  user_id, campaign, pool, state, due_at, approve_after, coupon_code, issued_at, "
	 "  note FROM rewards;"
	 "DROP TABLE rewards;"
	 "ALTER TABLE rewards_new RENAME TO rewards;"
	 "CREATE INDEX rewards_open ON rewards(state) WHERE state IN ('pending', 'approved');"
	 "CREATE INDEX rewards_by_user ON rewards(user_id);"
	 "CREATE TABLE coupons ("
	 "  pool TEXT NOT NULL,"
	 "  code TEXT NOT NULL,"
	 "  reward_id INTEGER UNIQUE REFERENCES rewards(id),"
	 "  imported_at INTEGER NOT NULL,"
	 "  PRIMARY KEY (pool, code));"
	 "INSERT INTO coupons SELECT pool, code, reward_id, imported_at FROM coupons_keep;"
	 "DROP TABLE coupons_keep;"
	 "CREATE INDEX coupons_free ON coupons(pool) WHERE reward_id IS NULL;"),

	/* 20: reps listed by login e-mail: LINE WORKS callbacks carry the member's id, so
	 * each login is resolved through the directory (rep_links.c) and kept here. */
	("CREATE TABLE rep_members ("
	 "  login TEXT PRIMARY KEY COLLATE NOCASE,"
	 "  member_id TEXT NOT NULL,"
	 "  fetched_at INTEGER NOT NULL);"
	 "CREATE INDEX rep_members_by_member ON rep_members(member_id);"),

	/* 21 (issue 14, part 3) a new friend who sent no code is asked once whether someone
	 * referred them (referral.ask_referrer_after): one row per friend, taken in the
	 * transaction that queues the question, so "once" holds across ticks and restarts.
	 * state: asked, yes (they said いる: the next text is a name), no (not asked
	 * again), typed (what they typed, with how many customers it matched; one match
	 * is a held referral, referral_id; none or several wait for an operator), decided. */
	("CREATE TABLE referrer_asks ("
	 "  channel TEXT NOT NULL,"
	 "  user_id TEXT NOT NULL,"
	 "  state TEXT NOT NULL CHECK (state IN ('asked', 'yes', 'no', 'typed', 'decided')),"
	 "  asked_at INTEGER NOT NULL,"
	 "  typed TEXT,"
	 "  typed_at INTEGER,"
	 "  matches INTEGER,"
	 "  referral_id INTEGER,"
	 "  PRIMARY KEY (channel, user_id)) WITHOUT ROWID;"
	 "CREATE INDEX referrer_asks_typed ON referrer_asks(typed_at) WHERE state = 'typed';"),

	/* 22 retention's click hashes: the clicks that still carry one, oldest first. Without
	 * it each chunk walked every click already cleared before reaching one to clear
	 * (on a year of 3 million clicks, a chunk's time grew with the purge). */
	("CREATE INDEX referral_events_click_hash_kept ON referral_events(at) "
	 "WHERE type = 'clicked' AND client_hash IS NOT NULL;"),

	/* 23 retention's handled inbox rows, oldest first. Without it each chunk walked
	 * the rows it keeps (failed ones) from the table's start: 12 ms a chunk on a year
	 * of 2 million rows, growing as the purge went on. Kept by the dispatcher's marks
	 * at the index's end (received_at grows), one page a batch. */
	("CREATE INDEX inbox_handled ON inbox(received_at) WHERE state IN ('done', 'skipped');"),

	/* 24 the figures of state moves (contacted, meeting, won, lost) each an exact range:
	 * through referral_events_figures every one read all of the period's state events
	 * (5 counts of a month on make bench-scale's year: 29 -> 7 ms). Only state events,
	 * a rep's or an operator's move: nothing a webhook burst writes. */
	("CREATE INDEX referral_events_states ON referral_events(type, reason, at, branch, "
	 "rep_code, campaign, referral_id, channel, referrer_id) WHERE type = 'state';"),

	/* 25 the reward figures (pending, approved, issued, voided) each two exact ranges,
	 * one per side (reason 'issued:referrer', ...): through referral_events_figures
	 * each read all of the period's reward events (a month's totals on make
	 * bench-scale's year: 4 x 4.5 -> 4 x 1 ms). Reward events come from the reward
	 * tick and operators, never from a webhook burst. */
	("CREATE INDEX referral_events_rewards ON referral_events(type, reason, at, branch, "
	 "rep_code, campaign, referral_id, channel, referrer_id) WHERE type = 'reward';"),

	/* 26 the CHECKs of the states the webhook path writes, as ORs instead of IN lists:
	 * SQLite evaluated each IN list of three or more values through a temporary b-tree
	 * built for every row written (a 4 KiB page zeroed twice, allocated and freed),
	 * about ten times per event: 9 % of shokaid's instructions in make bench-instr.
	 * The same constraints, so every row still satisfies them, changed in place by
	 * SQLite's own procedure for a CHECK (lang_altertable.html, writable_schema): a
	 * table copy would rewrite a year's inbox at the first start. RESET makes this
	 * connection read the schema again; the CREATE and DROP move schema_version, so
	 * every other connection reads it again too. */
	("PRAGMA writable_schema = ON;"
	 "UPDATE sqlite_schema SET sql = replace(sql, "
	 "  'state IN (''pending'', ''done'', ''failed'', ''skipped'')', "
	 "  'state = ''pending'' OR state = ''done'' OR state = ''failed'' OR "
	 "state = ''skipped''') WHERE type = 'table' AND name = 'inbox';"
	 "UPDATE sqlite_schema SET sql = replace(sql, "
	 "  'state IN (''pending'', ''sent'', ''failed'', ''unknown'')', "
	 "  'state = ''pending'' OR state = ''sent'' OR state = ''failed'' OR "
	 "state = ''unknown''') WHERE type = 'table' AND name = 'outbox';"
	 "UPDATE sqlite_schema SET sql = replace(sql, "
	 "  'state IN (''open'', ''resolved'', ''expired'')', "
	 "  'state = ''open'' OR state = ''resolved'' OR state = ''expired''') "
	 "  WHERE type = 'table' AND name = 'handoffs';"
	 "UPDATE sqlite_schema SET sql = replace(sql, "
	 "  'state IN (''asked'', ''yes'', ''no'', ''typed'', ''decided'')', "
	 "  'state = ''asked'' OR state = ''yes'' OR state = ''no'' OR state = ''typed'' OR "
	 "state = ''decided''') WHERE type = 'table' AND name = 'referrer_asks';"
	 "PRAGMA writable_schema = RESET;"
	 "CREATE TABLE schema_26_bump (x);"
	 "DROP TABLE schema_26_bump;"),

	/* 27 two readers of the whole outbox (a million rows on make bench-scale's year),
	 * indexed where a message is written once at most, never on the path every message
	 * takes twice. Retention's sent messages, oldest first: each hourly round (and each
	 * start) walked the outbox from its first row to find the sent ones past
	 * outbox_sent, and when none were, one statement read every row, most of a second
	 * with the storage thread held (the webhooks' commits waiting); a message joins
	 * outbox_sent once, when it is sent, at its end. And /metrics, which counted the
	 * outbox by platform and state by reading every row (0.8 s of a core per scrape):
	 * it counts sent messages from outbox_sent (platform is in it), pending ones from
	 * outbox_due, failed and unknown ones from outbox_stuck (rows that went wrong) and
	 * the few with a dedupe key through its own index (store_metrics.c). An index of
	 * every row by platform and state did the same from one index, but each message
	 * wrote it three times: 5 % more instructions per webhook in make bench-instr. */
	("CREATE INDEX outbox_sent ON outbox(coalesce(sent_at, created_at), platform) WHERE "
	 "state = 'sent' AND dedupe_key IS NULL;"
	 "CREATE INDEX outbox_stuck ON outbox(platform, state) WHERE state = 'failed' OR "
	 "state = 'unknown';"),

	/* 28 the due query asks for pending rows not being tried; outbox_due held the
	 * platform and the time only, so every row in flight (marked trying, waiting for
	 * its WAL sync or its answer: tens under load) was read from the table and passed
	 * over at each query, about 35 k instructions a query, once per batch of sends
	 * (make bench-instr). With trying in the index the query reads only what it
	 * returns; a row's mark now moves its index entry, once each way. A start reads the
	 * rows it must recover (trying = 1) from the same index. */
	("DROP INDEX outbox_due;"
	 "CREATE INDEX outbox_due ON outbox(platform, trying, next_attempt_at) WHERE "
	 "state = 'pending';"),
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Each migration and its version bump commit together, or not at all. */
int
store_schema_migrate(sqlite3 *db, char *why, size_t whylen)
{
	int version;

	if (user_version(db, &version) == -1) {
		snprintf(why, whylen, "cannot read schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (version > SCHEMA_VERSION) {
		snprintf(why, whylen, "database schema version %d is newer than this shokaid (%d)",
		    version, SCHEMA_VERSION);
		return -1;
	}
	for (; version < SCHEMA_VERSION; version++) {
		char *bump = xasprintf("PRAGMA user_version = %d", version + 1);
		int rc = 0;

		if (store_exec(db, "BEGIN IMMEDIATE", why, whylen) == -1)
			rc = -1;
		else if (store_exec(db, migrations[version], why, whylen) == -1 ||
		    store_exec(db, bump, why, whylen) == -1 ||
		    store_exec(db, "COMMIT", why, whylen) == -1) {
			char ignored[WHY_MAX];

			store_exec(db, "ROLLBACK", ignored, sizeof(ignored));
			rc = -1;
		}
		free(bump);
		if (rc == -1)
			return -1;
		log_notice("msg=\"database migrated\" version=%d", version + 1);
	}
	return 0;
}

int
store_schema_latest(void)
{
	return SCHEMA_VERSION;
}
