"""Bad inputs are rejected with their own error name, a non-zero exit, and no change to the
chain (height, release-log size, head hash and pending count compared before and after).

Most cases go through the CLI; replays and hand-made transactions go to the node's query
endpoint raw (nnreq.py and bip340.py call the system libnanomsg and libsecp256k1)."""
import concurrent.futures
import json
import os
import random
import subprocess

import pytest

import bip340
import nnreq
from cbor_util import Raw, dumps, loads, split_map
from conftest import (ERR_NAME, ERR_NUM, MAX_HW, MAX_LABEL_LEN, UPLEDGERD, Ctx, Node,
                      assert_rejected, chain_state, free_port, run_cli, unchanged)


@pytest.fixture(scope="module")
def rnode(tmp_path_factory):
    d = tmp_path_factory.mktemp("reject")
    n = Node(d / "data", d / "node.log").start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def rctx(rnode, tmp_path_factory):
    return Ctx(rnode, tmp_path_factory.mktemp("reject-work"))


@pytest.fixture(scope="module")
def pub(rctx):
    """A publisher key, its namespace, and one committed release (sequence 10, hw-a + hw-b)."""
    key, ns = rctx.publisher()
    rid, image, height = rctx.publish_ok(ns, 10, key, hardware=["hw-a", "hw-b"])
    return {"key": key, "ns": ns, "id": rid, "image": image, "height": height}


def _secret(key):
    return bytes.fromhex(json.loads(key.path.read_text())["secret"])


def _chain_id(node):
    return bytes.fromhex(node.status()["chain_id"])


def sign_tx(key, kind, body, tag, chain_id):
    pk = bytes.fromhex(key.pubkey)
    sig = bip340.sign(_secret(key), bip340.upledger_digest(tag, chain_id, body))
    return dumps({1: kind, 2: Raw(body), 3: [[pk, sig]]})


def register_body(key, ns, nonce):
    """{1: ns, 2: nonce, 3: policy}: the CLI's default contract for one key (owners = publishers
    = [key], threshold 1; no roles or requirements; any hardware; revokers owners and
    publishers, sorted byte-wise; no end of support)."""
    pk = bytes.fromhex(key.pubkey)
    keyset = {1: [pk], 2: 1}
    policy = {1: keyset, 2: keyset, 3: [], 4: [], 5: [], 6: ["owners", "publishers"]}
    return dumps({1: ns, 2: nonce, 3: policy})


def submit_one(node, tx):
    err, results = nnreq.submit(node.endpoint, [tx])
    assert err == 0, "request rejected as a whole: %s" % ERR_NAME.get(err, err)
    assert len(results) == 1
    return ERR_NAME.get(results[0][0], results[0][0])


# ---- manifests ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '{"namespace": "a/b", ',                      # truncated JSON
    "not json at all",
    "",
    '["namespace", "a/b"]',                       # JSON, not an object
    '{"namespace": "a/b", "namespace": "a/c"}',   # duplicate key
])
def test_malformed_manifest(rctx, pub, text):
    with unchanged(rctx.node):
        r = rctx.publish(rctx.manifest(None, None, raw=text), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_SCHEMA_FIELD")


def test_manifest_unknown_field(rctx, pub):
    with unchanged(rctx.node):
        m = rctx.manifest(pub["ns"], 20, sha256="00" * 32)
        r = rctx.publish(m, pub["image"], pub["key"])
        assert_rejected(r, "UL_E_SCHEMA_FIELD")
        assert "sha256" in r.err, r


@pytest.mark.parametrize("field", ["namespace", "provider", "version", "sequence", "hardware",
                                   "kind"])
def test_manifest_missing_required_field(rctx, pub, field):
    with unchanged(rctx.node):
        r = rctx.publish(rctx.manifest(pub["ns"], 20, drop=[field]), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_SCHEMA_FIELD")
        assert field in r.err, r


@pytest.mark.parametrize("fields", [
    {"sequence": -1}, {"sequence": "20"}, {"sequence": 1.5},
    {"kind": "urgent"}, {"hardware": "hw-a"}, {"hardware": []}, {"hardware": ["hw-a", "hw-a"]},
    {"hardware": [7]}, {"version": ""}, {"version": 3}, {"provider": "tab\there"},
    {"release_time": "yesterday"}, {"precursor": "zz"}, {"links": "http://x"},
    {"dependencies": [{"namespace": "a/b"}]},
])
def test_manifest_invalid_field(rctx, pub, fields):
    with unchanged(rctx.node):
        r = rctx.publish(rctx.manifest(pub["ns"], 20, **fields), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_SCHEMA_FIELD")


@pytest.mark.parametrize("fields", [
    {"version": "v" * (MAX_LABEL_LEN + 1)},
    {"provider": "p" * (MAX_LABEL_LEN + 1)},
    {"file": "f" * (MAX_LABEL_LEN + 1)},
    {"hardware": ["h" * (MAX_LABEL_LEN + 1)]},
    {"hardware": ["hw-%d" % i for i in range(MAX_HW + 1)]},
    {"links": ["https://m%d.example/x" % i for i in range(9)]},
    {"links": ["https://m.example/" + "x" * 512]},
    {"dependencies": [{"namespace": "d%d/x" % i, "version": ">=1"} for i in range(17)]},
    {"dependencies": [{"namespace": "d/x", "version": "v" * (MAX_LABEL_LEN + 1)}]},
], ids=["version129", "provider129", "file129", "hwlabel129", "hw17", "links9", "link513",
        "deps17", "depversion129"])
def test_manifest_over_limit(rctx, pub, fields):
    with unchanged(rctx.node):
        r = rctx.publish(rctx.manifest(pub["ns"], 20, **fields), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_LIMIT")


def test_manifest_at_limit_is_accepted(rctx, pub):
    """The bound itself is fine: 128-byte labels, 16 hardware classes."""
    before = chain_state(rctx.node)
    rid, _, _ = rctx.publish_ok(pub["ns"], 11, pub["key"], version="v" * MAX_LABEL_LEN,
                                provider="p" * MAX_LABEL_LEN, file="f" * MAX_LABEL_LEN,
                                hardware=["x" * MAX_LABEL_LEN] +
                                ["hw-%d" % i for i in range(MAX_HW - 1)])
    rel = rctx.cli("query", "release", rid, json_out=True).json
    assert rel["version"] == "v" * MAX_LABEL_LEN and len(rel["hardware"]) == MAX_HW
    assert chain_state(rctx.node)["log_size"] == before["log_size"] + 1


def test_manifest_file_size_bound(rctx):
    """UL_MAX_JSON_BYTES (256 KiB): a manifest of exactly that size is read, one byte more is
    refused before parsing."""
    key, ns = rctx.publisher()
    m = json.dumps({"namespace": ns, "provider": "p", "version": "v", "sequence": 1,
                    "hardware": ["h"], "kind": "security"})
    path = rctx.tmp / "big-manifest.json"
    path.write_text(m + " " * (256 * 1024 + 1 - len(m)))
    with unchanged(rctx.node):
        assert_rejected(rctx.publish(path, rctx.image(), key), "UL_E_LIMIT")
    path.write_text(m + " " * (256 * 1024 - len(m)))
    r = rctx.publish(path, rctx.image(), key)
    assert r.rc == 0 and r.json["committed"], r


def test_manifest_every_field_at_max(rctx):
    key, ns = rctx.publisher()
    fields = dict(
        version="v" * MAX_LABEL_LEN, provider="p" * MAX_LABEL_LEN, file="f" * MAX_LABEL_LEN,
        links=[("https://m%d.example/" % i).ljust(512, "x") for i in range(8)],
        hardware=[("h%02d" % i).ljust(MAX_LABEL_LEN, "x") for i in range(MAX_HW)],
        dependencies=[{"namespace": ("d%02d/" % i).ljust(128, "n"), "version": "v" * 128}
                      for i in range(16)],
        precursor="ab" * 32)
    with unchanged(rctx.node):
        r = rctx.publish(rctx.manifest(ns, 1, **fields), rctx.image(), key)
        assert_rejected(r, "UL_E_LIMIT")


# ---- namespaces ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Acme/fw", "acmefw", "acme/fw/x", "/fw", "acme/", "ac me/fw",
                                  "acme/f\u00fc", "a/", "-"])
def test_invalid_namespace_name(rctx, pub, name):
    with unchanged(rctx.node):
        r = rctx.cli("namespace", "register", name, "--key", pub["key"], json_out=True)
        assert_rejected(r, "UL_E_NS_NAME")
        r = rctx.publish(rctx.manifest(name, 1), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_NS_NAME")


def test_namespace_register_over_limit(rctx, pub):
    name = "a/" + "b" * 127  # 129 bytes
    with unchanged(rctx.node):
        r = rctx.cli("namespace", "register", name, "--key", pub["key"], json_out=True)
        assert_rejected(r, "UL_E_LIMIT")


def test_namespace_over_limit_in_manifest_and_raw(rctx, pub):
    name = "a/" + "b" * 127  # 129 bytes
    with unchanged(rctx.node):
        assert_rejected(rctx.publish(rctx.manifest(name, 1), pub["image"], pub["key"]),
                        "UL_E_LIMIT")
        nonce = nnreq.nonce(rctx.node.endpoint, bytes.fromhex(pub["key"].pubkey)) + 1
        tx = sign_tx(pub["key"], 1, register_body(pub["key"], name, nonce), bip340.TAG_TX,
                     _chain_id(rctx.node))
        assert submit_one(rctx.node, tx) == "UL_E_LIMIT"


def test_namespace_at_limit_is_accepted(rctx):
    key = rctx.keygen()
    name = "a/" + "b" * 126  # 128 bytes
    rctx.register(name, key)
    assert rctx.cli("namespace", "show", name, json_out=True).json["namespace"] == name


@pytest.mark.parametrize("name", ["../..", "a/..", "./x", ".a/.b", "_/_", "a/-b", "-a/b"])
def test_namespace_part_must_start_alphanumeric(rctx, pub, name):
    """Each part starts with [a-z0-9] (schema/manifest.md): no "." or ".." parts, nothing that
    looks like an option; checked by the CLI, the manifest path and the node."""
    key = rctx.keygen()
    with unchanged(rctx.node):
        if not name.startswith("-"):  # would be parsed as an option
            r = rctx.cli("namespace", "register", name, "--key", key, json_out=True)
            assert_rejected(r, "UL_E_NS_NAME")
        assert_rejected(rctx.publish(rctx.manifest(name, 1), pub["image"], pub["key"]),
                        "UL_E_NS_NAME")
        tx = sign_tx(key, 1, register_body(key, name, 1), bip340.TAG_TX, _chain_id(rctx.node))
        assert submit_one(rctx.node, tx) == "UL_E_NS_NAME"


def test_export_never_writes_outside_out_dir(node_factory, tmp_path):
    c = Ctx(node_factory("export-node"), tmp_path / "work")
    key = c.keygen()
    r = c.cli("namespace", "register", "../..", "--key", key, json_out=True)
    if r.rc != 0:  # the name is refused: the export cannot be led outside by it
        assert_rejected(r, "UL_E_NS_NAME")
        return
    c.publish_ok("../..", 1, key)
    scope = tmp_path / "exp"
    out = scope / "a" / "b" / "mirror"
    e = c.cli("export", "--out", out, json_out=True)
    written = [p for p in scope.rglob("*") if p.is_file()]
    outside = [str(p) for p in written if out not in p.parents]
    assert not outside, "export to %s wrote %s (%r)" % (out, outside, e)


def test_unknown_namespace(rctx, pub):
    with unchanged(rctx.node):
        r = rctx.publish(rctx.manifest("nobody/fw", 1), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_NS_UNKNOWN")


def test_namespace_already_registered(rctx, pub):
    with unchanged(rctx.node):
        r = rctx.cli("namespace", "register", pub["ns"], "--key", pub["key"], json_out=True)
        assert_rejected(r, "UL_E_NS_EXISTS")
        other = rctx.keygen()
        r = rctx.cli("namespace", "register", pub["ns"], "--key", other, json_out=True)
        assert_rejected(r, "UL_E_NS_EXISTS")


def test_register_signed_by_non_owner(rctx):
    signer, owner = rctx.keygen(), rctx.keygen()
    ns = rctx.new_ns()
    with unchanged(rctx.node):
        r = rctx.cli("namespace", "register", ns, "--key", signer, "--owner", owner,
                     json_out=True)
        assert_rejected(r, "UL_E_NOT_OWNER")
    assert_rejected(rctx.cli("namespace", "show", ns), "UL_E_NOT_FOUND")


def test_publish_by_non_publisher(rctx, pub):
    stranger = rctx.keygen()
    owner, publisher = rctx.keygen(), rctx.keygen()
    ns = rctx.new_ns()
    rctx.register(ns, owner, publishers=[publisher])
    with unchanged(rctx.node):
        # A key with no role at all, and an owner that is not a publisher.
        for key in (stranger, owner):
            r = rctx.publish(rctx.manifest(ns, 1), pub["image"], key)
            assert_rejected(r, "UL_E_NOT_PUBLISHER")
        # A publisher of another namespace.
        r = rctx.publish(rctx.manifest(ns, 1), pub["image"], pub["key"])
        assert_rejected(r, "UL_E_NOT_PUBLISHER")
    rctx.publish_ok(ns, 1, publisher)


# ---- replays and duplicates ----------------------------------------------------------------

def test_duplicate_release(rctx, pub):
    """The same manifest (fixed release_time) and image twice: same record, same release id."""
    m = rctx.manifest(pub["ns"], 30, hardware=["dup-hw"], release_time=1700000000)
    image = rctx.image(b"same image bytes")
    first = rctx.publish(m, image, pub["key"])
    assert first.rc == 0, first
    with unchanged(rctx.node):
        again = rctx.publish(m, image, pub["key"])
        assert_rejected(again, "UL_E_DUPLICATE")


def test_raw_replay_of_committed_transactions(rctx, pub):
    """Submit the exact bytes of already committed transactions a second time."""
    key, ns = rctx.publisher()
    reg_height = rctx.cli("namespace", "show", ns, json_out=True).json["height"]
    rid, _, pub_height = rctx.publish_ok(ns, 1, key)
    (reg_tx,) = nnreq.block_txs(rctx.node.endpoint, reg_height)
    (pub_tx,) = nnreq.block_txs(rctx.node.endpoint, pub_height)
    # The hand-made register body used below is byte for byte the one the CLI signs.
    assert bytes(split_map(reg_tx)[2]) == register_body(key, ns, 1)
    with unchanged(rctx.node):
        assert submit_one(rctx.node, pub_tx) == "UL_E_DUPLICATE"
        assert submit_one(rctx.node, reg_tx) == "UL_E_NS_EXISTS"
        # Both in one request, twice over.
        err, res = nnreq.submit(rctx.node.endpoint, [pub_tx, reg_tx, pub_tx])
        assert err == 0
        assert [ERR_NAME[e] for e, _ in res] == ["UL_E_DUPLICATE", "UL_E_NS_EXISTS",
                                                 "UL_E_DUPLICATE"]
    assert rctx.cli("query", "release", rid).rc == 0


def test_raw_replay_within_one_request(rctx):
    """A fresh transaction twice in the same request: pooled once (the copy gets the same id, as a
    client's retry would), executed once."""
    key = rctx.keygen()
    ns = rctx.new_ns()
    tx = sign_tx(key, 1, register_body(key, ns, 1), bip340.TAG_TX, _chain_id(rctx.node))
    before = chain_state(rctx.node)
    err, res = nnreq.submit(rctx.node.endpoint, [tx, tx])
    assert err == 0
    assert [ERR_NAME[e] for e, _ in res] == ["UL_OK", "UL_OK"] and res[0][1] == res[1][1], res
    ns_show = None
    for _ in range(200):  # committed within MAX_BATCH_WAIT_MS; bounded poll
        ns_show = rctx.cli("namespace", "show", ns, json_out=True)
        if ns_show.rc == 0:
            break
    assert ns_show.rc == 0, ns_show
    after = chain_state(rctx.node)
    assert after["height"] == before["height"] + 1 and after["log_size"] == before["log_size"]


def test_stale_nonce_is_a_replay(rctx):
    """A register for a new namespace whose nonce is not above the signer's last one."""
    key, ns = rctx.publisher()  # nonce 1 used
    cid = _chain_id(rctx.node)
    assert nnreq.nonce(rctx.node.endpoint, bytes.fromhex(key.pubkey)) == 1
    with unchanged(rctx.node):
        for nonce in (0, 1):
            tx = sign_tx(key, 1, register_body(key, rctx.new_ns(), nonce), bip340.TAG_TX, cid)
            assert submit_one(rctx.node, tx) == "UL_E_REPLAY"
    # The next nonce is fine (the hand-made transaction itself is valid).
    ns2 = rctx.new_ns()
    tx = sign_tx(key, 1, register_body(key, ns2, 2), bip340.TAG_TX, cid)
    assert submit_one(rctx.node, tx) == "UL_OK"


def test_signature_for_another_chain_or_domain(rctx):
    key = rctx.keygen()
    cid = _chain_id(rctx.node)
    body = register_body(key, rctx.new_ns(), 1)
    with unchanged(rctx.node):
        other_chain = bytes(b ^ 0xFF for b in cid)
        assert submit_one(rctx.node, sign_tx(key, 1, body, bip340.TAG_TX, other_chain)) == \
            "UL_E_SIG"
        # Signed as a release (another domain), submitted as a register.
        assert submit_one(rctx.node, sign_tx(key, 1, body, bip340.TAG_RELEASE, cid)) == "UL_E_SIG"
        good = loads(sign_tx(key, 1, body, bip340.TAG_TX, cid))
        pk, sig = good[3][0]
        flipped = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
        tx = dumps({1: 1, 2: Raw(body), 3: [[pk, flipped]]})
        assert submit_one(rctx.node, tx) == "UL_E_SIG"


def test_raw_malformed_transactions(rctx):
    key = rctx.keygen()
    cid = _chain_id(rctx.node)
    body = register_body(key, rctx.new_ns(), 1)
    good = sign_tx(key, 1, body, bip340.TAG_TX, cid)
    pk, sig = loads(good)[3][0]
    with unchanged(rctx.node):
        assert submit_one(rctx.node, sign_tx(key, 200, body, bip340.TAG_TX, cid)) == "UL_E_TX_KIND"
        # Over UL_MAX_TX_BYTES (9216).
        big = dumps({1: 1, 2: Raw(dumps({1: "a/b", 5: "x" * 10000})), 3: [[pk, sig]]})
        assert submit_one(rctx.node, big) == "UL_E_LIMIT"
        assert submit_one(rctx.node, dumps({1: 1, 2: Raw(body), 3: []})) == \
            "UL_E_SCHEMA_FIELD"
        assert submit_one(rctx.node, dumps({1: 1, 2: Raw(body)})) == \
            "UL_E_SCHEMA_FIELD"
        assert submit_one(rctx.node, dumps({1: 1, 2: Raw(body), 3: [[pk, sig]],
                                            4: 0})) == "UL_E_SCHEMA_FIELD"
        # Non-canonical bytes (an integer in a longer form than needed; map keys out of order)
        # are refused, whether the request decoder or the transaction decoder sees them first.
        noncanon = [
            good.replace(b"\xa3\x01\x01", b"\xa3\x01\x18\x01", 1),
            b"\xa3\x02" + body + b"\x01\x01\x03" + dumps([[pk, sig]]),
        ]
        for tx in noncanon:
            err, res = nnreq.submit(rctx.node.endpoint, [tx])
            codes = [ERR_NAME[err]] if err else [ERR_NAME[e] for e, _ in res]
            assert codes in (["UL_E_PROTOCOL"], ["UL_E_CBOR_NONCANONICAL"]), codes
        # Not a request at all.
        with nnreq.ReqClient(rctx.node.endpoint) as c:
            rep = loads(c.call_raw(b"\xff\x00garbage"))
        assert rep[0] == ERR_NUM["UL_E_PROTOCOL"]
        with nnreq.ReqClient(rctx.node.endpoint) as c:
            rep = loads(c.call({0: 99}))
        assert rep[0] == ERR_NUM["UL_E_PROTOCOL"]


# ---- sequences -------------------------------------------------------------------------------

def test_sequence_must_increase(rctx):
    key, ns = rctx.publisher()
    rctx.publish_ok(ns, 5, key, hardware=["a", "b"])
    rctx.publish_ok(ns, 7, key, hardware=["b"])
    with unchanged(rctx.node):
        for seq, hw in ((5, ["a"]), (4, ["a"]), (0, ["a"]),      # equal, lower, zero
                        (7, ["b"]), (6, ["b"]),
                        (6, ["a", "b"]),                          # above a's 5, equal... below b
                        (7, ["a", "b"]),                          # above a, equal for b
                        (7, ["new-hw", "b"])):                    # new class, b not above 7
            r = rctx.publish(rctx.manifest(ns, seq, hardware=hw), rctx.image(), key)
            assert_rejected(r, "UL_E_SEQUENCE")
    # Sequences are per hardware class: 6 is above a's 5 even though b is at 7.
    rctx.publish_ok(ns, 6, key, hardware=["a"])
    rctx.publish_ok(ns, 1, key, hardware=["c"])


# ---- files -----------------------------------------------------------------------------------

def test_image_missing_or_not_a_file(rctx, pub, tmp_path):
    with unchanged(rctx.node):
        for image in (tmp_path / "no-such-image.bin", tmp_path):
            r = rctx.publish(rctx.manifest(pub["ns"], 40), image, pub["key"])
            assert_rejected(r, "UL_E_IO")


def test_manifest_or_key_missing(rctx, pub, tmp_path):
    with unchanged(rctx.node):
        assert_rejected(rctx.publish(tmp_path / "nope.json", pub["image"], pub["key"]), "UL_E_IO")
        assert_rejected(rctx.publish(tmp_path, pub["image"], pub["key"]), "UL_E_IO")
        r = rctx.cli("publish", rctx.manifest(pub["ns"], 40), "--image", pub["image"], "--key",
                     tmp_path / "nokey", json_out=True)
        assert_rejected(r, "UL_E_IO")
        bad = tmp_path / "bad.key"
        bad.write_text('{"format": "upledger-key/1"}')
        r = rctx.cli("publish", rctx.manifest(pub["ns"], 40), "--image", pub["image"], "--key",
                     bad, json_out=True)
        assert_rejected(r, "UL_E_SCHEMA_FIELD")


# ---- bundles and genesis files for verify ---------------------------------------------------

@pytest.fixture(scope="module")
def proof(rctx, pub, tmp_path_factory):
    d = tmp_path_factory.mktemp("proof")
    b = d / "bundle.cbor"
    r = rctx.cli("query", "proof", pub["id"], "--out", b)
    assert r.rc == 0, r
    return {"bundle": b, "raw": b.read_bytes(), "dir": d}


def _verify(rctx, pub, bundle, genesis=None):
    return run_cli(["verify", "--bundle", bundle, "--image", pub["image"], "--genesis",
                    genesis or rctx.node.genesis, "--hw", "hw-a"], json_out=True)


@pytest.mark.parametrize("case,want", [
    # A bundle (version 2) is a stream of sections: one that stops early is truncated.
    ("truncated1", "UL_E_TRUNCATED"),
    ("half", "UL_E_TRUNCATED"),
    ("empty", "UL_E_TRUNCATED"),
    ("trailing", "UL_E_CBOR_TRAILING"),
    ("garbage", "UL_E_CBOR_MALFORMED"),
])
def test_corrupt_bundle(rctx, pub, proof, case, want):
    raw = proof["raw"]
    data = {"truncated1": raw[:-1], "half": raw[:len(raw) // 2], "empty": b"",
            "trailing": raw + b"\x00", "garbage": b"\xff" * 16}[case]
    f = proof["dir"] / (case + ".cbor")
    f.write_bytes(data)
    assert_rejected(_verify(rctx, pub, f), want)


def test_every_flipped_bundle_byte_is_rejected(rctx, pub, proof):
    """Flip one bit in each byte of the bundle in turn (a seeded bit per byte): the device-side
    verifier must refuse every variant, with a named error."""
    raw = proof["raw"]
    seed = int(os.environ.get("UL_FLIP_SEED", "1234"))
    rng = random.Random(seed)
    bits = [1 << rng.randrange(8) for _ in raw]

    def one(i):
        data = bytearray(raw)
        data[i] ^= bits[i]
        f = proof["dir"] / ("flip-%d.cbor" % i)
        f.write_bytes(bytes(data))
        r = _verify(rctx, pub, f)
        f.unlink()
        return i, r

    bad = []
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for i, r in ex.map(one, range(len(raw))):
            if r.rc != 1 or not r.error_name or r.error_name not in ERR_NUM:
                bad.append((i, bits[i], r))
    assert not bad, "seed %d: accepted or unnamed failures: %s" % (seed, bad[:5])


@pytest.mark.parametrize("case,want", [
    ("reserved", "UL_E_CBOR_MALFORMED"),
    ("empty", "UL_E_CBOR_MALFORMED"),
    ("text", "UL_E_CBOR_TYPE"),
    ("int", "UL_E_CBOR_TYPE"),
    ("trailing", "UL_E_CBOR_TRAILING"),
])
def test_bad_genesis_file(rctx, pub, proof, case, want):
    real = rctx.node.genesis.read_bytes()
    data = {"reserved": b"\x1c\x00", "empty": b"", "text": b"hello, not a genesis\n",
            "int": b"\x01", "trailing": real + b"\x00"}[case]
    g = proof["dir"] / ("genesis-%s.cbor" % case)
    g.write_bytes(data)
    assert_rejected(_verify(rctx, pub, proof["bundle"], g), want)


def test_genesis_of_another_chain(rctx, pub, proof):
    # Another validator set is another genesis, hence another chain id: the bundle's first
    # section names the chain, before any commit is looked at. (A commit by the wrong set under
    # the right chain id is the client unit tests' case: no genesis file can make it.)
    k = rctx.keygen()
    g = proof["dir"] / "other-valset.cbor"
    assert run_cli(["genesis", "--out", g, "--validator", k]).rc == 0
    assert_rejected(_verify(rctx, pub, proof["bundle"], g), "UL_E_CHAIN_ID")
    # The same validator set but another chain (name, time): another chain id.
    dev = loads(rctx.node.genesis.read_bytes())
    (val_pk, power), = dev[4]
    g2 = proof["dir"] / "other-chain.cbor"
    assert run_cli(["genesis", "--out", g2, "--validator", "%s:%d" % (val_pk.hex(), power),
                    "--name", "another-net", "--time-ms", str(dev[3] + 1)]).rc == 0
    assert_rejected(_verify(rctx, pub, proof["bundle"], g2), "UL_E_CHAIN_ID")


# ---- the node's data directory ----------------------------------------------------------------

def test_data_dir_in_use(rnode):
    with unchanged(rnode):
        p = subprocess.run([str(UPLEDGERD), "--dev", "--data", str(rnode.data), "--listen",
                            "tcp://127.0.0.1:%d" % free_port()],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode != 0
        assert "in use" in p.stderr, p.stderr


def test_audit_of_running_nodes_data_dir(rnode):
    assert_rejected(run_cli(["audit", "--data", rnode.data], json_out=True), "UL_E_LOCKED")


def test_audit_of_missing_data_dir(tmp_path):
    r = run_cli(["audit", "--data", tmp_path / "nothing"], json_out=True)
    assert r.rc == 1 and r.error_name, r
