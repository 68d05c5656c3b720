-- W3: a signed-in reader posts a comment; every request carries a body no other request had.
-- The X-Session-Token header comes from the command line (-H); BENCH_RUN names this run.
require "report"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local run = os.getenv("BENCH_RUN") or tostring(os.time())
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"body": "Comment %s-%d-%d: the council should publish the figures before the vote, ' ..
    'not after it. <em>Everyone</em> deserves to see them."}', run, thread_id or 0, counter)
  return wrk.format(nil, nil, nil, body)
end
