#!/usr/bin/env bash
# testnet/partition.sh: cuts the network between groups of testnet nodes with nftables: every
# packet between two groups' loopback addresses on the testnet's ports is dropped, both ways.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/partition.sh [--dir DIR] GROUP GROUP [GROUP...]

Each GROUP is a comma-separated list of node indices, e.g. "testnet/partition.sh 0,1 2,3"
splits four nodes 2|2, "testnet/partition.sh 3 0,1,2" isolates node 3. All traffic between
nodes of different groups is dropped (not refused: peers see silence, as in a real network
split); nodes in no group are not affected, nor are clients on 127.0.0.1. Partitions add up
until testnet/heal.sh (or down.sh) removes them all.

The rules live in the nftables table "inet upledger_testnet_BASE" (BASE: the testnet's port
base) and match the testnet's ports BASE..BASE+199 as well as its addresses, so parallel
testnets never cut each other. Needs root and nft (Debian package nftables).
EOF2
}

tn_parse_nodes "$@"
if [ "$TN_HELP" -eq 1 ]; then
    usage
    exit 0
fi
[ ${#TN_ARGS[@]} -ge 2 ] || tn_usage_error "need at least two groups (e.g. 0,1 2,3)"
tn_abs_dir
tn_load
tn_nft_check

declare -A seen=()
groups=()
for g in "${TN_ARGS[@]}"; do
    tn_select "$g"
    addrs=()
    for i in "${TN_SEL[@]}"; do
        [ -z "${seen[$i]:-}" ] || tn_usage_error "node $i is in two groups"
        seen[$i]=1
        addrs+=("$(tn_addr "$i")")
    done
    groups+=("$(IFS=','; echo "${addrs[*]}")")
done

table=$(tn_nft_table)
ports="$TN_BASE-$((TN_BASE + 199))"
desc="${TN_ARGS[*]}"
desc=${desc// / | }
{
    echo "add table inet $table"
    echo "add chain inet $table out { type filter hook output priority -10; policy accept; }"
    for ((a = 0; a < ${#groups[@]}; a++)); do
        for ((b = 0; b < ${#groups[@]}; b++)); do
            [ "$a" -ne "$b" ] || continue
            for dir in dport sport; do
                echo "add rule inet $table out ip saddr { ${groups[a]} } ip daddr { ${groups[b]} }" \
                    "tcp $dir $ports drop comment \"partition $desc\""
            done
        done
    done
} | nft -f -
echo "partitioned: $desc (heal with testnet/heal.sh)"
