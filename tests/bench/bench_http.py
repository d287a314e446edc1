#!/usr/bin/python3
"""HTTP API throughput of upledgerd (issue 12 item 6): wrk on loopback against a dev node that
holds one certified release, for a cached per-height bundle, the latest bundle (cached per
head), a release with its provenance (three node queries), /health and /metrics.

For each URL: requests/s, latency p50/p99 (wrk --latency), and the node's CPU per request from
/proc/PID/stat (utime + stime over the run / requests). "per node core" is requests per second
of node CPU: the figure that does not depend on how much of the shared machine wrk took.
Figures only; nothing here fails on a timing.

Usage: bench_http.py BUILD WORKDIR [SECONDS]"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CONNECTIONS = 32  # wrk connections: a few proxies' worth, far below UL_HTTP_MAX_CONNECTIONS
THREADS = 2       # wrk threads (the machine's cores)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(build, ep, *args, env=None):
    r = subprocess.run([str(build / "upledger"), "--node", ep, "--json"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        raise SystemExit("bench_http: upledger %s: %s" % (" ".join(map(str, args)), r.stderr))
    return json.loads(r.stdout) if r.stdout.strip() else {}


def populate(build, ep, work):
    keys = []
    for name in ("owner", "pub", "cert"):
        path = work / (name + ".json")
        k = cli(build, ep, "keygen", "--out", path, "--insecure-no-passphrase")
        keys.append((path, k["pubkey"]))
    (owner, owner_pk), (pub, pub_pk), (cert, cert_pk) = keys
    policy = work / "policy.json"
    policy.write_text(json.dumps({
        "owners": {"keys": [owner_pk]}, "publishers": {"keys": [pub_pk]},
        "roles": {"certifier": {"keys": [cert_pk]}}, "require": {"security": ["certifier"]}}))
    ns = "bench/router"
    cli(build, ep, "namespace", "register", ns, "--policy", policy, "--key", owner)
    image = work / "fw.bin"
    image.write_bytes(os.urandom(64 * 1024))
    manifest = work / "manifest.json"
    manifest.write_text(json.dumps({
        "namespace": ns, "provider": "Bench", "version": "1.0.0", "sequence": 1,
        "hardware": ["hw-a"], "kind": "security", "release_time": "2026-01-01T00:00:00Z"}))
    rid = cli(build, ep, "publish", manifest, "--image", image, "--key", pub)["id"]
    h = cli(build, ep, "approve", rid, "--role", "certifier", "--key", cert)["height"]
    return ns, rid, h


def cpu_ticks(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def wrk(url, secs):
    r = subprocess.run(["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % secs,
                        "--latency", url], capture_output=True, text=True, timeout=secs + 60)
    out = r.stdout
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return reqs, rps, pct.get("50", "?"), pct.get("99", "?"), int(non2xx.group(1)) if non2xx else 0


def main():
    build, work = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    secs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    if not shutil.which("wrk"):
        print("bench: http: skipped (no wrk; Debian package wrk)")
        return
    work.mkdir(parents=True, exist_ok=True)
    rpc, http = free_port(), free_port()
    ep, base = "tcp://127.0.0.1:%d" % rpc, "http://127.0.0.1:%d" % http
    log = open(work / "node.log", "ab")
    node = subprocess.Popen([str(build / "upledgerd"), "--dev", "--data", str(work / "data"),
                             "--listen", ep, "--http", "127.0.0.1:%d" % http,
                             "--checkpoint-ms", "0"], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.05)
        ns, rid, h = populate(build, ep, work)
        urls = [
            ("cached bundle", "/v1/bundles/%s/hw/hw-a/releases/%s/%d.cbor" % (ns, rid, h)),
            ("latest bundle", "/v1/bundles/%s/hw/hw-a/latest.cbor" % ns),
            ("release with provenance", "/v1/releases/" + rid),
            ("health", "/health"),
            ("metrics", "/metrics"),
        ]
        hz = os.sysconf("SC_CLK_TCK")
        print("bench: http machine: %d cores, wrk -t%d -c%d -d%ds on loopback"
              % (os.cpu_count(), THREADS, CONNECTIONS, secs))
        for name, path in urls:
            try:
                with urllib.request.urlopen(base + path, timeout=10) as r:
                    size = len(r.read())
            except urllib.error.HTTPError as e:  # /metrics on a node without them: 501
                print("bench: http %s: answers %d (%s)" % (name, e.code, e.read().decode()))
                continue
            t0 = cpu_ticks(node.pid)
            reqs, rps, p50, p99, bad = wrk(base + path, secs)
            cpu_s = (cpu_ticks(node.pid) - t0) / hz
            print("bench: http %s: %.0f requests/s (%d bytes each)" % (name, rps, size))
            print("bench: http %s latency p50 / p99: %s / %s" % (name, p50, p99))
            if reqs and cpu_s > 0:
                print("bench: http %s node CPU per request: %.1f us" % (name, cpu_s / reqs * 1e6))
                print("bench: http %s per node core: %.0f requests/s" % (name, reqs / cpu_s))
            if bad:
                print("bench: http %s non-2xx answers: %d (of %d)" % (name, bad, reqs))
    finally:
        node.terminate()
        node.wait(timeout=30)


if __name__ == "__main__":
    main()
