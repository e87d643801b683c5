"""t_console.py: the console's API on its own listener, against a referral program driven
through the simulator: logins and their limits, sessions and CSRF, API tokens, each role's
scope (a manager of one branch never sees or moves another branch's referral, reward,
customer or export), the operator's actions through the state machines with audit rows,
CSV exports, the pages' security headers, and every answer checked against
console/openapi.yaml."""
import datetime
import json
import os
import re
import subprocess
import tempfile
import time

from harness import REPO, USER, expect, http_request, line_event, wait_until
from sim import Sim, chat_daemon, config_for, ctl, ctl_run, send, wait_replies

TODAY = datetime.date.today()
PASSWORD = "correct horse battery"
FRIENDS = ["U" + c * 32 for c in "123"]
OTHER = "U" + "b" * 32          # the yokohama referrer
OTHER_FRIEND = "U" + "4" * 32

PROGRAM = f"""
company_name: 株式会社テスト
messages:
  invite: "{{sender_name}}さんからのご紹介です。{{rep_contact_url}} {{code}} {{invite_url}}"
  invite_preview:
    - template:
        type: buttons
        text: 紹介メッセージを送る
        actions:
          - {{ type: uri, label: 友だちに送る, uri: "{{share_url}}" }}
  thanks: "ありがとうございます。{{coupon_code}}"
postbacks:
  refer: referral.invite
branches:
  - {{ code: shinjuku, name: 新宿支店, monthly_target: 5 }}
  - {{ code: yokohama, name: 横浜支店 }}
reps:
  - {{ code: R001, name: 高橋 美咲, branch: shinjuku, contact_url: "https://works.do/R0a1b2c", lineworks_user_id: takahashi@example.co.jp }}
  - {{ code: Y003, name: 伊藤 由紀, branch: yokohama, contact_url: "https://works.do/Y9z8x7w" }}
referral: {{ notify_bot: sales, coupon_low_stock: 3 }}
campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
    rules: {{ velocity: {{ claims: 1, within: 10m }}, review: {{ within: 2d, default: reject }} }}
    reward:
      due_on: claim
      approval: manual
      hold: 0s
      referrer: {{ pool: quo, message: thanks }}
"""

ADMIN = """
admin:
  listen: 127.0.0.1:0
  session_idle: {idle}
  login_failures_per_account: 3
  login_failures_per_client: 6
  login_window: 10m
"""


class Console:
    """A logged-in (or token) client of the console API that records every answer for the
    OpenAPI check at the end of each test."""

    answers = []

    def __init__(self, d, login=None, token=None):
        self.d, self.cookie, self.csrf, self.token = d, None, None, token
        if login:
            r = self.call("POST", "session", {"login": login, "password": PASSWORD})
            expect(r.status == 200, f"login {login}: {r}")
            self.cookie = re.search(r"shokai_session=([^;]+)", r.headers["set-cookie"]).group(1)
            self.csrf = json.loads(r.body)["csrf"]

    def call(self, method, path, obj=None, raw=None, ctype=None, csrf=True, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = f"shokai_session={self.cookie}"
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if csrf and self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        body = raw
        if obj is not None:
            body = json.dumps(obj).encode()
            h["Content-Type"] = "application/json"
        elif raw is not None:
            h["Content-Type"] = ctype or "text/csv"
        r = http_request(self.d.admin_port, method, "/admin/api/v1/" + path, body, h)
        ctype_got = r.headers.get("content-type", "")
        parsed = json.loads(r.body) if ctype_got.startswith("application/json") else None
        Console.answers.append({"method": method, "path": "/admin/api/v1/" + path,
                                "status": r.status, "type": ctype_got, "body": parsed})
        r.json = parsed
        return r

    def get(self, path):
        r = self.call("GET", path)
        expect(r.status == 200, f"GET {path}: {r}")
        return r.json


def check_openapi():
    """Every answer of the test so far against console/openapi.yaml."""
    answers, Console.answers = Console.answers, []
    if not answers:
        return
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(answers, f, ensure_ascii=False)
    setup = subprocess.run(["bash", os.path.join(REPO, "tests", "contract", "setup.sh")],
                           capture_output=True, timeout=600)
    p = subprocess.run(["node", os.path.join(REPO, "tests", "console", "check-openapi.js"),
                        path], capture_output=True, timeout=120)
    os.unlink(path)
    out = p.stdout.decode() + p.stderr.decode()
    if setup.returncode == 3 or p.returncode == 3:
        print("NOTICE console OpenAPI check skipped: npm tooling missing", flush=True)
        return
    expect(p.returncode == 0, "answers that do not match console/openapi.yaml:\n" + out[-4000:])


def program(sim, idle="30m"):
    d = chat_daemon(sim, PROGRAM + ADMIN.format(idle=idle))
    return d


def add_accounts(d):
    pw = d.path("pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    ctl(d, "user", "add", "admin", "--role", "admin", "--name", "運用 太郎",
        "--password-file", pw)
    ctl(d, "user", "add", "shinjuku-mgr", "--role", "manager", "--branch", "shinjuku",
        "--name", "新宿 店長", "--password-file", pw)
    ctl(d, "user", "add", "viewer", "--role", "viewer", "--password-file", pw)


def run_program(sim, d):
    """Two referrers (one per branch) and their friends: shinjuku gets a claim and a held
    claim (velocity), yokohama a claim. Rewards fall due on the claims."""
    for uid, name in [(USER, "山田 花子"), (OTHER, "横浜 次郎"), (FRIENDS[0], "鈴木 一郎"),
                      (FRIENDS[1], "田中 二郎"), (OTHER_FRIEND, "佐藤 三郎")]:
        sim.call("POST", "/_sim/profile", {"userId": uid, "displayName": name})
    con = d.db()
    con.execute("INSERT INTO customers(channel, user_id, rep_code, rep_source, assigned_at) "
                "VALUES ('main', ?, 'R001', 'import', 1), ('main', ?, 'Y003', 'import', 1)",
                (USER, OTHER))
    con.commit()
    codes = {}
    for n, uid in enumerate([USER, OTHER], 1):
        send(d, line_event(etype="postback", text="action=refer",
                           source={"type": "user", "userId": uid}))
        wait_replies(sim, n)
        codes[uid] = d.query("SELECT code FROM referral_codes WHERE user_id = ?", (uid,))[0][0]
    for friend, referrer in [(FRIENDS[0], USER), (FRIENDS[1], USER), (OTHER_FRIEND, OTHER)]:
        send(d, line_event(text=f"紹介コード {codes[referrer]} で問い合わせます",
                           source={"type": "user", "userId": friend}))
        d.wait_processed()
    states = d.query("SELECT referee_id, state, rep_code FROM referrals ORDER BY id")
    expect(states == [(FRIENDS[0], "claimed", "R001"), (FRIENDS[1], "held", "R001"),
                      (OTHER_FRIEND, "claimed", "Y003")], states)
    return codes


def test_login_session_csrf_and_logout():
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        anon = Console(d)
        r = anon.call("GET", "meta")
        expect(r.status == 401 and r.json["error"] == "no_session", r)
        r = anon.call("POST", "session", {"login": "admin", "password": "wrong password!"})
        expect(r.status == 401 and r.json["error"] == "bad_login", r)
        r = anon.call("POST", "session", {"login": "nobody", "password": PASSWORD})
        expect(r.status == 401 and r.json["error"] == "bad_login", r)
        r = anon.call("POST", "session", {"login": "admin", "password": PASSWORD})
        expect(r.status == 200, r)
        cookie = r.headers["set-cookie"]
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/admin"):
            expect(attr in cookie, cookie)
        expect("Secure" not in cookie, "Secure on a plain HTTP console: " + cookie)
        admin = Console(d, "admin")
        expect(admin.get("session")["user"]["role"] == "admin", "session")
        # A state-changing request without the session's CSRF token changes nothing.
        r = admin.call("POST", "referrals/1/notes", {"text": "x"}, csrf=False)
        expect(r.status == 403 and r.json["error"] == "csrf", r)
        r = admin.call("POST", "referrals/1/notes", {"text": "x"},
                       headers={"X-CSRF-Token": "forged"}, csrf=False)
        expect(r.status == 403 and r.json["error"] == "csrf", r)
        r = admin.call("DELETE", "session")
        expect(r.status == 204, r)
        expect(admin.call("GET", "meta").status == 401, "the session outlived its logout")
        audit = d.query("SELECT actor, action, target, detail FROM audit_log WHERE action "
                        "LIKE 'log%' ORDER BY id")
        # the detail is facts the console words in Japanese, not English text
        expect(audit[:2] == [("admin", "login_failed", "admin", '{"why":"wrong_password"}'),
                             ("nobody", "login_failed", "nobody", '{"why":"unknown_login"}')],
               audit)
        expect([a[1] for a in audit[2:]] == ["login", "login", "logout"], audit)
        out = ctl(d, "audit")
        expect("login_failed" in out and "logout" in out, out)
        # the shell reads the console's words too, the codes kept for scripts
        rows = json.loads(ctl(d, "audit", "--format", "json"))
        failed = [r for r in rows if r["action"] == "login_failed" and r["actor"] == "admin"]
        expect(failed and failed[0]["action_words"] == "ログイン失敗" and
               "パスワード違い" in failed[0]["detail_words"] and
               failed[0]["detail"] == '{"why":"wrong_password"}', rows[:3])
        expect("ログイン失敗" in out and "パスワード違い" in out, out)
        check_openapi()


def test_login_rate_limit_per_account_and_per_client():
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        anon = Console(d)
        for _ in range(3):
            r = anon.call("POST", "session", {"login": "viewer", "password": "nope nope nope"})
            expect(r.status == 401, r)
        # The fourth try is refused before the password is looked at, even a right one.
        r = anon.call("POST", "session", {"login": "viewer", "password": PASSWORD})
        expect(r.status == 429 and r.json["error"] == "rate_limited" and
               int(r.headers["retry-after"]) == 600, r)
        # Another account from the same address still logs in, until the address's limit.
        expect(anon.call("POST", "session", {"login": "admin", "password": PASSWORD}).status
               == 200, "another account was locked out")
        for _ in range(3):
            anon.call("POST", "session", {"login": "shinjuku-mgr", "password": "x" * 12})
        r = anon.call("POST", "session", {"login": "admin", "password": PASSWORD})
        expect(r.status == 429, f"the address's limit (6 failures) did not hold: {r}")
        check_openapi()


def test_session_expires_when_idle():
    with Sim() as sim, program(sim, idle="1s") as d:
        add_accounts(d)
        c = Console(d, "viewer")
        expect(c.call("GET", "meta").status == 200, "fresh session")
        time.sleep(1.3)
        r = c.call("GET", "meta")
        expect(r.status == 401 and r.json["error"] == "session_expired", r)
        expect(d.query("SELECT count(*) FROM console_sessions")[0][0] == 0, "expired row kept")
        check_openapi()


def test_roles_scope_every_list_and_action():
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        run_program(sim, d)
        admin, mgr, viewer = Console(d, "admin"), Console(d, "shinjuku-mgr"), Console(d, "viewer")
        # Lists: the manager sees shinjuku only, everywhere.
        expect(admin.get("referrals")["total"] == 3, "admin's referrals")
        got = mgr.get("referrals")
        expect(got["total"] == 2 and all(i["branch"]["code"] == "shinjuku"
                                         for i in got["items"]), got)
        expect(mgr.get("meta")["branches"] == [{"code": "shinjuku", "name": "新宿支店",
                                                "monthly_target": 5}], "meta branches")
        r = mgr.call("GET", "referrals?branch=yokohama")
        expect(r.status == 403 and r.json["error"] == "out_of_scope", r)
        yoko = d.query("SELECT id FROM referrals WHERE rep_code = 'Y003'")[0][0]
        expect(mgr.call("GET", f"referrals/{yoko}").status == 403, "other branch's referral")
        expect(mgr.call("POST", f"referrals/{yoko}/state", {"to": "contacted"}).status == 403,
               "moved another branch's referral")
        yoko_reward = d.query("SELECT w.id FROM rewards w JOIN referrals r ON r.id = "
                              "w.referral_id WHERE r.rep_code = 'Y003'")[0][0]
        r = mgr.call("POST", "rewards/approve", {"ids": [yoko_reward]})
        expect(r.status == 200 and r.json["results"][0]["error"] == "out_of_scope", r)
        expect(d.query("SELECT state FROM rewards WHERE id = ?", (yoko_reward,))[0][0] ==
               "pending", "another branch's reward moved")
        expect(all(w["branch"]["code"] == "shinjuku" for w in mgr.get("rewards")["items"]),
               "rewards scope")
        # The referrer and the friend tied to the rep by the claim; the held friend is
        # nobody's customer yet.
        got = {i["person"]["name"] for i in mgr.get("customers")["items"]}
        expect(got == {"山田 花子", "鈴木 一郎"}, got)
        expect(mgr.call("GET", f"customers/main/{OTHER}").status == 403, "other customer")
        expect(admin.call("GET", f"customers/main/{OTHER}").status == 200, "admin customer")
        csv = mgr.call("GET", "referrals?format=csv").body.decode("utf-8")
        expect("伊藤" not in csv and "横浜" not in csv and csv.count("\r\n") == 3, csv)
        expect(len(mgr.get("review")["items"]) == 1, "review scope")
        # Friends' names are masked for everyone but admins (the campaign hides them).
        names = {i["referee"]["name"] for i in mgr.get("referrals")["items"]}
        expect(names == {"鈴*", "田*"}, names)
        names = {i["referee"]["name"] for i in admin.get("referrals")["items"]}
        expect("鈴木 一郎" in names, names)
        # Roles: viewers read only; admin-only pages refuse managers.
        r = viewer.call("POST", "rewards/approve", {"ids": [yoko_reward]})
        expect(r.status == 403 and r.json["error"] == "forbidden", r)
        for path in ("ops", "audit", "users"):
            expect(mgr.call("GET", path).status == 403, f"manager reached {path}")
            expect(admin.call("GET", path).status == 200, f"admin could not reach {path}")
        expect(mgr.call("POST", "coupons/quo", raw=b"AAA-1\n").status == 403, "coupons")
        check_openapi()


def test_operator_actions_go_through_the_state_machines_and_are_audited():
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        run_program(sim, d)
        mgr = Console(d, "shinjuku-mgr")
        held = d.query("SELECT id FROM referrals WHERE state = 'held'")[0][0]
        item = mgr.get("review")["items"][0]
        expect(item["reason"] == "velocity" and item["default_outcome"] == "reject" and
               item["deadline"] == item["held_at"] + 2 * 86400000, item)
        # An illegal move is refused and changes nothing.
        r = mgr.call("POST", f"referrals/{held}/state", {"to": "won"})
        expect(r.status == 409 and r.json["error"] == "refused", r)
        r = mgr.call("POST", f"review/{held}", {"decision": "approve", "note": "本人確認済み"})
        expect(r.status == 200 and r.json["referral"]["state"] == "claimed", r)
        expect(any(e["type"] == "state" and e["actor"] == {"kind": "operator",
                                                          "name": "shinjuku-mgr"}
                   for e in r.json["events"]), r.json["events"])
        expect(r.json["notes"][0]["text"] == "本人確認済み", r.json["notes"])
        # Let through, the held claim is a claim: its reward falls due, the rep is told.
        wait_until(lambda: d.query("SELECT count(*) FROM rewards WHERE referral_id = ?",
                                   (held,))[0][0] == 1, 5, "the reward of the approved claim")
        wait_until(lambda: len(sim.requests("/v1.0/bots/")) >= 2, 10, "the rep's notification")
        # A flagged referral waits for an operator: no deadline, no default outcome.
        first = d.query("SELECT id FROM referrals WHERE referee_id = ?", (FRIENDS[0],))[0][0]
        expect(mgr.call("POST", f"referrals/{first}/state", {"to": "suspicious"}).status
               == 200, "flag")
        flagged = [i for i in mgr.get("review")["items"] if i["referral"]["id"] == first]
        expect(len(flagged) == 1 and flagged[0]["deadline"] is None and
               flagged[0]["default_outcome"] == "none" and
               flagged[0]["reason"] == "flagged_by_rep", flagged)
        expect(mgr.call("POST", f"review/{first}", {"decision": "approve"}).status == 200,
               "settle the flag")
        r = mgr.call("POST", f"referrals/{held}/notes", {"text": "電話済み"})
        expect(r.status == 201 and r.json["author"] == "shinjuku-mgr", r)
        rewards = [w["id"] for w in mgr.get("rewards?state=pending")["items"]]
        r = mgr.call("POST", "rewards/approve", {"ids": rewards})
        expect(all(x["ok"] for x in r.json["results"]), r.json)
        r = mgr.call("POST", "rewards/void", {"ids": rewards[:1], "note": "重複"})
        expect(r.status == 200 and r.json["results"][0]["ok"] is True, r.json)
        r = mgr.call("POST", "rewards/void", {"ids": rewards[:1]})
        expect(r.json["results"][0]["ok"] is False and
               r.json["results"][0]["error"] == "refused", r.json)
        audit = d.query("SELECT actor, action, target FROM audit_log WHERE actor = "
                        "'shinjuku-mgr' AND action NOT LIKE 'log%' ORDER BY id")
        expect(audit == [("shinjuku-mgr", "review_approve", f"referral:{held}"),
                         ("shinjuku-mgr", "referral_state", f"referral:{first}"),
                         ("shinjuku-mgr", "review_approve", f"referral:{first}"),
                         ("shinjuku-mgr", "referral_note", f"referral:{held}")] +
               [("shinjuku-mgr", "reward_approve", f"reward:{i}") for i in rewards] +
               [("shinjuku-mgr", "reward_void", f"reward:{rewards[0]}")], audit)
        actors = d.query("SELECT DISTINCT actor FROM referral_events WHERE actor LIKE "
                         "'operator:%'")
        expect(actors == [("operator:shinjuku-mgr",)], actors)
        check_openapi()


def test_coupon_upload_csv_export_and_tokens():
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        run_program(sim, d)
        admin = Console(d, "admin")
        r = admin.call("POST", "coupons/quo", raw=b"code\nGOOD-1\n=HYPERLINK(1)\nGOOD 2\n")
        expect(r.status == 400 and [e["line"] for e in r.json["errors"]] == [3, 4], r.json)
        expect(d.query("SELECT count(*) FROM coupons")[0][0] == 0, "a bad file was imported")
        r = admin.call("POST", "coupons/qou", raw=b"GOOD-1\n")  # a typo of quo
        expect(r.status == 400 and r.json["error"] == "unknown_pool", r.json)
        r = admin.call("POST", "coupons/quo", raw=b"\xef\xbb\xbfcode\r\nGOOD-1\r\nGOOD-2\r\n")
        expect(r.status == 200 and r.json["added"] == 2, r.json)
        pools = {p["pool"]: p for p in admin.get("coupons")["pools"]}
        expect(pools["quo"]["free"] == 2 and pools["quo"]["low"] is True and
               pools["quo"]["low_stock"] == 3, pools)
        # CSV: a BOM for Excel, headers from the console's text file, formulas defused.
        d.db().execute("UPDATE profiles SET display_name = '=cmd|calc' WHERE user_id = ?",
                       (USER,)).connection.commit()
        r = admin.call("GET", "referrals?format=csv")
        expect(r.headers["content-type"].startswith("text/csv") and
               r.headers["content-disposition"] == 'attachment; filename="referrals.csv"', r.headers)
        text = r.body.decode("utf-8")
        expect(text.startswith("\ufeffID,状態,キャンペーン,紹介コード,紹介者"), text[:80])
        expect("'=cmd|calc" in text and ",=cmd" not in text, text)
        # An API token: no CSRF, its own role; revoked, it is refused.
        token = ctl(d, "token", "add", "bi", "--role", "viewer").strip()
        bi = Console(d, token=token)
        expect(bi.get("referrals")["total"] == 3, "token read")
        expect(bi.call("POST", "rewards/approve", {"ids": [1]}).status == 403, "token acted")
        ctl(d, "token", "revoke", "bi")
        expect(bi.call("GET", "referrals").status == 401, "a revoked token still works")
        check_openapi()


def test_partners_apart_in_the_referrals_list_and_the_report():
    """A referrer tagged partner (import tags): the list marks their referrals and
    filters them apart (partner=1 or 0); shokaictl report --by partner counts apart."""
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        run_program(sim, d)
        with open(d.path("tags.csv"), "w") as f:
            f.write(f"user_id,tag\n{USER},partner\n")
        ctl(d, "import", "tags", d.path("tags.csv"))
        admin = Console(d, "admin")
        every = admin.get("referrals")
        expect(sorted((x["referrer"]["user_id"], x["partner"]) for x in every["items"]) ==
               sorted([(USER, True), (USER, True), (OTHER, False)]), every)
        got = admin.get("referrals?partner=1")
        expect(got["total"] == 2 and all(x["partner"] for x in got["items"]), got)
        got = admin.get("referrals?partner=0")
        expect(got["total"] == 1 and got["items"][0]["referrer"]["user_id"] == OTHER, got)
        expect(admin.call("GET", "referrals?partner=yes").status == 400, "partner=yes")
        text = admin.call("GET", "referrals?format=csv&partner=1").body.decode("utf-8")
        expect(text.splitlines()[0].startswith("\ufeffID,状態,キャンペーン,紹介コード,紹介者,"
                                               "パートナー,"), text[:80])
        rows = json.loads(ctl(d, "report", "--by", "partner", "--format", "json"))
        kinds = {r["referrer_kind"]: (r["issued"], r["claimed"], r["held"]) for r in rows}
        expect(kinds == {"partner": (1, 1, 1), "customer": (1, 1, 0)}, rows)
        check_openapi()


def test_pages_are_served_with_a_strict_policy():
    with Sim() as sim, program(sim) as d:
        r = http_request(d.admin_port, "GET", "/admin/")
        expect(r.status == 200 and r.headers["content-type"].startswith("text/html"), r)
        csp = r.headers["content-security-policy"]
        expect("script-src 'self'" in csp and "unsafe-inline" not in csp and
               "frame-ancestors 'none'" in csp, csp)
        expect(r.headers["x-content-type-options"] == "nosniff", r.headers)
        expect(http_request(d.admin_port, "GET", "/admin/static/nope.js").status == 404, "404")
        expect(http_request(d.admin_port, "GET", "/admin/static/../../etc/passwd").status
               in (400, 404), "path traversal")
        expect(http_request(d.admin_port, "GET", "/admin/api/v1/openapi.yaml").status == 200,
               "the API's description")
        # The webhook port serves no console.
        expect(http_request(d.port, "GET", "/admin/").status == 404, "console on the webhook port")
        r = d.request("GET", "/admin/api/v1/meta")
        expect(r.status == 404, r)


def test_config_reload_result_shows_on_operations_page():
    with Sim() as sim, program(sim) as d:
        add_accounts(d)
        admin = Console(d, "admin")
        ops = admin.get("ops")
        expect(ops["config"]["last_reload"] is None and ops["richmenus"] == [], ops)
        good = open(d.config_path, encoding="utf-8").read()
        d.write_config(good.replace("company_name: 株式会社テスト", "company_name: [broken"))
        d.signal(1)
        d.wait_log("reload failed")
        wait_until(lambda: admin.get("ops")["config"]["last_reload"] is not None, 5, "status")
        last = admin.get("ops")["config"]["last_reload"]
        expect(last["ok"] is False and last["errors"] and last["errors"][0]["line"] > 0, last)
        d.write_config(good)
        d.signal(1)
        d.wait_log("config reloaded")
        wait_until(lambda: admin.get("ops")["config"]["last_reload"]["ok"], 5, "reload ok")
        check_openapi()


ANNOUNCE = """announcements:
  - { id: news, title: キャンペーンのお知らせ, message: announce }
"""


def announce_program(sim):
    extra = PROGRAM.replace("messages:\n", "messages:\n  announce: \"{company_name}からのお知らせ\"\n", 1)
    return chat_daemon(sim, extra + ANNOUNCE + ADMIN.format(idle="30m"))


def test_announcements_preview_send_scope_and_audit():
    """Issue 13 part 4 in the console: a manager announces to a branch of theirs only and
    sees only those sends; a viewer previews but cannot send; an admin's test push,
    schedule and cancel are audited; the daemon's quota refusal shows with the numbers;
    a send's progress and results."""
    with Sim() as sim, announce_program(sim) as d:
        add_accounts(d)
        run_program(sim, d)
        admin, mgr, viewer = Console(d, "admin"), Console(d, "shinjuku-mgr"), Console(d, "viewer")
        got = admin.get("announcements")
        expect([a["id"] for a in got["configured"]] == ["news"] and got["items"] == [], got)
        expect(got["configured"][0]["messages"][0]["text"] == "株式会社テストからのお知らせ", got)
        # Friends: the two referrers (shinjuku, yokohama) and three friends who wrote.
        p = admin.call("POST", "announcements/preview", {"announcement": "news", "segment": "all"})
        expect(p.status == 200 and p.json["recipients"] == 5 and p.json["chunks"] == 1, p)
        p = viewer.call("POST", "announcements/preview", {"announcement": "news",
                                                           "segment": "branch:shinjuku"})
        # USER and the friend whose claim went through (a held claim inherits no rep yet).
        expect(p.status == 200 and p.json["recipients"] == 2, p)
        for who, seg, code in ((mgr, "all", "out_of_scope"), (mgr, "branch:yokohama", "out_of_scope"),
                               (mgr, "rep:Y003", "out_of_scope"), (admin, "branch:osaka", "bad_segment"),
                               (admin, "everyone", "bad_segment")):
            r = who.call("POST", "announcements", {"announcement": "news", "segment": seg})
            expect(r.status in (400, 403) and r.json["error"] == code, (seg, r))
        r = admin.call("POST", "announcements", {"announcement": "nope", "segment": "all"})
        expect(r.status == 400 and r.json["error"] == "unknown_announcement", r)
        r = viewer.call("POST", "announcements", {"announcement": "news", "segment": "all"})
        expect(r.status == 403 and r.json["error"] == "forbidden", r)
        r = admin.call("POST", "announcements", {"announcement": "news", "segment": "all"},
                       csrf=False)
        expect(r.status == 403 and r.json["error"] == "csrf", r)
        r = admin.call("POST", "announcements", {"announcement": "news", "segment": "all",
                                                 "at": "2001-01-01T10:00"})
        expect(r.status == 400 and r.json["error"] == "bad_time", r)

        r = admin.call("POST", "announcements/test", {"announcement": "news", "to": "nobody"})
        expect(r.status == 400 and r.json["error"] == "bad_user_id", r)
        r = admin.call("POST", "announcements/test", {"announcement": "news", "to": USER})
        expect(r.status == 200, r)
        wait_until(lambda: any(json.loads(x["body"])["messages"][0]["text"] ==
                               "株式会社テストからのお知らせ" for x in
                               sim.requests("/v2/bot/message/push")), 10, "the test push")

        later = (datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))) +
                 datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        r = admin.call("POST", "announcements", {"announcement": "news", "segment": "all",
                                                 "at": later})
        expect(r.status == 200, r)
        first = r.json["id"]
        r = mgr.call("POST", f"announcements/{first}/cancel", {})
        expect(r.status == 404, r)          # not a send of the manager's branches
        expect(admin.call("POST", f"announcements/{first}/cancel", {}).status == 200, "cancel")
        r = admin.call("POST", f"announcements/{first}/cancel", {})
        expect(r.status == 409 and r.json["error"] == "not_scheduled", r)

        r = mgr.call("POST", "announcements", {"announcement": "news", "segment": "branch:shinjuku"})
        expect(r.status == 200, r)
        mine = r.json["id"]
        wait_until(lambda: admin.get(f"announcements/{mine}")["state"] == "sent", 15, "sent")
        one = mgr.get(f"announcements/{mine}")
        expect(one["recipients"] == 2 and one["blocked"] == 0 and one["chunks"] == 1 and
               one["results"]["delivered"] == 2 and one["results"]["failed"] == 0, one)
        expect([x["id"] for x in mgr.get("announcements")["items"]] == [mine], "manager's list")
        expect(mgr.call("GET", f"announcements/{first}").status == 404, "another's send")

        sim.call("POST", "/_sim/quota", {"value": 100, "used": 98})
        r = admin.call("POST", "announcements", {"announcement": "news", "segment": "all"})
        refused = r.json["id"]
        wait_until(lambda: admin.get(f"announcements/{refused}")["state"] == "refused", 15,
                   "the daemon's refusal")
        x = admin.get(f"announcements/{refused}")
        expect(x["quota_limit"] == 100 and x["quota_used"] == 98 and x["recipients"] == 5 and
               "2 messages left" in x["reason"] and x["results"] is None, x)
        audit = d.query("SELECT actor, action, target FROM audit_log WHERE action LIKE "
                        "'announce%' ORDER BY id")
        expect(audit == [("admin", "announce_test", "news"),
                         ("admin", "announce_create", f"announcement:{first}"),
                         ("admin", "announce_cancel", f"announcement:{first}"),
                         ("shinjuku-mgr", "announce_create", f"announcement:{mine}"),
                         ("admin", "announce_create", f"announcement:{refused}")], audit)
        # what was sent to whom, as facts the console words (segment by its name)
        facts = [json.loads(r[0]) for r in d.query(
            "SELECT detail FROM audit_log WHERE action = 'announce_create' ORDER BY id")]
        expect(all(set(f) == {"announcement", "segment", "recipients"} and
                   isinstance(f["recipients"], int) for f in facts), facts)
        expect(facts[-1]["recipients"] == 5, facts)
        # ... which shokaid words from text/ja.json, in the API and in the CSV export alike
        rows = {x["target"]: x for x in admin.get("audit")["items"]}
        mine_row = rows[f"announcement:{mine}"]
        expect(mine_row["action_words"] == "お知らせの予約" and
               mine_row["detail_words"] == "newsを支店: 新宿支店へ(2人)" and
               mine_row["target_words"] == f"お知らせの送信 #{mine}", mine_row)
        csv = admin.call("GET", "audit?format=csv").body.decode("utf-8")
        expect(csv.startswith("\ufeff") and "お知らせの予約" in csv and
               "newsを支店: 新宿支店へ(2人)" in csv and '{""' not in csv and
               "announce_create" not in csv and f"お知らせの送信 #{mine}" in csv and
               f"announcement:{mine}" not in csv, csv[:600])
        check_openapi()
