-- wrk script for `make bench`: POSTs pre-signed LINE webhook bodies, one per request.
--
--   wrk -t1 -c32 -d5s -s tests/bench/signed.lua http://127.0.0.1:PORT/line/main -- POOL [THREADS]
--
-- POOL (or env BENCH_BODIES) is a file from gen_bodies.py: one "signature<TAB>body" a line.
-- THREADS (or env BENCH_THREADS, default 1) must equal wrk's -t: thread k (0-based) takes
-- the lines k, k+THREADS, k+2*THREADS, ... so no two threads send the same body. A body is
-- sent once, unless a thread runs out and wraps around; that is counted and reported, as
-- repeated webhookEventIds only exercise the server's dedupe path.
--
-- done() prints one machine-readable line:
--   BENCH rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. responses=.. ok2xx=.. non2xx=..
--         issued=.. wrapped=.. pool=.. sock_errors=.. threads=.. declared_threads=..
--         duration_us=..
-- duration_us is wrk's own clock from the first connection to the end of the run (init(),
-- which reads the pool, comes before it): run.sh dates the run's start from it.
-- A Lua table literal of this size would not load (LuaJIT's constant limit), and wrk then
-- silently sends plain GETs; reading the file in init() avoids that, and the non-2xx count
-- (from response()) catches anything else.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   threads[#threads + 1] = thread
end

-- per-thread state (globals, so done() can read them with thread:get)
bench_pool, bench_issued, bench_ok, bench_non2xx, bench_wrapped, bench_nthreads = 0, 0, 0, 0, 0, 1
local reqs = {}
local idx = 0

function init(args)
   local path = args[1] or os.getenv("BENCH_BODIES")
   bench_nthreads = tonumber(args[2] or os.getenv("BENCH_THREADS") or "1")
   if not path then
      io.stderr:write("signed.lua: no pool file (wrk ... -- POOL, or BENCH_BODIES=POOL)\n")
      os.exit(2)
   end
   local me = id or 0
   local i = 0
   local n = 0
   for line in io.lines(path) do
      if i % bench_nthreads == me then
         local tab = line:find("\t", 1, true)
         if not tab then
            io.stderr:write(string.format("signed.lua: %s:%d: no TAB\n", path, i + 1))
            os.exit(2)
         end
         n = n + 1
         reqs[n] = wrk.format("POST", nil, {
            ["Host"] = wrk.headers["Host"],
            ["Content-Type"] = "application/json",
            ["X-Line-Signature"] = line:sub(1, tab - 1),
         }, line:sub(tab + 1))
      end
      i = i + 1
   end
   if n == 0 then
      io.stderr:write("signed.lua: thread " .. me .. " got no bodies from " .. path .. "\n")
      os.exit(2)
   end
   bench_pool = n
end

function request()
   idx = idx + 1
   if idx > bench_pool then
      idx = 1
      bench_wrapped = bench_wrapped + 1
   end
   bench_issued = bench_issued + 1
   return reqs[idx]
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      bench_ok = bench_ok + 1
   else
      bench_non2xx = bench_non2xx + 1
   end
end

function done(summary, latency, requests)
   local t = { issued = 0, ok = 0, non2xx = 0, wrapped = 0, pool = 0 }
   local declared = 1
   for _, th in ipairs(threads) do
      for k in pairs(t) do
         t[k] = t[k] + (th:get("bench_" .. k) or 0)
      end
      declared = th:get("bench_nthreads") or declared
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d responses=%d ok2xx=%d " ..
      "non2xx=%d issued=%d wrapped=%d pool=%d sock_errors=%d threads=%d declared_threads=%d " ..
      "duration_us=%d\n",
      summary.requests / secs, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, summary.requests, t.ok, t.non2xx, t.issued,
      t.wrapped, t.pool, e.connect + e.read + e.write + e.timeout, #threads, declared,
      summary.duration))
end
