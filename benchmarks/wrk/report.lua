-- The figures of one wrk run as one JSON line, for benchmarks/http.py to read.
-- Latencies are in microseconds; "status" counts responses with a status of 400 or more.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
