"""t_announce.py: announcements (issue 13, part 4) through the simulator: a segment of
1,200 friends goes out in 3 multicast calls of at most 500, each with its own retry key;
a kill -9 mid-send (and one between writing the chunks and their commit) messages no one
twice; blocked friends are skipped and counted; a quota too small refuses the send with
the numbers, in shokaictl and in the daemon; the results count what followed (an invite,
a click, a claim by a recipient's code)."""
import datetime
import http.cookiejar
import json
import os
import re
import subprocess
import time
import urllib.request
import zoneinfo

from harness import REPO, USER, expect, line_event, wait_until
from sim import Sim, chat_daemon, config_for, contract_check, ctl, ctl_run, send, wait_replies

TODAY = datetime.date.today()
FRIEND = "U" + "f" * 32

ANNOUNCE = f"""
company_name: 株式会社テスト
messages:
  announce: "{{company_name}}のご紹介キャンペーンが始まりました。"
  invite: "{{sender_name}}さんから{{company_name}}のご紹介です。紹介コード{{code}} {{invite_url}}"
  invite_preview:
    - text: ご紹介ありがとうございます。
    - template:
        type: buttons
        text: 紹介メッセージを送る
        actions:
          - {{ type: uri, label: 友だちに送る, uri: "{{share_url}}" }}
postbacks:
  refer: referral.invite
branches:
  - {{ code: shinjuku, name: 新宿支店 }}
  - {{ code: yokohama, name: 横浜支店 }}
reps:
  - {{ code: R001, name: 高橋 美咲, branch: shinjuku }}
  - {{ code: Y003, name: 佐藤 健, branch: yokohama }}
campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
announcements:
  - id: campaign
    title: ご紹介キャンペーンのお知らせ
    message: announce
  - id: branch-only
    title: 支店のお知らせ
    message: announce
    segments: [branch]
"""


def uid(i):
    return "U%032x" % (0xa000 + i)


def add_people(d, friends=1200, blocked=30, rep=None, start=0):
    """friends who follow the account, and blocked people who left it (rows as the
    webhook path writes them)."""
    con = d.db()
    now = int(time.time() * 1000) - 86400000
    for i in range(start, start + friends + blocked):
        con.execute("INSERT INTO users(channel, user_id, first_seen_at, followed_at, "
                    "follows, is_friend) VALUES ('main', ?, ?, ?, 1, ?)",
                    (uid(i), now, now, 1 if i < start + friends else 0))
        if rep:
            con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, "
                        "assigned_at) VALUES ('main', ?, ?, 'import', ?)", (uid(i), rep, now))
    con.commit()


def multicasts(sim):
    return sim.requests("/v2/bot/message/multicast")


def state(d, n=1):
    return d.query("SELECT state FROM announcements WHERE id = ?", (n,))[0][0]


def check_once_each(sim, expected):
    """Every accepted multicast's people, each exactly once, in calls of at most 500,
    each call's retry key delivered once."""
    calls = multicasts(sim)
    ok = [c for c in calls if c["status"] == 200]
    keys = [c["headers"].get("x-line-retry-key") for c in ok]
    expect(len(ok) == 3 and len(set(keys)) == 3 and all(keys), [(c["status"], c["headers"].get(
        "x-line-retry-key")) for c in calls])
    # Every try of a chunk carried the chunk's key: a retry is answered 409.
    expect(all(c["status"] in (200, 409) for c in calls), [c["status"] for c in calls])
    expect({c["headers"].get("x-line-retry-key") for c in calls} == set(keys), "a new key")
    people = [u for c in ok for u in json.loads(c["body"])["to"]]
    expect(sorted(len(json.loads(c["body"])["to"]) for c in ok) == [200, 500, 500],
           [len(json.loads(c["body"])["to"]) for c in ok])
    expect(len(people) == len(set(people)), "someone was messaged twice")
    expect(set(people) == set(expected), f"{len(set(people))} people, not the segment")
    delivered = sim.stats()["delivered_by_key"]
    expect(all(delivered.get(k) == 1 for k in keys), delivered)


def console_get(d, path, password="announce-console-pw"):
    """GET an API path of the daemon's console as a new admin."""
    pw = d.path("console-pw")
    if not os.path.exists(pw):
        with open(pw, "w") as f:
            f.write(password + "\n")
        ctl(d, "user", "add", "ops", "--role", "admin", "--password-file", pw)
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{d.admin_port}/admin/api/v1/"
    req = urllib.request.Request(base + "session", method="POST",
                                 data=json.dumps({"login": "ops", "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    op.open(req, timeout=10).read()
    with op.open(base + path, timeout=10) as r:
        return json.loads(r.read())


def test_1200_in_three_multicasts_survive_kill9_and_count_a_claim():
    with Sim() as sim:
        d = chat_daemon(sim, ANNOUNCE, config=config_for(sim, line_rate=1), start=False)
        try:
            d.start()
            add_people(d)
            sim.call("POST", "/_sim/quota", {"value": 5000, "used": 100})
            out = ctl(d, "announce", "preview", "campaign", "--segment", "all")
            expect("recipients: 1200 (in 3 multicast call(s))" in out and
                   "blocked, skipped: 30" in out and "quota: 4900 left" in out, out)
            # The first call is held by LINE while the daemon dies.
            sim.fault(path="/v2/bot/message/multicast", mode="sleep", ms=3000, count=1)
            out = ctl(d, "announce", "send", "campaign", "--segment", "all")
            expect(re.search(r"#1 scheduled for now", out), out)
            wait_until(lambda: len(multicasts(sim)) >= 1, 10, "the first multicast")
            d.kill9()
            # All three chunks were written with the recipients, in one transaction.
            rows = d.query("SELECT dedupe_key, retry_key FROM outbox WHERE kind = "
                           "'multicast' ORDER BY dedupe_key")
            expect([r[0] for r in rows] == ["announce:1:0", "announce:1:1", "announce:1:2"],
                   rows)
            expect(len({r[1] for r in rows}) == 3, rows)
            # Spread out below LINE's multicast limit: a call every 10 ms at most.
            due = [r[0] for r in d.query("SELECT next_attempt_at FROM outbox WHERE kind = "
                                         "'multicast' ORDER BY dedupe_key")]
            expect(due[2] - due[1] == 10, due)
            expect(d.query("SELECT count(*) FROM announce_recipients")[0][0] == 1200, "frozen")
            expect(state(d) == "sending", state(d))
            d.start()
            wait_until(lambda: state(d) == "sent", 20, "the announcement to be sent")
            check_once_each(sim, [uid(i) for i in range(1200)])
            expect(not any(uid(i) in c["body"] for c in multicasts(sim)
                           for i in range(1200, 1230)), "a blocked person was messaged")
            contract_check(multicasts(sim)[:1])

            # What followed: a recipient asks for their invite, it is clicked and a new
            # friend claims with its code.
            recipient = uid(7)
            con = d.db()
            con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, "
                        "assigned_at) VALUES ('main', ?, 'R001', 'import', 1)", (recipient,))
            con.commit()
            send(d, line_event(etype="postback", text="action=refer",
                               source={"type": "user", "userId": recipient}))
            wait_replies(sim, 1)
            code = d.query("SELECT code FROM referral_codes WHERE user_id = ?",
                           (recipient,))[0][0]
            expect(d.request("GET", f"/r/{code}").status == 302, "the click")
            send(d, line_event(etype="follow", source={"type": "user", "userId": FRIEND},
                               timestamp=int(time.time() * 1000)))
            send(d, line_event(text=f"紹介コード {code} です",
                               source={"type": "user", "userId": FRIEND}))
            d.wait_processed()
            expect(d.query("SELECT count(*) FROM referrals WHERE referrer_id = ?",
                           (recipient,))[0][0] == 1, "the claim")
            out = ctl(d, "announce", "show", "1")
            for line in ("state: sent", "recipients: 1200", "blocked, skipped: 30",
                         "multicast calls: 3 written, 3 delivered", "delivered: 1200",
                         "failed: 0", "invites issued: 1", "clicks: 1", "claims: 1"):
                expect(line in out, f"{line!r} not in:\n{out}")
            # The console's results page reads the same.
            res = console_get(d, "announcements/1")["results"]
            expect(res["delivered"] == 1200 and res["failed"] == 0 and res["invites"] == 1 and
                   res["clicks"] == 1 and res["claims"] == 1, res)
            # The recipient's conversation shows the announcement before their tap.
            thread = console_get(d, f"conversations/main/{recipient}")["messages"]
            kinds = [(m["kind"], m["direction"]) for m in thread]
            expect(kinds[:2] == [("announcement", "out"), ("postback", "in")], kinds)
            expect(thread[0]["send_state"] == "sent" and thread[0]["messages"], thread[0])
        finally:
            d.__exit__(None, None, None)


def test_crash_between_chunks_and_commit_writes_none():
    with Sim() as sim:
        d = chat_daemon(sim, ANNOUNCE, start=False)
        try:
            d.start(env={"SHOKAI_FAULT": "announce_crash_before_commit"})
            add_people(d)
            ctl(d, "announce", "send", "campaign", "--segment", "all")
            wait_until(lambda: d.proc.poll() is not None, 10, "the fault to kill the daemon")
            expect(d.query("SELECT count(*) FROM outbox")[0][0] == 0, "a chunk survived")
            expect(d.query("SELECT count(*) FROM announce_recipients")[0][0] == 0, "frozen")
            expect(state(d) == "scheduled", state(d))
            d.start(env={"SHOKAI_FAULT": None})
            wait_until(lambda: state(d) == "sent", 20, "the announcement to be sent")
            check_once_each(sim, [uid(i) for i in range(1200)])
        finally:
            d.__exit__(None, None, None)


def test_quota_too_small_refuses_with_the_numbers():
    with Sim() as sim:
        d = chat_daemon(sim, ANNOUNCE, start=False)
        try:
            d.start()
            add_people(d)
            # shokaictl refuses at once.
            sim.call("POST", "/_sim/quota", {"value": 1000, "used": 0})
            r = ctl_run(d, "announce", "send", "campaign", "--segment", "all")
            err = r.stderr.decode()
            expect(r.returncode == 1 and "refused (#1)" in err and "1000 messages left" in err
                   and "1200 recipients" in err, err)
            expect(state(d, 1) == "refused", state(d, 1))
            # The daemon reads it again before it starts: LINE's count moved meanwhile.
            d.stop()
            sim.call("POST", "/_sim/quota", {"value": 2000, "used": 0})
            ctl(d, "announce", "send", "campaign", "--segment", "all")
            sim.call("POST", "/_sim/quota", {"value": 2000, "used": 1500})
            d.start()
            wait_until(lambda: state(d, 2) == "refused", 10, "the daemon's refusal")
            out = ctl(d, "announce", "show", "2")
            expect("500 messages left this month (limit 2000, used 1500); the segment has "
                   "1200 recipients" in out, out)
            expect(multicasts(sim) == [], "a multicast went out")
            expect(d.query("SELECT count(*) FROM announce_recipients")[0][0] == 0, "frozen")
            out = ctl(d, "announce", "list")
            expect("#2  campaign  all  refused" in out and "#1  campaign  all  refused" in out,
                   out)
        finally:
            d.__exit__(None, None, None)


def test_segments_test_push_schedule_and_cancel():
    with Sim() as sim, chat_daemon(sim, ANNOUNCE) as d:
        add_people(d, friends=3, blocked=1, rep="R001", start=0)
        add_people(d, friends=2, blocked=0, rep="Y003", start=10)
        con = d.db()
        # uid(0) referred someone; uid(10) is tagged a partner.
        con.execute("INSERT INTO referral_codes(code, channel, user_id, campaign, issued_at) "
                    "VALUES ('ABCDEFGH1', 'main', ?, 'now', 1)", (uid(0),))
        con.execute("INSERT INTO referrals(channel, campaign, code, referrer_id, referee_id, "
                    "state, claimed_at, updated_at) VALUES ('main', 'now', 'ABCDEFGH1', ?, "
                    "?, 'claimed', 1, 1)", (uid(0), uid(11)))
        con.commit()
        csv = d.path("tags.csv")
        with open(csv, "w") as f:
            f.write(f"user_id,tag\n{uid(10)},partner\n")
        expect("1 tag(s) imported" in ctl(d, "import", "tags", csv), "tags")

        def count(seg, ann="campaign"):
            out = ctl(d, "announce", "preview", ann, "--segment", seg)
            return int(re.search(r"recipients: (\d+)", out).group(1)), \
                int(re.search(r"blocked, skipped: (\d+)", out).group(1))

        expect(count("all") == (5, 1), count("all"))
        expect(count("branch:shinjuku") == (3, 1), count("branch:shinjuku"))
        expect(count("rep:Y003") == (2, 0), count("rep:Y003"))
        expect(count("referred") == (1, 0), count("referred"))
        expect(count("not_referred") == (4, 1), count("not_referred"))
        expect(count("tag:partner") == (1, 0), count("tag:partner"))
        for args, msg in ((["preview", "nope", "--segment", "all"], "no announcement 'nope'"),
                          (["preview", "campaign", "--segment", "everyone"],
                           "unknown segment 'everyone'"),
                          (["preview", "campaign", "--segment", "branch:osaka"],
                           "no branch 'osaka'"),
                          (["preview", "branch-only", "--segment", "all"],
                           "not offered to segment all"),
                          (["schedule", "campaign", "--segment", "all", "--at", "tomorrow"],
                           "expected YYYY-MM-DD HH:MM"),
                          (["schedule", "campaign", "--segment", "all", "--at",
                            "2001-01-01 10:00"], "in the past"),
                          (["test", "campaign", "--to", "nobody"], "expected a LINE user id")):
            r = ctl_run(d, "announce", *args)
            expect(r.returncode == 1 and msg in r.stderr.decode(), (args, r.stderr.decode()))

        ctl(d, "announce", "test", "campaign", "--to", USER)
        wait_until(lambda: sim.requests("/v2/bot/message/push"), 10, "the test push")
        push = json.loads(sim.requests("/v2/bot/message/push")[0]["body"])
        expect(push["to"] == USER and push["messages"][0]["text"] ==
               "株式会社テストのご紹介キャンペーンが始まりました。", push)

        # In the config's time zone (Asia/Tokyo by default), as operators write it.
        later = (datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo")) +
                 datetime.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
        out = ctl(d, "announce", "schedule", "campaign", "--segment", "rep:Y003", "--at", later)
        expect(f"#1 scheduled for {later}" in out, out)
        expect("#1 canceled" in ctl(d, "announce", "cancel", "1"), "cancel")
        r = ctl_run(d, "announce", "cancel", "1")
        expect(r.returncode == 1 and "not scheduled" in r.stderr.decode(), r.stderr)
        ctl(d, "announce", "send", "branch-only", "--segment", "branch:yokohama")
        wait_until(lambda: state(d, 2) == "sent", 10, "the branch's announcement")
        m = multicasts(sim)
        expect(len(m) == 1 and sorted(json.loads(m[0]["body"])["to"]) == [uid(10), uid(11)], m)
        expect(state(d, 1) == "canceled", state(d, 1))


BROWSER_PASSWORD = "announce-browser-pw"


def test_announcement_page_in_a_browser():
    """tests/browser/announce.test.mjs against a daemon with a refused send (#1) and a
    branch of 3 friends and 1 blocked; skipped with a NOTICE without chromium."""
    with Sim() as sim, chat_daemon(sim, ANNOUNCE) as d:
        add_people(d, friends=3, blocked=1, rep="R001")
        add_people(d, friends=1197, blocked=0, start=100)
        sim.call("POST", "/_sim/quota", {"value": 1000, "used": 0})
        r = ctl_run(d, "announce", "send", "campaign", "--segment", "all")
        expect(r.returncode == 1, r.stderr)
        sim.call("POST", "/_sim/quota", {"value": None})
        pw = d.path("pw")
        with open(pw, "w") as f:
            f.write(BROWSER_PASSWORD + "\n")
        ctl(d, "user", "add", "admin", "--role", "admin", "--name", "運用 花子",
            "--password-file", pw)
        ctl(d, "user", "add", "view", "--role", "viewer", "--password-file", pw)
        ctl(d, "user", "add", "mgr", "--role", "manager", "--branch", "shinjuku",
            "--password-file", pw)
        browser = os.path.join(REPO, "tests", "browser")
        setup = subprocess.run(["bash", os.path.join(browser, "setup.sh")], capture_output=True,
                               timeout=400)
        text = setup.stdout.decode() + setup.stderr.decode()
        if setup.returncode == 3:
            print("NOTICE announcement browser test skipped: " + text.strip().splitlines()[-1],
                  flush=True)
            return
        expect(setup.returncode == 0, f"tests/browser/setup.sh failed:\n{text[-2000:]}")
        p = subprocess.run(["node", os.path.join(browser, "announce.test.mjs"), "--url",
                            f"http://127.0.0.1:{d.admin_port}", "--login", "admin", "--password",
                            BROWSER_PASSWORD, "--viewer-login", "view", "--viewer-password",
                            BROWSER_PASSWORD, "--manager-login", "mgr", "--manager-password",
                            BROWSER_PASSWORD, "--test-to", USER, "--shots",
                            os.path.join(REPO, "build", "console-shots")],
                           capture_output=True, timeout=90)
        out = p.stdout.decode() + p.stderr.decode()
        print(out, flush=True)
        fails = [line for line in out.splitlines() if line.startswith("FAIL")]
        expect(p.returncode == 0, "; ".join(fails[:3]) or out[-2000:])
        wait_until(lambda: sim.requests("/v2/bot/message/push"), 10, "the test push")
        m = [json.loads(c["body"])["to"] for c in multicasts(sim)]
        expect(len(m) == 1 and sorted(m[0]) == [uid(i) for i in range(3)], m)


def test_announcement_removed_from_the_config_is_refused_not_sent():
    with Sim() as sim:
        d = chat_daemon(sim, ANNOUNCE, start=False)
        try:
            d.start()
            add_people(d, friends=2, blocked=0)
            d.stop()
            ctl(d, "announce", "send", "campaign", "--segment", "all")
            text = open(d.config_path, encoding="utf-8").read()
            d.write_config(text.replace("  - id: campaign\n", "  - id: renamed\n"))
            d.start()
            wait_until(lambda: state(d) == "refused", 10, "the refusal")
            out = ctl(d, "announce", "show", "1")
            expect("announcement campaign is no longer in the config" in out, out)
            expect(multicasts(sim) == [], "sent anyway")
        finally:
            d.__exit__(None, None, None)
