-- wrk script: `-- write` or `-- read`, over 1000 keys; each write carries a fresh value.
local counter = 0
local mode = "read"
local tid = 0
setup = function(thread)
  tid = tid + 1
  thread:set("tid", tid)
end
init = function(args)
  mode = args[1] or "read"
end
request = function()
  counter = counter + 1
  local key = "bench-" .. (counter % 1000)
  if mode == "write" then
    return wrk.format("POST", "/write/" .. key .. "/t" .. tostring(tid) .. "-" .. counter)
  end
  return wrk.format("GET", "/read/" .. key)
end
