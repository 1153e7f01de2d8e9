#!/bin/sh
# tests/ops/test_prometheus_rules.sh - contrib/prometheus/ledgerflow-rules.yml
# is valid (`promtool check rules`) and its alerts fire on the series they
# are meant for and stay quiet on healthy ones (`promtool test rules` with
# ledgerflow-rules.test.yml); and every query of the Grafana dashboard
# contrib/grafana/ledgerflow.json is valid PromQL (checked as recording
# rules, with $instance and $__rate_interval filled in). Exit 77 (skipped) without promtool (Debian's
# package prometheus; contrib/dev/services.sh installs it for the suite).
# The metric names the rules use are checked against the source by
# tests/unit/test_ops_kit.
set -eu
src=${LF_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v promtool >/dev/null 2>&1 || { echo "SKIP: promtool is not installed"; exit 77; }
(cd "$src/contrib/prometheus" && promtool check rules ledgerflow-rules.yml &&
	promtool test rules ledgerflow-rules.test.yml)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lf-promql.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# the dashboard is written one key per line: "expr": "<JSON string>",
sed -n 's/^ *"expr": "\(.*\)",\{0,1\}$/\1/p' "$src/contrib/grafana/ledgerflow.json" |
	sed -e 's/\\"/"/g' -e 's/\$__rate_interval/5m/g' -e 's/\$instance/.*/g' >"$tmp/exprs"
n=$(wc -l <"$tmp/exprs")
[ "$n" -gt 30 ] || { echo "FAIL: only $n queries found in the dashboard"; exit 1; }
if grep -q "'" "$tmp/exprs"; then
	echo "FAIL: a dashboard query has a single quote (not handled here)"
	exit 1
fi
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	i=0
	while IFS= read -r e; do
		i=$((i + 1))
		echo "      - record: ledgerflow_dashboard:query$i"
		echo "        expr: '$e'"
	done <"$tmp/exprs"
} >"$tmp/dashboard-rules.yml"
promtool check rules "$tmp/dashboard-rules.yml" >"$tmp/out" 2>&1 || {
	cat "$tmp/out"
	echo "FAIL: a dashboard query is not valid PromQL"
	exit 1
}
echo "dashboard: $n queries are valid PromQL"
