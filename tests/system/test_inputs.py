"""Input hardening of the CLI and of transaction validation (issue 10, items 3, 4, 7, 8, 9, 23):
file arguments that are not regular files, file and JSON errors that name the file and the
cause, labels past their bound, unsigned 64-bit values printed exactly, export of images whose
size does not match and of revoked releases, and dependency cycles. Every refusal leaves the
chain unchanged (height, log size, head hash, pending)."""
import hashlib
import json
import os
import subprocess
import time

import pytest

import bip340
import nnreq
from cbor_util import Raw, dumps
from conftest import (ERR_NAME, MAX_LABEL_LEN, UPLEDGER, Ctx, Node, assert_rejected, cli_env,
                      run_cli, unchanged)

U64_MAX = 2**64 - 1
MAX_RELEASE_TIME = 253402300799           # 9999-12-31T23:59:59Z (UL_MAX_RELEASE_TIME)
MAX_RELEASE_SIZE = 64 << 30               # UL_MAX_IMAGE_BYTES
FIFO_TIMEOUT = 10                         # seconds: a CLI that blocks on a FIFO is killed


@pytest.fixture(scope="module")
def inode(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    n = Node(d / "data", d / "node.log").start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def ictx(inode, tmp_path_factory):
    return Ctx(inode, tmp_path_factory.mktemp("inputs-work"))


@pytest.fixture(scope="module")
def pub(ictx):
    key, ns = ictx.publisher()
    return {"key": key, "ns": ns}


def one_line(r):
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r
    return lines[0]


# ---- item 8: file arguments read whole must be regular files -----------------------------

def _fifo(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _run_bounded(ctx, *args, env=None):
    """Runs the CLI with a timeout: a CLI that blocks opening a FIFO fails the test, not hangs."""
    try:
        return run_cli(args, node=ctx.node.endpoint, json_out=True, env=env,
                       timeout=FIFO_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("upledger %s blocked on a FIFO for %ss" % (" ".join(map(str, args)),
                                                               FIFO_TIMEOUT))


def test_fifo_manifest_is_refused(ictx, pub, tmp_path):
    fifo = _fifo(tmp_path, "manifest.json")
    with unchanged(ictx.node):
        r = _run_bounded(ictx, "publish", fifo, "--image", ictx.image(), "--key", pub["key"])
        assert_rejected(r, "UL_E_IO")
        line = one_line(r)
        assert str(fifo) in line and "not a regular file" in line, r


def test_fifo_policy_key_and_class_key_are_refused(ictx, pub, tmp_path):
    fifo = _fifo(tmp_path, "input")
    m = ictx.manifest(pub["ns"], 1)
    cases = [
        ("namespace", "register", ictx.new_ns(), "--key", pub["key"], "--policy", fifo),
        ("namespace", "policy", pub["ns"], "--key", pub["key"], "--policy", fifo),
        ("publish", m, "--image", ictx.image(), "--key", fifo),
        ("publish", m, "--image", ictx.image(), "--key", pub["key"], "--encrypt-for",
         "hw-a=%s" % fifo, "--encrypted-out", tmp_path / "out.enc"),
        ("publish", m, "--image", fifo, "--key", pub["key"]),
    ]
    with unchanged(ictx.node):
        for args in cases:
            r = _run_bounded(ictx, *args)
            assert_rejected(r, "UL_E_IO")
            assert str(fifo) in one_line(r), r
        # A key argument that is a keystore path is read whole too (it may also be hex).
        r = _run_bounded(ictx, "namespace", "register", ictx.new_ns(), "--key", pub["key"],
                         "--owner", fifo)
        assert_rejected(r, "UL_E_IO")
    assert not (tmp_path / "out.enc").exists()


def test_fifo_verify_inputs_are_refused(ictx, tmp_path):
    fifo = _fifo(tmp_path, "genesis.cbor")
    for args in (["--genesis", fifo, "--bundle", tmp_path / "none"],
                 ["--genesis", ictx.node.genesis, "--bundle", fifo],
                 ["--genesis", ictx.node.genesis, "--bundle", tmp_path / "none", "--class-key",
                  fifo]):
        r = _run_bounded(ictx, "verify", *args, "--image", ictx.image(), "--hw", "hw-a")
        assert_rejected(r, "UL_E_IO")
        assert "%s: not a regular file (a FIFO)" % fifo in one_line(r), r


# ---- item 23: file errors name the file and the cause; JSON errors line and column ----------

def test_missing_key_names_file_and_cause(ictx, pub, tmp_path):
    missing = tmp_path / "vendor.key"
    with unchanged(ictx.node):
        r = ictx.cli("publish", ictx.manifest(pub["ns"], 1), "--image", ictx.image(), "--key",
                     missing)
        assert_rejected(r, "UL_E_IO")
        assert "loading --key %s: No such file or directory" % missing in one_line(r), r


def test_missing_files_name_file_and_cause(ictx, pub, tmp_path):
    missing = tmp_path / "absent.json"
    cases = [
        (("publish", missing, "--image", ictx.image(), "--key", pub["key"]), "manifest"),
        (("publish", ictx.manifest(pub["ns"], 1), "--image", missing, "--key", pub["key"]),
         "image"),
        (("namespace", "register", ictx.new_ns(), "--key", pub["key"], "--policy", missing),
         "policy"),
    ]
    with unchanged(ictx.node):
        for args, what in cases:
            r = ictx.cli(*args)
            assert_rejected(r, "UL_E_IO")
            assert "%s %s: No such file or directory" % (what, missing) in one_line(r), r


def test_directory_as_manifest(ictx, pub, tmp_path):
    with unchanged(ictx.node):
        r = ictx.cli("publish", tmp_path, "--image", ictx.image(), "--key", pub["key"])
        assert_rejected(r, "UL_E_IO")
        assert "manifest %s: is a directory" % tmp_path in one_line(r), r


def test_unreadable_key_names_cause(ictx, pub, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    key = tmp_path / "locked.key"
    key.write_bytes(pub["key"].path.read_bytes())
    key.chmod(0)
    r = ictx.cli("publish", ictx.manifest(pub["ns"], 1), "--image", ictx.image(), "--key", key)
    assert_rejected(r, "UL_E_IO")
    assert "loading --key %s: Permission denied" % key in one_line(r), r


def test_manifest_json_error_names_line_and_column(ictx, pub):
    text = '{\n  "namespace": "%s",\n  "provider": "p",,\n}\n' % pub["ns"]
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(None, None, raw=text), ictx.image(), pub["key"])
        assert_rejected(r, "UL_E_SCHEMA_FIELD")
        assert "line 3, column 19" in one_line(r), r


def test_policy_json_error_names_line_and_column(ictx, pub, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text('{"owners": {"keys": ["%s"]},\n "publishers": }\n' % pub["key"].pubkey)
    with unchanged(ictx.node):
        r = ictx.cli("namespace", "register", ictx.new_ns(), "--key", pub["key"], "--policy",
                     policy)
        assert_rejected(r, "UL_E_SCHEMA_FIELD")
        line = one_line(r)
        assert "policy %s: line 2, column 16" % policy in line, r


# ---- item 7: labels past their bound are UL_E_LIMIT, whatever their size ------------------

BIG = 20000


@pytest.mark.parametrize("field,value", [
    ("provider", "p" * BIG), ("version", "v" * BIG), ("file", "f" * BIG),
    ("namespace", "a/" + "b" * BIG), ("hardware", ["h" * BIG]),
    ("links", ["https://m.example/" + "x" * BIG]),
    ("dependencies", [{"namespace": "d/" + "x" * BIG, "version": ">=1"}]),
    ("dependencies", [{"namespace": "d/x", "version": ">=" + "1" * BIG}]),
], ids=["provider", "version", "file", "namespace", "hardware", "link", "dep-ns", "dep-version"])
def test_huge_manifest_label_is_a_limit(ictx, pub, field, value):
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(pub["ns"], 1, **{field: value}), ictx.image(), pub["key"])
        assert_rejected(r, "UL_E_LIMIT")
        assert field in one_line(r), r


@pytest.mark.parametrize("field", ["provider", "version", "file"])
def test_manifest_label_at_bound_and_one_past(ictx, field):
    key, ns = ictx.publisher()
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(ns, 1, **{field: "x" * (MAX_LABEL_LEN + 1)}),
                         ictx.image(), key)
        assert_rejected(r, "UL_E_LIMIT")
    ictx.publish_ok(ns, 1, key, **{field: "x" * MAX_LABEL_LEN})


def _policy(key, **extra):
    p = {"owners": {"keys": [key.pubkey]}, "publishers": {"keys": [key.pubkey]}}
    p.update(extra)
    return p


@pytest.mark.parametrize("n", [MAX_LABEL_LEN + 1, BIG])
@pytest.mark.parametrize("what", ["role", "hardware", "revoker", "require"])
def test_policy_label_past_bound_is_a_limit(ictx, pub, tmp_path, what, n):
    name = "r" * n
    role = {name: {"keys": [pub["key"].pubkey]}}
    extra = {"role": {"roles": role},
             "hardware": {"hardware": [name]},
             "revoker": {"roles": role, "revokers": [name]},
             "require": {"roles": role, "require": {"security": [name]}}}[what]
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(_policy(pub["key"], **extra)))
    with unchanged(ictx.node):
        r = ictx.cli("namespace", "register", ictx.new_ns(), "--key", pub["key"], "--policy",
                     policy)
        assert_rejected(r, "UL_E_LIMIT")
        named = {"hardware": '"hardware"[0] is %d bytes' % n}.get(what, "role name is %d bytes" % n)
        assert named in one_line(r), r


@pytest.mark.parametrize("what", ["role", "hardware"])
def test_policy_label_at_bound_is_accepted(ictx, pub, tmp_path, what):
    name = "r" * MAX_LABEL_LEN
    extra = {"role": {"roles": {name: {"keys": [pub["key"].pubkey]}}},
             "hardware": {"hardware": [name]}}[what]
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(_policy(pub["key"], **extra)))
    r = ictx.cli("namespace", "register", ictx.new_ns(), "--key", pub["key"], "--policy", policy,
                 json_out=True)
    assert r.rc == 0, r


def test_huge_revoke_reason_is_a_limit(ictx):
    key, ns = ictx.publisher()
    rid, _, _ = ictx.publish_ok(ns, 1, key)
    with unchanged(ictx.node):
        for n in (MAX_LABEL_LEN + 1, BIG):
            r = ictx.cli("revoke", rid, "--reason", "x" * n, "--key", key, json_out=True)
            assert_rejected(r, "UL_E_LIMIT")


# ---- item 9: dependency cycles are refused at submission ----------------------------------

def test_dependency_cycles_are_refused(ictx):
    key = ictx.keygen()
    a, b, c = ictx.new_ns(), ictx.new_ns(), ictx.new_ns()
    for ns in (a, b, c):
        ictx.register(ns, key)
    dep = lambda ns: [{"namespace": ns, "version": ">=0"}]
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(a, 1, dependencies=dep(a)), ictx.image(), key)
        assert_rejected(r, "UL_E_DEP_CYCLE")
    ictx.publish_ok(a, 1, key, dependencies=dep(b))
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(b, 1, dependencies=dep(a)), ictx.image(), key)
        assert_rejected(r, "UL_E_DEP_CYCLE")                 # b -> a -> b
    ictx.publish_ok(c, 1, key, dependencies=dep(a))          # c -> a -> b
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(b, 1, dependencies=dep(c)), ictx.image(), key)
        assert_rejected(r, "UL_E_DEP_CYCLE")                 # b -> c -> a -> b
    # Once a's newest release needs nothing, b may need c (and a through it).
    ictx.publish_ok(a, 2, key)
    ictx.publish_ok(b, 1, key, dependencies=dep(c))
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(a, 3, dependencies=dep(b)), ictx.image(), key)
        assert_rejected(r, "UL_E_DEP_CYCLE")
    assert run_cli(["audit"], node=ictx.node.endpoint).rc == 0


# ---- item 3: unsigned 64-bit values print exactly; tighter bounds refused at submission ------

def _raw_release(ctx, key, ns, seq, image=b"image", size=None, time_s=1767225600, hw="hw-a"):
    """Submits a publish tx made by hand (any uint64 field) to the node; returns (verdict name,
    release id, image bytes)."""
    body = dumps({1: ns, 2: "Acme Corp", 3: time_s, 4: "1.0", 5: seq,
                  6: hashlib.sha256(image).digest(),
                  7: len(image) if size is None else size, 8: "fw.bin", 9: [], 10: [hw],
                  11: [], 12: 0})
    secret = bytes.fromhex(json.loads(key.path.read_text())["secret"])
    chain_id = bytes.fromhex(ctx.node.status()["chain_id"])
    sig = bip340.sign(secret, bip340.upledger_digest(bip340.TAG_RELEASE, chain_id, body))
    tx = dumps({1: 2, 2: Raw(body), 3: [[bytes.fromhex(key.pubkey), sig]]})
    err, results = nnreq.submit(ctx.node.endpoint, [tx])
    assert err == 0, ERR_NAME.get(err, err)
    rid = hashlib.sha256(body).hexdigest()
    return ERR_NAME.get(results[0][0], results[0][0]), rid, image


def _committed(ctx, rid):
    r = ctx.cli("query", "release", rid, json_out=True)
    for _ in range(200):
        if r.rc == 0:
            return r
        time.sleep(0.02)
        r = ctx.cli("query", "release", rid, json_out=True)
    raise AssertionError(r)


def test_sequence_above_int64_prints_unsigned(ictx, tmp_path):
    key, ns = ictx.publisher()
    seqs = [2**63, U64_MAX]
    ids = []
    for seq in seqs:
        verdict, rid, image = _raw_release(ictx, key, ns, seq, image=os.urandom(64))
        assert verdict == "UL_OK", verdict
        ids.append(rid)
        (tmp_path / "fw.bin").write_bytes(image)
    for seq, rid in zip(seqs, ids):
        r = _committed(ictx, rid)
        assert r.json["sequence"] == seq, r.out            # Python reads JSON integers exactly
        assert '"sequence": %d,' % seq in r.out, r.out
        text = ictx.cli("query", "release", rid)
        assert "(sequence %d, security)" % seq in text.out, text
    hist = ictx.cli("query", "history", ns)
    assert str(U64_MAX) in hist.out and "-1 " not in hist.out, hist
    out = tmp_path / "mirror"
    r = ictx.cli("export", "--out", out, "--images", tmp_path, json_out=True)
    assert r.rc == 0, r
    index = json.loads((out / "index.json").read_text())
    got = {x["id"]: x["sequence"] for x in index["releases"]}
    assert [got[i] for i in ids] == seqs
    assert (out / ns / "releases" / str(U64_MAX) / "release.json").exists()
    rel = json.loads((out / ns / "releases" / str(U64_MAX) / "release.json").read_text())
    assert rel["sequence"] == U64_MAX


def _bound_at_and_past(ictx, key, ns, field, bound):
    """A raw release with field one past its bound (and 2^63, 2^64 - 1) is refused by the node
    with UL_E_LIMIT, the chain unchanged; at the bound it commits. Returns its query release."""
    with unchanged(ictx.node):
        for v in (bound + 1, 2**63, U64_MAX):
            verdict, _, _ = _raw_release(ictx, key, ns, 1, **{field: v})
            assert verdict == "UL_E_LIMIT", (field, v, verdict)
    verdict, rid, _ = _raw_release(ictx, key, ns, 1, **{field: bound})
    assert verdict == "UL_OK", verdict
    return _committed(ictx, rid), rid


def test_release_time_bound(ictx):
    key, ns = ictx.publisher()
    r, _ = _bound_at_and_past(ictx, key, ns, "time_s", MAX_RELEASE_TIME)
    assert r.json["release_time"] == "9999-12-31T23:59:59Z", r
    assert r.json["release_time_unix"] == MAX_RELEASE_TIME, r
    with unchanged(ictx.node):
        r = ictx.publish(ictx.manifest(ns, 2, release_time=MAX_RELEASE_TIME + 1), ictx.image(),
                         key)
        assert_rejected(r, "UL_E_LIMIT")
        assert "release_time" in one_line(r), r
    rid2, _, _ = ictx.publish_ok(ns, 2, key, release_time=MAX_RELEASE_TIME)
    assert ictx.cli("query", "release", rid2, json_out=True).json["release_time_unix"] == \
        MAX_RELEASE_TIME


def test_release_size_bound(ictx):
    key, ns = ictx.publisher()
    r, rid = _bound_at_and_past(ictx, key, ns, "size", MAX_RELEASE_SIZE)
    assert r.json["image"]["size"] == MAX_RELEASE_SIZE, r
    text = ictx.cli("query", "release", rid)
    assert "%d bytes" % MAX_RELEASE_SIZE in text.out, text


# ---- item 4: export copies only matching images, withholds revoked ones -------------------

def _index(out):
    return {x["id"]: x for x in json.loads((out / "index.json").read_text())["releases"]}


def test_export_image_size_must_match_record(ictx, tmp_path):
    key, ns = ictx.publisher()
    images = tmp_path / "images"
    images.mkdir()
    data = os.urandom(3000)
    (images / "fw.bin").write_bytes(data)
    good, _, _ = ictx.publish_ok(ns, 1, key, image=images / "fw.bin")
    # The same digest with a size one byte larger: no file can be this release's image.
    verdict, bad, _ = _raw_release(ictx, key, ns, 2, image=data, size=len(data) + 1)
    assert verdict == "UL_OK", verdict
    _committed(ictx, bad)
    out = tmp_path / "mirror"
    r = ictx.cli("export", "--out", out, "--images", images, json_out=True)
    assert r.rc == 0, r
    index = _index(out)
    assert index[good]["image_exported"] is True
    assert index[bad]["image_exported"] is False, index[bad]
    digest = hashlib.sha256(data).hexdigest()
    assert (out / "images" / digest).read_bytes() == data


def test_export_withholds_images_of_revoked_releases(ictx, tmp_path):
    key, ns = ictx.publisher()
    images = tmp_path / "images"
    images.mkdir()
    bad_data, good_data = os.urandom(2000), os.urandom(2100)
    (images / "bad.bin").write_bytes(bad_data)
    (images / "good.bin").write_bytes(good_data)
    rid1, _, _ = ictx.publish_ok(ns, 1, key, image=images / "good.bin")
    rid2, _, _ = ictx.publish_ok(ns, 2, key, image=images / "bad.bin")
    bad_digest = hashlib.sha256(bad_data).hexdigest()
    good_digest = hashlib.sha256(good_data).hexdigest()
    out = tmp_path / "mirror"
    assert ictx.cli("export", "--out", out, "--images", images).rc == 0
    assert (out / "images" / bad_digest).exists()
    r = ictx.cli("revoke", rid2, "--reason", "malicious image", "--key", key, json_out=True)
    assert r.rc == 0, r
    # Exported again into the same mirror: the revoked release's image is removed.
    r = ictx.cli("export", "--out", out, "--images", images, json_out=True)
    assert r.rc == 0, r
    assert not (out / "images" / bad_digest).exists()
    assert (out / "images" / good_digest).read_bytes() == good_data
    index = _index(out)
    assert index[rid2]["image_exported"] is False and index[rid2]["revoked"] is True
    assert index[rid1]["image_exported"] is True and index[rid1]["revoked"] is False
    assert r.json["withheld_images"] == 1, r   # the only revoked release on this node so far
    assert (out / ns / "releases" / "2" / "release.json").exists()   # the record stays
    # --keep-revoked keeps it, for forensics.
    out2 = tmp_path / "forensics"
    r = ictx.cli("export", "--out", out2, "--images", images, "--keep-revoked", json_out=True)
    assert r.rc == 0, r
    assert (out2 / "images" / bad_digest).read_bytes() == bad_data
    assert _index(out2)[rid2]["image_exported"] is True and r.json["withheld_images"] == 0
    text = ictx.cli("export", "--out", tmp_path / "m3", "--images", images)
    assert text.rc == 0 and "1 image of a revoked release withheld" in text.out, text


def test_export_keeps_image_shared_with_unrevoked_release(ictx, tmp_path):
    key, ns = ictx.publisher()
    images = tmp_path / "images"
    images.mkdir()
    data = os.urandom(1500)
    (images / "fw.bin").write_bytes(data)
    rid1, _, _ = ictx.publish_ok(ns, 1, key, image=images / "fw.bin", hardware=["hw-a"])
    rid2, _, _ = ictx.publish_ok(ns, 2, key, image=images / "fw.bin", hardware=["hw-b"])
    assert ictx.cli("revoke", rid1, "--reason", "wrong class", "--key", key).rc == 0
    out = tmp_path / "mirror"
    assert ictx.cli("export", "--out", out, "--images", images).rc == 0
    digest = hashlib.sha256(data).hexdigest()
    assert (out / "images" / digest).read_bytes() == data
    index = _index(out)
    assert index[rid2]["image_exported"] is True and index[rid1]["image_exported"] is False


def test_fifo_device_anchor_and_class_key_are_refused(ictx, tmp_path):
    fifo = _fifo(tmp_path, "anchor.cbor")
    device = UPLEDGER.parent / "upledger-device"
    for extra in ([], ["--class-key", fifo]):
        anchor = fifo if not extra else ictx.node.genesis
        state = tmp_path / ("state%d" % len(extra))
        try:
            p = subprocess.run([str(device), "init", "--anchor", str(anchor), "--hw", "hw-a",
                                "--state", str(state)] + [str(a) for a in extra],
                               capture_output=True, text=True, timeout=FIFO_TIMEOUT,
                               stdin=subprocess.DEVNULL, env=cli_env())
        except subprocess.TimeoutExpired:
            pytest.fail("upledger-device init blocked on a FIFO")
        assert p.returncode == 1 and "UL_E_" in p.stderr, p
        assert not (state / "state.cbor").exists(), p


def test_validator_set_json_error_names_line_and_column(ictx, tmp_path):
    bad = tmp_path / "set.json"
    bad.write_text('[\n  {"pubkey": "00", "power": 1}\n  {"pubkey": "01"}\n]\n')
    key = ictx.node.data / "validator.key"
    with unchanged(ictx.node):
        r = ictx.cli("validators", "set", "--file", bad, "--key", key, json_out=True)
        assert_rejected(r, "UL_E_SCHEMA_FIELD")
        assert "validator set %s: line 3, column 3" % bad in one_line(r), r
