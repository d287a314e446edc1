#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer, ASan and UBSan into $BUILD/fuzz/, then
# runs each for FUZZ_SECONDS over a copy of its corpus (the repo corpus is never written).
# Usage: tests/fuzz/run.sh [TARGET...]   (FUZZ_SECONDS, default 30; CC, default clang)
# A crash keeps its input under $BUILD/fuzz/artifacts/<target>/ and makes the script exit 1.
# BUILD (default build) names the build directory, as for make.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
secs=${FUZZ_SECONDS:-30}
cc=${CC_FUZZ:-clang}
out=${BUILD:-build}/fuzz
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -I. $san"
srcdirs="schema client ledger contracts p2p"
libs="-lsecp256k1 -lsodium -lcbor -lcrypto -lleveldb -lnanomsg -ljansson -lpthread"

if ! command -v "$cc" >/dev/null; then
    echo "fuzz: $cc not found (libFuzzer needs clang)" >&2
    exit 2
fi
mkdir -p "$out/obj" "$out/artifacts" "$out/work"

# Project sources (not programs, not tests), instrumented for coverage once, shared by targets.
objs=()
for src in schema/*.c client/*.c ledger/*.c contracts/*.c p2p/*.c; do
    [ -e "$src" ] || continue
    # One SHA-256 backend: libcrypto's, the host build's default (Makefile SHA256).
    [ "$src" = client/sha256_sodium.c ] && continue
    obj="$out/obj/${src%.c}.o"
    mkdir -p "$(dirname "$obj")"
    stale=$(find $srcdirs -name '*.h' -newer "$obj" 2>/dev/null | head -n 1)
    if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$stale" ]; then
        $cc $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || exit 1
    fi
    objs+=("$obj")
done

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "${f%.c}")"); done
fi

status=0
summary=()
for t in "${targets[@]}"; do
    echo "fuzz: building $t"
    if ! $cc $cflags -fsanitize=fuzzer "tests/fuzz/$t.c" "${objs[@]}" $libs -o "$out/$t"; then
        summary+=("$t: BUILD FAILED"); status=1; continue
    fi
    work="$out/work/$t"
    rm -rf "$work"
    mkdir -p "$work" "$out/artifacts/$t"
    [ -d "tests/fuzz/corpus/$t" ] && cp -R "tests/fuzz/corpus/$t/." "$work/"
    log="$out/$t.log"
    echo "fuzz: running $t for ${secs}s"
    "$out/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$out/artifacts/$t/" "$work" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
    if [ $rc -ne 0 ]; then
        status=1
        crash=$(ls -t "$out/artifacts/$t"/* 2>/dev/null | head -n 1)
        grep -E 'ERROR|SUMMARY|runtime error|fuzz_[a-z]+: ' "$log" | head -n 5
        summary+=("$t: CRASH (exit $rc) after ${execs:-?} execs; input ${crash:-none}; log $log")
    else
        n=$(ls "$work" | wc -l)
        summary+=("$t: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-cov ?}, corpus $n in $work")
    fi
done

printf '%s\n' "${summary[@]}"
exit $status
