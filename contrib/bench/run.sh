#!/usr/bin/env bash
# contrib/bench/run.sh - LedgerFlow's benchmark in one command. Installs
# what it needs (wrk, gnuplot too), starts a private MariaDB and Redis on
# free loopback ports in a temporary state directory, builds a
# release-style ledgerflowd (-O2, jemalloc, no sanitizers) in build/bench,
# creates the benchmark accounts and bulk-loads the scale ledger, and
# measures each figure next to its baseline in the same run, so that the
# RATIOS mean something on a small shared machine:
#   a   bare evhttp GET /healthz (bare_evhttp.c)                HTTP reference
#   b   ledgerflowd GET /healthz                                 / a
#   c   raw CALL lf_transfer (raw_db.c), uniform: the best of
#       c16 c32 c64 (16, 32, 64 connections)                     DB reference
#   d   POST /api/payments, uniform over ACCOUNTS accounts       / c  (>= 1.5)
#   e   POST /api/payments replays (shared-memory tier)          / a  (>= 0.8)
#   f   GET /api/accounts/{id}                                   / b  (>= 0.5)
#   h   raw CALL lf_transfer, hot: every payment from one
#       sender, the best of h16 h32 h64                          hot DB reference
#   i   POST /api/payments, hot sender, 64 connections           / h  (>= 2.5)
#   j   the same at 200 connections: p99 < 100 ms, no non-2xx   / h
#   s   POST /api/payments, uniform over the scale ledger
#       (SCALE_ACCOUNTS accounts, SCALE_ENTRIES entries)         / d  (>= 0.8)
#   m   POST /api/payments at 256 connections, then the peak RSS
#       (VmHWM) of each lf-worker (< 32 MiB)
# The steps run in ROUNDS short rounds (a b c.. s, a b c.. s, ...), so a
# baseline and its subject are always measured seconds apart; a ratio is
# the median of the per-round ratios. After the money scenarios: the batch
# size histograms of /metrics, then `ledgerflowctl reconcile --full` of both
# databases (must exit 0). Results: a markdown summary on stdout and in
# build/bench/results.md, build/bench/results.csv, build/bench/results.svg.
# Any error (a non-2xx answer, a raw_db failure, a payment declined, reconcile
# not 0) makes the exit status 1, after the results are written.
#   contrib/bench/run.sh [--quick]
# Full: 5 rounds of 2 s per step, the scale ledger 1,000,000 accounts and
# 10,000,000 entries, after a 1 s warm-up round that is not counted;
# --quick: 2 rounds of 1 s, no warm-up, 20,000 accounts and 200,000 entries
# (for CI: that the harness works and the books hold, not how fast).
# Environment: LF_BENCH_ROUNDS, LF_BENCH_DURATION (s per run),
# LF_BENCH_ACCOUNTS (1000), LF_BENCH_CONNECTIONS (64), LF_BENCH_HOT_CONNECTIONS
# (200), LF_BENCH_RSS_CONNECTIONS (256), LF_BENCH_SCALE_ACCOUNTS,
# LF_BENCH_SCALE_ENTRIES, LF_BENCH_BATCH_MAX, LF_BENCH_BATCH_WINDOW_US and
# LF_BENCH_BATCH_CONCURRENCY ([mysql] batch_max / batch_window_us /
# batch_concurrency; default: the server's defaults),
# LF_BENCH_POOL_SIZE (8), LF_BENCH_CACHE_SIZE ([cache] size; default: the
# server's), LF_BENCH_BUFFER_POOL (8G), LF_BENCH_ACCESS_LOG (off),
# LF_BENCH_PERF (steps to profile with perf in the last round, e.g. "d i s":
# build/bench/perf-STEP.txt; perf slows what it watches, so the figures of
# a profiled run are not for the table), LF_BENCH_ONLY (s: only the scale
# comparison, steps d and s, with the database's counters during each and a
# short summary), LF_BENCH_KEEP (yes: leave the servers and the state
# directory up at the end, to look at them; the log says how to stop them).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bench="$top/contrib/bench"
# shellcheck source=contrib/dev/services.sh
. "$top/contrib/dev/services.sh"
# shellcheck source=contrib/bench/lib.sh
. "$bench/lib.sh"

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
	rounds=${LF_BENCH_ROUNDS:-2} duration=${LF_BENCH_DURATION:-1}
	scale_accounts=${LF_BENCH_SCALE_ACCOUNTS:-20000} scale_entries=${LF_BENCH_SCALE_ENTRIES:-200000}
else
	rounds=${LF_BENCH_ROUNDS:-5} duration=${LF_BENCH_DURATION:-2}
	scale_accounts=${LF_BENCH_SCALE_ACCOUNTS:-1000000} scale_entries=${LF_BENCH_SCALE_ENTRIES:-10000000}
fi
accounts=${LF_BENCH_ACCOUNTS:-1000}
wrk_threads=2
connections=${LF_BENCH_CONNECTIONS:-64}
hot_connections=${LF_BENCH_HOT_CONNECTIONS:-200}
rss_connections=${LF_BENCH_RSS_CONNECTIONS:-256}
access_log=${LF_BENCH_ACCESS_LOG:-off}
perf_steps=${LF_BENCH_PERF:-}
only=${LF_BENCH_ONLY:-}
keep=${LF_BENCH_KEEP:-no}
pool_size=${LF_BENCH_POOL_SIZE:-8}
cache_size=${LF_BENCH_CACHE_SIZE:-}
scale_fill=${LF_BENCH_SCALE_FILL:-70}
buffer_pool=${LF_BENCH_BUFFER_POOL:-8G}
# the server's own default unless the environment says otherwise
conf_default() { sed -n "s/^$1 = //p" "$top/etc/ledgerflow.conf" | head -1; }
batch_max=${LF_BENCH_BATCH_MAX:-$(conf_default batch_max)}
batch_window_us=${LF_BENCH_BATCH_WINDOW_US:-$(conf_default batch_window_us)}
batch_concurrency=${LF_BENCH_BATCH_CONCURRENCY:-$(conf_default batch_concurrency)}
workers=2
replay_keys=64
raw_counts=(16 32 64) # raw_db connections: each baseline is its best of these
initial_cents=100000000    # 1,000,000.00 USD per account: no payment is declined
hot_cents=100000000000000  # the hot sender: 1,000,000,000,000.00 USD
hot=$((accounts + 1))      # its account number
for v in rounds duration accounts connections hot_connections rss_connections pool_size \
	scale_accounts scale_entries scale_fill; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
for v in batch_max batch_window_us batch_concurrency; do
	[[ -z ${!v} || ${!v} =~ ^[0-9]+$ ]] || { echo "$v must be an integer, not '${!v}'" >&2; exit 2; }
done
[ "$accounts" -ge "$replay_keys" ] || { echo "LF_BENCH_ACCOUNTS must be at least $replay_keys" >&2; exit 2; }
[ "$scale_entries" -ge $((2 * scale_accounts)) ] ||
	{ echo "LF_BENCH_SCALE_ENTRIES must be at least twice LF_BENCH_SCALE_ACCOUNTS" >&2; exit 2; }
[[ -z $cache_size || $cache_size =~ ^[1-9][0-9]*[KMG]?$ ]] ||
	{ echo "LF_BENCH_CACHE_SIZE must be a size like 16M, not '$cache_size'" >&2; exit 2; }
case "$access_log" in on | off) ;; *) echo "LF_BENCH_ACCESS_LOG must be on or off" >&2; exit 2 ;; esac
if [ "$scale_fill" -lt 10 ] || [ "$scale_fill" -gt 100 ]; then
	echo "LF_BENCH_SCALE_FILL must be 10..100" >&2
	exit 2
fi
case "$only" in "" | s) ;; *) echo "LF_BENCH_ONLY must be empty or s" >&2; exit 2 ;; esac
case "$keep" in yes | no) ;; *) echo "LF_BENCH_KEEP must be yes or no" >&2; exit 2 ;; esac
t_start=$(date +%s)

# ---- packages: the project's list plus the benchmark's own ----
BENCH_PACKAGES=(wrk coreutils gawk gnuplot-nox)
[ -z "$perf_steps" ] || BENCH_PACKAGES+=(linux-perf)
LF_PACKAGES+=("${BENCH_PACKAGES[@]}")
lf_install_packages

# ---- state, and stopping everything on any exit ----
build="$top/build/bench"
mkdir -p "$build"
state=$(mktemp -d /tmp/ledgerflow-bench-XXXXXX)
daemon_pid="" scale_pid="" bare_pid=""

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ "$keep" = yes ]; then
		log "LF_BENCH_KEEP: left running in $state: MariaDB (mariadb -uroot --socket=$state/mysql.sock)," \
			"Redis, ledgerflowd pid ${daemon_pid:-none} (${lf_base:-}), scale pid ${scale_pid:-none}" \
			"(${scale_base:-}); stop with: kill ${daemon_pid:-} ${scale_pid:-} ${bare_pid:-};" \
			"contrib/dev/services.sh stop $state; rm -rf $state"
		exit "$rc"
	fi
	stop_pid "$bare_pid"
	stop_pid "$daemon_pid"
	stop_pid "$scale_pid"
	for f in ledgerflowd.log scale.log; do
		[ ! -f "$state/$f" ] || cp "$state/$f" "$build/$f"
	done
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
sqlroot() { mariadb --no-defaults -uroot --socket="$state/mysql.sock" -N -B "$@"; }
sql() { sqlroot ledgerflow "$@"; }
# room for the scale ledger's hot set, and a redo log that does not make a
# bulk load wait for checkpoints (both as a production server would have)
sqlroot -e "SET GLOBAL innodb_buffer_pool_size = $(numfmt --from=iec "$buffer_pool");
	SET GLOBAL innodb_log_file_size = 1073741824" ||
	log "could not resize the buffer pool or the redo log; going on"
# InnoDB's page split counter, which the counters around d and s read
sqlroot -e "SET GLOBAL innodb_monitor_enable = 'index_page_splits'" ||
	log "could not enable InnoDB's index_page_splits counter; going on"

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
for v in LIBEVENT MARIADB HIREDIS MSGPACK JSONC INIH LIBSSL LIBCRYPTO LIBSYSTEMD JEMALLOC; do
	lib_cflags+=" $(mkvar "${v}_CFLAGS")"
	lib_libs+=" $(mkvar "${v}_LIBS")"
done
bench_cc=(gcc -std=gnu11 -Wall -Wextra -O2 -pthread)
log "building bare_evhttp, raw_db, gen_ledger"
# shellcheck disable=SC2046
"${bench_cc[@]}" "$bench/bare_evhttp.c" $(mkvar LIBEVENT_CFLAGS) $(mkvar LIBEVENT_LIBS) \
	-o "$build/bare_evhttp"
# shellcheck disable=SC2086
"${bench_cc[@]}" -I"$top/include" -I"$build" $lib_cflags "$bench/raw_db.c" \
	"$build/libledgerflow.a" $lib_libs -o "$build/raw_db"
# shellcheck disable=SC2046
"${bench_cc[@]}" -I"$top/include" -I"$build" -include "$build/config.h" "$bench/gen_ledger.c" \
	"$top/src/core/ledger_hash.c" "$top/src/core/hash.c" $(mkvar LIBCRYPTO_LIBS) -o "$build/gen_ledger"

# ---- configurations: the main database and the scale one ----
# The daemons run as runtime users with exactly what `ledgerflowctl grants`
# prints (as in production); migrations, clients and reconcile use the
# administrative login "ledgerflow".
rt_user=lf_bench_rt rt_password=lf_bench_rt_pw
umask 077 # the configurations hold passwords, the state a pepper
write_conf() { # FILE LISTEN_PORT DATABASE NAME REDIS_DB
	{
		cat <<CONF
# written by contrib/bench/run.sh
[server]
listen = 127.0.0.1:$2
workers = $workers
pid_file = $state/$4.pid
log_file = $state/$4.log
access_log = $access_log
[mysql]
host = 127.0.0.1
port = $mysql_port
user = $rt_user
password = $rt_password
admin_user = ledgerflow
admin_password = ledgerflow
database = $3
pool_size = $pool_size
CONF
		[ -z "$batch_max" ] || echo "batch_max = $batch_max"
		[ -z "$batch_window_us" ] || echo "batch_window_us = $batch_window_us"
		[ -z "$batch_concurrency" ] || echo "batch_concurrency = $batch_concurrency"
		cat <<CONF
[redis]
host = 127.0.0.1
port = $redis_port
db = $5
[auth]
pepper_file = $state/pepper
[paths]
sql_dir = $top/sql
CONF
		[ -z "$cache_size" ] || printf '[cache]\nsize = %s\n' "$cache_size"
	} >"$1"
}
conf="$state/ledgerflow.conf" sconf="$state/scale.conf"
write_conf "$conf" 42000 ledgerflow ledgerflowd 0 # the real ports are chosen at start
write_conf "$sconf" 42001 ledgerflow_scale scale 1
sqlroot -e "CREATE DATABASE ledgerflow_scale CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
"$build/ledgerflowd" -t -c "$conf" >/dev/null || die "configuration rejected"
for c in "$conf" "$sconf"; do
	"$build/ledgerflowctl" -c "$c" migrate >"$state/migrate.out" 2>&1 ||
		{ cat "$state/migrate.out"; die "migrate failed"; }
done
# authentication is on, as by default: the load carries an admin key (the
# benchmark accounts belong to no client) with a rate no run reaches
bench_key() { # CONF: a new key of the client "bench"
	local key
	key=$("$build/ledgerflowctl" -c "$1" client create bench --scopes admin --rate 1000000 \
		2>/dev/null | tail -n 1)
	case $key in lfk_*) echo "$key" ;; *) die "could not create the benchmark's API client" ;; esac
}
main_key=$(bench_key "$conf")
scale_key=$(bench_key "$sconf")

log "creating $accounts accounts and the hot sender (lf_create_account, as POST /api/accounts does)"
# account i: b0000000-0000-4000-8000-<i>, opening entry e0000000-...-<i>
# and the USD issuance account's matching debit f0000000-...-<i>; the hot
# sender is account ACCOUNTS+1 with a far bigger opening. Commits are made
# lazy for the load only, then durable again
{
	echo "SET GLOBAL innodb_flush_log_at_trx_commit = 2;"
	for i in $(seq 1 "$hot"); do
		printf -v n '%012d' "$i"
		cents=$initial_cents
		[ "$i" -ne "$hot" ] || cents=$hot_cents
		# the body is the account.created event's data (a stand-in: the
		# loader renders no account); no metadata; the event's id made by
		# lf_event_add
		printf "CALL lf_create_account(0, NULL, UNHEX(REPEAT('00', 32)), UNHEX('%s'), 'bench-%d', 'USD', %d, UNHEX('%s'), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), '{\"id\":\"b0000000-0000-4000-8000-%s\"}', '/api/accounts/b0000000-0000-4000-8000-%s', UNHEX('%s'), NULL, NULL);\n" \
			"b0000000000040008000$n" "$i" "$cents" "e0000000000040008000$n" "$n" "$n" "f0000000000040008000$n"
	done
	echo "SET GLOBAL innodb_flush_log_at_trx_commit = 1;"
} | sql >/dev/null
created=$(sql -e "SELECT COUNT(*) FROM accounts WHERE name LIKE 'bench-%'")
[ "$created" = "$hot" ] || die "created $created accounts, wanted $hot"

# ---- the scale ledger: generated with correct chains, bulk-loaded ----
log "scale: generating $scale_accounts accounts, $scale_entries ledger entries (gen_ledger -b)"
gen="$state/gen"
mkdir -p "$gen"
t0=$(date +%s)
"$build/gen_ledger" -b "$gen" "$scale_accounts" "$scale_entries" 0 >"$state/gen.out" ||
	{ cat "$state/gen.out"; die "gen_ledger failed"; }
t_gen=$(($(date +%s) - t0))
log "scale: $(cat "$state/gen.out") in ${t_gen} s; loading (LOAD DATA LOCAL INFILE)"
t0=$(date +%s)
# The two secondary indexes of ledger_entries whose keys come in random
# order (and the foreign key that needs one) are built after the load, by
# sorting: the same definitions as 001_schema.sql, checked below. Each
# LOAD DATA fills an empty table with unique and foreign key checks off,
# which InnoDB does as a bulk insert (no undo log, no row-by-row inserts: a
# sorted build of every index, at its COMMIT, with innodb_fill_factor as
# its fill). Packed leaves are what a fresh bulk load gives, not a ledger
# in service, whose random inserts have split each leaf once (about 70 %
# full): on packed leaves nearly every new entry splits one, and s measured
# that split storm. So the load runs with innodb_fill_factor at
# LF_BENCH_SCALE_FILL % (70), put back after it; 100: packed.
fill_before=$(sqlroot -e "SELECT @@GLOBAL.innodb_fill_factor")
table_shape() { sqlroot -r ledgerflow_scale -e "SHOW CREATE TABLE ledger_entries" | sed 's/,$//' | sort; }
create_before=$(table_shape)
sqlroot ledgerflow_scale --local-infile=1 >/dev/null <<SQL || die "loading the scale ledger failed"
SET foreign_key_checks = 0, unique_checks = 0;
SET GLOBAL innodb_fill_factor = $scale_fill;
ALTER TABLE ledger_entries DROP FOREIGN KEY ledger_payment_fk,
  DROP INDEX ledger_entries_payment, DROP INDEX ledger_entries_id;
LOAD DATA LOCAL INFILE '$gen/accounts.tsv' INTO TABLE accounts
  (@id, name, currency, kind, balance, ledger_seq, @head, version, created_at, updated_at,
   owner_client_id) SET id = UNHEX(@id), chain_head = UNHEX(@head);
LOAD DATA LOCAL INFILE '$gen/payments.tsv' INTO TABLE payments
  (@id, client_id, idempotency_key, @fp, @f, @t, amount, currency, reference, status,
   decline_reason, created_at)
  SET id = UNHEX(@id), fingerprint = UNHEX(@fp), from_account_id = UNHEX(@f),
      to_account_id = UNHEX(@t);
LOAD DATA LOCAL INFILE '$gen/entries.tsv' INTO TABLE ledger_entries
  (@a, seq, @id, @p, @cp, direction, amount, balance_after, created_at, @h)
  SET account_id = UNHEX(@a), id = UNHEX(@id), payment_id = UNHEX(@p),
      counterparty_id = UNHEX(@cp), hash = UNHEX(@h);
ALTER TABLE ledger_entries ADD UNIQUE KEY ledger_entries_id (id),
  ADD KEY ledger_entries_payment (payment_id),
  ADD CONSTRAINT ledger_payment_fk FOREIGN KEY (payment_id) REFERENCES payments (id);
SET GLOBAL innodb_fill_factor = $fill_before;
SOURCE $gen/issuance.sql;
SQL
t_load=$(($(date +%s) - t0))
rm -rf "$gen"
[ "$create_before" = "$(table_shape)" ] ||
	die "ledger_entries of the scale database differs from the schema after the load"
scale_rows=$(sqlroot ledgerflow_scale -e "SELECT (SELECT COUNT(*) FROM accounts WHERE kind = 'STANDARD'),
	(SELECT COUNT(*) FROM ledger_entries)")
read -r scale_loaded_accounts scale_loaded_entries <<<"$scale_rows"
[ "$scale_loaded_accounts" = "$scale_accounts" ] ||
	die "the scale database has $scale_loaded_accounts accounts, not $scale_accounts"
[ "$scale_loaded_entries" -ge "$scale_entries" ] ||
	die "the scale database has $scale_loaded_entries ledger entries, fewer than $scale_entries"
log "scale: loaded $scale_loaded_accounts accounts, $scale_loaded_entries entries in ${t_load} s"

# A server in service is warm: the leaves that payments reach at random
# (the accounts, each account's entries and their time index, the payments
# by sender and by receiver) are in its buffer pool. After a bulk load they
# are on disk or in the OS page cache, and the first payments read them
# (a pread each, kernel time). So both databases, the main one too, read
# those indexes once before the rounds.
warm() { # DATABASE
	sqlroot "$1" >/dev/null <<SQL
SELECT COUNT(*) FROM accounts FORCE INDEX (PRIMARY);
SELECT COUNT(*) FROM ledger_entries FORCE INDEX (PRIMARY);
SELECT COUNT(*) FROM ledger_entries FORCE INDEX (ledger_entries_time);
SELECT COUNT(*) FROM payments FORCE INDEX (payments_from);
SELECT COUNT(*) FROM payments FORCE INDEX (payments_to);
SELECT COUNT(*) FROM payments FORCE INDEX (payments_from_time);
SQL
}
t0=$(date +%s)
warm ledgerflow
warm ledgerflow_scale
log "warmed both databases' random-access indexes in $(($(date +%s) - t0)) s"

# the runtime users, after migrate (the tables and procedures must exist)
lf_mysql_runtime_user "$state" "$rt_user" "$rt_password" "$build/ledgerflowctl" "$conf" >/dev/null
"$build/ledgerflowctl" -c "$sconf" grants --user "$rt_user" --host 127.0.0.1 2>/dev/null |
	grep -v '^REVOKE' | sqlroot

# ---- servers (a port taken between the check and the bind: try another) ----
declare -A R # R[STEP.ROUND.KEY]: one run's figures
for try in 1 2 3 4 5; do
	[ -z "$only" ] || break
	bare_port=$(pick_port 40000)
	"$build/bare_evhttp" "$bare_port" "$workers" >"$state/bare.out" 2>&1 &
	bare_pid=$!
	wait_ours "http://127.0.0.1:$bare_port/healthz" "$bare_pid" "$bare_port" && break
	stop_pid "$bare_pid"
	bare_pid=""
	[ "$try" -lt 5 ] || { cat "$state/bare.out" >&2; die "bare_evhttp did not start"; }
done

start_daemon() { # CONF NAME BASE_PORT: sets started_pid, started_base
	local try port
	for try in 1 2 3 4 5; do
		port=$(pick_port "$3")
		sed -i "s/^listen = .*/listen = 127.0.0.1:$port/" "$1"
		log "starting ledgerflowd ($2) on 127.0.0.1:$port ($workers workers, pool_size $pool_size)"
		"$build/ledgerflowd" -f -c "$1" >"$state/$2.out" 2>&1 &
		started_pid=$!
		started_base="http://127.0.0.1:$port"
		wait_ours "$started_base/readyz" "$started_pid" "$port" && return 0
		stop_pid "$started_pid"
		if [ "$try" -eq 5 ]; then
			cat "$state/$2.out" "$state/$2.log" 2>/dev/null | tail -30 >&2
			die "ledgerflowd ($2) did not become ready"
		fi
	done
}
start_daemon "$conf" ledgerflowd 42000
daemon_pid=$started_pid lf_base=$started_base
start_daemon "$sconf" scale 44000
scale_pid=$started_pid scale_base=$started_base
cpu_pids
for b in "$lf_base" "$scale_base"; do
	curl -s --max-time 5 "$b/readyz" | grep -q '"ready"' || log "warning: $b/readyz is not \"ready\" (Redis?)"
done

[ -n "$only" ] || log "deciding $replay_keys payments whose keys step e replays"
for i in $(seq 1 "$replay_keys"); do
	[ -z "$only" ] || break
	printf -v from 'b0000000-0000-4000-8000-%012d' "$i"
	printf -v to 'b0000000-0000-4000-8000-%012d' $((i % accounts + 1))
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$lf_base/api/payments" \
		-H "Authorization: Bearer $main_key" \
		-H 'Content-Type: application/json' -H "Idempotency-Key: replay$$-$i" \
		-d "{\"fromAccountId\":\"$from\",\"toAccountId\":\"$to\",\"amount\":\"1.00\",\"currency\":\"USD\"}")
	[ "$code" = 201 ] || die "deciding replay key $i: HTTP $code"
done

# ---- the rounds (round 0 is a 1 s warm-up whose figures are not used) ----
# money_step STEP ROUND BASE CONNECTIONS ACCOUNTS TAG [FROM]: payments, with
# the server's counters around them
money_step() {
	local s=$1 r=$2 base=$3
	metrics_snapshot "$base" "$state/m-$s-0"
	innodb_snapshot "$state/i-$s-0"
	run_wrk "$s" "$r" "$4" "$base/api/payments" "$bench/payments.lua" "${@:5}"
	innodb_snapshot "$state/i-$s-1"
	metrics_snapshot "$base" "$state/m-$s-1"
	money_deltas "$s" "$r" "$state/m-$s-0" "$state/m-$s-1"
	innodb_deltas "$s" "$r" "$state/i-$s-0" "$state/i-$s-1"
}
# dirty_pages: InnoDB's dirty pages now, for the log (the write-back a
# step may overlap)
dirty_pages() {
	sqlroot -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{ print $2 " dirty pages" }'
}
steps=(a b c d e f h i j s)
[ -z "$only" ] || steps=(d s)
first_round=0
[ "$quick" = no ] || first_round=1 # --quick: no warm-up
for round in $(seq "$first_round" "$rounds"); do
	if [ "$round" -eq 0 ]; then
		run_secs=1
		log "warm-up round: ${steps[*]}, 1 s each ($(dirty_pages))"
	else
		run_secs=$duration
		log "round $round/$rounds: ${steps[*]}, ${duration} s each ($(dirty_pages))"
	fi
	export LF_BENCH_KEY=$main_key
	if [ -n "$only" ]; then # d and s only
		money_step d "$round" "$lf_base" "$connections" "$accounts" "p$$x$round"
		export LF_BENCH_KEY=$scale_key
		money_step s "$round" "$scale_base" "$connections" "$scale_accounts" "ps$$x$round"
		continue
	fi
	run_wrk a "$round" "$connections" "http://127.0.0.1:$bare_port/healthz" "$bench/get.lua"
	run_wrk b "$round" "$connections" "$lf_base/healthz" "$bench/get.lua"
	for n in "${raw_counts[@]}"; do
		run_raw "c$n" "$round" "$n" ledgerflow "$accounts" "r$$x${round}c$n"
	done
	best c "$round" "${raw_counts[@]/#/c}"
	money_step d "$round" "$lf_base" "$connections" "$accounts" "p$$x$round"
	metrics_snapshot "$lf_base" "$state/m-e0"
	run_wrk e "$round" "$connections" "$lf_base/api/payments" "$bench/replay.lua" \
		"$replay_keys" "$accounts" "replay$$"
	metrics_snapshot "$lf_base" "$state/m-e1"
	read -r R["e.$round.hit_shm"] R["e.$round.hit_redis"] R["e.$round.hit_db"] R["e.$round.miss"] \
		R["e.$round.completed"] R["e.$round.declined"] R["e.$round.in_flight"] <<<"$(deltas \
		"$state/m-e0" "$state/m-e1" \
		'ledgerflow_idempotency_lookups_total{result="hit",tier="shm"}' \
		'ledgerflow_idempotency_lookups_total{result="hit",tier="redis"}' \
		'ledgerflow_idempotency_lookups_total{result="hit",tier="db"}' \
		'ledgerflow_idempotency_lookups_total{result="miss",tier="none"}' \
		'ledgerflow_payments_total{status="completed"}' \
		'ledgerflow_payments_total{status="declined"}' ledgerflow_idempotency_in_flight_total)"
	R[e.$round.decided]=$((${R[e.$round.completed]} + ${R[e.$round.declined]}))
	metrics_snapshot "$lf_base" "$state/m-f0"
	run_wrk f "$round" "$connections" "$lf_base/api/accounts/b0000000-0000-4000-8000-000000000001" \
		"$bench/accounts.lua" "$accounts"
	metrics_snapshot "$lf_base" "$state/m-f1"
	read -r R["f.$round.batches"] R["f.$round.batched"] <<<"$(deltas "$state/m-f0" "$state/m-f1" \
		'ledgerflow_db_batch_size_count{kind="account_read"}' \
		'ledgerflow_db_batch_size_sum{kind="account_read"}')"
	for n in "${raw_counts[@]}"; do
		run_raw "h$n" "$round" "$n" ledgerflow "$accounts" "rh$$x${round}h$n" "$hot"
	done
	best h "$round" "${raw_counts[@]/#/h}"
	money_step i "$round" "$lf_base" "$connections" "$accounts" "ph$$x$round" "$hot"
	money_step j "$round" "$lf_base" "$hot_connections" "$accounts" "pj$$x$round" "$hot"
	export LF_BENCH_KEY=$scale_key
	money_step s "$round" "$scale_base" "$connections" "$scale_accounts" "ps$$x$round"
done

if [ -n "$only" ]; then
	if [ "$keep" = no ]; then
		stop_pid "$daemon_pid"
		stop_pid "$scale_pid"
		daemon_pid="" scale_pid=""
	fi
	reconcile_only() { # CONF NAME
		"$build/ledgerflowctl" -c "$1" reconcile --full >"$state/reconcile-$2.out" 2>&1 ||
			{ cat "$state/reconcile-$2.out" >&2; die "reconcile --full of the $2 database failed"; }
	}
	reconcile_only "$conf" main
	reconcile_only "$sconf" scale
	# shellcheck source=contrib/bench/report_only.sh
	. "$bench/report_only.sh"
	exit 0
fi

# ---- m: 256 connections, then the workers' peak RSS ----
log "256 connections: POST /api/payments for $((2 * duration)) s, then each worker's VmHWM"
export LF_BENCH_KEY=$main_key
# shellcheck disable=SC2034 # run_secs is read by lib.sh
run_secs=$((2 * duration))
money_step m 1 "$lf_base" "$rss_connections" "$accounts" "pm$$"
rss_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# Pss: the process's share of its pages (a page shared by n processes
# counts 1/n), so the shared zone is counted once over the processes
pss_kib() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
mem_row() { # LABEL PID
	echo "| $1 | $(rss_field "$2" VmHWM) | $(rss_field "$2" VmRSS) | $(rss_field "$2" RssAnon) | $(rss_field "$2" RssFile) | $(rss_field "$2" RssShmem) | $(pss_kib "$2") |"
}
mem_rows=$(mem_row "ledgerflowd master (pid $daemon_pid)" "$daemon_pid")
nworkers=0 worker_hwm_max=0 worker_own_max=0
while read -r pid comm; do
	[ "$comm" = lf-worker ] || continue
	nworkers=$((nworkers + 1))
	hwm=$(rss_field "$pid" VmHWM)
	[ "$hwm" -le "$worker_hwm_max" ] || worker_hwm_max=$hwm
	# the worker's own pages now: heap, stacks, its files (not the zone)
	own=$(($(rss_field "$pid" RssAnon) + $(rss_field "$pid" RssFile)))
	[ "$own" -le "$worker_own_max" ] || worker_own_max=$own
	mem_rows+=$'\n'"$(mem_row "lf-worker (pid $pid)" "$pid")"
done < <(ps -o pid=,comm= --ppid "$daemon_pid")
[ "$nworkers" -gt 0 ] || die "no lf-worker found under pid $daemon_pid"
while read -r pid comm; do
	mem_rows+=$'\n'"$(mem_row "bare evhttp $comm (pid $pid)" "$pid")"
done < <(ps -o pid=,comm= --ppid "$bare_pid")
mem_rows+=$'\n'"$(mem_row "mariadbd" "$(cat "$state/mysql.pid")")"
mem_rows+=$'\n'"$(mem_row "redis-server" "$(cat "$state/redis.pid")")"

# ---- the batch sizes, over the whole run ----
metrics_snapshot "$lf_base" "$state/m-end"
metrics_snapshot "$scale_base" "$state/m-scale-end"
hist_payment=$(batch_histogram "$state/m-end" payment)
hist_read=$(batch_histogram "$state/m-end" account_read)
hist_scale=$(batch_histogram "$state/m-scale-end" payment)

# ---- the books ----
stop_pid "$bare_pid"
bare_pid=""
stop_pid "$daemon_pid"
daemon_pid=""
stop_pid "$scale_pid"
scale_pid=""
reconcile() { # CONF NAME: reconcile --full, its exit status in reconcile_rc_NAME
	local rc=0 t0
	log "ledgerflowctl reconcile --full ($2)"
	t0=$(date +%s)
	"$build/ledgerflowctl" -c "$1" reconcile --full >"$state/reconcile-$2.out" 2>&1 || rc=$?
	sed "s/^/[$2] /" "$state/reconcile-$2.out" >&2
	printf -v "reconcile_rc_$2" '%s' "$rc"
	printf -v "reconcile_s_$2" '%s' "$(($(date +%s) - t0))"
}
reconcile "$conf" main
reconcile "$sconf" scale
payments_rows=$(sql -e "SELECT COUNT(*) FROM payments")

# shellcheck source=contrib/bench/report.sh
. "$bench/report.sh"
