"""The README's tour of the CLI, run as written so that it cannot drift from the code: every
```sh block of the section "A tour of the CLI" (up to its first subsection), in order, as one
bash script (set -euo pipefail) in a scratch directory that holds only the files of
schema/examples/. The one edit: the dev node's endpoint tcp://127.0.0.1:7400 becomes a free
loopback port. Keystore passphrases come from UPLEDGER_PASSPHRASE, as the tour says."""
import os
import re
import shutil
import signal
import subprocess

from conftest import BUILD, REPO, assert_rejected, chain_state, cli_env, free_port

README = REPO / "README.md"
TOUR_ENDPOINT = "tcp://127.0.0.1:7400"
TOUR_TIMEOUT = 300  # seconds for the whole tour (argon2id on every keystore load)


def tour_blocks(text):
    """The ```sh blocks of "## A tour of the CLI" before its next heading of any level."""
    section = text.split("\n## A tour of the CLI\n", 1)[1]
    section = re.split(r"\n#{2,} ", section, maxsplit=1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M)


def test_readme_tour(tmp_path):
    blocks = tour_blocks(README.read_text())
    assert len(blocks) >= 5, blocks
    script = "\n".join(blocks)
    assert TOUR_ENDPOINT in script, "the tour no longer starts its dev node on %s" % TOUR_ENDPOINT
    script = script.replace(TOUR_ENDPOINT, "tcp://127.0.0.1:%d" % free_port())
    # A failing step stops the tour; whatever it left running is stopped with it.
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script
    for f in (REPO / "schema" / "examples").iterdir():
        shutil.copy(f, tmp_path / f.name)
    env = cli_env({"PATH": "%s:/usr/bin:/bin" % BUILD, "UPLEDGER_PASSPHRASE": "tour passphrase"})
    p = subprocess.Popen(["bash", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=TOUR_TIMEOUT)
    finally:  # a tour that hangs takes its dev node with it
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
    assert p.returncode == 0, "the README tour failed (exit %d):\n--- stdout\n%s--- stderr\n%s" % (
        p.returncode, out, err)
    # It ran to its end: the node it started was stopped and its data audited offline.
    assert "audit" in blocks[-1] and "--data" in blocks[-1], blocks[-1]


# ---- what the tour's old failure showed ----------------------------------------------------

def test_missing_dependency_is_named(ctx):
    """A release depending on a namespace nobody registered is refused with UL_E_DEPENDENCY in one
    line that names the dependency (namespace and constraint); so is an unsatisfiable one."""
    key, ns = ctx.publisher()
    before = chain_state(ctx.node)
    for dep, constraint, why in (("acme/bootloader", ">=2.0.0", "not registered"),
                                 (ns, ">=2.0 <1", "no version satisfies")):
        m = ctx.manifest(ns, 1, dependencies=[{"namespace": dep, "version": constraint}])
        r = ctx.publish(m, ctx.image(), key, json_out=False)
        assert r.rc == 1 and r.error_name == "UL_E_DEPENDENCY", r
        assert len(r.err.strip().splitlines()) == 1, r
        assert "dependency %s %s" % (dep, constraint) in r.err and why in r.err, r
    assert chain_state(ctx.node) == before


def test_unknown_namespace_queries_agree(ctx):
    """history and latest of a namespace nobody registered answer as namespace show does."""
    show = ctx.cli("namespace", "show", "nobody/here")
    assert_rejected(show, "UL_E_NOT_FOUND")
    for args in (["query", "history", "nobody/here"],
                 ["query", "latest", "nobody/here", "--hw", "hw-a"]):
        for json_out in (False, True):
            r = ctx.cli(*args, json_out=json_out)
            assert_rejected(r, "UL_E_NOT_FOUND")
            assert "namespace nobody/here" in r.err, r
    # A registered namespace without releases still has an (empty) history.
    key, ns = ctx.publisher()
    r = ctx.cli("query", "history", ns)
    assert r.rc == 0, r
