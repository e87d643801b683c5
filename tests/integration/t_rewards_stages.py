"""t_rewards_stages.py: reward stages and partners through the simulator (issue 14,
points 6 and 7). A partner imported with `import customers` (the partner column) earns
the campaign's partner stage at the rep's 面談設定 and gets its coupon; the contract's
stage falls due at 成約; the friend's block voids what is still pending. A customer's
referral earns no partner stage. A partner's code registers a client who already follows
the account (partner_clients); a customer's does not. `import coupons` to a pool no
campaign names is refused without --new-pool, and /healthz's coupon_pool_empty is a gauge
that falls back to 0."""
import json
import time

from harness import USER, expect, line_event, wait_until
from sim import Sim, ctl, ctl_run, send
from t_referral import FRIEND, claim_daemon, claim_text, pushes, rep_says, state_of

STAGES = """    void_on: [block, lost]
    rewards:
      - { due_on: meeting, audience: partners, approval: auto, hold: 0s,
          referrer: { pool: partner-meeting, message: reward_partner } }
      - { due_on: won, approval: manual, hold: 0s,
          referee: { pool: gift, message: reward_referee } }
"""


def stages_daemon(sim, rules="{ partner_clients: true }"):
    d = claim_daemon(sim, rules)
    cfg = open(d.config_path).read()
    cfg = cfg.replace("    ends: ", STAGES + "    ends: ", 1)
    cfg = cfg.replace("messages:\n", "messages:\n"
                      "  reward_partner: \"パートナー特典です: {coupon_code}\"\n"
                      "  reward_referee: \"ご成約特典です: {coupon_code}\"\n", 1)
    d.write_config(cfg)
    return d


def write(d, name, text):
    with open(d.path(name), "w") as f:
        f.write(text)
    return d.path(name)


def issue_code(d):
    """USER's code (a follow's welcome may be the first reply: wait for the code)."""
    send(d, line_event(etype="postback", text="action=refer"))
    wait_until(lambda: d.query("SELECT code FROM referral_codes WHERE user_id = ?", (USER,)),
               10, "the code issued")
    return d.query("SELECT code FROM referral_codes WHERE user_id = ?", (USER,))[0][0]


def referred(sim, d, partner):
    """USER imported (a partner or not) with rep R001, their code claimed by FRIEND."""
    sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
    sim.call("POST", "/_sim/profile", {"userId": FRIEND, "displayName": "鈴木 一郎"})
    row = f"{USER},R001,,partner\n" if partner else f"{USER},R001\n"
    out = ctl(d, "import", "customers", write(d, "customers.csv",
                                              "user_id,rep_code,channel,partner\n" + row))
    expect("1 customer(s) imported" in out, out)
    code = issue_code(d)
    send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
    d.wait_processed()
    expect(state_of(d) == "claimed", state_of(d))


def coupon_texts(sim):
    return sorted((p["to"], p["messages"][0]["text"]) for p in pushes(sim)
                  if "特典です" in p["messages"][0]["text"])


def test_partner_reward_at_the_meeting_and_a_reward_voided_by_a_block():
    with Sim() as sim:
        d = stages_daemon(sim)
        with d:
            ctl(d, "import", "coupons", "partner-meeting", write(d, "p.txt", "PM-0001\n"))
            referred(sim, d, partner=True)
            tags = d.query("SELECT tag, user_id FROM customer_tags")
            expect(tags == [("partner", USER)], tags)
            expect(d.query("SELECT count(*) FROM rewards") == [(0,)], "due at the claim")
            rep_says(d, "面談設定 #1")
            expect(state_of(d) == "meeting", state_of(d))
            wait_until(lambda: coupon_texts(sim) == [(USER, "パートナー特典です: PM-0001")],
                       10, "the partner's coupon at the meeting")
            rw = d.query("SELECT side, pool, state, stage, coupon_code FROM rewards")
            expect(rw == [("referrer", "partner-meeting", "issued", 0, "PM-0001")], rw)
            rep_says(d, "成約 #1")
            expect(state_of(d) == "won", state_of(d))
            rw = d.query("SELECT id, side, pool, state, stage FROM rewards ORDER BY id")
            expect(rw == [(1, "referrer", "partner-meeting", "issued", 0),
                          (2, "referee", "gift", "pending", 1)], rw)
            # The friend blocks before an operator approved the contract's reward.
            send(d, line_event(etype="unfollow", source={"type": "user", "userId": FRIEND},
                               timestamp=int(time.time() * 1000)))
            d.wait_processed()
            rw = d.query("SELECT id, state, coalesce(note, '-') FROM rewards ORDER BY id")
            expect(rw == [(1, "issued", "-"), (2, "voided", "referee_blocked")], rw)
            ev = d.query("SELECT reason, actor FROM referral_events WHERE type = 'reward' "
                         "ORDER BY id")
            expect(ev == [("pending:referrer", "system"), ("approved:referrer", "system"),
                          ("issued:referrer", "system"), ("pending:referee", "system"),
                          ("voided:referee", "system")], ev)
            p = ctl_run(d, "rewards", "approve", "2")
            expect(p.returncode == 1, p.stderr)
            # shokaictl shows the stage of each reward and the partner apart.
            listed = ctl(d, "rewards", "list").splitlines()
            expect(listed[0].split()[:4] == ["id", "referral", "side", "stage"], listed)
            listed = ctl(d, "referrals", "list", "--format", "csv").splitlines()
            expect(listed[0].startswith("id,campaign,code,referrer,kind,") and
                   f"{USER},partner," in listed[1], listed)
            # Beside each code, the words the console shows: the config's state labels,
            # the console's text for rewards and events.
            rows = json.loads(ctl(d, "rewards", "list", "--format", "json"))
            expect([(r["state"], r["state_words"]) for r in rows] ==
                   [("issued", "発行済み"), ("voided", "取消")], rows)
            rows = json.loads(ctl(d, "referrals", "list", "--format", "json"))
            expect([(r["state"], r["state_words"]) for r in rows] == [("won", "成約")], rows)
            shown = ctl(d, "referrals", "show", "1")
            expect("state_words" in shown and "成約" in shown and "登録" in shown and
                   "type_words" in shown, shown)
            rows = json.loads(ctl(d, "report", "--by", "partner", "--format", "json"))
            expect([(r["referrer_kind"], r["claimed"], r["won"]) for r in rows] ==
                   [("partner", 1, 1)], rows)


def test_customer_earns_no_partner_stage_and_lost_voids():
    with Sim() as sim:
        d = stages_daemon(sim)
        with d:
            referred(sim, d, partner=False)
            rep_says(d, "面談設定 #1")
            expect(state_of(d) == "meeting", state_of(d))
            expect(d.query("SELECT count(*) FROM rewards") == [(0,)], "a partner stage paid")
            rep_says(d, "失注 #1")
            expect(state_of(d) == "lost", state_of(d))
            expect(d.query("SELECT count(*) FROM rewards") == [(0,)], "a reward when lost")


def test_import_coupons_to_an_unnamed_pool_needs_new_pool():
    with Sim() as sim:
        d = stages_daemon(sim)
        with d:
            path = write(d, "c.txt", "X-1\n")
            p = ctl_run(d, "import", "coupons", "gfit", path)
            err = p.stderr.decode()
            expect(p.returncode == 1 and "pool 'gfit': no campaign's reward names it" in err
                   and "--new-pool" in err, err)
            expect(d.query("SELECT count(*) FROM coupons") == [(0,)], "imported anyway")
            out = ctl(d, "import", "coupons", "--new-pool", "spring", path)
            expect("1 coupon code(s) imported" in out, out)
            out = ctl(d, "import", "coupons", "gift", path)
            expect("1 coupon code(s) imported" in out, out)


def test_healthz_counts_rewards_waiting_for_an_empty_pool():
    with Sim() as sim:
        d = stages_daemon(sim)
        with d:
            referred(sim, d, partner=True)
            rep_says(d, "面談設定 #1")
            # Approved (auto, hold 0s), no code in partner-meeting: one waits.
            wait_until(lambda: d.healthz()["coupon_pool_empty"] == 1, 10, "the gauge at 1")
            time.sleep(2.5)  # ticks go by: a gauge, not a count of seconds
            expect(d.healthz()["coupon_pool_empty"] == 1, d.healthz())
            ctl(d, "import", "coupons", "partner-meeting", write(d, "p.txt", "PM-9\n"))
            wait_until(lambda: d.healthz()["coupon_pool_empty"] == 0, 10, "the gauge at 0")
            # The gauge falls once codes exist; the issue commits a moment later.
            wait_until(lambda: d.query("SELECT state FROM rewards") == [("issued",)], 10,
                       "the reward to be issued")


def test_partner_may_register_a_client_who_already_follows():
    """partner_clients: a partner's code registers a client who followed the account
    before the code was issued; the same claim on a customer's code is existing_friend."""
    for partner in (True, False):
        with Sim() as sim:
            d = stages_daemon(sim)
            with d:
                send(d, line_event(etype="follow", source={"type": "user", "userId": FRIEND},
                                   timestamp=int(time.time() * 1000) - 3600000))
                d.wait_processed()
                if partner:
                    referred(sim, d, partner=True)
                    continue
                sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
                ctl(d, "import", "customers", write(d, "c.csv", f"{USER},R001\n"))
                code = issue_code(d)
                send(d, line_event(text=claim_text(code),
                                   source={"type": "user", "userId": FRIEND}))
                d.wait_processed()
                got = d.query("SELECT type, reason FROM referral_events WHERE type = "
                              "'rejected'")
                expect(got == [("rejected", "existing_friend")], got)
