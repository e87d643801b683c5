"""harness.py: shared helpers of the shokaid integration suite (Python standard library
only). It starts a real shokaid per test in its own temp folder with its own config and
database, signs bodies the way LINE and LINE WORKS do, speaks HTTP (http.client and raw
sockets) and reads the SQLite database. Every wait is bounded by a deadline. Helpers
for tests against the platform simulator (shokaisim, shokaictl, chat) are in sim.py;
test modules import from these two only, never from each other.

Environment:
  SHOKAID        the daemon binary (default <repo>/build/fault/shokaid, the fault-hook build)
  SHOKAI_SHARED  the shared folder (default <repo>/../shared)
  SHOKAI_KEEP=1  keep the temp folders of failed tests
  SHOKAI_VALGRIND=1  run every shokaid under valgrind memcheck (slow: a few seconds per
                 test); any memcheck error fails the test
"""
import base64
import glob
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal as _signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHARED = os.path.abspath(os.environ.get("SHOKAI_SHARED") or os.path.join(REPO, "..", "shared"))
SHOKAID = os.path.abspath(os.environ.get("SHOKAID") or os.path.join(REPO, "build", "fault", "shokaid"))
FIXTURES = os.path.join(SHARED, "line-sdk-fixtures")
VALGRIND = os.environ.get("SHOKAI_VALGRIND") == "1"
DOCS = os.path.join(SHARED, "docs")

# Secrets of the default config. Made up; never real.
LINE_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WORKS_SECRET = "works-bot-secret-9a8b7c6d5e4f"
WORKS_BOT_ID = "2000001"
OTHER_BOT_SECRET = "works-bot-secret-OTHER-1234"
OTHER_BOT_ID = "2000002"
DESTINATION = "Ua4c123b1612dd272d1371c17149d4395"
USER = "U36b3216fdaeeb975729fae923d5a4fd1"


class Fail(AssertionError):
    """A test failure; its first line is the reason printed on the FAIL line."""


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(pred, timeout, what, interval=0.02):
    """Polls pred() until it returns a true value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# ---------------------------------------------------------------------------- signing

def _b(x):
    return x.encode() if isinstance(x, str) else x


def sign(secret, body):
    """base64(HMAC-SHA256(secret, raw body)), as LINE and LINE WORKS compute it."""
    return base64.b64encode(hmac.new(_b(secret), _b(body), hashlib.sha256).digest()).decode()


def flip_bit(sig, byte=0, bit=0):
    """The signature with one bit of its decoded MAC flipped, re-encoded canonically."""
    raw = bytearray(base64.b64decode(sig))
    raw[byte] ^= 1 << bit
    return base64.b64encode(bytes(raw)).decode()


_ids = [0]
_ids_lock = threading.Lock()
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id():
    """A fresh 26-character ULID-shaped webhookEventId, unique within this run."""
    with _ids_lock:
        _ids[0] += 1
        n = (int(time.time() * 1000) << 80) | (os.getpid() << 40) | _ids[0]
    out = ""
    for _ in range(26):
        out = _CROCKFORD[n & 31] + out
        n >>= 5
    return out


def line_event(eid=None, etype="message", text="こんにちは", user=USER, **extra):
    eid = eid or new_event_id()
    ev = {"type": etype, "mode": "active", "timestamp": 1767225600000,
          "source": {"type": "user", "userId": user}, "webhookEventId": eid,
          "deliveryContext": {"isRedelivery": False}}
    if etype in ("message", "follow", "join", "postback", "memberJoined", "beacon"):
        ev["replyToken"] = hashlib.md5(eid.encode()).hexdigest()
    if etype == "message":
        ev["message"] = {"id": str(int(hashlib.sha1(eid.encode()).hexdigest()[:15], 16)),
                         "type": "text", "quoteToken": "q" + eid[-8:], "text": text}
    elif etype == "postback":
        ev["postback"] = {"data": text}
    elif etype == "follow":
        ev["follow"] = {"isUnblocked": False}
    ev.update(extra)
    return ev


def line_body(*events, destination=DESTINATION):
    return json.dumps({"destination": destination, "events": list(events)},
                      ensure_ascii=False).encode()


def works_message(text="一覧", user="8d2c1e9a-4b7f-4a10-9c3e-5f61a2b7c0d4",
                  issued="2025-03-14T01:02:03.456Z", **content_extra):
    content = {"type": "text", "text": text}
    content.update(content_extra)
    return json.dumps({"type": "message", "source": {"userId": user, "domainId": 40029600},
                       "issuedTime": issued, "content": content}, ensure_ascii=False).encode()


# ------------------------------------------------------------------------------ files

_key = {}
_key_lock = threading.Lock()


def private_key_pem():
    """One RSA key per test run (generating one is slow)."""
    with _key_lock:
        if "pem" not in _key:
            r = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                "rsa_keygen_bits:2048"], capture_output=True, timeout=60)
            if r.returncode != 0:
                raise Fail("openssl genpkey failed: " + r.stderr.decode(errors="replace"))
            _key["pem"] = r.stdout.decode()
        return _key["pem"]


def digest_works_examples():
    """The callback bodies of line-works-bot-api.md section 2, as printed: a block holds
    one pretty-printed JSON object or one compact object per line."""
    with open(os.path.join(DOCS, "line-works-bot-api.md"), encoding="utf-8") as f:
        text = f.read()
    sec = text[text.index("\n## 2. "):text.index("\n## 3. ")]
    out = []
    for block in re.findall(r"^```json\n(.*?)\n```$", sec, re.M | re.S):
        try:
            json.loads(block)
            out.append(block.encode())
        except ValueError:
            out += [l.encode() for l in block.split("\n") if l.strip()]
    return out


def read_fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "rb") as f:
        return f.read()


def signature_vectors():
    """[(file name, secret, signature, body bytes)] from signature-vectors/vectors.tsv."""
    out = []
    with open(os.path.join(FIXTURES, "signature-vectors", "vectors.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, secret, sig = line.rstrip("\n").split("\t")[:3]
            out.append((name, secret, sig, read_fixture("signature-vectors", name)))
    return out


def digest_line_examples():
    """The signed examples of line-messaging-api.md section 2: (secret, [(label, signature,
    body bytes)], (verification body, its signature)). The bodies are the JSON blocks
    exactly as printed (LF line ends, no trailing newline)."""
    with open(os.path.join(DOCS, "line-messaging-api.md"), encoding="utf-8") as f:
        text = f.read()
    sec = text[text.index("\n## 2. "):text.index("\n## 3. ")]
    secret = re.search(r"channel secret `([0-9a-f]{32})`", sec).group(1)
    rows = re.findall(r"^\| (2\.\d [^|]*?) \| `([A-Za-z0-9+/=]{44})` \|$", sec, re.M)
    ver = re.search(r"^\| verification body `([^`]*)`[^|]*\| `([A-Za-z0-9+/=]{44})` \|$", sec, re.M)
    blocks = re.findall(r"^```json\n(.*?)\n```$", sec, re.M | re.S)
    if len(blocks) != len(rows):
        raise Fail(f"digest: {len(blocks)} JSON blocks but {len(rows)} signatures")
    examples = [(label, sig, block.encode()) for (label, sig), block in zip(rows, blocks)]
    return secret, examples, (ver.group(1).encode(), ver.group(2))


# ----------------------------------------------------------------------------- config

def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, ensure_ascii=False)   # a JSON string is a YAML double-quoted one


def default_channel(**over):
    ch = {"id": "main", "basic_id": "@123abcde", "channel_secret_file": "line-secret",
          "access_token_file": "line-token", "api_base": "http://127.0.0.1:9",
          "api_data_base": "http://127.0.0.1:9"}
    ch.update(over)
    return ch


def default_bot(**over):
    bot = {"id": "sales", "bot_id": WORKS_BOT_ID, "bot_secret_file": "works-secret",
           "client_id": "cid", "client_secret_file": "works-client-secret",
           "service_account": "a.serviceaccount@example.com",
           "private_key_file": "works-key.pem", "auth_url": "http://127.0.0.1:9/token",
           "api_base": "http://127.0.0.1:9/v1.0"}
    bot.update(over)
    return bot


def other_bot(**over):
    return default_bot(id="support", bot_id=OTHER_BOT_ID, bot_secret_file="works-secret-2",
                       **over)


def make_config(server=None, storage=None, log_level="debug", channels=None, bots=None,
                extra=""):
    """Block-style YAML. server/storage values are written plain (they are sizes,
    durations, numbers and host:port); channel and bot values are quoted strings."""
    srv = {"listen": "127.0.0.1:0", "public_url": "http://127.0.0.1", "max_body": "256KiB",
           "max_headers": "16KiB", "read_timeout": "10s", "idle_timeout": "5s",
           "max_connections": 2048, "drain_timeout": "10s"}
    srv.update(server or {})
    sto = {"sqlite": "shokai.db", "synchronous": "full", "busy_timeout": "200ms"}
    sto.update(storage or {})
    channels = [default_channel()] if channels is None else channels
    bots = [default_bot()] if bots is None else bots
    out = ["server:"] + [f"  {k}: {v}" for k, v in srv.items() if v is not None]
    out += ["storage:"] + [f"  {k}: {v}" for k, v in sto.items() if v is not None]
    out += ["log:", f"  level: {log_level}"]
    out += ["line:", "  channels:"]
    for ch in channels:
        items = list(ch.items())
        out.append(f"    - {items[0][0]}: {_yaml_scalar(items[0][1])}")
        out += [f"      {k}: {_yaml_scalar(v)}" for k, v in items[1:]]
    if bots:
        out += ["lineworks:", "  bots:"]
        for bot in bots:
            items = list(bot.items())
            out.append(f"    - {items[0][0]}: {_yaml_scalar(items[0][1])}")
            out += [f"      {k}: {_yaml_scalar(v)}" for k, v in items[1:]]
    return "\n".join(out) + "\n" + extra


# ------------------------------------------------------------------------------- http

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return f"<{self.status} {self.body[:80]!r}>"


def _exchange(c, method, path, body, headers):
    """One request on the http.client connection c; header names sent exactly as given.
    Returns the Response and the server certificate's serial (TLS) or None."""
    c.putrequest(method, path, skip_accept_encoding=True)
    h = dict(headers or {})
    if body is not None or method in ("POST", "PUT"):
        if not any(k.lower() == "content-length" for k in h):
            h["Content-Length"] = str(len(body or b""))
    for k, v in h.items():
        c.putheader(k, v)
    c.endheaders(body)
    serial = (int(c.sock.getpeercert()["serialNumber"], 16)
              if hasattr(c.sock, "getpeercert") else None)
    r = c.getresponse()
    return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()), serial


def http_request(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on a fresh connection; header names are sent exactly as given."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return _exchange(c, method, path, body, headers)[0]
    finally:
        c.close()


def read_response(sock, deadline):
    """Reads one HTTP response from sock (status, headers dict, body) before deadline.
    Returns None if the server closed the connection without an answer."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise Fail("no HTTP response before the deadline (got %r)" % buf[:200])
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if not buf:
                return None
            raise Fail("connection closed mid-response: %r" % buf[:200])
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" not in headers:       # HTTP/1.0 style: the body runs to EOF
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            rest += chunk
        return Response(status, headers, rest)
    n = int(headers["content-length"])
    while len(rest) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        rest += chunk
    return Response(status, headers, rest[:n])


def raw_exchange(port, data, timeout=10.0):
    """Sends raw bytes on a fresh connection, then reads one response. A server that
    answers early and closes (e.g. 413) may reset the rest of the upload: that is fine."""
    deadline = time.monotonic() + timeout
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s, deadline)
    finally:
        s.close()


def wait_closed(sock, timeout):
    """Seconds until the peer closes sock (EOF or reset), or None if still open at the
    deadline. Any bytes the server sends meanwhile are returned too."""
    t0 = time.monotonic()
    got = b""
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            return None, got
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return None, got
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0, got
        if not chunk:
            return time.monotonic() - t0, got
        got += chunk


def read_answer(sock, deadline):
    """Reads one HTTP response and classifies it: ("answer", status, headers) for a whole
    response, ("closed", b"") for a close (EOF or reset) before any byte of one,
    ("broken", bytes) for a close in the middle of one, ("timeout", bytes) at the
    deadline, ("extra", bytes) for bytes beyond the response."""
    buf = b""
    need = None
    while True:
        if need is None and b"\r\n\r\n" in buf:
            head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            headers = {}
            for l in head[1:]:
                k, _, v = l.partition(":")
                headers[k.strip().lower()] = v.strip()
            status = int(head[0].split()[1])
            need = len(buf.split(b"\r\n\r\n", 1)[0]) + 4 + \
                int(headers.get("content-length", "0"))
        if need is not None and len(buf) > need:
            return ("extra", buf[need:])     # bytes beyond the one answer asked for
        if need is not None and len(buf) == need:
            return ("answer", status, headers)
        left = deadline - time.monotonic()
        if left <= 0:
            return ("timeout", buf)
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return ("timeout", buf)
        except OSError:
            chunk = b""
        if not chunk:
            return ("closed", b"") if not buf else ("broken", buf)
        buf += chunk


def event_user(eid):
    """The LINE user id KeepAliveLoad(user_per_event=True) sends event eid as."""
    return "U" + hashlib.md5(("user:" + eid).encode()).hexdigest()


def reply_token(eid):
    """The replyToken line_event gives event eid."""
    return hashlib.md5(eid.encode()).hexdigest()


class KeepAliveLoad:
    """Client threads that each keep one HTTP/1.1 connection open and send signed LINE
    webhooks on it back to back, `events` events per request (fresh webhookEventIds). Each
    request's outcome is recorded as (event ids, read_answer's result, seconds it took
    from sending to the answer); a connection that
    answered `Connection: close`, closed or failed is replaced by a new one. After the
    daemon is gone, connects fail and the threads wait for stop(). user_per_event: each
    event comes from its own user, event_user(event id), so that what the bot sends
    because of it can be told apart. etype: the events' type (line_event's). requests: send
    that many requests in all, then stop sending (done() tells when each was sent and
    answered or failed); None: until stop()."""

    def __init__(self, port, threads=4, secret=LINE_SECRET, channel="main", text="hi",
                 answer_timeout=15.0, user_per_event=False, events=1, etype="message",
                 requests=None):
        self.port, self.secret, self.channel, self.text = port, secret, channel, text
        self.user_per_event, self.events, self.etype = user_per_event, events, etype
        self.answer_timeout = answer_timeout
        self.tickets = self.limit = requests
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout=20.0):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout)
        expect(not any(t.is_alive() for t in self.threads), "a load thread did not stop")

    def done(self):
        """Whether every request of a bounded load (requests=N) has its outcome."""
        with self.lock:
            return self.tickets == 0 and len(self.results) == self.limit

    def answered(self):
        with self.lock:
            return sum(1 for _, r, _ in self.results if r[0] == "answer")

    def not_ok(self):
        """Every outcome but a 200: statuses, closes, timeouts."""
        with self.lock:
            return [r[1] if r[0] == "answer" else r[0] for _, r, _ in self.results
                    if r[0] != "answer" or r[1] != 200]

    def latencies(self):
        """Seconds from sending to the answer, of every request answered."""
        with self.lock:
            return [s for _, r, s in self.results if r[0] == "answer"]

    def _request(self, sock):
        eids = [new_event_id() for _ in range(self.events)]
        body = line_body(*[line_event(eid, etype=self.etype, text=self.text,
                                      user=event_user(eid) if self.user_per_event else USER)
                           for eid in eids])
        head = ("POST /line/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "X-Line-Signature: %s\r\nContent-Length: %d\r\n\r\n" %
                (self.channel, sign(self.secret, body), len(body))).encode()
        t0 = time.monotonic()
        try:
            sock.sendall(head + body)
        except OSError:
            r = ("closed", b"")    # nothing of an answer can have been sent
        else:
            r = read_answer(sock, t0 + self.answer_timeout)
        with self.lock:
            self.results.append((eids, r, time.monotonic() - t0))
        return r[0] == "answer" and r[2].get("connection", "").lower() != "close"

    def _take_ticket(self):
        with self.lock:
            if self.tickets is None:
                return True
            if self.tickets == 0:
                return False
            self.tickets -= 1
            return True

    def _run(self):
        sock = None
        while not self.stopping.is_set():
            if sock is None:
                try:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
                except OSError:
                    time.sleep(0.02)
                    continue
            if not self._take_ticket():
                break
            if not self._request(sock):
                sock.close()
                sock = None
        if sock is not None:
            sock.close()


def drain_under_load(d, threads=4, warmup_answers=50, warmup_timeout=10.0, exit_timeout=None,
                     signals=1):
    """One deploy under load: starts d if it is not running, lets KeepAliveLoad threads
    send until warmup_answers requests were answered, sends SIGTERM mid-load (signals=2:
    twice in a row, the operator's "now"), waits for the exit, stops the clients. Returns
    (exit code, seconds from SIGTERM to exit, results, the daemon's log text)."""
    if not d.alive():
        d.start()
    load = KeepAliveLoad(d.port, threads=threads).start()
    try:
        wait_until(lambda: load.answered() >= warmup_answers, warmup_timeout,
                   f"{warmup_answers} answered requests before SIGTERM")
        t0 = time.monotonic()
        for _ in range(signals):
            d.signal(_signal.SIGTERM)
        try:
            rc = d.proc.wait(timeout=exit_timeout or 15)
        except subprocess.TimeoutExpired:
            raise Fail(f"shokaid still running {exit_timeout or 15}s after SIGTERM under load")
        took = time.monotonic() - t0
    finally:
        load.stop()
    d._drain()
    return rc, took, list(load.results), d.log_text()


REQUEST_LOG_RX = re.compile(r"msg=request method=POST path=/line/main status=(\d+)")


def check_drain_results(rc, took, results, log, drain_timeout_s):
    """The drain's exactness: exit 0 within drain_timeout, every request answered once
    whole or closed before any byte of an answer, and as many answers logged as received.
    Returns (event ids answered 200, every event id sent, counts); counts["closed_ids"]
    holds the event ids of requests closed without an answer, which a drain must not
    have stored (it answers every request it reads)."""
    expect(rc == 0, f"exit code {rc} after SIGTERM under load")
    expect(took <= drain_timeout_s + 1, f"exited {took:.1f}s after SIGTERM "
           f"(drain_timeout {drain_timeout_s}s)")
    expect("drain timeout" not in log, "the drain timed out: " +
           "".join(l for l in log.split("\n") if "drain timeout" in l))
    bad = [r for _, r, _ in results if r[0] not in ("answer", "closed")]
    expect(not bad, f"{len(bad)} requests got a broken or no answer, e.g. {bad[:3]!r}")
    ok, sent, statuses = set(), set(), {}
    for eids, r, _ in results:
        sent.update(eids)
        if r[0] == "answer":
            statuses[r[1]] = statuses.get(r[1], 0) + 1
            if r[1] == 200:
                ok.update(eids)
    answers = sum(statuses.values())
    logged = len(REQUEST_LOG_RX.findall(log))
    expect(logged == answers, f"the daemon logged {logged} answers, the clients received "
           f"{answers} ({statuses})")
    closed = {e for eids, r, _ in results if r[0] == "closed" for e in eids}
    return ok, sent, {"requests": len(results), "answers": answers, "closed": len(closed),
                      "statuses": statuses, "closed_ids": closed}


# -------------------------------------------------------------------------------- tls

def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    expect(r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr.decode(errors='replace')}")


def make_test_ca(folder):
    """A throwaway certificate authority in folder (test-ca.crt, test-ca.key), made with
    the openssl CLI; returns the certificate's path, what clients trust."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "test-ca.key", "-out", "test-ca.crt", "-days", "3",
             "-subj", "/CN=shokai test CA", cwd=folder)
    return os.path.join(folder, "test-ca.crt")


def make_cert(folder, name, serial, days=30):
    """A server certificate for 127.0.0.1 and localhost, signed by folder's test CA
    (make_test_ca), with the given serial and lifetime: name.crt and name.key (mode 0600,
    as shokaid wants a private key). Returns (cert path, key path)."""
    ext = os.path.join(folder, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "authorityKeyIdentifier=keyid,issuer\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=127.0.0.1",
             cwd=folder)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", "test-ca.crt", "-CAkey", "test-ca.key",
             "-set_serial", str(serial), "-days", str(days), "-extfile", name + ".ext",
             "-out", name + ".crt", cwd=folder)
    os.chmod(os.path.join(folder, name + ".key"), 0o600)
    return os.path.join(folder, name + ".crt"), os.path.join(folder, name + ".key")


def tls_client_context(cafile):
    """A client context that trusts only cafile and checks the name (127.0.0.1)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    return ctx


def https_request(port, method, path, context, body=None, headers=None, timeout=10.0,
                  source=None):
    """One request on a fresh TLS connection (http_request's twin); the Response also
    carries the server certificate's serial (int) as .serial. source: the client's
    (address, port), e.g. ("127.0.0.2", 0)."""
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context,
                                    source_address=source)
    try:
        out, serial = _exchange(c, method, path, body, headers)
        out.serial = serial
        return out
    finally:
        c.close()


# ----------------------------------------------------------------------------- daemon

_live = set()
_live_lock = threading.Lock()


def kill_all():
    """Kills every daemon the harness started that is still running (runner's safety)."""
    with _live_lock:
        procs = list(_live)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass


class Daemon:
    """A shokaid in its own temp folder, with the default secrets written. Use it as a
    context manager: it starts on enter; on exit it stops with SIGTERM, expects exit 0 and
    no sanitizer report, kills it if needed and removes the folder. A failing test gets
    the tail of the daemon's log attached to its exception."""

    def __init__(self, config=None, env=None, start=True, **cfg):
        self.dir = tempfile.mkdtemp(prefix="shokai-it-")
        self.config_path = os.path.join(self.dir, "shokai.yaml")
        self.write_secret("line-secret", LINE_SECRET)
        self.write_secret("line-token", "dummy-access-token")
        self.write_secret("works-secret", WORKS_SECRET)
        self.write_secret("works-secret-2", OTHER_BOT_SECRET)
        self.write_secret("works-client-secret", "dummy-client-secret")
        self.write_secret("works-key.pem", private_key_pem())
        self.write_config(config if config is not None else make_config(**cfg))
        self.env = dict(os.environ)
        self.env.pop("SHOKAI_FAULT", None)
        self.env.update(env or {})
        self.autostart = start
        self.proc = None
        self.reader = None
        self.port = None
        self.lines = []
        self.lock = threading.Lock()
        self.old_logs = []

    # files

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_secret(self, name, value, mode=0o600, newline=True):
        p = self.path(name)
        if os.path.exists(p):
            os.chmod(p, 0o600)
        with open(p, "wb") as f:
            f.write(_b(value) + (b"\n" if newline else b""))
        os.chmod(p, mode)
        return p

    def write_config(self, text):
        """Replaces the config atomically (write a temp file, rename). A config without
        an admin section gets the console on a free port (its default, 8081, would
        collide between tests running side by side)."""
        if not re.search(r"(?m)^admin:", text):
            text = text.rstrip("\n") + "\nadmin:\n  listen: 127.0.0.1:0\n"
        tmp = self.config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    @property
    def db_path(self):
        return self.path("shokai.db")

    # process

    def start(self, env=None, timeout=10.0, prefix=None):
        """prefix: a command to run shokaid under (e.g. prlimit)."""
        e = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        if self.proc is not None:
            if self.proc.poll() is not None:
                self._drain()
            self.old_logs.append(self.log_text())
        with self.lock:
            self.lines = []
        argv = list(prefix or []) + [SHOKAID, "-c", self.config_path]
        if VALGRIND:
            timeout *= 6
            argv = ["valgrind", "-q", "--error-exitcode=99",
                    "--log-file=" + os.path.join(self.dir, "valgrind.%p.log")] + argv
        self.proc = subprocess.Popen(argv, cwd=self.dir, env=e,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        with _live_lock:
            _live.add(self.proc)
        self.reader = threading.Thread(target=self._reader, args=(self.proc,), daemon=True)
        self.reader.start()
        line = self.wait_log(r"msg=listening addr=\S+:(\d+)", timeout=timeout)
        self.port = int(re.search(r"msg=listening addr=\S+:(\d+)", line).group(1))
        m = re.search(r"msg=\"console listening\" listen=\S+:(\d+)", self.log_text())
        self.admin_port = int(m.group(1)) if m else None
        return self

    def _reader(self, proc):
        for raw in proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self.lock:
                if proc is self.proc:
                    self.lines.append(line)

    def _drain(self, timeout=5.0):
        """Waits until the reader has every line of the exited daemon (EOF on its stderr)."""
        if self.reader is not None:
            self.reader.join(timeout)

    def log_text(self):
        with self.lock:
            return "\n".join(self.lines)

    def nlines(self):
        with self.lock:
            return len(self.lines)

    def log_lines(self, start=0):
        with self.lock:
            return list(self.lines[start:])

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Waits for a stderr line matching the regex pattern (from line index start)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_lines(start):
                if rx.search(line):
                    return line
            if self.proc.poll() is not None:
                self._drain()
                for line in self.log_lines(start):
                    if rx.search(line):
                        return line
                raise Fail(f"shokaid exited with {self.proc.returncode} before logging "
                           f"/{pattern}/")
            if time.monotonic() >= deadline:
                raise Fail(f"no log line /{pattern}/ within {timeout}s")
            time.sleep(0.01)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=_signal.SIGTERM, timeout=12.0):
        """Sends sig and waits for the exit; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise Fail(f"shokaid did not exit within {timeout}s of signal {sig}")

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=5)

    def __enter__(self):
        if self.autostart:
            try:
                self.start()
            except BaseException as e:
                self.__exit__(type(e), e, None)
                raise
        return self

    def __exit__(self, et, ev, tb):
        problem = None
        try:
            if self.alive():
                try:
                    rc = self.stop()
                    if rc != 0:
                        problem = f"shokaid exited with {rc} on SIGTERM at the end of the test"
                except Fail as e:
                    problem = str(e)
            if self.proc is not None and self.proc.poll() is not None:
                self._drain()
            text = "\n".join(self.old_logs + [self.log_text()])
            for vg in sorted(glob.glob(os.path.join(self.dir, "valgrind.*.log"))):
                with open(vg, errors="replace") as f:
                    vtext = f.read()
                if "Invalid " in vtext or "uninitialised" in vtext:
                    i = vtext.find("Invalid ") if "Invalid " in vtext else vtext.find("uninitialised")
                    problem = f"valgrind report: {vtext[max(0, i - 20):i + 3000]}"
                    break
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                           "WARNING: ThreadSanitizer", "ThreadSanitizer:"):
                if marker in text:
                    i = text.index(marker)
                    problem = f"sanitizer report: {text[max(0, i - 200):i + 2000]}"
                    break
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
            if self.proc is not None:
                with _live_lock:
                    _live.discard(self.proc)
        failed = et is not None or problem is not None
        if isinstance(ev, BaseException):
            if problem:
                ev.add_note("also: " + problem)
            ev.add_note(self.log_tail())
        if failed and os.environ.get("SHOKAI_KEEP"):
            if isinstance(ev, BaseException):
                ev.add_note(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if problem and et is None:
            e = Fail(problem)
            e.add_note(self.log_tail())
            raise e
        return False

    def log_tail(self, n=40):
        lines = self.log_lines()
        return "shokaid log (last %d of %d lines):\n" % (min(n, len(lines)), len(lines)) + \
            "\n".join("  | " + l for l in lines[-n:])

    # http

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        return http_request(self.port, method, path, body, headers, timeout)

    def post_line(self, body, secret=LINE_SECRET, channel="main", sig=None, headers=None,
                  sig_header="X-Line-Signature"):
        """sig: None computes a good signature; False sends no signature header."""
        body = _b(body)
        h = {"Content-Type": "application/json; charset=utf-8"}
        if sig is not False:
            h[sig_header] = sign(secret, body) if sig is None else sig
        h.update(headers or {})
        return self.request("POST", "/line/" + channel, body, h)

    def post_works(self, body, secret=WORKS_SECRET, bot_id=WORKS_BOT_ID, bot="sales", sig=None,
                   headers=None, sig_header="X-WORKS-Signature", id_header="X-WORKS-BotId"):
        """bot_id None sends no X-WORKS-BotId; sig None signs, False sends no signature."""
        body = _b(body)
        h = {"Content-Type": "application/json; charset=UTF-8"}
        if bot_id is not None:
            h[id_header] = bot_id
        if sig is not False:
            h[sig_header] = sign(secret, body) if sig is None else sig
        h.update(headers or {})
        return self.request("POST", "/works/" + bot, body, h)

    def connect(self, timeout=5.0):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    # database

    def db(self):
        return sqlite3.connect(self.db_path, timeout=5)

    def query(self, sql, args=()):
        c = self.db()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def has_table(self, name):
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (name,)))

    def snapshot(self):
        """Row counts of inbox, quarantine and outbox (None if a table is absent): what a
        rejected request must leave unchanged."""
        out = {}
        for t in ("inbox", "quarantine", "outbox"):
            out[t] = self.query(f"SELECT count(*) FROM {t}")[0][0] if self.has_table(t) else None
        return out

    def inbox(self, cols="platform, channel, event_key, type, state", where="", args=()):
        return self.query(f"SELECT {cols} FROM inbox {where} ORDER BY id", args)

    def wait_processed(self, timeout=5.0, sent=True):
        """Waits until no inbox row is pending and (with sent) every message the handlers
        queued has had its try: none due and none in flight, so a test that checks a
        reply right after does not race the outbox. Returns {state: count} of the inbox."""
        wait_until(lambda: self.query("SELECT count(*) FROM inbox WHERE state = 'pending'")
                   [0][0] == 0, timeout, "the dispatcher to process every pending inbox row")
        if sent:
            wait_until(lambda: self.query(
                "SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                "(trying = 1 OR next_attempt_at <= ?)", (int(time.time() * 1000),))[0][0] == 0,
                timeout, "the outbox to try every message that is due")
        return dict(self.query("SELECT state, count(*) FROM inbox GROUP BY state"))

    def admin_request(self, method, path, body=None, headers=None, timeout=10.0):
        """A request to the admin listener (the console, /healthz, /readyz, /metrics)."""
        if self.admin_port is None:
            raise Fail("this daemon has no admin listener (admin.listen: off)")
        return http_request(self.admin_port, method, path, body, headers, timeout)

    def healthz(self):
        """/healthz, which the admin listener serves (never the webhook port)."""
        r = self.admin_request("GET", "/healthz")
        expect(r.status == 200, f"/healthz answered {r.status}")
        try:
            return json.loads(r.body)
        except ValueError:
            raise Fail(f"/healthz body is not JSON: {r.body[:200]!r}")


def run_check(config_path, timeout=10.0):
    """shokaid -t -c FILE: (exit code, stdout, stderr)."""
    r = subprocess.run([SHOKAID, "-t", "-c", config_path], capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
