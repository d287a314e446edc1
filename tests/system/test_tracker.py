"""upledger-tracker against a dev chain and a simulated fleet: classification follows the chain
(publish -> outdated, revoke -> vulnerable, with no device involved), reports move devices back
to up to date, failing and silent devices are seen, bad reports are refused with nothing stored,
and kill -9 under a stream of reports loses no acknowledged one."""
import json
import subprocess
import threading
import time

import pytest

import cbor_util
from conftest import BUILD, ERR_NUM, REPO, free_port
from device_util import DEVICE, device_env
from explorer_util import node_modules_or_fail
from test_device import Fleet, servers  # noqa: F401 (fixture)
from tracker_util import FELL_BACK, TRIAL, Device, Tracker, http, reply_of, tracker_cli

FLEET = 120


def chain_id_of(node):
    return bytes.fromhex(node.status()["chain_id"])


@pytest.fixture
def tracker(tmp_path):
    t = Tracker(tmp_path / "tracker", tmp_path / "tracker.log")
    yield t
    t.stop()


def enroll(tracker, devices, group="fleet", tmp=None):
    path = tmp / ("enroll-%s.txt" % group)
    path.write_text("# key group\n" + "".join("%s %s\n" % (d.key, group) for d in devices))
    p = tracker.cli("enroll", "--file", path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "enrolled %d devices" % len(devices)


def report_ok(tracker, dev, chain_id, **kw):
    status, body, ctype = tracker.post(dev.report(tracker.pubkey, chain_id, **kw))
    assert status == 200, body
    assert ctype == "application/cbor"
    reply = reply_of(body)
    assert reply[1] == dev.pubkey and reply[2] == dev.counter
    return reply


def counts(tracker):
    return tracker.summary()["by_status"]


def self_signed(tmp_path, name):
    cert, key = tmp_path / (name + "-cert.pem"), tmp_path / (name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


def one_device(ctx, tracker, tmp_path):
    """A namespace with release 1 published, and one device enrolled running it: (publisher key,
    namespace, release 1 id, chain id, device)."""
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    dev = Device()
    dev.run(ns, bytes.fromhex(rid1), 1)
    enroll(tracker, [dev], tmp=tmp_path)
    return key, ns, rid1, chain_id_of(ctx.node), dev


def test_fleet_follows_the_chain(ctx, tracker, tmp_path):
    """120 devices: up to date -> a publish makes them all outdated within a poll -> half update
    and report -> a revocation of the old release makes the other half vulnerable -> a trial that
    falls back is failing. Lists, counts and the CLI agree."""
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    chain = chain_id_of(ctx.node)
    fleet = [Device() for _ in range(FLEET)]
    enroll(tracker, fleet, tmp=tmp_path)
    tracker.start(ctx.node)
    for d in fleet:
        d.run(ns, bytes.fromhex(rid1), 1)
        assert report_ok(tracker, d, chain)[3] == 0  # nothing to do
    tracker.wait_for(lambda: counts(tracker)["up_to_date"] == FLEET, what="all up to date")

    rid2, _, _ = ctx.publish_ok(ns, 2, key)
    tracker.wait_for(lambda: counts(tracker)["outdated"] == FLEET, what="all outdated")
    assert len(tracker.devices("outdated", ns=ns)) == FLEET
    assert tracker.devices("outdated", ns="other/ns") == []

    updated, stale = fleet[:FLEET // 2], fleet[FLEET // 2:]
    reply = report_ok(tracker, stale[0], chain)  # still on 1: told to update to 2
    assert reply[3] == 1 and reply[4] == ns and reply[5] == bytes.fromhex(rid2), reply
    for d in updated:
        d.run(ns, bytes.fromhex(rid2), 2, attempt=(bytes.fromhex(rid2), 0, int(time.time())))
        assert report_ok(tracker, d, chain, reason=2)[3] == 0
    c = counts(tracker)
    assert (c["up_to_date"], c["outdated"]) == (len(updated), len(stale)), c

    r = ctx.cli("revoke", rid1, "--reason", "recalled", "--key", key, json_out=True)
    assert r.rc == 0 and r.json["committed"] is True, r
    tracker.wait_for(lambda: counts(tracker)["vulnerable"] == len(stale), what="vulnerable")
    assert sorted(tracker.devices("vulnerable")) == sorted(d.key for d in stale)
    listed = tracker.cli_json("list", "--vulnerable", "--limit", "1000")
    assert sorted(x["key"] for x in listed["devices"]) == sorted(d.key for d in stale)

    bad = updated[0]  # a later trial of 2 on it fails and falls back
    bad.run(ns, bytes.fromhex(rid2), 2, state=FELL_BACK,
            attempt=(b"\x42" * 32, ERR_NUM["UL_E_DIGEST"], int(time.time())))
    report_ok(tracker, bad, chain, reason=4)
    assert tracker.devices("failing") == [bad.key]
    s = tracker.summary()
    assert s["devices"] == FLEET
    assert s["by_status"] == {"up_to_date": len(updated) - 1, "outdated": 0, "failing": 1,
                              "vulnerable": len(stale), "silent": 0, "unknown": 0}, s
    by_release = {(c["release"], c["status"]): c["count"] for c in s["components"]}
    assert by_release == {(rid1, "vulnerable"): len(stale), (rid2, "up_to_date"): len(updated) - 1,
                          (rid2, "failing"): 1}, by_release
    code, dev = tracker.get("/v1/devices/" + bad.key)
    assert code == 200 and dev["status"] == "failing"
    assert [h["counter"] for h in dev["history"]] == [3, 2, 1]


def test_bad_reports_are_refused_and_nothing_is_stored(ctx, tracker, tmp_path):
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    chain = chain_id_of(ctx.node)
    dev, stranger = Device(), Device()
    enroll(tracker, [dev], tmp=tmp_path)
    tracker.start(ctx.node)
    dev.run(ns, bytes.fromhex(rid1), 1)
    stranger.run(ns, bytes.fromhex(rid1), 1)
    first = dev.report(tracker.pubkey, chain)
    assert tracker.post(first)[0] == 200

    def refused(body, code, name, ctype="application/cbor"):
        before = tracker.get("/v1/devices/" + dev.key)[1]
        status, out, _ = tracker.post(body, ctype)
        err = json.loads(out)
        assert (status, err["error"], err["code"]) == (code, name, ERR_NUM[name]), (status, err)
        assert tracker.get("/v1/devices/" + dev.key)[1] == before, "a refused report was stored"

    refused(first, 409, "UL_E_REPORT_REPLAY")  # the same report again
    refused(dev.report(tracker.pubkey, chain, counter=1), 409, "UL_E_REPORT_REPLAY")
    refused(dev.report(tracker.pubkey, chain, sign_with=stranger.seckey), 403, "UL_E_SIG")
    refused(dev.report(tracker.pubkey, chain, chain=b"\x01" * 32), 403, "UL_E_SIG")
    refused(dev.report(b"\x02" * 32, chain), 403, "UL_E_TRACKER")
    refused(stranger.report(tracker.pubkey, chain), 403, "UL_E_UNENROLLED")
    no_key = Device()
    no_key.pubkey = b"\xff" * 32  # above the field prime: no x-only key
    refused(no_key.report(tracker.pubkey, chain), 403, "UL_E_KEY")
    refused(first + b"\x00" * 3000, 413, "UL_E_LIMIT")
    refused(b"\xa1\x01", 400, "UL_E_CBOR_MALFORMED")
    refused(cbor_util.dumps({1: 1}), 400, "UL_E_SCHEMA_FIELD")
    refused(first, 400, "UL_E_ARG", ctype="application/json")
    code, dev_json = tracker.get("/v1/devices/" + stranger.key)
    assert code == 403 and dev_json["error"] == "UL_E_UNENROLLED"
    assert [h["counter"] for h in tracker.get("/v1/devices/" + dev.key)[1]["history"]] == [1]
    # The counter after a refused one still works: nothing moved it.
    assert tracker.post(dev.report(tracker.pubkey, chain))[0] == 200


def test_silent_devices(ctx, tracker, tmp_path):
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    chain = chain_id_of(ctx.node)
    quiet, chatty = Device(), Device()
    enroll(tracker, [quiet, chatty], group="lab", tmp=tmp_path)
    assert tracker.cli("group", "lab", "--silence", "2").returncode == 0
    tracker.start(ctx.node)
    for d in (quiet, chatty):
        d.run(ns, bytes.fromhex(rid1), 1)
        report_ok(tracker, d, chain)
    assert tracker.devices("silent") == []

    def chatty_reports_quiet_silent():
        report_ok(tracker, chatty, chain)
        return tracker.devices("silent") == [quiet.key]
    tracker.wait_for(chatty_reports_quiet_silent, timeout=10, what="silent")
    assert tracker.summary()["by_group"]["lab"]["silent"] == 1
    report_ok(tracker, quiet, chain)
    assert tracker.devices("silent") == []


def test_enrollment_errors_change_nothing(tracker, tmp_path):
    good = Device()
    path = tmp_path / "bad.txt"
    path.write_text("%s g\nnot-a-key g\n" % good.key)
    p = tracker.cli("enroll", "--file", path)
    assert p.returncode == 1 and "line 2" in p.stderr and "UL_E_ARG" in p.stderr, p.stderr
    assert tracker.cli_json("summary")["devices"] == 0
    p = tracker.cli("enroll", "--device", "zz", "--group", "g")
    assert p.returncode == 1 and "UL_E_ARG" in p.stderr
    p = tracker.cli("group", "g", "--silence", "0")
    assert p.returncode == 2
    p = tracker.cli("list")
    assert p.returncode == 2
    assert tracker_cli("init", "--dir", tracker.home, "--unencrypted-key").returncode == 1


def test_kill9_loses_no_acknowledged_report(ctx, tracker, tmp_path):
    """Four threads stream reports; the tracker is killed with SIGKILL mid-stream; after a
    restart every report answered 200 is in its device's history."""
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    chain = chain_id_of(ctx.node)
    fleet = [Device() for _ in range(40)]
    for d in fleet:
        d.run(ns, bytes.fromhex(rid1), 1)
    enroll(tracker, fleet, tmp=tmp_path)
    tracker.start(ctx.node)
    acked = {d.key: 0 for d in fleet}
    stop = threading.Event()

    def stream(devs):
        while not stop.is_set():
            for d in devs:
                try:
                    status, _, _ = tracker.post(d.report(tracker.pubkey, chain))
                except OSError:
                    return
                if status == 200:
                    acked[d.key] = d.counter

    threads = [threading.Thread(target=stream, args=(fleet[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while sum(acked.values()) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    tracker.kill()
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert sum(acked.values()) >= 200
    tracker.start(ctx.node)
    for d in fleet:
        code, dev = tracker.get("/v1/devices/" + d.key)
        assert code == 200
        assert dev["counter"] >= acked[d.key], (d.key, dev["counter"], acked[d.key])
        if acked[d.key] and dev["counter"] - acked[d.key] < 16:  # still in the kept history
            assert acked[d.key] in [h["counter"] for h in dev["history"]]


def test_https(ctx, tracker, tmp_path):
    import ssl
    cert, pkey = self_signed(tmp_path, "tracker")
    _, _, _, chain, dev = one_device(ctx, tracker, tmp_path)
    tracker.start(ctx.node, tls=(cert, pkey))
    assert tracker.url.startswith("https://")
    tls = ssl.create_default_context(cafile=str(cert))
    status, body, _ = http("POST", tracker.url + "/v1/reports",
                           dev.report(tracker.pubkey, chain), context=tls)
    assert status == 200 and cbor_util.loads(body)[2] == 1
    with pytest.raises(Exception):  # a client that does not trust the certificate refuses
        http("GET", tracker.url + "/v1/summary", context=ssl.create_default_context())


# ---- real upledger-device processes and reportgen's simulated fleet --------------------------

REPORTGEN = BUILD / "reportgen"
GEN = 150  # simulated devices, besides the real ones


def reportgen(tracker, chain, *args):
    p = subprocess.run([str(REPORTGEN), "--chain-id", chain.hex(), "--tracker-key",
                        tracker.pubkey.hex(), "--hw", "hw-a"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def device(*args):
    p = subprocess.run([str(DEVICE)] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60, env=device_env(), stdin=subprocess.DEVNULL)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p


def test_real_devices_and_a_generated_fleet(ctx, tracker, tmp_path, servers):  # noqa: F811
    """Three upledger-device processes (real updates from a mirror, reporting after each step)
    and 150 reportgen devices: installed -> up to date; a publish -> all outdated; a real
    device told to update by the tracker's reply updates itself and is up to date again; a real
    device whose trial is not confirmed falls back -> failing; the old release revoked -> the
    devices that still run it are vulnerable (the fallen-back one too: vulnerable comes first)."""
    fleet = Fleet(ctx, tmp_path / "fleet")
    rid1 = fleet.publish(1)
    fleet.export()
    mirror = servers("mirror", fleet.out)
    chain = chain_id_of(ctx.node)
    tracker.start(ctx.node)
    keys = tmp_path / "gen.keys"
    reportgen(tracker, chain, "--devices", GEN, "--keys", keys, "--reports", 0)
    states, real = [], []
    for i in range(3):
        state = fleet.tmp / ("real%d" % i)
        p = device("init", "--anchor", fleet.out / "genesis.cbor", "--hw", "hw-a", "--state",
                   state, "--tracker", tracker.url, "--tracker-key", tracker.pubkey.hex(),
                   "--plain-key")
        real.append(p.stdout.split("report key ")[1].split()[0])
        states.append(state)
    enroll_file = tmp_path / "enroll.txt"
    enroll_file.write_text(keys.read_text() + "".join(k + "\n" for k in real))
    assert tracker.cli("enroll", "--file", enroll_file, "--group", "fleet").returncode == 0
    assert tracker.summary()["by_status"]["unknown"] == GEN + 3

    out = reportgen(tracker, chain, "--devices", GEN, "--component", "%s:%s:1" % (fleet.ns, rid1),
                    "--post", tracker.url + "/v1/reports", "--jobs", 4)
    assert out["status"] == {"200": GEN}, out
    for state in states:
        device("start", "--state", state)
        device("update", "--mirror", mirror.url, "--namespace", fleet.ns, "--state", state)
        device("confirm", "--state", state)
    tracker.wait_for(lambda: counts(tracker)["up_to_date"] == GEN + 3, what="all up to date")
    code, d0 = tracker.get("/v1/devices/" + real[0])
    assert [h["counter"] for h in d0["history"]] == [3, 2, 1]  # start, update, confirm

    rid2 = fleet.publish(2)
    fleet.export()
    tracker.wait_for(lambda: counts(tracker)["outdated"] == GEN + 3, what="all outdated")
    p = device("report", "--state", states[0], "--update-on-reply", "--mirror", mirror.url)
    device("confirm", "--state", states[0])
    code, d0 = tracker.get("/v1/devices/" + real[0])
    assert d0["status"] == "up_to_date" and d0["components"][0]["release"] == rid2, d0

    # A real device whose trial of release 2 is never confirmed falls back at its next start and
    # reports it: failing.
    device("update", "--mirror", mirror.url, "--namespace", fleet.ns, "--state", states[2])
    p = device("start", "--state", states[2])
    assert "fell back" in p.stdout, p.stdout
    assert tracker.devices("failing") == [real[2]]
    code, d2 = tracker.get("/v1/devices/" + real[2])
    assert d2["components"][0]["slot"] == "fell_back" and d2["components"][0]["seq"] == 1, d2

    r = ctx.cli("revoke", rid1, "--reason", "recalled", "--key", fleet.key, json_out=True)
    assert r.rc == 0 and r.json["committed"] is True, r
    tracker.wait_for(lambda: counts(tracker)["vulnerable"] == GEN + 2, what="vulnerable")
    vulnerable = set(tracker.devices("vulnerable"))
    assert real[0] not in vulnerable and {real[1], real[2]} <= vulnerable
    listed = tracker.cli_json("list", "--vulnerable", "--limit", "1000", "--ns", fleet.ns)
    assert len(listed["devices"]) == GEN + 2


# ---- cascading: site -> region -> vendor --------------------------------------------------------

def fleet_counts(summary, field="fleet"):
    return {(c["ns"], c["hw"], c["release"], c["status"]): c["count"] for c in summary[field]}


def test_cascade_of_three_trackers(ctx, tmp_path):
    """A site tracker summarises to its region over HTTP, the region (with devices of its own)
    to the vendor over HTTPS with the vendor's certificate pinned; the vendor's counts equal the
    sum below, and carry no device identity. Summaries from an unenrolled tracker, for another
    upstream, or over TLS to a certificate not pinned are refused."""
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    rid2, _, _ = ctx.publish_ok(ns, 2, key)
    chain = chain_id_of(ctx.node)
    trackers = {n: Tracker(tmp_path / n, tmp_path / (n + ".log"))
                for n in ("site", "region", "vendor", "rogue")}
    site, region, vendor, rogue = (trackers[n] for n in ("site", "region", "vendor", "rogue"))
    try:
        cert, pkey = self_signed(tmp_path, "vendor")
        other_cert, _ = self_signed(tmp_path, "other")
        assert vendor.cli("enroll-tracker", "--tracker", region.pubkey.hex(),
                          "--name", "region-eu").returncode == 0
        assert region.cli("enroll-tracker", "--tracker", site.pubkey.hex(),
                          "--name", "site-1").returncode == 0
        vendor.start(ctx.node, tls=(cert, pkey))
        region.start(ctx.node, extra=["--upstream", vendor.url, "--upstream-key",
                                      vendor.pubkey.hex(), "--upstream-cert", cert,
                                      "--upstream-every-ms", 300])
        site.start(ctx.node, extra=["--upstream", region.url, "--upstream-key",
                                    region.pubkey.hex(), "--upstream-every-ms", 300])
        site_devs = [Device() for _ in range(12)]
        region_devs = [Device() for _ in range(5)]
        enroll(site, site_devs, tmp=tmp_path / "site")
        enroll(region, region_devs, tmp=tmp_path / "region")
        for i, d in enumerate(site_devs):
            d.run(ns, bytes.fromhex(rid1 if i % 3 else rid2), 1 if i % 3 else 2)
            report_ok(site, d, chain)
        for d in region_devs:
            d.run(ns, bytes.fromhex(rid2), 2)
            report_ok(region, d, chain)

        def settled():
            s, r, v = site.summary(), region.summary(), vendor.summary()
            want = fleet_counts(s)
            for k, n in fleet_counts(r, "components").items():
                want[k] = want.get(k, 0) + n
            return fleet_counts(r) == want and fleet_counts(v) == want and want
        want = site.wait_for(settled, what="vendor counts = site + region")
        assert want[(ns, "hw-a", rid1, "outdated")] == 8
        assert want[(ns, "hw-a", rid2, "up_to_date")] == 4 + 5
        v = vendor.summary()
        assert [d["name"] for d in v["downstream"]] == ["region-eu"]
        text = json.dumps(v)
        assert not any(d.key in text for d in site_devs + region_devs)

        # Refused: an unenrolled tracker; a summary for another upstream; an unpinned cert.
        (tmp_path / "rogue").mkdir(exist_ok=True)
        rogue.start(ctx.node)  # learns the chain id
        rogue.stop()
        p = rogue.cli("push", "--upstream", vendor.url, "--upstream-key", vendor.pubkey.hex(),
                      "--upstream-cert", cert)
        assert p.returncode == 1 and "UL_E_UNENROLLED" in p.stderr, p.stderr
        p = rogue.cli("push", "--upstream", vendor.url, "--upstream-key", region.pubkey.hex(),
                      "--upstream-cert", cert)
        assert p.returncode == 1 and "UL_E_TRACKER" in p.stderr, p.stderr
        p = rogue.cli("push", "--upstream", vendor.url, "--upstream-key", vendor.pubkey.hex(),
                      "--upstream-cert", other_cert)
        assert p.returncode == 1 and "UL_E_NET" in p.stderr and "certificate" in p.stderr, p.stderr
        assert fleet_counts(vendor.summary()) == want
    finally:
        for t in trackers.values():
            t.stop()


# ---- the fleet page, in headless Chromium --------------------------------------------------------

WEB = REPO / "tests" / "tracker-web"  # fleet.mjs, on the explorer's npm packages (make explorer)


def test_fleet_page_in_a_browser(ctx, tracker, tmp_path):
    """GET / serves the fleet page; in Chromium it shows the counts per status, the devices
    needing attention (a vulnerable one among them), the releases, and a device's history."""
    node_modules_or_fail()
    key, ns = ctx.publisher()
    rid1, _, _ = ctx.publish_ok(ns, 1, key)
    rid2, _, _ = ctx.publish_ok(ns, 2, key)
    chain = chain_id_of(ctx.node)
    devs = [Device() for _ in range(6)]
    enroll(tracker, devs, tmp=tmp_path)
    tracker.start(ctx.node)
    for i, d in enumerate(devs):
        d.run(ns, bytes.fromhex(rid2 if i < 4 else rid1), 2 if i < 4 else 1)
        report_ok(tracker, d, chain)
        report_ok(tracker, d, chain)
    r = ctx.cli("revoke", rid1, "--reason", "recalled", "--key", key, json_out=True)
    assert r.rc == 0, r
    tracker.wait_for(lambda: counts(tracker)["vulnerable"] == 2, what="vulnerable")
    status, body, ctype = http("GET", tracker.url + "/")
    assert status == 200 and ctype.startswith("text/html") and b"upledger fleet" in body
    p = subprocess.run(["node", str(WEB / "fleet.mjs"), tracker.url + "/"], capture_output=True,
                       text=True, timeout=120, cwd=WEB)
    assert p.returncode == 0, p.stderr
    page = json.loads(p.stdout)
    assert page["errors"] == [] and page["error"] == "", page
    assert page["cards"]["vulnerable"] == 2 and page["cards"]["up_to_date"] == 4, page
    assert sorted(a["key"] for a in page["attention"]) == sorted(d.key for d in devs[4:])
    assert {a["status"] for a in page["attention"]} == {"vulnerable"}
    assert [ns, "hw-a", rid1[:12] + "…", "vulnerable", "2"] in page["releases"], page["releases"]
    assert page["device"]["key"] in {d.key for d in devs[4:]}
    assert page["device"]["history"] == 2 and page["device"]["status"].startswith("vulnerable")


def test_huge_body_refused_before_it_is_read(ctx, tracker, tmp_path):
    """A Content-Length far past the bound is answered 413 UL_E_LIMIT without reading the body
    (a raw socket sends only the headers, then reads the answer)."""
    import socket
    tracker.start(ctx.node)
    port = int(tracker.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n"
                  b"Content-Length: 1000000000\r\n\r\n")
        answer = b""
        while b"}" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b'"error":"UL_E_LIMIT"' in answer, answer
    assert tracker.summary()["reports_refused"] == 0  # refused before it reached the ingest path


def test_chain_is_kept_and_checked(ctx, node_factory, tracker, tmp_path):
    """The chain id learnt at the first start is kept: a node of another chain is refused
    (UL_E_CHAIN_ID), and with its node down a tracker that knows its chain still takes reports."""
    _, _, _, chain, dev = one_device(ctx, tracker, tmp_path)
    tracker.start(ctx.node)
    report_ok(tracker, dev, chain)
    tracker.stop()
    other = node_factory("other")
    p = tracker.cli("run", "--node", other.endpoint, "--listen", "127.0.0.1:%d" % free_port(),
                    timeout=60)
    assert p.returncode == 1 and "UL_E_CHAIN_ID" in p.stderr, p.stderr
    p = tracker.cli("poll", "--node", other.endpoint)
    assert p.returncode == 1 and "UL_E_CHAIN_ID" in p.stderr, p.stderr
    ctx.node.stop()
    tracker.start(ctx.node)  # its endpoint no longer answers
    assert "does not answer" in tracker.log_text()
    report_ok(tracker, dev, chain)
    assert tracker.get("/v1/devices/" + dev.key)[1]["counter"] == 2
