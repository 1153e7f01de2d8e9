-- contrib/bench/payments.lua - wrk script: POST /api/payments, each with a
-- new Idempotency-Key ("<TAG>-<thread>-<counter>"), between two random
-- distinct benchmark accounts, for a random 0.01..0.99 USD. Arguments
-- (after --): ACCOUNTS TAG. Account i (1..ACCOUNTS) has the id
-- b0000000-0000-4000-8000-<i as 12 digits>, as run.sh creates them.
-- Every request should be decided fresh (201); ends with the BENCH line
-- of get.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local naccounts = 1000
local tag = "pay"
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = bench_auth }

function init(args)
   naccounts = tonumber(args[1]) or 1000
   tag = args[2] or "pay"
   math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
end

function request()
   counter = counter + 1
   local a = math.random(naccounts)
   local b = math.random(naccounts - 1)
   if b >= a then b = b + 1 end
   local body = string.format(
      '{"fromAccountId":"%s","toAccountId":"%s","amount":"0.%02d","currency":"USD"}',
      bench_account(a), bench_account(b), math.random(1, 99))
   headers["Idempotency-Key"] = string.format("%s-%d-%d", tag, bench_tid or 0, counter)
   return wrk.format("POST", "/api/payments", headers, body)
end
