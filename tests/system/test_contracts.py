"""Policy contracts through the CLI: each rule accepted when met and refused when not, with its
own UL_E_... name, exit 1 and the chain (height, log size, head hash, pending) unchanged.

Co-signer roles and thresholds (`approve`), hardware classes, sequences, dependencies,
revocation (`revoke`), end-of-support hand-over (`transfer`), owner thresholds for policy
changes (`namespace policy`), key rotation (`rotate`), publisher thresholds, `query latest
--installed` and `query provenance`. Policies are written as JSON files (schema/policy.md,
cli/policy.c). Each test runs its own dev node (one-hour heartbeat: the height moves only with
transactions)."""
import json

import pytest

import bip340
import cbor_util
import nnreq
from conftest import ERR_NAME, assert_rejected, chain_state, unchanged

FAR_FUTURE = "2099-01-01T00:00:00Z"


# ---- helpers -----------------------------------------------------------------------------

def keyargs(*keys):
    out = []
    for k in keys:
        out += ["--key", k]
    return out


def keyset(keys, threshold=None):
    ks = {"keys": [k.pubkey if hasattr(k, "pubkey") else k for k in keys]}
    if threshold is not None:
        ks["threshold"] = threshold
    return ks


def policy_file(ctx, policy):
    path = ctx.tmp / (ctx.unique("policy") + ".json")
    path.write_text(json.dumps(policy) if isinstance(policy, dict) else policy)
    return path


def register(ctx, ns, signers, policy):
    return ctx.cli("namespace", "register", ns, "--policy", policy_file(ctx, policy),
                   *keyargs(*signers), json_out=True)


def register_ok(ctx, signers, policy, ns=None):
    ns = ns or ctx.new_ns()
    r = register(ctx, ns, signers, policy)
    assert r.rc == 0 and r.json["committed"] is True, r
    return ns


def set_policy(ctx, ns, signers, policy):
    return ctx.cli("namespace", "policy", ns, "--policy", policy_file(ctx, policy),
                   *keyargs(*signers), json_out=True)


def show(ctx, ns):
    r = ctx.cli("namespace", "show", ns, json_out=True)
    assert r.rc == 0, r
    return r.json["policy"]


def publish(ctx, ns, seq, signers, **fields):
    return ctx.cli("publish", ctx.manifest(ns, seq, **fields), "--image", ctx.image(),
                   *keyargs(*signers), json_out=True)


def publish_ok(ctx, ns, seq, signers, **fields):
    r = publish(ctx, ns, seq, signers, **fields)
    assert r.rc == 0 and r.json["committed"] is True, r
    return r.json["id"]


def approve(ctx, rid, role, *signers):
    return ctx.cli("approve", rid, "--role", role, *keyargs(*signers), json_out=True)


def approve_ok(ctx, rid, role, *signers):
    r = approve(ctx, rid, role, *signers)
    assert r.rc == 0 and r.json["committed"] is True and r.json["result"] == "approval", r
    return r.json


def revoke(ctx, rid, reason, *signers):
    return ctx.cli("revoke", rid, "--reason", reason, *keyargs(*signers), json_out=True)


def rotate(ctx, ns, target, new_keys, signers, threshold=None):
    args = ["rotate", ns, "--target", target]
    for k in new_keys:
        args += ["--new-key", k.pubkey]
    if threshold is not None:
        args += ["--threshold", threshold]
    return ctx.cli(*args, *keyargs(*signers), json_out=True)


def transfer(ctx, ns, owners, publishers, signers):
    args = ["transfer", ns]
    for k in owners:
        args += ["--owner", k.pubkey]
    for k in publishers:
        args += ["--publisher", k.pubkey]
    return ctx.cli(*args, *keyargs(*signers), json_out=True)


def latest(ctx, ns, hw="hw-a", installed=()):
    args = ["query", "latest", ns, "--hw", hw]
    for i in installed:
        args += ["--installed", i]
    return ctx.cli(*args, json_out=True)


def latest_id(ctx, ns, hw="hw-a", installed=()):
    r = latest(ctx, ns, hw, installed)
    assert r.rc == 0, r
    return r.json["id"]


def provenance(ctx, rid):
    r = ctx.cli("query", "provenance", rid, json_out=True)
    assert r.rc == 0, r
    return r.json


def installable(ctx, rid):
    return provenance(ctx, rid)["status"]["installable"]


def validator_key(ctx):
    return ctx.node.data / "validator.key"


def base_policy(owners, publishers, **extra):
    p = {"owners": keyset(owners), "publishers": keyset(publishers)}
    p.update(extra)
    return p


def certified(ctx, n_certifiers=1, threshold=1, **extra):
    """A namespace whose security releases need `threshold` of `n_certifiers` certifier keys.
    Returns (ns, owner, publisher, [certifier keys])."""
    owner, pub = ctx.keygen(), ctx.keygen()
    certs = [ctx.keygen() for _ in range(n_certifiers)]
    pol = base_policy([owner], [pub], roles={"certifier": keyset(certs, threshold)},
                      require={"security": ["certifier"]}, **extra)
    return register_ok(ctx, [owner], pol), owner, pub, certs


# ---- co-signer roles -------------------------------------------------------------------------

def test_missing_cosignature_then_approved(ctx):
    ns, _, pub, (cert,) = certified(ctx)
    rid = publish_ok(ctx, ns, 1, [pub])
    # Published and in the log, but not installable until the certifier co-signs.
    assert ctx.cli("query", "release", rid).rc == 0
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")
    prov = provenance(ctx, rid)
    assert prov["status"]["installable"] is False and prov["status"]["revoked"] is False, prov
    assert not prov["status"]["approvals"], prov
    before = chain_state(ctx.node)
    a = approve_ok(ctx, rid, "certifier", cert)
    after = chain_state(ctx.node)
    assert after["height"] == a["height"] == before["height"] + 1
    assert after["log_size"] == before["log_size"]
    prov = provenance(ctx, rid)
    assert prov["status"]["installable"] is True, prov
    assert prov["status"]["approvals"] == {"certifier": [cert.pubkey]}, prov
    assert latest_id(ctx, ns) == rid


def test_requirement_is_per_update_kind(ctx):
    ns, _, pub, _ = certified(ctx)
    rid = publish_ok(ctx, ns, 1, [pub], kind="feature")
    assert installable(ctx, rid) is True
    assert latest_id(ctx, ns) == rid
    sec = publish_ok(ctx, ns, 2, [pub], kind="security")
    assert installable(ctx, sec) is False
    assert latest_id(ctx, ns) == rid  # the newer security release waits for its certifier


def test_cosignature_outside_the_role(ctx):
    ns, owner, pub, (cert,) = certified(ctx)
    outsider = ctx.keygen()
    rid = publish_ok(ctx, ns, 1, [pub])
    with unchanged(ctx.node):
        for k in (outsider, pub, owner):
            assert_rejected(approve(ctx, rid, "certifier", k), "UL_E_NOT_ROLE")
        # One key of the role and one outside it: still refused as a whole.
        assert_rejected(approve(ctx, rid, "certifier", cert, outsider), "UL_E_NOT_ROLE")
        assert_rejected(approve(ctx, rid, "enterprise", cert), "UL_E_ROLE_UNKNOWN")
        assert_rejected(approve(ctx, "ab" * 32, "certifier", cert), "UL_E_RELEASE_UNKNOWN")
    assert installable(ctx, rid) is False
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")


def test_threshold_one_short_then_met(ctx):
    ns, _, pub, certs = certified(ctx, n_certifiers=3, threshold=2)
    rid = publish_ok(ctx, ns, 1, [pub])
    approve_ok(ctx, rid, "certifier", certs[0])
    prov = provenance(ctx, rid)
    assert prov["status"]["installable"] is False, prov
    assert prov["status"]["approvals"] == {"certifier": [certs[0].pubkey]}, prov
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")
    approve_ok(ctx, rid, "certifier", certs[2])
    prov = provenance(ctx, rid)
    assert prov["status"]["installable"] is True, prov
    assert prov["status"]["approvals"] == {
        "certifier": sorted([certs[0].pubkey, certs[2].pubkey])}, prov
    assert latest_id(ctx, ns) == rid


def test_threshold_met_in_one_approval(ctx):
    """Two distinct role keys in one `approve` count as two."""
    ns, _, pub, certs = certified(ctx, n_certifiers=3, threshold=2)
    rid = publish_ok(ctx, ns, 1, [pub])
    approve_ok(ctx, rid, "certifier", certs[1], certs[2])
    assert installable(ctx, rid) is True
    assert latest_id(ctx, ns) == rid


def test_duplicate_signer_counted_once(ctx):
    ns, _, pub, certs = certified(ctx, n_certifiers=3, threshold=2)
    rid = publish_ok(ctx, ns, 1, [pub])
    approve_ok(ctx, rid, "certifier", certs[0])
    with unchanged(ctx.node):
        assert_rejected(approve(ctx, rid, "certifier", certs[0]), "UL_E_APPROVED")
        # The same key twice in one transaction is not two signers.
        # (signers of a transaction are distinct and sorted: the encoder refuses a repeat)
        assert_rejected(approve(ctx, rid, "certifier", certs[1], certs[1]), "UL_E_SCHEMA_FIELD")
    prov = provenance(ctx, rid)
    assert prov["status"]["installable"] is False, prov
    assert prov["status"]["approvals"] == {"certifier": [certs[0].pubkey]}, prov
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")


def _signed(keys, kind, body, chain_id):
    sigs = []
    for k in keys:
        secret = bytes.fromhex(json.loads(k.path.read_text())["secret"])
        sigs.append([bytes.fromhex(k.pubkey),
                     bip340.sign(secret, bip340.upledger_digest(bip340.TAG_TX, chain_id, body))])
    return cbor_util.dumps({1: kind, 2: cbor_util.Raw(body), 3: sigs})


def test_duplicate_signature_raw_does_not_meet_threshold(ctx):
    """A hand-made register for a 2-of-2 owner policy carrying one owner's signature twice is
    refused by the node; with both owners it is taken."""
    o1, o2 = ctx.keygen(), ctx.keygen()
    pks = sorted(bytes.fromhex(k.pubkey) for k in (o1, o2))
    ks = {1: pks, 2: 2}
    ns = ctx.new_ns()
    body = cbor_util.dumps({1: ns, 2: 1, 3: {1: ks, 2: ks, 3: [], 4: [], 5: [],
                                         6: ["owners", "publishers"]}})
    cid = bytes.fromhex(ctx.node.status()["chain_id"])

    def submit(tx):
        err, res = nnreq.submit(ctx.node.endpoint, [tx])
        assert err == 0, ERR_NAME.get(err, err)
        return ERR_NAME.get(res[0][0], res[0][0])

    with unchanged(ctx.node):
        assert submit(_signed([o1, o1], 1, body, cid)) == "UL_E_SCHEMA_FIELD"
        assert submit(_signed([o1], 1, body, cid)) == "UL_E_THRESHOLD"
    both = sorted([o1, o2], key=lambda k: k.pubkey)
    assert submit(_signed(both, 1, body, cid)) == "UL_OK"
    for _ in range(200):  # committed within the node's batch wait; bounded poll
        r = ctx.cli("namespace", "show", ns, json_out=True)
        if r.rc == 0:
            break
    assert r.rc == 0, r
    assert r.json["policy"]["owners"] == {"keys": sorted([o1.pubkey, o2.pubkey]),
                                          "threshold": 2}


# ---- hardware, sequences, dependencies -------------------------------------------------------

def test_hardware_class_not_allowed(ctx):
    owner = ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner], hardware=["hw-a", "hw-b"]))
    with unchanged(ctx.node):
        for hw in (["hw-c"], ["hw-a", "hw-c"], ["HW-A"]):
            assert_rejected(publish(ctx, ns, 1, [owner], hardware=hw), "UL_E_HW_CLASS")
    rid = publish_ok(ctx, ns, 1, [owner], hardware=["hw-a", "hw-b"])
    assert latest_id(ctx, ns, "hw-b") == rid
    # Narrowing the policy applies to later releases.
    assert set_policy(ctx, ns, [owner], base_policy([owner], [owner],
                                                    hardware=["hw-b"])).rc == 0
    with unchanged(ctx.node):
        assert_rejected(publish(ctx, ns, 2, [owner], hardware=["hw-a"]), "UL_E_HW_CLASS")
    publish_ok(ctx, ns, 2, [owner], hardware=["hw-b"])


def test_sequence_must_increase_per_hardware_class(ctx):
    owner = ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner], hardware=["hw-a", "hw-b"]))
    publish_ok(ctx, ns, 5, [owner], hardware=["hw-a"])
    with unchanged(ctx.node):
        for seq, hw in ((5, ["hw-a"]), (4, ["hw-a"]), (3, ["hw-b", "hw-a"])):
            assert_rejected(publish(ctx, ns, seq, [owner], hardware=hw), "UL_E_SEQUENCE")
    publish_ok(ctx, ns, 3, [owner], hardware=["hw-b"])  # its own class
    publish_ok(ctx, ns, 6, [owner], hardware=["hw-a", "hw-b"])


def test_dependencies(ctx):
    owner = ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner]))
    lib = register_ok(ctx, [owner], base_policy([owner], [owner]))
    with unchanged(ctx.node):
        dangling = [{"namespace": "nobody/lib", "version": ">=1.0"}]
        assert_rejected(publish(ctx, ns, 1, [owner], dependencies=dangling), "UL_E_DEPENDENCY")
        unsat = [{"namespace": lib, "version": ">=2 <1"}]
        assert_rejected(publish(ctx, ns, 1, [owner], dependencies=unsat), "UL_E_DEPENDENCY")
        for bad in ("banana", ">=1.x", ">>1"):
            deps = [{"namespace": lib, "version": bad}]
            assert_rejected(publish(ctx, ns, 1, [owner], dependencies=deps),
                            "UL_E_VERSION_STR")
    deps = [{"namespace": lib, "version": ">=1.2 <2"}]
    rid = publish_ok(ctx, ns, 1, [owner], dependencies=deps)
    tree = provenance(ctx, rid)["dependency_tree"]
    assert len(tree) == 1 and tree[0]["namespace"] == lib, tree
    assert tree[0]["version"] == ">=1.2 <2" and tree[0]["satisfied_by"] is None, tree
    # Once the dependency has a matching release, the tree names it (the newest that fits).
    publish_ok(ctx, lib, 1, [owner], version="1.3.0")
    fit = publish_ok(ctx, lib, 2, [owner], version="1.9.1")
    publish_ok(ctx, lib, 3, [owner], version="2.0.0")
    tree = provenance(ctx, rid)["dependency_tree"]
    assert tree[0]["satisfied_by"] == {"id": fit, "version": "1.9.1"}, tree


# ---- revocation ----------------------------------------------------------------------------

def test_revoke_by_non_revoker_and_revoked_not_latest(ctx):
    owner, pub, outsider = ctx.keygen(), ctx.keygen(), ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [pub], revokers=["owners"]))
    old = publish_ok(ctx, ns, 1, [pub])
    new = publish_ok(ctx, ns, 2, [pub])
    assert latest_id(ctx, ns) == new
    with unchanged(ctx.node):
        for k in (pub, outsider):
            assert_rejected(revoke(ctx, new, "broken", k), "UL_E_NOT_REVOKER")
        assert_rejected(revoke(ctx, "cd" * 32, "broken", owner), "UL_E_RELEASE_UNKNOWN")
    r = revoke(ctx, new, "CVE-2026-0001: bad signature check", owner)
    assert r.rc == 0 and r.json["committed"] is True, r
    assert latest_id(ctx, ns) == old
    st = provenance(ctx, new)["status"]
    assert st["revoked"] is True, st
    assert st["revocation_reason"] == "CVE-2026-0001: bad signature check", st
    assert provenance(ctx, old)["status"]["revoked"] is False
    with unchanged(ctx.node):
        assert_rejected(revoke(ctx, new, "again", owner), "UL_E_REVOKED")
    r = revoke(ctx, old, "also broken", owner)
    assert r.rc == 0, r
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")


def test_revoker_role(ctx):
    """A role named in "revokers" may revoke at its threshold; an approval of a revoked release
    is refused."""
    owner, pub = ctx.keygen(), ctx.keygen()
    certs = [ctx.keygen() for _ in range(2)]
    pol = base_policy([owner], [pub], roles={"certifier": keyset(certs, 2)},
                      require={"security": ["certifier"]}, revokers=["certifier"])
    ns = register_ok(ctx, [owner], pol)
    rid = publish_ok(ctx, ns, 1, [pub])
    with unchanged(ctx.node):
        assert_rejected(revoke(ctx, rid, "x", owner), "UL_E_NOT_REVOKER")
        assert_rejected(revoke(ctx, rid, "x", pub), "UL_E_NOT_REVOKER")
        # One certifier of a 2-of-2 role meets no revoker set.
        assert_rejected(revoke(ctx, rid, "x", certs[0]), "UL_E_NOT_REVOKER")
    assert revoke(ctx, rid, "failed certification", *certs).rc == 0
    with unchanged(ctx.node):
        assert_rejected(approve(ctx, rid, "certifier", certs[0]), "UL_E_REVOKED")
    assert provenance(ctx, rid)["status"]["revocation_reason"] == "failed certification"


# ---- transfer and end of support -------------------------------------------------------------

def test_transfer_before_end_of_support(ctx):
    owner, pub, outsider = ctx.keygen(), ctx.keygen(), ctx.keygen()
    new_owner, new_pub = ctx.keygen(), ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [pub], end_of_support=FAR_FUTURE))
    assert show(ctx, ns)["end_of_support"] == FAR_FUTURE
    with unchanged(ctx.node):
        assert_rejected(transfer(ctx, ns, [new_owner], [new_pub], [validator_key(ctx)]),
                        "UL_E_EOS")
        assert_rejected(transfer(ctx, ns, [new_owner], [new_pub], [outsider]), "UL_E_NOT_OWNER")
        assert_rejected(transfer(ctx, ns, [new_owner], [new_pub], [pub]), "UL_E_NOT_OWNER")
    r = transfer(ctx, ns, [new_owner], [new_pub], [owner])
    assert r.rc == 0 and r.json["committed"] is True, r
    pol = show(ctx, ns)
    assert pol["owners"] == {"keys": [new_owner.pubkey], "threshold": 1}, pol
    assert pol["publishers"] == {"keys": [new_pub.pubkey], "threshold": 1}, pol
    # The new owners can change the policy, the old cannot; the same for publishing.
    with unchanged(ctx.node):
        assert_rejected(set_policy(ctx, ns, [owner], base_policy([owner], [owner])),
                        "UL_E_NOT_OWNER")
        assert_rejected(publish(ctx, ns, 1, [pub]), "UL_E_NOT_PUBLISHER")
    publish_ok(ctx, ns, 1, [new_pub])
    r = set_policy(ctx, ns, [new_owner], base_policy([new_owner], [new_pub, pub]))
    assert r.rc == 0 and r.json["committed"] is True, r
    assert show(ctx, ns)["publishers"]["keys"] == sorted([new_pub.pubkey, pub.pubkey])


def test_transfer_without_end_of_support_needs_owners(ctx):
    owner, succ = ctx.keygen(), ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner]))
    with unchanged(ctx.node):
        assert_rejected(transfer(ctx, ns, [succ], [succ], [validator_key(ctx)]), "UL_E_EOS")


def test_transfer_after_end_of_support_by_validators(ctx):
    owner, succ_owner, succ_pub, outsider = (ctx.keygen() for _ in range(4))
    ns = register_ok(ctx, [owner], base_policy([owner], [owner], end_of_support=1))
    assert show(ctx, ns)["end_of_support"] == "1970-01-01T00:00:01Z"
    with unchanged(ctx.node):
        assert_rejected(transfer(ctx, ns, [succ_owner], [succ_pub], [outsider]), "UL_E_EOS")
    r = transfer(ctx, ns, [succ_owner], [succ_pub], [validator_key(ctx)])
    assert r.rc == 0 and r.json["committed"] is True, r
    pol = show(ctx, ns)
    assert pol["owners"]["keys"] == [succ_owner.pubkey], pol
    assert pol["publishers"]["keys"] == [succ_pub.pubkey], pol
    with unchanged(ctx.node):
        assert_rejected(publish(ctx, ns, 1, [owner]), "UL_E_NOT_PUBLISHER")
    publish_ok(ctx, ns, 1, [succ_pub])


# ---- owner and publisher thresholds ----------------------------------------------------------

def test_policy_change_needs_owner_threshold(ctx):
    owners = [ctx.keygen() for _ in range(3)]
    outsider = ctx.keygen()
    pol = base_policy(owners, owners[:1])
    pol["owners"]["threshold"] = 2
    with unchanged(ctx.node):
        ns = ctx.new_ns()
        assert_rejected(register(ctx, ns, owners[:1], pol), "UL_E_THRESHOLD")
    ns = register_ok(ctx, owners[:2], pol)
    new = dict(pol, hardware=["hw-a"])
    with unchanged(ctx.node):
        for signers in (owners[:1], owners[2:]):
            assert_rejected(set_policy(ctx, ns, signers, new), "UL_E_THRESHOLD")
        assert_rejected(set_policy(ctx, ns, [owners[0], outsider], new), "UL_E_NOT_OWNER")
        assert_rejected(set_policy(ctx, ns, [outsider], new), "UL_E_NOT_OWNER")
    assert show(ctx, ns)["hardware"] == []
    r = set_policy(ctx, ns, [owners[0], owners[2]], new)
    assert r.rc == 0 and r.json["committed"] is True, r
    assert show(ctx, ns)["hardware"] == ["hw-a"]


def test_publisher_threshold(ctx):
    owner, p1, p2 = ctx.keygen(), ctx.keygen(), ctx.keygen()
    ns = register_ok(ctx, [owner], {"owners": keyset([owner]),
                                    "publishers": keyset([p1, p2], 2)})
    with unchanged(ctx.node):
        assert_rejected(publish(ctx, ns, 1, [p1]), "UL_E_THRESHOLD")
        assert_rejected(publish(ctx, ns, 1, [p2]), "UL_E_THRESHOLD")
        assert_rejected(publish(ctx, ns, 1, [p1, p1]), "UL_E_SCHEMA_FIELD")  # not two signers
        assert_rejected(publish(ctx, ns, 1, [owner]), "UL_E_NOT_PUBLISHER")
    rid = publish_ok(ctx, ns, 1, [p1, p2])
    rel = ctx.cli("query", "release", rid, json_out=True).json
    assert rel["signers"] == sorted([p1.pubkey, p2.pubkey]), rel
    assert latest_id(ctx, ns) == rid


# ---- rotation --------------------------------------------------------------------------------

def test_rotated_out_publisher_key(ctx):
    owner, old, new = ctx.keygen(), ctx.keygen(), ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [old]))
    publish_ok(ctx, ns, 1, [old])
    with unchanged(ctx.node):
        assert_rejected(rotate(ctx, ns, "publishers", [new], [old]), "UL_E_NOT_OWNER")
    r = rotate(ctx, ns, "publishers", [new], [owner])
    assert r.rc == 0 and r.json["committed"] is True, r
    assert show(ctx, ns)["publishers"] == {"keys": [new.pubkey], "threshold": 1}
    with unchanged(ctx.node):
        assert_rejected(publish(ctx, ns, 2, [old]), "UL_E_NOT_PUBLISHER")
    publish_ok(ctx, ns, 2, [new])


def test_rotated_out_owner_key(ctx):
    old, new = ctx.keygen(), ctx.keygen()
    ns = register_ok(ctx, [old], base_policy([old], [old]))
    r = rotate(ctx, ns, "owners", [new], [old])
    assert r.rc == 0 and r.json["committed"] is True, r
    assert show(ctx, ns)["owners"] == {"keys": [new.pubkey], "threshold": 1}
    with unchanged(ctx.node):
        assert_rejected(set_policy(ctx, ns, [old], base_policy([old], [old])), "UL_E_NOT_OWNER")
        assert_rejected(rotate(ctx, ns, "owners", [old], [old]), "UL_E_NOT_OWNER")
    r = set_policy(ctx, ns, [new], base_policy([new], [old], hardware=["hw-a"]))
    assert r.rc == 0 and r.json["committed"] is True, r


def test_rotated_out_role_key(ctx):
    """After rotating a role, its old key cannot approve, and approvals it gave stop counting
    at once (`rotate --help`)."""
    ns, owner, pub, (cert,) = certified(ctx)
    new_cert = ctx.keygen()
    old = publish_ok(ctx, ns, 1, [pub])
    approve_ok(ctx, old, "certifier", cert)
    assert latest_id(ctx, ns) == old
    rid = publish_ok(ctx, ns, 2, [pub])
    with unchanged(ctx.node):
        assert_rejected(rotate(ctx, ns, "nobody", [new_cert], [owner]), "UL_E_ROLE_UNKNOWN")
        r = rotate(ctx, ns, "certifier", [new_cert], [owner], threshold=2)
        assert r.rc == 1 and r.error_name == "UL_E_POLICY", r
    r = rotate(ctx, ns, "certifier", [new_cert], [owner])
    assert r.rc == 0, r
    assert show(ctx, ns)["roles"] == {"certifier": {"keys": [new_cert.pubkey], "threshold": 1}}
    assert installable(ctx, old) is False
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")
    with unchanged(ctx.node):
        assert_rejected(approve(ctx, rid, "certifier", cert), "UL_E_NOT_ROLE")
    approve_ok(ctx, rid, "certifier", new_cert)
    assert latest_id(ctx, ns) == rid


# ---- latest --installed and provenance -------------------------------------------------------

def test_latest_with_installed_dependencies(ctx):
    owner = ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner]))
    boot = register_ok(ctx, [owner], base_policy([owner], [owner]))
    old = publish_ok(ctx, ns, 1, [owner], version="1.0.0",
                     dependencies=[{"namespace": boot, "version": ">=1.0 <2"}])
    new = publish_ok(ctx, ns, 2, [owner], version="2.0.0",
                     dependencies=[{"namespace": boot, "version": ">=2.1"}])
    # Nothing installed: neither release's dependency is met.
    assert_rejected(latest(ctx, ns), "UL_E_NOT_FOUND")
    assert latest_id(ctx, ns, installed=["%s=1.4.0" % boot]) == old
    assert latest_id(ctx, ns, installed=["%s=2.1.0" % boot]) == new
    assert latest_id(ctx, ns, installed=["%s=3.0" % boot]) == new
    # Neither release fits: 2.0.9 is past "<2" and short of ">=2.1"; 0.9 is below both.
    for v in ("2.0.9", "0.9"):
        assert_rejected(latest(ctx, ns, installed=["%s=%s" % (boot, v)]), "UL_E_NOT_FOUND")


def test_provenance(ctx):
    ns, owner, pub, (cert,) = certified(ctx)
    old = publish_ok(ctx, ns, 1, [pub])
    approve_ok(ctx, old, "certifier", cert)
    new = publish_ok(ctx, ns, 2, [pub])
    approve_ok(ctx, new, "certifier", cert)
    vkey = json.loads(validator_key(ctx).read_text())["pubkey"]
    for rid, succ in ((old, new), (new, None)):
        p = provenance(ctx, rid)
        assert p["release"]["id"] == rid and p["release"]["namespace"] == ns, p
        assert p["release"]["signers"] == [pub.pubkey], p
        assert p["namespace_owners"] == {"keys": [owner.pubkey], "threshold": 1}, p
        assert p["status"]["installable"] is True and p["status"]["revoked"] is False, p
        assert p["status"]["approvals"] == {"certifier": [cert.pubkey]}, p
        assert p["commit_signers"] == [vkey], p
        assert (p["superseded_by"] or {}).get("id") == succ, p
        assert p["dependency_tree"] == [], p
        assert set(p["proofs"]) == {"inclusion", "revocation", "approvals"}, p
        for name, proof in p["proofs"].items():
            assert proof["verified"] is True, (name, p)
    human = ctx.cli("query", "provenance", old)
    assert human.rc == 0 and old in human.out and vkey in human.out, human
    assert "superseded  by 1.0.2" in human.out, human
    assert_rejected(ctx.cli("query", "provenance", "00" * 32, json_out=True), "UL_E_NOT_FOUND")


# ---- policy files ----------------------------------------------------------------------------

def test_policy_file_errors(ctx):
    owner, cert = ctx.keygen(), ctx.keygen()
    ok = base_policy([owner], [owner])
    ns = register_ok(ctx, [owner], ok)
    cases = [
        (dict(ok, sha256="00"), "UL_E_SCHEMA_FIELD"),                     # unknown field
        (dict(ok, require={"security": ["certifier"]}), "UL_E_POLICY"),   # role not defined
        (dict(ok, roles={"certifier": keyset([cert], 2)}), "UL_E_POLICY"),
        (dict(ok, owners=keyset([owner], 2)), "UL_E_POLICY"),            # threshold > keys
        (dict(ok, publishers=keyset([owner], 0)), "UL_E_POLICY"),
        (dict(ok, revokers=["auditor"]), "UL_E_POLICY"),                  # undefined revoker
        (dict(ok, require={"urgent": []}), "UL_E_SCHEMA_FIELD"),
        (dict(ok, end_of_support="next year"), "UL_E_SCHEMA_FIELD"),
        ("{not json", "UL_E_SCHEMA_FIELD"),
    ]
    with unchanged(ctx.node):
        for pol, want in cases:
            r = register(ctx, ctx.new_ns(), [owner], pol)
            assert_rejected(r, want)
            assert_rejected(set_policy(ctx, ns, [owner], pol), want)
        r = register(ctx, ctx.new_ns(), [owner], dict(ok, sha256="00"))
        assert "sha256" in r.err, r


# ---- audit and restart -----------------------------------------------------------------------

def test_contract_state_survives_restart_and_audits(ctx):
    """Every new transaction kind committed, then: audit over the wire, a clean restart on the
    same data dir, the same policy and provenance, and audit of the stopped node's --data."""
    ns, owner, pub, (cert,) = certified(ctx, revokers=["owners"])
    new_pub, succ = ctx.keygen(), ctx.keygen()
    old = publish_ok(ctx, ns, 1, [pub])
    approve_ok(ctx, old, "certifier", cert)
    new = publish_ok(ctx, ns, 2, [pub])
    approve_ok(ctx, new, "certifier", cert)
    assert revoke(ctx, new, "recalled", owner).rc == 0
    assert rotate(ctx, ns, "publishers", [new_pub], [owner]).rc == 0
    assert set_policy(ctx, ns, [owner], base_policy(
        [owner], [new_pub], roles={"certifier": keyset([cert])},
        require={"security": ["certifier"]}, revokers=["owners", "certifier"])).rc == 0
    assert transfer(ctx, ns, [succ], [new_pub], [owner]).rc == 0
    pol, p_old, p_new = show(ctx, ns), provenance(ctx, old), provenance(ctx, new)
    st = ctx.node.status()
    a = ctx.cli("audit", json_out=True)
    assert a.rc == 0 and a.json["ok"] is True and a.json["height"] == st["height"], a
    assert ctx.node.stop() == 0
    d = ctx.cli("audit", "--data", ctx.node.data, json_out=True)
    assert d.rc == 0 and d.json["head"] == st["head"]["hash"], d
    ctx.node.start()
    assert chain_state(ctx.node)["head"] == st["head"]["hash"]
    assert show(ctx, ns) == pol and pol["owners"]["keys"] == [succ.pubkey]
    assert provenance(ctx, old)["status"] == p_old["status"]
    assert provenance(ctx, new)["status"] == p_new["status"]
    assert p_new["status"]["revoked"] is True
    assert latest_id(ctx, ns) == old
    with unchanged(ctx.node):
        assert_rejected(publish(ctx, ns, 3, [pub]), "UL_E_NOT_PUBLISHER")


# ---- regressions: bugs found and fixed ------------------------------------------------------

def test_latest_installed_must_parse(ctx):
    owner = ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner]))
    boot = register_ok(ctx, [owner], base_policy([owner], [owner]))
    publish_ok(ctx, ns, 1, [owner])
    assert_rejected(latest(ctx, ns, installed=["%s=banana" % boot]), "UL_E_VERSION_STR")
    for bad in ("nonsense", "%s=" % boot, "=1.0"):
        r = latest(ctx, ns, installed=[bad])
        assert r.rc in (1, 2), r


def test_revoked_release_supersedes_nothing(ctx):
    owner = ctx.keygen()
    ns = register_ok(ctx, [owner], base_policy([owner], [owner]))
    old = publish_ok(ctx, ns, 1, [owner])
    new = publish_ok(ctx, ns, 2, [owner])
    assert provenance(ctx, old)["superseded_by"]["id"] == new
    assert revoke(ctx, new, "bad build", owner).rc == 0
    assert latest_id(ctx, ns) == old
    assert provenance(ctx, old)["superseded_by"] is None
