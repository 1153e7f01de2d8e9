#!/usr/bin/env bash
# contrib/dev/serve.sh - run LedgerFlow on a fresh Debian 12 machine with
# everything it needs: installs packages, starts a private MariaDB and
# Redis under .state/ (loopback, no systemd), builds, applies the
# migrations as the services' privileged login "ledgerflow" ([mysql]
# admin_user), gives the runtime user "ledgerflow_app" exactly what
# `ledgerflowctl grants` prints, creates the API client "demo" (a new key
# on every start: printed, and saved in .state/demo.key), loads the demo
# accounts owned by it and runs `ledgerflowd -f` as ledgerflow_app on port
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
umask 077 # the configuration holds a password, the state a pepper and a key
cat >"$conf" <<CONF
# written by contrib/dev/serve.sh
[server]
listen = 127.0.0.1:8080
workers = auto
pid_file = $state/ledgerflowd.pid
[mysql]
host = 127.0.0.1
port = $(cat "$state/mysql.port")
user = ledgerflow_app
password = ledgerflow_app
admin_user = ledgerflow
admin_password = ledgerflow
database = ledgerflow
[redis]
host = 127.0.0.1
port = $(cat "$state/redis.port")
[auth]
pepper_file = $state/pepper
[paths]
sql_dir = $top/sql
CONF

"$build/ledgerflowctl" -c "$conf" migrate
lf_mysql_runtime_user "$state" ledgerflow_app ledgerflow_app "$build/ledgerflowctl" "$conf"
# the demo client: may read and write its own accounts and pay from them
# (no admin, no funds:issue); a new key on every start
scopes=accounts:read,accounts:write,payments:read,payments:write
if "$build/ledgerflowctl" -c "$conf" client list 2>/dev/null | awk '{print $2}' | grep -qx demo; then
	key=$("$build/ledgerflowctl" -c "$conf" client rotate demo | tail -n 1)
else
	key=$("$build/ledgerflowctl" -c "$conf" client create demo --scopes "$scopes" | tail -n 1)
fi
printf '%s\n' "$key" >"$state/demo.key"
"$build/ledgerflowctl" -c "$conf" seed --owner demo
echo "LedgerFlow: serving on http://${LEDGERFLOW_SERVER_LISTEN:-127.0.0.1:8080} (Ctrl-C to stop)"
echo "demo API key (also in .state/demo.key):"
echo "  export LF_KEY=$key"
"$build/ledgerflowd" -f -c "$conf" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; lf_services_stop "$state"' EXIT INT TERM
wait $daemon
