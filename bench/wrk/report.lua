-- Shared by the Backbeat wrk scripts: per-thread ids (setup) and a JSON summary (done).
-- Loaded with dofile() from each script, so it runs in every thread's Lua state.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  local exhausted = 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("exhausted") or 0)
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"status_errors": %d, "timeouts": %d, "exhausted": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, exhausted,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end

-- Lines of a tab-separated file as arrays of fields.
function read_tsv(path)
  local rows = {}
  for line in io.lines(path) do
    if #line > 0 then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do
        table.insert(fields, field)
      end
      table.insert(rows, fields)
    end
  end
  return rows
end

function seed_random()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end
