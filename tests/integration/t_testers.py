"""t_testers.py: rehearsal (issue 14, part 11). People listed under testers: walk the
flow on the real channel; their events are not counted in shokaictl report, and
`shokaictl reset USER` clears a tester's referral state (so the next follow is a new
friend's) and refuses anyone else with a clear error. A malformed tester id is a load
error."""
import datetime
import json
import os
import subprocess

from harness import expect, line_event
from sim import INVITE_CHAT, CTL, Sim, chat_daemon, ctl, ctl_run, send

TODAY = datetime.date.today()
TESTER = "U" + "7" * 32
FRIEND = "U" + "8" * 32
CUSTOMER = "U" + "9" * 32


def config(testers=f"[{TESTER}, {FRIEND}]"):
    return f"""
company_name: 株式会社テスト
testers: {testers}
messages:
{INVITE_CHAT}campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
"""


def refer(d, who):
    send(d, line_event(etype="postback", text="action=refer", user=who))
    d.wait_processed()
    return d.query("SELECT code FROM referral_codes WHERE user_id = ?", (who,))[0][0]


def claim(d, who, code):
    send(d, line_event(text=f"紹介コード {code} で問い合わせます", user=who))
    d.wait_processed()


def report(d):
    return json.loads(ctl(d, "report", "--by", "campaign", "--format", "json") or "[]")


def test_testers_are_not_counted_and_can_be_reset():
    with Sim() as sim, chat_daemon(sim, config()) as d:
        code = refer(d, TESTER)
        r = d.request("GET", f"/r/{code}")
        expect(r.status == 302, r)
        claim(d, FRIEND, code)
        real = refer(d, CUSTOMER)
        claim(d, "U" + "a" * 32, real)
        rows = d.query("SELECT referrer_id, state FROM referrals ORDER BY id")
        expect(rows == [(TESTER, "claimed"), (CUSTOMER, "claimed")], rows)
        # Only the customer's invite and claim are counted, not the tester's click.
        rep = report(d)
        expect(len(rep) == 1 and rep[0]["issued"] == 1 and rep[0]["claimed"] == 1 and
               rep[0]["clicked"] == 0, rep)

        # A customer is not a tester: refused, nothing deleted.
        p = ctl_run(d, "reset", CUSTOMER)
        expect(p.returncode == 1 and b"not listed under testers" in p.stderr, p.stderr)
        expect(d.query("SELECT count(*) FROM referral_codes WHERE user_id = ?",
                       (CUSTOMER,))[0][0] == 1, "the customer's code is kept")

        out = ctl(d, "reset", TESTER)
        expect(out.startswith(f"reset {TESTER}:"), out)
        for table, col in (("referral_codes", "user_id"), ("referrals", "referrer_id"),
                           ("referral_events", "referrer_id"), ("users", "user_id")):
            n = d.query(f"SELECT count(*) FROM {table} WHERE {col} = ?", (TESTER,))[0][0]
            expect(n == 0, f"{table} still has the tester")
        # The friend's claim went with the tester's code; the friend's own row stays
        # until they are reset too.
        expect(d.query("SELECT count(*) FROM referrals WHERE referee_id = ?",
                       (FRIEND,))[0][0] == 0, "the friend's referral is gone")
        ctl(d, "reset", FRIEND)
        # The customer's referral is untouched, and the report still adds up.
        rows = d.query("SELECT referrer_id, state FROM referrals")
        expect(rows == [(CUSTOMER, "claimed")], rows)
        rep = report(d)
        expect(len(rep) == 1 and rep[0]["issued"] == 1 and rep[0]["claimed"] == 1, rep)
        # Walked again: a new code, a new claim.
        code2 = refer(d, TESTER)
        claim(d, FRIEND, code2)
        rows = d.query("SELECT state FROM referrals WHERE referrer_id = ?", (TESTER,))
        expect(rows == [("claimed",)], rows)


def test_a_malformed_tester_is_a_load_error():
    with Sim() as sim, chat_daemon(sim, config("[U123, " + TESTER + ", " + TESTER + "]"),
                                   start=False) as d:
        r = subprocess.run([CTL, "-c", d.config_path, "check"], capture_output=True,
                           timeout=10)
        err = r.stderr.decode() + r.stdout.decode()
        expect(r.returncode != 0, err)
        expect("testers[0]: expected a LINE user id" in err, err)
        expect("is listed twice" in err, err)
        expect(os.path.exists(d.config_path), d.config_path)
