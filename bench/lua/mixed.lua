-- wrk script of bench.fleet: verify-heavy traffic, 90% GET /auth/claims (verification), 8%
-- POST /auth/refresh (a rotation: one database write), 2% POST /auth/login (one argon2 run).
-- Refresh tokens are single-use, so they form a queue (read at start from the file named by
-- the first argument, one "ACCESS REFRESH" pair a line): a refresh takes the oldest, and
-- every answer that carries tokens puts its refresh token at the back and its access token in
-- use. An empty queue sends a token that cannot refresh, so the run reports failures rather
-- than a figure for something else. The second argument is the login body.
local queue, head, tail = {}, 1, 0
local access, credentials = "", ""
local sent = 0

function init(args)
  for line in io.lines(args[1]) do
    local a, r = line:match("^(%S+) (%S+)$")
    if a then
      access = a
      tail = tail + 1
      queue[tail] = r
    end
  end
  credentials = args[2]
end

function request()
  sent = sent + 1
  local slot = sent % 50
  if slot < 45 then
    return wrk.format("GET", "/auth/claims", {["Authorization"] = "Bearer " .. access}, nil)
  end
  local json = {["Content-Type"] = "application/json"}
  if slot < 49 then
    local token = "queue-empty"
    if head <= tail then
      token = queue[head]
      queue[head] = nil
      head = head + 1
    end
    return wrk.format("POST", "/auth/refresh", json, '{"refresh_token": "' .. token .. '"}')
  end
  return wrk.format("POST", "/auth/login", json, credentials)
end

function response(status, headers, body)
  if status == 200 then
    local r = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if r then
      tail = tail + 1
      queue[tail] = r
    end
    local a = body:match('"access_token"%s*:%s*"([^"]+)"')
    if a then
      access = a
    end
  end
end
