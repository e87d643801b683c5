"""t_metrics.py: metrics, health and logs (issue 15, parts 2 and 7). /metrics on the
admin listener passes `promtool check metrics` and counts what was done (webhooks by
platform and status, a refused signature, an outbox send); a metrics token is asked for
when set; /readyz flips on a broken reload and back, with the reason; a campaign's empty
coupon pool is a warning in /healthz and /readyz and a 0 in /metrics; log.format json
makes every line a JSON object with ts, level and msg."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

from harness import (Daemon, expect, line_body, line_event, make_config, wait_until,
                     works_message)
from sim import Sim, config_for, ctl
from t_rewards_stages import stages_daemon

PROMTOOL = shutil.which("promtool")


def scrape(d, headers=None):
    r = d.admin_request("GET", "/metrics", headers=headers)
    return r


def sample(text, name, **labels):
    """The value of one sample of the exposition text, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"([a-z_:]+)(\{([^}]*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if got == {k: str(v) for k, v in labels.items()}:
            return float(m.group(4))
    return None


def test_metrics_pass_promtool_and_count_what_was_done():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        for _ in range(3):
            expect(d.post_line(line_body(line_event())).status == 200, "post")
        expect(d.post_works(works_message()).status == 200, "post works")
        expect(d.post_line(line_body(line_event()), sig="A" * 43 + "=").status == 401, "bad sig")
        ctl(d, "send", "line", "main", "U" + "6" * 32, "メトリクス")
        wait_until(lambda: d.query("SELECT count(*) FROM outbox WHERE kind = 'push' AND "
                                   "state = 'sent'")[0][0] == 1, 10, "the push to be sent")
        d.wait_processed()
        r = scrape(d)
        expect(r.status == 200 and "version=0.0.4" in r.headers.get("content-type", ""), r)
        text = r.body.decode()
        if PROMTOOL:
            p = subprocess.run([PROMTOOL, "check", "metrics"], input=r.body,
                               capture_output=True, timeout=30)
            expect(p.returncode == 0, f"promtool: {p.stdout.decode()}{p.stderr.decode()}")
        else:
            print("NOTICE promtool absent (Debian's prometheus package): format not checked")
        expect(sample(text, "shokai_http_requests_total", path="line", status=200) == 3, text)
        expect(sample(text, "shokai_http_requests_total", path="line", status=401) == 1, text)
        expect(sample(text, "shokai_http_requests_total", path="works", status=200) == 1, text)
        expect(sample(text, "shokai_http_request_duration_seconds_count", path="line") == 4,
               "the histogram counts every LINE answer")
        expect(sample(text, "shokai_signature_failures_total") == 1, "signature failures")
        expect(sample(text, "shokai_events_total", result="stored") == 4, "events stored")
        expect((sample(text, "shokai_outbox_messages", platform="line", state="sent") or 0) >= 1,
               [l for l in text.splitlines() if "outbox" in l])
        expect(sample(text, "shokai_inbox_backlog") == 0, "backlog")
        expect(sample(text, "shokai_ready") == 1 and sample(text, "shokai_up") == 1, "ready")
        expect(sample(text, "shokai_build_info", version=d.healthz()["version"]) == 1, "build")
        # Scrapes are not webhooks: nothing on the public port counted them.
        expect(sample(scrape(d).body.decode(), "shokai_http_requests_total", path="other",
                      status=404) == 0, "a scrape counted on the webhook port")
        # The public port has none of it.
        for path in ("/metrics", "/readyz", "/healthz"):
            expect(d.request("GET", path).status == 404, f"{path} is public")


def test_metrics_outbox_by_state_counts_every_row_once():
    """shokai_outbox_messages is read from several indexes (pending, sent, failed and
    unknown rows, rows with a dedupe key): together they count every row once, as a
    count of the whole table would."""
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        ctl(d, "send", "line", "main", "U" + "6" * 32, "メトリクス")
        wait_until(lambda: d.query("SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
                   == 1, 10, "the push to be sent")
        later = int(time.time() * 1000) + 3600 * 1000     # not due while the test runs
        c = d.db()
        for i, (platform, state, dedupe) in enumerate([
                ("line", "pending", None), ("line", "failed", None), ("works", "failed", None),
                ("line", "unknown", None), ("line", "sent", "nudge:1"),
                ("line", "pending", "nudge:2"), ("works", "failed", "nudge:3"),
                ("works", "sent", None)]):
            c.execute("INSERT INTO outbox(platform, channel, kind, target, body, retry_key, "
                      "dedupe_key, state, next_attempt_at, created_at, sent_at) VALUES "
                      "(?, 'main', 'push', 'U', '{}', ?, ?, ?, ?, ?, ?)",
                      (platform, f"metrics-{i}", dedupe, state, later, later - 3600 * 1000,
                       later - 3600 * 1000 if state == "sent" else None))
        c.commit()
        c.close()
        text = scrape(d).body.decode()
        want = d.query("SELECT platform, state, count(*) FROM outbox GROUP BY 1, 2")
        got = [(p, s, sample(text, "shokai_outbox_messages", platform=p, state=s))
               for p, s, _ in want]
        expect(got == [(p, s, float(n)) for p, s, n in want], (got, want))
        listed = [l for l in text.splitlines() if l.startswith("shokai_outbox_messages{")]
        expect(len(listed) == len(want), listed)


def test_metrics_token_is_asked_for_when_set():
    probe = Daemon(start=False)
    token = probe.write_secret("metrics-token", "scrape-me-0123456789")
    config = make_config() + f"admin:\n  listen: 127.0.0.1:0\n  metrics_token_file: {token}\n"
    with Daemon(config=config) as d:
        r = scrape(d)
        expect(r.status == 401 and "Bearer" in r.headers.get("www-authenticate", ""), r)
        expect(scrape(d, {"Authorization": "Bearer wrong"}).status == 401, "a wrong token")
        r = scrape(d, {"Authorization": "Bearer scrape-me-0123456789"})
        expect(r.status == 200 and b"shokai_up 1" in r.body, r)
        # Health stays open: probes carry no token.
        expect(d.admin_request("GET", "/readyz").status == 200, "readyz")


def test_readiness_flips_on_a_broken_reload_and_back():
    with Daemon() as d:
        r = d.admin_request("GET", "/readyz")
        expect(r.status == 200 and json.loads(r.body)["ready"] is True, r)
        good = open(d.config_path).read()
        d.write_config(good + "\nnot_a_key: 1\n")
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log(r"reload failed", start=n)
        r = d.admin_request("GET", "/readyz")
        doc = json.loads(r.body)
        expect(r.status == 503 and doc["ready"] is False, r)
        expect(any("the last reload failed" in x for x in doc["reasons"]), doc)
        h = d.healthz()
        expect(h["last_reload"] == "failed" and h["status"] == "ok", h)
        text = scrape(d).body.decode()
        expect(sample(text, "shokai_ready") == 0 and sample(text, "shokai_last_reload_failed")
               == 1 and sample(text, "shokai_reloads_total", result="failed") == 1, text)
        d.write_config(good)
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log(r"config reloaded", start=n)
        r = d.admin_request("GET", "/readyz")
        expect(r.status == 200 and json.loads(r.body)["reasons"] == [], r)
        expect(d.healthz()["last_reload"] == "ok", d.healthz())


def test_an_empty_coupon_pool_is_a_warning():
    with Sim() as sim:
        d = stages_daemon(sim)
        with d:
            want = "coupon pool partner-meeting has no free code"
            expect(want in d.healthz()["warnings"], d.healthz())
            r = d.admin_request("GET", "/readyz")
            doc = json.loads(r.body)
            # A warning, not a reason: webhooks still belong here.
            expect(r.status == 200 and want in doc["warnings"], doc)
            text = scrape(d).body.decode()
            expect(sample(text, "shokai_coupon_free", pool="partner-meeting") == 0,
                   "an empty pool is a 0, not a missing series")
            path = d.path("pm.txt")
            with open(path, "w") as f:
                f.write("PM-1\nPM-2\n")
            ctl(d, "import", "coupons", "partner-meeting", path)
            text = scrape(d).body.decode()
            expect(sample(text, "shokai_coupon_free", pool="partner-meeting") == 2, text)
            expect(want not in d.healthz()["warnings"], d.healthz())
            expect("coupon pool gift has no free code" in d.healthz()["warnings"],
                   d.healthz())


def test_log_format_json_and_journald():
    config = re.sub(r"(?m)^log:\n", "log:\n  format: json\n", make_config())
    expect("format: json" in config, config)
    d = Daemon(config=config, start=False)
    # The harness reads logfmt: this daemon is run by hand.
    with open(d.path("stderr.json"), "w+b") as err:
        p = subprocess.Popen([os.environ.get("SHOKAID", "shokaid"), "-c", d.config_path],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            port = None
            for _ in range(100):
                err.seek(0)
                m = re.search(rb'"msg":"listening","addr":"127\.0\.0\.1:(\d+)"', err.read())
                if m:
                    port = int(m.group(1))
                    break
                time.sleep(0.1)
            expect(port, "no JSON listening line")
            d.port = port
            expect(d.post_line(line_body(line_event())).status == 200, "post")
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(15)
        err.seek(0)
        lines = [l for l in err.read().decode().splitlines() if l.strip()]
    expect(len(lines) > 5, lines)
    for l in lines:
        try:
            doc = json.loads(l)
        except ValueError:
            raise AssertionError(f"not JSON: {l!r}")
        expect({"ts", "level", "msg"} <= set(doc), doc)
    expect(any(json.loads(l)["msg"] == "request" and json.loads(l).get("status") == "200"
               for l in lines), "no request line")
    # Under systemd (JOURNAL_STREAM names stderr's file): a priority first, no time.
    bad = re.sub(r"(?m)^(\s*sqlite:).*$", r"\1 /nonexistent/dir/shokai.db",
                 open(d.config_path).read())
    bad = bad.replace("  format: json\n", "")
    d.write_config(bad)
    with open(d.path("stderr.txt"), "w+b") as err:
        st = os.fstat(err.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        r = subprocess.run([os.environ.get("SHOKAID", "shokaid"), "-c", d.config_path],
                           stderr=err, stdout=subprocess.DEVNULL, env=env, timeout=10)
        err.seek(0)
        out = err.read().decode()
    expect(r.returncode == 1, out)
    expect(re.search(r"(?m)^<3>level=error msg=", out) and "ts=" not in out, out)
