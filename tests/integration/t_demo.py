"""t_demo.py: the first hour (issue 15, part 6). `make demo` plays the whole referral
journey through the simulator (a customer refers, her friend claims, the rep marks 成約
on LINE WORKS, the rewards are approved and the coupons pushed) and its final figures are
checked; `make run` and `make demo` refuse a port that is taken, before starting
anything."""
import json
import os
import re
import socket
import sqlite3
import subprocess
import tempfile

from harness import expect

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def make(target, ports, demo_dir, timeout=120):
    env = dict(os.environ, DEMO_DIR=demo_dir)
    port, admin, sim = ports
    return subprocess.run(["make", "-s", "-C", REPO, target, f"PORT={port}",
                           f"ADMIN_PORT={admin}", f"SIM_PORT={sim}", "DEMO_EXIT=1"],
                          capture_output=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def test_make_demo_plays_the_whole_journey():
    with tempfile.TemporaryDirectory(prefix="shokai-demo-") as tmp:
        r = make("demo", free_ports(3), tmp)
        out = r.stdout.decode()
        expect(r.returncode == 0, f"make demo failed:\n{out}\n{r.stderr.decode()}")
        for seen in ("友だちに紹介", "紹介コード", "新しいご紹介 #1", "「成約」にしました",
                     "クーポンコード：DEMO-QUO-0001", "クーポンコード：DEMO-GIFT-0001",
                     "/admin/"):
            expect(seen in out, f"make demo never showed {seen!r}:\n{out}")
        m = re.search(r"^journey: ok (\{.*\})$", out, re.M)
        expect(m, f"no final figures:\n{out}")
        expect(json.loads(m.group(1)) == {"issued": 1, "clicked": 1, "claimed": 1, "won": 1,
                                          "rewarded": 2}, m.group(1))
        # What the console shows is what the database holds.
        db = sqlite3.connect(os.path.join(tmp, "shokai.db"))
        try:
            expect(db.execute("SELECT state FROM referrals").fetchall() == [("won",)],
                   "the referral is not won")
            expect(db.execute("SELECT count(*) FROM rewards WHERE state = 'issued'")
                   .fetchone()[0] == 2, "two rewards were not issued")
            expect(db.execute("SELECT count(*) FROM console_users WHERE login = 'demo'")
                   .fetchone()[0] == 1, "no demo login for the console")
        finally:
            db.close()


def test_a_taken_port_stops_make_before_anything_starts():
    ports = free_ports(3)
    with socket.socket() as holder, tempfile.TemporaryDirectory(prefix="shokai-demo-") as tmp:
        holder.bind(("127.0.0.1", ports[1]))
        holder.listen(1)
        for target in ("demo", "run"):
            r = make(target, ports, tmp, timeout=60)
            err = r.stderr.decode()
            expect(r.returncode != 0, f"make {target} ran with its port taken")
            expect(f"port {ports[1]} is taken" in err and "ADMIN_PORT=" in err, err)
            expect(not os.path.exists(os.path.join(tmp, "shokaid.log")),
                   f"make {target} started shokaid anyway")
