"""t_invite.py: the invite as the example bot ships it (issue 14): written in the
customer's own voice, a copy button beside the share button, and every link in it
attributed, the rep's contact included: /r/{code}/rep counts the click, tells the rep which
referral the contact comes from and sends the friend on to the rep's LINE WORKS; the rep
then credits the friend with 紹介登録, through the same rules as a claim in LINE."""
import json
import os
import re
import urllib.parse

from harness import REPO, USER, expect, line_event, wait_until
from sim import Sim, contract_check, send, wait_replies
from t_referral import (FRIEND, claim_daemon, claim_text, pushes, rep_says, setup_referrer,
                        works_texts)

SHARE = "https://line.me/R/share?text="
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def make_code(body):
    """A well-formed code nobody was given: body (8 characters) and its check
    character, Luhn mod 32 as daemon/model/refcode.c computes it."""
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return body + ALPHABET[(32 - total % 32) % 32]


def example_invite_messages():
    """The invite, invite_no_rep and invite_preview blocks of config/messages.yaml, as
    written there (the example bot's own words are what is tested)."""
    text = open(os.path.join(REPO, "config", "messages.yaml"), encoding="utf-8").read()
    blocks = []
    for name in ("invite", "invite_no_rep", "invite_preview"):
        m = re.search(rf"^  {name}:.*?(?=^\s*\n^  [#a-z])", text, re.M | re.S)
        expect(m is not None, f"config/messages.yaml has no {name} block")
        blocks.append(m.group(0).rstrip() + "\n")
    return "".join(blocks)


def example_daemon(sim, rep=True):
    """claim_daemon (a rep with LINE WORKS, notify_bot) with the example's invite."""
    d = claim_daemon(sim)
    cfg = open(d.config_path, encoding="utf-8").read()
    start = cfg.index("  invite: ")
    end = cfg.index("postbacks:")
    d.write_config(cfg[:start] + example_invite_messages() + cfg[end:])
    return d


def shared_text(reply):
    uri = reply[1]["template"]["actions"][0]["uri"]
    expect(uri.startswith(SHARE) and len(uri) <= 1000, uri)
    return urllib.parse.unquote(uri[len(SHARE):])


def test_the_example_invite_speaks_in_the_senders_voice_and_can_be_copied():
    with Sim() as sim, example_daemon(sim) as d:
        code = setup_referrer(sim, d)        # 山田 花子, rep 高橋 美咲 of 新宿支店
        got = wait_replies(sim, 1)[0]
        text = shared_text(got)
        shown = f"{code[:4]}-{code[4:]}"
        expect(text.startswith("山田です。お世話になっている"), text)
        # The sender never calls themself さん or 様, and still signs by name.
        expect("山田 花子さん" not in text and "山田さん" not in text and "様" not in text, text)
        expect("株式会社テストの高橋さん（新宿支店）を紹介します。" in text, text)
        expect(f"【{shown}】" in text, text)
        expect(f"http://127.0.0.1/r/{code}\n" in text, text)
        expect(text.endswith(f"http://127.0.0.1/r/{code}/rep"), text)
        # No link goes around attribution: the rep's own contact is not in it.
        expect("works.do" not in text, text)
        # Formal text: full-width punctuation, no trailing newline.
        expect(not text.endswith("\n") and not any(c in text for c in "!?()"), text)
        actions = got[1]["template"]["actions"]
        expect([a["type"] for a in actions] == ["uri", "clipboard"], actions)
        expect(actions[1]["label"] == "文面をコピー" and actions[1]["clipboardText"] == text,
               actions[1])
        # LINE's loading animation ran while the invite waited for the sender's name.
        paths = [(r["path"], json.loads(r["body"] or "null")) for r in sim.requests("/v2/bot/")
                 if r["path"] in ("/v2/bot/chat/loading/start", "/v2/bot/message/reply")]
        expect(paths[0] == ("/v2/bot/chat/loading/start", {"chatId": USER, "loadingSeconds": 5})
               and paths[1][0] == "/v2/bot/message/reply", paths)
        contract_check(sim.requests("/v2/bot/message/reply") +
                       sim.requests("/v2/bot/chat/loading/start"))


def test_the_rep_link_counts_tells_the_rep_and_opens_the_reps_contact():
    with Sim() as sim, example_daemon(sim) as d:
        code = setup_referrer(sim, d)
        for _ in range(2):
            r = d.request("GET", f"/r/{code}/rep")
            expect(r.status == 302 and r.headers["location"] == "https://works.do/R0a1b2c", r)
        clicks = d.query("SELECT code, reason, rep_code, branch FROM referral_events WHERE "
                         "type = 'clicked'")
        expect(clicks == [(code, "rep", "R001", "shinjuku")] * 2, clicks)
        wait_until(lambda: works_texts(sim), 10, "the rep told of the contact")
        told = works_texts(sim)
        # Told once per code and hour, with the code to register the friend by.
        expect(len(told) == 1 and "山田 花子 様のご紹介" in told[0] and
               f"紹介登録 {code[:4]}-{code[4:]}" in told[0], told)
        r = d.request("GET", f"/r/{code}/nope")
        expect(r.status == 404, r)


def test_a_rep_registers_a_friend_who_wrote_directly_and_the_referrer_is_credited():
    with Sim() as sim, example_daemon(sim) as d:
        code = setup_referrer(sim, d)
        shown = f"{code[:4]}-{code[4:]}"
        rep_says(d, f"紹介登録 {shown.lower()} 佐藤 次郎")
        refs = d.query("SELECT referrer_id, referee_id, rep_code, state, code FROM referrals")
        expect(len(refs) == 1 and refs[0][0] == USER and refs[0][1].startswith("works:R001:")
               and refs[0][2:] == ("R001", "claimed", code), refs)
        ev = d.query("SELECT type, actor FROM referral_events WHERE type = 'claimed'")
        expect(ev == [("claimed", "rep:R001")], ev)
        wait_until(lambda: works_texts(sim) and pushes(sim), 10, "the rep's answer and the push")
        expect(works_texts(sim)[0] == "佐藤 次郎 様を 山田 花子 様のご紹介として登録しました"
               "（紹介 #1）。", works_texts(sim))
        p = pushes(sim)
        expect(len(p) == 1 and p[0]["to"] == USER and
               "登録されました" in p[0]["messages"][0]["text"], p)
        # The same friend again: one referral, the rep is told it cannot be.
        rep_says(d, f"紹介登録 {code} 佐藤 次郎")
        wait_until(lambda: len(works_texts(sim)) >= 2, 10, "the second answer")
        expect("登録できませんでした" in works_texts(sim)[1], works_texts(sim))
        expect(d.query("SELECT count(*) FROM referrals")[0][0] == 1, "registered twice")
        # An unknown code, and a command without a name.
        bad = make_code("ZZZZ" + code[4:8] if not code.startswith("ZZZZ") else "YYYY" + code[4:8])
        rep_says(d, f"紹介登録 {bad} 鈴木")
        rep_says(d, f"紹介登録 {code}")
        wait_until(lambda: len(works_texts(sim)) >= 4, 10, "two more answers")
        texts = works_texts(sim)
        expect(texts[2].startswith(f"紹介コード {bad[:4]}-{bad[4:]} は見つかりません"), texts)
        expect(texts[3].startswith("「紹介登録 コード お名前」"), texts)
        # Nothing was ever pushed to the registered friend, who has no LINE chat.
        expect(all(not q["to"].startswith("works:") for q in pushes(sim)), pushes(sim))


def test_a_claim_in_line_and_a_registration_for_the_same_code_are_two_friends():
    with Sim() as sim, example_daemon(sim) as d:
        code = setup_referrer(sim, d)
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        rep_says(d, f"紹介登録 {code} 佐藤 次郎")
        refs = d.query("SELECT referee_id FROM referrals ORDER BY id")
        expect(len(refs) == 2 and refs[0][0] == FRIEND, refs)
        names = d.query("SELECT display_name FROM profiles WHERE user_id = ?", (refs[1][0],))
        expect(names == [("佐藤 次郎",)], names)
