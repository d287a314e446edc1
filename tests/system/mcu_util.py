"""Running the Cortex-M4 example firmware (examples/cortex-m4, built by `make mcu`) under QEMU's
mps2-an386 board: `run_fw` writes the files it reads by semihosting into a fresh directory and
returns its verdict and figures (the "name: value" lines it prints)."""
import os
import shutil
import subprocess
from pathlib import Path

from conftest import REPO

# build/mcu whatever BUILD is: the cross build has no sanitizer variant (scripts/mcu.mk MCU).
MCU = Path(os.environ.get("MCU", REPO / "build" / "mcu"))
FW = MCU / os.environ.get("MCU_VAR", "w4-enc1") / "fw.elf"
QEMU_TIMEOUT = 120  # seconds for one update under instruction counting


def qemu_argv(fw):
    # -icount shift=0: one instruction is one nanosecond of virtual time, so the firmware's
    # SysTick (25 MHz on this board) counts one tick per 40 instructions, deterministically.
    return ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native", "-icount", "shift=0",
            "-kernel", str(fw)]


def run_fw(workdir, genesis, bundle, image, hw, ns, installed=None, fw=FW):
    """Runs one update on the emulated device. Returns (verdict name, figures dict, output)."""
    assert fw.exists(), "%s missing: run `make mcu`" % fw
    d = Path(workdir)
    d.mkdir(parents=True)
    lines = [hw, ns] + ([installed] if installed else [])
    (d / "device.cfg").write_text("\n".join(lines) + "\n")
    shutil.copyfile(genesis, d / "genesis.cbor")
    (d / "bundle.cbor").write_bytes(bundle)
    (d / "image.bin").write_bytes(image)
    p = subprocess.run(qemu_argv(fw.resolve()), cwd=d, capture_output=True, text=True,
                       timeout=QEMU_TIMEOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    figures, verdict = {}, None
    for line in p.stdout.splitlines():
        name, _, value = line.partition(": ")
        if name == "verdict":
            verdict = value.split()[0]
        elif value.isdigit():
            figures[name] = int(value)
    assert verdict is not None, "no verdict from the firmware:\n%s\n%s" % (p.stdout, p.stderr)
    return verdict, figures, p.stdout
