-- contrib/bench/payments.lua - wrk script: POST /api/payments, each with a
-- new Idempotency-Key ("<TAG>-<thread>-<counter>"), for a random
-- 0.01..0.99 USD. Arguments (after --): ACCOUNTS TAG [FROM]. Without FROM,
-- between two random distinct benchmark accounts of 1..ACCOUNTS (uniform);
-- with FROM (an account number), every payment is from that one account to
-- a random other of 1..ACCOUNTS (hot sender). Account i has the id
-- b0000000-0000-4000-8000-<i as 12 digits>, as run.sh creates them.
-- Every request should be decided fresh (201); ends with the BENCH line
-- of common.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local naccounts = 1000
local tag = "pay"
local from = nil
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = bench_auth }

function init(args)
   naccounts = tonumber(args[1]) or 1000
   tag = args[2] or "pay"
   from = tonumber(args[3])
   math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
end

function request()
   counter = counter + 1
   local a, b
   if from then
      a = from
      repeat b = math.random(naccounts) until b ~= a
   else
      a = math.random(naccounts)
      b = math.random(naccounts - 1)
      if b >= a then b = b + 1 end
   end
   local body = string.format(
      '{"fromAccountId":"%s","toAccountId":"%s","amount":"0.%02d","currency":"USD"}',
      bench_account(a), bench_account(b), math.random(1, 99))
   headers["Idempotency-Key"] = string.format("%s-%d-%d", tag, bench_tid or 0, counter)
   return wrk.format("POST", "/api/payments", headers, body)
end
