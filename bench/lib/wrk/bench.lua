-- wrk script of the bench harness; bench/lib/wrk.mjs runs it and reads what done() prints.
--
--   wrk ... -s bench.lua <url> -- upload <template file>
--       POSTs one prebuilt multipart upload again and again. The template (bench/lib/wrk.mjs
--       builds it) is a complete HTTP request whose file name holds one run of '#': every request
--       gets that run replaced by its own zero-padded counter, so each upload has a unique file
--       name while the length, and so Content-Length, never changes.
--   wrk ... -s bench.lua <url> -- paths <file>
--       GETs the paths listed in the file (one a line) in turn, each request prebuilt once.
--
-- done() prints one line, "WRK_RESULT <json>": counts, wrk's own latency percentiles (µs) and
-- the CPU this wrk process used (utime and stime clock ticks from /proc/self/stat, all threads).

-- Why the counter is written into the template in place (LuaJIT FFI) instead of concatenating
-- head .. counter .. rest: a new Lua string per request costs a fresh allocation of the whole
-- request, and above 128 KiB LuaJIT maps fresh pages for each one. On a 2-core VM that made wrk
-- spend ~5 ms of CPU per 1 MiB upload (half a core), against ~0.5 ms this way. wrk copies the
-- returned string into its own buffer before request() is called again, so changing the bytes
-- of the one string between calls is safe; nothing else reads or hashes it afterwards.
local has_ffi, ffi = pcall(require, "ffi")

local template, field, counter_format, counter
local requests, request_count, next_index = nil, 0, 1

-- Threads get disjoint counter ranges, so names stay unique with -t > 1 as well.
local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

function init(args)
  local mode, path = args[1], args[2]
  if mode == "upload" then
    template = read_file(path)
    local first, last = template:find("#+")
    assert(first, "the template has no '#' counter field")
    local width = last - first + 1
    counter_format = "%0" .. width .. ".0f"
    counter = (thread_index or 0) * 10 ^ (width - 1)
    if has_ffi then
      field = ffi.cast("char *", template) + (first - 1)
    else -- plain Lua (wrk built without LuaJIT): correct, only dearer for large bodies
      field = { template:sub(1, first - 1), template:sub(last + 1) }
    end
  elseif mode == "paths" then
    requests = {}
    for line in read_file(path):gmatch("[^\n]+") do
      requests[#requests + 1] = wrk.format("GET", line)
    end
    request_count = #requests
    assert(request_count > 0, "no paths in " .. path)
  else
    error("usage: -- upload <template> | -- paths <file>")
  end
end

function request()
  if requests then
    local r = requests[next_index]
    next_index = next_index % request_count + 1
    return r
  end
  counter = counter + 1
  local digits = string.format(counter_format, counter)
  if has_ffi then
    ffi.copy(field, digits, #digits)
    return template
  end
  return field[1] .. digits .. field[2]
end

function done(summary, latency, _)
  local stat = read_file("/proc/self/stat")
  -- Fields after the parenthesised command name; utime and stime are fields 14 and 15 of proc(5).
  local fields = {}
  for word in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = word end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"durationUs":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latencyUs":{"min":%.0f,"mean":%.1f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f},' ..
    '"cpuTicks":{"user":%s,"system":%s},"ffi":%s}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    fields[12], fields[13], tostring(has_ffi)))
end
