#!/usr/bin/env bash
# contrib/bench/run.sh - LedgerFlow's benchmark in one command. Installs
# what it needs (wrk too), starts a private MariaDB and Redis on free
# loopback ports in a temporary state directory, builds a release-style
# ledgerflowd (-O2, jemalloc, no sanitizers) in build/bench, creates the
# benchmark accounts, and measures each figure next to its baseline in the
# same run, so that the RATIOS mean something on a small shared machine:
#   a. bare evhttp GET /healthz (contrib/bench/bare_evhttp.c)   HTTP reference
#   b. ledgerflowd GET /healthz                                  / a
#   c. raw CALL lf_transfer, 16 connections (raw_db.c)           DB reference
#   d. ledgerflowd POST /api/payments, unique keys               / c
#   e. ledgerflowd POST /api/payments replays (shared-memory tier)
#   f. ledgerflowd GET /api/accounts/{id}
#   g. RSS of the master and each lf-worker
# The steps run in ROUNDS short rounds (a b c d e f, a b c d e f, ...), so a
# baseline and its subject are always measured seconds apart and a burst of
# load from elsewhere hits both; a ratio is the median of the per-round
# ratios. Then `ledgerflowctl reconcile` (must exit 0) and a markdown summary
# on stdout and in build/bench/results.md. Everything is stopped on exit.
#   contrib/bench/run.sh [--quick]
# Full: 5 rounds of 2 s per step (10 s a step); --quick: 3 rounds of 1 s;
# both after a 1 s warm-up round that is not counted.
# Environment: LF_BENCH_ROUNDS, LF_BENCH_DURATION (s per run),
# LF_BENCH_ACCOUNTS (1000), LF_BENCH_CONNECTIONS (64), LF_BENCH_RAW_THREADS
# (16), LF_BENCH_ACCESS_LOG (off).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bench="$top/contrib/bench"
# shellcheck source=contrib/dev/services.sh
. "$top/contrib/dev/services.sh"

usage() { echo "usage: $0 [--quick]" >&2; exit 2; }
quick=no
for arg in "$@"; do
	case "$arg" in
	--quick) quick=yes ;;
	-h | --help) usage ;;
	*) echo "unknown argument: $arg" >&2; usage ;;
	esac
done

if [ "$quick" = yes ]; then
	rounds=${LF_BENCH_ROUNDS:-3} duration=${LF_BENCH_DURATION:-1}
else
	rounds=${LF_BENCH_ROUNDS:-5} duration=${LF_BENCH_DURATION:-2}
fi
accounts=${LF_BENCH_ACCOUNTS:-1000}
wrk_threads=2
connections=${LF_BENCH_CONNECTIONS:-64}
raw_threads=${LF_BENCH_RAW_THREADS:-16}
access_log=${LF_BENCH_ACCESS_LOG:-off}
workers=2
pool_size=8
replay_keys=64
initial_cents=100000000 # 1,000,000.00 USD per account: no payment is declined
steps=(a b c d e f)
for v in rounds duration accounts connections raw_threads; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
[ "$accounts" -ge "$replay_keys" ] || { echo "LF_BENCH_ACCOUNTS must be at least $replay_keys" >&2; exit 2; }
case "$access_log" in on | off) ;; *) echo "LF_BENCH_ACCESS_LOG must be on or off" >&2; exit 2 ;; esac

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# a port that looks free, from a random base (fewer races with other jobs)
pick_port() { lf_free_port $(($1 + RANDOM % 2000)); }

# ---- packages: the project's list plus the benchmark's own ----
BENCH_PACKAGES=(wrk coreutils gawk)
LF_PACKAGES+=("${BENCH_PACKAGES[@]}")
lf_install_packages

# ---- state, and stopping everything on any exit ----
build="$top/build/bench"
mkdir -p "$build"
state=$(mktemp -d /tmp/ledgerflow-bench-XXXXXX)
daemon_pid=""
bare_pid=""

stop_pid() { # PID: TERM, wait up to 30 s, then KILL; reap it
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	stop_pid "$bare_pid"
	stop_pid "$daemon_pid"
	[ ! -f "$state/ledgerflowd.log" ] || cp "$state/ledgerflowd.log" "$build/ledgerflowd.log"
	lf_services_stop "$state"
	rm -rf "$state"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- services on free ports ----
lf_services_start "$state" "$(pick_port 34000)" "$(pick_port 36500)"
mysql_port=$(cat "$state/mysql.port")
redis_port=$(cat "$state/redis.port")
sql() { mariadb --no-defaults -uroot --socket="$state/mysql.sock" -N -B ledgerflow "$@"; }

# ---- release-style build ----
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] ||
	[ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
	log "autoreconf"
	(cd "$top" && autoreconf -fi >/dev/null 2>&1)
fi
configure_args=(--with-jemalloc --disable-sanitizers --disable-coverage --disable-werror
	"CFLAGS=-O2 -g")
if [ ! -f "$build/Makefile" ] || [ "$(cat "$build/.bench-configure" 2>/dev/null)" != "${configure_args[*]}" ]; then
	log "configuring build/bench (${configure_args[*]})"
	(cd "$build" && "$top/configure" "${configure_args[@]}" >configure.out 2>&1) ||
		{ tail -30 "$build/configure.out"; die "configure failed"; }
	echo "${configure_args[*]}" >"$build/.bench-configure"
fi
log "building ledgerflowd, ledgerflowctl"
make -C "$build" -j"$(nproc)" ledgerflowd ledgerflowctl libledgerflow.a >"$build/make.out" 2>&1 ||
	{ tail -40 "$build/make.out"; die "build failed"; }
# the same libraries configure found for the daemon
mkvar() { sed -n "s/^$1 = //p" "$build/Makefile" | head -1; }
lib_cflags="" lib_libs=""
for v in LIBEVENT MARIADB HIREDIS MSGPACK JSONC INIH LIBCRYPTO LIBSYSTEMD JEMALLOC; do
	lib_cflags+=" $(mkvar "${v}_CFLAGS")"
	lib_libs+=" $(mkvar "${v}_LIBS")"
done
bench_cc=(gcc -std=gnu11 -Wall -Wextra -O2 -pthread)
log "building bare_evhttp, raw_db"
# shellcheck disable=SC2046
"${bench_cc[@]}" "$bench/bare_evhttp.c" $(mkvar LIBEVENT_CFLAGS) $(mkvar LIBEVENT_LIBS) \
	-o "$build/bare_evhttp"
# shellcheck disable=SC2086
"${bench_cc[@]}" -I"$top/include" -I"$build" $lib_cflags "$bench/raw_db.c" \
	"$build/libledgerflow.a" $lib_libs -o "$build/raw_db"

# ---- configuration, schema, accounts ----
conf="$state/ledgerflow.conf"
umask 077 # the configuration holds a password, the state a pepper
write_conf() { # LISTEN_PORT
	cat >"$conf" <<CONF
# written by contrib/bench/run.sh
[server]
listen = 127.0.0.1:$1
workers = $workers
pid_file = $state/ledgerflowd.pid
log_file = $state/ledgerflowd.log
access_log = $access_log
[mysql]
host = 127.0.0.1
port = $mysql_port
user = ledgerflow
password = ledgerflow
database = ledgerflow
pool_size = $pool_size
[redis]
host = 127.0.0.1
port = $redis_port
[auth]
pepper_file = $state/pepper
[paths]
sql_dir = $top/sql
CONF
}
write_conf 42000 # the real port is chosen when the daemon starts
"$build/ledgerflowd" -t -c "$conf" >/dev/null || die "configuration rejected"
"$build/ledgerflowctl" -c "$conf" migrate >"$state/migrate.out" 2>&1 ||
	{ cat "$state/migrate.out"; die "migrate failed"; }
# authentication is on, as by default: the load carries an admin key (the
# benchmark accounts belong to no client) with a rate no run reaches
if "$build/ledgerflowctl" -c "$conf" client list 2>/dev/null | awk '{print $2}' | grep -qx bench; then
	LF_BENCH_KEY=$("$build/ledgerflowctl" -c "$conf" client rotate bench 2>/dev/null | tail -n 1)
else
	LF_BENCH_KEY=$("$build/ledgerflowctl" -c "$conf" client create bench --scopes admin \
		--rate 1000000 2>/dev/null | tail -n 1)
fi
case $LF_BENCH_KEY in lfk_*) ;; *) die "could not create the benchmark's API client" ;; esac
export LF_BENCH_KEY

log "creating $accounts accounts (lf_create_account, as POST /api/accounts does)"
# account i: b0000000-0000-4000-8000-<i>, opening entry e0000000-...-<i>
# and the USD issuance account's matching debit f0000000-...-<i>;
# commits are made lazy for the load only, then durable again
{
	echo "SET GLOBAL innodb_flush_log_at_trx_commit = 2;"
	for i in $(seq 1 "$accounts"); do
		printf -v n '%012d' "$i"
		printf "CALL lf_create_account(0, NULL, UNHEX(REPEAT('00', 32)), UNHEX('%s'), 'bench-%d', 'USD', %d, UNHEX('%s'), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), NULL, '/api/accounts/b0000000-0000-4000-8000-%s', UNHEX('%s'));\n" \
			"b0000000000040008000$n" "$i" "$initial_cents" "e0000000000040008000$n" "$n" "f0000000000040008000$n"
	done
	echo "SET GLOBAL innodb_flush_log_at_trx_commit = 1;"
} | sql >/dev/null
created=$(sql -e "SELECT COUNT(*) FROM accounts WHERE name LIKE 'bench-%'")
[ "$created" = "$accounts" ] || die "created $created accounts, wanted $accounts"

# ---- helpers for the measurements ----
declare -A R # R[STEP.ROUND.KEY]: one run's figures

url_ok() { curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" 2>/dev/null || true; }
# wait_ours URL PID PORT: up to 20 s for a 200 from PID's own socket on PORT
# (other people's servers run on this machine too); false if PID exits
wait_ours() {
	for _ in $(seq 1 200); do
		kill -0 "$2" 2>/dev/null || return 1
		if [ "$(url_ok "$1")" = 200 ] && ss -Hltnp "sport = :$3" 2>/dev/null | grep -q "pid=$2,"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# store STEP ROUND LINE: "TAG k=v k=v ..." -> R[STEP.ROUND.k]
store() {
	local kv
	for kv in ${3#* }; do
		R[$1.$2.${kv%%=*}]=${kv#*=}
	done
	R[$1.$2.rps]=$(awk -v n="${R[$1.$2.requests]}" -v d="${R[$1.$2.duration_us]}" \
		'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
}

# run_wrk STEP ROUND URL SCRIPT [SCRIPT ARGS...]: one bounded wrk run
run_wrk() {
	local step=$1 round=$2 url=$3 script=$4
	shift 4
	local out="$state/wrk-$step-$round.out" line
	timeout -k 5 $((run_secs + 60)) wrk -t"$wrk_threads" -c"$connections" -d"${run_secs}s" \
		--timeout 5s -s "$script" "$url" -- "$@" >"$out" 2>&1 || {
		cat "$out" >&2
		die "wrk failed in step $step"
	}
	line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "no BENCH line in step $step"; }
	store "$step" "$round" "$line"
	R[$step.$round.ioerr]=$((R[$step.$round.connect] + R[$step.$round.read] +
		R[$step.$round.write] + R[$step.$round.timeout]))
}

# metrics_snapshot FILE: the aggregated /metrics of ledgerflowd
metrics_snapshot() { curl -s --max-time 5 "$lf_base/metrics" >"$1"; }
# metric FILE NAME{labels}: its value (0 when absent)
metric() { awk -v m="$2" '$1 == m { v = $2 } END { printf "%d", v + 0 }' "$1"; }
# delta BEFORE AFTER NAME{labels}
delta() { echo $(($(metric "$2" "$3") - $(metric "$1" "$3"))); }

rss_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# values STEP KEY: the key over all rounds, one per line
values() {
	local r
	for r in $(seq 1 "$rounds"); do echo "${R[$1.$r.$2]:-0}"; done
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
total() { awk '{ s += $1 } END { printf "%d", s }'; }
# per-round ratios of STEP1's req/s to STEP2's, one per line
ratios() {
	local r
	for r in $(seq 1 "$rounds"); do
		awk -v a="${R[$1.$r.rps]}" -v b="${R[$2.$r.rps]}" 'BEGIN { if (b > 0) printf "%.4f\n", a / b }'
	done
}
fmt2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
# "median (min-max)" of STEP1/STEP2 over the rounds
ratio_text() {
	local list
	list=$(ratios "$1" "$2")
	echo "$(fmt2 "$(median <<<"$list")") ($(fmt2 "$(sort -g <<<"$list" | head -1)")–$(fmt2 "$(sort -g <<<"$list" | tail -1)"))"
}

# ---- servers (a port taken between the check and the bind: try another) ----
for try in 1 2 3 4 5; do
	bare_port=$(pick_port 40000)
	"$build/bare_evhttp" "$bare_port" "$workers" >"$state/bare.out" 2>&1 &
	bare_pid=$!
	wait_ours "http://127.0.0.1:$bare_port/healthz" "$bare_pid" "$bare_port" && break
	stop_pid "$bare_pid"
	bare_pid=""
	[ "$try" -lt 5 ] || { cat "$state/bare.out" >&2; die "bare_evhttp did not start"; }
done

for try in 1 2 3 4 5; do
	lf_port=$(pick_port 42000)
	write_conf "$lf_port"
	log "starting ledgerflowd on 127.0.0.1:$lf_port ($workers workers, pool_size $pool_size)"
	"$build/ledgerflowd" -f -c "$conf" >"$state/ledgerflowd.out" 2>&1 &
	daemon_pid=$!
	lf_base="http://127.0.0.1:$lf_port"
	wait_ours "$lf_base/readyz" "$daemon_pid" "$lf_port" && break
	stop_pid "$daemon_pid"
	daemon_pid=""
	if [ "$try" -eq 5 ]; then
		cat "$state/ledgerflowd.out" "$state/ledgerflowd.log" 2>/dev/null | tail -30 >&2
		die "ledgerflowd did not become ready"
	fi
done
curl -s --max-time 5 "$lf_base/readyz" | grep -q '"ready"' || log "warning: /readyz is not \"ready\" (Redis?)"

log "deciding $replay_keys payments whose keys step e replays"
for i in $(seq 1 "$replay_keys"); do
	printf -v from 'b0000000-0000-4000-8000-%012d' "$i"
	printf -v to 'b0000000-0000-4000-8000-%012d' $((i % accounts + 1))
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$lf_base/api/payments" \
		-H "Authorization: Bearer $LF_BENCH_KEY" \
		-H 'Content-Type: application/json' -H "Idempotency-Key: replay$$-$i" \
		-d "{\"fromAccountId\":\"$from\",\"toAccountId\":\"$to\",\"amount\":\"1.00\",\"currency\":\"USD\"}")
	[ "$code" = 201 ] || die "deciding replay key $i: HTTP $code"
done

# ---- the rounds (round 0 is a 1 s warm-up whose figures are not used) ----
for round in $(seq 0 "$rounds"); do
	if [ "$round" -eq 0 ]; then
		run_secs=1
		log "warm-up round: a b c d e f, 1 s each"
	else
		run_secs=$duration
		log "round $round/$rounds: a b c d e f, ${duration} s each (wrk -t$wrk_threads -c$connections)"
	fi
	# a. bare evhttp GET /healthz
	run_wrk a "$round" "http://127.0.0.1:$bare_port/healthz" "$bench/get.lua"
	# b. ledgerflowd GET /healthz
	run_wrk b "$round" "$lf_base/healthz" "$bench/get.lua"
	# c. raw database baseline
	timeout -k 5 $((run_secs + 60)) "$build/raw_db" 127.0.0.1 "$mysql_port" ledgerflow ledgerflow \
		ledgerflow "$raw_threads" "$run_secs" "$accounts" "r$$x$round" >"$state/raw-$round.out" 2>&1 || {
		cat "$state/raw-$round.out" >&2
		die "raw_db failed"
	}
	store c "$round" "$(grep '^RAWDB ' "$state/raw-$round.out")"
	# d. POST /api/payments with new keys
	metrics_snapshot "$state/m-d0"
	run_wrk d "$round" "$lf_base/api/payments" "$bench/payments.lua" "$accounts" "p$$x$round"
	metrics_snapshot "$state/m-d1"
	R[d.$round.completed]=$(delta "$state/m-d0" "$state/m-d1" 'ledgerflow_payments_total{status="completed"}')
	R[d.$round.declined]=$(delta "$state/m-d0" "$state/m-d1" 'ledgerflow_payments_total{status="declined"}')
	R[d.$round.retries]=$(delta "$state/m-d0" "$state/m-d1" ledgerflow_db_retries_total)
	R[d.$round.c5xx]=$(delta "$state/m-d0" "$state/m-d1" 'ledgerflow_http_responses_total{class="5xx"}')
	# e. replays of decided keys
	metrics_snapshot "$state/m-e0"
	run_wrk e "$round" "$lf_base/api/payments" "$bench/replay.lua" "$replay_keys" "$accounts" "replay$$"
	metrics_snapshot "$state/m-e1"
	for t in shm redis db; do
		R[e.$round.hit_$t]=$(delta "$state/m-e0" "$state/m-e1" \
			"ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"$t\"}")
	done
	R[e.$round.miss]=$(delta "$state/m-e0" "$state/m-e1" \
		'ledgerflow_idempotency_lookups_total{result="miss",tier="none"}')
	R[e.$round.decided]=$(($(delta "$state/m-e0" "$state/m-e1" 'ledgerflow_payments_total{status="completed"}') +
		$(delta "$state/m-e0" "$state/m-e1" 'ledgerflow_payments_total{status="declined"}')))
	R[e.$round.in_flight]=$(delta "$state/m-e0" "$state/m-e1" ledgerflow_idempotency_in_flight_total)
	# f. GET /api/accounts/{id}
	run_wrk f "$round" "$lf_base/api/accounts/b0000000-0000-4000-8000-000000000001" \
		"$bench/accounts.lua" "$accounts"
done

# ---- g. memory ----
mem_row() { # LABEL PID
	echo "| $1 | $(rss_field "$2" VmRSS) | $(rss_field "$2" RssAnon) | $(rss_field "$2" RssFile) | $(rss_field "$2" RssShmem) |"
}
mem_rows=$(mem_row "ledgerflowd master (pid $daemon_pid)" "$daemon_pid")
nworkers=0
while read -r pid comm; do
	[ "$comm" = lf-worker ] || continue
	nworkers=$((nworkers + 1))
	mem_rows+=$'\n'"$(mem_row "lf-worker (pid $pid)" "$pid")"
done < <(ps -o pid=,comm= --ppid "$daemon_pid")
[ "$nworkers" -gt 0 ] || die "no lf-worker found under pid $daemon_pid"
while read -r pid comm; do
	mem_rows+=$'\n'"$(mem_row "bare evhttp $comm (pid $pid)" "$pid")"
done < <(ps -o pid=,comm= --ppid "$bare_pid")
mem_rows+=$'\n'"$(mem_row "mariadbd" "$(cat "$state/mysql.pid")")"
mem_rows+=$'\n'"$(mem_row "redis-server" "$(cat "$state/redis.pid")")"

# ---- the books ----
stop_pid "$bare_pid"
bare_pid=""
stop_pid "$daemon_pid"
daemon_pid=""
log "ledgerflowctl reconcile"
reconcile_rc=0
"$build/ledgerflowctl" -c "$conf" reconcile >"$state/reconcile.out" 2>&1 || reconcile_rc=$?
cat "$state/reconcile.out"
echo "reconcile exit status: $reconcile_rc"
payments_rows=$(sql -e "SELECT COUNT(*) FROM payments")

# ---- summary ----
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
sum_of() { values "$1" "$2" | total; }
# overall req/s of a step: all its requests over all its time
overall_rps() {
	awk -v n="$(sum_of "$1" requests)" -v d="$(sum_of "$1" duration_us)" \
		'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }'
}
row() { # STEP LABEL ERRORS-TEXT RATIO-TEXT
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(overall_rps "$1")" \
		"$(ms "$(values "$1" p50_us | median)")" "$(ms "$(values "$1" p90_us | median)")" \
		"$(ms "$(values "$1" p99_us | median)")" "$3" "$4"
}
http_errors() { echo "$(sum_of "$1" ioerr) io, $(sum_of "$1" status) ≥400"; }
results="$build/results.md"
{
	mode=""
	[ "$quick" = no ] || mode=" (--quick)"
	echo "# LedgerFlow benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC')$mode: $rounds rounds × ${duration} s per step;" \
		"$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) shared by" \
		"wrk, the server, MariaDB, Redis and whatever else ran on the machine."
	echo "ledgerflowd: $workers workers, pool_size $pool_size, access_log $access_log, -O2, jemalloc;" \
		"bare evhttp: $workers pre-forked processes; wrk -t$wrk_threads -c$connections;" \
		"raw_db: $raw_threads connections; $accounts accounts."
	echo "req/s: all requests of a step over all its time; latencies: median over the rounds;" \
		"ratio: median of the per-round ratios (min–max)."
	echo
	echo "| step | measurement | req/s | p50 ms | p90 ms | p99 ms | errors | ratio |"
	echo "|---|---|---:|---:|---:|---:|---|---|"
	row a "bare evhttp GET /healthz" "$(http_errors a)" "1 (HTTP reference)"
	row b "ledgerflowd GET /healthz" "$(http_errors b)" "$(ratio_text b a) of a"
	row c "raw CALL lf_transfer, no HTTP (payments/s)" \
		"$(sum_of c errors) errors, $(sum_of c retries) retries" "1 (DB reference)"
	row d "ledgerflowd POST /api/payments, new keys" \
		"$(http_errors d), $(sum_of d retries) retries" "$(ratio_text d c) of c"
	row e "ledgerflowd POST /api/payments, replays" "$(http_errors e)" \
		"$(ratio_text e d) × d; $(ratio_text e b) of b"
	row f "ledgerflowd GET /api/accounts/{id}" "$(http_errors f)" "$(ratio_text f b) of b"
	echo
	echo "- c: $(sum_of c completed) payments completed, $(sum_of c declined) declined by raw_db."
	echo "- d: $(sum_of d completed) payments completed, $(sum_of d declined) declined," \
		"$(sum_of d c5xx) answered 5xx (server counters)."
	echo "- e: replays of $replay_keys decided keys; idempotency lookups hit shm $(sum_of e hit_shm)," \
		"redis $(sum_of e hit_redis), db $(sum_of e hit_db), missed $(sum_of e miss);" \
		"payments decided $(sum_of e decided) (must be 0); 409 in flight $(sum_of e in_flight)."
	echo "- req/s per round:"
	for s in "${steps[@]}"; do
		echo "  $s: $(values "$s" rps | paste -sd' ')"
	done
	echo
	echo "| process, after the rounds | VmRSS KiB | RssAnon KiB | RssFile KiB | RssShmem KiB |"
	echo "|---|---:|---:|---:|---:|"
	echo "$mem_rows"
	echo
	echo "ledgerflowctl reconcile: exit $reconcile_rc; $payments_rows payments in the database."
} >"$results"
echo
cat "$results"
log "written to $results"
[ "$reconcile_rc" -eq 0 ] || die "reconcile failed"
