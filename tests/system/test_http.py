"""upledgerd's read-only HTTP API (node/http*.c, docs/openapi.yaml) against one dev node holding a
certified namespace: release 1 co-signed by a certifier, release 2 co-signed then revoked.

Every route's happy path, JSON and CBOR (Accept), ETag/If-None-Match, Cache-Control, every bad
input answered 4xx with a JSON {error, code, name}, oversized URLs and headers, the explorer's
static files (and paths that try to leave its directory), idle and slow clients that must not
stall the node, and a walk over docs/openapi.yaml requesting every documented path."""
import hashlib
import http.client
import json
import re
import socket
import time

import cbor2
import pytest
import yaml

from conftest import ERR_NUM, REPO, Ctx, Node, run_cli

HTTP_TIMEOUT = 10  # seconds, any one request


class World:
    pass


def get(world, path, headers=None, method="GET"):
    """(status, headers dict with lower-case names, body bytes) of one request."""
    c = http.client.HTTPConnection("127.0.0.1", world.port, timeout=HTTP_TIMEOUT)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def get_json(world, path, status=200):
    st, h, body = get(world, path)
    assert st == status, (path, st, body)
    assert h["content-type"] == "application/json", (path, h)
    return json.loads(body)


def assert_error(world, path, status, name, headers=None, method="GET"):
    st, h, body = get(world, path, headers, method)
    assert st == status, (path, st, body)
    e = json.loads(body)
    assert e["name"] == name and e["code"] == ERR_NUM[name] and e["error"], (path, e)
    return e


def keyargs(*keys):
    return [a for k in keys for a in ("--key", k)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    explorer = tmp / "explorer"
    (explorer / "assets").mkdir(parents=True)
    (explorer / "index.html").write_text("<!doctype html><title>explorer</title>")
    (explorer / "assets" / "app.js").write_text("console.log('hi');")
    (tmp / "secret.txt").write_text("outside the root")
    (explorer / "escape.txt").symlink_to(tmp / "secret.txt")
    node = Node(tmp / "node", tmp / "node.log", http=True,
                extra=["--explorer", str(explorer)])
    w = World()
    w.node, w.tmp, w.explorer = node, tmp, explorer
    try:
        node.start()
        w.port = int(node.http_url.rsplit(":", 1)[1])
        _populate(w)
        yield w
    finally:
        node.stop()


def _populate(w):
    ctx = Ctx(w.node, w.tmp / "work")
    w.ctx = ctx
    owner, pub, cert = ctx.keygen(), ctx.keygen(), ctx.keygen()
    w.ns = "acme%d/router" % int(time.time() * 1000 % 100000)
    pol = {"owners": {"keys": [owner.pubkey]}, "publishers": {"keys": [pub.pubkey]},
           "roles": {"certifier": {"keys": [cert.pubkey], "threshold": 1}},
           "require": {"security": ["certifier"]}}
    pf = ctx.tmp / "policy.json"
    pf.write_text(json.dumps(pol))
    r = ctx.cli("namespace", "register", w.ns, "--policy", pf, "--key", owner, json_out=True)
    assert r.rc == 0, r
    w.ids, w.images = [], []
    for seq in (1, 2):
        img = ctx.image()
        r = ctx.cli("publish", ctx.manifest(w.ns, seq), "--image", img, "--key", pub,
                    json_out=True)
        assert r.rc == 0 and r.json["committed"], r
        w.ids.append(r.json["id"])
        w.images.append(img)
        r = ctx.cli("approve", r.json["id"], "--role", "certifier", "--key", cert, json_out=True)
        assert r.rc == 0 and r.json["committed"], r
    r = ctx.cli("revoke", w.ids[1], "--reason", "recalled", "--key", pub, json_out=True)
    assert r.rc == 0 and r.json["committed"], r
    w.owner, w.pub, w.cert = owner, pub, cert
    w.height = w.node.status()["height"]


# ---- node state --------------------------------------------------------------------------

def test_health_and_status(world):
    h = get_json(world, "/health")
    assert h["status"] == "ok" and h["height"] == world.height, h
    s = get_json(world, "/v1/status")
    cli = world.node.status()
    assert s["height"] == cli["height"] and s["chain_id"] == cli["chain_id"], (s, cli)
    assert s["head"]["height"] == s["height"] and s["in_sync"] is True, s
    assert s["storage"] == {"ok": True} and s["signing"]["step"] in ("precommit", "none"), s


def test_genesis_json_and_cbor(world):
    g = get_json(world, "/v1/genesis")
    raw = world.node.genesis.read_bytes()
    assert g["chain_id"] == hashlib.sha256(raw).hexdigest() == world.node.status()["chain_id"]
    assert len(g["validators"]) == 1 and g["validators"][0]["power"] == 1, g
    for path, hdr in (("/v1/genesis.cbor", {}), ("/v1/genesis", {"Accept": "application/cbor"})):
        st, h, body = get(world, path, hdr)
        assert st == 200 and h["content-type"] == "application/cbor" and body == raw, path
        assert "immutable" in h["cache-control"], h


def test_block_with_commit_signers(world):
    b = get_json(world, "/v1/blocks/%d" % world.height)
    assert b["header"]["height"] == world.height, b
    val = get_json(world, "/v1/genesis")["validators"][0]["pubkey"]
    assert [s["pubkey"] for s in b["commit"]["signers"]] == [val], b
    assert b["commit"]["signed_power"] == b["commit"]["total_power"] == 1, b
    assert [t["kind"] for t in b["txs"]] == ["revoke"], b
    st, h, body = get(world, "/v1/blocks/1", {"Accept": "application/cbor"})
    assert st == 200 and h["content-type"] == "application/cbor", h
    assert isinstance(cbor2.loads(body), dict)


# ---- releases ----------------------------------------------------------------------------

def test_release_with_provenance(world):
    r1 = get_json(world, "/v1/releases/" + world.ids[0])
    assert r1["id"] == world.ids[0] and r1["namespace"] == world.ns and r1["sequence"] == 1, r1
    assert r1["signers"] == [world.pub.pubkey] and r1["height"] >= 1, r1
    p = r1["provenance"]
    assert p["approved"] and p["installable"] and not p["revoked"], p
    assert p["approvals"] == {"certifier": [world.cert.pubkey]}, p
    cli = world.ctx.cli("query", "release", world.ids[0], json_out=True)
    assert cli.rc == 0 and cli.json["image"] == r1["image"], (cli, r1)
    r2 = get_json(world, "/v1/releases/" + world.ids[1])["provenance"]
    assert r2["revoked"] and not r2["installable"] and r2["revocation_reason"] == "recalled", r2
    assert r2["revoked_height"] == world.height, r2
    st, h, body = get(world, "/v1/releases/" + world.ids[0], {"Accept": "application/cbor"})
    tx = cbor2.loads(body)
    assert st == 200 and h["content-type"] == "application/cbor" and tx[1] == 2, tx  # publish


def test_namespace_releases_and_latest(world):
    ns = get_json(world, "/v1/namespaces/" + world.ns)
    assert ns["namespace"] == world.ns, ns
    assert ns["policy"]["publishers"]["keys"] == [world.pub.pubkey], ns
    assert ns["policy"]["require"] == {"security": ["certifier"]}, ns
    p1 = get_json(world, "/v1/namespaces/%s/releases?limit=1" % world.ns)
    assert [r["id"] for r in p1["releases"]] == world.ids[:1] and "next" in p1, p1
    p2 = get_json(world, "/v1/namespaces/%s/releases?limit=1&cursor=%d" % (world.ns, p1["next"]))
    assert [r["id"] for r in p2["releases"]] == world.ids[1:], p2
    newest = get_json(world, "/v1/namespaces/%s/releases?order=newest" % world.ns)
    assert [r["id"] for r in newest["releases"]] == world.ids[::-1], newest
    # Release 2 is revoked: the newest installable for hw-a is release 1.
    st, h, body = get(world, "/v1/namespaces/%s/hw/hw-a/latest" % world.ns)
    assert st == 200 and json.loads(body)["id"] == world.ids[0], body
    assert h["cache-control"] == "public, max-age=5", h
    assert_error(world, "/v1/namespaces/%s/hw/hw-zz/latest" % world.ns, 404, "UL_E_NOT_FOUND")


def test_search(world):
    digest = hashlib.sha256(world.images[0].read_bytes()).hexdigest()
    r = get_json(world, "/v1/search?digest=" + digest)
    assert [x["id"] for x in r["results"]] == world.ids[:1] and "next" not in r, r
    r = get_json(world, "/v1/search?signer=%s&limit=1" % world.cert.pubkey)  # co-signed both
    assert [x["id"] for x in r["results"]] == world.ids[:1] and "next" in r, r
    r = get_json(world, "/v1/search?signer=%s&limit=1&cursor=%d" % (world.cert.pubkey, r["next"]))
    assert [x["id"] for x in r["results"]] == world.ids[1:2], r
    assert get_json(world, "/v1/search?digest=" + "00" * 32) == {"results": []}


def test_metrics_count_http_requests(world):
    """/metrics is the node's Prometheus page (parsed with prometheus_client's parser), and it
    counts this layer's requests by route template and status."""
    from prometheus_client.parser import text_string_to_metric_families
    get(world, "/v1/releases/" + world.ids[0])
    get(world, "/v1/releases/zz")
    st, h, body = get(world, "/metrics")
    assert st == 200 and h["content-type"].startswith("text/plain"), h
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    reqs = {(s.labels["route"], s.labels["code"]): s.value
            for s in fams["upledger_http_requests"].samples if s.name.endswith("_total")}
    assert reqs[("/v1/releases/{id}", "200")] >= 1 and reqs[("/v1/releases/{id}", "400")] >= 1
    assert not any(route.startswith("/v1/releases/") and "{" not in route for route, _ in reqs)


# ---- proofs and bundles ------------------------------------------------------------------

def test_inclusion_and_consistency(world):
    inc = get_json(world, "/v1/proofs/inclusion/%s?height=%d" % (world.ids[0], world.height))
    assert inc["id"] == world.ids[0] and inc["height"] == world.height and inc["hw"] == "hw-a"
    rel = get_json(world, "/v1/releases/" + world.ids[0])
    head = get_json(world, "/v1/blocks/%d" % world.height)["header"]
    assert inc["log_index"] == rel["log_index"] and inc["tree_size"] == head["log_size"], inc
    assert inc["header_hash"] == head["hash"] and inc["log_root"] == head["log_root"], inc
    st, h, body = get(world, inc["bundle"])
    assert st == 200 and len(body) == inc["bundle_bytes"], (inc, st)
    c = get_json(world, "/v1/proofs/consistency?from=1&to=%d" % head["log_size"])
    assert c["from"] == 1 and c["to"] == head["log_size"] and isinstance(c["path"], list), c
    st, h, body = get(world, "/v1/proofs/consistency?from=1&to=2", {"Accept": "application/cbor"})
    assert st == 200 and cbor2.loads(body)[1] == 1, body


def test_bundles_match_the_cli_and_verify(world, tmp_path):
    """The per-height URL serves the bytes `upledger query proof --out` writes, and a device
    (upledger verify) accepts the latest bundle with the image."""
    out = tmp_path / "b.cbor"
    r = world.ctx.cli("query", "proof", world.ids[0], "--height", str(world.height), "--out", out)
    assert r.rc == 0, r
    url = "/v1/bundles/%s/hw/hw-a/releases/%s/%d.cbor" % (world.ns, world.ids[0], world.height)
    st, h, body = get(world, url)
    assert st == 200 and body == out.read_bytes(), st
    assert h["content-type"] == "application/cbor", h
    assert h["cache-control"] == "public, max-age=31536000, immutable", h
    assert h["etag"] == '"%s"' % hashlib.sha256(body).hexdigest(), h
    st, h2, body = get(world, "/v1/bundles/%s/hw/hw-a/latest.cbor" % world.ns)
    assert st == 200 and h2["cache-control"] == "public, max-age=5", h2
    latest = tmp_path / "latest.cbor"
    latest.write_bytes(body)
    v = run_cli(["verify", "--bundle", latest, "--image", world.images[0], "--genesis",
                 world.node.genesis, "--hw", "hw-a"])
    assert v.rc == 0, v


def test_etag_and_304(world):
    for url in ("/v1/bundles/%s/hw/hw-a/latest.cbor" % world.ns,
                "/v1/bundles/%s/hw/hw-a/releases/%s/%d.cbor" % (world.ns, world.ids[0],
                                                               world.height),
                "/v1/blocks/1", "/v1/genesis", "/v1/releases/" + world.ids[0]):
        st, h, body = get(world, url)
        assert st == 200 and h["etag"].startswith('"'), (url, h)
        for _ in range(2):  # the second time from the cache, where there is one
            st2, h2, body2 = get(world, url, {"If-None-Match": h["etag"]})
            assert st2 == 304 and body2 == b"", (url, st2)
        st3, _, body3 = get(world, url, {"If-None-Match": '"' + "0" * 64 + '"'})
        assert st3 == 200 and body3 == body, url


def test_bundle_of_another_namespace_is_404(world):
    url = "/v1/bundles/other/ns/hw/hw-a/releases/%s/%d.cbor" % (world.ids[0], world.height)
    assert_error(world, url, 404, "UL_E_NAMESPACE")


# ---- validators, evidence ----------------------------------------------------------------

def test_validators_and_evidence(world):
    v = get_json(world, "/v1/validators")
    g = get_json(world, "/v1/genesis")
    assert v["head"] == world.height and v["sets"][0]["from"] == 1, v
    assert v["sets"][0]["validators"] == g["validators"] and "next" not in v, v
    assert get_json(world, "/v1/evidence") == {"evidence": []}


# ---- bad input ---------------------------------------------------------------------------

BAD = [
    ("/v1/blocks/0", 400, "UL_E_ARG"),
    ("/v1/blocks/abc", 400, "UL_E_ARG"),
    ("/v1/blocks/-1", 400, "UL_E_ARG"),
    ("/v1/blocks/99999999999999999999", 400, "UL_E_ARG"),
    ("/v1/blocks/999999", 404, "UL_E_NOT_FOUND"),
    ("/v1/blocks/1?x=1", 400, "UL_E_ARG"),
    ("/v1/releases/zz", 400, "UL_E_ARG"),
    ("/v1/releases/" + "00" * 32, 404, "UL_E_NOT_FOUND"),
    ("/v1/namespaces/nobody/nothing", 404, "UL_E_NOT_FOUND"),
    ("/v1/namespaces/a/b/releases?limit=0", 400, "UL_E_LIMIT"),
    ("/v1/namespaces/a/b/releases?limit=100000", 400, "UL_E_LIMIT"),
    ("/v1/namespaces/a/b/releases?cursor=x", 400, "UL_E_ARG"),
    ("/v1/namespaces/a/b/releases?order=sideways", 400, "UL_E_ARG"),
    ("/v1/namespaces/" + "v" * 100 + "/" + "p" * 100, 400, "UL_E_NS_NAME"),
    ("/v1/namespaces/a/b/hw/" + "h" * 200 + "/latest", 400, "UL_E_HW_CLASS"),
    ("/v1/namespaces/a/b/hw/%01/latest", 400, "UL_E_HW_CLASS"),
    ("/v1/namespaces/Acme/b", 400, "UL_E_NS_NAME"),
    ("/v1/search", 400, "UL_E_ARG"),
    ("/v1/search?digest=12", 400, "UL_E_ARG"),
    ("/v1/search?digest=%s&signer=%s" % ("00" * 32, "00" * 32), 400, "UL_E_ARG"),
    ("/v1/proofs/inclusion/xyz", 400, "UL_E_ARG"),
    ("/v1/proofs/inclusion/%s?height=0" % ("00" * 32), 400, "UL_E_ARG"),
    ("/v1/proofs/consistency", 400, "UL_E_ARG"),
    ("/v1/proofs/consistency?from=5&to=2", 400, "UL_E_ARG"),
    ("/v1/proofs/consistency?from=1&to=999999", 400, "UL_E_MERKLE_RANGE"),
    ("/v1/validators?before=1", 400, "UL_E_ARG"),
    ("/v1/bundles/a/b/hw/c/releases/zz/1.cbor", 400, "UL_E_ARG"),
    ("/v1/bundles/a/b/hw/c/releases/%s/0.cbor" % ("00" * 32), 400, "UL_E_ARG"),
    ("/v1/bundles/a/b/hw/c/releases/%s/1" % ("00" * 32), 400, "UL_E_ARG"),
    ("/v1/nothing", 404, "UL_E_NOT_FOUND"),
    ("/v2/status", 404, "UL_E_NOT_FOUND"),
    ("/v1//status", 404, "UL_E_NOT_FOUND"),
    ("/v1/status/", 404, "UL_E_NOT_FOUND"),
    ("/health?verbose=1", 400, "UL_E_ARG"),
    ("/v1/%ff%01", 404, "UL_E_NOT_FOUND"),
    ("/v1/namespaces/%ff/x", 400, "UL_E_NS_NAME"),
]


@pytest.mark.parametrize("path,status,name", BAD, ids=[b[0][:60] for b in BAD])
def test_bad_input_is_a_json_4xx(world, path, status, name):
    before = world.node.status()["height"]
    assert_error(world, path, status, name)
    assert world.node.status()["height"] == before
    # never cached: a block height that is not there yet will be, and a CDN must ask again
    assert get(world, path)[1]["cache-control"] == "no-cache", path


def test_bad_release_in_real_namespace(world):
    url = "/v1/bundles/%s/hw/hw-a/releases/%s/999999.cbor" % (world.ns, world.ids[0])
    st, _, body = get(world, url)
    assert st in (400, 404) and json.loads(body)["name"].startswith("UL_E_"), body


def test_methods_and_sizes(world):
    for m in ("POST", "PUT", "DELETE"):
        assert_error(world, "/v1/status", 405, "UL_E_ARG", method=m)
    assert_error(world, "/v1/status?x=" + "a" * 2000, 414, "UL_E_LIMIT")
    # Headers past the per-connection memory: refused by the server, the node unharmed.
    st, _, _ = get(world, "/v1/status", {"X-Big": "b" * 40000})
    assert 400 <= st < 500, st
    st, h, _ = get(world, "/v1/status", method="HEAD")
    assert st == 200 and h["content-type"] == "application/json", h


# ---- static files ------------------------------------------------------------------------

def raw_get(world, target):
    """A request line sent as is (http.client and curl would normalise the path)."""
    with socket.create_connection(("127.0.0.1", world.port), timeout=HTTP_TIMEOUT) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_static_files(world):
    for path in ("/", "/explorer"):  # its files name each other relatively: the index is
        st, h, body = get(world, path)  # at /explorer/
        assert st == 302 and h["location"] == "/explorer/", (path, st, h)
    st, h, body = get(world, "/explorer/")
    assert st == 200 and body == (world.explorer / "index.html").read_bytes(), body
    assert h["content-type"].startswith("text/html"), h
    st, h, body = get(world, "/explorer/assets/app.js")
    assert st == 200 and h["content-type"].startswith("text/javascript"), h
    for target in ("/explorer/escape.txt", "/explorer/../node.log", "/explorer/assets/../../x",
                   "/explorer/%2e%2e/node.log", "/explorer/assets", "/explorer/missing.js",
                   "/explorer//index.html"):
        st, data = raw_get(world, target)
        assert st == 404 and b"outside the root" not in data, (target, data[:200])


# ---- clients that must not stall the node ------------------------------------------------

def test_idle_and_slow_clients_do_not_stall_the_node(world):
    socks = []
    try:
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", world.port), timeout=5))
        for s in socks[:50]:  # slow loris: half a request line, never finished
            s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        before = world.node.status()["height"]
        img = world.ctx.image()
        r = world.ctx.cli("publish", world.ctx.manifest(world.ns, 3, kind="feature"), "--image",
                          img, "--key", world.pub, json_out=True)
        assert r.rc == 0 and r.json["committed"] and r.json["height"] == before + 1, r
        assert get_json(world, "/health")["height"] == before + 1
    finally:
        for s in socks:
            s.close()
    world.height = world.node.status()["height"]


# ---- the OpenAPI file is true ------------------------------------------------------------

def _fill(world, path):
    head = world.node.status()["height"]
    vendor, product = world.ns.split("/")
    values = {"height": str(head), "id": world.ids[0], "vendor": vendor, "product": product,
              "class": "hw-a", "path": "assets/app.js"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _check_shape(spec, schema, value, where):
    """The required properties of an object schema are there (allOf and $ref followed)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _check_shape(spec, spec["components"]["schemas"][name], value, where)
    for part in schema.get("allOf", []):
        _check_shape(spec, part, value, where)
    for key in schema.get("required", []):
        assert key in value, (where, key, sorted(value))
    for key, sub in schema.get("properties", {}).items():
        if key in value and isinstance(value[key], dict) and sub.get("type", "object") == "object":
            _check_shape(spec, sub, value[key], where + "." + key)


def test_openapi_paths_are_served(world):
    spec = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    assert spec["openapi"].startswith("3.1")
    for path, item in spec["paths"].items():
        op = item["get"]
        url = _fill(world, path)
        query = [p for p in op.get("parameters", []) if p.get("in") == "query" and
                 p.get("required")]
        if query:  # consistency: from and to
            url += "?" + "&".join("%s=1" % p["name"] for p in query)
        st, h, body = get(world, url)
        assert str(st) in op["responses"], (path, url, st, body[:200])
        if st == 200 and h["content-type"] == "application/json":
            media = op["responses"]["200"]["content"]["application/json"]
            _check_shape(spec, media["schema"], json.loads(body), path)
        elif st >= 400:
            e = json.loads(body)
            assert set(e) == {"error", "code", "name"}, (path, e)


# ---- stopping under load -----------------------------------------------------------------

def test_sigterm_under_load_stops_cleanly(tmp_path):
    """SIGTERM while 32 clients keep requests in flight: requests the ended node loop can no
    longer answer fail at once (503) instead of each waiting for the node's reply timeout, so
    the node exits 0 within conftest's stop timeout rather than being killed."""
    import threading
    node = Node(tmp_path / "n", tmp_path / "n.log", http=True)
    node.start()
    port = int(node.http_url.rsplit(":", 1)[1])
    done = threading.Event()

    def hammer():
        while not done.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
                c.request("GET", "/v1/status")
                c.getresponse().read()
                c.close()
            except OSError:
                pass
            except http.client.HTTPException:
                pass

    threads = [threading.Thread(target=hammer) for _ in range(32)]
    for t in threads:
        t.start()
    time.sleep(1)
    try:
        rc = node.stop()
    finally:
        done.set()
        for t in threads:
            t.join(timeout=30)
    assert rc == 0, (rc, node.log_text()[-2000:])
