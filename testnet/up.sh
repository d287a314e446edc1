#!/usr/bin/env bash
# testnet/up.sh: creates keys, a genesis and configs for an N-validator network on loopback,
# starts every node in the background and waits until each has committed a first block.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: testnet/up.sh N [--dir DIR] [--port BASE] [--observers M] [--checkpoint-ms MS]
                       [--heartbeat-ms MS] [--round-timeout-ms MS] [--wait SECONDS] [-v]

Starts a testnet of N validators (and M observers) on loopback, each node in its own data
directory DIR/nodeI, and waits until every node answers (with --heartbeat-ms: until every node
reports a height of at least 1).

  N                      validators (1..$TN_MAX_NODES, observers included)
  --dir DIR              testnet directory (default testnet/run; \$TESTNET_DIR)
  --port BASE            node I's query endpoint is port BASE+I, its peer endpoint BASE+100+I
                         (default 27400); parallel testnets need different bases
  --observers M          M non-voting observer nodes after the validators (default 0)
  --checkpoint-ms MS     freshness checkpoint interval (default: the node's, 60000)
  --heartbeat-ms MS      also an empty block this often when idle (default: none; blocks are
                         made only when transactions wait)
  --round-timeout-ms MS  base propose timeout of a consensus round (default: the node's, 1000)
  --wait SECONDS         how long to wait for the first commits (default 60)
  -v, --verbose          nodes log every block (upledgerd -v)

Node I (0-based; observers after the validators) listens on 127.0.0.(11+I), connects to its
peers from that address (so partition.sh can cut it off by address), logs to
DIR/nodeI/node.log. Keys are unencrypted (a test network). DIR/testnet.json lists every
node's endpoints and key. Refuses to start over a running testnet in DIR; a stopped one there
is replaced. Binaries come from \$BUILD (default build/).
Exit status: 0 all nodes committed, 1 failure (nodes stopped again), 2 usage, 3 a port is in use.

Then: testnet/status.sh, kill.sh I, restart.sh I, pause.sh I, resume.sh I,
partition.sh 0,1 2,3, heal.sh, down.sh (each takes --dir and --help).
EOF
}

n="" obs=0 base=27400 heartbeat="" checkpoint="" round_timeout="" wait_s=60 verbose=""
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
    --port | --observers | --heartbeat-ms | --checkpoint-ms | --round-timeout-ms | --wait)
        [ $# -ge 2 ] || tn_usage_error "$1 needs a value"
        [[ "$2" =~ ^[0-9]+$ ]] || tn_usage_error "$1 needs a number, not '$2'"
        case "$1" in
        --port) base=$2 ;;
        --observers) obs=$2 ;;
        --heartbeat-ms) heartbeat=$2 ;;
        --checkpoint-ms) checkpoint=$2 ;;
        --round-timeout-ms) round_timeout=$2 ;;
        --wait) wait_s=$2 ;;
        esac
        shift 2
        ;;
    -v | --verbose)
        verbose=-v
        shift
        ;;
    -*) tn_usage_error "unknown option $1" ;;
    *)
        [ -z "$n" ] || tn_usage_error "one N only"
        [[ "$1" =~ ^[0-9]+$ ]] || tn_usage_error "N must be a number, not '$1'"
        n=$1
        shift
        ;;
    esac
done
[ -n "$n" ] || tn_usage_error "how many validators? (testnet/up.sh N)"
[ "$n" -ge 1 ] || tn_usage_error "N must be at least 1"
[ $((n + obs)) -le "$TN_MAX_NODES" ] || tn_usage_error "at most $TN_MAX_NODES nodes"
if [ "$base" -lt 1024 ] || [ $((base + 199)) -gt 65535 ]; then
    tn_usage_error "--port must leave BASE..BASE+199 within 1024..65535"
fi
[ -z "$heartbeat" ] || [ "$heartbeat" -ge 1 ] || tn_usage_error "--heartbeat-ms must be at least 1"
if ! [ -x "$TN_BIN/upledgerd" ] || ! [ -x "$TN_BIN/upledger" ]; then
    tn_die "no binaries in $TN_BIN (run make, or set BUILD)"
fi
tn_abs_dir

# An old testnet in DIR: refuse if any of its nodes runs, else replace it. Anything else there
# is not ours to delete.
if [ -f "$TN_DIR/testnet.env" ]; then
    tn_load
    for i in $(seq 0 $((TN_TOTAL - 1))); do
        if pid=$(tn_pid "$i"); then
            tn_die "a testnet runs in $TN_DIR (node $i, pid $pid): testnet/down.sh first"
        fi
    done
    tn_heal
    rm -rf "$TN_DIR"
elif [ -e "$TN_DIR" ] && [ -n "$(ls -A "$TN_DIR" 2>/dev/null)" ]; then
    tn_die "$TN_DIR exists and is not a testnet directory: choose another --dir"
fi

TN_N=$n TN_OBS=$obs TN_TOTAL=$((n + obs)) TN_BASE=$base TN_NODE_ARGS=$verbose

# Every address and port must be free before anything starts (exit 3: try another --port).
busy=$("$TN_PY" - "$TN_BASE" "$TN_TOTAL" <<'PY'
import socket, sys
base, total = int(sys.argv[1]), int(sys.argv[2])
for i in range(total):
    for port in (base + i, base + 100 + i):
        s = socket.socket()
        # As nanomsg binds: connections of an earlier testnet in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.%d" % (11 + i), port))
        except OSError as e:
            print("127.0.0.%d:%d (%s)" % (11 + i, port, e.strerror))
        finally:
            s.close()
PY
)
if [ -n "$busy" ]; then
    echo "$TN_PROG: in use: $busy; choose another --port" >&2
    exit 3
fi

mkdir -p "$TN_DIR"
pubkeys=()
for i in $(seq 0 $((TN_TOTAL - 1))); do
    d=$(tn_node_dir "$i")
    mkdir -p "$d"
    if ! tn_is_observer "$i"; then
        out=$("$TN_BIN/upledger" --json keygen --out "$d/validator.key" --insecure-no-passphrase)
        pubkeys+=("$("$TN_PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])' \
            <<<"$out")")
    fi
done
gargs=()
for i in $(seq 0 $((TN_N - 1))); do
    gargs+=(--validator "$(tn_node_dir "$i")/validator.key")
done
out=$("$TN_BIN/upledger" --json genesis --out "$TN_DIR/genesis.cbor" \
    --name "testnet-$TN_BASE" "${gargs[@]}")
TN_CHAIN_ID=$("$TN_PY" -c 'import json,sys; print(json.load(sys.stdin)["chain_id"])' <<<"$out")

# Configs (the node's multi-validator contract) and testnet.json, written with a JSON library.
"$TN_PY" - "$TN_DIR" "$TN_N" "$TN_OBS" "$TN_BASE" "$heartbeat" "$round_timeout" \
    "$TN_CHAIN_ID" "$checkpoint" "${pubkeys[@]}" <<'PY'
import json, os, sys
d, n, m, base = sys.argv[1], *map(int, sys.argv[2:5])
hb, rt, chain, cp = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
hb, rt, cp = (int(v) if v else None for v in (hb, rt, cp))
pubkeys = sys.argv[9:]
addr = lambda i: "127.0.0.%d" % (11 + i)
rpc = lambda i: "tcp://%s:%d" % (addr(i), base + i)
p2p = lambda i: "tcp://%s:%d" % (addr(i), base + 100 + i)
# Peer endpoints name the local address to connect from, so that a partition by address holds.
via = lambda i, j, port: "tcp://%s;%s:%d" % (addr(i), addr(j), port)
nodes = []
for i in range(n + m):
    nd = os.path.join(d, "node%d" % i)
    observer = i >= n
    cfg = {"data": nd, "genesis": os.path.join(d, "genesis.cbor"), "listen": rpc(i),
           "peers": [{"p2p": via(i, j, base + 100 + j), "rpc": via(i, j, base + j)}
                     for j in range(n) if j != i]}
    if hb is not None:
        cfg["heartbeat_ms"] = hb
    if cp is not None:
        cfg["checkpoint_ms"] = cp
    if rt is not None:
        cfg["round_timeout_ms"] = rt
    if observer:
        cfg["observer"] = True
    else:
        cfg["key"] = os.path.join(nd, "validator.key")
        cfg["p2p"] = p2p(i)
    path = os.path.join(nd, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    nodes.append({"index": i, "role": "observer" if observer else "validator",
                  "address": addr(i), "rpc": rpc(i), "p2p": None if observer else p2p(i),
                  "pubkey": None if observer else pubkeys[i], "dir": nd, "config": path,
                  "log": os.path.join(nd, "node.log"), "pid_file": os.path.join(nd, "node.pid")})
with open(os.path.join(d, "testnet.json"), "w") as f:
    json.dump({"chain_id": chain, "port_base": base, "validators": n, "observers": m,
               "heartbeat_ms": hb, "checkpoint_ms": cp, "round_timeout_ms": rt,
               "genesis": os.path.join(d, "genesis.cbor"), "nodes": nodes}, f, indent=2)
    f.write("\n")
PY
# Each new validator key starts with a fresh sign state (nothing signed yet) beside it: without
# one, upledgerd would refuse to sign until the network had moved past it.
for i in $(seq 0 $((TN_N - 1))); do
    "$TN_BIN/upledgerd" --config "$(tn_node_dir "$i")/config.json" --reset-sign-state \
        2>/dev/null || tn_die "node $i: cannot write its sign state"
done
printf 'N=%s\nOBSERVERS=%s\nPORT_BASE=%s\nCHAIN_ID=%s\nNODE_ARGS=%s\n' \
    "$TN_N" "$TN_OBS" "$TN_BASE" "$TN_CHAIN_ID" "$TN_NODE_ARGS" >"$TN_DIR/testnet.env"

fail() {
    echo "$TN_PROG: $*" >&2
    for j in $(seq 0 $((TN_TOTAL - 1))); do
        tn_stop "$j" 5 || true
    done
    echo "$TN_PROG: stopped the testnet; logs in $TN_DIR/node*/node.log" >&2
    exit 1
}

for i in $(seq 0 $((TN_TOTAL - 1))); do
    tn_start "$i" || fail "node $i did not start"
done

# Bounded wait for every node: its first commit with a heartbeat, else its answer (an idle
# chain makes no block until a transaction waits).
first=1
[ -n "$heartbeat" ] || first=0
deadline=$((SECONDS + wait_s))
heights=()
while :; do
    ready=0
    for i in $(seq 0 $((TN_TOTAL - 1))); do
        if ! tn_pid "$i" >/dev/null; then
            echo "$TN_PROG: node $i exited; the end of its log:" >&2
            tn_log_tail "$i"
            fail "node $i exited"
        fi
        h=$(tn_height "$i" 500 || true)
        heights[i]=${h:-?}
        if [ -n "$h" ] && [ "$h" -ge "$first" ]; then
            ready=$((ready + 1))
        fi
    done
    [ "$ready" -lt "$TN_TOTAL" ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
        for i in $(seq 0 $((TN_TOTAL - 1))); do
            echo "$TN_PROG: node $i at height ${heights[i]}; the end of its log:" >&2
            tn_log_tail "$i" 5
        done
        fail "not every node was ready within ${wait_s}s"
    fi
    sleep 0.2
done

dirarg=""
[ "$TN_DIR" = "$TN_ROOT/testnet/run" ] || dirarg=" --dir $TN_DIR"
echo "testnet: $TN_N validators, $TN_OBS observers in $TN_DIR"
echo "chain id $TN_CHAIN_ID (genesis $TN_DIR/genesis.cbor)"
for i in $(seq 0 $((TN_TOTAL - 1))); do
    role=validator p2p="p2p $(tn_p2p "$i")"
    if tn_is_observer "$i"; then
        role=observer p2p=""
    fi
    printf '  node%-3s %-9s query %s  %s  pid %s  height %s\n' "$i" "$role" "$(tn_rpc "$i")" \
        "$p2p" "$(tn_pid "$i")" "${heights[i]}"
done
echo "use:   export UPLEDGER_NODE=$(tn_rpc 0)   (or upledger --node ENDPOINT ...)"
echo "see:   testnet/status.sh$dirarg"
echo "fault: testnet/kill.sh I, restart.sh I, pause.sh I, resume.sh I, partition.sh 0,1 2,3, heal.sh"
echo "stop:  testnet/down.sh$dirarg"
