#!/usr/bin/env python3
"""outbox.py: pushes per second through shokaid's outbox to the platform simulator, and
the event loop's worst stall meanwhile (from /healthz loop_max_stall_us), the part of it the
loop's own thread was on the CPU (loop_max_busy_us), and how late an idle sleeper on the
daemon's core woke meanwhile (the machine's floor under both).

Starts shokaisim and shokaid (release build) on free loopback ports with a temp config
(pacing raised out of the way: this measures the machinery, not LINE's rate limit),
queues N push rows in one transaction (as handlers would), and times until all are sent.
Usage: tests/bench/outbox.py [--count N] [--inflight 64] | --floor SECONDS"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# As in benchmarking.md: the daemon on core 1, the simulator and this script on core 0.
# The daemon under test: SHOKAID as in run.sh, else the release build.
SHOKAID = os.path.abspath(os.environ.get("SHOKAID", os.path.join(REPO, "build", "shokaid")))
PIN_DAEMON = ["taskset", "-c", "1"] if shutil.which("taskset") else []
PIN_OTHERS = ["taskset", "-c", "0"] if shutil.which("taskset") else []


# How late an idle sleeper on the daemon's core wakes meanwhile: the machine's own floor
# under the loop's stall probe (on this VM 10-30 ms, the hypervisor's doing). Beyond its
# least lateness, as the daemon's probe counts; it wakes every 2 ms as the probe does
# (about 1 % of the core). Prints the worst in ms when its stdin closes.
FLOOR_PROBE = r"""
import sys, threading, time
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
least, worst = None, 0.0
print("ready", flush=True)
while not stop.is_set():
    due = time.monotonic() + 0.002
    time.sleep(0.002)
    late = time.monotonic() - due
    least = late if least is None or late < least else least
    worst = max(worst, late - least)
print("%.2f" % (worst * 1000))
"""


def start_floor():
    """The floor probe pinned to the daemon's core, once it runs; floor_ms(p) stops it and
    reads it. The interpreter's start (tens of ms of CPU) must be over before the daemon's
    run begins: on the daemon's core it took turns with the loop in 4 ms time slices, and
    was the worst loop stall of every run (perf sched timehist)."""
    p = subprocess.Popen(PIN_DAEMON + [sys.executable, "-c", FLOOR_PROBE],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if p.stdout.readline().decode().strip() != "ready":
        sys.exit("the floor probe did not start")
    return p


def floor_ms(p):
    return float(p.communicate(timeout=10)[0].decode().strip() or "nan")


def start(argv, cwd, pattern):
    p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline:
        line = p.stderr.readline().decode(errors="replace")
        m = re.search(pattern, line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, int(m.group(1))
        if not line and p.poll() is not None:
            break
    p.kill()
    sys.exit(f"{argv[0]} did not start")


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sent_count(db):
    return db.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0]


def main():
    if PIN_OTHERS:
        os.sched_setaffinity(0, {0})
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=30000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--rate", type=int, default=100000,
                    help="outbox.line_rate (default: out of the way)")
    ap.add_argument("--floor", type=float, metavar="SECONDS",
                    help="only the machine's floor: the idle sleeper alone on the daemon's "
                    "core for SECONDS, its worst lateness in ms")
    args = ap.parse_args()
    if args.floor:
        floor = start_floor()
        time.sleep(args.floor)
        print(f"an idle sleeper on the daemon's core, {args.floor:g} s: worst "
              f"{floor_ms(floor):.2f} ms late")
        return 0
    tmp = tempfile.mkdtemp(prefix="shokai-bench-outbox-")
    procs = []
    try:
        sim, sim_port = start(PIN_OTHERS + [os.path.join(REPO, "build", "shokaisim"), "serve", "--no-records", "--listen",
                               "127.0.0.1:0"], tmp, r"msg=listening addr=\S+:(\d+)")
        procs.append(sim)
        for name, value in (("line-secret", "s"), ("line-token", "t")):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(value)
            os.chmod(os.path.join(tmp, name), 0o600)
        base = f"http://127.0.0.1:{sim_port}"
        with open(os.path.join(tmp, "shokai.yaml"), "w") as f:
            f.write(f"""server: {{listen: 127.0.0.1:0, max_body: 256KiB}}
storage: {{sqlite: shokai.db}}
log: {{level: warn}}
admin: {{listen: 127.0.0.1:0}}
outbox: {{line_concurrency: {args.inflight}, line_rate: {args.rate}}}
line:
  channels:
    - {{id: main, basic_id: "@bench", channel_secret_file: line-secret,
        access_token_file: line-token, api_base: "{base}", api_data_base: "{base}"}}
""")
        # A first start creates the schema; the rows are queued while the daemon is down
        # (so no lock is shared with this script) and sent as the backlog at the next start.
        d, d_port = start(PIN_DAEMON + [SHOKAID, "-c", "shokai.yaml"], tmp,
                          r"msg=listening addr=\S+:(\d+)")
        d.terminate()
        d.wait(15)
        db = sqlite3.connect(os.path.join(tmp, "shokai.db"), timeout=10)
        now = int(time.time() * 1000)
        rows = []
        for i in range(args.count):
            to = "U%032x" % i
            body = json.dumps({"to": to, "messages": [{"type": "text",
                                                       "text": f"ベンチマーク {i}"}]},
                              ensure_ascii=False)
            rows.append(("line", "main", "push", to, body, str(uuid.uuid4()), now, now))
        with db:
            db.executemany("INSERT INTO outbox(platform, channel, kind, target, body, "
                           "retry_key, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?)",
                           rows)
        floor = start_floor()
        procs.append(floor)
        t0 = time.time()
        # /healthz is on the admin listener.
        d, d_port = start(PIN_DAEMON + [SHOKAID, "-c", "shokai.yaml"], tmp,
                          r'msg="console listening" listen=\S+:(\d+)')
        procs.append(d)
        # The daemon's CPU from its listener's line on, over the pushes sent meanwhile: what
        # one push costs it (the send on the loop, the try and outcome on the storage side).
        cpu0, sent0 = cpu_seconds(d.pid), sent_count(db)
        while True:
            left = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
            if left == 0 or time.time() - t0 > 120:
                break
            time.sleep(0.05)
        took = time.time() - t0
        cpu1 = cpu_seconds(d.pid)
        floor_late = floor_ms(floor)
        sent = sent_count(db)
        with urllib.request.urlopen(f"http://127.0.0.1:{d_port}/healthz", timeout=5) as r:
            health = json.loads(r.read())
        with urllib.request.urlopen(f"{base}/_sim/stats", timeout=5) as r:
            stats = json.loads(r.read())
        rss = 0
        for line in open(f"/proc/{d.pid}/status"):
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
        print(f"outbox: {sent}/{args.count} pushes sent in {took:.2f} s = "
              f"{sent / took:.0f} pushes/s with {args.inflight} in flight; "
              f"simulator delivered {stats.get('line_delivered')}; "
              f"worst loop stall {health['loop_max_stall_us'] / 1000:.2f} ms "
              f"(the loop's own CPU in it at most {health['loop_max_busy_us'] / 1000:.2f} ms; "
              f"an idle sleeper on its core meanwhile {floor_late:.2f} ms late); "
              f"peak RSS {rss:.1f} MiB; "
              f"CPU {(cpu1 - cpu0) * 1e6 / max(sent - sent0, 1):.1f} µs per push "
              f"({sent - sent0} pushes after the listener started)")
        return 0 if sent == args.count else 1
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
