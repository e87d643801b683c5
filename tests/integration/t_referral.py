"""t_referral.py: the referral engine through the simulator: the invite a customer
forwards (their name, their rep, the rep's contact, their code and link), one stable code
per customer and campaign, and every step in referral_events."""
import datetime
import json
import signal
import time
import urllib.parse

from harness import USER, expect, line_event, wait_until, works_message
from sim import Sim, chat_daemon, config_for, contract_check, ctl, ctl_run, replies, send, wait_replies

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
    return chat_daemon(sim, REFERRAL)


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


def test_invite_without_rep_uses_invite_no_rep_where_configured():
    extra = REFERRAL.replace("  invite_preview:", "  invite_no_rep: \"{sender_name}さんから{company_name}"
                             "のご紹介です。{rep_contact_url} {invite_url}\"\n  invite_preview:")
    with Sim() as sim, chat_daemon(sim, extra) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田"})
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 1)
        text = urllib.parse.unquote(got[0][1]["template"]["actions"][0]["uri"])
        expect("山田さんから株式会社テストのご紹介です。" in text and "担当" not in text, text)


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
    with Sim() as sim, chat_daemon(sim, extra) as d:
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 1)
        expect("キャンペーンは実施していません" in got[0][0]["text"], got)
        expect(d.query("SELECT count(*) FROM referral_codes")[0][0] == 0, "a code was issued")


def issue_code(sim, d):
    send(d, line_event(etype="postback", text="action=refer"))
    wait_replies(sim, 1)
    return d.query("SELECT code FROM referral_codes WHERE user_id = ?", (USER,))[0][0]


def test_invite_link_redirects_to_the_chat_with_the_code():
    with Sim() as sim, ref_daemon(sim) as d:
        code = issue_code(sim, d)
        r = d.request("GET", f"/r/{code.lower()}")
        expect(r.status == 302, r)
        loc = r.headers["location"]
        prefix = "https://line.me/R/oaMessage/%40123abcde/?"
        expect(loc.startswith(prefix), loc)
        expect(urllib.parse.unquote(loc[len(prefix):]) == f"紹介コード {code} で問い合わせます",
               loc)
        clicks = d.query("SELECT code, referrer_id, client_hash FROM referral_events "
                         "WHERE type = 'clicked'")
        expect(len(clicks) == 1 and clicks[0][0] == code and clicks[0][1] == USER, clicks)
        expect(len(clicks[0][2]) == 16 and "127.0.0.1" not in json.dumps(
            d.query("SELECT * FROM referral_events")), clicks)


def test_unknown_and_mistyped_codes_get_a_friendly_page():
    with Sim() as sim, ref_daemon(sim) as d:
        code = issue_code(sim, d)
        bad = code[:-1] + ("A" if code[-1] != "A" else "B")
        for path in (f"/r/{bad}", "/r/nothing", "/r/"):
            r = d.request("GET", path)
            expect(r.status == 404 and r.headers["content-type"].startswith("text/html"), r)
            expect("ご紹介リンクが見つかりません" in r.body.decode(), r.body)
        expect(d.query("SELECT count(*) FROM referral_events WHERE type = 'clicked'")
               == [(0,)], "a bad code was counted")


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def with_check(body):
    """A code body with its Luhn mod 32 check character, as daemon/refcode.c makes it."""
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * CROCKFORD.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return body + CROCKFORD[(32 - total % 32) % 32]


def test_expired_campaign_link_says_so():
    old = REFERRAL + f"""  - id: old
    name: 前回
    starts: {TODAY - datetime.timedelta(days=60)}
    ends: {TODAY - datetime.timedelta(days=30)}
"""
    code = with_check("7K2QP9XM")
    with Sim() as sim, chat_daemon(sim, old) as d:
        con = d.db()
        con.execute("INSERT INTO referral_codes VALUES (?, 'main', ?, 'old', 1)", (code, USER))
        con.commit()
        r = d.request("GET", f"/r/{code}")
        expect(r.status == 410 and "終了しました" in r.body.decode(), r)


def test_invite_link_is_rate_limited_per_client():
    extra = REFERRAL + "referral: { invite_rate_per_min: 3 }\n"
    with Sim() as sim, chat_daemon(sim, extra) as d:
        code = issue_code(sim, d)
        statuses = [d.request("GET", f"/r/{code}").status for _ in range(5)]
        expect(statuses == [302, 302, 302, 429, 429], statuses)
        r = d.request("GET", f"/r/{code}")
        expect("しばらくお待ちください" in r.body.decode(), r.body)


def proxied_daemon(sim, extra, proxies):
    """chat_daemon whose server section lists trusted_proxies."""
    config = config_for(sim).replace("server:\n", f"server:\n  trusted_proxies: {proxies}\n", 1)
    return chat_daemon(sim, extra, config=config)


def test_interleaved_clients_cannot_reset_a_limited_one():
    extra = REFERRAL + "referral: { invite_rate_per_min: 3 }\n"
    with Sim() as sim, proxied_daemon(sim, extra, "[127.0.0.1]") as d:
        code = issue_code(sim, d)

        def click(client):
            return d.request("GET", f"/r/{code}",
                             headers={"X-Forwarded-For": f"{client}, 127.0.0.1"}).status
        victim = "198.51.100.7"
        statuses = [click(victim) for _ in range(3)]
        expect(statuses == [302, 302, 302], statuses)
        # 200 other clients, each clicking four times round-robin with the limited one
        # between every click: each gets exactly its own three, and nobody's clicks
        # (a hash landing on the same slot, as before) give the limited one more.
        others = [f"10.{i // 250}.{i % 250}.{1 + i % 7}" for i in range(200)]
        for rnd in range(4):
            for i, other in enumerate(others):
                st = click(other)
                expect(st == (302 if rnd < 3 else 429), (rnd, i, st))
                st = click(victim)
                expect(st == 429, ("victim", rnd, i, st))
        # Who the client is comes from the proxy's entry, not the forged left ones.
        r = d.request("GET", f"/r/{code}",
                      headers={"X-Forwarded-For": f"203.0.113.9, {victim}"})
        expect(r.status == 429, r)


def test_limited_answer_says_when_to_retry():
    extra = REFERRAL + "referral: { invite_rate_per_min: 1 }\n"
    with Sim() as sim, chat_daemon(sim, extra) as d:
        code = issue_code(sim, d)
        r = d.request("GET", f"/r/{code}")
        expect(r.status == 302, r)
        r = d.request("GET", f"/r/{code}")
        expect(r.status == 429, r)
        retry = int(r.headers.get("retry-after", "0"))
        expect(1 <= retry <= 60, r.headers)


def test_forwarded_for_is_ignored_without_trusted_proxies():
    extra = REFERRAL + "referral: { invite_rate_per_min: 3 }\n"
    with Sim() as sim, chat_daemon(sim, extra) as d:
        code = issue_code(sim, d)
        statuses = [d.request("GET", f"/r/{code}",
                              headers={"X-Forwarded-For": f"192.0.2.{i % 2 + 1}"}).status
                    for i in range(5)]
        expect(statuses == [302, 302, 302, 429, 429], statuses)


FRIEND = "U" + "f" * 32
OTHER = "U" + "c" * 32
THIRD = "U" + "d" * 32
FOURTH = "U" + "e" * 32

def claim_daemon(sim, rules=""):
    extra = REFERRAL.replace(
        '{ code: R001, name: 高橋 美咲, branch: shinjuku, contact_url: "https://works.do/R0a1b2c" }',
        '{ code: R001, name: 高橋 美咲, branch: shinjuku, contact_url: "https://works.do/R0a1b2c",'
        ' lineworks_user_id: takahashi@example.co.jp }')
    extra += "referral: { notify_bot: sales }\n"
    if rules:
        extra = extra.replace("    ends: ", f"    rules: {rules}\n    ends: ", 1)
    d = chat_daemon(sim, extra)
    return d


def setup_referrer(sim, d):
    sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
    sim.call("POST", "/_sim/profile", {"userId": FRIEND, "displayName": "鈴木 一郎"})
    con = d.db()
    con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, assigned_at) "
                "VALUES ('main', ?, 'R001', 'import', 1)", (USER,))
    con.commit()
    return issue_code(sim, d)


def claim_text(code):
    return f"紹介コード {code} で問い合わせます"


def events(d):
    return d.query("SELECT type, reason, referrer_id, referee_id FROM referral_events "
                   "WHERE type != 'issued' ORDER BY id")


def pushes(sim):
    return [json.loads(r["body"]) for r in sim.requests("/v2/bot/message/push")]


def test_claim_attributes_thanks_both_and_notifies_the_rep():
    with Sim() as sim, claim_daemon(sim) as d:
        code = setup_referrer(sim, d)
        send(d, line_event(etype="follow", source={"type": "user", "userId": FRIEND},
                           timestamp=int(time.time() * 1000)))
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        wait_until(lambda: sim.requests("/v1.0/bots/"), 10, "the rep's notification")
        refs = d.query("SELECT referrer_id, referee_id, rep_code, state, code FROM referrals")
        expect(refs == [(USER, FRIEND, "R001", "claimed", code)], refs)
        expect(events(d) == [("claimed", None, USER, FRIEND)], events(d))
        rep = d.query("SELECT rep_code, rep_source FROM customers WHERE user_id = ?", (FRIEND,))
        expect(rep == [("R001", "referral")], rep)
        texts = [m[0].get("text", "") for m in replies(sim)]
        expect(any("担当者よりご案内します" in t for t in texts), texts)
        p = pushes(sim)
        expect(len(p) == 1 and p[0]["to"] == USER and "登録されました" in
               p[0]["messages"][0]["text"], p)
        note = json.loads(sim.requests("/v1.0/bots/")[0]["body"])["content"]
        expect(note["type"] == "button_template" and "山田 花子" in note["contentText"] and
               "鈴木 一郎" in note["contentText"], note)
        labels = [a["label"] for a in note["actions"]]
        expect(labels == ["対応開始", "面談設定", "成約", "失注", "不正の疑い"], labels)
        expect(note["actions"][2]["postback"].startswith("ref=1&to=won&sig="), note["actions"])
        expect("/users/takahashi%40example.co.jp/" in sim.requests("/v1.0/bots/")[0]["path"],
               sim.requests("/v1.0/bots/")[0]["path"])
        contract_check(sim.requests("/v2/bot/message/"))


def test_claim_rules_each_with_its_reason():
    with Sim() as sim, claim_daemon(sim) as d:
        code = setup_referrer(sim, d)
        # Self-referral.
        send(d, line_event(text=claim_text(code)))
        d.wait_processed()
        # An existing friend (seen before the code was issued) for the default rule.
        con = d.db()
        con.execute("INSERT INTO users(channel, user_id, first_seen_at, is_friend) VALUES "
                    "('main', ?, 1, 1)", (OTHER,))
        con.commit()
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": OTHER}))
        d.wait_processed()
        # A good claim, then the same friend again (first touch wins).
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        send(d, line_event(text=f"{code.lower()} です", source={"type": "user",
                                                               "userId": FRIEND}))
        d.wait_processed()
        # Mutual: the friend's own code, sent by the referrer.
        send(d, line_event(etype="postback", text="action=refer",
                           source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        friend_code = d.query("SELECT code FROM referral_codes WHERE user_id = ?",
                              (FRIEND,))[0][0]
        send(d, line_event(text=claim_text(friend_code)))
        d.wait_processed()
        # Well-formed, but nobody's code.
        send(d, line_event(text=with_check("ABCDEFGH"),
                           source={"type": "user", "userId": OTHER}))
        d.wait_processed()
        got = [(t, r) for t, r, _, _ in events(d)]
        expect(got == [("rejected", "self_referral"), ("rejected", "existing_friend"),
                       ("claimed", None), ("rejected", "already_referred"),
                       ("rejected", "mutual_referral"), ("rejected", "unknown_code")], got)
        expect(d.query("SELECT count(*) FROM referrals") == [(1,)], "more than one referral")


def test_velocity_holds_and_cap_rejects():
    with Sim() as sim, claim_daemon(
            sim, "{ velocity: { claims: 1, within: 10m }, "
                 "max_claims_per_referrer: { count: 2, per: month } }") as d:
        code = setup_referrer(sim, d)
        friends = ["U" + c * 32 for c in "123"]
        for f in friends:
            send(d, line_event(text=claim_text(code), source={"type": "user", "userId": f}))
            d.wait_processed()
        got = [(t, r) for t, r, _, _ in events(d)]
        expect(got == [("claimed", None), ("held", "velocity"), ("rejected", "referrer_cap")],
               got)
        states = d.query("SELECT referee_id, state FROM referrals ORDER BY id")
        expect(states == [(friends[0], "claimed"), (friends[1], "held")], states)


REP_WORKS = "takahashi@example.co.jp"


def rep_says(d, text, user=REP_WORKS, **content):
    r = d.post_works(works_message(text=text, user=user, **content))
    expect(r.status == 200, r)
    d.wait_processed()


def works_texts(sim, user=REP_WORKS):
    from urllib.parse import quote
    return [json.loads(r["body"])["content"].get("text", "")
            for r in sim.requests(f"/v1.0/bots/") if f"/users/{quote(user)}/" in r["path"]
            and json.loads(r["body"])["content"]["type"] == "text"]


def claimed(sim, d):
    code = setup_referrer(sim, d)
    send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
    d.wait_processed()
    wait_until(lambda: sim.requests("/v1.0/bots/"), 10, "the rep's notification")
    return json.loads(sim.requests("/v1.0/bots/")[0]["body"])["content"]


def state_of(d, rid=1):
    return d.query("SELECT state FROM referrals WHERE id = ?", (rid,))[0][0]


def test_rep_buttons_and_commands_move_referrals_through_the_state_machine():
    rewards = ("{ due_on: won, approval: manual, hold: 14d, "
               "referrer: { pool: quo, message: thanks_reward }, "
               "referee: { pool: gift, message: thanks_reward } }")
    with Sim() as sim:
        d = claim_daemon(sim)
        d.write_config(open(d.config_path).read().replace(
            "    ends: ", f"    reward: {rewards}\n    ends: ", 1).replace(
            "messages:\n", "messages:\n  thanks_reward: \"特典です: {coupon_code}\"\n", 1))
        with d:
            note = claimed(sim, d)
            won = next(a for a in note["actions"] if a["label"] == "成約")
            # A forged tap: right referral, wrong signature.
            rep_says(d, "成約 #1", postback=won["postback"][:-4] + "0000")
            expect(state_of(d) == "claimed", state_of(d))
            # Typed steps, then the real button.
            rep_says(d, "対応開始 #1")
            expect(state_of(d) == "contacted", state_of(d))
            rep_says(d, won["text"], postback=won["postback"])
            expect(state_of(d) == "won", state_of(d))
            rep_says(d, "lost 1")
            expect(state_of(d) == "won", "a final state moved")
            wait_until(lambda: len(works_texts(sim)) >= 4, 10, "four answers to the rep")
            texts = works_texts(sim)
            expect(texts[0] == "このボタンは使えません。", texts)
            expect(texts[1] == "紹介 #1 を「対応開始」にしました。", texts)
            expect(texts[2] == "紹介 #1 を「成約」にしました。", texts)
            expect(texts[3] == "紹介 #1 は「成約」のため「失注」には変更できません。", texts)
            ev = d.query("SELECT reason, actor FROM referral_events WHERE type = 'state' "
                         "ORDER BY id")
            expect(ev == [("contacted", "rep:R001"), ("won", "rep:R001")], ev)
            rw = d.query("SELECT side, user_id, pool, state, approve_after - due_at "
                         "FROM rewards ORDER BY side")
            expect(rw == [("referee", FRIEND, "gift", "pending", 14 * 86400000),
                          ("referrer", USER, "quo", "pending", 14 * 86400000)], rw)


def test_other_reps_may_not_act_but_branch_managers_may():
    with Sim() as sim:
        d = claim_daemon(sim)
        cfg = open(d.config_path).read()
        cfg = cfg.replace("reps:\n", "reps:\n  - { code: R012, name: 佐藤 健, lineworks_user_id: sato }\n"
                          "  - { code: R009, name: 部長, branch: shinjuku, "
                          "lineworks_user_id: boss }\n", 1)
        cfg = cfg.replace('contact_url: "https://example.co.jp/shinjuku" }',
                          'contact_url: "https://example.co.jp/shinjuku", managers: [R009] }')
        d.write_config(cfg)
        with d:
            claimed(sim, d)
            rep_says(d, "成約 #1", user="sato")
            expect(state_of(d) == "claimed", state_of(d))
            wait_until(lambda: works_texts(sim, "sato"), 10, "an answer to sato")
            expect(works_texts(sim, "sato") == ["紹介 #1 は担当外のため変更できません。"],
                   works_texts(sim, "sato"))
            rep_says(d, "失注 #1", user="boss")
            expect(state_of(d) == "lost", state_of(d))
            ev = d.query("SELECT actor FROM referral_events WHERE type = 'state'")
            expect(ev == [("rep:R009",)], ev)


def test_rep_list_and_stats():
    with Sim() as sim, claim_daemon(sim) as d:
        claimed(sim, d)
        rep_says(d, "一覧")
        rep_says(d, "STATS")
        wait_until(lambda: len(works_texts(sim)) >= 2, 10, "two answers")
        texts = works_texts(sim)
        expect(texts[0].startswith("対応中のご紹介（1件）：\n#1 ") and "新規" in texts[0], texts)
        expect(texts[1] == "今月の実績：ご紹介 1件、成約 0件、失注 0件", texts)


def reward_daemon(sim, approval="manual"):
    d = claim_daemon(sim)
    cfg = open(d.config_path).read()
    cfg = cfg.replace("    ends: ", "    reward: { due_on: won, approval: " + approval +
                      ", hold: 0s, referrer: { pool: quo, message: reward_referrer }, "
                      "referee: { pool: gift, message: reward_referee } }\n    ends: ", 1)
    cfg = cfg.replace("messages:\n", "messages:\n"
                      "  reward_referrer: \"ご紹介特典です: {coupon_code}\"\n"
                      "  reward_referee: \"ご成約特典です: {coupon_code}\"\n", 1)
    d.write_config(cfg)
    return d


def coupon_pushes(sim):
    return sorted((p["to"], p["messages"][0]["text"]) for p in pushes(sim)
                  if "特典です" in p["messages"][0]["text"])


def test_end_to_end_refer_click_claim_won_reward():
    import os
    with Sim() as sim:
        d = reward_daemon(sim)
        with d:
            with open(d.path("quo.txt"), "w") as f:
                f.write("code\nQUO-0001\nQUO-0002\n")
            with open(d.path("gift.csv"), "w") as f:
                f.write("GIFT-AAAA\n")
            expect("2 coupon code(s) imported" in ctl(d, "import", "coupons", "quo",
                                                      d.path("quo.txt")), "quo import")
            ctl(d, "import", "coupons", "gift", d.path("gift.csv"))
            # Importing again adds nothing: codes are unique per pool.
            expect("0 coupon code(s) imported" in ctl(d, "import", "coupons", "quo",
                                                      d.path("quo.txt")), "re-import")
            code = setup_referrer(sim, d)
            r = d.request("GET", f"/r/{code}")
            expect(r.status == 302 and code in urllib.parse.unquote(r.headers["location"]), r)
            send(d, line_event(etype="follow", source={"type": "user", "userId": FRIEND},
                               timestamp=int(time.time() * 1000)))
            send(d, line_event(text=claim_text(code), source={"type": "user",
                                                              "userId": FRIEND}))
            d.wait_processed()
            wait_until(lambda: sim.requests("/v1.0/bots/"), 10, "the rep's notification")
            note = json.loads(sim.requests("/v1.0/bots/")[0]["body"])["content"]
            won = next(a for a in note["actions"] if a["label"] == "成約")
            rep_says(d, won["text"], postback=won["postback"])
            rw = d.query("SELECT id, side, state FROM rewards ORDER BY id")
            expect([(s, st) for _, s, st in rw] == [("referrer", "pending"),
                                                   ("referee", "pending")], rw)
            # Manual approval: nothing is issued until an operator approves. A rewards
            # tick has seen both rewards due (hold 0s) and left them be.
            wait_until(lambda: d.healthz()["reward_batches"] >= 1, 5,
                       "a rewards tick over the due rewards")
            got = d.query("SELECT state FROM rewards ORDER BY id")
            expect(got == [("pending",), ("pending",)], f"before approval: {got}")
            taken = d.query("SELECT pool, code FROM coupons WHERE reward_id IS NOT NULL")
            expect(taken == [], f"coupons taken before approval: {taken}")
            expect(coupon_pushes(sim) == [], coupon_pushes(sim))
            for rid, _, _ in rw:
                ctl(d, "rewards", "approve", str(rid))
            wait_until(lambda: len(coupon_pushes(sim)) == 2, 10, "both coupons pushed")
            expect(coupon_pushes(sim) == sorted([(USER, "ご紹介特典です: QUO-0001"),
                                                 (FRIEND, "ご成約特典です: GIFT-AAAA")]),
                   coupon_pushes(sim))
            got = d.query("SELECT side, state, coupon_code FROM rewards ORDER BY id")
            expect(got == [("referrer", "issued", "QUO-0001"),
                           ("referee", "issued", "GIFT-AAAA")], got)
            given = d.query("SELECT pool, code, reward_id FROM coupons WHERE reward_id "
                            "IS NOT NULL ORDER BY pool")
            expect(given == [("gift", "GIFT-AAAA", 2), ("quo", "QUO-0001", 1)], given)
            # An issued reward cannot be voided.
            p = ctl_run(d, "rewards", "void", "1")
            expect(p.returncode == 1 and b"cannot go from issued to voided" in p.stderr,
                   p.stderr)
            # The report adds up to what happened here.
            rep = json.loads(ctl(d, "report", "--by", "rep", "--format", "json"))
            expect(rep == [{"rep": "R001", "rep_name": "高橋 美咲", "branch": "shinjuku",
                            "branch_name": "新宿支店", "issued": 1, "clicked": 1,
                            "claimed": 1, "held": 0,
                            "rejected": 0, "rej_self": 0, "rej_already": 0,
                            "rej_existing": 0, "rej_readded": 0, "rej_mutual": 0,
                            "rej_cap": 0, "rej_closed": 0, "rej_unknown": 0, "won": 1,
                            "lost": 0, "rewarded": 2, "claimed_won": 1, "click_rate": 100.0,
                            "claim_rate": 100.0, "win_rate": 100.0}], rep)
            branch = ctl(d, "report", "--by", "branch", "--format", "csv")
            expect(branch.splitlines()[1:] ==
                   ["shinjuku,新宿支店,1,1,1,0,0,0,0,0,0,0,0,0,0,1,0,2,1,100.0,100.0,100.0"],
                   branch)
            shown = ctl(d, "referrals", "show", "1")
            for word in ("claimed", "state", "won", "rep:R001", "reward", "issued:referee"):
                expect(word in shown, shown)
            os.remove(d.path("quo.txt"))


def test_empty_coupon_pool_holds_the_reward_approved():
    with Sim() as sim:
        d = reward_daemon(sim, approval="auto")
        with d:
            claimed(sim, d)
            note = json.loads(sim.requests("/v1.0/bots/")[0]["body"])["content"]
            won = next(a for a in note["actions"] if a["label"] == "成約")
            rep_says(d, won["text"], postback=won["postback"])
            wait_until(lambda: d.query("SELECT count(*) FROM rewards WHERE state = "
                                       "'approved'") == [(2,)], 10, "approved rewards")
            expect(d.wait_log(r"coupon pool empty"), "no alert")
            # A gauge of the rewards waiting (quo's and gift's), not a count of ticks.
            wait_until(lambda: d.healthz()["coupon_pool_empty"] == 2, 5, "the gauge")
            with open(d.path("quo.txt"), "w") as f:
                f.write("QUO-9\n")
            ctl(d, "import", "coupons", "quo", d.path("quo.txt"))
            wait_until(lambda: d.query("SELECT side, state FROM rewards WHERE state = "
                                       "'issued'") == [("referrer", "issued")], 10,
                       "the referrer's reward issued once codes arrive")
            wait_until(lambda: d.healthz()["coupon_pool_empty"] == 1, 5, "gift's alone")


def test_rep_link_ties_the_customer_to_the_rep_and_shows_in_the_invite():
    with Sim() as sim, ref_daemon(sim) as d:
        link = ctl(d, "rep-link", "R001").strip()
        prefix = "https://line.me/R/oaMessage/%40123abcde/?"
        expect(link.startswith(prefix), link)
        text = urllib.parse.unquote(link[len(prefix):])
        expect(text == "担当者コード R001", text)
        send(d, line_event(text=text.replace("R001", "ｒ００１")))  # as typed on a phone
        got = wait_replies(sim, 1)
        expect(got[0][0]["text"] == "ありがとうございます。担当の高橋 美咲(新宿支店)がご案内します。",
               got)
        rep = d.query("SELECT rep_code, rep_source FROM customers WHERE user_id = ?", (USER,))
        expect(rep == [("R001", "rep_link")], rep)
        send(d, line_event(etype="postback", text="action=refer"))
        got = wait_replies(sim, 2)
        expect("担当の高橋 美咲" in urllib.parse.unquote(got[1][1]["template"]["actions"][0]["uri"]),
               got[1])


def test_my_referrals_shows_counts_only():
    with Sim() as sim:
        d = claim_daemon(sim)
        d.write_config(open(d.config_path).read().replace(
            "  refer: referral.invite\n", "  refer: referral.invite\n"
            "  my_referrals: referral.status\n"))
        with d:
            claimed(sim, d)
            n = len(replies(sim))
            send(d, line_event(etype="postback", text="action=my_referrals"))
            got = wait_replies(sim, n + 1)
            text = got[n][0]["text"]
            expect(text == "ご紹介の状況\n紹介コードの発行：1回\nご登録いただいたお友だち：1人\n"
                   "ご成約：0件\nお届けした特典：0件", text)
            expect("鈴木" not in text, text)


def test_forget_removes_personal_data_and_keeps_the_counts():
    with Sim() as sim, claim_daemon(sim) as d:
        claimed(sim, d)
        # an operator read the friend's conversation: the audit log names them
        con = d.db()
        con.execute("INSERT INTO audit_log(at, actor, action, target) VALUES "
                    "(1, 'admin', 'conversation_seen', ?)", ("customer:main/" + FRIEND,))
        con.commit()
        con.close()
        row = json.loads(ctl(d, "audit", "--format", "json"))[0]
        expect(row["target_words"] == "鈴木 一郎" and row["action_words"] == "会話の確認", row)
        before = ctl(d, "report", "--by", "campaign", "--format", "csv")
        out = ctl(d, "forget", FRIEND)
        expect("counts kept as forgotten:" in out, out)
        dump = json.dumps([d.query(f"SELECT * FROM {t}") for t in (
            "profiles", "users", "customers", "referral_codes", "referrals",
            "referral_events", "rewards", "inbox", "outbox", "audit_log")], ensure_ascii=False)
        # the operator's action stays on record, under the pseudonym
        row = json.loads(ctl(d, "audit", "--format", "json"))[0]
        expect(row["target_words"].startswith("forgotten:") and
               row["target"] == "customer:main/" + row["target_words"], row)
        expect(FRIEND not in dump, "the friend's id is still stored")
        expect("鈴木" not in dump, "the friend's name is still stored")
        expect(ctl(d, "report", "--by", "campaign", "--format", "csv") == before,
               "the counts changed")
        expect(USER in dump, "the referrer was forgotten too")


def test_concurrent_claims_for_one_friend_exactly_one_wins():
    with Sim() as sim, claim_daemon(sim) as d:
        code_a = setup_referrer(sim, d)
        other = "U" + "a" * 32
        send(d, line_event(etype="postback", text="action=refer",
                           source={"type": "user", "userId": other}))
        d.wait_processed()
        code_b = d.query("SELECT code FROM referral_codes WHERE user_id = ?", (other,))[0][0]
        # Both claims in one webhook, and two more in parallel requests.
        send(d, line_event(text=claim_text(code_a), source={"type": "user", "userId": FRIEND}),
             line_event(text=claim_text(code_b), source={"type": "user", "userId": FRIEND}))
        import threading
        ts = [threading.Thread(target=send, args=(d, line_event(
            text=claim_text(c), source={"type": "user", "userId": FRIEND})))
            for c in (code_a, code_b)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        d.wait_processed()
        refs = d.query("SELECT referee_id FROM referrals")
        expect(refs == [(FRIEND,)], refs)
        got = sorted(r or "" for t, r, _, _ in events(d) if t in ("claimed", "rejected"))
        expect(got == ["", "already_referred", "already_referred", "already_referred"], got)


def test_rep_contact_auto_is_fetched_from_line_works():
    with Sim() as sim:
        d = claim_daemon(sim)
        d.write_config(open(d.config_path).read().replace(
            'contact_url: "https://works.do/R0a1b2c",', 'contact_url: auto,'))
        with d:
            wait_until(lambda: d.query("SELECT url FROM rep_links WHERE rep_code = 'R001'"),
                       10, "the rep's link fetched")
            url = d.query("SELECT url FROM rep_links")[0][0]
            expect(url.startswith("https://works.do/"), url)
            # The member id of a rep listed by e-mail is asked for too (t_rep_side.py).
            asked = [r for r in sim.requests("/v1.0/users/") if r["path"].endswith("/link-url")]
            expect(len(asked) == 1 and asked[0]["path"] ==
                   "/v1.0/users/takahashi%40example.co.jp/link-url", asked)
            setup_referrer(sim, d)
            text = urllib.parse.unquote(replies(sim)[0][1]["template"]["actions"][0]["uri"])
            expect(f"▼担当者 {url} " in text, text)


def test_rep_links_stay_with_their_rep_across_a_reload_that_reorders_reps():
    """A reload while a link is being fetched must not file it under another rep."""
    r1 = ('  - { code: R001, name: 高橋 美咲, branch: shinjuku, contact_url: auto,'
          ' lineworks_user_id: takahashi@example.co.jp }\n')
    r2 = ('  - { code: R002, name: 鈴木 一郎, branch: shinjuku, contact_url: auto,'
          ' lineworks_user_id: suzuki@example.co.jp }\n')
    with Sim() as sim:
        d = claim_daemon(sim)
        cfg = open(d.config_path).read()
        start = cfg.index("  - { code: R001")
        end = cfg.index("\n", start) + 1
        d.write_config(cfg[:start] + r1 + r2 + cfg[end:])
        # R001's answer is slow: the reload lands while it is out.
        sim.fault(path="/v1.0/users/takahashi", mode="sleep", ms=700, count=1)
        with d:
            wait_until(lambda: sim.requests("/v1.0/users/takahashi"), 10,
                       "R001's link asked for")
            d.write_config(cfg[:start] + r2 + r1 + cfg[end:])
            d.signal(signal.SIGHUP)
            wait_until(lambda: len(d.query("SELECT rep_code FROM rep_links")) == 2, 15,
                       "both reps' links fetched")
            links = dict(d.query("SELECT rep_code, url FROM rep_links"))
            asked = [r["path"] for r in sim.requests("/v1.0/users/")
                     if r["path"].endswith("/link-url")]
            expect(sorted(asked) == ["/v1.0/users/suzuki%40example.co.jp/link-url",
                                     "/v1.0/users/takahashi%40example.co.jp/link-url"],
                   asked)
            expect(links["R001"] != links["R002"], links)
            # The simulator's link is stable per user: ask again, as the daemon did.
            d.write_config(cfg[:start] + r1 + cfg[end:])
        with Sim() as sim2:
            d2 = claim_daemon(sim2)
            d2.write_config(open(d2.config_path).read().replace(
                'contact_url: "https://works.do/R0a1b2c",', 'contact_url: auto,'))
            with d2:
                wait_until(lambda: d2.query("SELECT url FROM rep_links"), 10,
                           "R001's link fetched alone")
                expect(d2.query("SELECT url FROM rep_links")[0][0] == links["R001"],
                       (links, d2.query("SELECT url FROM rep_links")))


def referrer_then_outbox_put_fails(sim, d):
    """A referrer with a code, then d restarted with every outbox row refused: a claim's
    thanks cannot be queued. Returns the code."""
    code = setup_referrer(sim, d)
    d.stop()
    d.start(env={"SHOKAI_FAULT": "outbox_put_fails"})
    return code


def test_a_claim_that_fails_halfway_leaves_nothing_behind():
    """The claim writes the referral, then cannot queue its thanks: the whole event is
    undone and marked failed, not a referral that nobody was told about."""
    with Sim() as sim:
        d = claim_daemon(sim)
        with d:
            code = referrer_then_outbox_put_fails(sim, d)
            inbox = d.query("SELECT count(*) FROM inbox")[0][0]
            send(d, line_event(text=claim_text(code),
                               source={"type": "user", "userId": FRIEND}))
            d.wait_processed()
            expect(d.query("SELECT state, error FROM inbox WHERE id > ?", (inbox,))[0][0] ==
                   "failed", d.query("SELECT state, error FROM inbox"))
            expect(d.query("SELECT count(*) FROM referrals") == [(0,)],
                   d.query("SELECT * FROM referrals"))
            expect(d.query("SELECT type FROM referral_events") == [("issued",)],
                   d.query("SELECT type, reason FROM referral_events"))
            expect(d.query("SELECT user_id FROM customers") == [(USER,)],
                   d.query("SELECT * FROM customers"))


def test_a_failing_event_is_undone_alone_in_its_batch():
    """Batches run without a savepoint per event; when a handler fails, the batch runs
    again with one. The events beside the failed one keep their writes, the failed one
    keeps none, each is logged once with its outcome, and a batch without failures
    goes back to running without savepoints."""
    again = "the dispatch batch runs again"
    with Sim() as sim:
        d = claim_daemon(sim)
        with d:
            code = referrer_then_outbox_put_fails(sim, d)
            inbox = d.query("SELECT max(id) FROM inbox")[0][0]
            conv = d.query("SELECT coalesce(max(id), 0) FROM conversation")[0][0]
            start = d.nlines()
            # One body, so one batch: a block (nothing to send), the claim that cannot
            # queue its thanks, and another block.
            send(d, line_event(etype="unfollow", user=OTHER),
                 line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}),
                 line_event(etype="unfollow", user=THIRD))
            d.wait_processed()
            got = d.query("SELECT type, user_id, state FROM inbox WHERE id > ? ORDER BY id",
                          (inbox,))
            expect(got == [("unfollow", OTHER, "done"), ("message", FRIEND, "failed"),
                           ("unfollow", THIRD, "done")], got)
            got = d.query("SELECT user_id, kind FROM conversation WHERE id > ? ORDER BY id",
                          (conv,))
            expect(got == [(OTHER, "unfollow"), (THIRD, "unfollow")], got)
            expect(d.query("SELECT count(*) FROM referrals") == [(0,)],
                   d.query("SELECT * FROM referrals"))
            # Each event's line is written once its batch committed.
            d.wait_log(f"msg=event .* inbox_id={inbox + 3} ", start=start)
            lines = d.log_lines(start)
            expect(sum(again in ln for ln in lines) == 1, lines)
            for eid in d.query("SELECT id FROM inbox WHERE id > ?", (inbox,)):
                n = sum(f"inbox_id={eid[0]} " in ln and "msg=event" in ln for ln in lines)
                expect(n == 1, (eid, lines))
            # A batch with no failure goes back to no savepoints; the next failure says
            # so again.
            send(d, line_event(etype="unfollow", user=FRIEND))
            d.wait_processed()
            send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FOURTH}))
            d.wait_processed()
            d.wait_log(f"msg=event .* inbox_id={inbox + 5} ", start=start)
            lines = d.log_lines(start)
            expect(sum(again in ln for ln in lines) == 2, lines)
            expect(d.query("SELECT state FROM inbox ORDER BY id DESC LIMIT 1") == [("failed",)],
                   d.query("SELECT type, state, error FROM inbox"))


def test_claims_after_the_campaign_and_after_a_block_are_rejected():
    old = f"""  - id: old
    name: 前回
    starts: {TODAY - datetime.timedelta(days=60)}
    ends: {TODAY - datetime.timedelta(days=30)}
"""
    old_code = with_check("7K2QP9XM")
    with Sim() as sim:
        d = claim_daemon(sim)
        d.write_config(open(d.config_path).read().replace("campaigns:\n", "campaigns:\n" + old,
                                                          1))
        with d:
            code = setup_referrer(sim, d)
            con = d.db()
            con.execute("INSERT INTO referral_codes VALUES (?, 'main', ?, 'old', 1)",
                        (old_code, USER))
            # A friend of long ago who blocked the account and came back.
            con.execute("INSERT INTO users(channel, user_id, first_seen_at, followed_at, "
                        "unfollowed_at, follows, is_friend) VALUES ('main', ?, 1, 1, 2, 2, 1)",
                        (OTHER,))
            con.commit()
            send(d, line_event(text=claim_text(old_code), source={"type": "user",
                                                                  "userId": FRIEND}))
            d.wait_processed()
            send(d, line_event(text=claim_text(code), source={"type": "user",
                                                              "userId": OTHER}))
            d.wait_processed()
            got = [(t, r) for t, r, _, _ in events(d)]
            expect(got == [("rejected", "campaign_closed"),
                           ("rejected", "re_added_after_block")], got)


def test_wrong_codes_are_limited_per_person():
    with Sim() as sim, claim_daemon(sim) as d:
        code = setup_referrer(sim, d)
        for i in range(6):
            send(d, line_event(text=with_check(f"ABCDEFG{i}"),
                               source={"type": "user", "userId": FRIEND}))
            d.wait_processed()
        # Even the right code is not looked up now, for a day.
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        got = [r for t, r, _, _ in events(d)]
        expect(got == ["unknown_code"] * 5 + ["too_many_wrong_codes"] * 2, got)
        expect(d.query("SELECT count(*) FROM referrals") == [(0,)], "a claim got through")


# The built-in wording (daemon/config/default_wording.yaml): what shokai says when the
# operator's config has no message of that name, and the operator's replacing it.
NOT_ACCEPTED = "ご連絡ありがとうございます。恐れ入りますが、このご紹介コードはご利用いただけませんでした。"
UNKNOWN_CODE = ("ご紹介コードが見つかりませんでした。お手数ですが、届いたメッセージのコードをもう一度"
                "ご確認ください。")


def claim_answers(sim, d, code):
    """A self-referral and a made-up code, from the referrer: the two replies' texts."""
    n = len(replies(sim))
    send(d, line_event(text=claim_text(code)))
    d.wait_processed()
    send(d, line_event(text=with_check("ABCDEFGH")))
    got = wait_replies(sim, n + 2)
    return [m[0]["text"] for m in got[n:n + 2]]


def test_replies_come_from_the_built_in_wording_when_the_config_has_none():
    with Sim() as sim, claim_daemon(sim) as d:
        expect("claim_not_accepted" not in open(d.config_path).read(), "the config has it")
        code = setup_referrer(sim, d)
        texts = claim_answers(sim, d, code)
        expect(texts == [NOT_ACCEPTED, UNKNOWN_CODE], texts)
        rep_says(d, "一覧")
        wait_until(lambda: works_texts(sim), 10, "an answer to the rep")
        expect(works_texts(sim) == ["対応中のご紹介はありません。"], works_texts(sim))


def test_an_operators_message_replaces_the_built_in_one_of_that_name():
    with Sim() as sim:
        d = claim_daemon(sim)
        d.write_config(open(d.config_path).read().replace("messages:\n", (
            "messages:\n"
            "  claim_not_accepted: \"{company_name}です。このコードはご利用いただけません。\"\n"
            "  rep_list_empty:\n"
            "    - text: \"{rep_name}さん、対応中のご紹介はまだありません。\"\n"), 1))
        with d:
            code = setup_referrer(sim, d)
            texts = claim_answers(sim, d, code)
            # Replaced by name; the message next to it is still the built-in one.
            expect(texts == ["株式会社テストです。このコードはご利用いただけません。",
                             UNKNOWN_CODE], texts)
            rep_says(d, "list")
            wait_until(lambda: works_texts(sim), 10, "an answer to the rep")
            expect(works_texts(sim) == ["高橋 美咲さん、対応中のご紹介はまだありません。"],
                   works_texts(sim))
