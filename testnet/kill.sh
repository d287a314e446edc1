#!/usr/bin/env bash
# testnet/kill.sh: kill -9 of testnet nodes (a crash: no chance to flush or close anything).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/kill.sh [--dir DIR] I [J...]

Sends SIGKILL to node I (and J...; "0,1" and "all" work too) of the testnet in DIR (default
testnet/run) and waits until it is gone. A node that is not running is reported, not an error.
Bring it back with testnet/restart.sh I.
EOF2
}

tn_parse_nodes "$@"
if [ "$TN_HELP" -eq 1 ]; then
    usage
    exit 0
fi
[ ${#TN_ARGS[@]} -gt 0 ] || tn_usage_error "which node? (testnet/kill.sh I)"
tn_abs_dir
tn_load
tn_select "${TN_ARGS[@]}"
# All signals first: "kill.sh all" is one crash of the whole network, not a sequence.
killed=()
for i in "${TN_SEL[@]}"; do
    if tn_signal "$i" KILL; then
        killed+=("$i")
    else
        echo "node $i was not running"
    fi
done
for i in "${killed[@]}"; do
    tn_wait_gone "$i" 10 || tn_die "node $i survives SIGKILL"
    rm -f "$(tn_node_dir "$i")/node.pid"
    echo "node $i killed (kill -9)"
done
