"""upledger-device reporting to a status tracker (issue 13 item 4; docs/protocol.md section 14),
against a tracker written here in Python: it verifies each report by an independent computation
of the signed bytes (hashlib and the system libsecp256k1), checks counters, and answers with a
reply signed by its own key, or is down, slow, or answers with a bad signature. The device's
report key, its persisted counter, the reports after start, update, confirm and fallback, the
`report` command with --update-on-reply, and that a tracker never blocks or fails an update."""
import http.server
import json
import os
import stat
import subprocess
import threading
import time

import pytest

import bip340
import cbor_util
from conftest import run_cli
from device_util import DEVICE, Stalled, device_env, status
from test_device import Fleet, servers  # noqa: F401 (fixture)

TRACKER_SK = bytes([0x44]) * 32
TRACKER_PK = bip340.pubkey(TRACKER_SK)
PASS = "device report passphrase"


class Tracker:
    """POST /v1/reports: verify, record, answer. `advice` (ns, release id) makes it say update;
    `bad_sig` makes its replies carry a wrong signature."""

    def __init__(self, chain_id):
        self.chain_id = chain_id
        self.reports = []   # decoded, verified reports in arrival order
        self.last = {}      # device key -> last counter
        self.advice = None
        self.bad_sig = False
        t = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code, out = t.handle(self.path, self.headers["Content-Type"], body)
                self.send_response(code)
                self.send_header("Content-Type", "application/cbor")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, path, ctype, body):
        if path != "/v1/reports" or ctype != "application/cbor":
            return 404, b""
        m = cbor_util.loads(body)
        assert cbor_util.dumps(m) == body  # canonical
        digest = bip340.record_digest(bip340.TAG_REPORT, self.chain_id, body)
        if not bip340.verify(m[2], digest, m[11]) or m[3] != TRACKER_PK:
            return 403, b""
        if m[4] <= self.last.get(m[2], 0):
            return 409, b""
        self.last[m[2]] = m[4]
        self.reports.append(m)
        reply = {1: m[2], 2: m[4], 3: 0, 6: bytes(64)}
        if self.advice:
            reply.update({3: 1, 4: self.advice[0], 5: self.advice[1]})
        rec = cbor_util.dumps(reply)
        sig = bip340.sign(TRACKER_SK, bip340.record_digest(bip340.TAG_REPLY, self.chain_id, rec))
        if self.bad_sig:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        return 200, rec[:-64] + sig

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def run(*args, env=None, timeout=60):
    e = device_env()
    e.pop("UPLEDGER_PASSPHRASE", None)
    e.update(env or {})
    p = subprocess.run([str(DEVICE)] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    return p


@pytest.fixture
def fleet(ctx, tmp_path):
    return Fleet(ctx, tmp_path / "fleet")


@pytest.fixture
def tracker(fleet):
    fleet.export()
    chain_id = bytes.fromhex(json.loads(run("status", "--state", fleet.init("probe"),
                                            "--json").stdout)["chain_id"])
    t = Tracker(chain_id)
    yield t
    t.close()


def init(fleet, tracker, name, *extra, env=None):
    state = fleet.tmp / name
    r = run("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-a", "--state", state,
            "--tracker", tracker.url, "--tracker-key", TRACKER_PK.hex(), *extra, env=env)
    assert r.returncode == 0, r
    pub = r.stdout.split("report key ")[1].split()[0]
    return state, bytes.fromhex(pub)


def test_reports_after_start_update_confirm(fleet, servers, tracker):  # noqa: F811
    rid = bytes.fromhex(fleet.publish(1))
    fleet.export()
    m = servers("mirror", fleet.out)
    state, pub = init(fleet, tracker, "d1", "--plain-key")
    key = json.loads((state / "report.key").read_text())
    assert key["format"] == "upledger-key/1" and key["kdf"] == "none"
    assert key["pubkey"] == pub.hex()
    assert stat.S_IMODE(os.stat(state / "report.key").st_mode) == 0o600
    assert run("start", "--state", state).returncode == 0
    r = run("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state)
    assert r.returncode == 0 and "staged" in r.stdout and r.stderr == "", r
    assert run("confirm", "--state", state).returncode == 0
    reasons = [x[6] for x in tracker.reports]
    assert reasons == [1, 2, 3]  # start, update, confirm
    assert [x[4] for x in tracker.reports] == [1, 2, 3]
    start, upd, conf = tracker.reports
    assert start[2] == pub and start[7] == "hw-a" and start[10] == []
    (c,) = upd[10]
    assert c[0] == fleet.ns and c[1] == rid and c[2] == 1 and c[3] == 1  # on trial
    assert c[4][0] == rid and c[4][1] == 0  # the attempt: that release, UL_OK
    assert upd[8] == status(state)["height"] > 0
    (c,) = conf[10]
    assert c[3] == 0 and c[1] == rid and c[4][0] == rid  # running, the attempt remembered
    # The counter is the device's own, persisted: a new tracker process sees it grow.
    assert cbor_util.loads((state / "report.cbor").read_bytes())[4] == 3


def test_fallback_reported(fleet, servers, tracker):  # noqa: F811
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    state, _ = init(fleet, tracker, "d2", "--plain-key")
    assert run("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
               "--health-check", "false").returncode == 1
    assert tracker.reports[-1][10][0][4][1] == 69  # UL_E_PENDING: staged, not healthy
    assert run("start", "--state", state).returncode == 0
    last = tracker.reports[-1]
    assert last[6] == 4 and last[10][0][3] == 2  # fallback; the component fell back


def test_encrypted_key_needs_its_passphrase(fleet, servers, tracker):  # noqa: F811
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    r = run("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-a", "--state",
            fleet.tmp / "nopass", "--tracker", tracker.url, "--tracker-key", TRACKER_PK.hex())
    assert r.returncode == 1 and "UL_E_PASSPHRASE" in r.stderr, r
    assert not (fleet.tmp / "nopass" / "state.cbor").exists()
    state, pub = init(fleet, tracker, "d3", env={"UPLEDGER_PASSPHRASE": PASS})
    key = json.loads((state / "report.key").read_text())
    assert key["kdf"] == "argon2id13" and "secret" not in key
    # Without the passphrase the update still happens; the report is skipped, one line says why.
    r = run("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state)
    assert r.returncode == 0 and "staged" in r.stdout, r
    assert "tracker" in r.stderr and "UL_E_PASSPHRASE" in r.stderr, r
    assert tracker.reports == []
    passfile = fleet.tmp / "pass"
    passfile.write_text(PASS + "\n")
    assert run("confirm", "--state", state, "--passphrase-file", passfile).returncode == 0
    assert [x[2] for x in tracker.reports] == [pub]
    # The format is the CLI's: a key `upledger keygen` encrypted signs the device's reports.
    cli_key = fleet.tmp / "cli.key"
    r = run_cli(["keygen", "--out", cli_key], json_out=True, env={"UPLEDGER_PASSPHRASE": PASS})
    assert r.rc == 0 and r.json["encrypted"] is True, r
    (state / "report.key").unlink()
    cli_key.rename(state / "report.key")
    assert json.loads((state / "report.key").read_text())["kdf"] == "argon2id13"
    p = run("report", "--state", state, env={"UPLEDGER_PASSPHRASE": PASS})
    assert p.returncode == 0, p
    assert tracker.reports[-1][2] == bytes.fromhex(r.json["pubkey"])
    # A wrong passphrase: no report, one line.
    p = run("report", "--state", state, env={"UPLEDGER_PASSPHRASE": "wrong"})
    assert p.returncode == 1 and "UL_E_PASSPHRASE" in p.stderr, p


def test_tracker_down_or_slow_never_blocks(fleet, servers, tracker):  # noqa: F811
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    state, _ = init(fleet, tracker, "d4", "--plain-key")
    down = Stalled()
    down_url = down.url
    down.close()  # nothing listens there now
    r = run("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
            "--tracker", down_url, "--tracker-key", TRACKER_PK.hex())
    assert r.returncode == 0 and "staged" in r.stdout, r
    assert "upledger-device: tracker %s/v1/reports: UL_E_NET" % down_url in r.stderr, r
    # The counter was spent before sending: never reused.
    assert cbor_util.loads((state / "report.cbor").read_bytes())[4] == 1
    slow = servers("stalled")
    t0 = time.monotonic()
    r = run("confirm", "--state", state, "--tracker", slow.url, "--tracker-key",
            TRACKER_PK.hex(), "--tracker-timeout", "1")
    assert r.returncode == 0 and "confirmed" in r.stdout and "UL_E_TIMEOUT" in r.stderr, r
    assert time.monotonic() - t0 < 20
    # The saved tracker then gets counter 3.
    assert run("report", "--state", state).returncode == 0
    assert [x[4] for x in tracker.reports] == [3]


def test_report_command_follows_the_reply(fleet, servers, tracker):  # noqa: F811
    state, _ = init(fleet, tracker, "d5", "--plain-key")
    r = run("report", "--state", state)
    assert r.returncode == 0 and r.stdout == "reported 1: up to date\n", r
    rid = fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    tracker.advice = (fleet.ns, bytes.fromhex(rid))
    r = run("report", "--state", state)  # without --update-on-reply: only says so
    assert r.returncode == 0 and r.stdout == "reported 2: update %s to %s\n" % (fleet.ns, rid)
    assert status(state)["components"] == []
    r = run("report", "--state", state, "--update-on-reply", "--mirror", m.url)
    assert r.returncode == 0 and "staged" in r.stdout, r
    (c,) = status(state)["components"]
    assert c["namespace"] == fleet.ns and c["trial"] is True
    assert [x[6] for x in tracker.reports] == [0, 0, 0, 2]  # then the update's own report
    # A reply that does not verify is not acted on.
    tracker.bad_sig = True
    r = run("report", "--state", state, "--update-on-reply", "--mirror", m.url)
    assert r.returncode == 1 and "UL_E_SIG" in r.stderr and "staged" not in r.stdout, r
    # --every N --count K: K reports.
    tracker.bad_sig = False
    tracker.advice = None
    r = run("report", "--state", state, "--every", "1", "--count", "2")
    assert r.returncode == 0 and r.stdout.count("up to date") == 2, r


def test_tracker_usage_errors(fleet, tracker):
    state = fleet.tmp / "u"
    for args in (["--tracker", tracker.url],
                 ["--tracker", "ftp://x", "--tracker-key", TRACKER_PK.hex()],
                 ["--tracker", tracker.url, "--tracker-key", "00" * 32],
                 ["--tracker", tracker.url, "--tracker-key", "zz"]):
        r = run("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-a", "--state", state,
                *args)
        assert r.returncode == 2, r
    assert not state.exists()
    r = run("report", "--state", fleet.init("plain"))
    assert r.returncode == 1 and "UL_E_TRACKER" in r.stderr, r
    assert run("report", "--state", state, "--update-on-reply").returncode == 2
