"""harness.py: starts a real shokaid on a free port with a temp config and database,
signs bodies like LINE and LINE WORKS do, and talks HTTP to it. Every wait is bounded."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal as _signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("SHOKAI_SHARED", os.path.join(REPO, "..", "shared"))
SHOKAID = os.environ.get("SHOKAID", os.path.join(REPO, "build", "fault", "shokaid"))
FIXTURES = os.path.join(SHARED, "line-sdk-fixtures")

LINE_SECRET = "line-secret-" + "a1b2c3d4e5f6"
WORKS_SECRET = "works-secret-" + "f6e5d4c3b2a1"
WORKS_BOT_ID = "2000001"

_key_cache = {}


def private_key_pem():
    """One RSA key per test run: generating is slow."""
    if "pem" not in _key_cache:
        out = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                              "rsa_keygen_bits:2048"], check=True, capture_output=True)
        _key_cache["pem"] = out.stdout.decode()
    return _key_cache["pem"]


def sign(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def base_config(**over):
    server = {"listen": "127.0.0.1:0", "public_url": "http://127.0.0.1", "max_body": "256KiB",
              "max_headers": "16KiB", "read_timeout": "10s", "idle_timeout": "5s",
              "max_connections": 2048, "drain_timeout": "10s"}
    server.update(over.pop("server", {}))
    storage = {"sqlite": "shokai.db", "synchronous": "full", "busy_timeout": "200ms"}
    storage.update(over.pop("storage", {}))
    channel = {"id": "main", "basic_id": "@123abcde", "channel_secret_file": "line-secret",
               "access_token_file": "line-token", "api_base": "http://127.0.0.1:9",
               "api_data_base": "http://127.0.0.1:9"}
    channel.update(over.pop("channel", {}))
    lines = ["server:"] + [f"  {k}: {v}" for k, v in server.items()]
    lines += ["storage:"] + [f"  {k}: {v}" for k, v in storage.items()]
    lines += ["log:", f"  level: {over.pop('log_level', 'debug')}"]
    lines += ["line:", "  channels:", "    - id: " + channel.pop("id")]
    lines += [f"      {k}: \"{v}\"" for k, v in channel.items()]
    lines += ["lineworks:", "  bots:", "    - id: sales",
              f"      bot_id: \"{WORKS_BOT_ID}\"", "      bot_secret_file: works-secret",
              "      client_id: cid", "      client_secret_file: works-client-secret",
              "      service_account: a.serviceaccount@example.com",
              "      private_key_file: works-key.pem",
              "      auth_url: http://127.0.0.1:9/token",
              "      api_base: http://127.0.0.1:9/v1.0"]
    assert not over, over
    return "\n".join(lines) + "\n"


class Daemon:
    """A shokaid in its own temp folder. Use as a context manager."""

    def __init__(self, config=None, env=None, **over):
        self.dir = tempfile.mkdtemp(prefix="shokai-it-")
        self.config_path = os.path.join(self.dir, "shokai.yaml")
        self.write_secret("line-secret", LINE_SECRET)
        self.write_secret("line-token", "token")
        self.write_secret("works-secret", WORKS_SECRET)
        self.write_secret("works-client-secret", "client-secret")
        self.write_secret("works-key.pem", private_key_pem())
        self.write_config(config if config is not None else base_config(**over))
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.port = None
        self.lines = []
        self.lock = threading.Lock()

    def write_secret(self, name, value, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(value + "\n")
        os.chmod(path, mode)
        return path

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    @property
    def db_path(self):
        return os.path.join(self.dir, "shokai.db")

    def start(self, env=None, wait_listen=True):
        e = dict(self.env)
        e.update(env or {})
        self.lines = []
        self.proc = subprocess.Popen([SHOKAID, "-c", self.config_path], cwd=self.dir, env=e,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        if wait_listen:
            line = self.wait_log(r"msg=listening addr=\S+:(\d+)", timeout=10)
            self.port = int(re.search(r"addr=\S+:(\d+)", line).group(1))
        return self

    def _reader(self, proc):
        for raw in proc.stderr:
            with self.lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def log_text(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout=5.0, start=0):
        """Waits for a log line matching pattern (after line index start); returns it."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < deadline:
            with self.lock:
                for line in self.lines[start:]:
                    if rx.search(line):
                        return line
            if self.proc.poll() is not None:
                time.sleep(0.05)
                with self.lock:
                    for line in self.lines[start:]:
                        if rx.search(line):
                            return line
                raise AssertionError(f"shokaid exited ({self.proc.returncode}) before "
                                     f"/{pattern}/:\n{self.log_text()[-3000:]}")
            time.sleep(0.01)
        raise AssertionError(f"no log line /{pattern}/ within {timeout}s:\n"
                             f"{self.log_text()[-3000:]}")

    def nlines(self):
        with self.lock:
            return len(self.lines)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=_signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("shokaid did not exit within %ss" % timeout)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        """Stops the daemon the way an operator would (SIGTERM) and fails the test if it
        did not exit 0 or a sanitizer reported anything (make check's ASan build)."""
        problem = None
        try:
            if self.proc is not None and self.proc.poll() is None:
                rc = self.stop()
                if rc != 0:
                    problem = f"shokaid exited {rc} on SIGTERM"
            time.sleep(0.05)
            text = self.log_text()
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                if marker in text:
                    problem = f"sanitizer report:\n{text[text.index(marker) - 200:][:3000]}"
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            subprocess.run(["rm", "-rf", self.dir])
        already_failing = bool(exc) and exc[0] is not None
        if problem and not already_failing:
            raise AssertionError(problem)

    # HTTP

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def post_line(self, body, secret=LINE_SECRET, channel="main", sig=None, headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode()
        h = {"Content-Type": "application/json",
             "X-Line-Signature": sig if sig is not None else sign(secret, body)}
        if sig == "":
            del h["X-Line-Signature"]
        h.update(headers or {})
        return self.request("POST", "/line/" + channel, body, h)

    def post_works(self, body, secret=WORKS_SECRET, bot_id=WORKS_BOT_ID, bot="sales",
                   sig=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode()
        h = {"Content-Type": "application/json; charset=UTF-8",
             "X-WORKS-Signature": sig if sig is not None else sign(secret, body)}
        if bot_id is not None:
            h["X-WORKS-BotId"] = bot_id
        return self.request("POST", "/works/" + bot, body, h)

    # database

    def db(self):
        c = sqlite3.connect(self.db_path, timeout=5)
        return c

    def query(self, sql, args=()):
        c = self.db()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def counts(self):
        return (self.query("SELECT count(*) FROM inbox")[0][0],
                self.query("SELECT count(*) FROM quarantine")[0][0])

    def wait_rows_done(self, timeout=5.0):
        """Waits until no inbox row is pending."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.query("SELECT count(*) FROM inbox WHERE state = 'pending'")[0][0] == 0:
                return
            time.sleep(0.02)
        raise AssertionError("inbox rows still pending after %ss" % timeout)


def line_event(eid, etype="message", text="こんにちは", user="U36b3216fdaeeb975729fae923d5a4fd1"):
    ev = {"type": etype, "mode": "active", "timestamp": 1767225600000,
          "source": {"type": "user", "userId": user}, "webhookEventId": eid,
          "deliveryContext": {"isRedelivery": False},
          "replyToken": "r" + eid.lower()}
    if etype == "message":
        ev["message"] = {"id": "1" + str(abs(hash(eid)) % 10**9), "type": "text",
                         "quoteToken": "q", "text": text}
    return ev


def line_body(*events, destination="Ua4c123b1612dd272d1371c17149d4395"):
    return json.dumps({"destination": destination, "events": list(events)},
                      ensure_ascii=False).encode()


_ulid_counter = [0]


def new_id():
    _ulid_counter[0] += 1
    return "01J%07d%016X" % (os.getpid() % 10**7, (int(time.time() * 1000) << 12)
                              + _ulid_counter[0])
