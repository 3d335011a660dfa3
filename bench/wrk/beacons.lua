-- Impression beacons as the ad tag sends them (navigator.sendBeacon: an empty POST to the
-- impression link plus ?u=<page URL>). Walks a list of distinct links (each a first
-- impression), sending each with the User-Agent of the browser its ad was served to. Thread k of n
-- takes every n-th line, so no link is sent twice; a thread that runs out wraps around
-- and counts it in "exhausted" (those repeats are duplicates, stored as invalid).
-- wrk ... -s beacons.lua -- beacons.tsv <wrk threads>
dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "report.lua")

local links = {}
local pos = 0
exhausted = 0

function init(args)
  local n = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == tid - 1 then
      local path, ua = line:match("([^\t]+)\t(.+)")
      table.insert(links, wrk.format("POST", path, {
        ["User-Agent"] = ua,
        ["Accept"] = "*/*",
      }, ""))
    end
    i = i + 1
  end
end

function request()
  pos = pos + 1
  if pos > #links then
    pos = 1
    exhausted = exhausted + 1
  end
  return links[pos]
end
