"""t_report.py: `shokaictl report`: a code issued before its customer had a rep counts
for the rep the referral ends with, names beside codes, the console's rates beside the
counts, and dates that are not dates refused rather than answered with an empty table."""
import json
import time

from harness import USER, expect, line_event
from sim import Sim, ctl, ctl_run, send
from t_referral import FRIEND, claim_daemon, claim_text, issue_code


def test_a_code_issued_before_the_rep_counts_for_the_rep_the_referral_ends_with():
    with Sim() as sim, claim_daemon(sim) as d:
        sim.call("POST", "/_sim/profile", {"userId": USER, "displayName": "山田 花子"})
        code = issue_code(sim, d)             # no rep yet: the issued event has none
        rep = d.query("SELECT rep_code FROM referral_events WHERE type = 'issued'")
        expect(rep == [(None,)], rep)
        con = d.db()
        con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, "
                    "assigned_at) VALUES ('main', ?, 'R001', 'import', 1)", (USER,))
        con.commit()
        send(d, line_event(etype="follow", source={"type": "user", "userId": FRIEND},
                           timestamp=int(time.time() * 1000)))
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": FRIEND}))
        d.wait_processed()
        rows = json.loads(ctl(d, "report", "--by", "rep", "--format", "json"))
        expect(len(rows) == 1, rows)
        row = rows[0]
        expect((row["rep"], row["rep_name"], row["branch"], row["branch_name"]) ==
               ("R001", "高橋 美咲", "shinjuku", "新宿支店"), row)
        expect((row["issued"], row["claimed"], row["claim_rate"], row["win_rate"]) ==
               (1, 1, None, 0.0), row)   # no click recorded: no claim rate
        rows = json.loads(ctl(d, "report", "--by", "branch", "--format", "json"))
        expect([(r["branch"], r["branch_name"], r["issued"]) for r in rows] ==
               [("shinjuku", "新宿支店", 1)], rows)
        rows = json.loads(ctl(d, "report", "--by", "campaign", "--format", "json"))
        expect([(r["campaign"], r["campaign_name"]) for r in rows] ==
               [("now", "いまのキャンペーン")], rows)
        # csv stays, with the same columns.
        text = ctl(d, "report", "--by", "rep", "--format", "csv")
        expect(text.splitlines()[0].startswith("rep,rep_name,branch,branch_name,issued,"), text)
        expect(text.splitlines()[0].endswith(",claimed_won,click_rate,claim_rate,win_rate"),
               text)


def test_report_refuses_dates_that_are_not_dates():
    with Sim() as sim, claim_daemon(sim) as d:
        for args, want in [
                (("--from", "2026-02-30"), b"report --from 2026-02-30: not a date"),
                (("--to", "2026-13-01"), b"report --to 2026-13-01: not a date"),
                (("--from", "12/01"), b"report --from 12/01: not a date"),
                (("--from", "2026-12-31", "--to", "2026-12-01"),
                 b"report --to 2026-12-01 is before --from 2026-12-31")]:
            r = ctl_run(d, "report", "--by", "rep", *args)
            expect(r.returncode == 1 and want in r.stderr and r.stdout == b"", (args, r))
        r = ctl_run(d, "report", "--from", "2026-12-01", "--to", "2026-12-01")
        expect(r.returncode == 0, r.stderr)
