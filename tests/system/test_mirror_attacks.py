"""Hostile mirrors against upledger-device. A mirror on loopback serves, per test, bytes made
from genuine chain material — a dev node whose validator set was changed to {v1: 7, v2: 1,
v3: 1} (v1 alone keeps more than 2/3, so the node still commits; the test holds v2's and v3's
keys), `upledger export` and `upledger query proof` — taken apart and reassembled with cbor2 and,
where an attack needs a signature, signed through the system libsecp256k1 (bip340.py).

Every attack is refused with its own UL_E_ code (the order of checks in client/ul_client.h),
the device's state.cbor and slot files are unchanged byte for byte, and then an honest
mirror's genuine bundle and image install (update -> staged). One node per module; each test
has its own device, and namespaces ("lanes") are shared only where no test changes them.
"""
import collections
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import time

import pytest

import bip340
from cbor_util import dumps, loads, sequence
from conftest import ERR_NUM, REPO, Ctx, Node, run_cli
from device_util import Hostile, Mirror, dev, slot_file, snapshot, status

_SCHEMA = (REPO / "schema" / "ul_schema.h").read_text()
SEC = {m.group(1): int(m.group(2)) for m in re.finditer(r"UL_SEC_([A-Z]+) = (\d+)", _SCHEMA)}
BEGIN, HEADER, VOTER, LEAF, SIG, INCLUSION, STATE = (
    SEC[n] for n in ("BEGIN", "HEADER", "VOTER", "LEAF", "SIG", "INCLUSION", "STATE"))
PROOF_INSTALLABLE = int(re.search(r"UL_PROOF_INSTALLABLE = (\d+)", _SCHEMA).group(1))
PROOF_REVOCATION = int(re.search(r"UL_PROOF_REVOCATION = (\d+)", _SCHEMA).group(1))
VOTE_PRECOMMIT = int(re.search(r"UL_VOTE_PRECOMMIT = (\d+)", _SCHEMA).group(1))
HDR_HEIGHT, HDR_TIME = 3, 4  # header map keys (ul_schema.h, "Block header")
LIST_ENTRY = 40              # installable list entry: seq 8 bytes big-endian, release id 32
TAG_VOTE = "upledger/v1/vote"
TAG_PROPOSAL = "upledger/v1/proposal"

UPDATE_TIMEOUT = 5  # --timeout for mirrors that answer at once
STALL_TIMEOUT = 1   # --timeout when a mirror stalls
STALL_BOUND = 30    # subprocess bound for a stalled run: 2 requests x 4 timeouts, with room
FLIP_STRIDE = 7     # the device over HTTP sees every 7th flipped offset (and both ends)
FLIP_ENDS = 16


# ---- the chain: one dev node, three validators, a dependency namespace ----------------------

class Lane:
    """A namespace with its publisher key and the releases published into it."""

    def __init__(self, world, key=None, policy=None):
        self.world = world
        self.key = key or world.ctx.keygen()
        self.ns = world.ctx.new_ns()
        args = ["namespace", "register", self.ns, "--key", self.key]
        if policy is not None:
            pfile = world.tmp / (world.ctx.unique("policy") + ".json")
            pfile.write_text(json.dumps(policy))
            args += ["--policy", pfile]
        r = world.ctx.cli(*args, json_out=True)
        assert r.rc == 0 and r.json["committed"] is True, r
        self.ids, self.data, self.version = {}, {}, {}

    def publish(self, seq, hw=("hw-a",), deps=True, version=None):
        w = self.world
        self.data[seq] = os.urandom(2000 + 37 * seq)
        self.version[seq] = version or "1.0.%d" % seq
        image = w.images / ("%s-%d.bin" % (self.ns.replace("/", "_"), seq))
        image.write_bytes(self.data[seq])
        fields = {"hardware": list(hw), "version": self.version[seq]}
        if deps:
            fields["dependencies"] = [{"namespace": w.dep.ns, "version": ">=2.0"}]
        r = w.ctx.publish(w.ctx.manifest(self.ns, seq, **fields), image, self.key)
        assert r.rc == 0 and r.json["committed"] is True, r
        self.ids[seq] = r.json["id"]
        return self.ids[seq]

    def proof(self, seq, hw="hw-a"):
        """The genuine bundle of release seq at the head, whatever a device would say of it."""
        out = self.world.tmp / (self.world.ctx.unique("proof") + ".cbor")
        r = self.world.ctx.cli("query", "proof", self.ids[seq], "--hw", hw, "--out", out,
                               json_out=True)
        assert r.rc == 0 and r.json["verified"] is True, r
        return out.read_bytes()


class Export:
    """One `upledger export` directory, served by the world's honest mirror under url."""

    def __init__(self, path, url):
        self.path, self.url = path, url

    def bundle(self, lane, hw="hw-a"):
        return (self.path / lane.ns / "hw" / hw / "latest.cbor").read_bytes()


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        self.images, self.exports = tmp / "images", tmp / "exports"
        self.images.mkdir()
        self.exports.mkdir()
        self.node = Node(tmp / "node", tmp / "node.log").start()
        self.ctx = Ctx(self.node, tmp / "work")
        self.mirror = Mirror(self.exports)
        self.n_exports = 0
        self.chain_id = bytes.fromhex(self.node.status()["chain_id"])
        self.secret = {}  # x-only pubkey -> secret key, for every key a test may sign with
        self.keyfile = {}
        self.v1 = self._learn(self.node.data / "validator.key")
        self.v2 = self._learn(self.ctx.keygen().path)
        self.v3 = self._learn(self.ctx.keygen().path)
        self._set_validators({self.v1: 5, self.v2: 1})  # two changes: bundles walk two steps
        self._set_validators({self.v1: 7, self.v2: 1, self.v3: 1})
        self.dep = Lane(self)
        self.dep.publish(1, deps=False, version="2.1")
        self.installed = "%s=2.1@1" % self.dep.ns

    def _learn(self, keyfile):
        ks = json.loads(keyfile.read_text())
        pub = bytes.fromhex(ks["pubkey"])
        self.secret[pub] = bytes.fromhex(ks["secret"])
        self.keyfile[pub] = keyfile
        return pub

    def _set_validators(self, powers):
        f = self.tmp / (self.ctx.unique("set") + ".json")
        f.write_text(json.dumps([{"pubkey": k.hex(), "power": p} for k, p in powers.items()]))
        r = self.ctx.cli("validators", "set", "--file", f, "--key", self.keyfile[self.v1],
                         json_out=True)
        assert r.rc == 0 and r.json["committed"] is True, r

    def export(self):
        self.n_exports += 1
        name = "e%d" % self.n_exports
        r = self.ctx.cli("export", "--out", self.exports / name, "--images", self.images,
                         json_out=True)
        assert r.rc == 0, r
        return Export(self.exports / name, "%s/%s" % (self.mirror.url, name))

    def device(self, installed=True, hw="hw-a"):
        """A new device anchored at the genesis, with the dependency installed (or not)."""
        state = self.tmp / "devices" / self.ctx.unique("dev")
        extra = ["--installed", self.installed] if installed else []
        r = dev("init", "--anchor", self.node.genesis, "--hw", hw, "--state", state, *extra)
        assert r.rc == 0, r
        return state

    def close(self):
        self.mirror.close()
        self.node.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = None
    try:
        w = World(tmp_path_factory.mktemp("attacks"))
        yield w
    finally:
        if w is not None:
            w.close()


@pytest.fixture
def hostile():
    h = Hostile()
    yield h
    h.close()


@pytest.fixture(scope="module")
def one(world):
    """A namespace with one release (hw-a, needs the dependency), exported. Never changed."""
    lane = Lane(world)
    lane.publish(1)
    return lane, world.export()


@pytest.fixture(scope="module")
def two(world):
    """A namespace with two releases for hw-a: release 1 is superseded. Never changed."""
    lane = Lane(world)
    lane.publish(1)
    lane.publish(2)
    return lane, world.export()


@pytest.fixture(scope="module")
def revoked(world):
    """Two releases, the newer one revoked: release 1 is the installable one again."""
    lane = Lane(world)
    lane.publish(1)
    lane.publish(2)
    r = world.ctx.cli("revoke", lane.ids[2], "--reason", "boot loop", "--key", lane.key,
                      json_out=True)
    assert r.rc == 0 and r.json["committed"] is True, r
    return lane, world.export()


# ---- the device's side ------------------------------------------------------------------------

def update(state, ns, *urls, timeout=UPDATE_TIMEOUT, confirm=False, bound=60, extra=()):
    args = ["update"]
    for u in urls:
        args += ["--mirror", u]
    args += ["--namespace", ns, "--state", state, "--timeout", str(timeout), *extra]
    if confirm:
        args += ["--health-check", "true"]
    return dev(*args, timeout=bound)


def refused(state, mirror, ns, want, **kw):
    """One update from mirror alone: refused with want, every file of the device unchanged."""
    assert want in ERR_NUM, want
    before = snapshot(state)
    r = update(state, ns, mirror.url, **kw)
    assert r.rc == 1 and r.last_error == want, r
    assert "upledger-device: mirror %s: %s:" % (mirror.url, want) in r.err, r
    assert "staged" not in r.out, r
    assert snapshot(state) == before, "a refused update changed the device's files"
    return r


def installs(state, lane, seq, url, confirm=False):
    """An update from url stages (or, confirm, installs) release seq of lane."""
    r = update(state, lane.ns, url, confirm=confirm)
    v = lane.version[seq]
    want = "updated to %s (seq %d), confirmed" % (v, seq) if confirm else "staged %s in slot" % v
    assert r.rc == 0 and want in r.out, r
    (comp,) = [c for c in status(state)["components"] if c["namespace"] == lane.ns]
    assert comp["trial"] is not confirm and comp["slots"][comp["active"]]["seq"] == seq, comp
    assert slot_file(state, lane.ns, comp["active"]).read_bytes() == lane.data[seq]
    return r


def serve(hostile, bundle, image):
    hostile.bundle, hostile.image = bundle, image
    return hostile


# ---- taking a bundle apart ----------------------------------------------------------------------

class Bundle:
    """A proof bundle as its list of sections, each the decoded array [type, ...]."""

    def __init__(self, raw):
        self.secs = [loads(s) for s in sequence(raw)]
        assert self.encode() == raw, "the bundle does not re-encode to its own bytes"

    def encode(self):
        return b"".join(dumps(dumps(s)) for s in self.secs)

    def of_type(self, typ):
        return [i for i, s in enumerate(self.secs) if s[0] == typ]

    def headers(self):
        return self.of_type(HEADER)

    def final(self):
        """The header the proofs are against: (header map, round, block hash)."""
        sec = self.secs[self.headers()[-1]]
        return sec[1], sec[2], hashlib.sha256(dumps(sec[1])).digest()

    def voter_of(self, key):
        """Index of key's VOTER section under the final header."""
        (i,) = [i for i in self.of_type(VOTER) if i > self.headers()[-1] and self.secs[i][1] == key]
        return i

    def state(self, which):
        (i,) = [i for i in self.of_type(STATE) if self.secs[i][1] == which]
        return i


def vote_digest(world, height, rnd, block_hash, time_ms, tag=TAG_VOTE):
    """ul_client_signed_digest over the canonical precommit {1: 2, 2: h, 3: r, 4: hash, 5: t}."""
    vote = dumps({1: VOTE_PRECOMMIT, 2: height, 3: rnd, 4: block_hash, 5: time_ms})
    return bip340.upledger_digest(tag, world.chain_id, vote)


def signed_voter(world, b, key, power, time_ms, tag=TAG_VOTE):
    """A VOTER section for the final header of b, signed by key (its secret in world)."""
    hdr, rnd, block_hash = b.final()
    digest = vote_digest(world, hdr[HDR_HEIGHT], rnd, block_hash, time_ms, tag)
    return [VOTER, key, power, time_ms, bip340.sign(world.secret[key], digest)]


# ---- forged commits (cases 6-10) ------------------------------------------------------------

def below_two_thirds(world, b):
    """v1's signature dropped; v2 and v3 (2 of 9) sign genuinely."""
    hdr = b.final()[0]
    for i in b.of_type(VOTER):
        if i > b.headers()[-1]:
            key, power = b.secs[i][1], b.secs[i][2]
            b.secs[i] = ([VOTER, key, power] if key == world.v1 else
                         signed_voter(world, b, key, power, hdr[HDR_TIME]))


def duplicate_signer(world, b):
    """v1's signed voter section twice (the header's voter count follows)."""
    i = b.voter_of(world.v1)
    b.secs.insert(i + 1, list(b.secs[i]))
    b.secs[b.headers()[-1]][3] += 1


def unknown_signer(world, b):
    """v1's key and signature replaced by a fresh key's valid signature, v1's power claimed."""
    fresh = os.urandom(32)
    pub = bip340.pubkey(fresh)
    world.secret[pub] = fresh
    i = b.voter_of(world.v1)
    b.secs[i] = signed_voter(world, b, pub, b.secs[i][2], b.secs[i][3])


def proposal_signature(world, b):
    """v1 signs the very same vote bytes, under the proposal domain tag."""
    i = b.voter_of(world.v1)
    b.secs[i] = signed_voter(world, b, world.v1, b.secs[i][2], b.secs[i][3], TAG_PROPOSAL)


def resigned_by_all(world, b):
    """Control: v1, v2 and v3 sign the vote as the node does (the forgeries' own machinery)."""
    hdr = b.final()[0]
    for i in b.of_type(VOTER):
        if i > b.headers()[-1]:
            b.secs[i] = signed_voter(world, b, b.secs[i][1], b.secs[i][2], hdr[HDR_TIME] + i)


def conflicting_header(world, b, shift_ms=1):
    """The final header with another time (shifted by shift_ms), its commit re-signed by v1
    (7 of 9)."""
    h = b.headers()[-1]
    hdr = dict(b.secs[h][1])
    hdr[HDR_TIME] += shift_ms
    b.secs[h][1] = hdr
    i = b.voter_of(world.v1)
    b.secs[i] = signed_voter(world, b, world.v1, b.secs[i][2], b.secs[i][3])


def verify(world, bundle, image, tag):
    """`upledger verify` of bundle bytes and an image file, as a device with the dependency."""
    f = world.tmp / ("%s-%s.cbor" % (tag, world.ctx.unique("b")))
    f.write_bytes(bundle)
    r = run_cli(["verify", "--bundle", f, "--image", image, "--genesis", world.node.genesis,
                 "--hw", "hw-a", "--installed", world.installed])
    f.unlink()
    return r


def image_file(export, lane, seq):
    return export.path / "images" / hashlib.sha256(lane.data[seq]).hexdigest()


@pytest.mark.parametrize("forge,want", [
    (below_two_thirds, "UL_E_QUORUM"),         # case 6
    (duplicate_signer, "UL_E_VALIDATOR"),      # case 7
    (unknown_signer, "UL_E_VALIDATOR"),        # case 8
    (proposal_signature, "UL_E_SIG"),          # case 9
], ids=lambda v: getattr(v, "__name__", v))
def test_forged_commit(world, hostile, one, forge, want):
    lane, ex = one
    b = Bundle(ex.bundle(lane))
    # The setting: v1 signed, v2 and v3 did not (the dev node signs alone).
    assert [len(b.secs[b.voter_of(k)]) for k in (world.v1, world.v2, world.v3)] == [5, 3, 3]
    forge(world, b)
    state = world.device()
    refused(state, serve(hostile, b.encode(), lane.data[1]), lane.ns, want)
    installs(state, lane, 1, ex.url)


def test_commit_signed_by_the_test_verifies(world, one):
    """The forgeries' signing is right: the same votes under the vote tag are accepted."""
    lane, ex = one
    b = Bundle(ex.bundle(lane))
    resigned_by_all(world, b)
    r = verify(world, b.encode(), image_file(ex, lane, 1), "resigned")
    assert r.rc == 0 and "verified" in r.out, r


def test_conflicting_header(world, hostile):
    """Case 10: after the device accepted height H, another header for H (another time),
    genuinely signed by v1, whose power suffices."""
    lane = Lane(world)
    lane.publish(1)
    ex = world.export()
    state = world.device()
    installs(state, lane, 1, ex.url, confirm=True)
    b = Bundle(ex.bundle(lane))
    conflicting_header(world, b)
    assert b.final()[0][HDR_HEIGHT] == status(state)["height"]
    refused(state, serve(hostile, b.encode(), lane.data[1]), lane.ns, "UL_E_HEADER_CONFLICT")
    lane.publish(2)
    installs(state, lane, 2, world.export().url)


DAY_MS = 24 * 3600 * 1000


def test_stale_head_refused_by_default(world, hostile, one):
    """A frozen mirror: a genuinely signed head 8 days old is refused without any --max-age
    (the default is 7 days); --max-age 0 (no clock checks) accepts it."""
    lane, ex = one
    b = Bundle(ex.bundle(lane))
    conflicting_header(world, b, -8 * DAY_MS)
    state = world.device()
    refused(state, serve(hostile, b.encode(), lane.data[1]), lane.ns, "UL_E_STALE")
    r = update(state, lane.ns, hostile.url, extra=["--max-age", "0"])
    assert r.rc == 0 and "staged %s in slot" % lane.version[1] in r.out, r


def test_future_header_refused(world, hostile, one):
    """A head stamped an hour ahead of the device clock would pass any age check for that hour
    after its mirror froze: refused (UL_E_FUTURE) whatever --max-age, unless the device says it
    has no clock (--max-age 0)."""
    lane, ex = one
    b = Bundle(ex.bundle(lane))
    conflicting_header(world, b, 3600 * 1000)
    state = world.device()
    serve(hostile, b.encode(), lane.data[1])
    refused(state, hostile, lane.ns, "UL_E_FUTURE")
    refused(state, hostile, lane.ns, "UL_E_FUTURE", extra=["--max-age", str(30 * 86400)])
    r = update(state, lane.ns, hostile.url, extra=["--max-age", "0"])
    assert r.rc == 0 and "staged %s in slot" % lane.version[1] in r.out, r


def test_valset_gap(world, hostile, one):
    """Case 19: the first of two validator-set steps removed, n_steps fixed."""
    lane, ex = one
    b = Bundle(ex.bundle(lane))
    heads = b.headers()
    assert b.secs[0][3] == 2 and len(heads) == 3, "the bundle walks the two set changes"
    del b.secs[heads[0]:heads[1]]
    b.secs[0][3] = 1
    state = world.device()
    refused(state, serve(hostile, b.encode(), lane.data[1]), lane.ns, "UL_E_VALSET_GAP")
    installs(state, lane, 1, ex.url)


# ---- the release: image, namespace, class, installable, replay (cases 1-5, 13-16) -----------

def test_arbitrary_image(world, hostile, one):
    """Case 1: random bytes of the recorded size."""
    lane, ex = one
    state = world.device()
    junk = os.urandom(len(lane.data[1]))
    refused(state, serve(hostile, ex.bundle(lane), junk), lane.ns, "UL_E_DIGEST")
    assert any(p.startswith("/images/") for p in hostile.requests), hostile.requests
    installs(state, lane, 1, ex.url)


@pytest.mark.parametrize("cut", ["truncated", "longer"])
def test_image_size(world, hostile, one, cut):
    """Case 16: an image shorter or longer than recorded."""
    lane, ex = one
    data = lane.data[1][:len(lane.data[1]) // 2] if cut == "truncated" else lane.data[1] + b"\0"
    state = world.device()
    refused(state, serve(hostile, ex.bundle(lane), data), lane.ns, "UL_E_SIZE")
    installs(state, lane, 1, ex.url)


def test_other_namespace(world, hostile, one, two):
    """Case 2: another namespace's genuine bundle and image at this namespace's path."""
    lane, ex = one
    other, oex = two
    state = world.device()
    refused(state, serve(hostile, oex.bundle(other), other.data[2]), lane.ns, "UL_E_NAMESPACE")
    installs(state, lane, 1, ex.url)


def test_other_hardware_class(world, hostile):
    """Case 3: the genuine latest bundle of a class the release does not name (hw-b only)."""
    lane = Lane(world)
    lane.publish(1, hw=("hw-a",))
    lane.publish(2, hw=("hw-b",))
    ex = world.export()
    state = world.device()
    refused(state, serve(hostile, ex.bundle(lane, "hw-b"), lane.data[2]), lane.ns,
            "UL_E_HW_MISMATCH")
    installs(state, lane, 1, ex.url)


def test_proof_for_another_class_of_the_release(world, hostile):
    """Case 3b: the release names both classes; the proof is hw-b's installable list."""
    lane = Lane(world)
    lane.publish(1, hw=("hw-a", "hw-b"))
    ex = world.export()
    state = world.device()
    refused(state, serve(hostile, ex.bundle(lane, "hw-b"), lane.data[1]), lane.ns,
            "UL_E_NOT_INSTALLABLE")
    installs(state, lane, 1, ex.url)


def test_superseded_release(world, hostile, two):
    """Case 4: release 1's genuine bundle at the head, where release 2 supersedes it."""
    lane, ex = two
    state = world.device()
    refused(state, serve(hostile, lane.proof(1), lane.data[1]), lane.ns, "UL_E_NOT_INSTALLABLE")
    installs(state, lane, 2, ex.url)


def test_replayed_older_bundle(world, hostile):
    """Case 5: a bundle exported before release 2, replayed after the device installed 2."""
    lane = Lane(world)
    lane.publish(1)
    old = world.export().bundle(lane)
    lane.publish(2)
    state = world.device()
    installs(state, lane, 2, world.export().url, confirm=True)
    refused(state, serve(hostile, old, lane.data[1]), lane.ns, "UL_E_HEADER_OLD")
    lane.publish(3)
    installs(state, lane, 3, world.export().url)


def test_revoked_release(world, hostile, revoked):
    """Case 13: the revoked release's genuine bundle (at the head) and image."""
    lane, ex = revoked
    state = world.device()
    refused(state, serve(hostile, lane.proof(2), lane.data[2]), lane.ns, "UL_E_REVOKED")
    installs(state, lane, 1, ex.url)


def test_missing_cosignature(world, hostile):
    """Case 14: security releases need a certifier; release 1 is not approved (yet)."""
    cert, owner = world.ctx.keygen(), world.ctx.keygen()
    policy = {"owners": {"keys": [owner.pubkey]}, "publishers": {"keys": [owner.pubkey]},
              "roles": {"certifier": {"keys": [cert.pubkey], "threshold": 1}},
              "require": {"security": ["certifier"]}}
    lane = Lane(world, key=owner, policy=policy)
    lane.publish(1)  # kind "security" (the manifest default)
    state = world.device()
    refused(state, serve(hostile, lane.proof(1), lane.data[1]), lane.ns, "UL_E_NOT_INSTALLABLE")
    r = world.ctx.cli("approve", lane.ids[1], "--role", "certifier", "--key", cert,
                      json_out=True)
    assert r.rc == 0 and r.json["committed"] is True, r
    installs(state, lane, 1, world.export().url)


def test_missing_dependency(world, hostile, one):
    """Case 15: a device without the dependency; it installs the dependency, then the release."""
    lane, ex = one
    state = world.device(installed=False)
    refused(state, serve(hostile, ex.bundle(lane), lane.data[1]), lane.ns, "UL_E_DEPENDENCY")
    installs(state, world.dep, 1, ex.url, confirm=True)
    installs(state, lane, 1, ex.url)


# ---- inclusion and state proofs (cases 11-12) ----------------------------------------------------

def other_leaf(lane, b):
    """Release 1's LEAF and SIG sections with release 2's inclusion proof."""
    other = Bundle(lane.proof(1))
    lo, hi = b.of_type(LEAF)[0], b.of_type(SIG)[-1] + 1
    olo, ohi = other.of_type(LEAF)[0], other.of_type(SIG)[-1] + 1
    b.secs[lo:hi] = other.secs[olo:ohi]


def tree_size(lane, b):
    (i,) = b.of_type(INCLUSION)
    b.secs[i][2] += 1


def truncated_path(lane, b):
    (i,) = b.of_type(INCLUSION)
    assert len(b.secs[i][3]) >= 1, "a log of several releases has a path"
    b.secs[i][3] = b.secs[i][3][:-1]


def hide_newer(lane, b):
    """Release 1's installable list rewritten to name release 1 first (value at index 4)."""
    i = b.state(PROOF_INSTALLABLE)
    v = b.secs[i][4]
    entries = [v[k:k + LIST_ENTRY] for k in range(0, len(v), LIST_ENTRY)]
    ids = [bytes.fromhex(lane.ids[s]) for s in (2, 1)]
    assert [e[8:] for e in entries[:2]] == ids, "the list names release 2, then 1"
    b.secs[i][4] = b"".join([entries[1], entries[0]] + entries[2:])


@pytest.mark.parametrize("forge,seq,want", [
    (other_leaf, 2, "UL_E_MERKLE_PROOF"),      # case 11: another release's leaf
    (tree_size, 2, "UL_E_MERKLE_RANGE"),       # case 11: another tree size
    (truncated_path, 2, "UL_E_MERKLE_PROOF"),  # case 11: last path hash dropped
    (hide_newer, 1, "UL_E_MERKLE_PROOF"),      # case 12: a newer release hidden
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_forged_proof(world, hostile, two, forge, seq, want):
    lane, ex = two
    b = Bundle(ex.bundle(lane) if seq == 2 else lane.proof(seq))
    forge(lane, b)
    state = world.device()
    refused(state, serve(hostile, b.encode(), lane.data[seq]), lane.ns, want)
    installs(state, lane, 2, ex.url)


def test_hidden_revocation(world, hostile, revoked):
    """Case 12: the revoked release's revocation proof replaced by a non-membership claim
    (terminal null on the same path)."""
    lane, ex = revoked
    b = Bundle(lane.proof(2))
    i = b.state(PROOF_REVOCATION)
    assert isinstance(b.secs[i][4], bytes), "the genuine proof shows the revocation"
    b.secs[i][4] = None
    state = world.device()
    refused(state, serve(hostile, b.encode(), lane.data[2]), lane.ns, "UL_E_MERKLE_PROOF")
    installs(state, lane, 1, ex.url)


# ---- every bit, and a mirror that stalls (cases 17-18) --------------------------------------

def flip(raw, i, bit):
    return raw[:i] + bytes([raw[i] ^ bit]) + raw[i + 1:]


def sweep_verify(world, raw, bits, image):
    """`upledger verify` of every flipped offset: {error name: count}; accepted ones listed."""
    def one(i):
        return i, verify(world, flip(raw, i, bits[i]), image, "flip%d" % i)

    codes, bad = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for i, r in ex.map(one, range(len(raw))):
            codes[r.error_name] += 1
            if r.rc != 1 or r.error_name not in ERR_NUM:
                bad.append((i, r))
    return codes, bad


def sweep_device(world, hostile, lane, raw, bits, offsets, template):
    """The device over HTTP on the given offsets, each on a copy of the template state."""
    want = snapshot(template)

    def one(i):
        hostile.variants["f%d" % i] = (flip(raw, i, bits[i]), lane.data[1])
        state = template.parent / ("flip-%d" % i)
        shutil.copytree(template, state)
        r = update(state, lane.ns, "%s/f%d" % (hostile.url, i))
        return i, r, snapshot(state) == want

    codes, bad = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for i, r, same in ex.map(one, offsets):
            codes[r.last_error] += 1
            if r.rc != 1 or r.last_error not in ERR_NUM or not same or "staged" in r.out:
                bad.append((i, r))
    return codes, bad


def test_bit_flip_sweep(world, hostile, one):
    """Case 17: one bit flipped at every byte offset of a genuine bundle (a seeded bit per
    byte): `upledger verify` refuses every one; the device over HTTP refuses a strided subset
    and changes nothing."""
    lane, ex = one
    raw, image = ex.bundle(lane), image_file(ex, lane, 1)
    assert verify(world, raw, image, "genuine").rc == 0  # the unflipped bundle is fine
    seed = int(os.environ.get("UL_FLIP_SEED", "1234"))
    rng = random.Random(seed)
    bits = [1 << rng.randrange(8) for _ in raw]
    t0 = time.monotonic()
    vcodes, vbad = sweep_verify(world, raw, bits, image)
    t1 = time.monotonic()
    offsets = sorted(set(range(0, len(raw), FLIP_STRIDE)) | set(range(FLIP_ENDS)) |
                     set(range(len(raw) - FLIP_ENDS, len(raw))))
    template = world.device()
    dcodes, dbad = sweep_device(world, hostile, lane, raw, bits, offsets, template)
    print("\nflip sweep (seed %d): %d offsets through verify in %.1f s, all refused: %s"
          % (seed, len(raw), t1 - t0, dict(vcodes.most_common())))
    print("flip sweep: %d offsets through the device over HTTP in %.1f s, all refused: %s"
          % (len(offsets), time.monotonic() - t1, dict(dcodes.most_common())))
    assert not vbad, "seed %d: verify accepted or unnamed: %s" % (seed, vbad[:3])
    assert not dbad, "seed %d: device accepted, unnamed or changed: %s" % (seed, dbad[:3])
    installs(template, lane, 1, ex.url)


@pytest.mark.parametrize("stage", ["request", "bundle", "image"])
def test_stalled_mirror(world, hostile, one, stage):
    """Case 18: a mirror that accepts and goes silent (before answering, or halfway through
    the bundle or the image): UL_E_TIMEOUT within the --timeout bound (the subprocess bound:
    a device that waited for ever fails it), nothing changed, no partial slot left. Then, with
    the stalled mirror first in the list, the next mirror installs."""
    lane, ex = one
    serve(hostile, ex.bundle(lane), lane.data[1]).stall = stage
    state = world.device()
    t0 = time.monotonic()
    refused(state, hostile, lane.ns, "UL_E_TIMEOUT", timeout=STALL_TIMEOUT, bound=STALL_BOUND)
    print("\nstalled at %s: UL_E_TIMEOUT after %.1f s (--timeout %d)"
          % (stage, time.monotonic() - t0, STALL_TIMEOUT))
    hostile.stall = "request"  # silent from the start: the quickest to give up on
    r = update(state, lane.ns, hostile.url, ex.url, timeout=STALL_TIMEOUT, bound=STALL_BOUND)
    assert r.rc == 0 and "staged 1.0.1 in slot" in r.out, r
    assert "upledger-device: mirror %s: UL_E_TIMEOUT:" % hostile.url in r.err, r
    assert slot_file(state, lane.ns, 0).read_bytes() == lane.data[1]
