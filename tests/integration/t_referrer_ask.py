"""t_referrer_ask.py: a new friend who sends no code is asked once who referred them
(referral.ask_referrer_after, handlers/referrer_ask.c) with いる / いない quick replies;
いない ends it; a typed name that matches exactly one customer of the campaign (spaces,
width and さん aside) is a claim held for review (typed_name); a name matching nobody is
kept for an operator with what was typed; a friend who sent a code is never asked."""
import datetime
import json
import time

from harness import expect, line_event, wait_until
from sim import INVITE_CHAT, Sim, chat_daemon, ctl, ctl_run, send

TODAY = datetime.date.today()
ASK = "ご紹介者はいらっしゃいますか？"


def config(after="2s"):
    return f"""
company_name: 株式会社テスト
messages:
{INVITE_CHAT}branches:
  - {{ code: shinjuku, name: 新宿支店 }}
reps:
  - {{ code: R001, name: 高橋 美咲, branch: shinjuku }}
referral: {{ ask_referrer_after: {after} }}
campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
"""


def user(n):
    return "U" + f"{n:032x}"


def pushes(sim, to):
    out = [json.loads(r["body"]) for r in sim.requests("/v2/bot/message/push")]
    return [p for p in out if p["to"] == to]


def asks(sim, to):
    return [p for p in pushes(sim, to) if ASK in p["messages"][0].get("text", "")]


def reply_texts(sim):
    out = []
    for r in sim.requests("/v2/bot/message/reply"):
        out += [m.get("text", "") for m in json.loads(r["body"])["messages"]]
    return out


def follow(d, who):
    # The follow's time is LINE's timestamp: now, as a real follow's would be.
    send(d, line_event(etype="follow", user=who, timestamp=int(time.time() * 1000)))
    d.wait_processed()


def say(d, who, text):
    send(d, line_event(text=text, user=who))
    d.wait_processed()


def refer(sim, d, who, name):
    sim.call("POST", "/_sim/profile", {"userId": who, "displayName": name})
    send(d, line_event(etype="postback", text="action=refer", user=who))
    d.wait_processed()
    return d.query("SELECT code FROM referral_codes WHERE user_id = ?", (who,))[0][0]


def test_asked_once_with_quick_replies_and_no_ends_it():
    with Sim() as sim, chat_daemon(sim, config()) as d:
        friend = user(1)
        follow(d, friend)
        wait_until(lambda: asks(sim, friend), 15, "the question")
        got = asks(sim, friend)[0]["messages"][0]
        labels = [q["action"]["label"] for q in got["quickReply"]["items"]]
        expect(labels == ["いる", "いない"], got)
        say(d, friend, "いない")
        expect(any("承知しました" in t for t in reply_texts(sim)), reply_texts(sim))
        rows = d.query("SELECT state FROM referrer_asks WHERE user_id = ?", (friend,))
        expect(rows == [("no",)], rows)
        # A later name-like message is no answer: nothing is held, nobody asks again.
        say(d, friend, "山田 太郎")
        later = user(2)
        follow(d, later)
        wait_until(lambda: asks(sim, later), 15, "a later friend's question (heartbeat)")
        expect(len(asks(sim, friend)) == 1, pushes(sim, friend))
        expect(d.query("SELECT count(*) FROM referrals")[0][0] == 0, "no referral")


def test_typed_name_matching_one_customer_is_held_for_review():
    with Sim() as sim, chat_daemon(sim, config()) as d:
        referrer = user(10)
        code = refer(sim, d, referrer, "山田 太郎")
        refer(sim, d, user(11), "鈴木 一郎")
        friend = user(12)
        follow(d, friend)
        wait_until(lambda: asks(sim, friend), 15, "the question")
        say(d, friend, "いる")
        expect(any("お名前" in t for t in reply_texts(sim)), reply_texts(sim))
        say(d, friend, "山田太郎さん")     # no space, with an honorific
        expect(any("担当者が確認" in t for t in reply_texts(sim)), reply_texts(sim))
        rows = d.query("SELECT code, referrer_id, state FROM referrals WHERE referee_id = ?",
                       (friend,))
        expect(rows == [(code, referrer, "held")], rows)
        ev = d.query("SELECT type, reason, actor FROM referral_events WHERE referee_id = ? "
                     "AND type = 'held'", (friend,))
        expect(ev == [("held", "typed_name", "friend")], ev)
        ask = d.query("SELECT state, typed, matches FROM referrer_asks WHERE user_id = ?",
                      (friend,))
        expect(ask == [("typed", "山田太郎さん", 1)], ask)
        # The referrer is not told before an operator approves.
        expect(not any("ご紹介" in json.dumps(p, ensure_ascii=False) and p["to"] == referrer
                       for p in pushes(sim, referrer)), pushes(sim, referrer))


def test_unmatched_name_waits_for_an_operator():
    with Sim() as sim, chat_daemon(sim, config()) as d:
        refer(sim, d, user(20), "山田 太郎")
        refer(sim, d, user(21), "山田 太郎")      # two customers of the same name
        for n, typed in ((22, "佐藤 花子"), (23, "山田 太郎")):
            friend = user(n)
            follow(d, friend)
            wait_until(lambda: asks(sim, friend), 15, "the question")
            say(d, friend, "いる")
            say(d, friend, typed)
        rows = d.query("SELECT user_id, state, typed, matches, referral_id FROM "
                       "referrer_asks ORDER BY user_id")
        expect(rows == [(user(22), "typed", "佐藤 花子", 0, None),
                        (user(23), "typed", "山田 太郎", 2, None)], rows)
        expect(d.query("SELECT count(*) FROM referrals")[0][0] == 0, "nothing claimed")
        # An operator reads them and decides: the first friend was referred by user(20).
        listed = ctl(d, "referrals", "typed", "--format", "csv")
        expect("佐藤 花子" in listed and user(23) in listed, listed)
        code = d.query("SELECT code FROM referral_codes WHERE user_id = ?", (user(20),))[0][0]
        p = ctl_run(d, "referrals", "typed", "decide", "main", user(22), "XXXX")
        expect(p.returncode == 1 and b"not a referral code" in p.stderr, p.stderr)
        ctl(d, "referrals", "typed", "decide", "main", user(22), code)
        ctl(d, "referrals", "typed", "decide", "main", user(23), "--dismiss")
        rows = d.query("SELECT referrer_id, referee_id, state FROM referrals")
        expect(rows == [(user(20), user(22), "claimed")], rows)
        rows = d.query("SELECT state FROM referrer_asks ORDER BY user_id")
        expect(rows == [("decided",), ("decided",)], rows)
        expect("佐藤" not in ctl(d, "referrals", "typed"), "nothing left to decide")


def test_a_friend_who_sent_a_code_is_not_asked():
    with Sim() as sim, chat_daemon(sim, config()) as d:
        code = refer(sim, d, user(30), "山田 太郎")
        friend = user(31)
        follow(d, friend)
        say(d, friend, f"紹介コード {code} で問い合わせます")
        later = user(32)
        follow(d, later)
        wait_until(lambda: asks(sim, later), 15, "a later friend's question (heartbeat)")
        expect(asks(sim, friend) == [], pushes(sim, friend))


def test_console_review_shows_and_decides_typed_names():
    from t_console import ADMIN, Console, add_accounts, check_openapi
    with Sim() as sim, chat_daemon(sim, config() + ADMIN.format(idle="30m")) as d:
        add_accounts(d)
        referrer = user(40)
        code = refer(sim, d, referrer, "山田 太郎")
        for n, typed in ((41, "山田 太郎"), (42, "佐藤 花子")):
            friend = user(n)
            follow(d, friend)
            wait_until(lambda: asks(sim, friend), 15, "the question")
            say(d, friend, "いる")
            say(d, friend, typed)
        admin = Console(d, "admin")
        held = admin.get("review")["items"]
        expect(len(held) == 1 and held[0]["reason"] == "typed_name" and
               held[0]["deadline"] is None and held[0]["default_outcome"] == "none", held)
        typed = admin.get("review/typed")["items"]
        expect([(x["user_id"], x["typed"], x["matches"]) for x in typed] ==
               [(user(42), "佐藤 花子", 0)], typed)
        mgr = Console(d, "shinjuku-mgr")
        expect(mgr.get("review/typed")["items"] == [], "a manager sees no typed names")
        r = mgr.call("POST", f"review/typed/main/{user(42)}", {"code": code})
        expect(r.status == 403, r)
        r = admin.call("POST", f"review/typed/main/{user(42)}", {"code": "nope"})
        expect(r.status == 409, r)
        r = admin.call("POST", f"review/typed/main/{user(42)}", {"code": code})
        expect(r.status == 200, r)
        expect(admin.get("review/typed")["items"] == [], "decided")
        rows = d.query("SELECT referee_id, state FROM referrals ORDER BY id")
        expect(rows == [(user(41), "held"), (user(42), "claimed")], rows)
        audit = d.query("SELECT actor, action, target FROM audit_log WHERE action LIKE "
                        "'review_typed%'")
        expect(audit == [("admin", "review_typed_code", f"typed:main/{user(42)}")], audit)
        # The one-match hold approved on the 審査 page: a claim like any other, counted.
        r = admin.call("POST", f"review/{held[0]['referral']['id']}", {"decision": "approve"})
        expect(r.status == 200, r)
        rows = d.query("SELECT referee_id, state FROM referrals ORDER BY id")
        expect(rows == [(user(41), "claimed"), (user(42), "claimed")], rows)
        # Both typed names went through review (two held events) and were let through:
        # two accepted claims, in the report and on the dashboard alike.
        rep = json.loads(ctl(d, "report", "--by", "campaign", "--format", "json"))
        expect(rep[0]["held"] == 2 and rep[0]["claimed"] == 2 and rep[0]["issued"] == 1,
               rep)
        dash = admin.get("dashboard")
        expect(dash["figures"]["claimed"] == 2, dash["figures"])
        check_openapi()
