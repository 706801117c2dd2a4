-- wrk script: POST distinct claim bundles (one per line of a file) to Claim/$submit.
-- Usage: wrk -t THREADS -s submit.lua URL -- BUNDLES.ndjson TOKEN THREADS
-- Each wrk thread walks its own stride of the file so no bundle is sent twice; the summary
-- counts 201 (stored) answers separately from everything else.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  token = args[2]
  stride = tonumber(args[3])
  cursor = id
  created, other = 0, 0
end

function request()
  local body = bodies[(cursor % #bodies) + 1]
  cursor = cursor + stride
  return wrk.format("POST", "/fhir/Claim/$submit", {
    ["Content-Type"] = "application/fhir+json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    o = o + thread:get("other")
  end
  io.write(string.format("CREATED %d OTHER %d SECONDS %.3f\n", c, o, summary.duration / 1e6))
end
