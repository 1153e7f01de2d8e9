#!/usr/bin/env bash
# contrib/dev/services.sh - private MariaDB and Redis for development, the
# test suite and CI: no systemd, loopback only, data under a state
# directory of our own. Sourced by serve.sh and test.sh; also usable alone:
#   contrib/dev/services.sh install
#   contrib/dev/services.sh start STATE_DIR [MYSQL_PORT REDIS_PORT]
#   contrib/dev/services.sh stop STATE_DIR
#   contrib/dev/services.sh mysql-stop STATE_DIR | mysql-start STATE_DIR
#   contrib/dev/services.sh redis-stop STATE_DIR | redis-start STATE_DIR
#   contrib/dev/services.sh replica-start STATE_DIR PORT [DB_PATTERN]
#   contrib/dev/services.sh replica-stop STATE_DIR | replica-drop STATE_DIR
set -euo pipefail

LF_PACKAGES=(autoconf automake libtool pkg-config make gcc
	libevent-dev libmariadb-dev libhiredis-dev libmsgpack-dev libjemalloc-dev
	libcunit1-dev libjson-c-dev libinih-dev libssl-dev libsystemd-dev
	mariadb-server mariadb-client redis-server openssl curl procps iproute2
	systemd man-db galera-4 rsync
	logrotate prometheus)
# galera-4 and rsync are for the cluster test (tests/integration/test_cluster);
# logrotate and prometheus (for promtool, about 50 s and 100 MB to install)
# for the operator's kit tests (tests/ops/); without them they skip. The
# OpenAPI document's test uses the machine's Node.js npx (not Debian's npm,
# which would not install beside it).

lf_log() { printf '[services] %s\n' "$*" >&2; }

lf_install_packages() {
	local missing=()
	for p in "${LF_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	lf_log "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >/dev/null
	# policy-rc.d keeps the packages from starting system-wide services
	local made_policy=no
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
		$sudo chmod +x /usr/sbin/policy-rc.d
		made_policy=yes
	fi
	local rc=0
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ "$made_policy" = no ] || $sudo rm -f /usr/sbin/policy-rc.d
	return $rc
}

# A TCP port nobody listens on, starting from $1 (default: a random port
# in 20000..39999, so concurrent runs rarely pick the same one).
lf_free_port() {
	local port=${1:-$((20000 + RANDOM % 20000))}
	while ss -Hltn "sport = :$port" 2>/dev/null | grep -q . ; do
		port=$((port + 1))
	done
	echo "$port"
}

lf_mysqld_bin() {
	command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd
}

lf_mysql_start() {
	local state=$1 port=${2:-}
	mkdir -p "$state"
	if [ -z "$port" ]; then
		port=$(cat "$state/mysql.port" 2>/dev/null || true)
	fi
	if [ -n "$port" ]; then
		lf_mysql_start_on "$state" "$port"
		return
	fi
	# a port chosen for us may be taken by a concurrent run in the meantime
	for _ in 1 2 3; do
		lf_mysql_start_on "$state" "$(lf_free_port)" && return 0
	done
	return 1
}

lf_mysql_start_on() {
	local state=$1 port=$2
	echo "$port" >"$state/mysql.port"
	if [ ! -d "$state/mysql/mysql" ]; then
		lf_log "initialising MariaDB data directory in $state/mysql"
		mariadb-install-db --no-defaults --datadir="$state/mysql" --user="$(id -un)" \
			--auth-root-authentication-method=socket --skip-test-db >"$state/mysql-init.log" 2>&1
	fi
	lf_log "starting MariaDB on 127.0.0.1:$port"
	"$(lf_mysqld_bin)" --no-defaults --datadir="$state/mysql" --socket="$state/mysql.sock" \
		--port="$port" --bind-address=127.0.0.1 --pid-file="$state/mysql.pid" \
		--log-error="$state/mysql.err" --user="$(id -un)" \
		--log-bin="$state/mysql-bin" --server-id=1 --binlog-format=ROW \
		--log-bin-trust-function-creators=1 --expire-logs-days=1 \
		--innodb-buffer-pool-size=256M --innodb-log-file-size=128M \
		--innodb-flush-log-at-trx-commit=1 --max-connections=500 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
		>/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 1 300); do
		if mariadb-admin --no-defaults -uroot --socket="$state/mysql.sock" ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	lf_log "MariaDB did not start; see $state/mysql.err"
	tail -20 "$state/mysql.err" >&2 || true
	return 1
}

# Create the database and the privileged login "ledgerflow" (password
# "ledgerflow"): ALL ON *.* WITH GRANT OPTION, because with it the
# integration tests create and drop their databases and the runtime users
# they run the servers as, and serve.sh migrates (it is [mysql] admin_user
# there). The server itself never runs as it: see lf_mysql_runtime_user.
lf_mysql_provision() {
	local state=$1 db=${2:-ledgerflow}
	mariadb --no-defaults -uroot --socket="$state/mysql.sock" <<SQL
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'ledgerflow'@'127.0.0.1' IDENTIFIED BY 'ledgerflow';
CREATE USER IF NOT EXISTS 'ledgerflow'@'localhost' IDENTIFIED BY 'ledgerflow';
GRANT ALL ON *.* TO 'ledgerflow'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL ON *.* TO 'ledgerflow'@'localhost' WITH GRANT OPTION;
SQL
}

# The runtime user USER@127.0.0.1 (password PASSWORD) with exactly the
# privileges `ledgerflowctl -c CONF grants` prints for it (REVOKE ALL, then
# the GRANTs): run after migrate, as the tables and procedures must exist.
lf_mysql_runtime_user() {
	local state=$1 user=$2 password=$3 ctl=$4 conf=$5
	mariadb --no-defaults -uroot --socket="$state/mysql.sock" <<SQL
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER '$user'@'127.0.0.1' IDENTIFIED BY '$password';
SQL
	"$ctl" -c "$conf" grants --user "$user" --host 127.0.0.1 |
		mariadb --no-defaults -uroot --socket="$state/mysql.sock"
}

lf_pid_stop() {
	local pidfile=$1 sig=${2:-TERM}
	[ -f "$pidfile" ] || return 0
	local pid
	pid=$(cat "$pidfile" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

lf_mysql_stop() { lf_pid_stop "$1/mysql.pid"; }

# A second MariaDB replicating from the one above by GTID (read-replica
# tests): data in STATE_DIR/replica, port PORT, socket STATE_DIR/replica.sock.
# A fresh one starts from the primary's current position (what exists before is
# not copied: create the databases it should hold afterwards) and applies
# only the databases matching DB_PATTERN (a replicate-wild-do-table
# pattern, default every database but mysql's). The login "ledgerflow" is
# its own (as on the primary).
lf_replica_start() {
	local state=$1 port=$2 pattern=${3:-%}
	local dir="$state/replica" fresh=no
	if [ ! -d "$dir/mysql" ]; then
		fresh=yes
		mariadb-install-db --no-defaults --datadir="$dir" --user="$(id -un)" \
			--auth-root-authentication-method=socket --skip-test-db >"$state/replica-init.log" 2>&1
	fi
	echo "$port" >"$state/replica.port"
	lf_log "starting the replica on 127.0.0.1:$port"
	"$(lf_mysqld_bin)" --no-defaults --datadir="$dir" --socket="$state/replica.sock" \
		--port="$port" --bind-address=127.0.0.1 --pid-file="$state/replica.pid" \
		--log-error="$state/replica.err" --user="$(id -un)" --skip-log-bin --server-id=2 \
		--innodb-buffer-pool-size=64M --max-connections=300 \
		--replicate-wild-do-table="$pattern.%" --replicate-wild-ignore-table="mysql.%" \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
		>/dev/null 2>&1 &
	local pid=$! sql=(mariadb --no-defaults -uroot --socket="$state/replica.sock")
	for _ in $(seq 1 300); do
		mariadb-admin --no-defaults -uroot --socket="$state/replica.sock" ping >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { lf_log "the replica did not start; see $state/replica.err"; return 1; }
		sleep 0.1
	done
	# started again: it goes on from where it stopped
	[ "$fresh" = yes ] || return 0
	local pos
	pos=$(mariadb --no-defaults -uroot --socket="$state/mysql.sock" -N -B -e "SELECT @@global.gtid_binlog_pos")
	"${sql[@]}" <<SQL
CREATE USER IF NOT EXISTS 'ledgerflow'@'127.0.0.1' IDENTIFIED BY 'ledgerflow';
GRANT ALL ON *.* TO 'ledgerflow'@'127.0.0.1' WITH GRANT OPTION;
STOP SLAVE;
SET GLOBAL gtid_slave_pos = '$pos';
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(cat "$state/mysql.port"),
  MASTER_USER='ledgerflow', MASTER_PASSWORD='ledgerflow', MASTER_USE_GTID=slave_pos,
  MASTER_DELAY=0;
START SLAVE;
SQL
}

# replica-stop stops it and keeps its data (replica-start goes on from
# there); replica-drop also deletes it.
lf_replica_stop() { lf_pid_stop "$1/replica.pid"; }
lf_replica_drop() {
	lf_replica_stop "$1"
	rm -rf "$1/replica" "$1/replica.port" "$1/replica.err" "$1/replica-init.log"
}

lf_redis_start() {
	local state=$1 port=${2:-}
	mkdir -p "$state/redis"
	if [ -z "$port" ]; then
		port=$(cat "$state/redis.port" 2>/dev/null || true)
	fi
	if [ -n "$port" ]; then
		lf_redis_start_on "$state" "$port"
		return
	fi
	for _ in 1 2 3; do
		lf_redis_start_on "$state" "$(lf_free_port)" && return 0
	done
	return 1
}

lf_redis_start_on() {
	local state=$1 port=$2
	echo "$port" >"$state/redis.port"
	lf_log "starting Redis on 127.0.0.1:$port"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$state/redis" --daemonize yes \
		--pidfile "$state/redis.pid" --logfile "$state/redis.log" --save "" --appendonly no \
		--maxmemory 256mb --maxmemory-policy volatile-lru >/dev/null
	for _ in $(seq 1 100); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	lf_log "Redis did not start; see $state/redis.log"
	return 1
}

lf_redis_stop() { lf_pid_stop "$1/redis.pid"; }

lf_services_start() {
	local state=$1
	lf_mysql_start "$state" "${2:-}"
	lf_mysql_provision "$state"
	lf_redis_start "$state" "${3:-}"
}

lf_services_stop() {
	lf_redis_stop "$1"
	lf_mysql_stop "$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case "$cmd" in
	install) lf_install_packages ;;
	start) lf_services_start "$@" ;;
	stop) lf_services_stop "$@" ;;
	mysql-start) lf_mysql_start "$@" ;;
	mysql-stop) lf_mysql_stop "$@" ;;
	redis-start) lf_redis_start "$@" ;;
	redis-stop) lf_redis_stop "$@" ;;
	replica-start) lf_replica_start "$@" ;;
	replica-stop) lf_replica_stop "$@" ;;
	replica-drop) lf_replica_drop "$@" ;;
	*) echo "usage: $0 install|start|stop|mysql-start|mysql-stop|redis-start|redis-stop|replica-start|replica-stop|replica-drop STATE_DIR" >&2; exit 2 ;;
	esac
fi
