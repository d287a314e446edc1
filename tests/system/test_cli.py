"""Happy paths of the upledger CLI against a dev node: keys, genesis, namespaces, publish,
every query, proofs and device-side verify, audit, export, help and usage errors."""
import hashlib
import json
import os
import re
import stat
import subprocess

import pytest

import bip340
import cbor_util
from conftest import (ERR_NUM, UPLEDGER, UPLEDGERD, assert_rejected, chain_state, run_cli,
                      sha256_file)

COMMANDS = ["keygen", "genesis", "namespace", "publish", "approve", "revoke", "rotate",
            "transfer", "query", "audit", "export", "verify", "verify-consistency"]
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- help and usage ------------------------------------------------------------------------

def test_help_exits_zero_for_every_command():
    r = run_cli(["--help"])
    assert r.rc == 0 and r.out, r
    for c in COMMANDS:
        assert c in r.out, r
    for args in [[c, "--help"] for c in COMMANDS] + [["namespace", "register", "--help"],
                                                    ["namespace", "show", "--help"],
                                                    ["namespace", "policy", "--help"],
                                                    ["query", "-h"]]:
        r = run_cli(args)
        assert r.rc == 0, r
        assert "usage:" in r.out, r
    d = subprocess.run([str(UPLEDGERD), "--help"], capture_output=True, text=True, timeout=10)
    assert d.returncode == 0 and "usage:" in d.stdout


@pytest.mark.parametrize("args", [
    ["bogus"],
    ["--bogus", "query", "status"],
    ["--timeout-ms", "5", "query", "status"],
    [],
    ["namespace"],
    ["namespace", "frobnicate"],
    ["query"],
    ["query", "nonsense"],
    ["query", "release", "not-hex"],
    ["query", "block", "0"],
    ["query", "latest", "acme/fw"],
    ["query", "provenance"],
    ["approve", "00" * 32, "--key", "k.json"],               # no --role
    ["revoke", "00" * 32, "--key", "k.json"],                # no --reason
    ["rotate", "a/b", "--new-key", "00" * 32, "--key", "k"],  # no --target
    ["transfer", "a/b", "--key", "k.json"],                  # no --owner
    ["namespace", "policy", "a/b", "--key", "k.json"],       # no --policy
    ["publish", "m.json"],
    ["keygen"],
    ["genesis", "--out", "g.cbor"],
    ["verify", "--bundle", "b"],
    ["export"],
] + [[c, "--no-such-option"] for c in COMMANDS if c != "namespace"]
  + [["namespace", "register", "a/b", "--no-such-option"], ["audit", "extra-arg"]])
def test_usage_errors_exit_2(args, tmp_path):
    r = run_cli(args, node="tcp://127.0.0.1:1", timeout_ms=200)
    assert r.rc == 2, r
    assert r.err.strip(), r


def test_upledgerd_bad_arguments_exit_2(tmp_path):
    for args in (["--bogus"], [], ["--dev", "--data", str(tmp_path), "--heartbeat-ms", "1"]):
        d = subprocess.run([str(UPLEDGERD)] + args, capture_output=True, text=True, timeout=10)
        assert d.returncode == 2, (args, d.stderr)


# ---- keys --------------------------------------------------------------------------------

def _hex_windows(text):
    """Every 64-hex-digit window of every hex run in text."""
    for run in re.findall(r"[0-9a-fA-F]{64,}", text):
        for i in range(len(run) - 63):
            yield run[i:i + 64]


def _holds_secret_of(text, pubkey_hex):
    """True when some 64-hex-digit window of text is a secret key whose public key is pubkey."""
    for w in _hex_windows(text):
        d = int(w, 16)
        if 1 <= d < bip340.N and bip340.pubkey(bytes.fromhex(w)).hex() == pubkey_hex:
            return True
    return False


def test_keygen_plaintext(tmp_path):
    path = tmp_path / "dev.key"
    r = run_cli(["keygen", "--out", path, "--insecure-no-passphrase"], json_out=True)
    assert r.rc == 0, r
    j = r.json
    assert HEX64.match(j["pubkey"]) and j["encrypted"] is False and j["file"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ks = json.loads(path.read_text())
    # The dev keystore holds the secret in the clear, and it is the key of the printed pubkey.
    assert bip340.pubkey(bytes.fromhex(ks["secret"])).hex() == j["pubkey"]
    assert _holds_secret_of(path.read_text(), j["pubkey"])  # the detector below works
    # Human output: the public key on stdout.
    r2 = run_cli(["keygen", "--out", tmp_path / "dev2.key", "--insecure-no-passphrase"])
    assert r2.rc == 0 and HEX64.match(r2.out.strip()), r2
    assert r2.out.strip() != j["pubkey"]
    # Never overwritten.
    before = path.read_bytes()
    r3 = run_cli(["keygen", "--out", path, "--insecure-no-passphrase"])
    assert_rejected(r3, "UL_E_EXISTS")
    assert path.read_bytes() == before


def test_keygen_encrypted_and_passphrase(ctx, tmp_path):
    key = ctx.keygen(passphrase="correct horse battery staple")
    text = key.path.read_text()
    ks = json.loads(text)
    assert ks["kdf"] != "none" and "secret" not in ks, text
    assert ks["pubkey"] == key.pubkey
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    # No hex window of the file is the secret key (checked against the public key).
    assert not _holds_secret_of(text, key.pubkey)

    # Without a passphrase (no env, no terminal), keygen refuses and writes nothing.
    nokey = tmp_path / "nopass.key"
    r = run_cli(["keygen", "--out", nokey])
    assert_rejected(r, "UL_E_PASSPHRASE")
    assert not nokey.exists()

    # The encrypted key works for register and publish with the right passphrase...
    ns = ctx.new_ns()
    ctx.register(ns, key)
    rid, image, _ = ctx.publish_ok(ns, 1, key)
    assert ctx.cli("query", "release", rid).rc == 0

    # ...also from --passphrase-file.
    pf = tmp_path / "pass.txt"
    pf.write_text("correct horse battery staple\n")
    r = ctx.cli("publish", ctx.manifest(ns, 2), "--image", image, "--key", key,
                "--passphrase-file", pf, json_out=True)
    assert r.rc == 0 and r.json["committed"], r

    # A wrong passphrase fails with UL_E_PASSPHRASE, exit 1, and changes nothing.
    before = chain_state(ctx.node)
    r = ctx.cli("publish", ctx.manifest(ns, 3), "--image", image, "--key", key,
                env={"UPLEDGER_PASSPHRASE": "wrong"})
    assert_rejected(r, "UL_E_PASSPHRASE")
    r = ctx.cli("publish", ctx.manifest(ns, 3), "--image", image, "--key", key, json_out=True)
    assert_rejected(r, "UL_E_PASSPHRASE")  # no passphrase at all, no terminal
    assert chain_state(ctx.node) == before


# ---- genesis -----------------------------------------------------------------------------

def test_genesis(ctx, tmp_path):
    k1, k2 = ctx.keygen(), ctx.keygen()
    out = tmp_path / "genesis.cbor"
    args = ["genesis", "--out", out, "--validator", k1, "--validator", "%s:3" % k2.pubkey,
            "--name", "testnet", "--time-ms", "1700000000000"]
    r = run_cli(args, json_out=True)
    assert r.rc == 0, r
    j = r.json
    raw = out.read_bytes()
    assert j["chain_id"] == hashlib.sha256(raw).hexdigest() and j["validators"] == 2
    g = cbor_util.loads(raw)
    assert cbor_util.dumps(g) == raw  # canonical
    assert g[1] == 1 and g[2] == "testnet" and g[3] == 1700000000000
    want = sorted([[bytes.fromhex(k1.pubkey), 1], [bytes.fromhex(k2.pubkey), 3]])
    assert g[4] == want
    # Deterministic: the same inputs give the same bytes and chain id.
    out2 = tmp_path / "genesis2.cbor"
    r2 = run_cli(["genesis", "--out", out2, "--validator", "%s:3" % k2.pubkey, "--validator",
                  k1.pubkey, "--name", "testnet", "--time-ms", "1700000000000"])
    assert r2.rc == 0 and j["chain_id"] in r2.out, r2
    assert out2.read_bytes() == raw
    # A dev node's genesis is what its status reports as the chain id.
    assert sha256_file(ctx.node.genesis) == ctx.node.status()["chain_id"]
    # Bad validator arguments.
    assert run_cli(["genesis", "--out", out, "--validator", "%s:0" % k1.pubkey]).rc == 1
    assert run_cli(["genesis", "--out", out, "--validator", "zz"]).rc == 1
    assert out.read_bytes() == raw


# ---- namespaces --------------------------------------------------------------------------

def test_namespace_register_and_show(ctx):
    owner, pub1, pub2 = ctx.keygen(), ctx.keygen(), ctx.keygen()
    ns = ctx.new_ns()
    reg = ctx.register(ns, owner, publishers=[pub1, pub2.pubkey])
    assert HEX64.match(reg["id"]) and reg["result"] == "namespace"
    r = ctx.cli("namespace", "show", ns, json_out=True)
    assert r.rc == 0, r
    j = r.json
    assert j["namespace"] == ns and j["height"] == reg["height"]
    # The default contract: threshold 1, no roles or requirements, any hardware, revokers
    # owners and publishers, no end of support.
    assert j["policy"] == {
        "owners": {"keys": [owner.pubkey], "threshold": 1},
        "publishers": {"keys": sorted([pub1.pubkey, pub2.pubkey]), "threshold": 1},
        "roles": {}, "require": {}, "hardware": [], "revokers": ["owners", "publishers"]}, j
    h = ctx.cli("namespace", "show", ns)
    assert h.rc == 0 and ns in h.out and pub1.pubkey in h.out, h
    # Defaults: owners = the signing key, publishers = the owners.
    ns2 = ctx.new_ns()
    ctx.register(ns2, pub1)
    j2 = ctx.cli("namespace", "show", ns2, json_out=True).json["policy"]
    assert j2["owners"] == {"keys": [pub1.pubkey], "threshold": 1} == j2["publishers"]
    assert_rejected(ctx.cli("namespace", "show", "nobody/here", json_out=True), "UL_E_NOT_FOUND")


# ---- publish and queries -------------------------------------------------------------------

def test_publish_and_query_release(ctx):
    key, ns = ctx.publisher()
    ctx.register("acme/boot", key)  # a dependency must name a registered namespace
    data = os.urandom(70000)
    image = ctx.image(data, name="router-1.2.0.bin")
    before = ctx.node.status()
    m = ctx.manifest(ns, 12, version="1.2.0", hardware=["acme-r1", "acme-r2"],
                     links=["https://mirror.example/router.bin"], kind="feature",
                     dependencies=[{"namespace": "acme/boot", "version": ">=2.0.0"}],
                     release_time="2026-11-01T10:00:00Z", provider="ACME Networks")
    r = ctx.publish(m, image, key)
    assert r.rc == 0, r
    pub = r.json
    assert pub["result"] == "release" and pub["committed"] is True and HEX64.match(pub["id"])
    assert pub["height"] == before["height"] + 1
    after = ctx.node.status()
    assert after["log_size"] == before["log_size"] + 1 and after["height"] == pub["height"]

    q = ctx.cli("query", "release", pub["id"], json_out=True)
    assert q.rc == 0, q
    rel = q.json
    assert rel["image"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert rel["image"]["size"] == len(data)
    assert rel["image"]["file"] == "router-1.2.0.bin"
    assert rel["id"] == pub["id"] and rel["namespace"] == ns
    assert rel["version"] == "1.2.0" and rel["sequence"] == 12 and rel["kind"] == "feature"
    assert rel["hardware"] == ["acme-r1", "acme-r2"]
    assert rel["links"] == ["https://mirror.example/router.bin"]
    assert rel["dependencies"] == [{"namespace": "acme/boot", "version": ">=2.0.0"}]
    assert rel["provider"] == "ACME Networks"
    assert rel["release_time"] == "2026-11-01T10:00:00Z"
    assert rel["signers"] == [key.pubkey]
    assert rel["height"] == pub["height"] and rel["log_index"] == before["log_size"]
    human = ctx.cli("query", "release", pub["id"])
    assert human.rc == 0 and human.out.strip() and "1.2.0" in human.out, human
    # Human publish output names the id and the height.
    r2 = ctx.publish(ctx.manifest(ns, 13), image, key, json_out=False)
    assert r2.rc == 0 and "committed at height" in r2.out, r2
    # An unknown id.
    assert_rejected(ctx.cli("query", "release", "00" * 32, json_out=True), "UL_E_NOT_FOUND")


def test_publish_no_wait_then_committed(ctx):
    key, ns = ctx.publisher()
    r = ctx.publish(ctx.manifest(ns, 1), ctx.image(), key, extra=["--no-wait"])
    assert r.rc == 0 and HEX64.match(r.json["id"]), r
    # The node commits pending transactions at once; poll briefly.
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        q = ctx.cli("query", "release", r.json["id"], json_out=True)
        if q.rc == 0:
            break
        time.sleep(0.05)
    assert q.rc == 0, q


def test_history_and_latest(ctx):
    key, ns = ctx.publisher()
    ids = []
    ids.append(ctx.publish_ok(ns, 1, key, hardware=["a", "b"])[0])
    ids.append(ctx.publish_ok(ns, 2, key, hardware=["a"])[0])
    ids.append(ctx.publish_ok(ns, 5, key, hardware=["b", "c"])[0])
    h = ctx.cli("query", "history", ns, json_out=True)
    assert h.rc == 0, h
    assert h.json["namespace"] == ns and h.json["next_cursor"] is None
    rels = h.json["releases"]
    assert [x["id"] for x in rels] == ids[::-1]  # newest first
    assert [x["sequence"] for x in rels] == [5, 2, 1]
    assert [x["log_index"] for x in rels] == sorted((x["log_index"] for x in rels), reverse=True)
    old = ctx.cli("query", "history", ns, "--oldest-first", json_out=True)
    assert [x["id"] for x in old.json["releases"]] == ids, old
    hh = ctx.cli("query", "history", ns)
    assert hh.rc == 0 and "3 releases" in hh.out and all(i in hh.out for i in ids), hh
    assert "more:" not in hh.out, hh
    # Pages of one, newest first, following the cursor each page gives, then oldest first.
    for order, want in (((), ids[::-1]), (("--oldest-first",), ids)):
        seen, cursor = [], None
        for _ in range(len(ids) + 1):
            args = ["query", "history", ns, "--limit", "1", *order]
            page = ctx.cli(*args, *(["--cursor", str(cursor)] if cursor is not None else []),
                           json_out=True)
            assert page.rc == 0 and len(page.json["releases"]) == 1, page
            seen.append(page.json["releases"][0]["id"])
            cursor = page.json["next_cursor"]
            if cursor is None:
                break
        assert seen == want, (order, seen)
    text = ctx.cli("query", "history", ns, "--limit", "2")
    assert text.rc == 0 and "2 releases, newest first" in text.out, text
    assert "more: upledger query history %s --cursor " % ns in text.out, text
    for bad in (["--limit", "0"], ["--limit", "1025"], ["--limit", "x"], ["--cursor", "-1"]):
        r = ctx.cli("query", "history", ns, *bad)
        assert r.rc == 2 and r.err.count("\n") == 1, (bad, r)
    for hw, want in (("a", ids[1]), ("b", ids[2]), ("c", ids[2])):
        r = ctx.cli("query", "latest", ns, "--hw", hw, json_out=True)
        assert r.rc == 0 and r.json["id"] == want, (hw, r)
    r = ctx.cli("query", "latest", ns, "--hw", "a")
    assert r.rc == 0 and r.out.strip(), r
    assert_rejected(ctx.cli("query", "latest", ns, "--hw", "zz", json_out=True), "UL_E_NOT_FOUND")
    empty = ctx.cli("query", "history", "nobody/none", json_out=True)
    # An unknown namespace: either an empty history or a named error, never a crash.
    assert (empty.rc == 0 and empty.json["releases"] == []) or empty.error_name, empty


def test_query_status_and_block(ctx):
    s = ctx.cli("query", "status", json_out=True)
    assert s.rc == 0, s
    st = s.json
    assert HEX64.match(st["chain_id"]) and st["height"] == 0 and st["log_size"] == 0
    human = ctx.cli("query", "status")
    assert human.rc == 0 and st["chain_id"] in human.out, human
    assert_rejected(ctx.cli("query", "block", "head", json_out=True), "UL_E_NOT_FOUND")

    key, ns = ctx.publisher()
    rid, _, height = ctx.publish_ok(ns, 1, key)
    st = ctx.node.status()
    assert st["height"] == height == 2 and st["log_size"] == 1
    b = ctx.cli("query", "block", "head", json_out=True)
    assert b.rc == 0, b
    hdr = b.json["header"]
    assert hdr["height"] == 2 and hdr["hash"] == st["head"]["hash"]
    assert hdr["chain_id"] == st["chain_id"] and hdr["log_size"] == 1
    assert b.json["txs"] == [{"kind": "publish", "id": rid}]
    b1 = ctx.cli("query", "block", "1", json_out=True)
    assert b1.rc == 0 and b1.json["header"]["height"] == 1, b1
    assert b1.json["txs"][0]["kind"] == "register"
    assert hdr["prev"] == b1.json["header"]["hash"]
    assert b1.json["header"]["prev"] == st["chain_id"]
    hb = ctx.cli("query", "block", "2")
    assert hb.rc == 0 and hdr["hash"] in hb.out and rid in hb.out, hb
    assert_rejected(ctx.cli("query", "block", "3", json_out=True), "UL_E_NOT_FOUND")


def test_query_commit_and_consistency(ctx):
    """query commit verifies a block's commit and saves its header; query consistency and
    verify-consistency prove (online, then offline from the saved files) that the release log
    only grew between two headers, and refuse proofs or headers that do not fit."""
    key, ns = ctx.publisher()
    for seq in (1, 2, 3):
        ctx.publish_ok(ns, seq, key)  # heights 2, 3, 4
    h2, h4, proof = ctx.tmp / "h2.cbor", ctx.tmp / "h4.cbor", ctx.tmp / "p.cbor"
    c = ctx.cli("query", "commit", "2", "--out", h2, json_out=True)
    assert c.rc == 0 and c.json["verified"] is True and c.json["height"] == 2, c
    blk = ctx.cli("query", "block", "2", json_out=True).json["header"]
    assert c.json["header_hash"] == blk["hash"] == hashlib.sha256(h2.read_bytes()).hexdigest()
    assert len(c.json["signers"]) == 1 and c.json["signed_power"] == c.json["total_power"], c
    head = ctx.cli("query", "commit", "head", "--out", h4)
    assert head.rc == 0 and "commit of block 4: verified" in head.out, head
    q = ctx.cli("query", "consistency", "2", "head", "--out", proof, json_out=True)
    assert q.rc == 0 and q.json["verified"] is True, q
    assert (q.json["from"]["log_size"], q.json["to"]["log_size"]) == (1, 3), q
    assert q.json["to"]["height"] == 4 and q.json["from"]["log_root"] == blk["log_root"], q
    text = ctx.cli("query", "consistency", "2", "4")
    assert text.rc == 0 and "release log consistent: verified" in text.out, text
    # Offline, from the files; then with the proof from the node.
    v = run_cli(["verify-consistency", h2, h4, "--proof", proof], node="tcp://127.0.0.1:1",
                json_out=True, timeout_ms=200)
    assert v.rc == 0 and v.json["verified"] is True and v.json["to"]["log_size"] == 3, v
    v = ctx.cli("verify-consistency", h2, h4)
    assert v.rc == 0 and "verified" in v.out, v
    # The wrong way round; a proof for other sizes; a changed proof; a changed header root;
    # a header of another chain.
    assert_rejected(ctx.cli("verify-consistency", h4, h2, json_out=True), "UL_E_MERKLE_RANGE")
    other = ctx.tmp / "p23.cbor"
    assert ctx.cli("query", "consistency", "2", "3", "--out", other).rc == 0
    assert_rejected(ctx.cli("verify-consistency", h2, h4, "--proof", other), "UL_E_MERKLE_RANGE")
    p = cbor_util.loads(proof.read_bytes())
    p[3][0] = bytes(b ^ 1 for b in p[3][0])
    bad = ctx.tmp / "bad.cbor"
    bad.write_bytes(cbor_util.dumps(p))
    assert_rejected(ctx.cli("verify-consistency", h2, h4, "--proof", bad), "UL_E_MERKLE_PROOF")
    for field, name in ((7, "UL_E_MERKLE_PROOF"), (2, "UL_E_CHAIN_ID")):
        hdr = cbor_util.loads(h4.read_bytes())
        hdr[field] = bytes(b ^ 1 for b in hdr[field])
        changed = ctx.tmp / ("h4-%d.cbor" % field)
        changed.write_bytes(cbor_util.dumps(hdr))
        assert_rejected(ctx.cli("verify-consistency", h2, changed, "--proof", proof), name)
    assert_rejected(ctx.cli("verify-consistency", h2, ctx.tmp / "missing.cbor"), "UL_E_IO")
    assert_rejected(ctx.cli("query", "commit", "9", json_out=True), "UL_E_NOT_FOUND")
    for args in (["query", "consistency", "3", "2"], ["query", "consistency", "2"],
                 ["query", "commit", "0"], ["verify-consistency", h2]):
        r = ctx.cli(*args)
        assert r.rc == 2 and r.err.count("\n") == 1, r


def test_query_evidence_empty_chain(ctx):
    """No equivocation recorded: nothing printed, an empty JSON list (--json before or after the
    command); still none once blocks commit; an extra argument is a usage error."""
    r = ctx.cli("query", "evidence")
    assert r.rc == 0 and r.out == "", r
    j = ctx.cli("query", "evidence", json_out=True)
    assert j.rc == 0 and j.json == [], j
    after = ctx.cli("query", "evidence", "--json")
    assert after.rc == 0 and after.json == [], after
    key, ns = ctx.publisher()
    ctx.publish_ok(ns, 1, key)
    j = ctx.cli("query", "evidence", json_out=True)
    assert j.rc == 0 and j.json == [], j
    assert ctx.cli("query", "evidence", "extra").rc == 2
    h = run_cli(["query", "--help"])
    assert h.rc == 0 and "query evidence" in h.out, h


def test_proof_and_verify(ctx, tmp_path):
    key, ns = ctx.publisher()
    data = os.urandom(5000)
    rid, image, height = ctx.publish_ok(ns, 1, key, image=ctx.image(data))
    bundle = tmp_path / "bundle.cbor"
    p = ctx.cli("query", "proof", rid, "--out", bundle, json_out=True)
    assert p.rc == 0, p
    pj = p.json
    assert pj["verified"] is True and pj["release"] == rid and pj["height"] == height
    assert pj["hw"] == "hw-a" and pj["device_verdict"] == "ok", pj
    assert pj["bundle_bytes"] == bundle.stat().st_size and pj["file"] == str(bundle)
    human = ctx.cli("query", "proof", rid)
    assert human.rc == 0 and "verified" in human.out, human

    genesis = ctx.node.genesis
    verify = ["verify", "--image", image, "--genesis", genesis, "--hw", "hw-a", "--bundle"]
    v = run_cli(verify + [bundle], json_out=True)
    assert v.rc == 0, v
    assert v.json["verified"] is True and v.json["namespace"] == ns and v.json["sequence"] == 1
    assert v.json["id"] == rid and v.json["height"] == height and v.json["encrypted"] is False
    assert v.json["image_sha256"] == hashlib.sha256(data).hexdigest()
    vh = run_cli(verify + [bundle])
    assert vh.rc == 0 and vh.out.startswith("verified"), vh
    # A device of another class: the proofs hold (the installable proof names hw-a), and the
    # release does not support hw-z.
    assert_rejected(run_cli(["verify", "--bundle", bundle, "--image", image, "--genesis",
                             genesis, "--hw", "hw-z"]), "UL_E_HW_MISMATCH")
    # The node makes no bundle for a class the release does not list.
    assert_rejected(ctx.cli("query", "proof", rid, "--hw", "hw-z", json_out=True),
                    "UL_E_HW_MISMATCH")

    # A later header (an unrelated namespace's release) still proves it.
    other_key, other_ns = ctx.publisher()
    ctx.publish_ok(other_ns, 1, other_key)
    p3 = ctx.cli("query", "proof", rid, "--height", str(height), json_out=True)
    assert p3.rc == 0 and p3.json["height"] == height and p3.json["device_verdict"] == "ok", p3
    p4 = ctx.cli("query", "proof", rid, json_out=True)
    assert p4.rc == 0 and p4.json["height"] == height + 2 and p4.json["device_verdict"] == "ok"

    # A later release supersedes it: the proof still verifies, but a device would not install
    # the old release any more (not the newest installable for its class).
    ctx.publish_ok(ns, 2, key)
    later = tmp_path / "later.cbor"
    p2 = ctx.cli("query", "proof", rid, "--out", later, json_out=True)
    assert p2.rc == 0 and p2.json["height"] == height + 3, p2
    assert p2.json["device_verdict"] == "UL_E_NOT_INSTALLABLE", p2
    assert_rejected(run_cli(verify + [later]), "UL_E_NOT_INSTALLABLE")
    # No proof from a header before the release, or past the head.
    for h in (height - 1, height + 5):
        assert_rejected(ctx.cli("query", "proof", rid, "--height", str(h), json_out=True),
                        "UL_E_NOT_FOUND")

    # A modified image (same size): digest mismatch.
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x01
    modified = ctx.image(bytes(bad))
    assert_rejected(run_cli(["verify", "--bundle", bundle, "--image", modified, "--genesis",
                             genesis, "--hw", "hw-a"], json_out=True), "UL_E_DIGEST")
    # A truncated or extended image: size mismatch.
    for other in (data[:-1], data + b"\0", b""):
        assert_rejected(run_cli(["verify", "--bundle", bundle, "--image", ctx.image(other),
                                 "--genesis", genesis, "--hw", "hw-a"]), "UL_E_SIZE")
    # A bundle with a flipped byte is rejected.
    raw = bytearray(bundle.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    flipped = tmp_path / "flipped.cbor"
    flipped.write_bytes(bytes(raw))
    r = run_cli(verify + [flipped])
    assert r.rc == 1 and r.error_name, r


def test_proof_at_every_past_height(ctx):
    """`query proof ID --height H` works for every committed H, after the state entries it shows
    (the class's installable list, the revocation) have changed since: each past state root still
    proves what it held then, and the device judges each bundle by it."""
    key, ns = ctx.publisher()
    rid1, _, h1 = ctx.publish_ok(ns, 1, key)
    rid2, _, h2 = ctx.publish_ok(ns, 2, key)
    r = ctx.cli("revoke", rid2, "--reason", "recalled", "--key", key, json_out=True)
    assert r.rc == 0 and r.json["committed"] is True, r
    h3 = r.json["height"]
    head = ctx.node.status()["height"]
    assert h1 < h2 < h3 <= head, (h1, h2, h3, head)

    def proof(rid, h):
        p = ctx.cli("query", "proof", rid, "--height", str(h), json_out=True)
        assert p.rc == 0 and p.json["height"] == h and p.json["verified"] is True, (h, p)
        return p.json["device_verdict"]

    # seq 1 is the newest installable until seq 2, and again once seq 2 is revoked.
    for h in range(h1, head + 1):
        assert proof(rid1, h) == ("UL_E_NOT_INSTALLABLE" if h2 <= h < h3 else "ok"), h
    for h in range(h2, head + 1):
        assert proof(rid2, h) == ("ok" if h < h3 else "UL_E_REVOKED"), h


def test_audit_node_and_data_dir(node_factory, tmp_path):
    from conftest import Ctx
    node = node_factory("auditnode")
    c = Ctx(node, tmp_path / "w")
    key, ns = c.publisher()
    for seq in range(1, 4):
        c.publish_ok(ns, seq, key, hardware=["x", "y"])
    st = node.status()
    a = node.cli("audit", json_out=True)
    assert a.rc == 0, a
    assert a.json["ok"] is True and a.json["height"] == st["height"] == 4
    assert a.json["releases"] == st["log_size"] == 3
    assert a.json["head"] == st["head"]["hash"] and a.json["log_root"] == st["head"]["log_root"]
    ah = node.cli("audit")
    assert ah.rc == 0 and "audit passed" in ah.out, ah
    assert node.stop() == 0
    d = run_cli(["audit", "--data", node.data], json_out=True)
    assert d.rc == 0, d
    assert d.json["head"] == st["head"]["hash"] and d.json["height"] == 4
    assert d.json["releases"] == 3
    # The data dir survives a clean restart unchanged.
    node.start()
    st2 = node.status()
    assert (st2["height"], st2["log_size"], st2["head"]["hash"]) == (4, 3, st["head"]["hash"])


def test_export_layout(ctx, tmp_path):
    key, ns = ctx.publisher()
    images = tmp_path / "images"
    images.mkdir()
    # Release 1 for classes a and b, release 2 for a only: latest of b stays release 1.
    d1, d2 = os.urandom(3000), os.urandom(4000)
    (images / "fw-1.bin").write_bytes(d1)
    (images / "fw-2.bin").write_bytes(d2)
    id1, _, _ = ctx.publish_ok(ns, 1, key, image=images / "fw-1.bin", hardware=["hw-a", "hw-b"])
    id2, _, _ = ctx.publish_ok(ns, 2, key, image=images / "fw-2.bin", hardware=["hw-a"])
    # Release 3's image is absent from --images: exported without it, and counted as missing.
    gone = ctx.image(os.urandom(100))
    id3, _, _ = ctx.publish_ok(ns, 3, key, image=gone, hardware=["hw-c"])
    out = tmp_path / "mirror"
    r = ctx.cli("export", "--out", out, "--images", images, json_out=True)
    assert r.rc == 0, r
    st = ctx.node.status()
    assert r.json["releases"] == 3 and r.json["missing_images"] == 1
    assert r.json["height"] == st["height"]
    assert (out / "genesis.cbor").read_bytes() == ctx.node.genesis.read_bytes()
    index = json.loads((out / "index.json").read_text())
    assert index["chain_id"] == st["chain_id"] and index["release_count"] == 3
    assert [x["id"] for x in index["releases"]] == [id1, id2, id3]
    assert [x["image_exported"] for x in index["releases"]] == [True, True, False]
    assert {hw: x["id"] for hw, x in index["latest"][ns].items()} == {
        "hw-a": id2, "hw-b": id1, "hw-c": id3}
    base = out / ns
    for seq, rid in ((1, id1), (2, id2), (3, id3)):
        rel = json.loads((base / "releases" / str(seq) / "release.json").read_text())
        assert rel["id"] == rid and rel["sequence"] == seq
    assert not list(base.glob("releases/*/bundle.cbor"))  # only the latest per class is served
    # Images by digest, in one folder for the whole mirror.
    for data in (d1, d2):
        assert (out / "images" / hashlib.sha256(data).hexdigest()).read_bytes() == data
    assert not (out / "images" / sha256_file(gone)).exists()
    # hw/<class>/latest.cbor is the bundle of the newest installable release for the class,
    # and a device of that class accepts it with the image.
    for hw, seq, data in (("hw-a", 2, d2), ("hw-b", 1, d1)):
        img = out / "images" / hashlib.sha256(data).hexdigest()
        v = run_cli(["verify", "--bundle", base / "hw" / hw / "latest.cbor", "--image", img,
                     "--genesis", out / "genesis.cbor", "--hw", hw], json_out=True)
        assert v.rc == 0 and v.json["sequence"] == seq, v
    assert (base / "hw" / "hw-c" / "latest.cbor").exists()
    # Human output.
    r2 = ctx.cli("export", "--out", tmp_path / "mirror2", "--images", images)
    assert r2.rc == 0 and "exported 3 releases" in r2.out, r2


def test_json_errors_are_objects(ctx):
    r = ctx.cli("query", "release", "ab" * 32, json_out=True)
    assert r.rc == 1
    e = r.json["error"]
    assert e["name"] == "UL_E_NOT_FOUND" and e["code"] == ERR_NUM["UL_E_NOT_FOUND"]
    assert e["message"] and e["context"]
    # A node that is not there: a network error, not a hang.
    r = run_cli(["query", "status"], node="tcp://127.0.0.1:1", timeout_ms=300, json_out=True)
    assert r.rc == 1 and r.json["error"]["name"] in ("UL_E_TIMEOUT", "UL_E_NET"), r


def test_empty_image(ctx, tmp_path):
    key, ns = ctx.publisher()
    rid, image, _ = ctx.publish_ok(ns, 1, key, image=ctx.image(b""))
    rel = ctx.cli("query", "release", rid, json_out=True).json
    assert rel["image"]["size"] == 0
    assert rel["image"]["sha256"] == hashlib.sha256(b"").hexdigest()
    b = tmp_path / "b.cbor"
    assert ctx.cli("query", "proof", rid, "--out", b).rc == 0
    assert run_cli(["verify", "--bundle", b, "--image", image, "--genesis",
                    ctx.node.genesis, "--hw", "hw-a"]).rc == 0
    assert_rejected(run_cli(["verify", "--bundle", b, "--image", ctx.image(b"x"), "--genesis",
                             ctx.node.genesis, "--hw", "hw-a"]), "UL_E_SIZE")


def test_heartbeat_blocks(node_factory):
    """With a short heartbeat, empty blocks keep coming and the chain still audits."""
    import time
    node = node_factory("hb", heartbeat_ms=50)
    deadline = time.monotonic() + 10
    while node.status()["height"] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    st = node.status()
    assert st["height"] >= 4 and st["log_size"] == 0, st
    a = node.cli("audit", json_out=True)
    assert a.rc == 0 and a.json["height"] >= 4 and a.json["releases"] == 0, a
    b = node.cli("query", "block", "2", json_out=True).json
    assert b["txs"] == []


def test_export_escapes_labels(ctx, tmp_path):
    """Hardware classes become path components with anything unsafe escaped: every file the
    export writes stays under --out."""
    key, ns = ctx.publisher()
    ctx.publish_ok(ns, 1, key, hardware=["../../hw", "a b", ".hidden", "x/y"])
    root = tmp_path / "deep" / "er"
    out = root / "mirror"
    r = ctx.cli("export", "--out", out, json_out=True)
    assert r.rc == 0, r
    written = [p for p in root.rglob("*") if p.is_file()]
    assert written and all(out in p.parents for p in written), written
    hw_dirs = sorted(p.name for p in (out / ns / "hw").iterdir())
    assert len(hw_dirs) == 4 and not any(n.startswith(".") or "/" in n for n in hw_dirs), hw_dirs
