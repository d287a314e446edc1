"""upledger-device end to end: a dev node, `upledger export` served by a ThreadingHTTPServer on
loopback (in this process), and the device program updating a state directory from it: stage,
confirm, fall back, supersede, encrypted images, failing mirrors (stalled, 404, tampered), and
`upledger verify` on what the mirror serves. Every subprocess has a timeout."""
import ctypes
import hashlib
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import ERR_NUM, REPO, assert_rejected, chain_state, run_cli
from device_util import (DEVICE_TIMEOUT, STALL_TIMEOUT, Mirror, Stalled, dev, leftovers,
                         slot_file, snapshot, status)


VERSION = re.search(r'UL_VERSION_STRING "([^"]+)"',
                    (REPO / "schema" / "ul_version.h").read_text()).group(1)


def x25519_public(secret):
    """The X25519 public key of a class secret, by the libsodium the project links."""
    lib = ctypes.CDLL("libsodium.so.23")
    out = ctypes.create_string_buffer(32)
    assert lib.sodium_init() >= 0 and lib.crypto_scalarmult_base(out, secret) == 0
    return out.raw


@pytest.fixture
def servers():
    made = []

    def make(kind, root=None):
        s = Stalled() if kind == "stalled" else Mirror(root)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


class Fleet:
    """A test's publisher, namespace, export directory and images around the ctx node."""

    def __init__(self, ctx, tmp):
        self.ctx = ctx
        self.tmp = Path(tmp)
        self.images = self.tmp / "images"
        self.images.mkdir(parents=True)
        self.out = self.tmp / "mirror"
        self.key, self.ns = ctx.publisher()
        self.data = {}

    def publish(self, seq, data=None, hw=("hw-a",), extra=(), image_name=None):
        data = os.urandom(3000 + 17 * seq) if data is None else data
        image = self.images / (image_name or "fw-%d.bin" % seq)
        image.write_bytes(data)
        self.data[seq] = data
        r = self.ctx.publish(self.ctx.manifest(self.ns, seq, hardware=list(hw)), image, self.key,
                             extra=extra)
        assert r.rc == 0 and r.json["committed"] is True, r
        return r.json["id"]

    def export(self):
        r = self.ctx.cli("export", "--out", self.out, "--images", self.images, json_out=True)
        assert r.rc == 0, r
        return r.json

    def init(self, name="dev", hw="hw-a", extra=()):
        state = self.tmp / name
        r = dev("init", "--anchor", self.out / "genesis.cbor", "--hw", hw, "--state", state,
                *extra)
        assert r.rc == 0, r
        return state


@pytest.fixture
def fleet(ctx, tmp_path):
    return Fleet(ctx, tmp_path / "fleet")


# ---- help, init, status ----------------------------------------------------------------------

def test_help_and_usage(tmp_path):
    r = dev("--help")
    assert r.rc == 0 and "usage:" in r.out, r
    for c in ("init", "update", "install", "start", "confirm", "status"):
        assert c in r.out
        h = dev(c, "--help")
        assert h.rc == 0 and "usage:" in h.out, h
    v = dev("--version")
    assert v.rc == 0 and v.out == "upledger-device %s\n" % VERSION, v
    for args in ([], ["bogus"], ["init"], ["update", "--state", tmp_path], ["status"],
                 ["start", "--bogus"], ["update", "--mirror", "http://x", "--namespace", "a/b",
                                         "--state", tmp_path, "--timeout", "soon"],
                 ["status", "--state"], ["status", "--state", tmp_path, "extra"],
                 ["install", "--bundle", "b", "--namespace", "a/b", "--state", tmp_path],
                 ["status", "--state", tmp_path, "--state", tmp_path]):
        r = dev(*args)
        assert r.rc == 2 and r.err.strip(), r


def test_init_and_status(fleet):
    fleet.export()
    genesis = (fleet.out / "genesis.cbor").read_bytes()
    state = fleet.init(extra=["--installed", "acme/boot=2.1@7"])
    st = status(state)
    assert st["chain_id"] == hashlib.sha256(genesis).hexdigest()
    assert st["height"] == 0 and st["hw"] == "hw-a"
    (c,) = st["components"]
    assert c["namespace"] == "acme/boot" and c["active"] == 0 and c["trial"] is False
    assert (c["slots"][0]["version"], c["slots"][0]["seq"]) == ("2.1", 7)
    human = dev("status", "--state", state)
    assert human.rc == 0 and "hw-a" in human.out and "acme/boot" in human.out, human
    # An existing state is never replaced; a bad anchor or installed entry creates nothing.
    before = (state / "state.cbor").read_bytes()
    r = dev("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-b", "--state", state)
    assert r.rc == 1 and r.last_error == "UL_E_EXISTS", r
    assert (state / "state.cbor").read_bytes() == before
    bad = fleet.tmp / "bad.cbor"
    bad.write_bytes(b"\xff")
    r = dev("init", "--anchor", bad, "--hw", "hw-a", "--state", fleet.tmp / "d2")
    assert r.rc == 1 and r.last_error and r.last_error in ERR_NUM, r
    assert not (fleet.tmp / "d2" / "state.cbor").exists()
    r = dev("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-a", "--state",
            fleet.tmp / "d3", "--installed", "acme/boot=not-a-version@1")
    assert r.rc == 1 and r.last_error == "UL_E_VERSION_STR", r
    assert not (fleet.tmp / "d3" / "state.cbor").exists()
    r = dev("status", "--state", fleet.tmp / "nothing-here")
    assert r.rc == 1 and r.last_error == "UL_E_NOT_FOUND", r


# ---- update: stage, confirm, fall back --------------------------------------------------------

def test_update_stage_then_confirm(fleet, servers):
    rid = fleet.publish(1)
    height = fleet.export()["height"]
    m = servers("mirror", fleet.out)
    state = fleet.init()
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state)
    assert r.rc == 0, r
    assert "staged 1.0.1 in slot 0; awaiting confirmation" in r.out, r
    assert "updated" not in r.out, r
    st = status(state)
    (c,) = st["components"]
    assert c["namespace"] == fleet.ns and c["active"] == 0 and c["trial"] is True
    assert (c["slots"][0]["version"], c["slots"][0]["seq"]) == ("1.0.1", 1)
    assert c["slots"][0]["digest"] == hashlib.sha256(fleet.data[1]).hexdigest()
    assert st["height"] == height
    assert slot_file(state, fleet.ns, 0).read_bytes() == fleet.data[1]
    assert not leftovers(state)
    # The requests said nothing about the device: two paths, Host and a fixed User-Agent.
    digest = hashlib.sha256(fleet.data[1]).hexdigest()
    assert [p for p, _ in m.requests] == ["/%s/hw/hw-a/latest.cbor" % fleet.ns,
                                          "/images/" + digest]
    for _, headers in m.requests:
        assert {k.lower() for k in headers} == {"host", "user-agent"}, headers
        assert headers["User-Agent"] == "upledger-device"
    c = dev("confirm", "--state", state)
    assert c.rc == 0 and "confirmed %s 1.0.1 (seq 1)" % fleet.ns in c.out, c
    (comp,) = status(state)["components"]
    assert comp["trial"] is False and comp["active"] == 0
    # Nothing is on trial any more: confirming again is refused.
    again = dev("confirm", "--state", state)
    assert again.rc == 1 and again.last_error == "UL_E_NOT_FOUND", again
    assert rid  # the release the mirror served


def test_unconfirmed_update_falls_back_on_start(fleet, servers):
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    state = fleet.init()
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
            "--health-check", "true")
    assert r.rc == 0 and "updated to 1.0.1 (seq 1), confirmed" in r.out, r
    fleet.publish(2)
    fleet.export()
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state)
    assert r.rc == 0 and "staged 1.0.2 in slot 1" in r.out, r
    (c,) = status(state)["components"]
    assert c["active"] == 1 and c["trial"] is True
    # No confirmation: the next start goes back to slot 0 and says so.
    s = dev("start", "--state", state)
    assert s.rc == 0 and "fell back" in s.out and "1.0.2" in s.out, s
    (c,) = status(state)["components"]
    assert c["active"] == 0 and c["trial"] is False
    assert c["slots"][0]["version"] == "1.0.1" and c["slots"][1]["version"] == "1.0.2"
    assert slot_file(state, fleet.ns, 0).read_bytes() == fleet.data[1]
    # Another start changes nothing more.
    s2 = dev("start", "--state", state)
    assert s2.rc == 0 and "fell back" not in s2.out, s2
    assert status(state)["components"][0]["active"] == 0


def test_health_check_confirms_or_leaves_on_trial(fleet, servers):
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    state = fleet.init()
    ok = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
             "--health-check", "true")
    assert ok.rc == 0 and "updated to 1.0.1 (seq 1), confirmed" in ok.out, ok
    assert status(state)["components"][0]["trial"] is False
    fleet.publish(2)
    fleet.export()
    bad = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
              "--health-check", "false")
    # Not a success: exit 1, one line naming the check; the update stays staged on trial.
    assert bad.rc == 1 and bad.last_error == "UL_E_PENDING", bad
    assert len(bad.err.strip().splitlines()) == 1 and "health check failed" in bad.err, bad
    assert "staged 1.0.2 in slot 1" in bad.out and "updated" not in bad.out, bad
    (c,) = status(state)["components"]
    assert c["trial"] is True and c["active"] == 1
    s = dev("start", "--state", state)
    assert s.rc == 0 and "fell back" in s.out, s
    (c,) = status(state)["components"]
    assert c["trial"] is False and c["active"] == 0 and c["slots"][0]["seq"] == 1


def test_second_release_supersedes(fleet, servers):
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    state = fleet.init()
    assert dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
               "--health-check", "true").rc == 0
    fleet.publish(2)
    fleet.export()
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
            "--health-check", "true")
    assert r.rc == 0 and "updated to 1.0.2 (seq 2), confirmed" in r.out, r
    (c,) = status(state)["components"]
    assert c["active"] == 1 and c["slots"][1]["seq"] == 2 and c["trial"] is False
    assert slot_file(state, fleet.ns, 1).read_bytes() == fleet.data[2]
    # Nothing newer: the mirror's release is the installed one. Up to date is a success (one
    # line, exit 0, no image fetched), and nothing changes.
    before = snapshot(state)
    n_requests = len(m.requests)
    again = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state)
    assert again.rc == 0 and not again.err, again
    assert again.out == "up to date: %s 1.0.2 (seq 2)\n" % fleet.ns, again
    assert [p for p, _ in m.requests[n_requests:]] == ["/%s/hw/hw-a/latest.cbor" % fleet.ns]
    j = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state, "--json")
    assert j.rc == 0 and not j.err, j
    assert json.loads(j.out) == {"result": "up_to_date", "namespace": fleet.ns,
                                 "version": "1.0.2", "seq": 2}, j
    assert snapshot(state) == before


def test_up_to_date_or_rollback_by_installed_sequence(fleet, servers):
    """A factory-installed component at the mirror's sequence is up to date (exit 0); one
    above it is offered an older release: UL_E_ROLLBACK, exit 1, nothing changed."""
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    same = fleet.init(name="same", extra=["--installed", "%s=1.0.1@1" % fleet.ns])
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", same)
    assert r.rc == 0 and r.out == "up to date: %s 1.0.1 (seq 1)\n" % fleet.ns, r
    newer = fleet.init(name="newer", extra=["--installed", "%s=2.0@5" % fleet.ns])
    before = snapshot(newer)
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", newer)
    assert r.rc == 1 and r.last_error == "UL_E_ROLLBACK", r
    assert snapshot(newer) == before and not leftovers(newer)
    j = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", newer, "--json")
    assert j.rc == 1 and json.loads(j.out)["error"]["name"] == "UL_E_ROLLBACK", j


def test_first_install_fallback_status_tells_the_truth(fleet, servers):
    """A first install that falls back leaves nothing installed: status and start say so (and
    which trial failed), not "running (seq 0)" with an empty version."""
    fleet.publish(1)
    fleet.export()
    m = servers("mirror", fleet.out)
    state = fleet.init()
    assert dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state).rc == 0
    s = dev("start", "--state", state)
    assert s.rc == 0, s
    assert "(seq 0)" not in s.out, s
    assert "fell back: %s update 1.0.1 (seq 1) in slot 0 was not confirmed; no release " \
        "installed\n" % fleet.ns in s.out, s
    assert "%s: no release installed; the trial of 1.0.1 (seq 1) in slot 0 failed\n" % fleet.ns \
        in s.out, s
    human = dev("status", "--state", state)
    assert human.rc == 0 and "no release installed" in human.out, human
    assert "the trial of 1.0.1 (seq 1) in slot 0 failed" in human.out, human
    (c,) = status(state)["components"]
    assert c["installed"] is None and c["failed_trial"] == {"slot": 0, "version": "1.0.1",
                                                            "seq": 1}, c


# ---- encrypted images --------------------------------------------------------------------------

def test_encrypted_release_end_to_end(fleet, servers):
    ck = fleet.tmp / "hw-a.classkey"
    k = run_cli(["keygen", "--class", ck], json_out=True)
    assert k.rc == 0, k
    assert stat.S_IMODE(ck.stat().st_mode) == 0o600
    pubf = Path(str(ck) + ".pub")
    assert json.loads(pubf.read_text()) == {"format": "upledger-class-key/1",
                                            "public": k.json["public"]}
    secret = ck.read_bytes()  # the raw X25519 secret, nothing to parse on a device
    assert len(secret) == 32 and x25519_public(secret).hex() == k.json["public"]
    plain = os.urandom(3 * 4096 + 123)  # three full chunks and a short final one
    enc = fleet.images / "fw-1.enc"
    fleet.publish(1, data=plain, extra=["--encrypt-for", "hw-a=%s" % pubf, "--encrypted-out",
                                        enc], image_name="fw-1.plain")
    (fleet.images / "fw-1.plain").unlink()  # mirrors only ever see the encrypted file
    ct = enc.read_bytes()
    assert len(ct) == 24 + 4 * 17 + len(plain) and plain[:64] not in ct
    fleet.export()
    digest = hashlib.sha256(ct).hexdigest()
    assert (fleet.out / "images" / digest).read_bytes() == ct
    rel = json.loads((fleet.out / fleet.ns / "releases" / "1" / "release.json").read_text())
    assert rel["encrypted"] is True and rel["image"]["sha256"] == digest
    m = servers("mirror", fleet.out)
    state = fleet.init(extra=["--class-key", ck])
    assert stat.S_IMODE((state / "class.key").stat().st_mode) == 0o600
    assert (state / "class.key").read_bytes() == secret
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
            "--health-check", "true")
    assert r.rc == 0 and "updated to 1.0.1 (seq 1), confirmed" in r.out, r
    assert slot_file(state, fleet.ns, 0).read_bytes() == plain
    # The same device without the class key cannot decrypt: refused, nothing staged.
    keyless = fleet.init(name="keyless")
    before = (keyless / "state.cbor").read_bytes()
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", keyless)
    assert r.rc == 1 and r.last_error == "UL_E_DECRYPT", r
    assert "mirror %s: UL_E_DECRYPT" % m.url in r.err, r
    assert (keyless / "state.cbor").read_bytes() == before
    assert not leftovers(keyless) and not slot_file(keyless, fleet.ns, 0).exists()
    # upledger verify: with the class key it decrypts; without, UL_E_DECRYPT.
    args = ["verify", "--bundle", fleet.out / fleet.ns / "hw" / "hw-a" / "latest.cbor", "--image",
            fleet.out / "images" / digest, "--genesis", fleet.out / "genesis.cbor", "--hw", "hw-a"]
    v = run_cli(args + ["--class-key", ck], json_out=True)
    assert v.rc == 0 and v.json["encrypted"] is True and v.json["plaintext_bytes"] == len(plain), v
    assert_rejected(run_cli(args), "UL_E_DECRYPT")


def test_encrypted_empty_image(fleet, servers):
    """An empty image encrypts to the header and one final chunk of 0 plaintext bytes."""
    ck = fleet.tmp / "hw-a.classkey"
    assert run_cli(["keygen", "--class", ck]).rc == 0
    enc = fleet.images / "empty.enc"
    fleet.publish(1, data=b"", extra=["--encrypt-for", "hw-a=%s.pub" % ck, "--encrypted-out",
                                      enc], image_name="empty.plain")
    assert enc.stat().st_size == 24 + 17
    fleet.export()
    m = servers("mirror", fleet.out)
    state = fleet.init(extra=["--class-key", ck])
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state,
            "--health-check", "true")
    assert r.rc == 0 and "updated to 1.0.1 (seq 1), confirmed" in r.out, r
    assert slot_file(state, fleet.ns, 0).read_bytes() == b""
    # Cut to the header alone, the stream never ends with its final chunk.
    cut = fleet.tmp / "cut.enc"
    cut.write_bytes(enc.read_bytes()[:24])
    args = ["verify", "--bundle", fleet.out / fleet.ns / "hw" / "hw-a" / "latest.cbor",
            "--genesis", fleet.out / "genesis.cbor", "--hw", "hw-a", "--class-key", ck, "--image"]
    assert run_cli(args + [enc]).rc == 0
    r = run_cli(args + [cut])
    assert r.rc == 1 and r.error_name in ("UL_E_SIZE", "UL_E_DECRYPT"), r


def test_encrypted_publish_refusals(fleet):
    ck = fleet.tmp / "hw-z.classkey"
    assert run_cli(["keygen", "--class", ck]).rc == 0
    image = fleet.images / "x.bin"
    image.write_bytes(b"x" * 100)
    enc = fleet.tmp / "x.enc"
    before = chain_state(fleet.ctx.node)

    def publish(seq, cls, hw=("hw-a",)):
        return fleet.ctx.publish(fleet.ctx.manifest(fleet.ns, seq, hardware=list(hw)), image,
                                 fleet.key, extra=["--encrypt-for", "%s=%s.pub" % (cls, ck),
                                                   "--encrypted-out", enc])

    # A class the release does not list: refused before anything is written.
    r = publish(1, "hw-z")
    assert_rejected(r, "UL_E_HW_MISMATCH")
    assert "hw-z" in r.err and not enc.exists()
    assert chain_state(fleet.ctx.node) == before
    # The node refuses the record (sequence 4 after 5): the encrypted file, whose content key
    # exists nowhere else, is removed.
    fleet.publish(5)
    before = chain_state(fleet.ctx.node)
    assert_rejected(publish(4, "hw-z", hw=("hw-a", "hw-z")), "UL_E_SEQUENCE")
    assert not enc.exists() and chain_state(fleet.ctx.node) == before
    # An existing --encrypted-out is never replaced.
    enc.write_bytes(b"an earlier release's served file")
    assert_rejected(publish(6, "hw-z", hw=("hw-z",)), "UL_E_EXISTS")
    assert enc.read_bytes() == b"an earlier release's served file"
    assert chain_state(fleet.ctx.node) == before


def test_class_key_is_exactly_32_bytes(fleet, servers):
    """A class secret is the 32 bytes keygen --class writes: the .pub file, a JSON key, or 31 or
    33 bytes are refused (UL_E_KEY, one line, exit 1) by init, update and verify alike."""
    ck = fleet.tmp / "hw-a.classkey"
    assert run_cli(["keygen", "--class", ck]).rc == 0
    secret = ck.read_bytes()
    enc = fleet.images / "fw-1.enc"
    fleet.publish(1, data=b"p" * 100, extra=["--encrypt-for", "hw-a=%s.pub" % ck,
                                              "--encrypted-out", enc], image_name="fw-1.plain")
    fleet.export()
    wrong = [Path(str(ck) + ".pub"), fleet.tmp / "short.key", fleet.tmp / "long.key",
             fleet.tmp / "json.key"]
    wrong[1].write_bytes(secret[:31])
    wrong[2].write_bytes(secret + b"\n")
    wrong[3].write_text(json.dumps({"format": "upledger-class-key/1", "secret": secret.hex()}))
    for i, f in enumerate(wrong):
        state = fleet.tmp / ("d%d" % i)
        r = dev("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-a", "--state", state,
                "--class-key", f)
        assert r.rc == 1 and r.last_error == "UL_E_KEY", r
        assert len(r.err.strip().splitlines()) == 1, r
        assert not (state / "class.key").exists() and not (state / "state.cbor").exists()
    # A device whose class.key was damaged after provisioning: update refuses, nothing changes.
    m = servers("mirror", fleet.out)
    state = fleet.init(extra=["--class-key", ck])
    (state / "class.key").write_bytes(secret[:16])
    before = (state / "state.cbor").read_bytes()
    r = dev("update", "--mirror", m.url, "--namespace", fleet.ns, "--state", state)
    assert r.rc == 1 and r.last_error == "UL_E_KEY", r
    assert (state / "state.cbor").read_bytes() == before
    # upledger verify reads the same file the same way.
    args = ["verify", "--bundle", fleet.out / fleet.ns / "hw" / "hw-a" / "latest.cbor",
            "--image", enc, "--genesis", fleet.out / "genesis.cbor", "--hw", "hw-a",
            "--class-key"]
    assert run_cli(args + [ck]).rc == 0
    for f in wrong:
        assert_rejected(run_cli(args + [f]), "UL_E_KEY")


def test_keygen_class_refuses_to_overwrite(tmp_path):
    ck = tmp_path / "c.key"
    assert run_cli(["keygen", "--class", ck]).rc == 0
    secret, pub = ck.read_bytes(), Path(str(ck) + ".pub").read_bytes()
    assert_rejected(run_cli(["keygen", "--class", ck], json_out=True), "UL_E_EXISTS")
    assert ck.read_bytes() == secret and Path(str(ck) + ".pub").read_bytes() == pub
    # A stray public file alone also blocks a new pair (never a secret without its pub).
    lone = tmp_path / "lone.key"
    Path(str(lone) + ".pub").write_text("{}")
    assert_rejected(run_cli(["keygen", "--class", lone]), "UL_E_EXISTS")
    assert not lone.exists()
    h = run_cli(["keygen", "--help"])
    assert h.rc == 0 and "--class" in h.out and "UNENCRYPTED" in h.out, h


# ---- mirrors that fail -------------------------------------------------------------------------

def test_stalled_mirror_times_out_then_next_installs(fleet, servers):
    fleet.publish(1)
    fleet.export()
    stalled = servers("stalled")
    m = servers("mirror", fleet.out)
    state = fleet.init()
    # The subprocess timeout is the bound: a device that waited for ever would exceed it.
    r = dev("update", "--mirror", stalled.url, "--mirror", m.url, "--namespace", fleet.ns,
            "--state", state, "--timeout", str(STALL_TIMEOUT), "--health-check", "true",
            timeout=DEVICE_TIMEOUT)
    assert r.rc == 0, r
    assert "upledger-device: mirror %s: UL_E_TIMEOUT:" % stalled.url in r.err, r
    assert "updated to 1.0.1 (seq 1), confirmed" in r.out, r
    assert stalled.conns, "the stalled mirror was never asked"


def test_404_mirror_then_honest(fleet, servers, tmp_path):
    fleet.publish(1)
    fleet.export()
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = servers("mirror", empty)
    m = servers("mirror", fleet.out)
    state = fleet.init()
    r = dev("update", "--mirror", missing.url, "--mirror", m.url, "--namespace", fleet.ns,
            "--state", state)
    assert r.rc == 0 and "staged 1.0.1" in r.out, r
    line = [x for x in r.err.splitlines() if missing.url in x]
    assert len(line) == 1 and "UL_E_NET" in line[0] and "404" in line[0], r
    # Only that mirror: every mirror failed, the last error is the final line, nothing changed.
    other = fleet.init(name="other")
    before = (other / "state.cbor").read_bytes()
    r = dev("update", "--mirror", missing.url, "--namespace", fleet.ns, "--state", other)
    assert r.rc == 1 and r.last_error == "UL_E_NET", r
    assert (other / "state.cbor").read_bytes() == before and not leftovers(other)


def test_tampered_image_mirror_then_honest(fleet, servers, tmp_path):
    fleet.publish(1)
    fleet.export()
    bad_root = tmp_path / "bad"
    subprocess.run(["cp", "-r", str(fleet.out), str(bad_root)], check=True, timeout=30)
    (img,) = (bad_root / "images").iterdir()
    raw = bytearray(img.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    img.write_bytes(bytes(raw))
    bad, good = servers("mirror", bad_root), servers("mirror", fleet.out)
    state = fleet.init()
    r = dev("update", "--mirror", bad.url, "--mirror", good.url, "--namespace", fleet.ns,
            "--state", state, "--health-check", "true")
    assert r.rc == 0 and "updated to 1.0.1" in r.out, r
    assert "mirror %s: UL_E_DIGEST" % bad.url in r.err, r
    assert slot_file(state, fleet.ns, 0).read_bytes() == fleet.data[1]


# ---- upledger verify on what a mirror serves ------------------------------------------------------

def test_verify_mirror_bundle_and_image(fleet, tmp_path):
    fleet.publish(1)
    fleet.export()
    digest = hashlib.sha256(fleet.data[1]).hexdigest()
    bundle = fleet.out / fleet.ns / "hw" / "hw-a" / "latest.cbor"
    base = ["verify", "--bundle", bundle, "--genesis", fleet.out / "genesis.cbor", "--hw", "hw-a"]
    v = run_cli(base + ["--image", fleet.out / "images" / digest], json_out=True)
    assert v.rc == 0 and v.json["verified"] is True and v.json["namespace"] == fleet.ns, v
    assert v.json["image_sha256"] == digest
    human = run_cli(base + ["--image", fleet.out / "images" / digest])
    assert human.rc == 0 and human.out.startswith("verified: %s 1.0.1" % fleet.ns), human
    flipped = tmp_path / "flipped.bin"
    raw = bytearray(fleet.data[1])
    raw[0] ^= 0x80
    flipped.write_bytes(bytes(raw))
    assert_rejected(run_cli(base + ["--image", flipped], json_out=True), "UL_E_DIGEST")


# ---- manual install from local files, file:// mirrors (X.1368 11.1 b) ---------------------------

def test_install_from_local_files(fleet):
    """Safe mode or USB recovery: the bundle and image as files, the same verification and A/B
    staging as an update; then the same files again are up to date."""
    fleet.publish(1)
    fleet.export()
    state = fleet.init()
    bundle = fleet.out / fleet.ns / "hw" / "hw-a" / "latest.cbor"
    image = fleet.out / "images" / hashlib.sha256(fleet.data[1]).hexdigest()
    args = ["install", "--bundle", bundle, "--image", image, "--namespace", fleet.ns, "--state",
            state]
    r = dev(*args)
    assert r.rc == 0 and "staged 1.0.1 in slot 0; awaiting confirmation" in r.out, r
    (c,) = status(state)["components"]
    assert c["trial"] is True and c["active"] == 0 and c["slots"][0]["seq"] == 1, c
    assert slot_file(state, fleet.ns, 0).read_bytes() == fleet.data[1]
    assert not leftovers(state)
    assert dev("confirm", "--state", state).rc == 0
    again = dev(*args, "--json")
    assert again.rc == 0 and json.loads(again.out)["result"] == "up_to_date", again
    # "--name=VALUE" works as "--name VALUE" does (getopt_long).
    other = fleet.init(name="other")
    r = dev("install", "--bundle=%s" % bundle, "--image=%s" % image, "--namespace=%s" % fleet.ns,
            "--state=%s" % other, "--health-check=true", "--json")
    assert r.rc == 0 and json.loads(r.out) == {"result": "confirmed", "namespace": fleet.ns,
                                               "version": "1.0.1", "seq": 1, "slot": 0,
                                               "height": status(other)["height"]}, r


def test_install_refuses_tampered_local_files(fleet, tmp_path):
    """A tampered image or bundle from local files is refused with its code, one line, exit 1,
    and nothing staged; a FIFO is refused without waiting for a writer."""
    fleet.publish(1)
    fleet.publish(2)
    fleet.export()
    bundle = fleet.out / fleet.ns / "hw" / "hw-a" / "latest.cbor"
    image = fleet.out / "images" / hashlib.sha256(fleet.data[2]).hexdigest()
    flipped = tmp_path / "flipped.bin"
    raw = bytearray(fleet.data[2])
    raw[len(raw) // 2] ^= 0x01
    flipped.write_bytes(bytes(raw))
    older = fleet.images / "fw-1.bin"  # another release's genuine image
    cut = tmp_path / "cut.cbor"
    cut.write_bytes(bundle.read_bytes()[:-40])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = [(bundle, flipped, "UL_E_DIGEST"), (bundle, older, "UL_E_SIZE"),
             (cut, image, "UL_E_TRUNCATED"), (fifo, image, "UL_E_ARG"),
             (bundle, tmp_path / "missing.bin", "UL_E_NOT_FOUND")]
    state = fleet.init()
    for b, img, want in cases:
        before = snapshot(state)
        r = dev("install", "--bundle", b, "--image", img, "--namespace", fleet.ns, "--state",
                state)
        assert r.rc == 1 and r.last_error == want, r
        assert len(r.err.strip().splitlines()) == 1 and "staged" not in r.out, r
        assert snapshot(state) == before and not leftovers(state), r
        assert not slot_file(state, fleet.ns, 0).exists()
    r = dev("install", "--bundle", bundle, "--image", image, "--namespace", fleet.ns, "--state",
            state)
    assert r.rc == 0 and "staged 1.0.2 in slot 0" in r.out, r


def test_file_mirror(fleet, tmp_path):
    """file:// mirrors (an export on a USB stick) go through the same path as http:// ones."""
    fleet.publish(1)
    fleet.export()
    state = fleet.init()
    missing = "file://%s" % (tmp_path / "no-such-mirror")
    r = dev("update", "--mirror", missing, "--mirror", "file://%s" % fleet.out, "--namespace",
            fleet.ns, "--state", state, "--health-check", "true")
    assert r.rc == 0 and "updated to 1.0.1 (seq 1), confirmed" in r.out, r
    assert "upledger-device: mirror %s: UL_E_NET:" % missing in r.err, r
    assert slot_file(state, fleet.ns, 0).read_bytes() == fleet.data[1]
