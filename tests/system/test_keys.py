"""Keys: public keys that can never sign (32 bytes that are not an x-only point) are refused with
UL_E_KEY by the CLI wherever a key enters a policy or a validator set, and by the node in
hand-built transactions; private key files that others may read are refused, naming the file
and its mode, unless UPLEDGER_ALLOW_OPEN_KEY_FILES=1."""
import json
import subprocess

import pytest

import bip340
from cbor_util import dumps
from conftest import UPLEDGERD, Ctx, assert_rejected, chain_state, free_port, run_cli
from test_reject import _chain_id, sign_tx, submit_one

BAD_KEYS = ["00" * 32, "ff" * 32]


DEAD = "tcp://127.0.0.1:1"  # no node: the CLI must refuse before it asks one anything


def _refused(r):
    assert_rejected(r, "UL_E_KEY")
    assert len(r.err.strip().splitlines()) == 1, r


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_cli_refuses_unsignable_keys(tmp_path, bad):
    """Every CLI argument or file that puts a key into a policy, a validator set or a genesis
    refuses one that cannot sign, on its own (no node is reachable), with nothing written."""
    ctx = Ctx(None, tmp_path)
    key, good = ctx.keygen(), ctx.keygen()

    def cli(*args):
        return run_cli(args, node=DEAD, json_out=True, timeout_ms=300)

    for opt in ("--owner", "--publisher"):
        _refused(cli("namespace", "register", "acme/fw", "--key", key, opt, bad))
    policy = tmp_path / "policy.json"
    for field in ("owners", "publishers", "certifier"):
        p = {"owners": {"keys": [str(key)]}, "publishers": {"keys": [str(key)]},
             "roles": {"certifier": {"keys": [good.pubkey]}}, "revokers": ["owners"]}
        (p["roles"]["certifier"] if field == "certifier" else p[field])["keys"].append(bad)
        policy.write_text(json.dumps(p))
        _refused(cli("namespace", "register", "acme/fw", "--key", key, "--policy", policy))
        _refused(cli("namespace", "policy", "acme/fw", "--key", key, "--policy", policy))
    for target in ("owners", "publishers", "certifier"):
        _refused(cli("rotate", "acme/fw", "--target", target, "--new-key", good.pubkey,
                     "--new-key", bad, "--key", key))
    _refused(cli("transfer", "acme/fw", "--owner", bad, "--publisher", good, "--key", key))
    _refused(cli("transfer", "acme/fw", "--owner", good, "--publisher", bad, "--key", key))
    vset = tmp_path / "set.json"
    vset.write_text(json.dumps([{"pubkey": good.pubkey, "power": 3},
                                {"pubkey": bad, "power": 1}]))
    _refused(cli("validators", "set", "--file", vset, "--key", key))
    g = tmp_path / "genesis.cbor"
    _refused(cli("genesis", "--out", g, "--validator", good.pubkey, "--validator", bad + ":2"))
    assert not g.exists()
    r = cli("genesis", "--out", g, "--validator", good.pubkey)
    assert r.rc == 0 and g.exists(), r


def _register_body(ns, nonce, owners, publishers):
    """{1: ns, 2: nonce, 3: policy} with the given key lists (sorted), thresholds 1."""
    def ks(keys):
        return {1: sorted(bytes.fromhex(k) for k in keys), 2: 1}
    policy = {1: ks(owners), 2: ks(publishers), 3: [], 4: [], 5: [],
              6: ["owners", "publishers"]}
    return dumps({1: ns, 2: nonce, 3: policy})


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_node_refuses_hand_built_unsignable_keys(ctx, bad):
    """Past the CLI: a register signed by a good owner, naming a key that cannot sign as a
    publisher or a second owner, is refused by the node itself."""
    key = ctx.keygen()
    cid = _chain_id(ctx.node)
    before = chain_state(ctx.node)
    for owners, publishers in (([key.pubkey], [bad]), ([key.pubkey, bad], [key.pubkey])):
        body = _register_body(ctx.new_ns(), 1, owners, publishers)
        assert submit_one(ctx.node, sign_tx(key, 1, body, bip340.TAG_TX, cid)) == "UL_E_KEY"
    assert chain_state(ctx.node) == before
    body = _register_body(ctx.new_ns(), 1, [key.pubkey], [key.pubkey])
    assert submit_one(ctx.node, sign_tx(key, 1, body, bip340.TAG_TX, cid)) == "UL_OK"


# ---- private key files open to others ----------------------------------------------------

ALLOW = {"UPLEDGER_ALLOW_OPEN_KEY_FILES": "1"}


def _perms_refused(r, path, mode):
    assert_rejected(r, "UL_E_KEY_PERMS")
    assert len(r.err.strip().splitlines()) == 1, r
    assert str(path) in r.err and "mode %04o" % mode in r.err, r


@pytest.mark.parametrize("passphrase", [None, "open sesame"])
def test_cli_refuses_open_keystore(ctx, passphrase):
    """A keystore (clear or encrypted) with any group or other permission bit is refused before
    it signs anything, naming the file and its mode; 0600 and 0400 are used; the override lets
    an open one through."""
    key = ctx.keygen(passphrase)
    before = chain_state(ctx.node)
    for mode in (0o644, 0o640, 0o604, 0o660, 0o620):
        key.path.chmod(mode)
        env = dict(key.env or {})
        _perms_refused(ctx.cli("namespace", "register", ctx.new_ns(), "--key", key,
                               json_out=True, env=env), key.path, mode)
    assert chain_state(ctx.node) == before
    # Its public key may still be named by anyone (an owner argument reads no secret).
    r = ctx.cli("namespace", "register", ctx.new_ns(), "--key", ctx.keygen(), "--owner", key,
                json_out=True)
    assert r.rc == 1 and r.error_name == "UL_E_NOT_OWNER", r
    env = dict(key.env or {}, **ALLOW)
    r = ctx.cli("namespace", "register", ctx.new_ns(), "--key", key, json_out=True, env=env)
    assert r.rc == 0 and r.json["committed"] is True, r
    for mode in (0o600, 0o400):
        key.path.chmod(mode)
        r = ctx.cli("namespace", "register", ctx.new_ns(), "--key", key, json_out=True,
                    env=key.env)
        assert r.rc == 0 and r.json["committed"] is True, r


def test_cli_refuses_open_class_secret(tmp_path):
    secret = tmp_path / "class.key"
    r = run_cli(["keygen", "--class", secret], json_out=True)
    assert r.rc == 0, r
    secret.chmod(0o644)
    args = ["verify", "--bundle", tmp_path / "b", "--image", tmp_path / "i", "--genesis",
            tmp_path / "g", "--hw", "hw-a", "--class-key", secret]
    _perms_refused(run_cli(args, json_out=True), secret, 0o644)
    for env, mode in ((ALLOW, 0o644), (None, 0o600)):  # past the key: the missing bundle
        secret.chmod(mode)
        r = run_cli(args, json_out=True, env=env)
        assert r.rc == 1 and r.error_name != "UL_E_KEY_PERMS", r


def test_upledgerd_refuses_open_validator_key(node_factory, monkeypatch):
    node = node_factory()
    node.stop()
    vkey = node.data / "validator.key"
    vkey.chmod(0o640)
    d = subprocess.run([str(UPLEDGERD), "--dev", "--data", str(node.data), "--listen",
                        "tcp://127.0.0.1:%d" % free_port()],
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert d.returncode != 0, d
    assert str(vkey) in d.stderr and "mode 0640" in d.stderr and "UL_E_KEY_PERMS" in d.stderr, \
        d.stderr
    monkeypatch.setenv("UPLEDGER_ALLOW_OPEN_KEY_FILES", "1")
    node.start()
    node.stop()
    monkeypatch.delenv("UPLEDGER_ALLOW_OPEN_KEY_FILES")
    vkey.chmod(0o600)
    node.start()
