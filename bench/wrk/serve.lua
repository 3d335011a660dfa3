-- Ad decisions: GET /serve?p=<placement>&u=<page on that placement's site>, as the ad tag
-- sends them, with a browser User-Agent and a CDN country header.
-- wrk ... -s serve.lua -- placements.tsv uas.txt
dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "report.lua")

local paths, uas = {}, {}
local countries = {"US", "GB", "DE", "FR", "CA", "AU", "BR", "MX", "SE", "NL", "JP", "ES"}

function init(args)
  seed_random()
  for _, row in ipairs(read_tsv(args[1])) do
    table.insert(paths, "/serve?p=" .. row[1] .. "&u=" .. row[2])
  end
  for _, row in ipairs(read_tsv(args[2])) do
    table.insert(uas, row[1])
  end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], {
    ["User-Agent"] = uas[math.random(#uas)],
    ["CF-IPCountry"] = countries[math.random(#countries)],
    ["Accept"] = "*/*",
    ["Accept-Language"] = "en-US,en;q=0.9",
  })
end
