#!/usr/bin/env bash
# contrib/dev/test.sh - the whole test suite on a fresh Debian 12 machine:
# installs what it needs, starts a private MariaDB and Redis on free
# loopback ports, builds with --enable-werror (plus any configure flags
# given, e.g. --enable-sanitizers) in its own build directory, and runs
# `make check` (CUnit unit tests and integration tests against the real
# servers). Exits non-zero when anything fails.
#   contrib/dev/test.sh [--sanitizers] [--distcheck] [extra configure flags]
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=contrib/dev/services.sh
. "$top/contrib/dev/services.sh"

flavour=werror
distcheck=no
configure_flags=(--enable-werror)
for arg in "$@"; do
	case "$arg" in
	--sanitizers) flavour=sanitizers; configure_flags+=(--enable-sanitizers --without-jemalloc) ;;
	--distcheck) distcheck=yes ;;
	*) configure_flags+=("$arg") ;;
	esac
done

lf_install_packages

# the pinned style (.clang-format, clang-format 14 as Debian 12 ships it)
if [ "$flavour" = werror ] && command -v clang-format >/dev/null 2>&1; then
	(cd "$top" && clang-format --dry-run --Werror src/*/*.c src/*/*.h include/*.h \
		tests/*.h tests/*/*.c tests/*/*.h) || { echo "style: run 'make format'"; exit 1; }
	echo "clang-format: ok"
fi

state=$(mktemp -d /tmp/ledgerflow-test-XXXXXX)
cleanup() {
	lf_services_stop "$state" || true
	rm -rf "$state"
}
trap cleanup EXIT
lf_services_start "$state"

build="$top/build/$flavour"
mkdir -p "$build"
(cd "$top" && autoreconf -fi >/dev/null 2>&1)
cd "$build"
"$top/configure" "${configure_flags[@]}" >configure.out 2>&1 || { cat configure.out; exit 1; }
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
make -j"$(nproc)" check TESTS= >>make.out 2>&1 || { tail -60 make.out; exit 1; }

export LF_TEST_MYSQL_HOST=127.0.0.1
export LF_TEST_MYSQL_PORT=$(cat "$state/mysql.port")
export LF_TEST_MYSQL_USER=ledgerflow
export LF_TEST_MYSQL_PASSWORD=ledgerflow
export LF_TEST_REDIS_PORT=$(cat "$state/redis.port")
export LF_TEST_STATE_DIR=$state
export LF_TEST_TMPDIR=$state/daemons
mkdir -p "$LF_TEST_TMPDIR"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
make check || status=$?
# every test's own output, so CI shows the CUnit summaries
for log in $(find tests -name '*.log' ! -name 'test-suite.log' | sort); do
	echo "==== $log"
	cat "$log"
done
if [ "$status" -ne 0 ]; then
	cat test-suite.log 2>/dev/null || true
	exit "$status"
fi
# a sanitizer report in any daemon the tests started fails the run
if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
	"$LF_TEST_TMPDIR"/*/*.log 2>/dev/null; then
	echo "sanitizer reports in the daemons' logs (files above)"
	grep -h -A20 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
		"$LF_TEST_TMPDIR"/*/*.log | head -80
	exit 1
fi
# no API key's secret part, and no Authorization value, in any log the
# suite produced: the daemons' (with the ledgerflowctl output the tests
# append there) and the test programs' own
secret_re='lfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}|Authorization: Bearer'
if grep -l -E "$secret_re" "$LF_TEST_TMPDIR"/*/*.log tests/*/*.log 2>/dev/null; then
	echo "an API key or Authorization value was logged (files above)"
	exit 1
fi
echo "log scan: no key or Authorization value in $(ls "$LF_TEST_TMPDIR"/*/*.log tests/*/*.log 2>/dev/null | wc -l) logs"

# the systemd unit, with the paths of this build (and our man pages where
# its Documentation= lines look for them)
if command -v systemd-analyze >/dev/null 2>&1; then
	sed -e "s#@sbindir@#$build#g" -e "s#@sysconfdir@#/etc#g" -e "s#@localstatedir@#/var#g" \
		"$top/etc/ledgerflow.service.in" >"$build/ledgerflow.service"
	for page in "$top"/man/*.[0-9]; do
		section=${page##*.}
		mkdir -p "$build/man/man$section"
		cp "$page" "$build/man/man$section/"
	done
	sed -e "s#@bindir@#$build#g" -e "s#@sysconfdir@#/etc#g" \
		"$top/etc/ledgerflow-reconcile.service.in" >"$build/ledgerflow-reconcile.service"
	cp "$top/etc/ledgerflow-reconcile.timer" "$build/"
	MANPATH="$build/man" systemd-analyze verify "$build/ledgerflow.service" \
		"$build/ledgerflow-reconcile.service" "$build/ledgerflow-reconcile.timer" || {
		echo "systemd-analyze verify failed on the units in etc/"
		exit 1
	}
	echo "systemd-analyze verify: ok"
fi

if [ "$distcheck" = yes ]; then
	# the distcheck's own `make check` runs the unit tests; the integration
	# tests skip there (no servers named) since they ran above
	env -u LF_TEST_MYSQL_PORT -u LF_TEST_REDIS_PORT make distcheck >distcheck.out 2>&1 || {
		tail -60 distcheck.out
		exit 1
	}
	grep -A1 'archives ready' distcheck.out
fi

# the plain closing line CI reads: counts from the automake summary
pass=$(sed -n 's/^# PASS: *//p' test-suite.log | head -1)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log | head -1)
skip=$(sed -n 's/^# SKIP: *//p' test-suite.log | head -1)
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
