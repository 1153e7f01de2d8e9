#!/usr/bin/env bash
# contrib/cluster/up.sh - several hosts on one machine, over loopback only,
# everything under one private state directory: a 3-node MariaDB Galera
# cluster (Debian's galera-4, rsync SST, IST on restart), Redis with one
# replica and three Sentinels, and two ledgerflowd instances as two
# "hosts" (own ports, pid files, shared-memory zones and logs; both list
# the Galera nodes in the same order and the three sentinels, and read
# from node 3 as their [mysql_replica]). Used by
# hand and by tests/integration/test_cluster.c.
#
#   contrib/cluster/up.sh start STATE_DIR      # everything; prints the endpoints
#   contrib/cluster/up.sh stop STATE_DIR       # everything it started (down.sh too)
#   contrib/cluster/up.sh status STATE_DIR     # the endpoints and who is up
#   contrib/cluster/up.sh galera-kill STATE_DIR N    # kill -9 node N (1..3)
#   contrib/cluster/up.sh galera-start STATE_DIR N   # bring it back (IST after
#                                                     # mariadbd --wsrep-recover)
#   contrib/cluster/up.sh redis-kill STATE_DIR N     # kill -9 Redis N (1 master, 2 replica)
#   contrib/cluster/up.sh redis-start STATE_DIR N    # start it again as first configured
#                                                     # (the Sentinels reconfigure it)
#   contrib/cluster/up.sh host-start STATE_DIR N | host-stop STATE_DIR N
#
# Environment: LF_BUILD_DIR (where ledgerflowd and ledgerflowctl are;
# default build/dev of this tree), LF_CLUSTER_PORT_BASE (first port to try;
# default random in 20000..31999, below Linux's ephemeral ports; only odd
# ports are used). The endpoints land in STATE_DIR/cluster.env
# (name=value lines, also read by the test). Exit 3: Galera cannot run on
# this machine (the tests then skip).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=contrib/dev/services.sh
. "$top/contrib/dev/services.sh"

GALERA_LIB=/usr/lib/galera/libgalera_smm.so
NODES=3
SENTINELS=3
HOSTS=2

clog() { printf '[cluster] %s\n' "$*" >&2; }
die() { clog "$*"; exit 1; }

# ---- ports and the environment file ----

# Linux gives connect() even ports of ip_local_port_range first (bind(0)
# the odd ones): a server that listens on an even port in that range may
# find it taken by some outgoing connection when it starts (seen here with
# Galera's IST and SST ports). So: odd ports, and by default below the
# range altogether.
put_port() { # name=a free odd port at or after $next; next moves past it
	local p
	p=$(lf_free_port "$next")
	while [ $((p % 2)) -eq 0 ]; do
		p=$(lf_free_port $((p + 1)))
	done
	next=$((p + 1))
	env_put "$1" "$p"
}

env_get() { sed -n "s/^$1=//p" "$state/cluster.env" 2>/dev/null | tail -1; }
env_put() { echo "$1=$2" >>"$state/cluster.env"; }

# ---- Galera ----

# rsync SST runs its daemon as nobody when started by root: the nodes run
# as the mysql user, so their directories must be reachable by it. The
# state directory may not be (mktemp -d is 0700): then the nodes live in a
# directory of their own under /tmp, linked from STATE_DIR/galera.
galera_dirs() {
	if [ -L "$state/galera" ] || [ -d "$state/galera" ]; then
		gdir=$(readlink -f "$state/galera")
		return
	fi
	if [ "$(id -u)" -eq 0 ]; then
		runas=mysql
		mkdir -p "$state/galera"
		if ! runuser -u mysql -- test -x "$state/galera" 2>/dev/null; then
			rmdir "$state/galera"
			local g
			g=$(mktemp -d /tmp/lf-galera-XXXXXX)
			chmod 0711 "$g"
			ln -s "$g" "$state/galera"
		fi
	else
		runas=$(id -un)
		mkdir -p "$state/galera"
	fi
	gdir=$(readlink -f "$state/galera")
}

node_cnf() { # node i's my.cnf
	local i=$1 d="$gdir/node$1"
	local addr="gcomm://127.0.0.1:$(env_get galera1_gcomm),127.0.0.1:$(env_get galera2_gcomm),127.0.0.1:$(env_get galera3_gcomm)"
	local gp ip sp mp
	gp=$(env_get "galera${i}_gcomm")
	ip=$(env_get "galera${i}_ist")
	sp=$(env_get "galera${i}_sst")
	mp=$(env_get "galera${i}_port")
	cat >"$d/my.cnf" <<EOF
[mysqld]
user=$runas
datadir=$d/data
socket=$d/mysql.sock
port=$mp
bind-address=127.0.0.1
pid-file=$d/mysqld.pid
log-error=$d/mysqld.err
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
max_connections=400
binlog_format=ROW
server_id=$((100 + i))
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=64M
innodb_log_file_size=16M
innodb_flush_log_at_trx_commit=1
wsrep_on=ON
wsrep_provider=$GALERA_LIB
wsrep_cluster_name=ledgerflow
wsrep_cluster_address=$addr
wsrep_node_name=node$i
wsrep_node_address=127.0.0.1:$gp
wsrep_node_incoming_address=127.0.0.1:$mp
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$sp
wsrep_provider_options="base_host=127.0.0.1;base_port=$gp;gmcast.listen_addr=tcp://127.0.0.1:$gp;ist.recv_addr=127.0.0.1:$ip;gcache.size=32M;evs.suspect_timeout=PT10S;evs.inactive_timeout=PT30S;evs.install_timeout=PT20S"
wsrep_slave_threads=2
EOF
}

sql_node() { # run SQL (stdin or $2) as root on node $1's socket
	local i=$1
	shift
	mariadb --no-defaults -uroot --socket="$gdir/node$i/mysql.sock" -N -B "$@"
}

node_state() { # wsrep_local_state_comment of node i, or "down"
	sql_node "$1" -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | awk '{print $2}' || true
}

wait_synced() { # node i Synced within $2 seconds
	local i=$1 limit=$2 s=""
	for _ in $(seq 1 $((limit * 5))); do
		s=$(node_state "$i")
		[ "$s" = Synced ] && return 0
		kill -0 "$(cat "$gdir/node$i/launch.pid" 2>/dev/null || echo 0)" 2>/dev/null || break
		sleep 0.2
	done
	clog "node $i is not Synced after ${limit}s (state: ${s:-down}); see $gdir/node$i/mysqld.err"
	tail -15 "$gdir/node$i/mysqld.err" >&2 || true
	return 1
}

node_launch() { # start node i with extra mariadbd arguments
	local i=$1
	shift
	local d="$gdir/node$i" old
	old=$(cat "$d/launch.pid" 2>/dev/null || true)
	if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then # a stuck earlier attempt
		kill -KILL "$old" 2>/dev/null || true
		sleep 1
	fi
	# setsid: the node outlives this script and is not in a test's group
	setsid "$(lf_mysqld_bin)" --defaults-file="$d/my.cnf" "$@" >>"$d/stdout.log" 2>&1 </dev/null &
	echo $! >"$d/launch.pid"
}

galera_init() {
	galera_dirs
	for i in $(seq 1 $NODES); do
		local d="$gdir/node$i"
		mkdir -p "$d/data"
		node_cnf "$i"
	done
	clog "initialising node 1 in $gdir/node1"
	mariadb-install-db --defaults-file="$gdir/node1/my.cnf" --user="$runas" \
		--auth-root-authentication-method=socket --skip-test-db \
		>"$gdir/node1/install.log" 2>&1 || die "mariadb-install-db failed; see $gdir/node1/install.log"
	[ "$(id -u)" -ne 0 ] || chown -R mysql:mysql "$gdir"/node*
}

galera_start_all() {
	clog "bootstrapping node 1 (127.0.0.1:$(env_get galera1_port))"
	node_launch 1 --wsrep-new-cluster
	if ! wait_synced 1 60; then
		clog "node 1 did not start: once more"
		node_launch 1 --wsrep-new-cluster
		wait_synced 1 60 || return 1
	fi
	for i in $(seq 2 $NODES); do
		clog "node $i joins (127.0.0.1:$(env_get galera${i}_port), full state transfer)"
		node_launch "$i"
		wait_synced "$i" 120 && continue
		clog "node $i did not join: once more"
		node_launch "$i"
		wait_synced "$i" 120 || return 1
	done
	local size
	size=$(sql_node 1 -e "SHOW STATUS LIKE 'wsrep_cluster_size'" | awk '{print $2}')
	[ "$size" = "$NODES" ] || die "cluster size $size, expected $NODES"
}

node_pid() { # the server's pid file, else the last launch's pid while it lives
	local p
	p=$(cat "$gdir/node$1/mysqld.pid" 2>/dev/null || true)
	[ -n "$p" ] || p=$(cat "$gdir/node$1/launch.pid" 2>/dev/null || true)
	[ -z "$p" ] || ! kill -0 "$p" 2>/dev/null || echo "$p"
}

galera_kill() {
	local i=$1 pid
	galera_dirs
	pid=$(node_pid "$i")
	[ -n "$pid" ] || die "node $i has no pid file"
	kill -KILL "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$gdir/node$i/mysqld.pid"
	clog "node $i killed (-9)"
}

# After a kill -9 a node started as is would take a full copy: recover its
# position first, so it rejoins by IST (only the writesets it missed). A
# joiner can abort when its donor stalls (a loaded machine): once more.
galera_start() {
	galera_dirs
	[ "$(node_state "$1")" != Synced ] || return 0
	galera_rejoin "$1" && return 0
	clog "node $1 did not rejoin: once more"
	galera_rejoin "$1"
}

galera_rejoin() {
	local i=$1 d pos
	d="$gdir/node$i"
	rm -f "$d/recover.log"
	"$(lf_mysqld_bin)" --defaults-file="$d/my.cnf" --wsrep-recover --log-error="$d/recover.log" \
		>/dev/null 2>&1 || true
	pos=$(sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:-\{0,1\}[0-9]*\).*/\1/p' \
		"$d/recover.log" 2>/dev/null | tail -1)
	[ "$(id -u)" -ne 0 ] || chown -R mysql:mysql "$d"
	if [ -n "$pos" ]; then
		clog "node $i rejoins from $pos"
		node_launch "$i" --wsrep-start-position="$pos"
	else
		clog "node $i rejoins (no recovered position: full state transfer)"
		node_launch "$i"
	fi
	wait_synced "$i" 120
}

galera_stop() {
	galera_dirs
	for i in $(seq $NODES -1 1); do
		local pid
		pid=$(node_pid "$i")
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 300); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# The database, the admin login (migrations, reconcile, the test's SQL)
# and the runtime user's account (its grants come after migrate).
galera_provision() {
	sql_node 1 <<SQL
CREATE DATABASE IF NOT EXISTS ledgerflow CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'lfadmin'@'127.0.0.1' IDENTIFIED BY 'lfadmin';
GRANT ALL ON *.* TO 'lfadmin'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'lf_rt'@'127.0.0.1' IDENTIFIED BY 'lf_rt';
SQL
}

# ---- Redis: a master, a replica, three sentinels ----

redis_start_node() { # 1 = master, 2 = replica of 1
	local i=$1 port replica=()
	port=$(env_get "redis${i}_port")
	[ "$i" -eq 1 ] || replica=(--replicaof 127.0.0.1 "$(env_get redis1_port)")
	mkdir -p "$state/redis$i"
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
		--pidfile "$state/redis$i/redis.pid" --logfile "$state/redis$i/redis.log" \
		--dir "$state/redis$i" "${replica[@]}" >/dev/null
}

sentinel_start() {
	local i=$1 d="$state/sentinel$1"
	mkdir -p "$d"
	# sentinels rewrite their file: a fresh one per start
	cat >"$d/sentinel.conf" <<EOF
port $(env_get "sentinel${i}_port")
bind 127.0.0.1
daemonize yes
pidfile $d/sentinel.pid
logfile $d/sentinel.log
dir $d
sentinel monitor lfmaster 127.0.0.1 $(env_get redis1_port) 2
sentinel down-after-milliseconds lfmaster 1000
sentinel failover-timeout lfmaster 4000
sentinel parallel-syncs lfmaster 1
EOF
	redis-server "$d/sentinel.conf" --sentinel >/dev/null
}

sentinel_master_port() {
	redis-cli -h 127.0.0.1 -p "$(env_get sentinel1_port)" SENTINEL get-master-addr-by-name lfmaster \
		2>/dev/null | sed -n 2p
}

redis_start_all() {
	redis_start_node 1
	redis_start_node 2
	for i in $(seq 1 $SENTINELS); do sentinel_start "$i"; done
	for _ in $(seq 1 100); do
		if [ "$(sentinel_master_port)" = "$(env_get redis1_port)" ] &&
			[ -n "$(redis-cli -p "$(env_get sentinel1_port)" SENTINEL replicas lfmaster 2>/dev/null)" ]; then
			return 0
		fi
		sleep 0.1
	done
	die "the sentinels did not settle; see $state/sentinel1/sentinel.log"
}

redis_stop_all() {
	for i in $(seq 1 $SENTINELS); do lf_pid_stop "$state/sentinel$i/sentinel.pid"; done
	lf_pid_stop "$state/redis2/redis.pid"
	lf_pid_stop "$state/redis1/redis.pid"
}

# ---- the two hosts ----

host_conf() {
	local i=$1 d="$state/host$i"
	mkdir -p "$d"
	local nodes="127.0.0.1:$(env_get galera1_port),127.0.0.1:$(env_get galera2_port),127.0.0.1:$(env_get galera3_port)"
	local sentinels="127.0.0.1:$(env_get sentinel1_port),127.0.0.1:$(env_get sentinel2_port),127.0.0.1:$(env_get sentinel3_port)"
	(
		umask 077
		cat >"$d/ledgerflow.conf" <<EOF
# host $i of the cluster in $state
[server]
listen = 127.0.0.1:$(env_get "host${i}_port")
workers = 2
pid_file = $d/ledgerflowd.pid
shutdown_timeout = 10s
request_timeout = 8s
[mysql]
host = $nodes
user = lf_rt
password = lf_rt
admin_user = lfadmin
admin_password = lfadmin
database = ledgerflow
pool_size = 4
request_timeout = 6s
connect_timeout = 1s
failback_interval = 2s
[mysql_replica]
# reads from the last node while it is Synced with a short receive queue
host = 127.0.0.1:$(env_get galera3_port)
[redis]
sentinels = $sentinels
master_name = lfmaster
breaker_cooldown = 500ms
[cache]
size = 4M
[auth]
pepper_file = $state/pepper
[paths]
sql_dir = $top/sql
EOF
	)
}

host_start() {
	local i=$1 d="$state/host$i" port
	port=$(env_get "host${i}_port")
	setsid "$build/ledgerflowd" -f -c "$d/ledgerflow.conf" >>"$d/ledgerflowd.log" 2>&1 </dev/null &
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
		sleep 0.1
	done
	die "host $i did not start; see $d/ledgerflowd.log"
}

host_stop() { lf_pid_stop "$state/host$1/ledgerflowd.pid"; }

hosts_provision() {
	local ctl="$build/ledgerflowctl" conf="$state/host1/ledgerflow.conf"
	"$ctl" -c "$conf" migrate >>"$state/ctl.log" 2>&1 || die "migrate failed; see $state/ctl.log"
	"$ctl" -c "$conf" grants --user lf_rt --host 127.0.0.1 2>>"$state/ctl.log" | sql_node 1 ||
		die "grants failed; see $state/ctl.log"
	local key
	key=$("$ctl" -c "$conf" client create cluster-admin --scopes admin --rate 1000000 \
		2>>"$state/ctl.log" | tail -1)
	[ -n "$key" ] || die "client create failed; see $state/ctl.log"
	(umask 077 && echo "$key" >"$state/admin.key")
}

# ---- commands ----

cluster_start() {
	[ -x "$GALERA_LIB" ] || [ -f "$GALERA_LIB" ] || { clog "no $GALERA_LIB (apt-get install galera-4)"; exit 3; }
	command -v rsync >/dev/null || { clog "no rsync (the state transfer needs it)"; exit 3; }
	command -v redis-sentinel >/dev/null || command -v redis-server >/dev/null || { clog "no redis-server"; exit 3; }
	[ -x "$build/ledgerflowd" ] || die "no $build/ledgerflowd (set LF_BUILD_DIR)"
	if [ "$(id -u)" -eq 0 ] && ! id mysql >/dev/null 2>&1; then
		clog "running as root without a mysql user: the rsync state transfer cannot work"
		exit 3
	fi
	mkdir -p "$state"
	state=$(cd "$state" && pwd)
	[ ! -s "$state/cluster.env" ] || die "$state already holds a cluster (stop it first)"
	next=${LF_CLUSTER_PORT_BASE:-$((20000 + RANDOM % 12000))}
	: >"$state/cluster.env"
	for i in $(seq 1 $NODES); do
		put_port "galera${i}_port"
		put_port "galera${i}_gcomm"
		put_port "galera${i}_ist"
		put_port "galera${i}_sst"
	done
	for i in 1 2; do put_port "redis${i}_port"; done
	for i in $(seq 1 $SENTINELS); do put_port "sentinel${i}_port"; done
	for i in $(seq 1 $HOSTS); do put_port "host${i}_port"; done
	local t0=$SECONDS
	galera_init
	env_put galera_dir "$gdir"
	galera_start_all || { cluster_stop; exit 1; }
	galera_provision
	redis_start_all
	for i in $(seq 1 $HOSTS); do host_conf "$i"; done
	hosts_provision
	for i in $(seq 1 $HOSTS); do host_start "$i"; done
	env_put admin_key_file "$state/admin.key"
	env_put build "$build"
	clog "up in $((SECONDS - t0)) s"
	cluster_status
}

cluster_stop() {
	[ -d "$state" ] || return 0
	for i in $(seq 1 $HOSTS); do host_stop "$i" || true; done
	redis_stop_all || true
	if [ -e "$state/galera" ]; then
		galera_stop || true
		local g
		g=$(readlink -f "$state/galera")
		for i in $(seq 1 $NODES); do # the logs outlive the data
			cp "$g/node$i/mysqld.err" "$state/galera-node$i.err" 2>/dev/null || true
		done
		if [ -L "$state/galera" ]; then
			rm -rf "$g"
			rm -f "$state/galera"
		fi
	fi
	rm -f "$state/cluster.env"
}

cluster_status() {
	galera_dirs
	for i in $(seq 1 $NODES); do
		echo "galera node $i  127.0.0.1:$(env_get galera${i}_port)  (galera $(env_get galera${i}_gcomm), IST $(env_get galera${i}_ist), SST $(env_get galera${i}_sst))  $(node_state "$i" || true)"
	done
	echo "redis master    127.0.0.1:$(env_get redis1_port); replica 127.0.0.1:$(env_get redis2_port); sentinels master now :$(sentinel_master_port)"
	for i in $(seq 1 $SENTINELS); do echo "sentinel $i      127.0.0.1:$(env_get sentinel${i}_port)"; done
	for i in $(seq 1 $HOSTS); do
		echo "host $i          http://127.0.0.1:$(env_get host${i}_port)  config $state/host$i/ledgerflow.conf  pid $(cat "$state/host$i/ledgerflowd.pid" 2>/dev/null || echo -)"
	done
	echo "admin key       $state/admin.key"
	echo "mysql           mariadb -h127.0.0.1 -P$(env_get galera1_port) -ulfadmin -plfadmin ledgerflow"
}

cmd=${1:-}
state=${2:-}
[ -n "$cmd" ] && [ -n "$state" ] || {
	echo "usage: $0 start|stop|status STATE_DIR | galera-kill|galera-start|redis-kill|redis-start|host-start|host-stop STATE_DIR N" >&2
	exit 2
}
[ "$cmd" = start ] || [ -d "$state" ] || die "no state directory $state"
state=$(mkdir -p "$state" && cd "$state" && pwd)
build=${LF_BUILD_DIR:-$top/build/dev}
build=$(cd "$build" 2>/dev/null && pwd || echo "$build")
runas=mysql
[ "$(id -u)" -eq 0 ] || runas=$(id -un)
case "$cmd" in
start) cluster_start ;;
stop) cluster_stop ;;
status) cluster_status ;;
galera-kill) galera_kill "${3:?node}" ;;
galera-start) galera_start "${3:?node}" ;;
redis-kill) lf_pid_stop "$state/redis${3:?node}/redis.pid" KILL ;;
redis-start) redis_start_node "${3:?node}" ;;
host-start) host_start "${3:?host}" ;;
host-stop) host_stop "${3:?host}" ;;
*) echo "unknown command $cmd" >&2; exit 2 ;;
esac
