"""upledgerd's command line and process behaviour (issue 10, items 22, 23 and 26): options in both
--opt VALUE and --opt=VALUE forms (getopt_long), --version, SIGHUP not fatal, and a node that
cannot bind its query endpoint writing nothing into a new data directory."""
import json
import os
import signal
import socket
import subprocess
import time

from conftest import UPLEDGERD, free_port, run_cli

START_TIMEOUT = 10  # seconds for a node to answer `query status`


def upledgerd(*args, timeout=10):
    return subprocess.run([str(UPLEDGERD)] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout)


def wait_ready(proc, ep):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if run_cli(["query", "status"], node=ep, timeout_ms=300, timeout=5).rc == 0:
            return True
        time.sleep(0.05)
    return False


def test_version_and_help():
    r = upledgerd("--version")
    assert r.returncode == 0, r
    assert r.stdout.startswith("upledgerd "), r.stdout
    h = upledgerd("--help")
    assert h.returncode == 0 and "--version" in h.stdout and "SIGHUP" in h.stdout, h.stdout


def test_unknown_option_and_stray_argument_exit_2(tmp_path):
    for args in (["--bogus"], ["--dev", "--data", tmp_path / "d", "extra"],
                 ["--dev", "--data=%s" % (tmp_path / "d"), "--heartbeat-ms=1"]):
        r = upledgerd(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip(), args
    assert not (tmp_path / "d").exists()


def thread_policies(pid):
    """sched(7) policy of each of pid's threads (/proc/PID/task/TID/stat field 41): 0 SCHED_OTHER,
    3 SCHED_BATCH."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            out.append(int(f.read().rsplit(")", 1)[1].split()[38]))
    return out


def test_sched_batch_by_default_normal_on_request(tmp_path):
    """The node and every thread it starts (nanomsg's worker, LevelDB's, the HTTP server's) run
    under SCHED_BATCH unless --sched normal (or config "sched") says otherwise, or it was started
    under another policy; a bad value is named and nothing is created."""
    cases = [([], 3), (["--sched", "normal"], 0), (["--sched=batch"], 3)]
    for i, (args, want) in enumerate(cases):
        ep = "tcp://127.0.0.1:%d" % free_port()
        log = open(tmp_path / ("node%d.log" % i), "wb")
        p = subprocess.Popen([str(UPLEDGERD), "--dev", "--data", tmp_path / ("d%d" % i),
                              "--listen", ep, "--http", "127.0.0.1:%d" % free_port()] + args,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
        try:
            assert wait_ready(p, ep), (tmp_path / ("node%d.log" % i)).read_text()
            pol = thread_policies(p.pid)
            assert len(pol) >= 3 and set(pol) == {want}, (args, pol)
        finally:
            p.kill()
            p.wait(timeout=10)
    # A policy set from outside that is neither (here SCHED_IDLE, 5) is the operator's: kept.
    ep = "tcp://127.0.0.1:%d" % free_port()
    log = open(tmp_path / "idle.log", "wb")
    p = subprocess.Popen(["chrt", "--idle", "0", str(UPLEDGERD), "--dev", "--data",
                          tmp_path / "idle", "--listen", ep, "--http", "off"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        assert wait_ready(p, ep), (tmp_path / "idle.log").read_text()
        pol = thread_policies(p.pid)
        assert len(pol) >= 2 and set(pol) == {5}, pol
    finally:
        p.kill()
        p.wait(timeout=10)
    r = upledgerd("--dev", "--data", tmp_path / "bad", "--sched", "fifo")
    assert r.returncode == 2 and "--sched wants batch or normal, not 'fifo'" in r.stderr, r.stderr
    assert not (tmp_path / "bad").exists()
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"sched": "idle"}))
    r = upledgerd("--dev", "--data", tmp_path / "bad", "--config", cfg)
    assert r.returncode == 2 and "idle" in r.stderr, r.stderr
    assert not (tmp_path / "bad").exists()


def test_equals_form_and_sighup_do_not_stop_the_node(tmp_path):
    ep = "tcp://127.0.0.1:%d" % free_port()
    log = open(tmp_path / "node.log", "wb")
    p = subprocess.Popen([str(UPLEDGERD), "--dev", "--data=%s" % (tmp_path / "data"),
                          "--listen=%s" % ep, "--heartbeat-ms=3600000"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    try:
        assert wait_ready(p, ep), (tmp_path / "node.log").read_text()
        p.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert p.poll() is None, "SIGHUP stopped upledgerd (rc %s)" % p.returncode
        assert run_cli(["query", "status"], node=ep, timeout_ms=2000).rc == 0
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
        log.close()


def on_a_taken_port(argv_for_port):
    """Runs upledgerd with argv_for_port(port) while port (on 127.0.0.1) is bound by this test.
    It must exit non-zero with one line naming the address."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        r = upledgerd(*argv_for_port(port))
    finally:
        s.close()
    assert r.returncode != 0, r
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "127.0.0.1:%d" % port in lines[0], r.stderr
    assert "in use" in lines[0], r.stderr


def test_busy_port_writes_nothing_into_a_new_data_dir(tmp_path):
    data = tmp_path / "new"
    on_a_taken_port(lambda port: ["--dev", "--data", data, "--listen",
                                  "tcp://127.0.0.1:%d" % port])
    assert not data.exists() or not any(data.iterdir()), sorted(data.iterdir())


def test_busy_p2p_port_writes_nothing_into_a_new_data_dir(tmp_path):
    """The same for a --config validator whose peer endpoint is taken: it is bound before the
    database is opened."""
    key, genesis = tmp_path / "v.key", tmp_path / "genesis.cbor"
    assert run_cli(["keygen", "--out", key, "--insecure-no-passphrase"]).rc == 0
    r = run_cli(["genesis", "--out", genesis, "--name", "t", "--validator", key])
    assert r.rc == 0, r
    data, cfg = tmp_path / "new", tmp_path / "node.json"
    data.mkdir()   # a new, empty data directory: it must stay empty

    def config(port):
        cfg.write_text(json.dumps({
            "data": str(data), "genesis": str(genesis), "key": str(key),
            "listen": "tcp://127.0.0.1:%d" % free_port(), "p2p": "tcp://127.0.0.1:%d" % port,
            "peers": [{"p2p": "tcp://127.0.0.1:%d" % free_port(),
                       "rpc": "tcp://127.0.0.1:%d" % free_port()}]}))
        return ["--config", cfg]
    on_a_taken_port(config)
    assert not any(data.iterdir()), sorted(data.iterdir())


def test_file_errors_name_the_file_and_the_cause(tmp_path):
    key, genesis, fifo = tmp_path / "v.key", tmp_path / "genesis.cbor", tmp_path / "fifo"
    assert run_cli(["keygen", "--out", key, "--insecure-no-passphrase"]).rc == 0
    assert run_cli(["genesis", "--out", genesis, "--name", "t", "--validator", key]).rc == 0
    os.mkfifo(fifo)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"data": "d",\n  "genesis" 1}\n')

    def config(**kw):
        path = tmp_path / ("c%d.json" % len(list(tmp_path.glob("c*.json"))))
        cfg = {"data": str(tmp_path / "d"), "genesis": str(genesis), "key": str(key)}
        cfg.update({k: str(v) for k, v in kw.items()})
        path.write_text(json.dumps(cfg))
        return path
    cases = [  # (config file, what the one line must name)
        (tmp_path / "missing.json", ["missing.json", "No such file or directory"]),
        (bad_json, ["bad.json", "line 2, column"]),
        (config(key=tmp_path / "nokey.json"), ["nokey.json", "No such file or directory"]),
        (config(genesis=tmp_path / "nogenesis.cbor"),
         ["nogenesis.cbor", "No such file or directory"]),
        (config(genesis=fifo), ["fifo", "not a regular file"]),   # read whole: never blocks
    ]
    for cfg, words in cases:
        r = upledgerd("--config", cfg, "--listen", "tcp://127.0.0.1:%d" % free_port())
        assert r.returncode != 0, (cfg, r)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and all(w in lines[0] for w in words), (words, r.stderr)
    assert not (tmp_path / "d").exists()
