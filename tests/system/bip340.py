"""BIP-340 signing for the system tests, through the system's libsecp256k1 (ctypes): the tests
sign hand-made transactions with the same library the project uses, never their own code."""
import ctypes
import hashlib

_lib = ctypes.CDLL("libsecp256k1.so.1")
_lib.secp256k1_context_create.restype = ctypes.c_void_p
_lib.secp256k1_context_create.argtypes = [ctypes.c_uint]
for _f in ("secp256k1_keypair_create", "secp256k1_keypair_xonly_pub",
           "secp256k1_xonly_pubkey_serialize", "secp256k1_schnorrsig_sign32"):
    getattr(_lib, _f).restype = ctypes.c_int
_CONTEXT_NONE = 1  # SECP256K1_CONTEXT_NONE in secp256k1.h 0.2
_ctx = ctypes.c_void_p(_lib.secp256k1_context_create(_CONTEXT_NONE))

# The curve order: valid secret keys are 1..N-1.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _keypair(seckey32):
    kp = ctypes.create_string_buffer(96)  # secp256k1_keypair
    if len(seckey32) != 32 or not _lib.secp256k1_keypair_create(_ctx, kp, seckey32):
        raise ValueError("invalid secret key")
    return kp


def pubkey(seckey32):
    """The 32-byte x-only public key of a secret key."""
    xonly = ctypes.create_string_buffer(64)  # secp256k1_xonly_pubkey
    out = ctypes.create_string_buffer(32)
    _lib.secp256k1_keypair_xonly_pub(_ctx, xonly, None, _keypair(seckey32))
    _lib.secp256k1_xonly_pubkey_serialize(_ctx, out, xonly)
    return out.raw


def sign(seckey32, msg32, aux32=b"\x00" * 32):
    sig = ctypes.create_string_buffer(64)
    if not _lib.secp256k1_schnorrsig_sign32(_ctx, sig, msg32, _keypair(seckey32), aux32):
        raise ValueError("signing failed")
    return sig.raw


def tagged_hash(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def upledger_digest(domain_tag, chain_id32, body):
    """ul_client_signed_digest: SHA256(SHA256(tag) || SHA256(tag) || chain_id || body)."""
    return tagged_hash(domain_tag, chain_id32 + body)


TAG_RELEASE = "upledger/v1/release"
TAG_TX = "upledger/v1/tx"


_lib.secp256k1_xonly_pubkey_parse.restype = ctypes.c_int
_lib.secp256k1_schnorrsig_verify.restype = ctypes.c_int
_lib.secp256k1_schnorrsig_verify.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                             ctypes.c_size_t, ctypes.c_char_p]


def verify(pubkey32, msg32, sig64):
    """True when sig64 is a valid BIP-340 signature of msg32 by pubkey32."""
    xonly = ctypes.create_string_buffer(64)  # secp256k1_xonly_pubkey
    if len(pubkey32) != 32 or not _lib.secp256k1_xonly_pubkey_parse(_ctx, xonly, pubkey32):
        return False
    return bool(_lib.secp256k1_schnorrsig_verify(_ctx, sig64, msg32, 32, xonly.raw))


TAG_REPORT = "upledger/v1/report"
TAG_REPLY = "upledger/v1/reply"
TAG_SUMMARY = "upledger/v1/summary"


def record_digest(domain_tag, chain_id32, rec):
    """The signed_msg of a report, reply or summary (docs/protocol.md section 14): the map head
    one entry smaller and the last 67 bytes (key, bstr head, signature) left out."""
    return upledger_digest(domain_tag, chain_id32, bytes([rec[0] - 1]) + rec[1:-67])
