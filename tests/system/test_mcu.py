"""libupclient on an emulated Cortex-M4 (QEMU mps2-an386, examples/cortex-m4): the firmware
streams a real bundle and image, exported from a dev chain by the host tools, through the
library in 128-byte chunks and reaches the same verdict as the host build (`upledger verify`):
an honest update is accepted; a tampered image, a forged inclusion proof, a commit below the
quorum and a revoked release are each refused with their own code. The chain and the forgeries
are test_mirror_attacks.py's (a validator set changed twice, so the bundle walks two steps)."""
import os
import shutil

import pytest

from mcu_util import run_fw
from test_mirror_attacks import INCLUSION, Bundle, Lane, below_two_thirds, verify
# The dev chain (module scope; a fixture pytest finds by its name in this module).
from test_mirror_attacks import world  # noqa: F401


@pytest.fixture(scope="module")
def lanes(world):
    """"ok": two releases for hw-a (a log of several leaves); "revoked": its newer one revoked."""
    ok, rev = Lane(world), Lane(world)
    for lane in (ok, rev):
        lane.publish(1)
        lane.publish(2)
    r = world.ctx.cli("revoke", rev.ids[2], "--reason", "boot loop", "--key", rev.key,
                      json_out=True)
    assert r.rc == 0 and r.json["committed"] is True, r
    return {"ok": ok, "revoked": rev}


def tampered_image(world, lane, b, image):
    return b, image[:100] + bytes([image[100] ^ 1]) + image[101:]


def forged_inclusion(world, lane, b, image):
    (i,) = b.of_type(INCLUSION)
    path = b.secs[i][3]
    assert len(path) >= 1, "a log of several releases has a path"
    path[0] = bytes([path[0][0] ^ 1]) + path[0][1:]
    return b, image


def missing_quorum(world, lane, b, image):
    below_two_thirds(world, b)
    return b, image


def honest(world, lane, b, image):
    return b, image


@pytest.mark.parametrize("lane_name,seq,forge,want", [
    ("ok", 2, honest, "UL_OK"),
    ("ok", 2, tampered_image, "UL_E_DIGEST"),
    ("ok", 2, forged_inclusion, "UL_E_MERKLE_PROOF"),
    ("ok", 2, missing_quorum, "UL_E_QUORUM"),
    ("revoked", 2, honest, "UL_E_REVOKED"),
], ids=["honest", "tampered_image", "forged_inclusion", "missing_quorum", "revoked"])
def test_firmware_verdict(world, lanes, tmp_path, lane_name, seq, forge, want):
    lane = lanes[lane_name]
    b, image = forge(world, lane, Bundle(lane.proof(seq)), lane.data[seq])
    bundle = b.encode()
    f = tmp_path / "image.bin"
    f.write_bytes(image)
    host = verify(world, bundle, f, "mcu")
    assert (host.rc == 0) == (want == "UL_OK"), host
    if want != "UL_OK":
        assert host.error_name == want, host
    got, fig, out = run_fw(tmp_path / "fw", world.node.genesis, bundle, image, "hw-a", lane.ns,
                           world.installed)
    assert got == want, out
    assert fig["sig_checks"] >= 1, out
    if want == "UL_OK":
        assert fig["image_bytes"] == len(image), out
        if os.environ.get("MCU_KEEP"):  # tests/bench/mcu_figures.sh reruns these inputs
            shutil.copytree(tmp_path / "fw", os.environ["MCU_KEEP"], dirs_exist_ok=True)
