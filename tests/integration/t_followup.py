"""t_followup.py: the follow-ups through the simulator (followup_tick.c and
handlers/referral_followup.c), with times in seconds: one reminder of an invite nobody
opened and never a second; the ask after a rep's 成約; the monthly limit per person; the
escalation of a referral no rep acted on, once; the branch managers' digest on its day
from its time, once, also across a restart. A reminder to a new person is the heartbeat
that shows the tick ran (digest, then reminders and escalations, in each tick) before
anything is said not to have happened."""
import datetime
import json
import signal
import zoneinfo

from harness import USER, expect, line_event, wait_until, works_message
from sim import INVITE_CHAT, Sim, chat_daemon, contract_check, send, wait_replies

TODAY = datetime.date.today()
FRIEND = "U" + "f" * 32
REP_WORKS = "takahashi@example.co.jp"
BOSS_WORKS = "boss@example.co.jp"
REMINDER = ("先日はご紹介のお申し出ありがとうございます。紹介メッセージはまだ送られていないよう"
            "です。よろしければ下のボタンから、ご家族やご友人にお送りください。")
ASK = ("このたびはご成約ありがとうございます。ほかにもお役に立てそうなご家族やご友人はいらっ"
       "しゃいますか？")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def config(reminders="{ unshared_after: 2s }", referral=""):
    return f"""
company_name: 株式会社テスト
messages:
{INVITE_CHAT}branches:
  - {{ code: shinjuku, name: 新宿支店, managers: [R009], monthly_target: 8 }}
reps:
  - {{ code: R001, name: 高橋 美咲, branch: shinjuku, lineworks_user_id: {REP_WORKS},
      contact_url: "https://works.do/R0a1b2c" }}
  - {{ code: R009, name: 部長, branch: shinjuku, lineworks_user_id: {BOSS_WORKS} }}
referral: {{ notify_bot: sales{referral} }}
campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
    reminders: {reminders}
"""


def user(n):
    return "U" + f"{n:032x}"


def pushes(sim, to=None):
    out = [json.loads(r["body"]) for r in sim.requests("/v2/bot/message/push")]
    return [p for p in out if to is None or p["to"] == to]


def reminders(sim, to):
    return [p for p in pushes(sim, to) if p["messages"][0].get("text") == REMINDER]


def works_texts(sim, to):
    from urllib.parse import quote
    out = []
    for r in sim.requests("/v1.0/bots/"):
        c = json.loads(r["body"])["content"]
        if f"/users/{quote(to)}/" in r["path"] and c["type"] == "text":
            out.append(c["text"])
    return out


def assign(d, who, rep="R001"):
    con = d.db()
    con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, assigned_at) "
                "VALUES ('main', ?, ?, 'import', 1)", (who, rep))
    con.commit()


def refer(d, who):
    send(d, line_event(etype="postback", text="action=refer",
                       source={"type": "user", "userId": who}))
    d.wait_processed()
    return d.query("SELECT code FROM referral_codes WHERE user_id = ?", (who,))[0][0]


def heartbeat(sim, d, n):
    """A new person's unopened invite; its reminder shows that a whole tick ran after
    now (the digest is looked at first in every tick)."""
    who = user(n)
    refer(d, who)
    wait_until(lambda: reminders(sim, who), 15, f"the heartbeat reminder {n}")


def test_one_reminder_of_an_unopened_invite_and_none_of_a_clicked_one():
    with Sim() as sim, chat_daemon(sim, config()) as d:
        code = refer(d, USER)
        clicked = refer(d, user(1))
        r = d.request("GET", f"/r/{clicked}")
        expect(r.status == 302, r)
        wait_until(lambda: reminders(sim, USER), 15, "the reminder")
        got = reminders(sim, USER)[0]
        uri = got["messages"][1]["template"]["actions"][0]["uri"]
        expect(uri.startswith("https://line.me/R/share?text=") and code in uri, uri)
        heartbeat(sim, d, 2)
        expect(len(reminders(sim, USER)) == 1, pushes(sim, USER))
        expect(reminders(sim, user(1)) == [], pushes(sim, user(1)))
        rows = d.query("SELECT kind, person, sent FROM nudges WHERE subject = ?", (code,))
        expect(rows == [("remind", USER, 1)], rows)
        contract_check(sim.requests("/v2/bot/message/push"))


def test_won_asks_the_friend_once_and_the_monthly_limit_holds():
    cfg = config("{ unshared_after: 2s, ask_after_won: true, per_person_per_month: 1 }")
    with Sim() as sim, chat_daemon(sim, cfg) as d:
        d.query("SELECT 1")  # the schema exists once the daemon runs
        assign(d, USER)
        code = refer(d, USER)
        send(d, line_event(text=f"紹介コード {code} で問い合わせます",
                           source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        r = d.post_works(works_message(text="成約 #1", user=REP_WORKS))
        expect(r.status == 200, r)
        d.wait_processed()
        wait_until(lambda: pushes(sim, FRIEND) and any(
            p["messages"][0].get("text") == ASK for p in pushes(sim, FRIEND)), 10, "the ask")
        ask = next(p for p in pushes(sim, FRIEND) if p["messages"][0].get("text") == ASK)
        action = ask["messages"][1]["template"]["actions"][0]
        expect(action["type"] == "postback" and action["data"] == "action=refer", action)
        # The friend's own invite, unopened: the ask was this month's one follow-up.
        refer(d, FRIEND)
        heartbeat(sim, d, 3)
        expect(reminders(sim, FRIEND) == [], pushes(sim, FRIEND))
        asks = [p for p in pushes(sim, FRIEND) if p["messages"][0].get("text") == ASK]
        expect(len(asks) == 1, asks)
        rows = d.query("SELECT kind, sent FROM nudges WHERE person = ? ORDER BY kind",
                       (FRIEND,))
        expect(rows == [("ask", 1), ("remind", 0)], rows)
        # The referrer's code was claimed: shared, no reminder.
        expect(reminders(sim, USER) == [], pushes(sim, USER))
        contract_check(sim.requests("/v2/bot/message/push"))


def test_digest_and_escalation_fire_once_each_at_their_time():
    now = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo"))
    today, tomorrow = DAYS[now.weekday()], DAYS[(now.weekday() + 1) % 7]
    past = (now - datetime.timedelta(minutes=1)).strftime("%H:%M")
    later = (now + datetime.timedelta(minutes=2)).strftime("%H:%M")
    if now.hour == 0 and now.minute < 2 or now.hour == 23 and now.minute > 56:
        past, later = "00:00", "23:59"   # around midnight: still in today, or after it
    esc = ", escalate_unacted_after: 1s"
    with Sim() as sim:
        d = chat_daemon(sim, config(referral=f", digest: {{ day: {tomorrow}, at: \"{past}\" }}"
                                    + esc))
        with d:
            # A referral nobody acts on: escalated to the branch manager, once.
            d.query("SELECT 1")
            assign(d, USER)
            code = refer(d, USER)
            send(d, line_event(text=f"紹介コード {code} で問い合わせます",
                               source={"type": "user", "userId": FRIEND}))
            d.wait_processed()
            wait_until(lambda: works_texts(sim, BOSS_WORKS), 15, "the escalation")
            esc_text = works_texts(sim, BOSS_WORKS)[0]
            expect(esc_text.startswith("紹介 #1 は") and "高橋 美咲" in esc_text and
                   "/admin/#/referrals/1" in esc_text, esc_text)
            # Not the digest's day.
            heartbeat(sim, d, 4)
            expect(works_texts(sim, BOSS_WORKS) == [esc_text], works_texts(sim, BOSS_WORKS))
            # Its day, before its time (except just before midnight: see above).
            good = open(d.config_path).read()
            n = d.nlines()
            d.write_config(good.replace(f"day: {tomorrow}, at: \"{past}\"",
                                        f"day: {today}, at: \"{later}\""))
            d.signal(signal.SIGHUP)
            d.wait_log(r"config reloaded", start=n)
            heartbeat(sim, d, 5)
            expect(works_texts(sim, BOSS_WORKS) == [esc_text], works_texts(sim, BOSS_WORKS))
            # Its day, past its time: the digest, once.
            n = d.nlines()
            d.write_config(good.replace(f"day: {tomorrow}", f"day: {today}"))
            d.signal(signal.SIGHUP)
            d.wait_log(r"config reloaded", start=n)
            wait_until(lambda: len(works_texts(sim, BOSS_WORKS)) >= 2, 10, "the digest")
            digest = works_texts(sim, BOSS_WORKS)[1]
            expect(digest.startswith("新宿支店 週間レポート "), digest)
            expect("高橋 美咲: 1件（未対応 1件、最長 0時間）" in digest and
                   "目標 8" in digest and "/admin/#/" in digest, digest)
            heartbeat(sim, d, 6)
            expect(len(works_texts(sim, BOSS_WORKS)) == 2, works_texts(sim, BOSS_WORKS))
            # A restart sends neither again.
            expect(d.stop() == 0, "shokaid did not stop cleanly")
            d.start()
            heartbeat(sim, d, 7)
            expect(len(works_texts(sim, BOSS_WORKS)) == 2, works_texts(sim, BOSS_WORKS))
            rows = d.query("SELECT kind, subject, sent FROM nudges WHERE kind IN "
                           "('digest', 'escalate') ORDER BY kind")
            expect(rows == [("digest", "shinjuku", 1), ("escalate", "1", 1)], rows)
