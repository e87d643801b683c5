#!/usr/bin/env python3
"""console_clicks.py PORT LOGIN PASSWORD_FILE SECONDS OUT.json: a person clicking
through the console, as the pages do: logs in, then walks every page's API calls (the
dashboard for this month and last month, each funnel stage's list, referral lists with
filters and a name search, a referral's page, the review queue, rewards, coupon pools,
customers with a search and a customer's page, reps, operations, the audit log) again
and again for SECONDS (at least one whole walk). Writes each call's slowest answer in
milliseconds (and its status) to OUT.json; exits 1 when a call answered other than 200.
Standard library only; one connection per call, as a browser's would be when idle."""
import datetime
import http.client
import json
import sys
import time

port, login, pw_file, seconds, out = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                      float(sys.argv[4]), sys.argv[5])
password = open(pw_file, encoding="utf-8").read().strip()


def call(path, method="GET", body=None, cookie=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json"} if body is not None else {}
    if cookie:
        h["Cookie"] = cookie
    t = time.monotonic()
    c.request(method, "/admin/api/v1/" + path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    ms = (time.monotonic() - t) * 1000
    hdr = r.getheader("Set-Cookie")
    c.close()
    return r.status, data, ms, hdr


st, data, _, setc = call("session", "POST", json.dumps({"login": login, "password": password}))
if st != 200:
    sys.exit(f"login failed: {st} {data[:200]!r}")
cookie = setc.split(";")[0]

today = datetime.date.today()
first = today.replace(day=1)
last_month_end = first - datetime.timedelta(days=1)
last_month = f"from={last_month_end.replace(day=1)}&to={last_month_end}"


def walk(slowest, statuses):
    def get(name, path):
        st, data, ms, _ = call(path, cookie=cookie)
        slowest[name] = max(slowest.get(name, 0.0), ms)
        statuses.setdefault(name, set()).add(st)
        return json.loads(data) if st == 200 and not path.endswith("format=csv") else None

    meta = get("meta", "meta") or {}
    get("dashboard (this month)", "dashboard")
    get("dashboard (last month)", "dashboard?" + last_month)
    for stage in ("issued", "clicked", "claimed", "contacted", "won"):
        get(f"funnel/{stage}", f"funnel/{stage}")
    refs = get("referrals", "referrals") or {"items": []}
    get("referrals (won, last month)", "referrals?state=won&" + last_month)
    branches = meta.get("branches") or []
    if branches:
        get("referrals (a branch)", f"referrals?branch={branches[0]['code']}")
    get("referrals (name search)", "referrals?q=%E5%B1%B1")   # 山
    if refs["items"]:
        get("referral page", f"referrals/{refs['items'][0]['id']}")
    get("review", "review")
    get("rewards", "rewards")
    get("rewards (pending)", "rewards?state=pending")
    get("coupons", "coupons")
    cust = get("customers", "customers") or {"items": []}
    get("customers (name search)", "customers?q=%E7%94%B0")  # 田
    if cust["items"]:
        p = cust["items"][0]["person"]
        get("customer page", f"customers/{p['channel']}/{p['user_id']}")
    get("reps", "reps")
    get("operations", "ops")
    get("audit", "audit")


slowest, statuses = {}, {}
t0 = time.monotonic()
walks = 0
while walks == 0 or time.monotonic() - t0 < seconds:
    walk(slowest, statuses)
    walks += 1
bad = {k: sorted(v) for k, v in statuses.items() if v != {200}}
with open(out, "w") as f:
    json.dump({"walks": walks, "slowest_ms": slowest, "bad": bad}, f, ensure_ascii=False)
sys.exit(1 if bad else 0)
