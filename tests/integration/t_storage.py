"""t_storage.py: storage that is not what it should be (issue 10, point 4). A database,
WAL, shared-memory file or folder that cannot be written is refused at start with the
file and the reason; storage that stops being writable under the running daemon turns
webhooks into 503, /healthz into an error, stops the outbox and logs a bounded number
of lines, and all of it comes back by itself once the storage is fixed; a WAL deleted
under the daemon is detected (restart required) and loses nothing answered 200.

The tests run as root in CI, and root ignores file modes: "cannot be written" is made
with the immutable attribute (chattr +i, which stops root too) when running as root, and
with the file mode otherwise. Each test checks that the state really took (the file
cannot be opened for writing) before it looks at the daemon."""
import contextlib
import json
import os
import re
import subprocess
import time
import uuid

from harness import USER, Daemon, Fail, expect, line_body, line_event, wait_until
from sim import Sim, chat_daemon, config_for, replies


@contextlib.contextmanager
def unwritable(*paths):
    """Makes each path unwritable for this process, root included, and puts it back."""
    done = []
    try:
        for p in paths:
            if os.geteuid() == 0:
                r = subprocess.run(["chattr", "+i", p], capture_output=True, timeout=10)
                expect(r.returncode == 0, f"cannot make {p} immutable here (chattr +i: "
                       f"{r.stderr.decode().strip()}): the test needs root with "
                       "CAP_LINUX_IMMUTABLE on ext4, xfs or btrfs")
            else:
                os.chmod(p, os.stat(p).st_mode & ~0o222)
            done.append(p)
            expect(not os.access(p, os.W_OK), f"test bug: {p} is still writable")
        yield
    finally:
        for p in reversed(done):
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", p], capture_output=True, timeout=10)
            else:
                os.chmod(p, os.stat(p).st_mode | 0o200)


def start_refused(d, pattern):
    """Starts d, which must exit non-zero before listening with a log line matching
    pattern; returns that line."""
    try:
        d.start()
    except Fail:
        pass
    else:
        raise Fail("shokaid started on storage it cannot write")
    d.proc.wait(timeout=5)
    d._drain()
    expect(d.proc.returncode not in (0, None), f"exit code {d.proc.returncode}")
    text = d.log_text()
    m = re.search(pattern, text)
    expect(m, f"no log line /{pattern}/ in:\n{text[-1500:]}")
    expect(not re.search(r"msg=listening", text), "it listened before refusing")
    return m.group(0)


def leave_wal_and_shm(d):
    """Starts d, stores one event and kills it, so the -wal and -shm stay behind."""
    d.start()
    r = d.post_line(line_body(line_event()))
    expect(r.status == 200, r)
    d.kill9()
    for suffix in ("-wal", "-shm"):
        expect(os.path.exists(d.db_path + suffix), f"no {suffix} after kill -9")


def health_raw(d):
    r = d.admin_request("GET", "/healthz")
    return r.status, json.loads(r.body)


# ---------------------------------------------------------------------- at start

def test_storage_readonly_db_refused_at_start():
    d = Daemon(start=False)
    with d:
        d.start()
        expect(d.stop() == 0, "first start did not stop cleanly")
        with unwritable(d.db_path):
            line = start_refused(d, r'level=error msg="storage not usable" detail="[^"]*')
            expect("the database " + d.db_path + " cannot be written" in line, line)


def test_storage_readonly_wal_or_shm_refused_at_start():
    for suffix, what in (("-shm", "the shared-memory file"), ("-wal", "the WAL")):
        d = Daemon(start=False)
        with d:
            leave_wal_and_shm(d)
            with unwritable(d.db_path + suffix):
                line = start_refused(d, r'level=error msg="storage not usable" '
                                     r'detail="[^"]*')
                expect(f"{what} {d.db_path}{suffix} cannot be written" in line, line)
            # Fixed, it starts and has the event stored before the kill.
            d.start()
            expect(len(d.inbox()) == 1, d.inbox())


def test_storage_readonly_folder_refused_at_start():
    d = Daemon(start=False)
    with d:
        d.start()
        expect(d.stop() == 0, "first start did not stop cleanly")
        with unwritable(d.dir):
            line = start_refused(d, r'level=error msg="storage not usable" detail="[^"]*')
            expect(f"the database's folder {d.dir} cannot be written" in line, line)


def test_storage_other_owner_refused_at_start():
    if os.geteuid() != 0:
        print("NOTICE test_storage_other_owner_refused_at_start: needs root (chown)",
              flush=True)
        return
    d = Daemon(start=False)
    with d:
        leave_wal_and_shm(d)
        os.chown(d.db_path + "-shm", 65534, 65534)
        line = start_refused(d, r'level=error msg="storage not usable" detail="[^"]*')
        expect(f"the shared-memory file {d.db_path}-shm is owned by uid 65534" in line,
               line)


# --------------------------------------------------------------------- while running

def queue_push(d, due_in_ms, text):
    """An outbox push row written straight into the database, due in due_in_ms."""
    now = int(time.time() * 1000)
    body = json.dumps({"to": USER, "messages": [{"type": "text", "text": text}]})
    c = d.db()
    try:
        c.execute("INSERT INTO outbox(platform, channel, kind, target, body, retry_key, "
                  "next_attempt_at, created_at) VALUES ('line', 'main', 'push', ?, ?, ?, "
                  "?, ?)", (USER, body, str(uuid.uuid4()), now + due_in_ms, now))
        c.commit()
    finally:
        c.close()
    return now + due_in_ms


def test_storage_readonly_while_running_503_then_recovers():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        r = d.post_line(line_body(line_event()))
        expect(r.status == 200, r)
        d.wait_processed()
        due_ms = queue_push(d, 1500, "storage-test")
        before = d.snapshot()
        start = d.nlines()
        with unwritable(d.db_path):
            # The watch sees it within half a second.
            status, h = wait_until(lambda: (lambda s: s if s[0] == 503 else None)(
                health_raw(d)), 3, "/healthz to report the storage error")
            expect(h["status"] == "error" and
                   f"the database {d.db_path} cannot be written" in h["storage_error"], h)
            answers = [d.post_line(line_body(line_event())).status for _ in range(40)]
            expect(set(answers) == {503}, f"webhooks while unwritable got {answers}")
            # Past the push's due time: the outbox must not send what it cannot record.
            time.sleep(max(0.0, (due_ms - time.time() * 1000) / 1000) + 1.5)
            expect(sim.requests("/v2/bot/message/push") == [],
                   f"sent while unwritable: {sim.requests('/v2/bot/message/push')}")
            bad = [l for l in d.log_lines(start) if re.search(r"level=(warn|error)", l)
                   and "msg=request " not in l]
            expect(any('msg="storage cannot be written' in l for l in bad), bad)
            # 40 failed webhooks and ~3 s of a stuck outbox and dispatcher: the lines
            # are rate-limited (about one a second per kind), not one per failure.
            expect(len(bad) <= 15, f"{len(bad)} warning lines in ~3 s:\n" + "\n".join(bad))
        expect(d.snapshot() == before, f"rows changed while unwritable: {before} -> "
               f"{d.snapshot()}")
        # Fixed: everything resumes without a restart.
        wait_until(lambda: health_raw(d)[0] == 200, 5, "/healthz ok again")
        d.wait_log(r'msg="storage can be written again', start=start)
        r = d.post_line(line_body(line_event()))
        expect(r.status == 200, r)
        wait_until(lambda: sim.requests("/v2/bot/message/push"), 5, "the push after recovery")


def test_storage_wal_deleted_while_running():
    d = Daemon()
    with d:
        kept = line_event()
        r = d.post_line(line_body(kept))
        expect(r.status == 200, r)
        os.unlink(d.db_path + "-wal")
        # The next commit sees it before answering: 503, never a 200 for a commit that
        # went into a file nobody will find.
        r = d.post_line(line_body(line_event()))
        expect(r.status == 503, f"webhook after the WAL was deleted: {r}")
        status, h = health_raw(d)
        expect(status == 503 and h["status"] == "error" and
               "was deleted or replaced" in h["storage_error"] and
               "restart" in h["storage_error"], h)
        d.wait_log(r'level=error msg="storage cannot be written.*the WAL \S+-wal was '
                   r'deleted or replaced while shokaid ran; restart shokaid')
        # It does not heal by itself (a new WAL beside the old one would be worse).
        time.sleep(1.2)
        expect(health_raw(d)[0] == 503, "healthy again without a restart")
        expect(d.post_line(line_body(line_event())).status == 503, "accepted again")
        expect(d.stop() == 0, "did not stop cleanly")
        # Restarted, the event answered 200 before the deletion is there: the
        # checkpointer folded the deleted WAL into the database file.
        d.start()
        keys = [k for (k,) in d.query("SELECT event_key FROM inbox")]
        expect(kept["webhookEventId"] in keys, f"event answered 200 lost: {keys}")
        r = d.post_line(line_body(line_event()))
        expect(r.status == 200, r)


def test_storage_immutable_shm_while_running():
    """SQLite writes the -shm as mapped memory: made unwritable under the daemon, the
    kernel answers with SIGBUS (there is no error code). The daemon says why and exits
    1 instead of dying silently, or, if its pages are still writable, is unhealthy; either
    way the next start is refused until it is fixed, and nothing answered 200 is lost.
    Pages SQLite mapped before still take writes until the watch (every 0.5 s) sees the
    file: commits in that window really are in the WAL and are answered 200; once a
    webhook got 503 none may get 200, and every event answered 200 must be there after
    the restart."""
    d = Daemon()
    with d:
        kept = line_event()
        expect(d.post_line(line_body(kept)).status == 200, "first webhook")
        shm = d.db_path + "-shm"
        with unwritable(shm):
            deadline = time.monotonic() + 5
            statuses, answered = [], [kept["webhookEventId"]]
            while d.alive() and time.monotonic() < deadline:
                ev = line_event()
                try:
                    statuses.append(d.post_line(line_body(ev)).status)
                except OSError:
                    statuses.append("closed")
                    time.sleep(0.05)
                if statuses[-1] == 200:
                    answered.append(ev["webhookEventId"])
            refused = next((i for i, st in enumerate(statuses) if st != 200), len(statuses))
            expect(200 not in statuses[refused:], f"200 after a refusal: {statuses}")
            if d.alive():
                status, h = health_raw(d)
                expect(status == 503 and f"{shm} cannot be written" in h["storage_error"], h)
                expect(refused < len(statuses), f"never refused while unwritable: "
                       f"{statuses[:20]}")
                d.kill9()
            else:
                expect(d.proc.returncode == 1, f"exit code {d.proc.returncode} (a signal "
                       "is negative: the SIGBUS was not caught)")
                d._drain()
                expect(re.search(r'level=error msg="SIGBUS: the database\'s shared-memory '
                                 r'file cannot be written.*path=' + re.escape(shm),
                                 d.log_text()), d.log_text()[-1000:])
            start_refused(d, r'level=error msg="storage not usable" detail="the '
                          r'shared-memory file ' + re.escape(shm) + ' cannot be written')
        d.start()
        keys = {k for (k,) in d.query("SELECT event_key FROM inbox")}
        lost = [e for e in answered if e not in keys]
        expect(not lost, f"{len(lost)} of {len(answered)} events answered 200 lost")
        expect(d.post_line(line_body(line_event())).status == 200, "after the fix")


def test_storage_readonly_wal_while_running_503_then_recovers():
    """A commit that fails in the storage (here the WAL's write: an I/O error) makes the
    daemon unhealthy at once, not at the next look of the watch."""
    with Daemon() as d:
        expect(d.post_line(line_body(line_event())).status == 200, "first webhook")
        before = d.snapshot()
        with unwritable(d.db_path + "-wal"):
            answers = [d.post_line(line_body(line_event())).status for _ in range(10)]
            expect(set(answers) == {503}, f"webhooks while the WAL is unwritable: {answers}")
            status, h = health_raw(d)
            expect(status == 503 and h["status"] == "error" and h["storage_error"], h)
        expect(d.snapshot() == before, f"rows changed: {before} -> {d.snapshot()}")
        wait_until(lambda: health_raw(d)[0] == 200, 5, "/healthz ok again")
        expect(d.post_line(line_body(line_event())).status == 200, "after the fix")


def test_storage_db_replaced_while_running():
    """A database file swapped under the daemon (a restore copied over it): its open
    descriptors write into the old file, so it stops and says a restart is needed."""
    with Daemon() as d:
        expect(d.post_line(line_body(line_event())).status == 200, "first webhook")
        c = d.db()
        try:
            c.execute("VACUUM INTO ?", (d.db_path + ".copy",))
        finally:
            c.close()
        os.replace(d.db_path + ".copy", d.db_path)
        status, h = wait_until(lambda: (lambda s: s if s[0] == 503 else None)(
            health_raw(d)), 3, "/healthz to report the replaced database")
        expect(f"the database {d.db_path} was deleted or replaced" in h["storage_error"], h)
        expect(d.post_line(line_body(line_event())).status == 503, "accepted after the swap")


# The WAL's fsync runs behind the commits (issue 11: store_syncer.c, storage_sync.c):
# what the outside world is told waits for it. Every message gets a reply.
REPLY_ALL = """
messages:
  fallback: メッセージありがとうございます。
auto_replies:
  - fallback: fallback
"""


def test_answer_and_reply_wait_for_the_wal_sync():
    """With every fsync of the WAL taking 300 ms (SHOKAI_FAULT=slow_sync), a webhook's 200
    comes only after the sync of its commit, and the reply to it only after the sync of
    the dispatcher's commit that queued it, a sync later: an answered event can never be
    pending again after a power loss, nor a customer answered for an event the disk
    does not have."""
    with Sim() as sim, chat_daemon(sim, REPLY_ALL, env={"SHOKAI_FAULT": "slow_sync"}) as d:
        t0 = time.monotonic()
        r = d.post_line(line_body(line_event(text="営業時間は?")))
        answered = time.monotonic() - t0
        expect(r.status == 200, r)
        expect(answered >= 0.29, f"answered {answered:.3f} s after the post: before the "
               "300 ms sync of its commit")
        wait_until(lambda: len(replies(sim)) >= 1, 10, "the reply")
        replied = time.monotonic() - t0
        expect(replied >= answered + 0.25, f"the reply reached LINE {replied:.3f} s after "
               f"the post, {replied - answered:.3f} s after the 200: before the sync of "
               "the commit that queued it")
        h = d.healthz()
        expect(h["wal_syncs"] >= 2 and h["wal_sync_failures"] == 0, h)


def test_failed_wal_sync_answers_503_and_keeps_the_event_once():
    """An fsync of the WAL that fails (SHOKAI_FAULT=sync_fails) turns the webhooks it
    covered into 503 with an error line; LINE's redelivery then finds the event already
    in the inbox and it is kept once."""
    with Daemon(env={"SHOKAI_FAULT": "sync_fails"}, log_level="info") as d:
        body = line_body(line_event(eid="01SYNCFAIL0000000000000000"))
        r = d.post_line(body)
        expect(r.status == 503, f"a webhook whose sync failed was answered {r.status}")
        expect(d.wait_log(r'fsync of the WAL failed.*error="Input/output error"'),
               "no error line for the failed sync")
        r = d.post_line(body)
        expect(r.status == 503, r)
        rows = d.query("SELECT count(*) FROM inbox WHERE event_key = ?",
                       ("01SYNCFAIL0000000000000000",))
        expect(rows[0][0] == 1, f"the event is in the inbox {rows[0][0]} times")
        h = d.healthz()
        expect(h["wal_sync_failures"] >= 2 and h["wal_syncs"] >= h["wal_sync_failures"], h)
        expect(any("fsyncs of the WAL failed" in w for w in h["warnings"]), h["warnings"])


def test_sigterm_before_a_reply_is_synced_leaves_it_untried():
    """On a disk whose fsync takes 300 ms (SHOKAI_FAULT=slow_sync), SIGTERM right after a
    webhook's 200 with a drain_timeout of 100 ms: its reply is queued but still waits for
    the sync of the commit that queued it when the drain gives up. The reply was never
    sent, so its row goes back to untried (trying = 0, ambiguous = 0) rather than stay
    marked as a try that may have been delivered (which the next start would not fall
    back to a push for); the next start sends it."""
    with Sim() as sim:
        config = config_for(sim)
        expect("drain_timeout: 10s" in config, "test bug: the default drain_timeout moved")
        config = config.replace("drain_timeout: 10s", "drain_timeout: 100ms")
        with chat_daemon(sim, REPLY_ALL, config=config,
                         env={"SHOKAI_FAULT": "slow_sync"}) as d:
            r = d.post_line(line_body(line_event(text="こんにちは")))
            expect(r.status == 200, r)
            wait_until(lambda: d.query("SELECT count(*) FROM outbox")[0][0] == 1, 5,
                       "the reply queued")
            d.stop()
            sent_before = len(replies(sim))
            rows = d.query("SELECT trying, ambiguous, state FROM outbox")
            expect(sent_before == 0, f"the reply went out before its commit was synced: "
                   f"{rows}")
            expect(rows == [(0, 0, "pending")], f"after the stop the reply's row is {rows}")
            d.start()
            wait_until(lambda: len(replies(sim)) == 1, 10, "the reply sent after the restart")
