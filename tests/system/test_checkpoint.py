"""Freshness checkpoints (docs/protocol.md section 7.4): an idle dev chain, and an idle
4-validator testnet, make no blocks, yet `query proof` bundles of the head carry a checkpoint
(section type 8) whose time advances, and a device accepts an old head with a fresh checkpoint
under a tight --max-age and refuses the same bundle once its checkpoint is stale. Every wait is
bounded."""
import time

from cbor_util import loads, sequence
from conftest import Ctx, run_cli
from device_util import dev
from nnreq import ReqClient
from test_testnet import LoopbackNet

CHECKPOINT = 8
HEADER = 1
HDR_HEIGHT, HDR_TIME = 3, 4
INTERVAL_MS = 200
RPC_BUNDLE = 8


def sections(raw):
    return [loads(s) for s in sequence(raw)]


def final_header(raw):
    """(section type, header map, checkpoint time or None) of the header the proofs are against."""
    secs = [s for s in sections(raw) if s[0] in (HEADER, CHECKPOINT)]
    s = secs[-1]
    return s[0], s[1], (s[2] if s[0] == CHECKPOINT else None)


def height(ctx):
    r = ctx.cli("query", "status", json_out=True)
    assert r.rc == 0, r
    return r.json["height"]


def proof(ctx, rid, path):
    r = ctx.cli("query", "proof", rid, "--out", path, json_out=True)
    assert r.rc == 0 and r.json["verified"] is True, r
    return path.read_bytes()


def wait_checkpoint(ctx, rid, path, after_ms, timeout=10):
    """The head's bundle once it carries a checkpoint newer than after_ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = proof(ctx, rid, path)
        typ, _, t = final_header(raw)
        if typ == CHECKPOINT and t > after_ms:
            return raw, t
        time.sleep(INTERVAL_MS / 1000)
    raise AssertionError("no checkpoint newer than %d within %ss" % (after_ms, timeout))


def test_idle_chain_stays_fresh_without_blocks(node_factory, tmp_path):
    node = node_factory("cp", heartbeat_ms=None, checkpoint_ms=INTERVAL_MS)
    ctx = Ctx(node, tmp_path / "work")
    key, ns = ctx.publisher()
    rid, image, h = ctx.publish_ok(ns, 1, key)
    b1, t1 = wait_checkpoint(ctx, rid, tmp_path / "b1.cbor", 0)
    typ, hdr, _ = final_header(b1)
    assert hdr[HDR_HEIGHT] == h and t1 >= hdr[HDR_TIME]
    # Idle for about twenty intervals (the device's clock counts whole seconds: margins of one).
    time.sleep(4)
    assert height(ctx) == h, "an idle chain made blocks"
    b2, t2 = wait_checkpoint(ctx, rid, tmp_path / "b2.cbor", t1 + 3500)
    typ, hdr2, _ = final_header(b2)
    assert hdr2 == hdr and height(ctx) == h
    assert hdr2[HDR_TIME] < t2 - 3500  # the header alone is older than the --max-age below
    genesis = node.genesis
    # The checkpoint-form bundle verifies like any other (upledger verify, no clock).
    v = run_cli(["verify", "--bundle", tmp_path / "b2.cbor", "--image", image, "--genesis",
                 genesis, "--hw", "hw-a"], json_out=True)
    assert v.rc == 0 and v.json["verified"] is True and v.json["height"] == h, v
    assert v.json["checkpoint_time_ms"] == t2, v
    # A device with a clock and --max-age 2: the old head with a fresh checkpoint is accepted...
    state = tmp_path / "dev"
    assert dev("init", "--anchor", genesis, "--hw", "hw-a", "--state", state).rc == 0
    fresh = dev("install", "--bundle", tmp_path / "b2.cbor", "--image", image, "--namespace", ns,
                "--state", state, "--max-age", "2", "--json")
    assert fresh.rc == 0, fresh
    # ... and the first bundle, whose checkpoint is now over 2 s old, is refused, nothing changed.
    state2 = tmp_path / "dev2"
    assert dev("init", "--anchor", genesis, "--hw", "hw-a", "--state", state2).rc == 0
    before = (state2 / "state.cbor").read_bytes()
    stale = dev("install", "--bundle", tmp_path / "b1.cbor", "--image", image, "--namespace", ns,
                "--state", state2, "--max-age", "2")
    assert stale.rc == 1 and stale.last_error == "UL_E_STALE", stale
    assert (state2 / "state.cbor").read_bytes() == before


def test_checkpoint_survives_restart(node_factory, tmp_path):
    """The newest checkpoint is one meta record: a restarted node (checkpoints off now) still
    serves it for its head; a new block makes bundles carry the commit again."""
    node = node_factory("cpr", heartbeat_ms=None, checkpoint_ms=INTERVAL_MS)
    ctx = Ctx(node, tmp_path / "work")
    key, ns = ctx.publisher()
    rid, _, h = ctx.publish_ok(ns, 1, key)
    _, t1 = wait_checkpoint(ctx, rid, tmp_path / "b.cbor", 0)
    node.stop()
    node.checkpoint_ms = 0
    node.start()
    typ, hdr, t = final_header(proof(ctx, rid, tmp_path / "c.cbor"))
    assert typ == CHECKPOINT and t >= t1 and hdr[HDR_HEIGHT] == h
    r = ctx.cli("query", "proof", rid, json_out=True)
    assert r.rc == 0 and r.json["checkpoint_time_ms"] == t, r
    rid2, _, h2 = ctx.publish_ok(ns, 2, key)
    typ, hdr, _ = final_header(proof(ctx, rid2, tmp_path / "d.cbor"))
    assert typ == HEADER and hdr[HDR_HEIGHT] == h2
    r = ctx.cli("query", "proof", rid2, json_out=True)
    assert r.rc == 0 and "checkpoint_time_ms" not in r.json, r


def test_idle_testnet_makes_no_blocks(tmp_path):
    """4 validators without heartbeats: a publish makes a block, then nothing for 3 s on any node,
    while every validator's bundle of the head carries a quorum checkpoint whose time moves."""
    net = LoopbackNet(tmp_path / "tn", 4)
    net.timing = ["--checkpoint-ms", INTERVAL_MS]
    try:
        net.up()
        ctx = Ctx(net.view(0), tmp_path / "work")
        key, ns = ctx.publisher()
        rid, _, h = ctx.publish_ok(ns, 1, key)
        views = [Ctx(net.view(i), tmp_path / ("w%d" % i)) for i in net.validators]
        deadline = time.monotonic() + 30
        while any(height(v) < h for v in views) and time.monotonic() < deadline:
            time.sleep(0.1)
        firsts = [wait_checkpoint(v, rid, tmp_path / ("a%d.cbor" % i), 0)[1]
                  for i, v in enumerate(views)]
        time.sleep(3)
        assert [height(v) for v in views] == [h] * 4, "an idle testnet made blocks"
        for i, v in enumerate(views):
            raw, t = wait_checkpoint(v, rid, tmp_path / ("b%d.cbor" % i), firsts[i] + 2000)
            typ, hdr, _ = final_header(raw)
            assert typ == CHECKPOINT and hdr[HDR_HEIGHT] == h
            voters = [s for s in sections(raw) if s[0] == 2 and len(s) == 5]
            assert len(voters) == 3 and all(s[3] == t for s in voters)  # 3 of 4: a quorum
        assert [height(v) for v in views] == [h] * 4
    finally:
        net.down()


def test_idle_node_checkpoints_unprompted(node_factory, tmp_path):
    """With nothing to do (no heartbeat, no queries, no peers) the node still wakes every
    interval to sign: the first bundle asked for after 2 s of silence following a commit carries
    a checkpoint from within that silence."""
    node = node_factory("cpq", heartbeat_ms=None, checkpoint_ms=INTERVAL_MS)
    ctx = Ctx(node, tmp_path / "work")
    key, ns = ctx.publisher()
    rid, _, _ = ctx.publish_ok(ns, 1, key)
    t0 = int(time.time() * 1000)
    time.sleep(2)
    # One request (the CLI's `query proof` makes several, and the first would wake the node).
    with ReqClient(node.endpoint) as c:
        rep = loads(c.call({0: RPC_BUNDLE, 1: bytes.fromhex(rid), 2: 0, 3: "hw-a"}))
    assert rep[0] == 0, rep
    typ, _, t = final_header(rep[1])
    assert typ == CHECKPOINT and t >= t0 + 1000, (typ, t0, t)
