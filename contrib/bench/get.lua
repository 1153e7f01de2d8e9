-- contrib/bench/get.lua - wrk script for a plain GET of the URL given to
-- wrk (run.sh uses it for GET /healthz on bare_evhttp and ledgerflowd).
-- It only adds the machine-readable result line that run.sh parses:
--   BENCH requests=N duration_us=N p50_us=N p90_us=N p99_us=N max_us=N
--         connect=N read=N write=N status=N timeout=N
-- (status counts responses >= 400; latencies in microseconds).

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
