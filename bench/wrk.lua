-- wrk script of the bench: one fixed POST (body, auth and stream-control headers from the
-- environment, so wrk builds the request once), and a JSON summary line for the runner.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_AUTH") or "bench")
local chunks = os.getenv("BENCH_CHUNKS") or ""
if chunks ~= "" then wrk.headers["x-demo-chunks"] = chunks end
local delay = os.getenv("BENCH_DELAY_MS") or ""
if delay ~= "" then wrk.headers["x-demo-chunk-delay-ms"] = delay end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
