-- Baselines: GET one fixed path (nginx's static pixel, the bare Starlette 204 endpoint)
-- with the same browser headers the beacon run sends.
-- wrk ... -s static.lua -- /path
dofile(debug.getinfo(1, "S").source:match("@?(.*/)") .. "report.lua")

local req

function init(args)
  req = wrk.format("GET", args[1], {
    ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      .. "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    ["Accept"] = "image/avif,image/webp,*/*",
  })
end

function request()
  return req
end
