"""A nanomsg REQ client for the system tests, through the system's libnanomsg (ctypes), used
to send raw requests (for example the exact bytes of an already committed transaction) to
upledgerd's query endpoint."""
import ctypes

from cbor_util import Raw, dumps, loads, split_array, split_map

_nn = ctypes.CDLL("libnanomsg.so.5")
AF_SP, NN_REQ, NN_SOL_SOCKET, NN_SNDTIMEO, NN_RCVTIMEO = 1, 48, 0, 4, 5
NN_MSG = ctypes.c_size_t(-1).value
_nn.nn_socket.argtypes = [ctypes.c_int, ctypes.c_int]
_nn.nn_connect.argtypes = [ctypes.c_int, ctypes.c_char_p]
_nn.nn_setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                              ctypes.c_size_t]
_nn.nn_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
_nn.nn_recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_nn.nn_freemsg.argtypes = [ctypes.c_void_p]
_nn.nn_strerror.restype = ctypes.c_char_p


def _check(rc, what):
    if rc < 0:
        raise ConnectionError("%s: %s" % (what, _nn.nn_strerror(_nn.nn_errno()).decode()))
    return rc


class ReqClient:
    def __init__(self, endpoint, timeout=10.0):
        self.sock = _check(_nn.nn_socket(AF_SP, NN_REQ), "nn_socket")
        ms = ctypes.c_int(int(timeout * 1000))
        for opt in (NN_SNDTIMEO, NN_RCVTIMEO):
            _check(_nn.nn_setsockopt(self.sock, NN_SOL_SOCKET, opt, ctypes.byref(ms), 4), "opt")
        _check(_nn.nn_connect(self.sock, endpoint.encode()), "nn_connect")

    def call_raw(self, payload):
        _check(_nn.nn_send(self.sock, payload, len(payload), 0), "nn_send")
        buf = ctypes.c_void_p()
        n = _check(_nn.nn_recv(self.sock, ctypes.byref(buf), NN_MSG, 0), "nn_recv")
        try:
            return ctypes.string_at(buf, n)
        finally:
            _nn.nn_freemsg(buf)

    def call(self, req):
        """req: dict {int: value}; returns the reply's bytes (a CBOR map, key 0 = ul_err)."""
        return self.call_raw(dumps(req))

    def close(self):
        _nn.nn_close(self.sock)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Methods of the query endpoint (p2p/ul_p2p.h).
RPC_STATUS = 1
RPC_SUBMIT = 2
RPC_TX_STATUS = 3
RPC_BLOCK = 4
RPC_NONCE = 10
RPC_GENESIS = 11


def submit(endpoint, txs):
    """Submits raw tx bytes; returns the reply's ul_err and a list of (ul_err, id32) per tx."""
    with ReqClient(endpoint) as c:
        rep = loads(c.call({0: RPC_SUBMIT, 1: [Raw(t) for t in txs]}))
    err = rep[0]
    if err != 0:
        return err, []
    results = []
    for one in rep[1]:
        results.append((one[1], one[2]))
    return err, results


def block_txs(endpoint, height):
    """The raw bytes of every signed tx in block `height`."""
    with ReqClient(endpoint) as c:
        rep = c.call({0: RPC_BLOCK, 1: height})
    m = split_map(rep)
    err = loads(m[0])
    assert err == 0, "block %d: error %d" % (height, err)
    blk = split_array(m[1])[0]
    return split_array(split_map(blk)[2])


def nonce(endpoint, pubkey32):
    with ReqClient(endpoint) as c:
        rep = loads(c.call({0: RPC_NONCE, 1: pubkey32}))
    assert rep[0] == 0, rep
    return rep[1]
