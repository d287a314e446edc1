"""`make install` into a temporary DESTDIR, then a small program linked with exactly the line the
README's device library section shows (`cc ... $(pkg-config --cflags --libs upclient)`), run
against the installed shared library. SANITIZER and SHA256 (passed on by `make test`) select the
same build as the binaries under test; nothing is rebuilt."""
import hashlib
import os
import re
import subprocess

from conftest import BUILD, REPO

PREFIX = "/usr/local"
PROGRAM = r"""
#include <stdio.h>
#include <client/ul_client.h>

int main(void)
{
    uint8_t h[UL_HASH_BYTES];
    if (ul_client_init() != UL_OK) {
        return 1;
    }
    ul_client_sha256(h, (const uint8_t *)"abc", 3);
    for (size_t i = 0; i < sizeof h; i++) {
        printf("%02x", h[i]);
    }
    printf(" %s %s\n", ul_client_sha256_impl(), ul_err_name(UL_E_SIG));
    return 0;
}
"""


def readme_link_line():
    """The README's one command line that links a program with pkg-config."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n### The device library\n", 1)[1].split("\n### ", 1)[0]
    lines = [l.split("#", 1)[0].strip() for l in section.splitlines()
             if "$(pkg-config --cflags --libs upclient)" in l]
    assert len(lines) == 1, lines
    return lines[0]


def test_install_and_link_with_pkg_config(tmp_path):
    dest = tmp_path / "dest"
    san = os.environ.get("SANITIZER", "")
    make = ["make", "-s", "--no-print-directory", "install", "DESTDIR=%s" % dest,
            "PREFIX=" + PREFIX, "BUILD=%s" % BUILD, "SANITIZER=" + san,
            "SHA256=" + os.environ.get("SHA256", "openssl")]
    p = subprocess.run(make, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    lib = dest / PREFIX.lstrip("/") / "lib"
    assert (lib / "libupclient.a").is_file()
    assert (lib / "libupclient.so").is_symlink()

    (tmp_path / "updater.c").write_text(PROGRAM)
    line = readme_link_line()
    assert line.startswith("cc "), line
    if san:  # a sanitized library needs its runtime in the program too
        line = line.replace("cc ", "cc -fsanitize=%s " % san, 1)
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(lib / "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    p = subprocess.run(["sh", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, "%s\n%s%s" % (line, p.stdout, p.stderr)

    # It links the shared library by its soname, and runs with the installed one.
    exe = re.search(r"-o\s+(\S+)", line).group(1)
    dyn = subprocess.run(["readelf", "-d", exe], cwd=tmp_path, capture_output=True, text=True,
                         timeout=30).stdout
    assert re.search(r"NEEDED.*\[libupclient\.so\.\d+\]", dyn), dyn
    p = subprocess.run(["./" + exe], cwd=tmp_path, env=dict(os.environ, LD_LIBRARY_PATH=str(lib)),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    digest, impl, name = p.stdout.split()
    assert digest == hashlib.sha256(b"abc").hexdigest()
    assert impl in ("openssl", "libsodium") and name == "UL_E_SIG"
