-- wrk script of bench.embedded: POST /auth/refresh, every request presenting a distinct live
-- refresh token. A refresh token is single-use, so the tokens form a queue (read at start from
-- the file named by the first argument): a request takes the oldest, its answer puts the new
-- token it returns at the back. Every connection thus rotates a chain, and no token is sent
-- twice; a replayed one would measure reuse detection (401, family revoked), not rotation.
-- An empty queue sends a token that cannot refresh, so the run reports failures, never a
-- figure for something else.
local queue, head, tail = {}, 1, 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for line in io.lines(args[1]) do
    if line ~= "" then
      tail = tail + 1
      queue[tail] = line
    end
  end
end

function request()
  local token = "queue-empty"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format(nil, nil, nil, '{"refresh_token": "' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
