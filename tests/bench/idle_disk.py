#!/usr/bin/env python3
"""Disk growth of an idle 4-validator loopback testnet (testnet/up.sh), with freshness
checkpoints and no heartbeat (the default) and, for comparison, with the old 2 s heartbeat.

Usage: idle_disk.py BUILD TMPDIR SECONDS CHECKPOINT_MS

Each testnet commits one block (a namespace registration, so that there is a head to
checkpoint), waits one checkpoint interval, then stays idle for SECONDS: the figures are the
blocks made and the bytes the four data directories grew, scaled to an hour (and, for
checkpoints, to the node's default 60 s interval). Prints "bench: <name>: <value> <unit>";
figures only. Every subprocess has a timeout."""
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def run(argv, env=None):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=TIMEOUT,
                       env=env, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("%s: rc %d\n%s%s" % (" ".join(map(str, argv)), p.returncode,
                                                 p.stdout, p.stderr))
    return p.stdout


def disk_bytes(d):
    return sum(f.stat().st_size for f in Path(d).glob("node*/db/**/*") if f.is_file())


def heights(cli, info):
    return [json.loads(run([cli, "--node", n["rpc"], "--json", "query", "status"]))["height"]
            for n in info["nodes"]]


def idle(build, tmp, name, timing, seconds, settle_s):
    env = dict(os.environ, BUILD=str(build))
    d = Path(tmp) / name.split()[0]
    cli = Path(build) / "upledger"
    for _ in range(5):
        base = 200 * random.randrange(100, 160)
        p = subprocess.run([ROOT / "testnet/up.sh", "4", "--dir", d, "--port", str(base)] + timing,
                           capture_output=True, text=True, timeout=TIMEOUT, env=env)
        if p.returncode != 3:
            break
    if p.returncode != 0:
        raise RuntimeError("up.sh: %s%s" % (p.stdout, p.stderr))
    try:
        info = json.loads((d / "testnet.json").read_text())
        key = d / "owner.key"
        run([cli, "keygen", "--out", key, "--insecure-no-passphrase"])
        run([cli, "--node", info["nodes"][0]["rpc"], "namespace", "register", "acme/idle",
             "--key", key])
        time.sleep(settle_s)
        h0, b0, t0 = heights(cli, info), disk_bytes(d), time.monotonic()
        time.sleep(seconds)
        h1, b1, dt = heights(cli, info), disk_bytes(d), time.monotonic() - t0
    finally:
        subprocess.run([ROOT / "testnet/down.sh", "--dir", d], capture_output=True,
                       timeout=TIMEOUT, env=env)
    blocks = max(b - a for a, b in zip(h0, h1))
    per_node = (b1 - b0) / 4
    scale = 3600 / dt
    print("bench: idle testnet %s: blocks per hour: %.0f" % (name, blocks * scale))
    print("bench: idle testnet %s: disk growth per node per hour: %.0f B" % (name, per_node * scale))
    return per_node * scale


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    build, tmp, seconds, cp = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    grow = idle(build, tmp, "checkpoints every %d ms" % cp, ["--checkpoint-ms", str(cp)], seconds,
                2 * cp / 1000)
    print("bench: idle testnet checkpoints at the default 60 s: disk growth per node per hour: "
          "%.0f B (one record overwritten; LevelDB compacts it away)" % (grow * cp / 60000))
    idle(build, tmp, "heartbeat 2 s (the old default)",
         ["--heartbeat-ms", "2000", "--checkpoint-ms", "0"], seconds, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
