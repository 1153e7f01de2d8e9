-- contrib/bench/common.lua - what every wrk script of the benchmark shares,
-- loaded by each of them with dofile() from its own directory:
--   setup()   numbers the threads (bench_tid, for seeds and unique keys)
--   done()    prints the machine-readable line run.sh parses:
--     BENCH requests=N duration_us=N p50_us=N p90_us=N p99_us=N max_us=N
--           connect=N read=N write=N status=N timeout=N
--     (status counts responses >= 400; latencies in microseconds)
--   bench_account(i)  the id run.sh gives benchmark account i (1..N)
--   bench_auth        the Authorization value (LF_BENCH_KEY, set by run.sh),
--                     also in wrk.headers for scripts that use the defaults

bench_auth = "Bearer " .. (os.getenv("LF_BENCH_KEY") or "")
wrk.headers["Authorization"] = bench_auth

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("bench_tid", #threads)
end

function bench_account(i)
   return string.format("b0000000-0000-4000-8000-%012d", i)
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
