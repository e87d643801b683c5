"""t_backup.py: backups, restore and retention (issue 15, part 3). A backup taken while
webhooks stream in is a whole database (integrity_check) holding every event answered
200 before it started, and shokaid runs on it once restored; restore refuses while
shokaid runs and refuses a file that is not a database, and keeps the database it
replaces; the daemon's daily backup is taken, checked and pruned to `keep`; retention
deletes only what is old (and not what is waiting, failed or a referral's fact), both
from `shokaictl purge` and from the daemon's own upkeep."""
import os
import sqlite3
import time

from harness import Daemon, KeepAliveLoad, expect, line_body, line_event, make_config, wait_until
from sim import ctl, ctl_run

DAY_MS = 86400 * 1000


def answered_ids(load):
    with load.lock:
        return {e for eids, r, _ in load.results if r[0] == "answer" and r[1] == 200
                for e in eids}


def test_a_backup_under_load_restores_with_every_acknowledged_event():
    with Daemon() as d:
        load = KeepAliveLoad(d.port, threads=3).start()
        try:
            wait_until(lambda: len(answered_ids(load)) >= 200, 15, "200 answered webhooks")
            before = answered_ids(load)
            out = ctl(d, "backup", d.path("b.db"))
            during = len(answered_ids(load))
        finally:
            load.stop()
        expect(load.not_ok() == [], f"webhooks failed during the backup: {load.not_ok()[:5]}")
        expect("integrity ok" in out and "schema version" in out, out)
        expect(during > len(before), "no webhook was answered while the backup ran")
        expect(oct(os.stat(d.path("b.db")).st_mode & 0o777) == "0o600", "backup mode")
        expect(not os.path.exists(d.path("b.db.tmp")), "the temporary file stayed")
        db = sqlite3.connect(d.path("b.db"))
        try:
            expect(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity")
            keys = {k for (k,) in db.execute("SELECT event_key FROM inbox")}
        finally:
            db.close()
        missing = before - keys
        expect(not missing, f"{len(missing)} acknowledged events are not in the backup")
        # A second backup to the same name needs --force.
        r = ctl_run(d, "backup", d.path("b.db"))
        expect(r.returncode == 1 and b"exists (--force replaces it)" in r.stderr, r)
        ctl(d, "backup", "--force", d.path("b.db"))
        # Restore: refused while shokaid runs, then done with it stopped.
        r = ctl_run(d, "restore", d.path("b.db"))
        expect(r.returncode == 1 and b"a shokaid runs on this database" in r.stderr, r)
        d.stop()
        with open(d.path("junk.db"), "wb") as f:
            f.write(os.urandom(4096))
        r = ctl_run(d, "restore", d.path("junk.db"))
        expect(r.returncode == 1 and b"not a database" in r.stderr and
               b"the database was not changed" in r.stderr, r)
        total = d.query("SELECT count(*) FROM inbox")[0][0]
        out = ctl(d, "restore", d.path("b.db"))
        expect("is kept as" in out, out)
        kept = [n for n in os.listdir(d.dir) if ".before-restore-" in n]
        expect(len(kept) == 1, os.listdir(d.dir))
        old = sqlite3.connect(os.path.join(d.dir, kept[0]))
        try:
            expect(old.execute("SELECT count(*) FROM inbox").fetchone()[0] == total,
                   "the database replaced lost rows")
        finally:
            old.close()
        d.start()
        got = {k for (k,) in d.query("SELECT event_key FROM inbox")}
        expect(before <= got, "the restored database lacks acknowledged events")
        expect(d.post_line(line_body(line_event())).status == 200, "serving on the restore")


def test_the_daily_backup_is_taken_checked_and_pruned():
    config = make_config() + "backup:\n  dir: backups\n  at: \"23:59\"\n  keep: 2\n"
    with Daemon(config=config, start=False) as d:
        os.makedirs(d.path("backups"))
        # Three older backups of ours, and a file of someone else's that must stay.
        for stamp in ("20260101-000000", "20260102-000000", "20260103-000000"):
            open(d.path(f"backups/shokai-{stamp}.db"), "w").close()
        open(d.path("backups/notes.txt"), "w").close()
        # The test hook takes one at the first tick instead of waiting for 23:59.
        d.start(env={"SHOKAI_FAULT": "backup_now"})
        d.wait_log(r'msg="daily backup" file=\S+/shokai-\d{8}-\d{6}\.db bytes=\d+',
                   timeout=10)
        wait_until(lambda: d.healthz()["backups_ok"] == 1, 5, "the backup counted")
        names = sorted(os.listdir(d.path("backups")))
        ours = [n for n in names if n.startswith("shokai-")]
        expect(len(ours) == 2 and "shokai-20260103-000000.db" in ours and
               "notes.txt" in names, names)
        new = [n for n in ours if not n.startswith("shokai-2026010")][0]
        db = sqlite3.connect(d.path("backups/" + new))
        try:
            expect(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity")
        finally:
            db.close()
        expect(d.healthz()["last_backup_unix"] > 0, d.healthz())
        text = d.admin_request("GET", "/metrics").body.decode()
        expect('shokai_backups_total{result="ok"} 1' in text, "metrics")


def old_rows(d, now_ms):
    """Rows of each kind, a year old and fresh, written as the daemon would have."""
    old, new = now_ms - 365 * DAY_MS, now_ms - 1000
    c = d.db()
    for at in (old, new):
        for state in ("done", "skipped", "failed", "pending"):
            c.execute("INSERT INTO inbox(platform, channel, event_key, type, state, "
                      "received_at) VALUES ('line', 'main', ?, 'message', ?, ?)",
                      (f"k-{state}-{at}", state, at))
        c.execute("INSERT INTO quarantine(platform, channel, received_at, reason, body) "
                  "VALUES ('line', 'main', ?, 'not JSON', x'00')", (at,))
        # (no pending row: the daemon would try it, and fail it for its old retry key)
        for state in ("sent", "failed", "unknown"):
            c.execute("INSERT INTO outbox(platform, channel, kind, target, body, retry_key, "
                      "state, next_attempt_at, created_at, sent_at) VALUES ('line', 'main', "
                      "'push', 'U1', '{}', ?, ?, ?, ?, ?)",
                      (f"r-{state}-{at}", state, at, at, at if state == "sent" else None))
        # An announcement's multicast chunk: its dedupe_key stays readable.
        c.execute("INSERT INTO outbox(platform, channel, kind, target, body, retry_key, "
                  "dedupe_key, state, next_attempt_at, created_at, sent_at) VALUES ('line', "
                  "'main', 'multicast', NULL, '{}', ?, ?, 'sent', ?, ?, ?)",
                  (f"r-multi-{at}", f"announce:1:{at}", at, at, at))
        c.execute("INSERT INTO referral_events(at, type, code, client_hash) VALUES "
                  "(?, 'clicked', 'ABCDEFGHJ', 'h')", (at,))
    c.commit()
    c.close()


def counts(d):
    q = d.query
    return {
        "inbox": q("SELECT state, count(*) FROM inbox WHERE event_key LIKE 'k-%' GROUP BY 1"),
        "quarantine": q("SELECT count(*) FROM quarantine")[0][0],
        "outbox": q("SELECT state, count(*) FROM outbox WHERE retry_key LIKE 'r-%' GROUP BY 1"),
        "clicks": q("SELECT count(*), count(client_hash) FROM referral_events "
                    "WHERE code = 'ABCDEFGHJ'")[0],
    }


def want_after(c):
    expect(dict(c["inbox"]) == {"done": 1, "skipped": 1, "failed": 2, "pending": 2}, c)
    expect(c["quarantine"] == 1, c)
    expect(dict(c["outbox"]) == {"sent": 3, "failed": 2, "unknown": 2}, c)
    expect(c["clicks"] == (2, 1), f"the clicks stay, the old hash goes: {c}")


def test_retention_deletes_only_what_is_old():
    with Daemon(env={"SHOKAI_FAULT": "no_dispatch"}) as d:
        d.stop()
        old_rows(d, int(time.time() * 1000))
        out = ctl(d, "purge", "--dry-run")
        for kind, n in (("inbox_done", 2), ("quarantine", 1), ("outbox_sent", 1),
                        ("click_client_hash", 1)):
            expect(f"{kind}" in out and str(n) in out.split(kind)[1].split("\n")[0], out)
        expect(dict(counts(d)["inbox"])["done"] == 2, "a dry run deleted")
        out = ctl(d, "purge")
        expect("REMOVED" in out, out)
        want_after(counts(d))
    # The daemon's own upkeep does the same at its first tick.
    with Daemon(env={"SHOKAI_FAULT": "no_dispatch"}) as d:
        d.stop()
        old_rows(d, int(time.time() * 1000))
        d.start(env={"SHOKAI_FAULT": "no_dispatch"})
        wait_until(lambda: counts(d)["quarantine"] == 1, 10, "the upkeep to run")
        want_after(counts(d))
        d.wait_log(r'msg="old rows deleted" kind=inbox_done rows=2', timeout=5)
    # off keeps them.
    config = make_config() + "retention:\n  inbox_done: off\n  quarantine: off\n"
    with Daemon(config=config) as d:
        d.stop()
        old_rows(d, int(time.time() * 1000))
        out = ctl(d, "purge")
        expect("kept (off)" in out, out)
        expect(counts(d)["quarantine"] == 2, counts(d))
