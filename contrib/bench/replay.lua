-- contrib/bench/replay.lua - wrk script: POST /api/payments again with one
-- of KEYS already decided Idempotency-Keys, picked at random, each with
-- exactly the request it was first decided with, so every answer is a
-- replay (201, Idempotent-Replayed: true) and no money moves. Arguments
-- (after --): KEYS ACCOUNTS TAG. Key i (1..KEYS) is "<TAG>-<i>" and pays
-- 1.00 USD from account i to account i % ACCOUNTS + 1; run.sh decides each
-- of them once with curl, with the same key and body, before the runs.
-- Ends with the BENCH line of common.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests_by_key = {}
local nkeys = 64

function init(args)
   nkeys = tonumber(args[1]) or 64
   local naccounts = tonumber(args[2]) or 1000
   local tag = args[3] or "replay"
   math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
   for i = 1, nkeys do
      local body = string.format(
         '{"fromAccountId":"%s","toAccountId":"%s","amount":"1.00","currency":"USD"}',
         bench_account(i), bench_account(i % naccounts + 1))
      local headers = { ["Content-Type"] = "application/json", ["Authorization"] = bench_auth,
                        ["Idempotency-Key"] = string.format("%s-%d", tag, i) }
      requests_by_key[i] = wrk.format("POST", "/api/payments", headers, body)
   end
end

function request()
   return requests_by_key[math.random(nkeys)]
end
