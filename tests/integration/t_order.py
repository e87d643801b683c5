"""t_order.py: the events of one user are handled in the order they arrived, across
group commits and dispatch batches (issue 11: handlers may leave the event loop, and
events of different users may interleave, but never those of one user)."""
import json
import random
import threading
import time

from harness import Fail, KeepAliveLoad, event_user, expect, line_body, line_event, new_event_id, \
    reply_token
from sim import Sim, chat_daemon, config_for

CHAT = """
company_name: テスト
messages:
  hours: 営業時間は平日9時から18時です。
auto_replies:
  - match: { exact: hours }
    reply: hours
"""
TRACKED = ["U%032x" % (0x0dde0000 + i) for i in range(4)]
PER_USER = 150          # events of each tracked user
SEND_BUDGET_S = 25      # for the tracked users' requests
BATCH = 256             # dispatch.c's DISPATCH_BATCH


def _send_in_order(d, user, rng, out, errors, deadline):
    """Sends PER_USER "hours" events of user, one request after the other (the next only
    once the previous one was answered 200: that is arrival order), 1-3 of them per body,
    each body with 0-4 events of other users before, between and after them. out gets
    the event ids of user in the order sent."""
    while len(out) < PER_USER and time.monotonic() < deadline:
        mine = [new_event_id() for _ in range(min(rng.randint(1, 3), PER_USER - len(out)))]
        events = []
        for eid in mine:
            for _ in range(rng.randint(0, 2)):
                other = new_event_id()
                events.append(line_event(other, text="hours", user=event_user(other)))
            events.append(line_event(eid, text="hours", user=user))
        for _ in range(rng.randint(0, 2)):
            other = new_event_id()
            events.append(line_event(other, text="hours", user=event_user(other)))
        try:
            r = d.post_line(line_body(*events))
        except OSError as e:
            errors.append(f"{user}: {e!r}")
            return
        if r.status != 200:
            errors.append(f"{user}: answered {r.status}")
            return
        out.extend(mine)


def test_events_of_one_user_handled_in_arrival_order_across_batches():
    """Four users each send 150 events in order (a request at a time, 1-3 of theirs per
    body, mixed with other users' events), while keep-alive clients send 5-event bodies
    of other users, so the tracked users' events are spread over many group commits and
    dispatch batches (each user's first and last event more than 3 batches apart in the
    inbox). Every event gets an auto-reply, queued in the outbox while its event is
    handled: the outbox's row order is the handling order. For each tracked user, the
    replies' order in the outbox is the order the events were sent."""
    rng = random.Random(5)
    with Sim() as sim:
        with chat_daemon(sim, CHAT, config=config_for(sim)) as d:
            noise = KeepAliveLoad(d.port, threads=6, text="hours", user_per_event=True,
                                  events=5, answer_timeout=10).start()
            sent = {u: [] for u in TRACKED}
            errors = []
            deadline = time.monotonic() + SEND_BUDGET_S
            try:
                threads = [threading.Thread(target=_send_in_order, daemon=True,
                                            args=(d, u, random.Random(rng.random()), sent[u],
                                                  errors, deadline)) for u in TRACKED]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(SEND_BUDGET_S + 15)
            finally:
                noise.stop()
            expect(not errors, f"a tracked user's request failed: {errors[:3]}")
            short = {u: len(v) for u, v in sent.items() if len(v) < PER_USER}
            expect(not short, f"tracked users sent fewer than {PER_USER} events within "
                   f"{SEND_BUDGET_S}s: {short}")
            refused = [s for s in noise.not_ok() if s != 200]
            expect(not refused, f"{len(refused)} other requests not answered 200: "
                   f"{refused[:5]}")
            states = d.wait_processed(timeout=30)
            expect(set(states) == {"done"}, f"inbox states: {states}")

            total = d.query("SELECT count(*) FROM inbox")[0][0]
            ids = dict(d.query("SELECT event_key, id FROM inbox WHERE user_id IN (%s)" %
                               ",".join("?" * len(TRACKED)), TRACKED))
            for u, eids in sent.items():
                missing = [e for e in eids if e not in ids]
                expect(not missing, f"{len(missing)} of {u}'s events not in the inbox")
                span = ids[eids[-1]] - ids[eids[0]]
                expect(span > 3 * BATCH, f"test too weak: {u}'s events span only {span} "
                       f"inbox rows, not more than 3 dispatch batches of {BATCH}")

            order = {}
            for n, (body,) in enumerate(d.query("SELECT body FROM outbox WHERE kind = 'reply' "
                                                "ORDER BY id")):
                order.setdefault(json.loads(body)["replyToken"], n)
            for u, eids in sent.items():
                pos = [order.get(reply_token(e)) for e in eids]
                expect(None not in pos, f"{pos.count(None)} of {u}'s events have no reply "
                       "in the outbox")
                wrong = [i for i in range(len(pos) - 1) if pos[i] > pos[i + 1]]
                if wrong:
                    raise Fail(f"{u}'s events handled out of arrival order: {len(wrong)} "
                               f"of {len(pos) - 1} consecutive pairs swapped, the first at "
                               f"events #{wrong[0]} and #{wrong[0] + 1} (of {len(pos)})")
            print(f"NOTICE per-user order: {len(TRACKED)} users x {PER_USER} events in order "
                  f"among {total} events ({total // BATCH + 1}+ dispatch batches)", flush=True)


def test_a_row_another_connection_adds_is_handled_before_the_events_after_it():
    """A pending row that another connection adds between two webhooks of one user
    (written here with sqlite3, as another tool would) is handled, after the first
    webhook's event and before the second's: whatever the dispatcher keeps in memory
    between batches, it must see the other connection's write (tests/bench/PROFILE.md,
    "the dispatcher's events from memory": without that check the row is never
    handled)."""
    user = TRACKED[0]
    first, outside, last = new_event_id(), new_event_id(), new_event_id()
    with Sim() as sim:
        with chat_daemon(sim, CHAT, config=config_for(sim)) as d:
            r = d.post_line(line_body(line_event(first, text="hours", user=user)))
            expect(r.status == 200, f"the first webhook was answered {r.status}")
            d.wait_processed()
            c = d.db()
            try:
                with c:
                    c.execute("INSERT INTO inbox(platform, channel, event_key, type, "
                              "source_type, user_id, reply_token, ts, message_id, "
                              "message_type, text, received_at) VALUES ('line', 'main', ?, "
                              "'message', 'user', ?, ?, 1767225600000, '1', 'text', 'hours', ?)",
                              (outside, user, reply_token(outside), int(time.time() * 1000)))
            finally:
                c.close()
            r = d.post_line(line_body(line_event(last, text="hours", user=user)))
            expect(r.status == 200, f"the last webhook was answered {r.status}")
            states = d.wait_processed()
            expect(set(states) == {"done"}, f"inbox states: {states}")
            tokens = [json.loads(b)["replyToken"] for (b,) in d.query(
                "SELECT body FROM outbox WHERE kind = 'reply' ORDER BY id")]
            want = [reply_token(e) for e in (first, outside, last)]
            expect(tokens == want, f"replies in the order {tokens}, not {want} (the first "
                   "webhook's, the other connection's row's, the last webhook's)")
