"""t_handoff.py: a customer who asks for a person, end to end through the simulator: the
rep hears on LINE WORKS with the last messages and a link to the conversation, the bot
stays quiet for that customer (referral codes and taps still answered), an operator reads
the conversation in the console and answers (a push under the operator's name), resolves
it and the bot answers again; nobody answering goes to the branch's manager once, in
business hours; the quiet time runs out on its own; LINE's chat as the place people
answer; mark-as-read only once a person has seen the messages; a manager of another
branch never sees the conversation; old message text goes after the retention period
while the counts stay."""
import json
import re
import time
from urllib.parse import quote

from harness import USER, expect, line_event, wait_until
from sim import Sim, chat_daemon, ctl, replies, send, wait_replies
from t_console import Console, add_accounts, check_openapi

OTHER = "U" + "c" * 32          # a customer without a rep

PROGRAM = """
company_name: 株式会社テスト
business_hours: {{ days: every day }}
messages:
  contact_rep: 担当者におつなぎします。
  price: 料金はこちらです。
  fallback_text: 担当者が確認してご連絡します。
auto_replies:
  - {{ match: {{ exact: 料金 }}, reply: price }}
  - {{ match: {{ exact: 担当者 }}, action: contact_rep }}
  - {{ fallback: fallback_text, handoff: true }}
postbacks:
  contact_rep: {{ reply: contact_rep, handoff: true }}
branches:
  - {{ code: shinjuku, name: 新宿支店, managers: [M001] }}
  - {{ code: yokohama, name: 横浜支店 }}
reps:
  - {{ code: R001, name: 高橋 美咲, branch: shinjuku, contact_url: "https://works.do/R0a1b2c", lineworks_user_id: takahashi@example.co.jp }}
  - {{ code: M001, name: 山本 店長, branch: shinjuku, contact_url: "https://works.do/M1", lineworks_user_id: yamamoto@example.co.jp }}
  - {{ code: Y003, name: 伊藤 由紀, branch: yokohama, contact_url: "https://works.do/Y9z8x7w" }}
referral: {{ notify_bot: sales }}
handoff: {{ quiet_for: {quiet}, escalate_after: {escalate}, operators_channel: ops-room, sender: operator, line_chat: {line_chat} }}
conversations: {{ mark_as_read: true }}
admin: {{ listen: 127.0.0.1:0, public_url: "https://console.example.jp" }}
"""


def program(sim, quiet="1h", escalate="1h", line_chat="false"):
    return chat_daemon(sim, PROGRAM.format(quiet=quiet, escalate=escalate,
                                           line_chat=line_chat))


def setup(sim, d):
    """The customer (USER) is R001's; t_console's accounts and a yokohama manager."""
    sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
    con = d.db()
    con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, assigned_at) "
                "VALUES ('main', ?, 'R001', 'import', 1)", (USER,))
    con.commit()
    add_accounts(d)
    ctl(d, "user", "add", "yokohama-mgr", "--role", "manager", "--branch", "yokohama",
        "--password-file", d.path("pw"))


def works_to(sim, path_part):
    """The texts the LINE WORKS bot sent to a member or room, in order."""
    return [json.loads(r["body"])["content"]["text"] for r in sim.requests("/v1.0/bots/")
            if path_part in r["path"]]


def write(d, text, user=USER, **extra):
    send(d, line_event(text=text, source={"type": "user", "userId": user}, **extra))
    d.wait_processed()


def test_handoff_journey_rep_console_reply_resolve():
    with Sim() as sim, program(sim) as d:
        setup(sim, d)
        write(d, "こんにちは、相談があります")          # the fallback hands off
        wait_replies(sim, 1)
        expect(replies(sim)[0][0]["text"] == "担当者が確認してご連絡します。", replies(sim))
        rep = "/users/" + quote("takahashi@example.co.jp") + "/"
        wait_until(lambda: works_to(sim, rep), 10, "the rep's notice")
        notice = works_to(sim, rep)[0]
        expect("山田 花子 様が担当者との会話を希望しています（担当：高橋 美咲）" in notice, notice)
        expect("> こんにちは、相談があります" in notice, notice)
        expect(f"https://console.example.jp/admin/#/conversations/main/{USER}" in notice,
               notice)
        # Quiet now: keywords and the fallback say nothing; asking again (a tap, which
        # still answers) tells nobody new.
        write(d, "料金")
        write(d, "担当者")
        send(d, line_event(etype="postback", text="action=contact_rep",
                           source={"type": "user", "userId": USER}))
        d.wait_processed()
        time.sleep(0.5)
        expect(len(replies(sim)) == 2, replies(sim))       # the tap's own reply only
        expect(replies(sim)[1][0]["text"] == "担当者におつなぎします。", replies(sim))
        expect(len(works_to(sim, rep)) == 1, works_to(sim, rep))
        expect("bot quiet" in d.log_text(), "no log line for the quiet bot")

        admin = Console(d, "admin")
        waiting = admin.get("conversations?state=open")["items"]
        expect(len(waiting) == 1 and waiting[0]["person"]["name"] == "山田 花子" and
               waiting[0]["rep"]["code"] == "R001" and waiting[0]["notified"] == "rep:R001"
               and waiting[0]["last_text"] == "contact_rep", waiting)
        conv = admin.get(f"conversations/main/{USER}")
        kinds = [(m["direction"], m["text"]) for m in conv["messages"]]
        expect(kinds == [("in", "こんにちは、相談があります"),
                         ("out", "担当者が確認してご連絡します。"), ("in", "料金"),
                         ("in", "担当者"), ("in", "contact_rep"),
                         ("out", "担当者におつなぎします。")], kinds)
        expect(conv["handoff"]["state"] == "open" and conv["can_reply"], conv["handoff"])
        r = admin.call("POST", f"conversations/main/{USER}/seen", {})
        expect(r.status == 200 and r.json["handoff"]["seen_by"] == "operator:admin", r)
        r = admin.call("POST", f"conversations/main/{USER}/messages",
                       {"text": "高橋の代わりにご連絡します。お見積もりをお送りしますね。"})
        expect(r.status == 200, r)
        expect(r.json["messages"][-1]["author"] == "operator:admin", r.json["messages"][-1])
        wait_until(lambda: sim.requests("/v2/bot/message/push"), 10, "the operator's push")
        push = json.loads(sim.requests("/v2/bot/message/push")[0]["body"])
        expect(push["to"] == USER and push["messages"][0]["sender"] == {"name": "運用 太郎"}
               and push["messages"][0]["text"].startswith("高橋の代わりに"), push)
        conv = admin.get(f"conversations/main/{USER}")
        expect(conv["messages"][-1]["send_state"] == "sent" and
               conv["handoff"]["answered_by"] == "operator:admin", conv["messages"][-1])
        # The viewer reads but never answers.
        viewer = Console(d, "viewer")
        expect(not viewer.get(f"conversations/main/{USER}")["can_reply"], "viewer can reply")
        r = viewer.call("POST", f"conversations/main/{USER}/messages", {"text": "x"})
        expect(r.status == 403, r)
        r = admin.call("POST", f"conversations/main/{USER}/messages", {"text": ""})
        expect(r.status == 400 and r.json["error"] == "bad_text", r)
        r = admin.call("POST", f"conversations/main/{USER}/resolve", {})
        expect(r.status == 200 and r.json["handoff"]["state"] == "resolved", r)
        r = admin.call("POST", f"conversations/main/{USER}/resolve", {})
        expect(r.status == 409 and r.json["error"] == "not_waiting", r)
        write(d, "料金")
        wait_replies(sim, 3)
        expect(replies(sim)[2][0]["text"] == "料金はこちらです。", replies(sim))
        audit = [a for (a,) in d.query("SELECT action FROM audit_log WHERE action LIKE "
                                       "'conversation%' OR action LIKE 'handoff%' ORDER BY id")]
        expect(audit == ["conversation_seen", "conversation_reply", "handoff_resolve"], audit)
        # the audit log names the customer and links to them, never shows the raw id
        rows = [x for x in admin.get("audit")["items"] if x["action"] == "handoff_resolve"]
        expect(rows and rows[0]["target_words"] == "山田 花子" and
               rows[0]["person"]["user_id"] == USER, rows)
        # LINE's mark-as-read: nothing carried a token, so nothing was marked.
        expect(not sim.requests("/v2/bot/chat/markAsRead"), "marked read without a token")
        check_openapi()


def test_nobody_answers_escalates_to_the_manager_once():
    with Sim() as sim, program(sim, escalate="1s") as d:
        setup(sim, d)
        write(d, "担当者")
        manager = "/users/" + quote("yamamoto@example.co.jp") + "/"
        wait_until(lambda: works_to(sim, manager), 15, "the escalation to the manager")
        text = works_to(sim, manager)[0]
        expect(text.startswith("【未対応】山田 花子 様が") and "担当：高橋 美咲" in text, text)
        time.sleep(2.5)
        expect(len(works_to(sim, manager)) == 1, works_to(sim, manager))
        row = d.query("SELECT notified, escalated_at IS NOT NULL FROM handoffs")
        expect(row == [("rep:R001,managers:shinjuku", 1)], row)
        # A customer without a rep: the operators' room hears, and escalations too.
        write(d, "担当者", user=OTHER)
        wait_until(lambda: len(works_to(sim, "/channels/ops-room/")) >= 2, 15,
                   "the operators' notice and escalation")
        texts = works_to(sim, "/channels/ops-room/")
        expect("担当：未定" in texts[0] and texts[1].startswith("【未対応】"), texts)


def test_quiet_time_runs_out_and_the_bot_answers_again():
    with Sim() as sim, program(sim, quiet="2s") as d:
        setup(sim, d)
        write(d, "担当者")
        wait_replies(sim, 1)
        write(d, "料金")
        time.sleep(0.3)
        expect(len(replies(sim)) == 1, replies(sim))
        wait_until(lambda: d.query("SELECT state FROM handoffs") == [("expired",)], 10,
                   "the handoff to expire")
        write(d, "料金")
        wait_replies(sim, 2)
        expect(replies(sim)[1][0]["text"] == "料金はこちらです。", replies(sim))


def test_line_chat_mode_and_mark_as_read_when_seen():
    with Sim() as sim, program(sim, line_chat="true") as d:
        setup(sim, d)
        write(d, "担当者", message={"type": "text", "id": "1", "text": "担当者",
                                    "markAsReadToken": "tok-1"})
        write(d, "よろしくお願いします", message={"type": "text", "id": "2",
                                              "text": "よろしくお願いします",
                                              "markAsReadToken": "tok-2"})
        admin = Console(d, "admin")
        conv = admin.get(f"conversations/main/{USER}")
        expect(not conv["can_reply"] and conv["line_chat"], conv)
        expect(all("markAsReadToken" not in (m["meta"] or {}) for m in conv["messages"]
                   if m["direction"] == "in"), conv["messages"])
        r = admin.call("POST", f"conversations/main/{USER}/messages", {"text": "こんにちは"})
        expect(r.status == 409 and r.json["error"] == "line_chat", r)
        expect(not sim.requests("/v2/bot/chat/markAsRead"), "read before a person saw it")
        admin.call("POST", f"conversations/main/{USER}/seen", {})
        wait_until(lambda: sim.requests("/v2/bot/chat/markAsRead"), 10, "mark as read")
        admin.call("POST", f"conversations/main/{USER}/seen", {})
        time.sleep(0.5)
        marks = [json.loads(r["body"]) for r in sim.requests("/v2/bot/chat/markAsRead")]
        expect(marks == [{"markAsReadToken": "tok-2"}], marks)
        check_openapi()


def test_manager_of_another_branch_never_sees_the_conversation():
    with Sim() as sim, program(sim) as d:
        setup(sim, d)
        write(d, "担当者")
        other = Console(d, "yokohama-mgr")
        expect(other.get("conversations")["items"] == [], "another branch's handoff listed")
        r = other.call("GET", f"conversations/main/{USER}")
        expect(r.status == 403 and r.json["error"] == "out_of_scope", r)
        r = other.call("POST", f"conversations/main/{USER}/messages", {"text": "x"})
        expect(r.status == 403, r)
        check_openapi()


def test_retention_deletes_old_text_and_keeps_the_counts():
    with Sim() as sim, program(sim) as d:
        setup(sim, d)
        write(d, "料金")
        wait_replies(sim, 1)
        old = int(time.time() * 1000) - 200 * 86400 * 1000
        con = d.db()
        con.execute("UPDATE conversation SET at = ?", (old,))
        con.commit()
        d.stop()
        d.start()
        wait_until(lambda: d.query("SELECT count(*) FROM conversation WHERE text IS NOT NULL "
                                   "OR body IS NOT NULL") == [(0,)], 10, "old text deleted")
        expect(d.query("SELECT direction, kind FROM conversation ORDER BY id") ==
               [("in", "text"), ("out", "message")], d.query("SELECT * FROM conversation"))
        expect(d.query("SELECT count(*) FROM inbox WHERE text IS NOT NULL") == [(0,)],
               "the inbox kept the text")
        expect(d.query("SELECT body FROM outbox WHERE platform = 'line'") == [("{}",)],
               "the outbox kept the reply's text")
        write(d, "料金")
        wait_replies(sim, 2)
        expect(d.query("SELECT count(*) FROM conversation WHERE text IS NOT NULL") == [(2,)],
               "new text deleted too")
