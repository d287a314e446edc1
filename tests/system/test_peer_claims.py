"""A validator's claimed head steers block sync only while it serves what it claims (issue 10,
item 2). A validator that announced a head of 2^64-1 in signed status messages made every other
node keep trying to catch up with it, and their commit rate fell from 0.95 to ~0.55 blocks/s
until restarted. Here node 3 is killed and the test speaks for it (its key signs the envelopes):
it claims 2^64-1 again and again, and serves nothing. Each live node must set its claims aside
after a bound (its own counter says so), not let them steer its sync any more (its sync target
is below the claim), and keep committing."""
import time

from cbor_util import dumps
from test_equivocation import LIVE, net  # noqa: F401 (the fixture: node 3 dead, its key)
from test_testnet import Push, envelope, wait_for

PEER_KIND_STATUS = 4       # ul_peer_kind (schema/upledger.cddl)
FAKE_HEAD = 2**64 - 1
CLAIM_EVERY_S = 0.3        # the fake repeats its claim this often (a live node: every second)
SET_ASIDE_WAIT = 40        # seconds for every live node to set the claims aside


def sync_of(t, i):
    s = t.status(i)
    assert s and "sync" in s, (i, s)
    return int(s["sync"]["target"]), s["sync"]["claims_ignored"], s["height"]


def test_a_head_claimed_and_not_served_stops_steering_sync(net):
    t, secret = net
    chain_id = bytes.fromhex(t.info["chain_id"])
    claim = envelope(secret, chain_id, PEER_KIND_STATUS, dumps({1: FAKE_HEAD}))
    pushes = [Push(t.p2p(i)) for i in LIVE]

    def claim_again():
        for p in pushes:
            p.send(claim)

    try:
        claim_again()
        start = {i: t.height(i) for i in LIVE}

        def set_aside():
            claim_again()   # the claim keeps coming: only the nodes' judgement stops it
            time.sleep(CLAIM_EVERY_S)
            now = {i: sync_of(t, i) for i in LIVE}
            return now if all(ign >= 1 and tgt < FAKE_HEAD for tgt, ign, _ in now.values()) \
                else None
        wait_for("every live node to set node 3's claims aside", set_aside,
                 timeout=SET_ASIDE_WAIT, interval=0, detail=t.detail)
        # Still claimed, still set aside; and the chain goes on on every live node.
        top = max(start.values())
        deadline = time.monotonic() + SET_ASIDE_WAIT
        while min(t.height(i) for i in LIVE) < top + 5:
            assert time.monotonic() < deadline, t.detail()
            claim_again()
            time.sleep(CLAIM_EVERY_S)
            for i in LIVE:
                tgt, ign, _ = sync_of(t, i)
                assert tgt < FAKE_HEAD and ign >= 1, (i, tgt, ign)
    finally:
        for p in pushes:
            p.close()
    t.assert_no_fork(LIVE)
