#!/usr/bin/env bash
# contrib/dev/fuzz.sh - build the libFuzzer harnesses of tests/fuzz/ in
# build/fuzz (clang, --enable-fuzzing: ASan + UBSan) and run each for
# SECONDS (default 60) through `make fuzz`, then print each harness's
# executions and exec/s and a final "fuzz: N passed, N failed" line.
# Installs clang and libclang-rt-14-dev when they are missing, nothing else
# (the libraries come from contrib/dev/services.sh install). CI:
#   contrib/dev/fuzz.sh 20
set -euo pipefail

secs=${1:-60}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/fuzz
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

log() { printf '[fuzz] %s\n' "$*" >&2; }

install_clang() {
	local missing=()
	for p in "${FUZZ_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	log "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >/dev/null
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

install_clang
cd "$root"
[ -x configure ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || ! grep -q -- '--enable-fuzzing' config.status 2>/dev/null; then
	log "configuring $build"
	CC=clang "$root/configure" --enable-fuzzing --without-jemalloc >configure.log 2>&1 ||
		{ tail -n 30 configure.log >&2; exit 1; }
fi
log "building"
make -j"$(nproc)" >make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }

rm -f tests/fuzz/*.log
rc=0
make fuzz FUZZ_TIME="$secs" || rc=$?

passed=0 failed=0
for src in "$root"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	logf=tests/fuzz/$name.log
	done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$logf" 2>/dev/null | tail -n 1 || true)
	if [ -n "$done_line" ] && ! grep -q -E 'ERROR: libFuzzer|SUMMARY: ' "$logf"; then
		runs=$(echo "$done_line" | awk '{print $2}')
		s=$(echo "$done_line" | awk '{print $5}')
		[ "$s" -gt 0 ] || s=1
		printf 'fuzz: %-14s %10s executions in %4s s, %8s exec/s\n' "$name" "$runs" "$s" $((runs / s))
		passed=$((passed + 1))
	else
		printf 'fuzz: %-14s FAILED, see %s (crash input under %s)\n' "$name" "$build/$logf" \
			"$build/tests/fuzz/artifacts/"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
