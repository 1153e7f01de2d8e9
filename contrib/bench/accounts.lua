-- contrib/bench/accounts.lua - wrk script: GET /api/accounts/{id} of a
-- random benchmark account. Arguments (after --): ACCOUNTS. Account i
-- (1..ACCOUNTS) has the id b0000000-0000-4000-8000-<i as 12 digits>, as
-- run.sh creates them. Ends with the BENCH line of common.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local naccounts = 1000

function init(args)
   naccounts = tonumber(args[1]) or 1000
   math.randomseed(os.time() * 1000 + (bench_tid or 0) * 7919)
end

function request()
   local i = math.random(naccounts)
   return wrk.format("GET", "/api/accounts/" .. bench_account(i))
end
