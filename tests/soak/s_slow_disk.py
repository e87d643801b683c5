"""s_slow_disk.py: a burst of 10,000 events while every commit takes 20 ms longer than it
should (SHOKAI_FAULT=slow_commit: a slow disk), issue 11: no request is refused, every
one is answered, every event is stored, and the loop keeps reading webhooks while a
commit waits for the disk (the stall probe's /healthz loop_long_stalls, stalls of 10 ms or
more, stays a handful where a loop that waited for each commit would count hundreds)."""
import collections
import time

from harness import Daemon, KeepAliveLoad, expect

REQUESTS = 2000
EVENTS_PER_REQUEST = 5
CONNECTIONS = 32
BUDGET_S = 90           # the whole burst, sent and answered
# A loop that waited for each commit would stall at least the 20 ms a commit sleeps, once
# per commit: hundreds in this burst. With the storage thread the worst stall seen was
# 6-24 ms, which is the loop descheduled on two cores shared with this test's own 32
# client threads, a few times per run; the count of long stalls tells the two apart where
# the worst one alone did not (a CI run failed on one 24 ms stall).
LONG_STALLS_BOUND = 10


def test_burst_on_slow_disk_refuses_nothing_and_keeps_reading():
    """32 keep-alive connections send 2,000 signed 5-event webhooks (10,000 events) as
    fast as they are answered, against a daemon whose every COMMIT first sleeps 20 ms.
    Every request is answered 200 (none 503, none closed or timed out), all 10,000
    events are in the inbox, the fastest answer took at least the 20 ms of a commit (so
    the fault really fired), and the loop stalls 10 ms or more only a handful of times,
    not once per commit: webhooks are read while commits wait. With commits on the event
    loop (before issue 11's storage thread) it stalled 26-86 ms, at every commit."""
    total = REQUESTS * EVENTS_PER_REQUEST
    with Daemon(env={"SHOKAI_FAULT": "slow_commit"}, log_level="info") as d:
        load = KeepAliveLoad(d.port, threads=CONNECTIONS, events=EVENTS_PER_REQUEST,
                             requests=REQUESTS, answer_timeout=30).start()
        t0 = time.monotonic()
        try:
            while not load.done() and time.monotonic() - t0 < BUDGET_S:
                time.sleep(0.05)
        finally:
            load.stop()
        took = time.monotonic() - t0
        results = list(load.results)
        expect(len(results) == REQUESTS, f"only {len(results)} of the {REQUESTS} requests "
               f"of the burst had an outcome within {BUDGET_S}s")
        statuses = collections.Counter(r[1] if r[0] == "answer" else r[0]
                                       for _, r, _ in results)
        expect(statuses.get(503, 0) == 0, f"{statuses[503]} of {REQUESTS} requests refused "
               f"with 503 on a slow disk ({dict(statuses)})")
        expect(set(statuses) == {200}, f"not every request was answered 200: "
               f"{dict(statuses)}")

        sent = {e for eids, _, _ in results for e in eids}
        expect(len(sent) == total, f"test bug: {len(sent)} distinct events sent, not {total}")
        stored = {k for (k,) in d.inbox("event_key")}
        expect(len(stored) == total and stored == sent, f"{len(stored)} events in the inbox "
               f"after {total} were answered 200 ({len(sent - stored)} missing)")

        lat = sorted(load.latencies())
        expect(lat[0] >= 0.020, f"the fastest answer took {lat[0] * 1000:.1f} ms, less than "
               "a 20 ms commit: SHOKAI_FAULT=slow_commit did not fire (not a fault build?)")
        health = d.healthz()
        stall, long_stalls = health["loop_max_stall_us"], health["loop_long_stalls"]
        print(f"NOTICE slow-disk burst: {REQUESTS} requests, {total} events over "
              f"{CONNECTIONS} connections in {took:.1f}s ({REQUESTS / took:.0f} req/s), "
              f"latency p50 {lat[len(lat) // 2] * 1000:.0f} ms p99 "
              f"{lat[int(len(lat) * 0.99)] * 1000:.0f} ms max {lat[-1] * 1000:.0f} ms; "
              f"loop_max_stall_us {stall}, loop_long_stalls {long_stalls}", flush=True)
        expect(long_stalls < LONG_STALLS_BOUND, f"the loop stalled 10 ms or more "
               f"{long_stalls} times during the burst (bound {LONG_STALLS_BOUND}; the worst "
               f"{stall} µs, each commit sleeps 20 ms): webhook reads wait for the disk")
