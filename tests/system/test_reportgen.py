"""The fleet report generator (tests/fleet/reportgen.c, `build/reportgen`) that tracker tests and
benchmarks use: its keys follow the documented derivation, its reports decode as the CDDL says
and their signatures verify by an independent computation of docs/protocol.md section 14's
signed bytes (Python's hashlib and the system libsecp256k1), and --post reaches a server."""
import hashlib
import http.server
import json
import subprocess
import threading

import pytest

import bip340
import cbor_util
from conftest import BUILD, free_port

REPORTGEN = BUILD / "reportgen"
CHAIN = bytes([0x5C]) * 32
TRACKER = bip340.pubkey(bytes([0x44]) * 32)
RELEASE = bytes([0x17]) * 32


def gen(*args, check=True):
    p = subprocess.run([str(REPORTGEN), "--chain-id", CHAIN.hex(), "--tracker-key", TRACKER.hex(),
                        *args], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def stream(path):
    data = path.read_bytes()
    out = []
    while data:
        n = int.from_bytes(data[:4], "big")
        out.append(data[4:4 + n])
        data = data[4 + n:]
    return out


def test_reports_decode_and_verify(tmp_path):
    out = gen("--devices", "20", "--reports", "2", "--counter", "5", "--time", "1767225600",
              "--component", f"acme/router:{RELEASE.hex()}:7:fell-back:64",
              "--height", "3", "--header-hash", "ab" * 32,
              "--keys", str(tmp_path / "keys"), "--secrets", str(tmp_path / "secrets"),
              "--out", str(tmp_path / "reports"))
    assert json.loads(out.stdout)["reports"] == 40
    keys = (tmp_path / "keys").read_text().split()
    secrets = [bytes.fromhex(s) for s in (tmp_path / "secrets").read_text().split()]
    reports = stream(tmp_path / "reports")
    assert len(keys) == 20 and len(reports) == 40
    for i, rec in enumerate(reports):
        d = i // 2
        want_sk = hashlib.sha256(b"upledger/reportgen" + (1).to_bytes(8, "big") +
                                 d.to_bytes(8, "big")).digest()
        assert secrets[d] == want_sk
        m = cbor_util.loads(rec)
        assert sorted(m) == list(range(1, 12))
        assert m[2] == bip340.pubkey(want_sk) == bytes.fromhex(keys[d])
        assert m[3] == TRACKER and m[4] == 5 + i % 2 and m[5] == 1767225600
        assert m[7] == "router-v2" and m[8] == 3 and m[9] == bytes([0xAB]) * 32
        assert m[10] == [["acme/router", RELEASE, 7, 2, [RELEASE, 64, 1767225600]]]
        digest = bip340.record_digest(bip340.TAG_REPORT, CHAIN, rec)
        assert bip340.verify(m[2], digest, m[11])
        assert not bip340.verify(m[2], bip340.record_digest(bip340.TAG_TX, CHAIN, rec), m[11])
    assert json.loads(gen("--verify", str(tmp_path / "reports")).stdout) == {"verified": 40}


def test_fleet_continues_and_bad_input(tmp_path):
    gen("--devices", "15", "--keys", str(tmp_path / "all"))
    gen("--first", "10", "--devices", "5", "--keys", str(tmp_path / "tail"))
    assert (tmp_path / "tail").read_text().split() == (tmp_path / "all").read_text().split()[10:]
    # A corrupted report fails --verify with its error named.
    gen("--devices", "3", "--out", str(tmp_path / "r"))
    data = bytearray((tmp_path / "r").read_bytes())
    data[-1] ^= 1
    (tmp_path / "r").write_bytes(bytes(data))
    p = gen("--verify", str(tmp_path / "r"), check=False)
    assert p.returncode == 1 and "report 2: UL_E_SIG" in p.stderr
    # Components out of order, and a bad option.
    p = gen("--component", f"acme/z:{RELEASE.hex()}:1", "--component", f"acme/a:{RELEASE.hex()}:1",
            check=False)
    assert p.returncode == 1 and "does not encode" in p.stderr
    assert gen("--jobs", "0", check=False).returncode == 2


def test_post(tmp_path):
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((self.headers["Content-Type"], body))
            code = 200 if len(got) % 2 else 409
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        out = gen("--devices", "10", "--jobs", "2", "--timeout", "10",
                  "--post", f"http://127.0.0.1:{srv.server_address[1]}/v1/reports")
    finally:
        srv.shutdown()
        srv.server_close()
    res = json.loads(out.stdout)
    assert res["status"] == {"200": 5, "409": 5}
    assert len(got) == 10 and all(ct == "application/cbor" for ct, _ in got)
    assert all(cbor_util.loads(b)[3] == TRACKER for _, b in got)
