-- wrk script of bench.embedded: POST /auth/login, the bench account's credentials (the JSON
-- body is the first argument). Every refresh token a login returns is appended to the file
-- named by the second argument: the refresh run starts from these live, unused tokens.
local out

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = args[1]
  out = assert(io.open(args[2], "a"))
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      out:write(token, "\n")
      out:flush()
    end
  end
end
