#!/usr/bin/env bash
# testnet/heal.sh: removes every partition of a testnet (its nftables table).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF2
usage: testnet/heal.sh [--dir DIR]

Removes every partition made by testnet/partition.sh for the testnet in DIR (default
testnet/run): deletes its nftables table "inet upledger_testnet_BASE". Nothing to heal is not
an error.
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
if tn_nft_has_table; then
    tn_heal
    echo "healed: all partitions removed"
else
    echo "no partition"
fi
