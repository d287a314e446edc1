"""upledgerd's logs for operators (issue 12, item 3): every line carries an RFC 3339 UTC time and
a level; --log-format json writes one JSON object a line; -v adds the debug lines the default
hides; --log-file appends to a file that SIGHUP reopens after logrotate moved it."""
import datetime
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import UPLEDGERD, free_port, run_cli

TIMEOUT = 10  # seconds for a node to start, or to write an awaited line
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (error|warn|info|debug) upledgerd: ")
LEVELS = {"error", "warn", "info", "debug"}


def rfc3339(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((t - datetime.datetime.utcnow()).total_seconds()) < 3600, text  # UTC, not local
    return t


class Daemon:
    """upledgerd --dev with extra options; its stderr in `err` (a file)."""

    def __init__(self, tmp, *opts):
        self.ep = "tcp://127.0.0.1:%d" % free_port()
        self.err = tmp / "stderr.log"
        with open(self.err, "ab") as f:
            self.p = subprocess.Popen(
                [str(UPLEDGERD), "--dev", "--data", str(tmp / "data"), "--listen", self.ep,
                 "--heartbeat-ms", "100", "--checkpoint-ms", "10"] + [str(o) for o in opts],
                stdin=subprocess.DEVNULL, stdout=f, stderr=f, start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while self.p.poll() is None and time.monotonic() < deadline:
            if run_cli(["query", "status"], node=self.ep, timeout_ms=300, timeout=5).rc == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError("upledgerd not ready:\n" + self.err.read_text())

    def wait_for(self, path, text):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if path.exists() and text in path.read_text(errors="replace"):
                return path.read_text()
            time.sleep(0.05)
        raise AssertionError("no %r in %s:\n%s" % (text, path, path.read_text()
                                                   if path.exists() else "(missing)"))

    def wait_height(self, h):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            r = run_cli(["query", "status"], node=self.ep, json_out=True, timeout_ms=1000)
            if r.rc == 0 and r.json["height"] >= h:
                return
            time.sleep(0.05)
        raise AssertionError("height %d not reached:\n%s" % (h, self.err.read_text()))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=TIMEOUT)
            raise


@pytest.fixture
def daemon(tmp_path):
    started = []

    def make(*opts):
        started.append(Daemon(tmp_path, *opts))
        return started[-1]

    yield make
    for d in started:
        if d.p.poll() is None:
            d.p.kill()
            d.p.wait(timeout=TIMEOUT)


def lines(text):
    return [ln for ln in text.splitlines() if ln.strip()]


def test_every_text_line_has_a_time_and_a_level_and_default_hides_debug(daemon):
    d = daemon()
    d.wait_height(3)  # 20 checkpoint intervals of 10 ms went by, each signed (at debug)
    assert d.stop() == 0
    got = lines(d.err.read_text())
    assert len(got) >= 3, got
    for ln in got:
        m = LINE.match(ln)
        assert m, ln
        rfc3339(m.group(1))
        assert m.group(2) != "debug", ln
    assert any(" info upledgerd: chain " in ln for ln in got), got


def test_verbose_shows_debug_lines(daemon):
    d = daemon("-v")
    text = d.wait_for(d.err, "checkpoint signed")
    assert d.stop() == 0
    debug = [ln for ln in lines(text) if " debug upledgerd: checkpoint signed" in ln]
    assert debug and all(LINE.match(ln) for ln in debug), text


def test_json_lines_parse_with_time_level_and_msg(daemon):
    d = daemon("--log-format", "json", "-v")
    d.wait_for(d.err, "checkpoint signed")
    assert d.stop() == 0
    got = [json.loads(ln) for ln in lines(d.err.read_text())]
    for o in got:
        assert set(o) == {"time", "level", "msg"}, o
        assert o["level"] in LEVELS, o
        rfc3339(o["time"])
    msgs = [o["msg"] for o in got]
    assert any(m.startswith("chain ") and "listening on" in m for m in msgs), msgs
    assert any(o["level"] == "debug" for o in got), msgs
    assert msgs[-1].startswith("stopped cleanly"), msgs


def test_log_file_is_reopened_on_sighup_after_a_move(daemon, tmp_path):
    log = tmp_path / "upledgerd.log"
    d = daemon("--log-file", log)
    d.wait_for(log, "listening on")
    os.rename(log, tmp_path / "upledgerd.log.1")  # logrotate's move, then create by the node
    d.p.send_signal(signal.SIGHUP)
    d.wait_for(log, "log file reopened")
    assert d.p.poll() is None, "SIGHUP stopped upledgerd"
    assert run_cli(["query", "status"], node=d.ep, timeout_ms=2000).rc == 0
    assert d.stop() == 0
    old, new = (tmp_path / "upledgerd.log.1").read_text(), log.read_text()
    assert "listening on" in old and "listening on" not in new, (old, new)
    assert "stopped cleanly" in new and "stopped cleanly" not in old, (old, new)
    assert all(LINE.match(ln) for ln in lines(old) + lines(new)), (old, new)
    assert d.err.read_text() == "", d.err.read_text()  # nothing on stderr with a log file
    assert oct(log.stat().st_mode & 0o777) in ("0o640", "0o600"), oct(log.stat().st_mode)


def test_bad_log_options_exit_2_and_write_nothing(tmp_path):
    for opts in (["--log-format", "xml"], ["--log-file", tmp_path / "no" / "such" / "dir.log"]):
        r = subprocess.run([str(UPLEDGERD), "--dev", "--data", str(tmp_path / "data")]
                           + [str(o) for o in opts], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (opts, r.stderr)
        assert len(lines(r.stderr)) == 1, r.stderr
        assert "--log-format" in r.stderr or "cannot open log file" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()
