#!/usr/bin/env bash
# testnet/down.sh: stops every node of a testnet (SIGTERM, a bounded wait, SIGKILL for
# stragglers) and heals any partition; the data stays, so restart.sh can bring nodes back.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/down.sh [--dir DIR] [--timeout SECONDS] [--purge]

Stops every node of the testnet in DIR (default testnet/run): SIGTERM (and SIGCONT for a
paused node), up to --timeout seconds (default $TN_STOP_TIMEOUT) for each to commit and exit,
then SIGKILL. Removes the testnet's partition rules. Keeps DIR (blocks, keys, logs) unless
--purge is given. Nothing to stop is not an error.
EOF2
}

timeout=$TN_STOP_TIMEOUT purge=0
while [ $# -gt 0 ]; do
    tn_common_opt "$@"
    if [ "$TN_SHIFT" -gt 0 ]; then
        shift "$TN_SHIFT"
        continue
    fi
    case "$1" in
    -h | --help)
        usage
        exit 0
        ;;
    --timeout)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
            tn_usage_error "--timeout needs seconds"
        fi
        timeout=$2
        shift 2
        ;;
    --purge)
        purge=1
        shift
        ;;
    *) tn_usage_error "unknown argument $1" ;;
    esac
done
tn_abs_dir
if [ ! -f "$TN_DIR/testnet.env" ]; then
    echo "$TN_PROG: no testnet in $TN_DIR"
    exit 0
fi
tn_load

# SIGTERM to all first, so they stop in parallel; then the bounded wait for each.
stopping=()
for i in $(seq 0 $((TN_TOTAL - 1))); do
    if tn_signal "$i" TERM; then
        tn_signal "$i" CONT || true
        stopping+=("$i")
    else
        rm -f "$(tn_node_dir "$i")/node.pid"
    fi
done
deadline=$((SECONDS + timeout))
for i in "${stopping[@]}"; do
    left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || left=0
    if ! tn_wait_gone "$i" "$left"; then
        echo "$TN_PROG: node $i still running ${timeout}s after SIGTERM: SIGKILL" >&2
        tn_signal "$i" KILL || true
        tn_wait_gone "$i" 10 || tn_die "node $i survives SIGKILL"
    fi
    rm -f "$(tn_node_dir "$i")/node.pid"
done
tn_heal
echo "testnet in $TN_DIR stopped (${#stopping[@]} nodes were running)"
if [ "$purge" -eq 1 ]; then
    rm -rf "$TN_DIR"
    echo "removed $TN_DIR"
fi
