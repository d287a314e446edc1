"""upledger-tracker for the system tests: a tracker process on loopback, and simulated devices
that sign reports (docs/protocol.md "Device reports") with libsecp256k1 through bip340.py, so the
tests build reports with other code than the C codec the tracker decodes them with."""
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import bip340
import cbor_util
from conftest import BUILD, CMD_TIMEOUT, Node, free_port

UPTRACKER = BUILD / "upledger-tracker"
TAG_REPORT = "upledger/v1/report"
TAG_REPLY = "upledger/v1/reply"
RUNNING, TRIAL, FELL_BACK = 0, 1, 2
READY_TIMEOUT = 15


def tracker_cli(*args, timeout=CMD_TIMEOUT, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([str(UPTRACKER)] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    return p


def http(method, url, body=None, ctype="application/cbor", timeout=10, context=None):
    """(status, body bytes, content type) of one request; 4xx/5xx are returned, not raised."""
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.read(), r.headers.get("Content-Type")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type")


class Tracker:
    """One upledger-tracker home and its `run` process."""

    def __init__(self, home, log):
        self.home = Path(home)
        self.log = Path(log)
        self.proc = None
        self.url = None
        self.context = None  # an ssl context trusting the tracker's certificate (HTTPS)
        p = tracker_cli("init", "--dir", self.home, "--unencrypted-key")
        assert p.returncode == 0, p.stderr
        self.pubkey = bytes.fromhex(p.stdout.strip())

    def cli(self, *args, **kw):
        return tracker_cli(args[0], "--dir", self.home, *args[1:], **kw)

    def cli_json(self, *args):
        p = self.cli(*args, "--json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def start(self, node, poll_ms=200, tls=None, extra=()):
        assert self.proc is None
        for _ in range(8):
            port = free_port()
            args = [str(UPTRACKER), "run", "--dir", str(self.home), "--node", node.endpoint,
                    "--listen", "127.0.0.1:%d" % port, "--poll-ms", str(poll_ms)]
            if tls:
                args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
            args += [str(a) for a in extra]
            self.context = ssl.create_default_context(cafile=str(tls[0])) if tls else None
            offset = self.log.stat().st_size if self.log.exists() else 0
            with open(self.log, "ab") as logf:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=logf, start_new_session=True)
            self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)
            deadline = time.monotonic() + READY_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                if "serving" in self.log_text(offset):
                    return self
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.kill()
                raise AssertionError("tracker not ready:\n" + self.log_text(offset))
            self.proc = None
            if "cannot serve" not in self.log_text(offset):
                raise AssertionError("tracker exited:\n" + self.log_text(offset))
        raise AssertionError("no free port for the tracker")

    # A process and its log, handled as conftest's Node handles upledgerd's.
    log_text = Node.log_text
    stop = Node.stop
    kill = Node.kill

    def post(self, body, ctype="application/cbor"):
        return http("POST", self.url + "/v1/reports", body, ctype, context=self.context)

    def get(self, path):
        status, body, _ = http("GET", self.url + path, context=self.context)
        return status, json.loads(body)

    def devices(self, status, **filters):
        """Every device key (hex) in a status, following the cursor."""
        keys, after = [], 0
        while True:
            q = "&".join(["status=" + status, "limit=50", "after=%d" % after] +
                         ["%s=%s" % kv for kv in filters.items()])
            code, page = self.get("/v1/devices?" + q)
            assert code == 200, page
            keys += [d["key"] for d in page["devices"]]
            if page["next"] is None:
                return keys
            after = page["next"]

    def summary(self):
        code, s = self.get("/v1/summary")
        assert code == 200, s
        return s

    def wait_for(self, pred, timeout=20, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        raise AssertionError("tracker: %s not reached in %ss; summary %s"
                             % (what, timeout, self.summary()))


class Device:
    """A simulated device: its key, its counter and what it runs."""

    def __init__(self, hw="hw-a"):
        while True:
            self.seckey = os.urandom(32)
            try:
                self.pubkey = bip340.pubkey(self.seckey)
                break
            except ValueError:
                continue
        self.hw = hw
        self.counter = 0
        self.components = {}  # ns -> [release id bytes, seq, state, attempt or None]

    @property
    def key(self):
        return self.pubkey.hex()

    def run(self, ns, release_id, seq, state=RUNNING, attempt=None):
        """attempt: (release id bytes, ul_err result, unix time) or None."""
        self.components[ns] = [release_id, seq, state, attempt]

    def report(self, tracker_pk, chain_id, counter=None, reason=0, now=None, sign_with=None,
               chain=None):
        """A signed report; counter None takes the next one."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        comps = []
        for ns in sorted(self.components, key=lambda n: n.encode()):
            rid, seq, state, attempt = self.components[ns]
            c = [ns, rid, seq, state]
            if attempt is not None:
                c.append(list(attempt))
            comps.append(c)
        body = {1: 1, 2: self.pubkey, 3: tracker_pk, 4: counter,
                5: int(now if now is not None else time.time()), 6: reason, 7: self.hw,
                8: 1, 9: b"\x11" * 32, 10: comps}
        digest = bip340.upledger_digest(TAG_REPORT, chain or chain_id, cbor_util.dumps(body))
        body[11] = bip340.sign(sign_with or self.seckey, digest)
        return cbor_util.dumps(body)


def reply_of(body):
    """The tracker's reply as a dict: 1 device, 2 counter, 3 update, 4 ns, 5 release id, 6 sig."""
    return cbor_util.loads(body)
