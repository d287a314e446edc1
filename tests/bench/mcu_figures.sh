#!/usr/bin/env bash
# Figures of libupclient on the Cortex-M4 (README "Microcontrollers"): flash split by library for
# each secp256k1 window (2..4) with and without encrypted images, and, for one honest update of a
# dev chain (tests/system/test_mcu.py's, a 4-validator-power chain whose set changed twice), the
# time on the target (QEMU -icount shift=0: instructions) split into signature checks, SHA-256
# and the rest, seconds at 64 MHz (one instruction per cycle assumed), and the RAM split.
# Usage: tests/bench/mcu_figures.sh   (from the repository root; builds what it needs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export BUILD=${BUILD:-build}
mcu=${MCU:-build/mcu}  # scripts/mcu.mk: one cross build whatever BUILD is
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make -s --no-print-directory all
for w in 2 3 4; do
    for enc in 0 1; do
        make -s --no-print-directory mcu MCU_ECMULT_WINDOW=$w MCU_ENC=$enc >/dev/null
    done
done
MCU_KEEP="$work/in" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/system/test_mcu.py \
    -k honest >/dev/null

/usr/bin/python3 - "$mcu" "$work/in" <<'PY'
import collections, os, re, subprocess, sys
mcu, inputs = sys.argv[1], sys.argv[2]
sys.path.insert(0, "tests/system")
from mcu_util import qemu_argv

LIBS = {"libsecp256k1.a": "secp256k1", "libsodium.a": "sodium", "libcbor.a": "cbor",
        "libupclient.a": "libupclient"}

def split(mapfile):
    """Bytes of flash (.text, .rodata, .data image) per library, from the link map."""
    out = collections.Counter()
    text = open(mapfile).read()
    body = text[text.index("Linker script and memory map"):]
    pat = re.compile(r"^ \.(text|rodata|data)\S*\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", re.M)
    for m in pat.finditer(body):
        size, obj = int(m.group(3), 16), m.group(4)
        if int(m.group(2), 16) == 0 and size == 0:
            continue
        lib = next((v for k, v in LIBS.items() if k + "(" in obj), None)
        if lib is None:
            lib = "newlib+libgcc" if ("arm-none-eabi" in obj or "gcc" in obj) else "firmware"
        out[lib] += size
    return out

print("flash (bytes; text+rodata+data) by library, firmware = examples/cortex-m4")
cols = ["secp256k1", "sodium", "cbor", "libupclient", "newlib+libgcc", "firmware"]
print("%-22s %s %8s" % ("variant", " ".join("%11s" % c for c in cols), "total"))
for w in (2, 3, 4):
    for enc in (0, 1):
        v = "w%d-enc%d" % (w, enc)
        s = split(os.path.join(mcu, v, "fw.elf.map"))
        size = subprocess.run(["arm-none-eabi-size", os.path.join(mcu, v, "fw.elf")],
                              capture_output=True, text=True).stdout.split("\n")[1].split()
        print("%-22s %s %8d  (arm-none-eabi-size: text %s data %s bss %s)" % (
            "window %d, %s" % (w, "encrypted" if enc else "plain"),
            " ".join("%11d" % s[c] for c in cols), sum(s.values()), size[0], size[1], size[2]))

print("\none honest update (128-byte chunks), QEMU -icount shift=0, SysTick 25 MHz = 40 instr/tick")
ram = {}
for w in (2, 3, 4):
    for enc in (0, 1):
        v = "w%d-enc%d" % (w, enc)
        p = subprocess.run(qemu_argv(os.path.abspath(os.path.join(mcu, v, "fw.elf"))), cwd=inputs,
                           capture_output=True, text=True, timeout=300)
        f = dict(l.split(": ", 1) for l in p.stdout.splitlines() if ": " in l)
        assert f["verdict"].startswith("UL_OK"), p.stdout
        t, sig, h = (int(f[k]) * 40 for k in ("ticks_total", "ticks_sig", "ticks_hash"))
        print("window %d, %-9s: %6.2f M instr (%d signature checks %6.2f M, SHA-256 %5.2f M, "
              "rest %5.2f M) = %.3f s at 64 MHz" % (
                  w, "encrypted" if enc else "plain", t / 1e6, int(f["sig_checks"]), sig / 1e6,
                  h / 1e6, (t - sig - h) / 1e6, t / 64e6))
        print("    RAM: ul_update %s B, ul_device_state %s B; stack high-water (painted, from "
              "the top, firmware frames included): set-up %s B, bundle %s B, image+accept %s B"
              % (f["sizeof_update"], f["sizeof_device_state"], f["stack_setup"],
                 f["stack_bundle"], f["stack_image"]))
        ram[v] = (int(f["sizeof_update"]), int(f["sizeof_device_state"]),
                  max(int(f[k]) for k in ("stack_setup", "stack_bundle", "stack_image")))
probe = os.path.join(mcu, "w4-enc0", "probe.elf")
syms = subprocess.run(["arm-none-eabi-nm", "-S", probe], capture_output=True, text=True).stdout
static = [l.split() for l in syms.splitlines() if len(l.split()) == 4 and l.split()[2] in "bBdD"]
print("\nstatic data linked with the library (probe.elf, w4-enc0; st and u are the probe's "
      "contexts): " + ", ".join("%s %d B" % (s[3], int(s[1], 16)) for s in static))
own = sum(int(s[1], 16) for s in static if s[3] not in ("st", "u"))
print("\nwhole update (context + device state + static %d B + highest stack), window 4:" % own)
for enc in (0, 1):
    c, d, k = ram["w4-enc%d" % enc]
    print("    %-9s: %d + %d + %d + %d = %d B (%.2f KiB)" % (
        "encrypted" if enc else "plain", c, d, own, k, c + d + own + k, (c + d + own + k) / 1024))
PY
