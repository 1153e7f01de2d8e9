# contrib/bench/lib.sh - the helpers of contrib/bench/run.sh, sourced by
# it: bounded runs of wrk and raw_db that record their figures, /metrics
# and /proc readers, and the statistics over rounds. Everything here reads
# run.sh's globals (state, build, rounds, run_secs, R, ...); nothing runs
# on its own.
# shellcheck shell=bash disable=SC2154

log() { printf '[bench %3d s] %s\n' "$SECONDS" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# a port that looks free, from a random base (fewer races with other jobs)
pick_port() { lf_free_port $(($1 + RANDOM % 2000)); }

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

# ---- figures: R[STEP.ROUND.KEY] ----
# store STEP ROUND LINE: "TAG k=v k=v ..." -> R[STEP.ROUND.k], plus rps
store() {
	local kv
	for kv in ${3#* }; do
		R[$1.$2.${kv%%=*}]=${kv#*=}
	done
	local d=${R[$1.$2.duration_us]:-0}
	R[$1.$2.rps]=$((d > 0 ? (${R[$1.$2.requests]:-0} * 1000000 + d / 2) / d : 0))
}
# line_of FILE PREFIX: the first line of FILE starting with PREFIX (no fork)
line_of() {
	local l
	while IFS= read -r l; do
		[[ $l != "$2"* ]] || { printf '%s\n' "$l"; return 0; }
	done <"$1"
	return 1
}

# ---- CPU per process group during a step (from /proc, no perf needed) ----
# daemon_pids MASTER: the master and its children (the workers)
daemon_pids() { [ -z "$1" ] || { echo "$1"; ps -o pid= --ppid "$1" | tr -d ' '; }; }
# cpu_pids: note the processes of each group (once the servers are up)
cpu_pids() {
	CPU_HZ=$(getconf CLK_TCK)
	CPU_DB=$(<"$state/mysql.pid") CPU_REDIS=$(<"$state/redis.pid")
	CPU_LF=$(daemon_pids "$daemon_pid"; daemon_pids "$scale_pid")
}
# cpu_sample: "UPTIME_CS MACHINE DB REDIS LF", the clock (centiseconds) and
# the CPU ticks used so far by the machine, mariadbd, redis-server and the
# ledgerflowd processes, all read by one awk at (nearly) one instant
cpu_sample() {
	local args=(g=db "/proc/$CPU_DB/stat" g=redis "/proc/$CPU_REDIS/stat" g=lf) p
	for p in $CPU_LF; do args+=("/proc/$p/stat"); done
	awk 'FILENAME == "/proc/uptime" { u = $1 * 100 }
		FILENAME == "/proc/stat" && $1 == "cpu" { m = $2 + $3 + $4 + $7 + $8 }
		FILENAME ~ /^\/proc\/[0-9]+\/stat$/ { t[g] += $14 + $15 }
		END { printf "%d %d %d %d %d\n", u, m, t["db"], t["redis"], t["lf"] }' \
		/proc/uptime /proc/stat "${args[@]}" 2>/dev/null
}
cpu_mark() { CPU0=$(cpu_sample); } # before a step
# cpu_take STEP ROUND GEN_TICKS: CPU used per group since cpu_mark, in % of
# one core (200 = both cores of the reference machine); GEN_TICKS: the load
# generator's own ticks
cpu_take() {
	local x y cs i k=(cs machine db redis lf)
	read -ra x <<<"$CPU0"
	read -ra y <<<"$(cpu_sample)"
	cs=$((y[0] - x[0]))
	[ "$cs" -gt 0 ] || cs=1
	for i in 1 2 3 4; do
		R[$1.$2.cpu_${k[$i]}]=$(((y[i] - x[i]) * 10000 / CPU_HZ / cs))
	done
	R[$1.$2.cpu_gen]=$((${3:-0} * 10000 / CPU_HZ / cs))
}
# gen_run OUT CMD...: CMD with its output in OUT, and the CPU ticks it and
# its children used in OUT.cpu (the subshell's cutime + cstime once they
# are reaped); its exit status
gen_run() {
	local out=$1
	shift
	(
		rc=0
		"$@" >"$out" 2>&1 || rc=$?
		awk '{ print $16 + $17 }' "/proc/$BASHPID/stat" >"$out.cpu"
		exit $rc
	)
}

# ---- /metrics ----
metrics_snapshot() { curl -s --max-time 5 "$1/metrics" >"$2"; } # BASE FILE
# deltas BEFORE AFTER NAME{labels}...: the change of each metric, on one line
deltas() {
	local IFS='|'
	awk -v names="$*" 'BEGIN { n = split(names, k, "|") }
		FNR == NR { a[$1] = $2; next } { b[$1] = $2 }
		END { for (i = 3; i <= n; i++) printf "%d ", b[k[i]] - a[k[i]]; print "" }' "$1" "$2"
}
# money_deltas STEP ROUND BEFORE AFTER: what the server counted in a step
money_deltas() {
	local s=$1 r=$2
	read -r R["$s.$r.completed"] R["$s.$r.declined"] R["$s.$r.retries"] R["$s.$r.c5xx"] \
		R["$s.$r.batches"] R["$s.$r.batched"] <<<"$(deltas "$3" "$4" \
		'ledgerflow_payments_total{status="completed"}' \
		'ledgerflow_payments_total{status="declined"}' ledgerflow_db_retries_total \
		'ledgerflow_http_responses_total{class="5xx"}' \
		'ledgerflow_db_batch_size_count{kind="payment"}' \
		'ledgerflow_db_batch_size_sum{kind="payment"}')"
}
# ---- MariaDB's own counters (SHOW GLOBAL STATUS) ----
INNODB_COUNTERS=(Innodb_buffer_pool_read_requests Innodb_buffer_pool_reads Innodb_data_reads
	Innodb_data_writes Innodb_data_written Innodb_buffer_pool_pages_flushed Innodb_os_log_written
	Innodb_rows_read Innodb_rows_inserted Innodb_rows_updated Handler_read_key Handler_read_next
	Handler_write Innodb_buffer_pool_wait_free index_page_splits)
innodb_snapshot() { # FILE: "name value" lines of the counters above
	local names
	names=$(printf "'%s'," "${INNODB_COUNTERS[@]}")
	# (index_page_splits: an INNODB_METRICS counter, which run.sh enables)
	mariadb --no-defaults -uroot --socket="$state/mysql.sock" -N -B -e \
		"SHOW GLOBAL STATUS WHERE Variable_name IN (${names%,});
		SELECT name, count FROM information_schema.INNODB_METRICS WHERE name = 'index_page_splits'" >"$1"
}
# innodb_deltas STEP ROUND BEFORE AFTER: R[STEP.ROUND.<counter>] (the whole
# server's: both databases, whatever ran at the time)
innodb_deltas() {
	local name val
	while read -r name val; do
		R[$1.$2.$name]=$val
	done < <(awk 'FNR == NR { a[$1] = $2; next } { print $1, $2 - a[$1] }' "$3" "$4")
}
# batch_histogram FILE KIND: "le=1: N, le=2: N, ...; mean M" (per bucket, not cumulative)
batch_histogram() {
	awk -v k="kind=\"$2\"" '
		index($1, "ledgerflow_db_batch_size_bucket{" k ",") == 1 {
			le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
			out = out sprintf("%s%s %d", (out == "" ? "" : ", "), (le == "+Inf" ? ">64" : "≤" le), $2 - prev)
			prev = $2
		}
		$1 == "ledgerflow_db_batch_size_sum{" k "}" { sum = $2 }
		$1 == "ledgerflow_db_batch_size_count{" k "}" { n = $2 }
		END { printf "%s; %d batches, %d jobs, mean %.2f\n", out, n, sum, (n > 0 ? sum / n : 0) }' "$1"
}

# ---- an optional profile of a step (LF_BENCH_PERF="d i ...") ----
# perf_start STEP ROUND: in the last round, `perf record -g` of the
# servers' processes (ledgerflowd, mariadbd, redis-server) while the step runs
perf_pid=""
perf_start() {
	[ -n "$perf_steps" ] && [ "$2" = "$rounds" ] && [[ " $perf_steps " == *" $1 "* ]] || return 0
	local pids
	pids=$(printf '%s\n' "$CPU_DB" "$CPU_REDIS" "$CPU_LF" | paste -sd, -)
	perf record -F 499 -g -o "$state/perf-$1.data" -p "$pids" >"$state/perf-$1.out" 2>&1 &
	perf_pid=$!
}
# perf_stop STEP: stop the recording; build/bench/perf-STEP.txt has the
# report: CPU by process, then by process and function (flat, >= 0.5 %)
perf_stop() {
	[ -n "$perf_pid" ] || return 0
	kill -INT "$perf_pid" 2>/dev/null || true
	wait "$perf_pid" 2>/dev/null || true
	perf_pid=""
	{
		echo "# perf record -F 499 -g of ledgerflowd, mariadbd, redis-server during step $1"
		perf report -i "$state/perf-$1.data" --stdio --no-children --sort comm -g none 2>/dev/null |
			grep -v '^$'
		perf report -i "$state/perf-$1.data" --stdio --no-children --sort comm,dso,sym \
			-g none --percent-limit 0.5 2>/dev/null | grep -v '^$'
	} >"$build/perf-$1.txt"
	log "profile of step $1 in $build/perf-$1.txt"
}

# ---- the two kinds of run ----
# run_wrk STEP ROUND CONNECTIONS URL SCRIPT [SCRIPT ARGS...]: one bounded wrk
# run (LF_BENCH_KEY must name the key of the server behind URL)
run_wrk() {
	local step=$1 round=$2 conns=$3 url=$4 script=$5
	shift 5
	local out="$state/wrk-$step-$round.out" line
	cpu_mark
	perf_start "$step" "$round"
	gen_run "$out" timeout -k 5 $((run_secs + 60)) wrk -t"$wrk_threads" -c"$conns" \
		-d"${run_secs}s" --timeout 5s --latency -s "$script" "$url" -- "$@" || {
		cat "$out" >&2
		die "wrk failed in step $step"
	}
	cpu_take "$step" "$round" "$(<"$out.cpu")"
	perf_stop "$step"
	line=$(line_of "$out" 'BENCH ') || { cat "$out" >&2; die "no BENCH line in step $step"; }
	store "$step" "$round" "$line"
	R[$step.$round.ioerr]=$((${R[$step.$round.connect]} + ${R[$step.$round.read]} +
		${R[$step.$round.write]} + ${R[$step.$round.timeout]}))
	R[$step.$round.conns]=$conns
}

# run_raw STEP ROUND THREADS DATABASE ACCOUNTS TAG [FROM]: one bounded raw_db
# run, as the runtime user
run_raw() {
	local step=$1 round=$2 threads=$3 db=$4 naccounts=$5 tag=$6 from=${7:-}
	local out="$state/raw-$step-$round.out"
	cpu_mark
	perf_start "$step" "$round"
	# shellcheck disable=SC2086
	gen_run "$out" timeout -k 5 $((run_secs + 60)) "$build/raw_db" 127.0.0.1 "$mysql_port" \
		"$rt_user" "$rt_password" "$db" "$threads" "$run_secs" "$naccounts" "$tag" $from || {
		cat "$out" >&2
		die "raw_db failed in step $step"
	}
	cpu_take "$step" "$round" "$(<"$out.cpu")"
	perf_stop "$step"
	store "$step" "$round" "$(line_of "$out" 'RAWDB ')"
	R[$step.$round.ioerr]=${R[$step.$round.errors]}
	R[$step.$round.status]=0
	R[$step.$round.conns]=$threads
}

# best STEP ROUND SUBSTEP...: STEP's figures in ROUND are those of the
# sub-step with the highest req/s (raw_db's best connection count)
best() {
	local step=$1 round=$2 s top="" k
	shift 2
	for s in "$@"; do
		if [ -z "$top" ] || [ "${R[$s.$round.rps]}" -gt "${R[$top.$round.rps]}" ]; then top=$s; fi
	done
	for k in rps requests duration_us p50_us p90_us p99_us ioerr status retries errors conns \
		completed declined cpu_db cpu_redis cpu_lf cpu_gen cpu_machine; do
		R[$step.$round.$k]=${R[$top.$round.$k]:-0}
	done
}

# ---- statistics over the rounds ----
# stats PAIR...: S[] from R[] in one awk, for rounds 1..ROUNDS: for each
# step S[STEP.sum.KEY] (the sum over the rounds), S[STEP.med.KEY] (the
# median), S[STEP.rps] (all its requests over all its time), S[STEP.pNN]
# (the median of a latency percentile, ms); for each PAIR "A/B" the per-round
# ratios of their req/s: S[A/B] (median), S[A/B.text] ("median (min–max)")
declare -A S
# shellcheck disable=SC2034 # S is read by report.sh
stats() {
	local k line key val
	S=()
	while IFS=' ' read -r key val; do
		S[$key]=$val
	done < <(for k in "${!R[@]}"; do printf '%s %s\n' "$k" "${R[$k]}"; done |
		awk -v rounds="$rounds" -v pairs="$*" '
		function med(list,   n, v, i, j, t) {
			n = split(list, v, " ")
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			if (n == 0) return 0
			return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		}
		{
			split($1, p, ".")
			r = p[2]
			if (r < 1 || r > rounds) next
			step = p[1]; key = substr($1, length(p[1]) + length(p[2]) + 3)
			steps[step] = 1; keys[step SUBSEP key] = 1
			sum[step, key] += $2
			list[step, key] = list[step, key] " " $2
			val[step, r, key] = $2
		}
		END {
			for (sk in keys) {
				split(sk, q, SUBSEP)
				printf "%s.sum.%s %d\n", q[1], q[2], sum[q[1], q[2]]
				printf "%s.med.%s %s\n", q[1], q[2], med(list[q[1], q[2]])
			}
			for (s in steps) {
				d = sum[s, "duration_us"]
				printf "%s.rps %.0f\n", s, (d > 0 ? sum[s, "requests"] * 1e6 / d : 0)
				printf "%s.p50 %.2f\n%s.p90 %.2f\n%s.p99 %.2f\n", s, med(list[s, "p50_us"]) / 1000,
					s, med(list[s, "p90_us"]) / 1000, s, med(list[s, "p99_us"]) / 1000
			}
			n = split(pairs, pl, " ")
			for (i = 1; i <= n; i++) {
				split(pl[i], ab, "/")
				l = ""; lo = ""; hi = ""
				for (r = 1; r <= rounds; r++) {
					b = val[ab[2], r, "rps"] + 0
					if (b <= 0) continue
					x = val[ab[1], r, "rps"] / b
					l = l " " x
					if (lo == "" || x < lo) lo = x
					if (hi == "" || x > hi) hi = x
				}
				m = med(l)
				printf "%s %.4f\n%s.text %.2f (%.2f–%.2f)\n", pl[i], m, pl[i], m, lo, hi
			}
		}')
}
# values STEP KEY: the key over the rounds, space-separated (no fork)
values() {
	local r out=""
	for ((r = 1; r <= rounds; r++)); do out+="${out:+ }${R[$1.$r.$2]:-0}"; done
	echo "$out"
}
