-- wrk script of scripts/soak: cycles through the request paths listed (one a line) in the file
-- named by the environment variable SOAK_PATHS, each thread from its own offset, and counts the
-- answers by status. With SOAK_CLOSE=1 every request asks for Connection: close.
local paths = {}
for line in io.lines(os.getenv("SOAK_PATHS")) do
  paths[#paths + 1] = line
end
local close = os.getenv("SOAK_CLOSE") == "1"
local threads = {}
local n = 0

function setup(thread)
  n = n + 1
  thread:set("offset", n * 7919)
  table.insert(threads, thread)
end

function init(args)
  i = offset
  codes = {}
end

function request()
  i = i + 1
  local headers = nil
  if close then
    headers = { ["Connection"] = "close" }
  end
  return wrk.format("GET", paths[(i % #paths) + 1], headers)
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("codes")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local line = "statuses:"
  for status, count in pairs(total) do
    line = line .. " " .. status .. "=" .. count
  end
  print(line)
  local e = summary.errors
  print(string.format("socket errors: connect=%d read=%d write=%d timeout=%d status=%d",
    e.connect, e.read, e.write, e.timeout, e.status))
end
