"""upledger's option parsing (getopt_long): --version, "--opt=value" beside "--opt value", "--"
before positional arguments, and one usage line (exit 2) for each malformed option."""
import re

import pytest

from conftest import REPO, run_cli

VERSION = re.search(r'#define UL_VERSION_STRING "([^"]+)"',
                    (REPO / "schema" / "ul_version.h").read_text()).group(1)


def test_version():
    r = run_cli(["--version"])
    assert r.rc == 0, r
    assert r.out == "upledger %s\n" % VERSION, r
    assert "--version" in run_cli(["--help"]).out


def test_node_equals_endpoint(node):
    r = run_cli(["--node=%s" % node.endpoint, "--timeout-ms=5000", "--json", "query", "status"])
    assert r.rc == 0, r
    assert r.json["height"] >= 0, r


def test_command_options_with_equals(ctx):
    key = ctx.keygen()
    ns = ctx.new_ns()
    r = ctx.cli("namespace", "register", ns, "--key=%s" % key, "--publisher=%s" % key.pubkey,
                json_out=True)
    assert r.rc == 0, r
    m = ctx.manifest(ns, 1)
    img = ctx.image()
    r = ctx.cli("publish", "--image=%s" % img, "--key=%s" % key, m, json_out=True)
    assert r.rc == 0, r
    assert r.json["committed"] is True, r
    rid = r.json["id"]
    r = ctx.cli("query", "latest", ns, "--hw=hw-a", json_out=True)
    assert r.rc == 0, r
    assert r.json["id"] == rid, r


def test_double_dash_ends_options(ctx):
    key = ctx.keygen()
    ns = ctx.new_ns()
    ctx.register(ns, key)
    r = ctx.cli("namespace", "show", "--", ns, json_out=True)
    assert r.rc == 0, r
    assert r.json["namespace"] == ns, r


@pytest.mark.parametrize("args,message", [
    (["keygen", "--out"], "keygen: --out needs a value"),
    (["publish", "m.json", "--no-wait=yes"], "publish: --no-wait takes no value"),
    (["query", "status", "--bogus=1"], "query: unknown option --bogus=1"),
    (["query", "status", "-x"], "query: unknown option -x"),
    (["query", "latest", "a/b", "--hw", "x", "--hw=y"], "query: --hw given twice"),
    (["--node"], "--node needs a value"),
    (["--node=tcp://127.0.0.1:1", "--bogus", "query", "status"], "unknown option --bogus"),
    (["--timeout-ms=5", "query", "status"], "--timeout-ms takes 100..3600000"),
])
def test_malformed_options_exit_2(args, message):
    r = run_cli(args, timeout_ms=200)
    assert r.rc == 2, r
    assert r.err.startswith("upledger: " + message), r
    assert len(r.err.strip().splitlines()) == 1, r
