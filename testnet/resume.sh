#!/usr/bin/env bash
# testnet/resume.sh: continues testnet nodes frozen by pause.sh (SIGCONT).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/resume.sh [--dir DIR] I [J...]

Sends SIGCONT to node I (and J...; "0,1" and "all" work too) of the testnet in DIR (default
testnet/run), continuing a node paused by testnet/pause.sh.
EOF2
}

tn_parse_nodes "$@"
if [ "$TN_HELP" -eq 1 ]; then
    usage
    exit 0
fi
[ ${#TN_ARGS[@]} -gt 0 ] || tn_usage_error "which node? (testnet/resume.sh I)"
tn_abs_dir
tn_load
tn_select "${TN_ARGS[@]}"
rc=0
for i in "${TN_SEL[@]}"; do
    if tn_signal "$i" CONT; then
        echo "node $i resumed (SIGCONT)"
    else
        echo "$TN_PROG: node $i is not running" >&2
        rc=1
    fi
done
exit "$rc"
