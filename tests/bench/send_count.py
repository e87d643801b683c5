#!/usr/bin/env python3
"""Post exactly N pre-signed LINE webhook bodies to shokaid, then wait for it to drain.

    send_count.py PORT ADMIN_PORT POOL START N CONNECTIONS

POOL is a gen_bodies.py file ("signature<TAB>body" a line); lines START..START+N-1 are
posted to /line/main over CONNECTIONS keep-alive connections. Then /healthz (on the
admin listener) is polled until the inbox and the outbox are empty and nothing is in
flight (at most 120 s). Prints one line: sent=N non200=K drained=0|1. For instr.sh, where
a fixed amount of work matters, not a rate.
"""

import http.client
import json
import sys
import threading
import time
import urllib.error
import urllib.request


def main():
    port, admin, pool = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    start, n, conns = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    with open(pool, encoding="utf-8") as f:
        lines = f.read().splitlines()[start:start + n]
    if len(lines) != n:
        sys.exit("the pool has %d lines after %d, not %d" % (len(lines), start, n))
    lock = threading.Lock()
    state = {"next": 0, "non200": 0}

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= n:
                break
            sig, body = lines[i].split("\t", 1)
            c.request("POST", "/line/main", body=body.encode(),
                      headers={"X-Line-Signature": sig, "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                with lock:
                    state["non200"] += 1
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drained = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%s/healthz" % admin, timeout=30) as r:
                h = json.load(r)
        except urllib.error.HTTPError as e:  # 503 while degraded: the counters are there
            h = json.load(e)
        if h["inbox_backlog"] == 0 and h["outbox_backlog"] == 0 and h["outbox_in_flight"] == 0:
            drained = 1
            break
        time.sleep(0.2)
    print("sent=%d non200=%d drained=%d" % (n, state["non200"], drained))


if __name__ == "__main__":
    main()
