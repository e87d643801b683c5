#!/usr/bin/env python3
"""Claims with valid referral codes for `make bench-scale` (tests/bench/scale.sh).

    scale_claims.py send --db DB --secret-file F --port P [--count 3000] [--seconds 30]
    scale_claims.py latency --log shokaid.log [--from-line N]

send: picks codes of the campaign running today from the generated database whose
referrers have had no referral this month (so the monthly cap and the velocity rule
rarely refuse them), and posts one signed LINE webhook per claim: a text message with
the code (as the invite link prefills it, or typed in a sentence) from a new friend (a
user id the database has never seen), each code used at most twice. Two keep-alive
connections, one request at a time each, for at most --seconds.

latency: reads shokaid's `msg=event ... handler=referral_claim ... latency_us=N` lines
after line --from-line (or in the --range FROM:TO line ranges) and prints "p50_ms p99_ms
max_ms count outcomes": the handler outcomes of those lines (done, failed) and, with --db
and --since-ms, the referral_events all claims wrote since then (claimed, held,
rejected:REASON).
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import sqlite3
import sys
import threading
import time

TEXTS = ["紹介コード {code} で友だち追加しました", "{code}",
         "友だちから紹介されました（コード：{code}）"]


def pick_codes(db, want):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    now_ms = int(time.time() * 1000)
    month_ago = now_ms - 31 * 86400000
    # the campaign with the latest codes is the one running today (scale_gen.py)
    (camp,) = con.execute("SELECT campaign FROM referral_codes ORDER BY issued_at DESC "
                          "LIMIT 1").fetchone()
    rows = con.execute(
        "SELECT c.code FROM referral_codes c WHERE c.campaign = ? AND NOT EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.channel = c.channel AND "
        "r.referrer_id = c.user_id AND r.claimed_at >= ?) LIMIT ?",
        (camp, month_ago, want)).fetchall()
    con.close()
    return camp, [r[0] for r in rows]


def send(a):
    with open(a.secret_file, "rb") as f:
        secret = f.read().strip()
    camp, codes = pick_codes(a.db, (a.count + 1) // 2)
    if not codes:
        sys.exit("scale_claims: no usable code in campaign %s" % camp)
    bodies = []
    rnd = os.urandom
    base_ms = int(time.time() * 1000)
    for n in range(a.count):
        code = codes[n % len(codes)]
        text = TEXTS[n % len(TEXTS)].format(code=code)
        ev = {"type": "message", "mode": "active", "timestamp": base_ms + n,
              "webhookEventId": "01SCALE%019d" % (base_ms * 1000 + n),
              "deliveryContext": {"isRedelivery": False},
              "source": {"type": "user", "userId": "U" + rnd(16).hex()},
              "replyToken": rnd(16).hex(),
              "message": {"type": "text", "id": "%d" % (700000000000000000 + n),
                          "quoteToken": rnd(12).hex(), "text": text}}
        body = json.dumps({"destination": "U" + "0" * 32, "events": [ev]},
                          ensure_ascii=False, separators=(",", ":")).encode()
        sig = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        bodies.append((sig, body))
    deadline = time.monotonic() + a.seconds
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "bad": 0}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                i = state["next"]
                if i >= len(bodies):
                    break
                state["next"] = i + 1
            sig, body = bodies[i]
            try:
                conn.request("POST", "/line/main", body=body, headers={
                    "Content-Type": "application/json", "X-Line-Signature": sig})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
                ok = False
            with lock:
                state["ok" if ok else "bad"] += 1
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    print("  claims sent: %d answered 200, %d not, in %.1f s (%.0f/s); %d codes of campaign %s"
          % (state["ok"], state["bad"], took, (state["ok"] + state["bad"]) / took,
             len(codes), camp), flush=True)
    return 0 if state["bad"] == 0 and state["ok"] > 0 else 1


def latency(a):
    lat, outcomes = [], {}
    pat = re.compile(r"msg=event .*handler=referral_claim outcome=(\S+) latency_us=(\d+)")
    ranges = [tuple(int(x) for x in r.split(":")) for r in a.range] or [(a.from_line, 0)]
    with open(a.log, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f):
            if not any(lo <= n and (hi == 0 or n < hi) for lo, hi in ranges):
                continue
            m = pat.search(line)
            if m:
                lat.append(int(m.group(2)))
                outcomes[m.group(1)] = outcomes.get(m.group(1), 0) + 1
    dbo = {}
    if a.db:
        con = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
        for typ, reason, n in con.execute(
                "SELECT type, reason, count(*) FROM referral_events WHERE at >= ? AND type IN "
                "('claimed', 'held', 'rejected') GROUP BY 1, 2", (a.since_ms,)):
            dbo[typ if typ != "rejected" else "rejected:" + reason] = n
        con.close()
    if not lat:
        print("0 0 0 0 none")
        return 0
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p / 100.0))] / 1000.0

    said = "outcomes:" + ",".join("%s=%d" % kv for kv in sorted(outcomes.items()))
    if dbo:
        said += ";referral_events_since:" + ",".join("%s=%d" % kv for kv in sorted(dbo.items()))
    print("%.3f %.3f %.3f %d %s" % (pct(50), pct(99), lat[-1] / 1000.0, len(lat), said))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--db", required=True)
    s.add_argument("--secret-file", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, default=3000)
    s.add_argument("--seconds", type=float, default=30)
    s.add_argument("--threads", type=int, default=2)
    l = sub.add_parser("latency")
    l.add_argument("--log", required=True)
    l.add_argument("--from-line", type=int, default=0)
    l.add_argument("--range", action="append", default=[],
                   help="FROM:TO, lines FROM (0-based) to TO (excluded; 0: the end); "
                        "may be repeated; instead of --from-line")
    l.add_argument("--db")
    l.add_argument("--since-ms", type=int, default=0)
    a = ap.parse_args(argv)
    return send(a) if a.cmd == "send" else latency(a)


if __name__ == "__main__":
    sys.exit(main())
