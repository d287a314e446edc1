#!/usr/bin/env bash
# Fails the build if a banned call appears in our C sources (as curl's checksrc does): each has a
# bounded or checked replacement (snprintf, memcpy with a length, strtoul with checks,
# randombytes_buf).
set -euo pipefail
cd "$(dirname "$0")/.."
hits=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|strtok|rand|srand)\s*\(' \
    --include='*.c' --include='*.h' client schema keys ledger contracts p2p node cli device tracker tests examples 2>/dev/null || true)
if [ -n "$hits" ]; then
    echo "banned calls (see scripts/check-banned.sh):" >&2
    echo "$hits" >&2
    exit 1
fi
