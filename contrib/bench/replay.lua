-- contrib/bench/replay.lua - wrk script: POST /api/payments again with one
-- of KEYS already decided Idempotency-Keys, picked at random, each with
-- exactly the request it was first decided with, so every answer is a
-- replay (201, Idempotent-Replayed: true) and no money moves. Arguments
-- (after --): KEYS ACCOUNTS TAG. Key i (1..KEYS) is "<TAG>-<i>" and pays
-- 1.00 USD from account i to account i % ACCOUNTS + 1; run.sh decides each
-- of them once with curl, with the same key and body, before the runs.
-- Ends with the BENCH line of get.lua.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("bench_tid", #threads)
end

local requests_by_key = {}
local nkeys = 64

function init(args)
   nkeys = tonumber(args[1]) or 64
   local naccounts = tonumber(args[2]) or 1000
   local tag = args[3] or "replay"
   math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
   for i = 1, nkeys do
      local body = string.format(
         '{"fromAccountId":"b0000000-0000-4000-8000-%012d",' ..
         '"toAccountId":"b0000000-0000-4000-8000-%012d","amount":"1.00","currency":"USD"}',
         i, i % naccounts + 1)
      local headers = { ["Content-Type"] = "application/json",
                        ["Idempotency-Key"] = string.format("%s-%d", tag, i) }
      requests_by_key[i] = wrk.format("POST", "/api/payments", headers, body)
   end
end

function request()
   return requests_by_key[math.random(nkeys)]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d" ..
      " connect=%d read=%d write=%d status=%d timeout=%d\n",
      summary.requests, summary.duration,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
      math.floor(latency:percentile(99)), math.floor(latency.max),
      e.connect, e.read, e.write, e.status, e.timeout))
end
