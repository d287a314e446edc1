"""A small HTTP proxy between a browser and a node's HTTP API that forwards every request and
lies in one way: mode "bundle" flips one byte of the inclusion proof in every proof bundle it
passes (the last byte of the audit path's last hash); mode "json" says every release's version
is another; mode "search" answers every search with another release (swap_id). The lying
servers the explorer must catch."""
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cbor2

import cbor_util

UPSTREAM_TIMEOUT = 10  # seconds for the node to answer one forwarded request
INCLUSION = 5          # the bundle's inclusion-proof section type (docs/protocol.md section 9)


def tamper_inclusion(bundle):
    """The bundle with one byte of its inclusion proof's path flipped (a path must be there)."""
    out = bytearray()
    flipped = False
    for inner in cbor_util.sequence(bundle):
        sec = cbor_util.loads(inner)
        if sec[0] == INCLUSION and sec[3]:
            inner = bytearray(inner)
            inner[-1] ^= 1  # the last byte of the last path hash
            flipped = True
        out += cbor2.dumps(bytes(inner))
    assert flipped, "no inclusion path to tamper with"
    return bytes(out)


class TamperProxy:
    def __init__(self, upstream, port, mode="bundle", swap_id=None):
        assert mode in ("bundle", "json", "search")
        self.upstream = upstream
        self.mode = mode
        self.swap_id = swap_id
        self.tampered = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                req = urllib.request.Request(proxy.upstream + self.path,
                                             headers={"Accept": self.headers.get("Accept", "*/*")})
                try:
                    with urllib.request.urlopen(req, timeout=UPSTREAM_TIMEOUT) as r:
                        status, ctype, body = r.status, r.headers.get("Content-Type"), r.read()
                except urllib.error.HTTPError as e:
                    status, ctype, body = e.code, e.headers.get("Content-Type"), e.read()
                bundle = self.path.startswith("/v1/bundles/")
                if status == 200 and proxy.mode == "bundle" and bundle:
                    body = tamper_inclusion(body)
                    proxy.tampered += 1
                if status == 200 and proxy.mode == "json" and self.path.startswith("/v1/releases/"):
                    rel = json.loads(body)
                    rel["version"] += "-patched"
                    body = json.dumps(rel).encode()
                    proxy.tampered += 1
                if status == 200 and proxy.mode == "search" and self.path.startswith("/v1/search"):
                    found = json.loads(body)
                    for x in found["results"]:
                        x["id"] = proxy.swap_id
                    body = json.dumps(found).encode()
                    proxy.tampered += 1
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
