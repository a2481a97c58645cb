-- wrk script: `-- write [keys]` or `-- read [keys]`, over 1000 keys by default; each write carries a fresh value.
local counter = 0
local mode = "read"
local tid = 0
local keys = 1000
setup = function(thread)
  tid = tid + 1
  thread:set("tid", tid)
end
init = function(args)
  mode = args[1] or "read"
  keys = tonumber(args[2] or "1000")
end
request = function()
  counter = counter + 1
  local key = "bench-" .. (counter % keys)
  if mode == "write" then
    return wrk.format("POST", "/write/" .. key .. "/t" .. tostring(tid) .. "-" .. counter)
  end
  return wrk.format("GET", "/read/" .. key)
end
