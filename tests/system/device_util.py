"""The device program's side of the system tests: running `upledger-device` (`dev`, `status`,
`Dev.last_error`), the files of its state directory (`slot_file`, `leftovers`, `snapshot`), and
mirrors on loopback in the test process: `Mirror` (a static export directory), `Stalled`
(accepts, never answers a byte) and `Hostile` (serves whatever bytes a test sets, or stalls).
Every subprocess has a timeout; every server stops on close()."""
import functools
import hashlib
import http.server
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

from conftest import BUILD

DEVICE = BUILD / "upledger-device"
DEVICE_TIMEOUT = 60  # seconds for any one device command (a stalled mirror costs --timeout)
STALL_TIMEOUT = 2    # --timeout given to the device when a mirror stalls


def device_env():
    # A proxy from the environment would route loopback requests elsewhere.
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


class Dev:
    def __init__(self, argv, proc):
        self.argv = [str(a) for a in argv]
        self.rc, self.out, self.err = proc.returncode, proc.stdout, proc.stderr

    @property
    def last_error(self):
        """UL_E_ name of the last stderr line "upledger-device: CONTEXT: UL_E_NAME: message"."""
        lines = self.err.strip().splitlines()
        if not lines:
            return None
        for part in lines[-1].split(": "):
            if part.startswith("UL_E_"):
                return part
        return None

    def __repr__(self):
        return "<%s: rc=%s\n--- stdout\n%s--- stderr\n%s>" % (" ".join(self.argv), self.rc,
                                                               self.out, self.err)


def dev(*args, timeout=DEVICE_TIMEOUT):
    argv = [str(DEVICE)] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=device_env(),
                       stdin=subprocess.DEVNULL, start_new_session=True)
    return Dev(argv, p)


def status(state):
    r = dev("status", "--state", state, "--json")
    assert r.rc == 0, r
    return json.loads(r.out)


class Mirror:
    """A static web server over a directory, recording every request's path and headers."""

    def __init__(self, root):
        self.root = Path(root)
        self.requests = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                mirror.requests.append((self.path, dict(self.headers.items())))
                super().do_GET()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(self.root)))
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class Stalled:
    """Accepts connections and never answers a byte."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        for c in self.conns:
            c.close()
        self.sock.close()


def slot_file(state, ns, slot):
    return Path(state) / "slots" / ns / str(slot)


def leftovers(state):
    return [p for p in Path(state).rglob("*.tmp")]


def snapshot(state):
    """SHA-256 of every file under a device's state directory (state.cbor, slot files, class
    key), by relative path: what a refused update must leave exactly as it was."""
    root = Path(state)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class Hostile:
    """A mirror that serves what the test sets: `bundle` for any request ending in /latest.cbor,
    `image` for any /images/... request (404 while None). `stall` makes it accept and then go
    silent until closed: "request" before the status line, "bundle" or "image" after the
    headers and half of that body. `variants` maps a first path segment to its own
    (bundle, image), so that devices run in parallel each get their bytes (mirror URL
    http://HOST:PORT/SEGMENT)."""

    STALL_MAX = 120  # seconds a stalled handler waits at most if close() never comes

    def __init__(self):
        self.bundle = self.image = self.stall = None
        self.variants = {}
        self.requests = []
        self.closing = threading.Event()
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                mirror._serve(self)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def _pick(self, path):
        seg, _, rest = path.lstrip("/").partition("/")
        bundle, image = self.variants.get(seg, (self.bundle, self.image))
        if seg in self.variants:
            path = "/" + rest
        if path.endswith("/latest.cbor"):
            return "bundle", bundle
        if path.startswith("/images/"):
            return "image", image
        return None, None

    def _serve(self, h):
        self.requests.append(h.path)
        kind, body = self._pick(h.path)
        if self.stall == "request":
            self.closing.wait(self.STALL_MAX)
            return
        if body is None:
            h.send_error(404)
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if self.stall == kind:
            h.wfile.write(body[:len(body) // 2])
            h.wfile.flush()
            self.closing.wait(self.STALL_MAX)
            return
        h.wfile.write(body)

    def close(self):
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
