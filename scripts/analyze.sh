#!/bin/sh
# Static analysis and fuzzing, the part of CI that is not the test suite:
#   1. a clang build with -Dfuzz=true under ASan+UBSan (its own build dir),
#   2. cppcheck --enable=warning,performance,portability over it,
#   3. clang-tidy with the checked-in .clang-tidy, every warning an error,
#   4. clang-format --dry-run --Werror on every tracked .c and .h, and no
#      bare '! cmd' line in a bats file (it could never fail a test),
#   5. every fuzz target for FUZZ_SECONDS (default 60) from its seed corpus,
#      two at a time (the CI machines have two cores).
# Ends with one line per step and "analyze: ok" or "analyze: FAILED: ...".
#
# usage: scripts/analyze.sh [--no-fuzz] [--no-format] [--fuzz-only]
# env:   FUZZ_SECONDS (60), ANALYZE_BUILD (build-analyze), FUZZ_JOBS (2)
set -u
cd "$(dirname "$0")/.."

do_static=1 do_format=1 do_fuzz=1
for a in "$@"; do
	case $a in
	--no-fuzz) do_fuzz=0 ;;
	--no-format) do_format=0 ;;
	--fuzz-only) do_static=0 do_format=0 ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "analyze: unknown option $a" >&2; exit 64 ;;
	esac
done

B=${ANALYZE_BUILD:-build-analyze}
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
failed=""
summary=""
note() { summary="$summary$1
"; echo "=== $1"; }

# 1. The build.  -fsanitize=fuzzer-no-link instruments the libraries, so
# the fuzzer sees coverage inside them, not only in the target file.
echo "=== build $B (clang, fuzz, ASan+UBSan)"
mkdir -p "$B"	# its logs go inside it (git ignores /build*/)
# Not -Dwerror: clang's warnings are reported (the gcc build in test.sh
# is the one that must be warning-free), and analysis goes on.
setup_args="-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	-Dc_args=-fsanitize=fuzzer-no-link -Dwerror=false"
# shellcheck disable=SC2086
if ! { [ -f "$B/build.ninja" ] && meson configure "$B" $setup_args >/dev/null 2>&1; } &&
   ! CC=clang meson setup "$B" $setup_args >"$B/analyze-setup.log" 2>&1; then
	cat "$B/analyze-setup.log"
	note "build: FAILED (meson setup)"
	echo "analyze: FAILED: build"
	exit 1
fi
if ninja -C "$B" >"$B/analyze-ninja.log" 2>&1; then
	w=$(grep -c 'warning:' "$B/analyze-ninja.log")
	[ "$w" = 0 ] || grep -A3 'warning:' "$B/analyze-ninja.log"
	note "build: ok ($w clang warnings)"
else
	tail -40 "$B/analyze-ninja.log"
	note "build: FAILED"
	failed="$failed build"
fi

# The code that ships and the fuzz harness.  Not tests/ (its CHECK()
# macro goes on after a failure, which analyzers rightly flag) nor bench/
# (throwaway measuring loops); clang-format still checks every file.
if git rev-parse --git-dir >/dev/null 2>&1; then
	all_files=$(git ls-files '*.c' '*.h')
else	# a tarball: every C file outside the build directories
	all_files=$(find . -path './build*' -prune -o \( -name '*.c' -o -name '*.h' \) \
	    -print | sed 's|^\./||' | sort)
fi
sources=$(printf '%s\n' $all_files | grep '\.c$' | grep -v '^tests/\|^bench/')
headers=$(printf '%s\n' $all_files | grep '\.h$' | grep -v '^tests/\|^bench/')

if [ "$do_static" = 1 ]; then
	# 2. cppcheck, with the build's own defines and include paths.
	echo "=== cppcheck"
	if cppcheck --project="$B/compile_commands.json" -q -j 2 \
	    --enable=warning,performance,portability --inline-suppr \
	    --error-exitcode=1 --std=c11 \
	    -i"$B" -itests -ibench --suppress='*:/usr/*' 2>"$B/analyze-cppcheck.log"; then
		note "cppcheck: ok ($(echo "$sources" | wc -w) files)"
	else
		cat "$B/analyze-cppcheck.log"
		note "cppcheck: FAILED ($(grep -c ': error:\|: warning:\|: performance:\|: portability:' "$B/analyze-cppcheck.log") findings)"
		failed="$failed cppcheck"
	fi

	# 3. clang-tidy over what the build compiled (.clang-tidy decides).
	echo "=== clang-tidy"
	# One file per clang-tidy, two at a time; any warning is an error.
	# shellcheck disable=SC2086
	if printf '%s\n' $sources | xargs -P 2 -n 1 clang-tidy -p "$B" --quiet \
	    >"$B/analyze-tidy.log" 2>&1 && ! grep -q ': error:\|: warning:' "$B/analyze-tidy.log"; then
		note "clang-tidy: ok"
	else
		grep -A3 ': error:\|: warning:' "$B/analyze-tidy.log" | head -150
		note "clang-tidy: FAILED ($(grep -c ': error:\|: warning:' "$B/analyze-tidy.log") findings, all in $B/analyze-tidy.log)"
		failed="$failed clang-tidy"
	fi
fi

if [ "$do_format" = 1 ]; then
	# 4. clang-format: the check only; never rewrites a file.
	echo "=== clang-format"
	bad=""
	for f in $all_files; do
		clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
	done
	if [ -z "$bad" ]; then
		note "clang-format: ok"
	else
		n=$(echo $bad | wc -w)
		echo "would be reformatted:$bad"
		note "clang-format: FAILED ($n of $(echo $all_files | wc -w) files differ; clang-format -i to fix)"
		failed="$failed clang-format"
	fi
fi

# 4b. bats: a line '! cmd' never fails a test (errexit ignores a negated
# command), so a check written that way passes whatever the program does.
if [ "$do_format" = 1 ]; then
	echo "=== bats negations"
	if git rev-parse --git-dir >/dev/null 2>&1; then
		bats_files=$(git ls-files '*.bats' '*.bash')
	else
		bats_files=$(find . -path './build*' -prune -o \( -name '*.bats' -o \
		    -name '*.bash' \) -print | sed 's|^\./||' | sort)
	fi
	# shellcheck disable=SC2086
	bare=$(grep -nE '^[[:space:]]*![[:space:]]' $bats_files /dev/null)
	if [ -z "$bare" ]; then
		note "bats negations: ok (no bare '! cmd' line)"
	else
		printf '%s\n' "$bare"
		note "bats negations: FAILED (a bare '! cmd' cannot fail a test: use 'run ! cmd', 'run -1 grep', '! cmd || false' or [ ... ])"
		failed="$failed bats-negations"
	fi
fi

# 5. Fuzzing.  New inputs go to a scratch corpus, not into the repo (see
# fuzz/README for growing the kept corpora); findings go to $B/fuzz-out/.
fuzz_one() {	# fuzz_one TARGET
	t=$1
	exe=$B/fuzz/$t
	dict=""
	case $t in
	fuzz-smtp|fuzz-sendmail) dict=-dict=fuzz/smtp.dict ;;
	fuzz-pop3) dict=-dict=fuzz/pop3.dict ;;
	esac
	mkdir -p "$B/fuzz-out/$t-corpus"
	seeds=fuzz/corpus/$t
	[ -d "$seeds" ] || seeds=""
	# The timeout(1) bound is generous: libFuzzer stops itself.
	timeout $((SECS + 120)) "$exe" $dict -max_total_time="$SECS" \
	    -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix="$B/fuzz-out/$t-" \
	    "$B/fuzz-out/$t-corpus" $seeds >"$B/fuzz-out/$t.log" 2>&1
	echo $? >"$B/fuzz-out/$t.rc"
}
if [ "$do_fuzz" = 1 ]; then
	echo "=== fuzzing, ${SECS} s per target, $JOBS at a time"
	rm -rf "$B/fuzz-out"
	mkdir -p "$B/fuzz-out"
	targets=$(find "$B/fuzz" -maxdepth 1 -type f -perm -u+x -name 'fuzz-*' \
	    -printf '%f\n' 2>/dev/null | sort)
	running=0
	for t in $targets; do
		fuzz_one "$t" &
		running=$((running + 1))
		if [ "$running" -ge "$JOBS" ]; then
			wait
			running=0
		fi
	done
	wait
	[ -n "$targets" ] || { note "fuzz: FAILED (no targets built)"; failed="$failed fuzz"; }
	for t in $targets; do
		log=$B/fuzz-out/$t.log
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		if [ "$(cat "$B/fuzz-out/$t.rc")" = 0 ]; then
			note "$t: ok, ${execs:-?} execs (${rate:-?}/s), ${cov:-cov: ?}"
		else
			grep -B2 -A25 'ERROR\|invariant broken' "$log" | head -60
			note "$t: FAILED after ${execs:-?} execs, see $log and $B/fuzz-out/$t-*"
			failed="$failed $t"
		fi
	done
fi

echo
printf '%s' "$summary"
if [ -n "$failed" ]; then
	echo "analyze: FAILED:$failed"
	exit 1
fi
echo "analyze: ok"
