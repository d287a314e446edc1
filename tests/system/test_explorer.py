"""The provenance explorer (web/explorer): its in-browser verifier's node tests against bundles
`upledger export` and `query proof` wrote from a dev chain."""
import os
import subprocess

from explorer_util import CHECKPOINT_MS, EXPLORER, build_chain, export_cases, node_modules_or_fail

NODE_TEST_TIMEOUT = 120  # seconds for `node --test` over the verifier's tests


def test_verifier_on_exported_bundles(node_factory, tmp_path):
    node_modules_or_fail()
    from conftest import Ctx
    node = node_factory(checkpoint_ms=CHECKPOINT_MS)
    ctx = Ctx(node, tmp_path / "work")
    chain = build_chain(ctx)
    cases = export_cases(ctx, chain, tmp_path / "mirror")
    assert len(cases) == 5
    env = dict(os.environ, UL_EXPORT_DIR=str(tmp_path / "mirror"))
    p = subprocess.run(["node", "--test", "test/"], cwd=EXPLORER, env=env, capture_output=True,
                       text=True, timeout=NODE_TEST_TIMEOUT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "# skipped 0" in p.stdout and "# fail 0" in p.stdout, p.stdout
