-- contrib/bench/get.lua - wrk script for a plain GET of the URL given to
-- wrk (run.sh uses it for GET /healthz on bare_evhttp and ledgerflowd).
-- It only adds the BENCH result line of common.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
