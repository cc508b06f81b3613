#!/bin/sh
# Run the test binaries of a build folder: tests/run.sh BUILD [unit|integration]
# Each binary runs with a time limit; the run fails if any binary fails.
set -u
build=$1
what=${2:-all}
failed=0
passed=0
# Known leak in Debian's nng 1.5.2, see the file for details.
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
start=$(date +%s)

run_dir() {
    kind=$1
    limit=$2
    [ -d "$build/tests/$kind" ] || return 0
    for t in $(find "$build/tests/$kind" -type f -perm -u+x -name 'test_*' | sort); do
        name=${t#"$build/tests/"}
        t0=$(date +%s)
        if QM_BIN_DIR="$build/bin" QM_PROGS_DIR="$build/tests/progs" timeout -k 10 "$limit" "$t" >"$t.log" 2>&1; then
            passed=$((passed + 1))
            echo "PASS $name ($(( $(date +%s) - t0 ))s)"
        else
            rc=$?
            failed=$((failed + 1))
            echo "FAIL $name (exit $rc, $(( $(date +%s) - t0 ))s); its output:"
            tail -n 60 "$t.log" | sed 's/^/    /'
        fi
    done
}

[ "$what" = integration ] || run_dir unit 300
[ "$what" = unit ] || run_dir integration 900
echo "tests: $passed passed, $failed failed in $(( $(date +%s) - start ))s"
[ "$failed" -eq 0 ]
