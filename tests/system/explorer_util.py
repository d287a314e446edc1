"""A dev chain for the explorer's tests: releases across a validator-set change, one revoked,
one superseded, and a freshness checkpoint on the head; `export_cases` writes bundles of each
(by `upledger export` and `query proof`) with what a device of each class must conclude."""
import json
import time
from pathlib import Path

import cbor_util
from conftest import REPO, Key

EXPLORER = REPO / "web" / "explorer"
CHECKPOINT_MS = 1000     # the node signs a checkpoint of its head every second
CHECKPOINT_WAIT_S = 20   # bound on waiting for the head's first checkpoint


def node_modules_or_fail():
    """The explorer's npm packages, playwright-core among them: the explorer's and the tracker's
    fleet page's browser tests both use them."""
    for pkg in ("@noble/curves", "playwright-core"):
        if not (EXPLORER / "node_modules" / pkg).is_dir():
            raise AssertionError("web/explorer/node_modules/%s is missing: run `make explorer` "
                                 "(npm ci)" % pkg)


def node_key(node):
    path = node.data / "validator.key"
    return Key(path, json.loads(path.read_text())["pubkey"])


def build_chain(ctx):
    """Publishes r1 (hw-a, hw-b), r2 (hw-a, revoked), changes the validator set, publishes r3
    (hw-a), registers another namespace. Returns the ids, the namespace, the images by id and
    r3's height."""
    key, ns = ctx.publisher()
    img = {}
    r1, i1, _ = ctx.publish_ok(ns, 1, key, hardware=["hw-a", "hw-b"])
    r2, i2, _ = ctx.publish_ok(ns, 2, key, hardware=["hw-a"])
    r = ctx.cli("revoke", r2, "--reason", "bricks hw-a units", "--key", key, json_out=True)
    assert r.rc == 0, r
    v1, v2 = node_key(ctx.node), ctx.keygen()
    # The node keeps more than 2/3 of the power, so it goes on committing alone.
    path = ctx.tmp / "set.json"
    path.write_text(json.dumps([{"pubkey": v1.pubkey, "power": 3},
                                {"pubkey": v2.pubkey, "power": 1}]))
    r = ctx.cli("validators", "set", "--file", path, "--key", v1, json_out=True)
    assert r.rc == 0, r
    r3, i3, h3 = ctx.publish_ok(ns, 3, key, hardware=["hw-a"])
    # One more block, so bundles at r3's height are not the head's (they carry its commit).
    ctx.publisher()
    assert ctx.node.status()["height"] > h3
    img.update({r1: i1, r2: i2, r3: i3})
    return {"ns": ns, "r1": r1, "r2": r2, "r3": r3, "images": img, "height": h3}


def wait_checkpoint(ctx, out):
    """Waits until a bundle at the head carries a checkpoint (its last header section type 8)."""
    deadline = time.monotonic() + CHECKPOINT_WAIT_S
    while time.monotonic() < deadline:
        r = ctx.cli("export", "--out", out, json_out=True)
        assert r.rc == 0, r
        if any(_is_checkpoint(p) for p in Path(out).glob("*/*/hw/*/latest.cbor")):
            return
        time.sleep(0.5)
    raise AssertionError("no checkpoint of the head within %ss" % CHECKPOINT_WAIT_S)


def _is_checkpoint(bundle_path):
    types = [cbor_util.loads(s)[0] for s in cbor_util.sequence(bundle_path.read_bytes())]
    return [t for t in types if t in (1, 8)][-1] == 8


def export_cases(ctx, chain, out):
    """Writes OUT (an export) plus per-release bundles and OUT/cases.json for the node tests."""
    out = Path(out)
    wait_checkpoint(ctx, out)
    st = ctx.node.status()
    ns = chain["ns"]
    cases = [
        {"file": "%s/hw/hw-a/latest.cbor" % ns, "hw": "hw-a", "id": chain["r3"], "verdict": None,
         "steps": 1, "height": st["height"], "checkpoint": True},
        {"file": "%s/hw/hw-b/latest.cbor" % ns, "hw": "hw-b", "id": chain["r1"], "verdict": None,
         "steps": 1, "height": st["height"], "checkpoint": True},
    ]
    # At the height r3 was committed: the commit, not a checkpoint (not the head's bundle).
    for name, rid, hw, height, verdict, steps in (
            ("r3-commit", chain["r3"], "hw-a", chain["height"], None, 1),
            ("r2-revoked", chain["r2"], "hw-a", chain["height"], "UL_E_REVOKED", 1),
            ("r1-superseded", chain["r1"], "hw-a", chain["height"], "UL_E_NOT_INSTALLABLE", 1)):
        path = out / ("%s.cbor" % name)
        r = ctx.cli("query", "proof", rid, "--hw", hw, "--height", str(height), "--out", path,
                    json_out=True)
        assert path.exists(), r
        cases.append({"file": path.name, "hw": hw, "id": rid, "verdict": verdict, "steps": steps,
                      "height": height, "checkpoint": False})
    (out / "cases.json").write_text(json.dumps({"chain_id": st["chain_id"], "cases": cases}))
    return cases


HTTP_READY_TIMEOUT = 10  # seconds for the node's HTTP API to answer /v1/status


def start_http_node(node, http_port, explorer_dir):
    """Starts `node` (a conftest.Node, not running) as `upledgerd --dev` with its HTTP API on
    127.0.0.1:http_port serving the explorer from explorer_dir; node.stop() stops it."""
    import subprocess
    import urllib.request
    from conftest import UPLEDGERD, free_port, run_cli
    ep = "tcp://127.0.0.1:%d" % free_port()
    logf = open(node.log, "ab")
    node.proc = subprocess.Popen(
        [str(UPLEDGERD), "--dev", "--data", str(node.data), "--listen", ep,
         "--heartbeat-ms", "3600000", "--checkpoint-ms", str(CHECKPOINT_MS),
         "--http", "127.0.0.1:%d" % http_port, "--explorer", str(explorer_dir)],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
    logf.close()
    node.endpoint, node.port = ep, None
    deadline = time.monotonic() + HTTP_READY_TIMEOUT
    while time.monotonic() < deadline:
        assert node.proc.poll() is None, node.log_text()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/status" % http_port, timeout=2):
                if run_cli(["query", "status"], node=ep, timeout_ms=300, timeout=5).rc == 0:
                    return node
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("node HTTP not ready within %ss:\n%s"
                         % (HTTP_READY_TIMEOUT, node.log_text()))
