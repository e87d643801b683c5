#!/usr/bin/env python3
"""journey.py: `make demo`. One referral journey, played for real through the platform
simulator against a running shokaid (scripts/run.sh starts both on a fresh database),
and told step by step as each person sees it:

  1. 山田 花子, a customer, adds the LINE account and is tied to her rep 高橋 美咲;
  2. she taps 友だちに紹介 and gets an invite in her own words, with her personal link;
  3. her friend 鈴木 一郎 opens the link, adds the account and sends the code;
  4. 高橋 hears of it on LINE WORKS, starts on it and marks it 成約 there;
  5. an operator loads coupons and approves the rewards: both are sent their coupon;
  6. the funnel report, and the console where a manager sees the result.

What a person reads is printed as the platforms received it from shokaid (the
simulator records every API call). The run fails (exit 1) when a step does not
happen or the report's figures are not one invite, one claim, one win and two rewards.
Python's standard library only. Environment: as scripts/run.sh exports it."""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CONFIG = os.environ.get("SHOKAI_CONFIG", "config/shokai.yaml")
URL = os.environ.get("SHOKAI_URL", "http://127.0.0.1:8080")
SIM = os.environ.get("SHOKAI_SIM_URL", "http://127.0.0.1:8091")
ADMIN = os.environ.get("SHOKAI_ADMIN_URL", "http://127.0.0.1:8081")
CONSOLE = os.environ.get("SHOKAI_CONSOLE_URL", ADMIN + "/admin/")
DAEMON_PID = int(os.environ.get("SHOKAI_PID", "0") or 0)
SIMBIN = os.path.join(ROOT, "build", "shokaisim")
CTL = [os.path.join(ROOT, "build", "shokaictl"), "-c", CONFIG]
LINE_SECRET = os.path.join(ROOT, "config", "secrets", "line-channel-secret")
WORKS_SECRET = os.path.join(ROOT, "config", "secrets", "works-bot-secret")
WORKS_BOT_ID = "2000001"
PASSWORD = "shokai-demo-2026"
WAIT_S = 30

CUSTOMER = ("U" + "a1" * 16, "山田 花子")
FRIEND = ("U" + "b2" * 16, "鈴木 一郎")
REP = ("takahashi@example.co.jp", "高橋 美咲", "R001")
NAMES = {CUSTOMER[0]: CUSTOMER[1], FRIEND[0]: FRIEND[1], REP[0]: REP[1] + "（担当者）"}


class Stop(Exception):
    pass


def http(method, url, body=None, headers=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def daemon_alive():
    if not DAEMON_PID:
        return True
    try:
        os.kill(DAEMON_PID, 0)
        return True
    except OSError:
        return False


def wait_for(what, pred):
    deadline = time.time() + WAIT_S
    while True:
        if not daemon_alive():
            raise Stop(f"shokaid stopped while waiting for {what}")
        try:
            if pred():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.time() > deadline:
            raise Stop(f"gave up after {WAIT_S}s waiting for {what}")
        time.sleep(0.1)


def healthz():
    """The admin listener's /healthz (a 503 still carries the figures)."""
    try:
        return json.loads(http("GET", ADMIN + "/healthz")[1])
    except urllib.error.HTTPError as e:
        if e.code == 503:
            return json.loads(e.read())
        raise


def idle():
    """Everything received is handled and everything queued is sent."""
    h = healthz()
    return (h.get("inbox_backlog") == 0 and h.get("outbox_backlog") == 0 and
            h.get("outbox_in_flight") == 0)


def db():
    path = None
    for line in open(CONFIG, encoding="utf-8"):
        s = line.strip()
        if s.startswith("sqlite:"):
            path = s.split(":", 1)[1].split("#")[0].strip()
            break
    if path is None:
        raise Stop(f"no storage.sqlite in {CONFIG}")
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.abspath(CONFIG)), path)
    c = sqlite3.connect(path, timeout=5)
    return c


def query(sql, args=()):
    c = db()
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def ctl(*args):
    r = subprocess.run(CTL + list(args), capture_output=True, timeout=30)
    if r.returncode != 0:
        raise Stop(f"shokaictl {' '.join(args)}: {r.stderr.decode().strip()}")
    return r.stdout.decode()


def sim_send(platform, *args):
    if platform == "line":
        cmd = [SIMBIN, "send", "line", "--url", URL + "/line/main", "--secret-file",
               LINE_SECRET, "--timeout", "5"] + list(args)
    else:
        cmd = [SIMBIN, "send", "works", "--url", URL + "/works/sales", "--bot-id",
               WORKS_BOT_ID, "--secret-file", WORKS_SECRET, "--timeout", "5"] + list(args)
    r = subprocess.run(cmd, capture_output=True, timeout=15)
    if r.returncode != 0:
        raise Stop(f"the webhook was not accepted: {r.stderr.decode().strip()}")


class Screen:
    """What the platforms received since the last look, rendered for people."""

    def __init__(self):
        self.seq = max([r["seq"] for r in self.requests(0)] or [0])

    @staticmethod
    def requests(since):
        return json.loads(http("GET", f"{SIM}/_sim/requests?since={since}")[1])

    def show(self, to_whom):
        """Prints each message sent since the last call; to_whom: who a reply reached."""
        wait_for("shokaid to handle it and send its answers", idle)
        shown = []
        for r in self.requests(self.seq):
            self.seq = max(self.seq, r["seq"])
            if r["method"] != "POST" or not r.get("body"):
                continue
            try:
                body = json.loads(r["body"])
            except ValueError:
                continue
            path = r["path"]
            if path.endswith("/message/reply"):
                shown += [(to_whom, m) for m in body.get("messages", [])]
            elif path.endswith("/message/push"):
                shown += [(body.get("to"), m) for m in body.get("messages", [])]
            elif "/bots/" in path and path.endswith("/messages") and "/users/" in path:
                member = urllib.parse.unquote(path.split("/users/")[1].split("/")[0])
                shown.append((member, body.get("content", {})))
            elif "/bots/" in path and "/channels/" in path and path.endswith("/messages"):
                room = path.split("/channels/")[1].split("/")[0]
                shown.append(("LINE WORKS room " + room, body.get("content", {})))
        for who, message in shown:
            print(f"    ┌ to {NAMES.get(who, who)}")
            for line in render(message):
                print("    │ " + line)
            print("    └")
        return shown


def render(m):
    """A LINE or LINE WORKS message as lines of text, its buttons in brackets."""
    t = m.get("type")
    lines = []
    if t == "text":
        lines += m.get("text", "").split("\n")
    elif t == "template":
        tpl = m.get("template", {})
        lines += (tpl.get("title") and [tpl["title"]] or []) + tpl.get("text", "").split("\n")
        lines += ["[" + a.get("label", "?") + "]" for a in tpl.get("actions", [])]
    elif t == "flex":
        lines.append("(カード) " + m.get("altText", ""))
    elif t in ("button_template", "list_template"):
        lines += m.get("contentText", "").split("\n")
        lines += ["[" + a.get("label", "?") + "]" for a in m.get("actions", [])]
    elif t == "image":
        lines.append("(画像)")
    elif t == "sticker":
        lines.append("(スタンプ)")
    else:
        lines.append(f"({t})")
    for item in (m.get("quickReply") or {}).get("items", []):
        lines.append("[" + item.get("action", {}).get("label", "?") + "]")
    return lines


def pause():
    """A person watching reads each step; CI and pipes do not wait."""
    if sys.stdout.isatty() and os.environ.get("DEMO_EXIT", "0") != "1":
        time.sleep(float(os.environ.get("DEMO_PACE", "1.5")))


def step(n, text):
    pause()
    print(f"\n{n}. {text}", flush=True)


def journey():
    wait_for("shokaid to answer", lambda: healthz() is not None)
    wait_for("the simulator", lambda: http("GET", SIM + "/_sim/stats")[0] == 200)
    if query("SELECT count(*) FROM referrals")[0][0] != 0:
        raise Stop("the database holds referrals already: make demo plays on a fresh one")
    for uid, name in (CUSTOMER, FRIEND):
        http("POST", SIM + "/_sim/profile", {"userId": uid, "displayName": name})
    screen = Screen()

    step(1, f"{CUSTOMER[1]} adds the LINE account as a friend, then opens her rep "
         f"{REP[1]}'s link (it sends 担当者コード {REP[2]})")
    sim_send("line", "--type", "follow", "--user", CUSTOMER[0])
    screen.show(CUSTOMER[0])
    sim_send("line", "--type", "message", "--user", CUSTOMER[0], "--text",
             f"担当者コード {REP[2]}")
    screen.show(CUSTOMER[0])

    step(2, f"{CUSTOMER[1]} taps 友だちに紹介 on the rich menu")
    sim_send("line", "--type", "postback", "--user", CUSTOMER[0], "--data", "action=refer")
    shown_invite = screen.show(CUSTOMER[0])
    rows = query("SELECT code FROM referral_codes WHERE user_id = ?", (CUSTOMER[0],))
    if not rows:
        raise Stop("no referral code was issued (does a campaign of config/referral.yaml "
                   "run today?)")
    code = rows[0][0]
    invite = next((a.get("clipboardText") for _, m in shown_invite
                   for a in m.get("template", {}).get("actions", [])
                   if a.get("type") == "clipboard"), None)
    print(f"    She forwards the invite to {FRIEND[1]} in one tap (友だちに送る, or 文面をコピー). "
          "It reads:")
    for line in (invite or "(the invite's text was not in the reply)").split("\n"):
        print("      " + line)
    pause()

    step(3, f"{FRIEND[1]} opens her link {URL}/r/{code}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(URL + "/r/" + code, timeout=5)
        raise Stop("the invite link did not redirect")
    except urllib.error.HTTPError as e:
        if e.code != 302:
            raise Stop(f"the invite link answered {e.code}")
        location = e.headers.get("Location", "")
    # LINE's oaMessage link carries the text to send as its whole query.
    query_text = urllib.parse.unquote(urllib.parse.urlsplit(location).query)
    text = query_text if "/oaMessage/" in location and query_text else f"紹介コード {code}"
    print(f"    LINE opens the account's chat with the text filled in: {text}")
    print("    He adds the account and sends it.")
    sim_send("line", "--type", "follow", "--user", FRIEND[0])
    screen.show(FRIEND[0])
    sim_send("line", "--type", "message", "--user", FRIEND[0], "--text", text)
    shown = screen.show(FRIEND[0])
    rows = query("SELECT id, state FROM referrals WHERE referee_id = ?", (FRIEND[0],))
    if not rows:
        raise Stop("the friend's claim made no referral")
    ref_id = rows[0][0]
    if not any(who == REP[0] for who, _ in shown):
        raise Stop(f"{REP[1]} was not told on LINE WORKS")

    step(4, f"{REP[1]} answers on LINE WORKS: 対応開始 #{ref_id}, and after the meeting "
         f"成約 #{ref_id}")
    sim_send("works", "--user", REP[0], "--text", f"対応開始 #{ref_id}")
    screen.show(REP[0])
    sim_send("works", "--user", REP[0], "--text", f"成約 #{ref_id}")
    screen.show(REP[0])
    state = query("SELECT state FROM referrals WHERE id = ?", (ref_id,))[0][0]
    if state != "won":
        raise Stop(f"referral #{ref_id} is {state}, not won")

    step(5, "An operator loads the coupons and approves both rewards (the campaign says "
         "approval: manual)")
    codes = {"quo-1000": "DEMO-QUO-0001\nDEMO-QUO-0002\n",
             "gift-500": "DEMO-GIFT-0001\nDEMO-GIFT-0002\n"}
    tmp = os.path.join(os.path.dirname(os.path.abspath(CONFIG)), "coupons")
    os.makedirs(tmp, exist_ok=True)
    for pool, data in codes.items():
        path = os.path.join(tmp, pool + ".txt")
        with open(path, "w") as f:
            f.write(data)
        print("    $ shokaictl import coupons " + pool + " " + os.path.relpath(path, ROOT))
        print("      " + ctl("import", "coupons", pool, path).strip())
    rewards = query("SELECT id FROM rewards WHERE referral_id = ? ORDER BY id", (ref_id,))
    for (wid,) in rewards:
        print(f"    $ shokaictl rewards approve {wid}")
        print("      " + ctl("rewards", "approve", str(wid)).strip())
    wait_for("the rewards to be issued", lambda: query(
        "SELECT count(*) FROM rewards WHERE referral_id = ? AND state = 'issued'",
        (ref_id,))[0][0] == len(rewards))
    screen.show(None)

    step(6, "The result, as `shokaictl report --by rep` and the console count it")
    report = json.loads(ctl("report", "--by", "rep", "--format", "json"))
    row = next((r for r in report if r.get("rep") == REP[2]), None)
    if row:
        print(f"    {row['rep_name']}（{row['branch_name']}）: invites {row['issued']} → link "
              f"clicks {row['clicked']} → claims {row['claimed']} → won {row['won']}; "
              f"rewards {row['rewarded']}")
        print(f"    click → claim {row['claim_rate']}%, claim → won {row['win_rate']}%")
    want = {"issued": 1, "clicked": 1, "claimed": 1, "won": 1, "rewarded": 2}
    got = {k: row.get(k) for k in want} if row else None
    if got != want:
        raise Stop(f"the report for {REP[2]} says {got}, not {want}")
    account = query("SELECT 1 FROM console_users WHERE login = 'demo'")
    if not account:
        pw = os.path.join(tmp, "password")
        with open(os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(PASSWORD + "\n")
        ctl("user", "add", "demo", "--role", "admin", "--name", "デモ 運用者",
            "--password-file", pw)
    print(f"\nThe console shows it: {CONSOLE}  (login demo / {PASSWORD})")
    print(f"  ダッシュボード: the funnel and {REP[1]}'s row;  紹介 → #{ref_id}: its timeline.")
    print("journey: ok " + json.dumps(got))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main():
    try:
        journey()
    except Stop as e:
        print(f"\njourney: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
