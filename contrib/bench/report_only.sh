# contrib/bench/report_only.sh - the end of contrib/bench/run.sh with
# LF_BENCH_ONLY=s, sourced by it: steps d and s only, their ratio per
# round, MariaDB's counters per payment in each, and the scale database's
# table sizes against the buffer pool (build/bench/results-s.md, also on
# stdout). Errors (non-2xx answers, socket errors, declines) make the exit
# status 1, as in the full run.
# shellcheck shell=bash disable=SC2154

stats s/d
failures=()
for s in d s; do
	n=$((S[$s.sum.status] + S[$s.sum.ioerr]))
	[ "$n" -eq 0 ] || failures+=("step $s: $n answers not 2xx, socket errors or timeouts")
	[ "${S[$s.sum.declined]:-0}" -eq 0 ] || failures+=("step $s: ${S[$s.sum.declined]} payments declined")
done
# per_payment STEP COUNTER: the counter's sum over the rounds per payment decided
per_payment() {
	awk -v v="${S[$1.sum.$2]:-0}" -v n="$((S[$1.sum.completed] + S[$1.sum.declined]))" \
		'BEGIN { printf (n > 0 ? "%.1f" : "-"), (n > 0 ? v / n : 0) }'
}
sizes=$(sqlroot -e "SELECT table_name, ROUND(data_length / 1048576), ROUND(index_length / 1048576)
	FROM information_schema.TABLES WHERE table_schema = 'ledgerflow_scale'
	AND data_length + index_length > 16777216 ORDER BY data_length + index_length DESC")
read -r bp_pages bp_data bp_dirty <<<"$(sqlroot -e "SELECT
	(SELECT variable_value FROM information_schema.GLOBAL_STATUS WHERE variable_name = 'INNODB_BUFFER_POOL_PAGES_TOTAL'),
	(SELECT variable_value FROM information_schema.GLOBAL_STATUS WHERE variable_name = 'INNODB_BUFFER_POOL_PAGES_DATA'),
	(SELECT variable_value FROM information_schema.GLOBAL_STATUS WHERE variable_name = 'INNODB_BUFFER_POOL_PAGES_DIRTY')")"
results="$build/results-s.md"
{
	echo "# LedgerFlow benchmark, steps d and s only (LF_BENCH_ONLY=s)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?'):" \
		"$rounds rounds × ${duration} s per step; scale: $scale_loaded_accounts accounts," \
		"$scale_loaded_entries ledger entries (generated in $t_gen s, bulk-loaded in $t_load s," \
		"leaves filled to $scale_fill %, innodb_fill_factor);" \
		"buffer pool $buffer_pool; $(($(date +%s) - t_start)) s in all."
	echo
	echo "| step | req/s | p50 ms | p99 ms | per round | mariadbd CPU % | machine CPU % |"
	echo "|---|---:|---:|---:|---|---:|---:|"
	for s in d s; do
		echo "| $s | ${S[$s.rps]} | ${S[$s.p50]} | ${S[$s.p99]} | $(values "$s" rps) | ${S[$s.med.cpu_db]} | ${S[$s.med.cpu_machine]} |"
	done
	echo
	echo "s / d: ${S[s/d.text]}; per round: $(for ((r = 1; r <= rounds; r++)); do
		awk -v a="${R[s.$r.rps]}" -v b="${R[d.$r.rps]}" 'BEGIN { printf "%.2f ", (b > 0 ? a / b : 0) }'; done)"
	echo
	echo "MariaDB's counters per payment decided (SHOW GLOBAL STATUS deltas over each step):"
	echo
	echo "| counter | d | s |"
	echo "|---|---:|---:|"
	for c in "${INNODB_COUNTERS[@]}"; do
		echo "| $c | $(per_payment d "$c") | $(per_payment s "$c") |"
	done
	echo
	echo "The scale database's tables over 16 MiB (MiB, information_schema.TABLES, after the rounds):"
	echo
	echo "| table | data | indexes |"
	echo "|---|---:|---:|"
	while read -r t dl il; do echo "| $t | $dl | $il |"; done <<<"$sizes"
	echo
	echo "Buffer pool: $bp_pages pages of 16 KiB, $bp_data holding data, $bp_dirty dirty."
	if [ ${#failures[@]} -eq 0 ]; then
		echo "Errors: none; both reconcile --full exit 0."
	else
		echo "Errors:"
		printf -- '- %s\n' "${failures[@]}"
	fi
} >"$results"
echo
cat "$results"
[ ${#failures[@]} -eq 0 ] || exit 1
