"""t_proxy.py: shokaid behind nginx as scripts/nginx-shokai.conf sets it up (ports and
paths put in for a test): nginx terminates TLS with a certificate the openssl CLI made;
signed webhooks verify through it; /healthz is not public; /r/{code} counts each real
client on its own (clients from 127.0.0.2, .3, ...: loopback takes all of 127/8), and
a client forging X-Forwarded-For is still one client; the console answers only the
allow list. Skipped, with a notice, where nginx is not installed."""
import datetime
import os
import re
import shutil
import socket
import subprocess
import tempfile

from harness import (LINE_SECRET, REPO, expect, https_request, line_body, line_event,
                     make_cert, make_test_ca, new_event_id, sign, tls_client_context,
                     wait_until)
from sim import INVITE_CHAT, Sim, chat_daemon, config_for, send

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                  else None)
TODAY = datetime.date.today()
REFERRAL = f"""
company_name: 株式会社テスト
messages:
{INVITE_CHAT}campaigns:
  - id: now
    name: いまのキャンペーン
    starts: {TODAY - datetime.timedelta(days=1)}
    ends: {TODAY + datetime.timedelta(days=30)}
referral: {{ invite_rate_per_min: 3 }}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    """nginx -p FOLDER -c FOLDER/nginx.conf in the foreground, serving
    scripts/nginx-shokai.conf with its ports and paths replaced: webhook_port and
    admin_port are shokaid's; the console's allow list is `allow`."""

    def __init__(self, webhook_port, admin_port, allow):
        self.dir = tempfile.mkdtemp(prefix="shokai-nginx-")
        self.ca = make_test_ca(self.dir)
        cert, key = make_cert(self.dir, "proxy", 5005)
        self.http, self.https, self.console = free_port(), free_port(), free_port()
        with open(os.path.join(REPO, "scripts", "nginx-shokai.conf")) as f:
            conf = f.read()
        subst = [
            (r"(?m)^\s*listen \[::\]:\d+( ssl)?;\n", ""),
            (r"listen 80;", f"listen 127.0.0.1:{self.http};"),
            (r"listen 443 ssl;", f"listen 127.0.0.1:{self.https} ssl;"),
            (r"listen 8443 ssl;", f"listen 127.0.0.1:{self.console} ssl;"),
            (r"/etc/letsencrypt/live/bot\.example\.jp/fullchain\.pem", cert),
            (r"/etc/letsencrypt/live/bot\.example\.jp/privkey\.pem", key),
            (r"root /var/www/letsencrypt;", f"root {self.dir};"),
            (r"server 127\.0\.0\.1:8080;", f"server 127.0.0.1:{webhook_port};"),
            (r"http://127\.0\.0\.1:8081;", f"http://127.0.0.1:{admin_port};"),
            (r"allow 192\.0\.2\.0/24;", f"allow {allow};"),
        ]
        for rx, to in subst:
            conf, n = re.subn(rx, lambda m, to=to: to, conf)
            expect(n >= 1, f"scripts/nginx-shokai.conf has no {rx!r} any more")
        with open(os.path.join(self.dir, "shokai.conf"), "w") as f:
            f.write(conf)
        d = self.dir
        main = (("user root root;\n" if os.geteuid() == 0 else "") +
                f"daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\n"
                f"error_log {d}/error.log info;\nevents {{ worker_connections 256; }}\n"
                f"http {{\n  access_log {d}/access.log;\n"
                f"  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n"
                f"  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n"
                f"  scgi_temp_path {d}/scgi;\n  include {d}/shokai.conf;\n}}\n")
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(main)
        self.proc = None

    def __enter__(self):
        r = subprocess.run([NGINX, "-t", "-p", self.dir, "-c", self.conf, "-e",
                            os.path.join(self.dir, "error.log")], capture_output=True, timeout=20)
        expect(r.returncode == 0, f"nginx -t: {r.stderr.decode(errors='replace')}")
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.https), timeout=1).close()
                return True
            except OSError:
                expect(self.proc.poll() is None, "nginx exited: " + self.error_log())
                return False
        wait_until(up, 10, "nginx to listen")
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def __exit__(self, et, ev, tb):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            if isinstance(ev, BaseException):
                ev.add_note("nginx error.log:\n" + self.error_log())
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def proxied(sim):
    config = config_for(sim).replace("server:\n", "server:\n  trusted_proxies: [127.0.0.1]\n",
                                     1).replace("max_body: 256KiB", "max_body: 1MiB", 1)
    return chat_daemon(sim, REFERRAL, config=config)


def test_behind_nginx_signatures_verify_and_invite_limits_are_per_real_client():
    if NGINX is None:
        print("NOTICE t_proxy skipped: nginx is not installed (apt-get install nginx-light)",
              flush=True)
        return
    with Sim() as sim, proxied(sim) as d, Nginx(d.port, d.admin_port, "127.0.0.2") as ngx:
        ctx = tls_client_context(ngx.ca)

        def via(method, path, source, body=None, headers=None, port=ngx.https):
            return https_request(port, method, path, ctx, body, headers,
                                 source=(source, 0))

        # A signed webhook through the proxy: 200 and stored.
        eid = new_event_id()
        body = line_body(line_event(eid, text="プロキシ越し"))
        r = via("POST", "/line/main", "127.0.0.2", body,
                {"Content-Type": "application/json; charset=utf-8",
                 "X-Line-Signature": sign(LINE_SECRET, body)})
        expect(r.status == 200 and r.serial == 5005, r)
        expect(d.inbox("event_key, text", "WHERE event_key = ?", (eid,)) ==
               [(eid, "プロキシ越し")], d.inbox())
        r = via("POST", "/line/main", "127.0.0.2", body,
                {"X-Line-Signature": sign("not the secret", body)})
        expect(r.status == 401, r)
        # Only the webhook paths are public.
        expect(via("GET", "/healthz", "127.0.0.2").status == 404, "/healthz is public")
        expect(via("GET", "/admin/", "127.0.0.2").status == 404, "the console is public")

        send(d, line_event(etype="postback", text="action=refer"))
        d.wait_processed()
        code = d.query("SELECT code FROM referral_codes")[0][0]
        click = f"/r/{code}"
        # One real client: three clicks a minute, then 429.
        got = [via("GET", click, "127.0.0.2").status for _ in range(4)]
        expect(got == [302, 302, 302, 429], got)
        # Another real client is not held back by the first.
        expect(via("GET", click, "127.0.0.3").status == 302, "a second client was limited")
        # One client forging a new X-Forwarded-For each time is still one client.
        got = [via("GET", click, "127.0.0.4",
                   headers={"X-Forwarded-For": f"198.51.100.{i + 1}"}).status
               for i in range(5)]
        expect(got == [302, 302, 302, 429, 429], got)
        # Nor can it pose as the limited client to spend its clicks.
        got = via("GET", click, "127.0.0.5",
                  headers={"X-Forwarded-For": "127.0.0.2, 127.0.0.1"}).status
        expect(got == 302, got)
        hashes = sorted(n for (n,) in d.query(
            "SELECT count(*) FROM referral_events WHERE type = 'clicked' "
            "GROUP BY client_hash"))
        expect(hashes == [1, 1, 3, 3], hashes)
        # The console through its allow list only.
        expect(via("GET", "/admin/", "127.0.0.2", port=ngx.console).status == 200,
               "the console through the allow list")
        expect(via("GET", "/admin/", "127.0.0.3", port=ngx.console).status == 403,
               "the console outside the allow list")
