#!/usr/bin/env bash
# testnet/status.sh: one line per testnet node: role, endpoint, height, head hash, process state.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/status.sh [--dir DIR]

One line per node of the testnet in DIR (default testnet/run):
  nodeI ROLE QUERY-ENDPOINT height H head HASH STATE [pid P]
STATE is running, paused (SIGSTOP) or stopped; height and head are "-" when the node does not
answer within a second (stopped, paused, or partitioned from nothing: clients use 127.0.0.1).
A last line names the partitions in force, if any. Exit 0 when every node answers, else 1.
EOF2
}

tn_parse_nodes "$@"
if [ "$TN_HELP" -eq 1 ]; then
    usage
    exit 0
fi
[ ${#TN_ARGS[@]} -eq 0 ] || tn_usage_error "unexpected argument ${TN_ARGS[0]}"
tn_abs_dir
tn_load
rc=0
for i in $(seq 0 $((TN_TOTAL - 1))); do
    role=validator
    ! tn_is_observer "$i" || role=observer
    state=$(tn_state "$i")
    hh="- -"
    if [ "$state" = running ]; then
        hh=$(tn_status_json "$i" 1000 | "$TN_PY" -c 'import json,sys
s = json.load(sys.stdin)
print(s["height"], (s.get("head") or {}).get("hash") or "-")' 2>/dev/null || echo "- -")
    fi
    [ "$hh" != "- -" ] || rc=1
    pid=""
    [ "$state" = stopped ] || pid=" pid $(tn_pid "$i")"
    printf 'node%-3s %-9s %-26s height %-6s head %-64s %s%s\n' "$i" "$role" "$(tn_rpc "$i")" \
        "${hh%% *}" "${hh#* }" "$state" "$pid"
done
if tn_nft_has_table; then
    nft list table inet "$(tn_nft_table)" | sed -n 's/.*comment "\(partition [^"]*\)".*/\1/p' |
        sort -u
fi
exit "$rc"
