#!/usr/bin/env bash
# Runs upledger's benchmarks and prints their figures as "bench: <name>: <value> <unit>" lines,
# then a summary block. Figures only: nothing here fails on a timing (targets are printed next
# to the figures for the reader). The exit status is non-zero only when a benchmark itself fails.
#
# Usage: BUILD=build tests/bench/run.sh          (make bench sets BUILD)
#   BENCH_SCALE=small   quick run (seconds); default full (about two to three minutes)
#   BENCH_CALLGRIND=0   skip the callgrind instruction counts of a small audit
#   BENCH_ONLY=LIST     only these sections (comma-separated): log, chain, node, callgrind,
#                       contracts, smt, device, testnet, query, checkpoint, http,
#                       tracker, transport
#   BENCH_TN_ROUND_TIMEOUT_MS, BENCH_TN_HEARTBEAT_MS   testnet node settings (defaults: the
#                       node's: 1000 ms round timeout, no heartbeat)
# Temp dirs live under ${TMPDIR:-/tmp} and are removed at the end; every process has a timeout.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
scale=${BENCH_SCALE:-full}
case "$scale" in
small) log_leaves=20000 chain_txs=4096 node_txs=4096 cg_txs=256 ;;
full) log_leaves=1000000 chain_txs=50000 node_txs=50000 cg_txs=1024 ;;
*) echo "bench: BENCH_SCALE must be small or full" >&2; exit 2 ;;
esac
# State tree keys (bench_smt): 1,000,000 take about three minutes to build.
smt_keys=1000000
[ "$scale" = small ] && smt_keys=50000

tmp=$(mktemp -d "${TMPDIR:-/tmp}/upledger-bench.XXXXXX") || exit 1
node_pid=""
tn_dir=""
cleanup() {
    if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
        kill -TERM "$node_pid" 2>/dev/null
        wait "$node_pid" 2>/dev/null
    fi
    if [ -n "$tn_dir" ] && [ -f "$tn_dir/testnet.env" ]; then
        BUILD=$BUILD timeout -k 10 120 testnet/down.sh --dir "$tn_dir" >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=()
t_start=$(date +%s.%N)

# Whether section $1 runs (BENCH_ONLY unset: all of them).
want() {
    [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]
}

# Runs a command under a time bound, prints its figures and keeps them in $tmp/<name>.out.
# Usage: bounded NAME SECONDS CMD...
bounded() {
    local name=$1 secs=$2
    shift 2
    echo "== $name: $*"
    timeout -k 10 "$secs" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local rc=$?
    sed 's/^bench_log: /bench: log /' "$tmp/$name.out" | tee "$tmp/$name.figs"
    if [ $rc -ne 0 ]; then
        cat "$tmp/$name.err" >&2
        echo "bench: $name FAILED (exit $rc$([ $rc -eq 124 ] && echo ', timed out after '"$secs"' s'))"
        failed+=("$name")
    fi
    return $rc
}

# The value of figure NAME (exact, after "bench: ") from any captured output.
fig() {
    cat "$tmp"/*.figs 2>/dev/null | awk -v n="bench: $1: " 'index($0, n) == 1 {
        print substr($0, length(n) + 1); exit }'
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
        2>/dev/null || echo $((20000 + RANDOM % 30000))
}

# ---- 1. release log (bench_log, owned by the log's engineer) ----------------------------------
want log && bounded log 900 "$BUILD/bench/bench_log" "$tmp/log" "$log_leaves"
rm -rf "$tmp/log"

# ---- 2. chain in process: commits/s, audit, bytes per release, costs ---------------------------
if want chain && bounded chain 900 "$BUILD/bench/bench_chain" "$tmp/chain" "$chain_txs"; then
    # The CLI's audit of the same data directory (a stopped node's layout: DIR/db).
    echo "== cli-audit: $BUILD/upledger audit --data $tmp/chain"
    rm -rf "$tmp/chain/audit-scratch" "$tmp/chain/fsync-probe" "$tmp/chain/small"
    t0=$(date +%s.%N)
    if TMPDIR="$tmp" timeout -k 10 600 "$BUILD/upledger" audit --data "$tmp/chain" \
        >"$tmp/cli-audit.out" 2>"$tmp/cli-audit.err"; then
        t1=$(date +%s.%N)
        awk -v n="$chain_txs" -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
            /^audit passed:/ { s = $(NF - 1)
                printf "bench: upledger audit --data: %s releases in %.2f s (process %.2f s)\n", n, s, wall
                printf "bench: upledger audit --data releases/s: %.0f /s\n", n / s }' \
            "$tmp/cli-audit.out" | tee "$tmp/cli-audit.figs"
    else
        cat "$tmp/cli-audit.out" "$tmp/cli-audit.err" >&2
        echo "bench: cli-audit FAILED"
        failed+=("cli-audit")
    fi
fi
rm -rf "$tmp/chain"

# ---- 3. through the real node ----------------------------------------------------------------
start_node() {
    local data=$1 tries
    for tries in 1 2 3; do
        port=$(free_port)
        endpoint="tcp://127.0.0.1:$port"
        timeout -k 10 600 "$BUILD/upledgerd" --dev --data "$data" --listen "$endpoint" \
            2>"$tmp/node.log" &
        node_pid=$!
        for _ in $(seq 200); do # 20 s
            grep -q "listening on" "$tmp/node.log" 2>/dev/null && return 0
            kill -0 "$node_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -TERM "$node_pid" 2>/dev/null
        wait "$node_pid" 2>/dev/null
        node_pid=""
    done
    cat "$tmp/node.log" >&2
    return 1
}

if ! want node; then
    :
elif start_node "$tmp/node"; then
    bounded node 600 "$BUILD/bench/bench_node" "$tmp/node" "$endpoint" "$node_txs"
    kill -TERM "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    node_pid=""
    blocks=$(grep -c "committed block" "$tmp/node.log")
    echo "bench: node log: $blocks non-empty blocks, last: $(grep "committed block" "$tmp/node.log" | tail -n 1 | sed 's/^upledgerd: //')" |
        tee -a "$tmp/node.figs"
else
    echo "bench: node FAILED (upledgerd did not start)"
    failed+=("node")
fi
rm -rf "$tmp/node"

# ---- 4. instruction counts of a small audit (callgrind) ----------------------------------------
if want callgrind && [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    echo "== callgrind: audit of a $cg_txs-release chain (ul_audit_run only)"
    if timeout -k 10 300 valgrind --tool=callgrind --toggle-collect=ul_audit_run \
        --callgrind-out-file="$tmp/cg.out" "$BUILD/bench/bench_chain" "$tmp/cg" "$cg_txs" \
        >/dev/null 2>"$tmp/cg.err"; then
        callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cg.out" 2>/dev/null |
            awk -v n="$cg_txs" '
            BEGIN {
                nf = split("ul_audit_run ul_chain_apply ul_schema_block_decode ul_chain_submit " \
                      "ul_client_sig_verify secp256k1_schnorrsig_verify " \
                      "secp256k1_xonly_pubkey_parse crypto_hash_sha256_update " \
                      "ul_client_merkle_leaf_hash ul_schema_tx_decode ul_schema_release_decode " \
                      "ul_chain_read ul_overlay_put ul_log_append ul_chain_seal ul_chain_commit " \
                      "ul_store_write next_block malloc free", fns, " ")
            }
            /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
            {
                for (i in fns) {
                    if (!(fns[i] in ir) && index($0, ":" fns[i] " ") > 0) {
                        v = $1; gsub(",", "", v); ir[fns[i]] = v
                    }
                }
            }
            END {
                for (i = 1; i <= nf; i++) {
                    f = fns[i]
                    if (f in ir) {
                        printf "bench: callgrind audit %s: %.0f Ir/release (%.1f%%)\n", f,
                               ir[f] / n, 100 * ir[f] / total
                    }
                }
            }' | tee "$tmp/cg.figs"
    else
        echo "bench: callgrind skipped (failed or timed out; see below)"
        tail -n 5 "$tmp/cg.err"
    fi
    rm -rf "$tmp/cg"
fi

# ---- 5. contract evaluation cost per transaction (bench_contracts) -----------------------------
case "$scale" in
small) contract_iters=20000 ;;
*) contract_iters=200000 ;;
esac
want contracts && bounded contracts 300 "$BUILD/bench/bench_contracts" "$contract_iters"

# ---- 5. state tree: sparse Merkle tree build, proofs, verification, updates (bench_smt) --------
want smt && bounded smt 900 "$BUILD/bench/bench_smt" "$tmp/smt" "$smt_keys"
rm -rf "$tmp/smt"

# ---- 7. device: context, stack, bundle verification, whole update vs SHA-256 (bench_device) --
case "$scale" in
small) dev_releases=20000 dev_iters=20 ;;
*) dev_releases=1000000 dev_iters=200 ;;
esac
if want device && bounded device-build 1800 "$BUILD/bench/bench_device" build "$tmp/device" "$dev_releases"; then
    bounded device 600 "$BUILD/bench/bench_device" measure "$tmp/device" "$dev_iters"
    if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
        echo "== callgrind: device bundle verification (4, 7 validators) and a whole 1 MiB update"
        if UL_BENCH_CG=1 timeout -k 10 600 valgrind --tool=callgrind \
            --toggle-collect=cg_bundle4 --toggle-collect=cg_bundle7 --toggle-collect=cg_update4 \
            --toggle-collect=cg_sha --callgrind-out-file="$tmp/cgd.out" \
            "$BUILD/bench/bench_device" measure "$tmp/device" 1 >/dev/null 2>"$tmp/cgd.err"; then
            callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cgd.out" 2>/dev/null |
                awk '{ v = $1; gsub(",", "", v) }
                    /:cg_bundle4 / { b4 = v } /:cg_bundle7 / { b7 = v }
                    /:cg_update4 / { u4 = v } /:cg_sha / { sh = v }
                    END {
                        printf "bench: callgrind device bundle verify 4 validators: %.0f Ir\n", b4
                        printf "bench: callgrind device bundle verify 7 validators: %.0f Ir\n", b7
                        printf "bench: callgrind device whole 1 MiB update / SHA-256 of the image: %.3f (%.0f / %.0f Ir)\n", sh ? u4 / sh : 0, u4, sh
                    }' | tee "$tmp/cgd.figs"
        else
            echo "bench: callgrind device skipped (failed or timed out)"
            tail -n 5 "$tmp/cgd.err"
        fi
    fi
fi
rm -rf "$tmp/device"
# A whole update of a large image streamed from a file, against `openssl dgst -sha256` of it.
big_mib=1024
[ "$scale" = small ] && big_mib=64
want device && bounded device-big 600 "$BUILD/bench/bench_device" big "$tmp/device-big" "$big_mib"
rm -rf "$tmp/device-big"

# ---- 8. a 4-validator loopback testnet: sustained commits/s, latency at 1000/s, catch-up -------
# Its own port base and directory; an observer (node 4) is started with the others, stopped and
# wiped at once, and started after the load as a new node that catches up by block sync.
case "$scale" in
small) tn_sus=4000 tn_secs=3 ;;
*) tn_sus=100000 tn_secs=10 ;;
esac
tn_rate=1000
tn_hb=${BENCH_TN_HEARTBEAT_MS:-}
tn_rt=${BENCH_TN_ROUND_TIMEOUT_MS:-}
if want testnet; then
    export BUILD
    tn_dir="$tmp/testnet"
    tn_args=(4 --observers 1 --dir "$tn_dir" --wait 60)
    [ -z "$tn_hb" ] || tn_args+=(--heartbeat-ms "$tn_hb")
    [ -z "$tn_rt" ] || tn_args+=(--round-timeout-ms "$tn_rt")
    echo "== testnet: testnet/up.sh ${tn_args[*]} --port BASE"
    tn_rc=3
    for _ in 1 2 3; do # exit 3: a port of BASE..BASE+199 is taken; try another base
        tn_base=$((20000 + 200 * (RANDOM % 200)))
        timeout -k 10 120 testnet/up.sh "${tn_args[@]}" --port "$tn_base" >"$tmp/tn-up.out" 2>&1
        tn_rc=$?
        [ $tn_rc -eq 3 ] || break
    done
    if [ $tn_rc -eq 0 ] &&
        timeout -k 10 60 testnet/kill.sh --dir "$tn_dir" 4 >/dev/null 2>&1 &&
        rm -rf "$tn_dir/node4/db"; then
        echo "bench: testnet node settings: round_timeout_ms ${tn_rt:-node default (1000)}, heartbeat_ms ${tn_hb:-node default (none)}" |
            tee "$tmp/testnet-settings.figs"
        bounded testnet 1200 "$BUILD/bench/bench_testnet" load "$tn_dir" "$tn_sus" "$tn_rate" "$tn_secs"
        bounded testnet-catchup 900 "$BUILD/bench/bench_testnet" catchup "$tn_dir" 4 \
            testnet/restart.sh --dir "$tn_dir" --wait 0 4
        for i in 0 1 2 3 4; do
            grep -h "decided in round\|cannot build\|refused height" "$tn_dir/node$i/node.log" 2>/dev/null |
                head -n 3 | sed "s/^/  node$i log: /"
        done
    else
        cat "$tmp/tn-up.out" >&2
        echo "bench: testnet FAILED (testnet/up.sh exit $tn_rc)"
        failed+=("testnet")
    fi
    timeout -k 10 120 testnet/down.sh --dir "$tn_dir" >/dev/null 2>&1
    rm -rf "$tn_dir"
    tn_dir=""
fi

# ---- 9. queries as one namespace grows: node CPU of history, latest, search, metrics ---------
# One namespace of 10k, 100k and 1M releases (built in process: about four minutes for 1M).
case "$scale" in
small) q_sizes=(1000 10000) ;;
*) q_sizes=(10000 100000 1000000) ;;
esac
want query && bounded query 1800 "$BUILD/bench/bench_query" "$tmp/query" "${q_sizes[@]}"
rm -rf "$tmp/query"

# ---- 10. freshness without empty blocks: a year's catch-up, idle disk growth -----------------
# bench_checkpoint: a year of releases (one every ~5 minutes, each in its own block: no
# heartbeats) on 4 validators; a new node's catch-up; device signatures with commit/checkpoint.
# idle_disk.py: an idle 4-validator testnet with 1 s checkpoints, then with 2 s heartbeats.
case "$scale" in
small) cp_releases=5000 idle_s=10 ;;
*) cp_releases=100000 idle_s=60 ;;
esac
if want checkpoint; then
    bounded checkpoint 1800 "$BUILD/bench/bench_checkpoint" "$tmp/checkpoint" "$cp_releases" 1
    rm -rf "$tmp/checkpoint"
    bounded idle-disk 900 /usr/bin/python3 tests/bench/idle_disk.py "$BUILD" "$tmp" "$idle_s" 1000
fi

# ---- 11. the HTTP API under wrk: cached bundle, latest, release with provenance (bench_http) ----
http_secs=10
[ "$scale" = small ] && http_secs=3
want http && bounded http 600 /usr/bin/python3 tests/bench/bench_http.py "$BUILD" "$tmp/http" "$http_secs"

# ---- 12. the status tracker: reports/s with verification; lists and reclassification at scale --
# bench_tracker reports: signed reports accepted per second in process and over HTTP on loopback;
# bench_tracker fleet: a store of N devices, a new release and a revocation reclassifying all.
case "$scale" in
small) tr_devices=1000 tr_per=4 tr_fleets=(10000 100000) ;;
*) tr_devices=5000 tr_per=4 tr_fleets=(100000 1000000) ;;
esac
if want tracker; then
    echo "bench: tracker machine load average (1 min) at start: $(cut -d' ' -f1 /proc/loadavg)"
    bounded tracker-reports 900 "$BUILD/bench/bench_tracker" reports "$tmp" "$tr_devices" "$tr_per" \
        "$(free_port)"
    for n in "${tr_fleets[@]}"; do
        bounded "tracker-fleet-$n" 900 "$BUILD/bench/bench_tracker" fleet "$tmp" "$n"
    done
fi

# ---- 13. what one query costs the node in its transport (bench_transport) --------------------
# nanomsg REQ/REP as upledgerd answers it, beside a kernel TCP socket, at 100 and 1000 requests/s,
# under SCHED_BATCH (upledgerd's default) and the normal policy.
case "$scale" in
small) tp_secs=1 ;;
*) tp_secs=2 ;;
esac
want transport && bounded transport 120 "$BUILD/bench/bench_transport" "$tp_secs"

# ---- summary -----------------------------------------------------------------------------------
t_end=$(date +%s.%N)
echo
echo "==== upledger bench summary (BENCH_SCALE=$scale) ===="
row() { printf '  %-58s %s\n' "$1" "${2:-n/a}"; }
row "release commits/s in-process (target >= 5000)" \
    "$(fig 'release commits/s in-process (submit + synced produce)')"
row "release commits/s through upledgerd (target >= 5000)" \
    "$(fig 'release commits/s through the node (end to end)')"
row "audit releases/s, ul_audit_run (target >= 15000)" "$(fig 'audit releases/s (ul_audit_run)')"
row "audit releases/s, upledger audit --data" "$(fig 'upledger audit --data releases/s')"
row "store bytes / record bytes, live (target <= 2.0)" \
    "$(fig 'store bytes / record bytes (chain open, after build)')"
row "store bytes / record bytes, settled (target <= 2.0)" \
    "$(fig 'store bytes / record bytes (settled: compacted, closed)')"
row "store bytes per release, settled" \
    "$(fig 'store bytes per release (settled: compacted, closed)')"
row "store bytes per one-release block / of which state history" \
    "$(fig 'store bytes per one-release block (compacted)') / $(fig 'state history bytes per one-release block (keys + values)')"
row "mean record body / signed tx" \
    "$(fig 'mean canonical record body') / $(fig 'mean signed publish tx')"
row "ul_chain_submit per publish tx" "$(fig 'ul_chain_submit per publish tx')"
row "ul_client_sig_verify" "$(fig 'ul_client_sig_verify')"
row "ul_chain_produce per block of 2048 (synced)" "$(fig 'ul_chain_produce per block')"
row "log: inclusion proofs/s" "$(fig 'log inclusion proofs/s' | cut -d' ' -f1)"
row "log: consistency proofs/s" "$(fig 'log consistency proofs/s' | cut -d' ' -f1)"
row "smt: proofs/s at $smt_keys keys (target >= 20000)" \
    "$(fig 'smt proofs/s (ul_smt_prove, random keys, one thread)')"
row "smt: mean proof bytes / verify/s" \
    "$(fig 'smt mean proof bytes (canonical CBOR)') / $(fig 'smt verify/s (ul_client_state_verify, incl. key and value hashing)')"
row "smt: 2000-key update batch into the full tree" \
    "$(fig 'smt update 2000-key batch into the full tree (ul_smt_update_root)')"
row "callgrind: audit Ir per release" "$(fig 'callgrind audit ul_audit_run')"
row "contracts: ul_policy_check_release" \
    "$(fig 'contracts ul_policy_check_release (16 hw, 8 sigs)')"
row "contracts: approve + installable (8 roles x 8 keys)" \
    "$(fig 'contracts ul_policy_approve + ul_policy_installable (8 roles x 8 keys)')"
row "contracts: ul_policy_revoke" "$(fig 'contracts ul_policy_revoke (10 revoker sets, 5 sigs)')"
row "device: ul_update context (limit 8192 B)" "$(fig 'device ul_update context')"
row "device: stack used, whole update (limit 4096 B)" \
    "$(fig 'device 4 validators stack used (bundle + image)')"
row "device: of which one libsecp256k1 BIP-340 verify" \
    "$(fig 'device stack of one BIP-340 verify (libsecp256k1 alone)')"
row "device: bundle bytes, 4 / 7 validators ($dev_releases-release log)" \
    "$(fig 'device 4 validators bundle bytes') / $(fig 'device 7 validators bundle bytes')"
row "device: bundle verify time, 4 / 7 validators" \
    "$(fig 'device 4 validators bundle verify (512 B chunks)') / $(fig 'device 7 validators bundle verify (512 B chunks)')"
row "device: signatures per bundle, commit / checkpoint (4 validators)" \
    "$(fig 'device bundle with commit: signatures verified') / $(fig 'device bundle with checkpoint: signatures verified')"
row "new node catch-up on a year ($cp_releases releases; target < 300 s)" \
    "$(fig 'catch-up of a new node on the year chain (apply every block, network left out)')"
row "idle 4-validator testnet: blocks/hour, checkpoints (target 0)" \
    "$(fig 'idle testnet checkpoints every 1000 ms: blocks per hour')"
row "idle testnet disk per node per hour: 60 s checkpoints / 2 s heartbeats" \
    "$(fig 'idle testnet checkpoints at the default 60 s: disk growth per node per hour' | cut -d' ' -f1-2) / $(fig 'idle testnet heartbeat 2 s (the old default): disk growth per node per hour')"
row "device: callgrind Ir per bundle, 4 validators" "$(fig 'callgrind device bundle verify 4 validators')"
row "device: callgrind Ir per bundle, 7 validators" "$(fig 'callgrind device bundle verify 7 validators')"
row "device: whole 1 MiB update / SHA-256 alone, Ir (target <= 1.10)" \
    "$(fig 'callgrind device whole 1 MiB update / SHA-256 of the image')"
row "device: whole $big_mib MiB update / openssl dgst -sha256 (target <= 1.10)" \
    "$(fig "device whole $big_mib MiB update / openssl dgst -sha256")"
row "device: SHA-256 MB/s, openssl / libsodium backend" \
    "$(fig 'device SHA-256 MB/s, openssl backend (libcrypto)') / $(fig 'device SHA-256 MB/s, libsodium backend')"
row "testnet: machine" "$(fig 'testnet machine')"
row "testnet: sustained release commits/s (target >= 3000)" \
    "$(fig 'testnet sustained release commits/s') ($(fig 'testnet sustained releases committed'))"
row "testnet: machine CPU during the sustained run" "$(fig 'testnet sustained machine CPU')"
row "testnet: blocks/s, sustained" "$(fig 'testnet sustained blocks/s')"
row "testnet: node CPU per release, sustained (target < 2x the floor)" \
    "$(fig 'testnet sustained node CPU per release')"
row "testnet: node CPU per release at $tn_rate/s offered (target < 2x the floor)" \
    "$(fig "testnet at $tn_rate/s offered node CPU per release")"
row "testnet: commit latency p50 / p99 / max at $tn_rate/s (target p99 <= 1 s)" \
    "$(fig 'testnet commit latency p50') / $(fig 'testnet commit latency p99') / $(fig 'testnet commit latency max')"
row "testnet: releases seen committed at $tn_rate/s" "$(fig 'testnet latency releases seen committed')"
row "testnet: catch-up of a new node, blocks/s verified" "$(fig 'testnet catch-up blocks/s verified')"
row "testnet: catch-up of a new node, releases/s verified" \
    "$(fig 'testnet catch-up releases/s verified')"
row "testnet: node settings" "$(fig 'testnet node settings')"
row "transport: CPU per request at 100/s, p2p REQ/REP / kernel TCP" \
    "$(fig 'transport p2p REQ/REP (nanomsg) CPU per request at 100/s, SCHED_BATCH' | cut -d' ' -f1-2) / $(fig 'transport kernel TCP CPU per request at 100/s, SCHED_BATCH' | cut -d' ' -f1-2)"
row "transport: 4 validators x 100 calls/s, per release at 1000/s" \
    "$(fig 'transport 4 validators x 100 calls/s, per release at 1000/s')"
qn=${q_sizes[${#q_sizes[@]}-1]}
row "query history node CPU at $qn releases, a page of 50 (target < 1 ms)" \
    "$(fig "query history node CPU at $qn releases (a page of 50 with records)")"
row "query latest node CPU at $qn releases (target < 1 ms)" \
    "$(fig "query latest node CPU at $qn releases (index, record, status)")"
row "query history / latest growth ${q_sizes[0]} -> $qn releases" \
    "$(fig "query history (page with records) node CPU growth ${q_sizes[0]} -> $qn releases" | cut -d' ' -f1) / $(fig "query latest node CPU growth ${q_sizes[0]} -> $qn releases" | cut -d' ' -f1)"
row "http: cached bundle requests/s, per node core (target >= 10000 per core)" \
    "$(fig 'http cached bundle' | cut -d' ' -f1-2) / $(fig 'http cached bundle per node core')"
row "http: cached bundle p50 / p99, node CPU per request" \
    "$(fig 'http cached bundle latency p50 / p99'), $(fig 'http cached bundle node CPU per request')"
row "http: latest bundle requests/s, p50 / p99, node CPU per request" \
    "$(fig 'http latest bundle' | cut -d' ' -f1-2), $(fig 'http latest bundle latency p50 / p99'), $(fig 'http latest bundle node CPU per request')"
row "http: release with provenance requests/s, p50 / p99, node CPU per request" \
    "$(fig 'http release with provenance' | cut -d' ' -f1-2), $(fig 'http release with provenance latency p50 / p99'), $(fig 'http release with provenance node CPU per request')"
row "http: /metrics requests/s, p50 / p99, node CPU per request" \
    "$(fig 'http metrics' | cut -d' ' -f1-2), $(fig 'http metrics latency p50 / p99'), $(fig 'http metrics node CPU per request')"
row "tracker: reports accepted/s over HTTP, verified (target >= 5000)" \
    "$(fig "tracker reports accepted/s over HTTP (loopback, 8 keep-alive clients, 8 server threads)" | cut -d' ' -f1)"
row "tracker: CPU per report over HTTP (server + clients)" \
    "$(fig "tracker CPU per accepted report over HTTP (server and in-process clients)")"
row "tracker: reports accepted/s in process, verified" \
    "$(fig "tracker reports accepted/s in process (verify + SQLite, 8 threads, $tr_devices devices)" | cut -d' ' -f1)"
row "tracker: store alone, reports/s, 1 / 16 per transaction" \
    "$(fig "tracker store alone, reports/s, one per transaction (SQLite, one thread)") / $(fig "tracker store alone, reports/s, 16 per transaction (SQLite, one thread)")"
for n in "${tr_fleets[@]}"; do
    row "tracker: $n devices: revocation reclassifies all (target < 10 s at 1M)" \
        "$(fig "tracker $n devices: reclassify after a revocation (all vulnerable)")"
    row "tracker: $n devices: list a page of outdated (target < 100 ms)" \
        "$(fig "tracker $n devices: list a page of 100 outdated, after the release" | cut -d' ' -f1-2)"
done
row "wall time of this run" "$(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f s", b - a }')"
if [ ${#failed[@]} -ne 0 ]; then
    echo "  FAILED: ${failed[*]}"
    exit 1
fi
echo "  all benchmarks ran"
