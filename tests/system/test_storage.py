"""Storage faults: bytes flipped in a stopped node's LevelDB table or log (the node refuses to
start, naming the file and what it could not read, with a repair instruction); `audit --data`
never changes the directory it audits; a full disk (a small tmpfs) is reported as "no space
left on device" and the node recovers by itself, pool kept, when space returns.
"""
import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import UPLEDGERD, Ctx, free_port, run_cli

EXIT_TIMEOUT = 30  # seconds for a node that refuses to start to exit


def flip(path, offset, n=8):
    """XORs n bytes at offset with 0xff: eight bytes flipped, as the review did."""
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(n)
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in old))


def start_refused(node):
    """Starts the node's upledgerd and expects it to exit on its own. Returns (rc, log)."""
    offset = node.log.stat().st_size if node.log.exists() else 0
    with open(node.log, "ab") as logf:
        p = subprocess.Popen([str(UPLEDGERD), "--dev", "--data", str(node.data), "--listen",
                              "tcp://127.0.0.1:%d" % free_port()],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             start_new_session=True)
    try:
        rc = p.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
        raise AssertionError("node started on a damaged store:\n" + node.log_text(offset))
    return rc, node.log_text(offset)


def db_files(node, suffix):
    return sorted((node.data / "db").glob("*" + suffix), key=lambda p: p.stat().st_size)


def chain_with_tables(node, ctx, releases=6):
    """A stopped node whose blocks are in a table file (.ldb): a restart flushes the log."""
    key, ns = ctx.publisher()
    for seq in range(1, releases + 1):
        ctx.publish_ok(ns, seq, key)
    node.stop()
    node.start()
    node.stop()
    tables = db_files(node, ".ldb")
    assert tables, list((node.data / "db").iterdir())
    return tables[-1]


def assert_damage_reported(text, name):
    assert "is damaged" in text and "Corruption" in text, text
    assert name in text, text                     # the file
    assert "UL_E_CORRUPT" in text, text
    assert "aside and restart" in text, text      # the repair instruction


def test_table_damage_refuses_start(node, ctx):
    table = chain_with_tables(node, ctx)
    flip(table, 64)                               # inside the first data block
    rc, text = start_refused(node)
    assert rc != 0, text
    assert_damage_reported(text, table.name)
    assert "height" in text, text                 # where in the chain: the keys around it


def test_damage_met_while_running_stops_the_node(node, ctx):
    """Damage that appears under a running node (its tables are mapped: the change shows) is
    met by the first read of the block: that query gets UL_E_CORRUPT, and the node stops."""
    key, ns = ctx.publisher()
    ids = [ctx.publish_ok(ns, seq, key)[0] for seq in range(1, 9)]
    node.stop()
    node.start()                                  # the restart flushed the log into a table
    table = db_files(node, ".ldb")[-1]
    offset = node.log.stat().st_size
    for off in range(64, table.stat().st_size * 7 // 10, 2048):  # data blocks, not the index
        flip(table, off)
    answers = []
    for i in ids:                                 # until the first read of a damaged block
        answers.append(node.cli("query", "release", i))
        if answers[-1].rc != 0:
            break
    assert answers[-1].rc == 1 and answers[-1].error_name == "UL_E_CORRUPT", answers
    p, node.proc = node.proc, None
    rc = p.wait(timeout=EXIT_TIMEOUT)
    assert rc != 0
    assert_damage_reported(node.log_text(offset), table.name)


def test_log_damage_refuses_start(node, ctx):
    key, ns = ctx.publisher()
    for seq in range(1, 5):
        ctx.publish_ok(ns, seq, key)
    node.stop()
    log = db_files(node, ".log")[-1]
    assert log.stat().st_size > 1000, log.stat()
    flip(log, log.stat().st_size // 2)
    rc, text = start_refused(node)
    assert rc != 0, text
    assert_damage_reported(text, log.name)
    # The refusal itself leaves the log in place: the evidence is kept for the operator.
    assert log.exists()


def snapshot(data):
    """SHA-256 of every file under data, by relative path: what audit must leave as it was."""
    data = Path(data)
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["none", "table", "log"])
def test_audit_data_changes_nothing(node, ctx, damage):
    table = chain_with_tables(node, ctx)
    node.start()                                  # more blocks, now in the write-ahead log
    key, ns = ctx.publisher()
    ctx.publish_ok(ns, 1, key)
    node.stop()
    log = db_files(node, ".log")[-1]
    damaged = {"none": None, "table": table, "log": log}[damage]
    if damaged is not None:
        flip(damaged, 64 if damaged == table else damaged.stat().st_size // 2)
    before = snapshot(node.data)
    r = run_cli(["audit", "--data", node.data])
    assert snapshot(node.data) == before, r       # not a byte, not a file added or removed
    if damaged is None:
        assert r.rc == 0 and "audit passed" in r.out, r
    else:
        assert r.rc == 1 and r.error_name == "UL_E_CORRUPT", r
        assert str(damaged) in r.err, r           # the file, under its own path
    r2 = run_cli(["audit", "--data", node.data])  # and again: the same verdict
    assert r2.rc == r.rc and snapshot(node.data) == before, r2


# ---- a full disk ---------------------------------------------------------------------------

TMPFS_BYTES = 16 << 20       # room for a dev chain and a filler
FULL_DISK_TIMEOUT = 30       # seconds for the node to report, then to recover


def wait_for(what, fn, timeout=FULL_DISK_TIMEOUT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def fill(path):
    """Writes path until the filesystem is full (ENOSPC), in ever smaller pieces."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 64 << 10, 4 << 10, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == 28, e  # ENOSPC
    os.sync()


@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % TMPFS_BYTES, "tmpfs",
                            str(mnt)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip("cannot mount a tmpfs: %s" % e)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (root and mount permission needed): %s"
                    % r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def test_full_disk_reported_and_recovered(node_factory, tmpfs, tmp_path):
    node = node_factory("node", start=False)
    node.data = tmpfs / "node"                    # the data dir on the small tmpfs; log outside
    node.start()
    ctx = Ctx(node, tmp_path / "work")
    key, ns = ctx.publisher()
    ctx.publish_ok(ns, 1, key)
    assert node.status()["storage"] == {"ok": True}, node.status()

    filler = tmpfs / "filler"
    fill(filler)
    # The last page of each file may still have room for a block or two: publish until a write
    # fails (each one waits for its commit only a moment).
    ids, st = [], None
    for seq in range(2, 40):
        r = ctx.publish(ctx.manifest(ns, seq), ctx.image(), key, extra=("--no-wait",))
        assert r.rc == 0, r
        ids.append(r.json["id"])
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and st is None:
            s = node.status()
            st = s if not s["storage"].get("ok") else None
            time.sleep(0.05)
        if st is not None:
            break
    assert st is not None, "no write failed on a full disk"
    rid = ids[-1]
    assert st["storage"]["error"] == "UL_E_NO_SPACE", st
    assert st["storage"]["message"] == "no space left on device", st
    # The first write to fail names its file: the store's log, or the sign state beside the key.
    assert str(tmpfs / "node") in st["storage"]["detail"], st
    assert st["pending"] >= 1, st                 # the release waits in the pool
    human = node.cli("query", "status")
    assert human.rc == 0 and "no space left on device" in human.out, human
    log = node.log_text()
    assert "no space left on device" in log and str(tmpfs / "node") in log, log
    assert node.cli("query", "release", rid).rc == 1

    filler.unlink()                               # space returns: the node recovers by itself
    wait_for("the pending release to commit", lambda: node.cli("query", "release", rid).rc == 0)
    st = node.status()
    assert st["storage"] == {"ok": True} and st["pending"] == 0, st
    ctx.publish_ok(ns, seq + 1, key)              # and goes on committing
    node.stop()
    node.start()                                  # nothing torn: it reopens, all there
    for i in ids:
        assert node.cli("query", "release", i).rc == 0, i
    node.stop()
    r = run_cli(["audit", "--data", node.data])
    assert r.rc == 0, r
