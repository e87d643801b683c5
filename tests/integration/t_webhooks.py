"""t_webhooks.py: the webhook contract end to end against a real shokaid: signatures,
limits, quarantine, dedupe, storage and dispatch."""
import glob
import json
import os
import socket
import threading
import time

from harness import (FIXTURES, LINE_SECRET, WORKS_SECRET, Daemon, line_body, line_event,
                     new_id, sign)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def test_line_signed_event_stored_and_done():
    with Daemon() as d:
        eid = new_id()
        st, body = d.post_line(line_body(line_event(eid, text="紹介コード K7Q4M2XP")))
        expect(st == 200, f"status {st} {body}")
        rows = d.query("SELECT platform, channel, event_key, type, text, user_id FROM inbox")
        expect(rows == [("line", "main", eid, "message", "紹介コード K7Q4M2XP",
                         "U36b3216fdaeeb975729fae923d5a4fd1")], rows)
        d.wait_rows_done()
        expect(d.query("SELECT state FROM inbox")[0][0] == "done", "not done")
        d.wait_log(r"msg=event platform=line channel=main type=message .*outcome=done")
        d.wait_log(r"msg=request method=POST path=/line/main status=200")
        # The user id appears only as a pseudonym.
        expect("U36b3216fdaeeb975729fae923d5a4fd1" not in d.log_text(), "raw user id logged")


def test_every_sdk_fixture_accepted():
    files = sorted(glob.glob(os.path.join(FIXTURES, "java-line-bot-webhook", "*.json")))
    expect(len(files) >= 25, f"fixtures missing: {len(files)}")
    with Daemon() as d:
        keys = set()
        for f in files:
            raw = open(f, "rb").read()
            st, _ = d.post_line(raw)
            expect(st == 200, f"{os.path.basename(f)}: {st}")
            # Two fixtures share a webhookEventId: that is one event, stored once.
            for i, ev in enumerate(json.loads(raw)["events"]):
                keys.add(ev.get("webhookEventId") or (f, i))
        inbox, quarantine = d.counts()
        expect(quarantine == 0, f"{quarantine} fixtures quarantined")
        expect(inbox == len(keys), f"inbox {inbox} != distinct events {len(keys)}")
        d.wait_rows_done()
        states = dict(d.query("SELECT state, count(*) FROM inbox GROUP BY state"))
        expect(states.get("failed", 0) == 0, states)
        # unknown.json holds an unknown event type: stored, then skipped with the reason.
        rows = d.query("SELECT error FROM inbox WHERE type = 'greatNewFeature'")
        expect(rows and rows[0][0] == "unknown event type 'greatNewFeature'", rows)


def test_sdk_signature_vectors_end_to_end():
    """The SDKs' own bodies and signatures, with the channel secret each used."""
    vec = os.path.join(FIXTURES, "signature-vectors")
    for line in open(os.path.join(vec, "vectors.tsv")):
        if line.startswith("#") or not line.strip():
            continue
        name, secret, sig = line.split("\t")[:3]
        with Daemon() as d:
            d.write_secret("line-secret", secret)
            d.signal(1)  # SIGHUP: take the new secret
            d.wait_log("config reloaded")
            raw = open(os.path.join(vec, name), "rb").read()
            st, _ = d.post_line(raw, sig=sig)
            expect(st == 200, f"{name}: {st}")
            if name == "node-not-json.body":
                expect(d.counts() == (0, 1), f"{name}: {d.counts()}")
                stored = d.query("SELECT body FROM quarantine")[0][0]
                expect(stored == raw, "quarantined body differs from what was sent")


def test_header_case_variants():
    with Daemon() as d:
        for i, name in enumerate(["X-Line-Signature", "x-line-signature", "X-LINE-SIGNATURE"]):
            body = line_body(line_event(new_id()))
            st, _ = d.request("POST", "/line/main", body, {name: sign(LINE_SECRET, body)})
            expect(st == 200, f"{name}: {st}")
        expect(d.counts()[0] == 3, d.counts())


def test_bad_line_signatures_rejected_without_side_effects():
    with Daemon() as d:
        body = line_body(line_event(new_id()))
        good = sign(LINE_SECRET, body)
        flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
        cases = {
            "missing": "",
            "empty": " ",
            "bit flipped": flipped,
            "truncated": good[:43],
            "no padding": good.rstrip("="),
            "non-base64": good[:5] + "*" + good[6:],
            "hex": __import__("hashlib").sha256(body).hexdigest(),
            "other secret": sign("another-channel-secret", body),
            "body changed": sign(LINE_SECRET, body + b" "),
            "33 bytes": __import__("base64").b64encode(b"x" * 33).decode(),
        }
        for name, sig in cases.items():
            st, resp = d.post_line(body, sig=sig)
            expect(st == 401, f"{name}: {st}")
            expect(resp == b'{"error":"unauthorized"}', f"{name}: body {resp!r}")
        # The body with an extra trailing newline, signed for the original bytes.
        st, _ = d.post_line(body + b"\n", sig=good)
        expect(st == 401, f"trailing newline: {st}")
        # Two signature headers (one valid): refused.
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        req = (b"POST /line/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"X-Line-Signature: " + good.encode() + b"\r\nX-Line-Signature: " +
               flipped.encode() + b"\r\nContent-Length: " + str(len(body)).encode() +
               b"\r\nConnection: close\r\n\r\n" + body)
        s.sendall(req)
        resp = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
        s.close()
        expect(resp.startswith(b"HTTP/1.1 401"), f"duplicate header: {resp[:40]!r}")
        expect(d.counts() == (0, 0), f"side effects: {d.counts()}")
        health = json.loads(d.request("GET", "/healthz")[1])
        expect(health["signature_failures"] == len(cases) + 2, health)


def test_works_callbacks():
    with Daemon() as d:
        msg = {"type": "message", "source": {"userId": "8d2c1e9a-4b7f-4a10-9c3e-5f61a2b7c0d4",
                                             "domainId": 40029600},
               "issuedTime": "2025-03-14T01:02:03.456Z",
               "content": {"type": "text", "text": "一覧", "postback": "cmd=list"}}
        pb = {"type": "postback", "source": {"userId": "8d2c", "channelId": "7b0e",
                                             "domainId": 40029600},
              "issuedTime": "2025-03-14T01:07:30.000Z", "data": "a=won&ref=R7K2Q9"}
        expect(d.post_works(msg)[0] == 200, "message")
        expect(d.post_works(pb)[0] == 200, "postback")
        rows = d.query("SELECT platform, channel, type, text, postback_data FROM inbox "
                       "ORDER BY id")
        expect(rows == [("works", "sales", "message", "一覧", "cmd=list"),
                        ("works", "sales", "postback", None, "a=won&ref=R7K2Q9")], rows)
        d.wait_rows_done()
        # Identical body again: one row. Same text, another issuedTime: a second row.
        expect(d.post_works(msg)[0] == 200, "again")
        expect(d.counts()[0] == 2, d.counts())
        msg["issuedTime"] = "2025-03-14T01:02:04.000Z"
        expect(d.post_works(msg)[0] == 200, "new time")
        expect(d.counts()[0] == 3, d.counts())


def test_bad_works_signatures():
    with Daemon() as d:
        body = json.dumps({"type": "message", "source": {"userId": "u"},
                           "content": {"type": "text", "text": "x"}}).encode()
        cases = [
            dict(bot_id=None),                                   # BotId missing
            dict(bot_id="2000002"),                              # another bot's id
            dict(secret="other-bot-secret"),                     # signed by another bot
            dict(sig=""),                                        # no signature value
            dict(sig=sign(WORKS_SECRET, body)[:43]),             # truncated
        ]
        for c in cases:
            st, _ = d.post_works(body, **c)
            expect(st == 401, f"{c}: {st}")
        expect(d.counts() == (0, 0), d.counts())


def test_oversized_body_413():
    with Daemon(server={"max_body": "4KiB"}) as d:
        body = line_body(line_event(new_id(), text="あ" * 3000))
        st, _ = d.post_line(body)
        expect(st == 413, f"status {st}")
        expect(d.counts() == (0, 0), d.counts())
        # The server is still fine afterwards.
        expect(d.post_line(line_body(line_event(new_id())))[0] == 200, "after 413")


def test_signed_garbage_quarantined():
    bodies = [b"not json", b'{"events":[]} trailing', b'{"events":{}}', b'{"events":null}',
              b'{"destination":"U1"}', b'{"events":[1]}', b"\xef\xbb\xbf{\"events\":[]}",
              b'{"events":[{"type":"message","webhookEventId":"a","webhookEventId":"b"}]}',
              b'{"events":[{"type":"message","x":' + b"[" * 5000 + b"]" * 5000 + b"}]}",
              b'{"events":[{"type":"a\xff"}]}']
    with Daemon() as d:
        for b in bodies:
            st, _ = d.post_line(b)
            expect(st == 200, f"{b[:30]!r}: {st}")
        expect(d.counts() == (0, len(bodies)), d.counts())
        stored = [r[0] for r in d.query("SELECT body FROM quarantine ORDER BY id")]
        expect(stored == bodies, "quarantined bytes differ")
        d.wait_log(r"level=warn msg=quarantined")
        # Works too.
        st, _ = d.post_works(b'{"no":"type"}')
        expect(st == 200 and d.counts() == (0, len(bodies) + 1), f"works {st} {d.counts()}")


def test_verification_request():
    with Daemon() as d:
        st, _ = d.post_line(b'{"destination":"Ua4c123b1612dd272d1371c17149d4395","events":[]}')
        expect(st == 200, st)
        expect(d.counts() == (0, 0), d.counts())


def test_destination_check():
    with Daemon(channel={"bot_user_id": "Ua4c123b1612dd272d1371c17149d4395"}) as d:
        ok = line_body(line_event(new_id()))
        other = line_body(line_event(new_id()), destination="U" + "0" * 32)
        expect(d.post_line(ok)[0] == 200 and d.post_line(other)[0] == 200, "status")
        expect(d.counts() == (1, 1), d.counts())


def test_duplicates_sequential_and_concurrent():
    with Daemon() as d:
        eid = new_id()
        body = line_body(line_event(eid))
        for _ in range(5):
            expect(d.post_line(body)[0] == 200, "sequential")
        # A redelivery: another body (isRedelivery true), same webhookEventId.
        ev = line_event(eid)
        ev["deliveryContext"]["isRedelivery"] = True
        expect(d.post_line(line_body(ev))[0] == 200, "redelivery")
        expect(d.counts()[0] == 1, d.counts())
        # 20 concurrent copies of a new event: one row, all 200.
        eid2 = new_id()
        body2 = line_body(line_event(eid2))
        results = []

        def send():
            results.append(d.post_line(body2)[0])
        threads = [threading.Thread(target=send) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        expect(results == [200] * 20, results)
        expect(d.query("SELECT count(*) FROM inbox WHERE event_key = ?", (eid2,))[0][0] == 1,
               "concurrent duplicates stored")
        # A batch of 3 with 1 seen before: 2 new rows.
        expect(d.post_line(line_body(line_event(eid), line_event(new_id()),
                                     line_event(new_id())))[0] == 200, "batch")
        expect(d.counts()[0] == 4, d.counts())


def test_routes_and_methods():
    with Daemon() as d:
        expect(d.request("GET", "/nope")[0] == 404, "unknown path")
        expect(d.request("GET", "/line/main")[0] == 405, "GET webhook")
        expect(d.request("PUT", "/works/sales")[0] == 405, "PUT works")
        expect(d.request("POST", "/healthz")[0] == 405, "POST healthz")
        st, body = d.post_line(b"{}", channel="other")
        expect(st == 404, f"unknown channel {st}")
        expect(d.post_line(b"{}", channel="main/../admin")[0] == 404, "traversal")
        st, body = d.request("GET", "/%3Cscript%3E")
        expect(st == 404 and b"script" not in body, "404 echoes input")
        # A query string is ignored.
        body = line_body(line_event(new_id()))
        st, _ = d.request("POST", "/line/main?x=1", body,
                          {"X-Line-Signature": sign(LINE_SECRET, body)})
        expect(st == 200, f"query string {st}")


def test_healthz():
    with Daemon() as d:
        d.post_line(line_body(line_event(new_id())))
        st, body = d.request("GET", "/healthz")
        expect(st == 200, st)
        h = json.loads(body)
        expect(h["status"] == "ok" and "inbox_backlog" in h and h["events_stored"] == 1, h)


def test_backlog_reported_and_processed_after_kill9():
    d = Daemon()
    try:
        d.start(env={"SHOKAI_FAULT": "no_dispatch"})
        eids = [new_id() for _ in range(3)]
        for e in eids:
            expect(d.post_line(line_body(line_event(e)))[0] == 200, "post")
        h = json.loads(d.request("GET", "/healthz")[1])
        expect(h["inbox_backlog"] == 3, h)
        d.kill9()
        expect(d.query("SELECT count(*) FROM inbox WHERE state = 'pending'")[0][0] == 3,
               "rows lost or processed before the kill")
        d.start()
        d.wait_log(r"inbox_backlog=3")
        d.wait_rows_done()
        expect(d.query("SELECT count(*) FROM inbox WHERE state = 'done'")[0][0] == 3,
               "not processed after restart")
        expect(d.query("PRAGMA integrity_check")[0][0] == "ok", "integrity")
    finally:
        d.__exit__()


def test_database_locked_503():
    with Daemon() as d:
        c = d.db()
        c.isolation_level = None
        c.execute("BEGIN IMMEDIATE")
        try:
            st, _ = d.post_line(line_body(line_event(new_id())))
            expect(st == 503, f"locked: {st}")
        finally:
            c.execute("ROLLBACK")
            c.close()
        expect(d.counts()[0] == 0, d.counts())
        st, _ = d.post_line(line_body(line_event(new_id())))
        expect(st == 200, f"after unlock: {st}")
        expect(d.counts()[0] == 1, d.counts())


def test_chunked_body_verified_on_raw_bytes():
    with Daemon() as d:
        body = ('{"destination":"U1",  "events":[{"type":"message","webhookEventId":"%s",'
                '"message":{"type":"text","id":"1","text":"\\u3042あ"},"n":1.0}]}\n'
                % new_id()).encode()
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        head = (b"POST /line/main HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"X-Line-Signature: " + sign(LINE_SECRET, body).encode() +
                b"\r\nConnection: close\r\n\r\n")
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                          for i in range(0, len(body), 7))
        s.sendall(head + chunks + b"0\r\n\r\n")
        resp = s.recv(100)
        s.close()
        expect(resp.startswith(b"HTTP/1.1 200"), resp)
        expect(d.query("SELECT text FROM inbox")[0][0] == "ああ", "text")
