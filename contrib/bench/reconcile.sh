#!/usr/bin/env bash
# contrib/bench/reconcile.sh - how long `ledgerflowctl reconcile` takes on a
# big ledger. For each size N (LF_BENCH_RECONCILE_SIZES, default
# "1000000 10000000" ledger entries): a fresh database, migrated; a
# synthetic ledger of N entries with correct hash chains from
# contrib/bench/gen_ledger.c (LF_BENCH_RECONCILE_ACCOUNTS accounts, 10000 by
# default, each opened by a transfer from the issuance account, then random
# payments), bulk-loaded with LOAD DATA LOCAL INFILE; a timed
# `reconcile --full` (must exit 0; it writes the checkpoint); then
# LF_BENCH_RECONCILE_INCREMENT (100000) more entries loaded and a timed
# incremental `reconcile` (must exit 0 and verify exactly those). Prints a
# markdown table (also in $build/reconcile-results.md). Targets on a
# 2-core machine: 10M full <= 120 s, 1M full <= 15 s, incremental <= 5 s.
#   contrib/bench/reconcile.sh
# Environment: LF_BENCH_BUILD (a configured build directory with
# ledgerflowctl; default build/bench, configured and built here when
# missing), LF_BENCH_MYSQL_PORT (use that MariaDB, login ledgerflow/
# ledgerflow, instead of starting a private one), LF_BENCH_BUFFER_POOL
# (innodb_buffer_pool_size of the private server, default 4G: the 10M
# ledger is about 4 GB on disk, and a production database keeps its hot
# set in memory too). Disk: about 1 KB per entry while it runs (files and
# tables), removed after each size.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=contrib/dev/services.sh
. "$top/contrib/dev/services.sh"

sizes=${LF_BENCH_RECONCILE_SIZES:-"1000000 10000000"}
accounts=${LF_BENCH_RECONCILE_ACCOUNTS:-10000}
increment=${LF_BENCH_RECONCILE_INCREMENT:-100000}
build=${LF_BENCH_BUILD:-$top/build/bench}
pool=${LF_BENCH_BUFFER_POOL:-4G}
for v in accounts increment; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done
for n in $sizes; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "sizes must be positive integers, not '$n'" >&2; exit 2; }
done

log() { printf '[bench-reconcile] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

state=$(mktemp -d /tmp/ledgerflow-bench-reconcile-XXXXXX)
started_mysql=no
cleanup() {
	[ "$started_mysql" = no ] || lf_mysql_stop "$state"
	rm -rf "$state"
}
trap cleanup EXIT

if [ -n "${LF_BENCH_MYSQL_PORT:-}" ]; then
	port=$LF_BENCH_MYSQL_PORT
else
	lf_install_packages
	lf_mysql_start "$state" || die "MariaDB did not start"
	started_mysql=yes
	lf_mysql_provision "$state" >/dev/null
	port=$(cat "$state/mysql.port")
	mariadb --no-defaults -uroot --socket="$state/mysql.sock" \
		-e "SET GLOBAL innodb_buffer_pool_size = $(numfmt --from=iec "$pool")" ||
		log "could not resize the buffer pool; going on"
fi
sqlc() { mariadb --no-defaults --local-infile=1 -h127.0.0.1 -P"$port" -uledgerflow -pledgerflow "$@"; }

if [ ! -x "$build/ledgerflowctl" ]; then
	log "building ledgerflowctl in $build"
	mkdir -p "$build"
	(cd "$top" && [ -x configure ] || autoreconf -fi >/dev/null)
	(cd "$build" && "$top/configure" CFLAGS="-O2 -g" >/dev/null && make -j2 ledgerflowctl >/dev/null)
fi
log "compiling gen_ledger"
gcc -std=gnu11 -O2 -Wall -Wextra -I"$top/include" -I"$build" -include "$build/config.h" \
	"$top/contrib/bench/gen_ledger.c" "$top/src/core/ledger_hash.c" "$top/src/core/hash.c" \
	-lcrypto -o "$state/gen_ledger"

# wall-clock seconds of a command, its output in $state/last.out
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >"$state/last.out" 2>&1 || { cat "$state/last.out" >&2; die "failed: $*"; }
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

ctl() {
	LEDGERFLOW_MYSQL_HOST=127.0.0.1 LEDGERFLOW_MYSQL_PORT=$port LEDGERFLOW_MYSQL_SOCKET= \
		LEDGERFLOW_MYSQL_USER=ledgerflow LEDGERFLOW_MYSQL_PASSWORD=ledgerflow \
		LEDGERFLOW_MYSQL_DATABASE=$db LEDGERFLOW_PATHS_SQL_DIR="$top/sql" \
		"$build/ledgerflowctl" -c "$top/etc/ledgerflow.conf" "$@"
}

load_base() {
	sqlc "$db" <<SQL
SET foreign_key_checks = 0, unique_checks = 0;
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
SOURCE $gen/issuance.sql;
SQL
}

load_increment() {
	sqlc "$db" <<SQL
SET foreign_key_checks = 0, unique_checks = 0;
LOAD DATA LOCAL INFILE '$gen/inc_payments.tsv' INTO TABLE payments
  (@id, client_id, idempotency_key, @fp, @f, @t, amount, currency, reference, status,
   decline_reason, created_at)
  SET id = UNHEX(@id), fingerprint = UNHEX(@fp), from_account_id = UNHEX(@f),
      to_account_id = UNHEX(@t);
LOAD DATA LOCAL INFILE '$gen/inc_entries.tsv' INTO TABLE ledger_entries
  (@a, seq, @id, @p, @cp, direction, amount, balance_after, created_at, @h)
  SET account_id = UNHEX(@a), id = UNHEX(@id), payment_id = UNHEX(@p),
      counterparty_id = UNHEX(@cp), hash = UNHEX(@h);
CREATE TEMPORARY TABLE bench_accounts (id BINARY(16) PRIMARY KEY, balance BIGINT,
  ledger_seq BIGINT, chain_head BINARY(32));
LOAD DATA LOCAL INFILE '$gen/inc_accounts.tsv' INTO TABLE bench_accounts
  (@id, @name, @cur, @kind, balance, ledger_seq, @head, @v, @c, @u, @o)
  SET id = UNHEX(@id), chain_head = UNHEX(@head);
UPDATE accounts a JOIN bench_accounts b ON b.id = a.id
   SET a.balance = b.balance, a.ledger_seq = b.ledger_seq, a.chain_head = b.chain_head;
SQL
}

verified() { sed -n 's/^reconcile: verified \([0-9]*\) ledger entries.*/\1/p' "$state/last.out"; }

rows=()
for n in $sizes; do
	db=lf_bench_reconcile_$n
	gen=$state/gen-$n
	mkdir -p "$gen"
	log "$n entries: generating ($accounts accounts)"
	"$state/gen_ledger" "$gen" "$accounts" "$n" "$increment" >&2
	sqlc -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
	ctl migrate >/dev/null
	log "$n entries: loading"
	t_load=$(timed load_base)
	log "$n entries: reconcile --full"
	t_full=$(timed ctl reconcile --full)
	v_full=$(verified)
	log "$(grep '^reconcile: passes' "$state/last.out")"
	log "$n entries: loading $increment more"
	timed load_increment >/dev/null
	log "$n entries: incremental reconcile"
	t_inc=$(timed ctl reconcile)
	v_inc=$(verified)
	log "$(grep '^reconcile: passes' "$state/last.out")"
	[ "$v_inc" = "$increment" ] || die "the incremental pass verified $v_inc entries, not $increment"
	rate=$(awk -v n="$v_full" -v t="$t_full" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
	rows+=("| $n | $v_full | $t_load | $t_full | $rate | $v_inc | $t_inc |")
	sqlc -e "DROP DATABASE $db"
	rm -rf "$gen"
done

{
	echo "| ledger entries | verified (full) | load s | full reconcile s | entries/s | incremental entries | incremental s |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
} | tee "$build/reconcile-results.md"
