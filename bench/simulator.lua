-- wrk script for bench/simulator.py: rotates through pre-built datacube requests (every
-- endpoint, hourly ones included, many accounts/dates) on keep-alive connections, and counts
-- answers that are not a datacube success (HTTP != 200 or an errcode body).
-- Usage: wrk -t1 -c32 -d10s -s bench/simulator.lua http://127.0.0.1:PORT -- REQUESTS_FILE
-- REQUESTS_FILE: one request per line, "<path with ?access_token=...>\t<json body>".

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local path, body = line:match("^([^\t]+)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
  end
  index = offset % #requests
  errors = 0
  bytes = 0
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  bytes = bytes + #body
  if status ~= 200 or body:find('"errcode"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local errs, body_bytes = 0, 0
  for _, thread in ipairs(threads) do
    errs = errs + thread:get("errors")
    body_bytes = body_bytes + thread:get("bytes")
  end
  io.write(string.format("BENCH errors=%d body_bytes=%d\n", errs, body_bytes))
end
