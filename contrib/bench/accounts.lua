-- contrib/bench/accounts.lua - wrk script: GET /api/accounts/{id} of a
-- random benchmark account. Arguments (after --): ACCOUNTS. Account i
-- (1..ACCOUNTS) has the id b0000000-0000-4000-8000-<i as 12 digits>, as
-- run.sh creates them. Ends with the BENCH line of get.lua.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("bench_tid", #threads)
end

local naccounts = 1000

function init(args)
   naccounts = tonumber(args[1]) or 1000
   math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
end

function request()
   local i = math.random(naccounts)
   return wrk.format("GET", string.format("/api/accounts/b0000000-0000-4000-8000-%012d", i))
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
