"""s_kill9.py: fifty kill -9s in a row under load on one database, while the bot replies to
every webhook event and shokaictl queues pushes, against the platform simulator
(issue 10, done-when: 0 acknowledged events lost, 0 messages delivered twice)."""
import collections
import hashlib
import json
import os
import random
import threading
import time

from harness import (Daemon, KeepAliveLoad, event_user, expect, reply_token, wait_until)
from sim import Sim, config_for, ctl_run

ROUNDS = 50
BUDGET_S = 150          # the rounds; the final daemon then gets SETTLE_S to finish
SETTLE_S = 30
CHAT = """
company_name: テスト
messages:
  hours: 営業時間は平日9時から18時です。
auto_replies:
  - match: { exact: hours }
    reply: hours
"""


class Pusher:
    """A thread that queues pushes with shokaictl send, each to a user of its own, until
    stopped; acked holds the users whose send said it was queued (exit 0)."""

    def __init__(self, d):
        self.d, self.tried, self.acked = d, set(), set()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        n = 0
        while not self.stopping.is_set():
            user = "U" + hashlib.md5(f"push:{os.getpid()}:{n}".encode()).hexdigest()
            n += 1
            self.tried.add(user)
            if ctl_run(self.d, "send", "line", "main", user, "お知らせ").returncode == 0:
                self.acked.add(user)
            time.sleep(0.02)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(20)
        expect(not self.thread.is_alive(), "the pusher did not stop")


def settled(d):
    pending_in = d.query("SELECT count(*) FROM inbox WHERE state = 'pending'")[0][0]
    pending_out = d.query("SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0]
    return pending_in == 0 and pending_out == 0


def test_kill9_loop_under_load_loses_nothing_and_delivers_once():
    """Each round starts shokaid on the same database, posts keep-alive webhook load (each
    event from its own user, text that has an auto-reply) while pushes are queued, and
    kills it with SIGKILL after a random moment. Then a last daemon finishes the work and
    stops with 0. Every event answered 200 is stored; every stored event's reply reached
    its user exactly once (its reply token, or a push to the user), and nothing reached
    a user whose event was not stored; every acknowledged push was delivered exactly once
    and no push twice."""
    rng = random.Random(10)
    results = []
    t0 = time.monotonic()
    with Sim() as sim:
        d = Daemon(config=config_for(sim) + CHAT, start=False)
        pusher = None
        try:
            pusher = Pusher(d)
            for i in range(ROUNDS):
                expect(time.monotonic() - t0 < BUDGET_S,
                       f"only {i} kill -9 rounds within the {BUDGET_S}s budget")
                d.start()
                if pusher.thread.ident is None:
                    pusher.start()
                load = KeepAliveLoad(d.port, threads=4, text="hours", user_per_event=True,
                                     answer_timeout=5).start()
                try:
                    time.sleep(rng.uniform(0.15, 0.6))
                    d.kill9()
                finally:
                    load.stop()
                results += load.results
            pusher.stop()
            d.start()
            wait_until(lambda: settled(d), SETTLE_S, "the last daemon to finish the inbox and "
                       "the outbox", interval=0.1)
            rc = d.stop()
            expect(rc == 0, f"the last daemon exited with {rc} on SIGTERM")

            sent = {e for eids, *_ in results for e in eids}
            acked = {e for eids, r, _ in results if r[0] == "answer" and r[1] == 200 for e in eids}
            stored = {k for (k,) in d.inbox("event_key")}
            lost = acked - stored
            expect(not lost, f"{len(lost)} of {len(acked)} acknowledged events lost")
            expect(stored <= sent, f"{len(stored - sent)} stored events no client sent")

            reqs = sim.requests("/v2/bot/message/")
            replies = collections.Counter(json.loads(r["body"])["replyToken"] for r in reqs
                                          if r["path"] == "/v2/bot/message/reply" and
                                          r["status"] == 200)
            pushes = collections.Counter(json.loads(r["body"])["to"] for r in reqs
                                         if r["path"] == "/v2/bot/message/push" and
                                         r["status"] == 200)
            per_event = {e: replies[reply_token(e)] + pushes[event_user(e)] for e in sent}
            twice = [e for e, n in per_event.items() if n > 1]
            expect(not twice, f"{len(twice)} customers got their reply more than once")
            missing = [e for e in stored if per_event[e] == 0]
            expect(not missing, f"{len(missing)} stored events' replies never delivered")
            stray = [e for e in sent - stored if per_event[e] > 0]
            expect(not stray, f"{len(stray)} replies to events that were never stored")
            push_twice = [u for u in pusher.tried if pushes[u] > 1]
            expect(not push_twice, f"{len(push_twice)} pushes delivered more than once")
            push_lost = [u for u in pusher.acked if pushes[u] == 0]
            expect(not push_lost, f"{len(push_lost)} of {len(pusher.acked)} queued pushes "
                   "never delivered")
            states = dict(d.query("SELECT state, count(*) FROM outbox GROUP BY state"))
            expect(states.get("failed", 0) == 0, f"outbox rows failed: {states}")
            print(f"NOTICE {ROUNDS} kill -9 rounds: {len(sent)} events sent, {len(acked)} "
                  f"acknowledged, {len(stored)} stored, 0 lost; {sum(replies.values())} "
                  f"replies and {sum(pushes.values())} pushes delivered "
                  f"({len(pusher.acked)} queued by shokaictl), 0 twice; outbox {states} "
                  f"({time.monotonic() - t0:.0f}s)", flush=True)
        finally:
            if pusher is not None and pusher.thread.is_alive():
                pusher.stopping.set()
            d.__exit__(None, None, None)
