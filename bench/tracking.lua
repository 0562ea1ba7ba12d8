-- wrk script for bench/tracking.py: cycles through the planned hits in the file named by its
-- argument, one "kind<TAB>path<TAB>User-Agent" a line, each request built once in init(), and
-- counts the hits it sent by kind and the answers by status. done() prints the figures as
-- "name value" lines, which tracking.py reads. Meant for one wrk thread (--threads 1).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   requests, kinds, next_hit = {}, {}, 0
   sent, answers = { open = 0, click = 0 }, {}
   for line in io.lines(args[1]) do
      local kind, path, agent = line:match("^(%a+)\t([^\t]+)\t(.*)$")
      table.insert(kinds, kind)
      table.insert(requests, wrk.format("GET", path, { ["User-Agent"] = agent }))
   end
end

function request()
   next_hit = next_hit % #requests + 1
   local kind = kinds[next_hit]
   sent[kind] = sent[kind] + 1
   return requests[next_hit]
end

function response(status)
   answers[status] = (answers[status] or 0) + 1
end

function done(summary, latency)
   print("duration_us " .. summary.duration)
   print("completed " .. summary.requests)
   for name, count in pairs(summary.errors) do
      print("error_" .. name .. " " .. count)
   end
   for _, share in ipairs({ 50, 90, 99 }) do
      print("p" .. share .. "_us " .. latency:percentile(share))
   end
   print("max_us " .. latency.max)
   for _, thread in ipairs(threads) do
      for kind, count in pairs(thread:get("sent")) do
         print("sent_" .. kind .. " " .. count)
      end
      for status, count in pairs(thread:get("answers")) do
         print("answer_" .. status .. " " .. count)
      end
   end
end
