"""Crash test: kill -9 the node at random moments under a stream of publishes, restart it on
the same data directory, and check that nothing the CLI reported committed was lost and that
the chain still audits, over the wire and from the stopped node's data directory.

The seed is printed (pytest -s shows it; it is also in the failure message); rerun one with
UL_CRASH_SEED=N. UL_CRASH_ROUNDS sets the number of kills (default 8; more, up to four times as
many, while fewer publishes than that have committed). After every other kill the
dead node's data directory is audited as it was left, before the restart recovers anything.
"""
import os
import random
import threading
import time

import pytest

from conftest import ERR_NUM, Ctx, run_cli

ROUNDS = int(os.environ.get("UL_CRASH_ROUNDS", "8"))
CALL_TIMEOUT_MS = 1500   # a publish in flight when the node dies gives up after this
# What a publish may fail with when the node dies under it: the connection or the reply is
# lost, or the restarted node no longer knows a transaction that was still pending.
CRASH_ERRORS = {"UL_E_NET", "UL_E_TIMEOUT", "UL_E_NOT_FOUND"}
# nanomsg resends a request whose connection dropped once it reconnects, so a publish committed
# just before the kill can reach the restarted node again. The CLI must recognise its own
# committed bytes and report success, never UL_E_DUPLICATE: that would be an "unexpected" here.


class Writer:
    """Publishes releases with increasing sequences to one namespace until told to stop."""

    def __init__(self, ctx, name):
        self.ctx = ctx
        self.key, self.ns = ctx.publisher()
        self.image = ctx.image(os.urandom(2048), name="%s.bin" % name)
        self.seq = 0
        self.committed = {}   # release id -> (sequence, height) the CLI reported
        self.uncertain = 0    # publishes that failed with a crash error
        self.unexpected = []  # any other failure

    def run(self, stop):
        while not stop.is_set():
            self.seq += 1
            m = self.ctx.manifest(self.ns, self.seq, hardware=["hw-1", "hw-2"])
            r = self.ctx.node.cli("publish", m, "--image", self.image, "--key", self.key,
                                  json_out=True, timeout_ms=CALL_TIMEOUT_MS, timeout=30)
            if r.rc == 0 and r.json.get("committed") is True:
                self.committed[r.json["id"]] = (self.seq, r.json["height"])
            elif r.rc == 1 and r.error_name in CRASH_ERRORS:
                self.uncertain += 1
            else:
                self.unexpected.append(r)


def check_committed(node, writers, seed):
    for w in writers:
        for rid, (seq, height) in w.committed.items():
            q = node.cli("query", "release", rid, json_out=True)
            assert q.rc == 0, "seed %d: release %s (seq %d, reported committed at height %d) " \
                              "lost: %r" % (seed, rid, seq, height, q)
            assert q.json["sequence"] == seq and q.json["height"] == height, (seed, q)


def test_kill9_under_publish_stream(node_factory, tmp_path):
    seed = int(os.environ.get("UL_CRASH_SEED", str(random.randrange(1 << 31))))
    print("\ncrash test seed %d (rerun with UL_CRASH_SEED=%d)" % (seed, seed))
    rng = random.Random(seed)
    node = node_factory("crash")
    ctx = Ctx(node, tmp_path / "work")
    writers = [Writer(ctx, "w%d" % i) for i in range(2)]
    heights = []
    t0 = time.monotonic()
    # A kill comes 0.05-0.5 s into a round, often before the round's first block (a block
    # starts at least 300 ms after the last commit or the start): a seed whose rounds are
    # mostly short commits little. Rounds go on past ROUNDS, up to 4 times as many, until the
    # writers' committed publishes are at least ROUNDS.
    rnd = 0
    while rnd < ROUNDS or (sum(len(w.committed) for w in writers) < ROUNDS and rnd < 4 * ROUNDS):
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in writers]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.5))
        node.kill()
        stop.set()
        if rnd % 2 == 1:
            d = run_cli(["audit", "--data", node.data], json_out=True)
            assert d.rc == 0, "seed %d: data dir right after kill -9 fails audit: %r" % (seed, d)
        # A restart on the same port lets publishes still in flight reconnect and poll the
        # restarted node, as a real client would.
        node.start(port=node.port)
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "seed %d: a publisher hung" % seed
        st = node.status()
        heights.append(st["height"])
        # Nothing reported committed so far is missing, and the height never went back
        # below what a committed publish reported.
        check_committed(node, writers, seed)
        top = max([h for w in writers for _, h in w.committed.values()] or [0])
        assert st["height"] >= top, (seed, rnd, st, top)
        rnd += 1
    for w in writers:
        assert not w.unexpected, "seed %d: unexpected publish failures: %r" % (seed,
                                                                              w.unexpected[:3])
    total = sum(len(w.committed) for w in writers)
    assert total >= ROUNDS, "seed %d: too few publishes committed (%d in %d rounds) to mean " \
                            "anything" % (seed, total, rnd)
    assert heights == sorted(heights), (seed, heights)

    # The chain still takes new releases after the crashes.
    for w in writers:
        w.seq += 1
        rid, _, h = ctx.publish_ok(w.ns, w.seq, w.key, image=w.image, hardware=["hw-1", "hw-2"])
        w.committed[rid] = (w.seq, h)
    check_committed(node, writers, seed)
    st = node.status()
    assert st["log_size"] >= total + len(writers)

    a = node.cli("audit", json_out=True)
    assert a.rc == 0, (seed, a)
    assert a.json["height"] == st["height"] and a.json["head"] == st["head"]["hash"]
    assert a.json["releases"] == st["log_size"]
    assert node.stop() == 0
    d = run_cli(["audit", "--data", node.data], json_out=True)
    assert d.rc == 0, (seed, d)
    assert d.json["head"] == st["head"]["hash"] and d.json["releases"] == st["log_size"]
    print("crash test: %d rounds, %d releases reported committed, %d uncertain, final height "
          "%d, %.1f s" % (ROUNDS, total, sum(w.uncertain for w in writers), st["height"],
                          time.monotonic() - t0))


