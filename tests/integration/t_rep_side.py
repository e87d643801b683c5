"""t_rep_side.py: what a rep meets on LINE WORKS (issue 14, part 5): 一覧 with the
friend's name (masked where the campaign says so), state and age; a member who is not a
rep is told so when they use a rep's command; reps listed by login e-mail are known by
the member id LINE WORKS callbacks really carry, resolved through the directory."""
import re

from harness import expect, line_event, wait_until
from sim import Sim, contract_check, replies, send
from t_referral import (FRIEND, REP_WORKS, claim_daemon, claim_text, pushes, rep_says,
                        setup_referrer, works_texts)

STRANGER = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"


def claimed(sim, d):
    code = setup_referrer(sim, d)
    send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
    d.wait_processed()
    return code


def test_rep_list_shows_names_state_and_age():
    with Sim() as sim, claim_daemon(sim) as d:
        claimed(sim, d)
        rep_says(d, "一覧")
        wait_until(lambda: [t for t in works_texts(sim) if t.startswith("対応中")], 10,
                   "the list")
        listed = [t for t in works_texts(sim) if t.startswith("対応中")][0]
        # The day in the daemon's timezone (the config's), whatever this machine's is.
        expect(re.search(r"\n#1 鈴木 一郎 様 新規 \d\d/\d\d（0日経過）\n", listed), repr(listed))


def test_rep_list_masks_the_friend_where_the_campaign_says_so():
    with Sim() as sim:
        d = claim_daemon(sim, rules="{ show_friend_name_to_rep: false }")
        with d:
            claimed(sim, d)
            rep_says(d, "一覧")
            wait_until(lambda: [t for t in works_texts(sim) if t.startswith("対応中")], 10,
                       "the list")
            listed = [t for t in works_texts(sim) if t.startswith("対応中")][0]
            expect("#1 鈴* 様 新規" in listed and "鈴木 一郎" not in listed, listed)


def test_a_member_who_is_not_a_rep_is_told_whom_to_ask():
    with Sim() as sim, claim_daemon(sim) as d:
        claimed(sim, d)
        for text in ("一覧", "成約 #1", "紹介登録 ADYB-GHTA7 山田"):
            rep_says(d, text, user=STRANGER)
        wait_until(lambda: len(works_texts(sim, user=STRANGER)) >= 3, 10, "three answers")
        texts = works_texts(sim, user=STRANGER)
        expect(all(t.startswith("担当者として登録されていません。") for t in texts), texts)
        expect(d.query("SELECT state FROM referrals") == [("claimed",)], "a stranger moved it")


def test_a_rep_listed_by_login_email_is_known_by_the_member_id_callbacks_carry():
    with Sim() as sim, claim_daemon(sim) as d:
        claimed(sim, d)
        wait_until(lambda: d.query("SELECT member_id FROM rep_members WHERE login = ?",
                                   (REP_WORKS,)), 15, "the rep's member id resolved")
        member = d.query("SELECT member_id FROM rep_members")[0][0]
        expect(member != REP_WORKS and "@" not in member, member)
        lookups = [r for r in sim.requests("/v1.0/users/") if "link-url" not in r["path"]]
        expect(lookups and lookups[0]["path"] == "/v1.0/users/takahashi%40example.co.jp",
               lookups)
        rep_says(d, "成約 #1", user=member)
        expect(d.query("SELECT state FROM referrals") == [("won",)],
               d.query("SELECT state FROM referrals"))
        actors = d.query("SELECT actor FROM referral_events WHERE type = 'state'")
        expect(actors == [("rep:R001",)], actors)


def test_the_friend_hears_from_the_rep_by_name_where_the_campaign_says_so():
    with Sim() as sim:
        d = claim_daemon(sim)
        cfg = open(d.config_path, encoding="utf-8").read()
        d.write_config(cfg.replace("    ends: ", "    referee_sender: rep\n"
                                   "    referee_sender_icon_url: https://example.jp/rep.png\n"
                                   "    ends: ", 1))
        with d:
            claimed(sim, d)
            wait_until(lambda: len(replies(sim)) >= 2, 10, "the thanks to the friend")
            thanks = replies(sim)[-1]
            expect(all(m.get("sender") == {"name": "高橋 美咲",
                                           "iconUrl": "https://example.jp/rep.png"}
                       for m in thanks), thanks)
            # The referrer's push still comes from the account.
            expect(all("sender" not in m for p in pushes(sim) for m in p["messages"]),
                   pushes(sim))
            contract_check(sim.requests("/v2/bot/message/reply"))
