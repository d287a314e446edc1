"""The node's metrics (query method 18, `upledger query metrics`) and search by image digest and
by signer key (method 19, `upledger query search`), against a dev node, and on a testnet of
four validators and an observer.

The metrics page is parsed with the real Prometheus parser (python3-prometheus-client's
text_string_to_metric_families, Debian), which refuses a page that breaks the text format
0.0.4; the figures must move as the chain does. Search must agree with what was published and
co-signed, page by page, and survive a restart and a replay (`upledger audit`)."""
import hashlib
import http.client
import inspect
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Ctx, Node
from test_contracts import approve_ok, certified, publish_ok
from test_testnet import testnet, wait_for  # noqa: F401 (testnet is a fixture)


def scrape(node):
    r = node.cli("query", "metrics")
    assert r.rc == 0, r
    families = {f.name: f for f in text_string_to_metric_families(r.out)}
    return families, r.out


def value(families, name, suffix="", **labels):
    """The sample `name + suffix` with exactly these labels (family name without _total)."""
    fam = families[name]
    for s in fam.samples:
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError("no sample %s%s %s in %s" % (name, suffix, labels, fam.samples))


def test_metrics_parse_and_move(ctx):
    before, text = scrape(ctx.node)
    # Every family the brief names is there with its type.
    types = {name: f.type for name, f in before.items()}
    for name, t in [("upledger_height", "gauge"), ("upledger_round", "gauge"),
                    ("upledger_txs_pooled", "gauge"), ("upledger_txs_committed", "counter"),
                    ("upledger_peers_connected", "gauge"),
                    ("upledger_peer_envelopes_sent", "counter"),
                    ("upledger_peer_envelopes_dropped", "counter"),
                    ("upledger_sync_target_height", "gauge"),
                    ("upledger_store_approximate_bytes", "gauge"),
                    ("upledger_store_disk_bytes", "gauge"),
                    ("upledger_signature_verifications", "counter"),
                    ("upledger_commit_latency_seconds", "histogram"),
                    ("upledger_fsync_seconds", "summary"),
                    ("upledger_http_requests", "counter")]:
        assert types.get(name) == t, (name, types.get(name), text)
    for reason in ["send_queue_full", "malformed", "oversized", "bad_signature",
                   "unknown_sender"]:
        assert value(before, "upledger_peer_envelopes_dropped", "_total", reason=reason) == 0
    assert text.count("# TYPE upledger_peer_envelopes_dropped_total counter") == 1

    key, ns = ctx.publisher()
    publish_ok_ids = [ctx.publish_ok(ns, seq, key)[0] for seq in (1, 2)]
    assert len(set(publish_ok_ids)) == 2
    after, _ = scrape(ctx.node)

    h0, h1 = value(before, "upledger_height"), value(after, "upledger_height")
    assert h1 >= h0 + 3, (h0, h1)  # register + two publishes, each committed before it returns
    assert h1 == ctx.node.status()["height"]
    assert value(after, "upledger_release_log_size") == value(before,
                                                              "upledger_release_log_size") + 2
    assert (value(after, "upledger_txs_committed", "_total")
            >= value(before, "upledger_txs_committed", "_total") + 3)
    assert (value(after, "upledger_signature_verifications", "_total")
            > value(before, "upledger_signature_verifications", "_total"))
    # Each block's commit is one synced store write and counts one latency observation.
    blocks = h1 - h0
    lat = "upledger_commit_latency_seconds"
    assert value(after, lat, "_count") - value(before, lat, "_count") == blocks
    assert value(after, lat, "_bucket", le="+Inf") == value(after, lat, "_count")
    fs = "upledger_fsync_seconds"
    assert value(after, fs, "_count", file="store") >= value(before, fs, "_count", file="store") + blocks
    assert value(after, fs, "_sum", file="store") > value(before, fs, "_sum", file="store")
    # A lone dev validator signs each block's proposal, prevote and precommit, recorded first.
    assert (value(after, fs, "_count", file="sign_state")
            >= value(before, fs, "_count", file="sign_state") + 3 * blocks)
    assert value(after, "upledger_store_disk_bytes") > 0
    assert value(after, "upledger_txs_pooled") == 0

    # --json carries the same page as text.
    r = ctx.cli("query", "metrics", json_out=True)
    assert r.rc == 0 and "upledger_height " in r.json["text"], r


def sha256_hex(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def search(node, *args):
    r = node.cli("query", "search", *args, json_out=True)
    assert r.rc == 0, r
    return r.json


def test_search_by_digest_and_signer(ctx, tmp_path):
    ns, _, pub, (cert,) = certified(ctx)
    img = ctx.image()
    # The same image in two releases (two sequences), another image in a third.
    r1 = publish_ok(ctx, ns, 1, [pub])
    ctx_img_release = ctx.cli("publish", ctx.manifest(ns, 2), "--image", img, "--key", pub,
                              json_out=True)
    assert ctx_img_release.rc == 0, ctx_img_release
    r2 = ctx_img_release.json["id"]
    r3 = ctx.cli("publish", ctx.manifest(ns, 3), "--image", img, "--key", pub, json_out=True)
    assert r3.rc == 0, r3
    r3, h3 = r3.json["id"], r3.json["height"]
    approve_ok(ctx, r2, "certifier", cert)

    by_digest = search(ctx.node, "--digest", sha256_hex(img))
    assert [e["id"] for e in by_digest["releases"]] == [r3, r2]  # newest first
    assert by_digest["releases"][0]["height"] == h3
    assert by_digest["by"] == "digest" and by_digest["digest"] == sha256_hex(img)
    # Each result is named by its record.
    assert [(e["namespace"], e["version"], e["sequence"]) for e in by_digest["releases"]] == \
        [(ns, "1.0.3", 3), (ns, "1.0.2", 2)]
    assert by_digest["next_cursor"] is None
    oldest = search(ctx.node, "--digest", sha256_hex(img), "--oldest-first")
    assert [e["id"] for e in oldest["releases"]] == [r2, r3]

    # The publisher signed all three; the certifier co-signed one.
    assert [e["id"] for e in search(ctx.node, "--signer", pub.pubkey)["releases"]] == [r3, r2, r1]
    assert [e["id"] for e in search(ctx.node, "--signer", cert.pubkey)["releases"]] == [r2]
    assert search(ctx.node, "--digest", "ab" * 32)["releases"] == []

    # Pages: one at a time, with the cursor each page gives.
    seen, cursor = [], None
    for _ in range(4):
        args = ["--signer", pub.pubkey, "--limit", "1"] + (["--cursor", str(cursor)]
                                                          if cursor is not None else [])
        page = search(ctx.node, *args)
        seen += [e["id"] for e in page["releases"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r3, r2, r1]
    text = ctx.cli("query", "search", "--signer", pub.pubkey, "--limit", "2")
    assert text.rc == 0 and "more: upledger query search --signer" in text.out, text
    lines = text.out.splitlines()
    assert lines[0] == "signer %s: 2 releases, newest first" % pub.pubkey, text
    assert ns in lines[1] and "1.0.3" in lines[1] and r3 in lines[1], text

    # The indexes are written with the block: a restart keeps them, and a replay from genesis
    # (audit) agrees with the node.
    ctx.node.stop()
    ctx.node.start()
    assert [e["id"] for e in search(ctx.node, "--signer", cert.pubkey)["releases"]] == [r2]
    audit = ctx.cli("audit")
    assert audit.rc == 0, audit


def test_search_bad_input(ctx):
    for args, what in [([], "one of --digest"),
                       (["--digest", "ab" * 32, "--signer", "cd" * 32], "one of --digest"),
                       (["--digest", "xyz"], "--digest is 64 hex digits"),
                       (["--signer", "ab" * 31], "--signer is 64 hex digits"),
                       (["--digest", "ab" * 32, "--limit", "0"], "--limit is a number"),
                       (["--digest", "ab" * 32, "--limit", "257"], "--limit is a number"),
                       (["--digest", "ab" * 32, "--cursor", "x"], "--cursor is a log index")]:
        r = ctx.cli("query", "search", *args)
        assert r.rc == 2 and what in r.err and r.err.count("\n") == 1, (args, r)


def query_digest(t, rid):
    r = t.cli(0, "query", "release", rid, json_out=True)
    assert r.rc == 0, r
    return r.json["image"]["sha256"]


def scrape_at(t, i):
    r = t.cli(i, "query", "metrics")
    assert r.rc == 0, r
    return {f.name: f for f in text_string_to_metric_families(r.out)}


def test_testnet_peers_and_observer_search(testnet, tmp_path):
    """Four validators and an observer: peers connect and envelopes flow; the observer, which
    only block-syncs, serves the same search answers as a validator and tracks its sync target."""
    t = testnet(4, observers=1)
    obs = 4
    ctx = Ctx(t.view(0), tmp_path / "work")
    key, ns = ctx.publisher()
    rid, _, h = ctx.publish_ok(ns, 1, key)
    wait_for("the observer at height %d" % h, lambda: (t.height(obs) or 0) >= h,
             detail=t.detail)
    wait_for("validator 0 connected to its 3 peers",
             lambda: value(scrape_at(t, 0), "upledger_peers_connected") == 3, detail=t.detail)
    m = scrape_at(t, 0)
    assert value(m, "upledger_peers") == 3
    assert value(m, "upledger_peer_envelopes_sent", "_total") > 0
    assert value(m, "upledger_peer_envelopes_received", "_total") > 0
    assert value(m, "upledger_signatures_made", "_total") > 0
    o = scrape_at(t, obs)
    assert value(o, "upledger_height") >= h
    assert value(o, "upledger_signatures_made", "_total") == 0  # an observer never signs
    assert value(o, "upledger_txs_committed", "_total") >= 2  # register + publish, synced
    for args in (["--signer", key.pubkey], ["--digest", query_digest(t, rid)]):
        here = t.cli(obs, "query", "search", *args, json_out=True)
        there = t.cli(0, "query", "search", *args, json_out=True)
        assert here.rc == 0 and here.json == there.json, (here, there)
        assert [e["id"] for e in here.json["releases"]] == [rid]


# The HTTP API (branch http) serves the same page at /metrics and counts its requests into it;
# conftest's Node takes http=True once that branch is in.
HTTP_NODE = "http" in inspect.signature(Node.__init__).parameters


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


@pytest.mark.skipif(not HTTP_NODE, reason="no HTTP API in this build (branch http)")
def test_metrics_and_search_over_http(tmp_path):
    node = Node(tmp_path / "node", tmp_path / "node.log", http=True)
    node.start()
    try:
        ctx = Ctx(node, tmp_path / "work")
        key, ns = ctx.publisher()
        rid, img, h = ctx.publish_ok(ns, 1, key)
        port = int(node.http_url.rsplit(":", 1)[1])
        for _ in range(3):
            assert http_get(port, "/health")[0] == 200
        st, hd, body = http_get(port, "/v1/search?digest=" + sha256_hex(img))
        assert st == 200, body
        assert [r["id"] for r in json.loads(body)["results"]] == [rid], body
        st, hd, body = http_get(port, "/metrics")
        assert st == 200 and hd["content-type"].startswith("text/plain"), (st, hd, body)
        fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
        assert value(fams, "upledger_height") == node.status()["height"] >= h
        counts = {}
        for smp in fams["upledger_http_requests"].samples:
            counts[(smp.labels["route"], smp.labels["code"])] = smp.value
        assert sum(v for (route, code), v in counts.items()
                   if "health" in route and code == "200") >= 3, counts
        assert sum(v for (route, _), v in counts.items() if "search" in route) >= 1, counts
    finally:
        node.stop()
