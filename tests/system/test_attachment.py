"""Forged attachments on gossiped txs, end to end on a live 4-validator testnet: a txs envelope
whose attachment is not what its signed leaf hashes name is dropped from the first tx that does
not match, and one whose leaf list and attachment differ in length is dropped whole; the same
txs sent correctly commit.

A txs envelope (peer kind 3) signs {1: the txs' RFC 9162 leaf hashes SHA-256(0x00 || tx),
concatenated} and carries the txs themselves unsigned, in envelope key 5, as {1: [tx items]}
(p2p/README.md "Consensus messages", node/consensus.c on_txs). So a valid sender's envelope can
have its attachment swapped by anyone on the path, and the signature still verifies.

As in test_equivocation.py, node 3 is killed first and the test speaks for it with its key,
which testnet/up.sh leaves unencrypted: it signs each envelope with the peer tag
(test_testnet.envelope) and PUSHes it to the live validators' peer endpoints. The txs are
publishes the test builds and signs itself (the release record of schema/upledger.cddl, signed
under the release tag), each for its own hardware class so that any subset of them is valid in
any order. A publish's id is the SHA-256 of its record; the query endpoint's tx status says
whether a node has it pooled (height 0), committed (its height), or never saw it
(UL_E_NOT_FOUND).
"""
import hashlib
import json
import os
import time

import pytest

import nnreq
from bip340 import TAG_RELEASE, sign as bip340_sign, upledger_digest
from cbor_util import Raw, dumps, loads
from conftest import ERR_NAME, Ctx
from test_equivocation import Net as EquivocationNet
from test_testnet import Push, envelope, wait_for

PORT_BASE = 29800        # this file's first port base (BASE..BASE+199)
COMMIT_WAIT = 20         # seconds for a correctly sent tx to commit on every live node
QUIET_HEIGHTS = 3        # heights every live node is watched for a dropped tx after its envelope
CALL_MS = 10000          # --timeout-ms of the CLI calls: a bound on a loaded machine

PEER_KIND_TXS = 3
SPEAKER = 3              # the validator the test speaks for
LIVE = [0, 1, 2]
RELEASE_TIME = 1767225600   # 2026-01-01T00:00:00Z


class Net(EquivocationNet):
    """test_equivocation.py's testnet (same heartbeat and round timeout), from this file's base."""

    port_base = PORT_BASE


@pytest.fixture
def net(tmp_path):
    """A 4-validator testnet whose node 3 is dead, node 3's secret key, and a publisher key
    with a namespace registered (through node 0); always torn down."""
    t = Net(tmp_path / "testnet", 4)
    try:
        t.up()
        secret = t.speak_for(SPEAKER)
        ctx = Ctx(t.view(0), tmp_path / "work")
        key, ns = ctx.publisher()
        yield t, secret, Publisher(t, key, ns)
    finally:
        t.down()


class Tx:
    """One hand-made, validly signed publish: its bytes, leaf hash and id (= release id)."""

    def __init__(self, data, body, label):
        self.data = data
        self.leaf = hashlib.sha256(b"\x00" + data).digest()
        self.id = hashlib.sha256(body).digest()
        self.label = label

    def __repr__(self):
        return "<tx %s %s>" % (self.label, self.id.hex()[:16])


class Publisher:
    """Signs publishes for one namespace, each for a hardware class of its own (the default
    policy allows any), so that every subset of them commits in any order."""

    def __init__(self, t, key, ns):
        self.secret = bytes.fromhex(json.loads(key.path.read_text())["secret"])
        self.pk = bytes.fromhex(key.pubkey)
        self.ns = ns
        self.chain_id = bytes.fromhex(t.info["chain_id"])
        self.n = 0

    def tx(self, label):
        self.n += 1
        image = os.urandom(500 + self.n)
        body = dumps({1: self.ns, 2: "Acme Corp", 3: RELEASE_TIME, 4: "1.0.%d" % self.n,
                      5: 1, 6: hashlib.sha256(image).digest(), 7: len(image),
                      8: "image%d.bin" % self.n, 9: [], 10: ["hw-%s" % label], 11: [], 12: 0})
        sig = bip340_sign(self.secret, upledger_digest(TAG_RELEASE, self.chain_id, body),
                          os.urandom(32))
        return Tx(dumps({1: 2, 2: Raw(body), 3: [[self.pk, sig]]}), body, label)


def txs_envelope(secret, chain_id, leaves, attached):
    """Node 3's txs envelope: the payload {1: leaf hashes} signed with the peer tag exactly as
    test_testnet.envelope signs any payload, plus key 5 {1: [attached txs]}, which the signature
    does not cover (the canonical map re-encodes keys 1..4 byte for byte)."""
    payload = dumps({1: b"".join(leaves)})
    env = loads(envelope(secret, chain_id, PEER_KIND_TXS, payload))
    env[5] = dumps({1: [Raw(tx.data) for tx in attached]})
    return dumps(env)


def push(t, msgs):
    """Sends the envelopes, in order, to every live validator's peer port."""
    for i in LIVE:
        p = Push(t.p2p(i))
        try:
            for m in msgs:
                p.send(m)
        finally:
            p.close()


def tx_status(t, i, tx):
    """'unknown' (never seen), 'pooled', or the height a node committed the tx at."""
    with nnreq.ReqClient(t.rpc(i), timeout=CALL_MS / 1000) as c:
        rep = loads(c.call({0: nnreq.RPC_TX_STATUS, 1: tx.id}))
    err = ERR_NAME.get(rep[0], rep[0])
    if err == "UL_E_NOT_FOUND":
        return "unknown"
    assert err == "UL_OK", "node %d: tx status of %r: %s" % (i, tx, err)
    return rep[1] or "pooled"


def statuses(t, txs):
    return {tx.label: [tx_status(t, i, tx) for i in LIVE] for tx in txs}


def wait_committed(t, txs):
    """Every tx committed on every live node (at one height per tx); returns the heights."""
    def done():
        s = statuses(t, txs)
        return all(isinstance(h, int) for hs in s.values() for h in hs) and s
    s = wait_for("%s committed on nodes %s" % (txs, LIVE), done, timeout=COMMIT_WAIT,
                 interval=0.2, detail=lambda: "statuses %s; %s" % (statuses(t, txs),
                                                                   t.detail()))
    for tx in txs:
        assert len(set(s[tx.label])) == 1, "%r at different heights: %s" % (tx, s)
    return {label: hs[0] for label, hs in s.items()}


def assert_never_known(t, txs, after):
    """Every live node reaches QUIET_HEIGHTS heights past `after` (so it has long handled what
    was sent before), and none of the txs is pooled or committed on any of them."""
    t.wait_height(after + QUIET_HEIGHTS, nodes=LIVE, timeout=COMMIT_WAIT)
    s = statuses(t, txs)
    assert all(v == "unknown" for hs in s.values() for v in hs), \
        "a dropped tx became known: %s%s" % (s, t.logs())
    return s


def release_on_every_node(t, tx, h):
    for i in LIVE:
        r = t.cli(i, "query", "release", tx.id.hex(), json_out=True, timeout_ms=CALL_MS)
        assert r.rc == 0, (i, r)
        assert r.json["height"] == h, (i, r)


def test_swapped_tx_attachment_is_dropped(net):
    t, secret, pub = net
    chain_id = bytes.fromhex(t.info["chain_id"])
    a, b, c, d = (pub.tx(x) for x in "abcd")
    assert statuses(t, [a, b, c, d]) == {x: ["unknown"] * 3 for x in "abcd"}
    start = time.monotonic()
    push(t, [
        # Signed for A, carrying B: B is dropped (A was never sent).
        txs_envelope(secret, chain_id, [a.leaf], [b]),
        # C matches its entry and is taken; B in A's place ends the message, so D after it,
        # which matches its own entry, is dropped too.
        txs_envelope(secret, chain_id, [c.leaf, a.leaf, d.leaf], [c, b, d]),
    ])
    # C, sent after the forged envelope on each connection, commits everywhere: every node has
    # handled the forged envelope (or learnt C from a block whose proposer had). Then a few
    # heights more and none of A, B, D is pooled or committed on any live node.
    hc = wait_committed(t, [c])["c"]
    quiet = assert_never_known(t, [a, b, d], hc)
    print("after the forged envelopes (%.1f s): C at height %d; %s"
          % (time.monotonic() - start, hc, quiet))
    # The same B, sent under its own leaf hash, commits: the binding, not B, was refused.
    push(t, [txs_envelope(secret, chain_id, [b.leaf], [b])])
    hb = wait_committed(t, [b])["b"]
    release_on_every_node(t, b, hb)   # and the id computed here is the node's release id
    assert statuses(t, [a, d]) == {x: ["unknown"] * 3 for x in "ad"}
    t.assert_no_fork(LIVE)
    print("B committed at height %d, %.1f s after the first send" % (hb, time.monotonic() - start))


def test_leaf_count_mismatch_pools_nothing(net):
    t, secret, pub = net
    chain_id = bytes.fromhex(t.info["chain_id"])
    e, f, g = (pub.tx(x) for x in "efg")
    push(t, [
        # Leaf hashes for E and F, only E attached; E matches its entry but is not taken.
        txs_envelope(secret, chain_id, [e.leaf, f.leaf], [e]),
        # One leaf hash (E's), E and F attached.
        txs_envelope(secret, chain_id, [e.leaf], [e, f]),
        # A correct envelope after them: G commits.
        txs_envelope(secret, chain_id, [g.leaf], [g]),
    ])
    hg = wait_committed(t, [g])["g"]
    quiet = assert_never_known(t, [e, f], hg)
    print("after the mismatched envelopes: G at height %d; %s" % (hg, quiet))
    # E and F themselves are valid: sent with matching leaf hashes, both commit.
    push(t, [txs_envelope(secret, chain_id, [e.leaf, f.leaf], [e, f])])
    h = wait_committed(t, [e, f])
    release_on_every_node(t, e, h["e"])
    release_on_every_node(t, f, h["f"])
