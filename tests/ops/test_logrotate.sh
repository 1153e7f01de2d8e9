#!/bin/sh
# tests/ops/test_logrotate.sh - etc/logrotate.d/ledgerflow against a real
# ledgerflowd: the snippet parses (logrotate -d) and never copies and
# truncates; with its paths moved to a temporary directory, a forced
# rotation renames the log, its postrotate sends SIGUSR1 to the master
# named in the pid file, the master and the workers reopen the path (the
# master's logs_reopened and a worker's access line land in the new file,
# not the rotated one), and a second rotation compresses the first.
# Needs logrotate (exit 77, skipped, without it) and no database: the
# daemon serves /healthz with MariaDB and Redis unreachable.
set -eu

src=${LF_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${LF_BUILDDIR:-$src}
snippet=$src/etc/logrotate.d/ledgerflow
logrotate=$(command -v logrotate || echo /usr/sbin/logrotate)
[ -x "$logrotate" ] || { echo "SKIP: logrotate is not installed"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed"; exit 77; }

fail() {
	echo "FAIL: $*"
	[ -z "${tmp:-}" ] || { ls -l "$tmp/log" 2>/dev/null; tail -5 "$tmp/log/"* 2>/dev/null; }
	exit 1
}

# 1. the snippet as installed: no copytruncate, and logrotate parses it
if grep -v '^[[:space:]]*#' "$snippet" | grep -qw copytruncate; then
	fail "the snippet uses copytruncate"
fi
grep -v '^[[:space:]]*#' "$snippet" | grep -q 'kill -USR1' || fail "no SIGUSR1 in postrotate"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lf-logrotate.XXXXXX")
pid=
cleanup() {
	[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"$logrotate" -d -s "$tmp/state.d" "$snippet" >"$tmp/debug.out" 2>&1 ||
	{ cat "$tmp/debug.out"; fail "logrotate -d rejects the snippet"; }
if grep -qi '^error' "$tmp/debug.out"; then
	cat "$tmp/debug.out"
	fail "logrotate -d reports an error"
fi

# 2. the same snippet with its paths in $tmp, against a running daemon
mkdir -m 0750 "$tmp/log"
sed -e "s#/var/log/ledgerflow#$tmp/log#g" -e "s#/run/ledgerflow/ledgerflowd.pid#$tmp/lfd.pid#g" \
	"$snippet" >"$tmp/logrotate.conf"
chmod 0644 "$tmp/logrotate.conf"
log=$tmp/log/ledgerflowd.log
port=$((20000 + $$ % 20000))
tries=0
while :; do
	cat >"$tmp/ledgerflow.conf" <<EOF
[server]
listen = 127.0.0.1:$port
workers = 2
pid_file = $tmp/lfd.pid
log_file = $log
access_log = on
[mysql]
host = 127.0.0.1
port = 1
[redis]
host = 127.0.0.1
port = 1
[cache]
size = 1M
[auth]
pepper_file = $tmp/pepper
ops_public = on
EOF
	"$build/ledgerflowd" -f -c "$tmp/ledgerflow.conf" 2>"$tmp/stderr" &
	pid=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q 'msg=started' "$log" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q 'msg=started' "$log" 2>/dev/null && break
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
	tries=$((tries + 1))
	[ $tries -lt 5 ] || { cat "$tmp/stderr"; fail "ledgerflowd did not start"; }
	port=$((port + 7))
done

hit() { curl -s -o /dev/null -w '%{http_code}' -H "X-Request-Id: $1" "http://127.0.0.1:$port/healthz"; }
# the access line of request $1 is in file $2 (waits up to 5 s)
logged() {
	i=0
	while [ $i -lt 50 ]; do
		grep -q "request_id=$1" "$2" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

[ "$(hit before-rotation)" = 200 ] || fail "/healthz did not answer 200"
logged before-rotation "$log" || fail "no access line before the rotation"

"$logrotate" -f -s "$tmp/state" "$tmp/logrotate.conf" || fail "logrotate -f failed"
[ -f "$log.1" ] || fail "the log was not renamed to .1"
grep -q 'request_id=before-rotation' "$log.1" || fail "the old lines are not in .1"
i=0
while [ $i -lt 50 ] && ! grep -q 'msg=logs_reopened' "$log" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
grep -q 'msg=logs_reopened' "$log" || fail "the master did not reopen the log (SIGUSR1)"
# every worker reopened too: with two workers, send requests until both
# have answered (each access line names its pid), and every line is new
n=0
while [ $n -lt 40 ]; do
	hit "after-$n" >/dev/null
	n=$((n + 1))
done
logged after-39 "$log" || fail "no access line in the new log after the rotation"
workers=$(grep 'role=worker msg=access' "$log" | sed -n 's/.* pid=\([0-9]*\) .*/\1/p' | sort -u | wc -l)
[ "$workers" -ge 2 ] || echo "note: only $workers worker answered after the rotation"
if grep -q 'request_id=after-' "$log.1"; then
	fail "a worker kept writing to the rotated file"
fi

# 3. the next rotation compresses the previous one (delaycompress)
"$logrotate" -f -s "$tmp/state" "$tmp/logrotate.conf" || fail "the second logrotate -f failed"
[ -f "$log.2.gz" ] || fail "the first rotated log was not compressed at the second rotation"
[ -f "$log.1" ] || fail "no .1 after the second rotation"
gzip -dc "$log.2.gz" | grep -q 'request_id=before-rotation' || fail ".2.gz lost its lines"

kill -TERM "$pid"
wait "$pid" || fail "ledgerflowd did not exit 0 on SIGTERM"
pid=
echo "PASS: logrotate -d clean; rotation renamed, SIGUSR1 reopened the master and the workers ($workers answered), delaycompress compressed the previous file"
