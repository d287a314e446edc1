#!/usr/bin/env bash
# Runs every test: cmocka unit binaries, fuzz-corpus replays, then the pytest system tests.
# Usage: tests/run.sh UNIT_BIN... -- FUZZ_REPLAY_BIN...   (BUILD names the build dir)
# Ends with one line: "upledger tests: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export BUILD=${BUILD:-build}
units=(); fuzz=(); seen_sep=0
for a in "$@"; do
    if [ "$a" = "--" ]; then seen_sep=1; continue; fi
    if [ $seen_sep -eq 0 ]; then units+=("$a"); else fuzz+=("$a"); fi
done
passed=0; failed=0; failures=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Runs unit binary $1 and counts its results; $2 names the run ("": the plain one).
run_unit() {
    local name p f rc out
    name=$(basename "$1")$2
    out="$log/$name.out"
    "$1" >"$out" 2>&1; rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("$name"); cat "$out"; fi
    echo "unit   $name: $p passed, $f failed"
}
for b in "${units[@]}"; do
    run_unit "$b" ""
done
# The ledger's chain tests again on the memory store the simulator uses (tests/unit/chainfx.c):
# the same ledger code must behave the same on it as on LevelDB.
for b in "${units[@]}"; do
    case $(basename "$b") in
    test_chain | test_evidence | test_prepare | test_update | test_valset)
        UL_TEST_STORE=mem run_unit "$b" " (memory store)" ;;
    esac
done

for b in "${fuzz[@]}"; do
    name=$(basename "$b")
    corpus="$root/tests/fuzz/corpus/$name"
    if "$b" "$corpus" >"$log/$name.out" 2>&1; then
        passed=$((passed + 1)); echo "fuzz   $name: $(tail -n 1 "$log/$name.out")"
    else
        failed=$((failed + 1)); failures+=("$name"); cat "$log/$name.out"
        echo "fuzz   $name: FAILED"
    fi
done

# The consensus simulator: a smaller number of seeds than `make sim`; any failing seed replays.
if [ -n "${SIM:-}" ] && [ -x "$SIM" ]; then
    if out=$("$SIM" --seeds "${SIM_SEEDS:-100}" 2>&1); then
        passed=$((passed + 1)); echo "sim    $(echo "$out" | tail -n 1)"
    else
        failed=$((failed + 1)); failures+=("sim"); echo "$out" | tail -n 20
    fi
fi

# The whole-node simulator (tests/sim/README.md): a few hundred seeds; any failing seed replays.
if [ -n "${NODESIM:-}" ] && [ -x "$NODESIM" ]; then
    if out=$("$NODESIM" --seeds "${NODESIM_SEEDS:-300}" 2>&1); then
        passed=$((passed + 1)); echo "sim    $(echo "$out" | tail -n 1)"
    else
        failed=$((failed + 1)); failures+=("nodesim"); echo "$out" | grep -A2 FAILED | head -n 30
    fi
    # Seeds that once failed, with the options they failed with (tests/sim/README.md).
    for args in "--n 7 --seed 21" "--sign-full --seed 295"; do
        # shellcheck disable=SC2086 # the options are words
        if out=$("$NODESIM" $args 2>&1); then
            passed=$((passed + 1)); echo "sim    nodesim $args: $(echo "$out" | tail -n 1)"
        else
            failed=$((failed + 1)); failures+=("nodesim $args"); echo "$out" | grep -A2 FAILED | head -n 30
        fi
    done
fi

# A benchmark's chain must be a valid chain: bench_device audits the chain it builds (small here).
if [ -n "${BENCH_DEVICE:-}" ] && [ -x "$BENCH_DEVICE" ]; then
    if out=$("$BENCH_DEVICE" build "$log/bench-chain" 10 2>&1); then
        passed=$((passed + 1)); echo "bench  $(echo "$out" | grep 'chain audit')"
    else
        failed=$((failed + 1)); failures+=("bench_device"); echo "$out" | tail -n 5
    fi
fi

if [ -d "$root/tests/system" ] && ls "$root"/tests/system/test_*.py >/dev/null 2>&1; then
    out="$log/pytest.out"
    (cd "$root" && /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/system) 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|(passed|failed|error)' "$out" | tail -n 1)
    p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
    f=$(echo "$line" | grep -oE '[0-9]+ (failed|error|errors)' | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
    p=${p:-0}; f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -ne 0 ] && failures+=("pytest")
fi

[ ${#failures[@]} -gt 0 ] && echo "failing: ${failures[*]}"
echo "upledger tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
