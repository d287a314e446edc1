#!/usr/bin/env bash
# testnet/restart.sh: starts testnet nodes again on their configs and data (after kill.sh or
# down.sh), and waits until each answers queries.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/restart.sh [--dir DIR] [--wait SECONDS] I [J...]

Starts node I (and J...; "0,1" and "all" work too) of the testnet in DIR (default testnet/run)
again on its config and data directory, its log appended to DIR/nodeI/node.log, and waits (at
most --wait seconds, default 30; 0: no wait) until it answers \`query status\`. It catches up
with its peers by itself. A node that runs already is refused (exit 1).
EOF2
}

wait_s=30
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --wait)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
            tn_usage_error "--wait needs seconds"
        fi
        wait_s=$2
        shift 2
        ;;
    *)
        args+=("$1")
        shift
        ;;
    esac
done
tn_parse_nodes "${args[@]}"
if [ "$TN_HELP" -eq 1 ]; then
    usage
    exit 0
fi
[ ${#TN_ARGS[@]} -gt 0 ] || tn_usage_error "which node? (testnet/restart.sh I)"
tn_abs_dir
tn_load
tn_select "${TN_ARGS[@]}"
for i in "${TN_SEL[@]}"; do
    if pid=$(tn_pid "$i"); then
        tn_die "node $i runs already (pid $pid)"
    fi
done
for i in "${TN_SEL[@]}"; do
    tn_start "$i" || tn_die "node $i did not start"
done
deadline=$((SECONDS + wait_s))
for i in "${TN_SEL[@]}"; do
    while [ "$wait_s" -gt 0 ]; do
        if ! tn_pid "$i" >/dev/null; then
            echo "$TN_PROG: node $i exited; the end of its log:" >&2
            tn_log_tail "$i"
            exit 1
        fi
        h=$(tn_height "$i" 500 || true)
        if [ -n "$h" ]; then
            echo "node $i restarted (pid $(tn_pid "$i")), at height $h"
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tn_log_tail "$i"
            tn_die "node $i does not answer after ${wait_s}s"
        fi
        sleep 0.1
    done
    [ "$wait_s" -gt 0 ] || echo "node $i restarted (pid $(tn_pid "$i"))"
done
