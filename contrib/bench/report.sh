# contrib/bench/report.sh - the end of contrib/bench/run.sh, sourced by it
# once every figure is in R[] (lib.sh): the markdown summary
# (build/bench/results.md, also on stdout), the CSV (results.csv), the SVG
# chart (results.svg, gnuplot with chart.gp), and the verdict: every error
# found is listed and makes the exit status 1.
# shellcheck shell=bash disable=SC2154

failures=()
fail() { failures+=("$*"); }
# the statistics, and the ratios the table and the notes show
stats b/a c/c16 d/c e/a e/b e/d f/b h/c i/h j/h s/d
sum() { echo "${S[$1.sum.$2]:-0}"; } # STEP KEY: its sum over the rounds

# met VALUE OP LIMIT: "met" or "**not met**" (decimals compared by awk)
met() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
	ok = (op == ">=") ? v >= l : v < l; print (ok ? "met" : "**not met**") }'; }

# ---- errors: none is expected anywhere ----
for s in a b d e f i j s m; do
	io=$(sum "$s" ioerr) st=$(sum "$s" status)
	[ "$io" -eq 0 ] || fail "step $s: $io socket errors or timeouts"
	[ "$st" -eq 0 ] || fail "step $s: $st answers that were not 2xx"
done
for s in d i j s m; do
	[ "$(sum "$s" declined)" -eq 0 ] || fail "step $s: $(sum "$s" declined) payments declined"
done
[ "$(sum e decided)" -eq 0 ] || fail "step e: replays decided $(sum e decided) payments"
[ "$reconcile_rc_main" -eq 0 ] || fail "reconcile --full of the main database exited $reconcile_rc_main"
[ "$reconcile_rc_scale" -eq 0 ] || fail "reconcile --full of the scale database exited $reconcile_rc_scale"

# ---- the table: one row per measured step ----
declare -A LABEL=(
	[a]="bare evhttp GET /healthz"
	[b]="ledgerflowd GET /healthz"
	[c16]="raw_db uniform 16 conns" [c32]="raw_db uniform 32 conns" [c64]="raw_db uniform 64 conns"
	[c]="raw_db uniform best of 16/32/64"
	[d]="POST /api/payments uniform"
	[e]="POST /api/payments replays"
	[f]="GET /api/accounts/{id}"
	[h16]="raw_db hot 16 conns" [h32]="raw_db hot 32 conns" [h64]="raw_db hot 64 conns"
	[h]="raw_db hot best of 16/32/64"
	[i]="POST /api/payments hot sender"
	[j]="POST /api/payments hot sender"
	[s]="POST /api/payments uniform at scale"
	[m]="POST /api/payments uniform"
)
order=(a b c16 c32 c64 c d e f h16 h32 h64 h i j s m)
hot_p99_ms=${S[j.p99]}
rss_mib=$(awk -v k="$worker_hwm_max" 'BEGIN { printf "%.1f", k / 1024 }')
own_mib=$(awk -v k="${worker_own_max:-0}" 'BEGIN { printf "%.1f", k / 1024 }')
j_5xx=$(sum j c5xx) j_non2xx=$(($(sum j status) + $(sum j ioerr)))
# ratio|baseline|target|verdict of a step (empty fields when it has none)
judge() {
	case $1 in
	a | c) echo "reference|||" ;;
	b) echo "${S[b/a.text]}|a||" ;;
	d) echo "${S[d/c.text]}|c|≥ 1.5|$(met "${S[d/c]}" ">=" 1.5)" ;;
	e) echo "${S[e/a.text]}|a|≥ 0.8|$(met "${S[e/a]}" ">=" 0.8)" ;;
	f) echo "${S[f/b.text]}|b|≥ 0.5|$(met "${S[f/b]}" ">=" 0.5)" ;;
	h) echo "reference; ${S[h/c.text]}|c||" ;;
	i) echo "${S[i/h.text]}|h|≥ 2.5|$(met "${S[i/h]}" ">=" 2.5)" ;;
	j)
		local v="met"
		[ "$(met "$hot_p99_ms" "<" 100)" = met ] && [ "$j_5xx" -eq 0 ] && [ "$j_non2xx" -eq 0 ] ||
			v="**not met**"
		echo "${S[j/h.text]}|h|p99 < 100 ms, no 5xx|$v (p99 $hot_p99_ms ms, $j_5xx 5xx)"
		;;
	s) echo "${S[s/d.text]}|d|≥ 0.8|$(met "${S[s/d]}" ">=" 0.8)" ;;
	m) echo "||worker RSS < 32 MiB|$(met "$rss_mib" "<" 32) (peak VmHWM $rss_mib MiB, the shared zone's touched pages included; own pages $own_mib MiB)" ;;
	*) echo "|||" ;;
	esac
}

results="$build/results.md" csv="$build/results.csv"
echo "step,measurement,connections,req_s,p50_ms,p90_ms,p99_ms,errors,ratio,ratio_min,ratio_max,baseline,target,verdict" >"$csv"
table=""
for s in "${order[@]}"; do
	rps=${S[$s.rps]} p50=${S[$s.p50]} p90=${S[$s.p90]} p99=${S[$s.p99]} conns=${S[$s.med.conns]}
	errs=$(($(sum "$s" status) + $(sum "$s" ioerr)))
	case $s in c | h) conns=$(IFS=/; echo "${raw_counts[*]}") ;; esac
	IFS='|' read -r ratio base target verdict <<<"$(judge "$s")"
	table+="| $s | ${LABEL[$s]} | $conns | $rps | $p50 | $p90 | $p99 | $errs | $ratio${base:+ of $base} | $target | $verdict |"$'\n'
	rmed="" rmin="" rmax=""
	if [[ $ratio =~ ([0-9.]+)\ \(([0-9.]+)–([0-9.]+)\)$ ]]; then
		rmed=${BASH_REMATCH[1]} rmin=${BASH_REMATCH[2]} rmax=${BASH_REMATCH[3]}
	fi
	verdict_csv=$(sed 's/\*//g; s/ (.*//' <<<"$verdict")
	echo "$s,${LABEL[$s]},$conns,$rps,$p50,$p90,$p99,$errs,$rmed,$rmin,$rmax,$base,\"$target\",$verdict_csv" >>"$csv"
done

cpu_row() { # STEP: median CPU % of each group
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${S[$1.med.cpu_lf]}" "${S[$1.med.cpu_db]}" \
		"${S[$1.med.cpu_redis]}" "${S[$1.med.cpu_gen]}" "${S[$1.med.cpu_machine]}"
}
mean_batch() {
	local n b
	n=$(sum "$1" batched) b=$(sum "$1" batches)
	if [ "$b" -gt 0 ]; then
		awk -v n="$n" -v b="$b" 'BEGIN { printf "%.2f", n / b }'
	else
		echo "none counted (this server does not batch payments)"
	fi
}
t_total=$(($(date +%s) - t_start))
{
	mode=""
	[ "$quick" = no ] || mode=" (--quick)"
	echo "# LedgerFlow benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC')$mode, $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?'):" \
		"$rounds rounds × ${duration} s per step; $(nproc) CPUs" \
		"($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) shared by the load" \
		"generators, the servers, MariaDB, Redis and whatever else ran on the machine; $t_total s in all."
	echo "ledgerflowd: $workers workers, pool_size $pool_size, batch_max ${batch_max:-default}," \
		"batch_window_us ${batch_window_us:-default}, batch_concurrency ${batch_concurrency:-default}," \
		"cache size ${cache_size:-default}, access_log $access_log, -O2, jemalloc, as a runtime" \
		"user with only \`ledgerflowctl grants\`; bare evhttp: $workers pre-forked processes; wrk -t$wrk_threads;" \
		"$accounts accounts (uniform), hot sender account $hot; scale: $scale_loaded_accounts accounts," \
		"$scale_loaded_entries ledger entries (generated in $t_gen s, bulk-loaded in $t_load s)."
	echo "req/s: all requests of a step over all its time; latencies: median over the rounds;" \
		"ratio: median of the per-round ratios (min–max) against the baseline step; errors:" \
		"non-2xx answers, socket errors and timeouts (raw_db: failed calls)."
	echo
	echo "| step | measurement | conns | req/s | p50 ms | p90 ms | p99 ms | errors | ratio | target | verdict |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|"
	printf '%s' "$table"
	echo
	echo "- c, h: raw_db's best connection count per round: c $(values c conns), h $(values h conns);" \
		"retries c $(sum c retries), h $(sum h retries)."
	for s in d i j s; do
		echo "- $s: $(sum "$s" completed) payments completed, $(sum "$s" declined) declined," \
			"$(sum "$s" c5xx) answered 5xx, $(sum "$s" retries) retries (server counters);" \
			"mean payment batch $(mean_batch "$s")."
	done
	echo "- f: mean account-read batch $(mean_batch f)."
	echo "- m: $(sum m completed) payments completed at ${R[m.1.conns]} connections, $(sum m c5xx) answered 5xx."
	echo "- e: replays of $replay_keys decided keys; idempotency lookups hit shm $(sum e hit_shm)," \
		"redis $(sum e hit_redis), db $(sum e hit_db), missed $(sum e miss);" \
		"payments decided $(sum e decided) (must be 0); 409 in flight $(sum e in_flight);" \
		"e ÷ b ${S[e/b.text]}, e ÷ d ${S[e/d.text]}."
	echo "- req/s per round:"
	for s in a b c16 c32 c64 d e f h16 h32 h64 i j s; do
		echo "  $s: $(values "$s" rps)"
	done
	echo "- p99 ms per round (the table's is their median):"
	for s in d i j s; do
		echo "  $s: $(values "$s" p99_us |
			awk '{ for (i = 1; i <= NF; i++) printf "%s%.1f", (i > 1 ? " " : ""), $i / 1000 }')"
	done
	echo
	echo "Batch sizes (\`ledgerflow_db_batch_size\` of /metrics over the whole run, jobs per batch: count):"
	echo
	echo "- payment: $hist_payment"
	echo "- account_read: $hist_read"
	echo "- payment, scale daemon: $hist_scale"
	echo
	echo "CPU during each step, % of one core (median over the rounds; 200 = both cores busy;"
	echo "load generator: wrk or raw_db; machine: everything, bare_evhttp and other people's jobs too):"
	echo
	echo "| step | ledgerflowd | mariadbd | redis | load generator | machine |"
	echo "|---|---:|---:|---:|---:|---:|"
	for s in a b c d e f h i j s; do cpu_row "$s"; done
	echo
	echo "| process, after step m | VmHWM KiB | VmRSS KiB | RssAnon KiB | RssFile KiB | RssShmem KiB | Pss KiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	echo "$mem_rows"
	echo
	echo "ledgerflowctl reconcile --full: main database exit $reconcile_rc_main (${reconcile_s_main} s," \
		"$payments_rows payments), scale database exit $reconcile_rc_scale (${reconcile_s_scale} s)."
	if [ ${#failures[@]} -eq 0 ]; then
		echo "Errors: none."
	else
		echo "Errors:"
		printf -- '- %s\n' "${failures[@]}"
	fi
} >"$results"

gnuplot -e "csv='$csv'; out='$build/results.svg'; title='LedgerFlow benchmark$mode'" \
	"$bench/chart.gp" 2>"$state/gnuplot.err" || { cat "$state/gnuplot.err" >&2; fail "gnuplot failed"; }
chmod 644 "$results" "$csv" "$build/results.svg" 2>/dev/null || true
echo
cat "$results"
log "written to $results, $csv and $build/results.svg"
if [ ${#failures[@]} -gt 0 ]; then
	printf '[bench] error: %s\n' "${failures[@]}" >&2
	exit 1
fi
