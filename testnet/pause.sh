#!/usr/bin/env bash
# testnet/pause.sh: freezes testnet nodes with SIGSTOP (alive, sockets open, silent).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/pause.sh [--dir DIR] I [J...]

Sends SIGSTOP to node I (and J...; "0,1" and "all" work too) of the testnet in DIR (default
testnet/run): its process stays, its connections stay open, it answers nothing. Peers see a
node that hangs rather than one that died. testnet/resume.sh I continues it.
EOF2
}

tn_parse_nodes "$@"
if [ "$TN_HELP" -eq 1 ]; then
    usage
    exit 0
fi
[ ${#TN_ARGS[@]} -gt 0 ] || tn_usage_error "which node? (testnet/pause.sh I)"
tn_abs_dir
tn_load
tn_select "${TN_ARGS[@]}"
rc=0
for i in "${TN_SEL[@]}"; do
    if tn_signal "$i" STOP; then
        echo "node $i paused (SIGSTOP)"
    else
        echo "$TN_PROG: node $i is not running" >&2
        rc=1
    fi
done
exit "$rc"
