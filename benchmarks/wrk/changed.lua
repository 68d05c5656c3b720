-- "W1 after a change": every read of the thread follows a change to it. Requests alternate: a
-- like (or, the next time round, an unlike) of one of the thread's comments by the signed-in
-- benchmark reader, then an anonymous read of the page; the comments are taken in turn, so the
-- changes fall in every thread of the page. BENCH_TOKEN is the reader's session token and
-- BENCH_COMMENTS the comments' ids, comma-separated (set by benchmarks/http.py).
require "report"

local token = os.getenv("BENCH_TOKEN")
local ids = {}
for id in string.gmatch(os.getenv("BENCH_COMMENTS") or "", "%d+") do
  ids[#ids + 1] = id
end
local counter = 0

function request()
  counter = counter + 1
  if counter % 2 == 0 then
    return wrk.format("GET", nil, {})
  end
  local n = (counter - 1) / 2  -- the n-th change: like each comment once, then unlike each
  local id = ids[n % #ids + 1]
  local method = (math.floor(n / #ids) % 2 == 0) and "POST" or "DELETE"
  return wrk.format(method, "/api/v1/comments/" .. id .. "/like/", {["X-Session-Token"] = token})
end
