"""t_chat.py: chat flows through the simulator: greetings with the display name, keyword
auto-replies (normalised, hours, cooldown, fallback), postback routing, rich menu
deploys (idempotent, dry run, contract) and per-user menu links, the LINE WORKS bot's
rules and persistent menu, and config errors for chat sections."""
import json
import os
import re
import shutil
import time
import urllib.request

from harness import REPO, USER, expect, line_event, run_check, wait_until, works_message
from sim import Sim, chat_daemon, config_for, contract_check, ctl, replies, send, \
    wait_replies

CHAT = """
company_name: 株式会社テスト
messages:
  greeting:
    - text: "{display_name}さん、友だち追加ありがとうございます!{company_name}です。"
  greeting_again:
    - text: "{display_name}さん、おかえりなさい!"
  postback_unknown: 申し訳ありません。この操作には対応していません。
  price:
    - template:
        type: buttons
        text: 料金はこちら
        actions:
          - { type: uri, label: 料金ページ, uri: "https://example.co.jp/price" }
  hours: 営業時間は平日9時から18時です。
  booked: "{date} {time}にご予約を承りました。"
  cancel: 解約のご相談ですね。
  fallback: メッセージありがとうございます。
  rep_help: ボットのヘルプです。
auto_replies:
  - match: { contains: [料金, 価格] }
    reply: price
  - match: { regex: "^(営業時間|何時まで)" }
    reply: hours
  - match: { exact: abc }
    reply: hours
  - match: { contains: 解約 }
    cooldown: 1h
    reply: cancel
  - match: { exact: [担当者] }
    action: faq
  - fallback: fallback
  - match: { exact: help }
    platform: works
    reply: rep_help
postbacks:
  faq: { reply: hours }
  book: { reply: booked }
  switch: menu
rich_menus:
  - id: main
    default: true
    image: main.png
    size: { width: 2500, height: 1686 }
    chat_bar_text: メニュー
    alias: main
    areas:
      - bounds: [0, 0, 1250, 1686]
        action: { type: postback, data: action=faq, display_text: よくある質問 }
      - bounds: [1250, 0, 1250, 1686]
        action: { type: richmenuswitch, alias: info, data: action=switch&to=info }
  - id: info
    image: info.png
    size: { width: 2500, height: 843 }
    chat_bar_text: その他
    alias: info
    areas:
      - bounds: [0, 0, 2500, 843]
        action: { type: richmenuswitch, alias: main, data: action=switch&to=main }
"""


def line_get(sim, path):
    """What the simulated LINE holds, asked as the daemon would (with a token)."""
    req = urllib.request.Request(sim.url(path), headers={"Authorization": "Bearer x"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_follow_greets_with_display_name():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
        send(d, line_event(etype="follow"))
        got = wait_replies(sim, 1)
        expect(got[0] == [{"type": "text", "text":
                           "山田 花子さん、友だち追加ありがとうございます!株式会社テストです。"}],
               got)
        users = d.query("SELECT follows, is_friend FROM users WHERE user_id = ?", (USER,))
        expect(users == [(1, 1)], users)
        # The profile was fetched once, before the greeting, and cached.
        expect(len(sim.requests("/v2/bot/profile/")) == 1, sim.requests("/v2/bot/profile/"))


def test_refollow_after_block_gets_the_other_greeting():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "佐藤"})
        send(d, line_event(etype="follow"))
        wait_replies(sim, 1)
        send(d, line_event(etype="unfollow"))
        wait_until(lambda: d.query("SELECT is_friend FROM users")[0][0] == 0, 5, "unfollow")
        send(d, line_event(etype="follow", follow={"isUnblocked": True}))
        got = wait_replies(sim, 2)
        expect(got[1] == [{"type": "text", "text": "佐藤さん、おかえりなさい!"}], got)
        expect(len(replies(sim)) == 2, "unfollow must send nothing")
        queued = d.query("SELECT kind FROM outbox")
        expect(queued == [("reply",), ("reply",)], f"unfollow must send nothing: {queued}")
        # The second greeting used the name cached at the first: fresh for a day, so
        # LINE was asked once (a cached copy dated 0 would be asked for every event).
        expect(len(sim.requests("/v2/bot/profile/")) == 1, sim.requests("/v2/bot/profile/"))
        age = d.query("SELECT ? - fetched_at FROM profiles", (int(time.time() * 1000),))
        expect(len(age) == 1 and 0 <= age[0][0] < 60000, f"cached profile's age: {age}")


def test_greeting_without_profile_uses_the_fallback_name():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "missing": True})
        send(d, line_event(etype="follow"))
        got = wait_replies(sim, 1)
        expect(got[0][0]["text"].startswith("お客様さん"), got)


def test_keywords_reply_in_rule_order_normalised():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(text="料金を教えて"))
        got = wait_replies(sim, 1)
        expect(got[0][0]["type"] == "template" and
               got[0][0]["template"]["actions"][0]["uri"] == "https://example.co.jp/price",
               got)
        # One at a time: replies in flight together may arrive in any order.
        texts = []
        for n, text in enumerate(["営業時間は?",   # regex
                                  "ＡＢＣ",         # full-width, upper case: exact abc
                                  "こんにちは"]):   # fallback
            send(d, line_event(text=text))
            texts.append(wait_replies(sim, n + 2)[-1][0].get("text"))
        expect(texts == ["営業時間は平日9時から18時です。", "営業時間は平日9時から18時です。",
                         "メッセージありがとうございます。"], texts)


def test_cooldown_keeps_a_rule_quiet_per_user():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(text="解約したい"))
        wait_replies(sim, 1)
        send(d, line_event(text="解約の方法"))
        send(d, line_event(text="解約", source={"type": "user", "userId": "U" + "e" * 32}))
        got = wait_replies(sim, 2)
        d.wait_processed()
        # Replies are queued in the transaction that processes their event.
        queued = d.query("SELECT kind FROM outbox")
        expect(len(queued) == 2, f"the same user within the cooldown got a reply: {queued}")
        got = replies(sim)
        expect(len(got) == 2, f"the same user within the cooldown got a reply: {got}")
        expect(d.wait_log(r"auto-reply cooling down"), "no cooldown log line")


def test_auto_reply_can_run_a_postback_action():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(text="担当者"))
        got = wait_replies(sim, 1)
        expect(got[0][0]["text"] == "営業時間は平日9時から18時です。", got)


def test_unknown_postback_gets_a_polite_reply():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(etype="postback", text="action=nosuch&x=1"))
        got = wait_replies(sim, 1)
        expect(got[0] == [{"type": "text", "text": "申し訳ありません。この操作には対応していません。"}],
               got)
        expect(d.wait_log(r'postback not understood.*action_bytes=6 '), "no log line")
        send(d, line_event(etype="postback", text="action=faq"))
        got = wait_replies(sim, 2)
        expect(got[1][0]["text"] == "営業時間は平日9時から18時です。", got)
        # The conversation log keeps a tap as the customer's chat showed it: the rich
        # menu button's display text, else the action as sent.
        taps = d.query("SELECT text FROM conversation WHERE kind = 'postback' ORDER BY id")
        expect(taps == [("nosuch",), ("よくある質問",)], taps)


def test_date_picker_choice_reaches_the_reply():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(etype="postback", postback={
            "data": "action=book", "params": {"date": "2026-12-01"}}))
        got = wait_replies(sim, 1)
        expect(got[0][0]["text"] == "2026-12-01 にご予約を承りました。", got)


def test_tab_switch_postback_is_silent():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(etype="postback", postback={
            "data": "action=switch&to=info",
            "params": {"newRichMenuAliasId": "info", "status": "SUCCESS"}}))
        d.wait_processed()
        queued = d.query("SELECT kind FROM outbox")
        expect(queued == [], f"a tab switch queued {queued}")
        expect(replies(sim) == [], replies(sim))


def test_richmenu_deploy_is_idempotent_and_matches_the_contract():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        plan = ctl(d, "richmenu", "deploy", "--dry-run")
        expect("create  menu main" in plan and "create  menu info" in plan, plan)
        expect(not [r for r in sim.requests("/v2/") if r["method"] != "GET"],
               "a dry run changed something")
        out = ctl(d, "richmenu", "deploy")
        expect("done: 2 menu(s) to create" in out, out)
        first = sim.requests("/v2/")
        creates = [r for r in first if r["method"] == "POST" and r["path"] == "/v2/bot/richmenu"]
        expect(len(creates) == 2, creates)
        uploads = [r for r in first if r["path"].endswith("/content")]
        expect(len(uploads) == 2 and all(r["headers"]["content-type"] == "image/png"
                                         for r in uploads), uploads)
        live = line_get(sim, "/v2/bot/richmenu/list")["richmenus"]
        ids = {m["name"].split(":")[1]: m["richMenuId"] for m in live}
        expect(line_get(sim, "/v2/bot/user/all/richmenu")["richMenuId"] == ids["main"], live)
        aliases = {a["richMenuAliasId"]: a["richMenuId"]
                   for a in line_get(sim, "/v2/bot/richmenu/alias/list")["aliases"]}
        expect(aliases == {"main": ids["main"], "info": ids["info"]}, aliases)
        stored = dict(d.query("SELECT menu_id, line_id FROM richmenus"))
        expect(stored == ids, stored)
        listing = ctl(d, "richmenu", "list")
        expect(re.search(r"^main\s+" + ids["main"], listing, re.M) and
               re.search(r"^info\s+" + ids["info"], listing, re.M), listing)
        # Second deploy: nothing to create, nothing changed.
        out = ctl(d, "richmenu", "deploy")
        expect("done: 0 menu(s) to create, 0 other change(s)" in out, out)
        second = sim.requests("/v2/")[len(first):]
        expect(all(r["method"] == "GET" for r in second), second)
        contract_check([r for r in first if not r["path"].endswith("/content")])


def test_richmenu_deploy_replaces_a_changed_menu_and_deletes_the_old():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        ctl(d, "richmenu", "deploy")
        old = {m["name"]: m["richMenuId"]
               for m in line_get(sim, "/v2/bot/richmenu/list")["richmenus"]}
        d.write_config(open(d.config_path).read().replace("chat_bar_text: その他",
                                                          "chat_bar_text: もっと見る"))
        listing = ctl(d, "richmenu", "list")
        expect(re.search(r"^info\s+changed since the last deploy", listing, re.M), listing)
        out = ctl(d, "richmenu", "deploy")
        expect("created menu info" in out and "keep    menu main" in out, out)
        expect("update  alias info" in out and "delete  menu" in out, out)
        live = line_get(sim, "/v2/bot/richmenu/list")["richmenus"]
        expect(len(live) == 2, live)
        old_info = [v for k, v in old.items() if k.startswith("shokai:info:")][0]
        expect(old_info not in [m["richMenuId"] for m in live], live)


def test_menu_postback_links_the_deployed_menu():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        ctl(d, "richmenu", "deploy")
        info = d.query("SELECT line_id FROM richmenus WHERE menu_id = 'info'")[0][0]
        send(d, line_event(etype="postback", text="action=switch&to=info"))
        wait_until(lambda: sim.requests(f"/v2/bot/user/{USER}/richmenu/"), 10, "a link call")
        links = sim.requests(f"/v2/bot/user/{USER}/richmenu/")
        expect(links[0]["path"] == f"/v2/bot/user/{USER}/richmenu/{info}", links)


def test_works_bot_answers_rep_commands():
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        r = d.post_works(works_message(text="HELP"))
        expect(r.status == 200, r)
        wait_until(lambda: sim.requests("/v1.0/bots/"), 10, "a LINE WORKS message")
        sent = sim.requests("/v1.0/bots/")
        expect(json.loads(sent[0]["body"]) == {"content": {"type": "text",
                                                           "text": "ボットのヘルプです。"}}, sent)


def test_works_menu_deploy_sets_the_persistent_menu():
    menu = """      persistent_menu:
        - { type: message, label: ヘルプ, text: help }
        - { type: uri, label: ポータル, uri: "https://example.co.jp/portal" }
"""
    with Sim() as sim:
        cfg = config_for(sim).replace("lineworks:\n  bots:\n", "lineworks:\n  bots:\n", 1)
        # the persistent menu goes at the end of the first bot's mapping
        head, sep, tail = cfg.partition("\noutbox:")
        with chat_daemon(sim, CHAT, config=head + "\n" + menu + sep + tail) as d:
            out = ctl(d, "works-menu", "deploy")
            expect("persistent menu set (2 actions)" in out, out)
            got = sim.requests("/v1.0/bots/")
            expect(got[0]["path"].endswith("/persistentmenu"), got)
            expect(json.loads(got[0]["body"])["content"]["actions"][0] ==
                   {"type": "message", "label": "ヘルプ", "text": "help"}, got)


def check_errors(sim, extra):
    d = chat_daemon(sim, extra, start=False)
    try:
        return run_check(d.config_path)
    finally:
        shutil.rmtree(d.dir, ignore_errors=True)


def test_chat_config_errors_say_where():
    with Sim() as sim:
        cases = [
            (CHAT.replace("{company_name}です", "{compnay_name}です"),
             r"messages.greeting\[0\].text: unknown placeholder \{compnay_name\}"),
            (CHAT.replace("reply: price\n", "reply: prise\n"),
             r"auto_replies\[0\]: no message named 'prise' under messages"),
            (CHAT.replace('"^(営業時間|何時まで)"', '"^(営業時間"'),
             r"auto_replies\[1\].regex: invalid regular expression"),
            (CHAT.replace("alias: info\n    areas", "alias: infos\n    areas"),
             r"rich_menus\[0\].areas\[1\].action.alias: no menu here has the alias 'info'"),
            (CHAT.replace("size: { width: 2500, height: 843 }",
                          "size: { width: 2500, height: 1686 }"),
             r"rich_menus\[1\].image: \S+/info.png is 2500x843 pixels but the menu's size "
             r"is 2500x1686"),
            # An area action with an error, and a menu without areas (both once crashed
            # the loader; found by make fuzz).
            (CHAT.replace("data: action=faq, display_text: よくある質問",
                          "data: action=faq, label: とても長いラベルはLINEが受け付けない二十文字超"),
             r"rich_menus\[0\].areas\[0\].action.label: too long: 25 characters, at most 20"),
            (CHAT.replace("""    alias: info
    areas:
      - bounds: [0, 0, 2500, 843]
        action: { type: richmenuswitch, alias: main, data: action=switch&to=main }""",
                          "    alias: info"),
             r"rich_menus\[1\]: missing required key 'areas'"),
            # A date picker in a menu is checked as one in a template is (it was not).
            (CHAT.replace("action: { type: postback, data: action=faq, display_text: よくある質問 }",
                          "action: { type: datetimepicker, data: action=book, mode: bogus }"),
             r"rich_menus\[0\].areas\[0\].action.mode: must be date, time or datetime"),
            (CHAT.replace("    action: faq\n", "    action: faq\n    reply: hours\n"),
             r"auto_replies\[4\]: give reply or action, not both"),
            (CHAT.replace("[0, 0, 1250, 1686]", "[9223372036854775807, 0, 1250, 1686]"),
             r"rich_menus\[0\].areas\[0\].bounds.x: expected a whole number of pixels"),
            (CHAT.replace("action: faq", "action: nosuch"),
             r"auto_replies\[4\].action: no postback action 'nosuch'"),
            (CHAT.replace("postbacks:\n", "  - match: { contains: x }\n    hours: { days: mon-fry }"
                          "\n    reply: hours\npostbacks:\n"),
             r"auto_replies\[7\].hours.days: expected days"),
        ]
        for extra, pattern in cases:
            rc, out, err = check_errors(sim, extra)
            out += err
            expect(rc != 0 and re.search(r"shokai.yaml:\d+:\d+: " + pattern, out),
                   f"{pattern!r} not in:\n{out}")


def test_example_config_is_valid():
    """config/ as make run serves it (a checkout does not keep the secrets' mode 600)."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="shokai-example-")
    try:
        shutil.copytree(os.path.join(REPO, "config"), os.path.join(tmp, "config"))
        for name in os.listdir(os.path.join(tmp, "config", "secrets")):
            os.chmod(os.path.join(tmp, "config", "secrets", name), 0o600)
        rc, out, err = run_check(os.path.join(tmp, "config", "shokai.yaml"))
        expect(rc == 0, out + err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_reload_changes_replies_live():
    import signal
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(text="料金"))
        got = wait_replies(sim, 1)
        expect(got[0][0]["type"] == "template", got)
        good = open(d.config_path).read()
        d.write_config(good.replace("reply: price\n", "reply: nosuch\n"))
        d.signal(signal.SIGHUP)
        expect(d.wait_log(r"reload failed; the old config stays in force"), "bad reload")
        send(d, line_event(text="料金"))
        got = wait_replies(sim, 2)
        expect(got[1][0]["type"] == "template", got)
        d.write_config(good.replace("reply: price\n", "reply: hours\n"))
        d.signal(signal.SIGHUP)
        expect(d.wait_log(r"config reloaded"), "no reload")
        send(d, line_event(text="料金"))
        got = wait_replies(sim, 3)
        expect(got[2][0]["text"] == "営業時間は平日9時から18時です。", got)


def test_chat_replies_match_lines_contract():
    """Greeting, buttons template, quick replies, the polite unknown-postback line and a
    menu link, replayed against LINE's schema and the message validator."""
    extra = CHAT.replace("  hours: 営業時間は平日9時から18時です。", """  hours:
    - text: 営業時間は平日9時から18時です。
      quick_replies:
        - { type: message, label: 料金, text: 料金 }
        - { type: postback, label: よくある質問, data: action=faq, display_text: よくある質問 }
        - { type: datetimepicker, label: 予約, data: action=book, mode: date }""")
    with Sim() as sim, chat_daemon(sim, extra) as d:
        ctl(d, "richmenu", "deploy")
        sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田"})
        send(d, line_event(etype="follow"), line_event(text="料金"),
             line_event(text="営業時間"), line_event(etype="postback", text="action=nosuch"),
             line_event(etype="postback", text="action=switch&to=info"))
        wait_replies(sim, 4)
        wait_until(lambda: sim.requests(f"/v2/bot/user/{USER}/richmenu/"), 10, "a link")
        contract_check(sim.requests("/v2/bot/message/reply") +
                       sim.requests(f"/v2/bot/user/{USER}/richmenu/"))


def test_customer_text_never_reaches_the_log():
    """Nothing a customer typed appears in a log line at any level (issue 10, 7): not a
    text message, not a postback's data, not a quarantined body. The daemon runs at
    debug, its most verbose level; lengths, kinds and ids are logged instead."""
    canary = "CANARY-7f3a紹介したい"
    with Sim() as sim, chat_daemon(sim, CHAT) as d:
        send(d, line_event(text=canary))
        send(d, line_event(etype="postback", text="action=" + canary + "&x=" + canary))
        send(d, line_event(etype="postback", text="action=faq&x=" + canary))
        send(d, line_event(etype="postback", text=canary + "%zz"))
        send(d, line_event(etype="postback", text="action=menu&to=" + canary))
        for body in ('{"events": [' + canary + ']}', canary,
                     '{"destination": "' + canary + '", "events": 1}'):
            r = d.post_line(body.encode())
            expect(r.status == 200, r)
        r = d.post_works(works_message(text=canary))
        expect(r.status == 200, r)
        r = d.post_works(("{" + canary).encode())
        expect(r.status == 200, r)
        d.wait_processed()
        wait_until(lambda: d.query("SELECT count(*) FROM quarantine")[0][0] == 4, 5,
                   "4 quarantined bodies")
        expect(d.wait_log(r"postback not understood"), "no postback log line")
        expect(d.wait_log(r"msg=quarantined"), "no quarantine log line")
        d.stop()
        leaked = [ln for ln in d.log_lines() if "CANARY" in ln or "紹介" in ln]
        expect(not leaked, leaked)
