#!/bin/sh
# Builds BareMail and runs every test, three ways: a warnings-as-errors
# build, an ASan+UBSan build, and the same tests with the programs under
# valgrind; then static analysis and the fuzzers (scripts/analyze.sh).
# Run as root on a fresh Debian/Ubuntu machine it installs what it needs.
# Ends with one line: "N passed, M failed".
set -eu
cd "$(dirname "$0")"
. scripts/deps.sh
need_packages $BUILD_PACKAGES $TEST_PACKAGES

if [ "$(id -u)" = 0 ]; then
	# The programs refuse to run as root without [user] name: the tests
	# point that key at this unprivileged account.
	id baremail-test >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin baremail-test
fi

logs=""
failed=""
build() {	# build DIR MESON-SETUP-ARGS...
	dir=$1; shift
	echo "=== build $dir: $*"
	meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1 ||
	    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
	    { cat "$dir.setup.log"; return 1; }
	ninja -C "$dir"
}
check() {	# check NAME DIR MESON-TEST-ARGS...
	name=$1 dir=$2; shift 2
	echo "=== test $name"
	if [ ! -f "$dir/build.ninja" ]; then
		failed="$failed $name(no build)"
		return
	fi
	meson test -C "$dir" --print-errorlogs "$@" || failed="$failed $name"
	if [ -f "$dir/meson-logs/testlog.json" ]; then
		cp "$dir/meson-logs/testlog.json" "$dir/meson-logs/testlog-$name.json"
		logs="$logs $dir/meson-logs/testlog-$name.json"
	fi
}

build build -Dwerror=true -Dtests=enabled || failed="$failed build"
check plain build --num-processes 2

build build-asan -Dwerror=true -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false ||
    failed="$failed build-asan"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    check asan build-asan --num-processes 2

VG="valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full"
VG="$VG --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
check valgrind-unit build --suite unit --wrapper "$VG"
BAREMAIL_WRAPPER="$VG" BAREMAIL_TIMEOUT=120 \
    check valgrind-bats build --suite bats --timeout-multiplier 3

# Static analysis (cppcheck, clang-tidy, clang-format) and every fuzz
# target for 60 s: see tests/RELIABILITY.md.
echo "=== analyze"
scripts/analyze.sh || failed="$failed analyze"

/usr/bin/python3 scripts/summary.py $logs
[ -z "$failed" ] || { echo "failed:$failed"; exit 1; }
