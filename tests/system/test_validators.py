"""Validator-set changes through the CLI against a dev node: `validators show`, a change the dev
node keeps committing under (its key keeps more than 2/3), releases and audit across it, refusals
that change nothing, and a change that leaves the node unable to commit alone: it stops making
blocks, keeps answering queries and says so once."""
import hashlib
import json
import re
import time

import cbor_util
from conftest import Ctx, Key, assert_rejected, chain_state, run_cli

HEX64 = re.compile(r"^[0-9a-f]{64}$")
STALL_LINE = "cannot commit block"


def node_key(node):
    """The dev node's own validator key (unencrypted keystore in its data directory)."""
    path = node.data / "validator.key"
    return Key(path, json.loads(path.read_text())["pubkey"])


def set_file(ctx, entries):
    path = ctx.tmp / (ctx.unique("set") + ".json")
    path.write_text(json.dumps([{"pubkey": k.pubkey if isinstance(k, Key) else k, "power": p}
                                for k, p in entries]))
    return path


def valset_hash(entries):
    """SHA-256 of the canonical valset [[key, power], ...] sorted by key (what headers name)."""
    items = sorted((bytes.fromhex(k), p) for k, p in entries)
    return hashlib.sha256(cbor_util.dumps([[k, p] for k, p in items])).hexdigest()


def show(ctx, *args):
    r = ctx.cli("validators", "show", *args, json_out=True)
    assert r.rc == 0, r
    return r.json


def change(ctx, entries, *keys):
    args = ["validators", "set", "--file", set_file(ctx, entries)]
    for k in keys:
        args += ["--key", k]
    return ctx.cli(*args, json_out=True)


def header(ctx, height):
    r = ctx.cli("query", "block", str(height), json_out=True)
    assert r.rc == 0, r
    return r.json


def test_show_genesis_set(ctx):
    v1 = node_key(ctx.node)
    s = show(ctx)
    assert s["height"] == 1 and s["since"] == 1 and s["head"] == 0, s
    assert s["validators"] == [{"pubkey": v1.pubkey, "power": 1}], s
    assert s["total_power"] == 1 and s["commit_power"] == 1
    assert s["hash"] == valset_hash([(v1.pubkey, 1)])
    human = ctx.cli("validators", "show")
    assert human.rc == 0 and v1.pubkey in human.out and "height 1" in human.out, human
    assert_rejected(ctx.cli("validators", "show", "--height", "3", json_out=True),
                    "UL_E_NOT_FOUND")
    r = run_cli(["validators", "show", "--height", "0"], node=ctx.node.endpoint)
    assert r.rc == 2, r
    for args in (["validators", "--help"], ["validators", "show", "--help"],
                 ["validators", "set", "--help"]):
        h = run_cli(args)
        assert h.rc == 0 and "usage:" in h.out, h
    assert "validators" in run_cli(["--help"]).out
    for args in (["validators"], ["validators", "set", "--key", "k.json"],
                 ["validators", "set", "--file", "s.json"], ["validators", "frob"]):
        assert run_cli(args, node="tcp://127.0.0.1:1", timeout_ms=200).rc == 2, args


def test_change_keeps_committing_and_audits(node_factory, tmp_path):
    node = node_factory("v")
    ctx = Ctx(node, tmp_path / "w")
    v1, v2, v3 = node_key(node), ctx.keygen(), ctx.keygen()
    key, ns = ctx.publisher()
    ctx.publish_ok(ns, 1, key)
    before = node.status()["height"]

    r = change(ctx, [(v1, 3), (v2, 1)], v1)
    assert r.rc == 0, r
    h = r.json["height"]
    assert r.json["committed"] is True and h == before + 1 and r.json["effective_height"] == h + 1
    human_hdr = header(ctx, h)
    assert human_hdr["txs"][0]["kind"] == "validators", human_hdr
    old, new = valset_hash([(v1.pubkey, 1)]), valset_hash([(v1.pubkey, 3), (v2.pubkey, 1)])
    assert human_hdr["header"]["validators_hash"] == old
    assert human_hdr["header"]["next_validators_hash"] == new
    s = show(ctx)
    assert s["height"] == h + 1 and s["since"] == h + 1 and s["hash"] == new, s
    assert sorted((v["pubkey"], v["power"]) for v in s["validators"]) == sorted(
        [(v1.pubkey, 3), (v2.pubkey, 1)])
    assert s["total_power"] == 4 and s["commit_power"] == 3
    assert show(ctx, "--height", str(h))["hash"] == old

    # v1 holds 75%: the node keeps committing; the next block is signed by the new set.
    rid, img, rh = ctx.publish_ok(ns, 2, key)
    assert rh == h + 1
    nxt = header(ctx, rh)["header"]
    assert nxt["validators_hash"] == new and nxt["next_validators_hash"] == new
    # A device anchored at genesis follows the change: the bundle walks one step.
    bundle = tmp_path / "b.cbor"
    p = ctx.cli("query", "proof", rid, "--hw", "hw-a", "--out", bundle, json_out=True)
    assert p.rc == 0 and p.json["verified"] is True and p.json["valset_steps"] == 1, p
    v = run_cli(["verify", "--bundle", bundle, "--image", img, "--genesis", node.genesis,
                 "--hw", "hw-a"])
    assert v.rc == 0, v

    # Two signers (both validators, 4 of 4) add v3; v1 keeps 5 of 7.
    r = change(ctx, [(v1, 5), (v2, 1), (v3, 1)], v1, v2)
    assert r.rc == 0 and r.json["committed"] is True, r
    rid, _, _ = ctx.publish_ok(ns, 3, key)
    p = ctx.cli("query", "proof", rid, "--hw", "hw-a", json_out=True)
    assert p.rc == 0 and p.json["verified"] is True and p.json["valset_steps"] == 2, p
    assert STALL_LINE not in node.log_text()
    human = ctx.cli("validators", "show")
    assert human.rc == 0 and v3.pubkey in human.out, human

    st = node.status()
    a = node.cli("audit", json_out=True)
    assert a.rc == 0 and a.json["height"] == st["height"], a
    assert a.json["head"] == st["head"]["hash"]
    assert node.stop() == 0
    d = run_cli(["audit", "--data", node.data], json_out=True)
    assert d.rc == 0 and d.json["head"] == st["head"]["hash"], d
    node.start()  # restart keeps the set and keeps committing
    assert show(ctx)["hash"] == valset_hash([(v1.pubkey, 5), (v2.pubkey, 1), (v3.pubkey, 1)])
    ctx.publish_ok(ns, 4, key)


def test_refusals_change_nothing(ctx):
    v1, v2, stranger = node_key(ctx.node), ctx.keygen(), ctx.keygen()
    before, set_before = chain_state(ctx.node), show(ctx)

    def refused(r, name):
        assert_rejected(r, name)
        assert chain_state(ctx.node) == before
        assert show(ctx) == set_before

    refused(change(ctx, [(stranger, 1)], stranger), "UL_E_VALIDATOR")
    refused(change(ctx, [(v1, 1), (v2, 1)], v1, stranger), "UL_E_VALIDATOR")
    refused(change(ctx, [(v1, 1)], v1), "UL_E_VALSET_CHANGE")  # the current set again
    refused(change(ctx, [], v1), "UL_E_VALSET_CHANGE")
    refused(change(ctx, [(v2, 1), (v2, 2)], v1), "UL_E_VALSET_CHANGE")
    refused(change(ctx, [(v2, 0)], v1), "UL_E_VALSET_CHANGE")
    many = [("%064x" % (i + 1), 1) for i in range(65)]
    refused(change(ctx, many, v1), "UL_E_LIMIT")
    refused(change(ctx, [(v2, 1 << 61)], v1), "UL_E_LIMIT")
    bad = ctx.tmp / "bad.json"
    bad.write_text('{"pubkey": "00"}')
    refused(ctx.cli("validators", "set", "--file", bad, "--key", v1, json_out=True),
            "UL_E_SCHEMA_FIELD")

    # After a real change, v2 (1 of 4) alone is short of 2/3.
    assert change(ctx, [(v1, 3), (v2, 1)], v1).rc == 0
    before, set_before = chain_state(ctx.node), show(ctx)
    refused(change(ctx, [(v1, 1), (v2, 1)], v2), "UL_E_QUORUM")


def test_node_stalls_below_two_thirds(node_factory, tmp_path):
    node = node_factory("s", heartbeat_ms=50)
    ctx = Ctx(node, tmp_path / "w")
    v1, v2 = node_key(node), ctx.keygen()
    key, ns = ctx.publisher()
    r = change(ctx, [(v1, 1), (v2, 3)], v1)  # v1 signs it alone: it still holds all power
    assert r.rc == 0 and r.json["committed"] is True, r
    h = r.json["height"]
    time.sleep(0.5)  # about ten heartbeats: none may commit, and the node says so only once
    st = node.status()
    assert st["height"] == h, st
    assert node.log_text().count(STALL_LINE) == 1, node.log_text()
    assert "UL_E_QUORUM" in node.log_text() and "failed" not in node.log_text()

    # Queries keep working; submissions are refused with the reason, nothing changes.
    s = show(ctx)
    assert s["since"] == h + 1 and s["total_power"] == 4
    assert header(ctx, h)["header"]["height"] == h
    assert_rejected(ctx.publish(ctx.manifest(ns, 1), ctx.image(), key), "UL_E_QUORUM")
    assert_rejected(change(ctx, [(v1, 3), (v2, 1)], v1, v2), "UL_E_QUORUM")
    assert chain_state(node) == {"height": h, "log_size": 0, "head": st["head"]["hash"],
                                 "pending": 0}
    a = node.cli("audit", json_out=True)
    assert a.rc == 0 and a.json["height"] == h, a

    # A restart: the node comes back (it is still a validator), serves, logs the stall once more.
    assert node.stop() == 0
    node.start()
    time.sleep(0.3)
    assert node.log_text().count(STALL_LINE) == 2
    assert node.status()["height"] == h
    assert show(ctx)["hash"] == s["hash"]


def test_node_removed_from_set(node_factory, tmp_path):
    """A change that drops the node's key: the node stays up read-only, also after a restart."""
    node = node_factory("r")
    ctx = Ctx(node, tmp_path / "w")
    v1, v2 = node_key(node), ctx.keygen()
    r = change(ctx, [(v2, 1)], v1)
    assert r.rc == 0 and r.json["committed"] is True, r
    h = r.json["height"]
    assert node.log_text().count(STALL_LINE) == 1 and "UL_E_VALIDATOR" in node.log_text()
    assert show(ctx)["validators"] == [{"pubkey": v2.pubkey, "power": 1}]
    assert_rejected(change(ctx, [(v1, 1)], v2), "UL_E_VALIDATOR")  # refused: no blocks here
    assert node.stop() == 0
    node.start()
    assert node.status()["height"] == h
    assert node.log_text().count(STALL_LINE) == 2
    a = node.cli("audit", json_out=True)
    assert a.rc == 0 and a.json["height"] == h, a
