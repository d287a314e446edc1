#!/usr/bin/env bash
# make demo: a 4-validator consortium testnet on loopback, end to end in a temp dir, told as a
# story: publish, co-sign, revoke, prove, mirror, a validator crash survived, audit, a device update,
# and a status tracker watching a fleet go outdated, update, and turn vulnerable on a revocation.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
B="$root/${BUILD:-build}"
work=$(mktemp -d "${TMPDIR:-/tmp}/upledger-demo.XXXXXX")
tn="$work/testnet"
mirror_pid=""
bad_pid=""
web_pid=""
dev_pid=""
trk_pid=""
cleanup() {
    [ -n "$web_pid" ] && kill "$web_pid" 2>/dev/null && wait "$web_pid" 2>/dev/null
    [ -n "$trk_pid" ] && kill "$trk_pid" 2>/dev/null && wait "$trk_pid" 2>/dev/null
    [ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null && wait "$dev_pid" 2>/dev/null
    [ -n "$bad_pid" ] && kill "$bad_pid" 2>/dev/null && wait "$bad_pid" 2>/dev/null
    [ -n "$mirror_pid" ] && kill "$mirror_pid" 2>/dev/null && wait "$mirror_pid" 2>/dev/null
    [ -f "$tn/testnet.json" ] && "$root/testnet/down.sh" --dir "$tn" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
up() { "$B/upledger" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cd "$work"

say "1. Start a consortium of 4 validators on loopback (testnet/up.sh 4) in $tn"
echo "an OEM, a certifier, a distributor and a community maintainer each run upledgerd; they"
echo "agree on every block with Tendermint BFT over nanomsg and tolerate one faulty validator."
echo "No block is made while nothing waits: every second they co-sign a freshness checkpoint of"
echo "their head instead, which proof bundles carry to devices (--max-age counts from it)."
rc=3
for _ in 1 2 3 4 5; do  # a port base another process already uses: try another
    base=$((20000 + RANDOM % 20000))
    rc=0; "$root/testnet/up.sh" 4 --dir "$tn" --port "$base" --checkpoint-ms 1000 || rc=$?
    [ "$rc" -ne 3 ] && break
done
[ "$rc" -eq 0 ] || { echo "demo: the testnet did not start (exit $rc)" >&2; exit 1; }
export UPLEDGER_NODE="tcp://127.0.0.11:$base"   # node 0; any validator takes the same requests
up query status

say "2. A vendor and a certification lab create keys; the vendor registers acme/router"
export UPLEDGER_PASSPHRASE=demo-passphrase
up keygen --out vendor.key >/dev/null
up keygen --out certifier.key >/dev/null
cat > policy.json <<JSON
{"owners": {"keys": ["vendor.key"]}, "publishers": {"keys": ["vendor.key"]},
 "roles": {"certifier": {"keys": ["certifier.key"], "threshold": 1}},
 "require": {"security": ["certifier"]}, "hardware": ["acme-r1", "acme-r2"],
 "revokers": ["owners", "certifier"]}
JSON
echo "its policy contract: security releases need a certifier's co-signature"
up namespace register acme/router --key vendor.key --policy policy.json
up namespace show acme/router

say "3. It builds a firmware image and publishes it for two hardware classes"
head -c 262144 /dev/urandom > router-1.2.0.bin
echo "image: router-1.2.0.bin, $(stat -c %s router-1.2.0.bin) bytes, sha256 $(sha256sum router-1.2.0.bin | cut -c1-16)…"
cat > router-1.2.0.json <<JSON
{"namespace": "acme/router", "provider": "ACME Networks", "version": "1.2.0", "sequence": 12,
 "hardware": ["acme-r1", "acme-r2"], "kind": "security",
 "links": ["https://updates.acme.example/router/1.2.0.bin"]}
JSON
id=$(up --json publish router-1.2.0.json --image router-1.2.0.bin --key vendor.key |
     /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "committed release $id"
echo "is it installable yet? (the certifier has not co-signed)"
up query latest acme/router --hw acme-r2 || echo "(no: nothing installable until the certifier approves)"

say "4. The certification lab co-signs; now devices may install it"
up approve "$id" --role certifier --key certifier.key
up query latest acme/router --hw acme-r2 | head -n 2
up query history acme/router

say "5. A replayed or rolled-back release is refused, and the chain does not change"
up publish router-1.2.0.json --image router-1.2.0.bin --key vendor.key || echo "(refused, as it should be)"

say "5b. A later release turns out to be bad: it is certified, then revoked with a reason"
head -c 262144 /dev/urandom > router-1.3.0.bin
sed -e 's/1.2.0/1.3.0/g' -e 's/"sequence": 12/"sequence": 13/' router-1.2.0.json > router-1.3.0.json
id2=$(up --json publish router-1.3.0.json --image router-1.3.0.bin --key vendor.key |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
up approve "$id2" --role certifier --key certifier.key >/dev/null
up revoke "$id2" --reason "boot loop on acme-r2 rev B" --key certifier.key
echo "latest installable for acme-r2 is back to 1.2.0:"
up query latest acme/router --hw acme-r2 | head -n 2

say "5c. Provenance of both releases, with their proofs checked here"
up query provenance "$id"
up query provenance "$id2"

say "6. A proof bundle for acme-r1 devices, checked with the device library before it is shown"
up query proof "$id" --hw acme-r1 --out bundle.cbor

say "7. Export a mirror directory any static web server can serve"
up export --out mirror --images .
(cd mirror && find . -type f | sort)

say "8. A device-side check of the mirrored image against its bundle"
up verify --bundle mirror/acme/router/hw/acme-r2/latest.cbor \
    --image "mirror/images/$(sha256sum router-1.2.0.bin | cut -d' ' -f1)" \
    --genesis mirror/genesis.cbor --hw acme-r2
head -c 1000 router-1.2.0.bin > truncated.bin
up verify --bundle bundle.cbor --image truncated.bin --genesis mirror/genesis.cbor --hw acme-r1 ||
    echo "(a truncated image is refused)"

say "9. A validator crashes (kill -9): the other three keep committing; it comes back and catches up"
"$root/testnet/kill.sh" 3 --dir "$tn"
head -c 65536 /dev/urandom > router-1.2.1.bin
sed -e 's/1.2.0/1.2.1/g' -e 's/"sequence": 12/"sequence": 14/' -e 's/"security"/"feature"/' \
    router-1.2.0.json > router-1.2.1.json
up publish router-1.2.1.json --image router-1.2.1.bin --key vendor.key
"$root/testnet/restart.sh" 3 --dir "$tn"
for _ in $(seq 100); do  # block sync: it fetches and re-verifies what it missed
    h0=$(up --json query status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])')
    h3=$(up --node "tcp://127.0.0.14:$((base + 3))" --json query status 2>/dev/null |
         /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0)
    [ "$h3" -ge "$h0" ] && break
    sleep 0.1
done
"$root/testnet/status.sh" --dir "$tn"

say "10. Audit: re-verify the whole chain from genesis, against validator 3 (the one that crashed)"
up --node "tcp://127.0.0.14:$((base + 3))" audit

say "10b. Stop the testnet cleanly and audit each validator's data directory offline"
"$root/testnet/down.sh" --dir "$tn"
for i in 0 1 2 3; do
    printf 'node%s: ' "$i"; up --json audit --data "$tn/node$i" |
        /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin); print("height", a["height"], "head", a["head"][:16])'
done

say "11. An acme-r2 device updates over HTTP (upledger-device, libcurl) from two mirrors"
echo "mirror 1 serves the export with one image byte changed; mirror 2 is the honest export,"
echo "both served by python's http.server. Mirrors are untrusted: the device checks everything."
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0))
print(s.getsockname()[1])'
}
serve() { /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$1" "$2" >>mirror.log 2>&1 & }
wait_port() {
    for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done
}
cp -r mirror tampered
/usr/bin/python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 1
open(sys.argv[1], "wb").write(b)' "tampered/images/$(sha256sum router-1.2.0.bin | cut -d' ' -f1)"
bport=$(free_port); serve tampered "$bport"; bad_pid=$!
mport=$(free_port); serve mirror "$mport"; mirror_pid=$!
wait_port "$bport"; wait_port "$mport"
"$B/upledger-device" init --anchor mirror/genesis.cbor --hw acme-r2 --state device
"$B/upledger-device" update --mirror "http://127.0.0.1:$bport" --mirror "http://127.0.0.1:$mport" \
    --namespace acme/router --state device --timeout 5 --health-check true
echo "(mirror 1 was refused with UL_E_DIGEST and left nothing behind; mirror 2's image installed)"
"$B/upledger-device" status --state device
kill "$bad_pid" "$mirror_pid"; wait "$bad_pid" "$mirror_pid" 2>/dev/null || true
bad_pid=""; mirror_pid=""
say "12. A fleet owner follows its devices with a status tracker (upledger-tracker)"
echo "a dev chain (one validator) for acme/sensor; the owner's tracker follows it, 40 devices"
echo "(reportgen: simulated devices signing real reports) are enrolled and report what they run."
dport=$(free_port); tport=$(free_port)
"$B/upledgerd" --dev --http off --data dev --listen "tcp://127.0.0.1:$dport" >dev.log 2>&1 & dev_pid=$!
export UPLEDGER_NODE="tcp://127.0.0.1:$dport"
for _ in $(seq 100); do up query status >/dev/null 2>&1 && break; sleep 0.1; done
up keygen --out sensor.key >/dev/null
up namespace register acme/sensor --key sensor.key >/dev/null
pub() {  # pub SEQ: publishes acme/sensor release SEQ, prints its id
    head -c 4096 /dev/urandom > "sensor-$1.bin"
    printf '{"namespace": "acme/sensor", "provider": "ACME", "version": "1.0.%s", "sequence": %s,
 "hardware": ["sensor-v1"], "kind": "security"}' "$1" "$1" > "sensor-$1.json"
    up --json publish "sensor-$1.json" --image "sensor-$1.bin" --key sensor.key |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
r1=$(pub 1)
T() { "$B/upledger-tracker" "$1" --dir tracker "${@:2}"; }
tkey=$(T init)   # the tracker's key, encrypted with UPLEDGER_PASSPHRASE
chain=$(up --json query status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["chain_id"])')
T run --node "$UPLEDGER_NODE" --listen "127.0.0.1:$tport" --poll-ms 300 >tracker.log 2>&1 & trk_pid=$!
for _ in $(seq 100); do grep -qs serving tracker.log && break; sleep 0.1; done
gen() { "$B/reportgen" --chain-id "$chain" --tracker-key "$tkey" --hw sensor-v1 "$@" >/dev/null; }
gen --devices 40 --reports 0 --keys fleet.keys
T group site-a --silence 3600
T enroll --file fleet.keys --group site-a
gen --devices 40 --component "acme/sensor:$r1:1" --post "http://127.0.0.1:$tport/v1/reports"
settle() {  # settle STATUS N: waits (20 s at most) until N devices are in STATUS, prints the counts
    for _ in $(seq 200); do
        T summary --json | /usr/bin/python3 -c 'import json,sys
sys.exit(json.load(sys.stdin)["by_status"][sys.argv[1]] != int(sys.argv[2]))' "$1" "$2" && break
        sleep 0.1
    done
    T summary
}
settle up_to_date 40
echo "-- the vendor publishes release 2: the tracker sees it on chain; no device has reported"
r2=$(pub 2); settle outdated 40
echo "-- 25 devices update (the tracker's answer to their reports said: update to release 2)"
gen --devices 25 --counter 2 --component "acme/sensor:$r2:2" --post "http://127.0.0.1:$tport/v1/reports"
settle up_to_date 25
echo "-- the vendor revokes release 1: the 15 devices still on it turn vulnerable, with no report"
up revoke "$r1" --reason "bricks sensors" --key sensor.key >/dev/null
settle vulnerable 15
T list --vulnerable --limit 3
echo "(the fleet page showed all this at http://127.0.0.1:$tport/ while the demo ran)"
kill "$trk_pid" "$dev_pid"; wait "$trk_pid" "$dev_pid" 2>/dev/null || true
trk_pid=""; dev_pid=""
say "13. The explorer: validator 0 again, serving the read-only HTTP API and the explorer"
echo "(its peers are down: it commits nothing more, but it serves everything it holds)"
hport=7480
(echo >/dev/tcp/127.0.0.1/$hport) 2>/dev/null && hport=$(free_port)   # 7480 taken: another
"$B/upledgerd" --config "$tn/node0/config.json" --http "127.0.0.1:$hport" >>explorer.log 2>&1 &
web_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$hport/v1/status" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$hport/v1/releases/$id" | /usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin); p = r["provenance"]
print("GET /v1/releases/%s…: %s %s at height %d, approvals %s, revoked %s"
      % (r["id"][:16], r["namespace"], r["version"], r["height"], sorted(p["approvals"]),
         p["revoked"]))'
chain=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["chain_id"])' \
        "$tn/testnet.json")
# The fragment pins the trust root the page verifies from (the genesis hash testnet/up.sh made).
echo "explorer:  http://127.0.0.1:$hport/explorer/#chain=$chain"
echo "API:       http://127.0.0.1:$hport/v1/status   (docs/openapi.yaml lists every route)"
echo "bundle:    http://127.0.0.1:$hport/v1/bundles/acme/router/hw/acme-r2/latest.cbor"
if [ -t 1 ] && [ "${CI:-}" != true ]; then
    echo "The node keeps serving until Ctrl-C."
    wait "$web_pid" || true
else
    echo "(not on a terminal, or CI=true: stopping it)"
fi
say "Demo complete."
