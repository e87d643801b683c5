"""t_outbox.py: outbound messages through the outbox, against the platform simulator
(build/shokaisim): retries with one retry key, backoff on 429, timeouts, permanent
failures, a crash while a push is in flight, LINE WORKS tokens."""
import http.server
import json
import re
import socket
import ssl
import tempfile
import threading
import time
import urllib.request

from harness import (Daemon, default_channel, expect, make_cert, make_config, make_test_ca,
                     wait_until)
from sim import Sim, config_for, contract_check, ctl, ctl_run


def outbox_rows(d):
    return d.query("SELECT id, kind, state, attempts, last_status, last_error, retry_key "
                   "FROM outbox ORDER BY id")


def wait_state(d, state, n=1, timeout=15):
    wait_until(lambda: len([r for r in outbox_rows(d) if r[2] == state]) >= n, timeout,
               f"{n} outbox row(s) {state}")


def test_push_500_twice_then_delivered_once_same_key():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        sim.fault(path="/v2/bot/message/push", status=500, count=2)
        ctl(d, "send", "line", "main", "U" + "1" * 32, "こんにちは")
        wait_state(d, "sent")
        pushes = sim.requests("/v2/bot/message/push")
        expect(len(pushes) == 3, f"{len(pushes)} push requests")
        keys = {p["headers"].get("x-line-retry-key") for p in pushes}
        expect(len(keys) == 1 and None not in keys, f"retry keys {keys}")
        expect(keys == {outbox_rows(d)[0][6]}, "retry key differs from the stored one")
        expect(sim.stats()["delivered_by_key"] == {keys.pop(): 1}, sim.stats())
        expect(outbox_rows(d)[0][3] == 3, outbox_rows(d))
        body = json.loads(pushes[-1]["body"])
        expect(body == {"to": "U" + "1" * 32,
                        "messages": [{"type": "text", "text": "こんにちは"}]}, body)
        expect(pushes[-1]["headers"].get("authorization") == "Bearer dummy-access-token",
               pushes[-1]["headers"])
        # Outcomes commit without fsync; every other commit must still be FULL.
        health = d.healthz()
        expect(health["sqlite_synchronous"] == 2, health)
        # the loop's own part of a stall is a part of it
        expect(0 <= health["loop_max_busy_us"] <= health["loop_max_stall_us"], health)


def test_429_backs_off():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        sim.fault(path="/v2/bot/message/push", status=429, count=1,
                  headers={"Retry-After": "2"})
        ctl(d, "send", "line", "main", "U" + "2" * 32, "429")
        wait_state(d, "sent", timeout=10)
        pushes = sim.requests("/v2/bot/message/push")
        expect(len(pushes) == 2, f"{len(pushes)} pushes")
        d.wait_log(r"status=429 outcome=retry .*retry_in_ms=(19\d\d|2\d\d\d)")


def test_timeout_is_retried():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        sim.fault(path="/v2/bot/message/push", mode="sleep", ms=2500, count=1)
        ctl(d, "send", "line", "main", "U" + "3" * 32, "遅い")
        wait_state(d, "sent", timeout=15)
        d.wait_log(r"kind=push .*status=0 outcome=retry .*reason=\"[^\"]*timed out")
        keys = {p["headers"].get("x-line-retry-key")
                for p in sim.requests("/v2/bot/message/push")}
        expect(len(keys) == 1, keys)
        expect(list(sim.stats()["delivered_by_key"].values()) == [1], sim.stats())


def test_permanent_400_recorded_with_platform_message():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        sim.fault(path="/v2/bot/message/push", status=400, count=1)
        ctl(d, "send", "line", "main", "U" + "4" * 32, "だめ")
        wait_state(d, "failed")
        row = outbox_rows(d)[0]
        expect(row[3] == 1 and row[4] == 400 and row[5] and row[5].startswith("400 "), row)
        expect(len(sim.requests("/v2/bot/message/push")) == 1, "a permanent failure retried")
        out = ctl(d, "outbox")
        expect("failed" in out and "400" in out, out)
        # An operator sends it again: same key, now delivered.
        ctl(d, "outbox", "retry", str(row[0]))
        wait_state(d, "sent")
        keys = {p["headers"].get("x-line-retry-key")
                for p in sim.requests("/v2/bot/message/push")}
        expect(len(keys) == 1, keys)


def test_kill9_while_push_in_flight_resent_with_same_key():
    with Sim() as sim:
        d = Daemon(config=config_for(sim))
        try:
            d.start()
            sim.fault(path="/v2/bot/message/push", mode="sleep", ms=4000, count=1)
            ctl(d, "send", "line", "main", "U" + "5" * 32, "クラッシュ")
            wait_until(lambda: len(sim.requests("/v2/bot/message/push")) == 1, 5,
                       "the push to arrive")
            d.kill9()
            expect(outbox_rows(d)[0][2] == "pending", outbox_rows(d))
            d.start()
            wait_state(d, "sent")
            pushes = sim.requests("/v2/bot/message/push")
            keys = {p["headers"].get("x-line-retry-key") for p in pushes}
            expect(len(pushes) == 2 and len(keys) == 1, f"{len(pushes)} pushes, keys {keys}")
            expect(list(sim.stats()["delivered_by_key"].values()) == [1], sim.stats())
        finally:
            d.__exit__(None, None, None)


def test_works_token_fetched_once_and_renewed_on_401():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        for i in range(5):
            ctl(d, "send", "works", "sales", f"user-{i}", f"お知らせ {i}")
        wait_state(d, "sent", n=5)
        expect(sim.stats()["tokens_issued"] == 1, sim.stats())
        tok = sim.requests("/oauth2/v2.0/token")[0]
        form = dict(kv.split("=", 1) for kv in tok["body"].split("&"))
        expect(form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
               form)
        expect(form["assertion"].count(".") == 2, "assertion is not a JWT")
        sends = sim.requests("/v1.0/bots/")
        expect(len(sends) == 5 and all(s["headers"]["authorization"].startswith("Bearer ")
                                       for s in sends), sends)
        sim.call("POST", "/_sim/revoke-tokens")
        ctl(d, "send", "works", "sales", "user-9", "再発行")
        wait_state(d, "sent", n=6)
        expect(sim.stats()["tokens_issued"] == 2, sim.stats())
        last = sim.requests("/v1.0/bots/")[-2:]
        expect(last[0]["status"] == 401 and last[1]["status"] == 201,
               [r["status"] for r in last])


def test_outbound_line_requests_match_lines_contract():
    """Every LINE request the daemon made in this scenario, replayed against a Prism mock
    of LINE's OpenAPI spec and checked by the per-type message validator. Skipped, with a
    notice, where node is not available."""
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        ctl(d, "send", "line", "main", "U" + "6" * 32, "契約テスト: 紹介コード K7Q4M2XP")
        ctl(d, "send", "line", "main", "C" + "7" * 32, "グループへのお知らせ")
        queue(d, "reply", {"replyToken": "d" * 32, "messages": [
            {"type": "text", "text": "ご紹介ありがとうございます。"},
            {"type": "template", "altText": "紹介メッセージを送る",
             "template": {"type": "buttons", "text": "紹介メッセージを送る", "actions": [
                 {"type": "uri", "label": "友だちに送る",
                  "uri": "https://line.me/R/share?text=%E7%B4%B9%E4%BB%8B"}]}}]},
              fallback_to="U" + "6" * 32)
        queue(d, "multicast", {"to": ["U" + "b" * 32, "U" + "c" * 32],
                               "messages": [{"type": "text", "text": "お知らせ"}]})
        wait_state(d, "sent", n=4)
        reqs = sim.requests("/v2/")
        expect(len(reqs) == 4, f"{len(reqs)} LINE requests")
        contract_check(reqs)


def queue(d, kind, body, target=None, fallback_to=None):
    """Writes an outbox row the way a handler does (inside its own transaction)."""
    import uuid
    now = int(time.time() * 1000)
    c = d.db()
    with c:
        c.execute("INSERT INTO outbox(platform, channel, kind, target, body, fallback_to, "
                  "retry_key, next_attempt_at, created_at) VALUES ('line', 'main', ?, ?, ?, ?, "
                  "?, ?, ?)", (kind, target, json.dumps(body, ensure_ascii=False), fallback_to,
                               str(uuid.uuid4()), now, now))
    c.close()


def test_reply_sent_without_retry_key():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        queue(d, "reply", {"replyToken": "a" * 32,
                           "messages": [{"type": "text", "text": "ご連絡ありがとうございます。"}]},
              fallback_to="U" + "8" * 32)
        wait_state(d, "sent")
        replies = sim.requests("/v2/bot/message/reply")
        expect(len(replies) == 1 and "x-line-retry-key" not in replies[0]["headers"],
               replies)


def test_refused_reply_token_falls_back_to_push():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        user = "U" + "9" * 32
        sim.fault(path="/v2/bot/message/reply", status=400, count=1)
        msgs = [{"type": "text", "text": "おかえりなさい"}]
        queue(d, "reply", {"replyToken": "b" * 32, "messages": msgs}, fallback_to=user)
        wait_state(d, "sent")
        pushes = sim.requests("/v2/bot/message/push")
        expect(len(pushes) == 1, f"{len(pushes)} pushes")
        expect(json.loads(pushes[0]["body"]) == {"to": user, "messages": msgs},
               pushes[0]["body"])
        expect(pushes[0]["headers"].get("x-line-retry-key") == outbox_rows(d)[0][6],
               "the push does not carry the row's retry key")
        expect(outbox_rows(d)[0][1] == "push", outbox_rows(d))


def test_refused_reply_after_ambiguous_try_is_not_pushed():
    """A reply that may already have been delivered (the first try timed out) is not
    pushed as well when LINE then refuses the token: the user would read it twice."""
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        sim.fault(path="/v2/bot/message/reply", mode="sleep", ms=2500, count=1)
        queue(d, "reply", {"replyToken": "c" * 32,
                           "messages": [{"type": "text", "text": "一度だけ"}]},
              fallback_to="U" + "a" * 32)
        wait_state(d, "unknown", timeout=15)
        expect(sim.requests("/v2/bot/message/push") == [], "pushed after an ambiguous reply")
        row = outbox_rows(d)[0]
        expect("earlier try may have been delivered" in row[5], row)


def test_multicast_carries_retry_key():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        queue(d, "multicast", {"to": ["U" + "b" * 32, "U" + "c" * 32],
                               "messages": [{"type": "text", "text": "キャンペーンのお知らせ"}]})
        wait_state(d, "sent")
        m = sim.requests("/v2/bot/message/multicast")
        expect(len(m) == 1 and m[0]["headers"].get("x-line-retry-key"), m)


def test_crash_after_send_before_mark_delivers_once():
    with Sim() as sim:
        d = Daemon(config=config_for(sim), start=False)
        try:
            d.start(env={"SHOKAI_FAULT": "after_outbox_send_before_mark"})
            ctl(d, "send", "line", "main", "U" + "d" * 32, "一回だけ届く")
            wait_until(lambda: d.proc.poll() is not None, 10, "the fault to kill the daemon")
            expect(outbox_rows(d)[0][2] == "pending", outbox_rows(d))
            d.start(env={"SHOKAI_FAULT": None})
            wait_state(d, "sent")
            pushes = sim.requests("/v2/bot/message/push")
            expect([p["status"] for p in pushes] == [200, 409], [p["status"] for p in pushes])
            expect(list(sim.stats()["delivered_by_key"].values()) == [1], sim.stats())
        finally:
            d.__exit__(None, None, None)


def test_crash_after_reply_before_mark_not_pushed_again():
    """Issue 10: a reply delivered just before a crash is tried again after the restart;
    LINE refuses the used token, and the row, written down as tried before the crash,
    is not pushed instead: the customer reads it once, the row ends "unknown", and the
    operator sees it. A push after the same crash is still delivered once (retry key)."""
    with Sim() as sim:
        d = Daemon(config=config_for(sim), start=False)
        try:
            user, other = "U" + "e" * 32, "U" + "f" * 32
            d.start(env={"SHOKAI_FAULT": "after_outbox_send_before_mark"})
            queue(d, "reply", {"replyToken": "e" * 32,
                               "messages": [{"type": "text", "text": "一度だけの返事"}]},
                  fallback_to=user)
            wait_until(lambda: d.proc.poll() is not None, 10, "the fault to kill the daemon")
            expect(outbox_rows(d)[0][2] == "pending", outbox_rows(d))
            d.start(env={"SHOKAI_FAULT": None})
            wait_state(d, "unknown")
            expect([r["status"] for r in sim.requests("/v2/bot/message/reply")] == [200, 400],
                   sim.requests("/v2/bot/message/reply"))
            expect(sim.requests("/v2/bot/message/push") == [], "the reply was pushed as well")
            row = outbox_rows(d)[0]
            expect(row[1] == "reply" and "not pushed" in (row[5] or ""), row)
            out = ctl(d, "outbox")
            expect("unknown" in out, out)
            expect(d.healthz()["outbox_unknown"] == 1, d.healthz())
            d.stop()

            d.start(env={"SHOKAI_FAULT": "after_outbox_send_before_mark"})
            queue(d, "push", {"to": other, "messages": [{"type": "text", "text": "お知らせ"}]},
                  target=other)
            wait_until(lambda: d.proc.poll() is not None, 10, "the fault to kill it again")
            d.start(env={"SHOKAI_FAULT": None})
            wait_state(d, "sent")
            pushes = sim.requests("/v2/bot/message/push")
            expect([p["status"] for p in pushes] == [200, 409], [p["status"] for p in pushes])
            expect(all(json.loads(p["body"])["to"] == other for p in pushes), pushes)
            expect(list(sim.stats()["delivered_by_key"].values()) == [1], sim.stats())
            expect(outbox_rows(d)[0][2] == "unknown", outbox_rows(d))
        finally:
            d.__exit__(None, None, None)


def test_line_pacing_keeps_under_the_configured_rate():
    with Sim() as sim, Daemon(config=config_for(sim, line_rate=5)) as d:
        for i in range(15):
            queue(d, "push", {"to": "U%032x" % i, "messages": [{"type": "text", "text": "x"}]},
                  target="U%032x" % i)
        wait_state(d, "sent", n=15, timeout=15)
        at = sorted(r["at_ms"] for r in sim.requests("/v2/bot/message/push"))
        expect(len(at) == 15, len(at))
        span = (at[-1] - at[0]) / 1000
        # 5 at once (a full bucket), then 5 a second: the last about 2 s after the first.
        expect(span >= 1.6, f"15 pushes at 5/s spread over only {span:.2f} s")
        first_second = [t for t in at if t - at[0] < 1000]
        expect(len(first_second) <= 11, f"{len(first_second)} pushes in the first second")


def _png(w, h):
    import struct
    import zlib
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * w for _ in range(h))

    def chunk(t, data):
        return (struct.pack(">I", len(data)) + t + data +
                struct.pack(">I", zlib.crc32(t + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_richmenu_list_shows_what_is_live():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        def line(method, path, body=None, ctype="application/json"):
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            r = urllib.request.Request(sim.url(path), data=data, method=method,
                                       headers={"Authorization": "Bearer x",
                                                "Content-Type": ctype})
            with urllib.request.urlopen(r, timeout=5) as resp:
                b = resp.read()
            return json.loads(b) if b else None
        m = line("POST", "/v2/bot/richmenu", {
            "size": {"width": 2500, "height": 843}, "selected": False, "name": "main",
            "chatBarText": "メニュー", "areas": [{"bounds": {"x": 0, "y": 0, "width": 2500,
                                                          "height": 843},
                                               "action": {"type": "postback",
                                                          "data": "action=refer"}}]})
        line("POST", f"/v2/bot/richmenu/{m['richMenuId']}/content", _png(2500, 843),
             "image/png")
        line("POST", f"/v2/bot/user/all/richmenu/{m['richMenuId']}", b"")
        line("POST", "/v2/bot/richmenu/alias", {"richMenuAliasId": "main",
                                                "richMenuId": m["richMenuId"]})
        out = ctl(d, "richmenu", "list")
        expect(m["richMenuId"] in out and "yes" in out and "メニュー" in out, out)
        expect(f"alias main -> {m['richMenuId']}" in out, out)
        gets = [r for r in sim.requests("/v2/") if r["method"] == "GET"]
        expect([r["path"] for r in gets] == ["/v2/bot/richmenu/list",
                                             "/v2/bot/richmenu/alias/list",
                                             "/v2/bot/user/all/richmenu"], gets)
        expect(all(r["headers"]["authorization"] == "Bearer dummy-access-token"
                   for r in gets), gets)
        contract_check(gets)


def test_profile_lookup_cached_and_404():
    """The profile lookup handlers use, through shokaictl: LINE is asked once, then the
    cache answers; a user LINE does not know (404) is an answer too, not a crash."""
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        user, gone = "U" + "e" * 32, "U" + "f" * 32
        sim.call("POST", "/_sim/profile", {"userId": user, "displayName": "田中 花子"})
        sim.call("POST", "/_sim/profile", {"userId": gone, "missing": True})
        expect(ctl(d, "profile", "main", user).strip() == "田中 花子", "first lookup")
        expect(ctl(d, "profile", "main", user).strip() == "田中 花子", "cached lookup")
        asked = sim.requests(f"/v2/bot/profile/{user}")
        expect(len(asked) == 1, f"LINE asked {len(asked)} times")
        r = ctl_run(d, "profile", "main", gone)
        expect(r.returncode == 1 and b"no profile" in r.stderr, r.stderr)
        rows = d.query("SELECT user_id, display_name, found FROM profiles ORDER BY user_id")
        expect(rows == [(user, "田中 花子", 1), (gone, None, 0)], rows)
        contract_check(asked)


def test_works_link_url_lookup():
    with Sim() as sim, Daemon(config=config_for(sim)) as d:
        out = ctl(d, "works-link", "sales", "takahashi@example.co.jp").strip()
        expect(re.fullmatch(r"https://works\.do/\S+", out), out)
        asked = sim.requests("/v1.0/users/")
        expect(len(asked) == 1 and asked[0]["path"].endswith("/link-url") and
               asked[0]["headers"]["authorization"].startswith("Bearer sim-token-"), asked)
        expect(sim.stats()["tokens_issued"] == 1, sim.stats())


class _TlsApi:
    """A LINE API stand-in over TLS (Python's ssl with a certificate for 127.0.0.1 and
    localhost from a throwaway CA): answers every request 200 {} on kept connections and
    records (path, headers, the client's port)."""

    def __init__(self, folder, host="127.0.0.1"):
        cert, key = make_cert(folder, "api", 7)
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen.append((self.path, dict(self.headers), body, self.client_address[1]))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _tls_config(base):
    return make_config(channels=[default_channel(api_base=base, api_data_base=base)],
                       extra="outbox:\n  max_attempts: 5\n  request_timeout: 2s\n")


def test_push_over_https_checks_the_certificate_and_keeps_the_connection():
    """LINE is reached over TLS in production: the certificate is checked against the
    system's trust store (here the test CA, through OpenSSL's SSL_CERT_FILE) and the
    API's name; one connection carries the pushes that follow each other."""
    folder = tempfile.mkdtemp(prefix="shokai-tls-out-")
    ca = make_test_ca(folder)
    api = _TlsApi(folder)
    try:
        with Daemon(config=_tls_config(f"https://localhost:{api.port}"),
                    env={"SSL_CERT_FILE": ca}) as d:
            for i in range(3):
                ctl(d, "send", "line", "main", "U" + "c" * 32, f"TLS {i}")
                wait_state(d, "sent", n=i + 1)
            pushes = [s for s in api.seen if s[0] == "/v2/bot/message/push"]
            expect(len(pushes) == 3, api.seen)
            expect(all(p[1].get("Authorization") == "Bearer dummy-access-token"
                       for p in pushes), pushes)
            expect(json.loads(pushes[2][2])["messages"][0]["text"] == "TLS 2", pushes[2])
            expect(len({p[3] for p in pushes}) == 1,
                   f"the pushes came on {len({p[3] for p in pushes})} connections")
        # Refused before a byte of the message leaves: the right name without the CA,
        # and the CA with an address the certificate does not name.
        other = _TlsApi(folder, host="127.0.0.2")
        try:
            for api_seen, base, env, why in (
                    (api.seen, f"https://localhost:{api.port}", {}, "untrusted CA"),
                    (other.seen, f"https://127.0.0.2:{other.port}", {"SSL_CERT_FILE": ca},
                     "wrong name")):
                with Daemon(config=_tls_config(base), env=env) as d:
                    del api_seen[:]
                    ctl(d, "send", "line", "main", "U" + "d" * 32, why)
                    wait_until(lambda: outbox_rows(d)[0][3] >= 1, 10, "a first try")
                    row = outbox_rows(d)[0]
                    expect(row[2] == "pending" and "TLS handshake" in (row[5] or ""),
                           f"{why}: {row}")
                    expect(api_seen == [], f"{why}: the server got {api_seen}")
        finally:
            other.close()
    finally:
        api.close()


class _DroppingApi:
    """A LINE API stand-in on raw sockets that does what real servers and proxies may:
    answers in chunks (Transfer-Encoding: chunked, the body split in three), keeps the
    connection, then closes it without a word as the next request arrives (a server's
    idle timeout crossing our request). Records (connection number, body, answered)."""

    def __init__(self):
        self.seen = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        n = 0
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            n += 1
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    @staticmethod
    def _request(c, buf):
        while b"\r\n\r\n" not in buf:
            more = c.recv(65536)
            if not more:
                return None, b""
            buf += more
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        while len(rest) < length:
            more = c.recv(65536)
            if not more:
                return None, b""
            rest += more
        return rest[:length], rest[length:]

    def _serve(self, c, n):
        with c:
            body, buf = self._request(c, b"")
            if body is None:
                return
            self.seen.append((n, body, True))
            out = b'{"sentMessages":[{"id":"1","quoteToken":"q"}]}'
            pieces = [out[:1], out[1:20], out[20:]]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" +
                      b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n")
            body, _ = self._request(c, buf)
            if body is not None:
                self.seen.append((n, body, False))

    def close(self):
        self.sock.close()


def test_chunked_answers_and_kept_connections_closed_by_the_server():
    """A request that crossed the server's close of a kept connection got no byte of an
    answer: it goes once more on a fresh connection, within the same try, and every
    message is delivered once; answers in chunks are read whole."""
    api = _DroppingApi()
    try:
        base = f"http://127.0.0.1:{api.port}"
        config = make_config(channels=[default_channel(api_base=base, api_data_base=base)])
        with Daemon(config=config) as d:
            for i in range(3):
                ctl(d, "send", "line", "main", "U" + "e" * 32, f"drop {i}")
                wait_state(d, "sent", n=i + 1)
            rows = outbox_rows(d)
            expect([r[2:4] for r in rows] == [("sent", 1)] * 3, rows)
            answered = [json.loads(b)["messages"][0]["text"] for _, b, ok in api.seen if ok]
            expect(answered == ["drop 0", "drop 1", "drop 2"], api.seen)
            dropped = [(n, json.loads(b)["messages"][0]["text"])
                       for n, b, ok in api.seen if not ok]
            expect(dropped == [(1, "drop 1"), (2, "drop 2")], api.seen)
    finally:
        api.close()
