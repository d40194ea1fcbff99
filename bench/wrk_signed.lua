-- wrk script for the benchmarks (bench/harness.py run_wrk): POSTs pre-signed Standard
-- Webhooks requests.
--   wrk -t2 -c32 -d10s -s bench/wrk_signed.lua URL -- PATH REQUESTS_FILE THREADS OUT_JSON [IDS_OUT]
-- REQUESTS_FILE: one request a line, "webhook-id \t webhook-timestamp \t signature \t body".
-- Each thread takes every THREADS-th line, so no two threads send the same webhook-id.
-- IDS_OUT, if given, receives the delivery id of every 2xx answer (read from the gateway's
-- JSON ack body), one a line: the acknowledged deliveries, to check against Temporal.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, file, nthreads = args[1], args[2], tonumber(args[3])
  out = args[4]
  ids_out = args[5]
  record = ids_out ~= nil
  requests = {}
  acked = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = id,
        ["webhook-timestamp"] = ts,
        ["webhook-signature"] = sig,
      }, body)
    end
    i = i + 1
  end
  count = #requests
  sent = 0
end

function request()
  sent = sent + 1
  return requests[((sent - 1) % #requests) + 1]
end

function response(status, headers, body)
  if record and status >= 200 and status < 300 then
    local id = body:match('"delivery_id"%s*:%s*"([^"]+)"')
    if id then
      acked[#acked + 1] = id
    end
  end
end

function done(summary, latency, requests_)
  local sent_total, available = 0, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    available = available + thread:get("count")
  end
  local e = summary.errors
  local f = io.open(threads[1]:get("out"), "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "sent": %d, "available": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes, sent_total, available,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  f:close()
  local path = threads[1]:get("ids_out")
  if path then
    local ids = io.open(path, "w")
    for _, thread in ipairs(threads) do
      local mine = thread:get("acked")
      if #mine > 0 then
        ids:write(table.concat(mine, "\n"), "\n")
      end
    end
    ids:close()
  end
end
