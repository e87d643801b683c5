"""t_referral.py: the referral engine through the simulator: the invite a customer
forwards (their name, their rep, the rep's contact, their code and link), one stable code
per customer and campaign, and every step in referral_events."""
import datetime
import json
import urllib.parse

from harness import USER, expect, line_body, line_event
from t_chat import chat_daemon, wait_replies
from t_outbox import Sim, contract_check

TODAY = datetime.date.today()

REFERRAL = f"""
company_name: 株式会社テスト
messages:
  invite: "{{sender_name}}さんから{{company_name}}のご紹介です。担当の{{rep_name}}({{branch_name}})がご案内します。▼担当者 {{rep_contact_url}} ▼友だち追加して紹介コード{{code}}を送る {{invite_url}}"
  invite_preview:
    - text: ご紹介ありがとうございます。下のボタンから友だちに送れます。
    - template:
        type: buttons
        text: 紹介メッセージを送る
        actions:
          - {{ type: uri, label: 友だちに送る, uri: "{{share_url}}" }}
postbacks:
  refer: referral.invite
branches:
  - {{ code: shinjuku, name: 新宿支店, contact_url: "https://example.co.jp/shinjuku" }}
reps:
  - {{ code: R001, name: 高橋 美咲, branch: shinjuku, contact_url: "https://works.do/R0a1b2c" }}
campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
"""


def ref_daemon(sim):
    return chat_daemon(sim, extra=REFERRAL)


def send(d, *events):
    r = d.post_line(line_body(*events))
    expect(r.status == 200, r)


def test_invite_carries_sender_rep_contact_and_link():
    with Sim() as sim, ref_daemon(sim) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
        d.query("SELECT 1")  # the schema exists once the daemon runs
        con = d.db()
        con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, "
                    "assigned_at) VALUES ('main', ?, 'R001', 'import', 1)", (USER,))
        con.commit()
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 1)
        msgs = got[0]
        expect(msgs[0]["text"].startswith("ご紹介ありがとうございます"), msgs)
        uri = msgs[1]["template"]["actions"][0]["uri"]
        expect(uri.startswith("https://line.me/R/share?text="), uri)
        expect(len(uri) <= 1000, len(uri))
        text = urllib.parse.unquote(uri[len("https://line.me/R/share?text="):])
        code = d.query("SELECT code FROM referral_codes WHERE user_id = ?", (USER,))[0][0]
        expect(text == "山田 花子さんから株式会社テストのご紹介です。担当の高橋 美咲(新宿支店)が"
               "ご案内します。▼担当者 https://works.do/R0a1b2c ▼友だち追加して紹介コード"
               f"{code}を送る http://127.0.0.1/r/{code}", text)
        events = d.query("SELECT type, code, referrer_id, rep_code, branch FROM "
                         "referral_events")
        expect(events == [("issued", code, USER, "R001", "shinjuku")], events)
        # Asking again gives the same code and no second issued event.
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 2)
        expect(code in urllib.parse.unquote(got[1][1]["template"]["actions"][0]["uri"]),
               got[1])
        expect(len(d.query("SELECT * FROM referral_events")) == 1, "issued twice")
        contract_check(sim.requests("/v2/bot/message/reply"))


def test_invite_without_rep_uses_the_company_contact():
    with Sim() as sim, ref_daemon(sim) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "missing": True})
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 1)
        text = urllib.parse.unquote(got[0][1]["template"]["actions"][0]["uri"])
        expect(text.count("お客様さんから") == 1 and "担当の()" in text, text)


def test_no_campaign_running_says_so():
    extra = REFERRAL.replace(f"starts: {TODAY - datetime.timedelta(days=1)}",
                             f"starts: {TODAY + datetime.timedelta(days=10)}")
    with Sim() as sim, chat_daemon(sim, extra=extra) as d:
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 1)
        expect("キャンペーンは実施していません" in got[0][0]["text"], got)
        expect(d.query("SELECT count(*) FROM referral_codes")[0][0] == 0, "a code was issued")
