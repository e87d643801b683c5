"""t_rules.py: `shokaictl rules replay`: the recorded claims decided again by the rules
of a config the daemon has not loaded, read-only, with what that changes in rewards."""
import datetime
import hashlib
import json
import re
import subprocess

from harness import USER, expect, line_event
from sim import CTL, Sim, ctl_run, send
from t_referral import claim_daemon, claim_text, setup_referrer

TODAY = datetime.date.today()
FRIENDS = ["U" + c * 32 for c in "1234"]


def rewards_daemon(sim, cap):
    """Claims capped at `cap` a month per referrer; a reward for each side at the claim."""
    d = claim_daemon(sim, f"{{ max_claims_per_referrer: {{ count: {cap}, per: month }} }}")
    cfg = open(d.config_path).read()
    cfg = cfg.replace("    ends: ", "    reward: { due_on: claim, approval: manual, hold: 0s, "
                      "referrer: { pool: quo, message: reward_referrer }, "
                      "referee: { pool: gift, message: reward_referee } }\n    ends: ", 1)
    cfg = cfg.replace("messages:\n", "messages:\n"
                      "  reward_referrer: \"ご紹介特典です: {coupon_code}\"\n"
                      "  reward_referee: \"ご登録特典です: {coupon_code}\"\n", 1)
    d.write_config(cfg)
    return d


def claim_all(sim, d, friends):
    code = setup_referrer(sim, d)
    for f in friends:
        send(d, line_event(text=claim_text(code), source={"type": "user", "userId": f}))
        d.wait_processed()
    return code


def snapshot(d):
    rows = d.query("SELECT * FROM referrals ORDER BY id") + \
        d.query("SELECT * FROM referral_events ORDER BY id") + \
        d.query("SELECT * FROM rewards ORDER BY id")
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def with_cap(d, cap, name):
    """The daemon's config with another cap, in its folder (paths stay right)."""
    cfg = open(d.config_path).read()
    cfg = re.sub(r"max_claims_per_referrer: \{ count: \d+,",
                 f"max_claims_per_referrer: {{ count: {cap},", cfg, count=1)
    path = d.path(name)
    with open(path, "w") as f:
        f.write(cfg)
    return path


def replay(config, *args):
    """shokaictl -c CONFIG rules replay ARGS: another config than the daemon's."""
    return subprocess.run([CTL, "-c", config, "rules", "replay"] + list(args),
                          capture_output=True, timeout=10)


def test_replay_of_a_tightened_cap_shows_exactly_the_claims_it_would_flip():
    since = str(TODAY - datetime.timedelta(days=1))
    with Sim() as sim, rewards_daemon(sim, 5) as d:
        code = claim_all(sim, d, FRIENDS)
        got = d.query("SELECT type FROM referral_events WHERE type IN ('claimed', "
                      "'rejected') ORDER BY id")
        expect(got == [("claimed",)] * 4, got)
        expect(d.query("SELECT count(*) FROM rewards") == [(8,)], "a reward per side")
        before = snapshot(d)
        # The same rules: nothing flips.
        r = replay(d.config_path, "--since", since)
        expect(r.returncode == 0, r.stderr)
        out = r.stdout.decode()
        expect("4 claim(s) since" in out and ": 0 would be decided otherwise" in out, out)
        r = replay(d.config_path, "--since", since, "--format", "json")
        expect(r.returncode == 0 and json.loads(r.stdout) == [], r)
        # A cap of 2: the third and fourth friends' claims, and their 4 rewards.
        tight = with_cap(d, 2, "tight.yaml")
        r = replay(tight, "--since", since, "--format", "csv")
        expect(r.returncode == 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        expect(lines[0] == "at,claim,code,referrer,friend,was,would_be,rewards", lines)
        flips = [line.split(",")[1:] for line in lines[1:]]
        expect(flips == [["#3", code, USER, FRIENDS[2], "accepted", "rejected: referrer_cap",
                          "-2"],
                         ["#4", code, USER, FRIENDS[3], "accepted", "rejected: referrer_cap",
                          "-2"]], flips)
        r = replay(tight, "--since", since)
        out = r.stdout.decode()
        expect("2 would be decided otherwise (0 accepted, 2 rejected, 0 held)" in out and
               "Rewards: 4 would not be given" in out, out)
        # Read-only: the database is as it was, and the daemon still runs cap 5.
        expect(snapshot(d) == before, "the replay wrote to the database")
        # Since after the claims (the config's local date may be a day ahead): none.
        r = replay(tight, "--since", str(TODAY + datetime.timedelta(days=2)))
        expect("0 claim(s) since" in r.stdout.decode(), r.stdout)


def test_replay_of_a_loosened_cap_accepts_the_rejected_claims_it_would_let_through():
    since = str(TODAY - datetime.timedelta(days=1))
    with Sim() as sim, rewards_daemon(sim, 1) as d:
        claim_all(sim, d, FRIENDS[:3])
        got = [r for r, in d.query("SELECT coalesce(reason, type) FROM referral_events "
                                   "WHERE type IN ('claimed', 'rejected') ORDER BY id")]
        expect(got == ["claimed", "referrer_cap", "referrer_cap"], got)
        # A cap of 2 lets the second through, never the third: the replay counts the
        # claims it accepts itself.
        r = replay(with_cap(d, 2, "two.yaml"), "--since", since)
        out = r.stdout.decode()
        expect(r.returncode == 0, r.stderr)
        expect(FRIENDS[1] in out and FRIENDS[2] not in out, out)
        expect("1 would be decided otherwise (1 accepted, 0 rejected, 0 held)" in out and
               "2 more would be due at the claim" in out, out)


def test_replay_of_a_velocity_rule_holds_the_burst_and_its_rewards_wait():
    since = str(TODAY - datetime.timedelta(days=1))
    with Sim() as sim, rewards_daemon(sim, 5) as d:
        claim_all(sim, d, FRIENDS[:3])
        cfg = open(d.config_path).read().replace(
            "{ max_claims_per_referrer:", "{ velocity: { claims: 1, within: 10m }, "
            "max_claims_per_referrer:", 1)
        path = d.path("velocity.yaml")
        with open(path, "w") as f:
            f.write(cfg)
        r = replay(path, "--since", since, "--format", "json")
        expect(r.returncode == 0, r.stderr)
        flips = [(f["friend"], f["was"], f["would_be"], f["rewards"])
                 for f in json.loads(r.stdout)]
        expect(flips == [(FRIENDS[1], "accepted", "held", -2),
                         (FRIENDS[2], "accepted", "held", -2)], flips)
        out = replay(path, "--since", since).stdout.decode()
        expect("(0 accepted, 0 rejected, 2 held)" in out and
               "0 would not be given, 4 would wait for review" in out, out)


def test_replay_refuses_a_date_that_is_not_one():
    with Sim() as sim, claim_daemon(sim) as d:
        for bad in ("2026-02-30", "2026-13-01", "yesterday", "2026-1-1"):
            r = ctl_run(d, "rules", "replay", "--since", bad)
            expect(r.returncode == 1 and b"not a date" in r.stderr, (bad, r))
        r = ctl_run(d, "rules", "replay")
        expect(r.returncode == 2 and b"rules replay --since" in r.stderr, r)
