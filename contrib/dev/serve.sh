#!/usr/bin/env bash
# contrib/dev/serve.sh - run LedgerFlow on a fresh Debian 12 machine with
# everything it needs: installs packages, starts a private MariaDB and
# Redis under .state/ (loopback, no systemd), builds, applies the
# migrations, loads the demo accounts and runs `ledgerflowd -f` on port
# 8080 (LEDGERFLOW_SERVER_LISTEN overrides). Ctrl-C stops everything.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=contrib/dev/services.sh
. "$top/contrib/dev/services.sh"

state="$top/.state"
mkdir -p "$state"
lf_install_packages
lf_services_start "$state" "$(cat "$state/mysql.port" 2>/dev/null || lf_free_port 33306)" \
	"$(cat "$state/redis.port" 2>/dev/null || lf_free_port 36379)"
trap 'lf_services_stop "$state"' EXIT

build="$top/build/serve"
mkdir -p "$build"
(cd "$top" && autoreconf -fi >/dev/null 2>&1)
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && "$top/configure" >configure.out 2>&1) || { cat "$build/configure.out"; exit 1; }
fi
make -C "$build" -j"$(nproc)" >"$build/make.out" 2>&1 || { tail -40 "$build/make.out"; exit 1; }

conf="$state/ledgerflow.conf"
cat >"$conf" <<CONF
# written by contrib/dev/serve.sh
[server]
listen = 127.0.0.1:8080
workers = auto
pid_file = $state/ledgerflowd.pid
[mysql]
host = 127.0.0.1
port = $(cat "$state/mysql.port")
user = ledgerflow
password = ledgerflow
database = ledgerflow
[redis]
host = 127.0.0.1
port = $(cat "$state/redis.port")
[paths]
sql_dir = $top/sql
CONF

"$build/ledgerflowctl" -c "$conf" migrate
"$build/ledgerflowctl" -c "$conf" seed
echo "LedgerFlow: serving on http://${LEDGERFLOW_SERVER_LISTEN:-127.0.0.1:8080} (Ctrl-C to stop)"
"$build/ledgerflowd" -f -c "$conf" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; lf_services_stop "$state"' EXIT INT TERM
wait $daemon
