# shellcheck shell=bash
# Shared helpers of the testnet scripts: the layout of a testnet directory, node addresses and
# ports, starting and signalling nodes by their pid files (checked, so a reused pid is never
# signalled), status queries and the nftables partition table. Sourced, never run.
#
# Layout of DIR (default testnet/run):
#   DIR/testnet.env            N, OBSERVERS, PORT_BASE, CHAIN_ID, NODE_ARGS (KEY=VALUE lines)
#   DIR/testnet.json           the same, with every node's endpoints and public key
#   DIR/genesis.cbor           the shared genesis
#   DIR/nodeI/config.json      node I's upledgerd config (data dir is DIR/nodeI, blocks in db/)
#   DIR/nodeI/validator.key    its key (validators only; unencrypted: a test network) and beside
#                              it validator.key.sign-state (its last signature: upledgerd)
#   DIR/nodeI/node.log         its stderr, appended across restarts
#   DIR/nodeI/node.pid         its pid while it runs
# Node I (0-based; observers after the validators) has the loopback address 127.0.0.(11+I),
# its query endpoint on port PORT_BASE+I and its peer endpoint on PORT_BASE+100+I.

TN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${BUILD:-build}" in
/*) TN_BIN=${BUILD} ;;
*) TN_BIN="$TN_ROOT/${BUILD:-build}" ;;
esac
TN_DIR=${TESTNET_DIR:-$TN_ROOT/testnet/run}
TN_PY=/usr/bin/python3
# shellcheck disable=SC2034  # read by the scripts that source this file
TN_MAX_NODES=64       # the validator-set limit (UL_MAX_VALIDATORS); also keeps p2p ports apart
TN_STOP_TIMEOUT=${TN_STOP_TIMEOUT:-10}   # seconds between SIGTERM and SIGKILL
TN_PROG=$(basename "$0")

tn_die() {
    echo "$TN_PROG: $*" >&2
    exit 1
}

tn_usage_error() {
    echo "$TN_PROG: $*" >&2
    echo "(see $TN_PROG --help)" >&2
    exit 2
}

# tn_load: reads DIR/testnet.env into TN_N, TN_OBS, TN_BASE, TN_CHAIN_ID, TN_NODE_ARGS.
tn_load() {
    local env="$TN_DIR/testnet.env" k v
    [ -f "$env" ] || tn_die "no testnet in $TN_DIR (no testnet.env; start one with testnet/up.sh)"
    TN_N="" TN_OBS=0 TN_BASE="" TN_CHAIN_ID="" TN_NODE_ARGS=""
    while IFS='=' read -r k v; do
        # shellcheck disable=SC2034  # TN_CHAIN_ID is read by the scripts that source this file
        case "$k" in
        N) TN_N=$v ;;
        OBSERVERS) TN_OBS=$v ;;
        PORT_BASE) TN_BASE=$v ;;
        CHAIN_ID) TN_CHAIN_ID=$v ;;
        NODE_ARGS) TN_NODE_ARGS=$v ;;
        esac
    done <"$env"
    [[ "$TN_N" =~ ^[0-9]+$ && "$TN_OBS" =~ ^[0-9]+$ && "$TN_BASE" =~ ^[0-9]+$ ]] ||
        tn_die "$env is damaged"
    TN_TOTAL=$((TN_N + TN_OBS))
}

tn_addr() { echo "127.0.0.$((11 + $1))"; }
tn_rpc_port() { echo $((TN_BASE + $1)); }
tn_p2p_port() { echo $((TN_BASE + 100 + $1)); }
tn_rpc() { echo "tcp://$(tn_addr "$1"):$(tn_rpc_port "$1")"; }
tn_p2p() { echo "tcp://$(tn_addr "$1"):$(tn_p2p_port "$1")"; }
tn_node_dir() { echo "$TN_DIR/node$1"; }
tn_is_observer() { [ "$1" -ge "$TN_N" ]; }

# tn_select SPEC...: expands node selectors ("3", "0,1", "all") into the array TN_SEL, checked.
tn_select() {
    local spec i parts
    TN_SEL=()
    for spec in "$@"; do
        if [ "$spec" = all ]; then
            mapfile -t -O "${#TN_SEL[@]}" TN_SEL < <(seq 0 $((TN_TOTAL - 1)))
            continue
        fi
        IFS=',' read -r -a parts <<<"$spec"
        [ ${#parts[@]} -gt 0 ] || tn_usage_error "empty node list"
        for i in "${parts[@]}"; do
            [[ "$i" =~ ^[0-9]+$ ]] || tn_usage_error "not a node index: '$i'"
            [ "$i" -lt "$TN_TOTAL" ] || tn_usage_error "no node $i (the testnet has $TN_TOTAL)"
            TN_SEL+=("$i")
        done
    done
}

# tn_parse_nodes ARGS...: the argument loop of the scripts that act on nodes: --dir, --help
# (sets TN_HELP=1), selectors into TN_ARGS; any other option is a usage error.
# shellcheck disable=SC2034  # TN_HELP is read by the scripts that source this file
tn_parse_nodes() {
    TN_ARGS=()
    TN_HELP=0
    while [ $# -gt 0 ]; do
        tn_common_opt "$@"
        if [ "$TN_SHIFT" -gt 0 ]; then
            shift "$TN_SHIFT"
            continue
        fi
        case "$1" in
        -h | --help)
            TN_HELP=1
            shift
            ;;
        -*) tn_usage_error "unknown option $1" ;;
        *)
            TN_ARGS+=("$1")
            shift
            ;;
        esac
    done
}

# tn_pid I: prints node I's pid if that process is alive and is the upledgerd of node I's
# config (a pid file outliving its process must not lead to signalling a stranger).
tn_pid() {
    local pidf pid cfg cmd
    pidf="$(tn_node_dir "$1")/node.pid"
    [ -f "$pidf" ] || return 1
    pid=$(<"$pidf")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    cfg="$(tn_node_dir "$1")/config.json"
    case "$cmd" in
    *upledgerd*" --config $cfg"*) ;;
    *) return 1 ;;
    esac
    [ "$(tn_proc_state "$pid")" = Z ] && return 1
    echo "$pid"
}

# tn_proc_state PID: the one-letter state from /proc (R, S, D, T, Z, ...), empty if gone.
tn_proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    echo "${stat%% *}"
}

# tn_state I: running, paused (SIGSTOP) or stopped.
tn_state() {
    local pid
    if ! pid=$(tn_pid "$1"); then
        echo stopped
        return
    fi
    case "$(tn_proc_state "$pid")" in
    T | t) echo paused ;;
    *) echo running ;;
    esac
}

# tn_start I: starts node I on its config in its own session (it outlives the script), stderr
# appended to its log. Refuses a node that runs already.
tn_start() {
    local d pid nargs=()
    d=$(tn_node_dir "$1")
    [ -f "$d/config.json" ] || tn_die "node $1: no $d/config.json"
    if pid=$(tn_pid "$1"); then
        tn_die "node $1 runs already (pid $pid)"
    fi
    [ -x "$TN_BIN/upledgerd" ] || tn_die "no $TN_BIN/upledgerd (run make, or set BUILD)"
    read -r -a nargs <<<"$TN_NODE_ARGS"
    echo "--- $(date -u +%FT%TZ) start" >>"$d/node.log"
    # Not a process-group leader here (no job control), so setsid execs in place: $! is the node.
    nohup setsid "$TN_BIN/upledgerd" --config "$d/config.json" "${nargs[@]}" \
        </dev/null >>"$d/node.log" 2>&1 &
    pid=$!
    echo "$pid" >"$d/node.pid"
    # Until nohup and setsid have exec'd, the pid's command line is not yet upledgerd's.
    local deadline=$((SECONDS + 5))
    until tn_pid "$1" >/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(tn_proc_state "$pid")" = Z ]; then
            echo "$TN_PROG: node $1 exited at once:" >&2
            tn_log_tail "$1"
            return 1
        fi
        [ "$SECONDS" -lt "$deadline" ] || tn_die "node $1 (pid $pid) did not start upledgerd"
        sleep 0.02
    done
}

# tn_signal I SIG: sends SIG to node I if it runs; returns 1 if it does not.
tn_signal() {
    local pid
    pid=$(tn_pid "$1") || return 1
    kill -s "$2" "$pid" 2>/dev/null
}

# tn_wait_gone I SECONDS: waits until node I's process is gone (or a zombie whose threads have
# all exited: until the last one has, nanomsg's sockets, its ports, are still open); 1 on timeout.
tn_wait_gone() {
    local deadline=$((SECONDS + $2)) pid=""
    # The pid file's process was node I when signalled; a zombie's threads may still be exiting.
    pid=$(cat "$(tn_node_dir "$1")/node.pid" 2>/dev/null) || true
    [[ "$pid" =~ ^[0-9]+$ ]] || pid=""
    while tn_pid "$1" >/dev/null || tn_threads_left "$pid"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# tn_threads_left PID: true while process PID (empty: none) has threads besides its leader.
tn_threads_left() {
    [ -n "$1" ] && [ -d "/proc/$1/task" ] || return 1
    local tasks=("/proc/$1/task"/*)
    [ "${#tasks[@]}" -gt 1 ]
}

# tn_stop I SECONDS: SIGTERM (and SIGCONT, should it be paused), a bounded wait, then SIGKILL.
tn_stop() {
    tn_signal "$1" TERM || { rm -f "$(tn_node_dir "$1")/node.pid"; return 0; }
    tn_signal "$1" CONT || true
    if ! tn_wait_gone "$1" "$2"; then
        echo "$TN_PROG: node $1 still running ${2}s after SIGTERM: SIGKILL" >&2
        tn_signal "$1" KILL || true
        tn_wait_gone "$1" 10 || tn_die "node $1 survives SIGKILL"
    fi
    rm -f "$(tn_node_dir "$1")/node.pid"
}

# tn_status_json I: node I's `query status` as JSON on stdout; non-zero if it does not answer.
tn_status_json() {
    "$TN_BIN/upledger" --node "$(tn_rpc "$1")" --json --timeout-ms "${2:-1000}" \
        query status 2>/dev/null
}

# tn_height I: node I's height, or nothing if it does not answer.
tn_height() {
    tn_status_json "$1" "${2:-1000}" | "$TN_PY" -c \
        'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null
}

# tn_log_tail I: the end of node I's log, indented, for error messages.
tn_log_tail() {
    tail -n "${2:-15}" "$(tn_node_dir "$1")/node.log" 2>/dev/null | sed 's/^/    /' >&2
}

# The partition table: one per testnet (by port base), so parallel testnets never clash; its
# rules match the testnet's ports too, so they drop nothing of another testnet that shares the
# loopback addresses.
tn_nft_table() { echo "upledger_testnet_$TN_BASE"; }

tn_nft_check() {
    command -v nft >/dev/null ||
        tn_die "nft not found: install the nftables package (scripts/deps.sh lists it)"
    [ "$(id -u)" -eq 0 ] || tn_die "partitions need root (nftables rules)"
}

tn_nft_has_table() {
    command -v nft >/dev/null && [ "$(id -u)" -eq 0 ] &&
        nft list table inet "$(tn_nft_table)" >/dev/null 2>&1
}

tn_heal() {
    if tn_nft_has_table; then
        nft delete table inet "$(tn_nft_table)"
    fi
}

# tn_common_opt ARG [VALUE]: handles --dir and --dir=DIR; returns how many args it consumed
# through TN_SHIFT (0 if ARG is not common).
tn_common_opt() {
    TN_SHIFT=0
    case "$1" in
    --dir)
        [ $# -ge 2 ] || tn_usage_error "--dir needs a value"
        TN_DIR=$2
        TN_SHIFT=2
        ;;
    --dir=*)
        TN_DIR=${1#--dir=}
        TN_SHIFT=1
        ;;
    esac
}

# tn_abs_dir: makes TN_DIR absolute (configs name absolute paths: restart from anywhere).
tn_abs_dir() {
    case "$TN_DIR" in
    /*) ;;
    *) TN_DIR="$PWD/$TN_DIR" ;;
    esac
    TN_DIR=${TN_DIR%/}
}
