"""t_tls.py: native TLS on the webhook and console listeners (server.tls, admin.tls): a
real handshake from Python's ssl with certificates the openssl CLI makes in the test's
folder, old protocols and plain HTTP refused, certificate renewal by SIGHUP under load
without a failed request, a bad renewal refused with the old certificate kept, and the
console's Secure cookie."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import threading
import time
import warnings

from harness import (LINE_SECRET, Daemon, expect, https_request, line_body, line_event,
                     make_cert, make_config, make_test_ca, new_event_id, read_answer,
                     run_check, sign, tls_client_context, wait_until)
from sim import ctl

TLS = "{ cert_file: tls.crt, key_file: tls.key }"
FIRST, SECOND = 1001, 2002


def tls_daemon(days=30, **server):
    """A Daemon (not started) whose webhook listener speaks TLS with a certificate of
    serial FIRST (server: more server settings); with the client context that trusts
    its CA."""
    d = Daemon(start=False, server=dict({"tls": TLS, "public_url": "https://127.0.0.1"},
                                        **server))
    ca = make_test_ca(d.dir)
    make_cert(d.dir, "tls", FIRST, days)
    return d, tls_client_context(ca)


def post_line(d, ctx, body, **kw):
    return https_request(d.port, "POST", "/line/main", ctx, body,
                         {"Content-Type": "application/json; charset=utf-8",
                          "X-Line-Signature": sign(LINE_SECRET, body)}, **kw)


def healthz(d, ctx):
    """The figures from the admin listener (plain HTTP in these tests); the webhook
    listener over TLS has no /healthz."""
    r = https_request(d.port, "GET", "/healthz", ctx)
    expect(r.status == 404, f"/healthz on the webhook port: {r}")
    return d.healthz()


def renew(d, name, serial, key_from=None):
    """Makes certificate name (serial) and puts it in place of tls.crt and tls.key, each
    replaced whole by a rename; key_from: put that key instead (a mismatch)."""
    cert, key = make_cert(d.dir, name, serial)
    os.replace(cert, d.path("tls.crt"))
    if key_from is not None:
        shutil.copy(key_from, d.path(name + ".key.tmp"))
        os.chmod(d.path(name + ".key.tmp"), 0o600)
        key = d.path(name + ".key.tmp")
    os.replace(key, d.path("tls.key"))


def test_a_signed_webhook_over_https_is_stored():
    d, ctx = tls_daemon(days=5)
    with d:
        d.start()
        log = d.log_text()
        expect(re.search(r'msg="TLS certificate" listener=server.tls subject="/CN=127.0.0.1" '
                         r'serial=03E9 not_after=\S+Z', log), log)
        expect(re.search(r'msg="TLS certificate expires soon; renew it" listener=server.tls '
                         r'.*days_left=[45]\b', log), log)
        expect("tls=on" in d.wait_log(r"msg=listening"), "listening line without tls=on")
        eid = new_event_id()
        r = post_line(d, ctx, line_body(line_event(eid, text="TLS越しのこんにちは")))
        expect(r.status == 200 and r.serial == FIRST, r)
        expect(d.inbox("event_key, text", "WHERE event_key = ?", (eid,)) ==
               [(eid, "TLS越しのこんにちは")], d.inbox())
        # The signature is still checked on the decrypted body.
        body = line_body(line_event())
        r = https_request(d.port, "POST", "/line/main", ctx, body,
                          {"X-Line-Signature": sign("not the secret", body)})
        expect(r.status == 401, r)
        expect(len(d.inbox()) == 1, d.inbox())
        # The guard's strict head check reads the decrypted stream too.
        raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", d.port), timeout=5),
                              server_hostname="127.0.0.1")
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                    b"Content-Length: 2\r\n\r\nxy")
        got = read_answer(raw, time.monotonic() + 5)
        raw.close()
        expect(got[0] == "answer" and got[1] == 400, got)
        expect(healthz(d, ctx)["tls_handshake_failures"] == 0, "a handshake failed")


def test_tls_1_1_plain_http_and_stalled_handshakes_are_refused():
    d, ctx = tls_daemon(idle_timeout="1s")
    with d:
        d.start()
        # A client that offers TLS 1.1 only, and really sends it (the system's OpenSSL
        # policy would otherwise refuse it before a byte leaves).
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        sock = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        try:
            old.wrap_socket(sock, server_hostname="127.0.0.1")
            raise AssertionError("a TLS 1.1 handshake succeeded")
        except ssl.SSLError as e:
            expect("VERSION" in str(e).upper() or "PROTOCOL" in str(e).upper(), e)
        finally:
            sock.close()
        d.wait_log(r'msg="TLS handshake failed" reason="[^"]*unsupported protocol')
        # Plain HTTP with a good signature gets no webhook through.
        body = line_body(line_event())
        head = ("POST /line/main HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Line-Signature: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (sign(LINE_SECRET, body), len(body))).encode()
        sock = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        sock.sendall(head + body)
        got = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        sock.close()
        expect(not got.startswith(b"HTTP/"), got[:200])
        expect(healthz(d, ctx)["tls_handshake_failures"] == 2, healthz(d, ctx))
        expect(d.inbox() == [], d.inbox())
        errors = [l for l in d.log_lines() if "level=error" in l]
        expect(not errors, errors)
        # A handshake that stalls (nothing, or half a ClientHello) is closed at
        # server.idle_timeout, like an idle connection.
        for payload in (b"", b"\x16\x03\x01\x00\xff\x01"):
            sock = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            sock.sendall(payload)
            t0 = time.monotonic()
            try:
                got = sock.recv(100)
            except OSError:
                got = b""
            took = time.monotonic() - t0
            sock.close()
            expect(got == b"" and 0.5 <= took <= 4, (payload, got, took))


class HttpsLoad:
    """Threads sending signed webhooks over TLS until stopped: keep-alive ones (one
    connection for as long as it lasts) and ones that open a new connection per request.
    Each outcome: (event id, status or what went wrong, the connection's serial, when the
    connection was opened)."""

    def __init__(self, port, ctx, keepalive=2, fresh=2):
        self.port, self.ctx = port, ctx
        self.results, self.lock = [], threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._keepalive, daemon=True)
                        for _ in range(keepalive)]
        self.threads += [threading.Thread(target=self._fresh, daemon=True)
                         for _ in range(fresh)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)
        expect(not any(t.is_alive() for t in self.threads), "a load thread did not stop")

    def _record(self, *outcome):
        with self.lock:
            self.results.append(outcome)

    def _connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        # When the handshake is over: the server chose its certificate before this (a
        # connection begun earlier may be accepted after a reload, slowly under TSan).
        return sock, int(sock.getpeercert()["serialNumber"], 16), time.monotonic()

    def _keepalive(self):
        sock = None
        while not self.stopping.is_set():
            eid = new_event_id()
            body = line_body(line_event(eid))
            try:
                if sock is None:
                    sock, serial, opened = self._connect()
                sock.sendall(("POST /line/main HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "X-Line-Signature: %s\r\nContent-Length: %d\r\n\r\n" %
                              (sign(LINE_SECRET, body), len(body))).encode() + body)
                r = read_answer(sock, time.monotonic() + 10)
            except (OSError, ssl.SSLError) as e:
                r = ("error", repr(e))
            if r[0] == "answer":
                self._record(eid, r[1], serial, opened, "kept")
            else:
                self._record(eid, r[0], None, None, "kept")
            if r[0] != "answer" or r[2].get("connection", "").lower() == "close":
                if sock is not None:
                    sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def _fresh(self):
        while not self.stopping.is_set():
            eid = new_event_id()
            opened = time.monotonic()
            try:
                r = post_line(self, self.ctx, line_body(line_event(eid)))
                self._record(eid, r.status, r.serial, opened, "fresh")
            except (OSError, ssl.SSLError) as e:
                self._record(eid, repr(e), None, None, "fresh")


def test_renewal_under_load_drops_nothing_and_new_connections_get_the_new_certificate():
    d, ctx = tls_daemon()
    with d:
        d.start()
        load = HttpsLoad(d.port, ctx).start()
        try:
            wait_until(lambda: len(load.results) >= 40, 15, "the load to get going")
            renew(d, "renewed", SECOND)
            n = d.nlines()
            sighup_at = time.monotonic()
            d.signal(signal.SIGHUP)
            d.wait_log(r'msg="config reloaded"', timeout=10, start=n)
            reloaded_at = time.monotonic()
            before = len(load.results)
            wait_until(lambda: len(load.results) >= before + 40, 15,
                       "requests after the reload")
            time.sleep(0.5)
        finally:
            load.stop()
        res = load.results
        bad = [r for r in res if r[1] != 200]
        expect(not bad, f"{len(bad)} of {len(res)} requests failed, e.g. {bad[:3]}")
        eids = [r[0] for r in res]
        stored = set()
        for i in range(0, len(eids), 500):
            part = eids[i:i + 500]
            stored.update(e for (e,) in d.query(
                "SELECT event_key FROM inbox WHERE event_key IN (%s)" %
                ",".join("?" * len(part)), part))
        expect(stored == set(eids), f"{len(set(eids) - stored)} acknowledged events "
               "are not stored")
        after = [r for r in res if r[3] > reloaded_at]
        expect(len(after) >= 10, f"only {len(after)} requests on connections opened after "
               "the reload")
        expect(all(r[2] == SECOND for r in after),
               sorted({r[2] for r in after}))
        # Connections opened on the old certificate kept it and went on being served.
        kept = [r for r in res[before:] if r[4] == "kept" and r[3] < sighup_at]
        expect(kept and all(r[2] == FIRST for r in kept),
               f"{len(kept)} requests after the reload on connections from before it")
        expect(https_request(d.port, "GET", "/healthz", ctx).serial == SECOND, "old serial")
        log = d.log_text()
        expect(re.search(r'msg="TLS certificate" listener=server.tls .*serial=07D2', log), log)


def test_a_key_that_does_not_match_fails_the_reload_and_the_old_certificate_serves():
    d, ctx = tls_daemon()
    with d:
        d.start()
        other_cert, other_key = make_cert(d.dir, "stranger", 3003)
        # The new certificate with the old key: they do not match.
        shutil.copy(d.path("tls.key"), d.path("old.key"))
        renew(d, "renewed", SECOND, key_from=d.path("old.key"))
        n = d.nlines()
        d.signal(signal.SIGHUP)
        line = d.wait_log(r'msg="reload failed; the old config stays in force"', start=n)
        expect(line, "no reload failure")
        text = "\n".join(d.log_lines(n))
        expect(re.search(r'server.tls: the private key \S+tls.key does not match the '
                         r'certificate \S+tls.crt', text), text)
        eid = new_event_id()
        r = post_line(d, ctx, line_body(line_event(eid)))
        expect(r.status == 200 and r.serial == FIRST, (r, getattr(r, "serial", None)))
        rc, out, err = run_check(d.config_path)
        expect(rc != 0 and "does not match" in err, (rc, out, err))
        # A private key others may read is refused like every secret.
        os.chmod(d.path("tls.key"), 0o644)
        rc, out, err = run_check(d.config_path)
        expect(rc != 0 and re.search(r"server.tls.key_file: \S+ is readable by group or "
                                     r"others \(mode 0644\)", err), err)
        # Put right, the next reload serves the new certificate.
        os.replace(other_cert, d.path("tls.crt"))
        os.replace(other_key, d.path("tls.key"))
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="config reloaded"', start=n)
        expect(post_line(d, ctx, line_body(line_event())).serial == 3003, "not renewed")
        # Turning TLS off takes a restart, and the log says so; TLS stays on till then.
        d.write_config(make_config())
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="server.tls turned off; it takes effect after a restart"', start=n)
        expect(post_line(d, ctx, line_body(line_event())).serial == 3003, "TLS went off")


ADMIN_TLS = """admin:
  listen: 127.0.0.1:0
  tls: { cert_file: admin.crt, key_file: admin.key }
"""


def test_console_over_https_with_a_secure_cookie():
    d = Daemon(start=False, config=make_config() + ADMIN_TLS)
    with d:
        ctx = tls_client_context(make_test_ca(d.dir))
        make_cert(d.dir, "admin", 4004)
        d.start()
        expect(re.search(r'msg="console listening" listen=\S+ url=https://', d.log_text()),
               d.log_text())
        expect(re.search(r'msg="TLS certificate" listener=admin.tls .*serial=0FA4',
                         d.log_text()), d.log_text())
        r = https_request(d.admin_port, "GET", "/admin/", ctx)
        expect(r.status == 200 and r.headers["content-type"].startswith("text/html"), r)
        pw = d.path("pw")
        with open(pw, "w") as f:
            f.write("correct horse battery staple\n")
        ctl(d, "user", "add", "admin", "--role", "admin", "--password-file", pw)
        r = https_request(d.admin_port, "POST", "/admin/api/v1/session", ctx,
                          b'{"login": "admin", "password": "correct horse battery staple"}',
                          {"Content-Type": "application/json"})
        expect(r.status == 200, r)
        cookie = r.headers["set-cookie"]
        expect(re.search(r"shokai_session=[^;]+;.*; Secure", cookie), cookie)
        # Plain HTTP on the console's port gets no page.
        sock = socket.create_connection(("127.0.0.1", d.admin_port), timeout=5)
        sock.sendall(b"GET /admin/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = read_answer(sock, time.monotonic() + 5)
        sock.close()
        expect(got[0] != "answer" or got[1] != 200, got)
        # The webhook listener is plain here (its own setting); health is on the console's
        # listener, over TLS like the rest of it.
        expect(d.request("GET", "/nothing").status == 404, "plain webhook listener")
        r = https_request(d.admin_port, "GET", "/healthz", ctx)
        expect(r.status == 200 and json.loads(r.body)["status"] == "ok", r)
        # A renewal reaches the console's thread: new connections get the new
        # certificate, and a keep-alive connection from before still works.
        old = http.client.HTTPSConnection("127.0.0.1", d.admin_port, timeout=10, context=ctx)
        old.request("GET", "/admin/")
        expect(old.getresponse().read() and True, "keep-alive page")
        cert, key = make_cert(d.dir, "admin-new", 6006)
        os.replace(cert, d.path("admin.crt"))
        os.replace(key, d.path("admin.key"))
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="TLS certificate" listener=admin.tls .*serial=1776', start=n)
        wait_until(lambda: https_request(d.admin_port, "GET", "/admin/", ctx).serial == 6006,
                   5, "the console to serve the renewed certificate")
        old.request("GET", "/admin/")
        r = old.getresponse()
        expect(r.status == 200 and r.read() and
               int(old.sock.getpeercert()["serialNumber"], 16) == 4004, r.status)
        old.close()
