-- W3 on isso (the peer): an anonymous reader posts a comment; every request carries a text no
-- other request had. Origin and Referer (the site isso serves) come from the command line (-H);
-- BENCH_RUN names this run.
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
    '{"text": "Comment %s-%d-%d: the council should publish the figures before the vote, ' ..
    'not after it. *Everyone* deserves to see them.", "author": "Bench reader", ' ..
    '"email": null, "website": null}', run, thread_id or 0, counter)
  return wrk.format(nil, nil, nil, body)
end
