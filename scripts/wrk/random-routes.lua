-- random-routes.lua: each request asks for a random one of the routes the
-- bench suite generates for sluice.routes (/svc<i%1000>/api/v1/res<i>/*,
-- i = 1 … N-1). N is the script argument: wrk -s random-routes.lua URL -- 100000
-- The sequence is seeded per thread, so runs ask for the same paths.
local n = 100000

function init(args)
  if args[1] then n = tonumber(args[1]) end
  math.randomseed(42)
end

function request()
  local i = math.random(1, n - 1)
  return wrk.format(nil, string.format("/svc%d/api/v1/res%d/item", i % 1000, i))
end
