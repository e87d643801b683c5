#!/usr/bin/env python3
"""Fill a shokai database with a year of one LINE channel's referral business, for
`make bench-scale` (tests/bench/scale.sh).

    scale_gen.py --db build/bench-scale/scale.db --config-dir build/bench-scale/cfg \
        [--customers 1000000] [--events 5000000] [--inbox 2000000] [--outbox 1000000]

The database must already carry shokaid's schema (scale.sh opens it once with shokaictl,
which runs the migrations of daemon/store/store_schema.c); the generator only inserts
rows. It also writes --config-dir/referral.yaml: the example config's branches and reps
(shinjuku, yokohama; R001, R012, Y003) and more of them (6 branches, 48 reps), and five
three-month campaigns, the first starting on the first of the month 14 months ago
(Asia/Tokyo), the last one running today, so the data fits the config on any day. The
data covers the twelve months from the first of the month a year ago to a minute ago.

What it makes (channel `main`; N = --customers):
  users, customers   N people; first seen over the last 15 months, 5 % blocked the
                     account; each has a rep (from a link, an import, or the referrer's)
  referral_codes     0.4 N: one per referring customer, issued in the campaign running
                     then
  referrals          0.25 N, every referee a different customer: held, claimed,
                     contacted, meeting, won, lost, suspicious, rejected
  referral_events    exactly --events, time-ordered (rowid follows `at`, as in a real
                     database): issued, claimed, held, state (each step of a referral's
                     path, by its rep or an operator), reward (pending, approved, issued,
                     voided per side of won referrals), rejected (every claim rule's
                     reason), and clicked for the rest
  rewards, coupons   two per won referral (referrer quo-1000, referee gift-500), coupons
                     for the issued ones and 50,000 free codes
  inbox              --inbox webhook events of the last 29 days: done (95 %), skipped
                     (4 %), failed (1 %); none pending (the daemon would dispatch them at
                     start)
  outbox             --outbox sent replies and pushes of the last 179 days

Rows the daemon's retention deletes (the defaults: handled inbox rows after 30 days,
sent messages after 180, a click's client hash after 30) are as a running daemon leaves
them: within those periods. A year of them would be a backlog the first hours after a
start spend deleting (about 5 % of a core on this VM), not the steady state the
benchmark measures.

The bulk is SQL (recursive CTEs, INSERT ... SELECT); Python only computes the referral
codes' check character (about 2 µs a code). About 1-2 minutes for the defaults on a
2-core VM, 2-3 GB of database.
"""

import argparse
import datetime
import os
import sqlite3
import sys
import time
import zoneinfo

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DAY = 86400000
TZ = zoneinfo.ZoneInfo("Asia/Tokyo")

BRANCHES = [
    ("shinjuku", "新宿支店"), ("yokohama", "横浜支店"), ("shibuya", "渋谷支店"),
    ("ikebukuro", "池袋支店"), ("omiya", "大宮支店"), ("chiba", "千葉支店"),
]
REPS_PER_BRANCH = 8
FAMILY = ["高橋", "佐藤", "伊藤", "鈴木", "田中", "渡辺", "山本", "中村", "小林", "加藤",
          "吉田", "山田"]
GIVEN = ["美咲", "健", "由紀", "翔太", "陽菜", "大輔", "結衣", "拓也", "彩", "直樹", "愛",
         "誠"]
REJECT_REASONS = [  # (reason, weight %, has a found code)
    ("already_referred", 30, True), ("self_referral", 8, True),
    ("existing_friend", 20, True), ("referrer_cap", 4, True),
    ("mutual_referral", 3, True), ("re_added_after_block", 5, True),
    ("campaign_closed", 10, True), ("unknown_code", 17, False),
    ("too_many_wrong_codes", 3, False),
]


def refcode(n):
    """The referral code for 40 bits n, as daemon/model/refcode.c makes them."""
    v = [(n >> (5 * (7 - i))) & 31 for i in range(8)]
    s, factor = 0, 2
    for i in range(7, -1, -1):
        a = factor * v[i]
        factor = 1 if factor == 2 else 2
        s += a // 32 + a % 32
    return "".join(ALPHABET[d] for d in v) + ALPHABET[(32 - s % 32) % 32]


def code_for(k):
    # an odd multiplier is a bijection mod 2**40: distinct k, distinct codes
    return refcode((k * 0x9E3779B97F + 0x5DEECE66D) & ((1 << 40) - 1))


def reps():
    out = []
    for b, (bcode, _) in enumerate(BRANCHES):
        for j in range(REPS_PER_BRANCH):
            if (b, j) == (0, 0):
                code = "R001"
            elif (b, j) == (0, 1):
                code = "R012"
            elif (b, j) == (1, 0):
                code = "Y003"
            else:
                code = "%s%03d" % ("RYSIOC"[b], 100 + j)
            name = "%s %s" % (FAMILY[(b * 5 + j) % len(FAMILY)], GIVEN[(b + j * 7) % len(GIVEN)])
            out.append((code, name, bcode))
    return out


def month_start(now_ms, back):
    """Unix ms of the first of the month `back` months before now_ms's, Asia/Tokyo."""
    now = datetime.datetime.fromtimestamp(now_ms / 1000, TZ)
    y, m = now.year, now.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return int(datetime.datetime(y, m, 1, tzinfo=TZ).timestamp() * 1000)


def campaigns(now_ms):
    """Five three-month campaigns, the first from the first of the month 14 months ago:
    the one running today started 2 months ago at most, so it has codes on any day."""
    now = datetime.datetime.fromtimestamp(now_ms / 1000, TZ)
    y, m = now.year, now.month - 14
    while m < 1:
        y, m = y - 1, m + 12
    out = []
    for _ in range(5):
        start = datetime.date(y, m, 1)
        m2, y2 = m + 3, y
        while m2 > 12:
            y2, m2 = y2 + 1, m2 - 12
        end = datetime.date(y2, m2, 1) - datetime.timedelta(days=1)
        s_ms = int(datetime.datetime(start.year, start.month, 1, tzinfo=TZ).timestamp() * 1000)
        e_ms = int(datetime.datetime(y2, m2, 1, tzinfo=TZ).timestamp() * 1000) - 1
        out.append(("c%04d-%02d" % (start.year, start.month), start.isoformat(),
                    end.isoformat(), s_ms, e_ms))
        y, m = y2, m2
    return out


def write_config(path, reps_, camps):
    lines = ["# referral.yaml for make bench-scale, written by tests/bench/scale_gen.py.",
             "branches:"]
    for code, name in BRANCHES:
        lines.append("  - {code: %s, name: %s, contact_url: https://example.co.jp/branch/%s}"
                     % (code, name, code))
        if code == "shinjuku":
            lines[-1] = lines[-1][:-1] + ", managers: [R001]}"
    lines.append("reps:")
    for code, name, branch in reps_:
        lines.append("  - {code: %s, name: \"%s\", branch: %s, lineworks_user_id: %s@example.co.jp,"
                     " contact_url: https://works.do/%s}" % (code, name, branch, code.lower(), code))
    lines += ["referral:",
              "  notify_bot: sales",
              "  sender_name_fallback: お客様",
              "  contact_url: https://example.co.jp/contact",
              "  invite_rate_per_min: 30",
              "campaigns:"]
    for cid, start, end, _, _ in camps:
        lines += ["  - id: %s" % cid,
                  "    name: ご紹介キャンペーン %s" % start[:7],
                  "    starts: %s" % start,
                  "    ends: %s" % end,
                  "    rules:",
                  "      attribution: first_touch",
                  "      exclude_existing_friends: true",
                  "      max_claims_per_referrer: { count: 10, per: month }",
                  "      velocity: { claims: 5, within: 10m, then: review }",
                  "      show_friend_name_to_referrer: false",
                  "    reward:",
                  "      due_on: won",
                  "      approval: manual",
                  "      hold: 14d",
                  "      referrer: { pool: quo-1000, message: reward_referrer }",
                  "      referee: { pool: gift-500, message: reward_referee }"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def seq(n):
    return ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "
            % n)


def rnd(n):
    return "(abs(random()) %% %d)" % max(int(n), 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--config-dir", required=True, help="where referral.yaml is written")
    ap.add_argument("--customers", type=int, default=1000000)
    ap.add_argument("--events", type=int, default=5000000)
    ap.add_argument("--inbox", type=int, default=2000000)
    ap.add_argument("--outbox", type=int, default=1000000)
    ap.add_argument("--now-ms", type=int, default=None)
    ap.add_argument("--config-only", action="store_true",
                    help="only write referral.yaml (the schema needs the config first)")
    a = ap.parse_args(argv)

    now = a.now_ms or int(time.time() * 1000)
    camps = campaigns(now)
    reps_ = reps()
    write_config(os.path.join(a.config_dir, "referral.yaml"), reps_, camps)
    if a.config_only:
        return 0

    N, E = a.customers, a.events
    C, R = N * 2 // 5, N // 4
    END = now - 60000                       # everything generated is at least a minute old
    START = month_start(now, 12)
    SPAN = END - START
    # what retention keeps (store_retention.c, config_upkeep.c's defaults), a day less
    INBOX_START, OUTBOX_START, CLICK_HASH_FROM = END - 29 * DAY, END - 179 * DAY, END - 29 * DAY

    def pick_code(at):
        """SQL: a code issued before time `at`: half of the time one of the last 30 days'
        (friends answer soon after an invite), else any (old codes keep being used)."""
        kmax = "max(1, min(%d, (%s - %d) * %d / %d + 1))" % (C, at, START, C, SPAN)
        recent = max(1, C * 30 * DAY // SPAN)
        return ("CASE WHEN abs(random()) %% 2 = 0 THEN %s - abs(random()) %% min(%s, %d) "
                "ELSE 1 + abs(random()) %% %s END" % (kmax, kmax, recent, kmax))

    db = sqlite3.connect(a.db, isolation_level=None)
    db.create_function("refcode", 1, code_for, deterministic=True)
    ex = db.execute
    for p in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -2000000",
              "temp_store = MEMORY", "locking_mode = EXCLUSIVE"):
        ex("PRAGMA " + p)
    (have,) = ex("SELECT count(*) FROM customers").fetchone()
    if have:
        sys.exit("scale_gen: %s already has customers: start from a new database" % a.db)
    t0 = time.time()

    def step(what, *sql):
        t = time.time()
        for s in sql:
            ex(s)
        print("  %-44s %6.1f s" % (what, time.time() - t), flush=True)

    # campaign of a time: CASE over the campaigns' starts
    camp_case = "CASE " + " ".join("WHEN %%(at)s <= %d THEN '%s'" % (c[4], c[0])
                                   for c in camps) + " END"
    camp_end = "CASE " + " ".join("WHEN %%(at)s <= %d THEN %d" % (c[4], c[4])
                                  for c in camps) + " END"

    ex("BEGIN")
    ex("CREATE TEMP TABLE reps(idx INTEGER PRIMARY KEY, code TEXT, branch TEXT)")
    ex("INSERT INTO reps VALUES " + ",".join("(%d,'%s','%s')" % (i, r[0], r[2])
                                             for i, r in enumerate(reps_)))
    NR = len(reps_)
    step("people (temporary)",
         "CREATE TEMP TABLE cust(i INTEGER PRIMARY KEY, uid TEXT, rep INTEGER, "
         "first_seen INTEGER, src TEXT)",
         seq(N) + "INSERT INTO cust SELECT i, printf('U%%016x%%016x', random(), random()), "
         "%s, %d + %s, CASE WHEN %s < 1 THEN 'rep_link' ELSE 'import' END FROM s"
         % (rnd(NR), START - 90 * DAY, rnd(SPAN + 90 * DAY), rnd(2)))
    # codes: customer k (1..C) refers; code k is issued at START + (k - 1) * SPAN / C (so
    # the codes issued by time t are 1..kmax(t)), the customer first seen before that
    step("referral codes",
         "CREATE TEMP TABLE codes(k INTEGER PRIMARY KEY, code TEXT, owner INTEGER, "
         "issued_at INTEGER, campaign TEXT, camp_end INTEGER)",
         "INSERT INTO codes(k, code, owner, issued_at) SELECT i, refcode(i), i, "
         "%d + (i - 1) * %d / %d FROM cust WHERE i <= %d" % (START, SPAN, C, C),
         "UPDATE cust SET first_seen = min(first_seen, (SELECT issued_at FROM codes WHERE "
         "k = cust.i) - 600000 - abs(random()) %% (60 * %d)) WHERE i <= %d" % (DAY, C),
         "UPDATE codes SET campaign = %s, camp_end = %s"
         % (camp_case % {"at": "issued_at"}, camp_end % {"at": "issued_at"}),
         "INSERT INTO referral_codes(code, channel, user_id, campaign, issued_at) "
         "SELECT code, 'main', uid, campaign, issued_at FROM codes JOIN cust ON i = owner")
    # the path of each final state: (state, step, the state reached, who moved it)
    ex("CREATE TEMP TABLE path(state TEXT, step INTEGER, reached TEXT, actor TEXT)")
    ex("INSERT INTO path VALUES ('contacted',1,'contacted','rep'),('meeting',1,'contacted','rep'),"
       "('meeting',2,'meeting','rep'),('won',1,'contacted','rep'),('won',2,'meeting','rep'),"
       "('won',3,'won','rep'),('lost',1,'contacted','rep'),('lost',2,'lost','rep'),"
       "('suspicious',1,'suspicious','rep'),('rejected',1,'rejected','operator')")
    # referrals: referee N - r + 1 (never a referrer), claimed uniformly over the window
    # with a code issued before
    states = ("CASE WHEN u < 2 THEN 'held' WHEN u < 4 THEN 'rejected' WHEN u < 5 THEN "
              "'suspicious' WHEN u < 15 THEN 'claimed' WHEN u < 25 THEN 'contacted' "
              "WHEN u < 35 THEN 'meeting' WHEN u < 65 THEN 'won' ELSE 'lost' END")
    step("referrals",
         "CREATE TEMP TABLE ref(r INTEGER PRIMARY KEY, k INTEGER, referee INTEGER, "
         "state TEXT, claimed_at INTEGER, gap INTEGER, u INTEGER)",
         seq(R) + "INSERT INTO ref SELECT i, NULL, %d - i + 1, NULL, %d + (i - 1) * %d / %d "
         "+ %s, 3600000 + %s, %s FROM s" % (N, START, SPAN, R, rnd(SPAN // R), rnd(4 * DAY),
                                           rnd(100)),
         "UPDATE ref SET k = " + pick_code("claimed_at"),
         "UPDATE ref SET state = " + states,
         # a referral whose next steps would come after END has not got there yet
         "UPDATE ref SET state = coalesce((SELECT reached FROM path WHERE path.state = "
         "ref.state AND path.step = (%d - ref.claimed_at) / ref.gap), CASE ref.state "
         "WHEN 'rejected' THEN 'held' ELSE 'claimed' END) WHERE ref.state NOT IN ('held', "
         "'claimed') AND ref.claimed_at + ref.gap * (SELECT max(step) FROM path WHERE "
         "path.state = ref.state) > %d" % (END, END),
         # a referee is first seen just before the claim and gets the referrer's rep
         "UPDATE cust SET first_seen = ref.claimed_at - 60000 - abs(random()) % 600000, "
         "src = 'referral', rep = (SELECT c2.rep FROM codes JOIN cust c2 ON c2.i = "
         "codes.owner WHERE codes.k = ref.k) FROM ref WHERE cust.i = ref.referee")
    step("referrals table",
         "INSERT INTO referrals(id, channel, campaign, code, referrer_id, referee_id, "
         "rep_code, state, claimed_at, updated_at) SELECT r, 'main', codes.campaign, "
         "codes.code, o.uid, e.uid, reps.code, ref.state, ref.claimed_at, "
         "min(%d, ref.claimed_at + ref.gap * coalesce((SELECT max(step) FROM path WHERE "
         "path.state = ref.state), 0)) FROM ref JOIN codes ON codes.k = ref.k "
         "JOIN cust o ON o.i = codes.owner JOIN cust e ON e.i = ref.referee "
         "JOIN reps ON reps.idx = o.rep ORDER BY r" % END)
    step("users, customers",
         "INSERT INTO users(channel, user_id, first_seen_at, followed_at, unfollowed_at, "
         "follows, is_friend) SELECT 'main', uid, first_seen, first_seen, "
         "CASE WHEN i % 20 = 7 THEN first_seen + (" + str(END) + " - first_seen) / 2 END, "
         "1, i % 20 != 7 FROM cust ORDER BY uid",
         "INSERT INTO customers(channel, user_id, rep_code, rep_source, assigned_at) "
         "SELECT 'main', uid, reps.code, src, first_seen + 5000 FROM cust JOIN reps "
         "ON reps.idx = cust.rep ORDER BY uid")

    # ---- referral events, into a temporary table first, then in time order
    ex("CREATE TEMP TABLE ev(at INTEGER, type TEXT, campaign TEXT, code TEXT, "
       "referral_id INTEGER, referrer_id TEXT, referee_id TEXT, rep_code TEXT, branch TEXT, "
       "reason TEXT, actor TEXT, client_hash TEXT)")
    # who refers with code k: uid, rep and branch
    ex("CREATE TEMP TABLE owner(k INTEGER PRIMARY KEY, code TEXT, campaign TEXT, "
       "issued_at INTEGER, uid TEXT, rep TEXT, branch TEXT)")
    ex("INSERT INTO owner SELECT codes.k, codes.code, codes.campaign, codes.issued_at, "
       "cust.uid, reps.code, reps.branch FROM codes JOIN cust ON cust.i = codes.owner "
       "JOIN reps ON reps.idx = cust.rep")
    step("events: issued, claimed, held",
         "INSERT INTO ev SELECT issued_at, 'issued', campaign, code, NULL, uid, NULL, rep, "
         "branch, NULL, 'customer', NULL FROM owner",
         "INSERT INTO ev SELECT ref.claimed_at, CASE WHEN ref.state IN ('held', 'rejected') "
         "THEN 'held' ELSE 'claimed' END, o.campaign, o.code, ref.r, o.uid, e.uid, o.rep, "
         "o.branch, CASE WHEN ref.state IN ('held', 'rejected') THEN 'velocity' END, "
         "'friend', NULL FROM ref JOIN owner o ON o.k = ref.k JOIN cust e ON e.i = ref.referee")
    step("events: state",
         "INSERT INTO ev SELECT ref.claimed_at + ref.gap * path.step, 'state', "
         "o.campaign, o.code, ref.r, o.uid, e.uid, o.rep, o.branch, path.reached, "
         "CASE path.actor WHEN 'rep' THEN 'rep:' || o.rep ELSE 'operator' END, NULL "
         "FROM ref JOIN path ON path.state = ref.state JOIN owner o ON o.k = ref.k "
         "JOIN cust e ON e.i = ref.referee WHERE ref.claimed_at + ref.gap * path.step <= "
         "%d" % END)
    # rewards: due when won; approved after the 14-day hold (an operator), then issued;
    # 5 % voided instead
    won_at = "(ref.claimed_at + ref.gap * 3)"
    step("rewards, coupons, reward events",
         "CREATE TEMP TABLE rw(id INTEGER PRIMARY KEY, r INTEGER, side TEXT, uid TEXT, "
         "campaign TEXT, pool TEXT, due INTEGER, state TEXT, rep TEXT, branch TEXT, "
         "referrer TEXT, referee TEXT, code TEXT)",
         "INSERT INTO rw(r, side, uid, campaign, pool, due, state, rep, branch, referrer, "
         "referee, code) SELECT ref.r, sd.side, CASE sd.side WHEN 'referrer' THEN o.uid "
         "ELSE e.uid END, o.campaign, sd.pool, %s, CASE WHEN ref.r %% 20 = 3 AND %s + 2 * %d "
         "<= %d THEN 'voided' "
         "WHEN %s + 14 * %d + 3600000 > %d THEN 'pending' ELSE 'issued' END, o.rep, "
         "o.branch, o.uid, e.uid, o.code FROM ref JOIN owner o ON o.k = ref.k "
         "JOIN cust e ON e.i = ref.referee JOIN (SELECT 'referrer' AS side, 'quo-1000' AS "
         "pool UNION ALL SELECT 'referee', 'gift-500') sd WHERE ref.state = 'won' "
         "ORDER BY ref.r, sd.side DESC" % (won_at, won_at, DAY, END, won_at, DAY, END),
         "INSERT INTO rewards(id, referral_id, side, user_id, campaign, pool, state, due_at, "
         "approve_after, coupon_code, issued_at, note) SELECT id, r, side, uid, campaign, "
         "pool, state, due, due + 14 * %d, CASE state WHEN 'issued' THEN printf('%%s-%%08d', "
         "pool, id) END, CASE state WHEN 'issued' THEN due + 14 * %d + 60000 END, "
         "CASE state WHEN 'voided' THEN 'cancelled contract' END FROM rw" % (DAY, DAY),
         "INSERT INTO coupons(pool, code, reward_id, imported_at) SELECT pool, "
         "printf('%%s-%%08d', pool, id), id, %d FROM rw WHERE state = 'issued'" % START,
         seq(50000) + "INSERT INTO coupons(pool, code, reward_id, imported_at) SELECT "
         "CASE i %% 2 WHEN 0 THEN 'quo-1000' ELSE 'gift-500' END, printf('FREE-%%08d', i), "
         "NULL, %d FROM s" % (END - 7 * DAY),
         "INSERT INTO ev SELECT due, 'reward', campaign, code, r, referrer, referee, rep, "
         "branch, 'pending:' || side, 'system', NULL FROM rw",
         "INSERT INTO ev SELECT due + 14 * %d, 'reward', campaign, NULL, r, referrer, referee, "
         "rep, branch, 'approved:' || side, 'operator', NULL FROM rw WHERE state = 'issued'"
         % DAY,
         "INSERT INTO ev SELECT due + 14 * %d + 60000, 'reward', campaign, NULL, r, referrer, "
         "referee, rep, branch, 'issued:' || side, 'system', NULL FROM rw "
         "WHERE state = 'issued'" % DAY,
         "INSERT INTO ev SELECT due + 2 * %d, 'reward', campaign, NULL, r, referrer, "
         "referee, rep, branch, 'voided:' || side, 'operator', NULL FROM rw "
         "WHERE state = 'voided'" % DAY)
    # rejected claims: 6 % of the events, each claim rule's reason
    nrej = E * 6 // 100
    ex("CREATE TEMP TABLE reasons(lo INTEGER, hi INTEGER, reason TEXT, found INTEGER)")
    lo = 0
    for reason, w, found in REJECT_REASONS:
        ex("INSERT INTO reasons VALUES (?, ?, ?, ?)", (lo, lo + w, reason, int(found)))
        lo += w
    step("events: rejected",
         "CREATE TEMP TABLE rj(i INTEGER PRIMARY KEY, k INTEGER, who INTEGER, u INTEGER, "
         "at INTEGER)",
         seq(nrej) + "INSERT INTO rj SELECT i, NULL, 1 + %s, %s, %d + %s FROM s"
         % (rnd(N), rnd(lo), START, rnd(SPAN)),
         "UPDATE rj SET k = " + pick_code("at"),
         "INSERT INTO ev SELECT rj.at, 'rejected', CASE WHEN x.found THEN o.campaign END, "
         "CASE WHEN x.found THEN o.code ELSE refcode(%d + rj.i) END, NULL, "
         "CASE WHEN x.found THEN o.uid END, e.uid, CASE WHEN x.found THEN o.rep END, "
         "CASE WHEN x.found THEN o.branch END, x.reason, 'system', NULL FROM rj "
         "JOIN reasons x ON rj.u >= x.lo AND rj.u < x.hi JOIN owner o ON o.k = rj.k "
         "JOIN cust e ON e.i = rj.who" % (C + 1000))
    # clicks: the rest, each within 60 days of its code's issue
    (have,) = ex("SELECT count(*) FROM ev").fetchone()
    nclk = E - have
    if nclk < 0:
        sys.exit("scale_gen: --events %d is too few for %d customers" % (E, N))
    step("events: clicked (%d)" % nclk,
         "CREATE TEMP TABLE ck(i INTEGER PRIMARY KEY, k INTEGER, at INTEGER)",
         seq(nclk) + "INSERT INTO ck SELECT i, NULL, %d + %s FROM s" % (START, rnd(SPAN)),
         "UPDATE ck SET k = " + pick_code("at"),
         "INSERT INTO ev SELECT ck.at, 'clicked', o.campaign, o.code, NULL, o.uid, NULL, "
         # a client's salted hash: mostly a new client, every 8th click the code's own
         # one again (a friend who opens the link twice; counted once a day). The
         # string is not %-formatted: one % each.
         "o.rep, o.branch, NULL, 'friend', CASE WHEN ck.at < " + str(CLICK_HASH_FROM) +
         " THEN NULL WHEN ck.i % 8 = 0 THEN "
         "printf('%016x', ck.k) ELSE printf('%016x', random()) END FROM ck JOIN owner o "
         "ON o.k = ck.k")
    step("referral_events in time order",
         "INSERT INTO referral_events(at, type, channel, campaign, code, referral_id, "
         "referrer_id, referee_id, rep_code, branch, reason, actor, client_hash) "
         "SELECT at, type, 'main', campaign, code, referral_id, referrer_id, referee_id, "
         "rep_code, branch, reason, actor, client_hash FROM ev ORDER BY at",
         "DROP TABLE ev")

    # ---- inbox: received in time order; mostly text messages
    M = a.inbox
    texts = ["こんにちは", "料金を知りたい", "営業時間は何時までですか", "ありがとうございました🙏",
             "明日の15時に伺います。よろしくお願いします。", "資料を送ってください",
             "担当者と話したいです", "紹介状況"]
    text_case = "CASE u %% %d " % len(texts) + " ".join(
        "WHEN %d THEN '%s'" % (i, t) for i, t in enumerate(texts)) + " END"
    step("inbox",
         "CREATE TEMP TABLE ib(i INTEGER PRIMARY KEY, who INTEGER, u INTEGER)",
         seq(M) + "INSERT INTO ib SELECT i, 1 + %s, %s FROM s" % (rnd(N), rnd(1000)),
         "INSERT INTO inbox(platform, channel, event_key, event_index, type, known, mode, "
         "redelivery, source_type, user_id, reply_token, ts, message_id, message_type, text, "
         "postback_data, state, attempts, error, received_at, processed_at) "
         "SELECT 'line', 'main', "
         # a ULID-like webhookEventId: time first, so ids sort (and index) in time order
         "printf('01%%013X%%011X', %d + ib.i * %d / %d, ib.i), 0, "
         "CASE WHEN u < 800 THEN 'message' WHEN u < 900 THEN 'follow' WHEN u < 970 "
         "THEN 'postback' ELSE 'unfollow' END, 1, 'active', 0, 'user', cust.uid, "
         "CASE WHEN u < 970 THEN printf('%%016x%%016x', random(), random()) END, "
         "%d + ib.i * %d / %d, CASE WHEN u < 800 THEN printf('%%d', 500000000000000000 + "
         "ib.i) END, CASE WHEN u < 800 THEN 'text' END, CASE WHEN u < 800 THEN %s END, "
         "CASE WHEN u >= 900 AND u < 970 THEN 'action=refer' END, "
         "CASE WHEN u %% 100 < 95 THEN 'done' WHEN u %% 100 < 99 THEN 'skipped' "
         "ELSE 'failed' END, CASE WHEN u %% 100 = 99 THEN 3 ELSE 1 END, "
         "CASE WHEN u %% 100 = 99 THEN 'cannot record the claim' END, "
         "%d + ib.i * %d / %d, %d + ib.i * %d / %d + 3 + u %% 40 "
         "FROM ib JOIN cust ON cust.i = ib.who ORDER BY ib.i"
         % (INBOX_START, END - INBOX_START, M, INBOX_START, END - INBOX_START, M, text_case,
            INBOX_START, END - INBOX_START, M, INBOX_START, END - INBOX_START, M))

    # ---- outbox: sent replies and pushes
    O = a.outbox
    step("outbox",
         "CREATE TEMP TABLE ob(i INTEGER PRIMARY KEY, who INTEGER, u INTEGER)",
         seq(O) + "INSERT INTO ob SELECT i, 1 + %s, %s FROM s" % (rnd(N), rnd(100)),
         "INSERT INTO outbox(platform, channel, kind, target, body, retry_key, dedupe_key, "
         "state, attempts, next_attempt_at, created_at, sent_at, last_status) "
         "SELECT 'line', 'main', CASE WHEN u < 70 THEN 'reply' ELSE 'push' END, cust.uid, "
         "'{\"to\":\"' || cust.uid || '\",\"messages\":[{\"type\":\"text\",\"text\":\"' || "
         "CASE WHEN u < 70 THEN 'お問い合わせありがとうございます。担当者よりご連絡いたします。' "
         "ELSE 'ご紹介ありがとうございます！' END || '\"}]}', "
         "printf('%%08x-%%04x-4%%03x-%%04x-%%012x', abs(random()) %% 4294967296, "
         "abs(random()) %% 65536, abs(random()) %% 4096, 32768 + abs(random()) %% 16384, "
         "abs(random()) %% 281474976710656), NULL, 'sent', 1, %d + ob.i * %d / %d, "
         "%d + ob.i * %d / %d, %d + ob.i * %d / %d + 150, 200 FROM ob JOIN cust ON "
         "cust.i = ob.who ORDER BY ob.i" % ((OUTBOX_START, END - OUTBOX_START, O) * 3))
    step("commit", "COMMIT")
    ex("PRAGMA journal_mode = WAL")
    counts = {t: ex("SELECT count(*) FROM %s" % t).fetchone()[0] for t in (
        "customers", "users", "referral_codes", "referrals", "referral_events", "rewards",
        "coupons", "inbox", "outbox")}
    print("scale_gen: %s in %.0f s: %s; %.0f MiB" % (
        a.db, time.time() - t0, ", ".join("%s %d" % kv for kv in counts.items()),
        os.path.getsize(a.db) / 1048576), flush=True)
    for state, n in ex("SELECT state, count(*) FROM referrals GROUP BY 1 ORDER BY 1"):
        print("  referrals %-10s %8d" % (state, n))
    for typ, n in ex("SELECT type, count(*) FROM referral_events GROUP BY 1 ORDER BY 1"):
        print("  events    %-10s %8d" % (typ, n))
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
