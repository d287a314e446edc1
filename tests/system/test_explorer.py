"""The provenance explorer (web/explorer): its in-browser verifier's node tests against bundles
`upledger export` and `query proof` wrote from a dev chain, and the page itself in headless
Chromium (playwright-core) served by a dev node's HTTP API, then through a proxy that flips one
byte of a proof."""
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

from conftest import BUILD, Ctx, free_port, sha256_file
from explorer_util import (CHECKPOINT_MS, EXPLORER, build_chain, export_cases,
                           node_modules_or_fail, start_http_node)
from tamper_proxy import TamperProxy

NODE_TEST_TIMEOUT = 120  # seconds for `node --test` over the verifier's tests
BROWSER_TIMEOUT = 240    # seconds for the whole browser script (each wait inside is 30 s)
SCREENSHOTS = BUILD / "explorer-screenshots"


def test_verifier_on_exported_bundles(node_factory, tmp_path):
    node_modules_or_fail()
    node = node_factory(checkpoint_ms=CHECKPOINT_MS)
    ctx = Ctx(node, tmp_path / "work")
    chain = build_chain(ctx)
    cases = export_cases(ctx, chain, tmp_path / "mirror")
    assert len(cases) == 5
    env = dict(os.environ, UL_EXPORT_DIR=str(tmp_path / "mirror"))
    p = subprocess.run(["node", "--test", "test/verify.test.js", "test/api.test.js"],
                       cwd=EXPLORER, env=env, capture_output=True, text=True,
                       timeout=NODE_TEST_TIMEOUT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "# skipped 0" in p.stdout and "# fail 0" in p.stdout, p.stdout


def search_status(base, digest):
    try:
        with urllib.request.urlopen("%s/v1/search?digest=%s" % (base, digest), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def browse(cfg_path):
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    p = subprocess.run(["node", "test/browser.mjs", str(cfg_path)], cwd=EXPLORER, env=env,
                       capture_output=True, text=True, timeout=BROWSER_TIMEOUT)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)


def test_browser_verifies_and_catches_a_tampered_proof(node_factory, tmp_path):
    node_modules_or_fail()
    assert shutil.which("/usr/bin/chromium"), "Debian's chromium is missing: make deps"
    site = BUILD / "explorer"
    assert (site / "index.html").exists(), "run `make explorer`"
    node = node_factory(start=False)
    http_port = free_port()
    start_http_node(node, http_port, site)
    ctx = Ctx(node, tmp_path / "work")
    chain = build_chain(ctx)
    st = node.status()
    rid = chain["r3"]
    cfg = {"node": "http://127.0.0.1:%d" % http_port, "chain": st["chain_id"],
           "image": str(chain["images"][rid]), "id": rid, "hw": "hw-a", "ns": chain["ns"],
           "screenshots": str(SCREENSHOTS)}
    digest = sha256_file(chain["images"][rid])
    assert search_status(cfg["node"], digest) == 200  # the node's search index (method 19)
    cfg["digest"] = digest
    with TamperProxy(cfg["node"], free_port()) as proxy, \
            TamperProxy(cfg["node"], free_port(), mode="json") as liar, \
            TamperProxy(cfg["node"], free_port(), mode="search", swap_id=chain["r1"]) as seeker:
        cfg["proxy"] = "http://127.0.0.1:%d" % proxy.server.server_address[1]
        cfg["proxyJson"] = "http://127.0.0.1:%d" % liar.server.server_address[1]
        cfg["proxySearch"] = "http://127.0.0.1:%d" % seeker.server.server_address[1]
        (tmp_path / "cfg.json").write_text(json.dumps(cfg))
        out = browse(tmp_path / "cfg.json")
        assert proxy.tampered >= 1 and liar.tampered >= 1
    assert out["errors"] == [], out["errors"]
    assert st["chain_id"] in out["trust"] and "#chain=" in out["trust"], out["trust"]
    # Search by the image file: hashed in the page, found through /v1/search.
    assert digest in out["search"] and rid[:16] in out["search"], out["search"]
    # Reached from the search, the release page checks the file's digest against the
    # record the proofs cover.
    assert any("the image you searched for is this release's image" in c
               for c in out["release"]["checks"]), out["release"]["checks"]
    # A search answer naming another release: its proofs hold, but not for this image.
    lie = out["lyingSearch"]
    assert lie["status"] == "NOT verified", lie
    assert "is not this release's image" in lie["reason"], lie
    # The release page: every proof verified, and a hw-a device would install it.
    rel = out["release"]
    assert rel["status"] == "verified", rel
    assert out["title"] == "%s 1.0.3" % chain["ns"]
    assert "would install it" in rel["device"], rel
    assert any("1 change(s)" in c for c in rel["checks"]), rel["checks"]
    assert any("3 of 4 power" in c for c in rel["checks"]), rel["checks"]
    assert any("this release heads the class's list" in c for c in rel["checks"]), rel["checks"]
    assert (SCREENSHOTS / "release.png").stat().st_size > 10000
    # Through the tampering proxy: NOT verified, and why.
    bad = out["tampered"]
    assert bad["status"] == "NOT verified", bad
    assert "inclusion proof does not verify" in bad["reason"], bad
    assert "UL_E_MERKLE_PROOF" in bad["reason"], bad
    # A server whose JSON describes the release otherwise than the record its proofs cover.
    lie = out["lyingJson"]
    assert lie["status"] == "NOT verified", lie
    assert "differs from the record the proofs cover: version" in lie["reason"], lie
    # No trust root, or another chain's: nothing is verified.
    assert out["unpinned"]["status"] == "NOT verified"
    assert "no trust root pinned" in out["unpinned"]["reason"]
    assert out["wrongChain"]["status"] == "NOT verified"
    assert "UL_E_CHAIN_ID" in out["wrongChain"]["reason"]
    # Browsing the rest.
    assert "Latest blocks" in out["head"] and "Validator-set history" in out["validators"]
    assert "Equivocation evidence" in out["evidence"] and "Block 1" in out["block"]
    assert chain["ns"] in out["ns"] and "1.0.3" in out["ns"], out["ns"]
