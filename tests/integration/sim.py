"""sim.py: shared helpers of the integration tests that run shokaid against the platform
simulator (build/shokaisim): the simulator client, a config pointing both platforms at
it, shokaictl, the contract check of recorded LINE requests, and the chat helpers (a
daemon with chat config and its menu images, sending LINE events, reading the replies).
Python standard library only; not a test module (run.py collects t_*.py)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import REPO, Daemon, Fail, default_bot, default_channel, expect, line_body, \
    make_config, wait_until

SIM = os.environ.get("SHOKAISIM", os.path.join(REPO, "build", "shokaisim"))
CTL = os.environ.get("SHOKAICTL", os.path.join(REPO, "build", "fault", "shokaictl"))


class Sim:
    """A shokaisim serving both platforms on a free port."""

    def __init__(self):
        self.proc = subprocess.Popen([SIM, "serve", "--listen", "127.0.0.1:0"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            m = re.search(r"msg=listening addr=\S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if not line and self.proc.poll() is not None:
                break
        if self.port is None:
            self.proc.kill()
            raise Fail("shokaisim did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read()
        return json.loads(body) if body else None

    def requests(self, path_prefix=""):
        return [r for r in self.call("GET", "/_sim/requests")
                if r["path"].startswith(path_prefix)]

    def fault(self, **f):
        self.call("POST", "/_sim/fault", f)

    def stats(self):
        return self.call("GET", "/_sim/stats")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def config_for(sim, **outbox):
    """The default config with both platforms' APIs on the simulator, and an outbox
    section (outbox settings override the defaults here)."""
    ob = {"line_concurrency": 8, "works_concurrency": 4, "max_attempts": 5,
          "request_timeout": "1s"}
    ob.update(outbox)
    extra = "outbox:\n" + "".join(f"  {k}: {v}\n" for k, v in ob.items())
    return make_config(
        channels=[default_channel(api_base=sim.url(), api_data_base=sim.url())],
        bots=[default_bot(auth_url=sim.url("/oauth2/v2.0/token"), api_base=sim.url("/v1.0"))],
        extra=extra)


def ctl_run(d, *args):
    """shokaictl -c (the daemon's config) ARGS, whatever its exit code."""
    return subprocess.run([CTL, "-c", d.config_path] + list(args), capture_output=True,
                          timeout=10)


def ctl(d, *args):
    """shokaictl ARGS, which must succeed; returns its stdout."""
    r = ctl_run(d, *args)
    expect(r.returncode == 0, f"shokaictl {args}: {r.stderr.decode()}")
    return r.stdout.decode()


def contract_check(reqs):
    """Replays recorded LINE requests against Prism and the message validator
    (tests/contract/check.sh); skipped with a notice where node is not available."""
    out = tempfile.mkdtemp(prefix="shokai-contract-")
    for i, r in enumerate(reqs):
        name = f"{i:03d}-{r['method']}-{r['path'].strip('/').replace('/', '_')}.json"
        with open(os.path.join(out, name), "w") as f:
            json.dump({"method": r["method"], "path": r["path"], "host": "api.line.me",
                       "headers": r["headers"],
                       "body": json.loads(r["body"]) if r["body"] else None}, f,
                      ensure_ascii=False)
    p = subprocess.run(["bash", os.path.join(REPO, "tests", "contract", "check.sh"), out],
                       capture_output=True, timeout=300)
    text = p.stdout.decode() + p.stderr.decode()
    shutil.rmtree(out, ignore_errors=True)
    if p.returncode == 3:
        print("NOTICE contract test skipped: " + text.strip().splitlines()[-1], flush=True)
        return
    expect(p.returncode == 0, f"contract check failed:\n{text[-3000:]}")


# ------------------------------------------------------------------------------- chat

# The smallest invite a referral test needs (messages: entries, then the refer tap),
# for config texts that go on under their own messages: key.
INVITE_CHAT = """  invite: "{sender_name}さんからのご紹介です。紹介コード{code} {invite_url}"
  invite_preview:
    - template:
        type: buttons
        text: 紹介メッセージを送る
        actions:
          - { type: uri, label: 友だちに送る, uri: "{share_url}" }
postbacks:
  refer: referral.invite
"""


def chat_daemon(sim, extra, config=None, **kw):
    """A Daemon on config (default config_for(sim)) followed by the chat sections extra,
    with the rich menu images those sections name in its folder."""
    d = Daemon(config=(config_for(sim) if config is None else config) + extra, **kw)
    for name in ("main.png", "info.png"):
        shutil.copy(os.path.join(REPO, "config", "richmenu", name), d.path(name))
    return d


def send(d, *events):
    """Posts LINE events in one signed webhook; it must be accepted."""
    r = d.post_line(line_body(*events))
    expect(r.status == 200, r)


def replies(sim):
    """The messages of every reply the simulator received, in order."""
    return [json.loads(r["body"])["messages"] for r in sim.requests("/v2/bot/message/reply")]


def wait_replies(sim, n, timeout=10):
    wait_until(lambda: len(replies(sim)) >= n, timeout, f"{n} replies")
    return replies(sim)
