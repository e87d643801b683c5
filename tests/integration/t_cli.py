"""t_cli.py: the command lines a person expects (issue 15, part 5). `-h/--help` and
`--version` on both programs, help for every shokaictl command (from `help COMMAND` and
from `COMMAND --help`, without a config file), exit codes 0 done / 1 failed / 2 usage,
`--format table|csv|json` on every listing, and the commands that only read the database
working while the config on disk is broken (with a warning), while the ones that write
refuse."""
import csv
import io
import json
import os
import re
import subprocess

from harness import Daemon, expect, make_config
from sim import CTL, ctl, ctl_run

SHOKAID = os.environ.get("SHOKAID")

# Every shokaictl command, as `shokaictl --help` names it.
COMMANDS = ["check", "inbox", "quarantine", "outbox", "send", "richmenu", "works-menu",
            "referrals", "rewards", "import", "report", "rules", "profile", "works-link",
            "rep-link", "forget", "reset", "user", "token", "audit", "announce", "backup",
            "restore", "purge", "help"]

# Listings and a column each must have, in every format.
LISTINGS = [(["inbox"], "state"), (["quarantine"], "reason"), (["outbox", "all"], "state"),
            (["referrals", "list"], "state"), (["referrals", "typed"], "typed"),
            (["rewards", "list"], "state"), (["report"], None), (["audit"], "action"),
            (["user", "list"], "login"), (["token", "list"], "name"),
            (["announce", "list"], "state")]


def run(*args, config=None):
    cmd = [CTL] + (["-c", config] if config else []) + list(args)
    return subprocess.run(cmd, capture_output=True, timeout=10)


def test_help_and_version_without_a_config():
    # No -c and no /etc/shokai: help must never open a config.
    for args in (["--help"], ["-h"], ["help"]):
        r = run(*args, config="/nonexistent/shokai.yaml")
        out = r.stdout.decode()
        expect(r.returncode == 0, f"{args}: {r}")
        for name in COMMANDS:
            expect(re.search(rf"(?m)^  {re.escape(name)}\b", out), f"{args}: {name} missing")
    r = run("--version")
    expect(r.returncode == 0 and re.match(rb"shokaictl \d+\.\d+\.\d+\n$", r.stdout), r)
    for name in COMMANDS:
        for args in (["help", name], [name, "--help"], [name, "-h"]):
            r = run(*args, config="/nonexistent/shokai.yaml")
            out = r.stdout.decode()
            expect(r.returncode == 0, f"{args}: {r}")
            expect(f"shokaictl {name}" in out or name == "help", f"{args}: {out}")
    r = run("help", "nosuch")
    expect(r.returncode == 2 and b"no command 'nosuch'" in r.stderr, r)
    r = run("nosuch", config="/nonexistent/shokai.yaml")
    expect(r.returncode == 2 and b"unknown command 'nosuch'" in r.stderr, r)
    r = run("--bogus-option")
    expect(r.returncode == 2, r)
    r = run()
    expect(r.returncode == 2 and b"usage:" in r.stderr, r)


def test_shokaid_help_and_version():
    r = subprocess.run([SHOKAID, "--help"], capture_output=True, timeout=10)
    expect(r.returncode == 0 and b"--config FILE" in r.stdout and b"HUP" in r.stdout, r)
    r = subprocess.run([SHOKAID, "-h"], capture_output=True, timeout=10)
    expect(r.returncode == 0 and b"usage: shokaid" in r.stdout, r)
    for flag in ("--version", "-v"):
        r = subprocess.run([SHOKAID, flag], capture_output=True, timeout=10)
        expect(r.returncode == 0 and re.match(rb"shokaid \d+\.\d+\.\d+\n$", r.stdout), r)
    r = subprocess.run([SHOKAID], capture_output=True, timeout=10)
    expect(r.returncode == 2 and b"-c FILE is required" in r.stderr, r)
    r = subprocess.run([SHOKAID, "--frobnicate"], capture_output=True, timeout=10)
    expect(r.returncode == 2, r)


def test_exit_codes():
    with Daemon(config=make_config()) as d:
        # A usage error: 2, and the command's own help on stderr.
        r = ctl_run(d, "rewards", "frob")
        expect(r.returncode == 2 and b"shokaictl rewards list" in r.stderr, r)
        r = ctl_run(d, "outbox", "retry", "abc")
        expect(r.returncode == 2 and b"not an id" in r.stderr, r)
        r = ctl_run(d, "inbox", "--format", "xml")
        expect(r.returncode == 2 and b"expected table, csv or json" in r.stderr, r)
        # A well-formed command that fails: 1.
        r = ctl_run(d, "outbox", "retry", "999")
        expect(r.returncode == 1 and b"no failed message with id 999" in r.stderr, r)
        r = ctl_run(d, "rewards", "approve", "999")
        expect(r.returncode == 1, r)
        r = ctl_run(d, "check")
        expect(r.returncode == 0 and r.stdout == b"ok\n", r)


def test_every_listing_has_three_formats():
    with Daemon(config=make_config()) as d:
        # Something in the trays, so the formats have rows to show.
        ctl(d, "send", "line", "main", "U" + "5" * 32, "お知らせ")
        ctl(d, "user", "add", "ops", "--role", "admin", "--password-file",
            d.write_secret("pw", "a-long-password-1"))
        for args, column in LISTINGS:
            table = ctl(d, *args)
            expect(table.strip() != "", f"{args}: empty table")
            got_csv = ctl(d, *args, "--format", "csv")
            rows = list(csv.reader(io.StringIO(got_csv)))
            expect(len(rows) >= 1 and rows[0], f"{args}: no CSV header: {got_csv!r}")
            if column:
                expect(column in rows[0], f"{args}: CSV header {rows[0]} lacks {column}")
            got_json = ctl(d, *args, "--format=json")
            doc = json.loads(got_json)
            expect(isinstance(doc, list), f"{args}: JSON is not an array: {got_json[:200]}")
            if column and doc:
                expect(column in doc[0], f"{args}: JSON rows lack {column}: {doc[0]}")
        doc = json.loads(ctl(d, "outbox", "all", "--format", "json"))
        expect([r["kind"] for r in doc] == ["push"], doc)
        doc = json.loads(ctl(d, "user", "list", "--format", "json"))
        expect([u["login"] for u in doc] == ["ops"], doc)


def test_reading_commands_work_while_the_config_is_broken():
    with Daemon(config=make_config()) as d:
        ctl(d, "user", "add", "ops", "--role", "admin", "--password-file",
            d.write_secret("pw", "a-long-password-1"))
        good = open(d.config_path).read()
        # A syntax error in an included file, and a key the main file may not have.
        with open(d.path("extra.yaml"), "w") as f:
            f.write("messages:\n  broken: [\n")
        d.write_config(good + "\nnot_a_key: 1\ninclude:\n  - extra.yaml\n")
        for args in (["inbox"], ["outbox"], ["rewards", "list"], ["referrals", "list"],
                     ["report"], ["audit"], ["user", "list", "--format", "json"],
                     ["quarantine"], ["announce", "show", "1"]):
            r = ctl_run(d, *args)
            err = r.stderr.decode()
            if args[0] == "announce":  # no send 1: it fails, but it read the database
                expect(r.returncode == 1 and "warning:" in err, f"{args}: {r}")
                continue
            expect(r.returncode == 0, f"{args} on a broken config: {r}")
            expect("warning:" in err and "shokaictl check" in err, f"{args}: {err}")
        doc = json.loads(ctl_run(d, "user", "list", "--format", "json").stdout)
        expect([u["login"] for u in doc] == ["ops"], doc)
        # Whatever writes or needs the whole config refuses and shows the errors.
        for args in (["rewards", "approve", "1"], ["send", "line", "main", "U1", "x"],
                     ["user", "disable", "ops"], ["referrals", "typed", "decide", "main",
                                                  "U1", "X"], ["check"]):
            r = ctl_run(d, *args)
            expect(r.returncode == 1 and b"YAML syntax error" in r.stderr, f"{args}: {r}")
        # Even the storage section unreadable: nothing to fall back on.
        d.write_config("storage: [\n")
        r = ctl_run(d, "rewards", "list")
        expect(r.returncode == 1 and b"YAML syntax error" in r.stderr, r)
        d.write_config(good)
