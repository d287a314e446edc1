"""A validator's sign state lives beside its key, not in the chain database (issue 10, item 12).

A validator whose database is wiped while it is in the middle of a height (the network stalled,
so it has signed prevotes and precommits in several rounds of that height) is restarted on an
empty data directory: it must not sign again in a round it signed before (which, for every
round whose proposal it prevoted, would be a second, conflicting prevote: equivocation
evidence), and once the stalled validators return the network commits on. A validator whose
sign state file is missing while its key is there refuses to sign, says so in its log and in
`query status`, and signs again only once it has synced past the height it could have signed.
"""
import shutil
import subprocess
import time

from conftest import UPLEDGERD, free_port
from test_testnet import LoopbackNet, testnet, wait_for  # noqa: F401 (the fixture)

STALL_S = 2.0      # the stalled pair is left this long at one height
REPLAY_S = 6.0     # the restarted node gets this long to (wrongly) sign those rounds again
CONFLICT = "signed two different"


def log_of(t, i):
    return (t.dir / ("node%d" % i) / "node.log").read_text(errors="replace")


def signing(t, i):
    s = t.status(i)
    return s.get("signing") if s else None


def test_wiped_validator_neither_signs_twice_nor_stalls(testnet):
    t = testnet(4)
    t.wait_height(2)
    t.kill(2, 3)                     # 2 of 4: no quorum; nodes 0 and 1 are stuck at one height
    stuck = wait_for("node 1 to sign above the head", lambda: (
        lambda h, s: h if h is not None and s and s["height"] > h else None)(
            t.height(1), signing(t, 1)), detail=t.detail)
    time.sleep(STALL_S)
    assert t.height(0) == stuck and t.height(1) == stuck, t.detail()
    before = signing(t, 1)
    t.kill(1)
    shutil.rmtree(t.dir / "node1" / "db")  # the chain store is gone; key and config remain
    t.restart(1)
    # Everything node 1 reports having signed from its restart on, polled for a while: each
    # must come after what it had signed before it lost its database.
    seen, deadline = [], time.monotonic() + REPLAY_S
    while time.monotonic() < deadline:
        s = signing(t, 1)
        if s and s["signed_since_start"] > 0:   # something signed since the restart
            seen.append(s)
        time.sleep(0.02)
    assert t.height(1) == stuck, t.detail()
    t.restart(2, 3)
    t.wait_height(stuck + 3)
    for i in range(4):
        assert CONFLICT not in log_of(t, i), "node %d saw node 1 equivocate%s" % (i, t.logs(30))
        r = t.cli(i, "query", "evidence", json_out=True)
        assert r.rc == 0 and r.json == [], (i, r)
    assert before and seen, (before, seen)
    key = lambda s: (s["height"], s["round"], s["step"])
    first = min(seen, key=key)
    assert key(first) > key(before), "node 1 signed %s again after %s" % (first, before)
    t.assert_no_fork()


def test_missing_sign_state_waits_for_the_network(testnet):
    t = testnet(4)
    t.wait_height(2)
    t.kill(1)
    state = t.dir / "node1" / "validator.key.sign-state"
    assert state.exists()
    state.unlink()
    shutil.rmtree(t.dir / "node1" / "db")
    start = t.height(0)
    t.restart(1)
    assert "sign state" in log_of(t, 1) and "not signing" in log_of(t, 1), t.logs()
    # The other three commit on; node 1 syncs, then signs again from above their head.
    t.wait_height(start + 4)
    wait_for("node 1 to sign again", lambda: (signing(t, 1) or {}).get("state") == "ok",
             detail=t.detail)
    s = signing(t, 1)
    assert s["height"] > start + 1, s
    assert state.exists()
    for i in range(4):
        assert CONFLICT not in log_of(t, i), t.logs(30)


# ---- one --dev node: a corrupt, a missing and a reset sign state ---------------------------

def dev_run(data, *extra):
    return subprocess.run([str(UPLEDGERD), "--dev", "--data", str(data)] + list(extra),
                          capture_output=True, text=True, timeout=30)


def test_corrupt_sign_state_stops_the_node(node):
    node.stop()
    state = node.data / "validator.key.sign-state"
    good = state.read_bytes()
    for bad in (b"", b"not cbor", good[:-1], good[:-1] + bytes([good[-1] ^ 0x40])):
        state.write_bytes(bad)
        r = dev_run(node.data, "--listen", "tcp://127.0.0.1:%d" % free_port())
        assert r.returncode == 1, (bad, r)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and str(state) in lines[0], r.stderr
        assert "UL_E_SIGN_STATE" in lines[0] and "--reset-sign-state" in lines[0], r.stderr


def test_lone_node_without_sign_state_waits_for_its_operator(node):
    node.stop()
    state = node.data / "validator.key.sign-state"
    state.unlink()
    node.start()
    s = node.status()["signing"]
    assert s["state"] == "refused" and s["error"] == "UL_E_SIGN_STATE", s
    assert s["until_height"] == 0, s           # no peers: only the operator can end it
    assert "missing" in node.log_text() and "not signing" in node.log_text()
    node.stop()
    r = dev_run(node.data, "--reset-sign-state")
    assert r.returncode == 0 and state.exists(), r
    node.start()
    s = node.status()["signing"]
    assert s["state"] == "ok" and s["height"] == 0, s
