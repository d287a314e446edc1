"""Equivocation end to end on a live 4-validator testnet: a validator that signs two different
prevotes for one height and round ends up in `upledger query evidence` on every node, and the
chain keeps committing and auditing; a single prevote is no evidence.

Node 3 is killed first (its own votes would interfere); the test then speaks for it with its
key, which testnet/up.sh leaves unencrypted: it signs prevotes (schema ul_vote, the vote tag)
and wraps each in a peer envelope (the peer tag), exactly as node/consensus.c sends votes, and
PUSHes them to the other validators' peer endpoints. 3 of 4 validators still commit.
"""
import json
import os
import random
import time

import pytest

from bip340 import pubkey as bip340_pubkey, sign as bip340_sign, upledger_digest
from cbor_util import dumps
from test_testnet import PEER_KIND_VOTE, LoopbackNet, Push, envelope, wait_for

HEARTBEAT_MS = 500       # an idle testnet commits about two blocks a second
ROUND_TIMEOUT_MS = 300   # a round whose proposer (the dead node 3) never proposes ends quickly
PORT_BASE = 29600        # this file's first port base (BASE..BASE+199)
EVIDENCE_WAIT = 30       # seconds for evidence to be recorded and reach every live node
QUIET_HEIGHTS = 5        # heights watched for (absent) evidence after a single prevote
SEND_TRIES = 3           # sets of conflicting prevotes at most (one that arrives late is dropped)
# --timeout-ms of the queries here: a loaded machine (fsync per signature and per commit) can
# hold a node's one loop for a while; a query is a bound, never a measurement.
CALL_MS = 10000

TAG_VOTE = "upledger/v1/vote"
VOTE_PREVOTE = 1         # ul_vote_type (schema/ul_schema.h)
ACCUSED = 3              # the validator the test speaks for
LIVE = [0, 1, 2]


class Net(LoopbackNet):
    """LoopbackNet with this file's heartbeat, round timeout and port bases (test_attachment.py
    uses it with its own first base)."""

    port_base = PORT_BASE

    def up(self):
        bases = [self.port_base] + [200 * random.randrange(100, 160) for _ in range(7)]
        for base in bases:
            p = self.script("up.sh", self.n, "--port", base, "--heartbeat-ms", HEARTBEAT_MS,
                            "--round-timeout-ms", ROUND_TIMEOUT_MS, "--wait", 60, check=False)
            if p.returncode == 3:   # a port of this base is in use: another base
                continue
            assert p.returncode == 0, "up.sh: rc %d\n%s%s%s" % (
                p.returncode, p.stdout, p.stderr, self.logs())
            self.info = json.loads((self.dir / "testnet.json").read_text())
            return self
        raise AssertionError("no free port base for a testnet after %d tries" % len(bases))

    def speak_for(self, i):
        """Kills node i and returns its secret key (up.sh leaves it unencrypted), so a test can
        sign in its name without its own votes interfering."""
        secret = bytes.fromhex(json.loads(
            (self.dir / ("node%d" % i) / "validator.key").read_text())["secret"])
        assert bip340_pubkey(secret).hex() == self.info["nodes"][i]["pubkey"], \
            "the keystore is not node %d's key" % i
        self.kill(i)
        assert not self.pid_alive(i)
        return secret

    def evidence(self, i):
        r = self.cli(i, "query", "evidence", json_out=True, timeout_ms=CALL_MS)
        assert r.rc == 0, r
        return r.json


@pytest.fixture
def net(tmp_path):
    """A 4-validator testnet whose node 3 is dead, and node 3's secret key; always torn down."""
    t = Net(tmp_path / "testnet", 4)
    try:
        t.up()
        yield t, t.speak_for(ACCUSED)
    finally:
        t.down()


def prevote(secret, chain_id, height, block_hash):
    """Node 3's VOTE payload {1: signer, 2: vote bytes, 3: vote sig} for a round-0 prevote
    (block_hash all zero: nil), the vote signed over chain id || vote bytes with the vote tag."""
    vote = dumps({1: VOTE_PREVOTE, 2: height, 3: 0, 4: block_hash,
                  5: int(time.time() * 1000)})
    sig = bip340_sign(secret, upledger_digest(TAG_VOTE, chain_id, vote), os.urandom(32))
    return dumps({1: bip340_pubkey(secret), 2: vote, 3: sig})


def push_votes(t, secret, payloads):
    """Sends each payload in an envelope signed by node 3 to every live validator's peer port."""
    chain_id = bytes.fromhex(t.info["chain_id"])
    msgs = [envelope(secret, chain_id, PEER_KIND_VOTE, p) for p in payloads]
    for i in LIVE:
        p = Push(t.p2p(i))
        try:
            for m in msgs:
                p.send(m)
        finally:
            p.close()


def height(t, i):
    r = t.cli(i, "query", "status", json_out=True, timeout_ms=CALL_MS)
    assert r.rc == 0, r
    return r.json["height"]


def next_heights(t):
    """The two heights a prevote is sure to be taken for: node 0's next height (the one it
    works on or is about to start) and the one after, which a node keeps until it gets there."""
    h = height(t, 0)
    return [h + 1, h + 2]


def test_conflicting_prevotes_become_evidence_on_every_node(net):
    t, secret = net
    chain_id = bytes.fromhex(t.info["chain_id"])
    accused = t.info["nodes"][ACCUSED]["pubkey"]
    for i in LIVE:
        assert t.evidence(i) == [], "evidence before any equivocation on node %d" % i
    heights = []

    def equivocate():
        """Node 3 prevotes nil and a random block at node 0's next two heights, round 0."""
        hs = next_heights(t)
        payloads = []
        for h in hs:
            payloads += [prevote(secret, chain_id, h, bytes(32)),
                         prevote(secret, chain_id, h, os.urandom(32))]
        push_votes(t, secret, payloads)
        heights.extend(hs)

    def recorded():
        ev = t.evidence(0)
        if any(e["validator"] == accused and e["type"] == "prevote" and e["round"] == 0 and
               e["height"] in heights for e in ev):
            return ev
        # Votes for a height a node has left are dropped: if both heights passed without a
        # record (the machine stalled between the status query and the send), send again.
        if height(t, 0) > max(heights) + 1 and len(heights) < 2 * SEND_TRIES:
            equivocate()
        return None
    equivocate()
    found = wait_for("evidence against node 3 on node 0", recorded, timeout=EVIDENCE_WAIT,
                     interval=0.2, detail=lambda: "prevotes sent for heights %s; %s" % (
                         heights, t.detail()))
    print("evidence on node 0: %s" % found)
    for e in found:   # nothing but what the test caused, each recorded once
        assert e["validator"] == accused and e["type"] == "prevote" and e["round"] == 0, found
        assert e["height"] in heights and e["recorded_at"] >= e["height"], found
    assert len({(e["height"], e["round"]) for e in found}) == len(found), found
    # The same records on the other validators once they hold the block that recorded them.
    top = max(e["recorded_at"] for e in found)
    t.wait_height(top, nodes=LIVE)
    for i in LIVE[1:]:
        wait_for("node %d's evidence to equal node 0's" % i,
                 lambda: t.evidence(i) == t.evidence(0), timeout=EVIDENCE_WAIT,
                 detail=t.detail)
    # The chain goes on, and its history (the evidence tx included) re-verifies.
    t.wait_height(height(t, 0) + 3, nodes=LIVE)
    t.assert_no_fork(LIVE)
    t.audit(0)


def test_single_prevote_is_no_evidence(net):
    t, secret = net
    chain_id = bytes.fromhex(t.info["chain_id"])
    heights = next_heights(t)
    payloads = [prevote(secret, chain_id, h, bytes(32)) for h in heights]
    push_votes(t, secret, payloads)
    push_votes(t, secret, payloads)   # a re-send of the same vote is no second vote
    t.wait_height(max(heights) + QUIET_HEIGHTS, nodes=LIVE)
    for i in LIVE:
        assert t.evidence(i) == [], "node %d recorded evidence for one prevote%s" % (
            i, t.logs())
    t.audit(0)
