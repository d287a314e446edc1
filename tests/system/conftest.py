"""Fixtures and helpers for the upledger system tests.

Binaries come from $BUILD (default "build", relative to the repository root). Every
subprocess gets a timeout; every node started here is stopped at teardown (SIGTERM, then
SIGKILL after a bounded wait).
"""
import hashlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_build = Path(os.environ.get("BUILD", "build"))
BUILD = _build if _build.is_absolute() else REPO / _build
UPLEDGER = BUILD / "upledger"
UPLEDGERD = BUILD / "upledgerd"

CMD_TIMEOUT = 60          # seconds, any one CLI call
NODE_READY_TIMEOUT = 10   # seconds for a node to answer `query status`
NODE_STOP_TIMEOUT = 10    # seconds after SIGTERM before SIGKILL
HEARTBEAT_MS = 3600000    # height moves only with transactions
CHECKPOINT_MS = 0         # no freshness checkpoints: bundles carry the head's commit

# Error names and numbers, read from the one list in schema/ul_err.h.
ERR_NUM = {m.group(1): int(m.group(2)) for m in re.finditer(
    r"X\((UL_[A-Z0-9_]+),\s*(\d+),", (REPO / "schema" / "ul_err.h").read_text())}
ERR_NAME = {v: k for k, v in ERR_NUM.items()}
MAX_LABEL_LEN = 128
MAX_HW = 16


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Result:
    def __init__(self, argv, proc):
        self.argv = [str(a) for a in argv]
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError("stdout is not JSON (%s): %s" % (e, self)) from None

    @property
    def error_name(self):
        """The UL_E_... name from the one-line error "upledger: ...: message (UL_E_NAME)"."""
        m = re.search(r"\((UL_E_[A-Z0-9_]+)\)\s*$", self.err)
        return m.group(1) if m else None

    def __repr__(self):
        return "<%s: rc=%s\n--- stdout\n%s--- stderr\n%s>" % (
            " ".join(self.argv), self.rc, self.out, self.err)


def cli_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("UPLEDGER_PASSPHRASE", "UPLEDGER_NODE", "UPLEDGER_PROGRESS")}
    env.update(extra or {})
    return env


def run_cli(args, node=None, json_out=False, env=None, timeout=CMD_TIMEOUT, timeout_ms=None):
    """Runs `upledger [--node EP] [--json] [--timeout-ms N] ARGS` in a new session (no
    controlling terminal, so nothing can prompt) and returns a Result."""
    argv = [str(UPLEDGER)]
    if node:
        argv += ["--node", node]
    if json_out:
        argv.append("--json")
    if timeout_ms:
        argv += ["--timeout-ms", str(timeout_ms)]
    argv += [str(a) for a in args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=cli_env(env), stdin=subprocess.DEVNULL, start_new_session=True)
    return Result(argv, proc)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `upledgerd --dev` process on a data directory; can be stopped, killed, restarted."""

    def __init__(self, data, log, heartbeat_ms=HEARTBEAT_MS, checkpoint_ms=CHECKPOINT_MS,
                 http=False, extra=()):
        self.http = http  # serve the HTTP API on a free port (self.http_url); else --http off
        self.extra = list(extra)  # more upledgerd options
        self.http_url = None
        self.heartbeat_ms = heartbeat_ms  # None: the node's default (no empty blocks)
        self.checkpoint_ms = checkpoint_ms  # None: the node's default (60 s); 0: none
        self.data = Path(data)
        self.log = Path(log)
        self.proc = None
        self.endpoint = None
        self.port = None

    @property
    def genesis(self):
        return self.data / "genesis.cbor"

    def start(self, port=None, timeout=NODE_READY_TIMEOUT):
        assert self.proc is None, "node already running"
        for attempt in range(8):
            p = port if (port and attempt == 0) else free_port()
            ep = "tcp://127.0.0.1:%d" % p
            offset = self.log.stat().st_size if self.log.exists() else 0
            with open(self.log, "ab") as logf:
                opts = []
                if self.heartbeat_ms is not None:
                    opts += ["--heartbeat-ms", str(self.heartbeat_ms)]
                if self.checkpoint_ms is not None:
                    opts += ["--checkpoint-ms", str(self.checkpoint_ms)]
                # --dev alone serves HTTP at 127.0.0.1:7480: tests never take that port
                hp = free_port() if self.http else None
                opts += ["--http", "127.0.0.1:%d" % hp if hp else "off"]
                self.http_url = "http://127.0.0.1:%d" % hp if hp else None
                opts += self.extra
                self.proc = subprocess.Popen(
                    [str(UPLEDGERD), "--dev", "--data", str(self.data), "--listen", ep] + opts,
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
            self.endpoint, self.port = ep, p
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                r = run_cli(["query", "status"], node=ep, timeout_ms=300, timeout=5)
                if r.rc == 0:
                    return self
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.kill()
                raise AssertionError("node on %s not ready within %ss:\n%s"
                                     % (ep, timeout, self.log_text(offset)))
            rc = self.proc.wait(timeout=5)
            text = self.log_text(offset)
            self.proc = None
            if "address already in use" not in text:
                raise AssertionError("upledgerd exited (rc %s):\n%s" % (rc, text))
        raise AssertionError("no free port for upledgerd after 8 tries")

    def log_text(self, offset=0):
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=NODE_STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status (None if not running)."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        return p.returncode

    def kill(self):
        """kill -9: no chance to flush or close anything."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        return p.returncode

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cli(self, *args, json_out=False, env=None, timeout=CMD_TIMEOUT, timeout_ms=None):
        return run_cli(args, node=self.endpoint, json_out=json_out, env=env, timeout=timeout,
                       timeout_ms=timeout_ms)

    def status(self):
        r = self.cli("query", "status", json_out=True)
        assert r.rc == 0, r
        return r.json


def chain_state(node):
    """What a rejection must not change: height, release-log size, head hash, pending."""
    s = node.status()
    return {"height": s["height"], "log_size": s["log_size"],
            "head": (s.get("head") or {}).get("hash"), "pending": s["pending"]}


class Key:
    def __init__(self, path, pubkey, passphrase=None):
        self.path = Path(path)
        self.pubkey = pubkey
        self.passphrase = passphrase

    @property
    def env(self):
        return {"UPLEDGER_PASSPHRASE": self.passphrase} if self.passphrase is not None else None

    def __str__(self):
        return str(self.path)

    def __fspath__(self):
        return str(self.path)


class Ctx:
    """A test's working area around one node: keys, namespaces, manifests, images."""

    _names = itertools.count(1)

    def __init__(self, node, tmp):
        self.node = node
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def cli(self, *args, **kw):
        return self.node.cli(*args, **kw)

    def unique(self, stem):
        return "%s%d" % (stem, next(self._names))

    def keygen(self, passphrase=None):
        path = self.tmp / (self.unique("key") + ".json")
        if passphrase is None:
            r = run_cli(["keygen", "--out", path, "--insecure-no-passphrase"], json_out=True)
        else:
            r = run_cli(["keygen", "--out", path], json_out=True,
                        env={"UPLEDGER_PASSPHRASE": passphrase})
        assert r.rc == 0, r
        return Key(path, r.json["pubkey"], passphrase)

    def register(self, ns, key, owners=(), publishers=()):
        args = ["namespace", "register", ns, "--key", key]
        for o in owners:
            args += ["--owner", o]
        for p in publishers:
            args += ["--publisher", p]
        r = self.cli(*args, json_out=True, env=key.env)
        assert r.rc == 0, r
        assert r.json["committed"] is True and r.json["height"] >= 1, r
        return r.json

    def new_ns(self):
        return "%s/fw" % self.unique("vendor")

    def publisher(self, passphrase=None):
        """A fresh key and a namespace it owns and publishes to."""
        key = self.keygen(passphrase)
        ns = self.new_ns()
        self.register(ns, key)
        return key, ns

    def manifest(self, ns, seq, raw=None, drop=(), **fields):
        """Writes a manifest; fields override the defaults, drop removes fields; raw writes text
        as is. Returns the path."""
        path = self.tmp / (self.unique("manifest") + ".json")
        if raw is not None:
            path.write_text(raw)
            return path
        m = {"namespace": ns, "provider": "Acme Corp", "version": "1.0.%d" % seq,
             "sequence": seq, "hardware": ["hw-a"], "kind": "security",
             "release_time": "2026-01-01T00:00:00Z"}
        m.update(fields)
        for k in drop:
            m.pop(k, None)
        path.write_text(json.dumps(m))
        return path

    def image(self, data=None, name=None):
        path = self.tmp / (name or self.unique("image") + ".bin")
        if data is None:
            data = os.urandom(1000 + next(self._names) * 7)
        path.write_bytes(data)
        return path

    def publish(self, manifest, image, key, json_out=True, extra=()):
        return self.cli("publish", manifest, "--image", image, "--key", key, *extra,
                        json_out=json_out, env=key.env)

    def publish_ok(self, ns, seq, key, image=None, **fields):
        image = image or self.image()
        r = self.publish(self.manifest(ns, seq, **fields), image, key)
        assert r.rc == 0, r
        assert r.json["committed"] is True, r
        return r.json["id"], image, r.json["height"]


@pytest.fixture
def node_factory(tmp_path):
    nodes = []

    def make(name="node", start=True, heartbeat_ms=HEARTBEAT_MS, checkpoint_ms=CHECKPOINT_MS,
             http=False):
        n = Node(tmp_path / name, tmp_path / (name + ".log"), heartbeat_ms, checkpoint_ms, http)
        nodes.append(n)
        if start:
            n.start()
        return n

    yield make
    for n in nodes:
        n.stop()


@pytest.fixture
def node(node_factory):
    return node_factory()


@pytest.fixture
def ctx(node, tmp_path):
    return Ctx(node, tmp_path / "work")


@contextmanager
def unchanged(node, settle_s=10.0):
    """Asserts that what runs inside changes nothing on the chain (chain_state before = after).
    The snapshot waits (up to settle_s) for what an earlier step left pooled to commit: blocks
    start up to 200 ms after the last one, so a tx accepted just before may still be pending."""
    deadline = time.monotonic() + settle_s
    before = chain_state(node)
    while before["pending"] and time.monotonic() < deadline:
        time.sleep(0.05)
        before = chain_state(node)
    yield before
    assert chain_state(node) == before, "a rejected input changed the chain"


def assert_rejected(r, name):
    """rc 1 and the exact error name in the one-line message (and the JSON error, if --json)."""
    assert name in ERR_NUM, name
    assert r.rc == 1, r
    assert r.error_name == name, r
    if "--json" in r.argv:
        assert r.json["error"]["name"] == name, r
        assert r.json["error"]["code"] == ERR_NUM[name], r
